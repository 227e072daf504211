-- The pipeline runner (SPEC §7, lua/overmind/pipeline.lua) driven with a
-- fake `om` whose missions finish according to a fake clock: ordering,
-- parallel branches, a diamond whose middle branches overlap, failure
-- propagation (nothing that depends on a crash starts, running ones
-- finish, exit 1) and the log lines.
local pipeline = require("overmind.pipeline")

-- A fake om.  plan[name] = { dur = seconds, status = "stopped"|"crashed"|...,
-- exit_code = n, fail_start = true }.  Missions end at start + dur on a
-- clock that only moves when the runner waits; wait_any returns the one
-- that ends first (ties: argument order).
local function fake_om(plan)
  local F = { now = 0, runs = {}, started = {}, ended = {}, live = {},
              max_live = 0, calls = {}, seq = 0 }
  local function count_live()
    local n = 0
    for _ in pairs(F.live) do n = n + 1 end
    return n
  end

  function F.run(args)
    F.calls[#F.calls + 1] = "run " .. tostring(args.name)
    local copy = {}
    for k, v in pairs(args) do copy[k] = v end
    local p = plan[args.name] or {}
    if p.fail_start then error("cannot start " .. args.name, 0) end
    F.seq = F.seq + 1
    local id = ("%08x"):format(0xabc00000 + F.seq)
    F.runs[#F.runs + 1] = { args = copy, id = id, at = F.now }
    F.started[args.name] = F.now
    F.live[id] = { name = args.name, ends = F.now + (p.dur or 1),
                   status = p.status or "stopped",
                   exit_code = p.exit_code or ((p.status or "stopped") == "stopped"
                     and 0 or 1) }
    F.max_live = math.max(F.max_live, count_live())
    return { id = id, name = args.name }
  end

  function F.wait_any(...)
    local n = select("#", ...)
    assert(n > 0, "wait_any with no missions")
    local best
    for i = 1, n do
      local h = select(i, ...)
      local l = F.live[h.id]
      assert(l, "wait_any on a mission that is not running: " .. tostring(h.id))
      if not best or l.ends < F.live[best.id].ends then best = h end
    end
    local l = F.live[best.id]
    F.now = math.max(F.now, l.ends)
    F.ended[l.name] = F.now
    F.live[best.id] = nil
    F.calls[#F.calls + 1] = "end " .. l.name
    return best, { id = best.id, name = l.name, status = l.status,
                   exit_code = l.exit_code }
  end

  -- The runner must not need these; record them if it calls them.
  for _, fn in ipairs({ "wait", "stop", "kill", "send", "sleep" }) do
    F[fn] = function() F.calls[#F.calls + 1] = fn end
  end
  return F
end

-- Runs the pipeline with its stdout captured; returns the exit code and
-- the log lines.
local function run(agents, plan)
  local om = fake_om(plan or {})
  local buf = {}
  local real = io.stdout
  local fake = {
    write = function(self, ...)
      for i = 1, select("#", ...) do buf[#buf + 1] = tostring((select(i, ...))) end
      return self
    end,
    flush = function() return true end,
    setvbuf = function() return true end,
  }
  io.stdout = fake
  local ok, code = pcall(pipeline.run, { agents = agents }, om)
  io.stdout = real
  assert(ok, code)
  local lines = {}
  for l in table.concat(buf):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  return code, lines, om
end

local function A(name, deps, args)
  args = args or {}
  args.command = args.command or ("echo " .. name)
  args.name = name
  return { name = name, depends_on = deps or {}, args = args }
end

local function id_of(om, name)
  for _, r in ipairs(om.runs) do
    if r.args.name == name then return r.id end
  end
end

local function args_of(om, name)
  for _, r in ipairs(om.runs) do
    if r.args.name == name then return r.args end
  end
end

local function index_of(lines, line)
  for i, l in ipairs(lines) do if l == line then return i end end
end

describe("pipeline runner", function()
  it("runs a chain one agent after the other", function()
    local code, lines, om = run({ A("a"), A("b", { "a" }), A("c", { "b" }) },
      { a = { dur = 2 }, b = { dur = 3 }, c = { dur = 1 } })
    assert.are.equal(0, code)
    assert.are.same({ a = 0, b = 2, c = 5 }, om.started)
    assert.are.same({ a = 2, b = 5, c = 6 }, om.ended)
    assert.are.equal(1, om.max_live)
    assert.are.same({
      "started a (" .. id_of(om, "a") .. ")",
      "a stopped",
      "started b (" .. id_of(om, "b") .. ")",
      "b stopped",
      "started c (" .. id_of(om, "c") .. ")",
      "c stopped",
    }, { table.unpack(lines, 1, 6) })
    assert.is_nil(lines[8], "nothing after the final line")
    for _, l in ipairs(lines) do
      assert.is_falsy(l:find("pipeline failed", 1, true), l)
    end
  end)

  it("starts independent agents together", function()
    local code, _, om = run({ A("x"), A("y"), A("z") },
      { x = { dur = 5 }, y = { dur = 2 }, z = { dur = 3 } })
    assert.are.equal(0, code)
    assert.are.same({ x = 0, y = 0, z = 0 }, om.started)
    assert.are.equal(3, om.max_live)
    assert.are.equal(5, om.now, "the pipeline takes as long as its longest branch")
  end)

  it("runs the middle branches of a diamond at the same time", function()
    -- a; b and c depend on a; d depends on b and c.
    local code, lines, om = run(
      { A("a"), A("b", { "a" }), A("c", { "a" }), A("d", { "b", "c" }) },
      { a = { dur = 1 }, b = { dur = 3 }, c = { dur = 2 }, d = { dur = 1 } })
    assert.are.equal(0, code)
    -- b and c both start when a stops, and overlap.
    assert.are.equal(1, om.started.b)
    assert.are.equal(1, om.started.c)
    assert.is_true(om.started.b < om.ended.c and om.started.c < om.ended.b)
    -- d waits for the later of the two (b ends at 4), not the first (c at 3).
    assert.are.equal(4, om.started.d)
    assert.are.equal(5, om.now)
    assert.are.same({
      "started a (" .. id_of(om, "a") .. ")",
      "a stopped",
      "started b (" .. id_of(om, "b") .. ")",
      "started c (" .. id_of(om, "c") .. ")",
      "c stopped",
      "b stopped",
      "started d (" .. id_of(om, "d") .. ")",
      "d stopped",
    }, { table.unpack(lines, 1, 8) })
  end)

  it("starts a join as soon as its last dependency stops", function()
    -- slow (4) and quick (1) are independent; join depends on both; after
    -- depends on quick only and must not wait for slow.
    local code, _, om = run(
      { A("slow"), A("quick"), A("join", { "slow", "quick" }), A("after", { "quick" }) },
      { slow = { dur = 4 }, quick = { dur = 1 }, join = { dur = 1 }, after = { dur = 1 } })
    assert.are.equal(0, code)
    assert.are.equal(1, om.started.after)
    assert.are.equal(4, om.started.join)
  end)

  it("names each agent after its key and parents it on its first dependency", function()
    local code, _, om = run(
      { A("a"), A("b", { "a" }), A("c", { "a" }), A("d", { "c", "b" }) },
      { c = { dur = 5 } })
    assert.are.equal(0, code)
    for _, n in ipairs({ "a", "b", "c", "d" }) do
      assert.are.equal(n, args_of(om, n).name)
    end
    -- No parent for a root: the pipeline's own mission is the default.
    assert.is_nil(args_of(om, "a").parent)
    assert.are.equal(id_of(om, "a"), args_of(om, "b").parent)
    assert.are.equal(id_of(om, "a"), args_of(om, "c").parent)
    -- d's first dependency is c, although b stopped first.
    assert.are.equal(id_of(om, "c"), args_of(om, "d").parent)
  end)

  it("passes each agent's run flags through", function()
    local env = { CI = "1" }
    local agents = { A("a", {}, { command = "make", env = env, restart = "on-failure",
                                  max_restarts = 2, backoff_ms = 100, timeout = 30,
                                  provider = "claude", model = "haiku" }) }
    local code, _, om = run(agents)
    assert.are.equal(0, code)
    local args = args_of(om, "a")
    assert.are.equal("make", args.command)
    assert.are.same({ CI = "1" }, args.env)
    assert.are.equal("on-failure", args.restart)
    assert.are.equal(2, args.max_restarts)
    assert.are.equal(100, args.backoff_ms)
    assert.are.equal(30, args.timeout)
    assert.are.equal("claude", args.provider)
    assert.are.equal("haiku", args.model)
    assert.is_nil(agents[1].args.parent, "the blueprint itself is left alone")
  end)

  describe("on failure", function()
    -- a; b (crashes) and c depend on a; d depends on b and c; e on d.
    local function failing()
      return run(
        { A("a"), A("b", { "a" }), A("c", { "a" }), A("d", { "b", "c" }), A("e", { "d" }) },
        { a = { dur = 1 }, b = { dur = 1, status = "crashed", exit_code = 3 },
          c = { dur = 4 }, d = { dur = 1 }, e = { dur = 1 } })
    end

    it("starts nothing that depends on the crash and exits 1", function()
      local code, _, om = failing()
      assert.are.equal(1, code)
      assert.is_nil(om.started.d)
      assert.is_nil(om.started.e)
      assert.is_nil(id_of(om, "d"))
    end)

    it("lets running agents finish", function()
      local code, _, om = failing()
      assert.are.equal(1, code)
      assert.are.equal(5, om.ended.c, "c ran to its end")
      assert.are.equal(5, om.now)
      for _, c in ipairs(om.calls) do
        assert.is_falsy(c == "stop" or c == "kill", "the runner called om." .. c)
      end
    end)

    it("logs each agent and where the pipeline failed", function()
      local _, lines, om = failing()
      assert.are.same({
        "started a (" .. id_of(om, "a") .. ")",
        "a stopped",
        "started b (" .. id_of(om, "b") .. ")",
        "started c (" .. id_of(om, "c") .. ")",
        "b crashed",
        "c stopped",
        "pipeline failed at agent 'b'",
      }, lines)
    end)

    it("treats a killed agent as a failure", function()
      local code, lines = run({ A("a"), A("b", { "a" }) },
        { a = { status = "killed" } })
      assert.are.equal(1, code)
      assert.are.equal("a killed", lines[2])
      assert.are.equal("pipeline failed at agent 'a'", lines[#lines])
      assert.is_nil(index_of(lines, "started b"))
      for _, l in ipairs(lines) do assert.is_falsy(l:match("^started b "), l) end
    end)

    it("names the first agent that failed", function()
      local code, lines = run({ A("p"), A("q") },
        { p = { dur = 3, status = "crashed" }, q = { dur = 1, status = "crashed" } })
      assert.are.equal(1, code)
      assert.are.equal("pipeline failed at agent 'q'", lines[#lines])
    end)

    it("treats an agent that cannot start as a failure", function()
      local code, lines, om = run({ A("a"), A("b", { "a" }), A("other") },
        { a = { fail_start = true }, other = { dur = 2 } })
      assert.are.equal(1, code)
      assert.is_nil(om.started.b)
      assert.are.equal(2, om.ended.other, "the independent agent still finishes")
      assert.are.equal("pipeline failed at agent 'a'", lines[#lines])
    end)
  end)
end)
