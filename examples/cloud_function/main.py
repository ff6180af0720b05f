"""An HTTP Cloud Function that uses Redis as a cache and keeps answering without it.

Deploy (a Python 3.10+ runtime) with ``requirements.txt`` beside this file and
the pyredisclient wheel vendored into ``wheels/`` (README.md beside this file)::

    gcloud functions deploy visits --gen2 --runtime=python312 --trigger-http \\
        --source=examples/cloud_function --entry-point=handle --timeout=10s \\
        --set-env-vars=REDIS_URL=redis://10.0.0.3:6379/0?socket_timeout=1

Run locally::

    REDIS_URL=redis://127.0.0.1:6379/0 functions-framework \\
        --source=examples/cloud_function/main.py --target=handle --port=8080

Paths:

``/``
    Counts a visit of ``?page=...`` in Redis and returns ``{"page", "visits",
    "cached"}``. When Redis is down the count is ``null`` and ``cached`` false:
    the function still answers, within the client's socket timeout, and at once
    once the circuit breaker has opened.
``/greeting``
    A slow computation cached in Redis for a minute (``?name=...``); computed
    afresh, and not cached, while Redis is down.
``/redis-health``
    The client's health report as JSON: 200 when healthy or degraded, 503 when
    unhealthy.

Any other path answers 404.

The client is ``RedisClient.get_client()``: one per instance, created on the
first request from ``REDIS_URL`` (or ``REDIS_HOST``, ``REDIS_PORT``, ...), and
kept warm across requests. Keep ``socket_timeout`` well below the function's own
timeout, so a hung Redis costs a request a second, not the whole invocation.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, Dict

import flask
import functions_framework

from pyredisclient import RedisClient
from pyredisclient.fallback import with_redis_fallback

logging.basicConfig(level=logging.INFO)

GREETING_TTL_SECONDS = 60


@with_redis_fallback(None)
def count_visit(page: str) -> int:
    """Add one to the page's counter; None (the fallback) when Redis is down."""
    return RedisClient.get_client().incr(f"visits:{page}")


@with_redis_fallback(None)
def cached_greeting(name: str) -> str | None:
    """The cached greeting for *name*, or None (a miss, or Redis is down)."""
    value = RedisClient.get_client().get(f"greeting:{name}")
    return value.decode() if isinstance(value, bytes) else value


@with_redis_fallback(False)
def store_greeting(name: str, greeting: str) -> bool:
    """Cache a greeting for a minute; False when Redis is down."""
    return bool(RedisClient.get_client().set(f"greeting:{name}", greeting, ex=GREETING_TTL_SECONDS))


def compute_greeting(name: str) -> str:
    """Stands in for an expensive computation or a slow downstream call."""
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"Hello, {name} ({digest})"


def _json(body: Dict[str, Any], status: int = 200) -> flask.Response:
    return flask.Response(
        json.dumps(body, default=str),
        status=status,
        mimetype="application/json",
        headers={"Cache-Control": "no-store"},
    )


@functions_framework.http
def handle(request: flask.Request) -> flask.Response:
    """The function's entry point (``--target=handle``)."""
    if request.path == "/redis-health":
        report = RedisClient.health_check()
        return _json(report, 503 if report.get("status") == "unhealthy" else 200)

    if request.path == "/greeting":
        name = request.args.get("name", "world")
        greeting = cached_greeting(name)
        hit = greeting is not None
        if greeting is None:
            greeting = compute_greeting(name)
            store_greeting(name, greeting)
        return _json({"greeting": greeting, "cache_hit": hit})

    if request.path != "/":
        return _json({"error": "not found"}, 404)
    page = request.args.get("page", "home")
    visits = count_visit(page)
    return _json({"page": page, "visits": visits, "cached": visits is not None})
