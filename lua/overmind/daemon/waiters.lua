-- A list of callbacks waiting for something: the replies of `stop`, of
-- `shutdown`, of `send --wait` (one per turn), and the subscribers of the
-- event bus.  One small type for every such list, so none is kept by hand.
--
--   local w = waiters.new()
--   local entry = w:add(fn, key)   -- key: optional, for fire_where
--   w:cancel(entry)                -- safe at any time, also from a callback
--   w:fire(...)                    -- calls and removes every waiter
--   w:fire_where(pred, ...)        -- ... those whose key satisfies pred(key)
--   w:each(...)                    -- calls every waiter and keeps them
local M = {}
local W = {}
W.__index = W

function M.new()
  return setmetatable({ list = {} }, W)
end

function W:add(fn, key)
  local entry = { fn = fn, key = key }
  self.list[#self.list + 1] = entry
  return entry
end

function W:cancel(entry)
  if not entry then return end
  entry.cancelled = true
  local list = self.list
  for i = #list, 1, -1 do
    if list[i] == entry then table.remove(list, i) break end
  end
end

function W:empty()
  return #self.list == 0
end

function W:count()
  return #self.list
end

-- Callbacks run on a snapshot: one may add or cancel waiters as it runs,
-- and a waiter cancelled by an earlier one in the same round is skipped.
function W:fire_where(pred, ...)
  local due, keep = {}, {}
  for _, e in ipairs(self.list) do
    if pred == nil or pred(e.key) then due[#due + 1] = e else keep[#keep + 1] = e end
  end
  self.list = keep
  for _, e in ipairs(due) do
    if not e.cancelled then
      e.cancelled = true
      e.fn(...)
    end
  end
end

function W:fire(...)
  return self:fire_where(nil, ...)
end

function W:each(...)
  local snapshot = table.move(self.list, 1, #self.list, 1, {})
  for _, e in ipairs(snapshot) do
    if not e.cancelled then e.fn(...) end
  end
end

return M
