"""Redis Cluster: key slots, routing, redirections, split multi-key commands and
pipelines, against real clusters started by the topology fixtures."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest

import pyredisclient
from pyredisclient import (
    AsyncRedisClusterClient,
    ClusterCrossSlotError,
    ClusterError,
    RedisClusterClient,
    _core,
)
from pyredisclient.integrations.testing import redis_server_available
from pyredisclient.integrations.testing_topologies import RedisClusterServers, ReplyError
from pyredisclient.integrations.topology_base import _RespConnection

pytestmark = pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")


def keyslots(cluster: RedisClusterServers, keys: list[bytes]) -> list[int]:
    """CLUSTER KEYSLOT of every key, asked of a node in one pipeline."""
    node = cluster.nodes[0]
    with _RespConnection(node.unix_socket_path, password=node.password) as conn:
        return conn.pipeline([("CLUSTER", "KEYSLOT", k) for k in keys])


def test_key_slot_agrees_with_the_server(redis_cluster: RedisClusterServers) -> None:
    rng = random.Random(17)
    keys = [b"", b"foo", b"{user1000}.following", b"foo{}{bar}", b"foo{{bar}}zap", b"{}", b"}{"]
    keys += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 24))) for _ in range(1500)]
    keys += [
        b"".join(rng.choice([b"{", b"}", b"a", b"\x00", b"\xff"]) for _ in range(rng.randrange(8)))
        for _ in range(500)
    ]
    assert [_core.key_slot(k) for k in keys] == keyslots(redis_cluster, keys)
    # str keys are encoded as UTF-8, numbers as their text, like command arguments.
    assert _core.key_slot("é{x}") == _core.key_slot(b"x")
    assert _core.key_slot(123) == _core.key_slot(b"123")


def test_command_slot() -> None:
    assert _core.command_slot(("GET", "foo")) == _core.key_slot("foo") == 12182
    assert _core.command_slot(("MGET", "{t}a", "{t}b")) == _core.key_slot("t")
    assert _core.command_slot(("MGET", "a", "b")) == -2  # two slots
    assert _core.command_slot(("PING",)) == -1  # no keys
    assert _core.command_slot(("NOSUCHCOMMAND", "x")) == -1
    with pytest.raises(_core.DataError, match="GET: cannot find the key arguments"):
        _core.command_slot(("GET",))
    with pytest.raises(TypeError):
        _core.command_slot("GET foo")
    with pytest.raises(_core.DataError):
        _core.key_slot(object())


def primary_of(cluster: RedisClusterServers, key: str) -> str:
    node = cluster.node_for_slot(_core.key_slot(key))
    return f"{node.host}:{node.port}"


@pytest.fixture
def client(redis_cluster: RedisClusterServers) -> Iterator[RedisClusterClient]:
    host, port = redis_cluster.addresses[0]
    with RedisClusterClient(host, port, socket_timeout=2.0) as c:
        yield c


def test_commands_go_to_the_node_serving_their_slot(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    keys = [f"key:{i}" for i in range(200)]
    for i, key in enumerate(keys):
        assert client.set(key, i) is True
    for i, key in enumerate(keys):
        assert client.get(key) == str(i).encode()
    # Each key is stored on its slot's primary, and only there.
    for key in keys[:30]:
        owner = redis_cluster.node_for_slot(_core.key_slot(key))
        assert redis_cluster.command(owner, "EXISTS", key) == 1
        for node in redis_cluster.primaries():
            if node is not owner:
                with pytest.raises(ReplyError, match="MOVED"):
                    redis_cluster.command(node, "EXISTS", key)
    assert client.slot_map.covered == 16384
    assert len(client.slot_map.primaries) == 3
    assert client.metrics()["cluster"]["moved"] == 0


def test_keyless_commands(redis_cluster: RedisClusterServers, client: RedisClusterClient) -> None:
    client.mset({f"k{i}": i for i in range(50)})
    assert client.dbsize() == 50  # summed over the primaries
    assert sorted(client.keys("k*")) == sorted(f"k{i}".encode() for i in range(50))
    assert sorted(client.scan_iter(match="k1*", count=7)) == sorted(
        f"k{i}".encode() for i in range(50) if str(i).startswith("1")
    )
    assert client.ping() is True
    assert client.flushdb() is True
    assert client.dbsize() == 0
    for node in redis_cluster.primaries():
        assert redis_cluster.command(node, "DBSIZE") == 0
    with pytest.raises(ClusterError, match=r"scan\(cursor\) or scan_iter"):
        client.execute_command("SCAN", 0)  # a raw cursor would be one node's


def test_keyless_commands_follow_the_server_policies(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    sha = client.script_load("return 1")  # every node
    for node in redis_cluster.nodes:
        assert redis_cluster.command(node, "SCRIPT", "EXISTS", sha) == [1]
    assert client.script_exists(sha, "0" * 40) == [True, False]  # logical and
    assert client.execute_command("SLOWLOG", "LEN") >= 0  # summed
    stats = client.execute_command("MEMORY", "STATS")  # special: per node
    assert sorted(stats) == sorted(f"{n.host}:{n.port}" for n in redis_cluster.primaries())
    assert client.eval("return 7", 0) == 7  # no keys: one random primary
    assert b"redis_version" in client.execute_command("INFO", "server")  # one node
    client.set("only", 1)
    # One random primary: the key, or nothing from a primary that does not hold it.
    assert {client.execute_command("RANDOMKEY") for _ in range(30)} <= {b"only", None}
    with pytest.raises(ClusterError, match="SWAPDB"):
        client.execute_command("SWAPDB", 0, 1)
    with pytest.raises(ClusterError, match="MULTI"):
        client.execute_command("MULTI")


def test_multi_key_commands_split_per_slot(client: RedisClusterClient) -> None:
    keys = [f"m:{i}" for i in range(100)]  # spread over the whole cluster
    assert len({_core.key_slot(k) for k in keys}) > 50
    assert client.mset({k: f"v{i}" for i, k in enumerate(keys)}) is True
    shuffled = keys[:]
    random.Random(3).shuffle(shuffled)
    got = client.mget([*shuffled, "missing"])
    assert got == [f"v{keys.index(k)}".encode() for k in shuffled] + [None]
    assert client.exists(*keys[:10], "missing") == 10
    assert client.execute_command("TOUCH", *keys[:10]) == 10
    assert client.delete(*keys[:40]) == 40
    assert client.unlink(*keys[40:], "missing") == 60
    assert client.dbsize() == 0
    assert client.metrics()["cluster"]["splits"] == 6


def test_cross_slot_commands_raise(client: RedisClusterClient) -> None:
    with pytest.raises(ClusterCrossSlotError, match="SUNION") as info:
        client.sunion("a", "b")
    assert isinstance(info.value, pyredisclient.ResponseError)
    client.sadd("{u}a", 1, 2)
    client.sadd("{u}b", 2, 3)
    assert client.sunion("{u}a", "{u}b") == {b"1", b"2", b"3"}  # one slot: fine


def test_pipeline_spans_every_node_in_call_order(client: RedisClusterClient) -> None:
    pipe = client.pipeline()
    for i in range(300):
        pipe.set(f"p:{i}", i)
        pipe.incr(f"c:{i}")
    pipe.dbsize()  # keyless, in its place
    pipe.mget("p:1", "p:2", "p:3")  # split, in its place
    pipe.lpush("p:0", 1)  # wrong type: an error in place
    results = pipe.execute(raise_on_error=False)
    assert results[:600] == [True, 1] * 300
    assert results[600] == 600
    assert results[601] == [b"1", b"2", b"3"]
    assert isinstance(results[602], pyredisclient.ResponseError)
    assert len(pipe) == 0
    pipe.get("p:7").lpush("p:0", 1)
    with pytest.raises(pyredisclient.ResponseError, match=r"Command # 2 \(LPUSH\)"):
        pipe.execute()


def test_transactions_need_one_slot(client: RedisClusterClient) -> None:
    pipe = client.pipeline(transaction=True)
    pipe.set("{t}a", 1).incr("{t}a").get("{t}a")
    assert pipe.execute() == [True, 2, b"2"]
    pipe.set("a", 1).set("b", 2)
    with pytest.raises(ClusterCrossSlotError):
        pipe.execute()
    assert client.exists("a", "b") == 0  # nothing was sent


def test_key_prefix_with_a_hash_tag_keeps_a_tenant_on_one_slot(
    redis_cluster: RedisClusterServers,
) -> None:
    host, port = redis_cluster.addresses[1]
    with RedisClusterClient(host, port, key_prefix="{tenant7}:") as c:
        c.mset({f"k{i}": i for i in range(30)})
        assert c.mget([f"k{i}" for i in range(30)]) == [str(i).encode() for i in range(30)]
        assert c.metrics()["cluster"]["splits"] == 0  # one slot: nothing to split
        assert sorted(c.scan_iter()) == sorted(f"k{i}".encode() for i in range(30))
        view = c.with_prefix("x:")  # nests: "{tenant7}:x:"
        view.set("y", 1)
    node = redis_cluster.node_for_slot(_core.key_slot("tenant7"))
    assert redis_cluster.command(node, "GET", "{tenant7}:x:y") == b"1"
    assert redis_cluster.command(node, "DBSIZE") == 31


def test_seeds_from_url_and_environment(
    redis_cluster: RedisClusterServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    (h1, p1), (h2, p2) = redis_cluster.addresses[:2]
    dead = pyredisclient.integrations.testing.find_free_port()
    url = f"redis://127.0.0.1:{dead},{h2}:{p2}/0?socket_timeout=1.5"
    with RedisClusterClient.from_url(url) as c:
        assert c.config.socket_timeout == 1.5
        c.set("u", 1)
        assert c.get("u") == b"1"
    # redis-py's keywords, as the constructor takes them (it was a TypeError here).
    retry = pytest.importorskip("redis.retry")
    backoff = pytest.importorskip("redis.backoff")
    policy = retry.Retry(backoff.ExponentialBackoff(cap=0.5, base=0.02), 3)
    with RedisClusterClient.from_url(url, retry=policy, socket_read_size=65536) as c:
        assert (c.config.retry_attempts, c.config.retry_cap) == (3, 0.5)
        assert c.get("u") == b"1"
    with pytest.raises(pyredisclient.ConfigurationError, match="protocol=3"):
        RedisClusterClient.from_url(url, protocol=3)
    monkeypatch.setenv("REDIS_URL", f"redis://{h1}:{p1},{h2}:{p2}")
    with RedisClusterClient.from_env() as c:
        assert c.get("u") == b"1"
    with RedisClusterClient(startup_nodes=[f"127.0.0.1:{dead}"], socket_connect_timeout=0.5) as c:
        with pytest.raises(ClusterError, match="no cluster node answered"):
            c.get("u")
    with pytest.raises(pyredisclient.ConfigurationError):
        RedisClusterClient(h1, p1, db=1)


def test_health_check_and_metrics(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    report = client.health_check()
    assert report["status"] == "healthy"
    assert report["slots_covered"] == 16384
    assert len(report["nodes"]) == 3 and all(n["ok"] for n in report["nodes"].values())
    for i in range(30):
        client.set(f"h{i}", i)
    m = client.metrics()
    assert m["commands"] >= 30
    assert sum(n["commands"] for n in m["nodes"].values()) == m["commands"]
    assert "redis_client_commands_total" in client.metrics_text() or client.metrics_text()
    victim = redis_cluster.primaries()[2]
    redis_cluster.pause(victim)
    try:
        with RedisClusterClient(*redis_cluster.addresses[0], socket_timeout=0.3) as c:
            report = c.health_check()
    finally:
        redis_cluster.resume(victim)
    assert report["status"] == "degraded"
    assert not report["nodes"][f"{victim.host}:{victim.port}"]["ok"]


def test_health_check_of_a_user_whose_acl_has_no_ping(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    """Every node refusing PING (a +@read +@write user) answered all the same: the
    report is "degraded" with each node ok, not "unhealthy"."""
    rules = ["reset", "on", ">rw-pw", "~*", "+@read", "+@write", "+cluster|slots",
             "+cluster|shards", "+cluster|nodes", "-ping"]  # fmt: skip
    for node in redis_cluster.primaries():
        client.execute_command(
            "ACL", "SETUSER", "rw", *rules, target_nodes=f"{node.host}:{node.port}"
        )
    try:
        host, port = redis_cluster.addresses[0]
        with RedisClusterClient(host, port, username="rw", password="rw-pw") as rw:
            assert rw.set("acl:k", 1) is True
            report = rw.health_check()
        assert report["status"] == "degraded", report
        assert all(n["ok"] for n in report["nodes"].values()), report
        assert all("NoPermissionError" in n["error"] for n in report["nodes"].values())
    finally:
        for node in redis_cluster.primaries():
            client.execute_command("ACL", "DELUSER", "rw", target_nodes=f"{node.host}:{node.port}")


def test_moved_patches_the_slot_and_follows(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    key = "moving"
    client.set(key, "v")
    slot = _core.key_slot(key)
    source = redis_cluster.node_for_slot(slot)
    target = next(n for n in redis_cluster.primaries() if n is not source)
    redis_cluster.migrate_slots(slot, slot, target)
    assert client.get(key) == b"v"  # MOVED, then the new owner
    stats = client.metrics()["cluster"]
    assert stats["moved"] == 1
    assert client._state.map.slots[slot] == f"{target.host}:{target.port}"
    assert client.get(key) == b"v"
    assert client.metrics()["cluster"]["moved"] == 1  # the map was patched at once


def test_ask_sends_asking_once(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    keys = [f"{{ask}}{i}" for i in range(10)]
    for k in keys:
        client.set(k, k)
    slot = _core.key_slot(keys[0])
    source = redis_cluster.node_for_slot(slot)
    target = next(n for n in redis_cluster.primaries() if n is not source)
    redis_cluster.begin_slot_migration(slot, target)
    try:
        redis_cluster.move_slot_keys(slot, target, limit=5)  # half-way
        assert [client.get(k) for k in keys] == [k.encode() for k in keys]
        assert client.metrics()["cluster"]["ask"] == 5
        assert client.metrics()["cluster"]["moved"] == 0
        assert client.mget(keys[:2]) == [keys[0].encode(), keys[1].encode()]
    finally:
        redis_cluster.move_slot_keys(slot, target)
        redis_cluster.finish_slot_migration(slot, target, source=source)


def test_a_write_that_may_have_run_is_not_sent_again(
    redis_cluster: RedisClusterServers,
) -> None:
    host, port = redis_cluster.addresses[0]
    with RedisClusterClient(host, port, socket_timeout=0.3, retry_timeout=3.0) as c:
        c.set("n", 0)
        node = redis_cluster.node_for_slot(_core.key_slot("n"))
        redis_cluster.pause(node)
        try:
            with pytest.raises(pyredisclient.TimeoutError):
                c.incr("n")  # sent, never answered: it may have run
        finally:
            redis_cluster.resume(node)
        assert c.get("n") == b"1"  # it ran once, and only once
        assert c.metrics()["cluster"]["retries"] == 0


def _repl_offset(cluster: RedisClusterServers, node: Any, field: bytes) -> int:
    info = cluster.command(node, "INFO", "replication")
    for line in info.splitlines():
        if line.startswith(field + b":"):
            return int(line.split(b":", 1)[1])
    return -1


def _wait_replicated(cluster: RedisClusterServers, primary: Any, timeout: float = 10.0) -> None:
    """Until every replica of *primary* has all it wrote (bounded by *timeout*)."""
    target = _repl_offset(cluster, primary, b"master_repl_offset")
    deadline = time.monotonic() + timeout
    for replica in cluster.replicas(primary):
        while _repl_offset(cluster, replica, b"slave_repl_offset") < target:
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.01)


def test_failed_primary_retried_until_its_replica_takes_over(
    redis_cluster_with_replicas: RedisClusterServers,
) -> None:
    cluster = redis_cluster_with_replicas
    host, port = cluster.addresses[0]
    with RedisClusterClient(host, port, socket_timeout=1.0, retry_timeout=15.0) as c:
        keys = [f"f:{i}" for i in range(30)]
        for k in keys:
            c.set(k, k)
        victim = cluster.node_for_slot(_core.key_slot(keys[0]))
        mine = [k for k in keys if cluster.node_for_slot(_core.key_slot(k)) is victim]
        _wait_replicated(cluster, victim)  # replication is asynchronous: no write lost
        cluster.kill_primary(victim, wait=False)
        started = time.monotonic()
        assert c.set(mine[0], "after") is True  # refused connects: retried, refreshed
        took = time.monotonic() - started
        assert c.get(mine[0]) == b"after"
        assert [c.get(k) for k in keys if k != mine[0]] == [
            k.encode() for k in keys if k != mine[0]
        ]
        assert c.metrics()["cluster"]["retries"] >= 1
        assert took < 15.0


def test_async_cluster_client(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[0]

    async def main() -> None:
        async with AsyncRedisClusterClient(host, port, socket_timeout=2.0) as c:
            keys = [f"a:{i}" for i in range(60)]
            assert await c.mset({k: k for k in keys}) is True
            assert await c.get("a:1") == b"a:1"
            assert await c.mget(keys) == [k.encode() for k in keys]
            got = await asyncio.gather(*(c.incr(f"n:{i % 7}") for i in range(70)))
            assert sorted(got)[-1] == 10
            assert await c.dbsize() == 67
            assert sorted([k async for k in c.scan_iter(match="n:*")]) == sorted(
                f"n:{i}".encode() for i in range(7)
            )
            pipe = c.pipeline()
            for k in keys[:20]:
                pipe.get(k)
            pipe.dbsize()
            assert await pipe.execute() == [k.encode() for k in keys[:20]] + [67]
            tx = c.pipeline(transaction=True)
            tx.set("{x}1", 1).incr("{x}1")
            assert await tx.execute() == [True, 2]
            with pytest.raises(ClusterCrossSlotError):
                await c.sunion("a:1", "a:2")
            slot = _core.key_slot("a:1")
            source = redis_cluster.node_for_slot(slot)
            target = next(n for n in redis_cluster.primaries() if n is not source)
            await asyncio.get_running_loop().run_in_executor(
                None, redis_cluster.migrate_slots, slot, slot, target
            )
            assert await c.get("a:1") == b"a:1"  # MOVED followed
            assert c.metrics()["cluster"]["moved"] == 1
            assert (await c.health_check())["status"] == "healthy"
            assert await c.delete(*keys) == 60

    asyncio.run(main())


def test_read_from_replicas(redis_cluster_with_replicas: RedisClusterServers) -> None:
    cluster = redis_cluster_with_replicas
    host, port = cluster.addresses[0]
    with RedisClusterClient(host, port, read_from_replicas=True, socket_timeout=2.0) as c:
        keys = [f"r:{i}" for i in range(40)]
        c.mset({k: k for k in keys})
        # Replication is asynchronous: wait (bounded) until every replica has the keys,
        # as WAIT would on the writing connections.
        for _ in range(100):
            if all(
                cluster.command(r, "DBSIZE") == cluster.command(p, "DBSIZE")
                for p in cluster.primaries()
                for r in cluster.replicas(p)
            ):
                break
            time.sleep(0.05)
        assert c.mget(keys) == [k.encode() for k in keys]  # split: primaries
        assert [c.get(k) for k in keys] == [k.encode() for k in keys]
        assert c.metrics()["cluster"]["replica_reads"] == 40
        served = {n for n, m in c.metrics()["nodes"].items() if m["commands"]}
        assert {f"{r.host}:{r.port}" for r in cluster.replicas()} <= served
        # A write never goes to a replica; a read falls back to the primary when its
        # replica is away.
        assert c.incr("r:n") == 1
        replica = cluster.replicas(cluster.node_for_slot(_core.key_slot("r:0")))[0]
        cluster.pause(replica)
        try:
            with RedisClusterClient(host, port, read_from_replicas=True, socket_timeout=0.3) as c2:
                assert c2.get("r:0") == b"r:0"
        finally:
            cluster.resume(replica)


def test_slot_map_from_cluster_slots_and_shards(
    redis_cluster_with_replicas: RedisClusterServers,
) -> None:
    """CLUSTER SLOTS (Redis before 7) and CLUSTER SHARDS give the same map."""
    from pyredisclient.cluster.topology import parse_shards, parse_slots

    cluster = redis_cluster_with_replicas
    node = cluster.nodes[0]
    with _RespConnection(node.unix_socket_path, password=node.password) as conn:
        slots, shards = conn.pipeline([("CLUSTER", "SLOTS"), ("CLUSTER", "SHARDS")])
    a, b = parse_slots(slots, "127.0.0.1"), parse_shards(shards, "127.0.0.1")
    assert a.slots == b.slots and a.covered == 16384
    # CLUSTER SLOTS may leave out a replica still syncing; CLUSTER SHARDS names it.
    assert all(set(a.replicas[p]) <= set(b.replicas[p]) for p in a.primaries)
    assert all(len(r) == 1 for r in b.replicas.values()) and len(b.nodes) == 6
    owner = a.slots[100]
    assert a.with_slot(100, "x:1").slots[100] == "x:1" and a.slots[100] == owner
    assert "16384 slots covered" in repr(a)


def test_what_may_be_sent_again() -> None:
    from pyredisclient.resilience.retry import may_have_run, replay_safe

    assert replay_safe(("GET", "k")) and replay_safe((b"get", b"k"))
    assert not replay_safe(("INCR", "k"))
    assert replay_safe(("CONFIG", "GET", "x")) is replay_safe(("config", "get", "y"))
    assert not replay_safe(("CONFIG",)) and not replay_safe(("NOSUCH", "x"))
    refused = pyredisclient.ConnectionError("connect x: refused")
    refused.error_code = "ECONNECT"  # type: ignore[attr-defined]
    lost = pyredisclient.ConnectionError("connection lost")
    lost.error_code = "ECONNLOST"  # type: ignore[attr-defined]
    assert not may_have_run(refused) and may_have_run(lost)
    assert may_have_run(pyredisclient.TimeoutError("t"))  # no code: assume it ran


def test_locks_on_a_cluster(client: RedisClusterClient, redis_cluster: RedisClusterServers) -> None:
    # redis-py's RedisCluster.lock: the key's commands and scripts go to its node.
    names = [f"lock:{i}" for i in range(6)]  # several slots, so several nodes
    nodes = {redis_cluster.node_for_slot(_core.key_slot(n)).port for n in names}
    assert len(nodes) > 1
    for name in names:
        lock = client.lock(name, timeout=5)
        assert lock.acquire(blocking=False)
        assert not client.lock(name).acquire(blocking=False)  # held
        assert lock.locked() and lock.owned()
        assert lock.extend(5) and 5000 < client.pttl(name) <= 10000
        owner = redis_cluster.node_for_slot(_core.key_slot(name))
        assert redis_cluster.command(owner, "GET", name) == lock.local.token
        client.script_flush()  # every primary: release falls back to EVAL
        lock.release()
        assert not lock.locked()
    with client.lock("lock:ctx", timeout=5):
        assert client.exists("lock:ctx") == 1
    assert client.exists("lock:ctx") == 0


def test_async_locks_on_a_cluster(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[0]

    async def main() -> None:
        async with AsyncRedisClusterClient(host, port, socket_timeout=2.0) as c:
            counter = [0]

            async def worker() -> None:
                for _ in range(20):
                    async with c.lock("alock", timeout=5, sleep=0.001):
                        seen = counter[0]
                        await asyncio.sleep(0)
                        counter[0] = seen + 1

            await asyncio.gather(*(worker() for _ in range(4)))
            assert counter[0] == 80
            assert await c.exists("alock") == 0

    asyncio.run(main())
