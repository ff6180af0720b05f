"""ClusterBase: what RedisClusterClient and AsyncRedisClusterClient share, written
once as steps (see :mod:`pyredisclient._steps`).

Routing, redirections, retries, splitting and the slot-map refresh are generators
that yield each node call they make: ``self._exec(node, args)``,
``self._exec_batch(node, batch)``, ``self._gather(calls)``, ``self._sleep(s)``. On
the blocking client those run at once and the driver sends the value back; on the
asyncio client they are awaitables the driver awaits. One call of
``cluster.get("k")``:

1. ``_core.command_slot(args)`` (C: the command table's key positions, CRC16);
2. the primary of that slot from the current slot map (``state.map``);
3. that node's own standalone client runs the command (its pool, breaker, safe
   retries and deadline);
4. ``MOVED``: the slot map gets the new owner at once, a full refresh is due, and
   the command goes to the new owner; ``ASK``: ``ASKING`` and the command go to the
   named node in one write; ``TRYAGAIN``, ``CLUSTERDOWN``, ``READONLY`` (a demoted
   primary) and connection errors: back off, refresh, try again while
   ``retry_timeout`` allows. A command that may have run (a write whose connection
   broke after it was sent) is never sent again: its error is raised.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Sequence, Tuple

from .._core import Batch, command_slot, key_slot
from .._steps import Steps
from ..client.base import ClientBase, _config_prefixer, build_config
from ..client.green import warn_if_green_threads
from ..commands import CoreCommands
from ..commands.types import Callback
from ..config import ConfigurationError, RedisConfig
from ..config.retry import Retry, backoff_pause
from ..config.url import parse_addresses
from ..exceptions import ConnectionError, DataError, NoPermissionError, ResponseError
from ..observability.metrics import collect, render_prometheus
from ..resilience.retry import may_have_run as sent_maybe
from .commands import (
    ClusterCommands,
    ClusterNodes,
    Targeted,
    accept_target_nodes,
    node_name_of,
    target_nodes,
)
from .errors import (
    ClusterCrossSlotError,
    ClusterDownError,
    ClusterError,
    RedisClusterUnreachableError,
    SlotNotCoveredError,
)
from .manager import NodesManager
from .options import OWN_OPTIONS, split_seed_url, take_cluster_options, url_config
from .routing import (
    EVERY_NODE,
    ONE_NODE,
    REFUSED,
    SPLIT,
    TARGETED_MERGE,
    command_info,
    merge,
    redirect,
    refused,
    upper,
)
from .state import ClusterState
from .topology import SLOTS, SlotMap, parse_shards, parse_slots, split_name

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["ClusterBase"]

_MAX_REDIRECTS = 16
#: CLUSTER subcommands about one slot: answered by the primary serving it.
_SLOT_SUBCOMMANDS = frozenset(
    {"CLUSTER COUNTKEYSINSLOT", "CLUSTER GETKEYSINSLOT", "CLUSTER DELSLOTS"}
)


@accept_target_nodes
class ClusterBase(ClientBase, ClusterNodes, ClusterCommands, CoreCommands):
    """Construction, routing steps and state shared by both cluster clients.

    A subclass supplies ``_node_class`` (RedisClient or AsyncRedisClient) and the
    four step hooks; :meth:`_route_steps` is what its ``_run`` drives.
    """

    _state: ClusterState
    _node_class: Any

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        startup_nodes: Iterable[Any] | None = None,
        config: RedisConfig | None = None,
        read_from_replicas: bool = False,
        retry_timeout: float | None = None,
        min_refresh_interval: float = 0.25,
        load_balancing_strategy: Any = None,
        **options: Any,
    ) -> None:
        extra = take_cluster_options(options)  # redis-py's RedisCluster keywords
        url = options.pop("url", None)
        if url is not None:  # redis-py's RedisCluster(url=...): as from_url
            if config is not None or host is not None:
                raise ConfigurationError("give url= or host=/config=, not both", "url")
            config, more = url_config(url, options)
            options = {}
            startup_nodes = [*(startup_nodes or ()), *more] if more else startup_nodes
        config = build_config(host, port, None, config, options, type(self).__name__)
        if config.db != 0:
            raise ConfigurationError("a Redis Cluster has only database 0", "db")
        if config.unix_socket_path is not None:
            raise ConfigurationError("cluster nodes are reached over TCP", "unix_socket_path")
        seeds = parse_addresses(startup_nodes, "startup_nodes") if startup_nodes is not None else []
        if host is not None or not seeds:
            seeds.insert(0, (config.effective_host, config.port))
        self._config = config
        if not self._node_class._driver_answers:  # a blocking client's nodes
            warn_if_green_threads()
        self._state = ClusterState(config, seeds, min_refresh_interval, self._node_class, extra)
        if retry_timeout is None:
            retry_timeout = config.socket_timeout if config.socket_timeout is not None else 5.0
        self._retry_timeout = retry_timeout
        # redis-py's load_balancing_strategy (round robin or random, replicas with or
        # without the primary): here any strategy reads from a random replica.
        self._read_from_replicas = read_from_replicas or load_balancing_strategy is not None
        self._tracing = None
        self._set_prefixer(_config_prefixer(config))

    def get_retry(self) -> Retry:
        """redis-py's: the retry policy of every node's pool, and of the cluster's
        own back-off between tries, as a :class:`~pyredisclient.Retry`."""
        c = self._config
        return Retry(c.retry_attempts, c.retry_base, c.retry_cap)

    def _apply_retry(self, policy: Dict[str, Any]) -> None:
        """set_retry: every node's pool follows ``policy``, and so does the cluster's
        own back-off between tries (which ``retry_timeout`` bounds, not a count)."""
        config = self._config.replace(**policy)  # checked before anything changes
        self._state.set_retry(policy)
        self._config = config

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> Self:
        """Build a cluster client from ``redis://[user:pass@]h1:p1[,h2:p2...][?opt=v]``
        (or ``rediss://``): every listed node is a seed; the options as
        RedisConfig.from_url reads them, the cluster's own (``read_from_replicas``,
        ``retry_timeout``, ``min_refresh_interval``) as keywords."""
        own = {k: overrides.pop(k) for k in OWN_OPTIONS if k in overrides}
        config, seeds = url_config(url, overrides)
        return cls(config=config, startup_nodes=seeds or None, **own)

    @classmethod
    def from_env(cls, prefix: str = "REDIS_", **overrides: Any) -> Self:
        """Build a cluster client from the environment as RedisConfig.from_env reads it;
        ``{prefix}URL`` may list several seeds (``redis://h1:7000,h2:7000``)."""
        import os

        own = {k: overrides.pop(k) for k in OWN_OPTIONS if k in overrides}
        environ = dict(os.environ)
        url = environ.get(prefix + "URL")
        seeds: List[str] = []
        if url:
            environ[prefix + "URL"], seeds = split_seed_url(url)
        config = RedisConfig.from_env(prefix, environ=environ, **overrides)
        return cls(config=config, startup_nodes=seeds or None, **own)

    # -- the hooks a subclass supplies -------------------------------------------------

    def _exec(self, node: str, args: Sequence[Any]) -> Any:
        """Run one command on a node: its reply (or an awaitable of it)."""
        raise NotImplementedError

    def _exec_batch(self, node: str, batch: Any) -> Any:
        """Run a batch on a node: its list of replies, errors in place (or awaitable)."""
        raise NotImplementedError

    def _gather(self, calls: Sequence[Tuple[str, Any]]) -> Any:
        """Run (node, args tuple or Batch) calls concurrently: a list of their
        results, exceptions in place (or an awaitable of it)."""
        raise NotImplementedError

    def _sleep(self, seconds: float) -> Any:
        raise NotImplementedError

    def _at_nodes(self, targets: Any) -> Self:
        """A copy of this client whose commands go to ``targets`` (as ``target_nodes``
        takes them): what a command method's ``target_nodes=`` runs on."""
        view = object.__new__(type(self))
        view.__dict__.update(self.__dict__)
        run = self._run
        view._run = lambda args, callback=None: run(Targeted(targets, args), callback)  # type: ignore[method-assign]
        return view

    # -- the slot map ------------------------------------------------------------------

    def _map_steps(self) -> Steps[SlotMap]:
        """The current slot map, read (or refreshed, when due) first if need be."""
        state = self._state
        smap = state.map
        if smap is not None and not state.refresh_due:
            return smap
        yield from self._refresh_steps(force=smap is None)
        deadline = time.monotonic() + self._retry_timeout
        for _ in range(10_000):  # bounded; the deadline ends it first
            smap = state.map
            if smap is not None or time.monotonic() >= deadline:
                break
            if not state.refreshing:  # the other refresh failed: try once more
                yield from self._refresh_steps(force=True)
                if state.map is None:
                    break
            else:
                yield self._sleep(0.005)
        if smap is None:
            if state.partial:
                raise ClusterError(
                    f"All slots are not covered: {state.partial} of {SLOTS} "
                    "(require_full_coverage=True)"
                )
            raise RedisClusterUnreachableError(
                "no cluster node answered CLUSTER SHARDS or CLUSTER SLOTS "
                f"(tried {', '.join(state.seeds)})"
            )
        return smap

    def _refresh_steps(self, force: bool = False) -> Steps[bool]:
        """Read the slot map from a reachable node and swap it in (rate-limited,
        one refresh at a time: see ClusterState.begin_refresh). True if swapped."""
        state = self._state
        if not state.begin_refresh(force):
            return False
        smap = None
        state.partial = 0
        try:
            tls = bool(self._config.ssl)
            for name in state.candidates():
                host = split_name(name)[0]
                try:
                    try:
                        reply = yield self._exec(name, ("CLUSTER", "SHARDS"))
                        found = parse_shards(reply, host, tls)
                    except ResponseError as exc:
                        if "unknown" not in str(exc).lower():
                            raise
                        found = parse_slots((yield self._exec(name, ("CLUSTER", "SLOTS"))), host)
                except ClusterError:
                    raise
                except Exception:  # this node cannot say: ask the next one
                    continue
                found = state.remapped(found)
                if found.covered == SLOTS or (
                    found.covered and not state.options.require_full_coverage
                ):
                    smap = found
                    break
                state.partial = found.covered  # require_full_coverage: not taken
        finally:
            state.end_refresh(smap)
        return smap is not None

    # -- routing -----------------------------------------------------------------------

    def _route_steps(self, args: Sequence[Any], callback: Callback | None) -> Steps[Any]:
        if type(args) is Targeted:  # cluster/commands.py: target_nodes
            return (yield from self._targets_steps(args.targets, tuple(args), callback))
        slot = command_slot(args)
        if slot >= 0:
            reply = yield from self._slot_steps(slot, args)
        elif slot == -2:
            reply = yield from self._split_steps(args)
        else:
            reply = yield from self._keyless_steps(args)
        return reply if callback is None else callback(reply)

    def _slot_steps(self, slot: int, args: Sequence[Any]) -> Steps[Any]:
        """Run one command on the node serving ``slot``, following redirections and
        retrying what is safe until ``retry_timeout``."""
        state = self._state
        deadline = time.monotonic() + self._retry_timeout
        node: str | None = None
        asking = False
        attempt = redirects = 0
        smap = yield from self._map_steps()
        if self._read_from_replicas and command_info(args).readonly:
            reply = yield from self._replica_steps(smap, slot, args)
            if reply is not _NO_REPLY:
                return reply
        while True:
            if node is None:
                node = smap.slots[slot]
            try:
                if node is None:
                    raise SlotNotCoveredError(f"CLUSTERDOWN slot {slot} is not served by any node")
                if asking:
                    batch = self._new_batch()
                    batch.asking()
                    batch.append(args)
                    reply = (yield self._exec_batch(node, batch))[1]
                    if isinstance(reply, BaseException):
                        raise reply
                    return reply
                return (yield self._exec(node, args))
            except ResponseError as exc:
                where = redirect(exc)
                if where is not None:
                    redirects += 1
                    if redirects > _MAX_REDIRECTS:
                        raise ClusterError(f"too many redirections ({exc})") from exc
                    kind, moved_slot, target = where
                    target = state.redirect_target(target, node)
                    if kind == "MOVED":
                        state.moved(moved_slot, target)
                        asking = False
                    else:
                        state.count("ask")
                        asking = True
                    node = target
                    continue
                if not refused(exc):
                    raise
                state.count("tryagain")
                error: BaseException = exc
            except ConnectionError as exc:  # CircuitOpenError and PoolTimeoutError too
                if sent_maybe(exc) and not command_info(args).replay_safe:
                    raise
                error = exc
            attempt += 1
            yield from self._backoff_steps(attempt, deadline, error)
            smap = yield from self._map_steps()
            node, asking = None, False

    def _backoff_steps(self, attempt: int, deadline: float, error: BaseException) -> Steps[None]:
        """Between tries of a call that failed with ``error`` (``attempt``: how many
        failed): raise ``error`` if the back-off would pass ``deadline``, else sleep
        it and refresh the slot map."""
        delay = self._backoff(attempt)
        cap = self._state.options.max_retries  # cluster_error_retry_attempts
        if time.monotonic() + delay >= deadline or (cap is not None and attempt > cap):
            raise error
        self._state.count("retries")
        yield self._sleep(delay)
        yield from self._refresh_steps(force=True)

    def _backoff(self, attempt: int) -> float:
        """The pause before retry ``attempt`` (1, 2, ...): the configured exponential
        back-off with jitter, capped at half the refresh interval. Each retry reads
        the slot map again, so a caller notices a promoted replica within that cap
        plus one round trip: the client adds less than one refresh interval to the
        cluster's own failover time (benchmarks/cluster_failover_time.py)."""
        config = self._config
        cap = min(config.retry_cap, self._state.min_refresh_interval / 2)
        return backoff_pause(config.retry_base, cap, attempt)

    def _replica_steps(self, smap: SlotMap, slot: int, args: Sequence[Any]) -> Steps[Any]:
        """A read from a random replica of the slot's primary (READONLY and the
        command in one write), or _NO_REPLY to fall back to the primary."""
        primary = smap.slots[slot]
        replicas = smap.replicas.get(primary, ()) if primary is not None else ()
        if not replicas:
            return _NO_REPLY
        batch = self._new_batch()
        batch.readonly_replica()
        batch.append(args)
        try:
            replies = yield self._exec_batch(random.choice(replicas), batch)
        except Exception:  # unreachable replica: the primary serves it
            return _NO_REPLY
        reply = replies[1]
        if isinstance(reply, BaseException):
            if redirect(reply) is not None or isinstance(reply, ConnectionError):
                return _NO_REPLY  # a replica that lost the slot, or went away
            raise reply
        self._state.count("replica_reads")
        return reply

    def _new_batch(self) -> Any:
        return Batch(encoding=self._config.encoding, encoding_errors=self._config.encoding_errors)

    # -- commands whose keys span slots ------------------------------------------------

    def _split_steps(self, args: Sequence[Any]) -> Steps[Any]:
        name = command_info(args).name
        how = SPLIT.get(name)
        if how is None:
            raise ClusterCrossSlotError(
                f"CROSSSLOT {name}: the keys hash to different slots; give them a common "
                "hash tag ({tag}) or use a command the cluster client splits "
                "(MGET, MSET, DEL, UNLINK, EXISTS, TOUCH)"
            )
        self._state.count("splits")
        step = 2 if how == "pairs" else 1
        groups: Dict[int, List[int]] = {}  # slot -> argument indexes of its keys
        for i in range(1, len(args), step):
            groups.setdefault(key_slot(args[i]), []).append(i)
        parts = [
            (slot, (args[0], *(a for i in idx for a in args[i : i + step])))
            for slot, idx in groups.items()
        ]
        replies = yield from self._many_steps(parts)
        if how == "sum":
            return sum(replies)
        if how == "pairs":
            return replies[0]
        values: List[Any] = [None] * (len(args) - 1)
        for idx, reply in zip(groups.values(), replies):
            for i, value in zip(idx, reply):
                values[i - 1] = value
        return values

    def _many_steps(
        self, parts: Sequence[Tuple[int, Sequence[Any]]], raise_errors: bool = True
    ) -> Steps[List[Any]]:
        """Run commands of known slots, one batch per node, the nodes concurrently;
        a command redirected or refused is then run alone with the full retry rules.
        Returns the replies in order; raises the first error, or with
        ``raise_errors=False`` leaves the errors in place."""
        smap = yield from self._map_steps()
        by_node: Dict[str | None, List[int]] = {}
        for n, (slot, _) in enumerate(parts):
            by_node.setdefault(smap.slots[slot], []).append(n)
        replies: List[Any] = [None] * len(parts)
        again: List[int] = by_node.pop(None, [])
        calls: List[Tuple[str, Any]] = []
        for node, indexes in by_node.items():
            batch = self._new_batch()
            for n in indexes:
                batch.append(parts[n][1])
            calls.append((node, batch))  # type: ignore[arg-type]  # None popped above
        results = yield self._gather(calls)
        for indexes, result in zip(by_node.values(), results):
            if not isinstance(result, list):
                result = [result] * len(indexes)
            for n, reply in zip(indexes, result):
                if redirect(reply) is not None or refused(reply):
                    again.append(n)
                elif isinstance(reply, ConnectionError) and (
                    not sent_maybe(reply) or command_info(parts[n][1]).replay_safe
                ):
                    again.append(n)
                else:
                    replies[n] = reply
        for n in sorted(again):
            try:
                replies[n] = yield from self._slot_steps(parts[n][0], parts[n][1])
            except Exception as exc:
                replies[n] = exc
        if raise_errors:
            for reply in replies:
                if isinstance(reply, BaseException):
                    raise reply
        return replies

    # -- commands without keys ---------------------------------------------------------

    def _targets_steps(
        self, targets: Any, args: Tuple[Any, ...], callback: Callback | None
    ) -> Steps[Any]:
        """Run ``args`` on the nodes ``targets`` names (cluster/commands.py): one
        node's reply; for several, one merged as redis-py merges it (TARGETED_MERGE),
        else ``{"host:port": reply}``."""
        smap = yield from self._map_steps()
        nodes = target_nodes(targets, smap, self._state.default_node)
        if len(nodes) == 1:
            reply = yield self._exec(nodes[0], args)
            return reply if callback is None else callback(reply)
        replies = yield self._gather([(node, args) for node in nodes])
        for reply in replies:
            if isinstance(reply, BaseException):
                raise reply
        if callback is not None:
            replies = [callback(reply) for reply in replies]
        how = TARGETED_MERGE.get(command_info(args).name)
        return dict(zip(nodes, replies)) if how is None else how(replies)

    def _keyless_steps(self, args: Sequence[Any]) -> Steps[Any]:
        info = command_info(args)
        refusal = REFUSED.get(info.name)
        if refusal is not None:
            raise ClusterError(f"{info.name}: {refusal}")
        if len(args) > 2 and (
            info.name in _SLOT_SUBCOMMANDS
            or (info.name == "CLUSTER SETSLOT" and upper(args[-1]) == "STABLE")
        ):
            # CLUSTER COUNTKEYSINSLOT n: anywhere but the slot's primary says 0;
            # CLUSTER SETSLOT n STABLE goes there too, as redis-py sends it.
            return (yield from self._slot_steps(_slot_number(args[2]), args))
        smap = yield from self._map_steps()
        if not smap.primaries:
            raise ClusterError("the cluster has no primary serving slots")
        if info.name == "PUBLISH" and len(args) > 1:
            # Every node hears a PUBLISH; the one serving the channel's slot is where
            # redis-py sends it and where a subscription made without a node listens
            # (cluster/pubsub.py), so the count of receivers includes them, and
            # publishing spreads over the primaries. An unserved slot: the default.
            slot = key_slot(args[1])
            if smap.slots[slot] is not None:
                return (yield from self._slot_steps(slot, args))
        every = EVERY_NODE.get(info.name)
        if every is None and (
            info.request not in ("all_shards", "all_nodes") or info.name in ONE_NODE
        ):
            return (yield from self._default_node_steps(smap, args, info.replay_safe))
        nodes = smap.primaries if info.request == "all_shards" else smap.nodes
        replies = yield self._gather([(node, tuple(args)) for node in nodes])
        for reply in replies:
            if isinstance(reply, BaseException):
                raise reply
        if every is not None:
            return every(replies)
        return merge(info.response, replies, dict(zip(nodes, replies)))

    def _default_node_steps(
        self, smap: SlotMap, args: Sequence[Any], replay_safe: bool
    ) -> Steps[Any]:
        """Run a keyless command on the default node (ClusterState.default_node), as
        redis-py does, so that what one call sets on a node (CLIENT SETNAME, ACL
        SETUSER, CONFIG SET) the next one reads there. A connection error makes
        another primary the default; the command is tried again there (after a
        back-off and a refresh, within ``retry_timeout``) unless it may have run."""
        state = self._state
        deadline = time.monotonic() + self._retry_timeout
        for attempt in range(1, 1000):  # bounded; the deadline ends it first
            node = state.default_node(smap)
            try:
                return (yield self._exec(node, args))
            except ConnectionError as exc:  # CircuitOpenError and PoolTimeoutError too
                state.default_failed(node)
                if sent_maybe(exc) and not replay_safe:
                    raise
                yield from self._backoff_steps(attempt, deadline, exc)
            smap = yield from self._map_steps()
            if not smap.primaries:
                raise ClusterError("the cluster has no primary serving slots")
        raise ClusterError("the default node kept failing")  # pragma: no cover

    @staticmethod
    def _scan_args(match: Any, count: int | None, _type: str | None) -> Tuple[Any, ...]:
        """SCAN's options after the cursor."""
        args: Tuple[Any, ...] = ()
        if match is not None:
            args += ("MATCH", match)
        if count is not None:
            args += ("COUNT", count)
        if _type is not None:
            args += ("TYPE", _type)
        return args

    def _scan_steps(
        self, node: str, cursor: Any, args: Tuple[Any, ...]
    ) -> Steps[Tuple[int, List[Any]]]:
        """One SCAN step on one node (prefixed like any command)."""
        command: Tuple[Any, ...] = ("SCAN", cursor, *args)
        callback: Callback | None = None
        if self._prefixer is not None:
            command, callback = self._prefixer.prepare(command, None)
        reply = yield self._exec(node, command)
        if callback is not None:
            reply = callback(reply)
        return int(reply[0]), reply[1]

    def _targeted_scan_steps(
        self, targets: Any, cursor: Any, args: Tuple[Any, ...]
    ) -> Steps[Tuple[Dict[str, int], List[Any]]]:
        """redis-py's ``scan(target_nodes=...)``: one SCAN step from ``cursor`` on each
        node named: ``({"host:port": next cursor}, every node's keys)``."""
        smap = yield from self._map_steps()
        cursors: Dict[str, int] = {}
        keys: List[Any] = []
        for node in target_nodes(targets, smap, self._state.default_node):
            cursors[node], found = yield from self._scan_steps(node, cursor, args)
            keys.extend(found)
        return cursors, keys

    def _scan_nodes_steps(self, targets: Any) -> Steps[List[str]]:
        """The nodes ``scan_iter`` visits: ``target_nodes``, or every primary."""
        smap = yield from self._map_steps()
        if targets is None:
            return list(smap.primaries)
        return target_nodes(targets, smap, self._state.default_node)

    def _scan_cursor_steps(
        self, cursor: int, args: Tuple[Any, ...]
    ) -> Steps[Tuple[int, List[Any]]]:
        """One step of ``scan(cursor)`` across the cluster. The cursor is one integer,
        ``node_cursor * 16384 + slot``: ``slot`` is the lowest slot of the primary being
        scanned (it names the node, whichever order the map lists them in) and
        ``node_cursor`` that node's own SCAN cursor. Primaries are visited by their
        lowest slot; 0 starts at the first and is returned after the last."""
        if isinstance(cursor, bool) or not isinstance(cursor, int) or cursor < 0:
            raise DataError(f"a cluster SCAN cursor is a non-negative int, not {cursor!r}")
        smap = yield from self._map_steps()
        firsts = smap.first_slots()
        if not firsts:
            raise ClusterError("the cluster has no primary serving slots")
        node_cursor, slot = divmod(cursor, SLOTS)
        if cursor == 0:
            slot, node = firsts[0]
        else:
            found = smap.slots[slot]
            if found is None:
                raise ClusterDownError(f"CLUSTERDOWN slot {slot} of the scan is not served")
            node = found
        node_cursor, keys = yield from self._scan_steps(node, node_cursor, args)
        if node_cursor != 0:
            return node_cursor * SLOTS + slot, keys
        after = [first for first, _ in firsts if first > slot]
        return (min(after) if after else 0), keys

    def _health_steps(self) -> Steps[Dict[str, Any]]:
        started = time.perf_counter()
        state = self._state
        try:
            yield from self._refresh_steps(force=True)
            smap = yield from self._map_steps()
        except Exception as exc:
            return {
                "status": "unhealthy",
                "error": str(exc),
                "type": type(exc).__name__,
                "nodes": {},
                "slots_covered": 0,
            }
        names = list(smap.nodes)
        replies = yield self._gather([(name, ("PING",)) for name in names])
        nodes = {}
        refused = False
        for name, reply in zip(names, replies):
            # A PING the user's ACL refuses: the node answered all the same.
            answered = isinstance(reply, NoPermissionError)
            refused = refused or answered
            ok = answered or not isinstance(reply, BaseException)
            entry: Dict[str, Any] = {
                "role": "primary" if name in smap.primaries else "replica",
                "ok": ok,
            }
            if isinstance(reply, BaseException):
                entry["error"] = f"{type(reply).__name__}: {reply}"
            nodes[name] = entry
        up = sum(1 for e in nodes.values() if e["ok"])
        if up == 0:
            status = "unhealthy"
        elif up < len(nodes) or smap.covered < SLOTS or refused:
            status = "degraded"
        else:
            status = "healthy"
        del state
        return {
            "status": status,
            "nodes": nodes,
            "slots_covered": smap.covered,
            "primaries": len(smap.primaries),
            "latency_ms": round((time.perf_counter() - started) * 1000.0, 3),
        }

    # -- state -------------------------------------------------------------------------

    @property
    def nodes_manager(self) -> NodesManager:
        """redis-py's ``nodes_manager`` (``nodes_cache``, ``slots_cache``,
        ``get_node_from_slot``, ``initialize()``, ...): a view over this client's
        slot map, see :mod:`pyredisclient.cluster.manager`."""
        return NodesManager(self)

    def replace_default_node(self, target_node: Any = None) -> None:
        """redis-py's: make ``target_node`` the default node, or without one another
        primary than the current default (a replica when there is no other)."""
        if target_node is not None:
            self.nodes_manager.default_node = target_node
            return
        current = self.get_default_node()
        others = [n for n in self.get_primaries() if n != current] or self.get_replicas()
        if others:
            self._state.set_default(random.choice(others).name, pinned=False)

    def get_redis_connection(self, node: Any) -> Any:
        """The standalone client (RedisClient, or AsyncRedisClient) of ``node``, a
        node of the slot map (ClusterNode, ``"host:port"`` or ``(host, port)``)."""
        name = node_name_of(node)
        if name is None or name not in self._known_map().nodes:
            raise ClusterError(f"{name or node!r} is not a node of the cluster")
        return self._state.client(name)

    @property
    def slot_map(self) -> SlotMap | None:
        """The current slot map, or None before the first command read it."""
        return self._state.map

    def nodes(self) -> Dict[str, Any]:
        """The standalone client of every node used so far, by ``host:port``."""
        return dict(self._state.clients)

    def pool_stats(self) -> Dict[str, int]:
        """Pool counters summed over the nodes."""
        total: Dict[str, int] = {}
        for client in list(self._state.clients.values()):
            for k, v in client.pool_stats().items():
                total[k] = total.get(k, 0) + v
        return total

    def circuit_breaker_state(self) -> Dict[str, Any]:
        """The breaker of every node: ``{"host:port": state dict}``."""
        return {n: c.circuit_breaker_state() for n, c in list(self._state.clients.items())}

    def metrics(self) -> Dict[str, Any]:
        """Counters summed over the nodes (as RedisClient.metrics), plus ``nodes``
        (each node's own) and ``cluster`` (moved, ask, refreshes, retries, ...)."""
        per = {n: collect(c) for n, c in list(self._state.clients.items())}
        total = sum_metrics(list(per.values()))
        total["nodes"] = per
        total["cluster"] = self._state.stats()
        subs = self.__dict__.get("_pubsub_stats")  # cluster.pubsub()'s connections
        if subs is not None:
            total["pubsub"] = subs.snapshot()
        return total

    def metrics_text(self) -> str:
        """:meth:`metrics` (the sums over the nodes) as Prometheus text."""
        return render_prometheus(self.metrics())

    def debug_info(self) -> Dict[str, Any]:
        """Every setting (secrets as ``***``), pools, breakers and cluster counters."""
        info = self._config.debug_info()
        info["pool"] = self.pool_stats()
        info["circuit_breaker"] = self.circuit_breaker_state()
        info["cluster"] = self._state.stats()
        return info

    def __repr__(self) -> str:
        c = self.__dict__.get("_config")
        state = self.__dict__.get("_state")
        if c is None or state is None:
            return f"<{type(self).__name__} (not initialised)>"
        return f"<{type(self).__name__} seeds={','.join(state.seeds)}{' tls' if c.ssl else ''}>"


_NO_REPLY: Any = object()


def sum_metrics(all_metrics: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Counters added up over nodes; the latency histograms bucket by bucket."""
    total: Dict[str, Any] = {
        "calls": 0,
        "commands": 0,
        "response_errors": 0,
        "errors": {},
        "core_errors": {},
        "latency_histogram": [],
        "latency_seconds_sum": 0.0,
        "latency_count": 0,
        "retries": 0,
        "pool_waits": 0,
        "pool_timeouts": 0,
        "breaker_transitions": 0,
        "pool": {},
        "circuit_breaker": {},
        "fallbacks": {},
        "fallbacks_total": 0,
    }
    for m in all_metrics:
        for key, value in m.items():
            if key == "latency_histogram":
                prev = total[key]
                total[key] = (
                    [(b, c + pc) for (b, c), (_, pc) in zip(value, prev)] if prev else list(value)
                )
            elif key in ("fallbacks", "fallbacks_total", "circuit_breaker"):
                total[key] = value  # process-wide, or per node (circuit_breaker_state)
            elif isinstance(value, dict):
                sub = total.setdefault(key, {})
                for k, v in value.items():
                    if isinstance(v, (int, float)):
                        sub[k] = sub.get(k, 0) + v
            elif isinstance(value, (int, float)):
                total[key] = total.get(key, 0) + value
    return total


def _slot_number(value: Any) -> int:
    """A slot argument (int, or its digits as str or bytes) as an int: DataError
    unless it is one of the 16,384."""
    if isinstance(value, (bytes, str)) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < SLOTS:
        raise DataError(f"a slot is an int in 0..{SLOTS - 1}, not {value!r}")
    return value
