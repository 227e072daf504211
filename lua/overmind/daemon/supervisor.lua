-- The mission state machine (SPEC §2, §4), after s6-supervise: a table of
-- (state, event) -> action, and one small function per action.
--
-- States: running, stopping (a stop is under way; shown as `running`),
-- restarting (waiting out a backoff), stopped, crashed.  Events come from
-- the process (exit), from users (stop, kill), from timers (stall,
-- overtime, escalate, backoff_done) and from a daemon restart (lost).
--
-- Everything with side effects arrives through `deps`, so specs run the
-- machine with a fake clock, fake timers and fake processes:
--   deps.now()            wall-clock seconds
--   deps.timer()          an object with start(ms, 0, fn), stop(), close()
--   deps.start(m)         starts an attempt (daemon/run.lua); returns it
--                         { pid, start_time, kill(self, sig), close(self),
--                         idle(self) } or nil, err.  Its owner calls
--                         sup:dispatch(m, "exit", code, crash) when it
--                         ends (`crash` forces a crash on exit 0).
--   deps.save(m)          persists the record
--   deps.log(m, line)     appends a marker line to the mission's log
--   deps.emit(m, event)   tells the mission's subscribers (restart, exit)
--   deps.event(m, kind, detail)
--                         publishes a lifecycle event (SPEC §8: started,
--                         exited, restarting, stalled) on the event bus
--   deps.final(m, how)    the mission reached a final state ("stopped",
--                         "crashed") or was removed ("killed")
--   deps.remove(m)        forgets the mission and its files
--   deps.reap(m)          kills what is left of a lost run's process group
--
-- What the machine keeps of a mission while it runs (its attempt, timers,
-- why it killed it, who waits for a stop) is its own, in self.states: no
-- other module reads or writes it.
local policy = require("overmind.daemon.policy")
local timefmt = require("overmind.timefmt")
local waiters = require("overmind.daemon.waiters")

local M = {}

local LIVE = { running = true, stopping = true, restarting = true,
               attached = true }
M.LIVE = LIVE

-- The status users see: a mission being stopped, or whose session is
-- attached to a terminal, is still running.
function M.status(m)
  if m.state == "stopping" or m.state == "attached" then return "running" end
  return m.state
end

-- 2 -> "2", 2.0 -> "2", 0.5 -> "0.5": seconds as users wrote them.
local function secs(n)
  if math.type(n) == "float" and n == math.floor(n) then
    return string.format("%d", n)
  end
  return tostring(n)
end
M.secs = secs

local transitions = {
  running = {
    exit = "exited",
    stop = "begin_stop",
    stall = "kill_stalled",
    overtime = "kill_overtime",
    over_budget = "kill_over_budget",
    escalate = "escalate",
    attach = "begin_attach",
    kill = "remove",
  },
  stopping = {
    exit = "exited_after_stop",
    stop = "join_stop",
    escalate = "escalate",
    kill = "remove",
  },
  -- `attach` to a session whose provider resumes it: its headless process
  -- is stopped while a terminal has the conversation, and a new one
  -- resumes it on `detach` (SPEC §9), so the conversation never forks.
  attached = {
    exit = "attached_exit",
    escalate = "escalate",
    detach = "end_attach",
    attach = "already_attached",
    stop = "stop_attached",
    kill = "remove",
    lost = "recover",
  },
  restarting = {
    backoff_done = "respawn",
    stop = "cancel_restart",
    over_budget = "end_over_budget",
    kill = "remove",
    lost = "recover",
  },
  stopped = { stop = "not_running", kill = "remove" },
  crashed = { stop = "not_running", kill = "remove" },
}
transitions.running.lost = "recover"
-- A daemon that died while a session was attached: the terminal's claude
-- is the user's; the session is recovered as any lost one.
transitions.stopping.lost = "recover"
M.transitions = transitions

local Sup = {}
Sup.__index = Sup

function M.new(deps)
  -- A mission's state goes with the mission: weak keys.
  return setmetatable({ deps = deps,
                        states = setmetatable({}, { __mode = "k" }) }, Sup)
end

-- The supervisor's own state of `m`: { run, timers, kill_reason, stops }.
function Sup:state(m)
  local st = self.states[m]
  if not st then
    st = { timers = {}, stops = waiters.new() }
    self.states[m] = st
  end
  return st
end

function Sup:event(m, kind, detail)
  if self.deps.event then self.deps.event(m, kind, detail) end
end

function Sup:dispatch(m, event, ...)
  local row = transitions[m.state]
  local action = row and row[event]
  if not action then return nil, "ignored" end
  return self[action](self, m, ...)
end

-- ---- timers -------------------------------------------------------------

-- Longest timer we arm: a --timeout of 1e308 means "never" in practice,
-- and libuv wants an integer of milliseconds.
M.MAX_TIMER_MS = 2 ^ 50

function Sup:arm(m, name, ms, fn)
  if ms ~= ms then ms = 0 end -- NaN
  if ms > M.MAX_TIMER_MS then ms = M.MAX_TIMER_MS end
  local timers = self:state(m).timers
  local t = timers[name]
  if not t then
    t = self.deps.timer()
    timers[name] = t
  end
  t:stop()
  t:start(math.max(0, math.floor(ms)), 0, fn)
end

function Sup:cancel(m, name)
  local timers = self:state(m).timers
  local t = timers[name]
  if t then
    t:close()
    timers[name] = nil
  end
end

function Sup:cancel_all(m)
  for name in pairs(self:state(m).timers) do self:cancel(m, name) end
end

-- ---- runs ---------------------------------------------------------------

-- Stall detection costs nothing per line: one timer that, when it fires,
-- asks the process how long it has been quiet and sleeps the rest.
function Sup:arm_stall(m)
  local limit = (m.activity_timeout or 0) * 1000
  if limit <= 0 then return end
  local function check()
    local run = self:state(m).run
    if not run or m.state ~= "running" then return end
    local idle = run:idle()
    if idle >= limit then
      self:dispatch(m, "stall")
    else
      self:arm(m, "stall", limit - idle, check)
    end
  end
  self:arm(m, "stall", limit, check)
end

function Sup:start_run(m)
  local deps = self.deps
  local now = deps.now()
  m.state = "running"
  m.started_at = now
  m.run_started = now
  m.ended_at = nil
  m.exit_code = nil
  local st = self:state(m)
  st.kill_reason = nil
  local run, err = deps.start(m)
  if not run then
    deps.log(m, "--- failed to start: " .. tostring(err) .. " ---")
    m.os_pid = nil
    return self:exited(m, 127, true)
  end
  st.run = run
  m.os_pid = run.pid
  m.os_start = run.start_time
  self:event(m, "started", { os_pid = run.pid })
  self:arm_stall(m)
  if m.timeout and m.timeout > 0 then
    self:arm(m, "overtime", m.timeout * 1000, function()
      self:dispatch(m, "overtime")
    end)
  end
  deps.save(m)
  return true
end

-- Clears what belonged to the run that just ended.
function Sup:end_run(m, code)
  local st = self:state(m)
  if st.run then st.run:close() end
  st.run = nil
  self:cancel(m, "stall")
  self:cancel(m, "overtime")
  self:cancel(m, "escalate")
  m.os_pid = nil
  m.os_start = nil
  m.exit_code = code
  m.ended_at = self.deps.now()
end

function Sup:finish(m, status)
  m.state = status
  self.deps.save(m)
  self.deps.emit(m, { type = "exit", status = status, exit_code = m.exit_code })
  self:event(m, "exited", { status = status, exit_code = m.exit_code })
  self.deps.final(m, status)
  self:state(m).stops:fire(m)
end

-- Applies the restart policy to a run that ended with `outcome`; a
-- mission over its budget is never brought back (SPEC §9).
function Sup:decide(m, outcome)
  if m.budget_exceeded then
    self:finish(m, "crashed")
    return true
  end
  local d = policy.decide(m, m, outcome, self.deps.now())
  if d.restart then
    m.state = "restarting"
    self.deps.save(m)
    self:event(m, "exited", { status = outcome == "crash" and "crashed"
                              or "stopped", exit_code = m.exit_code })
    self:event(m, "restarting", { n = (m.restart_count or 0) + 1,
                                  delay_ms = d.delay_ms })
    self:arm(m, "backoff", d.delay_ms, function()
      self:dispatch(m, "backoff_done")
    end)
    return true
  end
  self:finish(m, d.final)
  return true
end

-- ---- actions ------------------------------------------------------------

function Sup:exited(m, code, crash)
  self:end_run(m, code)
  local outcome = (code == 0 and not crash and not self:state(m).kill_reason)
    and "clean" or "crash"
  return self:decide(m, outcome)
end

function Sup:exited_after_stop(m, code)
  self:end_run(m, code)
  self:finish(m, "stopped")
  return true
end

-- Ends the run as `stop` does: its timers off, SIGTERM to its group and
-- SIGKILL after the stop timeout (at once for a timeout of 0).
function Sup:terminate(m)
  local st = self:state(m)
  self:cancel(m, "stall")
  self:cancel(m, "overtime")
  if not st.run then return end
  local grace = (m.stop_timeout or 10) * 1000
  if grace <= 0 then
    st.run:kill("KILL")
  else
    st.run:kill("TERM")
    self:arm(m, "escalate", grace, function() self:dispatch(m, "escalate") end)
  end
end

function Sup:begin_stop(m, on_done)
  local st = self:state(m)
  m.state = "stopping"
  if on_done then st.stops:add(on_done) end
  self:terminate(m)
  self.deps.save(m)
  return true
end

function Sup:join_stop(m, on_done)
  if on_done then self:state(m).stops:add(on_done) end
  return true
end

function Sup:escalate(m)
  local run = self:state(m).run
  if run then run:kill("KILL") end
  return true
end

function Sup:kill_stalled(m)
  local st = self:state(m)
  self.deps.log(m, "--- killed: no activity for " ..
    secs(m.activity_timeout) .. "s ---")
  self:event(m, "stalled")
  st.kill_reason = "stall"
  st.run:kill("KILL")
  return true
end

function Sup:kill_overtime(m)
  local st = self:state(m)
  self.deps.log(m, "--- killed: timeout after " .. secs(m.timeout) .. "s ---")
  st.kill_reason = "timeout"
  st.run:kill("KILL")
  return true
end

-- Money as the budget marker writes it: 2, 0.5, 0.0036.
local function usd(v)
  local s = string.format("%.4f", v):gsub("0+$", ""):gsub("%.$", "")
  return s
end
M.usd = usd

-- Its tree cost `spent`, past its --budget-usd: the mission is stopped as
-- a stall is (TERM, then KILL after its stop timeout) and ends crashed.
function Sup:over_budget(m, spent)
  m.budget_exceeded = true
  self.deps.log(m, ("--- killed: budget $%s exceeded ($%s) ---")
    :format(usd(m.budget_usd), usd(spent)))
  self:event(m, "budget_exceeded", { budget_usd = m.budget_usd,
                                     cost_usd = spent })
end

function Sup:kill_over_budget(m, spent)
  local st = self:state(m)
  self:over_budget(m, spent)
  st.kill_reason = "budget"
  self:terminate(m)
  self.deps.save(m)
  return true
end

function Sup:end_over_budget(m, spent)
  self:cancel(m, "backoff")
  self:over_budget(m, spent)
  self:finish(m, "crashed")
  return true
end

function Sup:respawn(m)
  self:cancel(m, "backoff")
  m.restart_count = (m.restart_count or 0) + 1
  self.deps.log(m, string.format("--- restart #%d at %s ---",
    m.restart_count, timefmt.iso(self.deps.now())))
  self.deps.emit(m, { type = "restart", n = m.restart_count })
  return self:start_run(m)
end

function Sup:cancel_restart(m, on_done)
  self:cancel(m, "backoff")
  self:finish(m, "stopped")
  if on_done then on_done(m) end
  return true
end

function Sup:not_running()
  return nil, "not_running"
end

function Sup:remove(m)
  local st = self:state(m)
  if st.run then
    st.run:kill("KILL")
    st.run:close()
    st.run = nil
  end
  self:cancel_all(m)
  local was = m.state
  m.state = "killed"
  if LIVE[was] then
    self.deps.emit(m, { type = "exit", status = "killed", exit_code = 137 })
    self:event(m, "exited", { status = "killed", exit_code = 137 })
  end
  self.deps.final(m, "killed")
  st.stops:fire(m)
  self.deps.remove(m)
  self.states[m] = nil
  return true
end

-- A mission that was live when the previous daemon died (SPEC §1): what is
-- left of its process group is killed, the log says so, and it counts as a
-- crash with no exit code; the restart policy decides what follows.
function Sup:recover(m)
  self.deps.reap(m)
  self.deps.log(m, "--- daemon restarted; mission lost ---")
  local stop_asked = m.state == "stopping"
  m.state = "running"
  self:end_run(m, nil)
  if stop_asked then
    self:finish(m, "crashed")
    return true
  end
  return self:decide(m, "crash")
end

-- ---- attach ---------------------------------------------------------------

-- Stops the headless process (TERM, KILL after the stop timeout);
-- `on_stopped(m)` once it is gone, when the terminal may take over.
function Sup:begin_attach(m, on_stopped)
  local st = self:state(m)
  m.state = "attached"
  st.on_stopped = on_stopped
  self.deps.log(m, "--- attached ---")
  self:terminate(m)
  self.deps.save(m)
  return true
end

function Sup:attached_exit(m, code)
  local st = self:state(m)
  self:end_run(m, code)
  m.exit_code = nil -- stopped on purpose: not an outcome
  local fn = st.on_stopped
  st.on_stopped = nil
  if fn then fn(m) end
  if st.resume then -- detached before the process was gone
    st.resume = nil
    m.state = "running"
    return self:start_run(m)
  end
  return true
end

-- The terminal is done: a new headless process resumes the conversation.
function Sup:end_attach(m)
  local st = self:state(m)
  self.deps.log(m, "--- detached ---")
  if st.run then
    st.resume = true
    return true
  end
  m.state = "running"
  return self:start_run(m)
end

function Sup:already_attached()
  return nil, "paused"
end

function Sup:stop_attached(m, on_done)
  local st = self:state(m)
  if st.run then
    -- its process is still going away: this is a stop like any other
    st.on_stopped = nil
    return self:begin_stop(m, on_done)
  end
  self:finish(m, "stopped")
  if on_done then on_done(m) end
  return true
end

-- ---- entry points used by the daemon -------------------------------------

function Sup:launch(m)
  m.restart_count = m.restart_count or 0
  m.backoff_n = 0
  m.restart_times = {}
  return self:start_run(m)
end

function M.is_live(m)
  return LIVE[m.state] == true
end

return M
