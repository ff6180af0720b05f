"""Cluster pipelines: commands queued, then sent grouped per node (the nodes
concurrently), results in call order; a transaction when every key shares a slot.
The logic is steps, driven by ClusterPipeline (blocking) and AsyncClusterPipeline."""

from __future__ import annotations

from typing import Any, List, Tuple

from .._core import command_slot
from .._steps import Steps, run_async, run_sync
from ..commands import CoreCommands
from ..commands.types import Callback
from ..exceptions import ResponseError
from .errors import ClusterCrossSlotError, ClusterDownError

__all__ = ["AsyncClusterPipeline", "ClusterPipeline"]

_Queue = List[Tuple[Tuple[Any, ...], "Callback | None"]]


class ClusterPipeline(CoreCommands):
    """The command methods queue; :meth:`execute` sends and returns the replies.

    Without a transaction, commands are grouped by the node serving their slot and
    each node gets one write; replies that are redirections (MOVED, ASK) or
    refusals (TRYAGAIN, CLUSTERDOWN) are run again alone with the client's retry
    rules. Commands without keys, and MGET/MSET/DEL/... across slots, run through the
    client one by one after the batches, in their place in the results. With
    ``transaction=True`` every key must hash to one slot (ClusterCrossSlotError
    otherwise) and the whole block runs in MULTI/EXEC on that slot's node.
    """

    def __init__(self, client: Any, transaction: bool = False) -> None:
        # client: the cluster client (not imported: it imports this module)
        self._client = client
        self.transaction = transaction
        self._queue: _Queue = []

    def _run(self, args: Tuple[Any, ...], callback: Callback | None = None) -> Any:
        prefixer = self._client._prefixer
        if prefixer is not None:
            args, callback = prefixer.prepare(args, callback)
        self._queue.append((args, callback))
        return self

    def __len__(self) -> int:
        return len(self._queue)

    def __enter__(self) -> ClusterPipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reset()

    def reset(self) -> None:
        """Drop the queued commands."""
        self._queue = []

    def execute(self, raise_on_error: bool = True) -> List[Any]:
        """Send every queued command; return the replies in call order. With
        ``raise_on_error`` the first error is raised (naming its position), else
        errors are returned in place. The pipeline is empty afterwards."""
        return run_sync(self._execute_steps(raise_on_error))

    def _execute_steps(self, raise_on_error: bool) -> Steps[List[Any]]:
        queue, self._queue = self._queue, []
        if not queue:
            return []
        if self.transaction:
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

    def _transaction_steps(self, queue: _Queue, raise_on_error: bool) -> Steps[List[Any]]:
        client = self._client
        state = client._state
        slots = {s for s in (command_slot(args) for args, _ in queue) if s != -1}
        if len(slots) > 1 or -2 in slots:
            raise ClusterCrossSlotError(
                "CROSSSLOT a cluster transaction needs every key in one slot: give the keys "
                "a common hash tag ({tag})"
            )
        slot = next(iter(slots)) if slots else None
        for attempt in range(3):
            smap = yield from client._map_steps()
            node = smap.slots[slot] if slot is not None else smap.primaries[0]
            if node is None:
                raise ClusterDownError(f"CLUSTERDOWN slot {slot} is not served by any node")
            pipe = state.client(node).pipeline(True)
            for args, callback in queue:
                pipe._run(args, callback)
            try:
                replies: List[Any] = yield pipe.execute(raise_on_error)
                return replies
            except ResponseError as exc:
                # MOVED inside MULTI aborts the whole block: nothing ran, so run it
                # again on the slot's new owner once the map says who that is.
                if "MOVED " not in str(exc) or attempt == 2:
                    raise
                yield from client._refresh_steps(force=True)
        raise AssertionError("unreachable")


class AsyncClusterPipeline(ClusterPipeline):
    """ClusterPipeline for AsyncRedisClusterClient: ``await pipe.execute()``."""

    async def __aenter__(self) -> AsyncClusterPipeline:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.reset()

    async def execute(self, raise_on_error: bool = True) -> List[Any]:  # type: ignore[override]
        """Send every queued command; return the replies in call order."""
        return await run_async(self._execute_steps(raise_on_error))
