"""Compare /api/3/gpu between the reference Glances (REF) and glint (TEST).

usage: gpu_compare.py REF_BASE TEST_BASE

Routes other than the list are compared as text after one sample each. The list
is sampled five times, 2 s apart: name, gpu_id and fan presence must be equal,
mem within 0.01 points (both read NVML's first memory query; a steady
allocation gives equal values), proc within 5 points and temperature within
3 °C (glint answers from its last refresh, Glances at the request), and the
views equal. Exit 1 on any difference.
"""
import json
import sys
import time
import urllib.request

ref, test = sys.argv[1], sys.argv[2]
failures = []


def get(base, path):
    with urllib.request.urlopen(base + path, timeout=10) as response:
        return response.status, response.read().decode()


def check(ok, what):
    print(("ok   " if ok else "DIFF ") + what)
    if not ok:
        failures.append(what)


for path in ("/api/3/gpu/name", "/api/3/gpu/gpu_id/0/name"):
    a, b = get(ref, path), get(test, path)
    check(a == b, f"{path}: glances {a} glint {b}")
limits = [json.loads(get(base, "/api/3/all/limits")[1]).get("gpu") for base in (ref, test)]
check(limits[0] == limits[1], f"limits: glances {limits[0]} glint {limits[1]}")

for sample in range(5):
    gpus = [json.loads(get(base, "/api/3/gpu")[1]) for base in (ref, test)]
    check(len(gpus[0]) == len(gpus[1]), f"GPU count: glances {len(gpus[0])} glint {len(gpus[1])}")
    for a, b in zip(*gpus):
        print(f"  glances {json.dumps(a)}\n  glint   {json.dumps(b)}")
        same_fields = list(a) == list(b) and all(a[k] == b[k] for k in ("key", "gpu_id", "name"))
        check(same_fields, f"gpu {a['gpu_id']} fields, id and name")
        check(abs(a["mem"] - b["mem"]) < 0.01, f"gpu {a['gpu_id']} mem {a['mem']} vs {b['mem']}")
        check(abs(a["proc"] - b["proc"]) <= 5, f"gpu {a['gpu_id']} proc {a['proc']} vs {b['proc']}")
        check(abs(a["temperature"] - b["temperature"]) <= 3,
              f"gpu {a['gpu_id']} temperature {a['temperature']} vs {b['temperature']}")
        check((a["fan_speed"] is None) == (b["fan_speed"] is None),
              f"gpu {a['gpu_id']} fan_speed {a['fan_speed']} vs {b['fan_speed']}")
    views = [json.loads(get(base, "/api/3/gpu/views")[1]) for base in (ref, test)]
    check(views[0] == views[1], f"views: glances {views[0]} glint {views[1]}")
    time.sleep(2)

print(f"{len(failures)} differences")
sys.exit(1 if failures else 0)
