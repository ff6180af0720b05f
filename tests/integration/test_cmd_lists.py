"""List commands and SORT (ListCommands) against a real server, on every host.

The scenarios run through redis-py and RedisClient (equal results and types)
and through AsyncRedisClient, both pipelines and a key-prefixed client
(tests/cmdcheck.py); the explicit tests pin values, blocking waits and the
key-prefix rules (popped key names come back without the prefix).
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import cmdcheck
import pytest
from cmdcheck import Caller

import pyredisclient
from pyredisclient import DataError, ResponseError
from pyredisclient.commands.lists import ListCommands

family = cmdcheck.Family(ListCommands)
scenario = family.scenario
raw = cmdcheck.raw  # the fixture


@scenario
def push_pop(c: Caller) -> None:
    c("lpush", "l", 1, 2, "three")
    c("rpush", "l", b"\x00", 4.5)
    c("lpushx", "l", "x")
    c("rpushx", "l", "y", "z")
    c("lpushx", "missing", "x")
    c("rpushx", "missing", "x")
    c("llen", "l")
    c("lrange", "l", 0, -1)
    c("lpop", "l")
    c("rpop", "l")
    c("lpop", "l", 2)
    c("rpop", "l", 10)
    c("lpop", "l")
    c("lpop", "missing", 2)
    c("set", "s", 1)
    c("lpush", "s", 1)
    c("lpushx", "s", 1)


@scenario
def index_edit(c: Caller) -> None:
    c("rpush", "l", "a", "b", "c", "b", "a")
    c("lindex", "l", 1)
    c("lindex", "l", 99)
    c("lset", "l", 0, "A")
    c("lset", "l", 99, "A")
    c("linsert", "l", "BEFORE", "b", "x")
    c("linsert", "l", "after", "c", "y")
    c("linsert", "l", "AFTER", "nothere", "y")
    c("linsert", "missing", "AFTER", "a", "y")
    c("linsert", "l", "MIDDLE", "a", "y")
    c("lrange", "l", 0, -1)
    c("lrem", "l", 0, "b")
    c("lrem", "l", -1, "a")
    c("ltrim", "l", 1, 2)
    c("lrange", "l", 0, -1)


@scenario
def lpos(c: Caller) -> None:
    c("rpush", "l", "a", "b", "c", "1", "2", "3", "c", "c")
    c("lpos", "l", "c")
    c("lpos", "l", "c", rank=2)
    c("lpos", "l", "c", rank=-1)
    c("lpos", "l", "c", count=2)
    c("lpos", "l", "c", count=0)
    c("lpos", "l", "c", rank=-1, count=2)
    c("lpos", "l", "c", count=0, maxlen=7)
    c("lpos", "l", "nothere")
    c("lpos", "l", "nothere", count=2)
    c("lpos", "l", "c", rank=0)


@scenario
def moves(c: Caller) -> None:
    c("rpush", "a", 1, 2, 3)
    c("rpoplpush", "a", "b")
    c("rpoplpush", "missing", "b")
    c("lmove", "a", "b")
    c("lmove", "a", "b", "RIGHT", "LEFT")
    c("lmove", "a", "b")
    c("lrange", "b", 0, -1)
    c("lmove", "b", "b", "LEFT", "RIGHT")
    c("lmove", "b", "c", "UP", "RIGHT")
    c("brpoplpush", "b", "c", 1)
    c("brpoplpush", "empty", "c", 0.05)
    c("blmove", "b", "c", 1, "LEFT", "LEFT")
    c("blmove", "empty", "c", 0.05)
    c("lrange", "c", 0, -1)


@scenario
def multi_pop(c: Caller) -> None:
    c("rpush", "b", 1, 2, 3, 4, 5)
    c("lmpop", 2, "a", "b", direction="LEFT")
    c("lmpop", 2, "a", "b", direction="RIGHT", count=2)
    c("lmpop", 1, "a", direction="LEFT")
    c("lmpop", 1, "b", direction="left", count=None)
    c("blmpop", 1, 2, "a", "b", direction="LEFT", count=5)
    c("blmpop", 0.05, 1, "b", direction="RIGHT")
    c("lmpop", 1, "b", direction="SIDEWAYS")
    c("lmpop", 1, "b", direction="LEFT", count=0)


@scenario
def blocking_pops(c: Caller) -> None:
    c("rpush", "b", 1, 2)
    c("blpop", ["a", "b"], 1)
    c("brpop", "b", timeout=None)
    c("blpop", "b", 0.05)
    c("brpop", ["a", "b"], 0.05)


@scenario
def sort(c: Caller) -> None:
    c("rpush", "l", 3, 1, 2)
    c("mset", {"w_1": 30, "w_2": 10, "w_3": 20, "o_1": "one", "o_2": "two", "o_3": "three"})
    c("sort", "l")
    c("sort", "l", desc=True)
    c("sort", "l", start=1, num=1)
    c("sort", "l", by="w_*")
    c("sort", "l", by="nosort")
    c("sort", "l", by="w_*", get="o_*")
    c("sort", "l", by="w_*", get=["#", "o_*", "w_*"], groups=True)
    c("sort", "l", get=["#", "o_*"], groups=True, desc=True)
    c("sort", "l", store="dst")
    c("lrange", "dst", 0, -1)
    c("sort", "l", store="dst", get="o_*", alpha=True)
    c("lrange", "dst", 0, -1)
    c("sort", "l", start=1)
    c("sort", "l", get="o_*", groups=True)
    c("sort", "l", groups=True)
    c("sort", "missing", get=["#", "o_*"], groups=True)
    c("rpush", "t", "b", "a", "c")
    c("sort", "t")
    c("sort", "t", alpha=True, desc=True)
    c("sort_ro", "t", alpha=True)
    c("sort_ro", "l", start=0, num=2, by="w_*", get=["#", "o_*"], desc=True)
    c("sort_ro", "l", num=2)
    c("sadd", "s", 5, 4)
    c("sort_ro", "s")


test_same_as_redis_py, test_every_host, test_every_method_is_in_a_scenario = family.tests(__file__)


# ---------------------------------------------------------------------------
# Explicit values, blocking waits, key prefixes
# ---------------------------------------------------------------------------


@pytest.fixture
def r(redis_client: Any) -> Any:
    return redis_client


def test_list_values(raw: Any) -> None:
    assert raw.rpushx("l", 1) == 0
    assert raw.rpush("l", "a", "b", "a") == 3
    assert raw.linsert("l", "BEFORE", "b", "x") == 4
    assert raw.lpos("l", "a") == 0
    assert raw.lpos("l", "a", count=0) == [0, 3]
    assert raw.lpos("l", "zz") is None
    assert raw.lmove("l", "m", "RIGHT", "LEFT") == b"a"
    assert raw.rpoplpush("l", "m") == b"b"
    assert raw.lmpop(2, "none", "m", direction="LEFT", count=5) == [b"m", [b"b", b"a"]]
    assert raw.lmpop(1, "m", direction="LEFT") is None


def test_sort_values(raw: Any) -> None:
    raw.rpush("l", 3, 1, 2)
    raw.mset({"o_1": "one", "o_2": "two", "o_3": "three"})
    assert raw.sort("l") == [b"1", b"2", b"3"]
    assert raw.sort("l", get=["#", "o_*"], groups=True) == [
        (b"1", b"one"),
        (b"2", b"two"),
        (b"3", b"three"),
    ]
    assert raw.sort("l", store="d", desc=True) == 3
    assert raw.lrange("d", 0, -1) == [b"3", b"2", b"1"]
    assert raw.sort_ro("l", start=0, num=1, desc=True) == [b"3"]
    with pytest.raises(DataError, match="must both be specified"):
        raw.sort("l", start=1)
    with pytest.raises(DataError, match="at least two keys"):
        raw.sort("l", get="o_*", groups=True)
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        raw.sort("o_1")


def test_blocking_moves_wait_for_a_push(raw: Any, redis_url: str) -> None:
    pusher = pyredisclient.RedisClient.from_url(redis_url)
    timer = threading.Timer(0.2, pusher.rpush, ("src", "v"))
    timer.start()
    try:
        began = time.monotonic()
        assert raw.blmove("src", "dst", 5, "RIGHT", "LEFT") == b"v"
        assert 0.1 < time.monotonic() - began < 4
        timer = threading.Timer(0.2, pusher.rpush, ("src", "w"))
        timer.start()
        assert raw.blmpop(5, 2, "other", "src", direction="LEFT") == [b"src", [b"w"]]
        timer = threading.Timer(0.2, pusher.rpush, ("src", "x"))
        timer.start()
        assert raw.brpoplpush("src", "dst", 5) == b"x"
        assert raw.lrange("dst", 0, -1) == [b"x", b"v"]
        began = time.monotonic()
        assert raw.blmove("empty", "dst", 0.2) is None
        assert raw.blmpop(0.2, 1, "empty", direction="LEFT") is None
        assert 0.3 < time.monotonic() - began < 4
    finally:
        timer.join()
        pusher.close()


def test_async_blocking_move(redis_url: str) -> None:
    async def main() -> Any:
        client = pyredisclient.AsyncRedisClient.from_url(redis_url)
        try:
            waiter = asyncio.ensure_future(client.blmove("asrc", "adst", 5))
            await asyncio.sleep(0.1)
            assert not waiter.done()
            await client.rpush("asrc", "v")
            return await asyncio.wait_for(waiter, 4)
        finally:
            await client.aclose()

    assert asyncio.run(main()) == b"v"


def test_prefix_on_pops_moves_and_sort(raw: Any, redis_url: str) -> None:
    client = pyredisclient.RedisClient.from_url(redis_url, key_prefix="t:")
    try:
        client.rpush("a", 1, 2, 3)
        assert client.lmove("a", "b") == b"1"
        assert client.lmpop(2, "x", "a", direction="RIGHT") == [b"a", [b"3"]]
        assert client.blmpop(1, 2, "x", "b", direction="LEFT") == [b"b", [b"1"]]
        assert client.blpop(["x", "a"], 1) == (b"a", b"2")
        client.rpush("l", 2, 1)
        client.mset({"w_1": 2, "w_2": 1, "o_1": "one", "o_2": "two"})
        assert client.sort("l", by="w_*", get=["#", "o_*"], groups=True, store=None) == [
            (b"2", b"two"),
            (b"1", b"one"),
        ]
        assert client.sort("l", store="sorted") == 2
        assert sorted(raw.keys("*")) == [
            b"t:l",
            b"t:o_1",
            b"t:o_2",
            b"t:sorted",
            b"t:w_1",
            b"t:w_2",
        ]
    finally:
        client.close()
