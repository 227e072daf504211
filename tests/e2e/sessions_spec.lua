-- SPEC §6 sessions: claude and raw sessions, `send` (and --wait, --json,
-- --timeout), its errors, a session that resumes its conversation after a
-- crash, and `subscribe` (stream format, several and stalled subscribers).
local e2e = require("support.e2e")
local A = require("support.agents")
local cjson = require("cjson")

local function fails(r, reason)
  assert.are.equal("Error: " .. reason .. "\n", r.err)
  assert.are.equal(1, r.code)
  assert.are.equal("", r.out)
end

-- Does the log hold `line` as a whole line?
local function has_line(log, line)
  for _, l in ipairs(A.lines(log)) do
    if l == line then return true end
  end
  return false
end

local function decode_all(lines)
  local out = {}
  for i, l in ipairs(lines) do
    local ok, v = pcall(e2e.json_decode, l)
    assert.is_true(ok and type(v) == "table", "line " .. i .. " is not a JSON object: " .. l)
    out[i] = v
  end
  return out
end

describe("sessions", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function()
    A.cleanup(h)
    e2e.cleanup(h)
  end)

  -- A claude session; waits until the CLI has announced its session id.
  local function session(args, env)
    local id = A.run_claude(h, A.concat({ "--type", "session" }, args or {}), env)
    local m = e2e.wait_for(function()
      local m = e2e.info(h, id)
      return m.session_id ~= e2e.null and m
    end, 10, "the session's init")
    return id, m
  end

  describe("claude session", function()
    it("sends its command as the first message", function()
      local id, m = session({ "remember", "apples" })
      assert.are.equal("session", m.type)
      assert.are.equal("claude", m.provider)
      local log = e2e.wait_log(h, id, "Answer: remember apples\n")
      assert.is_truthy(log:find("[tool] Bash\n", 1, true), log)
      assert.are.equal("running", e2e.info(h, id).status)
      assert.are.same({ "remember apples" }, A.transcript(h, m.session_id))
    end)

    it("send prints exactly 'Sent to mission <id>' and logs exactly '[human] <message>'", function()
      local id = session({ "--name", "chat" })
      local r = e2e.om(h, { "send", "chat", "hello", "there" })
      assert.are.equal("Sent to mission " .. id .. "\n", r.out)
      assert.are.equal("", r.err)
      assert.are.equal(0, r.code)
      local log = e2e.wait_log(h, id, "Answer: hello there\n")
      assert.is_true(has_line(log, "[human] hello there"), log)
      local human = log:find("[human] hello there\n", 1, true)
      assert.is_true(human < log:find("Answer: hello there", 1, true))
      -- an id prefix works too
      assert.are.equal("Sent to mission " .. id .. "\n",
        e2e.ok(h, { "send", id:sub(1, 5), "again" }))
      e2e.wait_log(h, id, "Answer: again\n")
    end)

    it("send --wait prints the answer", function()
      local id = session()
      local r = e2e.om(h, { "send", "--wait", id, "what", "is", "up" })
      assert.are.equal("Answer: what is up\n", r.out)
      assert.are.equal("", r.err)
      assert.are.equal(0, r.code)
      r = e2e.om(h, { "send", id, "--wait", "second" })
      assert.are.equal("Answer: second\n", r.out)
    end)

    it("send --wait --json prints text, is_error, duration_ms and cost_usd", function()
      local id = session()
      local out = e2e.ok(h, { "send", "--wait", "--json", id, "first" })
      assert.is_truthy(out:match("^{.*}\n$"), out)
      local r = e2e.json_decode(out)
      local keys = {}
      for k in pairs(r) do keys[#keys + 1] = k end
      table.sort(keys)
      assert.are.same({ "cost_usd", "duration_ms", "is_error", "text" }, keys)
      assert.are.equal("Answer: first", r.text)
      assert.is_false(r.is_error)
      assert.are.equal(0.0012, r.cost_usd)
      assert.are.equal("integer", math.type(r.duration_ms))
      r = e2e.json_decode(e2e.ok(h, { "send", "--wait", "--json", id, "second" }))
      assert.are.equal("Answer: second", r.text)
      -- the turn's own cost (SPEC §9), not the process's running total
      assert.are.equal(0.0012, r.cost_usd)
      -- an error answer
      r = e2e.json_decode(e2e.om(h, { "send", "--wait", "--json", id, "FAIL", "it" }).out)
      assert.is_true(r.is_error)
    end)

    it("send --wait --timeout gives up with timeout", function()
      local id = session()
      local t0 = e2e.now()
      local r = e2e.om(h, { "send", "--wait", "--timeout", "300", id, "SLEEP 4 slow" })
      local took = e2e.now() - t0
      fails(r, "timeout")
      assert.is_true(took < 3.5, "took " .. took .. "s")
      -- the session goes on: the late answer arrives, the next one too
      e2e.wait_log(h, id, "Answer: SLEEP 4 slow\n")
      assert.are.equal("Answer: next\n", e2e.ok(h, { "send", "--wait", id, "next" }))
    end)

    it("send --wait says exited when the session ends first", function()
      local id = session()
      local r = e2e.om(h, { "send", "--wait", id, "CRASH", "now" }, { timeout = 20 })
      fails(r, "exited")
      local m = e2e.wait_status(h, id, "crashed")
      assert.are.equal(3, m.exit_code)
    end)

    it("send fails with not_session, not_running and not_found", function()
      local task = e2e.run(h, { "sleep 30" })
      fails(e2e.om(h, { "send", task, "hi" }), "not_session")
      fails(e2e.om(h, { "send", "--wait", task, "hi" }), "not_session")
      local id = session()
      e2e.ok(h, { "stop", id })
      e2e.wait_status(h, id, "stopped")
      fails(e2e.om(h, { "send", id, "hi" }), "not_running")
      fails(e2e.om(h, { "send", "--wait", id, "hi" }), "not_running")
      fails(e2e.om(h, { "send", "deadbeef", "hi" }), "not_found")
      fails(e2e.om(h, { "send", "no-such-name", "hi" }), "not_found")
      -- none of them was logged
      assert.is_falsy(e2e.log_text(h, id):find("[human] hi", 1, true))
    end)

    it("resumes its conversation after a crash, with --restart on-failure", function()
      local id, m = session({ "--restart", "on-failure", "--backoff", "100",
                              "remember", "apples" })
      e2e.wait_log(h, id, "Answer: remember apples\n")
      local sid = m.session_id
      local pid = e2e.info(h, id).os_pid
      assert.are.equal("number", type(pid))
      A.kill_group(pid)
      local back = e2e.wait_for(function()
        local x = e2e.info(h, id)
        return x.restart_count == 1 and x.status == "running" and
          x.os_pid ~= e2e.null and x.os_pid ~= pid and x
      end, 10, "the session to come back")
      assert.are.equal(sid, back.session_id)
      assert.is_truthy(e2e.log_text(h, id):find(
        "\n--- restart #1 at %d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ ---\n"))
      -- the restarted CLI was given --resume <session_id>: it remembers
      local r = e2e.om(h, { "send", "--wait", id, "what did I say before?" })
      assert.are.equal("remember apples\n", r.out, r.err)
      assert.are.equal(sid, e2e.info(h, id).session_id)
      -- and the first message was not sent again
      assert.are.same({ "remember apples", "what did I say before?" },
        A.transcript(h, sid))
    end)
  end)

  describe("raw session", function()
    it("runs cat when it has no command and echoes what is sent", function()
      local id = e2e.run(h, { "--type", "session" })
      assert.are.equal("session", e2e.info(h, id).type)
      assert.are.equal("Sent to mission " .. id .. "\n",
        e2e.ok(h, { "send", id, "hello", "cat" }))
      assert.are.equal("[human] hello cat\nhello cat\n",
        e2e.wait_log(h, id, "hello cat\nhello cat\n"))
      assert.are.equal("running", e2e.info(h, id).status)
    end)

    it("runs its command with the sends on its stdin", function()
      local id = e2e.run(h, { "--type", "session", "sed -u 's/^/got:/'" })
      e2e.ok(h, { "send", id, "one" })
      e2e.wait_log(h, id, "got:one\n")
      e2e.ok(h, { "send", id, "two words" })
      assert.are.equal("[human] one\ngot:one\n[human] two words\ngot:two words\n",
        e2e.wait_log(h, id, "got:two words\n"))
    end)

    it("send --wait times out for a session that gives no results", function()
      local id = e2e.run(h, { "--type", "session" })
      fails(e2e.om(h, { "send", "--wait", "--timeout", "200", id, "x" }), "timeout")
    end)
  end)

  describe("subscribe", function()
    -- A fake claude for sessions whose lines we know byte for byte.
    local function fake_claude()
      local fake = h.home .. "/fake-claude"
      e2e.write_file(fake, table.concat({
        "#!/bin/sh",
        [[echo '{ "type" : "system", "subtype" : "init", "session_id" : "fake-sid" }']],
        "while IFS= read -r line; do",
        [[  echo '{"type":"assistant",  "message":{"content":[{"type":"text","text":"fake answer"}]},  "zz":1}']],
        [[  echo 'plain words here']],
        [[  echo '{"zz":2,"type":"result","subtype":"success","is_error":false,"result":"fake answer","total_cost_usd":0.25}']],
        "done",
        "exit 0", "" }, "\n"))
      e2e.sh("chmod +x " .. fake)
      return fake
    end

    it("streams stream-json lines verbatim, plain text, human events and the exit", function()
      local fake = fake_claude()
      local id = e2e.run(h, { "--provider", "claude", "--type", "session",
        "--env", "OVERMIND_CLAUDE_BIN=" .. fake })
      e2e.wait_for(function() return e2e.info(h, id).session_id == "fake-sid" end,
        10, "init")
      local s = A.subscribe(h, id)
      e2e.ok(h, { "send", id, "hi", "you" })
      assert.is_truthy(s:read_until(function(l)
        return A.find(l, function(v) return v.type == "result" end)
      end, 10), table.concat(s.lines, "\n"))
      e2e.ok(h, { "stop", id })
      local lines = s:read_all(10)
      s:close()
      assert.is_true(s.eof, "the stream did not end")
      -- the agent's JSON lines byte for byte
      assert.are.same({
        '{"type":"assistant",  "message":{"content":[{"type":"text","text":"fake answer"}]},  "zz":1}',
        '{"zz":2,"type":"result","subtype":"success","is_error":false,"result":"fake answer","total_cost_usd":0.25}',
      }, { lines[2], lines[4] })
      -- human and plain events (their keys in any order)
      local evs = decode_all(lines)
      assert.are.same({ type = "human", text = "hi you" }, evs[1])
      assert.are.same({ type = "plain", text = "plain words here" }, evs[3])
      assert.are.equal(5, #lines, table.concat(lines, "\n"))
      local m = e2e.wait_status(h, id, "stopped")
      assert.are.same({ type = "exit", status = "stopped", exit_code = m.exit_code },
        evs[5])
    end)

    it("streams a claude session's turn and ends with the exit line", function()
      local id = session({}, { "CLAUDE_DOUBLE_EXIT=0" })
      local s = A.subscribe(h, id)
      assert.are.equal("Answer: hi\n", e2e.ok(h, { "send", "--wait", id, "hi" }))
      local lines = s:read_all(10)
      s:close()
      assert.is_true(s.eof, "the stream did not end: " .. table.concat(lines, "\n"))
      local evs = decode_all(lines)
      assert.are.same({ type = "human", text = "hi" }, evs[1])
      local types = {}
      for i = 2, #evs - 1 do types[#types + 1] = evs[i].type end
      assert.are.same({ "assistant", "assistant", "user", "assistant", "result" },
        types)
      -- verbatim: the CLI's own key order, not a re-encoding
      assert.is_truthy(lines[#lines - 1]:match(
        '^{"type":"result","subtype":"success","is_error":false,"duration_ms":%d+,'), lines[#lines - 1])
      assert.are.equal("Answer: hi", evs[#evs - 1].result)
      assert.are.same({ type = "exit", status = "stopped", exit_code = 0 }, evs[#evs])
    end)

    it("`overmind subscribe` prints NDJSON until the mission ends", function()
      local id = e2e.run(h, { "--type", "session",
        "while read l; do echo \"got $l\"; [ \"$l\" = bye ] && exit 5; done" })
      local b = e2e.spawn(h, { "subscribe", id })
      -- it subscribes in the background: send until it shows
      local sent = 0
      e2e.wait_for(function()
        e2e.ok(h, { "send", id, "sync" })
        sent = sent + 1
        return e2e.bg_output(b):find('"human"', 1, true)
      end, 10, "the subscriber to see a send")
      -- every echo of a sync is in before the last message goes
      e2e.wait_for(function()
        local _, echoed = e2e.log_text(h, id):gsub("got sync", "")
        return echoed == sent
      end, 10, "the session to echo every sync")
      e2e.ok(h, { "send", id, "bye" })
      assert.are.equal(0, e2e.bg_wait(b, 10, "subscribe to end"))
      local m = e2e.wait_status(h, id, "crashed")
      assert.are.equal(5, m.exit_code)
      local out = e2e.bg_output(b)
      local lines = A.lines(out)
      assert.are.equal(out, table.concat(lines, "\n") .. "\n")
      local evs = decode_all(lines)
      local n = #evs
      assert.is_true(n >= 3, out)
      assert.are.same({ type = "human", text = "bye" }, evs[n - 2])
      assert.are.same({ type = "plain", text = "got bye" }, evs[n - 1])
      assert.are.same({ type = "exit", status = "crashed", exit_code = 5 }, evs[n])
      for i = 1, n - 3 do
        local ev = evs[i]
        assert.is_truthy((ev.type == "human" or ev.type == "plain") and ev.text:match("sync$"),
          lines[i])
      end
      assert.are.equal("", e2e.bg_errors(b))
    end)

    it("gives a finished mission's exit line at once", function()
      local id = e2e.run(h, { "exit 3" })
      e2e.wait_status(h, id, "crashed")
      local r = e2e.om(h, { "subscribe", id }, { timeout = 10 })
      assert.are.equal(0, r.code)
      assert.are.same({ type = "exit", status = "crashed", exit_code = 3 },
        e2e.json_decode(r.out))
      assert.are.equal(1, #A.lines(r.out))
      fails(e2e.om(h, { "subscribe", "deadbeef" }), "not_found")
    end)

    it("tells of restarts and goes on through them", function()
      local id = e2e.run(h, { "--type", "session", "--restart", "on-failure",
        "--backoff", "100", "cat" })
      local pid = e2e.wait_status(h, id, "running").os_pid
      local s = A.subscribe(h, id)
      A.kill_group(pid)
      assert.is_truthy(s:read_until(function(l)
        return A.find(l, function(v) return v.type == "restart" end)
      end, 10), "no restart event: " .. table.concat(s.lines, "\n"))
      local _, ev = A.find(s.lines, function(v) return v.type == "restart" end)
      assert.are.same({ type = "restart", n = 1 }, ev)
      e2e.wait_for(function()
        local m = e2e.info(h, id)
        return m.status == "running" and m.os_pid ~= pid
      end, 10, "the restart")
      e2e.ok(h, { "send", id, "after" })
      assert.is_truthy(s:read_until(function(l)
        return A.find(l, function(v) return v.type == "plain" and v.text == "after" end)
      end, 10), table.concat(s.lines, "\n"))
      assert.is_false(s.eof)
      e2e.ok(h, { "stop", id })
      local lines = s:read_all(10)
      s:close()
      assert.is_true(s.eof)
      local last = e2e.json_decode(lines[#lines])
      assert.are.equal("exit", last.type)
      assert.are.equal("stopped", last.status)
      -- no exit line for the crash that was restarted
      local exits = 0
      for _, ev in ipairs(decode_all(lines)) do
        if ev.type == "exit" then exits = exits + 1 end
      end
      assert.are.equal(1, exits)
    end)

    it("gives several subscribers the same stream", function()
      local id = session({}, { "CLAUDE_DOUBLE_EXIT=0" })
      local subs = { A.subscribe(h, id), A.subscribe(h, id), A.subscribe(h, id) }
      e2e.ok(h, { "send", id, "to", "everyone" })
      local first
      for i, s in ipairs(subs) do
        local lines = s:read_all(10)
        s:close()
        assert.is_true(s.eof, "subscriber " .. i .. " did not end")
        if i == 1 then
          first = lines
          assert.are.equal(7, #lines, table.concat(lines, "\n"))
        else
          assert.are.same(first, lines)
        end
      end
      assert.are.same({ type = "exit", status = "stopped", exit_code = 0 },
        e2e.json_decode(first[#first]))
    end)

    it("is not stalled by a subscriber that stops reading", function()
      local flood = A.run_claude(h, { "--type", "session" },
        { "OVERMIND_CLAUDE_BIN=" .. A.flood, "FLOOD_N=20000" })
      e2e.wait_status(h, flood, "running")
      local other = e2e.run(h, { "--type", "session", "cat" })
      -- subscribe and never read
      local core = require("overmind.core")
      local stuck = assert(core.connect(h.home .. "/overmind.sock"))
      stuck:send(cjson.encode({ cmd = "subscribe", args = { id = flood } }) .. "\n")
      local stuck2 = assert(core.connect(h.home .. "/overmind.sock"))
      stuck2:send(cjson.encode({ cmd = "subscribe", args = { id = other } }) .. "\n")
      -- the flood's answer is 19999 lines, some 7 MB
      local b = e2e.spawn(h, { "send", "--wait", "--timeout", "30000", flood, "go" })
      for k = 1, 3 do
        e2e.ok(h, { "send", other, "still flowing " .. k })
        e2e.wait_log(h, other, "\nstill flowing " .. k .. "\n", 10)
        local t0 = e2e.now()
        assert.is_truthy(e2e.ok(h, { "ps" }):find(flood, 1, true))
        assert.is_true(e2e.now() - t0 < 5, "ps took " .. (e2e.now() - t0) .. "s")
      end
      assert.are.equal(0, e2e.bg_wait(b, 30, "the flood's answer"), e2e.bg_errors(b))
      assert.are.equal("flood: 19999 lines\n", e2e.bg_output(b))
      e2e.ok(h, { "stop", flood })
      e2e.wait_status(h, flood, "stopped", 15)
      e2e.ok(h, { "stop", other })
      e2e.wait_status(h, other, "stopped", 15)
      stuck:close()
      stuck2:close()
      assert.are.equal("pong", e2e.request(h, "ping"))
    end)
  end)
end)
