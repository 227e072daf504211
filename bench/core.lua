-- Benchmarks for the core runtime (issue 2).  Prints figures; exits 0.
--   1. `overmind ps` with 100 live missions vs a bare
--      `lua5.4 -e 'require"cjson"'` (median of 30 runs each);
--   2. a mission printing 3,000,000 lines of 56 bytes, from `run` to
--      `wait`, vs the same producer writing to /dev/null; all lines in logs;
--   3. daemon RSS with 100 idle missions, and with 15 MB of output behind.
local core = require("overmind.core")
local B = require("bench.lib")

local bin = arg[1] or "build/overmind"
if bin:sub(1, 1) ~= "/" then bin = core.getcwd() .. "/" .. bin end
local lua = B.which("lua5.4")
local home = B.new_home()

-- Producers are files: `run` joins its words for `sh -c`.
local function script(name, body)
  local path = home .. "/" .. name .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(body)
  f:close()
  return path
end

local function om(...)
  return B.time({ bin, ... }, { capture = true })
end

local function rss_kb()
  local pid = tonumber(B.sh("cat " .. home .. "/daemon.pid"):match("%d+"))
  return core.rss(pid) / 1024
end

print(("overmind benchmarks  (%s, %s)"):format(os.date("!%Y-%m-%d"),
  B.sh("uname -srm"):gsub("%s+$", "")))
print(("cores: %s"):format(B.sh("nproc"):gsub("%s+$", "")))
print()

om("start")
local base_rss = rss_kb()
for i = 1, 100 do om("run", "--name", "idle-" .. i, "sleep", "3600") end

-- 1. ps latency
local t_lua = B.median_time({ lua, "-e", 'require"cjson"' }, 30)
local t_ps = B.median_time({ bin, "ps" }, 30)
print("1. ps with 100 live missions (median of 30)")
print(("   lua5.4 -e 'require\"cjson\"'   %s"):format(B.ms(t_lua)))
print(("   overmind ps                  %s   ratio %.2fx (target <= 3x)")
  :format(B.ms(t_ps), t_ps / t_lua))
print()

-- 3a. RSS with 100 idle missions
local rss100 = rss_kb()
print("3. daemon RSS")
print(("   empty daemon                 %d KB"):format(base_rss))
print(("   100 idle missions            %d KB  (%.0f KB per mission, base included; target <= 200)")
  :format(rss100, rss100 / 100))

-- 3b. 15 MB of output behind it
local prod15 = script("prod15", "local l = string.rep('y', 99) .. '\\n' " ..
  "for i = 1, 150000 do io.write(l) end")
local _, _, out = om("run", "--json", lua, prod15)
local id = out:match('"id":"(%x+)"')
om("wait", id)
print(("   + a mission with 15 MB logged %d KB  (target < 65536)"):format(rss_kb()))
print()
om("kill", "--all")

-- 2. 3,000,000 lines of 56 bytes
local producer = script("prod3m", "local l = string.rep('x', 55) " ..
  "for i = 1, 3000000 do io.write(l, '\\n') end")
local t_null = B.median_time({ "/bin/sh", "-c",
  lua .. " " .. producer .. " > /dev/null" }, 3)
local best = math.huge
local lines
for _ = 1, 3 do
  local t0 = core.hrtime()
  local _, _, o = om("run", "--json", lua, producer)
  local mid = o:match('"id":"(%x+)"')
  om("wait", mid)
  local dt = (core.hrtime() - t0) / 1e9
  if dt < best then best = dt end
  lines = tonumber(B.sh(bin .. " logs " .. mid .. " | wc -l"):match("%d+"))
  om("rm", mid)
end
print("2. 3,000,000 lines of 56 bytes (best of 3)")
print(("   producer > /dev/null          %.3f s"):format(t_null))
print(("   overmind run ... wait         %.3f s   ratio %.2fx (target <= 4x)")
  :format(best, best / t_null))
print(("   lines in logs                 %d"):format(lines))

om("shutdown")
B.sh("rm -rf " .. home)
