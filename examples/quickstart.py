"""The synchronous client in a page: commands, pipelines, fallbacks, health, metrics.

Run against a local server::

    REDIS_URL=redis://127.0.0.1:6379/0 python examples/quickstart.py

With Redis down it keeps going, as a web app should: the search is not recorded (a
warning says why), reads return their fallback values (``[]``, ``None``), the health
report says "unhealthy", and the metrics count the errors.
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


@with_redis_fallback(None)
def count_visit(client: RedisClient) -> int | None:
    """Count this visit; None when Redis is down."""
    return client.incr("visits")


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

    counts: Dict[str, Any] = {"visits": count_visit(client)}
    print(json.dumps(counts))

    report = RedisClient.health_check()  # the shared client's health; never raises
    print("health:", report["status"], report.get("error", ""))
    metrics = client.metrics()
    print("calls:", metrics["calls"], "errors by class:", metrics["errors"])
    print(client.metrics_text().splitlines()[0])


if __name__ == "__main__":
    main()
