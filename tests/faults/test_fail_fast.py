"""Failing fast when Redis is down, and still riding through a restart.

A refused connect (nothing listens) is an answer, not a blip: when the pool has no
evidence that the server was up moments ago, or a call already gave up on it, the
refusal is retried once at once and the call fails in microseconds. A pool that was
serving calls moments ago rides a restart through with backoff.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from typing import Any, Callable

import pytest
from fakeservers import FakeServer, send_on_first_command

import pyredisclient
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.testing import RedisServer, find_free_port


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    try:
        result = call()
    except pyredisclient.RedisError as exc:
        result = exc
    return result, time.perf_counter() - t0


def test_the_first_calls_fail_within_milliseconds_when_redis_refuses(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    # Default settings, a fresh client each round, Redis refusing connections: the
    # calls before the breaker opens used to cost 80-440 ms each (retry backoff).
    port = find_free_port()
    samples = []
    for _ in range(20):
        client = make_client(port)
        for _ in range(5):  # failure_threshold: the breaker opens after these
            result, elapsed = timed(client.ping)
            assert isinstance(result, pyredisclient.ConnectionError), result
            assert not isinstance(result, pyredisclient.CircuitOpenError)
            assert "refused" in str(result)
            samples.append(elapsed)
        assert client.pool_stats()["retries"] == 5  # one immediate retry per call
        client.close()
    samples.sort()
    p50, p99 = statistics.median(samples), samples[int(len(samples) * 0.99) - 1]
    assert p50 < 0.002, f"p50 {p50 * 1e3:.2f} ms"
    assert p99 < 0.02, f"p99 {p99 * 1e3:.2f} ms"


def test_a_missing_unix_socket_fails_fast_too(
    make_client: Callable[..., pyredisclient.RedisClient], tmp_path: Any
) -> None:
    client = pyredisclient.RedisClient(unix_socket_path=str(tmp_path / "gone.sock"))
    try:
        for _ in range(3):
            result, elapsed = timed(lambda: client.get("k"))
            assert isinstance(result, pyredisclient.ConnectionError), result
            assert elapsed < 0.05
        assert client.pool_stats()["retries"] == 3
    finally:
        client.close()


def test_the_async_client_fails_fast_too() -> None:
    port = find_free_port()

    async def main() -> list[float]:
        client = AsyncRedisClient(host="127.0.0.1", port=port)
        out = []
        try:
            for _ in range(5):
                t0 = time.perf_counter()
                with pytest.raises(pyredisclient.ConnectionError, match="refused"):
                    await client.get("k")
                out.append(time.perf_counter() - t0)
        finally:
            await client.aclose()
        return out

    durations = asyncio.run(main())
    assert max(durations) < 0.05, durations


def test_a_restart_within_the_retry_budget_is_ridden_through(
    redis_server_factory: Callable[..., RedisServer],
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    # retry_base=0.25: the refused connects of a server that was up moments ago are
    # retried after 125-250, 250-500 and 500-1000 ms (equal jitter): at least 875 ms,
    # room for a restart on a loaded machine (under ASan a start took over 350 ms).
    server = redis_server_factory()
    client = make_client(server.port, retry_base=0.25)
    assert client.set("k", "v") is True
    outcome: list[Any] = []
    server.kill()  # a crash: the pooled connection is dead, connects are refused
    worker = threading.Thread(target=lambda: outcome.append(timed(lambda: client.get("k"))))
    worker.start()
    time.sleep(0.05)
    server.start()  # same port; from this thread (the server dies with its starter)
    worker.join(5)
    result, elapsed = outcome[0]
    assert result is None, result  # the restarted server has no data: but it answered
    assert 0.05 <= elapsed < 2.0
    assert client.pool_stats()["retries"] >= 1
    state = client.circuit_breaker_state()
    assert (state["failures"], state["window_failures"]) == (0, 0)


def test_once_a_call_gave_up_the_next_fail_fast_until_a_connect_succeeds(
    redis_server_factory: Callable[..., RedisServer],
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    server = redis_server_factory()
    # Breaker out of the way: this is about the pool's own memory of "down".
    client = make_client(server.port, failure_threshold=1000, failure_rate_threshold=0)
    assert client.ping() is True
    server.kill()
    # Up moments ago: the first call rides the refusals with backoff (at least
    # 25 + 50 + 100 ms with the default retry_base of 0.05 s), then gives up.
    result, elapsed = timed(lambda: client.get("k"))
    assert isinstance(result, pyredisclient.ConnectionError), result
    assert elapsed >= 0.175
    # The pool now knows: each call tries one connect (and one immediate retry).
    durations = []
    for _ in range(20):
        result, elapsed = timed(lambda: client.get("k"))
        assert isinstance(result, pyredisclient.ConnectionError), result
        durations.append(elapsed)
    # A backoff would make every one of them last 25 ms or more; a loaded machine
    # may stall one or two of them (106 ms seen at load 11).
    assert statistics.median(durations) < 0.005, durations
    assert sum(d >= 0.025 for d in durations) <= 2, durations
    server.start()
    result, elapsed = timed(lambda: client.get("k"))
    assert result is None, result  # served at once: no backoff, no breaker (1 s) to wait out
    assert elapsed < 0.5
    # Up again: the next crash is ridden through again.
    server.kill()
    result, elapsed = timed(lambda: client.get("k"))
    assert isinstance(result, pyredisclient.ConnectionError), result
    assert elapsed >= 0.175


def test_a_loading_reply_to_one_command_is_ridden_through() -> None:
    # A restarted server answers -LOADING while it reads its data back: it ran
    # nothing, so the command (a write too) is replayed after a backoff instead of
    # failing (and counting against the breaker).
    loading = b"-LOADING Redis is loading the dataset in memory\r\n"
    with FakeServer(send_on_first_command(loading, connections=2)) as fake:
        client = pyredisclient.RedisClient(host="127.0.0.1", port=fake.port)
        try:
            result, elapsed = timed(lambda: client.set("k", "v"))
            assert result is True, result
            assert fake.command_names() == [b"SET"] * 3
            assert client.pool_stats()["retries"] == 2
            # Equal jitter: 25-50 ms, then 50-100 ms.
            assert 0.075 <= elapsed < 1.0
            assert client.circuit_breaker_state()["failures"] == 0
        finally:
            client.close()


def test_loading_fails_once_the_retries_are_spent_and_pipelines_are_not_replayed() -> None:
    loading = b"-LOADING Redis is loading the dataset in memory\r\n"
    with FakeServer(send_on_first_command(loading, connections=2)) as fake:
        client = pyredisclient.RedisClient(host="127.0.0.1", port=fake.port, retry_attempts=1)
        try:
            with pytest.raises(pyredisclient.BusyLoadingError, match="LOADING Redis is loading"):
                client.set("k", "v")
            assert client.pool_stats()["retries"] == 1
            assert client.circuit_breaker_state()["failures"] == 1
        finally:
            client.close()
    # A pipeline whose first reply says LOADING: loading may have ended before its
    # next command ran (here it did), so it is not replayed.
    with FakeServer(send_on_first_command(loading, connections=1)) as fake:
        client = pyredisclient.RedisClient(host="127.0.0.1", port=fake.port)
        try:
            pipe = client.pipeline(transaction=False)
            pipe.set("a", "1").set("b", "2")
            first, second = pipe.execute(raise_on_error=False)
            assert isinstance(first, pyredisclient.BusyLoadingError)
            assert second is True
            assert client.pool_stats()["retries"] == 0
            assert fake.command_names() == [b"SET", b"SET"]
        finally:
            client.close()
