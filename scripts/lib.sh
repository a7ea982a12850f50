# Shared settings and helpers for gridflow's scripts. Source it; do not run it.
# Every port and path can be changed through the environment.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_DIR=${GRIDFLOW_RUN_DIR:-$ROOT/.run}
BIN=$ROOT/bin

PG_PORT=${GRIDFLOW_PG_PORT:-15432}
PG_DIR=${GRIDFLOW_PG_DIR:-$RUN_DIR/pg}
NATS_PORT=${GRIDFLOW_NATS_PORT:-14222}
NATS_MONITOR_PORT=${GRIDFLOW_NATS_MONITOR_PORT:-18222}
NATS_DIR=$RUN_DIR/nats
# The NATS users: an nkey seed per service and operator tool, and the
# server's authorization block (gridctl nats users; never committed).
NATS_USERS=$NATS_DIR/users
LOG_DIR=$RUN_DIR/logs
PID_DIR=$RUN_DIR/pids

export GRIDFLOW_DATABASE_URL=${GRIDFLOW_DATABASE_URL:-postgres://gridflow@127.0.0.1:$PG_PORT/gridflow?sslmode=disable}
export GRIDFLOW_NATS_URL=${GRIDFLOW_NATS_URL:-nats://127.0.0.1:$NATS_PORT}
export GRIDFLOW_AUTH_PUBLIC_KEY_FILE=${GRIDFLOW_AUTH_PUBLIC_KEY_FILE:-$RUN_DIR/keys/dev-ed25519.pub}
export GRIDFLOW_KEY_DIR=${GRIDFLOW_KEY_DIR:-$RUN_DIR/keys}
# The services accept every key in the key directory (gridctl auth keygen
# --rotate adds one) and refuse what the deny list there revokes (gridctl
# auth revoke appends to it); they reload both when the files change.
export GRIDFLOW_AUTH_KEY_DIR=${GRIDFLOW_AUTH_KEY_DIR:-$GRIDFLOW_KEY_DIR}
export GRIDFLOW_AUTH_DENY_LIST_FILE=${GRIDFLOW_AUTH_DENY_LIST_FILE:-$GRIDFLOW_KEY_DIR/revoked}

# Services in start order, with their gRPC (or HTTP) and admin ports.
SERVICES=(intake classify dispatch feedback console)
declare -A SERVICE_ADMIN=([intake]=${INTAKE_ADMIN_ADDR:-127.0.0.1:7201} [classify]=${CLASSIFY_ADMIN_ADDR:-127.0.0.1:7202}
  [dispatch]=${DISPATCH_ADMIN_ADDR:-127.0.0.1:7203} [feedback]=${FEEDBACK_ADMIN_ADDR:-127.0.0.1:7204}
  [console]=${CONSOLE_ADMIN_ADDR:-127.0.0.1:7205})
declare -A SERVICE_ADDR=([intake]=${INTAKE_GRPC_ADDR:-127.0.0.1:7101} [classify]=${CLASSIFY_GRPC_ADDR:-127.0.0.1:7102}
  [dispatch]=${DISPATCH_GRPC_ADDR:-127.0.0.1:7103} [feedback]=${FEEDBACK_GRPC_ADDR:-127.0.0.1:7104}
  [console]=${CONSOLE_HTTP_ADDR:-127.0.0.1:7180})
declare -A SERVICE_SETTING=([intake]=INTAKE_GRPC_ADDR [classify]=CLASSIFY_GRPC_ADDR [dispatch]=DISPATCH_GRPC_ADDR
  [feedback]=FEEDBACK_GRPC_ADDR [console]=CONSOLE_HTTP_ADDR)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# port_busy PORT: true when something listens on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# require_free PORT SETTING WHAT: a clear message when the port is taken.
require_free() {
  if port_busy "$1"; then
    die "port $1 ($3) is already in use by another process: stop it, or set $2 to another port"
  fi
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
