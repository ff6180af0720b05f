"""OpenTelemetry tracing: one span per command, no argument values, errors marked.

Spans go to the OpenTelemetry SDK's in-memory exporter through a private
TracerProvider (the global one is never touched), from commands sent to a real
redis-server.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, Iterator, List

import pytest

from pyredisclient import ConnectionError, RedisClient, ResponseError
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.testing import find_free_port

pytest.importorskip("opentelemetry.sdk", reason="opentelemetry-sdk not installed")

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    InMemorySpanExporter,
)

SECRET = "s3cret-value-never-in-a-span"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer(exporter: InMemorySpanExporter) -> Iterator[trace.Tracer]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("test")
    provider.shutdown()


def spans(exporter: InMemorySpanExporter) -> List[ReadableSpan]:
    return list(exporter.get_finished_spans())


def everything_recorded(span: ReadableSpan) -> str:
    """Every string a span carries: name, attributes, events and their attributes."""
    parts: List[Any] = [span.name, span.status.description]
    parts.extend(f"{k}={v}" for k, v in (span.attributes or {}).items())
    for event in span.events:
        parts.append(event.name)
        parts.extend(f"{k}={v}" for k, v in (event.attributes or {}).items())
    return "\n".join(str(p) for p in parts)


def test_one_span_per_command_with_db_attributes(
    redis_client: RedisClient, tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    redis_client.enable_tracing(tracer)
    assert redis_client.set("user:1", SECRET) is True
    assert redis_client.get("user:1") == SECRET.encode()
    assert redis_client.delete("user:1") == 1
    got = spans(exporter)
    assert [s.name for s in got] == ["redis.SET", "redis.GET", "redis.DEL"]
    config = redis_client.config
    for span, op in zip(got, ("SET", "GET", "DEL")):
        assert span.kind == trace.SpanKind.CLIENT
        attrs = dict(span.attributes or {})
        assert attrs["db.system"] == "redis"
        assert attrs["db.operation"] == op
        assert attrs["net.peer.name"] == config.effective_host
        assert attrs["net.peer.port"] == config.port
        assert attrs["db.redis.database_index"] == config.db
        assert span.status.status_code == trace.StatusCode.UNSET
        text = everything_recorded(span)
        assert SECRET not in text and "user:1" not in text
        assert span.end_time is not None and span.start_time is not None
        assert span.end_time >= span.start_time


def test_spans_are_children_of_the_current_span(
    redis_client: RedisClient, tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    redis_client.enable_tracing(tracer)
    with tracer.start_as_current_span("request") as parent:
        redis_client.ping()
    ping, request = spans(exporter)
    assert ping.name == "redis.PING" and request.name == "request"
    assert ping.parent is not None
    assert ping.parent.span_id == parent.get_span_context().span_id
    assert ping.context.trace_id == parent.get_span_context().trace_id


def test_an_error_reply_marks_the_span_without_arguments(
    redis_client: RedisClient, tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    redis_client.enable_tracing(tracer)
    redis_client.set("k", SECRET)
    with pytest.raises(ResponseError):
        redis_client.incrby("k", 7)
    failed = spans(exporter)[-1]
    assert failed.name == "redis.INCRBY"
    assert failed.status.status_code == trace.StatusCode.ERROR
    assert failed.status.description == "ResponseError"
    [event] = failed.events
    assert event.name == "exception"
    assert (event.attributes or {})["exception.type"].endswith("ResponseError")
    assert SECRET not in everything_recorded(failed)


def test_a_connection_failure_is_recorded(
    tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    client = RedisClient(port=find_free_port(), retry_attempts=0, password=SECRET)
    with client:
        client.enable_tracing(tracer)
        with pytest.raises(ConnectionError):
            client.get("k")
    [span] = spans(exporter)
    assert span.status.status_code == trace.StatusCode.ERROR
    assert span.status.description == "ConnectionError"
    assert SECRET not in everything_recorded(span)


def test_only_the_traced_client_records(
    redis_url: str, tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    with RedisClient.from_url(redis_url) as traced, RedisClient.from_url(redis_url) as plain:
        traced.enable_tracing(tracer)
        plain.ping()
        plain.ping()
        traced.ping()
        pipe = plain.pipeline()
        pipe.ping()
        pipe.execute()
    assert [s.name for s in spans(exporter)] == ["redis.PING"]
    # The plain client's hook stays the C method itself: no per-call wrapper.
    assert plain._run == plain._core.run


def test_a_prefixed_client_records_unprefixed_command_names(
    redis_url: str, tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    with RedisClient.from_url(redis_url, key_prefix="tenant:") as client:
        client.enable_tracing(tracer)
        client.set("a", "1")
        assert client.get("a") == b"1"
    names = [s.name for s in spans(exporter)]
    assert names == ["redis.SET", "redis.GET"]
    for span in spans(exporter):
        assert "tenant:" not in everything_recorded(span)


def test_a_view_of_a_traced_client_is_traced(
    redis_url: str, tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    with RedisClient.from_url(redis_url) as client:
        before = client.with_prefix("early:")
        client.enable_tracing(tracer)
        view = client.with_prefix("tenant:")
        view.set("a", "1")
        assert client.get("tenant:a") == b"1"  # the view wrote the prefixed key
        before.ping()  # made before enable_tracing: not traced
    assert [s.name for s in spans(exporter)] == ["redis.SET", "redis.GET"]
    for span in spans(exporter):
        assert "tenant:" not in everything_recorded(span)


def test_unix_socket_peer_attributes(
    tracer: trace.Tracer, exporter: InMemorySpanExporter, redis_server: Any
) -> None:
    path = getattr(redis_server, "unix_socket_path", None)
    if not path:
        pytest.skip("the session server has no unix socket")
    with RedisClient(unix_socket_path=path) as client:
        client.enable_tracing(tracer)
        client.ping()
    attrs = dict(spans(exporter)[0].attributes or {})
    assert attrs["net.transport"] == "unix"
    assert attrs["net.peer.name"] == path
    assert "net.peer.port" not in attrs


def test_async_client_spans_cover_the_awaited_call(
    redis_url: str, tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as client:
            client.enable_tracing(tracer)

            async def work(i: int) -> None:
                with tracer.start_as_current_span(f"task{i}"):
                    await client.set(f"t{i}", SECRET)
                    await client.blpop(f"t:list{i}", 0.05)

            await asyncio.gather(*(work(i) for i in range(5)))
            with pytest.raises(ResponseError):
                await client.lpush("t0", "x")

    asyncio.run(main())
    got = spans(exporter)
    tasks = {s.name: s for s in got if s.name.startswith("task")}
    commands = [s for s in got if s.name.startswith("redis.")]
    assert len(tasks) == 5 and len(commands) == 11
    for span in commands[:10]:
        assert span.parent is not None
        parent = next(t for t in tasks.values() if t.context.span_id == span.parent.span_id)
        assert parent.context.trace_id == span.context.trace_id
        assert SECRET not in everything_recorded(span)
    blpops = [s for s in commands if s.name == "redis.BLPOP"]
    assert len(blpops) == 5
    for span in blpops:  # the span lasts as long as the 50 ms block
        assert span.end_time is not None and span.start_time is not None
        assert span.end_time - span.start_time >= 40_000_000
    assert commands[-1].name == "redis.LPUSH"
    assert commands[-1].status.status_code == trace.StatusCode.ERROR


def test_default_tracer_comes_from_the_global_provider(redis_client: RedisClient) -> None:
    # No global SDK provider is installed in this process: spans are no-ops,
    # and commands work as before.
    redis_client.enable_tracing()
    assert redis_client.ping() is True
    redis_client.set("a", "b")
    assert redis_client.get("a") == b"b"


def test_missing_opentelemetry_says_what_to_install(
    redis_client: RedisClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(sys.modules):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(ImportError, match="pip install opentelemetry-api"):
        redis_client.enable_tracing()
    assert redis_client.ping() is True  # the client is untouched
