"""List commands: pushes, pops (blocking ones too), ranges, LSET, LREM, LTRIM."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, List, Tuple

from .args import list_or_args
from .base import CommandsBase
from .callbacks import is_ok, to_tuple_or_none
from .types import EncodableT, KeysT, KeyT


class ListCommands(CommandsBase):
    __slots__ = ()

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
        return self._run(("LSET", name, index, value), is_ok)

    def lrem(self, name: KeyT, count: int, value: EncodableT) -> int:
        """Remove ``count`` occurrences of ``value`` (0: all); return how many."""
        return self._run(("LREM", name, count, value))

    def ltrim(self, name: KeyT, start: int, end: int) -> bool:
        """Trim list ``name`` to the elements from ``start`` to ``end``."""
        return self._run(("LTRIM", name, start, end), is_ok)

    def blpop(self, keys: KeysT, timeout: float | None = 0) -> Tuple[Any, Any] | None:
        """Pop from the first non-empty list of ``keys``, waiting up to ``timeout`` s.

        Returns (key, value), or None on timeout; a timeout of 0 waits forever.
        """
        if timeout is None:
            timeout = 0
        return self._run(("BLPOP", *list_or_args(keys, ()), timeout), to_tuple_or_none)

    def brpop(self, keys: KeysT, timeout: float | None = 0) -> Tuple[Any, Any] | None:
        """Like blpop, popping from the tail."""
        if timeout is None:
            timeout = 0
        return self._run(("BRPOP", *list_or_args(keys, ()), timeout), to_tuple_or_none)
