"""A FastAPI app on named Redis databases: a JSON cache, a rate-limited job queue,
and liveness/readiness probes.

Run it::

    pip install fastapi uvicorn pyredisclient
    REDIS_URL=redis://127.0.0.1:6379 REDIS_CACHE_DB=1 REDIS_JOBS_DB=2 \\
        uvicorn examples.fastapi_patterns_app:app

Routes:

``PUT /cache/{key}`` and ``GET /cache/{key}``
    A JSON value in the ``cache`` database (404 when absent).
``POST /jobs``
    Queues the JSON body in the ``jobs`` database; at most 5 per minute and
    client address (sliding window): the sixth gets 429 with ``Retry-After``.
``POST /jobs/work``
    Takes one job (at-least-once: a worker that dies before ``ack`` gets its
    job redelivered after the visibility timeout), "processes" it, acks it.
``GET /health/live``, ``GET /health/ready``
    Liveness never touches Redis; readiness answers 503 while a database is down,
    from the background health monitor's last report.

While Redis is unreachable, routes answer 503 (``Retry-After`` while the circuit
breaker is open) instead of 500.
"""

from __future__ import annotations

from typing import Annotated, Any, Dict

from fastapi import Body, Depends, FastAPI, HTTPException

from pyredisclient.aio import AsyncRedisClient
from pyredisclient.fastapi import (
    async_redis_client,
    install_exception_handlers,
    lifespan,
    probes_router,
    rate_limit,
)
from pyredisclient.patterns import AsyncWorkQueue

Cache = Annotated[AsyncRedisClient, Depends(async_redis_client("cache"))]
Jobs = Annotated[AsyncRedisClient, Depends(async_redis_client("jobs"))]


def create_app(**options: Any) -> FastAPI:
    """The app; *options* go to :func:`lifespan` (RedisClient options win over REDIS_*)."""
    # health_monitor: each database is checked every 10 s in the background, and the
    # readiness probe answers from the last report (no Redis round trip per probe).
    options.setdefault("health_monitor", 10)
    app = FastAPI(lifespan=lifespan(databases={"cache": 1, "jobs": 2}, **options))
    install_exception_handlers(app)
    app.include_router(probes_router())

    @app.put("/cache/{key}")
    async def put_cache(key: str, cache: Cache, value: Annotated[Any, Body()]) -> Dict[str, Any]:
        await cache.set_json(f"item:{key}", value, ex=3600)
        return {"key": key}

    @app.get("/cache/{key}")
    async def get_cache(key: str, cache: Cache) -> Dict[str, Any]:
        value = await cache.get_json(f"item:{key}")
        if value is None:
            raise HTTPException(404, f"no cached value for {key!r}")
        return {"key": key, "value": value}

    @app.post(
        "/jobs",
        status_code=202,
        dependencies=[Depends(rate_limit(5, 60, sliding=True, database="jobs"))],
    )
    async def submit(jobs: Jobs, task: Annotated[Dict[str, Any], Body()]) -> Dict[str, str]:
        job_id = await AsyncWorkQueue(jobs, "jobs").push(task)
        return {"id": job_id}

    @app.post("/jobs/work")
    async def work(jobs: Jobs) -> Dict[str, Any]:
        queue = AsyncWorkQueue(jobs, "jobs", visibility_timeout=30)
        job = await queue.pop(timeout=0.1)
        if job is None:
            return {"job": None}
        result = {"id": job.id, "task": job.data, "done": True}  # the work itself
        await queue.ack(job)
        return {"job": result}

    return app


app = create_app()
