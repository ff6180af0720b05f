"""A FastAPI endpoint making two Redis calls per request, on pyredisclient and on redis.asyncio.

The app (this module, ``app``) serves ``GET /item/{i}``: ``GET bench:item:{i % 1000}``
then ``INCR bench:hits``. It runs under uvicorn (one worker, uvloop, httptools: what
``uvicorn[standard]`` deploys) with ``BENCH_CLIENT`` = ``pyredisclient`` (AsyncRedisClient,
multiplexing on) or ``redis-py`` (redis.asyncio with hiredis, a blocking pool of 50).
The load driver is another process with 64 keep-alive connections, each requesting
in a loop for ``--seconds``: ``--driver httpx`` (64 tasks over ``httpx.AsyncClient``),
``raw`` (HTTP/1.1 written by hand on asyncio streams) or ``wrk`` (the C load
generator, one thread: the one that leaves the app the most CPU on a small machine). Per round, each
app is started, warmed up for 1 s, and measured; the order alternates. Reported: the
median requests/s with min-max, the ratio, and the app server's CPU time per request
(from /proc, the whole process).

Usage::

    benchmarks/.venv/bin/python benchmarks/fastapi_bench.py [--rounds 5] [--seconds 5]
        [--driver httpx|raw|wrk]

Every run is bounded by --seconds and by process time limits.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Dict, List

HERE = Path(__file__).resolve().parent
CONNECTIONS = 64


# -- the app -------------------------------------------------------------------


def make_app() -> Any:
    from fastapi import FastAPI

    kind = os.environ.get("BENCH_CLIENT", "pyredisclient")
    url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if kind == "pyredisclient":
            from pyredisclient.aio import AsyncRedisClient

            app.state.redis = AsyncRedisClient.from_url(url, max_connections=50)
        else:
            import redis.asyncio

            pool = redis.asyncio.BlockingConnectionPool.from_url(url, max_connections=50, timeout=5)
            app.state.redis = redis.asyncio.Redis(connection_pool=pool)
        yield
        await app.state.redis.aclose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/item/{i}")
    async def item(i: int) -> Dict[str, Any]:
        r = app.state.redis
        value = await r.get(f"bench:item:{i % 1000}")
        hits = await r.incr("bench:hits")
        return {"value": value.decode() if value is not None else None, "hits": hits}

    return app


if os.environ.get("BENCH_CLIENT"):
    app = make_app()


# -- the load driver -------------------------------------------------------------


async def drive(base: str, seconds: float) -> Dict[str, Any]:
    import httpx

    # One client of one keep-alive connection per task: a single AsyncClient with a
    # pool of 64 spends most of its time managing the pool (about 4x slower here).
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [
        httpx.AsyncClient(base_url=base, limits=limits, timeout=10) for _ in range(CONNECTIONS)
    ]
    done = errors = 0
    end = time.monotonic() + seconds

    async def worker(w: int) -> None:
        nonlocal done, errors
        i = w
        while time.monotonic() < end:
            resp = await clients[w].get(f"/item/{i}")
            if resp.status_code == 200:
                done += 1
            else:
                errors += 1
            i += CONNECTIONS

    start = time.monotonic()
    try:
        await asyncio.gather(*(worker(w) for w in range(CONNECTIONS)))
    finally:
        for client in clients:
            await client.aclose()
    return {"requests": done, "errors": errors, "wall": time.monotonic() - start}


async def drive_raw(base: str, seconds: float) -> Dict[str, Any]:
    """The same load from plain asyncio streams: HTTP/1.1 keep-alive requests written
    by hand and responses framed by Content-Length. It costs a few microseconds a
    request where httpx costs about a millisecond, so the app, not the driver, is
    what saturates."""
    host, port = base.rsplit("/", 1)[1].rsplit(":", 1)
    done = errors = 0
    end = time.monotonic() + seconds

    async def worker(w: int) -> None:
        nonlocal done, errors
        reader, writer = await asyncio.open_connection(host, int(port))
        i = w
        try:
            while time.monotonic() < end:
                writer.write(f"GET /item/{i} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                if head.startswith(b"HTTP/1.1 200"):
                    done += 1
                else:
                    errors += 1
                i += CONNECTIONS
        finally:
            writer.close()

    start = time.monotonic()
    await asyncio.gather(*(worker(w) for w in range(CONNECTIONS)))
    return {"requests": done, "errors": errors, "wall": time.monotonic() - start}


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# wrk's request generator: a different key per request, as the Python drivers do.
WRK_SCRIPT = """
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/item/" .. i)
end
"""


def run_wrk(base: str, seconds: float) -> Dict[str, Any]:
    """The load from wrk (C, one thread, 64 connections): it costs the machine far
    less per request than either Python driver, so the app, not the driver, is what
    saturates."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk not found: apt-get install wrk (scripts/setup.sh installs it)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        cmd = [wrk, "-t1", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "-s", script.name, base]
        out = subprocess.run(
            cmd, capture_output=True, text=True, timeout=seconds + 60, check=True
        ).stdout
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", out)
    if m is None:
        raise RuntimeError(f"cannot read wrk's output: {out!r}")
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[m.group(3)]
    errors = 0
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        errors += int(bad.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sock:
        errors += sum(int(g) for g in sock.groups())
    requests = int(m.group(1))
    return {"requests": requests - errors, "errors": errors, "wall": float(m.group(2)) * scale}


def run_driver(base: str, seconds: float, driver: str) -> Dict[str, Any]:
    if driver == "wrk":
        return run_wrk(base, seconds)
    out = subprocess.run(
        [sys.executable, __file__, "--drive", base, "--seconds", str(seconds), "--driver", driver],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    return json.loads(out.stdout)


def wait_up(port: int, proc: subprocess.Popen[bytes], limit: float = 20.0) -> None:
    import socket

    end = time.monotonic() + limit
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("the app server exited")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the app server did not start")


def measure(kind: str, redis_url: str, seconds: float, driver: str) -> Dict[str, float]:
    from pyredisclient.testing import find_free_port

    port = find_free_port()
    env = dict(os.environ, BENCH_CLIENT=kind, BENCH_REDIS_URL=redis_url)
    cmd = [sys.executable, "-m", "uvicorn", "fastapi_bench:app", "--port", str(port)]
    cmd += ["--loop", "uvloop", "--http", "httptools", "--log-level", "warning"]
    cmd += ["--no-access-log"]
    proc = subprocess.Popen(cmd, cwd=HERE, env=env)
    try:
        wait_up(port, proc)
        base = f"http://127.0.0.1:{port}"
        run_driver(base, 1.0, driver)  # warm-up
        cpu = proc_cpu(proc.pid)
        res = run_driver(base, seconds, driver)
        cpu = proc_cpu(proc.pid) - cpu
        if res["errors"]:
            raise RuntimeError(f"{res['errors']} requests failed")
        return {"rps": res["requests"] / res["wall"], "cpu_us": cpu / res["requests"] * 1e6}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--driver",
        default="httpx",
        choices=["httpx", "raw", "wrk"],
        help="the load driver: httpx.AsyncClient, hand-written HTTP/1.1 on asyncio "
        "streams, or wrk (C; apt-get install wrk)",
    )
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    if args.drive:
        import uvloop

        func = drive if args.driver == "httpx" else drive_raw
        print(json.dumps(uvloop.run(func(args.drive, args.seconds))))
        return 0
    from pyredisclient.testing import RedisServer

    kinds = ["pyredisclient", "redis-py"]
    rps: Dict[str, List[float]] = {k: [] for k in kinds}
    cpu: Dict[str, List[float]] = {k: [] for k in kinds}
    load0 = os.getloadavg()
    with RedisServer() as server:
        for r in range(args.rounds):
            for kind in kinds if r % 2 == 0 else kinds[::-1]:
                res = measure(kind, server.url, args.seconds, args.driver)
                rps[kind].append(res["rps"])
                cpu[kind].append(res["cpu_us"])
    ref = statistics.median(rps["redis-py"])
    print(
        f"FastAPI, 2 Redis calls/request, {CONNECTIONS} connections, driver {args.driver}, "
        f"rounds={args.rounds}, {args.seconds:g} s each; load average "
        f"{load0[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end"
    )
    per_round = [a / b for a, b in zip(rps["pyredisclient"], rps["redis-py"])]
    print(f"{'client':<15}{'median req/s':>14}{'min-max':>18}{'ratio':>8}{'server CPU us/req':>19}")
    for kind in kinds:
        med = statistics.median(rps[kind])
        spread = f"{min(rps[kind]):,.0f}-{max(rps[kind]):,.0f}"
        us = statistics.median(cpu[kind])
        print(f"{kind:<15}{med:>14,.0f}{spread:>18}{med / ref:>7.2f}x{us:>19.0f}")
    print(
        f"per-round ratio pyredisclient / redis-py: median {statistics.median(per_round):.2f}, "
        f"min-max {min(per_round):.2f}-{max(per_round):.2f}"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"rps": rps, "cpu_us": cpu}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
