-- The mission table: missions by id, in start order, and the lookups every
-- command needs (SPEC §2: an id, a name -- the newest holder wins -- or a
-- unique id prefix).
local M = {}
local R = {}
R.__index = R

function M.new()
  -- kids: parent id -> { child = true }, so a tree is walked without
  -- scanning every mission at each level.
  return setmetatable({ by_id = {}, order = {}, next_seq = 1, kids = {} }, R)
end

function R:add(m)
  if not m.seq then
    m.seq = self.next_seq
  end
  if m.seq >= self.next_seq then self.next_seq = m.seq + 1 end
  self.by_id[m.id] = m
  self.order = nil -- rebuilt on demand
  if m.parent then
    self.kids[m.parent] = self.kids[m.parent] or {}
    self.kids[m.parent][m] = true
  end
end

function R:remove(m)
  self.by_id[m.id] = nil
  self.order = nil
  local k = m.parent and self.kids[m.parent]
  if k then
    k[m] = nil
    if next(k) == nil then self.kids[m.parent] = nil end
  end
end

function R:get(id)
  return self.by_id[id]
end

-- Missions oldest first.
function R:list()
  if not self.order then
    local list = {}
    for _, m in pairs(self.by_id) do list[#list + 1] = m end
    table.sort(list, function(a, b) return a.seq < b.seq end)
    self.order = list
  end
  return self.order
end

function R:count()
  local n = 0
  for _ in pairs(self.by_id) do n = n + 1 end
  return n
end

-- Resolves an id, a name or a unique id prefix to a mission; or nil and
-- "not_found" / "ambiguous_id".
function R:resolve(ref)
  if type(ref) ~= "string" or ref == "" then return nil, "not_found" end
  local m = self.by_id[ref]
  if m then return m end
  local named
  for _, c in pairs(self.by_id) do
    if c.name == ref and (not named or c.seq > named.seq) then named = c end
  end
  if named then return named end
  local found
  for id, c in pairs(self.by_id) do
    if id:sub(1, #ref) == ref then
      if found then return nil, "ambiguous_id" end
      found = c
    end
  end
  if found then return found end
  return nil, "not_found"
end

function R:name_in_use(name, live_only, is_live)
  for _, c in pairs(self.by_id) do
    if c.name == name and (not live_only or is_live(c)) then return true end
  end
  return false
end

-- Direct children, oldest first.
function R:children(id)
  local out = {}
  for c in pairs(self.kids[id] or {}) do out[#out + 1] = c end
  table.sort(out, function(a, b) return a.seq < b.seq end)
  return out
end

-- fn(m) for a mission and every descendant of it.
function R:each_in_tree(m, fn)
  fn(m)
  for c in pairs(self.kids[m.id] or {}) do self:each_in_tree(c, fn) end
end

return M
