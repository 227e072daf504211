-- Restart policy (SPEC §4), as pure functions of a mission's settings, its
-- restart history and the time.  No clocks or timers here: the caller
-- passes `now` (seconds), so specs drive it with a fake clock.
local M = {}

M.MAX_BACKOFF_MS = 60000

local aliases = {
  never = "never",
  ["on-failure"] = "on_failure",
  on_failure = "on_failure",
  always = "always",
}

-- Canonical policy name (`never`, `on_failure`, `always`) or nil.
function M.normalize(name)
  return aliases[name]
end

-- Does `policy` restart after a run whose outcome is "clean" (exit 0),
-- "crash" (anything else that was not asked for) or "stopped" (ended by
-- stop or kill)?
function M.wants_restart(policy, outcome)
  if outcome == "stopped" then return false end
  if policy == "always" then return true end
  if policy == "on_failure" then return outcome == "crash" end
  return false
end

-- Backoff before the n-th consecutive restart: backoff_ms * 2^n, capped.
function M.backoff(backoff_ms, n)
  local d = backoff_ms * (2 ^ n)
  if d > M.MAX_BACKOFF_MS then d = M.MAX_BACKOFF_MS end
  return math.floor(d)
end

-- Decides what follows a run that ended with `outcome` at time `now`.
--   cfg:  { restart_policy, max_restarts, max_seconds, backoff_ms }
--   hist: { backoff_n = n, restart_times = { t... }, run_started = t }
--         (updated in place when a restart is granted)
-- Returns { restart = true, delay_ms = d } or
--         { final = "stopped" | "crashed", exhausted = bool }.
function M.decide(cfg, hist, outcome, now)
  local final = outcome == "crash" and "crashed" or "stopped"
  if not M.wants_restart(cfg.restart_policy, outcome) then
    return { final = final }
  end
  local window = cfg.max_seconds or 60
  -- A healthy run forgives past crashes: the backoff starts over.
  if hist.run_started and now - hist.run_started >= window then
    hist.backoff_n = 0
  end
  -- The budget: at most max_restarts restarts in any window of
  -- max_seconds; 0 means unlimited.
  local recent = {}
  for _, t in ipairs(hist.restart_times or {}) do
    if now - t < window then recent[#recent + 1] = t end
  end
  hist.restart_times = recent
  local max = cfg.max_restarts or 5
  if max > 0 and #recent >= max then
    return { final = final, exhausted = true }
  end
  local n = hist.backoff_n or 0
  local delay = M.backoff(cfg.backoff_ms or 1000, n)
  hist.backoff_n = n + 1
  recent[#recent + 1] = now + delay / 1000
  return { restart = true, delay_ms = delay }
end

return M
