"""The clients: RedisClient, AsyncRedisClient and their pipelines.

- :mod:`.sync`: :class:`RedisClient`, blocking calls with the GIL released in C;
- :mod:`.aio`: :class:`AsyncRedisClient` and :class:`AsyncPipeline`, the same C calls
  stepped by an asyncio event loop;
- :mod:`.pipeline`: :class:`Pipeline`, commands queued in C and sent with one write,
  MULTI/EXEC and WATCH.

The asyncio classes are imported on first use (``pyredisclient.client.AsyncRedisClient``
works): importing asyncio costs a Cloud Function's cold start milliseconds.
"""

from typing import TYPE_CHECKING, Any

from .pipeline import Pipeline
from .sync import RedisClient

if TYPE_CHECKING:
    from .aio import AsyncPipeline, AsyncRedisClient

__all__ = ["AsyncPipeline", "AsyncRedisClient", "Pipeline", "RedisClient"]


def __getattr__(name: str) -> Any:
    if name in ("AsyncRedisClient", "AsyncPipeline"):
        from . import aio

        return getattr(aio, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
