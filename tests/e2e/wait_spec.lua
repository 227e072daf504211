-- `overmind wait` (SPEC §5, as far as §3's commands use it): exact lines,
-- exit statuses, --timeout, --any, several ids.
local e2e = require("support.e2e")
local core = require("overmind.core")

describe("wait", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function() e2e.cleanup(h) end)

  -- Waits until a background `overmind wait` has connected and the daemon
  -- has had a turn to read its request.
  local function registered(b)
    e2e.wait_for(function()
      for _, fd in ipairs(core.listdir("/proc/" .. b.pid .. "/fd") or {}) do
        local ok, target = pcall(function()
          return e2e.sh("readlink /proc/" .. b.pid .. "/fd/" .. fd)
        end)
        if ok and target:match("^socket:") then return true end
      end
      return false
    end, 10, "wait to connect")
    assert.are.same({ '{"ok":"pong"}' }, e2e.raw_request(h, '{"cmd":"ping"}\n'))
  end

  it("returns at once for a finished mission", function()
    local id = e2e.run(h, { "true" })
    e2e.wait_status(h, id, "stopped")
    local r = e2e.om(h, { "wait", id })
    assert.are.equal(0, r.code)
    assert.are.equal("Mission " .. id .. " finished: stopped (exit code 0)\n", r.out)
  end)

  it("blocks until the mission ends and exits with its exit code", function()
    local gate = h.home .. "/gate"
    local id = e2e.run(h, { "while [ ! -e " .. gate .. " ]; do sleep 0.02; done; exit 3" })
    local b = e2e.spawn(h, { "wait", id })
    registered(b)
    assert.is_nil(e2e.bg_done(b))
    e2e.write_file(gate, "")
    assert.are.equal(3, e2e.bg_wait(b, 10, "wait to return"))
    assert.are.equal("Mission " .. id .. " finished: crashed (exit code 3)\n",
      e2e.bg_output(b))
  end)

  it("reports 128+N for a mission killed by signal N", function()
    local id = e2e.run(h, { "kill -9 $$" })
    local r = e2e.om(h, { "wait", id })
    assert.are.equal(137, r.code)
    assert.are.equal("Mission " .. id .. " finished: crashed (exit code 137)\n", r.out)
  end)

  it("keeps waiting through restarts", function()
    local id = e2e.run(h, { "--restart", "on-failure", "--max-restarts", "2",
      "--backoff", "50", "exit 5" })
    local r = e2e.om(h, { "wait", id }, { timeout = 20 })
    assert.are.equal(5, r.code, r.err)
    assert.are.equal("Mission " .. id .. " finished: crashed (exit code 5)\n", r.out)
    assert.are.equal(2, e2e.info(h, id).restart_count)
  end)

  it("fails with 'Error: timeout' and exit 124 after --timeout MS", function()
    local id = e2e.run(h, { "sleep 30" })
    local t0 = e2e.now()
    local r = e2e.om(h, { "wait", id, "--timeout", "300" })
    local took = e2e.now() - t0
    assert.are.equal(124, r.code)
    assert.are.equal("Error: timeout\n", r.err)
    assert.are.equal("", r.out)
    assert.is_truthy(took >= 0.25 and took < 5, "took " .. took)
    assert.are.equal("running", e2e.info(h, id).status)
  end)

  it("waits for all of several missions, exiting with the first non-zero code", function()
    local a = e2e.run(h, { "sleep 0.2; exit 0" })
    local b = e2e.run(h, { "exit 7" })
    local c = e2e.run(h, { "sleep 0.3; exit 8" })
    local r = e2e.om(h, { "wait", a, b, c })
    assert.are.equal(7, r.code)
    assert.are.equal(
      "Mission " .. a .. " finished: stopped (exit code 0)\n" ..
      "Mission " .. b .. " finished: crashed (exit code 7)\n" ..
      "Mission " .. c .. " finished: crashed (exit code 8)\n", r.out)
    for _, id in ipairs({ a, b, c }) do
      assert.is_false(e2e.info(h, id).status == "running")
    end
  end)

  it("returns with the first one to finish with --any", function()
    local gate = h.home .. "/gate"
    local slow = e2e.run(h, { "sleep 30" })
    local fast = e2e.run(h, { "while [ ! -e " .. gate .. " ]; do sleep 0.02; done; exit 2" })
    local b = e2e.spawn(h, { "wait", "--any", slow, fast })
    registered(b)
    e2e.write_file(gate, "")
    assert.are.equal(2, e2e.bg_wait(b, 10, "wait --any to return"))
    assert.are.equal("Mission " .. fast .. " finished: crashed (exit code 2)\n",
      e2e.bg_output(b))
    assert.are.equal("running", e2e.info(h, slow).status)
  end)

  it("prints 'killed (no exit code)' and exits 137 for a killed mission", function()
    local id = e2e.run(h, { "sleep 30" })
    local b = e2e.spawn(h, { "wait", id })
    registered(b)
    e2e.ok(h, { "kill", id })
    assert.are.equal(137, e2e.bg_wait(b, 10, "wait to return"))
    assert.are.equal("Mission " .. id .. " finished: killed (no exit code)\n",
      e2e.bg_output(b))
  end)

  it("prints '(no exit code)' for a mission lost with the daemon", function()
    local id = e2e.run(h, { "sleep 30" })
    local dpid = e2e.daemon_pid(h)
    core.kill(dpid, "KILL")
    e2e.wait_for(function() return not e2e.alive(dpid) end, 10, "daemon death")
    e2e.ok(h, { "start" })
    local r = e2e.om(h, { "wait", id })
    assert.are.equal(1, r.code)
    assert.are.equal("Mission " .. id .. " finished: crashed (no exit code)\n", r.out)
  end)

  it("fails with not_found for an unknown mission", function()
    local r = e2e.om(h, { "wait", "nosuch" })
    assert.are.equal(1, r.code)
    assert.are.equal("Error: not_found\n", r.err)
  end)
end)
