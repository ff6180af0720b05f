"""MONITOR: every command the server runs, as redis-py's ``client.monitor()`` shows it.

``with client.monitor() as m: m.next_command()`` (and ``async with`` on the asyncio
client) streams the commands a server runs, from every client, as redis-py's dicts:
``time``, ``db``, ``client_address``, ``client_port``, ``client_type`` (``"tcp"``,
``"unix"``, ``"lua"`` or ``"unknown"``) and ``command`` (the arguments as MONITOR
quotes them, joined by spaces). One key more than redis-py: ``args``, the arguments as
the bytes the command carried (MONITOR's escapes undone).

The stream runs on a connection of its own, outside the client's pool: the C
subscriber in its monitor mode (``_core.Subscriber.request(("MONITOR",))``), which
reconnects after a loss and sends MONITOR again, as a subscription resubscribes.
Commands run while it was down are not shown (the server keeps none); the loss and the
return are logged on the ``pyredisclient`` logger. Entering the ``with`` waits for the
server's ``OK``, so every command sent after it is seen. A monitor sends no health-check
PINGs (each would show as a command).

MONITOR costs the server a copy of every command for each monitor: a tool for tests and
debugging, not for production traffic.
"""

from __future__ import annotations

import re
import time
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Awaitable,
    Dict,
    Iterator,
    List,
    Tuple,
    Type,
)

from .._steps import Steps, run_async, run_sync
from ..exceptions import ConnectionError, RedisError

if TYPE_CHECKING:
    from .aio import AsyncPubSub
    from .sync import PubSub

__all__ = ["AsyncMonitor", "Monitor", "MonitorCommandInfo", "parse_monitor_line"]

#: What next_command returns: redis-py's keys, and ``args``.
MonitorCommandInfo = Dict[str, Any]

# "<seconds> [<db> <client>] <quoted arguments>"; the client may hold "]" ("[::1]:5").
_LINE = re.compile(r"(\d+(?:\.\d+)?) \[(\d+) (.*?)\](?: (.*)|$)", re.S)
# One quoted argument (escapes inside kept), as runs between escapes so that the
# matcher takes a run at a time, not a character at a time; and one escape of
# Redis's sdscatrepr: \xHH, or a character (\n, \", \\, ...; any other stands
# for itself).
_ARG = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"', re.S)
_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|.)", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"a": b"\a", b"b": b"\b"}


def _unescape(m: re.Match[bytes]) -> bytes:
    e = m.group(1)
    return bytes((int(e[1:], 16),)) if len(e) == 3 else _ESCAPES.get(e, e)


def _arguments(text: str) -> Tuple[List[str], List[bytes]]:
    """MONITOR's quoted arguments (``"SET" "k\\x92"``): each as quoted (escapes
    kept) and as the bytes it stands for. A megabyte argument takes about 15 ms
    (Python is called back once per escape only)."""
    quoted: List[str] = _ARG.findall(text)
    values = [_ESCAPE.sub(_unescape, q.encode("latin-1", "replace")) for q in quoted]
    return quoted, values


def parse_monitor_line(line: Any) -> MonitorCommandInfo:
    """One line of MONITOR's stream (bytes or str) as redis-py's dict, plus ``args``.

    ``command`` is what redis-py gives: each argument as MONITOR quotes it, joined by
    spaces, with ``\\"`` shown as ``"`` (so ``GET foo\\x92`` for the key
    ``b"foo\\x92"``); ``args`` holds the arguments' bytes. RedisError for a line
    that is no MONITOR output."""
    # MONITOR's text is ASCII; latin-1 maps any other byte to one character.
    text = line.decode("latin-1") if isinstance(line, (bytes, bytearray)) else line
    m = _LINE.match(text)
    if m is None:
        raise RedisError(f"not a MONITOR line: {text[:200]!r}")
    stamp, db, client, rest = m.groups()
    quoted, args = _arguments(rest or "")
    if client == "lua":
        address, port, kind = "lua", "", "lua"
    elif client.startswith("unix"):
        address, port, kind = "unix", client[5:], "unix"
    elif not client:
        address, port, kind = "", "", "unknown"
    else:
        address, _, port = client.rpartition(":")  # rpartition: IPv6 has colons
        kind = "tcp"
    return {
        "time": float(stamp),
        "db": int(db),
        "client_address": address,
        "client_port": port,
        "client_type": kind,
        "command": " ".join(quoted).replace('\\"', '"'),
        "args": args,
    }


def confirm_timeout(config: Any) -> float | None:
    """How long entering a monitor waits for MONITOR's OK: a connect and a reply
    (socket_connect_timeout + socket_timeout; None when both are None)."""
    parts = [t for t in (config.socket_connect_timeout, config.socket_timeout) if t is not None]
    return sum(parts) if parts else None


def _refused(pubsub: Any, timeout: float | None) -> ConnectionError:
    stats = pubsub.stats()
    return ConnectionError(
        f"MONITOR was not confirmed within {timeout:g} s "
        f"({stats['connects']} connects, {stats['disconnects']} lost or failed): "
        "the server is unreachable or not answering"
    )


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


class _MonitorBase:
    """What both monitors do, written once as steps (:mod:`pyredisclient._steps`):
    each ``yield`` is a call on the subscription, its value on the blocking one and
    an awaitable on asyncio."""

    def __init__(self, pubsub: Any, timeout: float | None) -> None:
        self._pubsub = pubsub
        self._timeout = timeout
        self._started = False

    @property
    def closed(self) -> bool:
        return bool(self._pubsub.closed)

    def _start_steps(self) -> Steps[None]:
        """Send MONITOR and read until its OK, within the timeout; any failure closes
        the monitor."""
        if self._started:
            return
        pubsub = self._pubsub
        pubsub._sub.request(("MONITOR",))
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        try:
            yield self._flush()
            while True:
                left = _left(deadline)
                msg = yield pubsub.get_message(timeout=left)
                if msg is not None and msg["type"] == "monitor":
                    break
                if msg is None and left is not None and left <= 0:
                    raise _refused(pubsub, self._timeout)
        except BaseException:
            yield self._shut()
            raise
        self._started = True

    def _next_steps(self, timeout: float | None) -> Steps[MonitorCommandInfo | None]:
        yield from self._start_steps()
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = _left(deadline)
            msg = yield self._pubsub.get_message(timeout=left)
            if msg is not None and msg["type"] == "command":
                return parse_monitor_line(msg["data"])
            if self._pubsub.closed or (msg is None and left is not None and left <= 0):
                return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {'closed' if self.closed else 'open'}>"

    # -- hooks: the subscription's calls (an awaitable on asyncio) -----------------------

    def _flush(self) -> Any:
        """Connect if need be and send what was queued."""
        raise NotImplementedError

    def _shut(self) -> Any:
        """Close the subscription."""
        raise NotImplementedError


class Monitor(_MonitorBase):
    """redis-py's ``Monitor``: ``with client.monitor() as m`` then
    :meth:`next_command` or :meth:`listen`. See :mod:`pyredisclient.pubsub.monitor`.
    One thread reads at a time; :meth:`close` from any thread ends a wait."""

    def __init__(self, pubsub: PubSub, timeout: float | None) -> None:
        super().__init__(pubsub, timeout)

    def __enter__(self) -> Monitor:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: Type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Send MONITOR and wait for its OK (the client's connect timeout plus its
        socket timeout): ConnectionError when none comes, the server's error (an ACL
        without MONITOR: NoPermissionError) when it refuses. Both close the monitor.
        Entering the ``with`` calls it; a second call does nothing."""
        run_sync(self._start_steps())

    def next_command(self, timeout: float | None = None) -> MonitorCommandInfo | None:
        """The next command the server ran, waiting up to ``timeout`` seconds (None:
        no limit), or None after the timeout or when :meth:`close` ends the wait (a
        call after close raises ConnectionError, as on a closed PubSub)."""
        return run_sync(self._next_steps(timeout))

    def listen(self) -> Iterator[MonitorCommandInfo]:
        """The commands as they come, until :meth:`close`."""
        while True:
            info = self.next_command()
            if info is None:
                return
            yield info

    def close(self) -> None:
        """Close the connection (idempotent); a wait in another thread returns None."""
        self._pubsub.close()

    def _flush(self) -> None:
        self._pubsub._sub.flush()

    def _shut(self) -> None:
        self._pubsub.close()


class AsyncMonitor(_MonitorBase):
    """The asyncio twin of :class:`Monitor`: ``async with client.monitor() as m``,
    ``await m.next_command()``, ``async for info in m.listen()``."""

    def __init__(self, pubsub: AsyncPubSub, timeout: float | None) -> None:
        super().__init__(pubsub, timeout)

    async def __aenter__(self) -> AsyncMonitor:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: Type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Send MONITOR and wait for its OK, as :meth:`Monitor.start`."""
        await run_async(self._start_steps())

    async def next_command(self, timeout: float | None = None) -> MonitorCommandInfo | None:
        """The next command the server ran, as :meth:`Monitor.next_command`."""
        return await run_async(self._next_steps(timeout))

    async def listen(self) -> AsyncIterator[MonitorCommandInfo]:
        """The commands as they come, until :meth:`aclose`."""
        while True:
            info = await self.next_command()
            if info is None:
                return
            yield info

    async def aclose(self) -> None:
        """Close the connection (idempotent); a waiting task gets None."""
        await self._pubsub.aclose()

    close = aclose

    def _flush(self) -> Awaitable[None]:
        return self._pubsub._flush()  # type: ignore[no-any-return]

    def _shut(self) -> Awaitable[None]:
        return self._pubsub.aclose()  # type: ignore[no-any-return]
