"""Replies that are never decoded: DUMP, FUNCTION DUMP, SLOWLOG GET and INFO with
decode_responses=True, as redis-py's NEVER_DECODE, on every path a command takes
(a call, a pipeline, a transaction, a WATCHing pipeline, the asyncio client with
and without multiplexing, a key prefix) through the binding's NeverDecode type."""

from __future__ import annotations

import asyncio
import gc
import sys
from typing import Any, Iterator, List

import pytest

from pyredisclient import (
    AsyncRedisClient,
    AsyncRedisClusterClient,
    RedisClient,
    RedisClusterClient,
    ResponseError,
    _core,
)
from pyredisclient._core import NeverDecode
from pyredisclient.integrations.testing import redis_server_available
from pyredisclient.integrations.testing_topologies import RedisClusterServers

LIB = "#!lua name=nd\nredis.register_function('nd1', function(keys, args) return 1 end)"


@pytest.fixture
def dr(redis_client: Any, redis_url: str) -> Iterator[RedisClient]:
    """A decode_responses=True client on the flushed session database."""
    with RedisClient.from_url(redis_url, decode_responses=True) as client:
        yield client


def payload_of(r: Any) -> bytes:
    """The DUMP payload of the list "l", from a bytes client: never UTF-8 (a \\xff
    element, and DUMP's own binary trailer)."""
    r.delete("l")
    r.rpush("l", "a", b"\xff", 3)
    payload = r.dump("l")
    assert isinstance(payload, bytes)
    with pytest.raises(UnicodeDecodeError):
        payload.decode()
    return payload


def test_the_type() -> None:
    args = NeverDecode(("DUMP", "k"))
    assert isinstance(args, tuple) and args == ("DUMP", "k") and len(args) == 2
    assert repr(args) == "('DUMP', 'k')"
    with pytest.raises(TypeError):
        type("Sub", (NeverDecode,), {})
    before = sys.getrefcount(NeverDecode)
    for i in range(1000):
        NeverDecode(("a", i))
    gc.collect()
    assert sys.getrefcount(NeverDecode) == before  # instances give their type back


def test_dump_restore_sync(r: Any, dr: RedisClient) -> None:
    payload = payload_of(r)
    assert dr.dump("l") == payload
    assert dr.dump("missing") is None
    assert dr.restore("l2", 0, dr.dump("l")) == "OK"  # as redis-py: no callback
    assert dr.lrange("l2", 0, 0) == ["a"] and r.lrange("l2", 0, -1) == [b"a", b"\xff", b"3"]
    with pytest.raises(ResponseError, match="BUSYKEY"):
        dr.restore("l2", 0, dr.dump("l"))
    # The connection is in step, and the client decodes as before.
    dr.set("t", "é")
    assert dr.get("t") == "é"
    assert dr.execute_command("DUMP", "l", NEVER_DECODE=[]) == payload
    assert dr.execute_command("DUMP", "l2", NEVER_DECODE=True) == payload
    assert dr.execute_command("GET", "t") == "é"
    assert dr._core.execute(NeverDecode(("GET", "t"))) == "é".encode()
    assert dr._core.run(NeverDecode(("GET", "t")), len) == 2


def test_function_dump_restore(r: Any, dr: RedisClient) -> None:
    r.function_flush()
    try:
        assert dr.function_load(LIB) == "nd"
        payload = dr.function_dump()
        assert isinstance(payload, bytes) and payload == r.function_dump()
        assert dr.function_flush() is True
        assert dr.function_restore(payload) is True
        assert dr.fcall("nd1", 0) == 1
    finally:
        r.function_flush()


@pytest.mark.parametrize("transaction", [False, True], ids=["pipeline", "multi"])
def test_dump_restore_in_pipelines(r: Any, dr: RedisClient, transaction: bool) -> None:
    payload = payload_of(r)
    dr.set("t", "é")
    with dr.pipeline(transaction=transaction) as pipe:
        pipe.get("t").dump("l").dump("missing").get("t").function_dump().lrange("l", 0, 0)
        got = pipe.execute()
    assert got[0] == got[3] == "é"
    assert got[1] == payload and got[2] is None
    assert isinstance(got[4], bytes) and got[5] == ["a"]
    with dr.pipeline(transaction=transaction) as pipe:
        pipe.restore("l2", 0, payload).llen("l2").get("t")
        assert pipe.execute() == ["OK", 3, "é"]
    assert r.lrange("l2", 0, -1) == [b"a", b"\xff", b"3"]
    # A pipeline reused after commands of either kind: no flag left behind.
    with dr.pipeline(transaction=transaction) as pipe:
        pipe.dump("l")
        pipe.reset()
        pipe.get("t").get("t")
        assert pipe.execute() == ["é", "é"]


def test_many_commands_and_nested_replies(r: Any, dr: RedisClient) -> None:
    """Raw flags past the batch's first allocation, and inside EXEC items that are
    arrays (SLOWLOG GET's entries, two levels down)."""
    payload = payload_of(r)
    dr.set("t", "é")
    for transaction in (False, True):
        with dr.pipeline(transaction=transaction) as pipe:
            for i in range(70):
                pipe.dump("l") if i % 7 == 3 else pipe.get("t")
            got = pipe.execute()
        assert got == [payload if i % 7 == 3 else "é" for i in range(70)]
    r.config_set("slowlog-log-slower-than", 0)
    try:
        r.set(b"k\xff", b"\xfe")
        with dr.pipeline() as pipe:
            pipe.get("t").slowlog_get(20).get("t")
            first, entries, last = pipe.execute()
    finally:
        r.config_set("slowlog-log-slower-than", 10000)
        r.slowlog_reset()
    assert first == last == "é"
    assert b"SET k\xff \xfe" in [e["command"] for e in entries]
    assert all(isinstance(e["client_address"], bytes) for e in entries)


@pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")
def test_sentinel_client(redis_sentinel: Any) -> None:
    sentinels = [f"{h}:{p}" for h, p in redis_sentinel.sentinel_addresses]
    with RedisClient.from_sentinel(sentinels, "mymaster", socket_timeout=2.0) as raw:
        raw.rpush("l", "a", b"\xff")
        payload = raw.dump("l")
    with RedisClient.from_sentinel(
        sentinels, "mymaster", socket_timeout=2.0, decode_responses=True
    ) as c:
        assert c.dump("l") == payload
        assert c.restore("l2", 0, payload) == "OK"


def test_watching_pipeline_runs_dump_on_its_connection(r: Any, dr: RedisClient) -> None:
    payload = payload_of(r)
    with dr.pipeline() as pipe:
        pipe.watch("l")
        assert pipe.dump("l") == payload  # immediate, on the pinned connection
        pipe.multi()
        pipe.dump("l").restore("l3", 0, payload)
        assert pipe.execute() == [payload, "OK"]


def test_key_prefix(r: Any, redis_url: str) -> None:
    with RedisClient.from_url(redis_url, decode_responses=True, key_prefix="nd:") as pr:
        pr.rpush("l", "a", "é")
        payload = pr.dump("l")
        assert payload == r.dump("nd:l")
        assert pr.restore("l2", 0, payload) == "OK"
        assert pr.lrange("l2", 0, -1) == ["a", "é"]
        with pr.pipeline() as pipe:
            assert pipe.dump("l").execute() == [payload]


def test_async(r: Any, redis_url: str) -> None:
    payload = payload_of(r)
    r.set("t", "é")
    r.set("bin", b"\xff")

    async def main(multiplex: bool) -> List[Any]:
        async with AsyncRedisClient.from_url(
            redis_url, decode_responses=True, async_multiplex=multiplex
        ) as ar:
            got: List[Any] = [await ar.dump("l")]
            # Tasks sharing a connection: replies of both kinds in one read.
            got.append(await asyncio.gather(ar.get("t"), ar.dump("l"), ar.get("t")))
            # One reply that cannot be decoded: every caller still gets its own.
            got.append(
                await asyncio.gather(
                    ar.dump("l"), ar.get("bin"), ar.dump("l"), ar.get("t"), return_exceptions=True
                )
            )
            got.append(await ar.restore("a2", 0, payload))
            async with ar.pipeline(transaction=False) as pipe:
                pipe.get("t").dump("l").function_dump()
                got.append(await pipe.execute())
            async with ar.pipeline() as pipe:
                pipe.dump("l").get("t")
                got.append(await pipe.execute())
            async with ar.pipeline() as pipe:
                await pipe.watch("l")
                got.append(await pipe.dump("l"))
                pipe.multi()
                pipe.dump("l")
                got.append(await pipe.execute())
            got.append(await ar.get("t"))
            return got

    for multiplex in (True, False):
        got = asyncio.run(main(multiplex))
        assert got[0] == payload
        assert got[1] == ["é", payload, "é"]
        assert got[2][0] == got[2][2] == payload and got[2][3] == "é"
        assert isinstance(got[2][1], UnicodeDecodeError)
        assert got[3] == "OK"
        assert got[4][:2] == ["é", payload] and isinstance(got[4][2], bytes)
        assert got[5] == [payload, "é"]
        assert got[6] == payload and got[7] == [payload]
        assert got[8] == "é"
        r.delete("a2")


def test_slowlog_get_keeps_binary_arguments(r: Any, dr: RedisClient, redis_url: str) -> None:
    redis = pytest.importorskip("redis")
    reference = redis.Redis.from_url(redis_url, protocol=2, decode_responses=True)
    r.config_set("slowlog-log-slower-than", 0)
    try:
        r.slowlog_reset()
        r.set(b"k\xff", b"\xfe")
        ours = dr.slowlog_get(2)
        theirs = reference.slowlog_get(4)
    finally:
        r.config_set("slowlog-log-slower-than", 10000)
        r.slowlog_reset()
        reference.close()
    mine = next(e for e in ours if e["command"] == b"SET k\xff \xfe")
    assert isinstance(mine["client_address"], bytes) and isinstance(mine["client_name"], bytes)
    # redis-py with decode_responses=True: the same entry, the same types.
    entry = next(e for e in theirs if e["command"] == b"SET k\xff \xfe")
    assert {k: type(v) for k, v in entry.items()} == {k: type(v) for k, v in mine.items()}


def test_info_replaces_bytes_that_are_not_text(r: Any, dr: RedisClient) -> None:
    # A script's error code lands in INFO errorstats as sent: not UTF-8 here.
    r.config_resetstat()
    with pytest.raises(ResponseError):
        r.eval("return redis.error_reply('\\255BAD oops')", 0)
    for client in (r, dr):
        stats = client.info("errorstats")
        assert stats["errorstat_\ufffdBAD"] == {"count": 1}
    assert dr.info()["redis_version"] == r.info("server")["redis_version"]


def test_the_module_has_the_type() -> None:
    assert _core.NeverDecode is NeverDecode


@pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")
def test_dump_restore_through_a_cluster_client(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[0]
    with RedisClusterClient(host, port) as raw:
        raw.rpush("l", "a", b"\xff")
        payload = raw.dump("l")
    with RedisClusterClient(host, port, decode_responses=True) as cc:
        assert cc.dump("l") == payload
        assert cc.restore("{l}2", 0, payload) == "OK"
        assert cc.llen("{l}2") == 2

    async def main() -> Any:
        async with AsyncRedisClusterClient(host, port, decode_responses=True) as ac:
            return await ac.dump("l")

    assert asyncio.run(main()) == payload
