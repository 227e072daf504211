-- SPEC §3 `status` (exact labels) and `monitor`.
local e2e = require("support.e2e")

local function version()
  local out = e2e.sh(e2e.quote(e2e.bin) .. " --version")
  return out:match("^overmind (%S+)\n$")
end

-- The status block with its variable values captured.
local PATTERN = "^Overmind Daemon\n" ..
  "  PID:        (%d+)\n" ..
  "  Version:    ([^\n]+)\n" ..
  "  Uptime:     ([^\n]+)\n" ..
  "  Memory:     (%d+%.%d) MB\n" ..
  "  Home:       ([^\n]+)\n" ..
  "\n" ..
  "Missions\n" ..
  "  Running:  (%d+)\n" ..
  "  Stopped:  (%d+)\n" ..
  "  Crashed:  (%d+)\n" ..
  "  Total:    (%d+)\n$"

local function parse(out)
  local pid, ver, up, mem, home, run, stop, crash, total = out:match(PATTERN)
  assert.is_not_nil(pid, "status output does not match the SPEC:\n" .. out)
  return { pid = tonumber(pid), version = ver, uptime = up, memory = tonumber(mem),
           home = home, running = tonumber(run), stopped = tonumber(stop),
           crashed = tonumber(crash), total = tonumber(total) }
end

describe("status", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function() e2e.cleanup(h) end)

  it("prints the exact labels for an empty daemon", function()
    local r = e2e.om(h, { "status" })
    assert.are.equal(0, r.code)
    assert.are.equal("", r.err)
    local s = parse(r.out)
    assert.are.equal(e2e.daemon_pid(h), s.pid)
    assert.are.equal(version(), s.version)
    assert.are.equal(h.home, s.home)
    assert.is_truthy(s.uptime:match("^%d+s$"), "uptime: " .. s.uptime)
    assert.are.same({ 0, 0, 0, 0 }, { s.running, s.stopped, s.crashed, s.total })
  end)

  it("reports the daemon's resident memory in MB", function()
    local s = parse(e2e.ok(h, { "status" }))
    local kb = tonumber(e2e.read_all("/proc/" .. s.pid .. "/status")
      :match("VmRSS:%s*(%d+) kB"))
    local mb = kb / 1024
    assert.is_truthy(s.memory > 0, "memory " .. s.memory)
    assert.is_truthy(s.memory > mb / 2 and s.memory < mb * 2,
      ("status says %.1f MB, /proc says %.1f MB"):format(s.memory, mb))
  end)

  it("counts missions by status, restarting as running", function()
    e2e.run(h, { "sleep 30" })
    local r = e2e.run(h, { "--restart", "always", "--backoff", "20000", "exit 1" })
    local s1 = e2e.run(h, { "true" })
    local s2 = e2e.run(h, { "sleep 30" })
    local c1 = e2e.run(h, { "exit 2" })
    e2e.wait_status(h, r, "restarting")
    e2e.wait_status(h, s1, "stopped")
    e2e.wait_status(h, c1, "crashed")
    e2e.ok(h, { "stop", s2 })
    local s = parse(e2e.ok(h, { "status" }))
    assert.are.same({ running = 2, stopped = 2, crashed = 1, total = 5 },
      { running = s.running, stopped = s.stopped, crashed = s.crashed,
        total = s.total })
  end)

  it("prints the home it was given", function()
    local s = parse(e2e.ok(h, { "status" }))
    assert.are.equal(h.home, s.home)
  end)
end)

describe("monitor", function()
  local h
  before_each(function() h = e2e.new_home() end)
  after_each(function() e2e.cleanup(h) end)

  it("prints one screen of status and ps without a terminal", function()
    local id = e2e.run(h, { "--name", "watched", "sleep 30" })
    local r = e2e.om(h, { "monitor" }, { env = { "OVERMIND_MONITOR_ROUNDS=1" } })
    assert.are.equal(0, r.code, r.err)
    assert.is_nil(r.out:find("\27", 1, true), "escape codes without a terminal")
    local status, table_part = r.out:match("^(Overmind Daemon\n.-  Total:    %d+\n)\n(.*)$")
    assert.is_not_nil(status, "monitor output:\n" .. r.out)
    local s = parse(status)
    assert.are.equal(1, s.running)
    assert.are.equal(1, s.total)
    local lines = {}
    for line in table_part:gmatch("([^\n]*)\n") do lines[#lines + 1] = line end
    assert.are.equal("ID          NAME              TYPE      STATUS        " ..
      "RESTARTS  PARENT      CHILDREN  UPTIME    COMMAND", lines[1])
    assert.are.equal(id .. "    watched           task      running       ",
      lines[2]:sub(1, 54))
  end)
end)
