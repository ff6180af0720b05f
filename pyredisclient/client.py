"""RedisClient and Pipeline: thin Python over the C core's pool and calls."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Callable, Dict, Iterable, Tuple, TypeVar, cast

from . import _core
from .commands import CoreCommands
from .config import RedisConfig, _check_overrides, hide_password, secret_url
from .exceptions import WatchError
from .pipeline import Callback, Pipeline

logger = logging.getLogger("pyredisclient")

_T = TypeVar("_T", bound="RedisClient")
_V = TypeVar("_V")  # RedisClient or AsyncRedisClient

# RedisConfig fields the C core does not take (they live in Python).
_PYTHON_ONLY = frozenset(
    {
        "key_prefix",
        "key_prefix_allow",
        "key_prefix_channels",
        "memory_warning_ratio",
        "memory_critical_ratio",
    }
)


def core_client_kwargs(config: RedisConfig) -> Dict[str, Any]:
    """The keyword arguments of ``_core.Client`` for a config (sync and async)."""
    return {k: v for k, v in config.core_kwargs().items() if k not in _PYTHON_ONLY}


def build_config(
    host: str | None,
    port: int | None,
    db: int | None,
    config: RedisConfig | None,
    options: Any,
    caller: str = "RedisClient",
) -> RedisConfig:
    """The config of a client constructor: ``config`` with ``options`` applied, or
    one built from them (positional host/port/db count as options).

    An unknown option raises TypeError naming ``caller`` (the class the user called)
    and the closest option. A str password in ``options`` is wrapped in a Secret in
    place, so that the constructor's frame never holds it in plain text.
    """
    hide_password(options)
    _check_overrides(caller, options)
    for name, value in (("host", host), ("port", port), ("db", db)):
        if value is not None:
            options[name] = value
    if config is None:
        return RedisConfig(**options)
    return config.replace(**options) if options else config


def _core_client(config: RedisConfig) -> _core.Client:
    return _core.Client(**core_client_kwargs(config))


def config_prefixer(config: RedisConfig) -> Any:
    """The KeyPrefixer of a client built from ``config`` (sync and async), or None."""
    if not config.key_prefix:
        return None
    from .keyprefix import KeyPrefixer

    return KeyPrefixer(
        config.key_prefix,
        allow=config.key_prefix_allow,
        encoding=config.encoding,
        errors=config.encoding_errors,
        channels=config.key_prefix_channels,
    )


def prefixed_view(
    client: _V, prefix: str | bytes, allow: Iterable[str] | None, allow_unsafe: bool
) -> _V:
    """``client.with_prefix(...)`` for RedisClient and AsyncRedisClient: a copy sharing
    the pool (and an async client's pool waiters), with the derived prefixer and a
    config that says it, so that a client built from that config is confined the
    same way. The copy installs its own hook: the parent's may be bound to the parent
    (its prefixer, or a traced wrapper of it)."""
    from .keyprefix import derive

    parent: Any = client
    config = parent._config
    prefixer = derive(
        parent._prefixer,
        prefix,
        allow,
        allow_unsafe,
        config.encoding,
        config.encoding_errors,
        config.key_prefix_channels,
    )
    view: Any = object.__new__(type(client))
    view.__dict__.update(parent.__dict__)
    view.__dict__.pop("_run", None)
    name = prefixer.prefix
    text = name if isinstance(name, str) else name.decode(config.encoding, "replace")
    view._config = config.replace(key_prefix=text, key_prefix_allow=tuple(sorted(prefixer.allowed)))
    view._set_prefixer(prefixer)
    if parent._tracing is not None:
        # A view of a traced client is traced too (spans name the commands,
        # never the prefixed keys).
        from .tracing import make_traced_run

        view._run = make_traced_run(view, view._run, parent._tracing[0])
    return cast(_V, view)


class _shared_or_bound:
    """A method that runs on the instance, or on the shared client when called
    on the class: ``client.health_check()`` and ``RedisClient.health_check()``."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.__doc__ = func.__doc__
        self.__name__ = func.__name__

    def __get__(self, obj: Any, owner: Any = None) -> Callable[..., Any]:
        func = self.func
        if obj is None:

            def on_shared(*args: Any, **kwargs: Any) -> Any:
                return func(None, *args, **kwargs)

            on_shared.__doc__ = func.__doc__
            return on_shared

        def bound(*args: Any, **kwargs: Any) -> Any:
            return func(obj, *args, **kwargs)

        bound.__doc__ = func.__doc__
        return bound


class RedisClient(CoreCommands):
    """A Redis client whose connections, I/O and parsing run in C.

    Build it with keyword options (``RedisClient(host="cache", port=6379)``), a
    validated :class:`RedisConfig` (``RedisClient(config=cfg)``), a URL
    (:meth:`from_url`) or the environment (:meth:`get_client`). One client is safe to
    share across threads: each call checks out a pooled connection, and the GIL is
    released for the whole wait, connect, write and read.
    """

    _shared: RedisClient | None = None
    _shared_lock = threading.Lock()

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        db: int | None = None,
        *,
        config: RedisConfig | None = None,
        **options: Any,
    ) -> None:
        config = build_config(host, port, db, config, options, type(self).__name__)
        self._config = config
        self._core = _core_client(config)
        self._execute = self._core.execute
        # The command methods' hook is the C method itself: run the command,
        # then apply the reply callback, with no Python frame in between.
        # Prefixed views and tracing replace it on their instance.
        self._run = self._core.run  # type: ignore[method-assign,assignment]
        self._prefixer: Any = None
        self._tracing: Tuple[Any] | None = None  # (tracer,) once enabled
        prefixer = config_prefixer(config)
        if prefixer is not None:
            self._set_prefixer(prefixer)

    def _set_prefixer(self, prefixer: Any) -> None:
        self._prefixer = prefixer
        # Only prefixed clients pay for prefixing: the instance attribute
        # shadows the plain _run.
        self._run = self._run_prefixed  # type: ignore[method-assign]

    def with_prefix(
        self,
        prefix: str | bytes,
        *,
        allow: Iterable[str] | None = None,
        allow_unsafe: bool = False,
    ) -> RedisClient:
        """A view of this client that confines every key to ``prefix``.

        The view shares this client's pool (closing either closes both). Key
        arguments are prefixed using the command table's key positions, and keys
        returned by KEYS, SCAN and blocking pops have the prefix stripped. Commands
        that cannot be confined (scripts, FLUSHALL, CONFIG GET, INFO, MOVE, ...) raise
        KeyPrefixError unless their category is in ``allow`` ("scripts",
        "server_info", "databases", "admin", "unconfined" or "all";
        ``allow_unsafe=True`` is "all").

        On a prefixed client the prefixes nest (``"app:"`` then ``"x:"`` confines to
        ``"app:x:"``) and the view keeps the parent's categories (``allow=None``) or
        fewer: asking for more raises ConfigurationError, so only an unprefixed client
        grants them.
        """
        return prefixed_view(self, prefix, allow, allow_unsafe)

    @property
    def key_prefix(self) -> str | bytes | None:
        return None if self._prefixer is None else self._prefixer.prefix

    # -- construction ---------------------------------------------------------

    @classmethod
    def from_url(cls: type[_T], url: str, **overrides: Any) -> _T:
        """Build a client from ``redis://``, ``rediss://`` or ``unix://`` URL.

        Explicit keyword overrides win over values in the URL (redis-py lets the
        query string win; a conflicting override logs a warning).
        """
        url = secret_url(url)  # first: tracebacks that print locals must not show it
        hide_password(overrides)
        _check_overrides(f"{cls.__name__}.from_url", overrides)
        return cls(config=RedisConfig.from_url(url, **overrides))

    @classmethod
    def get_client(cls) -> RedisClient:
        """The process-wide shared client, configured from the environment.

        Created lazily on first use (thread-safe) from ``REDIS_URL`` or the separate
        ``REDIS_*`` variables. It never raises because Redis is down: the first PING
        is bounded by the connect timeout and a failure is logged once; only a bad
        configuration raises ConfigurationError. After ``os.fork()`` the child keeps
        the client; its pool drops the connections inherited from the parent.
        """
        client = cls._shared
        if client is not None:
            return client
        with cls._shared_lock:
            if cls._shared is None:
                client = RedisClient(config=RedisConfig.from_env())
                try:
                    client.ping()
                except Exception as exc:
                    logger.warning(
                        "shared Redis client created but the first PING failed "
                        "(%s: %s); calls will fail until Redis is reachable",
                        type(exc).__name__,
                        exc,
                    )
                RedisClient._shared = client
            return RedisClient._shared  # type: ignore[return-value]

    @classmethod
    def _reset_shared(cls) -> None:
        """Close and forget the shared client (tests and re-configuration)."""
        with cls._shared_lock:
            client, RedisClient._shared = RedisClient._shared, None
        if client is not None:
            client.close()

    # -- the hot path -----------------------------------------------------------

    def _run_prefixed(self, args: Tuple[Any, ...], callback: Callback | None = None) -> Any:
        args, callback = self._prefixer.prepare(args, callback)
        reply = self._execute(args)
        return reply if callback is None else callback(reply)

    # -- pipelines ----------------------------------------------------------------

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        """Queue commands and send them with one write; ``execute()`` reads all replies.

        With ``transaction=True`` (the default) they run inside MULTI/EXEC.
        """
        return Pipeline(self, transaction)

    def transaction(
        self,
        func: Callable[[Pipeline], Any],
        *watches: Any,
        shard_hint: Any = None,
        value_from_callable: bool = False,
        watch_delay: float | None = None,
    ) -> Any:
        """Run ``func(pipe)`` in a WATCH/MULTI/EXEC transaction, retrying on WatchError.

        As redis-py: ``func`` reads through the pipeline (immediate while watching),
        calls ``pipe.multi()`` and queues writes; the result of EXEC is returned (or
        ``func``'s value with ``value_from_callable=True``).
        """
        with self.pipeline(True) as pipe:
            while True:
                try:
                    if watches:
                        pipe.watch(*watches)
                    func_value = func(pipe)
                    exec_value = pipe.execute()
                    return func_value if value_from_callable else exec_value
                except WatchError:
                    pipe.reset()
                    if watch_delay is not None and watch_delay > 0:
                        time.sleep(watch_delay)

    # -- health ---------------------------------------------------------------------

    @_shared_or_bound
    def health_check(self: RedisClient | None, deep: bool = False) -> Dict[str, Any]:
        """Never raises: a dict with status "healthy", "degraded" or "unhealthy".

        On the class (``RedisClient.health_check()``) it checks the shared client of
        :meth:`get_client`. ``deep=True`` also times a SET/GET/DEL round trip.
        """
        from .health import health_check

        return health_check(self, deep=deep)

    # -- state and lifecycle --------------------------------------------------------

    @property
    def config(self) -> RedisConfig:
        return self._config

    def pool_stats(self) -> Dict[str, int]:
        """Pool counters: created, closed, in_use, idle, waits, timeouts, errors, ..."""
        return self._core.pool_stats()

    def circuit_breaker_state(self) -> Dict[str, Any]:
        """The circuit breaker's state ("closed", "open", "half_open") and counters."""
        return self._core.breaker_state()

    def pubsub(self, ignore_subscribe_messages: bool = False, **kwargs: Any) -> Any:
        from .pubsub import PubSub
        from .pubsub.base import client_options

        return PubSub(
            core_client_kwargs(self._config),
            **client_options(self, ignore_subscribe_messages, **kwargs),
        )

    def metrics(self) -> Dict[str, Any]:
        """Counters (commands, errors by class, retries, fallbacks, breaker
        transitions, pool waits/timeouts) and the latency histogram."""
        from .metrics import collect

        return collect(self)

    def metrics_text(self) -> str:
        """:meth:`metrics` as Prometheus text exposition format."""
        from .metrics import render_prometheus

        return render_prometheus(self.metrics())

    def enable_tracing(self, tracer: Any = None) -> None:
        """Record one OpenTelemetry span per command (imports opentelemetry lazily).

        Only this client pays for tracing; others keep the plain hot path.
        """
        from .tracing import make_traced_run

        self._run = make_traced_run(self, self._run, tracer)  # type: ignore[method-assign]
        self._tracing = (tracer,)

    def debug_info(self) -> Dict[str, Any]:
        """Every setting (secrets as ``***``) plus pool and breaker state."""
        info = self._config.debug_info()
        info["pool"] = self.pool_stats()
        info["circuit_breaker"] = self.circuit_breaker_state()
        return info

    def close(self) -> None:
        """Close pooled connections and wake callers blocked on this client.

        Later calls raise ConnectionError. Safe to call more than once.
        """
        self._core.close()

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        c = self.__dict__.get("_config")
        if c is None:  # __init__ raised midway, or was never called
            return f"<{type(self).__name__} (not initialised)>"
        where = c.unix_socket_path or f"{c.effective_host}:{c.port}"
        return f"<{type(self).__name__} {where} db={c.db}{' tls' if c.ssl else ''}>"


def _reinit_after_fork() -> None:
    # The lock may have been held by a thread that does not exist in the child.
    RedisClient._shared_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)
