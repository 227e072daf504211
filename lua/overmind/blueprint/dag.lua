-- The dependency graph of a pipeline (SPEC §7), without processes or
-- clocks: which agents may start, what a crash rules out, when it is over.
-- The pipeline runner drives it with real missions; specs drive it with a
-- fake clock.
local M = {}
local Dag = {}
Dag.__index = Dag

-- agents: array of { name = ..., depends_on = { ... } }, in file order.
function M.new(agents)
  local self = setmetatable({ order = {}, deps = {}, state = {},
                              failed_at = nil }, Dag)
  for _, a in ipairs(agents) do
    self.order[#self.order + 1] = a.name
    self.deps[a.name] = a.depends_on or {}
    self.state[a.name] = "pending"
  end
  return self
end

-- Agents whose dependencies have all `stopped`, in file order.
function Dag:ready()
  local out = {}
  for _, name in ipairs(self.order) do
    if self.state[name] == "pending" then
      local ok = true
      for _, d in ipairs(self.deps[name]) do
        if self.state[d] ~= "stopped" then ok = false break end
      end
      if ok then out[#out + 1] = name end
    end
  end
  return out
end

function Dag:start(name)
  self.state[name] = "running"
end

-- Marks everything that depends, directly or not, on `name` as skipped.
function Dag:skip_dependents(name)
  local changed = true
  local bad = { [name] = true }
  while changed do
    changed = false
    for _, n in ipairs(self.order) do
      if self.state[n] == "pending" then
        for _, d in ipairs(self.deps[n]) do
          if bad[d] or self.state[d] == "skipped" then
            self.state[n] = "skipped"
            bad[n] = true
            changed = true
            break
          end
        end
      end
    end
  end
end

-- `status` is the mission's final status; anything but `stopped` (crashed,
-- killed, failed to start) is a failure.
function Dag:finish(name, status)
  if status == "stopped" then
    self.state[name] = "stopped"
    return
  end
  self.state[name] = "crashed"
  self.failed_at = self.failed_at or name
  self:skip_dependents(name)
end

function Dag:running()
  local out = {}
  for _, name in ipairs(self.order) do
    if self.state[name] == "running" then out[#out + 1] = name end
  end
  return out
end

-- Over when nothing runs and nothing can start.
function Dag:done()
  return #self:running() == 0 and #self:ready() == 0
end

function Dag:failed()
  return self.failed_at
end

-- Finds a cycle; returns its path (a -> b -> a) as an array, or nil.
function M.find_cycle(agents)
  local deps, order = {}, {}
  for _, a in ipairs(agents) do
    deps[a.name] = a.depends_on or {}
    order[#order + 1] = a.name
  end
  local color, stack = {}, {}
  local function visit(n)
    color[n] = "grey"
    stack[#stack + 1] = n
    for _, d in ipairs(deps[n] or {}) do
      if color[d] == "grey" then
        local path = {}
        local from
        for i, s in ipairs(stack) do if s == d then from = i break end end
        for i = from, #stack do path[#path + 1] = stack[i] end
        path[#path + 1] = d
        return path
      elseif color[d] == nil and deps[d] then
        local p = visit(d)
        if p then return p end
      end
    end
    stack[#stack] = nil
    color[n] = "black"
  end
  for _, n in ipairs(order) do
    if color[n] == nil then
      local p = visit(n)
      if p then return p end
    end
  end
end

return M
