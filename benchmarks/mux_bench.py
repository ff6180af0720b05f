"""AsyncRedisClient with multiplexing against redis.asyncio and valkey-glide (issue 18).

One throwaway redis-server on loopback; per round, every client runs every workload in
alternating order (the order flips each round); reported: the median ops/s with
min-max over the rounds, the ratio to each peer, and the client process's CPU time per
operation (all its threads: glide's Rust core runs on its own).

Clients: ``mux`` (AsyncRedisClient, multiplexing on: the default), ``pool``
(AsyncRedisClient with ``async_multiplex=False``: one pooled connection per call, the
behaviour before issue 18), ``redis-py`` (redis.asyncio with hiredis, a blocking pool)
and ``glide`` (valkey-glide's asyncio client, one multiplexed connection).

Workloads:

* ``tasks64-get``: 64 tasks doing GETs of a 100-byte value, N in all;
* ``tasks1000-setget``: 1,000 tasks each doing SET then GET of its own key, N pairs in
  all; the sockets open at the end are counted (``max_connections`` = 50);
* ``seq-get``: one task, N sequential awaited GETs.

Usage::

    benchmarks/.venv/bin/python benchmarks/mux_bench.py [--n 20000] [--rounds 5]
        [--loop asyncio|uvloop] [--clients mux,pool,redis-py,glide] [--json FILE]

Every run is bounded by N and by a time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import statistics
import sys
import time
from typing import Any, Awaitable, Callable, Dict, List, Tuple

from pyredisclient.aio import AsyncRedisClient
from pyredisclient.testing import RedisServer

VALUE = b"v" * 100
TIME_LIMIT = 120.0
MAX_CONNECTIONS = 50


def sockets_open() -> int:
    """TCP sockets this process holds (fds that are sockets)."""
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


async def tasks_get(client: Any, n: int) -> None:
    tasks = 64
    per = n // tasks

    async def worker() -> None:
        get = client.get
        for _ in range(per):
            await get("bench:key")

    await asyncio.gather(*(worker() for _ in range(tasks)))


async def tasks_setget(client: Any, n: int) -> None:
    tasks = 1000
    per = max(n // tasks, 1)

    async def worker(i: int) -> None:
        key = f"bench:t:{i}"
        for _j in range(per):
            await client.set(key, VALUE)
            got = await client.get(key)
            assert got == VALUE

    await asyncio.gather(*(worker(i) for i in range(tasks)))


async def seq_get(client: Any, n: int) -> None:
    get = client.get
    for _ in range(n):
        await get("bench:key")


Workload = Callable[[Any, int], Awaitable[None]]
WORKLOADS: Dict[str, Workload] = {
    "tasks64-get": tasks_get,
    "tasks1000-setget": tasks_setget,
    "seq-get": seq_get,
}


async def make_client(name: str, host: str, port: int) -> Any:
    if name in ("mux", "pool"):
        return AsyncRedisClient(
            host=host, port=port, max_connections=MAX_CONNECTIONS, async_multiplex=name == "mux"
        )
    if name == "redis-py":
        import redis.asyncio

        # Callers wait for a free connection as ours do; 1,000 tasks on 50
        # connections wait longer than redis-py's default 20 s can cover at its
        # speed here, so the wait is bounded by the run's time limit instead.
        pool = redis.asyncio.BlockingConnectionPool(
            host=host, port=port, max_connections=MAX_CONNECTIONS, timeout=TIME_LIMIT
        )
        return redis.asyncio.Redis(connection_pool=pool)
    from glide import GlideClient, GlideClientConfiguration, NodeAddress

    config = GlideClientConfiguration([NodeAddress(host, port)], request_timeout=5000)
    return await GlideClient.create(config)


async def close_client(name: str, client: Any) -> None:
    if name == "glide":
        await client.aclose()
        return
    await client.aclose()
    if name == "redis-py":
        await client.connection_pool.disconnect()


async def measure(name: str, port: int, workload: str, n: int) -> Tuple[float, float, int]:
    """(ops/s by the wall clock, CPU microseconds per op, sockets open at the end)."""
    func = WORKLOADS[workload]
    base = sockets_open()
    client = await make_client(name, "127.0.0.1", port)
    try:
        await client.set("bench:key", VALUE)
        assert await client.get("bench:key") == VALUE
        await asyncio.wait_for(func(client, max(n // 10, 1000)), TIME_LIMIT)  # warm-up
        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.wait_for(func(client, n), TIME_LIMIT)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        ops = n * 2 if workload == "tasks1000-setget" else n
        return ops / wall, cpu / ops * 1e6, sockets_open() - base
    finally:
        await close_client(name, client)


def run_on(loop_kind: str, coro: Awaitable[Any]) -> Any:
    if loop_kind == "uvloop":
        import uvloop

        loop = uvloop.new_event_loop()
        try:
            return loop.run_until_complete(coro)
        finally:
            loop.close()
    return asyncio.run(coro)  # type: ignore[arg-type]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20000, help="operations per run")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--loop", default="asyncio", choices=["asyncio", "uvloop"])
    parser.add_argument("--clients", default="mux,pool,redis-py,glide")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    clients = args.clients.split(",")
    workloads = args.workloads.split(",")
    ops: Dict[Tuple[str, str], List[float]] = {(w, c): [] for w in workloads for c in clients}
    cpu: Dict[Tuple[str, str], List[float]] = {(w, c): [] for w in workloads for c in clients}
    socks: Dict[Tuple[str, str], List[int]] = {(w, c): [] for w in workloads for c in clients}
    failures: Dict[Tuple[str, str], List[str]] = {}
    load0 = os.getloadavg()[0]
    with RedisServer() as server:
        for r in range(args.rounds):
            order = clients if r % 2 == 0 else clients[::-1]
            for w in workloads:
                for c in order:
                    try:
                        rate, us, s = run_on(args.loop, measure(c, server.port, w, args.n))
                    except Exception as exc:  # a failed run is reported, not hidden
                        failures.setdefault((w, c), []).append(repr(exc))
                        continue
                    ops[w, c].append(rate)
                    cpu[w, c].append(us)
                    socks[w, c].append(s)
    print(
        f"python {platform.python_version()}, loop {args.loop}, N={args.n}, "
        f"rounds={args.rounds}, max_connections={MAX_CONNECTIONS}; load average "
        f"{load0:.2f} at start, {os.getloadavg()[0]:.2f} at end"
    )
    peers = [p for p in ("glide", "redis-py", "pool") if p in clients]
    head = "".join(f"{'vs ' + p:>12}" for p in peers)
    print(
        f"{'workload':<18}{'client':<10}{'median ops/s':>14}{'min-max':>20}{head}"
        f"{'CPU us/op':>11}{'sockets':>9}"
    )
    summary: Dict[str, Any] = {"loop": args.loop, "n": args.n, "rounds": args.rounds}
    for w in workloads:
        for c in clients:
            vals = ops[w, c]
            if (w, c) in failures:
                errs = failures[w, c]
                print(f"{w:<18}{c:<10}{len(errs)} of {args.rounds} runs failed: {errs[0]}")
            if not vals:
                continue
            med, us = statistics.median(vals), statistics.median(cpu[w, c])
            ratios = ""
            for p in peers:
                ref = statistics.median(ops[w, p] or [math.nan])
                ratios += f"{med / ref:>11.2f}x"
            summary.setdefault(w, {})[c] = {
                "ops_median": med,
                "ops": vals,
                "cpu_us_per_op": us,
                "sockets": max(socks[w, c]),
            }
            spread = f"{min(vals):,.0f}-{max(vals):,.0f}"
            print(
                f"{w:<18}{c:<10}{med:>14,.0f}{spread:>20}{ratios}{us:>11.1f}{max(socks[w, c]):>9}"
            )
        for p in peers:
            if "mux" in clients and p != "mux" and len(ops[w, p]) == len(ops[w, "mux"]) > 0:
                per = [a / b for a, b in zip(ops[w, "mux"], ops[w, p])]
                print(
                    f"{'':<18}per-round ratio mux / {p}: median "
                    f"{statistics.median(per):.2f}, min-max {min(per):.2f}-{max(per):.2f}"
                )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(summary, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
