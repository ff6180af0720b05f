"""``get_client()``'s shared client stays open when someone closes it.

``with RedisClient.get_client() as r:`` in a Cloud Function, or ``async with
AsyncRedisClient.get_client() as r:`` in a FastAPI route, closed the process-wide
client at the end of the block: the next invocation or request got that closed client
back and every call failed with "client is closed" until the process was recycled,
and concurrent requests failed mid-way. Its close now does what redis-py's does: the
connections close, the client stays usable.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Iterator, List

import pytest

from pyredisclient import ConnectionError, RedisClient
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.integrations.testing import redis_server_available

pytestmark = pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")


@pytest.fixture
def shared_env(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    monkeypatch.delenv("APP_ENV", raising=False)
    RedisClient._reset_shared()
    try:
        yield
    finally:
        RedisClient._reset_shared()
        AsyncRedisClient._reset_shared()


def _close_logs(caplog: pytest.LogCaptureFixture) -> List[str]:
    return [
        record.levelname
        for record in caplog.records
        if record.name == "pyredisclient"
        and "shared client closed its connections" in record.getMessage()
    ]


def _wait_in_use(client: RedisClient) -> None:
    """Until another thread's call holds a connection of *client* (at most 2 s)."""
    for _ in range(200):
        if client.pool_stats()["in_use"] >= 1:
            return
        threading.Event().wait(0.01)
    raise AssertionError("no call took a connection")


def test_closing_the_shared_client_closes_connections_not_the_client(
    shared_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="pyredisclient")
    shared = RedisClient.get_client()  # a module-level global, as Cloud Functions keep it
    for invocation in range(3):  # each invocation closes it on the way out
        with RedisClient.get_client() as r:
            assert r is shared
            assert r.incr("invocations") == invocation + 1
        assert not r._core.closed
        assert r.pool_stats()["idle"] == 0  # its connection went
    assert shared.get("invocations") == b"3"
    assert _close_logs(caplog) == ["DEBUG", "WARNING", "DEBUG"]


def test_a_call_in_flight_finishes_when_another_thread_closes_it(shared_env: None) -> None:
    shared = RedisClient.get_client()
    shared.delete("q")
    got: List[object] = []
    waiter = threading.Thread(target=lambda: got.append(shared.blpop(["q"], timeout=5)))
    waiter.start()
    _wait_in_use(shared)
    shared.close()  # not cut: the BLPOP's connection closes once it is given back
    pusher = RedisClient.get_client()
    pusher.rpush("q", "job")
    waiter.join(10)
    assert got == [(b"q", b"job")]


def test_reset_shared_still_closes_it_for_good(shared_env: None) -> None:
    shared = RedisClient.get_client()
    RedisClient._reset_shared()
    assert shared._core.closed
    with pytest.raises(ConnectionError, match="client is closed"):
        shared.get("k")
    assert RedisClient.get_client() is not shared


def test_a_client_of_ones_own_still_closes_for_good(redis_url: str) -> None:
    own = RedisClient.from_url(redis_url)
    with own:
        assert own.ping() is True
    with pytest.raises(ConnectionError, match="client is closed"):
        own.ping()


def test_routes_closing_the_loops_shared_client(
    shared_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="pyredisclient")

    async def route() -> int:
        async with AsyncRedisClient.get_client() as r:
            hits: int = await r.incr("hits")
            return hits

    async def main() -> List[int]:
        first = [await route() for _ in range(3)]
        # concurrent requests, each closing the client when it is done
        rest = await asyncio.gather(*(route() for _ in range(20)))
        shared = AsyncRedisClient.get_client()
        assert not shared._core.closed and await shared.get("hits") == b"23"
        return first + sorted(rest)

    assert asyncio.run(main()) == list(range(1, 24))
    logs = _close_logs(caplog)
    assert len(logs) == 23 and logs.count("WARNING") == 1 and logs[1] == "WARNING"


def test_close_shared_wakes_a_blocked_caller_where_close_does_not(shared_env: None) -> None:
    shared = RedisClient.get_client()
    shared.delete("never")
    outcome: List[object] = []

    def wait_forever() -> None:
        try:
            outcome.append(shared.blpop(["never"], timeout=0))
        except ConnectionError as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=wait_forever, daemon=True)
    waiter.start()
    _wait_in_use(shared)
    shared.close()  # the shared client: its calls in flight go on
    waiter.join(0.3)
    assert waiter.is_alive() and outcome == []
    RedisClient.close_shared()
    waiter.join(5)
    assert not waiter.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], ConnectionError)
    assert shared._core.closed
    fresh = RedisClient.get_client()
    assert fresh is not shared and fresh.ping() is True
