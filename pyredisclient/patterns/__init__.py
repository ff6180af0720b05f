"""What apps build on Redis, ready-made: named databases, rate limits. Each works
with RedisClient and AsyncRedisClient alike and stays inside the client's key_prefix.
"""

from __future__ import annotations

from .named import AsyncRedisClients, RedisClients
from .ratelimit import AsyncRateLimiter, RateLimiter, RateLimitResult

__all__ = [
    "AsyncRateLimiter",
    "AsyncRedisClients",
    "RateLimitResult",
    "RateLimiter",
    "RedisClients",
]
