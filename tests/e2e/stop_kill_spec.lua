-- SPEC §2 process groups and §3 `stop`, `kill`, `rm`, `prune`.
local e2e = require("support.e2e")
local core = require("overmind.core")

describe("stop, kill, rm, prune", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function() e2e.cleanup(h) end)

  local function fails(args, reason)
    local r = e2e.om(h, args)
    assert.are.equal("Error: " .. reason .. "\n", r.err,
      "overmind " .. table.concat(args, " "))
    assert.are.equal(1, r.code)
    assert.are.equal("", r.out)
  end

  local function ids_in_ps()
    local out = {}
    for _, m in ipairs(e2e.ps_json(h)) do out[#out + 1] = m.id end
    return out
  end

  -- A mission whose shell starts two grandchildren and writes their pids
  -- (one of them in a subshell of its own) to files in the home.
  local function family(name, parent)
    local f1, f2 = h.home .. "/" .. name .. ".gc1", h.home .. "/" .. name .. ".gc2"
    local args = { "--name", name }
    if parent then
      args[#args + 1] = "--parent"
      args[#args + 1] = parent
    end
    args[#args + 1] = "sleep 300 & echo $! >" .. f1 .. ".t; mv " .. f1 .. ".t " ..
      f1 .. "; (sleep 300 & echo $! >" .. f2 .. ".t; mv " .. f2 .. ".t " .. f2 ..
      "; wait) & wait"
    local id = e2e.run(h, args)
    local pids = e2e.wait_for(function()
      local a = tonumber(e2e.read_all(f1):match("%d+"))
      local b = tonumber(e2e.read_all(f2):match("%d+"))
      return a and b and { a, b }
    end, 10, "grandchildren of " .. name)
    local pid = e2e.info(h, id).os_pid
    return id, pid, pids
  end

  local function all_dead(pids, what)
    e2e.wait_for(function()
      for _, p in ipairs(pids) do
        if e2e.alive(p) then return false end
      end
      return true
    end, 10, what)
  end

  describe("process groups", function()
    it("runs each mission in a process group of its own", function()
      local a = e2e.info(h, e2e.run(h, { "sleep 30" })).os_pid
      local b = e2e.info(h, e2e.run(h, { "sleep 30" })).os_pid
      local daemon_group = e2e.proc_stat(e2e.daemon_pid(h)).pgrp
      for _, pid in ipairs({ a, b }) do
        local st = e2e.proc_stat(pid)
        assert.are.equal(pid, st.pgrp)
        assert.are_not.equal(daemon_group, st.pgrp)
      end
    end)

    it("marks a mission killed from outside crashed with 128+N", function()
      local t = e2e.run(h, { "sleep 30" })
      local k = e2e.run(h, { "sleep 30" })
      core.kill(e2e.info(h, t).os_pid, "TERM")
      core.kill(e2e.info(h, k).os_pid, "KILL")
      local mt = e2e.wait_status(h, t, "crashed")
      local mk = e2e.wait_status(h, k, "crashed")
      assert.are.equal(143, mt.exit_code)
      assert.are.equal(137, mk.exit_code)
      assert.are.equal(0, mk.restart_count)
      assert.are.equal(e2e.null, mk.os_pid)
    end)
  end)

  describe("stop", function()
    it("prints exactly 'Stopped mission <id>' and ends the mission", function()
      local id = e2e.run(h, { "--name", "sleeper", "sleep 30" })
      local pid = e2e.info(h, id).os_pid
      local t0 = e2e.now()
      local r = e2e.om(h, { "stop", "sleeper" })
      assert.are.equal(0, r.code)
      assert.are.equal("Stopped mission " .. id .. "\n", r.out)
      assert.are.equal("", r.err)
      -- a process that obeys SIGTERM does not wait out the grace period
      assert.is_truthy(e2e.now() - t0 < 5)
      local m = e2e.info(h, id)
      assert.are.equal("stopped", m.status)
      assert.are.equal(e2e.null, m.os_pid)
      assert.are.equal(e2e.null, m.uptime)
      assert.is_false(e2e.alive(pid))
    end)

    it("kills the grandchildren too", function()
      local id, pid, gcs = family("tree")
      assert.is_true(e2e.alive(gcs[1]))
      assert.is_true(e2e.alive(gcs[2]))
      assert.are.equal("Stopped mission " .. id .. "\n", e2e.ok(h, { "stop", id }))
      all_dead({ pid, gcs[1], gcs[2] }, "the whole process group to end")
      assert.are.same({}, e2e.group_members(pid))
    end)

    it("sends SIGKILL after --stop-timeout to a mission that ignores SIGTERM", function()
      local id = e2e.run(h, { "--stop-timeout", "0.5",
        "trap '' TERM; echo ready; while :; do sleep 0.05; done" })
      e2e.wait_log(h, id, "ready\n")
      local pid = e2e.info(h, id).os_pid
      local t0 = e2e.now()
      local r = e2e.om(h, { "stop", id })
      local took = e2e.now() - t0
      assert.are.equal(0, r.code, r.err)
      assert.are.equal("Stopped mission " .. id .. "\n", r.out)
      assert.is_truthy(took >= 0.45, "stopped after " .. took .. "s, before the grace period")
      assert.is_truthy(took < 5, "stop took " .. took .. "s")
      assert.are.equal("stopped", e2e.info(h, id).status)
      e2e.wait_for(function() return #e2e.group_members(pid) == 0 end, 5,
        "the group to be gone")
    end)

    it("stops a mission whose --stop-timeout is huge", function()
      local r = e2e.om(h, { "run", "--json", "--stop-timeout", "1e308", "sleep 30" })
      if r.code ~= 0 then
        -- refusing the value is fine too, as long as it is not half done
        assert.is_nil(r.err:find("internal_error", 1, true), r.err)
        assert.are.same({}, ids_in_ps())
        return
      end
      local id = r.out:match('"id":"(%x+)"')
      assert.are.equal("Stopped mission " .. id .. "\n", e2e.ok(h, { "stop", id }))
      assert.are.equal("stopped", e2e.info(h, id).status)
    end)

    it("fails with not_running for a mission that is not live", function()
      local a = e2e.run(h, { "true" })
      local b = e2e.run(h, { "exit 4" })
      e2e.wait_status(h, a, "stopped")
      e2e.wait_status(h, b, "crashed")
      fails({ "stop", a }, "not_running")
      fails({ "stop", b }, "not_running")
      local c = e2e.run(h, { "sleep 30" })
      e2e.ok(h, { "stop", c })
      fails({ "stop", c }, "not_running")
      assert.are.equal("crashed", e2e.info(h, b).status)
    end)

    it("fails with not_found for an unknown mission", function()
      fails({ "stop", "nosuch" }, "not_found")
    end)

    it("cancels a pending restart", function()
      -- a backoff long enough for a slow (sanitized) client to stop it in
      local id = e2e.run(h, { "--restart", "always", "--backoff", "1000", "exit 1" })
      e2e.wait_status(h, id, "restarting")
      assert.are.equal("Stopped mission " .. id .. "\n", e2e.ok(h, { "stop", id }))
      local m = e2e.info(h, id)
      assert.are.equal("stopped", m.status)
      assert.are.equal(0, m.restart_count)
      -- it stays stopped past the backoff
      local deadline = e2e.now() + 1.2
      e2e.wait_for(function() return e2e.now() > deadline end, 5)
      m = e2e.info(h, id)
      assert.are.equal("stopped", m.status)
      assert.are.equal(0, m.restart_count)
    end)
  end)

  describe("kill", function()
    it("prints exactly 'Killed mission <id>' and removes the mission", function()
      local id, pid, gcs = family("victim")
      local other = e2e.run(h, { "sleep 30" })
      local r = e2e.om(h, { "kill", "victim" })
      assert.are.equal(0, r.code)
      assert.are.equal("Killed mission " .. id .. "\n", r.out)
      assert.are.same({ other }, ids_in_ps())
      fails({ "info", id }, "not_found")
      all_dead({ pid, gcs[1], gcs[2] }, "the killed group to end")
      assert.are.equal("running", e2e.info(h, other).status)
    end)

    it("leaves the children of a parent killed without --cascade", function()
      local p = e2e.run(h, { "sleep 30" })
      local c = e2e.run(h, { "--parent", p, "sleep 30" })
      local cpid = e2e.info(h, c).os_pid
      assert.are.equal("Killed mission " .. p .. "\n", e2e.ok(h, { "kill", p }))
      assert.are.same({ c }, ids_in_ps())
      assert.are.equal("running", e2e.info(h, c).status)
      assert.is_true(e2e.alive(cpid))
    end)

    it("kills the descendants too with --cascade", function()
      local p = e2e.run(h, { "--name", "top", "sleep 30" })
      local ppid = e2e.info(h, p).os_pid
      local c, cpid, gcs = family("child", p)
      local g = e2e.run(h, { "--name", "grandchild", "--parent", c, "sleep 30" })
      local g2 = e2e.run(h, { "--name", "grandchild2", "--parent", c, "true" })
      e2e.wait_status(h, g2, "stopped")
      local bystander = e2e.run(h, { "--name", "bystander", "sleep 30" })
      local pids = { ppid, cpid, gcs[1], gcs[2], e2e.info(h, g).os_pid }
      local r = e2e.om(h, { "kill", "top", "--cascade" })
      assert.are.equal(0, r.code)
      assert.are.equal("Killed mission " .. p .. " and all children\n", r.out)
      assert.are.same({ bystander }, ids_in_ps())
      all_dead(pids, "the cascade")
      assert.are.equal("running", e2e.info(h, bystander).status)
    end)

    it("removes a mission waiting to restart, for good", function()
      -- a backoff long enough for a slow (sanitized) client to stop it in
      local id = e2e.run(h, { "--restart", "always", "--backoff", "1000", "exit 1" })
      e2e.wait_status(h, id, "restarting")
      assert.are.equal("Killed mission " .. id .. "\n", e2e.ok(h, { "kill", id }))
      assert.are.same({}, ids_in_ps())
      local deadline = e2e.now() + 0.5
      e2e.wait_for(function() return e2e.now() > deadline end, 5)
      assert.are.same({}, ids_in_ps())
    end)

    it("kills every mission with --all", function()
      local pids = {}
      for i = 1, 3 do
        local id = e2e.run(h, { "sleep 30" })
        pids[i] = e2e.info(h, id).os_pid
      end
      local done = e2e.run(h, { "true" })
      e2e.wait_status(h, done, "stopped")
      local r = e2e.om(h, { "kill", "--all" })
      assert.are.equal(0, r.code)
      assert.are.equal("Killed all missions\n", r.out)
      assert.are.equal("[]\n", e2e.ok(h, { "ps", "--json" }))
      all_dead(pids, "every mission")
      -- and with nothing left
      assert.are.equal("Killed all missions\n", e2e.ok(h, { "kill", "--all" }))
    end)

    it("fails with not_found for an unknown mission", function()
      fails({ "kill", "nosuch" }, "not_found")
      fails({ "kill", "nosuch", "--cascade" }, "not_found")
    end)
  end)

  describe("rm", function()
    it("removes an exited mission and its files", function()
      local id = e2e.run(h, { "echo bye" })
      e2e.wait_status(h, id, "stopped")
      local dir = h.home .. "/missions/" .. id
      assert.is_not_nil(core.stat(dir))
      local r = e2e.om(h, { "rm", id })
      assert.are.equal(0, r.code)
      assert.are.equal("Removed mission " .. id .. "\n", r.out)
      assert.are.same({}, ids_in_ps())
      assert.is_nil(core.stat(dir))
      fails({ "logs", id }, "not_found")
      -- and it does not come back with the next daemon
      e2e.ok(h, { "shutdown" })
      assert.are.same({}, ids_in_ps())
    end)

    it("removes a crashed mission by name", function()
      local id = e2e.run(h, { "--name", "wreck", "exit 9" })
      e2e.wait_status(h, id, "crashed")
      assert.are.equal("Removed mission " .. id .. "\n", e2e.ok(h, { "rm", "wreck" }))
    end)

    it("refuses a live mission with still_running", function()
      local id = e2e.run(h, { "sleep 30" })
      fails({ "rm", id }, "still_running")
      assert.are.same({ id }, ids_in_ps())
      assert.are.equal("running", e2e.info(h, id).status)
    end)

    it("refuses a mission waiting to restart with still_running", function()
      local id = e2e.run(h, { "--restart", "always", "--backoff", "20000", "exit 1" })
      e2e.wait_status(h, id, "restarting")
      fails({ "rm", id }, "still_running")
      assert.are.equal("Pruned 0 missions\n", e2e.ok(h, { "prune" }))
      assert.are.same({ id }, ids_in_ps())
    end)

    it("fails with not_found for an unknown mission", function()
      fails({ "rm", "nosuch" }, "not_found")
    end)
  end)

  describe("prune", function()
    it("removes every exited mission and keeps the live ones", function()
      local a = e2e.run(h, { "true" })
      local live = e2e.run(h, { "sleep 30" })
      local b = e2e.run(h, { "exit 3" })
      local c = e2e.run(h, { "sleep 30" })
      e2e.wait_status(h, a, "stopped")
      e2e.wait_status(h, b, "crashed")
      e2e.ok(h, { "stop", c })
      local r = e2e.om(h, { "prune" })
      assert.are.equal(0, r.code)
      assert.are.equal("Removed mission " .. a .. "\nRemoved mission " .. b ..
        "\nRemoved mission " .. c .. "\nPruned 3 missions\n", r.out)
      assert.are.same({ live }, ids_in_ps())
      for _, id in ipairs({ a, b, c }) do
        assert.is_nil(core.stat(h.home .. "/missions/" .. id))
      end
      assert.is_not_nil(core.stat(h.home .. "/missions/" .. live))
    end)

    it("prints 'Pruned 0 missions' when there is nothing to prune", function()
      e2e.run(h, { "sleep 30" })
      assert.are.equal("Pruned 0 missions\n", e2e.ok(h, { "prune" }))
    end)
  end)
end)
