-- The daemon's own log, $OVERMIND_HOME/daemon.log: one timestamped line
-- per event worth keeping (start, stop, errors with their traceback).
local core = require("overmind.core")
local timefmt = require("overmind.timefmt")

local M = {}
local file
local echo = false

function M.open(path, to_stderr)
  file = core.logfile(path, { max = 8 << 20, keep = 1 })
  echo = to_stderr
end

function M.write(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  local line = timefmt.iso(core.time()) .. " " .. table.concat(parts, " ")
  if file then file:writeline(line) end
  if echo or not file then io.stderr:write(line, "\n") end
end

function M.close()
  if file then file:close() end
  file = nil
end

return M
