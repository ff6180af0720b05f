"""with_redis_fallback: fallbacks on Redis errors, rate-limited logs, counts, typing.

Redis failures come from real servers (a refused port, a stopped server, a real
error reply); the pure logic of rate limiting uses an injected clock.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import statistics
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest

import pyredisclient
from pyredisclient import fallback as fb
from pyredisclient.fallback import fallback_counts, reset_fallback_counts, with_redis_fallback
from pyredisclient.testing import RedisServer, find_free_port

LOGGER = "pyredisclient"


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    reset_fallback_counts()
    yield
    reset_fallback_counts()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A settable clock for the rate limiter: clock[0] is "now"."""
    now = [1000.0]
    monkeypatch.setattr(fb, "_clock", lambda: now[0])
    return now


@pytest.fixture
def down_client() -> Iterator[pyredisclient.RedisClient]:
    """A client whose server refuses connections (nothing listens on the port)."""
    client = pyredisclient.RedisClient(
        host="127.0.0.1",
        port=find_free_port(),
        socket_connect_timeout=0.5,
        socket_timeout=0.5,
        retry_attempts=0,
        failure_threshold=1000,
    )
    yield client
    client.close()


def _name(func: Callable[..., Any]) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def _fallback_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == LOGGER and "fallback" in r.getMessage()]


# -- what it returns ----------------------------------------------------------


def test_returns_fallback_when_redis_is_down(
    down_client: pyredisclient.RedisClient, caplog: pytest.LogCaptureFixture
) -> None:
    @with_redis_fallback("default")
    def lookup(key: str) -> str:
        return down_client.get(key).decode()

    with caplog.at_level(logging.WARNING, LOGGER):
        assert lookup("k") == "default"
    assert fallback_counts() == {_name(lookup): 1}
    [record] = _fallback_records(caplog)
    assert record.levelno == logging.WARNING
    assert "ConnectionError" in record.getMessage()
    assert lookup.__qualname__ in record.getMessage()


def test_passes_the_real_result_through(redis_client: pyredisclient.RedisClient) -> None:
    redis_client.set("k", "v")

    @with_redis_fallback(None)
    def lookup(key: str) -> bytes | None:
        return redis_client.get(key)

    assert lookup("k") == b"v"
    assert fallback_counts() == {}


def test_default_fallback_is_none(down_client: pyredisclient.RedisClient) -> None:
    @with_redis_fallback()
    def lookup() -> Any:
        return down_client.get("k")

    assert lookup() is None


def test_factory_gives_a_fresh_value_each_time(down_client: pyredisclient.RedisClient) -> None:
    @with_redis_fallback(factory=list)
    def items() -> list[str]:
        return [x.decode() for x in down_client.lrange("l", 0, -1)]

    first, second = items(), items()
    assert first == second == []
    assert first is not second
    first.append("mutated")
    assert items() == []


def test_fallback_value_is_returned_as_is() -> None:
    shared: list[str] = []

    @with_redis_fallback(shared)
    def items() -> list[str]:
        raise pyredisclient.TimeoutError("timed out reading from the server")

    assert items() is shared


def test_async_functions(down_client: pyredisclient.RedisClient) -> None:
    @with_redis_fallback(-1)
    async def count(key: str) -> int:
        await asyncio.sleep(0)
        return int(down_client.get(key) or 0)

    assert inspect.iscoroutinefunction(count)
    assert asyncio.run(count("k")) == -1
    assert fallback_counts() == {_name(count): 1}


def test_async_cancellation_and_other_errors_propagate() -> None:
    @with_redis_fallback(0)
    async def boom() -> int:
        raise KeyError("not redis")

    with pytest.raises(KeyError):
        asyncio.run(boom())

    @with_redis_fallback(0)
    async def cancelled() -> int:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cancelled())
    assert fallback_counts() == {}


class Repo:
    def __init__(self, client: pyredisclient.RedisClient) -> None:
        self.client = client

    @with_redis_fallback("m")
    def method(self, key: str) -> str:
        """Read one key."""
        return self.client.get(key).decode()

    @classmethod
    @with_redis_fallback("c")
    def inner_classmethod(cls, client: pyredisclient.RedisClient) -> str:
        return client.get("k").decode()

    @with_redis_fallback("outer-c")
    @classmethod
    def outer_classmethod(cls, client: pyredisclient.RedisClient) -> str:
        return client.get("k").decode()

    @with_redis_fallback("s")
    @staticmethod
    def static(client: pyredisclient.RedisClient) -> str:
        return client.get("k").decode()


def test_methods_classmethods_and_staticmethods(down_client: pyredisclient.RedisClient) -> None:
    repo = Repo(down_client)
    assert repo.method("k") == "m"
    assert Repo.inner_classmethod(down_client) == "c"
    assert Repo.outer_classmethod(down_client) == "outer-c"
    assert Repo.static(down_client) == "s"
    assert repo.static(down_client) == "s"
    counts = fallback_counts()
    assert counts[f"{__name__}.Repo.method"] == 1
    assert counts[f"{__name__}.Repo.static"] == 2
    assert len(counts) == 4


def test_keeps_name_doc_and_signature() -> None:
    def original(a: int, b: str = "x", *args: int, c: bool = False, **kw: float) -> str:
        """The docstring."""
        return b

    wrapped = with_redis_fallback("f")(original)
    assert wrapped.__name__ == "original"
    assert wrapped.__qualname__ == original.__qualname__
    assert wrapped.__doc__ == "The docstring."
    assert wrapped.__module__ == original.__module__
    assert inspect.signature(wrapped) == inspect.signature(original)
    assert wrapped.__wrapped__ is original  # type: ignore[attr-defined]
    assert Repo.method.__doc__ == "Read one key."
    assert wrapped(1, "y", c=True) == "y"


# -- what it lets through -------------------------------------------------------


def test_configuration_error_always_propagates() -> None:
    @with_redis_fallback("f", exceptions=(Exception,))
    def configure() -> str:
        pyredisclient.RedisConfig(port=0)
        return "unreachable"

    with pytest.raises(pyredisclient.ConfigurationError):
        configure()
    assert fallback_counts() == {}


def test_configuration_error_from_the_environment_propagates(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", "ftp://nowhere")
    pyredisclient.RedisClient._reset_shared()

    @with_redis_fallback("f")
    def handler() -> Any:
        return pyredisclient.RedisClient.get_client().get("k")

    with pytest.raises(pyredisclient.ConfigurationError):
        handler()


@pytest.mark.parametrize("exc", [ValueError("v"), KeyError("k"), OSError("io"), TypeError("t")])
def test_non_redis_errors_propagate(exc: Exception) -> None:
    @with_redis_fallback("f")
    def fails() -> str:
        raise exc

    with pytest.raises(type(exc)):
        fails()
    assert fallback_counts() == {}


def test_custom_exceptions_narrow_what_is_caught(hung_client: pyredisclient.RedisClient) -> None:
    @with_redis_fallback("timeout-only", exceptions=pyredisclient.TimeoutError)
    def read() -> Any:
        return hung_client.get("k")

    assert read() == "timeout-only"

    @with_redis_fallback("timeout-only", exceptions=(pyredisclient.TimeoutError,))
    def incr(client: pyredisclient.RedisClient) -> Any:
        return client.incr("k")

    refused = pyredisclient.RedisClient(
        host="127.0.0.1", port=find_free_port(), retry_attempts=0, socket_connect_timeout=0.5
    )
    try:
        with pytest.raises(pyredisclient.ConnectionError):
            incr(refused)
    finally:
        refused.close()


@pytest.fixture
def hung_client(redis_server_factory: Callable[..., RedisServer]) -> Iterator[Any]:
    server = redis_server_factory()
    server.pause()
    client = pyredisclient.RedisClient.from_url(server.url, socket_timeout=0.2)
    yield client
    client.close()
    server.resume()


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(TypeError, match="not both"):
        with_redis_fallback(1, factory=list)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="exception classes"):
        with_redis_fallback(exceptions=("RedisError",))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="exception classes"):
        with_redis_fallback(exceptions=())
    with pytest.raises(TypeError, match="callable"):
        with_redis_fallback(factory=42)  # type: ignore[call-overload]

    def plain() -> None: ...

    with pytest.raises(TypeError, match="parentheses"):
        with_redis_fallback(plain)

    def gen() -> Iterator[int]:
        yield 1

    with pytest.raises(TypeError, match="generator"):
        with_redis_fallback()(gen)


# -- logging ----------------------------------------------------------------------


def _raiser(exc: Exception) -> Callable[[], str]:
    @with_redis_fallback("f")
    def call() -> str:
        raise exc

    return call


def test_first_fallback_warns_then_summaries_are_rate_limited(
    clock: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    call = _raiser(pyredisclient.ConnectionError("connect 10.0.0.5:6379: Connection refused"))
    with caplog.at_level(logging.DEBUG, LOGGER):
        for _ in range(100):
            call()
            clock[0] += 0.1  # 100 calls over 10 s: inside one interval
        assert len(_fallback_records(caplog)) == 1
        clock[0] += fb.LOG_SUMMARY_INTERVAL
        call()  # the first call after the interval writes the summary
        for _ in range(10):
            call()
    records = _fallback_records(caplog)
    assert [r.levelno for r in records] == [logging.WARNING, logging.WARNING]
    assert "Connection refused" in records[0].getMessage()
    assert "100 more times" in records[1].getMessage()
    assert fallback_counts() == {_name(call): 111}


def test_each_error_class_gets_its_own_first_warning(
    clock: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    errors: list[Exception] = [pyredisclient.ConnectionError("down")]

    @with_redis_fallback("f")
    def call() -> str:
        raise errors[0]

    with caplog.at_level(logging.WARNING, LOGGER):
        call()
        call()
        errors[0] = pyredisclient.TimeoutError("slow")
        call()
        call()
        errors[0] = pyredisclient.CircuitOpenError("open")
        call()
    messages = [r.getMessage() for r in _fallback_records(caplog)]
    assert len(messages) == 3
    assert [m.split("(")[1].split(":")[0] for m in messages] == [
        "ConnectionError",
        "TimeoutError",
        "CircuitOpenError",
    ]


def test_response_error_is_logged_as_a_bug_with_traceback(
    redis_client: pyredisclient.RedisClient, caplog: pytest.LogCaptureFixture
) -> None:
    redis_client.set("text", "not a number")

    @with_redis_fallback(0)
    def bump() -> int:
        return redis_client.incr("text")

    with caplog.at_level(logging.WARNING, LOGGER):
        assert bump() == 0
        assert bump() == 0
    [record] = _fallback_records(caplog)
    assert record.levelno == logging.ERROR
    assert "ResponseError" in record.getMessage()
    assert "bug" in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[0] is pyredisclient.ResponseError
    assert "redis_client.incr" in caplog.text  # the traceback names the failing line


def test_data_error_is_logged_as_a_bug(
    redis_client: pyredisclient.RedisClient, caplog: pytest.LogCaptureFixture
) -> None:
    @with_redis_fallback(None)
    def store(value: Any) -> Any:
        return redis_client.set("k", value)

    with caplog.at_level(logging.WARNING, LOGGER):
        assert store({"a": "dict"}) is None
    [record] = _fallback_records(caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and record.exc_info[0] is pyredisclient.DataError


@pytest.mark.parametrize(
    "exc", [pyredisclient.ReadOnlyError("You can't write"), pyredisclient.OutOfMemoryError("oom")]
)
def test_failover_and_full_server_replies_are_warnings(
    exc: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, LOGGER):
        _raiser(exc)()
    [record] = _fallback_records(caplog)
    assert record.levelno == logging.WARNING
    assert record.exc_info is None


def test_logs_hold_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    exc = pyredisclient.ConnectionError("cannot reach redis://admin:hunter2@cache:6379/0")
    with caplog.at_level(logging.WARNING, LOGGER):
        _raiser(exc)()
    assert "hunter2" not in caplog.text
    assert "redis://admin:***@cache:6379/0" in caplog.text  # the shared redact_url form


def test_wrong_password_fallback_does_not_log_the_password(
    redis_server_factory: Callable[..., RedisServer], caplog: pytest.LogCaptureFixture
) -> None:
    server = redis_server_factory(password="right-pw")
    client = pyredisclient.RedisClient.from_url(f"redis://:wrong-pw-6b1d@127.0.0.1:{server.port}/0")

    @with_redis_fallback("f")
    def read() -> Any:
        return client.get("k")

    try:
        with caplog.at_level(logging.DEBUG, LOGGER):
            assert read() == "f"
    finally:
        client.close()
    assert "AuthenticationError" in caplog.text
    assert "wrong-pw-6b1d" not in caplog.text


# -- counting -------------------------------------------------------------------------


def test_counts_are_per_function_and_resettable() -> None:
    @with_redis_fallback(0)
    def first() -> int:
        raise pyredisclient.ConnectionError("x")

    @with_redis_fallback(0)
    def second() -> int:
        raise pyredisclient.ConnectionError("x")

    first()
    first()
    second()
    assert fallback_counts() == {_name(first): 2, _name(second): 1}
    snapshot = fallback_counts()
    snapshot.clear()  # a copy: the registry is untouched
    assert fallback_counts()[_name(first)] == 2
    reset_fallback_counts()
    assert fallback_counts() == {}


def test_counting_is_thread_safe(clock: list[float]) -> None:
    @with_redis_fallback(0)
    def fails() -> int:
        raise pyredisclient.ConnectionError("x")

    threads, per_thread = 8, 2000
    barrier = threading.Barrier(threads)

    def work() -> None:
        barrier.wait()
        for _ in range(per_thread):
            fails()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join(30)
    assert fallback_counts() == {_name(fails): threads * per_thread}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_registry_lock_is_recreated_in_a_forked_child() -> None:
    @with_redis_fallback("child-ok")
    def fails() -> str:
        raise pyredisclient.ConnectionError("x")

    # Fork while the registry lock is held: without the at-fork handler the child
    # would inherit a locked lock and hang on its first fallback.
    with fb._lock:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            code = 0 if fails() == "child-ok" and fallback_counts() else 1
            os._exit(code)
    deadline = time.monotonic() + 10
    status = None
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.01)
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the child hung on the fallback registry lock")
    assert os.waitstatus_to_exitcode(status) == 0


# -- cost when the breaker is open ------------------------------------------------------


def test_open_breaker_makes_fallback_cost_microseconds(caplog: pytest.LogCaptureFixture) -> None:
    client = pyredisclient.RedisClient(
        host="127.0.0.1",
        port=find_free_port(),
        retry_attempts=0,
        failure_threshold=1,
        recovery_timeout=60,
        socket_connect_timeout=0.5,
    )

    @with_redis_fallback(None)
    def cached(key: str) -> Any:
        return client.get(key)

    try:
        with caplog.at_level(logging.WARNING, LOGGER):
            cached("k")  # the refused connect opens the breaker
            assert client.circuit_breaker_state()["state"] == "open"
            samples = []
            for _ in range(2000):
                t0 = time.perf_counter_ns()
                cached("k")
                samples.append(time.perf_counter_ns() - t0)
    finally:
        client.close()
    median_us = statistics.median(samples) / 1000
    assert median_us < 200, f"median {median_us:.1f} µs per fallback with the breaker open"
    assert fallback_counts() == {_name(cached): 2001}
    # One WARNING per error class, not one per call.
    assert len(_fallback_records(caplog)) == 2


# -- typing on Python 3.9 -------------------------------------------------------------


def test_module_loads_without_typing_paramspec() -> None:
    """The Python 3.9 branch (no typing.ParamSpec, no typing_extensions) still works."""
    code = textwrap.dedent(
        f"""
        import importlib.util, inspect, sys
        import pyredisclient
        sys.version_info = (3, 9, 18, "final", 0)
        sys.modules["typing_extensions"] = None  # importing it fails
        spec = importlib.util.spec_from_file_location(
            "pyredisclient.resilience._fallback39", {fb.__file__!r})
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        assert mod.ParamSpec.__module__ == mod.__name__  # the stand-in, not typing's

        @mod.with_redis_fallback("f")
        def read(key: str, n: int = 1) -> str:
            raise pyredisclient.ConnectionError("down")

        assert read("k") == "f", read("k")
        assert str(inspect.signature(read)) == "(key: str, n: int = 1) -> str"
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
