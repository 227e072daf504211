-- SPEC §4 self-healing: restart policies, exponential backoff and its
-- reset, the sliding-window budget, the exact log markers, stall detection
-- and --timeout, missions killed from outside, missions lost with a daemon
-- killed by SIGKILL.  Plain stop/kill semantics are in stop_kill_spec.lua.
local e2e = require("support.e2e")
local core = require("overmind.core")

-- CLI calls that block on the daemon get a deadline, so a hang fails.
local T = { timeout = 20 }

-- `--- restart #<n> at <YYYY-MM-DDTHH:MM:SSZ> ---`
local MARKER = "^%-%-%- restart #(%d+) at " ..
  "(%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ) %-%-%-$"

local function lines_of(s)
  local out = {}
  for line in s:gmatch("([^\n]*)\n") do out[#out + 1] = line end
  return out
end

local function utc() return os.date("!%Y-%m-%dT%H:%M:%SZ") end

describe("self-healing", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function() e2e.cleanup(h) end)

  -- A shell script in the home that counts its runs in <name>.count and
  -- appends `date +%s.%N` to <name>.start when a run begins and to
  -- <name>.end when it ends; `body` sees the run number as $n.  Returns
  -- the command to run it and a table of accessors.
  local function script(name, body)
    local base = h.home .. "/" .. name
    e2e.write_file(base .. ".sh", table.concat({
      "n=$(( $(cat " .. base .. ".count 2>/dev/null || echo 0) + 1 ))",
      "echo $n >" .. base .. ".count.t; mv " .. base .. ".count.t " .. base .. ".count",
      "date +%s.%N >>" .. base .. ".start",
      "trap 'date +%s.%N >>" .. base .. ".end' EXIT",
      body, "" }, "\n"))
    local s = {}
    function s.count()
      return tonumber(e2e.read_all(base .. ".count"):match("%d+")) or 0
    end
    local function times(suffix)
      local out = {}
      for t in e2e.read_all(base .. suffix):gmatch("[%d%.]+") do
        out[#out + 1] = tonumber(t)
      end
      return out
    end
    function s.starts() return times(".start") end
    function s.ends() return times(".end") end
    return "exec sh " .. base .. ".sh", s
  end

  -- info through the socket: quicker than the CLI, under ASan too.
  local function info(id)
    return assert(e2e.request(h, "info", { id = id }))
  end

  -- Lets `secs` seconds pass (to show that something does NOT happen).
  local function let_pass(secs)
    local deadline = e2e.now() + secs
    e2e.wait_for(function() return e2e.now() >= deadline end, secs + 5)
  end

  local function info_where(id, pred, what, timeout)
    local last
    local ok, res = pcall(e2e.wait_for, function()
      last = e2e.request(h, "info", { id = id })
      return last and pred(last) and last
    end, timeout or 10)
    if not ok then
      error(("timed out waiting for %s (last: status %s, restart_count %s)")
        :format(what, last and last.status, last and last.restart_count), 2)
    end
    return res
  end

  describe("--restart", function()
    it("never (the default) leaves a crashed mission crashed", function()
      local a = e2e.run(h, { "exit 3" })
      local b = e2e.run(h, { "--restart", "never", "--backoff", "10", "exit 3" })
      for _, id in ipairs({ a, b }) do
        local m = e2e.wait_status(h, id, "crashed")
        assert.are.equal("never", m.restart_policy)
        assert.are.equal(3, m.exit_code)
        assert.are.equal(0, m.restart_count)
      end
      let_pass(0.2)
      assert.are.equal(0, info(b).restart_count)
      assert.are.equal("", e2e.log_text(h, b))
    end)

    it("accepts on-failure and on_failure, and refuses other names", function()
      local a = e2e.run(h, { "--restart", "on-failure", "sleep 30" })
      local b = e2e.run(h, { "--restart", "on_failure", "sleep 30" })
      local c = e2e.run(h, { "--restart", "always", "sleep 30" })
      assert.are.equal("on_failure", info(a).restart_policy)
      assert.are.equal("on_failure", info(b).restart_policy)
      assert.are.equal("always", info(c).restart_policy)
      local r = e2e.om(h, { "run", "--restart", "sometimes", "true" })
      assert.are.equal(1, r.code)
      assert.are.equal("Error: invalid_restart_policy\n", r.err)
      assert.are.equal(3, #e2e.ps_json(h))
    end)

    it("on-failure restarts after crashes, with exact markers, not after exit 0", function()
      local before = utc()
      local cmd, s = script("flaky", 'echo "run $n"; [ $n -ge 3 ] || exit 7')
      local id = e2e.run(h, { "--restart", "on-failure", "--backoff", "50", cmd })
      local m = e2e.wait_status(h, id, "stopped")
      local after = utc()
      assert.are.equal(0, m.exit_code)
      assert.are.equal(2, m.restart_count)
      -- and no restart after the clean exit
      let_pass(0.3)
      m = info(id)
      assert.are.equal("stopped", m.status)
      assert.are.equal(2, m.restart_count)
      assert.are.equal(3, s.count())
      -- logs accumulate across restarts, each restart announced in order
      local log = e2e.log_text(h, id)
      local got = lines_of(log)
      assert.are.equal(5, #got, log)
      assert.are.equal("run 1", got[1])
      assert.are.equal("run 2", got[3])
      assert.are.equal("run 3", got[5])
      for k, i in ipairs({ 2, 4 }) do
        local n, stamp = got[i]:match(MARKER)
        assert.are.equal(tostring(k), n, "marker line: " .. got[i])
        assert.is_truthy(stamp >= before and stamp <= after,
          stamp .. " not within " .. before .. " .. " .. after)
      end
      assert.are.equal(log, e2e.ok(h, { "logs", id }))
      -- ps agrees on the count, in --json and in the RESTARTS column
      local row
      for _, x in ipairs(e2e.ps_json(h)) do if x.id == id then row = x end end
      assert.are.equal(2, row.restart_count)
      local table_row = lines_of(e2e.ok(h, { "ps" }))[2]
      assert.are.equal(id, table_row:sub(1, 8))
      assert.are.equal("2         ", table_row:sub(55, 64))
    end)

    it("always restarts after exit 0, and not after stop", function()
      local cmd, s = script("loop", 'echo "run $n"; [ $n -ge 3 ] && exec sleep 30; exit 0')
      local id = e2e.run(h, { "--restart", "always", "--backoff", "50", cmd })
      local m = info_where(id, function(i)
        return i.status == "running" and i.restart_count == 2 and s.count() == 3
      end, "the third run")
      assert.are.equal("always", m.restart_policy)
      local pid = m.os_pid
      assert.are.equal("Stopped mission " .. id .. "\n", e2e.ok(h, { "stop", id }, T))
      assert.is_false(e2e.alive(pid))
      let_pass(0.4)
      m = info(id)
      assert.are.equal("stopped", m.status)
      assert.are.equal(2, m.restart_count)
      assert.are.equal(e2e.null, m.os_pid)
      assert.are.equal(3, s.count())
    end)

    it("always does not bring back a mission removed by kill", function()
      local cmd, s = script("doomed", "exec sleep 30")
      local id = e2e.run(h, { "--restart", "always", "--backoff", "50", cmd })
      e2e.wait_for(function() return s.count() == 1 end, 10, "the first run")
      local pid = info(id).os_pid
      assert.are.equal("Killed mission " .. id .. "\n", e2e.ok(h, { "kill", id }, T))
      e2e.wait_for(function() return not e2e.alive(pid) end, 10, "the kill")
      let_pass(0.4)
      assert.are.equal(1, s.count())
      assert.are.same({}, e2e.ps_json(h))
    end)

    it("always does not restart a TERM-ignoring mission stopped by escalation", function()
      local cmd, s = script("stubborn",
        "trap '' TERM; echo ready; while :; do sleep 0.05; done")
      local id = e2e.run(h, { "--restart", "always", "--backoff", "50",
        "--stop-timeout", "1", cmd })
      e2e.wait_log(h, id, "ready\n")
      local pid = info(id).os_pid
      local t0 = e2e.now()
      local r = e2e.om(h, { "stop", id }, T)
      local took = e2e.now() - t0
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("Stopped mission " .. id .. "\n", r.out)
      assert.is_truthy(took >= 0.9 and took < 6, "stop took " .. took .. "s")
      e2e.wait_for(function() return #e2e.group_members(pid) == 0 end, 5,
        "the group to be gone")
      -- the SIGKILL was asked for: stopped, not crashed, and no restart
      local m = info(id)
      assert.are.equal("stopped", m.status)
      assert.are.equal(0, m.restart_count)
      let_pass(0.3)
      assert.are.equal(1, s.count())
      assert.are.equal("stopped", info(id).status)
    end)
  end)

  describe("backoff", function()
    it("doubles before each consecutive restart", function()
      local cmd, s = script("dbl", "exit 1")
      local id = e2e.run(h, { "--restart", "on-failure", "--backoff", "100",
        "--max-restarts", "3", cmd })
      local m = e2e.wait_status(h, id, "crashed", 15)
      assert.are.equal(3, m.restart_count)
      assert.are.equal(1, m.exit_code)
      local starts, ends = s.starts(), s.ends()
      assert.are.equal(4, #starts)
      assert.are.equal(4, #ends)
      local gaps = {}
      for i = 1, 3 do gaps[i] = starts[i + 1] - ends[i] end
      local msg = ("gaps %.3f %.3f %.3f"):format(gaps[1], gaps[2], gaps[3])
      -- 100, 200, 400 ms (timers may fire a little early against `date`)
      assert.is_truthy(gaps[1] >= 0.08, msg)
      assert.is_truthy(gaps[2] >= 0.16, msg)
      assert.is_truthy(gaps[3] >= 0.32, msg)
      assert.is_truthy(gaps[3] > gaps[1], msg)
      assert.is_truthy(gaps[1] < 5, msg)
    end)

    it("shows restarting during a long backoff, then restarts", function()
      local cmd, s = script("slow", '[ $n -ge 2 ] && exec sleep 30; exit 1')
      local id = e2e.run(h, { "--restart", "on-failure", "--backoff", "1200", cmd })
      local m = e2e.wait_status(h, id, "restarting")
      local seen = e2e.now()
      assert.are.equal(0, m.restart_count)
      assert.are.equal(e2e.null, m.os_pid)
      assert.are.equal(1, m.exit_code)
      -- still waiting a while later
      let_pass(0.4)
      m = info(id)
      assert.are.equal("restarting", m.status)
      assert.are.equal(0, m.restart_count)
      assert.are.equal(1, s.count())
      local row = e2e.ps_json(h)[1]
      assert.are.equal("restarting", row.status)
      m = info_where(id, function(i) return i.status == "running" end, "the restart")
      assert.are.equal(1, m.restart_count)
      assert.is_true(e2e.alive(m.os_pid))
      assert.is_truthy(e2e.now() - seen >= 0.5, "restarted too soon")
    end)

    it("starts over after a run that lasted at least --max-seconds", function()
      -- runs 1 and 2 crash at once (backoffs 400, 800 ms); run 3 lives
      -- 1.3 s > max-seconds before crashing, so the next backoff is 400 ms
      -- again rather than 1600 ms.  A backoff is a lower bound on a gap and
      -- a busy machine only adds to it, so the figures are far apart.
      local cmd, s = script("healthy",
        "case $n in 3) sleep 1.3;; 4) exec sleep 30;; esac; exit 1")
      local id = e2e.run(h, { "--restart", "on-failure", "--backoff", "400",
        "--max-seconds", "1", "--max-restarts", "0", cmd })
      local m = info_where(id, function(i)
        return i.status == "running" and i.restart_count == 3 and #s.starts() == 4
      end, "the fourth run", 25)
      assert.are.equal(3, m.restart_count)
      local starts, ends = s.starts(), s.ends()
      local g2, g3 = starts[3] - ends[2], starts[4] - ends[3]
      local msg = ("gaps %.3f %.3f %.3f"):format(starts[2] - ends[1], g2, g3)
      assert.is_truthy(g2 >= 0.75, msg)
      assert.is_truthy(g3 < 1.5, msg)
      local markers = 0
      for _, line in ipairs(lines_of(e2e.log_text(h, id))) do
        if line:match(MARKER) then markers = markers + 1 end
      end
      assert.are.equal(3, markers)
    end)
  end)

  describe("budget", function()
    it("ends crashed when a crash would exceed --max-restarts", function()
      local cmd, s = script("budget", 'echo "try $n"; exit 4')
      local id = e2e.run(h, { "--restart", "on-failure", "--backoff", "20",
        "--max-restarts", "2", "--max-seconds", "60", cmd })
      local m = e2e.wait_status(h, id, "crashed")
      assert.are.equal(2, m.restart_count)
      assert.are.equal(4, m.exit_code)
      let_pass(0.3)
      assert.are.equal(3, s.count())
      local got = lines_of(e2e.log_text(h, id))
      assert.are.equal(5, #got)
      assert.are.equal("try 1", got[1])
      assert.is_truthy(got[2]:match(MARKER), got[2])
      assert.are.equal("try 2", got[3])
      assert.is_truthy(got[4]:match(MARKER), got[4])
      assert.are.equal("try 3", got[5])
      assert.are.equal("crashed", info(id).status)
    end)

    it("counts restarts in a sliding window of --max-seconds", function()
      -- one restart per 0.3 s window: runs of 0.45 s never hit the budget,
      -- runs that crash at once do after one restart
      local cmd, s = script("slide", "[ $n -ge 3 ] && exec sleep 30; sleep 0.45; exit 1")
      local id = e2e.run(h, { "--restart", "on-failure", "--backoff", "50",
        "--max-restarts", "1", "--max-seconds", "0.3", cmd })
      local fast = e2e.run(h, { "--restart", "on-failure", "--backoff", "50",
        "--max-restarts", "1", "--max-seconds", "0.3", "exit 1" })
      local f = e2e.wait_status(h, fast, "crashed")
      assert.are.equal(1, f.restart_count)
      local m = info_where(id, function(i)
        return i.status == "running" and i.restart_count == 2 and s.count() == 3
      end, "the third run", 15)
      assert.are.equal(2, m.restart_count)
    end)

    it("--max-restarts 0 means unlimited", function()
      local cmd, s = script("endless", "exit 2")
      local id = e2e.run(h, { "--restart", "on-failure", "--backoff", "10",
        "--max-restarts", "0", cmd })
      info_where(id, function(i) return i.restart_count >= 6 end,
        "more restarts than the default budget of 5", 15)
      assert.is_true(s.count() >= 6)
      local m = info(id)
      assert.are.equal(0, m.max_restarts)
      assert.is_truthy(m.status == "running" or m.status == "restarting", m.status)
      e2e.ok(h, { "stop", id }, T)
      assert.are.equal("stopped", info(id).status)
    end)

    it("stop during a later backoff cancels the restart for good", function()
      local cmd, s = script("cancel", "exit 1")
      local id = e2e.run(h, { "--restart", "on-failure", "--backoff", "400",
        "--max-restarts", "0", cmd })
      -- after restart #1 the backoff is 800 ms
      info_where(id, function(i)
        return i.status == "restarting" and i.restart_count == 1
      end, "the second backoff")
      assert.are.equal("Stopped mission " .. id .. "\n", e2e.ok(h, { "stop", id }, T))
      let_pass(0.8)
      local m = info(id)
      assert.are.equal("stopped", m.status)
      assert.are.equal(1, m.restart_count)
      assert.are.equal(2, s.count())
      local r = e2e.om(h, { "stop", id }, T)
      assert.are.equal("Error: not_running\n", r.err)
    end)
  end)

  describe("stall detection", function()
    it("kills a silent mission after --activity-timeout, not one that writes", function()
      local t0 = e2e.now()
      local id = e2e.run(h, { "--activity-timeout", "1", "echo hi; sleep 30" })
      local busy = e2e.run(h, { "--activity-timeout", "0.4",
        "for i in 1 2 3 4 5 6; do echo tick; sleep 0.15; done" })
      -- output is activity even without a newline (a progress bar)
      local dots = e2e.run(h, { "--activity-timeout", "0.4",
        "for i in 1 2 3 4 5 6; do printf .; sleep 0.15; done" })
      e2e.wait_log(h, id, "hi\n")
      local pid = info(id).os_pid
      local m = e2e.wait_status(h, id, "crashed", 10)
      local took = e2e.now() - t0
      assert.is_truthy(took >= 0.9 and took < 6, "killed after " .. took .. "s")
      assert.are.equal(137, m.exit_code)
      assert.are.equal(0, m.restart_count)
      assert.is_false(e2e.alive(pid))
      assert.are.equal("hi\n--- killed: no activity for 1s ---\n", e2e.log_text(h, id))
      -- the writer was never quiet for 0.4 s
      local b = e2e.wait_status(h, busy, "stopped", 10)
      assert.are.equal(0, b.exit_code)
      assert.are.equal(string.rep("tick\n", 6), e2e.log_text(h, busy))
      local d = e2e.wait_status(h, dots, "stopped", 10)
      assert.are.equal(0, d.exit_code)
      assert.are.equal("......", e2e.log_text(h, dots))
    end)

    it("lets the restart policy bring a stalled mission back", function()
      local cmd, s = script("stall", 'echo "run $n"; [ $n -ge 2 ] && exec sleep 30; sleep 30')
      local id = e2e.run(h, { "--restart", "on-failure", "--backoff", "50",
        "--activity-timeout", "0.5", "--max-restarts", "1", cmd })
      -- run 2 is silent too: it stalls and the budget of one restart ends it
      local m = e2e.wait_status(h, id, "crashed", 10)
      assert.are.equal(1, m.restart_count)
      assert.are.equal(137, m.exit_code)
      assert.are.equal(2, s.count())
      local got = lines_of(e2e.log_text(h, id))
      assert.are.equal(5, #got)
      assert.are.equal("run 1", got[1])
      assert.are.equal("--- killed: no activity for 0.5s ---", got[2])
      assert.is_truthy(got[3]:match(MARKER), got[3])
      assert.are.equal("run 2", got[4])
      assert.are.equal("--- killed: no activity for 0.5s ---", got[5])
    end)
  end)

  describe("--timeout", function()
    it("kills the mission with the exact line and marks it crashed", function()
      local id = e2e.run(h, { "--timeout", "1", "echo begin; sleep 30" })
      local m = e2e.wait_status(h, id, "crashed", 10)
      assert.are.equal(137, m.exit_code)
      assert.are.equal("begin\n--- killed: timeout after 1s ---\n", e2e.log_text(h, id))
    end)

    it("is a crash for on-failure, and every run gets the full time", function()
      local cmd, s = script("overtime", 'echo "run $n"; exec sleep 30')
      local id = e2e.run(h, { "--restart", "on-failure", "--backoff", "50",
        "--timeout", "0.5", "--max-restarts", "1", cmd })
      local m = e2e.wait_status(h, id, "crashed", 10)
      assert.are.equal(1, m.restart_count)
      assert.are.equal(137, m.exit_code)
      local got = lines_of(e2e.log_text(h, id))
      assert.are.equal(5, #got)
      assert.are.equal("--- killed: timeout after 0.5s ---", got[2])
      assert.is_truthy(got[3]:match(MARKER), got[3])
      assert.are.equal("--- killed: timeout after 0.5s ---", got[5])
      -- each run had its own 0.5 s before the kill (a timer left over from
      -- the first run would kill the second at once); `date` runs a little
      -- after the spawn, so the bounds are loose
      local starts = s.starts()
      assert.are.equal(2, #starts)
      assert.is_truthy(starts[2] - starts[1] >= 0.4,
        "second run began " .. (starts[2] - starts[1]) .. "s after the first")
      assert.is_truthy(core.time() - starts[2] >= 0.25,
        "second run killed after " .. (core.time() - starts[2]) .. "s")
    end)
  end)

  describe("markers after output without a final newline", function()
    it("still start on a line of their own", function()
      local r = e2e.run(h, { "--restart", "on-failure", "--backoff", "50",
        "--max-restarts", "1", "printf partial; exit 1" })
      local t = e2e.run(h, { "--timeout", "0.3", "printf partial; exec sleep 30" })
      local s = e2e.run(h, { "--activity-timeout", "0.3", "printf partial; exec sleep 30" })
      for _, id in ipairs({ r, t, s }) do e2e.wait_status(h, id, "crashed") end
      local log = e2e.log_text(h, r)
      local got = {}
      for line in (log:gsub("\n$", "") .. "\n"):gmatch("([^\n]*)\n") do
        got[#got + 1] = line
      end
      assert.are.equal(3, #got, ("restart log: %q"):format(log))
      assert.are.equal("partial", got[1])
      assert.is_truthy(got[2]:match(MARKER), got[2])
      assert.are.equal("partial", got[3])
      assert.are.equal("partial\n--- killed: timeout after 0.3s ---\n", e2e.log_text(h, t))
      assert.are.equal("partial\n--- killed: no activity for 0.3s ---\n", e2e.log_text(h, s))
    end)
  end)

  describe("a process killed from outside", function()
    it("is restarted by on-failure or always with a new os_pid", function()
      local cmd, s = script("victim", 'echo "run $n"; exec sleep 30')
      local id = e2e.run(h, { "--restart", "on-failure", "--backoff", "50", cmd })
      local alw = e2e.run(h, { "--restart", "always", "--backoff", "50", "sleep 30" })
      e2e.wait_log(h, id, "run 1\n")
      local old, old_alw = info(id).os_pid, info(alw).os_pid
      core.kill(old, "KILL")
      core.kill(old_alw, "TERM")
      local m = info_where(id, function(i)
        return i.status == "running" and i.restart_count == 1 and s.count() == 2
      end, "the restart")
      assert.are_not.equal(old, m.os_pid)
      assert.is_true(e2e.alive(m.os_pid))
      assert.is_false(e2e.alive(old))
      local got = lines_of(e2e.wait_log(h, id, "run 2\n"))
      assert.are.equal(3, #got)
      assert.are.equal("run 1", got[1])
      assert.is_truthy(got[2]:match(MARKER), got[2])
      assert.are.equal("run 2", got[3])
      local a = info_where(alw, function(i)
        return i.status == "running" and i.restart_count == 1
      end, "the restart of the always mission")
      assert.are_not.equal(old_alw, a.os_pid)
    end)
  end)

  describe("a daemon killed with SIGKILL", function()
    it("leaves lost missions to their policies after the next start", function()
      local cmd, s = script("phoenix", 'echo "up $n"; exec sleep 300')
      local healed = e2e.run(h, { "--name", "healed", "--restart", "on-failure",
        "--backoff", "50", cmd })
      local plain = e2e.run(h, { "--name", "plain", "echo plain; exec sleep 300" })
      e2e.wait_log(h, healed, "up 1\n")
      e2e.wait_log(h, plain, "plain\n")
      local old_healed = info(healed).os_pid
      local old_plain = info(plain).os_pid
      local dpid = e2e.daemon_pid(h)
      core.kill(dpid, "KILL")
      e2e.wait_for(function() return not e2e.alive(dpid) end, 10, "daemon death")
      local before = utc()
      local r = e2e.om(h, { "start" }, T)
      assert.are.equal(0, r.code, r.err)
      local m = info_where(healed, function(i)
        return i.status == "running" and i.restart_count == 1 and s.count() == 2
      end, "the lost mission to restart")
      assert.are_not.equal(old_healed, m.os_pid)
      assert.is_true(e2e.alive(m.os_pid))
      assert.is_false(e2e.alive(old_healed))
      local got = lines_of(e2e.wait_log(h, healed, "up 2\n"))
      assert.are.equal(4, #got)
      assert.are.equal("up 1", got[1])
      assert.are.equal("--- daemon restarted; mission lost ---", got[2])
      local n, stamp = got[3]:match(MARKER)
      assert.are.equal("1", n, got[3])
      assert.is_truthy(stamp >= before and stamp <= utc(), stamp)
      assert.are.equal("up 2", got[4])

      local p = info(plain)
      assert.are.equal("crashed", p.status)
      assert.are.equal(e2e.null, p.exit_code)
      assert.are.equal(e2e.null, p.os_pid)
      assert.are.equal(0, p.restart_count)
      e2e.wait_for(function() return not e2e.alive(old_plain) end, 10,
        "the lost mission's process to be killed")
      assert.are.equal("plain\n--- daemon restarted; mission lost ---\n",
        e2e.log_text(h, plain))
    end)
  end)
end)
