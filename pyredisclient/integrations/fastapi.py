"""FastAPI integration: a lifespan, dependencies, and health and metrics routes.

::

    from fastapi import FastAPI
    from pyredisclient.fastapi import AsyncRedis, Redis, health_router, lifespan

    app = FastAPI(lifespan=lifespan())          # REDIS_URL / REDIS_* from the environment
    app.include_router(health_router())         # GET /health/redis

    @app.get("/items/{key}")
    async def read(key: str, redis: AsyncRedis) -> dict:
        return {"value": await redis.get(key)}

    @app.get("/sync/{key}")
    def read_sync(key: str, redis: Redis) -> dict:   # FastAPI runs it in its threadpool
        return {"value": redis.get(key)}

:func:`lifespan` creates one :class:`~pyredisclient.RedisClient` (for ``def``
routes) and one :class:`~pyredisclient.aio.AsyncRedisClient` (for ``async def``
routes) at startup, keeps them on ``app.state.redis`` / ``app.state.async_redis``,
and closes both at shutdown. If Redis does not answer at startup the app still
starts (the failure is logged and calls fail until Redis is back), unless
``fail_fast=True``. Never call the sync client from an ``async def`` route: it
blocks the event loop for the whole command.

This module imports FastAPI; ``import pyredisclient`` alone never does.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Annotated, Any, AsyncIterator, Callable, Dict, Sequence

try:
    from fastapi import APIRouter, Depends, FastAPI, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse, Response
except ImportError as exc:  # pragma: no cover - exercised without fastapi installed
    raise ImportError(
        "pyredisclient.fastapi needs FastAPI, which is not installed: pip install fastapi"
    ) from exc

from ..client.aio import AsyncRedisClient
from ..client.sync import RedisClient
from ..config import RedisConfig, hide_password, secret_url
from ..exceptions import RedisError
from ..observability.metrics import PROMETHEUS_CONTENT_TYPE, render_prometheus

__all__ = [
    "AsyncRedis",
    "Redis",
    "get_async_redis",
    "get_redis",
    "health_router",
    "lifespan",
    "metrics_router",
]

logger = logging.getLogger("pyredisclient")

Lifespan = Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]


def lifespan(url: str | None = None, *, fail_fast: bool = False, **options: Any) -> Lifespan:
    """A lifespan for ``FastAPI(lifespan=...)`` owning the app's Redis clients.

    *url* (``redis://``, ``rediss://``, ``unix://``) or, when None, the environment
    (``REDIS_URL`` or ``REDIS_HOST``, ``REDIS_PORT``, ...) gives the address;
    keyword *options* are RedisClient options and win over both. The
    configuration is read at startup; a bad one (ConfigurationError) always stops
    the app. A PING at startup, bounded by the client's timeouts, only logs a
    WARNING when Redis is unreachable, and the app starts degraded; with
    ``fail_fast=True`` the error is raised and the app does not start.
    """
    # First: the startup frame keeps these; tracebacks that print locals must not
    # show a password.
    url = secret_url(url)
    hide_password(options)

    @contextlib.asynccontextmanager
    async def redis_lifespan(app: FastAPI) -> AsyncIterator[None]:
        if url is not None:
            config = RedisConfig.from_url(url, **options)
        else:
            config = RedisConfig.from_env(**options)
        sync_client = RedisClient(config=config)
        async_client = AsyncRedisClient(config=config)
        try:
            try:
                await async_client.ping()
            except RedisError as exc:
                if fail_fast:
                    raise
                logger.warning(
                    "Redis is not reachable at startup (%s: %s); starting degraded, "
                    "Redis calls fail until it is back",
                    type(exc).__name__,
                    exc,
                )
            app.state.redis = sync_client
            app.state.async_redis = async_client
            yield
        finally:
            for name in ("redis", "async_redis"):
                if getattr(app.state, name, None) is not None:
                    setattr(app.state, name, None)
            await async_client.aclose()
            sync_client.close()

    return redis_lifespan


def get_redis(request: Request) -> RedisClient:
    """Dependency: the app's RedisClient, for ``def`` routes.

    Without :func:`lifespan` it is the process-wide ``RedisClient.get_client()``.
    A ``def`` dependency, so FastAPI runs it (and the shared client's first,
    bounded PING) in its threadpool, never on the event loop.
    """
    client = getattr(request.app.state, "redis", None)
    if not isinstance(client, RedisClient):
        client = RedisClient.get_client()
    # Remembered, so that the health and metrics routes cover it too.
    setattr(request.app.state, _SYNC_IN_USE, client)
    return client


#: The app.state attribute naming the sync client that get_redis handed out.
_SYNC_IN_USE = "pyredisclient_sync_client"
_STATUS_ORDER = ("healthy", "degraded", "unhealthy")


def _sync_in_use(request: Request) -> RedisClient | None:
    """The RedisClient this app's ``def`` routes got from :func:`get_redis`, if any."""
    client = getattr(request.app.state, _SYNC_IN_USE, None)
    return client if isinstance(client, RedisClient) else None


def _worst(a: Any, b: Any) -> Any:
    rank = {status: i for i, status in enumerate(_STATUS_ORDER)}
    return a if rank.get(a, len(rank)) >= rank.get(b, len(rank)) else b


async def get_async_redis(request: Request) -> AsyncRedisClient:
    """Dependency: the app's AsyncRedisClient, for ``async def`` routes.

    Without :func:`lifespan` it is ``AsyncRedisClient.get_client()``, the shared
    client of the running event loop.
    """
    client = getattr(request.app.state, "async_redis", None)
    if isinstance(client, AsyncRedisClient):
        return client
    return AsyncRedisClient.get_client()


#: ``redis: Redis`` in a ``def`` route's parameters injects :func:`get_redis`.
Redis = Annotated[RedisClient, Depends(get_redis)]
#: ``redis: AsyncRedis`` in an ``async def`` route injects :func:`get_async_redis`.
AsyncRedis = Annotated[AsyncRedisClient, Depends(get_async_redis)]


def health_router(
    path: str = "/health/redis",
    *,
    deep: bool = False,
    tags: Sequence[str] = ("health",),
) -> APIRouter:
    """An APIRouter with ``GET path``: the Redis health report as JSON.

    Status 200 for "healthy" and "degraded", 503 for "unhealthy"; the body is
    ``health_check()``'s dict (``deep=True`` adds a SET/GET/DEL round trip). It
    runs on the async client, so it never blocks the event loop, is bounded by
    the client's timeouts, and answers at once while the circuit breaker is open.

    Once the app's ``def`` routes have used the sync client (the :data:`Redis`
    dependency), it is checked too, in FastAPI's threadpool: its report is under
    ``"sync"`` and the top-level ``status`` is the worse of the two.
    """
    router = APIRouter(tags=list(tags))

    @router.get(path, name="redis_health", summary="Redis health")
    async def redis_health(request: Request, client: AsyncRedis) -> Response:
        report: Dict[str, Any] = await client.health_check(deep=deep)
        sync_client = _sync_in_use(request)
        if sync_client is not None:
            sync_report = await run_in_threadpool(sync_client.health_check, deep=deep)
            report["sync"] = sync_report
            report["status"] = _worst(report.get("status"), sync_report.get("status"))
        status = 503 if report.get("status") == "unhealthy" else 200
        return JSONResponse(report, status_code=status, headers={"Cache-Control": "no-store"})

    return router


def metrics_router(path: str = "/metrics/redis", *, tags: Sequence[str] = ()) -> APIRouter:
    """An APIRouter with ``GET path``: the app's client metrics for Prometheus.

    Each sample carries ``client="async"``, or ``client="sync"`` for the sync
    client once the app's ``def`` routes have used it (the :data:`Redis`
    dependency). The counters come from the C core's atomics and the
    process-wide fallback registry (written once); no Redis command is sent.
    """
    router = APIRouter(tags=list(tags))

    @router.get(path, name="redis_metrics", summary="Redis client metrics")
    async def redis_metrics(request: Request, client: AsyncRedis) -> Response:
        clients = {"async": client.metrics()}
        sync_client = _sync_in_use(request)
        if sync_client is not None:
            clients["sync"] = sync_client.metrics()
        return Response(render_prometheus(clients), media_type=PROMETHEUS_CONTENT_TYPE)

    return router
