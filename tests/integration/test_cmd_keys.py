"""Generic key commands (KeyCommands) against a real server, on every host.

The scenarios run through redis-py and RedisClient (equal results and types)
and through AsyncRedisClient, both pipelines and a key-prefixed client
(tests/cmdcheck.py); the explicit tests pin values and the key-prefix rules.
"""

from __future__ import annotations

import datetime
from typing import Any

import cmdcheck
import pytest
from cmdcheck import Caller

import pyredisclient
from pyredisclient import DataError, ResponseError
from pyredisclient.commands.keyprefix import KeyPrefixError
from pyredisclient.commands.keys import KeyCommands

family = cmdcheck.Family(KeyCommands)
scenario = family.scenario
raw = cmdcheck.raw  # the fixture

FAR = 4102444800  # 2100-01-01, a fixed expiry time


@scenario
def delete_exists(c: Caller) -> None:
    c("mset", {"a": 1, "b": 2, "c": 3})
    c("exists", "a", "b", "missing", "a")
    c("delete", "a", "missing")
    c("unlink", "b", "c")
    c("exists", "a")
    c("delete")
    c("touch", "a")
    c("set", "a", 1)
    c("touch", "a", "a", "missing")
    c("type", "a")
    c("type", "missing")
    c("lpush", "l", 1)
    c("type", "l")


@scenario
def expiry(c: Caller) -> None:
    c("set", "k", "v")
    c("ttl", "k")
    c("pttl", "k")
    c("ttl", "missing")
    c("expiretime", "k")
    c("pexpiretime", "missing")
    c("expireat", "k", FAR)
    c("expiretime", "k")
    c("pexpiretime", "k")
    c("expireat", "k", datetime.datetime.fromtimestamp(FAR + 10), gt=True)
    c("expiretime", "k")
    c("pexpireat", "k", FAR * 1000, lt=True)
    c("pexpireat", "k", datetime.datetime.fromtimestamp(FAR), nx=True)
    c("expiretime", "k")
    c("persist", "k")
    c("persist", "k")
    c("expire", "k", 100, xx=True)
    c("expire", "k", datetime.timedelta(seconds=100))
    c.note("ttl", 95 <= c.value("ttl", "k") <= 100)
    c("pexpire", "k", datetime.timedelta(seconds=200), gt=True)
    c.note("pttl", 195000 <= c.value("pttl", "k") <= 200000)
    c("pexpire", "k", 300000, nx=True)
    c("expire", "missing", 10)
    c("expire", "k", 10, nx=True, xx=True)


@scenario
def rename(c: Caller) -> None:
    c("mset", {"a": 1, "b": 2})
    c("rename", "a", "c")
    c("rename", "missing", "d")
    c("renamenx", "c", "b")
    c("renamenx", "c", "d")
    c("mget", "a", "c", "d")
    c("renamenx", "missing", "e")


@scenario
def copy(c: Caller) -> None:
    c("set", "a", "v")
    c("copy", "a", "b")
    c("copy", "a", "b")
    c("set", "a", "w")
    c("copy", "a", "b", replace=True)
    c("get", "b")
    c("copy", "missing", "x")
    c("sadd", "s", 1, 2)
    c("copy", "s", "s2")
    c("smembers", "s2")


@scenario
def dump_restore(c: Caller) -> None:
    c("rpush", "l", "a", b"\xff", 3)
    payload = c("dump", "l")
    c("dump", "missing")
    c("restore", "l2", 0, payload)
    c("lrange", "l2", 0, -1)
    c("restore", "l2", 0, payload)
    c("restore", "l2", 0, payload, replace=True)
    c("restore", "l3", (FAR + 5) * 1000, payload, absttl=True)
    c("expiretime", "l3")
    c("restore", "l4", 0, payload, idletime=100)
    c.note("idle", 100 <= c.value("object", "idletime", "l4") <= 105)
    c("restore", "l5", 0, payload, frequency=5)
    c("restore", "l6", 0, b"not a payload")
    c("restore", "l7", 0, payload, idletime="x")
    c("restore", "l7", 0, payload, frequency=None)
    c("restore", "l7", 0, payload, frequency="y")
    c("type", "l7")


@scenario
def keys(c: Caller) -> None:
    c("mset", {"user:1": 1, "user:2": 2, "other": 3, "a*b": 4})
    c.unordered("keys")
    c.unordered("keys", "user:*")
    c.unordered("keys", "a\\*b")
    c("keys", "nothing*")


@scenario(prefix=False)
def databases(c: Caller) -> None:
    c("randomkey")
    c("set", "a", 1)
    c("randomkey")
    c("copy", "a", "a", destination_db=1)
    c("copy", "a", "a", destination_db=1)
    c("move", "a", 1)
    c("set", "b", 2)
    c("move", "b", 1)
    c("move", "b", 1)
    c("exists", "a", "b")


test_same_as_redis_py, test_every_host, test_every_method_is_in_a_scenario = family.tests(__file__)


# ---------------------------------------------------------------------------
# Explicit values and the key-prefix rules
# ---------------------------------------------------------------------------


@pytest.fixture
def r(redis_client: Any) -> Any:
    return redis_client


def test_copy_move_values(raw: Any) -> None:
    raw.set("a", "v")
    assert raw.copy("a", "b") is True
    assert raw.copy("a", "b") is False
    assert raw.copy("a", "b", destination_db=1) is True
    assert raw.move("b", 1) is False  # exists there already
    assert raw.move("a", 2) is True
    assert raw.exists("a") == 0
    assert raw.randomkey() == b"b"
    assert raw.renamenx("b", "c") is True
    assert raw.touch("c", "c", "missing") == 2


def test_dump_restore_roundtrip(raw: Any) -> None:
    raw.hset("h", mapping={"f": b"\x00\xff"})
    payload = raw.dump("h")
    assert isinstance(payload, bytes)
    assert raw.restore("h2", 0, payload) == b"OK"
    assert raw.hgetall("h2") == {b"f": b"\x00\xff"}
    with pytest.raises(ResponseError, match="BUSYKEY"):
        raw.restore("h2", 0, payload)
    with pytest.raises(DataError, match="idletime must be an integer"):
        raw.restore("h3", 0, payload, idletime="soon")
    with pytest.raises(DataError, match="frequency must be an integer"):
        raw.restore("h3", 0, payload, frequency=[1])


def test_expiretime_values(raw: Any) -> None:
    raw.set("k", 1, exat=FAR)
    assert raw.expiretime("k") == FAR
    assert raw.pexpiretime("k") == FAR * 1000
    raw.set("p", 1)
    assert raw.expiretime("p") == -1
    assert raw.expiretime("missing") == -2


def test_prefix_confines_and_refuses(raw: Any, redis_url: str) -> None:
    client = pyredisclient.RedisClient.from_url(redis_url, key_prefix="t:")
    allowed = pyredisclient.RedisClient.from_url(
        redis_url, key_prefix="t:", key_prefix_allow=["databases", "server_info"]
    )
    try:
        client.set("a", 1)
        assert client.copy("a", "b") is True
        assert client.renamenx("b", "c") is True
        assert client.touch("a", "c") == 2
        assert client.restore("d", 0, client.dump("a")) == b"OK"
        assert sorted(raw.keys("*")) == [b"t:a", b"t:c", b"t:d"]
        with pytest.raises(KeyPrefixError):
            client.copy("a", "x", destination_db=1)
        with pytest.raises(KeyPrefixError):
            client.move("a", 1)
        with pytest.raises(KeyPrefixError):
            client.randomkey()
        with pytest.raises(KeyPrefixError), client.pipeline() as pipe:
            pipe.move("a", 1)
        assert allowed.copy("a", "x", destination_db=1) is True
        assert allowed.move("c", 1) is True
        assert allowed.randomkey() in (b"t:a", b"t:d")
    finally:
        client.close()
        allowed.close()
    db1 = pyredisclient.RedisClient.from_url(redis_url, db=1)
    try:
        assert sorted(db1.keys("*")) == [b"t:c", b"t:x"]
        db1.flushdb()
    finally:
        db1.close()
