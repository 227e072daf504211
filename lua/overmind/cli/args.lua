-- Command-line flags.  A command declares its flags:
--   { name = { kind = "string"|"number"|"integer"|"bool"|"list"|"size",
--              short = "f", key = "field" } }
-- `--flag value` and `--flag=value` both work; `--` ends the flags.  With
-- `stop_at_positional` (run), the first word that is not a flag ends the
-- flags and the rest is the command.
local timefmt = require("overmind.timefmt")

local M = {}

local function convert(kind, flag, v)
  if kind == "number" then
    local n = tonumber(v)
    if not n or n < 0 or n ~= n then
      return nil, "invalid value for --" .. flag .. ": " .. v
    end
    return n
  elseif kind == "integer" then
    local n = math.tointeger(tonumber(v))
    if not n or n < 0 then
      return nil, "invalid value for --" .. flag .. ": " .. v
    end
    return n
  elseif kind == "size" then
    local n = timefmt.parse_size(v)
    if not n or n <= 0 then
      return nil, "invalid value for --" .. flag .. ": " .. v
    end
    return n
  end
  return v
end

-- Returns opts (key -> value), positionals; or nil, error message.
function M.parse(argv, first, flags, stop_at_positional)
  local opts, pos = {}, {}
  local shorts = {}
  for name, f in pairs(flags) do
    if f.short then shorts[f.short] = name end
  end
  local i = first
  while i <= #argv do
    local a = argv[i]
    if a == "--" then
      for j = i + 1, #argv do pos[#pos + 1] = argv[j] end
      break
    end
    local name, inline
    if a:sub(1, 2) == "--" and #a > 2 then
      name, inline = a:match("^%-%-([^=]+)=(.*)$")
      if not name then name = a:sub(3) end
    elseif a:match("^%-%a$") then
      name = shorts[a:sub(2)]
      if not name then return nil, "unknown flag: " .. a end
    end
    if name then
      local f = flags[name]
      if not f then return nil, "unknown flag: --" .. name end
      local key = f.key or name:gsub("%-", "_")
      if f.kind == "bool" then
        if inline then return nil, "--" .. name .. " takes no value" end
        opts[key] = true
      else
        local v = inline
        if v == nil then
          i = i + 1
          v = argv[i]
          -- `--model -- cmd` forgot the value; "--" is never one (as pflag)
          if v == nil or v == "--" then
            return nil, "missing value for --" .. name
          end
        end
        if f.kind == "list" then
          opts[key] = opts[key] or {}
          table.insert(opts[key], v)
        else
          local cv, err = convert(f.kind, name, v)
          if cv == nil then return nil, err end
          opts[key] = cv
        end
      end
    else
      pos[#pos + 1] = a
      if stop_at_positional then
        for j = i + 1, #argv do pos[#pos + 1] = argv[j] end
        break
      end
    end
    i = i + 1
  end
  return opts, pos
end

return M
