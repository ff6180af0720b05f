"""Logs when the link to Redis changes: first connect, reconnects, breaker transitions.

Each record carries structured ``extra`` fields (redis_event, redis_host, redis_port,
redis_db, redis_tls, redis_breaker); the password never appears; successful calls
log nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable, List

import pytest

from pyredisclient import CircuitOpenError, RedisClient, RedisError
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.testing import RedisServer

ServerFactory = Callable[..., RedisServer]
LOGGER = "pyredisclient"
PASSWORD = "l0g-s3cret-pw"
FAST = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5, "retry_attempts": 1}


def events(caplog: pytest.LogCaptureFixture) -> List[tuple[str, int]]:
    return [
        (r.redis_event, r.levelno)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == LOGGER and hasattr(r, "redis_event")
    ]


def kill_clients(admin: RedisClient) -> int:
    """Close every normal connection but the admin's own (server side)."""
    return int(admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"))


@pytest.fixture
def server(redis_server_factory: ServerFactory) -> RedisServer:
    return redis_server_factory(password=PASSWORD)


def make(server: RedisServer, **options: Any) -> RedisClient:
    return RedisClient(host="127.0.0.1", port=server.port, password=PASSWORD, **{**FAST, **options})


def test_first_connect_logs_one_info_line_with_where(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    client = make(server, db=2)
    try:
        assert caplog.records == []  # lazy: nothing before the first call
        client.set("k", "v")
        with client.pipeline() as pipe:  # more connections: no more lines
            pipe.get("k").get("k")
            pipe.execute()
        assert client.get("k") == b"v"
    finally:
        client.close()
    assert events(caplog) == [("connect", logging.INFO)]
    record = caplog.records[0]
    assert record.getMessage() == f"Redis connected to 127.0.0.1:{server.port} db 2, TLS no"
    assert record.redis_host == "127.0.0.1"  # type: ignore[attr-defined]
    assert record.redis_port == server.port  # type: ignore[attr-defined]
    assert record.redis_db == 2  # type: ignore[attr-defined]
    assert record.redis_tls is False  # type: ignore[attr-defined]
    assert record.redis_breaker is None  # type: ignore[attr-defined]
    assert PASSWORD not in caplog.text
    assert all(PASSWORD not in repr(vars(r)) for r in caplog.records)


def test_thousand_successful_calls_log_nothing(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    client = make(server)
    try:
        client.ping()  # the connect line comes first
        caplog.set_level(logging.DEBUG, logger=LOGGER)
        caplog.clear()
        for i in range(1000):
            client.set("k", i)
        assert client.get("k") == b"999"
    finally:
        client.close()
    assert caplog.records == []


def test_a_killed_connection_logs_one_reconnect_warning(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    client = make(server, max_connections=8)
    admin = make(server)
    try:
        admin.ping()
        # Four pooled connections, then all of them killed at once.
        with client.pipeline(transaction=False) as p1, client.pipeline(transaction=False) as p2:
            p1.ping()
            p2.ping()
            p1.execute()
            p2.execute()
        assert client.ping() is True
        assert events(caplog).count(("connect", logging.INFO)) == 2  # each client once
        caplog.clear()
        assert kill_clients(admin) >= 1
        for _ in range(20):  # every dead pooled connection is found and replaced
            assert client.ping() is True
        assert events(caplog) == [("reconnect", logging.WARNING)]
        record = caplog.records[0]
        assert record.getMessage() == (
            f"Redis reconnected to 127.0.0.1:{server.port} db 0, TLS no after a connection failure"
        )
        assert record.redis_port == server.port  # type: ignore[attr-defined]
        caplog.clear()
        assert kill_clients(admin) >= 1  # a second outage is a second event
        assert client.get("nope") is None
        assert events(caplog) == [("reconnect", logging.WARNING)]
    finally:
        client.close()
        admin.close()
    assert PASSWORD not in caplog.text


def test_breaker_transitions_log_warnings_with_fields(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    client = make(
        server,
        retry_attempts=0,
        failure_threshold=2,
        min_recovery_timeout=0.2,
        recovery_timeout=0.2,
        success_threshold=1,
    )
    try:
        client.ping()
        server.stop()
        for _ in range(2):
            with pytest.raises(RedisError):
                client.get("k")
        with pytest.raises(CircuitOpenError):
            client.get("k")
        server.start()
        deadline = time.monotonic() + 10
        while True:  # bounded by the deadline: wait out the open time
            try:
                client.get("k")
                break
            except (CircuitOpenError, RedisError):
                assert time.monotonic() < deadline, "the breaker did not close"
                time.sleep(0.05)
    finally:
        client.close()
    got = events(caplog)
    assert got[0] == ("connect", logging.INFO)
    breaker = [e for e in got if e[0].startswith("breaker_")]
    assert breaker == [
        ("breaker_open", logging.WARNING),
        ("breaker_half_open", logging.WARNING),
        ("breaker_closed", logging.WARNING),
    ]
    assert ("reconnect", logging.WARNING) in got
    opened = next(r for r in caplog.records if getattr(r, "redis_event", "") == "breaker_open")
    assert opened.redis_breaker == "open"  # type: ignore[attr-defined]
    assert opened.redis_port == server.port  # type: ignore[attr-defined]
    assert opened.getMessage().startswith("circuit breaker opened for ")
    assert PASSWORD not in caplog.text


def test_async_client_logs_connect_and_reconnect(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)

    async def main() -> None:
        client = AsyncRedisClient(host="127.0.0.1", port=server.port, password=PASSWORD, **FAST)
        admin = make(server)
        try:
            await client.set("k", "v")
            for _ in range(100):
                assert await client.get("k") == b"v"
            assert events(caplog) == [("connect", logging.INFO)]
            admin.ping()
            caplog.clear()
            assert kill_clients(admin) >= 1
            for _ in range(5):
                assert await client.get("k") == b"v"
            assert events(caplog) == [("reconnect", logging.WARNING)]
        finally:
            await client.aclose()
            admin.close()

    asyncio.run(main())
    assert PASSWORD not in caplog.text
