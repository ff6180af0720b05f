"""What a fallback costs when Redis is down or hung: pyredisclient vs redis-py.

Two figures, each for ``@with_redis_fallback`` over pyredisclient and for redis-py
(``redis.Redis(socket_timeout=1.0, socket_connect_timeout=1.0)``, its defaults
otherwise) wrapped in ``try/except redis.RedisError`` returning the fallback:

* ``down``: the cost of one decorated call while Redis refuses connections. For
  pyredisclient the breaker is open (after ``failure_threshold`` failures), so the
  call never reaches the network; redis-py has no breaker and tries (with its
  default retries) on every call. A "redis-py, no retries" line
  (``retry=Retry(NoBackoff(), 0)``) shows the floor of its approach.
* ``first``: the cost of each of the first calls of a fresh client while Redis
  refuses connections, before pyredisclient's breaker opens (its first
  ``failure_threshold`` = 5 calls, a new client each time): p50 and p99 over
  ``--first-clients`` clients per round. These calls reach the network.
* ``hung``: the time until the first fallback when the server accepts connections
  but never answers (a redis-server stopped with SIGSTOP), with socket_timeout=1.0
  and a fresh client per round.

Contenders alternate within each round (the starting one rotates per round); each
figure is the median with min-max over the rounds, plus client CPU seconds per call
(getrusage). Usage::

    python benchmarks/failure_bench.py [--rounds 5] [--calls 20000] [--first-clients 20]
                                       [--json FILE] [--skip-hung-redis-py]

The hung rounds take about 1 s for pyredisclient and, with redis-py's default of
10 retries on timeouts, about 11 s for redis-py.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import resource
import socket
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Tuple

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

import pyredisclient
from pyredisclient import with_redis_fallback
from pyredisclient.testing import RedisServer

TIMEOUT = 1.0


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def refused_port() -> Tuple[socket.socket, int]:
    """A loopback port that refuses connects: bound, never listening (kept by us)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


# -- contenders -------------------------------------------------------------------


def prc_function(port: int) -> Tuple[Callable[[], Any], Callable[[], None]]:
    client = pyredisclient.RedisClient(
        host="127.0.0.1", port=port, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
    )

    @with_redis_fallback(None)
    def cached(key: str = "k") -> Any:
        return client.get(key)

    cached.client = client  # type: ignore[attr-defined]
    return cached, client.close


def redispy_function(
    port: int, retries: bool = True
) -> Tuple[Callable[[], Any], Callable[[], None]]:
    options: Dict[str, Any] = {}
    if not retries:
        options["retry"] = Retry(NoBackoff(), 0)
    client = redis.Redis(
        host="127.0.0.1",
        port=port,
        socket_timeout=TIMEOUT,
        socket_connect_timeout=TIMEOUT,
        **options,
    )

    def cached(key: str = "k") -> Any:
        try:
            return client.get(key)
        except redis.RedisError:
            return None

    return cached, client.close


CONTENDERS: Dict[str, Callable[[int], Tuple[Callable[[], Any], Callable[[], None]]]] = {
    "pyredisclient": prc_function,
    "redis-py": redispy_function,
    "redis-py, no retries": lambda port: redispy_function(port, retries=False),
}


# -- measurements -------------------------------------------------------------------


# Calls per round while Redis is down: redis-py retries 10 times with backoff on
# every call (about 2 s per call), so it gets far fewer.
DOWN_CALLS = {"pyredisclient": 1.0, "redis-py": 3, "redis-py, no retries": 0.01}


def measure_down(name: str, port: int, calls: int) -> Tuple[float, float]:
    """(µs per call, CPU µs per call) for decorated calls while Redis refuses them."""
    share = DOWN_CALLS[name]
    n = int(share) if share >= 2 else max(20, int(calls * share))
    func, close = CONTENDERS[name](port)
    try:
        if name == "pyredisclient":
            for _ in range(10):  # failure_threshold (5) refused calls open the breaker
                func()
            state = func.client.circuit_breaker_state()["state"]  # type: ignore[attr-defined]
            assert state == "open", state
        c0, t0 = cpu_seconds(), time.perf_counter()
        for _ in range(n):
            func()
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    finally:
        close()
    return elapsed / n * 1e6, cpu / n * 1e6


#: Calls a fresh pyredisclient makes before its breaker opens (failure_threshold).
FIRST_CALLS = 5
FIRST_NAMES = ["pyredisclient", "redis-py, no retries"]


def measure_first(name: str, port: int, clients: int) -> List[float]:
    """Seconds of each of the first FIRST_CALLS calls of *clients* fresh clients."""
    out: List[float] = []
    for _ in range(clients):
        func, close = CONTENDERS[name](port)
        try:
            for _ in range(FIRST_CALLS):
                t0 = time.perf_counter()
                func()
                out.append(time.perf_counter() - t0)
        finally:
            close()
    return out


def percentile(values: List[float], q: float) -> float:
    """The q-quantile (0-1) of *values*, nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q * len(ordered)) - 1))]


def measure_hung(name: str, port: int) -> Tuple[float, float]:
    """(seconds to the first fallback, CPU seconds) with a fresh client, server hung."""
    func, close = CONTENDERS[name](port)
    try:
        c0, t0 = cpu_seconds(), time.perf_counter()
        result = func()
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    finally:
        close()
    assert result is None
    return elapsed, cpu


def summary(values: List[float]) -> Dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


_SCALES = {
    "us": ((1e6, "s"), (1e3, "ms"), (1.0, "µs")),
    "s": ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")),
}


def fmt(s: Dict[str, float], unit: str) -> str:
    """median (min-max) of values in *unit* ("us" or "s"), in a readable unit."""
    scales = _SCALES[unit]
    factor, name = next(((f, n) for f, n in scales if s["median"] >= f), scales[-1])
    m, lo, hi = (s[k] / factor for k in ("median", "min", "max"))
    return f"{m:.3g} {name} ({lo:.3g}-{hi:.3g})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20_000, help="pyredisclient calls per round")
    parser.add_argument(
        "--first-clients", type=int, default=20, help="fresh clients per round for 'first'"
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--skip-hung-redis-py",
        action="store_true",
        help="leave redis-py out of the hung test (about 11 s per round)",
    )
    args = parser.parse_args()
    logging.getLogger("pyredisclient").setLevel(logging.ERROR)  # first-fallback warnings

    names = list(CONTENDERS)
    down: Dict[str, Dict[str, List[float]]] = {n: {"us": [], "cpu_us": []} for n in names}
    hung_names = ["pyredisclient", "redis-py"]
    if args.skip_hung_redis_py:
        hung_names.remove("redis-py")
    hung: Dict[str, Dict[str, List[float]]] = {n: {"s": [], "cpu_s": []} for n in hung_names}
    first: Dict[str, List[float]] = {n: [] for n in FIRST_NAMES}

    holder, port = refused_port()
    server = RedisServer().start()
    try:
        server.pause()
        for rnd in range(args.rounds):
            order = names[rnd % len(names) :] + names[: rnd % len(names)]
            for name in order:
                us, cpu_us = measure_down(name, port, args.calls)
                down[name]["us"].append(us)
                down[name]["cpu_us"].append(cpu_us)
            for name in FIRST_NAMES[rnd % 2 :] + FIRST_NAMES[: rnd % 2]:
                first[name] += measure_first(name, port, args.first_clients)
            order = hung_names[rnd % len(hung_names) :] + hung_names[: rnd % len(hung_names)]
            for name in order:
                secs, cpu_s = measure_hung(name, server.port)
                hung[name]["s"].append(secs)
                hung[name]["cpu_s"].append(cpu_s)
            print(f"round {rnd + 1}/{args.rounds} done", file=sys.stderr)
    finally:
        server.close()
        holder.close()

    print(
        f"Python {platform.python_version()}, redis-py {redis.__version__}, "
        f"pyredisclient {pyredisclient.__version__}, {args.rounds} rounds, "
        f"socket_timeout={TIMEOUT}, socket_connect_timeout={TIMEOUT}"
    )
    print("\nDecorated call while Redis refuses connections (median, min-max over rounds):")
    for name in names:
        d = down[name]
        print(
            f"  {name:22s} {fmt(summary(d['us']), 'us'):28s} per call;  "
            f"CPU {fmt(summary(d['cpu_us']), 'us')} per call"
        )
    print(
        f"\nFirst {FIRST_CALLS} calls of a fresh client while Redis refuses connections "
        "(before the breaker opens), per call:"
    )
    for name in FIRST_NAMES:
        values = first[name]
        print(
            f"  {name:22s} p50 {percentile(values, 0.5) * 1e3:8.3f} ms   "
            f"p99 {percentile(values, 0.99) * 1e3:8.3f} ms   "
            f"max {max(values) * 1e3:8.3f} ms   ({len(values)} calls)"
        )
    print("\nTime to the first fallback, server hung (fresh client per round):")
    for name in hung_names:
        h = hung[name]
        print(
            f"  {name:22s} {fmt(summary(h['s']), 's'):28s} to fallback;  "
            f"CPU {fmt(summary(h['cpu_s']), 's')}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "down": {n: {k: summary(v) for k, v in d.items()} for n, d in down.items()},
                    "hung": {n: {k: summary(v) for k, v in h.items()} for n, h in hung.items()},
                    "first": {
                        n: {"p50": percentile(v, 0.5), "p99": percentile(v, 0.99), "n": len(v)}
                        for n, v in first.items()
                    },
                    "rounds": args.rounds,
                },
                f,
                indent=2,
            )


if __name__ == "__main__":
    main()
