"""The circuit breaker end to end: open, fail fast, half-open, close, and what never counts.

Availability failures come from real sockets (a switchable fake server that hangs up,
a paused redis-server); transitions use recovery timeouts of a few tenths of a second.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest
from fakeservers import FakeServer, Switchable, mini_redis

import pyredisclient
from pyredisclient.testing import RedisServer

LOGGER = "pyredisclient"
RECOVERY = 0.3


@pytest.fixture
def switch() -> Iterator[tuple[FakeServer, Switchable]]:
    handler = Switchable(up=False)
    with FakeServer(handler) as server:
        yield server, handler


@pytest.fixture
def make_client() -> Iterator[Callable[..., pyredisclient.RedisClient]]:
    clients: list[pyredisclient.RedisClient] = []

    def make(port: int, **options: Any) -> pyredisclient.RedisClient:
        options.setdefault("socket_timeout", 1.0)
        options.setdefault("retry_attempts", 0)
        client = pyredisclient.RedisClient(host="127.0.0.1", port=port, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def transitions(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    """(level, "opened"/"half-open"/"closed") for each breaker log record."""
    out = []
    for r in caplog.records:
        msg = r.getMessage()
        if r.name == LOGGER and msg.startswith("circuit breaker "):
            out.append((r.levelno, msg.split()[2].rstrip(":")))
    return out


def fail_times(client: pyredisclient.RedisClient, n: int) -> None:
    for _ in range(n):
        with pytest.raises(pyredisclient.ConnectionError) as info:
            client.get("k")
        assert not isinstance(info.value, pyredisclient.CircuitOpenError)


def test_opens_at_the_threshold_and_then_fails_fast_without_connecting(
    switch: tuple[FakeServer, Switchable],
    make_client: Callable[..., pyredisclient.RedisClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, _ = switch
    client = make_client(server.port, failure_threshold=3, recovery_timeout=60)
    with caplog.at_level(logging.INFO, LOGGER):
        fail_times(client, 2)
        assert client.circuit_breaker_state()["state"] == "closed"
        assert client.circuit_breaker_state()["failures"] == 2
        fail_times(client, 1)
        state = client.circuit_breaker_state()
        assert state["state"] == "open"
        assert state["opens"] == 1
        accepted = server.accepted

        samples = []
        for _ in range(1000):
            t0 = time.perf_counter_ns()
            try:
                client.get("k")
            except pyredisclient.CircuitOpenError:
                pass
            samples.append(time.perf_counter_ns() - t0)
    assert server.accepted == accepted, "an open breaker must not touch the network"
    assert client.circuit_breaker_state()["refused"] == 1000
    median_us = statistics.median(samples) / 1000
    assert median_us < 100, f"CircuitOpenError took {median_us:.1f} µs (median)"
    assert transitions(caplog) == [(logging.WARNING, "opened")]


def test_circuit_open_error_is_a_connection_error(
    switch: tuple[FakeServer, Switchable], make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    server, _ = switch
    client = make_client(server.port, failure_threshold=1, recovery_timeout=60)
    fail_times(client, 1)
    with pytest.raises(pyredisclient.CircuitOpenError) as info:
        client.set("k", "v")
    assert isinstance(info.value, pyredisclient.ConnectionError)
    assert isinstance(info.value, ConnectionError)  # the builtin, too
    assert "circuit breaker is open" in str(info.value)


def test_recovers_through_half_open_and_closes_after_successes(
    switch: tuple[FakeServer, Switchable],
    make_client: Callable[..., pyredisclient.RedisClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, handler = switch
    client = make_client(
        server.port, failure_threshold=2, recovery_timeout=RECOVERY, success_threshold=2
    )
    with caplog.at_level(logging.INFO, LOGGER):
        fail_times(client, 2)
        opened_at = time.monotonic()
        handler.up = True
        with pytest.raises(pyredisclient.CircuitOpenError):
            client.get("k")  # the server is back, but the breaker waits
        while time.monotonic() - opened_at < RECOVERY:
            assert client.circuit_breaker_state()["state"] == "open"
            time.sleep(0.02)
        time.sleep(0.02)
        assert client.circuit_breaker_state()["state"] == "half_open"
        assert client.set("k", "v") is True  # probe 1
        assert client.circuit_breaker_state()["state"] == "half_open"
        assert client.get("k") == b"v"  # probe 2 closes it
        assert client.circuit_breaker_state()["state"] == "closed"
        for _ in range(10):
            assert client.get("k") == b"v"
    assert transitions(caplog) == [
        (logging.WARNING, "opened"),
        (logging.INFO, "half-open"),
        (logging.INFO, "closed"),
    ]
    assert client.circuit_breaker_state()["transitions"] == 3


def test_a_failure_while_half_open_reopens(
    switch: tuple[FakeServer, Switchable],
    make_client: Callable[..., pyredisclient.RedisClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, handler = switch
    client = make_client(
        server.port, failure_threshold=1, recovery_timeout=RECOVERY, success_threshold=3
    )
    with caplog.at_level(logging.INFO, LOGGER):
        fail_times(client, 1)
        time.sleep(RECOVERY + 0.05)
        fail_times(client, 1)  # the probe fails: open again, for a new recovery period
        assert client.circuit_breaker_state()["state"] == "open"
        with pytest.raises(pyredisclient.CircuitOpenError):
            client.get("k")
        handler.up = True
        time.sleep(RECOVERY + 0.05)
        for _ in range(3):
            assert client.get("k") is None
    state = client.circuit_breaker_state()
    assert state["state"] == "closed"
    assert state["opens"] == 2
    assert transitions(caplog) == [
        (logging.WARNING, "opened"),
        (logging.INFO, "half-open"),
        (logging.WARNING, "opened"),
        (logging.INFO, "half-open"),
        (logging.INFO, "closed"),
    ]


def test_half_open_admits_only_success_threshold_probes(
    redis_server_factory: Callable[..., RedisServer],
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    server = redis_server_factory()
    client = make_client(
        server.port,
        socket_timeout=0.4,
        failure_threshold=1,
        recovery_timeout=RECOVERY,
        success_threshold=2,
    )
    server.pause()
    try:
        with pytest.raises(pyredisclient.TimeoutError):
            client.get("k")
        time.sleep(RECOVERY + 0.05)
        # Two probes hang on the paused server; a third caller is refused at once.
        results: list[BaseException] = []

        def probe() -> None:
            try:
                client.get("k")
            except pyredisclient.RedisError as exc:
                results.append(exc)

        probes = [threading.Thread(target=probe) for _ in range(2)]
        for t in probes:
            t.start()
        time.sleep(0.1)
        t0 = time.perf_counter()
        with pytest.raises(pyredisclient.CircuitOpenError):
            client.get("k")
        assert time.perf_counter() - t0 < 0.05
        for t in probes:
            t.join(5)
    finally:
        server.resume()
    assert sorted(type(e).__name__ for e in results) == ["TimeoutError", "TimeoutError"]
    assert client.circuit_breaker_state()["state"] == "open"


class Interrupted(Exception):
    pass


@contextlib.contextmanager
def interrupt_main_thread_after(seconds: float) -> Iterator[None]:
    """Raise Interrupted in the main thread from a SIGUSR1 handler after *seconds*.

    The signal is sent to the main thread itself (pthread_kill), so its blocking
    poll() returns EINTR, as with Ctrl-C or a web server's request timeout.
    """

    def on_signal(signum: int, frame: Any) -> None:
        raise Interrupted

    main = threading.main_thread().ident
    assert main is not None and threading.get_ident() == main
    previous = signal.signal(signal.SIGUSR1, on_signal)
    timer = threading.Timer(seconds, signal.pthread_kill, args=(main, signal.SIGUSR1))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()
        signal.signal(signal.SIGUSR1, previous)


def test_a_probe_interrupted_by_a_signal_gives_its_slot_back(
    redis_server_factory: Callable[..., RedisServer],
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    server = redis_server_factory()
    client = make_client(
        server.port,
        socket_timeout=0.8,
        failure_threshold=1,
        recovery_timeout=RECOVERY,
        success_threshold=2,
    )
    server.pause()
    first = threading.Thread(target=client.get, args=("k",))
    try:
        with pytest.raises(pyredisclient.TimeoutError):
            client.get("k")  # opens the breaker
        time.sleep(RECOVERY + 0.05)
        # Probe 1 (another thread) makes the half-open transition and waits.
        first.start()
        time.sleep(0.1)
        assert client.circuit_breaker_state()["state"] == "half_open"
        # Probe 2 is aborted by a signal handler while it waits for the server.
        with interrupt_main_thread_after(0.1), pytest.raises(Interrupted):
            client.get("k")
    finally:
        server.resume()
        if first.ident is not None:
            first.join(5)
    # Had the aborted probe kept its slot, this would be CircuitOpenError.
    assert client.get("k") is None
    assert client.circuit_breaker_state()["state"] == "closed"
    assert client.pool_stats()["in_use"] == 0


def test_a_signal_during_the_half_open_probe_is_not_swallowed(
    redis_server_factory: Callable[..., RedisServer],
    make_client: Callable[..., pyredisclient.RedisClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    swallowed: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", swallowed.append)
    server = redis_server_factory()
    client = make_client(
        server.port, socket_timeout=1.0, failure_threshold=1, recovery_timeout=RECOVERY
    )
    server.pause()
    try:
        with pytest.raises(pyredisclient.TimeoutError):
            client.get("k")
        time.sleep(RECOVERY + 0.05)
        t0 = time.monotonic()
        with interrupt_main_thread_after(0.1):
            try:
                client.get("k")  # the probe; it makes the half-open transition
            except (Interrupted, pyredisclient.RedisError) as exc:
                outcome: BaseException = exc
        elapsed = time.monotonic() - t0
    finally:
        server.resume()
    assert [type(u.exc_value).__name__ for u in swallowed] == []
    assert isinstance(outcome, Interrupted), f"{outcome!r} after {elapsed:.2f} s"


def test_blocking_commands_are_never_probes(
    switch: tuple[FakeServer, Switchable], make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    server, handler = switch
    client = make_client(server.port, failure_threshold=1, recovery_timeout=RECOVERY)
    fail_times(client, 1)
    handler.up = True
    time.sleep(RECOVERY + 0.05)
    assert client.circuit_breaker_state()["state"] == "half_open"
    t0 = time.perf_counter()
    with pytest.raises(pyredisclient.CircuitOpenError):
        client.blpop(["queue"], timeout=5)
    assert time.perf_counter() - t0 < 0.05
    assert client.get("k") is None  # an ordinary call is admitted as a probe


def test_disabled_breaker_never_refuses(
    switch: tuple[FakeServer, Switchable],
    make_client: Callable[..., pyredisclient.RedisClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, _ = switch
    client = make_client(server.port, circuit_breaker=False, failure_threshold=1)
    with caplog.at_level(logging.INFO, LOGGER):
        fail_times(client, 20)
    state = client.circuit_breaker_state()
    assert state["enabled"] is False
    assert state["state"] == "closed"
    assert state["refused"] == 0
    assert server.accepted == 20  # every call really tried
    assert transitions(caplog) == []


def test_response_errors_never_count(
    redis_client: pyredisclient.RedisClient, redis_server: RedisServer
) -> None:
    client = pyredisclient.RedisClient.from_url(redis_server.url, failure_threshold=2)
    try:
        client.set("text", "not a number")
        for _ in range(10):
            with pytest.raises(pyredisclient.ResponseError):
                client.incr("text")
            with pytest.raises(pyredisclient.ResponseError):
                client.execute_command("NO-SUCH-COMMAND")
        state = client.circuit_breaker_state()
        assert (state["state"], state["failures"], state["opens"]) == ("closed", 0, 0)
        # An error reply also leaves the connection clean and pooled.
        assert client.pool_stats()["created"] == 1
    finally:
        client.close()


def test_authentication_errors_do_not_trip_the_breaker(
    redis_server_factory: Callable[..., RedisServer],
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    server = redis_server_factory(password="right-pw")
    client = make_client(server.port, password="wrong-pw", failure_threshold=2)
    for _ in range(6):
        with pytest.raises(pyredisclient.AuthenticationError):
            client.get("k")
    state = client.circuit_breaker_state()
    assert (state["state"], state["failures"], state["refused"]) == ("closed", 0, 0)


def test_pool_timeouts_do_not_count(
    redis_server_factory: Callable[..., RedisServer],
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    server = redis_server_factory()
    client = make_client(
        server.port, max_connections=1, pool_timeout=0.1, failure_threshold=1, socket_timeout=2
    )
    holder = threading.Thread(target=client.blpop, args=(["empty"],), kwargs={"timeout": 1})
    holder.start()
    time.sleep(0.1)
    try:
        for _ in range(3):
            with pytest.raises(pyredisclient.PoolTimeoutError):
                client.get("k")
    finally:
        holder.join(5)
    state = client.circuit_breaker_state()
    assert (state["state"], state["failures"]) == ("closed", 0)
    assert client.pool_stats()["timeouts"] == 3
    assert client.get("k") is None


def test_timeouts_count_and_one_call_is_one_outcome(
    redis_server_factory: Callable[..., RedisServer],
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    server = redis_server_factory()
    client = make_client(
        server.port, socket_timeout=0.2, failure_threshold=2, retry_attempts=3, recovery_timeout=60
    )
    server.pause()
    try:
        with pytest.raises(pyredisclient.TimeoutError):
            client.get("k")
        assert client.circuit_breaker_state()["failures"] == 1
        with pytest.raises(pyredisclient.TimeoutError):
            client.get("k")
        assert client.circuit_breaker_state()["state"] == "open"
    finally:
        server.resume()


def test_retries_stop_once_the_breaker_opens(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    # A server that hangs up on every command, and a read-only call that may be
    # retried 3 times: the 3 retries are one logical call and one breaker failure.
    with FakeServer(Switchable(up=False)) as server:
        client = make_client(server.port, retry_attempts=3, failure_threshold=2, retry_base=0.01)
        fail_times(client, 1)
        assert client.pool_stats()["retries"] == 3
        assert client.circuit_breaker_state()["failures"] == 1
        assert server.accepted == 4


def test_state_is_reported_by_the_client_and_by_health(
    switch: tuple[FakeServer, Switchable], make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    server, _ = switch
    client = make_client(server.port, failure_threshold=2, recovery_timeout=60)
    state = client.circuit_breaker_state()
    assert set(state) >= {"state", "enabled", "failures", "failure_threshold", "opens", "refused"}
    assert state["failure_threshold"] == 2
    assert state["recovery_timeout"] == 60
    fail_times(client, 2)
    report = client.health_check()
    assert report["status"] == "unhealthy"
    assert report["type"] == "CircuitOpenError"
    assert report["circuit_breaker"]["state"] == "open"
    assert report["circuit_breaker"]["opens"] == 1
    assert client.debug_info()["circuit_breaker"]["state"] == "open"


def test_concurrent_callers_log_each_transition_once(
    switch: tuple[FakeServer, Switchable],
    make_client: Callable[..., pyredisclient.RedisClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, handler = switch
    client = make_client(
        server.port, failure_threshold=5, recovery_timeout=RECOVERY, success_threshold=3
    )
    errors: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        for _ in range(5000):
            if stop.is_set():
                return
            try:
                client.get("k")
            except pyredisclient.CircuitOpenError:
                time.sleep(0.001)
            except pyredisclient.ConnectionError:
                pass
            except Exception as exc:
                errors.append(repr(exc))

    with caplog.at_level(logging.INFO, LOGGER):
        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while client.circuit_breaker_state()["state"] != "open" and time.monotonic() < deadline:
            time.sleep(0.005)
        handler.up = True
        deadline = time.monotonic() + 5
        while client.circuit_breaker_state()["state"] != "closed" and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        for t in threads:
            t.join(10)
    assert errors == []
    assert client.circuit_breaker_state()["state"] == "closed"
    assert transitions(caplog) == [
        (logging.WARNING, "opened"),
        (logging.INFO, "half-open"),
        (logging.INFO, "closed"),
    ]


def test_mini_redis_sanity(make_client: Callable[..., pyredisclient.RedisClient]) -> None:
    # The fake used above answers like Redis for the commands these tests send.
    with FakeServer(mini_redis()) as server:
        client = make_client(server.port)
        assert client.ping() is True
        assert client.set("k", "v") is True
        assert client.get("k") == b"v"
        assert client.incr("n") == 1
        assert server.command_names() == [b"PING", b"SET", b"GET", b"INCRBY"]
