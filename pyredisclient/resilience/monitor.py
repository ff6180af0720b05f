"""An opt-in background health monitor: one thread (or asyncio task) per client.

::

    monitor = HealthMonitor(client, interval=10).start()
    monitor.last_report            # the latest health_check() dict, or None before the first
    monitor.stop()

It keeps the last health report fresh for probes (:func:`monitor_report`, which
``pyredisclient.fastapi``'s probes read instead of a round trip) and logs what changes: one INFO
line for the first report (host, db, TLS yes/no; never the password), a WARNING
when the status gets worse, an INFO when the status is healthy again (breaker
transitions are logged by the client itself, as they happen), each with structured ``extra`` fields (``redis_status``,
``redis_previous_status``, ``redis_breaker``, ``redis_host``, ``redis_db``). Nothing
is logged while nothing changes. The thread is a daemon and holds the client only
weakly: it stops with :meth:`stop`, when the client is closed, or when the client
is garbage-collected, and never keeps the process alive.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from typing import Any, Dict

__all__ = ["AsyncHealthMonitor", "HealthMonitor", "monitor_report"]

logger = logging.getLogger("pyredisclient")

_RANK = {"healthy": 0, "degraded": 1, "unhealthy": 2}
_CLOSED = "client is closed"

# The running monitor of each client (weak keys: a monitor never keeps its client).
_RUNNING: weakref.WeakKeyDictionary[Any, _Monitor] = weakref.WeakKeyDictionary()


def monitor_report(client: Any, deep: bool = False) -> Dict[str, Any] | None:
    """The last report of a monitor running on *client*, or None: none runs, it has not
    reported yet, its report is older than two intervals plus one check's timeouts (a
    stuck or stopped monitor), or *deep* is asked of a shallow one. Probes answer from
    it without a round trip to Redis, and check live on None."""
    monitor = _RUNNING.get(client)
    if monitor is None or not monitor.running or (deep and not monitor.deep):
        return None
    report = monitor.last_report
    if report is None or time.monotonic() - monitor._reported_at > monitor._max_age:
        return None
    return report


class _Monitor:
    def __init__(self, client: Any, interval: float = 10.0, *, deep: bool = False) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval!r}")
        self._client = weakref.ref(client)
        self.interval = float(interval)
        self.deep = deep
        self.last_report: Dict[str, Any] | None = None
        self.checks = 0
        config = client.config
        self._reported_at = 0.0
        # A check takes at most a connect and a call: older than this, the monitor is stuck.
        self._max_age = (
            2 * self.interval
            + (config.socket_connect_timeout or 5.0)
            + (config.socket_timeout or 5.0)
        )
        self._where: Dict[str, Any] = {
            "redis_host": config.unix_socket_path or config.effective_host,
            "redis_port": None if config.unix_socket_path else config.port,
            "redis_db": config.db,
            "redis_tls": bool(config.ssl),
        }

    @property
    def running(self) -> bool:
        """True while the thread (or task) runs."""
        raise NotImplementedError

    def _register(self) -> None:
        client = self._client()
        if client is not None:
            _RUNNING[client] = self

    def _unregister(self) -> None:
        client = self._client()
        if client is not None and _RUNNING.get(client) is self:
            del _RUNNING[client]

    def _record(self, report: Dict[str, Any]) -> bool:
        """Keep *report*, log what changed; False when the client is closed."""
        if report.get("error") == _CLOSED:
            return False
        previous = self.last_report
        self.last_report = report
        self._reported_at = time.monotonic()
        self.checks += 1
        status = report.get("status")
        breaker = (report.get("circuit_breaker") or {}).get("state")
        extra = {**self._where, "redis_status": status, "redis_breaker": breaker}
        where = self._where
        if previous is None:
            logger.info(
                "Redis health monitor: %s at %s%s db %s, TLS %s",
                status,
                where["redis_host"],
                "" if where["redis_port"] is None else f":{where['redis_port']}",
                where["redis_db"],
                "yes" if where["redis_tls"] else "no",
                extra={**extra, "redis_previous_status": None},
            )
            return True
        # Breaker transitions are not repeated here: the client logs each one
        # as it happens (a WARNING with redis_event "breaker_open"...).
        old_status = previous.get("status")
        extra["redis_previous_status"] = old_status
        if status != old_status:
            worse = _RANK.get(str(status), 3) > _RANK.get(str(old_status), 3)
            logger.log(
                logging.WARNING if worse else logging.INFO,
                "Redis health changed: %s -> %s%s",
                old_status,
                status,
                f" ({report.get('type')}: {report.get('error')})" if report.get("error") else "",
                extra=extra,
            )
        return True


class HealthMonitor(_Monitor):
    """Checks a RedisClient every *interval* seconds on one daemon thread."""

    def __init__(self, client: Any, interval: float = 10.0, *, deep: bool = False) -> None:
        super().__init__(client, interval, deep=deep)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> HealthMonitor:
        """Start the thread (once); return self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._loop, name="pyredisclient-health-monitor", daemon=True
            )
            self._register()
            self._thread.start()
        return self

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop the thread and wait up to *timeout* seconds for it."""
        self._stop.set()
        self._unregister()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        """True while the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            client = self._client()
            if client is None:
                return
            report = client.health_check(deep=self.deep)
            del client  # not held while waiting: the client may be collected
            if not self._record(report):
                return
            self._stop.wait(self.interval)


class AsyncHealthMonitor(_Monitor):
    """Checks an AsyncRedisClient every *interval* seconds in one asyncio task."""

    _task: asyncio.Task[None] | None = None

    def start(self) -> AsyncHealthMonitor:
        """Start the task on the running loop (once); return self."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._loop(), name="pyredisclient-health-monitor"
            )
            self._register()
        return self

    async def stop(self) -> None:
        """Cancel the task and wait for it to end."""
        task, self._task = self._task, None
        self._unregister()
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    @property
    def running(self) -> bool:
        """True while the task runs."""
        return self._task is not None and not self._task.done()

    async def _loop(self) -> None:
        while True:
            client = self._client()
            if client is None:
                return
            report = await client.health_check(deep=self.deep)
            del client
            if not self._record(report):
                return
            await asyncio.sleep(self.interval)
