-- The dependency graph of a pipeline (SPEC §7, lua/overmind/blueprint/dag.lua):
-- an agent starts as soon as every agent it depends on has `stopped`;
-- when one crashes nothing that depends on it starts; cycles are found
-- with their path.  Pure logic: no processes, no clock.
local dag = require("overmind.blueprint.dag")

local function A(name, deps) return { name = name, depends_on = deps } end

-- a; b and c depend on a; d depends on b and c.
local function diamond()
  return dag.new({ A("a"), A("b", { "a" }), A("c", { "a" }), A("d", { "b", "c" }) })
end

describe("dag", function()
  describe("ready", function()
    it("lists the agents without dependencies, in file order", function()
      local g = dag.new({ A("zeta"), A("alpha"), A("mid", {}), A("late", { "zeta" }) })
      assert.are.same({ "zeta", "alpha", "mid" }, g:ready())
    end)

    it("treats a missing depends_on as no dependencies", function()
      local g = dag.new({ { name = "solo" } })
      assert.are.same({ "solo" }, g:ready())
    end)

    it("does not offer an agent again once it has started", function()
      local g = dag.new({ A("a"), A("b") })
      g:start("a")
      assert.are.same({ "b" }, g:ready())
      g:start("b")
      assert.are.same({}, g:ready())
    end)

    it("offers a dependent only when every dependency has stopped", function()
      local g = diamond()
      assert.are.same({ "a" }, g:ready())
      g:start("a")
      assert.are.same({}, g:ready(), "nothing while a runs")
      g:finish("a", "stopped")
      assert.are.same({ "b", "c" }, g:ready(), "both branches at once")
      g:start("b")
      g:start("c")
      assert.are.same({ "b", "c" }, g:running())
      g:finish("c", "stopped")
      assert.are.same({}, g:ready(), "d still waits for b")
      assert.is_false(g:done())
      g:finish("b", "stopped")
      assert.are.same({ "d" }, g:ready())
      g:start("d")
      assert.are.same({ "d" }, g:running())
      g:finish("d", "stopped")
      assert.are.same({}, g:running())
      assert.is_true(g:done())
      assert.is_nil(g:failed())
    end)

    it("a running dependency is not enough", function()
      local g = dag.new({ A("a"), A("b", { "a" }) })
      g:start("a")
      assert.are.same({}, g:ready())
    end)
  end)

  describe("failure", function()
    it("a crash rules out its dependents, directly or not", function()
      -- a -> b -> d -> e, a -> c; b crashes while c runs.
      local g = dag.new({ A("a"), A("b", { "a" }), A("c", { "a" }),
                          A("d", { "b", "c" }), A("e", { "d" }) })
      g:start("a")
      g:finish("a", "stopped")
      g:start("b")
      g:start("c")
      g:finish("b", "crashed")
      assert.are.equal("b", g:failed())
      assert.are.same({ "c" }, g:running(), "the running one goes on")
      assert.are.same({}, g:ready())
      assert.is_false(g:done(), "not over while c runs")
      g:finish("c", "stopped")
      assert.are.same({}, g:ready(), "d and e never start")
      assert.is_true(g:done())
      assert.are.equal("b", g:failed())
    end)

    it("counts any final status but stopped as a failure", function()
      for _, status in ipairs({ "crashed", "killed", "failed", "lost" }) do
        local g = dag.new({ A("a"), A("b", { "a" }) })
        g:start("a")
        g:finish("a", status)
        assert.are.equal("a", g:failed(), status)
        assert.are.same({}, g:ready(), status)
        assert.is_true(g:done(), status)
      end
    end)

    it("remembers the first failure", function()
      local g = dag.new({ A("a"), A("b"), A("c", { "a" }) })
      g:start("a")
      g:start("b")
      g:finish("b", "crashed")
      g:finish("a", "crashed")
      assert.are.equal("b", g:failed())
    end)

    it("rules out only what depends on the crash", function()
      local g = dag.new({ A("a"), A("bad", { "a" }), A("ok", { "a" }),
                          A("after_ok", { "ok" }), A("after_bad", { "bad" }) })
      g:start("a")
      g:finish("a", "stopped")
      g:start("bad")
      g:start("ok")
      g:finish("bad", "crashed")
      g:finish("ok", "stopped")
      local ready = g:ready()
      for _, n in ipairs(ready) do
        assert.are_not.equal("after_bad", n)
      end
    end)

    it("an agent that failed to start is a failure too", function()
      local g = dag.new({ A("a"), A("b", { "a" }) })
      g:finish("a", "crashed") -- never started
      assert.are.equal("a", g:failed())
      assert.are.same({}, g:ready())
      assert.is_true(g:done())
    end)
  end)

  describe("done", function()
    it("an empty graph is done", function()
      assert.is_true(dag.new({}):done())
    end)

    it("a graph with something to start is not done", function()
      local g = dag.new({ A("a") })
      assert.is_false(g:done())
      g:start("a")
      assert.is_false(g:done())
      g:finish("a", "stopped")
      assert.is_true(g:done())
    end)
  end)

  describe("find_cycle", function()
    it("finds none in a diamond or a chain", function()
      assert.is_nil(dag.find_cycle({ A("a"), A("b", { "a" }), A("c", { "a" }),
                                     A("d", { "b", "c" }) }))
      assert.is_nil(dag.find_cycle({ A("c", { "b" }), A("b", { "a" }), A("a") }))
      assert.is_nil(dag.find_cycle({}))
    end)

    it("gives the path of a two-agent cycle", function()
      assert.are.same({ "a", "b", "a" },
        dag.find_cycle({ A("a", { "b" }), A("b", { "a" }) }))
    end)

    it("gives the path of a three-agent cycle", function()
      assert.are.same({ "a", "b", "c", "a" },
        dag.find_cycle({ A("a", { "b" }), A("b", { "c" }), A("c", { "a" }) }))
    end)

    it("finds an agent that depends on itself", function()
      assert.are.same({ "x", "x" }, dag.find_cycle({ A("w"), A("x", { "x" }) }))
    end)

    it("gives only the cycle, not the path that led to it", function()
      -- start -> y -> z -> y: the cycle is y -> z -> y.
      assert.are.same({ "y", "z", "y" },
        dag.find_cycle({ A("start", { "y" }), A("y", { "z" }), A("z", { "y" }) }))
    end)

    it("finds a cycle behind a shared dependency", function()
      -- a and b both depend on c (no cycle there); d <-> e is one.
      local p = dag.find_cycle({ A("a", { "c" }), A("b", { "c" }), A("c"),
                                 A("d", { "e" }), A("e", { "d" }) })
      assert.are.same({ "d", "e", "d" }, p)
    end)

    it("ignores dependencies on agents it does not know", function()
      assert.is_nil(dag.find_cycle({ A("a", { "ghost" }) }))
    end)
  end)
end)
