"""AsyncRedisClient against real redis-server processes, when things go wrong:
cancellation in the middle of a blocking command and of a large reply (the next call
must get its own reply: no desync); timeouts against a paused server; refused
connections, the circuit breaker, close() while tasks wait; DNS names, TLS and unix
sockets; the per-loop shared client; with_redis_fallback on ``async def``.

Each test runs its own event loop with ``asyncio.run`` (no pytest-asyncio).
Timing bounds follow the issue (a timeout within socket_timeout + 20%) and
would fail if a call hung or blocked the event loop.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from typing import Any

import pytest
from aio_helpers import (
    MiB,
    ServerFactory,
    Ticker,
    elapsed,
    run,
)
from conftest import open_fds

from pyredisclient import (
    CircuitOpenError,
    ConnectionError,
    RedisClient,
    ReplyLimitError,
    TimeoutError,
)
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.testing import find_free_port

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
            before = open_fds()
            for _ in range(50):
                task = asyncio.ensure_future(r.blpop("leak", 1))
                await asyncio.sleep(0.002)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
            assert await r.ping() is True
            assert open_fds() <= before + 1

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
            await r.ping()  # the shared connection, opened first: the BLPOPs share one
            # A 0.6 s BLPOP outlives socket_timeout without timing out.
            took, exc = await elapsed(r.blpop("nothing", 0.6))
            assert exc is None and 0.55 <= took <= 1.2
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
            # Cancel a 2 MiB GET while its reply is on the wire: usually 2 ms in.
            # A quiet machine can read the whole reply by then, so after ten such
            # tries, one loop turn in (the request sent, nothing read yet). Either
            # way the late reply must be read and dropped, the connection in step.
            for delay in [0.002] * 10 + [0]:
                task = asyncio.ensure_future(r.get("tls"))
                await asyncio.sleep(delay)
                if not task.done():
                    break
                assert task.result() == value
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
