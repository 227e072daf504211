-- The public shapes of a mission (daemon/info.lua): `info` and `ps --json`
-- get every field; the `ps` table asks only for its columns.
local info = require("overmind.daemon.info")
local format = require("overmind.cli.format")

local T0 = 1700000000

local function mission()
  return { id = "abcd1234", name = "swift-reef", type = "task",
           provider = "raw", state = "running", command = "sleep 30",
           started_at = T0 - 42, restart_count = 2, parent = "ffff0000",
           restart_policy = "never", max_restarts = 5, max_seconds = 60,
           backoff_ms = 1000, stop_timeout = 10, log_max = 1 }
end

local function keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return table.concat(out, ",")
end

describe("daemon.info", function()
  it("columns holds what the ps table shows, and nothing more", function()
    local c = info.columns(mission(), { "k1", "k2" }, T0)
    assert.are.equal("children,command,id,name,parent,restart_count," ..
      "status,type,uptime", keys(c))
    assert.are.equal(42, c.uptime)
    assert.are.equal(2, #c.children)
  end)

  it("a row from columns is the row from the whole info object", function()
    local m = mission()
    assert.are.equal(format.row(info.of(m, { "k1" }, T0)),
      format.row(info.columns(m, { "k1" }, T0)))
    m.state, m.started_at = "stopped", nil
    assert.are.equal(format.row(info.of(m, {}, T0)),
      format.row(info.columns(m, {}, T0)))
  end)

  it("of carries the agent fields too", function()
    local o = info.of(mission(), {}, T0, 0.5)
    assert.are.equal(0.5, o.tree_cost_usd)
    assert.is_not_nil(o.permission_denials)
    assert.is_not_nil(o.activity) -- json.null for a mission without a run
  end)
end)
