"""pyredisclient.fastapi and examples/fastapi_app.py, driven through real HTTP handling.

FastAPI's TestClient runs the app (lifespan included) against a real
redis-server, against a stopped one (the app must start and answer degraded),
and against a paused one. httpx's ASGI transport sends concurrent requests to
show that the health route never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any, AsyncIterator, Callable, Dict, Iterator

import pytest

pytest.importorskip("fastapi", reason="fastapi not installed")
try:  # Starlette 1.x's TestClient wants httpx2 (and deprecates httpx)
    import httpx2 as httpx
except ImportError:
    httpx = pytest.importorskip("httpx", reason="httpx2 or httpx needed by TestClient")

from fastapi import FastAPI
from fastapi.testclient import TestClient

from pyredisclient import ConfigurationError, ConnectionError, RedisClient
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.fastapi import (
    AsyncRedis,
    Redis,
    health_router,
    lifespan,
    metrics_router,
)
from pyredisclient.testing import RedisServer, find_free_port

ROOT = Path(__file__).resolve().parents[2]
ServerFactory = Callable[..., RedisServer]


def load_example() -> ModuleType:
    """Import examples/fastapi_app.py as a module (examples/ is not a package)."""
    path = ROOT / "examples" / "fastapi_app.py"
    spec = importlib.util.spec_from_file_location("example_fastapi_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example() -> ModuleType:
    return load_example()


def down_url() -> str:
    """A loopback URL where nothing listens: connections are refused."""
    return f"redis://127.0.0.1:{find_free_port()}/0"


def timed_get(client: TestClient, path: str) -> tuple[float, httpx.Response]:
    start = time.monotonic()
    response = client.get(path)
    return time.monotonic() - start, response


# ---------------------------------------------------------------------------
# the example app with Redis up
# ---------------------------------------------------------------------------


def test_example_app_against_a_running_server(
    example: ModuleType, redis_client: RedisClient, redis_url: str
) -> None:
    app = example.create_app(redis_url)
    with TestClient(app) as client:
        assert isinstance(app.state.redis, RedisClient)
        assert isinstance(app.state.async_redis, AsyncRedisClient)
        assert client.get("/visits/home").json() == {"page": "home", "visits": 1, "cached": True}
        assert client.get("/visits/home").json()["visits"] == 2
        first = client.get("/profile/7").json()
        assert first == {"profile": {"id": 7, "name": "user-7"}, "cache_hit": False}
        assert client.get("/profile/7").json()["cache_hit"] is True

        health = client.get("/health/redis")
        assert health.status_code == 200
        assert health.headers["cache-control"] == "no-store"
        body = health.json()
        assert body["status"] == "healthy"
        assert body["ping"] in ("PONG", True)
        assert body["circuit_breaker"]["state"] == "closed"

        metrics = client.get("/metrics/redis")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
        assert "pyredisclient_calls_total" in metrics.text
        sync_client = app.state.redis
        async_client = app.state.async_redis
    # Shutdown closed both clients and took them off app.state.
    assert app.state.redis is None and app.state.async_redis is None
    with pytest.raises(ConnectionError):
        sync_client.ping()
    with pytest.raises(ConnectionError):
        asyncio.run(async_client.ping())
    assert redis_client.get("visits:home") == b"2"


def test_deep_health_and_degraded_is_still_200(
    redis_server_factory: ServerFactory,
) -> None:
    server = redis_server_factory(extra_args=["--maxmemory", "1gb"])
    app = FastAPI(
        lifespan=lifespan(server.url, memory_warning_ratio=1e-6, memory_critical_ratio=1e-6)
    )
    app.include_router(health_router(deep=True))
    with TestClient(app) as client:
        response = client.get("/health/redis")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded", body
    assert body["memory"]["status"] == "critical"
    assert body["deep"]["ok"] is True


def test_a_custom_health_path(redis_url: str) -> None:
    app = FastAPI(lifespan=lifespan(redis_url))
    app.include_router(health_router("/ready/cache", tags=["ops"]))
    with TestClient(app) as client:
        assert client.get("/ready/cache").json()["status"] == "healthy"
        assert client.get("/health/redis").status_code == 404
    assert app.openapi()["paths"]["/ready/cache"]["get"]["tags"] == ["ops"]


# ---------------------------------------------------------------------------
# the example app with Redis down
# ---------------------------------------------------------------------------


def test_example_app_starts_and_answers_with_redis_down(
    example: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    app = example.create_app(down_url(), retry_attempts=0, failure_threshold=3)
    with caplog.at_level(logging.WARNING, logger="pyredisclient"):
        client = TestClient(app)
        with client:
            assert any("starting degraded" in r.getMessage() for r in caplog.records)
            for _ in range(5):
                took, response = timed_get(client, "/visits/home")
                assert response.status_code == 200
                assert response.json() == {"page": "home", "visits": None, "cached": False}
                assert took < 1.0
            took, response = timed_get(client, "/profile/3")
            assert response.json() == {"profile": {"id": 3, "name": "user-3"}, "cache_hit": False}
            assert took < 1.0
            took, health = timed_get(client, "/health/redis")
            assert health.status_code == 503
            body = health.json()
            assert body["status"] == "unhealthy"
            assert body["type"] in ("ConnectionError", "CircuitOpenError")
            assert took < 1.0
            text = client.get("/metrics/redis").text
            assert 'pyredisclient_errors_total{client="async",class="ConnectionError"}' in text
            # /profile used the sync client: its failures are counted too.
            assert 'pyredisclient_errors_total{client="sync",class="ConnectionError"}' in text
            assert body["sync"]["status"] == "unhealthy"


def test_a_server_that_stops_while_the_app_runs(
    example: ModuleType, redis_server_factory: ServerFactory
) -> None:
    server = redis_server_factory()
    app = example.create_app(server.url, retry_attempts=0, recovery_timeout=0.5)
    with TestClient(app) as client:
        assert client.get("/visits/a").json()["visits"] == 1
        assert client.get("/health/redis").status_code == 200
        server.stop()
        for _ in range(8):  # past the failure threshold: the breaker opens
            took, response = timed_get(client, "/visits/a")
            assert response.json()["visits"] is None and took < 1.0
        took, health = timed_get(client, "/health/redis")
        assert health.status_code == 503 and took < 0.5
        # The route checks the async client, whose breaker the failures opened.
        assert health.json()["type"] == "CircuitOpenError"
        assert health.json()["circuit_breaker"]["state"] == "open"
        server.start()
        deadline = time.monotonic() + 5
        visits = None
        while visits is None and time.monotonic() < deadline:
            time.sleep(0.1)
            visits = client.get("/visits/a").json()["visits"]
        assert visits == 1  # a fresh server (no persistence): counting again


def test_fail_fast_refuses_to_start(example: ModuleType) -> None:
    app = example.create_app(down_url(), fail_fast=True, retry_attempts=0)
    with pytest.raises(ConnectionError):
        with TestClient(app):
            pass


def test_a_bad_configuration_always_stops_startup() -> None:
    app = FastAPI(lifespan=lifespan("redis://127.0.0.1:6379/0", socket_timeout=-3))
    with pytest.raises(ConfigurationError):
        with TestClient(app):
            pass


def test_health_of_a_paused_server_is_bounded_and_never_blocks_the_loop(
    redis_server_factory: ServerFactory,
) -> None:
    server = redis_server_factory()
    app = FastAPI(lifespan=lifespan(server.url, socket_timeout=0.5, circuit_breaker=False))
    app.include_router(health_router())

    @app.get("/tick")
    async def tick() -> Dict[str, bool]:
        return {"ok": True}

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with app.router.lifespan_context(app):
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
                assert (await http.get("/health/redis")).status_code == 200
                server.pause()
                try:
                    start = time.monotonic()
                    health = asyncio.ensure_future(http.get("/health/redis"))
                    await asyncio.sleep(0.05)
                    ticks = 0
                    while not health.done():
                        response = await http.get("/tick")
                        assert response.status_code == 200
                        ticks += 1
                        await asyncio.sleep(0.01)
                    took = time.monotonic() - start
                    result = health.result()
                finally:
                    server.resume()
        assert result.status_code == 503
        assert result.json()["type"] == "TimeoutError"
        assert took <= 0.5 * 1.2 + 0.3, took
        assert ticks >= 10, ticks  # other requests were served meanwhile

    asyncio.run(asyncio.wait_for(main(), 20))


# ---------------------------------------------------------------------------
# dependencies without the lifespan: the shared clients
# ---------------------------------------------------------------------------


@pytest.fixture
def shared_reset() -> Iterator[None]:
    RedisClient._reset_shared()
    yield
    RedisClient._reset_shared()


def test_dependencies_fall_back_to_the_shared_clients(
    redis_client: RedisClient,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
    shared_reset: None,
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)

    @contextlib.asynccontextmanager
    async def own_lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        AsyncRedisClient._reset_shared()

    app = FastAPI(lifespan=own_lifespan)
    app.include_router(health_router())
    seen: Dict[str, Any] = {}

    @app.get("/sync")
    def sync_route(redis: Redis) -> Dict[str, Any]:
        seen["sync"] = redis
        return {"n": redis.incr("shared:n")}

    @app.get("/async")
    async def async_route(redis: AsyncRedis) -> Dict[str, Any]:
        seen.setdefault("async", []).append(redis)
        return {"n": await redis.incr("shared:n")}

    with TestClient(app) as client:
        assert client.get("/sync").json() == {"n": 1}
        assert client.get("/async").json() == {"n": 2}
        assert client.get("/async").json() == {"n": 3}
        assert client.get("/health/redis").json()["status"] == "healthy"
    assert seen["sync"] is RedisClient.get_client()
    first, second = seen["async"]
    assert first is second  # one shared async client for the app's loop


def test_metrics_router_serves_the_async_clients_counters(redis_url: str) -> None:
    parser = pytest.importorskip("prometheus_client.parser", reason="prometheus_client missing")
    app = FastAPI(lifespan=lifespan(redis_url))
    app.include_router(metrics_router("/m"))
    with TestClient(app) as client:
        text = client.get("/m").text
    families = {f.name: f for f in parser.text_string_to_metric_families(text)}
    # The startup PING is the async client's first call.
    assert families["pyredisclient_calls"].samples[0].value == 1
    assert families["pyredisclient_call_duration_seconds"].type == "histogram"


def _samples(text: str) -> Dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    parser = pytest.importorskip("prometheus_client.parser", reason="prometheus_client missing")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in parser.text_string_to_metric_families(text)
        for sample in family.samples
    }


def _sync_app(lifespan_: Any = None) -> FastAPI:
    from pyredisclient import RedisError

    app = FastAPI(lifespan=lifespan_)
    app.include_router(health_router())
    app.include_router(metrics_router())

    @app.get("/sync/{key}")
    def read(key: str, redis: Redis) -> Dict[str, Any]:
        try:
            redis.set(key, "v")
            return {"value": redis.get(key)}
        except RedisError as exc:
            return {"error": type(exc).__name__}

    return app


@pytest.mark.parametrize("with_lifespan", [True, False])
def test_health_and_metrics_cover_the_sync_client_once_used(
    redis_env: str, with_lifespan: bool
) -> None:
    app = _sync_app(lifespan(redis_env) if with_lifespan else None)
    sync_calls = ("pyredisclient_calls_total", (("client", "sync"),))
    with TestClient(app) as client:
        # Only async so far: the sync client is not part of the picture.
        assert "sync" not in client.get("/health/redis").json()
        assert sync_calls not in _samples(client.get("/metrics/redis").text)
        assert client.get("/sync/a").json() == {"value": "v"}
        samples = _samples(client.get("/metrics/redis").text)
        assert samples[sync_calls] >= 2  # SET and GET
        assert samples["pyredisclient_calls_total", (("client", "async"),)] >= 1
        health = client.get("/health/redis")
        assert health.status_code == 200
        assert health.json()["sync"]["status"] == "healthy"
        assert health.json()["status"] == "healthy"

        # The sync client's server goes away (the async one's does not).
        if with_lifespan:
            app.state.redis = RedisClient.from_url(down_url(), retry_attempts=0)
        else:
            RedisClient._reset_shared()
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("REDIS_URL", down_url())
                mp.setenv("REDIS_RETRY_ATTEMPTS", "0")
                RedisClient.get_client()
        try:
            assert client.get("/sync/a").json() == {"error": "ConnectionError"}
            health = client.get("/health/redis")
            body = health.json()
            assert health.status_code == 503
            assert body["status"] == "unhealthy" and body["sync"]["status"] == "unhealthy"
            assert body["ping"] in ("PONG", True)  # the async client is fine
            samples = _samples(client.get("/metrics/redis").text)
            errors = (
                "pyredisclient_errors_total",
                (("class", "ConnectionError"), ("client", "sync")),
            )
            assert samples[errors] >= 1
        finally:
            if with_lifespan:
                app.state.redis.close()


def test_import_pyredisclient_never_imports_fastapi_or_opentelemetry() -> None:
    code = (
        "import sys, pyredisclient, pyredisclient.aio, pyredisclient.metrics, "
        "pyredisclient.tracing\n"
        "loaded = [m for m in ('fastapi', 'starlette', 'opentelemetry') if m in sys.modules]\n"
        "print(','.join(loaded))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == ""
