"""SCAN, SSCAN, HSCAN, ZSCAN and their iterators (ScanCommands), on every host.

The scenarios run through redis-py and RedisClient (equal results and types)
and through AsyncRedisClient (the ``*_iter`` forms as async generators), both
pipelines (the single steps; pipelines have no iterators, as in redis-py) and
a key-prefixed client (tests/cmdcheck.py).  Replies in server hash order are
compared sorted: a prefix changes the key names, so it changes that order.
"""

from __future__ import annotations

import asyncio
import decimal
from typing import Any

import cmdcheck
from cmdcheck import Caller

import pyredisclient
from pyredisclient.commands.scan import ScanCommands

family = cmdcheck.Family(ScanCommands)
scenario = family.scenario
raw = cmdcheck.raw  # the fixture


@scenario
def scan_keys(c: Caller) -> None:
    c("scan")
    c("mset", {f"k{i}": i for i in range(30)})
    c("rpush", "list1", 1)
    c("sadd", "set1", 1)
    c.unordered("scan", 0, count=1000)
    c.unordered("scan", 0, match="k1*", count=1000)
    c.unordered("scan", 0, count=1000, _type="list")
    c.unordered("scan_iter")
    c.unordered("scan_iter", match="k2*", count=3)
    c.unordered("scan_iter", _type="set")
    c("scan_iter", match="none*")


@scenario
def sscan(c: Caller) -> None:
    c("sscan", "missing")
    c("sadd", "s", *range(20), "x", b"\xff\x00".decode("latin-1"))
    c.unordered("sscan", "s", 0, count=1000)
    c.unordered("sscan", "s", match="1*", count=1000)
    c.unordered("sscan_iter", "s")
    c.unordered("sscan_iter", "s", match="x", count=2)
    c("sscan_iter", "missing")
    c("sadd", "big", *range(300))
    c.note("big", sorted(int(x) for x in c.value("sscan_iter", "big", count=7)))
    c("set", "str", 1)
    c("sscan", "str")


@scenario
def hscan(c: Caller) -> None:
    c("hscan", "missing")
    c("hset", "h", mapping={f"f{i}": i for i in range(20)})
    c("hscan", "h", 0, count=1000)
    c("hscan", "h", match="f1*")
    c.unordered("hscan_iter", "h")
    c.unordered("hscan_iter", "h", match="f2", count=1)
    c("hscan", "h", 0, no_values=True)
    c("hscan", "h", 0, count=1000, no_values=False)
    c("hscan_iter", "h", no_values=True)
    c("hset", "big", mapping={f"f{i}": i for i in range(300)})
    c.note("big", len(dict(c.value("hscan_iter", "big", count=7))))


@scenario
def zscan(c: Caller) -> None:
    c("zscan", "missing")
    c("zadd", "z", {"a": 1, "b": 2.5, "c": -3, "d": 1e20})
    c.unordered("zscan", "z")
    c.unordered("zscan", "z", 0, match="[ab]", count=10)
    c.unordered("zscan", "z", score_cast_func=int)
    c.unordered("zscan_iter", "z")
    c.unordered("zscan_iter", "z", match="c", score_cast_func=str)
    c("zscan_iter", "missing")
    c("zadd", "big", {f"m{i}": i for i in range(300)})
    c.note("big", sorted(s for _, s in c.value("zscan_iter", "big", count=7))[-3:])


test_same_as_redis_py, test_every_host, test_every_method_is_in_a_scenario = family.tests(__file__)


def test_iterators_walk_many_steps(raw: Any) -> None:
    raw.sadd("s", *(f"m{i}" for i in range(500)))
    raw.hset("h", mapping={i: i for i in range(500)})
    raw.zadd("z", {str(i): i for i in range(500)})
    assert sorted(int(m[1:]) for m in raw.sscan_iter("s", count=10)) == list(range(500))
    assert sorted(int(f) for f, _ in raw.hscan_iter("h", count=10)) == list(range(500))
    pairs = list(raw.zscan_iter("z", count=10, score_cast_func=decimal.Decimal))
    assert sorted(s for _, s in pairs) == [decimal.Decimal(i) for i in range(500)]
    cursor, first = raw.sscan("s", count=10)
    assert cursor != 0 and 0 < len(first) < 500


def test_async_iterators(redis_url: str, raw: Any) -> None:
    raw.sadd("s", *range(100))
    raw.zadd("z", {str(i): i for i in range(100)})
    raw.hset("h", mapping={i: i for i in range(100)})

    async def walk() -> Any:
        client = pyredisclient.AsyncRedisClient.from_url(redis_url)
        try:
            members = [m async for m in client.sscan_iter("s", count=5)]
            pairs = [p async for p in client.zscan_iter("z", count=5, score_cast_func=int)]
            fields = [f async for f in client.hscan_iter("h", count=5, no_values=False)]
            keys = [k async for k in client.scan_iter(count=1)]
            return members, pairs, fields, keys
        finally:
            await client.aclose()

    members, pairs, fields, keys = asyncio.run(walk())
    assert sorted(int(m) for m in members) == list(range(100))
    assert sorted(pairs, key=lambda p: p[1]) == [(str(i).encode(), i) for i in range(100)]
    assert len(fields) == 100
    assert sorted(keys) == [b"h", b"s", b"z"]


def test_async_prefixed_scan_iter(raw: Any, redis_url: str) -> None:
    raw.mset({"outside": 1, "t:a": 1, "t:b": 2})

    async def walk() -> Any:
        client = pyredisclient.AsyncRedisClient.from_url(redis_url, key_prefix="t:")
        try:
            return sorted([k async for k in client.scan_iter(count=1)])
        finally:
            await client.aclose()

    assert asyncio.run(walk()) == [b"a", b"b"]


def test_prefixed_scan_returns_keys_without_prefix(raw: Any, redis_url: str) -> None:
    raw.set("outside", 1)
    client = pyredisclient.RedisClient.from_url(redis_url, key_prefix="t:")
    try:
        client.mset({"a": 1, "b": 2})
        client.sadd("s", "t:member")
        assert sorted(client.scan_iter()) == [b"a", b"b", b"s"]
        assert client.scan(0, match="a", count=1000) == (0, [b"a"])
        # Members are values, never stripped.
        assert list(client.sscan_iter("s")) == [b"t:member"]
    finally:
        client.close()
