"""Sorted set commands (commands/sorted_sets.py) against a real server.

SCRIPT runs on every client kind and on redis-py (tests/cmd_surface.py).
Explicit expected values follow for the shapes that matter, the blocking pops'
timeouts, and key-prefixed replies that name keys.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
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

import pyredisclient
from pyredisclient import DataError
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.commands.sorted_sets import SortedSetCommands

SCRIPT = [
    c("zadd", "z", {"a": 1, "b": 2, "c": 3.5, "d": 4}),
    c("zadd", "z", {"a": 5}, incr=True),
    c("zadd", "z", {"a": 1}, xx=True, ch=True),
    c("zadd", "w", {"b": 10, "c": 20, "e": 30}),
    c("zadd", "lex", {"a": 0, "b": 0, "c": 0, "d": 0}),
    c("zcard", "z"),
    c("zcount", "z", 2, "+inf"),
    c("zscore", "z", "c"),
    c("zincrby", "z", 0.5, "c"),
    c("zmscore", "z", ["a", "x", "c"]),
    c("zmscore", "z", []),
    c("zrank", "z", "b"),
    c("zrevrank", "z", "b"),
    c("zrange", "z", 0, -1),
    c("zrange", "z", 0, -1, withscores=True),
    c("zrange", "z", 0, 1, desc=True, withscores=True),
    c("zrange", "z", 0, 1, desc=True, use_rev=True),
    c("zrange", "z", 2, 4, byscore=True, withscores=True, score_cast_func=int),
    c("zrange", "z", "(1", "+inf", byscore=True, offset=1, num=2),
    c("zrange", "z", "+inf", 0, byscore=True, desc=True),
    c("zrange", "lex", "[b", "[c", bylex=True),
    c("zrange", "lex", "[c", "-", bylex=True, desc=True, offset=0, num=1),
    c("zrange", "z", 0, 1, byscore=True, bylex=True),
    c("zrange", "z", 0, 1, offset=1),
    c("zrange", "lex", "-", "+", bylex=True, withscores=True),
    c("zrevrange", "z", 0, 1, withscores=True),
    c("zrangebyscore", "z", 1, 4, start=0, num=2, withscores=True),
    c("zrangebyscore", "z", 1, 4, start=0),
    c("zrevrangebyscore", "z", 4, 1),
    c("zrangebylex", "lex", "-", "[b"),
    c("zrangebylex", "lex", "-", "+", start=1, num=2),
    c("zrangebylex", "lex", "-", "+", num=2),
    c("zrevrangebylex", "lex", "+", "(b"),
    c("zrevrangebylex", "lex", "+", "-", start=0, num=1),
    c("zlexcount", "lex", "[b", "+"),
    c("zrangestore", "rs", "z", 0, 1),
    c("zrangestore", "rs2", "z", 2, 10, byscore=True, desc=False, offset=0, num=1),
    c("zrangestore", "rs3", "lex", "[d", "[b", bylex=True, desc=True),
    c("zrange", "rs3", 0, -1),
    c("zdiff", ["z", "w"]),
    c("zdiff", ["z", "w"], withscores=True),
    c("zdiffstore", "zd", ["z", "w"]),
    c("zinter", ["z", "w"]),
    c("zinter", ["z", "w"], aggregate="MAX", withscores=True),
    c("zinter", {"z": 2, "w": 1}, withscores=True),
    c("zinter", ["z", "w"], aggregate="avg"),
    c("zinterstore", "zi", ["z", "w"], aggregate="min"),
    c("zinterstore", "zi2", {"z": 1, "w": 0.5}),
    c("zrange", "zi2", 0, -1, withscores=True),
    c("zintercard", 2, ["z", "w"]),
    c("zintercard", 2, ["z", "w"], limit=1),
    c("zunion", ["z", "w"]),
    c("zunion", {"z": 1, "w": 2}, aggregate="SUM", withscores=True),
    c("zunion", ["z", "w"], withscores=True, score_cast_func=Decimal),
    c("zunionstore", "zu", ["z", "w"]),
    c("zunionstore", "zu2", {"z": 3, "w": 1}, aggregate="max"),
    c("zrange", "zu2", 0, -1, withscores=True),
    c("zpopmin", "zu"),
    c("zpopmin", "zu", 2),
    c("zpopmax", "zu"),
    c("zpopmax", "zu", 10),
    c("zpopmax", "zu"),
    c("zadd", "one", {"m": 1.5}),
    c("zrandmember", "one"),
    c("zrandmember", "one", 1),
    c("zrandmember", "one", 1, withscores=True),
    c("zrandmember", "missing"),
    c("zmpop", 2, ["missing", "z"], min=True),
    c("zmpop", 2, ["missing", "z"], max=True, count=2),
    c("zmpop", 1, ["missing"], min=True),
    c("zmpop", 1, ["z"], min=True, max=True),
    c("zmpop", 1, ["z"]),
    c("bzmpop", 1, 2, ["missing", "z"], min=True),
    c("bzmpop", 0.1, 1, ["z"], max=True, count=5),
    c("bzmpop", 1, 1, ["z"], min=True, max=True),
    c("zadd", "p", {"x": 1, "y": 2}),
    c("bzpopmin", ["missing", "p"], timeout=1),
    c("bzpopmax", "p", 1),
    c("zadd", "p", {"x": 1}),
    c("bzpopmax", ["missing", "p"], timeout=None),
    c("zremrangebyrank", "w", 0, 0),
    c("zremrangebyscore", "w", "(20", "+inf"),
    c("zremrangebylex", "lex", "[a", "[b"),
    c("zrange", "w", 0, -1),
    c("zrem", "lex", "c", "x"),
    c("set", "str", "v"),
    c("zadd", "str", {"a": 1}),
    c("zpopmin", "str"),
    c("zunionstore", "zz", ["str"]),
]


@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
def test_same_results_as_redis_py(redis_client: Any, redis_url: str, decode: bool) -> None:
    check_same_as_redis_py(redis_url, SCRIPT, decode)


@pytest.mark.parametrize("mode", SAME_AS_SYNC)
def test_every_client_kind_gives_the_same(redis_client: Any, redis_url: str, mode: str) -> None:
    check_same_as_sync(redis_client, redis_url, SCRIPT, mode)


def test_script_covers_the_family() -> None:
    assert family_methods(SortedSetCommands) <= methods_called(SCRIPT)


def test_shapes(redis_client: Any) -> None:
    r = redis_client
    r.zadd("z", {"a": 1, "b": 2.5})
    r.zadd("w", {"b": 1, "c": 3})
    assert r.zrange("z", 0, -1, withscores=True) == [(b"a", 1.0), (b"b", 2.5)]
    assert r.zrange("z", 0, 0, desc=True, use_rev=True) == [b"b"]
    assert r.zunion(["z", "w"], withscores=True) == [(b"a", 1.0), (b"c", 3.0), (b"b", 3.5)]
    assert r.zinter({"z": 2, "w": 1}, withscores=True) == [(b"b", 6.0)]
    assert r.zdiff(["z", "w"], withscores=True) == [b"a", b"1"]
    assert r.zmscore("z", ["a", "x"]) == [1.0, None]
    assert r.zpopmin("z") == [(b"a", 1.0)]
    assert r.zmpop(1, ["w"], max=True) == [b"w", [[b"c", b"3"]]]
    assert r.bzpopmin("w", 1) == (b"w", b"b", 1.0)
    assert r.zrangestore("dst", "z", 0, -1) == 1
    assert r.zintercard(2, ["z", "dst"]) == 1


def test_blocking_pops_time_out(redis_client: Any, redis_url: str) -> None:
    # A block of 1 s with a socket timeout of 0.2 s: the block timeout wins.
    with pyredisclient.RedisClient.from_url(redis_url, socket_timeout=0.2) as r:
        for pop in (
            lambda: r.bzpopmin("missing", 1),
            lambda: r.bzpopmax(["missing"], timeout=1),
            lambda: r.bzmpop(1, 1, ["missing"], min=True),
        ):
            start = time.monotonic()
            assert pop() is None
            assert 0.9 < time.monotonic() - start < 3


def test_async_blocking_pops(redis_client: Any, redis_url: str) -> None:
    redis_client.zadd("z", {"a": 1})

    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url, socket_timeout=0.2) as r:
            assert await r.bzpopmin(["missing", "z"], 1) == (b"z", b"a", 1.0)
            start = time.monotonic()
            assert await r.bzmpop(0.8, 1, ["z"], max=True) is None
            assert 0.7 < time.monotonic() - start < 3

    asyncio.run(main())


def test_prefixed_replies_name_keys_without_prefix(redis_client: Any, redis_url: str) -> None:
    with pyredisclient.RedisClient.from_url(redis_url, key_prefix="p:") as p:
        p.zadd("z", {"a": 1, "b": 2})
        p.zadd("w", {"b": 1})
        assert p.zunionstore("u", ["z", "w"]) == 2
        assert p.zrangestore("r", "z", 0, 0) == 1
        assert p.zmpop(2, ["missing", "z"], min=True) == [b"z", [[b"a", b"1"]]]
        assert p.bzmpop(1, 1, ["z"], min=True) == [b"z", [[b"b", b"2"]]]
        assert p.bzpopmax(["missing", "w"], 1) == (b"w", b"b", 1.0)
    assert sorted(redis_client.keys("*")) == [b"p:r", b"p:u"]


def test_argument_errors(redis_client: Any) -> None:
    r = redis_client
    with pytest.raises(DataError):
        r.zmpop(1, ["z"])
    with pytest.raises(DataError):
        r.zinter(["z"], aggregate="avg")
    with pytest.raises(DataError):
        r.zmscore("z", [])
    with pytest.raises(DataError):
        r.zrangebylex("z", "-", "+", start=1)
