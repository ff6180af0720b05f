"""Helpers for the RedisClient machinery tests (test_client.py, test_client_pool.py)."""

from __future__ import annotations

import time
from typing import Callable

import pytest

from pyredisclient import (
    RedisClient,
)

MiB = 1024 * 1024


class Elapsed:
    """Wall time of a ``with`` block, in seconds (``.s``)."""

    def __enter__(self) -> Elapsed:
        self.start = time.monotonic()
        self.s = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.s = time.monotonic() - self.start


def wait_until(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll ``pred`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(0.01)


def client_info(client: RedisClient) -> dict[str, str]:
    """CLIENT INFO of the connection the client uses, as a dict."""
    raw = client.execute_command("CLIENT", "INFO")
    text = raw.decode() if isinstance(raw, bytes) else raw
    return dict(field.split("=", 1) for field in text.split())


def blocked_clients(client: RedisClient) -> int:
    return int(client.info("clients")["blocked_clients"])
