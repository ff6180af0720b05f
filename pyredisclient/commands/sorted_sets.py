"""Sorted set commands: ZADD, ZRANGE and its forms, ranks, scores, pops, algebra."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, List, Mapping, Sequence, Tuple

from ..exceptions import DataError
from .args import list_or_args, mapping_items, option_word
from .base import CommandsBase, plain_command
from .callbacks import float_or_none, int_or_none, rank_with_score, score_pairs
from .types import EncodableT, KeysT, KeyT, ScoreCastT, ZScoreBoundT


def _limit(start: int | None, num: int | None) -> Tuple[Any, ...]:
    """LIMIT start num of the BYSCORE/BYLEX ranges: both or neither."""
    if (start is None) != (num is None):
        raise DataError("``start`` and ``num`` must both be specified")
    return () if start is None else ("LIMIT", start, num)


def _zrange_args(
    head: Tuple[Any, ...],
    start: EncodableT,
    end: EncodableT,
    desc: bool,
    byscore: bool,
    bylex: bool,
    withscores: bool,
    offset: int | None,
    num: int | None,
) -> Tuple[Any, ...]:
    """The arguments of ZRANGE / ZRANGESTORE after ``head`` (command and keys)."""
    if byscore and bylex:
        raise DataError("``byscore`` and ``bylex`` can not be specified together.")
    if (offset is None) != (num is None):
        raise DataError("``offset`` and ``num`` must both be specified.")
    if bylex and withscores:
        raise DataError("``withscores`` not supported in combination with ``bylex``.")
    args: Tuple[Any, ...] = (*head, start, end)
    if byscore:
        args += ("BYSCORE",)
    if bylex:
        args += ("BYLEX",)
    if desc:
        args += ("REV",)
    if offset is not None:
        args += ("LIMIT", offset, num)
    if withscores:
        args += ("WITHSCORES",)
    return args


def _zaggregate(
    head: Tuple[Any, ...],
    keys: Sequence[KeyT] | Mapping[Any, float],
    aggregate: str | None,
    withscores: bool = False,
) -> Tuple[Any, ...]:
    """numkeys, keys, WEIGHTS and AGGREGATE of ZUNION/ZINTER and their STORE forms."""
    args: Tuple[Any, ...] = (*head, len(keys))
    if isinstance(keys, Mapping):
        args += (*keys.keys(),)
        if keys:
            args += ("WEIGHTS", *keys.values())
    else:
        args += (*keys,)
    if aggregate:
        if option_word(aggregate, "aggregate") not in ("SUM", "MIN", "MAX", "COUNT"):
            raise DataError("aggregate can be sum, min, max or count.")
        args += ("AGGREGATE", aggregate)
    if withscores:
        args += ("WITHSCORES",)
    return args


def _min_or_max(min: bool | None, max: bool | None) -> str:
    if bool(min) == bool(max):
        raise DataError("Either min or max, but not both must be set")
    return "MIN" if min else "MAX"


def _bzpop_result(reply: Any) -> Tuple[Any, Any, float] | None:
    return (reply[0], reply[1], float(reply[2])) if reply else None


def _zmscore_result(reply: Any) -> List[float | None]:
    return [None if score is None else float(score) for score in reply]


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
        for member, score in mapping_items(mapping, "ZADD's mapping"):
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
        use_rev: bool = False,
    ) -> List[Any]:
        """Return members of ``name`` from ``start`` to ``end``.

        By rank unless ``byscore`` or ``bylex``; ``desc`` reverses the order;
        ``offset``/``num`` slice the result.  With ``withscores`` the result
        is a list of (member, score_cast_func(score)) tuples.  A plain
        reversed rank range is sent as ZREVRANGE (any Redis), or as ZRANGE
        ... REV with ``use_rev``.
        """
        if desc and not byscore and not bylex and offset is None and num is None and not use_rev:
            args: Tuple[Any, ...] = ("ZREVRANGE", name, start, end)
            if withscores:
                args += ("WITHSCORES",)
        else:
            args = _zrange_args(
                ("ZRANGE", name), start, end, desc, byscore, bylex, withscores, offset, num
            )
        if withscores:
            return self._run(args, score_pairs(score_cast_func))
        return self._run(args)

    def zrangestore(
        self,
        dest: KeyT,
        name: KeyT,
        start: EncodableT,
        end: EncodableT,
        byscore: bool = False,
        bylex: bool = False,
        desc: bool = False,
        offset: int | None = None,
        num: int | None = None,
    ) -> int:
        """Store the ZRANGE of ``name`` (same options) in ``dest``; return its size."""
        args = _zrange_args(
            ("ZRANGESTORE", dest, name), start, end, desc, byscore, bylex, False, offset, num
        )
        return self._run(args)

    def zrangebylex(
        self,
        name: KeyT,
        min: EncodableT,
        max: EncodableT,
        start: int | None = None,
        num: int | None = None,
    ) -> List[Any]:
        """Return members of ``name`` between lexical bounds ``min`` and ``max``."""
        return self._run(("ZRANGEBYLEX", name, min, max, *_limit(start, num)))

    def zrevrangebylex(
        self,
        name: KeyT,
        max: EncodableT,
        min: EncodableT,
        start: int | None = None,
        num: int | None = None,
    ) -> List[Any]:
        """Return members of ``name`` from lexical bound ``max`` down to ``min``."""
        return self._run(("ZREVRANGEBYLEX", name, max, min, *_limit(start, num)))

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
        args = ("ZRANGEBYSCORE", name, min, max, *_limit(start, num))
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
        args = ("ZREVRANGEBYSCORE", name, max, min, *_limit(start, num))
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

    @plain_command
    def zcard(self, name: KeyT) -> int:
        """Return the number of members of sorted set ``name``."""
        return self._run(("ZCARD", name))

    @plain_command
    def zcount(self, name: KeyT, min: ZScoreBoundT, max: ZScoreBoundT) -> int:
        """Return the number of members with scores between ``min`` and ``max``."""
        return self._run(("ZCOUNT", name, min, max))

    @plain_command
    def zlexcount(self, name: KeyT, min: EncodableT, max: EncodableT) -> int:
        """Return the number of members between lexical bounds ``min`` and ``max``."""
        return self._run(("ZLEXCOUNT", name, min, max))

    @plain_command
    def zremrangebylex(self, name: KeyT, min: EncodableT, max: EncodableT) -> int:
        """Remove the members between lexical bounds; return how many."""
        return self._run(("ZREMRANGEBYLEX", name, min, max))

    @plain_command
    def zremrangebyrank(self, name: KeyT, min: int, max: int) -> int:
        """Remove the members with ranks ``min`` to ``max``; return how many."""
        return self._run(("ZREMRANGEBYRANK", name, min, max))

    @plain_command
    def zremrangebyscore(self, name: KeyT, min: ZScoreBoundT, max: ZScoreBoundT) -> int:
        """Remove the members with scores between ``min`` and ``max``; return how many."""
        return self._run(("ZREMRANGEBYSCORE", name, min, max))

    def zmscore(self, key: KeyT, members: List[Any]) -> List[float | None]:
        """Return the score of each of ``members`` (None for a non-member)."""
        if not members:
            raise DataError("ZMSCORE members must be a non-empty list")
        return self._run(("ZMSCORE", key, *members), _zmscore_result)

    def zpopmax(self, name: KeyT, count: int | None = None) -> List[Tuple[Any, float]]:
        """Remove and return up to ``count`` (default 1) highest (member, score) pairs."""
        args = ("ZPOPMAX", name) if count is None else ("ZPOPMAX", name, count)
        return self._run(args, score_pairs(float))

    def zpopmin(self, name: KeyT, count: int | None = None) -> List[Tuple[Any, float]]:
        """Remove and return up to ``count`` (default 1) lowest (member, score) pairs."""
        args = ("ZPOPMIN", name) if count is None else ("ZPOPMIN", name, count)
        return self._run(args, score_pairs(float))

    def bzpopmax(self, keys: KeysT, timeout: float | None = 0) -> Tuple[Any, Any, float] | None:
        """Pop the highest member of the first non-empty of ``keys``, waiting up to
        ``timeout`` seconds (0: forever); return (key, member, score) or None."""
        args = ("BZPOPMAX", *list_or_args(keys, ()), 0 if timeout is None else timeout)
        return self._run(args, _bzpop_result)

    def bzpopmin(self, keys: KeysT, timeout: float | None = 0) -> Tuple[Any, Any, float] | None:
        """Like bzpopmax, popping the lowest member."""
        args = ("BZPOPMIN", *list_or_args(keys, ()), 0 if timeout is None else timeout)
        return self._run(args, _bzpop_result)

    def zmpop(
        self,
        num_keys: int,
        keys: List[Any],
        min: bool | None = False,
        max: bool | None = False,
        count: int | None = 1,
    ) -> Any:
        """Pop from the first non-empty of ``keys``: [key, [[member, score], ...]] or None.

        Exactly one of ``min`` and ``max``; scores are left as Redis sends them
        (redis-py's RESP2 shape).
        """
        args = ("ZMPOP", num_keys, *keys, _min_or_max(min, max))
        if count is not None and count != 1:
            args += ("COUNT", count)
        return self._run(args)

    def bzmpop(
        self,
        timeout: float,
        numkeys: int,
        keys: List[Any],
        min: bool | None = False,
        max: bool | None = False,
        count: int | None = 1,
    ) -> Any:
        """Blocking zmpop, waiting up to ``timeout`` seconds (0: forever)."""
        args = ("BZMPOP", timeout, numkeys, *keys, _min_or_max(min, max))
        if count is not None:
            args += ("COUNT", count)
        return self._run(args)

    def zrandmember(self, key: KeyT, count: int | None = None, withscores: bool = False) -> Any:
        """Return a random member, or a list of ``count`` (with scores interleaved,
        as redis-py returns them over RESP2)."""
        args: Tuple[Any, ...] = ("ZRANDMEMBER", key)
        if count is not None:
            args += (count,)
        if withscores:
            args += ("WITHSCORES",)
        return self._run(args)

    def zdiff(self, keys: Sequence[KeyT], withscores: bool = False) -> List[Any]:
        """Return the members of the first set that are in none of the others.

        With ``withscores`` members and scores come interleaved in one flat
        list, as redis-py returns them over RESP2.
        """
        args = ("ZDIFF", len(keys), *keys)
        return self._run((*args, "WITHSCORES") if withscores else args)

    def zdiffstore(self, dest: KeyT, keys: Sequence[KeyT]) -> int:
        """Store the zdiff of ``keys`` in ``dest``; return its size."""
        return self._run(("ZDIFFSTORE", dest, len(keys), *keys))

    def zinter(
        self,
        keys: Sequence[KeyT] | Mapping[Any, float],
        aggregate: str | None = None,
        withscores: bool = False,
    ) -> List[Any]:
        """Return the intersection of ``keys`` (a {key: weight} mapping applies WEIGHTS)."""
        args = _zaggregate(("ZINTER",), keys, aggregate, withscores)
        return self._run(args, score_pairs(float) if withscores else None)

    def zinterstore(
        self,
        dest: KeyT,
        keys: Sequence[KeyT] | Mapping[Any, float],
        aggregate: str | None = None,
    ) -> int:
        """Store the intersection of ``keys`` in ``dest``; return its size."""
        return self._run(_zaggregate(("ZINTERSTORE", dest), keys, aggregate))

    def zintercard(self, numkeys: int, keys: List[Any], limit: int = 0) -> int:
        """Return the size of the intersection of ``keys`` (stop counting at ``limit``)."""
        return self._run(("ZINTERCARD", numkeys, *keys, "LIMIT", limit))

    def zunion(
        self,
        keys: Sequence[KeyT] | Mapping[Any, float],
        aggregate: str | None = None,
        withscores: bool = False,
        score_cast_func: ScoreCastT = float,
    ) -> List[Any]:
        """Return the union of ``keys`` (a {key: weight} mapping applies WEIGHTS)."""
        args = _zaggregate(("ZUNION",), keys, aggregate, withscores)
        return self._run(args, score_pairs(score_cast_func) if withscores else None)

    def zunionstore(
        self,
        dest: KeyT,
        keys: Sequence[KeyT] | Mapping[Any, float],
        aggregate: str | None = None,
    ) -> int:
        """Store the union of ``keys`` in ``dest``; return its size."""
        return self._run(_zaggregate(("ZUNIONSTORE", dest), keys, aggregate))
