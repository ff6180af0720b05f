"""Soak: checked calls from 8 threads while a fault injector breaks the server.

Each client (pyredisclient, then redis-py, both with their default settings but for the
timeouts) runs the same load against a fresh redis-server while the same seeded
schedule of faults hits it, one fault every 1-3 s:

* ``pause``: SIGSTOP for 0.3-1.5 s, then SIGCONT (a hung server: calls time out);
* ``kill``: SIGKILL, down for 0-0.5 s, then a restart on the same port (the data
  survives: append-only file, written before each reply);
* ``client-kill``: ``CLIENT KILL TYPE normal`` (every client connection is dropped).

Faults stop ``--tail`` seconds (default 5) before the end, so that the recovery after
the last one is measured. The load: each thread owns two keys and keeps a model of
them (the counter's possible range and the string's possible values; a call that
failed may or may not have been applied) and checks every reply against it: INCR,
GET of the counter, SET and GET of a string token naming the thread, and a pipeline of
both. A reply the model does not allow is a wrong result (another call's reply, or a
write applied twice by a retry). After a failed call a thread pauses ``--error-pause``
seconds (10 ms), as a caller serving a fallback would.

Printed side by side: calls served and failed, wrong results (must be 0), dark time
(the longest stretch with no successful call, from any thread, while the server was up:
neither paused nor dead), and the recovery time after the last fault (from the end of
the last fault until every thread has had a successful call; must be <= 2 s). Usage::

    python benchmarks/soak.py [--duration 60] [--threads 8] [--seed 1]
                              [--clients pyredisclient,redis-py] [--socket-timeout 1]
                              [--json FILE]

Exit status 1 when pyredisclient returns a wrong result, recovers in more than 2 s, or
(with both clients) serves fewer calls than redis-py. tests/faults/test_soak.py runs a
bounded 12-second pyredisclient-only soak in the test suite.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Set, Tuple, Type

import pyredisclient
from pyredisclient.testing import RedisServer

#: The bar pyredisclient must clear.
MAX_RECOVERY = 2.0

# Persistence written before replies (appendfsync no still write()s the AOF buffer
# before the replies go out), so that a SIGKILL loses no acknowledged write; frequent
# small rewrites keep the file, and the restart's load, short.
SERVER_ARGS = [
    "--appendonly", "yes",
    "--appendfsync", "no",
    "--auto-aof-rewrite-min-size", "4mb",
]  # fmt: skip

FAULTS = ("pause", "kill", "client-kill")


# -- the fault schedule --------------------------------------------------------------


@dataclass
class Fault:
    at: float  # seconds after the load starts
    kind: str
    length: float  # pause: stopped for; kill: down for before the restart


def schedule(seed: int, duration: float, tail: float, warmup: float = 2.0) -> List[Fault]:
    """The faults of one run: every 1-3 s from `warmup` until `tail` before the end."""
    rng = random.Random(seed)
    out: List[Fault] = []
    t = warmup
    while True:
        kind = rng.choice(FAULTS)
        length = {"pause": rng.uniform(0.3, 1.5), "kill": rng.uniform(0.0, 0.5)}.get(kind, 0.0)
        if t + length > duration - tail:
            return out
        out.append(Fault(t, kind, length))
        t += length + rng.uniform(1.0, 3.0)


def client_kill(port: int) -> None:
    """Drop every normal client connection (not this one) with CLIENT KILL."""
    args = [b"CLIENT", b"KILL", b"TYPE", b"normal", b"SKIPME", b"yes"]
    cmd = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(cmd)
        sock.recv(64)


# -- the clients under test ------------------------------------------------------------


@dataclass
class Contender:
    client: Any
    errors: Tuple[Type[BaseException], ...]
    close: Callable[[], None]
    breaker: Callable[[], Dict[str, Any]] = field(default=lambda: {})


def make_pyredisclient(port: int, timeout: float) -> Contender:
    client = pyredisclient.RedisClient(
        host="127.0.0.1", port=port, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    return Contender(
        client, (pyredisclient.RedisError,), client.close, client.circuit_breaker_state
    )


def make_redispy(port: int, timeout: float) -> Contender:
    import redis  # the reference: installed with the test extras, not a dependency

    client = redis.Redis(
        host="127.0.0.1", port=port, socket_timeout=timeout, socket_connect_timeout=timeout
    )
    return Contender(client, (redis.RedisError,), client.close)


CONTENDERS: Dict[str, Callable[[int, float], Contender]] = {
    "pyredisclient": make_pyredisclient,
    "redis-py": make_redispy,
}


# -- one thread's load and its model ---------------------------------------------------


@dataclass
class Model:
    """What one thread's keys may hold: a call that failed may or may not have run."""

    lo: int = 0  # the counter is in [lo, hi]
    hi: int = 0
    strings: Set[bytes | None] = field(default_factory=lambda: {None})

    def incr(self, reply: Any) -> bool:
        ok = isinstance(reply, int) and self.lo + 1 <= reply <= self.hi + 1
        if isinstance(reply, int):
            self.lo = self.hi = reply
        return ok

    def get_counter(self, reply: Any) -> bool:
        value = 0 if reply is None else int(reply) if isinstance(reply, bytes) else None
        ok = value is not None and self.lo <= value <= self.hi
        if value is not None:
            self.lo = self.hi = value
        return ok

    def get_string(self, reply: Any) -> bool:
        ok = reply in self.strings
        self.strings = {reply}
        return ok


@dataclass
class Worker:
    index: int
    served: int = 0
    failed: int = 0
    wrong: int = 0
    unexpected: int = 0
    errors: Dict[str, int] = field(default_factory=dict)
    examples: List[str] = field(default_factory=list)


def run_worker(
    w: Worker,
    c: Contender,
    tag: str,
    seed: int,
    t0: float,
    ok_ms: bytearray,
    ok_10ms: bytearray,
    stop: threading.Event,
    error_pause: float,
) -> None:
    rng = random.Random(seed * 1000 + w.index)
    model = Model()
    counter, string = f"soak:{tag}:{w.index}:n", f"soak:{tag}:{w.index}:s"
    client = c.client
    for n in range(100_000_000):  # bounded; the stop event ends it
        if stop.is_set():
            return
        op = rng.random()
        token = f"{w.index}:{n}".encode()
        try:
            if op < 0.35:
                good = model.incr(client.incr(counter))
            elif op < 0.6:
                good = model.get_counter(client.get(counter))
            elif op < 0.75:
                good = client.set(string, token) is True
                model.strings = {token}
            elif op < 0.9:
                good = model.get_string(client.get(string))
            else:
                pipe = client.pipeline(transaction=False)
                pipe.incr(counter)
                pipe.get(string)
                incr, text = pipe.execute()
                good = model.incr(incr) & model.get_string(text)
        except c.errors as exc:
            w.failed += 1
            name = type(exc).__name__
            w.errors[name] = w.errors.get(name, 0) + 1
            if op < 0.35 or op >= 0.9:
                model.hi += 1  # the INCR may have run
            elif 0.6 <= op < 0.75:
                model.strings.add(token)  # the SET may have run
            time.sleep(error_pause)
            continue
        except Exception as exc:  # a bug in a client: counted apart, never hidden
            w.unexpected += 1
            if len(w.examples) < 3:
                w.examples.append(f"{type(exc).__name__}: {exc}")
            time.sleep(error_pause)
            continue
        if not good:
            w.wrong += 1
            if len(w.examples) < 3:
                w.examples.append(f"wrong result at op {op:.2f}, call {n}")
        w.served += 1
        now = time.monotonic() - t0
        ms = int(now * 1000)
        if ms < len(ok_ms):
            ok_ms[ms] = 1
            ok_10ms[ms // 10] = 1


# -- one phase: a client, a server, the faults -----------------------------------------


@dataclass
class Result:
    name: str
    duration: float
    served: int
    failed: int
    wrong: int
    unexpected: int
    dark: float
    recovery: float
    faults: Dict[str, int]
    errors: Dict[str, int]
    breaker: Dict[str, Any]
    examples: List[str]


def longest_gap(bits: bytearray, start: int, end: int) -> int:
    """The longest run of zero bins in bits[start:end]."""
    best = run = 0
    for b in bits[start:end]:
        run = 0 if b else run + 1
        best = max(best, run)
    return best


def run_phase(
    name: str,
    *,
    duration: float = 60.0,
    threads: int = 8,
    seed: int = 1,
    tail: float = 5.0,
    socket_timeout: float = 1.0,
    error_pause: float = 0.01,
    log: Callable[[str], None] = lambda line: None,
) -> Result:
    """Run one client's soak against a fresh server; must run on the main thread,
    which starts and restarts the server (it dies with the thread that started it)."""
    faults = schedule(seed, duration, tail)
    with RedisServer(extra_args=SERVER_ARGS) as server:
        contender = CONTENDERS[name](server.port, socket_timeout)
        ok_ms = bytearray(int(duration * 1000) + 1000)
        ok_10ms = [bytearray(len(ok_ms) // 10 + 1) for _ in range(threads)]
        stop = threading.Event()
        workers = [Worker(i) for i in range(threads)]
        t0 = time.monotonic()
        pool = [
            threading.Thread(
                target=run_worker,
                args=(w, contender, name, seed, t0, ok_ms, ok_10ms[w.index], stop, error_pause),
                name=f"soak-{w.index}",
            )
            for w in workers
        ]
        for t in pool:
            t.start()
        down: List[Tuple[float, float]] = []  # the server was paused or dead
        counts = dict.fromkeys(FAULTS, 0)
        last_end = 0.0
        try:
            for fault in faults:
                time.sleep(max(0.0, fault.at - (time.monotonic() - t0)))
                began = time.monotonic() - t0
                if fault.kind == "pause":
                    server.pause()
                    time.sleep(fault.length)
                    server.resume()
                elif fault.kind == "kill":
                    server.kill()
                    time.sleep(fault.length)
                    server.start()
                else:
                    client_kill(server.port)
                last_end = time.monotonic() - t0
                if fault.kind != "client-kill":
                    down.append((began, last_end))
                counts[fault.kind] += 1
                log(f"  {name}: {fault.kind} at {began:5.1f} s for {last_end - began:.2f} s")
            time.sleep(max(0.0, duration - (time.monotonic() - t0)))
        finally:
            stop.set()
            for t in pool:
                t.join(30)
            ended = time.monotonic() - t0
            breaker = contender.breaker()
            contender.close()
    # Dark time: the longest stretch without a success, within the times the
    # server was up (start, between faults, after the last one).
    end_ms = min(int(ended * 1000), len(ok_ms))
    up, cursor = [], 0
    for a, b in down:
        up.append((cursor, int(a * 1000)))
        cursor = int(b * 1000) + 1
    up.append((cursor, end_ms))
    dark = max(longest_gap(ok_ms, a, b) for a, b in up if b > a) / 1000
    # Recovery: from the end of the last fault until every thread was served.
    first_bin = int(last_end * 100) + 1
    recovery = 0.0
    for bins in ok_10ms:
        hit = bins.find(1, first_bin)
        recovery = max(recovery, float("inf") if hit < 0 else hit / 100 - last_end)
    errors: Dict[str, int] = {}
    for w in workers:
        for k, v in w.errors.items():
            errors[k] = errors.get(k, 0) + v
    return Result(
        name=name,
        duration=ended,
        served=sum(w.served for w in workers),
        failed=sum(w.failed for w in workers),
        wrong=sum(w.wrong for w in workers),
        unexpected=sum(w.unexpected for w in workers),
        dark=dark,
        recovery=max(0.0, recovery),
        faults=counts,
        errors=errors,
        breaker={k: breaker[k] for k in ("opens", "refused") if k in breaker},
        examples=[e for w in workers for e in w.examples][:5],
    )


def table(results: List[Result]) -> str:
    rows: List[Tuple[str, Callable[[Result], str]]] = [
        ("calls served", lambda r: f"{r.served:,}"),
        ("calls failed", lambda r: f"{r.failed:,}"),
        ("wrong results", lambda r: f"{r.wrong:,}"),
        ("unexpected exceptions", lambda r: f"{r.unexpected:,}"),
        ("dark time, server up (s)", lambda r: f"{r.dark:.2f}"),
        ("recovery after last fault (s)", lambda r: f"{r.recovery:.2f}"),
        ("breaker opens / refused", lambda r: "{opens} / {refused}".format(**r.breaker)
         if r.breaker else "-"),
    ]  # fmt: skip
    width = 32
    lines = [" " * width + "".join(f"{r.name:>18s}" for r in results)]
    for label, cell in rows:
        lines.append(f"{label:<{width}s}" + "".join(f"{cell(r):>18s}" for r in results))
    return "\n".join(lines)


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per client")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tail", type=float, default=5.0, help="fault-free seconds at the end")
    parser.add_argument("--clients", default="pyredisclient,redis-py")
    parser.add_argument(
        "--socket-timeout", type=float, default=1.0, help="socket and connect timeout, both"
    )
    parser.add_argument("--error-pause", type=float, default=0.01)
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each fault")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.clients.split(",") if n.strip()]
    for n in names:
        if n not in CONTENDERS:
            parser.error(f"unknown client {n!r}; choose from {', '.join(CONTENDERS)}")
    logging.getLogger("pyredisclient").setLevel(logging.ERROR)  # breaker warnings
    faults = schedule(args.seed, args.duration, args.tail)
    kinds = {k: sum(f.kind == k for f in faults) for k in FAULTS}
    print(
        f"soak: {args.duration:g} s per client, {args.threads} threads, seed {args.seed}, "
        f"socket_timeout {args.socket_timeout:g} s; the same {len(faults)} faults for each: "
        + ", ".join(f"{v} {k}" for k, v in kinds.items())
    )
    results = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr)
        results.append(
            run_phase(
                name,
                duration=args.duration,
                threads=args.threads,
                seed=args.seed,
                tail=args.tail,
                socket_timeout=args.socket_timeout,
                error_pause=args.error_pause,
                log=(lambda line: print(line, file=sys.stderr)) if args.verbose else lambda _: None,
            )
        )
    print(table(results))
    for r in results:
        print(f"{r.name} errors: " + ", ".join(f"{k} {v}" for k, v in sorted(r.errors.items())))
        for e in r.examples:
            print(f"  {r.name}: {e}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump([r.__dict__ for r in results], f, indent=2)
    ours = next((r for r in results if r.name == "pyredisclient"), None)
    failed = []
    if ours is not None:
        if ours.wrong or ours.unexpected:
            failed.append("pyredisclient returned wrong results or raised unexpected errors")
        if ours.recovery > MAX_RECOVERY:
            failed.append(f"pyredisclient recovered in {ours.recovery:.2f} s (> {MAX_RECOVERY} s)")
        for other in results:
            if other is not ours and ours.served < other.served:
                failed.append(f"pyredisclient served fewer calls than {other.name}")
    for line in failed:
        print(f"FAIL: {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
