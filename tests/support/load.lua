-- Helpers for the load and fault specs (tests/e2e/load_spec.lua,
-- faults_spec.lua): the socket as a fast client, the daemon's resources
-- (file descriptors, zombie children, resident memory) and deadlines that
-- stretch when the daemon is the sanitizer build.
local e2e = require("support.e2e")
local core = require("overmind.core")
local cjson = require("cjson")

local M = {}

-- The daemon the CLI starts is the ASan/UBSan build when the suite says
-- so (tests/run): it is several times slower and its allocator keeps freed
-- memory in a quarantine, so deadlines and memory bounds scale.
M.sanitized = (os.getenv("OVERMIND_DAEMON_BIN") or "") ~= "" or
  (os.getenv("OVERMIND_BIN") or ""):find("asan", 1, true) ~= nil

-- Seconds `s` under the normal build, more under the sanitizer build.
function M.secs(s)
  return M.sanitized and s * 3 or s
end

function M.connect(h)
  return assert(core.connect(h.home .. "/overmind.sock"))
end

function M.encode(cmd, args)
  return cjson.encode({ cmd = cmd, args = args or {} })
end

-- A `run` request line for `command` (plus extra args).
function M.run_line(command, extra)
  local args = { command = command, cwd = "/tmp" }
  for k, v in pairs(extra or {}) do args[k] = v end
  return M.encode("run", args)
end

-- Sends one request on connection `c` and decodes its reply.
function M.ask(c, line, timeout_ms)
  assert(c:send(line .. "\n"))
  local reply, err = c:recv(timeout_ms or 10000)
  assert(reply, "no reply to " .. line:sub(1, 80) .. ": " .. tostring(err))
  return e2e.json_decode(reply)
end

-- Sends every line on one connection, twenty at a time so that neither
-- side's socket buffer fills up, and returns the decoded replies.
function M.pipeline(h, lines, timeout_ms)
  local c = M.connect(h)
  local replies = {}
  local i = 1
  while i <= #lines do
    local batch = {}
    for k = i, math.min(i + 19, #lines) do batch[#batch + 1] = lines[k] end
    assert(c:send(table.concat(batch, "\n") .. "\n"))
    for _ = 1, #batch do
      local line, err = c:recv(timeout_ms or 30000)
      assert(line, "no reply: " .. tostring(err))
      replies[#replies + 1] = e2e.json_decode(line)
    end
    i = i + #batch
  end
  c:close()
  return replies
end

-- Starts missions over the socket; returns their ids in order.
function M.start_many(h, lines)
  local ids = {}
  for i, r in ipairs(M.pipeline(h, lines)) do
    assert(r.ok, "run #" .. i .. " failed: " .. tostring(r.error))
    ids[i] = r.ok.id
  end
  return ids
end

-- A request on a fresh connection, with the time it took (seconds).
function M.timed(h, cmd, args)
  local t0 = core.now()
  local v, err = e2e.request(h, cmd, args)
  return v, err, (core.now() - t0) / 1000
end

-- The resident set size of `pid` in KiB (VmRSS), or nil.
function M.rss_kb(pid)
  local s = e2e.read_all("/proc/" .. pid .. "/status")
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

-- The largest resident size this daemon may reach while it streams a lot
-- of output.  Under the sanitizer build, shadow memory, redzones and the
-- quarantine (see daemon_env) are resident too.
function M.rss_bound_kb()
  if M.sanitized then return 256 * 1024 end
  return 128 * 1024
end

-- The environment a daemon is started with: the sanitizer build gets a
-- small allocator quarantine (ASan keeps 256 MB of freed memory by
-- default), so its resident size says something about leaks and queues.
function M.daemon_env()
  if not M.sanitized then return {} end
  local opts = os.getenv("ASAN_OPTIONS") or ""
  if opts ~= "" then opts = opts .. ":" end
  return { "ASAN_OPTIONS=" .. opts .. "quarantine_size_mb=16" }
end

-- Starts a daemon on `h`, lets it open what it keeps for its lifetime
-- (one mission run and removed), and returns its pid and its count of open
-- file descriptors once that is stable.
function M.start_daemon(h)
  e2e.ok(h, { "start" }, { env = M.daemon_env() })
  local dpid = assert(e2e.daemon_pid(h), "no daemon.pid")
  local id = e2e.run(h, { "echo warm-up" })
  e2e.wait_status(h, id, "stopped")
  e2e.ok(h, { "rm", id })
  M.no_zombies(dpid, "warm-up")
  e2e.wait_for(function()
    local n = e2e.fd_count(dpid)
    core.sleep(50)
    return n == e2e.fd_count(dpid)
  end, 5, "a stable descriptor count")
  return dpid, e2e.fd_count(dpid)
end

-- Asserts that the daemon holds no more than `baseline` descriptors again
-- (waiting a little for closes in flight).  Fewer is no leak: a baseline
-- may catch a descriptor that is open for a moment (the sanitizer
-- runtime reads /proc/self/maps now and then).
function M.fds_back(dpid, baseline, what)
  local last
  pcall(e2e.wait_for, function()
    last = e2e.fd_count(dpid)
    return last <= baseline
  end, M.secs(5))
  if last > baseline then
    local list = e2e.sh("ls -l /proc/" .. dpid .. "/fd | tail -5")
    error(("%s: the daemon holds %s file descriptors, %d at the baseline; " ..
      "the last few:\n%s"):format(what, tostring(last), baseline, list), 2)
  end
end

-- Asserts that the daemon has no zombie children (after a short grace).
function M.no_zombies(dpid, what)
  pcall(e2e.wait_for, function()
    return #e2e.zombies_of(dpid) == 0
  end, M.secs(5))
  local z = e2e.zombies_of(dpid)
  if #z > 0 then
    local pids = {}
    for i, st in ipairs(z) do pids[i] = st.pid .. " (" .. st.comm .. ")" end
    error(what .. ": zombie children of the daemon: " ..
      table.concat(pids, ", "), 2)
  end
end

-- Every mission, through the socket.
function M.ps(h)
  return assert(e2e.request(h, "ps"))
end

-- Waits until no mission is running or restarting; returns `ps`.
function M.all_final(h, timeout, what)
  return e2e.wait_for(function()
    local list = M.ps(h)
    for _, m in ipairs(list) do
      if m.status == "running" or m.status == "restarting" then
        return false
      end
    end
    return list
  end, timeout or M.secs(30), what or "every mission to end")
end

-- The lines of a file, or {}.
function M.lines(path)
  local out = {}
  for l in e2e.read_all(path):gmatch("[^\n]*") do
    if l ~= "" then out[#out + 1] = l end
  end
  return out
end

function M.daemon_log(h)
  return e2e.read_all(h.home .. "/daemon.log")
end

return M
