"""What apps build on Redis, ready-made: named databases, rate limits, a reliable
work queue (JSON values are client methods: set_json, get_json). Each works with RedisClient and AsyncRedisClient alike and
stays inside the client's key_prefix.
"""

from __future__ import annotations

from .named import AsyncRedisClients, RedisClients
from .queue import AsyncWorkQueue, Job, WorkQueue
from .ratelimit import AsyncRateLimiter, RateLimiter, RateLimitResult

__all__ = [
    "AsyncRateLimiter",
    "AsyncRedisClients",
    "AsyncWorkQueue",
    "Job",
    "RateLimitResult",
    "RateLimiter",
    "RedisClients",
    "WorkQueue",
]
