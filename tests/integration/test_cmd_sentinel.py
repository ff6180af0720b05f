"""The sentinel_* command methods against real sentinels, beside redis-py 8.

Each state dict has redis-py's keys and value types (numbers as int, the is_* flags
as bools); the values that change from one moment to the next (ping times, offsets)
are compared by type only. Two replies redis-py misreads are checked on their own:
CKQUORUM's "OK 3 usable Sentinels..." (redis-py: False) and RESET's count (redis-py:
False).
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest

from pyredisclient import AsyncRedisClient, RedisClient, ResponseError
from pyredisclient.integrations.testing_sentinel import RedisSentinelServers

redis = pytest.importorskip("redis")

#: Fields whose value changes between two calls: compared by type only.
VOLATILE = {
    "info-refresh",
    "last-hello-message",
    "last-ok-ping-reply",
    "last-ping-reply",
    "last-ping-sent",
    "link-pending-commands",
    "link-refcount",
    "master-link-down-time",
    "role-reported-time",
    "slave-repl-offset",
    "replica-announced",
}


def same_state(mine: Dict[str, Any], theirs: Dict[str, Any]) -> None:
    assert set(mine) == set(theirs)
    for key, value in theirs.items():
        assert type(mine[key]) is type(value), key
        if key not in VOLATILE:
            assert mine[key] == value, key


def same_states(mine: List[Dict[str, Any]], theirs: List[Dict[str, Any]]) -> None:
    assert len(mine) == len(theirs)
    for a, b in zip(sorted(mine, key=lambda s: s["port"]), sorted(theirs, key=lambda s: s["port"])):
        same_state(a, b)


@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
def test_sentinel_commands_as_redis_py(redis_sentinel: RedisSentinelServers, decode: bool) -> None:
    host, port = redis_sentinel.sentinel_addresses[0]
    primary, replica = redis_sentinel.primary, redis_sentinel.replicas()[0]
    c = RedisClient(host=host, port=port, decode_responses=decode)
    ref = redis.Redis(host=host, port=port, decode_responses=decode, protocol=2)
    try:
        masters = c.sentinel_masters()
        assert list(masters) == list(ref.sentinel_masters()) == ["mymaster"]
        same_state(masters["mymaster"], ref.sentinel_masters()["mymaster"])
        master = c.sentinel_master("mymaster")
        same_state(master, ref.sentinel_master("mymaster"))
        assert (master["ip"], master["port"]) == (primary.host, primary.port)
        assert master["is_master"] and not master["is_sdown"] and master["num-slaves"] == 1
        assert master["flags"] == "master" and master["num-other-sentinels"] == 2
        text = primary.host if decode else primary.host.encode()
        assert c.sentinel_get_master_addr_by_name("mymaster") == (text, primary.port)
        assert c.sentinel_get_master_addr_by_name("nosuch") is None
        slaves = c.sentinel_slaves("mymaster")
        same_states(slaves, ref.sentinel_slaves("mymaster"))
        assert [(s["ip"], s["port"], s["is_slave"]) for s in slaves] == [
            (replica.host, replica.port, True)
        ]
        sentinels = c.sentinel_sentinels("mymaster")
        same_states(sentinels, ref.sentinel_sentinels("mymaster"))
        assert len(sentinels) == 2 and all(s["is_sentinel"] for s in sentinels)
        assert c.sentinel_ckquorum("mymaster") is True
        assert c.sentinel_flushconfig() is True is ref.sentinel_flushconfig()
        assert len(c.sentinel("myid")) == 40
        with pytest.raises(ResponseError, match="No such master"):
            c.sentinel_failover("nosuch")
        with pytest.raises(ResponseError, match="No such master"):
            c.sentinel_master("nosuch")
        with pytest.raises(redis.ResponseError, match="No such master"):
            ref.sentinel_master("nosuch")
        # A second service, on this sentinel only (no quorum: it never fails over).
        try:
            assert c.sentinel_monitor("pyrc-extra", primary.host, primary.port, 2) is True
            assert c.sentinel_set("pyrc-extra", "down-after-milliseconds", 4000) is True
            assert c.sentinel_master("pyrc-extra")["down-after-milliseconds"] == 4000
            with pytest.raises(ResponseError, match="NOQUORUM"):
                c.sentinel_ckquorum("pyrc-extra")
            assert c.sentinel_reset("pyrc-*") == 1
            assert c.sentinel_reset("none-*") == 0
        finally:
            assert c.sentinel_remove("pyrc-extra") is True
        with pytest.raises(ResponseError, match="No such master"):
            c.sentinel_remove("pyrc-extra")
        # The same callbacks in a pipeline.
        with c.pipeline(transaction=False) as pipe:
            got = pipe.sentinel_masters().sentinel_get_master_addr_by_name("mymaster").execute()
        assert list(got[0]) == ["mymaster"] and got[1] == (text, primary.port)
    finally:
        c.close()
        ref.close()


def test_async_sentinel_commands(redis_sentinel: RedisSentinelServers) -> None:
    host, port = redis_sentinel.sentinel_addresses[0]

    async def main() -> List[Any]:
        async with AsyncRedisClient(host=host, port=port) as c:
            return [
                await c.sentinel_masters(),
                await c.sentinel_slaves("mymaster"),
                await c.sentinel_ckquorum("mymaster"),
            ]

    masters, slaves, quorum = asyncio.run(main())
    assert masters["mymaster"]["port"] == redis_sentinel.primary.port
    assert len(slaves) == 1 and quorum is True


def test_a_sentinel_objects_commands_go_to_every_sentinel_as_redis_pys(
    redis_sentinel: RedisSentinelServers,
) -> None:
    """redis-py's ``Sentinel`` sends its ``sentinel_*`` methods and ``execute_command``
    to every sentinel: True when every reply is, each reply with
    ``return_responses=True``, one random sentinel with ``once=True``. Also its
    newer names ``replica_for``, ``discover_replicas`` and ``filter_replicas``."""
    import pyredisclient

    addresses = redis_sentinel.sentinel_addresses
    primary, replica = redis_sentinel.primary, redis_sentinel.replicas()[0]
    mine = pyredisclient.Sentinel(addresses, socket_timeout=1.0)
    ref = redis.sentinel.Sentinel(addresses, socket_timeout=1.0, protocol=2)
    try:
        for s in (mine, ref):
            assert s.sentinel_masters() is True
            # redis-py asks one sentinel for these
            assert s.sentinel_get_master_addr_by_name("mymaster", return_responses=True) == [
                (primary.host.encode(), primary.port)
            ]
            assert s.sentinel_get_master_addr_by_name("mymaster") is True
            assert s.sentinel_reset("nosuch") is False  # it reset 0 masters
            assert s.execute_command("SENTINEL", "MASTERS", once=True) is True
            assert s.execute_command("PING", once=True, return_responses=True) in (
                [True],
                [b"PONG"],
            )
            assert s.discover_replicas("mymaster") == [(replica.host, replica.port)]
        assert mine.sentinel_ckquorum("mymaster") is True  # redis-py misreads it: False
        states = mine.sentinel_master("mymaster", return_responses=True)
        theirs = ref.sentinel_master("mymaster", return_responses=True)
        assert len(states) == len(theirs) == len(addresses)
        for a, b in zip(states, theirs):
            same_state(a, b)
        others = mine.sentinel_sentinels("mymaster", return_responses=True)
        assert [len(o) for o in others] == [len(addresses) - 1] * len(addresses)
        replicas = mine.sentinel_slaves("mymaster")  # every sentinel answered a list
        assert replicas is True
        listed = RedisClient(host=addresses[0][0], port=addresses[0][1]).sentinel_slaves("mymaster")
        assert mine.filter_replicas(listed) == [(replica.host, replica.port)]
        with mine.replica_for("mymaster") as reader:
            assert reader.ping() is True and reader._sentinel.role == "replica"
        # A client of one sentinel answers with its own reply, return_responses or not.
        one = RedisClient(host=addresses[0][0], port=addresses[0][1])
        assert one.sentinel_master("mymaster", return_responses=True)["name"] == "mymaster"
        one.close()
    finally:
        mine.close()
        ref.close()


def test_an_async_sentinel_objects_commands(redis_sentinel: RedisSentinelServers) -> None:
    import pyredisclient

    async def main() -> List[Any]:
        s = pyredisclient.AsyncSentinel(redis_sentinel.sentinel_addresses, socket_timeout=1.0)
        try:
            return [
                await s.sentinel_masters(),
                len(await s.sentinel_master("mymaster", return_responses=True)),
                await s.execute_command("SENTINEL", "MASTERS", once=True),
                len(await s.discover_replicas("mymaster")),
            ]
        finally:
            s.close()

    assert asyncio.run(main()) == [True, len(redis_sentinel.sentinel_addresses), True, 1]
