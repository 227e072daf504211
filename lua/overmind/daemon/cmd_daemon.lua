-- Requests about the daemon itself: ping, status, shutdown.
local core = require("overmind.core")
local supervisor = require("overmind.daemon.supervisor")
local DEFER = require("overmind.daemon.server").DEFER

return function(D)
  local H = {}

  function H.ping() return "pong" end

  function H.status()
    local counts = { running = 0, stopped = 0, crashed = 0 }
    local total = 0
    for _, m in ipairs(D.registry:list()) do
      local s = supervisor.status(m)
      if s == "restarting" then s = "running" end
      counts[s] = (counts[s] or 0) + 1
      total = total + 1
    end
    return {
      pid = core.getpid(),
      version = core.version,
      uptime = math.floor(core.time() - D.started_at),
      rss = core.rss(),
      home = D.home,
      running = counts.running,
      stopped = counts.stopped,
      crashed = counts.crashed,
      total = total,
    }
  end

  -- Stops every live mission as `stop` does, then replies and exits.
  function H.shutdown(_, ctx)
    D.shutdown(function()
      ctx:reply("bye")
    end)
    return DEFER
  end

  return H
end
