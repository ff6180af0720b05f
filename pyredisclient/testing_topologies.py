"""Throwaway Redis Cluster and Sentinel topologies for tests.

:class:`RedisClusterServers` runs a real cluster (primaries, optionally one
replica each) and :class:`RedisSentinelServers` a primary, its replicas and
a few sentinels, all from ``redis-server`` processes on free loopback ports.
Every process is a :class:`~pyredisclient.testing.RedisServer` (or a small
subclass), so each has its own temporary directory, dies with the process
that started it, is retried on EADDRINUSE, can be paused with SIGSTOP, and
is stopped by pid; a paused one is resumed before it is stopped.

Both managers offer the faults a client must survive: kill a primary and
wait (bounded) for the replacement, restart a node, a manual failover, a
slot migration (cluster), a pause. They talk to the servers over raw
sockets with a tiny RESP2 reader of their own, never with pyredisclient's
client (which may be the code under test) nor with redis-py.

Standard library only; pytest is not imported here (see
:mod:`pyredisclient.pytest_topologies` for the fixtures).
"""

from __future__ import annotations

import functools
import logging
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Callable, NamedTuple, Protocol, TypeVar, Union

from pyredisclient.testing import (
    RedisServer,
    RedisServerError,
    _child_env,
    _resp_command,
    find_free_port,
)

__all__ = [
    "CLUSTER_SLOTS",
    "ClusterNodeInfo",
    "ClusterNodeServer",
    "RedisClusterServers",
    "RedisSentinelServers",
    "ReplyError",
    "SentinelServer",
    "SlotRange",
    "TopologyError",
    "close_all",
]

logger = logging.getLogger("pyredisclient")

#: Number of hash slots in a Redis Cluster.
CLUSTER_SLOTS = 16384
#: Default bound, in seconds, on every wait of the topology managers.
WAIT_TIMEOUT = 30.0
#: Socket timeout of one administrative command.
COMMAND_TIMEOUT = 5.0

# Flags of a CLUSTER NODES entry that mean "not a healthy member".
_BAD_NODE_FLAGS = frozenset({"fail", "fail?", "pfail", "handshake", "noaddr"})
# Flags of a SENTINEL REPLICAS/SENTINELS entry that mean "not usable".
_BAD_SENTINEL_FLAGS = frozenset({"s_down", "o_down", "disconnected"})
_MAX_BULK = 64 * 1024 * 1024
# Sentinel's internal periods (ms) on 7.0+ (SENTINEL DEBUG), as redis's own
# sentinel tests shorten them: a new link's first PING goes out one ping period
# after the link is made, and an instance counts as down when that PING is not
# answered within down-after-milliseconds, so the default 1 s period leaves a
# 1 s down-after no margin (a sentinel then fails over a healthy new primary).
_SENTINEL_PERIODS = (("ping-period", 200), ("ask-period", 200), ("publish-period", 500),
                     ("info-period", 1000))  # fmt: skip
_MAX_DEPTH = 8

Address = Union[tuple[str, int], str]
_T = TypeVar("_T")
_S = TypeVar("_S", bound=RedisServer)
_B = TypeVar("_B", bound="_TopologyBase")


class _Closeable(Protocol):
    def close(self) -> None: ...


class TopologyError(RedisServerError):
    """A topology did not reach the expected state in time, or cannot do what was asked."""


class ReplyError(Exception):
    """An error reply (``-ERR ...``, ``-MOVED ...``) from a server of a topology."""


# -- raw RESP2 ----------------------------------------------------------------


class _RespConnection:
    """One blocking connection to a server, for administrative commands only.

    Arguments may be str, bytes or int. Replies are parsed into bytes,
    int, None and lists; an error reply raises :class:`ReplyError` from
    :meth:`call` and is returned as a ReplyError object from :meth:`pipeline`.
    """

    def __init__(
        self,
        address: Address,
        *,
        password: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = COMMAND_TIMEOUT,
    ) -> None:
        family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
            if ssl_context is not None:
                host = address[0] if isinstance(address, tuple) else None
                sock = ssl_context.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        self._sock = sock
        self._file: IO[bytes] = sock.makefile("rb")
        if password is not None:
            try:
                self.call("AUTH", password)
            except BaseException:
                self.close()
                raise

    def close(self) -> None:
        self._file.close()
        self._sock.close()

    def __enter__(self) -> _RespConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, *args: Union[str, bytes, int]) -> Any:
        """Send one command and return its reply; an error reply raises ReplyError."""
        reply = self.pipeline([args])[0]
        if isinstance(reply, ReplyError):
            raise reply
        return reply

    def pipeline(self, commands: Sequence[Sequence[Union[str, bytes, int]]]) -> list[Any]:
        """Send several commands in one write and return their replies in order."""
        payload = b"".join(
            _resp_command(*(str(a) if isinstance(a, int) else a for a in cmd)) for cmd in commands
        )
        self._sock.sendall(payload)
        return [self._read(0) for _ in commands]

    def _read(self, depth: int) -> Any:
        line = self._file.readline(_MAX_BULK)
        if not line.endswith(b"\r\n"):
            raise ConnectionError("the server closed the connection or sent a bad reply")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"-":
            return ReplyError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind in (b"$", b"*"):
            n = int(rest)
            if n < 0:
                return None
            if kind == b"$":
                if n > _MAX_BULK:
                    raise ConnectionError(f"bulk reply of {n} bytes is too large")
                data = self._file.read(n + 2)
                if len(data) != n + 2:
                    raise ConnectionError("the server closed the connection mid-reply")
                return data[:-2]
            if depth >= _MAX_DEPTH or n > _MAX_BULK:
                raise ConnectionError("reply nested too deep or too long")
            return [self._read(depth + 1) for _ in range(n)]
        raise ConnectionError(f"unexpected reply line {line[:40]!r}")


def _parse_info(text: bytes) -> dict[str, str]:
    """Parse an INFO or CLUSTER INFO reply into a dict of strings."""
    out: dict[str, str] = {}
    for line in text.decode(errors="replace").splitlines():
        if line and not line.startswith("#") and ":" in line:
            key, value = line.split(":", 1)
            out[key] = value
    return out


def _pairs(reply: Sequence[bytes]) -> dict[str, str]:
    """A flat [k1, v1, k2, v2, ...] reply (SENTINEL MASTER and friends) as a dict."""
    items = [x.decode(errors="replace") for x in reply]
    return dict(zip(items[::2], items[1::2]))


class _Unstable(ReplyError):
    """Internal: the reason a wait goes on (kept apart from real reply errors)."""


def _wait_until(check: Callable[[], _T | None], timeout: float, what: str) -> _T:
    """Call *check* until it returns something other than None, for at most *timeout* s.

    *check* may raise OSError or ReplyError (a node restarting, a refused
    connection): that counts as "not yet". Raises TopologyError naming the
    last reason when time is up.
    """
    deadline = time.monotonic() + timeout
    delay = 0.02
    last = "not checked"
    for _ in range(100_000):  # bounded; the deadline ends it much sooner
        try:
            result = check()
        except _Unstable as exc:
            last = str(exc)
        except (OSError, ReplyError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if result is not None:
                return result
        if time.monotonic() >= deadline:
            break
        time.sleep(delay)
        delay = min(delay * 1.5, 0.1)
    raise TopologyError(f"{what}: not reached within {timeout:g} s ({last})")


@functools.lru_cache(maxsize=8)
def _server_version(executable: str) -> tuple[int, int, int]:
    """The version of a redis-server binary, from ``redis-server --version``."""
    try:
        out = subprocess.run(
            [executable, "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
            env=_child_env(),
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise RedisServerError(f"cannot run {executable} --version: {exc}") from exc
    match = re.search(r"v=(\d+)\.(\d+)\.(\d+)", out)
    if match is None:
        raise RedisServerError(f"cannot read the version of {executable}: {out.strip()!r}")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def _find_port_pair(host: str, offset: int = 10000, attempts: int = 200) -> int:
    """A port P with P and P + *offset* both free a moment ago (for a cluster bus before 7.0)."""
    for _ in range(attempts):
        port = find_free_port(host)
        if port + offset > 65535:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port + offset))
            except OSError:
                continue
        return port
    raise RedisServerError(f"no free port pair (P, P+{offset}) found in {attempts} attempts")


def _fast_args(version: tuple[int, int, int]) -> list[str]:
    """Config that makes data nodes quick to sync and to stop."""
    # A full sync starts at once instead of waiting 5 s for more replicas to join.
    args = ["--repl-diskless-sync-delay", "0"]
    if version >= (7, 0, 0):
        args += ["--shutdown-timeout", "0"]  # SIGTERM never waits for replicas
    return args


def close_all(closeables: Iterable[_Closeable]) -> None:
    """Call ``close()`` on each, in order; then raise the first exception, if any."""
    errors: list[Exception] = []
    for item in closeables:
        try:
            item.close()
        except Exception as exc:  # close the others, then report
            errors.append(exc)
    if errors:
        raise errors[0]


def _require_executable(executable: str | None) -> str:
    exe = executable or shutil.which("redis-server")
    if exe is None:
        raise RedisServerError("redis-server not found on PATH")
    return exe


class _TopologyBase:
    """What both managers share: certificates, commands to a node, closing."""

    password: str | None
    tls: bool

    def __init__(self) -> None:
        self._certs: RedisServer | None = None

    def _all_servers(self) -> list[RedisServer]:
        raise NotImplementedError

    @property
    def pids(self) -> list[int]:
        """The pids of every process of the topology that is running now."""
        return [s.pid for s in self._all_servers() if s.pid is not None]

    @property
    def ca_cert(self) -> str:
        """With ``tls=True``: the CA that signed every server and client certificate."""
        return self._cert_source().ca_cert

    @property
    def client_cert(self) -> str:
        """With ``tls=True``: a client certificate every server accepts."""
        return self._cert_source().client_cert

    @property
    def client_key(self) -> str:
        """With ``tls=True``: the key of :attr:`client_cert`."""
        return self._cert_source().client_key

    def ssl_context(self) -> ssl.SSLContext:
        """An SSLContext that trusts the topology's CA and presents the client certificate."""
        ctx = ssl.create_default_context(cafile=self.ca_cert)
        ctx.load_cert_chain(self.client_cert, self.client_key)
        return ctx

    def _cert_source(self) -> RedisServer:
        if self._certs is None:
            raise TopologyError("the topology was not started with tls=True")
        return self._certs

    def _make_certificates(self) -> None:
        """Make one CA and one server and client certificate for every process."""
        if self.tls and self._certs is None:
            self._certs = RedisServer(tls=True)
            self._certs._make_certificates()

    def _share_certificates(self, server: RedisServer) -> None:
        """Copy the shared certificates where *server* looks for its own."""
        if self._certs is not None:
            shutil.copytree(self._certs.tmpdir / "tls", server.tmpdir / "tls", dirs_exist_ok=True)

    def _tls_args(self, replication: bool) -> list[str]:
        """Outgoing TLS for node-to-node links: client certificate (and tls-replication)."""
        if not self.tls:
            return []
        certs = self._cert_source()
        args = [
            "--tls-client-cert-file",
            certs.client_cert,
            "--tls-client-key-file",
            certs.client_key,
        ]
        if replication:
            args += ["--tls-replication", "yes"]
        return args

    def command(self, server: RedisServer, *args: Union[str, bytes, int]) -> Any:
        """Run one command on *server* (over its unix socket) and return the reply.

        Replies are bytes, int, None or lists; an error reply raises
        :class:`ReplyError`. Meant for setting up and checking a test, not for
        the traffic under test.
        """
        with self._connect(server) as conn:
            return conn.call(*args)

    def _connect(self, server: RedisServer, timeout: float = COMMAND_TIMEOUT) -> _RespConnection:
        return _RespConnection(server.unix_socket_path, password=server.password, timeout=timeout)

    def pause(self, server: RedisServer) -> None:
        """SIGSTOP *server*: its sockets accept, nothing answers; teardown resumes it."""
        server.pause()

    def resume(self, server: RedisServer) -> None:
        """SIGCONT a paused process."""
        server.resume()

    def kill(self, server: RedisServer) -> None:
        """SIGKILL *server* (a crash); ``restart(server)`` or ``heal()`` brings it back."""
        server.kill()

    def start(self: _B) -> _B:
        raise NotImplementedError

    def close(self) -> None:
        """Stop every process by pid (resuming paused ones) and remove their directories."""
        certs, self._certs = self._certs, None
        close_all([*reversed(self._all_servers()), *([certs] if certs else [])])

    def __enter__(self: _B) -> _B:
        if not self._all_servers():
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _wait_timeout(self, timeout: float | None) -> float:
        return WAIT_TIMEOUT if timeout is None else timeout


# -- Redis Cluster ---------------------------------------------------------------


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


class SentinelServer(RedisServer):
    """A redis-server in sentinel mode (``redis-server sentinel.conf --sentinel``).

    *config* is written to :attr:`config_path` before the first start; the
    sentinel rewrites that file as it learns, so a restarted sentinel keeps
    what it knew.
    """

    def __init__(self, *, config: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._config = config

    @property
    def config_path(self) -> Path:
        """The sentinel's configuration file (written by the sentinel too)."""
        return self.tmpdir / "sentinel.conf"

    def _spawn(self, exe: str) -> None:
        if not self.config_path.exists():
            self.config_path.write_text(self._config)
            self.config_path.chmod(0o600)
        super()._spawn(exe)

    def _command_line(self, exe: str) -> list[str]:
        args = super()._command_line(exe)
        return [args[0], str(self.config_path), *args[1:], "--sentinel"]

    def __repr__(self) -> str:
        return super().__repr__().replace("<RedisServer", "<SentinelServer", 1)


class RedisSentinelServers(_TopologyBase):
    """A primary, its replicas and sentinels watching them: real redis-server processes.

    :meth:`start` (or ``with``) starts the primary, the replicas
    (``--replicaof``) and waits until they are in sync, then the sentinels
    (``sentinel monitor SERVICE ... QUORUM``), and waits until every
    sentinel names the same primary, sees every replica and every other
    sentinel, and ``SENTINEL CKQUORUM`` passes.

    Args:
        service_name: the name the sentinels monitor.
        replicas: number of replicas (at least 1 for a failover).
        sentinels: number of sentinels.
        quorum: sentinels that must agree the primary is down.
        down_after_ms: ``down-after-milliseconds``; default 1000 on redis 7.0+,
            whose sentinels are told to ping every 200 ms (``SENTINEL DEBUG``:
            also ask-period 200, publish-period 500, info-period 1000), else
            2000 with the default 1 s ping period.
        failover_timeout_ms: ``failover-timeout``.
        password: ``requirepass``/``masterauth`` on the data nodes
            (``sentinel auth-pass`` on the sentinels).
        sentinel_password: ``requirepass`` on the sentinels themselves
            (``sentinel sentinel-pass`` between them).
        tls: TLS-only processes (``tls-replication yes``), with
            :attr:`ca_cert`, :attr:`client_cert`, :attr:`client_key`.
        tls_auth_clients: as for RedisServer.
        extra_args: more command-line config for the data nodes.
        sentinel_config: more lines for every sentinel's configuration file.
        startup_timeout: bound on each start and on the whole set-up.
        executable: the redis-server binary (default: found on PATH).

    Faults: :meth:`failover` (``SENTINEL FAILOVER``), :meth:`kill_primary`,
    :meth:`restart`, :meth:`pause`. Views: :attr:`primary`,
    :meth:`master_address`, :meth:`replicas`, :attr:`sentinel_addresses`.
    """

    def __init__(
        self,
        *,
        service_name: str = "mymaster",
        replicas: int = 1,
        sentinels: int = 3,
        quorum: int = 2,
        down_after_ms: int | None = None,
        failover_timeout_ms: int = 5000,
        password: str | None = None,
        sentinel_password: str | None = None,
        tls: bool = False,
        tls_auth_clients: Union[bool, str] = "yes",
        extra_args: Sequence[str] = (),
        sentinel_config: Iterable[str] = (),
        startup_timeout: float = WAIT_TIMEOUT,
        executable: str | None = None,
    ) -> None:
        super().__init__()
        if replicas < 0 or sentinels < 1 or not 1 <= quorum <= sentinels:
            raise ValueError("need replicas >= 0, sentinels >= 1 and 1 <= quorum <= sentinels")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", service_name):
            raise ValueError("service_name must be letters, digits, '_', '.' or '-'")
        self.service_name = service_name
        self.replica_count = replicas
        self.sentinel_count = sentinels
        self.quorum = quorum
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.password = password
        self.sentinel_password = sentinel_password
        self.tls = tls
        self.tls_auth_clients = tls_auth_clients
        self.extra_args = list(extra_args)
        self.sentinel_config = list(sentinel_config)
        self.startup_timeout = startup_timeout
        self.executable = executable
        self.host = "127.0.0.1"
        #: The data nodes: the first started as the primary, then the replicas.
        self.servers: list[RedisServer] = []
        #: The sentinels.
        self.sentinels: list[SentinelServer] = []
        self._version: tuple[int, int, int] = (0, 0, 0)

    def _all_servers(self) -> list[RedisServer]:
        return [*self.servers, *self.sentinels]

    # -- life cycle -----------------------------------------------------------------

    def start(self) -> RedisSentinelServers:
        """Start everything and wait until the sentinels agree; return self."""
        if self.servers:
            raise TopologyError("the sentinel topology was already started")
        exe = _require_executable(self.executable)
        self._version = _server_version(exe)
        if self.down_after_ms is None:
            self.down_after_ms = 1000 if self._tuned else 2000
        try:
            self._make_certificates()
            primary = self._new_data_server(exe, replicaof=None)
            for _ in range(self.replica_count):
                self._new_data_server(exe, replicaof=primary)
            _wait_until(self._replication_ok, self.startup_timeout, "replicas in sync")
            for _ in range(self.sentinel_count):
                sentinel = SentinelServer(
                    config=self._sentinel_config(primary),
                    password=self.sentinel_password,
                    tls=self.tls,
                    tls_auth_clients=self.tls_auth_clients,
                    extra_args=self._tls_args(replication=True),
                    startup_timeout=self.startup_timeout,
                    executable=exe,
                )
                self.sentinels.append(sentinel)
                self._share_certificates(sentinel)
                self._start_sentinel(sentinel)
            self.wait_stable(self.startup_timeout)
        except BaseException:
            self.close()
            raise
        logger.debug("redis sentinel topology started: %r", self)
        return self

    @property
    def _tuned(self) -> bool:
        return self._version >= (7, 0, 0)

    def _start_sentinel(self, sentinel: SentinelServer) -> None:
        """Start *sentinel* and shorten its periods (not kept in its config file)."""
        sentinel.start()
        if self._tuned:
            pairs = [str(x) for pair in _SENTINEL_PERIODS for x in pair]
            self.command(sentinel, "SENTINEL", "DEBUG", *pairs)

    def _new_data_server(self, exe: str, replicaof: RedisServer | None) -> RedisServer:
        args = [*_fast_args(self._version), *self._tls_args(replication=True)]
        if self.password is not None:
            args += ["--masterauth", self.password]
        server = RedisServer(
            password=self.password,
            tls=self.tls,
            tls_auth_clients=self.tls_auth_clients,
            extra_args=[*args, *self.extra_args],
            startup_timeout=self.startup_timeout,
            executable=exe,
        )
        self.servers.append(server)
        self._share_certificates(server)
        self._set_replicaof(server, replicaof)
        server.start()
        return server

    @staticmethod
    def _set_replicaof(server: RedisServer, primary: RedisServer | None) -> None:
        """Make *server*'s next start a replica of *primary* (or a primary, with None)."""
        args = server.extra_args
        while "--replicaof" in args:
            at = args.index("--replicaof")
            del args[at : at + 3]
        if primary is not None:
            args += ["--replicaof", primary.host, str(primary.port)]

    def _sentinel_config(self, primary: RedisServer) -> str:
        name = self.service_name
        lines = [
            f"sentinel monitor {name} {primary.host} {primary.port} {self.quorum}",
            f"sentinel down-after-milliseconds {name} {self.down_after_ms}",
            f"sentinel failover-timeout {name} {self.failover_timeout_ms}",
            f"sentinel parallel-syncs {name} 1",
        ]
        if self.password is not None:
            lines.append(f"sentinel auth-pass {name} {_config_quote(self.password)}")
        if self.sentinel_password is not None:
            lines.append(f"sentinel sentinel-pass {_config_quote(self.sentinel_password)}")
        return "\n".join([*lines, *self.sentinel_config, ""])

    def __repr__(self) -> str:
        running = sum(1 for s in self._all_servers() if s.is_running)
        return (
            f"<RedisSentinelServers {self.service_name!r}: 1 primary, {self.replica_count} "
            f"replicas, {self.sentinel_count} sentinels, {running} running>"
        )

    # -- views ----------------------------------------------------------------------

    @property
    def sentinel_addresses(self) -> list[tuple[str, int]]:
        """``(host, port)`` of every running sentinel, for ``from_sentinel``."""
        return [(s.host, s.port) for s in self.sentinels if s.is_running]

    def master_address(self, sentinel: SentinelServer | None = None) -> tuple[str, int]:
        """``SENTINEL GET-MASTER-ADDR-BY-NAME`` on *sentinel* (default: the first live one)."""
        sentinel = sentinel or self._any_live_sentinel()
        reply = self.command(sentinel, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service_name)
        if not reply:
            raise TopologyError(f"{sentinel!r} does not know {self.service_name!r}")
        return reply[0].decode(), int(reply[1])

    @property
    def primary(self) -> RedisServer:
        """The data node the (first live) sentinel names as the primary now."""
        host, port = self.master_address()
        return self._server_at(host, port)

    def replicas(self) -> list[RedisServer]:
        """The running data nodes other than :attr:`primary`."""
        primary = self.primary
        return [s for s in self.servers if s.is_running and s is not primary]

    def _server_at(self, host: str, port: int) -> RedisServer:
        for server in self.servers:
            if server.host == host and server.port == port:
                return server
        raise KeyError(f"{host}:{port}")

    def _any_live_sentinel(self) -> SentinelServer:
        for sentinel in self.sentinels:
            if sentinel.is_running and not sentinel.is_paused:
                return sentinel
        raise TopologyError("no sentinel is running")

    def _live(self, servers: Iterable[_S]) -> list[_S]:
        return [s for s in servers if s.is_running and not s.is_paused]

    # -- waiting -------------------------------------------------------------------

    def _role(self, server: RedisServer) -> list[Any]:
        role: list[Any] = self.command(server, "ROLE")
        return role

    def _replication_ok(self, primary: RedisServer | None = None) -> bool | None:
        """True when every live data node but *primary* replicates from it, link up."""
        primary = primary or self.servers[0]
        if self._role(primary)[0] != b"master":
            raise _Unstable(f"{primary!r} is not a primary")
        for server in self._live(self.servers):
            if server is primary:
                continue
            role = self._role(server)
            if role[0] != b"slave" or (role[1].decode(), int(role[2])) != (
                primary.host,
                primary.port,
            ):
                raise _Unstable(f"{server!r} does not replicate from {primary!r}")
            if role[3] != b"connected":
                raise _Unstable(f"{server!r}: replication {role[3].decode()}")
        return True

    def wait_stable(self, timeout: float | None = None) -> None:
        """Wait until the live processes form a healthy set-up.

        Healthy: every live sentinel names the same running primary, which
        says it is a primary; every other live data node replicates from it
        with the link up; every sentinel lists those replicas and the other
        live sentinels without s_down/o_down/disconnected flags, and
        ``SENTINEL CKQUORUM`` passes. Bounded by *timeout* (default WAIT_TIMEOUT).
        """
        _wait_until(self._stable, self._wait_timeout(timeout), "a stable sentinel set-up")

    def _stable(self) -> bool | None:
        sentinels = self._live(self.sentinels)
        if not sentinels:
            raise _Unstable("no sentinel is running")
        addresses = {self.master_address(s) for s in sentinels}
        if len(addresses) != 1:
            raise _Unstable(f"the sentinels name different primaries: {sorted(addresses)}")
        primary = self._server_at(*addresses.pop())
        if not primary.is_running or primary.is_paused:
            raise _Unstable(f"the sentinels name {primary!r}, which is down")
        self._replication_ok(primary)
        name = self.service_name
        want_replicas = {(s.host, s.port) for s in self._live(self.servers) if s is not primary}
        for sentinel in sentinels:
            want_peers = {(p.host, p.port) for p in sentinels if p is not sentinel}
            with self._connect(sentinel) as conn:
                master, replicas, peers, quorum = conn.pipeline(
                    [
                        ("SENTINEL", "MASTER", name),
                        ("SENTINEL", "REPLICAS", name),
                        ("SENTINEL", "SENTINELS", name),
                        ("SENTINEL", "CKQUORUM", name),
                    ]
                )
            for reply in (master, replicas, peers, quorum):
                if isinstance(reply, ReplyError):
                    raise _Unstable(f"{sentinel!r}: {reply}")
            flags = set(_pairs(master)["flags"].split(","))
            if flags != {"master"}:
                raise _Unstable(f"{sentinel!r}: primary flags {','.join(sorted(flags))}")
            if self._healthy_entries(replicas) < want_replicas:
                raise _Unstable(f"{sentinel!r} does not see every replica up")
            if self._healthy_entries(peers) < want_peers:
                raise _Unstable(f"{sentinel!r} does not see every other sentinel up")
        return True

    @staticmethod
    def _healthy_entries(reply: list[Any]) -> set[tuple[str, int]]:
        out = set()
        for entry in reply:
            fields = _pairs(entry)
            if not set(fields.get("flags", "").split(",")) & _BAD_SENTINEL_FLAGS:
                out.add((fields["ip"], int(fields["port"])))
        return out

    # -- faults ----------------------------------------------------------------------

    def failover(self, *, timeout: float | None = None) -> RedisServer:
        """``SENTINEL FAILOVER`` and wait until every live sentinel names the new primary.

        Returns the new primary, once it says so itself (ROLE). The old one
        is demoted by the sentinels a little later: :meth:`wait_stable`
        waits for that too.
        """
        old = self.primary
        self.command(self._any_live_sentinel(), "SENTINEL", "FAILOVER", self.service_name)
        return self._wait_new_primary(old, timeout)

    def kill_primary(
        self, *, wait: bool = True, timeout: float | None = None
    ) -> RedisServer | None:
        """SIGKILL the primary; with *wait*, return the replica the sentinels promote."""
        old = self.primary
        old.kill()
        if not wait:
            return None
        return self._wait_new_primary(old, timeout)

    def _wait_new_primary(self, old: RedisServer, timeout: float | None) -> RedisServer:
        def announced() -> RedisServer | None:
            new = self._agreed_primary()
            return None if new is old else new

        return _wait_until(announced, self._wait_timeout(timeout), "a new primary announced")

    def restart(
        self, server: RedisServer, *, wait: bool = True, timeout: float | None = None
    ) -> None:
        """Start a stopped data node or sentinel again (same ports), or resume a paused one.

        A data node that is not the primary the sentinels name now comes
        back as its replica (as the sentinels would make it). With *wait*,
        returns once the set-up is stable.
        """
        if server.is_paused:
            server.resume()
        elif server.is_running:
            server.stop()
        if not server.is_running:
            if isinstance(server, SentinelServer):
                self._start_sentinel(server)
            else:
                primary = self.primary
                self._set_replicaof(server, None if primary is server else primary)
                server.start()
        if wait:
            self.wait_stable(timeout)

    # -- housekeeping ---------------------------------------------------------------

    def flushall(self) -> None:
        """FLUSHALL on the primary (the replicas follow)."""
        self.command(self.primary, "FLUSHALL")

    def heal(self, timeout: float | None = None) -> None:
        """Resume, restart and reattach everything, and wait until the set-up is stable.

        A stopped data node comes back as the primary if the sentinels still
        name it, else as a replica of the one they name. A data node that
        still says it is a primary while the sentinels name another (an old
        primary not yet demoted) is made a replica at once with REPLICAOF,
        which the sentinels would otherwise do after a while.
        """
        limit = self._wait_timeout(timeout)
        deadline = time.monotonic() + limit
        for server in self._all_servers():
            if server.is_paused:
                server.resume()
        for sentinel in self.sentinels:
            if not sentinel.is_running:
                self._start_sentinel(sentinel)
        for server in self.servers:
            if not server.is_running:
                self.restart(server, wait=False)
        primary = _wait_until(
            self._agreed_primary, limit, "the sentinels to agree on a running primary"
        )
        for server in self._live(self.servers):
            if server is not primary and self._role(server)[0] == b"master":
                self.command(server, "REPLICAOF", primary.host, primary.port)
        self.wait_stable(max(0.001, deadline - time.monotonic()))

    def _agreed_primary(self) -> RedisServer | None:
        """The primary every live sentinel names, once it runs and says so itself."""
        addresses = {self.master_address(s) for s in self._live(self.sentinels)}
        if len(addresses) != 1:
            return None
        server = self._server_at(*addresses.pop())
        if not server.is_running or server.is_paused or self._role(server)[0] != b"master":
            return None
        return server


def _config_quote(value: str) -> str:
    """Quote *value* for a redis configuration file line."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'
