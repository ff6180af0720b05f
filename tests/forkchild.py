"""run_in_child: run a function in a forked child and bring its result back.

Shared by the fork tests of every kind (tests/ is on sys.path through conftest.py,
as for fakeservers.py).
"""

from __future__ import annotations

import json
import os
import select
import signal
import time
import traceback
import warnings
from typing import Any, Callable

import pytest


def run_in_child(body: Callable[[], Any], timeout: float = 15.0) -> Any:
    """Fork; run ``body`` in the child and return its JSON-able result to the parent.

    The child always leaves with os._exit (never back into pytest). A failure in
    the child fails the test with the child's traceback.
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
    chunks = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([rfd], [], [], max(0.0, left))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail(f"child did not finish within {timeout}s")
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(rfd)
    _, status = os.waitpid(pid, 0)
    result = json.loads(b"".join(chunks) or b"{}")
    if "error" in result:
        pytest.fail("child failed:\n" + result["error"])
    assert os.waitstatus_to_exitcode(status) == 0
    return result["ok"]
