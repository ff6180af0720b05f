"""Command methods of RedisClient (pyredisclient.commands) against a real server:
connection and server, strings, keys.

Every method is called with explicit expected values, in bytes mode and with
decode_responses=True (the r and rd fixtures of conftest.py), including error replies.
test_commands_families.py covers hashes, lists, sets, sorted sets, scripting, binary
safety and DataError; tests/unit/test_command_methods.py checks the argument tuples
and reply callbacks without a server; test_commands_compat.py compares the same calls
with redis-py.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

import pytest

from pyredisclient import DataError, ResponseError

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
