-- Blueprints (SPEC §7): reading a TOML or Lua file, validating it before
-- anything starts, and turning each agent into `run` arguments.
local dag = require("overmind.blueprint.dag")
local mission_names = require("overmind.names")
local options = require("overmind.options")

-- An agent's fields: every mission option (overmind.options) under its
-- long name, with `_` or `-`, plus its dependencies.
local AGENT_ONLY = { depends_on = true }

local M = {}

-- Where `[agents.<name>]` (or `<name> = {` under [agents]) is written, for
-- error messages that name the line.
local function line_of(text, name)
  if not text then return nil end
  local n = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local key = line:match("^%s*%[%s*agents%s*%.%s*[\"']?([^%]\"']+)[\"']?%s*%]")
      or line:match("^%s*[\"']?([%w_%-]+)[\"']?%s*=%s*{")
    if key == name then return n end
  end
  return nil
end

-- File order of agents in TOML text (a parsed table has none).
local function text_order(text, names)
  local pos = {}
  for _, name in ipairs(names) do pos[name] = line_of(text, name) or math.huge end
  table.sort(names, function(a, b)
    if pos[a] ~= pos[b] then return pos[a] < pos[b] end
    return a < b
  end)
  return names
end

local function dirname(path)
  return path:match("^(.*)/[^/]*$") or "."
end

-- Validates a decoded blueprint.  Returns an array of agents in file
-- order, each { name, depends_on, args = run arguments }, or nil and the
-- message (naming the file, and the line when known).
function M.validate(doc, path, text)
  local function fail(msg, name)
    local line = name and line_of(text, name)
    if line then return nil, ("%s:%d: %s"):format(path, line, msg) end
    return nil, path .. ": " .. msg
  end
  if type(doc) ~= "table" or type(doc.agents) ~= "table" then
    return fail("no [agents] table")
  end
  local names = {}
  for name, spec in pairs(doc.agents) do
    if type(name) ~= "string" then return fail("agent names must be strings") end
    if type(spec) ~= "table" then
      return fail("agent " .. name .. " must be a table", name)
    end
    names[#names + 1] = name
  end
  if #names == 0 then return fail("no agents") end
  text_order(text, names)
  local agents, seen = {}, {}
  for _, name in ipairs(names) do seen[name] = true end
  for _, name in ipairs(names) do
    local spec = doc.agents[name]
    if not mission_names.valid(name) then
      return fail("invalid agent name: " .. name, name)
    end
    -- An agent is named by its key, so `name` is not one of its fields.
    local args, why, key = options.normalize(spec,
      { lenient = true, extra = AGENT_ONLY, exclude = { name = true } })
    if not args then
      if why == "unknown" then
        return fail("unknown field for agent " .. name .. ": " .. tostring(key),
          name)
      end
      return fail(("invalid %s for agent: %s"):format(key, name), name)
    end
    if args.depends_on ~= nil and not options.is_strings(args.depends_on) then
      return fail(("invalid depends_on for agent: %s"):format(name), name)
    end
    args.name = name
    if type(args.command) ~= "string" or args.command:match("^%s*$") then
      return fail("missing command for agent: " .. name, name)
    end
    if args.cwd and args.cwd:sub(1, 1) ~= "/" then
      args.cwd = dirname(path) .. "/" .. args.cwd
    end
    local deps = args.depends_on or {}
    args.depends_on = nil
    for _, d in ipairs(deps) do
      if not seen[d] then
        return fail(("agent %s depends on unknown agent: %s"):format(name, d),
          name)
      end
    end
    agents[#agents + 1] = { name = name, depends_on = deps, args = args }
  end
  local cycle = dag.find_cycle(agents)
  if cycle then
    return fail("dependency cycle: " .. table.concat(cycle, " -> "))
  end
  return agents
end

-- Reads and validates a blueprint file (.toml or .lua).
function M.load(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, "cannot read " .. path .. ": " ..
    (err:match(": (.*)$") or err) end
  local text = f:read("a")
  f:close()
  local doc
  if path:match("%.lua$") then
    local chunk, lerr = load(text, "@" .. path, "t", setmetatable({},
      { __index = _G }))
    if not chunk then return nil, lerr end
    local ok, res = pcall(chunk)
    if not ok then return nil, path .. ": " .. tostring(res) end
    doc = res
    text = nil
  else
    local perr
    doc, perr = require("overmind.toml").parse(text)
    if not doc then return nil, path .. ": " .. perr end
  end
  return M.validate(doc, path, text)
end

-- `agents <file>` lines: `<name>: <command>` [` (depends on: a, b)`].
function M.describe(agents)
  local out = {}
  for _, a in ipairs(agents) do
    local line = a.name .. ": " .. a.args.command
    if #a.depends_on > 0 then
      line = line .. " (depends on: " .. table.concat(a.depends_on, ", ") .. ")"
    end
    out[#out + 1] = line
  end
  return out
end

return M
