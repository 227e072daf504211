-- The daemon-wide event bus (SPEC §8): mission lifecycle events (created,
-- started, exited, restarting, stalled, result, removed) go to whoever
-- subscribed -- `overmind events` streams, `wait`, and later the
-- dashboard, hooks, memory and the scheduler -- in the order they
-- happen.  No single-slot hook: every subscriber keeps its own callback.
--
-- The bus also remembers: the last lifecycle.HISTORY events, kept in
-- memory as the JSON lines they are sent as, and appended to a file
-- ($OVERMIND_HOME/events.jsonl, rotated once) that the next daemon reads
-- back, so `events --since` reaches across daemon restarts.
--
--   local b = bus.new{ now = fn, file = path, log = fn }
--   b:publish(m, "exited", { status = "crashed", exit_code = 1 })
--   local sub = b:subscribe(function(rec, line, m) ... end); sub:cancel()
--   for line, rec in b:replay(since) do ... end
--   b:close()
local core = require("overmind.core")
local json = require("overmind.json")
local lifecycle = require("overmind.lifecycle")
local timefmt = require("overmind.timefmt")
local waiters = require("overmind.daemon.waiters")

local M = {}
local Bus = {}
Bus.__index = Bus

-- The history file rotates past this size, keeping one older file: the two
-- hold far more than lifecycle.HISTORY events of a few hundred bytes.
M.FILE_MAX = 4 << 20

-- Reads the last `n` lines of the history files, oldest first.
local function load_history(path, n)
  local lines = {}
  for _, p in ipairs({ path .. ".1", path }) do
    local text = core.read_file(p)
    if text then
      for line in text:gmatch("[^\n]+") do lines[#lines + 1] = line end
    end
  end
  if #lines > n then
    lines = table.move(lines, #lines - n + 1, #lines, 1, {})
  end
  return lines
end

-- opts: { now = function() -> seconds, file = path or nil,
--         log = function(msg) (the daemon log) }
function M.new(opts)
  local self = setmetatable({
    now = opts.now, log = opts.log or function() end,
    subs = waiters.new(),
    ring = {}, head = 0, count = 0, -- the history: JSON lines
    parents = {}, -- id -> parent id, for the missions the history names
    nparents = 0,
  }, Bus)
  if opts.file then
    for _, line in ipairs(load_history(opts.file, lifecycle.HISTORY)) do
      local rec = json.decode(line)
      if type(rec) == "table" and type(rec.id) == "string" then
        self:remember(line, rec)
      end
    end
    local f, err = core.logfile(opts.file, { max = M.FILE_MAX, keep = 1,
      on_error = function(msg) self.log("events: " .. msg) end })
    if not f then self.log("events: cannot open " .. opts.file .. ": " .. err) end
    self.file = f
  end
  return self
end

function Bus:remember(line, rec)
  local cap = lifecycle.HISTORY
  self.head = self.head % cap + 1
  self.ring[self.head] = line
  if self.count < cap then self.count = self.count + 1 end
  if type(rec.parent) == "string" and not self.parents[rec.id] then
    self.parents[rec.id] = rec.parent
    self.nparents = self.nparents + 1
    -- Bounded by what the history still names.
    if self.nparents > 2 * cap then self:rebuild_parents() end
  end
end

function Bus:rebuild_parents()
  self.parents, self.nparents = {}, 0
  for _, line in ipairs(self.ring) do
    local id, parent = line:match('"id":"([^"]*)".*"parent":"([^"]*)"}$')
    if id and not self.parents[id] then
      self.parents[id] = parent
      self.nparents = self.nparents + 1
    end
  end
end

-- The parent of mission `id` as the history knows it (a mission may be
-- gone from the table while its events are still replayed).
function Bus:parent_of(id)
  return self.parents[id]
end

-- Publishes event `kind` of mission `m` with `detail` (a table of the
-- kind's details, see lifecycle.KINDS).  Subscribers run in order; one
-- that raises is logged and the others still run.
function Bus:publish(m, kind, detail)
  local rec = { time = timefmt.iso(self.now()), id = m.id, name = m.name,
                event = kind, parent = m.parent }
  for k, v in pairs(detail or {}) do rec[k] = v end
  local line = lifecycle.encode(rec)
  self:remember(line, rec)
  if self.file then self.file:writeline(line) end
  self.subs:each(rec, line, m)
end

-- fn(rec, line, m) for every event from now on; returns the subscription,
-- whose cancel() ends it (safe from inside fn).
function Bus:subscribe(fn)
  local bus = self
  local entry
  entry = self.subs:add(function(rec, line, m)
    local ok, err = xpcall(fn, debug.traceback, rec, line, m)
    if not ok then bus.log("error in an event subscriber: " .. tostring(err)) end
  end)
  return { cancel = function() bus.subs:cancel(entry) end }
end

-- Iterates over the remembered events at or after `since` (epoch
-- seconds), oldest first: yields line, rec.
function Bus:replay(since)
  local cap, n = lifecycle.HISTORY, self.count
  local first = (self.head - n) % cap -- index before the oldest
  local i = 0
  return function()
    while i < n do
      i = i + 1
      local line = self.ring[(first + i - 1) % cap + 1]
      local rec = json.decode(line)
      if type(rec) == "table" then
        local t = lifecycle.time_of(rec)
        if not since or (t and t >= math.floor(since)) then
          return line, rec
        end
      end
    end
  end
end

function Bus:close()
  if self.file then self.file:close() end
  self.file = nil
end

return M
