"""run_in_child: run a function in a forked child and bring its result back.

Shared by the fork tests of every kind (tests/ is on sys.path through conftest.py,
as for fakeservers.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import time
import traceback
import warnings
from typing import Any, Callable

import pytest


def _spawn(body: Callable[[], Any]) -> tuple[int, int]:
    """Fork; the child runs ``body`` and writes its outcome as JSON to a pipe.

    Returns the child's pid and the pipe's read end. The child always leaves with
    os._exit (never back into pytest).
    """
    rfd, wfd = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        status = 1
        try:
            os.close(rfd)
            try:
                payload = {"ok": body()}
                status = 0
            except BaseException:
                payload = {"error": traceback.format_exc()}
            os.write(wfd, json.dumps(payload).encode())
        finally:
            os._exit(status)
    os.close(wfd)
    return pid, rfd


def _give_up(pid: int, timeout: float) -> None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"child did not finish within {timeout}s")


def _outcome(pid: int, data: bytes) -> Any:
    """Reap the child and return its result (or fail the test with its traceback)."""
    _, status = os.waitpid(pid, 0)
    result = json.loads(data or b"{}")
    if "error" in result:
        pytest.fail("child failed:\n" + result["error"])
    assert os.waitstatus_to_exitcode(status) == 0
    return result["ok"]


def run_in_child(body: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Fork; run ``body`` in the child and return its JSON-able result to the parent.

    A failure in the child fails the test with the child's traceback.
    """
    pid, rfd = _spawn(body)
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([rfd], [], [], max(0.0, left))
            if not ready:
                _give_up(pid, timeout)
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(rfd)
    return _outcome(pid, b"".join(chunks))


async def run_in_child_async(body: Callable[[], Any], timeout: float = 15.0) -> Any:
    """run_in_child for a coroutine: fork from the event loop's own thread and
    wait for the child's pipe with the loop.

    Not run_in_child in an executor: a thread needs the GIL for each of its
    steps, and while the loop is busy it gives the GIL back only to take it again
    at once (every select releases and retakes it), so a thread waited seconds
    per step, over 100 s in all under coverage tracing with 64 busy tasks.
    """
    loop = asyncio.get_running_loop()
    pid, rfd = _spawn(body)
    os.set_blocking(rfd, False)
    chunks: list[bytes] = []
    eof: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        try:
            chunk = os.read(rfd, 65536)
        except BlockingIOError:
            return
        if chunk:
            chunks.append(chunk)
        elif not eof.done():
            eof.set_result(None)

    loop.add_reader(rfd, readable)
    try:
        try:
            await asyncio.wait_for(eof, timeout)
        except asyncio.TimeoutError:
            _give_up(pid, timeout)
    finally:
        loop.remove_reader(rfd)
        os.close(rfd)
    return _outcome(pid, b"".join(chunks))
