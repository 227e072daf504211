-- Helpers for the agent specs (SPEC §6): the CLI doubles, claude missions
-- pointed at them, event subscribers on the socket, and `overmind` run in
-- a real pseudo-terminal (for attach).  Built on support.e2e.
local e2e = require("support.e2e")
local core = require("overmind.core")
local cjson = require("cjson")
local loop_until = require("core.helper").run_until

local A = {}

A.claude = e2e.root .. "/tests/doubles/claude"
A.codex = e2e.root .. "/tests/doubles/codex"
A.gemini = e2e.root .. "/tests/doubles/gemini"
A.flood = e2e.root .. "/tests/doubles/flood"

-- The claude double's transcripts for home `h` (inside the home, so
-- e2e.cleanup removes them).
function A.claude_home(h)
  local d = h.home .. "/claude-double"
  core.mkdir(d)
  return d
end

-- `run` flags that point a mission at the claude double, plus `--env K=V`
-- for every extra "K=V" in `env`.
function A.claude_flags(h, env)
  local f = { "--env", "OVERMIND_CLAUDE_BIN=" .. A.claude,
              "--env", "CLAUDE_DOUBLE_HOME=" .. A.claude_home(h) }
  for _, kv in ipairs(env or {}) do
    f[#f + 1] = "--env"
    f[#f + 1] = kv
  end
  return f
end

-- The CLI's own environment for commands that run claude themselves
-- (attach).
function A.cli_env(h, bin)
  return { "OVERMIND_CLAUDE_BIN=" .. (bin or A.claude),
           "CLAUDE_DOUBLE_HOME=" .. A.claude_home(h) }
end

local function concat(...)
  local out = {}
  for _, t in ipairs({ ... }) do
    for _, v in ipairs(t) do out[#out + 1] = v end
  end
  return out
end
A.concat = concat

-- Starts a claude mission (`run --provider claude <flags...> <words...>`)
-- and returns its id.
function A.run_claude(h, args, env)
  return e2e.run(h, concat({ "--provider", "claude" }, A.claude_flags(h, env),
    args))
end

-- The prompts the double saved for conversation `sid`.
function A.transcript(h, sid)
  local s = e2e.read_all(A.claude_home(h) .. "/" .. sid .. ".json")
  if s == "" then return nil end
  return cjson.decode(s)
end

-- Lines of a string, without their newlines.
function A.lines(s)
  local out = {}
  for l in s:gmatch("([^\n]*)\n") do out[#out + 1] = l end
  return out
end

-- A mission's events file (the raw stream-json lines the agent printed).
function A.events(h, id)
  local out = {}
  local s = e2e.read_all(h.home .. "/missions/" .. id .. "/events.jsonl")
  for _, l in ipairs(A.lines(s)) do
    local ok, v = pcall(e2e.json_decode, l)
    if ok then out[#out + 1] = v end
  end
  return out
end

-- ---- subscribers on the socket ----------------------------------------------

-- A streaming request (`subscribe`, `events`) straight on the socket.
-- Returns a stream whose first line (the reply) has been read, so every
-- line sent after this call reaches it: `reply` decoded, `reply_line` as
-- it came.
function A.stream(h, cmd, args)
  local c = assert(core.connect(h.home .. "/overmind.sock"))
  assert(c:send(cjson.encode({ cmd = cmd, args = args or {} }) .. "\n"))
  local reply, err = c:recv(10000)
  assert(reply, "no reply to " .. cmd .. ": " .. tostring(err))
  local s = { c = c, reply = e2e.json_decode(reply), reply_line = reply,
              lines = {}, eof = false }
  -- Reads lines until pred(lines) is true, the stream ends or `timeout`
  -- seconds pass; returns pred's value.
  function s:read_until(pred, timeout)
    local deadline = core.now() + math.floor((timeout or 10) * 1000)
    while true do
      local v = pred(self.lines)
      if v then return v end
      if self.eof then return nil end
      local left = deadline - core.now()
      if left <= 0 then return nil end
      local line, rerr = self.c:recv(math.min(left, 200))
      if line then
        self.lines[#self.lines + 1] = line
      elseif rerr == "eof" then
        self.eof = true
      end
    end
  end
  -- Reads until the stream ends; returns the lines.
  function s:read_all(timeout)
    self:read_until(function() return false end, timeout)
    return self.lines
  end
  function s:close() self.c:close() end
  return s
end

-- Subscribes to mission `id` (SPEC §6).
function A.subscribe(h, id)
  return A.stream(h, "subscribe", { id = id })
end

-- The index of the first line (JSON-decoded) for which pred is true.
function A.find(lines, pred, from)
  for i = from or 1, #lines do
    local ok, v = pcall(e2e.json_decode, lines[i])
    if ok and type(v) == "table" and pred(v, lines[i]) then return i, v end
  end
end

-- ---- a real terminal ------------------------------------------------------------

-- Runs the loop until pred() is true or `timeout` seconds pass (the core
-- specs' loop helper, which counts in ms).
local function run_until(pred, timeout)
  return loop_until(pred, math.floor((timeout or 10) * 1000))
end
A.run_until = run_until

-- Runs `overmind <args...>` against `h` on a pseudo-terminal of rows x cols.
-- opts.env: extra "K=V".  Returns a terminal: t:write(bytes),
-- t:screen() (every byte it printed), t:expect(text[, timeout][, from])
-- (waits until the output holds `text` past byte `from`; returns the
-- position after it), t:resize(rows, cols), t:wait_exit(timeout) -> its
-- exit status (128 + N when signal N killed it).
function A.terminal(h, args, opts)
  opts = opts or {}
  local words = { "exec", "env", "OVERMIND_HOME=" .. e2e.quote(h.home) }
  for _, kv in ipairs(opts.env or {}) do words[#words + 1] = e2e.quote(kv) end
  words[#words + 1] = e2e.quote(e2e.bin)
  for _, a in ipairs(args) do words[#words + 1] = e2e.quote(a) end
  local t = { exited = false }
  local p, err = core.spawn({
    file = "/bin/sh", args = { "sh", "-c", table.concat(words, " ") },
    pty = { rows = opts.rows or 24, cols = opts.cols or 80 },
    tail = 1 << 20,
    on_exit = function(status, sig)
      -- a signal counts as the shell would show it: 128 + N
      if sig then status = 128 + core.signum(sig) end
      t.exited, t.status, t.signal = true, status, sig
    end,
  })
  assert(p, err)
  t.p = p
  function t:pid() return p:pid() end
  function t:write(s) return p:write(s) end
  function t:resize(r, c) return p:resize(r, c) end
  function t:screen()
    core.run("nowait")
    return p:tail()
  end
  function t:expect(text, timeout, from)
    local at
    local ok = run_until(function()
      local _, e = p:tail():find(text, from or 1, true)
      at = e
      return e ~= nil
    end, timeout or 10)
    if not ok then
      error(("timed out waiting for %q on the terminal; it shows %q")
        :format(text, p:tail()), 2)
    end
    return at + 1
  end
  function t:wait_exit(timeout)
    run_until(function() return t.exited end, timeout or 10)
    if not t.exited then
      error("the terminal's program did not exit; it shows " ..
        ("%q"):format(p:tail()), 2)
    end
    return t.status
  end
  function t:kill()
    if not t.exited then
      p:kill("KILL")
      run_until(function() return t.exited end, 5)
    end
    pcall(p.close, p)
    core.run("nowait")
  end
  h.terms = h.terms or {}
  h.terms[#h.terms + 1] = t
  return t
end

-- Kills what A.terminal left running; call before e2e.cleanup.
function A.cleanup(h)
  for _, t in ipairs(h.terms or {}) do pcall(t.kill, t) end
  h.terms = nil
end

-- Kills a whole process group from outside.
function A.kill_group(pgid, sig)
  assert(core.kill(-pgid, sig or "KILL"))
end

-- The live processes whose command line holds `needle`.
function A.procs_with(needle)
  local out = {}
  for _, st in ipairs(e2e.procs()) do
    if st.state ~= "Z" and st.state ~= "X" then
      local cmd = e2e.read_all("/proc/" .. st.pid .. "/cmdline"):gsub("%z", " ")
      if cmd:find(needle, 1, true) then
        st.cmdline = cmd
        out[#out + 1] = st
      end
    end
  end
  return out
end

return A
