"""Helpers for the AsyncRedisClient tests (test_aio.py, test_aio_failures.py)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Awaitable, Callable, Coroutine, Tuple, TypeVar

import pytest

from pyredisclient.testing import RedisServer

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop is in the test extras (not on Windows)
    uvloop = None

MiB = 1024 * 1024

T = TypeVar("T")
ServerFactory = Callable[..., RedisServer]


def run(coro: Coroutine[Any, Any, T], timeout: float = 20.0) -> T:
    """Run *coro* in a fresh event loop, bounded by *timeout* seconds."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


LOOPS = [
    "asyncio",
    pytest.param("uvloop", marks=pytest.mark.skipif(uvloop is None, reason="no uvloop")),
]


@pytest.fixture(params=LOOPS, name="run")
def run_on_each_loop(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """The fixture ``run`` (import it into a test module): run a coroutine on a fresh
    loop of the parametrized kind, default asyncio and uvloop, bounded in time."""

    def runner(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        bounded = asyncio.wait_for(coro, timeout)
        if request.param == "uvloop":
            loop = uvloop.new_event_loop()
            try:
                return loop.run_until_complete(bounded)
            finally:
                loop.close()
        return asyncio.run(bounded)

    return runner


async def elapsed(awaitable: Awaitable[Any]) -> Tuple[float, BaseException | None]:
    """Await; return (seconds taken, the exception raised or None)."""
    start = time.monotonic()
    try:
        await awaitable
    except Exception as exc:
        return time.monotonic() - start, exc
    return time.monotonic() - start, None


class Ticker:
    """Counts event-loop turns: a blocked loop stops the count."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.ticks = 0
        self.task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.ticks += 1

    def __enter__(self) -> Ticker:
        self.task = asyncio.ensure_future(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
