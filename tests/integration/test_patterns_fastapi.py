"""FastAPI: named databases, probes, the 503 handler, the rate-limit dependency,
and examples/fastapi_patterns_app.py, driven through httpx (TestClient)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import time
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any, AsyncIterator, Callable, Dict

import pytest

pytest.importorskip("fastapi", reason="fastapi not installed")
try:
    import httpx2 as httpx  # noqa: F401  (TestClient needs one of them)
except ImportError:
    pytest.importorskip("httpx", reason="httpx2 or httpx needed by TestClient")

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from pyredisclient import ConfigurationError, RedisClient
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.fastapi import (
    async_redis_client,
    install_exception_handlers,
    lifespan,
    probes_router,
    rate_limit,
    redis_client,
)
from pyredisclient.resilience.monitor import AsyncHealthMonitor, monitor_report
from pyredisclient.testing import RedisServer

ROOT = Path(__file__).resolve().parents[2]
ServerFactory = Callable[..., RedisServer]


@pytest.fixture(autouse=True)
def _empty_databases(redis_url: str, redis_key_prefix: str | None) -> None:
    """These tests use databases 1-6 of the session server: start them empty."""
    if redis_key_prefix is not None:
        pytest.skip("needs databases 1-6 of a server it may flush")
    for db in range(1, 7):
        with RedisClient.from_url(redis_url, db=db) as admin:
            admin.flushdb()


def _db_of(client: Any) -> str:
    info = client.execute_command("CLIENT", "INFO")
    return info.split(b" db=")[1].split(b" ")[0].decode()


def where(
    cache: Annotated[RedisClient, Depends(redis_client("cache"))],
    session: Annotated[RedisClient, Depends(redis_client("session"))],
) -> Dict[str, str]:
    """GET /where: the db numbers of the sync "cache" and "session" clients."""
    return {"cache": _db_of(cache), "session": _db_of(session)}


def named_app(**options: Any) -> FastAPI:
    app = FastAPI(lifespan=lifespan(**options))
    app.get("/where")(where)

    @app.get("/where-async")
    async def where_async(
        cache: Annotated[AsyncRedisClient, Depends(async_redis_client("cache"))],
    ) -> Dict[str, str]:
        return {"cache": _db_of_async(await cache.execute_command("CLIENT", "INFO"))}

    return app


def _db_of_async(info: bytes) -> str:
    return info.split(b" db=")[1].split(b" ")[0].decode()


def test_lifespan_from_env_with_named_databases(
    monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("REDIS_CACHE_DB", "1")
    monkeypatch.setenv("REDIS_SESSION_DB", "2")
    app = named_app(databases=True)
    with TestClient(app) as http:
        assert http.get("/where").json() == {"cache": "1", "session": "2"}
        assert http.get("/where-async").json() == {"cache": "1"}
        clients = app.state.redis_clients
        assert app.state.redis is clients["cache"]
    assert app.state.redis_clients is None  # shut down: every pool closed
    with pytest.raises(Exception, match="closed"):
        clients["session"].ping()


def test_nested_prefix(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    monkeypatch.setenv("APP_REDIS__URL", redis_url)
    monkeypatch.setenv("APP_REDIS__CACHE__DB", "3")
    app = named_app(prefix="APP_REDIS__", databases={"cache": 0, "session": 4})
    with TestClient(app) as http:
        assert http.get("/where").json() == {"cache": "3", "session": "4"}


def test_url_and_databases(redis_url: str) -> None:
    with TestClient(named_app(url=redis_url, databases={"cache": 5, "session": 6})) as http:
        assert http.get("/where").json() == {"cache": "5", "session": "6"}
    with TestClient(named_app(url=redis_url, databases=["cache", "session"])) as http:
        assert http.get("/where").json() == {"cache": "0", "session": "0"}


def test_named_dependency_without_named_lifespan(redis_url: str) -> None:
    app = named_app(url=redis_url)
    with TestClient(app, raise_server_exceptions=True) as http:
        with pytest.raises(RuntimeError, match="lifespan\\(databases="):
            http.get("/where")


def test_databases_true_needs_variables(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    with pytest.raises(ConfigurationError, match="REDIS_<NAME>_DB"):
        with TestClient(named_app(databases=True)):
            pass


def test_plugging_into_an_app_with_its_own_lifespan(redis_url: str) -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def app_lifespan(app: FastAPI) -> AsyncIterator[None]:
        events.append("app startup")
        async with lifespan(url=redis_url, databases={"cache": 1, "session": 2})(app):
            events.append("redis ready")
            yield
        events.append("app shutdown")

    app = FastAPI(lifespan=app_lifespan)
    app.get("/where")(where)

    with TestClient(app) as http:
        assert http.get("/where").json() == {"cache": "1", "session": "2"}
    assert events == ["app startup", "redis ready", "app shutdown"]


def test_probes_follow_the_server(redis_server_factory: ServerFactory) -> None:
    server = redis_server_factory()
    app = FastAPI(
        lifespan=lifespan(
            url=server.url,
            databases={"cache": 1, "session": 2},
            client_name="checkout",
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            retry_attempts=0,
        )
    )
    app.include_router(probes_router())
    app.include_router(probes_router("/optional", required=[]))
    with TestClient(app) as http:
        live = http.get("/health/live")
        assert live.status_code == 200 and live.json() == {"status": "alive"}
        ready = http.get("/health/ready")
        body = ready.json()
        assert ready.status_code == 200 and body["status"] == "ready"
        assert set(body["databases"]) == {"cache", "session"}
        report = body["databases"]["cache"]
        assert report["service"] == "checkout"
        assert report["timestamp"].endswith("+00:00")
        assert report["success_rate"] == 1.0
        server.stop()
        try:
            down = http.get("/health/ready")
            assert down.status_code == 503
            assert down.json()["failing"] == ["cache", "session"]
            assert http.get("/health/live").status_code == 200  # never touches Redis
            assert http.get("/optional/ready").status_code == 200  # nothing required
        finally:
            server.start()
        assert http.get("/health/ready").status_code == 200


def _calls(app: FastAPI) -> int:
    return sum(int(c.metrics()["calls"]) for c in app.state.async_redis_clients.values())


def test_probes_read_the_health_monitor_without_a_round_trip(
    redis_server_factory: ServerFactory,
) -> None:
    server = redis_server_factory()
    fast = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5, "retry_attempts": 0}
    databases = {"cache": 1, "session": 2}

    def app(**options: Any) -> FastAPI:
        made = FastAPI(lifespan=lifespan(url=server.url, databases=databases, **fast, **options))
        made.include_router(probes_router())
        return made

    def wait_reported(made: FastAPI) -> None:
        deadline = time.monotonic() + 10
        while any(monitor_report(c) is None for c in made.state.async_redis_clients.values()):
            assert time.monotonic() < deadline, "the monitors did not report"
            time.sleep(0.02)

    slow, plain, quick = app(health_monitor=60), app(), app(health_monitor=0.1)
    with TestClient(slow) as slow_http, TestClient(plain) as plain_http:
        wait_reported(slow)  # the first check runs at startup; the next in 60 s
        before = _calls(slow)
        for _ in range(3):
            assert slow_http.get("/health/ready").status_code == 200
        assert _calls(slow) == before  # probes cost Redis nothing
        before = _calls(plain)
        for _ in range(3):
            assert plain_http.get("/health/ready").status_code == 200
        assert _calls(plain) - before >= 3 * 2  # without a monitor: checked live each time
        clients = slow.state.async_redis_clients
    # The monitors stopped with the app: nothing is read from them any more.
    assert all(monitor_report(c) is None for c in clients.values())
    with TestClient(quick) as http:
        wait_reported(quick)
        server.stop()
        try:
            deadline = time.monotonic() + 10
            while http.get("/health/ready").status_code != 503:  # the monitor saw it
                assert time.monotonic() < deadline, "the probe did not follow the monitor"
                time.sleep(0.05)
        finally:
            server.start()
    with pytest.raises(ValueError):
        lifespan(health_monitor=0)


def test_monitor_report_is_none_when_stale_stopped_or_too_shallow(redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as client:
            assert monitor_report(client) is None  # no monitor
            monitor = AsyncHealthMonitor(client, interval=60).start()
            try:
                deadline = time.monotonic() + 10
                while monitor.last_report is None:  # bounded by the deadline
                    assert time.monotonic() < deadline
                    await asyncio.sleep(0.01)
                assert monitor_report(client) is monitor.last_report
                assert monitor_report(client, deep=True) is None  # a shallow monitor
                monitor._reported_at -= 200  # older than two intervals and a check
                assert monitor_report(client) is None
            finally:
                await monitor.stop()
            assert monitor_report(client) is None

    asyncio.run(main())


def test_redis_unavailable_is_503_with_retry_after_while_open(
    redis_server_factory: ServerFactory,
) -> None:
    server = redis_server_factory()
    app = FastAPI(
        lifespan=lifespan(
            url=server.url,
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            retry_attempts=0,
            failure_threshold=2,
            recovery_timeout=30,
        )
    )
    install_exception_handlers(app)

    @app.get("/count")
    async def count() -> Dict[str, int]:
        client: AsyncRedisClient = app.state.async_redis
        return {"n": await client.incr("hits")}

    with TestClient(app, raise_server_exceptions=False) as http:
        assert http.get("/count").status_code == 200
        server.stop()
        try:
            first = http.get("/count")
            assert first.status_code == 503 and "Retry-After" not in first.headers
            assert first.json()["detail"] == "Redis is unavailable"
            http.get("/count")  # second failure: the breaker opens
            refused = http.get("/count")
            assert refused.status_code == 503
            assert refused.json()["error"] == "CircuitOpenError"
            assert 1 <= int(refused.headers["Retry-After"]) <= 30
        finally:
            server.start()


def test_rate_limit_dependency(redis_url: str) -> None:
    app = FastAPI(lifespan=lifespan(url=redis_url, databases={"limits": 1}))

    @app.get("/a", dependencies=[Depends(rate_limit(3, 60))])
    async def a() -> Dict[str, bool]:
        return {"ok": True}

    @app.get(
        "/b",
        dependencies=[
            Depends(
                rate_limit(
                    2, 60, sliding=True, database="limits", identity=lambda r: r.headers["x-user"]
                )
            )
        ],
    )
    async def b() -> Dict[str, bool]:
        return {"ok": True}

    with TestClient(app) as http:
        codes = [http.get("/a") for _ in range(4)]
        assert [r.status_code for r in codes] == [200, 200, 200, 429]
        assert codes[0].headers["RateLimit-Remaining"] == "2"
        assert 1 <= int(codes[3].headers["Retry-After"]) <= 60
        assert [http.get("/b", headers={"x-user": "ann"}).status_code for _ in range(3)] == [
            200,
            200,
            429,
        ]
        assert http.get("/b", headers={"x-user": "bob"}).status_code == 200
        assert app.state.redis_clients["limits"].zcard("ratelimit:2:60:ann") == 2
    with pytest.raises(ValueError):
        rate_limit(0, 60)


def load_example() -> ModuleType:
    path = ROOT / "examples" / "fastapi_patterns_app.py"
    spec = importlib.util.spec_from_file_location("fastapi_patterns_app", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_app(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    app = load_example().create_app()
    with TestClient(app) as http:
        assert http.get("/health/live").status_code == 200
        assert http.get("/health/ready").json()["status"] == "ready"
        assert http.put("/cache/k", json={"v": [1, 2]}).json() == {"key": "k"}
        assert http.get("/cache/k").json() == {"key": "k", "value": {"v": [1, 2]}}
        assert http.get("/cache/missing").status_code == 404
        ids = [http.post("/jobs", json={"n": i}) for i in range(6)]
        assert [r.status_code for r in ids] == [202] * 5 + [429]
        assert "Retry-After" in ids[5].headers
        done = [http.post("/jobs/work").json()["job"] for _ in range(6)]
        assert [d["task"] for d in done[:5]] == [{"n": i} for i in range(5)]
        assert [d["id"] for d in done[:5]] == [r.json()["id"] for r in ids[:5]]
        assert done[5] is None
    with RedisClient.from_url(redis_url, db=1) as cache:
        assert cache.get_json("item:k") == {"v": [1, 2]}
