"""Hash commands (HashCommands) against a real server, on every host.

The scenarios run through redis-py and RedisClient (equal results and types)
and through AsyncRedisClient, both pipelines and a key-prefixed client
(tests/cmdcheck.py); the explicit tests pin values.  HSCAN is in
tests/test_cmd_scan.py.
"""

from __future__ import annotations

from typing import Any

import cmdcheck
import pytest
from cmdcheck import Caller

from pyredisclient import DataError
from pyredisclient.commands.hashes import HashCommands

family = cmdcheck.Family(HashCommands)
scenario = family.scenario


@scenario
def set_get(c: Caller) -> None:
    c("hset", "h", "f", "v")
    c("hset", "h", mapping={"a": 1, "b": b"\x00"}, items=["c", 3.5])
    c("hset", "h")
    c("hsetnx", "h", "f", "w")
    c("hsetnx", "h", "g", "w")
    c("hget", "h", "f")
    c("hget", "h", "missing")
    c("hmget", "h", ["a", "missing", "c"])
    c("hmget", "h", "a", "b")
    c("hgetall", "h")
    c("hgetall", "missing")
    c("hkeys", "h")
    c("hvals", "h")
    c("hlen", "h")
    c("hexists", "h", "a")
    c("hexists", "h", "zz")
    c("hdel", "h", "a", "zz")
    c("hmset", "h", {"m1": 1, "m2": "two"})
    c("hmset", "h", {})
    c("hstrlen", "h", "m2")
    c("hstrlen", "h", "missing")
    c("hstrlen", "missing", "f")
    c("set", "s", 1)
    c("hget", "s", "f")


@scenario
def counters(c: Caller) -> None:
    c("hincrby", "h", "n")
    c("hincrby", "h", "n", 41)
    c("hincrbyfloat", "h", "f")
    c("hincrbyfloat", "h", "f", 0.25)
    c("hset", "h", "s", "text")
    c("hincrby", "h", "s", 1)
    c("hgetall", "h")


@scenario
def randfield(c: Caller) -> None:
    c("hrandfield", "missing")
    c("hrandfield", "missing", 2)
    c("hset", "h", "only", "one")
    c("hrandfield", "h")
    c("hrandfield", "h", 1)
    c("hrandfield", "h", -3)
    c("hrandfield", "h", -2, withvalues=True)
    c("hset", "h", mapping={"a": 1, "b": 2})
    c.unordered("hrandfield", "h", 5)
    c("hrandfield", "h", withvalues=True)


test_same_as_redis_py, test_every_host, test_every_method_is_in_a_scenario = family.tests(__file__)


@pytest.fixture
def r(redis_client: Any) -> Any:
    return redis_client


def test_hash_values(r: Any) -> None:
    assert r.hmset("h", {"a": 1, "b": "xyz"}) is True
    assert r.hstrlen("h", "b") == 3
    assert r.hrandfield("h", -2, withvalues=True) in (
        [b"a", b"1", b"a", b"1"],
        [b"a", b"1", b"b", b"xyz"],
        [b"b", b"xyz", b"a", b"1"],
        [b"b", b"xyz", b"b", b"xyz"],
    )
    assert sorted(r.hrandfield("h", 5)) == [b"a", b"b"]
    assert r.hrandfield("h") in (b"a", b"b")
    with pytest.raises(DataError, match="length 0"):
        r.hmset("h", {})
