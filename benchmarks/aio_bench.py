"""Benchmark AsyncRedisClient against redis-py's asyncio client (redis.asyncio.Redis).

One throwaway redis-server on loopback; each workload runs for both clients in
alternating order per round, and the median ops/s (with min-max) and the
client's CPU time per operation (less sensitive to a busy machine) are reported:

* ``seq-get``: one task, N sequential GETs of a 100-byte value;
* ``tasks100-get``: 100 tasks sharing one client, N GETs in all;
* ``tasks100-get-pool10``: the same with ``max_connections=10`` (pool waits);
* ``pipe100``: pipelines of 100 GETs (no transaction), N GETs in all.

Usage::

    python benchmarks/aio_bench.py [--n 20000] [--rounds 5] [--json FILE]

redis-py (with hiredis) is the reference: benchmarks/requirements.txt. Every
loop is bounded by N and by a per-workload time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import statistics
import sys
import time
from typing import Any, Awaitable, Callable, Dict, List, Tuple

from pyredisclient.aio import AsyncRedisClient
from pyredisclient.testing import RedisServer

VALUE = b"v" * 100
TIME_LIMIT = 60.0  # seconds per workload run: a hung client fails the run


async def seq_get(client: Any, n: int) -> None:
    get = client.get
    for _ in range(n):
        await get("bench:key")


async def tasks_get(client: Any, n: int, tasks: int = 100) -> None:
    per = n // tasks

    async def worker() -> None:
        get = client.get
        for _ in range(per):
            await get("bench:key")

    await asyncio.gather(*(worker() for _ in range(tasks)))


async def pipe100(client: Any, n: int) -> None:
    for _ in range(n // 100):
        pipe = client.pipeline(transaction=False)
        for _ in range(100):
            pipe.get("bench:key")
        replies = await pipe.execute()
        assert len(replies) == 100


Workload = Callable[[Any, int], Awaitable[None]]
WORKLOADS: Dict[str, Tuple[Workload, int]] = {
    "seq-get": (seq_get, 100),
    "tasks100-get": (tasks_get, 100),
    "tasks100-get-pool10": (tasks_get, 10),
    "pipe100": (pipe100, 100),
}


def make_client(name: str, url: str, max_connections: int) -> Any:
    if name == "pyredisclient":
        return AsyncRedisClient.from_url(url, max_connections=max_connections)
    import redis.asyncio

    # A blocking pool: like ours, callers wait for a free connection (the
    # default pool raises MaxConnectionsError once max_connections are busy).
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=5
    )
    return redis.asyncio.Redis(connection_pool=pool)


async def close_client(name: str, client: Any) -> None:
    await client.aclose()
    if name != "pyredisclient":
        await client.connection_pool.disconnect()


async def measure(name: str, url: str, workload: str, n: int) -> Tuple[float, float]:
    """(ops/s by the wall clock, client CPU microseconds per op)."""
    func, max_connections = WORKLOADS[workload]
    client = make_client(name, url, max_connections)
    try:
        await client.set("bench:key", VALUE)
        assert await client.get("bench:key") == VALUE
        await asyncio.wait_for(func(client, max(n // 10, 100)), TIME_LIMIT)  # warm-up
        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.wait_for(func(client, n), TIME_LIMIT)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        return n / wall, cpu / n * 1e6
    finally:
        await close_client(name, client)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20000, help="GETs per workload run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    args = parser.parse_args()
    try:
        import redis
    except ImportError:
        print("redis-py is not installed: pip install -r benchmarks/requirements.txt")
        return 2
    clients = ["pyredisclient", "redis-py"]
    workloads = args.workloads.split(",")
    ops: Dict[Tuple[str, str], List[float]] = {(w, c): [] for w in workloads for c in clients}
    cpu: Dict[Tuple[str, str], List[float]] = {(w, c): [] for w in workloads for c in clients}
    failures: Dict[Tuple[str, str], List[str]] = {}
    with RedisServer() as server:
        for r in range(args.rounds):
            order = clients if r % 2 == 0 else clients[::-1]
            for w in workloads:
                for c in order:
                    try:
                        rate, us = asyncio.run(measure(c, server.url, w, args.n))
                    except Exception as exc:  # a failed run is reported, not hidden
                        failures.setdefault((w, c), []).append(repr(exc))
                        continue
                    ops[w, c].append(rate)
                    cpu[w, c].append(us)
    print(
        f"python {platform.python_version()}, redis-py {redis.__version__}, "
        f"N={args.n}, rounds={args.rounds}"
    )
    print(
        f"{'workload':<22}{'client':<15}{'median ops/s':>14}{'min-max':>20}"
        f"{'ratio':>8}{'CPU us/op':>11}"
    )
    summary: Dict[str, Any] = {}
    for w in workloads:
        ref = statistics.median(ops[w, "redis-py"] or [math.nan])
        for c in clients:
            vals = ops[w, c]
            if (w, c) in failures:
                errs = failures[w, c]
                print(f"{w:<22}{c:<15}{len(errs)} of {args.rounds} runs failed: {errs[0]}")
            if not vals:
                continue
            med, us = statistics.median(vals), statistics.median(cpu[w, c])
            summary.setdefault(w, {})[c] = {"ops_median": med, "ops": vals, "cpu_us_per_op": us}
            spread = f"{min(vals):,.0f}-{max(vals):,.0f}"
            print(f"{w:<22}{c:<15}{med:>14,.0f}{spread:>20}{med / ref:>7.2f}x{us:>11.1f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(summary, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
