-- Helpers shared by the built-in agent providers.
local M = {}

-- The agent's executable (`exe` is the provider's { var, name }):
-- $<var> from the mission's environment (the CLI that started it passes
-- its own along), else the daemon's, else the name looked up on PATH.
function M.executable(m, exe)
  local v = m.env and m.env[exe.var]
  if v and v ~= "" then return v end
  v = os.getenv(exe.var)
  if v and v ~= "" then return v end
  return exe.name
end

return M
