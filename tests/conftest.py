"""Helpers for pyredisclient's own test suite.

The Redis fixtures (redis_server, redis_url, redis_client,
redis_server_factory, shared_client_reset, redis_env) come from
pyredisclient.pytest_plugin, which pytest loads through the package's
``pytest11`` entry point once it is installed (``pip install -e .``, as
scripts/setup.sh does).
"""

from __future__ import annotations

import os
from typing import Callable

import pytest


def open_fds() -> int:
    """Count this process's open file descriptors (Linux: /proc/self/fd)."""
    try:
        # The listing itself holds one descriptor open while it runs.
        return len(os.listdir("/proc/self/fd")) - 1
    except FileNotFoundError:  # pragma: no cover - no procfs
        pytest.skip("needs /proc/self/fd")


@pytest.fixture(name="open_fds")
def open_fds_fixture() -> Callable[[], int]:
    """The open_fds() counter, for leak checks: compare before and after."""
    return open_fds
