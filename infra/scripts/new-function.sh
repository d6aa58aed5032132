#!/usr/bin/env bash
# Creates functions/<name>, the Lambda crate for registry entry <name>. Then add the function to
# template.yaml (Metadata.BuildProperties.Binary: <name>) and to shared/api/src/registry.rs; the
# agreement test fails until all three match.
set -euo pipefail
name="${1:?usage: new-function.sh <binary-name> [description]}"
desc="${2:-Lambda entry point $name}"
dir="$(cd "$(dirname "$0")/../.." && pwd)/functions/$name"
[ -e "$dir" ] && { echo "$dir exists" >&2; exit 1; }
mkdir -p "$dir/src"
cat > "$dir/Cargo.toml" <<TOML
[package]
name = "$name"
description = "$desc"
version.workspace = true
edition.workspace = true
license.workspace = true
publish.workspace = true

[[bin]]
name = "$name"
path = "src/main.rs"
test = false

[dependencies]
azora-api.workspace = true
lambda_runtime.workspace = true
tokio.workspace = true
TOML
cat > "$dir/src/main.rs" <<RS
//! $desc. Wiring only: the handler is \`azora_api::registry\` entry "$name".

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(env!("CARGO_BIN_NAME")).await
}
RS
echo "created $dir"
