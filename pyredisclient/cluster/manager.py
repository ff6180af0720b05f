"""redis-py's ``RedisCluster.nodes_manager``, read from the client's slot map.

Code written for redis-py reaches into ``client.nodes_manager`` for the cluster's
layout: ``nodes_cache`` (name to node), ``slots_cache`` (slot to its primary and
replicas), ``get_node_from_slot``, ``default_node``, ``initialize()``. Here that is a
view over the client's immutable SlotMap, not a second copy of the topology: every
read sees the map the client routes by, and ``initialize()`` re-reads it from the
cluster. ``slots_cache`` is built once per map (a read-only mapping of tuples), so
looking a slot up on every call costs a dict lookup.
"""

from __future__ import annotations

import random
from types import MappingProxyType
from typing import Any, Dict, List, Mapping, Tuple

from .._steps import Steps, run_async, run_sync
from .commands import ClusterNode, node_name_of
from .errors import ClusterError
from .topology import SlotMap, split_name

__all__ = ["AsyncNodesManager", "NodesManager"]

_PRIMARY = "primary"
_REPLICA = "replica"


class NodesManager:
    """``client.nodes_manager`` of the blocking cluster client (see the module)."""

    __slots__ = ("_client",)

    def __init__(self, client: Any) -> None:
        self._client = client  # a view per ``client.nodes_manager`` read: no cycle

    def _map(self) -> SlotMap:
        smap: SlotMap = self._client._known_map()
        return smap

    @property
    def nodes_cache(self) -> Dict[str, ClusterNode]:
        """Every node of the slot map by ``"host:port"``: primaries, then replicas."""
        smap = self._map()
        return {name: self._client._node(smap, name) for name in smap.nodes}

    @property
    def slots_cache(self) -> Mapping[int, Tuple[ClusterNode, ...]]:
        """Each served slot to ``(primary, *replicas)``; slots nobody serves are
        absent. Read-only, and the same object while the slot map stays."""
        smap = self._map()
        # (map, its slots_cache) kept on the client; rebuilt when it swaps in a map.
        built: Tuple[SlotMap, Mapping[int, Tuple[ClusterNode, ...]]] | None
        built = self._client.__dict__.get("_slots_view")
        if built is not None and built[0] is smap:
            return built[1]
        nodes = self.nodes_cache
        owners: Dict[str, Tuple[ClusterNode, ...]] = {
            p: (nodes[p], *(nodes[r] for r in smap.replicas.get(p, ()))) for p in smap.primaries
        }
        cache = MappingProxyType(
            {slot: owners[p] for slot, p in enumerate(smap.slots) if p is not None}
        )
        self._client.__dict__["_slots_view"] = (smap, cache)
        return cache

    @property
    def startup_nodes(self) -> Dict[str, ClusterNode]:
        """The seeds the client was given, by ``"host:port"``."""
        return {name: ClusterNode(*split_name(name)) for name in self._client._state.seeds}

    @property
    def default_node(self) -> ClusterNode:
        """The node keyless commands go to (``client.get_default_node()``)."""
        node: ClusterNode = self._client.get_default_node()
        return node

    @default_node.setter
    def default_node(self, node: Any) -> None:
        if not self._client.set_default_node(node):
            raise ClusterError(f"{node_name_of(node) or node!r} is not a node of the cluster")

    def get_node(
        self, host: str | None = None, port: int | None = None, node_name: str | None = None
    ) -> ClusterNode | None:
        """The node ``host``/``port`` or ``node_name``, or None."""
        node: ClusterNode | None = self._client.get_node(host, port, node_name)
        return node

    def get_node_from_slot(
        self,
        slot: int,
        read_from_replicas: bool = False,
        load_balancing_strategy: Any = None,
        server_type: str | None = None,
    ) -> ClusterNode:
        """The primary serving ``slot``; one of its replicas (at random) with
        ``server_type="replica"``, ``read_from_replicas`` or a load-balancing
        strategy, when it has any. ClusterError when no node serves the slot."""
        owners = self.slots_cache.get(slot)
        if not owners:
            raise ClusterError(f'Slot "{slot}" not covered by the cluster')
        wants_replica = (
            server_type == _REPLICA or read_from_replicas or load_balancing_strategy is not None
        )
        if wants_replica and len(owners) > 1:
            return random.choice(owners[1:])
        return owners[0]

    def get_nodes_by_server_type(self, server_type: str) -> List[ClusterNode]:
        """The nodes whose ``server_type`` is ``"primary"`` or ``"replica"``."""
        return [n for n in self.nodes_cache.values() if n.server_type == server_type]

    def initialize(self) -> None:
        """Read the slot map from the cluster again now; ClusterError when no node
        gives one (the client keeps routing by the map it had)."""
        run_sync(_initialize_steps(self._client))

    def __repr__(self) -> str:
        smap = self._client._state.map
        known = "no slot map yet" if smap is None else f"{len(smap.nodes)} nodes"
        return f"<{type(self).__name__} {known}>"


class AsyncNodesManager(NodesManager):
    """``client.nodes_manager`` of the asyncio cluster client: the same reads (they
    need the slot map, as the client's node look-ups do: ``await
    client.initialize()`` or any command first); ``initialize()`` is a coroutine."""

    __slots__ = ()

    async def initialize(self) -> None:  # type: ignore[override]
        """Read the slot map from the cluster again now."""
        await run_async(_initialize_steps(self._client))


def _initialize_steps(client: Any) -> Steps[None]:
    if (yield from client._refresh_steps(force=True)):
        return
    state = client._state
    if state.closed:
        raise ClusterError("the cluster client is closed")
    if not state.refreshing:  # it ran and every node failed (not: another one runs)
        raise ClusterError(
            f"no cluster node gave a slot map (tried {', '.join(state.candidates())})"
        )
    yield from client._map_steps()  # wait for the one running
