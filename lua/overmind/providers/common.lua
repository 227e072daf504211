-- Helpers shared by the built-in agent providers.
local M = {}

-- The agent's executable: $<var> from the mission's environment (the CLI
-- that started it passes its own along), else the daemon's, else the
-- default name looked up on PATH.
function M.executable(m, var, default)
  local v = m.env and m.env[var]
  if v and v ~= "" then return v end
  v = os.getenv(var)
  if v and v ~= "" then return v end
  return default
end

return M
