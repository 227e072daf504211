-- SPEC §6 providers: the claude provider on tasks (log text, results,
-- failures, --model, plain and partial lines), `result`, the codex and
-- gemini providers, and user providers in $OVERMIND_HOME/providers.
local e2e = require("support.e2e")
local A = require("support.agents")

local null = e2e.null

local function keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return table.concat(out, ",")
end

local function result_of(h, id)
  return e2e.json_decode(e2e.ok(h, { "result", id }))
end

-- The log of a finished mission, waiting for the mission to be final.
local function final(h, id, status, timeout)
  local m = e2e.wait_status(h, id, status, timeout)
  return m, e2e.log_text(h, id)
end

describe("agents", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function()
    A.cleanup(h)
    e2e.cleanup(h)
  end)

  describe("claude task", function()
    it("`claude run` logs assistant text and [tool] lines, never JSON", function()
      local out = e2e.ok(h, A.concat({ "claude", "run", "--json" },
        A.claude_flags(h, { "CLAUDE_DOUBLE_CHATTER=3" }), { "hello", "world" }))
      local id = assert(out:match('"id":"(%x+)"'), out)
      local m, log = final(h, id, "stopped")
      assert.are.equal("claude", m.provider)
      assert.are.equal("task", m.type)
      assert.are.equal(0, m.exit_code)
      -- thinking, tool_result, compact_boundary, rate_limit_event and
      -- stream_event lines are not logged
      assert.are.equal("[tool] Bash\nAnswer: hello world\n", log)
      assert.are.equal(log, e2e.ok(h, { "logs", id }))
    end)

    it("keeps the lines it does not log as events", function()
      local id = A.run_claude(h, { "hello" }, { "CLAUDE_DOUBLE_CHATTER=2" })
      e2e.wait_status(h, id, "stopped")
      local seen = {}
      for _, ev in ipairs(A.events(h, id)) do seen[ev.type] = true end
      for _, t in ipairs({ "system", "assistant", "user", "stream_event",
                           "rate_limit_event", "result" }) do
        assert.is_true(seen[t] == true, "no " .. t .. " event kept")
      end
    end)

    it("is the same mission with `run --provider claude`", function()
      local id = A.run_claude(h, { "--name", "viarun", "list", "files" })
      local m, log = final(h, id, "stopped")
      assert.are.equal("claude", m.provider)
      assert.are.equal("list files", m.command)
      assert.are.equal("[tool] Bash\nAnswer: list files\n", log)
    end)

    it("gives the result object, and info the session id", function()
      local id = A.run_claude(h, { "what", "is", "2+2" })
      local m = e2e.wait_status(h, id, "stopped")
      local r = result_of(h, id)
      -- SPEC §9 adds the turn's tokens and the tools the agent was refused
      assert.are.equal("cost_usd,duration_ms,input_tokens,is_error,num_turns," ..
        "output_tokens,permission_denials,session_id,text", keys(r))
      assert.are.equal("Answer: what is 2+2", r.text)
      assert.is_false(r.is_error)
      assert.are.equal(0.0012, r.cost_usd)
      assert.are.equal(2, r.num_turns)
      assert.are.equal("integer", math.type(r.duration_ms))
      assert.is_true(r.duration_ms >= 0)
      -- the session id the CLI announced in its init line
      local init
      for _, ev in ipairs(A.events(h, id)) do
        if ev.type == "system" and ev.subtype == "init" then init = ev end
      end
      assert.is_not_nil(init, "no init event")
      assert.are.equal(init.session_id, r.session_id)
      assert.are.equal(init.session_id, m.session_id)
      assert.is_truthy(m.session_id:match("^%x+%-%x+%-%x+%-%x+%-%x+$"),
        m.session_id)
    end)

    it("takes the cost from cost_usd when total_cost_usd is missing", function()
      local id = A.run_claude(h, { "cheap" }, { "CLAUDE_DOUBLE_COST_FIELD=cost_usd" })
      e2e.wait_status(h, id, "stopped")
      local r = result_of(h, id)
      assert.are.equal(0.0012, r.cost_usd)
      assert.are.equal("Answer: cheap", r.text)
    end)

    it("ends crashed with exit code 1 when the task fails", function()
      local id = A.run_claude(h, { "please", "FAIL", "now" })
      local m = e2e.wait_status(h, id, "crashed")
      assert.are.equal(1, m.exit_code)
      local r = result_of(h, id)
      assert.is_true(r.is_error)
      assert.are.equal(m.session_id, r.session_id)
    end)

    it("ends crashed with exit code 1 on an error result even if the CLI exits 0", function()
      local id = A.run_claude(h, { "long", "job" },
        { "CLAUDE_DOUBLE_FAIL=max_turns", "CLAUDE_DOUBLE_EXIT=0" })
      local m = e2e.wait_status(h, id, "crashed")
      assert.are.equal(1, m.exit_code)
      assert.is_true(result_of(h, id).is_error)
    end)

    it("ends crashed with the CLI's exit code when it dies without a result", function()
      local id = A.run_claude(h, { "CRASH", "please" })
      local m = e2e.wait_status(h, id, "crashed")
      assert.are.equal(3, m.exit_code)
      assert.are.equal("{}\n", e2e.ok(h, { "result", id }))
      -- init was printed before the crash: the session id is known
      assert.is_truthy(m.session_id ~= null and m.session_id)
    end)

    it("passes --model to the CLI", function()
      local id = A.run_claude(h, { "--model", "haiku", "hi" })
      local m = e2e.wait_status(h, id, "stopped")
      assert.are.equal("haiku", m.model)
      local models = {}
      for _, ev in ipairs(A.events(h, id)) do
        if ev.type == "system" and ev.subtype == "init" then
          models[#models + 1] = ev.model
        end
      end
      assert.are.same({ "haiku" }, models)
      -- without --model the CLI picks its default
      local id2 = A.run_claude(h, { "hi" })
      e2e.wait_status(h, id2, "stopped")
      for _, ev in ipairs(A.events(h, id2)) do
        if ev.type == "system" and ev.subtype == "init" then
          assert.are.equal("claude-sonnet-4-5", ev.model)
        end
      end
    end)

    it("logs lines that are not JSON as plain text", function()
      local id = A.run_claude(h, { "hi" }, { "CLAUDE_DOUBLE_NOISE=1" })
      local _, log = final(h, id, "stopped")
      assert.are.equal("warning: this is plain text\n[tool] Bash\nAnswer: hi\n",
        log)
    end)

    it("reassembles lines written in pieces", function()
      local id = A.run_claude(h, { "in", "pieces" }, { "CLAUDE_DOUBLE_PARTIAL=1" })
      local m, log = final(h, id, "stopped")
      assert.are.equal("[tool] Bash\nAnswer: in pieces\n", log)
      local r = result_of(h, id)
      assert.are.equal("Answer: in pieces", r.text)
      assert.are.equal(m.session_id, r.session_id)
    end)

    it("flushes a last line that has no newline at exit", function()
      local fake = h.home .. "/fake-claude"
      e2e.write_file(fake, table.concat({
        "#!/bin/sh",
        [[echo '{"type":"system","subtype":"init","session_id":"sid-1"}']],
        [[echo '{"type":"assistant","message":{"content":[{"type":"text","text":"working"}]}}']],
        [[printf '%s' '{"type":"result","subtype":"success","is_error":false,"result":"the end","num_turns":1,"total_cost_usd":0.5,"session_id":"sid-1"}']],
        "" }, "\n"))
      e2e.sh("chmod +x " .. fake)
      local id = e2e.run(h, { "--provider", "claude",
        "--env", "OVERMIND_CLAUDE_BIN=" .. fake, "go" })
      e2e.wait_status(h, id, "stopped")
      local r = result_of(h, id)
      assert.are.equal("the end", r.text)
      assert.are.equal(0.5, r.cost_usd)
      -- a plain-text last line reaches the log
      local fake2 = h.home .. "/fake-claude2"
      e2e.write_file(fake2, "#!/bin/sh\necho '{\"type\":\"system\",\"subtype\":\"init\",\"session_id\":\"sid-2\"}'\nprintf 'no newline at the end'\n")
      e2e.sh("chmod +x " .. fake2)
      local id2 = e2e.run(h, { "--provider", "claude",
        "--env", "OVERMIND_CLAUDE_BIN=" .. fake2, "go" })
      e2e.wait_status(h, id2, "stopped")
      local log = e2e.log_text(h, id2)
      assert.is_truthy(log:find("no newline at the end", 1, true), log)
      assert.are.equal("sid-2", e2e.info(h, id2).session_id)
    end)
  end)

  describe("result", function()
    it("is not_finished for a live task", function()
      local id = A.run_claude(h, { "SLEEP 30", "slowly" })
      e2e.wait_for(function() return e2e.info(h, id).session_id ~= null end,
        10, "the task's init")
      local r = e2e.om(h, { "result", id })
      assert.are.equal("Error: not_finished\n", r.err)
      assert.are.equal(1, r.code)
      assert.are.equal("", r.out)
      local raw = e2e.run(h, { "sleep 30" })
      r = e2e.om(h, { "result", raw })
      assert.are.equal("Error: not_finished\n", r.err)
      assert.are.equal(1, r.code)
    end)

    it("is {} for a task that produced no result", function()
      local id = e2e.run(h, { "echo hello" })
      e2e.wait_status(h, id, "stopped")
      assert.are.equal("{}\n", e2e.ok(h, { "result", id }))
      local crashed = e2e.run(h, { "exit 2" })
      e2e.wait_status(h, crashed, "crashed")
      assert.are.equal("{}\n", e2e.ok(h, { "result", crashed }))
    end)

    it("is not_found for an unknown mission", function()
      local r = e2e.om(h, { "result", "deadbeef" })
      assert.are.equal("Error: not_found\n", r.err)
      assert.are.equal(1, r.code)
    end)
  end)

  describe("codex", function()
    local function codex(args, env)
      local f = { "--provider", "codex", "--env", "OVERMIND_CODEX_BIN=" .. A.codex }
      for _, kv in ipairs(env or {}) do
        f[#f + 1] = "--env"
        f[#f + 1] = kv
      end
      return e2e.run(h, A.concat(f, args))
    end

    it("runs a task: text and tool lines in the log, session id, result", function()
      local id = codex({ "hello", "codex" })
      local m, log = final(h, id, "stopped")
      assert.are.equal(0, m.exit_code)
      assert.are.equal("codex", m.provider)
      local lines = A.lines(log)
      assert.are.equal("Answer: hello codex", lines[#lines])
      local tools = 0
      for _, l in ipairs(lines) do
        assert.is_falsy(l:find("{", 1, true), "raw JSON in the log: " .. l)
        if l:match("^%[tool%] ") then tools = tools + 1 end
      end
      assert.are.equal(1, tools, log)
      assert.is_truthy(tostring(m.session_id):match("^%x+%-%x+%-%x+%-%x+%-%x+$"),
        tostring(m.session_id))
      local thread
      for _, ev in ipairs(A.events(h, id)) do
        if ev.type == "thread.started" then thread = ev.thread_id end
      end
      assert.are.equal(thread, m.session_id)
      local r = result_of(h, id)
      assert.are.equal("Answer: hello codex", r.text)
      assert.is_false(r.is_error)
    end)

    it("ends crashed with exit code 1 on a failed turn", function()
      local id = codex({ "FAIL", "this" })
      local m = e2e.wait_status(h, id, "crashed")
      assert.are.equal(1, m.exit_code)
      assert.is_true(result_of(h, id).is_error)
      assert.is_truthy(m.session_id ~= null and m.session_id)
    end)

    it("ends crashed with exit code 3 on a crash", function()
      local id = codex({ "CRASH" })
      local m = e2e.wait_status(h, id, "crashed")
      assert.are.equal(3, m.exit_code)
      assert.are.equal("{}\n", e2e.ok(h, { "result", id }))
    end)
  end)

  describe("gemini", function()
    local function gemini(args, env)
      local f = { "--provider", "gemini", "--env", "OVERMIND_GEMINI_BIN=" .. A.gemini }
      for _, kv in ipairs(env or {}) do
        f[#f + 1] = "--env"
        f[#f + 1] = kv
      end
      return e2e.run(h, A.concat(f, args))
    end

    it("runs a task: text and tool lines in the log, session id, result", function()
      local id = gemini({ "hello", "gemini" })
      local m, log = final(h, id, "stopped")
      assert.are.equal(0, m.exit_code)
      assert.are.equal("gemini", m.provider)
      -- each streamed message is one line, whatever its fragments
      assert.are.equal("Let me check.\n[tool] run_shell_command\n" ..
        "Answer: hello gemini\n", log)
      local sid
      for _, ev in ipairs(A.events(h, id)) do
        if ev.type == "init" then sid = ev.session_id end
      end
      assert.is_not_nil(sid)
      assert.are.equal(sid, m.session_id)
      local r = result_of(h, id)
      assert.are.equal("Answer: hello gemini", r.text)
      assert.is_false(r.is_error)
    end)

    it("joins fragments that arrive in separate reads", function()
      local id = gemini({ "slow", "answer" }, { "GEMINI_DOUBLE_DELAY_MS=30" })
      local m, log = final(h, id, "stopped")
      assert.are.equal(0, m.exit_code)
      assert.are.equal("Let me check.\n[tool] run_shell_command\n" ..
        "Answer: slow answer\n", log)
      -- the answer is the last message, whole; not its last fragment
      assert.are.equal("Answer: slow answer", result_of(h, id).text)
      -- a restart marker after a message left open starts its own line
      local r = gemini({ "--restart", "always", "--max-restarts", "1",
        "--backoff", "10", "again" }, { "GEMINI_DOUBLE_DELAY_MS=5" })
      e2e.wait_for(function()
        local text = e2e.log_text(h, r)
        return select(2, text:gsub("Answer: again\n", "")) >= 2 and text
      end, 20, "two runs")
      e2e.wait_for(function()
        local st = e2e.status_of(h, r)
        return st ~= "running" and st ~= "restarting"
      end, 20, "the second run to end, its budget spent")
      for line in e2e.log_text(h, r):gmatch("[^\n]+") do
        assert.is_truthy(line == "Let me check." or line == "Answer: again" or
          line == "[tool] run_shell_command" or line:match("^%-%-%- restart #"), line)
      end
    end)

    it("ends crashed with exit code 1 on an error result", function()
      local id = gemini({ "FAIL", "this" })
      local m = e2e.wait_status(h, id, "crashed")
      assert.are.equal(1, m.exit_code)
      local r = result_of(h, id)
      assert.is_true(r.is_error)
      assert.is_truthy(m.session_id ~= null and m.session_id)
    end)

    it("passes --model to the CLI", function()
      local id = gemini({ "--model", "gemini-flash", "hi" })
      e2e.wait_status(h, id, "stopped")
      local model
      for _, ev in ipairs(A.events(h, id)) do
        if ev.type == "init" then model = ev.model end
      end
      assert.are.equal("gemini-flash", model)
    end)
  end)

  describe("user providers", function()
    local function provider(name, src)
      e2e.sh("mkdir -p " .. e2e.quote(h.home .. "/providers"))
      e2e.write_file(h.home .. "/providers/" .. name .. ".lua", src)
    end

    local SHOUT = [[
return {
  build_command = function(m)
    if m.type == "session" then
      return "while read l; do echo \"said:$l\"; done"
    end
    return "printf 'T:hello\\nU:grep\\nR:done\\nnoise\\n'; echo model=" ..
      tostring(m.model) .. " cmd=" .. m.command
  end,
  parse = function(line)
    local k, v = line:match("^(%u):(.*)$")
    if k == "T" then return { type = "text", text = v } end
    if k == "U" then return { type = "tool_use", name = v } end
    if k == "R" then
      return { type = "result", text = v, is_error = false, num_turns = 7,
               cost_usd = 0.5, duration_ms = 12 }
    end
    return nil
  end,
  format = function(ev)
    if ev.type == "text" then return "T> " .. ev.text end
    if ev.type == "tool_use" then return "[tool] " .. ev.name end
    if ev.type == "plain" then return "P> " .. ev.text end
    return nil
  end,
  encode_message = function(text) return text:upper() .. "\n" end,
}
]]

    it("uses build_command, parse and format from $OVERMIND_HOME/providers", function()
      provider("shout", SHOUT)
      local id = e2e.run(h, { "--provider", "shout", "--model", "m1", "go" })
      local m, log = final(h, id, "stopped")
      assert.are.equal("shout", m.provider)
      assert.are.equal("T> hello\n[tool] grep\nP> noise\nP> model=m1 cmd=go\n", log)
      local r = result_of(h, id)
      assert.are.equal("done", r.text)
      assert.is_false(r.is_error)
      assert.are.equal(7, r.num_turns)
      assert.are.equal(0.5, r.cost_usd)
      assert.are.equal(12, r.duration_ms)
    end)

    it("encodes sends with encode_message", function()
      provider("shout", SHOUT)
      local id = e2e.run(h, { "--provider", "shout", "--type", "session" })
      assert.are.equal("Sent to mission " .. id .. "\n",
        e2e.ok(h, { "send", id, "hi", "there" }))
      local log = e2e.wait_log(h, id, "P> said:HI THERE\n")
      assert.are.equal("[human] hi there\nP> said:HI THERE\n", log)
      e2e.ok(h, { "stop", id })
    end)

    it("falls back to the default parse, format and encode_message", function()
      provider("bare", [[
return { build_command = function(m) return m.command end }
]])
      local id = e2e.run(h, { "--provider", "bare", "echo '{\"type\":\"x\"}'; echo two" })
      local _, log = final(h, id, "stopped")
      assert.are.equal("{\"type\":\"x\"}\ntwo\n", log)
      local s = e2e.run(h, { "--provider", "bare", "--type", "session", "cat" })
      e2e.ok(h, { "send", s, "ping" })
      assert.are.equal("[human] ping\nping\n", e2e.wait_log(h, s, "ping\nping\n"))
      e2e.ok(h, { "stop", s })
    end)

    local function provider_error(name, pattern)
      local r = e2e.om(h, { "run", "--provider", name, "something" })
      assert.are.equal(1, r.code)
      assert.are.equal("", r.out)
      assert.is_truthy(r.err:match("^Error: provider_error: .+\n$"), r.err)
      if pattern then assert.is_truthy(r.err:find(pattern, 1, true), r.err) end
    end

    local function daemon_works()
      local pid = e2e.daemon_pid(h)
      assert.are.equal("pong", e2e.request(h, "ping"))
      local id = e2e.run(h, { "echo still here" })
      e2e.wait_status(h, id, "stopped")
      assert.are.equal("still here\n", e2e.ok(h, { "logs", id }))
      assert.are.equal(pid, e2e.daemon_pid(h))
      assert.is_true(e2e.alive(pid))
    end

    it("a provider that fails to load is a provider_error, not the daemon's", function()
      provider("broken", "return {\n")
      provider_error("broken")
      daemon_works()
      provider("notatable", "return 42\n")
      provider_error("notatable")
      provider("throws", "error('cannot load this')\n")
      provider_error("throws", "cannot load this")
      daemon_works()
      -- nothing was started for them: only daemon_works' two missions
      assert.are.equal(2, #e2e.ps_json(h))
    end)

    it("a provider whose build_command raises is a provider_error", function()
      provider("raiser", [[
return { build_command = function(m) error("no command for " .. m.command) end }
]])
      provider_error("raiser", "no command for something")
      daemon_works()
    end)

    it("an unknown provider is a provider_error", function()
      provider_error("nosuchprovider")
      daemon_works()
    end)

    it("a provider whose parse raises does not take the daemon down", function()
      provider("fragile", [[
return {
  build_command = function(m) return "echo one; echo bad; echo three" end,
  parse = function(line)
    if line == "bad" then error("cannot parse") end
    return { type = "text", text = line }
  end,
}
]])
      local id = e2e.run(h, { "--provider", "fragile", "x" })
      e2e.wait_for(function()
        local st = e2e.info(h, id).status
        return st == "stopped" or st == "crashed"
      end, 10, "the mission to end")
      local log = e2e.log_text(h, id)
      assert.is_truthy(log:find("one\n", 1, true), log)
      assert.is_truthy(log:find("three\n", 1, true), log)
      daemon_works()
    end)
  end)
end)
