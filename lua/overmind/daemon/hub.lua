-- Who is watching a mission: log followers (`logs --follow`) and event
-- subscribers (`subscribe`).  Each watcher is a streaming request context
-- (daemon/server.lua); one that falls too far behind is dropped by its
-- context, never waited for.
local json = require("overmind.json")

local M = {}
local Hub = {}
Hub.__index = Hub

function M.new()
  return setmetatable({}, Hub)
end

local function watchers(m, kind)
  m.rt = m.rt or {}
  m.rt[kind] = m.rt[kind] or {}
  return m.rt[kind]
end

local function count(t)
  local n = 0
  for _ in pairs(t or {}) do n = n + 1 end
  return n
end

-- Lines must reach Lua while anyone subscribes to events.
function Hub:update_delivery(m)
  local h = m.rt and m.rt.handle
  if h then h:want_lines(count(m.rt.subscribers) > 0) end
end

function Hub:wants_lines(m)
  return count(m.rt and m.rt.subscribers) > 0
end

-- ---- log followers ----------------------------------------------------------

local function retap(m)
  local log = m.rt and m.rt.log
  if not log then return end
  local fs = m.rt.followers
  if count(fs) == 0 then
    log:tap(nil)
    return
  end
  log:tap(function(chunk)
    -- The log's bytes as they are (a chunk may end inside a character, and
    -- a terminal may not speak UTF-8): `logs -f` and `attach` write them
    -- out unchanged, so this frame alone is not repaired to UTF-8.
    local frame = json.encode_bytes({ data = chunk }) .. "\n"
    for ctx in pairs(fs) do
      if not ctx:send_raw(frame) then fs[ctx] = nil end
    end
  end)
end

function Hub:follow(m, ctx)
  local fs = watchers(m, "followers")
  fs[ctx] = true
  ctx:on_close(function()
    fs[ctx] = nil
    retap(m)
  end)
  retap(m)
end

-- ---- event subscribers -------------------------------------------------------

function Hub:subscribe(m, ctx)
  local subs = watchers(m, "subscribers")
  subs[ctx] = true
  ctx:on_close(function()
    subs[ctx] = nil
    self:update_delivery(m)
  end)
  self:update_delivery(m)
end

-- `ev` is a table, or a JSON line to pass on verbatim.
function Hub:emit(m, ev)
  if not self:wants_lines(m) then return end
  local line = type(ev) == "string" and ev or json.encode_event(ev)
  self:emit_text(m, line .. "\n")
end

-- A batch of ready JSON lines (without newlines), one write per reader.
function Hub:emit_lines(m, lines)
  if #lines == 0 then return end
  self:emit_text(m, table.concat(lines, "\n") .. "\n")
end

-- Ready NDJSON text (each line already ends in a newline), valid UTF-8:
-- events are encoded by json.encode_event, and the runner repairs agents'
-- verbatim lines.
function Hub:emit_text(m, text)
  local subs = m.rt and m.rt.subscribers
  if not subs or next(subs) == nil or text == "" then return end
  for ctx in pairs(subs) do
    if not ctx:send_raw(text) then subs[ctx] = nil end
  end
end

-- The mission is final (or gone): every stream ends.
function Hub:close_all(m, status)
  local rt = m.rt
  if not rt then return end
  local fs, subs = rt.followers, rt.subscribers
  rt.followers, rt.subscribers = nil, nil
  if rt.log then rt.log:tap(nil) end
  for ctx in pairs(fs or {}) do
    ctx:send({ ["end"] = { status = status, exit_code = m.exit_code or json.null } })
    ctx:finish()
  end
  for ctx in pairs(subs or {}) do ctx:finish() end
end

return M
