#!/bin/sh
# The crash-to-restarted workload: announces its pid on the fifo $1, waits
# for a line on the fifo $2, then exits 1.  Both are builtins of sh, so a
# restart is seen the moment the new process runs its first command.
echo $$ > "$1"
read -r _ < "$2"
exit 1
