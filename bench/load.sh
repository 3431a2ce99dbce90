#!/usr/bin/env bash
# Load test: at least LOAD_REQUESTS (default 1 000 000) requests at 64
# keep-alive connections over /api/3/all, /api/3/cpu and /api/3/processlist,
# against a release glint on loopback, for LOAD_SECONDS (default 60). Passes
# when wrk reports no socket errors and no non-2xx answers and the count is
# reached.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || scripts/deps.sh wrk
LOAD_REQUESTS=${LOAD_REQUESTS:-1000000}
LOAD_SECONDS=${LOAD_SECONDS:-60}
PORT=61493
cargo build --release --quiet
./target/release/glint -w -B 127.0.0.1 -p $PORT -C config/glint.conf --disable-plugin cloud,ip,ports,wifi >/tmp/glint-load.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/api/3/status" >/dev/null && break; sleep 0.1; done
sleep 3
out=$(wrk -t2 -c64 -d"${LOAD_SECONDS}s" --latency -s bench/load.lua "http://127.0.0.1:$PORT" 2>&1)
echo "$out"
echo "glint RSS after load: $(awk '/^VmRSS/ {print $2, $3}' /proc/$pid/status)"
if echo "$out" | grep -qE 'Socket errors|Non-2xx'; then
  echo "FAIL: errors or non-2xx answers" >&2; exit 1
fi
done_requests=$(echo "$out" | awk '/requests in/ {print $1}')
if [ "$done_requests" -lt "$LOAD_REQUESTS" ]; then
  echo "FAIL: only $done_requests requests in ${LOAD_SECONDS}s" >&2; exit 1
fi
echo "PASS: $done_requests requests, no errors, no non-2xx"
