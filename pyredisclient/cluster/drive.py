"""Run several C calls at once on the calling thread: one per node, so that a
pipeline or a split MGET spanning three nodes waits for the slowest node, not for
the sum of the three.

Each call is a ``_core.AsyncCall`` (the same step machine the asyncio client
drives); here one ``poll`` waits on all their sockets. A call waiting for a pooled
connection or sleeping between retries is stepped again after a short nap.
"""

from __future__ import annotations

import select
import time
from typing import Any, Dict, List, Sequence, Tuple

from .._core import WANT_POOL, WANT_READ, WANT_SLEEP, WANT_WRITE

__all__ = ["drive_all"]

_NAP = 0.001  # seconds between steps of a call waiting for the pool or a back-off


def drive_all(calls: Sequence[Any]) -> List[Any]:
    """Step every call to its end; return each one's result, or the exception it
    raised, in order. A KeyboardInterrupt (or any error of the driver itself)
    cancels the calls still running, closing their connections."""
    results: List[Any] = [None] * len(calls)
    pending: Dict[int, Any] = dict(enumerate(calls))
    waits: Dict[int, Tuple[int, int, float | None]] = {}  # state, fd, deadline
    ready = list(pending)
    try:
        while True:
            for i in ready:
                try:
                    state, fd, timeout = pending[i].step()
                    if state == 0:
                        results[i] = pending[i].result()
                except Exception as exc:  # an error reply or a failed call: its result
                    results[i] = exc
                    state = 0
                if state == 0:
                    del pending[i]
                    waits.pop(i, None)
                else:
                    deadline = None if timeout is None else time.monotonic() + timeout
                    waits[i] = (state, fd, deadline)
            if not pending:
                return results
            ready = _wait(pending, waits, results)
    except BaseException:
        for call in pending.values():
            call.cancel()
        raise


def _wait(
    pending: Dict[int, Any], waits: Dict[int, Tuple[int, int, float | None]], results: List[Any]
) -> List[int]:
    """Wait until some call can make progress; return the indexes to step again.
    A call whose wait ran out is told so (``timed_out``); the TimeoutError that
    raises becomes its result and it leaves ``pending``."""
    poller = select.poll()
    by_fd: Dict[int, List[int]] = {}
    now = time.monotonic()
    limit: float | None = None
    for i, (state, fd, deadline) in waits.items():
        if state == WANT_READ or state == WANT_WRITE:
            by_fd.setdefault(fd, []).append(i)
            poller.register(fd, select.POLLIN if state == WANT_READ else select.POLLOUT)
            left = None if deadline is None else deadline - now
        elif state == WANT_POOL:  # no wake-up call here: look again soon
            left = _NAP if deadline is None else min(_NAP, deadline - now)
        else:  # a back-off sleep
            left = 0.0 if deadline is None else deadline - now
        if left is not None:
            limit = left if limit is None else min(limit, left)
    events = poller.poll(None if limit is None else max(0.0, limit) * 1000.0)
    ready: set[int] = set()
    for fd, _ in events:
        ready.update(by_fd.get(fd, ()))
    now = time.monotonic()
    for i, (state, _, deadline) in list(waits.items()):
        if i in ready:
            continue
        if state == WANT_POOL:
            ready.add(i)  # try the pool again (timed out below if its time is up)
        expired = deadline is not None and deadline <= now
        if not expired:
            continue
        if state == WANT_SLEEP:
            ready.add(i)
            continue
        ready.discard(i)
        try:
            pending[i].timed_out()
        except Exception as exc:  # the call's TimeoutError: its result
            results[i] = exc
            del pending[i]
            del waits[i]
            continue
        ready.add(i)
    return sorted(ready)
