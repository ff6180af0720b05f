"""The key-prefix isolation cases and their server (for test_keyprefix.py and
test_keyprefix_views.py): the data set, the decoys, one case per supported command,
and the environment (a server with an ACL user limited to ``t:*``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Set, Tuple

import pytest

from pyredisclient import RedisClient, RedisError
from pyredisclient.keyprefix import (
    COMMANDS,
    DATABASES,
    PASS,
    SCRIPTS,
    SERVER_INFO,
    SUB,
    KeyPrefixer,
    KeyPrefixError,
)
from pyredisclient.testing import RedisServer, redis_server_available

P = "t:"
PB = b"t:"
TENANT_PASSWORD = "tenant-pw-0123"
GET_SCRIPT = "return redis.call('GET', KEYS[1])"
COPY_SCRIPT = "redis.call('SET', KEYS[2], ARGV[1]); return redis.call('GET', KEYS[1])"
LIBRARY = """#!lua name=prefixlib
redis.register_function('kget', function(keys, args) return redis.call('GET', keys[1]) end)
redis.register_function{function_name='kget_ro', flags={'no-writes'},
  callback=function(keys, args) return redis.call('GET', keys[1]) end}
"""

# -- the data set ---------------------------------------------------------------------

# Written through the client under test (so through the prefix) and, unprefixed, into the
# reference database.
NORMAL: List[Tuple[Any, ...]] = [
    ("SET", "s1", "hello"),
    ("SET", "s2", "help"),
    ("SET", "n1", "10"),
    ("SET", "f1", "1.5"),
    ("SET", "b1", b"\x0f\xf0"),
    ("RPUSH", "l1", "a", "b", "c"),
    ("RPUSH", "l2", "x"),
    ("RPUSH", "l3", "3", "1", "2"),
    ("MSET", "w_1", "30", "w_2", "10", "w_3", "20"),
    ("HSET", "o_1", "f", "one"),
    ("HSET", "o_2", "f", "two"),
    ("HSET", "o_3", "f", "three"),
    ("SADD", "set1", "a", "b", "c"),
    ("SADD", "set2", "b", "c", "d"),
    ("ZADD", "z1", 1, "a", 2, "b", 3, "c"),
    ("ZADD", "z2", 10, "b", 20, "d"),
    ("ZADD", "zl", 0, "a", 0, "b", 0, "c"),
    ("HSET", "h1", "f1", "v1", "f2", "2"),
    ("XADD", "x1", "1-1", "f", "v1"),
    ("XADD", "x1", "2-1", "f", "v2"),
    ("XGROUP", "CREATE", "x1", "grp", "0"),
    ("GEOADD", "g1", 13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania"),
    ("PFADD", "p1", "a", "b"),
    ("PFADD", "p2", "c"),
]

# Planted without the prefix: the same names, same types, other contents (all marked
# DECOY), and sizes that differ, so that a command that escaped the prefix returns or
# changes something visible. Names the cases only create get a decoy too.
DECOYS: List[Tuple[Any, ...]] = [
    ("MSET", "s1", "DECOY-s1", "s2", "DECOY-s2", "n1", "DECOY", "f1", "DECOY", "b1", "DECOY"),
    ("MSET", "s3", "DECOY", "s4", "DECOY", "s9", "DECOY", "g9", "DECOY", "p9", "DECOY"),
    ("MSET", "w_1", "1", "w_2", "2", "w_3", "3", "h9", "DECOY", "x9", "DECOY", "z9", "DECOY"),
    ("RPUSH", "l1", "DECOY", "DECOY", "DECOY", "DECOY", "DECOY"),
    ("RPUSH", "l2", "DECOY", "DECOY"),
    ("RPUSH", "l3", "DECOY", "DECOY"),
    ("RPUSH", "l9", "DECOY", "DECOY", "DECOY"),
    ("HSET", "o_1", "f", "DECOY"),
    ("HSET", "o_2", "f", "DECOY"),
    ("HSET", "o_3", "f", "DECOY"),
    ("SADD", "set1", "DECOY", "DECOY2"),
    ("SADD", "set2", "DECOY"),
    ("SADD", "set9", "DECOY"),
    ("ZADD", "z1", 5, "DECOY", 6, "DECOY2"),
    ("ZADD", "z2", 1, "DECOY"),
    ("ZADD", "zl", 0, "DECOY"),
    ("HSET", "h1", "f1", "DECOY", "f", "DECOY", "f9", "DECOY"),
    ("XADD", "x1", "9-1", "f", "DECOY"),
    ("XGROUP", "CREATE", "x1", "grp", "0"),
    ("GEOADD", "g1", 13.5, 38.0, "DECOY"),
    ("PFADD", "p1", "DECOY1", "DECOY2", "DECOY3", "DECOY4"),
    ("PFADD", "p2", "DECOY1", "DECOY2", "DECOY3"),
]

# -- cases ----------------------------------------------------------------------------

Fn = Callable[[Any, "Ctx"], Any]


@dataclass
class Ctx:
    """Values the cases need that come from the server (script SHAs, DUMP payloads)."""

    payload: bytes = b""
    sha_get: str = ""
    port: int = 0


EQ = "eq"
SORTED = "sorted"
SKIP = "skip"


@dataclass
class Case:
    names: Tuple[str, ...]  # the commands it exercises, as supported_commands() names them
    fn: Fn
    cmp: Any = EQ  # EQ, SORTED, SKIP or a normalising function
    acl: bool = True  # also run as the ACL user limited to t:*
    variant: str = ""
    allow: Tuple[str, ...] = ()  # the key_prefix_allow categories the case needs

    @property
    def id(self) -> str:
        label = "+".join(self.names).replace(" ", "_")
        return f"{label}-{self.variant}" if self.variant else label


def C(names: str, fn: Fn, cmp: Any = EQ, *, acl: bool = True, v: str = "", allow: str = "") -> Case:
    return Case(tuple(names.split("+")), fn, cmp, acl, v, tuple(allow.split()))


def x(*args: Any) -> Fn:
    """A case that sends ``args`` with execute_command."""
    return lambda c, ctx: c.execute_command(*args)


def m(method: str, *args: Any, **kwargs: Any) -> Fn:
    """A case that calls the client method ``method``."""
    return lambda c, ctx: getattr(c, method)(*args, **kwargs)


def seq(*fns: Fn) -> Fn:
    """A case made of several calls; the result is the list of their results."""
    return lambda c, ctx: [fn(c, ctx) for fn in fns]


def pipe(*calls: Tuple[Any, ...], transaction: bool = False) -> Fn:
    """A case that queues ``calls`` (execute_command argument tuples) in one pipeline."""

    def run(c: Any, ctx: Ctx) -> Any:
        p = c.pipeline(transaction=transaction)
        for args in calls:
            p.execute_command(*args)
        return p.execute(raise_on_error=False)

    return run


def migrate(key: str, *rest: Any) -> Fn:
    """MIGRATE to this same server's database 2 (where MOVE and COPY ... DB 2 land)."""

    def run(c: Any, ctx: Ctx) -> Any:
        return c.execute_command("MIGRATE", "127.0.0.1", ctx.port, key, 2, 5000, *rest)

    return run


def watching(c: Any, *calls: Tuple[Any, ...]) -> Any:
    """WATCH s1 s2 on a pipeline, then ``calls`` at once on its pinned connection."""
    with c.pipeline() as p:
        p.watch("s1", "s2")
        return [p.execute_command(*args) for args in calls]


def scan_sorted(reply: Any) -> Any:
    cursor, items = reply
    return cursor, sorted(items) if isinstance(items, list) else items


def raw_scan_sorted(reply: Any) -> Any:
    return [reply[0], sorted(reply[1])]


RXG = ("XREADGROUP", "GROUP", "grp", "c1", "COUNT", 10, "STREAMS", "x1", ">")
FAR = 4102444800  # 2100-01-01, an absolute expiry both runs agree on

CASES: List[Case] = [
    # strings
    C("GET", m("get", "s1")),
    C("SET", m("set", "s3", "v", ex=100)),
    C("SET", x("SET", "s1", "new", "GET"), v="get"),
    C("SETNX", m("setnx", "s3", "v")),
    C("SETEX", m("setex", "s3", 100, "v")),
    C("PSETEX", m("psetex", "s3", 100000, "v")),
    C("GETSET", m("getset", "s1", "new")),
    C("GETDEL", m("getdel", "s1")),
    C("GETEX", m("getex", "s1", px=100000)),
    C("GETRANGE", x("GETRANGE", "s1", 0, 2)),
    C("SETRANGE", x("SETRANGE", "s1", 1, "EY")),
    C("SUBSTR", x("SUBSTR", "s1", 0, 2)),
    C("APPEND", m("append", "s1", "!")),
    C("STRLEN", m("strlen", "s1")),
    C("INCR", x("INCR", "n1")),
    C("INCRBY", m("incrby", "n1", 5)),
    C("INCRBY", m("incr", "n1"), v="incr-method"),
    C("INCRBYFLOAT", m("incrbyfloat", "f1", 0.25)),
    C("DECR", x("DECR", "n1")),
    C("DECRBY", m("decrby", "n1", 3)),
    C("MGET", m("mget", ["s1", "s2", "s9"])),
    C("MGET", m("mget", "s1", b"s2", memoryview(b"s9"), bytearray(b"n1")), v="key-types"),
    C("MSET", m("mset", {"s1": "a", "s3": "b"})),
    C("MSETNX", m("msetnx", {"s3": "a", "s4": "b"})),
    C("LCS", x("LCS", "s1", "s2")),
    C("GETBIT", x("GETBIT", "b1", 4)),
    C("SETBIT", x("SETBIT", "b1", 0, 1)),
    C("BITCOUNT", x("BITCOUNT", "b1")),
    C("BITPOS", x("BITPOS", "b1", 1)),
    C("BITFIELD", x("BITFIELD", "b1", "INCRBY", "u8", 0, 1, "GET", "u8", 8)),
    C("BITFIELD_RO", x("BITFIELD_RO", "b1", "GET", "u8", 0)),
    C("BITOP", x("BITOP", "AND", "s9", "s1", "s2")),
    # keys
    C("DEL", m("delete", "s1", "l1", "s9")),
    C("UNLINK", m("unlink", "s1", "set1")),
    C("EXISTS", m("exists", "s1", "s2", "s9", "h1")),
    C("TOUCH", x("TOUCH", "s1", "s9")),
    C("EXPIRE", m("expire", "s1", 100)),
    C("PEXPIRE", m("pexpire", "s1", 100000)),
    C("EXPIREAT", m("expireat", "s1", FAR)),
    C("PEXPIREAT", m("pexpireat", "s1", FAR * 1000)),
    C("EXPIREAT+EXPIRETIME", seq(x("EXPIREAT", "s1", FAR), x("EXPIRETIME", "s1"))),
    C("PEXPIREAT+PEXPIRETIME", seq(x("PEXPIREAT", "s1", FAR * 1000), x("PEXPIRETIME", "s1"))),
    C("TTL", m("ttl", "s1")),
    C("PTTL", m("pttl", "s9")),
    C("EXPIRE+PERSIST", seq(m("expire", "s1", 100), m("persist", "s1"))),
    C("TYPE", m("type", "z1")),
    C("RENAME", m("rename", "s1", "s9")),
    C("RENAMENX", x("RENAMENX", "s1", "s2")),
    C("COPY", x("COPY", "s1", "s9")),
    C("COPY", x("COPY", "h1", "h1", "DB", 2), v="db", allow=DATABASES),
    C("MOVE", x("MOVE", "s1", 2), allow=DATABASES),
    C("MIGRATE", migrate("s1"), SKIP, allow=DATABASES),
    C("MIGRATE", migrate("", "KEYS", "s2", "h1"), SKIP, allow=DATABASES, v="keys"),
    C("DUMP", x("DUMP", "z1")),
    C("RESTORE", lambda c, ctx: c.execute_command("RESTORE", "s9", 0, ctx.payload)),
    C("OBJECT ENCODING", m("object", "encoding", "l1")),
    C("OBJECT FREQ", x("OBJECT", "FREQ", "s1")),
    C("OBJECT IDLETIME", x("OBJECT", "IDLETIME", "s1"), SKIP),
    C("OBJECT REFCOUNT", x("OBJECT", "REFCOUNT", "s1")),
    C("OBJECT HELP", x("OBJECT", "HELP")),
    C("MEMORY USAGE", m("memory_usage", "h1"), SKIP),
    C("MEMORY USAGE", m("memory_usage", "h1", samples=0), SKIP, v="samples"),
    C("DEBUG OBJECT", x("DEBUG", "OBJECT", "s1"), SKIP),
    C("SORT", x("SORT", "l3")),
    C("SORT", x("SORT", "l3", "LIMIT", 0, 2, "ALPHA", "DESC", "STORE", "l9"), v="store"),
    C(
        "SORT",
        x("SORT", "l3", "BY", "w_*", "GET", "#", "GET", "o_*->f", "STORE", "s9"),
        acl=False,
        v="by-get-store",
    ),
    C("SORT", x("sort", "l3", "by", "w_*", "get", "o_*->f"), acl=False, v="lowercase"),
    C("SORT", x("SORT", "l3", "BY", "nosort", "GET", "#"), acl=False, v="nosort"),
    C("SORT_RO", x("SORT_RO", "l3")),
    C("SORT_RO", x("SORT_RO", "l3", "BY", "w_*", "GET", "o_*->f"), acl=False, v="by-get"),
    C("KEYS", m("keys", "s*"), SORTED),
    C("KEYS", m("keys"), SORTED, v="all"),
    C("KEYS", x("KEYS", "[sz]?"), SORTED, v="glob"),
    C("SCAN", m("scan", 0, count=1000), scan_sorted),
    C("SCAN", m("scan", 0, match="s*", count=1000, _type="string"), scan_sorted, v="match"),
    C("SCAN", x("SCAN", 0, "COUNT", 1000, "match", "?1"), raw_scan_sorted, v="raw"),
    C("SCAN", lambda c, ctx: sorted(c.scan_iter(count=3)), v="iter"),
    C("SCAN", lambda c, ctx: sorted(c.scan_iter(match="l*")), v="iter-match"),
    # hashes
    C("HSET", m("hset", "h1", "f3", "v3")),
    C("HSET", m("hset", "h9", mapping={"a": "1", "b": "2"}), v="mapping"),
    C("HSETNX", m("hsetnx", "h1", "f1", "x")),
    C("HGET", m("hget", "h1", "f1")),
    C("HMGET", m("hmget", "h1", ["f1", "f2", "nope"])),
    C("HMSET", x("HMSET", "h1", "f1", "a", "f9", "b")),
    C("HGETALL", m("hgetall", "h1")),
    C("HDEL", m("hdel", "h1", "f1", "nope")),
    C("HEXISTS", m("hexists", "h1", "f2")),
    C("HINCRBY", m("hincrby", "h1", "f2", 3)),
    C("HINCRBYFLOAT", m("hincrbyfloat", "h1", "f2", 0.5)),
    C("HKEYS", m("hkeys", "h1")),
    C("HVALS", m("hvals", "h1")),
    C("HLEN", m("hlen", "h1")),
    C("HSTRLEN", x("HSTRLEN", "h1", "f1")),
    C("HRANDFIELD", x("HRANDFIELD", "h1", 2), SORTED),
    C("HSCAN", m("hscan", "h1")),
    C("HSCAN", lambda c, ctx: sorted(c.hscan_iter("h1", match="f*")), v="iter"),
    # hash-field expiry (Redis 7.4) and HGETDEL/HGETEX/HSETEX (Redis 8.0): skipped on
    # servers that do not have them
    C("HEXPIRE", x("HEXPIRE", "h1", 100, "FIELDS", 1, "f1")),
    C("HPEXPIRE", x("HPEXPIRE", "h1", 100000, "FIELDS", 1, "f1")),
    C("HEXPIREAT", x("HEXPIREAT", "h1", FAR, "FIELDS", 1, "f1")),
    C("HPEXPIREAT", x("HPEXPIREAT", "h1", FAR * 1000, "FIELDS", 1, "f1")),
    C("HEXPIRETIME", x("HEXPIRETIME", "h1", "FIELDS", 1, "f1")),
    C("HPEXPIRETIME", x("HPEXPIRETIME", "h1", "FIELDS", 1, "f1")),
    C("HTTL", x("HTTL", "h1", "FIELDS", 1, "f1")),
    C("HPTTL", x("HPTTL", "h1", "FIELDS", 1, "f1")),
    C("HPERSIST", x("HPERSIST", "h1", "FIELDS", 1, "f1")),
    C("HGETDEL", x("HGETDEL", "h1", "FIELDS", 1, "f1")),
    C("HGETEX", x("HGETEX", "h1", "PERSIST", "FIELDS", 1, "f1")),
    C("HSETEX", x("HSETEX", "h1", "FIELDS", 1, "f5", "v5")),
    # lists
    C("LPUSH", m("lpush", "l1", "z")),
    C("RPUSH", m("rpush", "l9", "a", "b")),
    C("LPUSHX", x("LPUSHX", "l1", "q")),
    C("RPUSHX", x("RPUSHX", "l9", "q")),
    C("LPOP", m("lpop", "l1")),
    C("LPOP", m("lpop", "l1", 2), v="count"),
    C("RPOP", m("rpop", "l1")),
    C("LRANGE", m("lrange", "l1", 0, -1)),
    C("LLEN", m("llen", "l1")),
    C("LINDEX", m("lindex", "l1", 1)),
    C("LSET", m("lset", "l1", 0, "A")),
    C("LREM", m("lrem", "l1", 0, "b")),
    C("LTRIM", m("ltrim", "l1", 0, 1)),
    C("LINSERT", x("LINSERT", "l1", "BEFORE", "b", "bb")),
    C("LPOS", x("LPOS", "l1", "c")),
    C("LMOVE", x("LMOVE", "l1", "l2", "LEFT", "RIGHT")),
    C("RPOPLPUSH", x("RPOPLPUSH", "l1", "l9")),
    C("BLMOVE", x("BLMOVE", "l1", "l2", "RIGHT", "LEFT", 1)),
    C("BRPOPLPUSH", x("BRPOPLPUSH", "l1", "l2", 1)),
    C("BLPOP", m("blpop", ["l9", "l1"], 1)),
    C("BLPOP", x("BLPOP", "l9", "s9", 0.05), v="timeout"),
    C("BRPOP", m("brpop", ["l9", "l2"], 1)),
    C("LMPOP", x("LMPOP", 2, "l9", "l1", "LEFT", "COUNT", 2)),
    C("BLMPOP", x("BLMPOP", 1, 2, "l9", "l1", "RIGHT")),
    # sets
    C("SADD", m("sadd", "set1", "x", "a")),
    C("SREM", m("srem", "set1", "a", "zz")),
    C("SMEMBERS", m("smembers", "set1")),
    C("SISMEMBER", m("sismember", "set1", "a")),
    C("SMISMEMBER", x("SMISMEMBER", "set1", "a", "q")),
    C("SCARD", m("scard", "set1")),
    C("SPOP", m("spop", "set1", 3), SORTED),
    C("SRANDMEMBER", m("srandmember", "set1", 3), SORTED),
    C("SMOVE", x("SMOVE", "set1", "set2", "a")),
    C("SINTER", m("sinter", ["set1", "set2"])),
    C("SUNION", m("sunion", "set1", "set2")),
    C("SDIFF", m("sdiff", ["set1", "set2"])),
    C("SINTERSTORE", x("SINTERSTORE", "set9", "set1", "set2")),
    C("SUNIONSTORE", x("SUNIONSTORE", "set9", "set1", "set2")),
    C("SDIFFSTORE", x("SDIFFSTORE", "set9", "set1", "set2")),
    C("SINTERCARD", x("SINTERCARD", 2, "set1", "set2", "LIMIT", 5)),
    C("SSCAN", x("SSCAN", "set1", 0, "COUNT", 100), raw_scan_sorted),
    # sorted sets
    C("ZADD", m("zadd", "z1", {"d": 4})),
    C("ZREM", m("zrem", "z1", "a")),
    C("ZSCORE", m("zscore", "z1", "b")),
    C("ZMSCORE", x("ZMSCORE", "z1", "a", "q")),
    C("ZINCRBY", m("zincrby", "z1", 2, "a")),
    C("ZRANGE", m("zrange", "z1", 0, -1, withscores=True)),
    C("ZREVRANGE", m("zrevrange", "z1", 0, 1)),
    C("ZRANGEBYSCORE", m("zrangebyscore", "z1", 1, 2)),
    C("ZREVRANGEBYSCORE", m("zrevrangebyscore", "z1", 3, 1)),
    C("ZRANGEBYLEX", x("ZRANGEBYLEX", "zl", "-", "+")),
    C("ZREVRANGEBYLEX", x("ZREVRANGEBYLEX", "zl", "+", "-")),
    C("ZRANK", m("zrank", "z1", "b")),
    C("ZREVRANK", m("zrevrank", "z1", "b")),
    C("ZCARD", m("zcard", "z1")),
    C("ZCOUNT", m("zcount", "z1", 1, 2)),
    C("ZLEXCOUNT", x("ZLEXCOUNT", "zl", "-", "+")),
    C("ZPOPMIN", x("ZPOPMIN", "z1")),
    C("ZPOPMAX", x("ZPOPMAX", "z1", 2)),
    C("ZRANDMEMBER", x("ZRANDMEMBER", "z1", 3), SORTED),
    C("ZREMRANGEBYRANK", x("ZREMRANGEBYRANK", "z1", 0, 0)),
    C("ZREMRANGEBYSCORE", x("ZREMRANGEBYSCORE", "z1", 2, 3)),
    C("ZREMRANGEBYLEX", x("ZREMRANGEBYLEX", "zl", "[a", "[b")),
    C("ZSCAN", x("ZSCAN", "z1", 0)),
    C("ZRANGESTORE", x("ZRANGESTORE", "z9", "z1", 0, -1)),
    C("ZUNION", x("ZUNION", 2, "z1", "z2", "WITHSCORES")),
    C("ZINTER", x("ZINTER", 2, "z1", "z2", "WEIGHTS", 1, 3, "WITHSCORES")),
    C("ZDIFF", x("ZDIFF", 2, "z1", "z2")),
    C("ZUNIONSTORE", x("ZUNIONSTORE", "z9", 2, "z1", "z2", "WEIGHTS", 1, 2)),
    C("ZINTERSTORE", x("ZINTERSTORE", "z9", 2, "z1", "z2", "AGGREGATE", "MAX")),
    C("ZDIFFSTORE", x("ZDIFFSTORE", "z9", 2, "z1", "z2")),
    C("ZINTERCARD", x("ZINTERCARD", 2, "z1", "z2")),
    C("ZMPOP", x("ZMPOP", 2, "z9", "z1", "MIN", "COUNT", 2)),
    C("BZMPOP", x("BZMPOP", 1, 2, "z9", "z2", "MAX")),
    C("BZPOPMIN", x("BZPOPMIN", "z9", "z1", 1)),
    C("BZPOPMAX", x("BZPOPMAX", "z9", "z2", 1)),
    # streams
    C("XADD", x("XADD", "x1", "3-1", "f", "v3")),
    C("XADD", x("XADD", "x1", "MAXLEN", "1", "3-1", "f", "v3"), v="maxlen"),
    C("XRANGE", x("XRANGE", "x1", "-", "+")),
    C("XREVRANGE", x("XREVRANGE", "x1", "+", "-", "COUNT", 1)),
    C("XLEN", x("XLEN", "x1")),
    C("XDEL", x("XDEL", "x1", "1-1")),
    C("XTRIM", x("XTRIM", "x1", "MAXLEN", 1)),
    C("XREAD", x("XREAD", "COUNT", 10, "STREAMS", "x1", "0")),
    C("XREAD", x("XREAD", "BLOCK", 100, "STREAMS", "x9", "x1", "0", "0"), acl=False, v="two"),
    C("XREAD", x("XREAD", "COUNT", 5, "BLOCK", 1000, "STREAMS", "x1", "1-1"), v="block"),
    C("XREADGROUP", x(*RXG)),
    C(
        "XREADGROUP",
        x("XREADGROUP", "GROUP", "grp", "STREAMS", "NOACK", "STREAMS", "x1", ">"),
        v="odd-names",
    ),
    C("XREADGROUP+XACK", seq(x(*RXG), x("XACK", "x1", "grp", "1-1"))),
    C("XREADGROUP+XCLAIM", seq(x(*RXG), x("XCLAIM", "x1", "grp", "c2", 0, "1-1", "JUSTID"))),
    C(
        "XREADGROUP+XAUTOCLAIM",
        seq(x(*RXG), x("XAUTOCLAIM", "x1", "grp", "c2", 0, "0-0", "JUSTID")),
    ),
    C("XREADGROUP+XPENDING", seq(x(*RXG), x("XPENDING", "x1", "grp"))),
    C("XSETID", x("XSETID", "x1", "5-0")),
    C("XINFO STREAM", x("XINFO", "STREAM", "x1")),
    C("XINFO GROUPS", x("XINFO", "GROUPS", "x1")),
    C("XREADGROUP+XINFO CONSUMERS", seq(x(*RXG), x("XINFO", "CONSUMERS", "x1", "grp")), SKIP),
    C("XINFO HELP", x("XINFO", "HELP")),
    C("XGROUP CREATE", x("XGROUP", "CREATE", "x1", "g2", "$")),
    C("XGROUP CREATE", x("XGROUP", "CREATE", "x9", "g2", "$", "MKSTREAM"), v="mkstream"),
    C("XGROUP SETID", x("XGROUP", "SETID", "x1", "grp", "1-1")),
    C("XGROUP DESTROY", x("XGROUP", "DESTROY", "x1", "grp")),
    C("XGROUP CREATECONSUMER", x("XGROUP", "CREATECONSUMER", "x1", "grp", "c5")),
    C(
        "XGROUP CREATECONSUMER+XGROUP DELCONSUMER",
        seq(
            x("XGROUP", "CREATECONSUMER", "x1", "grp", "c5"),
            x("XGROUP", "DELCONSUMER", "x1", "grp", "c5"),
        ),
    ),
    C("XGROUP HELP", x("XGROUP", "HELP")),
    # geo
    C("GEOADD", x("GEOADD", "g1", 2.35, 48.85, "Paris")),
    C("GEODIST", x("GEODIST", "g1", "Palermo", "Catania", "km")),
    C("GEOHASH", x("GEOHASH", "g1", "Palermo")),
    C("GEOPOS", x("GEOPOS", "g1", "Palermo", "Nowhere")),
    C("GEORADIUS", x("GEORADIUS", "g1", 15, 37, 200, "km", "WITHDIST", "ASC")),
    C("GEORADIUS", x("GEORADIUS", "g1", 15, 37, 200, "km", "COUNT", 1, "STORE", "g9"), v="store"),
    C("GEORADIUS", x("GEORADIUS", "g1", 15, 37, 200, "km", "STOREDIST", "z9"), v="storedist"),
    C("GEORADIUS_RO", x("GEORADIUS_RO", "g1", 15, 37, 200, "km", "ASC")),
    C("GEORADIUSBYMEMBER", x("GEORADIUSBYMEMBER", "g1", "Palermo", 200, "km", "STORE", "g9")),
    C("GEORADIUSBYMEMBER_RO", x("GEORADIUSBYMEMBER_RO", "g1", "Palermo", 200, "km", "ASC")),
    C("GEOSEARCH", x("GEOSEARCH", "g1", "FROMLONLAT", 15, 37, "BYRADIUS", 200, "km", "ASC")),
    C(
        "GEOSEARCHSTORE",
        x("GEOSEARCHSTORE", "g9", "g1", "FROMMEMBER", "Palermo", "BYRADIUS", 200, "km"),
    ),
    # HyperLogLog
    C("PFADD", x("PFADD", "p1", "z")),
    C("PFCOUNT", x("PFCOUNT", "p1", "p2")),
    C("PFMERGE", x("PFMERGE", "p9", "p1", "p2")),
    # scripting (granted: the numkeys keys are prefixed, what Lua does is its own)
    C("EVAL", m("eval", GET_SCRIPT, 1, "s1"), allow=SCRIPTS),
    C("EVAL", m("eval", COPY_SCRIPT, 2, "s1", "s9", "val"), v="write", allow=SCRIPTS),
    C("EVALSHA", lambda c, ctx: c.evalsha(ctx.sha_get, 1, "s1"), allow=SCRIPTS),
    C("EVAL_RO", x("EVAL_RO", GET_SCRIPT, 1, "s1"), allow=SCRIPTS),
    C(
        "EVALSHA_RO",
        lambda c, ctx: c.execute_command("EVALSHA_RO", ctx.sha_get, 1, "s1"),
        allow=SCRIPTS,
    ),
    C("FCALL", x("FCALL", "kget", 1, "s1"), allow=SCRIPTS),
    C("FCALL_RO", x("FCALL_RO", "kget_ro", 1, "s1"), allow=SCRIPTS),
    C("SCRIPT LOAD", m("script_load", GET_SCRIPT), allow=SCRIPTS),
    C("SCRIPT EXISTS", lambda c, ctx: c.script_exists(ctx.sha_get, "0" * 40), allow=SCRIPTS),
    C("SCRIPT HELP", x("SCRIPT", "HELP")),
    C("FUNCTION LIST", x("FUNCTION", "LIST"), allow=SCRIPTS),
    C("FUNCTION STATS", x("FUNCTION", "STATS"), allow=SCRIPTS),
    C("FUNCTION DUMP", x("FUNCTION", "DUMP"), allow=SCRIPTS),
    C("FUNCTION HELP", x("FUNCTION", "HELP")),
    # pub/sub (channels are prefixed like keys)
    C("PUBLISH", m("publish", "chan", "m")),
    C("SPUBLISH", x("SPUBLISH", "chan", "m")),
    C("PUBSUB CHANNELS", x("PUBSUB", "CHANNELS")),
    C("PUBSUB CHANNELS", x("PUBSUB", "CHANNELS", "c*"), v="pattern"),
    C("PUBSUB SHARDCHANNELS", x("PUBSUB", "SHARDCHANNELS")),
    C("PUBSUB NUMSUB", x("PUBSUB", "NUMSUB", "chan", "other")),
    C("PUBSUB SHARDNUMSUB", x("PUBSUB", "SHARDNUMSUB", "chan")),
    C("PUBSUB NUMPAT", x("PUBSUB", "NUMPAT"), allow=SERVER_INFO),
    C("PUBSUB HELP", x("PUBSUB", "HELP")),
    # transactions: MULTI/EXEC come from the pipeline itself (never through the
    # prefixer); WATCH and UNWATCH run on a watching pipeline's pinned connection
    C("WATCH+GET+UNWATCH", lambda c, ctx: watching(c, ("GET", "s1"), ("UNWATCH",))),
    C(
        "SET+GET+KEYS",
        lambda c, ctx: c.pipeline().set("s9", "x").get("s1").keys("s9").execute(),
        v="transaction",
    ),
    # key-less commands
    C("PING", m("ping")),
    C("ECHO", m("echo", "hi")),
    C("TIME", m("time"), SKIP),
    C("QUIT", x("QUIT")),
    C("LASTSAVE", x("LASTSAVE"), SKIP),
    C("LOLWUT", x("LOLWUT"), SKIP),
    C("WAIT", x("WAIT", 0, 0)),
    C("WAITAOF", x("WAITAOF", 0, 0, 0)),
    C("COMMAND", x("COMMAND", "COUNT")),
    C("CONFIG GET", m("config_get", "maxmemory"), allow=SERVER_INFO),
    C("CONFIG HELP", x("CONFIG", "HELP")),
    C("CLIENT ID", x("CLIENT", "ID"), SKIP),
    C("CLIENT INFO", x("CLIENT", "INFO"), SKIP),
    C("CLIENT SETNAME+CLIENT GETNAME", seq(m("client_setname", "prefixed"), m("client_getname"))),
    C("CLIENT LIST", m("client_list"), SKIP, allow=SERVER_INFO),
    C("CLIENT GETREDIR", x("CLIENT", "GETREDIR")),
    C("CLIENT TRACKINGINFO", x("CLIENT", "TRACKINGINFO")),
    C("CLIENT SETINFO", x("CLIENT", "SETINFO", "LIB-NAME", "prc-test")),
    C("CLIENT HELP", x("CLIENT", "HELP")),
    C("ACL WHOAMI", x("ACL", "WHOAMI"), SKIP),
    C("ACL CAT", x("ACL", "CAT")),
    C("ACL HELP", x("ACL", "HELP")),
    C("ACL GENPASS", x("ACL", "GENPASS"), SKIP),
    C("MEMORY HELP", x("MEMORY", "HELP")),
    C("SLOWLOG HELP", x("SLOWLOG", "HELP")),
    C("LATENCY HELP", x("LATENCY", "HELP")),
    C("MODULE HELP", x("MODULE", "HELP")),
    # whole-server views (granted)
    C("INFO", m("info", "keyspace"), SKIP, allow=SERVER_INFO),
    C("DBSIZE", m("dbsize"), SKIP, allow=SERVER_INFO),
    C("RANDOMKEY", x("RANDOMKEY"), SKIP, allow=SERVER_INFO),
    C("ROLE", x("ROLE"), allow=SERVER_INFO),
    C("MEMORY DOCTOR", x("MEMORY", "DOCTOR"), SKIP, allow=SERVER_INFO),
    C("MEMORY STATS", x("MEMORY", "STATS"), SKIP, allow=SERVER_INFO),
    C("MEMORY MALLOC-STATS", x("MEMORY", "MALLOC-STATS"), SKIP, allow=SERVER_INFO),
    C("SLOWLOG GET", x("SLOWLOG", "GET", 1), SKIP, allow=SERVER_INFO),
    C("SLOWLOG LEN", x("SLOWLOG", "LEN"), SKIP, allow=SERVER_INFO),
    C("LATENCY LATEST", x("LATENCY", "LATEST"), SKIP, allow=SERVER_INFO),
    C("LATENCY DOCTOR", x("LATENCY", "DOCTOR"), SKIP, allow=SERVER_INFO),
    C("LATENCY HISTORY", x("LATENCY", "HISTORY", "command"), SKIP, allow=SERVER_INFO),
    C("LATENCY GRAPH", x("LATENCY", "GRAPH", "command"), SKIP, allow=SERVER_INFO),
    C("LATENCY HISTOGRAM", x("LATENCY", "HISTOGRAM", "get"), SKIP, allow=SERVER_INFO),
    C("MODULE LIST", x("MODULE", "LIST"), allow=SERVER_INFO),
    C("ACL LIST", x("ACL", "LIST"), SKIP, allow=SERVER_INFO),
    C("ACL USERS", x("ACL", "USERS"), SKIP, allow=SERVER_INFO),
    C("ACL GETUSER", x("ACL", "GETUSER", "default"), SKIP, allow=SERVER_INFO),
    C("ACL LOG", x("ACL", "LOG", 1), SKIP, allow=SERVER_INFO),
    C("ACL DRYRUN", x("ACL", "DRYRUN", "default", "GET", "k"), SKIP, allow=SERVER_INFO),
]


# -- fixtures ---------------------------------------------------------------------------


class RecordingPrefixer(KeyPrefixer):
    """A KeyPrefixer that remembers the argument tuples it prefixed."""

    __slots__ = ("seen",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seen: List[Tuple[Any, ...]] = []

    def prepare(self, args: Tuple[Any, ...], callback: Any = None) -> Any:
        self.seen.append(args)
        return super().prepare(args, callback)


def display(args: Tuple[Any, ...]) -> str:
    """The supported_commands() name of a command: "GET", "OBJECT ENCODING", ..."""
    name = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
    name = name.upper()
    if COMMANDS.get(name, (PASS,))[0] == SUB and len(args) > 1:
        sub = args[1].decode() if isinstance(args[1], bytes) else str(args[1])
        name += " " + sub.upper()
    return name


@dataclass
class Env:
    server: RedisServer
    admin: RedisClient  # default user, database 0, no prefix
    ref: RedisClient  # default user, database 1, no prefix: the reference run
    db2: RedisClient  # default user, database 2 (MOVE and COPY ... DB 2 land here)
    tenant: RedisClient  # ACL user limited to t:* keys and channels, prefix t:
    ctx: Ctx
    unknown: Set[str] = field(default_factory=set)  # commands this server does not have
    granted: Dict[Tuple[str, ...], RedisClient] = field(default_factory=dict)

    def tenant_with(self, allow: Tuple[str, ...]) -> RedisClient:
        """The ACL tenant, configured with the key_prefix_allow categories ``allow``."""
        if not allow:
            return self.tenant
        if allow not in self.granted:
            self.granted[allow] = RedisClient(
                config=self.tenant.config.replace(key_prefix_allow=allow)
            )
        return self.granted[allow]

    def close(self) -> None:
        for client in self.granted.values():
            client.close()


def make_env() -> Iterator[Env]:
    """The environment of the isolation tests (a module-scoped fixture in each)."""
    if not redis_server_available():
        pytest.skip("redis-server not found on PATH")
    # No slow log: on a loaded machine a decoy's command took over 10 ms and SLOWLOG
    # GET then showed the decoy's arguments, which the cases treat as a leak.
    server = RedisServer(
        extra_args=["--enable-debug-command", "yes", "--slowlog-log-slower-than", "-1"]
    ).start()
    clients: List[RedisClient] = []
    try:
        admin = RedisClient(port=server.port, db=0)
        clients.append(admin)
        admin.execute_command(
            "ACL", "SETUSER", "tenant", "on", ">" + TENANT_PASSWORD, "~t:*", "&t:*", "+@all"
        )
        admin.execute_command("FUNCTION", "LOAD", "REPLACE", LIBRARY)
        ref = RedisClient(port=server.port, db=1)
        db2 = RedisClient(port=server.port, db=2)
        tenant = RedisClient(
            port=server.port, username="tenant", password=TENANT_PASSWORD, key_prefix=P
        )
        clients += [ref, db2, tenant]
        admin.set("restore-src", "restored")
        ctx = Ctx(payload=admin.execute_command("DUMP", "restore-src"), port=server.port)
        admin.delete("restore-src")
        ctx.sha_get = admin.script_load(GET_SCRIPT)
        unknown = {name for case in CASES for name in case.names if not known(admin, name)}
        environment = Env(server, admin, ref, db2, tenant, ctx, unknown)
        try:
            yield environment
        finally:
            environment.close()
    finally:
        for client in clients:
            client.close()
        server.close()


def known(admin: RedisClient, name: str) -> bool:
    """Whether the server has the command (or the subcommand) ``name``."""
    parts = name.lower().split(" ")
    [entry] = admin.execute_command("COMMAND", "INFO", parts[0])
    if entry is None:
        return False
    if len(parts) == 1:
        return True
    subcommands = entry[9] if len(entry) > 9 else []
    # DEBUG lists no subcommands: any is accepted.
    return not subcommands or any(s[0] == "|".join(parts).encode() for s in subcommands)


def run_all(client: Any, commands: List[Tuple[Any, ...]]) -> None:
    p = client.pipeline(transaction=False)
    for args in commands:
        p.execute_command(*args)
    p.execute()


def snapshot(client: RedisClient, names: Set[bytes]) -> Dict[bytes, Any]:
    """A comparable picture of ``names``: DUMP (streams: entries and groups), and TTL."""
    ordered = sorted(names)
    p = client.pipeline(transaction=False)
    for name in ordered:
        p.type(name).pttl(name)
    kinds_ttls = p.execute()
    kinds = kinds_ttls[0::2]
    for name, kind in zip(ordered, kinds):
        if kind == b"stream":
            p.execute_command("XRANGE", name, "-", "+")
            p.execute_command("XINFO", "GROUPS", name)
        else:
            p.execute_command("DUMP", name)
    values = iter(p.execute())
    state: Dict[bytes, Any] = {}
    for name, kind, ttl in zip(ordered, kinds, kinds_ttls[1::2]):
        value = (next(values), next(values)) if kind == b"stream" else next(values)
        state[name] = (kind, value, ttl > 0)
    return state


def contains_decoy(value: Any) -> bool:
    if isinstance(value, (bytes, bytearray)):
        return b"DECOY" in value
    if isinstance(value, str):
        return "DECOY" in value
    if isinstance(value, dict):
        return any(contains_decoy(k) or contains_decoy(v) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(contains_decoy(v) for v in value)
    if isinstance(value, BaseException):
        return contains_decoy(str(value))
    return False


def outcome(fn: Fn, client: Any, ctx: Ctx) -> Any:
    """The case's result, or (error class, message) for a Redis error."""
    try:
        return fn(client, ctx)
    except KeyPrefixError:
        raise
    except RedisError as exc:
        return ("error", type(exc).__name__, str(exc))


def normalise(result: Any, cmp: Any) -> Any:
    if isinstance(result, tuple) and result[:1] == ("error",):
        return result
    if cmp == SORTED:
        return sorted(result, key=repr)
    if callable(cmp):
        return cmp(result)
    return result


def errors_in(result: Any) -> List[BaseException]:
    if isinstance(result, BaseException):
        return [result]
    if isinstance(result, (list, tuple)):
        return [e for item in result for e in errors_in(item)]
    return []


def check_getkeys(admin: RedisClient, args: Tuple[Any, ...]) -> None:
    """COMMAND GETKEYS finds exactly the prefixed keys of the original arguments."""
    prefixed = KeyPrefixer(P, allow_unsafe=True).prefix_args(args)
    try:
        keys = admin.execute_command("COMMAND", "GETKEYS", *args)
    except RedisError:
        return  # key-less (or channel-only) command
    assert admin.execute_command("COMMAND", "GETKEYS", *prefixed) == [PB + k for k in keys]
