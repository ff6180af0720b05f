"""Django's own Redis cache backend (``django.core.cache.backends.redis``, Django 4.0+)
on :class:`~pyredisclient.RedisClient`::

    CACHES = {
        "default": {
            "BACKEND": "pyredisclient.integrations.django.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/1",  # or a list: writes to the first
        }
    }

Everything else is Django's backend: its ``OPTIONS`` (``db``, ``serializer``,
``pool_class``, and redis-py's connection keywords), key prefixes, versions, the
pickle serializer and the first-server-writes, others-read rule. Django builds a
redis-py ``ConnectionPool`` per server from them, so redis-py must be installed; the
client made from each pool reads its settings (README: Coming from redis-py) and
keeps its own connections, and is made once per server (Django's makes a client
object per cache call, which costs redis-py nothing but would cost a pool here).

This module imports Django; ``import pyredisclient`` alone never does.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List

# Django ships no type information: its two classes are Any to mypy.
from django.core.cache.backends.redis import (  # type: ignore[import-untyped]
    RedisCache as _DjangoRedisCache,
)
from django.core.cache.backends.redis import (
    RedisCacheClient as _DjangoRedisCacheClient,
)

from ..client.sync import RedisClient

__all__ = ["RedisCache", "RedisCacheClient"]


class RedisCacheClient(_DjangoRedisCacheClient):  # type: ignore[misc]
    """Django's cache client, whose ``get_client`` gives one RedisClient per server."""

    def __init__(self, servers: List[str], **options: Any) -> None:
        super().__init__(servers, **options)
        self._client = RedisClient
        self._clients: Dict[int, RedisClient] = {}
        self._clients_lock = threading.Lock()

    def get_client(self, key: Any = None, *, write: bool = False) -> RedisClient:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            pool = self._get_connection_pool(write)
            with self._clients_lock:
                client = self._clients.get(index)
                if client is None:
                    client = self._clients[index] = RedisClient(connection_pool=pool)
        return client


class RedisCache(_DjangoRedisCache):  # type: ignore[misc]
    """``django.core.cache.backends.redis.RedisCache`` on RedisClient (see the
    module's docstring)."""

    def __init__(self, server: Any, params: Dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
