-- The gemini provider (SPEC §6, §9): `gemini --output-format stream-json
-- --skip-trust [flags] --prompt=<prompt>`; a session runs one of those per
-- message, `--resume <session_id>` after the first.  Events: init (session id), message (the
-- assistant's streamed in fragments, "delta": true), tool_use,
-- tool_result, result.
local shell = require("overmind.shell")
local common = require("overmind.providers.common")

local M = {}

-- It takes the agent flags (SPEC §9).
M.agent = true

M.executable = { var = "OVERMIND_GEMINI_BIN", name = "gemini" }

-- A session is one `gemini` per message, each resuming the session the
-- first one started (SPEC §9); every turn ends with a result.
M.turns = true

-- --permission-mode as gemini's --approval-mode (SPEC §9).
local APPROVAL = { ["accept-edits"] = "auto_edit", plan = "plan",
                   bypass = "yolo" }

function M.check(m)
  return common.check_agent(m, M.executable, "gemini",
    { "disallowed_tools", "max_turns", "append_system_prompt" })
end

local function gemini_words(m, prompt, resume)
  local b = common.executable(m, M.executable)
  -- The user started the mission in its folder: that answers gemini's
  -- question whether to trust it.
  local words = { b, "--output-format", "stream-json", "--skip-trust" }
  local function add(...) common.append(words, ...) end
  if m.model and m.model ~= "" then add("--model", m.model) end
  if APPROVAL[m.permission_mode] then
    add("--approval-mode", APPROVAL[m.permission_mode])
  end
  if m.allowed_tools then
    add("--allowed-tools", table.concat(m.allowed_tools, ","))
  end
  for _, a in ipairs(m.agent_arg or {}) do add(a) end
  if resume then add("--resume", resume) end
  -- The prompt is data: joined to its flag, it is never taken for one.
  add("--prompt=" .. prompt)
  return shell.join(words)
end

function M.build_command(m)
  return gemini_words(m, m.command or "")
end

function M.turn_command(m, text)
  return gemini_words(m, text, m.session_id)
end

M.first_message = common.first_message

-- The members parse() reads; the C core builds only these (and the
-- exit code of a session's turn, overmind/turns.lua).
M.fields = {
  exit_code = true,
  type = true, session_id = true, role = true, content = true, delta = true,
  tool_name = true, parameters = true, output = true, status = true,
  stats = { duration_ms = true, input_tokens = true, output_tokens = true },
  error = { message = true },
}

function M.parse(line, raw)
  if type(raw) ~= "table" then return { type = "plain", text = line } end
  local t = raw.type
  if t == "init" then
    return { type = "system", subtype = "init", session_id = raw.session_id }
  elseif t == "message" then
    if raw.role == "assistant" then
      -- With delta, content is a fragment: the runner joins a message's
      -- fragments into one log line and one answer.
      return { type = "text", text = raw.content, delta = raw.delta == true }
    end
    return { type = "user", text = raw.content }
  elseif t == "tool_use" then
    return { type = "tool_use", name = raw.tool_name, input = raw.parameters }
  elseif t == "tool_result" then
    return { type = "tool_result", content = raw.output,
             is_error = raw.status ~= "success" }
  elseif t == "result" then
    local stats = type(raw.stats) == "table" and raw.stats or {}
    local err = type(raw.error) == "table" and raw.error.message or nil
    return { type = "result", is_error = raw.status ~= "success", text = err,
             duration_ms = stats.duration_ms, num_turns = 1,
             input_tokens = stats.input_tokens,
             output_tokens = stats.output_tokens }
  end
  return { type = type(t) == "string" and t or "unknown" }
end

function M.format(ev)
  if ev.type == "text" or ev.type == "plain" then
    return type(ev.text) == "string" and ev.text or nil
  end
  if ev.type == "tool_use" then return "[tool] " .. tostring(ev.name) end
  if ev.type == "result" and ev.is_error then
    return "[error] " .. tostring(ev.text or "failed")
  end
  return nil
end

return M
