#!/bin/sh
# `make demo`: Overmind end to end on a private OVERMIND_HOME (a temporary
# directory, removed at the end): a daemon, a few supervised missions, a
# crash healed by its restart policy, a stall killed, a parent/child tree,
# logs, wait, stop and kill.
set -e
cd "$(dirname "$0")/.."
OM="$(pwd)/build/overmind"
export OVERMIND_HOME="$(mktemp -d /tmp/overmind-demo.XXXXXX)"
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

step "Daemon health"
show status

step "Shut down"
show shutdown
