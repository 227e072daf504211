-- Scripting (SPEC §7): `overmind script` runs a Lua file as a supervised
-- mission of type `script` whose children are the missions it starts;
-- the `om` API inside it; `overmind eval`; examples/orchestrate.lua end
-- to end with the claude double.
local e2e = require("support.e2e")
local B = require("support.blueprint")

local function q(s) return (s:gsub("%p", "%%%0")) end

describe("script", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function() e2e.cleanup(h) end)

  -- `overmind script <args...>`; asserts the exact line, returns id, name.
  local function script(args, opts)
    local full = { "script" }
    for _, a in ipairs(args) do full[#full + 1] = a end
    local r = e2e.om(h, full, opts)
    assert.are.equal(0, r.code, r.out .. r.err)
    local id, name = r.out:match("^Started mission (%x+) %(([^)]+)%)\n$")
    assert.is_truthy(id, "script printed: " .. r.out)
    return id, name
  end

  local function wait(id, want_code)
    local r = e2e.om(h, { "wait", id }, { timeout = 30 })
    assert.are.equal(want_code or 0, r.code, r.out .. r.err .. e2e.log_text(h, id))
    return r
  end

  it("runs a script that starts and waits on missions, its children", function()
    local path = B.write(h, "kids.lua", [[
local om = require("overmind")
om.log("args:", #arg, arg[1], arg[2], nil, 1.5, true)
local ms = {}
for i = 1, 3 do
  ms[i] = om.run{ command = "echo child " .. i .. "; exit " .. (i - 1), name = "kid" .. i }
end
local rs = { om.wait(ms[1], ms[2], ms[3]) }
for i, r in ipairs(rs) do om.log("kid" .. i, r.status, r.exit_code) end
]])
    local id, name = script({ "--name", "parent-script", path, "x y", "z" })
    assert.are.equal("parent-script", name)
    local r = wait(id)
    assert.are.equal("Mission " .. id .. " finished: stopped (exit code 0)\n", r.out)

    local info = e2e.info(h, id)
    assert.are.equal("script", info.type)
    assert.are.equal("stopped", info.status)
    assert.are.equal(0, info.exit_code)
    assert.are.equal(table.concat({
      "args: 2 x y z nil 1.5 true",
      "kid1 stopped 0",
      "kid2 crashed 1",
      "kid3 crashed 2",
    }, "\n") .. "\n", e2e.log_text(h, id))

    -- The missions it started are its children.
    local kids = {}
    for i = 1, 3 do
      local k = B.find(h, "kid" .. i)
      assert.is_truthy(k, "kid" .. i)
      assert.are.equal(id, k.parent, "kid" .. i)
      kids[i] = k.id
      assert.is_truthy(e2e.log_text(h, k.id):find("child " .. i, 1, true))
    end
    local children = info.children
    table.sort(children)
    table.sort(kids)
    assert.are.same(kids, children)

    local tree = B.lines(e2e.ok(h, { "ps", "--tree" }))
    local at = {}
    for i, l in ipairs(tree) do
      if l:match("^" .. id .. " ") then at.root = i end
      for k = 1, 3 do
        local rest = l:match("^├─ (.*)$") or l:match("^└─ (.*)$")
        if rest and rest:match("^%x+%s+kid" .. k .. " ") then at[k] = i end
      end
    end
    assert.is_truthy(at.root, table.concat(tree, "\n"))
    for k = 1, 3 do
      assert.is_truthy(at[k], "kid" .. k .. " under the script:\n" .. table.concat(tree, "\n"))
      assert.is_true(at[k] > at.root)
    end
    assert.are.equal("└─ ", tree[at[3]]:sub(1, #"└─ "), "the last child closes the branch")
  end)

  it("ends crashed with the traceback in its log on a Lua error", function()
    local path = B.write(h, "boom.lua", [[
local function inner()
  error("kaboom")
end
inner()
]])
    local id = script({ path })
    local r = wait(id, 1)
    assert.are.equal("Mission " .. id .. " finished: crashed (exit code 1)\n", r.out)
    local info = e2e.info(h, id)
    assert.are.equal("crashed", info.status)
    assert.are.equal(1, info.exit_code)
    local log = e2e.log_text(h, id)
    assert.is_truthy(log:find(path .. ":2: kaboom", 1, true), log)
    assert.is_truthy(log:find("stack traceback:", 1, true), log)
    assert.is_truthy(log:find(path .. ":4:", 1, true), "the caller's line: " .. log)
  end)

  it("applies run flags: name, env and the restart policy", function()
    local path = B.write(h, "flaky.lua", [[
local om = require("overmind")
om.log("color is", os.getenv("COLOR"))
error("always fails")
]])
    local id, name = script({ "--name", "flaky", "--env", "COLOR=teal",
      "--restart", "on-failure", "--max-restarts", "1", "--backoff", "50", path })
    assert.are.equal("flaky", name)
    wait(id, 1)
    local info = e2e.info(h, id)
    assert.are.equal("crashed", info.status)
    assert.are.equal("on_failure", info.restart_policy)
    assert.are.equal(1, info.restart_count)
    local log = e2e.log_text(h, id)
    assert.is_truthy(log:find("color is teal\n", 1, true), log)
    assert.is_truthy(log:match("%-%-%- restart #1 at %d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ %-%-%-"), log)
    local _, n = log:gsub("always fails", "")
    assert.is_true(n >= 2, "ran twice: " .. log)
  end)

  it("gives the om API: send, logs, info, stop, wait, wait_any, result, ps, kill, sleep", function()
    local path = B.write(h, "api.lua", [[
local om = require("overmind")
local core = require("overmind.core")
local s = om.run{ type = "session", command = "cat", name = "echoer" }
om.log("send:", om.send(s, "hello there"))
local echoed = false
for _ = 1, 500 do
  local _, n = om.logs(s):gsub("hello there", "")
  if n >= 2 then echoed = true break end
  om.sleep(10)
end
om.log("echoed:", echoed)
local info = om.info(s)
om.log("info:", info.type, info.status, info.name)
om.log("stop:", om.stop(s))
local r = om.wait(s)
om.log("after stop:", r.status)
local fast = om.run("exit 2")
local slow = om.run{ command = "sleep 30", name = "sleeper" }
local first, fr = om.wait_any(fast, slow)
om.log("first:", first.id == fast.id, fr.status, fr.exit_code)
local ok, err = pcall(om.wait, slow, { timeout = 100 })
om.log("timeout:", ok, tostring(err):find("timeout", 1, true) ~= nil)
om.log("result:", next(om.result(fast)) == nil)
local function listed(m)
  for _, x in ipairs(om.ps()) do if x.id == m.id then return true end end
  return false
end
om.log("ps:", listed(slow))
om.log("kill:", om.kill(slow, { cascade = true }))
om.log("after kill:", listed(slow))
local ok2, err2 = pcall(om.info, "ffffffff")
om.log("unknown:", ok2, tostring(err2):find("not_found", 1, true) ~= nil)
local t = core.now()
om.sleep(200)
om.log("slept:", core.now() - t >= 190)
]])
    local id = script({ path })
    wait(id)
    assert.are.equal(table.concat({
      "send: true",
      "echoed: true",
      "info: session running echoer",
      "stop: true",
      "after stop: stopped",
      "first: true crashed 2",
      "timeout: false true",
      "result: true",
      "ps: true",
      "kill: true",
      "after kill: false",
      "unknown: false true",
      "slept: true",
    }, "\n") .. "\n", e2e.log_text(h, id))
    local echoer = B.find(h, "echoer")
    assert.are.equal(id, echoer.parent)
    assert.is_truthy(e2e.log_text(h, echoer.id):find("[human] hello there\n", 1, true))
  end)
end)

describe("eval", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function() e2e.cleanup(h) end)

  local function eval(src)
    return e2e.om(h, { "eval", src }, { timeout = 30 })
  end

  -- Evaluates the printed text as a Lua constructor.
  local function reload(text)
    local f = assert(load("return " .. text, "=out", "t", {}), "not Lua: " .. text)
    return f()
  end

  it("prints the value of an expression", function()
    local r = eval("1+2")
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("3\n", r.out)
    assert.are.equal("", r.err)
  end)

  it("prints strings raw and tables as Lua constructors", function()
    local r = eval('"a" .. "b c"')
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("ab c\n", r.out)
    r = eval('{ 1, "x", flag = true, nested = { y = 2 } }')
    assert.are.equal(0, r.code, r.err)
    assert.are.same({ 1, "x", flag = true, nested = { y = 2 } },
      reload(r.out:gsub("\n$", "")))
  end)

  it("prints every result of a chunk and nothing for a statement", function()
    local r = eval('return 1, "two"')
    assert.are.equal(0, r.code, r.err)
    assert.is_truthy(r.out:match("^1%s+two\n$"), r.out)
    r = eval("x = 1")
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("", r.out)
  end)

  it("has the om API: ps, run, wait", function()
    local id = e2e.run(h, { "--name", "listed", "sleep 30" })
    local r = eval("om.ps()")
    assert.are.equal(0, r.code, r.err)
    local list = reload(r.out:gsub("\n$", ""))
    local found
    for _, m in ipairs(list) do if m.id == id then found = m end end
    assert.is_truthy(found, r.out)
    assert.are.equal("listed", found.name)
    assert.are.equal("running", found.status)

    r = eval('om.wait(om.run("exit 3"))')
    assert.are.equal(0, r.code, r.err)
    local w = reload(r.out:gsub("\n$", ""))
    assert.are.equal("crashed", w.status)
    assert.are.equal(3, w.exit_code)
  end)

  it("prints a mission handle it returns", function()
    local r = eval('om.run{ command = "sleep 30", name = "handled" }')
    assert.are.equal(0, r.code, r.err)
    local m = B.find(h, "handled")
    assert.is_truthy(m)
    assert.are.equal("running", m.status)
    assert.is_truthy(r.out:find(m.id, 1, true), r.out)
  end)

  it("reports an error as Error: ... with exit 1", function()
    local r = eval('error("boom")')
    assert.are.equal(1, r.code)
    assert.are.equal("", r.out)
    assert.is_truthy(r.err:match("^Error: .*boom\n$"), r.err)
    r = eval("this is not lua")
    assert.are.equal(1, r.code)
    assert.is_truthy(r.err:match("^Error: .+\n$"), r.err)
    r = eval('om.info("ffffffff")')
    assert.are.equal(1, r.code)
    assert.is_truthy(r.err:match("^Error: .*not_found"), r.err)
  end)
end)

describe("with the claude double", function()
  local h, env
  before_each(function()
    h = e2e.new_home()
    env = { "OVERMIND_CLAUDE_BIN=" .. e2e.root .. "/tests/doubles/claude",
            "CLAUDE_DOUBLE_HOME=" .. h.home .. "/claude-double" }
    -- The daemon's environment is what its missions get.
    e2e.ok(h, { "start" }, { env = env })
  end)
  after_each(function() e2e.cleanup(h) end)

  it("om.send with wait returns the session's answer", function()
    local r = e2e.om(h, { "eval",
      'local s = om.run{ type = "session", provider = "claude", name = "chat" }\n' ..
      'local res = om.send(s, "what next", { wait = true })\n' ..
      'om.stop(s)\n' ..
      'return res.text, res.is_error' }, { env = env, timeout = 30 })
    assert.are.equal(0, r.code, r.err)
    assert.are.equal("Answer: what next\nfalse\n", r.out:gsub("\t", "\n"))
  end)

  it("runs examples/orchestrate.lua: spawn, wait, retry the failed subtask", function()
    local id = (function()
      local r = e2e.om(h, { "script", "--name", "orch", "--env", "ORCHESTRATE_FAIL=draft",
        "examples/orchestrate.lua", "ship the notes" }, { env = env, cwd = e2e.root })
      assert.are.equal(0, r.code, r.out .. r.err)
      local i = r.out:match("^Started mission (%x+) %(orch%)\n$")
      assert.is_truthy(i, r.out)
      return i
    end)()
    local r = e2e.om(h, { "wait", id }, { timeout = 60 })
    assert.are.equal(0, r.code, r.out .. r.err .. e2e.log_text(h, id))
    local log = e2e.log_text(h, id)
    local lines = B.lines(log)
    assert.are.equal("task: ship the notes", lines[1], log)
    local spawned = {}
    for _, l in ipairs(lines) do
      local kind, mid = l:match("^spawned (%w+) as (%x+)$")
      if kind then spawned[kind] = mid end
    end
    assert.is_truthy(spawned.research and spawned.draft and spawned.review, log)
    assert.is_truthy(B.index_of(lines, "finished " .. spawned.draft .. " crashed exit 1"), log)
    assert.is_truthy(B.index_of(lines, "finished " .. spawned.research .. " stopped exit 0"), log)
    assert.is_truthy(log:match("\nretrying draft after failure: [^\n]+\n"), log)
    assert.is_falsy(log:find("retrying research", 1, true), log)
    assert.is_falsy(log:find("retrying review", 1, true), log)
    assert.is_truthy(B.index_of(lines, "retry of draft stopped"), log)
    local task = "ship the notes"
    assert.is_truthy(B.index_of(lines,
      "research ok    Answer: research: gather three facts for: " .. task), log)
    assert.is_truthy(log:match("\ndraft    ok    Answer: draft: write a first draft for: " ..
      q(task) .. " %(previous attempt failed: [^\n]*%)\n"), log)
    assert.is_truthy(B.index_of(lines,
      "review   ok    Answer: review: list risks and open questions for: " .. task), log)
    assert.are.equal("all subtasks done", lines[#lines])

    -- Its agents (and the retry) are its children.
    local info = e2e.info(h, id)
    assert.are.equal(4, #info.children)
    local retry
    for _, cid in ipairs(info.children) do
      local c = e2e.info(h, cid)
      assert.are.equal(id, c.parent)
      assert.are.equal("claude", c.provider)
      if c.name:match("^draft%-.*%-retry$") then retry = c end
    end
    assert.is_truthy(retry, "no draft retry among the children")
    assert.are.equal("stopped", retry.status)
    assert.are.equal("crashed", e2e.info(h, spawned.draft).status)

    local summary = e2e.json_decode(e2e.read_all(h.home .. "/missions/" .. id .. "/summary.json"))
    assert.are.equal(3, #summary)
    for _, s in ipairs(summary) do assert.is_true(s.ok, s.kind) end
  end)
end)
