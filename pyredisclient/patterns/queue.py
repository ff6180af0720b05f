"""A reliable work queue: at-least-once delivery with a visibility timeout.

::

    queue = WorkQueue(client, "emails", visibility_timeout=30)
    queue.push({"to": "a@example.com"})          # any bytes, str or JSON value
    job = queue.pop(timeout=5)                   # BLMOVE pending -> processing
    if job is not None:
        send(job.data)
        queue.ack(job)                           # done: gone for good

A popped job moves atomically (BLMOVE) from the pending list to the processing
list and gets a lease (a sorted set scored by the server's clock). A worker that
dies before ``ack`` leaves its job there; once the lease expires,
``requeue_expired()`` (run by every ``pop``) puts it back at the head of the
pending list. A job is therefore delivered at least once, possibly more than
once: make the work idempotent. ``extend(job)`` renews a lease for long work.
Keys: ``{name}:pending``, ``{name}:processing``, ``{name}:leases``, inside the
client's key_prefix.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from .._steps import Steps, run_async, run_sync
from ..client.aio import AsyncRedisClient
from ..client.sync import RedisClient
from ._script import library_script

__all__ = ["AsyncWorkQueue", "Job", "WorkQueue"]

# KEYS: processing, leases; ARGV: visibility ms, job. A lease for a popped job.
_LEASE = library_script(
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZADD', KEYS[2], string.format('%.0f', now + tonumber(ARGV[1])), ARGV[2])
"""
)

# KEYS: processing, leases; ARGV: job. Forget a finished job.
_ACK = library_script(
    """
local n = redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return n
"""
)

# KEYS: pending, processing, leases; ARGV: visibility ms.
# Jobs whose lease expired go back to the head of pending; a job in processing with
# no lease (its worker died between BLMOVE and the lease) gets one now.
_REQUEUE = library_script(
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local moved = 0
for _, job in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local deadline = redis.call('ZSCORE', KEYS[3], job)
  if not deadline then
    redis.call('ZADD', KEYS[3], string.format('%.0f', now + tonumber(ARGV[1])), job)
  elseif tonumber(deadline) <= now then
    redis.call('LREM', KEYS[2], 1, job)
    redis.call('ZREM', KEYS[3], job)
    redis.call('RPUSH', KEYS[1], job)
    moved = moved + 1
  end
end
return moved
"""
)

# KEYS: leases; ARGV: visibility ms, job. Renew a lease still held.
_EXTEND = library_script(
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[1])), ARGV[2])
return 1
"""
)


@dataclass(frozen=True)
class Job:
    """A popped job: *id* (unique per push), *data* (what was pushed), *raw* (as stored)."""

    id: str
    data: Any
    raw: bytes


def _encode(data: Any) -> bytes:
    """A job as stored: a unique id, a kind byte, the payload (bytes, text or JSON)."""
    job_id = os.urandom(8).hex()
    if isinstance(data, bytes):
        kind, body = b"b", data
    elif isinstance(data, str):
        kind, body = b"s", data.encode()
    else:
        kind, body = b"j", json.dumps(data, separators=(",", ":")).encode()
    return job_id.encode() + b":" + kind + body


def _decode(raw: Any) -> Job:
    raw = raw.encode() if isinstance(raw, str) else bytes(raw)
    job_id, _, rest = raw.partition(b":")
    kind, body = rest[:1], rest[1:]
    data: Any = body
    if kind == b"s":
        data = body.decode()
    elif kind == b"j":
        data = json.loads(body)
    return Job(job_id.decode(), data, raw)


class _Queue:
    def __init__(self, client: Any, name: str, *, visibility_timeout: float = 30.0) -> None:
        if not visibility_timeout > 0:
            raise ValueError(f"visibility_timeout must be > 0, got {visibility_timeout!r}")
        self.client = client
        self.name = name
        self.visibility_timeout = float(visibility_timeout)
        self.pending = f"{name}:pending"
        self.processing = f"{name}:processing"
        self.leases = f"{name}:leases"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} visibility {self.visibility_timeout:g}s>"

    @property
    def _ms(self) -> int:
        return max(1, round(self.visibility_timeout * 1000))

    def _push_steps(self, data: Any) -> Steps[str]:
        raw = _encode(data)
        yield self.client.lpush(self.pending, raw)
        return raw.partition(b":")[0].decode()

    def _requeue_steps(self) -> Steps[int]:
        keys = (self.pending, self.processing, self.leases)
        return int((yield from _REQUEUE.steps(self.client, keys, (self._ms,))))

    def _pop_steps(self, timeout: float) -> Steps[Job | None]:
        yield from self._requeue_steps()
        raw = yield self.client.execute_command(
            "BLMOVE", self.pending, self.processing, "RIGHT", "LEFT", timeout
        )
        if raw is None:
            return None
        yield from _LEASE.steps(self.client, (self.processing, self.leases), (self._ms, raw))
        return _decode(raw)

    def _ack_steps(self, job: Job) -> Steps[bool]:
        keys = (self.processing, self.leases)
        return bool((yield from _ACK.steps(self.client, keys, (job.raw,))))

    def _extend_steps(self, job: Job) -> Steps[bool]:
        return bool((yield from _EXTEND.steps(self.client, (self.leases,), (self._ms, job.raw))))

    def _sizes_steps(self) -> Steps[dict[str, int]]:
        pending = yield self.client.llen(self.pending)
        processing = yield self.client.llen(self.processing)
        return {"pending": int(pending), "processing": int(processing)}


class WorkQueue(_Queue):
    """A reliable work queue on a RedisClient (see the module docstring)."""

    client: RedisClient

    def push(self, data: Any) -> str:
        """Add a job (bytes, str, or a JSON value) at the tail; return its id."""
        return run_sync(self._push_steps(data))

    def pop(self, timeout: float = 0) -> Job | None:
        """Requeue expired jobs, then wait up to *timeout* seconds (0: forever) for one."""
        return run_sync(self._pop_steps(timeout))

    def ack(self, job: Job) -> bool:
        """Finish *job*; False when it was no longer held (its lease expired and it was
        requeued, so another worker may run it too)."""
        return run_sync(self._ack_steps(job))

    def extend(self, job: Job) -> bool:
        """Renew *job*'s lease for another visibility timeout; False if it was lost."""
        return run_sync(self._extend_steps(job))

    def requeue_expired(self) -> int:
        """Put jobs whose lease expired back at the head of the queue; return how many."""
        return run_sync(self._requeue_steps())

    def sizes(self) -> dict[str, int]:
        """How many jobs are pending and how many are being processed."""
        return run_sync(self._sizes_steps())


class AsyncWorkQueue(_Queue):
    """:class:`WorkQueue` on an AsyncRedisClient."""

    client: AsyncRedisClient

    async def push(self, data: Any) -> str:
        """Add a job (bytes, str, or a JSON value) at the tail; return its id."""
        return await run_async(self._push_steps(data))

    async def pop(self, timeout: float = 0) -> Job | None:
        """Requeue expired jobs, then wait up to *timeout* seconds (0: forever) for one."""
        return await run_async(self._pop_steps(timeout))

    async def ack(self, job: Job) -> bool:
        """Finish *job*; False when it was no longer held."""
        return await run_async(self._ack_steps(job))

    async def extend(self, job: Job) -> bool:
        """Renew *job*'s lease for another visibility timeout; False if it was lost."""
        return await run_async(self._extend_steps(job))

    async def requeue_expired(self) -> int:
        """Put jobs whose lease expired back at the head of the queue; return how many."""
        return await run_async(self._requeue_steps())

    async def sizes(self) -> dict[str, int]:
        """How many jobs are pending and how many are being processed."""
        return await run_async(self._sizes_steps())
