"""Run several C calls at once on the calling thread: one per node, so that a
pipeline or a split MGET spanning three nodes waits for the slowest node, not for
the sum of the three.

Each call is a ``_core.AsyncCall`` (the same step machine the asyncio client
drives); here one ``poll`` waits on all their sockets. A call waiting for a pooled
connection or sleeping between retries is stepped again after a short nap.
"""

from __future__ import annotations

import select
from typing import Any, Dict, List, Sequence

from .._core import WANT_POOL, WANT_READ, WANT_WRITE

__all__ = ["drive_all"]

_NAP = 0.001  # seconds between steps of a call waiting for the pool or a back-off


def drive_all(calls: Sequence[Any]) -> List[Any]:
    """Step every call to its end; return each one's result, or the exception it
    raised, in order. A KeyboardInterrupt (or any error of the driver itself)
    cancels the calls still running, closing their connections."""
    results: List[Any] = [None] * len(calls)
    pending: Dict[int, Any] = dict(enumerate(calls))
    states: Dict[int, int] = {}
    ready = list(pending)
    try:
        while True:
            for i in ready:
                call = pending[i]
                try:
                    state = call.step()
                    if state == 0:
                        results[i] = call.result()
                except Exception as exc:  # an error reply or a failed call: its result
                    results[i] = exc
                    state = 0
                if state == 0:
                    del pending[i]
                    states.pop(i, None)
                else:
                    states[i] = state
            if not pending:
                return results
            ready = _wait(pending, states, results)
    except BaseException:
        for call in pending.values():
            call.cancel()
        raise


def _wait(pending: Dict[int, Any], states: Dict[int, int], results: List[Any]) -> List[int]:
    """Wait until some call can make progress; return the indexes to step again.
    A call whose wait ran out is told so: its TimeoutError becomes its result and
    it leaves ``pending``; a pool wait that ran out raises on its next step."""
    poller = select.poll()
    by_fd: Dict[int, List[int]] = {}
    limit: float | None = None
    ready = set()
    for i, call in pending.items():
        state = states[i]
        timeout = call.timeout()
        if state == WANT_READ or state == WANT_WRITE:
            fd = call.fileno()
            by_fd.setdefault(fd, []).append(i)
            poller.register(fd, select.POLLIN if state == WANT_READ else select.POLLOUT)
        elif state == WANT_POOL:  # no wake-up call here: try again soon
            if timeout is None or timeout > 0.0:
                ready.add(i)
            timeout = _NAP if timeout is None else min(timeout, _NAP)
        elif timeout is None or timeout <= 0.0:  # a back-off sleep, over
            ready.add(i)
            timeout = 0.0
        if timeout is not None:
            limit = timeout if limit is None else min(limit, timeout)
    events = poller.poll(None if limit is None else max(0.0, limit) * 1000.0)
    for fd, _ in events:
        ready.update(by_fd.get(fd, ()))
    for i, call in list(pending.items()):
        if i in ready:
            continue
        timeout = call.timeout()
        if timeout is None or timeout > 0.0:
            continue
        if states[i] == WANT_READ or states[i] == WANT_WRITE or states[i] == WANT_POOL:
            try:
                call.timed_out()
            except Exception as exc:  # the call's TimeoutError: its result
                results[i] = exc
                del pending[i]
                continue
        ready.add(i)
    return sorted(ready)
