"""String commands: GET, SET and their variants, MGET, MSET, counters."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

import datetime
from typing import Any, List, Mapping, Tuple

from ..exceptions import DataError
from .args import expiry_args, flatten, list_or_args
from .base import CommandsBase
from .callbacks import empty_list, is_ok, set_result
from .types import AbsExpiryT, EncodableT, ExpiryT, KeysT, KeyT


class StringCommands(CommandsBase):
    __slots__ = ()

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
            return self._run(("SET", name, value), set_result)
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
        args += expiry_args(ex, px, exat, pxat)
        if keepttl:
            args += ("KEEPTTL",)
        return self._run(args, None if get else set_result)

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
