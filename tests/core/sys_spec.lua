local core = require("overmind.core")
local H = require("core.helper")

-- Field 22 of /proc/<pid>/stat, parsed after the last ')'.
local function starttime_of(pid)
  local s = H.read("/proc/" .. pid .. "/stat")
  local rest = s:match("^.*%)(.*)$")
  local fields = {}
  for w in rest:gmatch("%S+") do fields[#fields + 1] = w end
  return tonumber(fields[20]) -- fields[1] is field 3 (state)
end

local function wait_pid(pid, ms)
  local code
  local done = H.run_until(function()
    local exited, c = core.waitpid(pid)
    if exited then code = c end
    return exited
  end, ms or 5000)
  return done, code
end

describe("core sys", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function()
    H.rmdir(dir)
    assert.is_true(H.settle(), "a handle was left open")
  end)

  it("getpid and getuid", function()
    assert.are.equal(tonumber(H.sh("echo $PPID")), core.getpid())
    assert.are.equal(tonumber(H.sh("id -u")), core.getuid())
  end)

  it("rss of this process is positive and page-aligned", function()
    local rss = core.rss()
    assert.are.equal("integer", math.type(rss))
    assert.is_true(rss > 0)
    assert.are.equal(0, rss % 4096)
    assert.is_true(core.rss(core.getpid()) > 0)
  end)

  it("rss of a missing pid is an error", function()
    local r, err = core.rss(2 ^ 22 + 12345)
    assert.is_nil(r)
    assert.is_truthy(tostring(err):match("^ENOENT"), err)
  end)

  it("proc_starttime of self is field 22 of /proc/self/stat", function()
    local st = core.proc_starttime(core.getpid())
    assert.are.equal("integer", math.type(st))
    assert.is_true(st > 0)
    assert.are.equal(starttime_of(core.getpid()), st)
    assert.are.equal(st, core.proc_starttime(core.getpid()))
  end)

  it("proc_starttime copes with spaces and parentheses in the name", function()
    local exe = dir .. "/a) b (c"
    os.execute("cp /bin/sleep '" .. exe .. "'")
    local p, rec = H.sh_spawn("", { file = exe, args = { exe, "30" } })
    assert.is_truthy(p, rec)
    finally(function() p:kill("KILL") end)
    local pid = p:pid()
    assert.is_truthy(H.run_until(function()
      local s = H.read("/proc/" .. pid .. "/stat") or ""
      return s:find("(a) b (c)", 1, true)
    end), "the child never exec'd")
    assert.are.equal(starttime_of(pid), core.proc_starttime(pid))
    p:kill("KILL")
    assert.is_truthy(H.run_until(function() return rec.exited end))
  end)

  it("proc_starttime of a missing pid is an error", function()
    local st, err = core.proc_starttime(2 ^ 22 + 12345)
    assert.is_nil(st)
    assert.is_truthy(tostring(err):match("^ENOENT"), err)
  end)

  it("spawn_detached starts a program that waitpid reaps", function()
    local log = dir .. "/d.log"
    local pid = core.spawn_detached("/bin/sh",
      { "sh", "-c", "echo hi; echo err >&2; exit 7" }, log)
    assert.are.equal("integer", math.type(pid))
    local done, code = wait_pid(pid)
    assert.is_truthy(done)
    assert.are.equal(7, code)
    assert.are.equal("hi\nerr\n", H.read(log))
  end)

  it("spawn_detached: new session, stdin /dev/null, no inherited fds", function()
    local log = dir .. "/d.log"
    local pid = core.spawn_detached("/bin/sh", { "sh", "-c",
      "cut -d' ' -f6 /proc/$$/stat; readlink /proc/$$/fd/0; ls /proc/$$/fd" },
      log)
    local done, code = wait_pid(pid)
    assert.is_truthy(done)
    assert.are.equal(0, code)
    local lines = {}
    for l in H.read(log):gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.are.equal(tostring(pid), lines[1]) -- session id = its pid
    assert.are.equal("/dev/null", lines[2])
    table.remove(lines, 1); table.remove(lines, 1)
    table.sort(lines)
    -- 0, 1, 2 and the one `ls` opens for /proc/$$/fd at most
    assert.is_true(#lines <= 4, table.concat(lines, " "))
    for _, fd in ipairs(lines) do assert.is_true(tonumber(fd) <= 3, fd) end
  end)

  it("waitpid reports 128+N for a signal and false while running", function()
    local pid = core.spawn_detached("/bin/sh", { "sh", "-c", "exec sleep 30" },
      dir .. "/d.log")
    assert.is_false(core.waitpid(pid))
    assert.is_true(core.kill(pid, "TERM"))
    local done, code = wait_pid(pid)
    assert.is_truthy(done)
    assert.are.equal(128 + 15, code)
    local ok, err = core.waitpid(pid)
    assert.is_nil(ok)
    assert.is_truthy(tostring(err):match("^ECHILD"), err)
  end)

  it("spawn_detached of a missing program exits 127", function()
    local pid = core.spawn_detached(dir .. "/nope", { "nope" }, dir .. "/d.log")
    local done, code = wait_pid(pid)
    assert.is_truthy(done)
    assert.are.equal(127, code)
  end)

  it("kill probes with 0, names groups with a negative pid, refuses 0 and -1", function()
    assert.is_true(core.kill(core.getpid(), 0))
    local ok, err, code = core.kill(2 ^ 22 + 12345, 0)
    assert.is_nil(ok)
    assert.are.equal("ESRCH", code, err)
    assert.has_error(function() core.kill(0, "TERM") end)
    assert.has_error(function() core.kill(-1, "TERM") end)
    local pid = core.spawn_detached("/bin/sh",
      { "sh", "-c", "sleep 30 & exec sleep 30" }, dir .. "/d.log")
    -- its own group, once the child has called setsid()
    assert.is_truthy(H.run_until(function()
      local s = H.read("/proc/" .. pid .. "/stat") or ""
      return s:match("%) %a %d+ (%d+)") == tostring(pid)
    end))
    assert.is_true(core.kill(-pid, "KILL"))
    local done, c = wait_pid(pid)
    assert.is_truthy(done)
    assert.are.equal(128 + 9, c)
  end)

  it("environ, setenv and unsetenv", function()
    local env = core.environ()
    assert.are.equal(os.getenv("PATH"), env.PATH)
    assert.is_true(core.setenv("OM_CORE_SPEC_VAR", "a=b c"))
    assert.are.equal("a=b c", os.getenv("OM_CORE_SPEC_VAR"))
    assert.are.equal("a=b c", core.environ().OM_CORE_SPEC_VAR)
    assert.is_true(core.setenv("OM_CORE_SPEC_VAR", nil))
    assert.is_nil(os.getenv("OM_CORE_SPEC_VAR"))
  end)

  it("exepath names this binary", function()
    local exe = core.exepath()
    assert.is_truthy(exe:match("/overmind$"), exe)
    assert.are.equal("file", core.stat(exe).type)
  end)

  it("raise_nofile returns the soft limit", function()
    local n = core.raise_nofile()
    assert.are.equal("integer", math.type(n))
    assert.is_true(n >= 256)
  end)
end)

describe("core.close_loop", function()
  it("closes every handle left open, in a process of its own", function()
    local dir = H.tmpdir()
    local r, err, out = H.run_lua(([[
      local core = require("overmind.core")
      local t = core.timer()
      t:start(100000, 0, function() end)
      local s = core.signal("USR1", function() end)
      local srv = assert(core.listen(%q, function() end))
      local c = assert(core.connect(%q))
      local p = assert(core.spawn({ file = "/bin/sh",
        args = { "sh", "-c", "exec sleep 30" }, stdin = "pipe" }))
      core.run("nowait")
      local pid = p:pid()
      local ok = core.close_loop()
      core.kill(-pid, "KILL")
      io.write("closed ", tostring(ok), "\n")
    ]]):format(dir .. "/s.sock", dir .. "/s.sock"), 10000)
    H.rmdir(dir)
    assert.is_truthy(r, tostring(err) .. " " .. tostring(out))
    assert.are.equal(0, r.status, r.out)
    assert.are.equal("closed true\n", r.out)
  end)
end)
