"""Compatibility module: the former home of the health check, now
:mod:`pyredisclient.resilience.health`.

Everything that module offers is here under the same names. The two checks keep
their former signature, where ``client=None`` means the shared client
(``RedisClient.get_client()``, or the running loop's ``AsyncRedisClient``): the
resilience layer takes a client, or a function returning one, and knows no client
class; this module, above both, names them.
"""

from typing import Any, Dict

from .client.sync import RedisClient
from .resilience import health as _health
from .resilience.health import (
    HEALTH_KEY_PREFIX,
    HEALTH_KEY_TTL_MS,
    MAX_ERROR_LEN,
    memory_status,
    redact,
)

__all__ = [
    "HEALTH_KEY_PREFIX",
    "HEALTH_KEY_TTL_MS",
    "MAX_ERROR_LEN",
    "health_check",
    "health_check_async",
    "memory_status",
    "redact",
]


def health_check(client: Any = None, deep: bool = False) -> Dict[str, Any]:
    """Check *client* (None: the shared ``RedisClient.get_client()``); never raises.
    See :func:`pyredisclient.resilience.health.health_check`."""
    return _health.health_check(RedisClient.get_client if client is None else client, deep)


async def health_check_async(client: Any = None, deep: bool = False) -> Dict[str, Any]:
    """:func:`health_check` for an AsyncRedisClient (None: the running loop's shared
    client); never raises, and cancellation propagates."""
    if client is None:
        # Imported here: asyncio is imported on first use only (pyredisclient/__init__).
        from .client.aio import AsyncRedisClient

        client = AsyncRedisClient.get_client
    return await _health.health_check_async(client, deep)
