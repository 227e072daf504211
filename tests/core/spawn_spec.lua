-- core.spawn: one supervised child (src/proc.c).
local core = require("overmind.core")
local H = require("core.helper")

local spawn = H.sh_spawn

local function wait_exit(rec, ms)
  return H.run_until(function() return rec.exited end, ms or 5000)
end

describe("core.spawn", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function()
    H.rmdir(dir)
    assert.is_true(H.settle(), "a handle was left open")
  end)

  describe("exit", function()
    it("reports the exit status once, with no signal", function()
      local p, rec = spawn("exit 3")
      assert.is_truthy(p)
      assert.is_true(p:pid() > 0)
      assert.is_true(wait_exit(rec))
      assert.are.equal(3, rec.status)
      assert.is_nil(rec.signal)
      assert.is_true(H.settle())
      assert.are.equal(1, rec.exits)
    end)

    it("reports the name of the signal that killed the child", function()
      local _, rec = spawn("kill -KILL $$")
      assert.is_true(wait_exit(rec))
      assert.are.equal("KILL", rec.signal)
      local _, rec2 = spawn("kill -TERM $$")
      assert.is_true(wait_exit(rec2))
      assert.are.equal("TERM", rec2.signal)
    end)

    it("core.run returns once the child is done", function()
      local _, rec = spawn("exit 0")
      core.run()
      assert.is_true(rec.exited)
      assert.are.equal(0, rec.status)
    end)

    it("keeps working when the caller drops the process", function()
      local _, rec = spawn("echo bye")
      collectgarbage("collect")
      collectgarbage("collect")
      assert.is_true(wait_exit(rec))
      assert.are.same({ "bye" }, rec.lines)
    end)

    it("stats and tostring tell that it finished", function()
      local p, rec = spawn("printf 'ab\\ncd\\n'", { deliver = false })
      assert.is_true(wait_exit(rec))
      local st = p:stats()
      assert.are.equal(p:pid(), st.pid)
      assert.are.equal(6, st.bytes)
      assert.are.equal(2, st.lines)
      assert.is_true(st.exited)
      assert.is_true(st.finished)
      assert.is_truthy(tostring(p):find("finished", 1, true))
    end)
  end)

  describe("environment", function()
    it("runs in cwd", function()
      local _, rec = spawn("pwd -P", { cwd = dir })
      assert.is_true(wait_exit(rec))
      assert.are.same({ core.realpath(dir) }, rec.lines)
    end)

    it("gets exactly the environment it is given", function()
      local _, rec = spawn('echo "$FOO"; echo "${HOME-unset}"',
        { env = { "FOO=bar baz", "PATH=/usr/bin:/bin" } })
      assert.is_true(wait_exit(rec))
      assert.are.same({ "bar baz", "unset" }, rec.lines)
    end)

    it("runs in its own session and process group", function()
      local p, rec = spawn("echo $$; cut -d' ' -f5,6 /proc/$$/stat")
      assert.is_true(wait_exit(rec))
      local pid = tostring(p:pid())
      assert.are.same({ pid, pid .. " " .. pid }, rec.lines)
    end)
  end)

  describe("stdin", function()
    it("null: reads end of file at once", function()
      local _, rec = spawn('readlink /proc/self/fd/0; cat; read x; echo "rc=$?"')
      assert.is_true(wait_exit(rec))
      assert.are.same({ "/dev/null", "rc=1" }, rec.lines)
    end)

    it("pipe: p:write feeds it and p:close_stdin ends it", function()
      local p, rec = spawn("cat", { stdin = "pipe" })
      local q = p:write("hello\n")
      assert.are.equal("integer", math.type(q))
      p:write("wor")
      p:write("ld\n")
      assert.is_truthy(H.run_until(function() return #rec.lines == 2 end))
      assert.is_false(rec.exited)
      p:close_stdin()
      assert.is_true(wait_exit(rec))
      assert.are.same({ "hello", "world" }, rec.lines)
      assert.are.equal(0, rec.status)
    end)

    it("writing after the child is gone is EPIPE, not an error", function()
      local p, rec = spawn("exit 0", { stdin = "pipe" })
      assert.is_true(wait_exit(rec))
      local ok, err = p:write("late\n")
      assert.is_nil(ok)
      assert.is_truthy(tostring(err):match("^EPIPE"), err)
    end)

    it("stdin_queued counts what a child that never reads leaves queued",
        function()
      local p, rec = spawn("exec sleep 30", { stdin = "pipe" })
      finally(function() p:kill("KILL") end)
      assert.are.equal(0, p:stdin_queued())
      local piece = string.rep("x", 64 * 1024)
      local q
      for _ = 1, 64 do q = assert(p:write(piece)) end
      -- 4 MiB written; the kernel holds some of it (libuv's stdin "pipe"
      -- is a socket pair: a few hundred KiB on Linux), the rest is queued
      assert.are.equal(q, p:stdin_queued())
      assert.is_true(q >= 4 * 1024 * 1024 - 1024 * 1024, "queued " .. q)
      assert.is_true(q <= 4 * 1024 * 1024)
      assert.is_true(p:kill("KILL"))
      assert.is_true(wait_exit(rec))
      assert.are.equal(0, p:stdin_queued())
    end)

    it("stdin_queued is 0 without a stdin pipe", function()
      local p, rec = spawn("exit 0")
      assert.are.equal(0, p:stdin_queued())
      assert.is_true(wait_exit(rec))
      assert.are.equal(0, p:stdin_queued())
    end)

    it("writing to a null stdin is EPIPE", function()
      local p, rec = spawn("exit 0")
      local ok, err = p:write("x\n")
      assert.is_nil(ok)
      assert.is_truthy(tostring(err):match("^EPIPE"), err)
      assert.is_true(wait_exit(rec))
    end)
  end)

  describe("output", function()
    it("merges stdout and stderr in order", function()
      local _, rec = spawn("echo out; echo err >&2; echo out2")
      assert.is_true(wait_exit(rec))
      assert.are.same({ "out", "err", "out2" }, rec.lines)
    end)

    it("flushes a partial last line at exit", function()
      local _, rec = spawn("printf 'a\\nb'")
      assert.is_true(wait_exit(rec))
      assert.are.same({ "a", "b" }, rec.lines)
    end)

    it("keeps empty lines and carriage returns", function()
      local _, rec = spawn("printf 'a\\n\\nb\\r\\n'")
      assert.is_true(wait_exit(rec))
      assert.are.same({ "a", "", "b\r" }, rec.lines)
    end)

    it("cuts a line longer than max_line", function()
      local _, rec = spawn("printf '0123456789abcdefghijXYZ\\nok\\n'",
        { max_line = 10 })
      assert.is_true(wait_exit(rec))
      for _, l in ipairs(rec.lines) do assert.is_true(#l <= 10, l) end
      assert.are.equal("0123456789", rec.lines[1])
      assert.are.equal("ok", rec.lines[#rec.lines])
      assert.are.equal("0123456789abcdefghijXYZ",
        table.concat(rec.lines, "", 1, #rec.lines - 1))
    end)

    it("hands lines to Lua in one batch per read", function()
      local _, rec = spawn("printf 'a\\nb\\nc\\n'")
      assert.is_true(wait_exit(rec))
      assert.are.same({ "a", "b", "c" }, rec.lines)
      assert.are.equal(1, rec.batches)
    end)

    it("does not call Lua at all unless deliver is on", function()
      local p, rec = spawn("printf 'a\\nb\\nc\\n'", { deliver = false })
      assert.is_true(wait_exit(rec))
      assert.are.equal(0, rec.batches)
      assert.are.equal(3, p:stats().lines)
    end)

    it("p:deliver turns delivery on and off", function()
      local p, rec = spawn("cat", { stdin = "pipe", deliver = false })
      p:write("one\n")
      assert.is_truthy(H.run_until(function() return p:stats().lines == 1 end))
      p:deliver(true)
      p:write("two\n")
      assert.is_truthy(H.run_until(function() return #rec.lines == 1 end))
      p:deliver(false)
      p:write("three\n")
      assert.is_truthy(H.run_until(function() return p:stats().lines == 3 end))
      p:close_stdin()
      assert.is_true(wait_exit(rec))
      assert.are.same({ "two" }, rec.lines)
    end)

    it("decodes lines that look like JSON objects with decode = true",
        function()
      local _, rec = spawn(
        "printf '{\"a\":1}\\nplain\\n  {\"b\":[2]}\\n{bad\\n'",
        { decode = true })
      assert.is_true(wait_exit(rec))
      assert.are.equal(4, #rec.decoded)
      assert.are.equal(1, rec.decoded[1].a)
      assert.is_false(rec.decoded[2])
      assert.are.equal(2, rec.decoded[3].b[1])
      assert.is_false(rec.decoded[4])
      assert.are.equal("plain", rec.lines[2])
    end)

    it("decodes in C with decode = true, building only the selected fields",
        function()
      local _, rec = spawn(
        "printf '{\"type\":\"x\",\"skip\":{\"deep\":1}}\\nplain\\n'",
        { decode = true, fields = { type = true } })
      assert.is_true(wait_exit(rec))
      assert.are.equal(2, #rec.decoded)
      assert.are.equal("x", rec.decoded[1].type)
      assert.is_nil(rec.decoded[1].skip)
      assert.is_false(rec.decoded[2])
      assert.are.equal("plain", rec.lines[2])
    end)

    it("takes only a boolean for decode", function()
      for _, v in ipairs({ function() end, 1, "yes", {} }) do
        local ok, err = pcall(core.spawn, { file = "/bin/true",
          args = { "true" }, decode = v })
        assert.is_false(ok)
        assert.is_truthy(tostring(err):find("'decode' must be a boolean", 1,
          true), err)
      end
      assert.is_true(H.settle())
    end)

    it("appends the raw output to its log file", function()
      local lf = assert(core.logfile(dir .. "/out.log"))
      local _, rec = spawn("echo one; printf 'two'", { log = lf,
        deliver = false })
      assert.is_true(wait_exit(rec))
      lf:close()
      assert.are.equal("one\ntwo", H.read(dir .. "/out.log"))
    end)
  end)

  describe("exit and end of output in either order", function()
    it("output closed long before the exit", function()
      local p, rec = spawn("echo bye; exec >&- 2>&-; read x; exit 4",
        { stdin = "pipe" })
      assert.is_truthy(H.run_until(function() return p:stats().eof end),
        "no end of output")
      assert.is_false(rec.exited)
      p:write("go\n")
      assert.is_true(wait_exit(rec))
      assert.are.equal(4, rec.status)
      assert.are.same({ "bye" }, rec.lines)
    end)

    it("a large burst right before the exit is read in full", function()
      local lf = assert(core.logfile(dir .. "/big.log"))
      local p, rec = spawn(
        "head -c 5000000 /dev/zero | tr '\\0' a | fold -w 100; exit 2",
        { log = lf, deliver = false })
      assert.is_true(wait_exit(rec, 20000))
      lf:close()
      assert.are.equal(2, rec.status)
      local st = p:stats()
      -- 50000 lines of 100; fold leaves the last one without a newline
      assert.are.equal(50000, st.lines)
      assert.are.equal(5049999, st.bytes)
      assert.are.equal(5049999, core.stat(dir .. "/big.log").size)
    end)
  end)

  describe("callbacks that raise", function()
    it("are reported and the process is still followed to its exit", function()
      H.capture_errors()
      local batches, exited = 0, false
      local p = core.spawn({
        file = "/bin/sh", args = { "sh", "-c", "echo a; read x; echo b" },
        stdin = "pipe", deliver = true,
        on_output = function()
          batches = batches + 1
          error("output boom")
        end,
        on_exit = function() exited = true end,
      })
      assert.is_truthy(H.run_until(function() return batches == 1 end))
      p:write("go\n")
      local done = H.run_until(function() return exited end)
      core.on_error(function(msg) io.stderr:write(msg, "\n") end)
      assert.is_truthy(done)
      assert.are.equal(2, batches)
      assert.are.equal(2, #H.errors)
      assert.is_truthy(H.errors[1]:find("output boom", 1, true))
    end)
  end)

  describe("tail", function()
    it("keeps the last `tail` bytes", function()
      local p, rec = spawn("printf 0123456789abcdefghijklmnop", { tail = 16 })
      assert.is_true(wait_exit(rec))
      assert.are.equal("abcdefghijklmnop", p:tail())
    end)

    it("keeps everything while it fits", function()
      local p, rec = spawn("echo hi", { tail = 1024 })
      assert.is_true(wait_exit(rec))
      assert.are.equal("hi\n", p:tail())
    end)

    it("wraps around across reads", function()
      local p, rec = spawn("cat", { stdin = "pipe", tail = 10 })
      for i, s in ipairs({ "abcdef\n", "ghijkl\n", "mnopqr\n" }) do
        p:write(s)
        assert.is_truthy(H.run_until(function() return #rec.lines == i end))
      end
      assert.are.equal("kl\nmnopqr\n", p:tail())
      p:write("s\n")
      assert.is_truthy(H.run_until(function() return #rec.lines == 4 end))
      assert.are.equal("\nmnopqr\ns\n", p:tail())
      p:close_stdin()
      assert.is_true(wait_exit(rec))
    end)

    it("is empty with tail = 0", function()
      local p, rec = spawn("echo hi", { tail = 0 })
      assert.is_true(wait_exit(rec))
      assert.are.equal("", p:tail())
    end)
  end)

  describe("idle", function()
    it("counts the milliseconds since the last output", function()
      local p, rec = spawn("cat", { stdin = "pipe" })
      assert.is_truthy(H.run_until(function() return p:idle() >= 60 end, 2000))
      p:write("x\n")
      assert.is_truthy(H.run_until(function() return #rec.lines == 1 end))
      assert.is_true(p:idle() < 60, "idle " .. p:idle())
      p:close_stdin()
      assert.is_true(wait_exit(rec))
    end)
  end)

  describe("kill", function()
    it("reaches grandchildren through the process group", function()
      local p, rec = spawn("sleep 30 & echo $!; wait")
      assert.is_truthy(H.run_until(function() return #rec.lines == 1 end))
      local gpid = tonumber(rec.lines[1])
      assert.is_true(H.alive(gpid))
      assert.is_true(p:kill())
      assert.is_true(wait_exit(rec))
      assert.are.equal("TERM", rec.signal)
      assert.is_truthy(H.run_until(function() return not H.alive(gpid) end),
        "the grandchild survived")
    end)

    it("with leader_only spares the rest of the group", function()
      local p, rec = spawn("trap '' TERM; sleep 30 & echo $!; exec sleep 30")
      assert.is_truthy(H.run_until(function() return #rec.lines == 1 end))
      local gpid = tonumber(rec.lines[1])
      finally(function() core.kill(gpid, "KILL") end)
      assert.is_true(p:kill("KILL", true))
      assert.is_true(wait_exit(rec))
      assert.are.equal("KILL", rec.signal)
      assert.is_true(H.alive(gpid))
      -- the group outlives its leader and is still reachable
      assert.is_true(p:kill("KILL"))
      assert.is_truthy(H.run_until(function() return not H.alive(gpid) end))
    end)

    it("after the whole group is gone is ESRCH", function()
      local p, rec = spawn("exit 0")
      assert.is_true(wait_exit(rec))
      local ok, err = H.run_until(function()
        local r, e = p:kill("TERM")
        return (not r) and e
      end)
      assert.is_truthy(tostring(ok):match("^ESRCH"), ok)
      assert.is_nil(err)
    end)

    it("accepts signal names and numbers", function()
      local p, rec = spawn("exec sleep 30")
      assert.is_true(p:kill(9))
      assert.is_true(wait_exit(rec))
      assert.are.equal("KILL", rec.signal)
      assert.has_error(function() p:kill("NOPE") end)
    end)
  end)

  describe("a grandchild that keeps the pipe open", function()
    it("does not hold up the exit", function()
      local t0 = core.now()
      local p, rec = spawn("echo before; sleep 30 & echo $!; exit 5")
      local done = wait_exit(rec, 5000)
      local gpid = tonumber(rec.lines[2] or "")
      finally(function()
        p:kill("KILL")
        if gpid then core.kill(gpid, "KILL") end
      end)
      assert.is_true(done, "no exit while the grandchild lives")
      assert.is_true(core.now() - t0 < 2000, "exit took " .. (core.now() - t0))
      assert.are.equal(5, rec.status)
      assert.are.equal("before", rec.lines[1])
      assert.is_truthy(gpid)
      assert.is_true(H.alive(gpid))
      assert.is_true(p:kill("KILL"))
      assert.is_truthy(H.run_until(function() return not H.alive(gpid) end))
    end)
  end)

  describe("close", function()
    it("stops the callbacks; the handles go when the child exits", function()
      local p, rec = spawn("cat", { stdin = "pipe" })
      p:close()
      p:write("ignored\n")
      p:close_stdin()
      assert.is_true(H.settle(), "the process handles were not released")
      assert.is_false(rec.exited)
      assert.are.same({}, rec.lines)
    end)
  end)

  describe("failure", function()
    it("for a missing cwd returns nil and ENOENT and leaks no fd", function()
      assert.is_true(H.settle())
      local before = H.fds()
      local called = false
      local p, err, code = core.spawn({
        file = "/bin/sh", args = { "sh", "-c", "exit 0" },
        cwd = dir .. "/missing", deliver = true,
        on_exit = function() called = true end,
      })
      assert.is_nil(p)
      assert.is_truthy(tostring(err):match("^ENOENT"), err)
      assert.are.equal("ENOENT", code)
      assert.is_true(H.settle())
      collectgarbage("collect")
      assert.are.equal(before, H.fds())
      assert.is_false(called)
    end)

    it("with a stdin pipe leaks no fd either", function()
      assert.is_true(H.settle())
      local before = H.fds()
      local p, err = core.spawn({
        file = "/bin/sh", args = { "sh" }, cwd = dir .. "/missing",
        stdin = "pipe",
      })
      assert.is_nil(p)
      assert.is_truthy(tostring(err):match("^ENOENT"), err)
      assert.is_true(H.settle())
      assert.are.equal(before, H.fds())
    end)

    it("for a missing program returns nil and ENOENT", function()
      local before = H.fds()
      local p, err = core.spawn({ file = dir .. "/nope", args = { "nope" } })
      assert.is_nil(p)
      assert.is_truthy(tostring(err):match("^ENOENT"), err)
      assert.is_true(H.settle())
      assert.are.equal(before, H.fds())
    end)

    it("raises for bad arguments", function()
      assert.has_error(function() core.spawn({ file = "/bin/true" }) end)
      assert.has_error(function()
        core.spawn({ file = "/bin/true", args = { "true" }, stdin = "tty" })
      end)
      assert.has_error(function()
        core.spawn({ file = "/bin/true", args = { "true" }, env = { 1 } })
      end)
      assert.has_error(function()
        core.spawn({ file = "/bin/true", args = { "true" }, on_exit = 3 })
      end)
    end)
  end)

  describe("pty", function()
    it("runs the child on a terminal", function()
      local _, rec = spawn("test -t 0 && test -t 1 && echo tty; stty size",
        { pty = { rows = 33, cols = 101 } })
      assert.is_true(wait_exit(rec))
      assert.are.same({ "tty\r", "33 101\r" }, rec.lines)
      assert.are.equal(0, rec.status)
    end)

    it("resize changes the terminal's size", function()
      local p, rec = spawn("read x; stty size", { pty = { rows = 24, cols = 80 } })
      assert.is_true(p:resize(40, 120))
      p:write("go\n")
      assert.is_true(wait_exit(rec))
      assert.are.equal("40 120\r", rec.lines[#rec.lines])
    end)

    it("resize of a process without a terminal is EBADF", function()
      local p, rec = spawn("exit 0")
      local ok, err = p:resize(10, 10)
      assert.is_nil(ok)
      assert.is_truthy(tostring(err):match("^EBADF"), err)
      assert.is_true(wait_exit(rec))
    end)

    it("survives the caller dropping the process (no use after free)", function()
      -- Run in a child process: a use-after-free may crash or hang it.
      local r, err, out = H.run_lua([[
        local core = require("overmind.core")
        local exited, lines = 0, 0
        for i = 1, 10 do
          core.spawn({ file = "/bin/sh", args = { "sh", "-c", "echo hi" .. i },
            pty = { rows = 24, cols = 80 }, deliver = true,
            on_output = function(l) lines = lines + #l end,
            on_exit = function() exited = exited + 1 end })
          collectgarbage("collect")
        end
        collectgarbage("collect")
        local guard = core.timer()
        guard:start(4000, 0, function() core.stop() end)
        while exited < 10 and core.run("once") do end
        guard:close()
        print("exited " .. exited .. " lines " .. lines)
      ]], 6000)
      assert.is_truthy(r, "child " .. tostring(err) .. ": " .. tostring(out))
      assert.are.equal(0, r.status, r.out)
      assert.is_nil(r.signal, r.out)
      assert.are.equal("exited 10 lines 10\n", r.out)
    end)
  end)
end)
