"""The library's own Lua scripts: :class:`~pyredisclient.commands.scripting.Script`,
the one implementation ``register_script`` returns too, registered on no client."""

from __future__ import annotations

from ..commands.scripting import Script

__all__ = ["Script", "library_script"]


def library_script(source: str) -> Script:
    """A script of the library's patterns: run with ``Script.steps`` on any client;
    it touches only the KEYS it is given, so it runs on a prefixed client too."""
    return Script(None, source, keys_only=True)
