"""Reading a redis://, rediss:// or unix:// URL into option values, and writing them.

:func:`_split_url` is the one function that sees a URL with its password in plain
text; it returns its errors instead of raising them, so that no traceback frame
holds the plain URL.
"""

from __future__ import annotations

import difflib
from typing import Any, Dict, List, NamedTuple, Tuple, Union
from urllib.parse import parse_qsl, unquote, urlsplit

from .errors import ConfigurationError
from .options import _INT_RE, _NAME_RE, _RULES, _from_text, _same, _show
from .secret import Secret, secret_url

# Fields a URL gives in its scheme, authority or path rather than in its query string.
_URL_AUTHORITY_FIELDS = frozenset({"host", "port", "unix_socket_path"})


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


def _unknown_option(key: str) -> str:
    allowed = sorted(set(_RULES) - _URL_AUTHORITY_FIELDS - {"credential_provider"})
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


def _to_text(value: Any) -> str:
    """Write a field value as from_url reads it back."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value)


def parse_addresses(items: Any, option: str) -> List[Tuple[str, int]]:
    """``["h1:7000", ("h2", 7000), "[::1]:7000"]`` as a list of (host, port): the
    seeds of a cluster client, the sentinels of ``from_sentinel``. A malformed entry
    raises ConfigurationError naming ``option``."""
    out = []
    for item in items:
        if isinstance(item, str):
            host, _, port = item.rpartition(":")
            if not host or not port.isdigit():
                raise ConfigurationError(f"{item!r} is not host:port", option)
            out.append((host.strip("[]"), int(port)))
        else:
            host, port = item
            out.append((str(host), int(port)))
    return out
