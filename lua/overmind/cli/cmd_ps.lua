-- `ps` and `info` (SPEC §3).
local client = require("overmind.cli.client")
local format = require("overmind.cli.format")
local out = require("overmind.cli.out")

local M = {}

local FLAGS = {
  tree = { kind = "bool" },
  children = { kind = "string" },
  json = { kind = "bool" },
}

function M.ps(argv)
  local opts, pos = out.parse(argv, 2, FLAGS)
  if not opts then return pos end
  if #pos > 0 then return out.fail("unexpected argument: " .. pos[1]) end
  -- the table needs only its columns; --json prints the info objects
  local list, err = client.call("ps", { children = opts.children,
                                        columns = not opts.json or nil })
  if not list then return out.fail(err) end
  if opts.json then
    out.json(list, true)
  elseif opts.tree then
    io.stdout:write(format.tree(list))
  else
    io.stdout:write(format.table(list))
  end
  return 0
end

function M.info(argv)
  local opts, pos = out.parse(argv, 2, {})
  if not opts then return pos end
  if not pos[1] then return out.fail("usage: overmind info <id>") end
  local m, err = client.call("info", { id = pos[1] })
  if not m then return out.fail(err) end
  out.json(m)
  return 0
end

return M
