-- Provider loader (SPEC §6).  Built-in providers live in
-- overmind.providers.<name>; a user adds one as
-- $OVERMIND_HOME/providers/<name>.lua, which wins over a built-in of the
-- same name.  Loading never raises: failures come back as
-- nil, "provider_error: <message>" and stay that mission's problem.
local M = {}

local builtin = { raw = true, claude = true, codex = true, gemini = true }

local cache = {} -- name -> { provider, mtime }

local function default_parse(line) return { type = "plain", text = line } end
local function default_format(ev)
  return type(ev.text) == "string" and ev.text or nil
end
local function default_encode(text) return text .. "\n" end

local function complete(p, name)
  if type(p) ~= "table" then
    return nil, "provider_error: provider '" .. name .. "' did not return a table"
  end
  if type(p.build_command) ~= "function" then
    return nil, "provider_error: provider '" .. name ..
      "' has no build_command function"
  end
  if p.fields ~= nil and type(p.fields) ~= "table" then
    return nil, "provider_error: provider '" .. name .. "': fields must be a table"
  end
  for _, f in ipairs({ "parse", "format", "encode_message" }) do
    if p[f] ~= nil and type(p[f]) ~= "function" then
      return nil, "provider_error: provider '" .. name .. "': " .. f ..
        " must be a function"
    end
  end
  local out = setmetatable({}, { __index = p })
  out.name = name
  out.custom_parse = p.parse ~= nil
  out.parse = p.parse or default_parse
  out.format = p.format or default_format
  out.encode_message = p.encode_message or default_encode
  return out
end

local function load_user(path, name)
  local chunk, err = loadfile(path)
  if not chunk then return nil, "provider_error: " .. err end
  local ok, p = pcall(chunk)
  if not ok then return nil, "provider_error: " .. tostring(p) end
  return complete(p, name)
end

-- Returns the provider table, or nil and "provider_error: ...".
function M.get(name, home)
  name = name or "raw"
  if type(name) ~= "string" or not name:match("^[%w_%-]+$") then
    return nil, "provider_error: invalid provider name"
  end
  local core = require("overmind.core")
  local path = require("overmind.paths").home() .. "/providers/" .. name .. ".lua"
  if home then path = home .. "/providers/" .. name .. ".lua" end
  local st = core.stat(path)
  if st then
    -- An edited file is reloaded: same path, same stamp, same size, or not.
    local stamp = st.mtime .. "." .. (st.mtime_ns or 0) .. ":" .. st.size ..
      ":" .. st.ino
    local c = cache[name]
    if c and c.stamp == stamp and c.path == path then return c.provider end
    local p, err = load_user(path, name)
    if not p then return nil, err end
    cache[name] = { provider = p, stamp = stamp, path = path }
    return p
  end
  if not builtin[name] then
    return nil, "provider_error: unknown provider '" .. name .. "'"
  end
  local c = cache[name]
  if c and c.path == nil then return c.provider end
  local ok, p = pcall(require, "overmind.providers." .. name)
  if not ok then return nil, "provider_error: " .. tostring(p) end
  local out, err = complete(p, name)
  if not out then return nil, err end
  out.builtin = true -- ours: parse() never needs a decoded line's text
  cache[name] = { provider = out }
  return out
end

-- Calls provider function `fn` protected; errors become provider_error.
function M.call(p, fn, ...)
  local ok, a, b = pcall(p[fn], ...)
  if not ok then return nil, "provider_error: " .. tostring(a) end
  return a, b
end

return M
