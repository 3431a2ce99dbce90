#!/usr/bin/env bash
# Side-by-side benchmark: Glances 3.4.0.5 (from PyPI, in a venv) and a
# release build of glint, on loopback, measured alternately in one run.
#
#   bench/compare.sh            full run (about 16 minutes)
#   QUICK=1 bench/compare.sh    shorter phases, for a smoke test
#
# Prints a markdown table of both servers and the ratios, and the ceiling
# over the /all cells (bench/ceiling.c) and the floor under the dashboard
# cell (bench/floor.c). Needs: python3-venv, wrk (installed
# from Debian when missing), procps, a C compiler (the one Rust links with).
# Everything talks to 127.0.0.1 only; plugins that reach outside the host are
# disabled on both.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${GLINT_BENCH_DIR:-/tmp/glint-bench}
GLANCES_PORT=61491
GLINT_PORT=61492
CEILING_PORT=61497
FLOOR_PORT=61495
WRK_SECONDS=${WRK_SECONDS:-10}
WRK_RUNS=${WRK_RUNS:-3}
PHASE_SECONDS=${PHASE_SECONDS:-60}
EXTRA_PROCS=${EXTRA_PROCS:-2000}
if [ "${QUICK:-0}" = 1 ]; then WRK_SECONDS=3; WRK_RUNS=1; PHASE_SECONDS=10; EXTRA_PROCS=300; fi
mkdir -p "$WORK"

need() { command -v "$1" >/dev/null || scripts/deps.sh "$2"; }
need wrk wrk
need curl curl
python3 -c 'import venv' 2>/dev/null || scripts/deps.sh python3-venv

# --- the two servers --------------------------------------------------------
if [ ! -x "$WORK/venv/bin/glances" ]; then
  echo "installing Glances 3.4.0.5 into $WORK/venv" >&2
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install -q 'glances==3.4.0.5' bottle ujson
fi
GLANCES_VERSION=$("$WORK/venv/bin/glances" -V 2>/dev/null | head -1)
scripts/glances-safe-conf.sh "$WORK/venv/share/doc/glances/glances.conf" > "$WORK/glances.conf"
cargo build --release --quiet
GLINT_VERSION=$(./target/release/glint -V)

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "${sleepers:-}" ] && kill $sleepers 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

"$WORK/venv/bin/glances" -C "$WORK/glances.conf" -w --disable-webui -B 127.0.0.1 -p $GLANCES_PORT \
  --disable-plugin cloud,ip,ports,wifi --disable-check-update --disable-autodiscover \
  >"$WORK/glances.log" 2>&1 &
GLANCES_PID=$!; pids+=($GLANCES_PID)
./target/release/glint -w -B 127.0.0.1 -p $GLINT_PORT -C config/glint.conf \
  --disable-plugin cloud,ip,ports,wifi >"$WORK/glint.log" 2>&1 &
GLINT_PID=$!; pids+=($GLINT_PID)
for port in $GLANCES_PORT $GLINT_PORT; do
  for _ in $(seq 1 150); do curl -sf "http://127.0.0.1:$port/api/3/status" >/dev/null && break; sleep 0.2; done
done
# The size in bytes of glint's answer to PATH at this moment.
glint_bytes() { curl -s "http://127.0.0.1:$GLINT_PORT$1" | wc -c; }
# The ceiling over the /all cells: a static server sending a body of /all's size.
ALL_BYTES=$(glint_bytes /api/3/all)
cc -O2 bench/ceiling.c -o "$WORK/ceiling"
cc -O2 -pthread bench/floor.c -o "$WORK/floor"
"$WORK/ceiling" $CEILING_PORT "$ALL_BYTES" & pids+=($!)

# --- measurements -----------------------------------------------------------
CLK=$(getconf CLK_TCK)
# A process's CPU time as "ns ticks": its threads' run time from schedstat,
# and utime + stime from /proc/PID/stat. The ticks alone are 10 ms each: over
# 60 s that is 0.017 % of a core, a sixth of glint's dashboard figure.
cpu_sample() {
  echo "$(cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ns += $1} END {printf "%.0f", ns}')" \
    "$(awk '{print $14 + $15}' "/proc/$1/stat")"
}
# cpu_seconds "SAMPLE0" "SAMPLE1" -> CPU seconds between them: schedstat's,
# unless the ticks (each reading cut to a tick) exceed it by more than two:
# a thread that exited in between took its run time out of the schedstat sum.
cpu_seconds() {
  awk -v a="$1" -v b="$2" -v hz="$CLK" 'BEGIN {
    split(a, x, " "); split(b, y, " ")
    ns = y[1] - x[1]; ticks = (y[2] - x[2]) / hz * 1e9
    if (ticks > ns + 2e9 / hz) ns = ticks
    printf "%.6f", ns / 1e9 }'
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# wrk ROUTE CONNS PORT -> "rps p50_ms p99_ms errors"
run_wrk() {
  local out
  out=$(wrk -t1 -c"$2" -d"${WRK_SECONDS}s" --latency "http://127.0.0.1:$3$1" 2>&1)
  echo "$out" | awk '
    /Requests\/sec/ {rps=$2}
    /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
    /Non-2xx/ {err+=$NF} /Socket errors/ {err+=1}
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    END {printf "%.0f %.2f %.2f %d\n", rps, ms(p50), ms(p99), err+0}'
}

# Lines of run_wrk -> the median of each figure, and the errors summed.
median_runs() {
  local lines col out=""
  lines=$(cat)
  for col in 1 2 3; do
    out+="$(echo "$lines" | awk -v c=$col '{print $c}' | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}') "
  done
  echo "$out$(echo "$lines" | awk '{e += $4} END {print e + 0}')"
}

# cpu_over PID SECONDS [COMMAND...] -> CPU percent of one core while COMMAND runs (or idle)
cpu_over() {
  local pid=$1 secs=$2; shift 2
  local t0 t1 start end
  t0=$(cpu_sample "$pid"); start=$(date +%s.%N)
  if [ $# -gt 0 ]; then "$@"; else sleep "$secs"; fi
  t1=$(cpu_sample "$pid"); end=$(date +%s.%N)
  awk -v c="$(cpu_seconds "$t0" "$t1")" -v s="$start" -v e="$end" 'BEGIN {printf "%.3f", c/(e-s)*100}'
}

# A dashboard as a browser holds it: /all and /all/views every 2 s over one
# kept-alive connection (one curl per poll asks for both), and no other
# process started per poll: the shell's clock and a read that times out
# stand in for `date` and `sleep`. A loop of one curl per request plus a
# `date` and a `sleep` started four processes per poll, and scanning those
# new processes was about a tenth of glint's figure: the cost of process
# churn on the host, not of an open dashboard.
exec {NEVER_READY}<> <(:)
dashboard() { # port seconds [accept-encoding]
  local end=$((SECONDS + $2)) encoding=${3:-identity}
  while [ $SECONDS -lt $end ]; do
    curl -s -H "Accept-Encoding: $encoding" -o /dev/null -o /dev/null \
      "http://127.0.0.1:$1/api/3/all" "http://127.0.0.1:$1/api/3/all/views"
    read -r -t 2 -u $NEVER_READY || true
  done
}

declare -A R
ALL_SIZES=""
echo "warming up (history fills, first samples)" >&2
sleep 5
# Each cell is run WRK_RUNS times, the two servers alternating, and the
# median of each figure is kept (errors are summed): on the development VM
# one 10 s run can come out a quarter below another of the same build.
for route in /api/3/cpu /api/3/all /api/3/processlist; do
  for conns in 1 16; do
    unset runs; declare -A runs=()
    for run in $(seq 1 "$WRK_RUNS"); do
      for server in glances glint; do
        port=$GLANCES_PORT; [ $server = glint ] && port=$GLINT_PORT
        echo "wrk $server $route c=$conns ($run/$WRK_RUNS)" >&2
        runs[$server]+="$(run_wrk "$route" "$conns" "$port")"$'\n'
      done
      if [ "$route" = /api/3/all ] && [ "$conns" = 16 ]; then
        # /all grows with the processes and alerts of the moment; a reader
        # comparing with the ceiling's fixed body wants to know by how much.
        ALL_SIZES+="$(glint_bytes /api/3/all) "
        echo "wrk ceiling $route c=$conns ($run/$WRK_RUNS)" >&2
        runs[ceiling]+="$(run_wrk "$route" "$conns" $CEILING_PORT)"$'\n'
      fi
    done
    for server in glances glint; do
      R[$server,$route,$conns]=$(printf '%s' "${runs[$server]}" | median_runs)
    done
    if [ -n "${runs[ceiling]:-}" ]; then R[ceiling]=$(printf '%s' "${runs[ceiling]}" | median_runs); fi
  done
done

echo "dashboard phase (${PHASE_SECONDS}s each)" >&2
R[glances,dash_cpu]=$(cpu_over $GLANCES_PID "$PHASE_SECONDS" dashboard $GLANCES_PORT "$PHASE_SECONDS")
R[glances,dash_rss]=$(rss_kib $GLANCES_PID)
R[glint,dash_cpu]=$(cpu_over $GLINT_PID "$PHASE_SECONDS" dashboard $GLINT_PORT "$PHASE_SECONDS")
R[glint,dash_rss]=$(rss_kib $GLINT_PID)
# The floor: only the reads glint's data needs, answers built once, sized
# as glint's answers are now. Started for its phase only, so it adds nothing
# to the other cells.
echo "the floor's dashboard phase (${PHASE_SECONDS}s)" >&2
FLOOR_BYTES="$(glint_bytes /api/3/all) $(glint_bytes /api/3/all/views)"
# shellcheck disable=SC2086 # the two sizes are two arguments
"$WORK/floor" $FLOOR_PORT $FLOOR_BYTES 2>"$WORK/floor.log" & FLOOR_PID=$!; pids+=($FLOOR_PID)
sleep 4
R[floor,dash_cpu]=$(cpu_over $FLOOR_PID "$PHASE_SECONDS" dashboard $FLOOR_PORT "$PHASE_SECONDS")
kill $FLOOR_PID

echo "idle phase (${PHASE_SECONDS}s, both at once)" >&2
t_glances0=$(cpu_sample $GLANCES_PID); t_glint0=$(cpu_sample $GLINT_PID)
sleep "$PHASE_SECONDS"
t_glances1=$(cpu_sample $GLANCES_PID); t_glint1=$(cpu_sample $GLINT_PID)
pct() { awk -v c="$(cpu_seconds "$1" "$2")" -v s="$PHASE_SECONDS" 'BEGIN {printf "%.3f", c/s*100}'; }
R[glances,idle_cpu]=$(pct "$t_glances0" "$t_glances1"); R[glint,idle_cpu]=$(pct "$t_glint0" "$t_glint1")
R[glances,idle_rss]=$(rss_kib $GLANCES_PID); R[glint,idle_rss]=$(rss_kib $GLINT_PID)

# Browsers, Home Assistant and Homepage ask for deflate: both servers then
# compress every answer. After the idle phase: glint keeps its compressor.
echo "dashboard phase asking for deflate (${PHASE_SECONDS}s each)" >&2
R[glances,dash_deflate_cpu]=$(cpu_over $GLANCES_PID "$PHASE_SECONDS" dashboard $GLANCES_PORT "$PHASE_SECONDS" deflate)
R[glint,dash_deflate_cpu]=$(cpu_over $GLINT_PID "$PHASE_SECONDS" dashboard $GLINT_PORT "$PHASE_SECONDS" deflate)

echo "process scan phase: $EXTRA_PROCS extra sleeping processes" >&2
sleepers=""
for _ in $(seq 1 "$EXTRA_PROCS"); do sleep 3600 & sleepers="$sleepers $!"; done
sleep 5
nprocs=$(ls -d /proc/[0-9]* | wc -l)
# glint scans every 2 s by itself; Glances scans when asked, so ask every 2 s.
scan_seconds=$PHASE_SECONDS
g0=$(cpu_sample $GLINT_PID); sleep "$scan_seconds"; g1=$(cpu_sample $GLINT_PID); g=$(cpu_seconds "$g0" "$g1")
scans=$(awk -v s="$scan_seconds" 'BEGIN {printf "%d", s/2}')
R[glint,scan_us]=$(awk -v c="$g" -v n="$nprocs" -v k="$scans" 'BEGIN {printf "%.1f", c/k/n*1e6}')
# The scan alone: the same, less what the idle daemon (its own scan of the
# few processes of the idle phase included) costs over the phase.
R[glint,scan_only_us]=$(awk -v c="$g" -v n="$nprocs" -v k="$scans" \
  -v idle="${R[glint,idle_cpu]}" -v s="$scan_seconds" 'BEGIN {printf "%.1f", (c - idle/100*s)/k/n*1e6}')
p0=$(cpu_sample $GLANCES_PID)
for _ in $(seq 1 "$scans"); do curl -s "http://127.0.0.1:$GLANCES_PORT/api/3/processlist" >/dev/null; sleep 2; done
p1=$(cpu_sample $GLANCES_PID)
R[glances,scan_us]=$(awk -v c="$(cpu_seconds "$p0" "$p1")" -v n="$nprocs" -v k="$scans" 'BEGIN {printf "%.1f", c/k/n*1e6}')
kill $sleepers 2>/dev/null || true; sleepers=""

# --- report -----------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f×", a/b; else print "n/a" }'; }
f() { echo "${R[$1]}" | awk -v i="$2" '{print $i}'; }
echo
echo "### glint vs Glances — $(date -u +%Y-%m-%d), $(nproc) cores, $(uname -m)"
echo
echo "Glances: $GLANCES_VERSION; glint: $GLINT_VERSION; wrk ${WRK_SECONDS}s per run, 1 thread, the median of $WRK_RUNS alternating runs per cell (errors: all runs)."
echo
echo "| measure | Glances | glint | glint advantage |"
echo "|---|---|---|---|"
for route in /api/3/cpu /api/3/all /api/3/processlist; do
  for conns in 1 16; do
    a="glances,$route,$conns"; b="glint,$route,$conns"
    echo "| \`$route\` c=$conns req/s | $(f "$a" 1) | $(f "$b" 1) | $(ratio "$(f "$b" 1)" "$(f "$a" 1)") |"
    echo "| \`$route\` c=$conns p50 / p99 ms | $(f "$a" 2) / $(f "$a" 3) | $(f "$b" 2) / $(f "$b" 3) | |"
    echo "| \`$route\` c=$conns errors | $(f "$a" 4) | $(f "$b" 4) | |"
  done
done
echo "| \`/api/3/all\` c=16 req/s of a static server sending $ALL_BYTES bytes (\`bench/ceiling.c\`: what wrk and the kernel allow; run as often, beside glint's runs; glint's \`/all\` after each of its runs: ${ALL_SIZES% } bytes) | | $(f ceiling 1) | glint at $(awk -v a="$(f glint,/api/3/all,16 1)" -v b="$(f ceiling 1)" 'BEGIN { if (b > 0) printf "%.0f", a/b*100; else print "n/a" }') % of it |"
echo "| dashboard open: CPU % of one core | ${R[glances,dash_cpu]} | ${R[glint,dash_cpu]} | $(ratio "${R[glances,dash_cpu]}" "${R[glint,dash_cpu]}") less |"
echo "| dashboard open: CPU % of one core of the floor (\`bench/floor.c\`: only the reads of /proc and /sys that glint's data needs, through held handles, and answers of glint's sizes (${FLOOR_BYTES/ / and } bytes) built once; nothing parsed or formatted) | 1/20 of the above: $(awk -v g="${R[glances,dash_cpu]}" 'BEGIN {printf "%.3f", g/20}') | the floor: ${R[floor,dash_cpu]} | the floor is $(ratio "${R[glances,dash_cpu]}" "${R[floor,dash_cpu]}") less than Glances |"
echo "| dashboard open, asking for deflate as browsers do: CPU % of one core | ${R[glances,dash_deflate_cpu]} | ${R[glint,dash_deflate_cpu]} | $(ratio "${R[glances,dash_deflate_cpu]}" "${R[glint,dash_deflate_cpu]}") less |"
echo "| dashboard open: RSS MiB | $(awk -v k="${R[glances,dash_rss]}" 'BEGIN{printf "%.1f", k/1024}') | $(awk -v k="${R[glint,dash_rss]}" 'BEGIN{printf "%.1f", k/1024}') | $(ratio "${R[glances,dash_rss]}" "${R[glint,dash_rss]}") less |"
echo "| idle: CPU % of one core (Glances collects nothing when idle) | ${R[glances,idle_cpu]} | ${R[glint,idle_cpu]} | |"
echo "| idle: RSS MiB | $(awk -v k="${R[glances,idle_rss]}" 'BEGIN{printf "%.1f", k/1024}') | $(awk -v k="${R[glint,idle_rss]}" 'BEGIN{printf "%.1f", k/1024}') | |"
echo "| process scan: CPU µs per process ($nprocs processes), whole process | ${R[glances,scan_us]} | ${R[glint,scan_us]} | $(ratio "${R[glances,scan_us]}" "${R[glint,scan_us]}") less |"
echo "| process scan: CPU µs per process, glint's scan alone (above its idle cost) | | ${R[glint,scan_only_us]} | |"
