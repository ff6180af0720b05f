"""The asyncio scan iterators of a single key (SSCAN, HSCAN, ZSCAN), written once for
AsyncRedisClient and AsyncRedisClusterClient: CoreCommands' are plain generators,
which would iterate over un-awaited coroutines on an asyncio client. Each call of
``sscan``/``hscan``/``zscan`` goes where the client sends that key's commands."""

from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, List, Tuple, cast

from ..commands.types import KeyT, PatternT, ScoreCastT

__all__ = ["AsyncScanIters"]


def _host(obj: object) -> Any:
    # The client: its CoreCommands methods return awaitables here.
    return obj


class AsyncScanIters:
    """Mixed in ahead of CoreCommands by the asyncio clients."""

    __slots__ = ()

    async def sscan_iter(
        self, name: KeyT, match: PatternT | None = None, count: int | None = None
    ) -> AsyncIterator[Any]:
        """Iterate over the members of a set with SSCAN (an async generator)."""
        cursor: int | None = None
        while cursor != 0:
            reply = await cast(
                Awaitable[Tuple[int, List[Any]]],
                _host(self).sscan(name, cursor or 0, match=match, count=count),
            )
            cursor, members = reply
            for member in members:
                yield member

    async def hscan_iter(
        self,
        name: KeyT,
        match: PatternT | None = None,
        count: int | None = None,
        no_values: bool | None = None,
    ) -> AsyncIterator[Any]:
        """Iterate over a hash's (field, value) pairs — or field names with
        ``no_values`` — with HSCAN (an async generator)."""
        cursor: int | None = None
        while cursor != 0:
            reply = await cast(
                Awaitable[Tuple[int, Any]],
                _host(self).hscan(name, cursor or 0, match=match, count=count, no_values=no_values),
            )
            cursor, data = reply
            for item in data if no_values else data.items():
                yield item

    async def zscan_iter(
        self,
        name: KeyT,
        match: PatternT | None = None,
        count: int | None = None,
        score_cast_func: ScoreCastT = float,
    ) -> AsyncIterator[Tuple[Any, Any]]:
        """Iterate over a sorted set's (member, score) pairs with ZSCAN (an async
        generator)."""
        cursor: int | None = None
        while cursor != 0:
            reply = await cast(
                Awaitable[Tuple[int, List[Tuple[Any, Any]]]],
                _host(self).zscan(
                    name, cursor or 0, match=match, count=count, score_cast_func=score_cast_func
                ),
            )
            cursor, pairs = reply
            for pair in pairs:
                yield pair
