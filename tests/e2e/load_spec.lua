-- Load: hundreds of missions, clients that stall mid-line or send huge
-- lines, subscribers that stop reading, and missions that write a lot.
-- The daemon stays responsive, its memory stays bounded, nothing is lost,
-- and afterwards it holds the file descriptors it held before and has no
-- zombie children.
local e2e = require("support.e2e")
local load = require("support.load")
local core = require("overmind.core")

local MiB = 1 << 20

describe("load", function()
  local h, dpid, baseline

  before_each(function()
    h = e2e.new_home()
    dpid, baseline = load.start_daemon(h)
  end)
  after_each(function() e2e.cleanup(h) end)

  -- The daemon answers ping on a new connection within `limit` seconds.
  local function responsive(what, limit)
    local v, err, took = load.timed(h, "ping")
    assert.are.equal("pong", v, what .. ": ping failed: " .. tostring(err))
    assert.is_true(took < (limit or load.secs(2)),
      ("%s: ping took %.2fs"):format(what, took))
  end

  local function clean(what)
    assert.is_true(e2e.alive(dpid), "the daemon died: " .. what)
    load.no_zombies(dpid, what)
    load.fds_back(dpid, baseline, what)
  end

  it("runs 500 missions at once and kills them all", function()
    local N = 500
    local lines = {}
    -- Creating a process costs several ms on a VM, more on a busy one: the
    -- missions must outlive the slowest ramp-up by far, so they sleep long
    -- (they are killed below).
    for i = 1, N do lines[i] = load.run_line("sleep 900", { name = "l" .. i }) end
    local ids = load.start_many(h, lines)
    assert.are.equal(N, #ids)
    -- every one running, each its own live process
    local list = e2e.wait_for(function()
      local l = load.ps(h)
      local n = 0
      for _, m in ipairs(l) do
        if m.status == "running" and m.os_pid ~= e2e.null then n = n + 1 end
      end
      return n == N and l
    end, load.secs(90), N .. " running missions")
    local pids, seen = {}, {}
    for _, m in ipairs(list) do
      assert.is_nil(seen[m.os_pid], "two missions share pid " .. m.os_pid)
      seen[m.os_pid] = true
      pids[#pids + 1] = m.os_pid
    end
    local dead = 0
    for _, pid in ipairs(pids) do
      if not e2e.alive(pid) then dead = dead + 1 end
    end
    assert.are.equal(0, dead, "missions shown running whose process is gone")
    -- ps --json through the CLI holds them all
    assert.are.equal(N, #e2e.ps_json(h))
    responsive("500 running missions")

    assert.are.equal("Killed all missions\n", e2e.ok(h, { "kill", "--all" }))
    assert.are.same({}, load.ps(h))
    e2e.wait_for(function()
      for _, pid in ipairs(pids) do
        if e2e.alive(pid) then return false end
      end
      return true
    end, load.secs(10), "every mission process to be gone")
    -- nothing left in their process groups either
    local left = 0
    for _, st in ipairs(e2e.procs()) do
      if seen[st.pgrp] and st.state ~= "Z" then left = left + 1 end
    end
    assert.are.equal(0, left, "processes left in the missions' groups")
    clean("after killing 500 missions")
  end)

  it("serves other clients while 50 clients sit on half a line", function()
    local stalled = {}
    for i = 1, 50 do
      stalled[i] = load.connect(h)
      assert(stalled[i]:send('{"cmd":"ping","args":{"pad":"' ..
        string.rep("s", 100 * i)))
    end
    -- everyone else is served promptly
    for round = 1, 5 do
      responsive("50 stalled clients, round " .. round, load.secs(1))
      local list, err, took = load.timed(h, "ps")
      assert.is_table(list, tostring(err))
      assert.is_true(took < load.secs(1), ("ps took %.2fs"):format(took))
    end
    local c = load.connect(h)
    local t0 = core.now()
    local r = load.ask(c, load.run_line("echo served " .. dpid))
    assert.is_table(r.ok, tostring(r.error))
    c:close()
    local st = e2e.wait_status(h, r.ok.id, "stopped", load.secs(5))
    assert.are.equal(0, st.exit_code)
    assert.are.equal("served " .. dpid .. "\n", e2e.log_text(h, r.ok.id))
    assert.is_true((core.now() - t0) / 1000 < load.secs(3),
      "a mission took too long to run beside 50 stalled clients")
    -- the stalled ones were not forgotten: half of them finish their line
    for i = 1, 50, 2 do assert(stalled[i]:send('"}}\n')) end
    for i = 1, 50, 2 do
      assert.are.equal('{"ok":"pong"}', stalled[i]:recv(5000),
        "stalled client " .. i .. " got no reply once its line ended")
    end
    -- and then every one of them goes away
    for i = 1, 50 do stalled[i]:close() end
    clean("after 50 stalled clients")
  end)

  it("answers many 8 MiB lines at once while ps keeps working", function()
    local W = 4
    local dir = h.home .. "/writers"
    assert(core.mkdir(dir, 448))
    local script = dir .. "/writer.lua"
    -- Each writer, five times over: one 8 MiB line in 64 KiB writes, then
    -- the reply and whether the daemon hung up.  A failed write is fine:
    -- the daemon may hang up before it has read everything.
    e2e.write_file(script, [[
      local core = require("overmind.core")
      local out = assert(io.open(arg[2] .. ".tmp", "w"))
      for _ = 1, 5 do
        local c = assert(core.connect(arg[1]))
        local chunk = '{"cmd":"ping","args":{"pad":"' .. string.rep("w", 65536)
        local sent = 0
        while sent < 8 * 1048576 do
          if not c:send(chunk) then break end
          sent = sent + #chunk
          chunk = string.rep("v", 65536)
        end
        if sent >= 8 * 1048576 then c:send('"}}\n') end
        local reply = c:recv(20000)
        local more, err = c:recv(10000)
        out:write(tostring(reply), " ", tostring(more), " ", tostring(err), "\n")
        c:close()
      end
      out:close()
      os.rename(arg[2] .. ".tmp", arg[2])
    ]])
    local sentinel = e2e.run(h, { "sleep 60" })
    local spid = e2e.info(h, sentinel).os_pid
    local results = {}
    for i = 1, W do
      results[i] = dir .. "/result" .. i
      e2e.sh(("timeout 120 %s -l %s %s %s >/dev/null 2>&1 </dev/null &")
        :format(e2e.quote(e2e.bin), e2e.quote(script),
          e2e.quote(h.home .. "/overmind.sock"), e2e.quote(results[i])))
    end
    -- ps and run keep working while the writers push
    local worst, rounds, during = 0, 0, nil
    local t0 = core.now()
    repeat
      local list, err, took = load.timed(h, "ps")
      assert.is_table(list, tostring(err))
      worst = math.max(worst, took)
      rounds = rounds + 1
      if rounds == 2 then
        local r, rerr, rtook = load.timed(h, "run",
          { command = "echo beside the writers", cwd = "/tmp" })
        assert.is_table(r, tostring(rerr))
        worst = math.max(worst, rtook)
        during = r.id
      end
      local done = 0
      for i = 1, W do
        if core.stat(results[i]) then done = done + 1 end
      end
      assert.is_true((core.now() - t0) / 1000 < load.secs(30),
        "the oversized writers did not finish")
      core.sleep(10)
    until done == W
    assert.is_true(worst < load.secs(1),
      ("ps or run took %.2fs during the oversized lines"):format(worst))
    for i = 1, W do
      assert.are.equal(string.rep('{"error":"line_too_long"} nil eof\n', 5),
        e2e.read_all(results[i]), "writer " .. i)
    end
    local m = e2e.info(h, sentinel)
    assert.are.equal("running", m.status)
    assert.are.equal(spid, m.os_pid)
    assert.are.equal(0, e2e.wait_status(h, during, "stopped", load.secs(5)).exit_code)
    assert.are.equal("beside the writers\n", e2e.log_text(h, during))
    responsive("20 lines of 8 MiB")
    e2e.ok(h, { "kill", sentinel })
    clean("after 20 lines of 8 MiB")
  end)

  it("drops subscribers that stop reading; the mission runs at full speed", function()
    local gate = h.home .. "/gate"
    -- 150,000 lines of 200 characters: 30 MB of output, more than 30 MB of
    -- events for each of five subscribers.
    local n, width = 150000, 200
    local id = e2e.run(h, { ("while [ ! -e %s ]; do sleep 0.02; done; " ..
      "yes %s | head -n %d"):format(gate, string.rep("e", width), n) })
    local subs = {}
    for i = 1, 5 do
      subs[i] = load.connect(h)
      assert(subs[i]:send(load.encode("subscribe", { id = id }) .. "\n"))
      local first = e2e.json_decode(assert(subs[i]:recv(5000)))
      assert.is_table(first.ok, "subscribe failed")
    end
    e2e.write_file(gate, "")
    local t0 = core.now()
    local worst_ps, max_rss = 0, 0
    local final = e2e.wait_for(function()
      local m, err, took = load.timed(h, "info", { id = id })
      assert.is_table(m, tostring(err))
      local _, perr, ptook = load.timed(h, "ps")
      assert.is_nil(perr)
      worst_ps = math.max(worst_ps, took, ptook)
      max_rss = math.max(max_rss, load.rss_kb(dpid) or 0)
      return m.status ~= "running" and m
    end, load.secs(20), "the chatty mission to finish")
    local took = (core.now() - t0) / 1000
    assert.are.equal("stopped", final.status)
    assert.are.equal(0, final.exit_code)
    assert.is_true(took < load.secs(8),
      ("30 MB took %.1fs with subscribers that do not read"):format(took))
    assert.is_true(worst_ps < load.secs(1),
      ("ps took %.2fs while the mission chattered"):format(worst_ps))
    assert.is_true(max_rss < load.rss_bound_kb(),
      ("the daemon grew to %d KiB"):format(max_rss))
    -- the log has everything
    local st = assert(core.stat(h.home .. "/missions/" .. id .. "/output.log"))
    assert.are.equal(n * (width + 1), st.size)
    -- the daemon let go of them while they still hold their end unread
    load.fds_back(dpid, baseline, "subscribers that do not read")
    -- what they get is cut short: a prefix, then the end of the stream
    for i = 1, 5 do
      local got, exit_seen = 0, false
      while true do
        local line = subs[i]:recv(5000)
        if not line then break end
        got = got + 1
        if line:find('"type":"exit"', 1, true) then exit_seen = true end
      end
      assert.is_false(exit_seen, "subscriber " .. i .. " was not dropped")
      assert.is_true(got < n, "subscriber " .. i .. " got every line")
      subs[i]:close()
    end
    responsive("dropped subscribers")
    clean("after dropped subscribers")
  end)

  it("logs 50 MB written without a newline, in bounded memory", function()
    local total = 50000000
    local id = e2e.run(h, { "head -c " .. total .. " /dev/zero | tr '\\0' x" })
    local max_rss = 0
    local m = e2e.wait_for(function()
      max_rss = math.max(max_rss, load.rss_kb(dpid) or 0)
      local info = assert(e2e.request(h, "info", { id = id }))
      return info.status ~= "running" and info
    end, load.secs(20), "the 50 MB mission to finish")
    assert.are.equal("stopped", m.status)
    assert.are.equal(0, m.exit_code)
    assert.is_true(max_rss < load.rss_bound_kb(),
      ("the daemon grew to %d KiB"):format(max_rss))
    -- `logs` gives back every byte: 50,000,000 x and nothing else but,
    -- at most, a final newline
    local logs = "OVERMIND_HOME=" .. e2e.quote(h.home) .. " " ..
      e2e.quote(e2e.bin) .. " logs " .. id
    local n = tonumber(e2e.sh(logs .. " | wc -c"):match("%d+"))
    assert.is_true(n == total or n == total + 1,
      "logs gave " .. tostring(n) .. " bytes")
    local other = e2e.sh(logs .. " | tr -d x | od -c | head -3")
    assert.are.equal(n == total and "0000000\n" or "0000000  \\n\n0000001\n",
      other, "logs gave bytes other than x")
    responsive("50 MB without a newline")
    clean("after 50 MB without a newline")
  end)

  it("rotates a log at --log-max and reads across the files", function()
    local N, max = 600000, 64 * 1024 -- about 3.9 MB of numbered lines
    -- written in large blocks (cat), as bulk output arrives
    local id = e2e.run(h, { "--log-max", "64k",
      "f=$(mktemp); seq 1 " .. N .. " >$f; cat $f; rm -f $f" })
    local m = e2e.wait_status(h, id, "stopped", load.secs(15))
    assert.are.equal(0, m.exit_code)
    local base = h.home .. "/missions/" .. id .. "/output.log"
    -- the live file and at most three older ones
    local files = { base }
    for k = 1, 3 do
      local st = core.stat(base .. "." .. k)
      assert.is_table(st, "no " .. base .. "." .. k .. " after 3.9 MB")
      -- a rotated file holds the whole lines that fit under the limit
      assert.is_true(st.size > max - 16, base .. "." .. k .. " rotated early")
      table.insert(files, 1, base .. "." .. k)
    end
    assert.is_nil(core.stat(base .. ".4"), "more than 3 older files")
    -- `logs` reads them oldest first: the newest output, in order
    local whole = {}
    for i, f in ipairs(files) do whole[i] = e2e.read_all(f) end
    whole = table.concat(whole)
    local out = e2e.ok(h, { "logs", id })
    assert.are.equal(#whole, #out)
    assert.is_true(out == whole, "logs differs from the files, oldest first")
    local lines = {}
    for l in out:gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
    assert.are.equal(tostring(N), lines[#lines])
    -- the first line may be the tail of a line cut by a rotation
    for i = 2, #lines do
      assert.are.equal(tostring(N - #lines + i), lines[i], "line " .. i)
    end
    -- --tail reaches back across a file boundary
    local live = select(2, e2e.read_all(base):gsub("\n", ""))
    local tail = live + 100
    local want = {}
    for k = N - tail + 1, N do want[#want + 1] = tostring(k) end
    assert.are.equal(table.concat(want, "\n") .. "\n",
      e2e.ok(h, { "logs", id, "--tail", tostring(tail) }))
    -- no file beyond the limit: what would pass it starts the next file
    local sizes = {}
    for i, f in ipairs(files) do
      sizes[i] = f:match("[^/]*$") .. " " .. assert(core.stat(f)).size
    end
    for _, f in ipairs(files) do
      assert.is_true(assert(core.stat(f)).size <= max,
        "a log file beyond --log-max 64k: " .. table.concat(sizes, ", "))
    end
    clean("after rotating a log")
  end)
end)
