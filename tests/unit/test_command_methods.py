"""Command methods without a server: the argument tuples they send and the reply
callbacks they apply, on a fake host whose _run records; and every public method
hands back what _run returns (which keeps pipelines chaining).
"""

from __future__ import annotations

import datetime
import importlib
import inspect
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

from pyredisclient import DataError
from pyredisclient.commands import CoreCommands

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


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda h: h.mset(b"k"), "mapping must be a mapping \\(a dict\\), not bytes"),
        (lambda h: h.msetnx(["k", "v"]), "not list"),
        (lambda h: h.hset("h", mapping=[("f", 1)]), "not list"),
        (lambda h: h.zadd("z", 1.5), "ZADD's mapping must be a mapping"),
        (lambda h: h.zunion(["a"], aggregate=1), "aggregate must be a string, not int"),
        (lambda h: h.zinterstore("d", ["a"], aggregate=None or 2.0), "not float"),
        (lambda h: h.bitfield("b").overflow(None), "overflow must be a string"),
        (
            lambda h: h.geosearch("g", longitude=1, latitude=2, radius=1, sort=3),
            "sort must be a string",
        ),
        (
            lambda h: h.geosearch("g", longitude=1, latitude=2, radius=1, unit=1),
            "unit must be a string",
        ),
        (lambda h: h.mset_json(["k", 1]), "not list"),
    ],
)
def test_wrong_argument_types_are_data_errors(
    call: Callable[[Recorder], Any], message: str
) -> None:
    # Found by calling every command method with odd arguments: these were
    # AttributeErrors ('bytes' object has no attribute 'items') from inside the method.
    host = Recorder()
    with pytest.raises(DataError, match=message):
        call(host)
    assert host.sent == []
    # The same words as text or bytes still go.
    assert sent(lambda h: h.zunion(["a"], aggregate=b"max"))[-2:] == ("AGGREGATE", b"max")
    assert sent(lambda h: h.mset({"k": "v"})) == ("MSET", "k", "v")


# Sample arguments for calling every public method on a host whose _run
# returns a sentinel: each method must hand back exactly what _run returns,
# which is what keeps pipelines (whose _run returns the pipeline) working.
SAMPLE_ARGS: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    "blpop": (("l",), {}),
    "brpop": (("l",), {}),
    "client_list": ((), {}),
    "client_setname": (("n",), {}),
    "client_setinfo": (("LIB-NAME", "n"), {}),
    "waitaof": ((0, 0, 10), {}),
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
    "spublish": (("c", "m"), {}),
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
        "cluster": (("info",), {}),
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
    """The first call of each method in the family scripts (tests/integration/test_cmd_*.py)."""
    # The scripts live with the integration tests; they only build calls here.
    scripts = Path(__file__).resolve().parents[1] / "integration"
    if str(scripts) not in sys.path:
        sys.path.insert(0, str(scripts))
    from cmd_surface import Call

    samples: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {}
    for path in sorted(scripts.glob("test_cmd_*.py")):
        for call in getattr(importlib.import_module(path.stem), "SCRIPT", ()):
            if isinstance(call, Call):
                samples.setdefault(call.method, (call.args, call.kwargs))
    return samples


SAMPLE_ARGS = {**family_samples(), **SAMPLE_ARGS}


def public_methods() -> list[str]:
    # The family tests (tests/integration/test_cmd_*.py written with cmdcheck) run each
    # of their methods through both pipelines, which checks the same thing: those are
    # left to them.
    scripts = Path(__file__).resolve().parents[1] / "integration"
    family_tests = "".join(p.read_text(encoding="utf-8") for p in scripts.glob("test_cmd_*.py"))
    return sorted(
        name
        for name, value in inspect.getmembers(CoreCommands, inspect.isroutine)
        if not name.startswith("_")
        and f'c("{name}"' not in family_tests
        and f"c.{name}(" not in family_tests
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
