-- The codex provider (SPEC §6): `codex exec --json <prompt>`, tasks only.
-- thread.started names the session; agent messages are the log's text;
-- command executions are tool lines; turn.completed / turn.failed is the
-- result.
local shell = require("overmind.shell")
local common = require("overmind.providers.common")

local M = {}

-- It takes the agent flags (SPEC §9).
M.agent = true

M.executable = { var = "OVERMIND_CODEX_BIN", name = "codex" }

-- One process per task: a session would need one CLI process per turn.
M.sessions = false

-- Its CLI must be there at `run` (SPEC §9).
function M.check(m)
  return common.check_executable(m, M.executable)
end

function M.build_command(m)
  local b = common.executable(m, M.executable)
  local words = { b, "exec", "--json" }
  if m.model and m.model ~= "" then
    words[#words + 1] = "--model"
    words[#words + 1] = m.model
  end
  words[#words + 1] = m.command or ""
  return shell.join(words)
end

-- The members parse() reads; the C core builds only these.
M.fields = {
  type = true, thread_id = true, usage = true,
  item = { type = true, text = true, command = true },
  error = { message = true },
}

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
    return { type = "result", is_error = false, usage = raw.usage }
  elseif t == "turn.failed" then
    local msg = type(raw.error) == "table" and raw.error.message or nil
    return { type = "result", is_error = true, text = msg }
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
  return nil
end

return M
