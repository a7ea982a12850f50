#!/usr/bin/env bash
# A private PostgreSQL cluster for gridflow in $GRIDFLOW_RUN_DIR/pg, on
# $GRIDFLOW_PG_PORT (default 15432). Installs Debian's postgresql package when
# the server binaries are missing. initdb and postgres refuse to run as root,
# so as root the cluster runs as the unprivileged user `postgres`.
#   scripts/pg.sh start | stop | status | url
# GRIDFLOW_PG_STATEMENTS=1 starts it with pg_stat_statements preloaded (make
# bench's BENCH_STATEMENTS=1 table of statements; CREATE EXTENSION
# pg_stat_statements in the database to read it).
source "$(dirname "$0")/lib.sh"

pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [ -x "$d/postgres" ] && [ -x "$d/initdb" ] && { echo "$d"; return; }
  done
  command -v pg_ctl >/dev/null && [ -x "$(dirname "$(readlink -f "$(command -v pg_ctl)")")/postgres" ] &&
    { dirname "$(readlink -f "$(command -v pg_ctl)")"; return; }
  return 1
}

ensure_installed() {
  pg_bindir >/dev/null && return
  say "PostgreSQL server not found: installing Debian's postgresql package"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends postgresql >/dev/null
  # The package starts a system cluster on 5432; ours is separate and private.
  pg_bindir >/dev/null || die "postgresql installed but its server binaries were not found under /usr/lib/postgresql"
}

# as_owner CMD...: run as the cluster's owner (postgres when we are root).
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  ensure_installed
  local bin; bin=$(pg_bindir)
  mkdir -p "$PG_DIR"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
    chown postgres "$PG_DIR"
    # The owner must be able to reach the folder through every parent.
    local d=$PG_DIR
    while [ "$d" != / ]; do d=$(dirname "$d"); chmod o+x "$d" 2>/dev/null || true; done
  fi
  if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
    say "initialising PostgreSQL cluster in $PG_DIR/data"
    as_owner "$bin/initdb" -D "$PG_DIR/data" -U gridflow --auth=trust -E UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 ||
      { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
    cat >>"$PG_DIR/data/postgresql.conf" <<CONF
# gridflow's private cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_DIR'
max_connections = 300
shared_buffers = 256MB
CONF
  fi
  if as_owner "$bin/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
    say "PostgreSQL already running on port $PG_PORT"
  else
    require_free "$PG_PORT" GRIDFLOW_PG_PORT PostgreSQL
    GLIBC_TUNABLES=$(malloc_tunables) as_owner "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -o "-p $PG_PORT $(server_options)" -w -t 60 start >/dev/null ||
      { tail -20 "$PG_DIR/server.log" >&2; die "PostgreSQL did not start (log: $PG_DIR/server.log)"; }
    say "PostgreSQL listening on 127.0.0.1:$PG_PORT (data in $PG_DIR/data)"
  fi
  local psql=("$bin/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U gridflow -d postgres)
  if [ "$("${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = 'gridflow'")" != 1 ]; then
    "${psql[@]}" -c "CREATE DATABASE gridflow"
  fi
}

# server_options are settings given at every start (not only at initdb), so
# a cluster made before them gets them too (issue 17, the pipeline's speed).
# Commits stay durable (fsync, synchronous_commit on): commit_delay lets a
# commit that finds others in flight wait 0.2 ms and share their WAL flush —
# group commit, one fsync for several services' transactions. max_wal_size
# keeps checkpoints (and the full-page writes after each) to the timer rather
# than every GB of a burst.
server_options() {
  local o="-c commit_delay=200 -c commit_siblings=2 -c max_wal_size=4GB"
  [ "${GRIDFLOW_PG_STATEMENTS:-}" = 1 ] &&
    o="$o -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.max=2000 -c pg_stat_statements.track=top"
  echo "$o"
}

# malloc_tunables keep glibc's malloc from handing each backend's freed
# heap back to the kernel after every statement and faulting it in again on
# the next (issue 17: perf showed brk trims, their TLB flushes and the page
# faults after them at about a sixth of PostgreSQL's CPU under load). A
# backend keeps what it used, up to 64 MiB; blocks up to 32 MiB come from
# the heap rather than a mmap of their own. The kernel's page faults are
# dear on a virtual machine like this one.
malloc_tunables() {
  echo "glibc.malloc.trim_threshold=67108864:glibc.malloc.mmap_threshold=33554432"
}

stop() {
  local bin; bin=$(pg_bindir) || return 0
  [ -f "$PG_DIR/data/PG_VERSION" ] || return 0
  if as_owner "$bin/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
    say "PostgreSQL stopped"
  fi
}

status() {
  local bin; bin=$(pg_bindir) || { echo "PostgreSQL: not installed"; return 1; }
  as_owner "$bin/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1 && echo "PostgreSQL: running on $PG_PORT" || { echo "PostgreSQL: stopped"; return 1; }
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  url) echo "postgres://gridflow@127.0.0.1:$PG_PORT/postgres?sslmode=disable" ;;
  *) die "usage: $0 start|stop|status|url" ;;
esac
