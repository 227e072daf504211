-- Provider loader (SPEC §6).  Built-in providers live in
-- overmind.providers.<name>; a user adds one as
-- $OVERMIND_HOME/providers/<name>.lua, which wins over a built-in of the
-- same name.  Loading never raises: failures come back as
-- nil, "provider_error: <message>" and stay that mission's problem.
--
-- What a provider knows stays in its module; the daemon and the CLI ask:
--   build_command(m)     the shell command line (required)
--   parse(line, raw)     one output line -> event
--   format(ev)           event -> log text
--   encode_message(text) the bytes `send` writes to stdin
--   first_message(m)     a session's first message, if its command is one
--   attach(m)            { argv = {...}, cwd = dir }: what `attach` runs in
--                        the user's terminal (claude: --resume), or nil,
--                        reason
--   executable           { var = "OVERMIND_X_BIN", name = "x" }: the CLI
--                        it runs and the variable that overrides it
--   sessions             false when it cannot run a session
--   turn_command(m, text) the command line of one turn of a session, for
--                        an agent that runs one process per turn (codex,
--                        gemini): m.session_id names the session to resume
--   agent                true when it takes the agent flags of SPEC §9
--                        (permission_mode, allowed_tools, ...)
--   turns                true when it answers every message with a result
--                        (the next message waits for it)
--   check(m)             nil, reason when its CLI would refuse what the
--                        mission asks (`run` fails with the reason)
local M = {}

M.BUILTIN = { "raw", "claude", "codex", "gemini" }
local builtin = {}
for _, name in ipairs(M.BUILTIN) do builtin[name] = true end

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
  for _, f in ipairs({ "parse", "format", "encode_message", "first_message",
                       "attach", "check", "turn_command" }) do
    if p[f] ~= nil and type(p[f]) ~= "function" then
      return nil, "provider_error: provider '" .. name .. "': " .. f ..
        " must be a function"
    end
  end
  local out = setmetatable({}, { __index = p })
  out.name = name
  -- Its output is decoded (as JSON, when it looks like it) for parse().
  out.parses = p.parse ~= nil
  -- Its output goes through parse and format in Lua: output.log gets the
  -- formatted text, events.jsonl the stream as it came.  Otherwise the C
  -- core appends output to output.log as it is.
  out.transforms = p.parse ~= nil or p.format ~= nil
  out.sessions = p.sessions ~= false
  out.agent = p.agent == true
  -- It answers every message with a result: one turn at a time.
  out.turns = p.turns == true
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

-- What a provider sees of a mission (SPEC §6, §9): a copy, so that
-- nothing it does reaches the record.  `env` is the environment the
-- mission runs in, less Overmind's own variables: the client's, with the
-- --env pairs over it.
function M.describe(m)
  local env = {}
  for k, v in pairs(m.client_env or {}) do env[k] = v end
  for k, v in pairs(m.env or {}) do env[k] = v end
  local function list(l)
    if not l then return nil end
    return table.move(l, 1, #l, 1, {})
  end
  return {
    id = m.id, name = m.name, command = m.command or "", type = m.type,
    model = m.model, session_id = m.session_id, cwd = m.cwd,
    provider = m.provider, resume = m.session_id ~= nil, env = env,
    client_env = m.client_env ~= nil,
    permission_mode = m.permission_mode,
    allowed_tools = list(m.allowed_tools),
    disallowed_tools = list(m.disallowed_tools),
    max_turns = m.max_turns, append_system_prompt = m.append_system_prompt,
    agent_arg = list(m.agent_arg),
  }
end

-- The command line of mission `m`, or nil and the reason.
function M.command(p, m)
  local cmd, err = M.call(p, "build_command", M.describe(m))
  if not cmd then return nil, err end
  if type(cmd) ~= "string" or cmd == "" then
    return nil, "provider_error: build_command gave no command"
  end
  return cmd
end

return M
