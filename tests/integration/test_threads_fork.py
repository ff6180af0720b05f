"""One RedisClient shared by many threads, across os.fork(), and get_client().

Threads: exact results under contention, the GIL released during I/O and pool
waits. Fork: the child keeps using the parent's client on new connections and
the parent's connections are left alone. get_client(): one shared instance per
process, reset, and no exception when Redis is unreachable.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest
from forkchild import run_in_child

import pyredisclient
from pyredisclient import ConfigurationError, ConnectionError, RedisClient
from pyredisclient.testing import find_free_port

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@pytest.fixture
def shared_reset() -> Iterator[None]:
    """Forget the sync shared client before and after the test.

    Local rather than the plugin's shared_client_reset, which also resets the
    async shared client and needs a running loop for that.
    """
    RedisClient._reset_shared()
    yield
    RedisClient._reset_shared()


@pytest.fixture
def redis_env(monkeypatch: pytest.MonkeyPatch, redis_url: str, shared_reset: None) -> str:
    """REDIS_URL pointing at the session server, and no other REDIS_* variable."""
    for name in list(os.environ):
        if name.startswith("REDIS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("REDIS_URL", redis_url)
    return redis_url


def client_id(client: RedisClient) -> int:
    """CLIENT ID of the (pooled) connection the next call uses."""
    value = client.execute_command("CLIENT", "ID")
    assert isinstance(value, int)
    return value


def run_threads(target: Callable[[int], None], n: int, timeout: float = 30.0) -> None:
    """Run ``target(i)`` on n threads started together; re-raise the first failure."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def wrapper(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            target(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=wrapper, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "threads still running"
    if errors:
        raise errors[0]


# ---------------------------------------------------------------------------
# threads
# ---------------------------------------------------------------------------


def test_32_threads_share_one_client(make: Callable[..., RedisClient]) -> None:
    client = make()
    rounds = 200

    def work(t: int) -> None:
        for i in range(rounds):
            key = f"t{t}:k{i % 7}"
            value = f"{t}-{i}".encode()
            assert client.set(key, value) is True
            assert client.get(key) == value
            assert client.incr(f"t{t}:count") == i + 1
            client.incr("shared")

    run_threads(work, 32)
    assert client.get("shared") == str(32 * rounds).encode()
    assert client.mget([f"t{t}:count" for t in range(32)]) == [str(rounds).encode()] * 32
    stats = client.pool_stats()
    assert 1 <= stats["created"] <= 32
    assert stats["in_use"] == 0
    assert stats["errors"] == 0 and stats["timeouts"] == 0


def test_gil_is_released_during_a_blocking_read(make: Callable[..., RedisClient]) -> None:
    client = make()
    blocked = threading.Thread(target=lambda: client.blpop("gil:none", 1))
    blocked.start()
    time.sleep(0.05)
    pings, worst = 0, 0.0
    start = time.monotonic()
    while blocked.is_alive() and time.monotonic() - start < 3:
        t0 = time.monotonic()
        assert client.ping() is True
        worst = max(worst, time.monotonic() - t0)
        pings += 1
    blocked.join(3)
    assert pings > 100  # thousands in practice; zero if the GIL were held
    assert worst < 0.25


def test_gil_is_released_during_a_pool_wait(make: Callable[..., RedisClient]) -> None:
    client = make(max_connections=1, pool_timeout=5)
    holder = threading.Thread(target=lambda: client.blpop("gil:hold", 0.6))
    holder.start()
    while client.pool_stats()["in_use"] == 0:
        time.sleep(0.005)
    waiter = threading.Thread(target=client.ping)
    waiter.start()
    while client.pool_stats()["waits"] == 0:
        time.sleep(0.005)
    spins = 0
    end = time.monotonic() + 0.2
    while time.monotonic() < end:
        spins += 1  # pure Python: needs the GIL the waiter must not hold
    holder.join(3)
    waiter.join(3)
    assert not waiter.is_alive()
    assert spins > 1000


# ---------------------------------------------------------------------------
# fork
# ---------------------------------------------------------------------------


def test_child_uses_the_parents_client_after_fork(
    make: Callable[..., RedisClient], redis_client: RedisClient
) -> None:
    client = make()
    assert client.set("fork:a", 1) is True
    parent_id = client_id(client)
    parent_connections = len(redis_client.client_list())

    def child() -> dict[str, Any]:
        before = client.pool_stats()
        results = [client.incr("fork:a"), client.get("fork:a").decode()]
        pipe: Any = client.pipeline()
        results.append(pipe.incr("fork:a").get("fork:a").execute()[1].decode())
        return {
            "results": results,
            "child_id": client_id(client),
            "before": before,
            "after": client.pool_stats(),
        }

    out = run_in_child(child)
    assert out["results"] == [2, "2", "3"]
    assert out["child_id"] != parent_id  # the child opened its own connection
    assert out["after"]["created"] == out["before"]["created"] + 1
    assert out["after"]["in_use"] == 0
    # The parent's pooled connection was not disturbed by the child.
    assert client_id(client) == parent_id
    assert client.get("fork:a") == b"3"
    stats = client.pool_stats()
    assert stats["created"] == 1 and stats["stale"] == 0 and stats["errors"] == 0
    # The child's connection is gone with the child.
    deadline = time.monotonic() + 5
    while len(redis_client.client_list()) != parent_connections:
        assert time.monotonic() < deadline, "the child's connection outlived it"
        time.sleep(0.01)


def test_pool_stats_in_the_child_count_only_the_childs_connections(
    make: Callable[..., RedisClient],
) -> None:
    client = make()
    client.ping()

    def child() -> list[int]:
        first = client.pool_stats()["idle"]
        client.ping()
        return [first, client.pool_stats()["idle"]]

    assert run_in_child(child) == [0, 1]


def test_fork_while_another_thread_is_in_a_call(make: Callable[..., RedisClient]) -> None:
    client = make()
    client.ping()
    outcome: list[Any] = []
    busy = threading.Thread(target=lambda: outcome.append(client.blpop("fork:none", 0.8)))
    busy.start()
    while client.pool_stats()["in_use"] == 0:
        time.sleep(0.005)

    def child() -> list[Any]:
        # The connection the other thread was using is the parent's; the child
        # gets new ones and the pool's accounting lets it open them.
        return [client.ping(), client.set("fork:c", "child"), client.get("fork:c").decode()]

    assert run_in_child(child) == [True, True, "child"]
    busy.join(3)
    assert outcome == [None]  # the parent's blocked call finished normally
    assert client.get("fork:c") == b"child"
    assert client.pool_stats()["errors"] == 0


def test_several_children_count_exactly(make: Callable[..., RedisClient]) -> None:
    client = make()
    client.set("fork:n", 0)

    def child() -> int:
        for _ in range(50):
            client.incr("fork:n")
        return 1

    for _ in range(4):
        assert run_in_child(child) == 1
    assert client.get("fork:n") == b"200"


# ---------------------------------------------------------------------------
# get_client(): the shared client
# ---------------------------------------------------------------------------


def test_get_client_is_one_instance_across_threads(redis_env: str) -> None:
    ids: list[int] = []
    lock = threading.Lock()

    def work(_: int) -> None:
        client = RedisClient.get_client()
        assert client.ping() is True
        with lock:
            ids.append(id(client))

    run_threads(work, 16)
    assert len(ids) == 16 and len(set(ids)) == 1
    shared = RedisClient.get_client()
    assert id(shared) == ids[0]
    assert shared.config.port == int(redis_env.rsplit(":", 1)[1].split("/")[0])
    assert RedisClient._shared is shared


def test_reset_shared_closes_and_forgets_the_client(redis_env: str) -> None:
    first = RedisClient.get_client()
    assert first.set("shared:k", "v") is True
    RedisClient._reset_shared()
    with pytest.raises(ConnectionError, match="closed"):
        first.ping()
    second = RedisClient.get_client()
    assert second is not first
    assert second.get("shared:k") == b"v"
    RedisClient._reset_shared()
    RedisClient._reset_shared()  # idempotent


def test_get_client_in_a_forked_child(redis_env: str) -> None:
    parent = RedisClient.get_client()
    parent.set("shared:fork", 1)

    def child() -> list[Any]:
        client = RedisClient.get_client()
        return [client is parent, client.incr("shared:fork")]

    assert run_in_child(child) == [True, 2]
    assert parent.get("shared:fork") == b"2"


def test_get_client_with_redis_down_does_not_raise(
    monkeypatch: pytest.MonkeyPatch,
    shared_reset: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for name in list(os.environ):
        if name.startswith("REDIS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{find_free_port()}/0")
    monkeypatch.setenv("REDIS_SOCKET_CONNECT_TIMEOUT", "1")
    caplog.set_level(logging.WARNING, logger="pyredisclient")
    start = time.monotonic()
    client = RedisClient.get_client()
    assert time.monotonic() - start < 2.0
    assert isinstance(client, RedisClient)
    warnings_logged = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings_logged) == 1
    assert "PING failed" in warnings_logged[0].getMessage()
    assert RedisClient.get_client() is client  # created once, logged once
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    with pytest.raises(ConnectionError):
        client.ping()


def test_get_client_with_a_bad_configuration_raises(
    monkeypatch: pytest.MonkeyPatch, shared_reset: None
) -> None:
    monkeypatch.setenv("REDIS_URL", "http://127.0.0.1:6379/0")
    with pytest.raises(ConfigurationError):
        RedisClient.get_client()
    assert RedisClient._shared is None
    assert not isinstance(ConfigurationError("x"), pyredisclient.RedisError)
