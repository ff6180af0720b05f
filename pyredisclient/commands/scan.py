"""Incremental iteration: SCAN, SSCAN, HSCAN, ZSCAN and their ``*_iter`` generators.

Each ``*scan`` method is one step (``(next cursor, items)``); each ``*_iter``
generator walks the cursor to 0 over them.  The generators call the step
methods, so they work on RedisClient only: AsyncRedisClient overrides them
with async generators (client/aio.py), and pipelines, as in redis-py, have
none.
"""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, Iterator, List, Tuple

from .base import CommandsBase
from .callbacks import hscan_novalues_result, hscan_result, scan_result, score_pairs
from .types import Callback, KeyT, PatternT, ScoreCastT


def _cursor_args(
    args: Tuple[Any, ...], match: PatternT | None, count: int | None
) -> Tuple[Any, ...]:
    if match is not None:
        args += ("MATCH", match)
    if count is not None:
        args += ("COUNT", count)
    return args


def zscan_result(score_cast_func: ScoreCastT) -> Callback:
    """Callback turning [cursor, [m1, s1, ...]] into (cursor, [(m1, cast(s1)), ...])."""
    if score_cast_func is float and _zscan_float is not None:
        return _zscan_float
    pairs = score_pairs(score_cast_func)

    def result(reply: Any) -> Tuple[int, List[Any]]:
        return int(reply[0]), pairs(reply[1]) or []

    return result


_zscan_float: Callback | None = None
_zscan_float = zscan_result(float)


class ScanCommands(CommandsBase):
    __slots__ = ()

    def scan(
        self,
        cursor: int = 0,
        match: PatternT | None = None,
        count: int | None = None,
        _type: str | None = None,
        **kwargs: Any,
    ) -> Tuple[int, List[Any]]:
        """Return (next cursor, keys) for one step of an incremental key scan."""
        args = _cursor_args(("SCAN", cursor), match, count)
        if _type is not None:
            args += ("TYPE", _type)
        return self._run(args, scan_result)

    def scan_iter(
        self,
        match: PatternT | None = None,
        count: int | None = None,
        _type: str | None = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        """Yield every key matching ``match`` (and ``_type``), scanning in steps."""
        cursor, data = self.scan(0, match=match, count=count, _type=_type)
        yield from data
        while cursor != 0:
            cursor, data = self.scan(cursor, match=match, count=count, _type=_type)
            yield from data

    def sscan(
        self,
        name: KeyT,
        cursor: int = 0,
        match: PatternT | None = None,
        count: int | None = None,
    ) -> Tuple[int, List[Any]]:
        """Return (next cursor, members) for one step of a set scan."""
        return self._run(_cursor_args(("SSCAN", name, cursor), match, count), scan_result)

    def sscan_iter(
        self, name: KeyT, match: PatternT | None = None, count: int | None = None
    ) -> Iterator[Any]:
        """Yield every member of set ``name`` matching ``match``."""
        cursor, data = self.sscan(name, 0, match=match, count=count)
        yield from data
        while cursor != 0:
            cursor, data = self.sscan(name, cursor, match=match, count=count)
            yield from data

    def hscan(
        self,
        name: KeyT,
        cursor: int = 0,
        match: PatternT | None = None,
        count: int | None = None,
        no_values: bool | None = None,
    ) -> Tuple[int, Any]:
        """Return (next cursor, {field: value}) for one step of a hash scan.

        With ``no_values`` the second item is a list of field names.
        """
        args = _cursor_args(("HSCAN", name, cursor), match, count)
        if no_values:
            args += ("NOVALUES",)
        return self._run(args, hscan_novalues_result if no_values else hscan_result)

    def hscan_iter(
        self,
        name: KeyT,
        match: PatternT | None = None,
        count: int | None = None,
        no_values: bool | None = None,
    ) -> Iterator[Any]:
        """Yield (field, value) pairs of hash ``name`` (fields with ``no_values``)."""
        cursor = None
        while cursor != 0:
            cursor, data = self.hscan(
                name, cursor or 0, match=match, count=count, no_values=no_values
            )
            if no_values:
                yield from data
            else:
                yield from data.items()

    def zscan(
        self,
        name: KeyT,
        cursor: int = 0,
        match: PatternT | None = None,
        count: int | None = None,
        score_cast_func: ScoreCastT = float,
    ) -> Tuple[int, List[Tuple[Any, Any]]]:
        """Return (next cursor, [(member, score), ...]) for one step of a sorted-set
        scan, each score passed through ``score_cast_func``."""
        args = _cursor_args(("ZSCAN", name, cursor), match, count)
        return self._run(args, zscan_result(score_cast_func))

    def zscan_iter(
        self,
        name: KeyT,
        match: PatternT | None = None,
        count: int | None = None,
        score_cast_func: ScoreCastT = float,
    ) -> Iterator[Tuple[Any, Any]]:
        """Yield every (member, score) of sorted set ``name`` matching ``match``."""
        cursor = None
        while cursor != 0:
            cursor, data = self.zscan(
                name, cursor or 0, match=match, count=count, score_cast_func=score_cast_func
            )
            yield from data
