-- The callback list behind `stop`/`shutdown` replies, `send --wait` turns
-- and the event bus's subscribers (daemon/waiters.lua).
local waiters = require("overmind.daemon.waiters")

-- A callback that records its calls into `log` under `name`.
local function recorder(log, name)
  return function(...)
    log[#log + 1] = { name, select("#", ...), ... }
  end
end

describe("waiters", function()
  local w, log
  before_each(function()
    w = waiters.new()
    log = {}
  end)

  describe("add and count", function()
    it("a new list is empty; add makes it non-empty", function()
      assert.is_true(w:empty())
      assert.are.equal(0, w:count())
      local e = w:add(function() end)
      assert.is_table(e)
      assert.is_false(w:empty())
      assert.are.equal(1, w:count())
      w:add(function() end, "k")
      assert.are.equal(2, w:count())
    end)

    it("each add returns its own entry, even for the same function", function()
      local fn = function() end
      local a, b = w:add(fn), w:add(fn)
      assert.are_not.equal(a, b)
      w:cancel(a)
      assert.are.equal(1, w:count())
    end)
  end)

  describe("fire", function()
    it("calls every waiter once, in the order added, with the arguments",
      function()
        w:add(recorder(log, "a"))
        w:add(recorder(log, "b"))
        w:add(recorder(log, "c"))
        w:fire(nil, "exited")
        assert.are.same({ { "a", 2, nil, "exited" }, { "b", 2, nil, "exited" },
                          { "c", 2, nil, "exited" } }, log)
      end)

    it("removes the waiters it called: a second fire calls nobody", function()
      w:add(recorder(log, "a"))
      w:fire(1)
      assert.is_true(w:empty())
      w:fire(2)
      assert.are.same({ { "a", 1, 1 } }, log)
    end)

    it("skips a waiter cancelled before the fire", function()
      w:add(recorder(log, "a"))
      local b = w:add(recorder(log, "b"))
      w:add(recorder(log, "c"))
      w:cancel(b)
      assert.are.equal(2, w:count())
      w:fire()
      assert.are.same({ { "a", 0 }, { "c", 0 } }, log)
    end)

    it("a callback that cancels a later waiter of the same round: skipped",
      function()
        local c
        w:add(function() log[#log + 1] = "a"; w:cancel(c) end)
        w:add(function() log[#log + 1] = "b" end)
        c = w:add(function() log[#log + 1] = "c" end)
        w:fire()
        assert.are.same({ "a", "b" }, log)
        assert.is_true(w:empty())
      end)

    it("a callback that cancels itself is still called once", function()
      local me
      me = w:add(function() log[#log + 1] = "me"; w:cancel(me) end)
      w:fire()
      w:fire()
      assert.are.same({ "me" }, log)
    end)

    it("a waiter added by a callback waits for the next fire", function()
      w:add(function()
        log[#log + 1] = "first"
        w:add(function() log[#log + 1] = "added" end)
      end)
      w:fire()
      assert.are.same({ "first" }, log)
      assert.are.equal(1, w:count())
      w:fire()
      assert.are.same({ "first", "added" }, log)
      assert.is_true(w:empty())
    end)

    it("a fire from inside a callback does not call a waiter twice", function()
      local calls = 0
      w:add(function() calls = calls + 1; w:fire() end)
      w:add(function() calls = calls + 1 end)
      w:fire()
      assert.are.equal(2, calls)
      assert.is_true(w:empty())
    end)
  end)

  describe("fire_where", function()
    it("calls and removes only the waiters whose key satisfies pred", function()
      w:add(recorder(log, "t1"), 1)
      w:add(recorder(log, "t2"), 2)
      w:add(recorder(log, "t3"), 3)
      w:fire_where(function(k) return k <= 2 end, "r")
      assert.are.same({ { "t1", 1, "r" }, { "t2", 1, "r" } }, log)
      assert.are.equal(1, w:count())
      w:fire_where(function(k) return k <= 2 end, "again")
      assert.are.equal(2, #log)
      w:fire_where(function(k) return k <= 3 end, "late")
      assert.are.same({ "t3", 1, "late" }, log[3])
      assert.is_true(w:empty())
    end)

    it("a pred that matches nothing calls nothing and keeps every waiter",
      function()
        w:add(recorder(log, "a"), "x")
        w:add(recorder(log, "b"), "y")
        w:fire_where(function() return false end)
        assert.are.same({}, log)
        assert.are.equal(2, w:count())
      end)

    it("keeps the order of the waiters it leaves", function()
      w:add(recorder(log, "a"), 5)
      w:add(recorder(log, "b"), 1)
      w:add(recorder(log, "c"), 6)
      w:fire_where(function(k) return k == 1 end)
      w:fire()
      assert.are.same({ { "b", 0 }, { "a", 0 }, { "c", 0 } }, log)
    end)

    it("a callback may cancel a waiter that stays (not due)", function()
      local later
      w:add(function() log[#log + 1] = "due"; w:cancel(later) end, 1)
      later = w:add(function() log[#log + 1] = "later" end, 9)
      w:fire_where(function(k) return k == 1 end)
      assert.is_true(w:empty())
      w:fire()
      assert.are.same({ "due" }, log)
    end)
  end)

  describe("each", function()
    it("calls every waiter with the arguments and keeps them", function()
      w:add(recorder(log, "a"))
      w:add(recorder(log, "b"))
      w:each("ev", 1)
      w:each("ev", 2)
      assert.are.same({ { "a", 2, "ev", 1 }, { "b", 2, "ev", 1 },
                        { "a", 2, "ev", 2 }, { "b", 2, "ev", 2 } }, log)
      assert.are.equal(2, w:count())
    end)

    it("a callback that cancels itself runs this round, not the next",
      function()
        local me
        me = w:add(function() log[#log + 1] = "me"; w:cancel(me) end)
        w:add(function() log[#log + 1] = "other" end)
        w:each()
        w:each()
        assert.are.same({ "me", "other", "other" }, log)
        assert.are.equal(1, w:count())
      end)

    it("a callback that cancels a later one: skipped in the same round",
      function()
        local b
        w:add(function() log[#log + 1] = "a"; w:cancel(b) end)
        b = w:add(function() log[#log + 1] = "b" end)
        w:add(function() log[#log + 1] = "c" end)
        w:each()
        assert.are.same({ "a", "c" }, log)
        assert.are.equal(2, w:count())
      end)

    it("a waiter added by a callback is called from the next round", function()
      local added = false
      w:add(function()
        log[#log + 1] = "a"
        if not added then
          added = true
          w:add(function() log[#log + 1] = "new" end)
        end
      end)
      w:each()
      assert.are.same({ "a" }, log)
      w:each()
      assert.are.same({ "a", "a", "new" }, log)
    end)
  end)

  describe("cancel", function()
    it("cancel(nil) and a second cancel are harmless", function()
      local e = w:add(recorder(log, "a"))
      w:add(recorder(log, "b"))
      w:cancel(nil)
      w:cancel(e)
      w:cancel(e)
      assert.are.equal(1, w:count())
      w:fire()
      assert.are.same({ { "b", 0 } }, log)
    end)

    it("cancelling an entry that already fired changes nothing", function()
      local e = w:add(recorder(log, "a"))
      w:fire()
      local f = w:add(recorder(log, "b"))
      w:cancel(e)
      assert.are.equal(1, w:count())
      w:fire()
      assert.are.same({ { "a", 0 }, { "b", 0 } }, log)
      assert.is_table(f)
    end)

    it("an entry of another list is not removed from this one", function()
      local other = waiters.new()
      local foreign = other:add(function() end)
      w:add(recorder(log, "a"))
      w:cancel(foreign)
      assert.are.equal(1, w:count())
      w:fire()
      assert.are.same({ { "a", 0 } }, log)
    end)
  end)
end)
