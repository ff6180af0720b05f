"""RedisClient machinery against real redis-server processes: the pool, failures and
timeouts (stopped, paused and refused servers, close() from another thread, signals
during a blocking call), reply limits and resource hygiene.

Timing assertions use generous upper bounds (the machine is shared) but every
one of them would fail if the client hung or ignored its timeout.
"""

from __future__ import annotations

import gc
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest
from client_helpers import (
    Elapsed,
    MiB,
    blocked_clients,
    wait_until,
)
from conftest import open_fds

import pyredisclient
from pyredisclient import (
    ConnectionError,
    PoolTimeoutError,
    ProtocolError,
    RedisClient,
    RedisError,
    ReplyLimitError,
    TimeoutError,
)
from pyredisclient.testing import RedisServer, find_free_port

# ---------------------------------------------------------------------------
# 5. the pool
# ---------------------------------------------------------------------------


def test_max_connections_is_respected_under_concurrency(make: Callable[..., RedisClient]) -> None:
    client = make(max_connections=3, pool_timeout=5)
    errors: list[BaseException] = []
    barrier = threading.Barrier(12)

    def work(n: int) -> None:
        try:
            barrier.wait(timeout=5)
            for i in range(40):
                key = f"mc:{n}:{i}"
                assert client.set(key, i) is True
                assert client.get(key) == str(i).encode()
            client.blpop(f"mc:none:{n}", 0.05)  # holds a connection for a while
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    stats = client.pool_stats()
    assert 1 <= stats["created"] <= 3
    assert stats["max_connections"] == 3
    assert stats["in_use"] == 0
    assert stats["waits"] > 0  # 12 threads on 3 connections had to queue
    assert stats["timeouts"] == 0


def test_pool_exhaustion_times_out_with_pool_timeout_error(
    make: Callable[..., RedisClient],
) -> None:
    client = make(max_connections=1, pool_timeout=0.2)
    holder_result: list[Any] = []
    holder = threading.Thread(target=lambda: holder_result.append(client.blpop("nothing", 1)))
    holder.start()
    wait_until(lambda: client.pool_stats()["in_use"] == 1)
    time.sleep(0.05)  # let the BLPOP reach the server
    with Elapsed() as t:
        with pytest.raises(PoolTimeoutError) as info:
            client.ping()
    assert isinstance(info.value, ConnectionError)
    assert 0.18 <= t.s < 0.6
    stats = client.pool_stats()
    assert stats["waits"] == 1 and stats["timeouts"] == 1
    # Pool timeouts say nothing about the server's health.
    assert client.circuit_breaker_state()["failures"] == 0
    holder.join(5)
    assert holder_result == [None]
    assert client.ping() is True
    assert client.pool_stats()["created"] == 1


def test_close_wakes_a_thread_waiting_for_a_pooled_connection(
    make: Callable[..., RedisClient],
) -> None:
    client = make(max_connections=1, pool_timeout=10)
    outcomes: dict[str, Any] = {}

    def hold() -> None:
        try:
            client.blpop("nothing", 0)
        except Exception as exc:
            outcomes["holder"] = exc

    def wait() -> None:
        try:
            client.ping()
        except Exception as exc:
            outcomes["waiter"] = exc

    holder = threading.Thread(target=hold)
    holder.start()
    wait_until(lambda: client.pool_stats()["in_use"] == 1)
    waiter = threading.Thread(target=wait)
    waiter.start()
    wait_until(lambda: client.pool_stats()["waits"] == 1)
    with Elapsed() as t:
        client.close()
        holder.join(3)
        waiter.join(3)
    assert not holder.is_alive() and not waiter.is_alive()
    assert t.s < 1.0
    assert isinstance(outcomes["holder"], ConnectionError)
    assert isinstance(outcomes["waiter"], ConnectionError)
    assert client.pool_stats()["in_use"] == 0


def test_killed_idle_connection_is_replaced_without_an_error(
    make: Callable[..., RedisClient],
) -> None:
    victim = make(client_name="victim", max_connections=2)
    killer = make()
    for _ in range(3):  # more rounds than max_connections: slots are given back
        assert victim.set("v", "1") is True
        before = victim.pool_stats()
        killed = killer.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        assert killed >= 1
        wait_until(lambda: "victim" not in [c["name"] for c in killer.client_list()])
        assert victim.get("v") == b"1"
        after = victim.pool_stats()
        assert after["stale"] == before["stale"] + 1
        assert after["errors"] == before["errors"] == 0
        assert after["retries"] == 0
        assert after["created"] == before["created"] + 1
    assert victim.pool_stats()["stale"] == 3


def test_health_check_pings_connections_idle_past_the_interval(
    make: Callable[..., RedisClient],
) -> None:
    checked = make(health_check_interval=0.1)
    unchecked = make(health_check_interval=30)
    for c in (checked, unchecked):
        assert c.set("h", "1") is True
    time.sleep(0.25)
    for c in (checked, unchecked):
        assert c.get("h") == b"1"
    assert checked.pool_stats()["health_checks"] == 1
    assert unchecked.pool_stats()["health_checks"] == 0
    assert checked.get("h") == b"1"  # just used: no second PING
    assert checked.pool_stats()["health_checks"] == 1


# ---------------------------------------------------------------------------
# 6. servers down, hung servers, timeouts, close, signals
# ---------------------------------------------------------------------------


def test_stopped_server_fails_fast_and_the_client_recovers(
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    server = redis_server_factory()
    client = RedisClient.from_url(server.url, socket_connect_timeout=1.0, socket_timeout=1.0)
    try:
        assert client.set("k", "before") is True
        server.stop()
        with Elapsed() as t:
            with pytest.raises(ConnectionError) as info:
                client.get("k")
        assert t.s < 1.0
        assert not isinstance(info.value, TimeoutError)
        server.start()  # same port
        assert client.ping() is True
        assert client.get("k") is None  # a new, empty server: nothing was persisted
        assert client.circuit_breaker_state()["state"] == "closed"
    finally:
        client.close()


def test_refused_port_is_a_connection_error(redis_server: RedisServer) -> None:
    client = RedisClient(host="127.0.0.1", port=find_free_port(), socket_connect_timeout=1.0)
    try:
        with Elapsed() as t:
            with pytest.raises(ConnectionError, match="refused"):
                client.ping()
        assert t.s < 1.0
        assert isinstance(pyredisclient.ConnectionError("x"), OSError)
    finally:
        client.close()


@pytest.mark.parametrize("retry_on_timeout", [False, True])
def test_paused_server_times_out_within_socket_timeout(
    redis_server_factory: Callable[..., RedisServer], retry_on_timeout: bool
) -> None:
    server = redis_server_factory()
    timeout = 0.4
    client = RedisClient.from_url(
        server.url, socket_timeout=timeout, retry_on_timeout=retry_on_timeout
    )
    try:
        assert client.ping() is True
        server.pause()
        try:
            with Elapsed() as t:
                with pytest.raises(TimeoutError) as info:
                    client.get("k")
            # One deadline per call, retries included.
            assert timeout * 0.95 <= t.s <= timeout * 1.2 + 0.05
            assert isinstance(info.value, RedisError)
            assert not isinstance(info.value, ConnectionError)
        finally:
            server.resume()
        assert client.ping() is True
    finally:
        client.close()


def test_fresh_connection_to_a_paused_server_obeys_the_connect_timeout(
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    server = redis_server_factory(password="pw")
    # The AUTH handshake is part of opening the connection.
    client = RedisClient.from_url(server.url, socket_connect_timeout=0.3, socket_timeout=0.3)
    server.pause()
    try:
        with Elapsed() as t:
            with pytest.raises(TimeoutError):
                client.ping()
        assert t.s <= 0.3 * 1.2 + 0.05
    finally:
        server.resume()
        client.close()


def test_close_from_another_thread_wakes_an_unlimited_blpop(
    make: Callable[..., RedisClient],
) -> None:
    client = make(socket_timeout=0.5)
    outcome: dict[str, Any] = {}

    def blocked() -> None:
        try:
            outcome["reply"] = client.blpop("never", 0)
        except BaseException as exc:
            outcome["error"] = exc
        outcome["at"] = time.monotonic()

    thread = threading.Thread(target=blocked)
    thread.start()
    time.sleep(0.8)  # longer than socket_timeout: BLPOP 0 has no deadline
    assert thread.is_alive() and not outcome
    closed_at = time.monotonic()
    client.close()
    thread.join(3)
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), ConnectionError)
    assert outcome["at"] - closed_at < 0.5
    with pytest.raises(ConnectionError, match="closed"):
        client.ping()
    with pytest.raises(ConnectionError, match="closed"):
        client.pipeline().set("a", 1).execute()


@pytest.mark.parametrize(
    "command",
    [
        ("BLPOP", "b:none", 0.7),
        ("BZPOPMIN", "b:z", 0.7),
        ("BLMPOP", 0.7, 1, "b:none", "LEFT"),
        ("XREAD", "BLOCK", 700, "STREAMS", "b:s", "$"),
        ("WAIT", 1, 700),
    ],
    ids=lambda c: c[0],
)
def test_blocking_commands_wait_past_socket_timeout(
    make: Callable[..., RedisClient], command: tuple[Any, ...]
) -> None:
    client = make(socket_timeout=0.2)
    with Elapsed() as t:
        reply = client.execute_command(*command)
    assert reply in (None, 0)
    assert 0.65 <= t.s < 1.5
    assert client.blpop("b:none", timeout=0.3) is None


def test_blocking_command_still_times_out_on_a_hung_server(
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    server = redis_server_factory()
    client = RedisClient.from_url(server.url, socket_timeout=0.2)
    try:
        assert client.ping() is True
        server.pause()
        try:
            with Elapsed() as t:
                with pytest.raises(TimeoutError):
                    client.blpop("k", 0.3)
            # block + max(socket_timeout, 0.5)
            assert 0.75 <= t.s < 1.3
        finally:
            server.resume()
    finally:
        client.close()


class Interrupt(Exception):
    """Raised by the SIGALRM handler, like KeyboardInterrupt from SIGINT."""


@pytest.fixture
def alarm() -> Iterator[Callable[..., None]]:
    """Arm SIGALRM with a handler; restored after the test."""
    previous = signal.getsignal(signal.SIGALRM)

    def arm(delay: float, handler: Callable[..., Any], interval: float = 0.0) -> None:
        signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, delay, interval)

    yield arm
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def _raise_interrupt(*_: Any) -> None:
    raise Interrupt


def test_signal_handler_interrupts_a_blocking_call(
    make: Callable[..., RedisClient], alarm: Callable[..., None]
) -> None:
    client = make(socket_timeout=0.5)
    probe = make()
    alarm(0.2, _raise_interrupt)
    with Elapsed() as t:
        with pytest.raises(Interrupt):
            client.blpop("sig:list", 5)
    assert t.s < 0.6
    # The interrupted connection is closed, never pooled: the server drops the BLPOP...
    wait_until(lambda: blocked_clients(probe) == 0)
    assert client.pool_stats()["idle"] == 0
    # ...so a value pushed now is still there, and the next reply is the right one.
    assert client.rpush("sig:list", "after") == 1
    assert client.lrange("sig:list", 0, -1) == [b"after"]
    assert client.blpop("sig:list", 1) == (b"sig:list", b"after")
    assert client.ping() is True


def test_signal_handler_that_returns_lets_the_call_resume(
    make: Callable[..., RedisClient], alarm: Callable[..., None]
) -> None:
    client = make(socket_timeout=0.2)
    calls: list[int] = []
    alarm(0.05, lambda *_: calls.append(1), interval=0.05)
    with Elapsed() as t:
        assert client.blpop("sig:none", 0.6) is None
    signal.setitimer(signal.ITIMER_REAL, 0)
    assert len(calls) >= 5  # EINTR many times; the call resumed each time
    assert 0.55 <= t.s < 1.2  # against the same deadline, not a fresh one each time
    assert client.pool_stats()["errors"] == 0


def test_signal_handler_interrupts_a_pool_wait(
    make: Callable[..., RedisClient], alarm: Callable[..., None]
) -> None:
    client = make(max_connections=1, pool_timeout=3)
    holder = threading.Thread(target=lambda: client.blpop("sig:hold", 1.5))
    holder.start()
    try:
        wait_until(lambda: client.pool_stats()["in_use"] == 1)
        alarm(0.2, _raise_interrupt)
        with Elapsed() as t:
            with pytest.raises(Interrupt):
                client.ping()
        assert t.s < 0.7
    finally:
        holder.join(5)


# ---------------------------------------------------------------------------
# 8. reply limits
# ---------------------------------------------------------------------------


def test_max_reply_bytes_refuses_a_large_reply_and_recovers(
    redis_client: RedisClient, make: Callable[..., RedisClient]
) -> None:
    redis_client.set("big", b"x" * (2 * MiB))
    redis_client.set("edge", b"e" * MiB)
    redis_client.rpush("biglist", *([b"y" * 1000] * 3000))  # ~3 MB in small elements
    limited = make(max_reply_bytes=MiB)
    assert len(limited.get("edge")) == MiB  # exactly the limit is allowed
    for fetch in (lambda: limited.get("big"), lambda: limited.lrange("biglist", 0, -1)):
        before = limited.pool_stats()
        with pytest.raises(ReplyLimitError) as info:
            fetch()
        assert isinstance(info.value, ProtocolError)
        assert limited.pool_stats()["closed"] == before["closed"] + 1  # connection dropped
        assert limited.ping() is True
    redis_client.append("edge", b"!")
    with pytest.raises(ReplyLimitError, match="max_reply_bytes"):
        limited.get("edge")
    assert limited.execute_command("GETRANGE", "big", 0, 2) == b"xxx"
    assert len(limited.lrange("biglist", 0, 99)) == 100
    assert limited.circuit_breaker_state()["failures"] == 0
    assert limited.pool_stats()["retries"] == 0


def test_max_reply_bytes_applies_to_the_total_of_an_array(
    redis_client: RedisClient, make: Callable[..., RedisClient]
) -> None:
    redis_client.rpush("biglist", *([b"y" * 1000] * 1500))  # ~1.5 MB
    limited = make(max_reply_bytes=MiB)
    with pytest.raises(ReplyLimitError):
        limited.lrange("biglist", 0, -1)


# ---------------------------------------------------------------------------
# 9. resource hygiene
# ---------------------------------------------------------------------------


def test_closed_clients_release_their_descriptors(
    url: str, make: Callable[..., RedisClient]
) -> None:
    probe = make()
    connected = len(probe.client_list())
    gc.collect()
    baseline = open_fds()
    clients = [RedisClient.from_url(url) for _ in range(50)]
    for c in clients:
        assert c.ping() is True
    assert open_fds() == baseline + 50
    assert len(probe.client_list()) == connected + 50
    for c in clients:
        c.close()
    assert open_fds() == baseline
    del clients
    gc.collect()
    assert open_fds() == baseline
    wait_until(lambda: len(probe.client_list()) == connected)


def test_clients_deleted_without_close_free_their_connections(
    url: str, make: Callable[..., RedisClient]
) -> None:
    probe = make()
    connected = len(probe.client_list())
    gc.collect()
    baseline = open_fds()
    for _ in range(100):
        c = RedisClient.from_url(url)
        assert c.set("loop", 1) is True
        with c.pipeline() as p:
            p.get("loop")
        del c, p  # the pipeline refers to its client
    assert open_fds() == baseline  # freed by reference counting, at once
    wait_until(lambda: len(probe.client_list()) == connected)
    # A client that is only reachable from a cycle is freed by the collector.
    c = RedisClient.from_url(url)
    c.ping()
    cycle: list[Any] = [c]
    cycle.append(cycle)
    assert open_fds() == baseline + 1
    del c, cycle
    gc.collect()
    assert open_fds() == baseline
