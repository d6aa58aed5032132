#!/usr/bin/env bash
# Prints a development JWT: token.sh <role> [sub] [org]. Signed with the dev defaults (or JWT_* env).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --quiet -p azora-local --bin localctl
./target/debug/localctl token "$@"
