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
# lib.sh names the local stack's credentials for the scripts that start it;
# tests make their own, and must never revoke a token in a developer's stack.
unset GRIDFLOW_AUTH_KEY_DIR GRIDFLOW_AUTH_DENY_LIST_FILE
export GRIDFLOW_SHARED_DIR=${GRIDFLOW_SHARED_DIR:-$(cd "$ROOT/.." && pwd)/shared}

# Every package of every module of go.work, listed by import path: go test
# takes packages of several workspace modules in one run (only ./... at the
# root, which has no go.mod, fails), so the two runs below keep both cores busy
# across module boundaries instead of module by module.
cd "$ROOT"
mapfile -t all < <(go list $(go list -m | sed 's|$|/...|'))

# The packages where goroutines meet: the shared runners and servers, and each
# service's store, event handlers and gRPC layer (and classify's domain, model holder and retrainer, whose
# tests run in parallel over shared state). These run under the race
# detector; the rest (pure domain logic, the e2e driver whose services are
# plain builds) run without its cost.
race='^github.com/gridflow/gridflow/(pkg/(outbox|consumer|timer|grpcserver|auth|ratelimit|idempotency)|services/[a-z]+/internal/(postgres|events|grpcapi)|services/classify/internal/(classify|live|retrain))$'
mapfile -t racy < <(printf '%s\n' "${all[@]}" | grep -E "$race")
mapfile -t plain < <(printf '%s\n' "${all[@]}" | grep -vE "$race")

status=0
say "go test -race: ${#racy[@]} packages"
go test -race -count=1 -timeout 20m "${racy[@]}" || status=1
say "go test: ${#plain[@]} packages"
go test -count=1 -timeout 20m "${plain[@]}" || status=1
exit $status
