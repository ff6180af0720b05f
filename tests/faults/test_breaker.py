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
from conftest import ClientFactory
from fakeservers import FakeServer, MiniRedis, Peer, Switchable, mini_redis

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
def make_client(make_client: ClientFactory) -> ClientFactory:
    """The shared factory, failing fast: a short timeout and no retries."""
    return make_client.with_defaults(socket_timeout=1.0, retry_attempts=0)


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
        (logging.WARNING, "half-open"),
        (logging.WARNING, "closed"),
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
        (logging.WARNING, "half-open"),
        (logging.WARNING, "opened"),
        (logging.WARNING, "half-open"),
        (logging.WARNING, "closed"),
    ]


def test_half_open_admits_one_probe_then_ramps_up(
    redis_server_factory: Callable[..., RedisServer],
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    server = redis_server_factory()
    client = make_client(
        server.port,
        socket_timeout=0.4,
        failure_threshold=1,
        recovery_timeout=RECOVERY,
        success_threshold=3,
    )
    server.pause()
    results: list[BaseException] = []

    def probe() -> None:
        try:
            client.get("k")
        except pyredisclient.RedisError as exc:
            results.append(exc)

    try:
        with pytest.raises(pyredisclient.TimeoutError):
            client.get("k")
        time.sleep(RECOVERY + 0.05)
        # One probe hangs on the paused server; a second caller is refused at once.
        first = threading.Thread(target=probe)
        first.start()
        time.sleep(0.1)
        t0 = time.perf_counter()
        with pytest.raises(pyredisclient.CircuitOpenError, match="probe calls in flight"):
            client.get("k")
        assert time.perf_counter() - t0 < 0.05
        first.join(5)
    finally:
        server.resume()
    assert [type(e).__name__ for e in results] == ["TimeoutError"]
    state = client.circuit_breaker_state()
    assert state["state"] == "open"
    assert state["reason"].startswith("a half-open probe failed")
    # The server is back: one probe, then two at once, close the breaker.
    time.sleep(RECOVERY + 0.05)
    assert client.get("k") is None
    assert client.circuit_breaker_state()["state"] == "half_open"
    barrier = threading.Barrier(2)
    probes = [threading.Thread(target=lambda: (barrier.wait(2), client.get("k"))) for _ in range(2)]
    for t in probes:
        t.start()
    for t in probes:
        t.join(5)
    assert client.circuit_breaker_state()["state"] == "closed"


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
        success_threshold=1,
    )
    server.pause()
    try:
        with pytest.raises(pyredisclient.TimeoutError):
            client.get("k")  # opens the breaker
        time.sleep(RECOVERY + 0.05)
        # The probe (the only one admitted at first) is aborted by a signal
        # handler while it waits for the server.
        with interrupt_main_thread_after(0.1), pytest.raises(Interrupted):
            client.get("k")
        assert client.circuit_breaker_state()["state"] == "half_open"
    finally:
        server.resume()
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
        (logging.WARNING, "half-open"),
        (logging.WARNING, "closed"),
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


# -- one event is one failure; a short first open; why it is open ----------------------


def run_threads(n: int, target: Callable[[int], None], timeout: float = 10.0) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads)


def test_calls_timing_out_together_count_as_one_event(
    redis_server_factory: Callable[..., RedisServer],
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    # Eight threads wait on one paused server and time out together: one failure
    # event, not eight; with the default threshold of five it stays closed.
    server = redis_server_factory()
    client = make_client(server.port, socket_timeout=0.5)
    assert client.ping() is True
    barrier = threading.Barrier(8)
    errors: list[str] = []

    def call(_: int) -> None:
        barrier.wait(5)
        try:
            client.get("k")
        except pyredisclient.RedisError as exc:
            errors.append(type(exc).__name__)

    server.pause()
    try:
        run_threads(8, call)
    finally:
        server.resume()
    assert errors == ["TimeoutError"] * 8
    state = client.circuit_breaker_state()
    assert (state["state"], state["failures"], state["opens"]) == ("closed", 1, 0)
    assert (state["window_calls"], state["window_failures"]) == (9, 8)
    assert state["last_error"] == "TimeoutError"
    assert client.get("k") is None


def test_a_pause_under_load_neither_opens_the_breaker_nor_outlasts_the_fault(
    redis_server_factory: Callable[..., RedisServer],
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    # 8 threads of mixed calls; the server is paused for 1.2 s (two rounds of
    # timeouts at socket_timeout=0.5). Default breaker: it must stay closed, and
    # every thread must be served again within a second of the resume.
    server = redis_server_factory()
    client = make_client(server.port, socket_timeout=0.5)
    resumed = threading.Event()
    stop = threading.Event()
    resumed_at = [0.0]
    back_after = [float("inf")] * 8
    counts = [0] * 8

    def work(i: int) -> None:
        key = f"load:{i}"
        for n in range(100_000):
            if stop.is_set():
                return
            try:
                if n % 2:
                    client.incr(key)
                else:
                    client.get(key)
            except pyredisclient.RedisError:
                continue
            counts[i] += 1
            if resumed.is_set() and back_after[i] == float("inf"):
                back_after[i] = time.monotonic() - resumed_at[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.3)
        server.pause()
        time.sleep(1.2)
    finally:
        server.resume()
        resumed_at[0] = time.monotonic()
        resumed.set()
    time.sleep(1.5)
    stop.set()
    for t in threads:
        t.join(10)
    state = client.circuit_breaker_state()
    assert state["opens"] == 0, state
    assert state["state"] == "closed"
    assert min(counts) > 0
    assert max(back_after) < 1.0, back_after


def test_the_first_open_is_short_and_doubles_while_probes_fail(
    redis_server_factory: Callable[..., RedisServer],
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    server = redis_server_factory()
    client = make_client(
        server.port,
        failure_threshold=1,
        min_recovery_timeout=0.2,
        recovery_timeout=0.7,
        success_threshold=1,
    )
    assert client.ping() is True
    server.stop()
    fail_times(client, 1)
    opened = time.monotonic()
    state = client.circuit_breaker_state()
    assert (state["state"], state["open_seconds"]) == ("open", 0.2)
    assert 0.1 < state["open_remaining"] <= 0.2
    with pytest.raises(pyredisclient.CircuitOpenError):
        client.get("k")
    for expect in (0.4, 0.7, 0.7):
        # Wait out the open time; the probe finds the server still down.
        while client.circuit_breaker_state()["state"] == "open":
            assert time.monotonic() - opened < 2, "stayed open too long"
            time.sleep(0.01)
        fail_times(client, 1)
        opened = time.monotonic()
        state = client.circuit_breaker_state()
        assert (state["state"], state["open_seconds"]) == ("open", expect)
        assert state["reason"].startswith("a half-open probe failed")
    server.start()
    time.sleep(0.75)
    assert client.get("k") is None  # the probe succeeds: closed again
    state = client.circuit_breaker_state()
    assert (state["state"], state["open_seconds"], state["reason"]) == ("closed", 0.2, None)


def test_default_breaker_lets_traffic_back_within_about_a_second(
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    server = redis_server_factory()
    client = pyredisclient.RedisClient(host="127.0.0.1", port=server.port)
    try:
        assert client.ping() is True
        server.stop()
        for _ in range(100):  # refused calls fail fast: five events open the breaker
            try:
                client.get("k")
            except pyredisclient.CircuitOpenError:
                break
            except pyredisclient.ConnectionError:
                pass
        state = client.circuit_breaker_state()
        assert (state["state"], state["open_seconds"]) == ("open", 1.0)
        assert state["reason"] == "5 consecutive failure events"
        server.start()
        up = time.monotonic()
        back = None
        while time.monotonic() - up < 5:
            try:
                client.get("k")
            except pyredisclient.CircuitOpenError:
                time.sleep(0.01)
                continue
            back = time.monotonic() - up
            break
        assert back is not None and back < 1.2, back
        # One successful probe lets traffic ramp back: 1, then 2 at once, closed.
        assert client.circuit_breaker_state()["state"] == "half_open"
        assert client.get("k") is None
        assert client.get("k") is None
        assert client.circuit_breaker_state()["state"] == "closed"
    finally:
        client.close()


class EveryOther:
    """Mini Redis that hangs up on every second command: never two failures in a row."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.n = 0
        self.db = MiniRedis()

    def __call__(self, peer: Peer) -> None:
        while True:
            cmd = peer.read_command()
            if cmd is None:
                return
            with self.lock:
                self.n += 1
                fail = self.n % 2 == 0
            if fail or not peer.send(self.db.reply(cmd)):
                return


@pytest.mark.parametrize("rate", [0.5, 0.0])
def test_a_failure_rate_over_the_window_opens(
    rate: float, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    with FakeServer(EveryOther()) as server:
        client = make_client(
            server.port, failure_threshold=2, failure_rate_threshold=rate, minimum_calls=10
        )
        outcomes = []
        for _ in range(20):
            try:
                client.get("k")
                outcomes.append("ok")
            except pyredisclient.CircuitOpenError:
                outcomes.append("refused")
            except pyredisclient.ConnectionError:
                outcomes.append("failed")
        state = client.circuit_breaker_state()
    if rate:
        # 5 of the first 10 calls failed (50 %), none of them twice in a row.
        assert outcomes[:10] == ["ok", "failed"] * 5
        assert outcomes[10:] == ["refused"] * 10
        assert state["state"] == "open"
        assert state["reason"] == "failure rate 0.50 over 10 s (5 of 10 calls failed)"
    else:
        assert outcomes == ["ok", "failed"] * 10  # the rate is off: only runs open it
        assert (state["state"], state["window_calls"]) == ("closed", 0)


def test_health_and_metrics_say_why_the_breaker_is_open(
    switch: tuple[FakeServer, Switchable],
    make_client: Callable[..., pyredisclient.RedisClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server, _ = switch
    client = make_client(server.port, failure_threshold=2, recovery_timeout=60)
    with caplog.at_level(logging.INFO, LOGGER):
        fail_times(client, 2)
    state = client.circuit_breaker_state()
    assert state["reason"] == "2 consecutive failure events"
    assert (state["last_error"], state["last_error_code"]) == ("ConnectionError", "ECONNLOST")
    assert state["open_seconds"] == 1.0  # the first open is short, recovery_timeout or not
    assert 0.5 < state["open_remaining"] <= 1.0
    with pytest.raises(
        pyredisclient.CircuitOpenError,
        match=r"circuit breaker is open \(2 consecutive failure events\); next probe in \d+ ms",
    ):
        client.get("k")
    report = client.health_check()
    assert report["status"] == "unhealthy"
    assert "2 consecutive failure events" in report["error"]
    assert report["circuit_breaker"]["reason"] == "2 consecutive failure events"
    metrics = client.metrics()
    assert metrics["circuit_breaker"]["reason"] == "2 consecutive failure events"
    assert metrics["circuit_breaker"]["last_error"] == "ConnectionError"
    opened = [r.getMessage() for r in caplog.records if "opened" in r.getMessage()]
    assert opened == [
        "circuit breaker opened for 1 s (2 consecutive failure events; last error "
        "ECONNLOST): calls fail fast with CircuitOpenError until a probe succeeds"
    ]


def test_the_seeds_settings_stay_expressible(
    switch: tuple[FakeServer, Switchable],
) -> None:
    # 5 failures, 60 s, 3 successes: exactly that, from keywords, a URL or variables.
    server, _ = switch
    seeds = {
        "failure_threshold": 5,
        "recovery_timeout": 60,
        "min_recovery_timeout": 60,
        "success_threshold": 3,
        "failure_rate_threshold": 0,
    }
    query = "&".join(f"{k}={v}" for k, v in seeds.items())
    env = {f"REDIS_{k.upper()}": str(v) for k, v in seeds.items()}
    env["REDIS_URL"] = server.url
    configs = [
        pyredisclient.RedisConfig(host="127.0.0.1", port=server.port, **seeds),  # type: ignore[arg-type]
        pyredisclient.RedisConfig.from_url(f"{server.url}?{query}"),
        pyredisclient.RedisConfig.from_env(environ=env),
    ]
    assert configs[0] == configs[1] == configs[2]
    client = pyredisclient.RedisClient(config=configs[0], retry_attempts=0)
    try:
        fail_times(client, 4)
        assert client.circuit_breaker_state()["state"] == "closed"
        fail_times(client, 1)
        state = client.circuit_breaker_state()
        assert (state["state"], state["open_seconds"]) == ("open", 60.0)
        assert (state["success_threshold"], state["failure_rate_threshold"]) == (3, 0.0)
    finally:
        client.close()
