"""WATCH in cluster transactions: pipe.watch / immediate reads / multi / execute,
and client.transaction(), sync and async, against a real 3-primary cluster; a slot
that moves while watched surfaces as WatchError and transaction() runs again."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import pyredisclient
from pyredisclient import (
    AsyncRedisClusterClient,
    ClusterCrossSlotError,
    RedisClusterClient,
    WatchError,
    _core,
)
from pyredisclient.integrations.testing import redis_server_available
from pyredisclient.integrations.testing_topologies import ClusterNodeServer, RedisClusterServers

pytestmark = pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")


@pytest.fixture
def client(redis_cluster: RedisClusterServers) -> Iterator[RedisClusterClient]:
    host, port = redis_cluster.addresses[0]
    with RedisClusterClient(host, port, socket_timeout=2.0) as c:
        yield c


def other_primary(cluster: RedisClusterServers, key: str) -> ClusterNodeServer:
    owner = cluster.node_for_slot(_core.key_slot(key))
    return next(n for n in cluster.primaries() if n is not owner)


def test_watch_immediate_reads_multi_execute(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    client.set("{w}a", 5)
    with client.pipeline() as pipe:
        assert pipe.watch("{w}a", "{w}b") is True
        assert pipe.watching
        assert pipe.get("{w}a") == b"5"  # immediate, on the watching connection
        assert pipe.ping() is True  # keyless: the watching node answers
        with pytest.raises(ClusterCrossSlotError):
            pipe.get("elsewhere")  # another slot: refused, nothing sent
        pipe.multi()
        pipe.incr("{w}a").set("{w}b", "x")
        assert len(pipe) == 2
        assert pipe.execute() == [6, True]
        assert not pipe.watching
    node = redis_cluster.node_for_slot(_core.key_slot("{w}a"))
    assert redis_cluster.command(node, "GET", "{w}b") == b"x"
    assert client.pool_stats()["in_use"] == 0


def test_watch_needs_one_slot(client: RedisClusterClient) -> None:
    pipe = client.pipeline()
    with pytest.raises(ClusterCrossSlotError):
        pipe.watch("a", "b")  # "a" and "b" hash to different slots
    pipe.watch("{s}1")
    with pytest.raises(ClusterCrossSlotError):
        pipe.watch("{t}1")  # a second WATCH on another slot
    pipe.watch("{s}2")  # the same slot: more keys on the same connection
    pipe.multi()
    pipe.set("{s}1", 1).set("other", 2)
    with pytest.raises(ClusterCrossSlotError):
        pipe.execute()
    assert client.exists("{s}1", "other") == 0  # nothing was sent
    assert not pipe.watching
    with pytest.raises(pyredisclient.RedisError, match="at least one key"):
        pipe.watch()
    pipe.multi()
    with pytest.raises(pyredisclient.RedisError, match="WATCH after a MULTI"):
        pipe.watch("{s}1")
    pipe.reset()


def test_execute_raises_watch_error_when_a_watched_key_changed(
    client: RedisClusterClient,
) -> None:
    client.set("{w}k", 1)
    pipe = client.pipeline()
    pipe.watch("{w}k")
    client.set("{w}k", 2)  # another connection changes it
    pipe.multi()
    pipe.set("{w}k", 3)
    with pytest.raises(WatchError):
        pipe.execute()
    assert client.get("{w}k") == b"2"
    assert not pipe.watching
    pipe.watch("{w}k")  # the pipeline is usable again
    pipe.unwatch()
    assert not pipe.watching
    assert pipe.execute() == []


def test_transaction_retries_on_a_concurrent_change(client: RedisClusterClient) -> None:
    client.set("{acct}balance", 100)
    calls = []

    def debit(pipe: Any) -> None:
        balance = int(pipe.get("{acct}balance"))
        calls.append(balance)
        if len(calls) == 1:
            client.incrby("{acct}balance", 50)  # someone else, between WATCH and EXEC
        pipe.multi()
        pipe.set("{acct}balance", balance - 30)

    assert client.transaction(debit, "{acct}balance") == [True]
    assert calls == [100, 150]
    assert client.get("{acct}balance") == b"120"
    assert client.transaction(lambda p: 7, "{acct}balance", value_from_callable=True) == 7
    with pytest.raises(ClusterCrossSlotError):
        client.transaction(lambda p: None, "a", "b")


def test_moved_while_watching_is_a_watch_error_never_a_resend(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    key = "{mv}n"
    client.set(key, 10)
    slot = _core.key_slot(key)
    pipe = client.pipeline()
    pipe.watch(key)
    assert pipe.get(key) == b"10"
    redis_cluster.migrate_slots(slot, slot, other_primary(redis_cluster, key))
    pipe.multi()
    pipe.incr(key)
    with pytest.raises(WatchError, match=f"slot {slot} moved while watching"):
        pipe.execute()
    assert client.get(key) == b"10"  # the INCR never ran, here or on the new owner
    assert client.metrics()["cluster"]["moved"] >= 1
    # An immediate read after the move is a WatchError too.
    pipe.watch(key)  # the first WATCH finds the new owner
    redis_cluster.migrate_slots(slot, slot, other_primary(redis_cluster, key))
    with pytest.raises(WatchError, match="moved while watching"):
        pipe.get(key)
    assert not pipe.watching
    assert client.pool_stats()["in_use"] == 0


def test_transaction_runs_again_after_the_slot_moved(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    key = "{tx}n"
    client.set(key, 1)
    slot = _core.key_slot(key)
    calls = []

    def bump(pipe: Any) -> None:
        value = int(pipe.get(key))
        calls.append(value)
        if len(calls) == 1:  # the slot moves between the read and EXEC
            redis_cluster.migrate_slots(slot, slot, other_primary(redis_cluster, key))
        pipe.multi()
        pipe.set(key, value + 1)

    assert client.transaction(bump, key) == [True]
    assert calls == [1, 1]
    assert client.get(key) == b"2"  # applied once
    assert client.metrics()["cluster"]["retries"] >= 1


def test_first_watch_waits_out_a_migration(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    keys = [f"{{mig}}{i}" for i in range(6)]
    for k in keys:
        client.set(k, k)
    slot = _core.key_slot(keys[0])
    source = redis_cluster.node_for_slot(slot)
    target = other_primary(redis_cluster, keys[0])
    redis_cluster.begin_slot_migration(slot, target)
    redis_cluster.move_slot_keys(slot, target)  # every key gone: the source says ASK

    def finish() -> None:
        time.sleep(0.4)
        redis_cluster.finish_slot_migration(slot, target, source=source)

    finisher = threading.Thread(target=finish)
    finisher.start()
    try:
        started = time.monotonic()
        pipe = client.pipeline()
        pipe.watch(keys[0])  # ASK: backs off until MOVED names the new owner
        waited = time.monotonic() - started
        assert pipe.get(keys[0]) == keys[0].encode()
        pipe.multi()
        pipe.set(keys[0], "new")
        assert pipe.execute() == [True]
    finally:
        finisher.join(10)
    stats = client.metrics()["cluster"]
    assert 0.3 < waited < 5.0
    assert 1 <= stats["retries"] <= 20  # backed off, did not spin
    assert stats["ask"] >= 1


def test_watch_gives_up_after_retry_timeout(redis_cluster: RedisClusterServers) -> None:
    key = "{stuck}k"
    slot = _core.key_slot(key)
    source = redis_cluster.node_for_slot(slot)
    target = other_primary(redis_cluster, key)
    host, port = redis_cluster.addresses[0]
    redis_cluster.begin_slot_migration(slot, target)
    try:
        with RedisClusterClient(host, port, retry_timeout=0.3) as c:
            started = time.monotonic()
            with pytest.raises(pyredisclient.ResponseError, match=r"^ASK "):
                c.pipeline().watch(key)
            assert time.monotonic() - started < 2.0
    finally:
        redis_cluster.finish_slot_migration(slot, target, source=source)


def test_async_watch_and_transaction(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[1]
    key = "{aw}n"

    async def main() -> None:
        async with AsyncRedisClusterClient(host, port, socket_timeout=2.0) as c:
            await c.set(key, 1)
            async with c.pipeline() as pipe:
                await pipe.watch(key)
                assert await pipe.get(key) == b"1"
                with pytest.raises(ClusterCrossSlotError):
                    await pipe.get("elsewhere")
                pipe.multi()
                pipe.incr(key)
                assert await pipe.execute() == [2]
            pipe = c.pipeline()
            await pipe.watch(key)
            await c.set(key, 9)
            pipe.multi()
            pipe.incr(key)
            with pytest.raises(WatchError):
                await pipe.execute()
            await pipe.reset()

            calls = []

            async def bump(p: Any) -> None:
                value = int(await p.get(key))
                calls.append(value)
                if len(calls) == 1:  # moves while watched: the whole function again
                    slot = _core.key_slot(key)
                    dest = other_primary(redis_cluster, key)
                    await asyncio.get_running_loop().run_in_executor(
                        None, lambda: redis_cluster.migrate_slots(slot, slot, dest)
                    )
                p.multi()
                p.set(key, value + 1)

            assert await c.transaction(bump, key) == [True]
            assert calls == [9, 9]
            assert await c.get(key) == b"10"
            assert (
                await c.transaction(lambda p: "v", key, value_from_callable=True, watch_delay=0.01)
                == "v"
            )
            # Every pinned connection went back (what stays in use: each node's
            # shared multiplexed connection).
            stats = c.pool_stats()
            assert stats["idle"] >= 1 and stats["in_use"] <= len(c.nodes())

    asyncio.run(main())


def test_a_failed_connection_while_watching_is_a_watch_error(
    redis_cluster: RedisClusterServers,
) -> None:
    key = "{cf}k"
    node = redis_cluster.node_for_slot(_core.key_slot(key))
    host, port = redis_cluster.addresses[0]
    with RedisClusterClient(host, port, socket_timeout=0.3, retry_timeout=5.0) as c:
        c.set(key, 1)
        pipe = c.pipeline()
        pipe.watch(key)
        redis_cluster.pause(node)
        try:
            with pytest.raises(WatchError, match="occurred while watching"):
                pipe.get(key)  # timed out: the watch may be gone
        finally:
            redis_cluster.resume(node)
        assert not pipe.watching
        calls = []
        resume = threading.Timer(0.6, redis_cluster.resume, (node,))

        def bump(p: Any) -> None:
            calls.append(int(p.get(key)))
            redis_cluster.pause(node)
            resume.start()
            p.multi()
            p.incr(key)

        try:
            with pytest.raises(pyredisclient.TimeoutError):
                c.transaction(bump, key)  # EXEC sent, no reply: it may have run
        finally:
            resume.join(5)
        assert calls == [1]  # so the function did not run again
        assert c.get(key) in (b"1", b"2")  # and the INCR ran at most once


def test_exec_that_may_have_run_is_not_run_again(redis_cluster: RedisClusterServers) -> None:
    key = "{ex}k"
    node = redis_cluster.node_for_slot(_core.key_slot(key))
    host, port = next(a for a in redis_cluster.addresses if a[1] != node.port)
    calls = []

    def crash() -> None:
        time.sleep(0.3)  # EXEC is in the paused node's socket: it may run, or not
        redis_cluster.kill(node)  # the unread EXEC: the client's read gets a reset

    crasher = threading.Thread(target=crash)
    try:
        with RedisClusterClient(host, port, socket_timeout=5.0, retry_timeout=2.0) as c:

            def bump(p: Any) -> None:
                calls.append(int(p.get(key) or 0))
                if len(calls) == 1:
                    redis_cluster.pause(node)
                    crasher.start()
                p.multi()
                p.incr(key)

            with pytest.raises(pyredisclient.ConnectionError):
                c.transaction(bump, key)
            assert c.metrics()["cluster"]["retries"] == 0  # raised at once, no retry
    finally:
        crasher.join(10)
        redis_cluster.restart(node)
    assert calls == [0]  # never run again once EXEC was sent


def test_transaction_waits_out_a_migration(
    redis_cluster: RedisClusterServers, client: RedisClusterClient
) -> None:
    keys = [f"{{tm}}{i}" for i in range(6)]
    for k in keys:
        client.set(k, 1)
    slot = _core.key_slot(keys[0])
    source = redis_cluster.node_for_slot(slot)
    target = other_primary(redis_cluster, keys[0])
    redis_cluster.begin_slot_migration(slot, target)
    redis_cluster.move_slot_keys(slot, target, limit=3)  # half-way: ASK for some keys

    def finish() -> None:
        time.sleep(0.4)
        redis_cluster.move_slot_keys(slot, target, source=source)
        redis_cluster.finish_slot_migration(slot, target, source=source)

    finisher = threading.Thread(target=finish)
    finisher.start()
    try:
        pipe = client.pipeline(transaction=True)
        for k in keys:
            pipe.incr(k)
        assert pipe.execute() == [2] * 6  # EXECABORT with ASK: nothing ran, so again
    finally:
        finisher.join(10)
    assert client.mget(keys) == [b"2"] * 6  # each INCR once
    stats = client.metrics()["cluster"]
    assert 1 <= stats["retries"] <= 20


def test_first_watch_on_an_unanswering_node_gives_up_and_pins_nothing(
    redis_cluster: RedisClusterServers,
) -> None:
    key = "{un}k"
    node = redis_cluster.node_for_slot(_core.key_slot(key))
    host, port = next(a for a in redis_cluster.addresses if a[1] != node.port)
    with RedisClusterClient(host, port, socket_timeout=0.2, retry_timeout=0.6) as c:
        c.get(key)  # the slot map, and a pooled connection to the node
        redis_cluster.pause(node)
        try:
            pipe = c.pipeline()
            with pytest.raises(pyredisclient.TimeoutError):
                pipe.watch(key)  # timed out, backed off, tried again, gave up
            assert not pipe.watching
        finally:
            redis_cluster.resume(node)
        assert c.pool_stats()["in_use"] == 0
        assert c.metrics()["cluster"]["retries"] >= 1
        assert c.get(key) is None
