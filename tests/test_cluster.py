"""Redis Cluster: key slots, routing, redirections, split multi-key commands and
pipelines, against real clusters started by the topology fixtures."""

from __future__ import annotations

import random

import pytest

from pyredisclient import _core
from pyredisclient.integrations.testing import redis_server_available
from pyredisclient.integrations.testing_topologies import RedisClusterServers
from pyredisclient.integrations.topology_base import _RespConnection

pytestmark = pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")


def keyslots(cluster: RedisClusterServers, keys: list[bytes]) -> list[int]:
    """CLUSTER KEYSLOT of every key, asked of a node in one pipeline."""
    node = cluster.nodes[0]
    with _RespConnection(node.unix_socket_path, password=node.password) as conn:
        return conn.pipeline([("CLUSTER", "KEYSLOT", k) for k in keys])


def test_key_slot_agrees_with_the_server(redis_cluster: RedisClusterServers) -> None:
    rng = random.Random(17)
    keys = [b"", b"foo", b"{user1000}.following", b"foo{}{bar}", b"foo{{bar}}zap", b"{}", b"}{"]
    keys += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 24))) for _ in range(1500)]
    keys += [
        b"".join(rng.choice([b"{", b"}", b"a", b"\x00", b"\xff"]) for _ in range(rng.randrange(8)))
        for _ in range(500)
    ]
    assert [_core.key_slot(k) for k in keys] == keyslots(redis_cluster, keys)
    # str keys are encoded as UTF-8, numbers as their text, like command arguments.
    assert _core.key_slot("é{x}") == _core.key_slot(b"x")
    assert _core.key_slot(123) == _core.key_slot(b"123")


def test_command_slot() -> None:
    assert _core.command_slot(("GET", "foo")) == _core.key_slot("foo") == 12182
    assert _core.command_slot(("MGET", "{t}a", "{t}b")) == _core.key_slot("t")
    assert _core.command_slot(("MGET", "a", "b")) == -2  # two slots
    assert _core.command_slot(("PING",)) == -1  # no keys
    assert _core.command_slot(("NOSUCHCOMMAND", "x")) == -1
    with pytest.raises(_core.DataError, match="GET: cannot find the key arguments"):
        _core.command_slot(("GET",))
    with pytest.raises(TypeError):
        _core.command_slot("GET foo")
    with pytest.raises(_core.DataError):
        _core.key_slot(object())
