-- `send`, `result`, `subscribe`, `detach` (SPEC §6).
local client = require("overmind.cli.client")
local out = require("overmind.cli.out")
local json = require("overmind.json")

local M = {}

local SEND_FLAGS = {
  wait = { kind = "bool" },
  json = { kind = "bool" },
  timeout = { kind = "integer" },
}

function M.send(argv)
  local opts, pos = out.parse(argv, 2, SEND_FLAGS)
  if not opts then return pos end
  local id = table.remove(pos, 1)
  if not id or #pos == 0 then
    return out.fail("usage: overmind send <id> <message...> [--wait [--json] [--timeout MS]]")
  end
  local text = table.concat(pos, " ")
  local res, err = client.call("send", { id = id, text = text,
    wait = opts.wait, timeout_ms = opts.wait and (opts.timeout or 60000) or nil })
  if not res then return out.fail(err) end
  if not opts.wait then
    out.print("Sent to mission ", res.id)
    return 0
  end
  if opts.json then
    io.stdout:write(json.encode({
      text = res.text, is_error = res.is_error,
      duration_ms = res.duration_ms, cost_usd = res.cost_usd,
    }), "\n")
  else
    local text_out = type(res.text) == "string" and res.text or ""
    out.print(text_out)
  end
  return res.is_error and 1 or 0
end

function M.result(argv)
  local opts, pos = out.parse(argv, 2, {})
  if not opts then return pos end
  if not pos[1] then return out.fail("usage: overmind result <id>") end
  local res, err = client.call("result", { id = pos[1] })
  if not res then return out.fail(err) end
  out.json(res)
  return 0
end

function M.subscribe(argv)
  local opts, pos = out.parse(argv, 2, {})
  if not opts then return pos end
  if not pos[1] then return out.fail("usage: overmind subscribe <id>") end
  local c, err = client.connect()
  if not c then return out.fail(err) end
  local res, rerr = client.request(c, "subscribe", { id = pos[1] })
  if not res then
    c:close()
    return out.fail(rerr)
  end
  -- Events arrive as JSON lines, already in their final form: copy the
  -- bytes through in large reads (a subscriber that keeps up is never
  -- dropped by the daemon's bound on what a slow reader may owe).
  local core = require("overmind.core")
  local fd = c:fd()
  local chunk = c:take()
  if chunk == "" then chunk = core.read(fd, 65536) end
  while chunk and chunk ~= "" do
    if not core.write(1, chunk) then break end
    chunk = core.read(fd, 65536)
  end
  c:close()
  return 0
end

function M.detach(argv)
  local opts, pos = out.parse(argv, 2, {})
  if not opts then return pos end
  if not pos[1] then return out.fail("usage: overmind detach <id>") end
  local res, err = client.call("detach", { id = pos[1] })
  if not res then return out.fail(err) end
  out.print("Detached from mission ", res.id)
  return 0
end

return M
