"""Client metrics as a dict, and as Prometheus text exposition format.

:func:`collect` backs ``client.metrics()`` (RedisClient and AsyncRedisClient). It
reads the C core's lock-free counters and latency histogram (always on: a few
relaxed atomic increments per call), the pool counters, the circuit breaker
state and the process-wide fallback registry of ``with_redis_fallback``::

    {
        "calls": 1200,             # finished calls (a pipeline is one call)
        "commands": 1500,          # commands in them
        "response_errors": 2,      # error replies (WRONGTYPE, ...)
        "errors": {"TimeoutError": 3, "ConnectionError": 1},   # failed calls by class
        "core_errors": {"ETIMEDOUT": 3, "ECONNLOST": 1},       # the same, by core code
        "latency_histogram": [(0.0001, 10), ..., ("+Inf", 1200)],  # cumulative
        "latency_seconds_sum": 0.84,
        "latency_count": 1200,
        "retries": 4, "pool_waits": 0, "pool_timeouts": 0,
        "breaker_transitions": 2,
        "pool": {"created": 3, "in_use": 0, "idle": 3, ...},
        "circuit_breaker": {"state": "closed", "failures": 0, ...},
        "fallbacks": {"mymodule.cached_profile": 3},
        "fallbacks_total": 3,
    }

:func:`render_prometheus` turns that dict into the text format (version 0.0.4)
that Prometheus scrapes, for a ``/metrics`` route::

    return Response(client.metrics_text(), media_type=PROMETHEUS_CONTENT_TYPE)

Latency covers the whole call: pool wait, connect when one happens, retries,
write and read. Cancelled or interrupted calls are counted under "Interrupted".
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, List, Mapping, Tuple

from .._core import error_classes as _error_classes
from ..resilience.fallback import fallback_counts

__all__ = [
    "CORE_ERROR_CLASSES",
    "PROMETHEUS_CONTENT_TYPE",
    "collect",
    "render_prometheus",
]

#: The Content-Type of :func:`render_prometheus` output.
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: The exception class each core error code is raised as, from the core's error table
#: (PRC_ERRNO_MAP in csrc/core/prc.h). ENOMEM raises MemoryError; EINTR is a call
#: abandoned by task cancellation or a signal: nothing is raised by the client itself,
#: so it gets a name of its own.
CORE_ERROR_CLASSES: Dict[str, str] = {
    code: name or {"ENOMEM": "MemoryError"}.get(code, "Interrupted")
    for code, name in _error_classes().items()
}

_BREAKER_STATES = ("closed", "half_open", "open")


def _errors_by_class(core_errors: Mapping[str, int]) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for code, count in core_errors.items():
        # pyrc_raise's default branch: any other code is a ConnectionError.
        name = CORE_ERROR_CLASSES.get(code, "ConnectionError")
        out[name] = out.get(name, 0) + int(count)
    return out


def collect(client: Any) -> Dict[str, Any]:
    """Every metric of *client* (RedisClient or AsyncRedisClient) as a plain dict.

    Cheap enough to call per scrape: three snapshots of atomic counters, no I/O,
    no lock shared with the command path.
    """
    core = client._core
    raw = core.metrics()
    pool = dict(core.pool_stats())
    breaker = dict(core.breaker_state())
    hist = [(bound, int(count)) for bound, count in raw["latency_histogram"]]
    fallbacks = dict(fallback_counts())
    return {
        "calls": int(raw["calls"]),
        "commands": int(raw["commands"]),
        "response_errors": int(raw["response_errors"]),
        "errors": _errors_by_class(raw["errors"]),
        "core_errors": dict(raw["errors"]),
        "latency_histogram": hist,
        "latency_seconds_sum": float(raw["latency_seconds_sum"]),
        "latency_count": hist[-1][1] if hist else 0,
        "retries": int(pool.get("retries", 0)),
        "pool_waits": int(pool.get("waits", 0)),
        "pool_timeouts": int(pool.get("timeouts", 0)),
        "breaker_transitions": int(raw["breaker_transitions"]),
        "pool": pool,
        "circuit_breaker": breaker,
        "fallbacks": fallbacks,
        "fallbacks_total": sum(fallbacks.values()),
    }


# -- Prometheus text exposition format ------------------------------------------------


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


Sample = Tuple[str, List[Tuple[str, str]], Any]  # (name suffix, labels, value)
# One metric family: (name, type, help, the samples it takes from a metrics dict).
Family = Tuple[str, str, str, Callable[[Mapping[str, Any]], List[Sample]]]


def _one(key: str, suffix: str = "_total") -> Callable[[Mapping[str, Any]], List[Sample]]:
    return lambda m: [(suffix, [], m.get(key, 0))]


def _pool(key: str) -> Callable[[Mapping[str, Any]], List[Sample]]:
    return lambda m: [("_total", [], m.get("pool", {}).get(key, 0))]


def _errors(m: Mapping[str, Any]) -> List[Sample]:
    return [("_total", [("class", cls)], n) for cls, n in sorted(m.get("errors", {}).items())]


def _histogram(m: Mapping[str, Any]) -> List[Sample]:
    hist = list(m.get("latency_histogram", []))
    count = m.get("latency_count", hist[-1][1] if hist else 0)
    out: List[Sample] = []
    for bound, n in hist:
        le = "+Inf" if bound == "+Inf" else _number(float(bound))
        out.append(("_bucket", [("le", le)], n))
    if not hist or hist[-1][0] != "+Inf":
        out.append(("_bucket", [("le", "+Inf")], count))
    out.append(("_sum", [], m.get("latency_seconds_sum", 0.0)))
    out.append(("_count", [], count))
    return out


def _connections(m: Mapping[str, Any]) -> List[Sample]:
    pool = m.get("pool", {})
    return [("", [("state", s)], pool.get(s, 0)) for s in ("in_use", "idle")]


def _breaker_state(m: Mapping[str, Any]) -> List[Sample]:
    state = m.get("circuit_breaker", {}).get("state", "closed")
    return [("", [("state", s)], 1 if s == state else 0) for s in _BREAKER_STATES]


def _fallbacks(m: Mapping[str, Any]) -> List[Sample]:
    items = sorted(m.get("fallbacks", {}).items())
    return [("_total", [("function", str(f))], n) for f, n in items]


_FAMILIES: List[Family] = [
    ("calls", "counter", "Calls finished (a pipeline counts once).", _one("calls")),
    ("commands", "counter", "Commands sent in finished calls.", _one("commands")),
    (
        "response_errors",
        "counter",
        "Error replies from the server (WRONGTYPE, NOSCRIPT, ...).",
        _one("response_errors"),
    ),
    ("errors", "counter", "Failed calls by exception class.", _errors),
    (
        "call_duration_seconds",
        "histogram",
        "Call latency in seconds: pool wait, connect, retries, write and read.",
        _histogram,
    ),
    ("retries", "counter", "Safe retries of failed attempts.", _one("retries")),
    ("pool_waits", "counter", "Calls that waited for a pooled connection.", _one("pool_waits")),
    (
        "pool_timeouts",
        "counter",
        "Calls that gave up waiting for a pooled connection.",
        _one("pool_timeouts"),
    ),
    ("pool_connections_created", "counter", "Connections opened.", _pool("created")),
    ("pool_connections_closed", "counter", "Connections closed.", _pool("closed")),
    (
        "pool_health_checks",
        "counter",
        "PINGs of pooled connections idle past health_check_interval.",
        _pool("health_checks"),
    ),
    (
        "pool_stale_connections",
        "counter",
        "Pooled connections found closed or readable at checkout.",
        _pool("stale"),
    ),
    ("pool_connections", "gauge", "Open connections by state.", _connections),
    (
        "pool_max_connections",
        "gauge",
        "The pool's max_connections.",
        lambda m: [("", [], m.get("pool", {}).get("max_connections", 0))],
    ),
    (
        "circuit_breaker_state",
        "gauge",
        "Circuit breaker state: 1 for the current one.",
        _breaker_state,
    ),
    (
        "circuit_breaker_transitions",
        "counter",
        "Circuit breaker state changes.",
        _one("breaker_transitions"),
    ),
    (
        "circuit_breaker_opens",
        "counter",
        "Times the breaker opened.",
        lambda m: [("_total", [], m.get("circuit_breaker", {}).get("opens", 0))],
    ),
    (
        "circuit_breaker_refused",
        "counter",
        "Calls refused at once by an open breaker.",
        lambda m: [("_total", [], m.get("circuit_breaker", {}).get("refused", 0))],
    ),
]

_FALLBACKS: Family = (
    "fallbacks",
    "counter",
    "Fallback values returned by with_redis_fallback, by function (whole process).",
    _fallbacks,
)


def _sample_line(name: str, labels: List[Tuple[str, str]], value: Any) -> str:
    if not labels:
        return f"{name} {_number(value)}"
    inner = ",".join(f'{k}="{_escape_label(str(v))}"' for k, v in labels)
    return f"{name}{{{inner}}} {_number(value)}"


def render_prometheus(
    metrics: Mapping[str, Any] | Mapping[str, Mapping[str, Any]],
    *,
    prefix: str = "pyredisclient",
    labels: Mapping[str, str] | None = None,
    label: str = "client",
) -> str:
    """*metrics* (from :func:`collect`) in Prometheus text exposition format 0.0.4.

    Counters end in ``_total``; the call latency is a histogram
    (``<prefix>_call_duration_seconds_bucket{le="..."}``, ``_sum``, ``_count``);
    pool connections in use and idle, the pool size and the breaker state are
    gauges. *labels* (e.g. ``{"service": "api"}``) are added to every sample.

    Several clients of one process go in one exposition by passing a mapping of
    name to metrics, ``{"sync": a.metrics(), "async": b.metrics()}``: each
    sample gets ``client="<name>"`` (the *label* name). The fallback counts are
    process-wide, so they are written once, from the first client, without it.
    """
    base = [(k, str(v)) for k, v in (labels or {}).items()]
    groups: List[Tuple[List[Tuple[str, str]], Mapping[str, Any]]]
    if "calls" in metrics or not metrics:
        groups = [(base, metrics)]
    else:
        groups = [([*base, (label, str(name))], m) for name, m in metrics.items()]
    lines: List[str] = []
    for family, process_wide in [*((f, False) for f in _FAMILIES), (_FALLBACKS, True)]:
        name, kind, help_text, samples = family
        full = f"{prefix}_{name}"
        # In format 0.0.4 a counter's family is named like its sample,
        # with _total (OpenMetrics drops it; prometheus_client writes it).
        declared = full + "_total" if kind == "counter" else full
        lines.append(f"# HELP {declared} {_escape_help(help_text)}")
        lines.append(f"# TYPE {declared} {kind}")
        for group_labels, m in groups[:1] if process_wide else groups:
            for suffix, extra, value in samples(m):
                labels_ = base + extra if process_wide else group_labels + extra
                lines.append(_sample_line(full + suffix, labels_, value))
    return "\n".join(lines) + "\n"
