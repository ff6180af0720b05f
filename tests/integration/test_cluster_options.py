"""redis-py's ``RedisCluster`` keywords on real clusters (cluster/options.py).

``address_remap`` sends every node the cluster announces (slot map, MOVED) through a
forwarding proxy of the test's own, as NAT or a container's port forwards would;
``require_full_coverage`` and ``cluster_error_retry_attempts`` on a cluster of the
test's own with one slot unassigned, then a node stopped; ``url=``; and the keywords that
are taken with nothing to do, or refused.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest
from fakeservers import FaultProxy
from server_helpers import key_in_slot_of

from pyredisclient import (
    AsyncRedisClusterClient,
    ConfigurationError,
    ConnectionError,
    RedisClusterClient,
    SlotNotCoveredError,
)
from pyredisclient.cluster import ClusterError
from pyredisclient.cluster.options import ClusterOptions, take_cluster_options
from pyredisclient.cluster.state import ClusterState
from pyredisclient.config import RedisConfig
from pyredisclient.integrations.testing import redis_server_available
from pyredisclient.integrations.testing_topologies import RedisClusterServers

pytestmark = pytest.mark.skipif(not redis_server_available(), reason="needs redis-server")


@pytest.fixture
def proxies(redis_cluster: RedisClusterServers) -> Iterator[Dict[int, FaultProxy]]:
    """A forwarding proxy in front of every node, by the node's port."""
    made = {port: FaultProxy((host, port), drop_first=0) for host, port in redis_cluster.addresses}
    try:
        yield made
    finally:
        for proxy in made.values():
            proxy.close()


def test_address_remap_sends_every_announced_node_through_it(
    redis_cluster: RedisClusterServers, proxies: Dict[int, FaultProxy]
) -> None:
    seen: List[Tuple[str, int]] = []

    def remap(address: Tuple[str, int]) -> Tuple[str, int]:
        seen.append(address)
        return "127.0.0.1", proxies[address[1]].port

    primaries = redis_cluster.primaries()
    seed = proxies[primaries[0].port].port
    with RedisClusterClient("127.0.0.1", seed, address_remap=remap, socket_timeout=2) as c:
        keys = [key_in_slot_of(redis_cluster, p)[0] for p in primaries]
        for key in keys:
            assert c.set(key, key) is True and c.get(key) == key.encode()
        names = sorted(n.name for n in c.get_nodes())
        assert names == sorted(f"127.0.0.1:{proxies[p.port].port}" for p in primaries)
        assert {port for _, port in seen} >= {p.port for p in primaries}
        assert all(proxies[p.port].accepted >= 1 for p in primaries)  # every node via its proxy
        proxied = {f"127.0.0.1:{proxy.port}" for proxy in proxies.values()}
        target = primaries[1]
        # An ASK names the importing node as the cluster knows it: remapped too (a
        # GET of a key the migrating node does not have is sent on with ASKING).
        key, slot = key_in_slot_of(redis_cluster, primaries[0], "asked")
        redis_cluster.begin_slot_migration(slot, target, source=primaries[0])
        try:
            assert c.get(key) is None
            assert c.metrics()["cluster"]["ask"] >= 1
            assert set(c._state.clients) <= proxied  # no node reached at its own address
        finally:
            for node in (primaries[0], target):
                redis_cluster.command(node, "CLUSTER", "SETSLOT", slot, "STABLE")
        # A MOVED names the new owner as the cluster knows it: remapped too.
        key, slot = key_in_slot_of(redis_cluster, primaries[0], "moved")
        redis_cluster.begin_slot_migration(slot, target, source=primaries[0])
        redis_cluster.finish_slot_migration(slot, target, source=primaries[0])
        try:
            assert c.set(key, "after the move") is True
            assert c.get_node_from_key(key).name == f"127.0.0.1:{proxies[target.port].port}"
            assert c.metrics()["cluster"]["moved"] >= 1
            assert set(c._state.clients) <= proxied
        finally:
            assert c.delete(key) == 1
            redis_cluster.begin_slot_migration(slot, primaries[0], source=target)
            redis_cluster.finish_slot_migration(slot, primaries[0], source=target)


def test_address_remap_asyncio_and_a_remap_that_gives_nonsense(
    redis_cluster: RedisClusterServers, proxies: Dict[int, FaultProxy]
) -> None:
    import asyncio

    def remap(address: Tuple[str, int]) -> Tuple[str, int]:
        return "127.0.0.1", proxies[address[1]].port

    host, port = redis_cluster.addresses[0]

    async def main() -> List[Any]:
        async with AsyncRedisClusterClient(host, port, address_remap=remap) as c:
            await c.set("remapped", "yes")
            return [await c.get("remapped"), sorted(n.port for n in c.get_nodes())]

    got, ports = asyncio.run(main())
    assert got == b"yes"
    assert ports == sorted(proxies[p.port].port for p in redis_cluster.primaries())
    with RedisClusterClient(host, port, address_remap=lambda a: "nowhere") as bad:
        with pytest.raises(ClusterError, match="address_remap gave 'nowhere'"):
            bad.get("k")


def test_full_coverage_and_a_retry_count_on_a_cluster_of_its_own(
    redis_cluster_factory: Callable[..., RedisClusterServers],
) -> None:
    cluster = redis_cluster_factory(extra_args=["--cluster-require-full-coverage", "no"])
    host, port = cluster.addresses[0]
    owner = cluster.node_for_slot(0)
    for node in cluster.primaries():  # slot 0 unassigned, in every node's view
        cluster.command(node, "CLUSTER", "DELSLOTS", 0)
    partial = RedisClusterClient(host, port, socket_timeout=1)
    strict = RedisClusterClient(host, port, socket_timeout=1, require_full_coverage=True)
    try:
        other = "{a}"  # slot 15495: still served
        assert partial.set(other, 1) is True  # the slots that are served are served
        with pytest.raises(SlotNotCoveredError, match="slot 0 is not served"):
            partial.get("z10538")  # slot 0: redis-py's SlotNotCoveredError, a ClusterError
        with pytest.raises(ClusterError, match="All slots are not covered: 16383 of 16384"):
            strict.get(other)
        cluster.command(owner, "CLUSTER", "ADDSLOTS", 0)
        deadline = time.monotonic() + 10
        while True:  # every node learns the slot's owner again
            try:
                assert strict.get(other) == b"1"
                break
            except ClusterError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        # cluster_error_retry_attempts: with a node gone (connections refused, which
        # are retried), one retry, where retry_timeout alone allows many.
        key, _ = key_in_slot_of(cluster, cluster.primaries()[0])
        capped = RedisClusterClient(host, port, retry_timeout=2.0, cluster_error_retry_attempts=1)
        uncapped = RedisClusterClient(host, port, retry_timeout=1.0)
        try:
            assert capped.set(key, "v") is True and uncapped.get(key) == b"v"
            cluster.primaries()[0].stop()
            start = time.monotonic()
            with pytest.raises(ConnectionError):
                capped.get(key)
            assert time.monotonic() - start < 1.5
            assert capped.metrics()["cluster"]["retries"] == 1
            with pytest.raises((ConnectionError, ClusterError)):
                uncapped.get(key)
            assert uncapped.metrics()["cluster"]["retries"] > 1
        finally:
            capped.close()
            uncapped.close()
    finally:
        partial.close()
        strict.close()


def test_url_keyword_and_keywords_taken_or_refused(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[0]
    with RedisClusterClient(url=f"redis://{host}:{port}/0", reinitialize_steps=5) as c:
        assert c.set("via-url", 1) is True
    with pytest.raises(ConfigurationError, match="url"):
        RedisClusterClient(host, port, url=f"redis://{host}:{port}")
    for bad, match in (
        ({"path": "/tmp/x.sock"}, "TCP"),
        ({"policy_resolver": object()}, "policy_resolver"),
        ({"require_full_coverage": "yes"}, "True or False"),
        ({"cluster_error_retry_attempts": -1}, ">= 0"),
        ({"address_remap": "10.0.0.1"}, "function"),
        ({"reinitialize_steps": 1.5}, "int"),
    ):
        with pytest.raises(ConfigurationError, match=match):
            RedisClusterClient(host, port, **bad)
    # from_url passes them on
    with RedisClusterClient.from_url(
        f"redis://{host}:{port}", require_full_coverage=True, dynamic_startup_nodes=False
    ) as c:
        assert c._state.options.require_full_coverage is True
        assert c.ping() is True


def test_dynamic_startup_nodes_off_asks_the_seeds_first() -> None:
    # Unit logic: whom a refresh asks, in order.
    from pyredisclient.cluster.topology import SlotMap

    def state(**options: Any) -> ClusterState:
        s = ClusterState(
            RedisConfig(),
            [("lb.example", 7000)],
            0.25,
            object,
            take_cluster_options(dict(options)),
        )
        s.map = SlotMap(["10.0.0.1:7000"] * 16384, {})
        return s

    assert state().candidates() == ["10.0.0.1:7000", "lb.example:7000"]
    assert state(dynamic_startup_nodes=False).candidates() == ["lb.example:7000", "10.0.0.1:7000"]
    assert take_cluster_options({}) == ClusterOptions()
