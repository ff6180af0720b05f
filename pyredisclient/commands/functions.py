"""Redis functions (Redis 7): FCALL, FCALL_RO and FUNCTION LOAD/LIST/DELETE/FLUSH/
DUMP/RESTORE/STATS/KILL."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, List, Tuple

from .base import CommandsBase, NeverDecode, plain_command
from .callbacks import is_ok


class FunctionCommands(CommandsBase):
    __slots__ = ()

    def function_load(self, code: str, replace: bool | None = False) -> Any:
        """Load a library (``code`` starts with its ``#!lua name=...`` line) and
        return its name; ``replace`` overwrites a library of that name."""
        if replace:
            return self._run(("FUNCTION", "LOAD", "REPLACE", code))
        return self._run(("FUNCTION", "LOAD", code))

    def function_delete(self, library: str) -> bool:
        """Delete ``library`` and its functions."""
        return self._run(("FUNCTION", "DELETE", library), is_ok)

    def function_flush(self, mode: str = "SYNC") -> bool:
        """Delete every library (``mode`` "SYNC" or "ASYNC")."""
        return self._run(("FUNCTION", "FLUSH", mode), is_ok)

    def function_list(self, library: str | None = "*", withcode: bool | None = False) -> List[Any]:
        """The libraries whose name matches ``library`` (None: all), as the server
        answers (a list of flat [name, value, ...] lists, as redis-py's RESP2)."""
        args: Tuple[Any, ...] = ("FUNCTION", "LIST")
        if library is not None:
            args += ("LIBRARYNAME", library)
        if withcode:
            args += ("WITHCODE",)
        return self._run(args)

    def fcall(self, function: str, numkeys: int, *keys_and_args: Any) -> Any:
        """Call ``function`` with ``numkeys`` keys followed by arguments."""
        return self._run(("FCALL", function, numkeys, *keys_and_args))

    def fcall_ro(self, function: str, numkeys: int, *keys_and_args: Any) -> Any:
        """Call a read-only (``no-writes``) ``function``."""
        return self._run(("FCALL_RO", function, numkeys, *keys_and_args))

    def function_dump(self) -> bytes:
        """The serialized payload of every library (for :meth:`function_restore`):
        bytes, with ``decode_responses=True`` too."""
        return self._run(NeverDecode(("FUNCTION", "DUMP")))

    def function_restore(self, payload: str, policy: str | None = "APPEND") -> bool:
        """Restore libraries from ``payload``; ``policy`` APPEND, REPLACE or FLUSH."""
        if policy is None:
            return self._run(("FUNCTION", "RESTORE", payload), is_ok)
        return self._run(("FUNCTION", "RESTORE", payload, policy), is_ok)

    @plain_command
    def function_kill(self) -> Any:
        """Kill the function running now (it must not have written yet)."""
        return self._run(("FUNCTION", "KILL"))

    @plain_command
    def function_stats(self) -> Any:
        """The running function and the engines, as the server answers."""
        return self._run(("FUNCTION", "STATS"))
