-- `run` and `claude run` (SPEC §3).
local core = require("overmind.core")
local client = require("overmind.cli.client")
local out = require("overmind.cli.out")
local options = require("overmind.options")

local M = {}

-- The mission options' flags (overmind.options), plus how to print.
M.FLAGS = options.flags()
M.FLAGS.json = { kind = "bool" }

local function absolute(dir)
  if dir:sub(1, 1) == "/" then return dir end
  local cwd = core.getcwd() or "."
  return cwd .. "/" .. dir
end

-- Turns parsed flags and the command words into `run` request arguments.
function M.request_args(opts, words)
  local a = {}
  for k, v in pairs(opts) do
    if k ~= "json" and k ~= "env" then a[k] = v end
  end
  a.command = table.concat(words, " ")
  if opts.env then
    a.env = {}
    for _, kv in ipairs(opts.env) do
      local k, v = kv:match("^([^=]+)=(.*)$")
      if not k then return nil, "invalid_env: " .. kv end
      a.env[k] = v
    end
  end
  -- The mission runs in this shell's environment (SPEC §9), not the one
  -- the daemon started with: an API key or an agent executable exported
  -- since reaches it.
  a.client_env = core.environ()
  a.cwd = absolute(opts.cwd or core.getcwd() or ".")
  if not a.parent then
    local me = os.getenv("OVERMIND_MISSION_ID")
    if me and me ~= "" then a.default_parent = me end
  end
  if core.isatty(1) and a.pty then
    a.rows, a.cols = core.winsize(1)
  end
  return a
end

local function start(opts, words)
  local a, err = M.request_args(opts, words)
  if not a then return out.fail(err) end
  local res, rerr = client.call("run", a)
  if not res then return out.fail(rerr) end
  return out.started(res, opts.json)
end

function M.run(argv)
  local opts, words = out.parse(argv, 2, M.FLAGS, true)
  if not opts then return words end
  return start(opts, words)
end

function M.claude(argv)
  if argv[2] ~= "run" then
    return out.fail("usage: overmind claude run [flags] <prompt...>")
  end
  local opts, words = out.parse(argv, 3, M.FLAGS, true)
  if not opts then return words end
  opts.provider = "claude"
  return start(opts, words)
end

return M
