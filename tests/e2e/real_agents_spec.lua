-- SPEC §9 (real agents) against the claude stand-in: the agent flags on
-- `run`, in blueprints and in om.run{} as claude's own options, prompts
-- that start with `-`, bad agent input refused at `run`, one turn per
-- message, per-turn and whole-mission cost (across restarts and trees),
-- budgets, activity and `wait --waiting`, and the client's environment
-- kept with the mission's record.
local e2e = require("support.e2e")
local A = require("support.agents")
local B = require("support.blueprint")
local core = require("overmind.core")

local null = e2e.null
local concat = A.concat

-- Money compares to a billionth of a dollar: 0.0012 * 3 is not 0.0036 in
-- binary floating point, and the spec speaks of dollars, not bits.
local function near(want, got, what)
  assert.is_true(type(got) == "number" and math.abs(got - want) < 1e-9,
    ("%s: want %s, got %s"):format(what or "cost", tostring(want), tostring(got)))
end

local function count(s, needle)
  local n, at = 0, 1
  while true do
    local i, j = s:find(needle, at, true)
    if not i then return n end
    n, at = n + 1, j + 1
  end
end

local function index_of(list, v, from)
  for i = from or 1, #list do if list[i] == v then return i end end
end

describe("real agents", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function()
    A.cleanup(h)
    e2e.cleanup(h)
  end)

  -- ---- helpers -----------------------------------------------------------

  -- A claude that writes its argv, one argument a line, to
  -- <home>/argv.<mission id>, then is the stand-in.
  local function recorder()
    local w = h.home .. "/claude-argv"
    if not h.recorder then
      e2e.write_file(w, table.concat({
        "#!/bin/sh",
        "out=" .. e2e.quote(h.home) .. "/argv.$OVERMIND_MISSION_ID",
        ": > \"$out.tmp\"",
        "for a in \"$@\"; do printf '%s\\n' \"$a\" >> \"$out.tmp\"; done",
        "mv \"$out.tmp\" \"$out\"",
        "exec " .. e2e.quote(A.claude) .. " \"$@\"", "" }, "\n"))
      e2e.sh("chmod +x " .. e2e.quote(w))
      h.recorder = w
    end
    return w
  end

  -- The argv the claude of mission `id` was last started with.
  local function argv(id)
    local path = h.home .. "/argv." .. id
    e2e.wait_for(function() return e2e.read_all(path) ~= "" end, 10,
      "the argv of " .. id)
    return A.lines(e2e.read_all(path))
  end

  -- `run` flags for a claude mission through the recorder.
  local function rec_flags(env)
    local f = { "--provider", "claude",
                "--env", "OVERMIND_CLAUDE_BIN=" .. recorder(),
                "--env", "CLAUDE_DOUBLE_HOME=" .. A.claude_home(h) }
    for _, kv in ipairs(env or {}) do
      f[#f + 1] = "--env"
      f[#f + 1] = kv
    end
    return f
  end

  -- Asserts that `flag` is followed by `value` in `args`, exactly once,
  -- before `--` when there is one; returns its index.
  local function has_option(args, flag, value)
    local i = index_of(args, flag)
    assert.is_truthy(i, flag .. " missing from argv:\n" .. table.concat(args, "\n"))
    assert.is_nil(index_of(args, flag, i + 1),
      flag .. " given twice:\n" .. table.concat(args, "\n"))
    assert.are.equal(value, args[i + 1], "the value of " .. flag)
    local dd = index_of(args, "--")
    if dd then
      assert.is_true(i + 1 < dd, flag .. " comes after --:\n" .. table.concat(args, "\n"))
    end
    return i
  end

  -- Asserts the task argv ends with `--` and the prompt.
  local function ends_with_prompt(args, prompt)
    assert.are.equal("--", args[#args - 1], table.concat(args, "\n"))
    assert.are.equal(prompt, args[#args])
    assert.are.equal(#args - 1, index_of(args, "--"),
      "more than one --:\n" .. table.concat(args, "\n"))
  end

  -- A claude session pointed at the stand-in; waits until its CLI has
  -- announced its session id.  Returns id, info.
  local function session(args, env)
    local id = A.run_claude(h, concat({ "--type", "session" }, args or {}), env)
    local m = e2e.wait_for(function()
      local m = e2e.info(h, id)
      return m.session_id ~= null and m
    end, 10, "the session's init")
    return id, m
  end

  local function send_json(id, text)
    local r = e2e.om(h, { "send", "--wait", "--json", id, text }, { timeout = 30 })
    assert.are.equal(0, r.code, r.out .. r.err)
    return e2e.json_decode(r.out)
  end

  -- The lines a background `overmind` printed once it has printed `n`
  -- lines and then nothing more for half a second (nothing more will
  -- come: what it replays comes at once).
  local function settled(b, n, what)
    e2e.wait_for(function() return #A.lines(e2e.bg_output(b)) >= n end, 15,
      what .. " (it printed: " .. e2e.bg_output(b) .. e2e.bg_errors(b) .. ")")
    local t0 = e2e.now()
    e2e.wait_for(function() return e2e.now() - t0 > 0.5 end, 5, "a moment")
    return A.lines(e2e.bg_output(b))
  end

  -- Waits until background process b has connected to the daemon and the
  -- daemon has read its request (a ping on another connection answers
  -- after it).
  local function registered(b)
    e2e.wait_for(function()
      for _, fd in ipairs(core.listdir("/proc/" .. b.pid .. "/fd") or {}) do
        local target = e2e.sh("readlink /proc/" .. b.pid .. "/fd/" .. fd .. " 2>/dev/null")
        if target:match("^socket:") then return true end
      end
      return false
    end, 10, "the client to connect")
    e2e.wait_for(function() return e2e.request(h, "ping") == "pong" end, 5, "ping")
  end

  -- ---- 1. agent flags ------------------------------------------------------

  describe("agent flags", function()
    it("reach claude as its own options on `run`, before -- and the prompt", function()
      local id = e2e.run(h, concat(rec_flags(), {
        "--permission-mode", "accept-edits",
        "--allowed-tools", "A,B", "--allowed-tools", "C",
        "--disallowed-tools", "Bash,Write",
        "--max-turns", "3",
        "--append-system-prompt", "be brief; answer in French",
        "--agent-arg", "--add-dir", "--agent-arg", "/tmp/a dir",
        "--agent-arg", "--include-partial-messages",
        "list", "files" }))
      local m = e2e.wait_status(h, id, "stopped")
      local args = argv(id)
      assert.are.same({ "-p", "--output-format", "stream-json", "--verbose" },
        { table.unpack(args, 1, 4) })
      has_option(args, "--permission-mode", "acceptEdits")
      has_option(args, "--allowedTools", "A,B,C")
      has_option(args, "--disallowedTools", "Bash,Write")
      has_option(args, "--max-turns", "3")
      has_option(args, "--append-system-prompt", "be brief; answer in French")
      -- each --agent-arg verbatim, in the order given
      local i = has_option(args, "--add-dir", "/tmp/a dir")
      assert.is_true(index_of(args, "--include-partial-messages") > i + 1,
        table.concat(args, "\n"))
      assert.is_nil(index_of(args, "--agent-arg"))
      ends_with_prompt(args, "list files")
      assert.are.equal("Answer: list files", e2e.json_decode(e2e.ok(h, { "result", id })).text)
      assert.are.equal("accept-edits", m.permission_mode)
    end)

    it("map plan to plan and default to no flag", function()
      local plan = e2e.run(h, concat(rec_flags(), { "--permission-mode", "plan", "p1" }))
      local dflt = e2e.run(h, concat(rec_flags(), { "--permission-mode", "default", "p2" }))
      local none = e2e.run(h, concat(rec_flags(), { "p3" }))
      for _, id in ipairs({ plan, dflt, none }) do e2e.wait_status(h, id, "stopped") end
      has_option(argv(plan), "--permission-mode", "plan")
      ends_with_prompt(argv(plan), "p1")
      for _, id in ipairs({ dflt, none }) do
        local args = argv(id)
        assert.is_nil(index_of(args, "--permission-mode"), table.concat(args, "\n"))
        for _, f in ipairs({ "--allowedTools", "--disallowedTools", "--max-turns",
                             "--append-system-prompt" }) do
          assert.is_nil(index_of(args, f), f .. " given unasked")
        end
      end
      ends_with_prompt(argv(none), "p3")
    end)

    it("reach a session's claude too (which takes no prompt argument)", function()
      local id = e2e.run(h, concat(rec_flags(), { "--type", "session",
        "--permission-mode", "plan", "--allowed-tools", "Read",
        "--max-turns", "5", "hello" }))
      e2e.wait_log(h, id, "Answer: hello\n")
      local args = argv(id)
      has_option(args, "--input-format", "stream-json")
      has_option(args, "--permission-mode", "plan")
      has_option(args, "--allowedTools", "Read")
      has_option(args, "--max-turns", "5")
      assert.is_nil(index_of(args, "hello"), table.concat(args, "\n"))
    end)

    it("are blueprint fields under their names with _", function()
      local path = B.write(h, "flags.toml", ([[
[agents.planner]
command = "-plan the work"
provider = "claude"
permission_mode = "accept-edits"
allowed_tools = ["Read", "Grep"]
disallowed_tools = ["Bash"]
max_turns = 3
append_system_prompt = "think first"
agent_arg = ["--add-dir", "/srv"]
env = { OVERMIND_CLAUDE_BIN = "%s", CLAUDE_DOUBLE_HOME = "%s" }
]]):format(recorder(), A.claude_home(h)))
      local r = e2e.om(h, { "apply", path })
      assert.are.equal(0, r.code, r.out .. r.err)
      local pipe = assert(r.out:match("^Started pipeline (%x+)"), r.out)
      e2e.wait_status(h, pipe, "stopped", 20)
      local m = B.find(h, "planner")
      assert.is_truthy(m, "no planner mission")
      local args = argv(m.id)
      has_option(args, "--permission-mode", "acceptEdits")
      has_option(args, "--allowedTools", "Read,Grep")
      has_option(args, "--disallowedTools", "Bash")
      has_option(args, "--max-turns", "3")
      has_option(args, "--append-system-prompt", "think first")
      has_option(args, "--add-dir", "/srv")
      ends_with_prompt(args, "-plan the work")
      assert.are.equal("Answer: -plan the work",
        e2e.json_decode(e2e.ok(h, { "result", m.id })).text)
    end)

    it("are om.run{} fields", function()
      local chunk = ([[
local om = require("overmind")
local m = om.run{ command = "scripted", provider = "claude",
  permission_mode = "plan", allowed_tools = { "A", "B" },
  disallowed_tools = { "Write" }, max_turns = 4,
  append_system_prompt = "from a script", agent_arg = { "--add-dir", "/opt" },
  env = { OVERMIND_CLAUDE_BIN = %q, CLAUDE_DOUBLE_HOME = %q } }
local r = om.wait(m)
return m.id .. " " .. r.status
]]):format(recorder(), A.claude_home(h))
      local r = e2e.om(h, { "eval", chunk }, { timeout = 30 })
      assert.are.equal(0, r.code, r.out .. r.err)
      local id, status = r.out:match("(%x+) (%a+)")
      assert.are.equal("stopped", status, r.out)
      local args = argv(id)
      has_option(args, "--permission-mode", "plan")
      has_option(args, "--allowedTools", "A,B")
      has_option(args, "--disallowedTools", "Write")
      has_option(args, "--max-turns", "4")
      has_option(args, "--append-system-prompt", "from a script")
      has_option(args, "--add-dir", "/opt")
      ends_with_prompt(args, "scripted")
    end)

    it("a prompt that starts with - is data: it arrives after -- and is answered", function()
      local r = e2e.om(h, concat({ "claude", "run", "--json" },
        { table.unpack(rec_flags(), 3) }, { "--", "-n is a flag?" }))
      assert.are.equal(0, r.code, r.out .. r.err)
      local id = assert(r.out:match('"id":"(%x+)"'), r.out)
      local m = e2e.wait_status(h, id, "stopped")
      assert.are.equal("claude", m.provider)
      assert.are.equal("-n is a flag?", m.command)
      local args = argv(id)
      ends_with_prompt(args, "-n is a flag?")
      assert.are.equal("Answer: -n is a flag?",
        e2e.json_decode(e2e.ok(h, { "result", id })).text)
      assert.is_truthy(e2e.log_text(h, id):find("Answer: -n is a flag?\n", 1, true))
    end)
  end)

  -- ---- 2. bad input --------------------------------------------------------

  describe("bad agent input", function()
    local function nothing_started()
      assert.are.same({}, e2e.ps_json(h))
    end

    local function refused(r, prefix)
      assert.are.equal(1, r.code, r.out .. r.err)
      assert.are.equal("", r.out)
      assert.is_truthy(r.err:sub(1, #prefix) == prefix,
        "want an error starting " .. prefix .. ", got: " .. r.err)
      assert.are.equal(1, #A.lines(r.err), r.err)
    end

    it("refuses an unknown permission mode", function()
      local r = e2e.om(h, concat({ "claude", "run" }, A.claude_flags(h),
        { "--permission-mode", "sideways", "hi" }))
      refused(r, "Error: invalid_permission_mode: ")
      assert.is_truthy(r.err:find("sideways", 1, true), r.err)
      nothing_started()
    end)

    it("refuses bypass as root at `run`, and takes it with IS_SANDBOX=1", function()
      assert.are.equal(0, core.getuid(), "these specs expect to run as root")
      local r = e2e.om(h, concat({ "run" }, rec_flags(),
        { "--permission-mode", "bypass", "hi" }))
      refused(r, "Error: permission_mode_refused")
      nothing_started()
      local id = e2e.run(h, concat(rec_flags({ "IS_SANDBOX=1" }),
        { "--permission-mode", "bypass", "sandboxed" }))
      e2e.wait_status(h, id, "stopped")
      has_option(argv(id), "--permission-mode", "bypassPermissions")
      assert.are.equal("Answer: sandboxed",
        e2e.json_decode(e2e.ok(h, { "result", id })).text)
    end)

    it("refuses agent flags on a raw mission", function()
      refused(e2e.om(h, { "run", "--allowed-tools", "Bash", "echo", "hi" }),
        "Error: not_an_agent: ")
      refused(e2e.om(h, { "run", "--permission-mode", "plan", "echo", "hi" }),
        "Error: not_an_agent: ")
      refused(e2e.om(h, { "run", "--agent-arg", "--x", "echo", "hi" }),
        "Error: not_an_agent: ")
      nothing_started()
    end)

    it("refuses a budget that is not positive", function()
      for _, v in ipairs({ "0", "-1" }) do
        local r = e2e.om(h, concat({ "claude", "run" }, A.claude_flags(h),
          { "--budget-usd", v, "hi" }))
        refused(r, "Error: ")
        assert.is_truthy(r.err:find("budget", 1, true), "not clear: " .. r.err)
        r = e2e.om(h, { "run", "--budget-usd", v, "sleep", "30" })
        refused(r, "Error: ")
        assert.is_truthy(r.err:find("budget", 1, true), "not clear: " .. r.err)
      end
      nothing_started()
    end)

    it("refuses permission_mode = \"sideways\" in a blueprint before anything starts", function()
      local path = B.write(h, "sideways.toml", [[
[agents.a]
command = "hi"
provider = "claude"
permission_mode = "sideways"
]])
      local r = e2e.om(h, { "apply", path })
      refused(r, "Error: ")
      assert.is_truthy(r.err:find("sideways", 1, true), r.err)
      nothing_started()
    end)

    it("refuses budget_usd = 0 in a blueprint before anything starts", function()
      local path = B.write(h, "broke.toml", [[
[agents.a]
command = "hi"
provider = "claude"
budget_usd = 0
]])
      local r = e2e.om(h, { "apply", path })
      refused(r, "Error: ")
      assert.is_truthy(r.err:find("broke.toml", 1, true), "names no file: " .. r.err)
      assert.is_truthy(r.err:find("budget_usd", 1, true), r.err)
      nothing_started()
    end)
  end)

  -- ---- 3. turns ------------------------------------------------------------

  describe("turns", function()
    it("answers each message in its own turn, in order, however many are queued", function()
      local id, m = session()
      local r = e2e.om(h, { "send", id, "SLEEP 2 slow" })
      assert.are.equal("Sent to mission " .. id .. "\n", r.out, r.err)
      r = e2e.om(h, { "send", id, "quick" })
      assert.are.equal("Sent to mission " .. id .. "\n", r.out, r.err)
      r = e2e.om(h, { "send", "--wait", id, "third" }, { timeout = 30 })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("Answer: third\n", r.out)
      assert.are.equal(table.concat({
        "[human] SLEEP 2 slow", "[tool] Bash", "Answer: SLEEP 2 slow",
        "[human] quick", "[tool] Bash", "Answer: quick",
        "[human] third", "[tool] Bash", "Answer: third",
      }, "\n") .. "\n", e2e.log_text(h, id))
      -- three turns reached the CLI, none merged into another
      assert.are.same({ "SLEEP 2 slow", "quick", "third" },
        A.transcript(h, m.session_id))
    end)

    it("has the answer in the log by the time send --wait prints it", function()
      -- The daemon answers the waiter when it parses the result, before
      -- it writes that read's text to the log; a script that runs `logs`
      -- after `send --wait` must still find the answer there.
      local id = session()
      local missing = {}
      for k = 1, 30 do
        local text = "turn " .. k
        local r = e2e.om(h, { "send", "--wait", id, text }, { timeout = 30 })
        assert.are.equal("Answer: " .. text .. "\n", r.out, r.err)
        if not e2e.log_text(h, id):find("\nAnswer: " .. text .. "\n", 1, true) then
          missing[#missing + 1] = k
        end
      end
      assert.are.same({}, missing,
        "send --wait printed these answers before the log had them")
    end)

    it("gives two clients waiting at once each its own answer", function()
      local id = session()
      local b1 = e2e.spawn(h, { "send", "--wait", id, "SLEEP 1 alpha" })
      local b2 = e2e.spawn(h, { "send", "--wait", id, "beta" })
      assert.are.equal(0, e2e.bg_wait(b1, 30, "the first send --wait"), e2e.bg_errors(b1))
      assert.are.equal(0, e2e.bg_wait(b2, 30, "the second send --wait"), e2e.bg_errors(b2))
      assert.are.equal("Answer: SLEEP 1 alpha\n", e2e.bg_output(b1))
      assert.are.equal("Answer: beta\n", e2e.bg_output(b2))
      local log = e2e.log_text(h, id)
      for _, text in ipairs({ "SLEEP 1 alpha", "beta" }) do
        local human = log:find("[human] " .. text .. "\n", 1, true)
        local answer = log:find("Answer: " .. text .. "\n", 1, true)
        assert.is_truthy(human and answer and human < answer, log)
      end
      assert.are.equal(1, count(log, "Answer: SLEEP 1 alpha\n"), log)
      assert.are.equal(1, count(log, "Answer: beta\n"), log)
    end)
  end)

  -- ---- 4. cost -------------------------------------------------------------

  describe("cost", function()
    it("is per turn in send --wait --json, and summed over turns and restarts in info", function()
      local id = session({ "--restart", "on-failure", "--backoff", "100", "one" })
      e2e.wait_for(function()
        local c = e2e.info(h, id).cost_usd
        return c ~= null and c
      end, 10, "the first turn's cost")
      near(0.0012, e2e.info(h, id).cost_usd, "after the first message")
      near(0.0012, send_json(id, "two").cost_usd, "the second turn")
      near(0.0012, send_json(id, "three").cost_usd, "the third turn")
      local m = e2e.info(h, id)
      near(0.0036, m.cost_usd, "info after three turns")
      near(0.0036, m.tree_cost_usd, "tree cost of a mission with no children")

      -- kill -9 the CLI: the resumed process counts from zero again
      local pid = m.os_pid
      assert.are.equal("integer", math.type(pid))
      e2e.sh("kill -9 " .. pid)
      local back = e2e.wait_for(function()
        local x = e2e.info(h, id)
        return x.restart_count == 1 and x.status == "running" and
          x.os_pid ~= null and x.os_pid ~= pid and x
      end, 15, "the session to come back")
      near(0.0036, back.cost_usd, "info after the restart, before a turn")
      near(0.0012, send_json(id, "four").cost_usd, "the first turn after the restart")
      near(0.0048, e2e.info(h, id).cost_usd, "info after four turns")
      near(0.0012, send_json(id, "five").cost_usd, "the second turn after the restart")
      m = e2e.info(h, id)
      near(0.0060, m.cost_usd, "info after five turns")
      near(0.0060, m.tree_cost_usd, "tree cost after five turns")
    end)

    it("gives a parent's tree_cost_usd as its own cost plus its descendants'", function()
      local parent = session({ "hello" })
      e2e.wait_log(h, parent, "Answer: hello\n")
      local kid = A.run_claude(h, { "--parent", parent, "kid task" })
      local kid2 = session({ "--parent", parent, "kid session" })
      e2e.wait_log(h, kid2, "Answer: kid session\n")
      near(0.0012, send_json(kid2, "more").cost_usd)
      local grandkid = A.run_claude(h, { "--parent", kid2, "grandkid task" })
      e2e.wait_status(h, kid, "stopped")
      e2e.wait_status(h, grandkid, "stopped")
      local p = e2e.info(h, parent)
      local k2 = e2e.info(h, kid2)
      near(0.0012, p.cost_usd, "the parent's own cost")
      near(0.0012, e2e.info(h, kid).tree_cost_usd, "a leaf's tree cost")
      near(0.0024, k2.cost_usd, "kid2's own cost")
      near(0.0036, k2.tree_cost_usd, "kid2 and its child")
      near(0.0060, p.tree_cost_usd, "the whole tree")
      -- a raw parent costs nothing itself
      local raw = e2e.run(h, { "sleep 300" })
      local k = A.run_claude(h, { "--parent", raw, "under raw" })
      e2e.wait_status(h, k, "stopped")
      near(0.0012, e2e.info(h, raw).tree_cost_usd, "a raw parent's tree cost")
    end)

    it("carries permission_denials as [] in result and info", function()
      local id = A.run_claude(h, { "nothing", "denied" })
      e2e.wait_status(h, id, "stopped")
      local res = e2e.ok(h, { "result", id })
      assert.is_truthy(res:find('"permission_denials":[]', 1, true), res)
      local info = e2e.ok(h, { "info", id })
      assert.is_truthy(info:find('"permission_denials":[]', 1, true), info)
    end)
  end)

  -- ---- 5. budgets ----------------------------------------------------------

  describe("budgets", function()
    it("kill a session past its budget, for good, and say so in the log and events", function()
      local id = session({ "--budget-usd", "0.003", "--restart", "always",
                           "--backoff", "100", "one" })
      e2e.wait_log(h, id, "Answer: one\n")
      near(0.0012, send_json(id, "two").cost_usd)
      assert.are.equal("running", e2e.info(h, id).status)
      -- the third result passes $0.003; whether this send hears its answer
      -- first or `exited` does not matter here
      e2e.om(h, { "send", "--wait", id, "three" }, { timeout = 30 })
      local m = e2e.wait_status(h, id, "crashed", 15)
      local log = e2e.log_text(h, id)
      assert.are.equal(1, count(log, "--- killed: budget"), log)
      local marker = "--- killed: budget $0.003 exceeded ($0.0036) ---"
      local seen = false
      for _, l in ipairs(A.lines(log)) do if l == marker then seen = true end end
      assert.is_true(seen, "no exact marker line in:\n" .. log)
      assert.are.equal(0, m.restart_count)
      near(0.0036, m.cost_usd)
      -- --restart always does not bring it back
      local t0 = e2e.now()
      e2e.wait_for(function()
        local x = e2e.info(h, id)
        assert.are.equal("crashed", x.status, "it came back")
        assert.are.equal(0, x.restart_count, "it was restarted")
        return e2e.now() - t0 > 1.5
      end, 10, "a few backoffs")
      -- one budget_exceeded event
      local b = e2e.spawn(h, { "events", "--json", "--since", "1m",
                               "--filter", "event=budget_exceeded" })
      local lines = settled(b, 1, "the budget_exceeded event")
      e2e.stop_bg(b)
      assert.are.equal(1, #lines, table.concat(lines, "\n"))
      local ev = e2e.json_decode(lines[1])
      assert.are.equal("budget_exceeded", ev.event)
      assert.are.equal(id, ev.id)
      near(0.003, ev.budget_usd, "the event's budget_usd")
      near(0.0036, ev.cost_usd, "the event's cost_usd")
    end)

    it("count a parent's tree: the parent is killed and its live children stopped", function()
      local parent = e2e.run(h, { "--budget-usd", "0.002", "sleep 300" })
      local live = e2e.run(h, { "--parent", parent, "sleep 300" })
      local live_pid = e2e.wait_status(h, live, "running").os_pid
      local c1 = A.run_claude(h, { "--parent", parent, "first kid" })
      e2e.wait_status(h, c1, "stopped")
      -- $0.0012 of $0.002: nothing happens yet
      local p = e2e.info(h, parent)
      assert.are.equal("running", p.status)
      near(0.0012, p.tree_cost_usd)
      local c2 = A.run_claude(h, { "--parent", parent, "second kid" })
      e2e.wait_status(h, c2, "stopped")
      p = e2e.wait_status(h, parent, "crashed", 15)
      assert.are.equal(0, p.restart_count)
      local log = e2e.log_text(h, parent)
      assert.are.equal("--- killed: budget $0.002 exceeded ($0.0024) ---\n", log)
      -- the live child was stopped with it
      local l = e2e.wait_for(function()
        local x = e2e.info(h, live)
        return x.status ~= "running" and x
      end, 15, "the live child to be stopped")
      assert.are.equal("stopped", l.status)
      e2e.wait_for(function() return not e2e.alive(live_pid) end, 10,
        "the live child's process to end")
      assert.are.equal("Answer: second kid",
        e2e.json_decode(e2e.ok(h, { "result", c2 })).text)
    end)
  end)

  -- ---- 6. activity ---------------------------------------------------------

  describe("activity", function()
    local function activity_in_ps(id)
      for _, m in ipairs(e2e.ps_json(h)) do
        if m.id == id then return m.activity end
      end
      error("no mission " .. id .. " in ps")
    end

    it("is working during a turn, waiting after it, and null for a raw mission", function()
      local id = session({ "hello" })
      e2e.wait_log(h, id, "Answer: hello\n")
      e2e.wait_for(function() return e2e.info(h, id).activity == "waiting" end, 10,
        "waiting after the first answer")
      assert.are.equal("waiting", activity_in_ps(id))
      e2e.ok(h, { "send", id, "SLEEP 2 slow" })
      assert.are.equal("working", e2e.info(h, id).activity)
      assert.are.equal("working", activity_in_ps(id))
      e2e.wait_log(h, id, "Answer: SLEEP 2 slow\n")
      e2e.wait_for(function() return e2e.info(h, id).activity == "waiting" end, 10,
        "waiting after the slow answer")
      local raw = e2e.run(h, { "sleep 300" })
      local r = e2e.wait_status(h, raw, "running")
      assert.are.equal(null, r.activity)
      assert.are.equal(null, activity_in_ps(raw))
      local rawsess = e2e.run(h, { "--type", "session", "cat" })
      assert.are.equal(null, e2e.wait_status(h, rawsess, "running").activity)
    end)

    it("`wait --waiting` returns when the session has answered, and at once when it waits", function()
      local id = session({ "hello" })
      e2e.wait_log(h, id, "Answer: hello\n")
      local line = "Mission " .. id .. " waiting for a message\n"
      -- already waiting: at once
      local r = e2e.om(h, { "wait", id, "--waiting" }, { timeout = 5 })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(line, r.out)
      -- a slow turn: --timeout gives up
      e2e.ok(h, { "send", id, "SLEEP 2 slow" })
      r = e2e.om(h, { "wait", id, "--waiting", "--timeout", "300" }, { timeout = 5 })
      assert.are.equal(124, r.code, r.out .. r.err)
      assert.are.equal("Error: timeout\n", r.err)
      assert.are.equal("", r.out)
      -- without one, it returns once the answer is in
      r = e2e.om(h, { "wait", id, "--waiting" }, { timeout = 15 })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(line, r.out)
      assert.are.equal("Answer: SLEEP 2 slow",
        e2e.json_decode(e2e.ok(h, { "result", id })).text, "returned before the answer")
      assert.are.equal("running", e2e.info(h, id).status)
    end)

    it("`wait --waiting` prints the finished line when the mission ends instead", function()
      local id = session({ "hello" })
      e2e.wait_log(h, id, "Answer: hello\n")
      e2e.ok(h, { "send", id, "SLEEP 30 long" })
      local b = e2e.spawn(h, { "wait", id, "--waiting" })
      registered(b)
      assert.is_nil(e2e.bg_done(b), "wait --waiting returned during a turn: " ..
        e2e.bg_output(b))
      e2e.ok(h, { "stop", id })
      local code = e2e.bg_wait(b, 20, "wait --waiting to return")
      local m = e2e.wait_status(h, id, "stopped")
      local out = e2e.bg_output(b)
      assert.is_truthy(out:match("^Mission " .. id .. " finished: stopped %("), out)
      if m.exit_code == null then
        assert.are.equal("Mission " .. id .. " finished: stopped (no exit code)\n", out)
        assert.are.equal(0, code)
      else
        assert.are.equal(("Mission %s finished: stopped (exit code %d)\n")
          :format(id, m.exit_code), out)
        assert.are.equal(m.exit_code, code)
      end
    end)

    it("puts a waiting event in `events` for each answered turn", function()
      local id, m = session({ "--name", "chatty", "one" })
      e2e.wait_log(h, id, "Answer: one\n")
      assert.are.equal("Answer: two\n", e2e.ok(h, { "send", "--wait", id, "two" }))
      assert.are.equal("Answer: three\n", e2e.ok(h, { "send", "--wait", id, "three" }))
      e2e.wait_for(function() return e2e.info(h, id).activity == "waiting" end, 10,
        "waiting")
      local b = e2e.spawn(h, { "events", "--since", "1m", "--filter", "event=waiting" })
      local lines = settled(b, 3, "three waiting events")
      e2e.stop_bg(b)
      assert.are.equal(3, #lines, table.concat(lines, "\n"))
      for _, l in ipairs(lines) do
        assert.is_truthy(l:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ " ..
          id .. " chatty waiting$"), l)
      end
      assert.are.equal("chatty", m.name)
    end)
  end)

  -- ---- 7. environment ------------------------------------------------------

  describe("environment", function()
    it("is the client's, kept in a 0600 record for restarts and daemon restarts", function()
      assert.is_nil(os.getenv("OM_LATE"), "the test itself must not have OM_LATE")
      local r = e2e.om(h, { "start" })
      assert.are.equal(0, r.code, r.err)
      assert.is_truthy(r.out:match("^Daemon started"), r.out)
      -- exported in the client after the daemon started
      local id = e2e.run(h, { "--restart", "on-failure", "--backoff", "100",
        "echo late=${OM_LATE:-unset}; sleep 300" }, { env = { "OM_LATE=1" } })
      e2e.wait_log(h, id, "late=")
      assert.are.equal("late=1\n", e2e.log_text(h, id))
      -- a client without it: a mission without it (the daemon has none)
      local plain = e2e.run(h, { "echo late=${OM_LATE:-unset}" })
      e2e.wait_status(h, plain, "stopped")
      assert.are.equal("late=unset\n", e2e.log_text(h, plain))

      -- its restart after a crash has it too
      local pid = e2e.wait_status(h, id, "running").os_pid
      e2e.sh("kill -9 " .. pid)
      local pid2 = e2e.wait_for(function()
        local x = e2e.info(h, id)
        return x.status == "running" and x.os_pid ~= null and x.os_pid ~= pid and
          x.os_pid
      end, 15, "the restart")
      e2e.wait_for(function() return count(e2e.log_text(h, id), "late=") >= 2 end, 15,
        "the restarted run's line")
      assert.are.equal(2, count(e2e.log_text(h, id), "late=1\n"), e2e.log_text(h, id))

      -- the record is private
      local rec = h.home .. "/missions/" .. id .. "/mission.json"
      assert.are.equal("600\n", e2e.sh("stat -c %a " .. e2e.quote(rec)))

      -- the daemon dies; a new one starts from an environment without it
      local dpid = e2e.daemon_pid(h)
      e2e.sh("kill -9 " .. dpid)
      e2e.wait_for(function() return not e2e.alive(dpid) end, 10, "the daemon to die")
      r = e2e.om(h, { "start" })
      assert.are.equal(0, r.code, r.err)
      assert.is_truthy(r.out:match("^Daemon started"), r.out)
      assert.is_true(e2e.daemon_pid(h) ~= dpid)
      -- the mission is re-adopted (SPEC §14) or restarted by its policy;
      -- either way the next run it gets comes from the record
      local m = e2e.wait_for(function()
        local x = e2e.info(h, id)
        return x.status == "running" and x.os_pid ~= null and x
      end, 15, "the mission to run under the new daemon")
      local runs = count(e2e.log_text(h, id), "late=")
      if m.os_pid == pid2 or runs == 2 then
        e2e.sh("kill -9 " .. m.os_pid)
      end
      e2e.wait_for(function() return count(e2e.log_text(h, id), "late=") >= 3 end, 15,
        "a run under the new daemon")
      local log = e2e.log_text(h, id)
      assert.is_falsy(log:find("late=unset", 1, true), log)
      assert.is_true(count(log, "late=1\n") >= 3, log)
      assert.are.equal("600\n", e2e.sh("stat -c %a " .. e2e.quote(rec)))
      e2e.ok(h, { "stop", id })
      e2e.wait_status(h, id, "stopped", 15)
    end)
  end)
end)
