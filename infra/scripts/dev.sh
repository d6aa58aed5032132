#!/usr/bin/env bash
# `make dev`: installs what is missing, starts DynamoDB Local (data kept in .local/dynamodb-data)
# and moto, then serves every function on one port (PORT, default 3000) with demo data.
# Ctrl-C stops the server and the services this script started.
set -euo pipefail
cd "$(dirname "$0")/../.."
infra/scripts/install.sh
cargo build --quiet -p azora-local --bins
trap 'infra/scripts/stop.sh dev' EXIT
env_file=$(infra/scripts/start.sh dev)
# shellcheck disable=SC1090
source "$env_file"
./target/debug/local-server --seed
