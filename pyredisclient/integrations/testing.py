"""Throwaway redis-server instances for tests, demos and benchmarks.

:class:`RedisServer` runs a real ``redis-server`` from ``PATH`` on a free
loopback port, in a temporary directory of its own, with a unix socket and
optionally a TLS port using certificates made at start-up with the
``openssl`` command. It is stopped by pid, dies with the process that
started it (``PR_SET_PDEATHSIG`` on Linux), and can be paused with SIGSTOP
to act as a hung server: the kernel still completes TCP handshakes, but
nothing is ever answered.

Standard library only; pytest is not imported here (see
:mod:`pyredisclient.pytest_plugin` for the fixtures).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Callable, Union

__all__ = ["RedisServer", "RedisServerError", "find_free_port", "redis_server_available"]

logger = logging.getLogger("pyredisclient")

#: How long start() waits for the server to answer PING.
STARTUP_TIMEOUT = 10.0
#: How long stop() waits after SIGTERM before sending SIGKILL.
STOP_TIMEOUT = 5.0
#: How many times start() tries again when a port turned out to be taken.
START_ATTEMPTS = 5

_PR_SET_PDEATHSIG = 1
_ADDR_IN_USE_MARKERS = ("Address already in use", "EADDRINUSE")
# A unix socket path must fit in sockaddr_un.sun_path (108 bytes on Linux).
_MAX_UNIX_PATH = 100


class RedisServerError(RuntimeError):
    """redis-server could not be started or did not become ready."""


def redis_server_available() -> bool:
    """Return True when a ``redis-server`` binary is on ``PATH``."""
    return shutil.which("redis-server") is not None


def find_free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on *host* that was free a moment ago.

    The port is found by binding port 0 and reading back what the kernel
    chose. Another process may take it before it is used, which is why
    :meth:`RedisServer.start` retries on EADDRINUSE.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _child_env() -> dict[str, str]:
    """The environment for helper processes (redis-server, openssl).

    LD_PRELOAD is dropped: when pytest runs under AddressSanitizer the
    runtime is preloaded into Python, and it must not leak into the server,
    which is not the code under test.
    """
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    return env


def _make_preexec() -> Callable[[], None] | None:
    """Return a preexec_fn that ties the child's life to ours, or None.

    Everything is resolved before fork, so the child only makes one call.
    PR_SET_PDEATHSIG fires when the *thread* that forked the child exits;
    start servers from the main thread (as the pytest fixtures do).
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):  # pragma: no cover - exotic libc
        return None
    prctl.restype = ctypes.c_int
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        # The parent may have died before prctl took effect.
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def _resp_command(*args: Union[str, bytes]) -> bytes:
    """Encode one command as a RESP array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _read_lines(sock: socket.socket, count: int, deadline: float) -> list[bytes]:
    """Read *count* CRLF-terminated lines (simple replies) before *deadline*."""
    buf = b""
    while buf.count(b"\r\n") < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no reply from redis-server")
        sock.settimeout(remaining)
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("redis-server closed the connection")
        buf += chunk
        if len(buf) > 65536:
            raise ConnectionError("unexpected reply from redis-server")
    return buf.split(b"\r\n")[:count]


def raw_ping(
    address: Union[tuple[str, int], str],
    password: str | None = None,
    timeout: float = 1.0,
    ssl_context: ssl.SSLContext | None = None,
) -> bytes:
    """Send PING over a raw socket and return the reply line, e.g. ``b"+PONG"``.

    *address* is ``(host, port)`` or a unix socket path. With *password*,
    AUTH is sent first. *ssl_context* (an :class:`ssl.SSLContext`) wraps a
    TCP connection in TLS. This never uses pyredisclient itself, so the
    server can be checked while the client is broken.
    """
    deadline = time.monotonic() + timeout
    if isinstance(address, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with contextlib.ExitStack() as stack:
        stack.enter_context(sock)
        sock.settimeout(timeout)
        sock.connect(address)
        if ssl_context is not None:
            host = address[0] if isinstance(address, tuple) else None
            sock = ssl_context.wrap_socket(sock, server_hostname=host)
            stack.enter_context(sock)
        payload = b""
        count = 1
        if password is not None:
            payload += _resp_command("AUTH", password)
            count = 2
        payload += _resp_command("PING")
        sock.sendall(payload)
        lines = _read_lines(sock, count, deadline)
        if password is not None and lines[0] != b"+OK":
            return lines[0]
        return lines[-1]
    raise AssertionError("unreachable")  # pragma: no cover


class RedisServer:
    """A redis-server process on loopback, in a temporary directory of its own.

    ``RedisServer()`` only prepares; :meth:`start` (or ``with``) runs it.
    The port chosen by the first start is kept by :meth:`restart`, so
    clients can reconnect to the same address.

    Args:
        password: set ``requirepass``; :attr:`url` then carries it.
        extra_args: more command-line config, e.g. ``["--maxclients", "10"]``.
        tls: also listen for TLS on :attr:`tls_port`, with a CA, a server
            and a client certificate made by the ``openssl`` command. The
            plain TCP port is disabled (``--port 0``) unless *tls_plain_port*.
        tls_auth_clients: ``"yes"`` (redis's default: client certificate
            required), ``"no"`` or ``"optional"``; a bool maps to yes/no.
        tls_plain_port: with *tls*, keep the plain TCP port open too.
        startup_timeout: seconds to wait for the server to answer PING.
        executable: the redis-server binary (default: found on PATH).
    """

    def __init__(
        self,
        *,
        password: str | None = None,
        extra_args: Sequence[str] = (),
        tls: bool = False,
        tls_auth_clients: Union[bool, str] = "yes",
        tls_plain_port: bool = False,
        startup_timeout: float = STARTUP_TIMEOUT,
        executable: str | None = None,
    ) -> None:
        if isinstance(tls_auth_clients, bool):
            tls_auth_clients = "yes" if tls_auth_clients else "no"
        if tls_auth_clients not in ("yes", "no", "optional"):
            raise ValueError("tls_auth_clients must be yes, no, optional or a bool")
        self.password = password
        self.extra_args = list(extra_args)
        self.tls = tls
        self.tls_auth_clients = tls_auth_clients
        self.tls_plain_port = tls_plain_port
        self.startup_timeout = startup_timeout
        self.executable = executable
        self.host = "127.0.0.1"
        self._plain_port: int | None = None
        self._tls_port: int | None = None
        self._ports_fixed = False
        self._proc: subprocess.Popen[bytes] | None = None
        self._paused = False
        self._tmpdir: Path | None = None
        self._log_handle: IO[bytes] | None = None

    # -- properties ---------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port that :attr:`url` names: the TLS port when TLS-only."""
        port = self._plain_port if self._plain_port else self._tls_port
        if not port:
            raise RedisServerError("the server has not been started")
        return port

    @property
    def plain_port(self) -> int | None:
        """The plain (non-TLS) TCP port, or None when there is none."""
        return self._plain_port or None

    @property
    def tls_port(self) -> int | None:
        """The TLS port, or None without ``tls=True``."""
        return self._tls_port

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0`` (``rediss://`` when TLS-only).

        With a password: ``redis://:PASSWORD@127.0.0.1:PORT/0``. Certificates
        are not in the URL; pass :attr:`ca_cert` and friends separately.
        """
        scheme = "redis" if self._plain_port else "rediss"
        auth = ""
        if self.password is not None:
            auth = ":" + urllib.parse.quote(self.password, safe="") + "@"
        return f"{scheme}://{auth}{self.host}:{self.port}/0"

    @property
    def tmpdir(self) -> Path:
        """The server's own directory: config, log, socket, certificates."""
        if self._tmpdir is None:
            base: str | None = None
            if len(tempfile.gettempdir()) > _MAX_UNIX_PATH - 40:
                base = "/tmp"
            self._tmpdir = Path(tempfile.mkdtemp(prefix="prc-redis-", dir=base))
        return self._tmpdir

    @property
    def unix_socket_path(self) -> str:
        """Path of the server's unix socket (permissions 700)."""
        return str(self.tmpdir / "redis.sock")

    @property
    def log_path(self) -> Path:
        """The server's log file."""
        return self.tmpdir / "redis.log"

    @property
    def ca_cert(self) -> str:
        """PEM file of the CA that signed the server and client certificates."""
        return str(self.tmpdir / "tls" / "ca.crt")

    @property
    def server_cert(self) -> str:
        """PEM server certificate (SAN: localhost, 127.0.0.1, ::1)."""
        return str(self.tmpdir / "tls" / "server.crt")

    @property
    def server_key(self) -> str:
        """PEM private key of the server certificate."""
        return str(self.tmpdir / "tls" / "server.key")

    @property
    def client_cert(self) -> str:
        """PEM client certificate, for ``tls_auth_clients="yes"``."""
        return str(self.tmpdir / "tls" / "client.crt")

    @property
    def client_key(self) -> str:
        """PEM private key of the client certificate."""
        return str(self.tmpdir / "tls" / "client.key")

    @property
    def pid(self) -> int | None:
        """The server's pid while it runs, else None."""
        if self._proc is None or self._proc.poll() is not None:
            return None
        return self._proc.pid

    @property
    def is_running(self) -> bool:
        """True while the process exists (paused counts as running)."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def is_paused(self) -> bool:
        """True between :meth:`pause` and :meth:`resume`."""
        return self._paused and self.is_running

    # -- life cycle ---------------------------------------------------------

    def start(self) -> RedisServer:
        """Start the server and wait until it answers PING; return self.

        Retries on a taken port (EADDRINUSE) up to START_ATTEMPTS times.
        Raises :class:`RedisServerError` with the log tail on failure.
        """
        if self.is_running:
            raise RedisServerError("the server is already running")
        exe = self.executable or shutil.which("redis-server")
        if exe is None:
            raise RedisServerError("redis-server not found on PATH")
        if self.tls and not Path(self.ca_cert).exists():
            self._make_certificates()
        last_error: RedisServerError | None = None
        for attempt in range(1, START_ATTEMPTS + 1):
            if not self._ports_fixed:
                self._plain_port = find_free_port(self.host) if self._wants_plain() else 0
                self._tls_port = find_free_port(self.host) if self.tls else None
            try:
                self._spawn(exe)
                self._wait_ready()
            except RedisServerError as exc:
                self._terminate()
                last_error = exc
                if not self._address_in_use():
                    raise
                logger.debug("redis-server: port taken (attempt %d), retrying", attempt)
                time.sleep(0.05 * attempt)
                continue
            self._ports_fixed = True
            logger.debug("redis-server started: pid %s, %s", self.pid, self.url)
            return self
        assert last_error is not None
        raise last_error

    def stop(self) -> None:
        """Stop the server by pid: SIGTERM, then SIGKILL after STOP_TIMEOUT.

        A paused server is resumed first, so SIGTERM can be handled.
        Does nothing when the server is not running.
        """
        self._terminate()

    def restart(self) -> RedisServer:
        """Stop and start again on the same port(s) and unix socket."""
        self.stop()
        return self.start()

    def pause(self) -> None:
        """Freeze the server with SIGSTOP: connects succeed, nothing answers."""
        proc = self._require_running()
        os.kill(proc.pid, signal.SIGSTOP)
        self._paused = True
        self._wait_state(proc.pid, stopped=True)

    def resume(self) -> None:
        """Undo :meth:`pause` with SIGCONT."""
        proc = self._require_running()
        os.kill(proc.pid, signal.SIGCONT)
        self._paused = False
        self._wait_state(proc.pid, stopped=False)

    def kill(self) -> None:
        """Kill the server with SIGKILL (a crash: no shutdown of any kind)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_TIMEOUT)
        self._paused = False
        self._close_log()

    def close(self) -> None:
        """Resume if paused, stop, and remove the temporary directory."""
        try:
            self._terminate()
        finally:
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                self._tmpdir = None

    def __enter__(self) -> RedisServer:
        if not self.is_running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "paused" if self.is_paused else "running" if self.is_running else "stopped"
        where = f" {self.host}:{self.port}" if (self._plain_port or self._tls_port) else ""
        return f"<RedisServer{where} pid={self.pid} {state}>"

    def __del__(self) -> None:
        # Last resort; tests should call close(). Never raise from here.
        with contextlib.suppress(Exception):
            if self._proc is not None and self._proc.poll() is None:
                os.kill(self._proc.pid, signal.SIGCONT)
                os.kill(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=STOP_TIMEOUT)
            self._close_log()

    def log_tail(self, lines: int = 30) -> str:
        """The last *lines* lines of the server log ("" if there is none)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # -- internals ----------------------------------------------------------

    def _wants_plain(self) -> bool:
        return not self.tls or self.tls_plain_port

    def _command_line(self, exe: str) -> list[str]:
        args = [
            exe,
            "--bind", self.host,
            "--port", str(self._plain_port or 0),
            "--dir", str(self.tmpdir),
            "--logfile", str(self.log_path),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--unixsocket", self.unix_socket_path,
            "--unixsocketperm", "700",
        ]  # fmt: skip
        if self.password is not None:
            args += ["--requirepass", self.password]
        if self.tls:
            args += [
                "--tls-port", str(self._tls_port),
                "--tls-cert-file", self.server_cert,
                "--tls-key-file", self.server_key,
                "--tls-ca-cert-file", self.ca_cert,
                "--tls-auth-clients", self.tls_auth_clients,
            ]  # fmt: skip
        return args + self.extra_args

    def _spawn(self, exe: str) -> None:
        self._close_log()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.unix_socket_path)
        # Anything redis prints before its log file is open lands here too.
        log = open(self.tmpdir / "stdout.log", "ab")  # kept open while running
        self._log_handle = log
        self._proc = subprocess.Popen(
            self._command_line(exe),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(self.tmpdir),
            env=_child_env(),
            preexec_fn=_make_preexec(),
            close_fds=True,
        )
        self._paused = False

    def _wait_ready(self) -> None:
        """Poll with PING until it answers, the process dies, or time is up."""
        assert self._proc is not None
        deadline = time.monotonic() + self.startup_timeout
        address: Union[tuple[str, int], str]
        if self._plain_port:
            address = (self.host, self._plain_port)
        else:
            address = self.unix_socket_path
        last = "no answer"
        delay = 0.01
        for _ in range(10_000):  # bounded; the deadline ends it much sooner
            if self._proc.poll() is not None:
                raise self._startup_error(f"redis-server exited with code {self._proc.returncode}")
            try:
                reply = raw_ping(address, self.password, timeout=0.5)
            except OSError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if reply == b"+PONG":
                    return
                last = reply.decode(errors="replace")
                if not last.startswith("-LOADING"):
                    raise self._startup_error(f"unexpected reply to PING: {last}")
            if time.monotonic() >= deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        raise self._startup_error(
            f"redis-server did not answer PING within {self.startup_timeout:g} s ({last})"
        )

    def _startup_error(self, message: str) -> RedisServerError:
        tail = self.log_tail()
        try:
            early = (self.tmpdir / "stdout.log").read_text(errors="replace").strip()
        except OSError:
            early = ""
        details = "\n".join(part for part in (early[-2000:], tail) if part)
        return RedisServerError(f"{message}\n--- redis-server log ({self.tmpdir}) ---\n{details}")

    def _address_in_use(self) -> bool:
        text = self.log_tail(50)
        with contextlib.suppress(OSError):
            text += (self.tmpdir / "stdout.log").read_text(errors="replace")
        return any(marker in text for marker in _ADDR_IN_USE_MARKERS)

    def _terminate(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            # SIGTERM stays pending on a stopped process until SIGCONT.
            os.kill(proc.pid, signal.SIGCONT)
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                logger.warning("redis-server pid %d ignored SIGTERM; sending SIGKILL", proc.pid)
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=STOP_TIMEOUT)
        self._paused = False
        self._close_log()

    def _close_log(self) -> None:
        handle = self._log_handle
        self._log_handle = None
        if handle is not None:
            handle.close()

    def _require_running(self) -> subprocess.Popen[bytes]:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            raise RedisServerError("the server is not running")
        return proc

    @staticmethod
    def _wait_state(pid: int, *, stopped: bool, timeout: float = 2.0) -> None:
        """Wait until /proc says the process is (or is no longer) stopped."""
        stat = Path(f"/proc/{pid}/stat")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                # The state follows the ")" that closes the command name.
                state = stat.read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                return  # no procfs (or the process is gone): nothing to wait for
            if (state in ("T", "t")) == stopped:
                return
            time.sleep(0.005)

    def _make_certificates(self) -> None:
        """Make a CA and a server and a client certificate with ``openssl``."""
        openssl = shutil.which("openssl")
        if openssl is None:
            raise RedisServerError("tls=True needs the openssl command on PATH")
        tls_dir = self.tmpdir / "tls"
        tls_dir.mkdir(mode=0o700, exist_ok=True)
        conf = tls_dir / "openssl.cnf"
        conf.write_text(_OPENSSL_CONF)
        env = _child_env()
        env["OPENSSL_CONF"] = str(conf)

        def run(*args: str) -> None:
            try:
                subprocess.run(
                    [openssl, *args],
                    cwd=tls_dir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    check=True,
                    timeout=60,
                )
            except subprocess.CalledProcessError as exc:
                output = (exc.stdout + exc.stderr).decode(errors="replace")
                raise RedisServerError(f"openssl {args[0]} failed:\n{output}") from exc

        def key(name: str) -> None:
            # P-256: as good a test as RSA, and 50 times faster to make.
            run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-out", f"{name}.key")  # fmt: skip
            os.chmod(tls_dir / f"{name}.key", 0o600)

        key("ca")
        run("req", "-config", str(conf), "-x509", "-new", "-key", "ca.key", "-sha256",
            "-days", "3650", "-subj", "/O=pyredisclient tests/CN=Test CA",
            "-extensions", "v3_ca", "-out", "ca.crt")  # fmt: skip
        for name, cn in (("server", "localhost"), ("client", "pyredisclient test client")):
            key(name)
            run("req", "-config", str(conf), "-new", "-key", f"{name}.key", "-sha256",
                "-subj", f"/O=pyredisclient tests/CN={cn}", "-out", f"{name}.csr")  # fmt: skip
            run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-set_serial", str(secrets.randbits(63)), "-days", "365", "-sha256",
                "-extfile", str(conf), "-extensions", f"v3_{name}",
                "-out", f"{name}.crt")  # fmt: skip
        if not Path(self.client_cert).exists():  # pragma: no cover - openssl said OK
            raise RedisServerError("openssl did not write the certificates")


_OPENSSL_CONF = """\
# Written by pyredisclient.testing for throwaway test certificates.
[req]
distinguished_name = dn
prompt = no

[dn]
CN = unused

[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer

[v3_client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
"""
