#!/usr/bin/env bash
# `make fuzz`'s second half: schemathesis over every operation (tests/e2e/api_fuzz.rs) with many
# examples and a fresh seed (printed in the report, to reproduce a failure with AZORA_FUZZ_SEED).
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/scripts/common.sh
infra/scripts/install.sh
# As bench.sh: a test stack someone else runs is reused and left running.
run_dir="$LOCAL_DIR/run/test"
if ! { [ -f "$run_dir/pids" ] && xargs -r kill -0 < "$run_dir/pids" 2>/dev/null; }; then
  trap 'infra/scripts/stop.sh test' EXIT
fi
env_file=$(infra/scripts/start.sh test)
# shellcheck disable=SC1090
source "$env_file"
AZORA_FUZZ_EXAMPLES="${AZORA_FUZZ_EXAMPLES:-300}" RUST_LOG="${RUST_LOG:-error}" \
  cargo test --quiet --workspace --test e2e api_fuzz -- --ignored --nocapture
