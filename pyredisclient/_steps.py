"""Logic written once for the blocking and the asyncio client: steps and two drivers.

A piece of logic that calls the client (a transaction's WATCH/EXEC loop, a pipeline's
execute, a health check) is a generator that yields the *result* of each call it
makes and is sent back the value::

    def steps(pipe):
        try:
            replies = yield pipe.execute()
        except WatchError:
            yield pipe.reset()
        ...

On a blocking client the call has already run when the generator yields, so
:func:`run_sync` sends its value straight back. On the asyncio client the call
returned an awaitable; :func:`run_async` awaits it and sends back the value, or throws
its exception (cancellation included) in at the same ``yield``, so ``try``/``except``/
``finally`` in the generator behave as they would inline. A yielded value that is not
awaitable is sent back unchanged by both drivers.
"""

from __future__ import annotations

import inspect
from typing import Any, Generator, TypeVar

__all__ = ["Steps", "run_any", "run_async", "run_sync"]

_R = TypeVar("_R")

#: A generator of steps: yields call results, is sent their values, returns *_R*.
Steps = Generator[Any, Any, _R]


def run_sync(steps: Steps[_R]) -> _R:
    """Run *steps* whose calls are blocking: each yielded value is the call's value."""
    value: Any = None
    try:
        while True:
            value = steps.send(value)
    except StopIteration as done:
        result: _R = done.value
        return result


async def run_async(steps: Steps[_R]) -> _R:
    """Run *steps* on the event loop, awaiting every awaitable they yield."""
    try:
        first = steps.send(None)
    except StopIteration as done:
        result: _R = done.value
        return result
    return await _resume_async(steps, first)


async def _resume_async(steps: Steps[_R], value: Any) -> _R:
    """Go on with *steps* on the event loop from the value of their last yield."""
    try:
        while True:
            while inspect.isawaitable(value):
                try:
                    value = await value
                except BaseException as exc:  # cancellation too: the steps clean up
                    value = steps.throw(exc)
                else:
                    break
            value = steps.send(value)
    except StopIteration as done:
        result: _R = done.value
        return result


def run_any(steps: Steps[_R]) -> Any:
    """Run *steps* on whichever client they call, told by their first call: the result
    when it was blocking, an awaitable of it (to await on the loop) when it returned
    one. For an API that takes either kind of client, as a registered Script does."""
    try:
        value = steps.send(None)
    except StopIteration as done:
        return done.value
    if inspect.isawaitable(value):
        return _resume_async(steps, value)
    try:
        while True:
            value = steps.send(value)
    except StopIteration as done:
        return done.value
