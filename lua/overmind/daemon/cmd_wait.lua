-- `wait` (SPEC §5): blocks until missions reach a final state, through
-- any number of restarts.  A waiting request subscribes to the event bus
-- and answers when the last of its missions has ended (an `exited` event
-- that leaves it final) or is gone; a waiter whose client goes away
-- cancels its subscription.
local core = require("overmind.core")
local check = require("overmind.daemon.check")
local json = require("overmind.json")
local supervisor = require("overmind.daemon.supervisor")
local DEFER = require("overmind.daemon.server").DEFER

return function(D)
  local H = {}

  -- With --waiting (SPEC §9), a session that has answered and waits for
  -- a message counts as done, as a mission that ended does.
  local function waiting(m)
    return m.run ~= nil and m.run:activity() == "waiting"
  end

  local function outcome(m)
    if waiting(m) then
      return { id = m.id, name = m.name, status = supervisor.status(m),
               exit_code = json.null, waiting = true }
    end
    if m.state == "killed" then
      return { id = m.id, name = m.name, status = "killed",
               exit_code = json.null, killed = true }
    end
    return { id = m.id, name = m.name, status = supervisor.status(m),
             exit_code = m.exit_code == nil and json.null or m.exit_code }
  end

  function H.wait(a, ctx)
    local err = check.args(a, { ids = "strings", any = "boolean?",
                                waiting = "boolean?", timeout_ms = "number?" })
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
    local function done(m)
      return not supervisor.is_live(m) or (a.waiting and waiting(m))
    end
    for i, m in ipairs(ms) do
      if not done(m) then
        left = left + 1
      else
        results[i] = outcome(m)
        finished[#finished + 1] = results[i]
      end
    end
    if left == 0 or (a.any and #finished > 0) then
      return json.array(a.any and { finished[1] } or results)
    end

    local timer, sub
    local function cleanup()
      if timer then timer:close() end
      timer = nil
      if sub then sub:cancel() end
    end
    sub = D.bus:subscribe(function(rec, _, mm)
      local ev = rec.event
      if ev ~= "exited" and ev ~= "removed" and ev ~= "waiting" then return end
      if not done(mm) then return end -- it restarts, or is not asked for
      for j, x in ipairs(ms) do
        if x == mm and not results[j] then
          results[j] = outcome(mm)
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
    end)
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
