-- The pipeline runner: what a `blueprint` mission runs
-- (`overmind __pipeline`, the blueprint in $OVERMIND_BLUEPRINT as JSON).
-- It starts each agent as soon as every agent it depends on has stopped,
-- in parallel where the graph allows, never starts what depends on a
-- crash, lets running agents finish, and exits 1 if anything failed.  Its
-- output is the pipeline's log.
local json = require("overmind.json")
local dag = require("overmind.blueprint.dag")

local M = {}

local function say(...)
  io.stdout:write(table.concat({ ... }), "\n")
  io.stdout:flush()
end

-- om: the API (injected so specs can drive the runner with a fake one).
function M.run(spec, om)
  local agents = spec.agents or {}
  local graph = dag.new(agents)
  local by_name, handles = {}, {}
  for _, a in ipairs(agents) do by_name[a.name] = a end
  local running = {} -- handle list

  local function start(name)
    local a = by_name[name]
    local args = {}
    for k, v in pairs(a.args or {}) do args[k] = v end
    args.name = name
    args.shared_name = true
    -- Its parent is its first dependency's mission, or the pipeline (the
    -- default parent, from our own OVERMIND_MISSION_ID).
    local first = a.depends_on and a.depends_on[1]
    if first and handles[first] then args.parent = handles[first].id end
    local ok, m = pcall(om.run, args)
    if not ok then
      say("failed to start ", name, ": ", tostring(m))
      graph:finish(name, "crashed")
      return
    end
    handles[name] = m
    graph:start(name)
    running[#running + 1] = m
    say("started ", name, " (", m.id, ")")
  end

  while true do
    for _, name in ipairs(graph:ready()) do start(name) end
    if #running == 0 then break end
    local m, r = om.wait_any(table.unpack(running))
    for i, h in ipairs(running) do
      if h.id == m.id then table.remove(running, i) break end
    end
    local name = m.name
    for n, h in pairs(handles) do if h.id == m.id then name = n end end
    say(name, " ", r.status)
    graph:finish(name, r.status)
  end

  local failed = graph:failed()
  if failed then
    say("pipeline failed at agent '", failed, "'")
    return 1
  end
  say("pipeline finished")
  return 0
end

function M.main()
  io.stdout:setvbuf("line")
  local spec = json.decode(os.getenv("OVERMIND_BLUEPRINT") or "")
  if type(spec) ~= "table" then
    io.stderr:write("overmind: no blueprint in OVERMIND_BLUEPRINT\n")
    return 1
  end
  return M.run(spec, require("overmind"))
end

return M
