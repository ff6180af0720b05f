"""Generic key commands: DEL, EXISTS, expiry, TYPE, RENAME, KEYS."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

import datetime
from typing import Any, List

from .args import expire_flags
from .base import CommandsBase
from .callbacks import is_ok
from .types import AbsExpiryT, ExpiryT, KeyT, PatternT


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

    def ttl(self, name: KeyT) -> int:
        """Return the seconds to live of ``name`` (-1 no expiry, -2 no key)."""
        return self._run(("TTL", name))

    def pttl(self, name: KeyT) -> int:
        """Return the milliseconds to live of ``name`` (-1 no expiry, -2 no key)."""
        return self._run(("PTTL", name))

    def persist(self, name: KeyT) -> bool:
        """Remove the expiry of ``name``; True if there was one."""
        return self._run(("PERSIST", name), bool)

    def type(self, name: KeyT) -> Any:
        """Return the type of ``name`` as the server names it (b"string", b"none", ...)."""
        return self._run(("TYPE", name))

    def rename(self, src: KeyT, dst: KeyT) -> bool:
        """Rename key ``src`` to ``dst``."""
        return self._run(("RENAME", src, dst), is_ok)

    def keys(self, pattern: PatternT = "*") -> List[Any]:
        """Return the keys matching ``pattern``."""
        return self._run(("KEYS", pattern))
