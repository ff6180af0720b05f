"""AsyncRedisClient against real redis-server processes.

Commands, pipelines and transactions; one client shared by many tasks;
cancellation in the middle of a blocking command and of a large reply (the
next call must get its own reply: no desync); timeouts against a paused
server; refused connections, the circuit breaker, close() while tasks wait;
the per-loop shared client; with_redis_fallback on ``async def``; TLS, unix
sockets and key prefixes.

Each test runs its own event loop with ``asyncio.run`` (no pytest-asyncio).
Timing bounds follow the issue (a timeout within socket_timeout + 20%) and
would fail if a call hung or blocked the event loop.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import time
from typing import Any, Awaitable, Callable, Coroutine, List, Tuple, TypeVar

import pytest

import pyredisclient
from pyredisclient import (
    CircuitOpenError,
    ConnectionError,
    DataError,
    PoolTimeoutError,
    RedisClient,
    ReplyLimitError,
    ResponseError,
    TimeoutError,
    WatchError,
)
from pyredisclient.aio import AsyncPipeline, AsyncRedisClient
from pyredisclient.testing import RedisServer, find_free_port

MiB = 1024 * 1024
T = TypeVar("T")
ServerFactory = Callable[..., RedisServer]


def run(coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    """Run *coro* in a fresh event loop, bounded by *timeout* seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def elapsed(awaitable: Awaitable[Any]) -> Tuple[float, BaseException | None]:
    """Await; return (seconds taken, the exception raised or None)."""
    start = time.monotonic()
    try:
        await awaitable
    except Exception as exc:
        return time.monotonic() - start, exc
    return time.monotonic() - start, None


class Ticker:
    """Counts event-loop turns: a blocked loop stops the count."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.ticks = 0
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.ticks += 1

    def __enter__(self) -> Ticker:
        self.task = asyncio.ensure_future(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()


def open_fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


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
        async with AsyncRedisClient.from_url(redis_url, max_connections=1, pool_timeout=5) as r:
            p: Any = r.pipeline()
            await p.watch("w:d")
            waiter = asyncio.ensure_future(elapsed(r.get("w:d")))
            await asyncio.sleep(0.2)
            assert not waiter.done()  # the only connection is pinned
            del p  # forgotten without reset(): its connection is closed
            gc.collect()
            took, exc = await waiter
            assert exc is None and took < 1.0, (took, exc)  # woken, not timed out
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


# ---------------------------------------------------------------------------
# cancellation never leaves a half-read reply behind
# ---------------------------------------------------------------------------


def test_cancelling_a_blpop_closes_its_connection(
    redis_client: RedisClient, redis_url: str
) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url, max_connections=1) as r:
            await r.set("marker", "m")
            for block in (0, 5):  # forever, and a finite block
                task = asyncio.ensure_future(r.blpop("cancel:list", block))
                await asyncio.sleep(0.1)
                assert not task.done()
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                # The cancelled BLPOP's connection was closed: a push now is
                # not popped by it, and the next call gets its own reply.
                assert await r.rpush("cancel:list", "v") == 1
                assert await r.get("marker") == b"m"
                assert await r.lpop("cancel:list") == b"v"
                stats = r.pool_stats()
                assert stats["in_use"] == 0

    run(main())


def test_cancelling_a_large_reply_mid_read_never_desyncs(
    redis_client: RedisClient, redis_url: str
) -> None:
    big = os.urandom(20 * MiB)
    redis_client.set("big", big)
    redis_client.set("small", "s")

    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url, max_connections=1) as r:
            started = time.monotonic()
            assert await r.get("big") == big
            full = time.monotonic() - started
            cancelled = 0
            for delay in (0.0, 0.001, 0.002, 0.005, 0.01, 0.02, full / 3, full / 2):
                closed = r.pool_stats()["closed"]
                task = asyncio.ensure_future(r.get("big"))
                await asyncio.sleep(delay)
                if task.done():  # the whole reply came in time: fine too
                    assert task.result() == big
                    continue
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                cancelled += 1
                # The pooled connection was closed, never reused half-read.
                assert r.pool_stats()["closed"] == closed + 1
                assert await r.get("small") == b"s"
                assert await r.execute_command("ECHO", "after") == b"after"
            assert cancelled >= 4
            assert await r.get("big") == big

    run(main(), timeout=60)


def test_cancelled_pipelines_and_pool_waiters(redis_url: str) -> None:
    async def main() -> None:
        # Calls waiting for a pooled connection: multiplexing off.
        async with AsyncRedisClient.from_url(
            redis_url, max_connections=2, async_multiplex=False
        ) as r:
            await r.set("k", "v")
            pipe = r.pipeline(transaction=False)
            for _ in range(2000):
                pipe.get("k")
            tasks = [asyncio.ensure_future(r.blpop("w", 0.3)) for _ in range(2)]
            waiters = [asyncio.ensure_future(r.get("k")) for _ in range(20)]
            await asyncio.sleep(0.05)
            for w in waiters[::2]:
                w.cancel()  # cancelled while waiting for a pooled connection
            ptask = asyncio.ensure_future(pipe.execute())
            await asyncio.sleep(0.3)
            ptask.cancel()
            results = await asyncio.gather(*tasks, *waiters, return_exceptions=True)
            assert results[:2] == [None, None]
            for w, res in zip(waiters, results[2:]):
                if w in waiters[::2]:
                    assert isinstance(res, asyncio.CancelledError)
                else:
                    assert res == b"v"
            try:
                assert await ptask == [b"v"] * 2000
            except asyncio.CancelledError:
                pass
            # Everything still in sync and every connection back or closed.
            assert await asyncio.gather(*(r.get("k") for _ in range(10))) == [b"v"] * 10
            assert r.pool_stats()["in_use"] == 0

    run(main())


def test_cancellations_leak_no_descriptors(redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url, max_connections=4) as r:
            await r.ping()
            before = open_fd_count()
            for _ in range(50):
                task = asyncio.ensure_future(r.blpop("leak", 1))
                await asyncio.sleep(0.002)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            assert await r.ping() is True
            assert open_fd_count() <= before + 1

    run(main())


# ---------------------------------------------------------------------------
# failures: timeouts, refused connections, the breaker, close()
# ---------------------------------------------------------------------------


def test_a_paused_server_times_out_within_socket_timeout(server_factory: ServerFactory) -> None:
    server = server_factory()

    async def main() -> None:
        r = AsyncRedisClient.from_url(
            server.url, socket_timeout=0.5, max_connections=20, circuit_breaker=False
        )
        async with r:
            await asyncio.gather(*(r.ping() for _ in range(10)))  # 10 pooled connections
            server.pause()
            try:
                with Ticker() as ticker:
                    took, exc = await elapsed(r.get("k"))
                    assert isinstance(exc, TimeoutError), exc
                    assert 0.45 <= took <= 0.5 * 1.2, took
                    # Many tasks at once: each bounded, all concurrently.
                    start = time.monotonic()
                    results = await asyncio.gather(
                        *(r.get(f"k{i}") for i in range(10)), return_exceptions=True
                    )
                    assert time.monotonic() - start <= 0.5 * 1.2
                    assert all(isinstance(e, TimeoutError) for e in results), results
                # The loop kept running while the calls waited (~1 s).
                assert ticker.ticks >= 40, ticker.ticks
            finally:
                server.resume()
            assert await r.ping() is True

    run(main())


def test_a_blocking_command_gets_its_own_deadline(server_factory: ServerFactory) -> None:
    server = server_factory()

    async def main() -> None:
        async with AsyncRedisClient.from_url(server.url, socket_timeout=0.2) as r:
            # A 0.6 s BLPOP outlives socket_timeout without timing out.
            took, exc = await elapsed(r.blpop("nothing", 0.6))
            assert exc is None and 0.55 <= took <= 1.2
            await r.ping()
            server.pause()
            try:
                # ... but a hung server still fails it: block + max(timeout, 0.5).
                took, exc = await elapsed(r.blpop("nothing", 0.3))
                assert isinstance(exc, TimeoutError), exc
                assert 0.75 <= took <= 0.8 * 1.2
            finally:
                server.resume()

    run(main())


def test_refused_connections_fail_fast() -> None:
    async def main() -> None:
        port = find_free_port()
        async with AsyncRedisClient(port=port, retry_attempts=0) as r:
            took, exc = await elapsed(r.get("k"))
            assert isinstance(exc, ConnectionError) and isinstance(exc, OSError)
            assert took < 0.2
        async with AsyncRedisClient(port=port) as r:  # default retries, jittered
            took, exc = await elapsed(r.get("k"))
            assert isinstance(exc, ConnectionError)
            assert took < 2.0
            assert r.pool_stats()["in_use"] == 0

    run(main())


def test_the_breaker_opens_and_recovers(server_factory: ServerFactory) -> None:
    server = server_factory()

    async def main() -> None:
        r = AsyncRedisClient.from_url(
            server.url,
            failure_threshold=3,
            recovery_timeout=0.5,
            success_threshold=2,
            retry_attempts=0,
        )
        async with r:
            assert await r.ping() is True
            server.stop()
            for _ in range(3):
                with pytest.raises(ConnectionError) as info:
                    await r.get("k")
                assert not isinstance(info.value, CircuitOpenError)
            assert r.circuit_breaker_state()["state"] == "open"
            took, exc = await elapsed(r.get("k"))
            assert isinstance(exc, CircuitOpenError) and took < 0.05
            server.start()
            await asyncio.sleep(0.6)
            assert await r.ping() is True  # a half-open probe
            assert await r.ping() is True
            assert r.circuit_breaker_state()["state"] == "closed"
            assert r.metrics()["errors"]["CircuitOpenError"] == 1

    run(main())


def test_close_wakes_every_waiting_task(redis_url: str) -> None:
    async def main() -> None:
        r = AsyncRedisClient.from_url(redis_url, max_connections=1)
        holder = asyncio.ensure_future(r.blpop("close:nothing", 10))
        waiters = [asyncio.ensure_future(r.get("k")) for _ in range(5)]
        await asyncio.sleep(0.1)
        start = time.monotonic()
        await r.aclose()
        results = await asyncio.gather(holder, *waiters, return_exceptions=True)
        assert time.monotonic() - start < 1.0
        assert all(isinstance(e, ConnectionError) for e in results), results
        with pytest.raises(ConnectionError):
            await r.get("k")
        await r.aclose()  # idempotent

    run(main())


def test_reply_limit_closes_the_connection_and_the_next_call_works(
    redis_client: RedisClient, redis_url: str
) -> None:
    redis_client.set("big", b"x" * MiB)

    async def main() -> None:
        async with AsyncRedisClient.from_url(
            redis_url, max_reply_bytes=64 * 1024, max_connections=1
        ) as r:
            with pytest.raises(ReplyLimitError):
                await r.get("big")
            assert await r.set("small", "ok") is True
            assert await r.get("small") == b"ok"

    run(main())


def test_a_restarted_server_is_reconnected_transparently(server_factory: ServerFactory) -> None:
    server = server_factory()

    async def main() -> None:
        # The checkout's liveness check: multiplexing off (test_mux.py has the
        # shared connection's reconnect).
        async with AsyncRedisClient.from_url(
            server.url, max_connections=2, async_multiplex=False
        ) as r:
            await asyncio.gather(r.set("a", "1"), r.ping())
            server.restart()  # pooled connections are now dead
            assert await r.ping() is True  # stale socket found at checkout
            assert await r.get("a") is None  # fresh server, no persistence
            assert r.pool_stats()["created"] >= 3

    run(main())


# ---------------------------------------------------------------------------
# addressing: DNS names, TLS, unix sockets
# ---------------------------------------------------------------------------


def test_a_host_name_is_resolved_without_blocking(redis_server: Any) -> None:
    async def main() -> None:
        async with AsyncRedisClient(host="localhost", port=redis_server.port) as r:
            assert await r.ping() is True
            assert "localhost" in repr(r)

    run(main())


def test_unix_socket(redis_server: Any) -> None:
    path = getattr(redis_server, "unix_socket_path", None)
    if not path:
        pytest.skip("the session server has no unix socket")

    async def main() -> None:
        async with AsyncRedisClient(unix_socket_path=path) as r:
            assert await r.echo("via unix") == b"via unix"

    run(main())


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not on PATH")
def test_tls_with_client_certificates(server_factory: ServerFactory) -> None:
    server = server_factory(tls=True)

    async def main() -> None:
        r = AsyncRedisClient.from_url(
            server.url,
            ssl_ca_certs=server.ca_cert,
            ssl_certfile=server.client_cert,
            ssl_keyfile=server.client_key,
            max_connections=4,
        )
        async with r:
            value = os.urandom(2 * MiB)
            await r.set("tls", value)
            got = await asyncio.gather(*(r.get("tls") for _ in range(8)))
            assert got == [value] * 8
            p = r.pipeline()
            p.incr("n").incr("n")
            assert await p.execute() == [1, 2]
            task = asyncio.ensure_future(r.get("tls"))
            await asyncio.sleep(0.002)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert await r.get("n") == b"2"

    run(main(), timeout=60)


# ---------------------------------------------------------------------------
# the shared client, health, with_redis_fallback
# ---------------------------------------------------------------------------


def test_get_client_is_one_per_event_loop(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    monkeypatch.delenv("APP_ENV", raising=False)

    async def main() -> AsyncRedisClient:
        client = AsyncRedisClient.get_client()
        assert AsyncRedisClient.get_client() is client

        async def other_task() -> AsyncRedisClient:
            return AsyncRedisClient.get_client()

        assert await asyncio.ensure_future(other_task()) is client
        assert await client.ping() is True
        AsyncRedisClient._reset_shared()
        assert AsyncRedisClient.get_client() is not client
        AsyncRedisClient._reset_shared()
        return client

    first = run(main())
    second = run(main())
    assert first is not second
    with pytest.raises(RuntimeError):  # no running loop: no shared client
        AsyncRedisClient.get_client()


def test_get_client_never_raises_when_redis_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{find_free_port()}/0")

    async def main() -> None:
        client = AsyncRedisClient.get_client()
        try:
            with pytest.raises(ConnectionError):
                await client.get("k")
        finally:
            AsyncRedisClient._reset_shared()

    run(main())


def test_health_check(redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as r:
            report = await r.health_check()
            assert report["status"] == "healthy"
            deep = await r.health_check(deep=True)
            assert deep["deep"]["ok"] is True
        down = AsyncRedisClient(port=find_free_port(), retry_attempts=0)
        async with down:
            took, _ = await elapsed(down.health_check())
            report = await down.health_check()
            assert report["status"] == "unhealthy"
            assert report["type"] == "ConnectionError"
            assert took < 1.0

    run(main())


def test_with_redis_fallback_on_an_async_function(
    redis_client: RedisClient, redis_url: str
) -> None:
    fallback = pytest.importorskip(
        "pyredisclient.fallback", reason="pyredisclient.fallback is not written yet"
    )
    up = AsyncRedisClient.from_url(redis_url)
    down = AsyncRedisClient(port=find_free_port(), retry_attempts=0)

    @fallback.with_redis_fallback("default")
    async def read(client: AsyncRedisClient, key: str) -> Any:
        return await client.get(key)

    @fallback.with_redis_fallback(factory=list)
    async def boom(client: AsyncRedisClient) -> Any:
        return await client.blpop("fallback:nothing", 5)

    redis_client.set("present", "here")
    name = f"{read.__module__}.{read.__qualname__}"

    async def main() -> None:
        async with up, down:
            before = fallback.fallback_counts().get(name, 0)
            assert await read(up, "present") == b"here"
            assert await read(down, "present") == "default"
            took, _ = await elapsed(read(down, "present"))
            assert took < 0.2
            assert fallback.fallback_counts()[name] - before == 2
            assert "fallback" in " ".join(up.metrics()["fallbacks"])  # merged into metrics
            # Cancellation is not an outage: it propagates, never a fallback.
            task = asyncio.ensure_future(boom(up))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # A bug in the caller (DataError) still returns the fallback, logged.
            assert await read(up, None) == "default"  # type: ignore[arg-type]

    run(main())


@pytest.fixture
def server_factory(redis_server_factory: ServerFactory) -> ServerFactory:
    """redis_server_factory, under a name that reads better in these tests."""
    return redis_server_factory
