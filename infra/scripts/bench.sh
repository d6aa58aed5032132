#!/usr/bin/env bash
# `make bench`: the release build of every function (timed; BENCH_COLD_BUILD=1 for a cold one),
# each function's zipped size, init and peak memory beside a hello-world binary with the targets'
# verdicts and the panic probe (target/bench/functions.{json,md}); the cold start of the
# subscriptions-current function binary (fresh process per run against a mock Lambda Runtime
# API), latency of the slice through the local server, and the token leaderboard with 1,000,000
# users (top-100 latency and requests).
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

# Every function, as `make build` builds them (functions only), timed. BENCH_COLD_BUILD=1 builds
# into a fresh target dir (dependencies included), then again after touching one handler.
# The bench, the hello-world baseline and the panic probe come after, with the same profile.
build_target="$target_dir"
if [ "${BENCH_COLD_BUILD:-0}" = 1 ]; then
  build_target="$target_dir/cold-build"
  rm -rf "$build_target"
fi
packages=()
for dir in functions/*/; do packages+=(-p "$(basename "$dir")"); done
# The release flags `make build` uses (Makefile's RELEASE_RUSTFLAGS; measured in Cargo.toml's
# release profile comment): release builds abort on panic, so no unwind tables. RUSTFLAGS rather
# than the profile (profile rustflags are unstable), and only here: tests and the local server unwind.
release_rustflags="-C force-unwind-tables=no"
function_count=$(( ${#packages[@]} / 2 ))
step "cargo build --release: all $function_count functions into $build_target"
build_started=$(date +%s)
RUSTFLAGS="$release_rustflags" CARGO_TARGET_DIR="$build_target" cargo build --release --quiet "${packages[@]}"
build_seconds=$(( $(date +%s) - build_started ))
rebuild_seconds=""
if [ "${BENCH_COLD_BUILD:-0}" = 1 ]; then
  step "rebuild after changing one handler (shared/api/src/handlers/payments.rs)"
  touch shared/api/src/handlers/payments.rs
  rebuild_started=$(date +%s)
  RUSTFLAGS="$release_rustflags" CARGO_TARGET_DIR="$build_target" cargo build --release --quiet "${packages[@]}"
  rebuild_seconds=$(( $(date +%s) - rebuild_started ))
fi
mkdir -p "$target_dir/bench"
printf '{"functions": %s, "cold": %s, "build_seconds": %s, "rebuild_after_one_handler_seconds": %s}\n' \
  "$function_count" "${BENCH_COLD_BUILD:-0}" "$build_seconds" "${rebuild_seconds:-null}" \
  > "$target_dir/bench/build.json"
log "release build of the functions: ${build_seconds}s${rebuild_seconds:+, after one handler changed: ${rebuild_seconds}s}"
step "cargo build --release -p azora-bench (bench, hello-world baseline, panic probe)"
RUSTFLAGS="$release_rustflags" CARGO_TARGET_DIR="$build_target" cargo build --release --quiet -p azora-bench

step "start DynamoDB Local and moto"
# Like test.sh, stop the stack on exit; but a test stack someone else already runs (a concurrent
# `make test`) is reused and left running, since start.sh hands it out instead of a new one.
run_dir="$LOCAL_DIR/run/test"
if [ -f "$run_dir/pids" ] && xargs -r kill -0 < "$run_dir/pids" 2>/dev/null; then
  log "a test stack is already running: using it and leaving it running"
else
  own_stack=1
  trap 'infra/scripts/stop.sh test' EXIT
fi
env_file=$(infra/scripts/start.sh test)
# shellcheck disable=SC1090
source "$env_file"

# Size, init and peak memory of every function beside the hello-world binary, and the panic probe.
step "functions: zipped size, init, peak RSS; panic probe"
# A missed target is a finding, not a reason to skip the rest of the measurements: the survey's
# verdict is reported again, and is make bench's exit status, at the end.
survey_status=0
"$build_target/release/bench" functions --release-dir "$build_target/release" --out "$target_dir/bench/functions.json" \
  || survey_status=$?

step "bench"
# shellcheck disable=SC2086
"$build_target/release/bench" \
  --function-binary "$build_target/release/subscriptions-current" \
  --out "$target_dir/bench/results.json" ${BENCH_ARGS:-}

# The token leaderboard at scale: LEADERBOARD_USERS users' scores (default 1,000,000) loaded with
# BatchWriteItem into a fresh table, then the top-100 read (one parallel round of 16 shard
# queries), rank lookups and the stats job. Extra options: LEADERBOARD_ARGS="--writers 16".
step "leaderboard bench (${LEADERBOARD_USERS:-1000000} users)"
# shellcheck disable=SC2086
"$build_target/release/bench" leaderboard \
  --users "${LEADERBOARD_USERS:-1000000}" \
  --out "$target_dir/bench/leaderboard.json" ${LEADERBOARD_ARGS:-}

# The product plan's claims: latency per endpoint class with round trips, webhook → fulfilment,
# the open-model load of LOAD_USERS virtual users, the capacity ramp (the knee), the money
# invariants over what both wrote, throughput against raw DynamoDB Local; writes
# docs/benchmarks.md and its two SVG figures.
# Extra options: LOAD_ARGS="--rate 200 --seconds 300".
step "load bench (${LOAD_USERS:-1000} virtual users)"
# On a fresh DynamoDB Local: after the leaderboard's million items (even deleted) its JVM answered
# a GetItem ~50 % slower (p50 2.27 ms vs 1.53 ms on a fresh one), which every latency below inherits.
if [ "${own_stack:-0}" = 1 ]; then
  infra/scripts/stop.sh test
  env_file=$(infra/scripts/start.sh test)
  # shellcheck disable=SC1090
  source "$env_file"
fi
# shellcheck disable=SC2086
"$build_target/release/bench" load --users "${LOAD_USERS:-1000}" \
  --out "$target_dir/bench/load.json" --doc "$REPO_ROOT/docs/benchmarks.md" ${LOAD_ARGS:-} | grep -v '"_aws"'

step "done in $(( $(date +%s) - started ))s"
if [ "$survey_status" != 0 ]; then
  log "functions that miss a size, init or memory target: see $target_dir/bench/functions.md"
  exit "$survey_status"
fi
