"""What a cluster client and its views share: the node clients (one standalone
RedisClient, so one pool and one breaker, per node), the slot map, the refresh that
replaces it, and the cluster's own counters.

Nothing node-specific leaks into the standalone client: a node is an ordinary
RedisClient built from the cluster's config with the node's address.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any, Dict, List, Sequence, Tuple

from ..config import RedisConfig
from .errors import ClusterError
from .options import ClusterOptions
from .topology import SlotMap, node_name, split_name

__all__ = ["ClusterState"]

#: The cluster's own counters, in metrics()["cluster"].
COUNTERS = (
    "moved",
    "ask",
    "refreshes",
    "refresh_failures",
    "retries",
    "tryagain",
    "splits",
    "replica_reads",
)


class ClusterState:
    """Node clients, the current SlotMap and the refresh bookkeeping; thread-safe.

    The map is replaced as a whole by one attribute store (a reader takes
    ``state.map`` once per decision); a MOVED reply stores a copy with that slot
    changed at once and makes the next full refresh due, which runs at most once per
    ``min_refresh_interval`` on whichever call finds it due. The refresh itself (its
    I/O) is the client's: see ClusterBase._refresh_steps.
    """

    def __init__(
        self,
        config: RedisConfig,
        seeds: Sequence[Tuple[str, int]],
        min_refresh_interval: float,
        node_class: Any,
        options: ClusterOptions | None = None,
    ) -> None:
        # redis-py's RedisCluster keywords (cluster/options.py)
        self.options = ClusterOptions() if options is None else options
        self.node_config = config.replace(key_prefix=None, key_prefix_allow=())
        self.node_class = node_class  # RedisClient or AsyncRedisClient
        self.seeds = [node_name(h, p) for h, p in seeds]
        self.min_refresh_interval = min_refresh_interval
        self.map: SlotMap | None = None
        self.clients: Dict[str, Any] = {}
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.refresh_due = False
        self.refreshing = False
        self.partial = 0  # slots covered by the last map require_full_coverage refused
        self.closed = False
        # The default node (see default_node), stored as one tuple: (name or None,
        # set by set_default_node, the last default that failed).
        self.default: Tuple[str | None, bool, str | None] = (None, False, None)
        self._last_refresh = -1e9
        self._lock = threading.Lock()  # guards clients, counters and the refresh flags

    # -- nodes ---------------------------------------------------------------------

    def client(self, name: str) -> Any:
        """The standalone client of a node, created on first use (no I/O)."""
        client = self.clients.get(name)
        if client is not None:
            return client
        with self._lock:
            client = self.clients.get(name)
            if client is None:
                if self.closed:
                    raise ClusterError("the cluster client is closed")
                host, port = split_name(name)
                config = self.node_config.replace(host=host, port=port)
                client = self.node_class(config=config)
                self.clients[name] = client
            return client

    def set_retry(self, policy: Dict[str, Any]) -> None:
        """Every node's client, and those created later, follow the retry options
        ``policy`` (the cluster client's set_retry)."""
        with self._lock:
            self.node_config = self.node_config.replace(**policy)
            clients = list(self.clients.values())
        for client in clients:
            client._apply_retry(policy)

    def default_node(self, smap: SlotMap) -> str:
        """Where keyless commands go (redis-py's default node): one primary, kept
        while ``smap`` names it a primary (or, set by ``set_default_node``, any node
        of it), then another chosen at random, the one that last failed only if no
        other serves slots. ``smap`` has at least one primary."""
        name, pinned, failed = self.default
        if name is not None and (name in smap.primaries or (pinned and name in smap.nodes)):
            return name
        pool = [p for p in smap.primaries if p != failed] or list(smap.primaries)
        name = random.choice(pool)
        self.default = (name, False, failed)
        return name

    def set_default(self, name: str, pinned: bool = True) -> None:
        """``set_default_node`` (pinned: keep ``name`` while the map names it at all),
        or ``replace_default_node`` (kept as a chosen default is: while it is a
        primary and its connections work)."""
        self.default = (name, pinned, None)

    def default_failed(self, name: str) -> None:
        """A connection error on ``name``: if it is the default, choose again."""
        if self.default[0] == name:
            self.default = (None, False, name)

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counters[name] += n

    def stats(self) -> Dict[str, int]:
        with self._lock:
            return dict(self.counters)

    def take_clients(self) -> List[Any]:
        """Mark closed and hand over every node client (for the caller to close)."""
        with self._lock:
            self.closed = True
            return list(self.clients.values())

    # -- the slot map --------------------------------------------------------------

    def moved(self, slot: int, name: str) -> None:
        """A MOVED reply: ``name`` serves ``slot`` now; a full refresh is due."""
        smap = self.map
        if smap is not None and smap.slots[slot] != name:
            self.map = smap.with_slot(slot, name)
        self.refresh_due = True
        self.count("moved")

    def begin_refresh(self, force: bool) -> bool:
        """Whether this caller may refresh now: none running, and (unless ``force``)
        none within ``min_refresh_interval``. True claims it: end_refresh must follow."""
        now = time.monotonic()
        with self._lock:
            if self.refreshing or self.closed:
                return False
            if not force and now - self._last_refresh < self.min_refresh_interval:
                return False
            self.refreshing = True
            self.refresh_due = False
            self._last_refresh = now
            return True

    def end_refresh(self, smap: SlotMap | None) -> None:
        """Swap in the map a refresh read (None: it failed, and another is due)."""
        with self._lock:
            self.refreshing = False
            if smap is None:
                self.counters["refresh_failures"] += 1
                self.refresh_due = True
            else:
                self.map = smap
                self.counters["refreshes"] += 1

    def candidates(self) -> List[str]:
        """Whom to ask for the slot map: known primaries (shuffled), their replicas,
        the seeds, then any other node used so far; the seeds first without
        ``dynamic_startup_nodes``."""
        smap = self.map
        known = list(smap.primaries) if smap is not None else []
        random.shuffle(known)
        rest = list(smap.nodes[len(smap.primaries) :]) if smap is not None else []
        if self.options.dynamic_startup_nodes:
            names = known + rest + list(self.seeds) + list(self.clients)
        else:
            names = list(self.seeds) + known + rest + list(self.clients)
        return list(dict.fromkeys(names))

    # -- addresses the cluster announces -------------------------------------------------

    def address(self, name: str) -> str:
        """The node ``name`` (as the cluster announces it) as the client connects to
        it: ``address_remap`` applied, if given."""
        remap = self.options.address_remap
        if remap is None:
            return name
        got = remap(split_name(name))
        if (
            not isinstance(got, (tuple, list))
            or len(got) != 2
            or not isinstance(got[0], str)
            or isinstance(got[1], bool)
            or not isinstance(got[1], int)
        ):
            raise ClusterError(f"address_remap gave {got!r} for {name}: it must give (host, port)")
        return node_name(got[0], got[1])

    def remapped(self, smap: SlotMap) -> SlotMap:
        """``smap`` with every node's address through :meth:`address`."""
        if self.options.address_remap is None:
            return smap
        names: Dict[str, str] = {}

        def to(name: str) -> str:
            if name not in names:
                names[name] = self.address(name)
            return names[name]

        replicas = {to(p): tuple(to(r) for r in reps) for p, reps in smap.replicas.items()}
        return SlotMap([None if s is None else to(s) for s in smap.slots], replicas)

    def redirect_target(self, target: str, asked: str | None) -> str:
        """The node a MOVED or ASK names, as the client connects to it: ``:port`` (the
        node asked, on another port) takes the asked node's host; then
        :meth:`address`."""
        if target.startswith(":") and asked is not None:
            target = split_name(asked)[0] + target
        return self.address(target)
