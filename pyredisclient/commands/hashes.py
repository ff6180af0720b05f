"""Hash commands: HSET, HGET, HGETALL, counters, HRANDFIELD."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence, Tuple

from ..exceptions import DataError
from .args import flatten, list_or_args
from .base import CommandsBase
from .callbacks import pairs_to_dict
from .types import EncodableT, KeyT


class HashCommands(CommandsBase):
    __slots__ = ()

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
            args += flatten(mapping)
        return self._run(args)

    def hsetnx(self, name: KeyT, key: EncodableT, value: EncodableT) -> int:
        """Set field ``key`` of hash ``name`` if it does not exist; 1 if set."""
        return self._run(("HSETNX", name, key, value))

    def hget(self, name: KeyT, key: EncodableT) -> Any:
        """Return field ``key`` of hash ``name``, or None."""
        return self._run(("HGET", name, key))

    def hmget(self, name: KeyT, keys: Any, *args: EncodableT) -> List[Any]:
        """Return the values of the given fields of hash ``name``."""
        return self._run(("HMGET", name, *list_or_args(keys, args)))

    def hgetall(self, name: KeyT) -> Dict[Any, Any]:
        """Return hash ``name`` as a dict."""
        return self._run(("HGETALL", name), pairs_to_dict)

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

    def hmset(self, name: KeyT, mapping: Mapping[Any, EncodableT]) -> bool:
        """Set the fields of ``mapping`` in hash ``name`` (HSET does the same)."""
        if not mapping:
            raise DataError("'hmset' with 'mapping' of length 0")
        return self._run(("HMSET", name, *flatten(mapping)), bool)

    def hstrlen(self, name: KeyT, key: EncodableT) -> int:
        """Return the length of the value of field ``key`` (0 if absent)."""
        return self._run(("HSTRLEN", name, key))

    def hrandfield(self, key: KeyT, count: int | None = None, withvalues: bool = False) -> Any:
        """Return a random field of hash ``key`` (None if empty); with ``count`` a
        list of fields (negative: may repeat), with ``withvalues`` a flat
        [field, value, ...] list."""
        args: Tuple[Any, ...] = ("HRANDFIELD", key)
        if count is not None:
            args += (count,)
        if withvalues:
            args += ("WITHVALUES",)
        return self._run(args)
