-- The CLI's connection to the daemon, with start on demand (SPEC §1): a
-- command finding no daemon starts one, as pm2 does, unless
-- OVERMIND_NO_AUTOSTART=1.  Two clients starting at once never start two
-- daemons: they serialise on start.lock, and the daemon itself holds the
-- home's pid-file lock for its lifetime.
local core = require("overmind.core")
local json = require("overmind.json")
local paths = require("overmind.paths")

local M = {}

M.NOT_RUNNING = "daemon not running (start it with: overmind start)"

local function ping(c)
  if not c:send('{"cmd":"ping"}\n') then return false end
  local line = c:recv(5000)
  return line ~= nil and line:find('"pong"', 1, true) ~= nil
end

-- Connects if a daemon answers; nil otherwise.
function M.try_connect(home)
  return core.connect(paths.socket(home or paths.home()))
end

-- The size of a file, or 0.
local function file_size(path)
  local st = core.stat(path)
  return st and st.size or 0
end

-- Why a daemon that just exited failed: the first error line it appended
-- to its log after `from` (the log is shared by every daemon of this home,
-- so older lines are not this daemon's): "Error: <why>", or a Lua error
-- "overmind: <why>" (its traceback follows).  nil when it said nothing.
local function start_failure(path, from)
  local f = io.open(path, "rb")
  if not f then return nil end
  -- a log that shrank was started anew: all of it is this daemon's
  if (f:seek("end") or 0) < from then from = 0 end
  f:seek("set", from)
  local s = f:read(65536) or ""
  f:close()
  for line in s:gmatch("[^\n]+") do
    local why = line:match("^Error: (.+)") or line:match("^overmind: (.+)")
    if why then return why end
  end
  return nil
end

-- Starts the daemon in the background and waits until it answers.
-- Returns pid, or nil and a reason; `already` is true when one was
-- running (or got started by someone else meanwhile).
function M.start_daemon(home)
  home = home or paths.home()
  local ok, err = paths.mkdirs(home)
  if not ok then return nil, "cannot create " .. home .. ": " .. err end
  core.chmod(home, 448)
  local lock, lerr = core.flock(paths.start_lock(home), true)
  if not lock then return nil, "cannot lock " .. paths.start_lock(home) .. ": " .. lerr end
  local c = M.try_connect(home)
  if c and ping(c) then
    c:close()
    lock:release()
    return nil, "already running", true
  end
  if c then c:close() end
  -- OVERMIND_DAEMON_BIN picks another build for the daemon (the test suite
  -- runs a sanitizer build of the daemon behind ordinary clients).
  local exe = os.getenv("OVERMIND_DAEMON_BIN")
  if not exe or exe == "" then exe = core.exepath() end
  local log = paths.daemon_log(home)
  local log_from = file_size(log)
  local pid, serr = core.spawn_detached(exe, { "overmind", "daemon" }, log)
  if not pid then
    lock:release()
    return nil, "cannot start the daemon: " .. serr
  end
  local deadline = core.now() + 10000
  local delay = 2
  while core.now() < deadline do
    c = M.try_connect(home)
    if c then
      local up = ping(c)
      c:close()
      if up then
        lock:release()
        return pid
      end
    end
    local exited, code = core.waitpid(pid)
    if exited then
      lock:release()
      local why = start_failure(log, log_from)
      if why then
        return nil, ("the daemon could not start: %s (see %s)"):format(why, log)
      end
      return nil, ("the daemon exited with status %d; see %s"):format(code, log)
    end
    core.sleep(delay)
    if delay < 50 then delay = delay * 2 end
  end
  lock:release()
  return nil, "the daemon did not answer within 10s; see " ..
    paths.daemon_log(home)
end

-- Returns a connection, starting the daemon when needed.
function M.connect()
  local home = paths.home()
  local c = M.try_connect(home)
  if c then return c end
  if os.getenv("OVERMIND_NO_AUTOSTART") == "1" then
    return nil, M.NOT_RUNNING
  end
  local _, err, already = M.start_daemon(home)
  if err and not already then return nil, err end
  c = M.try_connect(home)
  if not c then return nil, M.NOT_RUNNING end
  return c
end

-- Sends one request; returns the `ok` value, or nil and the reason.
function M.request(c, cmd, args, timeout_ms)
  local ok, err = c:send(json.encode_bytes({ cmd = cmd, args = args or {}, bytes = true }) .. "\n")
  if not ok then return nil, "daemon connection lost: " .. tostring(err) end
  local line, rerr = c:recv(timeout_ms or -1)
  if not line then
    if rerr == "timeout" then return nil, "timeout" end
    return nil, "daemon connection lost"
  end
  local reply = json.decode(line)
  if type(reply) ~= "table" then return nil, "bad reply from daemon" end
  if reply.error ~= nil then return nil, tostring(reply.error) end
  return reply.ok
end

-- Reads the next streamed object; nil at the end of the stream.
function M.next(c, timeout_ms)
  local line = c:recv(timeout_ms or -1)
  if not line then return nil end
  return json.decode(line)
end

-- One request on a fresh connection.
function M.call(cmd, args)
  local c, err = M.connect()
  if not c then return nil, err end
  local res, rerr = M.request(c, cmd, args)
  c:close()
  return res, rerr
end

return M
