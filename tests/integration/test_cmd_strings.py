"""String and bit commands (StringCommands) against a real server, on every host.

Each scenario runs through redis-py and RedisClient (results and types must be
equal, bytes mode and decode_responses) and through AsyncRedisClient, both
pipelines (with and without MULTI) and a key-prefixed client (tests/cmdcheck.py).
The explicit tests below pin values that do not depend on redis-py.
"""

from __future__ import annotations

import datetime
from typing import Any

import cmdcheck
import pytest
from cmdcheck import Caller

import pyredisclient
from pyredisclient import DataError, ResponseError
from pyredisclient.commands.strings import BitFieldOperation, StringCommands

family = cmdcheck.Family(StringCommands)
scenario = family.scenario


@scenario
def get_set(c: Caller) -> None:
    c("set", "k", "v")
    c("get", "k")
    c("get", "missing")
    c("set", "k", "w", nx=True)
    c("set", "k", "w", xx=True, get=True)
    c("set", "k", "x", ex=100, keepttl=True)
    c("set", "k", "x", nx=True, xx=True)
    c("set", "k", "x", xx=True, ifeq="x")
    c("set", "k", "x", ifne="x", ifdeq="00")
    # Redis 8.4's conditions: a syntax error on older servers, a write on newer.
    c("set", "k", "x", ifeq="x")
    c("set", "k", "x", ifne="y", get=True)
    c("set", "k", "x", ifdeq="0123456789abcdef", ex=10)
    c("set", "k", "x", ifdne="0123456789abcdef")
    c("set", "n", 5, px=datetime.timedelta(seconds=50))
    c("set", "n2", 5, exat=4102444800)
    c("set", "n3", 5, pxat=4102444800000, get=True)
    c("getset", "k", "y")
    c("getdel", "k")
    c("getex", "n", persist=True)
    c("getex", "n", ex=10)
    c("getex", "n", ex=10, px=5)
    c("setnx", "k", 1)
    c("setnx", "k", 2)
    c("setex", "e", 100, "v")
    c("psetex", "e", 100000, "v")
    c("append", "k", "abc")
    c("strlen", "k")


@scenario
def multi_keys(c: Caller) -> None:
    c("mset", {"a": 1, "b": "2"})
    c("mget", ["a", "b", "missing"])
    c("mget", "a", "b")
    c("mget", [])
    c("msetnx", {"a": 3, "c": 4})
    c("msetnx", {"c": 3, "d": 4})
    c("mget", "c", "d")


@scenario
def counters(c: Caller) -> None:
    c("incr", "n")
    c("incrby", "n", 10)
    c("decr", "n")
    c("decrby", "n", 3)
    c("incrbyfloat", "f", 1.5)
    c("incrbyfloat", "f", -0.25)
    c("set", "s", "text")
    c("incr", "s")


@scenario
def ranges(c: Caller) -> None:
    c("set", "k", "Hello World")
    c("getrange", "k", 0, 4)
    c("getrange", "k", -5, -1)
    c("getrange", "missing", 0, 4)
    c("substr", "k", 6)
    c("substr", "k", 0, 2)
    c("setrange", "k", 6, "Redis")
    c("setrange", "fresh", 3, b"\x00xyz")
    c("get", "fresh")
    c("get", "k")
    c("setrange", "k", -1, "x")


@scenario
def lcs(c: Caller) -> None:
    c("mset", {"k1": "ohmytext", "k2": "mynewtext"})
    c("lcs", "k1", "k2")
    c("lcs", "k1", "k2", len=True)
    c("lcs", "k1", "k2", idx=True)
    c("lcs", "k1", "k2", idx=True, minmatchlen=4, withmatchlen=True)
    c("lcs", "k1", "missing")
    c("lpush", "l", 1)
    c("lcs", "k1", "l")


@scenario
def bits(c: Caller) -> None:
    c("setbit", "b", 7, 1)
    c("setbit", "b", 7, True)
    c("setbit", "b", 100, 5)
    c("getbit", "b", 7)
    c("getbit", "b", 6)
    c("getbit", "missing", 0)
    c("get", "b")
    c("setbit", "b", -1, 1)
    c("set", "s", b"\xff\xf0\x00")
    c("bitcount", "s")
    c("bitcount", "s", 1, 1)
    c("bitcount", "s", 5, 30, mode="BIT")
    c("bitcount", "s", 1)
    c("bitcount", "s", None, 2)
    c("bitcount", "missing")
    c("bitpos", "s", 0)
    c("bitpos", "s", 1, 2)
    c("bitpos", "s", 0, 0, 1)
    c("bitpos", "s", 1, 7, 15, mode="BIT")
    c("bitpos", "s", 2)
    c("bitpos", "s", 1, None, 3)
    c("bitpos", "missing", 1)


@scenario
def bitop(c: Caller) -> None:
    c("mset", {"x": b"\x0f\xf0", "y": b"\xff"})
    c("bitop", "AND", "d", "x", "y")
    c("get", "d")
    c("bitop", "OR", "d", "x", "y")
    c("get", "d")
    c("bitop", "XOR", "d", "x", "y", "missing")
    c("get", "d")
    c("bitop", "NOT", "d", "x")
    c("get", "d")
    c("bitop", "NOT", "d", "x", "y")
    c("bitop", "NAND", "d", "x")


@scenario
def bitfield(c: Caller) -> None:
    c.bitfield("bf", [("set", "u8", 0, 255), ("get", "u8", 0), ("incrby", "u8", 0, 10)])
    c.bitfield("bf", [("incrby", "u8", 0, 300, "SAT"), ("get", "u8", "#1")])
    c.bitfield("bf", [("incrby", "u8", 0, 1)], default_overflow="FAIL")
    c.bitfield("bf", [("overflow", "wrap"), ("incrby", "i8", 8, 200), ("get", "i8", 8)])
    c.bitfield("bf", [])
    c.bitfield("bf", [("get", "x8", 0)])
    c("get", "bf")
    c("bitfield_ro", "bf", "u8", 0)
    c("bitfield_ro", "bf", "u4", 0, items=[("u4", 4), ("i8", "#1")])
    c("bitfield_ro", "missing", "u8", 0)


test_same_as_redis_py, test_every_host, test_every_method_is_in_a_scenario = family.tests(__file__)


# ---------------------------------------------------------------------------
# Explicit values
# ---------------------------------------------------------------------------


@pytest.fixture
def r(redis_client: Any) -> Any:
    return redis_client


def test_bits_values(r: Any) -> None:
    assert r.setbit("b", 7, 1) == 0
    assert r.setbit("b", 7, 0) == 1
    assert r.setbit("b", 0, "yes") == 0  # truthy: 1, as redis-py
    assert r.get("b") == b"\x80"
    assert r.getbit("b", 0) == 1
    r.set("s", b"\xff\xf0\x00")
    assert r.bitcount("s") == 12
    assert r.bitcount("s", 1, 1) == 4
    assert r.bitcount("s", 0, 11, mode="BIT") == 12
    assert r.bitpos("s", 0) == 12
    assert r.bitpos("s", 1, 2) == -1
    assert r.bitop("NOT", "n", "s") == 3
    assert r.get("n") == b"\x00\x0f\xff"


def test_bit_argument_errors(r: Any) -> None:
    with pytest.raises(DataError, match="Both start and end"):
        r.bitcount("s", 1)
    with pytest.raises(DataError, match="bit must be 0 or 1"):
        r.bitpos("s", 2)
    with pytest.raises(DataError, match="start argument is not set"):
        r.bitpos("s", 1, end=3)


def test_bitfield_operation(r: Any) -> None:
    op = r.bitfield("bf", default_overflow="SAT")
    assert isinstance(op, BitFieldOperation)
    op.set("u8", 0, 200).incrby("u8", 0, 100).get("u8", 0)
    assert op.command == ["BITFIELD", "bf", "OVERFLOW", "SAT", "SET", "u8", 0, 200,
                          "INCRBY", "u8", 0, 100, "GET", "u8", 0]  # fmt: skip
    assert op.execute() == [0, 255, 255]
    assert op.operations == [("OVERFLOW", "SAT")]  # reset after execute
    assert r.bitfield("bf").incrby("u8", 0, 1, overflow="fail").execute() == [None]
    assert r.bitfield_ro("bf", "u4", 0, items=[("u4", 4)]) == [15, 15]


def test_ranges_and_lcs_values(r: Any) -> None:
    r.set("k", "Hello World")
    assert r.getrange("k", 0, 4) == b"Hello"
    assert r.substr("k", 6) == b"World"
    assert r.setrange("k", 6, "Redis") == 11
    assert r.get("k") == b"Hello Redis"
    r.mset({"k1": "ohmytext", "k2": "mynewtext"})
    assert r.lcs("k1", "k2") == b"mytext"
    assert r.lcs("k1", "k2", len=True) == 6
    assert r.lcs("k1", "k2", idx=True, minmatchlen=4, withmatchlen=True) == [
        b"matches",
        [[[4, 7], [5, 8], 4]],
        b"len",
        6,
    ]
    with pytest.raises(ResponseError):
        r.lcs("k1", "k2", len=True, idx=True)


def test_bitfield_on_pipeline_and_prefix(redis_url: str) -> None:
    client = pyredisclient.RedisClient.from_url(redis_url, key_prefix="t:")
    raw = pyredisclient.RedisClient.from_url(redis_url)
    raw.flushall()
    try:
        with client.pipeline() as pipe:
            assert pipe.bitfield("bf").set("u8", 0, 7).execute() is pipe
            pipe.bitfield_ro("bf", "u8", 0).bitop("NOT", "inv", "bf").getbit("inv", 0)
            assert pipe.execute() == [[0], [7], 1, 1]
        assert sorted(raw.keys("*")) == [b"t:bf", b"t:inv"]
    finally:
        client.close()
        raw.close()


def test_set_conditions_arguments() -> None:
    # Redis 8.4's IFEQ/IFNE/IFDEQ/IFDNE: the test server predates them, so the
    # arguments are checked on a host that records them.
    class Recorder(StringCommands):
        def _run(self, args: Any, callback: Any = None) -> Any:
            return args

    host = Recorder()
    assert host.set("k", "v", ifeq="old") == ("SET", "k", "v", "IFEQ", "old")
    assert host.set("k", "v", ifne=b"x", get=True, px=5) == (
        "SET", "k", "v", "IFNE", b"x", "GET", "PX", 5,
    )  # fmt: skip
    assert host.set("k", "v", ifdeq="ab12") == ("SET", "k", "v", "IFDEQ", "ab12")
    assert host.set("k", "v", ifdne="ab12", keepttl=True) == (
        "SET", "k", "v", "IFDNE", "ab12", "KEEPTTL",
    )  # fmt: skip
    with pytest.raises(DataError, match="mutually exclusive"):
        host.set("k", "v", nx=True, ifeq="x")
