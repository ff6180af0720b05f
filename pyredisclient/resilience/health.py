"""Health checks: a dict describing whether Redis answers, how fast, and how full.

:func:`health_check` backs ``client.health_check()`` and the class-level
``RedisClient.health_check()`` (the shared client); :func:`health_check_async`
backs ``await AsyncRedisClient.health_check()``. The check is written once, as
steps (pyredisclient._steps) that the two drive with blocking or awaited calls.
Neither raises: an
unreachable server, an open circuit breaker, a bad configuration or a closed
client all come back as ``{"status": "unhealthy", "error": ..., "type": ...}``.
The PING and INFO go through the ordinary call path, so they are bounded by the
client's own timeouts and an open breaker answers at once with CircuitOpenError.
"""

from __future__ import annotations

import datetime
import logging
import time
import uuid
from typing import Any, Callable, Dict, Iterable, Union

from .._steps import Steps, run_async, run_sync
from ..commands.keyprefix import KeyPrefixError
from ..config import redact_url
from ..exceptions import (
    ConnectionError,
    NoPermissionError,
    ProtocolError,
    ResponseError,
    TimeoutError,
)

#: What the checks take: a client, or a function returning one, such as
#: ``RedisClient.get_client``, called inside the check so that its failure (a bad
#: configuration) is reported rather than raised.
ClientOrGetter = Union[Any, Callable[[], Any]]

__all__ = ["health_check", "health_check_async", "memory_status", "redact"]

logger = logging.getLogger("pyredisclient")

#: Prefix of the private key a deep check writes (with a short PX expiry).
HEALTH_KEY_PREFIX = "__pyredisclient:health:"
#: Expiry of that key, in ms: it vanishes even if the DEL never arrives.
HEALTH_KEY_TTL_MS = 10_000
#: Longest error message put into a health dict.
MAX_ERROR_LEN = 300


# user:password@ (or :password@) inside a URL.
def redact(message: str, secrets: Iterable[str | None] = ()) -> str:
    """*message* with URL credentials and the given *secrets* replaced by ``***``.

    Also shortened to :data:`MAX_ERROR_LEN` characters: error texts can echo
    server data, and a health or log line is not the place for it.
    """
    text = redact_url(message)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    if len(text) > MAX_ERROR_LEN:
        text = text[: MAX_ERROR_LEN - 3] + "..."
    return text


def _config_secrets(client: Any) -> list[str | None]:
    try:
        password = client.config.password
    except Exception:
        return []
    if password is None:
        return []
    value = password.get_secret_value() if hasattr(password, "get_secret_value") else password
    return [value if isinstance(value, str) else None]


def _state(client: Any) -> Dict[str, Any]:
    """Pool and breaker state; never raises."""
    out: Dict[str, Any] = {}
    for key, getter in (("pool", "pool_stats"), ("circuit_breaker", "circuit_breaker_state")):
        try:
            out[key] = getattr(client, getter)()
        except Exception as exc:  # a half-built or foreign client object
            out[key] = {"error": type(exc).__name__}
    out["timestamp"] = _now()
    try:
        out["service"] = client.config.client_name
    except Exception:
        out["service"] = None
    breaker = out["circuit_breaker"]
    calls, failures = breaker.get("window_calls"), breaker.get("window_failures")
    # Successes over the breaker's recent window (failure_window seconds); None
    # before any call in it.
    out["success_rate"] = (
        round(1.0 - failures / calls, 4)
        if isinstance(calls, int) and isinstance(failures, int) and calls > 0
        else None
    )
    return out


def _now() -> str:
    """Now, UTC, ISO 8601 with milliseconds: the report's ``timestamp``."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def _unhealthy(
    exc: BaseException, started: float, client: Any = None, secrets: Iterable[str | None] = ()
) -> Dict[str, Any]:
    result: Dict[str, Any] = {
        "status": "unhealthy",
        "error": redact(str(exc), secrets) or type(exc).__name__,
        "type": type(exc).__name__,
        "elapsed_ms": round((time.perf_counter() - started) * 1000.0, 3),
    }
    if client is not None:
        result.update(_state(client))
    else:
        result["timestamp"] = _now()
    return result


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def memory_status(info: Dict[str, Any], warning: float, critical: float) -> Dict[str, Any]:
    """The ``memory`` part of a health dict from a parsed INFO reply.

    ``maxmemory`` 0 means no limit: ``usage_ratio`` is None and the status "ok".
    Otherwise the status is "critical" above *critical*, "warning" above *warning*.
    """
    used = _as_int(info.get("used_memory"))
    limit = _as_int(info.get("maxmemory")) or 0
    ratio: float | None = None
    status = "ok"
    if used is None:
        status = "unknown"
    elif limit > 0:
        ratio = used / limit
        if ratio > critical:
            status = "critical"
        elif ratio > warning:
            status = "warning"
    return {"used_bytes": used, "max_bytes": limit, "usage_ratio": ratio, "status": status}


# The check is written once, as steps: a generator that yields the result of each
# client call it makes (pyredisclient._steps). health_check() runs it with plain
# calls, health_check_async() with awaits, so both report exactly the same way.


def _deep_round(client: Any) -> Steps[Dict[str, Any]]:
    """SET/GET/DEL a private key; returns {"ok", "latency_ms"} or raises."""
    key = f"{HEALTH_KEY_PREFIX}{uuid.uuid4().hex}"
    token = uuid.uuid4().hex
    started = time.perf_counter()
    yield client.set(key, token, px=HEALTH_KEY_TTL_MS)
    got = yield client.get(key)
    yield client.delete(key)
    latency = (time.perf_counter() - started) * 1000.0
    ok = _text(got) == token
    result: Dict[str, Any] = {"ok": ok, "latency_ms": round(latency, 3)}
    if not ok:
        result["error"] = "GET did not return the value just SET"
    return result


def _steps(client: Any, deep: bool) -> Steps[Dict[str, Any]]:
    secrets = _config_secrets(client)
    started = time.perf_counter()
    reasons = []
    try:
        try:
            pong = yield client.execute_command("PING")
        except NoPermissionError as exc:
            # A user whose ACL has no PING (+@read +@write): the server answered.
            pong = None
            reasons.append(f"PING refused ({type(exc).__name__}: {redact(str(exc), secrets)})")
        latency_ms = (time.perf_counter() - started) * 1000.0
        try:
            info = yield client.info()
        except KeyPrefixError:
            # A client confined to a key prefix may not read the whole server's INFO
            # (key_prefix_allow "server_info"): no memory figures, not a fault.
            info = {}
        except ResponseError as exc:
            # INFO refused (an ACL, a renamed command): the server answers all the same.
            info = {}
            reasons.append(f"INFO failed ({type(exc).__name__}: {redact(str(exc), secrets)})")
    except Exception as exc:
        return _unhealthy(exc, started, client, secrets)

    config = client.config
    memory = memory_status(info, config.memory_warning_ratio, config.memory_critical_ratio)
    result: Dict[str, Any] = {
        "status": "healthy",
        "ping": _text(pong),
        "latency_ms": round(latency_ms, 3),
        "connected_clients": _as_int(info.get("connected_clients")),
        "redis_version": str(info.get("redis_version", "")),
        "used_memory_human": str(info.get("used_memory_human", "")),
        "uptime_in_seconds": _as_int(info.get("uptime_in_seconds")),
        "memory": memory,
    }
    if memory["status"] in ("warning", "critical"):
        reasons.append(f"memory usage {memory['usage_ratio']:.0%} of maxmemory")

    if deep:
        try:
            result["deep"] = yield from _deep_round(client)
        except (ConnectionError, TimeoutError, ProtocolError) as exc:
            # Reachable a moment ago, gone now: as unreachable as it gets.
            failed = _unhealthy(exc, started, client, secrets)
            failed["deep"] = {"ok": False, "error": failed["error"], "type": failed["type"]}
            return failed
        except Exception as exc:
            # Up but refusing writes (OOM, READONLY replica, ACL): degraded.
            result["deep"] = {
                "ok": False,
                "error": redact(str(exc), secrets),
                "type": type(exc).__name__,
            }
        if not result["deep"]["ok"]:
            reasons.append("deep SET/GET/DEL check failed")

    result.update(_state(client))
    breaker = result["circuit_breaker"].get("state")
    if breaker not in (None, "closed"):
        why = result["circuit_breaker"].get("reason")
        reasons.append(f"circuit breaker {breaker}: {why}" if why else f"circuit breaker {breaker}")
    if reasons:
        result["status"] = "degraded"
        result["reasons"] = reasons
    return result


def health_check(client: ClientOrGetter, deep: bool = False) -> Dict[str, Any]:
    """Check *client* (a client, or a function returning one); never raises.

    Returns ``status`` "healthy"; "degraded" (memory above ``memory_warning_ratio``
    of maxmemory, PING or INFO refused by an ACL, a failed deep check on a reachable server, or a
    breaker not yet closed; ``reasons`` says which); or "unhealthy" (with ``error``
    and ``type``). Pool and circuit breaker state are included either way.
    ``deep=True`` also times a SET/GET/DEL round trip on a private key that
    expires by itself.
    """
    started = time.perf_counter()
    try:
        client = client() if callable(client) else client
    except Exception as exc:  # ConfigurationError, or anything: never raise
        return _unhealthy(exc, started)
    try:
        return run_sync(_steps(client, deep))
    except Exception as exc:  # a bug here must not take a health route down
        logger.warning("health_check failed unexpectedly", exc_info=True)
        return _unhealthy(exc, started, client, _config_secrets(client))


async def health_check_async(client: ClientOrGetter, deep: bool = False) -> Dict[str, Any]:
    """:func:`health_check` for an AsyncRedisClient (or a function returning one),
    with awaited calls; never raises, and cancellation propagates."""
    started = time.perf_counter()
    try:
        client = client() if callable(client) else client
    except Exception as exc:  # ConfigurationError, or anything: never raise
        return _unhealthy(exc, started)
    try:
        return await run_async(_steps(client, deep))
    except Exception as exc:
        logger.warning("health_check_async failed unexpectedly", exc_info=True)
        return _unhealthy(exc, started, client, _config_secrets(client))
