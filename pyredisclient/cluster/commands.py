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

import random
from typing import Any, ClassVar, Dict, List, Mapping, Tuple

from .._core import key_slot
from ..commands.args import list_or_args
from ..commands.callbacks import as_text, is_ok
from ..commands.server import cluster_callback
from ..commands.types import Callback, KeysT, KeyT
from ..exceptions import DataError
from .errors import ClusterError

__all__ = ["ClusterCommands", "ClusterNode", "ClusterNodes", "Targeted", "target_nodes"]

#: redis-py's RedisCluster node constants.
PRIMARIES = "primaries"
REPLICAS = "replicas"
ALL_NODES = "all"
RANDOM = "random"
DEFAULT_NODE = "default-node"


class Targeted(tuple):  # type: ignore[type-arg]
    """A command tuple with the nodes it goes to: ``targets``, as the module says,
    routed by ``ClusterBase._route_steps``."""

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


class ClusterCommands:
    """Mixed into the cluster clients: see the module docstring."""

    __slots__ = ()

    #: redis-py's ``target_nodes`` constants (``RedisCluster.PRIMARIES``, ...).
    PRIMARIES: ClassVar[str] = PRIMARIES
    REPLICAS: ClassVar[str] = REPLICAS
    ALL_NODES: ClassVar[str] = ALL_NODES
    RANDOM: ClassVar[str] = RANDOM
    DEFAULT_NODE: ClassVar[str] = DEFAULT_NODE

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Send any command and return its raw reply; with ``target_nodes`` (as the
        module says) on those nodes, ``{"host:port": reply}`` for several. Other
        options as on a standalone client (``NEVER_DECODE`` only without
        ``target_nodes``)."""
        targets = options.pop("target_nodes", None)
        if targets is None:
            return super().execute_command(*args, **options)  # type: ignore[misc]
        return self._run(Targeted(targets, args))

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
        # The split MSET raises the first group's error, else answers OK: one per group.
        return self._run(("MSET", *pairs), lambda ok: [is_ok(ok)] * groups)

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
        return self._run(_at(target_nodes, ("CLUSTER", "MYSHARDID")), as_text)

    def cluster_links(self, target_node: Any) -> List[Any]:
        """CLUSTER LINKS of ``target_node``, as the server answers."""
        return self._run(Targeted(target_node, ("CLUSTER", "LINKS")))

    def cluster_keyslot(self, key: KeyT) -> int:
        """The slot of ``key``, as a node computes it."""
        return self._run(("CLUSTER", "KEYSLOT", key))

    def cluster_countkeysinslot(self, slot_id: int) -> int:
        """How many keys ``slot_id`` holds, asked of the primary serving it."""
        return self._run(("CLUSTER", "COUNTKEYSINSLOT", slot_id))

    def cluster_get_keys_in_slot(self, slot: int, num_keys: int) -> List[str]:
        """Up to ``num_keys`` keys of ``slot`` (text), from the primary serving it."""
        args = ("CLUSTER", "GETKEYSINSLOT", slot, num_keys)
        return self._run(args, cluster_callback("GETKEYSINSLOT"))

    def cluster_count_failure_report(self, node_id: str) -> int:
        """How many failure reports a node holds about ``node_id``."""
        return self._run(("CLUSTER", "COUNT-FAILURE-REPORTS", node_id))


class ClusterNode:
    """redis-py's ``ClusterNode``: ``host``, ``port``, ``name`` (``"host:port"``),
    ``server_type`` ("primary", "replica" or None) and ``redis_connection`` (from
    the node look-ups: the node's standalone client, made on first use). Usable
    wherever ``target_nodes`` takes a node; ``ClusterNode(host, port)`` names one."""

    __slots__ = ("_client", "_owner", "host", "name", "port", "server_type")

    def __init__(
        self,
        host: str,
        port: int,
        server_type: str | None = None,
        redis_connection: Any = None,
    ) -> None:
        self.host = host
        self.port = int(port)
        self.name = f"{host}:{self.port}"
        self.server_type = server_type
        self._client = redis_connection
        self._owner: Any = None

    @property
    def redis_connection(self) -> Any:
        """The node's own client (RedisClient, or AsyncRedisClient), or None for a
        node made by hand without one."""
        if self._client is None and self._owner is not None:
            self._client = self._owner._state.client(self.name)
        return self._client

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClusterNode) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        kind = f" {self.server_type}" if self.server_type else ""
        return f"<ClusterNode {self.name}{kind}>"


class ClusterNodes:
    """redis-py's node look-ups (``get_nodes``, ``get_primaries``, ...) over the slot
    map the client knows. ``_known_map()`` is the client's: the blocking one reads the
    map first if need be; the asyncio one needs ``await client.initialize()`` (or any
    command) first, as redis-py's does."""

    __slots__ = ()

    def _known_map(self) -> Any:
        raise NotImplementedError  # pragma: no cover - supplied by the client

    def _node(self, smap: Any, name: str) -> ClusterNode:
        host, _, port = name.rpartition(":")
        node = ClusterNode(host, int(port), "primary" if name in smap.primaries else "replica")
        node._owner = self
        return node

    def get_nodes(self) -> List[ClusterNode]:
        """Every node of the slot map: the primaries, then their replicas."""
        smap = self._known_map()
        return [self._node(smap, name) for name in smap.nodes]

    def get_primaries(self) -> List[ClusterNode]:
        """The primaries serving slots."""
        smap = self._known_map()
        return [self._node(smap, name) for name in smap.primaries]

    def get_replicas(self) -> List[ClusterNode]:
        """The replicas of the primaries."""
        return [node for node in self.get_nodes() if node.server_type == "replica"]

    def get_random_node(self) -> ClusterNode:
        """Any node of the slot map."""
        return random.choice(self.get_nodes())

    def get_default_node(self) -> ClusterNode:
        """The node redis-py sends keyless commands to by default: here the first
        primary by name (this client sends them to a random primary)."""
        return self.get_primaries()[0]

    def get_node(
        self, host: str | None = None, port: int | None = None, node_name: str | None = None
    ) -> ClusterNode | None:
        """The node ``host``/``port`` or ``node_name`` ("host:port"), or None."""
        name = node_name if node_name is not None else f"{host}:{port}"
        smap = self._known_map()
        return self._node(smap, name) if name in smap.nodes else None

    def get_node_from_key(self, key: KeyT, replica: bool = False) -> ClusterNode | None:
        """The primary serving ``key``'s slot, or with ``replica`` one of its replicas
        (None when it has none)."""
        smap = self._known_map()
        primary = smap.slots[self.keyslot(key)]  # type: ignore[attr-defined]
        if primary is None:
            raise ClusterError(f"CLUSTERDOWN the slot of {key!r} is not served")
        if not replica:
            return self._node(smap, primary)
        replicas = smap.replicas.get(primary, ())
        return self._node(smap, random.choice(replicas)) if replicas else None


def target_nodes(targets: Any, smap: Any) -> List[str]:
    """The ``host:port`` names ``targets`` means (see the module docstring), each
    once, every one a node of ``smap``: DataError otherwise."""
    if isinstance(targets, str) and targets in (
        PRIMARIES,
        REPLICAS,
        ALL_NODES,
        RANDOM,
        DEFAULT_NODE,
    ):
        if not smap.primaries:
            raise ClusterError("the cluster has no primary serving slots")
        if targets == PRIMARIES:
            return list(smap.primaries)
        if targets == ALL_NODES:
            return list(smap.nodes)
        if targets == REPLICAS:
            replicas = [n for n in smap.nodes if n not in smap.primaries]
            if not replicas:
                raise ClusterError("the cluster has no replica")
            return replicas
        pool = smap.nodes if targets == RANDOM else smap.primaries
        return [random.choice(pool)]
    if isinstance(targets, (list, set, frozenset)):
        names: List[str] = []
        for one in targets:
            for name in target_nodes(one, smap):
                if name not in names:
                    names.append(name)
        if not names:
            raise DataError("target_nodes names no node")
        return names
    if isinstance(targets, str):
        name = targets
    elif isinstance(targets, tuple) and len(targets) == 2:
        name = f"{targets[0]}:{targets[1]}"
    elif hasattr(targets, "host") and hasattr(targets, "port"):
        name = f"{targets.host}:{targets.port}"
    else:
        raise DataError(
            "target_nodes: a node as 'host:port', (host, port) or an object with host and "
            f"port, a list of them, or 'primaries', 'replicas', 'all', 'random'; not {targets!r}"
        )
    if name not in smap.nodes:
        raise DataError(f"target_nodes: {name} is not a node of the cluster")
    return [name]
