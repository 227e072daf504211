-- Benchmark for the agent path (issue 4): a stand-in claude emitting
-- 200,000 stream-json events as fast as it can, run as a claude mission;
-- events per second ingested (decoded in C, parsed and formatted by the
-- claude provider), against the same producer writing to /dev/null, with
-- and without a `subscribe` client attached.
local core = require("overmind.core")
local B = require("bench.lib")

local bin = arg[1] or "build/overmind"
if bin:sub(1, 1) ~= "/" then bin = core.getcwd() .. "/" .. bin end
local flood = core.getcwd() .. "/tests/doubles/flood"
local N = 200000
local home = B.new_home()

local function om(...)
  return B.time({ bin, ... }, { capture = true })
end

print(("agent ingest benchmark: %d stream-json events"):format(N))
om("start")

local t_null = B.median_time({ flood, tostring(N), "--null" }, 3)
print(("   producer > /dev/null          %.3f s  (%.0f events/s)")
  :format(t_null, N / t_null))

local function supervised(with_subscriber)
  local best = math.huge
  for _ = 1, 3 do
    local t0 = core.hrtime()
    local _, _, out = om("claude", "run", "--json", "--env",
      "OVERMIND_CLAUDE_BIN=" .. flood, "--env", "FLOOD_N=" .. N, "bench")
    local id = out:match('"id":"(%x+)"')
    local sub
    if with_subscriber then
      sub = io.popen("OVERMIND_HOME=" .. home .. " " .. bin ..
        " subscribe " .. id .. " | wc -l")
    end
    om("wait", id)
    local dt = (core.hrtime() - t0) / 1e9
    if sub then
      local lines = tonumber(sub:read("a"):match("%d+"))
      sub:close()
      if lines < N then
        print(("   (subscriber saw %d of %d lines: joined late)"):format(lines, N))
      end
    end
    if dt < best then best = dt end
    om("rm", id)
  end
  return best
end

local t_plain = supervised(false)
print(("   supervised                    %.3f s  (%.0f events/s)  ratio %.2fx (target <= 3x)")
  :format(t_plain, N / t_plain, t_plain / t_null))
local t_sub = supervised(true)
print(("   supervised + subscribe        %.3f s  (%.0f events/s)  ratio %.2fx (target <= 3x)")
  :format(t_sub, N / t_sub, t_sub / t_null))

om("shutdown")
B.sh("rm -rf " .. home)
