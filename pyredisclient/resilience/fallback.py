"""with_redis_fallback: return a default instead of failing when Redis is unavailable.

::

    @with_redis_fallback(None)
    def cached_profile(user_id: int) -> dict | None:
        return json.loads(client.get(f"profile:{user_id}") or "null")

    @with_redis_fallback(factory=list)
    async def recent(user_id: int) -> list[str]: ...

A matching error is logged and counted, and the fallback returned; anything else
(including ConfigurationError, always) propagates. Logging is rate-limited per
(function, error class): the first fallback is logged at WARNING, later ones are
summarised at most once per :data:`LOG_SUMMARY_INTERVAL` seconds with their count.
DataError and ResponseError (other than READONLY/OOM, which a failover or a full
server cause) mean the calling code is wrong; they are logged at ERROR with the
traceback, still rate-limited. Every fallback is counted per function in a
process-wide registry read with :func:`fallback_counts`.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import sys
import threading
import time
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Coroutine,
    Dict,
    Protocol,
    Tuple,
    Type,
    TypeVar,
    Union,
    overload,
)

from ..config import ConfigurationError
from ..exceptions import DataError, OutOfMemoryError, ReadOnlyError, RedisError, ResponseError
from .health import redact

if sys.version_info >= (3, 10):
    from typing import ParamSpec
elif TYPE_CHECKING:  # pragma: no cover - type checkers for 3.9 ship typing_extensions stubs
    from typing_extensions import ParamSpec
else:  # pragma: no cover - Python 3.9 at runtime, where typing_extensions may be absent

    def ParamSpec(name: str) -> Any:
        # Annotations are strings here (PEP 563) and never evaluated, so a
        # TypeVar stands in for the one ParamSpec the module creates.
        return TypeVar(name)


__all__ = ["fallback_counts", "reset_fallback_counts", "with_redis_fallback"]

logger = logging.getLogger("pyredisclient")

#: Seconds between two summary lines for the same (function, error class).
LOG_SUMMARY_INTERVAL = 60.0

_P = ParamSpec("_P")
_R = TypeVar("_R")
_F = TypeVar("_F")
_F_co = TypeVar("_F_co", covariant=True)

# The clock the rate limiter reads; tests replace it.
_clock: Callable[[], float] = time.monotonic


class _LogState:
    """Rate-limiting state of one (function, error class)."""

    __slots__ = ("last_logged", "suppressed")

    def __init__(self, now: float) -> None:
        self.last_logged = now
        self.suppressed = 0


_lock = threading.Lock()
_counts: Dict[str, int] = {}
_log_states: Dict[Tuple[str, type], _LogState] = {}


def fallback_counts() -> Dict[str, int]:
    """How many times each decorated function returned its fallback, by qualified name."""
    with _lock:
        return dict(_counts)


def reset_fallback_counts() -> None:
    """Forget every count and the rate limiter's memory (tests, metrics resets)."""
    with _lock:
        _counts.clear()
        _log_states.clear()


def _reinit_after_fork() -> None:
    # The lock may have been held by a thread that does not exist in the child.
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)


def _is_bug(exc: BaseException) -> bool:
    """Errors that a fallback should not hide quietly: the calling code is wrong."""
    if isinstance(exc, DataError):
        return True
    return isinstance(exc, ResponseError) and not isinstance(exc, (ReadOnlyError, OutOfMemoryError))


def _record(name: str, exc: BaseException) -> None:
    """Count one fallback of *name* and log it if the rate limiter allows."""
    cls = type(exc)
    now = _clock()
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1
        state = _log_states.get((name, cls))
        if state is None:
            _log_states[(name, cls)] = _LogState(now)
            summary = -1
        elif now - state.last_logged >= LOG_SUMMARY_INTERVAL:
            summary = state.suppressed + 1
            state.suppressed = 0
            state.last_logged = now
        else:
            state.suppressed += 1
            return
    # Logging happens outside the lock: handlers may be slow.
    bug = _is_bug(exc)
    level = logging.ERROR if bug else logging.WARNING
    message = redact(str(exc))
    if summary < 0:
        logger.log(
            level,
            "%s: Redis call failed (%s: %s); returning the fallback value "
            "(repeats are summarised every %g s)%s",
            name,
            cls.__name__,
            message,
            LOG_SUMMARY_INTERVAL,
            "; this error means a bug in the calling code" if bug else "",
            exc_info=exc if bug else None,
        )
    else:
        logger.log(
            level,
            "%s: returned the fallback value %d more times on %s in the last %g s (last: %s)",
            name,
            summary,
            cls.__name__,
            LOG_SUMMARY_INTERVAL,
            message,
            exc_info=exc if bug else None,
        )


class _Decorator(Protocol[_F_co]):
    """What with_redis_fallback returns: keeps parameters, widens the return type."""

    @overload
    def __call__(
        self, func: Callable[_P, Coroutine[Any, Any, _R]]
    ) -> Callable[_P, Coroutine[Any, Any, Union[_R, _F_co]]]: ...

    @overload
    def __call__(self, func: Callable[_P, _R]) -> Callable[_P, Union[_R, _F_co]]: ...


@overload
def with_redis_fallback(
    *,
    exceptions: Union[Type[BaseException], Tuple[Type[BaseException], ...]] = ...,
    factory: None = ...,
) -> _Decorator[None]: ...


@overload
def with_redis_fallback(
    fallback_value: _F,
    *,
    exceptions: Union[Type[BaseException], Tuple[Type[BaseException], ...]] = ...,
    factory: None = ...,
) -> _Decorator[_F]: ...


@overload
def with_redis_fallback(
    fallback_value: None = ...,
    *,
    exceptions: Union[Type[BaseException], Tuple[Type[BaseException], ...]] = ...,
    factory: Callable[[], _F],
) -> _Decorator[_F]: ...


def with_redis_fallback(
    fallback_value: Any = None,
    *,
    exceptions: Union[Type[BaseException], Tuple[Type[BaseException], ...]] = (RedisError,),
    factory: Callable[[], Any] | None = None,
) -> Any:
    """Decorate a function, method or ``async def`` to return a fallback on Redis errors.

    Args:
        fallback_value: returned (the same object every time) when a matching
            error is raised.
        exceptions: the exception classes that trigger the fallback (default
            ``RedisError``: connection errors, timeouts, an open circuit breaker,
            error replies...). ConfigurationError always propagates: a wrong
            setting should fail loudly, not look like an outage.
        factory: called for a fresh fallback each time (``factory=list``), for
            mutable values; give either this or *fallback_value*.

    The decorated function keeps its name, docstring, signature and parameter
    types. Generator functions are refused: their errors happen while iterating,
    after the wrapper has returned.
    """
    if inspect.isfunction(fallback_value) or inspect.ismethod(fallback_value):
        raise TypeError(
            "with_redis_fallback needs parentheses: @with_redis_fallback() or "
            "@with_redis_fallback(value); for a computed fallback use factory="
        )
    if factory is not None and fallback_value is not None:
        raise TypeError("with_redis_fallback: give fallback_value or factory, not both")
    if factory is not None and not callable(factory):
        raise TypeError("with_redis_fallback: factory must be callable")
    if isinstance(exceptions, type):
        exceptions = (exceptions,)
    exceptions = tuple(exceptions)
    if not exceptions or not all(
        isinstance(e, type) and issubclass(e, BaseException) for e in exceptions
    ):
        raise TypeError("with_redis_fallback: exceptions must be exception classes")
    catch: Tuple[Type[BaseException], ...] = exceptions

    def fallback() -> Any:
        return factory() if factory is not None else fallback_value

    def decorate(func: Any) -> Any:
        if isinstance(func, (staticmethod, classmethod)):
            return type(func)(decorate(func.__func__))
        if not callable(func):
            raise TypeError(f"with_redis_fallback cannot decorate {type(func).__name__}")
        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            raise TypeError(
                "with_redis_fallback cannot decorate a generator function: its errors "
                "are raised while iterating, after the call has returned"
            )
        name = f"{getattr(func, '__module__', None) or '?'}.{getattr(func, '__qualname__', repr(func))}"

        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await func(*args, **kwargs)
                except catch as exc:
                    if isinstance(exc, ConfigurationError):
                        raise
                    _record(name, exc)
                    return fallback()

            return async_wrapper

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except catch as exc:
                if isinstance(exc, ConfigurationError):
                    raise
                _record(name, exc)
                return fallback()

        return wrapper

    return decorate
