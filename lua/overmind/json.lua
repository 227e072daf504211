-- JSON for the protocol, the events and the state files.
--
-- Encoding is the core's (src/json_encode.c): integers exact, floats in
-- the shortest form that reads back, "/" as it is.  `encode` repairs bytes
-- that are not UTF-8 (U+FFFD, as Go's encoding/json does for docker), so
-- what it writes is valid JSON for any parser; `encode_bytes` keeps
-- strings byte for byte, for what only Overmind reads back (state files,
-- requests, terminal bytes): commands and paths need not be UTF-8.
--
-- An empty Lua table is an object, `{}`; `json.array(t)` marks a table
-- that is an array (children, ps) so that it is `[]` even when empty.
-- `null` decodes to `json.null` (cjson.null, a NULL light userdata), not
-- nil, and encodes as null.
local core = require("overmind.core")

local json_encode = core.json_encode

local M = {}

M.null = require("cjson").null

-- The encoder reads the metatable's __json field.
local ARRAY = { __json = "array" }

-- Marks `t` (or a new table) as an array and returns it.
function M.array(t)
  t = t or {}
  local mt = getmetatable(t)
  if mt == nil then
    setmetatable(t, ARRAY)
  elseif mt ~= ARRAY then
    -- its metatable is someone else's: marking it would change theirs
    error("json.array: the table already has a metatable", 2)
  end
  return t
end

function M.encode(v)
  return json_encode(v, true)
end

function M.encode_bytes(v)
  return json_encode(v, false)
end

-- An event as one JSON line with its keys in a stable, readable order
-- (SPEC §6 writes {"type":"exit","status":..,"exit_code":..}): the keys
-- of `EVENT_ORDER` first, then the rest sorted.
local EVENT_ORDER = { "type", "text", "n", "status", "exit_code" }
local EVENT_RANK = {}
for i, k in ipairs(EVENT_ORDER) do EVENT_RANK[k] = i end

function M.encode_event(ev)
  local keys = {}
  for k in pairs(ev) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ra, rb = EVENT_RANK[a] or 99, EVENT_RANK[b] or 99
    if ra ~= rb then return ra < rb end
    return tostring(a) < tostring(b)
  end)
  local parts = {}
  for i, k in ipairs(keys) do
    parts[i] = json_encode(tostring(k), true) .. ":" .. json_encode(ev[k], true)
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- Returns the value, or nil and a message; never raises.  The decoder is
-- the core's (src/json.c): strict JSON, integers as Lua integers, null as
-- json.null -- the same decoder that reads agents' output.
M.decode = core.json_decode

return M
