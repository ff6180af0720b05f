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

Argument values (keys, values, passwords) are never recorded. A failed command
records the exception and sets the span's status to ERROR. OpenTelemetry is
imported only when tracing is enabled: ``pip install opentelemetry-api`` (and
``opentelemetry-sdk`` or another SDK to export the spans).
"""

from __future__ import annotations

import inspect
from typing import Any, Dict, Protocol, Tuple

from .._version import __version__
from ..commands.types import Callback

__all__ = ["make_traced_run"]


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
    attrs: Dict[str, Any] = {
        "db.system": "redis",
        "db.redis.database_index": int(config.db),
    }
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


def make_traced_run(client: Any, run: Run, tracer: Any = None) -> Run:
    """Wrap *run* (a client's ``_run`` hook) so each command records one span.

    *tracer* is an OpenTelemetry Tracer; None takes
    ``trace.get_tracer("pyredisclient")`` from the global TracerProvider. Works
    for RedisClient (``run`` returns the reply) and AsyncRedisClient (``run``
    returns a coroutine: the span covers the awaited call). Raises ImportError
    with an install hint when ``opentelemetry-api`` is missing.
    """
    trace = _import_trace()
    if tracer is None:
        tracer = trace.get_tracer("pyredisclient", __version__)
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
