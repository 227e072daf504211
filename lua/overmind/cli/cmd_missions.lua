-- `stop`, `kill`, `rm`, `prune` (SPEC §3, §5).
local client = require("overmind.cli.client")
local out = require("overmind.cli.out")

local M = {}

local function one_id(argv, cmd, flags)
  local opts, pos = out.parse(argv, 2, flags or {})
  if not opts then return nil, pos end
  if not pos[1] and not opts.all then
    return nil, out.fail("usage: overmind " .. cmd .. " <id>")
  end
  if #pos > 1 then return nil, out.fail("unexpected argument: " .. pos[2]) end
  return opts, pos[1]
end

function M.stop(argv)
  local opts, id = one_id(argv, "stop")
  if not opts then return id end
  local res, err = client.call("stop", { id = id })
  if not res then return out.fail(err) end
  out.print("Stopped mission ", res.id)
  return 0
end

function M.kill(argv)
  local opts, id = one_id(argv, "kill", {
    cascade = { kind = "bool" }, all = { kind = "bool" } })
  if not opts then return id end
  if opts.all then
    if id then return out.fail("kill --all takes no id") end
    local res, err = client.call("kill", { all = true })
    if not res then return out.fail(err) end
    out.print("Killed all missions")
    return 0
  end
  local res, err = client.call("kill", { id = id, cascade = opts.cascade })
  if not res then return out.fail(err) end
  if opts.cascade then
    out.print("Killed mission ", res.id, " and all children")
  else
    out.print("Killed mission ", res.id)
  end
  return 0
end

function M.rm(argv)
  local opts, id = one_id(argv, "rm")
  if not opts then return id end
  local res, err = client.call("rm", { id = id })
  if not res then return out.fail(err) end
  out.print("Removed mission ", res.id)
  return 0
end

function M.prune(argv)
  local opts, pos = out.parse(argv, 2, {})
  if not opts then return pos end
  local res, err = client.call("prune", {})
  if not res then return out.fail(err) end
  for _, id in ipairs(res.removed or {}) do out.print("Removed mission ", id) end
  out.print("Pruned ", #(res.removed or {}), " missions")
  return 0
end

return M
