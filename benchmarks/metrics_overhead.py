"""Cost of the always-on metrics: sequential GETs with metrics on and off.

The clients alternate in rounds against one throwaway redis-server; medians with
min-max of ops/s and client CPU per op are printed, and (with --callgrind)
instructions per GET from valgrind, which do not drift with machine noise.

    python benchmarks/metrics_overhead.py [--rounds 7] [--count 20000] [--callgrind]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

import pyredisclient
from pyredisclient.testing import RedisServer


def timed(client: pyredisclient.RedisClient, count: int) -> tuple[float, float]:
    """(ops/s, client CPU microseconds per op) for ``count`` GETs."""
    get = client.get
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    for _ in range(count):
        get("bench:k")
    elapsed = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return count / elapsed, cpu / count * 1e6


def instructions(url: str, metrics: bool, count: int) -> float:
    """Instructions per GET under callgrind: (run of 2N - run of N) / N."""
    code = (
        "import sys, pyredisclient\n"
        f"c = pyredisclient.RedisClient.from_url({url!r}, metrics={metrics})\n"
        "n = int(sys.argv[1])\n"
        "for _ in range(n): c.get('bench:k')\n"
    )
    totals = []
    for n in (count, 2 * count):
        out = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--callgrind-out-file=/dev/null",
                sys.executable,
                "-c",
                code,
                str(n),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        ).stderr
        line = next(x for x in out.splitlines() if "Collected" in x)
        totals.append(int(line.split(":")[-1].strip()))
    return (totals[1] - totals[0]) / count


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):>10,.1f}  ({min(values):,.1f}-{max(values):,.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--callgrind", action="store_true")
    args = parser.parse_args()
    with RedisServer() as server:
        on = pyredisclient.RedisClient.from_url(server.url, metrics=True)
        off = pyredisclient.RedisClient.from_url(server.url, metrics=False)
        on.set("bench:k", b"x" * 16)
        for client in (on, off):  # warm up: connect, caches
            timed(client, 1000)
        results: dict[str, list[tuple[float, float]]] = {"metrics on": [], "metrics off": []}
        for rnd in range(max(1, args.rounds)):
            order = [("metrics on", on), ("metrics off", off)]
            if rnd % 2:
                order.reverse()
            for name, client in order:
                results[name].append(timed(client, max(100, args.count)))
        print(f"sequential GET, {args.rounds} rounds x {args.count} (pid {os.getpid()})")
        print(f"{'':<12} {'ops/s median (min-max)':>30} {'CPU us/op median (min-max)':>30}")
        for name, rows in results.items():
            print(
                f"{name:<12} {summary([r[0] for r in rows]):>30} {summary([r[1] for r in rows]):>30}"
            )
        ratio = statistics.median(r[0] for r in results["metrics on"]) / statistics.median(
            r[0] for r in results["metrics off"]
        )
        print(f"ops/s on/off: {ratio:.3f}")
        if args.callgrind:
            i_on = instructions(server.url, True, 2000)
            i_off = instructions(server.url, False, 2000)
            print(
                f"instructions/GET: on {i_on:,.0f}  off {i_off:,.0f}  "
                f"overhead {(i_on - i_off) / i_off * 100:.2f}%"
            )
        on.close()
        off.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
