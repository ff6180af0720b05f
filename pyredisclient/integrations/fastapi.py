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

import asyncio
import contextlib
import logging
import math
from typing import (
    Annotated,
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Dict,
    Iterable,
    Mapping,
    Sequence,
)

try:
    from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
    from fastapi.concurrency import run_in_threadpool
    from fastapi.responses import JSONResponse, Response
except ImportError as exc:  # pragma: no cover - exercised without fastapi installed
    raise ImportError(
        "pyredisclient.fastapi needs FastAPI, which is not installed: pip install fastapi"
    ) from exc

from ..client.aio import AsyncRedisClient
from ..client.sync import RedisClient
from ..config import ConfigurationError, RedisConfig, hide_password, secret_url
from ..exceptions import CircuitOpenError, ConnectionError, RedisError, TimeoutError
from ..observability.metrics import PROMETHEUS_CONTENT_TYPE, render_prometheus
from ..patterns.named import AsyncRedisClients, RedisClients
from ..patterns.ratelimit import AsyncRateLimiter, RateLimitResult
from ..resilience.monitor import AsyncHealthMonitor, monitor_report

__all__ = [
    "AsyncRedis",
    "Redis",
    "async_redis_client",
    "get_async_redis",
    "get_redis",
    "health_router",
    "install_exception_handlers",
    "lifespan",
    "metrics_router",
    "probes_router",
    "rate_limit",
    "redis_client",
]

logger = logging.getLogger("pyredisclient")

Lifespan = Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]


def lifespan(
    url: str | None = None,
    *,
    prefix: str = "REDIS_",
    databases: Iterable[str] | Mapping[str, int] | bool | None = None,
    fail_fast: bool = False,
    health_monitor: float | None = None,
    **options: Any,
) -> Lifespan:
    """A lifespan for ``FastAPI(lifespan=...)`` owning the app's Redis clients.

    *url* (``redis://``, ``rediss://``, ``unix://``) or, when None, the environment
    (``REDIS_URL`` or ``REDIS_HOST``, ``REDIS_PORT``, ...) gives the address;
    keyword *options* are RedisClient options and win over both. The
    configuration is read at startup; a bad one (ConfigurationError) always stops
    the app. A PING at startup, bounded by the client's timeouts, only logs a
    WARNING when Redis is unreachable, and the app starts degraded; with
    ``fail_fast=True`` the error is raised and the app does not start.

    *prefix* is the environment variables' prefix (``"REDIS__"`` for the nested
    style). *databases* names logical databases (a list, a mapping name -> default
    db, or True for every ``{prefix}{NAME}_DB`` variable; see
    :meth:`RedisConfig.databases_from_env`): each gets its own sync and async
    client and pool, on ``app.state.redis_clients`` and
    ``app.state.async_redis_clients``, reached with :func:`redis_client` and
    :func:`async_redis_client`; the first name's clients are also the default
    ``app.state.redis`` / ``app.state.async_redis``. All are closed at shutdown.

    *health_monitor* (seconds) starts an :class:`AsyncHealthMonitor` per async
    client, checking it that often in the background; the readiness probe
    (:func:`probes_router`) then answers from the last report, with no round trip
    to Redis per probe. The monitors stop at shutdown.

    An app with its own lifespan enters this one inside it, in one line::

        @contextlib.asynccontextmanager
        async def app_lifespan(app):
            async with lifespan(databases=["cache", "session"])(app):
                yield                       # the app's own startup/shutdown around it
    """
    # First: the startup frame keeps these; tracebacks that print locals must not
    # show a password.
    url = secret_url(url)
    hide_password(options)
    if health_monitor is not None and not health_monitor > 0:
        raise ValueError(f"health_monitor must be > 0 seconds or None, got {health_monitor!r}")

    @contextlib.asynccontextmanager
    async def redis_lifespan(app: FastAPI) -> AsyncIterator[None]:
        configs = _configs(url, prefix, databases, options)
        sync_clients = RedisClients(configs)
        try:
            async_clients = AsyncRedisClients(configs)
        except BaseException:
            sync_clients.close()
            raise
        first = next(iter(configs))
        monitors: list[AsyncHealthMonitor] = []
        try:
            for name, async_client in async_clients.items():
                try:
                    await async_client.ping()
                except RedisError as exc:
                    if fail_fast:
                        raise
                    logger.warning(
                        "Redis%s is not reachable at startup (%s: %s); starting degraded, "
                        "Redis calls fail until it is back",
                        "" if databases is None else f" database {name!r}",
                        type(exc).__name__,
                        exc,
                    )
            app.state.redis = sync_clients[first]
            app.state.async_redis = async_clients[first]
            if databases is not None:
                app.state.redis_clients = sync_clients
                app.state.async_redis_clients = async_clients
            if health_monitor is not None:
                for async_client in async_clients.values():
                    monitors.append(AsyncHealthMonitor(async_client, health_monitor).start())
            yield
        finally:
            for monitor in monitors:
                await monitor.stop()
            for attr in ("redis", "async_redis", "redis_clients", "async_redis_clients"):
                if getattr(app.state, attr, None) is not None:
                    setattr(app.state, attr, None)
            await async_clients.aclose()
            sync_clients.close()

    return redis_lifespan


def _configs(
    url: str | None,
    prefix: str,
    databases: Iterable[str] | Mapping[str, int] | bool | None,
    options: Dict[str, Any],
) -> Dict[str, RedisConfig]:
    """The lifespan's configs by name ("default" alone when no databases are named)."""
    if databases is None or databases is False:
        if url is not None:
            return {"default": RedisConfig.from_url(url, **options)}
        return {"default": RedisConfig.from_env(prefix, **options)}
    names = None if databases is True else databases
    if url is None:
        configs = RedisConfig.databases_from_env(names, prefix, **options)
    else:
        base = RedisConfig.from_url(url, **options)
        given = dict(names) if isinstance(names, Mapping) else {n: None for n in names or ()}
        configs = {n: base if db is None else base.replace(db=int(db)) for n, db in given.items()}
    if not configs:
        raise ConfigurationError(
            f"databases=True but no {prefix}<NAME>_DB variable is set", "databases", "databases"
        )
    return configs


def _named(request: Request, attr: str, name: str) -> Any:
    clients = getattr(request.app.state, attr, None)
    if clients is None:
        raise RuntimeError(
            f"no named Redis databases on this app: use lifespan(databases=[{name!r}, ...])"
        )
    return clients.get_client(name)


def redis_client(name: str) -> Callable[[Request], RedisClient]:
    """Dependency factory: the RedisClient of the named database, for ``def`` routes.

    ``cache: Annotated[RedisClient, Depends(redis_client("cache"))]``
    """

    def dependency(request: Request) -> RedisClient:
        client: RedisClient = _named(request, "redis_clients", name)
        return client

    return dependency


def async_redis_client(name: str) -> Callable[[Request], Awaitable[AsyncRedisClient]]:
    """Dependency factory: the AsyncRedisClient of the named database.

    ``cache: Annotated[AsyncRedisClient, Depends(async_redis_client("cache"))]``
    """

    async def dependency(request: Request) -> AsyncRedisClient:
        client: AsyncRedisClient = _named(request, "async_redis_clients", name)
        return client

    return dependency


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


def _async_clients(app: Any) -> Dict[str, AsyncRedisClient]:
    """Every async client of the app by name: the named databases, else "default"."""
    named = getattr(app.state, "async_redis_clients", None)
    if named is not None:
        return dict(named)
    client = getattr(app.state, "async_redis", None)
    if isinstance(client, AsyncRedisClient):
        return {"default": client}
    return {"default": AsyncRedisClient.get_client()}


async def _report(client: AsyncRedisClient, deep: bool) -> Dict[str, Any]:
    """The monitor's last report of *client* when one runs, else a live check."""
    report = monitor_report(client, deep)
    return report if report is not None else await client.health_check(deep=deep)


def probes_router(
    prefix: str = "/health",
    *,
    required: Iterable[str] | None = None,
    deep: bool = False,
    tags: Sequence[str] = ("health",),
) -> APIRouter:
    """An APIRouter with Kubernetes-style probes.

    ``GET {prefix}/live``: 200 while the process serves requests; it never
    touches Redis (a Redis outage must not get the pod restarted).
    ``GET {prefix}/ready``: the health report of every named database, checked
    concurrently; 503 while any *required* one (default: all) is unhealthy, so
    the load balancer stops sending traffic. Each report has ``timestamp``,
    ``service`` (the client_name) and ``success_rate`` over the breaker's
    recent window. A client with a running health monitor (``lifespan(
    health_monitor=10)``, or one started by hand) answers with the monitor's last
    report, no round trip to Redis per probe; the others (and a monitor whose
    report is stale) are checked live.
    """
    router = APIRouter(tags=list(tags))
    needed = None if required is None else set(required)

    @router.get(prefix + "/live", name="liveness", summary="Liveness probe")
    async def live() -> Response:
        return JSONResponse({"status": "alive"}, headers={"Cache-Control": "no-store"})

    @router.get(prefix + "/ready", name="readiness", summary="Readiness probe")
    async def ready(request: Request) -> Response:
        clients = _async_clients(request.app)
        reports = await asyncio.gather(*(_report(c, deep) for c in clients.values()))
        by_name = dict(zip(clients, reports))
        failing = sorted(
            name
            for name, report in by_name.items()
            if report.get("status") == "unhealthy" and (needed is None or name in needed)
        )
        body = {
            "status": "not ready" if failing else "ready",
            "failing": failing,
            "databases": by_name,
        }
        return JSONResponse(
            body, status_code=503 if failing else 200, headers={"Cache-Control": "no-store"}
        )

    return router


def _retry_after(app: Any) -> int | None:
    """Seconds until the first open breaker among the app's clients may let a call through."""
    waits = []
    for client in _async_clients(app).values():
        try:
            state = client.circuit_breaker_state()
        except RedisError:
            continue
        if state.get("state") == "open":
            waits.append(float(state.get("open_remaining") or 0.0))
    return max(1, math.ceil(min(waits))) if waits else None


async def _unavailable(request: Request, exc: Exception) -> Response:
    headers = {"Cache-Control": "no-store"}
    retry = _retry_after(request.app)
    if retry is None and isinstance(exc, CircuitOpenError):
        retry = 1
    if retry is not None:
        headers["Retry-After"] = str(retry)
    return JSONResponse(
        {"detail": "Redis is unavailable", "error": type(exc).__name__},
        status_code=503,
        headers=headers,
    )


def install_exception_handlers(app: FastAPI) -> None:
    """Answer 503 (not 500) when a route fails because Redis is unavailable.

    pyredisclient's ConnectionError (CircuitOpenError, PoolTimeoutError, ...) and
    TimeoutError become ``503 {"detail": "Redis is unavailable", "error": ...}``
    with ``Retry-After`` set to the seconds until the circuit breaker lets a call
    through while it is open. Other errors (a ResponseError is a bug or bad data)
    keep FastAPI's handling.
    """
    app.add_exception_handler(ConnectionError, _unavailable)
    app.add_exception_handler(TimeoutError, _unavailable)


def rate_limit(
    limit: int,
    period: float,
    *,
    sliding: bool = False,
    database: str | None = None,
    identity: Callable[[Request], str] | None = None,
    namespace: str | None = None,
) -> Callable[[Request, Response], Awaitable[RateLimitResult]]:
    """Dependency factory: at most *limit* requests per *period* seconds and caller.

    The caller is ``identity(request)`` (default: the client's IP address). A
    refused request gets ``429 Too Many Requests`` with ``Retry-After``; a
    granted one gets ``RateLimit-Limit/-Remaining/-Reset`` headers. The counter
    lives in the app's async client (or the named *database*), under
    *namespace* (default ``ratelimit:{limit}:{period}``), inside its key_prefix.

    ``@app.get("/search", dependencies=[Depends(rate_limit(10, 60))])``
    """
    space = namespace if namespace is not None else f"ratelimit:{limit}:{period:g}"
    AsyncRateLimiter(None, limit, period)  # check the arguments now, not per request

    async def dependency(request: Request, response: Response) -> RateLimitResult:
        if database is not None:
            client: AsyncRedisClient = _named(request, "async_redis_clients", database)
        else:
            client = await get_async_redis(request)
        who = identity(request) if identity is not None else _client_ip(request)
        limiter = AsyncRateLimiter(client, limit, period, sliding=sliding, namespace=space)
        result = await limiter.hit(who)
        if not result.allowed:
            raise HTTPException(429, "Too Many Requests", headers=result.headers(limit))
        response.headers.update(result.headers(limit))
        return result

    return dependency


def _client_ip(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"
