-- Agents and sessions (SPEC §6): send (and send --wait), result,
-- subscribe, attach, detach.  What a mission prints and who watches it
-- belong to its Run and Output (daemon/run.lua); these handlers only ask.
local check = require("overmind.daemon.check")
local json = require("overmind.json")
local core = require("overmind.core")
local providers = require("overmind.providers")
local info = require("overmind.daemon.info")
local supervisor = require("overmind.daemon.supervisor")
local DEFER = require("overmind.daemon.server").DEFER

return function(D)
  local H = {}

  local result_object = info.result

  -- The live attempt of a session that may take a message, or the reason.
  local function session_run(a)
    local m, err = D.registry:resolve(a.id)
    if not m then return nil, err end
    if m.type ~= "session" then return nil, "not_session" end
    if m.state == "attached" then return nil, "paused" end
    local run = m.run
    if m.state ~= "running" or not run then return nil, "not_running" end
    return run, m
  end

  -- `send --wait` answers a message with the result of *its* turn: a
  -- session answers its messages in order with one result each, so the
  -- n-th message sent in an attempt is answered by the n-th result of that
  -- attempt (the Run counts both).  A message sent while earlier ones are
  -- still being answered waits for its own answer, not theirs.
  function H.send(a, ctx)
    local err = check.args(a, { id = "string", text = "string",
                                wait = "boolean?", timeout_ms = "number?" })
    if err then return nil, err end
    local run, m = session_run(a)
    if not run then return nil, m end
    local turn, serr = run:send(a.text)
    if not turn then return nil, serr end
    if not a.wait then return { id = m.id } end
    local timer, waiting
    local function answer(r, reason)
      if timer then timer:close() end
      timer = nil
      if r then ctx:reply(result_object(r)) else ctx:fail(reason) end
    end
    -- The write is queued, the answer cannot have come yet.
    waiting = run:await(turn, answer)
    timer = core.timer()
    timer:start(math.floor(a.timeout_ms or 60000), 0, function()
      run:cancel_wait(waiting)
      answer(nil, "timeout")
    end)
    ctx:on_close(function()
      run:cancel_wait(waiting)
      if timer then timer:close() end
      timer = nil
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
    D.output(m):subscribe(ctx)
    return DEFER
  end

  -- A --pty mission: the terminal is wired to its pseudo-terminal; the
  -- client's lines are input and window sizes.
  local function attach_pty(m, a, ctx)
    local run = m.run
    if a.rows and a.cols then run:resize(a.rows, a.cols) end
    ctx:stream()
    ctx:reply({ mode = "pty", id = m.id, tail = run:tail() })
    D.output(m):follow(ctx)
    ctx:on_input(function(line)
      local msg = json.decode(line)
      if type(msg) ~= "table" then return end
      local cur = m.run -- the attempt running now, after any restart
      if not cur then return end
      if type(msg.input) == "string" then cur:write(msg.input) end
      if type(msg.resize) == "table" then
        local rows, cols = math.tointeger(msg.resize[1]),
          math.tointeger(msg.resize[2])
        if rows and cols then cur:resize(rows, cols) end
      end
    end)
    return DEFER
  end

  function H.attach(a, ctx)
    local err = check.args(a, { id = "string", rows = "integer?",
                                cols = "integer?" })
    if err then return nil, err end
    local m, rerr = D.registry:resolve(a.id)
    if not m then return nil, rerr end
    if m.state == "attached" then return nil, "paused" end
    local run = m.run
    if m.state ~= "running" or not run then return nil, "not_running" end
    if m.pty then return attach_pty(m, a, ctx) end
    -- Otherwise the provider says what runs in the user's terminal.
    local prov, perr = providers.get(m.provider, D.home)
    if not prov then return nil, perr end
    if not prov.attach then return nil, "not_attachable" end
    local how, herr = providers.call(prov, "attach", providers.describe(m))
    if type(how) ~= "table" or type(how.argv) ~= "table" then
      return nil, herr or "not_attachable"
    end
    -- The headless process goes first, so the terminal's is the only one
    -- on the conversation; the reply waits until it is gone.
    local reply = { mode = "command", id = m.id, argv = json.array(how.argv),
                    cwd = how.cwd or m.cwd }
    D.sup:dispatch(m, "attach", function() ctx:reply(reply) end)
    D.log("mission " .. m.id .. " attached")
    return DEFER
  end

  function H.detach(a)
    local m, err = D.resolve(a)
    if not m then return nil, err end
    if m.state ~= "attached" then return nil, "not_paused" end
    D.sup:dispatch(m, "detach")
    D.log("mission " .. m.id .. " detached")
    return { id = m.id }
  end

  return H
end
