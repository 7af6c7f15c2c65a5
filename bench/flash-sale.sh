#!/usr/bin/env bash
# The flash-sale benchmark, side by side in one run: every reservation step
# bare (in-process, N tasks) and behind the same HTTP endpoint, then the
# 100,000-buyers-for-1,000-units race for correctness. Prints a table of
# medians (accepted reservations/s and p99) over REPEAT runs.
#
#   bench/flash-sale.sh                      # everything, 3 repeats
#   REPEAT=5 CONCURRENCY="64 1024" bench/flash-sale.sh
#
# Needs PostgreSQL (PG_URL) and Redis (REDIS_URL) running. The Redis AOF run
# sets appendonly/appendfsync with CONFIG SET and puts them back afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

REPEAT=${REPEAT:-3}
CONCURRENCY=${CONCURRENCY:-"64 1024"}
BUYERS=${BUYERS:-50000}          # attempts per throughput run (plenty of stock: every one is accepted)
PG_BUYERS=${PG_BUYERS:-10000}    # the plain-UPDATE design is slow; fewer attempts keep the run short
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/}
SOUK_PG_DB=${SOUK_PG_DB:-souk_bench}  # souk's own database on that server, recreated per run
STEPS=${STEPS:-"pg-update redis redis-aof souk-sqlite souk-pg full-sqlite full-pg"}
OUT=${OUT:-target/flash-sale}

[ -n "${NO_BUILD:-}" ] || cargo build --release -p souk >&2
BIN=target/release/souk
mkdir -p "$OUT"
: >"$OUT/results.txt"

pg_admin=${PG_URL%/*}/postgres
fresh_pg() { # a fresh database for souk on the PostgreSQL server
  psql -q "$pg_admin" -c "DROP DATABASE IF EXISTS $SOUK_PG_DB WITH (FORCE)" >/dev/null
  psql -q "$pg_admin" -c "CREATE DATABASE $SOUK_PG_DB" >/dev/null
  echo "${PG_URL%/*}/$SOUK_PG_DB"
}

# run LABEL MODE CONC ARGS... : one run, its RESULT line appended to results.txt
run() {
  local label=$1 mode=$2 conc=$3
  shift 3
  local line
  if line=$("$BIN" bench flash-sale --concurrency "$conc" --pg-url "$PG_URL" --redis-url "$REDIS_URL" "$@" 2>"$OUT/last.err" | grep '^RESULT'); then
    echo "$label $mode $conc $line" | tee -a "$OUT/results.txt" >&2
  else
    echo "$label $mode $conc FAILED: $(tail -3 "$OUT/last.err" | tr '\n' ' ')" | tee -a "$OUT/results.txt" >&2
  fi
}

step_args() { # label -> bench flags
  case $1 in
    pg-update) echo "--step pg-update" ;;
    redis) echo "--step redis" ;;
    redis-aof) echo "--step redis-aof" ;;
    souk-sqlite) echo "--step souk" ;;
    souk-pg) echo "--step souk --database $(fresh_pg)" ;;
    full-sqlite) echo "--step full" ;;
    full-pg) echo "--step full --database $(fresh_pg)" ;;
  esac
}

for r in $(seq "$REPEAT"); do
  for conc in $CONCURRENCY; do
    for label in $STEPS; do
      n=$BUYERS
      [ "$label" = pg-update ] && n=$PG_BUYERS
      units=$((n * 2))
      for mode in bare http; do
        case $label in full-*) [ $mode = bare ] && continue ;; esac
        flag=""
        [ $mode = bare ] && flag="--bare"
        # shellcheck disable=SC2046
        run "$label" "$mode" "$conc" $(step_args "$label") $flag --units $units --buyers "$n"
      done
    done
  done
done

# The race: 100,000 buyers for 1,000 units over HTTP, souk's whole API.
for label in full-sqlite full-pg; do
  # shellcheck disable=SC2046
  run "race-$label" http 64 $(step_args "$label") --units 1000 --buyers 100000
done

# The table: median accepted/s and median p99 per (step, mode, concurrency).
echo
printf '%-12s %-5s %5s %14s %10s %s\n' step mode conc "accepted/s" "p99 ms" "runs (accepted/s)"
awk '$4 == "RESULT" && $1 !~ /^race-/ {
  key = $1 " " $2 " " $3
  for (i = 5; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
  acc[key] = acc[key] " " v["accepted_per_s"]; p99[key] = p99[key] " " v["p99_ms"]
  if (!(key in seen)) { seen[key] = 1; order[++n] = key }
}
function median(s,   a, k, i, j, t) {
  k = split(s, a, " ")
  for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
  return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
END {
  for (i = 1; i <= n; i++) {
    split(order[i], f, " ")
    printf "%-12s %-5s %5s %14.0f %10.2f %s\n", f[1], f[2], f[3], median(acc[order[i]]), median(p99[order[i]]), acc[order[i]]
  }
}' "$OUT/results.txt"
echo
echo "The race (100,000 buyers, 1,000 units, 64 at a time, HTTP, whole API):"
grep '^race-' "$OUT/results.txt" || true
if grep -q FAILED "$OUT/results.txt"; then
  echo "some runs FAILED (see $OUT/results.txt)"
  exit 1
fi
