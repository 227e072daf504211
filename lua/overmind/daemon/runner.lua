-- Runs one attempt of a mission: asks its provider for the command line,
-- spawns it through the C core, and turns output into log text, events
-- and the mission's result.  The supervisor owns what happens next.
local core = require("overmind.core")
local json = require("overmind.json")
local paths = require("overmind.paths")
local providers = require("overmind.providers")
local envmod = require("overmind.daemon.env")

local M = {}
local Runner = {}
Runner.__index = Runner

-- ctx: { home, env (K -> V), hub, log (daemon log function),
--        save(m), on_exit(m, code, crash), on_result(m, r) }
function M.new(ctx)
  return setmetatable(ctx, Runner)
end

-- What a provider sees of a mission (SPEC §6).
function M.view(m)
  return {
    id = m.id, name = m.name, command = m.command or "", type = m.type,
    model = m.model, session_id = m.session_id, cwd = m.cwd,
    provider = m.provider, resume = m.session_id ~= nil,
    env = m.env or {},
  }
end

-- A mission's file m.rt[key] at `path`, opened on first use and kept
-- across restarts so it accumulates; rotated at the mission's --log-max.
function Runner:file_for(m, key, path)
  m.rt = m.rt or {}
  if not m.rt[key] then
    local f, err = core.logfile(path, {
      max = m.log_max or (64 << 20), keep = 3,
      on_error = function(msg) self.log("mission " .. m.id .. ": " .. msg) end,
    })
    if not f then return nil, err end
    m.rt[key] = f
  end
  return m.rt[key]
end

-- The mission's output.log.
function Runner:log_for(m)
  return self:file_for(m, "log", paths.output_log(m.id, self.home))
end

-- The raw stream of a provider that parses it (events.jsonl).
function Runner:events_for(m)
  return self:file_for(m, "events",
    paths.mission_dir(m.id, self.home) .. "/events.jsonl")
end

-- Appends a line of our own (a marker) to the mission's log, on a line of
-- its own even when the output stopped mid-line.
function Runner:mark(m, line)
  local log = self:log_for(m)
  if not log then return end
  if not log:at_line_start() then line = "\n" .. line end
  log:writeline(line)
end

function Runner:close_files(m)
  if not m.rt then return end
  if m.rt.log then m.rt.log:close() end
  if m.rt.events then m.rt.events:close() end
  m.rt.log, m.rt.events = nil, nil
end

-- Remembers what the provider's events say about the mission.
function Runner:absorb(m, ev)
  if ev.session_id and ev.type == "system" and m.session_id ~= ev.session_id then
    m.session_id = ev.session_id
    self.save(m)
  elseif ev.type == "text" and type(ev.text) == "string" then
    -- Fragments of one streamed message add up to what the agent said.
    if ev.delta == true and m.rt.streaming and m.rt.last_text then
      m.rt.last_text = m.rt.last_text .. ev.text
    else
      m.rt.last_text = ev.text
    end
    m.rt.streaming = ev.delta == true
  elseif ev.type == "result" then
    local text = ev.text
    -- Providers whose result carries no text (codex, gemini): the last
    -- thing the agent said is its answer.
    if type(text) ~= "string" then text = m.rt.last_text end
    m.rt.last_text = nil
    local r = {
      text = text, is_error = ev.is_error == true,
      duration_ms = ev.duration_ms, cost_usd = ev.cost_usd,
      num_turns = ev.num_turns, session_id = ev.session_id,
    }
    if r.session_id and not m.session_id then m.session_id = r.session_id end
    m.result = r
    m.rt.results = (m.rt.results or 0) + 1
    m.rt.last_result_error = r.is_error
    self.save(m)
    if self.on_result then self.on_result(m, r) end
  end
end

local function protected(p, fn, ...)
  local ok, v = pcall(p[fn], ...)
  if ok then return v end
  return nil, tostring(v)
end

-- One batch of lines from the C core (one read).  This is the hot path of
-- an agent that chatters: the provider runs in one protected call per
-- batch (a line that makes it raise is logged and skipped, and the batch
-- goes on from the next line), log text is written once per batch, and
-- subscribers get one write per batch.
function Runner:on_lines(m, prov, lines, decoded, text)
  local hub = self.hub
  local subs = hub:wants_lines(m)
  local n_lines = #lines
  if not prov.custom_parse then
    if subs then
      local evs = {}
      for i = 1, n_lines do
        evs[i] = json.encode_event({ type = "plain", text = lines[i] })
      end
      hub:emit_lines(m, evs)
    end
    return
  end
  local parse, format = prov.parse, prov.format
  local rt = m.rt
  -- Log text: out[1..n], one line each.  A streamed fragment (ev.delta,
  -- as gemini sends) continues the line of the fragment before it, which
  -- may be open from an earlier batch (rt.open_line).
  local out, n = {}, 0
  local open = rt.open_line
  local plain = false -- a line that was not JSON (subscribers get it wrapped)
  local i = 0
  local function run()
    while i < n_lines do
      i = i + 1
      local raw = decoded and decoded[i] or nil
      local line = lines[i] or nil
      if not raw then plain = true end
      local ev = parse(line, raw)
      if type(ev) ~= "table" then ev = { type = "plain", text = line } end
      if raw and ev.raw == nil then ev.raw = raw end
      local t = ev.type
      if t == "result" or t == "system" or t == "text" then
        self:absorb(m, ev)
      elseif rt.streaming then
        rt.streaming = false -- a tool call ends a streamed message
      end
      local s = format(ev)
      if type(s) == "string" then
        local delta = ev.delta == true
        if delta and open then
          if n == 0 then n = 1; out[1] = s else out[n] = out[n] .. s end
        else
          n = n + 1
          -- a whole line after a fragment line still open from before
          out[n] = (open and n == 1) and ("\n" .. s) or s
        end
        open = delta
      end
    end
  end
  while i < n_lines do
    local ok, err = pcall(run)
    if not ok then
      self.log("mission " .. m.id .. ": provider_error: " .. tostring(err))
    end
  end
  rt.open_line = open
  if n > 0 and rt.log then
    if not open then out[n + 1] = "" end
    rt.log:write(table.concat(out, "\n"))
  end
  if subs and text then
    -- Agents' JSON lines go out verbatim: this is where they become valid
    -- UTF-8, as everything the daemon writes as JSON is.
    text = core.utf8_fix(text)
    if not plain then
      -- Every line was JSON: the batch goes out verbatim, in one piece.
      hub:emit_text(m, text)
    else
      local evs, k = {}, 0
      for line in text:gmatch("([^\n]*)\n") do
        k = k + 1
        evs[k] = (decoded and decoded[k]) and line or
          json.encode_event({ type = "plain", text = line })
      end
      hub:emit_lines(m, evs)
    end
  end
end

-- deps.start for the supervisor: returns a run handle or nil, reason.
function Runner:start(m)
  local prov, err = providers.get(m.provider, self.home)
  if not prov then return nil, err end
  local cmd, berr = providers.call(prov, "build_command", M.view(m))
  if not cmd then return nil, berr end
  if type(cmd) ~= "string" or cmd == "" then
    return nil, "provider_error: build_command gave no command"
  end
  local log, lerr = self:log_for(m)
  if not log then return nil, lerr end
  local raw_sink = log
  if prov.custom_parse then
    raw_sink, lerr = self:events_for(m)
    if not raw_sink then return nil, lerr end
  end
  m.rt.last_result_error = nil
  local wants = self.hub:wants_lines(m)
  local pid -- set once spawned; the exit callback needs it
  local proc, serr = core.spawn({
    file = "/bin/sh",
    args = { "sh", "-c", cmd },
    cwd = m.cwd,
    env = envmod.build(self.env, m, self.home),
    stdin = m.type == "session" and not m.pty and "pipe" or "null",
    pty = m.pty and { rows = m.rows or 24, cols = m.cols or 80 } or nil,
    -- The in-memory tail: what `attach` replays of a terminal mission; a
    -- little for the others (the log file holds everything).
    tail = m.pty and (64 << 10) or (8 << 10),
    log = raw_sink,
    deliver = prov.custom_parse or wants,
    decode = prov.custom_parse or nil,
    fields = prov.fields,
    json_lines = not prov.builtin,
    batch_text = prov.custom_parse and wants or false,
    max_line = prov.custom_parse and (16 << 20) or (1 << 20),
    on_output = function(lines, decoded, text)
      self:on_lines(m, prov, lines, decoded, text)
    end,
    on_exit = function(status, signame)
      local code = status
      if signame then code = 128 + core.signum(signame) end
      -- A mission is a process tree: when its main process is gone, what
      -- it left running in its group goes too (as systemd's control
      -- group), so nothing outlives its supervision.
      core.kill(-pid, "KILL")
      if m.rt.open_line then
        -- the last streamed message ends its line
        m.rt.open_line = false
        if m.rt.log then m.rt.log:write("\n") end
      end
      local crash = m.type == "task" and m.rt.last_result_error == true
      if crash and code == 0 then code = 1 end
      self.on_exit(m, code, crash)
    end,
  })
  if not proc then return nil, serr end
  m.rt.last_text, m.rt.streaming = nil, nil
  m.rt.sent, m.rt.results = 0, 0 -- turns are counted per run
  pid = proc:pid()
  local custom = prov.custom_parse
  local h = {
    pid = pid,
    start_time = core.proc_starttime(pid),
    proc = proc,
    provider = prov,
  }
  function h.kill(_, sig) return proc:kill(sig) end
  function h.close() proc:close() end
  function h.idle() return proc:idle() end
  function h.want_lines(_, on)
    proc:deliver(custom or on)
    proc:batch_text(custom and on)
  end
  function h.write(_, data) return proc:write(data) end
  -- A session's command may be its first message (claude): sent once.
  m.rt.handle = h
  if m.type == "session" and prov.first_message then
    local first = providers.call(prov, "first_message", M.view(m))
    if type(first) == "string" and first ~= "" then
      self:send(m, first)
    end
  end
  return h
end

-- Writes a message to a session's stdin, encoded by its provider, and
-- records it (`[human] <message>` in the log, a `human` event).  Returns
-- the message's turn in this run (1, 2, ...): the result that answers it
-- is the run's result of the same number.
function Runner:send(m, text)
  local h = m.rt and m.rt.handle
  if not h then return nil, "not_running" end
  local bytes, err = providers.call(h.provider, "encode_message", text)
  if not bytes then return nil, err end
  if type(bytes) ~= "string" then
    return nil, "provider_error: encode_message gave no bytes"
  end
  local ok = h:write(bytes)
  if not ok then return nil, "not_running" end
  self:mark(m, "[human] " .. text)
  self.hub:emit(m, { type = "human", text = text })
  m.rt.sent = (m.rt.sent or 0) + 1
  return m.rt.sent
end

return M
