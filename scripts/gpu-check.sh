#!/usr/bin/env bash
# Manual check on a host with an NVIDIA GPU and driver: build glint, start it on
# 127.0.0.1, and compare /api/3/gpu with nvidia-smi. Prints one PASS/FAIL line per
# check and exits non-zero if any check failed.
# Usage: scripts/gpu-check.sh [PORT]    (default 61550; needs curl, python3, nvidia-smi)
# Readings are sampled a moment apart, so utilisation, temperature and memory are
# compared with tolerances; the index, name and fan presence must match exactly.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT=${1:-61550}
command -v nvidia-smi >/dev/null || { echo "FAIL nvidia-smi not found: not an NVIDIA host"; exit 1; }

cargo build --quiet --bin glint
./target/debug/glint -w -B 127.0.0.1 -p "$PORT" -t 1 >/tmp/glint-gpu-check.log 2>&1 &
GLINT_PID=$!
trap 'kill "$GLINT_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
  curl -sf "http://127.0.0.1:$PORT/api/3/status" >/dev/null 2>&1 && break
  sleep 0.2
done
sleep 2 # let the gpu plugin collect at least once

api=$(curl -sf "http://127.0.0.1:$PORT/api/3/gpu")
smi=$(nvidia-smi --query-gpu=index,name,utilization.gpu,temperature.gpu,fan.speed,memory.used,memory.total \
  --format=csv,noheader,nounits)

API="$api" SMI="$smi" python3 - <<'EOF'
import json, os, sys

api = {g["gpu_id"]: g for g in json.loads(os.environ["API"])}
rows = [[c.strip() for c in line.split(",")] for line in os.environ["SMI"].splitlines() if line.strip()]
failed = False

def check(ok, what):
    global failed
    failed |= not ok
    print(("PASS " if ok else "FAIL ") + what)

def number(text):
    try:
        return float(text)
    except ValueError:  # "[N/A]", "[Not Supported]"
        return None

check(len(api) == len(rows), f"GPU count: api {len(api)}, nvidia-smi {len(rows)}")
for index, name, util, temp, fan, used, total in rows:
    gpu = api.get(int(index))
    if gpu is None:
        check(False, f"gpu {index} missing from /api/3/gpu")
        continue
    check(list(gpu) == ["key", "gpu_id", "name", "mem", "proc", "temperature", "fan_speed"],
          f"gpu {index} key order {list(gpu)}")
    check(gpu["name"] == name, f"gpu {index} name: api {gpu['name']!r}, nvidia-smi {name!r}")
    u = number(util)
    check(u is not None and gpu["proc"] is not None and abs(gpu["proc"] - u) <= 20,
          f"gpu {index} utilisation: api {gpu['proc']}, nvidia-smi {util} (tolerance 20)")
    t = number(temp)
    check(t is not None and gpu["temperature"] is not None and abs(gpu["temperature"] - t) <= 3,
          f"gpu {index} temperature: api {gpu['temperature']}, nvidia-smi {temp} (tolerance 3)")
    f = number(fan)
    if f is None:
        check(gpu["fan_speed"] is None, f"gpu {index} fanless: api {gpu['fan_speed']}, nvidia-smi {fan}")
    else:
        check(gpu["fan_speed"] is not None and abs(gpu["fan_speed"] - f) <= 5,
              f"gpu {index} fan: api {gpu['fan_speed']}, nvidia-smi {fan} (tolerance 5)")
    used_v, total_v = number(used), number(total)
    pct = used_v * 100.0 / total_v if used_v is not None and total_v else None
    check(pct is not None and gpu["mem"] is not None and abs(gpu["mem"] - pct) <= 2,
          f"gpu {index} memory %: api {gpu['mem']}, nvidia-smi {pct} (tolerance 2)")
sys.exit(1 if failed else 0)
EOF
