"""What a cluster client and its views share: the node clients (one standalone
RedisClient, so one pool and one breaker, per node), the slot map, the refresh that
replaces it, and the cluster's own counters.

Nothing node-specific leaks into the standalone client: a node is an ordinary
RedisClient built from the cluster's config with the node's address.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any, Dict, List, Sequence, Tuple

from ..client import RedisClient
from ..config import RedisConfig
from ..exceptions import ResponseError
from .errors import ClusterError
from .topology import SlotMap, node_name, parse_shards, parse_slots, split_name

__all__ = ["ClusterState"]

logger = logging.getLogger("pyredisclient")

#: The cluster's own counters, in metrics()["cluster"].
COUNTERS = ("moved", "ask", "refreshes", "refresh_failures", "retries", "tryagain", "splits")


class ClusterState:
    """Node clients, the current SlotMap and its refresh; thread-safe.

    The map is replaced as a whole by one attribute store (a reader takes
    ``state.map`` once per decision); a MOVED reply stores a copy with that slot
    changed at once and makes the next full refresh due, which runs at most once per
    ``min_refresh_interval`` on the calling thread of whichever call finds it due.
    """

    def __init__(
        self,
        config: RedisConfig,
        seeds: Sequence[Tuple[str, int]],
        min_refresh_interval: float,
    ) -> None:
        self.node_config = config.replace(key_prefix=None, key_prefix_allow=())
        self.seeds = [node_name(h, p) for h, p in seeds]
        self.seed_host = seeds[0][0]
        self.min_refresh_interval = min_refresh_interval
        self.map: SlotMap | None = None
        self.clients: Dict[str, RedisClient] = {}
        self.counters = dict.fromkeys(COUNTERS, 0)
        self.refresh_due = False
        self.closed = False
        self._last_refresh = -1e9
        self._lock = threading.Lock()  # guards clients and counters
        self._refreshing = threading.Lock()  # one refresh at a time

    # -- nodes ---------------------------------------------------------------------

    def client(self, name: str) -> RedisClient:
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
                client = RedisClient(config=self.node_config.replace(host=host, port=port))
                self.clients[name] = client
            return client

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counters[name] += n

    def close(self) -> None:
        with self._lock:
            self.closed = True
            clients = list(self.clients.values())
        for client in clients:
            client.close()

    # -- the slot map --------------------------------------------------------------

    def current(self) -> SlotMap:
        """The slot map, discovered from the seeds on first use."""
        smap = self.map
        if smap is None or self.refresh_due:
            self.refresh(force=smap is None)
            smap = self.map
            if smap is None:
                raise ClusterError(
                    f"no cluster node answered CLUSTER SHARDS or CLUSTER SLOTS "
                    f"(tried {', '.join(self.seeds)})"
                )
        return smap

    def moved(self, slot: int, name: str) -> None:
        """A MOVED reply: ``name`` serves ``slot`` now; a full refresh is due."""
        smap = self.map
        if smap is not None and smap.slots[slot] != name:
            self.map = smap.with_slot(slot, name)
        self.refresh_due = True
        self.count("moved")

    def refresh(self, force: bool = False) -> bool:
        """Read the slot map from a reachable node and swap it in. Rate-limited to
        one per ``min_refresh_interval`` unless ``force``; skipped when another
        thread is refreshing (its map serves this one's retry). True if swapped."""
        if not force and time.monotonic() - self._last_refresh < self.min_refresh_interval:
            return False
        if not self._refreshing.acquire(blocking=False):
            return False
        try:
            self.refresh_due = False
            self._last_refresh = time.monotonic()
            smap = self._read_map()
            if smap is None:
                self.count("refresh_failures")
                self.refresh_due = True
                return False
            self.map = smap
            self.count("refreshes")
            return True
        finally:
            self._refreshing.release()

    def _candidates(self) -> List[str]:
        smap = self.map
        known = list(smap.primaries) if smap is not None else []
        random.shuffle(known)
        rest = list(smap.nodes[len(smap.primaries) :]) if smap is not None else []
        names = known + rest + list(self.seeds) + list(self.clients)
        return list(dict.fromkeys(names))

    def _read_map(self) -> SlotMap | None:
        tls = bool(self.node_config.ssl)
        for name in self._candidates():
            try:
                core = self.client(name)._core
                try:
                    reply = core.execute(("CLUSTER", "SHARDS"))
                    smap = parse_shards(reply, split_name(name)[0], tls)
                except ResponseError as exc:
                    if "unknown" not in str(exc).lower():
                        raise
                    smap = parse_slots(core.execute(("CLUSTER", "SLOTS")), split_name(name)[0])
            except ClusterError:
                raise
            except Exception as exc:  # this node cannot say: ask the next one
                logger.debug("cluster: %s could not give the slot map: %s", name, exc)
                continue
            if smap.covered:
                return smap
        return None

    def node_for(self, slot: int, smap: SlotMap | None = None) -> str | None:
        """The primary serving ``slot``, or None."""
        return (smap or self.current()).slots[slot]

    def random_primary(self) -> str:
        smap = self.current()
        if not smap.primaries:
            raise ClusterError("the cluster has no primary serving slots")
        return random.choice(smap.primaries)

    def stats(self) -> Dict[str, Any]:
        with self._lock:
            return dict(self.counters)
