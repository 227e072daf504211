-- The public shape of a mission: what `info` and `ps --json` show (SPEC §3).
local json = require("overmind.json")
local timefmt = require("overmind.timefmt")
local supervisor = require("overmind.daemon.supervisor")

local M = {}

local null = json.null

local function opt(v)
  if v == nil then return null end
  return v
end

local function iso(t)
  if t == nil then return null end
  return timefmt.iso(t)
end

-- children_of: id -> array of child ids (computed once per listing).
function M.children_index(list)
  local idx = {}
  for _, m in ipairs(list) do
    if m.parent then
      idx[m.parent] = idx[m.parent] or {}
      table.insert(idx[m.parent], m.id)
    end
  end
  return idx
end

-- A result as `result`, `send --wait --json` and `info` show it (SPEC §6,
-- §9): cost and tokens of its own turn, the tools the agent was refused.
function M.result(r)
  return {
    text = opt(r.text),
    is_error = r.is_error == true,
    duration_ms = opt(r.duration_ms),
    cost_usd = opt(r.cost_usd),
    num_turns = r.num_turns,
    session_id = r.session_id,
    input_tokens = r.input_tokens,
    output_tokens = r.output_tokens,
    permission_denials = json.array(
      r.permission_denials and table.move(r.permission_denials, 1,
        #r.permission_denials, 1, {}) or {}),
  }
end

local function uptime_of(m, status, now)
  if status == "running" and m.started_at then
    return math.max(0, math.floor(now - m.started_at))
  end
  return null
end

-- What the `ps` table shows of a mission (SPEC §3), and nothing more: the
-- listing people read most often stays small to send and to decode.
function M.columns(m, children, now)
  local status = supervisor.status(m)
  return {
    id = m.id, name = m.name, type = m.type, status = status,
    restart_count = m.restart_count or 0, parent = opt(m.parent),
    children = json.array(children or {}),
    uptime = uptime_of(m, status, now),
    command = m.display or m.command or "",
  }
end

-- tree_cost: the cost of the mission and all its descendants.
function M.of(m, children, now, tree_cost)
  local status = supervisor.status(m)
  local uptime = uptime_of(m, status, now)
  return {
    id = m.id,
    name = m.name,
    type = m.type,
    provider = m.provider,
    status = status,
    command = m.display or m.command or "",
    cwd = opt(m.cwd),
    os_pid = opt(m.os_pid),
    exit_code = opt(m.exit_code),
    restart_policy = m.restart_policy,
    restart_count = m.restart_count or 0,
    max_restarts = m.max_restarts,
    max_seconds = m.max_seconds,
    backoff_ms = m.backoff_ms,
    activity_timeout = opt(m.activity_timeout),
    timeout = opt(m.timeout),
    stop_timeout = m.stop_timeout,
    parent = opt(m.parent),
    children = json.array(children or {}),
    session_id = opt(m.session_id),
    model = opt(m.model),
    pty = m.pty == true,
    log_max = m.log_max,
    created_at = iso(m.created_at),
    started_at = iso(m.started_at),
    ended_at = iso(m.ended_at),
    uptime = uptime,
    activity = opt(m.run and m.run:activity()),
    cost_usd = opt(m.cost_usd),
    tree_cost_usd = opt(tree_cost),
    input_tokens = opt(m.input_tokens),
    output_tokens = opt(m.output_tokens),
    budget_usd = opt(m.budget_usd),
    -- every tool the agent was refused in this mission (the last 100)
    permission_denials = json.array(m.permission_denials and
      table.move(m.permission_denials, 1, #m.permission_denials, 1, {}) or {}),
    permission_mode = opt(m.permission_mode),
  }
end

return M
