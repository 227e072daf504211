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

function M.of(m, children, now)
  local status = supervisor.status(m)
  local uptime = null
  if status == "running" and m.started_at then
    uptime = math.max(0, math.floor(now - m.started_at))
  end
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
  }
end

return M
