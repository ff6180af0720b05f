"""The key-prefix table: where each command's keys are, and what a prefix must refuse.

:data:`COMMANDS` maps every command the key-prefix layer knows (upper-case name) to a
spec: how to find its keys (one key, a range, after a numkeys argument, SORT's and
MIGRATE's options, XREAD's STREAMS, or per subcommand), which parts of its reply name
keys, and whether it is refused or sent only with an opt-in category. The prefixer
(:mod:`pyredisclient.commands.keyprefix`) reads it; the categories and what each
unlocks are described there.

This table is hand-written beside the C core's generated command table
(``_core.command_keys``); the opt-in categories and refusals are ours.
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, Iterable, List, Tuple

from ..config.options import KEY_PREFIX_CATEGORIES, _categories

#: The opt-in categories (see the module docstring).
CATEGORIES: FrozenSet[str] = frozenset(KEY_PREFIX_CATEGORIES)
ADMIN, DATABASES, SCRIPTS, SERVER_INFO, UNCONFINED = KEY_PREFIX_CATEGORIES

# Spec kinds: how to find the keys of one command.
PASS = 0  # no key arguments: send unchanged
ONE = 1  # the key is argument 1
RANGE = 2  # keys at first..last step (last < 0 counts from the end, like COMMAND INFO)
NUMKEYS = 3  # keys after a numkeys argument, plus fixed keys before it
KEYS_PATTERN = 4  # KEYS pattern
SCAN = 5  # SCAN cursor [MATCH pattern] [COUNT n] [TYPE t]
SORT = 6  # SORT key [BY pattern] [LIMIT o c] [GET pattern ...] [STORE dest]
GEORADIUS = 7  # key at 1, STORE/STOREDIST key options from argument a
XREAD = 8  # keys: the first half of the arguments after STREAMS
SUB = 9  # look the subcommand (argument 1) up in a second table
REFUSE = 10  # never under a prefix: a connection-state command
CHANNELS = 11  # PUBSUB CHANNELS [pattern]
GATE = 12  # needs category a; then keys as spec b
COPY = 13  # COPY src dst [DB n] [REPLACE]: DB n needs the databases category
MIGRATE = 14  # MIGRATE host port key|"" db timeout [...] [KEYS key ...]

# Strip kinds: which parts of the reply are keys that carry the prefix.
S_NONE = 0
S_LIST = 1  # every element (KEYS, PUBSUB CHANNELS)
S_SCAN = 2  # [cursor, [keys]]
S_FIRST = 3  # [key, ...] or nil (BLPOP, LMPOP, ...)
S_XREAD = 4  # [[key, entries], ...] or nil
S_PAIRS = 5  # [channel, count, channel, count, ...]

#: A spec: (kind, a, b, c, strip, why). ``why`` is the reason a REFUSE or GATE spec gives.
Spec = Tuple[int, Any, Any, Any, int, str]


def _spec(kind: int, a: Any = None, b: Any = None, c: Any = None, strip: int = S_NONE) -> Spec:
    return (kind, a, b, c, strip, "")


def _refuse(why: str) -> Spec:
    return (REFUSE, None, None, None, S_NONE, why)


def _gate(category: str, why: str, inner: Spec | None = None) -> Spec:
    """A command sent (as ``inner`` says, default unchanged) only with ``category``."""
    inner = PASS_SPEC if inner is None else inner
    return (GATE, category, inner, None, inner[4], why)


#: The spec of a command sent unchanged.
PASS_SPEC = _spec(PASS)
_ONE = _spec(ONE)
_KEY2 = _spec(RANGE, 2, 2, 1)  # OBJECT ENCODING key, XINFO STREAM key, ...
_TWO = _spec(RANGE, 1, 2, 1)  # RENAME src dst, LMOVE src dst ...
_ALL = _spec(RANGE, 1, -1, 1)  # DEL key [key ...]
_INTERLEAVED = _spec(RANGE, 1, -1, 2)  # MSET key value [key value ...]


def _sub(table: Dict[str, Spec], default: Spec | None = None) -> Spec:
    """A command whose keys depend on its subcommand. ``default`` serves a missing or
    unknown subcommand (None: unknown, so the unconfined category)."""
    return (SUB, table, default, None, S_NONE, "")


# Why each gated or refused command reaches beyond the prefix.
_SCRIPT_WHY = "Lua can name any key and run almost any command"
_FUNCTION_WHY = "it reads or changes the libraries every client shares"
_INFO_WHY = "it reports on the whole server, other prefixes included"
_CONFIG_GET_WHY = "it shows the server's configuration, passwords included"
_CLIENT_LIST_WHY = "it shows every client's connection and last command"
_SLOWLOG_WHY = "it shows other clients' commands and arguments"
_ACL_READ_WHY = "it shows the server's users and their rules"
_ADMIN_WHY = "it acts on the whole server, not only on this prefix"
_DEBUG_WHY = "DEBUG can crash, stall or reconfigure the server"
_STATE_WHY = "it changes the state of a shared pooled connection"
_PUBSUB_WHY = "this client has no pub/sub connection; subscribe on a dedicated client"
_TXN_WHY = "the pipeline sends it: use pipeline() or transaction()"

_ONE_KEY_COMMANDS = """
    APPEND BITCOUNT BITFIELD BITFIELD_RO BITPOS DECR DECRBY DUMP EXPIRE EXPIREAT EXPIRETIME
    GEOADD GEODIST GEOHASH GEOPOS GEORADIUS_RO GEORADIUSBYMEMBER_RO GEOSEARCH GET GETBIT
    GETDEL GETEX GETRANGE GETSET HDEL HEXISTS HEXPIRE HEXPIREAT HEXPIRETIME HGET HGETALL
    HGETDEL HGETEX HINCRBY HINCRBYFLOAT HKEYS HLEN HMGET HMSET HPERSIST HPEXPIRE HPEXPIREAT
    HPEXPIRETIME HPTTL HRANDFIELD HSCAN HSET HSETEX HSETNX HSTRLEN HTTL HVALS INCR INCRBY
    INCRBYFLOAT LINDEX LINSERT LLEN LPOP LPOS LPUSH LPUSHX LRANGE LREM LSET LTRIM
    PERSIST PEXPIRE PEXPIREAT PEXPIRETIME PFADD PSETEX PTTL PUBLISH RESTORE RPOP RPUSH
    RPUSHX SADD SCARD SET SETBIT SETEX SETNX SETRANGE SISMEMBER SMEMBERS SMISMEMBER SPOP
    SPUBLISH SRANDMEMBER SREM SSCAN STRLEN SUBSTR TTL TYPE XACK XADD XAUTOCLAIM XCLAIM XDEL
    XLEN XPENDING XRANGE XREVRANGE XSETID XTRIM ZADD ZCARD ZCOUNT ZINCRBY ZLEXCOUNT ZMSCORE
    ZPOPMAX ZPOPMIN ZRANDMEMBER ZRANGE ZRANGEBYLEX ZRANGEBYSCORE ZRANK ZREM ZREMRANGEBYLEX
    ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREVRANGE ZREVRANGEBYLEX ZREVRANGEBYSCORE ZREVRANK ZSCAN
    ZSCORE
"""

# Key-less and revealing nothing outside the prefix. QUIT closes only its own
# connection; UNWATCH runs on a watching pipeline's pinned connection.
_KEYLESS_COMMANDS = """
    COMMAND ECHO LASTSAVE LOLWUT PING QUIT TIME UNWATCH WAIT WAITAOF
"""

_SERVER_INFO_COMMANDS: Dict[str, str] = {
    "INFO": _INFO_WHY,
    "DBSIZE": "it counts every key of the database",
    "RANDOMKEY": "it returns a key from the whole database",
    "ROLE": "it shows the server's replication peers",
}

_ADMIN_COMMANDS: Dict[str, str] = {
    "FLUSHDB": "it deletes every key of the database",
    "FLUSHALL": "it deletes every key of every database",
    "SWAPDB": "it swaps whole databases",
    "SHUTDOWN": "it stops the server",
    "SAVE": _ADMIN_WHY,
    "BGSAVE": _ADMIN_WHY,
    "BGREWRITEAOF": _ADMIN_WHY,
    "REPLICAOF": "it changes replication for the whole server",
    "SLAVEOF": "it changes replication for the whole server",
    "FAILOVER": "it changes replication for the whole server",
}

# Connection-state commands: refused on every client by the C layer, and here too.
_REFUSED_COMMANDS: Dict[str, str] = {
    "SELECT": "it changes the database of a shared pooled connection",
    "AUTH": "it changes the user of a shared pooled connection",
    "HELLO": "it changes the protocol or user of a shared pooled connection",
    "RESET": "it resets a shared pooled connection",
    "MONITOR": "it streams every client's commands",
    "SYNC": "it streams the whole dataset",
    "PSYNC": "it streams the whole dataset",
    "REPLCONF": "it belongs to the replication protocol",
    "READONLY": _STATE_WHY,
    "READWRITE": _STATE_WHY,
    "ASKING": _STATE_WHY,
    "MULTI": _TXN_WHY,
    "EXEC": _TXN_WHY,
    "DISCARD": _TXN_WHY,
    "SUBSCRIBE": _PUBSUB_WHY,
    "PSUBSCRIBE": _PUBSUB_WHY,
    "SSUBSCRIBE": _PUBSUB_WHY,
    "UNSUBSCRIBE": _PUBSUB_WHY,
    "PUNSUBSCRIBE": _PUBSUB_WHY,
    "SUNSUBSCRIBE": _PUBSUB_WHY,
}

_GEORADIUS = _spec(GEORADIUS, 6)
_GEORADIUSBYMEMBER = _spec(GEORADIUS, 5)


def _admin(why: str = _ADMIN_WHY) -> Spec:
    return _gate(ADMIN, why)


def _info(why: str = _INFO_WHY) -> Spec:
    return _gate(SERVER_INFO, why)


def _family(names: str, spec: Spec, **more: Spec) -> Dict[str, Spec]:
    """A subcommand table: each of ``names`` has ``spec``; ``more`` adds others."""
    table = {name: spec for name in names.split()}
    table.update(more)
    return table


def _build_table() -> Dict[str, Spec]:
    table: Dict[str, Spec] = {}
    for name in _ONE_KEY_COMMANDS.split():
        table[name] = _ONE
    for name in _KEYLESS_COMMANDS.split():
        table[name] = PASS_SPEC
    for name in "DEL UNLINK EXISTS TOUCH MGET WATCH SINTER SUNION SDIFF PFCOUNT".split():
        table[name] = _ALL
    for name in "SINTERSTORE SUNIONSTORE SDIFFSTORE PFMERGE".split():
        table[name] = _ALL  # destination first, then the sources
    table["MSET"] = table["MSETNX"] = _INTERLEAVED
    for name in (
        "RENAME RENAMENX SMOVE LMOVE RPOPLPUSH BLMOVE BRPOPLPUSH LCS GEOSEARCHSTORE ZRANGESTORE"
    ).split():
        table[name] = _TWO
    table["COPY"] = _spec(COPY)
    table["MOVE"] = _gate(DATABASES, "it moves the key to another database", _ONE)
    table["MIGRATE"] = _gate(
        DATABASES,
        "it moves keys to another server, where the prefix confines nothing",
        _spec(MIGRATE),
    )
    table["BITOP"] = _spec(RANGE, 2, -1, 1)  # BITOP op dest key [key ...]
    for name in "BLPOP BRPOP BZPOPMIN BZPOPMAX".split():
        table[name] = _spec(RANGE, 1, -2, 1, strip=S_FIRST)
    # numkeys forms: (kind, index of numkeys, fixed key indexes before it)
    for name in "EVAL EVALSHA EVAL_RO EVALSHA_RO FCALL FCALL_RO".split():
        table[name] = _gate(SCRIPTS, _SCRIPT_WHY, _spec(NUMKEYS, 2, ()))
    for name in "ZUNION ZINTER ZDIFF SINTERCARD ZINTERCARD".split():
        table[name] = _spec(NUMKEYS, 1, ())
    for name in "ZUNIONSTORE ZINTERSTORE ZDIFFSTORE".split():
        table[name] = _spec(NUMKEYS, 2, (1,))
    for name in "LMPOP ZMPOP".split():
        table[name] = _spec(NUMKEYS, 1, (), strip=S_FIRST)
    for name in "BLMPOP BZMPOP".split():
        table[name] = _spec(NUMKEYS, 2, (), strip=S_FIRST)
    table["KEYS"] = _spec(KEYS_PATTERN, strip=S_LIST)
    table["SCAN"] = _spec(SCAN, strip=S_SCAN)
    table["SORT"] = table["SORT_RO"] = _spec(SORT)
    table["GEORADIUS"] = _GEORADIUS
    table["GEORADIUSBYMEMBER"] = _GEORADIUSBYMEMBER
    table["XREAD"] = table["XREADGROUP"] = _spec(XREAD, strip=S_XREAD)
    for name, why in _SERVER_INFO_COMMANDS.items():
        table[name] = _info(why)
    for name, why in _ADMIN_COMMANDS.items():
        table[name] = _admin(why)
    for name, why in _REFUSED_COMMANDS.items():
        table[name] = _refuse(why)

    # Subcommand forms.
    table["OBJECT"] = _sub(
        {"ENCODING": _KEY2, "FREQ": _KEY2, "IDLETIME": _KEY2, "REFCOUNT": _KEY2, "HELP": PASS_SPEC}
    )
    table["MEMORY"] = _sub(
        {
            "USAGE": _KEY2,
            "DOCTOR": _info(),
            "STATS": _info(),
            "MALLOC-STATS": _info(),
            "PURGE": _admin(),
            "HELP": PASS_SPEC,
        },
        _admin(),
    )
    table["DEBUG"] = _sub({"OBJECT": _KEY2}, _admin(_DEBUG_WHY))
    table["XINFO"] = _sub({"STREAM": _KEY2, "GROUPS": _KEY2, "CONSUMERS": _KEY2, "HELP": PASS_SPEC})
    table["XGROUP"] = _sub(
        {
            "CREATE": _KEY2,
            "SETID": _KEY2,
            "DESTROY": _KEY2,
            "CREATECONSUMER": _KEY2,
            "DELCONSUMER": _KEY2,
            "HELP": PASS_SPEC,
        }
    )
    # Unknown subcommands of these fall in the category of their family.
    script = _gate(SCRIPTS, "it affects every script on the server, not only this prefix's")
    table["SCRIPT"] = _sub(
        _family("LOAD EXISTS FLUSH KILL", script, HELP=PASS_SPEC, DEBUG=_refuse(_STATE_WHY)), script
    )
    function = _gate(SCRIPTS, _FUNCTION_WHY)
    table["FUNCTION"] = _sub(
        _family("LOAD LIST DUMP STATS DELETE FLUSH RESTORE KILL", function, HELP=PASS_SPEC),
        function,
    )
    table["CONFIG"] = _sub(
        _family("SET REWRITE RESETSTAT", _admin(), GET=_info(_CONFIG_GET_WHY), HELP=PASS_SPEC),
        _admin(),
    )
    client = _family("ID INFO GETNAME SETNAME GETREDIR TRACKINGINFO SETINFO HELP", PASS_SPEC)
    client.update(_family("REPLY TRACKING CACHING NO-EVICT NO-TOUCH", _refuse(_STATE_WHY)))
    others = _admin("it acts on other clients' connections")
    client.update(_family("KILL PAUSE UNPAUSE UNBLOCK", others, LIST=_info(_CLIENT_LIST_WHY)))
    table["CLIENT"] = _sub(client, others)
    users = _admin("it administers users for the whole server")
    acl = _family("WHOAMI CAT GENPASS HELP", PASS_SPEC)
    acl.update(_family("LIST USERS GETUSER LOG DRYRUN", _info(_ACL_READ_WHY)))
    acl.update(_family("SETUSER DELUSER LOAD SAVE", users))
    table["ACL"] = _sub(acl, users)
    table["SLOWLOG"] = _sub(
        _family("GET LEN", _info(_SLOWLOG_WHY), RESET=_admin(), HELP=PASS_SPEC), _admin()
    )
    table["LATENCY"] = _sub(
        _family("DOCTOR GRAPH HISTOGRAM HISTORY LATEST", _info(), RESET=_admin(), HELP=PASS_SPEC),
        _info(),
    )
    table["MODULE"] = _sub(
        _family("LOAD LOADEX UNLOAD", _admin(), LIST=_info(), HELP=PASS_SPEC), _admin()
    )
    channels = _spec(CHANNELS, strip=S_LIST)
    numsub = _spec(RANGE, 2, -1, 1, strip=S_PAIRS)
    table["PUBSUB"] = _sub(
        {
            "CHANNELS": channels,
            "SHARDCHANNELS": channels,
            "NUMSUB": numsub,
            "SHARDNUMSUB": numsub,
            "NUMPAT": _info("it counts every pattern subscription of the server"),
            "HELP": PASS_SPEC,
        }
    )
    return table


#: Every command the prefixer knows, by upper-case name.
COMMANDS: Dict[str, Spec] = _build_table()


def _bytes_table(table: Dict[str, Spec]) -> Dict[bytes, Spec]:
    """The table keyed by bytes, as converted arguments are looked up."""
    out: Dict[bytes, Spec] = {}
    for name, spec in table.items():
        if spec[0] == SUB:
            spec = (SUB, _bytes_table(spec[1]), spec[2], None, S_NONE, "")
        out[name.encode()] = spec
    return out


#: :data:`COMMANDS` keyed by bytes, as the prefixer looks converted arguments up.
BYTES_TABLE: Dict[bytes, Spec] = _bytes_table(COMMANDS)


def _sendable(spec: Spec, allowed: FrozenSet[str]) -> bool:
    """Whether a spec is sent with ``allowed`` granted."""
    if spec[0] == GATE:
        return spec[1] in allowed
    return spec[0] != REFUSE


def supported_commands(allow: Iterable[str] = ()) -> List[str]:
    """Names of the commands a prefixed client sends with the categories ``allow``.

    Subcommand forms are listed as ``"OBJECT ENCODING"``; refused commands are left out.
    """
    allowed = frozenset(_categories("allow", allow))
    names: List[str] = []
    for name, spec in COMMANDS.items():
        if spec[0] == SUB:
            names.extend(f"{name} {sub}" for sub, s in spec[1].items() if _sendable(s, allowed))
        elif _sendable(spec, allowed):
            names.append(name)
    return sorted(names)


# -- confined scripts (issue 15b) ------------------------------------------------------

#: Lua scripts that touch only their ``KEYS`` (which the prefixer prefixes) and call
#: no command that reaches beyond them: a prefixed client runs these with EVAL or
#: EVALSHA without the ``scripts`` category. ``lock()`` uses them (redis-py's Lock
#: semantics): release deletes the lock only while it holds our token; extend adds to
#: (ARGV[3] "0") or replaces the TTL; reacquire resets it. Each returns 1 when the
#: token matched, else 0.
CONFINED_SCRIPTS: Dict[str, str] = {
    "lock_release": (
        "if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end\n"
        "redis.call('del', KEYS[1])\n"
        "return 1\n"
    ),
    "lock_extend": (
        "if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end\n"
        "local ttl = redis.call('pttl', KEYS[1])\n"
        "if ttl < 0 then return 0 end\n"
        "local newttl = tonumber(ARGV[2])\n"
        "if ARGV[3] == '0' then newttl = newttl + ttl end\n"
        "if newttl > 0 then redis.call('pexpire', KEYS[1], newttl) end\n"
        "return 1\n"
    ),
    "lock_reacquire": (
        "if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end\n"
        "if tonumber(ARGV[2]) > 0 then redis.call('pexpire', KEYS[1], ARGV[2]) end\n"
        "return 1\n"
    ),
}


def _confined_script_args() -> FrozenSet[bytes]:
    import hashlib

    out = set()
    for body in CONFINED_SCRIPTS.values():
        data = body.encode()
        out.add(data)
        out.add(hashlib.sha1(data).hexdigest().encode())
    return frozenset(out)


#: The script argument (body, or SHA1 in hex) of an EVAL/EVALSHA a prefixed client
#: sends without the ``scripts`` category.
CONFINED_SCRIPT_ARGS: FrozenSet[bytes] = _confined_script_args()
