"""redis-py's ``set_response_callback`` on a real server: a callback replaces the
command method's conversion (and applies to execute_command), on the clients, their
pipelines (WATCH mode too), their views, and the cluster clients; a client that
sets none keeps the C hook, with no Python frame."""

from __future__ import annotations

import asyncio
from typing import Any, List

import pytest

from pyredisclient import (
    AsyncRedisClient,
    AsyncRedisClusterClient,
    DataError,
    RedisClient,
    RedisClusterClient,
)
from pyredisclient.integrations.testing_topologies import RedisClusterServers


def _tagged(reply: Any, **options: Any) -> Any:
    return ("tagged", reply)


def test_callbacks_replace_the_conversion_as_redis_py(redis_url: str) -> None:
    redis = pytest.importorskip("redis")
    ref = redis.Redis.from_url(redis_url)
    with RedisClient.from_url(redis_url) as r:
        assert r._run == r._core.run and dict(r.response_callbacks) == {}  # the C hook
        r.set("k", "v")
        r.hset("h", mapping={"a": 1})
        for client in (r, ref):
            client.set_response_callback("get", _tagged)  # any case
            assert client.get("k") == ("tagged", b"v")
            assert client.execute_command("GET", "k") == ("tagged", b"v")
            assert client.exists("k") == 1  # others keep their conversion
        # The reply is the raw RESP2 one, as redis-py 7 hands it (redis-py 8 hands
        # some already converted: HGETALL as a dict).
        r.set_response_callback("HGETALL", lambda reply, **kw: reply)
        r.set_response_callback("CONFIG GET", lambda reply, **kw: len(reply))
        assert r.hgetall("h") == [b"a", b"1"]
        r.set_response_callback("CONFIG", lambda reply: "any CONFIG")
        assert r.config_get("maxmemory") == 2  # the two-word name wins over CONFIG
        assert r.config_resetstat() == "any CONFIG"
        assert set(r.response_callbacks) == {"GET", "HGETALL", "CONFIG GET", "CONFIG"}
        with pytest.raises(DataError, match="callable"):
            r.set_response_callback("GET", 3)  # type: ignore[arg-type]
        with pytest.raises(DataError, match="callable"):
            r.response_callbacks["SET"] = "x"  # type: ignore[assignment]
        # Pipelines: queued, and between WATCH and MULTI.
        assert r.pipeline().get("k").hgetall("h").set("x", 1).execute() == [
            ("tagged", b"v"),
            [b"a", b"1"],
            True,
        ]
        with r.pipeline() as pipe:
            pipe.watch("k")
            assert pipe.get("k") == ("tagged", b"v")
            pipe.multi()
            pipe.get("k")
            assert pipe.execute() == [("tagged", b"v")]
        # A view made now follows the parent's callbacks, later ones included.
        view = r.with_prefix("t:")
        view.set("k", "pv")
        assert view.get("k") == ("tagged", b"pv")
        r.set_response_callback("GET", lambda reply: reply.upper())
        assert view.get("k") == b"PV" and r.get("k") == b"V"
        # A command with no name is the same DataError with a callback set as
        # without (the hook looked at the name first: IndexError).
        with pytest.raises(DataError, match="at least its name"):
            r.execute_command()
    ref.close()


def test_async_client_and_pipeline(redis_url: str) -> None:
    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(redis_url, decode_responses=True) as a:
            await a.set("k", "v")
            a.set_response_callback("GET", lambda reply: reply + "!")
            pipe = a.pipeline()
            pipe.get("k").incr("n")
            return [await a.get("k"), await a.execute_command("GET", "k"), await pipe.execute()]

    assert asyncio.run(main()) == ["v!", "v!", ["v!", 1]]


def test_cluster_clients(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[0]
    with RedisClusterClient(host=host, port=port) as c:
        c.mset_nonatomic({f"c{i}": i for i in range(6)})
        c.set_response_callback("GET", _tagged)
        c.set_response_callback("DBSIZE", lambda n: n * 10)
        assert c.get("c1") == ("tagged", b"1")
        assert c.dbsize(target_nodes=c.get_node_from_key("c1")) % 10 == 0
        assert c.pipeline().get("c1").get("c2").execute() == [
            ("tagged", b"1"),
            ("tagged", b"2"),
        ]

    async def main() -> Any:
        async with AsyncRedisClusterClient(host=host, port=port) as a:
            a.set_response_callback("GET", _tagged)
            pipe = a.pipeline()
            pipe.get("c3")
            return await a.get("c4"), await pipe.execute()

    assert asyncio.run(main()) == (("tagged", b"4"), [("tagged", b"3")])


def test_response_callbacks_is_redis_pys_dict(redis_url: str) -> None:
    """redis-py's idioms on the table: an item set or popped, a whole mapping
    assigned (``{}`` and back: fakeredis's raw_command), any case in, upper case
    out; a client that only reads it keeps the C hook."""
    redis = pytest.importorskip("redis")
    ref = redis.Redis.from_url(redis_url)
    with RedisClient.from_url(redis_url) as r:
        r.set("k", "v")
        saved = r.response_callbacks
        assert dict(saved) == {} and r._run == r._core.run  # read only: no hook
        for client in (r, ref):
            client.response_callbacks["GET"] = _tagged
            assert client.get("k") == ("tagged", b"v")
            kept = client.response_callbacks
            client.response_callbacks = {}  # raw replies: redis-py's raw_command
            assert client.execute_command("GET", "k") == b"v"
            client.response_callbacks = kept
            assert client.get("k") == ("tagged", b"v")
            assert client.response_callbacks.pop("GET") is _tagged
            assert client.get("k") == b"v"
        r.response_callbacks = {"get": _tagged, b"config get": len}
        assert set(r.response_callbacks) == {"GET", "CONFIG GET"} and "Get" in r.response_callbacks
        assert r.pipeline().get("k").execute() == [("tagged", b"v")]
        assert r.config_get("maxmemory") == 2
        r.response_callbacks.update(GET=lambda reply: reply * 2)
        r.response_callbacks |= {"EXISTS": lambda n: -n}
        assert r.get("k") == b"vv" and r.exists("k") == -1
        with pytest.raises(DataError, match="callable"):
            r.response_callbacks = {"GET": None}  # type: ignore[dict-item]
    ref.close()
