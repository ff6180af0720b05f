"""What the sync and asyncio subscriptions share: names, handlers, confinement, counts.

A subscription's connection, reconnects and health checks live in C
(``_core.Subscriber``); this module keeps what the caller sees: the channels, patterns
and shard channels with their handlers (keyed as messages name them), a key prefix's
confinement of channel names, and the counters a client's ``metrics()`` reports.
"""

from __future__ import annotations

import math
import weakref
from typing import Any, Callable, Dict, Iterable, List, Tuple, Union

from .._core import Subscriber
from ..exceptions import DataError, PubSubError

__all__ = [
    "ChannelT",
    "Handler",
    "PubSubBase",
    "PubSubStats",
    "message_handler",
    "wait_seconds",
]

#: A channel or pattern name: encoded like any command argument.
ChannelT = Union[str, bytes, bytearray, memoryview, int, float]
#: A message handler: called with the message dict (a coroutine function on asyncio).
Handler = Callable[[Dict[str, Any]], Any]

# The sets of a subscription: (index in _core.Subscriber, subscribe, unsubscribe).
CHANNELS = (0, "SUBSCRIBE", "UNSUBSCRIBE")
PATTERNS = (1, "PSUBSCRIBE", "PUNSUBSCRIBE")
SHARDS = (2, "SSUBSCRIBE", "SUNSUBSCRIBE")


def wait_seconds(timeout: Any) -> float | None:
    """A ``get_message`` timeout as the C subscriber takes it (asyncio waits in
    Python, with the same rule): seconds from 0 to 1e9, or None for no limit."""
    if timeout is None:
        return None
    math.isfinite(timeout)  # a str is a TypeError here, as in C (float() would parse it)
    seconds = float(timeout)
    if not 0 <= seconds <= 1e9:  # NaN included
        raise ValueError("timeout must be a number of seconds from 0 to 1e9, or None")
    return seconds


_SET_OF_TYPE = {"message": 0, "smessage": 2, "pmessage": 1}
_COUNTERS = ("messages", "connects", "disconnects", "reconnects", "health_checks")


class PubSubStats:
    """The counters of a client's subscriptions: live ones read when asked, closed ones
    folded in when they close (or are dropped). One per client and its views."""

    __slots__ = ("__weakref__", "_closed", "_live")

    def __init__(self) -> None:
        self._live: weakref.WeakSet[Subscriber] = weakref.WeakSet()
        self._closed: Dict[str, int] = dict.fromkeys(_COUNTERS, 0)

    def add(self, sub: Subscriber) -> None:
        self._live.add(sub)

    def fold(self, sub: Subscriber) -> None:
        """Count a subscription that ends (once: later calls find it gone)."""
        if sub in self._live:
            self._live.discard(sub)
            for k, v in sub.stats().items():
                self._closed[k] = self._closed.get(k, 0) + v

    def snapshot(self) -> Dict[str, int]:
        """``subscriptions`` open now, and every counter summed over all of them."""
        out = dict(self._closed)
        live = list(self._live)
        for sub in live:
            for k, v in sub.stats().items():
                out[k] = out.get(k, 0) + v
        out["subscriptions"] = len(live)
        return out


def _end(stats: weakref.ReferenceType[PubSubStats] | None, sub: Subscriber) -> None:
    """A subscription ends (close(), or dropped): count it and close its connection."""
    owner = stats() if stats is not None else None
    if owner is not None:
        owner.fold(sub)
    sub.close()


def message_handler(handler: Any, name: Any) -> Handler | None:
    if handler is not None and not callable(handler):
        raise TypeError(f"the handler of {name!r} must be callable, not {type(handler).__name__}")
    return handler  # type: ignore[no-any-return]


def subscription(arg: Any) -> Tuple[Any, Any] | None:
    """``(name, handler)`` of a subscription object (redis-py 8's
    ``redis.typing.Subscription``, or anything with ``name`` and ``handler``), or
    None for a plain name."""
    if isinstance(arg, (str, bytes, bytearray, memoryview, int, float)):
        return None
    try:
        return arg.name, arg.handler
    except AttributeError:
        return None


class Confinement:
    """A key prefix applied to channel names: channels get the prefix, patterns the
    prefix with its glob characters escaped (so that they match under it only), and
    messages lose them again."""

    __slots__ = ("_strip_channel", "_strip_glob", "glob", "prefix")

    def __init__(self, prefix: bytes, glob: bytes, decode: Tuple[str, str] | None) -> None:
        self.prefix = prefix
        self.glob = glob
        if decode is None:
            self._strip_channel: Union[str, bytes] = prefix
            self._strip_glob: Union[str, bytes] = glob
        else:
            self._strip_channel = prefix.decode(*decode)
            self._strip_glob = glob.decode(*decode)

    def strip(self, msg: Dict[str, Any]) -> None:
        """Take the prefix off a message's channel and pattern, in place."""
        t = msg["type"]
        channel = msg["channel"]
        if t in ("psubscribe", "punsubscribe"):
            msg["channel"] = _cut(channel, self._strip_glob)
            return
        if channel is not None:
            msg["channel"] = _cut(channel, self._strip_channel)
        if msg["pattern"] is not None:
            msg["pattern"] = _cut(msg["pattern"], self._strip_glob)


def _cut(name: Any, prefix: Union[str, bytes]) -> Any:
    if name is not None and name[: len(prefix)] == prefix:
        return name[len(prefix) :]
    return name


class PubSubBase:
    """A subscription's state as the caller sees it; the I/O is the subclass's.

    ``channels``, ``patterns`` and ``shard_channels`` map each name (as messages name
    it: bytes, or str with ``decode_responses``) to its handler or None.
    """

    def __init__(
        self,
        core_options: Dict[str, Any],
        *,
        ignore_subscribe_messages: bool = False,
        decode_responses: bool = False,
        encoding: str = "utf-8",
        encoding_errors: str = "strict",
        confinement: Confinement | None = None,
        stats: PubSubStats | None = None,
        reconnect_handler: Handler | None = None,
    ) -> None:
        self.ignore_subscribe_messages = ignore_subscribe_messages
        #: Called with each ``reconnect`` message instead of returning it (None: the
        #: message is returned like any other).
        self.reconnect_handler = message_handler(reconnect_handler, "reconnect")
        self._sub = Subscriber(**core_options)
        utf8 = encoding.lower().replace("_", "-") in ("utf-8", "utf8")
        # str names are encoded as the C layer encodes str arguments.
        self._arg_codec = ("utf-8", "strict") if utf8 else (encoding, encoding_errors)
        self._key_codec = (encoding, encoding_errors) if decode_responses else None
        self._confine = confinement
        self._sets: Tuple[Dict[Any, Handler | None], ...] = ({}, {}, {})
        self._handled = 0  # names with a handler
        self._closed = False
        ref = weakref.ref(stats) if stats is not None else None
        if stats is not None:
            stats.add(self._sub)
        # Closes the connection and counts the subscription when it is dropped
        # unclosed, as close() does.
        self._finalizer = weakref.finalize(self, _end, ref, self._sub)

    # -- what the caller sees ----------------------------------------------------------

    @property
    def channels(self) -> Dict[Any, Handler | None]:
        """The channels subscribed to, each with its handler or None."""
        return self._sets[0]

    @property
    def patterns(self) -> Dict[Any, Handler | None]:
        """The patterns subscribed to, each with its handler or None."""
        return self._sets[1]

    @property
    def shard_channels(self) -> Dict[Any, Handler | None]:
        """The shard channels subscribed to, each with its handler or None."""
        return self._sets[2]

    @property
    def subscribed(self) -> bool:
        """True while subscribed to anything (including while the server is
        unreachable and the subscription waits to be restored)."""
        return self._sub.subscribed

    @property
    def closed(self) -> bool:
        return self._closed

    def stats(self) -> Dict[str, int]:
        """This subscription's counters: ``messages`` read, ``connects``,
        ``disconnects`` (lost connections and failed connects), ``reconnects`` (gaps
        reported), ``health_checks`` (idle PINGs)."""
        return self._sub.stats()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"{sum(len(s) for s in self._sets)} subscriptions"
        return f"<{type(self).__name__} {state}>"

    # -- requests ------------------------------------------------------------------------

    def _name(self, name: Any) -> bytes:
        """A name as the bytes sent for it (before any prefix), as the C layer encodes
        an argument; DataError for other types."""
        t = type(name)
        if t is bytes:
            return name  # type: ignore[no-any-return]
        if isinstance(name, str):
            try:
                return str.encode(name, *self._arg_codec)
            except UnicodeEncodeError as exc:
                raise DataError(
                    f"Invalid channel name: a str that cannot be encoded as "
                    f"{self._arg_codec[0]}: {exc.reason}. Pass bytes instead."
                ) from exc
        if isinstance(name, (bytes, bytearray, memoryview)):
            return bytes(name)
        if isinstance(name, int) and not isinstance(name, bool):
            return int.__repr__(name).encode()
        if isinstance(name, float):
            return float.__repr__(name).encode()
        raise DataError(
            f"Invalid input of type: '{type(name).__name__}' for a channel name. "
            "Convert to a bytes, string, int or float first."
        )

    def _key(self, raw: bytes) -> Any:
        """A name as messages carry it (bytes, or str with decode_responses)."""
        return raw if self._key_codec is None else raw.decode(*self._key_codec)

    def _wire(self, which: Tuple[int, str, str], raw: bytes) -> bytes:
        """What is sent for a name: under a prefix, the prefixed name."""
        if self._confine is None:
            return raw
        return (self._confine.glob if which is PATTERNS else self._confine.prefix) + raw

    def _subscribe_request(
        self, which: Tuple[int, str, str], args: Tuple[Any, ...], kwargs: Dict[str, Any]
    ) -> Tuple[Tuple[Any, ...], List[Tuple[Any, Handler | None]]]:
        """The request for subscribe(*args, **handlers) and the names it adds."""
        if args and isinstance(args[0], (list, tuple)):
            args = (*args[0], *args[1:])  # redis-py's subscribe(["a", "b"])
        items: Dict[bytes, Handler | None] = {}
        for arg in args:
            sub = subscription(arg)
            if sub is None:
                items[self._name(arg)] = None
            else:
                items[self._name(sub[0])] = message_handler(sub[1], sub[0])
        for name, handler in kwargs.items():
            items[self._name(name)] = message_handler(handler, name)
        if not items:
            raise TypeError(f"{which[1].lower()}() needs at least one name")
        request = (which[1], *(self._wire(which, raw) for raw in items))
        return request, [(self._key(raw), h) for raw, h in items.items()]

    def _unsubscribe_request(
        self, which: Tuple[int, str, str], args: Tuple[Any, ...]
    ) -> Tuple[Tuple[Any, ...], List[Any] | None]:
        """The request for unsubscribe(*args) and the names it removes (None: all)."""
        if args and isinstance(args[0], (list, tuple)):
            args = (*args[0], *args[1:])
        if not args:
            return (which[2],), None
        raws = [self._name(a) for a in args]
        return (which[2], *(self._wire(which, r) for r in raws)), [self._key(r) for r in raws]

    def _queue_subscribe(
        self, which: Tuple[int, str, str], args: Tuple[Any, ...], kwargs: Dict[str, Any]
    ) -> None:
        """Queue (P|S)SUBSCRIBE for subscribe(*args, **handlers); the subclass sends."""
        request, names = self._subscribe_request(which, args, kwargs)
        self._sub.request(request)
        self._added(which, names)

    def _queue_unsubscribe(self, which: Tuple[int, str, str], args: Tuple[Any, ...]) -> None:
        """Queue the unsubscribe for unsubscribe(*args); the subclass sends."""
        request, keys = self._unsubscribe_request(which, args)
        self._sub.request(request)
        self._removed(which, keys)

    def _added(self, which: Tuple[int, str, str], names: List[Tuple[Any, Handler | None]]) -> None:
        table = self._sets[which[0]]
        for key, handler in names:
            self._handled += (handler is not None) - (table.get(key) is not None)
            table[key] = handler

    def _removed(self, which: Tuple[int, str, str], keys: Iterable[Any] | None) -> None:
        table = self._sets[which[0]]
        if keys is None:
            keys = list(table)
        for key in keys:
            if table.pop(key, None) is not None:
                self._handled -= 1

    def _ping_request(self, message: Any) -> Tuple[Any, ...]:
        return ("PING",) if message is None else ("PING", message)

    def _check_handlers(self) -> None:
        """Every name has a handler (a runner has nobody to return messages to)."""
        for table, what in zip(self._sets, ("Channel", "Pattern", "Shard channel")):
            for name, handler in table.items():
                if handler is None:
                    raise PubSubError(f"{what}: '{name!r}' has no handler registered")

    # -- messages ----------------------------------------------------------------------

    def _handler_for(self, msg: Dict[str, Any]) -> Handler | None:
        """The handler a message goes to (the prefix already stripped), or None."""
        t = msg["type"]
        if t == "reconnect":
            return self.reconnect_handler
        if not self._handled:
            return None
        index = _SET_OF_TYPE.get(t)
        if index is None:
            return None
        return self._sets[index].get(msg["pattern"] if index == 1 else msg["channel"])

    def _mark_closed(self) -> None:
        self._closed = True
        self._finalizer()


def client_options(client: Any, ignore_subscribe_messages: bool, **kwargs: Any) -> Dict[str, Any]:
    """The keyword arguments of a subscription made by ``client.pubsub()``: the
    client's decoding, its key prefix's confinement (unless ``key_prefix_channels``
    is off) and its counters."""
    config = client._config
    prefixer = client._prefixer
    confinement = None
    if prefixer is not None and prefixer.channels:
        decode = (config.encoding, config.encoding_errors) if config.decode_responses else None
        confinement = Confinement(prefixer.prefix_bytes, prefixer.glob_prefix, decode)
    stats = client.__dict__.get("_pubsub_stats")
    if stats is None:
        stats = client.__dict__["_pubsub_stats"] = PubSubStats()
    return dict(
        ignore_subscribe_messages=ignore_subscribe_messages,
        decode_responses=config.decode_responses,
        encoding=config.encoding,
        encoding_errors=config.encoding_errors,
        confinement=confinement,
        stats=stats,
        **kwargs,
    )
