"""Direct tests of the C extension pyredisclient._core (Client, Batch, exceptions).

RedisClient is a thin layer over these; here the binding's own contract is
checked: keyword validation, argument and reply conversion, Batch encoding and
its in-flight guard, error replies returned in place by execute_batch, object
lifetime (weak references, subclassing, garbage collection).
"""

from __future__ import annotations

import builtins
import dataclasses
import gc
import pickle
import select
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

import pyredisclient
from pyredisclient import _core
from pyredisclient.config import RedisConfig
from pyredisclient.testing import RedisServer


def resp(*args: bytes | str | float) -> bytes:
    """The RESP2 encoding of one command, as the client must send it."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


@pytest.fixture
def core(redis_server: RedisServer, redis_client: Any) -> Iterator[_core.Client]:
    """A bare _core.Client on the session server (db flushed by redis_client)."""
    client = _core.Client(host="127.0.0.1", port=redis_server.port, socket_timeout=2.0)
    yield client
    client.close()


# ---------------------------------------------------------------------------
# module and exceptions
# ---------------------------------------------------------------------------


def test_exception_hierarchy() -> None:
    e = _core
    assert issubclass(e.RedisError, Exception)
    for cls in (e.ConnectionError, e.TimeoutError, e.ResponseError, e.ProtocolError):
        assert issubclass(cls, e.RedisError)
    assert issubclass(e.ConnectionError, builtins.ConnectionError)
    assert issubclass(e.ConnectionError, OSError)
    assert issubclass(e.TimeoutError, builtins.TimeoutError)
    assert not issubclass(e.TimeoutError, e.ConnectionError)
    for cls in (
        e.AuthenticationError,
        e.CircuitOpenError,
        e.PoolTimeoutError,
        e.BusyLoadingError,
        e.MaxClientsError,
        e.MasterDownError,
    ):
        assert issubclass(cls, e.ConnectionError)
    for cls in (
        e.NoScriptError,
        e.ReadOnlyError,
        e.OutOfMemoryError,
        e.ExecAbortError,
        e.NoPermissionError,
        e.AskError,
        e.TryAgainError,
        e.ModuleError,
    ):
        assert issubclass(cls, e.ResponseError)
    assert issubclass(e.MovedError, e.AskError)  # redis-py's shape
    assert issubclass(e.ReplyLimitError, e.ProtocolError)
    assert e.InvalidResponse is e.ProtocolError
    # redis-py's other names: a pool with no free connection in time, and the
    # cluster client's errors (SlotNotCoveredError: no primary serves the slot).
    assert pyredisclient.MaxConnectionsError is e.PoolTimeoutError
    assert pyredisclient.RedisClusterException is pyredisclient.ClusterError
    assert issubclass(pyredisclient.SlotNotCoveredError, pyredisclient.ClusterDownError)
    assert issubclass(e.DataError, e.RedisError) and issubclass(e.DataError, TypeError)
    assert issubclass(e.WatchError, e.RedisError)
    # The package re-exports the very same classes.
    for name in ("RedisError", "ConnectionError", "DataError", "ReplyLimitError", "WatchError"):
        assert getattr(pyredisclient, name) is getattr(e, name)
    # Instances survive pickling (multiprocessing, logging handlers across processes).
    classes: tuple[type[Exception], ...] = (
        e.ConnectionError,
        e.TimeoutError,
        e.NoScriptError,
        e.DataError,
    )
    for exc_cls in classes:
        copy = pickle.loads(pickle.dumps(exc_cls("message")))
        assert type(copy) is exc_cls and str(copy) == "message"


def test_hiredis_version() -> None:
    major, minor = (int(x) for x in _core.hiredis_version.split(".")[:2])
    assert (major, minor) >= (0, 14)
    assert pyredisclient.hiredis_version == _core.hiredis_version


# ---------------------------------------------------------------------------
# Client construction
# ---------------------------------------------------------------------------


# _core.Client checks types only (TypeError); the core refuses the numbers it cannot
# compute with and the addresses it cannot use (ValueError naming the option); what an
# option means is RedisConfig's to check (ConfigurationError, tests/unit/test_config.py).
@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"port": "6379"}, TypeError, "port: unexpected type str"),
        ({"host": 1}, TypeError, "host: unexpected type int"),
        ({"socket_timeout": "5"}, TypeError, "socket_timeout: unexpected type str"),
        ({"max_reply_bytes": 1.5}, TypeError, "max_reply_bytes: unexpected type float"),
        ({"ssl_cert_reqs": 2}, TypeError, "ssl_cert_reqs: unexpected type int"),
        ({"ssl_cert_reqs": "sometimes"}, ValueError, "ssl_cert_reqs must be"),
        ({"client_name": "a\0b"}, ValueError, "client_name: embedded null"),
        ({"port": 2**40}, OverflowError, "port"),
        ({"max_reply_bytes": -1}, OverflowError, "negative"),
        ({"socket_timeout": float("nan")}, ValueError, "pool option socket_timeout:"),
        ({"socket_timeout": float("inf")}, ValueError, "pool option socket_timeout:"),
        ({"socket_connect_timeout": 2e9}, ValueError, "socket_connect_timeout:"),
        ({"retry_base": float("nan")}, ValueError, "pool option retry_base:"),
        ({"port": 65536}, ValueError, "pool option port:"),
        ({"db": -1}, ValueError, "pool option db:"),
        ({"max_connections": 0}, ValueError, "pool option max_connections:"),
        ({"max_reply_bytes": 10}, ValueError, "pool option max_reply_bytes:"),
    ],
)
def test_client_checks_types_and_what_the_core_cannot_use(
    kwargs: dict[str, Any], error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        _core.Client(**{"host": "127.0.0.1", **kwargs})


def test_client_defaults_are_the_option_tables() -> None:
    defaults = _core.Client.defaults()
    assert defaults["host"] == "localhost" and defaults["port"] == 6379
    assert defaults["socket_timeout"] == 5.0 and defaults["ssl_cert_reqs"] == "required"
    assert defaults["unix_socket_path"] is None and defaults["socket_keepalive"] is True
    assert defaults["max_reply_bytes"] == 512 * 1024 * 1024
    assert defaults["decode_responses"] is False and defaults["encoding"] == "utf-8"
    # Every keyword, and only those, is taken.
    client = _core.Client(**{**defaults, "host": "127.0.0.1"})
    client.close()


def test_redisconfig_and_the_option_tables_agree() -> None:
    """An option of _core.Client lives in one table (PRC_OPTIONS_MAP in csrc/core/prc.h,
    or PYRC_OPTIONS_MAP in csrc/binding/binding.h, for how replies are decoded) and in
    RedisConfig, which validates what it means: both must name the same options with
    the same defaults. Every other RedisConfig field lives in Python only."""
    from pyredisclient.client.base import _PYTHON_ONLY

    tables = _core.Client.defaults()
    config = RedisConfig()
    fields = {f.name for f in dataclasses.fields(RedisConfig)}
    assert fields - _PYTHON_ONLY == set(tables), "add the option to both, or to _PYTHON_ONLY"
    assert not _PYTHON_ONLY & set(tables)
    # RedisConfig keeps "not given" apart: host None is localhost, pool_timeout None
    # is socket_timeout's.
    effective = {"host": config.effective_host, "pool_timeout": config.effective_pool_timeout}
    differ = {
        name: (effective.get(name, getattr(config, name)), default)
        for name, default in tables.items()
        if effective.get(name, getattr(config, name)) != default
    }
    assert differ == {}, "RedisConfig's defaults differ from the option tables'"


def test_client_takes_keywords_only() -> None:
    with pytest.raises(TypeError):
        _core.Client("127.0.0.1", 6379)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _core.Client(host="127.0.0.1", no_such_option=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        _core.Client(host="127.0.0.1", port="6379")  # type: ignore[arg-type]


def test_none_timeouts_mean_no_limit(redis_server: RedisServer) -> None:
    client = _core.Client(
        host="127.0.0.1",
        port=redis_server.port,
        socket_timeout=None,
        socket_connect_timeout=None,
        pool_timeout=None,
    )
    try:
        assert client.execute(("PING",)) == b"PONG"
    finally:
        client.close()


def test_init_twice_and_uninitialised_client(redis_server: RedisServer) -> None:
    client = _core.Client(host="127.0.0.1", port=redis_server.port)
    with pytest.raises(RuntimeError, match="already"):
        client.__init__(host="127.0.0.1", port=redis_server.port)  # type: ignore[misc]
    assert client.execute(("PING",)) == b"PONG"
    client.close()
    bare = _core.Client.__new__(_core.Client)
    for call in (
        lambda: bare.execute(("PING",)),
        lambda: bare.execute_batch(_core.Batch()),
        bare.pool_stats,
        bare.breaker_state,
    ):
        with pytest.raises(_core.RedisError, match="__init__"):
            call()
    bare.close()  # harmless


def test_weakref_subclass_and_gc(redis_server: RedisServer) -> None:
    class Sub(_core.Client):
        pass

    client = Sub(host="127.0.0.1", port=redis_server.port)
    assert client.execute(("PING",)) == b"PONG"
    ref = weakref.ref(client)
    assert ref() is client
    del client
    gc.collect()
    assert ref() is None


# ---------------------------------------------------------------------------
# execute
# ---------------------------------------------------------------------------


def test_execute_accepts_any_sequence(core: _core.Client) -> None:
    assert core.execute(("SET", "k", "v")) == b"OK"
    assert core.execute(["GET", "k"]) == b"v"
    assert core.execute(x for x in ("GET", "k")) == b"v"  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="tuple of arguments"):
        core.execute(42)  # type: ignore[arg-type]
    with pytest.raises(_core.DataError):
        core.execute(())
    with pytest.raises(_core.DataError, match="argument 1"):
        core.execute(("GET", None))  # type: ignore[arg-type]


def test_execute_reply_types(core: _core.Client) -> None:
    assert core.execute(("PING",)) == b"PONG"
    assert core.execute(("ECHO", b"")) == b""
    assert core.execute(("GET", "missing")) is None
    assert core.execute(("INCRBY", "n", -(2**63))) == -(2**63)
    assert core.execute(("EVAL", "return {1, {}, {'a', {false}}}", 0)) == [1, [], [b"a", [None]]]
    with pytest.raises(_core.ResponseError) as info:
        core.execute(("HGET", "n", "f"))
    assert str(info.value).startswith("WRONGTYPE")
    # Python-side reply objects are fresh each time (no shared mutable state).
    first = core.execute(("EVAL", "return {1}", 0))
    first.append(2)
    assert core.execute(("EVAL", "return {1}", 0)) == [1]


def test_decoded_client(redis_server: RedisServer, redis_client: Any) -> None:
    client = _core.Client(host="127.0.0.1", port=redis_server.port, decode_responses=True)
    try:
        client.execute(("SET", "k", "ü"))
        assert client.execute(("GET", "k")) == "ü"
        assert client.execute(("MGET", "k", "none")) == ["ü", None]
        assert client.execute(("PING",)) == "PONG"
    finally:
        client.close()


def test_error_reply_prefixes(core: _core.Client) -> None:
    with pytest.raises(_core.NoScriptError):
        core.execute(("EVALSHA", "f" * 40, 0))
    with pytest.raises(_core.AuthenticationError):
        # A WRONGPASS error reply (AUTH itself is refused on pooled connections).
        core.execute(("EVAL", "return redis.error_reply('WRONGPASS invalid pair')", 0))
    with pytest.raises(_core.ResponseError) as info:
        core.execute(("SET", "only"))
    assert type(info.value) is _core.ResponseError
    assert str(info.value) == "wrong number of arguments for 'set' command"
    # The connection stays usable after every kind of error reply.
    assert core.execute(("PING",)) == b"PONG"
    assert core.pool_stats()["created"] == 1


# ---------------------------------------------------------------------------
# Batch
# ---------------------------------------------------------------------------


def test_batch_encoding_length_and_flags() -> None:
    with pytest.raises(TypeError):
        _core.Batch(1)  # type: ignore[call-arg]
    b = _core.Batch()
    assert len(b) == 0 and b.nbytes == 0 and b.readonly is True
    b.append(("GET", "k"))
    assert b.readonly is True
    b.append(("SET", b"k\x00", 12))
    b.append(("ECHO", memoryview(b"mv"), bytearray(b"ba"), 1.5, "é"))
    expected = resp("GET", "k") + resp("SET", b"k\x00", 12) + resp("ECHO", b"mv", b"ba", 1.5, "é")
    assert len(b) == 3
    assert b.nbytes == len(expected)
    assert b.readonly is False  # SET writes
    with pytest.raises(_core.DataError):
        b.append(("SET", "k", object()))
    assert len(b) == 3 and b.nbytes == len(expected)  # a refused command is not queued
    b.clear()
    assert len(b) == 0 and b.nbytes == 0 and b.readonly is True


class _Owner:
    """Something a Batch can hold weakly and hand back from queue()."""


def test_batch_queue_records_callbacks_and_returns_its_owner() -> None:
    owner = _Owner()
    b = _core.Batch(owner=owner)
    assert b.queue(("GET", "k")) is owner
    assert b.queue(("INCR", "n"), int) is owner
    assert b.callbacks == [None, int]
    assert b.nbytes == len(resp("GET", "k") + resp("INCR", "n")) and len(b) == 2
    assert b.command_name(0) == "GET" and b.command_name(1) == "INCR"
    with pytest.raises(TypeError, match="1 or 2"):
        b.queue()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="1 or 2"):
        b.queue(("GET", "k"), None, None)  # type: ignore[call-arg]
    # A refused command leaves neither bytes nor a callback behind.
    with pytest.raises(_core.DataError):
        b.queue(("SET", "k", None), str)
    assert len(b) == 2 and b.callbacks == [None, int]
    b.clear()
    assert len(b) == 0 and b.callbacks == []
    # Held weakly: a batch never keeps its pipeline alive.
    ref = weakref.ref(owner)
    del owner
    gc.collect()
    assert ref() is None
    assert b.queue(("PING",)) is None
    assert _core.Batch().queue(("PING",)) is None


def test_batch_transaction_queues_multi_before_the_first_command() -> None:
    b = _core.Batch(transaction=True)
    with pytest.raises(_core.DataError):
        b.queue(("GET", object()))
    assert len(b) == 0 and b.nbytes == 0  # no MULTI left without its command
    b.queue(("GET", "k"))
    b.queue(("SET", "k", "v"))
    b.append(("EXEC",))
    assert b.nbytes == len(resp("MULTI") + resp("GET", "k") + resp("SET", "k", "v") + resp("EXEC"))
    assert [b.command_name(i) for i in range(len(b))] == ["MULTI", "GET", "SET", "EXEC"]
    assert b.callbacks == [None, None] and b.readonly is False


def test_batch_command_name_bounds_and_bytes() -> None:
    b = _core.Batch()
    b.append((b"\xffGET", "k"))
    assert b.command_name(0) == "\\xffGET"  # undecodable bytes are escaped
    for bad in (-1, 1):
        with pytest.raises(IndexError):
            b.command_name(bad)
    with pytest.raises(TypeError):
        b.command_name("0")  # type: ignore[arg-type]


def test_client_run_applies_the_callback(core: _core.Client) -> None:
    assert core.run(("SET", "r", "5")) == b"OK"
    assert core.run(("GET", "r"), int) == 5
    assert core.run(("GET", "r"), None) == b"5"
    with pytest.raises(TypeError, match="1 or 2"):
        core.run()  # type: ignore[call-arg]
    with pytest.raises(_core.ResponseError):
        core.run(("INCR", "r", "extra"), int)
    with pytest.raises(ZeroDivisionError):
        core.run(("GET", "r"), lambda reply: 1 / 0)
    assert core.run(("PING",)) == b"PONG"  # the connection is still in step


def test_batch_replies_in_place_and_reuse(core: _core.Client) -> None:
    assert core.execute_batch(_core.Batch()) == []
    with pytest.raises(TypeError, match="Batch"):
        core.execute_batch([("PING",)])  # type: ignore[arg-type]
    b = _core.Batch()
    b.append(("SET", "s", "text"))
    b.append(("INCR", "s"))
    b.append(("INCR", "n"))
    b.append(("NOSUCH",))
    b.append(("GET", "s"))
    replies = core.execute_batch(b)
    assert replies[0] == b"OK"
    assert isinstance(replies[1], _core.ResponseError)
    assert replies[2] == 1
    assert isinstance(replies[3], _core.ResponseError)
    assert replies[4] == b"text"
    # A batch is not consumed by execution: it can be sent again.
    assert len(b) == 5
    assert core.execute_batch(b)[2] == 2


def test_batch_transaction_replies(core: _core.Client) -> None:
    ok = _core.Batch()
    for args in (("MULTI",), ("SET", "s", "x"), ("INCR", "s"), ("GET", "s"), ("EXEC",)):
        ok.append(args)
    replies = core.execute_batch(ok)
    assert replies[:4] == [b"OK", b"QUEUED", b"QUEUED", b"QUEUED"]
    exec_reply = replies[4]
    assert exec_reply[0] == b"OK" and exec_reply[2] == b"x"
    assert isinstance(exec_reply[1], _core.ResponseError)  # error inside the EXEC array
    aborted = _core.Batch()
    for args in (("MULTI",), ("SET", "a", "1"), ("SET", "b"), ("EXEC",)):
        aborted.append(args)
    replies = core.execute_batch(aborted)
    assert replies[:2] == [b"OK", b"QUEUED"]
    assert isinstance(replies[2], _core.ResponseError)
    assert isinstance(replies[3], _core.ExecAbortError)
    assert str(replies[3]).startswith("Transaction discarded")
    assert core.execute(("EXISTS", "a")) == 0
    assert core.execute(("PING",)) == b"PONG"  # not left inside MULTI


def test_batch_in_flight_is_guarded(core: _core.Client) -> None:
    b = _core.Batch()
    b.append(("BLPOP", "guard:none", 0.5))
    b.append(("PING",))
    result: list[Any] = []
    runner = threading.Thread(target=lambda: result.append(core.execute_batch(b)))
    runner.start()
    deadline = time.monotonic() + 2
    while core.pool_stats()["in_use"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert len(b) == 2
    with pytest.raises(RuntimeError, match="another thread"):
        b.append(("PING",))
    with pytest.raises(RuntimeError, match="another thread"):
        b.clear()
    with pytest.raises(RuntimeError, match="another thread"):
        core.execute_batch(b)
    runner.join(3)
    assert result == [[None, b"PONG"]]
    assert len(b) == 2
    b.append(("PING",))
    assert core.execute_batch(b) == [None, b"PONG", b"PONG"]


def test_the_read_only_table_agrees_with_the_server(redis_client: Any) -> None:
    """Read-only commands may be replayed after a connection error, so the C
    table must never call a write command read-only, and should know every
    read-only data command the running server reports (COMMAND's flags)."""
    missing, wrong = [], []
    for entry in redis_client.execute_command("COMMAND"):
        name = entry[0].decode().upper()
        flags = {f.decode() if isinstance(f, bytes) else f for f in entry[2]}
        b = _core.Batch()
        try:
            b.append((name, "key"))
        except _core.DataError:
            continue  # a connection-state command (test_connection_state.py)
        if "write" in flags and b.readonly:
            wrong.append(name)
        elif flags >= {"readonly"} and not flags & {"blocking", "pubsub"}:
            if not b.readonly and name not in {"LOLWUT"}:  # LOLWUT: an easter egg
                missing.append(name)
    assert wrong == [] and missing == [], (wrong, missing)


def drive(call: Any) -> Any:
    """Step an AsyncCall to its end with select(): a tiny stand-in for the
    asyncio driver (bounded by the call's own deadlines)."""
    while True:
        state, fd, timeout = call.step()
        if state == 0:
            return call.result()
        if state == _core.WANT_READ:
            select.select([fd], [], [], timeout)
        elif state == _core.WANT_WRITE:
            select.select([], [fd], [], timeout)
        else:
            time.sleep(0.001)


def test_pinned_async_calls_share_one_connection_one_at_a_time(core: _core.Client) -> None:
    pin = core.pinned()
    assert pin.active is False
    conn_id = drive(pin.start(("CLIENT", "ID")))
    assert pin.active is True and core.pool_stats()["in_use"] == 1
    assert pin.execute(("CLIENT", "ID")) == conn_id  # sync and async: one connection
    b = _core.Batch()
    b.append(("SET", "pin:k", "1"))
    b.append(("CLIENT", "ID"))
    assert drive(pin.start_batch(b)) == [b"OK", conn_id]
    # While a call holds the connection nothing else may use the pin.
    call = pin.start(("GET", "pin:k"))
    assert pin.active is False  # lent to the call
    for attempt in (
        lambda: pin.execute(("PING",)),
        lambda: pin.execute_batch(b),
        lambda: pin.start(("PING",)),
        lambda: pin.start_batch(b),
    ):
        with pytest.raises(RuntimeError, match="one call at a time"):
            attempt()
    assert drive(call) == b"1"
    assert pin.active is True and pin.usable is True
    assert pin.execute(("CLIENT", "ID")) == conn_id
    pin.release()
    stats = core.pool_stats()
    assert stats["in_use"] == 0 and stats["idle"] == 1


def test_an_abandoned_pinned_call_leaves_a_broken_connection_to_the_pin(
    core: _core.Client,
) -> None:
    closed = core.pool_stats()["closed"]
    for abandon in ("cancel", "drop"):
        pin = core.pinned()
        pin.execute(("PING",))
        call = pin.start(("BLPOP", "pin:none", 5))
        state, fd, timeout = call.step()
        assert state == _core.WANT_READ  # sent, waiting for the reply
        assert fd >= 0 and timeout is not None and 0 < timeout <= 5 + 5
        if abandon == "cancel":
            call.cancel()
        else:
            del call
            gc.collect()
        # The half-read connection came back to the pin marked unusable, and
        # giving it back closes it instead of pooling it.
        assert pin.active is True and pin.usable is False
        pin.release(ok=True)
        assert core.pool_stats()["in_use"] == 0
    assert core.pool_stats()["closed"] == closed + 2
    assert core.execute(("PING",)) == b"PONG"


def test_a_pin_collected_while_its_call_is_in_flight_closes_the_connection(
    core: _core.Client,
) -> None:
    """A garbage cycle holding an in-flight pinned call and its pin: the collector
    may clear the pin first, while the call still holds the connection. The
    connection must then be closed when the call is cleared: neither freed under
    the call (ASan watches) nor left counted in use."""
    closed = core.pool_stats()["closed"]
    gc.collect()
    gc.disable()  # no collection between building the cycle and collect()
    try:
        pin = core.pinned()
        pin.execute(("PING",))
        call = pin.start(("BLPOP", "pin:none", 5))
        assert call.step()[0] == _core.WANT_READ
        cycle: list[Any] = [call]
        cycle.append(cycle)
        del call, pin, cycle
        assert core.pool_stats()["in_use"] == 1
        gc.collect()
    finally:
        gc.enable()
    stats = core.pool_stats()
    assert stats["in_use"] == 0 and stats["idle"] == 0
    assert stats["closed"] == closed + 1
    assert core.execute(("PING",)) == b"PONG"


def test_large_batch_buffer_is_released_on_clear(core: _core.Client) -> None:
    b = _core.Batch()
    value = b"v" * (256 * 1024)
    for i in range(8):
        b.append(("SET", f"big{i}", value))
    assert b.nbytes > 2 * 1024 * 1024
    assert core.execute_batch(b) == [b"OK"] * 8
    b.clear()
    b.append(("GET", "big7"))
    assert core.execute_batch(b) == [value]


# ---------------------------------------------------------------------------
# stats and close
# ---------------------------------------------------------------------------


def test_pool_stats_and_breaker_state_shapes(core: _core.Client) -> None:
    core.execute(("PING",))
    stats = core.pool_stats()
    for key in (
        "created",
        "closed",
        "in_use",
        "idle",
        "waits",
        "timeouts",
        "errors",
        "retries",
        "max_connections",
        "health_checks",
        "stale",
    ):
        assert type(stats[key]) is int, key
    assert stats["created"] == 1 and stats["idle"] == 1 and stats["max_connections"] == 50
    state = core.breaker_state()
    assert state["state"] == "closed" and state["enabled"] is True
    assert state["failure_threshold"] == 5 and state["recovery_timeout"] == 30.0


def test_close_is_idempotent_and_final(core: _core.Client) -> None:
    core.execute(("PING",))
    core.close()
    core.close()
    with pytest.raises(_core.ConnectionError, match="closed"):
        core.execute(("PING",))
    b = _core.Batch()
    b.append(("PING",))
    with pytest.raises(_core.ConnectionError, match="closed"):
        core.execute_batch(b)
    stats = core.pool_stats()
    assert stats["idle"] == 0 and stats["closed"] == stats["created"]


def test_error_code_says_whether_anything_was_sent(redis_server: RedisServer) -> None:
    """``exc.error_code`` names the core's code: ECONNECT means the connect failed,
    so the command never left (the cluster client may send it elsewhere)."""
    from pyredisclient.testing import find_free_port

    client = _core.Client(port=find_free_port(), socket_connect_timeout=0.5)
    with pytest.raises(pyredisclient.ConnectionError) as info:
        client.execute(("GET", "x"))
    assert info.value.error_code == "ECONNECT"  # type: ignore[attr-defined]
    client.close()
    with pytest.raises(pyredisclient.ConnectionError) as info:
        client.execute(("GET", "x"))
    assert info.value.error_code == "ECLOSED"  # type: ignore[attr-defined]


def test_batch_asking_holds_for_the_next_command_only(redis_server: RedisServer) -> None:
    batch = _core.Batch()
    with pytest.raises(pyredisclient.DataError, match="ASKING is not allowed"):
        batch.append(("ASKING",))
    assert len(batch) == 0
    batch.asking()
    batch.append(("PING",))
    assert len(batch) == 2
    client = _core.Client(port=redis_server.port)
    # A standalone server refuses ASKING (no cluster); the reply is in place.
    replies = client.execute_batch(batch)
    assert isinstance(replies[0], pyredisclient.ResponseError)
    assert replies[1] == b"PONG"
    client.close()


def test_batch_readonly_replica_is_queued_only_on_request() -> None:
    batch = _core.Batch()
    with pytest.raises(pyredisclient.DataError, match="READONLY is not allowed"):
        batch.append(("READONLY",))
    batch.readonly_replica()
    batch.append(("GET", "k"))
    assert len(batch) == 2
    assert batch.command_name(0) == "READONLY"
