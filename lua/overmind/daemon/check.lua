-- Argument checking for requests: a wrong type is a clear error, never a
-- Lua error deep in a handler.  The kinds are the mission options' own
-- (overmind.options), so a field means the same everywhere.
local options = require("overmind.options")

local M = {}

-- spec: field -> "kind" or "kind?" (optional).  Returns nil when args fit
-- (integers written as 1.0 are made integers in place), else
-- "invalid_argument: <field> must be <kind>".
function M.args(args, spec)
  for field, t in pairs(spec) do
    local optional = t:sub(-1) == "?"
    if optional then t = t:sub(1, -2) end
    local v = args[field]
    if v == nil then
      if not optional then
        return "invalid_argument: missing " .. field
      end
    else
      local cv = options.CONVERT[t](v)
      if cv == nil then
        return "invalid_argument: " .. field .. " must be " ..
          options.KIND_NAMES[t]
      end
      args[field] = cv
    end
  end
  return nil
end

M.is_strings = options.is_strings

return M
