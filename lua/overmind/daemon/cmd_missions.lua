-- Requests that create, list, inspect, stop and remove missions.
local core = require("overmind.core")
local check = require("overmind.daemon.check")
local json = require("overmind.json")
local names = require("overmind.names")
local options = require("overmind.options")
local policy = require("overmind.daemon.policy")
local providers = require("overmind.providers")
local store = require("overmind.daemon.store")
local supervisor = require("overmind.daemon.supervisor")
local info = require("overmind.daemon.info")
local DEFER = require("overmind.daemon.server").DEFER

local default = options.default

-- Mission types a user may ask for; the daemon's own callers (`apply`,
-- `script`) make the others.
local USER_TYPES = { task = true, session = true }
local INTERNAL_TYPES = { task = true, session = true, blueprint = true,
                         script = true }

-- Missions started from one shell have one environment: they share one
-- table of it (a daemon with thousands of missions keeps a few copies,
-- not thousands).  Weak values: an environment nobody holds goes.
local envs = setmetatable({}, { __mode = "v" })

local function shared_env(env)
  if env == nil then return nil end
  local keys = {}
  for k in pairs(env) do keys[#keys + 1] = k end
  table.sort(keys)
  local parts = {}
  for i, k in ipairs(keys) do parts[i] = k .. "=" .. env[k] end
  local sig = table.concat(parts, "\0")
  local t = envs[sig]
  if not t then
    envs[sig] = env
    t = env
  end
  return t
end

return function(D)
  local H = {}
  local reg, sup = D.registry, D.sup
  D.shared_env = shared_env

  local function new_id()
    local id
    repeat id = names.new_id() until not reg:get(id)
    return id
  end

  -- Builds and validates a mission record from run arguments.  Types
  -- `blueprint` and `script` are for the daemon's own callers (`internal`).
  function D.make_mission(args, internal)
    local a, err = options.check(args)
    if not a then return nil, err end
    local mtype = a.type or default("type")
    if not (internal and INTERNAL_TYPES or USER_TYPES)[mtype] then
      return nil, "invalid_type"
    end
    local command = (a.command or ""):match("^%s*(.-)%s*$")
    local provider = a.provider or default("provider")
    if command == "" and not (mtype == "session") then
      return nil, "empty_command"
    end
    local rp = policy.normalize(a.restart or default("restart"))
    if not rp then return nil, "invalid_restart_policy" end
    local cwd = a.cwd or D.home
    local st = core.stat(cwd)
    if not st or st.type ~= "directory" then return nil, "cwd_not_found" end
    local parent
    if a.parent then
      local p = reg:resolve(a.parent)
      if not p then return nil, "parent_not_found" end
      -- A mission being stopped gets no new children: a pipeline or script
      -- racing its own stop must not leave orphans behind.
      if p.state == "stopping" then return nil, "parent_stopping" end
      parent = p.id
    elseif a.default_parent then
      -- The caller is itself a mission (OVERMIND_MISSION_ID): its child by
      -- default, unless that mission is gone.
      local p = reg:get(a.default_parent)
      if p and p.state == "stopping" then return nil, "parent_stopping" end
      parent = p and p.id or nil
    end
    if a.name then
      if not names.valid(a.name) then return nil, "invalid_name" end
      -- Pipeline agents are named after their keys and may share a name
      -- with another pipeline's agent (the same blueprint applied twice).
      if not a.shared_name and
          reg:name_in_use(a.name, true, supervisor.is_live) then
        return nil, "name_taken"
      end
    end
    local prov, perr = providers.get(provider, D.home)
    if not prov then return nil, perr end
    if mtype == "session" and not prov.sessions then
      return nil, "provider_has_no_sessions"
    end
    local agent_flags = options.agent_flags(a)
    if #agent_flags > 0 and not prov.agent then
      return nil, "not_an_agent: " .. provider .. " takes no " ..
        table.concat(agent_flags, ", ")
    end

    local m = {
      id = new_id(),
      name = a.name or names.new_name(function(n) return reg:name_in_use(n) end),
      type = mtype,
      provider = provider,
      command = command,
      display = a.display,
      cwd = cwd,
      model = a.model,
      env = a.env or {},
      pty = a.pty == true,
      rows = a.rows, cols = a.cols,
      parent = parent,
      restart_policy = rp,
      max_restarts = a.max_restarts or default("max_restarts"),
      max_seconds = a.max_seconds or default("max_seconds"),
      backoff_ms = a.backoff_ms or default("backoff_ms"),
      activity_timeout = (a.activity_timeout or 0) > 0 and a.activity_timeout or nil,
      timeout = (a.timeout or 0) > 0 and a.timeout or nil,
      stop_timeout = a.stop_timeout or default("stop_timeout"),
      log_max = a.log_max or default("log_max"),
      budget_usd = a.budget_usd,
      client_env = shared_env(a.client_env),
      restart_count = 0,
      created_at = core.time(),
    }
    if prov.agent then
      for _, o in ipairs(options.LIST) do
        if o.agent then
          local v = a[o.key]
          if v == nil then v = o.default end
          -- an empty list is no list: the record holds none
          if type(v) == "table" and #v == 0 then v = nil end
          m[o.key] = v
        end
      end
    end
    -- Ask the provider now, so a broken one -- or a CLI that would refuse
    -- what was asked of it -- fails `run` instead of creating a mission
    -- that can only crash.
    local _, berr = providers.command(prov, m)
    if berr then return nil, berr end
    if prov.check then
      local ok, why = providers.call(prov, "check", providers.describe(m))
      if ok == nil and why then return nil, why end
    end
    return m
  end

  -- Registers and starts a mission built by make_mission.
  function D.launch(m)
    local ok, err, code = store.create_dir(D.home, m.id)
    if not ok and code ~= "EEXIST" then return nil, err end
    reg:add(m)
    D.event(m, "created")
    sup:launch(m)
    return m
  end

  function H.run(a)
    if D.shutting_down then return nil, "shutting_down" end
    local m, err = D.make_mission(a, false)
    if not m then return nil, err end
    local ok, lerr = D.launch(m)
    if not ok then return nil, lerr end
    return { id = m.id, name = m.name }
  end

  local function resolve(a)
    local err = check.args(a, { id = "string" })
    if err then return nil, err end
    return reg:resolve(a.id)
  end
  D.resolve = resolve

  -- The cost of a mission and its descendants (SPEC §9), memoized in
  -- `memo` over one listing; nil when none of them has cost anything.
  local function tree_cost(m, memo)
    if memo and memo[m] ~= nil then return memo[m] or nil end
    local sum = m.cost_usd
    for _, c in ipairs(reg:children(m.id)) do
      local cc = tree_cost(c, memo)
      if cc then sum = (sum or 0) + cc end
    end
    if memo then memo[m] = sum or false end
    return sum
  end
  D.tree_cost = tree_cost

  -- `columns`: only what the ps table shows (info.columns), else the
  -- info objects.
  function H.ps(a)
    local err = check.args(a, { children = "string?", columns = "boolean?" })
    if err then return nil, err end
    local list = reg:list()
    local idx = info.children_index(list)
    local now = core.time()
    local memo = {}
    local function shape(m)
      if a.columns then return info.columns(m, idx[m.id], now) end
      return info.of(m, idx[m.id], now, tree_cost(m, memo))
    end
    local out = {}
    if a.children then
      local p, perr = reg:resolve(a.children)
      if not p then return nil, perr end
      for _, m in ipairs(list) do
        if m.parent == p.id then out[#out + 1] = shape(m) end
      end
    else
      for i, m in ipairs(list) do out[i] = shape(m) end
    end
    return json.array(out)
  end

  function H.info(a)
    local m, err = resolve(a)
    if not m then return nil, err end
    local kids = {}
    for _, c in ipairs(reg:children(m.id)) do kids[#kids + 1] = c.id end
    return info.of(m, kids, core.time(), tree_cost(m))
  end

  -- Live descendants, depth-first (children before their parents).
  local function live_descendants(m, out)
    for _, c in ipairs(reg:children(m.id)) do
      live_descendants(c, out)
      if supervisor.is_live(c) then out[#out + 1] = c end
    end
    return out
  end

  -- Replies once the mission has actually ended (as `docker stop`).  A
  -- pipeline or a script is stopped with what it started: itself first
  -- (so it starts nothing new), then its live descendants.
  function H.stop(a, ctx)
    local m, err = resolve(a)
    if not m then return nil, err end
    if not supervisor.is_live(m) then return nil, "not_running" end
    local group = { m }
    if m.type == "blueprint" or m.type == "script" then
      for _, c in ipairs(live_descendants(m, {})) do group[#group + 1] = c end
    end
    local pending = #group
    local function one_done()
      pending = pending - 1
      if pending == 0 then
        ctx:reply({ id = m.id, status = supervisor.status(m),
                    exit_code = m.exit_code })
      end
    end
    for _, x in ipairs(group) do
      local ok = sup:dispatch(x, "stop", one_done)
      if not ok then one_done() end
    end
    return DEFER
  end

  local function kill_one(m)
    sup:dispatch(m, "kill")
  end

  local function kill_tree(m)
    for _, c in ipairs(reg:children(m.id)) do kill_tree(c) end
    kill_one(m)
  end

  function H.kill(a)
    local err = check.args(a, { id = "string?", cascade = "boolean?",
                                all = "boolean?" })
    if err then return nil, err end
    if a.all then
      local list = reg:list()
      local ids = {}
      -- Newest first, so children go before their parents.
      for i = #list, 1, -1 do
        ids[#ids + 1] = list[i].id
        kill_one(list[i])
      end
      return { killed = json.array(ids) }
    end
    local m, rerr = reg:resolve(a.id)
    if not m then return nil, rerr end
    local id = m.id
    if a.cascade then kill_tree(m) else kill_one(m) end
    return { id = id }
  end

  function H.rm(a)
    local m, err = resolve(a)
    if not m then return nil, err end
    if supervisor.is_live(m) then return nil, "still_running" end
    D.forget(m)
    return { id = m.id }
  end

  function H.prune()
    local ids = {}
    for _, m in ipairs(reg:list()) do
      if not supervisor.is_live(m) then ids[#ids + 1] = m end
    end
    local out = {}
    for i, m in ipairs(ids) do
      D.forget(m)
      out[i] = m.id
    end
    return { removed = json.array(out) }
  end

  return H
end
