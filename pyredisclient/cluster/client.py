"""RedisClusterClient: the command methods of RedisClient, routed by key slot to
one standalone RedisClient per node; blocking calls (see :mod:`.base` for the
routing, redirections and retries, written once for both clients)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Iterator, List, Sequence, Tuple

from .._steps import run_sync
from ..client import RedisClient
from ..client.locking import LockMethods
from ..client.spellings import ItemMethods
from ..commands.types import Callback
from ..exceptions import DataError
from .base import ClusterBase
from .commands import Targeted
from .drive import drive_all
from .errors import ClusterDownError
from .pipeline import ClusterPipeline, transaction_steps
from .pubsub import ClusterPubSub
from .topology import SlotMap, key_slot

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["RedisClusterClient"]


class RedisClusterClient(ClusterBase, LockMethods, ItemMethods):
    """A Redis Cluster client with the command methods of RedisClient.

    Build it from one or more seed nodes: ``RedisClusterClient("10.0.0.1", 7000)``,
    ``RedisClusterClient(startup_nodes=["h1:7000", "h2:7000"])``, :meth:`from_url`
    (``redis://h1:7000,h2:7000``) or :meth:`from_env`. Every other option is
    RedisConfig's and applies to each node's connections. No I/O happens before the
    first command, which reads the slot map from any reachable seed.

    ``read_from_replicas=True`` sends read-only commands to a random replica of the
    slot (with READONLY), falling back to the primary (redis-py's
    ``load_balancing_strategy``, any of them, does the same); ``retry_timeout`` bounds the
    retries of one call across redirections, failovers and CLUSTERDOWN (default:
    socket_timeout, or 5 s); ``min_refresh_interval`` rate-limits full slot-map
    refreshes (default 0.25 s). Safe to share across threads.
    """

    _node_class = RedisClient

    def _run(self, args: Tuple[Any, ...], callback: Callback | None = None) -> Any:
        prefixer = self._prefixer
        if prefixer is not None:
            targets = args.targets if type(args) is Targeted else None
            args, callback = prefixer.prepare(args, callback)
            if targets is not None:  # cluster/commands.py: where it goes stays
                args = Targeted(targets, args)
        return run_sync(self._route_steps(args, callback))

    # -- the step hooks: blocking --------------------------------------------------------

    def _exec(self, node: str, args: Sequence[Any]) -> Any:
        return self._state.client(node)._core.execute(args)

    def _exec_batch(self, node: str, batch: Any) -> Any:
        return self._state.client(node)._core.execute_batch(batch)

    def _gather(self, calls: Sequence[Tuple[str, Any]]) -> List[Any]:
        if len(calls) == 1:  # one node: one blocking call, the GIL released
            node, what = calls[0]
            try:
                if isinstance(what, tuple):
                    return [self._exec(node, what)]
                return [self._exec_batch(node, what)]
            except Exception as exc:
                return [exc]
        started = []
        for node, what in calls:
            core = self._state.client(node)._core
            started.append(core.start(what) if isinstance(what, tuple) else core.start_batch(what))
        return drive_all(started)

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    # -- iteration, pipelines, health, lifecycle --------------------------------------

    def scan(
        self,
        cursor: int = 0,
        match: Any = None,
        count: int | None = None,
        _type: str | None = None,
        target_nodes: Any = None,
        **kwargs: Any,
    ) -> Tuple[Any, List[Any]]:
        """One SCAN step across the cluster: (next cursor, keys), as on RedisClient.
        Start with 0 and pass each returned cursor back until it is 0 again; every
        primary is scanned in turn. The cursor encodes the node and its own cursor
        (``node_cursor * 16384 + lowest slot of the node``), so it stays one int.
        With ``target_nodes`` (redis-py's form), one step on each node named, from
        ``cursor``: ``({"host:port": next cursor}, keys)``."""
        args = self._scan_args(match, count, _type)
        if target_nodes is not None:
            return run_sync(self._targeted_scan_steps(target_nodes, cursor, args))
        return run_sync(self._scan_cursor_steps(cursor, args))

    def scan_iter(
        self,
        match: Any = None,
        count: int | None = None,
        _type: str | None = None,
        target_nodes: Any = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        """Yield every key matching ``match`` (and ``_type``) on every primary, or on
        the nodes ``target_nodes`` names, one node after another (each node's keys in
        SCAN's order)."""
        args = self._scan_args(match, count, _type)
        for node in run_sync(self._scan_nodes_steps(target_nodes)):
            cursor = 0
            for _ in range(10**9):  # bounded; SCAN ends with cursor 0
                cursor, keys = run_sync(self._scan_steps(node, cursor, args))
                yield from keys
                if cursor == 0:
                    break

    def pipeline(self, transaction: bool = False, shard_hint: Any = None) -> ClusterPipeline:
        """Queue commands; ``execute()`` sends them grouped per node (the nodes
        concurrently) and returns the replies in call order. ``transaction=True``
        runs them in MULTI/EXEC, which needs every key in one slot. Unlike
        RedisClient.pipeline, the default is no transaction (as redis-py's cluster)."""
        return ClusterPipeline(self, transaction)

    def transaction(
        self,
        func: Callable[[ClusterPipeline], Any],
        *watches: Any,
        shard_hint: Any = None,
        value_from_callable: bool = False,
        watch_delay: float | None = None,
    ) -> Any:
        """Run ``func(pipe)`` in a WATCH/MULTI/EXEC transaction, again on WatchError.

        As RedisClient.transaction (and redis-py's cluster): the watched keys, and
        every key ``func`` touches, must share one slot (ClusterCrossSlotError). A
        slot that moves or a node that fails while watching makes the whole function
        run again after a back-off and a slot-map refresh, within ``retry_timeout``.
        """
        with self.pipeline(True) as pipe:
            steps = transaction_steps(pipe, func, watches, value_from_callable, watch_delay)
            return run_sync(steps)

    def pubsub(
        self,
        node: Any = None,
        host: str | None = None,
        port: int | None = None,
        *,
        ignore_subscribe_messages: bool = False,
        **options: Any,
    ) -> ClusterPubSub:
        """A subscription across the cluster (redis-py's PubSub API): ``subscribe``
        and ``psubscribe`` on one node (the primary serving the first name's slot,
        or ``node``: a ClusterNode, ``"host:port"``, or ``host`` and ``port``, as
        redis-py's cluster takes it),
        ``ssubscribe`` on the nodes serving the shard channels' slots, following slot
        moves; see :mod:`pyredisclient.cluster.pubsub`."""
        if (host is None) != (port is None):
            raise DataError("pubsub() takes host and port together")
        if node is None and host is not None:
            node = (host, port)
        return ClusterPubSub(self, ignore_subscribe_messages, node, **options)

    def _known_map(self) -> SlotMap:
        return run_sync(self._map_steps())

    def get_node_client(self, key: Any) -> RedisClient:
        """The standalone client of the primary serving ``key``'s slot."""
        node = run_sync(self._map_steps()).slots[key_slot(key)]
        if node is None:
            raise ClusterDownError(f"CLUSTERDOWN the slot of {key!r} is not served")
        client: RedisClient = self._state.client(node)
        return client

    def health_check(self) -> dict[str, Any]:
        """Never raises: PING every node of a fresh slot map and check that all 16,384
        slots are served. ``status`` is "healthy" (every node answers, every slot
        covered), "degraded" (some node down or slots uncovered) or "unhealthy" (no
        node answers, or no slot map), with ``nodes`` (role, ok, error) and
        ``slots_covered``."""
        try:
            report: dict[str, Any] = run_sync(self._health_steps())
        except Exception as exc:  # a bug here must not take a health route down
            return {"status": "unhealthy", "error": str(exc), "type": type(exc).__name__}
        return report

    def _disconnect(self, in_use: bool) -> None:
        for client in list(self._state.clients.values()):
            client._disconnect(in_use)

    def close(self) -> None:
        """Close every node's pool; later calls raise. Safe to call more than once."""
        for client in self._state.take_clients():
            client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
