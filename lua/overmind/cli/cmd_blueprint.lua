-- `agents <file>` and `apply <file>` (SPEC §7).  The file is read and
-- validated here, before anything starts; the daemon gets the validated
-- agents and starts the pipeline mission.
local core = require("overmind.core")
local blueprint = require("overmind.blueprint")
local client = require("overmind.cli.client")
local out = require("overmind.cli.out")

local M = {}

local function load(argv, cmd)
  local opts, pos = out.parse(argv, 2, { json = { kind = "bool" },
                                         name = { kind = "string" } })
  if not opts then return nil, pos end
  if #pos ~= 1 then
    return nil, out.fail("usage: overmind " .. cmd .. " <file>")
  end
  local path = pos[1]
  if path:sub(1, 1) ~= "/" then path = (core.getcwd() or ".") .. "/" .. path end
  local agents, err = blueprint.load(path)
  if not agents then return nil, out.fail(err) end
  return agents, path, opts, pos[1]
end

function M.agents(argv)
  local agents, code = load(argv, "agents")
  if not agents then return code end
  for _, line in ipairs(blueprint.describe(agents)) do out.print(line) end
  return 0
end

function M.apply(argv)
  local agents, path, opts = load(argv, "apply")
  if not agents then return path end
  local list = {}
  for i, a in ipairs(agents) do
    list[i] = { name = a.name, depends_on = a.depends_on, args = a.args }
  end
  local me = os.getenv("OVERMIND_MISSION_ID")
  local res, err = client.call("apply", {
    file = path, name = opts.name, agents = list, cwd = core.getcwd(),
    default_parent = me ~= "" and me or nil,
  })
  if not res then return out.fail(err) end
  if opts.json then
    out.id_name(res.id, res.name)
  else
    out.print("Started pipeline ", res.id, " (", res.name, ")")
  end
  return 0
end

return M
