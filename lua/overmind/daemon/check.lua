-- Argument checking for requests: a wrong type is a clear error, never a
-- Lua error deep in a handler.
local M = {}

local function is_array(v)
  if type(v) ~= "table" then return false end
  local n = 0
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
  end
  return n == #v
end

local checks = {
  string = function(v) return type(v) == "string" end,
  number = function(v)
    return type(v) == "number" and v == v and v >= 0 and v ~= math.huge
  end,
  integer = function(v)
    return type(v) == "number" and v == math.floor(v) and v >= 0 and v < 2^53
  end,
  boolean = function(v) return type(v) == "boolean" end,
  table = function(v) return type(v) == "table" end,
  strings = function(v)
    if not is_array(v) then return false end
    for _, s in ipairs(v) do if type(s) ~= "string" then return false end end
    return true
  end,
  map = function(v)
    if type(v) ~= "table" then return false end
    for k, s in pairs(v) do
      if type(k) ~= "string" or type(s) ~= "string" then return false end
    end
    return true
  end,
}

local names = {
  string = "a string", number = "a non-negative number",
  integer = "a non-negative integer", boolean = "a boolean",
  table = "an object", strings = "an array of strings",
  map = "an object of strings",
}

-- spec: field -> "type" or "type?" (optional).  Returns nil when args fit,
-- else "invalid_argument: <field> must be <type>".
function M.args(args, spec)
  for field, t in pairs(spec) do
    local optional = t:sub(-1) == "?"
    if optional then t = t:sub(1, -2) end
    local v = args[field]
    if v == nil then
      if not optional then
        return "invalid_argument: missing " .. field
      end
    elseif not checks[t](v) then
      return "invalid_argument: " .. field .. " must be " .. names[t]
    end
  end
  -- Integers arrive from JSON as floats when written as 1.0; normalize.
  for field, t in pairs(spec) do
    if t:match("^integer") and type(args[field]) == "number" then
      args[field] = math.tointeger(args[field]) or args[field]
    end
  end
  return nil
end

return M
