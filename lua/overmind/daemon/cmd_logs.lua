-- `logs`: the daemon resolves the mission and names its files; the client
-- reads them itself (no output crosses the socket unless following), so
-- hundreds of MB of log cost the daemon nothing.
local core = require("overmind.core")
local check = require("overmind.daemon.check")
local json = require("overmind.json")
local paths = require("overmind.paths")
local supervisor = require("overmind.daemon.supervisor")
local DEFER = require("overmind.daemon.server").DEFER

return function(D)
  local H = {}

  local function files_of(m)
    local out = {}
    for _, f in ipairs(paths.log_files(m.id, D.home)) do
      if core.stat(f) then out[#out + 1] = f end
    end
    return out
  end

  local function entry(m)
    local log = paths.output_log(m.id, D.home)
    local st = core.stat(log)
    return {
      id = m.id, name = m.name, status = supervisor.status(m),
      files = json.array(files_of(m)),
      size = st and st.size or 0, ino = st and st.ino or 0,
    }
  end

  function H.logs(a, ctx)
    local err = check.args(a, { id = "string?", follow = "boolean?" })
    if err then return nil, err end
    if not a.id then
      if a.follow then return nil, "missing_id" end
      local out = {}
      for i, m in ipairs(D.registry:list()) do out[i] = entry(m) end
      return { missions = json.array(out) }
    end
    local m, rerr = D.registry:resolve(a.id)
    if not m then return nil, rerr end
    if not a.follow or not supervisor.is_live(m) then return entry(m) end
    -- Follow: the snapshot (files and the current size) and the stream of
    -- what is appended after it are taken in the same loop turn, so no
    -- byte is lost or repeated between them.
    local out = D.output(m)
    out:file("log")
    local e = entry(m)
    e.follow = true
    ctx:stream()
    ctx:reply(e)
    out:follow(ctx)
    return DEFER
  end

  return H
end
