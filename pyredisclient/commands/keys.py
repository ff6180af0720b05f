"""Generic key commands: DEL, EXISTS, expiry, TYPE, RENAME, COPY, DUMP/RESTORE, KEYS."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

import datetime
from typing import Any, List, Tuple

from ..exceptions import DataError
from .args import expire_flags
from .base import CommandsBase, NeverDecode, plain_command
from .callbacks import is_ok
from .types import AbsExpiryT, EncodableT, ExpiryT, KeyT, PatternT


def _integer(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be an integer") from None


class KeyCommands(CommandsBase):
    __slots__ = ()

    def delete(self, *names: KeyT) -> int:
        """Delete ``names``; return how many existed."""
        return self._run(("DEL", *names))

    def unlink(self, *names: KeyT) -> int:
        """Delete ``names`` with the memory freed in the background."""
        return self._run(("UNLINK", *names))

    def exists(self, *names: KeyT) -> int:
        """Return how many of ``names`` exist (a key named twice counts twice)."""
        return self._run(("EXISTS", *names))

    def expire(
        self,
        name: KeyT,
        time: ExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool:
        """Expire ``name`` in ``time`` seconds; True if the timeout was set."""
        if isinstance(time, datetime.timedelta):
            time = int(time.total_seconds())
        return self._run(("EXPIRE", name, time, *expire_flags(nx, xx, gt, lt)), bool)

    def pexpire(
        self,
        name: KeyT,
        time: ExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool:
        """Expire ``name`` in ``time`` milliseconds; True if the timeout was set."""
        if isinstance(time, datetime.timedelta):
            time = int(time.total_seconds() * 1000)
        return self._run(("PEXPIRE", name, time, *expire_flags(nx, xx, gt, lt)), bool)

    def expireat(
        self,
        name: KeyT,
        when: AbsExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool:
        """Expire ``name`` at ``when`` (unix seconds or a datetime)."""
        if isinstance(when, datetime.datetime):
            when = int(when.timestamp())
        return self._run(("EXPIREAT", name, when, *expire_flags(nx, xx, gt, lt)), bool)

    def pexpireat(
        self,
        name: KeyT,
        when: AbsExpiryT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> bool:
        """Expire ``name`` at ``when`` (unix milliseconds or a datetime)."""
        if isinstance(when, datetime.datetime):
            when = int(when.timestamp() * 1000)
        return self._run(("PEXPIREAT", name, when, *expire_flags(nx, xx, gt, lt)), bool)

    @plain_command
    def ttl(self, name: KeyT) -> int:
        """Return the seconds to live of ``name`` (-1 no expiry, -2 no key)."""
        return self._run(("TTL", name))

    @plain_command
    def pttl(self, name: KeyT) -> int:
        """Return the milliseconds to live of ``name`` (-1 no expiry, -2 no key)."""
        return self._run(("PTTL", name))

    def persist(self, name: KeyT) -> bool:
        """Remove the expiry of ``name``; True if there was one."""
        return self._run(("PERSIST", name), bool)

    @plain_command
    def type(self, name: KeyT) -> Any:
        """Return the type of ``name`` as the server names it (b"string", b"none", ...)."""
        return self._run(("TYPE", name))

    def rename(self, src: KeyT, dst: KeyT) -> bool:
        """Rename key ``src`` to ``dst``."""
        return self._run(("RENAME", src, dst), is_ok)

    def renamenx(self, src: KeyT, dst: KeyT) -> bool:
        """Rename ``src`` to ``dst`` if ``dst`` does not exist; True if renamed."""
        return self._run(("RENAMENX", src, dst), bool)

    def copy(
        self,
        source: KeyT,
        destination: KeyT,
        destination_db: int | None = None,
        replace: bool = False,
    ) -> bool:
        """Copy ``source`` to ``destination`` (in ``destination_db``); True if copied.

        Under a key prefix a copy to another database needs
        ``key_prefix_allow="databases"``.
        """
        args: Tuple[Any, ...] = ("COPY", source, destination)
        if destination_db is not None:
            args += ("DB", destination_db)
        if replace:
            args += ("REPLACE",)
        return self._run(args, bool)

    def move(self, name: KeyT, db: int) -> bool:
        """Move ``name`` to database ``db``; True if moved (prefix: ``databases``)."""
        return self._run(("MOVE", name, db), bool)

    def touch(self, *args: KeyT) -> int:
        """Update the last access time of keys; return how many exist."""
        return self._run(("TOUCH", *args))

    @plain_command
    def expiretime(self, key: KeyT) -> int:
        """Return the unix time in seconds at which ``key`` expires (-1, -2 as TTL)."""
        return self._run(("EXPIRETIME", key))

    @plain_command
    def pexpiretime(self, key: KeyT) -> int:
        """Return the unix time in milliseconds at which ``key`` expires."""
        return self._run(("PEXPIRETIME", key))

    def randomkey(self, **kwargs: Any) -> Any:
        """Return a random key of the database, or None (prefix: ``server_info``)."""
        return self._run(("RANDOMKEY",))

    def dump(self, name: KeyT) -> Any:
        """Return the serialized value of ``name`` (bytes), or None.

        The payload is binary: it stays bytes with ``decode_responses=True``, as
        in redis-py, ready for :meth:`restore`.
        """
        return self._run(NeverDecode(("DUMP", name)))

    def restore(
        self,
        name: KeyT,
        ttl: float,
        value: EncodableT,
        replace: bool = False,
        absttl: bool = False,
        idletime: int | None = None,
        frequency: int | None = None,
    ) -> Any:
        """Create ``name`` from a :meth:`dump` payload, expiring in ``ttl`` ms (0: never)."""
        args: Tuple[Any, ...] = ("RESTORE", name, ttl, value)
        if replace:
            args += ("REPLACE",)
        if absttl:
            args += ("ABSTTL",)
        if idletime is not None:
            args += ("IDLETIME", _integer(idletime, "idletime"))
        if frequency is not None:
            args += ("FREQ", _integer(frequency, "frequency"))
        return self._run(args)

    def keys(self, pattern: PatternT = "*") -> List[Any]:
        """Return the keys matching ``pattern``."""
        return self._run(("KEYS", pattern))
