-- `apply` and `script` requests (SPEC §7): pipelines and scripts are
-- missions like any other, running this binary in a mode of its own.
local core = require("overmind.core")
local check = require("overmind.daemon.check")
local json = require("overmind.json")
local names = require("overmind.names")
local shell = require("overmind.shell")
local supervisor = require("overmind.daemon.supervisor")

return function(D)
  local H = {}

  -- A blueprint's name, from its file: research.toml -> research, unless
  -- a live mission holds it.
  local function pipeline_name(file)
    local stem = file:match("([^/]+)$"):gsub("%.[^.]*$", "")
    if names.valid(stem) and
        not D.registry:name_in_use(stem, true, supervisor.is_live) then
      return stem
    end
  end

  function H.apply(a)
    local err = check.args(a, { file = "string", agents = "table",
                                name = "string?", cwd = "string?",
                                default_parent = "string?" })
    if err then return nil, err end
    if #a.agents == 0 then return nil, "invalid_argument: no agents" end
    for _, ag in ipairs(a.agents) do
      if type(ag) ~= "table" or type(ag.name) ~= "string" or
          type(ag.args) ~= "table" then
        return nil, "invalid_argument: agents"
      end
      ag.depends_on = json.array(ag.depends_on or {})
    end
    local spec = json.encode_bytes({ file = a.file, agents = a.agents })
    local m, merr = D.make_mission({
      command = shell.join({ core.exepath(), "__pipeline" }),
      type = "blueprint",
      name = a.name or pipeline_name(a.file),
      cwd = a.cwd,
      default_parent = a.default_parent,
      env = { OVERMIND_BLUEPRINT = spec },
      display = "apply " .. a.file,
    }, true)
    if not m then return nil, merr end
    local ok, lerr = D.launch(m)
    if not ok then return nil, lerr end
    return { id = m.id, name = m.name }
  end

  function H.script(a)
    if type(a) ~= "table" then return nil, "invalid_request" end
    a.type = "script"
    local m, err = D.make_mission(a, true)
    if not m then return nil, err end
    local ok, lerr = D.launch(m)
    if not ok then return nil, lerr end
    return { id = m.id, name = m.name }
  end

  return H
end
