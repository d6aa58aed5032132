#!/usr/bin/env bash
# Installs the web console's npm dependencies (web/package-lock.json, pinned) into web/node_modules.
# Skipped when the lockfile is unchanged since the last install, so it runs offline after that.
set -euo pipefail
source "$(dirname "$0")/common.sh"
web="$REPO_ROOT/web"
stamp="$web/node_modules/.azora-lock-sha256"

command -v npm >/dev/null || die "npm is required for the web console (web/)"
want=$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  log "installing the web console's dependencies (npm ci in web/)"
  (cd "$web" && npm ci --silent --no-audit --no-fund >&2)
  echo "$want" > "$stamp"
fi
