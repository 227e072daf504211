-- `script`, `eval` and `repl` (SPEC §7).
local core = require("overmind.core")
local client = require("overmind.cli.client")
local out = require("overmind.cli.out")
local json = require("overmind.json")
local paths = require("overmind.paths")
local pretty = require("overmind.cli.pretty")
local shell = require("overmind.shell")
local run = require("overmind.cli.cmd_run")

local M = {}

-- `overmind script [run flags] <file.lua> [args...]`: a supervised mission
-- of type `script` running the file in this binary's script mode.
function M.script(argv)
  local opts, words = out.parse(argv, 2, run.FLAGS, true)
  if not opts then return words end
  local file = table.remove(words, 1)
  if not file then
    return out.fail("usage: overmind script [run flags] <file.lua> [args...]")
  end
  if file:sub(1, 1) ~= "/" then file = (core.getcwd() or ".") .. "/" .. file end
  local f = io.open(file, "r")
  if not f then return out.fail("cannot read " .. file) end
  local src = f:read("a")
  f:close()
  local _, cerr = load(src, "@" .. file)
  if cerr then return out.fail(cerr) end
  local cmd = { core.exepath(), "__script", file }
  for _, w in ipairs(words) do cmd[#cmd + 1] = w end
  local a, err = run.request_args(opts, {})
  if not a then return out.fail(err) end
  a.command = shell.join(cmd)
  a.display = "script " .. shell.join({ table.unpack(cmd, 3) })
  a.type = "script"
  local res, rerr = client.call("script", a)
  if not res then return out.fail(rerr) end
  return out.started(res, opts.json)
end

-- The environment of eval and the REPL: the globals plus `om`.
local function api_env()
  return setmetatable({ om = require("overmind") }, { __index = _G })
end

-- Compiles a chunk, preferring `return <chunk>` so expressions print.
local function compile(src, env, name)
  local chunk = load("return " .. src, name, "t", env)
  if chunk then return chunk end
  return load(src, name, "t", env)
end

local function show_results(ok, ...)
  if not ok then return false, (...) end
  for i = 1, select("#", ...) do
    io.stdout:write(pretty.show((select(i, ...))), "\n")
  end
  return true
end

function M.eval(argv)
  local src = table.concat(argv, " ", 2)
  if src == "" then return out.fail("usage: overmind eval '<lua>'") end
  local chunk, err = compile(src, api_env(), "=eval")
  if not chunk then return out.fail(err) end
  local ok, rerr = show_results(pcall(chunk))
  if not ok then return out.fail(rerr) end
  return 0
end

-- An incomplete chunk (the parser hit the end) asks for more lines.
local function incomplete(err)
  return err and err:match("<eof>$") ~= nil
end

function M.repl(argv)
  local opts, pos = out.parse(argv, 2, {})
  if not opts then return pos end
  local env = api_env()
  local history = paths.home() .. "/repl_history"
  paths.mkdirs(paths.home())
  core.read_history(history)
  io.stdout:write("Overmind ", core.version,
    " REPL: Lua 5.4 with `om` (the API). Ctrl-D exits.\n")
  io.stdout:flush()
  local buffer = nil
  while true do
    local line = core.readline(buffer and ">> " or "om> ")
    if line == nil then break end
    if buffer then buffer = buffer .. "\n" .. line else buffer = line end
    if buffer:match("^%s*$") then
      buffer = nil
    else
      local chunk, err = compile(buffer, env, "=repl")
      if not chunk and incomplete(err) then
        -- keep reading
      else
        core.add_history(buffer)
        if not chunk then
          io.stdout:write(err, "\n")
        else
          local ok, rerr = show_results(pcall(chunk))
          if not ok then io.stdout:write("error: ", tostring(rerr), "\n") end
        end
        io.stdout:flush()
        buffer = nil
      end
    end
  end
  core.write_history(history)
  io.stdout:write("\n")
  return 0
end

return M
