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


def pipeline_spans(exporter: InMemorySpanExporter) -> List[ReadableSpan]:
    return [s for s in spans(exporter) if s.name in ("redis.PIPELINE", "redis.MULTI")]


def test_a_pipeline_is_one_span_with_its_command_count(
    redis_url: str, tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    with RedisClient.from_url(redis_url) as client:
        client.enable_tracing(tracer)
        with tracer.start_as_current_span("request") as parent:
            with client.pipeline(transaction=False) as pipe:
                pipe.set("p:1", SECRET).get("p:1").get("p:1").incr("p:n")
                assert pipe.execute()[1] == SECRET.encode()
            with client.pipeline() as tx:  # MULTI/EXEC
                tx.set("p:2", "x").incr("p:n")
                assert tx.execute() == [True, 2]
    got = spans(exporter)
    # No span per queued command: one per execute (and the parent).
    assert [s.name for s in got] == ["redis.PIPELINE", "redis.MULTI", "request"]
    pipeline, multi = got[0], got[1]
    attrs = dict(pipeline.attributes or {})
    assert attrs["db.operation"] == "PIPELINE"
    assert attrs["db.operation.batch.size"] == 4
    assert attrs["db.query.summary"] == "PIPELINE SET GET INCRBY"
    assert attrs["db.system"] == "redis"
    attrs = dict(multi.attributes or {})
    assert attrs["db.operation"] == "MULTI"
    assert attrs["db.operation.batch.size"] == 2
    assert attrs["db.query.summary"] == "MULTI SET INCRBY"
    for span in (pipeline, multi):
        assert span.kind == trace.SpanKind.CLIENT
        assert span.parent is not None and span.parent.span_id == parent.get_span_context().span_id
        assert SECRET not in everything_recorded(span) and "p:1" not in everything_recorded(span)


def test_a_watched_transaction_and_a_failed_pipeline_are_spans(
    redis_url: str, tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    port = find_free_port()
    with RedisClient.from_url(redis_url) as client:
        client.enable_tracing(tracer)

        def bump(pipe: Any) -> None:
            value = int(pipe.get("w:n") or 0)
            pipe.multi()
            pipe.set("w:n", value + 1)

        client.transaction(bump, "w:n")
    # WATCH and the reads before MULTI run on the pinned connection, unrecorded; EXEC's
    # batch is the span.
    assert [s.name for s in spans(exporter)] == ["redis.MULTI"]
    assert dict(spans(exporter)[-1].attributes or {})["db.operation.batch.size"] == 1
    exporter.clear()
    with RedisClient(
        host="127.0.0.1", port=port, retry_attempts=0, socket_connect_timeout=0.5
    ) as down:
        down.enable_tracing(tracer)
        pipe = down.pipeline(transaction=False)
        pipe.ping()
        with pytest.raises(ConnectionError):
            pipe.execute()
    (span,) = pipeline_spans(exporter)
    assert span.status.status_code == trace.StatusCode.ERROR
    assert span.events and span.events[0].name == "exception"


def test_otel_attributes_are_on_every_span_of_the_client(
    redis_url: str, tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    extra = {"gcp.project_id": "my-project", "service.tier": 2, "db.system": "not-redis"}
    with (
        RedisClient.from_url(redis_url, otel_attributes=extra) as client,
        RedisClient.from_url(redis_url) as other,
    ):
        assert client.config.otel_attributes == tuple(sorted(extra.items()))
        client.enable_tracing(tracer)
        other.enable_tracing(tracer)
        client.ping()
        client.pipeline().ping().execute()
        client.with_prefix("app:").get("k")
        other.ping()
    got = spans(exporter)
    assert [s.name for s in got] == ["redis.PING", "redis.MULTI", "redis.GET", "redis.PING"]
    for span in got[:3]:
        attrs = dict(span.attributes or {})
        assert attrs["gcp.project_id"] == "my-project" and attrs["service.tier"] == 2
        assert attrs["db.system"] == "redis"  # ours win a clash
    assert "gcp.project_id" not in dict(got[3].attributes or {})


def test_async_pipeline_is_one_span_covering_the_await(
    redis_url: str, tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(
            redis_url, otel_attributes={"gcp.project_id": "p"}
        ) as client:
            client.enable_tracing(tracer)
            with tracer.start_as_current_span("request"):
                pipe = client.pipeline(transaction=False)
                pipe.set("ap:1", SECRET).blpop("ap:list", 0.05)
                await pipe.execute()
                async with client.pipeline() as tx:
                    tx.incr("ap:n")
                    await tx.execute()

    asyncio.run(main())
    got = pipeline_spans(exporter)
    assert [s.name for s in got] == ["redis.PIPELINE", "redis.MULTI"]
    first = got[0]
    assert dict(first.attributes or {})["db.operation.batch.size"] == 2
    assert dict(first.attributes or {})["db.query.summary"] == "PIPELINE SET BLPOP"
    assert dict(first.attributes or {})["gcp.project_id"] == "p"
    assert first.end_time is not None and first.start_time is not None
    assert first.end_time - first.start_time >= 40_000_000  # covers the awaited block
    request = next(s for s in spans(exporter) if s.name == "request")
    assert all(s.parent is not None and s.parent.span_id == request.context.span_id for s in got)


def test_enable_tracing_checks_its_tracer_and_never_traces_twice(
    redis_client: RedisClient, tracer: trace.Tracer, exporter: InMemorySpanExporter
) -> None:
    # Anything but a Tracer is refused at once, and the client keeps working: a
    # string taken here used to break every later command with an AttributeError.
    for bad in ("tracer", 1, object()):
        with pytest.raises(TypeError, match="OpenTelemetry Tracer"):
            redis_client.enable_tracing(bad)
    assert redis_client.set("k", "v") is True
    assert spans(exporter) == []
    redis_client.enable_tracing(tracer)
    redis_client.enable_tracing(tracer)  # again, as a re-entered lifespan would: no change
    assert redis_client.get("k") == b"v"
    assert [s.name for s in spans(exporter)] == ["redis.GET"]  # one span, not two
    other = TracerProvider().get_tracer("other")
    with pytest.raises(RuntimeError, match="already enabled"):
        redis_client.enable_tracing(other)
    assert redis_client.get("k") == b"v"
    assert [s.name for s in spans(exporter)] == ["redis.GET", "redis.GET"]
