"""SCAN across a cluster with one integer cursor, and SSCAN/HSCAN/ZSCAN routed by
their key, sync and async, against a real 3-primary cluster."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

import pyredisclient
from pyredisclient import AsyncRedisClusterClient, RedisClusterClient, _core
from pyredisclient.integrations.testing import redis_server_available
from pyredisclient.integrations.testing_topologies import RedisClusterServers

pytestmark = pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")

SLOTS = 16384


@pytest.fixture
def client(redis_cluster: RedisClusterServers) -> Iterator[RedisClusterClient]:
    host, port = redis_cluster.addresses[0]
    with RedisClusterClient(host, port, socket_timeout=2.0) as c:
        yield c


def scan_all(client: RedisClusterClient, **kwargs: object) -> tuple[list[bytes], list[int]]:
    """Every key from a scan(cursor) loop, and the cursors it went through."""
    keys: list[bytes] = []
    cursors: list[int] = []
    cursor = 0
    for _ in range(10_000):  # bounded; the cursor comes back to 0 first
        cursor, batch = client.scan(cursor, **kwargs)  # type: ignore[arg-type]
        keys.extend(batch)
        cursors.append(cursor)
        if cursor == 0:
            break
    return keys, cursors


def test_scan_cursor_visits_every_primary_once(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    names = [f"k{i}".encode() for i in range(300)]
    client.mset({k: 1 for k in names})
    keys, cursors = scan_all(client, count=20)
    assert sorted(keys) == sorted(names)  # each key once, from all three primaries
    assert cursors[-1] == 0 and all(c != 0 for c in cursors[:-1])
    # The cursor names the node by its lowest slot: all three appear, in order.
    smap = client.slot_map
    assert smap is not None
    firsts = [slot for slot, _ in smap.first_slots()]
    assert len(firsts) == 3
    seen = sorted({c % SLOTS for c in cursors[:-1]})
    assert set(firsts[1:]) <= set(seen) <= set(firsts)
    keys, _ = scan_all(client, match="k1*", count=50)
    assert sorted(keys) == sorted(k for k in names if k.startswith(b"k1"))
    client.sadd("aset", 1)
    keys, _ = scan_all(client, _type="set")
    assert keys == [b"aset"]


def test_scan_cursor_with_a_key_prefix(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[2]
    with RedisClusterClient(host, port, key_prefix="app:") as c:
        c.mset({f"p{i}": i for i in range(40)})
        owner = redis_cluster.node_for_slot(_core.key_slot("other"))
        redis_cluster.command(owner, "SET", "other", 1)  # not the tenant's: unseen
        keys, _ = scan_all(c, count=10)  # type: ignore[arg-type]
        assert sorted(keys) == sorted(f"p{i}".encode() for i in range(40))


def test_scan_cursor_errors(client: RedisClusterClient) -> None:
    for bad in (-1, "0", 1.5, True):
        with pytest.raises(pyredisclient.DataError):
            client.scan(bad)  # type: ignore[arg-type]
    keys, cursors = scan_all(client)  # an empty cluster: one step per primary
    assert keys == [] and len(cursors) == 3
    smap = client.slot_map
    assert smap is not None
    unserved = smap.with_slot(5, None)  # type: ignore[arg-type]
    client._state.map = unserved
    with pytest.raises(pyredisclient.ClusterDownError):
        client.scan(7 * SLOTS + 5)


def test_sscan_hscan_zscan_go_to_their_keys_node(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    names = ["s1", "s2", "s3", "s4", "s5", "s6"]
    owners = {redis_cluster.node_for_slot(_core.key_slot(n)).port for n in names}
    assert len(owners) > 1  # the keys live on several nodes
    for n in names:
        client.sadd(n, *range(50))
        client.hset(f"h{n}", mapping={f"f{i}": i for i in range(50)})
        client.zadd(f"z{n}", {f"m{i}": i for i in range(50)})
    for n in names:
        assert sorted(int(m) for m in client.sscan_iter(n, count=7)) == list(range(50))
        cursor, members = client.sscan(n, 0, count=100)
        assert cursor == 0 and len(members) == 50
        assert dict(client.hscan_iter(f"h{n}", match="f1*")) == {
            f"f{i}".encode(): str(i).encode() for i in range(50) if str(i).startswith("1")
        }
        cursor, fields = client.hscan(f"h{n}", 0, count=100)
        assert cursor == 0 and len(fields) == 50
        assert sorted(s for _, s in client.zscan_iter(f"z{n}")) == [float(i) for i in range(50)]
    assert client.metrics()["cluster"]["moved"] == 0


def test_async_scan_cursor(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[1]

    async def main() -> None:
        async with AsyncRedisClusterClient(host, port) as c:
            await c.mset({f"a{i}": i for i in range(100)})
            found: list[bytes] = []
            cursor = 0
            for _ in range(10_000):  # bounded
                cursor, batch = await c.scan(cursor, count=15)
                found.extend(batch)
                if cursor == 0:
                    break
            assert sorted(found) == sorted(f"a{i}".encode() for i in range(100))
            await c.sadd("{a}s", *range(30))
            cursor, members = await c.sscan("{a}s", 0, count=100)
            assert cursor == 0 and len(members) == 30

    asyncio.run(main())


def test_async_sscan_hscan_zscan_iterators(redis_cluster: RedisClusterServers) -> None:
    # CoreCommands' iterators are plain generators: on the asyncio cluster client they
    # raised TypeError at `async for` until it took the asyncio client's own.
    host, port = redis_cluster.addresses[0]
    names = ["s1", "s2", "s3", "s4"]

    async def main() -> None:
        async with AsyncRedisClusterClient(host, port) as c:
            for n in names:
                await c.sadd(n, *range(40))
                await c.hset(f"h{n}", mapping={f"f{i}": i for i in range(40)})
                await c.zadd(f"z{n}", {f"m{i}": i for i in range(40)})
            for n in names:
                members = [int(m) async for m in c.sscan_iter(n, count=7)]
                assert sorted(members) == list(range(40))
                fields = {f: v async for f, v in c.hscan_iter(f"h{n}", match="f1*")}
                assert fields == {
                    f"f{i}".encode(): str(i).encode() for i in range(40) if str(i).startswith("1")
                }
                scores = sorted([s async for _, s in c.zscan_iter(f"z{n}")])
                assert scores == [float(i) for i in range(40)]
            assert c.metrics()["cluster"]["moved"] == 0

    asyncio.run(main())
