-- Every option a mission takes, declared once (SPEC §8), as kubectl derives
-- its flags and docs from one API schema.  From this table come:
--   - the `run` flags (cli/cmd_run.lua, through M.flags) and `run --help`
--     (M.help);
--   - the blueprint fields (blueprint/init.lua) and `om.run{}` fields, both
--     normalized by M.normalize;
--   - the daemon's validation and defaults (daemon/cmd_missions.lua, through
--     M.check and M.default).
--
-- An option: `key`, the field of the request and the record; `flag`, its
-- long name on the command line (default: key with `-` for `_`); `also`,
-- other names accepted in blueprints, `om.run{}` and requests; `kind`;
-- `default`; `arg` and `help`, the line of `run --help` (`%s` there is the
-- default); `internal` for fields only Overmind's own clients send.
local timefmt = require("overmind.timefmt")

local M = {}

M.LIST = {
  { key = "command", kind = "string", flag = false },
  { key = "name", kind = "string", arg = "N",
    help = "a name (else generated, e.g. swift-reef)" },
  { key = "cwd", kind = "string", arg = "DIR",
    help = "working directory (default: the current one)" },
  { key = "type", kind = "string", default = "task", arg = "task|session",
    help = "task: stdin is /dev/null; session: stdin is a\n" ..
      "pipe fed by `send`" },
  { key = "provider", kind = "string", default = "raw",
    arg = "raw|claude|codex|gemini|<name>" },
  { key = "model", kind = "string", arg = "M",
    help = "model for agent providers" },
  { key = "parent", kind = "string", arg = "ID",
    help = "make the mission a child of ID" },
  { key = "restart", kind = "string", default = "never",
    arg = "never|on-failure|always" },
  { key = "max_restarts", kind = "integer", default = 5, arg = "N",
    help = "restarts allowed per window (0: unlimited; %s)" },
  { key = "max_seconds", kind = "number", default = 60, arg = "S",
    help = "the window, and a healthy run's length (%s)" },
  { key = "backoff_ms", flag = "backoff", also = { "backoff" },
    kind = "integer", default = 1000, arg = "MS",
    help = "first restart delay, doubled each time (%s)" },
  { key = "activity_timeout", kind = "number", arg = "S",
    help = "kill after S seconds without output" },
  { key = "timeout", kind = "number", arg = "S",
    help = "kill after S seconds of runtime" },
  { key = "stop_timeout", kind = "number", default = 10, arg = "S",
    help = "grace between SIGTERM and SIGKILL (%s)" },
  { key = "env", kind = "map", arg = "K=V",
    help = "extra environment (repeatable)" },
  { key = "pty", kind = "boolean", help = "run in a pseudo-terminal" },
  { key = "log_max", kind = "size", default = 64 << 20, arg = "SIZE",
    help = "rotate the log past SIZE, e.g. 64M (%s)" },
  { key = "budget_usd", kind = "positive", arg = "X",
    help = "stop the mission's tree once it has cost\nmore than $X" },
  -- Agent flags (SPEC §9): each agent provider maps them to its CLI; a
  -- provider that is not an agent refuses them (`not_an_agent`).
  { key = "permission_mode", kind = "enum", agent = true,
    values = "PERMISSION_MODES", invalid = "invalid_permission_mode",
    default = "default", arg = "MODE",
    help = "default|accept-edits|plan|bypass: what the\nagent may do without asking (%s)" },
  { key = "allowed_tools", kind = "list", split = ",", agent = true,
    arg = "A,B", help = "tools the agent may use without asking\n(repeatable; the lists join)" },
  { key = "disallowed_tools", kind = "list", split = ",", agent = true,
    arg = "A,B", help = "tools the agent may not use (repeatable)" },
  { key = "max_turns", kind = "integer", agent = true, arg = "N",
    help = "stop the agent after N turns (where its CLI can)" },
  { key = "append_system_prompt", kind = "string", agent = true,
    arg = "TEXT", help = "text added to the agent's system prompt" },
  { key = "agent_arg", kind = "list", agent = true, arg = "ARG",
    help = "passed to the agent CLI as it is, before the\nprompt (repeatable)" },
  -- Set by Overmind's own clients, never by a user's flag or blueprint.
  { key = "default_parent", kind = "string", internal = true },
  { key = "rows", kind = "integer", internal = true },
  { key = "cols", kind = "integer", internal = true },
  { key = "display", kind = "string", internal = true },
  { key = "shared_name", kind = "boolean", internal = true },
  -- The environment of the client that ran `run` (SPEC §9), the base of
  -- the mission's own; kept in its record (mode 0600).
  { key = "client_env", kind = "map", internal = true },
}

-- The permission modes (SPEC §9), as users write them; each agent
-- provider maps them to its CLI's own.
M.PERMISSION_MODES = { "default", "accept-edits", "plan", "bypass" }

-- Lookups derived from the list.  An enum's `values` names its list in
-- this module; `is[v]` says whether v is one of them.
for _, o in ipairs(M.LIST) do
  if o.kind == "enum" then
    o.values = M[o.values]
    o.is = {}
    for _, v in ipairs(o.values) do o.is[v] = true end
  end
end
M.by_key = {}
local by_any = {} -- key, flag and `also` names, with `_` for `-`
for _, o in ipairs(M.LIST) do
  if o.flag == nil then o.flag = o.key:gsub("_", "-") end
  M.by_key[o.key] = o
  by_any[o.key] = o
  if o.flag then by_any[o.flag:gsub("%-", "_")] = o end
  for _, a in ipairs(o.also or {}) do by_any[a] = o end
end

-- The option a user-facing name refers to (`max-restarts`, `backoff`).
function M.lookup(name)
  if type(name) ~= "string" then return nil end
  return by_any[name:gsub("%-", "_")]
end

function M.default(key)
  return M.by_key[key].default
end

-- What a size default looks like in help: 64M, not 67108864.
local function shown(o)
  if o.kind == "size" then return timefmt.format_size(o.default) end
  return tostring(o.default)
end

-- ---- the command line ------------------------------------------------------

-- Flag kinds of cli/args.lua for each option kind.
local FLAG_KIND = { string = "string", enum = "string",
                    integer = "integer", number = "number",
                    positive = "number", boolean = "bool", size = "size",
                    map = "list", list = "list" }

-- The `run` flags: { [flag] = { kind, key } }, as cli/args.lua takes them.
function M.flags()
  local out = {}
  for _, o in ipairs(M.LIST) do
    if o.flag and not o.internal then
      out[o.flag] = { kind = FLAG_KIND[o.kind], key = o.key }
    end
  end
  return out
end

-- The "Flags:" lines of `run --help`, one per option, in declaration
-- order; `extra` are more { flag, arg, help } of the command itself.
function M.help(extra)
  local lines = {}
  local function add(flag, arg, help)
    local left = "  --" .. flag .. (arg and (" " .. arg) or "")
    help = help or ""
    local first, rest = help:match("^([^\n]*)\n?(.*)$")
    if #left >= 27 and first ~= "" then
      lines[#lines + 1] = left
      left = ""
    end
    lines[#lines + 1] = (left .. string.rep(" ", 27 - #left) .. first)
      :gsub("%s+$", "")
    for more in rest:gmatch("[^\n]+") do
      lines[#lines + 1] = string.rep(" ", 27) .. more
    end
  end
  for _, o in ipairs(M.LIST) do
    if o.flag and not o.internal then
      local help = o.help or ""
      if help:find("%s", 1, true) then help = help:format(shown(o)) end
      add(o.flag, o.arg, help)
    end
  end
  for _, e in ipairs(extra or {}) do add(e[1], e[2], e[3]) end
  return table.concat(lines, "\n")
end

-- ---- values ---------------------------------------------------------------

local function is_array(v)
  if type(v) ~= "table" then return false end
  local n = 0
  for k in pairs(v) do
    if math.type(k) ~= "integer" or k < 1 then return false end
    n = n + 1
  end
  return n == #v
end

-- An array of strings (blueprints' depends_on).
function M.is_strings(v)
  if not is_array(v) then return false end
  for _, s in ipairs(v) do if type(s) ~= "string" then return false end end
  return true
end

-- A list whose items may hold several values each ("Bash,Read"): one
-- value an item, blanks dropped.
function M.split(list, sep)
  local out = {}
  for _, item in ipairs(list) do
    for v in (item .. sep):gmatch("(.-)" .. sep:gsub("%p", "%%%0")) do
      v = v:match("^%s*(.-)%s*$")
      if v ~= "" then out[#out + 1] = v end
    end
  end
  return out
end

-- The options a mission was given that only an agent takes.
function M.agent_flags(args)
  local out = {}
  for _, o in ipairs(M.LIST) do
    if o.agent and args[o.key] ~= nil then out[#out + 1] = o.key end
  end
  return out
end

-- kind -> function(v, lenient) returning the normalized value or nil.
-- `lenient` (blueprints, om.run{}) also takes env values that are numbers
-- or booleans, as TOML and Lua write them.
local CONVERT = {
  string = function(v) return type(v) == "string" and v or nil end,
  -- An enum is a string first; normalize() checks it is one of its values.
  enum = function(v) return type(v) == "string" and v or nil end,
  number = function(v)
    if type(v) == "number" and v == v and v >= 0 and v ~= math.huge then
      return v
    end
  end,
  positive = function(v)
    if type(v) == "number" and v == v and v > 0 and v ~= math.huge then
      return v
    end
  end,
  integer = function(v)
    if type(v) == "number" and v == math.floor(v) and v >= 0 and v < 2^53 then
      return math.tointeger(v)
    end
  end,
  boolean = function(v) if type(v) == "boolean" then return v end end,
  size = function(v)
    if type(v) == "number" then
      local n = math.tointeger(v)
      if n and n > 0 then return n end
      return nil
    end
    if type(v) == "string" then
      local n = timefmt.parse_size(v)
      if n and n > 0 then return n end
    end
  end,
  table = function(v) if type(v) == "table" then return v end end,
  strings = function(v) if M.is_strings(v) then return v end end,
  -- A repeatable flag: an array of strings (a lone string, in a blueprint
  -- or om.run{}, is a list of one).
  list = function(v, lenient)
    if lenient and type(v) == "string" then return { v } end
    if M.is_strings(v) then return v end
  end,
  map = function(v, lenient)
    if type(v) ~= "table" or (next(v) ~= nil and is_array(v)) then return nil end
    local out = {}
    for k, s in pairs(v) do
      if type(k) ~= "string" then return nil end
      if type(s) == "string" then
        out[k] = s
      elseif lenient and (type(s) == "number" or type(s) == "boolean") then
        out[k] = tostring(s)
      else
        return nil
      end
    end
    return out
  end,
}

M.CONVERT = CONVERT

-- How a wrong value is described in `invalid_argument: <key> must be ...`.
M.KIND_NAMES = {
  string = "a string", number = "a non-negative number",
  integer = "a non-negative integer", boolean = "a boolean",
  size = "a positive size (bytes, or e.g. 64M)",
  map = "an object of strings", table = "an object",
  strings = "an array of strings", list = "an array of strings",
  positive = "a positive number", enum = "one of its values",
}

-- Normalizes a table of options written under any accepted name: returns
-- a table by key, or nil, "unknown" | "invalid", the name as written.
-- `internal` allows the fields only Overmind's own clients send;
-- `extra` names more fields to pass through as they are (depends_on);
-- `exclude` names options that are not fields there.
function M.normalize(t, opts)
  opts = opts or {}
  local out = {}
  for name, v in pairs(t) do
    local o = M.lookup(name)
    if opts.extra and opts.extra[name] then
      out[name] = v
    elseif not o or (o.internal and not opts.internal) or
        (opts.exclude and opts.exclude[o.key]) then
      return nil, "unknown", name
    else
      local cv
      cv = CONVERT[o.kind](v, opts.lenient)
      if o.is and not o.is[cv] then cv = nil end
      if cv == nil then return nil, "invalid", name, o end
      if o.split then cv = M.split(cv, o.split) end
      out[o.key] = cv
    end
  end
  return out
end

-- The daemon's check of `run` arguments (JSON from any client): nil and
-- the args by key, or the reason (`unknown field: x`,
-- `invalid_argument: x must be ...`).
function M.check(args)
  local out, why, name, o = M.normalize(args, { internal = true })
  if out then return out end
  if why == "unknown" then return nil, "unknown field: " .. tostring(name) end
  if o.kind == "enum" then
    return nil, o.invalid .. ": " .. tostring(args[name]) .. " (one of " ..
      table.concat(o.values, ", ") .. ")"
  end
  return nil, "invalid_argument: " .. o.key .. " must be " ..
    M.KIND_NAMES[o.kind]
end

return M
