"""examples/fastapi_sse.py served by uvicorn on loopback, read with httpx as a browser would.

A stream receives what is published (multi-line data split into ``data:`` lines),
reports a reconnect after CLIENT KILL TYPE pubsub and goes on, and its subscription is
closed when the client disconnects. Real HTTP, because httpx's ASGI transport buffers a
whole response and an event stream never ends.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator, List

import pytest

from pyredisclient import RedisClient
from pyredisclient.testing import find_free_port

pytest.importorskip("fastapi", reason="fastapi not installed")
uvicorn = pytest.importorskip("uvicorn", reason="uvicorn not installed")
try:
    import httpx2 as httpx
except ImportError:
    httpx = pytest.importorskip("httpx", reason="httpx2 or httpx needed")

ROOT = Path(__file__).resolve().parents[2]
FAST = {"socket_timeout": 0.5, "retry_base": 0.01, "retry_cap": 0.1}


def _load() -> Any:
    spec = importlib.util.spec_from_file_location(
        "example_fastapi_sse", ROOT / "examples" / "fastapi_sse.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def base_url(redis_url: str) -> Iterator[str]:
    app = _load().create_app(redis_url, **FAST)
    port = find_free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="none"
    )
    server = uvicorn.Server(config)
    th = threading.Thread(target=server.run, daemon=True)
    th.start()
    end = time.monotonic() + 10
    while not server.started:
        assert th.is_alive() and time.monotonic() < end, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        th.join(10)
        assert not th.is_alive()


def _events(lines: Iterator[str], n: int) -> List[List[str]]:
    """The next ``n`` events (comment lines skipped), each as its lines."""
    out: List[List[str]] = []
    current: List[str] = []
    for line in lines:
        if line.startswith(":"):
            continue
        if line == "":
            if current:
                out.append(current)
                current = []
                if len(out) == n:
                    return out
            continue
        current.append(line)
    raise AssertionError(f"the stream ended after {out!r}")


def test_sse_stream(base_url: str, redis_client: RedisClient) -> None:
    ch = "sse:news"
    with httpx.Client(base_url=base_url, timeout=5.0) as http:
        with http.stream("GET", f"/events/{ch}") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.iter_lines()
            assert next(lines) == ": subscribed"
            assert redis_client.pubsub_numsub(ch) == [(ch.encode(), 1)]
            assert http.post(f"/events/{ch}", content="hello\nworld").json() == {"receivers": 1}
            redis_client.publish(ch, "second")
            assert _events(lines, 2) == [["data: hello", "data: world"], ["data: second"]]
            # The subscription's connection killed: a reconnect event, then more.
            assert redis_client.execute_command("CLIENT", "KILL", "TYPE", "pubsub") == 1
            [event] = _events(lines, 1)
            assert event[0] == "event: reconnect" and '"down_seconds"' in event[1]
            assert http.post(f"/events/{ch}", content="after").json() == {"receivers": 1}
            assert _events(lines, 1) == [["data: after"]]
        # The browser went away: the stream is cancelled, its subscription closed.
        end = time.monotonic() + 5
        while redis_client.pubsub_numsub(ch)[0][1]:
            assert time.monotonic() < end, "the subscription outlived its stream"
            time.sleep(0.05)
        assert http.post(f"/events/{ch}", content="nobody").json() == {"receivers": 0}
