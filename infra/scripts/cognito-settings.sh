#!/usr/bin/env bash
# After `sam deploy` with EnableCognito=true and a CognitoDomainPrefix: prints the parameter
# overrides that make the API accept the user pool's ID tokens — RS256, the pool as issuer, the
# console's app client as audience, the pool's JWKS document as the key (the API picks its key by
# the token's kid) — for the next deploy:
#   sam deploy --config-file infra/samconfig.toml --parameter-overrides $(infra/scripts/cognito-settings.sh) ...
# then `make deploy-web` (it writes the sign-in settings into the console's /console-config.json).
# STACK=azora by default. Needs the AWS CLI and curl.
set -euo pipefail
stack="${STACK:-azora}"
output() {
  aws cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
issuer=$(output CognitoIssuer)
client=$(output CognitoClientId)
if [ -z "$issuer" ] || [ "$issuer" = None ]; then
  echo "cognito-settings: stack $stack has no Cognito outputs (deploy it with EnableCognito=true)" >&2
  exit 1
fi
jwks=$(curl -fsS "$issuer/.well-known/jwks.json")
printf 'JwtAlgorithm=RS256 JwtIssuer=%q JwtAudience=%q JwtPublicKey=%q\n' "$issuer" "$client" "$jwks"
