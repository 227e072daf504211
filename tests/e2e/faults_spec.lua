-- Faults: missions that close their output early, a daemon killed with
-- SIGKILL in the middle of a burst, and a log directory with no space
-- left.  The daemon tells the truth afterwards, keeps what it wrote, stays
-- up, and ends each case with the descriptors it started with and no
-- zombie children.
local e2e = require("support.e2e")
local load = require("support.load")
local core = require("overmind.core")
local cjson = require("cjson")

local LOST = "--- daemon restarted; mission lost ---"

describe("faults", function()
  local h, dpid, baseline

  local function clean(what)
    assert.is_true(e2e.alive(dpid), "the daemon died: " .. what)
    load.no_zombies(dpid, what)
    load.fds_back(dpid, baseline, what)
  end

  local function ping(what)
    assert.are.equal("pong", e2e.request(h, "ping"), what .. ": no pong")
  end

  describe("a mission that closes its output", function()
    before_each(function()
      h = e2e.new_home()
      dpid, baseline = load.start_daemon(h)
    end)
    after_each(function() e2e.cleanup(h) end)

    it("stays running until it exits, then reports its exit code", function()
      local t0 = core.now()
      local id = e2e.run(h, { "echo before; exec 1>&- 2>&-; sleep 1.5; exit 3" })
      e2e.wait_log(h, id, "before\n", load.secs(5))
      local pid = e2e.info(h, id).os_pid
      -- running for as long as its process lives, and not a moment longer
      -- than it takes to notice it ended
      local m = e2e.wait_for(function()
        local alive = e2e.alive(pid)
        local info = assert(e2e.request(h, "info", { id = id }))
        if info.status ~= "running" then
          assert.is_false(alive and e2e.alive(pid),
            "the mission ended while its process still runs")
          return info
        end
        assert.are.equal(pid, info.os_pid)
        return false
      end, load.secs(10), "the mission to end")
      assert.is_true((core.now() - t0) / 1000 > 1.4,
        "the mission ended when it closed its output, not when it exited")
      assert.are.equal("crashed", m.status)
      assert.are.equal(3, m.exit_code)
      assert.are.equal("before\n", e2e.log_text(h, id))
      clean("a mission that closed its output")
    end)

    it("keeps logging what it writes to the output it kept", function()
      local id = e2e.run(h, { "exec >&-; sleep 0.3; echo still-here >&2; " ..
        "sleep 0.3; exit 0" })
      local m = e2e.wait_status(h, id, "stopped", load.secs(10))
      assert.are.equal(0, m.exit_code)
      assert.are.equal("still-here\n", e2e.log_text(h, id))
      clean("a mission that closed stdout")
    end)

    it("ends when its main process exits, though a child holds its output", function()
      -- the main process closes its output and exits; a background one
      -- still holds the output: the mission ends when the main process
      -- does, and its group goes with it
      local id = e2e.run(h, { "(sleep 30; echo late) & exec 1>&- 2>&-; " ..
        "sleep 0.2; exit 4" })
      local pid = e2e.info(h, id).os_pid
      local m = e2e.wait_status(h, id, "crashed", load.secs(10))
      assert.are.equal(4, m.exit_code)
      e2e.wait_for(function() return #e2e.group_members(pid) == 0 end,
        load.secs(5), "the mission's group to be gone")
      clean("a mission whose child kept its output")
    end)
  end)

  describe("kill -9 of the daemon in a burst", function()
    before_each(function()
      h = e2e.new_home()
      dpid, baseline = load.start_daemon(h)
    end)
    after_each(function() e2e.cleanup(h) end)

    -- Every mission record on disk, decoded; fails on a broken one.
    local function records()
      local dir = h.home .. "/missions"
      local out = {}
      for _, id in ipairs(core.listdir(dir) or {}) do
        local path = dir .. "/" .. id .. "/mission.json"
        local text = e2e.read_all(path)
        if text ~= "" then
          local ok, rec = pcall(cjson.decode, text)
          assert.is_true(ok, "broken record " .. path .. ": " .. text)
          assert.are.equal(id, rec.id, "record in the wrong place: " .. path)
          out[id] = rec
        end
      end
      return out
    end

    it("keeps every record and marks the lost missions", function()
      -- missions that print as fast as they can
      local chatty = {}
      for i = 1, 2 do
        chatty[i] = e2e.run(h, { "--name", "chatty" .. i, "--log-max", "1M",
          "yes 'chatty " .. i .. " prints fast'" })
      end
      -- one in the middle of a line
      local partial = e2e.run(h, { "--name", "partial",
        "printf 'half a line'; sleep 30" })
      e2e.wait_log(h, partial, "half a line")
      -- and a stream of run requests from another process
      local acks = h.home .. "/acks"
      local script = h.home .. "/streamer.lua"
      e2e.write_file(script, [[
        local core = require("overmind.core")
        local cjson = require("cjson")
        local out = assert(io.open(arg[2], "w"))
        out:setvbuf("line")
        local c = assert(core.connect(arg[1]))
        for i = 1, 5000 do
          local cmd = i % 2 == 0 and "sleep 30; echo never" or ("echo run " .. i)
          local line = cjson.encode({ cmd = "run",
            args = { command = cmd, cwd = "/tmp", name = "burst" .. i } })
          if not c:send(line .. "\n") then break end
          local reply = c:recv(10000)
          if not reply then break end
          out:write(reply:match('"id":"(%x+)"') or ("ERROR " .. reply), "\n")
        end
        out:write("END\n")
        out:close()
      ]])
      e2e.sh(("timeout 60 %s -l %s %s %s >/dev/null 2>&1 </dev/null &")
        :format(e2e.quote(e2e.bin), e2e.quote(script),
          e2e.quote(h.home .. "/overmind.sock"), e2e.quote(acks)))
      e2e.wait_for(function() return #load.lines(acks) >= 40 end,
        load.secs(10), "40 runs to be acknowledged")
      for i = 1, 2 do e2e.wait_log(h, chatty[i], "prints fast\n") end
      assert(core.kill(dpid, "KILL"))
      e2e.wait_for(function() return not e2e.alive(dpid) end, 5, "the daemon to die")
      local acked = e2e.wait_for(function()
        local l = load.lines(acks)
        return l[#l] == "END" and l
      end, load.secs(15), "the streamer to notice")
      table.remove(acked)
      assert.is_true(#acked >= 40)

      -- what is on disk is whole: every record parses, every
      -- acknowledged run has one
      local recs = records()
      for _, id in ipairs(acked) do
        assert.is_truthy(id:match("^%x+$"), "a run failed: " .. id)
        assert.is_table(recs[id], "no record for acknowledged run " .. id)
      end
      for i = 1, 2 do assert.is_table(recs[chatty[i]]) end
      local live_pids = {}
      for _, rec in pairs(recs) do
        if rec.state == "running" and type(rec.os_pid) == "number" then
          live_pids[#live_pids + 1] = math.tointeger(rec.os_pid)
        end
      end

      local out = e2e.ok(h, { "start" }, { env = load.daemon_env() })
      dpid = e2e.daemon_pid(h)
      assert.are.equal("Daemon started (PID " .. dpid .. ")\n", out)
      -- the new daemon knows every one of them, with a final status
      local list = e2e.ps_json(h)
      local by_id = {}
      for _, m in ipairs(list) do by_id[m.id] = m end
      local n = 0
      for id, rec in pairs(recs) do
        n = n + 1
        local m = by_id[id]
        assert.is_table(m, "mission " .. id .. " is gone after the restart")
        if rec.state == "running" or rec.state == "stopping" then
          assert.are.equal("crashed", m.status, id)
          assert.are.equal(e2e.null, m.exit_code, id)
          -- (that the marker starts a line of its own, even after a
          -- partial line, is the next test's)
          local log = e2e.log_text(h, id)
          assert.are.equal(LOST .. "\n", log:sub(-#LOST - 1),
            "the log of " .. id .. " does not end with the marker")
        else
          assert.are.equal(rec.state, m.status, id)
        end
      end
      assert.are.equal(n, #list)
      for i = 1, 2 do
        assert.are.equal("crashed", by_id[chatty[i]].status)
      end
      assert.are.equal("crashed", by_id[partial].status)
      -- nothing of the lost missions is left running
      e2e.wait_for(function()
        for _, pid in ipairs(live_pids) do
          if e2e.alive(pid) or #e2e.group_members(pid) > 0 then return false end
        end
        return true
      end, load.secs(10), "the lost missions' processes to be gone")
      -- every log reads back, each under its header
      local logs = e2e.ok(h, { "logs" })
      for _, m in ipairs(list) do
        assert.is_truthy(logs:find("=== " .. m.name .. " (" .. m.id .. ") ===",
          1, true), "no log for " .. m.id)
      end
      for i = 1, 2 do
        assert.is_truthy(e2e.ok(h, { "logs", chatty[i], "--tail", "3" })
          :find("chatty " .. i .. " prints fast\n", 1, true))
      end
      assert.is_nil(load.daemon_log(h):find("skipping", 1, true),
        "the new daemon skipped records: " .. load.daemon_log(h))
      -- and it works: a new mission runs, the old ones can be removed
      local id = e2e.run(h, { "echo after the crash" })
      assert.are.equal(0, e2e.wait_status(h, id, "stopped", load.secs(5)).exit_code)
      assert.are.equal("after the crash\n", e2e.log_text(h, id))
      e2e.ok(h, { "prune" })
      assert.are.same({}, load.ps(h))
      clean("after a restart from kill -9")
    end)
  end)

  describe("a daemon killed while a mission is mid-line", function()
    before_each(function()
      h = e2e.new_home()
      dpid, baseline = load.start_daemon(h)
    end)
    after_each(function() e2e.cleanup(h) end)

    it("writes the lost marker on a line of its own", function()
      local id = e2e.run(h, { "printf 'half a line'; sleep 30" })
      e2e.wait_log(h, id, "half a line")
      local pid = e2e.info(h, id).os_pid
      assert(core.kill(dpid, "KILL"))
      e2e.wait_for(function() return not e2e.alive(dpid) end, 5, "the daemon to die")
      e2e.ok(h, { "start" }, { env = load.daemon_env() })
      dpid = e2e.daemon_pid(h)
      local m = e2e.wait_status(h, id, "crashed", load.secs(5))
      assert.are.equal(e2e.null, m.exit_code)
      e2e.wait_for(function() return #e2e.group_members(pid) == 0 end,
        load.secs(5), "the lost mission's group to be gone")
      assert.are.equal("half a line\n" .. LOST .. "\n", e2e.log_text(h, id),
        "the marker is not a line of its own in output.log")
      assert.are.equal("half a line\n" .. LOST .. "\n", e2e.ok(h, { "logs", id }),
        "the marker is not a line of its own in `logs`")
      e2e.ok(h, { "rm", id })
      clean("after a mission lost mid-line")
    end)
  end)

  describe("a full disk", function()
    local mounted

    before_each(function()
      h = e2e.new_home()
      mounted = nil
    end)
    after_each(function()
      local pid = e2e.daemon_pid(h)
      e2e.om(h, { "shutdown" })
      if pid then
        pcall(e2e.wait_for, function() return not e2e.alive(pid) end, 15)
        if e2e.alive(pid) then core.kill(pid, "KILL") end
      end
      if mounted then
        local _, code = e2e.sh("umount " .. e2e.quote(mounted) .. " 2>/dev/null")
        if code ~= 0 then e2e.sh("umount -l " .. e2e.quote(mounted)) end
      end
      e2e.cleanup(h)
    end)

    -- The daemon log names `path` with "No space left on device".
    local function reported(path)
      return e2e.wait_for(function()
        for _, l in ipairs(load.lines(h.home .. "/daemon.log")) do
          if l:find(path, 1, true) and
              l:find("No space left on device", 1, true) then
            return l
          end
        end
      end, load.secs(10), "daemon.log to report " .. path)
    end

    local function count_lines(path)
      local n = 0
      for _, l in ipairs(load.lines(h.home .. "/daemon.log")) do
        if l:find(path, 1, true) then n = n + 1 end
      end
      return n
    end

    -- Puts the missions directory on a 256 KiB tmpfs; nil when this
    -- machine cannot mount one.
    local function tiny_disk()
      local dir = h.home .. "/missions"
      assert(core.mkdir(dir, 448))
      local _, code = e2e.sh("mount -t tmpfs -o size=256k,mode=0700 tmpfs " ..
        e2e.quote(dir) .. " 2>/dev/null")
      if code ~= 0 then return nil end
      mounted = dir
      return dir
    end

    it("reports a log directory with no space left and keeps going", function()
      local dir = tiny_disk()
      if not dir then
        pending("cannot mount a tmpfs here (the /dev/full case covers it)")
        return
      end
      dpid, baseline = load.start_daemon(h)
      local ticker = e2e.run(h, { "--name", "ticker",
        "while :; do echo tick; sleep 0.05; done" })
      e2e.wait_log(h, ticker, "tick\n")
      local tpid = e2e.info(h, ticker).os_pid
      -- one mission fills the disk, and then some
      local filler = e2e.run(h, { "--name", "filler",
        "head -c 2000000 /dev/zero | tr '\\0' f; echo; exit 0" })
      local flog = dir .. "/" .. filler .. "/output.log"
      reported(flog)
      -- it runs to its end all the same: the daemon keeps reading
      local m = e2e.wait_status(h, filler, "stopped", load.secs(10))
      assert.are.equal(0, m.exit_code)
      assert.is_true(count_lines(flog) <= 5,
        "daemon.log floods with errors: " .. count_lines(flog) .. " lines")
      -- the daemon and the other mission are fine
      ping("a full disk")
      local t = e2e.info(h, ticker)
      assert.are.equal("running", t.status)
      assert.are.equal(tpid, t.os_pid)
      assert.is_table(load.ps(h))
      -- a record saved while the disk is full is the old one or the new
      -- one, whole
      for _, mid in ipairs({ ticker, filler }) do
        local path = dir .. "/" .. mid .. "/mission.json"
        local ok, rec = pcall(cjson.decode, e2e.read_all(path))
        assert.is_true(ok, "broken record " .. path)
        assert.are.equal(mid, rec.id)
      end
      -- space comes back: everything works again
      e2e.ok(h, { "rm", filler })
      local tlog = dir .. "/" .. ticker .. "/output.log"
      local size = assert(core.stat(tlog)).size
      e2e.wait_for(function() return assert(core.stat(tlog)).size > size + 20 end,
        load.secs(5), "the ticker's log to grow again")
      local id = e2e.run(h, { "echo after the full disk" })
      assert.are.equal(0, e2e.wait_status(h, id, "stopped", load.secs(5)).exit_code)
      assert.are.equal("after the full disk\n", e2e.log_text(h, id))
      assert.are.equal("Stopped mission " .. ticker .. "\n",
        e2e.ok(h, { "stop", ticker }))
      -- records written once there was space again are whole
      for _, mid in ipairs({ ticker, id }) do
        local rec = cjson.decode(e2e.read_all(dir .. "/" .. mid .. "/mission.json"))
        assert.are.equal(mid, rec.id)
        assert.are.equal("stopped", rec.state)
      end
      clean("after a full disk")
    end)

    it("saves what it could not save once there is space again", function()
      local dir = tiny_disk()
      if not dir then
        pending("cannot mount a tmpfs here")
        return
      end
      dpid, baseline = load.start_daemon(h)
      -- a mission fills the disk and ends while it is full
      local filler = e2e.run(h, { "--name", "filler",
        "head -c 2000000 /dev/zero | tr '\\0' f; echo; exit 0" })
      local flog = dir .. "/" .. filler .. "/output.log"
      reported(flog)
      local m = e2e.wait_status(h, filler, "stopped", load.secs(10))
      assert.are.equal(0, m.exit_code)
      -- someone makes room, and the daemon is shut down cleanly
      e2e.sh(": >" .. e2e.quote(flog))
      local id = e2e.run(h, { "echo room again" })
      e2e.wait_status(h, id, "stopped", load.secs(5))
      assert.are.equal("Daemon stopped\n", e2e.ok(h, { "shutdown" }))
      e2e.wait_for(function() return not e2e.alive(dpid) end, load.secs(10),
        "the daemon to exit")
      -- the next daemon shows the same ps: the filler stopped, not lost
      e2e.ok(h, { "start" }, { env = load.daemon_env() })
      dpid = e2e.daemon_pid(h)
      local after = e2e.info(h, filler)
      assert.are.equal("stopped", after.status,
        "a mission that ended while the disk was full comes back " ..
        after.status .. "; its log: " .. e2e.log_text(h, filler):sub(-80))
      assert.are.equal(0, after.exit_code)
      assert.are.equal("stopped", e2e.info(h, id).status)
      e2e.ok(h, { "prune" })
      clean("after saving again")
    end)

    it("reports a log that is /dev/full and keeps going", function()
      dpid = load.start_daemon(h)
      local gate = h.home .. "/gate"
      -- The log is opened when the mission starts; to have it open
      -- /dev/full, the mission is started again by a new daemon.
      local id = e2e.run(h, { "--name", "full", "--restart", "on-failure",
        "--backoff", "100", ("while [ ! -e %s ]; do sleep 0.02; done; " ..
        "head -c 300000 /dev/zero | tr '\\0' z; echo; exit 0"):format(gate) })
      core.kill(dpid, "KILL")
      e2e.wait_for(function() return not e2e.alive(dpid) end, 5, "the daemon to die")
      local log = h.home .. "/missions/" .. id .. "/output.log"
      assert(os.remove(log))
      e2e.sh("ln -s /dev/full " .. e2e.quote(log))
      e2e.write_file(gate, "")
      e2e.ok(h, { "start" }, { env = load.daemon_env() })
      dpid = e2e.daemon_pid(h)
      reported(log)
      -- restarted once (lost), then it ran to its end
      local m = e2e.wait_for(function()
        local info = assert(e2e.request(h, "info", { id = id }))
        return info.status == "stopped" and info
      end, load.secs(10), "the mission to finish")
      assert.are.equal(0, m.exit_code)
      assert.are.equal(1, m.restart_count)
      assert.is_true(count_lines(log) <= 5,
        "daemon.log floods with errors: " .. count_lines(log) .. " lines")
      -- the daemon and other missions are fine
      ping("a log on /dev/full")
      local other = e2e.run(h, { "echo fine" })
      assert.are.equal(0, e2e.wait_status(h, other, "stopped", load.secs(5)).exit_code)
      assert.are.equal("fine\n", e2e.log_text(h, other))
      -- a baseline taken now: the files of finished missions are closed
      e2e.ok(h, { "rm", other })
      baseline = e2e.fd_count(dpid)
      local again = e2e.run(h, { "echo again" })
      e2e.wait_status(h, again, "stopped", load.secs(5))
      e2e.ok(h, { "rm", again })
      e2e.ok(h, { "rm", id })
      clean("after a log on /dev/full")
    end)
  end)
end)
