-- Shared helpers for the core specs (not a spec itself: busted only runs
-- *_spec.lua).  Specs drive the one libuv loop of this process; they never
-- sleep for a fixed time: they run the loop until what they wait for has
-- happened, with a deadline so a broken core fails instead of hanging.
local core = require("overmind.core")

local H = {}

-- Runs the loop until pred() is true or `timeout_ms` has passed; returns
-- pred()'s last value.  A repeating 5 ms timer wakes the loop so the
-- deadline is checked even when nothing else happens.
function H.run_until(pred, timeout_ms)
  local deadline = core.now() + (timeout_ms or 5000)
  local v = pred()
  if v then return v end
  local tick = core.timer()
  tick:start(5, 5, function() end)
  while core.now() < deadline do
    core.run("once")
    v = pred()
    if v then break end
  end
  tick:close()
  core.run("nowait") -- the tick's close callback
  return v
end

-- Runs the loop until no handle is left (what core.run() does), with a
-- deadline; returns true when the loop is idle.
function H.settle(timeout_ms)
  local deadline = core.now() + (timeout_ms or 5000)
  while core.loop_alive() and core.now() < deadline do
    local t = core.timer()
    t:start(10, 0, function() end)
    core.run("once")
    t:close()
    core.run("nowait")
  end
  return not core.loop_alive()
end

function H.sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("a")
  p:close()
  return out
end

-- A fresh temporary directory; H.rmdir removes it.
function H.tmpdir()
  local d = H.sh("mktemp -d /tmp/om-core.XXXXXX"):gsub("%s+$", "")
  assert(d:match("^/tmp/om%-core%.%w+$"), "mktemp failed: " .. d)
  return d
end

function H.rmdir(d)
  if d and d:match("^/tmp/om%-core%.%w+$") then
    os.execute("rm -rf '" .. d .. "'")
  end
end

function H.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function H.write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- Open file descriptors of this process.
function H.fds()
  return #assert(core.listdir("/proc/self/fd"))
end

-- Is `pid` a live process (a zombie counts as dead)?
function H.alive(pid)
  local s = H.read("/proc/" .. pid .. "/stat")
  if not s then return false end
  local state = s:match("%) (%a)")
  return state ~= "Z" and state ~= "X"
end

-- Collects every error the core reports from a Lua callback (om_pcall),
-- instead of letting it go to stderr.  H.errors is reset per call.
H.errors = {}
function H.capture_errors()
  H.errors = {}
  core.on_error(function(msg) H.errors[#H.errors + 1] = msg end)
end

-- Spawns `sh -c cmd` with sensible defaults and records what happens:
-- returns the process and a record { lines, batches, exited, status,
-- signal }.
function H.sh_spawn(cmd, opts)
  local rec = { lines = {}, batches = 0, decoded = {}, exited = false }
  local o = {
    file = "/bin/sh", args = { "sh", "-c", cmd }, deliver = true,
    on_output = function(lines, decoded)
      rec.batches = rec.batches + 1
      for i, l in ipairs(lines) do
        rec.lines[#rec.lines + 1] = l
        if decoded then rec.decoded[#rec.decoded + 1] = decoded[i] end
      end
    end,
    on_exit = function(status, sig)
      rec.exited = true
      rec.exits = (rec.exits or 0) + 1
      rec.status, rec.signal = status, sig
    end,
  }
  for k, v in pairs(opts or {}) do o[k] = v end
  local p, err, code = core.spawn(o)
  return p, rec, err, code
end

-- Runs a Lua chunk in a separate `overmind -l` process (for what might
-- crash or must own the whole loop) and waits for it, with a deadline.
-- Returns { status, signal, out } or nil, "timeout".
function H.run_lua(src, timeout_ms, dir)
  local own = not dir
  dir = dir or H.tmpdir()
  local file = dir .. "/child.lua"
  H.write(file, src)
  local exe = assert(core.exepath())
  local p, rec = H.sh_spawn("", {
    file = exe, args = { exe, "-l", file }, tail = 1 << 20,
  })
  assert(p, rec)
  local done = H.run_until(function() return rec.exited end,
    timeout_ms or 10000)
  local out = p:tail()
  if not done then
    p:kill("KILL")
    H.run_until(function() return rec.exited end, 5000)
  end
  if own then H.rmdir(dir) end
  if not done then return nil, "timeout", out end
  return { status = rec.status, signal = rec.signal, out = out,
           lines = rec.lines }
end

return H
