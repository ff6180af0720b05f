"""A throwaway Sentinel set-up for tests: :class:`RedisSentinelServers` (see
:mod:`pyredisclient.integrations.testing_topologies`)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Union

from .testing import RedisServer
from .topology_base import (
    _BAD_SENTINEL_FLAGS,
    _S,
    _SENTINEL_PERIODS,
    WAIT_TIMEOUT,
    ReplyError,
    TopologyError,
    _fast_args,
    _pairs,
    _require_executable,
    _server_version,
    _TopologyBase,
    _Unstable,
    _wait_until,
    logger,
)


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
