#!/usr/bin/env python3
"""CPU a server spends on one request that finds it asleep.

    bench/cold_request.py PID PORT [--keep-alive] [--rounds N] PATH...

Every 2 s, 1 s after an even second (half-way between two of glint's
ticks), sends each PATH in turn and reads the answer; the server's CPU for
it is the sum of its threads' schedstat run time (ns) read before the
request and 50 ms after. Prints the median and quartiles per path, in µs.
A new connection per request (as curl does) unless --keep-alive.

compare.sh's dashboard figure is CPU per second over a minute, where a
request's share is lost in the ticks' noise; this times the requests alone.
"""
import argparse
import glob
import socket
import statistics
import time


def cpu_ns(pid):
    total = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # a thread that ended between glob and open
    return total


def read_answer(sock):
    data = b""
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            return data
        data += chunk
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length" and len(body) >= int(value):
                    return data


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pid", type=int)
    parser.add_argument("port", type=int)
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--keep-alive", action="store_true")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds must be at least 2 (quartiles need two values)")
    kept = None
    costs = {path: [] for path in args.paths}
    for _ in range(args.rounds):
        time.sleep(2 - time.time() % 2 + 1.0)
        for path in args.paths:
            before = cpu_ns(args.pid)
            sock = kept or socket.create_connection(("127.0.0.1", args.port))
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n".encode())
            read_answer(sock)
            if args.keep_alive:
                kept = sock
            else:
                sock.close()
            time.sleep(0.05)
            costs[path].append((cpu_ns(args.pid) - before) / 1000)
    mode = "keep-alive" if args.keep_alive else "new connection"
    for path, values in costs.items():
        q1, median, q3 = statistics.quantiles(values, n=4)
        print(f"{path} ({mode}): median {median:.0f} µs, quartiles {q1:.0f}–{q3:.0f}, n={len(values)}")


if __name__ == "__main__":
    main()
