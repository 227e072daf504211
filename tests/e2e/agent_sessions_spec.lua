-- SPEC §6 and §9 against the stand-ins (tests/doubles): codex and gemini
-- sessions (one CLI process per turn, each resuming the first turn's
-- session id; a turn whose CLI dies unanswered; kill), which providers
-- can do sessions, the agent flags codex and gemini refuse or map, a
-- missing agent CLI refused at `run`, denied tools, an agent CLI's
-- stderr marked in the log, and attach to a claude session that does not
-- fork its conversation.
local e2e = require("support.e2e")
local A = require("support.agents")

local null = e2e.null
local concat = A.concat

-- The separator the argv recorder writes after each invocation.
local SEP = "=== end of argv ==="

local function fails(r, reason)
  assert.are.equal("Error: " .. reason .. "\n", r.err)
  assert.are.equal(1, r.code)
  assert.are.equal("", r.out)
end

local function index_of(list, v, from)
  for i = from or 1, #list do if list[i] == v then return i end end
end

local function count_lines(log, line)
  local n = 0
  for _, l in ipairs(A.lines(log)) do if l == line then n = n + 1 end end
  return n
end

-- Asserts that `want` are whole lines of `log`, in this order.
local function in_order(log, want)
  local lines = A.lines(log)
  local at = 0
  for _, w in ipairs(want) do
    local i = index_of(lines, w, at + 1)
    assert.is_truthy(i, ("%q missing (or out of order) in the log:\n%s"):format(w, log))
    at = i
  end
end

describe("agent sessions", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function()
    A.cleanup(h)
    e2e.cleanup(h)
  end)

  -- ---- helpers -----------------------------------------------------------

  -- A stand-in behind a wrapper that appends its argv (one argument a
  -- line, then SEP) to <home>/argv and its pid to <home>/pids, exits 3
  -- without a word for a prompt holding BOOM, lingers half a second after
  -- the stand-in's answer for one holding LINGER (as a real CLI that
  -- flushes telemetry does), and otherwise execs the stand-in (so the pid
  -- is the CLI's).
  local function recorder(double)
    h.wrappers = h.wrappers or {}
    if h.wrappers[double] then return h.wrappers[double] end
    local w = h.home .. "/" .. double:match("[^/]+$") .. "-wrapper"
    h.wrappers[double] = w
    e2e.write_file(w, table.concat({
      "#!/bin/sh",
      "{ for a in \"$@\"; do printf '%s\\n' \"$a\"; done; echo " ..
        e2e.quote(SEP) .. "; } >> " .. e2e.quote(h.home .. "/argv"),
      "echo $$ >> " .. e2e.quote(h.home .. "/pids"),
      "case \"$*\" in *BOOM*) exit 3;; esac",
      "case \"$*\" in *LINGER*) " .. e2e.quote(double) ..
        " \"$@\"; rc=$?; sleep 0.5; exit $rc;; esac",
      "exec " .. e2e.quote(double) .. " \"$@\"", "" }, "\n"))
    e2e.sh("chmod +x " .. e2e.quote(w))
    return w
  end

  -- Every invocation the recorder saw, each as its list of arguments.
  local function calls()
    local out, cur = {}, {}
    for _, l in ipairs(A.lines(e2e.read_all(h.home .. "/argv"))) do
      if l == SEP then
        out[#out + 1] = cur
        cur = {}
      else
        cur[#cur + 1] = l
      end
    end
    return out
  end

  local function pids()
    local out = {}
    for _, l in ipairs(A.lines(e2e.read_all(h.home .. "/pids"))) do
      out[#out + 1] = tonumber(l)
    end
    return out
  end

  local PROVIDERS = {
    codex = { var = "OVERMIND_CODEX_BIN", double = A.codex },
    gemini = { var = "OVERMIND_GEMINI_BIN", double = A.gemini },
  }

  -- `run` flags for a `provider` mission through the recorder.
  local function flags(provider)
    local p = PROVIDERS[provider]
    return { "--provider", provider, "--env", p.var .. "=" .. recorder(p.double) }
  end

  local function send_json(id, text)
    local r = e2e.om(h, { "send", "--wait", "--json", id, text }, { timeout = 30 })
    local ok, v = pcall(e2e.json_decode, r.out)
    assert.is_true(ok and type(v) == "table",
      ("send --wait --json %q gave (%d) %q %q"):format(text, r.code, r.out, r.err))
    return v, r
  end

  local function waiting(id)
    return e2e.wait_for(function()
      local m = e2e.info(h, id)
      return m.activity == "waiting" and m
    end, 5, "the session to be waiting (activity " ..
      tostring(e2e.info(h, id).activity) .. ")")
  end

  -- A session of `provider` through the recorder that has answered its
  -- first message; returns id, its session id.
  local function session(provider, first)
    local id = e2e.run(h, concat(flags(provider), { "--type", "session", first }))
    local r = e2e.om(h, { "wait", id, "--waiting" }, { timeout = 20 })
    assert.are.equal(0, r.code, r.out .. r.err .. e2e.log_text(h, id))
    assert.are.equal("Mission " .. id .. " waiting for a message\n", r.out)
    e2e.wait_log(h, id, "Answer: " .. first .. "\n")
    local m = waiting(id)
    assert.are.equal("string", type(m.session_id), "no session id after the first turn")
    return id, m.session_id
  end

  -- The session ids a mission's CLIs announced (codex thread.started,
  -- gemini init), from its events file.
  local function announced(id)
    local out = {}
    for _, ev in ipairs(A.events(h, id)) do
      if ev.type == "thread.started" then out[#out + 1] = ev.thread_id end
      if ev.type == "init" then out[#out + 1] = ev.session_id end
    end
    return out
  end

  -- ---- 1. codex and gemini sessions ---------------------------------------

  for _, provider in ipairs({ "codex", "gemini" }) do
    describe("a " .. provider .. " session", function()
      it("runs one CLI per turn, resuming the first turn's session id", function()
        local id, sid = session(provider, "first words")
        local m = e2e.info(h, id)
        assert.are.equal("session", m.type)
        assert.are.equal(provider, m.provider)
        assert.are.equal("running", m.status)

        -- a message that starts with - is data
        local r = e2e.om(h, { "send", "--wait", id, "-second words" }, { timeout = 30 })
        assert.are.equal(0, r.code, r.out .. r.err)
        assert.are.equal("Answer: -second words\n", r.out)
        assert.are.equal(sid, waiting(id).session_id)

        local j = send_json(id, "third words")
        assert.are.equal("Answer: third words", j.text)
        assert.are.equal(false, j.is_error)
        m = waiting(id)
        assert.are.equal(sid, m.session_id)
        assert.are.equal("running", m.status)

        local res = e2e.json_decode(e2e.ok(h, { "result", id }))
        assert.are.equal("Answer: third words", res.text)
        assert.are.equal(sid, res.session_id)

        local log = e2e.log_text(h, id)
        in_order(log, {
          "[human] first words", "Answer: first words",
          "[human] -second words", "Answer: -second words",
          "[human] third words", "Answer: third words",
        })
        for _, text in ipairs({ "first words", "-second words", "third words" }) do
          assert.are.equal(1, count_lines(log, "[human] " .. text), log)
          assert.are.equal(1, count_lines(log, "Answer: " .. text), log)
        end

        -- every CLI announced the first turn's id
        assert.are.same({ sid, sid, sid }, announced(id))

        -- three turns, three processes
        local c = calls()
        assert.are.equal(3, #c, "want three CLI runs, got " .. #c)
        local p = pids()
        assert.are.equal(3, #p)
        assert.is_true(p[1] ~= p[2] and p[2] ~= p[3] and p[1] ~= p[3],
          "turns shared a process: " .. table.concat(p, " "))
        local texts = { "first words", "-second words", "third words" }
        for k, args in ipairs(c) do
          local shown = table.concat(args, "\n")
          if provider == "codex" then
            assert.are.equal("exec", args[1], shown)
            assert.is_truthy(index_of(args, "--skip-git-repo-check"), shown)
            assert.are.equal(texts[k], args[#args], shown)
            local ri = index_of(args, "resume")
            if k == 1 then
              assert.is_nil(ri, "the first turn resumes:\n" .. shown)
            else
              assert.is_truthy(ri, "turn " .. k .. " does not resume:\n" .. shown)
              assert.are.equal(sid, args[ri + 1], shown)
            end
          else
            assert.is_truthy(index_of(args, "--skip-trust"), shown)
            assert.is_truthy(index_of(args, "--prompt=" .. texts[k]), shown)
            local ri = index_of(args, "--resume")
            if k == 1 then
              assert.is_nil(ri, "the first turn resumes:\n" .. shown)
            else
              assert.is_truthy(ri, "turn " .. k .. " does not resume:\n" .. shown)
              assert.are.equal(sid, args[ri + 1], shown)
            end
          end
        end
      end)

      it("answers each message with its own result, queued or not, whenever its CLI exits", function()
        local id = session(provider, "hello")
        -- a message queued behind a slow turn
        assert.are.equal("Sent to mission " .. id .. "\n",
          e2e.ok(h, { "send", id, "SLEEP 1 alpha" }))
        local r = e2e.om(h, { "send", "--wait", id, "beta" }, { timeout = 30 })
        assert.are.equal("Answer: beta\n", r.out, "the answer to beta; " .. r.err)
        -- a CLI that lingers after its answer, and the next message at once
        r = e2e.om(h, { "send", "--wait", id, "LINGER gamma" }, { timeout = 30 })
        assert.are.equal("Answer: LINGER gamma\n", r.out, r.err)
        local j = send_json(id, "delta")
        assert.are.equal("Answer: delta", j.text, require("cjson").encode(j))
        assert.are.equal(false, j.is_error)
        local res = e2e.json_decode(e2e.ok(h, { "result", id }))
        assert.are.equal("Answer: delta", res.text)
        -- each message was written once the turn before it was answered
        in_order(e2e.log_text(h, id), {
          "[human] SLEEP 1 alpha", "Answer: SLEEP 1 alpha",
          "[human] beta", "Answer: beta",
          "[human] LINGER gamma", "Answer: LINGER gamma",
          "[human] delta", "Answer: delta" })
        assert.are.equal(5, #calls())
      end)

      it("answers a turn whose CLI dies without an answer with an error, and goes on", function()
        local id, sid = session(provider, "hello")
        -- the wrapper exits 3 before the CLI says a word
        local j = send_json(id, "BOOM now")
        assert.are.equal(true, j.is_error, "BOOM: " .. require("cjson").encode(j))
        local boom_text = j.text
        assert.are.equal("running", e2e.info(h, id).status)
        local r = e2e.om(h, { "send", "--wait", id, "after boom" }, { timeout = 30 })
        assert.are.equal(0, r.code, r.out .. r.err)
        assert.are.equal("Answer: after boom\n", r.out)
        -- the stand-in crashes (exit 3) after naming the session
        j = send_json(id, "CRASH now")
        assert.are.equal(true, j.is_error, "CRASH")
        -- the stand-in reports a failed turn
        j = send_json(id, "FAIL now")
        assert.are.equal(true, j.is_error, "FAIL")
        r = e2e.om(h, { "send", "--wait", id, "still here" }, { timeout = 30 })
        assert.are.equal(0, r.code, r.out .. r.err)
        assert.are.equal("Answer: still here\n", r.out)
        local m = waiting(id)
        assert.are.equal("running", m.status)
        assert.are.equal(sid, m.session_id)
        assert.are.equal(6, #calls())
        -- the turns after the dead one resumed the same session
        local last = calls()[6]
        local ri = index_of(last, provider == "codex" and "resume" or "--resume")
        assert.is_truthy(ri, table.concat(last, "\n"))
        assert.are.equal(sid, last[ri + 1])
        in_order(e2e.log_text(h, id), { "[human] BOOM now", "[human] after boom",
          "Answer: after boom", "[human] CRASH now", "[human] FAIL now",
          "[human] still here", "Answer: still here" })
        -- the error names how the CLI ended: exit code 3
        assert.is_truthy(type(boom_text) == "string" and boom_text:find("3", 1, true)
          and not boom_text:find("nil", 1, true),
          "the answer to a CLI that exited 3 does not say so: " .. tostring(boom_text))
      end)

      it("is working during a turn, and kill leaves no process behind", function()
        local id = session(provider, "hello")
        local runner = e2e.info(h, id).os_pid
        assert.are.equal("integer", math.type(runner))
        assert.are.equal("Sent to mission " .. id .. "\n",
          e2e.ok(h, { "send", id, "SLEEP 30 slow" }))
        local pid = e2e.wait_for(function()
          local p = pids()[2]
          return p and e2e.alive(p) and p
        end, 10, "the second turn's CLI")
        local pgrp = e2e.proc_stat(pid).pgrp
        assert.are.equal("working", e2e.info(h, id).activity)
        assert.are.equal("Killed mission " .. id .. "\n", e2e.ok(h, { "kill", id }))
        e2e.wait_for(function() return not e2e.alive(pid) end, 5,
          "the turn's CLI (pid " .. pid .. ") to be gone")
        e2e.wait_for(function() return not e2e.alive(runner) end, 5,
          "the session's process (pid " .. runner .. ") to be gone")
        e2e.wait_for(function() return #e2e.group_members(pgrp) == 0 end, 5,
          "process group " .. pgrp .. " to be empty")
        for _, x in ipairs(e2e.ps_json(h)) do
          assert.are_not.equal(id, x.id, "killed mission still in ps")
        end
      end)
    end)
  end

  -- ---- 2. which providers do sessions --------------------------------------

  it("refuses a session only for a provider with sessions = false", function()
    e2e.sh("mkdir -p " .. e2e.quote(h.home .. "/providers"))
    e2e.write_file(h.home .. "/providers/x.lua",
      "return { sessions = false, build_command = function(m) return m.command end }\n")
    fails(e2e.om(h, { "run", "--provider", "x", "--type", "session", "echo hi" }),
      "provider_has_no_sessions")
    assert.are.same({}, e2e.ps_json(h))
    -- a task of the same provider runs
    local t = e2e.run(h, { "--provider", "x", "echo task ran" })
    e2e.wait_status(h, t, "stopped")
    assert.are.equal("task ran\n", e2e.log_text(h, t))
    -- codex and gemini start sessions
    for _, provider in ipairs({ "codex", "gemini" }) do
      local r = e2e.om(h, concat({ "run" }, flags(provider), { "--type", "session", "hi" }))
      assert.are.equal(0, r.code, provider .. ": " .. r.err)
      assert.are.equal("", r.err)
      assert.is_truthy(r.out:match("^Started mission %x+ %("), r.out)
    end
  end)

  -- ---- 3. agent flags codex and gemini have no option for, and mappings ----

  describe("agent flags", function()
    local function refused(r, prefix)
      assert.are.equal(1, r.code, r.out .. r.err)
      assert.are.equal("", r.out)
      assert.is_truthy(r.err:sub(1, #prefix) == prefix,
        "want an error starting " .. prefix .. ", got: " .. r.err)
      assert.are.equal(1, #A.lines(r.err), r.err)
    end

    it("that codex or gemini has no option for are refused at run", function()
      refused(e2e.om(h, concat({ "run" }, flags("codex"), { "--max-turns", "3", "hi" })),
        "Error: unsupported_option: codex has no max-turns")
      refused(e2e.om(h, concat({ "run" }, flags("codex"),
        { "--type", "session", "--max-turns", "3", "hi" })),
        "Error: unsupported_option: codex has no max-turns")
      refused(e2e.om(h, concat({ "run" }, flags("gemini"), { "--disallowed-tools", "X", "hi" })),
        "Error: unsupported_option: gemini has no disallowed-tools")
      assert.are.same({}, e2e.ps_json(h))
      assert.are.equal("", e2e.read_all(h.home .. "/argv"), "a CLI ran")
    end)

    -- Runs one task per flag set; returns the argv each CLI got, by prompt.
    local function argv_of(provider, cases)
      local ids = {}
      for prompt, extra in pairs(cases) do
        ids[prompt] = e2e.run(h, concat(flags(provider), extra, { prompt }))
      end
      for prompt, id in pairs(ids) do
        local m = e2e.wait_for(function()
          local x = e2e.info(h, id)
          return x.status ~= "running" and x
        end, 10, "the " .. prompt .. " task to end")
        assert.are.equal("stopped", m.status, ("the %s task (%s) ended %s: %s")
          :format(prompt, table.concat(cases[prompt], " "), m.status, e2e.log_text(h, id)))
        assert.are.equal("Answer: " .. prompt,
          e2e.json_decode(e2e.ok(h, { "result", id })).text)
      end
      local by = {}
      for _, args in ipairs(calls()) do by[args[#args]:gsub("^%-%-prompt=", "")] = args end
      return by
    end

    local function has_option(args, flag, value)
      local shown = table.concat(args, "\n")
      local i = index_of(args, flag)
      assert.is_truthy(i, flag .. " missing from argv:\n" .. shown)
      assert.is_nil(index_of(args, flag, i + 1), flag .. " given twice:\n" .. shown)
      if value then assert.are.equal(value, args[i + 1], "the value of " .. flag) end
    end

    it("map --permission-mode to codex's sandbox", function()
      local by = argv_of("codex", {
        edits = { "--permission-mode", "accept-edits" },
        plan = { "--permission-mode", "plan" },
        bypass = { "--permission-mode", "bypass" },
        plain = {},
      })
      has_option(by.edits, "--sandbox", "workspace-write")
      has_option(by.plan, "--sandbox", "read-only")
      has_option(by.bypass, "--dangerously-bypass-approvals-and-sandbox")
      assert.is_nil(index_of(by.bypass, "--sandbox"), table.concat(by.bypass, "\n"))
      assert.is_nil(index_of(by.plain, "--sandbox"), table.concat(by.plain, "\n"))
      assert.is_nil(index_of(by.plain, "--dangerously-bypass-approvals-and-sandbox"))
      for _, args in pairs(by) do
        has_option(args, "--skip-git-repo-check")
      end
    end)

    it("map --permission-mode and --allowed-tools to gemini's options", function()
      local by = argv_of("gemini", {
        edits = { "--permission-mode", "accept-edits" },
        plan = { "--permission-mode", "plan" },
        bypass = { "--permission-mode", "bypass" },
        tools = { "--allowed-tools", "A,B" },
        plain = {},
      })
      has_option(by.edits, "--approval-mode", "auto_edit")
      has_option(by.plan, "--approval-mode", "plan")
      has_option(by.bypass, "--approval-mode", "yolo")
      has_option(by.tools, "--allowed-tools", "A,B")
      assert.is_nil(index_of(by.tools, "--approval-mode"), table.concat(by.tools, "\n"))
      assert.is_nil(index_of(by.plain, "--approval-mode"), table.concat(by.plain, "\n"))
      assert.is_nil(index_of(by.plain, "--allowed-tools"), table.concat(by.plain, "\n"))
      for prompt, args in pairs(by) do
        has_option(args, "--skip-trust")
        assert.are.equal("--prompt=" .. prompt, args[#args])
      end
    end)
  end)

  -- ---- 4. a missing agent CLI ----------------------------------------------

  describe("a missing agent CLI", function()
    it("is refused at run: codex from OVERMIND_CODEX_BIN", function()
      for _, extra in ipairs({ {}, { "--type", "session" } }) do
        fails(e2e.om(h, concat({ "run", "--provider", "codex" }, extra, { "hi" }),
          { env = { "OVERMIND_CODEX_BIN=/nonexistent/codex" } }),
          "provider_error: /nonexistent/codex not found")
      end
      assert.are.same({}, e2e.ps_json(h))
    end)

    it("is refused at run: claude not on PATH", function()
      for _, dir in ipairs({ "/usr/bin", "/bin" }) do
        assert.is_nil(require("overmind.core").stat(dir .. "/claude"),
          "this spec needs a machine without " .. dir .. "/claude")
      end
      local function run(args)
        local words = { "env", "-u", "OVERMIND_CLAUDE_BIN", "PATH=/usr/bin:/bin",
                        "OVERMIND_HOME=" .. e2e.quote(h.home), e2e.quote(e2e.bin) }
        for _, a in ipairs(args) do words[#words + 1] = e2e.quote(a) end
        local errf = os.tmpname()
        local out, code = e2e.sh(table.concat(words, " ") .. " 2>" .. errf .. " </dev/null")
        local err = e2e.read_all(errf)
        os.remove(errf)
        return { out = out, err = err, code = code }
      end
      fails(run({ "run", "--provider", "claude", "hi" }), "provider_error: claude not found")
      fails(run({ "claude", "run", "hi" }), "provider_error: claude not found")
      assert.are.same({}, e2e.ps_json(h))
    end)
  end)

  -- ---- 5. denied tools ---------------------------------------------------

  describe("denied tools", function()
    local function claude_task(extra, prompt)
      local r = e2e.om(h, concat({ "claude", "run", "--json" }, A.claude_flags(h),
        extra, { prompt }))
      assert.are.equal(0, r.code, r.out .. r.err)
      return assert(r.out:match('"id":"(%x+)"'), r.out)
    end

    it("are logged as [denied] <tool> and listed in result and info", function()
      local id = claude_task({}, "DENY ls")
      local m = e2e.wait_status(h, id, "stopped")
      local log = e2e.log_text(h, id)
      assert.are.equal(1, count_lines(log, "[denied] Bash"), log)
      in_order(log, { "[tool] Bash", "[denied] Bash" })
      for _, l in ipairs(A.lines(log)) do
        if l:find("denied", 1, true) then
          assert.are.equal("[denied] Bash", l, "another denied line: " .. log)
        end
      end
      local res = e2e.json_decode(e2e.ok(h, { "result", id }))
      assert.are.equal("table", type(res.permission_denials))
      assert.are.equal(1, #res.permission_denials)
      assert.are.equal("Bash", res.permission_denials[1].tool_name)
      assert.are.equal("table", type(m.permission_denials))
      assert.are.equal(1, #m.permission_denials)
      assert.are.equal("Bash", m.permission_denials[1].tool_name)
    end)

    it("are none with --allowed-tools Bash", function()
      local id = claude_task({ "--allowed-tools", "Bash" }, "DENY ls")
      e2e.wait_status(h, id, "stopped")
      local log = e2e.log_text(h, id)
      assert.is_falsy(log:find("[denied]", 1, true), log)
      assert.are.equal(1, count_lines(log, "[tool] Bash"), log)
      assert.are.equal(1, count_lines(log, "Answer: DENY ls"), log)
      local res = e2e.ok(h, { "result", id })
      assert.is_truthy(res:find('"permission_denials":[]', 1, true), res)
      local info = e2e.ok(h, { "info", id })
      assert.is_truthy(info:find('"permission_denials":[]', 1, true), info)
    end)
  end)

  -- ---- 6. stderr ----------------------------------------------------------

  describe("an agent CLI's stderr", function()
    it("is marked [stderr] in the log and a stderr event for subscribers", function()
      -- a claude that waits for <home>/go, so the subscriber is there first
      local w = h.home .. "/gated-claude"
      local go = h.home .. "/go"
      e2e.write_file(w, table.concat({ "#!/bin/sh",
        "while [ ! -e " .. e2e.quote(go) .. " ]; do sleep 0.02; done",
        "exec " .. e2e.quote(A.claude) .. " \"$@\"", "" }, "\n"))
      e2e.sh("chmod +x " .. e2e.quote(w))
      local id = e2e.run(h, { "--provider", "claude", "--env", "OVERMIND_CLAUDE_BIN=" .. w,
        "--env", "CLAUDE_DOUBLE_HOME=" .. A.claude_home(h), "--agent-arg", "--bogus", "hi" })
      local s = A.subscribe(h, id)
      e2e.write_file(go, "")
      local lines = s:read_all(15)
      s:close()
      local m = e2e.wait_status(h, id, "crashed")
      assert.are.equal(1, m.exit_code)
      local want = "error: unknown option '--bogus'"
      local log = e2e.log_text(h, id)
      assert.are.equal(1, count_lines(log, "[stderr] " .. want), log)
      for _, l in ipairs(A.lines(log)) do
        if l:find("unknown option", 1, true) then
          assert.are.equal("[stderr] " .. want, l, "unmarked stderr in the log")
        end
      end
      local i = A.find(lines, function(v)
        return v.type == "stderr" and v.text == want
      end)
      assert.is_truthy(i, "no stderr event among:\n" .. table.concat(lines, "\n"))
      local x = A.find(lines, function(v) return v.type == "exit" end)
      assert.is_truthy(x and x > i, table.concat(lines, "\n"))
      assert.is_nil(A.find(lines, function(v)
        return v.type == "plain" and tostring(v.text):find("unknown option", 1, true)
      end), "stderr also came as plain text:\n" .. table.concat(lines, "\n"))
    end)

    it("of a raw mission is merged into its output, unmarked", function()
      local id = e2e.run(h, { "echo out; echo err >&2" })
      e2e.wait_status(h, id, "stopped")
      assert.are.equal("out\nerr\n", e2e.log_text(h, id))
    end)
  end)

  -- ---- 7. attach to a claude session ----------------------------------------

  it("attach to a claude session stops it, resumes it after, and does not fork it", function()
    local id = A.run_claude(h, { "--type", "session", "remember bananas" })
    e2e.wait_log(h, id, "Answer: remember bananas\n")
    local m = e2e.wait_for(function()
      local x = e2e.info(h, id)
      return x.session_id ~= null and x.activity == "waiting" and x
    end, 10, "the session to wait")
    local sid, old = m.session_id, m.os_pid
    assert.are.equal("integer", math.type(old))

    local t = A.terminal(h, { "attach", id }, { env = A.cli_env(h) })
    local at = t:expect("Resumed conversation " .. sid)
    at = t:expect("> ", 10, at)
    e2e.wait_log(h, id, "--- attached ---\n")
    -- meanwhile: running, paused, and the headless process is gone
    assert.are.equal("running", e2e.info(h, id).status)
    fails(e2e.om(h, { "send", id, "hello" }), "paused")
    fails(e2e.om(h, { "send", "--wait", id, "hello" }), "paused")
    e2e.wait_for(function() return not e2e.alive(old) end, 5,
      "the headless claude (pid " .. old .. ") to stop while attached")
    t:write("the secret is mango\r")
    at = t:expect("Answer: the secret is mango", 10, at)
    t:expect("> ", 10, at)
    t:write("/exit\r")
    assert.are.equal(0, t:wait_exit(10), t:screen())

    -- detached: a new headless process continues the same conversation
    e2e.wait_log(h, id, "--- detached ---\n")
    local back = e2e.wait_for(function()
      local x = e2e.info(h, id)
      return x.status == "running" and x.os_pid ~= null and x.os_pid ~= old and
        e2e.alive(x.os_pid) and x
    end, 10, "a new headless process")
    assert.are.equal(sid, back.session_id)
    local r = e2e.om(h, { "send", "--wait", id, "what did I say before" }, { timeout = 30 })
    assert.are.equal(0, r.code, r.out .. r.err)
    assert.are.equal("remember bananas; the secret is mango\n", r.out)
    assert.are.equal(sid, e2e.info(h, id).session_id)
    local log = e2e.log_text(h, id)
    in_order(log, { "Answer: remember bananas", "--- attached ---", "--- detached ---",
      "[human] what did I say before", "remember bananas; the secret is mango" })
    assert.are.equal(1, count_lines(log, "--- attached ---"), log)
    assert.are.equal(1, count_lines(log, "--- detached ---"), log)
  end)
end)
