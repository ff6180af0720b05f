"""Sorted set commands: ZADD, ZRANGE and its forms, ranks, scores, counts."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, List, Mapping, Tuple

from ..exceptions import DataError
from .base import CommandsBase
from .callbacks import float_or_none, int_or_none, rank_with_score, score_pairs
from .types import EncodableT, KeyT, ScoreCastT, ZScoreBoundT


class SortedSetCommands(CommandsBase):
    __slots__ = ()

    def zadd(
        self,
        name: KeyT,
        mapping: Mapping[Any, EncodableT],
        nx: bool = False,
        xx: bool = False,
        ch: bool = False,
        incr: bool = False,
        gt: bool = False,
        lt: bool = False,
    ) -> Any:
        """Add {member: score} pairs to sorted set ``name``.

        Returns the number of members added (changed, with ``ch``); with
        ``incr`` the member's new score as a float, or None if NX/XX/GT/LT
        stopped the update.
        """
        if not mapping:
            raise DataError("ZADD requires at least one element/score pair")
        if nx and xx:
            raise DataError("ZADD allows either 'nx' or 'xx', not both")
        if gt and lt:
            raise DataError("ZADD allows either 'gt' or 'lt', not both")
        if incr and len(mapping) != 1:
            raise DataError(
                "ZADD option 'incr' only works when passing a single element/score pair"
            )
        if nx and (gt or lt):
            raise DataError("Only one of 'nx', 'lt', or 'gt' may be defined.")
        args: Tuple[Any, ...] = ("ZADD", name)
        if nx:
            args += ("NX",)
        if xx:
            args += ("XX",)
        if ch:
            args += ("CH",)
        if incr:
            args += ("INCR",)
        if gt:
            args += ("GT",)
        if lt:
            args += ("LT",)
        for member, score in mapping.items():
            args += (score, member)
        return self._run(args, float_or_none if incr else int_or_none)

    def zrem(self, name: KeyT, *values: EncodableT) -> int:
        """Remove ``values`` from sorted set ``name``; return how many existed."""
        return self._run(("ZREM", name, *values))

    def zscore(self, name: KeyT, value: EncodableT) -> float | None:
        """Return the score of ``value`` in sorted set ``name``, or None."""
        return self._run(("ZSCORE", name, value), float_or_none)

    def zincrby(self, name: KeyT, amount: float, value: EncodableT) -> float:
        """Add ``amount`` to the score of ``value``; return the new score."""
        return self._run(("ZINCRBY", name, amount, value), float_or_none)

    def zrange(
        self,
        name: KeyT,
        start: EncodableT,
        end: EncodableT,
        desc: bool = False,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
        byscore: bool = False,
        bylex: bool = False,
        offset: int | None = None,
        num: int | None = None,
    ) -> List[Any]:
        """Return members of ``name`` from ``start`` to ``end``.

        By rank unless ``byscore`` or ``bylex``; ``desc`` reverses the order;
        ``offset``/``num`` slice the result.  With ``withscores`` the result
        is a list of (member, score_cast_func(score)) tuples.
        """
        if desc and not byscore and not bylex and offset is None and num is None:
            # As redis-py: plain rank ranges in reverse use ZREVRANGE (any Redis).
            if withscores:
                return self._run(
                    ("ZREVRANGE", name, start, end, "WITHSCORES"), score_pairs(score_cast_func)
                )
            return self._run(("ZREVRANGE", name, start, end))
        if byscore and bylex:
            raise DataError("``byscore`` and ``bylex`` can not be specified together.")
        if (offset is None) != (num is None):
            raise DataError("``offset`` and ``num`` must both be specified.")
        if bylex and withscores:
            raise DataError("``withscores`` not supported in combination with ``bylex``.")
        args: Tuple[Any, ...] = ("ZRANGE", name, start, end)
        if byscore:
            args += ("BYSCORE",)
        if bylex:
            args += ("BYLEX",)
        if desc:
            args += ("REV",)
        if offset is not None:
            args += ("LIMIT", offset, num)
        if withscores:
            return self._run((*args, "WITHSCORES"), score_pairs(score_cast_func))
        return self._run(args)

    def zrevrange(
        self,
        name: KeyT,
        start: int,
        end: int,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> List[Any]:
        """Return members of ``name`` by descending rank from ``start`` to ``end``."""
        if withscores:
            return self._run(
                ("ZREVRANGE", name, start, end, "WITHSCORES"), score_pairs(score_cast_func)
            )
        return self._run(("ZREVRANGE", name, start, end))

    def zrangebyscore(
        self,
        name: KeyT,
        min: ZScoreBoundT,
        max: ZScoreBoundT,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> List[Any]:
        """Return members of ``name`` with scores between ``min`` and ``max``."""
        if (start is None) != (num is None):
            raise DataError("``start`` and ``num`` must both be specified")
        args: Tuple[Any, ...] = ("ZRANGEBYSCORE", name, min, max)
        if start is not None:
            args += ("LIMIT", start, num)
        if withscores:
            return self._run((*args, "WITHSCORES"), score_pairs(score_cast_func))
        return self._run(args)

    def zrevrangebyscore(
        self,
        name: KeyT,
        max: ZScoreBoundT,
        min: ZScoreBoundT,
        start: int | None = None,
        num: int | None = None,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> List[Any]:
        """Return members of ``name`` with scores from ``max`` down to ``min``."""
        if (start is None) != (num is None):
            raise DataError("``start`` and ``num`` must both be specified")
        args: Tuple[Any, ...] = ("ZREVRANGEBYSCORE", name, max, min)
        if start is not None:
            args += ("LIMIT", start, num)
        if withscores:
            return self._run((*args, "WITHSCORES"), score_pairs(score_cast_func))
        return self._run(args)

    def zrank(
        self,
        name: KeyT,
        value: EncodableT,
        withscore: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> Any:
        """Return the 0-based rank of ``value`` in ``name``, or None.

        With ``withscore`` (Redis 7.2+) returns [rank, score].
        """
        if withscore:
            return self._run(("ZRANK", name, value, "WITHSCORE"), rank_with_score(score_cast_func))
        return self._run(("ZRANK", name, value))

    def zrevrank(
        self,
        name: KeyT,
        value: EncodableT,
        withscore: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> Any:
        """Return the 0-based descending rank of ``value`` in ``name``, or None."""
        if withscore:
            return self._run(
                ("ZREVRANK", name, value, "WITHSCORE"), rank_with_score(score_cast_func)
            )
        return self._run(("ZREVRANK", name, value))

    def zcard(self, name: KeyT) -> int:
        """Return the number of members of sorted set ``name``."""
        return self._run(("ZCARD", name))

    def zcount(self, name: KeyT, min: ZScoreBoundT, max: ZScoreBoundT) -> int:
        """Return the number of members with scores between ``min`` and ``max``."""
        return self._run(("ZCOUNT", name, min, max))
