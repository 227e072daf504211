-- Values as `eval` and the REPL print them: strings as they are, tables
-- as Lua table constructors with sorted keys (mission handles by name).
local json = require("overmind.json")

local M = {}

local function key_repr(k)
  if type(k) == "string" and k:match("^[%a_][%w_]*$") then return k end
  return "[" .. M.repr(k, 0, {}) .. "]"
end

function M.repr(v, depth, seen)
  local t = type(v)
  if t == "string" then return string.format("%q", v) end
  if t ~= "table" then
    if v == json.null then return "null" end
    return tostring(v)
  end
  local mt = getmetatable(v)
  if mt and mt.__tostring then return tostring(v) end
  if seen[v] then return "<cycle>" end
  if depth > 6 then return "{...}" end
  seen[v] = true
  local parts, n = {}, #v
  for i = 1, n do parts[#parts + 1] = M.repr(v[i], depth + 1, seen) end
  local keys = {}
  for k in pairs(v) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then
      keys[#keys + 1] = k
    end
  end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    parts[#parts + 1] = key_repr(k) .. " = " .. M.repr(v[k], depth + 1, seen)
  end
  seen[v] = nil
  if #parts == 0 then return "{}" end
  return "{ " .. table.concat(parts, ", ") .. " }"
end

-- A top-level result: strings print raw, so `eval` composes with shells.
function M.show(v)
  if type(v) == "string" then return v end
  return M.repr(v, 0, {})
end

return M
