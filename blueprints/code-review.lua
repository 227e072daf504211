-- A Lua blueprint: the same structure as TOML, built with code.  Here, one
-- reviewer per file of a change set, and a summary that waits for all.
--
--   overmind agents blueprints/code-review.lua
--   overmind apply blueprints/code-review.lua
local files = { "src/proc.c", "src/server.c", "lua/overmind/daemon/supervisor.lua" }

local agents = {}
local names = {}
for i, f in ipairs(files) do
  local name = "review-" .. i
  agents[name] = {
    command = "review " .. f .. " for resource leaks",
    provider = "claude",
    restart = "on-failure",
    max_restarts = 1,
  }
  names[#names + 1] = name
end
agents.summary = {
  command = "summarise the reviews into a checklist",
  provider = "claude",
  depends_on = names,
}

return { agents = agents }
