-- The codex provider (SPEC §6, §9): `codex exec --json
-- --skip-git-repo-check [flags] -- <prompt>`; a session runs one of those
-- per message, `... resume <thread_id> -- <message>` after the first.
-- thread.started names the session; agent messages are the log's text;
-- command executions are tool lines; turn.completed / turn.failed is the
-- result.
local json = require("overmind.json")
local shell = require("overmind.shell")
local common = require("overmind.providers.common")

local M = {}

-- It takes the agent flags (SPEC §9).
M.agent = true

M.executable = { var = "OVERMIND_CODEX_BIN", name = "codex" }

-- A session is one `codex exec` per message, each resuming the thread the
-- first one started (SPEC §9); every turn ends with a result.
M.turns = true

-- --permission-mode as codex's sandbox (SPEC §9): `bypass` also turns its
-- approvals off; `default` is codex's own.
local SANDBOX = { ["accept-edits"] = "workspace-write", plan = "read-only" }

function M.check(m)
  return common.check_agent(m, M.executable, "codex",
    { "allowed_tools", "disallowed_tools", "max_turns" })
end

-- `codex exec` with the mission's flags, for `prompt`; resuming thread
-- `resume` when given.
local function exec_words(m, prompt, resume)
  local b = common.executable(m, M.executable)
  -- Any folder the user chose, a git repository or not.
  local words = { b, "exec", "--json", "--skip-git-repo-check" }
  local function add(...) common.append(words, ...) end
  if m.model and m.model ~= "" then add("--model", m.model) end
  if m.permission_mode == "bypass" then
    add("--dangerously-bypass-approvals-and-sandbox")
  elseif SANDBOX[m.permission_mode] then
    add("--sandbox", SANDBOX[m.permission_mode])
  end
  if m.append_system_prompt then
    -- codex's developer instructions, a TOML string (a JSON string is one)
    add("-c", "developer_instructions=" .. json.encode(m.append_system_prompt))
  end
  for _, a in ipairs(m.agent_arg or {}) do add(a) end
  -- exec's options go before `resume` (after it, codex refuses --sandbox)
  if resume then add("resume", resume) end
  -- The prompt is data, never an option, whatever it starts with.
  add("--", prompt)
  return shell.join(words)
end

function M.build_command(m)
  return exec_words(m, m.command or "")
end

function M.turn_command(m, text)
  return exec_words(m, text, m.session_id)
end

M.first_message = common.first_message

-- The members parse() reads; the C core builds only these (and the
-- exit code of a session's turn, overmind/turns.lua).
M.fields = {
  exit_code = true,
  type = true, thread_id = true, message = true,
  usage = { input_tokens = true, output_tokens = true },
  item = { type = true, text = true, command = true },
  error = { message = true },
}

local THREAD_TOTALS = { input_tokens = "session", output_tokens = "session" }

local function num(v)
  if type(v) == "number" then return math.tointeger(v) or v end
  return nil
end

function M.parse(line, raw)
  if type(raw) ~= "table" then return { type = "plain", text = line } end
  local t = raw.type
  if t == "thread.started" then
    return { type = "system", subtype = "init", session_id = raw.thread_id }
  elseif t == "item.completed" and type(raw.item) == "table" then
    local item = raw.item
    if item.type == "agent_message" then
      return { type = "text", text = item.text }
    elseif item.type == "command_execution" then
      return { type = "tool_use", name = "command_execution",
               input = { command = item.command } }
    elseif item.type == "reasoning" then
      return { type = "thinking", text = item.text }
    end
    return { type = "item" }
  elseif t == "turn.completed" then
    local usage = type(raw.usage) == "table" and raw.usage or {}
    -- codex's usage adds up the whole thread, across resumes
    return { type = "result", is_error = false, num_turns = 1,
             input_tokens = num(usage.input_tokens),
             output_tokens = num(usage.output_tokens),
             totals = THREAD_TOTALS }
  elseif t == "turn.failed" then
    local msg = type(raw.error) == "table" and raw.error.message or nil
    return { type = "result", is_error = true, text = msg, num_turns = 1 }
  elseif t == "error" then
    -- the CLI's own errors (a stream that broke, an API that refused)
    local msg = raw.message
    if type(msg) ~= "string" and type(raw.error) == "table" then
      msg = raw.error.message
    end
    return { type = "error", text = type(msg) == "string" and msg or nil }
  end
  return { type = type(t) == "string" and t or "unknown" }
end

function M.format(ev)
  if ev.type == "text" or ev.type == "plain" then
    return type(ev.text) == "string" and ev.text or nil
  end
  if ev.type == "tool_use" then
    return "[tool] " .. tostring(ev.input and ev.input.command or ev.name)
  end
  if ev.type == "result" and ev.is_error then
    return "[error] " .. tostring(ev.text or "turn failed")
  end
  if ev.type == "error" then
    return "[error] " .. tostring(ev.text or "codex reported an error")
  end
  return nil
end

return M
