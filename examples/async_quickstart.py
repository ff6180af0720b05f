"""The asyncio client in a page: many tasks on one client, pipelines, WATCH.

Run against a local server::

    REDIS_URL=redis://127.0.0.1:6379/0 python examples/async_quickstart.py
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Tuple

from pyredisclient import RedisError
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.fallback import with_redis_fallback


@with_redis_fallback(None)
async def cached_score(client: AsyncRedisClient, player: str) -> float | None:
    """The player's score, or None when unknown or when Redis is down."""
    return await client.zscore("scores", player)


async def play(client: AsyncRedisClient, player: str, points: int) -> Tuple[str, float]:
    """Add points in a transaction; return the new score."""
    pipe = client.pipeline()
    pipe.zincrby("scores", points, player).incr(f"games:{player}")
    score, _games = await pipe.execute()
    return player, float(score)


async def withdraw(client: AsyncRedisClient, account: str, amount: int) -> bool:
    """Optimistic locking: take ``amount`` only if the balance covers it.

    transaction() WATCHes the key, runs ``attempt`` (reads are awaited at once),
    and retries it if another client changed the key before EXEC.
    """

    async def attempt(pipe: Any) -> bool:
        balance = int(await pipe.get(account) or 0)
        if balance < amount:
            return False  # nothing queued: EXEC is skipped, the WATCH dropped
        pipe.multi()
        pipe.decrby(account, amount)
        return True

    return bool(await client.transaction(attempt, account, value_from_callable=True))


async def main() -> None:
    # One client for every task of this event loop (get_client() is per loop).
    client = AsyncRedisClient.get_client()
    try:
        results: List[Tuple[str, float]] = await asyncio.gather(
            *(play(client, f"p{i % 10}", i) for i in range(100))
        )
        best: Dict[str, float] = dict(sorted(results))
        print("scores:", best)
        print("p3 cached:", await cached_score(client, "p3"))
        await client.set("balance:alice", 100)
        done = await asyncio.gather(*(withdraw(client, "balance:alice", 30) for _ in range(5)))
        balance = int(await client.get("balance:alice") or 0)
        print(f"withdrawals: {sum(done)} of {len(done)} succeeded, balance {balance}")
        keys = [key async for key in client.scan_iter(match="games:*")]
        print(len(keys), "players")
        report = await client.health_check()
        print("health:", report["status"], "pool:", client.pool_stats())
    finally:
        await client.aclose()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except RedisError as exc:
        raise SystemExit(f"Redis is not reachable: {exc}") from exc
