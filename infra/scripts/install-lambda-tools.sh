#!/usr/bin/env bash
# Installs cargo-lambda (from PyPI, it brings zig) into .local/venv, for `make build`. Idempotent.
set -euo pipefail
source "$(dirname "$0")/common.sh"
"$(dirname "$0")/install.sh"
if ! "$VENV/bin/cargo-lambda" --version 2>/dev/null | grep -q "$CARGO_LAMBDA_VERSION"; then
  log "installing cargo-lambda==$CARGO_LAMBDA_VERSION"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION" >&2
fi
