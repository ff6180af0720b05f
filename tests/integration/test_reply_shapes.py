"""Every RESP2 reply shape converted to Python, sync, pipelined and asyncio.

hiredis's reader reads replies into Python objects through the binding's object
functions (convert.c). hiredis 0.14 refuses arrays nested deeper than 7, which Redis
itself sends (COMMAND DOCS, a Lua script's nested tables): the framer has checked such
a reply whole, and the binding builds it instead (build_deep), on the same connection.
These tests pin the objects each shape becomes, alone, inside arrays, in pipelines and
transactions and on the asyncio shared connection, with and without decode_responses.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import pytest

from pyredisclient import ResponseError
from pyredisclient.aio import AsyncRedisClient

# One reply of every kind, nested: Lua tables become arrays, false becomes nil,
# status_reply a simple string, error_reply an error inside the array.
SHAPES = (
    "return {1, -42, 'bulk', '', {}, {2, {3, false}}, "
    "redis.status_reply('FINE'), redis.error_reply('ERR inner'), "
    "1234567890123, -1234567890123, 'a\\r\\nb'}"
)


def _nested(depth: int) -> str:
    return "return " + "{" * depth + "7" + "}" * depth


def _check_shapes(reply: Any, text: bool) -> None:
    s: Callable[[str], Any] = (lambda v: v) if text else (lambda v: v.encode())
    assert reply[:7] == [1, -42, s("bulk"), s(""), [], [2, [3, None]], s("FINE")]
    assert isinstance(reply[7], ResponseError) and "inner" in str(reply[7])
    assert reply[8:] == [1234567890123, -1234567890123, s("a\r\nb")]


@pytest.mark.parametrize("decode", [False, True])
def test_shapes_sync(redis_url: str, make_client: Any, decode: bool) -> None:
    client = make_client(redis_url, decode_responses=decode)
    _check_shapes(client.execute_command("EVAL", SHAPES, 0), decode)
    # Top-level nil, 64-bit integers, simple string, error and empty array.
    client.set("shape:big", 9223372036854775806)
    assert client.incr("shape:big") == 9223372036854775807
    client.set("shape:big", -9223372036854775807)
    assert client.decr("shape:big") == -9223372036854775808
    client.delete("shape:none")
    assert client.get("shape:none") is None
    assert client.execute_command("PING") in (True, "PONG", b"PONG")
    assert client.execute_command("EVAL", "return {}", 0) == []
    with pytest.raises(ResponseError, match="top"):
        client.execute_command("EVAL", "return redis.error_reply('ERR top')", 0)
    # The connection is still in step after all of them.
    assert client.incr("shape:n") >= 1


def test_shapes_pipeline(redis_url: str, make_client: Any) -> None:
    client = make_client(redis_url)
    client.mset({f"shape:m{i}": f"v{i}" for i in range(300)})
    with client.pipeline(transaction=False) as pipe:
        for _ in range(50):  # a reply buffer well past one read
            pipe.execute_command("EVAL", SHAPES, 0)
            pipe.mget([f"shape:m{i}" for i in range(300)] + ["shape:none"])
        out = pipe.execute(raise_on_error=False)
    for i in range(0, 100, 2):
        _check_shapes(out[i], False)
        assert out[i + 1] == [f"v{j}".encode() for j in range(300)] + [None]


def _deep(depth: int, leaf: Any = 7) -> Any:
    expected: Any = leaf
    for _ in range(depth):
        expected = [expected]
    return expected


@pytest.mark.parametrize("depth", [6, 7, 8, 9, 12, 40])
def test_nesting_at_any_depth_the_framer_takes(
    redis_url: str, make_client: Any, depth: int
) -> None:
    # hiredis 0.14 reads 8 levels; deeper ones are built by the binding, and the
    # connection stays in step: one connection all along.
    client = make_client(redis_url, retry_attempts=0)
    assert client.execute_command("EVAL", _nested(depth), 0) == _deep(depth)
    # The same one level down, inside an array, beside an integer.
    assert client.execute_command("EVAL", "return {" + _nested(depth)[7:] + ", 5}", 0) == [
        _deep(depth),
        5,
    ]
    assert client.incr("shape:after") >= 1
    assert client.pool_stats()["created"] == 1


@pytest.mark.parametrize("decode", [False, True])
def test_deep_replies_in_pipelines_and_transactions(
    redis_url: str, make_client: Any, decode: bool
) -> None:
    client = make_client(redis_url, decode_responses=decode, retry_attempts=0)
    s: Callable[[str], Any] = (lambda v: v) if decode else (lambda v: v.encode())
    deep_text = "return " + "{" * 11 + "'leaf', redis.error_reply('ERR deep')" + "}" * 11
    client.set("shape:plain", "p")
    for transaction in (False, True):
        with client.pipeline(transaction=transaction) as pipe:
            for _ in range(300):  # deep replies among others, in a buffer past one read
                pipe.get("shape:plain")
                pipe.execute_command("EVAL", deep_text, 0)
                pipe.execute_command("EVAL", SHAPES, 0)
            out = pipe.execute(raise_on_error=False)
        for i in range(0, 900, 3):
            assert out[i] == s("p")
            inner = out[i + 1]
            for _ in range(10):
                assert isinstance(inner, list) and len(inner) == 1
                inner = inner[0]
            assert inner[0] == s("leaf")
            assert isinstance(inner[1], ResponseError) and str(inner[1]) == "deep"
            _check_shapes(out[i + 2], decode)
    assert client.pool_stats()["created"] == 1


def test_command_docs_as_redis_py_reads_them(redis_url: str, make_client: Any) -> None:
    # COMMAND DOCS nests subcommands' arguments 9 deep: the whole table, as
    # redis-py (hiredis 1.x through hiredis-py) reads it, on one connection.
    redis = pytest.importorskip("redis")
    client = make_client(redis_url, retry_attempts=0)
    theirs = redis.Redis.from_url(redis_url, protocol=2).connection_pool.get_connection()
    try:
        theirs.send_command("COMMAND", "DOCS")  # the raw reply: no response callback
        assert client.execute_command("COMMAND", "DOCS") == theirs.read_response()
        docs = client.command_docs("client")
        assert docs[0] == b"client" and b"subcommands" in docs[1]
    finally:
        theirs.disconnect()
    assert client.pool_stats()["created"] == 1


def test_decode_failure_keeps_the_connection(redis_url: str, make_client: Any) -> None:
    client = make_client(redis_url, decode_responses=True)
    client.set("shape:bin", b"\xff\xfe")
    with pytest.raises(UnicodeDecodeError):
        client.get("shape:bin")
    assert client.set("shape:ok", "x") is True
    assert client.get("shape:ok") == "x"


def test_shapes_async_shared(redis_url: str) -> None:
    async def main() -> None:
        client = AsyncRedisClient.from_url(redis_url)
        try:
            replies = await asyncio.gather(
                *(client.execute_command("EVAL", SHAPES, 0) for _ in range(20)),
                client.execute_command("EVAL", _nested(8), 0),
                *(client.execute_command("EVAL", _nested(15), 0) for _ in range(20)),
                client.execute_command("COMMAND", "DOCS", "client"),
            )
            async with client.pipeline(transaction=True) as pipe:
                pipe.execute_command("EVAL", _nested(12), 0).incr("shape:aio")
                in_tx = await pipe.execute()
        finally:
            await client.aclose()
        for r in replies[:20]:
            _check_shapes(r, False)
        assert replies[20] == [[[[[[[[7]]]]]]]]
        assert replies[21:41] == [_deep(15)] * 20
        assert replies[41][0] == b"client"
        assert in_tx[0] == _deep(12) and in_tx[1] >= 1

    asyncio.run(main())


def test_a_deep_reply_that_cannot_be_decoded(redis_url: str, make_client: Any) -> None:
    # A decode error inside a reply built past hiredis 0.14's depth is the caller's
    # UnicodeDecodeError, as it is for the replies hiredis reads; the asyncio shared
    # connection is kept (its next reply starts right after), and both go on.
    script = "return " + "{" * 10 + "ARGV[1]" + "}" * 10
    client = make_client(redis_url, decode_responses=True)
    with pytest.raises(UnicodeDecodeError):
        client.execute_command("EVAL", script, 0, b"\xff\xfe")
    assert client.execute_command("EVAL", script, 0, "ok") == _deep(10, "ok")

    async def main() -> Any:
        shared = AsyncRedisClient.from_url(redis_url, decode_responses=True)
        try:
            assert await shared.ping() is True  # the shared connection is up
            bad, good = await asyncio.gather(
                shared.execute_command("EVAL", script, 0, b"\xff"),
                shared.execute_command("EVAL", script, 0, "fine"),
                return_exceptions=True,
            )
            assert isinstance(bad, UnicodeDecodeError) and good == _deep(10, "fine")
            assert await shared.incr("shape:deep") >= 1
            return shared.pool_stats()["created"]
        finally:
            await shared.aclose()

    assert asyncio.run(main()) == 1


def test_deep_replies_on_a_connection_per_call(redis_url: str) -> None:
    async def main() -> None:
        client = AsyncRedisClient.from_url(redis_url, async_multiplex=False)
        try:
            got = await asyncio.gather(
                *(client.execute_command("EVAL", _nested(10), 0) for _ in range(10))
            )
        finally:
            await client.aclose()
        assert got == [_deep(10)] * 10

    asyncio.run(main())
