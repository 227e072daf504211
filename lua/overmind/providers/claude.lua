-- The claude provider (SPEC §6, §9): the `claude` CLI in print mode with
-- stream-json output.  A task passes its prompt after `--`; a session
-- reads user messages as stream-json lines on stdin, and a restarted
-- session resumes its conversation with --resume <session_id>.
local json = require("overmind.json")
local shell = require("overmind.shell")
local common = require("overmind.providers.common")

local type = type

local M = {}

-- It takes the agent flags (SPEC §9) and answers each message with a
-- result.
M.agent = true
M.turns = true

M.executable = { var = "OVERMIND_CLAUDE_BIN", name = "claude" }

-- --permission-mode as the claude CLI spells it (SPEC §9).
local MODES = { default = "default", ["accept-edits"] = "acceptEdits",
                plan = "plan", bypass = "bypassPermissions" }

-- The agent flags of SPEC §9, as claude's own options.
local function agent_words(m, words)
  local function add(...) common.append(words, ...) end
  if m.model and m.model ~= "" then add("--model", m.model) end
  if m.permission_mode and m.permission_mode ~= "default" then
    add("--permission-mode", MODES[m.permission_mode])
  end
  if m.allowed_tools then add("--allowedTools", table.concat(m.allowed_tools, ",")) end
  if m.disallowed_tools then
    add("--disallowedTools", table.concat(m.disallowed_tools, ","))
  end
  if m.max_turns then add("--max-turns", tostring(m.max_turns)) end
  if m.append_system_prompt then
    add("--append-system-prompt", m.append_system_prompt)
  end
  for _, a in ipairs(m.agent_arg or {}) do add(a) end
end

function M.build_command(m)
  local words = { common.executable(m, M.executable), "-p" }
  if m.type == "session" then
    words[#words + 1] = "--input-format"
    words[#words + 1] = "stream-json"
  end
  words[#words + 1] = "--output-format"
  words[#words + 1] = "stream-json"
  words[#words + 1] = "--verbose"
  agent_words(m, words)
  if m.type == "session" then
    if m.session_id then
      words[#words + 1] = "--resume"
      words[#words + 1] = m.session_id
    end
  else
    -- The prompt is data, never an option, whatever it starts with.
    words[#words + 1] = "--"
    words[#words + 1] = m.command or ""
  end
  return shell.join(words)
end

-- What claude itself would refuse, refused at `run` (SPEC §9): it will
-- not bypass its permission checks as root, outside a sandbox it is told
-- of (IS_SANDBOX=1).
function M.check(m)
  local ok, err = common.check_executable(m, M.executable)
  if not ok then return nil, err end
  if m.permission_mode == "bypass" and
      require("overmind.core").getuid() == 0 and m.env.IS_SANDBOX ~= "1" then
    return nil, "permission_mode_refused: claude refuses bypass as root " ..
      "(set IS_SANDBOX=1 inside a sandbox)"
  end
  return true
end

-- A session's command is its first message, sent once.
M.first_message = common.first_message

-- `attach` to a session (SPEC §6): its conversation, resumed in the
-- user's terminal while the daemon holds the headless process's output.
function M.attach(m)
  if m.type ~= "session" then return nil, "not_attachable" end
  if not m.session_id then return nil, "no_session_id" end
  return { argv = { common.executable(m, M.executable), "--resume",
                    m.session_id }, cwd = m.cwd }
end

function M.encode_message(text)
  return json.encode({ type = "user",
                       message = { role = "user", content = text } }) .. "\n"
end

-- A content block is its own event: the decoded table (see M.fields) is
-- used as it is, with what format() reads, rather than copied -- one
-- table less for every line a chatty agent prints.
local function block_event(b)
  if type(b) ~= "table" then return nil end
  local bt = b.type
  if bt == "text" or bt == "tool_use" then return b end
  if bt == "thinking" then
    b.text = b.thinking
    return b
  elseif bt == "tool_result" then
    b.is_error = b.is_error == true
    return b
  end
  -- A kind of block we do not know: kept, not logged.
  return { type = "block", block_type = type(bt) == "string" and bt or nil }
end

local function num(v)
  if type(v) == "number" then return math.tointeger(v) or v end
  return nil
end

-- The members of a stream-json line that parse() reads.  The C core
-- decodes only these (the rest of a line -- usage, uuids, model names --
-- is parsed and dropped), which is most of the cost of a chatty agent.
-- `raw` is the line decoded to this extent.  message.content is a string
-- or an array of content blocks: the selection applies to each block, to
-- what block_event reads of it (not, say, a thinking block's signature).
M.fields = {
  type = true, subtype = true, session_id = true,
  message = { content = { type = true, text = true, name = true,
                          input = true, thinking = true,
                          tool_use_id = true, content = true,
                          is_error = true } },
  result = true, is_error = true, duration_ms = true, num_turns = true,
  total_cost_usd = true, cost_usd = true,
  usage = { input_tokens = true, output_tokens = true },
  model_usage_since_last_result = true,
  permission_denials = true, tool_name = true, tool_use_id = true,
}

-- A turn's cost: what each model cost since the last result, as the CLI
-- reports it; else its process's running total (older CLIs), for the
-- daemon to take the difference of.
local function turn_cost(raw)
  local since = raw.model_usage_since_last_result
  if type(since) == "table" then
    local sum, any = 0, false
    for _, u in pairs(since) do
      if type(u) == "table" and type(u.costUSD) == "number" then
        sum, any = sum + u.costUSD, true
      end
    end
    if any then return sum, nil end
  end
  local cost = raw.total_cost_usd
  if type(cost) == "number" then return cost, { cost_usd = "process" } end
  if type(raw.cost_usd) == "number" then return raw.cost_usd, nil end
  return nil, nil
end

-- One stream-json line -> event.  `raw` is the line decoded in C (nil when
-- the line is not JSON: then it is plain text).  Nothing reads a built-in
-- provider's events but its own format(), so they carry no `raw`.
function M.parse(line, raw)
  if type(raw) ~= "table" then return { type = "plain", text = line } end
  local t = raw.type
  if t == "system" then
    if raw.subtype == "permission_denied" then
      -- a tool the agent was refused (SPEC §9)
      return { type = "denied",
               name = type(raw.tool_name) == "string" and raw.tool_name or "?",
               tool_use_id = raw.tool_use_id }
    end
    return { type = "system", subtype = raw.subtype,
             session_id = type(raw.session_id) == "string" and raw.session_id
               or nil }
  elseif t == "assistant" or t == "user" then
    local msg = type(raw.message) == "table" and raw.message or {}
    local content = msg.content
    if type(content) == "string" then
      if t == "assistant" then
        return { type = "text", text = content }
      end
      return { type = "user", text = content }
    end
    if type(content) ~= "table" then return { type = t } end
    -- The CLI writes one content block per line; should a line carry
    -- several, the first names the event and format() shows them all.
    if content[2] ~= nil then
      local blocks = {}
      for i, b in ipairs(content) do blocks[i] = block_event(b) end
      local first = blocks[1] or { type = t }
      local ev = { type = first.type, text = first.text, name = first.name,
                   input = first.input, id = first.id, blocks = blocks }
      if t == "user" and ev.type == "text" then ev.type = "user" end
      return ev
    end
    local ev = block_event(content[1]) or { type = t }
    if t == "user" and ev.type == "text" then ev.type = "user" end
    return ev
  elseif t == "result" then
    local subtype = type(raw.subtype) == "string" and raw.subtype or nil
    local is_error = raw.is_error == true or
      (subtype ~= nil and subtype:sub(1, 6) == "error_")
    local cost, totals = turn_cost(raw)
    local text = raw.result
    if type(text) ~= "string" then text = nil end
    local usage = type(raw.usage) == "table" and raw.usage or nil
    return {
      type = "result", subtype = subtype, text = text, is_error = is_error,
      duration_ms = num(raw.duration_ms), cost_usd = num(cost),
      num_turns = num(raw.num_turns),
      session_id = type(raw.session_id) == "string" and raw.session_id or nil,
      -- `usage` is the turn's own
      input_tokens = usage and num(usage.input_tokens),
      output_tokens = usage and num(usage.output_tokens),
      totals = totals,
      permission_denials = type(raw.permission_denials) == "table" and
        raw.permission_denials or nil,
    }
  end
  -- stream_event, rate_limit_event and anything newer: kept, not logged.
  return { type = type(t) == "string" and t or "unknown" }
end

-- "[tool] <name>" lines, made once per tool name: an agent calls the same
-- few tools all day (the first 1024 names are kept).
local tool_lines = {}
local tool_count = 0

local function tool_line(name)
  local s = tool_lines[name]
  if s then return s end
  s = "[tool] " .. tostring(name)
  if type(name) == "string" and tool_count < 1024 then
    tool_lines[name] = s
    tool_count = tool_count + 1
  end
  return s
end

local function format_one(ev)
  local t = ev.type
  if t == "text" or t == "plain" then
    local text = ev.text
    return type(text) == "string" and text or nil
  end
  if t == "tool_use" then return tool_line(ev.name) end
  if t == "denied" then return "[denied] " .. tostring(ev.name) end
  return nil
end

function M.format(ev)
  if ev.blocks then
    local out = {}
    for _, b in ipairs(ev.blocks) do
      local s = format_one(b)
      if s then out[#out + 1] = s end
    end
    if #out == 0 then return nil end
    return table.concat(out, "\n")
  end
  if ev.type == "result" and ev.is_error then
    return "[error] " .. (ev.text or ev.subtype or "the agent reported an error")
  end
  return format_one(ev)
end

return M
