"""The multiplexed AsyncRedisClient keeps the order in which one loop makes its calls.

A command that needs a connection of its own (a blocking XREAD or BLPOP) and the
shared connection's commands reach the server in the order the caller made them,
as they would on one connection: a task that starts ``XREAD BLOCK 0 ... $`` and
yields, then an ``XADD``, gets that entry even when the XREAD's connection must be
opened first (fakeredis's ``test_async_xread``); a write queued for the end of the
loop iteration goes out before a blocking read made after it. The shared calls held
behind such a read never wait for more than its write: not while it waits for a pool
connection (where the call it waits for may be one of theirs), and not once it is
cancelled, and at most FENCE_HOLD_LIMIT while its connection does not open. Each
test runs on the default event loop and on uvloop.
"""

from __future__ import annotations

import asyncio
from typing import Any, List

import pytest
from aio_helpers import run_on_each_loop  # noqa: F401  (the fixture ``run``)
from fakeservers import FakeServer, Peer, hang, mini_redis

from pyredisclient import TimeoutError
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.client.mux import FENCE_HOLD_LIMIT


async def warm_dedicated(r: AsyncRedisClient) -> None:
    """Leave an idle dedicated connection in the pool (a blocking call's)."""
    await r.blpop("mux:order:none", 0.01)


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_a_blocking_read_made_first_sees_a_later_write(
    run: Any, redis_url: str, warm: bool
) -> None:
    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(redis_url) as r:
            await r.delete("mux:order:s")
            await r.ping()  # the shared connection is open; a dedicated one is not (cold)
            if warm:
                await warm_dedicated(r)
            got = []
            for _ in range(3):
                read = asyncio.ensure_future(r.xread({"mux:order:s": "$"}, block=5000))
                await asyncio.sleep(0)  # the XREAD starts (and, cold, opens a connection)
                added = await r.xadd("mux:order:s", {"n": "1"})
                entries = await asyncio.wait_for(read, 10)
                got.append(entries[0][1][0][0] == added)
            return got

    assert run(main()) == [True, True, True]


def test_a_blocking_read_made_behind_a_fence_raises_its_own_at_once(
    run: Any, redis_url: str
) -> None:
    """A blocking read made while another's fence is up raises its fence in its
    own first step, rather than queueing behind the first fence with the shared
    calls (a write its task makes meanwhile would then go out before it). Checked
    on the loop's fences: what the server then reads first from two connections
    with bytes waiting is its own affair (README, Multiplexing)."""

    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(redis_url) as r:
            await r.ping()  # no dedicated connection yet: each read opens one
            assert r._mux is not None
            share = r._mux.shares[asyncio.get_running_loop()]
            reads = [
                asyncio.ensure_future(r.xread({f"mux:order:f{i}": "$"}, block=5000))
                for i in range(3)
            ]
            await asyncio.sleep(0)  # each read's first step: connecting
            fenced = len(share.fences)
            value = await asyncio.wait_for(r.get("mux:order:none"), 5)  # behind them
            unfenced = len(share.fences)
            for read in reads:
                read.cancel()
            await asyncio.gather(*reads, return_exceptions=True)
            return [fenced, value, unfenced]

    assert run(main()) == [3, None, 0]


def test_a_pipeline_made_after_a_blocking_read_goes_after_it(run: Any, redis_url: str) -> None:
    async def main() -> bool:
        async with AsyncRedisClient.from_url(redis_url) as r:
            await r.delete("mux:order:p")
            await r.ping()
            read = asyncio.ensure_future(r.xread({"mux:order:p": "$"}, block=5000))
            await asyncio.sleep(0)
            async with r.pipeline(transaction=False) as p:
                p.xadd("mux:order:p", {"n": "1"})
                p.get("mux:order:none")
                added, _ = await p.execute()
            entries = await asyncio.wait_for(read, 10)
            return bool(entries[0][1][0][0] == added)

    assert run(main())


def test_a_write_queued_before_a_blocking_read_goes_first(run: Any, redis_url: str) -> None:
    """The XADD is made first but queued for the end of the loop iteration (a GET
    is in flight); the XREAD from ``$`` made after it must not see it."""

    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(redis_url) as r:
            await r.delete("mux:order:q")
            await r.ping()
            await warm_dedicated(r)  # so the XREAD could be written at once
            get = asyncio.ensure_future(r.get("mux:order:none"))  # written at once
            add = asyncio.ensure_future(r.xadd("mux:order:q", {"n": "1"}))  # queued
            read = asyncio.ensure_future(r.xread({"mux:order:q": "$"}, block=300))
            await asyncio.gather(get, add)
            return [await read, await r.xlen("mux:order:q")]

    entries, length = run(main())
    assert length == 1
    assert not entries  # the entry was added before the read started


def test_shared_calls_do_not_wait_for_a_read_that_waits_for_the_pool(
    run: Any, redis_url: str
) -> None:
    """With max_connections 2 (the shared connection and one more), the second
    BLPOP waits for the pool: the RPUSH that frees it must not wait behind it."""

    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(redis_url, max_connections=2) as r:
            await r.delete("mux:order:a", "mux:order:b")
            await r.ping()
            first = asyncio.ensure_future(r.blpop("mux:order:a", 0))
            await asyncio.sleep(0.1)
            second = asyncio.ensure_future(r.blpop("mux:order:b", 0))
            await asyncio.sleep(0.1)
            await asyncio.wait_for(r.rpush("mux:order:a", "1"), 5)
            got_a = await asyncio.wait_for(first, 5)
            await asyncio.sleep(0.1)  # the second BLPOP takes the freed connection
            await asyncio.wait_for(r.rpush("mux:order:b", "2"), 5)
            got_b = await asyncio.wait_for(second, 5)
            return [got_a, got_b, r.pool_stats()["created"]]

    got_a, got_b, created = run(main())
    assert list(got_a) == [b"mux:order:a", b"1"]
    assert list(got_b) == [b"mux:order:b", b"2"]
    assert created == 2


def test_a_cancelled_blocking_read_holds_nothing_back(run: Any, redis_url: str) -> None:
    async def main() -> Any:
        async with AsyncRedisClient.from_url(redis_url) as r:
            await r.ping()
            read = asyncio.ensure_future(r.xread({"mux:order:c": "$"}, block=0))
            await asyncio.sleep(0)  # cold: its connection is being opened
            read.cancel()
            value = await asyncio.wait_for(r.set("mux:order:c:k", "v"), 5)
            with pytest.raises(asyncio.CancelledError):
                await read
            return value

    assert run(main()) is True


def test_a_connection_that_does_not_open_holds_shared_calls_briefly(run: Any) -> None:
    """The server answers on the shared connection but never on a new one: the
    shared calls made after a BLPOP wait for it FENCE_HOLD_LIMIT, not its 4 s
    connect timeout."""
    serve = mini_redis()

    def handler(peer: Peer) -> None:
        (serve if peer.index == 0 else hang)(peer)

    async def main(port: int) -> List[Any]:
        loop = asyncio.get_running_loop()
        async with AsyncRedisClient(host="127.0.0.1", port=port, socket_connect_timeout=4.0) as r:
            assert await r.set("a", "1") is True  # the shared connection
            pop = asyncio.ensure_future(r.blpop("q", 1))
            await asyncio.sleep(0)  # its connection is accepted, never answered
            start = loop.time()
            value = await r.get("a")
            held = loop.time() - start
            with pytest.raises(TimeoutError):
                await pop
            return [value, held]

    with FakeServer(handler) as fake:
        value, held = run(main(fake.port))
    assert value == b"1"
    assert FENCE_HOLD_LIMIT * 0.8 <= held < FENCE_HOLD_LIMIT + 1.5
