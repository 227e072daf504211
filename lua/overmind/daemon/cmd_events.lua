-- `events` (SPEC §8): the daemon-wide stream of lifecycle events, as
-- `docker events` gives.  The reply comes first, then one JSON line per
-- event: those the bus still holds at or after `since` (when asked), then
-- every new one, until the client goes.  A reader that falls 8 MiB behind
-- is dropped by its context, as a slow `subscribe` is.
--
-- args: { since = epoch seconds, filters = { id = {..}, name = {..},
--         event = {..}, parent = {..} } }: a filter key given several
-- values matches any of them; different keys must all match.
local check = require("overmind.daemon.check")
local lifecycle = require("overmind.lifecycle")
local DEFER = require("overmind.daemon.server").DEFER

local KEYS = { id = true, name = true, event = true, parent = true }

return function(D)
  local H = {}

  -- Is mission `id` (named `name`) the one `ref` names, by its id or its
  -- name?  A name also matches a mission started after the filter was
  -- given.
  local function named(id, name, ref)
    if id == ref.id or id == ref.value then return true end
    if name == nil then
      local m = D.registry:get(id)
      name = m and m.name
    end
    return name == ref.value
  end

  -- Is `ref` the mission `id` or one of its ancestors?  The table knows
  -- the live and the kept missions; the bus remembers the parents of
  -- missions that are gone.
  local function descends(id, name, ref)
    local seen = 0
    while id and seen < 1000 do
      if named(id, name, ref) then return true end
      local m = D.registry:get(id)
      id = m and m.parent or D.bus:parent_of(id)
      name = nil
      seen = seen + 1
    end
    return false
  end

  -- A mission reference in a filter: the value as written, and the id it
  -- resolves to now (an id prefix, or the newest holder of a name).
  local function reference(v)
    local m = D.registry:resolve(v)
    return { value = v, id = m and m.id }
  end

  local function compile(filters)
    local tests = {}
    for key, values in pairs(filters or {}) do
      if not KEYS[key] then return nil, "invalid_filter: " .. tostring(key) end
      if type(values) == "string" then values = { values } end
      if not check.is_strings(values) or #values == 0 then
        return nil, "invalid_filter: " .. key .. " needs a value"
      end
      local want = {}
      for _, v in ipairs(values) do
        want[#want + 1] = (key == "id" or key == "parent") and reference(v) or v
      end
      tests[#tests + 1] = function(rec)
        for _, v in ipairs(want) do
          if key == "parent" then
            if descends(rec.id, rec.name, v) then return true end
          elseif key == "id" then
            if named(rec.id, rec.name, v) then return true end
          elseif rec[key] == v then
            return true
          end
        end
        return false
      end
    end
    return function(rec)
      for _, t in ipairs(tests) do if not t(rec) then return false end end
      return true
    end
  end

  function H.events(a, ctx)
    local err = check.args(a, { since = "number?", filters = "table?" })
    if err then return nil, err end
    local match, ferr = compile(a.filters)
    if not match then return nil, ferr end
    ctx:stream()
    ctx:reply({ since = a.since, history = lifecycle.HISTORY })
    if a.since then
      for line, rec in D.bus:replay(a.since) do
        if match(rec) and not ctx:send_raw(line .. "\n") then return DEFER end
      end
    end
    local sub
    sub = D.bus:subscribe(function(rec, line)
      if match(rec) and not ctx:send_raw(line .. "\n") then sub:cancel() end
    end)
    ctx:on_close(function() sub:cancel() end)
    return DEFER
  end

  return H
end
