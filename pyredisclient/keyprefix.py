"""Key-prefix isolation: confine every key of every command to one prefix.

:class:`KeyPrefixer` rewrites a command's argument tuple so that each key argument starts
with a fixed prefix, and rewrites the replies that name keys (KEYS, SCAN, blocking pops,
XREAD) so that the caller sees its keys without it. ``RedisClient(key_prefix="app:")``
and ``client.with_prefix("app:")`` use it for every command and pipeline::

    tenant = client.with_prefix("tenant42:")
    tenant.set("user:1", "x")        # SET tenant42:user:1 x
    tenant.keys("user:*")            # KEYS tenant42:user:* -> [b"user:1"]

Key positions come from one command table (:data:`COMMANDS`, shaped like Redis's
``COMMAND INFO`` first-key/last-key/step plus the numkeys and keyword forms). A lookup is
one dict access by command name; no regular expression runs on the hot path.

What is and is not confined (decisions, each also visible in the table):

* **Refused** (raise :class:`KeyPrefixError`, a :class:`~pyredisclient.DataError`, unless
  ``allow_unsafe=True``): commands that reach keys they do not name or act on the whole
  server: FLUSHDB, FLUSHALL, RANDOMKEY, SWAPDB, SELECT, MIGRATE, SHUTDOWN, DEBUG (but
  DEBUG OBJECT key), SCRIPT FLUSH/KILL, FUNCTION LOAD/DELETE/FLUSH/RESTORE/KILL, CONFIG
  SET/REWRITE/RESETSTAT, CLIENT KILL/PAUSE/REPLY/..., ACL changes, replication and
  persistence commands, MONITOR, and the SUBSCRIBE family (this client has no pub/sub
  connection yet).
* **Unknown commands are refused too** (the safe default): a command missing from the
  table might take keys in positions we cannot know. With ``allow_unsafe=True`` refused
  and unknown commands are sent *unchanged*: their keys are not prefixed.
* **Key-less commands pass** (PING, ECHO, TIME, INFO, UNWATCH, WAIT,
  SCRIPT LOAD/EXISTS, CLIENT SETNAME/GETNAME/ID/INFO/LIST, CONFIG GET, COMMAND, ...).
  Some of them report on the whole database or server rather than the prefix: DBSIZE
  counts every key, INFO's keyspace section and MEMORY STATS cover everything, PUBSUB
  NUMPAT counts every pattern subscription.
* **KEYS and SCAN** match ``prefix + pattern``; SCAN without MATCH gets
  ``MATCH prefix*``. Glob characters in the prefix (``* ? [ ] \\``) are escaped, so a
  prefix such as ``"a*"`` matches only itself. Returned keys have the prefix stripped.
  SCAN still walks the whole keyspace (MATCH filters on the server, after COUNT).
* **SORT / SORT_RO**: the key and the STORE destination are prefixed, and so are BY and GET
  patterns (``GET #`` is left alone). Redis builds a pattern's key by replacing the
  pattern's first ``*``, so ``prefix + pattern`` only ever names keys under the prefix, as
  long as the prefix itself has no ``*``: with such a prefix, BY/GET patterns are refused
  unless ``allow_unsafe``.
* **Channels are prefixed like keys**: PUBLISH and SPUBLISH prefix the channel, PUBSUB
  CHANNELS/SHARDCHANNELS match ``prefix + pattern`` and strip the prefix from their reply,
  PUBSUB NUMSUB/SHARDNUMSUB prefix the channels and strip them from the reply. Tenants that
  share a server then do not hear each other; a subscriber on another client must
  subscribe to the prefixed name.
* **Scripts** (EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL, FCALL_RO): the ``numkeys`` keys
  are prefixed, the other arguments are not. A script can still build any key name
  itself; confinement holds for scripts that only touch ``KEYS``.
* **Replies naming keys** are stripped: KEYS, SCAN, BLPOP/BRPOP/BZPOPMIN/BZPOPMAX, the
  LMPOP/BLMPOP/ZMPOP/BZMPOP key, and the stream names in XREAD/XREADGROUP replies. Other
  replies are returned as the server sent them.

A prefix guards against mistakes, not against hostile code (``allow_unsafe``, scripts).
For a hard boundary also give the client an ACL user limited to the prefix
(``ACL SETUSER app on >pw ~app:* &app:* +@all``).

Key types: ``str`` keys with a ``str`` prefix stay ``str``; if either is bytes the result
is ``bytes`` (str encoded as UTF-8, as the C layer sends it). ``bytearray`` and
``memoryview`` keys become ``bytes``; ``int`` and ``float`` keys are formatted as the C
layer formats them (``str(int)``, ``repr(float)``). Other types raise DataError.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple, Union

from ._core import DataError
from .config import ConfigurationError

__all__ = ["COMMANDS", "KeyPrefixError", "KeyPrefixer", "escape_glob", "supported_commands"]

Callback = Callable[[Any], Any]

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
REFUSE = 10  # cannot be confined
CHANNELS = 11  # PUBSUB CHANNELS [pattern]

# Strip kinds: which parts of the reply are keys that carry the prefix.
S_NONE = 0
S_LIST = 1  # every element (KEYS, PUBSUB CHANNELS)
S_SCAN = 2  # [cursor, [keys]]
S_FIRST = 3  # [key, ...] or nil (BLPOP, LMPOP, ...)
S_XREAD = 4  # [[key, entries], ...] or nil
S_PAIRS = 5  # [channel, count, channel, count, ...]

#: A spec: (kind, a, b, c, strip, why). ``why`` is the reason a REFUSE spec gives.
Spec = Tuple[int, Any, Any, Any, int, str]


def _spec(kind: int, a: Any = None, b: Any = None, c: Any = None, strip: int = S_NONE) -> Spec:
    return (kind, a, b, c, strip, "")


def _refuse(why: str) -> Spec:
    return (REFUSE, None, None, None, S_NONE, why)


_PASS = _spec(PASS)
_ONE = _spec(ONE)
_KEY2 = _spec(RANGE, 2, 2, 1)  # OBJECT ENCODING key, XINFO STREAM key, ...
_TWO = _spec(RANGE, 1, 2, 1)  # RENAME src dst, LMOVE src dst ...
_ALL = _spec(RANGE, 1, -1, 1)  # DEL key [key ...]
_ALL_BUT_LAST = _spec(RANGE, 1, -2, 1)  # BLPOP key [key ...] timeout
_INTERLEAVED = _spec(RANGE, 1, -1, 2)  # MSET key value [key value ...]


def _sub(table: Dict[str, Spec], default: Spec | None = None) -> Spec:
    """A command whose keys depend on its subcommand. ``default`` serves a missing or
    unknown subcommand (None: refused as unknown)."""
    return (SUB, table, default, None, S_NONE, "")


_DEBUG_WHY = "DEBUG can crash, stall or reconfigure the server"
_SCRIPT_WHY = "it affects every script on the server, not only this prefix's"
_FUNCTION_WHY = "it changes the libraries every client shares"
_CONFIG_WHY = "it changes the server's configuration for every client"
_CLIENT_WHY = "it acts on other clients' connections or on the shared pooled connection"
_ACL_WHY = "it administers users for the whole server"
_SUBSCRIBE_WHY = "this client has no pub/sub connection; subscribe on a dedicated client"

_ONE_KEY_COMMANDS = """
    APPEND BITCOUNT BITFIELD BITFIELD_RO BITPOS DECR DECRBY DUMP EXPIRE EXPIREAT EXPIRETIME
    GEOADD GEODIST GEOHASH GEOPOS GEORADIUS_RO GEORADIUSBYMEMBER_RO GEOSEARCH GET GETBIT
    GETDEL GETEX GETRANGE GETSET HDEL HEXISTS HEXPIRE HEXPIREAT HEXPIRETIME HGET HGETALL
    HGETDEL HGETEX HINCRBY HINCRBYFLOAT HKEYS HLEN HMGET HMSET HPERSIST HPEXPIRE HPEXPIREAT
    HPEXPIRETIME HPTTL HRANDFIELD HSCAN HSET HSETEX HSETNX HSTRLEN HTTL HVALS INCR INCRBY
    INCRBYFLOAT LINDEX LINSERT LLEN LPOP LPOS LPUSH LPUSHX LRANGE LREM LSET LTRIM MOVE
    PERSIST PEXPIRE PEXPIREAT PEXPIRETIME PFADD PSETEX PTTL PUBLISH RESTORE RPOP RPUSH
    RPUSHX SADD SCARD SET SETBIT SETEX SETNX SETRANGE SISMEMBER SMEMBERS SMISMEMBER SPOP
    SPUBLISH SRANDMEMBER SREM SSCAN STRLEN SUBSTR TTL TYPE XACK XADD XAUTOCLAIM XCLAIM XDEL
    XLEN XPENDING XRANGE XREVRANGE XSETID XTRIM ZADD ZCARD ZCOUNT ZINCRBY ZLEXCOUNT ZMSCORE
    ZPOPMAX ZPOPMIN ZRANDMEMBER ZRANGE ZRANGEBYLEX ZRANGEBYSCORE ZRANK ZREM ZREMRANGEBYLEX
    ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREVRANGE ZREVRANGEBYLEX ZREVRANGEBYSCORE ZREVRANK ZSCAN
    ZSCORE
"""

_KEYLESS_COMMANDS = """
    COMMAND DBSIZE ECHO INFO LASTSAVE LOLWUT PING ROLE TIME UNWATCH WAIT WAITAOF
"""

_REFUSED_COMMANDS: Dict[str, str] = {
    "FLUSHDB": "it deletes every key of the database",
    "FLUSHALL": "it deletes every key of every database",
    "RANDOMKEY": "it returns a key from the whole database",
    "SWAPDB": "it swaps whole databases",
    "SELECT": "it changes the database of a shared pooled connection",
    "MIGRATE": "it moves keys to another server, where they are not confined",
    "SHUTDOWN": "it stops the server",
    "MONITOR": "it streams every client's commands",
    "SAVE": "it acts on the whole server",
    "BGSAVE": "it acts on the whole server",
    "BGREWRITEAOF": "it acts on the whole server",
    "REPLICAOF": "it changes replication for the whole server",
    "SLAVEOF": "it changes replication for the whole server",
    "FAILOVER": "it changes replication for the whole server",
    "SYNC": "it streams the whole dataset",
    "PSYNC": "it streams the whole dataset",
    "AUTH": "it changes the user of a shared pooled connection",
    "HELLO": "it changes the protocol or user of a shared pooled connection",
    "RESET": "it resets a shared pooled connection",
    "QUIT": "it closes a shared pooled connection",
    "MULTI": "the pipeline sends it: use pipeline() or transaction()",
    "EXEC": "the pipeline sends it: use pipeline() or transaction()",
    "DISCARD": "the pipeline sends it: use pipeline() or transaction()",
    "SUBSCRIBE": _SUBSCRIBE_WHY,
    "PSUBSCRIBE": _SUBSCRIBE_WHY,
    "SSUBSCRIBE": _SUBSCRIBE_WHY,
    "UNSUBSCRIBE": _SUBSCRIBE_WHY,
    "PUNSUBSCRIBE": _SUBSCRIBE_WHY,
    "SUNSUBSCRIBE": _SUBSCRIBE_WHY,
}

_GEORADIUS = _spec(GEORADIUS, 6)
_GEORADIUSBYMEMBER = _spec(GEORADIUS, 5)


def _build_table() -> Dict[str, Spec]:
    table: Dict[str, Spec] = {}
    for name in _ONE_KEY_COMMANDS.split():
        table[name] = _ONE
    for name in _KEYLESS_COMMANDS.split():
        table[name] = _PASS
    for name in "DEL UNLINK EXISTS TOUCH MGET WATCH SINTER SUNION SDIFF PFCOUNT".split():
        table[name] = _ALL
    for name in "SINTERSTORE SUNIONSTORE SDIFFSTORE PFMERGE".split():
        table[name] = _ALL  # destination first, then the sources
    table["MSET"] = table["MSETNX"] = _INTERLEAVED
    for name in (
        "RENAME RENAMENX COPY SMOVE LMOVE RPOPLPUSH BLMOVE BRPOPLPUSH LCS GEOSEARCHSTORE "
        "ZRANGESTORE"
    ).split():
        table[name] = _TWO
    table["BITOP"] = _spec(RANGE, 2, -1, 1)  # BITOP op dest key [key ...]
    for name in "BLPOP BRPOP BZPOPMIN BZPOPMAX".split():
        table[name] = _spec(RANGE, 1, -2, 1, strip=S_FIRST)
    # numkeys forms: (kind, index of numkeys, fixed key indexes before it)
    for name in "EVAL EVALSHA EVAL_RO EVALSHA_RO FCALL FCALL_RO".split():
        table[name] = _spec(NUMKEYS, 2, ())
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
    for name, why in _REFUSED_COMMANDS.items():
        table[name] = _refuse(why)

    # Subcommand forms.
    table["OBJECT"] = _sub(
        {"ENCODING": _KEY2, "FREQ": _KEY2, "IDLETIME": _KEY2, "REFCOUNT": _KEY2, "HELP": _PASS}
    )
    table["MEMORY"] = _sub(
        {"USAGE": _KEY2, "DOCTOR": _PASS, "STATS": _PASS, "MALLOC-STATS": _PASS, "HELP": _PASS}
    )
    table["DEBUG"] = _sub({"OBJECT": _KEY2}, _refuse(_DEBUG_WHY))
    table["XINFO"] = _sub({"STREAM": _KEY2, "GROUPS": _KEY2, "CONSUMERS": _KEY2, "HELP": _PASS})
    table["XGROUP"] = _sub(
        {
            "CREATE": _KEY2,
            "SETID": _KEY2,
            "DESTROY": _KEY2,
            "CREATECONSUMER": _KEY2,
            "DELCONSUMER": _KEY2,
            "HELP": _PASS,
        }
    )
    table["SCRIPT"] = _sub({"LOAD": _PASS, "EXISTS": _PASS, "HELP": _PASS}, _refuse(_SCRIPT_WHY))
    table["FUNCTION"] = _sub(
        {"LIST": _PASS, "STATS": _PASS, "DUMP": _PASS, "HELP": _PASS}, _refuse(_FUNCTION_WHY)
    )
    table["CONFIG"] = _sub({"GET": _PASS, "HELP": _PASS}, _refuse(_CONFIG_WHY))
    table["CLIENT"] = _sub(
        {
            name: _PASS
            for name in "ID INFO GETNAME SETNAME LIST GETREDIR TRACKINGINFO SETINFO HELP".split()
        },
        _refuse(_CLIENT_WHY),
    )
    table["ACL"] = _sub({"WHOAMI": _PASS, "CAT": _PASS, "HELP": _PASS}, _refuse(_ACL_WHY))
    channels = _spec(CHANNELS, strip=S_LIST)
    numsub = _spec(RANGE, 2, -1, 1, strip=S_PAIRS)
    table["PUBSUB"] = _sub(
        {
            "CHANNELS": channels,
            "SHARDCHANNELS": channels,
            "NUMSUB": numsub,
            "SHARDNUMSUB": numsub,
            "NUMPAT": _PASS,
            "HELP": _PASS,
        }
    )
    return table


#: Every command the prefixer knows, by upper-case name.
COMMANDS: Dict[str, Spec] = _build_table()


def supported_commands() -> List[str]:
    """Names of the commands a prefixed client sends without ``allow_unsafe``.

    Subcommand forms are listed as ``"OBJECT ENCODING"``; refused commands are left out.
    """
    names: List[str] = []
    for name, spec in COMMANDS.items():
        if spec[0] == SUB:
            names.extend(f"{name} {sub}" for sub, s in spec[1].items() if s[0] != REFUSE)
        elif spec[0] != REFUSE:
            names.append(name)
    return sorted(names)


def _escape_bytes(text: bytes) -> bytes:
    out = bytearray()
    for byte in text:
        if byte in b"*?[]\\":
            out += b"\\"
        out.append(byte)
    return bytes(out)


def _escape_str(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def escape_glob(text: Union[str, bytes]) -> Union[str, bytes]:
    """Escape Redis glob metacharacters (``* ? [ ] \\``) so ``text`` matches only itself."""
    if isinstance(text, bytes):
        return _escape_bytes(text)
    return _escape_str(text)


def _upper(token: Any) -> str:
    """A command name or option as upper-case str ("" for numbers and other types)."""
    if type(token) is str:
        return token.upper()
    if isinstance(token, (bytes, bytearray, memoryview)):
        return bytes(token).decode("latin-1").upper()
    if isinstance(token, str):
        return str.upper(token)
    return ""


class KeyPrefixError(DataError):
    """A command cannot be confined to the key prefix (pass ``allow_unsafe=True``).

    A :class:`~pyredisclient.DataError` (so also a ``TypeError``): the call is refused in
    Python before anything is sent.
    """


class KeyPrefixer:
    """Prefixes the key arguments of commands and strips the prefix from key replies.

    Immutable once built and so safe to share between threads. ``prefix`` is kept as
    given (:attr:`prefix`). ``encoding`` is how str replies were decoded
    (``decode_responses``), used to strip a bytes prefix from str replies.
    """

    __slots__ = (
        "_escaped_b",
        "_escaped_s",
        "_is_str",
        "_nb",
        "_ns",
        "_pb",
        "_ps",
        "_star",
        "_strippers",
        "allow_unsafe",
        "prefix",
    )

    def __init__(
        self,
        prefix: Union[str, bytes],
        *,
        allow_unsafe: bool = False,
        encoding: str = "utf-8",
    ) -> None:
        if isinstance(prefix, str):
            pb = prefix.encode("utf-8")
            ps = prefix
        elif isinstance(prefix, bytes):
            pb = prefix
            ps = prefix.decode(encoding, "replace")
        else:
            raise ConfigurationError(
                f"key prefix must be str or bytes, not {type(prefix).__name__}", "key_prefix"
            )
        if not prefix:
            raise ConfigurationError("key prefix must not be empty", "key_prefix")
        self.prefix = prefix
        self.allow_unsafe = bool(allow_unsafe)
        self._is_str = isinstance(prefix, str)
        self._pb = pb
        self._ps = ps
        self._nb = len(pb)
        self._ns = len(ps)
        self._escaped_b = _escape_bytes(pb)
        self._escaped_s = _escape_str(ps)
        self._star = b"*" in pb
        self._strippers: Dict[int, Callback] = {
            S_LIST: self._strip_list,
            S_SCAN: self._strip_scan,
            S_FIRST: self._strip_first,
            S_XREAD: self._strip_xread,
            S_PAIRS: self._strip_pairs,
        }

    def __repr__(self) -> str:
        unsafe = ", allow_unsafe=True" if self.allow_unsafe else ""
        return f"KeyPrefixer({self.prefix!r}{unsafe})"

    # -- the table ----------------------------------------------------------------

    def _resolve(self, args: Tuple[Any, ...]) -> Spec:
        """The spec for ``args``; raises KeyPrefixError for a refused or unknown command."""
        try:
            spec = COMMANDS.get(args[0])
        except IndexError:
            return _PASS  # no command name: the C layer raises DataError
        except TypeError:  # an unhashable name, such as a bytearray
            spec = None
        if spec is None:
            spec = COMMANDS.get(_upper(args[0]))
            if spec is None:
                return self._unknown(_upper(args[0]) or repr(args[0]))
        kind = spec[0]
        if kind == SUB:
            sub = _upper(args[1]) if len(args) > 1 else ""
            found = spec[1].get(sub)
            if found is None:
                found = spec[2]
                if found is None:
                    return self._unknown(f"{_upper(args[0])} {sub}".rstrip())
            spec = found
            kind = spec[0]
        if kind == REFUSE:
            return self._refused(args, spec[5])
        return spec

    def _unknown(self, display: str) -> Spec:
        if self.allow_unsafe:
            return _PASS
        raise KeyPrefixError(
            f"{display} cannot be confined to key prefix {self.prefix!r}: it is not in the "
            "key-prefix command table, so its key arguments are unknown "
            "(pass allow_unsafe=True to send it unprefixed)"
        )

    def _refused(self, args: Tuple[Any, ...], why: str) -> Spec:
        if self.allow_unsafe:
            return _PASS
        display = _upper(args[0])
        if COMMANDS.get(display, _PASS)[0] == SUB and len(args) > 1:
            display += " " + _upper(args[1])
        raise KeyPrefixError(
            f"{display} cannot be confined to key prefix {self.prefix!r}: {why} "
            "(pass allow_unsafe=True to send it anyway)"
        )

    # -- arguments ------------------------------------------------------------------

    def key(self, key: Any) -> Any:
        """``key`` with the prefix (str if both are str, else bytes)."""
        t = type(key)
        if t is str:
            return self._ps + key if self._is_str else self._pb + key.encode("utf-8")
        if t is bytes:
            return self._pb + key
        if isinstance(key, (bytes, bytearray, memoryview)):
            return self._pb + bytes(key)
        if isinstance(key, str):
            text = str.__str__(key)
        elif isinstance(key, bool) or not isinstance(key, (int, float)):
            raise DataError(
                f"Invalid input of type: '{t.__name__}' for a key. "
                "Convert to a bytes, string, int or float first."
            )
        elif isinstance(key, int):
            text = int.__repr__(key)
        else:
            text = float.__repr__(key)
        return self._ps + text if self._is_str else self._pb + text.encode("utf-8")

    def pattern(self, pattern: Any) -> Any:
        """A glob ``pattern`` confined to the prefix (the prefix's glob characters escaped)."""
        if isinstance(pattern, str):
            if self._is_str:
                return self._escaped_s + pattern
            return self._escaped_b + pattern.encode("utf-8")
        if isinstance(pattern, (bytes, bytearray, memoryview)):
            return self._escaped_b + bytes(pattern)
        return self._escaped_b + self.key(pattern)[self._nb :]  # numbers: format like keys

    def _match_all(self) -> Any:
        return self._escaped_s + "*" if self._is_str else self._escaped_b + b"*"

    def prefix_args(self, args: Tuple[Any, ...]) -> Tuple[Any, ...]:
        """Return ``args`` with every key argument prefixed.

        Raises KeyPrefixError for a command that cannot be confined (unless
        ``allow_unsafe``), and DataError for a malformed numkeys or XREAD form.
        """
        spec = self._resolve(args)
        kind = spec[0]
        if kind == ONE:
            if len(args) < 2:
                return args
            return (args[0], self.key(args[1]), *args[2:])
        if kind == PASS:
            return args
        n = len(args)
        out = list(args)
        key = self.key
        if kind == RANGE:
            last = spec[2]
            if last < 0:
                last += n
            for i in range(spec[1], min(last, n - 1) + 1, spec[3]):
                out[i] = key(out[i])
        elif kind == NUMKEYS:
            index = spec[1]
            for i in spec[2]:
                if i < n:
                    out[i] = key(out[i])
            for i in range(index + 1, index + 1 + self._numkeys(args, index)):
                out[i] = key(out[i])
        elif kind == KEYS_PATTERN:
            if n > 1:
                out[1] = self.pattern(out[1])
        elif kind == SCAN:
            self._scan_args(out)
        elif kind == SORT:
            self._sort_args(out)
        elif kind == GEORADIUS:
            if n > 1:
                out[1] = key(out[1])
            i = spec[1]
            while i < n:
                token = _upper(out[i])
                if token in ("STORE", "STOREDIST") and i + 1 < n:
                    out[i + 1] = key(out[i + 1])
                    i += 2
                elif token == "COUNT":
                    i += 2
                else:
                    i += 1
        elif kind == XREAD:
            first, count = self._xread_keys(args)
            for i in range(first, first + count):
                out[i] = key(out[i])
        elif kind == CHANNELS:
            if n > 2:
                out[2] = self.pattern(out[2])
            else:
                out.append(self._match_all())
        else:  # pragma: no cover - every kind is handled above
            raise AssertionError(f"unknown key spec kind {kind}")
        return tuple(out)

    def _numkeys(self, args: Tuple[Any, ...], index: int) -> int:
        if index >= len(args):
            return 0  # too few arguments: the server answers with an arity error
        value = args[index]
        try:
            if isinstance(value, (bytes, bytearray, memoryview)):
                value = bytes(value).decode("ascii")
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise ValueError
            numkeys = int(value)
        except (ValueError, UnicodeDecodeError):
            raise DataError(
                f"{_upper(args[0])}: numkeys must be an integer, got {args[index]!r}"
            ) from None
        if numkeys < 0 or index + numkeys >= len(args):
            raise DataError(
                f"{_upper(args[0])}: numkeys {numkeys} does not match the "
                f"{len(args) - index - 1} arguments that follow it"
            )
        return numkeys

    def _scan_args(self, out: List[Any]) -> None:
        found = False
        for i in range(2, len(out) - 1, 2):
            if _upper(out[i]) == "MATCH":
                out[i + 1] = self.pattern(out[i + 1])
                found = True
        if not found:
            out += ["MATCH" if self._is_str else b"MATCH", self._match_all()]

    def _sort_args(self, out: List[Any]) -> None:
        n = len(out)
        if n > 1:
            out[1] = self.key(out[1])
        i = 2
        while i < n:
            token = _upper(out[i])
            if token in ("BY", "GET") and i + 1 < n:
                pattern = out[i + 1]
                if token == "GET" and pattern in ("#", b"#"):
                    pass
                elif self._star:
                    if not self.allow_unsafe:
                        raise KeyPrefixError(
                            f"SORT {token} cannot be confined to key prefix {self.prefix!r}: "
                            "the prefix holds a '*', which Redis would replace "
                            "(pass allow_unsafe=True to send the pattern unprefixed)"
                        )
                else:
                    out[i + 1] = self.key(pattern)
                i += 2
            elif token == "STORE" and i + 1 < n:
                out[i + 1] = self.key(out[i + 1])
                i += 2
            elif token == "LIMIT":
                i += 3
            else:
                i += 1

    def _xread_keys(self, args: Tuple[Any, ...]) -> Tuple[int, int]:
        """(index of the first stream key, number of keys) of XREAD/XREADGROUP."""
        n = len(args)
        i = 1
        while i < n:
            token = _upper(args[i])
            if token == "STREAMS":
                rest = n - i - 1
                if rest % 2:
                    raise DataError(
                        f"{_upper(args[0])}: STREAMS needs as many IDs as keys, "
                        f"got {rest} arguments"
                    )
                return i + 1, rest // 2
            if token in ("COUNT", "BLOCK"):
                i += 2
            elif token == "GROUP":
                i += 3
            elif token == "NOACK":
                i += 1
            else:
                raise DataError(
                    f"{_upper(args[0])}: cannot find the stream keys: unexpected "
                    f"{args[i]!r} before STREAMS"
                )
        raise DataError(f"{_upper(args[0])}: no STREAMS argument")

    # -- replies ------------------------------------------------------------------------

    def wrap_callback(self, args: Tuple[Any, ...], callback: Callback | None) -> Callback | None:
        """Return ``callback`` preceded by stripping the prefix from keys in the reply.

        Commands whose reply names no key get ``callback`` back unchanged. Raises like
        :meth:`prefix_args` for a command that cannot be confined.
        """
        strip = self._resolve(args)[4]
        if not strip:
            return callback
        fn = self._strippers[strip]
        if callback is None:
            return fn
        then = callback

        def strip_then(reply: Any) -> Any:
            return then(fn(reply))

        return strip_then

    def strip(self, key: Any) -> Any:
        """``key`` without the prefix; a key that does not start with it is returned as is."""
        if type(key) is bytes:
            return key[self._nb :] if key.startswith(self._pb) else key
        if type(key) is str:
            return key[self._ns :] if key.startswith(self._ps) else key
        return key

    def _strip_list(self, reply: Any) -> Any:
        if not isinstance(reply, list):
            return reply
        strip = self.strip
        return [strip(k) for k in reply]

    def _strip_scan(self, reply: Any) -> Any:
        if isinstance(reply, list) and len(reply) == 2 and isinstance(reply[1], list):
            return [reply[0], self._strip_list(reply[1])]
        return reply

    def _strip_first(self, reply: Any) -> Any:
        if isinstance(reply, list) and reply:
            return [self.strip(reply[0]), *reply[1:]]
        return reply

    def _strip_xread(self, reply: Any) -> Any:
        if not isinstance(reply, list):
            return reply
        return [self._strip_first(item) for item in reply]

    def _strip_pairs(self, reply: Any) -> Any:
        if not isinstance(reply, list):
            return reply
        return [self.strip(v) if i % 2 == 0 else v for i, v in enumerate(reply)]
