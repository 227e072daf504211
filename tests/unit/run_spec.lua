-- One attempt of a mission (Run) and the mission's output path (Output),
-- daemon/run.lua (SPEC §2, §6, §8), driven through a fake core: the
-- process, the log files and the process-group kill are fakes that record
-- what they are asked; JSON, UTF-8 repair and the providers are the real
-- ones.  No processes, no sleeping.
local real = require("overmind.core")
local json = require("overmind.json")
local paths = require("overmind.paths")
-- What run.lua requires, loaded first with the real core.
require("overmind.providers")
require("overmind.options")
require("overmind.daemon.env")
require("overmind.daemon.waiters")

local W -- the world of the running spec (see world())

local fake_core = setmetatable({
  spawn = function(opts) return W.spawn(opts) end,
  logfile = function(path, opts) return W.logfile(path, opts) end,
  kill = function(pid, sig)
    W.kills[#W.kills + 1] = { pid, sig }
    return true
  end,
  proc_starttime = function() return 42 end,
}, { __index = real })

local run
do
  local saved = package.loaded["overmind.daemon.run"]
  package.loaded["overmind.core"] = fake_core
  package.loaded["overmind.daemon.run"] = nil
  run = require("overmind.daemon.run")
  package.loaded["overmind.core"] = real
  package.loaded["overmind.daemon.run"] = saved
end

local function sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("a")
  p:close()
  return out
end

-- ---- fakes ------------------------------------------------------------------

-- A log file: records every write, knows whether it ends a line.
local function new_logfile(path, opts)
  local f = { path = path, opts = opts, chunks = {}, closed = false }
  function f.write(self, s)
    assert(not self.closed, "write to a closed log file: " .. self.path)
    assert(type(s) == "string", "log:write takes a string")
    self.chunks[#self.chunks + 1] = s
  end
  function f.writeline(self, s) self:write(s .. "\n") end
  function f.text(self) return table.concat(self.chunks) end
  function f.at_line_start(self)
    local t = self:text()
    return t == "" or t:sub(-1) == "\n"
  end
  function f.close(self) self.closed = true end
  return f
end

-- A process.  p:output(bytes) is what the C core does with output: the
-- bytes go to on_chunk while chunks are delivered, else to the log sink;
-- whole lines go to on_output (decoded as C decodes them) while lines are
-- delivered.  p:flush() hands over the last partial line, as at exit.
local Proc = {}
Proc.__index = Proc

function Proc:pid() return self.the_pid end
function Proc:kill(sig)
  self.kills[#self.kills + 1] = sig or "TERM"
  return true
end
function Proc:close() self.closed = true end
function Proc:idle() return self.idle_ms end
function Proc:deliver(on)
  assert(type(on) == "boolean", "deliver takes a boolean")
  self.delivering = on
end
function Proc:batch_text(on)
  assert(type(on) == "boolean", "batch_text takes a boolean")
  self.text_on = on
end
function Proc:deliver_chunks(on)
  assert(type(on) == "boolean", "deliver_chunks takes a boolean")
  self.chunks_on = on
end
function Proc:write(bytes)
  if self.write_fails then return nil, "EPIPE: broken pipe", "EPIPE" end
  self.written[#self.written + 1] = bytes
  self.queued = self.queued + #bytes
  return self.queued
end
function Proc:stdin_queued() return self.queued end
function Proc:pause(on) self.paused = on end
function Proc:resize(rows, cols)
  self.size = { rows, cols }
  return true
end
function Proc:tail() return "the tail" end

function Proc:batch(lines)
  local o = self.opts
  local out, decoded, text = {}, nil, nil
  if o.decode then decoded = {} end
  local parts = {}
  for i, line in ipairs(lines) do
    parts[i] = line .. "\n"
    out[i] = line
    if decoded then
      local d = false
      if line:match("^[ \t]*{") then
        local v = real.json_decode(line, self.fields)
        if type(v) == "table" then d = v end
      end
      decoded[i] = d
      if d and o.json_lines == false then out[i] = false end
    end
  end
  if self.text_on then text = table.concat(parts) end
  return out, decoded, text
end

function Proc:deliver_lines(lines)
  if not self.delivering or #lines == 0 then return end
  self.opts.on_output(self:batch(lines))
end

function Proc:output(bytes)
  assert(not self.closed, "output after close")
  if self.chunks_on then self.opts.on_chunk(bytes)
  else self.opts.log:write(bytes) end
  local buf = self.partial .. bytes
  local lines = {}
  for line in buf:gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
  self.partial = buf:match("([^\n]*)$")
  self:deliver_lines(lines)
end

-- Several whole lines in one read (one batch).
function Proc:lines(list)
  self:output(table.concat(list, "\n") .. "\n")
end

function Proc:flush()
  if self.partial ~= "" then
    local line = self.partial
    self.partial = ""
    self:deliver_lines({ line })
  end
end

-- The process exits: the last partial line, then the exit callback.
function Proc:exit(status, signame)
  self:flush()
  self.opts.on_exit(status, signame)
end

-- A watcher's connection (daemon/server.lua's Ctx).
local function watcher()
  local c = { frames = {}, sent = {}, finished = 0, closers = {},
              fail = false, tries = 0 }
  function c.send_raw(self, s)
    self.tries = self.tries + 1
    if self.fail then return false end
    self.frames[#self.frames + 1] = s
    return true
  end
  function c.send(self, v) self.sent[#self.sent + 1] = v end
  function c.finish(self) self.finished = self.finished + 1 end
  function c.on_close(self, fn) self.closers[#self.closers + 1] = fn end
  function c.close(self)
    for _, fn in ipairs(self.closers) do fn() end
  end
  -- A follower: the bytes of its {"data":...} frames, joined.
  function c.data(self)
    local out = {}
    for i, f in ipairs(self.frames) do
      assert(f:sub(-1) == "\n", "a frame is one line")
      local v = json.decode(f:sub(1, -2))
      assert(type(v) == "table" and type(v.data) == "string",
        "not a data frame: " .. f)
      out[i] = v.data
    end
    return table.concat(out)
  end
  -- A subscriber: every NDJSON line it got, decoded.
  function c.events(self)
    local out = {}
    for _, f in ipairs(self.frames) do
      assert(f:sub(-1) == "\n", "a write is whole lines")
      for line in f:gmatch("([^\n]*)\n") do
        local v = json.decode(line)
        assert(type(v) == "table", "not JSON: " .. line)
        out[#out + 1] = v
      end
    end
    return out
  end
  return c
end

-- The world: the fakes' records and the run context.
local function world(home)
  local w = { home = home, procs = {}, files = {}, opens = {}, kills = {},
              logs = {}, saves = {}, events = {}, exits = {}, next_pid = 4242 }
  function w.spawn(opts)
    if w.spawn_error then return nil, w.spawn_error end
    local p = setmetatable({
      opts = opts, the_pid = w.next_pid,
      delivering = opts.deliver and true or false,
      text_on = opts.batch_text and true or false, chunks_on = false,
      written = {}, queued = 0, kills = {}, closed = false, idle_ms = 0,
      partial = "",
      fields = opts.fields and real.json_fields(opts.fields) or nil,
    }, Proc)
    w.next_pid = w.next_pid + 1
    w.procs[#w.procs + 1] = p
    return p
  end
  function w.logfile(path, opts)
    if w.logfile_error then return nil, w.logfile_error end
    local f = new_logfile(path, opts)
    w.files[path] = f
    w.opens[path] = (w.opens[path] or 0) + 1
    return f
  end
  function w.proc() return w.procs[#w.procs] end
  w.ctx = {
    home = home,
    env = { PATH = "/usr/bin:/bin", CLAUDECODE = "1" },
    log = function(msg) w.logs[#w.logs + 1] = msg end,
    save = function(m) w.saves[#w.saves + 1] = m end,
    event = function(m, kind, detail)
      w.events[#w.events + 1] = { m = m, kind = kind, detail = detail }
    end,
    on_exit = function(m, code, crash)
      w.exits[#w.exits + 1] = { m = m, code = code, crash = crash }
    end,
  }
  return w
end

local ID = "abcd1234"

local function mission(t)
  local m = { id = ID, name = "swift-reef", type = "task", provider = "raw",
              command = "echo hi", cwd = "/tmp" }
  for k, v in pairs(t or {}) do m[k] = v end
  return m
end

-- stream-json lines as the claude CLI writes them.
local C = {}
function C.init(sid)
  return json.encode({ type = "system", subtype = "init", session_id = sid })
end
function C.text(s)
  local block = { type = "text", text = s }
  return json.encode({ type = "assistant", message = { content = { block } } })
end
function C.tool(name)
  local block = { type = "tool_use", id = "t1", name = name,
                  input = { command = "ls" } }
  return json.encode({ type = "assistant", message = { content = { block } } })
end
function C.result(text, extra)
  local r = { type = "result", subtype = "success", result = text,
              is_error = false, total_cost_usd = 0.25, duration_ms = 1200,
              num_turns = 1, session_id = "s1" }
  for k, v in pairs(extra or {}) do r[k] = v end
  return json.encode(r)
end

-- gemini's stream-json lines.
local G = {}
function G.delta(s)
  return json.encode({ type = "message", role = "assistant", content = s,
                       delta = true })
end
function G.tool(name)
  return json.encode({ type = "tool_use", tool_name = name, parameters = {} })
end
function G.result()
  return json.encode({ type = "result", status = "success",
                       stats = { duration_ms = 5 } })
end

local function log_path() return paths.output_log(ID, W.home) end
local function events_path() return paths.mission_dir(ID, W.home) ..
  "/events.jsonl" end
-- What output.log holds so far.
local function log_text()
  local f = W.files[log_path()]
  return f and f:text() or ""
end

local function user_provider(name, source)
  assert(real.mkdir(W.home .. "/providers", 448) or true)
  assert(real.write_file(W.home .. "/providers/" .. name .. ".lua", source))
end

local function start(t)
  local m = mission(t)
  local r, err = run.start(m, W.ctx)
  assert(r, "start failed: " .. tostring(err))
  return m, r, W.proc()
end

-- ---- specs ------------------------------------------------------------------

describe("daemon.run", function()
  local home
  before_each(function()
    home = sh("mktemp -d /tmp/om-unit-run.XXXXXX"):gsub("%s+$", "")
    W = world(home)
  end)
  after_each(function()
    W = nil
    if home and home:match("^/tmp/om%-unit%-run%.") then
      os.execute("rm -rf " .. home)
    end
  end)

  describe("start", function()
    it("spawns a raw task under sh -c, output straight to output.log",
      function()
        local m, r, p = start()
        local o = p.opts
        assert.are.equal("/bin/sh", o.file)
        assert.are.same({ "sh", "-c", "echo hi" }, o.args)
        assert.are.equal("/tmp", o.cwd)
        assert.are.equal("null", o.stdin)
        assert.is_nil(o.pty)
        assert.are.equal(run.TAIL, o.tail)
        assert.are.equal(run.MAX_LINE, o.max_line)
        assert.are.equal(W.files[log_path()], o.log)
        assert.is_falsy(o.deliver)
        assert.is_falsy(o.decode)
        assert.is_falsy(o.batch_text)
        assert.are.equal(m.run, r)
        assert.is_true(r.live)
        assert.are.equal(4242, r.pid)
        assert.are.equal(42, r.start_time)
        assert.are.equal(r, m.output.run)
        -- nobody watches: C keeps everything
        assert.is_false(p.delivering)
        assert.is_false(p.chunks_on)
      end)

    it("gives the child the mission's environment", function()
      local _, _, p = start({ env = { K = "V" } })
      local env = {}
      for _, kv in ipairs(p.opts.env) do
        local k, v = kv:match("^([^=]+)=(.*)$")
        env[k] = v
      end
      assert.are.equal(ID, env.OVERMIND_MISSION_ID)
      assert.are.equal("swift-reef", env.OVERMIND_MISSION_NAME)
      assert.are.equal(home, env.OVERMIND_HOME)
      assert.are.equal("V", env.K)
      assert.are.equal("/usr/bin:/bin", env.PATH)
      assert.is_nil(env.CLAUDECODE)
    end)

    it("opens output.log in the mission's directory, rotated at log_max",
      function()
        start({ log_max = 1 << 20 })
        local f = W.files[log_path()]
        assert.is_table(f)
        assert.are.equal(1 << 20, f.opts.max)
        assert.are.equal(paths.LOG_KEEP, f.opts.keep)
        assert.is_nil(W.files[events_path()])
      end)

    it("a log rotates at 64M when the mission names no log_max", function()
      start()
      assert.are.equal(64 << 20, W.files[log_path()].opts.max)
    end)

    it("a session gets a stdin pipe; a raw session with no command is cat",
      function()
        local _, _, p = start({ type = "session", command = "" })
        assert.are.equal("pipe", p.opts.stdin)
        assert.are.same({ "sh", "-c", "cat" }, p.opts.args)
      end)

    it("a pty mission gets a terminal of its size and a bigger tail",
      function()
        local _, _, p = start({ type = "session", pty = true, rows = 30,
                                cols = 100 })
        assert.are.same({ rows = 30, cols = 100 }, p.opts.pty)
        assert.are.equal("null", p.opts.stdin)
        assert.are.equal(run.TAIL_PTY, p.opts.tail)
      end)

    it("claude: the raw stream goes to events.jsonl, lines to Lua, decoded",
      function()
        local _, _, p = start({ provider = "claude", command = "do it" })
        local o = p.opts
        assert.are.equal(W.files[events_path()], o.log)
        assert.is_table(W.files[log_path()])
        assert.is_true(o.decode)
        assert.are.equal(require("overmind.providers.claude").fields, o.fields)
        assert.is_false(o.json_lines)
        assert.are.equal(run.MAX_LINE_PARSED, o.max_line)
        assert.is_true(p.delivering)
      end)

    it("an unknown provider: provider_error, nothing spawned", function()
      local m = mission({ provider = "nope" })
      local r, err = run.start(m, W.ctx)
      assert.is_nil(r)
      assert.are.equal("provider_error: unknown provider 'nope'", err)
      assert.are.equal(0, #W.procs)
      assert.is_nil(m.run)
    end)

    it("a failed spawn: its reason, and the mission holds no run", function()
      W.spawn_error = "ENOENT: no such file or directory"
      local m = mission()
      local r, err = run.start(m, W.ctx)
      assert.is_nil(r)
      assert.are.equal("ENOENT: no such file or directory", err)
      assert.is_nil(m.run)
      assert.is_nil(m.output.run)
    end)

    it("a log that cannot be opened: its reason, nothing spawned", function()
      W.logfile_error = "EACCES: permission denied"
      local m = mission()
      local r, err = run.start(m, W.ctx)
      assert.is_nil(r)
      assert.are.equal("EACCES: permission denied", err)
      assert.are.equal(0, #W.procs)
    end)

    it("a claude session's command is its first message, sent once",
      function()
        local m, r, p = start({ provider = "claude", type = "session",
                                command = "hello there" })
        assert.are.equal(1, #p.written)
        assert.are.equal(require("overmind.providers.claude")
          .encode_message("hello there"), p.written[1])
        assert.are.equal("[human] hello there\n", log_text())
        assert.are.equal(1, r.sent)
        -- a resumed session does not send it again
        r:close()
        m.session_id = "s1"
        local r2 = run.start(m, W.ctx)
        assert.are.equal(0, #W.proc().written)
        assert.are.equal(0, r2.sent)
      end)
  end)

  describe("the emit path", function()
    it("a marker mid-line starts a new line; at a line start, no blank",
      function()
        local m = mission()
        local out = run.output_of(m, W.ctx)
        out:mark("--- first ---")
        out:write_log("partial")
        out:mark("--- restarting ---")
        out:write_log("whole\n")
        out:mark("[human] hi")
        assert.are.equal("--- first ---\npartial\n--- restarting ---\n" ..
          "whole\n[human] hi\n", log_text())
      end)

    it("output_of gives a mission one Output", function()
      local m = mission()
      local a = run.output_of(m, W.ctx)
      assert.are.equal(a, run.output_of(m, W.ctx))
      assert.are.equal(a, m.output)
      assert.are_not.equal(a, run.output_of(mission(), W.ctx))
    end)

    it("followers get exactly the bytes the log got, as data frames",
      function()
        local m = mission()
        local out = run.output_of(m, W.ctx)
        local f = watcher()
        out:follow(f)
        out:write_log("one\ntw")
        out:write_log("o \xff\xfe not UTF-8")
        out:mark("[human] hey")
        assert.are.equal("one\ntwo \xff\xfe not UTF-8\n[human] hey\n",
          log_text())
        assert.are.equal(log_text(), f:data())
        assert.are.equal(3, #f.frames)
        assert.are.equal(json.encode_bytes({ data = "one\ntw" }) .. "\n",
          f.frames[1])
        -- the marker's own newline reaches the follower too
        assert.are.equal("\n[human] hey\n",
          json.decode(f.frames[3]:sub(1, -2)).data)
      end)

    it("a follower whose send_raw fails is dropped and delivery updated",
      function()
        local m, _, p = start()
        local good, bad = watcher(), watcher()
        m.output:follow(good)
        m.output:follow(bad)
        assert.is_true(p.chunks_on)
        bad.fail = true
        p:output("a\n")
        assert.is_nil(m.output.followers[bad])
        assert.are.equal(1, m.output.nfollow)
        assert.is_true(p.chunks_on) -- the good one still follows
        p:output("b\n")
        assert.are.equal(1, bad.tries)
        assert.are.equal("a\nb\n", good:data())
        good.fail = true
        p:output("c\n")
        assert.are.equal(0, m.output.nfollow)
        assert.is_false(p.chunks_on)
        -- C writes the log itself again, and the log has every byte
        p:output("d\n")
        assert.are.equal("a\nb\nc\nd\n", log_text())
        assert.are.equal(3, good.tries)
      end)

    it("a subscriber whose send_raw fails is dropped and delivery updated",
      function()
        local m, _, p = start()
        local s = watcher()
        m.output:subscribe(s)
        assert.is_true(p.delivering)
        s.fail = true
        p:lines({ "x" })
        assert.are.equal(0, m.output.nsub)
        assert.is_false(p.delivering)
        p:lines({ "y" })
        assert.are.equal(1, s.tries)
      end)

    it("following or subscribing twice is one watcher", function()
      local m = mission()
      local out = run.output_of(m, W.ctx)
      local f, s = watcher(), watcher()
      out:follow(f)
      out:follow(f)
      out:subscribe(s)
      out:subscribe(s)
      assert.are.equal(1, out.nfollow)
      assert.are.equal(1, out.nsub)
      out:write_log("x\n")
      out:event({ type = "restart", n = 1 })
      assert.are.equal(1, #f.frames)
      assert.are.equal(1, #s.frames)
    end)

    it("a watcher whose connection closes stops watching", function()
      local m, _, p = start()
      local f, s = watcher(), watcher()
      m.output:follow(f)
      m.output:subscribe(s)
      assert.is_true(p.chunks_on)
      assert.is_true(p.delivering)
      f:close()
      s:close()
      assert.are.equal(0, m.output.nfollow)
      assert.are.equal(0, m.output.nsub)
      assert.is_false(p.chunks_on)
      assert.is_false(p.delivering)
      p:output("z\n")
      assert.are.equal(0, #f.frames)
      assert.are.equal(0, #s.frames)
    end)

    it("our own events reach subscribers as one JSON line each", function()
      local m = mission()
      local out = run.output_of(m, W.ctx)
      local s = watcher()
      out:event({ type = "restart", n = 1 }) -- nobody yet: nothing
      out:subscribe(s)
      out:event({ type = "restart", n = 2 })
      out:event({ type = "exit", status = "crashed", exit_code = 1 })
      out:publish("")
      assert.are.same({ '{"type":"restart","n":2}\n',
                        '{"type":"exit","status":"crashed","exit_code":1}\n' },
        s.frames)
    end)
  end)

  describe("delivery", function()
    it("raw: subscribers switch lines on, followers switch chunks on",
      function()
        local m, _, p = start()
        local out = m.output
        local s, f = watcher(), watcher()
        out:subscribe(s)
        assert.is_true(p.delivering)
        assert.is_false(p.text_on) -- raw lines are not parsed
        assert.is_false(p.chunks_on)
        out:follow(f)
        assert.is_true(p.chunks_on)
        out:unsubscribe(s)
        assert.is_false(p.delivering)
        assert.is_true(p.chunks_on)
        out:unfollow(f)
        assert.is_false(p.chunks_on)
      end)

    it("raw: a subscriber gets each line as a plain event, one write a batch",
      function()
        local m, _, p = start()
        local s = watcher()
        m.output:subscribe(s)
        p:lines({ "alpha", "beta \"q\"" })
        assert.are.same({ '{"type":"plain","text":"alpha"}\n' ..
          '{"type":"plain","text":"beta \\"q\\""}\n' }, s.frames)
        -- C wrote the log itself: Lua wrote nothing
        assert.are.equal("alpha\nbeta \"q\"\n", log_text())
      end)

    it("raw: a follower's bytes come through Lua, into the log once",
      function()
        local m, _, p = start()
        p:output("before\n")
        local f = watcher()
        m.output:follow(f)
        p:output("during")
        p:output(" more\n")
        m.output:unfollow(f)
        p:output("after\n")
        assert.are.equal("before\nduring more\nafter\n", log_text())
        assert.are.equal("during more\n", f:data())
      end)

    it("claude: lines always, batch text while subscribed, never chunks",
      function()
        local m, _, p = start({ provider = "claude" })
        local out = m.output
        assert.is_true(p.delivering)
        assert.is_false(p.text_on)
        local s, f = watcher(), watcher()
        out:subscribe(s)
        assert.is_true(p.text_on)
        out:follow(f)
        assert.is_false(p.chunks_on) -- Lua writes claude's log itself
        out:unsubscribe(s)
        assert.is_false(p.text_on)
        assert.is_true(p.delivering)
        out:unfollow(f)
        assert.is_true(p.delivering)
      end)

    it("watchers there before the start are served from the first byte",
      function()
        local m = mission({ provider = "claude" })
        local out = run.output_of(m, W.ctx)
        local s = watcher()
        out:subscribe(s)
        run.start(m, W.ctx)
        local p = W.proc()
        assert.is_true(p.text_on)
        p:lines({ C.text("hi") })
        assert.are.equal(1, #s.frames)
      end)

    it("a raw follower there before the start gets chunks at once", function()
      local m = mission()
      local out = run.output_of(m, W.ctx)
      local f = watcher()
      out:follow(f)
      run.start(m, W.ctx)
      local p = W.proc()
      assert.is_true(p.chunks_on)
      p:output("first\n")
      assert.are.equal("first\n", f:data())
      assert.are.equal("first\n", log_text())
    end)
  end)

  describe("claude output", function()
    it("text and tools go to output.log; the stream to events.jsonl",
      function()
        local _, _, p = start({ provider = "claude" })
        local stream = { C.init("s1"), C.text("Hello"), C.tool("Bash"),
                         C.result("done") }
        p:lines(stream)
        assert.are.equal("Hello\n[tool] Bash\n", log_text())
        assert.are.equal(table.concat(stream, "\n") .. "\n",
          W.files[events_path()]:text())
      end)

    it("a batch's log text is written in one piece", function()
      local _, _, p = start({ provider = "claude" })
      p:lines({ C.text("a"), C.text("b"), C.tool("Read") })
      assert.are.same({ "a\nb\n[tool] Read\n" }, W.files[log_path()].chunks)
    end)

    it("the session id of system/init is saved, once", function()
      local m, _, p = start({ provider = "claude" })
      p:lines({ C.init("s1") })
      assert.are.equal("s1", m.session_id)
      assert.are.same({ m }, W.saves)
      p:lines({ C.init("s1") })
      assert.are.equal(1, #W.saves)
      p:lines({ C.init("s2") })
      assert.are.equal("s2", m.session_id)
      assert.are.equal(2, #W.saves)
    end)

    it("the result becomes the mission's result and a `result` event",
      function()
        local m, _, p = start({ provider = "claude" })
        p:lines({ C.text("thinking out loud"), C.result("the answer") })
        assert.are.same({ text = "the answer", is_error = false,
                          duration_ms = 1200, cost_usd = 0.25, num_turns = 1,
                          session_id = "s1" }, m.result)
        assert.are.equal("s1", m.session_id)
        assert.are.equal(1, #W.events)
        assert.are.equal(m, W.events[1].m)
        assert.are.equal("result", W.events[1].kind)
        assert.are.same({ is_error = false, cost_usd = 0.25 },
          W.events[1].detail)
        assert.are.equal(m, W.saves[#W.saves])
        assert.are.equal("thinking out loud\n", log_text())
      end)

    it("an error result is logged, published as is_error, and a task that " ..
      "exits 0 after it crashes with 1", function()
      local m, _, p = start({ provider = "claude" })
      p:lines({ C.result("rate limited", { is_error = true,
                                           subtype = "error_during_execution",
                                           total_cost_usd = 0.5 }) })
      assert.are.equal("[error] rate limited\n", log_text())
      assert.is_true(m.result.is_error)
      assert.are.same({ is_error = true, cost_usd = 0.5 }, W.events[1].detail)
      p:exit(0)
      assert.are.equal(1, #W.exits)
      assert.are.equal(1, W.exits[1].code)
      assert.is_true(W.exits[1].crash)
    end)

    it("a session that exits 0 after an error result is no crash", function()
      local _, _, p = start({ provider = "claude", type = "session",
                              command = "" })
      p:lines({ C.result("x", { is_error = true }) })
      p:exit(0)
      assert.are.equal(0, W.exits[1].code)
      assert.is_false(W.exits[1].crash)
    end)

    it("a later good result clears an earlier error for the task's end",
      function()
        local _, _, p = start({ provider = "claude" })
        p:lines({ C.result("bad", { is_error = true }) })
        p:lines({ C.result("good") })
        p:exit(0)
        assert.are.equal(0, W.exits[1].code)
        assert.is_false(W.exits[1].crash)
      end)

    it("other kinds of lines are kept for subscribers but not logged",
      function()
        local m, _, p = start({ provider = "claude" })
        local s = watcher()
        m.output:subscribe(s)
        local other = { json.encode({ type = "stream_event", event = {} }),
                        json.encode({ type = "rate_limit_event" }),
                        json.encode({ type = "system", subtype = "hook" }) }
        p:lines(other)
        assert.are.equal("", log_text())
        assert.are.same({ table.concat(other, "\n") .. "\n" }, s.frames)
        assert.are.same({}, W.events)
      end)

    it("a line that is not JSON is logged as plain text", function()
      local _, _, p = start({ provider = "claude" })
      p:lines({ "Warning: something odd", C.text("fine") })
      assert.are.equal("Warning: something odd\nfine\n", log_text())
    end)

    it("subscribers get an all-JSON batch verbatim, in one write", function()
      local m, _, p = start({ provider = "claude" })
      local s = watcher()
      m.output:subscribe(s)
      local stream = { C.init("s1"), C.text("Hi"), C.result("ok") }
      p:lines(stream)
      assert.are.same({ table.concat(stream, "\n") .. "\n" }, s.frames)
    end)

    it("subscribers get plain lines of a mixed batch wrapped, JSON verbatim",
      function()
        local m, _, p = start({ provider = "claude" })
        local s = watcher()
        m.output:subscribe(s)
        p:lines({ C.text("Hi"), "not json", C.tool("Bash") })
        assert.are.same({ C.text("Hi") .. "\n" ..
          '{"type":"plain","text":"not json"}\n' .. C.tool("Bash") .. "\n" },
          s.frames)
      end)

    it("what subscribers get is valid UTF-8 even when the agent's is not",
      function()
        local m, _, p = start({ provider = "claude" })
        local s = watcher()
        m.output:subscribe(s)
        -- a JSON line, which goes out verbatim, and a plain one
        local bad = '{"type":"assistant","message":{"content":' ..
          '[{"type":"text","text":"a\xffb"}]}}'
        p:lines({ bad })
        p:lines({ "bad \xff byte" })
        assert.are.equal(2, #s.frames)
        for _, f in ipairs(s.frames) do
          assert.is_truthy(utf8.len(f), f)
        end
        local evs = s:events()
        assert.are.equal("assistant", evs[1].type)
        assert.are.equal("plain", evs[2].type)
        -- the log has the text as the agent wrote it
        assert.are.equal("a\xffb\nbad \xff byte\n", log_text())
      end)
  end)

  describe("turns", function()
    local function session()
      return start({ provider = "claude", type = "session", command = "" })
    end

    it("two sends: each await gets its own turn's result", function()
      local _, r, p = session()
      local t1 = assert(r:send("one"))
      local t2 = assert(r:send("two"))
      assert.are.equal(1, t1)
      assert.are.equal(2, t2)
      local got1, got2 = {}, {}
      local function into(list)
        return function(res, why) list[#list + 1] = res and res.text or why end
      end
      r:await(t1, into(got1))
      r:await(t2, into(got2))
      p:lines({ C.result("answer one") })
      assert.are.same({ "answer one" }, got1)
      assert.are.same({}, got2)
      p:lines({ C.result("answer two") })
      assert.are.same({ "answer one" }, got1)
      assert.are.same({ "answer two" }, got2)
    end)

    it("the first message's result does not answer the user's send",
      function()
        local _, r, p = start({ provider = "claude", type = "session",
                                command = "warm up" })
        local t = assert(r:send("the real question"))
        assert.are.equal(2, t)
        local got = {}
        r:await(t, function(res) got[#got + 1] = res.text end)
        p:lines({ C.result("warmed up") })
        assert.are.same({}, got)
        p:lines({ C.result("the real answer") })
        assert.are.same({ "the real answer" }, got)
      end)

    it("an await for a turn already answered is answered at once", function()
      local m, r, p = session()
      local t = r:send("q")
      p:lines({ C.result("a") })
      local got
      local h = r:await(t, function(res) got = res end)
      assert.is_nil(h)
      assert.are.equal(m.result, got)
      assert.are.equal("a", got.text)
    end)

    it("the attempt's end fails the waits left with `exited`", function()
      local m, r, p = session()
      local t1, t2 = r:send("one"), r:send("two")
      local got = {}
      local function into(res, why) got[#got + 1] = res and res.text or why end
      r:await(t1, into)
      r:await(t2, into)
      p:lines({ C.result("first") })
      p:exit(0)
      assert.are.same({ "first", "exited" }, got)
      assert.are.equal(1, #W.exits)
      assert.are.equal(m, W.exits[1].m)
      assert.are.equal(0, W.exits[1].code)
      assert.is_false(W.exits[1].crash)
      -- what the mission left in its process group goes too
      assert.are.same({ { -4242, "KILL" } }, W.kills)
    end)

    it("close fails them too, and lets go of the attempt", function()
      local m, r, p = session()
      local got = {}
      r:await(r:send("q"), function(res, why) got[#got + 1] = why end)
      r:close()
      assert.are.same({ "exited" }, got)
      assert.is_true(p.closed)
      assert.is_false(r.live)
      assert.is_nil(m.run)
      assert.is_nil(m.output.run)
      -- the Output stays for the next attempt
      assert.is_table(m.output)
    end)

    it("a wait cancelled is never answered", function()
      local _, r, p = session()
      local called = 0
      local h = r:await(r:send("q"), function() called = called + 1 end)
      r:cancel_wait(h)
      p:lines({ C.result("a") })
      p:exit(0)
      r:close()
      assert.are.equal(0, called)
    end)

    it("a new attempt counts its turns from 1", function()
      local m, r1, p1 = session()
      r1:send("one")
      r1:send("two")
      p1:exit(0)
      r1:close()
      local r2 = run.start(m, W.ctx)
      assert.are.equal(1, r2:send("again"))
      local got
      r2:await(1, function(res) got = res.text end)
      W.proc():lines({ C.result("fresh") })
      assert.are.equal("fresh", got)
    end)

    it("a signal's death is 128+N for the supervisor", function()
      local _, _, p = session()
      p:exit(0, "KILL")
      assert.are.equal(137, W.exits[1].code)
    end)
  end)

  describe("send", function()
    it("writes the message, logs `[human] <message>`, tells subscribers",
      function()
        local m, r, p = start({ type = "session", command = "cat" })
        local s = watcher()
        m.output:subscribe(s)
        p:output("prompt> ")
        assert.are.equal(1, r:send("hello"))
        assert.are.same({ "hello\n" }, p.written)
        assert.are.equal("prompt> \n[human] hello\n", log_text())
        assert.are.same({ '{"type":"human","text":"hello"}\n' }, s.frames)
      end)

    it("stdin_full: near 8 MiB queued, nothing is written, not even the log",
      function()
        local m, r, p = start({ type = "session", command = "cat" })
        local s = watcher()
        m.output:subscribe(s)
        assert.are.equal(8 << 20, run.STDIN_MAX)
        p.queued = run.STDIN_MAX - 5
        local turn, err = r:send("hello world")
        assert.is_nil(turn)
        assert.are.equal("stdin_full", err)
        assert.are.same({}, p.written)
        assert.are.equal("", log_text())
        assert.are.same({}, s.frames)
        -- the queue drains: the next send is the first turn
        p.queued = 0
        assert.are.equal(1, r:send("hello world"))
      end)

    it("a message that fills the queue exactly is accepted", function()
      local _, r, p = start({ type = "session", command = "cat" })
      p.queued = run.STDIN_MAX - #"hello world\n"
      assert.are.equal(1, r:send("hello world"))
      assert.are.same({ "hello world\n" }, p.written)
    end)

    it("a write that fails: not_running, and no `[human]` line", function()
      local _, r, p = start({ type = "session", command = "cat" })
      p.write_fails = true
      assert.are.same({ nil, "not_running" }, { r:send("hi") })
      assert.are.equal("", log_text())
    end)

    it("after the exit: not_running, nothing written", function()
      local _, r, p = start({ type = "session", command = "cat" })
      p:exit(0)
      assert.are.same({ nil, "not_running" }, { r:send("hi") })
      assert.are.same({}, p.written)
    end)

    it("a provider whose encode_message raises: provider_error", function()
      user_provider("enc", [[
        return {
          build_command = function() return "cat" end,
          encode_message = function(t)
            if t == "bad" then error("cannot encode") end
            if t == "none" then return 42 end
            return "<" .. t .. ">"
          end,
        }
      ]])
      local _, r, p = start({ type = "session", provider = "enc" })
      local turn, err = r:send("bad")
      assert.is_nil(turn)
      assert.is_truthy(err:find("^provider_error: .*cannot encode"), err)
      assert.are.same({ nil, "provider_error: encode_message gave no bytes" },
        { r:send("none") })
      assert.are.same({}, p.written)
      assert.are.equal(1, r:send("ok"))
      assert.are.same({ "<ok>" }, p.written)
    end)
  end)

  describe("a provider that raises", function()
    it("on one line: logged, and the batch goes on", function()
      user_provider("fragile", [[
        return {
          build_command = function() return "x" end,
          parse = function(line)
            if line == "boom" then error("bad line") end
            return { type = "text", text = line:upper() }
          end,
        }
      ]])
      local _, _, p = start({ provider = "fragile" })
      p:lines({ "a", "boom", "b" })
      assert.are.equal("A\nB\n", log_text())
      assert.are.equal(1, #W.logs)
      assert.is_truthy(W.logs[1]:find("mission " .. ID .. ": provider_error:",
        1, true), W.logs[1])
      assert.is_truthy(W.logs[1]:find("bad line", 1, true), W.logs[1])
      -- and later batches too
      p:lines({ "c" })
      assert.are.equal("A\nB\nC\n", log_text())
    end)

    it("on every line: each is logged, the batch ends", function()
      user_provider("broken", [[
        return {
          build_command = function() return "x" end,
          parse = function() error("always") end,
        }
      ]])
      local _, _, p = start({ provider = "broken" })
      p:lines({ "a", "b", "c" })
      assert.are.equal(3, #W.logs)
      assert.are.equal("", log_text())
    end)

    it("in format: logged, the other lines still logged", function()
      user_provider("badfmt", [[
        return {
          build_command = function() return "x" end,
          format = function(ev)
            if ev.text == "2" then error("no format") end
            return "[" .. ev.text .. "]"
          end,
        }
      ]])
      local _, _, p = start({ provider = "badfmt" })
      p:lines({ "1", "2", "3" })
      assert.are.equal("[1]\n[3]\n", log_text())
      assert.are.equal(1, #W.logs)
    end)
  end)

  describe("streamed fragments (gemini)", function()
    it("join into one line across batches; the open line ends at exit",
      function()
        local _, _, p = start({ provider = "gemini", command = "q" })
        p:lines({ G.delta("Hel"), G.delta("lo") })
        assert.are.equal("Hello", log_text())
        p:lines({ G.delta(" world") })
        assert.are.equal("Hello world", log_text())
        p:exit(0)
        assert.are.equal("Hello world\n", log_text())
      end)

    it("a whole line after an open fragment line starts a line of its own",
      function()
        local _, _, p = start({ provider = "gemini", command = "q" })
        p:lines({ G.delta("Thinking") })
        p:lines({ G.tool("read_file"), G.delta("Done"), G.delta(".") })
        assert.are.equal("Thinking\n[tool] read_file\nDone.", log_text())
        p:lines({ G.tool("write_file") })
        assert.are.equal("Thinking\n[tool] read_file\nDone.\n" ..
          "[tool] write_file\n", log_text())
        p:exit(0)
        -- no open line: no extra newline at exit
        assert.are.equal("Thinking\n[tool] read_file\nDone.\n" ..
          "[tool] write_file\n", log_text())
      end)

    it("the answer is the fragments joined", function()
      local m, _, p = start({ provider = "gemini", command = "q" })
      p:lines({ G.delta("Hel") })
      p:lines({ G.delta("lo"), G.result() })
      assert.are.equal("Hello", m.result.text)
      assert.is_false(m.result.is_error)
      assert.are.equal(5, m.result.duration_ms)
    end)

    it("the answer is the last message, not glued to a whole one before it",
      function()
        local m, _, p = start({ provider = "gemini", command = "q" })
        local whole = json.encode({ type = "message", role = "assistant",
                                    content = "Intro" })
        p:lines({ whole, G.delta("Fin"), G.delta("al"), G.result() })
        assert.are.equal("Final", m.result.text)
        -- the result ends the streamed line
        assert.are.equal("Intro\nFinal\n", log_text())
      end)
  end)

  describe("a user provider that parses", function()
    it("gets each line's text and decoded JSON; its events carry `raw`",
      function()
        user_provider("seer", [[
          return {
            build_command = function() return "x" end,
            parse = function(line, raw)
              if type(raw) ~= "table" then return nil end
              return { type = "text", text = line .. " | " .. tostring(raw.k) }
            end,
            format = function(ev)
              local r = ev.raw
              return ev.text .. " | raw:" ..
                (type(r) == "table" and tostring(r.k) or "none")
            end,
          }
        ]])
        local _, _, p = start({ provider = "seer" })
        assert.is_true(p.opts.decode)
        assert.is_nil(p.opts.fields)
        assert.is_true(p.opts.json_lines)
        p:lines({ '{"k":"v1","other":2}', "plain words" })
        assert.are.equal('{"k":"v1","other":2} | v1 | raw:v1\n' ..
          "plain words | raw:none\n", log_text())
      end)
  end)

  describe("a user provider with only build_command and format", function()
    local SOURCE = [[
      return {
        build_command = function(m) return "echo " .. m.command end,
        format = function(ev)
          if ev.text == "skip" then return nil end
          return "> " .. ev.text
        end,
      }
    ]]

    it("formats the plain lines it is given (SPEC §8)", function()
      user_provider("fmtonly", SOURCE)
      local _, _, p = start({ provider = "fmtonly", command = "x" })
      assert.are.same({ "sh", "-c", "echo x" }, p.opts.args)
      assert.is_true(p.delivering)
      assert.is_falsy(p.opts.decode)
      assert.are.equal(W.files[events_path()], p.opts.log)
      p:lines({ "a", "skip", "b" })
      assert.are.equal("> a\n> b\n", log_text())
      assert.are.equal("a\nskip\nb\n", W.files[events_path()]:text())
    end)

    it("its subscribers get the lines as plain events", function()
      user_provider("fmtonly", SOURCE)
      local m, _, p = start({ provider = "fmtonly", command = "x" })
      local s = watcher()
      m.output:subscribe(s)
      p:lines({ "a", "b" })
      assert.are.same({ '{"type":"plain","text":"a"}\n' ..
        '{"type":"plain","text":"b"}\n' }, s.frames)
    end)
  end)

  describe("Output:finish", function()
    it("ends every stream, closes the files, lets go of the mission",
      function()
        local m, r, p = start({ provider = "claude" })
        local f1, f2, s = watcher(), watcher(), watcher()
        m.output:follow(f1)
        m.output:follow(f2)
        m.output:subscribe(s)
        local out = m.output
        p:exit(0)
        r:close()
        m.exit_code = 0
        out:finish("stopped")
        for _, f in ipairs({ f1, f2 }) do
          assert.are.same(
            { { ["end"] = { status = "stopped", exit_code = 0 } } }, f.sent)
          assert.are.equal(1, f.finished)
        end
        assert.are.equal(1, s.finished)
        assert.are.same({}, s.sent)
        assert.is_true(W.files[log_path()].closed)
        assert.is_true(W.files[events_path()].closed)
        assert.is_nil(m.output)
        assert.are.equal(0, out.nfollow)
        assert.are.equal(0, out.nsub)
      end)

    it("a mission with no exit code ends its followers with null", function()
      local m = mission()
      local out = run.output_of(m, W.ctx)
      local f = watcher()
      out:follow(f)
      out:finish("killed")
      assert.are.equal(1, #f.sent)
      assert.are.equal("killed", f.sent[1]["end"].status)
      assert.are.equal(json.null, f.sent[1]["end"].exit_code)
    end)

    it("a finished Output sends nothing more to its old watchers", function()
      local m = mission()
      local out = run.output_of(m, W.ctx)
      local f, s = watcher(), watcher()
      out:follow(f)
      out:subscribe(s)
      out:write_log("x\n")
      out:finish("stopped")
      local nf, ns = #f.frames, #s.frames
      local again = run.output_of(m, W.ctx)
      assert.are_not.equal(out, again)
      again:write_log("y\n")
      again:event({ type = "exit", status = "stopped", exit_code = 0 })
      assert.are.equal(nf, #f.frames)
      assert.are.equal(ns, #s.frames)
      -- the log was opened again, after the first one closed
      assert.are.equal(2, W.opens[log_path()])
    end)
  end)

  describe("restarts", function()
    it("a new Run of the mission continues the same Output and watchers",
      function()
        local m, r1, p1 = start({ type = "session", command = "cat" })
        local out = m.output
        local f, s = watcher(), watcher()
        out:follow(f)
        out:subscribe(s)
        p1:output("first run\n")
        p1:exit(1)
        r1:close()
        out:mark("--- restarting ---")
        local r2 = assert(run.start(m, W.ctx))
        local p2 = W.proc()
        assert.are_not.equal(p1, p2)
        assert.are.equal(out, r2.out)
        assert.are.equal(out, m.output)
        assert.are.equal(r2, out.run)
        assert.are.equal(1, W.opens[log_path()])
        assert.is_true(p2.chunks_on)
        assert.is_true(p2.delivering)
        p2:output("second run\n")
        local want = "first run\n--- restarting ---\nsecond run\n"
        assert.are.equal(want, log_text())
        assert.are.equal(want, f:data())
        local texts = {}
        for _, ev in ipairs(s:events()) do texts[#texts + 1] = ev.text end
        assert.are.same({ "first run", "second run" }, texts)
      end)

    it("closing the old Run after the new one started leaves the new one",
      function()
        local m, r1, p1 = start()
        p1:exit(0)
        local r2 = assert(run.start(m, W.ctx))
        r1:close()
        assert.are.equal(r2, m.run)
        assert.are.equal(r2, m.output.run)
        -- and the new attempt still gets its watchers' deliveries
        local s = watcher()
        m.output:subscribe(s)
        assert.is_true(W.proc().delivering)
        assert.is_false(p1.delivering)
      end)
  end)

  describe("requests on a live run", function()
    it("idle is the process's", function()
      local _, r, p = start({ provider = "claude", type = "session",
                              command = "" })
      p.idle_ms = 5000
      assert.are.equal(5000, r:idle())
    end)

    it("kill, resize, write and tail reach the process", function()
      local _, r, p = start({ type = "session", pty = true, command = "sh" })
      assert.is_true(r:kill("INT"))
      assert.is_true(r:kill())
      assert.are.same({ "INT", "TERM" }, p.kills)
      assert.is_true(r:resize(40, 120))
      assert.are.same({ 40, 120 }, p.size)
      assert.are.equal(3, r:write("ls\r"))
      assert.are.same({ "ls\r" }, p.written)
      assert.are.equal("the tail", r:tail())
      -- raw bytes are not a message: no `[human]` line
      assert.are.equal("", log_text())
    end)
  end)
end)
