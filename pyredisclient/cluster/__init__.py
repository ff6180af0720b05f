"""Redis Cluster: :class:`RedisClusterClient`, routing every command by key slot to
one standalone client per node."""

from .client import RedisClusterClient
from .errors import ClusterCrossSlotError, ClusterDownError, ClusterError
from .pipeline import ClusterPipeline
from .topology import SlotMap, key_slot

__all__ = [
    "ClusterCrossSlotError",
    "ClusterDownError",
    "ClusterError",
    "ClusterPipeline",
    "RedisClusterClient",
    "SlotMap",
    "key_slot",
]
