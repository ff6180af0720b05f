"""Command methods of RedisClient (pyredisclient.commands) against a real server.

Every method is called with explicit expected values, in bytes mode and with
decode_responses=True, including binary-safe and unicode payloads, error
replies and DataError for arguments Redis cannot take.  The second half
checks the argument tuples and reply callbacks on a fake host, without a
server.  tests/test_commands_compat.py compares the same calls with redis-py.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib
import inspect
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import pyredisclient
from pyredisclient import DataError, ResponseError
from pyredisclient.commands import CoreCommands

ALL_BYTES = bytes(range(256))


@pytest.fixture
def r(redis_client: Any) -> Any:
    return redis_client


@pytest.fixture
def rd(redis_client: Any, redis_url: str) -> Iterator[Any]:
    """A client with decode_responses=True on the same (flushed) database."""
    client = pyredisclient.RedisClient.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        client.close()


def server_version(r: Any) -> tuple[int, ...]:
    return tuple(int(x) for x in r.info("server")["redis_version"].split(".")[:3])


# ---------------------------------------------------------------------------
# Connection and server
# ---------------------------------------------------------------------------


def test_ping(r: Any, rd: Any) -> None:
    assert r.ping() is True
    assert rd.ping() is True


def test_echo(r: Any, rd: Any) -> None:
    assert r.echo(b"a\x00b") == b"a\x00b"
    assert r.echo(12) == b"12"
    assert rd.echo("héllo") == "héllo"


def test_execute_command_returns_raw_reply(r: Any, rd: Any) -> None:
    assert r.execute_command("SET", "k", "v") == b"OK"
    assert r.execute_command("GET", "k") == b"v"
    assert r.execute_command("PING") == b"PONG"
    assert rd.execute_command("GET", "k") == "v"
    assert r.execute_command("HSET", "h", "f", 1) == 1
    assert r.execute_command("HGETALL", "h") == [b"f", b"1"]


def test_dbsize_and_flushdb(r: Any) -> None:
    assert r.dbsize() == 0
    r.mset({"a": 1, "b": 2, "c": 3})
    assert r.dbsize() == 3
    assert r.flushdb() is True
    assert r.dbsize() == 0
    r.set("a", 1)
    assert r.flushdb(asynchronous=True) is True
    assert r.dbsize() == 0


def test_flushall(r: Any) -> None:
    r.set("a", 1)
    assert r.flushall() is True
    assert r.dbsize() == 0
    r.set("a", 1)
    assert r.flushall(asynchronous=True) is True
    assert r.dbsize() == 0


def test_time(r: Any, rd: Any) -> None:
    for client in (r, rd):
        seconds, micros = client.time()
        assert type(seconds) is int and type(micros) is int
        assert abs(seconds - time.time()) < 60
        assert 0 <= micros < 1_000_000


def test_info(r: Any, rd: Any, redis_server: Any) -> None:
    r.set("k1", "v")
    r.set("k2", "v", ex=100)
    for client in (r, rd):
        info = client.info()
        assert isinstance(info["redis_version"], str)
        assert info["redis_version"].count(".") == 2
        assert info["tcp_port"] == redis_server.port
        assert type(info["connected_clients"]) is int and info["connected_clients"] >= 1
        assert type(info["used_memory"]) is int
        assert type(info["mem_fragmentation_ratio"]) is float
        assert info["db0"]["keys"] == 2
        assert info["db0"]["expires"] == 1
        assert type(info["db0"]["avg_ttl"]) is int
        assert info["role"] == "master"


def test_info_sections(r: Any) -> None:
    r.set("k", "v")
    keyspace = r.info("keyspace")
    assert keyspace == {"db0": {"keys": 1, "expires": 0, "avg_ttl": 0}}
    both = r.info("server", "clients")
    assert "redis_version" in both and "connected_clients" in both
    assert "used_memory" not in both
    assert "used_memory" in r.info("memory")


def test_info_commandstats_subfields(r: Any) -> None:
    r.ping()
    stats = r.info("commandstats")
    ping = stats["cmdstat_ping"]
    assert type(ping["calls"]) is int and ping["calls"] >= 1
    assert type(ping["usec_per_call"]) is float


def test_config_get_set(r: Any, rd: Any) -> None:
    assert r.config_get("maxmemory") == {"maxmemory": "0"}
    assert rd.config_get("maxmemory") == {"maxmemory": "0"}
    multi = r.config_get("maxmemory", "maxmemory-policy")
    assert set(multi) == {"maxmemory", "maxmemory-policy"}
    assert all(isinstance(v, str) for v in multi.values())
    assert len(r.config_get("maxmemory*")) >= 4
    assert r.config_get("no-such-parameter") == {}
    old = r.config_get("slowlog-max-len")["slowlog-max-len"]
    try:
        assert r.config_set("slowlog-max-len", 77) is True
        assert r.config_get("slowlog-max-len") == {"slowlog-max-len": "77"}
        assert r.config_set("slowlog-max-len", 78, "slowlog-log-slower-than", 10001) is True
        assert r.config_get("slowlog-log-slower-than") == {"slowlog-log-slower-than": "10001"}
    finally:
        r.config_set("slowlog-max-len", old, "slowlog-log-slower-than", 10000)
    with pytest.raises(ResponseError, match="no-such-parameter"):
        r.config_set("no-such-parameter", 1)


def test_client_setname_getname(r: Any, rd: Any) -> None:
    assert r.client_setname("cmd-test") is True
    assert r.client_getname() == "cmd-test"
    assert rd.client_getname() is None
    assert rd.client_setname("cmd-test-2") is True
    assert rd.client_getname() == "cmd-test-2"


def test_client_list(r: Any, rd: Any) -> None:
    r.client_setname("lister")
    for client in (r, rd):
        clients = client.client_list()
        assert isinstance(clients, list) and clients
        assert all(isinstance(c, dict) for c in clients)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in clients[0].items())
        assert {"id", "addr", "name", "cmd"} <= set(clients[0])
    assert "lister" in [c["name"] for c in r.client_list()]
    normal = r.client_list(_type="normal")
    assert normal and all(c["flags"] == "N" for c in normal)
    own_id = next(c["id"] for c in r.client_list() if c["name"] == "lister")
    assert [c["name"] for c in r.client_list(client_id=[own_id])] == ["lister"]
    with pytest.raises(DataError):
        r.client_list(_type="bogus")
    with pytest.raises(DataError):
        r.client_list(client_id=5)


def test_object_and_memory_usage(r: Any, rd: Any) -> None:
    r.set("i", 123)
    r.set("s", "x" * 100)
    assert r.object("encoding", "i") == b"int"
    assert r.object("encoding", "s") == b"raw"
    assert rd.object("encoding", "i") == "int"
    assert r.object("refcount", "s") == 1
    assert r.object("encoding", "missing") is None
    usage = r.memory_usage("s")
    assert type(usage) is int and usage >= 100
    r.rpush("l", *range(100))
    assert type(r.memory_usage("l", samples=0)) is int
    assert r.memory_usage("missing") is None


def test_publish(r: Any, redis_url: str) -> None:
    redis = pytest.importorskip("redis")
    assert r.publish("chan", "nobody listens") == 0
    sub = redis.Redis.from_url(redis_url).pubsub()
    try:
        sub.subscribe("chan")
        assert sub.get_message(timeout=5)["type"] == "subscribe"
        assert r.publish("chan", b"hi\x00") == 1
        msg = sub.get_message(timeout=5)
        assert msg["data"] == b"hi\x00"
    finally:
        sub.close()


def test_select_is_refused(r: Any) -> None:
    # A method, as in redis-py, whose call is refused before anything is sent: SELECT
    # would leave a pooled connection in another database (issue 15).
    with pytest.raises(DataError, match="db="):
        r.select(1)


# ---------------------------------------------------------------------------
# Strings
# ---------------------------------------------------------------------------


def test_get_set(r: Any, rd: Any) -> None:
    assert r.get("missing") is None
    assert r.set("k", "v") is True
    assert r.get("k") == b"v"
    assert rd.get("k") == "v"
    assert r.set("n", 42) is True
    assert r.get("n") == b"42"
    assert r.set("f", 1.5) is True
    assert r.get("f") == b"1.5"
    assert r.set(b"bk", b"bv") is True
    assert r.get(b"bk") == b"bv"
    assert r.set("empty", "") is True
    assert r.get("empty") == b""
    assert rd.set("dk", "dv") is True


def test_set_nx_xx(r: Any) -> None:
    assert r.set("k", "1", xx=True) is None
    assert r.get("k") is None
    assert r.set("k", "1", nx=True) is True
    assert r.set("k", "2", nx=True) is None
    assert r.get("k") == b"1"
    assert r.set("k", "3", xx=True) is True
    assert r.get("k") == b"3"


def test_set_expiry_options(r: Any) -> None:
    assert r.set("ex", "v", ex=100) is True
    assert 98 <= r.ttl("ex") <= 100
    assert r.set("ex2", "v", ex=datetime.timedelta(minutes=2)) is True
    assert 118 <= r.ttl("ex2") <= 120
    assert r.set("px", "v", px=50_000) is True
    assert 48_000 <= r.pttl("px") <= 50_000
    assert r.set("px2", "v", px=datetime.timedelta(seconds=30)) is True
    assert 28_000 <= r.pttl("px2") <= 30_000
    at = datetime.datetime.now() + datetime.timedelta(seconds=200)
    assert r.set("exat", "v", exat=at) is True
    assert 197 <= r.ttl("exat") <= 200
    assert r.set("exat2", "v", exat=int(time.time()) + 300) is True
    assert 297 <= r.ttl("exat2") <= 300
    assert r.set("pxat", "v", pxat=at) is True
    assert 197_000 <= r.pttl("pxat") <= 200_000
    assert r.set("pxat2", "v", pxat=int(time.time() * 1000) + 400_000) is True
    assert 397 <= r.ttl("pxat2") <= 400
    assert r.set("ex", "w", keepttl=True) is True
    assert 95 <= r.ttl("ex") <= 100
    assert r.set("ex", "w") is True
    assert r.ttl("ex") == -1
    assert r.set("ex3", "v", ex="60") is True
    assert 58 <= r.ttl("ex3") <= 60


def test_set_get_option(r: Any, rd: Any) -> None:
    assert r.set("k", "old", get=True) is None
    assert r.set("k", "new", get=True) == b"old"
    assert r.get("k") == b"new"
    assert rd.set("k", "newer", get=True) == "new"
    assert r.set("k", "x", nx=True, get=True) == b"newer"
    assert r.get("k") == b"newer"
    assert r.set("k", "y", xx=True, get=True, ex=100) == b"newer"
    assert r.get("k") == b"y"
    assert 98 <= r.ttl("k") <= 100


def test_set_data_errors(r: Any) -> None:
    with pytest.raises(DataError):
        r.set("k", "v", ex=1, px=1000)
    with pytest.raises(DataError):
        r.set("k", "v", ex=1, keepttl=True)
    with pytest.raises(DataError):
        r.set("k", "v", exat=1, pxat=1)
    with pytest.raises(DataError):
        r.set("k", "v", nx=True, xx=True)
    with pytest.raises(DataError):
        r.set("k", "v", ex=1.5)
    with pytest.raises(DataError):
        r.set("k", "v", ex="soon")
    with pytest.raises(DataError):
        r.set("k", "v", px=2.5)
    assert r.get("k") is None
    with pytest.raises(ResponseError, match="invalid expire time"):
        r.set("k", "v", ex=0)


def test_getset_getdel(r: Any, rd: Any) -> None:
    assert r.getset("k", "a") is None
    assert r.getset("k", "b") == b"a"
    assert rd.getset("k", "c") == "b"
    assert r.getdel("k") == b"c"
    assert r.getdel("k") is None
    assert r.exists("k") == 0


def test_getex(r: Any) -> None:
    assert r.getex("missing", ex=10) is None
    r.set("k", "v")
    assert r.getex("k") == b"v"
    assert r.ttl("k") == -1
    assert r.getex("k", ex=100) == b"v"
    assert 98 <= r.ttl("k") <= 100
    assert r.getex("k", px=datetime.timedelta(seconds=50)) == b"v"
    assert 48_000 <= r.pttl("k") <= 50_000
    at = datetime.datetime.now() + datetime.timedelta(seconds=300)
    assert r.getex("k", exat=at) == b"v"
    assert 297 <= r.ttl("k") <= 300
    assert r.getex("k", pxat=int(time.time() * 1000) + 200_000) == b"v"
    assert 197 <= r.ttl("k") <= 200
    assert r.getex("k", persist=True) == b"v"
    assert r.ttl("k") == -1
    with pytest.raises(DataError):
        r.getex("k", ex=1, persist=True)
    with pytest.raises(DataError):
        r.getex("k", ex=1, px=1)


def test_mget(r: Any, rd: Any) -> None:
    r.set("a", "1")
    r.set("c", b"\x00")
    assert r.mget(["a", "b", "c"]) == [b"1", None, b"\x00"]
    assert r.mget("a", "b", "c") == [b"1", None, b"\x00"]
    assert r.mget(("a",), "c") == [b"1", b"\x00"]
    assert r.mget("a") == [b"1"]
    assert rd.mget(["a", "b"]) == ["1", None]
    assert r.mget([]) == []


def test_mset_msetnx(r: Any) -> None:
    assert r.mset({"a": 1, b"b": b"2", "c": 3.5}) is True
    assert r.mget("a", "b", "c") == [b"1", b"2", b"3.5"]
    assert r.msetnx({"a": 9, "d": 4}) is False
    assert r.exists("d") == 0
    assert r.get("a") == b"1"
    assert r.msetnx({"d": 4, "e": 5}) is True
    assert r.mget("d", "e") == [b"4", b"5"]


def test_setnx_setex_psetex(r: Any) -> None:
    assert r.setnx("k", "v") is True
    assert r.setnx("k", "w") is False
    assert r.get("k") == b"v"
    assert r.setex("se", 100, "v") is True
    assert r.get("se") == b"v"
    assert 98 <= r.ttl("se") <= 100
    assert r.setex("se2", datetime.timedelta(seconds=200), "v") is True
    assert 198 <= r.ttl("se2") <= 200
    assert r.psetex("pe", 60_000, "v") is True
    assert 58_000 <= r.pttl("pe") <= 60_000
    assert r.psetex("pe2", datetime.timedelta(milliseconds=70_500), "v") is True
    assert 68_000 <= r.pttl("pe2") <= 70_500
    with pytest.raises(ResponseError, match="invalid expire time"):
        r.setex("bad", -1, "v")


def test_append_strlen(r: Any) -> None:
    assert r.strlen("k") == 0
    assert r.append("k", "ab") == 2
    assert r.append("k", b"\x00\xff") == 4
    assert r.append("k", 12) == 6
    assert r.get("k") == b"ab\x00\xff12"
    assert r.strlen("k") == 6
    assert r.strlen("k") == len(r.get("k"))


def test_incr_decr(r: Any) -> None:
    assert r.incr("n") == 1
    assert r.incr("n", 10) == 11
    assert r.incrby("n") == 12
    assert r.incrby("n", -2) == 10
    assert r.decr("n") == 9
    assert r.decr("n", 4) == 5
    assert r.decrby("n", 10) == -5
    assert r.decrby("n") == -6
    assert r.get("n") == b"-6"
    assert r.incr("big", 2**62) == 2**62
    with pytest.raises(ResponseError, match="increment or decrement would overflow"):
        r.incrby("big", 2**62)


def test_incrbyfloat(r: Any, rd: Any) -> None:
    value = r.incrbyfloat("f")
    assert value == 1.0 and type(value) is float
    assert r.incrbyfloat("f", 1.5) == 2.5
    assert r.incrbyfloat("f", -0.25) == 2.25
    assert r.incrbyfloat("f", 2) == 4.25
    assert rd.incrbyfloat("f", 0.75) == 5.0
    assert r.get("f") == b"5"
    assert r.incrbyfloat("tenth", 0.1) == 0.1


def test_incr_error_replies(r: Any) -> None:
    r.set("s", "abc")
    with pytest.raises(ResponseError) as info:
        r.incr("s")
    assert str(info.value) == "value is not an integer or out of range"
    with pytest.raises(ResponseError, match="value is not a valid float"):
        r.incrbyfloat("s", 1.0)
    r.rpush("l", 1)
    with pytest.raises(ResponseError) as info:
        r.get("l")
    assert str(info.value).startswith("WRONGTYPE Operation against a key holding the wrong kind")
    # The connection is still in step after the errors.
    assert r.get("s") == b"abc"


# ---------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------


def test_delete_unlink_exists(r: Any) -> None:
    r.mset({"a": 1, "b": 2, "c": 3, "d": 4})
    assert r.exists("a") == 1
    assert r.exists("a", "b", "zz") == 2
    assert r.exists("a", "a") == 2
    assert r.delete("a", "b", "zz") == 2
    assert r.delete("a") == 0
    assert r.unlink("c", "zz") == 1
    assert r.exists("a", "b", "c", "d") == 1
    with pytest.raises(ResponseError, match="wrong number of arguments"):
        r.delete()


def test_expire_pexpire(r: Any) -> None:
    assert r.expire("missing", 10) is False
    r.set("k", "v")
    assert r.expire("k", 100) is True
    assert 98 <= r.ttl("k") <= 100
    assert r.expire("k", datetime.timedelta(seconds=200)) is True
    assert 198 <= r.ttl("k") <= 200
    assert r.pexpire("k", 50_000) is True
    assert 48_000 <= r.pttl("k") <= 50_000
    assert r.pexpire("k", datetime.timedelta(seconds=60)) is True
    assert 58_000 <= r.pttl("k") <= 60_000
    assert r.pexpire("missing", 10) is False


def test_expire_conditions(r: Any) -> None:
    r.set("k", "v")
    assert r.expire("k", 100, xx=True) is False
    assert r.expire("k", 100, nx=True) is True
    assert r.expire("k", 200, nx=True) is False
    assert r.expire("k", 50, gt=True) is False
    assert r.expire("k", 300, gt=True) is True
    assert r.expire("k", 400, lt=True) is False
    assert r.expire("k", 150, lt=True) is True
    assert r.expire("k", 120, xx=True) is True
    assert 118 <= r.ttl("k") <= 120
    assert r.pexpire("k", 90_000, lt=True) is True
    assert r.pexpire("k", 10_000, gt=True) is False
    with pytest.raises(ResponseError):
        r.expire("k", 10, nx=True, xx=True)


def test_expireat_pexpireat(r: Any) -> None:
    r.set("k", "v")
    at = datetime.datetime.now() + datetime.timedelta(seconds=100)
    assert r.expireat("k", at) is True
    assert 97 <= r.ttl("k") <= 100
    assert r.expireat("k", int(time.time()) + 200) is True
    assert 197 <= r.ttl("k") <= 200
    assert r.pexpireat("k", at) is True
    assert 97_000 <= r.pttl("k") <= 100_000
    assert r.pexpireat("k", int(time.time() * 1000) + 300_000) is True
    assert 297 <= r.ttl("k") <= 300
    assert r.expireat("k", int(time.time()) + 500, lt=True) is False
    assert r.expireat("k", int(time.time()) + 500, gt=True) is True
    assert r.pexpireat("k", int(time.time() * 1000) + 1_000_000, nx=True) is False
    assert r.pexpireat("k", int(time.time() * 1000) + 1_000_000, xx=True) is True
    assert r.expireat("missing", at) is False
    # A time in the past deletes the key.
    assert r.expireat("k", 1) is True
    assert r.exists("k") == 0


def test_ttl_pttl_persist(r: Any) -> None:
    assert r.ttl("missing") == -2
    assert r.pttl("missing") == -2
    r.set("k", "v")
    assert r.ttl("k") == -1
    assert r.pttl("k") == -1
    assert r.persist("k") is False
    r.expire("k", 100)
    assert r.persist("k") is True
    assert r.ttl("k") == -1
    assert r.persist("missing") is False


def test_type(r: Any, rd: Any) -> None:
    r.set("s", "v")
    r.rpush("l", 1)
    r.sadd("st", 1)
    r.hset("h", "f", 1)
    r.zadd("z", {"m": 1})
    assert r.type("missing") == b"none"
    assert r.type("s") == b"string"
    assert r.type("l") == b"list"
    assert r.type("st") == b"set"
    assert r.type("h") == b"hash"
    assert r.type("z") == b"zset"
    assert rd.type("s") == "string"


def test_rename(r: Any) -> None:
    r.set("a", "v")
    assert r.rename("a", "b") is True
    assert r.get("b") == b"v"
    assert r.exists("a") == 0
    with pytest.raises(ResponseError, match="no such key"):
        r.rename("a", "c")


def test_keys(r: Any, rd: Any) -> None:
    assert r.keys() == []
    r.mset({"user:1": 1, "user:2": 2, "item:1": 3, b"bin\x00key": 4})
    assert sorted(r.keys()) == [b"bin\x00key", b"item:1", b"user:1", b"user:2"]
    assert sorted(r.keys("user:*")) == [b"user:1", b"user:2"]
    assert sorted(rd.keys("user:*")) == ["user:1", "user:2"]
    assert r.keys("nomatch*") == []


def test_scan(r: Any, rd: Any) -> None:
    names = {f"key:{i}".encode() for i in range(300)}
    r.mset({n: 1 for n in names})
    r.rpush("list:1", 1)
    seen: set[bytes] = set()
    cursor, batch = r.scan()
    assert type(cursor) is int and isinstance(batch, list)
    seen.update(batch)
    steps = 1
    while cursor != 0:
        cursor, batch = r.scan(cursor, count=50)
        seen.update(batch)
        steps += 1
        assert steps < 1000
    assert seen == names | {b"list:1"}
    matched: set[bytes] = set()
    cursor = 0
    while True:
        cursor, batch = r.scan(cursor, match="key:1*", count=1000)
        matched.update(batch)
        if cursor == 0:
            break
    assert matched == {n for n in names if n.startswith(b"key:1")}
    typed = []
    cursor = 0
    while True:
        cursor, batch = r.scan(cursor, _type="list", count=1000)
        typed.extend(batch)
        if cursor == 0:
            break
    assert typed == [b"list:1"]
    _, decoded = rd.scan(0, match="list:*", count=1000)
    assert decoded in ([], ["list:1"])


def test_scan_iter(r: Any, rd: Any) -> None:
    assert list(r.scan_iter()) == []
    names = {f"k{i}".encode() for i in range(250)}
    r.mset({n: 1 for n in names})
    r.sadd("set:x", 1)
    assert set(r.scan_iter()) == names | {b"set:x"}
    assert set(r.scan_iter(match="k1*", count=20)) == {n for n in names if n.startswith(b"k1")}
    assert list(r.scan_iter(_type="set")) == [b"set:x"]
    assert set(rd.scan_iter(match="k2?")) == {f"k2{i}" for i in range(10)}


# ---------------------------------------------------------------------------
# Hashes
# ---------------------------------------------------------------------------


def test_hset_forms(r: Any) -> None:
    assert r.hset("h", "f1", "v1") == 1
    assert r.hset("h", "f1", "v1b") == 0
    assert r.hset("h", mapping={"f2": 2, b"f3": b"3"}) == 2
    assert r.hset("h", items=["f4", 4, "f5", 5.5]) == 2
    assert r.hset("h", "f6", 6, mapping={"f7": 7}, items=["f8", 8]) == 3
    assert r.hgetall("h") == {
        b"f1": b"v1b",
        b"f2": b"2",
        b"f3": b"3",
        b"f4": b"4",
        b"f5": b"5.5",
        b"f6": b"6",
        b"f7": b"7",
        b"f8": b"8",
    }
    with pytest.raises(DataError):
        r.hset("h")
    with pytest.raises(DataError):
        r.hset("h", mapping={})


def test_hget_hmget_hgetall(r: Any, rd: Any) -> None:
    assert r.hget("h", "f") is None
    assert r.hgetall("h") == {}
    assert rd.hgetall("h") == {}
    r.hset("h", mapping={"a": 1, "b": "two", b"\x00": b"\xff"})
    assert r.hget("h", "a") == b"1"
    assert r.hget("h", b"\x00") == b"\xff"
    assert r.hget("h", "missing") is None
    assert r.hmget("h", ["a", "b", "zz"]) == [b"1", b"two", None]
    assert r.hmget("h", "a", "b") == [b"1", b"two"]
    assert r.hmget("h", "a") == [b"1"]
    assert r.hgetall("h") == {b"a": b"1", b"b": b"two", b"\x00": b"\xff"}
    assert rd.hgetall("h2") == {}
    rd.hset("h2", mapping={"ключ": "значение", "x": 1})
    assert rd.hgetall("h2") == {"ключ": "значение", "x": "1"}
    assert rd.hmget("h2", ["ключ", "nope"]) == ["значение", None]


def test_hdel_hexists_hlen(r: Any) -> None:
    r.hset("h", mapping={"a": 1, "b": 2, "c": 3})
    assert r.hlen("h") == 3
    assert r.hexists("h", "a") is True
    assert r.hexists("h", "zz") is False
    assert r.hexists("missing", "a") is False
    assert r.hdel("h", "a", "b", "zz") == 2
    assert r.hdel("h", "a") == 0
    assert r.hlen("h") == 1
    assert r.hlen("missing") == 0


def test_hincrby_hincrbyfloat(r: Any) -> None:
    assert r.hincrby("h", "n") == 1
    assert r.hincrby("h", "n", 41) == 42
    assert r.hincrby("h", "n", -50) == -8
    value = r.hincrbyfloat("h", "f")
    assert value == 1.0 and type(value) is float
    assert r.hincrbyfloat("h", "f", 0.5) == 1.5
    r.hset("h", "s", "abc")
    with pytest.raises(ResponseError, match="hash value is not an integer"):
        r.hincrby("h", "s")


def test_hkeys_hvals(r: Any, rd: Any) -> None:
    assert r.hkeys("h") == []
    assert r.hvals("h") == []
    r.hset("h", mapping={"a": 1, "b": 2})
    assert sorted(r.hkeys("h")) == [b"a", b"b"]
    assert sorted(r.hvals("h")) == [b"1", b"2"]
    assert sorted(rd.hkeys("h")) == ["a", "b"]
    assert sorted(rd.hvals("h")) == ["1", "2"]


def test_hsetnx(r: Any) -> None:
    assert r.hsetnx("h", "f", "v") == 1
    assert r.hsetnx("h", "f", "w") == 0
    assert r.hget("h", "f") == b"v"


def test_hscan(r: Any, rd: Any) -> None:
    cursor, data = r.hscan("missing")
    assert (cursor, data) == (0, {})
    fields = {f"f{i}".encode(): str(i).encode() for i in range(200)}
    r.hset("h", mapping=fields)
    seen: dict[bytes, bytes] = {}
    cursor = 0
    steps = 0
    while True:
        cursor, data = r.hscan("h", cursor, count=30)
        assert type(cursor) is int and isinstance(data, dict)
        seen.update(data)
        steps += 1
        assert steps < 1000
        if cursor == 0:
            break
    assert seen == fields
    small = {"a": "1", "b": "2", "ab": "3"}
    rd.hset("hs", mapping=small)
    assert rd.hscan("hs") == (0, small)
    assert rd.hscan("hs", match="a*") == (0, {"a": "1", "ab": "3"})


def test_hscan_iter(r: Any, rd: Any) -> None:
    assert list(r.hscan_iter("missing")) == []
    fields = {f"f{i}".encode(): str(i).encode() for i in range(150)}
    r.hset("h", mapping=fields)
    pairs = list(r.hscan_iter("h", count=20))
    assert all(isinstance(p, tuple) and len(p) == 2 for p in pairs)
    assert dict(pairs) == fields
    assert dict(r.hscan_iter("h", match="f1?")) == {
        f"f1{i}".encode(): f"1{i}".encode() for i in range(10)
    }
    rd.hset("hd", mapping={"x": "1", "y": "2"})
    assert sorted(rd.hscan_iter("hd")) == [("x", "1"), ("y", "2")]


# ---------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------


def test_push_range_len(r: Any, rd: Any) -> None:
    assert r.rpush("l", "a", "b") == 2
    assert r.lpush("l", "z", 0) == 4
    assert r.rpush("l", 1.5, b"\x00") == 6
    assert r.lrange("l", 0, -1) == [b"0", b"z", b"a", b"b", b"1.5", b"\x00"]
    assert r.lrange("l", 1, 2) == [b"z", b"a"]
    assert r.lrange("l", -2, -1) == [b"1.5", b"\x00"]
    assert r.lrange("missing", 0, -1) == []
    assert r.llen("l") == 6
    assert r.llen("missing") == 0
    assert rd.lrange("l", 0, 2) == ["0", "z", "a"]


def test_lpop_rpop(r: Any, rd: Any) -> None:
    assert r.lpop("l") is None
    assert r.rpop("l") is None
    assert r.lpop("l", 2) is None
    r.rpush("l", *"abcdefg")
    assert r.lpop("l") == b"a"
    assert r.rpop("l") == b"g"
    assert r.lpop("l", 2) == [b"b", b"c"]
    assert r.rpop("l", 2) == [b"f", b"e"]
    assert rd.lpop("l", 5) == ["d"]
    assert r.exists("l") == 0
    r.rpush("m", "x")
    assert rd.rpop("m") == "x"


def test_lindex_lset(r: Any) -> None:
    r.rpush("l", "a", "b", "c")
    assert r.lindex("l", 0) == b"a"
    assert r.lindex("l", -1) == b"c"
    assert r.lindex("l", 10) is None
    assert r.lset("l", 1, "B") is True
    assert r.lset("l", -1, 3) is True
    assert r.lrange("l", 0, -1) == [b"a", b"B", b"3"]
    with pytest.raises(ResponseError, match="index out of range"):
        r.lset("l", 10, "x")
    with pytest.raises(ResponseError, match="no such key"):
        r.lset("missing", 0, "x")


def test_lrem_ltrim(r: Any) -> None:
    r.rpush("l", "a", "b", "a", "c", "a", "b")
    assert r.lrem("l", 1, "a") == 1
    assert r.lrange("l", 0, -1) == [b"b", b"a", b"c", b"a", b"b"]
    assert r.lrem("l", -1, "b") == 1
    assert r.lrange("l", 0, -1) == [b"b", b"a", b"c", b"a"]
    assert r.lrem("l", 0, "a") == 2
    assert r.lrange("l", 0, -1) == [b"b", b"c"]
    assert r.lrem("l", 0, "nope") == 0
    r.rpush("t", *range(10))
    assert r.ltrim("t", 2, -3) is True
    assert r.lrange("t", 0, -1) == [str(i).encode() for i in range(2, 8)]
    assert r.ltrim("t", 5, 1) is True
    assert r.exists("t") == 0


def test_blpop_brpop_ready(r: Any, rd: Any) -> None:
    r.rpush("b", "x", "y", "z")
    assert r.blpop("b", timeout=1) == (b"b", b"x")
    assert r.brpop(["nothing", "b"], timeout=1) == (b"b", b"z")
    assert rd.blpop(["b"], 1) == ("b", "y")
    r.rpush("c", "q")
    assert r.brpop("c") == (b"c", b"q")
    r.rpush("c", "w")
    assert r.blpop("c", timeout=None) == (b"c", b"w")


def test_blpop_brpop_timeout(r: Any) -> None:
    start = time.monotonic()
    assert r.blpop("empty", timeout=0.2) is None
    assert r.brpop(["empty", "empty2"], timeout=0.2) is None
    elapsed = time.monotonic() - start
    assert 0.3 <= elapsed < 5


def test_blpop_wakes_on_push(r: Any, redis_url: str) -> None:
    def push_later() -> None:
        time.sleep(0.2)
        other = pyredisclient.RedisClient.from_url(redis_url)
        try:
            other.rpush("wake", "v")
        finally:
            other.close()

    thread = threading.Thread(target=push_later)
    thread.start()
    try:
        assert r.blpop("wake", timeout=5) == (b"wake", b"v")
    finally:
        thread.join(10)


# ---------------------------------------------------------------------------
# Sets
# ---------------------------------------------------------------------------


def test_sadd_srem_smembers(r: Any, rd: Any) -> None:
    assert r.smembers("s") == set()
    assert isinstance(rd.smembers("s"), set)
    assert r.sadd("s", "a", "b", "a", 1) == 3
    assert r.sadd("s", "a") == 0
    assert r.smembers("s") == {b"a", b"b", b"1"}
    assert rd.smembers("s") == {"a", "b", "1"}
    assert r.srem("s", "a", "zz") == 1
    assert r.smembers("s") == {b"b", b"1"}
    assert r.scard("s") == 2
    assert r.scard("missing") == 0


def test_sismember(r: Any) -> None:
    r.sadd("s", "a")
    assert r.sismember("s", "a") == 1
    assert r.sismember("s", "b") == 0
    assert r.sismember("missing", "a") == 0
    assert r.sismember("s", "a")
    assert not r.sismember("s", "b")


def test_spop_srandmember(r: Any, rd: Any) -> None:
    assert r.spop("s") is None
    assert r.srandmember("s") is None
    assert r.srandmember("s", 2) == []
    r.sadd("s", "a", "b", "c")
    member = r.srandmember("s")
    assert member in {b"a", b"b", b"c"}
    some = r.srandmember("s", 2)
    assert isinstance(some, list) and len(some) == 2 and set(some) <= {b"a", b"b", b"c"}
    assert len(r.srandmember("s", -5)) == 5
    popped = r.spop("s")
    assert popped in {b"a", b"b", b"c"}
    rest = r.spop("s", 5)
    assert isinstance(rest, list)
    assert set(rest) | {popped} == {b"a", b"b", b"c"}
    assert r.scard("s") == 0
    rd.sadd("d", "only")
    assert rd.spop("d") == "only"


def test_sinter_sunion_sdiff(r: Any, rd: Any) -> None:
    r.sadd("a", 1, 2, 3)
    r.sadd("b", 2, 3, 4)
    r.sadd("c", 3, 5)
    assert r.sinter("a", "b") == {b"2", b"3"}
    assert r.sinter(["a", "b", "c"]) == {b"3"}
    assert r.sinter("a", "missing") == set()
    assert r.sunion(["a", "b"], "c") == {b"1", b"2", b"3", b"4", b"5"}
    assert r.sunion("missing") == set()
    assert r.sdiff("a", "b") == {b"1"}
    assert r.sdiff(["b", "a"]) == {b"4"}
    assert r.sdiff("a", "a") == set()
    assert rd.sinter("a", "b") == {"2", "3"}
    assert rd.sunion("a") == {"1", "2", "3"}
    assert rd.sdiff(["c", "a"]) == {"5"}


# ---------------------------------------------------------------------------
# Sorted sets
# ---------------------------------------------------------------------------


def test_zadd_basic(r: Any) -> None:
    assert r.zadd("z", {"a": 1, "b": 2.5, b"c": "3"}) == 3
    assert r.zadd("z", {"a": 1, "d": 4}) == 1
    assert r.zadd("z", {"a": 10}, ch=True) == 1
    assert r.zadd("z", {"a": 10}, ch=True) == 0
    assert r.zcard("z") == 4
    assert r.zscore("z", "a") == 10.0


def test_zadd_conditions(r: Any) -> None:
    r.zadd("z", {"a": 5})
    assert r.zadd("z", {"a": 1, "b": 1}, nx=True) == 1
    assert r.zscore("z", "a") == 5.0
    assert r.zadd("z", {"a": 7, "c": 1}, xx=True) == 0
    assert r.zscore("z", "a") == 7.0
    assert r.zscore("z", "c") is None
    assert r.zadd("z", {"a": 3}, gt=True, ch=True) == 0
    assert r.zadd("z", {"a": 9}, gt=True, ch=True) == 1
    assert r.zadd("z", {"a": 12}, lt=True, ch=True) == 0
    assert r.zadd("z", {"a": 2}, lt=True, ch=True) == 1
    assert r.zscore("z", "a") == 2.0


def test_zadd_incr(r: Any, rd: Any) -> None:
    value = r.zadd("z", {"a": 1.5}, incr=True)
    assert value == 1.5 and type(value) is float
    assert r.zadd("z", {"a": 2}, incr=True) == 3.5
    assert r.zadd("z", {"a": 1}, incr=True, nx=True) is None
    assert r.zadd("z", {"b": 1}, incr=True, xx=True) is None
    assert rd.zadd("z", {"a": -0.5}, incr=True) == 3.0


def test_zadd_data_errors(r: Any) -> None:
    for kwargs in (
        {"mapping": {}},
        {"mapping": {"a": 1}, "nx": True, "xx": True},
        {"mapping": {"a": 1}, "gt": True, "lt": True},
        {"mapping": {"a": 1, "b": 2}, "incr": True},
        {"mapping": {"a": 1}, "nx": True, "gt": True},
        {"mapping": {"a": 1}, "nx": True, "lt": True},
    ):
        with pytest.raises(DataError):
            r.zadd("z", **kwargs)
    assert r.exists("z") == 0
    with pytest.raises(ResponseError, match="not a valid float"):
        r.zadd("z", {"a": "notanumber"})


def test_zrem_zscore_zincrby(r: Any, rd: Any) -> None:
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert r.zrem("z", "a", "zz") == 1
    assert r.zrem("z", "a") == 0
    assert r.zscore("z", "a") is None
    assert r.zscore("missing", "a") is None
    score = r.zscore("z", "b")
    assert score == 2.0 and type(score) is float
    assert rd.zscore("z", "c") == 3.0
    incr = r.zincrby("z", 2.5, "b")
    assert incr == 4.5 and type(incr) is float
    assert r.zincrby("z", -1, "new") == -1.0
    assert rd.zincrby("z", 1, "new") == 0.0
    r.zadd("inf", {"m": "+inf"})
    assert r.zscore("inf", "m") == float("inf")


def test_zrange(r: Any, rd: Any) -> None:
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert r.zrange("z", 0, -1) == [b"a", b"b", b"c", b"d"]
    assert r.zrange("z", 1, 2) == [b"b", b"c"]
    assert r.zrange("z", 0, 1, desc=True) == [b"d", b"c"]
    assert r.zrange("z", 0, -1, withscores=True) == [
        (b"a", 1.0),
        (b"b", 2.0),
        (b"c", 3.0),
        (b"d", 4.0),
    ]
    pairs = r.zrange("z", 0, 0, withscores=True)
    assert type(pairs[0]) is tuple and type(pairs[0][1]) is float
    assert r.zrange("z", 0, 1, desc=True, withscores=True) == [(b"d", 4.0), (b"c", 3.0)]
    ints = r.zrange("z", 0, 1, withscores=True, score_cast_func=int)
    assert ints == [(b"a", 1), (b"b", 2)] and type(ints[0][1]) is int
    assert r.zrange("missing", 0, -1) == []
    assert r.zrange("missing", 0, -1, withscores=True) == []
    assert rd.zrange("z", 0, 1, withscores=True) == [("a", 1.0), ("b", 2.0)]
    assert rd.zrange("z", 0, 0, withscores=True, score_cast_func=str) == [("a", "1")]


def test_zrange_byscore_bylex_limit(r: Any) -> None:
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert r.zrange("z", 2, 3, byscore=True) == [b"b", b"c"]
    assert r.zrange("z", "(1", "+inf", byscore=True) == [b"b", b"c", b"d"]
    assert r.zrange("z", "+inf", 3, byscore=True, desc=True) == [b"d", b"c"]
    assert r.zrange("z", 0, 10, byscore=True, offset=1, num=2) == [b"b", b"c"]
    assert r.zrange("z", 0, 10, byscore=True, offset=1, num=2, withscores=True) == [
        (b"b", 2.0),
        (b"c", 3.0),
    ]
    r.zadd("lex", {"a": 0, "b": 0, "c": 0, "d": 0})
    assert r.zrange("lex", "[b", "(d", bylex=True) == [b"b", b"c"]
    assert r.zrange("lex", "-", "+", bylex=True, offset=1, num=1) == [b"b"]
    assert r.zrange("lex", "+", "[c", bylex=True, desc=True) == [b"d", b"c"]
    for kwargs in (
        {"byscore": True, "bylex": True},
        {"offset": 1},
        {"num": 1},
        {"bylex": True, "withscores": True},
    ):
        with pytest.raises(DataError):
            r.zrange("z", 0, 1, **kwargs)
    with pytest.raises(ResponseError, match="LIMIT"):
        r.zrange("z", 0, 1, offset=0, num=1)


def test_zrevrange(r: Any, rd: Any) -> None:
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert r.zrevrange("z", 0, -1) == [b"c", b"b", b"a"]
    assert r.zrevrange("z", 0, 0, withscores=True) == [(b"c", 3.0)]
    assert r.zrevrange("z", 0, 1, withscores=True, score_cast_func=int) == [(b"c", 3), (b"b", 2)]
    assert rd.zrevrange("z", 1, 1) == ["b"]


def test_zrangebyscore(r: Any, rd: Any) -> None:
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert r.zrangebyscore("z", 2, 3) == [b"b", b"c"]
    assert r.zrangebyscore("z", "-inf", "+inf") == [b"a", b"b", b"c", b"d"]
    assert r.zrangebyscore("z", "(1", 3) == [b"b", b"c"]
    assert r.zrangebyscore("z", 1, 4, start=1, num=2) == [b"b", b"c"]
    assert r.zrangebyscore("z", 1, 2, withscores=True) == [(b"a", 1.0), (b"b", 2.0)]
    assert r.zrangebyscore("z", 1, 4, 2, 5, True, int) == [(b"c", 3), (b"d", 4)]
    assert r.zrangebyscore("z", 10, 20) == []
    assert rd.zrangebyscore("z", 4, 4, withscores=True) == [("d", 4.0)]
    with pytest.raises(DataError):
        r.zrangebyscore("z", 1, 2, start=1)
    with pytest.raises(DataError):
        r.zrangebyscore("z", 1, 2, num=1)


def test_zrevrangebyscore(r: Any) -> None:
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert r.zrevrangebyscore("z", 3, 2) == [b"c", b"b"]
    assert r.zrevrangebyscore("z", "+inf", "(2", withscores=True) == [(b"d", 4.0), (b"c", 3.0)]
    assert r.zrevrangebyscore("z", 4, 1, start=1, num=1) == [b"c"]
    with pytest.raises(DataError):
        r.zrevrangebyscore("z", 4, 1, start=1)


def test_zrank_zrevrank_zcard_zcount(r: Any) -> None:
    r.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert r.zrank("z", "a") == 0
    assert r.zrank("z", "c") == 2
    assert r.zrank("z", "zz") is None
    assert r.zrevrank("z", "a") == 2
    assert r.zrevrank("z", "c") == 0
    assert r.zrevrank("z", "zz") is None
    assert r.zcard("z") == 3
    assert r.zcard("missing") == 0
    assert r.zcount("z", 2, 3) == 2
    assert r.zcount("z", "-inf", "+inf") == 3
    assert r.zcount("z", "(1", "(3") == 1


def test_zrank_withscore(r: Any) -> None:
    if server_version(r) < (7, 2, 0):
        pytest.skip("ZRANK WITHSCORE needs Redis 7.2")
    r.zadd("z", {"a": 1.5, "b": 2})
    assert r.zrank("z", "b", withscore=True) == [1, 2.0]
    assert r.zrevrank("z", "b", withscore=True, score_cast_func=int) == [0, 2]
    assert r.zrank("z", "zz", withscore=True) is None


# ---------------------------------------------------------------------------
# Scripting
# ---------------------------------------------------------------------------


def test_eval(r: Any, rd: Any) -> None:
    assert r.eval("return 1", 0) == 1
    assert r.eval("return 'x'", 0) == b"x"
    assert rd.eval("return 'x'", 0) == "x"
    assert r.eval("return {KEYS[1], ARGV[1], ARGV[2]}", 1, "k", "a", 2) == [b"k", b"a", b"2"]
    r.set("k", "v")
    assert r.eval("return redis.call('GET', KEYS[1])", 1, "k") == b"v"
    assert r.eval("return nil", 0) is None
    assert r.eval("return redis.status_reply('FINE')", 0) == b"FINE"
    with pytest.raises(ResponseError, match="boom"):
        r.eval("return redis.error_reply('boom')", 0)
    with pytest.raises(ResponseError):
        r.eval("this is not lua", 0)


def test_script_load_evalsha_exists_flush(r: Any, rd: Any) -> None:
    script = "return ARGV[1] .. KEYS[1]"
    sha = r.script_load(script)
    assert sha == hashlib.sha1(script.encode()).hexdigest()
    assert type(sha) is str
    assert rd.script_load(script) == sha
    assert r.evalsha(sha, 1, "k", "v") == b"vk"
    assert rd.evalsha(sha, 1, "k", "v") == "vk"
    missing = "0" * 40
    assert r.script_exists(sha, missing) == [True, False]
    assert r.script_flush() is True
    assert r.script_exists(sha) == [False]
    with pytest.raises(ResponseError, match="No matching script") as info:
        r.evalsha(sha, 0)
    if hasattr(pyredisclient, "NoScriptError"):
        assert isinstance(info.value, pyredisclient.NoScriptError)
    r.script_load(script)
    assert r.script_flush("ASYNC") is True
    r.script_load(script)
    assert r.script_flush("SYNC") is True
    assert r.script_exists(sha) == [False]
    with pytest.raises(DataError):
        r.script_flush("LATER")


# ---------------------------------------------------------------------------
# Binary safety and encodings
# ---------------------------------------------------------------------------


def test_all_byte_values_as_keys_and_values(r: Any) -> None:
    singles = [bytes([b]) for b in range(256)]
    assert r.set(ALL_BYTES, ALL_BYTES) is True
    assert r.get(ALL_BYTES) == ALL_BYTES
    assert r.mset({b"one:" + s: s for s in singles}) is True
    assert r.mget([b"one:" + s for s in singles]) == singles
    assert r.hset("all:h", ALL_BYTES, ALL_BYTES[::-1]) == 1
    assert r.hset("all:h", mapping={s: s for s in singles}) == 256
    assert r.hget("all:h", ALL_BYTES) == ALL_BYTES[::-1]
    assert r.hgetall("all:h") == {ALL_BYTES: ALL_BYTES[::-1], **{s: s for s in singles}}
    assert r.rpush("all:l", *singles) == 256
    assert r.lrange("all:l", 0, -1) == singles
    assert r.sadd("all:s", *singles) == 256
    assert r.smembers("all:s") == set(singles)
    assert r.zadd("all:z", {s: i for i, s in enumerate(singles)}) == 256
    assert r.zrange("all:z", 0, -1) == singles
    assert ALL_BYTES in r.keys()
    assert r.eval("return ARGV[1]", 0, ALL_BYTES) == ALL_BYTES


def test_nul_bytes_and_crlf(r: Any) -> None:
    values = [b"\x00", b"a\x00b", b"\x00" * 100, b"\r\n", b"$5\r\nhello\r\n", b"*1\r\n:1\r\n"]
    for i, value in enumerate(values):
        key = b"k\x00" + bytes([i])
        assert r.set(key, value) is True
        assert r.get(key) == value
        assert r.strlen(key) == len(value)
    assert r.echo(b"-ERR not an error\r\n") == b"-ERR not an error\r\n"


def test_large_values(r: Any) -> None:
    one_mb = os.urandom(1024 * 1024)
    assert r.set("big", one_mb) is True
    assert r.get("big") == one_mb
    assert r.strlen("big") == len(one_mb)
    several = [os.urandom(256 * 1024) + bytes([i]) for i in range(4)]
    r.rpush("bigl", *several)
    assert r.lrange("bigl", 0, -1) == several
    assert r.echo(one_mb) == one_mb


def test_buffer_argument_types(r: Any) -> None:
    assert r.set(bytearray(b"ba"), bytearray(b"\x00val")) is True
    assert r.get("ba") == b"\x00val"
    assert r.set(memoryview(b"mv"), memoryview(b"xyz")[1:]) is True
    assert r.get(b"mv") == b"yz"
    assert r.rpush("l", bytearray(b"1"), memoryview(b"2")) == 2
    assert r.lrange("l", 0, -1) == [b"1", b"2"]


def test_numbers_as_arguments(r: Any) -> None:
    r.set(1, 2)
    assert r.get("1") == b"2"
    r.set("neg", -17)
    assert r.get("neg") == b"-17"
    r.set("huge", 2**80)
    assert r.get("huge") == str(2**80).encode()
    r.set("f", 0.1)
    assert float(r.get("f")) == 0.1
    r.set("f2", 1e100)
    assert float(r.get("f2")) == 1e100


def test_unicode(r: Any, rd: Any) -> None:
    key, value = "ключ-🔑", "значение-✓-日本語"
    assert r.set(key, value) is True
    assert r.get(key.encode("utf-8")) == value.encode("utf-8")
    assert r.get(key) == value.encode("utf-8")
    assert rd.get(key) == value
    assert r.strlen(key) == len(value.encode("utf-8"))
    assert rd.hset("h", "поле", "знач") == 1
    assert r.hget("h", "поле".encode()) == "знач".encode()
    assert rd.keys("ключ*") == [key]
    assert rd.smembers("nothing") == set()
    rd.sadd("s", "é", "e")
    assert rd.smembers("s") == {"é", "e"}
    rd.zadd("z", {"ü": 1})
    assert rd.zrange("z", 0, -1, withscores=True) == [("ü", 1.0)]


# ---------------------------------------------------------------------------
# DataError for arguments Redis cannot take
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "type_name"),
    [(None, "NoneType"), (True, "bool"), (False, "bool"), (object(), "object"), ([1], "list")],
)
def test_data_error_for_bad_arguments(r: Any, bad: Any, type_name: str) -> None:
    calls: list[Callable[[], Any]] = [
        lambda: r.set("k", bad),
        lambda: r.set(bad, "v"),
        lambda: r.get(bad),
        lambda: r.hset("h", "f", bad),
        lambda: r.rpush("l", "ok", bad),
        lambda: r.mset({"a": bad}),
        lambda: r.zadd("z", {"m": bad}),
        lambda: r.execute_command("SET", "k", bad),
    ]
    for call in calls:
        with pytest.raises(DataError) as info:
            call()
        assert isinstance(info.value, TypeError)
        assert isinstance(info.value, pyredisclient.RedisError)
        assert type_name in str(info.value)
    assert r.exists("k", "h", "l", "a", "z") == 0
    # Nothing was sent: the connection is still in step.
    assert r.ping() is True
    assert r.set("k", "v") is True
    assert r.get("k") == b"v"


def test_hset_value_none_is_data_error(r: Any) -> None:
    with pytest.raises(DataError):
        r.hset("h", "f")
    assert r.exists("h") == 0


# ---------------------------------------------------------------------------
# Pipelines get the same conversions
# ---------------------------------------------------------------------------


def test_pipeline_applies_callbacks(r: Any, rd: Any) -> None:
    if not hasattr(r, "pipeline"):
        pytest.skip("RedisClient.pipeline is not available")
    for client, enc in ((r, str.encode), (rd, str)):
        client.flushdb()
        pipe = client.pipeline()
        expected = []
        for method, args, kwargs, want in PIPELINE_CASES:
            assert getattr(pipe, method)(*args, **kwargs) is pipe, method
            expected.append(want(enc))
        results = pipe.execute()
        info = results.pop(-2)
        assert results == expected[:-2] + expected[-1:]
        assert info["db0"]["keys"] == 5 and info["db0"]["expires"] == 1


def _same(value: Any) -> Callable[[Any], Any]:
    return lambda enc: value


PIPELINE_CASES: list[tuple[str, tuple[Any, ...], dict[str, Any], Callable[[Any], Any]]] = [
    ("ping", (), {}, _same(True)),
    ("set", ("k", "1"), {}, _same(True)),
    ("set", ("k", "x"), {"nx": True}, _same(None)),
    ("set", ("k", "2"), {"get": True}, lambda enc: enc("1")),
    ("get", ("k",), {}, lambda enc: enc("2")),
    ("incrbyfloat", ("f", 2.5), {}, _same(2.5)),
    ("expire", ("f", 100), {}, _same(True)),
    ("persist", ("k",), {}, _same(False)),
    ("hset", ("h",), {"mapping": {"a": 1, "b": 2}}, _same(2)),
    ("hgetall", ("h",), {}, lambda enc: {enc("a"): enc("1"), enc("b"): enc("2")}),
    ("hexists", ("h", "a"), {}, _same(True)),
    ("sadd", ("s", "x", "y"), {}, _same(2)),
    ("smembers", ("s",), {}, lambda enc: {enc("x"), enc("y")}),
    ("zadd", ("z", {"m": 1, "n": 2.5}), {}, _same(2)),
    ("zrange", ("z", 0, -1), {"withscores": True}, lambda enc: [(enc("m"), 1.0), (enc("n"), 2.5)]),
    (
        "zrevrange",
        ("z", 0, 0),
        {"withscores": True, "score_cast_func": int},
        lambda enc: [(enc("n"), 2)],
    ),
    ("zscore", ("z", "n"), {}, _same(2.5)),
    ("mget", ([],), {}, _same([])),
    ("mset", ({"k": "k"},), {}, _same(True)),
    ("time", (), {}, lambda enc: ANY_TIME),
    ("rpush", ("l", "v"), {}, _same(1)),
    ("blpop", ("l",), {"timeout": 1}, lambda enc: (enc("l"), enc("v"))),
    ("scan", (0,), {"match": "k", "count": 1000}, lambda enc: (0, [enc("k")])),
    ("info", ("keyspace",), {}, _same(None)),
    ("flushdb", (), {}, _same(True)),
]


class _AnyTime:
    """Equal to any (int, int) pair, as TIME answers."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, tuple) and len(other) == 2 and all(type(x) is int for x in other)

    def __hash__(self) -> int:
        return 0


ANY_TIME = _AnyTime()


# ---------------------------------------------------------------------------
# Without a server: argument tuples and reply callbacks
# ---------------------------------------------------------------------------


class Recorder(CoreCommands):
    """A host that records what would be sent and answers with a canned reply."""

    def __init__(self, reply: Any = None) -> None:
        self.reply = reply
        self.sent: list[tuple[Any, ...]] = []
        self.callbacks: list[Any] = []

    def _run(self, args: tuple[Any, ...], callback: Any = None) -> Any:
        self.sent.append(args)
        self.callbacks.append(callback)
        return callback(self.reply) if callback else self.reply


def sent(call: Callable[[Recorder], Any], reply: Any = None) -> tuple[Any, ...]:
    host = Recorder(reply)
    call(host)
    assert len(host.sent) == 1
    return host.sent[0]


def test_args_strings() -> None:
    assert sent(lambda h: h.get("k")) == ("GET", "k")
    assert sent(lambda h: h.set("k", "v")) == ("SET", "k", "v")
    at = datetime.datetime.fromtimestamp(1_700_000_000)
    assert sent(lambda h: h.set("k", "v", nx=True, get=True, ex=5)) == (
        "SET",
        "k",
        "v",
        "NX",
        "GET",
        "EX",
        5,
    )
    assert sent(lambda h: h.set("k", "v", xx=True, keepttl=True)) == (
        "SET",
        "k",
        "v",
        "XX",
        "KEEPTTL",
    )
    assert sent(lambda h: h.set("k", "v", px=datetime.timedelta(seconds=1.5))) == (
        "SET",
        "k",
        "v",
        "PX",
        1500,
    )
    assert sent(lambda h: h.set("k", "v", exat=at)) == ("SET", "k", "v", "EXAT", 1_700_000_000)
    assert sent(lambda h: h.set("k", "v", pxat=at)) == (
        "SET",
        "k",
        "v",
        "PXAT",
        1_700_000_000_000,
    )
    assert sent(lambda h: h.getex("k", persist=True)) == ("GETEX", "k", "PERSIST")
    assert sent(lambda h: h.getex("k", ex=datetime.timedelta(minutes=1))) == (
        "GETEX",
        "k",
        "EX",
        60,
    )
    assert sent(lambda h: h.incr("k")) == ("INCRBY", "k", 1)
    assert sent(lambda h: h.decr("k", 3)) == ("DECRBY", "k", 3)
    assert sent(lambda h: h.setex("k", datetime.timedelta(hours=1), "v")) == (
        "SETEX",
        "k",
        3600,
        "v",
    )
    assert sent(lambda h: h.psetex("k", datetime.timedelta(seconds=2), "v")) == (
        "PSETEX",
        "k",
        2000,
        "v",
    )
    assert sent(lambda h: h.mset({"a": 1, "b": 2})) == ("MSET", "a", 1, "b", 2)
    assert sent(lambda h: h.mget(["a", "b"], "c")) == ("MGET", "a", "b", "c")
    assert sent(lambda h: h.mget(b"a")) == ("MGET", b"a")


def test_args_keys_and_expiry() -> None:
    assert sent(lambda h: h.expire("k", 5, nx=True)) == ("EXPIRE", "k", 5, "NX")
    assert sent(lambda h: h.expire("k", 5, xx=True, gt=True)) == ("EXPIRE", "k", 5, "XX", "GT")
    assert sent(lambda h: h.pexpire("k", datetime.timedelta(seconds=2), lt=True)) == (
        "PEXPIRE",
        "k",
        2000,
        "LT",
    )
    at = datetime.datetime.fromtimestamp(1_700_000_000)
    assert sent(lambda h: h.expireat("k", at)) == ("EXPIREAT", "k", 1_700_000_000)
    assert sent(lambda h: h.pexpireat("k", at)) == ("PEXPIREAT", "k", 1_700_000_000_000)
    assert sent(lambda h: h.scan(), [b"0", []]) == ("SCAN", 0)
    assert sent(lambda h: h.scan(7, match="a*", count=10, _type="hash"), [b"0", []]) == (
        "SCAN",
        7,
        "MATCH",
        "a*",
        "COUNT",
        10,
        "TYPE",
        "hash",
    )
    assert sent(lambda h: h.keys()) == ("KEYS", "*")
    assert sent(lambda h: h.flushdb(asynchronous=True), b"OK") == ("FLUSHDB", "ASYNC")
    assert sent(lambda h: h.flushall(), b"OK") == ("FLUSHALL",)
    assert sent(lambda h: h.blpop(["a", "b"], timeout=None)) == ("BLPOP", "a", "b", 0)
    assert sent(lambda h: h.brpop("a", 2.5)) == ("BRPOP", "a", 2.5)
    assert sent(lambda h: h.info(), b"") == ("INFO",)
    assert sent(lambda h: h.info("server", "clients"), b"") == ("INFO", "server", "clients")
    assert sent(lambda h: h.client_setname("n"), b"OK") == ("CLIENT", "SETNAME", "n")
    assert sent(lambda h: h.client_list("normal", [1, 2]), b"") == (
        "CLIENT",
        "LIST",
        "TYPE",
        "normal",
        "ID",
        1,
        2,
    )
    assert sent(lambda h: h.memory_usage("k", samples=0)) == ("MEMORY", "USAGE", "k", "SAMPLES", 0)
    assert sent(lambda h: h.config_get(), []) == ("CONFIG", "GET", "*")
    assert sent(lambda h: h.script_flush("ASYNC"), b"OK") == ("SCRIPT", "FLUSH", "ASYNC")


def test_args_hashes_and_zsets() -> None:
    assert sent(lambda h: h.hset("h", "k", "v", mapping={"m": 1}, items=["i", 2])) == (
        "HSET",
        "h",
        "i",
        2,
        "k",
        "v",
        "m",
        1,
    )
    assert sent(lambda h: h.hscan("h", 3, match="a*", count=5, no_values=True), [b"0", []]) == (
        "HSCAN",
        "h",
        3,
        "MATCH",
        "a*",
        "COUNT",
        5,
        "NOVALUES",
    )
    assert sent(lambda h: h.hmget("h", ["a", "b"], "c")) == ("HMGET", "h", "a", "b", "c")
    assert sent(lambda h: h.zadd("z", {"a": 1, "b": 2}, xx=True, ch=True, gt=True)) == (
        "ZADD",
        "z",
        "XX",
        "CH",
        "GT",
        1,
        "a",
        2,
        "b",
    )
    assert sent(lambda h: h.zadd("z", {"a": 1}, nx=True, incr=True)) == (
        "ZADD",
        "z",
        "NX",
        "INCR",
        1,
        "a",
    )
    assert sent(lambda h: h.zrange("z", 0, 1, desc=True)) == ("ZREVRANGE", "z", 0, 1)
    assert sent(
        lambda h: h.zrange("z", 0, 9, desc=True, byscore=True, offset=1, num=2, withscores=True)
    ) == ("ZRANGE", "z", 0, 9, "BYSCORE", "REV", "LIMIT", 1, 2, "WITHSCORES")
    assert sent(lambda h: h.zrange("z", "[a", "[b", bylex=True)) == (
        "ZRANGE",
        "z",
        "[a",
        "[b",
        "BYLEX",
    )
    assert sent(lambda h: h.zrangebyscore("z", 1, 2, 0, 5, True)) == (
        "ZRANGEBYSCORE",
        "z",
        1,
        2,
        "LIMIT",
        0,
        5,
        "WITHSCORES",
    )
    assert sent(lambda h: h.zrevrangebyscore("z", 2, 1)) == ("ZREVRANGEBYSCORE", "z", 2, 1)
    assert sent(lambda h: h.zrank("z", "m", withscore=True)) == ("ZRANK", "z", "m", "WITHSCORE")
    assert sent(lambda h: h.zrevrank("z", "m")) == ("ZREVRANK", "z", "m")


def test_mget_empty_keeps_one_reply_per_call() -> None:
    host = Recorder(b"PONG")
    assert host.mget([]) == []
    assert host.sent == [("PING",)]


def test_hscan_no_values_callback() -> None:
    assert Recorder([b"0", [b"a", b"b"]]).hscan("h", no_values=True) == (0, [b"a", b"b"])
    assert Recorder([b"0", None]).hscan("h", no_values=True) == (0, [])
    assert Recorder(["5", ["a", "1"]]).hscan("h") == (5, {"a": "1"})


def test_hscan_iter_no_values() -> None:
    class Pages(CoreCommands):
        def __init__(self) -> None:
            self.pages = [[b"4", [b"a"]], [b"0", [b"b"]]]
            self.cursors: list[Any] = []

        def _run(self, args: tuple[Any, ...], callback: Any = None) -> Any:
            self.cursors.append(args[2])
            return callback(self.pages.pop(0))

    host = Pages()
    assert list(host.hscan_iter("h", no_values=True)) == [b"a", b"b"]
    assert host.cursors == [0, 4]


def test_callbacks_accept_bytes_and_str() -> None:
    for ok, pong in ((b"OK", b"PONG"), ("OK", "PONG")):
        assert Recorder(pong).ping() is True
        assert Recorder(ok).set("k", "v") is True
        assert Recorder(None).set("k", "v", nx=True) is None
        assert Recorder(ok).rename("a", "b") is True
        assert Recorder(ok).mset({"a": 1}) is True
        assert Recorder(ok).lset("l", 0, "v") is True
        assert Recorder(ok).ltrim("l", 0, 1) is True
        assert Recorder(ok).flushdb() is True
        assert Recorder(ok).config_set("a", "b") is True
        assert Recorder(ok).script_flush() is True
    assert Recorder(b"QUEUED").ping() is False
    assert Recorder("1.5").incrbyfloat("k") == 1.5
    assert Recorder(b"1.5").hincrbyfloat("h", "f") == 1.5
    assert Recorder(["1", "2"]).time() == (1, 2)
    assert Recorder([b"a", b"1", b"b", b"2"]).hgetall("h") == {b"a": b"1", b"b": b"2"}
    assert Recorder(["a", "1"]).hgetall("h") == {"a": "1"}
    assert Recorder([]).hgetall("h") == {}
    assert Recorder(None).blpop("l", 1) is None
    assert Recorder(["l", "v"]).brpop("l", 1) == ("l", "v")
    assert Recorder([1, 0]).script_exists("a", "b") == [True, False]
    assert Recorder(b"abc").script_load("return 1") == "abc"
    assert Recorder("abc").script_load("return 1") == "abc"
    assert Recorder(None).client_getname() is None
    assert Recorder([b"a", b"1", b"b", None]).config_get() == {"a": "1", "b": None}
    assert Recorder(["a", "x"]).config_get() == {"a": "x"}
    assert Recorder(b"3").zadd("z", {"a": 1}) == 3
    assert Recorder(None).zadd("z", {"a": 1}, incr=True, nx=True) is None
    assert Recorder("2.5").zadd("z", {"a": 1}, incr=True) == 2.5


def test_score_cast_func_fallback() -> None:
    reply = [b"m", b"1.7732526297292595e+18", b"n", b"2"]
    assert Recorder(reply).zrange("z", 0, -1, withscores=True, score_cast_func=int) == [
        (b"m", 1773252629729259520),
        (b"n", 2),
    ]
    assert Recorder(reply).zrange("z", 0, -1, withscores=True) == [
        (b"m", 1.7732526297292595e18),
        (b"n", 2.0),
    ]
    assert Recorder(["m", "1.5"]).zrange("z", 0, -1, withscores=True, score_cast_func=str) == [
        ("m", "1.5")
    ]
    assert Recorder([]).zrange("z", 0, -1, withscores=True) == []
    assert Recorder([2, b"1.5"]).zrank("z", "m", withscore=True) == [2, 1.5]
    assert Recorder([2, b"1.5"]).zrevrank("z", "m", withscore=True, score_cast_func=int) == [2, 1]
    assert Recorder(None).zrank("z", "m", withscore=True) is None


INFO_TEXT = (
    "# Server\r\n"
    "redis_version:7.0.15\r\n"
    "redis_git_sha1:00000000\r\n"
    "tcp_port:6379\r\n"
    "uptime_in_days:0\r\n"
    "mem_fragmentation_ratio:1.25\r\n"
    "executable:/usr/bin/redis-server\r\n"
    "config_file:\r\n"
    "rdb_last_bgsave_status:ok\r\n"
    "maxmemory_human:0B\r\n"
    "negative:-3\r\n"
    "io_threads_active:0\r\n"
    "\r\n"
    "# Keyspace\r\n"
    "db0:keys=3,expires=1,avg_ttl=1234\r\n"
    "db15:keys=1,expires=0,avg_ttl=0\r\n"
    "cmdstat_set:calls=5,usec=12,usec_per_call=2.40,rejected_calls=0,failed_calls=0\r\n"
    "cmdstat_host:calls=1,usec=3,usec_per_call=3.00\r\n"
    "errorstat_ERR:count=2\r\n"
    "slave0:ip=10.0.0.1,port=6380,state=online,offset=100,lag=0\r\n"
    "module:name=search,ver=20000,api=1,filters=0,usedby=[],using=[],options=[]\r\n"
    "module:name=json,ver=10000,api=1,filters=0,usedby=[],using=[],options=[]\r\n"
    "listy:a,b,1\r\n"
    "flagish:a=1,lonely,b=x=y\r\n"
    "url:redis://h:1\r\n"
    "no colon here\r\n"
)


def test_info_parser_values() -> None:
    info = Recorder(INFO_TEXT.encode()).info()
    assert info["redis_version"] == "7.0.15"
    assert info["redis_git_sha1"] == 0
    assert info["tcp_port"] == 6379
    assert info["mem_fragmentation_ratio"] == 1.25
    assert info["executable"] == "/usr/bin/redis-server"
    assert info["config_file"] == ""
    assert info["rdb_last_bgsave_status"] == "ok"
    assert info["maxmemory_human"] == "0B"
    assert info["negative"] == -3
    assert info["db0"] == {"keys": 3, "expires": 1, "avg_ttl": 1234}
    assert info["db15"] == {"keys": 1, "expires": 0, "avg_ttl": 0}
    assert info["cmdstat_set"]["usec_per_call"] == 2.4
    assert info["cmdstat_host"] == {"calls": 1, "usec": 3, "usec_per_call": 3.0}
    assert info["errorstat_ERR"] == {"count": 2}
    assert info["slave0"]["ip"] == "10.0.0.1" and info["slave0"]["port"] == 6380
    assert [m["name"] for m in info["modules"]] == ["search", "json"]
    assert info["listy"] == ["a", "b", 1]
    assert info["flagish"] == {"a": 1, "lonely": True, "b=x": "y"}
    assert info["url"] == "redis://h:1"
    assert info["__raw__"] == ["no colon here"]
    assert Recorder(INFO_TEXT).info() == info
    assert Recorder(b"").info() == {}


def test_info_parser_matches_redis_py() -> None:
    helpers = pytest.importorskip("redis._parsers.helpers")
    assert Recorder(INFO_TEXT.encode()).info() == helpers.parse_info(INFO_TEXT.encode())
    odd = "a:1.2.3\nb:1e5\nc:.5\nd:inf\ne:,,\nf:=\ng:x=\nh:0x10\ni: 7\nj:\xff\n"
    assert Recorder(odd).info() == helpers.parse_info(odd)
    raw = b"k:\xff\xfe\r\nk2:v\r\n"
    assert Recorder(raw).info() == helpers.parse_info(raw)


def test_client_list_parser_matches_redis_py() -> None:
    helpers = pytest.importorskip("redis._parsers.helpers")
    text = (
        "id=3 addr=127.0.0.1:5000 laddr=127.0.0.1:6379 fd=8 name= age=0 flags=N cmd=client|list\n"
        "id=4 addr=/tmp/redis sock/redis.sock:0 fd=9 name=x=y age=1 flags=U cmd=get\n"
    )
    expected = helpers.parse_client_list(text.encode())
    assert Recorder(text.encode()).client_list() == expected
    assert Recorder(text).client_list() == expected
    assert expected[1]["addr"] == "/tmp/redis sock/redis.sock:0"
    assert expected[1]["name"] == "x=y"


def test_data_errors_are_raised_before_sending() -> None:
    host = Recorder()
    for call in (
        lambda: host.set("k", "v", ex=1, pxat=2),
        lambda: host.getex("k", exat=1, pxat=1),
        lambda: host.zadd("z", {}),
        lambda: host.zrange("z", 0, 1, offset=1),
        lambda: host.zrangebyscore("z", 0, 1, num=1),
        lambda: host.hset("h"),
        lambda: host.script_flush("NOW"),
        lambda: host.client_list(_type="nobody"),
    ):
        with pytest.raises(DataError):
            call()
    assert host.sent == []


# Sample arguments for calling every public method on a host whose _run
# returns a sentinel: each method must hand back exactly what _run returns,
# which is what keeps pipelines (whose _run returns the pipeline) working.
SAMPLE_ARGS: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    "blpop": (("l",), {}),
    "brpop": (("l",), {}),
    "client_list": ((), {}),
    "client_setname": (("n",), {}),
    "config_set": (("a", "b"), {}),
    "echo": (("v",), {}),
    "eval": (("return 1", 0), {}),
    "evalsha": (("0" * 40, 0), {}),
    "expire": (("k", 1), {}),
    "expireat": (("k", 1), {}),
    "getset": (("k", "v"), {}),
    "hdel": (("h", "f"), {}),
    "hexists": (("h", "f"), {}),
    "hget": (("h", "f"), {}),
    "hincrby": (("h", "f"), {}),
    "hincrbyfloat": (("h", "f"), {}),
    "hmget": (("h", ["f"]), {}),
    "hset": (("h", "f", "v"), {}),
    "hsetnx": (("h", "f", "v"), {}),
    "lindex": (("l", 0), {}),
    "lrange": (("l", 0, 1), {}),
    "lrem": (("l", 0, "v"), {}),
    "lset": (("l", 0, "v"), {}),
    "ltrim": (("l", 0, 1), {}),
    "mget": ((["a"],), {}),
    "mget_json": ((["a"],), {}),
    "mset": (({"a": 1},), {}),
    "mset_json": (({"a": [1]},), {}),
    "msetnx": (({"a": 1},), {}),
    "object": (("encoding", "k"), {}),
    "pexpire": (("k", 1), {}),
    "pexpireat": (("k", 1), {}),
    "psetex": (("k", 1, "v"), {}),
    "publish": (("c", "m"), {}),
    "rename": (("a", "b"), {}),
    "sdiff": (("a",), {}),
    "set": (("k", "v"), {}),
    "set_json": (("k", {"v": 1}), {"ex": 5, "nx": True}),
    "setex": (("k", 1, "v"), {}),
    "setnx": (("k", "v"), {}),
    "sinter": (("a",), {}),
    "sismember": (("s", "m"), {}),
    "sunion": (("a",), {}),
    "zadd": (("z", {"m": 1}), {}),
    "zcount": (("z", 0, 1), {}),
    "zincrby": (("z", 1, "m"), {}),
    "zrange": (("z", 0, 1), {}),
    "zrangebyscore": (("z", 0, 1), {}),
    "zrank": (("z", "m"), {}),
    "zrevrange": (("z", 0, 1), {}),
    "zrevrangebyscore": (("z", 1, 0), {}),
    "zrevrank": (("z", "m"), {}),
    "zscore": (("z", "m"), {}),
}
ONE_KEY = {
    "append": 2,
    "decr": 1,
    "decrby": 1,
    "delete": 1,
    "exists": 1,
    "get": 1,
    "get_json": 1,
    "getdel": 1,
    "getex": 1,
    "hgetall": 1,
    "hkeys": 1,
    "hlen": 1,
    "hscan": 1,
    "hvals": 1,
    "incr": 1,
    "incrby": 1,
    "incrbyfloat": 1,
    "llen": 1,
    "lpop": 1,
    "lpush": 2,
    "memory_usage": 1,
    "persist": 1,
    "pttl": 1,
    "rpop": 1,
    "rpush": 2,
    "sadd": 2,
    "script_load": 1,
    "scard": 1,
    "smembers": 1,
    "spop": 1,
    "srandmember": 1,
    "srem": 2,
    "strlen": 1,
    "ttl": 1,
    "type": 1,
    "unlink": 1,
    "zcard": 1,
    "zrem": 2,
}
GENERATORS = {"scan_iter", "hscan_iter"}
# issue 15b's families (scripting, functions, server, acl)
SAMPLE_ARGS.update(
    {
        "eval_ro": (("return 1", 0), {}),
        "evalsha_ro": (("0" * 40, 0), {}),
        "fcall": (("f", 0), {}),
        "fcall_ro": (("f", 0), {}),
        "acl_dryrun": (("u", "get", "k"), {}),
        "acl_getuser": (("u",), {}),
        "acl_setuser": (("u",), {"passwords": ["+pw"], "keys": ["k"], "commands": ["+get"]}),
        "auth": (("pw", "user"), {}),
        "client_kill": (("1.2.3.4:5",), {}),
        "client_kill_filter": ((), {"_id": "1", "skipme": True}),
        "client_no_evict": (("ON",), {}),
        "client_no_touch": (("ON",), {}),
        "client_pause": ((10,), {"all": False}),
        "client_reply": (("ON",), {}),
        "client_unblock": ((1,), {"error": True}),
        "debug_object": (("k",), {}),
        "latency_graph": (("command",), {}),
        "latency_history": (("command",), {}),
        "migrate": (("h", 1, ["k"], 0, 10), {"copy": True, "replace": True, "auth": "pw"}),
        "module_load": (("/m.so",), {}),
        "module_loadex": (("/m.so",), {"options": ["a", "b"], "args": ["c"]}),
        "module_unload": (("m",), {}),
        "psync": (("id", 0), {}),
        "select": ((1,), {}),
        "swapdb": ((0, 1), {}),
        "wait": ((0, 10), {}),
    }
)
ONE_KEY.update({"function_load": 1, "function_delete": 1, "function_restore": 1})


def family_samples() -> dict[str, tuple[tuple[Any, ...], dict[str, Any]]]:
    """The first call of each method in the family scripts (tests/test_cmd_*.py)."""
    from cmd_surface import Call

    samples: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
    for path in sorted(Path(__file__).parent.glob("test_cmd_*.py")):
        for call in getattr(importlib.import_module(path.stem), "SCRIPT", ()):
            if isinstance(call, Call):
                samples.setdefault(call.method, (call.args, call.kwargs))
    return samples


SAMPLE_ARGS = {**family_samples(), **SAMPLE_ARGS}


def public_methods() -> list[str]:
    return sorted(
        name
        for name, value in inspect.getmembers(CoreCommands, inspect.isfunction)
        if not name.startswith("_")
    )


@pytest.mark.parametrize("name", public_methods())
def test_methods_return_run_result_untouched(name: str) -> None:
    if name in GENERATORS:
        assert inspect.isgeneratorfunction(getattr(CoreCommands, name))
        return
    sentinel = object()

    class Queue(CoreCommands):
        def __init__(self) -> None:
            self.queued: list[tuple[Any, ...]] = []

        def _run(self, args: tuple[Any, ...], callback: Any = None) -> Any:
            self.queued.append(args)
            return sentinel

    if name in SAMPLE_ARGS:
        args, kwargs = SAMPLE_ARGS[name]
    else:
        args, kwargs = ("k", "v")[: ONE_KEY.get(name, 0)], {}
    host = Queue()
    assert getattr(host, name)(*args, **kwargs) is sentinel
    assert len(host.queued) == 1
    assert all(isinstance(a, (str, bytes, int, float)) for a in host.queued[0])
