-- The lifecycle event bus (daemon/bus.lua) and the record format it
-- writes and `overmind events` prints (lifecycle.lua), SPEC §8.  A fake
-- clock; the history file lives in a private temporary directory.
local bus = require("overmind.daemon.bus")
local lifecycle = require("overmind.lifecycle")
local json = require("overmind.json")
local core = require("overmind.core")

local T0 = 1700000000 -- 2023-11-14T22:13:20Z
local ISO0 = "2023-11-14T22:13:20Z"

local function sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("a")
  p:close()
  return out
end

local function mission(id, t)
  local m = { id = id or "abcd1234", name = "swift-reef" }
  for k, v in pairs(t or {}) do m[k] = v end
  return m
end

-- All that replay(since) yields, as { line, rec } pairs.
local function replayed(b, since)
  local out = {}
  for line, rec in b:replay(since) do out[#out + 1] = { line, rec } end
  return out
end

local function events_of(b, since)
  local out = {}
  for _, p in ipairs(replayed(b, since)) do out[#out + 1] = p[2].event end
  return out
end

local function ids_of(b, since)
  local out = {}
  for _, p in ipairs(replayed(b, since)) do out[#out + 1] = p[2].id end
  return out
end

describe("lifecycle", function()
  describe("encode", function()
    it("writes time, id, name, event, the details in order, then parent",
      function()
        assert.are.equal(
          '{"time":"' .. ISO0 .. '","id":"abcd1234","name":"swift-reef",' ..
          '"event":"exited","status":"crashed","exit_code":1,' ..
          '"parent":"ffff0000"}',
          lifecycle.encode({ parent = "ffff0000", exit_code = 1,
                             status = "crashed", event = "exited",
                             name = "swift-reef", id = "abcd1234",
                             time = ISO0 }))
      end)

    it("writes a declared detail that is missing, and no parent, as null",
      function()
        assert.are.equal(
          '{"time":"' .. ISO0 .. '","id":"abcd1234","name":"swift-reef",' ..
          '"event":"exited","status":"crashed","exit_code":null,' ..
          '"parent":null}',
          lifecycle.encode({ time = ISO0, id = "abcd1234",
                             name = "swift-reef", event = "exited",
                             status = "crashed" }))
      end)

    it("puts the details of each kind in their declared order", function()
      local function enc(event, d)
        local rec = { time = ISO0, id = "i", name = "n", event = event }
        for k, v in pairs(d) do rec[k] = v end
        return lifecycle.encode(rec)
      end
      assert.are.equal('{"time":"' .. ISO0 .. '","id":"i","name":"n",' ..
        '"event":"restarting","n":2,"delay_ms":2000,"parent":null}',
        enc("restarting", { delay_ms = 2000, n = 2 }))
      assert.are.equal('{"time":"' .. ISO0 .. '","id":"i","name":"n",' ..
        '"event":"result","is_error":false,"cost_usd":0.25,"parent":null}',
        enc("result", { cost_usd = 0.25, is_error = false }))
      assert.are.equal('{"time":"' .. ISO0 .. '","id":"i","name":"n",' ..
        '"event":"started","os_pid":4242,"parent":null}',
        enc("started", { os_pid = 4242 }))
    end)

    it("puts undeclared details after the declared ones, sorted", function()
      assert.are.equal('{"time":"' .. ISO0 .. '","id":"i","name":"n",' ..
        '"event":"started","os_pid":1,"alpha":"a","zulu":"z","parent":"p"}',
        lifecycle.encode({ zulu = "z", alpha = "a", os_pid = 1,
                           time = ISO0, id = "i", name = "n",
                           event = "started", parent = "p" }))
      assert.are.equal('{"time":"' .. ISO0 .. '","id":"i","name":"n",' ..
        '"event":"custom","b":2,"c":3,"parent":null}',
        lifecycle.encode({ c = 3, b = 2, time = ISO0, id = "i", name = "n",
                           event = "custom" }))
      -- enough keys that a hash order would not come out sorted by chance
      local words = { "victor", "alpha", "oscar", "delta", "kilo", "bravo",
                      "yankee", "echo", "mike", "golf", "quebec", "hotel" }
      local rec = { time = ISO0, id = "i", name = "n", event = "custom" }
      for i, w in ipairs(words) do rec[w] = i end
      local sorted = table.move(words, 1, #words, 1, {})
      table.sort(sorted)
      local parts = {}
      for _, w in ipairs(sorted) do
        for i, x in ipairs(words) do
          if x == w then parts[#parts + 1] = '"' .. w .. '":' .. i end
        end
      end
      assert.are.equal('{"time":"' .. ISO0 .. '","id":"i","name":"n",' ..
        '"event":"custom",' .. table.concat(parts, ",") .. ',"parent":null}',
        lifecycle.encode(rec))
    end)

    it("is valid JSON that decodes to the record", function()
      local rec = { time = ISO0, id = "abcd1234", name = "n \"q\"",
                    event = "result", is_error = true, cost_usd = 1.5,
                    parent = "p" }
      assert.are.same(rec, json.decode(lifecycle.encode(rec)))
    end)
  end)

  describe("format", function()
    it("is `<time> <id> <name> <event> <detail>` with key=value details",
      function()
        assert.are.equal(ISO0 .. " abcd1234 swift-reef exited " ..
          "status=crashed exit_code=1",
          lifecycle.format({ time = ISO0, id = "abcd1234", name = "swift-reef",
                             event = "exited", status = "crashed",
                             exit_code = 1, parent = "p" }))
        assert.are.equal(ISO0 .. " abcd1234 swift-reef restarting " ..
          "n=1 delay_ms=1000",
          lifecycle.format({ time = ISO0, id = "abcd1234", name = "swift-reef",
                             event = "restarting", delay_ms = 1000, n = 1 }))
        assert.are.equal(ISO0 .. " abcd1234 swift-reef result " ..
          "is_error=false cost_usd=0.25",
          lifecycle.format({ time = ISO0, id = "abcd1234", name = "swift-reef",
                             event = "result", is_error = false,
                             cost_usd = 0.25 }))
      end)

    it("an event without details ends with its name, no blank", function()
      assert.are.equal(ISO0 .. " abcd1234 swift-reef created",
        lifecycle.format({ time = ISO0, id = "abcd1234", name = "swift-reef",
                           event = "created", parent = "ffff0000" }))
      assert.are.equal(ISO0 .. " abcd1234 swift-reef removed",
        lifecycle.format({ time = ISO0, id = "abcd1234", name = "swift-reef",
                           event = "removed" }))
    end)

    it("prints a missing or null detail as null", function()
      assert.are.equal(ISO0 .. " abcd1234 swift-reef exited " ..
        "status=crashed exit_code=null",
        lifecycle.format({ time = ISO0, id = "abcd1234", name = "swift-reef",
                           event = "exited", status = "crashed" }))
      assert.are.equal(ISO0 .. " abcd1234 swift-reef exited " ..
        "status=crashed exit_code=null",
        lifecycle.format(json.decode(lifecycle.encode({
          time = ISO0, id = "abcd1234", name = "swift-reef",
          event = "exited", status = "crashed" }))))
    end)

    it("prints what a decoded line holds the same as the record", function()
      local rec = { time = ISO0, id = "abcd1234", name = "swift-reef",
                    event = "started", os_pid = 4242, parent = "p" }
      assert.are.equal(lifecycle.format(rec),
        lifecycle.format(json.decode(lifecycle.encode(rec))))
      assert.are.equal(ISO0 .. " abcd1234 swift-reef started os_pid=4242",
        lifecycle.format(rec))
    end)
  end)

  it("time_of reads a record's time back to epoch seconds", function()
    assert.are.equal(T0, lifecycle.time_of({ time = ISO0 }))
    assert.are.equal(T0 + 61,
      lifecycle.time_of({ time = "2023-11-14T22:14:21Z" }))
    assert.is_nil(lifecycle.time_of({ time = "yesterday" }))
  end)

  it("keeps at least the 10,000 events SPEC §8 promises", function()
    assert.is_true(lifecycle.HISTORY >= 10000)
  end)
end)

describe("bus", function()
  local t, logs, dir, buses, saved_history
  local function now() return t end
  local function logger(msg) logs[#logs + 1] = msg end
  local function new_bus(opts)
    opts = opts or {}
    local b = bus.new({ now = now, log = logger, file = opts.file })
    buses[#buses + 1] = b
    return b
  end

  before_each(function()
    t, logs, buses = T0, {}, {}
    saved_history = lifecycle.HISTORY
    dir = sh("mktemp -d /tmp/om-unit-bus.XXXXXX"):gsub("%s+$", "")
  end)
  after_each(function()
    lifecycle.HISTORY = saved_history
    for _, b in ipairs(buses) do b:close() end
    if dir and dir:match("^/tmp/om%-unit%-bus%.") then
      os.execute("rm -rf " .. dir)
    end
  end)

  describe("publish and subscribe", function()
    it("a subscriber gets the record, its JSON line and the mission", function()
      local b = new_bus()
      local got = {}
      b:subscribe(function(rec, line, m) got[#got + 1] = { rec, line, m } end)
      local m = mission("abcd1234", { parent = "ffff0000" })
      t = T0 + 5
      b:publish(m, "exited", { status = "stopped", exit_code = 0 })
      assert.are.equal(1, #got)
      local rec, line = got[1][1], got[1][2]
      assert.are.same({ time = "2023-11-14T22:13:25Z", id = "abcd1234",
                        name = "swift-reef", event = "exited",
                        status = "stopped", exit_code = 0,
                        parent = "ffff0000" }, rec)
      assert.are.equal('{"time":"2023-11-14T22:13:25Z","id":"abcd1234",' ..
        '"name":"swift-reef","event":"exited","status":"stopped",' ..
        '"exit_code":0,"parent":"ffff0000"}', line)
      assert.are.equal(m, got[1][3])
    end)

    it("an event without details publishes as one", function()
      local b = new_bus()
      local lines = {}
      b:subscribe(function(_, line) lines[#lines + 1] = line end)
      b:publish(mission(), "created")
      assert.are.same({ '{"time":"' .. ISO0 .. '","id":"abcd1234",' ..
        '"name":"swift-reef","event":"created","parent":null}' }, lines)
    end)

    it("every subscriber gets every event, in the order published and " ..
      "subscribed", function()
      local b = new_bus()
      local seen = {}
      for _, who in ipairs({ "a", "b", "c" }) do
        b:subscribe(function(rec) seen[#seen + 1] = who .. ":" .. rec.event end)
      end
      local m = mission()
      b:publish(m, "created")
      b:publish(m, "started", { os_pid = 7 })
      b:publish(m, "exited", { status = "stopped", exit_code = 0 })
      assert.are.same({ "a:created", "b:created", "c:created",
                        "a:started", "b:started", "c:started",
                        "a:exited", "b:exited", "c:exited" }, seen)
    end)

    it("a subscriber that raises is logged and the others still run",
      function()
        local b = new_bus()
        local seen = {}
        b:subscribe(function(rec) seen[#seen + 1] = "a:" .. rec.event end)
        b:subscribe(function() error("subscriber boom") end)
        b:subscribe(function(rec) seen[#seen + 1] = "c:" .. rec.event end)
        b:publish(mission(), "created")
        b:publish(mission(), "removed")
        assert.are.same({ "a:created", "c:created", "a:removed", "c:removed" },
          seen)
        assert.are.equal(2, #logs)
        assert.is_truthy(logs[1]:find("error in an event subscriber", 1, true),
          logs[1])
        assert.is_truthy(logs[1]:find("subscriber boom", 1, true), logs[1])
      end)

    it("a subscription cancelled gets nothing more", function()
      local b = new_bus()
      local n = 0
      local sub = b:subscribe(function() n = n + 1 end)
      b:publish(mission(), "created")
      sub.cancel()
      b:publish(mission(), "removed")
      assert.are.equal(1, n)
    end)

    it("a subscriber may cancel itself from inside its callback", function()
      local b = new_bus()
      local mine, others = {}, {}
      local sub
      sub = b:subscribe(function(rec)
        mine[#mine + 1] = rec.event
        sub.cancel()
      end)
      b:subscribe(function(rec) others[#others + 1] = rec.event end)
      b:publish(mission(), "created")
      b:publish(mission(), "started", { os_pid = 1 })
      assert.are.same({ "created" }, mine)
      assert.are.same({ "created", "started" }, others)
    end)

    it("a subscriber cancelled by an earlier one misses the same event",
      function()
        local b = new_bus()
        local seen = {}
        local second
        b:subscribe(function(rec)
          seen[#seen + 1] = "first:" .. rec.event
          if second then second.cancel() end
        end)
        second = b:subscribe(function(rec)
          seen[#seen + 1] = "second:" .. rec.event
        end)
        b:publish(mission(), "created")
        b:publish(mission(), "removed")
        assert.are.same({ "first:created", "first:removed" }, seen)
      end)

    it("a subscription made inside a callback starts with the next event",
      function()
        local b = new_bus()
        local late = {}
        local made = false
        b:subscribe(function()
          if not made then
            made = true
            b:subscribe(function(rec) late[#late + 1] = rec.event end)
          end
        end)
        b:publish(mission(), "created")
        assert.are.same({}, late)
        b:publish(mission(), "removed")
        assert.are.same({ "removed" }, late)
      end)
  end)

  describe("replay", function()
    it("yields the remembered events oldest first, as lines and records",
      function()
        local b = new_bus()
        local m = mission()
        b:publish(m, "created")
        t = T0 + 1
        b:publish(m, "started", { os_pid = 9 })
        local all = replayed(b)
        assert.are.equal(2, #all)
        assert.are.equal("created", all[1][2].event)
        assert.are.equal("started", all[2][2].event)
        assert.are.equal(9, all[2][2].os_pid)
        assert.are.same(json.decode(all[2][1]), all[2][2])
        assert.are.equal(lifecycle.encode(all[1][2]), all[1][1])
      end)

    it("from `since` on, inclusive to the second", function()
      local b = new_bus()
      local m = mission()
      b:publish(m, "created")                          -- T0
      t = T0 + 1.25
      b:publish(m, "started", { os_pid = 1 })          -- T0+1
      t = T0 + 2.75
      b:publish(m, "exited", { status = "stopped", exit_code = 0 }) -- T0+2
      assert.are.same({ "created", "started", "exited" }, events_of(b))
      assert.are.same({ "created", "started", "exited" }, events_of(b, T0))
      assert.are.same({ "started", "exited" }, events_of(b, T0 + 1))
      -- a since inside a second still takes that second's events
      assert.are.same({ "started", "exited" }, events_of(b, T0 + 1.9))
      assert.are.same({ "exited" }, events_of(b, T0 + 2))
      assert.are.same({}, events_of(b, T0 + 3))
    end)

    it("an empty bus replays nothing", function()
      assert.are.same({}, replayed(new_bus()))
      assert.are.same({}, replayed(new_bus(), T0))
    end)

    it("keeps only the last lifecycle.HISTORY events", function()
      lifecycle.HISTORY = 3
      local b = new_bus()
      for i = 1, 5 do b:publish(mission("m" .. i), "created") end
      assert.are.same({ "m3", "m4", "m5" }, ids_of(b))
      for i = 6, 7 do b:publish(mission("m" .. i), "created") end
      assert.are.same({ "m5", "m6", "m7" }, ids_of(b))
    end)

    it("a ring filled exactly keeps all of it", function()
      lifecycle.HISTORY = 4
      local b = new_bus()
      for i = 1, 4 do b:publish(mission("m" .. i), "created") end
      assert.are.same({ "m1", "m2", "m3", "m4" }, ids_of(b))
    end)
  end)

  describe("the history file", function()
    it("is appended one JSON line per event", function()
      local path = dir .. "/events.jsonl"
      local b = new_bus({ file = path })
      local lines = {}
      b:subscribe(function(_, line) lines[#lines + 1] = line end)
      b:publish(mission(), "created")
      b:publish(mission(), "removed")
      b:close()
      assert.are.equal(table.concat(lines, "\n") .. "\n", core.read_file(path))
    end)

    it("a new bus on the same file replays what the old one published",
      function()
        local path = dir .. "/events.jsonl"
        local old = new_bus({ file = path })
        local m = mission("abcd1234", { parent = "ffff0000" })
        old:publish(m, "created")
        t = T0 + 1
        old:publish(m, "started", { os_pid = 4242 })
        t = T0 + 2
        old:publish(m, "exited", { status = "crashed", exit_code = 1 })
        local before = replayed(old)
        old:close()

        t = T0 + 100
        local new = new_bus({ file = path })
        local after = replayed(new)
        assert.are.same(before, after)
        assert.are.equal(3, #after)
        assert.are.same({ "started", "exited" }, events_of(new, T0 + 1))
        assert.are.equal("ffff0000", new:parent_of("abcd1234"))
        -- and it goes on appending after them
        new:publish(m, "removed")
        new:close()
        local third = new_bus({ file = path })
        assert.are.same({ "created", "started", "exited", "removed" },
          events_of(third))
      end)

    it("a new bus keeps only the last lifecycle.HISTORY of the file",
      function()
        lifecycle.HISTORY = 3
        local path = dir .. "/events.jsonl"
        local old = new_bus({ file = path })
        for i = 1, 5 do
          old:publish(mission("m" .. i, { parent = "p" .. i }), "created")
        end
        old:close()
        local new = new_bus({ file = path })
        assert.are.same({ "m3", "m4", "m5" }, ids_of(new))
        -- what it no longer holds, it does not know the parents of
        assert.is_nil(new:parent_of("m1"))
        assert.are.equal("p3", new:parent_of("m3"))
        new:publish(mission("m6"), "created")
        assert.are.same({ "m4", "m5", "m6" }, ids_of(new))
      end)

    it("reads the rotated file first, and skips lines that are no records",
      function()
        local path = dir .. "/events.jsonl"
        local function line(id)
          return lifecycle.encode({ time = ISO0, id = id, name = "n",
                                    event = "created" })
        end
        assert(core.write_file(path .. ".1", line("old1") .. "\n" ..
          line("old2") .. "\n"))
        assert(core.write_file(path, "not json\n" .. '{"no":"id"}\n' ..
          line("new1") .. "\n"))
        local b = new_bus({ file = path })
        assert.are.same({ "old1", "old2", "new1" }, ids_of(b))
      end)

    it("a file that cannot be opened is logged; the bus still works",
      function()
        local b = new_bus({ file = dir .. "/no/such/dir/events.jsonl" })
        assert.are.equal(1, #logs)
        assert.is_truthy(logs[1]:find("cannot open", 1, true), logs[1])
        local n = 0
        b:subscribe(function() n = n + 1 end)
        b:publish(mission(), "created")
        assert.are.equal(1, n)
        assert.are.same({ "created" }, events_of(b))
      end)
  end)

  describe("parent_of", function()
    it("names the parent of a mission the history holds", function()
      local b = new_bus()
      b:publish(mission("child001", { parent = "parent01" }), "created")
      b:publish(mission("orphan01"), "created")
      assert.are.equal("parent01", b:parent_of("child001"))
      assert.is_nil(b:parent_of("orphan01"))
      assert.is_nil(b:parent_of("unknown1"))
    end)

    it("knows a mission's parent after the mission is gone", function()
      local b = new_bus()
      local m = mission("child001", { parent = "parent01" })
      b:publish(m, "created")
      b:publish(m, "removed")
      m.parent = nil -- the record itself is gone
      assert.are.equal("parent01", b:parent_of("child001"))
    end)

    it("is bounded by what the history still names", function()
      lifecycle.HISTORY = 2
      local b = new_bus()
      for i = 1, 5 do
        b:publish(mission("m" .. i, { parent = "p" .. i }), "created")
      end
      assert.are.equal("p5", b:parent_of("m5"))
      assert.are.equal("p4", b:parent_of("m4"))
      assert.is_nil(b:parent_of("m1"))
    end)
  end)
end)
