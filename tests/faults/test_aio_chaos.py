"""asyncio calls through a proxy that hangs up random connections, while random
callers give up: no caller ever gets a reply that is not its own, and no write is
applied twice.

200 tasks, each with its own string key and counter, run SET, GET, INCR and a
pipeline (a transaction half the time) for a few seconds; a CuttingProxy
(tests/fakeservers.py) drops a connection every 20-200 ms, mid-reply or not, and a
third of the calls carry a deadline short enough to cancel them. Each task keeps what
its key may hold: the value of its last confirmed SET, or any value whose SET failed
or was cancelled (it may have run, even later on another connection). A GET outside
that set, or a counter beyond the INCRs that may have run, is a wrong result. With
multiplexing (one shared connection, on asyncio and on uvloop) and without (a
connection per call).
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import time
from typing import Any, Callable, Dict, List, Set

import pytest
from fakeservers import CuttingProxy

from pyredisclient import ConnectionError, RedisClient, TimeoutError
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.testing import RedisServer

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is in the test extras (not on Windows)
    uvloop = None

ServerFactory = Callable[..., RedisServer]
TASKS = 200
SECONDS = 3.0
FAILED = (ConnectionError, TimeoutError, asyncio.TimeoutError)


class Tally:
    def __init__(self) -> None:
        self.counts: Dict[str, int] = dict.fromkeys(
            ("ok", "failed", "wrong", "incr_ok", "incr_maybe"), 0
        )
        self.examples: List[str] = []

    def wrong(self, what: str) -> None:
        self.counts["wrong"] += 1
        if len(self.examples) < 5:
            self.examples.append(what)


async def one_task(
    client: AsyncRedisClient, i: int, until: float, tally: Tally, rng: random.Random
) -> None:
    key, counter = f"chaos:{i}", f"chaos:n:{i}"
    confirmed: bytes | None = None
    maybe: Set[bytes] = set()  # writes that failed or were cancelled: they may land
    n = 0

    def deadline() -> float:
        return rng.choice((0.002, 0.02, 2.0, 2.0, 2.0, 2.0))

    def check(value: Any, where: str) -> None:
        if value != confirmed and value not in maybe:
            tally.wrong(f"{where} {key}: {value!r}, expected {confirmed!r} or one of {len(maybe)}")
        else:
            tally.counts["ok"] += 1

    while time.monotonic() < until:
        n += 1
        value = f"{i}:{n}".encode()
        try:
            assert await asyncio.wait_for(client.set(key, value), deadline()) is True
            confirmed = value
        except FAILED:
            maybe.add(value)
            tally.counts["failed"] += 1
        try:
            check(await asyncio.wait_for(client.get(key), deadline()), "GET")
        except FAILED:
            tally.counts["failed"] += 1
        try:
            reply = await asyncio.wait_for(client.incr(counter), deadline())
            assert isinstance(reply, int)
            tally.counts["incr_ok"] += 1
        except FAILED:
            tally.counts["incr_maybe"] += 1
        pipe = client.pipeline(transaction=rng.random() < 0.5)
        pipe.incr(counter).get(key).incr(counter)
        try:
            first, text, second = await asyncio.wait_for(pipe.execute(), deadline())
            check(text, "pipeline GET")
            if second != first + 1:  # in one pipeline, on one connection, in order
                tally.wrong(f"pipeline INCRs {first}, {second}")
            tally.counts["incr_ok"] += 2
        except FAILED:
            tally.counts["incr_maybe"] += 2


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize(
    "multiplex, loop",
    [
        (True, "asyncio"),
        pytest.param(True, "uvloop", marks=pytest.mark.skipif(uvloop is None, reason="no uvloop")),
        (False, "asyncio"),
    ],
)
def test_no_wrong_reply_and_no_write_twice_while_connections_are_cut(
    redis_server_factory: ServerFactory, multiplex: bool, loop: str
) -> None:
    server = redis_server_factory()
    direct = RedisClient(port=server.port)
    fds = open_fds()
    tally = Tally()
    with CuttingProxy(("127.0.0.1", server.port), seed=7) as proxy:

        async def main() -> None:
            client = AsyncRedisClient(
                port=proxy.port,
                socket_timeout=2,
                async_multiplex=multiplex,
                circuit_breaker=False,
                max_connections=64,
            )
            try:
                until = time.monotonic() + SECONDS
                rng = random.Random(11)
                await asyncio.gather(
                    *(one_task(client, i, until, tally, rng) for i in range(TASKS))
                )
            finally:
                await client.aclose()

        coro = asyncio.wait_for(main(), SECONDS + 30)
        if loop == "uvloop":
            event_loop = uvloop.new_event_loop()
            try:
                event_loop.run_until_complete(coro)
            finally:
                event_loop.close()
        else:
            asyncio.run(coro)
        cuts = proxy.cuts
    counts = tally.counts
    summary = f"{counts}, {cuts} cuts, {tally.examples}"
    assert counts["wrong"] == 0, summary
    assert cuts >= 5 and counts["failed"] > 0, summary  # the faults did hit calls
    assert counts["ok"] > 300, summary
    on_server = sum(int(direct.get(f"chaos:n:{i}") or 0) for i in range(TASKS))
    assert counts["incr_ok"] <= on_server <= counts["incr_ok"] + counts["incr_maybe"], summary
    direct.close()
    gc.collect()  # the finalizers of what cancelled calls left behind have run
    assert open_fds() <= fds + 2, "connections left open"
