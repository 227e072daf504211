-- Help texts: `overmind help`, `overmind help <command>`,
-- `overmind <command> --help`.
local M = {}

M.summary = [==[
Overmind: a supervisor for AI coding agents and any other command.

Usage: overmind <command> [flags] [arguments]

Daemon:
  daemon                 run the daemon in the foreground
  start                  start the daemon in the background
  shutdown               stop every mission and the daemon
  status                 daemon health and mission counts
  monitor                full-screen status and ps, refreshed every 2s

Missions:
  run [flags] <command>  start a supervised command
  claude run <prompt>    start a claude agent (run --provider claude)
  ps                     list missions (--tree, --children ID, --json)
  info <id>              one mission as JSON
  logs [<id>]            output (-f/--follow, --tail N)
  stop <id>              SIGTERM the mission's group, SIGKILL after a grace
  kill <id>              SIGKILL and remove (--cascade, --all)
  rm <id>                remove an exited mission and its files
  prune                  remove every exited mission
  wait <id>...           block until missions finish (--timeout MS, --any)
  events                 stream lifecycle events (--json, --since, --filter)

Agents:
  send <id> <message>    send to a session (--wait, --json, --timeout MS)
  result <id>            the mission's final result as JSON
  subscribe <id>         stream a mission's events as NDJSON
  attach <id>            connect the terminal to a mission
  detach <id>            unpause a session left paused by attach

Blueprints and scripting:
  agents <file>          list a blueprint's agents
  apply <file>           run a blueprint as a pipeline
  script <file.lua>      run an orchestration script as a mission
  eval '<lua>'           run a Lua chunk with the om API
  repl                   interactive Lua with the om API

  help [<command>]       this text, or a command's
  --version              print the version

State lives in $OVERMIND_HOME (default ~/.overmind).  Every command starts
the daemon when none is running, unless OVERMIND_NO_AUTOSTART=1.
]==]

M.commands = {
  daemon = [==[
Usage: overmind daemon

Runs the daemon in the foreground (for systemd units, tests, debugging).
It logs to $OVERMIND_HOME/daemon.log and stops on SIGTERM or SIGINT after
stopping every mission.]==],
  start = [==[
Usage: overmind start

Starts the daemon in the background and waits until it answers.
Prints "Daemon started (PID <pid>)" or "Daemon is already running".]==],
  shutdown = [==[
Usage: overmind shutdown

Stops every live mission (as stop does), saves state, removes the socket
and exits.  Prints "Daemon stopped", or "Daemon is not running".]==],
  status = [==[
Usage: overmind status

Prints the daemon's pid, version, uptime, memory and home, and how many
missions are running, stopped and crashed.]==],
  monitor = [==[
Usage: overmind monitor

A full-screen view of status and ps, refreshed every 2 seconds, until
Ctrl-C.]==],
  run = [==[
Usage: overmind run [flags] <command...>

Starts a supervised mission.  The words after the flags are joined by
spaces and run with `sh -c`.  Prints "Started mission <id> (<name>)".

Flags:
]==] .. require("overmind.options").help({
    { "json", nil, 'print {"id":..,"name":..}' } }) .. [==[


Example:
  overmind run --name build --restart on-failure make -j4]==],
  claude = [==[
Usage: overmind claude run [run flags] <prompt...>

Same as `overmind run --provider claude`.

Example:
  overmind claude run --model haiku "list 3 facts about OTP"]==],
  ps = [==[
Usage: overmind ps [--tree] [--children ID] [--json]

Lists missions, oldest first.  --tree indents children under parents,
--children ID lists the direct children of ID, --json prints the info
objects.]==],
  info = [==[
Usage: overmind info <id>

Prints one mission as a JSON object.]==],
  logs = [==[
Usage: overmind logs [<id>] [-f|--follow] [--tail N]

Prints a mission's output (every mission's without an id).  --follow
keeps printing until the mission ends; --tail N starts at the last N lines.]==],
  stop = [==[
Usage: overmind stop <id>

Sends SIGTERM to the mission's process group and SIGKILL after its stop
timeout; waits until it has ended.  A stop during a restart backoff cancels
the restart.]==],
  kill = [==[
Usage: overmind kill <id> [--cascade] | overmind kill --all

SIGKILLs the mission's process group and removes the mission.  --cascade
kills its descendants first; --all kills every mission.]==],
  rm = [==[
Usage: overmind rm <id>

Removes an exited mission and its files.]==],
  prune = [==[
Usage: overmind prune

Removes every exited mission and its files.]==],
  wait = [==[
Usage: overmind wait <id>... [--timeout MS] [--any] [--waiting]

Blocks until the missions reach a final state and prints
"Mission <id> finished: <status> (exit code <n>)" for each; exits with the
first non-zero exit code.  --any returns when the first one finishes.
--waiting also returns when an agent session has answered and waits for
a message ("Mission <id> waiting for a message", exit 0).
On timeout: "Error: timeout", exit 124.]==],
  events = [==[
Usage: overmind events [--json] [--since <RFC3339|Ns|Nm>] [--filter K=V]...

Streams the daemon's mission lifecycle events, one line each, until
Ctrl-C: "<time> <id> <name> <event>[ <detail>]", or one JSON object per
line with --json.  Events: created, started (os_pid), exited (status,
exit_code), restarting (n, delay_ms), stalled, result (is_error,
cost_usd), removed, waiting, budget_exceeded (budget_usd, cost_usd).

Flags:
  --json                   one JSON object per line
  --since T                first replay the events since T (RFC 3339, or
                           30s, 5m, 2h ago); the daemon keeps the last
                           10000, across its restarts
  --filter K=V             only events whose K is V (repeatable; keys: id,
                           name, event, parent -- a mission and its
                           descendants); one key given twice matches
                           either value

Example:
  overmind events --filter event=exited --filter parent=lead]==],
  send = [==[
Usage: overmind send <id> <message...> [--wait [--json] [--timeout MS]]

Sends a message to a session.  With --wait, waits for the next result and
prints its text (or the result object with --json).]==],
  result = [==[
Usage: overmind result <id>

Prints the mission's final result as JSON ({} when it produced none).]==],
  subscribe = [==[
Usage: overmind subscribe <id>

Streams the mission's events as NDJSON until it ends.]==],
  attach = [==[
Usage: overmind attach <id>

Connects the terminal to a --pty mission (detach with Ctrl-]), or runs
what the mission's provider offers (claude: `claude --resume` for a
session) while the session is paused.]==],
  detach = [==[
Usage: overmind detach <id>

Unpauses a claude session left paused by attach.]==],
  agents = [==[
Usage: overmind agents <file>

Lists a blueprint's agents and their dependencies.]==],
  apply = [==[
Usage: overmind apply <file>

Validates a blueprint and starts it as a pipeline mission.]==],
  script = [==[
Usage: overmind script [run flags] <file.lua> [args...]

Runs an orchestration script as a supervised mission.]==],
  eval = [==[
Usage: overmind eval '<lua>'

Runs a Lua chunk with the om API and prints its results.]==],
  repl = [==[
Usage: overmind repl

An interactive Lua prompt with the om API preloaded.]==],
  help = [==[
Usage: overmind help [<command>]]==],
}

function M.text(cmd)
  if cmd and M.commands[cmd] then return M.commands[cmd] .. "\n" end
  return M.summary
end

return M
