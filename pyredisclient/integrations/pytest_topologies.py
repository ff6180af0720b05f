"""pytest fixtures: a real Redis Cluster and a real Sentinel set-up.

Loaded with :mod:`pyredisclient.integrations.pytest_plugin` (its ``pytest_plugins``), so
every project that installs pyredisclient gets them. Each starts its own
``redis-server`` processes on free loopback ports (an external server given
with ``--pyredisclient-url`` is not used), once per session and so once per
pytest-xdist worker, and stops them by pid at the end, resuming paused ones
first. They skip when ``redis-server`` is not installed.

``redis_cluster`` (function)
    A :class:`~pyredisclient.integrations.testing_topologies.RedisClusterServers` of 3
    primaries (``cluster-node-timeout`` 1 s), started once per session.
    Before each test it is healed (paused nodes resumed, stopped ones
    restarted, every slot served) and emptied with FLUSHALL, so a test may
    kill, pause, fail over or migrate freely.
``redis_cluster_with_replicas`` (function)
    The same with 3 primaries and one replica each.
``redis_sentinel`` (function)
    A :class:`~pyredisclient.integrations.testing_topologies.RedisSentinelServers`: one
    primary, one replica and 3 sentinels (quorum 2, ``down-after-milliseconds``
    1 s) watching ``mymaster``; healed and emptied before each test.
``redis_cluster_session``, ``redis_cluster_with_replicas_session``, ``redis_sentinel_session`` (session)
    The same topologies without the per-test healing, for session-scoped
    fixtures of your own.
``redis_cluster_factory``, ``redis_sentinel_factory`` (function)
    Start topologies of any shape (the managers' keyword arguments:
    ``primaries``, ``replicas_per_primary``, ``password``, ``tls``,
    ``replicas``, ``sentinels``, ...), all closed after the test.

Example::

    def test_failover(redis_cluster_with_replicas):
        cluster = redis_cluster_with_replicas
        new_primary = cluster.kill_primary()   # returns once the replica took over
        ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable, TypeVar

import pytest

from .testing import redis_server_available
from .testing_topologies import RedisClusterServers, RedisSentinelServers, close_all

__all__: list[str] = []

_SKIP_NO_SERVER = (
    "redis-server not found on PATH (the cluster and sentinel fixtures start their own servers)"
)

_Topology = TypeVar("_Topology", RedisClusterServers, RedisSentinelServers)


def _session(topology: _Topology) -> Iterator[_Topology]:
    if not redis_server_available():
        pytest.skip(_SKIP_NO_SERVER)
    topology.start()  # closes whatever it started if it fails
    try:
        yield topology
    finally:
        topology.close()


def _healed(topology: _Topology) -> _Topology:
    topology.heal()
    topology.flushall()
    return topology


@pytest.fixture(scope="session")
def redis_cluster_session() -> Iterator[RedisClusterServers]:
    """A 3-primary cluster for the whole session (one per xdist worker)."""
    yield from _session(RedisClusterServers(3, 0))


@pytest.fixture(scope="session")
def redis_cluster_with_replicas_session() -> Iterator[RedisClusterServers]:
    """A cluster of 3 primaries with a replica each, for the whole session."""
    yield from _session(RedisClusterServers(3, 1))


@pytest.fixture(scope="session")
def redis_sentinel_session() -> Iterator[RedisSentinelServers]:
    """A primary, a replica and 3 sentinels, for the whole session."""
    yield from _session(RedisSentinelServers())


@pytest.fixture
def redis_cluster(redis_cluster_session: RedisClusterServers) -> RedisClusterServers:
    """The session's 3-primary cluster, healed and emptied for this test."""
    return _healed(redis_cluster_session)


@pytest.fixture
def redis_cluster_with_replicas(
    redis_cluster_with_replicas_session: RedisClusterServers,
) -> RedisClusterServers:
    """The session's 3+3 cluster, healed and emptied for this test."""
    return _healed(redis_cluster_with_replicas_session)


@pytest.fixture
def redis_sentinel(redis_sentinel_session: RedisSentinelServers) -> RedisSentinelServers:
    """The session's sentinel set-up, healed and emptied for this test."""
    return _healed(redis_sentinel_session)


def _factory(kind: Callable[..., _Topology]) -> Iterator[Callable[..., _Topology]]:
    if not redis_server_available():
        pytest.skip(_SKIP_NO_SERVER)
    made: list[_Topology] = []

    def make(*args: Any, start: bool = True, **kwargs: Any) -> _Topology:
        topology = kind(*args, **kwargs)
        made.append(topology)
        if start:
            topology.start()
        return topology

    try:
        yield make
    finally:
        close_all(reversed(made))


@pytest.fixture
def redis_cluster_factory() -> Iterator[Callable[..., RedisClusterServers]]:
    """A callable starting clusters (RedisClusterServers' arguments), closed after the test.

    Pass ``start=False`` for a prepared but not yet started cluster.
    """
    yield from _factory(RedisClusterServers)


@pytest.fixture
def redis_sentinel_factory() -> Iterator[Callable[..., RedisSentinelServers]]:
    """A callable starting sentinel set-ups (RedisSentinelServers' arguments), closed after the test."""
    yield from _factory(RedisSentinelServers)
