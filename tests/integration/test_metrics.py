"""Client metrics: counters, errors by class, the histogram, Prometheus text.

The counters are read from the C core after real calls against real servers
(refused, paused, pool-starved), so every assertion checks what the core
recorded, not a mock. The Prometheus output is checked with a small parser of
the text format written here, and with prometheus_client's parser when it is
installed.
"""

from __future__ import annotations

import asyncio
import math
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest

import pyredisclient
from pyredisclient import (
    CircuitOpenError,
    ConnectionError,
    PoolTimeoutError,
    RedisClient,
    ResponseError,
    TimeoutError,
)
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.metrics import CORE_ERROR_CLASSES, collect, render_prometheus
from pyredisclient.testing import RedisServer, find_free_port

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------
# A strict little parser of the Prometheus text exposition format 0.0.4
# ---------------------------------------------------------------------------

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
_SAMPLE = re.compile(
    rf"^(?P<name>{_NAME})(?:\{{(?P<labels>{_LABEL}(?:,{_LABEL})*)?\}})? "
    r"(?P<value>[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))$"
)
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"')


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


Sample = Tuple[str, Dict[str, str], float]


def parse_exposition(text: str) -> Dict[str, Dict[str, Any]]:
    """Families by name: {"type", "help", "samples": [(name, labels, value)]}.

    Fails (AssertionError) on anything the format does not allow: a sample
    before its TYPE or of another family, a counter not named ``*_total`` (in
    format 0.0.4 the family and its sample share that name), a family declared
    twice, a malformed line, a missing final newline.
    """
    assert text.endswith("\n"), "exposition must end with a newline"
    families: Dict[str, Dict[str, Any]] = {}
    current: str | None = None
    for line in text.split("\n")[:-1]:
        assert line, "no blank lines"
        if line.startswith("# HELP "):
            _, _, name, *rest = line.split(" ", 3)
            assert re.fullmatch(_NAME, name), line
            assert name not in families, f"family {name} declared twice"
            families[name] = {"help": rest[0] if rest else "", "type": None, "samples": []}
            current = name
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name == current, f"TYPE for {name} outside its HELP block"
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            if kind == "counter":
                assert name.endswith("_total"), f"counter {name} must end in _total"
            families[name]["type"] = kind
            continue
        assert not line.startswith("#"), line
        m = _SAMPLE.match(line)
        assert m, f"malformed sample line: {line!r}"
        assert current is not None and families[current]["type"], f"sample before TYPE: {line}"
        name = m.group("name")
        kind = families[current]["type"]
        allowed = {
            "counter": [current],
            "gauge": [current],
            "histogram": [current + "_bucket", current + "_sum", current + "_count"],
        }[kind]
        assert name in allowed, f"{name} does not belong to {kind} {current}"
        labels = {k: _unescape(v) for k, v in _LABEL_RE.findall(m.group("labels") or "")}
        families[current]["samples"].append((name, labels, float(m.group("value"))))
    return families


def value(families: Dict[str, Dict[str, Any]], family: str, **labels: str) -> float:
    matches = [
        v
        for _, lab, v in families[family]["samples"]
        if all(lab.get(k) == want for k, want in labels.items())
    ]
    assert len(matches) == 1, (family, labels, matches)
    return matches[0]


def check_histograms(families: Dict[str, Dict[str, Any]]) -> None:
    """Buckets cumulative, ascending, ending at +Inf == _count, per label set."""
    for name, fam in families.items():
        if fam["type"] != "histogram":
            continue
        series: Dict[Tuple[Tuple[str, str], ...], List[Tuple[float, float]]] = {}
        counts: Dict[Tuple[Tuple[str, str], ...], float] = {}
        for sample, labels, v in fam["samples"]:
            key = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
            if sample.endswith("_bucket"):
                series.setdefault(key, []).append((float(labels["le"]), v))
            elif sample.endswith("_count"):
                counts[key] = v
        assert series, name
        for key, buckets in series.items():
            bounds = [b for b, _ in buckets]
            assert bounds == sorted(bounds) and math.isinf(bounds[-1]), bounds
            cum = [c for _, c in buckets]
            assert cum == sorted(cum), cum
            assert cum[-1] == counts[key]


# ---------------------------------------------------------------------------
# collect(): counters from real calls
# ---------------------------------------------------------------------------


def test_a_fresh_client_reports_zeros(redis_url: str) -> None:
    with RedisClient.from_url(redis_url) as client:
        m = client.metrics()
    assert m["calls"] == m["commands"] == m["latency_count"] == 0
    assert m["errors"] == {} and m["core_errors"] == {}
    assert m["latency_histogram"][-1] == ("+Inf", 0)
    assert m["pool"]["created"] == 0
    assert m["circuit_breaker"]["state"] == "closed"


def test_calls_commands_and_the_histogram_count_every_call(redis_client: RedisClient) -> None:
    before = collect(redis_client)
    for i in range(50):
        redis_client.set(f"k{i}", i)
    pipe = redis_client.pipeline(transaction=False)
    pipe.get("k1").get("k2").get("k3")
    assert pipe.execute() == [b"1", b"2", b"3"]
    m = collect(redis_client)
    assert m["calls"] - before["calls"] == 51
    assert m["commands"] - before["commands"] == 53
    assert m["latency_count"] == m["calls"]
    hist = m["latency_histogram"]
    assert [c for _, c in hist] == sorted(c for _, c in hist)
    bounds = [b for b, _ in hist[:-1]]
    assert bounds == sorted(bounds) and hist[-1][0] == "+Inf"
    assert 0 < m["latency_seconds_sum"] < 50  # 51 loopback calls
    assert m["errors"] == {} and m["response_errors"] == 0


def test_error_replies_count_as_response_errors_not_failures(
    redis_client: RedisClient,
) -> None:
    redis_client.set("s", "not a number")
    with pytest.raises(ResponseError):
        redis_client.incr("s")
    m = redis_client.metrics()
    assert m["response_errors"] == 1
    assert m["errors"] == {}


def test_refused_connections_are_connection_errors() -> None:
    client = RedisClient(
        port=find_free_port(), retry_attempts=0, circuit_breaker=False, socket_connect_timeout=1
    )
    with client:
        for _ in range(3):
            with pytest.raises(ConnectionError):
                client.get("k")
        m = client.metrics()
    assert m["errors"] == {"ConnectionError": 3}
    assert m["core_errors"] == {"ECONNECT": 3}
    assert m["calls"] == 3


def test_timeouts_then_an_open_breaker(
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    server = redis_server_factory()
    client = RedisClient.from_url(
        server.url, socket_timeout=0.2, failure_threshold=2, recovery_timeout=30, retry_attempts=0
    )
    with client:
        client.ping()
        server.pause()
        try:
            for _ in range(2):
                with pytest.raises(TimeoutError):
                    client.get("k")
            with pytest.raises(CircuitOpenError):
                client.get("k")
        finally:
            server.resume()
        m = client.metrics()
    assert m["errors"]["TimeoutError"] == 2
    assert m["errors"]["CircuitOpenError"] == 1
    assert m["circuit_breaker"]["state"] == "open"
    assert m["breaker_transitions"] >= 1
    text = render_prometheus(m)
    fams = parse_exposition(text)
    assert value(fams, "pyredisclient_circuit_breaker_state", state="open") == 1
    assert value(fams, "pyredisclient_circuit_breaker_state", state="closed") == 0
    assert value(fams, "pyredisclient_errors_total", **{"class": "TimeoutError"}) == 2


def test_pool_waits_and_timeouts(redis_url: str) -> None:
    client = RedisClient.from_url(redis_url, max_connections=1, pool_timeout=0.2)
    with client:
        holder = threading.Thread(target=client.blpop, args=("metrics:nothing", 1))
        holder.start()
        try:
            deadline = time.monotonic() + 5
            while client.pool_stats()["in_use"] < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            with pytest.raises(PoolTimeoutError):
                client.get("k")
        finally:
            holder.join(10)
        m = client.metrics()
    assert m["pool_timeouts"] >= 1 and m["pool_waits"] >= 1
    assert m["errors"]["PoolTimeoutError"] == 1


def test_fallbacks_come_from_the_process_wide_registry() -> None:
    fallback = pytest.importorskip("pyredisclient.fallback")
    client = RedisClient(port=find_free_port(), retry_attempts=0, circuit_breaker=False)

    @fallback.with_redis_fallback("fallback")
    def read() -> Any:
        return client.get("k")

    name = f"{read.__module__}.{read.__qualname__}"  # as the registry names it
    with client:
        before = collect(client)["fallbacks"].get(name, 0)
        assert read() == "fallback" and read() == "fallback"
        m = collect(client)
    assert m["fallbacks"][name] - before == 2
    assert m["fallbacks_total"] >= 2
    fams = parse_exposition(render_prometheus(m))
    assert value(fams, "pyredisclient_fallbacks_total", function=name) == m["fallbacks"][name]


def test_async_client_before_and_after_its_first_call(redis_url: str) -> None:
    async def main() -> Tuple[Dict[str, Any], Dict[str, Any]]:
        client = AsyncRedisClient.from_url(redis_url, max_connections=7)
        async with client:
            empty = client.metrics()
            await asyncio.gather(*(client.ping() for _ in range(20)))
            return empty, client.metrics()

    empty, after = asyncio.run(main())
    assert empty["calls"] == 0 and empty["pool"]["max_connections"] == 7
    assert len(empty["latency_histogram"]) == len(after["latency_histogram"])
    assert [b for b, _ in empty["latency_histogram"]] == [b for b, _ in after["latency_histogram"]]
    assert after["calls"] == 20 and after["latency_count"] == 20
    parse_exposition(render_prometheus(empty))


def test_cancelled_async_calls_count_as_interrupted(redis_url: str) -> None:
    async def main() -> Dict[str, Any]:
        async with AsyncRedisClient.from_url(redis_url) as client:
            task = asyncio.ensure_future(client.blpop("metrics:never", 5))
            await asyncio.sleep(0.1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return client.metrics()

    m = asyncio.run(main())
    assert m["errors"] == {"Interrupted": 1}
    assert m["core_errors"] == {"EINTR": 1}


# ---------------------------------------------------------------------------
# The error-name map and the Prometheus text
# ---------------------------------------------------------------------------


def test_every_core_error_code_has_a_class() -> None:
    header = (ROOT / "csrc" / "core" / "prc.h").read_text()
    block = header[header.index("#define PRC_ERRNO_MAP") :]
    block = block[: block.index("\n\n")]
    codes = re.findall(r"XX\((E[A-Z0-9]+),", block)
    assert codes, "PRC_ERRNO_MAP not found"
    missing = set(codes) - set(CORE_ERROR_CLASSES)
    assert not missing, f"core error codes without an exception class: {missing}"
    for cls in set(CORE_ERROR_CLASSES.values()) - {"MemoryError", "Interrupted"}:
        assert issubclass(getattr(pyredisclient, cls), pyredisclient.RedisError), cls


def test_exposition_of_a_busy_client_is_valid(redis_client: RedisClient, redis_url: str) -> None:
    redis_client.delete("n")
    with RedisClient.from_url(redis_url) as client:
        for _ in range(30):
            client.incr("n")
        with pytest.raises(ResponseError):
            client.hget("n", "f")
        text = client.metrics_text()
    fams = parse_exposition(text)
    check_histograms(fams)
    assert value(fams, "pyredisclient_calls_total") == 31
    assert value(fams, "pyredisclient_response_errors_total") == 1
    hist = fams["pyredisclient_call_duration_seconds"]
    assert hist["type"] == "histogram"
    count = [v for n, _, v in hist["samples"] if n.endswith("_count")]
    assert count == [31.0]
    assert value(fams, "pyredisclient_pool_connections", state="idle") == 1
    assert value(fams, "pyredisclient_pool_connections", state="in_use") == 0
    assert value(fams, "pyredisclient_pool_max_connections") == 50
    for name, fam in fams.items():
        assert fam["help"], name
        if fam["type"] == "counter":
            assert all(s.endswith("_total") for s, _, _ in fam["samples"])


def test_several_clients_and_escaped_labels_in_one_exposition(redis_client: RedisClient) -> None:
    redis_client.ping()
    other = collect(redis_client)
    empty = collect(AsyncRedisClient())
    text = render_prometheus({"cache": other, 'we"ird\\name\n': empty}, labels={"service": "api"})
    fams = parse_exposition(text)
    check_histograms(fams)
    assert value(fams, "pyredisclient_calls_total", client="cache", service="api") == other["calls"]
    assert value(fams, "pyredisclient_calls_total", client='we"ird\\name\n') == 0


def test_prometheus_client_parses_the_exposition(redis_url: str) -> None:
    parser = pytest.importorskip(
        "prometheus_client.parser", reason="prometheus_client not installed"
    )
    with RedisClient.from_url(redis_url) as client:
        for _ in range(5):
            client.get("x")
        text = client.metrics_text()
    families = {f.name: f for f in parser.text_string_to_metric_families(text)}
    hist = families["pyredisclient_call_duration_seconds"]
    assert hist.type == "histogram"
    buckets = [s for s in hist.samples if s.name.endswith("_bucket")]
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == 5
    assert families["pyredisclient_calls"].type == "counter"
    assert families["pyredisclient_calls"].samples[0].value == 5
    assert families["pyredisclient_pool_connections"].type == "gauge"


def test_metrics_can_be_switched_off(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    on = RedisClient.from_url(redis_url)
    off = RedisClient.from_url(redis_url, metrics=False)
    try:
        for client in (on, off):
            client.set("metrics:off", "v")
            assert client.get("metrics:off") == b"v"
            with pytest.raises(pyredisclient.ResponseError):
                client.incr("metrics:off")
        assert collect(on)["calls"] == 3
        off_metrics = collect(off)
        assert off_metrics["calls"] == 0
        assert off_metrics["latency_count"] == 0
        # Pool counters are not metrics: they stay on.
        assert off.pool_stats()["created"] == 1
    finally:
        on.close()
        off.close()
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("REDIS_METRICS", "false")
    assert pyredisclient.RedisConfig.from_env().metrics is False
