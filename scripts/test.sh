#!/usr/bin/env bash
# Runs every test of every module. Starts the private PostgreSQL (and stops it
# again if it was not running before); NATS runs inside the tests. Under
# CI=true integration tests fail instead of skipping when infrastructure is
# missing.
source "$(dirname "$0")/lib.sh"

started_pg=0
if ! "$ROOT/scripts/pg.sh" status >/dev/null 2>&1; then
  "$ROOT/scripts/pg.sh" start
  started_pg=1
fi
cleanup() { [ $started_pg = 1 ] && "$ROOT/scripts/pg.sh" stop || true; }
trap cleanup EXIT

export TEST_DATABASE_URL=${TEST_DATABASE_URL:-$("$ROOT/scripts/pg.sh" url)}
export GRIDFLOW_BIN_DIR=$BIN
export GRIDFLOW_SHARED_DIR=${GRIDFLOW_SHARED_DIR:-$(cd "$ROOT/.." && pwd)/shared}

cd "$ROOT"
status=0
for m in $(go list -f '{{.Dir}}' -m); do
  say "go test ${m#"$ROOT"/}"
  (cd "$m" && go test -count=1 -timeout 20m ./...) || status=1
done
exit $status
