# Shared settings for the local-stack scripts. Sourced, not executed.
# Versions are pinned here and nowhere else.
DYNAMODB_LOCAL_NPM_VERSION="11.1.0"
MOTO_VERSION="5.2.5"
CFN_LINT_VERSION="1.58.0"
CARGO_LAMBDA_VERSION="1.9.2"
SCHEMATHESIS_VERSION="4.32.5"

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL_DIR="${LOCAL_DIR:-$REPO_ROOT/.local}"
VENV="$LOCAL_DIR/venv"
# Schemathesis in its own virtualenv: its jsonschema pins must not move moto's or cfn-lint's.
FUZZ_VENV="$LOCAL_DIR/fuzz-venv"
DDB_PKG_DIR="$LOCAL_DIR/dynamodb"

log() { printf '[local-stack] %s\n' "$*" >&2; }
die() { printf '[local-stack] error: %s\n' "$*" >&2; exit 1; }

# Prints a free TCP port on 127.0.0.1: the preferred one when free, else one the kernel picks.
free_port() {
  python3 - "$1" <<'PY'
import socket, sys
want = int(sys.argv[1])
def try_bind(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return s.getsockname()[1]
    except OSError:
        return None
    finally:
        s.close()
print(try_bind(want) or try_bind(0))
PY
}

# Waits until an HTTP endpoint answers (any status), or fails after $2 seconds.
wait_http() {
  local url="$1" timeout="${2:-30}" i=0
  while ! curl -s -o /dev/null --max-time 1 "$url"; do
    i=$((i + 1))
    [ "$i" -ge $((timeout * 5)) ] && return 1
    sleep 0.2
  done
}
