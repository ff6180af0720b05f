"""Set commands: SADD, SREM, SMEMBERS, SPOP, SMOVE, set algebra and its *STORE/*CARD forms."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, List, Set

from .args import list_or_args
from .base import CommandsBase, plain_command
from .callbacks import to_set
from .types import EncodableT, KeysT, KeyT


class SetCommands(CommandsBase):
    __slots__ = ()

    def sadd(self, name: KeyT, *values: EncodableT) -> int:
        """Add ``values`` to set ``name``; return how many were new."""
        return self._run(("SADD", name, *values))

    def srem(self, name: KeyT, *values: EncodableT) -> int:
        """Remove ``values`` from set ``name``; return how many were members."""
        return self._run(("SREM", name, *values))

    def smembers(self, name: KeyT) -> Set[Any]:
        """Return the members of set ``name`` as a set."""
        return self._run(("SMEMBERS", name), to_set)

    @plain_command
    def sismember(self, name: KeyT, value: EncodableT) -> int:
        """Return 1 if ``value`` is a member of set ``name``, else 0."""
        return self._run(("SISMEMBER", name, value))

    @plain_command
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
        return self._run(("SINTER", *list_or_args(keys, args)), to_set)

    def sunion(self, keys: KeysT, *args: KeyT) -> Set[Any]:
        """Return the union of the given sets."""
        return self._run(("SUNION", *list_or_args(keys, args)), to_set)

    def sdiff(self, keys: KeysT, *args: KeyT) -> Set[Any]:
        """Return the members of the first set that are in none of the others."""
        return self._run(("SDIFF", *list_or_args(keys, args)), to_set)

    def sdiffstore(self, dest: KeyT, keys: KeysT, *args: KeyT) -> int:
        """Store the difference of the given sets in ``dest``; return its size."""
        return self._run(("SDIFFSTORE", dest, *list_or_args(keys, args)))

    def sinterstore(self, dest: KeyT, keys: KeysT, *args: KeyT) -> int:
        """Store the intersection of the given sets in ``dest``; return its size."""
        return self._run(("SINTERSTORE", dest, *list_or_args(keys, args)))

    def sunionstore(self, dest: KeyT, keys: KeysT, *args: KeyT) -> int:
        """Store the union of the given sets in ``dest``; return its size."""
        return self._run(("SUNIONSTORE", dest, *list_or_args(keys, args)))

    def sintercard(self, numkeys: int, keys: List[KeyT], limit: int = 0) -> int:
        """Return the size of the intersection of ``keys`` (stop counting at ``limit``)."""
        return self._run(("SINTERCARD", numkeys, *keys, "LIMIT", limit))

    def smismember(self, name: KeyT, values: Any, *args: EncodableT) -> List[int]:
        """Return 1 or 0 for each of ``values``: whether it is a member of ``name``."""
        return self._run(("SMISMEMBER", name, *list_or_args(values, args)))

    def smove(self, src: KeyT, dst: KeyT, value: EncodableT) -> bool:
        """Move ``value`` from set ``src`` to set ``dst``; True if it was moved."""
        return self._run(("SMOVE", src, dst, value), bool)
