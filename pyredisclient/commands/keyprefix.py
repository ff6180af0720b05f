"""Key-prefix isolation: confine every key of every command to one prefix.

:class:`KeyPrefixer` rewrites a command's arguments so that each key starts with a fixed
prefix, and rewrites the replies that name keys (KEYS, SCAN, blocking pops, XREAD) so
that the caller sees its keys without it. ``RedisClient(key_prefix="app:")`` and
``client.with_prefix("app:")`` use it for every command and pipeline::

    tenant = client.with_prefix("tenant42:")
    tenant.set("user:1", "x")        # SET tenant42:user:1 x
    tenant.keys("user:*")            # KEYS tenant42:user:* -> [b"user:1"]

**Prefixes nest and only narrow.** ``with_prefix("x:")`` on a client confined to
``"app:"`` confines to ``"app:x:"``; a derived client keeps its parent's opt-ins or
fewer, never more: only an unprefixed client grants them.

**Each argument is converted once.** Before anything is decided, every argument becomes
the exact bytes the C layer would send for it (str encoded with the client's encoding,
int and float formatted from their real value, bytearray and memoryview copied), and the
command is classified, prefixed and sent as those bytes. An object whose ``__eq__``,
``__hash__``, ``upper()``, ``__int__`` or ``__str__`` lies, or a buffer changed after the
check, cannot make the prefixer see one command and the server another. Only prefixed
clients pay for this; the unprefixed path is unchanged.

Key positions come from the generated command table (``_core.command_spec``, the
server's own key specs, compiled on first use into :data:`COMMANDS` in
:mod:`.keyprefix_table`): a command added there is prefixed with no edit here. Only
what key specs cannot say is written by hand (see :mod:`.keyprefix_table`). A lookup
is one dict access by command name; no regular expression runs on the hot path.

**What a prefix cannot confine is refused** (:class:`KeyPrefixError`, a DataError,
before anything is sent) unless the client was granted the command's category
(``key_prefix_allow``, or ``with_prefix(..., allow=...)`` on an unprefixed client):

=============  =============================================================================
category       unlocks
=============  =============================================================================
scripts        EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, FCALL, FCALL_RO (the ``numkeys`` keys are
               still prefixed, but Lua can name any key and run almost any command),
               SCRIPT LOAD/EXISTS/FLUSH/KILL, FUNCTION LOAD/LIST/DUMP/STATS/DELETE/
               FLUSH/RESTORE/KILL (the libraries every client shares)
server_info    read-only views of the whole server: INFO (keyspace, clients, commandstats),
               DBSIZE, RANDOMKEY, CONFIG GET (requirepass, masterauth), CLIENT LIST,
               SLOWLOG GET/LEN (other clients' arguments), LATENCY, MEMORY STATS/DOCTOR/
               MALLOC-STATS, PUBSUB NUMPAT, ROLE, MODULE LIST, ACL LIST/USERS/GETUSER/
               LOG/DRYRUN
databases      MOVE, COPY ... DB n, MIGRATE: the keys are prefixed, but land in another
               database or server where the prefix confines nothing
admin          changes to the whole server: FLUSHDB, FLUSHALL, SWAPDB, CONFIG SET/
               REWRITE/RESETSTAT, CLIENT KILL/PAUSE/UNPAUSE/UNBLOCK, ACL SETUSER/DELUSER/
               LOAD/SAVE, SHUTDOWN, SAVE, BGSAVE, BGREWRITEAOF, REPLICAOF, SLAVEOF,
               FAILOVER, DEBUG (but DEBUG OBJECT key), SLOWLOG RESET, LATENCY RESET,
               MEMORY PURGE, MODULE LOAD/LOADEX/UNLOAD
unconfined     commands whose keys the table does not know (unknown commands and
               subcommands: sent unchanged, their keys not prefixed), and SORT BY/GET
               patterns under a prefix holding a ``*`` (which Redis would replace)
=============  =============================================================================

``"all"`` grants every category; ``allow_unsafe=True`` means ``"all"`` and is accepted
on unprefixed clients only. **Never allowed** under a prefix, whatever is granted:
connection-state commands (SELECT, AUTH, HELLO, RESET, MONITOR, the SUBSCRIBE family,
MULTI/EXEC/DISCARD, CLIENT REPLY/TRACKING/CACHING/NO-EVICT/NO-TOUCH, SCRIPT DEBUG,
READONLY/READWRITE/ASKING, SYNC/PSYNC/REPLCONF), which the C layer refuses on every
client anyway.

What is confined without any opt-in:

* **Commands with keys** in the table, including the numkeys forms (ZUNIONSTORE, LMPOP,
  SINTERCARD...), SORT's STORE and BY/GET patterns (``GET #`` is left alone; Redis
  builds a pattern's key by replacing its first ``*``, so ``prefix + pattern`` names
  keys under the prefix only), GEORADIUS STORE, XREAD/XREADGROUP STREAMS.
* **KEYS and SCAN** match ``prefix + pattern``; SCAN without MATCH gets
  ``MATCH prefix*``. Glob characters in the prefix (``* ? [ ] \\``) are escaped, so a
  prefix such as ``"a*"`` matches only itself. Returned keys have the prefix stripped.
  SCAN still walks the whole keyspace (MATCH filters on the server, after COUNT).
* **Channels are prefixed like keys**: PUBLISH and SPUBLISH prefix the channel, PUBSUB
  CHANNELS/SHARDCHANNELS match ``prefix + pattern`` and strip the prefix from their
  reply, PUBSUB NUMSUB/SHARDNUMSUB prefix the channels and strip them from the reply.
  ``client.pubsub()`` confines subscriptions the same way (patterns get the escaped
  prefix) and strips the prefix from messages. ``key_prefix_channels=False`` leaves
  channel names alone everywhere (PUBLISH, PUBSUB, subscriptions), for channels
  shared with clients outside the prefix.
* **Key-less commands** that reveal nothing outside the prefix pass: PING, ECHO, TIME,
  LASTSAVE, LOLWUT, WAIT, WAITAOF, COMMAND, QUIT, UNWATCH, CLIENT ID/INFO/GETNAME/
  SETNAME/SETINFO/GETREDIR/TRACKINGINFO, ACL WHOAMI/CAT/GENPASS, and every HELP.
* **Replies naming keys** are stripped: KEYS, SCAN, BLPOP/BRPOP/BZPOPMIN/BZPOPMAX, the
  LMPOP/BLMPOP/ZMPOP/BZMPOP key, and the stream names in XREAD/XREADGROUP replies.

What a prefix does not protect against: code in the same process (it can build an
unprefixed client from the configuration, or call the C layer directly), a granted
category used with intent, and other clients of the same server. A prefix guards
against mistakes and narrows what tenant code can reach through this client; for a
hard boundary also give the client an ACL user limited to the prefix
(``ACL SETUSER app on >pw ~app:* &app:* +@all -@dangerous``).

Arguments: every argument is sent as bytes (str encoded with the client's encoding);
``bool``, ``None`` and other types raise DataError as the C layer does.
"""

from __future__ import annotations

import re
from typing import Any, Dict, FrozenSet, Iterable, List, Tuple, Union

from .._core import DataError, NeverDecode, command_keys
from ..config import ConfigurationError
from ..config.options import _categories
from .keyprefix_table import ADMIN as ADMIN
from .keyprefix_table import (
    CATEGORIES,
    CHANNELS,
    CONFINED_SCRIPT_ARGS,
    COPY,
    DATABASES,
    GATE,
    KEYS_PATTERN,
    KEYSPEC,
    MIGRATE,
    NUMKEYS,
    ONE,
    PASS,
    PASS_SPEC,
    RANGE,
    REFUSE,
    S_FIRST,
    S_LIST,
    S_PAIRS,
    S_SCAN,
    S_XREAD,
    SCAN,
    SORT,
    SUB,
    UNCONFINED,
    XREAD,
    Spec,
    supported_commands,
    tables,
)
from .keyprefix_table import S_NONE as S_NONE
from .keyprefix_table import SCRIPTS as SCRIPTS
from .keyprefix_table import SERVER_INFO as SERVER_INFO
from .types import Callback

__all__ = [
    "CATEGORIES",
    "COMMANDS",
    "KeyPrefixError",
    "KeyPrefixer",
    "escape_glob",
    "supported_commands",
]


#: Every command the prefixer knows (:data:`.keyprefix_table.COMMANDS`, built on first use).
COMMANDS: Dict[str, Spec]


def __getattr__(name: str) -> Any:
    if name == "COMMANDS":
        return tables()[0]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


_INTEGER = re.compile(rb"-?[0-9]+\Z")


def _text(arg: bytes) -> str:
    """A converted argument for a message."""
    return arg.decode("utf-8", "backslashreplace")


class KeyPrefixError(DataError):
    """A command cannot be confined to the key prefix (grant its category to send it).

    A :class:`~pyredisclient.DataError` (so also a ``TypeError``): the call is refused in
    Python before anything is sent.
    """


class KeyPrefixer:
    """Prefixes the key arguments of commands and strips the prefix from key replies.

    Immutable once built and so safe to share between threads. ``prefix`` is kept as
    given (:attr:`prefix`); ``allow`` is the granted categories (:attr:`allowed`),
    ``allow_unsafe=True`` grants them all. ``encoding`` and ``errors`` are the client's:
    str arguments are encoded as the C layer encodes them, and str replies
    (``decode_responses``) have the prefix stripped in their decoded form.
    """

    __slots__ = (
        "_arg_encoding",
        "_arg_errors",
        "_escaped_b",
        "_escaped_s",
        "_nb",
        "_ns",
        "_pb",
        "_ps",
        "_star",
        "_strippers",
        "_table",
        "_utf8",
        "allowed",
        "channels",
        "prefix",
    )

    def __init__(
        self,
        prefix: Union[str, bytes],
        *,
        allow: Iterable[str] = (),
        allow_unsafe: bool = False,
        encoding: str = "utf-8",
        errors: str = "strict",
        channels: bool = True,
    ) -> None:
        #: Whether channel names are confined too (``key_prefix_channels``).
        self.channels = channels
        self._table = tables()[1] if channels else tables()[2]
        # The C layer encodes str arguments as strict UTF-8 for a UTF-8 client, else
        # with the client's encoding and error handler (binding: arg_encoding).
        self._utf8 = encoding.lower() in ("utf-8", "utf8")
        if self._utf8:
            self._arg_encoding, self._arg_errors = "utf-8", "strict"
        else:
            self._arg_encoding, self._arg_errors = encoding, errors
        pb = self._prefix_bytes(prefix)
        ps = prefix if isinstance(prefix, str) else pb.decode(encoding, "replace")
        self.prefix = prefix
        granted = CATEGORIES if allow_unsafe else _categories("key_prefix_allow", allow)
        self.allowed: FrozenSet[str] = frozenset(granted)
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

    def _prefix_bytes(self, prefix: Union[str, bytes]) -> bytes:
        """A prefix as the bytes sent; ConfigurationError for a bad one."""
        if isinstance(prefix, bytes):
            pb = bytes.__getitem__(prefix, slice(None))
        elif isinstance(prefix, str):
            try:
                pb = str.encode(prefix, self._arg_encoding, self._arg_errors)
            except UnicodeEncodeError as exc:
                raise ConfigurationError(
                    f"key prefix cannot be encoded as {self._arg_encoding}: {exc.reason}",
                    "key_prefix",
                ) from None
        else:
            raise ConfigurationError(
                f"key prefix must be str or bytes, not {type(prefix).__name__}", "key_prefix"
            )
        if not pb:
            raise ConfigurationError("key prefix must not be empty", "key_prefix")
        return pb

    @property
    def prefix_bytes(self) -> bytes:
        """The prefix as the bytes sent before each key (and channel)."""
        return self._pb

    @property
    def glob_prefix(self) -> bytes:
        """The prefix with its glob characters escaped: what goes before a pattern
        (KEYS, SCAN MATCH, PSUBSCRIBE) so that it matches under the prefix only."""
        return self._escaped_b

    @property
    def allow_unsafe(self) -> bool:
        """True when every category is granted (the old ``allow_unsafe=True``)."""
        return self.allowed == CATEGORIES

    def __repr__(self) -> str:
        allow = f", allow={sorted(self.allowed)!r}" if self.allowed else ""
        return f"KeyPrefixer({self.prefix!r}{allow})"

    # -- the one entry point ----------------------------------------------------------

    def prepare(
        self, args: Tuple[Any, ...], callback: Callback | None = None
    ) -> Tuple[Tuple[bytes, ...], Callback | None]:
        """Convert, check and prefix one command: returns (the bytes to send, the reply
        callback with the prefix stripped from keys in the reply first).

        Raises KeyPrefixError for a command that cannot be confined (unless its category
        is granted), DataError for an argument the C layer would refuse or a malformed
        numkeys or XREAD form.
        """
        converted = self.convert(args)
        spec = self._resolve(converted)
        sent = self._apply(spec, converted)
        if type(args) is NeverDecode:
            sent = NeverDecode(sent)  # its reply stays bytes once prefixed too
        strip = spec[4]
        if not strip:
            return sent, callback
        fn = self._strippers[strip]
        if callback is None:
            return sent, fn
        then = callback

        def strip_then(reply: Any) -> Any:
            return then(fn(reply))

        return sent, strip_then

    def prefix_args(self, args: Tuple[Any, ...]) -> Tuple[bytes, ...]:
        """The bytes :meth:`prepare` would send for ``args``."""
        return self.prepare(args)[0]

    def wrap_callback(self, args: Tuple[Any, ...], callback: Callback | None) -> Callback | None:
        """The reply callback :meth:`prepare` would return for ``args``."""
        return self.prepare(args, callback)[1]

    # -- arguments, converted once ------------------------------------------------------

    def convert(self, args: Tuple[Any, ...]) -> Tuple[bytes, ...]:
        """Every argument as the exact bytes the C layer would send for it.

        Decided on the objects' real contents, never on methods they may override:
        str and bytes subclasses by their data, int and float by their value.
        """
        if self._utf8:
            # The common case, first: exact str and bytes (no method of theirs can
            # be overridden), UTF-8.
            out: List[bytes] = []
            append = out.append
            try:
                for arg in args:
                    t = type(arg)
                    if t is str:
                        append(arg.encode())
                    elif t is bytes:
                        append(arg)
                    elif t is int:
                        append(b"%d" % arg)
                    else:
                        break
                else:
                    return tuple(out)
            except UnicodeEncodeError:
                pass  # reported below, with the argument's position
        converted: List[bytes] = []
        for i, arg in enumerate(args):
            t = type(arg)
            if t is bytes:
                converted.append(arg)
            elif t is str:
                converted.append(self._encode(arg, i, args))
            else:
                converted.append(self._convert_other(arg, i, args))
        return tuple(converted)

    def _encode(self, arg: str, i: int, args: Tuple[Any, ...]) -> bytes:
        try:
            return str.encode(arg, self._arg_encoding, self._arg_errors)
        except UnicodeEncodeError as exc:
            # The same words as the C layer's message for an unprefixed client.
            what = "command name" if i == 0 else f"argument {i}{self._of(args)}"
            raise DataError(
                f"Invalid input for {what}: a str that cannot be encoded as "
                f"{self._arg_encoding}: U+{ord(arg[exc.start]):04X} at index {exc.start} "
                f"({exc.reason}). Pass bytes instead."
            ) from exc

    def _convert_other(self, arg: Any, i: int, args: Tuple[Any, ...]) -> bytes:
        if isinstance(arg, bytes):
            return bytes.__getitem__(arg, slice(None))  # the data, not __bytes__
        if isinstance(arg, str):
            return self._encode(arg, i, args)
        if isinstance(arg, (bytearray, memoryview)):
            with memoryview(arg) as view:
                if not view.c_contiguous:
                    raise DataError(f"argument {i}: a memoryview argument must be C-contiguous")
                return view.tobytes()
        if isinstance(arg, int) and not isinstance(arg, bool):
            return int.__repr__(arg).encode("ascii")
        if isinstance(arg, float):
            return float.__repr__(arg).encode("ascii")
        raise DataError(
            f"Invalid input of type: '{type(arg).__name__}' for argument {i}{self._of(args)}. "
            "Convert to a bytes, string, int or float first."
        )

    @staticmethod
    def _of(args: Tuple[Any, ...]) -> str:
        return f" of {args[0]}" if args and type(args[0]) is str else ""

    # -- the table ------------------------------------------------------------------------

    def _resolve(self, args: Tuple[bytes, ...]) -> Spec:
        """The spec for converted ``args``; raises KeyPrefixError for a refused command,
        or for one whose category is not granted."""
        if not args:
            return PASS_SPEC  # no command name: the C layer raises DataError
        table = self._table
        spec = table.get(args[0])
        if spec is None:
            spec = table.get(args[0].upper())
            if spec is None:
                return self._unconfined(args, 1)
        kind = spec[0]
        if kind == SUB:
            found = spec[1].get(args[1].upper()) if len(args) > 1 else None
            if found is None:
                found = spec[2]
                if found is None:
                    return self._unconfined(args, 2)
            spec = found
            kind = spec[0]
        if kind == GATE:
            if spec[1] in self.allowed:
                return spec[2]  # type: ignore[no-any-return]
            if len(args) > 1 and args[1] in CONFINED_SCRIPT_ARGS and args[0][:4].upper() == b"EVAL":
                # lock()'s own scripts (EVAL body or EVALSHA sha): they touch only
                # their KEYS, which are prefixed. (Not FCALL: a function may bear
                # any name.)
                return spec[2]  # type: ignore[no-any-return]
            raise self._refusal(args, spec[5], spec[1])
        if kind == REFUSE:
            raise self._refusal(args, spec[5], None)
        if kind == COPY and DATABASES not in self.allowed:
            for arg in args[3:]:
                if arg.upper() == b"DB":
                    raise self._refusal(args, "DB copies the key to another database", DATABASES)
        return spec

    def _unconfined(self, args: Tuple[bytes, ...], words: int) -> Spec:
        if UNCONFINED in self.allowed:
            return PASS_SPEC
        raise self._refusal(
            args,
            "it is not in the key-prefix command table, so its key arguments are unknown",
            UNCONFINED,
            words,
        )

    def _refusal(
        self, args: Tuple[bytes, ...], why: str, category: str | None, words: int = 0
    ) -> KeyPrefixError:
        if not words:
            spec = self._table.get(args[0].upper())
            words = 2 if spec is not None and spec[0] == SUB and len(args) > 1 else 1
        display = " ".join(_text(a.upper()) for a in args[:words])
        if category is None:
            how = "it is refused on every prefixed client"
        else:
            how = f"grant key_prefix_allow={category!r} to send it"
        return KeyPrefixError(
            f"{display} cannot be confined to key prefix {self.prefix!r}: {why} ({how})"
        )

    # -- prefixing ------------------------------------------------------------------------

    def key(self, key: bytes) -> bytes:
        """A converted ``key`` with the prefix."""
        return self._pb + key

    def pattern(self, pattern: bytes) -> bytes:
        """A converted glob ``pattern`` confined to the prefix (its glob characters
        escaped)."""
        return self._escaped_b + pattern

    def _apply(self, spec: Spec, args: Tuple[bytes, ...]) -> Tuple[bytes, ...]:
        kind = spec[0]
        pb = self._pb
        if kind == ONE:
            if len(args) == 2:
                return (args[0], pb + args[1])
            if len(args) < 2:
                return args
            return (args[0], pb + args[1], *args[2:])
        if kind == PASS:
            return args
        n = len(args)
        out = list(args)
        if kind == RANGE:
            last = spec[2]
            if last < 0:
                last += n
            for i in range(spec[1], min(last, n - 1) + 1, spec[3]):
                out[i] = pb + out[i]
        elif kind == NUMKEYS:
            index = spec[1]
            for i in spec[2]:
                if i < n:
                    out[i] = pb + out[i]
            for i in range(index + 1, index + 1 + self._numkeys(args, index)):
                out[i] = pb + out[i]
        elif kind == KEYS_PATTERN:
            if n > 1:
                out[1] = self._escaped_b + out[1]
        elif kind == SCAN:
            self._scan_args(out)
        elif kind == SORT:
            self._sort_args(out)
        elif kind == KEYSPEC:
            arity = spec[1]
            if n != arity if arity > 0 else n < -arity:
                return args  # the server answers with an arity error, touching no key
            for i in command_keys(args) or ():
                out[i] = pb + out[i]
        elif kind == XREAD:
            first, count = self._xread_keys(args)
            for i in range(first, first + count):
                out[i] = pb + out[i]
        elif kind == CHANNELS:
            if n > 2:
                out[2] = self._escaped_b + out[2]
            else:
                out.append(self._escaped_b + b"*")
        elif kind == COPY:
            for i in (1, 2):
                if i < n:
                    out[i] = pb + out[i]
        elif kind == MIGRATE:
            self._migrate_args(out)
        else:  # pragma: no cover - every kind is handled above
            raise AssertionError(f"unknown key spec kind {kind}")
        return tuple(out)

    def _numkeys(self, args: Tuple[bytes, ...], index: int) -> int:
        if index >= len(args):
            return 0  # too few arguments: the server answers with an arity error
        value = args[index]
        if not _INTEGER.match(value):  # the server's own syntax: no sign, space or "_"
            raise DataError(f"{_text(args[0].upper())}: numkeys must be an integer, got {value!r}")
        numkeys = int(value)
        if numkeys < 0 or index + numkeys >= len(args):
            raise DataError(
                f"{_text(args[0].upper())}: numkeys {numkeys} does not match the "
                f"{len(args) - index - 1} arguments that follow it"
            )
        return numkeys

    def _scan_args(self, out: List[bytes]) -> None:
        found = False
        for i in range(2, len(out) - 1, 2):
            if out[i].upper() == b"MATCH":
                out[i + 1] = self._escaped_b + out[i + 1]
                found = True
        if not found:
            out += [b"MATCH", self._escaped_b + b"*"]

    def _sort_args(self, out: List[bytes]) -> None:
        n = len(out)
        pb = self._pb
        if n > 1:
            out[1] = pb + out[1]
        i = 2
        while i < n:
            token = out[i].upper()
            if token in (b"BY", b"GET") and i + 1 < n:
                if token == b"GET" and out[i + 1] == b"#":
                    pass
                elif self._star:
                    if UNCONFINED not in self.allowed:
                        raise self._refusal(
                            tuple(out),
                            f"SORT {_text(token)} patterns are built by replacing their "
                            "first '*', and the prefix holds one",
                            UNCONFINED,
                            1,
                        )
                else:
                    out[i + 1] = pb + out[i + 1]
                i += 2
            elif token == b"STORE" and i + 1 < n:
                out[i + 1] = pb + out[i + 1]
                i += 2
            elif token == b"LIMIT":
                i += 3
            else:
                i += 1

    def _migrate_args(self, out: List[bytes]) -> None:
        # MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
        #   [AUTH password | AUTH2 username password] [KEYS key [key ...]]
        pb = self._pb
        if len(out) > 3 and out[3]:
            out[3] = pb + out[3]
        i = 6
        while i < len(out):
            token = out[i].upper()
            if token == b"AUTH":
                i += 2
            elif token == b"AUTH2":
                i += 3
            elif token == b"KEYS":
                for j in range(i + 1, len(out)):
                    out[j] = pb + out[j]
                return
            else:
                i += 1

    def _xread_keys(self, args: Tuple[bytes, ...]) -> Tuple[int, int]:
        """(index of the first stream key, number of keys) of XREAD/XREADGROUP."""
        n = len(args)
        name = _text(args[0].upper())
        i = 1
        while i < n:
            token = args[i].upper()
            if token == b"STREAMS":
                rest = n - i - 1
                if rest % 2:
                    raise DataError(
                        f"{name}: STREAMS needs as many IDs as keys, got {rest} arguments"
                    )
                return i + 1, rest // 2
            if token in (b"COUNT", b"BLOCK"):
                i += 2
            elif token == b"GROUP":
                i += 3
            elif token == b"NOACK":
                i += 1
            else:
                raise DataError(
                    f"{name}: cannot find the stream keys: unexpected {_text(args[i])!r} "
                    "before STREAMS"
                )
        raise DataError(f"{name}: no STREAMS argument")

    # -- replies ------------------------------------------------------------------------

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


def derive(
    parent: KeyPrefixer | None,
    prefix: Union[str, bytes],
    allow: Iterable[str] | None,
    allow_unsafe: bool,
    encoding: str,
    errors: str,
    channels: bool = True,
) -> KeyPrefixer:
    """The prefixer of ``with_prefix(prefix, allow=..., allow_unsafe=...)`` on a client
    whose prefixer is ``parent`` (None: an unprefixed client).

    ``channels`` is an unprefixed client's ``key_prefix_channels``; a prefixed parent
    passes on its own. Prefixes nest (``parent.prefix + prefix``; str when both are str,
    else bytes). Only
    an unprefixed client grants categories; a prefixed one passes on its own
    (``allow=None``) or fewer, and asking for more raises ConfigurationError.
    """
    if parent is None:
        granted = CATEGORIES if allow_unsafe else frozenset(_categories("allow", allow or ()))
        return KeyPrefixer(
            prefix, allow=granted, encoding=encoding, errors=errors, channels=channels
        )
    wanted = (
        CATEGORIES
        if allow_unsafe
        else parent.allowed
        if allow is None
        else frozenset(_categories("allow", allow))
    )
    extra = wanted - parent.allowed
    if extra:
        raise ConfigurationError(
            f"with_prefix on a client confined to {parent.prefix!r} cannot grant "
            f"{', '.join(sorted(extra))}: a derived client only narrows; only an unprefixed "
            "client grants key_prefix_allow categories",
            "key_prefix_allow",
        )
    outer = parent.prefix
    inner = parent._prefix_bytes(prefix)  # checks it as a prefix of its own
    combined: Union[str, bytes]
    if type(outer) is str and type(prefix) is str:
        combined = outer + prefix
    else:
        combined = parent._pb + inner
    return KeyPrefixer(
        combined, allow=wanted, encoding=encoding, errors=errors, channels=parent.channels
    )
