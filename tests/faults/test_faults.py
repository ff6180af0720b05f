"""Fault injection against real processes on loopback: what breaks, and how the client copes.

Safe retries, a server killed under load, a hung server, servers that hang up,
configuration faults. test_faults_hostile.py has malicious and slow servers, signals
and DNS that never answers.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
from typing import Callable

import pytest
from fakeservers import (
    FakeServer,
    FaultProxy,
    MiniRedis,
    blackhole_port,
    close_after_replies,
    hang,
    mini_redis,
)
from fault_helpers import (
    Factory,
    timed,
)

import pyredisclient
from pyredisclient.testing import RedisServer, find_free_port


@pytest.fixture
def server(redis_server_factory: Factory) -> RedisServer:
    return redis_server_factory()


# -- safe retries ------------------------------------------------------------------


def test_lost_reply_to_a_write_is_not_replayed(
    server: RedisServer, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    admin = make_client(server.port)
    admin.set("counter", 10)
    with FaultProxy(("127.0.0.1", server.port), drop_first=1) as proxy:
        client = make_client(proxy.port, socket_timeout=2)
        with pytest.raises(pyredisclient.ConnectionError, match="closed the connection"):
            client.incr("counter")
        assert proxy.replies_swallowed == [b":11\r\n"]  # Redis ran it...
    assert admin.get("counter") == b"11"  # ...exactly once
    assert client.pool_stats()["retries"] == 0


def test_lost_reply_to_a_read_is_replayed(
    server: RedisServer, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    make_client(server.port).set("k", "v")
    with FaultProxy(("127.0.0.1", server.port), drop_first=1) as proxy:
        client = make_client(proxy.port, socket_timeout=2)
        assert client.get("k") == b"v"
        assert proxy.dropped == 1
        assert proxy.accepted == 2
    stats = client.pool_stats()
    assert stats["retries"] == 1
    assert stats["errors"] == 0
    assert client.circuit_breaker_state()["failures"] == 0


def test_lost_reply_to_a_pipeline_replays_only_read_only_batches(
    server: RedisServer, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    admin = make_client(server.port)
    admin.set("a", "1")
    with FaultProxy(("127.0.0.1", server.port), drop_first=1) as proxy:
        client = make_client(proxy.port, socket_timeout=2)
        reads = client.pipeline(transaction=False)
        reads.get("a").exists("a")
        assert reads.execute() == [b"1", 1]
        assert client.pool_stats()["retries"] == 1
    with FaultProxy(("127.0.0.1", server.port), drop_first=1) as proxy:
        client = make_client(proxy.port, socket_timeout=2)
        writes = client.pipeline(transaction=False)
        writes.get("a").incr("a")
        with pytest.raises(pyredisclient.ConnectionError):
            writes.execute()
        assert client.pool_stats()["retries"] == 0
        assert proxy.replies_swallowed == [b"$1\r\n1\r\n:2\r\n"]
    assert admin.get("a") == b"2"  # the INCR ran once


def test_a_read_timeout_is_not_retried_by_default(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    with FakeServer(hang) as fake:
        client = make_client(fake.port, socket_timeout=0.3)
        result, elapsed = timed(lambda: client.get("k"))
        assert isinstance(result, pyredisclient.TimeoutError)
        assert 0.3 <= elapsed < 0.36
        time.sleep(0.1)  # a replay would have reached the server by now
        assert fake.command_names() == [b"GET"]
    assert client.pool_stats()["retries"] == 0


def test_retry_on_timeout_never_replays_a_write(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    with FakeServer(hang) as fake:
        client = make_client(fake.port, socket_timeout=0.3, retry_on_timeout=True)
        result, _ = timed(lambda: client.incr("k"))
        assert isinstance(result, pyredisclient.TimeoutError)
        time.sleep(0.1)
        assert fake.command_names() == [b"INCRBY"]


def test_retry_on_timeout_replays_a_read_only_command(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    with FakeServer(hang) as fake:
        client = make_client(fake.port, socket_timeout=0.3, retry_on_timeout=True)
        result, _ = timed(lambda: client.get("k"))
        assert isinstance(result, pyredisclient.TimeoutError)
        assert fake.wait_for_commands(2, timeout=0.5)
        assert fake.command_names()[:2] == [b"GET", b"GET"]


def test_retry_on_timeout_covers_connect_timeouts(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    with blackhole_port() as port:
        plain = make_client(port, socket_connect_timeout=0.2, socket_timeout=1.0)
        result, elapsed = timed(lambda: plain.get("k"))
        assert isinstance(result, pyredisclient.TimeoutError), result
        assert 0.2 <= elapsed < 0.3
        assert plain.pool_stats()["retries"] == 0

        retrying = make_client(
            port, socket_connect_timeout=0.2, socket_timeout=1.0, retry_on_timeout=True
        )
        result, elapsed = timed(lambda: retrying.get("k"))
        assert isinstance(result, pyredisclient.TimeoutError), result
        assert retrying.pool_stats()["retries"] >= 1
        # Bounded by the call's deadline plus one connect attempt.
        assert elapsed < 1.0 + 0.2 + 0.1


def test_refused_connect_is_not_waited_on_before_the_server_was_seen(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    # Nothing ever answered on this port: a refusal is retried once, at once, and
    # the call fails in microseconds rather than backing off (riding restarts of a
    # server that was up is tests/faults/test_fail_fast.py's business).
    with FakeServer(mini_redis(), listen=False) as fake:  # bound, not listening: refused
        client = make_client(
            fake.port, retry_attempts=10, retry_base=0.05, retry_cap=0.2, socket_timeout=3
        )
        result, elapsed = timed(lambda: client.set("k", "v"))
        assert isinstance(result, pyredisclient.ConnectionError), result
        assert elapsed < 0.05
        assert client.pool_stats()["retries"] == 1
        fake.listen()
        result, elapsed = timed(lambda: client.set("k", "v"))
        assert result is True, result
        assert fake.command_names() == [b"SET"]  # sent once, on the connect that worked
    stats = client.pool_stats()
    assert stats["retries"] == 1
    assert stats["created"] == 3
    assert client.circuit_breaker_state()["failures"] == 0


def test_connection_refused_fails_quickly_without_leaks(
    make_client: Callable[..., pyredisclient.RedisClient], open_fds: Callable[[], int]
) -> None:
    fds = open_fds()
    client = make_client(find_free_port(), retry_base=0.01)
    for _ in range(5):
        result, elapsed = timed(lambda: client.get("k"))
        assert isinstance(result, pyredisclient.ConnectionError)
        assert not isinstance(result, pyredisclient.CircuitOpenError)
        assert "refused" in str(result)
        assert elapsed < 0.05  # retried once, at once: never seen up, so not waited on
    assert client.pool_stats()["retries"] == 5
    assert client.pool_stats()["in_use"] == 0
    client.close()
    assert open_fds() == fds


def test_blocking_commands_wait_their_own_timeout(
    server: RedisServer, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    client = make_client(server.port, socket_timeout=0.2)
    result, elapsed = timed(lambda: client.blpop(["empty"], timeout=0.6))
    assert result is None
    assert 0.55 <= elapsed < 0.8


def test_blocking_command_on_a_hung_server_ends_at_its_timeout_plus_margin(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    with FakeServer(hang) as fake:
        client = make_client(fake.port, socket_timeout=0.2)
        result, elapsed = timed(lambda: client.blpop(["q"], timeout=0.3))
    assert isinstance(result, pyredisclient.TimeoutError)
    # block + max(socket_timeout, 0.5 s)
    assert 0.8 <= elapsed < 0.95


def test_a_group_named_block_is_not_a_block_option(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    # Group "block", consumer "0", no BLOCK option: an ordinary call with
    # socket_timeout, not BLOCK 0 (which waits without a deadline).
    with FakeServer(hang) as fake:
        client = make_client(fake.port, socket_timeout=0.2, retry_attempts=0)
        args = ("XREADGROUP", "GROUP", "block", "0", "STREAMS", "s", ">")
        rescue = threading.Timer(2.0, client.close)  # wakes a call that never ends
        rescue.start()
        result, elapsed = timed(lambda: client.execute_command(*args))
        rescue.cancel()
    assert isinstance(result, pyredisclient.TimeoutError), result
    assert 0.2 <= elapsed < 0.35


# -- a server killed under load ------------------------------------------------------


def test_server_killed_and_restarted_under_threaded_load(
    server: RedisServer, open_fds: Callable[[], int]
) -> None:
    health_interval = 2.0
    fds = open_fds()
    client = pyredisclient.RedisClient.from_url(
        server.url,
        socket_timeout=1.0,
        socket_connect_timeout=0.5,
        health_check_interval=health_interval,
        recovery_timeout=0.3,
        max_connections=16,
    )
    stop = threading.Event()
    restarted = threading.Event()
    wrong: list[str] = []
    unexpected: list[str] = []
    ok_after_restart = [0] * 8
    ok_total = [0] * 8

    def worker(tid: int) -> None:
        key = f"load:{tid}"
        for i in range(20_000):  # bounded; stop ends it much sooner
            if stop.is_set():
                return
            value = f"{tid}:{i}".encode()
            set_after_restart = restarted.is_set()
            try:
                client.set(key, value)
                got = client.get(key)
            except pyredisclient.CircuitOpenError:
                time.sleep(0.002)
                continue
            except (pyredisclient.ConnectionError, pyredisclient.TimeoutError):
                continue
            except Exception as exc:
                unexpected.append(repr(exc))
                continue
            # None only if the restart (no persistence) fell between SET and GET.
            if got != value and (got is not None or set_after_restart):
                wrong.append(f"{key}: set {value!r}, got {got!r}")
            ok_total[tid] += 1
            if restarted.is_set():
                ok_after_restart[tid] += 1

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.3)
        assert sum(ok_total) > 0
        server.kill()
        time.sleep(0.4)
        server.start()  # same port
        t_restart = time.monotonic()
        restarted.set()
        deadline = t_restart + 5
        while client.health_check()["status"] != "healthy" and time.monotonic() < deadline:
            time.sleep(0.02)
        recovered_in = time.monotonic() - t_restart
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert wrong == []
    assert unexpected == []
    assert recovered_in < health_interval, f"recovered after {recovered_in:.2f} s"
    assert all(n > 0 for n in ok_after_restart), ok_after_restart
    stats = client.pool_stats()
    assert stats["in_use"] == 0
    client.close()
    assert open_fds() == fds


# -- a hung server ------------------------------------------------------------------------


def test_hung_server_bounds_every_call_then_the_breaker_fails_fast(
    server: RedisServer, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    timeout = 0.5
    client = make_client(
        server.port, socket_timeout=timeout, failure_threshold=3, recovery_timeout=60
    )
    assert client.ping() is True
    server.pause()
    try:
        durations: list[float] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def call(i: int) -> None:
            op = (lambda: client.get("k")) if i % 2 else (lambda: client.set("k", "v"))
            result, elapsed = timed(op)
            with lock:
                durations.append(elapsed)
                errors.append(result)

        threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        assert len(durations) == 8
        assert max(durations) < timeout * 1.2, durations
        assert all(isinstance(e, pyredisclient.TimeoutError) for e in errors), errors
        # Calls in flight together are one failure event, not eight.
        state = client.circuit_breaker_state()
        assert (state["state"], state["failures"]) == ("closed", 1)
        # One more: 9 of the 10 calls in the window failed, and the rate opens it.
        result, elapsed = timed(lambda: client.get("k"))
        assert isinstance(result, pyredisclient.TimeoutError), result
        state = client.circuit_breaker_state()
        assert state["state"] == "open"
        assert state["reason"] == "failure rate 0.90 over 10 s (9 of 10 calls failed)"

        fast = []
        for _ in range(100):
            result, elapsed = timed(lambda: client.get("k"))
            assert isinstance(result, pyredisclient.CircuitOpenError)
            fast.append(elapsed)
        assert statistics.median(fast) < 0.001
    finally:
        server.resume()


# -- servers that hang up ----------------------------------------------------------------


def test_server_closing_every_connection_after_one_reply(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    store = MiniRedis()
    with FakeServer(close_after_replies(1, store)) as fake:
        client = make_client(fake.port, socket_timeout=1)
        # Reads: a dead pooled connection is found at checkout, or the read is replayed.
        store.data[b"k"] = b"v"
        for _ in range(50):
            assert client.get("k") == b"v"
        stats = client.pool_stats()
        assert stats["created"] == 50
        assert stats["stale"] + stats["retries"] == 49
        # Writes, once the hang-up has arrived, go out on a fresh connection.
        for i in range(20):
            time.sleep(0.01)
            assert client.set("w", str(i)) is True
            assert store.data[b"w"] == str(i).encode()
        # Writes racing the hang-up may fail, but never run twice or go missing silently.
        for i in range(50):
            try:
                client.set("race", str(i))
            except pyredisclient.ConnectionError:
                assert store.data.get(b"race") != str(i).encode()
            else:
                assert store.data[b"race"] == str(i).encode()
        assert client.circuit_breaker_state()["state"] == "closed"


def test_client_kill_of_pooled_connections(
    server: RedisServer, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    client = make_client(server.port, socket_timeout=2)
    admin = make_client(server.port)
    # Fill the pool with four idle connections.
    threads = [
        threading.Thread(target=client.blpop, args=(["nothing"],), kwargs={"timeout": 0.2})
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert client.pool_stats()["idle"] == 4
    killed = admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
    assert killed == 4
    # No pause: Redis closed the sockets before answering CLIENT KILL.
    assert client.set("k", "v") is True
    assert client.incr("n") == 1
    assert client.get("k") == b"v"
    stats = client.pool_stats()
    assert stats["stale"] >= 1
    assert stats["retries"] == 0
    assert stats["errors"] == 0


# -- configuration faults ------------------------------------------------------------------


def test_wrong_password_keeps_reaching_the_server(
    redis_server_factory: Factory, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    server = redis_server_factory(password="right-pw")
    admin = make_client(server.port, password="right-pw")
    before = int(admin.info("stats")["total_connections_received"])
    client = make_client(server.port, password="wrong-pw", failure_threshold=2)
    for _ in range(6):
        with pytest.raises(pyredisclient.AuthenticationError) as info:
            client.get("k")
        assert not isinstance(info.value, pyredisclient.CircuitOpenError)
        assert "wrong-pw" not in str(info.value)
    after = int(admin.info("stats")["total_connections_received"])
    assert after - before == 6  # every call reached the server, none was refused locally
    state = client.circuit_breaker_state()
    assert (state["state"], state["failures"], state["refused"]) == ("closed", 0, 0)
    assert client.pool_stats()["retries"] == 0  # an auth failure is not retried


def test_handshake_error_message_is_complete(
    redis_server_factory: Factory, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    server = redis_server_factory(password="right-pw")
    client = make_client(server.port, password="wrong-pw")
    with pytest.raises(pyredisclient.AuthenticationError) as info:
        client.ping()
    assert str(info.value) == "WRONGPASS invalid username-password pair or user is disabled."


def test_maxclients_reached_is_an_error_not_a_hang(
    redis_server_factory: Factory, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    server = redis_server_factory(extra_args=["--maxclients", "1"])
    holder = socket.create_connection(("127.0.0.1", server.port), timeout=2)
    try:
        holder.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert holder.recv(64) == b"+PONG\r\n"  # the one slot is taken
        client = make_client(server.port, socket_timeout=2, failure_threshold=10)
        for _ in range(3):
            result, elapsed = timed(lambda: client.get("k"))
            assert isinstance(result, pyredisclient.ConnectionError), result
            assert elapsed < 0.5
        assert isinstance(result, pyredisclient.MaxClientsError)
        assert "max number of clients" in str(result)
        assert client.circuit_breaker_state()["failures"] == 3  # it counts
    finally:
        holder.close()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            assert client.get("k") is None
            break
        except pyredisclient.MaxClientsError:
            time.sleep(0.02)  # the server has not noticed the holder left yet
    assert client.get("k") is None
