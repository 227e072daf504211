-- The command-line interface: finds the command and hands it argv.  Every
-- command returns the process exit status.
local core = require("overmind.core")

-- The help texts, loaded only when asked for: every command pays for what
-- it loads at start-up.
local function help()
  return require("overmind.cli.help")
end

local M = {}

-- command -> module that implements it (as a function of the same name).
local commands = {
  daemon = "overmind.cli.cmd_daemon",
  start = "overmind.cli.cmd_daemon",
  shutdown = "overmind.cli.cmd_daemon",
  status = "overmind.cli.cmd_daemon",
  monitor = "overmind.cli.cmd_daemon",
  run = "overmind.cli.cmd_run",
  claude = "overmind.cli.cmd_run",
  ps = "overmind.cli.cmd_ps",
  info = "overmind.cli.cmd_ps",
  logs = "overmind.cli.cmd_logs",
  stop = "overmind.cli.cmd_missions",
  kill = "overmind.cli.cmd_missions",
  rm = "overmind.cli.cmd_missions",
  prune = "overmind.cli.cmd_missions",
  wait = "overmind.cli.cmd_wait",
  events = "overmind.cli.cmd_events",
  send = "overmind.cli.cmd_session",
  result = "overmind.cli.cmd_session",
  subscribe = "overmind.cli.cmd_session",
  attach = "overmind.cli.cmd_attach",
  detach = "overmind.cli.cmd_session",
  agents = "overmind.cli.cmd_blueprint",
  apply = "overmind.cli.cmd_blueprint",
  script = "overmind.cli.cmd_script",
  eval = "overmind.cli.cmd_script",
  repl = "overmind.cli.cmd_script",
}
M.commands = commands

function M.main(argv)
  local cmd = argv[1]
  if cmd == nil or cmd == "--help" or cmd == "-h" then
    io.stdout:write(help().text())
    return 0
  end
  if cmd == "help" then
    local topic = argv[2]
    if topic and not help().commands[topic] then
      io.stderr:write("Error: unknown command: ", topic, "\n")
      return 1
    end
    io.stdout:write(help().text(topic))
    return 0
  end
  if cmd == "--version" or cmd == "-v" or cmd == "version" then
    io.stdout:write("overmind ", core.version, "\n")
    return 0
  end
  local mod = commands[cmd]
  if not mod then
    io.stderr:write("Error: unknown command: ", cmd,
      " (see: overmind help)\n")
    return 1
  end
  if argv[2] == "--help" or argv[2] == "-h" then
    io.stdout:write(help().text(cmd))
    return 0
  end
  return require(mod)[cmd](argv)
end

return M
