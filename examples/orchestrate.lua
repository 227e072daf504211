-- An orchestration script: the supervised decompose -> spawn -> wait ->
-- validate -> record loop, driven through the `om` API.
--
--   overmind script examples/orchestrate.lua "ship the release notes"
--
-- It splits a task into subtasks, runs one claude agent per subtask in
-- parallel (children of this script's mission), waits for them, retries a
-- failed agent once with the failure's context in its prompt, and records
-- a summary in its own log and in summary.json next to its record.
local om = require("overmind")

local task = arg[1] or "write a haiku about supervisors"
local subtasks = {
  "research: gather three facts for: " .. task,
  "draft: write a first draft for: " .. task,
  "review: list risks and open questions for: " .. task,
}
-- A subtask named in $ORCHESTRATE_FAIL fails on its first attempt, to
-- show the retry path (the demo sets it).
local fail_first = os.getenv("ORCHESTRATE_FAIL")
-- Agent names carry this script's id, so runs side by side do not clash.
local tag = (os.getenv("OVERMIND_MISSION_ID") or tostring(os.time())):sub(1, 4)

om.log("task:", task)

-- decompose -> spawn: one claude task per subtask, in parallel.
local agents = {}
for i, sub in ipairs(subtasks) do
  local kind = sub:match("^(%w+):")
  local prompt = sub
  if fail_first == kind then prompt = prompt .. " FAIL" end
  local m = om.run{ provider = "claude", command = prompt,
                    name = kind .. "-" .. tag }
  om.log("spawned", kind, "as", m.id)
  agents[#agents + 1] = { kind = kind, mission = m, prompt = sub }
end

-- wait: every agent, as they finish.
local pending = {}
for _, a in ipairs(agents) do pending[#pending + 1] = a.mission end
local status = {}
while #pending > 0 do
  local m, r = om.wait_any(table.unpack(pending))
  for i, p in ipairs(pending) do
    if p.id == m.id then table.remove(pending, i) break end
  end
  status[m.id] = r
  om.log("finished", m.id, r.status, "exit", tostring(r.exit_code))
end

-- validate -> retry: a failed agent gets one more try, with the failure
-- (its result and the tail of its log) in the prompt.
for _, a in ipairs(agents) do
  local r = status[a.mission.id]
  local res = om.result(a.mission)
  if r.status ~= "stopped" or res.is_error then
    local context = (om.logs(a.mission) or ""):sub(-300)
    om.log("retrying", a.kind, "after failure:", tostring(res.text or r.status))
    local retry = om.run{ provider = "claude",
      command = a.prompt .. " (previous attempt failed: " ..
        context:gsub("%s+", " ") .. ")",
      name = a.mission.name .. "-retry" }
    local rr = om.wait(retry)
    om.log("retry of", a.kind, rr.status)
    a.mission = retry
  end
end

-- record: a summary of every agent's result.
local summary, ok_all = {}, true
for _, a in ipairs(agents) do
  local res = om.result(a.mission)
  local good = res.is_error == false
  ok_all = ok_all and good
  summary[#summary + 1] = { kind = a.kind, id = a.mission.id,
                            ok = good, text = res.text, cost_usd = res.cost_usd }
  om.log(("%-8s %s  %s"):format(a.kind, good and "ok  " or "FAIL",
    tostring(res.text)))
end
local home = os.getenv("OVERMIND_HOME")
local me = os.getenv("OVERMIND_MISSION_ID")
if home and me then
  local f = io.open(home .. "/missions/" .. me .. "/summary.json", "w")
  if f then
    f:write(require("cjson").encode(summary), "\n")
    f:close()
  end
end
om.log(ok_all and "all subtasks done" or "some subtasks failed")
if not ok_all then error("orchestration failed") end
