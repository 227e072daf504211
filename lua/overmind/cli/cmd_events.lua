-- `events [--json] [--since <RFC3339|Ns|Nm>] [--filter K=V]...` (SPEC §8):
-- the daemon's lifecycle events, one line each, until Ctrl-C.
local core = require("overmind.core")
local client = require("overmind.cli.client")
local json = require("overmind.json")
local lifecycle = require("overmind.lifecycle")
local out = require("overmind.cli.out")
local timefmt = require("overmind.timefmt")

local M = {}

local FLAGS = {
  json = { kind = "bool" },
  since = { kind = "string" },
  filter = { kind = "list" },
}

-- `--filter K=V`, repeatable -> { K = { V, ... } }, or nil and the reason.
local function filters(list)
  local f = {}
  for _, kv in ipairs(list or {}) do
    local k, v = kv:match("^([^=]+)=(.+)$")
    if not k then return nil, "invalid_filter: " .. kv .. " (want KEY=VALUE)" end
    f[k] = f[k] or {}
    table.insert(f[k], v)
  end
  return f
end

function M.events(argv)
  local opts, pos = out.parse(argv, 2, FLAGS)
  if not opts then return pos end
  if #pos > 0 then
    return out.fail("usage: overmind events [--json] [--since T] [--filter K=V]...")
  end
  local since
  if opts.since then
    since = timefmt.parse_since(opts.since, core.time())
    if not since then return out.fail("invalid value for --since: " .. opts.since) end
  end
  local f, ferr = filters(opts.filter)
  if not f then return out.fail(ferr) end
  local c, err = client.connect()
  if not c then return out.fail(err) end
  local res, rerr = client.request(c, "events", { since = since, filters = f })
  if not res then
    c:close()
    return out.fail(rerr)
  end
  -- Each event as it comes: a reader at the other end of a pipe sees it
  -- at once, not when a buffer fills.
  while true do
    local line = c:recv(-1)
    if not line then break end
    local text = line
    if not opts.json then
      local rec = json.decode(line)
      text = type(rec) == "table" and lifecycle.format(rec) or line
    end
    if not io.stdout:write(text, "\n") or not io.stdout:flush() then break end
  end
  c:close()
  return 0
end

return M
