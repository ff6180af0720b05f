"""Keeping secrets out of sight: Secret, and redacting URLs and option dicts.

A :class:`Secret` shows ``***`` in ``repr``, ``str``, ``format``, logs and tracebacks;
:func:`secret_url` and :func:`hide_password` wrap a URL or a password before anything
else can fail and print it; :func:`redact_url` hides the password in any text.
"""

from __future__ import annotations

import hmac
import re
from typing import Any, Dict, Tuple


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
