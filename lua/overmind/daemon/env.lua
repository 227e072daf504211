-- The environment a mission's process gets (SPEC §2, §9): the client's
-- (the daemon's when the client sent none), minus
-- what would confuse a nested agent, plus the mission's identity and the
-- user's --env pairs.
local M = {}

-- Removed so a nested `claude` runs standalone, and so a mission never
-- inherits another mission's identity from the daemon's own environment.
local drop = {
  CLAUDECODE = true,
  CLAUDE_CODE_ENTRYPOINT = true,
  OVERMIND_MISSION_ID = true,
  OVERMIND_MISSION_NAME = true,
}

-- base: K -> V (the daemon's environment, for a mission whose client sent
-- none); returns an array "K=V".
function M.build(base, m, home)
  base = m.client_env or base
  local env = {}
  for k, v in pairs(base) do
    if not drop[k] then env[k] = v end
  end
  env.OVERMIND_MISSION_ID = m.id
  env.OVERMIND_MISSION_NAME = m.name
  env.OVERMIND_HOME = home
  for k, v in pairs(m.env or {}) do env[k] = v end
  local list = {}
  for k, v in pairs(env) do list[#list + 1] = k .. "=" .. v end
  table.sort(list)
  return list
end

return M
