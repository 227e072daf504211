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
  io.stdout:write(json.encode(res), "\n")
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
  -- Events arrive as JSON lines; print them as they are.
  while true do
    local line = c:recv(-1)
    if not line then break end
    if not io.stdout:write(line, "\n") then break end
    io.stdout:flush()
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
