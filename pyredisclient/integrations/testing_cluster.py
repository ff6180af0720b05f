"""A throwaway Redis Cluster for tests: :class:`RedisClusterServers` (see
:mod:`pyredisclient.integrations.testing_topologies`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, NamedTuple, Union

from .testing import RedisServer, find_free_port
from .topology_base import (
    _BAD_NODE_FLAGS,
    CLUSTER_SLOTS,
    WAIT_TIMEOUT,
    ReplyError,
    TopologyError,
    _fast_args,
    _find_port_pair,
    _parse_info,
    _require_executable,
    _server_version,
    _TopologyBase,
    _Unstable,
    _wait_until,
    logger,
)


class ClusterNodeServer(RedisServer):
    """A redis-server with ``cluster-enabled yes`` and a cluster bus port of its own.

    On redis 7.0+ the bus port is any free port (``cluster-port``); before
    7.0 it is :attr:`port` + 10000, and both are chosen free. The node's
    ``nodes.conf`` lives in its temporary directory, so a restarted node
    comes back with the same node id and rejoins its cluster.
    """

    def __init__(self, *, explicit_bus_port: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.explicit_bus_port = explicit_bus_port
        self.bus_port: int | None = None
        #: The node id (40 hex digits), known once the node has started.
        self.node_id: str | None = None

    def _spawn(self, exe: str) -> None:
        # start() chose the client port(s) for this attempt; choose the bus port too.
        if not self._ports_fixed:
            if self.explicit_bus_port:
                self.bus_port = find_free_port(self.host)
            else:
                port = _find_port_pair(self.host)
                if self._plain_port:
                    self._plain_port = port
                else:
                    self._tls_port = port
                self.bus_port = port + 10000
        super()._spawn(exe)

    def _command_line(self, exe: str) -> list[str]:
        args = super()._command_line(exe)
        if self.explicit_bus_port:
            args += ["--cluster-port", str(self.bus_port)]
        return args

    def __repr__(self) -> str:
        return super().__repr__().replace("<RedisServer", "<ClusterNodeServer", 1)


class ClusterNodeInfo(NamedTuple):
    """One line of ``CLUSTER NODES``: one node as another node sees it."""

    node_id: str
    host: str
    port: int
    bus_port: int
    flags: frozenset[str]
    primary_id: str | None
    config_epoch: int
    link_state: str
    slots: tuple[tuple[int, int], ...]

    @property
    def is_primary(self) -> bool:
        return "master" in self.flags

    @property
    def is_healthy(self) -> bool:
        """No fail, pfail, handshake or noaddr flag."""
        return not (self.flags & _BAD_NODE_FLAGS)


def _parse_cluster_nodes(text: bytes) -> dict[str, ClusterNodeInfo]:
    """Parse a ``CLUSTER NODES`` reply into {node id: info}."""
    nodes: dict[str, ClusterNodeInfo] = {}
    for line in text.decode(errors="replace").splitlines():
        fields = line.split()
        if len(fields) < 8:
            continue
        node_id, addr, flags, primary, _ping, _pong, epoch, link, *slot_fields = fields
        hostport, _, bus = addr.partition("@")
        host, _, port = hostport.rpartition(":")
        slots: list[tuple[int, int]] = []
        for field in slot_fields:
            if field.startswith("["):  # [slot->-id] / [slot-<-id]: a migration in progress
                continue
            first, _, last = field.partition("-")
            slots.append((int(first), int(last or first)))
        nodes[node_id] = ClusterNodeInfo(
            node_id=node_id,
            host=host,
            port=int(port or 0),
            bus_port=int(bus.split(",")[0] or 0),
            flags=frozenset(flags.split(",")),
            primary_id=None if primary == "-" else primary,
            config_epoch=int(epoch),
            link_state=link,
            slots=tuple(slots),
        )
    return nodes


class SlotRange(NamedTuple):
    """A range of slots and the nodes that serve it."""

    start: int
    end: int
    primary: ClusterNodeServer
    replicas: tuple[ClusterNodeServer, ...]


class RedisClusterServers(_TopologyBase):
    """A Redis Cluster of real redis-server processes on loopback.

    ``RedisClusterServers()`` only prepares; :meth:`start` (or ``with``)
    starts *primaries* nodes (and *replicas_per_primary* replicas of each),
    gives the primaries the 16,384 slots in equal ranges, joins them with
    ``CLUSTER MEET``, attaches the replicas with ``CLUSTER REPLICATE``, and
    waits until every node reports ``cluster_state:ok``, every replica is in
    sync, and all nodes agree on the slot map and the roles.

    Args:
        primaries: number of primaries (at least 1; failover needs 3).
        replicas_per_primary: 0 or 1.
        node_timeout_ms: ``cluster-node-timeout``; small, so that a failover
            takes a second or two.
        password: ``requirepass`` and ``masterauth`` on every node.
        tls: TLS-only nodes (``tls-cluster yes``, ``tls-replication yes``):
            :attr:`ca_cert`, :attr:`client_cert` and :attr:`client_key` for
            clients; every node's :attr:`~RedisServer.port` is its TLS port.
        tls_auth_clients: as for RedisServer.
        extra_args: more command-line config for every node.
        startup_timeout: bound on each node's start and on the cluster's forming.
        executable: the redis-server binary (default: found on PATH).

    Faults: :meth:`kill_primary` (and wait for the promotion),
    :meth:`restart`, :meth:`failover` (``CLUSTER FAILOVER``),
    :meth:`migrate_slots` (or step by step: :meth:`begin_slot_migration`,
    :meth:`move_slot_keys`, :meth:`finish_slot_migration`), :meth:`pause`
    and :meth:`resume`. Views: :meth:`slot_map`, :meth:`cluster_nodes`,
    :meth:`primaries`, :meth:`replicas`, :meth:`node_for_slot`.
    """

    def __init__(
        self,
        primaries: int = 3,
        replicas_per_primary: int = 0,
        *,
        node_timeout_ms: int = 1000,
        password: str | None = None,
        tls: bool = False,
        tls_auth_clients: Union[bool, str] = "yes",
        extra_args: Sequence[str] = (),
        startup_timeout: float = WAIT_TIMEOUT,
        executable: str | None = None,
    ) -> None:
        super().__init__()
        if primaries < 1:
            raise ValueError("a cluster needs at least one primary")
        if replicas_per_primary not in (0, 1):
            raise ValueError("replicas_per_primary must be 0 or 1")
        if node_timeout_ms < 100:
            raise ValueError("node_timeout_ms must be at least 100")
        self.primary_count = primaries
        self.replicas_per_primary = replicas_per_primary
        self.node_timeout_ms = node_timeout_ms
        self.password = password
        self.tls = tls
        self.tls_auth_clients = tls_auth_clients
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.executable = executable
        self.host = "127.0.0.1"
        #: Every node in creation order: the first *primaries* nodes started
        #: as primaries, then the replicas (replica i of primary i).
        self.nodes: list[ClusterNodeServer] = []
        self._version: tuple[int, int, int] = (0, 0, 0)

    def _all_servers(self) -> list[RedisServer]:
        return list(self.nodes)

    # -- life cycle ---------------------------------------------------------

    def start(self) -> RedisClusterServers:
        """Start and form the cluster, and wait until it is stable; return self.

        On failure every process started so far is stopped and the error
        (RedisServerError or TopologyError, with details) is raised.
        """
        if self.nodes:
            raise TopologyError("the cluster was already started")
        exe = _require_executable(self.executable)
        self._version = _server_version(exe)
        try:
            self._make_certificates()
            count = self.primary_count * (1 + self.replicas_per_primary)
            for _ in range(count):
                node = self._new_node(exe)
                self.nodes.append(node)
                self._share_certificates(node)
                node.start()
                node.node_id = self.command(node, "CLUSTER", "MYID").decode()
            self._form()
            self.wait_stable(self.startup_timeout)
        except BaseException:
            self.close()
            raise
        logger.debug("redis cluster started: %r", self)
        return self

    def _new_node(self, exe: str) -> ClusterNodeServer:
        modern = self._version >= (7, 0, 0)
        args = [
            "--cluster-enabled", "yes",
            "--cluster-node-timeout", str(self.node_timeout_ms),
            # A replica always tries to take over, however long it was cut off.
            "--cluster-replica-validity-factor", "0",
            *_fast_args(self._version),
        ]  # fmt: skip
        if self.password is not None:
            args += ["--masterauth", self.password]
        if self.tls:
            args += ["--tls-cluster", "yes", *self._tls_args(replication=True)]
        return ClusterNodeServer(
            explicit_bus_port=modern,
            password=self.password,
            tls=self.tls,
            tls_auth_clients=self.tls_auth_clients,
            extra_args=args + self.extra_args,
            startup_timeout=self.startup_timeout,
            executable=exe,
        )

    def _form(self) -> None:
        primaries = self.nodes[: self.primary_count]
        replicas = self.nodes[self.primary_count :]
        # Distinct epochs up front, as redis-cli --cluster create does: no
        # collisions to resolve once the nodes meet.
        for epoch, node in enumerate(self.nodes, 1):
            self.command(node, "CLUSTER", "SET-CONFIG-EPOCH", epoch)
        for i, node in enumerate(primaries):
            first = i * CLUSTER_SLOTS // len(primaries)
            last = (i + 1) * CLUSTER_SLOTS // len(primaries) - 1
            if self._version >= (7, 0, 0):
                self.command(node, "CLUSTER", "ADDSLOTSRANGE", first, last)
            else:
                self.command(node, "CLUSTER", "ADDSLOTS", *range(first, last + 1))
        seed = self.nodes[0]
        for node in self.nodes[1:]:
            meet: list[Union[str, int]] = ["CLUSTER", "MEET", node.host, node.port]
            if node.explicit_bus_port:
                assert node.bus_port is not None
                meet.append(node.bus_port)
            self.command(seed, *meet)
        ids = {n.node_id for n in self.nodes}

        def everyone_met() -> bool | None:
            for node in self.nodes:
                view = _parse_cluster_nodes(self.command(node, "CLUSTER", "NODES"))
                if set(view) != ids or not all(v.is_healthy for v in view.values()):
                    return None
            return True

        _wait_until(everyone_met, self.startup_timeout, "all cluster nodes to meet")
        for i, replica in enumerate(replicas):
            primary = primaries[i % len(primaries)]
            assert primary.node_id is not None
            self.command(replica, "CLUSTER", "REPLICATE", primary.node_id)

    def __repr__(self) -> str:
        running = sum(1 for n in self.nodes if n.is_running)
        paused = sum(1 for n in self.nodes if n.is_paused)
        return (
            f"<RedisClusterServers {self.primary_count} primaries x "
            f"{1 + self.replicas_per_primary} nodes, {running} running, {paused} paused>"
        )

    # -- views --------------------------------------------------------------

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """``(host, port)`` of every running node: seeds for a cluster client."""
        return [(n.host, n.port) for n in self.nodes if n.is_running]

    def live_nodes(self) -> list[ClusterNodeServer]:
        """The nodes that are running and not paused."""
        return [n for n in self.nodes if n.is_running and not n.is_paused]

    def node_by_id(self, node_id: str) -> ClusterNodeServer:
        """The node with this id (KeyError if it is not one of ours)."""
        for node in self.nodes:
            if node.node_id == node_id:
                return node
        raise KeyError(node_id)

    def node_at(self, host: str, port: int) -> ClusterNodeServer:
        """The node listening on host:port (KeyError if none)."""
        for node in self.nodes:
            if node.host == host and node.port == port:
                return node
        raise KeyError(f"{host}:{port}")

    def cluster_nodes(self, node: ClusterNodeServer | None = None) -> dict[str, ClusterNodeInfo]:
        """``CLUSTER NODES`` as *node* (default: the first live node) sees it."""
        node = node or self._any_live_node()
        return _parse_cluster_nodes(self.command(node, "CLUSTER", "NODES"))

    def primaries(self) -> list[ClusterNodeServer]:
        """The running nodes that are primaries now, as the first live node sees it."""
        view = self.cluster_nodes()
        return [n for n in self.nodes if n.is_running and view[self._id(n)].is_primary]

    def replicas(self, primary: ClusterNodeServer | None = None) -> list[ClusterNodeServer]:
        """The running replicas (of *primary*, or of any primary) now."""
        view = self.cluster_nodes()
        out = []
        for node in self.nodes:
            info = view[self._id(node)]
            if not node.is_running or info.is_primary:
                continue
            if primary is None or info.primary_id == primary.node_id:
                out.append(node)
        return out

    def slot_map(self, node: ClusterNodeServer | None = None) -> list[SlotRange]:
        """The slot ranges in order, each with its primary and healthy replicas, as *node* sees it."""
        view = self.cluster_nodes(node)
        ranges = []
        for info in view.values():
            if not info.is_primary:
                continue
            replicas = tuple(
                self.node_by_id(r.node_id)
                for r in view.values()
                if r.primary_id == info.node_id and r.is_healthy
            )
            for first, last in info.slots:
                ranges.append(SlotRange(first, last, self.node_by_id(info.node_id), replicas))
        return sorted(ranges, key=lambda r: r.start)

    def node_for_slot(self, slot: int) -> ClusterNodeServer:
        """The primary serving *slot* now."""
        for entry in self.slot_map():
            if entry.start <= slot <= entry.end:
                return entry.primary
        raise TopologyError(f"slot {slot} is not served by any node")

    def key_slot(self, key: Union[str, bytes]) -> int:
        """The hash slot of *key* (``CLUSTER KEYSLOT``, asked of a live node)."""
        slot: int = self.command(self._any_live_node(), "CLUSTER", "KEYSLOT", key)
        return slot

    def _any_live_node(self) -> ClusterNodeServer:
        for node in self.nodes:
            if node.is_running and not node.is_paused:
                return node
        raise TopologyError("no cluster node is running")

    @staticmethod
    def _id(node: ClusterNodeServer) -> str:
        assert node.node_id is not None
        return node.node_id

    # -- waiting --------------------------------------------------------------

    def wait_stable(self, timeout: float | None = None) -> None:
        """Wait until the live (running, not paused) nodes form a healthy cluster.

        Healthy: every live node says ``cluster_state:ok`` and sees every
        other live node without a fail/pfail/handshake flag; they all agree on
        which node serves which slots and which replica follows which primary;
        every slot is served by a live primary; every live replica's
        replication link is up. Raises TopologyError after *timeout* seconds
        (default WAIT_TIMEOUT) naming what was still wrong.
        """
        _wait_until(self._stable, self._wait_timeout(timeout), "a stable cluster")

    def _stable(self) -> bool | None:
        reason = self._unstable_reason()
        if reason is None:
            return True
        raise _Unstable(reason)

    def _unstable_reason(self) -> str | None:
        live = self.live_nodes()
        if not live:
            return "no node is running"
        live_ids = {self._id(n) for n in live}
        views: set[tuple[object, ...]] = set()
        for node in live:
            with self._connect(node) as conn:
                cinfo, nodes_text, repl = conn.pipeline(
                    [("CLUSTER", "INFO"), ("CLUSTER", "NODES"), ("INFO", "replication")]
                )
            for reply in (cinfo, nodes_text, repl):
                if isinstance(reply, ReplyError):
                    return f"{node!r}: {reply}"
            state = _parse_info(cinfo).get("cluster_state")
            if state != "ok":
                return f"{node!r}: cluster_state:{state}"
            view = _parse_cluster_nodes(nodes_text)
            for other in live_ids:
                if other not in view:
                    return f"{node!r} does not know node {other}"
                if not view[other].is_healthy:
                    return f"{node!r} sees node {other} as {','.join(sorted(view[other].flags))}"
            myself = view[self._id(node)]
            if not myself.is_primary:
                link = _parse_info(repl).get("master_link_status")
                if link != "up":
                    return f"{node!r}: replica link {link}"
            roles = tuple(sorted((i, view[i].primary_id or "-") for i in live_ids))
            owners = tuple(
                sorted(
                    (first, last, info.node_id)
                    for info in view.values()
                    for first, last in info.slots
                )
            )
            covered = sum(last - first + 1 for first, last, _ in owners)
            if covered != CLUSTER_SLOTS:
                return f"{node!r}: {covered} of {CLUSTER_SLOTS} slots served"
            dead = {owner for _, _, owner in owners} - live_ids
            if dead:
                return f"{node!r}: slots served by nodes not running: {sorted(dead)}"
            views.add((roles, owners))
        if len(views) > 1:
            return "the nodes disagree on the slot map or the roles"
        return None

    # -- faults ---------------------------------------------------------------

    def kill_primary(
        self,
        primary: ClusterNodeServer | None = None,
        *,
        wait: bool = True,
        timeout: float | None = None,
    ) -> ClusterNodeServer | None:
        """SIGKILL a primary (default: the first one with a replica) and wait for its replacement.

        Returns the replica that took over once the cluster is stable again
        (bounded by *timeout*), or None with ``wait=False``. Without a replica
        the primary's slots stay uncovered: pass ``wait=False`` then.
        """
        view = self.cluster_nodes()
        if primary is None:
            candidates = [n for n in self.live_nodes() if view[self._id(n)].is_primary]
            with_replica = [n for n in candidates if self._replica_ids(view, n)]
            if not candidates:
                raise TopologyError("no live primary to kill")
            primary = (with_replica or candidates)[0]
        elif not view[self._id(primary)].is_primary:
            raise TopologyError(f"{primary!r} is not a primary")
        heirs = self._replica_ids(view, primary)
        primary.kill()
        if not wait:
            return None
        if not heirs:
            raise TopologyError(f"{primary!r} had no replica to take over; use wait=False")
        self.wait_stable(timeout)
        view = self.cluster_nodes()
        for heir in heirs:
            if view[heir].is_primary:
                return self.node_by_id(heir)
        raise TopologyError("no replica of the killed primary was promoted")  # pragma: no cover

    def _replica_ids(
        self, view: dict[str, ClusterNodeInfo], primary: ClusterNodeServer
    ) -> list[str]:
        ids = [self._id(n) for n in self.live_nodes()]
        return [i for i in ids if i in view and view[i].primary_id == primary.node_id]

    def restart(
        self, node: ClusterNodeServer, *, wait: bool = True, timeout: float | None = None
    ) -> None:
        """Start a killed or stopped node again (same ports, same node id), or resume it.

        It rejoins from its ``nodes.conf``; a primary that lost its slots
        while away comes back as a replica of the node that took them. With
        *wait*, returns once the cluster is stable again.
        """
        if node.is_paused:
            node.resume()
        elif node.is_running:
            node.stop()
        if not node.is_running:
            node.start()
        if wait:
            self.wait_stable(timeout)

    def failover(
        self,
        replica: ClusterNodeServer | None = None,
        *,
        option: str | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> ClusterNodeServer:
        """``CLUSTER FAILOVER [FORCE|TAKEOVER]`` on *replica* (default: the first live one).

        Returns the replica; with *wait*, once it is a primary and the
        cluster is stable again (its old primary now replicating from it).
        """
        if replica is None:
            view = self.cluster_nodes()
            found = [n for n in self.live_nodes() if not view[self._id(n)].is_primary]
            if not found:
                raise TopologyError("no live replica to fail over to")
            replica = found[0]
        args = ["CLUSTER", "FAILOVER"] + ([option.upper()] if option else [])
        self.command(replica, *args)
        if wait:
            my_id = self._id(replica)

            def promoted() -> bool | None:
                return True if self.cluster_nodes(replica)[my_id].is_primary else None

            limit = self._wait_timeout(timeout)
            started = time.monotonic()
            _wait_until(promoted, limit, f"{replica!r} to become a primary")
            self.wait_stable(max(0.0, limit - (time.monotonic() - started)))
        return replica

    # -- slot migration -----------------------------------------------------------

    def migrate_slots(
        self,
        first: int,
        last: int,
        target: ClusterNodeServer,
        *,
        batch: int = 100,
        wait: bool = True,
        timeout: float | None = None,
    ) -> int:
        """Move slots *first*..*last* (inclusive) and their keys to the primary *target*.

        For each slot not already on *target*: SETSLOT IMPORTING on the
        target and MIGRATING on the source, MIGRATE the keys in batches of
        *batch*, then SETSLOT NODE on the target, the source and every other
        primary. Returns the number of keys moved; with *wait*, returns once
        every node agrees on the new map. Bounded by *timeout* as a whole.
        """
        if not 0 <= first <= last < CLUSTER_SLOTS:
            raise ValueError(f"bad slot range {first}..{last}")
        limit = self._wait_timeout(timeout)
        deadline = time.monotonic() + limit
        owners = self.slot_map()
        moved = 0
        for slot in range(first, last + 1):
            source = next(r.primary for r in owners if r.start <= slot <= r.end)
            if source is target:
                continue
            self.begin_slot_migration(slot, target, source=source)
            remaining = max(0.001, deadline - time.monotonic())
            moved += self.move_slot_keys(
                slot, target, source=source, batch=batch, timeout=remaining
            )
            self.finish_slot_migration(slot, target, source=source)
            if time.monotonic() >= deadline:
                raise TopologyError(f"migrating slots {first}..{last} took over {limit:g} s")
        if wait:
            self.wait_stable(max(0.001, deadline - time.monotonic()))
        return moved

    def begin_slot_migration(
        self, slot: int, target: ClusterNodeServer, *, source: ClusterNodeServer | None = None
    ) -> ClusterNodeServer:
        """Mark *slot* IMPORTING on *target* and MIGRATING on its owner; return the owner.

        Between this and :meth:`finish_slot_migration` the source answers
        ``-ASK`` for keys of the slot it no longer has.
        """
        if source is None:
            source = self.node_for_slot(slot)
        if source is target:
            raise TopologyError(f"{target!r} already serves slot {slot}")
        self.command(target, "CLUSTER", "SETSLOT", slot, "IMPORTING", self._id(source))
        self.command(source, "CLUSTER", "SETSLOT", slot, "MIGRATING", self._id(target))
        return source

    def move_slot_keys(
        self,
        slot: int,
        target: ClusterNodeServer,
        *,
        source: ClusterNodeServer | None = None,
        batch: int = 100,
        limit: int | None = None,
        timeout: float | None = None,
    ) -> int:
        """MIGRATE the keys of *slot* from *source* to *target* in batches; return how many.

        At most *limit* keys (default: all), so a test can stop half-way.
        Bounded by *timeout* seconds.
        """
        if source is None:
            source = self.node_for_slot(slot)
        if batch < 1:
            raise ValueError("batch must be at least 1")
        deadline = time.monotonic() + self._wait_timeout(timeout)
        moved = 0
        auth: list[str] = [] if self.password is None else ["AUTH", self.password]
        with self._connect(source) as conn:
            for _ in range(CLUSTER_SLOTS * 1000):  # bounded; ends when the slot is empty
                if limit is not None and moved >= limit:
                    break
                count = batch if limit is None else min(batch, limit - moved)
                keys: list[bytes] = conn.call("CLUSTER", "GETKEYSINSLOT", slot, count)
                if not keys:
                    break
                ms = max(1, min(10_000, int((deadline - time.monotonic()) * 1000)))
                conn.call("MIGRATE", target.host, target.port, "", 0, ms, *auth, "KEYS", *keys)
                moved += len(keys)
                if time.monotonic() >= deadline:
                    raise TopologyError(f"moving the keys of slot {slot} took too long")
        return moved

    def finish_slot_migration(
        self, slot: int, target: ClusterNodeServer, *, source: ClusterNodeServer | None = None
    ) -> None:
        """Give *slot* to *target*: SETSLOT NODE on the target, the source, then every live primary."""
        target_id = self._id(target)
        view = self.cluster_nodes()
        order = [target, *([source] if source is not None else [])]
        order += [n for n in self.live_nodes() if view[self._id(n)].is_primary and n not in order]
        for node in order:
            self.command(node, "CLUSTER", "SETSLOT", slot, "NODE", target_id)

    # -- housekeeping ---------------------------------------------------------------

    def flushall(self) -> None:
        """FLUSHALL on every live primary (the replicas follow)."""
        view = self.cluster_nodes()
        for node in self.live_nodes():
            if view[self._id(node)].is_primary:
                self.command(node, "FLUSHALL")

    def heal(self, timeout: float | None = None) -> None:
        """Resume paused nodes, restart stopped ones, and wait until the cluster is stable.

        Roles and slot ownership stay as the cluster left them (after a
        failover the old primary is a replica); what is restored is a cluster
        whose every node runs and every slot is served.
        """
        for node in self.nodes:
            if node.is_paused:
                node.resume()
        for node in self.nodes:
            if not node.is_running:
                node.start()
        self.wait_stable(timeout)


# -- Sentinel ----------------------------------------------------------------------
