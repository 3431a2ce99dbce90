#!/usr/bin/env bash
# 10-minute soak at 200 requests/s against a release glint. History fills
# during the 60 s warm-up (refresh 0.5 s, history_size 100 = 50 s of points),
# so RSS growth after it is what a long-running daemon would show.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TOTAL=${SOAK_SECONDS:-600}
PORT=61494
cargo build --release --quiet
conf=$(mktemp)
sed -e 's/^refresh=2$/refresh=0.5/' -e 's/^history_size=1200$/history_size=100/' config/glint.conf > "$conf"
./target/release/glint -w -B 127.0.0.1 -p $PORT -C "$conf" --disable-plugin cloud,ip,ports,wifi >/tmp/glint-soak.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$conf"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/api/3/status" >/dev/null && break; sleep 0.1; done
python3 bench/soak.py $PORT $pid --seconds "$SECONDS_TOTAL" --rate 200 --warmup 60
