"""Messages per second received by one pub/sub subscriber, four clients side by side.

One throwaway ``redis-server`` on loopback; each measurement runs the subscriber in a
fresh process of its own and the publisher in another:

- **pyredisclient** ``RedisClient.pubsub()`` and ``AsyncRedisClient.pubsub()``;
- **redis-py** ``redis.Redis.pubsub()`` and ``redis.asyncio.Redis.pubsub()`` (with
  hiredis when installed, as redis-py uses it).

Each subscriber subscribes to one channel with ``ignore_subscribe_messages=True`` and
counts the messages of ``for message in pubsub.listen()`` (``async for`` on asyncio)
until a final ``STOP``. The publisher sends N ``PUBLISH`` commands pipelined over a raw
socket (the same bytes for every contender, so the publisher costs all of them the
same). Two modes:

``drain``
    The publisher sends everything while the subscriber waits; the server holds the
    messages in the subscriber's output buffer (``client-output-buffer-limit pubsub 0 0
    0`` on the benchmark server), then the subscriber reads them all. The time is the
    subscriber's alone: its capacity.
``live``
    The subscriber reads while the publisher publishes, as in production. On a machine
    with few cores the server and the publisher share them with the subscriber, so a
    fast subscriber is bounded by them.

Rounds alternate the order of the contenders. The report gives, per contender and mode,
the median rate with the minimum and maximum over the rounds, the subscriber process's
CPU time per message (``getrusage(RUSAGE_SELF)`` over the same window), and the ratio
to redis-py (sync to sync, asyncio to asyncio).

Run::

    .venv/bin/python benchmarks/pubsub_bench.py                 # 5 rounds x 2 modes
    .venv/bin/python benchmarks/pubsub_bench.py --rounds 3 --messages 100000 --modes drain
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List, Tuple

CHANNEL = "bench:pubsub"
STOP = b"STOP"
CONTENDERS = ("pyredisclient", "redis-py", "pyredisclient-asyncio", "redis.asyncio")
BASELINE = {"pyredisclient": "redis-py", "pyredisclient-asyncio": "redis.asyncio"}


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


# -- the subscriber, in a process of its own ----------------------------------------


def _handshake(stream: Any) -> None:
    """Tell the parent we are subscribed, then wait for its go."""
    print("READY", flush=True)
    line = stream.readline()
    if line.strip() != "GO":
        raise SystemExit(f"expected GO, got {line!r}")


def _result(n: int, t0: float, t1: float, c0: float, c1: float) -> None:
    print(json.dumps({"n": n, "seconds": t1 - t0, "cpu": c1 - c0}), flush=True)


def _sync_worker(name: str, port: int) -> None:
    if name == "pyredisclient":
        from pyredisclient import RedisClient

        client: Any = RedisClient(host="127.0.0.1", port=port)
    else:
        import redis

        client = redis.Redis(host="127.0.0.1", port=port)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(CHANNEL)
    # The subscription is confirmed before the publisher starts.
    while pubsub.get_message(timeout=1.0) is not None:
        pass
    _handshake(sys.stdin)
    # The clock starts at the first message (the publisher's start-up is not the
    # subscriber's time); the rate counts the messages after it.
    n = 0
    t0 = c0 = 0.0
    for message in pubsub.listen():
        if n == 0:
            t0 = time.perf_counter()
            c0 = _cpu()
        if message["data"] == STOP:
            break
        n += 1
    t1 = time.perf_counter()
    c1 = _cpu()
    _result(n, t0, t1, c0, c1)
    pubsub.close()
    client.close()


async def _async_worker(name: str, port: int) -> None:
    if name == "pyredisclient-asyncio":
        from pyredisclient.aio import AsyncRedisClient

        client: Any = AsyncRedisClient(host="127.0.0.1", port=port)
    else:
        import redis.asyncio

        client = redis.asyncio.Redis(host="127.0.0.1", port=port)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(CHANNEL)
    while await pubsub.get_message(timeout=1.0) is not None:
        pass
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, _handshake, sys.stdin)
    n = 0
    t0 = c0 = 0.0
    async for message in pubsub.listen():
        if n == 0:
            t0 = time.perf_counter()
            c0 = _cpu()
        if message["data"] == STOP:
            break
        n += 1
    t1 = time.perf_counter()
    c1 = _cpu()
    _result(n, t0, t1, c0, c1)
    await pubsub.aclose()
    await client.aclose() if hasattr(client, "aclose") else await client.close()


# -- the publisher ------------------------------------------------------------------


def _publish(port: int, n: int, payload: int) -> None:
    """N PUBLISH commands pipelined in batches of 1,000, then STOP; reads every reply."""
    data = b"x" * payload
    one = b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (
        len(CHANNEL),
        CHANNEL.encode(),
        len(data),
        data,
    )
    stop = b"*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%s\r\n$4\r\nSTOP\r\n" % (
        len(CHANNEL),
        CHANNEL.encode(),
    )
    sock = socket.create_connection(("127.0.0.1", port))
    batch = one * 1000
    replies = 0
    sent = 0
    sock.setblocking(True)
    while sent < n:
        k = min(1000, n - sent)
        sock.sendall(batch if k == 1000 else one * k)
        sent += k
        # Read what has come back so far, without waiting: the socket never fills.
        sock.setblocking(False)
        try:
            while True:
                chunk = sock.recv(1 << 16)
                if not chunk:
                    raise SystemExit("the server closed the publisher's connection")
                replies += chunk.count(b"\n")
        except BlockingIOError:
            pass
        sock.setblocking(True)
    sock.sendall(stop)
    while replies < n + 1:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise SystemExit("the server closed the publisher's connection")
        replies += chunk.count(b"\n")
    sock.close()


# -- the parent -----------------------------------------------------------------------


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def measure(name: str, port: int, n: int, payload: int, mode: str) -> Dict[str, float]:
    sub = _spawn("--worker", name, "--port", str(port))
    assert sub.stdin is not None and sub.stdout is not None
    line = sub.stdout.readline()
    if line.strip() != "READY":
        sub.kill()
        raise SystemExit(f"{name}: the subscriber did not start ({line!r})")
    pub_args = ("--publisher", "--port", str(port), "--messages", str(n), "--payload", str(payload))
    if mode == "drain":
        # Everything published first; the subscriber then reads the backlog.
        subprocess.run([sys.executable, os.path.abspath(__file__), *pub_args], check=True)
        sub.stdin.write("GO\n")
        sub.stdin.flush()
    else:
        sub.stdin.write("GO\n")
        sub.stdin.flush()
        subprocess.run([sys.executable, os.path.abspath(__file__), *pub_args], check=True)
    out, _ = sub.communicate(timeout=600)
    result = json.loads(out.strip().splitlines()[-1])
    if result["n"] != n:
        raise SystemExit(f"{name}: counted {result['n']} messages of {n}")
    # The first message started the clock: the window holds the n - 1 after it.
    return {
        "rate": (n - 1) / result["seconds"],
        "cpu_us": result["cpu"] / (n - 1) * 1e6,
    }


def _start_server() -> Any:
    from pyredisclient.testing import RedisServer

    server = RedisServer().start()
    sock = socket.create_connection(("127.0.0.1", server.port))
    # No output-buffer limit for subscribers: the drain mode parks the whole run there.
    cmd = [b"CONFIG", b"SET", b"client-output-buffer-limit", b"pubsub 0 0 0"]
    sock.sendall(b"*%d\r\n" % len(cmd) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in cmd))
    reply = sock.recv(100)
    sock.close()
    if not reply.startswith(b"+OK"):
        raise SystemExit(f"CONFIG SET failed: {reply!r}")
    return server


def _versions() -> str:
    import redis

    try:
        import hiredis

        hi = f"hiredis {hiredis.__version__}"
    except ImportError:  # pragma: no cover - depends on the environment
        hi = "no hiredis"
    return f"redis-py {redis.__version__} ({hi}), Python {sys.version.split()[0]}"


def _span(values: List[float], fmt: str) -> str:
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}-{fmt.format(max(values))})"


def report(results: Dict[Tuple[str, str], List[Dict[str, float]]], modes: List[str]) -> str:
    lines = []
    for mode in modes:
        lines.append(f"\nmode {mode}:")
        lines.append(
            f"  {'client':24} {'messages/s median (min-max)':>34} "
            f"{'CPU us/msg median (min-max)':>30} {'vs redis-py':>12}"
        )
        for name in CONTENDERS:
            runs = results.get((mode, name))
            if not runs:
                continue
            rates = [r["rate"] for r in runs]
            cpus = [r["cpu_us"] for r in runs]
            ratio = ""
            base = results.get((mode, BASELINE.get(name, "")))
            if base:
                ratio = f"{statistics.median(rates) / statistics.median([b['rate'] for b in base]):.1f}x"
            lines.append(
                f"  {name:24} {_span(rates, '{:,.0f}'):>34} {_span(cpus, '{:.2f}'):>30} {ratio:>12}"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--payload", type=int, default=32, help="bytes per message")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--modes", default="drain,live")
    ap.add_argument("--clients", default=",".join(CONTENDERS))
    ap.add_argument("--json", help="also write the raw figures to this file")
    # Internal: the subscriber and publisher processes.
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--publisher", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.publisher:
        _publish(args.port, args.messages, args.payload)
        return
    if args.worker:
        if args.worker.endswith("asyncio"):
            asyncio.run(_async_worker(args.worker, args.port))
        else:
            _sync_worker(args.worker, args.port)
        return

    modes = [m for m in args.modes.split(",") if m]
    clients = [c for c in args.clients.split(",") if c]
    for c in clients:
        if c not in CONTENDERS:
            raise SystemExit(f"unknown client {c!r}: one of {', '.join(CONTENDERS)}")
    server = _start_server()
    results: Dict[Tuple[str, str], List[Dict[str, float]]] = {}
    try:
        print(
            f"pub/sub receive rate: {args.messages:,} messages of {args.payload} B per run, "
            f"{args.rounds} rounds, {_versions()}, {os.cpu_count()} CPUs",
            flush=True,
        )
        for rnd in range(args.rounds):
            order = clients if rnd % 2 == 0 else list(reversed(clients))
            for mode in modes:
                for name in order:
                    r = measure(name, server.port, args.messages, args.payload, mode)
                    results.setdefault((mode, name), []).append(r)
                    print(
                        f"  round {rnd + 1} {mode:5} {name:24} {r['rate']:>12,.0f} msg/s "
                        f"{r['cpu_us']:6.2f} us CPU/msg",
                        flush=True,
                    )
    finally:
        server.stop()
    text = report(results, modes)
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({f"{m}/{n}": v for (m, n), v in results.items()}, f, indent=2)


if __name__ == "__main__":
    main()
