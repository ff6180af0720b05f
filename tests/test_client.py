"""RedisClient machinery against real redis-server processes.

Construction and addressing, reply conversion, argument conversion, the pool,
failures and timeouts (stopped, paused and refused servers, close() from another
thread, signals during a blocking call), reply limits and resource hygiene.
Command methods themselves are covered by tests/test_commands.py; pipelines by
tests/test_pipeline.py; threads and fork by tests/test_threads_fork.py.

Timing assertions use generous upper bounds (the machine is shared) but every
one of them would fail if the client hung or ignored its timeout.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest

import pyredisclient
from pyredisclient import (
    AuthenticationError,
    ConnectionError,
    DataError,
    NoScriptError,
    PoolTimeoutError,
    ProtocolError,
    RedisClient,
    RedisConfig,
    RedisError,
    ReplyLimitError,
    ResponseError,
    TimeoutError,
)
from pyredisclient.testing import RedisServer, find_free_port

MiB = 1024 * 1024


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


class Elapsed:
    """Wall time of a ``with`` block, in seconds (``.s``)."""

    def __enter__(self) -> Elapsed:
        self.start = time.monotonic()
        self.s = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.s = time.monotonic() - self.start


def wait_until(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``pred`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(0.01)


def client_info(client: RedisClient) -> dict[str, str]:
    """CLIENT INFO of the connection the client uses, as a dict."""
    raw = client.execute_command("CLIENT", "INFO")
    text = raw.decode() if isinstance(raw, bytes) else raw
    return dict(field.split("=", 1) for field in text.split())


def blocked_clients(client: RedisClient) -> int:
    return int(client.info("clients")["blocked_clients"])


def open_fd_count() -> int:
    return len(os.listdir("/proc/self/fd")) - 1


@pytest.fixture
def url(redis_url: str, redis_client: RedisClient) -> str:
    """The session server's URL, with its database flushed (redis_client does it)."""
    return redis_url


@pytest.fixture
def make(url: str) -> Iterator[Callable[..., RedisClient]]:
    """Build clients on the session server (``make(**options)``), closed after the test."""
    made: list[RedisClient] = []

    def factory(target: str | None = None, **options: Any) -> RedisClient:
        client = RedisClient.from_url(target or url, **options)
        made.append(client)
        return client

    yield factory
    for client in made:
        client.close()


# ---------------------------------------------------------------------------
# 1. construction and addressing
# ---------------------------------------------------------------------------


def test_keywords_positional_and_config_forms_all_reach_the_server(
    redis_server: RedisServer, redis_client: RedisClient
) -> None:
    host, port = "127.0.0.1", redis_server.port
    forms = [
        RedisClient(host=host, port=port, db=3),
        RedisClient(host, port, 3),
        RedisClient(config=RedisConfig(host=host, port=port, db=3)),
        RedisClient(config=RedisConfig(host=host, port=port, db=9), db=3),
    ]
    try:
        for i, client in enumerate(forms):
            assert client.config.db == 3
            assert client.set(f"form{i}", i) is True
            info = client_info(client)
            assert info["db"] == "3"
            assert int(info["laddr"].rsplit(":", 1)[1]) == port
        assert sorted(forms[0].keys()) == [b"form0", b"form1", b"form2", b"form3"]
        assert redis_client.dbsize() == 0  # all of it went to db 3
    finally:
        forms[0].flushdb()
        for client in forms:
            client.close()


def test_construction_is_lazy_and_validates(redis_server: RedisServer) -> None:
    # Nothing listens on this port: building the client must not connect or raise.
    client = RedisClient(host="127.0.0.1", port=find_free_port())
    try:
        assert client.pool_stats()["created"] == 0
    finally:
        client.close()
    with pytest.raises(pyredisclient.ConfigurationError):
        RedisClient(host="127.0.0.1", port=70000)
    with pytest.raises(ValueError):
        RedisClient(host="127.0.0.1", max_connections=0)


def test_an_unknown_keyword_names_the_class_called_and_the_closest_option() -> None:
    from pyredisclient.aio import AsyncRedisClient

    class AppCache(RedisClient):
        pass

    cases = [
        (lambda: RedisClient(prot=6379), "RedisClient() got", "'prot' (did you mean 'port'?)"),
        (lambda: AppCache(socket_timout=1), "AppCache() got", "(did you mean 'socket_timeout'?)"),
        (lambda: AsyncRedisClient(passwrd="x"), "AsyncRedisClient() got", "'password'?"),
        (
            lambda: RedisClient(config=RedisConfig(), dbb=1),
            "RedisClient() got",
            "'dbb' (did you mean 'db'?)",
        ),
        (
            lambda: RedisClient.from_url("redis://h", max_conections=2),
            "RedisClient.from_url() got",
            "(did you mean 'max_connections'?)",
        ),
        (
            lambda: AsyncRedisClient.from_url("redis://h", ssl_ca_cert="x"),
            "AsyncRedisClient.from_url() got",
            "(did you mean 'ssl_ca_certs'?)",
        ),
        (lambda: RedisClient(protocl=3), "RedisClient() got", "'protocl'"),
    ]
    for make, *fragments in cases:
        with pytest.raises(TypeError) as info:
            make()
        message = str(info.value)
        assert "RedisConfig" not in message and "__init__" not in message, message
        for fragment in fragments:
            assert fragment in message, message
    # redis-py's own keywords are not unknown: protocol=3 is refused with the reason
    # (tests/test_compat_ctor.py).
    with pytest.raises(pyredisclient.ConfigurationError, match="RESP2"):
        RedisClient(protocol=3)


def test_from_url_tcp_db_in_path_and_overrides(
    redis_server: RedisServer, make: Callable[..., RedisClient]
) -> None:
    base = f"redis://127.0.0.1:{redis_server.port}"
    c5 = make(f"{base}/5")
    assert client_info(c5)["db"] == "5"
    assert make(f"{base}/5", db=6).config.db == 6
    assert client_info(make(f"{base}/5", db=6))["db"] == "6"
    assert client_info(make(f"{base}/7?socket_timeout=1.5"))["db"] == "7"
    assert make(f"{base}/7?socket_timeout=1.5").config.socket_timeout == 1.5


def test_from_url_unix_socket(redis_server: RedisServer, make: Callable[..., RedisClient]) -> None:
    path = redis_server.unix_socket_path
    client = make(f"unix://{path}?db=4")
    assert client.ping() is True
    info = client_info(client)
    assert "U" in info["flags"]  # a unix socket connection
    assert info["db"] == "4"
    assert client.set("via-unix", b"\x00ok") is True
    tcp = make(f"redis://127.0.0.1:{redis_server.port}/4")
    assert tcp.get("via-unix") == b"\x00ok"
    tcp.flushdb()
    assert path in repr(client)


def test_db_selection_isolates_keys(
    redis_server: RedisServer, make: Callable[..., RedisClient]
) -> None:
    base = f"redis://127.0.0.1:{redis_server.port}"
    db1, db2 = make(f"{base}/1"), make(f"{base}/2")
    db1.flushdb()
    db2.flushdb()
    assert db1.set("same", "one") is True
    assert db2.set("same", "two") is True
    assert db1.get("same") == b"one"
    assert db2.get("same") == b"two"
    assert db1.dbsize() == 1 and db2.dbsize() == 1
    db1.flushdb()
    assert db2.get("same") == b"two"
    db2.flushdb()


def test_password_authentication(redis_server_factory: Callable[..., RedisServer]) -> None:
    password = "p@ss:w/rd %20"
    server = redis_server_factory(password=password)
    good = RedisClient.from_url(server.url)  # the URL carries the quoted password
    kw = RedisClient(host="127.0.0.1", port=server.port, password=password)
    wrong = RedisClient(host="127.0.0.1", port=server.port, password="not-it")
    none = RedisClient(host="127.0.0.1", port=server.port)
    try:
        assert good.set("k", "v") is True
        assert kw.get("k") == b"v"
        with Elapsed() as t:
            with pytest.raises(AuthenticationError) as info:
                wrong.ping()
        assert t.s < 1.0  # refused at once, never retried
        assert isinstance(info.value, ConnectionError)
        assert "not-it" not in str(info.value)
        assert wrong.pool_stats()["retries"] == 0
        # Authentication errors say "configuration", not "server down".
        for _ in range(6):
            with pytest.raises(AuthenticationError):
                wrong.get("k")
        assert wrong.circuit_breaker_state()["state"] == "closed"
        with pytest.raises(AuthenticationError):  # NOAUTH reply to the command
            none.get("k")
        assert good.ping() is True
        for c in (good, kw, wrong):
            assert password not in repr(c) and "not-it" not in repr(c)
            assert password not in str(c.debug_info())
            assert "not-it" not in str(c.debug_info())
    finally:
        for c in (good, kw, wrong, none):
            c.close()


def test_username_and_password_acl(redis_server_factory: Callable[..., RedisServer]) -> None:
    server = redis_server_factory(extra_args=["--user", "alice", "on", ">pw", "~*", "+@all"])
    alice = RedisClient(host="127.0.0.1", port=server.port, username="alice", password="pw")
    by_url = RedisClient.from_url(f"redis://alice:pw@127.0.0.1:{server.port}/0")
    wrong = RedisClient(host="127.0.0.1", port=server.port, username="alice", password="nope")
    default = RedisClient(host="127.0.0.1", port=server.port)
    try:
        assert alice.execute_command("ACL", "WHOAMI") == b"alice"
        assert by_url.execute_command("ACL", "WHOAMI") == b"alice"
        assert default.execute_command("ACL", "WHOAMI") == b"default"
        assert client_info(alice)["user"] == "alice"
        with Elapsed() as t:
            with pytest.raises(AuthenticationError, match="WRONGPASS"):
                wrong.ping()
        assert t.s < 1.0
        assert "nope" not in repr(wrong)
    finally:
        for c in (alice, by_url, wrong, default):
            c.close()


def test_client_name_shows_in_client_list(make: Callable[..., RedisClient]) -> None:
    named = make(client_name="prc-test-name")
    named.ping()
    names = [entry["name"] for entry in make().client_list()]
    assert "prc-test-name" in names
    assert client_info(named)["name"] == "prc-test-name"
    # The name is replayed on every new connection of the pool.
    first_id = client_info(named)["id"]
    assert make().execute_command("CLIENT", "KILL", "ID", first_id) == 1
    info = client_info(named)
    assert info["id"] != first_id
    assert info["name"] == "prc-test-name"


def test_repr_shows_address_and_never_the_password(redis_server: RedisServer) -> None:
    client = RedisClient(host="127.0.0.1", port=redis_server.port, db=2, password="hunter2")
    try:
        text = repr(client)
        assert f"127.0.0.1:{redis_server.port}" in text
        assert "db=2" in text
        assert "hunter2" not in text
        assert "hunter2" not in repr(client.config) and "hunter2" not in str(client.config)
        assert "hunter2" not in str(client.debug_info())
    finally:
        client.close()


def test_context_manager_closes(url: str) -> None:
    with RedisClient.from_url(url) as client:
        assert client.set("cm", 1) is True
        assert client.pool_stats()["idle"] == 1
    stats = client.pool_stats()
    assert stats["idle"] == 0
    assert stats["closed"] == stats["created"] == 1
    with pytest.raises(ConnectionError, match="closed"):
        client.get("cm")
    client.close()  # idempotent


# ---------------------------------------------------------------------------
# 2. replies
# ---------------------------------------------------------------------------


def test_bytes_and_decoded_replies(
    redis_client: RedisClient, make: Callable[..., RedisClient]
) -> None:
    r = redis_client
    rd = make(decode_responses=True)
    r.set("u", "日本語-😀")
    r.rpush("l", "a", "é")
    assert r.get("u") == "日本語-😀".encode()
    assert rd.get("u") == "日本語-😀"
    assert r.execute_command("SET", "s", "x") == b"OK"  # a status reply
    assert rd.execute_command("SET", "s", "x") == "OK"
    assert r.execute_command("LRANGE", "l", 0, -1) == [b"a", "é".encode()]
    assert rd.execute_command("LRANGE", "l", 0, -1) == ["a", "é"]
    with pytest.raises(ResponseError) as info:
        rd.execute_command("INCR", "u")
    assert isinstance(info.value.args[0], str)


def test_latin1_and_error_handlers_for_decoding(
    redis_client: RedisClient, make: Callable[..., RedisClient]
) -> None:
    redis_client.set("latin", b"caf\xe9 \xff")
    assert make(decode_responses=True, encoding="latin-1").get("latin") == "café ÿ"
    replaced = make(decode_responses=True, encoding_errors="replace").get("latin")
    assert replaced == "caf\ufffd \ufffd"


def test_str_arguments_use_the_configured_encoding(
    redis_client: RedisClient, make: Callable[..., RedisClient]
) -> None:
    latin = make(decode_responses=True, encoding="latin-1")
    assert latin.set("k", "café") is True
    assert redis_client.get("k") == b"caf\xe9"
    assert latin.get("k") == "café"


def test_nested_arrays_integers_and_nil(redis_client: RedisClient) -> None:
    r = redis_client
    script = "return {1, {2, {3, {'deep', {}}}}, -5, redis.status_reply('FINE'), false, 'end'}"
    assert r.eval(script, 0) == [1, [2, [3, [b"deep", []]]], -5, b"FINE", None, b"end"]
    assert r.get("missing") is None
    assert r.mget(["missing", "also"]) == [None, None]
    assert r.execute_command("LRANGE", "missing", 0, -1) == []
    r.set("n", 2**63 - 2)
    assert r.incr("n") == 2**63 - 1
    with pytest.raises(ResponseError, match="overflow"):
        r.incr("n")
    r.set("n", -(2**63) + 1)
    assert r.decr("n") == -(2**63)
    assert r.decr("zero") == -1
    assert r.execute_command("STRLEN", "missing") == 0
    assert isinstance(r.execute_command("DBSIZE"), int)


def test_error_replies_map_to_classes(redis_client: RedisClient) -> None:
    r = redis_client
    with pytest.raises(NoScriptError) as noscript:
        r.evalsha("0" * 40, 0)
    assert isinstance(noscript.value, ResponseError)
    assert "No matching script" in str(noscript.value)
    r.rpush("list", "x")
    with pytest.raises(ResponseError) as wrongtype:
        r.get("list")
    assert type(wrongtype.value) is ResponseError
    assert str(wrongtype.value).startswith("WRONGTYPE Operation against a key")
    with pytest.raises(ResponseError) as err:
        r.execute_command("NOSUCHCOMMAND")
    assert type(err.value) is ResponseError
    assert str(err.value).startswith("unknown command")  # "ERR " is dropped
    assert isinstance(err.value, RedisError)
    # An error reply inside an array is returned in place, not raised.
    reply = r.eval("return {1, redis.error_reply('MYERR custom')}", 0)
    assert reply[0] == 1
    assert isinstance(reply[1], ResponseError) and str(reply[1]) == "MYERR custom"
    assert r.ping() is True


def test_decode_error_raises_and_keeps_the_stream_in_step(
    redis_client: RedisClient, make: Callable[..., RedisClient]
) -> None:
    redis_client.set("bad", b"\xff\xfe")
    redis_client.rpush("mixed", "ok", b"\xff", "ok2")
    redis_client.set("good", "fine")
    rd = make(decode_responses=True, circuit_breaker=False)
    for key in ("bad", "bad"):
        with pytest.raises(UnicodeDecodeError):
            rd.get(key)
        assert rd.get("good") == "fine"
    with pytest.raises(UnicodeDecodeError):
        rd.lrange("mixed", 0, -1)  # the error is in the middle of an array
    assert rd.lrange("mixed", 0, 0) == ["ok"]
    assert rd.lrange("mixed", 2, 2) == ["ok2"]


def test_decode_errors_do_not_open_the_circuit_breaker(
    redis_client: RedisClient, make: Callable[..., RedisClient]
) -> None:
    redis_client.set("bad", b"\xff")
    rd = make(decode_responses=True, failure_threshold=2)
    for _ in range(4):
        with pytest.raises(UnicodeDecodeError):
            rd.get("bad")
    assert rd.circuit_breaker_state()["state"] == "closed"
    assert rd.ping() is True


# ---------------------------------------------------------------------------
# 3. arguments
# ---------------------------------------------------------------------------


def test_buffer_and_text_arguments_round_trip(redis_client: RedisClient) -> None:
    r = redis_client
    base = bytearray(b"0123456789")
    values: dict[str, Any] = {
        "bytes": b"\x00raw\r\n",
        "bytearray": bytearray(b"ba\x00"),
        "memoryview": memoryview(b"memoryview")[3:7],
        "mv-of-bytearray": memoryview(base)[2:5],
        "emoji": "😀🎉",
        "cjk": "漢字かなカナ한글",
        "empty": "",
        "empty-bytes": b"",
    }
    expected = {
        "bytes": b"\x00raw\r\n",
        "bytearray": b"ba\x00",
        "memoryview": b"oryv",
        "mv-of-bytearray": b"234",
        "emoji": "😀🎉".encode(),
        "cjk": "漢字かなカナ한글".encode(),
        "empty": b"",
        "empty-bytes": b"",
    }
    # Every kind in one command, as keys and as values.
    args: list[Any] = []
    for name, value in values.items():
        args += [name, value]
    assert r.execute_command("MSET", *args) == b"OK"
    assert r.mget(list(values)) == [expected[k] for k in values]
    assert r.set(memoryview(b"mvkey"), "v") is True
    assert r.get(b"mvkey") == b"v"
    key = "ключ-😀".encode()
    assert r.set("ключ-😀", bytearray(b"x")) is True
    assert r.get(key) == b"x"
    # NUL bytes in keys and values.
    assert r.set(b"\x00k\x00", b"\x00" * 10 + b"\r\n") is True
    assert r.get(b"\x00k\x00") == b"\x00" * 10 + b"\r\n"
    assert r.get(b"\x00k") is None


def test_non_contiguous_memoryview_is_a_data_error(redis_client: RedisClient) -> None:
    strided = memoryview(b"abcdef")[::2]
    with pytest.raises(DataError, match="argument 2") as info:
        redis_client.execute_command("SET", "k", strided)
    assert isinstance(info.value, TypeError)
    assert redis_client.exists("k") == 0
    assert redis_client.set("k", bytes(strided)) is True
    assert redis_client.get("k") == b"ace"


def test_a_str_that_cannot_be_encoded_is_a_data_error_naming_the_argument(
    redis_client: RedisClient, redis_url: str
) -> None:
    import asyncio

    from pyredisclient.aio import AsyncRedisClient

    r = redis_client
    latin = RedisClient.from_url(redis_url, encoding="latin-1")
    aio = AsyncRedisClient.from_url(redis_url)
    prefixed = r.with_prefix("app:")
    cases: list[tuple[Callable[[], Any], str, str]] = [
        (lambda: r.set("k", "a\ud800b"), "argument 2 of SET", "U+D800 at index 1"),
        (lambda: r.get("k\udc80"), "argument 1 of GET", "U+DC80 at index 1"),
        (lambda: r.execute_command("SET", "k", "\udfff"), "argument 2 of SET", "index 0"),
        (lambda: r.mget(["a", "b", "\ud83d"]), "argument 3 of MGET", "U+D83D"),
        (lambda: r.pipeline().set("k", "v").set("k", "\ud800"), "argument 2 of SET", "U+D800"),
        (lambda: prefixed.set("k", "\ud800"), "argument 2 of SET", "U+D800"),
        (lambda: r.execute_command("\ud800"), "command name", "U+D800"),
        (lambda: latin.set("k", "\u20ac"), "argument 2 of SET", "as latin-1: U+20AC"),
        (lambda: asyncio.run(aio.set("k", "\ud800")), "argument 2 of SET", "U+D800"),
    ]
    try:
        for call, where, what in cases:
            with pytest.raises(DataError) as info:
                call()
            message = str(info.value)
            assert where in message and what in message, message
            assert not isinstance(info.value, UnicodeError)
            assert isinstance(info.value.__cause__, UnicodeEncodeError)
        assert r.exists("k", "app:k") == 0  # nothing was sent
        assert latin.pool_stats()["created"] == 0
        # The same strings as bytes (surrogateescape round trip) go through.
        assert r.set("k", "a\udcffb".encode("utf-8", "surrogateescape")) is True
        assert r.get("k") == b"a\xffb"
    finally:
        latin.close()
        aio._close_now()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, b"0"),
        (-1, b"-1"),
        (2**63 - 1, b"9223372036854775807"),
        (-(2**63), b"-9223372036854775808"),
        (2**64, b"18446744073709551616"),
        (-(2**64), b"-18446744073709551616"),
        (1.5, b"1.5"),
        (2.0, b"2.0"),
        (0.1, b"0.1"),
        (1e300, b"1e+300"),
        (-1e-300, b"-1e-300"),
        (float("inf"), b"inf"),
        (float("-inf"), b"-inf"),
        (float("nan"), b"nan"),
    ],
)
def test_numbers_are_sent_as_their_text(redis_client: RedisClient, value: Any, text: bytes) -> None:
    assert redis_client.set("num", value) is True
    assert redis_client.get("num") == text
    assert redis_client.execute_command("ECHO", value) == text


def test_int_and_float_subclasses_are_sent_by_their_value(redis_client: RedisClient) -> None:
    """What is sent is the number's value, whatever its class's __str__ says, within
    64 bits or beyond (a key prefixer decides on the same text)."""

    class Liar(int):
        def __str__(self) -> str:
            return "lie"

        __repr__ = __str__

    class FloatLiar(float):
        def __repr__(self) -> str:
            return "lie"

    for value in (Liar(7), Liar(2**70), Liar(-(2**70))):
        assert redis_client.execute_command("ECHO", value) == int.__repr__(value).encode()
    assert redis_client.execute_command("ECHO", FloatLiar(1.5)) == b"1.5"


@pytest.mark.parametrize("count", [1, 8, 9, 100])
def test_many_number_arguments_in_one_command(redis_client: RedisClient, count: int) -> None:
    # Up to 8 numbers are converted in a buffer on the stack, more on the heap.
    values = [(-1) ** i * (10**i) if i % 3 else i + 0.5 for i in range(count)]
    assert redis_client.rpush("nums", *values) == count
    assert redis_client.lrange("nums", 0, -1) == [
        repr(v).encode() if isinstance(v, float) else str(v).encode() for v in values
    ]


def test_infinite_and_nan_floats_at_the_server(redis_client: RedisClient) -> None:
    r = redis_client
    assert r.zadd("z", {"hi": float("inf"), "lo": float("-inf"), "mid": 1.5}) == 3
    assert r.zrange("z", 0, -1, withscores=True) == [
        (b"lo", float("-inf")),
        (b"mid", 1.5),
        (b"hi", float("inf")),
    ]
    with pytest.raises(ResponseError, match="float"):
        r.zadd("z", {"nan": float("nan")})
    r.set("f", 1)
    with pytest.raises(ResponseError):
        r.incrbyfloat("f", float("inf"))
    assert r.get("f") == b"1"


def test_very_large_ints_are_sent_as_decimal_text(redis_client: RedisClient) -> None:
    assert redis_client.set("big", 10**40) is True
    assert redis_client.get("big") == str(10**40).encode()


@pytest.mark.parametrize(
    ("bad", "type_name"),
    [(True, "bool"), (None, "NoneType"), (object(), "object"), ([1], "list"), ({}, "dict")],
)
def test_bad_argument_types_name_type_and_position(
    redis_client: RedisClient, bad: Any, type_name: str
) -> None:
    r = redis_client
    for args, position in (
        (("SET", "k", bad), "argument 2 of SET"),
        (("SET", bad, "v"), "argument 1 of SET"),
        (("RPUSH", "l", "a", "b", bad), "argument 4 of RPUSH"),
    ):
        with pytest.raises(DataError) as info:
            r.execute_command(*args)
        assert isinstance(info.value, TypeError)
        message = str(info.value)
        assert f"'{type_name}'" in message
        assert position in message
    with pytest.raises(DataError, match="argument 0"):
        r.execute_command(bad, "x")
    assert r.exists("k", "l") == 0
    assert r.ping() is True


def test_empty_command_is_a_data_error(redis_client: RedisClient) -> None:
    with pytest.raises(DataError, match="at least"):
        redis_client.execute_command()
    assert redis_client.ping() is True


def test_large_values_round_trip(redis_client: RedisClient) -> None:
    r = redis_client
    one = os.urandom(MiB)
    sixteen = bytes(range(256)) * (16 * MiB // 256)
    assert r.set("one", one) is True
    assert r.set("sixteen", memoryview(sixteen)) is True
    assert r.get("one") == one
    assert r.strlen("sixteen") == 16 * MiB
    assert r.get("sixteen") == sixteen
    assert r.execute_command("GETRANGE", "sixteen", 16 * MiB - 3, -1) == b"\xfd\xfe\xff"
    # Many arguments in one command (the argv is heap-allocated past 16).
    items = [f"item{i}" for i in range(20000)]
    assert r.rpush("many", *items) == 20000
    assert r.lrange("many", 19998, -1) == [b"item19998", b"item19999"]
    assert r.ping() is True


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
    baseline = open_fd_count()
    clients = [RedisClient.from_url(url) for _ in range(50)]
    for c in clients:
        assert c.ping() is True
    assert open_fd_count() == baseline + 50
    assert len(probe.client_list()) == connected + 50
    for c in clients:
        c.close()
    assert open_fd_count() == baseline
    del clients
    gc.collect()
    assert open_fd_count() == baseline
    wait_until(lambda: len(probe.client_list()) == connected)


def test_clients_deleted_without_close_free_their_connections(
    url: str, make: Callable[..., RedisClient]
) -> None:
    probe = make()
    connected = len(probe.client_list())
    gc.collect()
    baseline = open_fd_count()
    for _ in range(100):
        c = RedisClient.from_url(url)
        assert c.set("loop", 1) is True
        with c.pipeline() as p:
            p.get("loop")
        del c, p  # the pipeline refers to its client
    assert open_fd_count() == baseline  # freed by reference counting, at once
    wait_until(lambda: len(probe.client_list()) == connected)
    # A client that is only reachable from a cycle is freed by the collector.
    c = RedisClient.from_url(url)
    c.ping()
    cycle: list[Any] = [c]
    cycle.append(cycle)
    assert open_fd_count() == baseline + 1
    del c, cycle
    gc.collect()
    assert open_fd_count() == baseline
