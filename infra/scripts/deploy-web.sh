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
# The console's runtime settings (/console-config.json): card entry through Stripe.js needs the
# publishable key (STRIPE_PUBLISHABLE_KEY=pk_live_... or pk_test_...); sign-in needs the stack's
# Cognito user pool (EnableCognito) or OIDC_AUTHORIZE_URL, OIDC_TOKEN_URL, OIDC_CLIENT_ID (and
# optionally OIDC_LOGOUT_URL) of another provider whose ID tokens carry roles and org.
settings=()
if [ -n "${STRIPE_PUBLISHABLE_KEY:-}" ]; then
  [[ "$STRIPE_PUBLISHABLE_KEY" =~ ^pk_(live|test)_[A-Za-z0-9_]+$ ]] || { echo "deploy-web: STRIPE_PUBLISHABLE_KEY must be pk_live_... or pk_test_..." >&2; exit 1; }
  settings+=("$(printf '"stripePublishableKey": "%s"' "$STRIPE_PUBLISHABLE_KEY")")
else
  echo "deploy-web: no STRIPE_PUBLISHABLE_KEY: the console will not take card payments" >&2
fi
hosted=$(output CognitoHostedUrl)
if [ -n "$hosted" ] && [ "$hosted" != None ]; then
  OIDC_AUTHORIZE_URL="$hosted/oauth2/authorize" OIDC_TOKEN_URL="$hosted/oauth2/token"
  OIDC_LOGOUT_URL="$hosted/logout" OIDC_CLIENT_ID=$(output CognitoClientId)
fi
if [ -n "${OIDC_AUTHORIZE_URL:-}" ] && [ -n "${OIDC_TOKEN_URL:-}" ] && [ -n "${OIDC_CLIENT_ID:-}" ]; then
  for url in "$OIDC_AUTHORIZE_URL" "$OIDC_TOKEN_URL" ${OIDC_LOGOUT_URL:+"$OIDC_LOGOUT_URL"}; do
    [[ "$url" =~ ^https://[^\"[:space:]]+$ ]] || { echo "deploy-web: $url is not an https URL" >&2; exit 1; }
  done
  [[ "$OIDC_CLIENT_ID" =~ ^[A-Za-z0-9_.-]+$ ]] || { echo "deploy-web: OIDC_CLIENT_ID is not a client id" >&2; exit 1; }
  settings+=("$(printf '"oidc": {"authorizeUrl": "%s", "tokenUrl": "%s", "logoutUrl": "%s", "clientId": "%s"}' \
    "$OIDC_AUTHORIZE_URL" "$OIDC_TOKEN_URL" "${OIDC_LOGOUT_URL:-}" "$OIDC_CLIENT_ID")")
else
  echo "deploy-web: no identity provider (EnableCognito or OIDC_*): nobody can sign in to the console" >&2
fi
(IFS=,; printf '{%s}\n' "${settings[*]}") > web/dist/console-config.json
# Hashed assets never change under their name; index.html (and the rest) must be fetched fresh.
aws s3 sync web/dist/assets "s3://$bucket/assets" --delete --cache-control "public, max-age=31536000, immutable"
aws s3 sync web/dist "s3://$bucket" --delete --exclude "assets/*" --cache-control "no-cache"
aws cloudfront create-invalidation --distribution-id "$distribution" --paths "/index.html" "/" >/dev/null
echo "deploy-web: console uploaded to s3://$bucket; served at https://$(output ConsoleUrl | sed 's#https://##')"
