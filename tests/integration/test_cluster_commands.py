"""redis-py's RedisCluster-only methods (cluster/commands.py) on a real cluster, beside
redis-py 8's RedisCluster: keyslot, mget/mset_nonatomic, the cluster_* management
methods, and target_nodes. Fields that change from one moment to the next (ping
times, offsets) are compared by shape only."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, List

import pytest

from pyredisclient import AsyncRedisClusterClient, DataError, RedisClusterClient, ResponseError
from pyredisclient.cluster import ClusterNode
from pyredisclient.cluster.errors import ClusterError
from pyredisclient.integrations.testing_topologies import RedisClusterServers

redis = pytest.importorskip("redis")
rcluster = pytest.importorskip("redis.cluster")

STABLE_NODE_FIELDS = ("node_id", "flags", "master_id", "slots", "connected", "migrations")


def _clients(cluster: RedisClusterServers) -> Any:
    host, port = cluster.addresses[0]
    return RedisClusterClient(host=host, port=port), rcluster.RedisCluster(host=host, port=port)


def test_cluster_methods_as_redis_py(redis_cluster: RedisClusterServers) -> None:
    c, ref = _clients(redis_cluster)
    try:
        for key in ("k", "{user1}:a", "{user1}:b", b"\xff\x00", 42, 1.5):
            assert c.keyslot(key) == ref.keyslot(key) == c.cluster_keyslot(key)
        with pytest.raises(DataError):
            c.keyslot(None)
        mapping = {f"nk{i}": str(i) for i in range(20)}
        groups = ref.mset_nonatomic(mapping)
        assert c.mset_nonatomic(mapping) == groups and len(groups) > 1
        keys = [*mapping, "missing"]
        assert c.mget_nonatomic(keys) == ref.mget_nonatomic(keys)
        assert c.mget_nonatomic("nk1", "nk2") == [b"1", b"2"]
        with pytest.raises(DataError):
            c.mset_nonatomic({})

        info = c.cluster_info()
        assert info["cluster_state"] == "ok" and info["cluster_known_nodes"] == "3"

        def fixed(fields: Dict[str, str]) -> set:  # message counters vary by node
            return {k for k in fields if not k.startswith("cluster_stats_messages")}

        assert fixed(info) == fixed(ref.cluster_info())
        nodes, ref_nodes = c.cluster_nodes(), ref.cluster_nodes()
        assert set(nodes) == set(ref_nodes) and len(nodes) == 3
        for addr, node in nodes.items():
            assert set(node) == set(ref_nodes[addr])
            for field in STABLE_NODE_FIELDS:
                mine, theirs = node[field], ref_nodes[addr][field]
                if field == "flags":  # "myself" marks the node that answered
                    mine, theirs = mine.replace("myself,", ""), theirs.replace("myself,", "")
                assert mine == theirs, (addr, field)
        assert c.cluster_slots() == ref.cluster_slots()
        shards, ref_shards = c.cluster_shards(), ref.cluster_shards()
        assert sorted(s["slots"] for s in shards) == sorted(s["slots"] for s in ref_shards)
        assert len(shards) == 3 and all(len(s["nodes"]) == 1 for s in shards)

        host, port = redis_cluster.addresses[1]
        name = f"{host}:{port}"
        myid = c.cluster_myid(name)
        assert myid == ref.cluster_myid(ref.get_node(host, port))
        assert nodes[name]["node_id"] == myid.decode()
        # The same node however it is named (redis-py's ClusterNode too).
        for spec in ((host, port), ref.get_node(host, port), [name, (host, port)]):
            assert c.cluster_myid(spec) == myid
        assert c.cluster_count_failure_report(myid.decode()) == 0
        version = tuple(int(x) for x in c.info("server")["redis_version"].split(".")[:2])
        if version >= (7, 2):
            assert len(c.cluster_myshardid(target_nodes=name)) == 40
        else:  # the server's own refusal, from the node asked
            with pytest.raises(ResponseError, match=r"(?i)unknown subcommand"):
                c.cluster_myshardid(target_nodes=name)
        assert c.cluster_replicas(myid.decode()) == {}
        assert isinstance(c.cluster_links(name), list)

        # A slot's count and keys: from the primary serving it (0 anywhere else).
        slot = c.keyslot("nk3")
        here = [k for k in mapping if c.keyslot(k) == slot]
        assert c.cluster_countkeysinslot(slot) == len(here) == ref.cluster_countkeysinslot(slot)
        assert c.cluster("countkeysinslot", slot) == len(here)
        assert c.cluster("COUNTKEYSINSLOT", str(slot).encode()) == len(here)
        assert sorted(c.cluster_get_keys_in_slot(slot, 100)) == sorted(here)
        assert c.cluster_get_keys_in_slot(slot, 100) == ref.cluster_get_keys_in_slot(slot, 100)
        for bad in (-1, 16384, "x", b"99999"):
            with pytest.raises(DataError, match="slot"):
                c.cluster_countkeysinslot(bad)
        with pytest.raises(DataError, match="bool"):  # refused as an argument first
            c.cluster_countkeysinslot(True)

        # target_nodes: one node gives its reply, several a dict by host:port.
        per_node = c.cluster_info(target_nodes="primaries")
        assert set(per_node) == set(nodes) and all(
            i["cluster_state"] == "ok" for i in per_node.values()
        )
        assert set(c.cluster_info(target_nodes="all")) == set(nodes)
        assert c.cluster_info(target_nodes="random")["cluster_state"] == "ok"
        assert c.cluster_slots(target_nodes="default-node") == c.cluster_slots()
        assert set(c.cluster_shards(target_nodes=[name, redis_cluster.addresses[2]])) == {
            name,
            "{}:{}".format(*redis_cluster.addresses[2]),
        }
        with pytest.raises(ClusterError, match="no replica"):
            c.cluster_info(target_nodes="replicas")
        # Any command, as redis-py's execute_command(..., target_nodes=...).
        for const in ("PRIMARIES", "REPLICAS", "ALL_NODES", "RANDOM", "DEFAULT_NODE"):
            assert getattr(RedisClusterClient, const) == getattr(rcluster.RedisCluster, const)
        # Several nodes' replies: merged where redis-py merges them (DBSIZE adds
        # up), else by node.
        size = c.execute_command("DBSIZE", target_nodes=RedisClusterClient.PRIMARIES)
        assert size == ref.execute_command("DBSIZE", target_nodes=ref.PRIMARIES) == 20
        times = c.execute_command("TIME", target_nodes=RedisClusterClient.PRIMARIES)
        assert set(times) == set(nodes)
        assert c.execute_command("PING", target_nodes=name) == b"PONG"
        assert c.execute_command("ECHO", "x") == b"x"  # no target: as before
        for bad in ("127.0.0.1:1", 42, [], ("h",)):
            with pytest.raises(DataError, match="target_nodes"):
                c.cluster_info(target_nodes=bad)
    finally:
        c.close()
        ref.close()


def test_cluster_methods_with_a_key_prefix(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[0]
    with RedisClusterClient(
        host=host, port=port, key_prefix="{t}:", key_prefix_allow="unconfined"
    ) as c:
        c.set("a", 1)
        # The prefix leaves where a targeted command goes alone.
        names = [f"{h}:{p}" for h, p in redis_cluster.addresses]
        ids = [c.cluster_myid(name) for name in names]
        with RedisClusterClient(host=host, port=port) as plain:
            assert ids == [plain.cluster_myid(name) for name in names]
        assert len(set(ids)) == 3


def test_async_cluster_methods(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[0]

    async def main() -> List[Any]:
        async with AsyncRedisClusterClient(host=host, port=port) as c:
            await c.set("ak", 1)
            slot = c.keyslot("ak")
            info: Dict[str, Any] = await c.cluster_info(target_nodes="primaries")
            return [
                await c.cluster_countkeysinslot(slot),
                await c.cluster_get_keys_in_slot(slot, 10),
                await c.mset_nonatomic({"a1": 1, "a2": 2, "a3": 3}),
                await c.mget_nonatomic(["a1", "a2", "a3"]),
                len(info),
            ]

    count, keys, groups, values, primaries = asyncio.run(main())
    assert count == 1 and keys == ["ak"]
    assert groups == [True] * len(groups) and values == [b"1", b"2", b"3"]
    assert primaries == 3


def test_replicas_as_targets(redis_cluster_with_replicas: RedisClusterServers) -> None:
    host, port = redis_cluster_with_replicas.addresses[0]
    with RedisClusterClient(host=host, port=port, decode_responses=True) as c:
        nodes = c.cluster_nodes()
        primaries = {a: n for a, n in nodes.items() if "master" in n["flags"]}
        replicas = {a for a, n in nodes.items() if "slave" in n["flags"]}
        assert len(primaries) == 3 and len(replicas) == 3
        per_replica = c.cluster_info(target_nodes="replicas")
        assert set(per_replica) == replicas
        assert all(info["cluster_state"] == "ok" for info in per_replica.values())
        for node in primaries.values():
            assert len(c.cluster_replicas(node["node_id"])) == 1
        shards = c.cluster_shards()  # decoded: the field names are text
        assert len(shards) == 3 and all(len(s["nodes"]) == 2 for s in shards)
        assert all(isinstance(s["slots"][0][0], int) for s in shards)


def test_node_lookups_as_redis_py(redis_cluster_with_replicas: RedisClusterServers) -> None:
    host, port = redis_cluster_with_replicas.addresses[0]
    ref = rcluster.RedisCluster(host=host, port=port)
    with RedisClusterClient(host=host, port=port) as c:
        names = lambda nodes: sorted(n.name for n in nodes)  # noqa: E731
        # redis-py learns replicas from CLUSTER SLOTS, which leaves out one still
        # syncing; the map here (CLUSTER SHARDS) names every replica.
        assert names(c.get_primaries()) == names(ref.get_primaries())
        replicas = sorted(a for a, n in c.cluster_nodes().items() if "slave" in n["flags"])
        assert names(c.get_replicas()) == replicas and len(replicas) == 3
        assert names(c.get_nodes()) == sorted([*names(c.get_primaries()), *replicas])
        assert all(n.server_type == "primary" for n in c.get_primaries())
        assert c.get_random_node() in c.get_nodes()
        assert c.get_default_node() in c.get_primaries()
        node = c.get_node(host, port)
        assert node is not None and node == c.get_node(node_name=f"{host}:{port}")
        assert c.get_node("127.0.0.1", 1) is None
        for key in ("k", "{user1}:a"):
            assert c.get_node_from_key(key).name == ref.get_node_from_key(key).name
            replica = c.get_node_from_key(key, replica=True)
            assert replica.server_type == "replica" and replica.name in replicas
        # A node's own client, and nodes as target_nodes (redis-py's too).
        primary = c.get_node_from_key("k")
        assert primary.redis_connection.set("k", "v") is True
        assert c.get("k") == b"v"
        assert set(c.cluster_info(target_nodes=c.get_primaries())) == set(names(c.get_primaries()))
        assert c.cluster_myid(ref.get_node(host, port)) == c.cluster_myid(ClusterNode(host, port))
        assert repr(ClusterNode(host, port)) == f"<ClusterNode {host}:{port}>"
        assert ClusterNode(host, port).redis_connection is None
        assert {node, ClusterNode(host, port)} == {node}
    ref.close()


def test_nodes_manager_as_redis_py(redis_cluster_with_replicas: RedisClusterServers) -> None:
    """``nodes_manager``, which code written for redis-py reads the layout from,
    gives what redis-py's gives for the same cluster, read from the client's map."""
    host, port = redis_cluster_with_replicas.addresses[0]
    ref = rcluster.RedisCluster(host=host, port=port)
    with RedisClusterClient(host=host, port=port) as c:
        nm, rnm = c.nodes_manager, ref.nodes_manager
        # redis-py leaves out a replica still syncing (see above): compare primaries.
        primaries = sorted(
            n for n, node in rnm.nodes_cache.items() if node.server_type == "primary"
        )
        assert sorted(n.name for n in nm.get_nodes_by_server_type("primary")) == primaries
        assert sorted(nm.nodes_cache) == _names(c.get_nodes()) and len(nm.nodes_cache) == 6
        assert all(name == node.name for name, node in nm.nodes_cache.items())
        cache = nm.slots_cache
        assert len(cache) == 16384 and c.nodes_manager.slots_cache is cache  # once per map
        with pytest.raises(TypeError):
            cache[0] = ()  # type: ignore[index]
        for key in ("k", "{user1}:a", "zz"):
            slot = c.keyslot(key)
            owners = cache[slot]
            assert owners[0].name == rnm.slots_cache[slot][0].name
            assert owners[0] == nm.get_node_from_slot(slot) == c.get_node_from_key(key)
            assert [n.server_type for n in owners] == ["primary", "replica"]
            replica = nm.get_node_from_slot(slot, server_type="replica")
            assert replica == owners[1] == nm.get_node_from_slot(slot, read_from_replicas=True)
        assert nm.get_node(host, port) == c.get_node(host, port) and nm.get_node(host, 1) is None
        assert list(nm.startup_nodes) == [f"{host}:{port}"]
        assert nm.default_node == c.get_default_node()
        assert repr(nm) == "<NodesManager 6 nodes>"
        # The default node: set through nodes_manager, or replaced (redis-py's).
        first = c.get_default_node()
        c.replace_default_node()
        second = c.get_default_node()
        assert second != first and second in c.get_primaries()
        nm.default_node = first
        assert c.get_default_node() == first
        c.replace_default_node(second)
        assert c.get_default_node() == second
        with pytest.raises(ClusterError, match="not a node"):
            nm.default_node = "127.0.0.1:1"
        # A node's own client, by node or name (redis-py's get_redis_connection).
        assert c.get_redis_connection(first).ping() is True
        assert c.get_redis_connection(first.name) is c.get_redis_connection(first)
        with pytest.raises(ClusterError, match="not a node"):
            c.get_redis_connection(("127.0.0.1", 1))
        # initialize() reads the map again: a new map, so a new slots_cache.
        nm.initialize()
        assert c.nodes_manager.slots_cache is not cache and c.nodes_manager.slots_cache == cache
    ref.close()
    # No node answers: initialize() says so; a closed client says that.
    lone = RedisClusterClient(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    with pytest.raises(ClusterError, match="no cluster node gave a slot map"):
        lone.nodes_manager.initialize()
    lone.close()
    with pytest.raises(ClusterError, match="closed"):
        lone.nodes_manager.initialize()


def test_async_nodes_manager(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[0]

    async def main() -> List[Any]:
        async with AsyncRedisClusterClient(host=host, port=port) as c:
            nm = c.nodes_manager
            with pytest.raises(ClusterError, match="initialize"):
                nm.get_node_from_slot(0)
            assert await nm.initialize() is None
            owner = nm.get_node_from_slot(c.keyslot("ak"))
            # No replicas: a replica asked for gives the primary, as redis-py's does.
            assert nm.get_node_from_slot(c.keyslot("ak"), server_type="replica") == owner
            await c.get_redis_connection(owner).set("ak", 1)
            return [type(nm).__name__, len(nm.slots_cache), await c.get("ak")]

    assert asyncio.run(main()) == ["AsyncNodesManager", 16384, b"1"]


def test_async_node_lookups_need_the_map(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[0]

    async def main() -> List[Any]:
        async with AsyncRedisClusterClient(host=host, port=port) as c:
            with pytest.raises(ClusterError, match="initialize"):
                c.get_nodes()
            assert await c.initialize() is c
            primary = c.get_node_from_key("ak")
            assert c.get_node_from_key("ak", replica=True) is None and c.get_replicas() == []
            await primary.redis_connection.set("ak", 1)
            return [len(c.get_primaries()), await c.get("ak")]

    assert asyncio.run(main()) == [3, b"1"]

    async def awaited() -> int:  # redis.asyncio's ``await RedisCluster(...)``: initialize()
        c = await AsyncRedisClusterClient(host=host, port=port)
        try:
            return len(c.get_primaries())
        finally:
            await c.aclose()

    assert asyncio.run(awaited()) == 3


# -- the default node, and target_nodes on command methods -----------------------------


def _names(nodes: Any) -> List[str]:
    return sorted(n.name for n in nodes)


def test_keyless_commands_stay_on_the_default_node(redis_cluster: RedisClusterServers) -> None:
    """What one keyless call sets on a node the next one reads there (redis-py's
    default node): before, each went to a random primary, so an ACL user or a
    connection name set by one call was missing for the next two times in three."""
    host, port = redis_cluster.addresses[0]
    user = "default-node-test"
    with RedisClusterClient(host=host, port=port) as c:
        default = c.get_default_node()
        assert default in c.get_primaries() and c.get_default_node() == default
        try:
            assert c.acl_setuser(user, enabled=True, nopass=True) is True
            for _ in range(12):
                assert c.acl_getuser(user) is not None
                assert user in c.acl_users()
            # Only the default node has it; "default-node" names it.
            where = c.acl_users(target_nodes="all")
            assert [n for n, users in where.items() if user in users] == [default.name]
            assert user in c.acl_users(target_nodes="default-node")
            # set_default_node moves keyless commands, for as long as the map names it.
            other = next(n for n in c.get_primaries() if n != default)
            assert c.set_default_node(other) is True
            assert c.get_default_node() == other and c.acl_getuser(user) is None
            assert c.set_default_node((default.host, default.port)) is True
            assert c.acl_getuser(user) is not None
            for bad in (None, "127.0.0.1:1", "primaries", 42):
                assert c.set_default_node(bad) is False
            assert c.get_default_node() == default
        finally:
            c.acl_deluser(user, target_nodes="all")
        assert c.acl_getuser(user) is None


def test_pubsub_introspection_asks_every_node(redis_cluster: RedisClusterServers) -> None:
    """PUBSUB CHANNELS/NUMSUB/NUMPAT (and the shard ones) without target_nodes ask
    every node and merge (as valkey-glide does): each node knows only its own
    subscribers, so the default node alone (redis-py 8.1) gives a partial answer."""
    c, ref = _clients(redis_cluster)
    subs = []
    try:
        names = [f"pin:{i}" for i in range(9)]
        for name in names:  # each on the node serving its slot
            p = c.pubsub()
            p.subscribe(name)
            subs.append(p)
        assert len({p.node for p in subs}) == len(c.get_primaries())
        pattern = c.pubsub(next(n for n in c.get_primaries() if n != c.get_default_node()))
        pattern.psubscribe("pin-a:*", "pin-b:*")
        shard = c.pubsub()
        shard.ssubscribe("pin-s:{x}", "pin-s:{y}")
        subs += [pattern, shard]
        assert sorted(c.pubsub_channels("pin:*")) == [n.encode() for n in names]
        assert len(ref.pubsub_channels("pin:*")) < len(names)  # one node's
        assert c.pubsub_numsub("pin:1", "pin:7", "pin:none") == [
            (b"pin:1", 1),
            (b"pin:7", 1),
            (b"pin:none", 0),
        ]
        # The patterns are on another node than the default one.
        assert c.pubsub_numpat() >= c.pubsub_numpat(target_nodes=c.get_default_node()) + 2
        assert sorted(c.pubsub_shardchannels("pin-s:*")) == [b"pin-s:{x}", b"pin-s:{y}"]
        assert c.pubsub_shardnumsub("pin-s:{x}") == [(b"pin-s:{x}", 1)]

        async def from_asyncio() -> Any:
            a = AsyncRedisClusterClient(*redis_cluster.addresses[0])
            try:
                return sorted(await a.pubsub_channels("pin:*")), await a.pubsub_numsub("pin:3")
            finally:
                await a.aclose()

        assert asyncio.run(from_asyncio()) == ([n.encode() for n in names], [(b"pin:3", 1)])
    finally:
        for p in subs:
            p.close()
        c.close()
        ref.close()


def test_command_methods_take_target_nodes_as_redis_py(redis_cluster: RedisClusterServers) -> None:
    """redis-py's cluster fixtures call flushdb(target_nodes="primaries"): it raised
    TypeError. Replies of several nodes merge as redis-py merges them."""
    host, port = redis_cluster.addresses[0]
    ref = rcluster.RedisCluster(host=host, port=port)
    c = RedisClusterClient(host=host, port=port)
    try:
        nodes = _names(c.get_primaries())
        c.mset_nonatomic({f"t{i}": i for i in range(30)})
        one = c.get_node_from_key("t1")
        assert c.flushdb(target_nodes=one) is True  # one node: its reply
        assert c.get("t1") is None and 0 < c.dbsize() < 30
        assert c.flushdb(target_nodes="primaries") == dict.fromkeys(nodes, True)
        assert c.dbsize() == 0
        c.mset_nonatomic({f"t{i}": i for i in range(30)})
        for targets in ("primaries", "all", c.get_primaries()):
            rtargets = ref.get_primaries() if isinstance(targets, list) else targets
            assert c.dbsize(target_nodes=targets) == ref.dbsize(target_nodes=rtargets) == 30
            assert c.ping(target_nodes=targets) is ref.ping(target_nodes=rtargets) is True
            mine, theirs = c.keys("t*", target_nodes=targets), ref.keys("t*", target_nodes=rtargets)
            assert sorted(mine) == sorted(theirs) and len(mine) == 30
        on_one = sorted(c.keys(target_nodes=one))
        assert on_one == sorted(ref.keys(target_nodes=ref.get_node(one.host, one.port)))
        assert 0 < len(on_one) < 30
        info = c.info("server", target_nodes="all")
        assert sorted(info) == nodes and all("redis_version" in i for i in info.values())
        assert c.config_get("maxmemory", target_nodes=one) == {"maxmemory": "0"}
        assert c.config_set("slowlog-max-len", 200, target_nodes="primaries") is True
        configs = c.config_get("slowlog-max-len", target_nodes="all")
        assert list(configs.values()) == [{"slowlog-max-len": "200"}] * 3
        assert c.pubsub_numsub("x", "y", target_nodes="primaries") == ref.pubsub_numsub(
            "x", "y", target_nodes="primaries"
        )
        sha = c.script_load("return 1", target_nodes="primaries")
        assert c.script_exists(sha, "0" * 40, target_nodes="primaries") == [True, False]
        assert c.script_exists(sha, target_nodes=one) == [True]
        assert c.script_flush(target_nodes="primaries") is True
        assert c.script_exists(sha) == [False]
        # A keyed command takes no target_nodes, as the stubs say.
        with pytest.raises(TypeError, match="target_nodes"):
            c.get("t1", target_nodes="all")  # type: ignore[call-arg]
        with pytest.raises(DataError, match="target_nodes"):
            c.dbsize(target_nodes="127.0.0.1:1")
        # A key prefix stays on the keys it returns.
        prefixed = c.with_prefix("{p}:")
        prefixed.set("a", 1)
        node = c.get_node_from_key("{p}:a")
        assert prefixed.keys(target_nodes=node) == [b"a"]
    finally:
        c.close()
        ref.close()


def test_async_methods_take_target_nodes(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[0]

    async def main() -> List[Any]:
        async with AsyncRedisClusterClient(host=host, port=port) as c:
            await c.mset_nonatomic({f"a{i}": i for i in range(10)})
            await c.initialize()
            default = c.get_default_node()
            other = next(n for n in c.get_primaries() if n != default)
            assert c.set_default_node(other) and c.get_default_node() == other
            return [
                await c.dbsize(target_nodes="primaries"),
                sorted(await c.keys(target_nodes="all")) == sorted(await c.keys()),
                await c.flushdb(target_nodes="primaries"),
                await c.dbsize(),
                await c.ping(target_nodes=other),
            ]

    size, same, flushed, after, pong = asyncio.run(main())
    assert size == 10 and same and after == 0 and pong is True
    assert len(flushed) == 3 and all(flushed.values())


def test_the_default_node_moves_when_it_fails(
    redis_cluster_with_replicas: RedisClusterServers,
) -> None:
    """A connection error on the default node makes another primary the default and
    a command that cannot have run goes there at once, while the cluster still
    fails the dead node over."""
    cluster = redis_cluster_with_replicas
    host, port = cluster.addresses[0]
    with RedisClusterClient(host, port, socket_timeout=1.0, retry_timeout=10.0) as c:
        default = c.get_default_node()
        victim = next(n for n in cluster.primaries() if n.port == default.port)
        cluster.kill_primary(victim, wait=False)
        assert c.ping() is True
        assert c.get_default_node() != default and c.get_default_node() in c.get_primaries()
        assert c.dbsize(target_nodes="default-node") == 0


def test_more_of_redis_py_cluster_surface(redis_cluster: RedisClusterServers) -> None:
    """What redis-py's own cluster tests found missing: mget_nonatomic of no keys,
    pubsub(node), scan with target_nodes, the administration methods (sent to the
    node named: a refusal the server gives shows where it went), and
    load_balancing_strategy."""
    host, port = redis_cluster.addresses[0]
    with RedisClusterClient(host=host, port=port) as c:
        assert c.mget_nonatomic([]) == [] and c.mget_nonatomic(["a", "b"]) == [None, None]
        c.mset_nonatomic({"a": 1, "b": 2, "c": 3})
        # scan with target_nodes: redis-py's ({node: cursor}, keys).
        cursors, keys = c.scan(target_nodes="primaries")
        assert sorted(keys) == [b"a", b"b", b"c"] and set(cursors.values()) == {0}
        assert sorted(cursors) == _names(c.get_primaries())
        node = c.get_node_from_key("a")
        cursors, keys = c.scan(match="a*", target_nodes=node)
        assert keys == [b"a"] and cursors == {node.name: 0}
        assert list(c.scan_iter(target_nodes=node)) == [
            k for k in (b"a", b"b", b"c") if c.get_node_from_key(k) == node
        ]
        # pubsub(node): the classic subscription on that node (channels of this test
        # only: others' subscriptions may still be closing).
        subs = []
        for i, each in enumerate(c.get_primaries()):
            p = c.pubsub(each) if i else c.pubsub(host=each.host, port=each.port)
            p.subscribe(f"mos:{i}")
            subs.append(p)
            assert p.node == each.name
            deadline = time.monotonic() + 5
            while each.redis_connection.pubsub_channels("mos:*") != [f"mos:{i}".encode()]:
                assert time.monotonic() < deadline
                time.sleep(0.02)
        merged = c.pubsub_channels("mos:*", target_nodes="all")
        assert sorted(merged) == [b"mos:0", b"mos:1", b"mos:2"]
        assert c.pubsub_numsub("mos:1", target_nodes="all") == [(b"mos:1", 1)]
        for p in subs:
            p.close()
        with pytest.raises(DataError, match="not a node"):
            c.pubsub("127.0.0.1:1")
        with c.pubsub(node) as p:
            assert p.get_pubsub_node() == node and p.get_pubsub_node().name == p.node
            assert p.get_redis_connection().ping() is True
        # A pipeline's mset_nonatomic: one MSET (one True) per slot group, as redis-py.
        mapping = {f"pm{i}": i for i in range(10)}
        groups = len({c.keyslot(k) for k in mapping})
        replies = c.pipeline().mset_nonatomic(mapping).get("pm1").execute()
        assert replies == [True] * groups + [b"1"] and groups > 2
        # Administration: each goes where it is told.
        slot = c.keyslot("a")
        assert c.cluster_setslot_stable(slot) is True
        assert c.cluster_save_config(target_nodes=node) is True
        other = next(n for n in c.get_primaries() if n != node)
        if node.port + 10000 <= 65535:  # a node it knows already: no change
            assert c.cluster_meet(node.host, node.port, target_nodes=other) is True
        else:  # MEET assumes the bus port is port + 10000: the node refuses it
            with pytest.raises(ResponseError, match="Invalid node address"):
                c.cluster_meet(node.host, node.port, target_nodes=other)
        with pytest.raises(ResponseError, match="busy"):
            c.cluster_addslots(node, slot)
        with pytest.raises(ResponseError, match="busy"):
            c.cluster_addslotsrange(node, slot, slot)
        with pytest.raises(ResponseError, match="replica"):
            c.cluster_failover(node)
        with pytest.raises(ResponseError, match="replica"):
            c.cluster_failover(node, "force")
        with pytest.raises(DataError, match="FORCE or TAKEOVER"):
            c.cluster_failover(node, "STABLE")
        with pytest.raises(ResponseError, match=r"[Uu]nknown node"):
            c.cluster_replicate(node, "0" * 40)
        with pytest.raises(ResponseError):
            c.cluster_set_config_epoch(1, target_nodes=node)  # it knows other nodes
        with pytest.raises(DataError, match="cluster_setslot_stable"):
            c.cluster_setslot(node, "0" * 40, slot, "stable")
        with pytest.raises(ResponseError):
            c.cluster_setslot(node, "0" * 40, slot, "importing")  # unknown node id
        assert c.cluster_info(target_nodes=node)["cluster_state"] == "ok"
    lb = RedisClusterClient(host=host, port=port, load_balancing_strategy="round_robin")
    assert lb._read_from_replicas is True and lb.get("a") == b"1"
    lb.close()

    async def main() -> Any:
        async with AsyncRedisClusterClient(host=host, port=port) as a:
            await a.initialize()
            node = a.get_node_from_key("a")
            pipe = a.pipeline().mset_nonatomic({"{x}1": 1, "{y}2": 2})
            return [
                await a.mget_nonatomic([]),
                await a.scan(target_nodes=node),
                await pipe.execute(),
            ]

    empty, (cursors, keys), groups = asyncio.run(main())
    assert empty == [] and b"a" in keys and list(cursors.values()) == [0]
    assert groups == [True, True]


def _served(c: RedisClusterClient, key: str, limit: float = 10.0) -> None:
    """Wait until the cluster serves ``key``'s slot again (the map refreshed)."""
    deadline = time.monotonic() + limit
    while True:
        try:
            c.set(key, "back")
            return
        except (ClusterError, ResponseError):
            assert time.monotonic() < deadline, f"{key}'s slot not served again"
            time.sleep(0.05)


def test_slot_deletion_as_redis_py(redis_cluster: RedisClusterServers) -> None:
    """cluster_delslots goes to each slot's owner (a result per slot), and
    cluster_delslotsrange to the default node; the slots are given back after."""
    host, port = redis_cluster.addresses[0]
    with RedisClusterClient(host=host, port=port) as c:
        key_a, key_b = "del:{a}", "del:{b}"
        slot_a, slot_b = c.keyslot(key_a), c.keyslot(key_b)
        owner_a, owner_b = c.get_node_from_key(key_a), c.get_node_from_key(key_b)
        assert owner_a != owner_b  # two owners: one call reaches both
        try:
            assert c.cluster_delslots(slot_a, slot_b) == [True, True]
            with pytest.raises(ResponseError, match="already unassigned"):
                c.cluster_delslots(slot_a)  # the owner the map names says so
        finally:
            assert c.cluster_addslots(owner_a, slot_a) is True
            assert c.cluster_addslots(owner_b, slot_b) is True
        _served(c, key_a)
        _served(c, key_b)
        with pytest.raises(DataError, match="at least one slot"):
            c.cluster_delslots()
        default = c.get_default_node()
        key = next(f"r{i}" for i in range(10_000) if c.get_node_from_key(f"r{i}") == default)
        slot = c.keyslot(key)
        try:
            assert c.cluster_delslotsrange(slot, slot) is True
        finally:
            assert c.cluster_addslotsrange(default, slot, slot) is True
        _served(c, key)
        assert c.get_random_primary_node() in c.get_primaries()
        # FLUSHSLOTS is refused by a node holding keys (nothing changes); BUMPEPOCH
        # answers with the node's epoch.
        c.set(key_a, "1")
        with pytest.raises(ResponseError, match="empty"):
            c.cluster_flushslots(target_nodes=owner_a)
        assert c.cluster_bumpepoch(target_nodes=owner_a).split()[0] in ("BUMPED", "STILL")

    async def main() -> List[bool]:
        async with AsyncRedisClusterClient(host=host, port=port) as a:
            await a.initialize()
            owner = a.get_node_from_key(key_a)
            try:
                return await a.cluster_delslots(slot_a)
            finally:
                await a.cluster_addslots(owner, slot_a)

    assert asyncio.run(main()) == [True]
    with RedisClusterClient(host=host, port=port) as c:
        _served(c, key_a)
