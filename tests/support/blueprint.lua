-- Helpers for the blueprint, script and REPL end-to-end specs (SPEC §7),
-- on top of support.e2e: blueprint files in a private home, missions by
-- name, and an `overmind repl` driven through a pseudo-terminal.
local e2e = require("support.e2e")
local core = require("overmind.core")

local B = {}

-- Writes `text` to <home>/<name> and returns the absolute path.
function B.write(h, name, text)
  local path = h.home .. "/" .. name
  e2e.write_file(path, text)
  return path
end

-- The newest mission named `name` in `ps --json`, or nil.
function B.find(h, name)
  local list = e2e.request(h, "ps", {}) or e2e.ps_json(h)
  local found
  for _, m in ipairs(list) do
    if m.name == name then found = m end
  end
  return found
end

-- Waits until a mission named `name` exists; returns its info.
function B.wait_named(h, name, timeout)
  return e2e.wait_for(function() return B.find(h, name) end, timeout or 10,
    "a mission named " .. name)
end

-- The set of mission ids `ps` shows.
function B.ids(h)
  local out = {}
  for _, m in ipairs(e2e.ps_json(h)) do out[m.id] = m.name end
  return out
end

-- The lines of a text.
function B.lines(text)
  local out = {}
  for l in text:gmatch("([^\n]*)\n") do out[#out + 1] = l end
  return out
end

function B.index_of(list, value)
  for i, v in ipairs(list) do if v == value then return i end end
end

-- Runs the event loop until pred() is true or `ms` have passed; returns
-- pred()'s last value (the core specs' helper).
B.run_until = require("core.helper").run_until

-- ---- the REPL on a pseudo-terminal -------------------------------------------

local Repl = {}
Repl.__index = Repl

-- Starts `overmind repl` against `h` on a 24x80 terminal.
function B.repl(h, env)
  local args = { "env", "OVERMIND_HOME=" .. h.home, "TERM=xterm" }
  for _, kv in ipairs(env or {}) do args[#args + 1] = kv end
  args[#args + 1] = e2e.bin
  args[#args + 1] = "repl"
  local r = setmetatable({ pos = 1, h = h }, Repl)
  r.p = assert(core.spawn({
    file = "/usr/bin/env", args = args, cwd = h.home,
    pty = { rows = 24, cols = 80 }, deliver = true, tail = 1024 * 1024,
    on_output = function() end,
    on_exit = function(status, sig)
      r.exited, r.status, r.signal = true, status, sig
    end,
  }))
  h.repls = h.repls or {}
  table.insert(h.repls, r)
  return r
end

-- Everything the terminal showed so far.
function Repl:text()
  return self.p:tail() or ""
end

-- Waits until `s` appears (plain text) after what earlier expects
-- consumed; returns the text between the old position and the end of the
-- match.  Fails with the screen's contents after `ms`.
function Repl:expect(s, ms)
  local from, to
  local ok = B.run_until(function()
    from, to = self:text():find(s, self.pos, true)
    return from ~= nil
  end, ms or 10000)
  if not ok then
    error(("timed out waiting for %q in the REPL; after the last match it showed %q")
      :format(s, self:text():sub(self.pos)), 2)
  end
  local seen = self:text():sub(self.pos, to)
  self.pos = to + 1
  return seen
end

-- The REPL's terminal, from its stdin (env execs overmind: same pid).
function Repl:pts()
  if not self.tty then
    self.tty = e2e.sh("readlink /proc/" .. self.p:pid() .. "/fd/0"):gsub("%s+$", "")
  end
  return self.tty
end

-- Waits for a prompt (default `om> `) and then for line editing to be on
-- (the terminal out of canonical mode): libedit writes the prompt before
-- it switches the terminal to raw mode, and keys typed in between are
-- handled by the kernel's line discipline instead of the editor.
function Repl:prompt(s, ms)
  local seen = self:expect(s or "om> ", ms)
  local pts = self:pts()
  local ok = B.run_until(function()
    if self.exited then return true end
    local out = e2e.sh("stty -F " .. e2e.quote(pts) .. " -a 2>/dev/null")
    return out:find("-icanon", 1, true) ~= nil
  end, ms or 10000)
  if not ok then error("the REPL's terminal never left canonical mode", 2) end
  return seen
end

function Repl:send(bytes)
  assert(self.p:write(bytes))
end

-- Sends a line as typed (Enter is a carriage return on a terminal).
function Repl:line(s)
  self:send(s .. "\r")
end

-- Waits for the process to exit; returns its status.
function Repl:wait_exit(ms)
  local ok = B.run_until(function() return self.exited end, ms or 10000)
  if not ok then error("the REPL did not exit; it showed " .. self:text(), 2) end
  return self.status
end

-- Kills every REPL still running for `h` (call before e2e.cleanup).
function B.close_repls(h)
  for _, r in ipairs(h.repls or {}) do
    if not r.exited then
      pcall(r.p.kill, r.p, "KILL")
      B.run_until(function() return r.exited end, 5000)
    end
    pcall(r.p.close, r.p)
  end
  h.repls = nil
  core.run("nowait") -- close callbacks
end

return B
