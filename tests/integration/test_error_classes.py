"""redis-py's error classes for the replies a node, a replica or a module command gives.

A standalone client sent to a cluster node hears MOVED, ASK and TRYAGAIN; a replica
that lost its primary answers MASTERDOWN; MODULE LOAD fails with its own text. Each is
raised as the class redis-py raises, checked side by side with redis-py's own client
against the same real servers where redis-py is installed, and each keeps what it
means here: a redirect or TRYAGAIN is an answer (the connection stays, the breaker
counts nothing), MASTERDOWN is a server that cannot serve (a ConnectionError: counted,
the connection retired).
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
from server_helpers import key_in_slot_of

import pyredisclient
from pyredisclient import (
    AskError,
    ConnectionError,
    CrossSlotTransactionError,
    MasterDownError,
    ModuleError,
    MovedError,
    RedisClient,
    RedisClusterClient,
    RedisClusterUnreachableError,
    ResponseError,
    TryAgainError,
)
from pyredisclient.integrations.testing import RedisServer, redis_server_available
from pyredisclient.integrations.testing_topologies import RedisClusterServers

pytestmark = pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")


def _raised(call: Callable[[], Any]) -> BaseException:
    with pytest.raises(Exception) as info:
        call()
    return info.value


def _redis_py_name(call: Callable[[Any], Any], host: str, port: int) -> str:
    """The class name redis-py raises for the same call on the same server."""
    redis = pytest.importorskip("redis")
    theirs = redis.Redis(host, port, protocol=2)
    try:
        return type(_raised(lambda: call(theirs))).__name__
    finally:
        theirs.close()


def test_moved_ask_and_tryagain_from_a_cluster_node(redis_cluster: RedisClusterServers) -> None:
    first, second = redis_cluster.primaries()[:2]
    key, slot = key_in_slot_of(redis_cluster, second, "moved")
    with RedisClient(host=first.host, port=first.port, retry_attempts=0) as c:
        moved = _raised(lambda: c.get(key))
        assert type(moved) is MovedError
        assert isinstance(moved, AskError) and isinstance(moved, ResponseError)
        assert str(moved) == f"MOVED {slot} {second.host}:{second.port}"
        # redis-py's attributes, read from the message.
        assert (moved.slot_id, moved.node_addr) == (slot, (second.host, second.port))
        assert (moved.host, moved.port) == (second.host, second.port)
        assert _redis_py_name(lambda r: r.get(key), first.host, first.port) == "MovedError"

        # A slot migrating away: a missing key is asked for on the importing node
        # (ASK), and a multi-key read with some keys missing is refused (TRYAGAIN).
        here, slot = key_in_slot_of(redis_cluster, first, "asked")
        here = "{" + here + "}"  # the same slot as "asked:N", and one for both keys
        other = here + ":other"
        assert c.set(here, "present") is True
        redis_cluster.begin_slot_migration(slot, second, source=first)
        try:
            assert c.get(here) == b"present"  # a key it still has is served here
            asked = _raised(lambda: c.get(other))
            assert type(asked) is AskError
            assert str(asked) == f"ASK {slot} {second.host}:{second.port}"
            assert asked.node_addr == (second.host, second.port) and asked.slot_id == slot
            again = _raised(lambda: c.mget([here, other]))
            assert type(again) is TryAgainError and isinstance(again, ResponseError)
            assert str(again).startswith("TRYAGAIN ")
            names = (
                _redis_py_name(lambda r: r.get(other), first.host, first.port),
                _redis_py_name(lambda r: r.mget([here, other]), first.host, first.port),
            )
            assert names == ("AskError", "TryAgainError")
        finally:
            for node in (first, second):
                redis_cluster.command(node, "CLUSTER", "SETSLOT", slot, "STABLE")
            c.delete(here)
        # Answers, not failures: one connection all along, nothing counted.
        assert c.pool_stats()["created"] == 1
        assert c.circuit_breaker_state()["failures"] == 0
        assert c.get(here) is None


def test_master_down_from_a_replica_that_lost_its_primary(
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    # A replica of a port nobody listens on, told not to serve stale data.
    replica = redis_server_factory(extra_args=["--replica-serve-stale-data", "no"])
    with RedisClient(host="127.0.0.1", port=replica.port, retry_attempts=0) as admin:
        admin.execute_command("REPLICAOF", "127.0.0.1", "1")
    with RedisClient(host="127.0.0.1", port=replica.port, retry_attempts=0) as c:
        down = _raised(lambda: c.get("k"))
        assert type(down) is MasterDownError and isinstance(down, ConnectionError)
        assert str(down).startswith("MASTERDOWN ")
        assert c.circuit_breaker_state()["failures"] == 1  # a server that cannot serve
        assert _redis_py_name(lambda r: r.get("k"), "127.0.0.1", replica.port) == (
            "MasterDownError"
        )
        with RedisClient(host="127.0.0.1", port=replica.port) as admin:
            admin.execute_command("REPLICAOF", "NO", "ONE")
        assert c.get("k") is None
        assert c.pool_stats()["created"] == 2  # the connection that said MASTERDOWN went


def test_module_load_failure(redis_server_factory: Callable[..., RedisServer]) -> None:
    server = redis_server_factory(extra_args=["--enable-module-command", "yes"])
    with RedisClient(host="127.0.0.1", port=server.port) as c:
        failed = _raised(lambda: c.module_load("/nonexistent/module.so"))
        assert type(failed) is ModuleError and isinstance(failed, ResponseError)
        assert str(failed).startswith("Error loading the extension")
        unload = _raised(lambda: c.module_unload("nosuchmodule"))
        assert type(unload) is ModuleError
        assert c.circuit_breaker_state()["failures"] == 0
    name = _redis_py_name(
        lambda r: r.module_load("/nonexistent/module.so"), "127.0.0.1", server.port
    )
    assert name == "ModuleError"


def test_redirect_attributes_of_annotated_and_odd_messages() -> None:
    annotated = MovedError("Command # 2 (GET) of pipeline caused error: MOVED 7 ::1:7001")
    assert annotated.node_addr == ("::1", 7001) and annotated.slot_id == 7
    assert AskError("ASK 12 :7002").node_addr == ("", 7002)  # the asked node's host
    with pytest.raises(AttributeError, match="without a redirection"):
        assert AskError("something else").slot_id is None  # never reached


def test_cluster_client_names_redis_py_gives(redis_cluster: RedisClusterServers) -> None:
    host, port = redis_cluster.addresses[0]
    with RedisClusterClient(host, port) as c:
        with c.pipeline(transaction=True) as pipe:
            pipe.set("{a}1", 1)
            pipe.set("{b}1", 1)
            err = _raised(pipe.execute)
        assert type(err) is CrossSlotTransactionError
        assert isinstance(err, pyredisclient.ClusterCrossSlotError)
        assert isinstance(err, pyredisclient.RedisClusterException)
    with RedisClusterClient("127.0.0.1", 1, socket_connect_timeout=0.2) as nowhere:
        unreachable = _raised(lambda: nowhere.get("k"))
        assert type(unreachable) is RedisClusterUnreachableError
        assert isinstance(unreachable, pyredisclient.RedisClusterException)
    assert pyredisclient.MaxClientsReachedError is pyredisclient.MaxClientsError
