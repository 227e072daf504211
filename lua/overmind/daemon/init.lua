-- The daemon: one loop, one Lua state, every mission of one OVERMIND_HOME.
--
-- Start-up: take the home's lock (a second daemon stops here), remove a
-- stale socket, load the mission records, recover the missions the last
-- daemon left live (SPEC §1), listen.  Shutdown (request or SIGTERM/INT):
-- stop every live mission, save, stop listening, close every handle, and
-- only then let main.c close the Lua state.
local core = require("overmind.core")
local paths = require("overmind.paths")
local dlog = require("overmind.daemon.dlog")
local store = require("overmind.daemon.store")
local registry = require("overmind.daemon.registry")
local supervisor = require("overmind.daemon.supervisor")
local server = require("overmind.daemon.server")
local bus = require("overmind.daemon.bus")
local run = require("overmind.daemon.run")
local waiters = require("overmind.daemon.waiters")

local M = {}

-- The request handlers, one module per group of commands.
local HANDLERS = { "cmd_daemon", "cmd_missions", "cmd_logs", "cmd_wait",
                   "cmd_session", "cmd_blueprint", "cmd_events" }

-- Kills what is left of a lost mission's process group, if it is still
-- the group we started (the pid and its start time must both match).
local function reap(m)
  local pid = m.os_pid
  if not pid or pid <= 1 then return end
  if m.os_start then
    local st = core.proc_starttime(pid)
    if st ~= m.os_start then
      -- The leader is gone or the pid was reused; its group may live on
      -- in grandchildren, which still carry the group id.
      if core.kill(-pid, 0) and st == nil then core.kill(-pid, "KILL") end
      return
    end
  end
  core.kill(-pid, "KILL")
end

-- D: what every request handler shares -- the home, the mission table,
-- the supervisor, the event bus, and the run context (daemon/run.lua).
local function build(home)
  local D = {
    home = home,
    registry = registry.new(),
    started_at = core.time(),
    log = dlog.write,
  }
  D.bus = bus.new({ now = core.time, file = paths.events(home),
                    log = dlog.write })

  -- Records that could not be written (disk full) are kept and retried
  -- every few seconds and at shutdown, so a state change is never lost
  -- for good.
  local unsaved, retry_timer = {}, nil

  local function retry_unsaved()
    for id, m in pairs(unsaved) do
      if m.state == "killed" or store.save(home, m) then unsaved[id] = nil end
    end
    if next(unsaved) == nil and retry_timer then
      retry_timer:close()
      retry_timer = nil
    end
  end
  D.retry_unsaved = retry_unsaved

  function D.save(m)
    if m.state == "killed" then return end
    local ok, err = store.save(home, m)
    if ok then
      unsaved[m.id] = nil
      return
    end
    if not unsaved[m.id] then
      dlog.write("cannot save mission " .. m.id .. ": " .. tostring(err) ..
        " (will retry)")
    end
    unsaved[m.id] = m
    if not retry_timer then
      retry_timer = core.timer()
      retry_timer:start(2000, 2000, retry_unsaved)
    end
  end

  function D.event(m, kind, detail)
    D.bus:publish(m, kind, detail)
  end

  D.run_ctx = {
    home = home,
    env = core.environ(),
    log = dlog.write,
    save = D.save,
    event = D.event,
    on_exit = function(m, code, crash) D.sup:dispatch(m, "exit", code, crash) end,
    on_cost = function(m) D.check_budgets(m) end,
  }

  -- A mission's cost grew: it and each of its ancestors with a budget is
  -- checked against its tree's cost (SPEC §9); one past it is stopped
  -- with its whole tree.
  function D.check_budgets(m)
    local a, hops = m, 0
    while a and hops < 1000 do
      if a.budget_usd and not a.budget_exceeded and supervisor.is_live(a) then
        local spent = D.tree_cost(a) or 0
        if spent > a.budget_usd then
          D.registry:each_in_tree(a, function(x)
            if x ~= a and supervisor.is_live(x) then D.sup:dispatch(x, "stop") end
          end)
          D.sup:dispatch(a, "over_budget", spent)
        end
      end
      a = a.parent and D.registry:get(a.parent)
      hops = hops + 1
    end
  end

  -- The mission's output path (daemon/run.lua), made on first use.
  function D.output(m)
    return run.output_of(m, D.run_ctx)
  end

  -- Removes a mission from the table and its files from disk.
  function D.forget(m)
    if m.output then m.output:close_files() end
    D.registry:remove(m)
    local ok, err = store.remove(home, m)
    if not ok then dlog.write("cannot remove mission " .. m.id .. ": " .. err) end
    D.event(m, "removed")
  end

  D.sup = supervisor.new({
    now = core.time,
    timer = core.timer,
    start = function(m) return run.start(m, D.run_ctx) end,
    save = D.save,
    log = function(m, line) D.output(m):mark(line) end,
    emit = function(m, ev) if m.output then m.output:event(ev) end end,
    event = D.event,
    final = function(m, how) if m.output then m.output:finish(how) end end,
    remove = D.forget,
    reap = reap,
  })

  local handlers = {}
  for _, mod in ipairs(HANDLERS) do
    for k, v in pairs(require("overmind.daemon." .. mod)(D)) do
      handlers[k] = v
    end
  end
  D.handlers = handlers
  return D
end

-- Loads the records the last daemon left and recovers the live ones.
local function restore(D)
  local recs = store.load_all(D.home, dlog.write)
  local lost = {}
  for _, m in ipairs(recs) do
    m.client_env = D.shared_env(m.client_env)
    D.registry:add(m)
    if supervisor.is_live(m) then lost[#lost + 1] = m end
  end
  for _, m in ipairs(lost) do
    dlog.write("mission " .. m.id .. " (" .. m.name .. ") was live: recovering")
    D.sup:dispatch(m, "lost")
  end
  return #recs
end

function M.shutdown(D, done)
  if D.shutting_down then
    D.shutdown_waiters:add(done)
    return
  end
  D.shutting_down = true
  D.shutdown_waiters = waiters.new()
  D.shutdown_waiters:add(done)
  local pending = 0
  local function finish()
    dlog.write("daemon stopping")
    D.shutdown_waiters:fire()
    -- Let the replies flush, then stop listening and leave the loop.
    local t = core.timer()
    t:start(0, 0, function()
      t:close()
      D.server:close()
      D.server:close_clients()
      core.unlink(paths.socket(D.home))
      core.stop()
    end)
  end
  for _, m in ipairs(D.registry:list()) do
    if supervisor.is_live(m) then
      pending = pending + 1
      D.sup:dispatch(m, "stop", function()
        pending = pending - 1
        if pending == 0 then finish() end
      end)
    end
  end
  if pending == 0 then finish() end
end

function M.main(argv)
  -- Output batches make short-lived garbage: the generational collector
  -- keeps that cheap and the heap small.  A minor collection once the
  -- young objects reach the size of the old ones (not 20% of it, the
  -- default) does a chatty agent's events in fewer, larger sweeps: 7% of
  -- the daemon's time on bench/agents.lua for a heap of a few MB.
  collectgarbage("generational", 100, 100)
  local home = paths.home()
  local ok, err = paths.mkdirs(home)
  if not ok then
    io.stderr:write("Error: cannot create ", home, ": ", err, "\n")
    return 1
  end
  core.chmod(home, 448) -- 0700: the socket's directory is ours alone
  paths.mkdirs(paths.missions(home))

  local lock = core.flock(paths.pidfile(home))
  if not lock then
    io.stderr:write("Daemon is already running\n")
    return 1
  end
  lock:write(tostring(core.getpid()) .. "\n")

  local foreground = argv and core.isatty(2)
  dlog.open(paths.daemon_log(home), foreground)
  core.on_error(function(msg) dlog.write("error: " .. msg) end)
  core.raise_nofile()

  -- A daemon keeps no directory busy (missions have their own cwd).
  core.chdir("/")
  local D = build(home)
  D.shutdown = function(done) M.shutdown(D, done) end

  local sock = paths.socket(home)
  -- We hold the lock, so any socket here is a dead daemon's.
  core.unlink(sock)
  local n = restore(D)
  local srv, lerr = server.listen(sock, D.handlers, dlog.write)
  if not srv then
    local why = "cannot listen on " .. sock .. ": " .. tostring(lerr)
    if tostring(lerr):find("^ENAMETOOLONG") then
      -- sockaddr_un holds 108 bytes: the home itself must be short
      why = why .. " (a socket path holds at most 107 bytes: " ..
        "choose a shorter OVERMIND_HOME)"
    end
    dlog.write(why)
    io.stderr:write("Error: ", why, "\n")
    return 1
  end
  D.server = srv
  dlog.write(("daemon started (pid %d, version %s, %d missions)")
    :format(core.getpid(), core.version, n))

  local signals = {}
  for _, name in ipairs({ "TERM", "INT" }) do
    signals[#signals + 1] = core.signal(name, function()
      dlog.write("received SIG" .. name)
      D.shutdown(function() end)
    end)
  end
  signals[#signals + 1] = core.signal("HUP", function() end)

  core.run()

  D.retry_unsaved()
  for _, s in ipairs(signals) do s:close() end
  for _, m in ipairs(D.registry:list()) do
    if m.output then m.output:close_files() end
  end
  D.bus:close()
  core.close_loop()
  dlog.write("daemon stopped")
  dlog.close()
  core.unlink(paths.pidfile(home))
  lock:release()
  return 0
end

return M
