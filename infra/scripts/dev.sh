#!/usr/bin/env bash
# `make dev`: installs what is missing, starts DynamoDB Local (data kept in .local/dynamodb-data),
# moto and the Stripe sandbox, then serves every function on one port (PORT, default 3000) with
# demo data. Ctrl-C stops the server and everything this script started.
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/scripts/common.sh
infra/scripts/install.sh
cargo build --quiet -p azora-local --bins -p azora-stripe-sandbox --bin stripe-sandbox
# The console the server serves at / (`make web` rebuilds it on change while this runs).
(cd web && npm run --silent build) >&2

sandbox_pid=""
cleanup() {
  [ -n "$sandbox_pid" ] && kill "$sandbox_pid" 2>/dev/null
  infra/scripts/stop.sh dev
}
trap cleanup EXIT
env_file=$(infra/scripts/start.sh dev)
# shellcheck disable=SC1090
source "$env_file"

export PORT="${PORT:-$(free_port 3000)}"
# The Ed25519 key that signs enterprise license keys: generated once (32 random bytes, base64) and
# kept in .local/, so keys issued locally stay valid across restarts. LICENSE_SIGNING_KEY wins.
license_key_file="$LOCAL_DIR/license-signing-key"
if [ -z "${LICENSE_SIGNING_KEY:-}" ]; then
  if [ ! -s "$license_key_file" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '\n' > "$license_key_file")
    log "generated a license signing key in $license_key_file"
  fi
  LICENSE_SIGNING_KEY="$(cat "$license_key_file")"
  export LICENSE_SIGNING_KEY
fi
export STRIPE_WEBHOOK_SECRET="${STRIPE_WEBHOOK_SECRET:-whsec_azora_local_development}"
if [ -z "${STRIPE_API_BASE:-}" ]; then
  sandbox_port=$(free_port 12111)
  STRIPE_SANDBOX_PORT="$sandbox_port" STRIPE_WEBHOOK_URL="http://127.0.0.1:$PORT/api/webhooks/stripe" \
    ./target/debug/stripe-sandbox --quiet > "$LOCAL_DIR/run/dev/stripe-sandbox.log" 2>&1 &
  sandbox_pid=$!
  export STRIPE_API_BASE="http://127.0.0.1:$sandbox_port/"
  wait_http "${STRIPE_API_BASE}_sandbox/health" 30 || die "the Stripe sandbox did not start; see $LOCAL_DIR/run/dev/stripe-sandbox.log"
  log "Stripe sandbox on $STRIPE_API_BASE (control API: ${STRIPE_API_BASE}_sandbox/)"
fi
# White-label domain proofs ask the sandbox's DNS-over-HTTPS stand-in (records: POST /_sandbox/dns/txt).
export DNS_RESOLVER_URL="${DNS_RESOLVER_URL:-${STRIPE_API_BASE}dns-query}"
./target/debug/local-server --seed
