"""OpenTelemetry tracing: one CLIENT span per command, opted into per client.

``client.enable_tracing()`` replaces that client's ``_run`` hook with the one
:func:`make_traced_run` builds, so clients that do not trace keep the plain hot
path and pay nothing. Each span is named ``redis.<COMMAND>`` (``redis.GET``) and
carries::

    db.system            "redis"
    db.operation         the command name, e.g. "GET"
    db.redis.database_index
    net.peer.name        host, or the unix socket path
    net.peer.port        port (TCP only)
    net.transport        "ip_tcp" or "unix"

A pipeline's ``execute()`` records ONE span, ``redis.PIPELINE`` (``redis.MULTI`` for
a transaction), for the whole batch, with ``db.operation`` ``PIPELINE``/``MULTI``,
``db.operation.batch.size`` (the number of commands queued) and ``db.query.summary``
(the operation and the distinct command names in order, e.g. ``"MULTI SET INCR"``).

The client option ``otel_attributes`` (e.g. ``{"gcp.project_id": "my-project"}``)
adds attributes to every span of that client; the ones above win on a clash.

Argument values (keys, values, passwords) are never recorded. A failed command
records the exception and sets the span's status to ERROR. OpenTelemetry is
imported only when tracing is enabled: ``pip install opentelemetry-api`` (and
``opentelemetry-sdk`` or another SDK to export the spans).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Protocol, Tuple

from .._version import __version__
from ..commands.types import Callback

__all__ = ["make_traced_run", "make_traced_send"]


class Run(Protocol):
    """A client's ``_run`` hook: run (or queue) one command, convert its reply."""

    def __call__(self, args: Tuple[Any, ...], callback: Callback | None = None) -> Any: ...


_INSTALL_HINT = (
    "tracing needs OpenTelemetry, which is not installed: "
    "pip install opentelemetry-api (plus opentelemetry-sdk, or another SDK, to export spans)"
)


def _import_trace() -> Any:
    try:
        from opentelemetry import trace
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return trace


def _peer_attributes(client: Any) -> Dict[str, Any]:
    config = client.config
    attrs: Dict[str, Any] = dict(config.otel_attributes)  # the user's, overridden below
    attrs.update(
        {
            "db.system": "redis",
            "db.redis.database_index": int(config.db),
        }
    )
    if config.unix_socket_path:
        attrs["net.transport"] = "unix"
        attrs["net.peer.name"] = str(config.unix_socket_path)
    else:
        attrs["net.transport"] = "ip_tcp"
        attrs["net.peer.name"] = str(config.effective_host)
        attrs["net.peer.port"] = int(config.port)
    return attrs


def _command_name(args: Tuple[Any, ...]) -> str:
    if not args:
        return "UNKNOWN"
    name = args[0]
    if isinstance(name, (bytes, bytearray, memoryview)):
        name = bytes(name).decode("ascii", "replace")
    # Only a command name, never an argument: cap it in case a caller passes
    # something odd as the first element.
    return str(name).upper()[:64]


def _tracer_or_default(trace: Any, tracer: Any) -> Any:
    """*tracer*, checked to be an OpenTelemetry Tracer, or the global provider's."""
    if tracer is None:
        return trace.get_tracer("pyredisclient", __version__)
    for method in ("start_as_current_span", "start_span"):
        if not callable(getattr(tracer, method, None)):
            raise TypeError(
                "enable_tracing() takes an OpenTelemetry Tracer or None, "
                f"not {type(tracer).__name__!r} (it has no {method}())"
            )
    return tracer


def make_traced_run(client: Any, run: Run, tracer: Any = None) -> Run:
    """Wrap *run* (a client's ``_run`` hook) so each command records one span.

    *tracer* is an OpenTelemetry Tracer; None takes
    ``trace.get_tracer("pyredisclient")`` from the global TracerProvider. Works
    for RedisClient (``run`` returns the reply) and AsyncRedisClient (``run``
    returns a coroutine: the span covers the awaited call). Raises ImportError
    with an install hint when ``opentelemetry-api`` is missing.
    """
    trace = _import_trace()
    tracer = _tracer_or_default(trace, tracer)
    kind = trace.SpanKind.CLIENT
    base = _peer_attributes(client)

    def start(args: Tuple[Any, ...]) -> Any:
        name = _command_name(args)
        attrs = dict(base)
        attrs["db.operation"] = name
        return tracer.start_as_current_span(
            f"redis.{name}",
            kind=kind,
            attributes=attrs,
            record_exception=False,
            set_status_on_exception=False,
        )

    def failed(span: Any, exc: BaseException) -> None:
        # Messages can echo server data but never our arguments; keep the class
        # and message, drop the traceback's locals (record_exception keeps none).
        span.record_exception(exc)
        span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))

    # AsyncRedisClient's hook is a coroutine function: the span covers the awaited call.
    if inspect.iscoroutinefunction(run):

        async def traced_async(args: Tuple[Any, ...], callback: Callback | None = None) -> Any:
            with start(args) as span:
                try:
                    return await run(args, callback)
                except BaseException as exc:
                    failed(span, exc)
                    raise

        return traced_async

    def traced(args: Tuple[Any, ...], callback: Callback | None = None) -> Any:
        with start(args) as span:
            try:
                return run(args, callback)
            except BaseException as exc:
                failed(span, exc)
                raise

    return traced


#: How many distinct command names a pipeline span's summary lists at most.
_SUMMARY_NAMES = 10


def _batch_attributes(batch: Any) -> Tuple[str, Dict[str, Any]]:
    """The operation (PIPELINE or MULTI) and the batch attributes of a sent batch."""
    count = len(batch.callbacks)  # the caller's commands: not MULTI and EXEC
    transaction = len(batch) > count
    operation = "MULTI" if transaction else "PIPELINE"
    names: List[str] = []
    offset = 1 if transaction else 0
    for i in range(offset, offset + count):
        name = batch.command_name(i)
        if name not in names:
            names.append(name)
            if len(names) > _SUMMARY_NAMES:
                names[-1] = "..."
                break
    return operation, {
        "db.operation": operation,
        "db.operation.batch.size": count,
        "db.query.summary": " ".join([operation, *names]),
    }


def make_traced_send(
    client: Any, send: Callable[..., Any], tracer: Any = None
) -> Callable[..., Any]:
    """Wrap a pipeline's send hook (``send(batch)`` or ``send(pin, batch)``, the batch
    last) so that each execute records one span for the whole batch.

    Works whether *send* returns the replies (Pipeline) or an awaitable of them
    (AsyncPipeline: the span covers the awaited I/O). *tracer* as for
    :func:`make_traced_run`.
    """
    trace = _import_trace()
    tracer = _tracer_or_default(trace, tracer)
    kind = trace.SpanKind.CLIENT
    base = _peer_attributes(client)

    def failed(span: Any, exc: BaseException) -> None:
        span.record_exception(exc)
        span.set_status(trace.Status(trace.StatusCode.ERROR, type(exc).__name__))

    async def finish(span: Any, pending: Any) -> Any:
        with trace.use_span(
            span, end_on_exit=True, record_exception=False, set_status_on_exception=False
        ):
            try:
                return await pending
            except BaseException as exc:
                failed(span, exc)
                raise

    def traced(*args: Any) -> Any:
        operation, attrs = _batch_attributes(args[-1])
        span = tracer.start_span(f"redis.{operation}", kind=kind, attributes={**base, **attrs})
        try:
            with trace.use_span(
                span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                result = send(*args)
        except BaseException as exc:
            failed(span, exc)
            span.end()
            raise
        if inspect.isawaitable(result):
            return finish(span, result)
        span.end()
        return result

    return traced
