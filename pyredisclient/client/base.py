"""ClientBase: what RedisClient and AsyncRedisClient share, written once.

Both clients are built the same way (keyword options, a :class:`RedisConfig`, or a
URL), hold the same C client (``_core.Client``: pool, breaker, counters), confine keys
the same way (``key_prefix`` and :meth:`~ClientBase.with_prefix`), trace the same way,
and show the same state (pool_stats, circuit_breaker_state, metrics, metrics_text,
debug_info, repr). What differs lives in the subclasses: how a command runs (the
``_run`` hook the command methods call), the shared client of
``get_client()``, the health check's driver, transactions' driver, and closing.
"""

from __future__ import annotations

import inspect
import logging
import weakref
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    Mapping,
    MutableMapping,
    NoReturn,
    Tuple,
)

from .._core import Client as CoreClient
from ..commands.args import Encoder
from ..commands.base import CallbackSlot, ResponseCallbacks, with_response_callbacks
from ..commands.keyprefix import KeyPrefixer, derive
from ..commands.scripting import Script, ScriptTextT
from ..commands.types import Callback
from ..config import ConfigurationError, RedisConfig, hide_password, secret_url
from ..config.compat import translate as translate_redis_py
from ..config.credentials import UsernamePasswordCredentialProvider, is_async_only, sync_source
from ..config.options import _check_overrides
from ..config.retry import Retry, retry_options
from ..exceptions import DataError
from ..observability.metrics import collect, render_prometheus
from ..observability.tracing import make_traced_run
from .green import warn_if_green_threads

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["ClientBase", "CoreConnection", "PoolView", "build_config", "core_client_kwargs"]

# RedisConfig fields the C core does not take (they live in Python).
_PYTHON_ONLY = frozenset(
    {
        "key_prefix",
        "key_prefix_allow",
        "key_prefix_channels",
        "memory_warning_ratio",
        "memory_critical_ratio",
        "async_multiplex",
        "async_multiplex_connections",
        "otel_attributes",
        "password_file",  # the core gets it as a credential provider
    }
)


def core_client_kwargs(config: RedisConfig, driver_answers: bool = False) -> Dict[str, Any]:
    """The keyword arguments of ``_core.Client`` for a config.

    A credential provider becomes the callable the core calls at each new connection,
    or with *driver_answers* ``True``: the asyncio driver asks it (``WANT_CREDS``).
    """
    kwargs = {k: v for k, v in config.core_kwargs().items() if k not in _PYTHON_ONLY}
    provider = kwargs["credential_provider"]
    if provider is not None:
        kwargs["credential_provider"] = True if driver_answers else sync_source(provider)
    return kwargs


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
    translate_redis_py(options)
    _check_overrides(caller, options)
    for name, value in (("host", host), ("port", port), ("db", db)):
        if value is not None:
            options[name] = value
    if config is None:
        return RedisConfig(**options)
    return config.replace(**options) if options else config


def _config_prefixer(config: RedisConfig) -> KeyPrefixer | None:
    """The KeyPrefixer of a client built from ``config``, or None."""
    if not config.key_prefix:
        return None
    return KeyPrefixer(
        config.key_prefix,
        allow=config.key_prefix_allow,
        encoding=config.encoding,
        errors=config.encoding_errors,
        channels=config.key_prefix_channels,
    )


class CoreConnection:
    """What ``connection_pool.connection_class`` names: the C core's connections
    (TCP, unix socket or TLS, as the config says), which Python cannot build."""


class PoolView:
    """redis-py's ``client.connection_pool``, as far as libraries read it: the
    connection settings (``connection_kwargs``: the password only inside a
    ``credential_provider``, whose repr hides it), the encoder and the size. A view:
    changing it changes nothing (the C core owns the pool; blocking commands have
    their own timeouts, so libraries that raise socket_timeout for a BLPOP need not)."""

    connection_class = CoreConnection

    def __init__(self, config: RedisConfig, owner: Any = None) -> None:
        self._config = config
        # The client (weakly: it keeps this view): disconnect() is its pool's.
        self._owner = None if owner is None else weakref.ref(owner)
        self._async = owner is not None and inspect.iscoroutinefunction(owner._disconnect)
        self.max_connections = config.max_connections
        kwargs: Dict[str, Any] = {"db": config.db}
        if config.unix_socket_path is not None:
            kwargs["path"] = config.unix_socket_path
        else:
            kwargs.update(host=config.effective_host, port=config.port)
        for name in (
            "username",
            "socket_timeout",
            "socket_connect_timeout",
            "socket_keepalive",
            "retry_on_timeout",
            "health_check_interval",
            "client_name",
            "encoding",
            "encoding_errors",
            "decode_responses",
        ):
            kwargs[name] = getattr(config, name)
        if config.ssl:
            for name in ("ssl", "ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs"):
                kwargs[name] = getattr(config, name)
        # The credentials as a provider (its repr shows no password), so that a client
        # rebuilt from these settings, redis-py's or ours, still logs in.
        provider = config.effective_credential_provider
        if provider is None and config.password is not None:
            provider = UsernamePasswordCredentialProvider(config.username, config.password)
        if provider is not None:  # it gives the username too (redis-py takes one or the other)
            kwargs["credential_provider"] = provider
            del kwargs["username"]
        self.connection_kwargs = kwargs

    def reset(self) -> NoReturn:
        """Refused: RESET would reset one pooled connection, which the next caller
        would inherit. ``close()`` the client (a pipeline's ``reset()`` is its own)."""
        raise DataError(
            "RESET is refused: it would reset one pooled connection; close() the client"
        )

    def disconnect(self, inuse_connections: bool = True) -> Any:
        """redis-py's ``pool.disconnect()``: close the idle connections now and, with
        ``inuse_connections``, each connection in use once its call gives it back
        (nothing in flight is cut); the pool stays open and the next calls connect
        afresh. On an asyncio client a coroutine, as redis.asyncio's: its shared
        connections close too, one with calls in flight as a lost connection does
        (reads sent again, writes failed). Every node's pool, on a cluster client."""
        owner = self._owner() if self._owner is not None else None
        if owner is None:  # the client is gone, and its pool with it
            return _nothing() if self._async else None
        return owner._disconnect(bool(inuse_connections))

    def get_encoder(self) -> Encoder:
        c = self._config
        return Encoder(c.encoding, c.encoding_errors, c.decode_responses)

    def __repr__(self) -> str:
        return f"<PoolView of {self.max_connections} connections, C core>"


async def _nothing() -> None:
    return None


class ClientBase:
    """The construction, key prefixes, tracing and views both clients share.

    A subclass supplies the command hook ``_run(args, callback=None)`` (with the
    command methods, from :class:`~pyredisclient.commands.CoreCommands`), and may
    override :meth:`_init_driver` and :meth:`_set_prefixer` to set up how its
    commands run.
    """

    _config: RedisConfig
    _core: CoreClient
    _prefixer: KeyPrefixer | None
    _tracing: Tuple[Any] | None  # (tracer,) once enabled
    #: Does the driver answer the core's requests for credentials (``WANT_CREDS``,
    #: the asyncio client), or does the core call the provider itself?
    _driver_answers = False

    if TYPE_CHECKING:

        def _run(self, args: Tuple[Any, ...], callback: Callback | None = None) -> Any: ...

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
        # No I/O here: the core connects on first use (host names are resolved on a
        # helper thread it waits for like a socket), so nothing blocks, or raises
        # because Redis is down, before the first command.
        provider = config.effective_credential_provider
        if provider is not None and not self._driver_answers and is_async_only(provider):
            raise ConfigurationError(
                f"credential_provider can only be awaited: use AsyncRedisClient with it, "
                f"or give it a get_credentials() method ({type(self).__name__} asks it "
                "on the calling thread)",
                "credential_provider",
            )
        if not self._driver_answers:  # a blocking client
            warn_if_green_threads()
        self._core = CoreClient(**core_client_kwargs(config, self._driver_answers))
        self._tracing = None
        self._init_driver()
        self._set_prefixer(_config_prefixer(config))

    def _init_driver(self) -> None:
        """Set up what this client's way of running commands needs (once the C
        client exists, before the prefixer is installed)."""

    def _set_prefixer(self, prefixer: KeyPrefixer | None) -> None:
        """Install the key prefixer (None: none); a subclass whose hook depends on
        it re-points the hook here."""
        self._prefixer = prefixer

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> Self:
        """Build a client from a ``redis://``, ``rediss://`` or ``unix://`` URL.

        Explicit keyword overrides win over values in the URL (redis-py lets the
        query string win; a conflicting override logs a warning).
        """
        url = secret_url(url)  # first: tracebacks that print locals must not show it
        hide_password(overrides)
        translate_redis_py(overrides)
        _check_overrides(f"{cls.__name__}.from_url", overrides)
        return cls(config=RedisConfig.from_url(url, **overrides))

    def _config_for_client(self) -> RedisConfig:
        """The configuration ``client()`` builds a new client from."""
        if self.__dict__.get("_sentinel") is not None:
            raise DataError(
                "client() of a client from from_sentinel() would not follow a failover: "
                "call from_sentinel() again for another client"
            )
        return self._config

    @classmethod
    def from_pool(cls, connection_pool: Any) -> Self:
        """redis-py's ``from_pool``: a client built from a redis-py ConnectionPool's
        settings (or another client's ``connection_pool``), as ``connection_pool=``
        reads them. The client has its own pool; the one given is never used, so
        closing the client leaves it as it was."""
        return cls(connection_pool=connection_pool)

    # -- key prefixes ------------------------------------------------------------------

    def with_prefix(
        self,
        prefix: str | bytes,
        *,
        allow: Iterable[str] | None = None,
        allow_unsafe: bool = False,
    ) -> Self:
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
        config = self._config
        prefixer = derive(
            self._prefixer,
            prefix,
            allow,
            allow_unsafe,
            config.encoding,
            config.encoding_errors,
            config.key_prefix_channels,
        )
        return self._view(prefixer)

    def _scripts_view(self) -> Self:
        """This client, or for a prefixed one that may not run scripts, a view with
        the same prefix that may: for the library's own Lua scripts
        (``pyredisclient.patterns``), which touch only the KEYS they are given, and
        those are prefixed like any key. Made once per client."""
        prefixer = self._prefixer
        if prefixer is None or "scripts" in prefixer.allowed:
            return self
        view: Self | None = self.__dict__.get("_scripts_view_of")
        if view is None:
            config = self._config
            granted = KeyPrefixer(
                prefixer.prefix,
                allow=prefixer.allowed | {"scripts"},
                encoding=config.encoding,
                errors=config.encoding_errors,
            )
            view = self.__dict__["_scripts_view_of"] = self._view(granted)
        return view

    def _view(self, prefixer: KeyPrefixer) -> Self:
        """A copy of this client sharing its pool, confined by *prefixer*."""
        config = self._config
        # A copy sharing the C client (the pool) and an async client's pool waiters,
        # with a config that says the prefix, so that a client built from that config
        # is confined the same way. It installs its own hook: the parent's may be bound
        # to the parent (its prefixer, or a traced wrapper of it).
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        view.__dict__.pop("_run", None)
        view.__dict__.pop("_scripts_view_of", None)
        name = prefixer.prefix
        text = name if isinstance(name, str) else name.decode(config.encoding, "replace")
        allowed = tuple(sorted(prefixer.allowed))
        view._config = config.replace(key_prefix=text, key_prefix_allow=allowed)
        view._set_prefixer(prefixer)
        callbacks = self.__dict__.get("_response_callbacks")
        if callbacks is not None:  # shared: the view follows its parent's callbacks
            view._run = with_response_callbacks(view._run, callbacks)  # type: ignore[method-assign]
            view.__dict__["_callbacks_hooked"] = True
        if self._tracing is not None:
            # A view of a traced client is traced too (spans name the commands, never
            # the prefixed keys).
            view._trace(self._tracing[0])
        return view

    # -- redis-py's response callbacks -------------------------------------------------

    def set_response_callback(self, command: str, callback: Callable[..., Any]) -> None:
        """Reply to ``command`` with ``callback(reply)`` instead of the command
        method's own conversion (redis-py's ``set_response_callback``): ``"GET"``, or
        ``"CONFIG GET"`` for a subcommand (which wins over its command); any case.
        ``reply`` is the raw RESP2 reply (bytes, or text with ``decode_responses``;
        ints; lists), as redis-py 7 hands it (redis-py 8 hands some already
        converted, HGETALL as a dict); no keyword options are passed. It applies to
        ``execute_command`` too, to this client's pipelines, and to views
        (``with_prefix``) made after the first one is set. Until then commands run on
        the hook with no Python frame; after it, each goes through a Python call
        (130 ns a command on this VM)."""
        if not callable(callback):
            raise DataError(
                f"set_response_callback needs a callable, not {type(callback).__name__}"
            )
        self.response_callbacks[command] = callback

    @property
    def response_callbacks(self) -> MutableMapping[str, Callable[..., Any]]:
        """The callbacks :meth:`set_response_callback` set, by upper-case command name,
        as redis-py's dict: ``r.response_callbacks["GET"] = f``, ``.pop("GET")``, or
        a whole mapping assigned (``{}`` for none: ``execute_command`` replies raw,
        as it does here anyway). Names go in any case; values must be callable.
        redis-py's own conversions are not listed: here they belong to the command
        methods."""
        return self._callback_slot().table

    @response_callbacks.setter
    def response_callbacks(self, mapping: Mapping[Any, Callable[..., Any]]) -> None:
        slot = self._callback_slot()
        if isinstance(mapping, ResponseCallbacks):
            table = mapping  # as redis-py binds the dict itself: a saved table put back
        else:
            table = ResponseCallbacks(on_set=self._hook_callbacks)
            table.update(mapping)
        self._hook_callbacks()  # a table put back may be filled later, by anyone
        slot.table = table

    def _callback_slot(self) -> CallbackSlot:
        slot = self.__dict__.get("_response_callbacks")
        if slot is None:
            slot = CallbackSlot(ResponseCallbacks(on_set=self._hook_callbacks))
            self.__dict__["_response_callbacks"] = slot
        return slot

    def _hook_callbacks(self) -> None:
        """Route the commands through the callbacks' hook, once (the first callback
        is set): until then a client whose table is only read costs nothing."""
        if not self.__dict__.get("_callbacks_hooked"):
            self.__dict__["_callbacks_hooked"] = True
            slot = self.__dict__["_response_callbacks"]
            self._run = with_response_callbacks(self._run, slot)  # type: ignore[method-assign]

    def register_script(self, script: ScriptTextT) -> Script:
        """A callable :class:`~pyredisclient.commands.scripting.Script` for ``script``
        (redis-py's): EVALSHA, and on NoScriptError a SCRIPT LOAD and a second try.
        On the asyncio client calling it returns an awaitable."""
        return Script(self, script)

    def reset(self) -> NoReturn:
        """Refused: RESET would reset one pooled connection, which the next caller
        would inherit. ``close()`` the client (a pipeline's ``reset()`` is its own)."""
        raise DataError(
            "RESET is refused: it would reset one pooled connection; close() the client"
        )

    def get_encoder(self) -> Encoder:
        """redis-py's encoder of this client (its encoding, error handler and
        decode_responses), which libraries written for redis-py ask for."""
        return self.connection_pool.get_encoder()

    @property
    def connection_pool(self) -> PoolView:
        """A read-only view of the pool's settings, as redis-py's ``connection_pool``
        (``connection_kwargs``, ``get_encoder()``, ``max_connections``) for libraries
        that read it; the password is left out."""
        view = self.__dict__.get("_pool_view")
        if view is None or view._config is not self._config:
            view = self.__dict__["_pool_view"] = PoolView(self._config, self)
        return view

    def _disconnect(self, in_use: bool) -> Any:
        """``connection_pool.disconnect()``: see PoolView.disconnect."""
        raise NotImplementedError  # pragma: no cover - each client has its own

    def load_external_module(self, funcname: str, func: Any) -> None:
        """redis-py's: make ``func`` (a module's command namespace, as redis-py's
        module helpers are) this client's attribute ``funcname``."""
        setattr(self, funcname, func)

    # -- the retry policy ----------------------------------------------------------

    def get_retry(self) -> Retry:
        """redis-py's: the retry policy this client follows now, as a
        :class:`~pyredisclient.Retry` (``get_retries()``, ``base``, ``cap``), in
        whichever form it was given. A key-prefix view shares its client's pool, and
        so its policy."""
        return Retry(*self._core.get_retry())  # the pool's

    def set_retry(self, retry: Any) -> None:
        """redis-py's: follow ``retry`` from now on, a :class:`~pyredisclient.Retry` or
        a redis-py ``Retry`` (read as ``retry=`` reads it). Calls under way take it at
        their next failure; subscriptions opened before keep theirs. What is retried
        stays what is safe to (README: Failures). Anything else raises
        ConfigurationError and changes nothing."""
        self._apply_retry(retry_options(retry))

    @property
    def retry(self) -> Retry:
        """redis-py's cluster attribute, on every client: :meth:`get_retry` (set it
        with :meth:`set_retry`)."""
        return self.get_retry()

    def _apply_retry(self, policy: Dict[str, Any]) -> None:
        """Follow the retry options ``policy`` (see :meth:`set_retry`). Each override
        checks them (a config's ``replace``) before it changes anything."""
        config = self._config.replace(**policy)
        self._core.set_retry(config.retry_attempts, config.retry_base, config.retry_cap)
        sentinel = self.__dict__.get("_sentinel")
        if sentinel is not None:
            sentinel.set_retry(policy)
        self._config = config

    def get_connection_kwargs(self) -> Dict[str, Any]:
        """redis-py's: ``connection_pool.connection_kwargs`` (the password as a
        credential provider, never in clear)."""
        return self.connection_pool.connection_kwargs

    @property
    def key_prefix(self) -> str | bytes | None:
        """The prefix every key is confined to, or None."""
        return None if self._prefixer is None else self._prefixer.prefix

    # -- tracing -----------------------------------------------------------------------

    def enable_tracing(self, tracer: Any = None) -> None:
        """Record one OpenTelemetry span per command (imports opentelemetry lazily);
        on the asyncio client the span covers the awaited call.

        Only this client pays for tracing; others keep the plain hot path. Called
        again with the same tracer it changes nothing (never two spans per command);
        another tracer is refused.
        """
        if self._tracing is not None:
            if self._tracing[0] is tracer:
                return
            raise RuntimeError("tracing is already enabled on this client, with another tracer")
        self._trace(tracer)

    def _trace(self, tracer: Any) -> None:
        self._run = make_traced_run(self, self._run, tracer)  # type: ignore[method-assign]
        self._tracing = (tracer,)

    # -- state ---------------------------------------------------------------------------

    @property
    def config(self) -> RedisConfig:
        """The validated configuration this client was built from."""
        return self._config

    def pool_stats(self) -> Dict[str, int]:
        """Pool counters: created, closed, in_use, idle, waits, timeouts, errors, ..."""
        return self._core.pool_stats()

    def circuit_breaker_state(self) -> Dict[str, Any]:
        """The circuit breaker's state ("closed", "open", "half_open") and counters."""
        return self._core.breaker_state()

    def _pubsub_args(
        self, ignore_subscribe_messages: bool, options: Dict[str, Any]
    ) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        """What ``pubsub()`` builds its subscription from: the C subscriber's keyword
        arguments (this client's connection, timeout, retry and health options) and
        the Python side's (decoding, key-prefix confinement, this client's counters)."""
        from ..pubsub.base import client_options

        provider = self._config.effective_credential_provider
        if provider is not None and is_async_only(provider):
            raise ConfigurationError(
                "pub/sub reconnects inside the C core, which needs an answer at once: give "
                "the credential provider a get_credentials() method",
                "credential_provider",
            )
        return core_client_kwargs(self._config), client_options(
            self, ignore_subscribe_messages, **options
        )

    def metrics(self) -> Dict[str, Any]:
        """Counters (commands, errors by class, retries, fallbacks, breaker
        transitions, pool waits/timeouts) and the latency histogram."""
        return collect(self)

    def metrics_text(self) -> str:
        """:meth:`metrics` as Prometheus text exposition format."""
        return render_prometheus(self.metrics())

    def debug_info(self) -> Dict[str, Any]:
        """Every setting (secrets as ``***``) plus pool and breaker state; for a
        client made by ``from_sentinel``, ``host`` and ``port`` are the node the
        sentinels named (None before the first command) and ``sentinel`` says
        which service, role and sentinels."""
        info = self._config.debug_info()
        sentinel = getattr(self, "_sentinel", None)
        if sentinel is not None:
            info["host"], info["port"] = sentinel.address or (None, None)
            info["sentinel"] = {
                "service_name": sentinel.service_name,
                "role": sentinel.role,
                "sentinels": [f"{h}:{p}" for h, p in sentinel.sentinel_addresses()],
                "switches": sentinel.switches,
            }
        info["pool"] = self.pool_stats()
        info["circuit_breaker"] = self.circuit_breaker_state()
        return info

    def __repr__(self) -> str:
        c = self.__dict__.get("_config")
        if c is None:  # __init__ raised midway, or was never called
            return f"<{type(self).__name__} (not initialised)>"
        sentinel = getattr(self, "_sentinel", None)
        if sentinel is not None:
            at = sentinel.address
            node = f"{at[0]}:{at[1]}" if at else "not resolved yet"
            where = f"sentinel {sentinel.service_name!r} {sentinel.role} {node}"
        else:
            where = c.unix_socket_path or f"{c.effective_host}:{c.port}"
        return f"<{type(self).__name__} {where} db={c.db}{' tls' if c.ssl else ''}>"


def log_shared_close(client: Any) -> None:
    """Say that close() on a ``get_client()`` client left it open: DEBUG the first
    time (the end of an app, a loop, a script), one WARNING the second, since a
    client closed again after use is being closed per call, which costs a new
    connection each time; DEBUG after that."""
    closes = client._shared_closes = getattr(client, "_shared_closes", 0) + 1
    logging.getLogger("pyredisclient").log(
        logging.WARNING if closes == 2 else logging.DEBUG,
        "close() on %s.get_client()'s shared client closed its connections and left it "
        "open: it belongs to the process (later calls, other requests and invocations "
        "use it); closing it after each use costs a new connection each time",
        type(client).__name__,
    )
