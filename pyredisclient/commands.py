"""redis-py compatible command methods, shared by RedisClient and Pipeline.

Every method builds the full argument tuple of one command and hands it,
with an optional reply callback, to the host's single hook::

    def _run(self, args: tuple, callback: Callable[[Any], Any] | None = None) -> Any

RedisClient runs the command at once and returns ``callback(reply)``; a
Pipeline queues ``(args, callback)`` and returns itself.  That is why a
method never touches what ``_run`` returns: every conversion of a reply
lives in a callback, so a pipeline's results get exactly the conversions
the direct call gets.

Replies arrive as hiredis builds them: ``bytes`` (``str`` with
``decode_responses=True``) for bulk and status replies, ``int``, ``None``
and lists.  Callbacks therefore accept both ``bytes`` and ``str``.

Return values follow redis-py (5 to 8, RESP2 shapes): ``set`` gives
True/None, ``expire`` a bool, ``hgetall`` a dict, ``smembers`` a set,
``zrange(withscores=True)`` a list of ``(member, float)`` tuples, ``info``
and ``config_get`` dicts, and so on.  Arguments are passed through
unconverted; the C layer encodes them and raises DataError (a TypeError)
for types Redis cannot take, such as None or bool.
"""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

import datetime
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Sequence,
    Set,
    Tuple,
    Union,
)

from ._core import DataError

__all__ = [
    "AbsExpiryT",
    "CoreCommands",
    "EncodableT",
    "ExpiryT",
    "KeyT",
    "KeysT",
    "PatternT",
    "ScoreCastT",
]

KeyT = Union[bytes, str, memoryview]
EncodableT = Union[bytes, bytearray, memoryview, str, int, float]
PatternT = Union[bytes, str, memoryview]
KeysT = Union[KeyT, Iterable[KeyT]]
ExpiryT = Union[int, datetime.timedelta]
AbsExpiryT = Union[int, datetime.datetime]
ZScoreBoundT = Union[float, str]
ScoreCastT = Callable[[Any], Any]
Callback = Callable[[Any], Any]


# ---------------------------------------------------------------------------
# Reply callbacks.  Each takes the raw reply (bytes or str for strings) and
# returns what redis-py returns for the command.  They live at module level
# so that the common calls create no closure.
# ---------------------------------------------------------------------------


def _text(value: Any) -> Any:
    """Decode bytes as UTF-8 (replacing bad bytes); leave other values alone."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _is_ok(reply: Any) -> bool:
    return reply == b"OK" or reply == "OK"


def _is_pong(reply: Any) -> bool:
    return reply == b"PONG" or reply == "PONG"


def _set_result(reply: Any) -> bool | None:
    # SET answers +OK, or nil when NX/XX stopped it.
    if reply is None:
        return None
    return reply == b"OK" or reply == "OK"


def _float_or_none(reply: Any) -> float | None:
    return None if reply is None else float(reply)


def _int_or_none(reply: Any) -> int | None:
    return None if reply is None else int(reply)


def _to_set(reply: Any) -> Set[Any]:
    return set(reply) if reply else set()


def _pairs_to_dict(reply: Any) -> Dict[Any, Any]:
    if not reply:
        return {}
    it = iter(reply)
    return dict(zip(it, it))


def _pairs_to_tuples(reply: Any) -> List[Tuple[Any, Any]]:
    return list(zip(reply[0::2], reply[1::2]))


def _to_tuple_or_none(reply: Any) -> Tuple[Any, ...] | None:
    return tuple(reply) if reply else None


def _scan_result(reply: Any) -> Tuple[int, List[Any]]:
    return int(reply[0]), reply[1]


def _hscan_result(reply: Any) -> Tuple[int, Dict[Any, Any]]:
    return int(reply[0]), _pairs_to_dict(reply[1])


def _hscan_novalues_result(reply: Any) -> Tuple[int, List[Any]]:
    return int(reply[0]), reply[1] or []


def _time_result(reply: Any) -> Tuple[int, int]:
    return int(reply[0]), int(reply[1])


def _bools(reply: Any) -> List[bool]:
    return [bool(x) for x in reply]


def _empty_list(reply: Any) -> List[Any]:
    return []


def _config_get_result(reply: Any) -> Dict[Any, Any]:
    return _pairs_to_dict([_text(x) for x in reply])


def _client_list_result(reply: Any) -> List[Dict[str, str]]:
    clients = []
    for line in _text(reply).splitlines():
        client: Dict[str, str] = {}
        last = None
        for token in line.split(" "):
            key, eq, value = token.partition("=")
            if eq:
                client[key] = value
                last = key
            elif last is not None:
                # A value with a space in it, e.g. a unix socket path.
                client[last] += " " + token
        if client:
            clients.append(client)
    return clients


def _info_value(text: str) -> Any:
    """Convert one INFO value the way redis-py's parse_info does.

    "12" -> 12, "1.5" -> 1.5, "a=1,b=x" -> {"a": 1, "b": "x"},
    "a,b" -> ["a", "b"], anything else stays a string.
    """
    if "=" in text:
        fields: Dict[str, Any] = {}
        for item in text.split(","):
            if not item:
                continue
            key, eq, value = item.rpartition("=")
            if eq:
                fields[key] = _info_value(value)
            else:
                fields[value] = True
        return fields
    if "," in text:
        return [_info_value(part) for part in text.split(",") if part]
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return text


def _info_result(reply: Any) -> Dict[str, Any]:
    """Parse an INFO reply into a dict (redis-py's parse_info shape)."""
    info: Dict[str, Any] = {}
    for line in _text(reply).splitlines():
        if not line or line.startswith("#"):
            continue
        key, colon, value = line.partition(":")
        if not colon:
            info.setdefault("__raw__", []).append(line)
            continue
        if key == "cmdstat_host":
            # The one field whose name holds a colon: "cmdstat_host:calls=..".
            key, _, value = line.rpartition(":")
        if key == "module":
            info.setdefault("modules", []).append(_info_value(value))
        else:
            info[key] = _info_value(value)
    return info


def _score_cast(func: ScoreCastT) -> ScoreCastT:
    """Return func, made to accept scores such as b"1.5e+18" as redis-py does.

    float takes every score Redis sends; for other callables (int, Decimal,
    ...) retry through float() when the raw text does not parse.
    """
    if func is float:
        return func

    def cast(value: Any) -> Any:
        try:
            return func(value)
        except (ValueError, TypeError):
            return func(float(value))

    return cast


def _score_pairs(func: ScoreCastT) -> Callback:
    """Callback turning [m1, s1, m2, s2, ...] into [(m1, func(s1)), ...]."""
    if func is float and _float_score_pairs is not None:
        return _float_score_pairs
    cast = _score_cast(func)

    def pairs(reply: Any) -> Any:
        if not reply:
            return reply
        it = iter(reply)
        return list(zip(it, map(cast, it)))

    return pairs


def _rank_with_score(func: ScoreCastT) -> Callback:
    """Callback turning [rank, score] into [rank, func(score)]."""
    cast = _score_cast(func)

    def rank(reply: Any) -> Any:
        if not reply:
            return reply
        return [reply[0], cast(reply[1])]

    return rank


_float_score_pairs: Callback | None = None
_float_score_pairs = _score_pairs(float)


# ---------------------------------------------------------------------------
# Argument helpers.
# ---------------------------------------------------------------------------


def _list_or_args(keys: Any, args: Sequence[Any]) -> List[Any]:
    """Merge ``keys`` (one key or an iterable of keys) with extra ``args``."""
    if isinstance(keys, (bytes, str, bytearray, memoryview)):
        merged = [keys]
    else:
        try:
            merged = list(keys)
        except TypeError:
            merged = [keys]
    if args:
        merged.extend(args)
    return merged


def _seconds(value: Any, name: str) -> Any:
    if isinstance(value, datetime.timedelta):
        return int(value.total_seconds())
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise DataError(f"{name} must be datetime.timedelta or int")


def _milliseconds(value: Any, name: str) -> Any:
    if isinstance(value, datetime.timedelta):
        return int(value.total_seconds() * 1000)
    if isinstance(value, int):
        return value
    raise DataError(f"{name} must be datetime.timedelta or int")


def _expiry_args(
    ex: ExpiryT | None,
    px: ExpiryT | None,
    exat: AbsExpiryT | None,
    pxat: AbsExpiryT | None,
) -> Tuple[Any, ...]:
    """EX/PX/EXAT/PXAT arguments; the caller checked at most one is set."""
    if ex is not None:
        return ("EX", _seconds(ex, "ex"))
    if px is not None:
        return ("PX", _milliseconds(px, "px"))
    if exat is not None:
        if isinstance(exat, datetime.datetime):
            exat = int(exat.timestamp())
        return ("EXAT", exat)
    if pxat is not None:
        if isinstance(pxat, datetime.datetime):
            pxat = int(pxat.timestamp() * 1000)
        return ("PXAT", pxat)
    return ()


def _expire_flags(nx: bool, xx: bool, gt: bool, lt: bool) -> Tuple[str, ...]:
    flags: Tuple[str, ...] = ()
    if nx:
        flags += ("NX",)
    if xx:
        flags += ("XX",)
    if gt:
        flags += ("GT",)
    if lt:
        flags += ("LT",)
    return flags


def _flatten(mapping: Mapping[Any, Any]) -> Tuple[Any, ...]:
    items: List[Any] = []
    for pair in mapping.items():
        items.extend(pair)
    return tuple(items)


class CoreCommands:
    """Redis commands with redis-py's names, parameters and return values.

    A host class supplies ``_run(args, callback=None)``; see the module
    docstring.  Methods only build arguments: they never post-process the
    value ``_run`` returns, so they work unchanged on a pipeline.
    """

    __slots__ = ()

    if TYPE_CHECKING:

        def _run(self, args: Tuple[Any, ...], callback: Callback | None = None) -> Any: ...

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Send any command given as separate arguments and return its raw reply.

        Options accepted by redis-py (such as ``keys=``) are ignored.
        """
        return self._run(args)

    # -- connection and server ---------------------------------------------

    def ping(self) -> bool:
        """Ping the server; True when it answers PONG."""
        return self._run(("PING",), _is_pong)

    def echo(self, value: EncodableT) -> Any:
        """Return ``value`` as the server echoes it."""
        return self._run(("ECHO", value))

    def publish(self, channel: KeyT, message: EncodableT) -> int:
        """Publish ``message`` on ``channel``; return the number of receivers."""
        return self._run(("PUBLISH", channel, message))

    def spublish(self, shard_channel: KeyT, message: EncodableT) -> int:
        """Publish ``message`` on a shard channel (Redis 7); the number of receivers."""
        return self._run(("SPUBLISH", shard_channel, message))

    def pubsub_channels(self, pattern: PatternT = "*") -> List[Any]:
        """The channels with at least one subscriber, matching ``pattern``."""
        return self._run(("PUBSUB", "CHANNELS", pattern))

    def pubsub_numsub(self, *args: KeyT) -> List[Tuple[Any, int]]:
        """``(channel, subscribers)`` for each channel given (patterns excluded)."""
        return self._run(("PUBSUB", "NUMSUB", *args), _pairs_to_tuples)

    def pubsub_numpat(self) -> int:
        """The number of pattern subscriptions of all clients."""
        return self._run(("PUBSUB", "NUMPAT"))

    def pubsub_shardchannels(self, pattern: PatternT = "*") -> List[Any]:
        """The shard channels with at least one subscriber, matching ``pattern``."""
        return self._run(("PUBSUB", "SHARDCHANNELS", pattern))

    def pubsub_shardnumsub(self, *args: KeyT) -> List[Tuple[Any, int]]:
        """``(shard channel, subscribers)`` for each shard channel given."""
        return self._run(("PUBSUB", "SHARDNUMSUB", *args), _pairs_to_tuples)

    def info(self, section: str | None = None, *args: str) -> Dict[str, Any]:
        """Return INFO (optionally for ``section`` and more) parsed into a dict."""
        if section is None:
            return self._run(("INFO",), _info_result)
        return self._run(("INFO", section, *args), _info_result)

    def dbsize(self) -> int:
        """Return the number of keys in the current database."""
        return self._run(("DBSIZE",))

    def flushdb(self, asynchronous: bool = False) -> bool:
        """Delete every key of the current database."""
        if asynchronous:
            return self._run(("FLUSHDB", "ASYNC"), _is_ok)
        return self._run(("FLUSHDB",), _is_ok)

    def flushall(self, asynchronous: bool = False) -> bool:
        """Delete every key of every database."""
        if asynchronous:
            return self._run(("FLUSHALL", "ASYNC"), _is_ok)
        return self._run(("FLUSHALL",), _is_ok)

    def time(self) -> Tuple[int, int]:
        """Return the server time as (seconds, microseconds)."""
        return self._run(("TIME",), _time_result)

    def config_get(self, pattern: PatternT = "*", *args: PatternT) -> Dict[Any, Any]:
        """Return the configuration parameters matching the patterns as a dict of str."""
        return self._run(("CONFIG", "GET", pattern, *args), _config_get_result)

    def config_set(self, name: KeyT, value: EncodableT, *args: EncodableT) -> bool:
        """Set configuration parameter ``name`` (and further name/value pairs)."""
        return self._run(("CONFIG", "SET", name, value, *args), _is_ok)

    def client_setname(self, name: str) -> bool:
        """Name the connection this command runs on."""
        return self._run(("CLIENT", "SETNAME", name), _is_ok)

    def client_getname(self) -> str | None:
        """Return the name of the connection this command runs on, or None."""
        return self._run(("CLIENT", "GETNAME"), _text)

    def client_list(
        self, _type: str | None = None, client_id: List[EncodableT] | None = None
    ) -> List[Dict[str, str]]:
        """Return the connected clients as a list of dicts of str."""
        args: Tuple[Any, ...] = ("CLIENT", "LIST")
        if _type is not None:
            client_types = ("normal", "master", "replica", "pubsub")
            if str(_type).lower() not in client_types:
                raise DataError(f"CLIENT LIST _type must be one of {client_types!r}")
            args += ("TYPE", _type)
        if client_id is not None and not isinstance(client_id, (list, tuple)):
            raise DataError("client_id must be a list")
        if client_id:
            args += ("ID", *client_id)
        return self._run(args, _client_list_result)

    def object(self, infotype: str, key: KeyT) -> Any:
        """Return OBJECT ``infotype`` (encoding, idletime, freq, refcount) of ``key``."""
        return self._run(("OBJECT", infotype, key))

    def memory_usage(self, key: KeyT, samples: int | None = None) -> int | None:
        """Return the bytes ``key`` and its value use, or None if it does not exist."""
        if isinstance(samples, int):
            return self._run(("MEMORY", "USAGE", key, "SAMPLES", samples))
        return self._run(("MEMORY", "USAGE", key))

    # -- strings ---------------------------------------------------------------

    def get(self, name: KeyT) -> Any:
        """Return the value at ``name``, or None."""
        return self._run(("GET", name))

    def set(
        self,
        name: KeyT,
        value: EncodableT,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        nx: bool = False,
        xx: bool = False,
        keepttl: bool = False,
        get: bool = False,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
    ) -> Any:
        """Set ``name`` to ``value``.

        Returns True, or None when ``nx``/``xx`` prevented the write; with
        ``get=True`` returns the old value (or None) instead.
        """
        if (
            ex is None
            and px is None
            and exat is None
            and pxat is None
            and not (nx or xx or keepttl or get)
        ):
            return self._run(("SET", name, value), _set_result)
        if (ex is not None) + (px is not None) + (exat is not None) + (pxat is not None) + bool(
            keepttl
        ) > 1:
            raise DataError(
                "``ex``, ``px``, ``exat``, ``pxat``, and ``keepttl`` are mutually exclusive."
            )
        if nx and xx:
            raise DataError("``nx`` and ``xx`` are mutually exclusive.")
        args: Tuple[Any, ...] = ("SET", name, value)
        if nx:
            args += ("NX",)
        elif xx:
            args += ("XX",)
        if get:
            args += ("GET",)
        args += _expiry_args(ex, px, exat, pxat)
        if keepttl:
            args += ("KEEPTTL",)
        return self._run(args, None if get else _set_result)

    def getset(self, name: KeyT, value: EncodableT) -> Any:
        """Set ``name`` to ``value`` and return the old value (or None)."""
        return self._run(("GETSET", name, value))

    def getdel(self, name: KeyT) -> Any:
        """Return the value at ``name`` (or None) and delete the key."""
        return self._run(("GETDEL", name))

    def getex(
        self,
        name: KeyT,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
        persist: bool = False,
    ) -> Any:
        """Return the value at ``name`` and set or remove its expiry."""
        if (ex is not None) + (px is not None) + (exat is not None) + (pxat is not None) + bool(
            persist
        ) > 1:
            raise DataError(
                "``ex``, ``px``, ``exat``, ``pxat``, and ``persist`` are mutually exclusive."
            )
        args = ("GETEX", name, *_expiry_args(ex, px, exat, pxat))
        if persist:
            args += ("PERSIST",)
        return self._run(args)

    def mget(self, keys: KeysT, *args: KeyT) -> List[Any]:
        """Return the values of ``keys`` (plus ``args``), None for missing keys."""
        if not args and type(keys) in (list, tuple) and keys:
            # The common call, mget([k1, k2, ...]): no intermediate list copy.
            return self._run(("MGET", *keys))
        names = _list_or_args(keys, args)
        if not names:
            # redis-py answers [] without an error; a PING keeps a pipeline's
            # results in step with its commands.
            return self._run(("PING",), _empty_list)
        return self._run(("MGET", *names))

    def mset(self, mapping: Mapping[Any, EncodableT]) -> bool:
        """Set every key/value pair of ``mapping``."""
        return self._run(("MSET", *_flatten(mapping)), _is_ok)

    def msetnx(self, mapping: Mapping[Any, EncodableT]) -> bool:
        """Set the pairs of ``mapping`` only if none of the keys exist."""
        return self._run(("MSETNX", *_flatten(mapping)), bool)

    def setnx(self, name: KeyT, value: EncodableT) -> bool:
        """Set ``name`` to ``value`` if it does not exist; True if set."""
        return self._run(("SETNX", name, value), bool)

    def setex(self, name: KeyT, time: ExpiryT, value: EncodableT) -> bool:
        """Set ``name`` to ``value`` with an expiry of ``time`` seconds."""
        if isinstance(time, datetime.timedelta):
            time = int(time.total_seconds())
        return self._run(("SETEX", name, time, value), bool)

    def psetex(self, name: KeyT, time_ms: ExpiryT, value: EncodableT) -> bool:
        """Set ``name`` to ``value`` with an expiry of ``time_ms`` milliseconds."""
        if isinstance(time_ms, datetime.timedelta):
            time_ms = int(time_ms.total_seconds() * 1000)
        return self._run(("PSETEX", name, time_ms, value), bool)

    def append(self, key: KeyT, value: EncodableT) -> int:
        """Append ``value`` to the string at ``key``; return the new length."""
        return self._run(("APPEND", key, value))

    def strlen(self, name: KeyT) -> int:
        """Return the length in bytes of the string at ``name``."""
        return self._run(("STRLEN", name))

    def incrby(self, name: KeyT, amount: int = 1) -> int:
        """Add ``amount`` to the integer at ``name``; return the result."""
        return self._run(("INCRBY", name, amount))

    incr = incrby

    def incrbyfloat(self, name: KeyT, amount: float = 1.0) -> float:
        """Add the float ``amount`` to the value at ``name``; return the result."""
        return self._run(("INCRBYFLOAT", name, amount), float)

    def decrby(self, name: KeyT, amount: int = 1) -> int:
        """Subtract ``amount`` from the integer at ``name``; return the result."""
        return self._run(("DECRBY", name, amount))

    decr = decrby

    # -- keys ------------------------------------------------------------------

    def delete(self, *names: KeyT) -> int:
        """Delete ``names``; return how many existed."""
        return self._run(("DEL", *names))

    def unlink(self, *names: KeyT) -> int:
        """Delete ``names`` with the memory freed in the background."""
        return self._run(("UNLINK", *names))

    def exists(self, *names: KeyT) -> int:
        """Return how many of ``names`` exist (a key named twice counts twice)."""
        return self._run(("EXISTS", *names))

    def expire(
        self,
        name: KeyT,
        time: ExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool:
        """Expire ``name`` in ``time`` seconds; True if the timeout was set."""
        if isinstance(time, datetime.timedelta):
            time = int(time.total_seconds())
        return self._run(("EXPIRE", name, time, *_expire_flags(nx, xx, gt, lt)), bool)

    def pexpire(
        self,
        name: KeyT,
        time: ExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool:
        """Expire ``name`` in ``time`` milliseconds; True if the timeout was set."""
        if isinstance(time, datetime.timedelta):
            time = int(time.total_seconds() * 1000)
        return self._run(("PEXPIRE", name, time, *_expire_flags(nx, xx, gt, lt)), bool)

    def expireat(
        self,
        name: KeyT,
        when: AbsExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool:
        """Expire ``name`` at ``when`` (unix seconds or a datetime)."""
        if isinstance(when, datetime.datetime):
            when = int(when.timestamp())
        return self._run(("EXPIREAT", name, when, *_expire_flags(nx, xx, gt, lt)), bool)

    def pexpireat(
        self,
        name: KeyT,
        when: AbsExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool:
        """Expire ``name`` at ``when`` (unix milliseconds or a datetime)."""
        if isinstance(when, datetime.datetime):
            when = int(when.timestamp() * 1000)
        return self._run(("PEXPIREAT", name, when, *_expire_flags(nx, xx, gt, lt)), bool)

    def ttl(self, name: KeyT) -> int:
        """Return the seconds to live of ``name`` (-1 no expiry, -2 no key)."""
        return self._run(("TTL", name))

    def pttl(self, name: KeyT) -> int:
        """Return the milliseconds to live of ``name`` (-1 no expiry, -2 no key)."""
        return self._run(("PTTL", name))

    def persist(self, name: KeyT) -> bool:
        """Remove the expiry of ``name``; True if there was one."""
        return self._run(("PERSIST", name), bool)

    def type(self, name: KeyT) -> Any:
        """Return the type of ``name`` as the server names it (b"string", b"none", ...)."""
        return self._run(("TYPE", name))

    def rename(self, src: KeyT, dst: KeyT) -> bool:
        """Rename key ``src`` to ``dst``."""
        return self._run(("RENAME", src, dst), _is_ok)

    def keys(self, pattern: PatternT = "*") -> List[Any]:
        """Return the keys matching ``pattern``."""
        return self._run(("KEYS", pattern))

    def scan(
        self,
        cursor: int = 0,
        match: PatternT | None = None,
        count: int | None = None,
        _type: str | None = None,
    ) -> Tuple[int, List[Any]]:
        """Return (next cursor, keys) for one step of an incremental key scan."""
        args: Tuple[Any, ...] = ("SCAN", cursor)
        if match is not None:
            args += ("MATCH", match)
        if count is not None:
            args += ("COUNT", count)
        if _type is not None:
            args += ("TYPE", _type)
        return self._run(args, _scan_result)

    def scan_iter(
        self,
        match: PatternT | None = None,
        count: int | None = None,
        _type: str | None = None,
    ) -> Iterator[Any]:
        """Yield every key matching ``match`` (and ``_type``), scanning in steps."""
        cursor, data = self.scan(0, match=match, count=count, _type=_type)
        yield from data
        while cursor != 0:
            cursor, data = self.scan(cursor, match=match, count=count, _type=_type)
            yield from data

    # -- hashes ------------------------------------------------------------------

    def hset(
        self,
        name: KeyT,
        key: EncodableT | None = None,
        value: EncodableT | None = None,
        mapping: Mapping[Any, EncodableT] | None = None,
        items: Sequence[EncodableT] | None = None,
    ) -> int:
        """Set fields of hash ``name``; return how many fields were added."""
        if key is None and not mapping and not items:
            raise DataError("'hset' with no key value pairs")
        args: Tuple[Any, ...] = ("HSET", name)
        if items:
            args += tuple(items)
        if key is not None:
            args += (key, value)
        if mapping:
            args += _flatten(mapping)
        return self._run(args)

    def hsetnx(self, name: KeyT, key: EncodableT, value: EncodableT) -> int:
        """Set field ``key`` of hash ``name`` if it does not exist; 1 if set."""
        return self._run(("HSETNX", name, key, value))

    def hget(self, name: KeyT, key: EncodableT) -> Any:
        """Return field ``key`` of hash ``name``, or None."""
        return self._run(("HGET", name, key))

    def hmget(self, name: KeyT, keys: Any, *args: EncodableT) -> List[Any]:
        """Return the values of the given fields of hash ``name``."""
        return self._run(("HMGET", name, *_list_or_args(keys, args)))

    def hgetall(self, name: KeyT) -> Dict[Any, Any]:
        """Return hash ``name`` as a dict."""
        return self._run(("HGETALL", name), _pairs_to_dict)

    def hdel(self, name: KeyT, *keys: EncodableT) -> int:
        """Delete fields ``keys`` of hash ``name``; return how many existed."""
        return self._run(("HDEL", name, *keys))

    def hexists(self, name: KeyT, key: EncodableT) -> bool:
        """Return whether field ``key`` exists in hash ``name``."""
        return self._run(("HEXISTS", name, key), bool)

    def hincrby(self, name: KeyT, key: EncodableT, amount: int = 1) -> int:
        """Add ``amount`` to the integer field ``key`` of hash ``name``."""
        return self._run(("HINCRBY", name, key, amount))

    def hincrbyfloat(self, name: KeyT, key: EncodableT, amount: float = 1.0) -> float:
        """Add the float ``amount`` to field ``key`` of hash ``name``."""
        return self._run(("HINCRBYFLOAT", name, key, amount), float)

    def hkeys(self, name: KeyT) -> List[Any]:
        """Return the field names of hash ``name``."""
        return self._run(("HKEYS", name))

    def hvals(self, name: KeyT) -> List[Any]:
        """Return the values of hash ``name``."""
        return self._run(("HVALS", name))

    def hlen(self, name: KeyT) -> int:
        """Return the number of fields in hash ``name``."""
        return self._run(("HLEN", name))

    def hscan(
        self,
        name: KeyT,
        cursor: int = 0,
        match: PatternT | None = None,
        count: int | None = None,
        no_values: bool | None = None,
    ) -> Tuple[int, Any]:
        """Return (next cursor, {field: value}) for one step of a hash scan.

        With ``no_values`` the second item is a list of field names.
        """
        args: Tuple[Any, ...] = ("HSCAN", name, cursor)
        if match is not None:
            args += ("MATCH", match)
        if count is not None:
            args += ("COUNT", count)
        if no_values is not None:
            args += ("NOVALUES",)
        return self._run(args, _hscan_novalues_result if no_values else _hscan_result)

    def hscan_iter(
        self,
        name: KeyT,
        match: PatternT | None = None,
        count: int | None = None,
        no_values: bool | None = None,
    ) -> Iterator[Any]:
        """Yield (field, value) pairs of hash ``name`` (fields with ``no_values``)."""
        cursor = None
        while cursor != 0:
            cursor, data = self.hscan(
                name, cursor or 0, match=match, count=count, no_values=no_values
            )
            if no_values:
                yield from data
            else:
                yield from data.items()

    # -- lists -------------------------------------------------------------------

    def lpush(self, name: KeyT, *values: EncodableT) -> int:
        """Push ``values`` onto the head of list ``name``; return its length."""
        return self._run(("LPUSH", name, *values))

    def rpush(self, name: KeyT, *values: EncodableT) -> int:
        """Push ``values`` onto the tail of list ``name``; return its length."""
        return self._run(("RPUSH", name, *values))

    def lpop(self, name: KeyT, count: int | None = None) -> Any:
        """Pop the first element (a list of up to ``count`` with ``count``)."""
        if count is not None:
            return self._run(("LPOP", name, count))
        return self._run(("LPOP", name))

    def rpop(self, name: KeyT, count: int | None = None) -> Any:
        """Pop the last element (a list of up to ``count`` with ``count``)."""
        if count is not None:
            return self._run(("RPOP", name, count))
        return self._run(("RPOP", name))

    def lrange(self, name: KeyT, start: int, end: int) -> List[Any]:
        """Return the elements of list ``name`` from ``start`` to ``end`` inclusive."""
        return self._run(("LRANGE", name, start, end))

    def llen(self, name: KeyT) -> int:
        """Return the length of list ``name``."""
        return self._run(("LLEN", name))

    def lindex(self, name: KeyT, index: int) -> Any:
        """Return the element at ``index`` of list ``name``, or None."""
        return self._run(("LINDEX", name, index))

    def lset(self, name: KeyT, index: int, value: EncodableT) -> bool:
        """Set the element at ``index`` of list ``name`` to ``value``."""
        return self._run(("LSET", name, index, value), _is_ok)

    def lrem(self, name: KeyT, count: int, value: EncodableT) -> int:
        """Remove ``count`` occurrences of ``value`` (0: all); return how many."""
        return self._run(("LREM", name, count, value))

    def ltrim(self, name: KeyT, start: int, end: int) -> bool:
        """Trim list ``name`` to the elements from ``start`` to ``end``."""
        return self._run(("LTRIM", name, start, end), _is_ok)

    def blpop(self, keys: KeysT, timeout: float | None = 0) -> Tuple[Any, Any] | None:
        """Pop from the first non-empty list of ``keys``, waiting up to ``timeout`` s.

        Returns (key, value), or None on timeout; a timeout of 0 waits forever.
        """
        if timeout is None:
            timeout = 0
        return self._run(("BLPOP", *_list_or_args(keys, ()), timeout), _to_tuple_or_none)

    def brpop(self, keys: KeysT, timeout: float | None = 0) -> Tuple[Any, Any] | None:
        """Like blpop, popping from the tail."""
        if timeout is None:
            timeout = 0
        return self._run(("BRPOP", *_list_or_args(keys, ()), timeout), _to_tuple_or_none)

    # -- sets --------------------------------------------------------------------

    def sadd(self, name: KeyT, *values: EncodableT) -> int:
        """Add ``values`` to set ``name``; return how many were new."""
        return self._run(("SADD", name, *values))

    def srem(self, name: KeyT, *values: EncodableT) -> int:
        """Remove ``values`` from set ``name``; return how many were members."""
        return self._run(("SREM", name, *values))

    def smembers(self, name: KeyT) -> Set[Any]:
        """Return the members of set ``name`` as a set."""
        return self._run(("SMEMBERS", name), _to_set)

    def sismember(self, name: KeyT, value: EncodableT) -> int:
        """Return 1 if ``value`` is a member of set ``name``, else 0."""
        return self._run(("SISMEMBER", name, value))

    def scard(self, name: KeyT) -> int:
        """Return the number of members of set ``name``."""
        return self._run(("SCARD", name))

    def spop(self, name: KeyT, count: int | None = None) -> Any:
        """Remove and return a random member (a list of ``count`` with ``count``)."""
        if count is not None:
            return self._run(("SPOP", name, count))
        return self._run(("SPOP", name))

    def srandmember(self, name: KeyT, number: int | None = None) -> Any:
        """Return a random member (a list of ``number`` with ``number``)."""
        if number is not None:
            return self._run(("SRANDMEMBER", name, number))
        return self._run(("SRANDMEMBER", name))

    def sinter(self, keys: KeysT, *args: KeyT) -> Set[Any]:
        """Return the intersection of the given sets."""
        return self._run(("SINTER", *_list_or_args(keys, args)), _to_set)

    def sunion(self, keys: KeysT, *args: KeyT) -> Set[Any]:
        """Return the union of the given sets."""
        return self._run(("SUNION", *_list_or_args(keys, args)), _to_set)

    def sdiff(self, keys: KeysT, *args: KeyT) -> Set[Any]:
        """Return the members of the first set that are in none of the others."""
        return self._run(("SDIFF", *_list_or_args(keys, args)), _to_set)

    # -- sorted sets -------------------------------------------------------------

    def zadd(
        self,
        name: KeyT,
        mapping: Mapping[Any, EncodableT],
        nx: bool = False,
        xx: bool = False,
        ch: bool = False,
        incr: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> Any:
        """Add {member: score} pairs to sorted set ``name``.

        Returns the number of members added (changed, with ``ch``); with
        ``incr`` the member's new score as a float, or None if NX/XX/GT/LT
        stopped the update.
        """
        if not mapping:
            raise DataError("ZADD requires at least one element/score pair")
        if nx and xx:
            raise DataError("ZADD allows either 'nx' or 'xx', not both")
        if gt and lt:
            raise DataError("ZADD allows either 'gt' or 'lt', not both")
        if incr and len(mapping) != 1:
            raise DataError(
                "ZADD option 'incr' only works when passing a single element/score pair"
            )
        if nx and (gt or lt):
            raise DataError("Only one of 'nx', 'lt', or 'gt' may be defined.")
        args: Tuple[Any, ...] = ("ZADD", name)
        if nx:
            args += ("NX",)
        if xx:
            args += ("XX",)
        if ch:
            args += ("CH",)
        if incr:
            args += ("INCR",)
        if gt:
            args += ("GT",)
        if lt:
            args += ("LT",)
        for member, score in mapping.items():
            args += (score, member)
        return self._run(args, _float_or_none if incr else _int_or_none)

    def zrem(self, name: KeyT, *values: EncodableT) -> int:
        """Remove ``values`` from sorted set ``name``; return how many existed."""
        return self._run(("ZREM", name, *values))

    def zscore(self, name: KeyT, value: EncodableT) -> float | None:
        """Return the score of ``value`` in sorted set ``name``, or None."""
        return self._run(("ZSCORE", name, value), _float_or_none)

    def zincrby(self, name: KeyT, amount: float, value: EncodableT) -> float:
        """Add ``amount`` to the score of ``value``; return the new score."""
        return self._run(("ZINCRBY", name, amount, value), _float_or_none)

    def zrange(
        self,
        name: KeyT,
        start: EncodableT,
        end: EncodableT,
        desc: bool = False,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
        byscore: bool = False,
        bylex: bool = False,
        offset: int | None = None,
        num: int | None = None,
    ) -> List[Any]:
        """Return members of ``name`` from ``start`` to ``end``.

        By rank unless ``byscore`` or ``bylex``; ``desc`` reverses the order;
        ``offset``/``num`` slice the result.  With ``withscores`` the result
        is a list of (member, score_cast_func(score)) tuples.
        """
        if desc and not byscore and not bylex and offset is None and num is None:
            # As redis-py: plain rank ranges in reverse use ZREVRANGE (any Redis).
            if withscores:
                return self._run(
                    ("ZREVRANGE", name, start, end, "WITHSCORES"), _score_pairs(score_cast_func)
                )
            return self._run(("ZREVRANGE", name, start, end))
        if byscore and bylex:
            raise DataError("``byscore`` and ``bylex`` can not be specified together.")
        if (offset is None) != (num is None):
            raise DataError("``offset`` and ``num`` must both be specified.")
        if bylex and withscores:
            raise DataError("``withscores`` not supported in combination with ``bylex``.")
        args: Tuple[Any, ...] = ("ZRANGE", name, start, end)
        if byscore:
            args += ("BYSCORE",)
        if bylex:
            args += ("BYLEX",)
        if desc:
            args += ("REV",)
        if offset is not None:
            args += ("LIMIT", offset, num)
        if withscores:
            return self._run((*args, "WITHSCORES"), _score_pairs(score_cast_func))
        return self._run(args)

    def zrevrange(
        self,
        name: KeyT,
        start: int,
        end: int,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> List[Any]:
        """Return members of ``name`` by descending rank from ``start`` to ``end``."""
        if withscores:
            return self._run(
                ("ZREVRANGE", name, start, end, "WITHSCORES"), _score_pairs(score_cast_func)
            )
        return self._run(("ZREVRANGE", name, start, end))

    def zrangebyscore(
        self,
        name: KeyT,
        min: ZScoreBoundT,
        max: ZScoreBoundT,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> List[Any]:
        """Return members of ``name`` with scores between ``min`` and ``max``."""
        if (start is None) != (num is None):
            raise DataError("``start`` and ``num`` must both be specified")
        args: Tuple[Any, ...] = ("ZRANGEBYSCORE", name, min, max)
        if start is not None:
            args += ("LIMIT", start, num)
        if withscores:
            return self._run((*args, "WITHSCORES"), _score_pairs(score_cast_func))
        return self._run(args)

    def zrevrangebyscore(
        self,
        name: KeyT,
        max: ZScoreBoundT,
        min: ZScoreBoundT,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> List[Any]:
        """Return members of ``name`` with scores from ``max`` down to ``min``."""
        if (start is None) != (num is None):
            raise DataError("``start`` and ``num`` must both be specified")
        args: Tuple[Any, ...] = ("ZREVRANGEBYSCORE", name, max, min)
        if start is not None:
            args += ("LIMIT", start, num)
        if withscores:
            return self._run((*args, "WITHSCORES"), _score_pairs(score_cast_func))
        return self._run(args)

    def zrank(
        self,
        name: KeyT,
        value: EncodableT,
        withscore: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> Any:
        """Return the 0-based rank of ``value`` in ``name``, or None.

        With ``withscore`` (Redis 7.2+) returns [rank, score].
        """
        if withscore:
            return self._run(("ZRANK", name, value, "WITHSCORE"), _rank_with_score(score_cast_func))
        return self._run(("ZRANK", name, value))

    def zrevrank(
        self,
        name: KeyT,
        value: EncodableT,
        withscore: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> Any:
        """Return the 0-based descending rank of ``value`` in ``name``, or None."""
        if withscore:
            return self._run(
                ("ZREVRANK", name, value, "WITHSCORE"), _rank_with_score(score_cast_func)
            )
        return self._run(("ZREVRANK", name, value))

    def zcard(self, name: KeyT) -> int:
        """Return the number of members of sorted set ``name``."""
        return self._run(("ZCARD", name))

    def zcount(self, name: KeyT, min: ZScoreBoundT, max: ZScoreBoundT) -> int:
        """Return the number of members with scores between ``min`` and ``max``."""
        return self._run(("ZCOUNT", name, min, max))

    # -- scripting ---------------------------------------------------------------

    def eval(self, script: str, numkeys: int, *keys_and_args: EncodableT) -> Any:
        """Run Lua ``script`` with ``numkeys`` keys followed by arguments."""
        return self._run(("EVAL", script, numkeys, *keys_and_args))

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: EncodableT) -> Any:
        """Run the cached script ``sha`` (NoScriptError if it is not cached)."""
        return self._run(("EVALSHA", sha, numkeys, *keys_and_args))

    def script_load(self, script: EncodableT) -> str:
        """Cache Lua ``script`` and return its SHA1 as a str."""
        return self._run(("SCRIPT", "LOAD", script), _text)

    def script_exists(self, *args: str) -> List[bool]:
        """Return, for each SHA1 given, whether that script is cached."""
        return self._run(("SCRIPT", "EXISTS", *args), _bools)

    def script_flush(self, sync_type: str | None = None) -> bool:
        """Empty the script cache (``sync_type`` "SYNC" or "ASYNC")."""
        if sync_type is None:
            return self._run(("SCRIPT", "FLUSH"), _is_ok)
        if sync_type not in ("SYNC", "ASYNC"):
            raise DataError("SCRIPT FLUSH accepts sync_type SYNC, ASYNC or None.")
        return self._run(("SCRIPT", "FLUSH", sync_type), _is_ok)
