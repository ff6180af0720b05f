"""A FastAPI app that caches in Redis and keeps serving when Redis is down.

Run it::

    pip install fastapi uvicorn pyredisclient
    REDIS_URL=redis://127.0.0.1:6379/0 uvicorn examples.fastapi_app:app

Routes:

``GET /visits/{page}`` (``async def``)
    Counts a visit with the async client; ``visits`` is null when Redis is down.
``GET /profile/{user_id}`` (``def``, run in FastAPI's threadpool)
    A profile cached in Redis with the sync client; built afresh, uncached,
    while Redis is down.
``GET /health/redis``
    The Redis health report: 200 healthy or degraded, 503 unhealthy.
``GET /metrics/redis``
    The client's counters and latency histogram for Prometheus.

The app starts even when Redis is unreachable (the lifespan logs a warning);
``create_app(fail_fast=True)`` makes startup fail instead.
"""

from __future__ import annotations

import json
from typing import Any, Dict

from fastapi import FastAPI

from pyredisclient import RedisClient
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.fallback import with_redis_fallback
from pyredisclient.fastapi import AsyncRedis, Redis, health_router, lifespan, metrics_router

PROFILE_TTL_SECONDS = 300


@with_redis_fallback(None)
async def count_visit(redis: AsyncRedisClient, page: str) -> int:
    """Add one to the page's counter; None (the fallback) when Redis is down."""
    return await redis.incr(f"visits:{page}")


@with_redis_fallback(None)
def cached_profile(redis: RedisClient, user_id: int) -> Dict[str, Any] | None:
    """The cached profile, or None on a miss or when Redis is down."""
    raw = redis.get(f"profile:{user_id}")
    if raw is None:
        return None
    profile: Dict[str, Any] = json.loads(raw)
    return profile


@with_redis_fallback(False)
def store_profile(redis: RedisClient, user_id: int, profile: Dict[str, Any]) -> bool:
    """Cache a profile for five minutes; False when Redis is down."""
    return bool(redis.set(f"profile:{user_id}", json.dumps(profile), ex=PROFILE_TTL_SECONDS))


def load_profile(user_id: int) -> Dict[str, Any]:
    """Stands in for a database query."""
    return {"id": user_id, "name": f"user-{user_id}"}


def create_app(redis_url: str | None = None, **options: Any) -> FastAPI:
    """The app; *redis_url* None reads ``REDIS_URL`` / ``REDIS_*`` at startup."""
    app = FastAPI(title="pyredisclient example", lifespan=lifespan(redis_url, **options))
    app.include_router(health_router())
    app.include_router(metrics_router())

    @app.get("/visits/{page}")
    async def visits(page: str, redis: AsyncRedis) -> Dict[str, Any]:
        count = await count_visit(redis, page)
        return {"page": page, "visits": count, "cached": count is not None}

    @app.get("/profile/{user_id}")
    def profile(user_id: int, redis: Redis) -> Dict[str, Any]:
        cached = cached_profile(redis, user_id)
        if cached is not None:
            return {"profile": cached, "cache_hit": True}
        fresh = load_profile(user_id)
        store_profile(redis, user_id, fresh)
        return {"profile": fresh, "cache_hit": False}

    return app


app = create_app()
