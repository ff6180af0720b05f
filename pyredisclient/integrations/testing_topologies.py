"""Throwaway Redis Cluster and Sentinel topologies for tests.

:class:`RedisClusterServers` runs a real cluster (primaries, optionally one
replica each) and :class:`RedisSentinelServers` a primary, its replicas and
a few sentinels, all from ``redis-server`` processes on free loopback ports.
Every process is a :class:`~pyredisclient.testing.RedisServer` (or a small
subclass), so each has its own temporary directory, dies with the process
that started it, is retried on EADDRINUSE, can be paused with SIGSTOP, and
is stopped by pid; a paused one is resumed before it is stopped.

Both managers offer the faults a client must survive: kill a primary and
wait (bounded) for the replacement, restart a node, a manual failover, a
slot migration (cluster), a pause. They talk to the servers over raw
sockets with a tiny RESP2 reader of their own, never with pyredisclient's
client (which may be the code under test) nor with redis-py.

Standard library only; pytest is not imported here (see
:mod:`pyredisclient.integrations.pytest_topologies` for the fixtures).
"""

from __future__ import annotations

from .testing_cluster import ClusterNodeInfo, ClusterNodeServer, RedisClusterServers, SlotRange
from .testing_sentinel import RedisSentinelServers, SentinelServer
from .topology_base import CLUSTER_SLOTS, ReplyError, TopologyError, close_all

__all__ = [
    "CLUSTER_SLOTS",
    "ClusterNodeInfo",
    "ClusterNodeServer",
    "RedisClusterServers",
    "RedisSentinelServers",
    "ReplyError",
    "SentinelServer",
    "SlotRange",
    "TopologyError",
    "close_all",
]
