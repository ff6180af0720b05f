"""Multiplexing for AsyncRedisClient: the tasks of one event loop share a few connections.

Each shared connection is a ``_core.Mux`` (the FIFO of pending calls and the output
buffer live in C) driven here by the loop: a command is appended to the buffer and
written at once when nothing else is in flight, else once at the end of the loop
iteration (or when the buffer reaches its size bound); the fd has one reader for the
connection's life and a writer only while bytes wait for the socket; one timer fails
the calls whose deadline passed (each leaves a tombstone whose reply is dropped).
When a connection fails, its calls are settled by the safe-retry rules in C: a command
not wholly written, or a read-only one, is sent again (``RETRY``); any other gets the
error. See README "Multiplexing (asyncio)".

WAIT and WAITAOF count the writes sent on their own connection, which for a caller of
a multiplexed client is the shared one; on a connection of their own they would count
none and return at once. So :func:`run_wait` hands each shared connection the caller's
writes may be on over to the caller's WAIT, as that connection's last command (a
WAIT with the same arguments already there is shared; others queue behind it): new
calls open another one, and once every WAIT on it is answered the old one is shared
again if the loop has fewer than its number of shared connections, else goes back to
the pool. Nobody's replies wait behind a WAIT, and at most that number of
connections is handed over at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Tuple

from .._core import RETRY
from ..exceptions import ConnectionError, TimeoutError

logger = logging.getLogger("pyredisclient")

#: The longest a dedicated call's fence holds the shared calls made after it
#: (seconds): its connection may take long to open (a server slow to accept, or
#: one not answering new connections), and the loop's other calls must not wait
#: out its connect timeout. Opening a connection takes far less, even with TLS
#: to another region.
FENCE_HOLD_LIMIT = 0.5

# submit()'s answers (csrc/binding/mux.c)
_FLUSH_NOW = 1
_DEDICATED = 2
_FLUSH_SOON = 3


class SharedConnection:
    """One ``_core.Mux`` registered with one event loop."""

    __slots__ = (
        "_flush_due",
        "_timer",
        "_writing",
        "dead",
        "fd",
        "loop",
        "mux",
        "owner",
        "retiring",
        "waits",
    )

    def __init__(self, owner: LoopShare, loop: asyncio.AbstractEventLoop, mux: Any) -> None:
        self.mux = mux
        self.loop = loop
        self.owner = owner
        self.fd: int = mux.fileno()
        self._flush_due = False
        self._writing = False
        self._timer: asyncio.TimerHandle | None = None
        self.dead = False
        self.retiring = False
        # Retiring: the last WAIT queued with each argument tuple (run_wait).
        self.waits: Dict[Tuple[Any, ...], asyncio.Future[Any]] = {}
        loop.add_reader(self.fd, self._on_readable)

    def submit(self, args: Tuple[Any, ...], fut: asyncio.Future[Any], may_retry: bool) -> bool:
        """Queue one command whose reply completes *fut*; False when the command
        needs a dedicated connection (nothing was queued)."""
        r = self.mux.submit(args, fut, may_retry)
        if r == 0:
            return True
        if r == _DEDICATED:
            return False
        self.submitted(r)
        return True

    def submit_last(self, args: Tuple[Any, ...], fut: asyncio.Future[Any]) -> bool:
        """Queue *args* (WAIT, WAITAOF) as this connection's last command and stop
        sharing it until every call on it is answered (:meth:`LoopShare.retired`).
        False when the command cannot go on it (nothing was queued)."""
        r = self.mux.submit_last(args, fut)
        if r == _DEDICATED:
            return False
        if not self.retiring:
            self.retiring = True
            self.owner.retire(self)
        if r != 0:
            self.submitted(r)
        return True

    def submitted(self, r: int) -> None:
        """After ``mux.submit`` queued a command and answered *r* (not 0): arm the
        timer and flush now or at the end of this loop iteration."""
        if self._timer is None:
            self._arm(self.owner.timeout)
        if r == _FLUSH_NOW:
            self._flush()
        elif not self._flush_due:
            self._flush_due = True
            self.loop.call_soon(self._flush)

    def _arm(self, delay: float | None) -> None:
        if delay is not None:
            self._timer = self.loop.call_later(delay, self._on_timer)

    def flush_pending(self) -> None:
        """Write now what waits for the end of this loop iteration."""
        if self._flush_due:
            self._flush()

    def _flush(self) -> None:
        self._flush_due = False
        if self.dead or self._writing:
            return
        try:
            more = self.mux.flush()
        except Exception as exc:
            self.fail(exc)
            return
        if more:
            self._writing = True
            self.loop.add_writer(self.fd, self._on_writable)

    def _on_writable(self) -> None:
        if self.dead:
            return
        try:
            more = self.mux.flush()
        except Exception as exc:
            self.fail(exc)
            return
        if not more:
            self._writing = False
            self.loop.remove_writer(self.fd)

    def _on_readable(self) -> None:
        if self.dead:
            return
        try:
            self.mux.read()
        except Exception as exc:
            self.fail(exc)
            return
        if self.retiring and not len(self.mux):
            self.owner.retired(self)

    def _on_timer(self) -> None:
        self._timer = None
        if self.dead:
            return
        try:
            left = self.mux.expire()
        except Exception as exc:
            self.fail(exc)
            return
        if left is not None:
            self._arm(max(left, 0.001))

    def _unregister(self) -> None:
        # Before the fd is closed: a later socket may get the same number.
        self.dead = True
        self.owner.forget(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.loop.is_closed():
            self.loop.remove_reader(self.fd)
            if self._writing:
                self.loop.remove_writer(self.fd)
        self._writing = False

    def fail(self, exc: BaseException) -> None:
        """The connection failed: settle its calls (retry or error) and close it."""
        if self.dead:
            return
        self._unregister()
        pending = len(self.mux)
        retry_reads = self.owner.retry_on_timeout or not isinstance(exc, TimeoutError)
        retried = self.mux.abort(exc, retry_sent_reads=retry_reads)
        # Closed while idle (a server's `timeout`, a proxy's idle limit): nothing lost,
        # the next call opens it again; the pool's reconnect line still says it.
        logger.log(
            logging.WARNING if pending else logging.INFO,
            "shared connection failed (%s: %s); %d pending call(s) sent again",
            type(exc).__name__,
            exc,
            retried,
        )

    def close(self) -> None:
        if self.dead:
            return
        self._unregister()
        self.mux.close()


class Fence:
    """A dedicated call's place in the loop's order (:meth:`LoopShare.raise_fence`)."""

    __slots__ = ("_fut", "_share", "_timer")

    def __init__(self, share: LoopShare, fut: asyncio.Future[None]) -> None:
        self._share: LoopShare | None = share
        self._fut = fut
        self._timer: asyncio.TimerHandle | None = None

    def waiting(self) -> None:
        """The call waits on its socket, its request not yet written: the fence
        holds for at most :data:`FENCE_HOLD_LIMIT` from the first such wait."""
        if self._timer is None and self._share is not None:
            self._timer = self._fut.get_loop().call_later(FENCE_HOLD_LIMIT, self.lower)

    def lower(self) -> None:
        """The call's request is written, or it waits for something other than its
        own socket (a pool connection, credentials, a back-off, where a shared call
        may be what it waits for), or it ended, or the fence held long enough.
        Idempotent."""
        share, self._share = self._share, None
        if share is not None:
            if self._timer is not None:
                self._timer.cancel()
            share.lower_fence(self._fut)


class LoopShare:
    """The shared connections of one client on one event loop."""

    __slots__ = (
        "_next",
        "_opening",
        "_room",
        "client",
        "conns",
        "fences",
        "retiring",
        "retry_on_timeout",
        "size",
        "slow",
        "timeout",
    )

    def __init__(self, client: Any, size: int) -> None:
        config = client._config
        self.client = client
        self.conns: List[SharedConnection] = []
        # Handed over to a WAIT (run_wait), not yet answered: no longer picked.
        self.retiring: List[SharedConnection] = []
        self._room: asyncio.Future[None] | None = None  # set when one stops retiring
        self.size = size
        self.timeout: float | None = config.socket_timeout
        self.retry_on_timeout: bool = config.retry_on_timeout
        self._next = 0
        self._opening: asyncio.Future[None] | None = None
        # One per dedicated call whose request is not yet written (raise_fence):
        # shared calls issued after it wait for it, so reach the server after it.
        self.fences: List[asyncio.Future[None]] = []
        # Multiplexer.submit's fast path is off: several connections, or fences.
        self.slow = size != 1

    def pick(self) -> SharedConnection | None:
        """A live shared connection, round robin; None when none is open (the caller
        opens one, or waits for the one being opened)."""
        conns = self.conns
        n = len(conns)
        if n == 1 and self.size == 1:
            return conns[0]
        if n == 0:
            return None
        if n < self.size and self._opening is None:
            self._opening = opening = asyncio.ensure_future(self._open_more())
            # Opened in the background while the others serve: never reported
            # as an unretrieved error (the next caller to need it opens again).
            opening.add_done_callback(_retrieve)
        self._next = i = (self._next + 1) % n
        return conns[i]

    def raise_fence(self) -> Fence:
        """A dedicated call is about to write its request (a blocking command, say
        ``XREAD BLOCK 0 ... $`` on a connection that may have to be opened first):
        what is queued on the shared connections goes out now, ahead of it, and
        shared calls made until :meth:`lower_fence` wait, so that they reach the
        server after it, in the order the caller made them, as on one connection."""
        for conn in self.conns:
            conn.flush_pending()
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.fences.append(fut)
        self.slow = True
        return Fence(self, fut)

    def lower_fence(self, fut: asyncio.Future[None]) -> None:
        self.fences.remove(fut)
        self.slow = self.size != 1 or bool(self.fences)
        fut.set_result(None)

    async def behind_fences(self) -> None:
        """Wait until every fence raised before this call is lowered."""
        for fence in list(self.fences):
            await asyncio.shield(fence)

    @property
    def opening(self) -> bool:
        return self._opening is not None

    async def wait_open(self) -> None:
        """Wait for the connection being opened: raises its connection error."""
        if self._opening is not None:
            await asyncio.shield(self._opening)

    async def open_with(self, args: Tuple[Any, ...]) -> Any:
        """Open a shared connection with this caller's own command, as a dedicated
        call through the pool (breaker admission, connect, TLS, handshake, safe
        retries), then share it; returns the command's reply. Its first request is
        thus the caller's, answered before the connection is shared: nothing
        (such as an opening PING) whose late bytes a first shared caller could
        take for its reply."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        done.add_done_callback(_retrieve)
        self._opening = done
        try:
            reply = await self._pinned_call(loop, args)
        except BaseException as exc:
            self._opening = None
            if not self.conns and isinstance(exc, (ConnectionError, TimeoutError)):
                done.set_exception(exc)  # the waiters' error too
            else:
                done.set_result(None)  # the waiters try again themselves
            raise
        self._opening = None
        done.set_result(None)
        return reply

    async def _open_more(self) -> None:
        try:
            await self._pinned_call(asyncio.get_running_loop(), ("PING",))
        finally:
            self._opening = None

    async def _pinned_call(self, loop: asyncio.AbstractEventLoop, args: Tuple[Any, ...]) -> Any:
        client = self.client
        pin = client._core.pinned()
        try:
            return await client._drive(pin.start(args), release=False)
        finally:
            # An error reply leaves the connection in step: it is shared all the same.
            # (Full when a retired connection was shared again meanwhile.)
            if pin.active and pin.usable and len(self.conns) < self.size:
                self.conns.append(SharedConnection(self, loop, pin.share()))
            elif pin.active:
                pin.release(ok=pin.usable)
                client._release_one()

    def retire(self, conn: SharedConnection) -> None:
        """*conn* took a WAIT as its last command: new calls go elsewhere."""
        if conn in self.conns:
            self.conns.remove(conn)
        self.retiring.append(conn)

    async def room_to_retire(self, within: float) -> None:
        """Wait, at most *within* seconds, until fewer than ``size`` connections are
        retiring: WAITs hand over at most that many at once (while a replica is
        down each holds its connection for its whole timeout), so that the loop
        keeps about twice ``size`` connections, not one per WAIT."""
        deadline = asyncio.get_running_loop().time() + within
        while len(self.retiring) >= self.size:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            if self._room is None:
                self._room = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(asyncio.shield(self._room), left)
            except asyncio.TimeoutError:
                return

    def _one_less_retiring(self) -> None:
        room, self._room = self._room, None
        if room is not None and not room.done():
            room.set_result(None)

    def retired(self, conn: SharedConnection) -> None:
        """Every call on retiring *conn* was answered: shared again while fewer than
        ``size`` connections are (its writes stay where a later WAIT looks), else
        back to the pool."""
        self.retiring.remove(conn)
        self._one_less_retiring()
        if len(self.conns) < self.size:
            conn.mux.reopen()
            conn.retiring = False
            conn.waits.clear()
            self.conns.append(conn)
        else:
            conn.close()

    def forget(self, conn: SharedConnection) -> None:
        if conn in self.conns:
            self.conns.remove(conn)
        if conn in self.retiring:
            self.retiring.remove(conn)
            self._one_less_retiring()
        # A pinned connection went back to the pool (or was closed).
        self.client._release_one()

    def close(self) -> None:
        for conn in [*self.conns, *self.retiring]:
            conn.close()
        if self._opening is not None:
            self._opening.cancel()


def _retrieve(fut: asyncio.Future[None]) -> None:
    if not fut.cancelled():
        fut.exception()


class Multiplexer:
    """Per event loop, the client's :class:`LoopShare` (held by the client and its views)."""

    __slots__ = ("may_retry", "shares", "size")

    def __init__(self, size: int, retry_attempts: int = 0) -> None:
        self.size = size  # shared connections per loop
        self.may_retry = retry_attempts > 0
        self.shares: Dict[asyncio.AbstractEventLoop, LoopShare] = {}

    def submit(self, args: Any, batch: bool = False) -> Any:
        """The common case of :func:`run_shared`, without its coroutine: queue *args*
        (a pipeline's ``Batch`` with *batch*) on the running loop's one open shared
        connection and return the future of its reply, or list of replies (either
        may be ``RETRY``); :data:`DEDICATED` when the command needs a connection of
        its own; None when there is no such connection yet (or several to choose
        from, or a dedicated call's request waits to be written first: a fence):
        then await :func:`run_shared` (a pipeline: the fences, then its dedicated
        connection)."""
        share = self.shares.get(asyncio.get_running_loop())
        if share is None or share.slow:
            return None
        conns = share.conns
        if len(conns) != 1:
            return None
        conn = conns[0]
        fut = conn.loop.create_future()
        mux = conn.mux
        r = (mux.submit_batch if batch else mux.submit)(args, fut, self.may_retry)
        if r != 0:
            if r == _DEDICATED:
                return DEDICATED
            conn.submitted(r)
        return fut

    def share(self, client: Any, loop: asyncio.AbstractEventLoop) -> LoopShare:
        share = self.shares.get(loop)
        if share is None:
            for old in [lp for lp in self.shares if lp.is_closed()]:
                self.shares.pop(old).close()
            share = LoopShare(client, self.size)
            self.shares[loop] = share
        return share

    def close(self) -> None:
        for share in self.shares.values():
            share.close()
        self.shares.clear()

    def disconnect(self) -> None:
        """``connection_pool.disconnect()``: every shared connection goes (back to the
        pool, which closes it: call after the pool's own disconnect); one with calls
        in flight fails them as a lost connection does, so a read is sent again on
        a new one. The next call opens a new shared connection."""
        for share in self.shares.values():
            for conn in [*share.conns, *share.retiring]:
                if len(conn.mux):
                    conn.fail(ConnectionError("connection_pool.disconnect() closed the connection"))
                else:
                    conn.close()


async def run_shared(client: Any, args: Tuple[Any, ...], attempts: int | None = None) -> Any:
    """Run one command on the loop's shared connection: its reply, or
    :data:`DEDICATED` when the command needs a connection of its own. A call that
    got RETRY (its connection failed, the command may go again) is sent again, at
    most *attempts* times (default ``retry_attempts``)."""
    loop = asyncio.get_running_loop()
    share = client._mux.share(client, loop)
    if attempts is None:
        attempts = client._config.retry_attempts
    if share.fences:
        if not client._core.shareable(args):
            return DEDICATED  # at once: it raises a fence of its own, in its place
        await share.behind_fences()
    while True:
        conn = share.pick()
        if conn is None:
            if share.opening:
                await share.wait_open()
                continue
            if not client._core.shareable(args):
                return DEDICATED
            return await share.open_with(args)
        fut = loop.create_future()
        # Without retries left the call is never handed RETRY: it gets the error.
        if not conn.submit(args, fut, attempts > 0):
            return DEDICATED
        reply = await fut
        if reply is not RETRY:
            return reply
        attempts -= 1


#: The commands that count the writes of their own connection (upper case).
OWN_WRITES = frozenset({"WAIT", "WAITAOF"})


def counts_own_writes(args: Tuple[Any, ...]) -> bool:
    """Whether *args* is WAIT or WAITAOF: see :func:`run_wait`."""
    name = args[0] if args else None
    if isinstance(name, bytes):
        try:
            name = name.decode("ascii")
        except UnicodeDecodeError:
            return False
    return isinstance(name, str) and name.upper() in OWN_WRITES


def _timeout_of(args: Tuple[Any, ...]) -> float:
    """WAIT's or WAITAOF's timeout (their last argument, in ms) in seconds; 0 for
    none (it blocks for ever) or one that is not a number."""
    try:
        return max(int(args[-1]), 0) / 1000.0
    except (TypeError, ValueError):
        return 0.0


def _hashable(args: Tuple[Any, ...]) -> bool:
    try:
        hash(args)
    except TypeError:
        return False
    return True


async def run_wait(client: Any, args: Tuple[Any, ...]) -> Any:
    """Run WAIT or WAITAOF as the last command of each shared connection the
    caller's writes may have gone on: those of the running loop when it is called,
    open or already handed over to another WAIT. The reply; the smallest of the
    counts when there were several; :data:`DEDICATED` when there is none (a
    connection of its own is then right). Never sent again after a connection
    failure: a WAIT elsewhere would count none of the writes it was asked about.

    A WAIT with the same arguments already queued on a connection was sent after
    every write on it: its reply is this caller's too (no pile-up of WAITs waiting
    out their timeouts one after the other while a replica is down). At most
    ``size`` connections are handed over at once: an open one waits for room, at
    most as long as a WAIT like this one may take, then is handed over all the
    same."""
    mux = client._mux
    loop = asyncio.get_running_loop()
    share = mux.shares.get(loop) if mux is not None else None
    if share is None:
        return DEDICATED
    # Later connections cannot hold this caller's writes: it awaited them.
    pending = [*share.conns, *share.retiring]
    if not pending:
        return DEDICATED
    block = _timeout_of(args)
    deadline = loop.time() + block + max(share.timeout or 0.0, 0.5) if block else None
    futs: List[asyncio.Future[Any]] = []
    while True:
        still_open = []
        for conn in pending:
            if conn.retiring or conn.dead:
                _join_wait(conn, args, loop, futs)
            else:
                still_open.append(conn)
        if not still_open:
            break
        if deadline is None or len(share.retiring) < share.size or loop.time() >= deadline:
            for conn in still_open:
                _join_wait(conn, args, loop, futs)
            break
        await share.room_to_retire(deadline - loop.time())
        pending = still_open
    if not futs:
        return DEDICATED
    # Shared by the callers with these arguments: one cancelled caller leaves the
    # others their reply.
    if len(futs) == 1:
        return await asyncio.shield(futs[0])
    replies = await asyncio.gather(*(asyncio.shield(f) for f in futs))
    if all(isinstance(r, list) for r in replies):  # WAITAOF: [local, replicas]
        return [min(column) for column in zip(*replies)]
    return min(replies)


def _join_wait(
    conn: SharedConnection,
    args: Tuple[Any, ...],
    loop: asyncio.AbstractEventLoop,
    futs: List[asyncio.Future[Any]],
) -> None:
    """Add to *futs* the WAIT *args* on *conn*: the one with these arguments queued
    there if it is still pending, else a new one queued last (handing *conn* over).
    A connection closed since: the reply of its last WAIT with these arguments, if
    it had one (given back after it; failed: its error), else nothing to wait for."""
    key = args if _hashable(args) else None
    fut = conn.waits.get(key) if key is not None else None
    if conn.dead:
        if fut is not None:
            futs.append(fut)
        return
    if fut is None or fut.done():
        fut = loop.create_future()
        if not conn.submit_last(args, fut):
            return
        if key is not None:
            conn.waits[key] = fut
    futs.append(fut)


#: run_shared's answer for a command that needs a dedicated connection.
DEDICATED: Any = object()
