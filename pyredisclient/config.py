"""Client configuration: RedisConfig, its URL and environment readers, and Secret.

Every client option lives in one frozen, typed dataclass, :class:`RedisConfig`, validated
once in ``__post_init__`` and handed to the C core as plain values by
:meth:`RedisConfig.core_kwargs`. It is built in one of three ways::

    RedisConfig(host="cache.internal", password="...", ssl=True)
    RedisConfig.from_url("rediss://app:s3cret@cache.internal:6380/2?socket_timeout=2")
    RedisConfig.from_env()          # REDIS_URL, or REDIS_HOST, REDIS_PORT, ...

Precedence, highest first (a layer only replaces the values it gives):

=====================================  ===================================================
layer                                  example
=====================================  ===================================================
1. explicit keyword arguments          ``from_env(socket_timeout=1.0)``, ``from_url(url, db=2)``
2. the URL (``url`` / ``{prefix}URL``)   ``redis://h:6380/2?socket_timeout=2``
3. separate environment variables      ``REDIS_HOST``, ``REDIS_SOCKET_TIMEOUT``, ...
4. the dataclass defaults              ``port=6379``, ``socket_timeout=5.0``, ...
=====================================  ===================================================

When a higher layer replaces a value that the URL gave, a WARNING is logged once per
process on the ``pyredisclient`` logger. redis-py's ``from_url`` does the opposite (its
query string wins over keyword arguments); code ported from redis-py that passes both gets
the keyword argument here. Setting ``host`` in a layer drops a lower layer's
``unix_socket_path`` and the other way round, so that one address is always meant.

Secrets (the password) are held in :class:`Secret`, which shows ``***`` in ``repr``,
``str``, ``format``, logs, debug views and tracebacks that print locals. The only place
the plain password is taken out is :meth:`RedisConfig.core_kwargs`.

Errors are :class:`ConfigurationError`, a ``ValueError`` (never a ``RedisError``), whose
message names the field, the environment variable or URL it came from, the bad value
(never a secret's) and what is allowed, e.g.
``REDIS_PORT: port must be an integer 1-65535, got 'abc'``.
"""

from __future__ import annotations

import codecs
import dataclasses
import difflib
import hmac
import ipaddress
import logging
import math
import operator
import os
import re
import threading
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, NamedTuple, Tuple, Union
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

__all__ = ["ConfigurationError", "RedisConfig", "Secret", "redact_url"]

logger = logging.getLogger("pyredisclient")

#: Longest timeout or interval accepted, in seconds (about 31 years). The core keeps
#: deadlines as signed 64-bit nanoseconds; this bound keeps every sum far from overflow.
MAX_SECONDS = 1e9

#: Names that turn on the strict checks of :meth:`RedisConfig.from_env`.
STRICT_ENVIRONMENTS = frozenset({"staging", "production"})

_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})
_NONE_WORDS = frozenset({"", "none", "null"})

#: What a client confined to ``key_prefix`` may do beyond its own keys, each only when
#: granted (``key_prefix_allow``; pyredisclient.keyprefix says what each unlocks).
KEY_PREFIX_CATEGORIES = ("admin", "databases", "scripts", "server_info", "unconfined")
_CATEGORIES_TEXT = (
    f"a comma-separated list or a collection of {', '.join(KEY_PREFIX_CATEGORIES)} or all"
)
_INT_RE = re.compile(r"[+-]?[0-9]+\Z")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")


class ConfigurationError(ValueError):
    """A client option is missing, malformed or contradicts another one.

    A ``ValueError``, never a ``RedisError``: it is a mistake in the program or its
    deployment, and retrying or falling back cannot help.

    Attributes:
        reason: the message without its source, e.g. "port must be an integer 1-65535,
            got 'abc'".
        field: the RedisConfig field concerned, or None.
        source: where the value came from: an environment variable such as "REDIS_PORT",
            "url" for :meth:`RedisConfig.from_url`, or None for a keyword argument.
    """

    def __init__(self, reason: str, field: str | None = None, source: str | None = None) -> None:
        self.reason = reason
        self.field = field
        self.source = source
        super().__init__(f"{source}: {reason}" if source else reason)

    def with_source(self, source: str) -> ConfigurationError:
        """Return the same error, naming ``source`` (an environment variable or "url")."""
        return ConfigurationError(self.reason, self.field, source)

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.reason, self.field, self.source))


class Secret:
    """A password or token that shows as ``***`` everywhere but :meth:`get_secret_value`.

    ``repr`` is ``Secret('***')``; ``str`` and ``format`` give ``***``. Two Secrets are
    equal when their values are (compared in constant time); a Secret never equals a
    plain str. It is true when non-empty and pickles as a Secret.
    """

    __slots__ = ("_value",)
    _value: str

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value._value
        if not isinstance(value, str):
            raise TypeError(f"Secret holds a str, not {type(value).__name__}")
        object.__setattr__(self, "_value", value)

    def get_secret_value(self) -> str:
        """Return the plain value. Call it only where the value leaves for the server."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, format_spec: str) -> str:
        return format("***", format_spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(_utf8(self._value), _utf8(other._value))

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secret is immutable")

    def __reduce__(self) -> Tuple[Any, ...]:
        return (Secret, (self._value,))


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


class _SecretField:
    """Dataclass field descriptor: takes a str or a Secret, always gives a Secret.

    Type checkers read ``__set__`` for the constructor's parameter type and ``__get__``
    for the attribute, so ``RedisConfig(password="pw").password`` is a ``Secret | None``.
    Other types are stored as they are for ``__post_init__`` to reject.
    """

    _name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, obj: object | None, owner: Any = None) -> Secret | None:
        if obj is None:
            return None  # the field's default
        value: Secret | None = vars(obj).get(self._name)
        return value

    def __set__(self, obj: object, value: str | Secret | None) -> None:
        vars(obj)[self._name] = Secret(value) if isinstance(value, str) else value


class _Rule(NamedTuple):
    """How one field is checked and read from text; ``text`` says what is allowed."""

    kind: str  # int, float, bool, str, secret or cert_reqs
    text: str
    optional: bool = False
    lo: float = 0
    hi: float = 0
    lo_open: bool = False


_TIMEOUT = "a finite number of seconds > 0 and <= 1e9, or None for no limit"
_INT32 = 2**31 - 1

_RULES: Dict[str, _Rule] = {
    "host": _Rule("str", "a host name or IP address, or None for localhost", True),
    "port": _Rule("int", "an integer 1-65535", lo=1, hi=65535),
    "unix_socket_path": _Rule("str", "the path of a unix socket, or None", True),
    "db": _Rule("int", "an integer 0-2147483647", lo=0, hi=_INT32),
    "username": _Rule("str", "a non-empty string, or None", True),
    "password": _Rule("secret", "a non-empty string or Secret, or None", True),
    "socket_timeout": _Rule("float", _TIMEOUT, True, 0, MAX_SECONDS, True),
    "socket_connect_timeout": _Rule("float", _TIMEOUT, True, 0, MAX_SECONDS, True),
    "socket_keepalive": _Rule("bool", "true or false"),
    "pool_timeout": _Rule(
        "float",
        "a finite number of seconds > 0 and <= 1e9, or None for socket_timeout",
        True,
        0,
        MAX_SECONDS,
        True,
    ),
    "max_connections": _Rule("int", "an integer 1-2147483647", lo=1, hi=_INT32),
    "health_check_interval": _Rule(
        "float", "a finite number of seconds >= 0 and <= 1e9", lo=0, hi=MAX_SECONDS
    ),
    "decode_responses": _Rule("bool", "true or false"),
    "encoding": _Rule("str", "the name of a codec known to Python, such as 'utf-8'"),
    "encoding_errors": _Rule(
        "str", "a codecs error handler such as 'strict', 'replace' or 'surrogateescape'"
    ),
    "client_name": _Rule(
        "str", "printable ASCII without spaces or newlines (Redis rejects others), or None", True
    ),
    "retry_attempts": _Rule("int", "an integer 0-2147483647", lo=0, hi=_INT32),
    "retry_base": _Rule(
        "float", "a finite number of seconds > 0 and <= 1e9", lo=0, hi=MAX_SECONDS, lo_open=True
    ),
    "retry_cap": _Rule(
        "float", "a finite number of seconds > 0 and <= 1e9", lo=0, hi=MAX_SECONDS, lo_open=True
    ),
    "retry_on_timeout": _Rule("bool", "true or false"),
    "circuit_breaker": _Rule("bool", "true or false"),
    "metrics": _Rule("bool", "true or false"),
    "failure_threshold": _Rule("int", "an integer 1-2147483647", lo=1, hi=_INT32),
    "recovery_timeout": _Rule(
        "float", "a finite number of seconds > 0 and <= 1e9", lo=0, hi=MAX_SECONDS, lo_open=True
    ),
    "success_threshold": _Rule("int", "an integer 1-255", lo=1, hi=255),
    "failure_rate_threshold": _Rule(
        "float", "a number >= 0 and <= 1 (0 turns the rate off)", lo=0, hi=1
    ),
    "failure_window": _Rule(
        "float", "a finite number of seconds > 0 and <= 1e9", lo=0, hi=MAX_SECONDS, lo_open=True
    ),
    "minimum_calls": _Rule("int", "an integer 1-2147483647", lo=1, hi=_INT32),
    "min_recovery_timeout": _Rule(
        "float", "a finite number of seconds > 0 and <= 1e9", lo=0, hi=MAX_SECONDS, lo_open=True
    ),
    "ssl": _Rule("bool", "true or false"),
    "ssl_ca_certs": _Rule("str", "the path of a readable CA bundle file, or None", True),
    "ssl_ca_path": _Rule(
        "str", "the path of a readable directory of CA certificates, or None", True
    ),
    "ssl_certfile": _Rule("str", "the path of a readable certificate file, or None", True),
    "ssl_keyfile": _Rule("str", "the path of a readable private key file, or None", True),
    "ssl_cert_reqs": _Rule(
        "cert_reqs", "one of 'required', 'optional', 'none' (or ssl.CERT_REQUIRED, ...)"
    ),
    "ssl_check_hostname": _Rule("bool", "true or false"),
    "ssl_server_hostname": _Rule("str", "a host name for SNI and verification, or None", True),
    "key_prefix": _Rule("str", "a non-empty string, or None", True),
    "key_prefix_allow": _Rule("categories", _CATEGORIES_TEXT),
    "key_prefix_channels": _Rule("bool", "true or false"),
    "max_reply_bytes": _Rule("int", "an integer 1024-9223372036854775807", lo=1024, hi=2**63 - 1),
    "memory_warning_ratio": _Rule("float", "a number > 0 and <= 1", lo=0, hi=1, lo_open=True),
    "memory_critical_ratio": _Rule("float", "a number > 0 and <= 1", lo=0, hi=1, lo_open=True),
}

# ssl.CERT_NONE, CERT_OPTIONAL and CERT_REQUIRED are 0, 1 and 2 by the ssl module's API;
# spelling them out keeps this module importable on a Python built without ssl.
_CERT_REQS_INT = {0: "none", 1: "optional", 2: "required"}
_CERT_REQS_STR = {
    "none": "none",
    "cert_none": "none",
    "optional": "optional",
    "cert_optional": "optional",
    "required": "required",
    "cert_required": "required",
}

# TLS options that mean nothing without ssl=True, with their defaults.
_SSL_OPTIONS: Dict[str, Any] = {
    "ssl_ca_certs": None,
    "ssl_ca_path": None,
    "ssl_certfile": None,
    "ssl_keyfile": None,
    "ssl_cert_reqs": "required",
    "ssl_check_hostname": True,
    "ssl_server_hostname": None,
}

# Fields a URL gives in its scheme, authority or path rather than in its query string.
_URL_AUTHORITY_FIELDS = frozenset({"host", "port", "unix_socket_path"})


def _show(value: object) -> str:
    """Return a short repr of a bad (never secret) value for an error message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _bad(name: str, value: object) -> ConfigurationError:
    rule = _RULES[name]
    if rule.kind == "secret":
        return ConfigurationError(f"{name} must be {rule.text}", name)  # never echo it
    return ConfigurationError(f"{name} must be {rule.text}, got {_show(value)}", name)


def _nul(name: str) -> ConfigurationError:
    # The binding hands strings to the core as C strings, which end at the first NUL.
    return ConfigurationError(f"{name} must not contain a NUL character ('\\0')", name)


def _check(name: str, value: Any) -> Any:
    """Check one field's type and range alone; return the value in its normal form."""
    rule = _RULES[name]
    if value is None:
        if rule.optional:
            return None
        if rule.kind == "cert_reqs":
            raise ConfigurationError(
                f"{name} must be {rule.text}, got None; write 'none' to turn certificate "
                "verification off",
                name,
            )
        raise _bad(name, value)
    kind = rule.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise _bad(name, value)
        return value
    if kind == "int":
        if isinstance(value, bool):
            raise _bad(name, value)
        if isinstance(value, str) and _INT_RE.match(value.strip()):
            value = int(value.strip())  # port="6379", as settings objects often give
        try:
            number = operator.index(value)
        except TypeError:
            raise _bad(name, value)
        if not rule.lo <= number <= rule.hi:
            raise _bad(name, value)
        return number
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _bad(name, value)
        try:
            seconds = float(value)
        except OverflowError:
            raise _bad(name, value)
        if (
            not math.isfinite(seconds)
            or not rule.lo <= seconds <= rule.hi
            or (rule.lo_open and seconds == rule.lo)
        ):
            raise _bad(name, value)
        return seconds
    if kind == "secret":
        if isinstance(value, str):
            value = Secret(value)
        if not isinstance(value, Secret) or not value:
            raise _bad(name, value)
        if "\0" in value.get_secret_value():
            raise _nul(name)
        return value
    if kind == "categories":
        return _categories(name, value)
    if kind == "cert_reqs":
        if isinstance(value, int) and not isinstance(value, bool):
            if value in _CERT_REQS_INT:
                return _CERT_REQS_INT[value]
        elif isinstance(value, str) and value.strip().lower() in _CERT_REQS_STR:
            return _CERT_REQS_STR[value.strip().lower()]
        raise _bad(name, value)
    if not isinstance(value, str) or not value:
        raise _bad(name, value)
    if "\0" in value:
        raise _nul(name)
    if name == "host" and len(value) > 2 and value[0] == "[" and value[-1] == "]":
        return value[1:-1]  # an IPv6 address written as in a URL
    return value


def _categories(name: str, value: Any) -> Tuple[str, ...]:
    """Key-prefix opt-ins in their normal form: a sorted tuple, "all" expanded.
    ``name`` is the option named in errors (key_prefix_allow, or with_prefix's allow)."""
    if isinstance(value, str):
        value = [v for v in re.split(r"[\s,]+", value) if v]
    try:
        items = list(value)
    except TypeError:
        items = [None]
    if not all(isinstance(v, str) for v in items):
        raise ConfigurationError(
            f"{name} must be {_CATEGORIES_TEXT}, got {_show(value)}", "key_prefix_allow"
        )
    granted = {v.strip().lower() for v in items}
    if "all" in granted:
        granted = (granted - {"all"}) | set(KEY_PREFIX_CATEGORIES)
    unknown = granted - set(KEY_PREFIX_CATEGORIES)
    if unknown:
        raise ConfigurationError(
            f"{name} must be {_CATEGORIES_TEXT}, got unknown {', '.join(sorted(unknown))}",
            "key_prefix_allow",
        )
    return tuple(sorted(granted))


def _from_text(name: str, text: str | Secret) -> Any:
    """Convert a value read from a URL or an environment variable to the field's type."""
    rule = _RULES[name]
    if rule.kind == "secret":
        secret = Secret(text)
        return secret if secret else None
    assert isinstance(text, str)
    stripped = text.strip()
    if rule.optional and stripped.lower() in _NONE_WORDS:
        return None
    if rule.kind == "int":
        if not _INT_RE.match(stripped):
            raise _bad(name, text)
        return int(stripped)
    if rule.kind == "float":
        try:
            return float(stripped)
        except ValueError:
            raise _bad(name, text)
    if rule.kind == "bool":
        word = stripped.lower()
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
        raise ConfigurationError(
            f"{name} must be one of 1/0, true/false, yes/no, on/off, got {_show(text)}", name
        )
    return text


def _same(name: str, a: Any, b: Any) -> bool:
    """Tell whether two values of one field mean the same once normalised."""
    try:
        return bool(_check(name, a) == _check(name, b))
    except ConfigurationError:
        return False


# "Once per process" bookkeeping for warnings. The lock is re-created in a forked child,
# whose copy may have been taken while another thread held it (DESIGN.md: fork safety).
_once_lock = threading.Lock()
_once_keys: set[Tuple[str, ...]] = set()


def _warn_once(key: Tuple[str, ...], message: str, *args: object) -> None:
    with _once_lock:
        if key in _once_keys:
            return
        _once_keys.add(key)
    logger.warning(message, *args)


def _after_fork_in_child() -> None:
    global _once_lock
    _once_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/?#\s]*)@")
_QUERY_PASSWORD_RE = re.compile(r"(?i)([?&;]password=)[^&#\s]*")


def redact_url(text: str) -> str:
    """Replace the password of every URL in ``text`` with ``***``.

    Handles the user-info form (``redis://user:pw@host``, ``redis://:pw@host``, a
    password holding an unencoded ``@`` included; user info without a ``:``, as in
    ``redis://secret@host``, is hidden whole) and ``password=`` in a query string.
    Text without a URL comes back unchanged.
    """

    def userinfo(match: re.Match[str]) -> str:
        user, colon, _ = match.group(2).partition(":")
        if not colon:  # redis://secret@host: no ':', and quite likely a password
            return f"{match.group(1)}{'***' if user else ''}@"
        return f"{match.group(1)}{user}:***@"

    return _QUERY_PASSWORD_RE.sub(r"\1***", _USERINFO_RE.sub(userinfo, text))


class _UrlParts(NamedTuple):
    """A URL split into parts, with the password and any unknown query value wrapped."""

    scheme: str
    netloc_host: str  # the authority after any user info, "" when absent
    username: str | None
    password: Secret | None
    hostname: str | None
    port_text: str
    path: str
    query: List[Tuple[str, Union[str, Secret]]]


def _split_url(url: Secret) -> _UrlParts | str:
    """Split a URL; return the parts, or the reason it is malformed.

    This is the only function that sees the URL in plain text. It returns its errors
    instead of raising them so that no traceback, which may print locals, holds a frame
    with the plain URL. Its reasons never quote the URL.
    """
    raw = url.get_secret_value()
    try:
        parts = urlsplit(raw.strip())
        hostname = parts.hostname
    except ValueError:
        return "malformed host; an IPv6 address goes in brackets, e.g. redis://[::1]"
    if parts.fragment or raw.rstrip().endswith("#"):
        return (
            "a '#' fragment is not allowed; percent-encode '#' in a password as %23 "
            "(and '@' ':' '/' '?' as %40 %3A %2F %3F)"
        )
    has_userinfo = "@" in parts.netloc
    userinfo = parts.netloc.rpartition("@")[0]
    if userinfo and ":" not in userinfo:
        # redis://secret@host: redis-py reads "secret" as a user name with an empty
        # password, which no server accepts; users mostly mean a password. Refuse it,
        # and never echo the text: it may well be the password.
        return (
            "the user info before '@' has no ':'; write redis://:PASSWORD@host for a "
            "password alone, or redis://USER:PASSWORD@host for an ACL user"
        )
    if not has_userinfo and ("@" in parts.path or ("@" in parts.query and parts.scheme != "unix")):
        return (
            "an '@' after the host; write it as %40 (and in a password, percent-encode "
            "':' '/' '?' '#' as %3A %2F %3F %23)"
        )
    netloc_host = parts.netloc.rpartition("@")[2]
    if netloc_host.startswith("["):
        port_text = netloc_host.partition("]")[2]
        port_text = port_text[1:] if port_text.startswith(":") else port_text
    else:
        port_text = netloc_host.partition(":")[2]
    query: List[Tuple[str, Union[str, Secret]]] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "password" or key not in _RULES:
            query.append((key, Secret(value)))
        else:
            query.append((key, value))
    return _UrlParts(
        scheme=parts.scheme.lower(),
        netloc_host=netloc_host,
        username=unquote(parts.username) if parts.username else None,
        password=Secret(unquote(parts.password)) if parts.password else None,
        hostname=unquote(hostname) if hostname else None,
        port_text=port_text,
        path=unquote(parts.path),
        query=query,
    )


def _parse_url(url: str | Secret) -> Dict[str, Any]:
    """Read a redis://, rediss:// or unix:// URL into field values (see from_url)."""
    url = secret_url(url)  # first: tracebacks that print locals must not show it
    if not isinstance(url, Secret):
        raise ConfigurationError(f"a URL must be a str, got {type(url).__name__}")
    parts = _split_url(url)
    if isinstance(parts, str):
        raise ConfigurationError(parts)
    values: Dict[str, Any] = {}
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ConfigurationError(
            f"scheme must be redis://, rediss:// (TLS) or unix://, got {parts.scheme!r}"
        )
    if parts.username is not None:
        values["username"] = parts.username
    if parts.password is not None:
        values["password"] = parts.password
    if parts.scheme == "unix":
        if parts.netloc_host:
            raise ConfigurationError(
                "unix_socket_path must follow unix:// as an absolute path (three slashes: "
                f"unix:///run/redis.sock), got host {parts.netloc_host!r}",
                "unix_socket_path",
            )
        if not parts.path:
            raise ConfigurationError(
                "unix_socket_path is missing: a unix:// URL needs the socket's path, e.g. "
                "unix:///run/redis.sock",
                "unix_socket_path",
            )
        values["unix_socket_path"] = parts.path
    else:
        if parts.hostname:
            values["host"] = parts.hostname
        if parts.port_text:
            values["port"] = _from_text("port", parts.port_text)
        if parts.scheme == "rediss":
            values["ssl"] = True
        db_text = parts.path[1:] if parts.path.startswith("/") else parts.path
        if db_text:
            if not _INT_RE.match(db_text):
                raise ConfigurationError(
                    f"db in the URL path must be an integer >= 0, e.g. /2, got {_show(db_text)}",
                    "db",
                )
            values["db"] = int(db_text)
    seen = set()
    for key, value in parts.query:
        if key in seen:
            raise ConfigurationError(f"{key} is given more than once in the URL", key)
        seen.add(key)
        if key not in _RULES or key in _URL_AUTHORITY_FIELDS:
            raise ConfigurationError(_unknown_option(key), key if key in _RULES else None)
        converted = _from_text(key, value)
        if key in values and not _same(key, values[key], converted):
            raise ConfigurationError(
                f"{key} is given twice in the URL (in the query string and before it) "
                "with different values",
                key,
            )
        values[key] = converted
    return values


def secret_url(url: Any) -> Any:
    """Wrap a str URL in a Secret; return anything else as it is.

    Functions that take a URL call this as their first statement, so that no frame
    holds the plain URL (with its password) when a later step raises: error reporters
    such as Sentry, rich and ``traceback`` with ``capture_locals=True`` print locals.
    """
    return Secret(url) if isinstance(url, str) else url


def hide_password(options: Dict[str, Any]) -> None:
    """Wrap a str ``password`` in ``options`` in a Secret, in place (see secret_url)."""
    if isinstance(options.get("password"), str):
        options["password"] = Secret(options["password"])


def _unknown_option(key: str) -> str:
    allowed = sorted(set(_RULES) - _URL_AUTHORITY_FIELDS)
    # Quote the name only when it looks like one: an unencoded '?' in a password can put
    # part of the password where a name should be.
    shown = repr(key) if _NAME_RE.match(key) else "(a name that is not an identifier)"
    if key in _URL_AUTHORITY_FIELDS:
        return (
            f"{key} cannot be given in a URL's query string; put the address before it, "
            "e.g. redis://host:6379/0 or unix:///run/redis.sock"
        )
    hint = ""
    close = difflib.get_close_matches(key, allowed, n=1) if _NAME_RE.match(key) else []
    if close:
        hint = f" (did you mean {close[0]!r}?)"
    return f"unknown URL query option {shown}{hint}; allowed: {', '.join(allowed)}"


def _check_overrides(caller: str, overrides: Mapping[str, Any]) -> None:
    for key in overrides:
        if key not in _RULES:
            close = difflib.get_close_matches(key, list(_RULES), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TypeError(f"{caller}() got an unexpected keyword argument {key!r}{hint}")


class _EnvView(Mapping[str, str]):
    """Read-only view of an environment mapping whose repr never shows values."""

    __slots__ = ("_env",)

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def __getitem__(self, key: str) -> str:
        return self._env[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)

    def __repr__(self) -> str:
        return f"<environment: {len(self._env)} variables, values hidden>"


def _strict_environment(environ: Mapping[str, str]) -> Tuple[str, str] | None:
    """Return (variable, value) when ENVIRONMENT or APP_ENV names staging or production."""
    for var in ("ENVIRONMENT", "APP_ENV"):
        value = environ.get(var, "").strip()
        if value.lower() in STRICT_ENVIRONMENTS:
            return var, value
    return None


@dataclass(frozen=True)
class RedisConfig:
    """Every client option, validated once; build it with keywords, from_url or from_env.

    ``host`` is None when not given and means ``"localhost"`` (:attr:`effective_host`);
    keeping "not given" apart lets :meth:`from_env` refuse a missing address in staging
    and production. ``pool_timeout=None`` means "the same as socket_timeout"
    (:attr:`effective_pool_timeout`). ``password`` takes a str or a :class:`Secret` and is
    always stored as a Secret. With ``ssl_cert_reqs="none"`` host names are not checked,
    as in redis-py (:attr:`effective_ssl_check_hostname`).

    Raises ConfigurationError (a ValueError) naming the first bad field.
    """

    host: str | None = None
    port: int = 6379
    unix_socket_path: str | None = None
    db: int = 0
    username: str | None = None
    password: _SecretField = _SecretField()
    socket_timeout: float | None = 5.0
    socket_connect_timeout: float | None = 5.0
    socket_keepalive: bool = True
    pool_timeout: float | None = None
    max_connections: int = 50
    health_check_interval: float = 30.0
    decode_responses: bool = False
    encoding: str = "utf-8"
    encoding_errors: str = "strict"
    client_name: str | None = None
    retry_attempts: int = 3
    retry_base: float = 0.05
    retry_cap: float = 1.0
    retry_on_timeout: bool = False
    circuit_breaker: bool = True
    metrics: bool = True
    failure_threshold: int = 5
    recovery_timeout: float = 30.0
    success_threshold: int = 3
    failure_rate_threshold: float = 0.5
    failure_window: float = 10.0
    minimum_calls: int = 10
    min_recovery_timeout: float = 1.0
    ssl: bool = False
    ssl_ca_certs: str | None = None
    ssl_ca_path: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_cert_reqs: str = "required"
    ssl_check_hostname: bool = True
    ssl_server_hostname: str | None = None
    key_prefix: str | None = None
    key_prefix_allow: Tuple[str, ...] = ()
    key_prefix_channels: bool = True
    max_reply_bytes: int = 512 * 1024 * 1024
    memory_warning_ratio: float = 0.8
    memory_critical_ratio: float = 0.9

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            checked = _check(f.name, value)
            if checked is not value:
                object.__setattr__(self, f.name, checked)
        self._check_address()
        self._check_text()
        self._check_relations()
        self._check_tls()

    def _check_address(self) -> None:
        host = self.host
        if host is not None:
            if "://" in host:
                raise ConfigurationError(
                    f"host must be a host name or IP address, got {_show(host)}; "
                    "for a URL use RedisConfig.from_url()",
                    "host",
                )
            if not host or any(c.isspace() or c in "/?#@[]" for c in host):
                raise _bad("host", self.host)
            if self.unix_socket_path is not None:
                raise ConfigurationError(
                    "host and unix_socket_path are both given; give one of them", "host"
                )
        if self.unix_socket_path is not None and self.ssl:
            raise ConfigurationError(
                "ssl cannot be used with unix_socket_path; TLS is for TCP connections", "ssl"
            )

    def _check_text(self) -> None:
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise _bad("encoding", self.encoding)
        try:
            codecs.lookup_error(self.encoding_errors)
        except LookupError:
            raise _bad("encoding_errors", self.encoding_errors)
        name = self.client_name
        if name is not None and not all("!" <= c <= "~" for c in name):
            raise _bad("client_name", name)

    def _check_relations(self) -> None:
        if self.retry_cap < self.retry_base:
            raise ConfigurationError(
                f"retry_cap must be >= retry_base ({self.retry_base!r}), got {self.retry_cap!r}",
                "retry_cap",
            )
        if self.memory_warning_ratio > self.memory_critical_ratio:
            raise ConfigurationError(
                "memory_warning_ratio must be <= memory_critical_ratio "
                f"({self.memory_critical_ratio!r}), got {self.memory_warning_ratio!r}",
                "memory_warning_ratio",
            )
        if self.key_prefix_allow and self.key_prefix is None:
            raise ConfigurationError(
                "key_prefix_allow is given without key_prefix; it grants a prefixed client "
                "commands that reach beyond its prefix",
                "key_prefix_allow",
            )
        if self.username is not None and self.password is None:
            raise ConfigurationError(
                f"username {self.username!r} is given without a password; Redis ACL "
                "authentication needs both (AUTH username password)",
                "username",
            )

    def _check_tls(self) -> None:
        if not self.ssl:
            for name, default in _SSL_OPTIONS.items():
                if getattr(self, name) != default:
                    raise ConfigurationError(
                        f"{name} is set but ssl is off; set ssl=True (or use a rediss:// URL) "
                        f"for TLS, or drop {name}",
                        name,
                    )
            return
        for name in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
            path = getattr(self, name)
            if path is not None and not (os.path.isfile(path) and os.access(path, os.R_OK)):
                raise ConfigurationError(
                    f"{name} must be the path of a readable file, got {_show(path)} "
                    "(missing, not a file, or not readable)",
                    name,
                )
        ca_path = self.ssl_ca_path
        if ca_path is not None and not (
            os.path.isdir(ca_path) and os.access(ca_path, os.R_OK | os.X_OK)
        ):
            raise ConfigurationError(
                f"ssl_ca_path must be a readable directory, got {_show(ca_path)}",
                "ssl_ca_path",
            )
        if self.ssl_keyfile is not None and self.ssl_certfile is None:
            raise ConfigurationError(
                "ssl_keyfile is given without ssl_certfile; a client certificate needs both",
                "ssl_keyfile",
            )

    # -- derived values -------------------------------------------------------------------

    @property
    def effective_host(self) -> str:
        """The host to connect to: ``host``, or "localhost" when it was not given."""
        return self.host if self.host is not None else "localhost"

    @property
    def effective_pool_timeout(self) -> float | None:
        """How long to wait for a pooled connection: ``pool_timeout`` or socket_timeout."""
        return self.pool_timeout if self.pool_timeout is not None else self.socket_timeout

    @property
    def effective_ssl_check_hostname(self) -> bool:
        """Whether TLS checks the host name: only with ssl on and certificates verified."""
        return self.ssl and self.ssl_check_hostname and self.ssl_cert_reqs != "none"

    @property
    def is_loopback(self) -> bool:
        """True for a unix socket, localhost or a loopback address (no DNS is done)."""
        if self.unix_socket_path is not None:
            return True
        host = self.effective_host.rstrip(".").lower()
        if host == "localhost" or host.endswith(".localhost"):
            return True
        try:
            address = ipaddress.ip_address(host.partition("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            return address.ipv4_mapped.is_loopback
        return address.is_loopback

    # -- views ---------------------------------------------------------------------------

    def core_kwargs(self) -> Dict[str, Any]:
        """Return the plain values the C binding takes: every field, effective values
        resolved (host, pool_timeout, ssl_check_hostname) and the password as a str.
        """
        kwargs = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        kwargs["host"] = self.effective_host
        kwargs["pool_timeout"] = self.effective_pool_timeout
        kwargs["ssl_check_hostname"] = self.effective_ssl_check_hostname
        # The one place the secret is unwrapped: the binding copies it straight into the
        # core's AUTH command. Keep it the only one, so every other view stays redacted.
        kwargs["password"] = None if self.password is None else self.password.get_secret_value()
        return kwargs

    def debug_info(self) -> Dict[str, Any]:
        """Return every setting and effective value, safe to log: secrets show as "***"."""
        info: Dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Secret):
                value = "***"
            elif isinstance(value, str):
                value = redact_url(value)
            info[f.name] = value
        info["effective_host"] = self.effective_host
        info["effective_pool_timeout"] = self.effective_pool_timeout
        info["effective_ssl_check_hostname"] = self.effective_ssl_check_hostname
        info["is_loopback"] = self.is_loopback
        info["url"] = self.to_url()
        return info

    def to_url(self, include_password: bool = False) -> str:
        """Return a URL that :meth:`from_url` reads back into an equal config.

        The password shows as ``***`` unless ``include_password`` is true. Options that
        differ from their defaults go in the query string. A host that was not given is
        written as localhost.
        """
        userinfo = ""
        if self.password is not None:  # validation ensures a username comes with one
            user = quote(self.username or "", safe="")
            plain = self.password.get_secret_value() if include_password else None
            userinfo = f"{user}:{'***' if plain is None else quote(plain, safe='')}@"
        skip = {"host", "port", "unix_socket_path", "username", "password", "ssl", "db"}
        if self.unix_socket_path is not None:
            head = f"unix://{userinfo}{quote(self.unix_socket_path, safe='/')}"
            skip.discard("db")
        else:
            host = quote(self.effective_host, safe=":")
            host = f"[{host}]" if ":" in host else host
            scheme = "rediss" if self.ssl else "redis"
            head = f"{scheme}://{userinfo}{host}:{self.port}/{self.db}"
        items = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name not in skip and value != f.default:
                items.append((f.name, _to_text(value)))
        return f"{head}?{urlencode(items, quote_via=quote)}" if items else head

    def replace(self, **changes: Any) -> RedisConfig:
        """Return a copy with ``changes`` applied, validated again."""
        hide_password(changes)  # first: tracebacks that print locals must not show it
        return dataclasses.replace(self, **changes)

    # -- constructors --------------------------------------------------------------------

    @classmethod
    def from_url(cls, url: str | Secret, **overrides: Any) -> RedisConfig:
        """Build a config from a URL; keyword arguments win over the URL.

        Forms: ``redis://[[username]:password@]host[:port][/db][?option=value&...]``,
        ``rediss://...`` (TLS: ssl=True) and ``unix://[[username]:password@]/path?db=N``.
        User info and the path are percent-decoded (write ``@`` as %40, ``:`` as %3A, ``/``
        as %2F, ``?`` as %3F and ``#`` as %23 in a password); IPv6 hosts go in brackets,
        ``redis://[::1]:6379``. The database comes from the path (``/3``) or ``?db=3``.
        Query options are RedisConfig field names (not host, port or unix_socket_path),
        read as their type; booleans take 1/0, true/false, yes/no, on/off in any case, and
        optional values take ``none`` or an empty value for None. An unknown scheme or
        option raises ConfigurationError, and so does user info without a ``:``
        (``redis://secret@host``: redis-py reads it as a user name with an empty
        password, which no server accepts), without quoting it.

        Unlike redis-py, where the query string wins over keyword arguments, here an
        explicit keyword argument wins; when it replaces a value the URL gave, a WARNING is
        logged once per process. Pass only the keywords the caller really gave.
        """
        url = secret_url(url)  # first: tracebacks that print locals must not show it
        hide_password(overrides)
        _check_overrides("from_url", overrides)
        return cls._merge({}, {}, _with_source(_parse_url, url, "url"), "url", overrides)

    @classmethod
    def from_env(
        cls,
        prefix: str = "REDIS_",
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> RedisConfig:
        """Build a config from environment variables named ``{prefix}{FIELD}``.

        Read (``environ`` defaults to ``os.environ``): ``{prefix}URL``; one variable per
        field, ``{prefix}`` + the field name in capitals (``REDIS_HOST``, ``REDIS_PORT``,
        ``REDIS_SOCKET_TIMEOUT``, ``REDIS_SSL_CA_CERTS``, ``REDIS_KEY_PREFIX``, ...);
        ``{prefix}PASSWORD_FILE``, a file (such as a mounted secret) holding the password,
        one trailing newline stripped; and ``{prefix}SOCKET_PATH``, another name for
        ``{prefix}UNIX_SOCKET_PATH``. An empty variable counts as unset.

        Precedence: keyword arguments > ``{prefix}URL`` > separate variables > defaults.
        The URL wins over a separate variable that says otherwise (a WARNING names the
        ignored variable once); separate variables fill in what the URL leaves out. A
        variable whose field a higher layer gives is neither read as its type nor
        checked (a password file is not even opened).

        Kubernetes sets ``REDIS_PORT=tcp://10.0.0.1:6379`` (and ``REDIS_SERVICE_HOST``,
        ``REDIS_PORT_6379_TCP...``) for a Service named ``redis``. Such a ``tcp://``
        value in ``{prefix}PORT`` is not taken for a port: it is ignored, with a WARNING
        once unless a higher layer gives the port anyway. Any other ``{prefix}*``
        variable that is not a setting (``REDIS_URI``, ``REDIS_DATABASE``, a typo) gets
        a WARNING once naming the closest setting; service-link variables do not.

        When ``ENVIRONMENT`` or ``APP_ENV`` is ``staging`` or ``production`` (any case), a
        missing address (no URL host, ``{prefix}HOST`` or unix socket) raises
        ConfigurationError instead of meaning localhost, and a connection without TLS to
        a host that is not loopback logs a WARNING once per host.

        Errors name the variable: ``REDIS_PORT: port must be an integer 1-65535, got 'abc'``.
        """
        hide_password(overrides)  # first: tracebacks that print locals must not show it
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
        _check_overrides("from_env", overrides)
        # A view whose repr hides values: tracebacks formatted with their locals
        # (capture_locals=True, Sentry, rich) must not print REDIS_PASSWORD.
        env: Mapping[str, str] = _EnvView(os.environ if environ is None else environ)
        environ = None

        def read(suffix: str) -> str | None:
            value = env.get(prefix + suffix)
            return value if value else None

        url_source = prefix + "URL"
        # Wrapped in the same expression that reads it: no local holds the plain URL.
        url_secret = secret_url(read("URL"))
        url_values: Dict[str, Any] = {}
        if url_secret is not None:
            url_values = _with_source(_parse_url, url_secret, url_source)

        # Fields a higher layer gives: their variables are neither validated nor used
        # (REDIS_PORT=tcp://... from Kubernetes must not break a config with REDIS_URL).
        given = set(overrides) | set(url_values)
        if given & {"host", "unix_socket_path"}:
            given |= {"host", "unix_socket_path"}  # one address: a layer gives both
        env_values: Dict[str, Any] = {}
        env_sources: Dict[str, str] = {}
        ignored: List[str] = []  # variables the URL says otherwise about
        for f in dataclasses.fields(cls):
            name = f.name
            if name == "password":  # read apart, so that no local here holds it in plain
                if name in given:
                    ignored += _ignored_password_vars(prefix, read, url_values)
                    continue
                env_values.update(_read_password(prefix, read))
                if "password" in env_values:
                    plain_var = prefix + "PASSWORD"
                    plain_given = read("PASSWORD") is not None
                    env_sources[name] = plain_var if plain_given else plain_var + "_FILE"
                continue
            var = prefix + name.upper()
            raw = read(name.upper())
            if name == "unix_socket_path":
                alias = read("SOCKET_PATH")
                if raw is None:
                    raw, var = alias, prefix + "SOCKET_PATH"
                elif alias is not None and alias != raw and name not in given:
                    raise ConfigurationError(
                        f"{var} and {prefix}SOCKET_PATH are both set, to different paths; set one",
                        name,
                    )
            if raw is None:
                continue
            if name == "port" and _SERVICE_LINK_RE.match(raw):
                if name not in given:
                    _warn_service_link(var, raw, prefix)
                continue
            if name in given:
                if _env_differs(name, raw, url_values):
                    ignored.append(var)
                continue
            env_values[name] = _with_source(_from_text, name, raw, var)
            env_sources[name] = var
        if ignored:
            _warn_once(
                ("env-vs-url", url_source, *sorted(ignored)),
                "%s ignored: %s says otherwise, and the URL wins over separate variables",
                ", ".join(sorted(ignored)),
                url_source,
            )
        if prefix:
            _warn_unknown_variables(prefix, env)

        strict = _strict_environment(env)
        if strict is not None and not any(
            layer.get(key) is not None
            for layer in (overrides, url_values, env_values)
            for key in ("host", "unix_socket_path")
        ):
            raise ConfigurationError(
                "no Redis server address is configured, and outside development localhost "
                f"is not assumed; set {prefix}URL, {prefix}HOST or {prefix}UNIX_SOCKET_PATH",
                "host",
                f"{strict[0]}={strict[1]}",
            )
        config = cls._merge(env_values, env_sources, url_values, url_source, overrides)
        if strict is not None and not config.ssl and not config.is_loopback:
            _warn_once(
                ("plain-text", config.effective_host),
                "Redis connection to %s:%d is plain text (no TLS) with %s=%s: data and "
                "password cross the network unencrypted; use a rediss:// URL or %sSSL=true",
                config.effective_host,
                config.port,
                strict[0],
                strict[1],
                prefix,
            )
        return config

    @classmethod
    def _merge(
        cls,
        env_values: Dict[str, Any],
        env_sources: Dict[str, str],
        url_values: Dict[str, Any],
        url_source: str,
        overrides: Mapping[str, Any],
    ) -> RedisConfig:
        """Layer environment < URL < keyword values, warn on conflicts, build, and name
        the source of a bad value in the error.
        """
        merged: Dict[str, Any] = {}
        sources: Dict[str, str] = {}
        layers: Tuple[Tuple[Mapping[str, Any], str | None], ...] = (
            (env_values, None),
            (url_values, url_source),
            (overrides, None),
        )
        for values, source in layers:
            for key, other in (("host", "unix_socket_path"), ("unix_socket_path", "host")):
                if key in values and other not in values:
                    merged.pop(other, None)
                    sources.pop(other, None)
            for key, value in values.items():
                merged[key] = value
                src = env_sources.get(key) if values is env_values else source
                if src is None:
                    sources.pop(key, None)
                else:
                    sources[key] = src

        replaced = sorted(key for key in overrides if _conflicts(key, overrides, url_values))
        if replaced:
            _warn_once(
                ("override-vs-url", url_source, *replaced),
                "keyword argument(s) %s replace the value(s) given in %s: explicit arguments "
                "win over the URL here (redis-py's from_url lets the URL win)",
                ", ".join(replaced),
                url_source,
            )
        try:
            return cls(**merged)
        except ConfigurationError as exc:
            source = sources.get(exc.field) if exc.field else None
            if source is None:
                raise
            raise exc.with_source(source) from None


def _conflicts(key: str, layer: Mapping[str, Any], url_values: Mapping[str, Any]) -> bool:
    """Tell whether ``layer``'s value for ``key`` replaces a different one in the URL."""
    if key in url_values:
        return not _same(key, layer[key], url_values[key])
    other = {"host": "unix_socket_path", "unix_socket_path": "host"}.get(key)
    return other is not None and other in url_values


def _with_source(function: Any, *args: Any) -> Any:
    """Call ``function(*args[:-1])``; name ``args[-1]`` in any ConfigurationError it raises."""
    *call_args, source = args
    try:
        return function(*call_args)
    except ConfigurationError as exc:
        raise exc.with_source(source) from None


def _read_password(prefix: str, read: Any) -> Dict[str, Secret]:
    """Read ``{prefix}PASSWORD`` or ``{prefix}PASSWORD_FILE`` (never both)."""
    plain_var, file_var = prefix + "PASSWORD", prefix + "PASSWORD_FILE"
    path = read("PASSWORD_FILE")
    if path is None:
        password = _from_text("password", Secret(read("PASSWORD") or ""))
        return {} if password is None else {"password": password}
    if read("PASSWORD") is not None:
        raise ConfigurationError(
            f"{plain_var} and {file_var} are both set; set one", "password", file_var
        )
    reason = ""
    try:
        with open(path, encoding="utf-8") as file:
            secret = Secret(file.read())
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    except UnicodeDecodeError:  # its message would quote the file's bytes
        reason = "not UTF-8 text"
    if reason:
        raise ConfigurationError(
            f"cannot read the password file {_show(path)}: {reason}", "password", file_var
        )
    value = secret.get_secret_value()
    if value.endswith("\n"):
        value = value[:-2] if value.endswith("\r\n") else value[:-1]
    if not value:
        raise ConfigurationError(f"the password file {_show(path)} is empty", "password", file_var)
    return {"password": Secret(value)}


# Kubernetes (and Docker links, which GitLab CI services use) set, for a Service or
# link named "redis": REDIS_PORT=tcp://10.0.0.1:6379, REDIS_PORT_6379_TCP=tcp://...,
# REDIS_PORT_6379_TCP_ADDR/_PORT/_PROTO, REDIS_SERVICE_HOST, REDIS_SERVICE_PORT(_NAME);
# for "redis-master", the same after REDIS_MASTER_. Docker links add NAME=/... and
# ENV_*; the official redis image sets VERSION, DOWNLOAD_URL and DOWNLOAD_SHA.
_SERVICE_LINK_RE = re.compile(r"\s*(tcp|udp|sctp)://", re.IGNORECASE)
_SERVICE_NOISE_RE = re.compile(
    r"(([A-Z0-9_]+_)?(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?"
    r"|PORT_[0-9]+_(TCP|UDP|SCTP)(_ADDR|_PORT|_PROTO)?|ENV_[A-Za-z0-9_]+)"
    r"|VERSION|DOWNLOAD_URL|DOWNLOAD_SHA)\Z"
)
# Names people write for a setting, and the variable they meant (difflib misses these).
_ENV_ALIASES = {
    "URI": "URL",
    "DSN": "URL",
    "ADDR": "HOST",
    "ADDRESS": "HOST",
    "HOSTNAME": "HOST",
    "SERVER": "HOST",
    "DATABASE": "DB",
    "DB_NUMBER": "DB",
    "INDEX": "DB",
    "USER": "USERNAME",
    "PASS": "PASSWORD",
    "PASSWD": "PASSWORD",
    "PWD": "PASSWORD",
    "AUTH": "PASSWORD",
    "TIMEOUT": "SOCKET_TIMEOUT",
    "CONNECT_TIMEOUT": "SOCKET_CONNECT_TIMEOUT",
    "CONNECTION_TIMEOUT": "SOCKET_CONNECT_TIMEOUT",
    "POOL_SIZE": "MAX_CONNECTIONS",
    "TLS": "SSL",
    "USE_SSL": "SSL",
    "USE_TLS": "SSL",
    "PREFIX": "KEY_PREFIX",
    "NAME": "CLIENT_NAME",
    "SOCKET": "SOCKET_PATH",
    "UNIX_SOCKET": "UNIX_SOCKET_PATH",
}


def _warn_service_link(var: str, raw: str, prefix: str) -> None:
    """Say once that a ``tcp://host:port`` port variable is ignored, and what to set."""
    value = raw.strip()
    _warn_once(
        ("service-link", var, value),
        "%s=%s is not a port number but a Kubernetes service link (set for a Service "
        "named %r); ignored, so the port is 6379 unless another setting gives it. Give "
        "the address with %sURL (e.g. redis://%s/0) or %sHOST and %sPORT",
        var,
        _show(value),
        var[: -len("_PORT")].lower().replace("_", "-"),
        prefix,
        _SERVICE_LINK_RE.sub("", value, count=1),
        prefix,
        prefix,
    )


def _env_differs(name: str, raw: str, url_values: Mapping[str, Any]) -> bool:
    """Tell whether variable text for ``name`` says otherwise than the URL does.

    Unreadable text counts as different (it is ignored either way, never an error);
    a field given only by a keyword argument does not (that layer is explicit).
    """
    if name in url_values:
        try:
            return not _same(name, _from_text(name, raw), url_values[name])
        except ConfigurationError:
            return True
    pair = {"host": "unix_socket_path", "unix_socket_path": "host"}.get(name)
    return pair is not None and pair in url_values


def _ignored_password_vars(prefix: str, read: Any, url_values: Mapping[str, Any]) -> List[str]:
    """The password variables a URL's password overrides, when they say otherwise.

    The password file is not read: a value that is not used is not checked either.
    """
    if "password" not in url_values:
        return []
    out = []
    if read("PASSWORD") is not None and Secret(read("PASSWORD")) != url_values["password"]:
        out.append(prefix + "PASSWORD")
    if read("PASSWORD_FILE") is not None:
        out.append(prefix + "PASSWORD_FILE")
    return out


def _warn_unknown_variables(prefix: str, env: Mapping[str, str]) -> None:
    """Warn once about each ``{prefix}*`` variable that is no setting, naming the closest.

    ``REDIS_URI`` or ``REDIS_TIMEOUT`` would otherwise be dropped silently and the app
    would talk to localhost. Service-link variables (Kubernetes, Docker links) are
    expected noise and skipped, as are longer prefixes (``REDIS__HOST`` belongs to
    ``from_env(prefix="REDIS__")``). Values are never shown: they may be secrets.
    """
    known = {f.name.upper() for f in dataclasses.fields(RedisConfig)}
    known |= {"URL", "PASSWORD_FILE", "SOCKET_PATH"}
    for var in env:
        if not var.startswith(prefix) or not env[var]:
            continue
        suffix = var[len(prefix) :]
        if suffix in known or not suffix or suffix.startswith("_"):
            continue
        if _SERVICE_NOISE_RE.match(suffix):
            continue
        if (suffix.endswith("_PORT") or suffix == "NAME") and (
            _SERVICE_LINK_RE.match(env[var]) or env[var].startswith("/")
        ):
            continue  # REDIS_MASTER_PORT=tcp://..., a Docker link's NAME=/job/redis
        guess = _ENV_ALIASES.get(suffix.upper())
        if guess is None:
            close = difflib.get_close_matches(suffix.upper(), sorted(known), n=1)
            guess = close[0] if close else None
        hint = f"did you mean {prefix}{guess}?" if guess else "see RedisConfig.from_env"
        _warn_once(
            ("unknown-env", var),
            "%s is set but is not a pyredisclient setting, so it is ignored (%s)",
            var,
            hint,
        )


def _to_text(value: Any) -> str:
    """Write a field value as from_url reads it back."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)
