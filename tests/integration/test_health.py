"""health_check(): healthy, degraded and unhealthy against real (and hung) servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any, Callable, Dict

import pytest
from fakeservers import FakeServer, Peer, hang

import pyredisclient
from pyredisclient import health
from pyredisclient.testing import RedisServer, find_free_port

HEALTHY_KEYS = {
    "status",
    "ping",
    "latency_ms",
    "connected_clients",
    "redis_version",
    "used_memory_human",
    "uptime_in_seconds",
    "memory",
    "pool",
    "circuit_breaker",
}


@pytest.fixture
def server(redis_server_factory: Callable[..., RedisServer]) -> RedisServer:
    """A server of this test's own, free to reconfigure, pause or stop."""
    return redis_server_factory()


@pytest.fixture
def shared_reset() -> Iterator[None]:
    """Forget the shared sync client before and after (the plugin's shared_client_reset
    also resets the async singleton, which needs a running loop)."""
    pyredisclient.RedisClient._reset_shared()
    yield
    pyredisclient.RedisClient._reset_shared()


def test_healthy_report(redis_client: pyredisclient.RedisClient) -> None:
    report = redis_client.health_check()
    assert report["status"] == "healthy", report
    assert HEALTHY_KEYS <= set(report)
    assert report["ping"] == "PONG"
    assert isinstance(report["latency_ms"], float) and 0 <= report["latency_ms"] < 1000
    assert isinstance(report["connected_clients"], int) and report["connected_clients"] >= 1
    assert report["redis_version"].count(".") == 2
    assert report["used_memory_human"].endswith(("K", "M", "G", "B"))
    assert isinstance(report["uptime_in_seconds"], int)
    # The shared test server has no maxmemory: no limit, no ratio.
    assert report["memory"]["max_bytes"] == 0
    assert report["memory"]["usage_ratio"] is None
    assert report["memory"]["status"] == "ok"
    assert report["memory"]["used_bytes"] > 0
    assert report["circuit_breaker"]["state"] == "closed"
    assert report["pool"]["created"] >= 1
    assert "deep" not in report


def test_deep_check_times_a_round_trip_and_cleans_up(
    redis_client: pyredisclient.RedisClient,
) -> None:
    report = redis_client.health_check(deep=True)
    assert report["status"] == "healthy", report
    assert report["deep"]["ok"] is True
    assert report["deep"]["latency_ms"] > 0
    assert redis_client.keys(f"{health.HEALTH_KEY_PREFIX}*") == []


def test_memory_above_warning_or_critical_ratio_is_degraded(
    server: RedisServer, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    admin = make_client(server.url)
    used = int(admin.info("memory")["used_memory"])
    admin.config_set("maxmemory", used * 2)  # usage close to 50 %

    ok = make_client(server.url, memory_warning_ratio=0.7, memory_critical_ratio=0.9)
    report = ok.health_check()
    assert report["status"] == "healthy", report
    assert 0.3 < report["memory"]["usage_ratio"] < 0.7
    assert report["memory"]["max_bytes"] == used * 2

    warn = make_client(server.url, memory_warning_ratio=0.2, memory_critical_ratio=0.9)
    report = warn.health_check()
    assert report["status"] == "degraded"
    assert report["memory"]["status"] == "warning"
    assert any("memory" in r for r in report["reasons"])

    critical = make_client(server.url, memory_warning_ratio=0.1, memory_critical_ratio=0.2)
    report = critical.health_check()
    assert report["status"] == "degraded"
    assert report["memory"]["status"] == "critical"


def test_default_ratios_come_from_the_config(
    server: RedisServer, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    client = make_client(server.url)
    assert (client.config.memory_warning_ratio, client.config.memory_critical_ratio) == (0.8, 0.9)
    used = int(client.info("memory")["used_memory"])
    client.config_set("maxmemory", int(used / 0.85))  # ~85 %: above 0.8, below 0.9
    report = client.health_check()
    assert report["memory"]["status"] == "warning", report["memory"]
    assert report["status"] == "degraded"


def test_memory_status_logic() -> None:
    def status(used: Any, limit: Any) -> dict[str, Any]:
        return health.memory_status({"used_memory": used, "maxmemory": limit}, 0.8, 0.9)

    assert status(100, 0) == {
        "used_bytes": 100,
        "max_bytes": 0,
        "usage_ratio": None,
        "status": "ok",
    }
    assert status(80, 100)["status"] == "ok"  # the thresholds are "above"
    assert status(81, 100)["status"] == "warning"
    assert status(91, 100)["status"] == "critical"
    assert status(150, 100)["usage_ratio"] == 1.5
    assert status(None, 100)["status"] == "unknown"


def test_deep_check_failing_on_a_reachable_server_is_degraded(
    server: RedisServer, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    admin = make_client(server.url)
    # A user that may read and run INFO but not write: the deep SET fails.
    admin.execute_command("ACL", "SETUSER", "reader", "on", ">reader-pw", "~*", "+@all", "-set")
    reader = make_client(server.url, username="reader", password="reader-pw")
    report = reader.health_check()
    assert report["status"] == "healthy", report
    report = reader.health_check(deep=True)
    assert report["status"] == "degraded", report
    assert report["deep"]["ok"] is False
    assert report["deep"]["type"] == "NoPermissionError"
    assert "reader-pw" not in repr(report)


def test_info_refused_by_an_acl_is_degraded_not_unhealthy(
    server: RedisServer, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    admin = make_client(server.url)
    admin.execute_command("ACL", "SETUSER", "app", "on", ">app-pw", "~*", "+@all", "-info")
    client = make_client(server.url, username="app", password="app-pw")
    report = client.health_check(deep=True)
    assert report["status"] == "degraded", report
    assert report["ping"] == "PONG"
    assert report["memory"]["status"] == "unknown"
    assert report["deep"]["ok"] is True
    assert any("INFO failed (NoPermissionError" in r for r in report["reasons"])
    assert "app-pw" not in repr(report)


def test_ping_refused_by_an_acl_is_degraded_not_unhealthy(
    server: RedisServer, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    """A least-privilege user (+@read +@write) may not PING: the server answered,
    and the user's own commands work, so a /health route must not take the app
    out of rotation (it was "unhealthy", a 503)."""
    admin = make_client(server.url)
    admin.execute_command(
        "ACL", "SETUSER", "rw", "reset", "on", ">rw-pw", "~*", "+@read", "+@write", "+info"
    )  # fmt: skip
    client = make_client(server.url, username="rw", password="rw-pw")
    report = client.health_check(deep=True)
    assert report["status"] == "degraded", report
    assert report["ping"] is None and report["redis_version"]
    assert report["deep"]["ok"] is True
    assert any("PING refused (NoPermissionError" in r for r in report["reasons"]), report
    assert "rw-pw" not in repr(report)

    async def on_asyncio() -> Dict[str, Any]:
        async with pyredisclient.AsyncRedisClient.from_url(
            server.url, username="rw", password="rw-pw"
        ) as aclient:
            return await aclient.health_check()

    assert asyncio.run(on_asyncio())["status"] == "degraded"


def test_decoded_and_prefixed_clients(
    redis_client: pyredisclient.RedisClient,
    redis_url: str,
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    decoded = make_client(redis_url, decode_responses=True)
    report = decoded.health_check(deep=True)
    assert report["status"] == "healthy", report
    assert report["ping"] == "PONG"
    assert report["deep"]["ok"] is True

    prefixed = make_client(redis_url, key_prefix="tenant1:")
    report = prefixed.health_check(deep=True)
    assert report["status"] == "healthy", report
    assert report["deep"]["ok"] is True
    assert redis_client.keys("*") == []


def test_refused_is_unhealthy_and_bounded(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    client = make_client(host="127.0.0.1", port=find_free_port(), socket_connect_timeout=0.5)
    t0 = time.monotonic()
    report = client.health_check()
    elapsed = time.monotonic() - t0
    assert report["status"] == "unhealthy"
    assert report["type"] == "ConnectionError"
    assert "refused" in report["error"]
    assert report["circuit_breaker"]["failures"] == 1
    # Never seen up: the refusal is retried once, at once, and not waited on.
    assert report["pool"]["retries"] == 1
    assert elapsed < 0.5


def test_hung_server_is_unhealthy_within_the_socket_timeout(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    with FakeServer(hang) as fake:
        client = make_client(host="127.0.0.1", port=fake.port, socket_timeout=0.3)
        t0 = time.monotonic()
        report = client.health_check()
        elapsed = time.monotonic() - t0
        assert fake.command_names() == [b"PING"]
    assert report["status"] == "unhealthy"
    assert report["type"] == "TimeoutError"
    assert 0.3 <= elapsed < 0.3 * 1.2 + 0.05
    assert report["elapsed_ms"] >= 300


def test_paused_redis_is_unhealthy_then_healthy_again(
    server: RedisServer, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    client = make_client(server.url, socket_timeout=0.3)
    assert client.health_check()["status"] == "healthy"
    server.pause()
    try:
        report = client.health_check()
    finally:
        server.resume()
    assert report["status"] == "unhealthy"
    assert report["type"] == "TimeoutError"
    assert client.health_check()["status"] == "healthy"


def test_open_breaker_is_unhealthy_instantly(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    client = make_client(
        host="127.0.0.1",
        port=find_free_port(),
        failure_threshold=1,
        retry_attempts=0,
        recovery_timeout=60,
    )
    first = client.health_check()
    assert first["type"] == "ConnectionError"
    assert first["circuit_breaker"]["state"] == "open"
    attempts = client.pool_stats()["created"] + client.pool_stats()["retries"]
    report = client.health_check()
    assert report["status"] == "unhealthy"
    assert report["type"] == "CircuitOpenError"
    assert report["circuit_breaker"]["state"] == "open"
    assert report["circuit_breaker"]["refused"] >= 1
    # Instant because nothing was tried: no connect, no retry, no wait.
    assert client.pool_stats()["created"] + client.pool_stats()["retries"] == attempts


def test_half_open_breaker_after_recovery_is_degraded(
    server: RedisServer, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    client = make_client(
        server.url,
        socket_timeout=0.2,
        failure_threshold=1,
        recovery_timeout=0.2,
        success_threshold=5,
        retry_attempts=0,
    )
    server.pause()
    try:
        assert client.health_check()["type"] == "TimeoutError"
    finally:
        server.resume()
    time.sleep(0.25)
    report = client.health_check()  # PING and INFO are 2 of the 5 probes needed
    assert report["status"] == "degraded", report
    assert report["circuit_breaker"]["state"] == "half_open"
    assert "circuit breaker half_open: a failure event" in report["reasons"]


def test_wrong_password_never_appears_in_the_report(
    redis_server_factory: Callable[..., RedisServer],
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    server = redis_server_factory(password="right-pw")
    client = make_client(f"redis://:wr0ng-pw-31c@127.0.0.1:{server.port}/0")
    report = client.health_check()
    assert report["status"] == "unhealthy"
    assert report["type"] == "AuthenticationError"
    assert "wr0ng-pw-31c" not in repr(report)
    assert report["circuit_breaker"]["state"] == "closed"


def test_redaction_of_messages() -> None:
    assert health.redact("connect to redis://user:pw@h:1/0 failed") == (
        "connect to redis://user:***@h:1/0 failed"
    )
    assert health.redact("rediss://:tok@h") == "rediss://:***@h"
    # The shared config.redact_url also hides a password in the query string.
    assert health.redact("redis://h:1/0?password=tok&db=1") == "redis://h:1/0?password=***&db=1"
    assert health.redact("AUTH s3cr3t failed", ["s3cr3t", None, ""]) == "AUTH *** failed"
    assert len(health.redact("x" * 10_000)) == health.MAX_ERROR_LEN


def test_error_mentioning_the_password_is_redacted(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    # A server whose error reply echoes the password: a hostile or buggy proxy.
    def echoing_proxy(peer: Peer) -> None:
        auth = peer.read_command()
        if auth is None or not peer.send(b"+OK\r\n"):
            return
        if peer.read_command() is not None:
            peer.send(b"-ERR upstream refused AUTH " + auth[-1] + b" for PING\r\n")

    with FakeServer(echoing_proxy) as fake:
        client = make_client(host="127.0.0.1", port=fake.port, password="pa55-9f2e")
        report = client.health_check()
        assert fake.command_names() == [b"AUTH", b"PING"]
    assert report["status"] == "unhealthy"
    assert report["type"] == "ResponseError"
    assert report["error"] == "upstream refused AUTH *** for PING"
    assert "pa55-9f2e" not in repr(report)


def test_closed_client_is_unhealthy(make_client: Callable[..., pyredisclient.RedisClient]) -> None:
    client = make_client(host="127.0.0.1", port=find_free_port())
    client.close()
    report = client.health_check()
    assert report["status"] == "unhealthy"
    assert report["type"] == "ConnectionError"
    assert "pool" in report and "circuit_breaker" in report


def test_never_raises_even_when_the_client_misbehaves(
    redis_client: pyredisclient.RedisClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_info(*args: Any) -> Any:
        raise RuntimeError("a bug somewhere")

    monkeypatch.setattr(redis_client, "info", broken_info)
    report = redis_client.health_check()
    assert report["status"] == "unhealthy"
    assert report["type"] == "RuntimeError"


# -- the shared client (RedisClient.health_check() on the class) ----------------------


def test_class_level_check_uses_the_shared_client(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, shared_reset: None
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    report = pyredisclient.RedisClient.health_check()
    assert report["status"] == "healthy", report
    assert pyredisclient.RedisClient._shared is not None
    assert health.health_check(None)["status"] == "healthy"


def test_class_level_check_with_bad_configuration_is_unhealthy(
    monkeypatch: pytest.MonkeyPatch, shared_reset: None
) -> None:
    monkeypatch.setenv("REDIS_URL", "ftp://user:hunter2@nowhere/0")
    report = pyredisclient.RedisClient.health_check()
    assert report["status"] == "unhealthy"
    assert report["type"] == "ConfigurationError"
    assert "hunter2" not in repr(report)


def test_class_level_check_with_redis_down_is_unhealthy(
    monkeypatch: pytest.MonkeyPatch, shared_reset: None
) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{find_free_port()}/0")
    monkeypatch.setenv("REDIS_SOCKET_CONNECT_TIMEOUT", "0.5")
    report = pyredisclient.RedisClient.health_check(deep=True)
    assert report["status"] == "unhealthy"
    assert report["type"] == "ConnectionError"


# -- the asyncio check (AsyncRedisClient.health_check) -------------------------------


def test_async_report_matches_the_sync_report(
    server: RedisServer, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    from pyredisclient.aio import AsyncRedisClient

    sync_report = make_client(server.url).health_check(deep=True)

    async def main() -> dict[str, Any]:
        async with AsyncRedisClient.from_url(server.url) as client:
            return await client.health_check(deep=True)

    async_report = asyncio.run(main())
    assert async_report["status"] == sync_report["status"] == "healthy"
    assert set(async_report) == set(sync_report)
    assert set(async_report["memory"]) == set(sync_report["memory"])
    assert async_report["deep"]["ok"] is True


def test_async_check_of_a_hung_server_does_not_block_the_loop() -> None:
    from pyredisclient.aio import AsyncRedisClient

    async def main() -> tuple[dict[str, Any], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        with FakeServer(hang) as fake:
            async with AsyncRedisClient(host="127.0.0.1", port=fake.port, socket_timeout=0.3) as c:
                task = asyncio.ensure_future(ticker())
                report = await c.health_check()
                task.cancel()
        return report, ticks

    report, ticks = asyncio.run(main())
    assert report["status"] == "unhealthy"
    assert report["type"] == "TimeoutError"
    assert ticks >= 15  # the loop kept running while the PING waited ~0.3 s


def test_async_check_is_cancellable() -> None:
    from pyredisclient.aio import AsyncRedisClient

    async def main() -> None:
        with FakeServer(hang) as fake:
            async with AsyncRedisClient(host="127.0.0.1", port=fake.port, socket_timeout=5) as c:
                task = asyncio.ensure_future(c.health_check())
                await asyncio.sleep(0.1)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task

    t0 = time.monotonic()
    asyncio.run(main())
    assert time.monotonic() - t0 < 2


def test_async_check_with_an_open_breaker_and_bad_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pyredisclient.aio import AsyncRedisClient

    async def main() -> tuple[dict[str, Any], dict[str, Any], int]:
        async with AsyncRedisClient(
            host="127.0.0.1", port=find_free_port(), failure_threshold=1, retry_attempts=0
        ) as c:
            await c.health_check()
            before = c.pool_stats()
            report = await c.health_check()
            after = c.pool_stats()
            tried = (after["created"] - before["created"]) + (after["retries"] - before["retries"])
        monkeypatch.setenv("REDIS_URL", "ftp://user:hunter2@nowhere/0")
        shared = await health.health_check_async(None)
        AsyncRedisClient._reset_shared()
        return report, shared, tried

    report, shared, tried = asyncio.run(main())
    assert report["type"] == "CircuitOpenError"
    assert tried == 0  # refused by the breaker without a connect
    assert shared["type"] == "ConfigurationError"
    assert "hunter2" not in repr(shared)
