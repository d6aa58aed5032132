#!/usr/bin/env bash
# The web console's browser journeys (web/browser-tests) in Debian's headless Chromium, against a
# local server and a Stripe sandbox that this script starts on free ports, with a fresh table and
# the demo data, and stops. Needs the local stack's environment (infra/scripts/start.sh) sourced and
# the console built (web/dist). Screenshots: target/web-screens/. Arguments go to node --test, e.g.
# `browser-test.sh --test-name-pattern='past-due'` runs one journey.
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/scripts/common.sh
[ -n "${AWS_ENDPOINT_URL_DYNAMODB:-}" ] || die "source the stack environment first: source \$(infra/scripts/start.sh test)"
[ -f web/dist/index.html ] || die "the console is not built: (cd web && npm run build)"
infra/scripts/install-browser.sh
cargo build --quiet -p azora-local --bin local-server -p azora-stripe-sandbox --bin stripe-sandbox
bin="${CARGO_TARGET_DIR:-$REPO_ROOT/target}/debug"
run_dir="$LOCAL_DIR/run/browser"
mkdir -p "$run_dir"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

port=$(free_port 3100)
sandbox_port=$(free_port 12200)
export STRIPE_WEBHOOK_SECRET="whsec_azora_browser_tests"
STRIPE_SANDBOX_PORT="$sandbox_port" STRIPE_WEBHOOK_URL="http://127.0.0.1:$port/api/webhooks/stripe" \
  STRIPE_SANDBOX_AVAILABLE_AFTER=0 "$bin/stripe-sandbox" --quiet > "$run_dir/stripe-sandbox.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$sandbox_port/_sandbox/health" 30 || die "the Stripe sandbox did not start; see $run_dir/stripe-sandbox.log"

PORT="$port" TABLE_NAME="azora-browser-$(date +%s)-$$" STRIPE_API_BASE="http://127.0.0.1:$sandbox_port/" \
  APP_BASE_URL="http://127.0.0.1:$port" AZORA_WEB_DIST="$REPO_ROOT/web/dist" RUST_LOG="${RUST_LOG:-warn}" \
  DNS_RESOLVER_URL="http://127.0.0.1:$sandbox_port/dns-query" \
  "$bin/local-server" --seed > "$run_dir/local-server.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$port/api/health" 60 || die "the local server did not start; see $run_dir/local-server.log"

screens="$REPO_ROOT/target/web-screens"
rm -rf "$screens"
mkdir -p "$screens"
status=0
(cd web && AZORA_CONSOLE_URL="http://127.0.0.1:$port" AZORA_SANDBOX_URL="http://127.0.0.1:$sandbox_port" \
  AZORA_SCREENS_DIR="$screens" \
  node --test --test-concurrency=1 --test-reporter=spec "$@" browser-tests/) || status=$?
[ "$status" = 0 ] || log "browser journeys failed; server log: $run_dir/local-server.log, screenshots: $screens"
log "screenshots in $screens"
exit "$status"
