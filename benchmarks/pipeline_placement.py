"""Where a pipeline of 10,000 GETs spends its time, by CPU placement.

    python benchmarks/pipeline_placement.py [--rounds 5] [--pipelines 30]

Starts a throwaway redis-server on loopback, then for each placement of the server
and the client (``taskset``: both on CPU 0, server on 1 and client on 0, and so on, and
the scheduler's choice) runs a client process that times ``--pipelines`` pipelines of
10,000 GETs, split into *build* (the 10,000 ``pipe.get()`` calls) and *execute*
(``execute()``; the reply list is freed outside the timing). Placements alternate over
``--rounds`` rounds; the table gives the medians in ns per command. Three more lines:

* the server's floor: a raw socket sends 10,000 pre-encoded GETs in one write and reads
  the reply bytes without parsing them (what ``execute()`` cannot beat);
* redis-benchmark ``-P 1000`` with the server on each CPU (the issue-18 reference);
* each CPU's speed on a pure-Python loop, with the other CPU idle.

On a VM whose vCPUs are not equal, the client's placement decides the pipeline's
throughput, because the build is Python and cannot overlap the server's work (a pipeline
sends nothing before ``execute()``). Every loop here is bounded in count.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
from typing import Dict, List, Sequence, Tuple

from pyredisclient.testing import RedisServer

N = 10_000
KEY = "bench:k16"

CLIENT = r"""
import sys, time
from pyredisclient import RedisClient
port, pipelines = int(sys.argv[1]), int(sys.argv[2])
c = RedisClient(host="127.0.0.1", port=port)
build, execute = [], []
for _ in range(pipelines):
    t0 = time.perf_counter()
    p = c.pipeline(transaction=False)
    g = p.get
    for _ in range(10_000):
        g("bench:k16")
    t1 = time.perf_counter()
    replies = p.execute()
    t2 = time.perf_counter()
    assert len(replies) == 10_000 and replies[-1] == b"v" * 16
    del replies
    build.append(t1 - t0)
    execute.append(t2 - t1)
print(sorted(build)[len(build) // 2] * 1e5, sorted(execute)[len(execute) // 2] * 1e5)
"""

RAW = r"""
import socket, sys, time
port, pipelines = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
request = b"*2\r\n$3\r\nGET\r\n$9\r\nbench:k16\r\n" * 10_000
want = len(b"$16\r\n" + b"v" * 16 + b"\r\n") * 10_000
times = []
for _ in range(pipelines):
    t0 = time.perf_counter()
    s.sendall(request)
    got = 0
    while got < want:
        chunk = s.recv(1 << 20)
        if not chunk:
            raise SystemExit("server closed")
        got += len(chunk)
    times.append(time.perf_counter() - t0)
print(sorted(times)[len(times) // 2] * 1e5)
"""

SPIN = r"""
import time
t = time.perf_counter()
s = 0
for i in range(3_000_000):
    s += i
print((time.perf_counter() - t) * 1000)
"""


def _pin(cpu: int | None) -> List[str]:
    return [] if cpu is None else ["taskset", "-c", str(cpu)]


def _run(cmd: Sequence[str], timeout: float = 300) -> str:
    return subprocess.run(
        list(cmd), check=True, capture_output=True, text=True, timeout=timeout
    ).stdout


def _place_server(pid: int, cpu: int | None) -> None:
    _run(["taskset", "-pc", "0,1" if cpu is None else str(cpu), str(pid)])


def _name(cpu: int | None) -> str:
    return "scheduler" if cpu is None else f"CPU {cpu}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pipelines", type=int, default=30)
    args = ap.parse_args()
    if not shutil.which("taskset") or (os.cpu_count() or 1) < 2:
        print("needs taskset and two CPUs", file=sys.stderr)
        return 1
    rounds = max(1, min(args.rounds, 50))
    pipelines = max(3, min(args.pipelines, 500))
    placements: List[Tuple[int | None, int | None]] = [
        (0, 0),
        (1, 0),
        (0, 1),
        (1, 1),
        (None, None),
    ]
    py = sys.executable
    results: Dict[Tuple[int | None, int | None], List[Tuple[float, float]]] = {
        p: [] for p in placements
    }
    with RedisServer() as server:
        pid = server.pid
        assert pid is not None
        port = server.port
        _preload(port)
        for _ in range(rounds):
            for srv_cpu, cli_cpu in placements:
                _place_server(pid, srv_cpu)
                out = _run([*_pin(cli_cpu), py, "-c", CLIENT, str(port), str(pipelines)])
                build, execute = map(float, out.split())
                results[(srv_cpu, cli_cpu)].append((build, execute))
        print(f"pipelines of {N:,} GETs, ns per command, medians of {rounds} rounds")
        print(
            f"{'server':<10} {'client':<10} {'build':>7} {'execute':>8} {'total':>7} {'cmd/s':>11}"
        )
        for (srv_cpu, cli_cpu), rows in results.items():
            build = statistics.median(r[0] for r in rows)
            execute = statistics.median(r[1] for r in rows)
            total = build + execute
            print(
                f"{_name(srv_cpu):<10} {_name(cli_cpu):<10} {build:7.0f} {execute:8.0f} "
                f"{total:7.0f} {1e9 / total:11,.0f}"
            )
        for cpu in (0, 1):
            _place_server(pid, cpu)
            floor = [
                float(_run([*_pin(1 - cpu), py, "-c", RAW, str(port), str(pipelines)]))
                for _ in range(rounds)
            ]
            line = f"server's floor (raw socket, server on CPU {cpu}): "
            print(f"{line}{statistics.median(floor):.0f} ns per GET")
            if shutil.which("redis-benchmark"):
                out = _run(
                    [
                        "redis-benchmark",
                        "-p",
                        str(port),
                        "-n",
                        "1000000",
                        "-P",
                        "1000",
                        "-c",
                        "1",
                        "--csv",
                        "GET",
                        KEY,
                    ]
                )
                rate = float(out.strip().splitlines()[-1].split(",")[1].strip('"'))
                print(f"redis-benchmark -P 1000, server on CPU {cpu}: {rate:,.0f} cmd/s")
        _place_server(pid, None)
    for cpu in (0, 1):
        spins = sorted(float(_run(["taskset", "-c", str(cpu), py, "-c", SPIN])) for _ in range(3))
        print(f"pure-Python loop on CPU {cpu}: {', '.join(f'{s:.0f}' for s in spins)} ms")
    return 0


def _preload(port: int) -> None:
    from pyredisclient import RedisClient

    with RedisClient(host="127.0.0.1", port=port) as c:
        c.set(KEY, "v" * 16)


if __name__ == "__main__":
    sys.exit(main())
