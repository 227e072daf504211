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
--   deps.start(m)         starts a run; returns a handle
--                         { pid, kill(self, sig), close(self), idle(self) }
--                         or nil, err.  The handle's owner calls
--                         sup:dispatch(m, "exit", code, crash) when the run
--                         ends (`crash` forces a crash on exit 0).
--   deps.save(m)          persists the record
--   deps.log(m, line)     appends a marker line to the mission's log
--   deps.emit(m, event)   tells subscribers (restart, exit)
--   deps.final(m, how)    the mission reached a final state ("stopped",
--                         "crashed") or was removed ("killed")
--   deps.remove(m)        forgets the mission and its files
--   deps.reap(m)          kills what is left of a lost run's process group
local policy = require("overmind.daemon.policy")
local timefmt = require("overmind.timefmt")

local M = {}

local LIVE = { running = true, stopping = true, restarting = true }
M.LIVE = LIVE

-- The status users see.
function M.status(m)
  if m.state == "stopping" then return "running" end
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
    kill = "remove",
  },
  stopping = {
    exit = "exited_after_stop",
    stop = "join_stop",
    escalate = "escalate",
    kill = "remove",
  },
  restarting = {
    backoff_done = "respawn",
    stop = "cancel_restart",
    kill = "remove",
    lost = "recover",
  },
  stopped = { stop = "not_running", kill = "remove" },
  crashed = { stop = "not_running", kill = "remove" },
}
transitions.running.lost = "recover"
transitions.stopping.lost = "recover"
M.transitions = transitions

local Sup = {}
Sup.__index = Sup

function M.new(deps)
  return setmetatable({ deps = deps }, Sup)
end

function Sup:dispatch(m, event, ...)
  local row = transitions[m.state]
  local action = row and row[event]
  if not action then return nil, "ignored" end
  return self[action](self, m, ...)
end

-- ---- timers -------------------------------------------------------------

local function rt(m)
  m.rt = m.rt or {}
  m.rt.timers = m.rt.timers or {}
  return m.rt
end

-- Longest timer we arm: a --timeout of 1e308 means "never" in practice,
-- and libuv wants an integer of milliseconds.
M.MAX_TIMER_MS = 2 ^ 50

function Sup:arm(m, name, ms, fn)
  if ms ~= ms then ms = 0 end -- NaN
  if ms > M.MAX_TIMER_MS then ms = M.MAX_TIMER_MS end
  local timers = rt(m).timers
  local t = timers[name]
  if not t then
    t = self.deps.timer()
    timers[name] = t
  end
  t:stop()
  t:start(math.max(0, math.floor(ms)), 0, fn)
end

function Sup:cancel(m, name)
  local t = rt(m).timers[name]
  if t then
    t:close()
    rt(m).timers[name] = nil
  end
end

function Sup:cancel_all(m)
  for name in pairs(rt(m).timers) do self:cancel(m, name) end
end

-- ---- runs ---------------------------------------------------------------

-- Stall detection costs nothing per line: one timer that, when it fires,
-- asks the process how long it has been quiet and sleeps the rest.
function Sup:arm_stall(m)
  local limit = (m.activity_timeout or 0) * 1000
  if limit <= 0 then return end
  local function check()
    local h = m.rt and m.rt.handle
    if not h or m.state ~= "running" then return end
    -- A session paused by attach is quiet on purpose.
    if m.rt.paused then return self:arm(m, "stall", limit, check) end
    local idle = h:idle()
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
  rt(m).kill_reason = nil
  local h, err = deps.start(m)
  if not h then
    deps.log(m, "--- failed to start: " .. tostring(err) .. " ---")
    m.os_pid = nil
    return self:exited(m, 127, true)
  end
  m.rt.handle = h
  m.os_pid = h.pid
  m.os_start = h.start_time
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
  local r = rt(m)
  if r.handle then r.handle:close() end
  r.handle = nil
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
  local waiters = rt(m).stop_waiters
  m.rt.stop_waiters = nil
  self.deps.final(m, status)
  for _, fn in ipairs(waiters or {}) do fn(m) end
end

-- Applies the restart policy to a run that ended with `outcome`.
function Sup:decide(m, outcome)
  local d = policy.decide(m, m, outcome, self.deps.now())
  if d.restart then
    m.state = "restarting"
    self.deps.save(m)
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
  local outcome = (code == 0 and not crash and not m.rt.kill_reason)
    and "clean" or "crash"
  return self:decide(m, outcome)
end

function Sup:exited_after_stop(m, code)
  self:end_run(m, code)
  self:finish(m, "stopped")
  return true
end

function Sup:begin_stop(m, on_done)
  local r = rt(m)
  m.state = "stopping"
  r.stop_waiters = r.stop_waiters or {}
  if on_done then table.insert(r.stop_waiters, on_done) end
  self:cancel(m, "stall")
  self:cancel(m, "overtime")
  local grace = (m.stop_timeout or 10) * 1000
  if r.handle then
    if grace <= 0 then
      r.handle:kill("KILL")
    else
      r.handle:kill("TERM")
      self:arm(m, "escalate", grace, function()
        self:dispatch(m, "escalate")
      end)
    end
  end
  self.deps.save(m)
  return true
end

function Sup:join_stop(m, on_done)
  local r = rt(m)
  r.stop_waiters = r.stop_waiters or {}
  if on_done then table.insert(r.stop_waiters, on_done) end
  return true
end

function Sup:escalate(m)
  local h = m.rt and m.rt.handle
  if h then h:kill("KILL") end
  return true
end

function Sup:kill_stalled(m)
  self.deps.log(m, "--- killed: no activity for " ..
    secs(m.activity_timeout) .. "s ---")
  m.rt.kill_reason = "stall"
  m.rt.handle:kill("KILL")
  return true
end

function Sup:kill_overtime(m)
  self.deps.log(m, "--- killed: timeout after " .. secs(m.timeout) .. "s ---")
  m.rt.kill_reason = "timeout"
  m.rt.handle:kill("KILL")
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
  local r = rt(m)
  if r.handle then
    r.handle:kill("KILL")
    r.handle:close()
    r.handle = nil
  end
  self:cancel_all(m)
  local was = m.state
  m.state = "killed"
  if LIVE[was] then
    self.deps.emit(m, { type = "exit", status = "killed", exit_code = 137 })
  end
  local waiters = r.stop_waiters
  r.stop_waiters = nil
  self.deps.final(m, "killed")
  for _, fn in ipairs(waiters or {}) do fn(m) end
  self.deps.remove(m)
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
