#!/usr/bin/env bash
# The whole gridflow stack on one machine: PostgreSQL, NATS JetStream and every
# service as its own process, logs in .run/logs.
#   scripts/stack.sh up      start in the background; returns once all are healthy
#   scripts/stack.sh run     up, a demo, then follow the event stream until Ctrl-C; then down
#   scripts/stack.sh down    stop everything
#   scripts/stack.sh status  what runs where
#   scripts/stack.sh demo    submit the demo work orders and show their events

# status in a new shell: a stack started with moved ports is described by the
# context file `up` wrote; what the environment sets still wins.
if [ "${1:-}" = status ]; then
  ctx=${GRIDFLOW_RUN_DIR:-$(dirname "$0")/../.run}/context.env
  if [ -f "$ctx" ]; then
    while IFS='=' read -r key value; do
      case $key in '' | \#*) continue ;; esac
      [ -n "${!key:-}" ] || export "$key=$value"
    done <"$ctx"
  fi
fi
source "$(dirname "$0")/lib.sh"

start_nats() {
  mkdir -p "$NATS_DIR" "$LOG_DIR" "$PID_DIR"
  if pid_alive "$PID_DIR/nats.pid"; then return; fi
  require_free "$NATS_PORT" GRIDFLOW_NATS_PORT "NATS"
  require_free "$NATS_MONITOR_PORT" GRIDFLOW_NATS_MONITOR_PORT "NATS monitor"
  # Users and their permissions (pkg/natsauth): no anonymous access.
  "$BIN/gridctl" nats users --dir "$NATS_USERS" >/dev/null
  "$BIN/nats-server" -c "$NATS_USERS/auth.conf" -a 127.0.0.1 -p "$NATS_PORT" -m "$NATS_MONITOR_PORT" -js -sd "$NATS_DIR" \
    >>"$LOG_DIR/nats.log" 2>&1 &
  echo $! >"$PID_DIR/nats.pid"
  for _ in $(seq 100); do port_busy "$NATS_PORT" && break; sleep 0.1; done
  port_busy "$NATS_PORT" || { tail -20 "$LOG_DIR/nats.log" >&2; die "nats-server did not start (log: $LOG_DIR/nats.log)"; }
  say "NATS JetStream on 127.0.0.1:$NATS_PORT (monitor :$NATS_MONITOR_PORT, store $NATS_DIR, users $NATS_USERS)"
}

# declare_streams is the one place the streams are declared (created or
# updated, GRIDFLOW_STREAM_REPLICAS): services only wait for them.
declare_streams() {
  "$BIN/gridctl" nats streams --nats "$GRIDFLOW_NATS_URL" --nkey "$NATS_USERS/streams.nk" >>"$LOG_DIR/nats.log" 2>&1 ||
    { tail -5 "$LOG_DIR/nats.log" >&2; die "could not declare the streams (log: $LOG_DIR/nats.log)"; }
}

start_service() {
  local svc=$1 addr=${SERVICE_ADDR[$1]} admin=${SERVICE_ADMIN[$1]}
  if pid_alive "$PID_DIR/$svc.pid"; then return; fi
  require_free "${addr##*:}" "${SERVICE_SETTING[$svc]}" "$svc"
  require_free "${admin##*:}" "$(echo "$svc" | tr a-z A-Z)_ADMIN_ADDR" "$svc admin"
  # Each service connects to NATS as its own user (the console's reads grid.> for its live queue).
  local nkey=
  [ -f "$NATS_USERS/$svc.nk" ] && nkey=$NATS_USERS/$svc.nk
  (cd "$ROOT" && GRIDFLOW_NATS_NKEY_FILE=$nkey exec "$BIN/$svc" >>"$LOG_DIR/$svc.log" 2>&1) &
  echo $! >"$PID_DIR/$svc.pid"
}

wait_healthy() {
  local svc deadline=$((SECONDS + 60))
  for svc in "${SERVICES[@]}"; do
    until curl -sf "http://${SERVICE_ADMIN[$svc]}/readyz" >/dev/null 2>&1; do
      if ! pid_alive "$PID_DIR/$svc.pid"; then
        tail -20 "$LOG_DIR/$svc.log" >&2
        die "$svc exited during start (log: $LOG_DIR/$svc.log)"
      fi
      [ $SECONDS -lt $deadline ] || die "$svc not healthy after 60 s (log: $LOG_DIR/$svc.log)"
      sleep 0.2
    done
  done
}

# write_context records the addresses this stack runs on in .run/context.env,
# where gridctl (and `status`) find them from any shell: start the stack with
# moved ports once, and plain `bin/gridctl …` drives it. Environment settings
# and --addr still win over it.
write_context() {
  local f=$RUN_DIR/context.env svc
  {
    echo "# Written by scripts/stack.sh up at $(date -u +%Y-%m-%dT%H:%M:%SZ): the addresses this stack runs on."
    echo "# gridctl reads it (the environment and --addr win); make down removes it."
    for svc in intake classify dispatch feedback console; do
      echo "${SERVICE_SETTING[$svc]}=${SERVICE_ADDR[$svc]}"
    done
    for svc in intake classify dispatch feedback console; do
      echo "$(echo "$svc" | tr a-z A-Z)_ADMIN_ADDR=${SERVICE_ADMIN[$svc]}"
    done
    echo "GRIDFLOW_NATS_URL=$GRIDFLOW_NATS_URL"
    echo "GRIDFLOW_NATS_NKEY_FILE=$NATS_USERS/gridctl.nk"
    echo "GRIDFLOW_NATS_PORT=$NATS_PORT"
    echo "GRIDFLOW_NATS_MONITOR_PORT=$NATS_MONITOR_PORT"
    echo "GRIDFLOW_PG_PORT=$PG_PORT"
    echo "GRIDFLOW_KEY_DIR=$GRIDFLOW_KEY_DIR"
  } >"$f.tmp"
  mv "$f.tmp" "$f"
}

# The demo city's history: its labelled cases, when ../shared has them.
CITY_HISTORY=${GRIDFLOW_CITY_HISTORY:-$(cd "$ROOT/.." && pwd)/shared/data/messages/train.jsonl}

# city_model makes classify serve a model trained on the city's history when
# there is one. Training takes about a second on one core (1,842 cases), but
# `make run` should not pay even that each time: the model is trained once
# into .run/models/, named by the history file's checksum, and reused while
# the file is unchanged. The history's held-out slice is left out of training
# and is what classify's gate measures every new model on
# (CLASSIFY_HISTORY_FILE). Neither the data nor the model is ever committed:
# .run/ is not part of the repository.
city_model() {
  if [ -n "${CLASSIFY_MODEL_FILE:-}" ]; then
    say "classify: serving CLASSIFY_MODEL_FILE=$CLASSIFY_MODEL_FILE (if the model registry lets it go live)"
    return
  fi
  if [ ! -f "$CITY_HISTORY" ]; then
    say "classify: no city history ($CITY_HISTORY is absent): offering the default model, trained on the built-in corpus"
    return
  fi
  local sum model
  sum=$(sha256sum "$CITY_HISTORY" | cut -c1-16)
  model=$RUN_DIR/models/history-$sum.model
  if [ ! -s "$model" ]; then
    mkdir -p "$RUN_DIR/models" "$LOG_DIR"
    say "classify: training the demo city's model on its history $CITY_HISTORY (once per version of the file)"
    "$BIN/classify" train --source "history=$CITY_HISTORY" --out "$model" >"$model.txt" 2>"$LOG_DIR/classify-train.log" ||
      { tail -5 "$LOG_DIR/classify-train.log" >&2; rm -f "$model"; die "training on $CITY_HISTORY failed (log: $LOG_DIR/classify-train.log)"; }
  fi
  export CLASSIFY_MODEL_FILE=$model CLASSIFY_HISTORY_FILE=${CLASSIFY_HISTORY_FILE:-$CITY_HISTORY}
  say "classify: the demo city's history is $CITY_HISTORY: offering a model trained on it ($(head -1 "$model.txt" | cut -d' ' -f2), $(grep -o 'cv_macro_f1=[0-9.]*' "$model.txt"); cached as $model while the file's checksum is $sum…)"
}

# issue 15, the item model: city_items trains the demo city's item model (the
# item inside each class) beside its class model, from the hand-read item
# labels (services/classify/testdata/dev_items.tsv: ids and codes; the texts
# are ../shared's dev.jsonl), weak labels on the history and the built-in
# corpus, calibrated under the class model offered; the labels' held-out
# slice is left out of training and is what classify's gate measures item
# models on (CLASSIFY_ITEM_LABELS_FILE, CLASSIFY_ITEM_TEXTS_FILE). About 5 s
# on one core, once per version of its inputs, cached in .run/models/.
CITY_ITEM_TEXTS=${GRIDFLOW_CITY_ITEM_TEXTS:-$(cd "$ROOT/.." && pwd)/shared/data/messages/dev.jsonl}
CITY_ITEM_LABELS=${GRIDFLOW_CITY_ITEM_LABELS:-$ROOT/services/classify/testdata/dev_items.tsv}
# issue 15, item thresholds chosen off the gate's labels: hand-read item labels
# of the demo city's history (train.jsonl's messages), learnt from and
# calibrated on; GRIDFLOW_CITY_ITEM_HISTORY_LABELS= (empty) leaves them out.
if [ "$(basename "$CITY_HISTORY")" = train.jsonl ]; then
  CITY_ITEM_HISTORY_LABELS=${GRIDFLOW_CITY_ITEM_HISTORY_LABELS-$ROOT/services/classify/testdata/train_items.tsv}
else
  CITY_ITEM_HISTORY_LABELS=${GRIDFLOW_CITY_ITEM_HISTORY_LABELS-}
fi
city_items() {
  if [ -n "${CLASSIFY_ITEM_MODEL_FILE:-}" ]; then
    say "classify: offering CLASSIFY_ITEM_MODEL_FILE=$CLASSIFY_ITEM_MODEL_FILE (if the model registry lets it go live)"
    return
  fi
  if [ ! -f "$CITY_HISTORY" ] || [ ! -f "$CITY_ITEM_TEXTS" ] || [ -z "${CLASSIFY_MODEL_FILE:-}" ]; then
    say "classify: no item labels with their messages ($CITY_ITEM_TEXTS) or no city model: keyword rules name items"
    return
  fi
  local sum items history_items=()
  # issue 15: the history's item labels, when there are any
  [ -n "$CITY_ITEM_HISTORY_LABELS" ] && history_items=(--history-items "$CITY_ITEM_HISTORY_LABELS")
  sum=$(cat "$CITY_HISTORY" "$CITY_ITEM_TEXTS" "$CITY_ITEM_LABELS" "$CLASSIFY_MODEL_FILE" ${CITY_ITEM_HISTORY_LABELS:+"$CITY_ITEM_HISTORY_LABELS"} | sha256sum | cut -c1-16)
  items=$RUN_DIR/models/items-$sum.model
  if [ ! -s "$items" ]; then
    mkdir -p "$RUN_DIR/models" "$LOG_DIR"
    say "classify: training the demo city's item model on $CITY_ITEM_LABELS (texts $CITY_ITEM_TEXTS) and its history, its held-out slice left out (once per version of the files)"
    "$BIN/classify" train-items --history "$CITY_HISTORY" --data "$CITY_ITEM_TEXTS" --items "$CITY_ITEM_LABELS" \
      --leave-out "${CLASSIFY_ITEM_HOLDOUT_SLICE:-held-out}" "${history_items[@]}" --model "$CLASSIFY_MODEL_FILE" --out "$items" >"$items.txt" 2>"$LOG_DIR/classify-train-items.log" ||
      { tail -5 "$LOG_DIR/classify-train-items.log" >&2; rm -f "$items"; die "training the item model failed (log: $LOG_DIR/classify-train-items.log)"; }
  fi
  export CLASSIFY_ITEM_MODEL_FILE=$items CLASSIFY_ITEM_LABELS_FILE=${CLASSIFY_ITEM_LABELS_FILE:-$CITY_ITEM_LABELS} \
    CLASSIFY_ITEM_TEXTS_FILE=${CLASSIFY_ITEM_TEXTS_FILE:-$CITY_ITEM_TEXTS}
  # issue 15: a retraining's item model calibrates on the history's item labels too
  [ -n "$CITY_ITEM_HISTORY_LABELS" ] && export CLASSIFY_ITEM_HISTORY_LABELS_FILE=${CLASSIFY_ITEM_HISTORY_LABELS_FILE:-$CITY_ITEM_HISTORY_LABELS}
  say "classify: offering the demo city's item model $(head -1 "$items.txt" | cut -d' ' -f3) ($(head -1 "$items.txt" | sed -n 's/.*: \([0-9]* classes\).*thresholds \(.*\)$/\1, thresholds \2/p'); cached as $items)"
}

# served_model says which model classify serves and from where, as its log
# has it: the registry keeps the city's live model unless the offered one
# passes the gate (gridctl classify models says why).
served_model() {
  local line
  line=$(grep -a '"model, keyword rules and reference data loaded"' "$LOG_DIR/classify.log" | tail -1) || return 0
  say "classify serves model $(echo "$line" | sed -n 's/.*"model_version":"\([^"]*\)".*/\1/p') from $(echo "$line" | sed -n 's/.*"model_source":"\([^"]*\)".*/\1/p') (gridctl classify models lists the registry)"
  # issue 15, the item model
  say "classify serves item model $(echo "$line" | sed -n 's/.*"item_model_version":"\([^"]*\)".*/\1/p') from $(echo "$line" | sed -n 's/.*"item_model_source":"\([^"]*\)".*/\1/p')"
}

up() {
  [ -x "$BIN/intake" ] && [ -x "$BIN/nats-server" ] && [ -x "$BIN/gridctl" ] || die "binaries missing: run 'make build' first"
  mkdir -p "$LOG_DIR" "$PID_DIR"
  "$BIN/gridctl" auth keygen --key-dir "$GRIDFLOW_KEY_DIR" >/dev/null
  "$ROOT/scripts/pg.sh" start
  start_nats
  declare_streams
  pid_alive "$PID_DIR/classify.pid" || city_model
  pid_alive "$PID_DIR/classify.pid" || city_items # issue 15, the item model
  for svc in "${SERVICES[@]}"; do start_service "$svc"; done
  wait_healthy
  served_model
  write_context
  demo_account
  say "gridflow is up (addresses in $RUN_DIR/context.env, where gridctl finds them)"
  status
}

down() {
  local svc
  for svc in console feedback dispatch classify intake nats; do
    if pid_alive "$PID_DIR/$svc.pid"; then
      kill -TERM "$(cat "$PID_DIR/$svc.pid")" 2>/dev/null || true
    fi
  done
  for svc in console feedback dispatch classify intake nats; do
    local f=$PID_DIR/$svc.pid
    for _ in $(seq 100); do pid_alive "$f" || break; sleep 0.1; done
    pid_alive "$f" && kill -KILL "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
  rm -f "$RUN_DIR/context.env"
  "$ROOT/scripts/pg.sh" stop
  say "gridflow is down"
}

status() {
  local svc
  printf '  %-10s %-22s %-22s %s\n' SERVICE ADDRESS ADMIN STATE
  for svc in "${SERVICES[@]}"; do
    local state=stopped
    pid_alive "$PID_DIR/$svc.pid" && state="running (pid $(cat "$PID_DIR/$svc.pid"))"
    printf '  %-10s %-22s %-22s %s\n' "$svc" "${SERVICE_ADDR[$svc]}" "${SERVICE_ADMIN[$svc]}" "$state"
  done
  printf '  %-10s %-22s %-22s %s\n' nats "127.0.0.1:$NATS_PORT" "127.0.0.1:$NATS_MONITOR_PORT" "$(pid_alive "$PID_DIR/nats.pid" && echo running || echo stopped)"
  printf '  %-10s %-22s %-22s %s\n' postgres "127.0.0.1:$PG_PORT" "-" "$("$ROOT/scripts/pg.sh" status 2>/dev/null | cut -d: -f2-)"
  echo "  console   http://${SERVICE_ADDR[console]}/   logs: $LOG_DIR   keys: $GRIDFLOW_KEY_DIR"
}

# demo_account (issue 18, the console's live queue): a street dispatcher to
# sign in to the console with after make run or make up, made once; its
# generated password is kept in .run/console-demo.password (mode 0600) and
# shown on every start.
DEMO_ACCOUNT=zj-demo
demo_account() {
  local pw=$RUN_DIR/console-demo.password console=${SERVICE_ADDR[console]}
  if ! "$BIN/gridctl" --addr "$console" user list 2>/dev/null | grep -q "^$DEMO_ACCOUNT "; then
    (umask 077 && "$BIN/gridctl" --addr "$console" user add "$DEMO_ACCOUNT" --name 演示调度员 \
      --principal dispatcher:310106022 >"$pw.tmp" 2>>"$LOG_DIR/console.log") && mv "$pw.tmp" "$pw" ||
      { rm -f "$pw.tmp"; say "console: could not create the demo account $DEMO_ACCOUNT (bin/gridctl user add)"; return 0; }
  fi
  if [ -f "$pw" ]; then
    say "console: open http://$console/live and sign in as $DEMO_ACCOUNT (芷江西路街道's dispatcher), password $(cat "$pw") (kept in $pw)"
  else
    say "console: open http://$console/live; the demo account $DEMO_ACCOUNT exists but its password file $pw is gone: bin/gridctl user reset $DEMO_ACCOUNT"
  fi
}

demo() {
  local f n=0
  say "submitting the demo work orders (scripts/demo/*.json) as the hotline"
  local token; token=$("$BIN/gridctl" auth issue --role hotline 2>/dev/null | tail -1)
  for f in "$ROOT"/scripts/demo/*.json; do
    # Each run gets fresh order numbers so the demo always shows new cases,
    # received now (as README's "Try it" does): the files' own dates are
    # weeks old, and their tasks were warned, overdue and supervised the
    # moment they were dispatched.
    sed -e "s/\"DEMO-/\"DEMO-$(date +%s)-/" -e "s/\"receivedAt\": \"[^\"]*\"/\"receivedAt\": \"$(date +%FT%T%:z)\"/" "$f" |
      "$BIN/gridctl" --token "$token" submit work-order --file - &&
      n=$((n + 1))
  done
  sleep 3 # classify and dispatch take them on
  say "what happened to them on the stream GRID (intake → classify → dispatch)"
  "$BIN/gridctl" events tail --last 20 --timeout 10s --nkey "$NATS_USERS/gridctl.nk"
}

run() {
  # Whatever ends the run — Ctrl-C, TERM, a failure — takes the stack down.
  trap 'trap - EXIT; echo; down' EXIT
  trap 'exit 0' INT TERM
  up
  demo
  say "following grid.> (Ctrl-C stops everything)"
  "$BIN/gridctl" events tail --follow --timeout 0 --nkey "$NATS_USERS/gridctl.nk" &
  wait $! || true
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  run) run ;;
  status) status ;;
  demo) demo ;;
  *) die "usage: $0 up|down|run|status|demo" ;;
esac
