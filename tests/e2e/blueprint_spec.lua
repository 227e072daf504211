-- Blueprints (SPEC §7): `agents` and `apply` on TOML and Lua files,
-- validation before anything starts, pipelines whose agents start as
-- their dependencies stop (in parallel where the graph allows), failure
-- propagation, and stop / kill --cascade / wait / logs on a pipeline.
local e2e = require("support.e2e")
local B = require("support.blueprint")

local function q(s) return (s:gsub("%p", "%%%0")) end

describe("blueprints", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function() e2e.cleanup(h) end)

  -- `apply` and its pipeline id; asserts the exact line.
  local function apply(path)
    local r = e2e.om(h, { "apply", path })
    assert.are.equal(0, r.code, r.err)
    local id, name = r.out:match("^Started pipeline (%x+) %(([^)]+)%)\n$")
    assert.is_truthy(id, "apply printed: " .. r.out)
    assert.are.equal(8, #id)
    return id, name
  end

  local function mission_named(name)
    local m = B.find(h, name)
    assert.is_truthy(m, "no mission named " .. name)
    return m
  end

  describe("agents", function()
    it("lists a TOML blueprint in file order, with its dependencies", function()
      local path = B.write(h, "p.toml", [[
[agents.fetch]
command = "echo fetching"

[agents.zlint]
command = "echo lint ok"
depends_on = ["fetch"]

[agents.btest]
command = "make test"
depends_on = ["fetch"]

[agents.package]
command = "tar czf out.tgz ."
depends_on = ["zlint", "btest"]
]])
      local r = e2e.om(h, { "agents", path })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(table.concat({
        "fetch: echo fetching",
        "zlint: echo lint ok (depends on: fetch)",
        "btest: make test (depends on: fetch)",
        "package: tar czf out.tgz . (depends on: zlint, btest)",
      }, "\n") .. "\n", r.out)
    end)

    it("lists the shipped TOML sample, from a relative path", function()
      local r = e2e.om(h, { "agents", "blueprints/build.toml" }, { cwd = e2e.root })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(table.concat({
        "fetch: echo fetching; sleep 1; echo fetched",
        "lint: echo linting; sleep 1; echo lint ok (depends on: fetch)",
        "test: echo testing; sleep 1; echo 42 tests passed (depends on: fetch)",
        "package: echo packaging for CI=$CI (depends on: lint, test)",
      }, "\n") .. "\n", r.out)
    end)

    it("lists a Lua blueprint", function()
      local r = e2e.om(h, { "agents", e2e.root .. "/blueprints/code-review.lua" })
      assert.are.equal(0, r.code, r.err)
      local lines = B.lines(r.out)
      table.sort(lines)
      assert.are.same({
        "review-1: review src/proc.c for resource leaks",
        "review-2: review src/server.c for resource leaks",
        "review-3: review lua/overmind/daemon/supervisor.lua for resource leaks",
        "summary: summarise the reviews into a checklist " ..
          "(depends on: review-1, review-2, review-3)",
      }, lines)

      local path = B.write(h, "two.lua", [[
return { agents = {
  build = { command = "make" },
  ship = { command = "make ship", depends_on = { "build" } },
} }
]])
      r = e2e.om(h, { "agents", path })
      assert.are.equal(0, r.code, r.err)
      lines = B.lines(r.out)
      table.sort(lines)
      assert.are.same({ "build: make", "ship: make ship (depends on: build)" }, lines)
    end)
  end)

  describe("validation", function()
    -- Every error: exact text on stderr, exit 1, for both commands, and
    -- nothing started.
    local cases = {
      {
        file = "nocmd.toml",
        text = '[agents.a]\ncommand = "echo a"\n\n[agents.b]\nprovider = "raw"\n' ..
               'depends_on = ["a"]\n',
        want = function(p) return "^" .. q(p) .. ":4: missing command for agent: b\n$" end,
      },
      {
        file = "unknown.toml",
        text = '[agents.a]\ncommand = "echo a"\n[agents.b]\ncommand = "echo b"\n' ..
               'depends_on = ["a", "ghost"]\n',
        want = function(p)
          return "^" .. q(p) .. ":[35]: agent b depends on unknown agent: ghost\n$"
        end,
      },
      {
        file = "cycle.toml",
        text = '[agents.a]\ncommand = "x"\ndepends_on = ["b"]\n' ..
               '[agents.b]\ncommand = "y"\ndepends_on = ["c"]\n' ..
               '[agents.c]\ncommand = "z"\ndepends_on = ["a"]\n',
        want = function(p)
          return "^" .. q(p) .. ":?%d*: dependency cycle: a %-> b %-> c %-> a\n$"
        end,
      },
      {
        file = "invalid.toml",
        text = '[agents.a]\ncommand = "echo a"\nprovider = raw\n',
        want = function(p) return "^" .. q(p) .. ": invalid TOML at line 3: .+\n$" end,
      },
      {
        file = "nocmd.lua",
        text = 'return { agents = { solo = { provider = "raw" } } }\n',
        want = function(p) return "^" .. q(p) .. ":?%d*: missing command for agent: solo\n$" end,
      },
      {
        file = "unknown.lua",
        text = 'return { agents = { a = { command = "x", depends_on = { "nobody" } } } }\n',
        want = function(p)
          return "^" .. q(p) .. ":?%d*: agent a depends on unknown agent: nobody\n$"
        end,
      },
      {
        file = "cycle.lua",
        text = 'return { agents = { a = { command = "x", depends_on = { "a" } } } }\n',
        want = function(p) return "^" .. q(p) .. ":?%d*: dependency cycle: a %-> a\n$" end,
      },
    }

    it("rejects each invalid blueprint with its exact error and starts nothing", function()
      local keep = e2e.run(h, { "--name", "bystander", "sleep 30" })
      local before = B.ids(h)
      assert.are.equal("bystander", before[keep])
      for _, c in ipairs(cases) do
        local path = B.write(h, c.file, c.text)
        for _, cmd in ipairs({ "agents", "apply" }) do
          local r = e2e.om(h, { cmd, path })
          assert.are.equal(1, r.code, cmd .. " " .. c.file .. ": " .. r.out .. r.err)
          assert.are.equal("", r.out, cmd .. " " .. c.file)
          local msg = r.err:match("^Error: (.*)$")
          assert.is_truthy(msg, cmd .. " " .. c.file .. ": " .. r.err)
          assert.is_truthy(msg:match(c.want(path)),
            cmd .. " " .. c.file .. ": got " .. r.err)
        end
      end
      assert.are.same(before, B.ids(h), "an invalid blueprint started something")
    end)

    it("rejects a file that does not exist", function()
      local keep = e2e.run(h, { "sleep 30" })
      local before = B.ids(h)
      local path = h.home .. "/no-such-blueprint.toml"
      for _, cmd in ipairs({ "agents", "apply" }) do
        local r = e2e.om(h, { cmd, path })
        assert.are.equal(1, r.code, cmd)
        assert.are.equal("", r.out, cmd)
        assert.is_truthy(r.err:match("^Error: .*" .. q(path)), cmd .. ": " .. r.err)
      end
      assert.are.same(before, B.ids(h))
      assert.is_truthy(before[keep])
    end)
  end)

  describe("apply", function()
    it("runs a diamond: b and c at the same time, d after both", function()
      local d = h.home
      -- a holds until the test has seen apply return; b and c each wait
      -- (boundedly) for the other to be up, so they must overlap.
      local path = B.write(h, "diamond.toml", ([[
[agents.a]
command = "i=0; while [ ! -e %s/go ]; do i=$((i+1)); [ $i -gt 1000 ] && exit 7; sleep 0.01; done; echo a done"

[agents.b]
command = "touch %s/b.up; i=0; while [ ! -e %s/c.up ]; do i=$((i+1)); [ $i -gt 1000 ] && exit 8; sleep 0.01; done; echo b saw c"
depends_on = ["a"]

[agents.c]
command = "touch %s/c.up; i=0; while [ ! -e %s/b.up ]; do i=$((i+1)); [ $i -gt 1000 ] && exit 9; sleep 0.01; done; echo c saw b"
depends_on = ["a"]

[agents.d]
command = "echo d after b and c"
depends_on = ["b", "c"]
]]):format(d, d, d, d, d))
      local id, name = apply(path)
      assert.are.equal("diamond", name)
      -- apply returned at once: the pipeline and a are still running.
      local p = e2e.info(h, id)
      assert.are.equal("blueprint", p.type)
      assert.are.equal("running", p.status)
      local a = B.wait_named(h, "a")
      assert.are.equal("running", a.status)
      assert.is_nil(B.find(h, "b"), "b started before a stopped")
      e2e.write_file(d .. "/go", "")

      local r = e2e.om(h, { "wait", id }, { timeout = 30 })
      assert.are.equal(0, r.code, r.out .. r.err)
      assert.are.equal("Mission " .. id .. " finished: stopped (exit code 0)\n", r.out)

      local m = {}
      for _, n in ipairs({ "a", "b", "c", "d" }) do
        m[n] = mission_named(n)
        assert.are.equal("stopped", m[n].status, n)
        assert.are.equal(0, m[n].exit_code, n)
        assert.are.equal("task", m[n].type, n)
      end
      assert.is_truthy(e2e.log_text(h, m.b.id):find("b saw c", 1, true))
      assert.is_truthy(e2e.log_text(h, m.c.id):find("c saw b", 1, true))
      -- Parents: the pipeline for a root, else the first dependency.
      assert.are.equal(id, m.a.parent)
      assert.are.equal(m.a.id, m.b.parent)
      assert.are.equal(m.a.id, m.c.parent)
      assert.are.equal(m.b.id, m.d.parent)
      assert.are.same({ m.a.id }, e2e.info(h, id).children)

      -- The pipeline's log: each agent started and stopped, d last.
      local log = e2e.log_text(h, id)
      local lines = B.lines(log)
      local at = {}
      for _, n in ipairs({ "a", "b", "c", "d" }) do
        at["started " .. n] = B.index_of(lines, "started " .. n .. " (" .. m[n].id .. ")")
        at[n .. " stopped"] = B.index_of(lines, n .. " stopped")
        assert.is_truthy(at["started " .. n], "no start of " .. n .. " in " .. log)
        assert.is_truthy(at[n .. " stopped"], "no end of " .. n .. " in " .. log)
      end
      assert.is_true(at["started a"] < at["a stopped"])
      assert.is_true(at["a stopped"] < at["started b"])
      assert.is_true(at["a stopped"] < at["started c"])
      assert.is_true(at["started b"] < at["c stopped"] and at["started c"] < at["b stopped"],
        "b and c overlap: " .. log)
      assert.is_true(at["b stopped"] < at["started d"])
      assert.is_true(at["c stopped"] < at["started d"])
      assert.is_falsy(log:find("pipeline failed", 1, true))

      -- logs <pipeline> shows the same log.
      local lr = e2e.om(h, { "logs", name })
      assert.are.equal(0, lr.code, lr.err)
      assert.are.equal(log, lr.out)
    end)

    it("stops at a failing step: dependents never start, running ones finish", function()
      local d = h.home
      -- b fails at once; c is still running then, and finishes once the
      -- test lets it; d needs b, e needs d.
      local path = B.write(h, "fail.toml", ([[
[agents.a]
command = "echo a"

[agents.b]
command = "echo b failing; exit 3"
depends_on = ["a"]

[agents.c]
command = "i=0; while [ ! -e %s/release ]; do i=$((i+1)); [ $i -gt 1500 ] && exit 9; sleep 0.01; done; echo c done"
depends_on = ["a"]

[agents.d]
command = "echo d"
depends_on = ["b", "c"]

[agents.e]
command = "echo e"
depends_on = ["d"]
]]):format(d))
      local id = apply(path)
      local b = B.wait_named(h, "b")
      e2e.wait_status(h, b.id, "crashed")
      local c = B.wait_named(h, "c")
      e2e.wait_log(h, id, "b crashed")
      -- c runs on; the pipeline waits for it.
      assert.are.equal("running", e2e.info(h, c.id).status)
      assert.are.equal("running", e2e.info(h, id).status)
      e2e.write_file(d .. "/release", "")

      local r = e2e.om(h, { "wait", id }, { timeout = 30 })
      assert.are.equal(1, r.code, r.out .. r.err)
      assert.are.equal("Mission " .. id .. " finished: crashed (exit code 1)\n", r.out)
      local p = e2e.info(h, id)
      assert.are.equal("crashed", p.status)
      assert.are.equal(1, p.exit_code)
      local ci = e2e.info(h, c.id)
      assert.are.equal("stopped", ci.status, "c was cut short")
      assert.is_truthy(e2e.log_text(h, c.id):find("c done", 1, true))
      assert.are.equal(3, e2e.info(h, b.id).exit_code)
      assert.is_nil(B.find(h, "d"), "d started after b crashed")
      assert.is_nil(B.find(h, "e"), "e started after b crashed")

      local log = e2e.log_text(h, id)
      local lines = B.lines(log)
      assert.is_truthy(B.index_of(lines, "started b (" .. b.id .. ")"), log)
      assert.is_truthy(B.index_of(lines, "b crashed"), log)
      assert.is_truthy(B.index_of(lines, "c stopped"), log)
      assert.are.equal("pipeline failed at agent 'b'", lines[#lines], log)
      assert.is_falsy(log:find("started d", 1, true), log)
    end)

    it("passes env tables and run flags to its agents", function()
      local d = h.home
      local path = B.write(h, "flags.toml", ([[
[agents.envy]
command = "echo \"$GREETING $COUNT $FLAG\""
env = { GREETING = "hello", COUNT = 3, FLAG = true }
activity_timeout = 60
max_seconds = 30
stop_timeout = 5

[agents.flaky]
command = "if [ -e %s/tried ]; then echo second try; else touch %s/tried; exit 4; fi"
restart = "on-failure"
max_restarts = 3
backoff = 50

[agents.after_flaky]
command = "echo after flaky"
depends_on = ["flaky"]

[agents.where]
command = "pwd"
cwd = "%s"

[agents.slow]
command = "sleep 30"
timeout = 1

[agents.never]
command = "echo never"
depends_on = ["slow"]
]]):format(d, d, d .. "/sub"))
      assert(os.execute("mkdir " .. e2e.quote(d .. "/sub")))
      local id = apply(path)
      local r = e2e.om(h, { "wait", id }, { timeout = 30 })
      assert.are.equal(1, r.code, r.out .. r.err)

      local envy = mission_named("envy")
      assert.are.equal("stopped", envy.status)
      assert.is_truthy(e2e.log_text(h, envy.id):find("hello 3 true\n", 1, true),
        e2e.log_text(h, envy.id))
      assert.are.equal(60, envy.activity_timeout)
      assert.are.equal(30, envy.max_seconds)

      local flaky = mission_named("flaky")
      assert.are.equal("stopped", flaky.status)
      assert.are.equal("on_failure", flaky.restart_policy)
      assert.are.equal(3, flaky.max_restarts)
      assert.are.equal(50, flaky.backoff_ms)
      assert.are.equal(1, flaky.restart_count)
      assert.is_truthy(e2e.log_text(h, flaky.id):find("second try", 1, true))

      -- The pipeline waited through flaky's restart before starting what
      -- depends on it.
      local after = mission_named("after_flaky")
      assert.are.equal("stopped", after.status)
      assert.are.equal(flaky.id, after.parent)
      local plog = B.lines(e2e.log_text(h, id))
      assert.is_nil(B.index_of(plog, "flaky crashed"))
      assert.is_true(B.index_of(plog, "flaky stopped") <
        B.index_of(plog, "started after_flaky (" .. after.id .. ")"))

      local where = mission_named("where")
      assert.are.equal(d .. "/sub", where.cwd)
      assert.are.equal(d .. "/sub\n", e2e.log_text(h, where.id))

      local slow = mission_named("slow")
      assert.are.equal("crashed", slow.status, "timeout = 1 did not end it")
      assert.is_nil(B.find(h, "never"))
      local lines = B.lines(e2e.log_text(h, id))
      assert.are.equal("pipeline failed at agent 'slow'", lines[#lines])
    end)

    it("runs the shipped research blueprint with the claude double", function()
      e2e.ok(h, { "start" }, { env = {
        "OVERMIND_CLAUDE_BIN=" .. e2e.root .. "/tests/doubles/claude",
        "CLAUDE_DOUBLE_HOME=" .. h.home .. "/claude-double" } })
      local id, name = apply(e2e.root .. "/blueprints/research.toml")
      assert.are.equal("research", name)
      local r = e2e.om(h, { "wait", id }, { timeout = 60 })
      assert.are.equal(0, r.code, r.out .. r.err .. e2e.log_text(h, id))
      local m = {}
      for _, n in ipairs({ "history", "design", "writer", "review" }) do
        m[n] = mission_named(n)
        assert.are.equal("stopped", m[n].status, n)
        assert.are.equal("claude", m[n].provider, n)
      end
      assert.are.equal("haiku", m.history.model)
      assert.are.equal("on_failure", m.history.restart_policy)
      assert.are.equal(2, m.history.max_restarts)
      assert.are.equal(300, m.writer.activity_timeout)
      assert.are.equal(id, m.history.parent)
      assert.are.equal(id, m.design.parent)
      assert.are.equal(m.history.id, m.writer.parent)
      assert.are.equal(m.writer.id, m.review.parent)
      local res = e2e.json_decode(e2e.ok(h, { "result", m.review.id }))
      assert.are.equal("Answer: review the summary for accuracy", res.text)
      local lines = B.lines(e2e.log_text(h, id))
      local w = B.index_of(lines, "started writer (" .. m.writer.id .. ")")
      assert.is_true(B.index_of(lines, "history stopped") < w)
      assert.is_true(B.index_of(lines, "design stopped") < w)
    end)

    it("runs a Lua blueprint", function()
      local path = B.write(h, "chain.lua", [[
local agents = { first = { command = "echo one" } }
agents.second = { command = "echo two from $WHO", depends_on = { "first" },
                  env = { WHO = "lua" } }
return { agents = agents }
]])
      local id, name = apply(path)
      assert.are.equal("chain", name)
      local r = e2e.om(h, { "wait", id }, { timeout = 30 })
      assert.are.equal(0, r.code, r.out .. r.err)
      local first, second = mission_named("first"), mission_named("second")
      assert.are.equal(id, first.parent)
      assert.are.equal(first.id, second.parent)
      assert.is_truthy(e2e.log_text(h, second.id):find("two from lua", 1, true))
      local lines = B.lines(e2e.log_text(h, id))
      assert.is_true(B.index_of(lines, "first stopped") <
        B.index_of(lines, "started second (" .. second.id .. ")"))
    end)
  end)

  describe("a running pipeline", function()
    local function start_long()
      local path = B.write(h, "long.toml", [[
[agents.one]
command = "sleep 30"

[agents.two]
command = "sleep 30"

[agents.three]
command = "echo three"
depends_on = ["one"]
]])
      local id = apply(path)
      local one = B.wait_named(h, "one")
      local two = B.wait_named(h, "two")
      e2e.wait_status(h, one.id, "running")
      e2e.wait_status(h, two.id, "running")
      one = e2e.info(h, one.id)
      two = e2e.info(h, two.id)
      assert.is_truthy(one.os_pid)
      assert.is_truthy(two.os_pid)
      return id, one, two
    end

    it("stop stops its running agents and starts nothing more", function()
      local id, one, two = start_long()
      local r = e2e.om(h, { "stop", id }, { timeout = 30 })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("Stopped mission " .. id .. "\n", r.out)
      e2e.wait_status(h, id, "stopped")
      e2e.wait_status(h, one.id, "stopped")
      e2e.wait_status(h, two.id, "stopped")
      assert.is_false(e2e.alive(one.os_pid))
      assert.is_false(e2e.alive(two.os_pid))
      assert.is_nil(B.find(h, "three"), "three started after a stop")
    end)

    it("kill --cascade kills the pipeline and its agents", function()
      local id, one, two = start_long()
      local r = e2e.om(h, { "kill", id, "--cascade" })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("Killed mission " .. id .. " and all children\n", r.out)
      e2e.wait_for(function()
        local ids = B.ids(h)
        return not ids[id] and not ids[one.id] and not ids[two.id]
      end, 10, "the pipeline and its agents to leave ps")
      e2e.wait_for(function()
        return not e2e.alive(one.os_pid) and not e2e.alive(two.os_pid)
      end, 10, "the agents' processes to die")
      assert.is_nil(B.find(h, "three"))
    end)

    it("kill without --cascade removes the pipeline and leaves its agents", function()
      local id, one, two = start_long()
      local r = e2e.om(h, { "kill", id })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("Killed mission " .. id .. "\n", r.out)
      e2e.wait_for(function() return not B.ids(h)[id] end, 10, "the pipeline to leave ps")
      assert.are.equal("running", e2e.info(h, one.id).status)
      assert.are.equal("running", e2e.info(h, two.id).status)
      assert.is_true(e2e.alive(one.os_pid))
    end)

    it("wait blocks until the pipeline ends", function()
      local path = B.write(h, "waitme.toml", ([[
[agents.gate]
command = "i=0; while [ ! -e %s/open ]; do i=$((i+1)); [ $i -gt 1500 ] && exit 9; sleep 0.01; done"
]]):format(h.home))
      local id = apply(path)
      local r = e2e.om(h, { "wait", id, "--timeout", "300" })
      assert.are.equal(124, r.code, r.out .. r.err)
      assert.are.equal("Error: timeout\n", r.err)
      e2e.write_file(h.home .. "/open", "")
      r = e2e.om(h, { "wait", id }, { timeout = 30 })
      assert.are.equal(0, r.code, r.out .. r.err)
      assert.are.equal("Mission " .. id .. " finished: stopped (exit code 0)\n", r.out)
    end)
  end)
end)
