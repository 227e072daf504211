-- Overmind side by side with pm2 and supervisord (run by bench/compare,
-- which makes the temp dir $COMPARE_DIR, exports OVERMIND_HOME and PM2_HOME
-- inside it, and cleans everything up on exit).
--
-- Each tool runs alone, one after the other, through the same sequence:
--   1. start its daemon; after 2 s, daemon RSS (VmRSS of the daemon pid);
--   2. start 100 × `sleep 3600` the tool's natural way, timed until its own
--      listing shows 100 running; after 2 s, the daemon's RSS again;
--   3. median of 20 runs of its status listing (100 processes live);
--   4. remove the 100; crash-to-restarted latency, 20 crashes, median;
--   5. CPU time (utime+stime of the daemon pid) to capture 100 MB of
--      output, from the start command until the log holds every byte
--      (+0.5 s), median of 5;
--   6. shut the daemon down.
local core = require("overmind.core")
local B = require("bench.lib")
local cjson = require("cjson")

local W = assert(os.getenv("COMPARE_DIR"), "run bench/compare, not this file")
local OM = assert(os.getenv("OVERMIND_BIN"))
local OM_HOME = assert(os.getenv("OVERMIND_HOME"))
local PM2_HOME = assert(os.getenv("PM2_HOME"))
local HERE = core.getcwd() .. "/bench/compare.d"
local CRASHER, PRODUCER = HERE .. "/crasher.sh", HERE .. "/producer.sh"

local N = 100          -- supervised sleeps
local CLI_RUNS = 20    -- status listing runs
local CRASH_RUNS = 20  -- crashes
local BYTES = 100000000
local CAPTURE_RUNS = 5 -- captures of BYTES each

local INSTALL, ONLY = false, nil
for i = 1, #arg do
  local a = arg[i]
  if a == "--install" then INSTALL = true
  elseif a == "--only" then ONLY = arg[i + 1]
  elseif a:match("^%-%-only=") then ONLY = a:sub(8)
  end
end

------------------------------------------------------------------ helpers

local function now() return core.hrtime() / 1e9 end

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function cmdline(argv)
  local t = {}
  for i, a in ipairs(argv) do t[i] = q(a) end
  return table.concat(t, " ")
end

local function readfile(p)
  local f = io.open(p)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function writefile(p, s)
  local f = assert(io.open(p, "w"))
  f:write(s)
  f:close()
end

local function fsize(p)
  local f = io.open(p)
  if not f then return 0 end
  local n = f:seek("end")
  f:close()
  return n or 0
end

local function alive(pid)
  local s = pid and readfile("/proc/" .. pid .. "/stat")
  return s ~= nil and not s:match("%) [ZX] ")
end

local function rss_mb(pid)
  local s = assert(readfile("/proc/" .. pid .. "/status"), "daemon gone")
  return tonumber(s:match("VmRSS:%s*(%d+)")) / 1024
end

local CLK_TCK = tonumber(B.sh("getconf CLK_TCK"):match("%d+")) or 100

local function cpu_s(pid)
  local s = assert(readfile("/proc/" .. pid .. "/stat"), "daemon gone")
  local f = {}
  for x in s:match("%) (.*)$"):gmatch("%S+") do f[#f + 1] = x end
  -- fields 14 and 15 of stat (utime, stime); f[1] is field 3
  return (tonumber(f[12]) + tonumber(f[13])) / CLK_TCK
end

-- Runs argv without a shell; returns status, output (lines joined).
local function run(argv)
  local _, status, out = B.time(argv, { capture = true })
  return status, out
end

local function must(argv)
  local status, out = run(argv)
  if status ~= 0 then
    error(("`%s` exited %s: %s"):format(table.concat(argv, " "),
      tostring(status), out:sub(1, 400)), 0)
  end
  return out
end

-- Full output of argv through io.popen (for listings that may be one huge
-- line, e.g. `pm2 jlist`).
local function output(argv)
  return B.sh("exec " .. cmdline(argv) .. " 2>/dev/null")
end

local function wait_until(what, timeout, fn, pause_ms)
  local deadline = now() + timeout
  while true do
    local v = fn()
    if v then return v end
    if now() > deadline then
      error(("timeout after %g s waiting for %s"):format(timeout, what), 0)
    end
    if pause_ms then core.sleep(pause_ms) end
  end
end

local function median(xs)
  local c = {}
  for i, x in ipairs(xs) do c[i] = x end
  return B.median(c)
end

local function minmax(xs)
  local lo, hi = math.huge, -math.huge
  for _, x in ipairs(xs) do
    if x < lo then lo = x end
    if x > hi then hi = x end
  end
  return lo, hi
end

local function exe(name)
  for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
    local p = dir .. "/" .. name
    local st = core.stat(p)
    if st then return p end
  end
  return nil
end

local function trim(s) return (s or ""):gsub("^%s+", ""):gsub("%s+$", "") end

-- Processes whose command line matches `pat` and that are not ours.
local function foreign(pat)
  local found = {}
  for _, d in ipairs(core.listdir("/proc") or {}) do
    if d:match("^%d+$") then
      local c = readfile("/proc/" .. d .. "/cmdline")
      if c and c ~= "" then
        c = c:gsub("%z", " ")
        if c:match(pat) and not c:find(W, 1, true) then
          local env = readfile("/proc/" .. d .. "/environ") or ""
          if not env:find("OVERMIND_HOME=" .. W, 1, true) then
            found[#found + 1] = { pid = tonumber(d), cmd = trim(c) }
          end
        end
      end
    end
  end
  return found
end

local function say(...) io.stderr:write(string.format(...), "\n") end

------------------------------------------------------------------ install

local function system_supervisord_stop()
  os.execute("service supervisor stop >/dev/null 2>&1")
  for _, p in ipairs(foreign("supervisord")) do
    say("stopping the system supervisord our install started (pid %d)", p.pid)
    core.kill(p.pid, "SIGTERM")
    pcall(wait_until, "supervisord to exit", 15, function()
      return not alive(p.pid)
    end, 100)
    if alive(p.pid) then core.kill(p.pid, "SIGKILL") end
  end
end

if INSTALL then
  if not exe("pm2") then
    say("installing pm2: npm install -g pm2")
    os.execute("npm install -g pm2 >&2")
  end
  if not (exe("supervisord") and exe("supervisorctl")) then
    say("installing supervisor: apt-get install -y supervisor")
    os.execute("apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive " ..
      "apt-get install -y -qq supervisor >&2")
    -- The package's service would run beside ours and skew the figures.
    system_supervisord_stop()
  end
end

------------------------------------------------------------------ tools

local function om_count()
  local n = 0
  for line in output({ OM, "ps" }):gmatch("[^\n]+") do
    local st = line:match("^%S+%s+%S+%s+%S+%s+(%S+)")
    if st == "running" then n = n + 1 end
  end
  return n
end

local function om_status(name)
  return output({ OM, "info", name }):match('"status":%s*"(%a+)"')
end

local overmind = {
  name = "overmind", label = "Overmind",
  present = function() return true end,
  version = function() return trim(output({ OM, "--version" })) end,
  start_daemon = function(t)
    must({ OM, "start" })
    t.pid = tonumber(readfile(OM_HOME .. "/daemon.pid"):match("%d+"))
  end,
  how_start = "100 x `overmind run --name sleep-<i> sleep 3600`, then " ..
    "`overmind ps` until 100 rows are running",
  start_many = function()
    for i = 1, N do must({ OM, "run", "--name", "sleep-" .. i, "sleep", "3600" }) end
  end,
  count = om_count,
  list = { OM, "ps" },
  list_name = "overmind ps",
  stop_many = function() must({ OM, "kill", "--all" }) end,
  how_crash = "`overmind run --restart on-failure --backoff 0 --max-restarts 0`",
  start_crasher = function(_, ready, trigger)
    must({ OM, "run", "--name", "crash", "--restart", "on-failure",
      "--backoff", "0", "--max-restarts", "0", "sh", CRASHER, ready, trigger })
  end,
  stop_crasher = function() must({ OM, "kill", "crash" }) end,
  how_capture = "`overmind run --log-max 128M sh producer.sh` (output.log, no rotation)",
  start_producer = function(name)
    local out = must({ OM, "run", "--json", "--name", name, "--log-max",
      "128M", "sh", PRODUCER, tostring(BYTES) })
    local id = assert(out:match('"id":"(%x+)"'), out)
    return OM_HOME .. "/missions/" .. id .. "/output.log"
  end,
  producer_done = function(name) return om_status(name) ~= "running" end,
  remove_producer = function(name) must({ OM, "rm", name }) end,
  shutdown = function(t)
    must({ OM, "shutdown" })
    wait_until("the overmind daemon to exit", 30, function()
      return not alive(t.pid)
    end, 50)
  end,
}

local PM2 = exe("pm2")

local function pm2_list()
  local out = output({ PM2, "jlist" })
  local js = out:match("(%[.*%])")
  local ok, list = pcall(cjson.decode, js or "")
  return ok and type(list) == "table" and list or {}
end

local function pm2_status(name)
  for _, p in ipairs(pm2_list()) do
    if p.name == name then return p.pm2_env and p.pm2_env.status end
  end
end

local pm2 = {
  name = "pm2", label = "pm2",
  present = function() return PM2 ~= nil end,
  version = function()
    local real = trim(B.sh("readlink -f " .. q(PM2)))
    local pkg = readfile(real:gsub("/bin/[^/]+$", "") .. "/package.json") or ""
    local node = trim(B.sh("node --version 2>/dev/null"))
    return "pm2 " .. (pkg:match('"version"%s*:%s*"([^"]+)"') or "?") ..
      " (node " .. node .. ")"
  end,
  start_daemon = function(t)
    must({ PM2, "ping" })
    t.pid = tonumber(readfile(PM2_HOME .. "/pm2.pid"):match("%d+"))
  end,
  how_start = "one `pm2 start eco.json` (an ecosystem file of 100 apps " ..
    "`sleep 3600`, interpreter none), then `pm2 jlist` until 100 are online",
  start_many = function()
    local apps = {}
    for i = 1, N do
      apps[i] = { name = "sleep-" .. i, script = "sleep", args = "3600",
        interpreter = "none" }
    end
    local eco = W .. "/eco.json"
    writefile(eco, cjson.encode({ apps = apps }))
    must({ PM2, "start", eco })
  end,
  count = function()
    local n = 0
    for _, p in ipairs(pm2_list()) do
      if p.pm2_env and p.pm2_env.status == "online" then n = n + 1 end
    end
    return n
  end,
  list = { PM2, "jlist" },
  list_name = "pm2 jlist",
  extra_lists = { { name = "pm2 ls", argv = { PM2, "ls" } } },
  stop_many = function() must({ PM2, "delete", "all" }) end,
  how_crash = "`pm2 start --restart-delay 0 --max-restarts 100000`",
  start_crasher = function(_, ready, trigger)
    must({ PM2, "start", CRASHER, "--name", "crash", "--interpreter", "sh",
      "--restart-delay", "0", "--max-restarts", "100000", "--",
      ready, trigger })
  end,
  stop_crasher = function() must({ PM2, "delete", "crash" }) end,
  how_capture = "`pm2 start producer.sh --no-autorestart` (logs/<name>-out.log, default settings)",
  start_producer = function(name)
    must({ PM2, "start", PRODUCER, "--name", name, "--interpreter", "sh",
      "--no-autorestart", "--", tostring(BYTES) })
    return PM2_HOME .. "/logs/" .. name .. "-out.log"
  end,
  producer_done = function(name)
    local s = pm2_status(name)
    return s ~= nil and s ~= "online" and s ~= "launching"
  end,
  remove_producer = function(name)
    must({ PM2, "delete", name })
    os.remove(PM2_HOME .. "/logs/" .. name .. "-out.log")
  end,
  shutdown = function(t)
    must({ PM2, "kill" })
    wait_until("the pm2 daemon to exit", 30, function()
      return not alive(t.pid)
    end, 50)
  end,
}

local SVD, SVC = exe("supervisord"), exe("supervisorctl")
local SV = W .. "/sv"
local SV_CONF = SV .. "/supervisord.conf"

local function svc(...) return { SVC, "-c", SV_CONF, ... } end

local function sv_program(name, body)
  writefile(SV .. "/conf.d/" .. name .. ".conf", body)
  must(svc("update"))
end

local function sv_remove(name)
  os.remove(SV .. "/conf.d/" .. name .. ".conf")
  must(svc("update"))
end

local function sv_states()
  local st = {}
  for line in output(svc("status")):gmatch("[^\n]+") do
    local name, state = line:match("^(%S+)%s+(%u+)")
    if name then st[name] = state end
  end
  return st
end

local supervisord = {
  name = "supervisord", label = "supervisord",
  present = function() return SVD ~= nil and SVC ~= nil end,
  version = function()
    local py = trim(B.sh("python3 --version 2>&1"))
    return "supervisord " .. trim(output({ SVD, "--version" })) ..
      " (" .. py .. ")"
  end,
  start_daemon = function(t)
    core.mkdir(SV)
    core.mkdir(SV .. "/conf.d")
    core.mkdir(SV .. "/log")
    writefile(SV_CONF, table.concat({
      "[unix_http_server]",
      "file=" .. SV .. "/supervisor.sock",
      "chmod=0700",
      "[supervisord]",
      "logfile=" .. SV .. "/supervisord.log",
      "pidfile=" .. SV .. "/supervisord.pid",
      "childlogdir=" .. SV .. "/log",
      "[rpcinterface:supervisor]",
      "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
      "[supervisorctl]",
      "serverurl=unix://" .. SV .. "/supervisor.sock",
      "[include]",
      "files = " .. SV .. "/conf.d/*.conf",
      "" }, "\n"))
    must({ SVD, "-c", SV_CONF })
    wait_until("supervisord to answer", 30, function()
      local st = run(svc("pid"))
      return st == 0
    end, 50)
    t.pid = tonumber(readfile(SV .. "/supervisord.pid"):match("%d+"))
  end,
  how_start = "a [program:sleep] with numprocs=100, autostart, startsecs=0 " ..
    "dropped into the include dir, `supervisorctl update`, then " ..
    "`supervisorctl status` until 100 are RUNNING",
  start_many = function()
    sv_program("sleep", table.concat({
      "[program:sleep]",
      "command=sleep 3600",
      "process_name=sleep-%(process_num)d",
      "numprocs=" .. N,
      "autostart=true",
      "autorestart=true",
      "startsecs=0",
      "" }, "\n"))
  end,
  count = function()
    local n = 0
    for _, s in pairs(sv_states()) do
      if s == "RUNNING" then n = n + 1 end
    end
    return n
  end,
  list = svc("status"),
  list_name = "supervisorctl status",
  stop_many = function() sv_remove("sleep") end,
  how_crash = "autorestart=true, startsecs=0 (no backoff applies then)",
  start_crasher = function(_, ready, trigger)
    sv_program("crash", table.concat({
      "[program:crash]",
      "command=sh " .. CRASHER .. " " .. ready .. " " .. trigger,
      "autostart=true",
      "autorestart=true",
      "startsecs=0",
      "" }, "\n"))
  end,
  stop_crasher = function() sv_remove("crash") end,
  how_capture = "[program:prod<k>] stdout_logfile, stdout_logfile_maxbytes=0 (no rotation)",
  start_producer = function(name)
    local log = SV .. "/" .. name .. ".log"
    sv_program(name, table.concat({
      "[program:" .. name .. "]",
      "command=sh " .. PRODUCER .. " " .. BYTES,
      "autostart=true",
      "autorestart=false",
      "startsecs=0",
      "redirect_stderr=true",
      "stdout_logfile=" .. log,
      "stdout_logfile_maxbytes=0",
      "" }, "\n"))
    return log
  end,
  producer_done = function(name)
    local s = sv_states()[name]
    return s ~= nil and s ~= "RUNNING" and s ~= "STARTING"
  end,
  remove_producer = function(name)
    sv_remove(name)
    os.remove(SV .. "/" .. name .. ".log")
  end,
  shutdown = function(t)
    must(svc("shutdown"))
    wait_until("supervisord to exit", 30, function()
      return not alive(t.pid)
    end, 50)
  end,
}

local TOOLS = { overmind, pm2, supervisord }

------------------------------------------------------------------ the run

-- Crash-to-restarted: t0 just before telling the process to exit 1, t1 when
-- a new pid is read from the ready fifo (a blocking read: no polling).  A
-- ticker writes "tick" every 0.5 s so the read wakes up for the timeout,
-- and dies of the broken pipe once we close the fifo.
local function crash_test(t, r)
  local ready = W .. "/" .. t.name .. ".ready"
  local trigger = W .. "/" .. t.name .. ".trigger"
  local ticker = W .. "/" .. t.name .. ".ticker.pid"
  assert(os.execute("mkfifo " .. q(ready) .. " " .. q(trigger)))
  -- Started before we open the fifos, so it holds no reading end of its
  -- own (its open of `ready` waits for ours); bounded to 20 minutes.
  os.execute("sh -c 'echo $$ > " .. ticker .. "; i=0; while [ $i -lt 2400 ]; " ..
    "do sleep 0.5; echo tick || exit; i=$((i + 1)); done' > " .. q(ready) ..
    " 2>/dev/null </dev/null &")
  local rf = assert(io.open(ready, "r+"))   -- O_RDWR: never blocks, no EOF
  local tf = assert(io.open(trigger, "r+"))
  local function next_pid(prev, timeout)
    local deadline = now() + timeout
    while true do
      local l = rf:read("l")
      local at = now()
      if l and l:match("^%d+$") and l ~= prev then return l, at end
      if at > deadline then
        error(("timeout after %g s waiting for the crasher to (re)start"):format(timeout), 0)
      end
    end
  end
  local ok, err = pcall(function()
    t:start_crasher(ready, trigger)
    local pid = next_pid(nil, 30)
    local lat = {}
    for i = 1, CRASH_RUNS do
      core.sleep(300)  -- the tool settles on the new process
      local t0 = now()
      tf:write("x\n")
      tf:flush()
      local newpid, t1 = next_pid(pid, 30)
      lat[i] = t1 - t0
      pid = newpid
    end
    r.crash = median(lat)
    r.crash_min, r.crash_max = minmax(lat)
  end)
  pcall(t.stop_crasher, t)
  local tpid = tonumber((readfile(ticker) or ""):match("%d+"))
  if tpid and alive(tpid) then core.kill(tpid, "SIGTERM") end
  rf:close()
  tf:close()
  if not ok then error(err, 0) end
end

local function bench(t)
  local r = { notes = {} }
  local function step(name, fn)
    local ok, err = pcall(fn)
    if not ok then
      r.notes[#r.notes + 1] = name .. ": " .. tostring(err)
      say("  %s: %s failed: %s", t.label, name, tostring(err))
    end
    return ok
  end
  say("== %s", t.label)
  if not step("daemon start", function() t:start_daemon() end) then return r end
  core.sleep(2000)
  r.rss_idle = rss_mb(t.pid)

  local started = step("start 100", function()
    local c0, t0 = cpu_s(t.pid), now()
    t:start_many()
    wait_until(N .. " processes running", 300, function()
      return t.count() >= N
    end)
    r.start = now() - t0
    r.start_cpu = cpu_s(t.pid) - c0
  end)
  if started then
    core.sleep(2000)
    r.rss_100 = rss_mb(t.pid)
    step("status listing", function()
      B.time(t.list)  -- warm the page cache
      local xs = {}
      for i = 1, CLI_RUNS do
        local dt, status = B.time(t.list)
        if status ~= 0 and t.name ~= "supervisord" then
          error("listing exited " .. tostring(status), 0)
        end
        xs[i] = dt
      end
      r.cli = median(xs)
      r.cli_min, r.cli_max = minmax(xs)
      r.extra = {}
      for _, e in ipairs(t.extra_lists or {}) do
        local ys = {}
        for i = 1, CLI_RUNS do ys[i] = B.time(e.argv) end
        r.extra[#r.extra + 1] = { name = e.name, t = median(ys) }
      end
    end)
  end
  step("remove the 100", function()
    t.stop_many()
    wait_until("the processes to go", 120, function() return t.count() == 0 end, 100)
  end)

  say("  crash test")
  step("crash test", function() crash_test(t, r) end)

  say("  capture test")
  step("capture 100 MB", function()
    local cpu, wall = {}, {}
    for k = 1, CAPTURE_RUNS do
      local name = "prod" .. k
      core.sleep(1000)
      local c0, t0 = cpu_s(t.pid), now()
      local log = t.start_producer(name)
      -- Done when the log holds every byte, or when the producer is listed
      -- as exited and the log has not grown for 2 s (a tool that drops
      -- output: the shortfall is reported).  The listing is only asked
      -- once the log stalls, so it costs the daemon nothing meanwhile.
      local size, t1, asked = 0, now(), now()
      wait_until("100 MB in the log", 600, function()
        local n = fsize(log)
        if n ~= size then size, t1 = n, now() end
        if size >= BYTES then return true end
        if now() - t1 > 2 and now() - asked > 1 then
          asked = now()
          return t.producer_done(name)
        end
      end, 20)
      if size < BYTES then
        r.lost = (r.lost or 0) + (BYTES - size)  -- t1: when it last grew
      else
        t1 = now()
      end
      core.sleep(500)  -- the daemon's own bookkeeping for the exit
      cpu[k] = cpu_s(t.pid) - c0
      wall[k] = t1 - t0
      wait_until("the producer to be listed as exited", 60, function()
        return t.producer_done(name)
      end, 100)
      r.log_bytes = math.min(r.log_bytes or math.huge, fsize(log))
      if k == CAPTURE_RUNS then r.rss_after = rss_mb(t.pid) end
      t.remove_producer(name)
    end
    r.cpu, r.cpu_all = median(cpu), cpu
    r.capture_wall = median(wall)
  end)

  step("shutdown", function() t:shutdown() end)
  return r
end

-- The floor for the capture row: CPU time of `cat` reading the same
-- producer's pipe into a file (dash's `times`: the subshell's children).
local function floor_cpu()
  local xs = {}
  local f = W .. "/floor.log"
  for k = 1, CAPTURE_RUNS do
    local out = B.sh("sh " .. q(PRODUCER) .. " " .. BYTES ..
      " 2>/dev/null | (cat > " .. q(f) .. "; times)")
    local um, us, sm, ss = out:match("\n(%d+)m([%d.]+)s (%d+)m([%d.]+)s")
    os.remove(f)
    if not um then return nil end
    xs[k] = um * 60 + us + sm * 60 + ss
  end
  return median(xs)
end

------------------------------------------------------------------ report

local function fmt(v, f) return v and string.format(f, v) or "n/a" end

local header = {
  ("date         %s"):format(os.date("!%Y-%m-%d %H:%M:%S UTC")),
  ("machine      %s, %s cores"):format(trim(B.sh("uname -srm")), trim(B.sh("nproc"))),
  ("loadavg      %s"):format(trim((readfile("/proc/loadavg") or ""):match("^(%S+ %S+ %S+)"))),
}
-- Two calibrations of the machine, which every row pays for: starting a
-- process, and creating a file (pm2, supervisord and Overmind all create
-- log files per process; Overmind a directory and two files per mission).
do
  local xs = {}
  for i = 1, 20 do xs[i] = B.time({ exe("true") or "/bin/true" }) end
  local ys = {}
  for i = 1, 50 do
    local d = W .. "/calib-" .. i
    local t0 = now()
    core.mkdir(d)
    local f = assert(io.open(d .. "/file", "w"))
    f:close()
    ys[i] = now() - t0
  end
  os.execute("rm -rf " .. q(W) .. "/calib-*")
  header[#header + 1] = ("calibration  spawn+exit of /bin/true %.2f ms; mkdir + " ..
    "create a file in the temp dir %.2f ms (medians)"):format(
    median(xs) * 1000, median(ys) * 1000)
end

local results, versions = {}, {}
for _, t in ipairs(TOOLS) do
  if ONLY and not ONLY:find(t.name, 1, true) then
    versions[t.name] = "skipped (--only)"
  elseif not t.present() then
    versions[t.name] = "not installed (bench/compare --install)"
    say("%s is not installed: its column is n/a (run with --install)", t.label)
  else
    versions[t.name] = t.version()
  end
end
for _, pat in ipairs({ "supervisord", "God Daemon", "overmind daemon" }) do
  for _, p in ipairs(foreign(pat)) do
    say("warning: a daemon that is not ours is running and may skew the " ..
      "figures: pid %d %s", p.pid, p.cmd:sub(1, 80))
  end
end

for _, t in ipairs(TOOLS) do
  if versions[t.name] and t.present() and not versions[t.name]:match("^skipped") then
    results[t.name] = bench(t)
  else
    results[t.name] = { notes = {} }
  end
end

local floor = floor_cpu()

local rows = {
  { key = "rss_idle", label = "daemon RSS, idle (MB)", f = "%.1f", mult = 1, pm2 = 5 },
  { key = "rss_100", label = "daemon RSS, 100 sleeps (MB)", f = "%.1f", mult = 1, pm2 = 5 },
  { key = "start", label = "start 100, all seen running (ms)", f = "%.0f", mult = 1000 },
  { key = "crash", label = "crash -> restarted, median (ms)", f = "%.2f", mult = 1000 },
  { key = "cli", label = "status listing, 100 procs (ms)", f = "%.1f", mult = 1000, pm2 = 5 },
  { key = "cpu", label = "daemon CPU, capture 100 MB (s)", f = "%.2f", mult = 1 },
}

local function ratio(a, b)
  if a and b and b > 0 then return a / b end
end

local out = {}
local function p(...) out[#out + 1] = string.format(...) end
p("Overmind vs pm2 vs supervisord")
for _, h in ipairs(header) do p("%s", h) end
for _, t in ipairs(TOOLS) do p("%-12s %s", t.name, versions[t.name]) end
p("")
local W1 = 34
p("%-" .. W1 .. "s %9s %9s %11s %8s %8s  %s", "", "Overmind", "pm2",
  "supervisord", "pm2/OM", "sup/OM", "targets")
local missed = 0
for _, row in ipairs(rows) do
  local v = {}
  for _, t in ipairs(TOOLS) do
    local x = results[t.name][row.key]
    v[t.name] = x and x * row.mult
  end
  local rp = ratio(v.pm2, v.overmind)
  local rs = ratio(v.supervisord, v.overmind)
  local targets = {}
  if row.pm2 then
    local ok = rp and rp >= row.pm2
    if rp and not ok then missed = missed + 1 end
    targets[#targets + 1] = ("pm2 >=%dx %s"):format(row.pm2,
      rp == nil and "n/a" or ok and "met" or "MISSED")
  end
  local oks = rs and rs > 1
  if rs and not oks then missed = missed + 1 end
  targets[#targets + 1] = ("sup >1x %s"):format(
    rs == nil and "n/a" or oks and "met" or "MISSED")
  p("%-" .. W1 .. "s %9s %9s %11s %8s %8s  %s", row.label,
    fmt(v.overmind, row.f), fmt(v.pm2, row.f), fmt(v.supervisord, row.f),
    fmt(rp, "%.1fx"), fmt(rs, "%.1fx"), table.concat(targets, ", "))
end
p("")
p("lower is better on every row; ratios are the other tool's figure over " ..
  "Overmind's (above 1x: Overmind ahead)")
p("capture floor: `cat` reading the same pipe into a file takes %s s CPU " ..
  "(median of %d)", fmt(floor, "%.2f"), CAPTURE_RUNS)
p("loadavg at the end: %s", trim((readfile("/proc/loadavg") or ""):match("^(%S+ %S+ %S+)")))
for _, t in ipairs(TOOLS) do
  local r = results[t.name]
  if r.lost then
    p("%s LOST OUTPUT: %d of %d bytes never reached its log (see details)",
      t.label, r.lost, BYTES * CAPTURE_RUNS)
  end
end
p("targets: Overmind >= 5x lower than pm2 on daemon memory and the listing, " ..
  "and ahead of supervisord on every row: %s",
  missed == 0 and "all measured ones met" or (missed .. " missed"))
p("")
p("details")
for _, t in ipairs(TOOLS) do
  local r = results[t.name]
  if r.rss_idle or #r.notes > 0 then
    p("  %s", t.label)
    p("    start 100:   %s", t.how_start)
    p("                 daemon CPU meanwhile %s s", fmt(r.start_cpu, "%.2f"))
    p("    crash:       %s; min %s, max %s ms over %d crashes", t.how_crash,
      fmt(r.crash_min and r.crash_min * 1000, "%.2f"),
      fmt(r.crash_max and r.crash_max * 1000, "%.2f"), CRASH_RUNS)
    p("    listing:     `%s` min %s, max %s ms over %d runs", t.list_name,
      fmt(r.cli_min and r.cli_min * 1000, "%.1f"),
      fmt(r.cli_max and r.cli_max * 1000, "%.1f"), CLI_RUNS)
    for _, e in ipairs(r.extra or {}) do
      p("                 `%s` median %.1f ms", e.name, e.t * 1000)
    end
    local cpus = {}
    for i, c in ipairs(r.cpu_all or {}) do cpus[i] = string.format("%.2f", c) end
    p("    capture:     %s", t.how_capture)
    p("                 CPU s per run %s; median %s s wall until all %d bytes " ..
      "were in the log (smallest log: %s bytes); daemon RSS after %s MB",
      #cpus > 0 and table.concat(cpus, " ") or "n/a",
      fmt(r.capture_wall, "%.2f"), BYTES,
      r.log_bytes and string.format("%d", r.log_bytes) or "n/a",
      fmt(r.rss_after, "%.1f"))
    if r.lost then
      p("                 OUTPUT LOST: %d bytes in all never reached the log", r.lost)
    end
    for _, n in ipairs(r.notes) do p("    FAILED  %s", n) end
  end
end
print(table.concat(out, "\n"))
