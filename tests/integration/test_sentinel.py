"""Sentinel: RedisClient.from_sentinel against real sentinels started by the
topology fixtures: discovery, ROLE, failover, replicas, passwords."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

import pyredisclient
from pyredisclient import AsyncRedisClient, RedisClient
from pyredisclient.client.sentinel import MasterNotFoundError
from pyredisclient.integrations.testing import find_free_port, redis_server_available
from pyredisclient.integrations.testing_topologies import RedisSentinelServers

pytestmark = pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")


def sentinels_of(setup: RedisSentinelServers) -> list[str]:
    return [f"{h}:{p}" for h, p in setup.sentinel_addresses]


def test_from_sentinel_finds_the_primary(redis_sentinel: RedisSentinelServers) -> None:
    dead = f"127.0.0.1:{find_free_port()}"
    with RedisClient.from_sentinel(
        [dead, *sentinels_of(redis_sentinel)], "mymaster", socket_timeout=2.0
    ) as c:
        assert c.set("k", "v") is True
        assert c.get("k") == b"v"
        primary = redis_sentinel.primary
        assert redis_sentinel.command(primary, "GET", "k") == b"v"
        assert c._sentinel is not None and c._sentinel.address == (primary.host, primary.port)
        view = c.with_prefix("p:")
        view.set("x", 1)
        assert c.get("p:x") == b"1"


def test_unknown_service_and_no_sentinel(redis_sentinel: RedisSentinelServers) -> None:
    with RedisClient.from_sentinel(sentinels_of(redis_sentinel), "nosuch") as c:
        with pytest.raises(MasterNotFoundError, match="nosuch"):
            c.get("k")
    assert issubclass(MasterNotFoundError, pyredisclient.ConnectionError)
    with pytest.raises(pyredisclient.ConfigurationError):
        RedisClient.from_sentinel([], "mymaster")


def test_failover_moves_the_client_to_the_new_primary(
    redis_sentinel: RedisSentinelServers,
) -> None:
    with RedisClient.from_sentinel(
        sentinels_of(redis_sentinel), "mymaster", socket_timeout=1.0, retry_timeout=20.0
    ) as c:
        assert c.incr("n") == 1
        assert c.execute_command("WAIT", 1, 2000) == 1  # on the replica too
        old = redis_sentinel.primary
        new = redis_sentinel.failover()
        assert new is not old
        redis_sentinel.wait_stable()  # the old primary demoted too
        # The old primary is a replica now: READONLY, then the sentinels' new answer.
        assert c.incr("n") == 2
        assert c._sentinel is not None and c._sentinel.address == (new.host, new.port)
        assert c._sentinel.switches == 1
        assert redis_sentinel.command(new, "GET", "n") == b"2"


def test_killed_primary_replaced_within_the_retry_timeout(
    redis_sentinel: RedisSentinelServers,
) -> None:
    with RedisClient.from_sentinel(
        sentinels_of(redis_sentinel), "mymaster", socket_timeout=0.5, retry_timeout=20.0
    ) as c:
        c.set("k", "before")
        assert c.execute_command("WAIT", 1, 2000) == 1
        redis_sentinel.kill_primary(wait=False)
        # Refused connects (nothing sent): retried until the sentinels promote the
        # replica, which has the data.
        assert c.get("k") == b"before"
        assert c.set("k", "after") is True
        assert c.get("k") == b"after"


def test_replica_client_reads_from_a_replica(redis_sentinel: RedisSentinelServers) -> None:
    with RedisClient.from_sentinel(sentinels_of(redis_sentinel), "mymaster") as c:
        c.set("r", "1")
        c.execute_command("WAIT", 1, 1000)
        with c.replica_client() as replica:
            assert replica.get("r") == b"1"
            assert replica._sentinel is not None and replica._sentinel.address in {
                (s.host, s.port) for s in redis_sentinel.replicas()
            }
            with pytest.raises(pyredisclient.ReadOnlyError):
                replica.set("r", "2")
    with pytest.raises(pyredisclient.ConfigurationError):
        RedisClient(port=find_free_port()).replica_client()


def test_sentinel_and_data_passwords(
    redis_sentinel_factory: Callable[..., RedisSentinelServers],
) -> None:
    setup = redis_sentinel_factory(password="data pw", sentinel_password="sentinel pw")
    sentinels = sentinels_of(setup)
    with RedisClient.from_sentinel(
        sentinels, "mymaster", password="data pw", sentinel_kwargs={"password": "sentinel pw"}
    ) as c:
        assert c.ping() is True
        assert "sentinel pw" not in repr(c._sentinel.sentinel_config)  # type: ignore[union-attr]
    with RedisClient.from_sentinel(sentinels, "mymaster", password="data pw") as c:
        with pytest.raises(MasterNotFoundError):  # the sentinels refuse us
            c.ping()


def test_async_from_sentinel_follows_a_failover(redis_sentinel: RedisSentinelServers) -> None:
    async def main() -> None:
        c = AsyncRedisClient.from_sentinel(
            sentinels_of(redis_sentinel), "mymaster", socket_timeout=1.0, retry_timeout=20.0
        )
        try:
            assert await c.incr("a") == 1
            assert await c.execute_command("WAIT", 1, 2000) == 1
            loop = asyncio.get_running_loop()
            new = await loop.run_in_executor(None, redis_sentinel.failover)
            await loop.run_in_executor(None, redis_sentinel.wait_stable)
            assert await c.incr("a") == 2
            assert c._sentinel is not None and c._sentinel.address == (new.host, new.port)
            replica = c.replica_client()
            assert await replica.get("a") in (b"1", b"2")  # a replica: maybe behind
            await replica.aclose()
        finally:
            await c.aclose()

    asyncio.run(main())
