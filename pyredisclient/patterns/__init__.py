"""What apps build on Redis, ready-made: named databases. Each works with
RedisClient and AsyncRedisClient alike and stays inside the client's key_prefix.
"""

from __future__ import annotations

from .named import AsyncRedisClients, RedisClients

__all__ = [
    "AsyncRedisClients",
    "RedisClients",
]
