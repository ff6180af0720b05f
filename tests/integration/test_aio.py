"""AsyncRedisClient against real redis-server processes: commands, pipelines and
transactions (WATCH/MULTI/EXEC on a pinned connection), one client shared by many
tasks. test_aio_failures.py covers cancellation, timeouts, failures, addressing and
the shared client.

Each test runs its own event loop with ``asyncio.run`` (no pytest-asyncio).
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from typing import Any, List, Tuple

import pytest
from aio_helpers import (
    MiB,
    elapsed,
    run,
)

import pyredisclient
from pyredisclient import (
    ConnectionError,
    DataError,
    PoolTimeoutError,
    RedisClient,
    ResponseError,
    WatchError,
)
from pyredisclient.aio import AsyncPipeline, AsyncRedisClient
from pyredisclient.testing import find_free_port

# ---------------------------------------------------------------------------
# commands and pipelines
# ---------------------------------------------------------------------------


def test_commands_return_what_the_sync_client_returns(
    redis_client: RedisClient, redis_url: str
) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as r:
            assert await r.ping() is True
            assert await r.set("s", "v", ex=100) is True
            assert await r.set("s", "w", nx=True) is None
            assert await r.get("s") == b"v"
            assert 0 < await r.ttl("s") <= 100
            assert await r.incr("n") == 1
            assert await r.incrby("n", 41) == 42
            assert await r.incrbyfloat("f", 1.5) == 1.5
            assert await r.mget(["s", "n", "missing"]) == [b"v", b"42", None]
            assert await r.hset("h", mapping={"a": "1", "b": "2"}) == 2
            assert await r.hgetall("h") == {b"a": b"1", b"b": b"2"}
            assert await r.rpush("l", "x", "y", "z") == 3
            assert await r.lrange("l", 0, -1) == [b"x", b"y", b"z"]
            assert await r.sadd("set", "a", "b") == 2
            assert await r.smembers("set") == {b"a", b"b"}
            assert await r.zadd("z", {"m": 2.5}) == 1
            assert await r.zrange("z", 0, -1, withscores=True) == [(b"m", 2.5)]
            assert await r.execute_command("ECHO", "hi") == b"hi"
            assert await r.exists("s", "n", "nope") == 2
            assert await r.delete("s", "n") == 2
            with pytest.raises(ResponseError, match="WRONGTYPE"):
                await r.get("h")
            with pytest.raises(DataError):
                await r.set("k", None)  # type: ignore[arg-type]
            # The error replies did not disturb the connection.
            assert await r.get("missing") is None

    run(main())
    assert redis_client.lrange("l", 0, -1) == [b"x", b"y", b"z"]


def test_decode_responses_and_key_prefix(redis_client: RedisClient, redis_url: str) -> None:
    async def main() -> None:
        r = AsyncRedisClient.from_url(redis_url, decode_responses=True, key_prefix="tenant:")
        async with r:
            await r.set("a", "é")
            assert await r.get("a") == "é"
            assert await r.keys("*") == ["a"]
            p = r.pipeline()
            p.set("b", "2").get("b")
            assert await p.execute() == [True, "2"]

    run(main())
    assert sorted(redis_client.keys("*")) == [b"tenant:a", b"tenant:b"]


def test_scan_iter_and_hscan_iter_are_async_generators(
    redis_client: RedisClient, redis_url: str
) -> None:
    redis_client.mset({f"scan:{i}": i for i in range(250)})
    redis_client.hset("hash", mapping={f"f{i}": i for i in range(300)})

    async def main() -> Tuple[List[Any], List[Any]]:
        async with AsyncRedisClient.from_url(redis_url) as r:
            keys = [k async for k in r.scan_iter(match="scan:*", count=50)]
            items = [kv async for kv in r.hscan_iter("hash", count=50)]
            return keys, items

    keys, items = run(main())
    assert sorted(keys) == sorted(f"scan:{i}".encode() for i in range(250))
    assert dict(items) == {f"f{i}".encode(): str(i).encode() for i in range(300)}


def test_pipelines_and_transactions(redis_client: RedisClient, redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as r:
            pipe = r.pipeline(transaction=False)
            assert isinstance(pipe, AsyncPipeline)
            pipe.set("a", 1).incr("a").get("a").hget("a", "x")
            results = await pipe.execute(raise_on_error=False)
            assert results[:3] == [True, 2, b"2"]
            assert isinstance(results[3], ResponseError)
            assert len(pipe) == 0 and await pipe.execute() == []

            async with r.pipeline() as tx:
                tx.incr("counter").incr("counter").get("counter")
                assert await tx.execute() == [1, 2, b"2"]

            tx = r.pipeline()
            tx.set("x", "1").lpush("x", "oops").get("x")
            with pytest.raises(ResponseError, match=r"Command # 2 \(LPUSH\)"):
                await tx.execute()

            # A syntax error queued in a transaction aborts all of it.
            tx = r.pipeline()
            tx.set("y", "1").execute_command("SET", "y").get("y")
            with pytest.raises(ResponseError):
                await tx.execute()
            assert await r.get("y") is None

            # Concurrent transactions on one client never interleave.
            async def bump(i: int) -> List[Any]:
                t = r.pipeline()
                t.rpush("order", f"{i}a").rpush("order", f"{i}b")
                return await t.execute()

            await asyncio.gather(*(bump(i) for i in range(50)))
            order = await r.lrange("order", 0, -1)
            pairs = [order[i : i + 2] for i in range(0, len(order), 2)]
            assert all(a[:-1] == b[:-1] and a.endswith(b"a") for a, b in pairs)

    run(main())


# ---------------------------------------------------------------------------
# WATCH / MULTI / EXEC on a pinned connection
# ---------------------------------------------------------------------------


def test_watch_reads_at_once_then_multi_queues(redis_client: RedisClient, redis_url: str) -> None:
    redis_client.set("w:n", 5)

    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as r:
            async with r.pipeline() as p:
                assert await p.watch("w:n") is True
                assert r.pool_stats()["in_use"] == 1  # the watching connection is pinned
                value = int(await p.get("w:n"))  # immediate while watching
                assert value == 5
                p.multi()
                assert p.set("w:n", value + 1) is p  # queued after multi()
                assert p.get("w:n") is p
                assert await p.execute() == [True, b"6"]
                assert r.pool_stats()["in_use"] == 0  # EXEC gave the connection back

    run(main())
    assert redis_client.get("w:n") == b"6"


def test_a_concurrent_write_raises_watch_error(redis_client: RedisClient, redis_url: str) -> None:
    redis_client.set("w:k", "a")

    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as r:
            p = r.pipeline()
            await p.watch("w:k")
            assert await p.get("w:k") == b"a"
            redis_client.set("w:k", "changed")  # another connection writes it
            p.multi()
            p.set("w:k", "mine")
            with pytest.raises(WatchError):
                await p.execute()
            assert r.pool_stats()["in_use"] == 0
            # Usable afterwards, back in plain queueing mode.
            assert p.set("w:k", "after") is p
            assert await p.execute() == [True]

    run(main())
    assert redis_client.get("w:k") == b"after"


def test_unwatch_and_reset_give_the_connection_back(
    redis_client: RedisClient, redis_url: str
) -> None:
    redis_client.set("w:u", 1)

    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url, max_connections=1) as r:
            p = r.pipeline()
            await p.watch("w:u")
            assert await p.unwatch() is True
            assert p.get("w:u") is p  # queued again
            assert await p.execute() == [b"1"]
            await p.reset()
            assert r.pool_stats()["in_use"] == 0
            # UNWATCH ran before the connection went back: this client's next
            # transaction on it is not spoiled by the old watch.
            await p.watch("w:u")
            await p.reset()
            redis_client.set("w:u", 2)
            tx = r.pipeline()
            tx.set("w:u", 3)
            assert await tx.execute() == [True]
            # An empty execute() while watching unwatches and releases too.
            await p.watch("w:u")
            assert await p.execute() == []
            assert r.pool_stats()["in_use"] == 0
            assert r.pool_stats()["created"] == 1  # never closed on the way

    run(main())


def test_transaction_helper_retries_with_sync_or_async_functions(
    redis_client: RedisClient, redis_url: str
) -> None:
    redis_client.set("w:t", 10)
    attempts: List[int] = []

    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as r:

            async def double(pipe: Any) -> None:
                current = int(await pipe.get("w:t"))
                attempts.append(current)
                if len(attempts) == 1:
                    redis_client.incr("w:t")  # spoil the first attempt only
                pipe.multi()
                pipe.set("w:t", current * 2)

            assert await r.transaction(double, "w:t") == [True]
            assert await r.transaction(lambda pipe: 7, "w:t", value_from_callable=True) == 7
            assert r.pool_stats()["in_use"] == 0

    run(main())
    assert attempts == [10, 11]
    assert redis_client.get("w:t") == b"22"


def test_watch_misuse_is_refused(redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as r:
            p = r.pipeline()
            await p.watch("w:x")
            p.multi()
            with pytest.raises(pyredisclient.RedisError, match="nested"):
                p.multi()
            with pytest.raises(pyredisclient.RedisError, match="WATCH after a MULTI"):
                await p.watch("w:y")
            await p.reset()
            with pytest.raises(TypeError, match="async with"):
                with p:
                    pass
            # Two tasks on one watching pipeline: one call at a time, and the
            # loser is told so instead of reading the other's reply.
            await p.watch("w:x")
            results = await asyncio.gather(p.get("w:x"), p.get("w:x"), return_exceptions=True)
            errors = [e for e in results if isinstance(e, BaseException)]
            assert results.count(None) == 1 and len(errors) == 1, results
            assert isinstance(errors[0], RuntimeError) and "one call at a time" in str(errors[0])
            assert await p.get("w:x") is None  # still watching, still usable
            await p.reset()
            assert r.pool_stats()["in_use"] == 0

    run(main())


def test_watch_on_a_prefixed_client_watches_the_prefixed_key(
    redis_client: RedisClient, redis_url: str
) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url, key_prefix="t:") as r:
            await r.set("k", "1")
            async with r.pipeline() as p:
                await p.watch("k")
                assert await p.get("k") == b"1"
                redis_client.set("k", "DECOY")  # the unprefixed key: not watched
                p.multi()
                p.set("k", "2")
                assert await p.execute() == [True]
            async with r.pipeline() as p:
                await p.watch("k")
                redis_client.set("t:k", "changed")  # the watched, prefixed key
                p.multi()
                p.set("k", "3")
                with pytest.raises(WatchError):
                    await p.execute()

    run(main())
    assert redis_client.mget("k", "t:k") == [b"DECOY", b"changed"]


def test_a_lost_watching_connection_raises_watch_error(
    redis_client: RedisClient, redis_url: str
) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url, client_name="watcher") as r:
            p = r.pipeline()
            await p.watch("w:l")
            redis_client.execute_command("CLIENT", "KILL", "SKIPME", "yes", "TYPE", "normal")
            p.multi()
            p.set("w:l", "x")
            with pytest.raises(WatchError, match="ConnectionError"):
                await p.execute()
            assert r.pool_stats()["in_use"] == 0
            # Cancelled while watching: the watch is lost with the connection,
            # which is closed, never pooled.
            await p.watch("w:l")
            task = asyncio.ensure_future(p.blpop("w:list", 5))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            p.multi()
            p.set("w:l", "y")
            with pytest.raises(WatchError):
                await p.execute()
            stats = r.pool_stats()
            assert stats["in_use"] == 0 and stats["idle"] == 0
            assert await r.set("w:l", "z") is True  # a fresh connection
            assert await r.rpush("w:list", "v") == 1  # nobody is popping

    run(main())
    assert redis_client.get("w:l") == b"z"


def test_watch_failures_leave_nothing_pinned(redis_client: RedisClient, redis_url: str) -> None:
    async def main() -> None:
        dead = AsyncRedisClient(port=find_free_port(), socket_connect_timeout=0.5, retry_attempts=0)
        async with dead:
            p = dead.pipeline()
            with pytest.raises(ConnectionError):
                await p.watch("w:dead")
            assert dead.pool_stats()["in_use"] == 0
            assert p.set("w:dead", 1) is p  # back to plain queueing
        async with AsyncRedisClient.from_url(redis_url, client_name="watcher") as r:
            p = r.pipeline()
            await p.watch("w:gone")
            closed = r.pool_stats()["closed"]
            redis_client.execute_command("CLIENT", "KILL", "SKIPME", "yes", "TYPE", "normal")
            await p.reset()  # UNWATCH fails on the dead connection: swallowed
            stats = r.pool_stats()
            assert stats["in_use"] == 0 and stats["idle"] == 0
            assert stats["closed"] == closed + 1
            assert await r.ping() is True

    run(main())


def test_watch_queues_behind_tasks_waiting_for_the_pool(
    redis_client: RedisClient, redis_url: str
) -> None:
    async def main() -> List[str]:
        order: List[str] = []
        async with AsyncRedisClient.from_url(redis_url, max_connections=1, pool_timeout=5) as r:

            async def first_come() -> None:
                await r.get("w:q")
                order.append("waiter")

            async def hold_then_watch() -> None:
                await r.blpop("w:none", 0.3)  # holds the only connection
                # Released just now, and the waiter woken but not yet run: the
                # WATCH must not take the connection the waiter was woken for.
                async with r.pipeline() as p:
                    await p.watch("w:q")
                    order.append("watch")

            holder = asyncio.ensure_future(hold_then_watch())
            await asyncio.sleep(0.05)
            await asyncio.gather(first_come(), holder)
        return order

    assert run(main()) == ["waiter", "watch"]


def test_transaction_waits_watch_delay_between_attempts(
    redis_client: RedisClient, redis_url: str
) -> None:
    redis_client.set("w:delay", 1)
    attempts: List[float] = []

    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as r:

            async def bump(pipe: Any) -> None:
                attempts.append(time.monotonic())
                value = int(await pipe.get("w:delay"))
                if len(attempts) == 1:
                    redis_client.incr("w:delay")  # spoil the first attempt
                pipe.multi()
                pipe.set("w:delay", value + 10)

            assert await r.transaction(bump, "w:delay", watch_delay=0.2) == [True]

    run(main())
    assert len(attempts) == 2 and attempts[1] - attempts[0] >= 0.2
    assert redis_client.get("w:delay") == b"12"


def test_a_released_watch_wakes_a_task_waiting_for_the_pool(redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url, max_connections=1, pool_timeout=5) as r:
            p = r.pipeline()
            await p.watch("w:p")
            waiter = asyncio.ensure_future(elapsed(r.get("w:p")))
            await asyncio.sleep(0.2)
            assert not waiter.done()  # the only connection is pinned
            p.multi()
            p.set("w:p", "v")
            assert await p.execute() == [True]
            took, exc = await waiter
            assert exc is None and took < 1.0, (took, exc)  # woken, not timed out

    run(main())


def test_a_dropped_watching_pipeline_wakes_a_task_waiting_for_the_pool(redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url, max_connections=1, pool_timeout=10) as r:
            p: Any = r.pipeline()
            await p.watch("w:d")
            waiter = asyncio.ensure_future(elapsed(r.get("w:d")))
            await asyncio.sleep(0.2)
            assert not waiter.done()  # the only connection is pinned
            del p  # forgotten without reset(): its connection is closed
            started = time.monotonic()
            gc.collect()  # seconds when an earlier test left a big heap (in-process mypy)
            collecting = time.monotonic() - started
            took, exc = await waiter
            # Woken once collected, not timed out after pool_timeout.
            assert exc is None and took < 1.0 + collecting, (took, collecting, exc)
            assert r.pool_stats()["in_use"] == 0

    run(main())


# ---------------------------------------------------------------------------
# many tasks, one client
# ---------------------------------------------------------------------------


def test_a_thousand_tasks_share_four_connections(redis_client: RedisClient, redis_url: str) -> None:
    async def main() -> None:
        # The pool's own path (one connection per call): multiplexing off; the
        # shared connection's counterpart is in tests/test_mux.py.
        async with AsyncRedisClient.from_url(
            redis_url, max_connections=4, async_multiplex=False
        ) as r:

            async def one(i: int) -> Tuple[Any, Any, Any]:
                await r.set(f"task:{i}", i)
                p = r.pipeline(transaction=False)
                p.incrby(f"task:{i}", i).get(f"task:{i}")
                incr, got = await p.execute()
                return i, incr, got

            results = await asyncio.gather(*(one(i) for i in range(1000)))
            for i, incr, got in results:
                assert incr == 2 * i and got == str(2 * i).encode()
            stats = r.pool_stats()
            assert stats["created"] <= 4
            assert stats["in_use"] == 0 and stats["timeouts"] == 0
            assert stats["waits"] > 0

    run(main(), timeout=60)
    assert redis_client.dbsize() == 1000


def test_large_values_from_many_tasks_need_partial_writes(redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url, max_connections=8) as r:
            values = {f"big:{i}": os.urandom(MiB + i) for i in range(16)}
            await asyncio.gather(*(r.set(k, v) for k, v in values.items()))
            got = await asyncio.gather(*(r.get(k) for k in values))
            assert got == list(values.values())
            await r.delete(*values)

    run(main(), timeout=60)


def test_pool_waiters_are_served_fairly(redis_url: str) -> None:
    async def main() -> float:
        async with AsyncRedisClient.from_url(redis_url, max_connections=2) as r:
            await r.set("k", "v")
            worst = 0.0

            async def worker() -> None:
                nonlocal worst
                for _ in range(500):
                    start = time.monotonic()
                    assert await r.get("k") == b"v"
                    worst = max(worst, time.monotonic() - start)

            await asyncio.gather(*(worker() for _ in range(20)))
            return worst

    # Fair (FIFO): a GET waits behind ~20 others, under 0.1 s even on a busy
    # machine. Unfair: behind whole workers, about the whole run (~1.5 s),
    # and up to pool_timeout and PoolTimeoutError.
    worst = run(main(), timeout=60)
    assert worst < 0.3, worst


def test_pool_timeout_when_every_connection_is_busy(
    redis_client: RedisClient, redis_url: str
) -> None:
    async def main() -> None:
        r = AsyncRedisClient.from_url(redis_url, max_connections=1, pool_timeout=0.2)
        async with r:
            holder = asyncio.ensure_future(r.blpop("pool:nothing", 1))
            await asyncio.sleep(0.05)
            took, exc = await elapsed(r.get("k"))
            assert isinstance(exc, PoolTimeoutError), exc
            assert 0.15 <= took <= 0.24 + 0.2
            assert await holder is None
            assert await r.get("k") is None  # the connection came back

    run(main())


def test_aclose_takes_redis_asyncios_close_connection_pool(redis_url: str) -> None:
    """Libraries written for redis.asyncio close with ``aclose(close_connection_pool=
    True)`` (aiogram's RedisStorage does): it closes. ``False`` means a pool that others
    go on using, and this client's pool is its own: the client stays as it was."""

    async def main() -> None:
        client = AsyncRedisClient.from_url(redis_url)
        assert await client.ping() is True
        await client.aclose(close_connection_pool=False)
        assert await client.set("ccp", "still here") is True
        await client.aclose(close_connection_pool=True)
        with pytest.raises(ConnectionError):
            await client.ping()
        other = AsyncRedisClient.from_url(redis_url)
        with pytest.warns(DeprecationWarning, match=r"Use aclose\(\) instead"):
            await other.close(close_connection_pool=False)
        assert await other.get("ccp") == b"still here"
        with pytest.warns(DeprecationWarning, match=r"Use aclose\(\) instead"):
            await other.close(close_connection_pool=None)
        with pytest.raises(ConnectionError):
            await other.ping()

    run(main())


def test_redis_asyncio_spellings_of_making_a_client(redis_url: str) -> None:
    """``redis.asyncio.from_url(url)``, ``await client.initialize()`` and ``client =
    await Redis(...)`` are redis.asyncio's; here they give the client, with no I/O
    until the first command (as redis.asyncio's pooled client). ``pyredisclient.from_url``
    is redis-py's ``redis.from_url``."""
    import pyredisclient.aio

    with pyredisclient.from_url(redis_url) as sync:
        assert isinstance(sync, RedisClient) and sync.ping() is True

    async def main() -> None:
        client = pyredisclient.aio.from_url(redis_url, decode_responses=True)
        assert isinstance(client, AsyncRedisClient)
        assert await client.initialize() is client
        assert await client is client
        assert client.pool_stats()["created"] == 0  # nothing connected yet
        assert await client.set("spelled", "v") is True and await client.get("spelled") == "v"
        await client.aclose()
        other = await AsyncRedisClient.from_url(redis_url)
        assert await other.ping() is True
        await other.aclose()

    run(main())
