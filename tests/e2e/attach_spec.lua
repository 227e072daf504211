-- SPEC §6 attach and detach: a --pty mission through a real terminal
-- (tail replay, input, window size, Ctrl-], the mission's end), and a
-- claude session (claude --resume <session_id> in the mission's cwd, send
-- paused meanwhile, unpaused on every way out, `detach`).
local e2e = require("support.e2e")
local A = require("support.agents")
local cjson = require("cjson")

local function fails(r, reason)
  assert.are.equal("Error: " .. reason .. "\n", r.err)
  assert.are.equal(1, r.code)
  assert.are.equal("", r.out)
end

-- A pty mission that echoes lines, answers `size` with `stty size` and
-- ends with exit 4 on `quit`.
local ECHO = "echo ready; while read l; do " ..
  "if [ \"$l\" = size ]; then stty size; " ..
  "elif [ \"$l\" = quit ]; then echo bye; exit 4; " ..
  "else echo \"got:$l\"; fi; done"

describe("attach", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function()
    A.cleanup(h)
    e2e.cleanup(h)
  end)

  describe("a --pty mission", function()
    it("replays the tail, takes input, forwards the window size and detaches on Ctrl-]", function()
      local id = e2e.run(h, { "--pty", ECHO })
      e2e.wait_log(h, id, "ready")
      local t = A.terminal(h, { "attach", id }, { rows = 30, cols = 100 })
      -- output from before the attach is replayed
      local at = t:expect("ready")
      t:write("hello\r")
      at = t:expect("got:hello", 10, at)
      e2e.wait_log(h, id, "got:hello")
      -- the terminal's size at attach time
      t:write("size\r")
      at = t:expect("30 100", 10, at)
      -- and after a resize
      t:resize(41, 123)
      e2e.wait_for(function()
        t:write("size\r")
        return t:screen():find("41 123", at, true)
      end, 10, "the new window size inside the mission")
      -- Ctrl-] detaches; the mission goes on
      t:write("\29")
      assert.are.equal(0, t:wait_exit(10))
      local m = e2e.info(h, id)
      assert.are.equal("running", m.status)
      assert.is_true(e2e.alive(m.os_pid))
      -- attach again: the tail holds what happened since
      local t2 = A.terminal(h, { "attach", id }, { rows = 30, cols = 100 })
      t2:expect("got:hello")
      -- the detach key itself never reached the mission (it would begin
      -- this line)
      t2:write("again\r")
      t2:expect("got:again")
      e2e.wait_log(h, id, "got:again")
      t2:write("\29")
      assert.are.equal(0, t2:wait_exit(10))
      assert.are.equal("running", e2e.info(h, id).status)
    end)

    it("ends when the mission ends", function()
      local id = e2e.run(h, { "--pty", ECHO })
      e2e.wait_log(h, id, "ready")
      local t = A.terminal(h, { "attach", id })
      t:expect("ready")
      t:write("quit\r")
      local seen, why = pcall(t.expect, t, "bye")
      -- where the last line went, should it not reach the terminal
      if not seen then error(tostring(why) .. "\nthe mission's log: " ..
        e2e.log_text(h, id), 0) end
      t:wait_exit(10)
      local m = e2e.wait_status(h, id, "crashed")
      assert.are.equal(4, m.exit_code)
      -- a mission stopped from outside ends the attach too
      local id2 = e2e.run(h, { "--pty", ECHO })
      e2e.wait_log(h, id2, "ready")
      local t2 = A.terminal(h, { "attach", id2 })
      t2:expect("ready")
      e2e.ok(h, { "stop", id2 })
      t2:wait_exit(10)
      assert.are.equal("stopped", e2e.info(h, id2).status)
    end)

    it("fails for a mission that is not running or not found", function()
      local id = e2e.run(h, { "--pty", "echo done" })
      e2e.wait_status(h, id, "stopped")
      fails(e2e.om(h, { "attach", id }), "not_running")
      fails(e2e.om(h, { "attach", "deadbeef" }), "not_found")
    end)
  end)

  describe("a claude session", function()
    -- A claude that records where and how it was run, then is the double.
    local function wrapper()
      local w = h.home .. "/claude-wrapper"
      e2e.write_file(w, table.concat({
        "#!/bin/sh",
        "printf '%s|%s\\n' \"$(pwd -P)\" \"$*\" >> " .. e2e.quote(h.home .. "/calls"),
        "exec " .. e2e.quote(A.claude) .. " \"$@\"", "" }, "\n"))
      e2e.sh("chmod +x " .. e2e.quote(w))
      return w
    end

    local function calls()
      return A.lines(e2e.read_all(h.home .. "/calls"))
    end

    -- A claude session in its own directory that has answered its first
    -- message; returns id, session id, cwd, the wrapper.
    local function session(first)
      local w = wrapper()
      local dir = h.home .. "/work dir"
      e2e.sh("mkdir -p " .. e2e.quote(dir))
      dir = e2e.sh("cd " .. e2e.quote(dir) .. " && pwd -P"):gsub("\n$", "")
      local id = e2e.run(h, { "--provider", "claude", "--type", "session",
        "--cwd", dir, "--env", "OVERMIND_CLAUDE_BIN=" .. w,
        "--env", "CLAUDE_DOUBLE_HOME=" .. A.claude_home(h), first })
      e2e.wait_log(h, id, "Answer: " .. first .. "\n")
      local sid = e2e.info(h, id).session_id
      assert.are.equal("string", type(sid))
      return id, sid, dir, w
    end

    local function resumed(sid)
      for _, p in ipairs(A.procs_with("--resume " .. sid)) do
        if not p.cmdline:find(" -p ", 1, true) then return p end
      end
    end

    it("runs claude --resume <session_id> in the mission's cwd, with send paused", function()
      local id, sid, dir, w = session("remember bananas")
      local t = A.terminal(h, { "attach", id }, { env = A.cli_env(h, w) })
      local at = t:expect("Resumed conversation " .. sid)
      at = t:expect("> ", 10, at)
      -- how and where the CLI ran it
      local seen
      for _, c in ipairs(calls()) do
        if c:find("--resume", 1, true) and not c:find("-p", 1, true) then seen = c end
      end
      assert.are.equal(dir .. "|--resume " .. sid, seen)
      -- the session is paused meanwhile
      fails(e2e.om(h, { "send", id, "hello" }), "paused")
      fails(e2e.om(h, { "send", "--wait", id, "hello" }), "paused")
      assert.are.equal("running", e2e.info(h, id).status)
      -- the REPL answers on the terminal, from the same conversation
      t:write("what did I say before?\r")
      at = t:expect("remember bananas", 10, at)
      t:expect("> ", 10, at)
      t:write("/exit\r")
      assert.are.equal(0, t:wait_exit(10))
      -- unpaused: the session goes on and sees what was said in the REPL
      local r = e2e.om(h, { "send", "--wait", id, "recall everything" })
      assert.are.equal("remember bananas; what did I say before?\n", r.out, r.err)
      assert.are.equal("running", e2e.info(h, id).status)
    end)

    it("unpauses the session when claude is killed", function()
      local id, sid, _, w = session("first words")
      local t = A.terminal(h, { "attach", id }, { env = A.cli_env(h, w) })
      t:expect("> ")
      fails(e2e.om(h, { "send", id, "hello" }), "paused")
      local p = e2e.wait_for(function() return resumed(sid) end, 10,
        "the resumed claude")
      e2e.sh("kill -9 " .. p.pid)
      -- attach ends with claude's status, 128 + 9, and no panic
      assert.are.equal(137, t:wait_exit(10), t:screen())
      assert.is_falsy(t:screen():find("PANIC", 1, true), t:screen())
      assert.are.equal("Sent to mission " .. id .. "\n",
        e2e.ok(h, { "send", id, "back", "again" }))
      e2e.wait_log(h, id, "Answer: back again\n")
    end)

    it("exits with claude's exit status when claude fails, and unpauses", function()
      local id, sid, _, w = session("first words")
      -- a CLI whose double has no such conversation: it exits 1
      local t = A.terminal(h, { "attach", id }, { env = {
        "OVERMIND_CLAUDE_BIN=" .. w, "CLAUDE_DOUBLE_HOME=" .. h.home .. "/elsewhere" } })
      t:expect("No conversation found with session ID: " .. sid)
      local status = t:wait_exit(10)
      assert.is_falsy(t:screen():find("PANIC", 1, true), t:screen())
      assert.are.equal(1, status, t:screen())
      assert.are.equal("Answer: still here\n",
        e2e.ok(h, { "send", "--wait", id, "still", "here" }))
    end)

    it("uses the claude executable the session was started with", function()
      local id, sid, _, w = session("which claude")
      -- only the double's home in the CLI's environment, not its path
      local t = A.terminal(h, { "attach", id },
        { env = { "CLAUDE_DOUBLE_HOME=" .. A.claude_home(h), "OVERMIND_CLAUDE_BIN=" } })
      local ok = pcall(t.expect, t, "Resumed conversation " .. sid, 5)
      t:kill()
      local attached
      for _, c in ipairs(calls()) do
        if c:find("|--resume " .. sid, 1, true) then attached = c end
      end
      assert.is_true(ok and attached ~= nil,
        "attach did not run " .. w .. "; the terminal shows " .. ("%q"):format(t:screen()))
    end)

    it("detach unpauses a session left paused", function()
      local id = session("hello")
      -- an attach whose client never comes back
      local core = require("overmind.core")
      local c = assert(core.connect(h.home .. "/overmind.sock"))
      c:send(cjson.encode({ cmd = "attach", args = { id = id } }) .. "\n")
      local reply = e2e.json_decode(assert(c:recv(10000)))
      c:close()
      assert.is_not_nil(reply.ok, cjson.encode(reply))
      fails(e2e.om(h, { "send", id, "hi" }), "paused")
      local r = e2e.om(h, { "detach", id })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("", r.err)
      assert.are.equal("Sent to mission " .. id .. "\n",
        e2e.ok(h, { "send", id, "after", "detach" }))
      assert.are.equal("Answer: more\n", e2e.ok(h, { "send", "--wait", id, "more" }))
    end)

    it("a second attach while one is attached is refused", function()
      local id, _, _, w = session("hello")
      local t = A.terminal(h, { "attach", id }, { env = A.cli_env(h, w) })
      t:expect("> ")
      local r = e2e.om(h, { "attach", id }, { env = A.cli_env(h, w), timeout = 10 })
      assert.is_truthy(r.err:match("^Error: %S+\n$"), r.err)
      assert.are.equal(1, r.code)
      t:write("/exit\r")
      t:wait_exit(10)
      e2e.ok(h, { "send", id, "free" })
    end)
  end)
end)
