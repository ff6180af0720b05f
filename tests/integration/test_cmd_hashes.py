"""Hash commands (HashCommands) against a real server, on every host.

The scenarios run through redis-py and RedisClient (equal results and types)
and through AsyncRedisClient, both pipelines and a key-prefixed client
(tests/cmdcheck.py); the explicit tests pin values.  HSCAN is in
tests/test_cmd_scan.py.
"""

from __future__ import annotations

import datetime
from typing import Any

import cmdcheck
import pytest
from cmdcheck import Caller

import pyredisclient
from pyredisclient import DataError
from pyredisclient.commands.hashes import HashCommands, HashDataPersistOptions

family = cmdcheck.Family(HashCommands)
FAR = 4102444800  # 2100-01-01
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


@scenario
def field_expiry(c: Caller) -> None:
    # Redis 7.4 and 8.0 commands: on an older server every host must give the
    # same error reply redis-py gets (test_field_expiry_arguments checks the
    # arguments themselves).
    c("hset", "h", mapping={"a": 1, "b": 2})
    c("hexpire", "h", 100, "a", "b", nx=True)
    c("hpexpire", "h", 100000, "a")
    c("hexpireat", "h", FAR, "a", gt=True)
    c("hpexpireat", "h", FAR * 1000, "a", "zz")
    c("httl", "h", "a", "zz")
    c("hpttl", "h", "a")
    c("hexpiretime", "h", "a")
    c("hpexpiretime", "h", "a")
    c("hpersist", "h", "a")
    c("hexpire", "h", 100, "a", nx=True, xx=True)
    c("hgetdel", "h", "a")
    c("hgetdel", "h")
    c("hgetex", "h", "b", ex=100)
    c("hgetex", "h", "b", ex=100, persist=True)
    c("hsetex", "h", "c", 3, ex=100)
    c("hsetex", "h", ex=100)
    c("hgetall", "h")


test_same_as_redis_py, test_every_host, test_every_method_is_in_a_scenario = family.tests(__file__)


@pytest.fixture
def r(redis_client: Any) -> Any:
    return redis_client


def test_hash_values(r: Any) -> None:
    with pytest.warns(DeprecationWarning, match="hset") as warned:
        assert r.hmset("h", {"a": 1, "b": "xyz"}) is True
    assert warned[0].filename == __file__  # the caller's line, as redis-py's
    assert r.hstrlen("h", "b") == 3
    assert r.hrandfield("h", -2, withvalues=True) in (
        [b"a", b"1", b"a", b"1"],
        [b"a", b"1", b"b", b"xyz"],
        [b"b", b"xyz", b"a", b"1"],
        [b"b", b"xyz", b"b", b"xyz"],
    )
    assert sorted(r.hrandfield("h", 5)) == [b"a", b"b"]
    assert r.hrandfield("h") in (b"a", b"b")
    with pytest.raises(DataError, match="length 0"), pytest.warns(DeprecationWarning):
        r.hmset("h", {})


# Each call as (args, kwargs): what ours sends must be what redis-py sends.
FIELD_EXPIRY_CALLS = [
    ("hexpire", ("h", 100, "a", "b"), {"nx": True}),
    ("hexpire", ("h", datetime.timedelta(minutes=1), "a"), {"lt": True}),
    ("hpexpire", ("h", datetime.timedelta(seconds=1.5), "a"), {"xx": True}),
    ("hexpireat", ("h", datetime.datetime(2100, 1, 1), "a"), {"gt": True}),
    ("hpexpireat", ("h", datetime.datetime(2100, 1, 1, 0, 0, 1), "a", b"b"), {}),
    ("hpexpireat", ("h", FAR * 1000, "a"), {"nx": True, "gt": True}),
    ("hpersist", ("h", "a", "b"), {}),
    ("hexpiretime", ("h", "a"), {}),
    ("hpexpiretime", ("h", "a", "b"), {}),
    ("httl", ("h", "a"), {}),
    ("hpttl", ("h", "a", 1), {}),
    ("hgetdel", ("h", "a", "b"), {}),
    ("hgetdel", ("h",), {}),
    ("hgetex", ("h", "a"), {}),
    ("hgetex", ("h", "a", "b"), {"px": 1500}),
    ("hgetex", ("h", "a"), {"exat": datetime.datetime(2100, 1, 1)}),
    ("hgetex", ("h", "a"), {"persist": True}),
    ("hgetex", ("h", "a"), {"ex": 1, "persist": True}),
    ("hgetex", ("h",), {"ex": 1}),
    ("hsetex", ("h", "f", "v"), {"ex": 10}),
    ("hsetex", ("h",), {"mapping": {"a": 1}, "items": ["b", 2], "keepttl": True}),
    ("hsetex", ("h", "f", "v"), {"pxat": FAR * 1000, "data_persist_option": "FNX"}),
    ("hsetex", ("h", "f", "v"), {"data_persist_option": "FXX", "px": 5}),
    ("hsetex", ("h", "f", "v"), {"ex": 1, "keepttl": True}),
    ("hsetex", ("h",), {"items": ["a"]}),
    ("hsetex", ("h",), {}),
]


@pytest.mark.parametrize(
    "method,args,kwargs", FIELD_EXPIRY_CALLS, ids=[c[0] for c in FIELD_EXPIRY_CALLS]
)
def test_field_expiry_arguments(method: str, args: Any, kwargs: Any) -> None:
    redis = pytest.importorskip("redis")
    from redis.commands.core import HashCommands as RedisPyHashCommands

    class Ours(HashCommands):
        def _run(self, args: Any, callback: Any = None) -> Any:
            return args

    class Theirs(RedisPyHashCommands):
        def execute_command(self, *args: Any, **options: Any) -> Any:
            return args

    def call(host: Any, persist_options: Any) -> Any:
        kw = dict(kwargs)
        if "data_persist_option" in kw:
            kw["data_persist_option"] = persist_options[kw["data_persist_option"]]
        try:
            return getattr(host, method)(*args, **kw)
        except (redis.DataError, pyredisclient.DataError):
            return "DataError"
        except ValueError as exc:
            return ("ValueError", str(exc))

    from redis.commands.core import HashDataPersistOptions as TheirOptions

    ours = call(Ours(), HashDataPersistOptions.__members__)
    assert ours == call(Theirs(), TheirOptions.__members__)
    # redis-py's own enum works with ours too.
    assert ours == call(Ours(), TheirOptions.__members__)
