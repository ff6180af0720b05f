"""pyredisclient._steps: logic written once as steps, run by a blocking or an
awaiting driver, behaves as the same code would inline (values, exceptions,
cancellation, finally blocks)."""

from __future__ import annotations

import asyncio
from typing import Any, List

import pytest

from pyredisclient._steps import Steps, run_any, run_async, run_sync


class Boom(Exception):
    pass


def _steps(calls: List[Any], log: List[str]) -> Steps[List[Any]]:
    """Yield each call's result; record what came back, what was caught, and the
    finally block."""
    got: List[Any] = []
    try:
        for call in calls:
            try:
                got.append((yield call()))
            except Boom as exc:
                log.append(f"caught {exc}")
    finally:
        log.append("finally")
    return got


def _value(v: Any) -> Any:
    return lambda: v


def _raise(msg: str) -> Any:
    def call() -> Any:
        raise Boom(msg)

    return call


def _later(v: Any) -> Any:
    async def coro() -> Any:
        await asyncio.sleep(0)
        return v

    return coro


def _later_raise(msg: str) -> Any:
    async def coro() -> Any:
        await asyncio.sleep(0)
        raise Boom(msg)

    return coro


def test_run_sync_sends_each_value_back_and_returns_the_result() -> None:
    log: List[str] = []
    assert run_sync(_steps([_value(1), _raise("x"), _value(None), _value(3)], log)) == [
        1,
        None,
        3,
    ]
    assert log == ["caught x", "finally"]


def test_run_sync_passes_an_awaitable_back_unawaited() -> None:
    coro = _later(1)()
    try:
        assert run_sync(_steps([lambda: coro], [])) == [coro]
    finally:
        coro.close()


def test_run_async_awaits_awaitables_and_passes_other_values() -> None:
    log: List[str] = []
    steps = _steps([_later(1), _value(2), _later_raise("late"), _later(4)], log)
    assert asyncio.run(run_async(steps)) == [1, 2, 4]
    assert log == ["caught late", "finally"]


def test_run_async_lets_an_uncaught_error_out_after_the_finally_block() -> None:
    log: List[str] = []

    def steps() -> Steps[None]:
        try:
            yield _later_raise("out")()
        finally:
            log.append("finally")

    with pytest.raises(Boom, match="out"):
        asyncio.run(run_async(steps()))
    assert log == ["finally"]


def test_run_async_throws_cancellation_in_at_the_yield() -> None:
    log: List[str] = []

    def steps(started: asyncio.Event) -> Steps[None]:
        try:
            started.set()
            yield asyncio.sleep(60)
        except asyncio.CancelledError:
            log.append("cancelled in the steps")
            raise
        finally:
            log.append("finally")

    async def main() -> None:
        started = asyncio.Event()
        task = asyncio.ensure_future(run_async(steps(started)))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert log == ["cancelled in the steps", "finally"]


def test_a_step_may_yield_from_other_steps() -> None:
    def inner() -> Steps[int]:
        a = yield 1
        return int(a) + 1

    def outer(later: bool) -> Steps[int]:
        b = yield from inner()
        c = yield (_later if later else _value)(b * 10)()
        return int(c)

    assert asyncio.run(run_async(outer(True))) == 20
    assert run_sync(outer(False)) == 20


def test_run_any_follows_the_first_call() -> None:
    log: List[str] = []
    # Blocking calls: the result itself.
    assert run_any(_steps([_value(1), _raise("x"), _value(3)], log)) == [1, 3]
    assert log == ["caught x", "finally"]
    # An awaitable first: an awaitable of the result, driven like run_async.
    log.clear()
    pending = run_any(_steps([_later(1), _later_raise("y"), _later(3)], log))
    assert log == []  # nothing ran past the first call yet
    assert asyncio.run(pending) == [1, 3]
    assert log == ["caught y", "finally"]

    def empty() -> Steps[int]:
        return 7
        yield  # a generator that makes no call

    assert run_any(empty()) == 7
    assert asyncio.run(run_async(empty())) == 7
