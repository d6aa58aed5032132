#!/usr/bin/env bash
# Stops the processes that start.sh recorded for one stack instance, and nothing else.
set -uo pipefail
source "$(dirname "$0")/common.sh"
mode="${1:?usage: stop.sh test|dev}"
run_dir="$LOCAL_DIR/run/$mode"
[ -f "$run_dir/pids" ] || exit 0
while read -r pid; do
  [ -n "$pid" ] || continue
  kill "$pid" 2>/dev/null || continue
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
done < "$run_dir/pids"
rm -f "$run_dir/pids" "$run_dir/stack.env"
log "$mode stack stopped"
