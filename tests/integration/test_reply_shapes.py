"""Every RESP2 reply shape converted to Python, by the binding's direct converter.

Replies that the framer has checked are turned into Python objects in one pass
(convert.c, direct_reply); arrays nested deeper than 7 go to hiredis's reader
whole, so that its own depth rule still decides them. These tests pin the objects
each shape becomes, alone, inside arrays, in pipelines and on the asyncio shared
connection, with and without decode_responses.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import pytest

import pyredisclient
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


@pytest.mark.parametrize("depth", [6, 7, 8])
def test_nesting_at_the_direct_limit(redis_url: str, make_client: Any, depth: int) -> None:
    # 7 levels are converted directly, 8 by hiredis (0.14 reads up to 8).
    client = make_client(redis_url)
    expected: Any = 7
    for _ in range(depth):
        expected = [expected]
    assert client.execute_command("EVAL", _nested(depth), 0) == expected
    if depth == 8:
        return  # one level more is past hiredis 0.14: test_nesting_past_hiredis
    # The same one level down, inside an array, beside an integer.
    assert client.execute_command("EVAL", "return {" + _nested(depth)[7:] + ", 5}", 0) == [
        expected,
        5,
    ]


def test_nesting_past_hiredis(redis_url: str, make_client: Any) -> None:
    # Deeper than hiredis 0.14 reads: its error as before, on a fresh connection
    # after; hiredis 1.x reads it.
    client = make_client(redis_url, retry_attempts=0)
    major = int(pyredisclient._core.hiredis_version.split(".")[0])
    if major >= 1:
        assert client.execute_command("EVAL", _nested(10), 0) is not None
    else:
        with pytest.raises(pyredisclient.ProtocolError, match="depth"):
            client.execute_command("EVAL", _nested(10), 0)
    assert client.incr("shape:after") >= 1


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
            )
        finally:
            await client.aclose()
        for r in replies[:20]:
            _check_shapes(r, False)
        assert replies[20] == [[[[[[[[7]]]]]]]]

    asyncio.run(main())
