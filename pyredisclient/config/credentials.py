"""Credentials that change: providers asked at every new connection.

A *credential provider* is what ``credential_provider=`` takes: redis-py's shape, an
object with ``get_credentials()`` (and optionally ``async get_credentials_async()``)
returning ``(password,)`` or ``(username, password)``; or a plain callable (sync, or
async for :class:`~pyredisclient.AsyncRedisClient`) returning ``(username, password)``
(username None for the default user). It is asked each time a connection is opened,
right before AUTH, so a rotated password or a fresh token is picked up by the next
connection without a restart. Pooled connections stay logged in: Redis does not log
out connections when a password changes.

:class:`PasswordFileCredentialProvider` is the one ``REDIS_PASSWORD_FILE`` (and
``password_file=``) uses: it re-reads the file when it changed (a mounted Kubernetes or
Docker secret that rotates).

Secrets: what a provider returns goes to the C core's AUTH and nowhere else; errors
name the provider's exception class and message, never a returned value.
"""

from __future__ import annotations

import inspect
import logging
import os
import threading
from typing import Any, Awaitable, Callable, Protocol, Tuple, Union, runtime_checkable

from .secret import Secret

__all__ = [
    "CredentialProvider",
    "Credentials",
    "PasswordFileCredentialProvider",
    "UsernamePasswordCredentialProvider",
    "is_async_only",
    "resolve_async",
    "sync_source",
]

logger = logging.getLogger("pyredisclient")

#: What the C core takes from a provider: (username or None, password or None).
Credentials = Tuple[Union[str, None], Union[str, None]]


@runtime_checkable
class CredentialProvider(Protocol):
    """redis-py's credential provider shape: ``get_credentials()`` returns
    ``(password,)`` or ``(username, password)``. Any object with that method works
    (redis-py's own providers included); it may add ``async get_credentials_async()``,
    which :class:`~pyredisclient.AsyncRedisClient` then awaits instead."""

    def get_credentials(self) -> Tuple[str] | Tuple[str, str]: ...


class UsernamePasswordCredentialProvider:
    """Fixed credentials as a provider (redis-py's class of the same name)."""

    def __init__(self, username: str | None = None, password: str | Secret | None = None) -> None:
        self.username = username or ""
        self._password = Secret(password or "")

    def get_credentials(self) -> Tuple[str] | Tuple[str, str]:
        if self.username:
            return (self.username, self._password.get_secret_value())
        return (self._password.get_secret_value(),)

    async def get_credentials_async(self) -> Tuple[str] | Tuple[str, str]:
        return self.get_credentials()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(username={self.username!r}, password='***')"


class PasswordFileCredentialProvider:
    """The password in a file, read again whenever the file changes.

    At each new connection the file is checked with one ``stat`` (modification
    time, size, inode: a Kubernetes secret volume swaps a symlink, which changes
    the inode); only a changed file is read again. One trailing newline is
    stripped. While the file cannot be read, or is empty, the last password read
    is kept and a WARNING says why (once per change); with none yet, the new
    connection fails with that reason. A change is logged at INFO, without the
    password. Thread-safe.
    """

    def __init__(self, path: str, username: str | None = None) -> None:
        self.path = os.fspath(path)
        self.username = username
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._key: Tuple[int, ...] | None = None
        self._password: Secret | None = None
        self._warned: Tuple[Any, ...] | None = None

    def get_credentials(self) -> Tuple[str] | Tuple[str, str]:
        password = self._current().get_secret_value()
        return (self.username, password) if self.username else (password,)

    def _current(self) -> Secret:
        if self._pid != os.getpid():
            # A forked child: the parent's lock may have been held by a thread that
            # does not exist here. A new one, never the inherited one.
            self._lock, self._pid = threading.Lock(), os.getpid()
        with self._lock:
            reason = ""
            try:
                st = os.stat(self.path)
                key = (st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev)
                if key != self._key:
                    secret = _read_secret(self.path)
                    if secret is None:
                        reason = "the file is empty"
                    else:
                        changed = self._password is not None and secret != self._password
                        self._key, self._password, self._warned = key, secret, None
                        if changed:
                            logger.info(
                                "password file %s changed: new connections use the new password",
                                self.path,
                            )
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
            except UnicodeDecodeError:  # its message would quote the file's bytes
                reason = "not UTF-8 text"
            if reason:
                if self._password is None:
                    raise OSError(f"cannot read the password file {self.path!r}: {reason}")
                if self._warned != (reason,):
                    self._warned = (reason,)
                    logger.warning(
                        "cannot read the password file %s (%s): new connections keep "
                        "the password read before",
                        self.path,
                        reason,
                    )
            assert self._password is not None
            return self._password

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r}, username={self.username!r})"

    def __reduce__(self) -> Tuple[Any, ...]:
        # Copied or pickled (with its config): a fresh provider, which reads the file.
        return (type(self), (self.path, self.username))


def _read_secret(path: str) -> Secret | None:
    """The password in a file, one trailing newline stripped; None when empty."""
    with open(path, encoding="utf-8") as file:
        secret = Secret(file.read())
    value = secret.get_secret_value()
    if value.endswith("\n"):
        value = value[:-2] if value.endswith("\r\n") else value[:-1]
    return Secret(value) if value else None


def _normalize(value: Any) -> Credentials:
    """A provider's answer as (username or None, password or None)."""
    if isinstance(value, (str, Secret)):
        value = (value,)
    if not isinstance(value, (tuple, list)) or len(value) not in (1, 2):
        raise TypeError(
            "a credential provider returns (username, password) or (password,), "
            f"not {type(value).__name__}"
        )
    items = [v.get_secret_value() if isinstance(v, Secret) else v for v in value]
    if not all(v is None or isinstance(v, str) for v in items):
        raise TypeError("a credential provider returns str (or None) username and password")
    if len(items) == 1:
        return (None, items[0] or None)
    return (items[0] or None, items[1] or None)


def _sync_method(provider: Any) -> Callable[[], Any] | None:
    """What answers at once: ``get_credentials``, or the callable itself unless it is
    a coroutine function."""
    get = getattr(provider, "get_credentials", None)
    if callable(get):
        return get  # type: ignore[no-any-return]
    if callable(provider) and not _is_coroutine_function(provider):
        return provider  # type: ignore[no-any-return]
    return None


def _async_method(provider: Any) -> Callable[[], Awaitable[Any]] | None:
    """``get_credentials_async``, unless it is redis-py's base class default (which
    only calls ``get_credentials`` after a warning), or an async callable."""
    get = getattr(provider, "get_credentials_async", None)
    if callable(get):
        owner = getattr(type(provider), "get_credentials_async", None)
        if getattr(owner, "__qualname__", "") != "CredentialProvider.get_credentials_async":
            return get  # type: ignore[no-any-return]
    if _is_coroutine_function(provider):
        return provider  # type: ignore[no-any-return]
    return None


def _is_coroutine_function(obj: Any) -> bool:
    return inspect.iscoroutinefunction(obj) or inspect.iscoroutinefunction(
        getattr(obj, "__call__", None)  # noqa: B004 - an object with async __call__
    )


def is_provider(obj: Any) -> bool:
    """Can ``obj`` serve as a credential provider (of either kind)?"""
    return _sync_method(obj) is not None or _async_method(obj) is not None


def is_async_only(provider: Any) -> bool:
    """True when the provider can only be awaited (no answer at once)."""
    return _sync_method(provider) is None


def sync_source(provider: Any) -> Callable[[], Credentials]:
    """The callable the C core calls (taking the GIL) at each new connection."""
    get = _sync_method(provider)

    def source() -> Credentials:
        if get is None:
            raise TypeError(
                "the credential provider can only be awaited: use AsyncRedisClient, "
                "or give it a get_credentials() method"
            )
        value = get()
        if inspect.isawaitable(value):
            if inspect.iscoroutine(value):
                value.close()  # never awaited: no "never awaited" warning
            raise TypeError("the credential provider returned an awaitable: use AsyncRedisClient")
        return _normalize(value)

    return source


async def resolve_async(provider: Any) -> Credentials:
    """Ask a provider on the event loop: awaits ``get_credentials_async`` (or an
    async callable), else calls ``get_credentials`` (awaiting what it returns if
    that is awaitable)."""
    get_async = _async_method(provider)
    if get_async is not None:
        return _normalize(await get_async())
    get = _sync_method(provider)
    assert get is not None
    value = get()
    if inspect.isawaitable(value):
        value = await value
    return _normalize(value)


def describe_failure(exc: BaseException) -> str:
    """The message of a connection whose provider raised (the C core's wording)."""
    text = str(exc)
    return f"the credentials provider raised {type(exc).__name__}{': ' if text else ''}{text}"[:200]
