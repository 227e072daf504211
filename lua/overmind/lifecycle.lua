-- Mission lifecycle events (SPEC §8), as the daemon records them and
-- `overmind events` prints them.  Declared once here for both sides: each
-- kind and the details it carries, in the order they are written.
local json = require("overmind.json")
local timefmt = require("overmind.timefmt")

local M = {}

M.KINDS = {
  created = {},
  started = { "os_pid" },
  exited = { "status", "exit_code" },
  restarting = { "n", "delay_ms" },
  stalled = {},
  result = { "is_error", "cost_usd" },
  removed = {},
  waiting = {},
  budget_exceeded = { "budget_usd", "cost_usd" },
}

-- The events a daemon keeps for `events --since`, across its restarts.
M.HISTORY = 10000

-- Keys every record has, before its details.
local HEAD = { "time", "id", "name", "event" }
local IS_HEAD = { time = true, id = true, name = true, event = true,
                  parent = true }

-- The details of `rec` in their declared order, then any others sorted.
local function detail_keys(rec)
  local keys = {}
  local seen = {}
  for _, k in ipairs(M.KINDS[rec.event] or {}) do
    keys[#keys + 1] = k
    seen[k] = true
  end
  local rest = {}
  for k in pairs(rec) do
    if not IS_HEAD[k] and not seen[k] and type(k) == "string" then
      rest[#rest + 1] = k
    end
  end
  table.sort(rest)
  for _, k in ipairs(rest) do keys[#keys + 1] = k end
  return keys
end

local function value(v)
  if v == nil then return json.null end
  return v
end

-- One record as a JSON line (no newline): time, id, name, event, the
-- details, then parent -- always in this order.
function M.encode(rec)
  local parts = {}
  for _, k in ipairs(HEAD) do
    parts[#parts + 1] = '"' .. k .. '":' .. json.encode(value(rec[k]))
  end
  for _, k in ipairs(detail_keys(rec)) do
    parts[#parts + 1] = json.encode(k) .. ":" .. json.encode(value(rec[k]))
  end
  parts[#parts + 1] = '"parent":' .. json.encode(value(rec.parent))
  return "{" .. table.concat(parts, ",") .. "}"
end

local function text(v)
  if v == nil or v == json.null then return "null" end
  return tostring(v)
end

-- One record as `events` prints it (exact):
--   <time> <id> <name> <event>[ <detail>]
-- where <detail> is `key=value` for each detail, separated by spaces.
function M.format(rec)
  local out = { text(rec.time), text(rec.id), text(rec.name), text(rec.event) }
  for _, k in ipairs(detail_keys(rec)) do
    out[#out + 1] = k .. "=" .. text(rec[k])
  end
  return table.concat(out, " ")
end

-- A record's time (RFC 3339, to the second) back to epoch seconds.
function M.time_of(rec)
  return timefmt.parse_iso(rec.time)
end

return M
