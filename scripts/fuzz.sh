#!/usr/bin/env bash
# Runs every fuzz target of every module for a bounded time and lists them.
#
#   scripts/fuzz.sh            each target for FUZZTIME (default 10s)
#   FUZZTIME=1m scripts/fuzz.sh
#   FUZZ=Decode scripts/fuzz.sh   only the targets whose name matches (a regexp)
#   scripts/fuzz.sh -l         list the targets, run nothing
#
# go test -fuzz takes one target of one package at a time, so the targets run
# one after another; each uses GOMAXPROCS workers (FUZZPARALLEL to change it).
# The seed corpora (testdata/fuzz/<target>) run as ordinary tests in make test
# too. A failing input is written to the target's testdata/fuzz directory, where
# it stays as a regression seed once fixed; the last line counts the targets.
source "$(dirname "$0")/lib.sh"

fuzztime=${FUZZTIME:-10s}
filter=${FUZZ:-.}
list_only=0
[ "${1:-}" = "-l" ] && list_only=1

cd "$ROOT"
# Every package of every module of go.work with its fuzz targets: go test
# -list prints a package's tests and targets, then "ok  <package>".
targets=()
while read -r line; do
  case $line in
    Fuzz*) pending+=("$line") ;;
    ok*)
      pkg=$(awk '{print $2}' <<<"$line")
      for t in "${pending[@]}"; do
        [[ $t =~ $filter ]] && targets+=("$pkg $t")
      done
      pending=()
      ;;
  esac
done < <(go test -list '^Fuzz' $(go list -m | sed 's|$|/...|') 2>/dev/null)

if [ ${#targets[@]} = 0 ]; then
  echo "no fuzz target matches FUZZ=$filter"
  exit 1
fi
if [ $list_only = 1 ]; then
  printf '%s\n' "${targets[@]}" | awk '{printf "%-32s %s\n", $2, $1}'
  echo "fuzz_targets=${#targets[@]}"
  exit 0
fi

say "fuzzing ${#targets[@]} targets, $fuzztime each"
parallel=()
[ -n "${FUZZPARALLEL:-}" ] && parallel=(-parallel "$FUZZPARALLEL")
failed=()
results=()
for entry in "${targets[@]}"; do
  read -r pkg name <<<"$entry"
  say "$name ($pkg)"
  if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "${parallel[@]}" "$pkg"; then
    results+=("ok    $name  $pkg")
  else
    results+=("FAIL  $name  $pkg")
    failed+=("$name")
  fi
done
echo
printf '%s\n' "${results[@]}"
echo "fuzz_targets=${#targets[@]} failed=${#failed[@]} fuzztime=$fuzztime"
[ ${#failed[@]} = 0 ]
