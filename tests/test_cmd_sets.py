"""Set commands (commands/sets.py) against a real server, every client kind.

SCRIPT runs on every client kind and on redis-py (tests/cmd_surface.py).
Explicit expected values follow for the shapes that matter.
"""

from __future__ import annotations

from typing import Any

import pytest
from cmd_surface import (
    SAME_AS_SYNC,
    c,
    check_same_as_redis_py,
    check_same_as_sync,
    family_methods,
    methods_called,
)

from pyredisclient import DataError
from pyredisclient.commands.sets import SetCommands

SCRIPT = [
    c("sadd", "a", "1", "2", "3", b"\xc3\xa9"),
    c("sadd", "b", "2", "3", "4"),
    c("sadd", "c", "3", "5"),
    c("scard", "a"),
    c("smembers", "a"),
    c("smembers", "missing"),
    c("sismember", "a", "1"),
    c("smismember", "a", ["1", "9", "3"]),
    c("smismember", "a", "1", "2"),
    c("sdiff", ["a", "b"]),
    c("sdiff", "a", "b", "c"),
    c("sdiffstore", "d", ["a", "b"]),
    c("sdiffstore", "d2", "a", "b", "c"),
    c("smembers", "d2"),
    c("sinter", ["a", "b", "c"]),
    c("sinterstore", "i", ["a", "b"]),
    c("sinterstore", "i2", "a", "b"),
    c("smembers", "i"),
    c("sintercard", 2, ["a", "b"]),
    c("sintercard", 3, ["a", "b", "c"], limit=1),
    c("sintercard", 2, ["a", "missing"]),
    c("sunion", ["a", "c"]),
    c("sunionstore", "u", ["a", "b", "c"]),
    c("sunionstore", "u2", "b", "c"),
    c("smembers", "u2"),
    c("smove", "a", "b", "1"),
    c("smove", "a", "b", "nope"),
    c("smembers", "b"),
    c("srem", "b", "1", "nope"),
    c("sadd", "one", "x"),
    c("spop", "one"),
    c("spop", "one"),
    c("sadd", "one", "x"),
    c("srandmember", "one"),
    c("srandmember", "one", 2),
    c("spop", "one", 5),
    c("spop", "missing", 1),
    c("set", "str", "v"),
    c("sadd", "str", "x"),
    c("sinterstore", "i3", ["a", "str"]),
    c("sintercard", 1, ["str"]),
    c("smove", "str", "b", "x"),
]


@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
def test_same_results_as_redis_py(redis_client: Any, redis_url: str, decode: bool) -> None:
    script = [call for call in SCRIPT if not (decode and b"\xc3\xa9" in call.args)]
    check_same_as_redis_py(redis_url, script, decode)


@pytest.mark.parametrize("mode", SAME_AS_SYNC)
def test_every_client_kind_gives_the_same(redis_client: Any, redis_url: str, mode: str) -> None:
    check_same_as_sync(redis_client, redis_url, SCRIPT, mode)


def test_script_covers_the_family() -> None:
    assert family_methods(SetCommands) <= methods_called(SCRIPT)


def test_set_algebra_values(redis_client: Any) -> None:
    r = redis_client
    r.sadd("a", "1", "2", "3")
    r.sadd("b", "2", "3", "4")
    assert r.sdiffstore("d", "a", "b") == 1
    assert r.smembers("d") == {b"1"}
    assert r.sinterstore("i", ["a", "b"]) == 2
    assert r.smembers("i") == {b"2", b"3"}
    assert r.sunionstore("u", "a", "b") == 4
    assert r.sintercard(2, ["a", "b"]) == 2
    assert r.sintercard(2, ["a", "b"], limit=1) == 1
    assert r.smismember("a", ["1", "4"]) == [1, 0]
    assert r.smove("a", "b", "1") is True
    assert r.smove("a", "b", "1") is False
    assert r.smembers("b") == {b"1", b"2", b"3", b"4"}


def test_prefixed_keys(redis_client: Any, redis_url: str) -> None:
    import pyredisclient

    with pyredisclient.RedisClient.from_url(redis_url, key_prefix="p:") as p:
        p.sadd("a", "1", "2")
        p.sadd("b", "2")
        assert p.sinterstore("dst", "a", "b") == 1
        assert p.sintercard(2, ["a", "b"]) == 1
        assert p.smove("a", "b", "1") is True
    assert sorted(redis_client.keys("*")) == [b"p:a", b"p:b", b"p:dst"]
    assert redis_client.smembers("p:dst") == {b"2"}


def test_argument_errors(redis_client: Any) -> None:
    with pytest.raises(DataError):
        redis_client.smismember("a", [None])
