local core = require("overmind.core")
local H = require("core.helper")

describe("core.timer", function()
  after_each(function()
    assert.is_true(H.settle(), "a handle was left open")
  end)

  it("fires a one-shot timer once; core.run returns when idle", function()
    local n = 0
    local t = core.timer()
    t:start(10, 0, function() n = n + 1 end)
    assert.is_true(t:active())
    core.run()
    assert.are.equal(1, n)
    assert.is_false(t:active())
    -- an open, stopped timer does not keep the loop alive
    assert.is_false(core.loop_alive())
    t:close()
    assert.is_true(H.settle())
  end)

  it("fires no earlier than its timeout", function()
    core.run("nowait") -- refresh the loop's clock
    local t0, fired_at = core.now(), nil
    local t = core.timer()
    t:start(50, 0, function() fired_at = core.now() end)
    core.run()
    t:close()
    assert.is_truthy(fired_at)
    assert.is_true(fired_at - t0 >= 49, "fired after " .. (fired_at - t0))
  end)

  it("repeats until stopped", function()
    local n = 0
    local t = core.timer()
    t:start(1, 2, function()
      n = n + 1
      if n == 5 then t:stop() end
    end)
    core.run()
    assert.are.equal(5, n)
    assert.is_false(t:active())
    t:close()
  end)

  it("fires in order of due time", function()
    local order = {}
    local ts = {}
    for _, ms in ipairs({ 30, 10, 20 }) do
      local t = core.timer()
      t:start(ms, 0, function() order[#order + 1] = ms end)
      ts[#ts + 1] = t
    end
    core.run()
    for _, t in ipairs(ts) do t:close() end
    assert.are.same({ 10, 20, 30 }, order)
  end)

  it("stop before firing: never fires", function()
    local n = 0
    local t = core.timer()
    t:start(5, 0, function() n = n + 1 end)
    t:stop()
    t:stop() -- twice is fine
    assert.is_false(t:active())
    core.run()
    assert.are.equal(0, n)
    t:close()
  end)

  it("start again replaces the timeout and the callback", function()
    local got = {}
    local t = core.timer()
    t:start(10000, 0, function() got[#got + 1] = "first" end)
    t:start(1, 0, function() got[#got + 1] = "second" end)
    core.run()
    t:close()
    assert.are.same({ "second" }, got)
  end)

  it("can be restarted from its own callback", function()
    local n = 0
    local t = core.timer()
    local function cb()
      n = n + 1
      if n < 3 then t:start(1, 0, cb) end
    end
    t:start(1, 0, cb)
    core.run()
    t:close()
    assert.are.equal(3, n)
  end)

  it("close is idempotent and a closed timer refuses to start", function()
    local t = core.timer()
    t:close()
    t:close()
    t:stop() -- harmless on a closed timer
    assert.is_false(t:active())
    assert.has_error(function() t:start(1, 0, function() end) end)
    assert.is_truthy(tostring(t):find("closed", 1, true))
  end)

  it("close cancels a pending timer", function()
    local n = 0
    local t = core.timer()
    t:start(1, 0, function() n = n + 1 end)
    t:close()
    core.run()
    assert.are.equal(0, n)
  end)

  it("close from inside its own callback", function()
    local n = 0
    local t = core.timer()
    t:start(1, 1, function()
      n = n + 1
      t:close()
    end)
    core.run()
    assert.are.equal(1, n)
  end)

  it("an open timer survives garbage collection", function()
    local n = 0
    local weak = setmetatable({}, { __mode = "v" })
    do
      local t = core.timer()
      t:start(5, 0, function() n = n + 1 end)
      weak[1] = t
    end
    collectgarbage("collect")
    collectgarbage("collect")
    assert.is_truthy(weak[1], "an open timer was collected")
    core.run()
    assert.are.equal(1, n)
    weak[1]:close()
  end)

  it("checks its arguments", function()
    local t = core.timer()
    assert.has_error(function() t:start(-1, 0, function() end) end)
    assert.has_error(function() t:start(1, -1, function() end) end)
    assert.has_error(function() t:start(1, 0, "nope") end)
    assert.has_error(function() t:start("soon", 0, function() end) end)
    t:close()
  end)

  it("a callback that raises is reported and the loop goes on", function()
    H.capture_errors()
    local n = 0
    local a, b = core.timer(), core.timer()
    a:start(1, 0, function() error("timer boom") end)
    b:start(5, 0, function() n = n + 1 end)
    core.run()
    a:close(); b:close()
    core.on_error(function(msg) io.stderr:write(msg, "\n") end)
    assert.are.equal(1, n)
    assert.are.equal(1, #H.errors)
    assert.is_truthy(H.errors[1]:find("timer boom", 1, true))
    assert.is_truthy(H.errors[1]:find("stack traceback", 1, true))
  end)
end)

describe("core clocks", function()
  it("now is monotonic milliseconds", function()
    local a = core.now()
    assert.are.equal("integer", math.type(a))
    local b = core.now()
    assert.is_true(b >= a)
  end)

  it("hrtime is nanoseconds and moves", function()
    local a = core.hrtime()
    local b
    repeat b = core.hrtime() until b ~= a
    assert.is_true(b > a)
  end)

  it("time is the wall clock in seconds", function()
    local t = core.time()
    assert.are.equal("float", math.type(t))
    assert.is_true(math.abs(t - os.time()) <= 2)
  end)
end)
