"""Lua scripting commands: EVAL, EVALSHA, SCRIPT LOAD/EXISTS/FLUSH."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, List

from ..exceptions import DataError
from .base import CommandsBase
from .callbacks import as_text, bools, is_ok
from .types import EncodableT


class ScriptingCommands(CommandsBase):
    __slots__ = ()

    def eval(self, script: str, numkeys: int, *keys_and_args: EncodableT) -> Any:
        """Run Lua ``script`` with ``numkeys`` keys followed by arguments."""
        return self._run(("EVAL", script, numkeys, *keys_and_args))

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: EncodableT) -> Any:
        """Run the cached script ``sha`` (NoScriptError if it is not cached)."""
        return self._run(("EVALSHA", sha, numkeys, *keys_and_args))

    def script_load(self, script: EncodableT) -> str:
        """Cache Lua ``script`` and return its SHA1 as a str."""
        return self._run(("SCRIPT", "LOAD", script), as_text)

    def script_exists(self, *args: str) -> List[bool]:
        """Return, for each SHA1 given, whether that script is cached."""
        return self._run(("SCRIPT", "EXISTS", *args), bools)

    def script_flush(self, sync_type: str | None = None) -> bool:
        """Empty the script cache (``sync_type`` "SYNC" or "ASYNC")."""
        if sync_type is None:
            return self._run(("SCRIPT", "FLUSH"), is_ok)
        if sync_type not in ("SYNC", "ASYNC"):
            raise DataError("SCRIPT FLUSH accepts sync_type SYNC, ASYNC or None.")
        return self._run(("SCRIPT", "FLUSH", sync_type), is_ok)
