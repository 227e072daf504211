-- The `om` scripting API (SPEC §7): `local om = require("overmind")`.
--
-- A synchronous client of the daemon, for orchestration scripts
-- (`overmind script`), `overmind eval` and `overmind repl`.  Calls block
-- until the daemon answers; failures raise a Lua error whose message is
-- the daemon's reason (`not_found`, `timeout`, ...), so scripts can pcall.
-- Missions started from a script are its children (the daemon reads the
-- script's OVERMIND_MISSION_ID).
local core = require("overmind.core")
local client = require("overmind.cli.client")

local om = {}

local conn

-- JSON null arrives as json.null; a script expects nil.
local null = require("overmind.json").null
local function denull(v)
  if type(v) ~= "table" then return v end
  for k, x in pairs(v) do
    if x == null then v[k] = nil else denull(x) end
  end
  return v
end

local function call(cmd, args)
  for attempt = 1, 2 do
    if not conn then
      local c, err = client.connect()
      if not c then error(err, 3) end
      conn = c
    end
    local res, err = client.request(conn, cmd, args)
    if res ~= nil then return denull(res) end
    if err ~= "daemon connection lost" or attempt == 2 then error(err, 3) end
    conn:close()
    conn = nil -- the daemon restarted: reconnect once
  end
end

-- ---- mission handles ----------------------------------------------------------

local Mission = {}
Mission.__index = Mission
Mission.__tostring = function(m)
  return ("mission %s (%s)"):format(m.id, m.name or "?")
end

local function handle(id, name)
  return setmetatable({ id = id, name = name }, Mission)
end

local function id_of(m)
  if type(m) == "table" and m.id then return m.id end
  if type(m) == "string" then return m end
  error("expected a mission handle or id, got " .. type(m), 3)
end

function Mission:wait(opts) return om.wait(self, opts) end
function Mission:send(text, opts) return om.send(self, text, opts) end
function Mission:logs() return om.logs(self) end
function Mission:result() return om.result(self) end
function Mission:info() return om.info(self) end
function Mission:stop() return om.stop(self) end
function Mission:kill(opts) return om.kill(self, opts) end

-- ---- the API ------------------------------------------------------------------

-- om.run{ command = "...", <any mission option> } -> mission handle: the
-- fields are the `run` flags' long names (overmind.options: name, type,
-- provider, model, cwd, parent, restart, max_restarts, max_seconds,
-- backoff, activity_timeout, timeout, stop_timeout, env = {K = V}, pty,
-- log_max); an unknown one is an error that names it.  A string is a
-- command.
function om.run(spec)
  if type(spec) == "string" then spec = { command = spec } end
  if type(spec) ~= "table" then error("om.run expects a table", 2) end
  local a = {}
  for k, v in pairs(spec) do a[k] = v end
  a.command = spec.command or spec[1]
  a[1] = nil
  if type(a.parent) == "table" then a.parent = a.parent.id end
  -- Written as a blueprint would be (a lone string for a list, numbers
  -- in env): sent as the daemon takes it.  What does not fit goes as it
  -- is, for the daemon to name.
  local fit = require("overmind.options").normalize(a,
    { lenient = true, internal = true })
  if fit then a = fit end
  a.cwd = a.cwd or core.getcwd()
  -- The mission runs in this script's environment (SPEC §9).
  if a.client_env == nil then a.client_env = core.environ() end
  if not a.parent then
    local me = os.getenv("OVERMIND_MISSION_ID")
    if me and me ~= "" then a.default_parent = me end
  end
  local res = call("run", a)
  return handle(res.id, res.name)
end

-- om.wait(m, ...[, {timeout = ms}]) -> one {status, exit_code} per mission.
function om.wait(...)
  local args = table.pack(...)
  local opts = {}
  if args.n > 0 and type(args[args.n]) == "table" and not args[args.n].id then
    opts = args[args.n]
    args.n = args.n - 1
  end
  local ids = {}
  for i = 1, args.n do ids[i] = id_of(args[i]) end
  if #ids == 0 then error("om.wait needs a mission", 2) end
  local res = call("wait", { ids = ids, timeout_ms = opts.timeout })
  local out = {}
  for i, r in ipairs(res) do
    out[i] = { id = r.id, name = r.name, status = r.status,
               exit_code = math.tointeger(r.exit_code) }
  end
  return table.unpack(out)
end

-- om.wait_any(m1, m2, ...) -> the handle that finished first, its result.
function om.wait_any(...)
  local ms = table.pack(...)
  if ms.n == 1 and type(ms[1]) == "table" and not ms[1].id then
    ms = ms[1]
    ms.n = #ms
  end
  local ids = {}
  for i = 1, ms.n do ids[i] = id_of(ms[i]) end
  local res = call("wait", { ids = ids, any = true })
  local r = res[1]
  local which = r.id
  for i = 1, ms.n do
    if id_of(ms[i]) == r.id and type(ms[i]) == "table" then which = ms[i] end
  end
  if type(which) == "string" then which = handle(r.id, r.name) end
  return which, { id = r.id, name = r.name, status = r.status,
                  exit_code = math.tointeger(r.exit_code) }
end

-- om.send(m, text[, {wait = true, timeout = ms}]) -> true, or the result
-- table {text, is_error, duration_ms, cost_usd} when waiting.
function om.send(m, text, opts)
  opts = opts or {}
  local res = call("send", { id = id_of(m), text = tostring(text),
                             wait = opts.wait or nil,
                             timeout_ms = opts.wait and (opts.timeout or 60000)
                               or nil })
  if opts.wait then return res end
  return true
end

-- om.logs(m) -> the mission's whole output as one string.
function om.logs(m)
  local e = call("logs", { id = id_of(m) })
  local parts = {}
  for _, path in ipairs(e.files or {}) do
    local f = io.open(path, "rb")
    if f then
      parts[#parts + 1] = f:read("a")
      f:close()
    end
  end
  return table.concat(parts)
end

function om.result(m) return call("result", { id = id_of(m) }) end
function om.info(m) return call("info", { id = id_of(m) }) end
function om.ps() return call("ps", {}) end

function om.stop(m)
  call("stop", { id = id_of(m) })
  return true
end

function om.kill(m, opts)
  call("kill", { id = id_of(m), cascade = opts and opts.cascade or nil })
  return true
end

function om.sleep(ms)
  core.sleep(math.floor(ms))
end

-- om.log(...): like print, into the script's log (its stdout).
function om.log(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do parts[i] = tostring((select(i, ...))) end
  io.stdout:write(table.concat(parts, " "), "\n")
  io.stdout:flush()
end

-- A handle for an existing mission (id, name or prefix).
function om.mission(ref)
  local info = call("info", { id = id_of(ref) })
  return handle(info.id, info.name)
end

om.handle = handle

return om
