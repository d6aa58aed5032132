#!/usr/bin/env bash
# `make deploy-web`: builds the console (web/dist) and uploads it to the stack's console bucket,
# then invalidates index.html at CloudFront. Run after `sam deploy` (it reads the stack's
# outputs ConsoleBucketName and ConsoleDistributionId). Needs the AWS CLI and credentials.
# STACK=azora by default (the stack name given to `sam deploy`).
set -euo pipefail
cd "$(dirname "$0")/../.."
stack="${STACK:-azora}"
command -v aws >/dev/null || { echo "deploy-web: the AWS CLI is needed (aws)" >&2; exit 1; }
output() {
  aws cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
bucket=$(output ConsoleBucketName)
distribution=$(output ConsoleDistributionId)
[ -n "$bucket" ] && [ "$bucket" != None ] || { echo "deploy-web: stack $stack has no ConsoleBucketName output" >&2; exit 1; }
infra/scripts/install-web.sh
(cd web && npm run build)
# The console's runtime settings: card entry through Stripe.js needs the publishable key
# (STRIPE_PUBLISHABLE_KEY=pk_live_... or pk_test_...); without it the console says card payments
# are unavailable.
if [ -n "${STRIPE_PUBLISHABLE_KEY:-}" ]; then
  [[ "$STRIPE_PUBLISHABLE_KEY" =~ ^pk_(live|test)_[A-Za-z0-9_]+$ ]] || { echo "deploy-web: STRIPE_PUBLISHABLE_KEY must be pk_live_... or pk_test_..." >&2; exit 1; }
  printf '{"stripePublishableKey": "%s"}\n' "$STRIPE_PUBLISHABLE_KEY" > web/dist/console-config.json
else
  echo "deploy-web: no STRIPE_PUBLISHABLE_KEY: the console will not take card payments" >&2
  echo '{}' > web/dist/console-config.json
fi
# Hashed assets never change under their name; index.html (and the rest) must be fetched fresh.
aws s3 sync web/dist/assets "s3://$bucket/assets" --delete --cache-control "public, max-age=31536000, immutable"
aws s3 sync web/dist "s3://$bucket" --delete --exclude "assets/*" --cache-control "no-cache"
aws cloudfront create-invalidation --distribution-id "$distribution" --paths "/index.html" "/" >/dev/null
echo "deploy-web: console uploaded to s3://$bucket; served at https://$(output ConsoleUrl | sed 's#https://##')"
