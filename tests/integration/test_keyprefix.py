"""Key-prefix isolation (pyredisclient.keyprefix) against a real redis-server.

The central test runs every command the prefixer supports twice: once on a plain client in
database 1 (the reference) and once through a prefixed client in database 0, where decoy
keys with the same names but without the prefix (and with "DECOY" values) were planted
first. Then:

* the two results are equal (prefixing is invisible to the caller) and the prefixed
  result never holds a decoy value;
* the decoys are byte-for-byte unchanged, every other key in database 0 starts with the
  prefix, and the prefixed keyspace equals the reference keyspace (same names, same
  DUMP);
* ``COMMAND GETKEYS`` on the prefixed arguments names exactly the prefixed keys of the
  original ones (the server's own key finder agrees with our table).

It runs both through ``client.with_prefix("t:")`` and through a client logged in as an
ACL user that may only touch ``t:*`` keys and channels, so the server itself refuses any
access outside the prefix.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Set, Tuple

import pytest

import pyredisclient
from pyredisclient import DataError, NoPermissionError, RedisClient, RedisError
from pyredisclient.config import ConfigurationError
from pyredisclient.keyprefix import (
    COMMANDS,
    DATABASES,
    GATE,
    PASS,
    REFUSE,
    SCRIPTS,
    SERVER_INFO,
    SUB,
    KeyPrefixer,
    KeyPrefixError,
    escape_glob,
    supported_commands,
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


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    if not redis_server_available():
        pytest.skip("redis-server not found on PATH")
    server = RedisServer(extra_args=["--enable-debug-command", "yes"]).start()
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


@pytest.mark.parametrize("via", ["view", "acl"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_command_stays_inside_the_prefix(env: Env, case: Case, via: str) -> None:
    missing = [n for n in case.names if n in env.unknown]
    if missing:
        pytest.skip(f"redis-server {env.server!r} does not have {missing}")
    if via == "acl" and not case.acl:
        pytest.skip("Redis refuses SORT BY/GET and reads of other keys to restricted users")
    admin = env.admin
    client = (
        admin.with_prefix(P, allow=case.allow) if via == "view" else env.tenant_with(case.allow)
    )
    recorder = RecordingPrefixer(P, allow=case.allow)
    client._prefixer = recorder

    admin.execute_command("FLUSHALL")
    run_all(admin, DECOYS)
    decoys = set(admin.keys())
    before = snapshot(admin, decoys)
    run_all(env.ref, NORMAL)
    run_all(client, NORMAL)
    recorder.seen.clear()

    if case.allow and via == "view":
        # Without its grant the case is refused before anything is sent.
        with pytest.raises(KeyPrefixError, match="grant key_prefix_allow="):
            case.fn(admin.with_prefix(P), env.ctx)
    expected = outcome(case.fn, env.ref, env.ctx)
    got = outcome(case.fn, client, env.ctx)

    # The case sent the commands it claims to cover, and each one was prefixed as the
    # server itself finds keys.
    sent = {display(args) for args in recorder.seen}
    assert set(case.names) <= sent, sent
    if via == "view":
        for args in recorder.seen:
            check_getkeys(admin, args)

    # The same answer as the unprefixed reference, and nothing from outside the prefix.
    for err in errors_in(got):
        assert not isinstance(err, NoPermissionError), err
    if isinstance(got, tuple) and got[:2] == ("error", "NoPermissionError"):
        pytest.fail(f"the ACL user was refused: a key or channel escaped the prefix: {got}")
    assert not contains_decoy(got), got
    if case.cmp != SKIP:
        assert normalise(got, case.cmp) == normalise(expected, case.cmp)

    # The decoys are untouched and every other key carries the prefix.
    assert snapshot(admin, decoys) == before
    db0 = set(admin.keys())
    outside = {k for k in db0 - decoys if not k.startswith(PB)}
    assert not outside, f"keys written outside the prefix: {outside}"
    reference_keys = set(env.ref.keys())
    assert {k[len(PB) :] for k in db0 - decoys} == reference_keys
    assert snapshot(admin, {PB + k for k in reference_keys}) == {
        PB + k: v for k, v in snapshot(env.ref, reference_keys).items()
    }
    # MOVE / COPY ... DB 2: the reference's keys and the prefixed ones, nothing else.
    db2 = set(env.db2.keys())
    plain = {k for k in db2 if not k.startswith(PB)}
    assert db2 == plain | {PB + k for k in plain}


def check_getkeys(admin: RedisClient, args: Tuple[Any, ...]) -> None:
    """COMMAND GETKEYS finds exactly the prefixed keys of the original arguments."""
    prefixed = KeyPrefixer(P, allow_unsafe=True).prefix_args(args)
    try:
        keys = admin.execute_command("COMMAND", "GETKEYS", *args)
    except RedisError:
        return  # key-less (or channel-only) command
    assert admin.execute_command("COMMAND", "GETKEYS", *prefixed) == [PB + k for k in keys]


# Granted with "scripts" but changing the scripts the cases use: test_script_management.
SCRIPT_MANAGEMENT = {
    "SCRIPT FLUSH",
    "SCRIPT KILL",
    "FUNCTION LOAD",
    "FUNCTION DELETE",
    "FUNCTION FLUSH",
    "FUNCTION RESTORE",
    "FUNCTION KILL",
}


def test_cases_cover_every_supported_command() -> None:
    """Every command sent without a grant, or with scripts, server_info or databases,
    has a case (the admin and unconfined ones are checked by focused tests)."""
    covered = {name for case in CASES for name in case.names}
    granted = supported_commands((SCRIPTS, SERVER_INFO, DATABASES))
    assert set(granted) - covered == SCRIPT_MANAGEMENT
    assert covered - set(granted) == set()


PATTERN_OR_CHANNEL_FORMS = {
    "PUBLISH",
    "KEYS",
    "SCAN",
    "PUBSUB CHANNELS",
    "PUBSUB SHARDCHANNELS",
    "PUBSUB NUMSUB",
    "PUBSUB SHARDNUMSUB",
}


def test_table_agrees_with_command_info(env: Env) -> None:
    """Each simple key range in the table is the server's; no keyed command is PASS."""
    info = env.admin.execute_command("COMMAND")
    server: Dict[str, Tuple[int, int, int, bool]] = {}
    for entry in info:
        name, _arity, flags, first, last, step = entry[:6]
        server[name.decode().upper()] = (first, last, step, b"movablekeys" in flags)
        for sub in entry[9] if len(entry) > 9 else []:
            sub_flags = sub[2]
            server[sub[0].decode().upper().replace("|", " ")] = (
                sub[3],
                sub[4],
                sub[5],
                b"movablekeys" in sub_flags,
            )
    prefixer = KeyPrefixer(P)
    checked = 0
    for name, (first, last, step, movable) in sorted(server.items()):
        parts = name.split(" ")
        spec = COMMANDS.get(parts[0])
        if spec is not None and spec[0] == SUB:
            spec = spec[1].get(parts[1]) if len(parts) > 1 else None
            if spec is None:
                spec = COMMANDS[parts[0]][2]
        if spec is None:
            assert (first == 0 and not movable) or name in ("PFDEBUG", "RESTORE-ASKING"), (
                f"{name} takes keys but is neither in the table nor refused"
            )
            continue
        if spec[0] == GATE:
            spec = spec[2]  # the keys once the category is granted
        kind = spec[0]
        if first == 0 and not movable:
            # No keys; channels are prefixed by decision, KEYS and SCAN patterns too.
            assert kind in (PASS, REFUSE) or name in PATTERN_OR_CHANNEL_FORMS, name
        elif kind == 1:  # ONE
            assert (first, last, step) == (1, 1, 1), name
            checked += 1
        elif kind == 2:  # RANGE
            assert (first, last, step) == spec[1:4], name
            checked += 1
        else:
            assert kind != PASS, f"{name} takes keys but the table passes it unchanged"
    assert checked > 150
    # And the prefixer is consistent with its own table for one of each.
    assert prefixer.prefix_args(("GET", "k")) == (b"GET", b"t:k")


# -- focused behaviour ----------------------------------------------------------------


@pytest.fixture
def plain(env: Env) -> Iterator[RedisClient]:
    """A fresh unprefixed client on database 0 of the emptied server."""
    env.admin.execute_command("FLUSHALL")
    with RedisClient(port=env.server.port) as client:
        yield client


def test_keys_scan_and_scan_iter_return_unprefixed_keys(plain: RedisClient) -> None:
    view = plain.with_prefix("t:")
    plain.mset({"a1": "DECOY", "t:a1x": "x", "t:b": "y"})
    view.set("a2", "z")
    assert sorted(view.keys()) == [b"a1x", b"a2", b"b"]
    assert sorted(view.keys("a*")) == [b"a1x", b"a2"]
    cursor, found = view.scan(0, match="a*", count=100)
    assert cursor == 0 and sorted(found) == [b"a1x", b"a2"]
    assert sorted(view.scan_iter(count=1)) == [b"a1x", b"a2", b"b"]
    assert sorted(view.scan_iter(match="b")) == [b"b"]
    text = RedisClient(port=plain.config.port, decode_responses=True)
    try:
        tview = text.with_prefix("t:")
        assert sorted(tview.keys()) == ["a1x", "a2", "b"]
        assert sorted(tview.scan_iter()) == ["a1x", "a2", "b"]
        bview = text.with_prefix(b"t:")
        assert sorted(bview.keys()) == ["a1x", "a2", "b"]
    finally:
        text.close()


def test_glob_characters_in_the_prefix_match_only_themselves(plain: RedisClient) -> None:
    prefix = "t*[x]?\\:"
    view = plain.with_prefix(prefix)
    # Each of these would match the prefix used as a raw glob pattern.
    plain.mset({"tAx?\\:k": "DECOY", "t*[x]?\\k": "DECOY", "tzzx!\\:k": "DECOY"})
    view.set("k", "mine")
    assert plain.exists(prefix + "k") == 1
    assert view.keys() == [b"k"]
    assert view.keys("*") == [b"k"]
    assert list(view.scan_iter()) == [b"k"]
    assert escape_glob(prefix) == "t\\*\\[x\\]\\?\\\\:"
    assert escape_glob(prefix.encode()) == b"t\\*\\[x\\]\\?\\\\:"


def test_blocking_pops_return_unprefixed_key_names(plain: RedisClient) -> None:
    view = plain.with_prefix(b"t:")
    view.rpush("q1", "a", "b", "c", "d")
    view.zadd("zq", {"m1": 1, "m2": 2, "m3": 3, "m4": 4})
    view.execute_command("XADD", "s", "1-1", "f", "v")
    assert view.blpop(["missing", "q1"], 1) == (b"q1", b"a")
    assert view.brpop("q1", 1) == (b"q1", b"d")
    assert view.execute_command("BLMPOP", 1, 1, "q1", "LEFT") == [b"q1", [b"b"]]
    assert view.execute_command("LMPOP", 1, "q1", "LEFT") == [b"q1", [b"c"]]
    assert view.execute_command("BZPOPMIN", "zq", 1) == [b"zq", b"m1", b"1"]
    assert view.execute_command("BZPOPMAX", "zq", 1) == [b"zq", b"m4", b"4"]
    assert view.execute_command("ZMPOP", 1, "zq", "MIN") == [b"zq", [[b"m2", b"2"]]]
    assert view.execute_command("BZMPOP", 1, 1, "zq", "MAX") == [b"zq", [[b"m3", b"3"]]]
    assert view.execute_command("XREAD", "STREAMS", "s", "0") == [[b"s", [[b"1-1", [b"f", b"v"]]]]]
    assert view.blpop("q1", 0.05) is None  # timeout: nil passes through


def test_a_real_wait_returns_the_unprefixed_key(plain: RedisClient) -> None:
    view = plain.with_prefix("t:")

    def push_later() -> None:
        time.sleep(0.2)
        plain.rpush("t:jobs", "job-1")  # written without the view, under the prefix

    pusher = threading.Thread(target=push_later)
    pusher.start()
    try:
        started = time.monotonic()
        assert view.blpop(["other", "jobs"], 5) == (b"jobs", b"job-1")
        assert 0.1 < time.monotonic() - started < 4
    finally:
        pusher.join(5)


def test_pipelines_and_transactions_are_prefixed(plain: RedisClient) -> None:
    plain.set("k1", "DECOY")
    view = plain.with_prefix("t:")
    for transaction in (True, False):
        p = view.pipeline(transaction=transaction)
        p.set("k1", "v1").get("k1").mset({"k2": "v2"}).keys("k*").rpush("l", "x").blpop("l", 1)
        result = p.execute()
        assert result[0] is True and result[1] == b"v1" and result[2] is True
        assert sorted(result[3]) == [b"k1", b"k2"]
        assert result[5] == (b"l", b"x")
    assert plain.get("k1") == b"DECOY"
    assert sorted(plain.keys()) == [b"k1", b"t:k1", b"t:k2"]


def test_watch_on_a_prefixed_pipeline_watches_the_prefixed_key(plain: RedisClient) -> None:
    view = plain.with_prefix("t:")
    view.set("k", "1")
    with view.pipeline() as p:
        p.watch("k")
        assert p.get("k") == b"1"  # immediate mode between WATCH and MULTI
        plain.set("k", "DECOY")  # the unprefixed key: not watched
        p.multi()
        p.set("k", "2")
        assert p.execute() == [True]
    with view.pipeline() as p:
        p.watch("k")
        plain.set("t:k", "changed")  # the watched, prefixed key
        p.multi()
        p.set("k", "3")
        with pytest.raises(pyredisclient.WatchError):
            p.execute()
    assert plain.mget("k", "t:k") == [b"DECOY", b"changed"]


def test_unsafe_command_in_a_pipeline_raises_before_anything_is_queued(plain: RedisClient) -> None:
    plain.set("k", "DECOY")
    view = plain.with_prefix("t:")
    p = view.pipeline()
    p.set("a", "1")
    with pytest.raises(KeyPrefixError, match="FLUSHDB"):
        p.flushdb()
    assert len(p) == 1
    assert p.execute() == [True]
    assert plain.get("k") == b"DECOY"


UNSAFE = [
    # leaks outside the prefix, refused without a grant
    ("CONFIG", "GET", "requirepass"),
    ("COPY", "k", "k2", "DB", 2),
    ("copy", "k", "k2", "REPLACE", "db", 2),
    ("MOVE", "k", 2),
    ("MIGRATE", "127.0.0.1", 1, "k", 0, 1000),
    ("CLIENT", "LIST"),
    ("INFO", "keyspace"),
    ("INFO",),
    ("DBSIZE",),
    ("FUNCTION", "DUMP"),
    ("FUNCTION", "LIST"),
    ("EVAL", "return redis.call('GET', 'k')", 0),
    ("EVALSHA", "a" * 40, 0),
    ("EVAL_RO", "return 1", 0),
    ("EVALSHA_RO", "a" * 40, 0),
    ("FCALL", "kget", 0),
    ("FCALL_RO", "kget_ro", 0),
    ("SCRIPT", "LOAD", "return 1"),
    ("SCRIPT", "EXISTS", "a" * 40),
    ("SLOWLOG", "GET"),
    ("SLOWLOG", "RESET"),
    ("LATENCY", "LATEST"),
    ("MEMORY", "STATS"),
    ("MEMORY", "PURGE"),
    ("PUBSUB", "NUMPAT"),
    ("ROLE",),
    ("MODULE", "LIST"),
    ("MODULE", "LOAD", "/x.so"),
    ("ACL", "LIST"),
    ("ACL", "GETUSER", "default"),
    ("FLUSHDB",),
    ("FLUSHALL",),
    ("FLUSHDB", "ASYNC"),
    ("RANDOMKEY",),
    ("SWAPDB", 0, 1),
    ("SELECT", 1),
    ("MIGRATE", "127.0.0.1", 1, "k", 0, 1000),
    ("SHUTDOWN", "NOSAVE"),
    ("DEBUG", "SLEEP", 0),
    ("DEBUG", "RELOAD"),
    ("SCRIPT", "FLUSH"),
    ("SCRIPT", "KILL"),
    ("FUNCTION", "FLUSH"),
    ("FUNCTION", "DELETE", "prefixlib"),
    ("FUNCTION", "LOAD", LIBRARY),
    ("CONFIG", "SET", "maxmemory", "1"),
    ("CONFIG", "REWRITE"),
    ("CLIENT", "KILL", "ID", 1),
    ("CLIENT", "PAUSE", 10),
    ("CLIENT", "REPLY", "OFF"),
    ("ACL", "SETUSER", "evil", "on"),
    ("SUBSCRIBE", "chan"),
    ("PSUBSCRIBE", "*"),
    ("MONITOR",),
    ("SAVE",),
    ("AUTH", "x"),
    ("HELLO", 3),
    ("MULTI",),
    ("EXEC",),
    ("DISCARD",),
    ("CLIENT", "TRACKING", "ON"),
    ("SCRIPT", "DEBUG", "YES"),
    ("OBJECT", "NOSUCHSUB", "k"),
    ("NOSUCHCOMMAND", "k"),
    (b"nosuchcommand",),
]


@pytest.mark.parametrize("args", UNSAFE, ids=lambda a: " ".join(map(str, a[:2])))
def test_unsafe_commands_raise_and_send_nothing(plain: RedisClient, args: Tuple[Any, ...]) -> None:
    plain.set("k", "DECOY")
    plain.execute_command("CONFIG", "RESETSTAT")
    view = plain.with_prefix("t:")
    with pytest.raises(KeyPrefixError) as info:
        view.execute_command(*args)
    message = str(info.value)
    assert "cannot be confined to key prefix 't:'" in message
    assert "grant key_prefix_allow=" in message or "refused on every prefixed client" in message
    assert isinstance(info.value, DataError)
    with pytest.raises(KeyPrefixError):  # and in a pipeline, before anything is queued
        view.pipeline().execute_command(*args)
    assert plain.get("k") == b"DECOY"
    # Only the test's own commands reached the server.
    assert set(plain.info("commandstats")) == {"cmdstat_config|resetstat", "cmdstat_get"}


def test_client_methods_for_unsafe_commands_raise(plain: RedisClient) -> None:
    plain.set("k", "DECOY")
    view = plain.with_prefix("t:")
    for call in (view.flushdb, view.flushall, view.script_flush):
        with pytest.raises(KeyPrefixError):
            call()
    with pytest.raises(KeyPrefixError, match="CONFIG SET"):
        view.config_set("maxmemory", "1")
    assert plain.get("k") == b"DECOY"


def test_allow_unsafe_sends_refused_and_unknown_commands_unchanged(plain: RedisClient) -> None:
    plain.set("k", "plain")
    view = plain.with_prefix("t:", allow_unsafe=True)
    view.set("k", "mine")
    assert view.execute_command("GET", "k") == b"mine"  # known commands are still prefixed
    assert plain.execute_command("RANDOMKEY") in (b"k", b"t:k")
    assert view.execute_command("RANDOMKEY") in (b"k", b"t:k")  # not stripped, not refused
    with pytest.raises(pyredisclient.ResponseError, match="unknown command"):
        view.execute_command("NOSUCHCOMMAND", "k")  # sent as it is: the server answers
    assert view.flushdb() is True
    assert plain.keys() == []
    star = plain.with_prefix("s*:", allow_unsafe=True)
    star.rpush("l", "2", "1")
    assert star.execute_command("SORT", "l", "BY", "nosort") == [b"2", b"1"]
    with pytest.raises(KeyPrefixError, match="the prefix holds one"):
        plain.with_prefix("s*:").execute_command("SORT", "l", "BY", "w_*")
    unconfined = plain.with_prefix("s*:", allow="unconfined")
    assert unconfined.execute_command("SORT", "l", "BY", "nosort") == [b"2", b"1"]


def test_script_management(env: Env, plain: RedisClient) -> None:
    """The scripts category also unlocks managing the scripts every client shares."""
    view = plain.with_prefix("t:", allow="scripts")
    tmp = "#!lua name=tmplib\nredis.register_function('tmpf', function() return 1 end)"
    try:
        assert view.execute_command("FUNCTION", "LOAD", tmp) == b"tmplib"
        dump = view.execute_command("FUNCTION", "DUMP")
        assert view.execute_command("FUNCTION", "DELETE", "tmplib") == b"OK"
        assert view.execute_command("FUNCTION", "RESTORE", dump, "REPLACE") == b"OK"
        assert view.execute_command("FCALL", "tmpf", 0) == 1
        for kill in (("SCRIPT", "KILL"), ("FUNCTION", "KILL")):
            with pytest.raises(pyredisclient.ResponseError, match="NOTBUSY"):
                view.execute_command(*kill)  # sent: nothing is running
        assert view.execute_command("SCRIPT", "FLUSH") == b"OK"
        assert view.execute_command("FUNCTION", "FLUSH") == b"OK"
        assert plain.execute_command("FUNCTION", "LIST") == []
    finally:  # what the other tests use
        plain.execute_command("FUNCTION", "LOAD", "REPLACE", LIBRARY)
        assert plain.script_load(GET_SCRIPT) == env.ctx.sha_get
    with pytest.raises(KeyPrefixError, match="key_prefix_allow='scripts'"):
        plain.with_prefix("t:").execute_command("FUNCTION", "FLUSH")


def test_admin_and_unconfined_grants(plain: RedisClient) -> None:
    plain.set("k", "outside")
    admin = plain.with_prefix("t:", allow="admin")
    admin.set("k", "inside")
    for args in (
        ("CONFIG", "RESETSTAT"),
        ("SLOWLOG", "RESET"),
        ("LATENCY", "RESET"),
        ("MEMORY", "PURGE"),
        ("CLIENT", "UNPAUSE"),
        ("ACL", "SETUSER", "tmp-user", "off"),
        ("ACL", "DELUSER", "tmp-user"),
        ("DEBUG", "SLEEP", 0),
        ("SWAPDB", 3, 3),
    ):
        admin.execute_command(*args)  # sent unchanged; the server answers
    with pytest.raises(KeyPrefixError, match="server_info"):
        admin.execute_command("CONFIG", "GET", "maxmemory")  # another category
    with pytest.raises(KeyPrefixError, match="unconfined"):
        admin.execute_command("NOSUCHCOMMAND", "k")
    assert admin.flushdb() is True  # the whole database, as granted
    assert plain.keys() == []
    unconfined = plain.with_prefix("t:", allow="unconfined")
    with pytest.raises(pyredisclient.ResponseError, match="unknown command"):
        unconfined.execute_command("NOSUCHCOMMAND", "k")  # sent as it is
    with pytest.raises(KeyPrefixError, match="admin"):
        unconfined.flushdb()


def test_sort_by_and_get_read_only_inside_the_prefix(plain: RedisClient) -> None:
    plain.mset({"w_a": "1", "w_b": "3", "w_c": "2", "d_a": "DECOY", "d_b": "DECOY"})
    view = plain.with_prefix("t:")
    view.rpush("l", "a", "b", "c")
    view.mset({"w_a": "3", "w_b": "1", "w_c": "2", "d_a": "A", "d_b": "B"})
    assert view.execute_command("SORT", "l", "BY", "w_*", "GET", "d_*", "GET", "#") == [
        b"B",
        b"b",
        None,
        b"c",
        b"A",
        b"a",
    ]


def test_key_prefix_option_is_the_same_as_with_prefix(plain: RedisClient) -> None:
    port = plain.config.port
    with RedisClient(port=port, key_prefix="t:") as configured:
        assert configured.key_prefix == "t:"
        assert configured.config.key_prefix == "t:"
        configured.set("a", "1")
        configured.rpush("l", "x")
        with pytest.raises(KeyPrefixError):
            configured.flushdb()
        assert sorted(configured.keys()) == [b"a", b"l"]
    view = plain.with_prefix("t:")
    assert view.key_prefix == "t:" and view.config.key_prefix == "t:"
    assert view.get("a") == b"1"
    assert sorted(plain.keys()) == [b"t:a", b"t:l"]
    assert plain.key_prefix is None
    with RedisClient.from_url(f"redis://127.0.0.1:{port}/0", key_prefix="t:") as from_url:
        assert from_url.get("a") == b"1"


def test_views_nest(plain: RedisClient) -> None:
    view = plain.with_prefix("a:").with_prefix("b:")
    view.set("k", "v")
    assert plain.keys() == [b"a:b:k"]
    assert view.key_prefix == "a:b:" and view.config.key_prefix == "a:b:"
    assert view.keys() == [b"k"]
    mixed = plain.with_prefix("a:").with_prefix(b"c:")
    assert mixed.key_prefix == b"a:c:"
    with RedisClient(port=plain.config.port, key_prefix="app:") as app:
        app.with_prefix("x:").set("y", "1")
        again = RedisClient(config=app.with_prefix("x:").config)  # same confinement
        try:
            assert again.get("y") == b"1"
        finally:
            again.close()
    assert sorted(plain.keys()) == [b"a:b:k", b"app:x:y"]


def test_the_view_shares_the_pool(plain: RedisClient) -> None:
    view = plain.with_prefix("t:")
    assert view._core is plain._core
    plain.ping()
    before = plain.pool_stats()
    for i in range(20):
        view.set(f"k{i}", i)
        plain.get("x")
    after = plain.pool_stats()
    assert view.pool_stats() == after
    assert after["created"] == before["created"]
    assert after["in_use"] == 0
    view.close()  # closing the view closes the shared pool too
    with pytest.raises(pyredisclient.ConnectionError):
        plain.ping()


def test_published_messages_reach_subscribers_of_the_prefixed_channel(
    env: Env, plain: RedisClient
) -> None:
    view = plain.with_prefix("t:")
    with socket.create_connection(("127.0.0.1", env.server.port), timeout=5) as sub:
        sub.sendall(b"*3\r\n$9\r\nSUBSCRIBE\r\n$6\r\nt:news\r\n$4\r\nnews\r\n")
        wait_for(lambda: plain.execute_command("PUBSUB", "NUMSUB", "t:news")[1] == 1)
        wait_for(lambda: plain.execute_command("PUBSUB", "NUMSUB", "news")[1] == 1)
        assert view.publish("news", "hello") == 1
        assert view.execute_command("PUBSUB", "CHANNELS") == [b"news"]
        assert view.execute_command("PUBSUB", "NUMSUB", "news", "x") == [b"news", 1, b"x", 0]
        data = b""
        deadline = time.monotonic() + 5
        while b"hello" not in data and time.monotonic() < deadline:
            data += sub.recv(4096)
        assert b"$6\r\nt:news\r\n$5\r\nhello" in data
        assert b"$4\r\nnews\r\n$5\r\nhello" not in data


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


# -- pure logic (no server) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "key", "expected"),
    [
        ("p:", "k", b"p:k"),
        ("p:", b"k", b"p:k"),
        (b"p:", "k", b"p:k"),
        (b"p:", b"k", b"p:k"),
        ("p:", bytearray(b"k"), b"p:k"),
        ("p:", memoryview(b"xkx")[1:2], b"p:k"),
        (b"p:", memoryview(b"k"), b"p:k"),
        ("p:", 12, b"p:12"),
        (b"p:", -3, b"p:-3"),
        ("p:", 2**70, b"p:1180591620717411303424"),
        ("p:", 1.5, b"p:1.5"),
        ("p:", 2.0, b"p:2.0"),
        ("é:", "ü", "é:ü".encode()),
        (b"\xc3\xa9:", "ü", "é:ü".encode()),
    ],
)
def test_key_types(prefix: Any, key: Any, expected: Any) -> None:
    """Every argument is sent as the bytes the C layer would send for it."""
    result = KeyPrefixer(prefix).prefix_args(("GET", key))
    assert result == (b"GET", expected)
    assert type(result[1]) is bytes
    # The C layer encodes the key itself to the same bytes (read back from a batch).
    batch = pyredisclient._core.Batch()
    batch.append((key,))
    sent = expected[len(KeyPrefixer(prefix).prefix_args(("GET", b""))[1]) :]
    assert batch.command_name(0) == sent.decode("utf-8", "backslashreplace")


@pytest.mark.parametrize("key", [True, None, object(), ["k"]])
def test_keys_of_other_types_raise_data_error(key: Any) -> None:
    with pytest.raises(DataError, match="Invalid input of type"):
        KeyPrefixer("p:").prefix_args(("GET", key))


def test_arguments_are_refused_as_the_c_layer_refuses_them() -> None:
    prefixer = KeyPrefixer("p:")
    with pytest.raises(
        DataError, match="argument 1 of GET: a str that cannot be encoded as utf-8: U\\+DC80"
    ):
        prefixer.prefix_args(("GET", "a\udc80"))  # a lone surrogate
    with pytest.raises(DataError, match="argument 2: a memoryview argument must be C-contig"):
        prefixer.prefix_args(("SET", "k", memoryview(b"abcdef")[::2]))
    with pytest.raises(DataError, match="'bool' for argument 2 of SET"):
        prefixer.prefix_args(("SET", "k", True))
    with pytest.raises(DataError, match="'NoneType' for argument 1\\."):
        prefixer.prefix_args((b"GET", None))


def test_arguments_use_the_clients_encoding() -> None:
    """A latin-1 client sends str arguments (and a str prefix) in latin-1, with its
    error handler, as the C layer does."""
    prefixer = KeyPrefixer("é:", encoding="latin-1", errors="replace")
    assert prefixer.prefix_args(("SET", "ü", "€", 1.5, 2)) == (
        b"SET",
        "é:ü".encode("latin-1"),
        b"?",
        b"1.5",
        b"2",
    )

    class Sub(str):
        pass

    assert prefixer.prefix_args((Sub("GET"), Sub("k"))) == (b"GET", "é:k".encode("latin-1"))
    with pytest.raises(DataError, match="cannot be encoded as latin-1: U\\+20AC"):
        KeyPrefixer("p:", encoding="latin-1").prefix_args(("GET", "€"))
    with pytest.raises(ConfigurationError, match="cannot be encoded as latin-1"):
        KeyPrefixer("€:", encoding="latin-1")


def test_prefix_is_kept_as_given_and_must_be_non_empty() -> None:
    assert KeyPrefixer("p:").prefix == "p:"
    assert KeyPrefixer(b"p:").prefix == b"p:"
    for bad in ("", b""):
        with pytest.raises(ConfigurationError, match="empty"):
            KeyPrefixer(bad)
    with pytest.raises(ConfigurationError, match="str or bytes"):
        KeyPrefixer(5)  # type: ignore[arg-type]
    assert "allow=['admin', 'databases', 'scripts', 'server_info', 'unconfined']" in repr(
        KeyPrefixer("p:", allow_unsafe=True)
    )
    assert KeyPrefixer("p:", allow="all").allow_unsafe is True
    assert KeyPrefixer("p:", allow=["scripts"]).allowed == {"scripts"}
    with pytest.raises(ConfigurationError, match="unknown scrpts"):
        KeyPrefixer("p:", allow="scrpts")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("get", "k"), ("get", "p:k")),
        ((b"GET", b"k"), (b"GET", b"p:k")),
        (("GET",), ("GET",)),  # too few arguments: the server reports it
        (("MSET", "a", 1, "b", 2), ("MSET", "p:a", 1, "p:b", 2)),
        (("BLPOP", "a", "b", 0), ("BLPOP", "p:a", "p:b", 0)),
        (("BITOP", "OR", "d", "a", "b"), ("BITOP", "OR", "p:d", "p:a", "p:b")),
        (("EVAL", "s", 0), ("EVAL", "s", 0)),
        (("EVAL", "s", "2", "a", "b", "c"), ("EVAL", "s", "2", "p:a", "p:b", "c")),
        (("FCALL", "f", b"1", "a", "b"), ("FCALL", "f", b"1", "p:a", "b")),
        (("ZUNIONSTORE", "d", 2, "a", "b", "WEIGHTS", 1, 2),
         ("ZUNIONSTORE", "p:d", 2, "p:a", "p:b", "WEIGHTS", 1, 2)),
        (("BZMPOP", 0, 1, "a", "MIN"), ("BZMPOP", 0, 1, "p:a", "MIN")),
        (("XREAD", "COUNT", 1, "BLOCK", 0, "STREAMS", "a", "b", "0", "$"),
         ("XREAD", "COUNT", 1, "BLOCK", 0, "STREAMS", "p:a", "p:b", "0", "$")),
        (("XREADGROUP", "GROUP", "STREAMS", "c", "NOACK", "STREAMS", "a", ">"),
         ("XREADGROUP", "GROUP", "STREAMS", "c", "NOACK", "STREAMS", "p:a", ">")),
        (("GEORADIUSBYMEMBER", "g", "STORE", 1, "km", "STORE", "d", "STOREDIST", "e"),
         ("GEORADIUSBYMEMBER", "p:g", "STORE", 1, "km", "STORE", "p:d", "STOREDIST", "p:e")),
        (("GEORADIUS", "g", 0, 0, 1, "km", "COUNT", 1, "STORE", "d"),
         ("GEORADIUS", "p:g", 0, 0, 1, "km", "COUNT", 1, "STORE", "p:d")),
        (("SORT", "l", "LIMIT", 0, 1, "GET", "#", "GET", "o_*->f", "STORE", "d"),
         ("SORT", "p:l", "LIMIT", 0, 1, "GET", "#", "GET", "p:o_*->f", "STORE", "p:d")),
        (("SCAN", 0), ("SCAN", 0, "MATCH", "p:*")),
        (("SCAN", 0, "MATCH", "a*", "COUNT", 5, "MATCH", b"b"),
         ("SCAN", 0, "MATCH", "p:a*", "COUNT", 5, "MATCH", b"p:b")),
        (("KEYS", "*"), ("KEYS", "p:*")),
        (("PUBSUB", "CHANNELS"), ("PUBSUB", "CHANNELS", "p:*")),
        (("PUBSUB", "numsub", "a", "b"), ("PUBSUB", "numsub", "p:a", "p:b")),
        (("OBJECT", "ENCODING", "k"), ("OBJECT", "ENCODING", "p:k")),
        (("MEMORY", "USAGE", "k", "SAMPLES", 0), ("MEMORY", "USAGE", "p:k", "SAMPLES", 0)),
        (("XGROUP", "CREATE", "k", "g", "$"), ("XGROUP", "CREATE", "p:k", "g", "$")),
        (("DEBUG", "OBJECT", "k"), ("DEBUG", "OBJECT", "p:k")),
        (("PING",), ("PING",)),
        ((), ()),  # the C layer refuses an empty command
        ((bytearray(b"get"), "k"), (b"get", "p:k")),
        (("CLIENT", "SETNAME", "n"), ("CLIENT", "SETNAME", "n")),
        (("MOVE", "k", 2), ("MOVE", "p:k", 2)),
        (("COPY", "a", "b", "DB", 2, "REPLACE"), ("COPY", "p:a", "p:b", "DB", 2, "REPLACE")),
        (("MIGRATE", "h", 1, "k", 0, 5, "COPY", "AUTH", "KEYS", "KEYS", "a"),
         ("MIGRATE", "h", 1, "p:k", 0, 5, "COPY", "AUTH", "KEYS", "KEYS", "p:a")),
        (("MIGRATE", "h", 1, "", 0, 5, "AUTH2", "u", "p", "KEYS", "a", "b"),
         ("MIGRATE", "h", 1, "", 0, 5, "AUTH2", "u", "p", "KEYS", "p:a", "p:b")),
    ],
)  # fmt: skip
def test_prefix_args(args: Tuple[Any, ...], expected: Tuple[Any, ...]) -> None:
    """Sent as bytes: str as UTF-8, numbers in decimal (granted every category)."""
    sent = tuple(a if isinstance(a, bytes) else str(a).encode() for a in expected)
    assert KeyPrefixer("p:", allow="all").prefix_args(args) == sent


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("EVAL", "s", "x", "a"), "numkeys must be an integer"),
        (("EVAL", "s", -1), "does not match"),
        (("EVAL", "s", " 1", "a"), "numkeys must be an integer"),  # the server's syntax
        (("EVAL", "s", "+1", "a"), "numkeys must be an integer"),
        (("EVAL", "s", "1_0", "a"), "numkeys must be an integer"),
        (("EVAL", "s", 3, "a", "b"), "does not match"),
        (("ZUNION", 1.5, "a"), "numkeys must be an integer"),
        (("XREAD", "COUNT", 1, "a", "0"), "unexpected 'a' before STREAMS"),
        (("XREAD", "STREAMS", "a", "b", "0"), "as many IDs as keys"),
        (("XREAD", "COUNT", 1), "no STREAMS"),
    ],
)
def test_malformed_key_forms_raise_data_error(args: Tuple[Any, ...], message: str) -> None:
    with pytest.raises(DataError, match=message):
        KeyPrefixer("p:", allow="scripts").prefix_args(args)


def test_strip_callbacks() -> None:
    prefixer = KeyPrefixer("p:")

    def cb(args: Tuple[Any, ...], reply: Any, callback: Any = None) -> Any:
        wrapped = prefixer.wrap_callback(args, callback)
        return reply if wrapped is None else wrapped(reply)

    assert prefixer.wrap_callback(("GET", "k"), None) is None
    assert prefixer.wrap_callback(("GET", "k"), len) is len
    assert cb(("KEYS", "*"), [b"p:a", "p:b", b"other"]) == [b"a", "b", b"other"]
    assert cb(("SCAN", 0), [b"7", [b"p:a"]], tuple) == (b"7", [b"a"])
    assert cb(("BLPOP", "a", 0), None) is None
    assert cb(("BLPOP", "a", 0), [b"p:a", b"v"]) == [b"a", b"v"]
    assert cb(("LMPOP", 1, "a", "LEFT"), [b"p:a", [b"v"]]) == [b"a", [b"v"]]
    assert cb(("XREAD", "STREAMS", "a", "0"), [[b"p:a", []]]) == [[b"a", []]]
    assert cb(("PUBSUB", "NUMSUB", "a"), [b"p:a", 0]) == [b"a", 0]
    # A bytes prefix strips str replies too (decode_responses=True).
    assert KeyPrefixer(b"p:").wrap_callback(("KEYS", "*"), None)(["p:a"]) == ["a"]  # type: ignore[misc]
    with pytest.raises(KeyPrefixError):
        prefixer.wrap_callback(("FLUSHDB",), None)


def test_supported_commands_lists_subcommands_and_no_refused_command() -> None:
    names = supported_commands()
    assert "OBJECT ENCODING" in names and "GET" in names and "EVAL" not in names
    assert "EVAL" in supported_commands(["scripts"]) and "FLUSHDB" in supported_commands("all")
    for refused in ("FLUSHDB", "RANDOMKEY", "SCRIPT FLUSH", "DEBUG SLEEP", "SUBSCRIBE"):
        assert refused not in names
    assert names == sorted(names)
