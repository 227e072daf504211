-- Agents and sessions (SPEC §6): send (and send --wait), result,
-- subscribe, attach, detach.
local check = require("overmind.check")
local json = require("overmind.json")
local core = require("overmind.core")
local supervisor = require("overmind.daemon.supervisor")
local common = require("overmind.providers.common")
local DEFER = require("overmind.daemon.server").DEFER

return function(D)
  local H = {}
  -- `send --wait` answers a message with the result of *its* turn: a
  -- session answers its messages in order with one result each, so the
  -- n-th message sent in a run is answered by the n-th result of that run
  -- (the runner counts both).  A message sent while earlier ones are still
  -- being answered waits for its own answer, not theirs.
  -- id -> list of { turn = n, fn = function(result | nil, reason) }.
  local result_waiters = {}

  local function remove_waiter(id, w)
    local q = result_waiters[id] or {}
    for k = #q, 1, -1 do if q[k] == w then table.remove(q, k) end end
  end

  D.on_result = function(m, r)
    local q = result_waiters[m.id]
    if not q then return end
    local seen = m.rt and m.rt.results or 0
    for k = #q, 1, -1 do
      local w = q[k]
      if w.turn <= seen then
        table.remove(q, k)
        w.fn(r)
      end
    end
  end

  -- When a run ends, pending `send --wait`s get `exited`.
  local function fail_all(m)
    local q = result_waiters[m.id]
    result_waiters[m.id] = nil
    for _, w in ipairs(q or {}) do w.fn(nil, "exited") end
  end
  D.on_run_end = fail_all
  D.on_final = function(m) fail_all(m) end

  local function result_object(r)
    return {
      text = r.text == nil and json.null or r.text,
      is_error = r.is_error == true,
      duration_ms = r.duration_ms == nil and json.null or r.duration_ms,
      cost_usd = r.cost_usd == nil and json.null or r.cost_usd,
      num_turns = r.num_turns,
      session_id = r.session_id,
    }
  end

  function H.send(a, ctx)
    local err = check.args(a, { id = "string", text = "string",
                                wait = "boolean?", timeout_ms = "number?" })
    if err then return nil, err end
    local m, rerr = D.registry:resolve(a.id)
    if not m then return nil, rerr end
    if m.type ~= "session" then return nil, "not_session" end
    if m.state ~= "running" or not (m.rt and m.rt.handle) then
      return nil, "not_running"
    end
    if m.rt.paused then return nil, "paused" end
    if not a.wait then
      local ok, serr = D.runner:send(m, a.text)
      if not ok then return nil, serr end
      return { id = m.id }
    end
    local timer, done = nil, false
    local w = {}
    w.fn = function(r, reason)
      if done then return end
      done = true
      if timer then timer:close() end
      if r then ctx:reply(result_object(r)) else ctx:fail(reason) end
    end
    local turn, serr = D.runner:send(m, a.text)
    if not turn then return nil, serr end
    -- The write is queued, the answer cannot have come yet: register now.
    w.turn = turn
    result_waiters[m.id] = result_waiters[m.id] or {}
    table.insert(result_waiters[m.id], w)
    timer = core.timer()
    timer:start(math.floor(a.timeout_ms or 60000), 0, function()
      remove_waiter(m.id, w)
      w.fn(nil, "timeout")
    end)
    ctx:on_close(function()
      remove_waiter(m.id, w)
      done = true
      timer:close()
    end)
    return DEFER
  end

  function H.result(a)
    local m, err = D.resolve(a)
    if not m then return nil, err end
    if m.type ~= "session" and supervisor.is_live(m) then
      return nil, "not_finished"
    end
    if not m.result then return {} end
    return result_object(m.result)
  end

  function H.subscribe(a, ctx)
    local m, err = D.resolve(a)
    if not m then return nil, err end
    ctx:stream()
    ctx:reply({ id = m.id, status = supervisor.status(m) })
    if not supervisor.is_live(m) then
      ctx:send(json.encode_event({ type = "exit", status = supervisor.status(m),
                 exit_code = m.exit_code == nil and json.null or m.exit_code }))
      ctx:finish()
      return DEFER
    end
    D.hub:subscribe(m, ctx)
    return DEFER
  end

  local function set_paused(m, on)
    m.rt = m.rt or {}
    m.rt.paused = on or nil
    local h = m.rt.handle
    if h then h.proc:pause(on) end
  end

  function H.attach(a, ctx)
    local err = check.args(a, { id = "string", rows = "integer?",
                                cols = "integer?" })
    if err then return nil, err end
    local m, rerr = D.registry:resolve(a.id)
    if not m then return nil, rerr end
    local h = m.rt and m.rt.handle
    if m.state ~= "running" or not h then return nil, "not_running" end
    if m.pty then
      if a.rows and a.cols then h.proc:resize(a.rows, a.cols) end
      ctx:stream()
      ctx:reply({ mode = "pty", id = m.id, tail = h.proc:tail() })
      D.hub:follow(m, ctx)
      ctx:on_input(function(line)
        local msg = json.decode(line)
        if type(msg) ~= "table" then return end
        local cur = m.rt and m.rt.handle
        if not cur then return end
        if type(msg.input) == "string" then cur:write(msg.input) end
        if type(msg.resize) == "table" then
          local rows, cols = math.tointeger(msg.resize[1]),
            math.tointeger(msg.resize[2])
          if rows and cols then cur.proc:resize(rows, cols) end
        end
      end)
      return DEFER
    end
    if m.provider == "claude" and m.type == "session" then
      if not m.session_id then return nil, "no_session_id" end
      if m.rt.paused then return nil, "paused" end
      set_paused(m, true)
      D.log("mission " .. m.id .. " paused for attach")
      return { mode = "claude", id = m.id, session_id = m.session_id,
               cwd = m.cwd,
               bin = common.executable(m, "OVERMIND_CLAUDE_BIN", "claude") }
    end
    return nil, "not_attachable"
  end

  function H.detach(a)
    local m, err = D.resolve(a)
    if not m then return nil, err end
    if not (m.rt and m.rt.paused) then return nil, "not_paused" end
    set_paused(m, false)
    D.log("mission " .. m.id .. " unpaused")
    return { id = m.id }
  end

  return H
end
