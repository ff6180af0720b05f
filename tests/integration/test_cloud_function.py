"""examples/cloud_function/main.py served by functions-framework, as Cloud Functions runs it.

functions-framework runs as a subprocess (gunicorn, as in production) on a
free loopback port with REDIS_URL in its environment: against a running
redis-server, one that stops and comes back, a paused one, and none at all.
With Redis down the function must still answer, with its fallback, quickly.
Every wait is bounded; the server process group is killed by pid.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Tuple

import pytest

from pyredisclient.testing import RedisServer, find_free_port

pytest.importorskip("functions_framework", reason="functions-framework not installed")

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "examples" / "cloud_function" / "main.py"
STARTUP_TIMEOUT = 30.0
ServerFactory = Callable[..., RedisServer]


class FunctionServer:
    """functions-framework serving the example function on a loopback port."""

    def __init__(self, redis_url: str, log_path: Path) -> None:
        self.port = find_free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = dict(os.environ)
        env.update(
            REDIS_URL=redis_url,
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            PYTHONUNBUFFERED="1",
        )
        for name in ("ENVIRONMENT", "APP_ENV"):
            env.pop(name, None)
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "functions_framework",
                f"--source={SOURCE}",
                "--target=handle",
                "--host=127.0.0.1",
                f"--port={self.port}",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: gunicorn and workers
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"{self.base}/__ready__", timeout=1).close()
                return
            except urllib.error.HTTPError:
                return  # the function answered (any status): ready
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"functions-framework did not start:\n{self.log_tail()}")

    def get(self, path: str, timeout: float = 10.0) -> Tuple[float, int, Dict[str, Any]]:
        """GET *path*: (seconds taken, status, JSON body)."""
        start = time.monotonic()
        try:
            with urllib.request.urlopen(self.base + path, timeout=timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        took = time.monotonic() - start
        try:
            body = json.loads(raw)
        except ValueError:
            pytest.fail(f"{path}: {status} {raw[:300]!r}\n{self.log_tail()}")
        return took, status, body

    def log_tail(self, lines: int = 40) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._log.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[str], FunctionServer]]:
    servers: list[FunctionServer] = []

    def start(redis_url: str) -> FunctionServer:
        server = FunctionServer(redis_url, tmp_path / f"ff{len(servers)}.log")
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_counts_caches_and_reports_health_with_redis_up(
    serve: Callable[[str], FunctionServer], redis_server_factory: ServerFactory
) -> None:
    redis = redis_server_factory()
    fn = serve(redis.url)
    _, status, body = fn.get("/?page=home")
    assert status == 200 and body == {"page": "home", "visits": 1, "cached": True}
    assert fn.get("/?page=home")[2]["visits"] == 2
    assert fn.get("/?page=about")[2]["visits"] == 1
    assert fn.get("/greeting?name=ada")[2]["cache_hit"] is False
    _, _, body = fn.get("/greeting?name=ada")
    assert body["cache_hit"] is True and body["greeting"].startswith("Hello, ada")
    _, status, health = fn.get("/redis-health")
    assert status == 200 and health["status"] == "healthy"


def test_answers_with_the_fallback_when_redis_is_down(
    serve: Callable[[str], FunctionServer],
) -> None:
    fn = serve(f"redis://127.0.0.1:{find_free_port()}/0?socket_connect_timeout=1")
    for _ in range(8):
        took, status, body = fn.get("/?page=home")
        assert status == 200
        assert body == {"page": "home", "visits": None, "cached": False}
        assert took < 1.5, took
    took, status, body = fn.get("/greeting?name=bo")
    assert status == 200 and body["cache_hit"] is False and took < 1.5
    took, status, health = fn.get("/redis-health")
    assert status == 503 and health["status"] == "unhealthy" and took < 1.5
    # After the failure threshold the breaker answers without trying.
    took, _, _ = fn.get("/?page=home")
    assert took < 0.5
    assert "returning the fallback value" in fn.log_tail(200)


def test_survives_redis_stopping_and_recovers(
    serve: Callable[[str], FunctionServer], redis_server_factory: ServerFactory
) -> None:
    redis = redis_server_factory()
    fn = serve(f"{redis.url}?recovery_timeout=0.5&retry_attempts=0")
    assert fn.get("/?page=p")[2]["visits"] == 1
    redis.stop()
    for _ in range(6):
        took, status, body = fn.get("/?page=p")
        assert status == 200 and body["visits"] is None and took < 1.5
    assert fn.get("/redis-health")[1] == 503
    redis.start()
    deadline = time.monotonic() + 10
    visits = None
    while visits is None and time.monotonic() < deadline:
        time.sleep(0.2)
        visits = fn.get("/?page=p")[2]["visits"]
    assert visits == 1  # a fresh server: counting starts again
    assert fn.get("/redis-health")[1] == 200


def test_a_hung_redis_costs_a_request_at_most_the_socket_timeout(
    serve: Callable[[str], FunctionServer], redis_server_factory: ServerFactory
) -> None:
    redis = redis_server_factory()
    fn = serve(f"{redis.url}?socket_timeout=0.5&socket_connect_timeout=0.5")
    assert fn.get("/?page=h")[2]["visits"] == 1
    redis.pause()
    try:
        took, status, body = fn.get("/?page=h")
        assert status == 200 and body["visits"] is None
        assert took < 0.5 * 1.2 + 0.5, took  # the timeout, plus HTTP on a busy machine
    finally:
        redis.resume()
