-- SPEC §2 and §3 `run`: flags, output, names, validation, the child's
-- environment and how commands find a mission (id, name, prefix).
local e2e = require("support.e2e")

local null = e2e.null

describe("run", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function() e2e.cleanup(h) end)

  local function fails(args, reason, opts)
    local r = e2e.om(h, args, opts)
    assert.are.equal("Error: " .. reason .. "\n", r.err,
      "overmind " .. table.concat(args, " "))
    assert.are.equal(1, r.code)
    assert.are.equal("", r.out)
  end

  describe("output", function()
    it("prints exactly 'Started mission <id> (<name>)'", function()
      local r = e2e.om(h, { "run", "--name", "greeter", "echo", "hi" })
      assert.are.equal(0, r.code)
      assert.are.equal("", r.err)
      local id = r.out:match("^Started mission (%x+) %(greeter%)\n$")
      assert.is_not_nil(id, "unexpected output: " .. r.out)
      assert.are.equal(8, #id)
      assert.are.equal(id:lower(), id)
      assert.are.equal("greeter", e2e.info(h, id).name)
    end)

    it("prints exactly {\"id\":\"<id>\",\"name\":\"<name>\"} with --json", function()
      for i = 1, 8 do
        local out = e2e.ok(h, { "run", "--json", "--name", "j" .. i, "true" })
        local id = out:match('^{"id":"(%x%x%x%x%x%x%x%x)","name":"j' .. i .. '"}\n$')
        assert.is_not_nil(id, "unexpected --json output: " .. out)
        assert.are.equal(id:lower(), id)
      end
    end)

    it("gives every mission a distinct 8-hex id", function()
      local seen = {}
      for _ = 1, 6 do
        local id = e2e.run(h, { "true" })
        assert.is_truthy(id:match("^[0-9a-f]+$"))
        assert.are.equal(8, #id)
        assert.is_nil(seen[id])
        seen[id] = true
      end
    end)

    it("generates adjective-noun names", function()
      for _ = 1, 5 do
        local out = e2e.ok(h, { "run", "true" })
        local id, name = out:match("^Started mission (%x+) %(([^)]+)%)\n$")
        assert.is_truthy(name and name:match("^[a-z]+%-[a-z]+$"),
          "generated name: " .. tostring(name))
        assert.are.equal(name, e2e.info(h, id).name)
      end
    end)

    it("joins the words after the flags with spaces and runs them with sh -c", function()
      local id = e2e.run(h, { "echo", "a  b", "$((1+2))", "|", "tr", "a", "A" })
      e2e.wait_status(h, id, "stopped")
      assert.are.equal("echo a  b $((1+2)) | tr a A", e2e.info(h, id).command)
      assert.are.equal("A b 3\n", e2e.ok(h, { "logs", id }))
    end)

    it("treats words after the command as the command's, not flags", function()
      local id = e2e.run(h, { "echo", "--name", "x" })
      e2e.wait_status(h, id, "stopped")
      assert.are.equal("--name x\n", e2e.ok(h, { "logs", id }))
      assert.are_not.equal("x", e2e.info(h, id).name)
    end)
  end)

  describe("flags", function()
    it("accepts every flag and shows it in info", function()
      local parent = e2e.run(h, { "--name", "boss", "sleep 30" })
      local id = e2e.run(h, {
        "--name", "worker", "--cwd", "/tmp", "--type", "task",
        "--provider", "raw", "--model", "some-model", "--parent", "boss",
        "--restart", "on-failure", "--max-restarts", "3",
        "--max-seconds", "30", "--backoff", "250",
        "--activity-timeout", "20", "--timeout", "40", "--stop-timeout", "2",
        "--env", "OM_A=1", "--env", "OM_B=two", "--log-max", "1M",
        "echo $OM_A $OM_B; pwd; sleep 30",
      })
      local m = e2e.info(h, id)
      assert.are.equal("worker", m.name)
      assert.are.equal("/tmp", m.cwd)
      assert.are.equal("task", m.type)
      assert.are.equal("raw", m.provider)
      assert.are.equal("some-model", m.model)
      assert.are.equal(parent, m.parent)
      assert.are.equal("on_failure", m.restart_policy)
      assert.are.equal(3, m.max_restarts)
      assert.are.equal(30, m.max_seconds)
      assert.are.equal(250, m.backoff_ms)
      assert.are.equal(20, m.activity_timeout)
      assert.are.equal(40, m.timeout)
      assert.are.equal(2, m.stop_timeout)
      assert.are.equal(1024 * 1024, m.log_max)
      assert.are.equal("running", m.status)
      assert.are.equal("echo $OM_A $OM_B; pwd; sleep 30", m.command)
      assert.are.same({ id }, e2e.info(h, parent).children)
      assert.are.equal("1 two\n/tmp\n", e2e.wait_log(h, id, "/tmp\n"))
    end)

    it("has the SPEC's defaults", function()
      local id = e2e.run(h, { "sleep 30" })
      local m = e2e.info(h, id)
      assert.are.equal("task", m.type)
      assert.are.equal("raw", m.provider)
      assert.are.equal("never", m.restart_policy)
      assert.are.equal(0, m.restart_count)
      assert.are.equal(5, m.max_restarts)
      assert.are.equal(60, m.max_seconds)
      assert.are.equal(1000, m.backoff_ms)
      assert.are.equal(null, m.parent)
      assert.are.same({}, m.children)
      assert.are.equal(null, m.model)
      assert.are.equal(null, m.session_id)
      assert.are.equal(null, m.exit_code)
      assert.are.equal(null, m.ended_at)
      assert.is_truthy(tostring(m.started_at):match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$"))
      assert.are.equal("number", type(m.os_pid))
      assert.are.equal("number", type(m.uptime))
      for _, k in ipairs({ "id", "name", "type", "provider", "status", "command",
          "cwd", "os_pid", "exit_code", "restart_policy", "restart_count",
          "max_restarts", "max_seconds", "backoff_ms", "activity_timeout",
          "parent", "children", "session_id", "model", "started_at",
          "ended_at", "uptime" }) do
        assert.is_not_nil(m[k], "info lacks " .. k)
      end
    end)

    it("accepts each restart policy spelling", function()
      for _, p in ipairs({ { "never", "never" }, { "on-failure", "on_failure" },
                           { "on_failure", "on_failure" }, { "always", "always" } }) do
        local id = e2e.run(h, { "--restart", p[1], "sleep 30" })
        assert.are.equal(p[2], e2e.info(h, id).restart_policy)
      end
    end)

    it("accepts flags written --flag=value", function()
      local id = e2e.run(h, { "--name=eq", "--backoff=300", "--env=OM_EQ=yes",
        "echo $OM_EQ" })
      e2e.wait_status(h, id, "stopped")
      local m = e2e.info(h, id)
      assert.are.equal("eq", m.name)
      assert.are.equal(300, m.backoff_ms)
      assert.are.equal("yes\n", e2e.ok(h, { "logs", id }))
    end)

    it("kills a mission after --timeout seconds and marks it crashed", function()
      local t0 = e2e.now()
      local id = e2e.run(h, { "--timeout", "0.5", "sleep 30" })
      local pid = e2e.info(h, id).os_pid
      local m = e2e.wait_status(h, id, "crashed")
      local took = e2e.now() - t0
      assert.is_truthy(took >= 0.5 and took < 5, "ended after " .. took .. "s")
      assert.is_false(e2e.alive(pid))
      assert.are.equal(137, m.exit_code)
    end)

    it("runs a session with a stdin pipe and a task with /dev/null", function()
      local s = e2e.run(h, { "--type", "session", "cat" })
      local t = e2e.run(h, { "cat; echo task-done" })
      assert.are.equal("session", e2e.info(h, s).type)
      e2e.wait_status(h, t, "stopped")
      assert.are.equal("task-done\n", e2e.ok(h, { "logs", t }))
      -- cat on a pipe nobody closed keeps running
      assert.are.equal("running", e2e.info(h, s).status)
    end)

    it("runs a --pty mission in a terminal", function()
      local id = e2e.run(h, { "--pty", "test -t 1 && echo tty || echo notty" })
      e2e.wait_status(h, id, "stopped")
      assert.is_truthy(e2e.ok(h, { "logs", id }):find("^tty"))
      local plain = e2e.run(h, { "test -t 1 && echo tty || echo notty" })
      e2e.wait_status(h, plain, "stopped")
      assert.are.equal("notty\n", e2e.ok(h, { "logs", plain }))
    end)
  end)

  describe("claude run", function()
    it("is run --provider claude", function()
      -- the client's environment chooses the executable (SPEC §9)
      local bin = { env = { "OVERMIND_CLAUDE_BIN=/bin/true" } }
      e2e.ok(h, { "start" })
      local out = e2e.ok(h, { "claude", "run", "--json", "--name", "asker",
        "--model", "haiku", "list", "3 facts" }, bin)
      local id = out:match('^{.*"id":"(%x+)".*}\n$')
      assert.is_not_nil(id, out)
      local m = e2e.info(h, id)
      assert.are.equal("claude", m.provider)
      assert.are.equal("list 3 facts", m.command)
      assert.are.equal("asker", m.name)
      assert.are.equal("haiku", m.model)
      assert.are.equal("task", m.type)
      local r = e2e.om(h, { "claude", "run", "--name", "plain", "hi" }, bin)
      assert.are.equal(0, r.code, r.err)
      assert.is_truthy(r.out:match("^Started mission %x+ %(plain%)\n$"), r.out)
    end)

    it("needs a prompt", function()
      fails({ "claude", "run" }, "empty_command")
    end)
  end)

  describe("validation", function()
    it("fails on an empty command with empty_command", function()
      fails({ "run" }, "empty_command")
      fails({ "run", "--name", "x" }, "empty_command")
      fails({ "run", "   " }, "empty_command")
      assert.are.same({}, e2e.ps_json(h))
    end)

    it("fails on an unknown type with invalid_type", function()
      fails({ "run", "--type", "daemon", "true" }, "invalid_type")
      fails({ "run", "--type", "TASK", "true" }, "invalid_type")
      assert.are.same({}, e2e.ps_json(h))
    end)

    it("fails on an unknown restart policy with invalid_restart_policy", function()
      fails({ "run", "--restart", "sometimes", "true" }, "invalid_restart_policy")
      fails({ "run", "--restart", "", "true" }, "invalid_restart_policy")
      assert.are.same({}, e2e.ps_json(h))
    end)

    it("fails on an unknown parent with parent_not_found", function()
      fails({ "run", "--parent", "nosuch", "true" }, "parent_not_found")
      fails({ "run", "--parent", "deadbeef", "true" }, "parent_not_found")
      assert.are.same({}, e2e.ps_json(h))
    end)

    it("fails on a missing --cwd with cwd_not_found", function()
      fails({ "run", "--cwd", "/nonexistent/dir", "true" }, "cwd_not_found")
      fails({ "run", "--cwd", "/etc/passwd", "true" }, "cwd_not_found")
      assert.are.same({}, e2e.ps_json(h))
    end)

    it("fails on name_taken only while the holder is live", function()
      local first = e2e.run(h, { "--name", "solo", "sleep 30" })
      fails({ "run", "--name", "solo", "true" }, "name_taken")
      assert.are.equal(1, #e2e.ps_json(h))
      assert.are.equal("Stopped mission " .. first .. "\n",
        e2e.ok(h, { "stop", "solo" }))
      local second = e2e.run(h, { "--name", "solo", "true" })
      assert.are_not.equal(first, second)
      e2e.wait_status(h, second, "stopped")
      -- a crashed holder does not hold the name either
      local third = e2e.run(h, { "--name", "solo", "exit 1" })
      e2e.wait_status(h, third, "crashed")
      e2e.run(h, { "--name", "solo", "true" })
    end)

    it("fails on name_taken while the holder is restarting", function()
      local id = e2e.run(h, { "--name", "phoenix", "--restart", "always",
        "--backoff", "20000", "exit 1" })
      e2e.wait_status(h, id, "restarting")
      fails({ "run", "--name", "phoenix", "true" }, "name_taken")
    end)

    it("never fails a run it performed, even for a huge --timeout", function()
      for _, flag in ipairs({ "--timeout", "--activity-timeout" }) do
        local r = e2e.om(h, { "run", "--name", "huge", flag, "1e308", "sleep 30" })
        assert.is_nil(r.err:find("internal_error", 1, true),
          "run " .. flag .. " 1e308: " .. r.err)
        if r.code == 0 then
          assert.are.equal("running", e2e.info(h, "huge").status)
          e2e.ok(h, { "kill", "huge" })
        else
          assert.are.same({}, e2e.ps_json(h),
            "run " .. flag .. " 1e308 failed (" .. r.err .. ") but created a mission")
        end
      end
    end)

    it("rejects bad numbers for numeric flags", function()
      for _, flag in ipairs({ "--max-restarts", "--backoff", "--timeout",
                              "--stop-timeout", "--max-seconds" }) do
        local r = e2e.om(h, { "run", flag, "abc", "true" })
        assert.are.equal(1, r.code, flag)
        assert.is_truthy(r.err:match("^Error: "), flag .. ": " .. r.err)
      end
      assert.are.same({}, e2e.ps_json(h))
    end)
  end)

  describe("working directory", function()
    it("defaults to the caller's directory", function()
      local out = e2e.ok(h, { "run", "--json", "pwd" }, { cwd = "/usr/share" })
      local id = out:match('"id":"(%x+)"')
      e2e.wait_status(h, id, "stopped")
      assert.are.equal("/usr/share", e2e.info(h, id).cwd)
      assert.are.equal("/usr/share\n", e2e.ok(h, { "logs", id }))
    end)

    it("resolves a relative --cwd against the caller's directory", function()
      local out = e2e.ok(h, { "run", "--json", "--cwd", "share", "pwd" },
        { cwd = "/usr" })
      local id = out:match('"id":"(%x+)"')
      e2e.wait_status(h, id, "stopped")
      assert.are.equal("/usr/share\n", e2e.ok(h, { "logs", id }))
    end)
  end)

  describe("environment", function()
    -- SPEC §9 (M3.6): the client's environment, not the daemon's.
    it("is the client's plus the mission's identity and --env, without CLAUDECODE", function()
      e2e.ok(h, { "start" }, { env = { "OM_FROM_DAEMON=not-passed" } })
      local out = e2e.ok(h, { "run", "--json", "--name", "envy",
        "--env", "OM_X=1", "--env", "OM_Y=a=b c", "env" },
        { env = { "OM_FROM_CLI=passed", "CLAUDECODE=1",
                  "CLAUDE_CODE_ENTRYPOINT=cli" } })
      local id = out:match('"id":"(%x+)"')
      e2e.wait_status(h, id, "stopped")
      local env = {}
      for line in e2e.ok(h, { "logs", id }):gmatch("[^\n]+") do
        local k, v = line:match("^([%w_]+)=(.*)$")
        if k then env[k] = v end
      end
      assert.are.equal(id, env.OVERMIND_MISSION_ID)
      assert.are.equal("envy", env.OVERMIND_MISSION_NAME)
      assert.are.equal(h.home, env.OVERMIND_HOME)
      assert.are.equal("1", env.OM_X)
      assert.are.equal("a=b c", env.OM_Y)
      assert.are.equal("passed", env.OM_FROM_CLI)
      assert.is_nil(env.OM_FROM_DAEMON)
      assert.is_nil(env.CLAUDECODE)
      assert.is_nil(env.CLAUDE_CODE_ENTRYPOINT)
    end)

    it("lets --env override the client's variables", function()
      e2e.ok(h, { "start" })
      local id = e2e.run(h, { "--env", "OM_OVER=mission", "echo $OM_OVER" },
        { env = { "OM_OVER=client" } })
      e2e.wait_status(h, id, "stopped")
      assert.are.equal("mission\n", e2e.ok(h, { "logs", id }))
    end)

    it("makes a mission that runs `overmind run` the parent by default", function()
      local cmd = e2e.quote(e2e.bin) .. " run --name kid sleep 30; " ..
        e2e.quote(e2e.bin) .. " run --name adopted --parent none-such true; sleep 30"
      local parent = e2e.run(h, { "--name", "mother", cmd })
      local kid = e2e.wait_for(function()
        return e2e.request(h, "info", { id = "kid" })
      end, 10, "the nested mission")
      assert.are.equal(parent, kid.parent)
      assert.are.same({ kid.id }, e2e.info(h, parent).children)
      local log = e2e.wait_log(h, parent, "Error: parent_not_found")
      assert.is_truthy(log:find("Started mission " .. kid.id .. " (kid)\n", 1, true))
    end)

    it("takes the default parent from OVERMIND_MISSION_ID, --parent wins", function()
      local p = e2e.run(h, { "sleep 30" })
      local q = e2e.run(h, { "sleep 30" })
      local out = e2e.ok(h, { "run", "--json", "true" },
        { env = { "OVERMIND_MISSION_ID=" .. p } })
      local c1 = out:match('"id":"(%x+)"')
      assert.are.equal(p, e2e.info(h, c1).parent)
      out = e2e.ok(h, { "run", "--json", "--parent", q, "true" },
        { env = { "OVERMIND_MISSION_ID=" .. p } })
      local c2 = out:match('"id":"(%x+)"')
      assert.are.equal(q, e2e.info(h, c2).parent)
    end)
  end)

  describe("finding a mission", function()
    it("accepts the id, the name or a unique id prefix", function()
      local id = e2e.run(h, { "--name", "findme", "sleep 30" })
      local others = {}
      for i = 1, 4 do others[i] = e2e.run(h, { "true" }) end
      -- the shortest prefix no other mission shares
      local prefix
      for n = 1, 8 do
        local p = id:sub(1, n)
        local unique = true
        for _, o in ipairs(others) do
          if o:sub(1, n) == p then unique = false end
        end
        if unique then prefix = p break end
      end
      for _, ref in ipairs({ id, "findme", prefix }) do
        assert.are.equal(id, e2e.info(h, ref).id, "ref " .. ref)
      end
      assert.are.equal("Stopped mission " .. id .. "\n",
        e2e.ok(h, { "stop", prefix }))
    end)

    it("says not_found for an unknown reference", function()
      e2e.run(h, { "true" })
      fails({ "info", "nosuchname" }, "not_found")
      fails({ "stop", "nosuchname" }, "not_found")
      fails({ "logs", "nosuchname" }, "not_found")
    end)

    it("says ambiguous_id for a prefix several ids share", function()
      local by_first = {}
      local shared
      for _ = 1, 17 do
        local id = e2e.run(h, { "true" })
        local c = id:sub(1, 1)
        if by_first[c] then shared = c break end
        by_first[c] = id
      end
      assert.is_not_nil(shared)
      fails({ "info", shared }, "ambiguous_id")
    end)

    it("resolves a name held by several missions to the newest", function()
      local old = e2e.run(h, { "--name", "twin", "echo old" })
      e2e.wait_status(h, old, "stopped")
      local new = e2e.run(h, { "--name", "twin", "echo new" })
      e2e.wait_status(h, new, "stopped")
      assert.are.equal(new, e2e.info(h, "twin").id)
      assert.are.equal("new\n", e2e.ok(h, { "logs", "twin" }))
      -- and still after the daemon restarts
      e2e.ok(h, { "shutdown" })
      assert.are.equal(new, e2e.info(h, "twin").id)
    end)
  end)
end)
