"""String commands: GET, SET and their variants, MGET, MSET, counters, ranges, bits."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

import datetime
from typing import Any, List, Mapping, Sequence, Tuple, Union

from ..exceptions import DataError
from .args import expiry_args, flatten, list_or_args, option_word
from .base import CommandsBase, host_bound, plain_command
from .callbacks import empty_list, is_ok, set_result
from .types import AbsExpiryT, EncodableT, ExpiryT, KeysT, KeyT

#: A BITFIELD offset: an int, or a str such as "#2" (in units of the type's width).
BitfieldOffsetT = Union[int, str]


class BitFieldOperation:
    """The subcommands of one BITFIELD on ``key``, chained, sent by :meth:`execute`.

    ``client.bitfield("k").set("u8", 0, 255).incrby("u8", 0, 1).get("u8", 0).execute()``
    sends one BITFIELD and returns its reply (a list of ints, None where an
    OVERFLOW FAIL stopped an INCRBY).  ``execute`` goes through the host's hook:
    a coroutine on the asyncio client, the pipeline itself on a pipeline.  As in
    redis-py the operations start with the overflow mode ``default_overflow``
    (WRAP when not given); :meth:`overflow` adds an OVERFLOW only when it changes.
    """

    def __init__(self, client: Any, key: KeyT, default_overflow: str | None = None) -> None:
        self.client = client
        self.key = key
        self._default_overflow = default_overflow
        self.operations: List[Tuple[Any, ...]] = []
        self._last_overflow = "WRAP"
        self.reset()

    def reset(self) -> None:
        """Forget every queued operation (execute does it after sending)."""
        self.operations = []
        self._last_overflow = "WRAP"
        self.overflow(self._default_overflow or self._last_overflow)

    def overflow(self, overflow: str) -> BitFieldOperation:
        """Set the overflow mode (WRAP, SAT or FAIL) of the operations that follow."""
        overflow = option_word(overflow, "overflow")
        if overflow != self._last_overflow:
            self._last_overflow = overflow
            self.operations.append(("OVERFLOW", overflow))
        return self

    def incrby(
        self, fmt: str, offset: BitfieldOffsetT, increment: int, overflow: str | None = None
    ) -> BitFieldOperation:
        """Add ``increment`` to the ``fmt`` field (e.g. "i8") at ``offset``."""
        if overflow is not None:
            self.overflow(overflow)
        self.operations.append(("INCRBY", fmt, offset, increment))
        return self

    def get(self, fmt: str, offset: BitfieldOffsetT) -> BitFieldOperation:
        """Read the ``fmt`` field at ``offset``."""
        self.operations.append(("GET", fmt, offset))
        return self

    def set(self, fmt: str, offset: BitfieldOffsetT, value: int) -> BitFieldOperation:
        """Write ``value`` into the ``fmt`` field at ``offset``."""
        self.operations.append(("SET", fmt, offset, value))
        return self

    @property
    def command(self) -> List[Any]:
        """The BITFIELD command the queued operations make."""
        cmd: List[Any] = ["BITFIELD", self.key]
        for op in self.operations:
            cmd.extend(op)
        return cmd

    def execute(self) -> Any:
        """Send the BITFIELD, forget the operations, return what the host returns."""
        command = self.command
        self.reset()
        return self.client.execute_command(*command)


class StringCommands(CommandsBase):
    __slots__ = ()

    @plain_command
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
        ifeq: bytes | str | None = None,
        ifne: bytes | str | None = None,
        ifdeq: str | None = None,
        ifdne: str | None = None,
    ) -> Any:
        """Set ``name`` to ``value``.

        Returns True, or None when ``nx``/``xx`` (or, on Redis 8.4+, the
        ``ifeq``/``ifne`` value or ``ifdeq``/``ifdne`` digest condition)
        prevented the write; with ``get=True`` returns the old value (or None).
        """
        conditions = (ifeq, ifne, ifdeq, ifdne)
        if (
            ex is None
            and px is None
            and exat is None
            and pxat is None
            and not (nx or xx or keepttl or get)
            and conditions == (None, None, None, None)
        ):
            return self._run(("SET", name, value), set_result)
        if (ex is not None) + (px is not None) + (exat is not None) + (pxat is not None) + bool(
            keepttl
        ) > 1:
            raise DataError(
                "``ex``, ``px``, ``exat``, ``pxat``, and ``keepttl`` are mutually exclusive."
            )
        if bool(nx) + bool(xx) + sum(c is not None for c in conditions) > 1:
            raise DataError(
                "``nx``, ``xx``, ``ifeq``, ``ifne``, ``ifdeq``, ``ifdne`` are mutually exclusive."
            )
        args: Tuple[Any, ...] = ("SET", name, value)
        if nx:
            args += ("NX",)
        elif xx:
            args += ("XX",)
        else:
            for word, operand in zip(("IFEQ", "IFNE", "IFDEQ", "IFDNE"), conditions):
                if operand is not None:
                    args += (word, operand)
        if get:
            args += ("GET",)
        args += expiry_args(ex, px, exat, pxat)
        if keepttl:
            args += ("KEEPTTL",)
        return self._run(args, None if get else set_result)

    @plain_command
    def getset(self, name: KeyT, value: EncodableT) -> Any:
        """Set ``name`` to ``value`` and return the old value (or None)."""
        return self._run(("GETSET", name, value))

    @plain_command
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
        args = ("GETEX", name, *expiry_args(ex, px, exat, pxat))
        if persist:
            args += ("PERSIST",)
        return self._run(args)

    def mget(self, keys: KeysT, *args: KeyT) -> List[Any]:
        """Return the values of ``keys`` (plus ``args``), None for missing keys."""
        if not args and type(keys) in (list, tuple) and keys:
            # The common call, mget([k1, k2, ...]): no intermediate list copy.
            return self._run(("MGET", *keys))
        names = list_or_args(keys, args)
        if not names:
            # redis-py answers [] without an error; a PING keeps a pipeline's
            # results in step with its commands.
            return self._run(("PING",), empty_list)
        return self._run(("MGET", *names))

    def mset(self, mapping: Mapping[Any, EncodableT]) -> bool:
        """Set every key/value pair of ``mapping``."""
        return self._run(("MSET", *flatten(mapping)), is_ok)

    def msetnx(self, mapping: Mapping[Any, EncodableT]) -> bool:
        """Set the pairs of ``mapping`` only if none of the keys exist."""
        return self._run(("MSETNX", *flatten(mapping)), bool)

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

    @plain_command
    def append(self, key: KeyT, value: EncodableT) -> int:
        """Append ``value`` to the string at ``key``; return the new length."""
        return self._run(("APPEND", key, value))

    @plain_command
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

    @plain_command
    def getrange(self, key: KeyT, start: int, end: int) -> Any:
        """Return the bytes of the string at ``key`` from ``start`` to ``end`` inclusive."""
        return self._run(("GETRANGE", key, start, end))

    def substr(self, name: KeyT, start: int, end: int = -1) -> Any:
        """GETRANGE under its old name, ``end`` defaulting to the last byte."""
        return self._run(("SUBSTR", name, start, end))

    @plain_command
    def setrange(self, name: KeyT, offset: int, value: EncodableT) -> int:
        """Overwrite the string at ``name`` from ``offset``; return its new length."""
        return self._run(("SETRANGE", name, offset, value))

    def lcs(
        self,
        key1: KeyT,
        key2: KeyT,
        len: bool | None = False,
        idx: bool | None = False,
        minmatchlen: int | None = 0,
        withmatchlen: bool | None = False,
    ) -> Any:
        """The longest common subsequence of two strings (its length with ``len``,
        the matching ranges with ``idx``; the server's reply as it is)."""
        args: Tuple[Any, ...] = ("LCS", key1, key2)
        if len:
            args += ("LEN",)
        if idx:
            args += ("IDX",)
        if minmatchlen:
            args += ("MINMATCHLEN", minmatchlen)
        if withmatchlen:
            args += ("WITHMATCHLEN",)
        return self._run(args)

    # -- bits ----------------------------------------------------------------------------

    @plain_command
    def getbit(self, name: KeyT, offset: int) -> int:
        """Return the bit at ``offset`` of the string at ``name``."""
        return self._run(("GETBIT", name, offset))

    def setbit(self, name: KeyT, offset: int, value: int) -> int:
        """Set the bit at ``offset`` to ``value`` (truthy: 1); return the old bit."""
        return self._run(("SETBIT", name, offset, 1 if value else 0))

    def bitcount(
        self, key: KeyT, start: int | None = None, end: int | None = None, mode: str | None = None
    ) -> int:
        """Count the set bits of ``key`` (in ``start``..``end``, bytes or ``mode="BIT"``)."""
        if (start is None) != (end is None):
            raise DataError("Both start and end must be specified")
        args: Tuple[Any, ...] = ("BITCOUNT", key)
        if start is not None:
            args += (start, end)
        if mode is not None:
            args += (mode,)
        return self._run(args)

    def bitpos(
        self,
        key: KeyT,
        bit: int,
        start: int | None = None,
        end: int | None = None,
        mode: str | None = None,
    ) -> int:
        """Return the position of the first ``bit`` (0 or 1) of ``key``, or -1."""
        if bit not in (0, 1):
            raise DataError("bit must be 0 or 1")
        if start is None and end is not None:
            raise DataError("start argument is not set, when end is specified")
        args: Tuple[Any, ...] = ("BITPOS", key, bit)
        if start is not None:
            args += (start,)
            if end is not None:
                args += (end,)
        if mode is not None:
            args += (mode,)
        return self._run(args)

    def bitop(self, operation: str, dest: KeyT, *keys: KeyT) -> int:
        """Store AND/OR/XOR/NOT of ``keys`` in ``dest``; return its length."""
        return self._run(("BITOP", operation, dest, *keys))

    @host_bound
    def bitfield(self, key: KeyT, default_overflow: str | None = None) -> BitFieldOperation:
        """A :class:`BitFieldOperation` on ``key``: chain get/set/incrby, then execute()."""
        return BitFieldOperation(self, key, default_overflow=default_overflow)

    def bitfield_ro(
        self,
        key: KeyT,
        encoding: str,
        offset: BitfieldOffsetT,
        items: Sequence[Tuple[str, BitfieldOffsetT]] | None = None,
    ) -> List[int]:
        """Read the ``encoding`` field at ``offset`` and each (encoding, offset) of
        ``items`` with BITFIELD_RO."""
        args: Tuple[Any, ...] = ("BITFIELD_RO", key, "GET", encoding, offset)
        for fmt, off in items or ():
            args += ("GET", fmt, off)
        return self._run(args)
