"""Helpers for the tests of pyredisclient.testing and the pytest plugin: a raw RESP
client (command) and process checks; and a key a given cluster node serves.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any, Union

import pyredisclient.testing as testing
from pyredisclient import _core

Address = Union[tuple[str, int], str]


def _read_reply(f: Any) -> Any:
    """Parse one RESP2 reply from a binary file object (errors as RuntimeError)."""
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError(f"truncated reply: {line!r}")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        return RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise ConnectionError(f"bad reply: {line!r}")


def command(address: Address, *args: Union[str, bytes], password: str | None = None) -> Any:
    """Run one command over a fresh raw connection and return the parsed reply."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(address)
        if password is not None:
            sock.sendall(testing._resp_command("AUTH", password))
        sock.sendall(testing._resp_command(*args))
        with sock.makefile("rb") as f:
            if password is not None:
                assert _read_reply(f) == b"OK"
            return _read_reply(f)


def process_gone(pid: int, timeout: float = 5.0) -> bool:
    """Wait until *pid* no longer exists (or is a zombie nobody reaped yet)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def key_in_slot_of(cluster: Any, node: Any, prefix: str = "k") -> tuple[str, int]:
    """A key (and its slot) that ``node`` of ``cluster`` (RedisClusterServers) serves."""
    for i in range(100_000):
        key = f"{prefix}:{i}"
        slot = _core.key_slot(key)
        if cluster.node_for_slot(slot) is node:
            return key, slot
    raise AssertionError("no key found")
