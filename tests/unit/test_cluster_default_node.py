"""The cluster's default node (ClusterState.default_node): where keyless commands
go. One primary, kept while the slot map names it; a node set_default_node chose is
kept while the map names it at all; after a connection error on it another primary
is chosen, the failed one only if no other serves slots."""

from __future__ import annotations

from pyredisclient.cluster.state import ClusterState
from pyredisclient.cluster.topology import SlotMap
from pyredisclient.config import RedisConfig


def _map(*primaries: str, replicas: dict | None = None) -> SlotMap:
    per = 16384 // len(primaries) + 1
    slots = [primaries[i // per] for i in range(16384)]
    return SlotMap(slots, replicas or {})


def _state() -> ClusterState:
    return ClusterState(RedisConfig(), [("127.0.0.1", 7000)], 0.25, object)


def test_kept_while_the_map_names_it_a_primary() -> None:
    state = _state()
    smap = _map("a:1", "b:1", "c:1")
    first = state.default_node(smap)
    assert first in smap.primaries
    assert {state.default_node(smap) for _ in range(50)} == {first}
    # It lost its slots (now a replica): another primary.
    others = [p for p in smap.primaries if p != first]
    demoted = _map(*others, replicas={others[0]: (first,)})
    assert state.default_node(demoted) in others


def test_a_failed_default_is_replaced_by_another_primary() -> None:
    smap = _map("a:1", "b:1", "c:1")
    for _ in range(30):  # the random choice never picks the failed node again
        state = _state()
        first = state.default_node(smap)
        state.default_failed("x:1")  # not the default: nothing changes
        assert state.default_node(smap) == first
        state.default_failed(first)
        second = state.default_node(smap)
        assert second != first and second in smap.primaries
    alone = _map("a:1")
    state = _state()
    state.default_failed(state.default_node(alone))
    assert state.default_node(alone) == "a:1"  # the only primary left


def test_set_default_keeps_a_replica_while_the_map_names_it() -> None:
    state = _state()
    smap = _map("a:1", "b:1", replicas={"a:1": ("r:1",)})
    state.set_default("r:1")
    assert state.default_node(smap) == "r:1"
    assert state.default_node(_map("a:1", "b:1")) in ("a:1", "b:1")  # gone from the map
    state.set_default("b:1")
    state.default_failed("b:1")
    assert state.default_node(smap) == "a:1"
