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

-- One supervised run: from `claude run` to `wait` done.
local function supervised(with_subscriber)
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
  local seen
  if sub then
    seen = tonumber(sub:read("a"):match("%d+"))
    sub:close()
  end
  om("rm", id)
  return dt, seen
end

-- The machine's speed drifts: runs are interleaved and medians compared.
local RUNS = 5
local nulls, plain, subs, seen = {}, {}, {}, {}
for r = 1, RUNS do
  nulls[r] = B.time({ flood, tostring(N), "--null" })
  plain[r] = supervised(false)
  subs[r], seen[r] = supervised(true)
end
local t_null, t_plain, t_sub = B.median(nulls), B.median(plain), B.median(subs)
print(("   producer > /dev/null          %.3f s  (%.0f events/s)   median of %d")
  :format(t_null, N / t_null, RUNS))
print(("   supervised                    %.3f s  (%.0f events/s)  ratio %.2fx (target <= 3x)")
  :format(t_plain, N / t_plain, t_plain / t_null))
print(("   supervised + subscribe        %.3f s  (%.0f events/s)  ratio %.2fx (target <= 3x)")
  :format(t_sub, N / t_sub, t_sub / t_null))
table.sort(seen)
print(("   subscriber received           %d of %d lines at least (it attaches just after the start)")
  :format(seen[1] or 0, N + 1))

om("shutdown")
B.sh("rm -rf " .. home)
