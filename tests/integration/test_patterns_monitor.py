"""The opt-in background health monitor: fresh reports, logged transitions, clean stops."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from typing import Callable

import pytest

from pyredisclient import RedisClient
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.resilience.monitor import AsyncHealthMonitor, HealthMonitor
from pyredisclient.testing import RedisServer

ServerFactory = Callable[..., RedisServer]
FAST = {"socket_timeout": 0.3, "socket_connect_timeout": 0.3, "retry_attempts": 0}


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # bounded by the deadline
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_reports_and_logs_transitions(
    redis_server_factory: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server = redis_server_factory(password="s3cret-pw")
    client = RedisClient.from_url(server.url, password="s3cret-pw", **FAST)
    caplog.set_level(logging.INFO, logger="pyredisclient")
    monitor = HealthMonitor(client, interval=0.05).start()
    try:
        assert monitor.running and monitor._thread is not None and monitor._thread.daemon
        wait_for(lambda: monitor.last_report is not None)
        assert monitor.last_report is not None and monitor.last_report["status"] == "healthy"
        first = [r for r in caplog.records if "health monitor" in r.getMessage()]
        assert len(first) == 1 and first[0].levelno == logging.INFO
        assert "db 0, TLS no" in first[0].getMessage()
        assert first[0].redis_status == "healthy"  # type: ignore[attr-defined]
        checks = monitor.checks
        wait_for(lambda: monitor.checks >= checks + 3)
        assert [r for r in caplog.records if "changed" in r.getMessage()] == []  # no news
        server.stop()
        wait_for(lambda: monitor.last_report["status"] == "unhealthy")  # type: ignore[index]
        server.start()
        wait_for(lambda: monitor.last_report["status"] != "unhealthy", 20)  # type: ignore[index]
    finally:
        monitor.stop()
        client.close()
    changes = [r for r in caplog.records if "changed" in r.getMessage()]
    assert changes[0].levelno == logging.WARNING
    assert changes[0].redis_previous_status == "healthy"  # type: ignore[attr-defined]
    assert changes[0].redis_status == "unhealthy"  # type: ignore[attr-defined]
    assert changes[-1].levelno == logging.INFO
    assert not monitor.running
    assert "s3cret-pw" not in caplog.text


def test_stops_when_the_client_closes_or_goes(redis_url: str) -> None:
    client = RedisClient.from_url(redis_url)
    monitor = HealthMonitor(client, interval=0.05).start()
    wait_for(lambda: monitor.checks > 0)
    client.close()
    wait_for(lambda: not monitor.running)
    assert monitor.last_report is not None and monitor.last_report["status"] == "healthy"

    other = RedisClient.from_url(redis_url)
    gone = HealthMonitor(other, interval=0.05).start()
    wait_for(lambda: gone.checks > 0)
    del other
    gc.collect()
    wait_for(lambda: not gone.running)
    with pytest.raises(ValueError):
        HealthMonitor(client, interval=0)


def test_async_monitor(redis_url: str) -> None:
    async def main() -> None:
        client = AsyncRedisClient.from_url(redis_url)
        monitor = AsyncHealthMonitor(client, interval=0.05).start()
        assert monitor.start() is monitor  # once
        for _ in range(200):  # bounded: 2 s
            if monitor.checks >= 2:
                break
            await asyncio.sleep(0.01)
        assert monitor.checks >= 2 and monitor.running
        assert monitor.last_report is not None and monitor.last_report["status"] == "healthy"
        await monitor.stop()
        assert not monitor.running
        closing = AsyncHealthMonitor(client, interval=0.05).start()
        await client.aclose()
        for _ in range(200):  # bounded: 2 s
            if not closing.running:
                break
            await asyncio.sleep(0.01)
        assert not closing.running
        await closing.stop()

    asyncio.run(main())
