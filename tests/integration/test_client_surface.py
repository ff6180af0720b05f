"""redis-py client methods with no pooled-connection meaning of their own:
``cluster()`` (CLUSTER <subcommand> to the one server, redis-py's reply shapes,
against a cluster node and a standalone server) and ``watch()``/``unwatch()`` on
a client (refused, naming the pipeline's methods)."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pytest

from pyredisclient import (
    AsyncRedisClient,
    DataError,
    RedisClient,
    RedisClusterClient,
    ResponseError,
)
from pyredisclient.integrations.testing import redis_server_available
from pyredisclient.integrations.testing_topologies import RedisClusterServers


def test_watch_and_unwatch_on_a_client_are_refused(r: Any, redis_url: str) -> None:
    # redis-py's client methods send nothing and only warn, leaving a transaction
    # unprotected without a word; a pooled client cannot hold a WATCH: refused,
    # naming what to use, before anything is sent.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError, match=r"pipe\.watch\(\).*client\.pipeline\(\)"):
            r.watch("k")
        with pytest.raises(DataError, match="UNWATCH is not allowed"):
            r.unwatch()
        with r.pipeline() as pipe:  # the pipeline's own methods
            assert pipe.watch("k") is True
            assert pipe.unwatch() is True
    with RedisClient.from_url(redis_url, key_prefix="p:") as pr:
        with pytest.raises(DataError, match="WATCH is not allowed"):
            pr.watch("k")

    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as ar:
            with pytest.raises(DataError, match="WATCH is not allowed"):
                await ar.watch("k")
            with pytest.raises(DataError, match="UNWATCH is not allowed"):
                await ar.unwatch()
            async with ar.pipeline() as pipe:
                assert await pipe.watch("k") is True

    asyncio.run(main())
    assert r.pool_stats()["in_use"] == 0


def test_cluster_on_a_standalone_server(r: Any, redis_url: str) -> None:
    with pytest.raises(ResponseError, match="cluster support disabled"):
        r.cluster("info")
    with pytest.raises(ResponseError, match="cluster support disabled"):
        r.cluster("keyslot", "k")

    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as ar:
            with pytest.raises(ResponseError, match="cluster support disabled"):
                await ar.cluster("INFO")

    asyncio.run(main())
    with r.pipeline(transaction=False) as pipe:
        assert pipe.cluster("info") is pipe
        (err,) = pipe.execute(raise_on_error=False)
        assert isinstance(err, ResponseError)


@pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")
def test_cluster_on_a_cluster_node(redis_cluster: RedisClusterServers) -> None:
    redis = pytest.importorskip("redis")
    node = redis_cluster.node_for_slot(12182)  # serves "foo"
    calls: list[tuple[Any, ...]] = [
        ("info",),
        ("nodes",),
        ("myid",),
        ("keyslot", "foo"),
        ("countkeysinslot", 12182),
        ("getkeysinslot", 12182, 10),
        ("slots",),
        ("shards",),
        ("count-failure-reports", "0" * 40),
        ("links",),
        ("replicas", "0" * 40),
        ("meet", "127.0.0.1", node.port),
        ("nosuchcommand",),
    ]
    with RedisClusterClient(node.host, node.port) as cc:
        cc.set("foo", "1")
    for decode in (False, True):
        theirs = redis.Redis(node.host, node.port, protocol=2, decode_responses=decode)
        with RedisClient(host=node.host, port=node.port, decode_responses=decode) as ours:
            for args in calls:
                mine, ref = _outcome(ours.cluster, args), _outcome(theirs.cluster, args)
                if args[0] in ("info", "links", "nodes", "shards"):
                    mine, ref = _shape(mine), _shape(ref)  # ping times, counters move
                assert mine == ref, (args, decode)
            assert ours.cluster("info")["cluster_state"] == "ok"
            assert ours.cluster("getkeysinslot", 12182, 10) == ["foo"]
            with ours.pipeline(transaction=False) as pipe:
                assert pipe.cluster("keyslot", "foo").cluster("info").execute()[0] == 12182
        theirs.close()


def _outcome(method: Any, args: tuple[Any, ...]) -> Any:
    try:
        return method(*args)
    except Exception as exc:  # ours or redis-py's ResponseError
        if type(exc).__name__ != "ResponseError":
            raise
        return ("error", str(exc))


def _shape(value: Any) -> Any:
    """Keys and types, recursively: what must agree where the values change."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__
