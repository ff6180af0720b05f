"""Sentinel: RedisClient.from_sentinel against real sentinels started by the
topology fixtures: discovery, ROLE, failover, replicas, passwords."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

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


def test_repr_and_debug_info_name_the_service_not_localhost(
    redis_sentinel: RedisSentinelServers,
) -> None:
    with RedisClient.from_sentinel(
        sentinels_of(redis_sentinel), "mymaster", socket_timeout=1.0
    ) as c:
        assert repr(c) == "<RedisClient sentinel 'mymaster' primary not resolved yet db=0>"
        info = c.debug_info()
        assert (info["host"], info["port"]) == (None, None)
        assert info["sentinel"]["service_name"] == "mymaster"
        assert info["sentinel"]["role"] == "primary" and info["sentinel"]["switches"] == 0
        assert len(info["sentinel"]["sentinels"]) == 3
        c.ping()
        primary = redis_sentinel.primary
        assert (
            repr(c)
            == f"<RedisClient sentinel 'mymaster' primary {primary.host}:{primary.port} db=0>"
        )
        info = c.debug_info()
        assert (info["host"], info["port"]) == (primary.host, primary.port)
        with c.replica_client() as r:
            r.ping()
            assert "sentinel 'mymaster' replica 127.0.0.1:" in repr(r)


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
    # retry_timeout covers the sentinels' slowest failover: an election that fails is
    # retried only after 2 x failover-timeout (5 s here), and once, in CI, the replica
    # was not promoted 20 s after the kill.
    with RedisClient.from_sentinel(
        sentinels_of(redis_sentinel), "mymaster", socket_timeout=0.5, retry_timeout=60.0
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


class Writer:
    """RPUSH 0, 1, 2 ... on a sentinel client from a thread, every 2 ms: which were
    acknowledged, by which primary, and what was raised."""

    def __init__(self, client: RedisClient, key: str, wait_replica: bool = False) -> None:
        self.client = client
        self.key = key
        self.wait_replica = wait_replica
        self.acked: list[tuple[int, tuple[str, int] | None]] = []
        self.first_on: dict[tuple[str, int] | None, float] = {}  # primary: first ack
        self.unsure: list[int] = []  # acknowledged, but not yet on a replica
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        resolver = self.client._sentinel
        assert resolver is not None
        for i in range(200_000):  # bounded; stop() ends it first
            if self._stop.is_set():
                return
            try:
                self.client.rpush(self.key, i)
                address = resolver.address
                if self.wait_replica and self.client.execute_command("WAIT", 1, 1000) != 1:
                    self.unsure.append(i)
                else:
                    self.acked.append((i, address))
                self.first_on.setdefault(address, time.monotonic())
            except Exception as exc:  # counted: the test says none
                self.errors.append(exc)
            time.sleep(0.002)

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)
        assert not self._thread.is_alive()


def wait_for_acks(writer: Writer, n: int, limit: float = 20.0) -> None:
    """Until the writer has ``n`` acknowledged writes (or fail after ``limit``)."""
    deadline = time.monotonic() + limit
    while len(writer.acked) < n:
        assert not writer.errors, writer.errors
        assert time.monotonic() < deadline, f"{len(writer.acked)} of {n} writes in {limit} s"
        time.sleep(0.01)


def wait_switch(client: RedisClient, new: Any, limit: float) -> float:
    """Seconds until the client's resolver uses ``new``; fails after ``limit``."""
    started = time.monotonic()
    for _ in range(100_000):  # bounded by the limit first
        resolver = client._sentinel
        assert resolver is not None
        if resolver.address == (new.host, new.port):
            return time.monotonic() - started
        assert time.monotonic() - started < limit, f"no switch within {limit} s"
        time.sleep(0.005)
    raise AssertionError("unreachable")


def test_switch_master_moves_the_client_at_once(
    redis_sentinel_factory: Callable[..., RedisSentinelServers],
) -> None:
    # The old primary keeps taking writes after SENTINEL FAILOVER until the sentinels
    # demote it (seconds later): only +switch-master moves the client sooner. (A set-up
    # of its own: a second SENTINEL FAILOVER soon after another can be undone by a
    # sentinel that has not heard of it yet, whatever the client does.)
    redis_sentinel = redis_sentinel_factory()
    announced: list[float] = []  # when each sentinel published +switch-master
    watchers = []
    for host, port in redis_sentinel.sentinel_addresses:
        ps = RedisClient(host, port).pubsub()  # its own connection; the client has none
        ps.subscribe(**{"+switch-master": lambda m: announced.append(time.monotonic())})
        watchers.append(ps.run_in_thread(sleep_time=0.05, daemon=True))
    with RedisClient.from_sentinel(
        sentinels_of(redis_sentinel), "mymaster", socket_timeout=1.0, retry_timeout=20.0
    ) as c:
        c.delete("log")
        with Writer(c, "log") as writer:
            time.sleep(0.2)
            new = redis_sentinel.failover()  # returns once every sentinel names it
            wait_switch(c, new, 1.0)
            time.sleep(0.2)
        for worker in watchers:
            worker.stop()
            worker.join(5)
        assert not writer.errors
        assert c._sentinel is not None and c._sentinel.switches == 1
        # The first write on the new primary follows the first announcement closely
        # (a look every 50 ms, then ROLE); the old primary is demoted seconds later.
        assert announced
        took = writer.first_on[(new.host, new.port)] - min(announced)
        assert took < 0.5, took
        redis_sentinel.wait_stable()  # the old primary demoted and resynced
        on_new = [int(x) for x in redis_sentinel.command(new, "LRANGE", "log", 0, -1)]
        assert len(on_new) == len(set(on_new))  # nothing written twice
        after = [i for i, address in writer.acked if address == (new.host, new.port)]
        assert len(after) > 20 and set(after) <= set(on_new)


def test_failover_loses_no_acknowledged_write(
    redis_sentinel_factory: Callable[..., RedisSentinelServers],
) -> None:
    # min-replicas-to-write on the primary: once its replica is promoted it answers
    # NOREPLICAS, which the client retries on the new primary. Every write the replica
    # acknowledged (WAIT) is on the new primary, once, in order; none raised.
    redis_sentinel = redis_sentinel_factory()
    old = redis_sentinel.primary
    redis_sentinel.command(old, "CONFIG", "SET", "min-replicas-to-write", "1")
    with RedisClient.from_sentinel(
        sentinels_of(redis_sentinel), "mymaster", socket_timeout=1.0, retry_timeout=20.0
    ) as c:
        c.delete("log")
        with Writer(c, "log", wait_replica=True) as writer:
            # Writes acknowledged on both sides of the failover, counted rather
            # than timed (a loaded machine writes fewer per second).
            wait_for_acks(writer, 25)
            new = redis_sentinel.failover()
            wait_switch(c, new, 5.0)
            wait_for_acks(writer, len(writer.acked) + 25)
        assert not writer.errors
        redis_sentinel.wait_stable()
        on_new = [int(x) for x in redis_sentinel.command(new, "LRANGE", "log", 0, -1)]
        acked = [i for i, _ in writer.acked]
        assert len(acked) >= 50
        assert [i for i in on_new if i not in writer.unsure] == acked


def test_sentinels_and_data_nodes_over_tls_with_passwords(
    redis_sentinel_factory: Callable[..., RedisSentinelServers],
) -> None:
    # Every process TLS-only with client certificates; a password on the data nodes and
    # another on the sentinels. The sentinels get the data nodes' TLS settings, and
    # their own password from sentinel_kwargs; the +switch-master watch uses both.
    data_pw = 'data "pw\\'
    setup = redis_sentinel_factory(password=data_pw, sentinel_password="sentinel pw", tls=True)
    tls = {
        "ssl": True,
        "ssl_ca_certs": setup.ca_cert,
        "ssl_certfile": setup.client_cert,
        "ssl_keyfile": setup.client_key,
    }
    sentinels = sentinels_of(setup)
    with RedisClient.from_sentinel(
        sentinels,
        "mymaster",
        password=data_pw,
        sentinel_kwargs={"password": "sentinel pw"},
        socket_timeout=1.0,
        retry_timeout=20.0,
        **tls,
    ) as c:
        assert c.set("k", "v") is True
        resolver = c._sentinel
        assert resolver is not None and resolver.sentinel_config.ssl
        assert resolver.sentinel_config.ssl_certfile == setup.client_cert
        assert "sentinel pw" not in repr(resolver.sentinel_config)
        assert data_pw not in repr(c) and "sentinel pw" not in repr(c.debug_info())
        with Writer(c, "log") as writer:
            time.sleep(0.2)
            new = setup.failover(timeout=20)
            wait_switch(c, new, 1.0)  # +switch-master over TLS, with the password
            time.sleep(0.1)
        assert not writer.errors
        assert resolver.switches == 1
        assert c.get("k") == b"v"
        setup.wait_stable()  # the old primary demoted: a replica to read from
        with c.replica_client() as replica:
            assert replica.ping() is True
    # sentinel_kwargs ssl=False: plain sentinels, none of the data nodes' ssl_* options.
    plain = RedisClient.from_sentinel(sentinels, "mymaster", sentinel_kwargs={"ssl": False}, **tls)
    assert plain._sentinel is not None
    assert plain._sentinel.sentinel_config.ssl is False
    assert plain._sentinel.sentinel_config.ssl_ca_certs is None
    assert plain._sentinel.config.ssl_ca_certs == setup.ca_cert
    plain.close()
    # The sentinels here refuse a client without their password, or without TLS.
    for kwargs in ({}, {"password": "sentinel pw", "ssl": False}):
        with RedisClient.from_sentinel(
            sentinels, "mymaster", password=data_pw, sentinel_kwargs=kwargs, **tls
        ) as c:
            with pytest.raises(MasterNotFoundError):
                c.ping()

    async def main() -> None:
        c = AsyncRedisClient.from_sentinel(
            sentinels,
            "mymaster",
            password=data_pw,
            sentinel_kwargs={"password": "sentinel pw"},
            **tls,
        )
        try:
            assert await c.get("k") == b"v"
            assert c._sentinel is not None and c._sentinel.address == (new.host, new.port)
        finally:
            await c.aclose()

    asyncio.run(main())


# -- pub/sub on a sentinel client ----------------------------------------------------


def test_pubsub_subscribes_on_the_primary_and_follows_a_killed_one(
    redis_sentinel: RedisSentinelServers,
) -> None:
    with RedisClient.from_sentinel(
        sentinels_of(redis_sentinel), "mymaster", socket_timeout=1.0, retry_timeout=30.0
    ) as c:
        # Made before any command: the sentinels are asked, not localhost:6379.
        ps = c.pubsub(ignore_subscribe_messages=True)
        primary = redis_sentinel.primary
        assert c._sentinel is not None and c._sentinel.address == (primary.host, primary.port)
        ps.subscribe("news")
        assert ps.get_message(timeout=0.3) is None
        assert redis_sentinel.command(primary, "PUBSUB", "NUMSUB", "news")[1] == 1
        c.publish("news", "before")
        assert ps.get_message(timeout=2)["data"] == b"before"
        new = redis_sentinel.kill_primary()
        assert new is not None
        # Its reconnects fail; the sentinels name the promoted replica: it moves.
        started = time.monotonic()
        msg = None
        while msg is None and time.monotonic() - started < 30:
            msg = ps.get_message(timeout=0.5)
        assert msg is not None and msg["type"] == "reconnect", msg
        assert msg["data"]["channels"] == 1 and ps._follower.target == (new.host, new.port)
        assert redis_sentinel.command(new, "PUBSUB", "NUMSUB", "news")[1] == 1
        c.publish("news", "after")
        assert ps.get_message(timeout=2)["data"] == b"after"
        ps.close()


def _shows(m: Any, run: Callable[[], object], command: str, within: float) -> bool:
    """Run ``run`` about once a second until monitor ``m`` shows ``command`` (the
    sentinels' own PING and INFO stream past too), or ``within`` seconds pass."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        run()
        second = min(deadline, time.monotonic() + 1.0)
        while time.monotonic() < second:
            info = m.next_command(timeout=0.2)
            if info is not None and info["command"] == command:
                return True
    return False


def test_monitor_follows_a_killed_primary(redis_sentinel: RedisSentinelServers) -> None:
    """A monitor is a subscription of the sentinel client: when its primary dies, it
    moves to the one the sentinels promote, sends MONITOR there again, and shows the
    commands run on the new primary."""
    with RedisClient.from_sentinel(
        sentinels_of(redis_sentinel), "mymaster", socket_timeout=1.0, retry_timeout=30.0
    ) as c:
        with c.monitor() as m:
            primary = redis_sentinel.primary
            assert m._pubsub._follower.target == (primary.host, primary.port)
            assert _shows(m, lambda: c.set("mon:before", 1), "SET mon:before 1", 5)
            new = redis_sentinel.kill_primary()
            assert new is not None
            assert _shows(m, lambda: c.set("mon:after", 2), "SET mon:after 2", 30)
            assert m._pubsub._follower.target == (new.host, new.port)
            clients = redis_sentinel.command(new, "CLIENT", "LIST").decode().splitlines()
            assert len([line for line in clients if "cmd=monitor" in line]) == 1


def test_pubsub_without_a_sentinel_raises_like_a_command() -> None:
    dead = f"127.0.0.1:{find_free_port()}"
    with RedisClient.from_sentinel([dead], "mymaster", socket_timeout=0.5, retry_timeout=0.5) as c:
        with pytest.raises(MasterNotFoundError):
            c.pubsub()


def test_replica_client_pubsub_hears_the_primary(redis_sentinel: RedisSentinelServers) -> None:
    with RedisClient.from_sentinel(
        sentinels_of(redis_sentinel), "mymaster", socket_timeout=1.0
    ) as c:
        with c.replica_client() as r:
            ps = r.pubsub(ignore_subscribe_messages=True)
            replicas = {(s.host, s.port) for s in redis_sentinel.replicas()}
            assert ps._follower.target in replicas
            ps.subscribe("news")
            assert ps.get_message(timeout=0.3) is None
            c.publish("news", "replicated")  # on the primary: replication carries it
            assert ps.get_message(timeout=2)["data"] == b"replicated"
            ps.close()


def test_async_pubsub_subscribes_on_the_primary_and_follows_a_killed_one(
    redis_sentinel: RedisSentinelServers,
) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_sentinel(
            sentinels_of(redis_sentinel), "mymaster", socket_timeout=1.0, retry_timeout=30.0
        ) as c:
            ps = c.pubsub(ignore_subscribe_messages=True)
            await ps.subscribe("news")  # placed here, the sentinels asked off the loop
            primary = redis_sentinel.primary
            assert ps._follower.target == (primary.host, primary.port)
            assert await ps.get_message(timeout=0.3) is None
            await c.publish("news", "before")
            assert (await ps.get_message(timeout=2))["data"] == b"before"
            loop = asyncio.get_running_loop()
            new = await loop.run_in_executor(None, redis_sentinel.kill_primary)
            msg = await ps.get_message(timeout=30)
            assert msg is not None and msg["type"] == "reconnect", msg
            assert ps._follower.target == (new.host, new.port)
            await c.publish("news", "after")
            assert (await ps.get_message(timeout=2))["data"] == b"after"
            await ps.aclose()

    asyncio.run(main())


# -- pipelines on a sentinel client -------------------------------------------------


def test_pipelines_go_to_the_primary_and_follow_a_killed_one(
    redis_sentinel: RedisSentinelServers,
) -> None:
    with RedisClient.from_sentinel(
        sentinels_of(redis_sentinel), "mymaster", socket_timeout=1.0, retry_timeout=30.0
    ) as c:
        # Before any command: the sentinels are asked (it went to a sentinel: EXEC unknown).
        assert c.pipeline().set("a", 1).incr("a").execute() == [True, 2]
        assert c.pipeline(transaction=False).get("a").execute() == [b"2"]
        assert c.transaction(lambda p: (p.multi(), p.incr("a")), "a") == [3]
        primary = redis_sentinel.primary
        assert redis_sentinel.command(primary, "GET", "a") == b"3"
        assert c.execute_command("WAIT", 1, 2000) == 1
        new = redis_sentinel.kill_primary()
        assert new is not None
        # At most the batches in flight when it died fail; then they go to the new one.
        deadline = time.monotonic() + 30
        for _ in range(1000):
            try:
                assert c.pipeline().incr("a").execute() == [4]
                break
            except pyredisclient.ConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert redis_sentinel.command(new, "GET", "a") == b"4"
        assert c.transaction(lambda p: (p.multi(), p.incr("a")), "a") == [5]


def test_async_pipelines_go_to_the_primary(redis_sentinel: RedisSentinelServers) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_sentinel(
            sentinels_of(redis_sentinel), "mymaster", socket_timeout=1.0
        ) as c:
            async with c.pipeline() as p:
                assert await p.set("a", 1).incr("a").execute() == [True, 2]
            async with c.pipeline() as p:
                await p.watch("a")
                assert await p.get("a") == b"2"
                p.multi()
                p.incr("a")
                assert await p.execute() == [3]
        primary = redis_sentinel.primary
        assert redis_sentinel.command(primary, "GET", "a") == b"3"

    asyncio.run(main())


# -- redis-py's Sentinel class -------------------------------------------------------


def test_redis_py_sentinel_api(redis_sentinel: RedisSentinelServers) -> None:
    dead = ("127.0.0.1", find_free_port())
    sentinel = pyredisclient.Sentinel(
        [dead, *redis_sentinel.sentinel_addresses], socket_timeout=1.0
    )
    try:
        primary, replica = redis_sentinel.primary, redis_sentinel.replicas()[0]
        assert sentinel.discover_master("mymaster") == (primary.host, primary.port)
        # The sentinel that answered goes first; the dead one's error was skipped.
        assert sentinel.sentinels[0].config.port != dead[1]
        assert sentinel.discover_slaves("mymaster") == [(replica.host, replica.port)]
        assert sentinel.discover_slaves("nosuch") == []
        with pytest.raises(pyredisclient.MasterNotFoundError, match="nosuch"):
            sentinel.discover_master("nosuch")
        with sentinel.master_for("mymaster", db=0) as master:
            assert master.set("k", "v") is True
            assert master._sentinel is not None and master._sentinel.role == "primary"
            # WAIT counts acks of its own connection's writes: a fresh connection's
            # WAIT returns at once, before the replica has the key.
            assert master.wait(1, 2000) == 1
        assert redis_sentinel.command(primary, "GET", "k") == b"v"
        with sentinel.slave_for("mymaster") as reader:
            assert reader.get("k") == b"v"
            assert reader._sentinel is not None and reader._sentinel.role == "replica"
        with pytest.raises(pyredisclient.ConfigurationError, match="connection_pool_class"):
            sentinel.master_for("mymaster", connection_pool_class=object)
    finally:
        sentinel.close()
    # 3 sentinels: each knows 2 others.
    picky = pyredisclient.Sentinel(redis_sentinel.sentinel_addresses, min_other_sentinels=3)
    with pytest.raises(pyredisclient.MasterNotFoundError):
        picky.discover_master("mymaster")
    with pytest.raises(pyredisclient.ConfigurationError, match="min_other_sentinels"):
        picky.master_for("mymaster")
    picky.min_other_sentinels = 2
    assert picky.discover_master("mymaster") == (primary.host, primary.port)
    picky.close()
    with pytest.raises(pyredisclient.ConfigurationError, match="force_master_ip"):
        pyredisclient.Sentinel([dead], force_master_ip="10.0.0.1")
    # A replica client with nothing to read from: redis-py's SlaveNotFoundError, which is
    # also the MasterNotFoundError this client raised before.
    with pyredisclient.Sentinel(redis_sentinel.sentinel_addresses).slave_for("nosuch") as nope:
        with pytest.raises(pyredisclient.SlaveNotFoundError, match="replica") as info:
            nope.get("k")
        assert isinstance(info.value, pyredisclient.MasterNotFoundError)
    nobody = pyredisclient.Sentinel([dead], socket_timeout=0.5)
    with pytest.raises(pyredisclient.MasterNotFoundError, match=str(dead[1])):
        nobody.discover_master("mymaster")
    nobody.close()


def test_redis_py_async_sentinel_api(redis_sentinel: RedisSentinelServers) -> None:
    async def main() -> None:
        sentinel = pyredisclient.AsyncSentinel(
            redis_sentinel.sentinel_addresses, socket_timeout=1.0
        )
        primary = redis_sentinel.primary
        assert await sentinel.discover_master("mymaster") == (primary.host, primary.port)
        assert len(await sentinel.discover_slaves("mymaster")) == 1
        async with sentinel.master_for("mymaster") as master:
            assert isinstance(master, AsyncRedisClient)
            assert await master.set("ak", "v") is True
        async with sentinel.slave_for("mymaster") as reader:
            assert isinstance(reader, AsyncRedisClient)
        sentinel.close()

    asyncio.run(main())


def test_pubsub_outlives_the_sentinels_and_the_primary(
    redis_sentinel_factory: Callable[..., RedisSentinelServers],
) -> None:
    # A set-up of its own: with every sentinel stopped at once the session's set-up
    # could not be healed for the tests after this one.
    redis_sentinel = redis_sentinel_factory()
    with RedisClient.from_sentinel(
        sentinels_of(redis_sentinel), "mymaster", socket_timeout=0.5, retry_timeout=1.0
    ) as c:
        ps = c.pubsub(ignore_subscribe_messages=True)
        ps.subscribe("news")
        assert ps.get_message(timeout=0.3) is None
        primary = redis_sentinel.primary
        for sentinel in redis_sentinel.sentinels:
            sentinel.stop()
        primary.stop()
        # Nobody to ask and nothing to read: reads wait out their timeout, never raise.
        for _ in range(3):
            started = time.monotonic()
            assert ps.get_message(timeout=0.6) is None
            assert time.monotonic() - started < 0.6 + 1.0
        assert ps._follower.target == (primary.host, primary.port)
        primary.start()  # back on its address: the subscription reconnects there
        msg = None
        deadline = time.monotonic() + 10
        while msg is None and time.monotonic() < deadline:
            msg = ps.get_message(timeout=0.5)
        assert msg is not None and msg["type"] == "reconnect", msg
        assert redis_sentinel.command(primary, "PUBLISH", "news", "back") == 1
        assert ps.get_message(timeout=2)["data"] == b"back"
        ps.close()


def test_pipelines_alone_follow_a_failover_that_demotes_the_old_primary(
    redis_sentinel_factory: Callable[..., RedisSentinelServers],
) -> None:
    # A client that only runs pipelines: no plain command looks for +switch-master
    # or meets READONLY for it. (A set-up of its own: a SENTINEL FAILOVER of the
    # session's set-up soon before another test's can be undone.)
    redis_sentinel = redis_sentinel_factory()
    with RedisClient.from_sentinel(
        sentinels_of(redis_sentinel), "mymaster", socket_timeout=1.0, retry_timeout=20.0
    ) as c:
        assert c.pipeline().set("p", 0).execute() == [True]
        old = redis_sentinel.primary
        new = redis_sentinel.failover()
        redis_sentinel.wait_stable()  # the old primary demoted: it answers READONLY
        assert redis_sentinel.command(old, "ROLE")[0] == b"slave"
        refused = 0
        for transaction in (False, True, False):
            for _ in range(50):  # bounded: at most one refusal is expected
                try:
                    assert c.pipeline(transaction=transaction).incr("p").execute()[0] >= 1
                    break
                except pyredisclient.ReadOnlyError:
                    refused += 1
                    time.sleep(0.1)
        assert refused <= 1
        assert c._sentinel is not None and c._sentinel.address == (new.host, new.port)
        assert redis_sentinel.command(new, "GET", "p") == b"3"


def test_a_listener_alone_follows_a_failover_that_demotes_the_old_primary(
    redis_sentinel_factory: Callable[..., RedisSentinelServers],
) -> None:
    # No command runs: the subscription reads the +switch-master watch itself, and
    # moves to the new primary although the demoted one still answers.
    redis_sentinel = redis_sentinel_factory()
    with RedisClient.from_sentinel(
        sentinels_of(redis_sentinel), "mymaster", socket_timeout=1.0
    ) as c:
        ps = c.pubsub(ignore_subscribe_messages=True)
        ps.subscribe("news")
        # Its looks subscribe to +switch-master on a sentinel meanwhile.
        assert ps.get_message(timeout=2.0) is None
        new = redis_sentinel.failover()
        # The demoted primary may drop its clients too: a reconnect there may come
        # first; then the move to the new primary.
        moved = None
        deadline = time.monotonic() + 10
        while moved is None and time.monotonic() < deadline:
            msg = ps.get_message(timeout=0.5)
            if msg is not None:
                assert msg["type"] == "reconnect", msg
                if ps._follower.target == (new.host, new.port):
                    moved = msg  # the gap of the move
        assert moved is not None, "the subscription stayed on the demoted primary"
        assert redis_sentinel.command(new, "PUBLISH", "news", "there") == 1
        assert ps.get_message(timeout=2)["data"] == b"there"
        ps.close()
