#!/usr/bin/env python3
"""Soak test: a steady request rate against a running glint for a while,
sampling its RSS; passes when RSS after warm-up grows by less than 1 MiB and
every answer is 2xx.

usage: soak.py PORT PID [--seconds 600] [--rate 200] [--warmup 60]
"""
import argparse
import http.client
import json
import time

p = argparse.ArgumentParser()
p.add_argument("port", type=int)
p.add_argument("pid", type=int)
p.add_argument("--seconds", type=float, default=600)
p.add_argument("--rate", type=float, default=200)
p.add_argument("--warmup", type=float, default=60)
a = p.parse_args()

paths = ["/api/3/all", "/api/3/cpu", "/api/3/processlist", "/api/3/all/views", "/api/3/cpu/history"]


def rss_kib():
    with open(f"/proc/{a.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=10)
start = time.monotonic()
sent = bad = 0
baseline = None
samples = []
next_sample = start
while True:
    now = time.monotonic()
    if now - start >= a.seconds:
        break
    target = start + sent / a.rate
    if target > now:
        time.sleep(target - now)
    conn.request("GET", paths[sent % len(paths)])
    r = conn.getresponse()
    r.read()
    sent += 1
    if not 200 <= r.status < 300:
        bad += 1
    if time.monotonic() >= next_sample:
        elapsed = time.monotonic() - start
        rss = rss_kib()
        samples.append((round(elapsed), rss))
        if baseline is None and elapsed >= a.warmup:
            baseline = rss
        next_sample += 10

final = rss_kib()
conn.request("GET", "/api/3/cpu/history")
hist = json.loads(conn.getresponse().read())
conn.request("GET", "/api/3/all/limits")
size = json.loads(conn.getresponse().read())["cpu"]["history_size"]
growth = final - (baseline or final)
print(f"requests {sent}, non-2xx {bad}, rate {sent / (time.monotonic() - start):.0f}/s")
print("rss samples (s, KiB):", samples)
print(f"rss after warm-up {baseline} KiB, final {final} KiB, growth {growth} KiB")
print(f"cpu history points {len(hist['user'])} (history_size {size:.0f})")
ok = bad == 0 and growth < 1024 and len(hist["user"]) <= size
print("PASS" if ok else "FAIL")
raise SystemExit(0 if ok else 1)
