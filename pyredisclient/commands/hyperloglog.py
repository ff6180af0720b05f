"""HyperLogLog commands: PFADD, PFCOUNT, PFMERGE."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from .base import CommandsBase
from .callbacks import is_ok
from .types import EncodableT, KeyT


class HyperlogCommands(CommandsBase):
    __slots__ = ()

    def pfadd(self, name: KeyT, *values: EncodableT) -> int:
        """Add ``values`` to HyperLogLog ``name``; 1 if its estimate changed, else 0."""
        return self._run(("PFADD", name, *values))

    def pfcount(self, *sources: KeyT) -> int:
        """Return the estimated cardinality of the union of the ``sources``."""
        return self._run(("PFCOUNT", *sources))

    def pfmerge(self, dest: KeyT, *sources: KeyT) -> bool:
        """Merge the ``sources`` HyperLogLogs into ``dest``."""
        return self._run(("PFMERGE", dest, *sources), is_ok)
