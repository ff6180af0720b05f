"""RedisClusterClient: the command methods of RedisClient, routed by key slot to
one standalone client per node.

One call of ``cluster.get("k")``: the hook computes the slot of the command's keys
in C (``_core.command_slot``, from the command table's key positions), takes the
primary of that slot from the current slot map, and runs the command on that node's
own RedisClient (its pool, breaker, safe retries and deadline). Redirections and
cluster errors are handled here, inside one deadline per call:

* ``MOVED``: the slot map gets the new owner at once, a full refresh is due, and the
  command goes to the new owner;
* ``ASK``: ``ASKING`` and the command go to the named node in one write, once;
* ``TRYAGAIN``, ``CLUSTERDOWN``, ``READONLY`` (a demoted primary) and connection
  errors: back off, refresh the map, try again while the deadline allows; a command
  that may have been applied (a write whose connection broke after it was sent) is
  never sent again: its error is raised.
"""

from __future__ import annotations

import random
import time
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Sequence, Tuple

from .._core import Batch, command_slot, key_slot
from ..client.base import ClientBase, _config_prefixer, build_config
from ..commands import CoreCommands
from ..commands.types import Callback
from ..config import ConfigurationError, RedisConfig, hide_password, secret_url
from ..exceptions import ConnectionError, ReadOnlyError, ResponseError
from ..observability.metrics import collect, render_prometheus
from .drive import drive_all
from .errors import ClusterCrossSlotError, ClusterDownError, ClusterError
from .pipeline import ClusterPipeline
from .routing import ONE_NODE, REFUSED, SPLIT, command_info
from .state import ClusterState
from .topology import SLOTS, split_name

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["RedisClusterClient"]

#: Core error codes meaning the command never left the client: safe to send anywhere.
_UNSENT = frozenset({"ECONNECT", "ECIRCUIT", "EPOOLTIMEOUT"})
_MAX_REDIRECTS = 16


def _sent_maybe(exc: BaseException) -> bool:
    """Whether the command of a failed call may have reached the server."""
    return getattr(exc, "error_code", None) not in _UNSENT


def _redirect(exc: ResponseError) -> Tuple[str, int, str] | None:
    """("MOVED" or "ASK", slot, "host:port") of a redirection error, else None."""
    text = str(exc)
    if not (text.startswith("MOVED ") or text.startswith("ASK ")):
        return None
    parts = text.split()
    if len(parts) != 3:
        return None
    return parts[0], int(parts[1]), parts[2]


def _retryable(exc: ResponseError) -> bool:
    """TRYAGAIN, CLUSTERDOWN, READONLY: refused before running, so safe to resend."""
    text = str(exc)
    return (
        text.startswith("TRYAGAIN")
        or text.startswith("CLUSTERDOWN")
        or isinstance(exc, ReadOnlyError)
        or text.startswith("READONLY")
    )


def _parse_seeds(seeds: Iterable[Any]) -> List[Tuple[str, int]]:
    out = []
    for seed in seeds:
        if isinstance(seed, str):
            host, _, port = seed.rpartition(":")
            if not host or not port.isdigit():
                raise ConfigurationError(f"startup node {seed!r} is not host:port", "startup_nodes")
            out.append((host.strip("[]"), int(port)))
        else:
            host, port = seed
            out.append((str(host), int(port)))
    return out


class RedisClusterClient(ClientBase, CoreCommands):
    """A Redis Cluster client with the command methods of RedisClient.

    Build it from one or more seed nodes: ``RedisClusterClient("10.0.0.1", 7000)``,
    ``RedisClusterClient(startup_nodes=["h1:7000", "h2:7000"])``,
    :meth:`from_url` (``redis://h1:7000,h2:7000``) or :meth:`from_env`. Every other
    option is RedisConfig's and applies to each node's connections. No I/O happens
    before the first command, which reads the slot map from any reachable seed.

    ``retry_timeout`` bounds the retries of one call across redirections, failovers
    and CLUSTERDOWN (default: socket_timeout, or 5 s); ``min_refresh_interval``
    rate-limits full slot-map refreshes (default 0.25 s). Safe to share across threads.
    """

    _state: ClusterState

    def __init__(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        startup_nodes: Iterable[Any] | None = None,
        config: RedisConfig | None = None,
        retry_timeout: float | None = None,
        min_refresh_interval: float = 0.25,
        **options: Any,
    ) -> None:
        config = build_config(host, port, None, config, options, type(self).__name__)
        if config.db != 0:
            raise ConfigurationError("a Redis Cluster has only database 0", "db")
        if config.unix_socket_path is not None:
            raise ConfigurationError("cluster nodes are reached over TCP", "unix_socket_path")
        seeds = _parse_seeds(startup_nodes) if startup_nodes is not None else []
        if host is not None or not seeds:
            seeds.insert(0, (config.effective_host, config.port))
        self._config = config
        self._state = ClusterState(config, seeds, min_refresh_interval)
        if retry_timeout is None:
            retry_timeout = config.socket_timeout if config.socket_timeout is not None else 5.0
        self._retry_timeout = retry_timeout
        self._tracing = None
        self._set_prefixer(_config_prefixer(config))

    # -- construction ------------------------------------------------------------------

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> Self:
        """Build a cluster client from ``redis://[user:pass@]h1:p1[,h2:p2...][?opt=v]``
        (or ``rediss://``): every listed node is a seed; options as RedisConfig.from_url."""
        url = secret_url(url)
        hide_password(overrides)
        first, seeds = _split_seed_url(str(_reveal(url)))
        config = RedisConfig.from_url(first, **overrides)
        return cls(config=config, startup_nodes=seeds)

    @classmethod
    def from_env(cls, prefix: str = "REDIS_", **overrides: Any) -> Self:
        """Build a cluster client from the environment as RedisConfig.from_env reads it;
        ``{prefix}URL`` may list several seeds (``redis://h1:7000,h2:7000``)."""
        import os

        environ = dict(os.environ)
        url = environ.get(prefix + "URL")
        seeds: List[str] = []
        if url:
            environ[prefix + "URL"], seeds = _split_seed_url(url)
        config = RedisConfig.from_env(prefix, environ=environ, **overrides)
        return cls(config=config, startup_nodes=seeds or None)

    # -- the hook ----------------------------------------------------------------------

    def _run(self, args: Tuple[Any, ...], callback: Callback | None = None) -> Any:
        prefixer = self._prefixer
        if prefixer is not None:
            args, callback = prefixer.prepare(args, callback)
        return self._route(args, callback)

    def _route(self, args: Sequence[Any], callback: Callback | None) -> Any:
        slot = command_slot(args)
        if slot >= 0:
            reply = self._call_slot(slot, args)
        elif slot == -2:
            reply = self._split(args)
        else:
            reply = self._keyless(args)
        return reply if callback is None else callback(reply)

    def _call_slot(self, slot: int, args: Sequence[Any], node: str | None = None) -> Any:
        """Run one command on the node serving ``slot`` (or ``node``), following
        redirections and retrying what is safe until the call's deadline."""
        state = self._state
        deadline = time.monotonic() + self._retry_timeout
        asking = False
        attempt = 0
        redirects = 0
        while True:
            if node is None:
                node = state.node_for(slot)
                if node is None:
                    state.refresh(force=True)
                    node = state.node_for(slot)
            try:
                if node is None:
                    raise ClusterDownError(f"CLUSTERDOWN slot {slot} is not served by any node")
                core = state.client(node)._core
                if asking:
                    reply = self._asking(core, args)
                else:
                    return core.execute(args)
                return reply
            except ResponseError as exc:
                where = _redirect(exc)
                if where is not None:
                    redirects += 1
                    if redirects > _MAX_REDIRECTS:
                        raise ClusterError(f"too many redirections ({exc})") from exc
                    kind, moved_slot, target = where
                    if target.startswith(":"):  # the node asked, on another port
                        target = f"{split_name(node)[0]}{target}" if node else target
                    if kind == "MOVED":
                        state.moved(moved_slot, target)
                        asking = False
                    else:
                        state.count("ask")
                        asking = True
                    node = target
                    continue
                if not _retryable(exc):
                    raise
                state.count("tryagain")
                error: BaseException = exc
            except ConnectionError as exc:  # includes CircuitOpenError, PoolTimeoutError
                if _sent_maybe(exc) and not command_info(args).replay_safe:
                    raise
                error = exc
            attempt += 1
            delay = min(0.5, 0.02 * 2**attempt) * random.uniform(0.5, 1.0)
            if time.monotonic() + delay >= deadline:
                if isinstance(error, ClusterDownError):
                    raise error
                raise error
            state.count("retries")
            time.sleep(delay)
            state.refresh(force=True)
            node, asking = None, False

    def _asking(self, core: Any, args: Sequence[Any]) -> Any:
        batch = self._new_batch()
        batch.asking()
        batch.append(args)
        reply = core.execute_batch(batch)[1]
        if isinstance(reply, BaseException):
            raise reply
        return reply

    # -- commands whose keys span slots ------------------------------------------------

    def _split(self, args: Sequence[Any]) -> Any:
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
        replies = self._run_many(parts)
        if how == "sum":
            return sum(replies)
        if how == "pairs":
            return replies[0]
        values: List[Any] = [None] * (len(args) - 1)
        for idx, reply in zip(groups.values(), replies):
            for i, value in zip(idx, reply):
                values[i - 1] = value
        return values

    def _run_many(
        self, parts: Sequence[Tuple[int, Sequence[Any]]], raise_errors: bool = True
    ) -> List[Any]:
        """Run commands of known slots, one batch per node, the nodes concurrently;
        a command redirected or refused is then run alone with the full retry rules.
        Returns the replies in order; raises the first error, or with
        ``raise_errors=False`` leaves the errors in place."""
        state = self._state
        smap = state.current()
        by_node: Dict[str | None, List[int]] = {}
        for n, (slot, _) in enumerate(parts):
            by_node.setdefault(smap.slots[slot], []).append(n)
        replies: List[Any] = [None] * len(parts)
        again: List[int] = by_node.pop(None, [])
        nodes = [node for node in by_node if node is not None]
        batches = []
        for node in nodes:
            batch = self._new_batch()
            for n in by_node[node]:
                batch.append(parts[n][1])
            batches.append(batch)
        for node, result in zip(nodes, self._send_batches(nodes, batches)):
            indexes = by_node[node]
            for n, reply in zip(
                indexes, result if isinstance(result, list) else [result] * len(indexes)
            ):
                if isinstance(reply, ResponseError) and (_redirect(reply) or _retryable(reply)):
                    again.append(n)
                elif isinstance(reply, ConnectionError) and (
                    not _sent_maybe(reply) or command_info(parts[n][1]).replay_safe
                ):
                    again.append(n)
                else:
                    replies[n] = reply
        for n in sorted(again):
            try:
                replies[n] = self._call_slot(parts[n][0], parts[n][1])
            except Exception as exc:
                replies[n] = exc
        if raise_errors:
            for reply in replies:
                if isinstance(reply, BaseException):
                    raise reply
        return replies

    def _new_batch(self) -> Any:
        return Batch(encoding=self._config.encoding, encoding_errors=self._config.encoding_errors)

    def _send_batches(self, nodes: Sequence[str], batches: Sequence[Any]) -> List[Any]:
        """Each batch on its node, concurrently; a list of replies (or an exception)
        per batch."""
        state = self._state
        if len(nodes) == 1:
            try:
                return [state.client(nodes[0])._core.execute_batch(batches[0])]
            except Exception as exc:
                return [exc]
        calls = []
        for node, batch in zip(nodes, batches):
            calls.append(state.client(node)._core.start_batch(batch))
        return drive_all(calls)

    # -- commands without keys ---------------------------------------------------------

    def _keyless(self, args: Sequence[Any]) -> Any:
        info = command_info(args)
        refusal = REFUSED.get(info.name)
        if refusal is not None:
            raise ClusterError(f"{info.name}: {refusal}")
        state = self._state
        if info.request not in ("all_shards", "all_nodes") or info.name in ONE_NODE:
            return self._call_on(state.random_primary(), args)
        smap = state.current()
        nodes = smap.primaries if info.request == "all_shards" else smap.nodes
        replies = self._on_nodes(nodes, args)
        for reply in replies:
            if isinstance(reply, BaseException):
                raise reply
        return _merge(info.response, replies, dict(zip(nodes, replies)))

    def _call_on(self, node: str, args: Sequence[Any]) -> Any:
        return self._state.client(node)._core.execute(args)

    def _on_nodes(self, nodes: Sequence[str], args: Sequence[Any]) -> List[Any]:
        state = self._state
        calls = [state.client(node)._core.start(args) for node in nodes]
        return drive_all(calls)

    # -- iteration over every primary --------------------------------------------------

    def scan_iter(
        self,
        match: Any = None,
        count: int | None = None,
        _type: str | None = None,
    ) -> Iterator[Any]:
        """Yield every key matching ``match`` (and ``_type``) on every primary, one
        primary after another (a node's keys in SCAN's order)."""
        args: Tuple[Any, ...] = ()
        if match is not None:
            args += ("MATCH", match)
        if count is not None:
            args += ("COUNT", count)
        if _type is not None:
            args += ("TYPE", _type)
        prefixer = self._prefixer
        for node in self._state.current().primaries:
            cursor: Any = 0
            while True:
                command: Tuple[Any, ...] = ("SCAN", cursor, *args)
                callback: Callback | None = None
                if prefixer is not None:
                    command, callback = prefixer.prepare(command, None)
                reply = self._call_on(node, command)
                if callback is not None:
                    reply = callback(reply)
                cursor, keys = int(reply[0]), reply[1]
                yield from keys
                if cursor == 0:
                    break

    # -- pipelines ---------------------------------------------------------------------

    def pipeline(self, transaction: bool = False, shard_hint: Any = None) -> ClusterPipeline:
        """Queue commands; ``execute()`` sends them grouped per node (the nodes
        concurrently) and returns the replies in call order. ``transaction=True``
        runs them in MULTI/EXEC, which needs every key in one slot. Unlike
        RedisClient.pipeline, the default is no transaction (as redis-py's cluster)."""
        return ClusterPipeline(self, transaction)

    # -- state, health, lifecycle ------------------------------------------------------

    @property
    def slot_map(self) -> Any:
        """The current slot map (read from the cluster on first use)."""
        return self._state.current()

    def nodes(self) -> Dict[str, Any]:
        """The standalone client of every node known so far, by ``host:port``."""
        self._state.current()
        return dict(self._state.clients)

    def get_node_client(self, key: Any) -> Any:
        """The standalone client of the primary serving ``key``'s slot."""
        node = self._state.node_for(key_slot(key))
        if node is None:
            raise ClusterDownError(f"CLUSTERDOWN the slot of {key!r} is not served")
        return self._state.client(node)

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
        total = _sum_metrics(list(per.values()))
        total["nodes"] = per
        total["cluster"] = self._state.stats()
        return total

    def metrics_text(self) -> str:
        """:meth:`metrics` (the sums) as Prometheus text."""
        return render_prometheus(self.metrics())

    def debug_info(self) -> Dict[str, Any]:
        info = self._config.debug_info()
        info["pool"] = self.pool_stats()
        info["circuit_breaker"] = self.circuit_breaker_state()
        info["cluster"] = self._state.stats()
        return info

    def health_check(self) -> Dict[str, Any]:
        """Never raises: PING every known node and check that all 16,384 slots are
        served. ``status`` is "healthy" (all nodes answer, all slots covered),
        "degraded" (some node down or slots uncovered, but some answer) or
        "unhealthy" (no node answers, or no slot map)."""
        started = time.perf_counter()
        state = self._state
        try:
            state.refresh(force=True)
            smap = state.current()
        except Exception as exc:
            return {
                "status": "unhealthy",
                "error": str(exc),
                "type": type(exc).__name__,
                "nodes": {},
                "slots_covered": 0,
            }
        names = list(smap.nodes)
        replies = self._on_nodes(names, ("PING",))
        nodes = {}
        for name, reply in zip(names, replies):
            role = "primary" if name in smap.primaries else "replica"
            ok = not isinstance(reply, BaseException)
            entry: Dict[str, Any] = {"role": role, "ok": ok}
            if not ok:
                entry["error"] = f"{type(reply).__name__}: {reply}"
            nodes[name] = entry
        covered = smap.covered
        up = sum(1 for e in nodes.values() if e["ok"])
        if up == 0:
            status = "unhealthy"
        elif up < len(nodes) or covered < SLOTS:
            status = "degraded"
        else:
            status = "healthy"
        return {
            "status": status,
            "nodes": nodes,
            "slots_covered": covered,
            "primaries": len(smap.primaries),
            "latency_ms": round((time.perf_counter() - started) * 1000.0, 3),
        }

    def close(self) -> None:
        """Close every node's pool; later calls raise. Safe to call more than once."""
        self._state.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        c = self.__dict__.get("_config")
        state = self.__dict__.get("_state")
        if c is None or state is None:
            return f"<{type(self).__name__} (not initialised)>"
        return f"<{type(self).__name__} seeds={','.join(state.seeds)}{' tls' if c.ssl else ''}>"


def _merge(policy: str | None, replies: List[Any], by_node: Dict[str, Any]) -> Any:
    """One reply from every node's, as the server's response policy says."""
    if policy == "agg_sum":
        return sum(replies)
    if policy == "agg_min":
        return min(replies)
    if policy == "agg_max":
        return max(replies)
    if policy == "agg_logical_and":
        return (
            [int(all(vals)) for vals in zip(*replies)]
            if isinstance(replies[0], list)
            else int(all(replies))
        )
    if policy == "agg_logical_or":
        return (
            [int(any(vals)) for vals in zip(*replies)]
            if isinstance(replies[0], list)
            else int(any(replies))
        )
    if policy in ("all_succeeded", "one_succeeded"):
        return replies[0]
    if policy == "special":
        return by_node
    if all(isinstance(r, list) for r in replies):  # KEYS: every node's keys
        return [x for r in replies for x in r]
    return by_node


def _sum_metrics(all_metrics: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Counters added up over nodes; the latency histograms bucket by bucket."""
    if not all_metrics:
        return {
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
    total: Dict[str, Any] = {}
    for m in all_metrics:
        for key, value in m.items():
            if key == "latency_histogram":
                prev = total.get(key)
                total[key] = (
                    value if prev is None else [(b, c + pc) for (b, c), (_, pc) in zip(value, prev)]
                )
            elif key in ("fallbacks", "fallbacks_total", "circuit_breaker"):
                total[key] = value  # process-wide, or per node (see circuit_breaker_state)
            elif isinstance(value, dict):
                sub = total.setdefault(key, {})
                for k, v in value.items():
                    if isinstance(v, (int, float)):
                        sub[k] = sub.get(k, 0) + v
            elif isinstance(value, (int, float)):
                total[key] = total.get(key, 0) + value
    return total


def _reveal(url: Any) -> str:
    reveal = getattr(url, "get_secret_value", None) or getattr(url, "reveal", None)
    return reveal() if reveal is not None else str(url)


def _split_seed_url(url: str) -> Tuple[str, List[str]]:
    """``redis://u:p@h1:1,h2:2/0?x=1`` -> (``redis://u:p@h1:1/0?x=1``, ["h1:1", "h2:2"])."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url, []
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    userinfo, at, hosts = netloc.rpartition("@")
    names = [h for h in hosts.split(",") if h]
    if len(names) <= 1:
        return url, []
    return f"{scheme}://{userinfo}{at}{names[0]}{tail}", names
