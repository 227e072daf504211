-- SPEC §1: the daemon's life cycle, its files and what survives it.
local e2e = require("support.e2e")
local core = require("overmind.core")

local NOT_RUNNING = "Error: daemon not running (start it with: overmind start)\n"

describe("daemon", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function() e2e.cleanup(h) end)

  local function sock() return h.home .. "/overmind.sock" end

  local function ping_ok()
    local c = core.connect(sock())
    if not c then return false end
    c:send('{"cmd":"ping"}\n')
    local line = c:recv(2000)
    c:close()
    return line == '{"ok":"pong"}'
  end

  describe("start", function()
    it("starts the daemon in the background and prints its pid", function()
      local r = e2e.om(h, { "start" })
      assert.are.equal(0, r.code)
      assert.are.equal("", r.err)
      local pid = tonumber(r.out:match("^Daemon started %(PID (%d+)%)\n$"))
      assert.is_not_nil(pid, "unexpected output: " .. r.out)
      assert.are.equal(pid, e2e.daemon_pid(h))
      assert.is_true(e2e.alive(pid))
      assert.is_true(ping_ok())
    end)

    it("says so when the daemon is already running", function()
      e2e.ok(h, { "start" })
      local pid = e2e.daemon_pid(h)
      local r = e2e.om(h, { "start" })
      assert.are.equal(0, r.code)
      assert.are.equal("Daemon is already running\n", r.out)
      assert.are.equal(pid, e2e.daemon_pid(h))
      assert.is_true(e2e.alive(pid))
    end)

    it("makes the home 0700 and the socket 0600", function()
      assert(os.remove(h.home)) -- let the daemon create it
      e2e.ok(h, { "start" })
      local hs = core.stat(h.home)
      assert.are.equal("directory", hs.type)
      assert.are.equal(tonumber("700", 8), hs.mode)
      local ss = core.stat(sock())
      assert.are.equal("socket", ss.type)
      assert.are.equal(tonumber("600", 8), ss.mode)
    end)

    it("tightens an existing home to 0700", function()
      core.chmod(h.home, tonumber("755", 8))
      e2e.ok(h, { "start" })
      assert.are.equal(tonumber("700", 8), core.stat(h.home).mode)
      assert.are.equal(tonumber("600", 8), core.stat(sock()).mode)
    end)

    it("writes daemon.pid and daemon.log", function()
      e2e.ok(h, { "start" })
      assert.is_not_nil(core.stat(h.home .. "/daemon.pid"))
      assert.is_not_nil(core.stat(h.home .. "/daemon.log"))
    end)
  end)

  describe("shutdown", function()
    it("stops the daemon and removes the socket", function()
      e2e.ok(h, { "start" })
      local pid = e2e.daemon_pid(h)
      local r = e2e.om(h, { "shutdown" })
      assert.are.equal(0, r.code)
      assert.are.equal("Daemon stopped\n", r.out)
      e2e.wait_for(function() return not e2e.alive(pid) end, 10, "daemon exit")
      assert.is_nil(core.stat(sock()))
    end)

    it("prints 'Daemon is not running' without a daemon and exits 0", function()
      local r = e2e.om(h, { "shutdown" })
      assert.are.equal(0, r.code)
      assert.are.equal("Daemon is not running\n", r.out)
      assert.are.equal("", r.err)
      -- and does not start one on the way
      assert.is_nil(core.stat(sock()))
    end)

    it("stops every live mission", function()
      local id = e2e.run(h, { "sleep 30" })
      local pid = e2e.info(h, id).os_pid
      assert.is_true(e2e.alive(pid))
      assert.are.equal("Daemon stopped\n", e2e.ok(h, { "shutdown" }))
      e2e.wait_for(function() return not e2e.alive(pid) end, 10,
        "mission process to end")
      -- the record says so after the next start
      assert.are.equal("stopped", e2e.info(h, id).status)
    end)

    it("kills a mission that ignores SIGTERM after its stop timeout", function()
      local id = e2e.run(h, { "--stop-timeout", "0.5",
        "trap '' TERM; echo ready; while :; do sleep 0.05; done" })
      e2e.wait_log(h, id, "ready\n")
      local pgid = e2e.info(h, id).os_pid
      local t0 = e2e.now()
      assert.are.equal("Daemon stopped\n", e2e.ok(h, { "shutdown" }))
      assert.is_truthy(e2e.now() - t0 >= 0.45, "shutdown did not wait for the grace period")
      e2e.wait_for(function() return #e2e.group_members(pgid) == 0 end, 5,
        "the mission's group to be gone")
      assert.are.equal("stopped", e2e.info(h, id).status)
    end)
  end)

  describe("autostart", function()
    it("starts the daemon on demand for any command", function()
      local r = e2e.om(h, { "ps" })
      assert.are.equal(0, r.code)
      assert.is_truthy(r.out:match("^ID "))
      local pid = e2e.daemon_pid(h)
      assert.is_true(e2e.alive(pid))
      assert.is_true(ping_ok())
    end)

    it("says why a daemon could not start, from its log", function()
      -- a socket path longer than sockaddr_un holds
      local long = { home = h.home .. "/" .. string.rep("d", 110) }
      e2e.sh("mkdir -p " .. e2e.quote(long.home))
      for _, args in ipairs({ { "ps" }, { "start" } }) do
        local r = e2e.om(long, args)
        assert.are.equal(1, r.code)
        assert.are.equal("", r.out)
        assert.is_truthy(r.err:find("^Error: the daemon could not start: " ..
          "cannot listen on [^\n]*: ENAMETOOLONG: .*shorter OVERMIND_HOME"), r.err)
        assert.is_truthy(r.err:find("daemon.log)\n", 1, true), r.err)
      end
    end)

    it("tells only what this daemon wrote, not an older daemon's lines", function()
      e2e.ok(h, { "start" })
      e2e.ok(h, { "shutdown" })
      -- a daemon that dies silently: the last line of the log is the old
      -- daemon's "daemon stopped", which is no reason
      local r = e2e.om(h, { "ps" }, { env = { "OVERMIND_DAEMON_BIN=/bin/false" } })
      assert.are.equal(1, r.code)
      assert.is_truthy(r.err:find("^Error: the daemon exited with status 1; see "), r.err)
      -- one that dies of a Lua error: its message, not its traceback
      local fake = h.home .. "/fake-daemon"
      e2e.write_file(fake, "#!/bin/sh\necho 'overmind: boom' >&2\n" ..
        "printf 'stack traceback:\\n\\t[C]: in ?\\n' >&2\nexit 1\n")
      e2e.sh("chmod +x " .. e2e.quote(fake))
      r = e2e.om(h, { "ps" }, { env = { "OVERMIND_DAEMON_BIN=" .. fake } })
      assert.are.equal(1, r.code)
      assert.is_truthy(r.err:find("^Error: the daemon could not start: boom %(see "), r.err)
    end)

    it("is off with OVERMIND_NO_AUTOSTART=1", function()
      for _, args in ipairs({ { "ps" }, { "run", "echo", "hi" },
                              { "status" }, { "info", "abc" } }) do
        local r = e2e.om(h, args, { env = { "OVERMIND_NO_AUTOSTART=1" } })
        assert.are.equal(1, r.code)
        assert.are.equal("", r.out)
        assert.are.equal(NOT_RUNNING, r.err)
      end
      assert.is_nil(core.stat(sock()))
      assert.is_nil(e2e.daemon_pid(h))
    end)

    it("starts exactly one daemon for clients that start at once", function()
      local bs = {}
      for i = 1, 6 do bs[i] = e2e.spawn(h, { "ps" }) end
      for i = 1, 6 do
        assert.are.equal(0, e2e.bg_wait(bs[i], 20, "ps #" .. i),
          e2e.bg_errors(bs[i]))
        assert.is_truthy(e2e.bg_output(bs[i]):match("^ID "))
      end
      -- every overmind daemon process serving this home
      local daemons = {}
      for _, st in ipairs(e2e.procs()) do
        local cmd = e2e.read_all("/proc/" .. st.pid .. "/cmdline")
        local env = e2e.read_all("/proc/" .. st.pid .. "/environ")
        if cmd:match("daemon%z?$") and st.state ~= "Z" and
           env:find("OVERMIND_HOME=" .. h.home .. "\0", 1, true) then
          daemons[#daemons + 1] = st.pid
        end
      end
      assert.are.same({ e2e.daemon_pid(h) }, daemons)
    end)

    it("with OVERMIND_NO_AUTOSTART=1 still talks to a running daemon", function()
      e2e.ok(h, { "start" })
      local r = e2e.om(h, { "ps" }, { env = { "OVERMIND_NO_AUTOSTART=1" } })
      assert.are.equal(0, r.code)
      assert.is_truthy(r.out:match("^ID "))
    end)
  end)

  describe("stale socket", function()
    it("is removed by the next start after a kill -9", function()
      e2e.ok(h, { "start" })
      local pid = e2e.daemon_pid(h)
      core.kill(pid, "KILL")
      e2e.wait_for(function() return not e2e.alive(pid) end, 10, "daemon death")
      assert.are.equal("socket", core.stat(sock()).type)
      -- nothing answers on it
      local r = e2e.om(h, { "ps" }, { env = { "OVERMIND_NO_AUTOSTART=1" } })
      assert.are.equal(1, r.code)
      assert.are.equal(NOT_RUNNING, r.err)
      r = e2e.om(h, { "start" })
      assert.are.equal(0, r.code)
      local npid = tonumber(r.out:match("^Daemon started %(PID (%d+)%)\n$"))
      assert.is_not_nil(npid, "unexpected output: " .. r.out .. r.err)
      assert.are_not.equal(pid, npid)
      assert.is_true(ping_ok())
    end)

    it("is removed by autostart too", function()
      e2e.ok(h, { "start" })
      local pid = e2e.daemon_pid(h)
      core.kill(pid, "KILL")
      e2e.wait_for(function() return not e2e.alive(pid) end, 10, "daemon death")
      local r = e2e.om(h, { "ps" })
      assert.are.equal(0, r.code, r.err)
      assert.are_not.equal(pid, e2e.daemon_pid(h))
      assert.is_true(ping_ok())
    end)
  end)

  describe("daemon (foreground)", function()
    it("serves in the foreground and exits 0 on SIGTERM", function()
      local b = e2e.spawn(h, { "daemon" })
      e2e.wait_for(ping_ok, 10, "foreground daemon to answer")
      assert.are.equal(b.pid, e2e.daemon_pid(h))
      local id = e2e.run(h, { "echo", "fg" })
      e2e.wait_status(h, id, "stopped")
      assert.are.equal("fg\n", e2e.ok(h, { "logs", id }))
      core.kill(b.pid, "TERM")
      assert.are.equal(0, e2e.bg_wait(b, 10, "daemon to exit"))
      assert.is_nil(core.stat(sock()))
    end)

    it("stops its missions on SIGINT", function()
      local b = e2e.spawn(h, { "daemon" })
      e2e.wait_for(ping_ok, 10, "foreground daemon to answer")
      local id = e2e.run(h, { "sleep 30" })
      local pid = e2e.info(h, id).os_pid
      core.kill(b.pid, "INT")
      assert.are.equal(0, e2e.bg_wait(b, 10, "daemon to exit"))
      assert.is_false(e2e.alive(pid))
      assert.are.equal("stopped", e2e.info(h, id).status)
    end)

    it("refuses to run twice on one home", function()
      e2e.ok(h, { "start" })
      local pid = e2e.daemon_pid(h)
      local b = e2e.spawn(h, { "daemon" })
      local code = e2e.bg_wait(b, 10, "second daemon to give up")
      assert.are_not.equal(0, code)
      assert.are.equal(pid, e2e.daemon_pid(h))
      assert.is_true(ping_ok())
    end)
  end)

  describe("state survives the daemon", function()
    local function without_uptime(m)
      local c = {}
      for k, v in pairs(m) do
        if k ~= "uptime" then c[k] = v end
      end
      return c
    end

    it("keeps ps, logs and info across shutdown and start", function()
      local a = e2e.run(h, { "--name", "first", "echo one; echo two" })
      local b = e2e.run(h, { "--name", "second", "exit 3" })
      e2e.wait_status(h, a, "stopped")
      e2e.wait_status(h, b, "crashed")
      local ps = e2e.ok(h, { "ps" })
      local ia, ib = e2e.info(h, a), e2e.info(h, b)
      e2e.ok(h, { "shutdown" })
      assert.are.equal("Daemon started", e2e.ok(h, { "start" }):match("^Daemon started"))
      assert.are.equal(ps, e2e.ok(h, { "ps" }))
      assert.are.same(without_uptime(ia), without_uptime(e2e.info(h, a)))
      assert.are.same(without_uptime(ib), without_uptime(e2e.info(h, b)))
      assert.are.equal("one\ntwo\n", e2e.ok(h, { "logs", a }))
      assert.are.equal(3, e2e.info(h, b).exit_code)
    end)

    it("after kill -9, marks a live mission crashed and kills its group", function()
      local done = e2e.run(h, { "--name", "done", "echo finished" })
      e2e.wait_status(h, done, "stopped")
      local live = e2e.run(h, { "--name", "live",
        "echo started; sleep 300 & sleep 300; wait" })
      e2e.wait_log(h, live, "started\n")
      local before = e2e.info(h, live)
      local pgid = before.os_pid
      e2e.wait_for(function() return #e2e.group_members(pgid) >= 3 end, 10,
        "mission's process tree")
      local ps_before = e2e.ok(h, { "ps", "--json" })
      local done_info = e2e.info(h, done)

      local dpid = e2e.daemon_pid(h)
      core.kill(dpid, "KILL")
      e2e.wait_for(function() return not e2e.alive(dpid) end, 10, "daemon death")
      -- the mission outlives the daemon: it has its own process group
      assert.is_true(#e2e.group_members(pgid) >= 1)

      local r = e2e.om(h, { "start" })
      assert.are.equal(0, r.code, r.err)
      assert.is_truthy(r.out:match("^Daemon started %(PID %d+%)\n$"), r.out)

      e2e.wait_for(function() return #e2e.group_members(pgid) == 0 end, 10,
        "the lost mission's process group to be killed")

      local after = e2e.info(h, live)
      assert.are.equal("crashed", after.status)
      assert.are.equal(require("cjson").null, after.exit_code)
      assert.are.equal(require("cjson").null, after.os_pid)
      assert.are.equal(0, after.restart_count)
      assert.are.equal("started\n--- daemon restarted; mission lost ---\n",
        e2e.ok(h, { "logs", live }))

      -- the finished mission is untouched
      local d2 = e2e.info(h, done)
      assert.are.same(without_uptime(done_info), without_uptime(d2))
      assert.are.equal("finished\n", e2e.ok(h, { "logs", done }))

      -- same missions, same order
      local ids_before, ids_after = {}, {}
      for _, m in ipairs(e2e.json_decode(ps_before)) do ids_before[#ids_before + 1] = m.id end
      for _, m in ipairs(e2e.ps_json(h)) do ids_after[#ids_after + 1] = m.id end
      assert.are.same(ids_before, ids_after)
      assert.are.same({ done, live }, ids_after)
    end)

    it("after kill -9, lets the restart policy bring a lost mission back", function()
      local id = e2e.run(h, { "--restart", "on-failure", "--backoff", "100",
        "echo up; sleep 300" })
      e2e.wait_log(h, id, "up\n")
      local old = e2e.info(h, id).os_pid
      local dpid = e2e.daemon_pid(h)
      core.kill(dpid, "KILL")
      e2e.wait_for(function() return not e2e.alive(dpid) end, 10, "daemon death")
      e2e.ok(h, { "start" })
      local m = e2e.wait_for(function()
        local i = e2e.request(h, "info", { id = id })
        return i and i.status == "running" and i.restart_count == 1 and i
      end, 10, "the lost mission to restart")
      assert.are_not.equal(old, m.os_pid)
      assert.is_true(e2e.alive(m.os_pid))
      assert.is_false(e2e.alive(old))
      local log = e2e.wait_log(h, id, "--- restart #1 at ")
      assert.is_truthy(log:find("--- daemon restarted; mission lost ---\n", 1, true))
    end)
  end)
end)
