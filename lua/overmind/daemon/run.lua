-- One attempt of a mission (a Run), and the path of everything it prints
-- (its Output): the process, the log and events files, the in-memory
-- tail, the provider's parse loop, and everyone watching -- `logs -f`
-- followers and `subscribe` subscribers.  A reader finds a mission's whole
-- output path here, from the pipe to the log to every watcher.
--
--   pipe/PTY --C--> events.jsonl (a parsing provider's raw stream)
--            --C--> output.log   (raw output nobody follows: no Lua)
--            --C--> Run:on_chunk (raw output someone follows)  --+
--            --C--> Run:on_lines (batches of lines, decoded)     |
--                     parse, format -------------------------------+
--                                                                 v
--                       Output:write_log -> output.log + every follower
--                       Output:publish   -> every subscriber
--
-- The Output is the mission's: it lives across attempts, so the log
-- accumulates and streams carry on through restarts, and it ends when the
-- mission reaches a final state (Output:finish).  Our own lines (markers,
-- `[human]`) enter it through Output:mark, the same way.
--
-- The supervisor decides *when* (daemon/supervisor.lua) and talks to a Run
-- through four verbs: start, kill, idle, close.  Request handlers use
-- follow and subscribe (on the Output), and resize, send, await, write
-- and tail (on the Run); attach stops the run through the supervisor.
local core = require("overmind.core")
local json = require("overmind.json")
local paths = require("overmind.paths")
local providers = require("overmind.providers")
local options = require("overmind.options")
local shell = require("overmind.shell")
local envmod = require("overmind.daemon.env")
local waiters = require("overmind.daemon.waiters")

local M = {}

-- A session's stdin holds at most this much not yet taken by the child;
-- more is `stdin_full` (SPEC §8): the daemon's memory stays bounded.
M.STDIN_MAX = 8 << 20

-- The in-memory tail: what `attach` replays of a terminal mission; a
-- little for the others (the log file holds everything).
M.TAIL_PTY = 64 << 10
M.TAIL = 8 << 10

-- Longest line framed: an agent's stream-json line can be large.
M.MAX_LINE = 1 << 20
M.MAX_LINE_PARSED = 16 << 20

-- ---- Output: the mission's log, events file and watchers ----------------

local Output = {}
Output.__index = Output

-- ctx, shared by every mission of a daemon:
--   { home, env (K -> V, for the child), log (the daemon log),
--     save(m), event(m, kind, detail) (the event bus),
--     on_exit(m, code, crash) (the supervisor) }
function M.output_of(m, ctx)
  local o = m.output
  if not o then
    o = setmetatable({ m = m, ctx = ctx, followers = {}, nfollow = 0,
                       subscribers = {}, nsub = 0 }, Output)
    m.output = o
  end
  return o
end

-- The mission's file `key` ("log": output.log; "events": events.jsonl),
-- opened on first use and kept across restarts; rotated at --log-max.
function Output:file(key)
  local f = self[key]
  if f then return f end
  local m = self.m
  local dir = paths.mission_dir(m.id, self.ctx.home)
  local path = key == "log" and paths.output_log(m.id, self.ctx.home)
    or dir .. "/events.jsonl"
  local err
  f, err = core.logfile(path, {
    max = m.log_max or options.default("log_max"),
    keep = paths.LOG_KEEP,
    on_error = function(msg) self.ctx.log("mission " .. m.id .. ": " .. msg) end,
  })
  if not f then return nil, err end
  self[key] = f
  return f
end

-- The one way into output.log: the bytes go to the file, then the same
-- bytes to every follower (`logs -f`, `attach`).  A follower's frame
-- carries the log's bytes as they are -- a chunk may end inside a
-- character, and a terminal may not speak UTF-8 -- so it alone is not
-- repaired to UTF-8.
function Output:write_log(text)
  local log = self.log or self:file("log")
  if not log then return end
  log:write(text)
  if self.nfollow > 0 then
    local frame = json.encode_bytes({ data = text }) .. "\n"
    for ctx in pairs(self.followers) do
      if not ctx:send_raw(frame) then self:unfollow(ctx) end
    end
  end
end

-- A line of our own (a marker, `[human] ...`), on a line of its own even
-- when the output stopped mid-line.
function Output:mark(line)
  local log = self.log or self:file("log")
  if not log then return end
  if not log:at_line_start() then line = "\n" .. line end
  self:write_log(line .. "\n")
end

-- Ready NDJSON (each line ends in a newline, valid UTF-8) to every
-- subscriber; one that falls too far behind is dropped by its context.
function Output:publish(text)
  if self.nsub == 0 or text == "" then return end
  for ctx in pairs(self.subscribers) do
    if not ctx:send_raw(text) then self:unsubscribe(ctx) end
  end
end

-- An event of our own (human, restart, exit) to every subscriber.
function Output:event(ev)
  if self.nsub > 0 then self:publish(json.encode_event(ev) .. "\n") end
end

-- What the running attempt must hand over: lines while anyone subscribes,
-- raw chunks while anyone follows output that C would write itself.
function Output:update_delivery()
  local run = self.run
  if run then run:deliver(self.nsub > 0, self.nfollow > 0) end
end

-- Followers and subscribers are two sets of watchers, kept alike: a set
-- by its name, and its count by the set's name.
local COUNT = { followers = "nfollow", subscribers = "nsub" }

function Output:watch(set, ctx)
  if self[set][ctx] then return end
  self[set][ctx] = true
  self[COUNT[set]] = self[COUNT[set]] + 1
  ctx:on_close(function() self:unwatch(set, ctx) end)
  self:update_delivery()
end

function Output:unwatch(set, ctx)
  if not self[set][ctx] then return end
  self[set][ctx] = nil
  self[COUNT[set]] = self[COUNT[set]] - 1
  self:update_delivery()
end

-- `logs -f` and `attach`: the log's bytes.
function Output:follow(ctx) self:watch("followers", ctx) end
function Output:unfollow(ctx) self:unwatch("followers", ctx) end

-- `subscribe`: the events.
function Output:subscribe(ctx) self:watch("subscribers", ctx) end
function Output:unsubscribe(ctx) self:unwatch("subscribers", ctx) end

function Output:close_files()
  if self.log then self.log:close() end
  if self.events then self.events:close() end
  self.log, self.events = nil, nil
end

-- The mission is final (`status`) or gone ("killed"): every stream ends,
-- the files close, and the mission holds no descriptor until a new
-- attempt (none follows a final state) would open them again.
function Output:finish(status)
  local m = self.m
  local fs, subs = self.followers, self.subscribers
  self.followers, self.subscribers = {}, {}
  self.nfollow, self.nsub = 0, 0
  for ctx in pairs(fs) do
    ctx:send({ ["end"] = { status = status,
                           exit_code = m.exit_code == nil and json.null
                             or m.exit_code } })
    ctx:finish()
  end
  for ctx in pairs(subs) do ctx:finish() end
  self:close_files()
  if m.output == self then m.output = nil end
end

-- ---- Run: one attempt ---------------------------------------------------

local Run = {}
Run.__index = Run

function M.new(m, ctx)
  return setmetatable({
    m = m, ctx = ctx, out = M.output_of(m, ctx),
    -- Turns of this attempt: messages accepted, written to stdin, and
    -- answered; the accepted ones not written yet wait in `queue`.  A
    -- one-process-per-turn agent also says when each turn's process ended.
    sent = 0, written = 0, results = 0, ended = 0, queue = {},
    queued_bytes = 0,
    turns = waiters.new(), -- `send --wait`s, keyed by their turn
    spent = {}, -- what a provider that reports running totals said last
  }, Run)
end

-- Starts the process; returns true, or nil and the reason.
function Run:start()
  local m, ctx, out = self.m, self.ctx, self.out
  local prov, err = providers.get(m.provider, ctx.home)
  if not prov then return nil, err end
  local cmd, cerr
  -- A session of an agent that runs one process per turn is our own
  -- turn runner (overmind/turns.lua), fed the provider's command line for
  -- each message.
  self.per_turn = m.type == "session" and prov.turn_command ~= nil
  if self.per_turn then
    cmd = shell.join({ core.exepath(), "__turns" })
  else
    cmd, cerr = providers.command(prov, m)
    if not cmd then return nil, cerr end
  end
  local log, lerr = out:file("log")
  if not log then return nil, lerr end
  -- A provider that transforms its output writes output.log from Lua; the
  -- stream as it came goes to events.jsonl, in C.
  local raw_sink = log
  if prov.transforms then
    raw_sink, lerr = out:file("events")
    if not raw_sink then return nil, lerr end
  end
  self.prov = prov
  local proc, serr = core.spawn({
    file = "/bin/sh",
    args = { "sh", "-c", cmd },
    cwd = m.cwd,
    env = envmod.build(ctx.env, m, ctx.home),
    stdin = m.type == "session" and not m.pty and "pipe" or "null",
    pty = m.pty and { rows = m.rows or 24, cols = m.cols or 80 } or nil,
    tail = m.pty and M.TAIL_PTY or M.TAIL,
    log = raw_sink,
    -- What is handed to Lua is set by deliver(), below, before any read.
    decode = prov.parses,
    fields = prov.fields,
    -- Our own providers never read a decoded line's text: it is not
    -- copied into Lua for them.
    json_lines = not prov.builtin,
    max_line = prov.parses and M.MAX_LINE_PARSED or M.MAX_LINE,
    -- A CLI whose stdout is JSON keeps its diagnostics apart (SPEC §9).
    stderr = (prov.parses and not m.pty) and "pipe" or "merged",
    on_stderr = function(lines) self:on_stderr(lines) end,
    on_output = function(lines, decoded, text)
      self:on_lines(lines, decoded, text)
    end,
    on_chunk = function(chunk) out:write_log(chunk) end,
    on_exit = function(status, signame) self:on_exit(status, signame) end,
  })
  if not proc then return nil, serr end
  self.proc = proc
  self.pid = proc:pid()
  self.start_time = core.proc_starttime(self.pid)
  out.run = self
  self:deliver(out.nsub > 0, out.nfollow > 0)
  -- A session's command may be its first message (claude): sent once.
  if m.type == "session" and prov.first_message then
    local first = providers.call(prov, "first_message", providers.describe(m))
    if type(first) == "string" and first ~= "" then self:send(first) end
  end
  return true
end

-- What the C core hands over, the one place that decides it: every line
-- of a provider that transforms its output, and otherwise lines only for
-- subscribers (`lines`); the batch as one string for subscribers of a
-- parsing provider (they get its lines verbatim); raw chunks while someone
-- follows output that C would otherwise append to the log itself
-- (`chunks`).  See Output:update_delivery.
function Run:deliver(lines, chunks)
  local proc, prov = self.proc, self.prov
  if not proc then return end
  proc:deliver(prov.transforms or lines)
  proc:batch_text(prov.parses and lines)
  proc:deliver_chunks(chunks and not prov.transforms)
end

function Run:kill(sig) return self.proc:kill(sig) end

-- Milliseconds since the last output.
function Run:idle()
  return self.proc:idle()
end

-- The attempt is over for the supervisor: no more callbacks; the Output
-- stays for the next attempt.
function Run:close()
  if self.proc then self.proc:close() end
  self.live = false
  self.turns:fire(nil, "exited") -- killed before it could exit
  if self.out.run == self then self.out.run = nil end
  if self.m.run == self then self.m.run = nil end
end

function Run:on_exit(status, signame)
  local m = self.m
  local code = status
  if signame then code = 128 + core.signum(signame) end
  -- A mission is a process tree: when its main process is gone, what it
  -- left running in its group goes too (as systemd's control group), so
  -- nothing outlives its supervision.
  core.kill(-self.pid, "KILL")
  if self.open_line then
    -- the last streamed message ends its line
    self.open_line = false
    self.out:write_log("\n")
  end
  local crash = m.type == "task" and self.last_result_error == true
  if crash and code == 0 then code = 1 end
  self.exited = true
  if self.queue[1] then
    -- Nothing is dropped silently: the log says what was never written.
    self.out:mark(("--- %d queued message%s not sent: the session ended ---")
      :format(#self.queue, #self.queue == 1 and "" or "s"))
    self.queue, self.queued_bytes = {}, 0
  end
  self.turns:fire(nil, "exited")
  self.ctx.on_exit(m, code, crash)
end

-- ---- what the provider's events say -------------------------------------

function Run:on_system(ev)
  local m = self.m
  if ev.session_id and m.session_id ~= ev.session_id then
    m.session_id = ev.session_id
    self.dirty = true
  end
end

-- The process of one turn is gone (a one-process-per-turn agent): a turn
-- it left unanswered ends as an error, so the session goes on.
function Run:on_turn_end(code)
  -- Turns end in order, each after its result; the next message may be
  -- under way already, so only a turn that ended with fewer results than
  -- turns is unanswered.
  self.ended = self.ended + 1
  if self.results < self.ended then
    self:on_result({ type = "result", is_error = true,
      text = ("the agent exited (code %s) without an answer")
        :format(tostring(code)) })
  end
end

-- A tool the agent was refused: counted in the mission's
-- permission_denials (SPEC §9), the last 100 of them kept.
function Run:on_denied(ev)
  local m = self.m
  local list = m.permission_denials or {}
  list[#list + 1] = { tool_name = ev.name, tool_use_id = ev.tool_use_id }
  if #list > 100 then table.remove(list, 1) end
  m.permission_denials = list
  self.dirty = true
end

function Run:on_text(ev)
  -- Fragments of one streamed message add up to what the agent said.
  if ev.delta == true and self.streaming and self.last_text then
    self.last_text = self.last_text .. ev.text
  else
    self.last_text = ev.text
  end
  self.streaming = ev.delta == true
end

-- What a turn cost or used, from a figure its provider reports as a
-- running total (`totals` on the result event): the difference from the
-- last one.  "process": the total of this CLI process (claude's
-- total_cost_usd), which a new process starts again; "session": the
-- total of the provider's session across its processes (codex's thread
-- tokens), remembered in the record so a restart resumes from it.
function Run:turn_figure(key, v, totals)
  if type(v) ~= "number" then return nil end
  local scope = totals and totals[key]
  if not scope then return v end
  local seen = self.spent
  if scope == "session" then
    self.m.totals_seen = self.m.totals_seen or {}
    seen = self.m.totals_seen
  end
  local last = seen[key] or 0
  seen[key] = v
  if v < last then return v end
  return M.round(v - last)
end

-- Dollars and tokens add up without the noise of binary fractions
-- (0.0024 - 0.0012 is 0.0012, not 0.0011999999999999997).
function M.round(v)
  if math.type(v) ~= "float" then return v end
  local r = math.floor(v * 1e10 + 0.5) / 1e10
  return math.tointeger(r) or r
end

function Run:on_result(ev)
  local m = self.m
  local text = ev.text
  -- Providers whose result carries no text (codex, gemini): the last thing
  -- the agent said is its answer.
  if type(text) ~= "string" then text = self.last_text end
  self.last_text = nil
  local r = {
    text = text, is_error = ev.is_error == true,
    duration_ms = ev.duration_ms,
    cost_usd = self:turn_figure("cost_usd", ev.cost_usd, ev.totals),
    input_tokens = self:turn_figure("input_tokens", ev.input_tokens, ev.totals),
    output_tokens = self:turn_figure("output_tokens", ev.output_tokens,
      ev.totals),
    num_turns = ev.num_turns,
    -- codex and gemini name their session in their first line only
    session_id = ev.session_id or m.session_id,
    permission_denials = ev.permission_denials,
  }
  if r.session_id and not m.session_id then m.session_id = r.session_id end
  -- The mission's own totals, over every turn, restart and resume.
  for _, k in ipairs({ "cost_usd", "input_tokens", "output_tokens" }) do
    if r[k] then m[k] = M.round((m[k] or 0) + r[k]) end
  end
  m.result = r
  self.results = self.results + 1
  self.last_result_error = r.is_error
  -- Saved once the batch is done: an agent may report many results in
  -- one read, and the record is one file write whatever their number.
  self.dirty = true
  self.ctx.event(m, "result", { is_error = r.is_error, cost_usd = r.cost_usd })
  -- What the answer sets off waits until the batch's text is in the log
  -- and with the subscribers (Run:settle): whoever hears of it finds it
  -- there, and the next message's `[human]` line comes after it.
  self.answered = self.answered or {}
  self.answered[#self.answered + 1] = { turn = self.results, result = r }
end

-- After a batch: each answer goes to the `send --wait` of its turn, the
-- next queued message is written (one turn at a time), a session that has
-- answered everything says it is waiting, and budgets are checked.
function Run:settle()
  local answered = self.answered
  if not answered then return end
  self.answered = nil
  local m = self.m
  local cost = false
  for _, a in ipairs(answered) do
    self.turns:fire_where(function(turn) return turn <= a.turn end, a.result)
    cost = cost or a.result.cost_usd ~= nil
  end
  if self.queue[1] and self.written <= self.results and not self.exited then
    local q = table.remove(self.queue, 1)
    self.queued_bytes = self.queued_bytes - #q.bytes
    self:write_turn(q.text, q.bytes)
  end
  if self:activity() == "waiting" then self.ctx.event(m, "waiting") end
  if cost and self.ctx.on_cost then self.ctx.on_cost(m) end
end

-- SPEC §9: `working` while a turn is in progress, `waiting` when a
-- session has answered and waits for a message; nil for a mission that is
-- not an agent.
function Run:activity()
  if not self.prov or not self.prov.agent or not self.live then return nil end
  if self.m.type ~= "session" then return "working" end
  if self.written > self.results or self.queue[1] then return "working" end
  return "waiting"
end

-- ---- the parse loop -------------------------------------------------------

local function plain_line(line)
  return '{"type":"plain","text":' .. json.encode(line) .. "}"
end

-- One batch of lines from the C core (one read).  This is the hot path of
-- an agent that chatters: the provider runs in one protected call per
-- batch (a line that makes it raise is logged and skipped, and the batch
-- goes on from the next line), log text is written once per batch, and
-- subscribers get one write per batch.
function Run:on_lines(lines, decoded, text)
  local out, prov = self.out, self.prov
  local n_lines = #lines
  if not prov.transforms then
    -- Raw output reaches Lua only for subscribers: each line is an event.
    if out.nsub > 0 then
      local evs = {}
      for i = 1, n_lines do evs[i] = plain_line(lines[i]) end
      out:publish(table.concat(evs, "\n") .. "\n")
    end
    return
  end
  local parse, format = prov.parse, prov.format
  -- A user provider's events carry the decoded line as `raw` (SPEC §6);
  -- nothing reads a built-in one's but its own format().
  local with_raw = not prov.builtin
  local per_turn = self.per_turn
  -- Log text: buf[1..n], one line each.  A streamed fragment (ev.delta, as
  -- gemini sends) continues the line of the fragment before it, which may
  -- be open from an earlier batch (self.open_line).
  local buf, n = {}, 0
  local open = self.open_line
  local plain = false -- a line that was not JSON (subscribers get it wrapped)
  local i = 0
  local function run()
    while i < n_lines do
      i = i + 1
      local raw = decoded and decoded[i] or nil
      local line = lines[i] or nil
      if not raw then plain = true end
      local ev
      if per_turn and raw and raw.type == "overmind.turn_end" then
        ev = { type = "turn_end", exit_code = raw.exit_code }
      else
        ev = parse(line, raw)
      end
      if type(ev) ~= "table" then ev = { type = "plain", text = line } end
      if with_raw and raw and ev.raw == nil then ev.raw = raw end
      local t = ev.type
      if t == "text" then
        local said = ev.text
        if type(said) ~= "string" then -- nothing said
        elseif ev.delta == true then
          self:on_text(ev)
        else -- the common case, inline: a whole message
          self.last_text, self.streaming = said, false
        end
      elseif t == "result" then
        self:on_result(ev)
        -- The answer is whole: a streamed message's line ends with it
        -- (when that line came in an earlier batch, an empty first entry
        -- makes this batch's text start with its newline).
        if open then
          if n == 0 then n = 1; buf[1] = "" end
          open = false
        end
      elseif t == "system" then
        self:on_system(ev)
      elseif t == "denied" then
        self:on_denied(ev)
      elseif t == "turn_end" then
        self:on_turn_end(ev.exit_code)
      elseif self.streaming then
        self.streaming = false -- a tool call ends a streamed message
      end
      local s = format(ev)
      if type(s) == "string" then
        if ev.delta == true and open then
          if n == 0 then n = 1; buf[1] = s else buf[n] = buf[n] .. s end
        else
          n = n + 1
          -- a whole line after a fragment line still open from before
          buf[n] = (open and n == 1) and ("\n" .. s) or s
        end
        open = ev.delta == true
      end
    end
  end
  while i < n_lines do
    local ok, err = pcall(run)
    if not ok then
      self.ctx.log("mission " .. self.m.id .. ": provider_error: " ..
        tostring(err))
    end
  end
  self.open_line = open
  if n > 0 then
    if not open then buf[n + 1] = "" end
    out:write_log(table.concat(buf, "\n"))
  end
  self:publish_batch(lines, decoded, text, plain)
  if self.dirty then
    self.dirty = false
    self.ctx.save(self.m)
  end
  self:settle()
end

-- A batch to the subscribers: agents' JSON lines verbatim, the others as
-- plain events.
function Run:publish_batch(lines, decoded, text, plain)
  local out = self.out
  local n_lines = #lines
  if out.nsub > 0 then
    if not text then
      -- A provider that formats but does not parse: lines are plain text.
      local evs = {}
      for k = 1, n_lines do evs[k] = plain_line(lines[k] or "") end
      out:publish(table.concat(evs, "\n") .. "\n")
      return
    end
    -- Agents' JSON lines go out verbatim: this is where they become valid
    -- UTF-8, as everything the daemon writes as JSON is.
    text = core.utf8_fix(text)
    if not plain then
      -- Every line was JSON: the batch goes out verbatim, in one piece.
      out:publish(text)
    else
      local evs, k = {}, 0
      for line in text:gmatch("([^\n]*)\n") do
        k = k + 1
        evs[k] = (decoded and decoded[k]) and line or plain_line(line)
      end
      out:publish(table.concat(evs, "\n") .. "\n")
    end
  end
end

-- What a CLI whose stdout is JSON writes to stderr: in the log, marked
-- `[stderr] <line>` (SPEC §9) so the answer is never buried in it; to
-- subscribers as `stderr` events.
function Run:on_stderr(lines)
  local out = self.out
  local buf = {}
  for i, line in ipairs(lines) do buf[i] = "[stderr] " .. line end
  local text = table.concat(buf, "\n") .. "\n"
  if self.open_line then -- a streamed message's line is still open
    self.open_line = false
    text = "\n" .. text
  end
  out:write_log(text)
  if out.nsub > 0 then
    for i, line in ipairs(lines) do
      buf[i] = '{"type":"stderr","text":' .. json.encode(line) .. "}"
    end
    out:publish(table.concat(buf, "\n") .. "\n")
  end
end

-- ---- requests -------------------------------------------------------------

-- Takes a message for a session: encoded by its provider, written to its
-- stdin -- or, for a provider that answers each message with a result,
-- kept until the turn before it is answered, so its CLI never merges two
-- messages into one turn (SPEC §9).  Returns the message's turn in this
-- attempt (1, 2, ...): the result that answers it is the attempt's
-- result of the same number.
-- The bytes of one message: the provider's encoding, or for a
-- one-process-per-turn agent the line that runs its turn -- made when it
-- is written, so it resumes the session the turns before it named.
function Run:encode(text)
  local bytes, err
  if self.per_turn then
    local cmd
    cmd, err = providers.call(self.prov, "turn_command",
      providers.describe(self.m), text)
    if type(cmd) == "string" and cmd ~= "" then
      bytes = json.encode_bytes({ run = cmd }) .. "\n"
    end
  else
    bytes, err = providers.call(self.prov, "encode_message", text)
  end
  if not bytes then return nil, err end
  if type(bytes) ~= "string" then
    return nil, "provider_error: encode_message gave no bytes"
  end
  return bytes
end

function Run:send(text)
  if not self.proc or self.exited then return nil, "not_running" end
  local bytes, err = self:encode(text)
  if not bytes then return nil, err end
  if self.queued_bytes + self.proc:stdin_queued() + #bytes > M.STDIN_MAX then
    return nil, "stdin_full"
  end
  if self.prov.turns and (self.written > self.results or self.queue[1]) then
    self.queue[#self.queue + 1] = { text = text, bytes = bytes }
    self.queued_bytes = self.queued_bytes + #bytes
  else
    local ok, werr = self:write_turn(text, bytes)
    if not ok then return nil, werr end
  end
  self.sent = self.sent + 1
  return self.sent
end

-- Writes one message and records it: `[human] <message>` in the log, a
-- `human` event, where the conversation has it.
function Run:write_turn(text, bytes)
  if self.per_turn then bytes = self:encode(text) or bytes end
  if not self.proc:write(bytes) then return nil, "not_running" end
  self.written = self.written + 1
  self.out:mark("[human] " .. text)
  self.out:event({ type = "human", text = text })
  return true
end

-- fn(result) when the result of `turn` arrives, fn(nil, "exited") when
-- the attempt ends first; returns a handle for cancel_wait.
function Run:await(turn, fn)
  if self.results >= turn then
    fn(self.m.result)
    return nil
  end
  return self.turns:add(fn, turn)
end

function Run:cancel_wait(handle)
  self.turns:cancel(handle)
end

function Run:resize(rows, cols) return self.proc:resize(rows, cols) end
function Run:write(bytes) return self.proc:write(bytes) end
function Run:tail() return self.proc:tail() end

-- ---- for the supervisor ------------------------------------------------

-- deps.start: a new attempt of `m`, started; or nil and the reason.
function M.start(m, ctx)
  local run = M.new(m, ctx)
  m.run = run
  local ok, err = run:start()
  if not ok then
    if m.run == run then m.run = nil end
    return nil, err
  end
  run.live = true
  return run
end

return M
