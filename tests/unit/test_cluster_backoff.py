"""The cluster client's pause between retries: it never outlasts half the refresh
interval, so a promoted replica is found within one interval (the failover
benchmark, benchmarks/cluster_failover_time.py, measures the whole path)."""

from __future__ import annotations

import pytest

from pyredisclient import RedisClusterClient


@pytest.mark.parametrize(
    "options, bound",
    [
        ({}, 0.125),  # retry_cap 1.0 by default: the refresh interval caps it
        ({"min_refresh_interval": 1.0}, 0.5),
        ({"retry_cap": 0.05}, 0.05),
    ],
)
def test_backoff_is_capped(options: dict, bound: float) -> None:
    client = RedisClusterClient("127.0.0.1", 1, **options)
    try:
        pauses = [client._backoff(attempt) for attempt in range(1, 40) for _ in range(20)]
    finally:
        client.close()
    assert max(pauses) <= bound
    assert max(pauses) > bound / 2  # it does grow to the cap
    first = [client._backoff(1) for _ in range(50)]
    assert max(first) <= client._config.retry_base  # and starts at retry_base


def test_backoff_grows() -> None:
    client = RedisClusterClient("127.0.0.1", 1, retry_base=0.001, min_refresh_interval=10.0)
    try:
        assert max(client._backoff(1) for _ in range(50)) <= 0.001
        assert min(client._backoff(5) for _ in range(50)) >= 0.008
    finally:
        client.close()


def test_backoff_after_very_many_attempts() -> None:
    client = RedisClusterClient("127.0.0.1", 1, retry_base=1e-7, retry_cap=1e-6)
    try:
        assert client._backoff(100_000) <= 1e-6
    finally:
        client.close()
