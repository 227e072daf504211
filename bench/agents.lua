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

-- The mission's claude is a wrapper that waits for a gate file, then
-- becomes the flood: the clock starts when the gate opens, so a subscriber
-- can be attached before the first event and the CLI's start-up is not
-- counted.
local gate = home .. "/gate"
local wrapper = home .. "/gated-flood"
do
  local f = assert(io.open(wrapper, "w"))
  f:write("#!/bin/sh\nwhile [ ! -e '", gate, "' ]; do sleep 0.002; done\n",
          "exec '", flood, "' \"$@\"\n")
  f:close()
  os.execute("chmod +x " .. wrapper)
end

local function open_gate()
  local f = assert(io.open(gate, "w"))
  f:close()
end

-- One supervised run: from the gate opening to `wait` done (or, with a
-- subscriber, to the end of its stream, which ends with the mission).
local function supervised(with_subscriber)
  os.remove(gate)
  local _, _, out = om("claude", "run", "--json", "--env",
    "OVERMIND_CLAUDE_BIN=" .. wrapper, "--env", "FLOOD_N=" .. N, "bench")
  local id = out:match('"id":"(%x+)"')
  local dt, seen
  if with_subscriber then
    local c = assert(core.connect(home .. "/overmind.sock"))
    c:send('{"cmd":"subscribe","args":{"id":"' .. id .. '"}}\n')
    assert(c:recv(5000), "no subscribe reply")
    local t0 = core.hrtime()
    open_gate()
    -- Count the bytes as they come (cheap); they are checked against the
    -- producer's own output below.
    local chunk = c:take()
    local fd = c:fd()
    seen = 0
    if chunk == "" then chunk = core.read(fd, 65536) end
    while chunk and chunk ~= "" do
      seen = seen + #chunk
      chunk = core.read(fd, 65536)
    end
    dt = (core.hrtime() - t0) / 1e9
    c:close()
    om("wait", id)
  else
    -- `wait` over the socket: the daemon answers the moment the mission is
    -- done, with no CLI start-up in the figure.
    local c = assert(core.connect(home .. "/overmind.sock"))
    local t0 = core.hrtime()
    open_gate()
    c:send('{"cmd":"wait","args":{"ids":["' .. id .. '"]}}\n')
    assert(c:recv(60000), "no wait reply")
    dt = (core.hrtime() - t0) / 1e9
    c:close()
  end
  om("rm", id)
  return dt, seen
end

-- The machine's speed drifts: runs are interleaved and medians compared.
local RUNS = 7
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
-- What a subscriber must receive: every line the producer wrote, verbatim,
-- and the exit line.
local expect = tonumber(B.sh(flood .. " " .. N .. " | wc -c"):match("%d+")) +
  #'{"type":"exit","status":"stopped","exit_code":0}\n'
table.sort(seen)
print(("   subscriber received           %d of %d bytes (every event verbatim and the exit line), fewest of %d runs")
  :format(seen[1] or 0, expect, RUNS))

om("shutdown")
B.sh("rm -rf " .. home)
