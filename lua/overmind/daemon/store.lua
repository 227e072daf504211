-- Persistence of mission records (SPEC §1): one JSON file per mission,
-- missions/<id>/mission.json, replaced atomically on every change, so the
-- state survives `shutdown` and `kill -9` alike.
local core = require("overmind.core")
local json = require("overmind.json")
local paths = require("overmind.paths")

local M = {}

-- Fields that make up the record on disk (runtime state lives in m.rt).
M.FIELDS = {
  "id", "name", "seq", "type", "provider", "command", "display", "cwd", "model", "env",
  "pty", "parent", "restart_policy", "max_restarts", "max_seconds",
  "backoff_ms", "activity_timeout", "timeout", "stop_timeout", "log_max",
  "state", "exit_code", "os_pid", "os_start", "restart_count", "backoff_n",
  "restart_times", "created_at", "started_at", "ended_at", "run_started",
  "session_id", "result", "steps",
}

function M.encode(m)
  local rec = {}
  for _, f in ipairs(M.FIELDS) do rec[f] = m[f] end
  if rec.restart_times then rec.restart_times = json.array(rec.restart_times) end
  return json.encode_bytes(rec)
end

function M.save(home, m)
  local ok, err = core.write_file(paths.mission_dir(m.id, home) ..
    "/mission.json", M.encode(m))
  return ok, err
end

function M.create_dir(home, id)
  return core.mkdir(paths.mission_dir(id, home), 448)
end

function M.remove(home, m)
  return core.rmtree(paths.mission_dir(m.id, home))
end

-- Loads every record; broken ones are reported through `warn` and skipped
-- (their files stay on disk for a human to look at).
function M.load_all(home, warn)
  local dir = paths.missions(home)
  local names = core.listdir(dir) or {}
  local out = {}
  for _, id in ipairs(names) do
    local path = dir .. "/" .. id .. "/mission.json"
    local text = core.read_file(path)
    if text then
      local rec, err = json.decode(text)
      if type(rec) == "table" and rec.id == id then
        for k, v in pairs(rec) do
          if v == json.null then rec[k] = nil end
        end
        out[#out + 1] = rec
      else
        warn(("skipping %s: %s"):format(path, err or "not a mission record"))
      end
    end
  end
  table.sort(out, function(a, b) return (a.seq or 0) < (b.seq or 0) end)
  return out
end

return M
