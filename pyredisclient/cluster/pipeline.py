"""Cluster pipelines: commands queued, then sent grouped per node (the nodes
concurrently), results in call order; a transaction when every key shares a slot,
with WATCH on the node serving that slot. The logic is steps, driven by
ClusterPipeline (blocking) and AsyncClusterPipeline.

A watched transaction lives on one connection of one node (the node pipeline, a
standalone Pipeline pinned there). A redirection or a connection error after WATCH
means the watch may no longer guard the keys: it surfaces as WatchError, never as a
silent resend, and the client's ``transaction()`` then backs off, refreshes the slot
map and runs the whole function again (redis-py's cluster does the same).
"""

from __future__ import annotations

import re
import time
from typing import Any, Callable, Dict, List, Mapping, Tuple

from .._core import command_slot
from .._steps import Steps, run_async, run_sync
from ..client.pipeline import WATCH_LOST
from ..client.pipeline import transaction_steps as standalone_transaction_steps
from ..client.spellings import AsyncResetNames, ResetNames
from ..commands import CoreCommands
from ..commands.args import mapping_items
from ..commands.base import with_response_callbacks
from ..commands.callbacks import is_ok
from ..commands.types import Callback
from ..exceptions import ConnectionError, RedisError, ResponseError, TimeoutError, WatchError
from ..resilience.retry import may_have_run
from .errors import (
    ClusterCrossSlotError,
    ClusterDownError,
    CrossSlotTransactionError,
    SlotNotCoveredError,
)
from .routing import REDIRECT_TEXT as _REDIRECT
from .routing import redirect, refused

__all__ = ["AsyncClusterPipeline", "ClusterPipeline", "transaction_steps"]

_Queue = List[Tuple[Tuple[Any, ...], "Callback | None"]]

# A refusal inside an error a node pipeline raised (annotated with the command's
# position): "... caused error: TRYAGAIN ...". Redirections: routing.REDIRECT_TEXT.
_REFUSED = re.compile(r"(?:^|: )(TRYAGAIN|CLUSTERDOWN)\b")
_CROSS_SLOT = (
    "CROSSSLOT a cluster transaction needs every key in one slot: give the keys "
    "a common hash tag ({tag})"
)


class ClusterPipeline(ResetNames, CoreCommands):
    """The command methods queue; :meth:`execute` sends and returns the replies.

    Without a transaction, commands are grouped by the node serving their slot and
    each node gets one write; replies that are redirections (MOVED, ASK) or
    refusals (TRYAGAIN, CLUSTERDOWN) are run again alone with the client's retry
    rules. Commands without keys, and MGET/MSET/DEL/... across slots, run through the
    client one by one after the batches, in their place in the results. With
    ``transaction=True`` every key must hash to one slot (ClusterCrossSlotError
    otherwise) and the whole block runs in MULTI/EXEC on that slot's node.

    :meth:`watch` works as on RedisClient's pipeline, with every watched key in one
    slot: it pins a connection of the slot's node, commands then run at once there
    (keys of another slot raise ClusterCrossSlotError), :meth:`multi` goes back to
    queueing, and :meth:`execute` runs MULTI/EXEC on that connection, raising
    WatchError if a watched key changed, the slot moved or the connection failed.
    """

    def __init__(self, client: Any, transaction: bool = False) -> None:
        # client: the cluster client (not imported: it imports this module)
        self._client = client
        self.transaction = transaction
        self._initial_transaction = transaction
        self._queue: _Queue = []
        self._explicit_multi = False
        self._node_pipe: Any = None  # the node's Pipeline pinned by WATCH
        self._watch_slot = -1
        self._lost = False  # the last WatchError: the slot moved or the node failed
        callbacks = client.__dict__.get("_response_callbacks")
        if callbacks:  # the client's set_response_callback (client/base.py)
            self._run = with_response_callbacks(self._run, callbacks)  # type: ignore[method-assign]

    def _run(self, args: Tuple[Any, ...], callback: Callback | None = None) -> Any:
        prefixer = self._client._prefixer
        if prefixer is not None:
            args, callback = prefixer.prepare(args, callback)
        if self._node_pipe is not None and not self._explicit_multi:
            return self._immediate(args, callback)
        self._queue.append((args, callback))
        return self

    def _immediate(self, args: Tuple[Any, ...], callback: Callback | None) -> Any:
        """A command between WATCH and MULTI: run at once (AsyncClusterPipeline:
        an awaitable)."""
        return run_sync(self._immediate_steps(args, callback))

    def __len__(self) -> int:
        return len(self._queue)

    def __enter__(self) -> ClusterPipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reset()

    @property
    def watching(self) -> bool:
        """Whether this pipeline is WATCHing keys (redis-py's attribute)."""
        return self._node_pipe is not None

    @property
    def explicit_transaction(self) -> bool:
        """Whether :meth:`multi` was called (redis-py's attribute)."""
        return self._explicit_multi

    def multi(self) -> None:
        """Start queueing the transaction (after :meth:`watch`), as in redis-py."""
        if self._explicit_multi:
            raise RedisError("Cannot issue nested calls to MULTI")
        if self._queue:
            raise RedisError("Commands without an initial MULTI are already buffered")
        self._explicit_multi = True
        self.transaction = True

    def watch(self, *names: Any) -> bool:
        """WATCH keys (all in one slot) on a connection of the slot's node, pinned
        to this pipeline until execute or reset. The first WATCH follows MOVED and
        waits out ASK, TRYAGAIN and connection errors (within the client's
        ``retry_timeout``); once keys are watched, a redirection raises WatchError."""
        return run_sync(self._watch_steps(names))

    def unwatch(self) -> bool:
        """Forget every watched key and give the pinned connection back."""
        run_sync(self._unpin_steps())
        return True

    def reset(self) -> None:
        """Drop the queued commands, unwatch and give back a pinned connection."""
        run_sync(self._reset_steps())

    def mset_nonatomic(self, mapping: Mapping[Any, Any]) -> ClusterPipeline:
        """redis-py's: one MSET per slot group of ``mapping`` queued (each gives one
        True in :meth:`execute`); not atomic across the groups."""
        groups: Dict[int, List[Any]] = {}
        for key, value in mapping_items(mapping):
            groups.setdefault(self._client.keyslot(key), []).extend((key, value))
        for pairs in groups.values():
            self._run(("MSET", *pairs), is_ok)
        return self

    def execute(self, raise_on_error: bool = True) -> List[Any]:
        """Send every queued command; return the replies in call order. With
        ``raise_on_error`` the first error is raised (naming its position), else
        errors are returned in place. The pipeline is empty afterwards."""
        return run_sync(self._execute_steps(raise_on_error))

    # -- the steps, for both drivers ---------------------------------------------------

    def _reset_steps(self) -> Steps[None]:
        self._queue = []
        self._explicit_multi = False
        self.transaction = self._initial_transaction
        yield from self._unpin_steps()

    def _unpin_steps(self) -> Steps[None]:
        node_pipe, self._node_pipe, self._watch_slot = self._node_pipe, None, -1
        if node_pipe is not None:
            yield from node_pipe._reset_steps()  # UNWATCH, the connection back (or closed)

    def _lose(self, exc: BaseException) -> Steps[WatchError]:
        """The watch no longer guards the keys (``exc``: a redirection or a failed
        connection): forget it, and return the WatchError to raise."""
        self._lost = True
        where = _REDIRECT.search(str(exc))
        if where is not None and where.group(1) == "MOVED":
            self._moved(where)
        yield from self._unpin_steps()
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return WatchError(WATCH_LOST)
        slot = where.group(2) if where is not None else "?"
        return WatchError(f"slot {slot} moved while watching ({exc})")

    def _check_slot(self, args: Tuple[Any, ...]) -> None:
        slot = command_slot(args)
        if slot == -2 or (slot >= 0 and slot != self._watch_slot):
            raise CrossSlotTransactionError(_CROSS_SLOT)

    def _watch_steps(self, names: Tuple[Any, ...]) -> Steps[bool]:
        if self._explicit_multi:
            raise RedisError("Cannot issue a WATCH after a MULTI")
        if not names:
            raise RedisError("WATCH needs at least one key")
        args: Tuple[Any, ...] = ("WATCH", *names)
        prefixer = self._client._prefixer
        if prefixer is not None:
            args = prefixer.prefix_args(args)
        slot = command_slot(args)
        if slot == -2 or (self._node_pipe is not None and slot != self._watch_slot):
            raise CrossSlotTransactionError(_CROSS_SLOT)
        node_pipe = self._node_pipe
        if node_pipe is not None:  # more keys on the watching connection
            try:
                yield node_pipe._pin_run(args)
            except (ResponseError, ConnectionError, TimeoutError) as exc:
                if isinstance(exc, ResponseError) and _REDIRECT.search(str(exc)) is None:
                    raise
                raise (yield from self._lose(exc)) from exc
            return True
        yield from self._first_watch_steps(slot, args[1:])
        return True

    def _first_watch_steps(self, slot: int, keys: Tuple[Any, ...]) -> Steps[None]:
        """Pin a connection of the node serving ``slot`` and WATCH there. Nothing is
        watched yet, so a redirection or a refusal may be followed: MOVED at once,
        ASK (a migration under way), TRYAGAIN, CLUSTERDOWN and connection errors
        after a back-off and a refresh, until the client's ``retry_timeout``."""
        client = self._client
        state = client._state
        deadline = time.monotonic() + client._retry_timeout
        attempt = 0
        for _ in range(1000):  # bounded: the deadline or the redirection limit ends it
            smap = yield from client._map_steps()
            node = smap.slots[slot]
            if node is None:
                error: BaseException = SlotNotCoveredError(
                    f"CLUSTERDOWN slot {slot} is not served by any node"
                )
            else:
                node_pipe = state.client(node).pipeline(True)
                try:
                    yield from node_pipe._watch_steps(keys)
                    self._node_pipe, self._watch_slot = node_pipe, slot
                    return
                except ResponseError as exc:
                    yield from node_pipe._reset_steps()
                    where = redirect(exc)
                    if where is not None and where[0] == "MOVED":
                        state.moved(where[1], state.redirect_target(where[2], node))
                        continue
                    if where is None and not refused(exc):
                        raise
                    state.count("ask" if where is not None else "tryagain")
                    error = exc
                except (ConnectionError, TimeoutError) as exc:  # WATCH changes nothing
                    node_pipe._drop_pin(ok=False)  # a timed-out connection is not pooled
                    error = exc
            attempt += 1
            yield from client._backoff_steps(attempt, deadline, error)
        raise ClusterDownError(f"WATCH: slot {slot} kept moving")

    def _immediate_steps(self, args: Tuple[Any, ...], callback: Callback | None) -> Steps[Any]:
        self._check_slot(args)  # a keyless command runs on the watching node
        try:
            reply = yield self._node_pipe._pin_run(args)
        except (ResponseError, ConnectionError, TimeoutError) as exc:
            if isinstance(exc, ResponseError) and _REDIRECT.search(str(exc)) is None:
                raise
            raise (yield from self._lose(exc)) from exc
        return reply if callback is None else callback(reply)

    def _execute_steps(self, raise_on_error: bool) -> Steps[List[Any]]:
        queue, self._queue = self._queue, []
        self._explicit_multi = False
        transaction, self.transaction = self.transaction, self._initial_transaction
        if self._node_pipe is not None:
            return (yield from self._watched_steps(queue, raise_on_error))
        if not queue:
            return []
        if transaction:
            return (yield from self._transaction_steps(queue, raise_on_error))
        client = self._client
        slots = [command_slot(args) for args, _ in queue]
        parts = [(slot, args) for (args, _), slot in zip(queue, slots) if slot >= 0]
        replies = (yield from client._many_steps(parts, raise_errors=False)) if parts else []
        results: List[Any] = []
        it = iter(replies)
        for (args, callback), slot in zip(queue, slots):
            if slot >= 0:
                reply = next(it)
            else:
                try:
                    reply = yield from client._route_steps(args, None)
                except Exception as exc:
                    reply = exc
            if not isinstance(reply, BaseException) and callback is not None:
                reply = callback(reply)
            results.append(reply)
        if raise_on_error:
            for i, reply in enumerate(results):
                if isinstance(reply, BaseException):
                    name = str(queue[i][0][0]).upper()
                    msg = reply.args[0] if reply.args else ""
                    reply.args = (f"Command # {i + 1} ({name}) of pipeline caused error: {msg}",)
                    raise reply
        return results

    def _watched_steps(self, queue: _Queue, raise_on_error: bool) -> Steps[List[Any]]:
        """MULTI, the queued commands and EXEC on the watching connection, which
        goes back to its pool afterwards. Raises WatchError if a watched key
        changed, or if the slot moved or the connection failed before EXEC was
        sent; a failure once EXEC may have run raises that error itself."""
        node_pipe = self._node_pipe
        # An empty queue still sends MULTI/EXEC: EXEC says whether a watched key
        # changed (WatchError), as on the standalone pipeline and in redis-py.
        try:
            for args, _ in queue:
                self._check_slot(args)
        except ClusterCrossSlotError:
            yield from self._unpin_steps()
            raise
        self._node_pipe, self._watch_slot = None, -1
        node_pipe.multi()
        for args, callback in queue:
            node_pipe._run(args, callback)
        try:
            replies: List[Any] = yield from node_pipe._execute_steps(raise_on_error)
        except WatchError as exc:
            cause = exc.__cause__
            if isinstance(cause, (ConnectionError, TimeoutError)):
                if may_have_run(cause):  # EXEC may have run: no retry may repeat it
                    raise cause from None
                self._lost = True
            raise
        except ResponseError as exc:
            if _REDIRECT.search(str(exc)) is None:
                raise
            # MOVED or ASK instead of QUEUED: EXEC was refused, nothing ran.
            raise (yield from self._lose(exc)) from exc
        return replies

    def _transaction_steps(self, queue: _Queue, raise_on_error: bool) -> Steps[List[Any]]:
        client = self._client
        state = client._state
        slots = {s for s in (command_slot(args) for args, _ in queue) if s != -1}
        if len(slots) > 1 or -2 in slots:
            raise CrossSlotTransactionError(_CROSS_SLOT)
        slot = next(iter(slots)) if slots else None
        deadline = time.monotonic() + client._retry_timeout
        attempt = moves = 0
        for _ in range(1000):  # bounded: the deadline or the MOVED limit ends it first
            smap = yield from client._map_steps()
            node = smap.slots[slot] if slot is not None else state.default_node(smap)
            if node is None:
                raise SlotNotCoveredError(f"CLUSTERDOWN slot {slot} is not served by any node")
            pipe = state.client(node).pipeline(True)
            for args, callback in queue:
                pipe._run(args, callback)
            try:
                replies: List[Any] = yield pipe.execute(raise_on_error)
                return replies
            except ResponseError as exc:
                # MOVED, ASK, TRYAGAIN or CLUSTERDOWN instead of QUEUED: EXEC was
                # refused and nothing ran, so the block may run again. MOVED: at
                # once on the new owner; the others once the slot has settled.
                where = _REDIRECT.search(str(exc))
                if where is not None and where.group(1) == "MOVED" and moves < 16:
                    moves += 1
                    self._moved(where)
                    continue
                if where is None and _REFUSED.search(str(exc)) is None:
                    raise
                error = exc
            attempt += 1
            yield from client._backoff_steps(attempt, deadline, error)
        raise ClusterDownError(f"MULTI: slot {slot} kept moving")

    def _moved(self, where: Any) -> None:
        """Put a MOVED reply's new owner in the slot map (a target without a host,
        ``:port``, waits for the next refresh)."""
        state = self._client._state
        if not where.group(3).startswith(":"):
            state.moved(int(where.group(2)), state.redirect_target(where.group(3), None))
        else:
            state.refresh_due = True


def transaction_steps(
    pipe: ClusterPipeline | AsyncClusterPipeline,  # one class here; two in the stub
    func: Callable[[Any], Any],
    watches: Tuple[Any, ...],
    value_from_callable: bool,
    watch_delay: float | None,
) -> Steps[Any]:
    """A cluster client's ``transaction()``: the standalone loop (WATCH, ``func(pipe)``,
    EXEC, again on WatchError). A WatchError from a key another client changed runs
    again at once (after ``watch_delay``, as redis-py); one from the topology (the
    slot moved, a node failed) backs off and refreshes the slot map first, and stops
    with that WatchError once the client's ``retry_timeout`` is spent on such
    retries."""
    client = pipe._client
    attempt = 0
    deadline = 0.0

    def pause(exc: WatchError) -> Steps[bool]:
        nonlocal attempt, deadline
        lost, pipe._lost = pipe._lost, False
        if not lost:
            return False
        if attempt == 0:
            deadline = time.monotonic() + client._retry_timeout
        attempt += 1
        yield from client._backoff_steps(attempt, deadline, exc)
        return True

    return standalone_transaction_steps(
        pipe,  # type: ignore[arg-type]
        func,
        watches,
        value_from_callable,
        watch_delay,
        client._sleep,
        pause,
    )


class AsyncClusterPipeline(AsyncResetNames, ClusterPipeline):  # type: ignore[misc]
    """ClusterPipeline for AsyncRedisClusterClient: queue synchronously, ``await
    pipe.execute()``; while watching, ``await pipe.get(k)`` and the like."""

    def _immediate(self, args: Tuple[Any, ...], callback: Callback | None) -> Any:
        return run_async(self._immediate_steps(args, callback))

    def __enter__(self) -> Any:
        raise TypeError("an AsyncClusterPipeline is used with 'async with', not 'with'")

    async def __aenter__(self) -> AsyncClusterPipeline:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.reset()

    async def watch(self, *names: Any) -> bool:  # type: ignore[override]
        """WATCH keys (all in one slot) on a pinned connection of their node."""
        return await run_async(self._watch_steps(names))

    async def unwatch(self) -> bool:  # type: ignore[override]
        """Forget every watched key and give the pinned connection back."""
        await run_async(self._unpin_steps())
        return True

    async def reset(self) -> None:  # type: ignore[override]
        """Drop the queued commands, unwatch and give back a pinned connection."""
        await run_async(self._reset_steps())

    async def execute(self, raise_on_error: bool = True) -> List[Any]:  # type: ignore[override]
        """Send every queued command; return the replies in call order."""
        return await run_async(self._execute_steps(raise_on_error))
