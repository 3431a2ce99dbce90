#!/usr/bin/env bash
# Check the gpu plugin on a host with an NVIDIA GPU against the reference, Glances
# 3.4.0.5, which reads NVML through py3nvml. Both serve on loopback with Glances'
# shipped config (outside-reaching plugins off). Steps: the unit tests with NVML
# present; both servers idle; then, if PyTorch can use the GPU, both under a steady
# load. Every /api/3/gpu route and the views must agree (scripts/gpu_compare.py
# gives the tolerances). Exits non-zero on any difference.
# usage: scripts/gpu-check.sh
#   GLINT=PATH          a built glint (default: cargo build --release)
#   GLINT_TESTS=PATH    a built unit-test binary (default: cargo test --lib)
#   GLANCES_WHEELS=DIR  install Glances from wheels in DIR (Glances 3.4.0.5, bottle,
#                       defusedxml, ujson, py3nvml, xmltodict; psutil and packaging
#                       must be there already), for hosts without PyPI; default: a
#                       venv from PyPI under /tmp/glint-gpu-check
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvidia-smi >/dev/null || { echo "nvidia-smi not found: not an NVIDIA host" >&2; exit 1; }
WORK=/tmp/glint-gpu-check
mkdir -p "$WORK"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=index,name,driver_version,memory.used,memory.reserved,memory.total --format=csv

echo "== unit tests with NVML present"
if [ -n "${GLINT_TESTS:-}" ]; then
  "$GLINT_TESTS" collect::gpu --test-threads=1 --nocapture
else
  cargo test --quiet --lib collect::gpu -- --test-threads=1 --nocapture
fi

if [ -z "${GLINT:-}" ]; then
  cargo build --quiet --release --bin glint
  GLINT=target/release/glint
fi
if [ -n "${GLANCES_WHEELS:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target "$WORK/site" "$GLANCES_WHEELS"/*.whl
  PYTHON=python3
  export PYTHONPATH="$WORK/site"
  SHIPPED="$WORK/site/share/doc/glances/glances.conf"
else
  [ -x "$WORK/venv/bin/python" ] || python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install -q 'glances==3.4.0.5' bottle ujson py3nvml
  PYTHON="$WORK/venv/bin/python"
  SHIPPED="$WORK/venv/share/doc/glances/glances.conf"
fi
CONF="$WORK/glances.conf"
scripts/glances-safe-conf.sh "$SHIPPED" > "$CONF"

REF=http://127.0.0.1:61509 TEST=http://127.0.0.1:61508
"$PYTHON" -m glances -C "$CONF" -w --disable-webui -B 127.0.0.1 -p 61509 \
  --disable-plugin cloud,ip,ports,wifi --disable-check-update --disable-autodiscover \
  >"$WORK/glances.log" 2>&1 &
GLANCES_PID=$!
"$GLINT" -w -C "$CONF" -B 127.0.0.1 -p 61508 >"$WORK/glint.log" 2>&1 &
GLINT_PID=$!
trap 'kill $GLANCES_PID $GLINT_PID 2>/dev/null || true' EXIT
up() { python3 -c 'import sys, urllib.request as u; u.urlopen(sys.argv[1] + "/api/3/status", timeout=2)' "$1" 2>/dev/null; }
for _ in $(seq 1 100); do
  up "$REF" && up "$TEST" && break
  sleep 0.2
done
sleep 3 # a refresh or so, so both have read the GPUs

echo "== idle"
"$PYTHON" scripts/gpu_compare.py "$REF" "$TEST"
if python3 -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
  echo "== under load"
  python3 scripts/gpu_load.py 30 &
  LOAD_PID=$!
  sleep 12 # allocation done, utilisation steady, and a refresh since
  "$PYTHON" scripts/gpu_compare.py "$REF" "$TEST"
  wait $LOAD_PID
else
  echo "== under load: skipped (no PyTorch with CUDA here)"
fi
