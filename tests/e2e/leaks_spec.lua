-- Resource hygiene of the daemon: after many missions its open file
-- descriptors are back to their baseline and it leaves no zombie children.
local e2e = require("support.e2e")
local core = require("overmind.core")

local N = 200

describe("leaks", function()
  local h, dpid, baseline

  local function connect()
    return assert(core.connect(h.home .. "/overmind.sock"))
  end

  -- Sends every line on one connection and reads one reply per line.
  local function pipeline(lines)
    local c = connect()
    local replies = {}
    -- a few at a time, so neither side's socket buffer fills up
    local i = 1
    while i <= #lines do
      local batch = {}
      for k = i, math.min(i + 19, #lines) do batch[#batch + 1] = lines[k] end
      assert(c:send(table.concat(batch, "\n") .. "\n"))
      for _ = 1, #batch do
        local line = c:recv(20000)
        assert.is_not_nil(line, "no reply")
        replies[#replies + 1] = e2e.json_decode(line)
      end
      i = i + #batch
    end
    c:close()
    return replies
  end

  local function run_request(command, extra)
    local args = { command = command, cwd = "/tmp" }
    for k, v in pairs(extra or {}) do args[k] = v end
    return require("cjson").encode({ cmd = "run", args = args })
  end

  local function fds_back(what)
    local last
    pcall(e2e.wait_for, function()
      last = e2e.fd_count(dpid)
      return last == baseline
    end, 5)
    if last ~= baseline then
      local list = e2e.sh("ls -l /proc/" .. dpid .. "/fd | tail -3")
      assert.are.equal(baseline, last, ("%s: the daemon holds %d file " ..
        "descriptors, %d at the baseline; the last few:\n%s")
        :format(what, last, baseline, list))
    end
  end

  local function no_zombies(what)
    pcall(e2e.wait_for, function()
      return #e2e.zombies_of(dpid) == 0
    end, 5)
    assert.are.same({}, e2e.zombies_of(dpid),
      what .. ": zombie children of the daemon")
  end

  local function all_final()
    return e2e.wait_for(function()
      local list = assert(e2e.request(h, "ps"))
      for _, m in ipairs(list) do
        if m.status == "running" or m.status == "restarting" then return false end
      end
      return list
    end, 60, "every mission to end")
  end

  before_each(function()
    h = e2e.new_home()
    e2e.ok(h, { "start" })
    dpid = e2e.daemon_pid(h)
    -- one mission first, so what the daemon opens once (and keeps) counts
    -- in the baseline
    local id = e2e.run(h, { "echo warm-up" })
    e2e.wait_status(h, id, "stopped")
    e2e.ok(h, { "rm", id })
    no_zombies("warm-up")
    e2e.wait_for(function()
      local n = e2e.fd_count(dpid)
      core.sleep(50)
      return n == e2e.fd_count(dpid)
    end, 5)
    baseline = e2e.fd_count(dpid)
  end)
  after_each(function() e2e.cleanup(h) end)

  it("is back to its baseline after " .. N .. " missions end", function()
    local lines = {}
    for i = 1, N do
      if i % 4 == 0 then
        lines[i] = run_request("echo crash " .. i .. " >&2; exit 1")
      else
        lines[i] = run_request("echo mission " .. i)
      end
    end
    local replies = pipeline(lines)
    for i, r in ipairs(replies) do
      assert.is_not_nil(r.ok, "run #" .. i .. " failed: " .. tostring(r.error))
    end
    local list = all_final()
    assert.are.equal(N, #list)
    local crashed = 0
    for _, m in ipairs(list) do
      if m.status == "crashed" then crashed = crashed + 1 end
    end
    assert.are.equal(N / 4, crashed)
    no_zombies("after " .. N .. " missions")
    fds_back("after " .. N .. " finished missions")
  end)

  it("is back to its baseline after " .. N .. " missions are pruned", function()
    local lines = {}
    for i = 1, N do lines[i] = run_request("echo mission " .. i) end
    pipeline(lines)
    all_final()
    local out = e2e.ok(h, { "prune" })
    assert.is_truthy(out:find("Pruned " .. N .. " missions\n", 1, true))
    no_zombies("after prune")
    fds_back("after prune")
  end)

  it("is back to its baseline after stops, kills, follows and waits", function()
    local lines = {}
    for i = 1, 40 do
      lines[i] = run_request("sleep 30 & echo started " .. i .. "; wait",
        { name = "s" .. i })
    end
    local ids = {}
    for i, r in ipairs(pipeline(lines)) do ids[i] = r.ok.id end
    -- followers and waiters on some of them, kept open
    local watchers = {}
    for i = 1, 10 do
      local c = connect()
      c:send('{"cmd":"logs","args":{"id":"' .. ids[i] .. '","follow":true}}\n')
      assert.is_not_nil(c:recv(5000))
      watchers[#watchers + 1] = c
      local w = connect()
      w:send('{"cmd":"wait","args":{"ids":["' .. ids[i + 10] .. '"]}}\n')
      watchers[#watchers + 1] = w
    end
    -- and some clients that go away mid-stream
    for i = 21, 25 do
      local c = connect()
      c:send('{"cmd":"logs","args":{"id":"' .. ids[i] .. '","follow":true}}\n')
      c:recv(5000)
      c:close()
    end
    local stops = {}
    for i = 1, 15 do
      stops[i] = '{"cmd":"stop","args":{"id":"' .. ids[i] .. '"}}'
    end
    for _, r in ipairs(pipeline(stops)) do
      assert.is_not_nil(r.ok, tostring(r.error))
    end
    local kills = {}
    for i = 16, 30 do
      kills[#kills + 1] = '{"cmd":"kill","args":{"id":"' .. ids[i] .. '"}}'
    end
    pipeline(kills)
    -- a process killed from outside
    local pid = e2e.info(h, ids[31]).os_pid
    core.kill(-pid, "KILL")
    e2e.wait_status(h, ids[31], "crashed")
    assert.are.equal("Killed all missions\n", e2e.ok(h, { "kill", "--all" }))
    for _, c in ipairs(watchers) do c:close() end
    assert.are.equal("[]\n", e2e.ok(h, { "ps", "--json" }))
    no_zombies("after stop and kill")
    fds_back("after stop and kill")
  end)

  it("is back to its baseline after many client connections", function()
    for _ = 1, 10 do
      local cs = {}
      for i = 1, 20 do
        cs[i] = connect()
        cs[i]:send('{"cmd":"ping"}\n{"cmd":"ps"}\nnot json\n')
      end
      for i = 1, 20 do
        if i % 2 == 0 then cs[i]:recv(5000) end
        cs[i]:close()
      end
    end
    -- one oversized line
    local c = connect()
    c:send(string.rep("x", (1 << 20) + 10) .. "\n")
    c:recv(5000)
    c:close()
    fds_back("after 200 connections")
  end)
end)
