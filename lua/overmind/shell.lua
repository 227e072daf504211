-- Shell quoting for command lines that providers build for `sh -c`.
local M = {}

function M.quote(s)
  s = tostring(s)
  if s ~= "" and s:match("^[%w%._/=:,@%+%-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- Joins words, quoting each.
function M.join(words)
  local out = {}
  for i, w in ipairs(words) do out[i] = M.quote(w) end
  return table.concat(out, " ")
end

return M
