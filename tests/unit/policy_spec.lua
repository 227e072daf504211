-- Restart policy (SPEC §4) as pure functions: no clock, the caller passes
-- `now` in seconds.
local policy = require("overmind.daemon.policy")

describe("policy.normalize", function()
  it("accepts the three policies and both spellings of on-failure", function()
    assert.are.equal("never", policy.normalize("never"))
    assert.are.equal("always", policy.normalize("always"))
    assert.are.equal("on_failure", policy.normalize("on-failure"))
    assert.are.equal("on_failure", policy.normalize("on_failure"))
  end)

  it("rejects anything else", function()
    assert.is_nil(policy.normalize("sometimes"))
    assert.is_nil(policy.normalize("On-Failure"))
    assert.is_nil(policy.normalize(""))
    assert.is_nil(policy.normalize(nil))
  end)
end)

describe("policy.wants_restart", function()
  local cases = {
    -- policy, outcome, expected
    { "never", "clean", false }, { "never", "crash", false },
    { "never", "stopped", false },
    { "on_failure", "clean", false }, { "on_failure", "crash", true },
    { "on_failure", "stopped", false },
    { "always", "clean", true }, { "always", "crash", true },
    { "always", "stopped", false },
  }
  for _, c in ipairs(cases) do
    it(("%s after %s -> %s"):format(c[1], c[2], tostring(c[3])), function()
      assert.are.equal(c[3], policy.wants_restart(c[1], c[2]))
    end)
  end
end)

describe("policy.backoff", function()
  it("doubles from backoff_ms and caps at 60000", function()
    local got = {}
    for n = 0, 9 do got[#got + 1] = policy.backoff(1000, n) end
    assert.are.same({ 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000,
                      60000, 60000 }, got)
  end)

  it("returns integers", function()
    for n = 0, 8 do
      assert.are.equal("integer", math.type(policy.backoff(1000, n)))
    end
  end)

  it("scales with backoff_ms and still caps", function()
    assert.are.equal(250, policy.backoff(250, 0))
    assert.are.equal(500, policy.backoff(250, 1))
    assert.are.equal(60000, policy.backoff(45000, 1))
    assert.are.equal(60000, policy.backoff(1000, 100))
  end)

  it("exposes the cap", function()
    assert.are.equal(60000, policy.MAX_BACKOFF_MS)
  end)
end)

describe("policy.decide", function()
  local function cfg(t)
    t = t or {}
    return {
      restart_policy = t.restart_policy or "on_failure",
      max_restarts = t.max_restarts == nil and 5 or t.max_restarts,
      max_seconds = t.max_seconds or 60,
      backoff_ms = t.backoff_ms or 1000,
    }
  end

  it("ends a clean run as stopped and a crash as crashed under never", function()
    local c = cfg({ restart_policy = "never" })
    assert.are.same({ final = "stopped" }, policy.decide(c, {}, "clean", 0))
    assert.are.same({ final = "crashed" }, policy.decide(c, {}, "crash", 0))
  end)

  it("never restarts a run ended by stop, whatever the policy", function()
    for _, p in ipairs({ "never", "on_failure", "always" }) do
      local d = policy.decide(cfg({ restart_policy = p }), {}, "stopped", 0)
      assert.are.same({ final = "stopped" }, d)
    end
  end)

  it("restarts after a clean exit only under always", function()
    local d = policy.decide(cfg({ restart_policy = "on_failure" }), {},
      "clean", 0)
    assert.are.same({ final = "stopped" }, d)
    d = policy.decide(cfg({ restart_policy = "always" }), {}, "clean", 0)
    assert.is_true(d.restart)
    assert.are.equal(1000, d.delay_ms)
  end)

  it("backs off 1000, 2000, 4000, ... for consecutive crashes", function()
    local c, h, now = cfg({ max_restarts = 0 }), { run_started = 0 }, 0
    local delays = {}
    for _ = 1, 8 do
      now = now + 1 -- each run crashes after a second
      local d = policy.decide(c, h, "crash", now)
      assert.is_true(d.restart)
      delays[#delays + 1] = d.delay_ms
      now = now + d.delay_ms / 1000
      h.run_started = now
    end
    assert.are.same({ 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000 },
      delays)
  end)

  it("starts the backoff over after a run that lasted max_seconds", function()
    local c = cfg({ max_restarts = 0, max_seconds = 60 })
    local h = { backoff_n = 4, run_started = 1000 }
    local d = policy.decide(c, h, "crash", 1060)
    assert.are.equal(1000, d.delay_ms)
    assert.are.equal(1, h.backoff_n)
  end)

  it("keeps backing off after a run shorter than max_seconds", function()
    local c = cfg({ max_restarts = 0, max_seconds = 60 })
    local h = { backoff_n = 4, run_started = 1000 }
    local d = policy.decide(c, h, "crash", 1059.5)
    assert.are.equal(16000, d.delay_ms)
    assert.are.equal(5, h.backoff_n)
  end)

  it("allows max_restarts restarts in the window, then is final", function()
    local c = cfg({ max_restarts = 3, max_seconds = 60 })
    local h, now = {}, 100
    for i = 1, 3 do
      h.run_started = now
      now = now + 1
      local d = policy.decide(c, h, "crash", now)
      assert.is_true(d.restart, "restart " .. i)
      now = now + d.delay_ms / 1000
    end
    h.run_started = now
    now = now + 1
    local d = policy.decide(c, h, "crash", now)
    assert.is_nil(d.restart)
    assert.are.equal("crashed", d.final)
    assert.is_true(d.exhausted)
  end)

  it("an exhausted always policy after a clean exit ends stopped", function()
    local c = cfg({ restart_policy = "always", max_restarts = 1 })
    local h = {}
    assert.is_true(policy.decide(c, h, "clean", 0).restart)
    local d = policy.decide(c, h, "clean", 2)
    assert.are.equal("stopped", d.final)
    assert.is_true(d.exhausted)
  end)

  it("slides the window: old restarts stop counting", function()
    local c = cfg({ max_restarts = 2, max_seconds = 10 })
    local h = {}
    -- restarts at t=1 (after 1 s backoff) and t=4 (after 2 s)
    h.run_started = 0
    assert.is_true(policy.decide(c, h, "crash", 0).restart)
    h.run_started = 1
    assert.is_true(policy.decide(c, h, "crash", 2).restart)
    h.run_started = 4
    -- at t=5 both restarts are within the last 10 s
    assert.is_true(policy.decide(c, h, "crash", 5).exhausted)
    -- at t=11.5 the restart at t=1 has left the window
    h.run_started = 11
    local d = policy.decide(c, h, "crash", 11.5)
    assert.is_true(d.restart)
  end)

  it("treats max_restarts 0 as unlimited", function()
    local c = cfg({ max_restarts = 0, max_seconds = 3600 })
    local h, now = {}, 0
    for i = 1, 200 do
      h.run_started = now
      local d = policy.decide(c, h, "crash", now)
      assert.is_true(d.restart, "restart " .. i)
      now = now + d.delay_ms / 1000
    end
  end)

  it("defaults to 5 restarts in 60 s with a 1000 ms backoff", function()
    local c = { restart_policy = "on_failure" }
    local h, now, granted = {}, 0, 0
    for _ = 1, 10 do
      h.run_started = now
      local d = policy.decide(c, h, "crash", now)
      if not d.restart then
        assert.is_true(d.exhausted)
        break
      end
      if granted == 0 then assert.are.equal(1000, d.delay_ms) end
      granted = granted + 1
      now = now + d.delay_ms / 1000
    end
    assert.are.equal(5, granted)
  end)
end)
