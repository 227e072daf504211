-- core.spawn with stderr = "pipe": a second stream, read by a second
-- output of the process (src/proc.c, src/output.c), whose lines go to
-- on_stderr and nowhere else.
local core = require("overmind.core")
local H = require("core.helper")

-- H.sh_spawn with stderr = "pipe", also recording what reaches on_stderr:
-- rec.err (the lines), rec.err_batches, and rec.err_extra (whether a call
-- had more than one argument).
local function spawn(cmd, opts)
  local err = { lines = {}, batches = 0, extra = false }
  local o = {
    stderr = "pipe",
    on_stderr = function(lines, ...)
      err.batches = err.batches + 1
      if select("#", ...) > 0 then err.extra = true end
      for _, l in ipairs(lines) do err.lines[#err.lines + 1] = l end
    end,
  }
  for k, v in pairs(opts or {}) do o[k] = v end
  local p, rec, e, code = H.sh_spawn(cmd, o)
  rec.err = err.lines
  setmetatable(rec, { __index = function(_, k)
    if k == "err_batches" then return err.batches end
    if k == "err_extra" then return err.extra end
  end })
  return p, rec, e, code
end

-- Like spawn, but on_exit also notes how many stderr lines were in.
local function spawn_noting(cmd, opts)
  local rec = { err = {}, err_batches = 0, lines = {}, exited = false }
  local o = {
    file = "/bin/sh", args = { "sh", "-c", cmd }, deliver = true,
    stderr = "pipe",
    on_output = function(lines)
      for _, l in ipairs(lines) do rec.lines[#rec.lines + 1] = l end
    end,
    on_stderr = function(lines)
      rec.err_batches = rec.err_batches + 1
      for _, l in ipairs(lines) do rec.err[#rec.err + 1] = l end
    end,
    on_exit = function(status, sig)
      rec.exited = true
      rec.status, rec.signal = status, sig
      rec.err_at_exit = #rec.err
      rec.out_at_exit = #rec.lines
    end,
  }
  for k, v in pairs(opts or {}) do o[k] = v end
  local p, err, code = core.spawn(o)
  return p, rec, err, code
end

local function wait_exit(rec, ms)
  return H.run_until(function() return rec.exited end, ms or 5000)
end

describe("core.spawn stderr = 'pipe'", function()
  local dir
  before_each(function() dir = H.tmpdir() end)
  after_each(function()
    H.rmdir(dir)
    assert.is_true(H.settle(), "a handle was left open")
  end)

  describe("lines", function()
    it("reach on_stderr, and neither on_output, the log nor the tail",
        function()
      local lf = assert(core.logfile(dir .. "/out.log"))
      local p, rec = spawn("echo out; echo err >&2; echo out2; echo err2 >&2",
        { log = lf })
      assert.is_true(wait_exit(rec))
      lf:close()
      assert.are.same({ "out", "out2" }, rec.lines)
      assert.are.same({ "err", "err2" }, rec.err)
      assert.are.equal("out\nout2\n", H.read(dir .. "/out.log"))
      assert.are.equal("out\nout2\n", p:tail())
      assert.are.equal(0, rec.status)
    end)

    it("are plain strings, one call per read, without decoding or text",
        function()
      local _, rec = spawn(
        "printf '{\"a\":1}\\nplain\\n' >&2; printf '{\"b\":2}\\nx\\n'",
        { decode = true, batch_text = true })
      assert.is_true(wait_exit(rec))
      assert.are.same({ '{"a":1}', "plain" }, rec.err)
      assert.are.equal(1, rec.err_batches)
      assert.is_false(rec.err_extra)
      -- stdout is decoded as before
      assert.are.equal(2, #rec.decoded)
      assert.are.equal(2, rec.decoded[1].b)
      assert.is_false(rec.decoded[2])
      assert.are.equal("x", rec.lines[2])
    end)

    it("are delivered while deliver is off", function()
      local p, rec = spawn("echo out; echo err >&2", { deliver = false })
      assert.is_true(wait_exit(rec))
      assert.are.equal(0, rec.batches)
      assert.are.same({ "err" }, rec.err)
      local st = p:stats()
      assert.are.equal(2, st.lines)
      assert.are.equal(8, st.bytes)
      assert.are.equal(4, st.stderr_bytes)
      assert.are.equal(1, st.stderr_lines)
      assert.is_true(st.eof)
      assert.is_true(st.stderr_eof)
    end)

    it("are cut at max_line like stdout's", function()
      local _, rec = spawn("printf '0123456789abcdefghijXYZ\\nok\\n' >&2",
        { max_line = 10 })
      assert.is_true(wait_exit(rec))
      for _, l in ipairs(rec.err) do assert.is_true(#l <= 10, l) end
      assert.are.equal("0123456789", rec.err[1])
      assert.are.equal("ok", rec.err[#rec.err])
    end)

    it("all arrive, each stream in order, when writes interleave",
        function()
      local n = 2000
      local _, rec = spawn(([[
        i=0
        while [ $i -lt %d ]; do echo "o$i"; echo "e$i" >&2; i=$((i+1)); done
      ]]):format(n))
      assert.is_true(wait_exit(rec, 20000))
      assert.are.equal(n, #rec.lines)
      assert.are.equal(n, #rec.err)
      for i = 1, n do
        assert.are.equal("o" .. (i - 1), rec.lines[i])
        assert.are.equal("e" .. (i - 1), rec.err[i])
      end
    end)

    it("a flood on stderr right before the exit is read in full", function()
      local p, rec = spawn_noting(
        "head -c 3000000 /dev/zero | tr '\\0' a | fold -w 100 >&2; echo done")
      assert.is_true(wait_exit(rec, 20000))
      assert.are.equal(30000, rec.err_at_exit)
      assert.are.same({ "done" }, rec.lines)
      -- 30000 lines of 100; fold leaves the last one without a newline
      assert.are.equal(3029999, p:stats().stderr_bytes)
    end)

    it("without on_stderr go nowhere, and are still counted", function()
      local p, rec = H.sh_spawn("echo out; echo err >&2",
        { stderr = "pipe" })
      assert.is_true(wait_exit(rec))
      assert.are.same({ "out" }, rec.lines)
      assert.are.equal(4, p:stats().stderr_bytes)
    end)
  end)

  describe("the default", function()
    it("is 'merged', as is stderr = 'merged'", function()
      for _, mode in ipairs({ false, "merged" }) do
        local called = false
        local p, rec = H.sh_spawn("echo out; echo err >&2; echo out2", {
          stderr = mode or nil,
          on_stderr = function() called = true end,
        })
        assert.is_true(wait_exit(rec))
        assert.are.same({ "out", "err", "out2" }, rec.lines)
        assert.is_false(called)
        assert.are.equal(0, p:stats().stderr_bytes)
        assert.is_true(p:stats().stderr_eof)
      end
    end)
  end)

  describe("the end", function()
    it("flushes stderr's partial last line before on_exit", function()
      local _, rec = spawn_noting("printf 'a\\nb' >&2; printf 'c\\nd'")
      assert.is_true(wait_exit(rec))
      assert.are.same({ "a", "b" }, rec.err)
      assert.are.equal(2, rec.err_at_exit)
      assert.are.same({ "c", "d" }, rec.lines)
      assert.are.equal(2, rec.out_at_exit)
    end)

    it("waits for the end of stdout after the end of stderr", function()
      local p, rec = spawn_noting(
        "echo e >&2; exec 2>&-; read x; echo o; exec >&-; read y; exit 4",
        { stdin = "pipe" })
      assert.is_truthy(H.run_until(function() return p:stats().stderr_eof end),
        "no end of stderr")
      assert.is_false(p:stats().eof)
      p:write("go\n")
      assert.is_truthy(H.run_until(function() return p:stats().eof end),
        "no end of stdout")
      assert.is_false(rec.exited)
      p:write("go\n")
      assert.is_true(wait_exit(rec))
      assert.are.equal(4, rec.status)
      assert.are.same({ "e" }, rec.err)
      assert.are.same({ "o" }, rec.lines)
    end)

    it("waits for the end of stderr after the end of stdout", function()
      local p, rec = spawn_noting(
        "echo o; exec >&-; read x; echo e >&2; read z; exec 2>&-; read y; " ..
        "exit 3",
        { stdin = "pipe" })
      assert.is_truthy(H.run_until(function() return #rec.lines == 1 end))
      assert.is_false(p:stats().stderr_eof)
      p:write("go\n")
      -- stdout ended before this line was written: only stderr is open
      assert.is_truthy(H.run_until(function() return #rec.err == 1 end))
      assert.is_false(p:stats().eof)
      assert.is_false(rec.exited)
      p:write("go\n")
      assert.is_truthy(H.run_until(function() return p:stats().stderr_eof end),
        "no end of stderr")
      assert.is_true(p:stats().eof)
      assert.is_false(rec.exited)
      assert.are.same({ "e" }, rec.err)
      p:write("go\n")
      assert.is_true(wait_exit(rec))
      assert.are.equal(3, rec.status)
      assert.are.equal(1, rec.err_at_exit)
    end)

    it("is not held up by a grandchild holding stderr open", function()
      local t0 = core.now()
      local p, rec = spawn_noting(
        "echo before >&2; sleep 30 >/dev/null & echo $!; exit 5")
      local done = wait_exit(rec, 5000)
      local gpid = tonumber(rec.lines[1] or "")
      finally(function()
        p:kill("KILL")
        if gpid then core.kill(gpid, "KILL") end
      end)
      assert.is_true(done, "no exit while the grandchild lives")
      assert.is_true(core.now() - t0 < 2000, "exit took " .. (core.now() - t0))
      assert.are.equal(5, rec.status)
      assert.are.same({ "before" }, rec.err)
      assert.is_truthy(gpid)
      assert.is_true(H.alive(gpid))
      assert.is_true(p:kill("KILL"))
      assert.is_truthy(H.run_until(function() return not H.alive(gpid) end))
    end)

    it("is not held up by a grandchild holding both pipes open", function()
      local t0 = core.now()
      local p, rec = spawn_noting("sleep 30 & echo $!; echo e >&2; exit 6")
      local done = wait_exit(rec, 5000)
      local gpid = tonumber(rec.lines[1] or "")
      finally(function()
        p:kill("KILL")
        if gpid then core.kill(gpid, "KILL") end
      end)
      assert.is_true(done, "no exit while the grandchild lives")
      assert.is_true(core.now() - t0 < 2000, "exit took " .. (core.now() - t0))
      assert.are.equal(6, rec.status)
      assert.are.same({ "e" }, rec.err)
      assert.is_true(p:kill("KILL"))
      assert.is_truthy(H.run_until(function() return not H.alive(gpid) end))
    end)
  end)

  describe("idle", function()
    it("counts output on stderr", function()
      local p, rec = spawn('while read x; do echo "$x" >&2; done',
        { stdin = "pipe" })
      assert.is_truthy(H.run_until(function() return p:idle() >= 60 end, 2000))
      p:write("x\n")
      assert.is_truthy(H.run_until(function() return #rec.err == 1 end))
      assert.is_true(p:idle() < 60, "idle " .. p:idle())
      assert.are.equal(0, #rec.lines)
      p:close_stdin()
      assert.is_true(wait_exit(rec))
    end)

    it("still counts output on stdout", function()
      local p, rec = spawn('while read x; do echo "$x"; done',
        { stdin = "pipe" })
      assert.is_truthy(H.run_until(function() return p:idle() >= 60 end, 2000))
      p:write("x\n")
      assert.is_truthy(H.run_until(function() return #rec.lines == 1 end))
      assert.is_true(p:idle() < 60, "idle " .. p:idle())
      p:close_stdin()
      assert.is_true(wait_exit(rec))
    end)
  end)

  describe("pause", function()
    it("stops both streams until resumed", function()
      local p, rec = spawn(
        'while read x; do echo "o$x"; echo "e$x" >&2; touch "$x"; done',
        { stdin = "pipe", cwd = dir })
      p:pause(true)
      p:write("1\n")
      assert.is_truthy(H.run_until(function()
        return core.stat(dir .. "/1") ~= nil
      end), "the child did not write")
      assert.is_falsy(H.run_until(function()
        return #rec.lines + #rec.err > 0
      end, 50))
      p:pause(false)
      assert.is_truthy(H.run_until(function()
        return #rec.lines == 1 and #rec.err == 1
      end))
      assert.are.same({ "o1" }, rec.lines)
      assert.are.same({ "e1" }, rec.err)
      p:close_stdin()
      assert.is_true(wait_exit(rec))
    end)
  end)

  describe("close", function()
    it("stops on_stderr; the handles go when the child exits", function()
      local p, rec = spawn_noting("cat >&2", { stdin = "pipe" })
      p:write("one\n")
      assert.is_truthy(H.run_until(function() return #rec.err == 1 end))
      p:close()
      p:write("two\n")
      p:write("three")
      p:close_stdin()
      assert.is_true(H.settle(), "the process handles were not released")
      assert.is_false(rec.exited)
      assert.are.same({ "one" }, rec.err)
    end)
  end)

  describe("options", function()
    it("with a pty is an error", function()
      local ok, err = pcall(core.spawn, { file = "/bin/true",
        args = { "true" }, stderr = "pipe", pty = { rows = 24, cols = 80 } })
      assert.is_false(ok)
      assert.is_truthy(tostring(err):find(
        "spawn: stderr = 'pipe' needs no pty", 1, true), err)
      assert.is_true(H.settle())
    end)

    it("stderr = 'merged' with a pty is fine", function()
      local _, rec = H.sh_spawn("echo err >&2",
        { stderr = "merged", pty = { rows = 24, cols = 80 } })
      assert.is_true(wait_exit(rec))
      assert.are.same({ "err\r" }, rec.lines)
    end)

    it("takes only 'merged' or 'pipe'", function()
      for _, v in ipairs({ "tty", "", "PIPE", 1, true, {}, print }) do
        local ok, err = pcall(core.spawn, { file = "/bin/true",
          args = { "true" }, stderr = v })
        assert.is_false(ok)
        assert.is_truthy(tostring(err):find(
          "'stderr' must be 'merged' or 'pipe'", 1, true), err)
      end
      assert.is_true(H.settle())
    end)

    it("takes only a function for on_stderr", function()
      assert.has_error(function()
        core.spawn({ file = "/bin/true", args = { "true" }, stderr = "pipe",
          on_stderr = 3 })
      end)
      assert.is_true(H.settle())
    end)
  end)

  describe("file descriptors", function()
    it("none leaks across 50 spawns", function()
      assert.is_true(H.settle())
      collectgarbage("collect")
      local before = H.fds()
      local exited = 0
      for i = 1, 50 do
        local p = core.spawn({
          file = "/bin/sh",
          args = { "sh", "-c", "echo o" .. i .. "; echo e" .. i .. " >&2" },
          stderr = "pipe", deliver = true, stdin = (i % 2 == 0) and "pipe"
            or "null",
          on_output = function() end, on_stderr = function() end,
          on_exit = function() exited = exited + 1 end,
        })
        assert.is_truthy(p)
      end
      assert.is_truthy(H.run_until(function() return exited == 50 end, 20000))
      assert.is_true(H.settle())
      collectgarbage("collect")
      assert.are.equal(before, H.fds())
    end)

    it("none leaks when the spawn fails", function()
      assert.is_true(H.settle())
      local before = H.fds()
      local called = false
      local p, err = core.spawn({
        file = "/bin/sh", args = { "sh", "-c", "exit 0" },
        cwd = dir .. "/missing", stderr = "pipe", stdin = "pipe",
        on_stderr = function() called = true end,
        on_exit = function() called = true end,
      })
      assert.is_nil(p)
      assert.is_truthy(tostring(err):match("^ENOENT"), err)
      assert.is_true(H.settle())
      collectgarbage("collect")
      assert.are.equal(before, H.fds())
      assert.is_false(called)
    end)

    it("the child's fd 2 is a pipe of its own", function()
      local _, rec = spawn_noting(
        "readlink /proc/self/fd/1; readlink /proc/self/fd/2")
      assert.is_true(wait_exit(rec))
      assert.are.equal(2, #rec.lines)
      assert.is_truthy(rec.lines[1]:match("^pipe:"), rec.lines[1])
      assert.is_truthy(rec.lines[2]:match("^pipe:"), rec.lines[2])
      assert.are_not.equal(rec.lines[1], rec.lines[2])
    end)
  end)
end)
