-- The claude provider (SPEC §6): the `claude` CLI in print mode with
-- stream-json output.  A task passes its prompt with -p; a session reads
-- user messages as stream-json lines on stdin, and a restarted session
-- resumes its conversation with --resume <session_id>.
local json = require("overmind.json")
local shell = require("overmind.shell")
local common = require("overmind.providers.common")

local M = {}

function M.build_command(m)
  local words
  if m.type == "session" then
    words = { common.executable(m, "OVERMIND_CLAUDE_BIN", "claude"), "-p",
              "--input-format", "stream-json",
              "--output-format", "stream-json", "--verbose" }
  else
    words = { common.executable(m, "OVERMIND_CLAUDE_BIN", "claude"), "-p",
              m.command or "", "--output-format", "stream-json",
              "--verbose" }
  end
  if m.model and m.model ~= "" then
    words[#words + 1] = "--model"
    words[#words + 1] = m.model
  end
  if m.type == "session" and m.session_id then
    words[#words + 1] = "--resume"
    words[#words + 1] = m.session_id
  end
  return shell.join(words)
end

-- A session's command is its first message, sent once: not again when a
-- restarted session resumes its conversation.
function M.first_message(m)
  if m.type == "session" and not m.session_id and (m.command or "") ~= "" then
    return m.command
  end
end

function M.encode_message(text)
  return json.encode({ type = "user",
                       message = { role = "user", content = text } }) .. "\n"
end

-- Events carry `raw` from the start: adding it later would make Lua grow
-- every event table once more.
local function block_event(b, raw)
  if type(b) ~= "table" then return nil end
  local bt = b.type
  if bt == "text" then
    return { type = "text", text = b.text, raw = raw }
  elseif bt == "tool_use" then
    return { type = "tool_use", name = b.name, input = b.input, id = b.id,
             raw = raw }
  elseif bt == "thinking" then
    return { type = "thinking", text = b.thinking, raw = raw }
  elseif bt == "tool_result" then
    return { type = "tool_result", tool_use_id = b.tool_use_id,
             content = b.content, is_error = b.is_error == true, raw = raw }
  end
  return { type = bt or "unknown", raw = raw }
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
                          input = true, id = true, thinking = true,
                          tool_use_id = true, content = true,
                          is_error = true } },
  result = true, is_error = true, duration_ms = true, num_turns = true,
  total_cost_usd = true, cost_usd = true,
}

-- One stream-json line -> event.  `raw` is the line decoded in C (nil when
-- the line is not JSON: then it is plain text).
function M.parse(line, raw)
  if type(raw) ~= "table" then return { type = "plain", text = line } end
  local t = raw.type
  if t == "system" then
    return { type = "system", subtype = raw.subtype,
             session_id = type(raw.session_id) == "string" and raw.session_id
               or nil, raw = raw }
  elseif t == "assistant" or t == "user" then
    local msg = type(raw.message) == "table" and raw.message or {}
    local content = msg.content
    if type(content) == "string" then
      if t == "assistant" then
        return { type = "text", text = content, raw = raw }
      end
      return { type = "user", text = content, raw = raw }
    end
    if type(content) ~= "table" then return { type = t, raw = raw } end
    -- The CLI writes one content block per line; should a line carry
    -- several, the first names the event and format() shows them all.
    local ev = block_event(content[1], raw) or { type = t, raw = raw }
    if content[2] ~= nil then
      ev.blocks = {}
      for i, b in ipairs(content) do ev.blocks[i] = block_event(b) end
    end
    if t == "user" and ev.type == "text" then ev.type = "user" end
    return ev
  elseif t == "result" then
    local subtype = type(raw.subtype) == "string" and raw.subtype or nil
    local is_error = raw.is_error == true or
      (subtype ~= nil and subtype:sub(1, 6) == "error_")
    local cost = raw.total_cost_usd
    if type(cost) ~= "number" then cost = raw.cost_usd end
    local text = raw.result
    if type(text) ~= "string" then text = nil end
    return {
      type = "result", subtype = subtype, text = text, is_error = is_error,
      duration_ms = num(raw.duration_ms), cost_usd = num(cost),
      num_turns = num(raw.num_turns),
      session_id = type(raw.session_id) == "string" and raw.session_id or nil,
      raw = raw,
    }
  end
  -- stream_event, rate_limit_event and anything newer: kept, not logged.
  return { type = type(t) == "string" and t or "unknown", raw = raw }
end

local function format_one(ev)
  if ev.type == "text" or ev.type == "plain" then
    return type(ev.text) == "string" and ev.text or nil
  end
  if ev.type == "tool_use" then return "[tool] " .. tostring(ev.name) end
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
