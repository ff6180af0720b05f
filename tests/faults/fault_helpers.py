"""Helpers for the fault-injection tests (test_faults.py, test_faults_hostile.py)."""

from __future__ import annotations

import resource
import time
from typing import Any, Callable

from pyredisclient.testing import RedisServer

Factory = Callable[..., RedisServer]


def timed(func: Callable[[], Any]) -> tuple[Any, float]:
    """(result or raised exception, seconds)."""
    t0 = time.monotonic()
    try:
        result: Any = func()
    except Exception as exc:
        result = exc
    return result, time.monotonic() - t0


def maxrss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
