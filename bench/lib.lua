-- Helpers for benchmarks: run a command without a shell and time it with
-- the monotonic clock; medians; a private OVERMIND_HOME.
local core = require("overmind.core")

local M = {}

-- Runs argv (a table), output to /dev/null unless `capture`; returns
-- seconds, exit status, output.
function M.time(argv, opts)
  opts = opts or {}
  local vars, env = core.environ(), {}
  for k, v in pairs(opts.env or {}) do vars[k] = v end
  for k, v in pairs(vars) do env[#env + 1] = k .. "=" .. v end
  local chunks = {}
  local status
  local t0 = core.hrtime()
  local p = assert(core.spawn({
    file = argv[1], args = argv, env = env,
    deliver = opts.capture, tail = 0,
    on_output = function(lines)
      for _, l in ipairs(lines) do chunks[#chunks + 1] = l end
    end,
    on_exit = function(code) status = code end,
  }))
  while status == nil do core.run("once") end
  local dt = (core.hrtime() - t0) / 1e9
  p:close()
  return dt, status, table.concat(chunks, "\n")
end

function M.median(xs)
  table.sort(xs)
  local n = #xs
  if n % 2 == 1 then return xs[(n + 1) // 2] end
  return (xs[n // 2] + xs[n // 2 + 1]) / 2
end

function M.median_time(argv, runs, opts)
  local xs = {}
  for i = 1, runs do xs[i] = M.time(argv, opts) end
  return M.median(xs)
end

function M.which(name)
  for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
    local p = dir .. "/" .. name
    if core.stat(p) then return p end
  end
  return name
end

function M.new_home()
  local h = io.popen("mktemp -d /tmp/om-bench.XXXXXX"):read("l")
  core.setenv("OVERMIND_HOME", h)
  return h
end

-- The binaries a benchmark compares: its arguments (default
-- build/overmind), as absolute paths.
function M.binaries(args)
  local out = {}
  for i = 1, #args do out[i] = args[i] end
  if #out == 0 then out[1] = "build/overmind" end
  for i, b in ipairs(out) do
    if b:sub(1, 1) ~= "/" then out[i] = core.getcwd() .. "/" .. b end
  end
  return out
end

-- Runs `s.bin ...` against the subject's own home (s = { bin, home });
-- returns seconds, exit status, output.
function M.om(s, ...)
  return M.time({ s.bin, ... },
    { capture = true, env = { OVERMIND_HOME = s.home } })
end

function M.sh(cmd)
  local p = io.popen(cmd)
  local out = p:read("a")
  p:close()
  return out
end

function M.ms(s) return string.format("%.2f ms", s * 1000) end

return M
