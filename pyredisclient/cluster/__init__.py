"""Redis Cluster: :class:`RedisClusterClient` and :class:`AsyncRedisClusterClient`,
routing every command by key slot to one standalone client per node."""

from .aio import AsyncRedisClusterClient
from .client import RedisClusterClient
from .commands import ClusterNode
from .errors import (
    ClusterCrossSlotError,
    ClusterDownError,
    ClusterError,
    CrossSlotTransactionError,
    RedisClusterException,
    RedisClusterUnreachableError,
    SlotNotCoveredError,
)
from .pipeline import AsyncClusterPipeline, ClusterPipeline
from .pubsub import AsyncClusterPubSub, ClusterPubSub
from .topology import SlotMap, key_slot

__all__ = [
    "AsyncClusterPipeline",
    "AsyncClusterPubSub",
    "AsyncRedisClusterClient",
    "ClusterCrossSlotError",
    "ClusterDownError",
    "ClusterError",
    "ClusterNode",
    "ClusterPipeline",
    "ClusterPubSub",
    "CrossSlotTransactionError",
    "RedisClusterClient",
    "RedisClusterException",
    "RedisClusterUnreachableError",
    "SlotMap",
    "SlotNotCoveredError",
    "key_slot",
]
