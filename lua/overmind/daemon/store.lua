-- Persistence of mission records (SPEC §1): one JSON file per mission,
-- missions/<id>/mission.json, replaced atomically on every change, so the
-- state survives `shutdown` and `kill -9` alike.
local core = require("overmind.core")
local json = require("overmind.json")
local options = require("overmind.options")
local paths = require("overmind.paths")

local M = {}

-- Fields that make up the record on disk: what the mission is (its
-- options, as overmind.options declares them) and what became of it.
-- What a run holds while it lives (its Run, Output, timers) is not here.
M.FIELDS = {
  "id", "seq", "state", "exit_code", "os_pid", "os_start", "restart_count",
  "backoff_n", "restart_times", "created_at", "started_at", "ended_at",
  "run_started", "session_id", "result", "steps", "restart_policy",
  "cost_usd", "input_tokens", "output_tokens", "budget_exceeded",
  "permission_denials", "totals_seen",
}
-- Options a mission keeps (the others only steer `run` itself).
local TRANSIENT = { restart = true, default_parent = true, rows = true,
                    cols = true, shared_name = true }
local LISTS = { restart_times = true, permission_denials = true }
for _, o in ipairs(options.LIST) do
  if not TRANSIENT[o.key] then M.FIELDS[#M.FIELDS + 1] = o.key end
  if o.kind == "list" then LISTS[o.key] = true end
end

function M.encode(m)
  local rec = {}
  for _, f in ipairs(M.FIELDS) do
    local v = m[f]
    if LISTS[f] and v ~= nil then v = json.array(table.move(v, 1, #v, 1, {})) end
    rec[f] = v
  end
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
