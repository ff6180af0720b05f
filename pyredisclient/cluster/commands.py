"""redis-py's RedisCluster methods that have no standalone counterpart.

``keyslot``, ``mget_nonatomic``/``mset_nonatomic`` and the ``cluster_*`` management
methods (``cluster_info``, ``cluster_nodes``, ``cluster_slots``, ``cluster_shards``,
``cluster_countkeysinslot``, ...), with redis-py's reply shapes. Where redis-py takes
``target_nodes`` (or ``target_node``), a node is named ``"host:port"``, as a
``(host, port)`` pair, or by any object with ``host`` and ``port`` (redis-py's
``ClusterNode``), a list of such, or one of redis-py's constants ``"primaries"``,
``"replicas"``, ``"all"``, ``"random"``, ``"default-node"`` (the default node). One
node gives its reply; several one merged reply where redis-py merges them
(cluster/routing.py: TARGETED_MERGE), else a dict of replies by ``"host:port"``. Without
``target_nodes`` the command goes where redis-py sends it: the default node, or for
``cluster_countkeysinslot``/``cluster_get_keys_in_slot`` the primary serving the
slot (on any other node the count would be 0).
"""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

import inspect
import random
from typing import Any, Callable, ClassVar, Dict, List, Mapping, Tuple

from .._core import key_slot
from .._steps import Steps, run_any
from ..commands.acl import ACLCommands
from ..commands.args import flatten, list_or_args
from ..commands.base import CommandsBase
from ..commands.callbacks import as_text, is_ok
from ..commands.diagnostics import DiagnosticsCommands
from ..commands.functions import FunctionCommands
from ..commands.pubsub import PubSubCommands
from ..commands.scripting import ScriptingCommands
from ..commands.server import ServerCommands, cluster_callback
from ..commands.types import Callback, KeysT, KeyT
from ..exceptions import DataError
from .errors import ClusterError

__all__ = [
    "TARGETED_FAMILIES",
    "TARGETED_METHODS",
    "ClusterCommands",
    "ClusterNode",
    "ClusterNodes",
    "NodeName",
    "Targeted",
    "accept_target_nodes",
    "target_nodes",
]

#: redis-py's RedisCluster node constants.
PRIMARIES = "primaries"
REPLICAS = "replicas"
ALL_NODES = "all"
RANDOM = "random"
DEFAULT_NODE = "default-node"
_CONSTANTS = (PRIMARIES, REPLICAS, ALL_NODES, RANDOM, DEFAULT_NODE)


#: The command families whose methods take ``target_nodes`` on a cluster client, as
#: redis-py's do (server, ACL, diagnostics, functions, scripts, pub/sub: commands
#: about a node rather than a key), and the other methods that do. With it a call
#: runs on the nodes named (see the module docstring); without it, it goes where it
#: always does. scripts/gen_stubs.py reads both to type the stubs.
TARGETED_FAMILIES = (
    ServerCommands,
    ACLCommands,
    DiagnosticsCommands,
    FunctionCommands,
    ScriptingCommands,
    PubSubCommands,
)
TARGETED_METHODS = ("keys", "randomkey")


class Targeted(tuple):  # type: ignore[type-arg]
    """A command tuple with the nodes it goes to: ``targets``, as the module says,
    routed by ``ClusterBase._route_steps``."""

    targets: Any  # (a tuple subclass cannot have slots of its own)

    def __new__(cls, targets: Any, args: Tuple[Any, ...]) -> Targeted:
        self = super().__new__(cls, args)
        self.targets = targets
        return self


def _targeting(name: str, func: Any) -> Callable[..., Any]:
    """``func`` (a command method) with a keyword-only ``target_nodes``: given, the
    method runs on a copy of the client whose hook sends to those nodes."""

    def method(self: Any, *args: Any, target_nodes: Any = None, **kwargs: Any) -> Any:
        if target_nodes is None:
            return func(self, *args, **kwargs)
        return func(self._at_nodes(target_nodes), *args, **kwargs)

    signature = inspect.signature(func)
    param = inspect.Parameter("target_nodes", inspect.Parameter.KEYWORD_ONLY, default=None)
    params = list(signature.parameters.values())
    at = next((i for i, p in enumerate(params) if p.kind == p.VAR_KEYWORD), len(params))
    method.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*params[:at], param, *params[at:]]
    )
    method.__name__ = method.__qualname__ = name
    method.__doc__ = func.__doc__
    return method


def accept_target_nodes(cls: type) -> type:
    """Class decorator of ClusterBase: the methods of TARGETED_FAMILIES, and those
    TARGETED_METHODS names, take ``target_nodes`` (unless ``cls`` overrides them)."""
    for name in dir(cls):
        if name.startswith("_"):
            continue
        owner = next(c for c in cls.__mro__ if name in c.__dict__)
        func = owner.__dict__[name]
        if not callable(func) or not issubclass(owner, CommandsBase):
            continue
        if owner in TARGETED_FAMILIES or name in TARGETED_METHODS:
            setattr(cls, name, _targeting(name, func))
    return cls


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
        """MGET over any slots, in the caller's order (one MGET per node, not atomic);
        no keys, ``[]`` (sent as an ECHO, so that the asyncio client awaits it too)."""
        names = list_or_args(keys, args)
        if not names:
            return self._run(("ECHO", ""), lambda _: [])
        return self._run(("MGET", *names))

    def mset_nonatomic(self, mapping: Mapping[Any, Any]) -> List[bool]:
        """MSET over any slots (one MSET per slot group, not atomic): one True per
        slot group, as redis-py (an error of any group is raised)."""
        pairs = flatten(mapping)
        if not pairs:
            raise DataError("mset_nonatomic needs at least one key")
        groups = len({self.keyslot(k) for k in pairs[::2]})
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

    # Cluster administration, as redis-py's (a node as target_nodes takes it).

    def cluster_addslots(self, target_node: Any, *slots: int) -> bool:
        """CLUSTER ADDSLOTS: give ``slots`` to ``target_node``."""
        return self._run(Targeted(target_node, ("CLUSTER", "ADDSLOTS", *slots)), is_ok)

    def cluster_addslotsrange(self, target_node: Any, *slots: int) -> bool:
        """CLUSTER ADDSLOTSRANGE: ``slots`` are start, end pairs (Redis 7)."""
        return self._run(Targeted(target_node, ("CLUSTER", "ADDSLOTSRANGE", *slots)), is_ok)

    def cluster_failover(self, target_node: Any, option: str | None = None) -> bool:
        """CLUSTER FAILOVER on ``target_node`` (a replica), with ``FORCE`` or
        ``TAKEOVER``."""
        if option is None:
            return self._run(Targeted(target_node, ("CLUSTER", "FAILOVER")), is_ok)
        if str(option).upper() not in ("FORCE", "TAKEOVER"):
            raise DataError(f"CLUSTER FAILOVER takes FORCE or TAKEOVER, not {option!r}")
        args = ("CLUSTER", "FAILOVER", str(option).upper())
        return self._run(Targeted(target_node, args), is_ok)

    def cluster_meet(self, host: str, port: int, target_nodes: Any = None) -> bool:
        """CLUSTER MEET: make a node (the default node) meet ``host:port``."""
        return self._run(_at(target_nodes, ("CLUSTER", "MEET", host, port)), is_ok)

    def cluster_replicate(self, target_nodes: Any, node_id: str) -> bool:
        """CLUSTER REPLICATE: make ``target_nodes`` replicas of ``node_id``."""
        return self._run(Targeted(target_nodes, ("CLUSTER", "REPLICATE", node_id)), is_ok)

    def cluster_reset(self, soft: bool = True, target_nodes: Any = None) -> bool:
        """CLUSTER RESET SOFT (or HARD with ``soft=False``) of a node."""
        args = ("CLUSTER", "RESET", "SOFT" if soft else "HARD")
        return self._run(_at(target_nodes, args), is_ok)

    def cluster_save_config(self, target_nodes: Any = None) -> bool:
        """CLUSTER SAVECONFIG: a node writes its nodes.conf."""
        return self._run(_at(target_nodes, ("CLUSTER", "SAVECONFIG")), is_ok)

    def cluster_set_config_epoch(self, epoch: int, target_nodes: Any = None) -> bool:
        """CLUSTER SET-CONFIG-EPOCH of a new node."""
        return self._run(_at(target_nodes, ("CLUSTER", "SET-CONFIG-EPOCH", epoch)), is_ok)

    def cluster_setslot(self, target_node: Any, node_id: str, slot_id: int, state: str) -> bool:
        """CLUSTER SETSLOT ``slot_id`` IMPORTING/MIGRATING/NODE ``node_id`` on
        ``target_node`` (``STABLE``: :meth:`cluster_setslot_stable`)."""
        state = str(state).upper()
        if state not in ("IMPORTING", "NODE", "MIGRATING"):
            hint = "; use cluster_setslot_stable" if state == "STABLE" else ""
            raise DataError(
                f"CLUSTER SETSLOT: state {state!r} is not one of IMPORTING, NODE, MIGRATING{hint}"
            )
        args = ("CLUSTER", "SETSLOT", slot_id, state, node_id)
        return self._run(Targeted(target_node, args), is_ok)

    def cluster_setslot_stable(self, slot_id: int) -> bool:
        """CLUSTER SETSLOT ``slot_id`` STABLE, on the primary serving the slot."""
        return self._run(("CLUSTER", "SETSLOT", slot_id, "STABLE"), is_ok)

    def cluster_delslots(self, *slots: int) -> List[bool]:
        """CLUSTER DELSLOTS of each slot on the primary serving it, as redis-py's:
        one result per slot (awaitable on the asyncio client)."""
        if not slots:
            raise DataError("cluster_delslots() needs at least one slot")
        return run_any(self._delslots_steps(slots))

    def _delslots_steps(self, slots: Tuple[int, ...]) -> Steps[List[bool]]:
        done: List[bool] = []
        for slot in slots:  # each routed to its slot's owner (_SLOT_SUBCOMMANDS)
            done.append((yield self._run(("CLUSTER", "DELSLOTS", slot), is_ok)))
        return done

    def cluster_delslotsrange(self, *slots: int) -> bool:
        """CLUSTER DELSLOTSRANGE (start, end pairs) on the default node, as redis-py
        sends it (``execute_command(..., target_nodes=...)`` for another node)."""
        return self._run(("CLUSTER", "DELSLOTSRANGE", *slots), is_ok)

    def cluster_flushslots(self, target_nodes: Any = None) -> bool:
        """CLUSTER FLUSHSLOTS: a node (the default node) forgets every slot it serves.
        redis-py refuses it (NotImplementedError); here it is sent where told."""
        return self._run(_at(target_nodes, ("CLUSTER", "FLUSHSLOTS")), is_ok)

    def cluster_bumpepoch(self, target_nodes: Any = None) -> Any:
        """CLUSTER BUMPEPOCH on a node (the default node): ``BUMPED <epoch>`` or
        ``STILL <epoch>``. redis-py refuses it (NotImplementedError)."""
        return self._run(_at(target_nodes, ("CLUSTER", "BUMPEPOCH")), as_text)

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
        return isinstance(other, (ClusterNode, NodeName)) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        kind = f" {self.server_type}" if self.server_type else ""
        return f"<ClusterNode {self.name}{kind}>"


class NodeName(str):
    """A node's ``"host:port"`` that also reads as redis-py's ``ClusterNode`` does
    (``host``, ``port``, ``name``) and equals the ClusterNode of that node: what a
    cluster subscription's ``node`` is, so code written for either keeps working."""

    __slots__ = ()

    @property
    def name(self) -> str:
        return str(self)

    @property
    def host(self) -> str:
        return self.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.rpartition(":")[2])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ClusterNode):
            return other.name == self
        return str.__eq__(self, other)

    __hash__ = str.__hash__  # != follows from __eq__ (str's, or ClusterNode's reflected)


class ClusterNodes:
    """redis-py's node look-ups (``get_nodes``, ``get_primaries``, ...) over the slot
    map the client knows. ``_known_map()`` is the client's: the blocking one reads the
    map first if need be; the asyncio one needs ``await client.initialize()`` (or any
    command) first, as redis-py's does."""

    __slots__ = ()
    _state: Any  # the client's ClusterState

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

    def get_random_primary_node(self) -> ClusterNode:
        """Any primary of the slot map (redis-py's)."""
        return random.choice(self.get_primaries())

    def get_default_node(self) -> ClusterNode:
        """The node keyless commands go to (PING, INFO, CLIENT ..., ACL ..., CONFIG
        ...): a primary chosen at random and kept until it leaves the slot map or a
        connection to it fails, or the node :meth:`set_default_node` named."""
        smap = self._known_map()
        if not smap.primaries:
            raise ClusterError("the cluster has no primary serving slots")
        return self._node(smap, self._state.default_node(smap))

    def set_default_node(self, node: Any) -> bool:
        """Send keyless commands to ``node`` (a ClusterNode, ``"host:port"`` or
        ``(host, port)``) from now on; False (and no change) unless the slot map
        names it. It stays the default while the map names it and connections to it
        work."""
        name = node_name_of(node) if node is not None else None
        if name is None or name in _CONSTANTS or name not in self._known_map().nodes:
            return False
        self._state.set_default(name)
        return True

    def monitor(self, target_node: Any = None) -> Any:
        """redis-py's cluster ``monitor(target_node=None)``: the MONITOR stream of one
        node (a ClusterNode, ``"host:port"`` or ``(host, port)``; the default node
        when None), from that node's standalone client (a ``Monitor``, or an
        ``AsyncMonitor`` on the asyncio client): see
        :mod:`pyredisclient.pubsub.monitor`."""
        name = self.get_default_node().name if target_node is None else node_name_of(target_node)
        if name is None or name in _CONSTANTS:
            raise DataError(f"monitor() takes one node, not {target_node!r}")
        return self._state.client(name).monitor()

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


def target_nodes(targets: Any, smap: Any, default: Callable[[Any], str]) -> List[str]:
    """The ``host:port`` names ``targets`` means (see the module docstring), each
    once, every one a node of ``smap``: DataError otherwise. ``default(smap)`` is
    the default node (ClusterState.default_node)."""
    if isinstance(targets, str) and targets in _CONSTANTS:
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
        if targets == DEFAULT_NODE:
            return [default(smap)]
        return [random.choice(smap.nodes)]
    if isinstance(targets, (list, set, frozenset)):
        names: List[str] = []
        for one in targets:
            for name in target_nodes(one, smap, default):
                if name not in names:
                    names.append(name)
        if not names:
            raise DataError("target_nodes names no node")
        return names
    node = node_name_of(targets)
    if node is None:
        raise DataError(
            "target_nodes: a node as 'host:port', (host, port) or an object with host and "
            "port, a list of them, or 'primaries', 'replicas', 'all', 'random', "
            f"'default-node'; not {targets!r}"
        )
    if node not in smap.nodes:
        raise DataError(f"target_nodes: {node} is not a node of the cluster")
    return [node]


def node_name_of(node: Any) -> str | None:
    """``"host:port"`` of one node named as ``target_nodes`` takes it (a string, a
    ``(host, port)`` pair, an object with ``host`` and ``port``), else None."""
    if isinstance(node, str):
        return node
    if isinstance(node, tuple) and len(node) == 2:
        return f"{node[0]}:{node[1]}"
    if hasattr(node, "host") and hasattr(node, "port"):
        return f"{node.host}:{node.port}"
    return None
