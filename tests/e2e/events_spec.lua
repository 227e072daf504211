-- SPEC §8: `overmind events`, the daemon-wide stream of mission lifecycle
-- events: every kind in its exact text and JSON forms, the filters,
-- `--since` (a duration, an RFC 3339 time, across daemon restarts and the
-- history the daemon keeps), following live, and readers that never read.
local e2e = require("support.e2e")
local A = require("support.agents")
local load = require("support.load")
local core = require("overmind.core")
local cjson = require("cjson")

local null = e2e.null
local concat = A.concat

-- An event's time: YYYY-MM-DDTHH:MM:SSZ.
local TIME = "%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ"

local function iso(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t) end

-- The epoch second in [lo, hi] that `s` names, or nil.
local function epoch_of(s, lo, hi)
  for t = lo, hi do
    if iso(t) == s then return t end
  end
end

-- `s` as a Lua pattern that matches it literally.
local function lit(s)
  return (tostring(s):gsub("[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
end

-- Stands for "some process id" in an expected detail.
local PID = setmetatable({}, { __tostring = function() return "<pid>" end })

local function text_value(v)
  if v == PID then return "(%d+)" end
  if v == null then return "null" end
  return lit(tostring(v))
end

local function json_value(v)
  if v == PID then return "(%d+)" end
  if v == null then return "null" end
  if type(v) == "string" then return lit('"' .. v .. '"') end
  return lit(tostring(v))
end

-- An expected event: { "<event>", { key, value }, { key, value }, ... }.
local function text_pattern(id, name, ev)
  local p = "^(" .. TIME .. ") " .. lit(id .. " " .. name .. " " .. ev[1])
  for i = 2, #ev do
    p = p .. " " .. lit(ev[i][1]) .. "=" .. text_value(ev[i][2])
  end
  return p .. "$"
end

local function json_pattern(id, name, ev, parent)
  local p = '^{"time":"(' .. TIME .. ')",' ..
    lit('"id":"' .. id .. '","name":"' .. name .. '","event":"' .. ev[1] .. '"')
  for i = 2, #ev do
    p = p .. lit(',"' .. ev[i][1] .. '":') .. json_value(ev[i][2])
  end
  return p .. lit(',"parent":' .. (parent and ('"' .. parent .. '"') or "null") .. "}") .. "$"
end

local function describe_want(id, name, want)
  local out = {}
  for i, ev in ipairs(want) do
    local d = { ev[1] }
    for k = 2, #ev do d[#d + 1] = ev[k][1] .. "=" .. tostring(ev[k][2]) end
    out[i] = "  <time> " .. id .. " " .. name .. " " .. table.concat(d, " ")
  end
  return table.concat(out, "\n")
end

-- Asserts that `lines` are exactly the events `want` of mission id/name,
-- in order, each stamped with a time within [t0 - 1, t1 + 1] when a window
-- { t0, t1 } is given.  json: the JSON form (parent: the parent's id).
-- Returns the process ids that PID stood for, in order.
local function check(lines, id, name, want, opts)
  opts = opts or {}
  local shown = ("got:\n  %s\nwant:\n%s"):format(
    table.concat(lines, "\n  ", 1, math.min(#lines, 30)) ..
      (#lines > 30 and "\n  ..." or ""),
    describe_want(id, name, want))
  assert.are.equal(#want, #lines, "wrong number of events for " .. name ..
    "; " .. shown)
  local pids = {}
  for i, ev in ipairs(want) do
    local pat = opts.json and json_pattern(id, name, ev, opts.parent) or
      text_pattern(id, name, ev)
    local caps = { lines[i]:match(pat) }
    assert.is_truthy(caps[1], ("event %d of %s is not as specified: %q; %s")
      :format(i, name, lines[i], shown))
    if opts.window then
      local t0, t1 = opts.window[1], opts.window[2]
      assert.is_truthy(epoch_of(caps[1], t0 - 1, t1 + 1),
        ("event %d of %s is stamped %s, not between %s and %s")
          :format(i, name, caps[1], iso(t0), iso(t1)))
    end
    for k = 2, #caps do pids[#pids + 1] = tonumber(caps[k]) end
  end
  return pids
end

-- The mission a text or JSON event line is about.
local function id_of(line)
  return line:match('^{"time":"[^"]*","id":"(%x+)"') or line:match("^%S+ (%x+) ")
end

local function event_of(line)
  return line:match('"event":"(%w+)"') or line:match("^%S+ %x+ %S+ (%w+)")
end

local function only(lines, id)
  local out = {}
  for _, l in ipairs(lines) do
    if id_of(l) == id then out[#out + 1] = l end
  end
  return out
end

-- ---- `overmind events` in the background ---------------------------------

local function follow(h, args)
  return e2e.spawn(h, concat({ "events" }, args or {}))
end

local function printed(b) return A.lines(e2e.bg_output(b)) end

local function about(b, id) return only(printed(b), id) end

local function show(b)
  local out = e2e.bg_output(b)
  if #out > 3000 then out = "..." .. out:sub(-3000) end
  return ("the follower printed:\n%s\n(stderr: %s)"):format(out,
    e2e.bg_errors(b))
end

-- Waits until follower b has printed a line about mission `id` for which
-- pred(line) holds (default: any), and returns its lines about `id`.
local function wait_printed(b, id, pred, timeout, what)
  pred = pred or function() return true end
  local ok = pcall(e2e.wait_for, function()
    for _, l in ipairs(about(b, id)) do
      if pred(l) then return true end
    end
    return false
  end, timeout or 10)
  if not ok then
    error(("timed out waiting for %s of %s; %s"):format(what or "an event", id,
      show(b)), 2)
  end
  return about(b, id)
end

local function is_event(kind)
  return function(l) return event_of(l) == kind end
end

-- What a follower printed: a background process, or a terminal.
local function output_of(b)
  if b.screen then return b:screen() end
  return e2e.bg_output(b)
end

-- Until each follower in `bs` shows that it follows: starts marker missions
-- (`true`, named mark-<n>) until each has printed one of them.  Events come
-- in order, so once a follower prints a marker that started after some
-- event, it has printed that event too: this is also the fence after an
-- action.
local marks = 0
local function synced(h, bs, timeout)
  local deadline = e2e.now() + (timeout or 15)
  local first = marks + 1
  repeat
    marks = marks + 1
    e2e.run(h, { "--name", "mark-" .. marks, "true" })
    local next_try = e2e.now() + 1
    repeat
      local all = true
      for _, b in ipairs(bs) do
        local out, seen = output_of(b), false
        for k = first, marks do
          if out:find(" mark-" .. k .. " ", 1, true) or
             out:find('"name":"mark-' .. k .. '"', 1, true) then
            seen = true
            break
          end
        end
        if not seen then
          all = false
          break
        end
      end
      if all then return end
      e2e.sleep(0.02)
    until e2e.now() > next_try
  until e2e.now() > deadline
  local outs = {}
  for i, b in ipairs(bs) do outs[i] = b.screen and b:screen() or show(b) end
  error("the events followers never printed a marker mission; " ..
    table.concat(outs, "\n"), 2)
end

-- `overmind events --since 1m <args>` in the background, until it has
-- printed the event `kind` of mission `id`, which the test made the last
-- event the daemon holds: the replay comes in order, so every line it
-- prints before that one is there by then.  Returns every line printed.
local function replay_until(h, args, id, kind)
  local b = follow(h, concat({ "--since", "1m" }, args))
  wait_printed(b, id, is_event(kind), 10, "the replayed '" .. kind .. "' event")
  local lines = printed(b)
  e2e.stop_bg(b)
  return lines
end

-- ---- the socket ---------------------------------------------------------

-- A reader of the events stream straight on the socket; its reply has
-- been read, so every event published after this call reaches it.
local function reader(h, args)
  local r = A.stream(h, "events", args)
  -- Reads what has already arrived (nothing for 300 ms: nothing more).
  function r:drain()
    self:read_until(function() return false end, 0.3)
    return self.lines
  end
  function r:recs()
    local out = {}
    for i, l in ipairs(self.lines) do
      local ok, v = pcall(e2e.json_decode, l)
      assert.is_true(ok and type(v) == "table", "not a JSON object: " .. l)
      out[i] = v
    end
    return out
  end
  function r:close() self.c:close() end
  return r
end

-- Waits until reader r has a line about `id` for which pred holds.
local function read_about(r, id, pred, what)
  local next_line = 1 -- each line is looked at once
  local ok = r:read_until(function(lines)
    for i = next_line, #lines do
      local l = lines[i]
      if id_of(l) == id and (not pred or pred(l)) then return true end
    end
    next_line = #lines + 1
    return false
  end, 20)
  if not ok then
    local n = #r.lines
    error(("timed out waiting for %s of %s on the socket; it got %d lines, " ..
      "the last ones:\n%s"):format(what or "an event", id, n,
      table.concat(r.lines, "\n", math.max(1, n - 4), n)), 2)
  end
end

-- After an action: a marker mission that `all` (an unfiltered reader)
-- sees, then what the filtered readers got.  The daemon writes an event
-- to every reader before it publishes the next, so once `all` has the
-- marker, the others have every earlier event that matched them.
local function fence(h, all, readers)
  marks = marks + 1
  local id = e2e.run(h, { "--name", "mark-" .. marks, "true" })
  read_about(all, id, is_event("created"), "the marker")
  for _, r in ipairs(readers or {}) do r:drain() end
end

-- (name, event) pairs of reader r's lines, grouped by mission name.
local function by_name(lines)
  local out = {}
  for _, l in ipairs(lines) do
    local v = e2e.json_decode(l)
    out[v.name] = out[v.name] or {}
    table.insert(out[v.name], v.event)
  end
  return out
end

local function names_in(lines)
  local set = {}
  for _, l in ipairs(lines) do set[e2e.json_decode(l).name] = true end
  local out = {}
  for k in pairs(set) do out[#out + 1] = k end
  table.sort(out)
  return out
end

describe("events", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function()
    A.cleanup(h)
    e2e.cleanup(h)
  end)

  -- A text follower and a JSON follower, both following.
  local function followers()
    local tb, jb = follow(h), follow(h, { "--json" })
    synced(h, { tb, jb })
    return tb, jb
  end

  -- Both forms of mission id's events: exactly `want`, in order.
  local function check_both(tb, jb, id, name, want, opts)
    opts = opts or {}
    local p1 = check(about(tb, id), id, name, want, { window = opts.window })
    local p2 = check(about(jb, id), id, name, want,
      { json = true, parent = opts.parent, window = opts.window })
    assert.are.same(p1, p2)
    return p1
  end

  describe("kinds", function()
    it("a task: created, started os_pid=<pid>, exited status=stopped exit_code=0", function()
      local tb, jb = followers()
      local gate = h.home .. "/gate"
      local t0 = os.time()
      local id = e2e.run(h, { "--name", "job",
        ("while [ ! -e %s ]; do sleep 0.02; done; echo done"):format(gate) })
      local pid = e2e.wait_status(h, id, "running").os_pid
      -- printed while the mission runs, not when it ends
      wait_printed(tb, id, is_event("started"))
      wait_printed(jb, id, is_event("started"))
      assert.are.equal("running", e2e.info(h, id).status)
      e2e.write_file(gate, "")
      e2e.wait_status(h, id, "stopped")
      synced(h, { tb, jb })
      local t1 = os.time()
      local pids = check_both(tb, jb, id, "job", {
        { "created" },
        { "started", { "os_pid", PID } },
        { "exited", { "status", "stopped" }, { "exit_code", 0 } },
      }, { window = { t0, t1 } })
      assert.are.same({ pid }, pids)
    end)

    it("a crash with a restart policy: exited crashed, restarting n delay_ms, started again", function()
      local tb, jb = followers()
      local t0 = os.time()
      local id = e2e.run(h, { "--name", "crashy", "--restart", "on-failure",
        "--backoff", "100", "--max-restarts", "2", "exit 3" })
      -- two restarts, then the budget is spent: the third crash is final
      wait_printed(tb, id, function(l) return l:find(" n=2 ", 1, true) end)
      local m = e2e.wait_status(h, id, "crashed")
      assert.are.equal(2, m.restart_count)
      synced(h, { tb, jb })
      local crashed = { "exited", { "status", "crashed" }, { "exit_code", 3 } }
      local pids = check_both(tb, jb, id, "crashy", {
        { "created" },
        { "started", { "os_pid", PID } }, crashed,
        { "restarting", { "n", 1 }, { "delay_ms", 100 } },
        { "started", { "os_pid", PID } }, crashed,
        { "restarting", { "n", 2 }, { "delay_ms", 200 } },
        { "started", { "os_pid", PID } }, crashed,
      }, { window = { t0, os.time() } })
      assert.are_not.equal(pids[1], pids[2])
      assert.are_not.equal(pids[2], pids[3])
    end)

    it("a stop during the backoff: exited status=stopped, and no start", function()
      local tb, jb = followers()
      local id = e2e.run(h, { "--name", "waiting", "--restart", "always",
        "--backoff", "60000", "exit 1" })
      wait_printed(tb, id, is_event("restarting"))
      assert.are.equal("restarting", e2e.info(h, id).status)
      assert.are.equal("Stopped mission " .. id .. "\n", e2e.ok(h, { "stop", id }))
      local m = e2e.wait_status(h, id, "stopped")
      synced(h, { tb, jb })
      check_both(tb, jb, id, "waiting", {
        { "created" },
        { "started", { "os_pid", PID } },
        { "exited", { "status", "crashed" }, { "exit_code", 1 } },
        { "restarting", { "n", 1 }, { "delay_ms", 60000 } },
        { "exited", { "status", "stopped" }, { "exit_code", m.exit_code } },
      })
    end)

    it("kill of a live mission: exited status=killed exit_code=137, then removed", function()
      local tb, jb = followers()
      local id = e2e.run(h, { "--name", "victim", "sleep 300" })
      local pid = e2e.wait_status(h, id, "running").os_pid
      wait_printed(jb, id, is_event("started"))
      assert.are.equal("Killed mission " .. id .. "\n", e2e.ok(h, { "kill", id }))
      wait_printed(tb, id, is_event("removed"))
      synced(h, { tb, jb })
      local pids = check_both(tb, jb, id, "victim", {
        { "created" },
        { "started", { "os_pid", PID } },
        { "exited", { "status", "killed" }, { "exit_code", 137 } },
        { "removed" },
      })
      assert.are.same({ pid }, pids)
    end)

    it("rm and prune: removed, for exited missions only", function()
      local tb, jb = followers()
      local a = e2e.run(h, { "--name", "done-a", "echo a" })
      local b = e2e.run(h, { "--name", "done-b", "exit 2" })
      local c = e2e.run(h, { "--name", "live-c", "sleep 300" })
      e2e.wait_status(h, a, "stopped")
      e2e.wait_status(h, b, "crashed")
      e2e.ok(h, { "rm", a })
      wait_printed(tb, a, is_event("removed"))
      e2e.ok(h, { "prune" })
      wait_printed(jb, b, is_event("removed"))
      synced(h, { tb, jb })
      check_both(tb, jb, a, "done-a", {
        { "created" }, { "started", { "os_pid", PID } },
        { "exited", { "status", "stopped" }, { "exit_code", 0 } },
        { "removed" },
      })
      check_both(tb, jb, b, "done-b", {
        { "created" }, { "started", { "os_pid", PID } },
        { "exited", { "status", "crashed" }, { "exit_code", 2 } },
        { "removed" },
      })
      -- prune leaves a live mission alone
      check_both(tb, jb, c, "live-c", {
        { "created" }, { "started", { "os_pid", PID } },
      })
    end)

    it("--activity-timeout: stalled, then exited status=crashed", function()
      local tb, jb = followers()
      local id = e2e.run(h, { "--name", "quiet", "--activity-timeout", "1",
        "sleep 300" })
      local m = e2e.wait_status(h, id, "crashed", 15)
      assert.are.equal(137, m.exit_code)
      synced(h, { tb, jb })
      check_both(tb, jb, id, "quiet", {
        { "created" },
        { "started", { "os_pid", PID } },
        { "stalled" },
        { "exited", { "status", "crashed" }, { "exit_code", 137 } },
      })
    end)

    it("a claude task: result is_error cost_usd before exited", function()
      local tb, jb = followers()
      local ok = A.run_claude(h, { "--name", "agent", "hello" })
      local bad = A.run_claude(h, { "--name", "failing", "FAIL", "now" })
      e2e.wait_status(h, ok, "stopped")
      e2e.wait_status(h, bad, "crashed")
      synced(h, { tb, jb })
      check_both(tb, jb, ok, "agent", {
        { "created" },
        { "started", { "os_pid", PID } },
        { "result", { "is_error", false }, { "cost_usd", 0.0012 } },
        { "exited", { "status", "stopped" }, { "exit_code", 0 } },
      })
      check_both(tb, jb, bad, "failing", {
        { "created" },
        { "started", { "os_pid", PID } },
        { "result", { "is_error", true }, { "cost_usd", 0.0012 } },
        { "exited", { "status", "crashed" }, { "exit_code", 1 } },
      })
    end)

    it("a result without a cost: cost_usd=null", function()
      local fake = h.home .. "/fake-claude"
      e2e.write_file(fake, table.concat({
        "#!/bin/sh",
        [[echo '{"type":"system","subtype":"init","session_id":"sid-free"}']],
        [[echo '{"type":"result","subtype":"success","is_error":false,"result":"free","num_turns":1,"session_id":"sid-free"}']],
        "" }, "\n"))
      e2e.sh("chmod +x " .. fake)
      local tb, jb = followers()
      local id = e2e.run(h, { "--name", "free", "--provider", "claude",
        "--env", "OVERMIND_CLAUDE_BIN=" .. fake, "go" })
      e2e.wait_status(h, id, "stopped")
      synced(h, { tb, jb })
      check_both(tb, jb, id, "free", {
        { "created" },
        { "started", { "os_pid", PID } },
        { "result", { "is_error", false }, { "cost_usd", null } },
        { "exited", { "status", "stopped" }, { "exit_code", 0 } },
      })
    end)

    it("a child's JSON events end with its parent's id; the text form has none", function()
      local tb, jb = followers()
      local lead = e2e.run(h, { "--name", "lead", "sleep 300" })
      local kid = e2e.run(h, { "--name", "kid", "--parent", "lead", "echo kid" })
      e2e.wait_status(h, kid, "stopped")
      synced(h, { tb, jb })
      check_both(tb, jb, kid, "kid", {
        { "created" },
        { "started", { "os_pid", PID } },
        { "exited", { "status", "stopped" }, { "exit_code", 0 } },
      }, { parent = lead })
      check_both(tb, jb, lead, "lead", {
        { "created" }, { "started", { "os_pid", PID } },
      })
    end)
  end)

  describe("following", function()
    it("prints events live as missions start, gives no past events, and ends on Ctrl-C", function()
      local dpid, baseline = load.start_daemon(h)
      local before = e2e.run(h, { "--name", "before", "echo before" })
      e2e.wait_status(h, before, "stopped")
      local b = follow(h)
      synced(h, { b })
      local ids = {}
      for i = 1, 5 do
        ids[i] = e2e.run(h, { "--name", "live-" .. i, "echo " .. i })
        -- each one is printed as it happens
        wait_printed(b, ids[i], is_event("exited"))
      end
      local lines = printed(b)
      for i, id in ipairs(ids) do
        check(only(lines, id), id, "live-" .. i, {
          { "created" }, { "started", { "os_pid", PID } },
          { "exited", { "status", "stopped" }, { "exit_code", 0 } },
        })
      end
      -- in the order they happened
      local pos = {}
      for n, l in ipairs(lines) do
        local id = id_of(l)
        if id and not pos[id] then pos[id] = n end
      end
      for i = 2, #ids do
        assert.is_true(pos[ids[i - 1]] < pos[ids[i]], "live-" .. i ..
          " printed before live-" .. (i - 1))
      end
      -- a follower without --since replays nothing
      assert.are.same({}, only(lines, before))
      assert.are.equal("", e2e.bg_errors(b))
      -- it goes on until it is ended, and the daemon lets go of it then
      assert.is_nil(e2e.bg_done(b))
      assert(core.kill(b.pid, "TERM"))
      e2e.bg_wait(b, 10, "events to end on SIGTERM")
      load.fds_back(dpid, baseline, "after an events follower ended")
      load.no_zombies(dpid, "after an events follower ended")
      assert.are.equal("pong", e2e.request(h, "ping"))
    end)

    it("on a terminal, prints each line as it comes and ends on Ctrl-C", function()
      local dpid, baseline = load.start_daemon(h)
      local t = A.terminal(h, { "events" })
      synced(h, { t })
      local id = e2e.run(h, { "--name", "tty", "sleep 300" })
      local pid = e2e.wait_status(h, id, "running").os_pid
      t:expect(id .. " tty started os_pid=" .. pid .. "\r\n")
      e2e.ok(h, { "stop", id })
      local m = e2e.wait_status(h, id, "stopped")
      t:expect(id .. " tty exited status=stopped exit_code=" ..
        tostring(m.exit_code == null and "null" or m.exit_code) .. "\r\n")
      local lines = {}
      for l in t:screen():gmatch("([^\r\n]*)\r\n") do lines[#lines + 1] = l end
      check(only(lines, id), id, "tty", {
        { "created" }, { "started", { "os_pid", pid } },
        { "exited", { "status", "stopped" }, { "exit_code", m.exit_code } },
      })
      t:write("\3")
      t:wait_exit(10)
      load.fds_back(dpid, baseline, "after Ctrl-C on events")
      assert.are.equal("pong", e2e.request(h, "ping"))
    end)

    it("answers the socket request with an ok line, then one JSON line per event", function()
      e2e.ok(h, { "start" })
      local r = reader(h, { filters = { event = { "exited" } } })
      assert.is_truthy(r.reply_line:match("^{\"ok\":{.*}$"), r.reply_line)
      assert.are.equal("table", type(r.reply.ok))
      local id = e2e.run(h, { "--name", "sock", "exit 4" })
      read_about(r, id, is_event("exited"), "the exited event")
      check(only(r.lines, id), id, "sock", {
        { "exited", { "status", "crashed" }, { "exit_code", 4 } },
      }, { json = true })
      r:close()
    end)
  end)

  describe("filters", function()
    it("id= keeps one mission's events, by its id or its name", function()
      local a = e2e.run(h, { "--name", "fa", "echo a" })
      e2e.wait_status(h, a, "stopped")
      local c = e2e.run(h, { "--name", "fc", "echo c" })
      e2e.wait_status(h, c, "stopped")
      local want = {
        { "created" }, { "started", { "os_pid", PID } },
        { "exited", { "status", "stopped" }, { "exit_code", 0 } },
      }
      check(replay_until(h, { "--filter", "id=" .. c }, c, "exited"), c, "fc", want)
      check(replay_until(h, { "--filter", "id=fc" }, c, "exited"), c, "fc", want)
    end)

    it("name= keeps the events of missions of that name", function()
      local a = e2e.run(h, { "--name", "na", "echo a" })
      e2e.wait_status(h, a, "stopped")
      local c = e2e.run(h, { "--name", "nc", "exit 5" })
      e2e.wait_status(h, c, "crashed")
      check(replay_until(h, { "--filter", "name=nc" }, c, "exited"), c, "nc", {
        { "created" }, { "started", { "os_pid", PID } },
        { "exited", { "status", "crashed" }, { "exit_code", 5 } },
      })
    end)

    it("event= keeps one kind; a key given twice matches either value", function()
      local a = e2e.run(h, { "--name", "ea", "echo a" })
      e2e.wait_status(h, a, "stopped")
      local b = e2e.run(h, { "--name", "eb", "exit 2" })
      e2e.wait_status(h, b, "crashed")
      local lines = replay_until(h, { "--filter", "event=exited" }, b, "exited")
      assert.are.equal(2, #lines, table.concat(lines, "\n"))
      check({ lines[1] }, a, "ea",
        { { "exited", { "status", "stopped" }, { "exit_code", 0 } } })
      check({ lines[2] }, b, "eb",
        { { "exited", { "status", "crashed" }, { "exit_code", 2 } } })
      lines = replay_until(h, { "--filter", "event=created",
        "--filter", "event=exited" }, b, "exited")
      assert.are.equal(4, #lines, table.concat(lines, "\n"))
      check(only(lines, a), a, "ea", { { "created" },
        { "exited", { "status", "stopped" }, { "exit_code", 0 } } })
      check(only(lines, b), b, "eb", { { "created" },
        { "exited", { "status", "crashed" }, { "exit_code", 2 } } })
    end)

    it("different keys must all match", function()
      local a = e2e.run(h, { "--name", "ca", "echo a" })
      e2e.wait_status(h, a, "stopped")
      local b = e2e.run(h, { "--name", "cb", "echo b" })
      e2e.wait_status(h, b, "stopped")
      local lines = replay_until(h, { "--filter", "name=cb",
        "--filter", "event=exited" }, b, "exited")
      check(lines, b, "cb",
        { { "exited", { "status", "stopped" }, { "exit_code", 0 } } })
      -- on the socket: id and event of a mission that is not the last
      e2e.ok(h, { "start" })
      local all = reader(h, { since = os.time() - 60 })
      local r = reader(h, { since = os.time() - 60,
        filters = { id = { a }, event = { "started", "exited" } } })
      fence(h, all, { r })
      check(r.lines, a, "ca", {
        { "started", { "os_pid", PID } },
        { "exited", { "status", "stopped" }, { "exit_code", 0 } },
      }, { json = true })
      all:close()
      r:close()
    end)

    it("parent= gives a mission and all its descendants, grandchildren too", function()
      e2e.ok(h, { "start" })
      local lead = e2e.run(h, { "--name", "lead", "sleep 300" })
      local all = reader(h, { since = os.time() - 60 })
      local r = reader(h, { since = os.time() - 60, filters = { parent = { lead } } })
      local child = e2e.run(h, { "--name", "child", "--parent", "lead", "sleep 300" })
      local grand = e2e.run(h, { "--name", "grand", "--parent", "child", "echo g" })
      e2e.run(h, { "--name", "other", "sleep 300" })
      local stray = e2e.run(h, { "--name", "stray", "--parent", "other", "echo s" })
      e2e.wait_status(h, grand, "stopped")
      e2e.wait_status(h, stray, "stopped")
      -- a removed descendant is still one
      e2e.ok(h, { "rm", grand })
      e2e.ok(h, { "rm", stray })
      fence(h, all, { r })
      assert.are.same({ "child", "grand", "lead" }, names_in(r.lines))
      assert.are.same({
        lead = { "created", "started" },
        child = { "created", "started" },
        grand = { "created", "started", "exited", "removed" },
      }, by_name(r.lines))
      check(only(r.lines, grand), grand, "grand", {
        { "created" }, { "started", { "os_pid", PID } },
        { "exited", { "status", "stopped" }, { "exit_code", 0 } },
        { "removed" },
      }, { json = true, parent = child })
      all:close()
      r:close()
    end)

    -- Missions that a follower names before they exist: the follower of a
    -- pipeline or a lead agent is started first, as `docker events
    -- --filter container=<name>` is.
    local function named_later(filters)
      e2e.ok(h, { "start" })
      local all = reader(h)
      local r = reader(h, { filters = filters })
      e2e.run(h, { "--name", "boss", "sleep 300" })
      local worker = e2e.run(h, { "--name", "worker", "--parent", "boss", "echo w" })
      local helper = e2e.run(h, { "--name", "helper", "--parent", "worker", "echo h" })
      local other = e2e.run(h, { "--name", "bystander", "echo x" })
      for _, id in ipairs({ worker, helper, other }) do
        e2e.wait_status(h, id, "stopped")
      end
      fence(h, all, { r })
      all:close()
      r:close()
      return r.lines
    end

    it("id=<name> matches a mission started after the follower", function()
      local lines = named_later({ id = { "boss" } })
      assert.are.same({ boss = { "created", "started" } }, by_name(lines))
    end)

    it("parent=<name> matches a mission started after the follower, and its descendants", function()
      local lines = named_later({ parent = { "boss" } })
      assert.are.same({
        boss = { "created", "started" },
        worker = { "created", "started", "exited" },
        helper = { "created", "started", "exited" },
      }, by_name(lines), "--filter parent=boss, given before boss started, got:\n" ..
        table.concat(lines, "\n"))
    end)

    it("parent=<name> on the command line", function()
      local lead = e2e.run(h, { "--name", "plead", "sleep 300" })
      local child = e2e.run(h, { "--name", "pchild", "--parent", "plead", "sleep 300" })
      local grand = e2e.run(h, { "--name", "pgrand", "--parent", "pchild", "echo g" })
      local other = e2e.run(h, { "--name", "pother", "echo o" })
      e2e.wait_status(h, grand, "stopped")
      e2e.wait_status(h, other, "stopped")
      e2e.ok(h, { "rm", other })
      e2e.ok(h, { "rm", grand })
      local lines = replay_until(h, { "--filter", "parent=plead" }, grand, "removed")
      check(only(lines, lead), lead, "plead",
        { { "created" }, { "started", { "os_pid", PID } } })
      check(only(lines, child), child, "pchild",
        { { "created" }, { "started", { "os_pid", PID } } })
      check(only(lines, grand), grand, "pgrand", {
        { "created" }, { "started", { "os_pid", PID } },
        { "exited", { "status", "stopped" }, { "exit_code", 0 } },
        { "removed" },
      })
      assert.are.equal(8, #lines, table.concat(lines, "\n"))
    end)

    it("an unknown key is Error: invalid_filter: <key>", function()
      for _, args in ipairs({ { "--filter", "color=red" },
                              { "--filter", "event=exited", "--filter", "color=red" },
                              { "--json", "--since", "1m", "--filter", "color=red" } }) do
        local r = e2e.om(h, concat({ "events" }, args), { timeout = 10 })
        assert.are.equal("Error: invalid_filter: color\n", r.err,
          "events " .. table.concat(args, " "))
        assert.are.equal(1, r.code)
        assert.are.equal("", r.out)
      end
      local replies = e2e.raw_request(h,
        '{"cmd":"events","args":{"filters":{"color":["red"]}}}\n', 1)
      assert.are.same({ '{"error":"invalid_filter: color"}' }, replies)
      assert.are.equal("pong", e2e.request(h, "ping"))
    end)
  end)

  describe("--since", function()
    it("a duration replays that many seconds of events, then follows", function()
      local a = e2e.run(h, { "--name", "old", "echo old" })
      e2e.wait_status(h, a, "stopped")
      local ta = os.time()
      e2e.wait_for(function() return os.time() >= ta + 4 end, 10, "the clock")
      local b = e2e.run(h, { "--name", "new", "echo new" })
      e2e.wait_status(h, b, "stopped")
      local want_new = {
        { "created" }, { "started", { "os_pid", PID } },
        { "exited", { "status", "stopped" }, { "exit_code", 0 } },
      }
      -- 3s back reaches `new`, not `old` (at least 4s older)
      local f = follow(h, { "--since", "3s" })
      wait_printed(f, b, is_event("exited"), 10, "the replay")
      check(printed(f), b, "new", want_new)
      -- and it follows
      local c = e2e.run(h, { "--name", "later", "echo later" })
      wait_printed(f, c, is_event("exited"), 10, "a live event after the replay")
      local lines = printed(f)
      check(only(lines, b), b, "new", want_new)
      check(only(lines, c), c, "later", want_new)
      assert.are.same({}, only(lines, a))
      assert.are.equal(6, #lines, table.concat(lines, "\n"))
      e2e.stop_bg(f)
      -- a minute back reaches both, oldest first
      lines = replay_until(h, {}, c, "exited")
      assert.are.equal(9, #lines, table.concat(lines, "\n"))
      check({ lines[1], lines[2], lines[3] }, a, "old", want_new)
      check({ lines[4], lines[5], lines[6] }, b, "new", want_new)
      check({ lines[7], lines[8], lines[9] }, c, "later", want_new)
    end)

    it("an RFC 3339 time replays the events from that second on", function()
      local a = e2e.run(h, { "--name", "before", "echo a" })
      e2e.wait_status(h, a, "stopped")
      local ta = os.time()
      e2e.wait_for(function() return os.time() > ta end, 5, "the next second")
      local b = e2e.run(h, { "--name", "after", "echo b" })
      e2e.wait_status(h, b, "stopped")
      -- the times the two were created at, from the JSON replay
      local lines = replay_until(h, { "--json" }, b, "exited")
      local created = only(lines, b)[1]
      local tb = assert(created:match('^{"time":"(' .. TIME .. ')"'), created)
      local first = only(lines, a)[1]
      local t_a = assert(first:match('^{"time":"(' .. TIME .. ')"'), first)
      local tb_epoch = assert(epoch_of(tb, ta - 5, os.time() + 1), tb)
      assert.is_true(tb_epoch > ta)
      local want = {
        { "created" }, { "started", { "os_pid", PID } },
        { "exited", { "status", "stopped" }, { "exit_code", 0 } },
      }
      for _, since in ipairs({
        tb,                                                          -- Z
        os.date("!%Y-%m-%dT%H:%M:%S", tb_epoch + 7200) .. "+02:00",  -- an offset
        os.date("!%Y-%m-%dT%H:%M:%S", tb_epoch - 3600) .. "-01:00",
      }) do
        local f = follow(h, { "--since", since })
        wait_printed(f, b, is_event("exited"), 10, "the replay since " .. since)
        check(printed(f), b, "after", want)
        e2e.stop_bg(f)
      end
      -- from the second `before` was created in, both
      local f = follow(h, { "--since", t_a })
      wait_printed(f, b, is_event("exited"), 10, "the replay since " .. t_a)
      local got = printed(f)
      assert.are.equal(6, #got, table.concat(got, "\n"))
      check(only(got, a), a, "before", want)
      check(only(got, b), b, "after", want)
      e2e.stop_bg(f)
    end)

    it("refuses a --since it cannot read", function()
      for _, v in ipairs({ "yesterday", "5x", "-5m", "2026-12-01" }) do
        local r = e2e.om(h, { "events", "--since", v }, { timeout = 10 })
        assert.are.equal(1, r.code, "--since " .. v)
        assert.are.equal("", r.out)
        assert.is_truthy(r.err:match("^Error: [^\n]*\n$"), r.err)
      end
    end)

    it("refuses an RFC 3339 time that names no real date", function()
      for _, v in ipairs({ "2026-13-01T00:00:00Z", "2026-02-30T12:00:00Z",
                           "2026-12-01T25:00:00Z", "2026-12-01T12:61:00Z" }) do
        local r = e2e.om(h, { "events", "--since", v }, { timeout = 5 })
        assert.are.equal(1, r.code, "--since " .. v .. " was taken")
        assert.are.equal("", r.out)
        assert.is_truthy(r.err:match("^Error: [^\n]*\n$"), r.err)
      end
    end)
  end)

  describe("across daemon restarts", function()
    local want_done = {
      { "created" }, { "started", { "os_pid", PID } },
      { "exited", { "status", "stopped" }, { "exit_code", 0 } },
    }

    it("the next daemon replays what the last one published before shutdown", function()
      local done = e2e.run(h, { "--name", "done", "echo done" })
      e2e.wait_status(h, done, "stopped")
      local live = e2e.run(h, { "--name", "live", "sleep 300" })
      local pid = e2e.wait_status(h, live, "running").os_pid
      assert.are.equal("Daemon stopped\n", e2e.ok(h, { "shutdown" }))
      assert.is_table(core.stat(h.home .. "/events.jsonl"),
        "no events.jsonl in OVERMIND_HOME")
      e2e.ok(h, { "start" })
      local m = e2e.info(h, live)
      assert.are.equal("stopped", m.status)
      local f = follow(h, { "--since", "1m" })
      wait_printed(f, live, is_event("exited"), 10, "the replayed exit")
      local lines = printed(f)
      assert.are.equal(6, #lines, table.concat(lines, "\n"))
      check({ lines[1], lines[2], lines[3] }, done, "done", want_done)
      local pids = check({ lines[4], lines[5], lines[6] }, live, "live", {
        { "created" }, { "started", { "os_pid", PID } },
        { "exited", { "status", "stopped" }, { "exit_code", m.exit_code } },
      })
      assert.are.same({ pid }, pids)
      -- then the new daemon's own events follow
      local after = e2e.run(h, { "--name", "after", "echo after" })
      wait_printed(f, after, is_event("exited"), 10, "a new daemon's event")
      check(about(f, after), after, "after", want_done)
      assert.are.equal(9, #printed(f))
    end)

    it("after kill -9, the next daemon replays them and tells of the lost mission's exit", function()
      local done = e2e.run(h, { "--name", "done", "echo done" })
      e2e.wait_status(h, done, "stopped")
      local lost = e2e.run(h, { "--name", "lost", "sleep 300" })
      e2e.wait_status(h, lost, "running")
      local dpid = e2e.daemon_pid(h)
      core.kill(dpid, "KILL")
      e2e.wait_for(function() return not e2e.alive(dpid) end, 10, "daemon death")
      e2e.ok(h, { "start" })
      local m = e2e.wait_status(h, lost, "crashed")
      assert.are.equal(null, m.exit_code)
      for _, json in ipairs({ false, true }) do
        local b = follow(h, json and { "--since", "1m", "--json" } or { "--since", "1m" })
        wait_printed(b, lost, is_event("exited"), 10, "the lost mission's exit")
        local lines = printed(b)
        assert.are.equal(6, #lines, table.concat(lines, "\n"))
        check({ lines[1], lines[2], lines[3] }, done, "done", want_done, { json = json })
        check({ lines[4], lines[5], lines[6] }, lost, "lost", {
          { "created" }, { "started", { "os_pid", PID } },
          { "exited", { "status", "crashed" }, { "exit_code", null } },
        }, { json = json })
        e2e.stop_bg(b)
      end
    end)

    it("keeps at least the last 10,000 events, across a restart", function()
      -- a provider that makes a result event of every line: 10,500 events
      -- from one process
      core.mkdir(h.home .. "/providers")
      e2e.write_file(h.home .. "/providers/each.lua", [[
return {
  build_command = function(m) return m.command end,
  parse = function(line)
    return { type = "result", text = line, is_error = false, cost_usd = 0 }
  end,
}
]])
      local N = 10500
      local id = e2e.run(h, { "--name", "chatty", "--provider", "each",
        "seq 1 " .. N })
      -- (the daemon may take a while over so many results: no answer
      -- within a request's timeout is not a failure here)
      e2e.wait_for(function()
        local m = e2e.request(h, "info", { id = id })
        return m and m.status == "stopped"
      end, load.secs(120), "10,500 results")
      -- everything up to a marker started after the reader subscribed
      local function history()
        local r = reader(h, { since = 0 })
        marks = marks + 1
        local mark = e2e.run(h, { "--name", "mark-" .. marks, "true" })
        read_about(r, mark, is_event("created"), "the marker")
        local lines = {}
        for _, l in ipairs(r.lines) do
          if id_of(l) == mark then break end
          lines[#lines + 1] = l
        end
        r:close()
        return lines, mark
      end
      local before, mark = history()
      assert.is_true(#before >= 10000, "the daemon holds " .. #before .. " events")
      -- the newest ones, oldest first, ending with the mission's exit
      check({ before[#before] }, id, "chatty",
        { { "exited", { "status", "stopped" }, { "exit_code", 0 } } }, { json = true })
      local results = 0
      for _, l in ipairs(before) do
        if event_of(l) == "result" then results = results + 1 end
      end
      assert.is_true(results >= 10000 - 3, results .. " result events replayed")
      e2e.ok(h, { "shutdown" })
      e2e.ok(h, { "start" })
      local after = history()
      assert.is_true(#after >= 10000,
        "the next daemon holds " .. #after .. " events")
      -- the same lines: what the first daemon held, then the marker's
      local want = {}
      for _, l in ipairs(before) do want[#want + 1] = l end
      local tail = {}
      for _, l in ipairs(after) do
        if id_of(l) == mark then tail[#tail + 1] = l end
      end
      assert.are.equal(3, #tail, "the first marker's events after the restart")
      for _, l in ipairs(tail) do want[#want + 1] = l end
      for k = 0, 9999 do
        local got, exp = after[#after - k], want[#want - k]
        if got ~= exp then
          error(("event %d from the end differs after the restart:\n%s\n%s")
            :format(k + 1, tostring(got), tostring(exp)))
        end
      end
    end)
  end)

  describe("slow readers", function()
    it("drops a reader that never reads once 8 MiB is queued; the daemon and other readers go on", function()
      local dpid, baseline = load.start_daemon(h)
      -- subscribes, then never reads
      local idle = reader(h)
      -- a reader that reads
      local busy = follow(h, { "--json" })
      synced(h, { busy })
      -- two crash loops with long names: events of about 4 KB each
      local loops, names = {}, {}
      for i = 1, 2 do
        names[i] = "loop" .. i .. "-" .. string.rep("x", 4000)
        loops[i] = e2e.run(h, { "--name", names[i], "--restart", "always",
          "--backoff", "0", "--max-restarts", "0", "exit 1" })
      end
      local worst, max_rss = 0, 0
      local t0 = core.now()
      while true do
        local list, err, took = load.timed(h, "ps")
        assert.is_table(list, tostring(err))
        worst = math.max(worst, took)
        max_rss = math.max(max_rss, load.rss_kb(dpid) or 0)
        local st = core.stat(busy.out)
        -- well past 8 MiB, and the socket buffers
        if st and st.size > 14 * 1048576 then break end
        assert.is_true((core.now() - t0) / 1000 < load.secs(90),
          "the crash loops published too little: " .. tostring(st and st.size))
        core.sleep(20)
      end
      assert.is_true(worst < load.secs(1),
        ("ps took %.2fs while the events flooded"):format(worst))
      assert.is_true(max_rss < load.rss_bound_kb(),
        ("the daemon grew to %d KiB"):format(max_rss))
      for i = 1, 2 do e2e.ok(h, { "kill", loops[i] }) end
      for i = 1, 2 do
        wait_printed(busy, loops[i], is_event("removed"), load.secs(20),
          "the loop's removal")
      end
      -- the daemon holds the busy reader's connection, not the idle one's
      load.fds_back(dpid, baseline + 1, "with a reader that never reads")
      load.no_zombies(dpid, "after the crash loops")
      -- the reader that reads got every event of the loops, in order
      local lines = printed(busy)
      for i = 1, 2 do
        local mine = only(lines, loops[i])
        local n, started, exited = 0, 0, 0
        for _, l in ipairs(mine) do
          local v = e2e.json_decode(l)
          assert.are.equal(names[i], v.name)
          if v.event == "restarting" then
            n = n + 1
            assert.are.equal(n, v.n, "restarting events skipped or repeated")
            assert.are.equal(0, v.delay_ms)
          elseif v.event == "started" then
            started = started + 1
          elseif v.event == "exited" then
            exited = exited + 1
          end
        end
        assert.is_true(n > 100, "only " .. n .. " restarts")
        assert.are.equal(n + 1, started)
        assert.is_true(exited == n + 1 or exited == n, exited .. " exits")
        assert.are.equal("removed", e2e.json_decode(mine[#mine]).event)
      end
      -- the idle reader was dropped: a part of the stream, then the end
      local got, seen_removed = 0, false
      local last_err
      while true do
        local line, err = idle.c:recv(5000)
        if not line then
          last_err = err
          break
        end
        got = got + 1
        if line:find('"event":"removed"', 1, true) then seen_removed = true end
      end
      idle:close()
      assert.are.equal("eof", last_err, "the idle reader was not dropped")
      assert.is_false(seen_removed, "the idle reader got the whole stream")
      assert.is_true(got < #lines, "the idle reader got every line")
      -- the daemon carries on, and so does the busy reader
      local after = e2e.run(h, { "--name", "after-drop", "echo after" })
      wait_printed(busy, after, is_event("exited"), 10, "an event after the drop")
      check(about(busy, after), after, "after-drop", {
        { "created" }, { "started", { "os_pid", PID } },
        { "exited", { "status", "stopped" }, { "exit_code", 0 } },
      }, { json = true })
      assert(core.kill(busy.pid, "TERM"))
      e2e.bg_wait(busy, 10, "the busy reader to end")
      load.fds_back(dpid, baseline, "after both readers went")
    end)
  end)
end)
