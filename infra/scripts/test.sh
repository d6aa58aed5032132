#!/usr/bin/env bash
# `make test`: static checks, then every test against a local stack this script starts and stops.
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/scripts/common.sh
started=$(date +%s)
step() { printf '\n==> %s (%ss)\n' "$*" "$(( $(date +%s) - started ))" >&2; }

step "install local tools"
infra/scripts/install.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cfn-lint template.yaml"
"$VENV/bin/cfn-lint" template.yaml

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "web console: type-check (types from openapi.yaml), lint, build"
(cd web && npm run --silent build && npm run --silent lint)

step "build tests"
cargo test --workspace --no-run --quiet

step "start DynamoDB Local and moto"
trap 'infra/scripts/stop.sh test' EXIT
env_file=$(infra/scripts/start.sh test)
# shellcheck disable=SC1090
source "$env_file"

step "cargo test (unit, store, end-to-end)"
# The local server records every AWS call each function makes here (infra/local/src/iam.rs) ...
export AZORA_IAM_CALLS_DIR="${CARGO_TARGET_DIR:-$PWD/target}/iam-calls"
rm -rf "$AZORA_IAM_CALLS_DIR"
RUST_LOG="${RUST_LOG:-error}" cargo test --workspace --quiet

step "API fuzzing: schemathesis over the served OpenAPI document (tests/e2e/api_fuzz.rs)"
# A fixed seed, so a failure here reproduces; `make fuzz` explores with fresh seeds and more cases.
AZORA_FUZZ_SEED="${AZORA_FUZZ_SEED:-20261203}" AZORA_FUZZ_EXAMPLES="${AZORA_FUZZ_EXAMPLES:-25}" RUST_LOG="${RUST_LOG:-error}" \
  cargo test --quiet --workspace --test e2e api_fuzz -- --ignored --nocapture

step "web console journeys in headless Chromium (screenshots in target/web-screens)"
# Before the IAM check, so the calls the console's journeys make are checked too.
infra/scripts/browser-test.sh

step "IAM conformance: recorded AWS calls vs template.yaml Policies"
# ... and, once the suite is done, each must be allowed by that function's policy. With
# --workspace, as everything above: `-p azora-stack` alone would unify the SDK crates' features
# differently and rebuild them.
cargo test --quiet --workspace --test iam_conformance -- --ignored --nocapture

step "done in $(( $(date +%s) - started ))s"
