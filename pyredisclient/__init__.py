"""pyredisclient: a Redis client for Python with a C core.

Fast (connections, I/O and reply parsing run in C with the GIL released), and hard
to knock over: finite timeouts everywhere, a thread-safe and fork-safe pool, safe
retries and a circuit breaker.
"""

from typing import TYPE_CHECKING, Any

from . import _core
from . import exceptions as _exceptions
from .client import RedisClient
from .config import RedisConfig, Secret
from .exceptions import *  # noqa: F403  (the error table's classes: exceptions.__all__)
from .fallback import fallback_counts, reset_fallback_counts, with_redis_fallback
from .keyprefix import KeyPrefixError
from .pipeline import Pipeline
from .pubsub import PubSub

if TYPE_CHECKING:
    from .aio import AsyncPipeline, AsyncRedisClient
    from .pubsub.aio import AsyncPubSub

__version__ = "0.1.0"
hiredis_version = _core.hiredis_version

__all__ = [
    *_exceptions.__all__,
    "AsyncPipeline",
    "AsyncPubSub",
    "AsyncRedisClient",
    "KeyPrefixError",
    "Pipeline",
    "PubSub",
    "RedisClient",
    "RedisConfig",
    "Secret",
    "__version__",
    "fallback_counts",
    "reset_fallback_counts",
    "with_redis_fallback",
]


def __getattr__(name: str) -> Any:
    # The asyncio client is imported on first use: importing asyncio costs
    # milliseconds that a Cloud Function's cold start should not pay.
    if name in ("AsyncRedisClient", "AsyncPipeline"):
        from . import aio

        return getattr(aio, name)
    if name == "AsyncPubSub":
        from .pubsub.aio import AsyncPubSub

        return AsyncPubSub
    raise AttributeError(f"module 'pyredisclient' has no attribute {name!r}")
