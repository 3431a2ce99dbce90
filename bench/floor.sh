#!/usr/bin/env bash
# The floor under the dashboard goal (see bench/floor.c): the floor program
# and a release build of glint, side by side on loopback, polled by one
# dashboard loop (/api/3/all + /api/3/all/views every 2 s). Prints each one's
# CPU in µs per second (the sum of its threads' schedstat run time) and in %
# of one core. Needs a C compiler (the one Rust links with) and curl.
#
#   bench/floor.sh            two 60 s runs
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${GLINT_BENCH_DIR:-/tmp/glint-bench}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-60}
RUNS=${RUNS:-2}
FLOOR_PORT=61495
GLINT_PORT=61496
mkdir -p "$WORK"
cc -O2 -pthread bench/floor.c -o "$WORK/floor"
cargo build --release --quiet

run_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ns += $1} END {print ns}'; }
for run in $(seq 1 "$RUNS"); do
  "$WORK/floor" $FLOOR_PORT 2>"$WORK/floor.log" & floor=$!
  ./target/release/glint -w -B 127.0.0.1 -p $GLINT_PORT -C config/glint.conf \
    --disable-plugin cloud,ip,ports,wifi >/dev/null 2>&1 & glint=$!
  trap 'kill $floor $glint 2>/dev/null || true' EXIT
  sleep 6
  f0=$(run_ns $floor); g0=$(run_ns $glint); t0=$(date +%s%N)
  end=$(( $(date +%s) + SECONDS_PER_RUN ))
  while [ "$(date +%s)" -lt $end ]; do
    for port in $FLOOR_PORT $GLINT_PORT; do
      curl -s "http://127.0.0.1:$port/api/3/all" >/dev/null
      curl -s "http://127.0.0.1:$port/api/3/all/views" >/dev/null
    done
    sleep 2
  done
  f1=$(run_ns $floor); g1=$(run_ns $glint); t1=$(date +%s%N)
  kill $floor $glint; wait $floor $glint 2>/dev/null || true
  elapsed_us=$(( (t1 - t0) / 1000 ))
  awk -v f=$((f1 - f0)) -v g=$((g1 - g0)) -v us=$elapsed_us -v run="$run" -v held="$(cat "$WORK/floor.log")" \
    'BEGIN { printf "run %s: floor %d µs/s (%.3f %%), glint %d µs/s (%.3f %%); %s\n",
             run, f / us * 1e3, f / us / 10, g / us * 1e3, g / us / 10, held }'
done
