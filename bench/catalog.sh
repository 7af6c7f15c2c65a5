#!/usr/bin/env bash
# Catalog read-path benchmark over loopback: product page JSON and search,
# against an HTTP floor (a 255-byte static asset through the same server and
# outer middleware) and against product reads with the catalog cache off,
# on SQLite and (when reachable) PostgreSQL. See docs/BENCHMARKS.md.
#
#   bench/catalog.sh                 # build release, run everything, print a table
#
# Environment:
#   SOUK_BIN=path          use this souk binary instead of building target/release/souk
#   REPS=3                 repetitions of every measurement (medians are reported)
#   DURATION=10            seconds per wrk / oha run
#   CONNS=32               connections (wrk and oha)
#   RATE=5000              fixed rate (requests/s) for the latency runs of floor and product
#   SEARCH_RATE=1000       fixed rate for the search latency run
#   PIN=1                  pin the server to CPU 1 and the load generator to CPU 0 (taskset); PIN=0 to let them float
#   SOUK_BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres
#                          a PostgreSQL server to create a fresh database on; without it,
#                          postgres://postgres@127.0.0.1:5432/postgres is tried; POSTGRES=0 skips PostgreSQL
#   PORT=18480             port to serve on (127.0.0.1 only)
#
# Throughput: wrk, one thread, CONNS connections, closed loop (as fast as the server answers);
# its p50/p99 are latencies at saturation. Latency: oha at a fixed RATE with
# --latency-correction (latency counted from when a request was due, so stalls are not hidden).
set -euo pipefail
cd "$(dirname "$0")/.."

REPS=${REPS:-3}
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
RATE=${RATE:-5000}
SEARCH_RATE=${SEARCH_RATE:-1000}
PIN=${PIN:-1}
PORT=${PORT:-18480}
BASE="http://127.0.0.1:$PORT"
POSTGRES=${POSTGRES:-1}

missing=0
need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "bench/catalog.sh: $1 is not installed; install it with: $2" >&2
        missing=1
    fi
}
need wrk "apt-get install -y wrk"
need oha "cargo install oha --locked   (from crates.io; builds in a few minutes)"
need jq "apt-get install -y jq"
need curl "apt-get install -y curl"
[ "$missing" = 0 ] || exit 2

if [ "$PIN" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    PIN_SERVER="taskset -c 1"
    PIN_LOAD="taskset -c 0"
    PINNING="server on CPU 1, load generator on CPU 0 (taskset)"
else
    PIN_SERVER=""
    PIN_LOAD=""
    PINNING="not pinned"
fi

if [ -n "${SOUK_BIN:-}" ]; then
    BIN=$SOUK_BIN
else
    cargo build --release -p souk >&2
    BIN=target/release/souk
fi

WORK=$(mktemp -d)
SERVER_PID=""
stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT

# start_server DATA_DIR DATABASE_URL|"" [ENV=VALUE...]
start_server() {
    local dir=$1 url=$2
    shift 2
    local args=(demo --data-dir "$dir" --bind "127.0.0.1:$PORT" --read-rate-per-sec 0 --write-rate-per-sec 0)
    [ -n "$url" ] && args+=(--database-url "$url")
    # The benchmark's own settings are not the server's configuration.
    env -u SOUK_BIN -u SOUK_BENCH_POSTGRES_URL "$@" $PIN_SERVER "$BIN" "${args[@]}" >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 600); do
        if curl -sf "$BASE/healthz" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            cat "$WORK/server.log" >&2
            echo "bench/catalog.sh: the server did not start" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "bench/catalog.sh: the server did not answer /healthz within 60 s" >&2
    exit 1
}

# Active demo products are 1..180 except every 10th (drafts answer 404).
PRODUCT_IDS=$(seq 1 179 | awk '$1 % 10 != 0')
for id in $PRODUCT_IDS; do echo "$BASE/api/v1/products/$id"; done >"$WORK/product-urls.txt"
SEARCH_PATH="/api/v1/products?q=dress&limit=20"
FLOOR_PATH="/assets/favicon.svg"

check_routes() {
    for id in $PRODUCT_IDS; do
        code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/api/v1/products/$id")
        [ "$code" = 200 ] || { echo "bench/catalog.sh: product $id answered $code" >&2; exit 1; }
    done
    [ "$(curl -s "$BASE$SEARCH_PATH" | jq '.items | length')" -gt 0 ] ||
        { echo "bench/catalog.sh: search found nothing" >&2; exit 1; }
}

to_ms() { # wrk latency (e.g. 1.23ms, 456.00us, 1.01s) -> milliseconds
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000;
        printf "%.2f", n }'
}

# wrk_run NAME PATH|lua -> appends "NAME rps p50ms p99ms" to $WORK/results
wrk_run() {
    local name=$1 target=$2 out
    if [ "$target" = lua ]; then
        out=$($PIN_LOAD wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency -s bench/products.lua "$BASE")
    else
        out=$($PIN_LOAD wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$BASE$target")
    fi
    if echo "$out" | grep -q "Non-2xx"; then
        echo "$out" >&2
        echo "bench/catalog.sh: $name got error responses" >&2
        exit 1
    fi
    local rps p50 p99
    rps=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')
    p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" {print $2}')")
    p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" {print $2}')")
    echo "$name $rps $p50 $p99" >>"$WORK/results"
    printf '  %-32s %8s req/s  p50 %6s ms  p99 %6s ms\n' "$name" "$rps" "$p50" "$p99" >&2
}

# oha_run NAME RATE URL|urls-file -> appends "NAME rps p50ms p99ms"
oha_run() {
    local name=$1 rate=$2 target=$3 json
    local args=(--no-tui -q "$rate" -z "${DURATION}s" -c "$CONNS" --latency-correction --worker-threads 1 --output-format json)
    if [ -f "$target" ]; then
        json=$($PIN_LOAD oha "${args[@]}" --urls-from-file "$target")
    else
        json=$($PIN_LOAD oha "${args[@]}" "$target")
    fi
    local bad
    bad=$(echo "$json" | jq '[.statusCodeDistribution | to_entries[] | select(.key != "200") | .value] | add // 0')
    [ "$bad" = 0 ] || { echo "bench/catalog.sh: $name got $bad non-200 answers" >&2; exit 1; }
    local line
    line=$(echo "$json" | jq -r '"\(.summary.requestsPerSec | floor) \(.latencyPercentiles.p50 * 1000 * 100 | round / 100) \(.latencyPercentiles.p99 * 1000 * 100 | round / 100)"')
    echo "$name $line" >>"$WORK/results"
    # shellcheck disable=SC2086
    set -- $line
    printf '  %-32s %8s req/s  p50 %6s ms  p99 %6s ms\n' "$name" "$1" "$2" "$3" >&2
}

warm() { # a short unmeasured run so every product is cached and connections are warm
    $PIN_LOAD wrk -t1 -c"$CONNS" -d2s -s bench/products.lua "$BASE" >/dev/null
    $PIN_LOAD wrk -t1 -c"$CONNS" -d1s "$BASE$SEARCH_PATH" >/dev/null
}

# bench_db LABEL DATA_DIR DATABASE_URL|""
bench_db() {
    local db=$1 dir=$2 url=$3
    echo "== $db ==" >&2
    for rep in $(seq "$REPS"); do
        echo "-- $db, repetition $rep of $REPS" >&2
        start_server "$dir" "$url"
        check_routes
        warm
        wrk_run "$db/floor/max" "$FLOOR_PATH"
        wrk_run "$db/healthz/max" /healthz
        wrk_run "$db/product/max" lua
        wrk_run "$db/search/max" "$SEARCH_PATH"
        oha_run "$db/floor/rate" "$RATE" "$BASE$FLOOR_PATH"
        oha_run "$db/product/rate" "$RATE" "$WORK/product-urls.txt"
        oha_run "$db/search/rate" "$SEARCH_RATE" "$BASE$SEARCH_PATH"
        stop_server
        start_server "$dir" "$url" SOUK_CATALOG_CACHE=off
        $PIN_LOAD wrk -t1 -c"$CONNS" -d1s -s bench/products.lua "$BASE" >/dev/null
        wrk_run "$db/product-nocache/max" lua
        wrk_run "$db/search-nocache/max" "$SEARCH_PATH"
        stop_server
    done
}

echo "souk catalog read benchmark: $(nproc) CPUs, $PINNING, $REPS x ${DURATION}s, $CONNS connections" >&2
echo "binary: $BIN ($(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+changes'))" >&2

mkdir -p "$WORK/sqlite"
bench_db sqlite "$WORK/sqlite" ""

PG_NOTE="PostgreSQL: skipped"
if [ "$POSTGRES" = 1 ]; then
    PG_ADMIN=${SOUK_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
    if command -v psql >/dev/null && psql "$PG_ADMIN" -Atqc 'select 1' >/dev/null 2>&1; then
        PG_DB="souk_bench_$$_$(date +%s)"
        psql "$PG_ADMIN" -qc "create database $PG_DB" >/dev/null
        PG_URL="${PG_ADMIN%/*}/$PG_DB"
        mkdir -p "$WORK/pg"
        bench_db postgres "$WORK/pg" "$PG_URL"
        psql "$PG_ADMIN" -qc "drop database $PG_DB" >/dev/null 2>&1 || true
        PG_NOTE="PostgreSQL: $(psql "$PG_ADMIN" -Atqc 'show server_version') on 127.0.0.1"
    else
        PG_NOTE="PostgreSQL: not reachable at $PG_ADMIN (set SOUK_BENCH_POSTGRES_URL)"
        echo "$PG_NOTE" >&2
    fi
fi

# The table: medians over the repetitions.
median() { sort -n | awk '{v[NR] = $1} END {if (NR == 0) print "-"; else print v[int((NR + 1) / 2)]}'; }
col() { # col NAME FIELD
    awk -v n="$1" -v f="$2" '$1 == n {print $f}' "$WORK/results" | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }

echo
echo "Medians of $REPS runs of ${DURATION}s; $CONNS connections; $PINNING; $PG_NOTE."
echo
echo "| database | request | max req/s (wrk) | p50 ms | p99 ms | fixed rate | p50 ms | p99 ms |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for db in sqlite postgres; do
    grep -q "^$db/" "$WORK/results" || continue
    for what in floor healthz product product-nocache search search-nocache; do
        name="$db/$what"
        [ "$(col "$name/max" 2)" = "-" ] && continue
        case $what in
            floor) label="HTTP floor: GET $FLOOR_PATH" rate=$RATE ;;
            healthz) label="GET /healthz (one DB round trip)" rate="" ;;
            product) label="product page (cache on)" rate=$RATE ;;
            product-nocache) label="product page, SOUK_CATALOG_CACHE=off" rate="" ;;
            search) label="search q=dress limit=20" rate=$SEARCH_RATE ;;
            search-nocache) label="search, SOUK_CATALOG_CACHE=off" rate="" ;;
        esac
        if [ -n "$rate" ] && [ "$(col "$name/rate" 2)" != "-" ]; then
            fixed="$rate/s | $(col "$name/rate" 3) | $(col "$name/rate" 4)"
        else
            fixed="- | - | -"
        fi
        echo "| $db | $label | $(col "$name/max" 2) | $(col "$name/max" 3) | $(col "$name/max" 4) | $fixed |"
    done
done
echo
for db in sqlite postgres; do
    grep -q "^$db/" "$WORK/results" || continue
    p=$(col "$db/product/max" 2)
    echo "$db: product/floor $(ratio "$p" "$(col "$db/floor/max" 2)"), cache on/off $(ratio "$p" "$(col "$db/product-nocache/max" 2)"), search/product $(ratio "$(col "$db/search/max" 2)" "$p"), search cache on/off $(ratio "$(col "$db/search/max" 2)" "$(col "$db/search-nocache/max" 2)")"
done
echo
echo "Raw runs:"
sed 's/^/  /' "$WORK/results"
