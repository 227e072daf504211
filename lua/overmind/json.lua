-- JSON for the protocol and the state files: lua-cjson with three fixes.
--
-- Encoding is lua-cjson's, and lua-cjson copies bytes >= 0x80 as they
-- are: `encode` repairs what is not UTF-8 (core.utf8_fix: U+FFFD, as Go's
-- encoding/json does for docker), so what it writes is valid JSON for any
-- parser.  `encode_bytes` keeps strings byte for byte, for what only
-- Overmind reads back (state files, requests, terminal bytes): commands
-- and paths need not be UTF-8.
--
-- lua-cjson 2.1.0 (Debian's) encodes an empty table as `{}`, so a field
-- that is an array (children, ps) would turn into an object when empty;
-- `json.array(t)` marks such a value and `encode` writes it as `[]`.
-- `null` decodes to `json.null` (cjson.null), not nil.
local cjson = require("cjson").new()
local core = require("overmind.core")

local utf8_fix = core.utf8_fix

local M = {}

M.null = cjson.null

-- The marker is a string no caller can produce: Lua strings from the
-- outside world (commands, names, output) never reach encode as this exact
-- value, and cjson writes it as "\u0000[]", which we then replace.
local EMPTY = "\0[]"
local EMPTY_JSON = '"\\u0000[]"'

function M.array(t)
  if t == nil or next(t) == nil then return EMPTY end
  return t
end

-- cjson 2.1.0 also escapes every "/" as "\/": valid, but paths print
-- badly.  Undo it, reading escapes pairwise so "\\/" stays as it is.
local function unescape_slash(c)
  if c == "/" then return "/" end
  return "\\" .. c
end

function M.encode_bytes(v)
  local s = cjson.encode(v)
  if s:find(EMPTY_JSON, 1, true) then
    s = s:gsub('"\\u0000%[%]"', "[]")
  end
  if s:find("\\/", 1, true) then
    s = s:gsub("\\(.)", unescape_slash)
  end
  return s
end

function M.encode(v)
  return utf8_fix(M.encode_bytes(v))
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
    parts[i] = M.encode_bytes(tostring(k)) .. ":" .. M.encode_bytes(ev[k])
  end
  return utf8_fix("{" .. table.concat(parts, ",") .. "}")
end

-- Returns the value, or nil and a message; never raises.  The decoder is
-- the core's (src/json.c): strict JSON, integers as Lua integers, null as
-- json.null -- the same decoder that reads agents' output.
M.decode = core.json_decode

return M
