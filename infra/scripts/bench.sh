#!/usr/bin/env bash
# `make bench`: cold start of the subscriptions-current function binary (release, fresh process
# per run against a mock Lambda Runtime API), latency of the slice through the local server, and
# the token leaderboard with 1,000,000 users (top-100 latency and requests).
# Starts DynamoDB Local and moto and stops them again. Report: target/bench/results.json.
# Pass-through options for the bench binary: BENCH_ARGS="--runs 20 --requests 5000" make bench
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/scripts/common.sh
started=$(date +%s)
step() { printf '\n==> %s (%ss)\n' "$*" "$(( $(date +%s) - started ))" >&2; }
target_dir="${CARGO_TARGET_DIR:-$REPO_ROOT/target}"

step "install local tools"
infra/scripts/install.sh

# The function alone, as in the brief for a deployed binary; the bench in release too, so the
# server-latency numbers are those of optimised code (the same release profile as the functions).
step "cargo build --release -p subscriptions-current"
cargo build --release --quiet -p subscriptions-current
step "cargo build --release -p azora-bench"
cargo build --release --quiet -p azora-bench

step "start DynamoDB Local and moto"
# Like test.sh, stop the stack on exit; but a test stack someone else already runs (a concurrent
# `make test`) is reused and left running, since start.sh hands it out instead of a new one.
run_dir="$LOCAL_DIR/run/test"
if [ -f "$run_dir/pids" ] && xargs -r kill -0 < "$run_dir/pids" 2>/dev/null; then
  log "a test stack is already running: using it and leaving it running"
else
  trap 'infra/scripts/stop.sh test' EXIT
fi
env_file=$(infra/scripts/start.sh test)
# shellcheck disable=SC1090
source "$env_file"

step "bench"
# shellcheck disable=SC2086
"$target_dir/release/bench" \
  --function-binary "$target_dir/release/subscriptions-current" \
  --out "$target_dir/bench/results.json" ${BENCH_ARGS:-}

# The token leaderboard at scale: LEADERBOARD_USERS users' scores (default 1,000,000) loaded with
# BatchWriteItem into a fresh table, then the top-100 read (one parallel round of 16 shard
# queries), rank lookups and the stats job. Extra options: LEADERBOARD_ARGS="--writers 16".
step "leaderboard bench (${LEADERBOARD_USERS:-1000000} users)"
# shellcheck disable=SC2086
"$target_dir/release/bench" leaderboard \
  --users "${LEADERBOARD_USERS:-1000000}" \
  --out "$target_dir/bench/leaderboard.json" ${LEADERBOARD_ARGS:-}

step "done in $(( $(date +%s) - started ))s"
