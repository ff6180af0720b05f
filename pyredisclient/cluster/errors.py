"""The errors only the cluster client raises."""

from __future__ import annotations

from ..exceptions import RedisError, ResponseError

__all__ = [
    "ClusterCrossSlotError",
    "ClusterDownError",
    "ClusterError",
    "CrossSlotTransactionError",
    "RedisClusterException",
    "RedisClusterUnreachableError",
    "SlotNotCoveredError",
]


class ClusterError(RedisError):
    """The cluster cannot serve a call: no node reachable, a slot not covered, too
    many redirections, or a command the cluster client cannot run as asked."""


class ClusterCrossSlotError(ClusterError, ResponseError):
    """A command's keys hash to more than one slot, and the command is not one the
    client splits per slot (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH). Give the keys a
    common hash tag (``{user1}:a``, ``{user1}:b``) to keep them on one slot."""


class CrossSlotTransactionError(ClusterCrossSlotError):
    """A transaction (``pipeline(transaction=True)``, or a pipeline's ``watch()``)
    whose keys hash to more than one slot (redis-py's name): refused before anything
    is sent."""


class RedisClusterUnreachableError(ClusterError):
    """No node, seed or known, answered for the slot map (redis-py's name): the
    cluster cannot be reached at all."""


class ClusterDownError(ClusterError, ResponseError):
    """The cluster answered CLUSTERDOWN (or TRYAGAIN) for longer than the call's
    deadline allowed retrying."""


class SlotNotCoveredError(ClusterDownError):
    """No primary serves the slot of the call's keys (redis-py's name): the slot map
    has none for it, and none came before the call's deadline."""


#: redis-py's base class of the cluster client's own errors: ``except
#: RedisClusterException`` catches them here too (a RedisError as well).
RedisClusterException = ClusterError
