#!/usr/bin/env bash
# Scaffolds a Lambda function: `infra/scripts/new-function.sh <binary> "<METHOD> <path>"`.
# Creates functions/<binary>/ (manifest and a main.rs that runs azora_api::functions::<BINARY>)
# and prints the template.yaml blocks to paste: the function with its route, a policy to narrow,
# the environment to fill in from its Needs, and its error alarm. The README's "Adding an endpoint"
# lists the remaining steps; `cargo test -p azora-local` checks that everything agrees.
set -euo pipefail
cd "$(dirname "$0")/../.."
binary="${1:-}"; route="${2:-}"
if ! [[ "$binary" =~ ^[a-z][a-z0-9-]*$ ]] || ! [[ "$route" =~ ^(GET|POST|PUT|DELETE)\ /api/ ]]; then
  echo "usage: $0 <binary: kebab-case> \"<GET|POST|PUT|DELETE> /api/...\"" >&2; exit 2
fi
[ -e "functions/$binary" ] && { echo "functions/$binary already exists" >&2; exit 1; }
method="${route%% *}"; path="${route#* }"
constant=$(echo "$binary" | tr 'a-z-' 'A-Z_')
logical="$(echo "$binary" | sed -E 's/(^|-)([a-z])/\U\2/g')Function"
mkdir -p "functions/$binary/src"
cat > "functions/$binary/Cargo.toml" <<TOML
[package]
name = "$binary"
description = "$method $path"
version.workspace = true
edition.workspace = true
license.workspace = true
publish.workspace = true

[[bin]]
name = "$binary"
path = "src/main.rs"
test = false

[dependencies]
azora-api.workspace = true
lambda_runtime.workspace = true
tokio.workspace = true
TOML
cat > "functions/$binary/src/main.rs" <<RS
//! $method $path: runs \`azora_api::functions::$constant\`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::$constant).await
}
RS
cat <<YAML
# Created functions/$binary. Next: the handler and \`pub const $constant\` in shared/api/src/functions.rs,
# \`f!($constant),\` in infra/local/src/functions.rs, the OpenAPI entry, and these blocks in template.yaml:

  ${logical}:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: rust-cargolambda
      BuildProperties:
        Binary: $binary
    Properties:
      CodeUri: .
      Environment:
        Variables: {}   # exactly its Needs' variables: \`cargo test -p azora-local\` names them
      Policies:
        - Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem]   # what it calls; make test's IAM conformance check names what is missing
              Resource: !GetAtt Table.Arn
      Events:
        Api:
          Type: HttpApi
          Properties: { ApiId: !Ref HttpApi, Path: "$path", Method: $method }

  ${logical}ErrorsAlarm:
    Type: AWS::CloudWatch::Alarm
    Properties:
      Namespace: AWS/Lambda
      MetricName: Errors
      Dimensions: [{ Name: FunctionName, Value: !Ref ${logical} }]
      Statistic: Sum
      Period: 300
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
      AlarmActions: [!Ref AlarmTopic]
YAML
