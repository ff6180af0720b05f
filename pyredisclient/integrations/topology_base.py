"""What the cluster and sentinel test topologies share: a raw RESP2 connection, bounded
waits, the redis-server version probe and the base class that starts and stops them.

See :mod:`pyredisclient.integrations.testing_topologies` for the public names.
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
from types import TracebackType
from typing import IO, Any, Callable, Protocol, TypeVar, Union

from .testing import (
    RedisServer,
    RedisServerError,
    _child_env,
    _resp_command,
    find_free_port,
)

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
