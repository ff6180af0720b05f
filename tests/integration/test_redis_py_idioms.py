"""Small redis-py idioms that code ported from redis-py uses without thinking, found
by running redis-py 8.1's own test suite against RedisClient: the item operators
(``r["k"] = v``), a pipeline's ``close()``/``discard()``, an empty WATCHing
transaction, a script awaited on an asyncio pipeline (pub/sub's ``Subscription``
objects and ``get_sharded_message()`` are in test_pubsub*.py). Each against a real server, beside redis-py
where it is installed."""

from __future__ import annotations

import contextlib
from typing import Any, List

import pytest
from aio_helpers import run

from pyredisclient import AsyncRedisClient, RedisClient, RedisClusterClient, WatchError
from pyredisclient.integrations.testing import redis_server_available
from pyredisclient.integrations.testing_topologies import RedisClusterServers


def _item_outcomes(client: Any) -> List[Any]:
    """What the item operators do on ``client``, as comparable values."""
    out: List[Any] = []
    client["a"] = 1
    client["b"] = b"\x00\xff"
    client["empty"] = ""
    out += [client["a"], client["b"], client["empty"]]  # "" is a value, not missing
    out += ["a" in client, "missing" in client, "empty" in client]
    with pytest.raises(KeyError) as info:
        client["missing"]
    out.append(info.value.args)
    del client["a"]
    del client["never-there"]  # DEL of a missing key: no error, as in redis-py
    out += ["a" in client, client.get("a")]
    return out


def test_item_operators_match_redis_py(r: Any, redis_url: str) -> None:
    ours = _item_outcomes(r)
    assert ours == [b"1", b"\x00\xff", b"", True, False, True, ("missing",), False, None]
    redis = pytest.importorskip("redis")
    r.flushdb()
    with contextlib.closing(redis.Redis.from_url(redis_url, protocol=2)) as theirs:
        assert _item_outcomes(theirs) == ours


def test_item_operators_decoded_and_under_a_key_prefix(redis_url: str, r: Any) -> None:
    with RedisClient.from_url(redis_url, decode_responses=True, key_prefix="app:") as c:
        c["k"] = "v"
        assert c["k"] == "v" and "k" in c
        assert r.get("app:k") == b"v"  # the prefix is applied as for set()
        del c["k"]
        assert "k" not in c and r.exists("app:k") == 0


@pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")
def test_item_operators_on_a_cluster(redis_cluster: RedisClusterServers) -> None:
    node = redis_cluster.nodes[0]
    with RedisClusterClient(node.host, node.port) as cc:
        keys = [f"k{i}" for i in range(20)]  # spread over the three primaries
        for k in keys:
            cc[k] = k.upper()
        assert [cc[k] for k in keys] == [k.upper().encode() for k in keys]
        assert all(k in cc for k in keys)
        del cc["k3"]
        assert "k3" not in cc
        with pytest.raises(KeyError):
            cc["k3"]


def test_item_operators_on_the_asyncio_client_raise_type_error(redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as c:
            with pytest.raises(TypeError, match="does not support class assignment"):
                c["k"] = "v"
            with pytest.raises(TypeError, match="class retrieval"):
                c["k"]
            with pytest.raises(TypeError, match="class deletion"):
                del c["k"]
            with pytest.raises(TypeError, match="class inclusion"):
                "k" in c  # noqa: B015 - the operator is what is tested
            assert await c.exists("k") == 0  # nothing was sent

    run(main())


def test_pipeline_close_and_discard(r: Any) -> None:
    with contextlib.closing(r.pipeline()) as pipe:
        pipe.set("a", 1)
    assert r.exists("a") == 0  # closed: reset, nothing sent
    pipe = r.pipeline()
    pipe.watch("w")
    pipe.multi()
    pipe.set("a", 1)
    assert len(pipe) == 1
    pipe.discard()  # as DISCARD: the queue, MULTI and the WATCH go
    assert len(pipe) == 0 and not pipe.watching and not pipe.explicit_transaction
    r.set("w", "changed")  # no longer watched: the next transaction is not refused
    pipe.set("b", 2)
    assert pipe.execute() == [True]
    assert r.exists("a") == 0 and r.get("b") == b"2"


def test_asyncio_pipeline_aclose_and_discard(r: Any, redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as c:
            pipe = c.pipeline()
            await pipe.watch("w")
            pipe.multi()
            pipe.set("a", 1)
            await pipe.discard()
            assert len(pipe) == 0 and not pipe.watching
            pipe.set("b", 2)
            await pipe.aclose()
            assert len(pipe) == 0
            pipe.set("c", 3)
            assert await pipe.execute() == [True]
            await pipe.close()
            assert await c.exists("a", "b", "c") == 1

    run(main())


@pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")
def test_cluster_pipeline_close_and_discard(redis_cluster: RedisClusterServers) -> None:
    node = redis_cluster.nodes[0]
    with RedisClusterClient(node.host, node.port) as cc:
        pipe = cc.pipeline(transaction=True)
        pipe.set("{t}a", 1)
        pipe.discard()
        assert len(pipe) == 0
        pipe.set("{t}b", 2)
        pipe.close()
        pipe.set("{t}c", 3)
        assert pipe.execute() == [True]
        assert cc.exists("{t}a", "{t}b", "{t}c") == 1


def test_an_empty_watching_transaction_still_reports_a_changed_key(r: Any) -> None:
    # redis-py sends MULTI/EXEC even with nothing queued while WATCHing: EXEC is
    # what says whether a watched key changed. Returning [] lost the WatchError.
    r.mset({"a": 1, "b": 2})
    with r.pipeline() as pipe:
        pipe.watch("a", "b")
        r.set("b", 3)
        pipe.multi()
        with pytest.raises(WatchError):
            pipe.execute()
        assert not pipe.watching
        pipe.watch("a")  # unchanged: the empty transaction succeeds
        pipe.multi()
        assert pipe.execute() == []
        assert pipe.execute() == []  # not watching, nothing queued: nothing sent
    assert r.pool_stats()["in_use"] == 0


def test_an_empty_watching_transaction_on_asyncio_and_a_cluster(
    r: Any, redis_url: str, redis_cluster: RedisClusterServers
) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as c:
            await c.set("a", 1)
            async with c.pipeline() as pipe:
                await pipe.watch("a")
                await c.set("a", 2)
                pipe.multi()
                with pytest.raises(WatchError):
                    await pipe.execute()

    run(main())
    node = redis_cluster.nodes[0]
    with RedisClusterClient(node.host, node.port) as cc:
        cc.set("{w}a", 1)
        with cc.pipeline() as pipe:
            pipe.watch("{w}a")
            cc.set("{w}a", 2)
            pipe.multi()
            with pytest.raises(WatchError):
                pipe.execute()
            pipe.watch("{w}a")
            pipe.multi()
            assert pipe.execute() == []


def test_asyncio_script_on_a_pipeline_may_be_awaited(r: Any, redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as c:
            await c.script_flush()
            multiply = c.register_script("return redis.call('GET', KEYS[1]) * ARGV[1]")
            pipe = c.pipeline()
            pipe.set("a", 2)
            assert await multiply(keys=["a"], args=[3], client=pipe) is pipe  # redis.asyncio
            multiply(keys=["a"], args=[4], client=pipe)  # queued without the await too
            assert await pipe.execute() == [True, 6, 8]

    run(main())


def test_client_gives_a_client_of_its_own(redis_url: str) -> None:
    """redis-py's ``r.client()`` ("a client that uses a single connection", as
    fakeredis's and redis-py's suites take one): the same configuration, a pool of
    its own, closed alone by its ``with``."""
    import asyncio

    with RedisClient.from_url(redis_url, decode_responses=True).with_prefix("one:") as r:
        with r.client() as c:
            assert c is not r and c.config == r.config
            c.set("k", "v")
            assert [c.get("k") for _ in range(3)] == ["v"] * 3
            assert c.pool_stats()["created"] == 1
        assert r.get("k") == "v"  # the view's prefix, on a client that is still open

        async def on_asyncio() -> Any:
            async with AsyncRedisClient.from_url(redis_url) as a:
                async with a.client() as conn:
                    await conn.rpush("one:l", "x")
                    got = await conn.blpop("one:l", timeout=1)
                return got, await a.ping()

        assert asyncio.run(on_asyncio()) == ((b"one:l", b"x"), True)


def test_asyncio_client_runs_sequential_calls_on_one_connection(redis_url: str) -> None:
    """redis.asyncio's ``client()`` as fakeredis's blocking tests use it: the id its
    ``client_id()`` gives is the connection its next BLPOP blocks on, so that
    ``CLIENT UNBLOCK`` from another client wakes that BLPOP."""
    import asyncio

    async def main() -> Any:
        async with AsyncRedisClient.from_url(redis_url) as a:
            async with a.client() as conn:
                assert conn.config.async_multiplex is False
                assert a.config.async_multiplex is True
                await a.delete("one:unblock")
                cid = await conn.client_id()
                pop = asyncio.ensure_future(conn.blpop("one:unblock", 5))
                await asyncio.sleep(0.1)
                woken = await a.execute_command("CLIENT", "UNBLOCK", str(cid))
                got = await asyncio.wait_for(pop, 3)
                return woken, got, conn.pool_stats()["created"]

    assert asyncio.run(main()) == (1, None, 1)
