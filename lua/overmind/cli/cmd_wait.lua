-- `wait` (SPEC §5).
local client = require("overmind.cli.client")
local out = require("overmind.cli.out")

local M = {}

local FLAGS = { timeout = { kind = "integer" }, any = { kind = "bool" },
                waiting = { kind = "bool" } }

-- The line and exit status for one finished mission.
function M.describe(r)
  if r.waiting then
    return ("Mission %s waiting for a message"):format(r.id), 0
  end
  if r.status == "killed" then
    return ("Mission %s finished: killed (no exit code)"):format(r.id), 137
  end
  local code = math.tointeger(r.exit_code)
  if not code then
    return ("Mission %s finished: %s (no exit code)"):format(r.id, r.status),
      r.status == "stopped" and 0 or 1
  end
  return ("Mission %s finished: %s (exit code %d)"):format(r.id, r.status, code),
    code
end

function M.wait(argv)
  local opts, ids = out.parse(argv, 2, FLAGS)
  if not opts then return ids end
  if #ids == 0 then
    return out.fail("usage: overmind wait <id>... [--timeout MS] [--any] [--waiting]")
  end
  local res, err = client.call("wait", { ids = ids, any = opts.any,
                                         waiting = opts.waiting,
                                         timeout_ms = opts.timeout })
  if not res then
    return out.fail(err, err == "timeout" and 124 or 1)
  end
  local status = 0
  for _, r in ipairs(res) do
    local line, code = M.describe(r)
    out.print(line)
    if status == 0 and code ~= 0 then status = code end
  end
  return status
end

return M
