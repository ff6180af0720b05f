"""pyredisclient: a Redis client for Python with a C core.

Fast (connections, I/O and reply parsing run in C with the GIL released), and hard
to knock over: finite timeouts everywhere, a thread-safe and fork-safe pool, safe
retries and a circuit breaker.

This module is the public API. The parts (docs/ARCHITECTURE.md): ``client/`` (the
clients and pipelines), ``commands/`` (command methods by family, reply callbacks, key
prefixes), ``config/``, ``resilience/`` (fallback, health), ``observability/``
(metrics, tracing), ``integrations/`` (FastAPI, pytest plugin, test servers, CLI),
``exceptions`` and the C extension ``_core``. The modules ``aio``, ``pipeline``,
``fallback``, ``health``, ``metrics``, ``tracing``, ``keyprefix``, ``fastapi``,
``pytest_plugin`` and ``testing`` beside this one are compatibility modules: the
former names of moved modules, kept so that existing imports keep working.
"""

from typing import TYPE_CHECKING, Any

from . import _core
from . import exceptions as _exceptions
from ._version import __version__
from .client import Pipeline, RedisClient
from .client.discovery import AsyncSentinel, Sentinel
from .client.sentinel import MasterNotFoundError, SlaveNotFoundError
from .cluster import (
    AsyncRedisClusterClient,
    ClusterCrossSlotError,
    ClusterDownError,
    ClusterError,
    ClusterPipeline,
    CrossSlotTransactionError,
    RedisClusterClient,
    RedisClusterException,
    RedisClusterUnreachableError,
    SlotNotCoveredError,
)
from .commands.keyprefix import KeyPrefixError
from .commands.lock import AsyncLock, Lock, LockError, LockNotOwnedError
from .commands.scripting import Script
from .config import RedisConfig, Secret
from .config.credentials import (
    CredentialProvider,
    PasswordFileCredentialProvider,
    UsernamePasswordCredentialProvider,
)
from .config.retry import Retry
from .exceptions import *  # noqa: F403  (the error table's classes: exceptions.__all__)
from .pubsub import PubSub
from .resilience.fallback import fallback_counts, reset_fallback_counts, with_redis_fallback

if TYPE_CHECKING:
    from .client.aio import AsyncPipeline, AsyncRedisClient
    from .pubsub.aio import AsyncPubSub

hiredis_version = _core.hiredis_version

#: redis-py's name of the error a call gets when no pooled connection is free in time.
MaxConnectionsError = _exceptions.PoolTimeoutError
#: redis-py's name of the error a connection gets when the server is at maxclients.
MaxClientsReachedError = _exceptions.MaxClientsError


def from_url(url: str, **options: Any) -> RedisClient:
    """redis-py's module-level ``from_url``: :meth:`RedisClient.from_url` (for an
    asyncio client, ``pyredisclient.aio.from_url``)."""
    return RedisClient.from_url(url, **options)


__all__ = [
    *_exceptions.__all__,
    "AsyncLock",
    "AsyncPipeline",
    "AsyncPubSub",
    "AsyncRedisClient",
    "AsyncRedisClusterClient",
    "AsyncSentinel",
    "ClusterCrossSlotError",
    "ClusterDownError",
    "ClusterError",
    "ClusterPipeline",
    "CredentialProvider",
    "CrossSlotTransactionError",
    "KeyPrefixError",
    "Lock",
    "LockError",
    "LockNotOwnedError",
    "MasterNotFoundError",
    "MaxClientsReachedError",
    "MaxConnectionsError",
    "PasswordFileCredentialProvider",
    "Pipeline",
    "PubSub",
    "RedisClient",
    "RedisClusterClient",
    "RedisClusterException",
    "RedisClusterUnreachableError",
    "RedisConfig",
    "Retry",
    "Script",
    "Secret",
    "Sentinel",
    "SlaveNotFoundError",
    "SlotNotCoveredError",
    "UsernamePasswordCredentialProvider",
    "__version__",
    "fallback_counts",
    "from_url",
    "reset_fallback_counts",
    "with_redis_fallback",
]


def __getattr__(name: str) -> Any:
    # The asyncio client is imported on first use: importing asyncio costs
    # milliseconds that a Cloud Function's cold start should not pay.
    if name in ("AsyncRedisClient", "AsyncPipeline"):
        from .client import aio

        return getattr(aio, name)
    if name == "AsyncPubSub":
        from .pubsub.aio import AsyncPubSub

        return AsyncPubSub
    raise AttributeError(f"module 'pyredisclient' has no attribute {name!r}")
