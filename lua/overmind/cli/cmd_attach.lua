-- `attach <id>` (SPEC §6).  A --pty mission: the terminal goes raw and is
-- wired to the mission's pseudo-terminal (output replayed from its tail,
-- window size forwarded) until Ctrl-] or the mission's end.  Otherwise the
-- daemon pauses the session and answers with what its provider runs in a
-- terminal (claude: `claude --resume <session_id>` in the mission's cwd);
-- we run it here and unpause the session on every way out.
local core = require("overmind.core")
local client = require("overmind.cli.client")
local out = require("overmind.cli.out")
local json = require("overmind.json")
local shell = require("overmind.shell")

local M = {}

local DETACH = "\29" -- Ctrl-]

local function pty_session(c, res, id)
  local tty = core.isatty(0)
  local saved = tty and core.tty_raw(0) or nil
  local function restore()
    if saved then core.tty_restore(0, saved) end
  end
  local ok, why = pcall(function()
    core.write(1, res.tail or "")
    local sock = c:fd()
    core.winch()
    while true do
      -- Drain what the client already buffered before sleeping in poll.
      while true do
        local line, err = c:recv(0)
        if not line then
          if err == "eof" then return "ended" end
          break
        end
        local msg = json.decode(line)
        if type(msg) == "table" then
          if msg.data then core.write(1, msg.data) end
          if msg["end"] then return "ended" end
        end
      end
      local ready = core.poll({ 0, sock }, 500)
      if core.winch() and tty then
        local rows, cols = core.winsize(0)
        if rows then c:send(json.encode_bytes({ resize = { rows, cols } }) .. "\n") end
      end
      if ready[0] then
        local data = core.read(0, 4096)
        if not data or data == "" then return "detached" end
        local k = data:find(DETACH, 1, true)
        if k then
          if k > 1 then
            c:send(json.encode_bytes({ input = data:sub(1, k - 1) }) .. "\n")
          end
          return "detached"
        end
        c:send(json.encode_bytes({ input = data }) .. "\n")
      end
    end
  end)
  restore()
  if not ok then return out.fail(why) end
  if why == "detached" then
    io.stdout:write("\r\n[detached from mission ", id, "]\r\n")
  else
    io.stdout:write("\r\n[mission ", id, " ended]\r\n")
  end
  return 0
end

local function command_session(res)
  local cmd = "cd " .. shell.quote(res.cwd or ".") .. " && exec " ..
    shell.join(res.argv)
  -- os.execute ignores SIGINT while it waits, so Ctrl-C reaches the
  -- program and we live on to unpause the session.
  local ok, _, how, code = pcall(os.execute, cmd)
  local _, derr = client.call("detach", { id = res.id })
  if derr and derr ~= "not_paused" then out.fail(derr) end
  if not ok then return out.fail(how) end
  if how == "signal" then return 128 + (code or 0) end
  return code or 0
end

function M.attach(argv)
  local opts, pos = out.parse(argv, 2, {})
  if not opts then return pos end
  if not pos[1] then return out.fail("usage: overmind attach <id>") end
  local c, err = client.connect()
  if not c then return out.fail(err) end
  local rows, cols
  if core.isatty(0) then rows, cols = core.winsize(0) end
  local res, rerr = client.request(c, "attach", { id = pos[1], rows = rows,
                                                  cols = cols })
  if not res then
    c:close()
    return out.fail(rerr)
  end
  local code
  if res.mode == "pty" then
    code = pty_session(c, res, res.id)
    c:close()
  else
    c:close()
    code = command_session(res)
  end
  return code
end

return M
