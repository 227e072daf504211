-- `wait` (SPEC §5): blocks until missions reach a final state, through
-- any number of restarts.  Waiters live in D.waiters[id]; a waiter whose
-- client goes away is dropped.
local core = require("overmind.core")
local check = require("overmind.check")
local json = require("overmind.json")
local supervisor = require("overmind.daemon.supervisor")
local DEFER = require("overmind.daemon.server").DEFER

return function(D)
  local H = {}
  D.waiters = D.waiters or {}

  local function outcome(m, how)
    if how == "killed" then
      return { id = m.id, name = m.name, status = "killed",
               exit_code = json.null, killed = true }
    end
    return { id = m.id, name = m.name, status = supervisor.status(m),
             exit_code = m.exit_code == nil and json.null or m.exit_code }
  end

  -- Called by the daemon whenever a mission becomes final or is removed.
  function D.notify_waiters(m, how)
    local list = D.waiters[m.id]
    D.waiters[m.id] = nil
    for _, fn in ipairs(list or {}) do fn(m, how) end
  end

  function H.wait(a, ctx)
    local err = check.args(a, { ids = "strings", any = "boolean?",
                                timeout_ms = "number?" })
    if err then return nil, err end
    if #a.ids == 0 then return nil, "invalid_argument: missing ids" end
    local ms = {}
    for i, ref in ipairs(a.ids) do
      local m, rerr = D.registry:resolve(ref)
      if not m then return nil, rerr end
      ms[i] = m
    end
    local results, left = {}, 0
    local finished = {} -- in order of finishing, for --any
    for i, m in ipairs(ms) do
      if supervisor.is_live(m) then
        left = left + 1
      else
        results[i] = outcome(m)
        finished[#finished + 1] = results[i]
      end
    end
    if left == 0 or (a.any and #finished > 0) then
      return json.array(a.any and { finished[1] } or results)
    end

    local timer, done = nil, false
    local hooks = {}
    local function cleanup()
      done = true
      if timer then timer:close() end
      for id, fn in pairs(hooks) do
        local list = D.waiters[id]
        for k = #(list or {}), 1, -1 do
          if list[k] == fn then table.remove(list, k) end
        end
      end
    end
    for i, m in ipairs(ms) do
      if not results[i] and not hooks[m.id] then
        local function fn(mm, how)
          if done then return end
          for j, x in ipairs(ms) do
            if x == mm and not results[j] then
              results[j] = outcome(mm, how)
              left = left - 1
              if a.any then
                cleanup()
                return ctx:reply(json.array({ results[j] }))
              end
            end
          end
          if left == 0 then
            cleanup()
            ctx:reply(json.array(results))
          end
        end
        hooks[m.id] = fn
        D.waiters[m.id] = D.waiters[m.id] or {}
        table.insert(D.waiters[m.id], fn)
      end
    end
    if a.timeout_ms then
      timer = core.timer()
      timer:start(math.floor(a.timeout_ms), 0, function()
        cleanup()
        ctx:fail("timeout")
      end)
    end
    ctx:on_close(cleanup)
    return DEFER
  end

  return H
end
