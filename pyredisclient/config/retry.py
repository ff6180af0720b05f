"""The retry policy as a value: what ``get_retry()`` returns, and what ``retry=`` and
``set_retry()`` take (ours, or a redis-py ``Retry``, read for its settings).

A client retries a failed call only where that is safe (README: Failures): a
connection error before the command was sent, or after a read-only one; a timeout
only with ``retry_on_timeout``. The policy says how often and how far apart: the
options ``retry_attempts``, ``retry_base`` and ``retry_cap``.
"""

from __future__ import annotations

import math
from typing import Any, Dict

from .errors import ConfigurationError

__all__ = ["Retry", "retry_options"]


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
