"""The key-prefix table: where each command's keys are, and what a prefix must refuse.

:data:`COMMANDS` maps every command the key-prefix layer knows (upper-case name) to a
spec: how to find its keys (one key, a range, after a numkeys argument, from the key
specs at call time, SORT's and MIGRATE's options, XREAD's STREAMS, or per subcommand),
which parts of its reply name keys, and whether it is refused or sent only with an
opt-in category. The prefixer (:mod:`pyredisclient.commands.keyprefix`) reads it; the
categories and what each unlocks are described there.

**Key positions come from the generated command table** (``_core.command_spec``, made
by ``scripts/gen_commands.py`` from the server's ``COMMAND INFO`` key specs, the table
the retry rules read too): on first use, each command's key specs are compiled into one
of the fast kinds below (ONE, RANGE, NUMKEYS), or KEYSPEC when only the C core can
follow them (keyword searches, several ranges), which asks ``_core.command_keys`` per
call. A command added to the generated table is prefixed with no edit here.

Hand-written below is only what key specs cannot say: the opt-in categories and
refusals (a key spec does not tell what a key-less command reveals or changes),
which replies name keys to strip (KEYS, SCAN, BLPOP, LMPOP, XREAD, PUBSUB), channel
names prefixed like keys (PUBLISH, SPUBLISH, PUBSUB), patterns (KEYS, SCAN, SORT
BY/GET), and forms whose key specs are incomplete or that we check more strictly
(SORT, MIGRATE, COPY ... DB, XREAD's STREAMS).
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, Iterable, List, Tuple

from .._core import command_names, command_spec
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
KEYSPEC = 7  # keys where _core.command_keys finds them; a: the arity
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

# Commands with key specs that stay unknown to the prefixer (the unconfined category,
# as any command it does not know): PFDEBUG is a debugging command, RESTORE-ASKING
# belongs to Cluster's slot migration.
_NOT_FROM_KEY_SPECS = ("PFDEBUG", "RESTORE-ASKING")

# Replies that name keys (key specs say where keys are sent, not where they come back).
_REPLY_KEYS: Dict[str, int] = {
    "BLPOP": S_FIRST,
    "BRPOP": S_FIRST,
    "BZPOPMIN": S_FIRST,
    "BZPOPMAX": S_FIRST,
    "LMPOP": S_FIRST,
    "ZMPOP": S_FIRST,
    "BLMPOP": S_FIRST,
    "BZMPOP": S_FIRST,
}


def _admin(why: str = _ADMIN_WHY) -> Spec:
    return _gate(ADMIN, why)


def _info(why: str = _INFO_WHY) -> Spec:
    return _gate(SERVER_INFO, why)


def _family(names: str, spec: Spec, **more: Spec) -> Dict[str, Spec]:
    """A subcommand table: each of ``names`` has ``spec``; ``more`` adds others."""
    table = {name: spec for name in names.split()}
    table.update(more)
    return table


def _compile(entry: Dict[str, Any]) -> Spec | None:
    """The fast spec of a generated table entry's key specs; None for a key-less one.

    Key specs (``begin_search`` then ``find_keys``, as ``COMMAND INFO`` gives them) that
    are index-and-range pieces joining into one range become ONE or RANGE; a keynum
    piece with single keys before it becomes NUMKEYS; anything else (a keyword search,
    a range limit, disjoint pieces) becomes KEYSPEC, followed by the C core per call.
    ``not_key`` specs (shard channels) are skipped.
    """
    pieces: List[Tuple[int, int, int]] = []  # (first, last, step); last < 0: from the end
    numkeys = -1
    for ks in entry["key_specs"]:
        if "not_key" in ks["flags"]:
            continue
        begin, find = ks["begin_search"], ks["find_keys"]
        if begin["type"] != "index" or find["type"] not in ("range", "keynum"):
            return _spec(KEYSPEC, entry["arity"])
        first = int(begin["spec"]["index"])
        found = find["spec"]
        if find["type"] == "range":
            lastkey = int(found["lastkey"])
            if found["limit"]:
                return _spec(KEYSPEC, entry["arity"])
            pieces.append((first, first + lastkey if lastkey >= 0 else lastkey, found["keystep"]))
        elif (
            numkeys >= 0
            or found["firstkey"] != int(found["keynumidx"]) + 1
            or found["keystep"] != 1
        ):
            return _spec(KEYSPEC, entry["arity"])
        else:
            numkeys = first + int(found["keynumidx"])
    if numkeys >= 0:
        if any(a != b or not 0 < a < numkeys for a, b, _ in pieces):
            return _spec(KEYSPEC, entry["arity"])
        return _spec(NUMKEYS, numkeys, tuple(sorted(a for a, _, _ in pieces)))
    if not pieces:
        return None
    pieces.sort()
    first, last, step = pieces[0]
    for a, b, s in pieces[1:]:
        # Join a single key with the piece right after it: RENAME's 1 and 2 -> 1..2.
        if last < 0 or a != last + 1 or first != last or (s != 1 and a != b):
            return _spec(KEYSPEC, entry["arity"])
        last, step = b, 1
    if (first, last, step) == (1, 1, 1):
        return _ONE
    return _spec(RANGE, first, last, step)


def _generated() -> Dict[str, Spec]:
    """The spec of every command and subcommand (``"OBJECT ENCODING"``) that has keys
    in the generated command table."""
    table: Dict[str, Spec] = {}
    for name in command_names():
        entry = command_spec(name.split(" "))
        if entry is None or name in _NOT_FROM_KEY_SPECS:  # pragma: no cover - listed names
            continue
        spec = _compile(dict(entry))
        if spec is not None:
            table[name] = spec
    return table


def _build_table() -> Dict[str, Spec]:
    gen = _generated()
    table: Dict[str, Spec] = {name: spec for name, spec in gen.items() if " " not in name}
    for name, strip in _REPLY_KEYS.items():
        kind, a, b, c = table[name][:4]
        table[name] = (kind, a, b, c, strip, "")
    for name in _KEYLESS_COMMANDS.split():
        table[name] = PASS_SPEC
    table["COPY"] = _spec(COPY)  # its DB option needs a category
    table["MOVE"] = _gate(DATABASES, "it moves the key to another database", table["MOVE"])
    table["MIGRATE"] = _gate(
        DATABASES,
        "it moves keys to another server, where the prefix confines nothing",
        _spec(MIGRATE),
    )
    for name in "EVAL EVALSHA EVAL_RO EVALSHA_RO FCALL FCALL_RO".split():
        table[name] = _gate(SCRIPTS, _SCRIPT_WHY, table[name])
    # Channels are prefixed like keys (key specs have none, or mark them not_key).
    table["PUBLISH"] = table["SPUBLISH"] = _ONE
    # Patterns, SORT's BY/GET, and forms whose key specs are incomplete (SORT's STORE,
    # MIGRATE's KEYS) or that we check before sending (XREAD: as many IDs as keys).
    table["KEYS"] = _spec(KEYS_PATTERN, strip=S_LIST)
    table["SCAN"] = _spec(SCAN, strip=S_SCAN)
    table["SORT"] = table["SORT_RO"] = _spec(SORT)
    table["XREAD"] = table["XREADGROUP"] = _spec(XREAD, strip=S_XREAD)
    for name, why in _SERVER_INFO_COMMANDS.items():
        table[name] = _info(why)
    for name, why in _ADMIN_COMMANDS.items():
        table[name] = _admin(why)
    for name, why in _REFUSED_COMMANDS.items():
        table[name] = _refuse(why)

    # Subcommand forms: the keyed subcommands (OBJECT ENCODING, XINFO STREAM, MEMORY
    # USAGE, XGROUP CREATE, ...) are added from the generated table below.
    table["OBJECT"] = _sub({"HELP": PASS_SPEC})
    table["MEMORY"] = _sub(
        {
            "DOCTOR": _info(),
            "STATS": _info(),
            "MALLOC-STATS": _info(),
            "PURGE": _admin(),
            "HELP": PASS_SPEC,
        },
        _admin(),
    )
    # COMMAND INFO lists no DEBUG subcommands: DEBUG OBJECT's key is written here.
    table["DEBUG"] = _sub({"OBJECT": _spec(RANGE, 2, 2, 1)}, _admin(_DEBUG_WHY))
    table["XINFO"] = _sub({"HELP": PASS_SPEC})
    table["XGROUP"] = _sub({"HELP": PASS_SPEC})
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
    for name, spec in gen.items():
        if " " in name:
            command, sub = name.split(" ", 1)
            container = table.setdefault(command, _sub({}))
            if container[0] == SUB:
                container[1].setdefault(sub, spec)
    return table


#: Every command the prefixer knows, by upper-case name (built on first use).
COMMANDS: Dict[str, Spec]


def _bytes_table(table: Dict[str, Spec]) -> Dict[bytes, Spec]:
    """The table keyed by bytes, as converted arguments are looked up."""
    out: Dict[bytes, Spec] = {}
    for name, spec in table.items():
        if spec[0] == SUB:
            spec = (SUB, _bytes_table(spec[1]), spec[2], None, S_NONE, "")
        out[name.encode()] = spec
    return out


#: :data:`COMMANDS` keyed by bytes, as the prefixer looks converted arguments up.
BYTES_TABLE: Dict[bytes, Spec]
#: The same with ``key_prefix_channels=False``: channels are shared with every client.
BYTES_TABLE_UNCONFINED_CHANNELS: Dict[bytes, Spec]

_Tables = Tuple[Dict[str, Spec], Dict[bytes, Spec], Dict[bytes, Spec]]
_tables: _Tables | None = None


def tables() -> _Tables:
    """(:data:`COMMANDS`, :data:`BYTES_TABLE`, :data:`BYTES_TABLE_UNCONFINED_CHANNELS`),
    compiled from the generated command table on first use: about 10 ms that importing
    the package and unprefixed clients never pay. Two threads may both build it; they
    build equal tables."""
    global _tables
    if _tables is None:
        commands = _build_table()
        confined = _bytes_table(commands)
        unconfined = {
            **confined,
            **dict.fromkeys((b"PUBLISH", b"SPUBLISH", b"PUBSUB"), PASS_SPEC),
        }
        _tables = (commands, confined, unconfined)
    return _tables


def __getattr__(name: str) -> Any:
    if name == "COMMANDS":
        return tables()[0]
    if name == "BYTES_TABLE":
        return tables()[1]
    if name == "BYTES_TABLE_UNCONFINED_CHANNELS":
        return tables()[2]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    for name, spec in tables()[0].items():
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
