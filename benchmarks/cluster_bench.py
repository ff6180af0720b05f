"""Benchmark RedisClusterClient against redis-py's RedisCluster, side by side.

One run starts one throwaway 3-primary cluster on loopback
(pyredisclient.integrations.testing_topologies.RedisClusterServers) and measures,
for both clients on the same work, in alternating rounds (the order rotated per
round):

* ``threads8``: 8 threads, each a loop of SET then GET of a random key (all slots);
* ``pipe1000``: 8 threads, each sending pipelines of 1,000 SETs over all slots
  (no transaction);
* ``mget100``: 8 threads, each an MGET of 100 keys spread over all slots
  (redis-py: ``mget_nonatomic``, as its ``mget`` refuses keys of several slots);
* ``aio64``: 64 asyncio tasks on one loop, each a loop of SET then GET of a random
  key (AsyncRedisClusterClient against ``redis.asyncio.cluster.RedisCluster``);
* ``aiopipe1000``: 8 asyncio tasks, each sending pipelines of 1,000 SETs over all
  slots.

Every figure is the median with its min-max over the rounds, in operations per
second (a pipeline counts 1,000, an MGET 100), with the client process's CPU time
per operation (getrusage, user + system; the servers are other processes).

Usage::

    .venv/bin/python benchmarks/cluster_bench.py [--rounds 5] [--duration 2]

Every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import sys
import threading
import time
from typing import Any, Callable, Dict, List

import redis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster

from pyredisclient import AsyncRedisClusterClient, RedisClusterClient
from pyredisclient.integrations.testing_topologies import RedisClusterServers

THREADS = 8
TASKS = 64
KEYS = [f"key:{i}" for i in range(10_000)]


WORKLOADS = ("threads8", "pipe1000", "mget100", "aio64", "aiopipe1000")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_threads(work: Callable[[random.Random], int], duration: float) -> tuple[float, float]:
    """Run ``work`` in THREADS threads until ``duration`` passes; (ops/s, CPU s per op)."""
    stop = time.monotonic() + duration
    counts = [0] * THREADS
    errors: List[BaseException] = []

    def loop(n: int) -> None:
        rng = random.Random(n)
        try:
            for _ in range(10_000_000):  # bounded; the clock stops it first
                if time.monotonic() >= stop:
                    break
                counts[n] += work(rng)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=loop, args=(n,)) for n in range(THREADS)]
    cpu0, t0 = _cpu(), time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 60)
    elapsed, cpu = time.monotonic() - t0, _cpu() - cpu0
    if errors:
        raise errors[0]
    ops = sum(counts)
    return ops / elapsed, cpu / max(ops, 1)


def run_tasks(
    make_client: Callable[[], Any], workload: str, duration: float
) -> tuple[float, float]:
    """Run an asyncio workload on a fresh loop and client until ``duration``
    passes; (ops/s, CPU s per op). The client is built, warmed up and closed on
    that loop, outside the measured time."""

    async def main() -> tuple[float, float]:
        client = make_client()
        try:
            await client.get(KEYS[0])  # the slot map and a first connection
            stop_at = 0.0
            tasks_n = TASKS if workload == "aio64" else THREADS

            async def task(n: int) -> int:
                rng = random.Random(n)
                done = 0
                for _ in range(10_000_000):  # bounded; the clock stops it first
                    if time.monotonic() >= stop_at:
                        break
                    if workload == "aio64":
                        key = rng.choice(KEYS)
                        await client.set(key, "v")
                        await client.get(key)
                        done += 2
                    else:
                        pipe = client.pipeline()
                        for key in rng.sample(KEYS, 1000):
                            pipe.set(key, "v")
                        await pipe.execute()
                        done += 1000
                return done

            cpu0, t0 = _cpu(), time.monotonic()
            stop_at = t0 + duration
            counts = await asyncio.wait_for(
                asyncio.gather(*(task(n) for n in range(tasks_n))), duration + 60
            )
            elapsed, cpu = time.monotonic() - t0, _cpu() - cpu0
            ops = sum(counts)
            return ops / elapsed, cpu / max(ops, 1)
        finally:
            await client.aclose()

    return asyncio.run(main())


def workloads(client: Any, is_redis_py: bool) -> Dict[str, Callable[[random.Random], int]]:
    def threads8(rng: random.Random) -> int:
        key = rng.choice(KEYS)
        client.set(key, "v")
        client.get(key)
        return 2

    def pipe1000(rng: random.Random) -> int:
        pipe = client.pipeline(transaction=False) if not is_redis_py else client.pipeline()
        for key in rng.sample(KEYS, 1000):
            pipe.set(key, "v")
        pipe.execute()
        return 1000

    def mget100(rng: random.Random) -> int:
        keys = rng.sample(KEYS, 100)
        if is_redis_py:
            client.mget_nonatomic(keys)
        else:
            client.mget(keys)
        return 100

    return {"threads8": threads8, "pipe1000": pipe1000, "mget100": mget100}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=2.0)
    parser.add_argument(
        "--workloads", default=",".join(WORKLOADS), help="comma-separated: " + ",".join(WORKLOADS)
    )
    opts = parser.parse_args()
    opts.workloads = opts.workloads.split(",")
    results: Dict[tuple[str, str], List[tuple[float, float]]] = {}
    with RedisClusterServers(3, 0) as cluster:
        host, port = cluster.addresses[0]
        ours = RedisClusterClient(host, port, max_connections=64)
        theirs = RedisCluster(host=host, port=port, max_connections=64)
        ours.mset({k: "v" for k in KEYS})
        contenders = {
            "pyredisclient": workloads(ours, False),
            f"redis-py {redis.__version__}": workloads(theirs, True),
        }
        async_makers: Dict[str, Callable[[], Any]] = {
            "pyredisclient": lambda: AsyncRedisClusterClient(host, port, max_connections=64),
            f"redis-py {redis.__version__}": lambda: AsyncRedisCluster(
                host=host, port=port, max_connections=64
            ),
        }
        names = list(contenders)
        for rnd in range(opts.rounds):
            for workload in WORKLOADS:
                if workload not in opts.workloads:
                    continue
                order = names[rnd % 2 :] + names[: rnd % 2]
                for name in order:
                    if workload.startswith("aio"):
                        rate, cpu = run_tasks(async_makers[name], workload, opts.duration)
                    else:
                        rate, cpu = run_threads(contenders[name][workload], opts.duration)
                    results.setdefault((workload, name), []).append((rate, cpu))
            print(f"round {rnd + 1}/{opts.rounds} done", file=sys.stderr)
        ours.close()
        theirs.close()
    print(
        f"3-primary cluster on loopback, {THREADS} threads or {TASKS} tasks, {opts.rounds} rounds "
        f"of {opts.duration:g} s, median (min-max)"
    )
    print(f"{'workload':<12} {'client':<16} {'ops/s':>28} {'CPU us/op':>10} {'ratio':>6}")
    for workload in WORKLOADS:
        if workload not in opts.workloads:
            continue
        base = statistics.median(r for r, _ in results[(workload, names[1])])
        for name in names:
            rates = [r for r, _ in results[(workload, name)]]
            cpus = [c for _, c in results[(workload, name)]]
            med = statistics.median(rates)
            span = f"{med:,.0f} ({min(rates):,.0f}-{max(rates):,.0f})"
            print(
                f"{workload:<12} {name:<16} {span:>28} {statistics.median(cpus) * 1e6:>10.2f}"
                f" {med / base:>6.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
