"""Scriptable fake and malicious Redis servers on loopback, for fault injection.

Each server is a real listening TCP socket on 127.0.0.1 served by threads, so the
client under test goes through its real connect, write, poll and read paths. A
server runs one *handler* per accepted connection; the handlers below play a tiny
Redis, hang, hang up, or answer with hostile bytes. Everything is bounded: sockets
poll with short timeouts and :meth:`FakeServer.close` stops and joins every thread.

Typical use::

    with FakeServer(hang) as srv:
        client = RedisClient(port=srv.port, socket_timeout=0.2)
        ...
        assert srv.command_names() == [b"GET"]
"""

from __future__ import annotations

import contextlib
import fcntl
import random
import select
import socket
import struct
import termios
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Callable, Dict, List, TypeVar

__all__ = [
    "CuttingProxy",
    "FakeServer",
    "FaultProxy",
    "LateDuplicate",
    "Peer",
    "Switchable",
    "bad_exec",
    "blackhole_port",
    "close_after_replies",
    "greeting",
    "hang",
    "mini_redis",
    "send_on_first_command",
    "stale_reply_first",
]

#: How often blocked server threads look at the stop flag.
_TICK = 0.05
#: Longest any thread is waited for in close().
_JOIN_TIMEOUT = 5.0

Command = List[bytes]
_Server = TypeVar("_Server", bound="FakeServer")


class Peer:
    """One accepted connection as a handler sees it: read commands, send bytes."""

    def __init__(self, server: FakeServer, sock: socket.socket, index: int) -> None:
        self.server = server
        self.sock = sock
        #: 0 for the first connection the server accepted, 1 for the next...
        self.index = index
        self._buf = b""
        self.closed = False

    def read_command(self, timeout: float = 10.0) -> Command | None:
        """The next RESP command (a list of bulk strings), or None on EOF/stop/timeout.

        Every command read is also recorded in ``server.commands``.
        """
        deadline = time.monotonic() + timeout
        while True:
            cmd = self._parse()
            if cmd is not None:
                self.server._record(cmd)
                return cmd
            if self.closed or self.server.stopping or time.monotonic() >= deadline:
                return None
            try:
                ready, _, _ = select.select([self.sock], [], [], _TICK)
                if not ready:
                    continue
                chunk = self.sock.recv(65536)
            except (OSError, ValueError):  # ValueError: closed by close()
                return None
            if not chunk:
                return None
            self._buf += chunk

    def _parse(self) -> Command | None:
        buf = self._buf
        if not buf.startswith(b"*"):
            return None
        end = buf.find(b"\r\n")
        if end < 0:
            return None
        count = int(buf[1:end])
        pos = end + 2
        args: Command = []
        for _ in range(count):
            end = buf.find(b"\r\n", pos)
            if end < 0 or buf[pos : pos + 1] != b"$":
                return None
            size = int(buf[pos + 1 : end])
            start = end + 2
            if len(buf) < start + size + 2:
                return None
            args.append(buf[start : start + size])
            pos = start + size + 2
        self._buf = buf[pos:]
        return args

    def buffered(self) -> bool:
        """True when bytes already read wait to be parsed (more of a pipeline)."""
        return bool(self._buf)

    def delivered(self, timeout: float = 2.0) -> bool:
        """Wait until the client's kernel has everything sent so far (nothing is
        left unacknowledged), so a poll on the client's socket sees it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                out = fcntl.ioctl(self.sock, termios.TIOCOUTQ, b"\0\0\0\0")
            except OSError:
                return False
            if struct.unpack("i", out)[0] == 0:
                return True
            time.sleep(0.0005)
        return False

    def send(self, data: bytes) -> bool:
        """Send all of *data*; False when the client has gone."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def close(self) -> None:
        """Hang up (FIN). Safe to call twice."""
        if not self.closed:
            self.closed = True
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()

    def idle(self) -> None:
        """Keep the connection open without answering until the server stops."""
        while not self.closed and not self.server.stopping:
            if self.read_command(timeout=_TICK) is None and self._eof():
                return

    def _eof(self) -> bool:
        try:
            ready, _, _ = select.select([self.sock], [], [], 0)
            return bool(ready) and self.sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True


Handler = Callable[[Peer], None]


class FakeServer:
    """A listening socket on 127.0.0.1 with one thread per accepted connection.

    The port is bound at construction. With ``listen=False`` it stays bound but not
    listening, so connects are refused until :meth:`listen` is called: a server
    that "appears" later on a port nobody else can take meanwhile.
    """

    def __init__(self, handler: Handler, *, listen: bool = True, backlog: int = 64) -> None:
        self.handler = handler
        self.backlog = backlog
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.host = "127.0.0.1"
        self.commands: List[Command] = []
        self.accepted = 0
        self.stopping = False
        self._lock = threading.Lock()
        self._threads: List[threading.Thread] = []
        self._peers: List[Peer] = []
        self._listening = False
        if listen:
            self.listen()

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def listen(self) -> None:
        """Start accepting connections."""
        if self._listening:
            return
        self._listening = True
        self.sock.listen(self.backlog)
        self._spawn(self._accept_loop, "fake-accept")

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads.append(t)
        t.start()

    def _accept_loop(self) -> None:
        while not self.stopping:
            try:
                ready, _, _ = select.select([self.sock], [], [], _TICK)
                if not ready:
                    continue
                conn, _ = self.sock.accept()
            except (OSError, ValueError):
                return
            with self._lock:
                peer = Peer(self, conn, self.accepted)
                self.accepted += 1
                self._peers.append(peer)
            self._spawn(self._serve, "fake-conn", peer)

    def _serve(self, peer: Peer) -> None:
        try:
            self.handler(peer)
        except (OSError, ValueError):
            pass
        finally:
            peer.close()

    def _record(self, cmd: Command) -> None:
        with self._lock:
            self.commands.append(cmd)

    def command_names(self) -> List[bytes]:
        """Upper-cased names of every command received so far, in order."""
        with self._lock:
            return [c[0].upper() for c in self.commands if c]

    def wait_for_commands(self, n: int, timeout: float = 2.0) -> bool:
        """Wait until at least *n* commands were received; False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.commands) >= n:
                    return True
            time.sleep(0.005)
        return False

    def close(self) -> None:
        """Stop accepting, hang up every connection and join every thread."""
        self.stopping = True
        self.sock.close()
        with self._lock:
            peers = list(self._peers)
            threads = list(self._threads)
        for peer in peers:
            peer.close()
        for t in threads:
            t.join(_JOIN_TIMEOUT)

    def __enter__(self: _Server) -> _Server:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# -- handlers -----------------------------------------------------------------


def _bulk(value: bytes | None) -> bytes:
    if value is None:
        return b"$-1\r\n"
    return b"$%d\r\n%s\r\n" % (len(value), value)


class MiniRedis:
    """Just enough Redis to answer a client: PING, ECHO, GET, SET, INCR(BY), DEL, INFO,
    and +OK to the setup commands (AUTH, SELECT, CLIENT)."""

    def __init__(self) -> None:
        self.data: Dict[bytes, bytes] = {}
        self.lock = threading.Lock()

    def reply(self, cmd: Command) -> bytes:
        name = cmd[0].upper()
        with self.lock:
            if name == b"PING":
                return b"+PONG\r\n"
            if name in (b"AUTH", b"SELECT", b"CLIENT"):
                return b"+OK\r\n"
            if name == b"ECHO":
                return _bulk(cmd[1])
            if name == b"GET":
                return _bulk(self.data.get(cmd[1]))
            if name == b"SET":
                self.data[cmd[1]] = cmd[2]
                return b"+OK\r\n"
            if name in (b"INCR", b"INCRBY"):
                value = int(self.data.get(cmd[1], b"0")) + (int(cmd[2]) if len(cmd) > 2 else 1)
                self.data[cmd[1]] = b"%d" % value
                return b":%d\r\n" % value
            if name == b"DEL":
                return b":%d\r\n" % sum(self.data.pop(k, None) is not None for k in cmd[1:])
            if name == b"INFO":
                return _bulk(b"# Server\r\nredis_version:0.0.0-fake\r\n")
        return b"-ERR unknown command '%s'\r\n" % name


def mini_redis(store: MiniRedis | None = None) -> Handler:
    """A handler that answers every command like a (tiny) Redis."""
    db = store if store is not None else MiniRedis()

    def handler(peer: Peer) -> None:
        while True:
            cmd = peer.read_command()
            if cmd is None or not peer.send(db.reply(cmd)):
                return

    return handler


class Switchable:
    """A handler that plays Redis while ``up`` and hangs up on every command while down.

    Flip ``up`` at any time: connections made while up fail on their next command.
    """

    def __init__(self, up: bool = True) -> None:
        self.up = up
        self.db = MiniRedis()

    def __call__(self, peer: Peer) -> None:
        while True:
            cmd = peer.read_command()
            if cmd is None or not self.up or not peer.send(self.db.reply(cmd)):
                return


def hang(peer: Peer) -> None:
    """Accept and read commands (recording them) but never answer."""
    peer.idle()


def close_after_replies(n: int = 1, store: MiniRedis | None = None) -> Handler:
    """Answer *n* commands on each connection correctly, then hang up."""
    db = store if store is not None else MiniRedis()

    def handler(peer: Peer) -> None:
        for _ in range(n):
            cmd = peer.read_command()
            if cmd is None or not peer.send(db.reply(cmd)):
                return
        peer.close()

    return handler


def send_on_first_command(
    payload: bytes,
    *,
    connections: int | None = None,
    then: str = "idle",
    delay_after: float = 0.0,
    extra: bytes = b"",
) -> Handler:
    """After reading a command, send *payload* (then *extra* after *delay_after* s).

    Only the first *connections* connections misbehave (all when None); later ones
    answer like :func:`mini_redis`. After the payload the connection idles
    (``then="idle"``) or is closed (``then="close"``); a misbehaving connection that
    gets a second command answers it normally.
    """
    db = MiniRedis()
    normal = mini_redis(db)

    def handler(peer: Peer) -> None:
        if connections is not None and peer.index >= connections:
            normal(peer)
            return
        if peer.read_command() is None or not peer.send(payload):
            return
        if extra:
            if delay_after:
                time.sleep(delay_after)
            if not peer.send(extra):
                return
        if then == "close":
            peer.close()
            return
        while True:
            cmd = peer.read_command()
            if cmd is None or not peer.send(db.reply(cmd)):
                return

    return handler


def greeting(payload: bytes, *, connections: int | None = None) -> Handler:
    """Send *payload* on accept, before reading anything, then play Redis.

    A proxy banner, or a middlebox that speaks first. Only the first
    *connections* connections greet (all when None).
    """
    db = MiniRedis()
    normal = mini_redis(db)

    def handler(peer: Peer) -> None:
        if connections is None or peer.index < connections:
            if not peer.send(payload):
                return
        normal(peer)

    return handler


class LateDuplicate:
    """A handler that answers each request, then sends its answers again *delay*
    s later.

    A request is what one write of the client held (one command, or a
    pipeline's commands). The connection's thread sleeps meanwhile, so a
    request that arrives in the gap is answered after the duplicate.
    :meth:`wait_duplicates` waits until every request answered so far, on any
    connection, has had its duplicate delivered to the client's kernel, so a
    test can pace its calls on it.
    """

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.db = MiniRedis()
        self._cond = threading.Condition()
        self._answered = 0
        self._duplicated = 0

    def __call__(self, peer: Peer) -> None:
        burst = b""
        while (cmd := peer.read_command()) is not None:
            reply = self.db.reply(cmd)
            burst += reply
            if peer.buffered():
                if not peer.send(reply):
                    return
                continue  # more of a pipeline
            with self._cond:
                self._answered += 1
            try:
                if not peer.send(reply):
                    return
                time.sleep(self.delay)
                if not peer.send(burst) or not peer.delivered():
                    return
            finally:
                with self._cond:
                    self._duplicated += 1
                    self._cond.notify_all()
            burst = b""

    def wait_duplicates(self, timeout: float = 2.0) -> bool:
        """True once every answered request's duplicate was delivered."""
        with self._cond:
            return self._cond.wait_for(lambda: self._duplicated == self._answered, timeout)


def stale_reply_first() -> Handler:
    """Answer every request but a connection's first with the previous answer
    again and then its own, in one write: a duplicate that arrived late, in the
    same read as the next answer. A request is what one write of the client
    held (one command, or a pipeline's commands)."""
    db = MiniRedis()

    def handler(peer: Peer) -> None:
        previous = burst = b""
        while (cmd := peer.read_command()) is not None:
            burst += db.reply(cmd)
            if peer.buffered():
                continue  # more of a pipeline
            if not peer.send(previous + burst):
                return
            previous, burst = burst, b""

    return handler


def bad_exec(exec_reply: bytes) -> Handler:
    """Play Redis, with transactions: MULTI and WATCH answer +OK, commands after
    MULTI +QUEUED, and EXEC answers *exec_reply* (a malformed one, say)."""
    db = MiniRedis()

    def handler(peer: Peer) -> None:
        in_multi = False
        while (cmd := peer.read_command()) is not None:
            name = cmd[0].upper()
            if name in (b"MULTI", b"WATCH", b"UNWATCH"):
                in_multi = in_multi or name == b"MULTI"
                reply = b"+OK\r\n"
            elif name == b"EXEC":
                in_multi = False
                reply = exec_reply
            else:
                reply = b"+QUEUED\r\n" if in_multi else db.reply(cmd)
            if not peer.send(reply):
                return

    return handler


# -- a proxy in front of a real server -----------------------------------------


class FaultProxy(FakeServer):
    """A TCP proxy to a real server that can lose replies.

    The first *drop_first* client connections are "dropped": the proxy reads the
    first command (and the rest of its pipeline) from the client, forwards it
    upstream, waits until the upstream replies have arrived (so the server
    certainly ran it), then closes both sides without passing the replies on. Later connections are forwarded both ways.
    ``forwarded`` counts the commands sent upstream on dropped connections.
    """

    def __init__(self, upstream: tuple[str, int], *, drop_first: int = 1) -> None:
        self.upstream = upstream
        self.drop_first = drop_first
        self.dropped = 0
        self.replies_swallowed: List[bytes] = []
        super().__init__(self._handle)

    def _connect_upstream(self) -> socket.socket:
        return socket.create_connection(self.upstream, timeout=2.0)

    def _handle(self, peer: Peer) -> None:
        up = self._connect_upstream()
        try:
            if peer.index < self.drop_first:
                self._drop(peer, up)
            else:
                self._pump(peer, up)
        finally:
            up.close()

    def _drop(self, peer: Peer, up: socket.socket) -> None:
        cmd = peer.read_command()
        if cmd is None:
            return
        cmds = [cmd]
        while True:  # the rest of a pipeline arrives with the first command
            more = peer.read_command(timeout=_TICK)
            if more is None:
                break
            cmds.append(more)
        out = []
        for c in cmds:
            out.append(b"*%d\r\n" % len(c))
            out += [_bulk(arg) for arg in c]
        up.sendall(b"".join(out))
        reply = up.recv(65536)  # blocks (2 s timeout) until the server answered
        up.settimeout(_TICK)
        with contextlib.suppress(OSError):
            while chunk := up.recv(65536):
                reply += chunk
        with self._lock:
            self.dropped += 1
            self.replies_swallowed.append(reply)
        peer.close()

    def _pump(self, peer: Peer, up: socket.socket) -> None:
        client = peer.sock
        up.settimeout(None)
        while not self.stopping and not peer.closed:
            try:
                ready, _, _ = select.select([client, up], [], [], _TICK)
                for src in ready:
                    data = src.recv(65536)
                    if not data:
                        return
                    (up if src is client else client).sendall(data)
            except (OSError, ValueError):
                return


class CuttingProxy(FaultProxy):
    """A proxy to a real server that forwards everything, and hangs up a random live
    connection every *every* (low, high) seconds until closed: the server may have
    run what it was sent, the client may have part of a reply. ``cuts`` counts them;
    *seed* makes the choices repeatable."""

    def __init__(
        self, upstream: tuple[str, int], *, every: tuple[float, float] = (0.02, 0.2), seed: int = 0
    ) -> None:
        super().__init__(upstream, drop_first=0)
        self.cuts = 0
        self._every = every
        self._rng = random.Random(seed)
        self._spawn(self._cut_loop, "proxy-cutter")

    def _cut_loop(self) -> None:
        while not self.stopping:
            time.sleep(self._rng.uniform(*self._every))
            with self._lock:
                live = [peer for peer in self._peers if not peer.closed]
            if live and not self.stopping:
                self._rng.choice(live).close()
                self.cuts += 1


# -- a port whose connects hang ------------------------------------------------


@contextlib.contextmanager
def blackhole_port() -> Iterator[int]:
    """A loopback port where TCP connects time out instead of completing.

    A listening socket with backlog 0 that never accepts holds one queued
    connection; once that is taken by a filler socket, the kernel drops further
    SYNs, so a client's connect hangs until its own timeout.
    """
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    fillers: List[socket.socket] = []
    try:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(0)
        port = lsock.getsockname()[1]
        for _ in range(4):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                s.connect(("127.0.0.1", port))
            fillers.append(s)
        time.sleep(0.05)  # let the handshakes that can complete do so
        yield port
    finally:
        for s in fillers:
            s.close()
        lsock.close()
