"""redis-py's RedisCluster methods that have no standalone counterpart.

``keyslot``, ``mget_nonatomic``/``mset_nonatomic`` and the ``cluster_*`` management
methods (``cluster_info``, ``cluster_nodes``, ``cluster_slots``, ``cluster_shards``,
``cluster_countkeysinslot``, ...), with redis-py's reply shapes. Where redis-py takes
``target_nodes`` (or ``target_node``), a node is named ``"host:port"``, as a
``(host, port)`` pair, or by any object with ``host`` and ``port`` (redis-py's
``ClusterNode``), a list of such, or one of redis-py's constants ``"primaries"``,
``"replicas"``, ``"all"``, ``"random"``, ``"default-node"`` (a random primary). One
node gives its reply; several a dict of replies by ``"host:port"``. Without
``target_nodes`` the command goes where redis-py sends it: any primary, or for
``cluster_countkeysinslot``/``cluster_get_keys_in_slot`` the primary serving the
slot (on any other node the count would be 0).
"""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Tuple

from .._core import key_slot
from ..commands.args import list_or_args
from ..commands.callbacks import as_text
from ..commands.server import cluster_callback
from ..commands.types import Callback, KeysT, KeyT
from ..exceptions import DataError

__all__ = ["ClusterCommands", "Targeted"]

#: redis-py's RedisCluster node constants.
PRIMARIES = "primaries"
REPLICAS = "replicas"
ALL_NODES = "all"
RANDOM = "random"
DEFAULT_NODE = "default-node"


class Targeted(tuple):  # type: ignore[type-arg]
    """A command tuple with where it goes: ``targets`` (a node spec as the module
    says, or ``("slot", n)``), routed by ``ClusterBase._route_steps``."""

    targets: Any  # (a tuple subclass cannot have slots of its own)

    def __new__(cls, targets: Any, args: Tuple[Any, ...]) -> Targeted:
        self = super().__new__(cls, args)
        self.targets = targets
        return self


def _at(targets: Any, args: Tuple[Any, ...]) -> Tuple[Any, ...]:
    return args if targets is None else Targeted(targets, args)


def _slots(reply: Any) -> Dict[Tuple[int, int], Dict[str, Any]]:
    # redis-py's parse_cluster_slots: {(start, end): {"primary": (host, port),
    # "replicas": [(host, port), ...]}}.
    slots: Dict[Tuple[int, int], Dict[str, Any]] = {}
    for entry in reply or ():
        start, end, primary, *replicas = entry
        slots[start, end] = {
            "primary": (as_text(primary[0]), primary[1]),
            "replicas": [(as_text(r[0]), r[1]) for r in replicas],
        }
    return slots


def _shards(reply: Any) -> List[Dict[str, Any]]:
    # redis-py's parse_cluster_shards: each shard's slot ranges as pairs and its
    # nodes as dicts (keys and values as the server sent them).
    shards = []
    for shard in reply or ():
        fields: Dict[Any, Any] = dict(zip(shard[::2], shard[1::2]))
        ranges = fields.get(b"slots", fields.get("slots")) or []
        nodes = fields.get(b"nodes", fields.get("nodes")) or []
        shards.append(
            {
                "slots": [(ranges[i], ranges[i + 1]) for i in range(0, len(ranges), 2)],
                "nodes": [dict(zip(node[::2], node[1::2])) for node in nodes],
            }
        )
    return shards


def _text(reply: Any) -> Any:
    return as_text(reply)


class ClusterCommands:
    """Mixed into the cluster clients: see the module docstring."""

    __slots__ = ()

    def _run(self, args: Tuple[Any, ...], callback: Callback | None = None) -> Any:
        raise NotImplementedError  # pragma: no cover - supplied by the client

    def get_encoder(self) -> Any:
        raise NotImplementedError  # pragma: no cover - supplied by the client

    def keyslot(self, key: KeyT) -> int:
        """The hash slot of ``key`` (hash tags honoured), computed here."""
        if not isinstance(key, bytes):
            key = self.get_encoder().encode(key)  # DataError for what Redis cannot take
        return key_slot(key)

    def mget_nonatomic(self, keys: KeysT, *args: KeyT) -> List[Any]:
        """MGET over any slots, in the caller's order (one MGET per node, not atomic)."""
        return self._run(("MGET", *list_or_args(keys, args)))

    def mset_nonatomic(self, mapping: Mapping[Any, Any]) -> List[bool]:
        """MSET over any slots (one MSET per slot group, not atomic): one True per
        slot group, as redis-py (an error of any group is raised)."""
        if not mapping:
            raise DataError("mset_nonatomic needs at least one key")
        groups = len({self.keyslot(k) for k in mapping})
        pairs = [x for item in mapping.items() for x in item]
        return self._run(
            ("MSET", *pairs), lambda ok: [ok == b"OK" or ok == "OK" or ok is True] * groups
        )

    def cluster_info(self, target_nodes: Any = None) -> Dict[str, str]:
        """CLUSTER INFO as a dict of text."""
        return self._run(_at(target_nodes, ("CLUSTER", "INFO")), cluster_callback("INFO"))

    def cluster_nodes(self) -> Dict[str, Dict[str, Any]]:
        """CLUSTER NODES as redis-py's dict by address."""
        return self._run(("CLUSTER", "NODES"), cluster_callback("NODES"))

    def cluster_replicas(self, node_id: str, target_nodes: Any = None) -> Dict[str, Any]:
        """CLUSTER REPLICAS of ``node_id``, as ``cluster_nodes``."""
        args = ("CLUSTER", "REPLICAS", node_id)
        return self._run(_at(target_nodes, args), cluster_callback("REPLICAS"))

    def cluster_slots(self, target_nodes: Any = None) -> Dict[Tuple[int, int], Dict[str, Any]]:
        """CLUSTER SLOTS as ``{(start, end): {"primary": (host, port), "replicas": [...]}}``."""
        return self._run(_at(target_nodes, ("CLUSTER", "SLOTS")), _slots)

    def cluster_shards(self, target_nodes: Any = None) -> List[Dict[str, Any]]:
        """CLUSTER SHARDS: each shard's ``slots`` (ranges) and ``nodes`` (dicts)."""
        return self._run(_at(target_nodes, ("CLUSTER", "SHARDS")), _shards)

    def cluster_myid(self, target_node: Any) -> Any:
        """The node ID of ``target_node``."""
        return self._run(Targeted(target_node, ("CLUSTER", "MYID")))

    def cluster_myshardid(self, target_nodes: Any = None) -> str:
        """The shard ID of a node (Redis 7.2)."""
        return self._run(_at(target_nodes, ("CLUSTER", "MYSHARDID")), _text)

    def cluster_links(self, target_node: Any) -> List[Any]:
        """CLUSTER LINKS of ``target_node``, as the server answers."""
        return self._run(Targeted(target_node, ("CLUSTER", "LINKS")))

    def cluster_keyslot(self, key: KeyT) -> int:
        """The slot of ``key``, as a node computes it."""
        return self._run(("CLUSTER", "KEYSLOT", key))

    def cluster_countkeysinslot(self, slot_id: int) -> int:
        """How many keys ``slot_id`` holds, asked of the primary serving it."""
        return self._run(Targeted(("slot", slot_id), ("CLUSTER", "COUNTKEYSINSLOT", slot_id)))

    def cluster_get_keys_in_slot(self, slot: int, num_keys: int) -> List[str]:
        """Up to ``num_keys`` keys of ``slot`` (text), from the primary serving it."""
        args = ("CLUSTER", "GETKEYSINSLOT", slot, num_keys)
        return self._run(Targeted(("slot", slot), args), cluster_callback("GETKEYSINSLOT"))

    def cluster_count_failure_report(self, node_id: str) -> int:
        """How many failure reports a node holds about ``node_id``."""
        return self._run(("CLUSTER", "COUNT-FAILURE-REPORTS", node_id))
