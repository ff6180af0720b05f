"""Command methods against a real server: hashes, lists, sets, sorted sets,
scripting, binary safety and encodings, DataError for arguments Redis cannot take,
and the same conversions in pipelines (test_commands.py has the rest).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from typing import Any, Callable

import pytest

import pyredisclient
from pyredisclient import DataError, ResponseError

ALL_BYTES = bytes(range(256))


def server_version(r: Any) -> tuple[int, ...]:
    return tuple(int(x) for x in r.info("server")["redis_version"].split(".")[:3])


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
