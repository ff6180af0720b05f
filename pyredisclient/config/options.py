"""The options: each field's rule (type, range, what the message says is allowed), the
check of one value, and the reading of one value from text (a URL or a variable).

:class:`~pyredisclient.config.RedisConfig` checks every field with :func:`_check` and
then the relations between fields; the URL and environment readers convert text with
:func:`_from_text`. Adding an option: a dataclass field in ``model.py`` and its rule in
``_RULES`` here (the test suite checks that the two name the same fields).
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from typing import Any, Dict, Mapping, NamedTuple, Tuple

from .credentials import is_provider
from .errors import ConfigurationError
from .secret import Secret

#: Longest timeout or interval accepted, in seconds (about 31 years). The core keeps
#: deadlines as signed 64-bit nanoseconds; this bound keeps every sum far from overflow.
MAX_SECONDS = 1e9

#: Names that turn on the strict checks of :meth:`RedisConfig.from_env`.
STRICT_ENVIRONMENTS = frozenset({"staging", "production"})

_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
_FALSE_WORDS = frozenset({"0", "false", "no", "off"})
_NONE_WORDS = frozenset({"", "none", "null"})

#: What a client confined to ``key_prefix`` may do beyond its own keys, each only when
#: granted (``key_prefix_allow``; pyredisclient.commands.keyprefix says what each unlocks).
KEY_PREFIX_CATEGORIES = ("admin", "databases", "scripts", "server_info", "unconfined")
_CATEGORIES_TEXT = (
    f"a comma-separated list or a collection of {', '.join(KEY_PREFIX_CATEGORIES)} or all"
)
_INT_RE = re.compile(r"[+-]?[0-9]+\Z")
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")


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
    "socket_keepalive_idle": _Rule("int", "an integer 1-32767 (seconds)", lo=1, hi=32767),
    "socket_keepalive_interval": _Rule("int", "an integer 1-32767 (seconds)", lo=1, hi=32767),
    "socket_keepalive_count": _Rule("int", "an integer 1-127", lo=1, hi=127),
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
    "async_multiplex": _Rule("bool", "true or false"),
    "async_multiplex_connections": _Rule("int", "an integer 1-1024", lo=1, hi=1024),
    "otel_attributes": _Rule(
        "attributes",
        "a mapping of attribute names to str, bool, int or float values, or text "
        "'name=value,name=value'",
    ),
    "password_file": _Rule("str", "the path of a file holding the password, or None", True),
    "credential_provider": _Rule(
        "provider",
        "an object with get_credentials() or get_credentials_async(), or a callable "
        "returning (username, password), or None",
        True,
    ),
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


def _utf8(name: str, text: str) -> None:
    # The binding hands strings to the core as UTF-8; the codec's own error would carry
    # the whole text (a password too) in its ``object``.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ConfigurationError(
            f"{name} cannot be encoded as UTF-8 ({exc.reason})", name
        ) from None


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
        _utf8(name, value.get_secret_value())
        return value
    if kind == "categories":
        return _categories(name, value)
    if kind == "attributes":
        return _attributes(name, value)
    if kind == "provider":
        if not is_provider(value):
            raise _bad(name, value)
        return value
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
    _utf8(name, value)
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


def _attributes(name: str, value: Any) -> Tuple[Tuple[str, Any], ...]:
    """OpenTelemetry span attributes in their normal form: sorted (name, value) pairs.
    Text is ``name=value`` pairs separated by commas (values stay strings)."""
    given = value
    if isinstance(value, str):
        pairs: Any = []
        for item in value.split(","):
            if item.strip():
                key, eq, text = item.partition("=")
                if not eq:
                    raise _bad(name, value)
                pairs.append((key.strip(), text.strip()))
        value = pairs
    elif isinstance(value, Mapping):
        value = list(value.items())
    try:
        items = [tuple(pair) for pair in value]
    except TypeError:
        raise _bad(name, given)
    for pair in items:
        if (
            len(pair) != 2
            or not isinstance(pair[0], str)
            or not pair[0]
            or not isinstance(pair[1], (str, bool, int, float))
        ):
            raise _bad(name, given)
    return tuple(sorted(dict(items).items()))


def _from_text(name: str, text: str | Secret) -> Any:
    """Convert a value read from a URL or an environment variable to the field's type."""
    rule = _RULES[name]
    if rule.kind == "secret":
        secret = Secret(text)
        return secret if secret else None
    if rule.kind == "provider":
        raise ConfigurationError(
            f"{name} is an object: pass it as a keyword argument, not as text", name
        )
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


def _check_overrides(caller: str, overrides: Mapping[str, Any]) -> None:
    for key in overrides:
        if key not in _RULES:
            close = difflib.get_close_matches(key, list(_RULES), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TypeError(f"{caller}() got an unexpected keyword argument {key!r}{hint}")
