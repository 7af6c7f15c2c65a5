#!/usr/bin/env bash
# Browser test of the storefront pages against a real souk server.
#
# Starts `souk demo` on a random port with a throwaway data dir, waits for
# /healthz, then runs every *.test.mjs here (storefront, console, …) in
# headless Chromium, one file at a time. The storefront test reads one-time
# sign-in codes from the server's log (SOUK_OTP_SENDER=log).
#
#   SOUK_BIN   the souk binary (default: target/debug/souk, honouring CARGO_TARGET_DIR)
#   CHROMIUM   the browser (default: /usr/bin/chromium)
# Screenshots and the server log end up in tests/browser/artifacts/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ARTIFACTS="$HERE/artifacts"

if [[ -z "${SOUK_BIN:-}" ]]; then
  if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
    SOUK_BIN="$CARGO_TARGET_DIR/debug/souk"
  else
    SOUK_BIN="target/debug/souk"
  fi
fi
[[ "$SOUK_BIN" == /* ]] || SOUK_BIN="$ROOT/$SOUK_BIN"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

die() { echo "browser-test: $*" >&2; exit 1; }
[[ -x "$SOUK_BIN" ]] || die "no souk binary at $SOUK_BIN (build it with: cargo build -p souk, or set SOUK_BIN)"
[[ -x "$CHROMIUM" ]] || die "no browser at $CHROMIUM (install it with: apt-get install -y chromium, or set CHROMIUM)"
command -v node >/dev/null || die "node is not installed"
if [[ ! -d "$HERE/node_modules/playwright-core" ]]; then
  (cd "$HERE" && npm ci --no-audit --no-fund)
fi

mkdir -p "$ARTIFACTS"
rm -f "$ARTIFACTS"/*.png "$ARTIFACTS"/server.log
TMP="$(mktemp -d -t souk-browser.XXXXXX)"
LOG="$TMP/server.log"
SERVER_PID=""

cleanup() {
  local rc=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  [[ -f "$LOG" ]] && cp "$LOG" "$ARTIFACTS/server.log"
  if [[ $rc -ne 0 && -f "$LOG" ]]; then
    echo "browser-test: FAILED (exit $rc); last lines of the server log:" >&2
    tail -n 40 "$LOG" | sed 's/\x1b\[[0-9;]*m//g' >&2 || true
  fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "browser-test: starting $SOUK_BIN demo"
: >"$LOG"
# souk reads its configuration from SOUK_* variables and refuses unknown
# ones, so the variables of this script are kept from it. The one-time codes
# go to the log (the default code sender). NO_COLOR keeps ANSI colours out of
# the log that is parsed here.
env -u SOUK_BIN -u SOUK_BASE_URL -u SOUK_SERVER_LOG -u SOUK_ARTIFACTS NO_COLOR=1 \
  "$SOUK_BIN" demo --bind 127.0.0.1:0 --data-dir "$TMP/data" >"$LOG" 2>&1 </dev/null &
SERVER_PID=$!

deadline=$((SECONDS + 60))
BASE=""
while [[ -z "$BASE" ]]; do
  kill -0 "$SERVER_PID" 2>/dev/null || die "souk exited before it was listening"
  (( SECONDS < deadline )) || die "souk printed no 'listening on http://...' line within 60s"
  BASE="$(sed 's/\x1b\[[0-9;]*m//g' "$LOG" | grep -oE 'listening on http://[0-9.]+:[0-9]+' | head -n 1 | sed 's/^listening on //' || true)"
  [[ -n "$BASE" ]] || sleep 0.2
done
echo "browser-test: server at $BASE"

until node -e 'fetch(process.argv[1]).then(r => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1))' "$BASE/healthz"; do
  kill -0 "$SERVER_PID" 2>/dev/null || die "souk exited while starting"
  (( SECONDS < deadline )) || die "$BASE/healthz did not answer 200 within 60s"
  sleep 0.5
done

cd "$HERE"
SOUK_BASE_URL="$BASE" SOUK_SERVER_LOG="$LOG" SOUK_ARTIFACTS="$ARTIFACTS" \
  node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout ./*.test.mjs
