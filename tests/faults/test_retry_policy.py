"""redis-py's get_retry()/set_retry(): the retry policy read and changed on a running
client, shown by what the client does through a proxy that loses replies."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import pytest
from fakeservers import FaultProxy
from fault_helpers import Factory
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry as RedisPyRetry

import pyredisclient
from pyredisclient import AsyncRedisClient, RedisClusterClient, Retry
from pyredisclient.integrations.testing_topologies import (
    RedisClusterServers,
    RedisSentinelServers,
)
from pyredisclient.testing import RedisServer

MakeClient = Callable[..., pyredisclient.RedisClient]


@pytest.fixture
def server(redis_server_factory: Factory) -> RedisServer:
    return redis_server_factory()


def test_the_retry_value() -> None:
    policy = Retry(2, base=0.1, cap=0.5)
    assert (policy.get_retries(), policy.retries, policy.base, policy.cap) == (2, 2, 0.1, 0.5)
    assert policy == Retry(2, 0.1, 0.5) and hash(policy) == hash(Retry(2, 0.1, 0.5))
    assert policy != Retry(3, 0.1, 0.5)
    assert policy != "Retry(2)"
    assert repr(policy) == "Retry(retries=2, base=0.1, cap=0.5)"
    assert Retry() == Retry(3, 0.05, 1.0)  # the options' defaults
    for bad in ({"retries": -1}, {"retries": True}, {"retries": 1.5}):
        with pytest.raises(pyredisclient.ConfigurationError, match="retries must be"):
            Retry(**bad)
    for base, cap in ((0, 1.0), (0.5, 0.1), (float("nan"), 1.0), (0.1, float("inf"))):
        with pytest.raises(pyredisclient.ConfigurationError, match="0 < base <= cap"):
            Retry(1, base, cap)
    with pytest.raises(pyredisclient.ConfigurationError, match="cap must be seconds"):
        Retry(1, 0.1, "1")  # type: ignore[arg-type]


def test_get_retry_reads_the_policy_in_any_form_it_was_given(
    server: RedisServer, make_client: MakeClient
) -> None:
    assert make_client(server.port).get_retry() == Retry(3, 0.05, 1.0)
    assert make_client(server.port, retry_attempts=1, retry_base=0.2, retry_cap=0.4).retry == (
        Retry(1, 0.2, 0.4)
    )
    ours = make_client(server.port, retry=Retry(5, 0.01, 0.02))
    assert ours.get_retry() == Retry(5, 0.01, 0.02)
    # redis-py's Retry: its count, and the base and cap of an exponential back-off.
    theirs = make_client(server.port, retry=RedisPyRetry(ExponentialBackoff(cap=2, base=0.1), 4))
    assert theirs.get_retry() == Retry(4, 0.1, 2.0)
    theirs.set_retry(RedisPyRetry(NoBackoff(), 0))  # a back-off without a base keeps ours
    assert theirs.get_retry() == Retry(0, 0.1, 2.0)
    assert theirs.get_retry().get_retries() == 0
    # A key-prefix view shares the pool, so its policy, both ways.
    view = ours.with_prefix("t:")
    view.set_retry(Retry(1))
    assert ours.get_retry() == Retry(1) == view.get_retry()
    ours.close()
    assert ours.get_retry() == Retry(1)  # closed, it still says


def test_set_retry_refuses_what_it_cannot_follow_and_changes_nothing(
    server: RedisServer, make_client: MakeClient
) -> None:
    client = make_client(server.port, retry_attempts=2)
    with pytest.raises(pyredisclient.ConfigurationError, match="retry='3' is not supported"):
        client.set_retry("3")
    with pytest.raises(pyredisclient.ConfigurationError, match="without limit"):
        client.set_retry(RedisPyRetry(NoBackoff(), -1))  # redis-py's "for ever"
    with pytest.raises(pyredisclient.ConfigurationError, match="retry_attempts"):
        client.set_retry(Retry(2**31))
    assert client.get_retry() == Retry(2, 0.05, 1.0)
    with pytest.raises(ValueError, match="0 < base <= cap"):
        client._core.set_retry(1, 1.0, 0.5)  # the core checks too
    with pytest.raises(AttributeError):
        client.retry = Retry(0)  # type: ignore[misc]


def test_set_retry_changes_what_a_running_client_does(
    server: RedisServer, make_client: MakeClient
) -> None:
    make_client(server.port).set("k", "v")
    with FaultProxy(("127.0.0.1", server.port), drop_first=2) as proxy:
        client = make_client(proxy.port, socket_timeout=2, retry_attempts=3)
        client.set_retry(RedisPyRetry(NoBackoff(), 0))  # as redis-py code turns retries off
        with pytest.raises(pyredisclient.ConnectionError, match="closed the connection"):
            client.get("k")
        assert (proxy.dropped, client.pool_stats()["retries"]) == (1, 0)
        client.set_retry(Retry(1, base=0.001, cap=0.002))
        assert client.get("k") == b"v"  # the second lost reply is replayed, once
        assert (proxy.dropped, client.pool_stats()["retries"]) == (2, 1)
    with FaultProxy(("127.0.0.1", server.port), drop_first=2) as proxy:
        client = make_client(proxy.port, socket_timeout=2, retry_attempts=0)
        client.set_retry(Retry(2, base=0.001, cap=0.002))
        assert client.get("k") == b"v"
        assert client.pool_stats()["retries"] == 2
        assert client.incr("n") == 1  # what is retried stays what is safe


def test_set_retry_on_the_asyncio_client_and_its_shared_connections(server: RedisServer) -> None:
    async def run(multiplex: bool) -> None:
        with FaultProxy(("127.0.0.1", server.port), drop_first=2) as proxy:
            client = AsyncRedisClient(
                port=proxy.port, socket_timeout=2, retry_attempts=3, async_multiplex=multiplex
            )
            try:
                client.set_retry(Retry(0))
                with pytest.raises(pyredisclient.ConnectionError):
                    await client.get("k")
                assert proxy.dropped == 1
                client.set_retry(Retry(1, base=0.001, cap=0.002))
                assert client.get_retry() == Retry(1, 0.001, 0.002)
                assert await client.get("k") == b"v"
                assert proxy.dropped == 2
            finally:
                await client.aclose()

    with pyredisclient.RedisClient(port=server.port) as admin:
        admin.set("k", "v")
    asyncio.run(run(True))
    asyncio.run(run(False))


def test_set_retry_on_a_cluster_reaches_every_node_now_and_later(
    redis_cluster: RedisClusterServers,
) -> None:
    host, port = redis_cluster.addresses[0]
    with RedisClusterClient(host, port, socket_timeout=2.0) as cluster:
        cluster.set("{a}k", "v")  # a node's client exists now
        before = dict(cluster._state.clients)
        assert before
        cluster.set_retry(RedisPyRetry(ExponentialBackoff(cap=0.5, base=0.01), 1))
        assert cluster.get_retry() == cluster.retry == Retry(1, 0.01, 0.5)
        assert cluster._backoff(10) <= 0.5
        for primary in redis_cluster.primaries():
            name = f"{primary.host}:{primary.port}"
            node = cluster.get_redis_connection(cluster.get_node(node_name=name))
            assert node.get_retry() == Retry(1, 0.01, 0.5), name
        assert set(before) <= set(cluster._state.clients)
        assert cluster.get("{a}k") == b"v"


def test_set_retry_on_an_asyncio_cluster(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[0]

    async def run() -> Any:
        cluster = pyredisclient.AsyncRedisClusterClient(host, port, socket_timeout=2.0)
        try:
            await cluster.set("{a}k", "v")
            cluster.set_retry(Retry(0))
            nodes = list(cluster._state.clients.values())
            return [n.get_retry() for n in nodes], cluster.get_retry(), await cluster.get("{a}k")
        finally:
            await cluster.aclose()

    policies, policy, value = asyncio.run(run())
    assert policies and all(p == Retry(0) for p in policies)
    assert (policy, value) == (Retry(0), b"v")


def test_set_retry_on_a_sentinel_client_follows_failovers(
    redis_sentinel: RedisSentinelServers,
) -> None:
    sentinels = [f"{h}:{p}" for h, p in redis_sentinel.sentinel_addresses]
    with pyredisclient.RedisClient.from_sentinel(sentinels, "mymaster", socket_timeout=2.0) as c:
        assert c.set("k", "v") is True
        c.set_retry(Retry(1, 0.01, 0.02))
        assert c.get_retry() == Retry(1, 0.01, 0.02)
        resolver = c._sentinel
        assert resolver is not None and resolver.config.retry_attempts == 1
        # The pool of the next failover is built from the resolver's config.
        address = resolver.address
        assert address is not None
        core = resolver._verified(address)
        assert core is not None and core.get_retry() == (1, 0.01, 0.02)
        core.close()


def test_call_with_retry_replays_what_the_caller_says(
    server: RedisServer, make_client: MakeClient
) -> None:
    # redis-py's Retry.call_with_retry: the caller decides a call may run again (here
    # an INCR whose reply was lost ran twice); the client itself never replays it.
    with FaultProxy(("127.0.0.1", server.port), drop_first=1) as proxy:
        client = make_client(proxy.port, socket_timeout=2, retry_attempts=0)
        failures: list[Any] = []
        policy = Retry(1, base=0.001, cap=0.002)
        assert policy.call_with_retry(lambda: client.incr("n"), failures.append) == 2
        assert [type(e) for e in failures] == [pyredisclient.ConnectionError]
        assert proxy.dropped == 1
    with FaultProxy(("127.0.0.1", server.port), drop_first=2) as proxy:
        client = make_client(proxy.port, socket_timeout=2, retry_attempts=0)
        counted: list[Any] = []
        with pytest.raises(pyredisclient.ConnectionError):
            client.get_retry().call_with_retry(  # retries=0: once, then the error
                lambda: client.get("n"), lambda e, n: counted.append(n), with_failure_count=True
            )
        assert counted == [1]
        with pytest.raises(pyredisclient.ConnectionError):  # refused by is_retryable
            policy.call_with_retry(lambda: client.get("n"), counted.append, lambda e: False)
        assert counted == [1] and proxy.dropped == 2
        with pytest.raises(pyredisclient.ResponseError):  # not a connection error
            policy.call_with_retry(lambda: client.execute_command("NOSUCH"), counted.append)
        assert counted == [1]

        async def later(error: Exception) -> None:
            counted.append(error)

        def down() -> None:
            raise pyredisclient.ConnectionError("down")

        with pytest.raises(TypeError, match="fail\\(\\) is async but do\\(\\) is not"):
            policy.call_with_retry(down, later)
    for n in range(1, 12):
        assert 0.0005 <= policy.backoff(n) <= 0.002


def test_call_with_retry_awaits_an_asyncio_call(server: RedisServer) -> None:
    async def run() -> Any:
        with FaultProxy(("127.0.0.1", server.port), drop_first=1) as proxy:
            client = AsyncRedisClient(port=proxy.port, socket_timeout=2, retry_attempts=0)
            seen: list[Any] = []

            async def fail(error: Exception, failures: int) -> None:
                seen.append((type(error), failures))

            try:
                got = await Retry(2, 0.001, 0.002).call_with_retry(
                    lambda: client.incr("m"), fail, with_failure_count=True
                )
            finally:
                await client.aclose()
            return got, seen, proxy.dropped

    got, seen, dropped = asyncio.run(run())
    assert (got, seen, dropped) == (2, [(pyredisclient.ConnectionError, 1)], 1)
