-- Benchmarks for the core runtime.  Prints figures; exits 0.
--   1. `overmind ps` with 100 live missions vs a bare
--      `lua5.4 -e 'require"cjson"'` (median of 30 runs each);
--   2. a mission printing 3,000,000 lines of 56 bytes, from `run` to
--      `wait`, vs the same producer writing to /dev/null; all lines in logs;
--   3. daemon RSS with 100 idle missions, and with 15 MB of output behind.
--
--   overmind -l bench/core.lua [BIN ...]
--
-- With several binaries (the build before a change and after it), each
-- gets a daemon and a home of its own, and their runs are interleaved, so
-- the machine's drift hits them alike: compare them within one run.
local core = require("overmind.core")
local B = require("bench.lib")

local bins = B.binaries(arg)
local lua = B.which("lua5.4")
local work = B.new_home()

-- Producers are files: `run` joins its words for `sh -c`.
local function script(name, body)
  local path = work .. "/" .. name .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(body)
  f:close()
  return path
end

local function rss_kb(s)
  local pid = tonumber(B.sh("cat " .. s.home .. "/daemon.pid"):match("%d+"))
  return core.rss(pid) / 1024
end

print(("overmind benchmarks  (%s, %s)"):format(os.date("!%Y-%m-%d"),
  B.sh("uname -srm"):gsub("%s+$", "")))
print(("cores: %s"):format(B.sh("nproc"):gsub("%s+$", "")))
print()

local subjects = {}
for i, bin in ipairs(bins) do
  local s = { bin = bin, home = B.new_home() }
  B.om(s, "start")
  s.base_rss = rss_kb(s)
  for k = 1, 100 do B.om(s, "run", "--name", "idle-" .. k, "sleep", "3600") end
  subjects[i] = s
end

local function label(s)
  if #subjects > 1 then print("  " .. s.bin) end
end

-- 1. ps latency, interleaved: one run of each binary in turn.
local RUNS = 30
local t_lua = B.median_time({ lua, "-e", 'require"cjson"' }, RUNS)
local ps = {}
for _ = 1, RUNS do
  for i, s in ipairs(subjects) do
    ps[i] = ps[i] or {}
    ps[i][#ps[i] + 1] = B.time({ s.bin, "ps" },
      { env = { OVERMIND_HOME = s.home } })
  end
end
print(("1. ps with 100 live missions (median of %d)"):format(RUNS))
print(("   lua5.4 -e 'require\"cjson\"'   %s"):format(B.ms(t_lua)))
for i, s in ipairs(subjects) do
  label(s)
  local t = B.median(ps[i])
  print(("   overmind ps                  %s   ratio %.2fx (target <= 3x)")
    :format(B.ms(t), t / t_lua))
end
print()

-- 3. RSS with 100 idle missions, then with 15 MB of output behind.
print("3. daemon RSS")
local prod15 = script("prod15", "local l = string.rep('y', 99) .. '\\n' " ..
  "for i = 1, 150000 do io.write(l) end")
for _, s in ipairs(subjects) do
  label(s)
  local rss100 = rss_kb(s)
  print(("   empty daemon                 %d KB"):format(s.base_rss))
  print(("   100 idle missions            %d KB  (%.0f KB per mission, base included; target <= 200)")
    :format(rss100, rss100 / 100))
  local _, _, out = B.om(s, "run", "--json", lua, prod15)
  local id = out:match('"id":"(%x+)"')
  B.om(s, "wait", id)
  print(("   + a mission with 15 MB logged %d KB  (target < 65536)"):format(rss_kb(s)))
  B.om(s, "kill", "--all")
end
print()

-- 2. 3,000,000 lines of 56 bytes, best of 3, interleaved.
local producer = script("prod3m", "local l = string.rep('x', 55) " ..
  "for i = 1, 3000000 do io.write(l, '\\n') end")
local t_null = B.median_time({ "/bin/sh", "-c",
  lua .. " " .. producer .. " > /dev/null" }, 3)
for _ = 1, 3 do
  for _, s in ipairs(subjects) do
    local t0 = core.hrtime()
    local _, _, o = B.om(s, "run", "--json", lua, producer)
    local mid = o:match('"id":"(%x+)"')
    B.om(s, "wait", mid)
    local dt = (core.hrtime() - t0) / 1e9
    if not s.best or dt < s.best then s.best = dt end
    s.lines = tonumber(B.sh("OVERMIND_HOME=" .. s.home .. " " .. s.bin ..
      " logs " .. mid .. " | wc -l"):match("%d+"))
    B.om(s, "rm", mid)
  end
end
print("2. 3,000,000 lines of 56 bytes (best of 3)")
print(("   producer > /dev/null          %.3f s"):format(t_null))
for _, s in ipairs(subjects) do
  label(s)
  print(("   overmind run ... wait         %.3f s   ratio %.2fx (target <= 4x)")
    :format(s.best, s.best / t_null))
  print(("   lines in logs                 %d"):format(s.lines))
  B.om(s, "shutdown")
  B.sh("rm -rf " .. s.home)
end
B.sh("rm -rf " .. work)
