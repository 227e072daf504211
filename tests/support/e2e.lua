-- Helpers for end-to-end specs: each spec gets a private OVERMIND_HOME in
-- a temporary directory, drives the real binary (OVERMIND_BIN, default
-- build/overmind) and shuts its daemon down afterwards.
local M = {}

local function abspath(p)
  if p:sub(1, 1) == "/" then return p end
  local pwd = os.getenv("PWD") or io.popen("pwd"):read("l")
  return pwd .. "/" .. p
end

M.bin = abspath(os.getenv("OVERMIND_BIN") or "build/overmind")
M.root = abspath(".")

function M.quote(s)
  s = tostring(s)
  if s:match("^[%w%._/=:,%-]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function read_all(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  -- A /proc file whose process exits between open and read reads as nil.
  local s = f:read("a") or ""
  f:close()
  return s
end
M.read_all = read_all

function M.sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

-- A fresh home: { home = dir, env = "OVERMIND_HOME=... " }.
function M.new_home()
  local dir = M.sh("mktemp -d /tmp/om-test.XXXXXX"):gsub("%s+$", "")
  return { home = dir }
end

-- Runs `overmind <args...>` against `h`; returns { out, err, code }.
-- opts.env: extra "K=V" strings; opts.stdin: text fed to stdin;
-- opts.cwd: the directory to run it in; opts.timeout: seconds after which
-- it gets SIGTERM (exit status 124), for commands that might hang.
function M.om(h, args, opts)
  opts = opts or {}
  local parts = { "env", "OVERMIND_HOME=" .. M.quote(h.home) }
  if opts.timeout then table.insert(parts, 1, "timeout " .. opts.timeout) end
  if opts.cwd then table.insert(parts, 1, "cd " .. M.quote(opts.cwd) .. " &&") end
  for _, kv in ipairs(opts.env or {}) do parts[#parts + 1] = M.quote(kv) end
  parts[#parts + 1] = M.quote(M.bin)
  for _, a in ipairs(args) do parts[#parts + 1] = M.quote(a) end
  local errf = os.tmpname()
  local cmd = table.concat(parts, " ") .. " 2>" .. errf
  if opts.stdin then
    local inf = os.tmpname()
    local f = io.open(inf, "wb")
    f:write(opts.stdin)
    f:close()
    cmd = cmd .. " <" .. inf
    opts._in = inf
  else
    cmd = cmd .. " </dev/null"
  end
  local out, code = M.sh(cmd)
  local err = read_all(errf)
  os.remove(errf)
  if opts._in then os.remove(opts._in) end
  return { out = out, err = err, code = code }
end

-- Shorthand: runs and returns stdout, asserting exit status 0.
function M.ok(h, args, opts)
  local r = M.om(h, args, opts)
  if r.code ~= 0 then
    error(("overmind %s failed (%d): %s%s"):format(table.concat(args, " "),
      r.code, r.out, r.err), 2)
  end
  return r.out
end

-- Starts a mission and returns its id.
function M.run(h, args, opts)
  local full = { "run", "--json" }
  for _, a in ipairs(args) do full[#full + 1] = a end
  local out = M.ok(h, full, opts)
  return assert(out:match('"id":"(%x+)"'), "no id in: " .. out)
end

function M.info(h, id)
  return M.json_decode(M.ok(h, { "info", id }))
end

function M.now()
  local ok, core = pcall(require, "overmind.core")
  if ok then return core.now() / 1000 end
  return os.time()
end

function M.sleep(s)
  local ok, core = pcall(require, "overmind.core")
  if ok then return core.sleep(math.floor(s * 1000)) end
  os.execute("sleep " .. s)
end

-- Polls `fn` until it returns a truthy value or `timeout` seconds pass.
function M.wait_for(fn, timeout, what)
  local deadline = M.now() + (timeout or 10)
  while true do
    local v = fn()
    if v then return v end
    if M.now() > deadline then
      error("timed out waiting for " .. (what or "condition"), 2)
    end
    M.sleep(0.02)
  end
end

function M.status_of(h, id)
  return M.info(h, id).status
end

function M.daemon_pid(h)
  local s = read_all(h.home .. "/daemon.pid")
  return tonumber(s:match("%d+"))
end

-- /proc/<pid>/stat as { pid, comm, state, ppid, pgrp }, or nil.  comm may
-- hold spaces and parentheses, so the fields are read after the last ')'.
function M.proc_stat(pid)
  pid = math.tointeger(tonumber(pid)) or pid
  local s = read_all("/proc/" .. pid .. "/stat")
  if s == "" then return nil end
  local comm, rest = s:match("^%d+ %((.*)%) (.*)$")
  if not rest then return nil end
  local state, ppid, pgrp = rest:match("^(%S+) (%-?%d+) (%-?%d+)")
  return { pid = tonumber(pid), comm = comm, state = state,
           ppid = tonumber(ppid), pgrp = tonumber(pgrp) }
end

-- Every process on the machine, as proc_stat tables.
function M.procs()
  local core = require("overmind.core")
  local out = {}
  for _, name in ipairs(core.listdir("/proc") or {}) do
    if name:match("^%d+$") then
      local st = M.proc_stat(name)
      if st then out[#out + 1] = st end
    end
  end
  return out
end

-- A process counts as alive while it exists and is not a zombie: PID 1 in
-- this container reaps orphans only every second or so.
function M.alive(pid)
  if not pid then return false end
  local st = M.proc_stat(pid)
  return st ~= nil and st.state ~= "Z" and st.state ~= "X"
end

-- Live (non-zombie) members of process group `pgid`.
function M.group_members(pgid)
  local out = {}
  for _, st in ipairs(M.procs()) do
    if st.pgrp == pgid and st.state ~= "Z" and st.state ~= "X" then
      out[#out + 1] = st
    end
  end
  return out
end

-- Zombie children of `ppid`.
function M.zombies_of(ppid)
  local out = {}
  for _, st in ipairs(M.procs()) do
    if st.ppid == ppid and st.state == "Z" then out[#out + 1] = st end
  end
  return out
end

-- How many file descriptors `pid` holds open.
function M.fd_count(pid)
  local core = require("overmind.core")
  local list = core.listdir("/proc/" .. pid .. "/fd")
  return list and #list or nil
end

-- Shuts the daemon down (killing it if it will not go) and removes the
-- home.  Call from after_each / finally.
function M.cleanup(h)
  for _, b in ipairs(h.bg or {}) do M.stop_bg(b) end
  local pid = M.daemon_pid(h)
  M.om(h, { "shutdown" })
  if pid and M.alive(pid) then
    pcall(M.wait_for, function() return not M.alive(pid) end, 15, "daemon exit")
    if M.alive(pid) then M.sh("kill -9 " .. pid) end
  end
  M.sh("rm -rf " .. M.quote(h.home))
end

-- Sends raw lines to the daemon's socket and collects the reply lines.
function M.raw_request(h, payload, nreplies, timeout_ms)
  local core = require("overmind.core")
  local c = assert(core.connect(h.home .. "/overmind.sock"))
  c:send(payload)
  local replies = {}
  for _ = 1, nreplies or 1 do
    local line = c:recv(timeout_ms or 5000)
    if not line then break end
    replies[#replies + 1] = line
  end
  c:close()
  return replies
end

-- Runs `overmind <args...>` in the background against `h`.  Returns a
-- handle { pid, out, err } (pid: the overmind process itself); M.bg_done(b)
-- gives its exit status once it has ended.  cleanup(h) kills what is left.
function M.spawn(h, args, opts)
  opts = opts or {}
  local dir = M.sh("mktemp -d /tmp/om-bg.XXXXXX"):gsub("%s+$", "")
  local b = { dir = dir, out = dir .. "/out", err = dir .. "/err",
              rc = dir .. "/rc", pidf = dir .. "/pid" }
  local parts = { "env", "OVERMIND_HOME=" .. M.quote(h.home) }
  for _, kv in ipairs(opts.env or {}) do parts[#parts + 1] = M.quote(kv) end
  parts[#parts + 1] = M.quote(M.bin)
  for _, a in ipairs(args) do parts[#parts + 1] = M.quote(a) end
  local inner = table.concat(parts, " ") .. " </dev/null >" .. b.out ..
    " 2>" .. b.err .. " & p=$!; echo $p >" .. b.pidf .. ".tmp; mv " ..
    b.pidf .. ".tmp " .. b.pidf .. "; wait $p; echo $? >" .. b.rc .. ".tmp; mv " ..
    b.rc .. ".tmp " .. b.rc
  M.sh("sh -c " .. M.quote(inner) .. " >/dev/null 2>&1 </dev/null &")
  M.wait_for(function() return read_all(b.pidf):match("%d+") end, 10,
    "background process to start")
  b.pid = tonumber(read_all(b.pidf):match("%d+"))
  h.bg = h.bg or {}
  table.insert(h.bg, b)
  return b
end

-- The exit status of a background process, or nil while it runs.
function M.bg_done(b)
  local s = read_all(b.rc)
  return tonumber(s:match("%d+"))
end

-- Waits for a background process to end; returns its status.
function M.bg_wait(b, timeout, what)
  return M.wait_for(function() return M.bg_done(b) end, timeout or 10,
    what or "background process to end")
end

function M.bg_output(b) return read_all(b.out) end
function M.bg_errors(b) return read_all(b.err) end

-- Kills a background process if it still runs and removes its files.
function M.stop_bg(b)
  if b.stopped then return end
  b.stopped = true
  if not M.bg_done(b) and M.alive(b.pid) then
    M.sh("kill -9 " .. b.pid .. " 2>/dev/null")
    pcall(M.wait_for, function() return M.bg_done(b) end, 5)
  end
  M.sh("rm -rf " .. M.quote(b.dir))
end

function M.write_file(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

-- Decodes JSON with integral numbers as Lua integers (cjson gives floats,
-- and a pid of 123.0 would make "/proc/123.0").  null is cjson.null.
function M.json_decode(s)
  local v = require("cjson").decode(s)
  local function fix(t)
    for k, x in pairs(t) do
      if type(x) == "number" then t[k] = math.tointeger(x) or x
      elseif type(x) == "table" then fix(x) end
    end
    return t
  end
  if type(v) == "table" then return fix(v) end
  return math.tointeger(v) or v
end
M.null = require("cjson").null

-- ps --json as a Lua array.
function M.ps_json(h)
  return M.json_decode(M.ok(h, { "ps", "--json" }))
end

-- One request straight on the socket (no CLI process: polling through the
-- CLI is slow under ASan).  Returns the `ok` value, or nil and the error;
-- nil, "no_daemon" when nothing answers.
function M.request(h, cmd, args)
  local core = require("overmind.core")
  local c = core.connect(h.home .. "/overmind.sock")
  if not c then return nil, "no_daemon" end
  local line = require("cjson").encode({ cmd = cmd, args = args or {} })
  if not c:send(line .. "\n") then
    c:close()
    return nil, "no_daemon"
  end
  local reply = c:recv(10000)
  c:close()
  if not reply then return nil, "no_reply" end
  local v = M.json_decode(reply)
  if v.error ~= nil then return nil, v.error end
  return v.ok
end

-- info through the socket when a daemon answers, else through the CLI
-- (which starts one).
local function quick_info(h, id)
  local m, err = M.request(h, "info", { id = id })
  if m then return m end
  if err == "no_daemon" then return M.info(h, id) end
  error("info " .. id .. ": " .. tostring(err), 3)
end

-- Waits until mission `id` has status `status`; returns its info.
function M.wait_status(h, id, status, timeout)
  local last
  local ok, res = pcall(M.wait_for, function()
    last = quick_info(h, id)
    return last.status == status and last
  end, timeout or 10)
  if not ok then
    error(("timed out waiting for mission %s to be %s (last: %s)")
      :format(id, status, tostring(last and last.status)), 2)
  end
  return res
end

-- A mission's whole output as on disk (rotated files first).
function M.log_text(h, id)
  local base = h.home .. "/missions/" .. id .. "/output.log"
  local parts = {}
  for k = 3, 1, -1 do parts[#parts + 1] = read_all(base .. "." .. k) end
  parts[#parts + 1] = read_all(base)
  return table.concat(parts)
end

-- Waits until the mission's log contains `text` (plain find); returns the
-- log.
function M.wait_log(h, id, text, timeout)
  local ok, res = pcall(M.wait_for, function()
    local out = M.log_text(h, id)
    return out:find(text, 1, true) and out
  end, timeout or 10)
  if not ok then
    error(("timed out waiting for the log of %s to contain %q; it is %q")
      :format(id, text, M.log_text(h, id)), 2)
  end
  return res
end

return M
