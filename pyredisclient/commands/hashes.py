"""Hash commands: HSET, HGET, HGETALL, counters, HRANDFIELD, field expiry.

Field expiry (HEXPIRE, HTTL, HPERSIST, ...) needs Redis 7.4, HGETDEL, HGETEX
and HSETEX Redis 8.0; an older server answers them with an unknown-command
error.
"""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

import datetime
import enum
import warnings
from typing import Any, Dict, List, Mapping, Sequence, Tuple

from ..exceptions import DataError
from .args import expire_flags, expiry_args, flatten, list_or_args
from .base import CommandsBase, plain_command
from .callbacks import pairs_to_dict
from .types import AbsExpiryT, EncodableT, ExpiryT, KeyT


class HashDataPersistOptions(enum.Enum):
    """HSETEX's condition on the fields (redis-py's enum of the same name)."""

    FNX = "FNX"  # set only if none of the fields exist
    FXX = "FXX"  # set only if all of the fields exist


def _fields(fields: Sequence[Any]) -> Tuple[Any, ...]:
    return ("FIELDS", len(fields), *fields)


def _field_expire(
    command: str, name: KeyT, when: Any, fields: Sequence[Any], flags: Tuple[bool, ...]
) -> Tuple[Any, ...]:
    if sum(bool(f) for f in flags) > 1:
        raise ValueError("Only one of 'nx', 'xx', 'gt', 'lt' can be specified.")
    return (command, name, when, *expire_flags(*flags), *_fields(fields))


def _exclusive(names: str, *values: Any) -> None:
    if sum(v is not None and v is not False for v in values) > 1:
        raise DataError(f"{names} are mutually exclusive.")


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

    @plain_command
    def hsetnx(self, name: KeyT, key: EncodableT, value: EncodableT) -> int:
        """Set field ``key`` of hash ``name`` if it does not exist; 1 if set."""
        return self._run(("HSETNX", name, key, value))

    @plain_command
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

    @plain_command
    def hkeys(self, name: KeyT) -> List[Any]:
        """Return the field names of hash ``name``."""
        return self._run(("HKEYS", name))

    @plain_command
    def hvals(self, name: KeyT) -> List[Any]:
        """Return the values of hash ``name``."""
        return self._run(("HVALS", name))

    @plain_command
    def hlen(self, name: KeyT) -> int:
        """Return the number of fields in hash ``name``."""
        return self._run(("HLEN", name))

    def hmset(self, name: KeyT, mapping: Mapping[Any, EncodableT]) -> bool:
        """Set the fields of ``mapping`` in hash ``name``. Deprecated, as in redis-py
        (a DeprecationWarning): ``hset(name, mapping=...)`` does the same."""
        warnings.warn(
            "Call to deprecated hmset. (Use 'hset' instead.) -- Deprecated since version 4.0.0.",
            DeprecationWarning,
            stacklevel=2,
        )
        if not mapping:
            raise DataError("'hmset' with 'mapping' of length 0")
        return self._run(("HMSET", name, *flatten(mapping)), bool)

    @plain_command
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

    # -- field expiry (Redis 7.4) ----------------------------------------------------------

    def hexpire(
        self,
        name: KeyT,
        seconds: ExpiryT,
        *fields: EncodableT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> List[int]:
        """Expire ``fields`` of hash ``name`` in ``seconds``; one code per field
        (2 deleted, 1 set, 0 condition not met, -2 no such field)."""
        if isinstance(seconds, datetime.timedelta):
            seconds = int(seconds.total_seconds())
        return self._run(_field_expire("HEXPIRE", name, seconds, fields, (nx, xx, gt, lt)))

    def hpexpire(
        self,
        name: KeyT,
        milliseconds: ExpiryT,
        *fields: EncodableT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> List[int]:
        """Expire ``fields`` of hash ``name`` in ``milliseconds``."""
        if isinstance(milliseconds, datetime.timedelta):
            milliseconds = int(milliseconds.total_seconds() * 1000)
        return self._run(_field_expire("HPEXPIRE", name, milliseconds, fields, (nx, xx, gt, lt)))

    def hexpireat(
        self,
        name: KeyT,
        unix_time_seconds: AbsExpiryT,
        *fields: EncodableT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> List[int]:
        """Expire ``fields`` of hash ``name`` at a unix time in seconds (or a datetime)."""
        if isinstance(unix_time_seconds, datetime.datetime):
            unix_time_seconds = int(unix_time_seconds.timestamp())
        return self._run(
            _field_expire("HEXPIREAT", name, unix_time_seconds, fields, (nx, xx, gt, lt))
        )

    def hpexpireat(
        self,
        name: KeyT,
        unix_time_milliseconds: AbsExpiryT,
        *fields: EncodableT,
        nx: bool = False,
        xx: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> List[int]:
        """Expire ``fields`` of hash ``name`` at a unix time in milliseconds."""
        if isinstance(unix_time_milliseconds, datetime.datetime):
            unix_time_milliseconds = int(unix_time_milliseconds.timestamp() * 1000)
        return self._run(
            _field_expire("HPEXPIREAT", name, unix_time_milliseconds, fields, (nx, xx, gt, lt))
        )

    def hpersist(self, name: KeyT, *fields: EncodableT) -> List[int]:
        """Remove the expiry of ``fields``; one code per field (1, -1, -2)."""
        return self._run(("HPERSIST", name, *_fields(fields)))

    def hexpiretime(self, key: KeyT, *fields: EncodableT) -> List[int]:
        """The unix time in seconds at which each field expires (-1, -2 as TTL)."""
        return self._run(("HEXPIRETIME", key, *_fields(fields)))

    def hpexpiretime(self, key: KeyT, *fields: EncodableT) -> List[int]:
        """The unix time in milliseconds at which each field expires."""
        return self._run(("HPEXPIRETIME", key, *_fields(fields)))

    def httl(self, key: KeyT, *fields: EncodableT) -> List[int]:
        """The seconds each field has to live (-1 no expiry, -2 no field)."""
        return self._run(("HTTL", key, *_fields(fields)))

    def hpttl(self, key: KeyT, *fields: EncodableT) -> List[int]:
        """The milliseconds each field has to live."""
        return self._run(("HPTTL", key, *_fields(fields)))

    # -- get/set with expiry (Redis 8.0) -----------------------------------------------------

    def hgetdel(self, name: KeyT, *keys: EncodableT) -> List[Any]:
        """Return the values of fields ``keys`` (None if absent) and delete them."""
        if not keys:
            raise DataError("'hgetdel' should have at least one key provided")
        return self._run(("HGETDEL", name, *_fields(keys)))

    def hgetex(
        self,
        name: KeyT,
        *keys: EncodableT,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
        persist: bool = False,
    ) -> List[Any]:
        """Return the values of fields ``keys`` and set or remove their expiry."""
        if not keys:
            raise DataError("'hgetex' should have at least one key provided")
        _exclusive(
            "``ex``, ``px``, ``exat``, ``pxat``, and ``persist``", ex, px, exat, pxat, persist
        )
        args = ("HGETEX", name, *expiry_args(ex, px, exat, pxat))
        if persist:
            args += ("PERSIST",)
        return self._run(args + _fields(keys))

    def hsetex(
        self,
        name: KeyT,
        key: EncodableT | None = None,
        value: EncodableT | None = None,
        mapping: Mapping[Any, EncodableT] | None = None,
        items: Sequence[EncodableT] | None = None,
        ex: ExpiryT | None = None,
        px: ExpiryT | None = None,
        exat: AbsExpiryT | None = None,
        pxat: AbsExpiryT | None = None,
        data_persist_option: HashDataPersistOptions | None = None,
        keepttl: bool = False,
    ) -> int:
        """Set fields of hash ``name`` with an expiry; 1 if set, 0 if the
        ``data_persist_option`` condition (FNX/FXX) was not met."""
        if key is None and not mapping and not items:
            raise DataError("'hsetex' with no key value pairs")
        if items and len(items) % 2:
            raise DataError(
                "'hsetex' with odd number of items. 'items' must contain a list of key/value pairs."
            )
        _exclusive(
            "``ex``, ``px``, ``exat``, ``pxat``, and ``keepttl``", ex, px, exat, pxat, keepttl
        )
        args = ("HSETEX", name, *expiry_args(ex, px, exat, pxat))
        if data_persist_option:
            args += (data_persist_option.value,)
        if keepttl:
            args += ("KEEPTTL",)
        pairs: Tuple[Any, ...] = tuple(items or ())
        if key is not None:
            pairs += (key, value)
        if mapping:
            pairs += flatten(mapping)
        return self._run((*args, "FIELDS", len(pairs) // 2, *pairs))
