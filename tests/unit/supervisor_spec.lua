-- The mission state machine (SPEC §2, §4) driven with a fake clock, fake
-- timers and fake process handles: no sleeping, no real processes.
local supervisor = require("overmind.daemon.supervisor")

local T0 = 1700000000 -- 2023-11-14T22:13:20Z

-- A world of fakes.  `w.advance(s)` moves the clock and fires, in order,
-- every timer that falls due.
local function world()
  local w = {
    t = T0, timers = {}, starts = {}, logs = {}, saves = 0, emitted = {},
    events = {},
    finals = {}, removed = {}, reaped = {}, next_pid = 1000,
    start_error = nil,
  }

  function w.now() return w.t end

  function w.timer()
    local tm = { active = false, closed = false }
    function tm.start(self, ms, rep, fn)
      assert(not self.closed, "start on a closed timer")
      assert(math.type(ms) == "integer", "timer ms must be an integer")
      assert(ms >= 0, "negative timeout")
      assert(rep == 0, "the supervisor arms one-shot timers")
      self.due, self.ms, self.fn, self.active = w.t + ms / 1000, ms, fn, true
    end
    function tm.stop(self) self.active = false end
    function tm.close(self) self.active, self.closed = false, true end
    w.timers[#w.timers + 1] = tm
    return tm
  end

  -- Timers still armed.
  function w.armed()
    local n = 0
    for _, tm in ipairs(w.timers) do if tm.active then n = n + 1 end end
    return n
  end

  function w.advance(secs)
    local target = w.t + secs
    local fired = 0
    while true do
      local next_tm
      for _, tm in ipairs(w.timers) do
        if tm.active and tm.due <= target and
            (not next_tm or tm.due < next_tm.due) then
          next_tm = tm
        end
      end
      if not next_tm then break end
      fired = fired + 1
      -- A timer re-armed for 0 ms over and over would hang the spec.
      assert(fired < 10000, "timers keep firing without time passing")
      w.t = math.max(w.t, next_tm.due)
      next_tm.active = false
      next_tm.fn()
    end
    w.t = target
  end

  function w.start(m)
    if w.start_error then return nil, w.start_error end
    w.next_pid = w.next_pid + 1
    local h = { pid = w.next_pid, start_time = 42, kills = {}, closed = false,
                last_output = w.t }
    function h.kill(self, sig) self.kills[#self.kills + 1] = sig or "TERM" end
    function h.close(self) self.closed = true end
    function h.idle(self) return math.floor((w.t - self.last_output) * 1000) end
    w.starts[#w.starts + 1] = h
    return h
  end

  function w.handle() return w.starts[#w.starts] end

  function w.save() w.saves = w.saves + 1 end
  function w.log(m, line) w.logs[#w.logs + 1] = line end
  function w.emit(m, ev) w.emitted[#w.emitted + 1] = ev end
  function w.final(m, how) w.finals[#w.finals + 1] = how end
  -- Lifecycle events as "kind k=v ..." (details sorted), for comparison.
  function w.event(m, kind, detail)
    local parts = { kind }
    local keys = {}
    for k in pairs(detail or {}) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(detail[k]) end
    w.events[#w.events + 1] = table.concat(parts, " ")
  end
  function w.remove(m) w.removed[#w.removed + 1] = m.id end
  function w.reap(m) w.reaped[#w.reaped + 1] = m.id end

  w.sup = supervisor.new({
    now = w.now, timer = w.timer, start = w.start, save = w.save,
    log = w.log, emit = w.emit, event = w.event, final = w.final,
    remove = w.remove, reap = w.reap,
  })
  return w
end

local function mission(t)
  local m = {
    id = "abcd1234", name = "swift-reef", type = "task", command = "x",
    restart_policy = "never", max_restarts = 5, max_seconds = 60,
    backoff_ms = 1000, stop_timeout = 10, restart_count = 0,
  }
  for k, v in pairs(t or {}) do m[k] = v end
  return m
end

local function kills(h) return table.concat(h.kills, ",") end

describe("supervisor", function()
  local w
  before_each(function() w = world() end)

  describe("launch and exit", function()
    it("launch starts a run: running, os_pid set, record saved", function()
      local m = mission()
      assert.is_true(w.sup:launch(m))
      assert.are.equal("running", m.state)
      assert.are.equal("running", supervisor.status(m))
      assert.is_true(supervisor.is_live(m))
      assert.are.equal(1, #w.starts)
      assert.are.equal(w.handle().pid, m.os_pid)
      assert.are.equal(T0, m.started_at)
      assert.is_nil(m.exit_code)
      assert.is_true(w.saves >= 1)
      assert.are.equal(0, m.restart_count)
    end)

    it("exit 0 under never: stopped, exit_code 0, no restart", function()
      local m = mission()
      w.sup:launch(m)
      w.advance(3)
      w.sup:dispatch(m, "exit", 0)
      assert.are.equal("stopped", m.state)
      assert.are.equal(0, m.exit_code)
      assert.is_nil(m.os_pid)
      assert.are.equal(T0 + 3, m.ended_at)
      assert.is_true(w.handle().closed)
      assert.are.same({ "stopped" }, w.finals)
      assert.are.same({ type = "exit", status = "stopped", exit_code = 0 },
        w.emitted[#w.emitted])
      assert.is_false(supervisor.is_live(m))
      w.advance(3600)
      assert.are.equal(1, #w.starts)
      assert.are.equal(0, w.armed())
    end)

    it("exit 3: crashed with exit_code 3", function()
      local m = mission()
      w.sup:launch(m)
      w.sup:dispatch(m, "exit", 3)
      assert.are.equal("crashed", m.state)
      assert.are.equal(3, m.exit_code)
      assert.are.same({ "crashed" }, w.finals)
      assert.are.same({ type = "exit", status = "crashed", exit_code = 3 },
        w.emitted[#w.emitted])
    end)

    it("a signal death (128+N) is a crash", function()
      local m = mission()
      w.sup:launch(m)
      w.sup:dispatch(m, "exit", 137)
      assert.are.equal("crashed", m.state)
      assert.are.equal(137, m.exit_code)
      assert.are.equal(0, m.restart_count)
    end)

    it("exit 0 with the crash flag (an error result) is a crash", function()
      local m = mission()
      w.sup:launch(m)
      w.sup:dispatch(m, "exit", 0, true)
      assert.are.equal("crashed", m.state)
    end)

    it("a run that cannot start is a crash with a log line", function()
      w.start_error = "ENOENT: no such file or directory"
      local m = mission()
      w.sup:launch(m)
      assert.are.equal("crashed", m.state)
      assert.are.equal(127, m.exit_code)
      assert.are.same(
        { "--- failed to start: ENOENT: no such file or directory ---" },
        w.logs)
    end)

    it("ignores events that make no sense in a state", function()
      local m = mission()
      w.sup:launch(m)
      w.sup:dispatch(m, "exit", 0)
      local ok, err = w.sup:dispatch(m, "exit", 1)
      assert.is_nil(ok)
      assert.are.equal("ignored", err)
      assert.are.equal("stopped", m.state)
      assert.are.equal(0, m.exit_code)
    end)
  end)

  describe("restart policy", function()
    it("on_failure: a crash waits out a 1000 ms backoff as restarting", function()
      local m = mission({ restart_policy = "on_failure" })
      w.sup:launch(m)
      w.advance(2)
      w.sup:dispatch(m, "exit", 1)
      assert.are.equal("restarting", m.state)
      assert.are.equal("restarting", supervisor.status(m))
      assert.is_true(supervisor.is_live(m))
      assert.are.equal(1, m.exit_code)
      assert.are.same({}, w.finals)
      w.advance(0.999)
      assert.are.equal(1, #w.starts)
      assert.are.equal("restarting", m.state)
      w.advance(0.001)
      assert.are.equal(2, #w.starts)
      assert.are.equal("running", m.state)
      assert.are.equal(1, m.restart_count)
      assert.are.equal(w.handle().pid, m.os_pid)
    end)

    it("writes the exact restart marker and emits a restart event", function()
      local m = mission({ restart_policy = "on_failure" })
      w.sup:launch(m)
      w.sup:dispatch(m, "exit", 1)
      w.advance(1) -- T0 + 1 = 2023-11-14T22:13:21Z
      assert.are.same({ "--- restart #1 at 2023-11-14T22:13:21Z ---" }, w.logs)
      assert.are.same({ type = "restart", n = 1 }, w.emitted[#w.emitted])
      w.advance(5)
      w.sup:dispatch(m, "exit", 1) -- backoff 2000 ms
      w.advance(2)
      assert.are.equal("--- restart #2 at 2023-11-14T22:13:28Z ---", w.logs[2])
      assert.are.equal(2, m.restart_count)
    end)

    it("doubles the backoff across consecutive crashes", function()
      local m = mission({ restart_policy = "on_failure", max_restarts = 0 })
      w.sup:launch(m)
      local delays = {}
      for _ = 1, 7 do
        w.sup:dispatch(m, "exit", 1)
        local before = w.t
        local n = #w.starts
        while #w.starts == n do w.advance(0.5) end
        delays[#delays + 1] = math.floor((w.t - before) * 1000 + 0.5)
      end
      assert.are.same({ 1000, 2000, 4000, 8000, 16000, 32000, 60000 }, delays)
      assert.are.equal(7, m.restart_count)
    end)

    it("a long healthy run resets the backoff but not restart_count", function()
      local m = mission({ restart_policy = "on_failure", max_restarts = 0,
                          max_seconds = 60 })
      w.sup:launch(m)
      for _ = 1, 3 do -- backoffs 1000, 2000, 4000
        w.sup:dispatch(m, "exit", 1)
        w.advance(4)
      end
      assert.are.equal(3, m.restart_count)
      w.advance(60) -- a run of at least max_seconds
      w.sup:dispatch(m, "exit", 1)
      w.advance(0.999)
      assert.are.equal("restarting", m.state)
      w.advance(0.001)
      assert.are.equal("running", m.state)
      assert.are.equal(4, m.restart_count)
    end)

    it("always restarts after a clean exit too", function()
      local m = mission({ restart_policy = "always" })
      w.sup:launch(m)
      w.sup:dispatch(m, "exit", 0)
      assert.are.equal("restarting", m.state)
      w.advance(1)
      assert.are.equal("running", m.state)
      assert.are.equal(1, m.restart_count)
    end)

    it("on_failure does not restart after a clean exit", function()
      local m = mission({ restart_policy = "on_failure" })
      w.sup:launch(m)
      w.sup:dispatch(m, "exit", 0)
      assert.are.equal("stopped", m.state)
      w.advance(120)
      assert.are.equal(1, #w.starts)
    end)

    it("a crash beyond the budget is final: crashed", function()
      local m = mission({ restart_policy = "on_failure", max_restarts = 2,
                          max_seconds = 60 })
      w.sup:launch(m)
      w.sup:dispatch(m, "exit", 1)
      w.advance(1)
      w.sup:dispatch(m, "exit", 1)
      w.advance(2)
      assert.are.equal(2, m.restart_count)
      w.sup:dispatch(m, "exit", 4)
      assert.are.equal("crashed", m.state)
      assert.are.equal(4, m.exit_code)
      assert.are.same({ "crashed" }, w.finals)
      w.advance(600)
      assert.are.equal(3, #w.starts)
      assert.are.equal(0, w.armed())
    end)
  end)

  describe("stop", function()
    it("sends TERM, shows running, and escalates to KILL after the grace", function()
      local m = mission({ stop_timeout = 10 })
      w.sup:launch(m)
      local h = w.handle()
      local done = 0
      assert.is_true(w.sup:dispatch(m, "stop", function() done = done + 1 end))
      assert.are.equal("TERM", kills(h))
      assert.are.equal("running", supervisor.status(m))
      assert.is_true(supervisor.is_live(m))
      w.advance(9.999)
      assert.are.equal("TERM", kills(h))
      w.advance(0.001)
      assert.are.equal("TERM,KILL", kills(h))
      assert.are.equal(0, done)
      w.sup:dispatch(m, "exit", 137)
      assert.are.equal("stopped", m.state)
      assert.are.equal(1, done)
      assert.are.same({ "stopped" }, w.finals)
      assert.are.equal(0, w.armed())
    end)

    it("a process that exits on TERM is stopped and not escalated", function()
      local m = mission({ restart_policy = "always" })
      w.sup:launch(m)
      local h = w.handle()
      w.sup:dispatch(m, "stop")
      w.sup:dispatch(m, "exit", 143)
      assert.are.equal("stopped", m.state)
      w.advance(30)
      assert.are.equal("TERM", kills(h))
      assert.are.equal(1, #w.starts) -- stop is never restarted
    end)

    it("stop_timeout 0 kills at once", function()
      local m = mission({ stop_timeout = 0 })
      w.sup:launch(m)
      w.sup:dispatch(m, "stop")
      assert.are.equal("KILL", kills(w.handle()))
    end)

    it("a second stop joins the first", function()
      local m = mission()
      w.sup:launch(m)
      local a, b = 0, 0
      w.sup:dispatch(m, "stop", function() a = a + 1 end)
      w.sup:dispatch(m, "stop", function() b = b + 1 end)
      assert.are.equal("TERM", kills(w.handle()))
      w.sup:dispatch(m, "exit", 143)
      assert.are.equal(1, a)
      assert.are.equal(1, b)
    end)

    it("during a backoff cancels the restart: stopped", function()
      local m = mission({ restart_policy = "on_failure" })
      w.sup:launch(m)
      w.sup:dispatch(m, "exit", 1)
      assert.are.equal("restarting", m.state)
      local done = 0
      w.sup:dispatch(m, "stop", function() done = done + 1 end)
      assert.are.equal("stopped", m.state)
      assert.are.equal(1, done)
      assert.are.same({ "stopped" }, w.finals)
      assert.are.equal(0, w.armed())
      w.advance(120)
      assert.are.equal(1, #w.starts)
      assert.are.equal(0, m.restart_count)
      assert.are.equal("stopped", m.state)
    end)

    it("of a finished mission is not_running", function()
      local m = mission()
      w.sup:launch(m)
      w.sup:dispatch(m, "exit", 0)
      local ok, err = w.sup:dispatch(m, "stop")
      assert.is_nil(ok)
      assert.are.equal("not_running", err)
    end)
  end)

  describe("stall detection", function()
    it("kills a silent run with the exact marker; the run is a crash", function()
      local m = mission({ activity_timeout = 5 })
      w.sup:launch(m)
      local h = w.handle()
      w.advance(4.999)
      assert.are.equal("", kills(h))
      w.advance(0.001)
      assert.are.equal("KILL", kills(h))
      assert.are.same({ "--- killed: no activity for 5s ---" }, w.logs)
      w.sup:dispatch(m, "exit", 137)
      assert.are.equal("crashed", m.state)
      assert.are.equal(137, m.exit_code)
    end)

    it("output postpones the stall kill", function()
      local m = mission({ activity_timeout = 5 })
      w.sup:launch(m)
      local h = w.handle()
      w.advance(3)
      h.last_output = w.t -- the process wrote something at T0+3
      w.advance(4.5)      -- T0+7.5: quiet for 4.5 s
      assert.are.equal("", kills(h))
      w.advance(0.5)      -- T0+8: quiet for 5 s
      assert.are.equal("KILL", kills(h))
    end)

    it("a stalled run counts as a crash even if it exits 0", function()
      local m = mission({ activity_timeout = 2 })
      w.sup:launch(m)
      w.advance(2)
      w.sup:dispatch(m, "exit", 0)
      assert.are.equal("crashed", m.state)
    end)

    it("a stalled run is restarted under on_failure", function()
      local m = mission({ activity_timeout = 2, restart_policy = "on_failure" })
      w.sup:launch(m)
      w.advance(2)
      w.sup:dispatch(m, "exit", 137)
      assert.are.equal("restarting", m.state)
      w.advance(1)
      assert.are.equal("running", m.state)
      assert.are.equal(2, #w.starts)
      -- the new run is watched too
      w.advance(2)
      assert.are.equal("KILL", kills(w.handle()))
    end)

    it("writes whole seconds without a decimal point", function()
      local m = mission({ activity_timeout = 2.0 })
      w.sup:launch(m)
      w.advance(2)
      assert.are.same({ "--- killed: no activity for 2s ---" }, w.logs)
    end)

    it("does nothing without an activity timeout", function()
      local m = mission()
      w.sup:launch(m)
      w.advance(86400)
      assert.are.equal("", kills(w.handle()))
      assert.are.equal("running", m.state)
    end)
  end)

  describe("timeout", function()
    it("kills after the runtime limit with a marker; the run is a crash", function()
      local m = mission({ timeout = 30 })
      w.sup:launch(m)
      local h = w.handle()
      w.advance(29.999)
      assert.are.equal("", kills(h))
      w.advance(0.001)
      assert.are.equal("KILL", kills(h))
      assert.are.same({ "--- killed: timeout after 30s ---" }, w.logs)
      w.sup:dispatch(m, "exit", 0)
      assert.are.equal("crashed", m.state)
    end)

    it("is cancelled when the run ends first", function()
      local m = mission({ timeout = 30 })
      w.sup:launch(m)
      w.sup:dispatch(m, "exit", 0)
      w.advance(60)
      assert.are.same({}, w.logs)
      assert.are.equal("stopped", m.state)
    end)
  end)

  describe("kill", function()
    it("of a running mission: SIGKILL, removed, reported as killed", function()
      local m = mission({ restart_policy = "always" })
      w.sup:launch(m)
      local h = w.handle()
      assert.is_true(w.sup:dispatch(m, "kill"))
      assert.are.equal("KILL", kills(h))
      assert.is_true(h.closed)
      assert.are.equal("killed", m.state)
      assert.are.same({ "killed" }, w.finals)
      assert.are.same({ "abcd1234" }, w.removed)
      assert.are.same({ type = "exit", status = "killed", exit_code = 137 },
        w.emitted[#w.emitted])
      assert.are.equal(0, w.armed())
      w.advance(600)
      assert.are.equal(1, #w.starts)
    end)

    it("during a backoff cancels the restart", function()
      local m = mission({ restart_policy = "on_failure" })
      w.sup:launch(m)
      w.sup:dispatch(m, "exit", 1)
      w.sup:dispatch(m, "kill")
      assert.are.same({ "killed" }, w.finals)
      assert.are.same({ "abcd1234" }, w.removed)
      assert.are.equal(0, w.armed())
      w.advance(600)
      assert.are.equal(1, #w.starts)
    end)

    it("of a finished mission removes it without an exit event", function()
      local m = mission()
      w.sup:launch(m)
      w.sup:dispatch(m, "exit", 0)
      local emitted = #w.emitted
      w.sup:dispatch(m, "kill")
      assert.are.equal(emitted, #w.emitted)
      assert.are.same({ "stopped", "killed" }, w.finals)
      assert.are.same({ "abcd1234" }, w.removed)
    end)

    it("wakes those waiting on a stop", function()
      local m = mission()
      w.sup:launch(m)
      local done = 0
      w.sup:dispatch(m, "stop", function() done = done + 1 end)
      w.sup:dispatch(m, "kill")
      assert.are.equal(1, done)
      assert.are.equal(0, w.armed())
    end)
  end)

  describe("a daemon restart (lost)", function()
    local function lost(t)
      -- A record as a new daemon loads it: live, with the old run's pid.
      return mission(t and t or {})
    end

    it("reaps, logs the exact marker, exit_code nil, crashed under never", function()
      local m = lost({ state = "running", os_pid = 4242, os_start = 7,
                       run_started = T0 - 30, exit_code = 5 })
      w.sup:dispatch(m, "lost")
      assert.are.same({ "abcd1234" }, w.reaped)
      assert.are.same({ "--- daemon restarted; mission lost ---" }, w.logs)
      assert.are.equal("crashed", m.state)
      assert.is_nil(m.exit_code)
      assert.is_nil(m.os_pid)
      assert.are.same({ "crashed" }, w.finals)
      assert.are.equal(0, #w.starts)
    end)

    it("then lets the restart policy decide", function()
      local m = lost({ state = "running", os_pid = 4242, os_start = 7,
                       run_started = T0 - 30, restart_policy = "on_failure",
                       backoff_n = 0, restart_times = {} })
      w.sup:dispatch(m, "lost")
      assert.are.equal("restarting", m.state)
      assert.is_nil(m.exit_code)
      w.advance(1)
      assert.are.equal("running", m.state)
      assert.are.equal(1, #w.starts)
      assert.are.equal(1, m.restart_count)
      assert.are.equal("--- restart #1 at 2023-11-14T22:13:21Z ---", w.logs[2])
    end)

    it("a mission lost while restarting is recovered too", function()
      local m = lost({ state = "restarting", restart_policy = "on_failure",
                       backoff_n = 1, restart_times = { T0 - 5 } })
      w.sup:dispatch(m, "lost")
      assert.are.equal("--- daemon restarted; mission lost ---", w.logs[1])
      assert.are.equal("restarting", m.state)
      w.advance(2)
      assert.are.equal("running", m.state)
    end)

    it("a mission lost while stopping ends crashed, not restarted", function()
      local m = lost({ state = "stopping", os_pid = 4242,
                       restart_policy = "always" })
      w.sup:dispatch(m, "lost")
      assert.are.equal("crashed", m.state)
      assert.is_nil(m.exit_code)
      w.advance(600)
      assert.are.equal(0, #w.starts)
    end)

    it("is ignored for a finished mission", function()
      local m = lost({ state = "stopped", exit_code = 0 })
      local ok, err = w.sup:dispatch(m, "lost")
      assert.is_nil(ok)
      assert.are.equal("ignored", err)
      assert.are.same({}, w.logs)
      assert.are.same({}, w.reaped)
    end)
  end)

  describe("lifecycle events (SPEC §8)", function()
    it("a task: started with its pid, exited with its status", function()
      local m = mission()
      w.sup:launch(m)
      w.sup:dispatch(m, "exit", 0)
      assert.are.same({ "started os_pid=" .. w.handle().pid,
                        "exited exit_code=0 status=stopped" }, w.events)
    end)

    it("a crash that restarts: exited crashed, restarting n and delay, started", function()
      local m = mission({ restart_policy = "on_failure", backoff_ms = 250 })
      w.sup:launch(m)
      w.sup:dispatch(m, "exit", 3)
      assert.are.same({ "exited exit_code=3 status=crashed",
                        "restarting delay_ms=250 n=1" },
        { w.events[2], w.events[3] })
      w.advance(0.25)
      assert.are.equal("started os_pid=" .. w.handle().pid, w.events[4])
      w.sup:dispatch(m, "exit", 3)
      assert.are.equal("restarting delay_ms=500 n=2", w.events[6])
    end)

    it("always restarts a clean exit: exited stopped, then restarting", function()
      local m = mission({ restart_policy = "always" })
      w.sup:launch(m)
      w.sup:dispatch(m, "exit", 0)
      assert.are.same({ "exited exit_code=0 status=stopped",
                        "restarting delay_ms=1000 n=1" },
        { w.events[2], w.events[3] })
    end)

    it("a stop during the backoff: exited stopped, and nothing more", function()
      local m = mission({ restart_policy = "on_failure" })
      w.sup:launch(m)
      w.sup:dispatch(m, "exit", 1)
      w.sup:dispatch(m, "stop")
      assert.are.equal("exited exit_code=1 status=stopped", w.events[#w.events])
      w.advance(600)
      assert.are.equal(4, #w.events)
    end)

    it("a stall: stalled before the exit", function()
      local m = mission({ activity_timeout = 5 })
      w.sup:launch(m)
      w.advance(5)
      assert.are.equal("stalled", w.events[#w.events])
      w.sup:dispatch(m, "exit", 137)
      assert.are.equal("exited exit_code=137 status=crashed", w.events[#w.events])
    end)

    it("a kill of a live mission: exited killed 137; of a stopped one: nothing", function()
      local m = mission()
      w.sup:launch(m)
      w.sup:dispatch(m, "kill")
      assert.are.equal("exited exit_code=137 status=killed", w.events[#w.events])
      local m2 = mission({ id = "ffff0000" })
      w.sup:launch(m2)
      w.sup:dispatch(m2, "exit", 0)
      local n = #w.events
      w.sup:dispatch(m2, "kill")
      assert.are.equal(n, #w.events)
    end)

    it("a run that fails to start: exited crashed 127", function()
      w.start_error = "provider_error: boom"
      local m = mission()
      w.sup:launch(m)
      assert.are.same({ "exited exit_code=127 status=crashed" }, w.events)
    end)

    it("a lost mission: exited crashed with no exit code", function()
      local m = mission({ state = "running", os_pid = 4242 })
      w.sup:dispatch(m, "lost")
      assert.are.same({ "exited status=crashed" }, w.events)
    end)
  end)

  describe("status", function()
    it("shows stopping as running and other states as they are", function()
      assert.are.equal("running", supervisor.status({ state = "stopping" }))
      for _, s in ipairs({ "running", "restarting", "stopped", "crashed" }) do
        assert.are.equal(s, supervisor.status({ state = s }))
      end
    end)

    it("formats seconds as users wrote them", function()
      assert.are.equal("2", supervisor.secs(2))
      assert.are.equal("2", supervisor.secs(2.0))
      assert.are.equal("0.5", supervisor.secs(0.5))
    end)
  end)
end)
