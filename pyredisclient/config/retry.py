"""The retry policy as a value: what ``get_retry()`` returns, and what ``retry=`` and
``set_retry()`` take (ours, or a redis-py ``Retry``, read for its settings).

A client retries a failed call only where that is safe (README: Failures): a
connection error before the command was sent, or after a read-only one; a timeout
only with ``retry_on_timeout``. The policy says how often and how far apart: the
options ``retry_attempts``, ``retry_base`` and ``retry_cap``.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import random
import time
from typing import Any, Awaitable, Callable, Dict, TypeVar

from .errors import ConfigurationError

__all__ = ["Retry", "backoff_pause", "retry_options"]

T = TypeVar("T")


def backoff_pause(base: float, cap: float, failures: int) -> float:
    """The pause, in seconds, after the ``failures``-th failure (1, 2, ...) of a call:
    exponential with jitter, drawn from [1/2, 1] x min(cap, base * 2**(failures - 1)).
    The one formula every retry here follows (a cluster's too, with its own cap)."""
    ceiling = min(cap, base * 2.0 ** min(max(failures, 1) - 1, 60))
    return ceiling * random.uniform(0.5, 1.0)


class Retry:
    """A client's retry policy, with redis-py's ``Retry`` reading API
    (``get_retries()``): a failed call is retried at most ``retries`` times where
    that is safe, retry n after a pause of up to min(``cap``, ``base * 2**(n-1)``)
    seconds (at least half of that while a restart is ridden).

    ``client.get_retry()`` gives the policy a client follows; ``client.set_retry()``
    (or ``retry=`` to a constructor) takes this or a redis-py ``Retry``. A value:
    equal policies compare equal, and changing one means setting another.
    """

    __slots__ = ("_base", "_cap", "_retries")

    def __init__(self, retries: int = 3, base: float = 0.05, cap: float = 1.0) -> None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigurationError(f"retries must be an integer >= 0, got {retries!r}", "retry")
        for name, value in (("base", base), ("cap", cap)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigurationError(f"{name} must be seconds, got {value!r}", "retry")
        if not (0 < base <= cap <= 1e9) or math.isnan(base) or math.isnan(cap):
            raise ConfigurationError(
                f"a Retry needs 0 < base <= cap <= 1e9 seconds, got base={base!r}, cap={cap!r}",
                "retry",
            )
        self._retries = retries
        self._base = float(base)
        self._cap = float(cap)

    @property
    def retries(self) -> int:
        """How many times a failed call may be retried (``retry_attempts``)."""
        return self._retries

    @property
    def base(self) -> float:
        """The back-off's first ceiling, in seconds (``retry_base``)."""
        return self._base

    @property
    def cap(self) -> float:
        """The back-off's largest ceiling, in seconds (``retry_cap``)."""
        return self._cap

    def get_retries(self) -> int:
        """redis-py's: :attr:`retries`."""
        return self._retries

    def backoff(self, failures: int) -> float:
        """The pause, in seconds, after the ``failures``-th failure (1, 2, ...):
        see :func:`backoff_pause`."""
        return backoff_pause(self._base, self._cap, failures)

    def call_with_retry(
        self,
        do: Callable[[], T],
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None = None,
        with_failure_count: bool = False,
    ) -> T:
        """redis-py's: ``do()``, called again after a ConnectionError or TimeoutError
        (that ``is_retryable``, if given, accepts) at most :attr:`retries` times,
        :meth:`backoff` apart; ``fail(error)`` (``fail(error, failures)`` with
        ``with_failure_count``) runs after each failure, and the last error is
        raised. Nothing here knows whether ``do`` is safe to repeat: that is the
        caller's to say. When ``do()`` returns an awaitable (an asyncio client's
        command) this returns a coroutine doing the same with awaits, as
        redis.asyncio's ``Retry`` does (``fail`` may then be ``async``)."""
        failures = 0
        while True:
            try:
                result = do()
            except (ConnectionError, TimeoutError) as exc:
                failures += 1
                called = self._failure(exc, failures, fail, is_retryable, with_failure_count)
                if inspect.isawaitable(called):
                    if inspect.iscoroutine(called):
                        called.close()
                    raise TypeError(
                        "call_with_retry: fail() is async but do() is not; give a plain "
                        "fail(), or a do() that returns an awaitable"
                    ) from exc
                if failures > self._retries:
                    raise
                time.sleep(self.backoff(failures))
                continue
            if inspect.isawaitable(result):
                return self._call_async(  # type: ignore[return-value]
                    do, result, failures, fail, is_retryable, with_failure_count
                )
            return result

    async def _call_async(
        self,
        do: Callable[[], Any],
        first: Awaitable[Any],
        failures: int,
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None,
        with_failure_count: bool,
    ) -> Any:
        pending: Awaitable[Any] | None = first
        while True:
            try:
                return await (pending if pending is not None else do())
            except (ConnectionError, TimeoutError) as exc:
                pending = None
                failures += 1
                called = self._failure(exc, failures, fail, is_retryable, with_failure_count)
                if inspect.isawaitable(called):
                    await called
                if failures > self._retries:
                    raise
                await asyncio.sleep(self.backoff(failures))

    @staticmethod
    def _failure(
        error: Exception,
        failures: int,
        fail: Callable[..., Any],
        is_retryable: Callable[[Exception], bool] | None,
        with_failure_count: bool,
    ) -> Any:
        """After the ``failures``-th failure: raise ``error`` unless ``is_retryable``
        takes it, else call ``fail`` and return what it returned."""
        if is_retryable is not None and not is_retryable(error):
            raise error
        return fail(error, failures) if with_failure_count else fail(error)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Retry):
            return NotImplemented
        return (self._retries, self._base, self._cap) == (other._retries, other._base, other._cap)

    def __hash__(self) -> int:
        return hash((self._retries, self._base, self._cap))

    def __repr__(self) -> str:
        return f"Retry(retries={self._retries}, base={self._base!r}, cap={self._cap!r})"


def retry_options(value: Any) -> Dict[str, Any]:
    """The options a retry policy sets: ``retry_attempts``, and ``retry_base`` and
    ``retry_cap`` when it says them. ``value`` is a :class:`Retry`, or a redis-py
    ``Retry`` (its count, and the base and cap of an exponential back-off; other
    back-offs keep the client's); anything else raises ConfigurationError."""
    if isinstance(value, Retry):
        return {"retry_attempts": value.retries, "retry_base": value.base, "retry_cap": value.cap}
    get_retries = getattr(value, "get_retries", None)
    if not callable(get_retries):
        text = repr(value)
        raise ConfigurationError(
            f"retry={text if len(text) <= 60 else text[:57] + '...'} is not supported: pass "
            "a pyredisclient.Retry or a redis.retry.Retry, or retry_attempts=, retry_base= "
            "and retry_cap= (seconds)",
            "retry",
        )
    retries = get_retries()
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigurationError(
            f"retry with {retries!r} retries is not supported: calls never retry without "
            "limit here; give a Retry with a count, or retry_attempts=",
            "retry",
        )
    options: Dict[str, Any] = {"retry_attempts": retries}
    backoff = getattr(value, "_backoff", None)
    base, cap = getattr(backoff, "_base", None), getattr(backoff, "_cap", None)
    if isinstance(base, (int, float)) and isinstance(cap, (int, float)) and 0 < base <= cap:
        options["retry_base"] = float(base)
        options["retry_cap"] = float(cap)
    return options
