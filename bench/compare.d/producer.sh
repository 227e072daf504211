#!/bin/sh
# The capture workload: $1 bytes of 64-byte lines on stdout, then exit 0.
yes 'overmind-bench-output-line-64-bytes-long-abcdefghijklmnopqrstuv' | head -c "$1"
