-- `start`, `shutdown`, `status`, `monitor` (SPEC §1, §3).
local core = require("overmind.core")
local client = require("overmind.cli.client")
local format = require("overmind.cli.format")
local out = require("overmind.cli.out")
local paths = require("overmind.paths")

local M = {}

local function no_args(argv)
  local opts, pos = out.parse(argv, 2, {})
  if not opts then return false, pos end
  if #pos > 0 then return false, out.fail("unexpected argument: " .. pos[1]) end
  return true
end

-- `overmind daemon`: main.lua runs the daemon directly; this is reached
-- only through the CLI's own dispatch.
function M.daemon(argv)
  return require("overmind.daemon").main(argv)
end

function M.start(argv)
  local ok, code = no_args(argv)
  if not ok then return code end
  local pid, err, already = client.start_daemon()
  if already then
    out.print("Daemon is already running")
    return 0
  end
  if not pid then return out.fail(err) end
  out.print("Daemon started (PID ", pid, ")")
  return 0
end

function M.shutdown(argv)
  local ok, code = no_args(argv)
  if not ok then return code end
  local c = client.try_connect()
  if not c then
    out.print("Daemon is not running")
    return 0
  end
  local res, err = client.request(c, "shutdown", {})
  if res == nil then
    c:close()
    return out.fail(err)
  end
  -- The reply comes once every mission has stopped; wait for the daemon
  -- to close the connection so "stopped" really means gone.
  c:recv(30000)
  c:close()
  out.print("Daemon stopped")
  return 0
end

function M.status(argv)
  local ok, code = no_args(argv)
  if not ok then return code end
  local s, err = client.call("status", {})
  if not s then return out.fail(err) end
  io.stdout:write(format.status(s))
  return 0
end

function M.monitor(argv)
  local ok, code = no_args(argv)
  if not ok then return code end
  local interactive = core.isatty(1)
  local rounds = tonumber(os.getenv("OVERMIND_MONITOR_ROUNDS"))
  local n = 0
  while true do
    local c, err = client.connect()
    if not c then return out.fail(err) end
    local s, serr = client.request(c, "status", {})
    local list = s and client.request(c, "ps", { columns = true })
    c:close()
    if not s or not list then return out.fail(serr or "daemon connection lost") end
    local screen = format.status(s) .. "\n" .. format.table(list)
    if interactive then
      io.stdout:write("\27[H\27[2J", screen)
    else
      io.stdout:write(screen, "\n")
    end
    io.stdout:flush()
    n = n + 1
    if rounds and n >= rounds then return 0 end
    core.sleep(2000)
  end
end

M.paths = paths

return M
