#!/usr/bin/env bash
# `make soak`: the randomized invariant test (tests/e2e/invariants.rs) with more steps and several
# seeds, against a local stack started like `make test` does. Not part of `make test`.
#   SOAK_SEEDS="1 2 3"   seeds to run (default: three fixed seeds)
#   SOAK_STEPS=600       steps per seed
# A test stack that was already running is used and left running; one started here is stopped.
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/scripts/common.sh
seeds="${SOAK_SEEDS:-20261202 7 1337}"
steps="${SOAK_STEPS:-600}"
started=$(date +%s)
step() { printf '\n==> %s (%ss)\n' "$*" "$(( $(date +%s) - started ))" >&2; }

step "install local tools"
infra/scripts/install.sh

step "build tests"
cargo test -p azora-e2e --test e2e --no-run --quiet

run_dir="$LOCAL_DIR/run/test"
if [ -f "$run_dir/pids" ] && xargs -r kill -0 < "$run_dir/pids" 2>/dev/null; then
  step "using the running test stack"
else
  step "start DynamoDB Local and moto"
  trap 'infra/scripts/stop.sh test' EXIT
fi
env_file=$(infra/scripts/start.sh test)
# shellcheck disable=SC1090
source "$env_file"

failed=()
for seed in $seeds; do
  step "invariant walk: seed $seed, $steps steps"
  if AZORA_INVARIANT_SEED="$seed" AZORA_INVARIANT_STEPS="$steps" RUST_LOG="${RUST_LOG:-error}" \
     cargo test -p azora-e2e --test e2e --quiet invariants:: -- --nocapture; then
    printf '[soak] seed %s, %s steps: passed\n' "$seed" "$steps" >&2
  else
    printf '[soak] seed %s, %s steps: FAILED\n' "$seed" "$steps" >&2
    failed+=("$seed")
  fi
done

step "done in $(( $(date +%s) - started ))s: seeds [$seeds], $steps steps each"
if [ "${#failed[@]}" -gt 0 ]; then
  die "invariant violations with seed(s) ${failed[*]} (reproduce: AZORA_INVARIANT_SEED=<seed> AZORA_INVARIANT_STEPS=$steps cargo test -p azora-e2e --test e2e invariants:: -- --nocapture)"
fi
