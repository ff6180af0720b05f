"""The synchronous client in a page: commands, pipelines, fallbacks, health, metrics.

Run against a local server::

    REDIS_URL=redis://127.0.0.1:6379/0 python examples/quickstart.py
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List

from pyredisclient import RedisClient, RedisError, TimeoutError
from pyredisclient.fallback import with_redis_fallback

logging.basicConfig(level=logging.INFO)


@with_redis_fallback(factory=list)
def recent_searches(client: RedisClient, user: str) -> List[str]:
    """The user's last five searches, newest first; [] when Redis is down."""
    return [s.decode() for s in client.lrange(f"searches:{user}", 0, 4)]


def record_search(client: RedisClient, user: str, query: str) -> None:
    """Push a search and keep the list short, in one round trip (MULTI/EXEC)."""
    key = f"searches:{user}"
    with client.pipeline() as pipe:
        pipe.lpush(key, query)
        pipe.ltrim(key, 0, 99)
        pipe.expire(key, 86_400)
        pipe.execute()


def main() -> None:
    # One client per process: configured from REDIS_URL / REDIS_*, shared by
    # every thread, never raising at creation because Redis is down.
    client = RedisClient.get_client()

    try:
        record_search(client, "ada", "redis streams")
        record_search(client, "ada", "circuit breakers")
    except TimeoutError:
        logging.warning("Redis is slow; the search was not recorded")
    except RedisError as exc:
        logging.warning("Redis is unavailable (%s); the search was not recorded", exc)
    print("recent:", recent_searches(client, "ada"))

    counts: Dict[str, Any] = {
        "visits": client.incr("visits") if client.ping() else None,
        "ttl": client.ttl("searches:ada"),
    }
    print(json.dumps(counts))

    report = RedisClient.health_check()  # the shared client's health
    print("health:", report["status"])
    metrics = client.metrics()
    print("calls:", metrics["calls"], "errors by class:", metrics["errors"])
    print(client.metrics_text().splitlines()[0])


if __name__ == "__main__":
    try:
        main()
    except RedisError as exc:
        raise SystemExit(f"Redis is not reachable: {exc}") from exc
