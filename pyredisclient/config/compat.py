"""redis-py's constructor keywords: the ones that make sense here are taken (some
translated to our options), the others refused with why and what to use instead.

``redis.Redis(...)`` takes keywords pyredisclient has no option for. Code ported from
redis-py passes them, often with their default values, so a client constructor runs
the keywords through :func:`translate` before checking them against the options:

* a keyword with redis-py's default value (``protocol=2``, ``ssl_ca_data=None``,
  ``cache=None``, ...) is accepted and dropped: it asks for nothing;
* a keyword that makes sense is translated (``retry=Retry(...)``, redis-py's or
  ours, gives ``retry_attempts``/``retry_base``/``retry_cap``,
  ``retry_on_error=[TimeoutError]`` is ``retry_on_timeout=True``) or accepted and ignored where it only labels or the
  pool already does it (``single_connection_client``, ``lib_name``, ``lib_version``,
  ``driver_info``, ``socket_read_size``, ``auto_close_connection_pool``);
  ``max_connections=None`` (redis-py's unbounded pool) keeps our finite default;
* any other value raises :class:`ConfigurationError` (a ValueError) saying why and
  what to use instead, e.g. ``protocol=3``, ``cache=``;
* ``connection_pool=`` (a redis-py ConnectionPool) is read for its settings: the
  client builds its own pool from them.

:data:`REDIS_PY_KEYWORDS` is the table; README.md lists it for users.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Dict, Mapping, MutableMapping, Tuple

from .errors import ConfigurationError
from .options import _RULES
from .retry import retry_options

__all__ = ["REDIS_PY_KEYWORDS", "translate", "warn_aclose_alias"]

_Translate = Callable[[str, Any, MutableMapping[str, Any]], None]


def _refuse(why: str) -> _Translate:
    def refuse(name: str, value: Any, options: MutableMapping[str, Any]) -> None:
        raise ConfigurationError(f"{name}={_short(value)} is not supported: {why}", name)

    refuse.__doc__ = why
    return refuse


def _ignore(name: str, value: Any, options: MutableMapping[str, Any]) -> None:
    """Accepted and ignored: it labels or tunes nothing a caller can observe."""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _set(options: MutableMapping[str, Any], name: str, key: str, value: Any) -> None:
    """Set option ``key`` from redis-py keyword ``name``, unless the caller gave a
    different value for it too."""
    if key in options and options[key] != value:
        raise ConfigurationError(
            f"{name} asks for {key}={value!r}, but {key}={options[key]!r} is given too; "
            f"give one of them",
            name,
        )
    options[key] = value


def _protocol(name: str, value: Any, options: MutableMapping[str, Any]) -> None:
    if value is None or value in (2, "2"):
        return
    raise ConfigurationError(
        f"protocol={_short(value)} is not supported: pyredisclient speaks RESP2 (the "
        "hiredis it is built on reads RESP2); drop protocol or pass protocol=2 - the "
        "replies have redis-py's RESP2 shapes",
        name,
    )


def _retry(name: str, value: Any, options: MutableMapping[str, Any]) -> None:
    for key, setting in retry_options(value).items():
        _set(options, name, key, setting)


def _keepalive_options(name: str, value: Any, options: MutableMapping[str, Any]) -> None:
    # redis-py's {socket.TCP_KEEPIDLE: 60, socket.TCP_KEEPINTVL: 10, socket.TCP_KEEPCNT: 3}:
    # the timing of the probes socket_keepalive turns on.
    import socket

    ours = {
        getattr(socket, const): option
        for const, option in (
            ("TCP_KEEPIDLE", "socket_keepalive_idle"),
            ("TCP_KEEPINTVL", "socket_keepalive_interval"),
            ("TCP_KEEPCNT", "socket_keepalive_count"),
        )
        if hasattr(socket, const)
    }
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"{name}={_short(value)} is not supported: give a dict of socket.TCP_KEEPIDLE, "
            "TCP_KEEPINTVL and TCP_KEEPCNT to values",
            name,
        )
    for key, setting in value.items():
        if key not in ours or isinstance(key, bool):
            raise ConfigurationError(
                f"{name}={_short(value)} is not supported: option {_short(key)} is not "
                "socket.TCP_KEEPIDLE, TCP_KEEPINTVL or TCP_KEEPCNT (the keepalive timing "
                "this client sets: socket_keepalive_idle=, _interval=, _count=)",
                name,
            )
        _set(options, name, ours[key], setting)


def _retry_on_error(name: str, value: Any, options: MutableMapping[str, Any]) -> None:
    # Connection errors are retried whenever that is safe (README: Failures), and
    # never otherwise; timeouts only with retry_on_timeout.
    for cls in value or ():
        cls_name = getattr(cls, "__name__", None)
        if cls_name == "TimeoutError":
            _set(options, name, "retry_on_timeout", True)
        elif cls_name != "ConnectionError":
            raise ConfigurationError(
                f"retry_on_error with {cls_name or _short(cls)} is not supported: "
                "connection errors are retried whenever that is safe, and timeouts with "
                "retry_on_timeout=True; other errors are never retried (a command may "
                "have run)",
                name,
            )


_TLS_FILES = "the TLS options take files: ssl_ca_certs, ssl_ca_path, ssl_certfile, ssl_keyfile"

#: redis-py ConnectionPool.connection_kwargs keys with another name here.
_POOL_RENAMES = {"path": "unix_socket_path"}
_POOL_MAX = 2**31  # redis-py's "unbounded"
#: What redis-py 8's pools put in connection_kwargs themselves.
_POOL_INTERNALS = frozenset({"maint_notifications_config", "event_dispatcher"})


def _connection_pool(name: str, pool: Any, options: MutableMapping[str, Any]) -> None:
    """``connection_pool=``: a redis-py ConnectionPool (sync or asyncio), or another
    client's ``connection_pool`` view, read for its settings (``connection_kwargs``,
    ``max_connections``, an SSL ``connection_class``, a BlockingConnectionPool's
    ``timeout`` as ``pool_timeout``). The C core owns its pools, so the client builds
    its own pool from them: the given pool is never used, nor closed. Keywords given
    beside it win over its settings."""
    kwargs = getattr(pool, "connection_kwargs", None)
    if not isinstance(kwargs, Mapping):
        raise ConfigurationError(
            f"connection_pool={_short(pool)} is not supported: it takes a redis-py "
            "ConnectionPool (or a client's connection_pool), whose connection_kwargs "
            "are read; or pass the pool's options (max_connections=, socket_timeout=, "
            "...) or config=RedisConfig(...)",
            name,
        )
    # What the pool was built with: our options and redis-py's keywords; redis-py's
    # own bookkeeping (orig_host_address, maint_notifications_*, ...) is not a setting.
    found: Dict[str, Any] = {}
    for key, value in kwargs.items():
        name = _POOL_RENAMES.get(str(key), str(key))
        if type(value) is object:  # redis-py's marker of a keyword left unset
            continue
        if name in _RULES or (name in REDIS_PY_KEYWORDS and name not in _POOL_INTERNALS):
            found[name] = value
    if found.get("credential_provider") is not None:  # as redis-py: it gives them
        found.pop("username", None)
        found.pop("password", None)
    if "SSL" in getattr(getattr(pool, "connection_class", None), "__name__", ""):
        found.setdefault("ssl", True)
    wait = getattr(pool, "timeout", None)  # BlockingConnectionPool: how long to wait
    if isinstance(wait, (int, float)) and not isinstance(wait, bool) and wait > 0:
        found.setdefault("pool_timeout", float(wait))
    size = getattr(pool, "max_connections", None)
    if isinstance(size, int) and not isinstance(size, bool) and 0 < size < _POOL_MAX:
        found.setdefault("max_connections", size)
    translate(found)
    for key, value in found.items():
        options.setdefault(key, value)


#: redis-py's ``Redis.__init__`` keywords that are not options here: (redis-py's
#: default, what a value other than that default does). Keywords that are options
#: here with the same meaning (host, port, db, password, username, socket_timeout,
#: ssl_certfile, client_name, health_check_interval, ...) are not listed.
REDIS_PY_KEYWORDS: Dict[str, Tuple[Any, _Translate]] = {
    "protocol": (2, _protocol),
    "legacy_responses": (
        True,
        _refuse("replies have redis-py's RESP2 (legacy) shapes only; drop it"),
    ),
    # redis-py keeps one connection for the client's own calls; its pipelines, pub/sub
    # and locks take others from the pool. Our pool already hands sequential calls the
    # connection they used before. (A pool of one, what this once became, left a
    # WATCHing pipeline and the client's next call waiting on each other.)
    "single_connection_client": (False, _ignore),
    "connection_pool": (None, _connection_pool),
    "retry": (None, _retry),
    "retry_on_error": (None, _retry_on_error),
    "socket_read_size": (None, _ignore),
    "socket_keepalive_options": (None, _keepalive_options),
    "redis_connect_func": (
        None,
        _refuse(
            "the C core connects and runs the handshake; client_name=, db= and the "
            "credentials cover what it sends"
        ),
    ),
    "lib_name": ("redis-py", _ignore),
    "lib_version": (None, _ignore),
    "driver_info": (None, _ignore),
    "ssl_ca_data": (None, _refuse(f"write the PEM text to a file; {_TLS_FILES}")),
    "ssl_password": (
        None,
        _refuse("encrypted private keys are not supported; give an unencrypted ssl_keyfile"),
    ),
    "ssl_min_version": (None, _refuse("TLS 1.2 or later is negotiated (OpenSSL's default)")),
    "ssl_ciphers": (None, _refuse("OpenSSL's default cipher list is used")),
    "ssl_include_verify_flags": (None, _refuse("OpenSSL's default verify flags are used")),
    "ssl_exclude_verify_flags": (None, _refuse("OpenSSL's default verify flags are used")),
    "ssl_validate_ocsp": (False, _refuse("OCSP validation is not supported")),
    "ssl_validate_ocsp_stapled": (False, _refuse("OCSP validation is not supported")),
    "ssl_ocsp_context": (None, _refuse("OCSP validation is not supported")),
    "ssl_ocsp_expected_cert": (None, _refuse("OCSP validation is not supported")),
    "cache": (None, _refuse("client-side caching is not supported yet")),
    "cache_config": (None, _refuse("client-side caching is not supported yet")),
    "event_dispatcher": (
        None,
        _refuse("use metrics() and enable_tracing() to observe the client"),
    ),
    "maint_notifications_config": (
        None,
        _refuse("maintenance notifications need RESP3, which is not supported"),
    ),
    "oss_cluster_maint_notifications_handler": (
        None,
        _refuse("maintenance notifications need RESP3, which is not supported"),
    ),
    "metadata_resolver": (None, _refuse("not supported; drop it")),
    "auto_close_connection_pool": (None, _ignore),  # redis.asyncio: aclose() closes it
}


def translate(options: MutableMapping[str, Any]) -> None:
    """Replace redis-py's keywords in ``options`` (in place) by our options, drop
    the ones that ask for nothing, and raise ConfigurationError for the others."""
    if "max_connections" in options and options["max_connections"] is None:
        # redis-py's default (2**31 connections): keep ours, a finite pool.
        del options["max_connections"]
    for name in [n for n in options if n in REDIS_PY_KEYWORDS]:
        default, how = REDIS_PY_KEYWORDS[name]
        value = options.pop(name)
        if value is default or (value == default and type(value) is type(default)):
            continue
        how(name, value, options)


def warn_aclose_alias(name: str) -> None:
    """The DeprecationWarning redis.asyncio gives for ``close()`` (and a
    subscription's ``reset()``), the old names of ``aclose()``: code moving between
    the two libraries hears the same advice. Called by the alias itself, so the
    warning points at the caller's line."""
    warnings.warn(
        f"Call to deprecated {name}. (Use aclose() instead) -- Deprecated since version 5.0.1.",
        DeprecationWarning,
        stacklevel=3,
    )
