#!/usr/bin/env bash
# Times the console's live queue page against a running stack (make up):
# signs in as ACCOUNT with the password in PASSWORD_FILE and GETs /live
# (and the filtered variants below) N times each, printing the cases feedback
# holds and p50/p99/max of the server's answer time (curl's time to the last
# byte on loopback). Usage: scripts/console-timing.sh [N]
# (ACCOUNT=zj-demo, PASSWORD_FILE=.run/console-demo.password by default.)
source "$(dirname "$0")/lib.sh"
n=${1:-200}
account=${ACCOUNT:-zj-demo}
pwfile=${PASSWORD_FILE:-$RUN_DIR/console-demo.password}
console=http://${SERVICE_ADDR[console]}
jar=$(mktemp)
trap 'rm -f "$jar"' EXIT

csrf=$(curl -sf -c "$jar" "$console/signin" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
code=$(curl -s -o /dev/null -w '%{http_code}' -b "$jar" -c "$jar" --data-urlencode "csrf=$csrf" \
  --data-urlencode "name=$account" --data-urlencode "password=$(cat "$pwfile")" "$console/signin")
[ "$code" = 303 ] || die "sign-in as $account answered $code"
cases=$(psql "$GRIDFLOW_DATABASE_URL" -Atc 'select count(*) from feedback.cases' 2>/dev/null || echo '?')
say "feedback holds $cases cases; $n GETs of each page as $account"
for q in "" "?state=dispatched" "?source=patrol" "?item=06022"; do
  for _ in $(seq "$n"); do
    curl -s -o /dev/null -b "$jar" -w '%{http_code} %{time_total}\n' "$console/live$q"
  done | awk '{ print $1, $2 * 1000 }' | sort -k2 -n | awk -v q="/live$q" '
    $1 != 200 { bad++ } { t[NR] = $2 }
    END { printf "%-22s n=%d non-200=%d p50=%.1fms p99=%.1fms max=%.1fms\n", q, NR, bad, t[int((NR + 1) * 0.5)], t[int(NR * 0.99 + 0.999)], t[NR] }'
done
