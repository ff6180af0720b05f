"""Pub/sub on a cluster: sharded channels on the nodes serving their slots, merged
reads, slot moves followed (MOVED, a node's pushed sunsubscribe), classic pub/sub on
one node; against the real 3-primary cluster of the topology fixtures."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any, Dict, List

import pytest

import pyredisclient
from pyredisclient import AsyncRedisClusterClient, RedisClusterClient, _core
from pyredisclient.cluster import AsyncClusterPubSub, ClusterPubSub
from pyredisclient.integrations.testing import redis_server_available
from pyredisclient.integrations.testing_topologies import RedisClusterServers

pytestmark = pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")


def name_of(node: Any) -> str:
    return f"{node.host}:{node.port}"


def channels_on(cluster: RedisClusterServers, node: Any, n: int, prefix: str = "") -> list[str]:
    """n channel names whose slots ``node`` serves, each in a slot of its own."""
    found: list[str] = []
    slots: set[int] = set()
    for i in range(100_000):
        name = f"ch:{i}"
        slot = _core.key_slot(prefix + name)
        if slot not in slots and cluster.node_for_slot(slot) is node:
            found.append(name)
            slots.add(slot)
            if len(found) == n:
                return found
    raise AssertionError("no such channel")


def drain(ps: ClusterPubSub, want: int, limit: float = 5.0) -> list[dict[str, Any]]:
    """Messages (not confirmations) until ``want`` came, or ``limit`` seconds."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + limit
    while len(got) < want and time.monotonic() < deadline:
        msg = ps.get_message(timeout=0.2)
        if msg is not None and msg["type"] in ("message", "smessage", "pmessage"):
            got.append(msg)
    return got


def follow(ps: ClusterPubSub, cluster: RedisClusterServers, chan: str, node: Any) -> None:
    """Read (nothing for the caller) until ``node`` counts ``chan``'s subscriber."""
    deadline = time.monotonic() + 15
    for _ in range(100_000):  # bounded by the deadline first
        if ps.shard_nodes()[chan.encode()] == name_of(node):
            reply = cluster.command(node, "PUBSUB", "SHARDNUMSUB", chan)
            if reply[1] == 1:
                return
        assert time.monotonic() < deadline, f"{chan} was not followed to {node!r}"
        assert ps.get_message(timeout=0.05) is None
    raise AssertionError("unreachable")


@pytest.fixture
def client(redis_cluster: RedisClusterServers) -> Iterator[RedisClusterClient]:
    host, port = redis_cluster.addresses[0]
    with RedisClusterClient(host, port, socket_timeout=2.0) as c:
        yield c


def move_slot(cluster: RedisClusterServers, slot: int) -> Any:
    """Give ``slot`` (no keys in it) to another primary; the new owner."""
    source = cluster.node_for_slot(slot)
    target = next(n for n in cluster.primaries() if n is not source)
    cluster.begin_slot_migration(slot, target, source=source)
    cluster.finish_slot_migration(slot, target, source=source)
    return target


def test_shard_channels_on_the_nodes_serving_them(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    primaries = redis_cluster.primaries()
    names = {name_of(p): channels_on(redis_cluster, p, 2) for p in primaries}
    every = [ch for chans in names.values() for ch in chans]
    with client.pubsub() as ps:
        ps.ssubscribe(*every)  # six slots on three nodes: one SSUBSCRIBE per slot
        confirms = [ps.get_message(timeout=2.0) for _ in every]
        assert sorted(m["channel"] for m in confirms if m) == sorted(ch.encode() for ch in every)
        assert {m["type"] for m in confirms if m} == {"ssubscribe"}
        where = ps.shard_nodes()
        for node, chans in names.items():  # one connection per node, its channels on it
            assert {where[ch.encode()] for ch in chans} == {node}
        assert len(ps._shards) == 3
        for ch in every:
            assert client.spublish(ch, f"to {ch}") == 1  # routed by slot
        got = drain(ps, len(every))
        assert sorted((m["channel"], m["data"]) for m in got) == sorted(
            (ch.encode(), f"to {ch}".encode()) for ch in every
        )
        assert {m["type"] for m in got} == {"smessage"}
        # Classic pub/sub: one node hears what is published on any.
        ps.subscribe("news")
        ps.psubscribe("n*")
        assert ps.get_message(timeout=2.0)["type"] == "subscribe"  # type: ignore[index]
        assert ps.get_message(timeout=2.0)["type"] == "psubscribe"  # type: ignore[index]
        for node in primaries:
            redis_cluster.command(node, "PUBLISH", "news", name_of(node))
        got = drain(ps, 6)
        assert sorted(m["data"] for m in got if m["type"] == "message") == sorted(
            name_of(n).encode() for n in primaries
        )
        assert len([m for m in got if m["type"] == "pmessage"]) == 3
        assert ps.subscribed and ps.stats()["messages"] >= 12
        assert client.metrics()["pubsub"]["subscriptions"] == 4  # 3 shard + 1 classic
        ps.sunsubscribe(every[0])
        msg = ps.get_message(timeout=2.0)
        assert msg is not None and msg["type"] == "sunsubscribe"
        assert msg["channel"] == every[0].encode()
        assert every[0].encode() not in ps.shard_channels
        assert client.spublish(every[0], "x") == 0
        ps.sunsubscribe()
        ps.unsubscribe()
        ps.punsubscribe()
        rest = [ps.get_message(timeout=2.0) for _ in range(len(every) + 1)]
        assert all(m is not None for m in rest)
        assert not ps.subscribed
    assert ps.closed
    with pytest.raises(pyredisclient.ConnectionError):
        ps.ssubscribe("again")
    assert client.metrics()["pubsub"]["subscriptions"] == 0


def test_handlers_and_a_worker_thread(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    a, b = (channels_on(redis_cluster, p, 1)[0] for p in redis_cluster.primaries()[:2])
    seen: list[tuple[Any, Any]] = []
    ps = client.pubsub(ignore_subscribe_messages=True)
    ps.ssubscribe(**{a: lambda m: seen.append((m["channel"], m["data"]))})
    ps.ssubscribe(**{b: lambda m: seen.append((m["channel"], m["data"]))})
    worker = ps.run_in_thread(sleep_time=0.05)
    try:
        deadline = time.monotonic() + 5
        while len(seen) < 2 and time.monotonic() < deadline:
            client.spublish(a, 1)
            client.spublish(b, 2)
            time.sleep(0.05)
        assert {(a.encode(), b"1"), (b.encode(), b"2")} <= set(seen)
    finally:
        worker.stop()
        worker.join(5)
    assert not worker.is_alive() and ps.closed


def test_reconnect_restores_several_slots_on_one_node(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    node = redis_cluster.primaries()[0]
    chans = channels_on(redis_cluster, node, 3)
    with client.pubsub(ignore_subscribe_messages=True) as ps:
        ps.ssubscribe(*chans)
        assert ps.get_message(timeout=0.5) is None  # the confirmations, skipped
        redis_cluster.command(node, "CLIENT", "KILL", "TYPE", "pubsub")
        msg = None
        deadline = time.monotonic() + 5
        while msg is None and time.monotonic() < deadline:
            msg = ps.get_message(timeout=0.2)
        assert msg is not None and msg["type"] == "reconnect", msg
        assert msg["data"]["node"] == name_of(node)
        assert msg["data"]["shard_channels"] == 3
        # One SSUBSCRIBE per slot: the node took all three again (no CROSSSLOT).
        for ch in chans:
            assert client.spublish(ch, "after") == 1
        assert len(drain(ps, 3)) == 3


def test_a_migrated_slot_is_followed(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    source = redis_cluster.primaries()[0]
    moving, staying = channels_on(redis_cluster, source, 2)
    slot = _core.key_slot(moving)
    with client.pubsub() as ps:
        ps.ssubscribe(moving, staying)
        assert {m["type"] for m in (ps.get_message(timeout=2), ps.get_message(timeout=2)) if m} == {
            "ssubscribe"
        }
        assert client.spublish(moving, "before") == 1
        assert [m["data"] for m in drain(ps, 1)] == [b"before"]
        target = move_slot(redis_cluster, slot)
        # The source pushes sunsubscribe (Redis 7); the subscription reads the new
        # map and subscribes on the target. The caller sees none of it.
        follow(ps, redis_cluster, moving, target)
        assert ps.get_message(timeout=0.2) is None  # the new confirmation: quiet
        for i in range(3):
            assert client.spublish(moving, f"after {i}") == 1  # MOVED, then the target
        assert client.spublish(staying, "still") == 1
        got = drain(ps, 4)
        assert sorted(m["data"] for m in got) == [b"after 0", b"after 1", b"after 2", b"still"]
        assert ps.shard_nodes()[staying.encode()] == name_of(source)
        assert moving.encode() in ps.shard_channels


def test_moved_answering_ssubscribe_is_followed(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    source = redis_cluster.primaries()[1]
    chan = channels_on(redis_cluster, source, 1)[0]
    client.ping()  # the slot map is read now, and goes stale below
    target = move_slot(redis_cluster, _core.key_slot(chan))
    assert client.slot_map is not None
    assert client.slot_map.slots[_core.key_slot(chan)] == name_of(source)
    with client.pubsub() as ps:
        ps.ssubscribe(chan)  # sent to the source, which answers MOVED
        msg = None
        deadline = time.monotonic() + 5
        while msg is None and time.monotonic() < deadline:
            msg = ps.get_message(timeout=0.2)
        assert msg is not None and msg["type"] == "ssubscribe"  # from the target
        assert ps.shard_nodes()[chan.encode()] == name_of(target)
        assert client.metrics()["cluster"]["moved"] >= 1
        assert client.spublish(chan, "here") == 1
        assert [m["data"] for m in drain(ps, 1)] == [b"here"]


def test_a_sharded_worker_thread_hears_every_node(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    """redis-py's ``run_in_thread(sharded_pubsub=True)`` on a cluster subscription:
    the handlers of shard channels on three nodes all run; ``target_node`` given to
    ssubscribe names no channel."""
    every = [ch for p in redis_cluster.primaries() for ch in channels_on(redis_cluster, p, 1)]
    got: List[Any] = []
    done = threading.Event()

    def handler(msg: Dict[str, Any]) -> None:
        got.append(msg["channel"])
        if len(got) == len(every):
            done.set()

    ps = client.pubsub()
    ps.ssubscribe(target_node=None, **{ch: handler for ch in every})
    assert sorted(ps.shard_channels) == sorted(ch.encode() for ch in every)
    worker = ps.run_in_thread(daemon=True, sharded_pubsub=True)
    try:
        for ch in every:
            assert client.spublish(ch, "x") == 1
        assert done.wait(5)
        assert sorted(got) == sorted(ch.encode() for ch in every)
    finally:
        worker.stop()
        worker.join(5)
    assert ps.closed


def test_key_prefix_confines_shard_channels(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[0]
    with RedisClusterClient(host, port, key_prefix="t1:", decode_responses=True) as c:
        node = redis_cluster.primaries()[2]
        chan = channels_on(redis_cluster, node, 1, prefix="t1:")[0]
        with c.pubsub(ignore_subscribe_messages=True) as ps:
            ps.ssubscribe(chan)
            assert ps.shard_nodes()["t1:" + chan] == name_of(node)
            assert redis_cluster.command(node, "PUBSUB", "SHARDCHANNELS") == [
                ("t1:" + chan).encode()
            ]
            assert c.spublish(chan, "v") == 1
            got = drain(ps, 1)
            assert [(m["channel"], m["data"]) for m in got] == [(chan, "v")]


def test_async_shard_channels_follow_a_migration(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[0]
    source = redis_cluster.primaries()[2]
    moving, other = (
        channels_on(redis_cluster, source, 1)[0],
        channels_on(redis_cluster, redis_cluster.primaries()[0], 1)[0],
    )

    async def collect(ps: AsyncClusterPubSub, want: int) -> list[Any]:
        got: list[Any] = []
        deadline = time.monotonic() + 5
        while len(got) < want and time.monotonic() < deadline:
            msg = await ps.get_message(timeout=0.2)
            if msg is not None and msg["type"] == "smessage":
                got.append(msg["data"])
        return got

    async def main() -> None:
        async with AsyncRedisClusterClient(host, port, socket_timeout=2.0) as c:
            async with c.pubsub(ignore_subscribe_messages=True) as ps:
                assert isinstance(ps, AsyncClusterPubSub)
                await ps.ssubscribe(moving, other)
                assert await ps.get_message(timeout=0.3) is None
                assert await c.spublish(moving, "a") == 1
                assert await c.spublish(other, "b") == 1
                assert sorted(await collect(ps, 2)) == [b"a", b"b"]
                loop = asyncio.get_running_loop()
                slot = _core.key_slot(moving)
                target = await loop.run_in_executor(None, move_slot, redis_cluster, slot)
                deadline = time.monotonic() + 15
                for _ in range(1000):  # bounded by the deadline
                    if ps.shard_nodes()[moving.encode()] == name_of(target):
                        reply = await loop.run_in_executor(
                            None, redis_cluster.command, target, "PUBSUB", "SHARDNUMSUB", moving
                        )
                        if reply[1] == 1:
                            break
                    assert time.monotonic() < deadline, "the move was not followed"
                    assert await ps.get_message(timeout=0.05) is None
                assert await c.spublish(moving, "c") == 1
                assert await collect(ps, 1) == [b"c"]
                # A reader waiting in listen() hears a message published later.
                received: list[Any] = []

                async def listen() -> None:
                    async for msg in ps.listen():
                        received.append(msg["data"])
                        return

                task = asyncio.create_task(listen())
                await asyncio.sleep(0.1)
                assert await c.spublish(other, "d") == 1
                await asyncio.wait_for(task, 5)
                assert received == [b"d"]

    asyncio.run(main())


def test_a_failed_over_primary_hands_its_channels_to_the_new_one(
    redis_cluster_with_replicas: RedisClusterServers,
) -> None:
    cluster = redis_cluster_with_replicas
    host, port = cluster.addresses[0]
    victim = cluster.primaries()[0]
    chan = channels_on(cluster, victim, 1)[0]
    with RedisClusterClient(host, port, socket_timeout=1.0, retry_timeout=10.0) as c:
        ps = c.pubsub(ignore_subscribe_messages=True)
        ps.ssubscribe(chan)
        assert ps.get_message(timeout=0.3) is None
        heir = cluster.kill_primary(victim)
        assert heir is not None
        # Its reconnects fail: the map is read again and the channel moves.
        follow(ps, cluster, chan, heir)
        assert c.spublish(chan, "after") == 1
        assert [m["data"] for m in drain(ps, 1)] == [b"after"]
        ps.close()


def first_message(ps: ClusterPubSub, limit: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        msg = ps.get_message(timeout=0.2)
        if msg is not None:
            return msg
    return None


def test_a_classic_subscription_leaves_a_failed_over_node(
    redis_cluster_with_replicas: RedisClusterServers,
) -> None:
    cluster = redis_cluster_with_replicas
    host, port = cluster.addresses[0]
    with RedisClusterClient(host, port, socket_timeout=1.0, retry_timeout=10.0) as c:
        c.get("warm")  # the map is read: the subscription goes to a random primary
        ps = c.pubsub()
        ps.subscribe("news")
        ps.psubscribe("sport.*")
        assert [first_message(ps, 2)["type"] for _ in range(2)] == ["subscribe", "psubscribe"]
        victim = next(n for n in cluster.primaries() if name_of(n) == ps.node)
        cluster.kill_primary(victim)
        # Its reconnects fail and the map no longer names it: the subscription
        # moves to a live primary and reports the gap (no confirmations).
        msg = first_message(ps, 20)
        assert msg is not None and msg["type"] == "reconnect", msg
        assert msg["data"]["node"] == ps.node != name_of(victim)
        assert ps.node in {name_of(n) for n in cluster.primaries()}
        assert (msg["data"]["channels"], msg["data"]["patterns"]) == (1, 1)
        c.publish("news", "after")
        c.publish("sport.goal", "1")
        # Two PUBLISHes may go to two nodes: the cluster bus keeps no order between them.
        got = sorted((m["type"], m["channel"], m["data"]) for m in drain(ps, 2))
        assert got == [("message", b"news", b"after"), ("pmessage", b"sport.goal", b"1")]
        # The new node serves the caller's later requests too.
        ps.unsubscribe("news")
        assert first_message(ps, 2)["type"] == "unsubscribe"
        ps.close()


def test_a_subscription_made_before_the_map_learns_it_and_stays(
    redis_cluster: RedisClusterServers,
) -> None:
    host, port = redis_cluster.addresses[0]
    with RedisClusterClient(host, port, socket_timeout=1.0) as c:
        ps = c.pubsub()
        assert c._state.map is None and ps.node == f"{host}:{port}"
        ps.subscribe("news")
        assert first_message(ps, 2)["type"] == "subscribe"
        assert ps.get_message(timeout=0.7) is None  # a check ran meanwhile
        # The other nodes are known now; the seed still serves the subscription.
        assert c._state.map is not None and len(c._state.map.primaries) == 3
        assert ps.node == f"{host}:{port}" and ps.stats()["connects"] == 1
        c.publish("news", "hi")
        assert [m["data"] for m in drain(ps, 1)] == [b"hi"]
        ps.close()


def test_async_classic_subscription_leaves_a_failed_over_node(
    redis_cluster_with_replicas: RedisClusterServers,
) -> None:
    cluster = redis_cluster_with_replicas
    host, port = cluster.addresses[0]

    async def main() -> None:
        async with AsyncRedisClusterClient(host, port, socket_timeout=1.0, retry_timeout=10.0) as c:
            await c.get("warm")
            ps = c.pubsub(ignore_subscribe_messages=True)
            await ps.subscribe("news")
            assert await ps.get_message(timeout=0.5) is None
            victim = next(n for n in cluster.primaries() if name_of(n) == ps.node)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, cluster.kill_primary, victim)
            msg = await ps.get_message(timeout=20)
            assert msg is not None and msg["type"] == "reconnect", msg
            assert msg["data"]["node"] == ps.node != name_of(victim)
            await c.publish("news", "after")
            msg = await ps.get_message(timeout=5)
            assert msg is not None and (msg["channel"], msg["data"]) == (b"news", b"after")
            await ps.aclose()

    asyncio.run(main())


def test_async_timed_waits_end_when_cancelled(redis_cluster: RedisClusterServers) -> None:
    # A cancellation landing as the wait takes its lock used to be swallowed
    # (asyncio.wait_for before 3.12): the waiting task then never ended.
    host, port = redis_cluster.addresses[0]
    chan = channels_on(redis_cluster, redis_cluster.primaries()[0], 1)[0]

    async def main() -> None:
        async with AsyncRedisClusterClient(host, port, socket_timeout=2.0) as c:
            async with c.pubsub(ignore_subscribe_messages=True) as ps:
                await ps.ssubscribe(chan)
                for rounds in range(8):
                    for _ in range(5):
                        waiter = asyncio.ensure_future(ps.get_message(timeout=5))
                        for _ in range(rounds):
                            await asyncio.sleep(0)
                        waiter.cancel()
                        done, _ = await asyncio.wait((waiter,), timeout=2)
                        assert done, f"cancelled after {rounds} iterations, still running"
                # The lock was given back every time: a message gets through.
                assert await c.spublish(chan, "still") == 1
                deadline = time.monotonic() + 5
                msg = None
                while msg is None and time.monotonic() < deadline:
                    msg = await ps.get_message(timeout=0.2)
                assert msg is not None and msg["data"] == b"still"

    asyncio.run(asyncio.wait_for(main(), 60))


def publish_calls(cluster: RedisClusterServers) -> dict[str, int]:
    """How many PUBLISH each primary has run (INFO commandstats)."""
    counts: dict[str, int] = {}
    for node in cluster.primaries():
        info = cluster.command(node, "INFO", "commandstats").decode()
        line = next((x for x in info.splitlines() if x.startswith("cmdstat_publish:")), "")
        calls = line.partition("calls=")[2].partition(",")[0]
        counts[name_of(node)] = int(calls or 0)
    return counts


def test_classic_subscriptions_and_publish_meet_on_the_channel_slot_node(
    client: RedisClusterClient, redis_cluster: RedisClusterServers
) -> None:
    # As redis-py: a subscription made without a node goes to the primary serving its
    # first name's slot, and PUBLISH goes there too, so publish() counts it.
    for node in redis_cluster.primaries():
        (chan,) = channels_on(redis_cluster, node, 1, prefix="")
        with client.pubsub() as ps:
            assert ps.get_pubsub_node() is None and ps.get_redis_connection() is None
            ps.subscribe(chan)
            assert ps.get_message(timeout=2)["type"] == "subscribe"
            assert ps.node == name_of(node) and name_of(ps.get_pubsub_node()) == ps.node
            # node reads as redis-py's ClusterNode too, and equals the node's.
            assert (ps.node.host, ps.node.port, ps.node.name) == (node.host, node.port, ps.node)
            assert ps.node == ps.get_pubsub_node() and ps.get_pubsub_node() == ps.node
            others = [n for n in client.get_primaries() if n.name != name_of(node)]
            assert len(others) == 2 and all(ps.node != n and n != ps.node for n in others)
            assert {ps.node, ps.get_pubsub_node()} == {ps.get_pubsub_node()}
            assert ps.get_redis_connection().get_connection_kwargs()["port"] == node.port
            before = publish_calls(redis_cluster)
            assert client.publish(chan, "hi") == 1
            after = publish_calls(redis_cluster)
            assert {k: after[k] - before[k] for k in after if after[k] != before[k]} == {
                name_of(node): 1
            }
            assert drain(ps, 1)[0]["data"] == b"hi"
            ps.ping("still-there")  # the sync cluster ping sends on the classic connection
            msg = ps.get_message(timeout=2)
            assert msg is not None and msg["type"] == "pong" and msg["data"] == b"still-there"


def test_a_fresh_client_places_its_subscription_too(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[0]
    (node,) = [n for n in redis_cluster.primaries() if n.port != port][:1]
    (chan,) = channels_on(redis_cluster, node, 1)
    with RedisClusterClient(host, port) as fresh:  # no command run: no slot map yet
        with fresh.pubsub() as ps:
            ps.psubscribe(chan)
            assert ps.node == name_of(node)
    with pytest.raises(pyredisclient.DataError, match="host and port together"):
        fresh.pubsub(host=host)
    with pytest.raises(pyredisclient.DataError, match="host and port together"):
        fresh.pubsub(port=port)


def test_unsubscribe_and_subscribe_again_confirmations_reach_the_caller(
    client: RedisClusterClient, redis_cluster: RedisClusterServers
) -> None:
    with client.pubsub() as ps:
        ps.ssubscribe("foo")
        ps.sunsubscribe("foo")
        ps.ssubscribe("foo")
        kinds = []
        for _ in range(3):
            msg = ps.get_sharded_message(timeout=2)
            assert msg is not None
            kinds.append((msg["type"], msg["data"]))
        assert kinds == [("ssubscribe", 1), ("sunsubscribe", 0), ("ssubscribe", 1)]
        assert ps.shard_nodes() == {b"foo": name_of(client.get_node_from_key("foo"))}
        # The same with "unsubscribe from everything".
        ps.sunsubscribe()
        ps.ssubscribe("foo")
        kinds = [(m["type"], m["data"]) for m in (ps.get_message(timeout=2) for _ in range(2)) if m]
        assert kinds == [("sunsubscribe", 0), ("ssubscribe", 1)]


def test_get_sharded_message_of_one_node(
    client: RedisClusterClient, redis_cluster: RedisClusterServers
) -> None:
    first, second = redis_cluster.primaries()[:2]
    (a,) = channels_on(redis_cluster, first, 1)
    (b,) = channels_on(redis_cluster, second, 1)
    with client.pubsub(ignore_subscribe_messages=True) as ps:
        ps.ssubscribe(a, b)
        for node, chan in ((first, a), (second, b)):  # both SSUBSCRIBEs taken
            deadline = time.monotonic() + 10
            while redis_cluster.command(node, "PUBSUB", "SHARDNUMSUB", chan)[1] != 1:
                assert time.monotonic() < deadline, f"{chan} not subscribed on {node!r}"
                time.sleep(0.02)
        assert client.spublish(b, "to-second") == 1
        assert client.spublish(a, "to-first") == 1
        # Only the first node's connection is read: b's message waits.
        msg = None
        deadline = time.monotonic() + 3
        while msg is None and time.monotonic() < deadline:
            msg = ps.get_sharded_message(timeout=0.2, target_node=first)
        assert msg is not None and msg["channel"] == a.encode()
        assert ps.get_sharded_message(timeout=0.2, target_node=first) is None
        msg = ps.get_sharded_message(timeout=2, target_node=(second.host, second.port))
        assert msg is not None and msg["channel"] == b.encode()
        third = redis_cluster.primaries()[2]
        assert ps.get_sharded_message(timeout=1, target_node=name_of(third)) is None
        with pytest.raises(pyredisclient.DataError, match="names no node"):
            ps.get_sharded_message(target_node=42)


def test_async_placement_and_sharded_reads(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[0]
    node = redis_cluster.primaries()[1]
    (chan,) = channels_on(redis_cluster, node, 1)

    async def main() -> None:
        async with AsyncRedisClusterClient(host, port) as c:
            ps = c.pubsub()
            assert ps.get_pubsub_node() is None
            await ps.subscribe(chan)
            assert ps.node == name_of(node)
            assert (await ps.get_message(timeout=2))["type"] == "subscribe"
            assert await c.publish(chan, "x") == 1
            await ps.ssubscribe(chan)
            assert (await ps.get_sharded_message(timeout=2, target_node=node))["type"] == (
                "ssubscribe"
            )
            await ps.aclose()

    asyncio.run(main())


def test_placing_a_subscription_never_waits_out_an_outage() -> None:
    """With no slot map and the seed down, subscribe() reads no map and raises
    nothing: the subscription stays on the seed and reconnects from there."""
    from pyredisclient.integrations.testing import find_free_port

    port = find_free_port()
    with RedisClusterClient("127.0.0.1", port, socket_connect_timeout=1.0) as c:
        started = time.monotonic()
        with c.pubsub() as ps:
            ps.subscribe("x")
            assert time.monotonic() - started < 1.0
            assert ps.node == f"127.0.0.1:{port}" and ps.subscribed
            assert ps.get_message(timeout=0.2) is None


BAD_TIMEOUTS = [(-1, ValueError), (float("nan"), ValueError), (2**70, ValueError),
                (float("inf"), ValueError), ("1", TypeError)]  # fmt: skip


def test_every_subscription_takes_a_timeout_by_one_rule(
    redis_cluster: RedisClusterServers, redis_url: str
) -> None:
    """get_message's timeout: seconds from 0 to 1e9, or None; anything else raises at
    once, on a server's subscription (checked in C) as on a cluster's, sync or asyncio
    (checked in Python). Before, asyncio's and a cluster's waited forever on NaN or
    2**70 and took -1 for 0."""
    host, port = redis_cluster.addresses[0]
    sync_clients = [pyredisclient.RedisClient.from_url(redis_url), RedisClusterClient(host, port)]
    for c in sync_clients:
        with c, c.pubsub() as ps:
            ps.subscribe("tmo")
            for bad, error in BAD_TIMEOUTS:
                with pytest.raises(error):
                    ps.get_message(timeout=bad)
            assert ps.get_message(timeout=2)["type"] == "subscribe"  # type: ignore[index]

    async def main() -> None:
        url_client = pyredisclient.AsyncRedisClient.from_url(redis_url)
        for c in [url_client, AsyncRedisClusterClient(host, port)]:
            ps = c.pubsub()
            await ps.subscribe("tmo")
            for bad, error in BAD_TIMEOUTS:
                t0 = time.monotonic()
                with pytest.raises(error):
                    await asyncio.wait_for(ps.get_message(timeout=bad), 5)
                assert time.monotonic() - t0 < 1
            msg = await ps.get_message(timeout=2)
            assert msg is not None and msg["type"] == "subscribe"
            await ps.aclose()
            await c.aclose()

    asyncio.run(main())


def test_placing_a_pinged_subscription_is_no_gap(
    redis_cluster: RedisClusterServers, caplog: pytest.LogCaptureFixture
) -> None:
    """A subscription's first SUBSCRIBE places its connection on the channel's node.
    When a PING had opened it elsewhere, nothing was subscribed there, so the move
    is quiet: the caller gets the SUBSCRIBE's confirmation (redis-py's first
    message), not a 'reconnect' message, and no warning is logged."""
    host, port = redis_cluster.addresses[0]
    channel = next(
        f"placed:{i}"
        for i in range(1000)
        if redis_cluster.node_for_slot(_core.key_slot(f"placed:{i}")).port != port
    )

    def check(messages: List[Any]) -> None:
        assert [m["type"] for m in messages] == ["pong", "subscribe", "message"], messages
        assert messages[1]["channel"] == channel.encode()

    with RedisClusterClient(host, port) as c, c.pubsub() as ps:
        ps.ping()
        seen = [ps.get_message(timeout=2)]
        ps.subscribe(channel)
        seen.append(ps.get_message(timeout=2))
        assert c.publish(channel, "m") == 1
        seen.append(ps.get_message(timeout=2))
        check(seen)
        assert ps.node == f"{host}:{redis_cluster.node_for_slot(_core.key_slot(channel)).port}"

    async def main() -> List[Any]:
        async with AsyncRedisClusterClient(host, port) as c:
            ps = c.pubsub()
            await ps.ping()
            got = [await ps.get_message(timeout=2)]
            await ps.subscribe(channel)
            got.append(await ps.get_message(timeout=2))
            assert await c.publish(channel, "m") == 1
            got.append(await ps.get_message(timeout=2))
            await ps.aclose()
            return got

    check(asyncio.run(main()))
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []
