"""Connection and server commands: PING, ECHO, INFO, DBSIZE, FLUSHDB,
FLUSHALL, TIME, CONFIG, CLIENT, OBJECT, MEMORY.
"""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from ..exceptions import DataError
from .base import CommandsBase
from .callbacks import (
    as_text,
    client_list_result,
    config_get_result,
    info_result,
    is_ok,
    is_pong,
    time_result,
)
from .types import EncodableT, KeyT, PatternT


class ServerCommands(CommandsBase):
    __slots__ = ()

    def ping(self) -> bool:
        """Ping the server; True when it answers PONG."""
        return self._run(("PING",), is_pong)

    def echo(self, value: EncodableT) -> Any:
        """Return ``value`` as the server echoes it."""
        return self._run(("ECHO", value))

    def info(self, section: str | None = None, *args: str) -> Dict[str, Any]:
        """Return INFO (optionally for ``section`` and more) parsed into a dict."""
        if section is None:
            return self._run(("INFO",), info_result)
        return self._run(("INFO", section, *args), info_result)

    def dbsize(self) -> int:
        """Return the number of keys in the current database."""
        return self._run(("DBSIZE",))

    def flushdb(self, asynchronous: bool = False) -> bool:
        """Delete every key of the current database."""
        if asynchronous:
            return self._run(("FLUSHDB", "ASYNC"), is_ok)
        return self._run(("FLUSHDB",), is_ok)

    def flushall(self, asynchronous: bool = False) -> bool:
        """Delete every key of every database."""
        if asynchronous:
            return self._run(("FLUSHALL", "ASYNC"), is_ok)
        return self._run(("FLUSHALL",), is_ok)

    def time(self) -> Tuple[int, int]:
        """Return the server time as (seconds, microseconds)."""
        return self._run(("TIME",), time_result)

    def config_get(self, pattern: PatternT = "*", *args: PatternT) -> Dict[Any, Any]:
        """Return the configuration parameters matching the patterns as a dict of str."""
        return self._run(("CONFIG", "GET", pattern, *args), config_get_result)

    def config_set(self, name: KeyT, value: EncodableT, *args: EncodableT) -> bool:
        """Set configuration parameter ``name`` (and further name/value pairs)."""
        return self._run(("CONFIG", "SET", name, value, *args), is_ok)

    def client_setname(self, name: str) -> bool:
        """Name the connection this command runs on."""
        return self._run(("CLIENT", "SETNAME", name), is_ok)

    def client_getname(self) -> str | None:
        """Return the name of the connection this command runs on, or None."""
        return self._run(("CLIENT", "GETNAME"), as_text)

    def client_list(
        self, _type: str | None = None, client_id: List[EncodableT] | None = None
    ) -> List[Dict[str, str]]:
        """Return the connected clients as a list of dicts of str."""
        args: Tuple[Any, ...] = ("CLIENT", "LIST")
        if _type is not None:
            client_types = ("normal", "master", "replica", "pubsub")
            if str(_type).lower() not in client_types:
                raise DataError(f"CLIENT LIST _type must be one of {client_types!r}")
            args += ("TYPE", _type)
        if client_id is not None and not isinstance(client_id, (list, tuple)):
            raise DataError("client_id must be a list")
        if client_id:
            args += ("ID", *client_id)
        return self._run(args, client_list_result)

    def object(self, infotype: str, key: KeyT) -> Any:
        """Return OBJECT ``infotype`` (encoding, idletime, freq, refcount) of ``key``."""
        return self._run(("OBJECT", infotype, key))

    def memory_usage(self, key: KeyT, samples: int | None = None) -> int | None:
        """Return the bytes ``key`` and its value use, or None if it does not exist."""
        if isinstance(samples, int):
            return self._run(("MEMORY", "USAGE", key, "SAMPLES", samples))
        return self._run(("MEMORY", "USAGE", key))
