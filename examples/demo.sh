#!/bin/sh
# `make demo`: Overmind end to end on a private OVERMIND_HOME (a temporary
# directory, removed at the end): a daemon, a few supervised missions, a
# crash healed by its restart policy and the events it made, a stall
# killed, a parent/child tree,
# claude agents (played by the stand-in in tests/doubles/claude, so no
# network or account is needed): a task, a session fed by `send`, a
# pipeline of agents, and an orchestration script that decomposes a task
# into parallel agents, retries a failure and records a summary.
set -e
cd "$(dirname "$0")/.."
OM="$(pwd)/build/overmind"
export OVERMIND_HOME="$(mktemp -d /tmp/overmind-demo.XXXXXX)"
export OVERMIND_CLAUDE_BIN="$(pwd)/tests/doubles/claude"
export CLAUDE_DOUBLE_HOME="$OVERMIND_HOME/claude-double"
trap '"$OM" shutdown >/dev/null 2>&1 || true; rm -rf "$OVERMIND_HOME"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ overmind %s\n' "$*"; "$OM" "$@"; }
id_of() { sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p'; }

step "A private home: $OVERMIND_HOME"
show start

step "A task runs to completion; its output is logged"
show run --name hello 'echo "hello from a supervised task"; echo "stderr is captured too" >&2'
show wait hello
show logs hello

step "A flaky worker crashes twice; on-failure restarts it with backoff"
cat >"$OVERMIND_HOME/flaky.sh" <<'SH'
n=$(cat "$OVERMIND_HOME/count" 2>/dev/null || echo 0)
echo $((n + 1)) >"$OVERMIND_HOME/count"
echo "attempt $((n + 1))"
[ "$n" -ge 2 ] || exit 1
echo "recovered"
SH
show run --name flaky --restart on-failure --backoff 200 sh "$OVERMIND_HOME/flaky.sh"
show wait flaky
show logs flaky

step "The lifecycle events so far: the crashes, their restarts, the recovery"
# `events` follows until Ctrl-C; here it replays the last minute and stops.
printf '$ overmind events --since 1m --filter name=flaky\n'
timeout 1 "$OM" events --since 1m --filter name=flaky || true

step "A stalled agent (no output for 1s) is killed and marked crashed"
show run --name stuck --activity-timeout 1 'echo thinking...; sleep 30'
show wait stuck || true
show logs stuck

step "A parent with children, as an orchestrator would start them"
show run --name lead sleep 30
show run --name worker-a --parent lead sleep 30
show run --name worker-b --parent lead sleep 30
show ps --tree

step "Stop one child (SIGTERM to its process group), then kill the tree"
show stop worker-a
show kill lead --cascade
show ps

step "A claude agent (the stand-in): text and tool calls in the log, a result"
show claude run --name facts "list 3 facts about OTP"
show wait facts
show logs facts
show result facts

step "A claude session: messages in, answers out, the conversation kept"
show run --provider claude --type session --name pair "you are reviewing src/proc.c"
show send pair "what did I say before?" --wait
show send pair "anything else?" --wait --json
show stop pair

step "A pipeline of agents: two in parallel, then a join"
show agents blueprints/build.toml
show apply blueprints/build.toml
show wait build
show logs build

step "An orchestration script: decompose, spawn, wait, retry, record"
# ORCHESTRATE_FAIL=draft makes the draft agent fail once, to show the retry.
show script --name orchestrator --env ORCHESTRATE_FAIL=draft \
  examples/orchestrate.lua "ship the notes"
show wait orchestrator
show logs orchestrator
show ps --tree

step "Daemon health"
show status

step "Shut down"
show shutdown
