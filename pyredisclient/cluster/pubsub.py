"""Pub/sub on a cluster: ``cluster.pubsub()``, sync (:class:`ClusterPubSub`) and asyncio
(:class:`AsyncClusterPubSub`), with the methods and messages of a standalone
subscription (:mod:`pyredisclient.pubsub`).

* ``subscribe``/``psubscribe`` go to one node: the primary serving the slot of the
  first name subscribed (as redis-py places it, and where ``publish()`` sends that
  channel), or the node given as redis-py's ``pubsub(node)`` takes it. A cluster
  broadcasts classic pub/sub to every node, so one connection hears every PUBLISH.
* ``ssubscribe`` groups the shard channels by the primary serving their slot and
  subscribes on one connection per such node, one SSUBSCRIBE per slot; ``get_message``,
  ``listen`` and ``run`` merge the messages of every connection.
* Slot moves are followed: a ``MOVED`` reply to an SSUBSCRIBE, or the ``sunsubscribe``
  a Redis 7 node pushes when a channel's slot leaves it, updates the slot map and
  subscribes the channel again on its new owner (neither reaches the caller); a node
  that keeps failing its reconnects makes the map be read again, so that a failover's
  new primary takes over its channels.
* The classic connection follows a failover too: when its reconnects fail and the map
  no longer names its node, it moves to a primary of the map and subscribes every
  channel and pattern again there (``node`` says where it is).

Each connection reconnects and resubscribes by itself as a standalone one does; its
``reconnect`` message carries ``data["node"]``, the ``host:port`` it reconnected to.
"""

from __future__ import annotations

import asyncio
import os
import random
import select
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any, AsyncIterator, Dict, Iterator, List, Sequence, Tuple

from .._core import WANT_READ, WANT_WRITE, Subscriber, key_slot
from .._steps import Steps, run_async, run_sync
from ..client.base import core_client_kwargs
from ..exceptions import DataError, RedisError, ResponseError
from ..pubsub import PubSub, PubSubStats
from ..pubsub.aio import AsyncPubSub, acquire_within
from ..pubsub.base import SHARDS, ChannelT, Handler, client_options, wait_seconds
from .commands import ClusterNode, NodeName, node_name_of
from .errors import SlotNotCoveredError
from .routing import redirect
from .topology import SlotMap, split_name

if TYPE_CHECKING:
    from .base import ClusterBase

__all__ = ["AsyncClusterPubSub", "ClusterPubSub"]

_CONFIRMS = frozenset(
    ("subscribe", "unsubscribe", "psubscribe", "punsubscribe", "ssubscribe", "sunsubscribe")
)
#: How often a reader looks for shard connections that keep failing (seconds).
_CHECK_EVERY = 0.5

Wait = Tuple[int, int, "float | None"]


def _close_sub(stats: weakref.ReferenceType[PubSubStats] | None, sub: Subscriber) -> None:
    owner = stats() if stats is not None else None
    if owner is not None:
        owner.fold(sub)
    sub.close()


class _Sharded:
    """What both cluster subscriptions add to a standalone one: a connection per node
    for the shard channels, their placement by slot, and one reader over all."""

    # Supplied by PubSub / AsyncPubSub (PubSubBase).
    _sub: Subscriber
    _closed: bool
    ignore_subscribe_messages: bool
    reconnect_handler: Handler | None

    def __init__(
        self,
        cluster: ClusterBase,
        ignore_subscribe_messages: bool = False,
        node: Any = None,
        **options: Any,
    ) -> None:
        state = cluster._state
        smap = state.map
        #: Named by the caller (redis-py's pubsub(node)); else the first classic
        #: subscribe places the connection (_place_classic).
        self._fixed = node is not None
        self._placed = False
        if node is not None:  # redis-py's pubsub(node) / pubsub(host=, port=)
            name = node_name_of(node)
            if name is None or (smap is not None and name not in smap.nodes):
                raise DataError(f"pubsub: {node!r} is not a node of the cluster")
            node = name
        elif smap is not None and smap.primaries:
            node = random.choice(smap.primaries)
        node = node or state.seeds[0]
        py_options = client_options(cluster, ignore_subscribe_messages, **options)
        super().__init__(self._node_options(cluster, node), **py_options)  # type: ignore[call-arg]
        self._cluster = cluster
        self.node = node
        self._stats_ref = weakref.ref(py_options["stats"])
        self._shards: Dict[str, Subscriber] = {}
        # A shard channel (as messages name it, prefix included) -> (its bytes as
        # sent, the node subscribed on).
        self._assign: Dict[Any, Tuple[bytes, str]] = {}
        # (node, channel): confirmations owed to the caller's SSUBSCRIBE, and those of
        # subscriptions made to follow a move, which the caller does not see.
        self._owed: Dict[Tuple[str, Any], int] = {}
        self._quiet: Dict[Tuple[str, Any], int] = {}
        # (node, channel): sunsubscribe confirmations owed to the caller's
        # SUNSUBSCRIBE, told apart from those a node pushes when a slot leaves it.
        self._unsubbed: Dict[Tuple[str, Any], int] = {}
        self._dropped: set[Any] = set()  # channels a node pushed sunsubscribe for
        self._recheck = False  # the placement is to be checked against the map
        self._disconnects: Dict[str, int] = {}
        self._classic_disconnects = 0  # the classic connection's, at the last check
        self._recheck_classic = False  # is its node still in the map?
        self._next_check = 0.0
        self._turn = 0
        self._finalizers: List[weakref.finalize[Any, Any]] = []
        self._mu = threading.Lock()  # guards _shards, _assign, _quiet, _dropped

    @property
    def node(self) -> NodeName:
        """The node of the classic (SUBSCRIBE/PSUBSCRIBE) connection: its
        ``"host:port"``, with redis-py's ClusterNode ``host``, ``port`` and ``name``,
        and equal to that node's ClusterNode."""
        return self._node

    @node.setter
    def node(self, name: str) -> None:
        self._node = NodeName(name)

    @staticmethod
    def _node_options(cluster: ClusterBase, node: str) -> Dict[str, Any]:
        host, port = split_name(node)
        return core_client_kwargs(cluster._state.node_config.replace(host=host, port=port))

    # -- what the caller sees ------------------------------------------------------------

    @property
    def subscribed(self) -> bool:
        """True while subscribed to anything on any node."""
        return self._sub.subscribed or any(s.subscribed for s in list(self._shards.values()))

    def stats(self) -> Dict[str, int]:
        """The counters of every connection of this subscription, summed."""
        total = self._sub.stats()
        for sub in list(self._shards.values()):
            for k, v in sub.stats().items():
                total[k] = total.get(k, 0) + v
        return total

    def get_pubsub_node(self) -> ClusterNode | None:
        """redis-py's: the node of the classic (SUBSCRIBE/PSUBSCRIBE) connection, as a
        ClusterNode (``node`` is its ``"host:port"``); None until the first
        subscribe places it, unless ``pubsub(node)`` named it."""
        if not (self._fixed or self._placed):
            return None
        host, port = split_name(self.node)
        found = ClusterNode(host, port)
        found._owner = self._cluster
        return found

    def get_redis_connection(self) -> Any:
        """redis-py's: the standalone client of :meth:`get_pubsub_node` (for its
        commands; the subscription has a connection of its own), or None while
        that is None."""
        if not (self._fixed or self._placed):
            return None
        return self._cluster._state.client(self.node)

    def _subscribe_request(
        self, which: Tuple[int, str, str], args: Tuple[Any, ...], kwargs: Dict[str, Any]
    ) -> Tuple[Tuple[Any, ...], List[Tuple[Any, Handler | None]]]:
        request, names = super()._subscribe_request(which, args, kwargs)  # type: ignore[misc]
        if which is not SHARDS and not (self._fixed or self._placed):
            self._place_classic(request[1])
        return request, names

    def _placement_steps(self, which: Tuple[int, str, str]) -> Steps[None]:
        """Before a classic subscribe that will place the connection: read the slot
        map if it was never read (one try of each seed: an outage never fails a
        subscribe, the connection then stays where it is)."""
        if which is SHARDS or self._fixed or self._placed or self._cluster._state.map:
            return
        try:
            yield from self._cluster._refresh_steps(force=True)
        except RedisError:
            pass

    def _place_classic(self, wire: bytes) -> None:
        """Before the first SUBSCRIBE/PSUBSCRIBE of a subscription made without a node:
        move the classic connection to the primary serving the first name's slot, as
        redis-py places it. Any node hears every PUBLISH; this one is where
        ``publish()`` of that channel goes too, so its count of receivers includes
        this subscription (and redis-py's subscriptions to it). Kept where it is
        while the slot map is unknown or the slot unserved."""
        self._placed = True
        smap = self._cluster._state.map
        owner = smap.slots[key_slot(wire)] if smap is not None else None
        if owner is not None and owner != self.node:
            self.node = owner
            self._sub.move(*split_name(owner))

    def shard_nodes(self) -> Dict[Any, str]:
        """The node each shard channel is subscribed on (``host:port``)."""
        with self._mu:
            return {key: node for key, (_, node) in self._assign.items()}

    # -- placing shard channels ------------------------------------------------------------

    def _shard(self, node: str) -> Subscriber:
        """The shard connection of a node, made on first use (mu held)."""
        sub = self._shards.get(node)
        if sub is None:
            sub = Subscriber(**self._node_options(self._cluster, node))
            stats = self._stats_ref()
            if stats is not None:
                stats.add(sub)
            self._finalizers.append(weakref.finalize(self, _close_sub, self._stats_ref, sub))
            self._shards[node] = sub
            self._wake()
        return sub

    def _place(self, wires: Sequence[bytes], smap: SlotMap, quiet: bool) -> List[Subscriber]:
        """Subscribe each channel on the node serving its slot, one SSUBSCRIBE per slot,
        leaving the node it was on; the connections written to (mu held)."""
        groups: Dict[Tuple[str, int], List[bytes]] = {}
        for wire in wires:
            slot = key_slot(wire)
            node = smap.slots[slot]
            if node is None:
                raise SlotNotCoveredError(f"CLUSTERDOWN slot {slot} is not served by any node")
            groups.setdefault((node, slot), []).append(wire)
        touched: Dict[str, Subscriber] = {}
        for (node, _), group in groups.items():
            for wire in group:
                key = self._key(wire)  # type: ignore[attr-defined]
                old = self._assign.get(key)
                owed = 0
                if old is not None and old[1] != node:
                    self._quiet.pop((old[1], key), None)
                    owed = self._owed.pop((old[1], key), 0)  # the old node said MOVED
                    touched[old[1]] = self._shards[old[1]]
                    # Forgotten there; the old node answers MOVED, read and dropped.
                    self._shards[old[1]].request(("SUNSUBSCRIBE", wire))
                self._assign[key] = (wire, node)
                counts = self._quiet if quiet and not owed else self._owed
                counts[(node, key)] = counts.get((node, key), 0) + max(1, owed)
            sub = touched[node] = self._shard(node)
            sub.request(("SSUBSCRIBE", *group))
        return list(touched.values())

    def _ssubscribe_steps(self, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Steps[None]:
        request, names = self._subscribe_request(SHARDS, args, kwargs)
        smap = yield from self._cluster._map_steps()
        with self._mu:
            touched = self._place(request[1:], smap, quiet=False)
        self._added(SHARDS, names)  # type: ignore[attr-defined]
        yield self._send_subs(touched)

    def _sunsubscribe_steps(self, args: Tuple[Any, ...]) -> Steps[None]:
        request, keys = self._unsubscribe_request(SHARDS, args)  # type: ignore[attr-defined]
        touched: List[Subscriber] = []
        if keys is None:
            with self._mu:
                for key, (_, was_on) in self._assign.items():
                    self._owe_unsubscribe(was_on, key)
                self._assign.clear()
                self._quiet.clear()
                self._owed.clear()
                touched = list(self._shards.values())
            for sub in touched:
                sub.request(("SUNSUBSCRIBE",))
        else:
            smap = yield from self._cluster._map_steps()
            groups: Dict[Tuple[str | None, int], List[bytes]] = {}
            with self._mu:
                for key, wire in zip(keys, request[1:]):
                    known = self._assign.pop(key, None)
                    if known is not None:
                        self._owed.pop((known[1], key), None)
                        self._quiet.pop((known[1], key), None)
                    slot = key_slot(wire)
                    node = known[1] if known is not None else smap.slots[slot]
                    groups.setdefault((node, slot), []).append(wire)
                for (node, _), group in groups.items():
                    if node is None or node not in self._shards:
                        continue  # never subscribed there
                    for wire in group:
                        self._owe_unsubscribe(node, self._key(wire))  # type: ignore[attr-defined]
                    self._shards[node].request(("SUNSUBSCRIBE", *group))
                    touched.append(self._shards[node])
        self._removed(SHARDS, keys)  # type: ignore[attr-defined]
        yield self._send_subs(touched)

    def _owe_unsubscribe(self, node: str, key: Any) -> None:
        """The caller's SUNSUBSCRIBE of ``key`` on ``node``: its confirmation is the
        caller's, even when the channel is subscribed again before it comes (mu
        held)."""
        self._unsubbed[(node, key)] = self._unsubbed.get((node, key), 0) + 1

    # -- following moves -----------------------------------------------------------------

    def _follow_steps(self) -> Steps[None]:
        """Subscribe again where the slot map says what this subscription has not
        followed yet: a MOVED, a sunsubscribe pushed by a node, failing reconnects."""
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + _CHECK_EVERY
            failed = self._sub.stats()["disconnects"]
            if failed != self._classic_disconnects:
                self._classic_disconnects = failed
                self._recheck_classic = True
                self._cluster._state.refresh_due = True
            elif self._cluster._state.map is None and self._sub.connected:
                # Made before the map was read: learn the other nodes while the
                # seed answers, so that there is somewhere to go if it leaves.
                yield from self._classic_steps(move=False)
            for node, sub in list(self._shards.items()):
                failed = sub.stats()["disconnects"]
                if failed != self._disconnects.get(node, 0):
                    self._disconnects[node] = failed
                    self._recheck = True
                    self._cluster._state.refresh_due = True
        if self._recheck_classic:
            self._recheck_classic = False
            yield from self._classic_steps(move=True)
        if not (self._recheck or self._dropped):
            return
        if self._dropped:  # a node gave a slot away: read the new map (rate-limited)
            yield from self._cluster._refresh_steps()
        smap = yield from self._cluster._map_steps()
        with self._mu:
            dropped, self._dropped = self._dropped, set()
            self._recheck = False
            moved: List[bytes] = []
            again: Dict[str, List[bytes]] = {}
            for key, (wire, node) in self._assign.items():
                owner = smap.slots[key_slot(wire)]
                if owner is None:
                    self._recheck = True  # not served now: look again later
                elif owner != node:
                    moved.append(wire)
                elif key in dropped:  # the map may be behind: the node answers MOVED
                    again.setdefault(node, []).append(wire)
            if moved:
                self._place(moved, smap, quiet=True)
            for node, wires in again.items():
                for wire in wires:
                    key = self._key(wire)  # type: ignore[attr-defined]
                    self._quiet[(node, key)] = self._quiet.get((node, key), 0) + 1
                    self._shard(node).request(("SSUBSCRIBE", wire))

    def _classic_steps(self, move: bool) -> Steps[None]:
        """Read the map; with ``move``, move the classic connection, which is failing
        its reconnects, off a node the map no longer names (a failover demoted it, or
        it left the cluster). Any node hears every PUBLISH, so its channels and
        patterns are subscribed again on a primary of the map, and the caller gets a
        ``reconnect`` message for the gap, as after any lost connection. A map that
        cannot be read now is read at the next check: an outage never fails a read."""
        try:
            smap = yield from self._cluster._map_steps()
        except RedisError:
            self._classic_disconnects = -1  # look again at the next check
            return
        if move and not self._sub.connected and self.node not in smap.nodes and smap.primaries:
            self.node = random.choice(smap.primaries)
            self._sub.move(*split_name(self.node))

    def _on_error(self, exc: ResponseError, node: str) -> bool:
        """A MOVED answering a shard connection's SSUBSCRIBE or SUNSUBSCRIBE: the map
        learns it and the placement is checked. False for any other error."""
        where = redirect(exc)
        if where is None or where[0] != "MOVED":
            return False
        _, slot, target = where
        state = self._cluster._state
        state.moved(slot, state.redirect_target(target, node))
        self._recheck = True
        return True

    def _admit(self, node: str | None, msg: Dict[str, Any], skip: bool) -> bool:
        """Whether a message read from a connection goes to the caller."""
        kind = msg["type"]
        if kind == "reconnect":
            msg["data"]["node"] = self.node if node is None else node
            if node is not None:  # what a lost connection owed never comes now
                with self._mu:
                    for at in [at for at in self._unsubbed if at[0] == node]:
                        del self._unsubbed[at]
            return True
        if node is None or kind not in ("ssubscribe", "sunsubscribe"):
            return not (skip and kind in _CONFIRMS)
        key = msg["channel"]
        with self._mu:
            if kind == "ssubscribe":
                if _take(self._quiet, (node, key)):
                    return False
                _take(self._owed, (node, key))
            elif _take(self._unsubbed, (node, key)):
                pass  # the caller's
            else:
                placed = self._assign.get(key)
                if placed is not None:
                    if placed[1] == node:  # the node gave the slot away
                        self._dropped.add(key)
                    return False  # else: the node it moved from let it go
        return not skip

    # -- reading all connections ---------------------------------------------------------

    def _read_steps(
        self, skip: bool, timeout: float | None, only: str | None = None
    ) -> Steps[Dict[str, Any] | None]:
        """The next message for the caller from any connection (``only``: from that
        node's shard connection; None at once when it has none), waiting up to
        ``timeout`` (None: no limit), or None; a handler's message goes to it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        skip = skip or self.ignore_subscribe_messages
        for _ in range(1 << 62):  # bounded by the deadline, or unbounded by request
            if self._closed:
                return None
            yield from self._follow_steps()
            with self._mu:
                subs: List[Tuple[str | None, Subscriber]]
                if only is None:
                    subs = [(None, self._sub), *self._shards.items()]
                elif only in self._shards:
                    subs = [(only, self._shards[only])]
                else:
                    return None
            self._turn = turn = (self._turn + 1) % len(subs)
            subs = subs[turn:] + subs[:turn]  # no connection starves the others
            waits: List[Wait] = []
            busy = False
            for node, sub in subs:
                try:
                    step = sub.step(False)
                except ResponseError as exc:
                    if node is None or not self._on_error(exc, node):
                        raise
                    busy = True
                    continue
                except RuntimeError:  # another thread sends on it: look again soon
                    waits.append((0, -1, 0.005))
                    continue
                if step is None:
                    continue  # closed
                if isinstance(step, tuple):
                    waits.append(step)
                    continue
                if not self._admit(node, step, skip):
                    busy = True
                    continue
                msg = yield from self._deliver_steps(step)
                return msg
            if busy:
                continue
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            yield self._wait_any(waits, left)
        return None

    def _deliver_steps(self, msg: Dict[str, Any]) -> Steps[Dict[str, Any] | None]:
        confine = self._confine  # type: ignore[attr-defined]
        if confine is not None:
            confine.strip(msg)
        if self._handled or self.reconnect_handler is not None:  # type: ignore[attr-defined]
            handler = self._handler_for(msg)  # type: ignore[attr-defined]
            if handler is not None:
                yield handler(msg)
                return None
        return msg

    # -- hooks -------------------------------------------------------------------------

    def _send_subs(self, subs: List[Subscriber]) -> Any:
        """Send what the connections queued (or an awaitable doing it)."""
        raise NotImplementedError

    def _wait_any(self, waits: List[Wait], timeout: float | None) -> Any:
        """Wait for any of the steps' conditions (or an awaitable doing it)."""
        raise NotImplementedError

    def _wake(self) -> None:
        """Wake a reader waiting in _wait_any: a connection was added, or closed."""

    def _close_shards(self) -> None:
        with self._mu:
            finalizers = list(self._finalizers)
        for finalizer in finalizers:
            finalizer()


def _target(node: Any) -> str | None:
    """get_sharded_message's ``target_node`` as ``"host:port"`` (None: any node)."""
    if node is None:
        return None
    name = node_name_of(node)
    if name is None:
        raise DataError(f"target_node: {node!r} names no node")
    return name


def _take(counts: Dict[Tuple[str, Any], int], at: Tuple[str, Any]) -> bool:
    """Count one off ``counts[at]``: False when there was none."""
    n = counts.get(at, 0)
    if n == 1:
        del counts[at]
    elif n:
        counts[at] = n - 1
    return n > 0


def _timeout_ms(waits: List[Wait], timeout: float | None) -> int | None:
    limits = [w[2] for w in waits if w[2] is not None]
    if timeout is not None:
        limits.append(timeout)
    if not limits:
        return None
    return max(0, int(min(limits) * 1000.0 + 0.999))


class ClusterPubSub(_Sharded, PubSub):
    """``RedisClusterClient.pubsub()``: a subscription across the cluster's nodes; see
    :mod:`pyredisclient.cluster.pubsub`. One thread reads at a time (another gets
    RuntimeError); subscribing and :meth:`close` may come from any thread."""

    def __init__(
        self,
        cluster: ClusterBase,
        ignore_subscribe_messages: bool = False,
        node: Any = None,
        **options: Any,
    ) -> None:
        self._reading = threading.Lock()
        self._pipe = os.pipe()
        for fd in self._pipe:
            os.set_blocking(fd, False)
        weakref.finalize(self, _close_fds, self._pipe)
        super().__init__(cluster, ignore_subscribe_messages, node, **options)

    def _subscribe(
        self, which: Tuple[int, str, str], args: Tuple[Any, ...], kwargs: Dict[str, Any]
    ) -> None:
        run_sync(self._placement_steps(which))
        super()._subscribe(which, args, kwargs)

    def ssubscribe(self, *channels: ChannelT, target_node: Any = None, **handlers: Handler) -> None:
        """Subscribe to shard channels on the nodes serving their slots (reading the
        slot map first if need be), as :meth:`subscribe`. A shard channel lives on
        its slot's node, so ``target_node`` (redis-py's standalone keyword) changes
        nothing."""
        run_sync(self._ssubscribe_steps(channels, handlers))

    def sunsubscribe(self, *channels: ChannelT, target_node: Any = None) -> None:
        """Unsubscribe from the shard channels given, or from all of them, where they
        were subscribed (``target_node``: as for :meth:`ssubscribe`)."""
        run_sync(self._sunsubscribe_steps(channels))

    def get_message(
        self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0
    ) -> Dict[str, Any] | None:
        """The next message from any node, waiting up to ``timeout`` seconds (None: no
        limit; 0: only what has arrived), or None."""
        return self._read(ignore_subscribe_messages, timeout, None)

    def get_sharded_message(
        self,
        ignore_subscribe_messages: bool = False,
        timeout: float | None = 0.0,
        target_node: Any = None,
    ) -> Dict[str, Any] | None:
        """redis-py's: :meth:`get_message`, or with ``target_node`` (a ClusterNode,
        ``"host:port"`` or ``(host, port)``) the next message of that node's shard
        connection only (None at once when it has none)."""
        return self._read(ignore_subscribe_messages, timeout, _target(target_node))

    def _read(
        self, ignore_subscribe_messages: bool, timeout: float | None, only: str | None
    ) -> Dict[str, Any] | None:
        timeout = wait_seconds(timeout)
        if not self._reading.acquire(blocking=False):
            raise RuntimeError("another thread reads this subscription")
        try:
            return run_sync(self._read_steps(ignore_subscribe_messages, timeout, only))
        finally:
            self._reading.release()

    def listen(self) -> Iterator[Dict[str, Any]]:
        """Messages from every node as they come, while anything is subscribed."""
        while self.subscribed and not self._closed:
            msg = self.get_message(self.ignore_subscribe_messages, None)
            if msg is not None:
                yield msg

    def _mark_closed(self) -> None:
        super()._mark_closed()
        self._close_shards()
        self._wake()

    # -- hooks: blocking -----------------------------------------------------------------

    def _send_subs(self, subs: List[Subscriber]) -> None:
        for sub in subs:
            sub.flush()  # returns at once while a reader steps it (it sends)
        self._wake()

    def _wait_any(self, waits: List[Wait], timeout: float | None) -> None:
        poller = select.poll()
        for state, fd, _ in waits:
            if fd >= 0:
                poller.register(fd, select.POLLOUT if state == WANT_WRITE else select.POLLIN)
        poller.register(self._pipe[0], select.POLLIN)
        poller.poll(_timeout_ms(waits, timeout))
        try:
            while os.read(self._pipe[0], 512):
                pass
        except (BlockingIOError, OSError):
            pass

    def _wake(self) -> None:
        pipe = getattr(self, "_pipe", None)
        if pipe is not None:
            try:
                os.write(pipe[1], b"x")
            except OSError:  # full (a wake is pending anyway) or closed
                pass


def _close_fds(fds: Tuple[int, int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


class AsyncClusterPubSub(_Sharded, AsyncPubSub):
    """``AsyncRedisClusterClient.pubsub()``: :class:`ClusterPubSub` for asyncio, with
    the coroutine methods of :class:`~pyredisclient.pubsub.AsyncPubSub`."""

    def __init__(
        self,
        cluster: ClusterBase,
        ignore_subscribe_messages: bool = False,
        node: Any = None,
        **options: Any,
    ) -> None:
        super().__init__(cluster, ignore_subscribe_messages, node, **options)
        self._watching: List[Tuple[asyncio.AbstractEventLoop, int, int]] = []

    async def _subscribe(
        self, which: Tuple[int, str, str], args: Tuple[Any, ...], kwargs: Dict[str, Any]
    ) -> None:
        await run_async(self._placement_steps(which))
        await super()._subscribe(which, args, kwargs)

    async def ssubscribe(
        self, *channels: ChannelT, target_node: Any = None, **handlers: Handler
    ) -> None:
        """Subscribe to shard channels on the nodes serving their slots
        (``target_node`` changes nothing, as in the blocking twin)."""
        await run_async(self._ssubscribe_steps(channels, handlers))

    async def sunsubscribe(self, *channels: ChannelT, target_node: Any = None) -> None:
        """Unsubscribe from the shard channels given, or from all of them."""
        await run_async(self._sunsubscribe_steps(channels))

    async def get_message(
        self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0
    ) -> Dict[str, Any] | None:
        """The next message from any node, waiting up to ``timeout`` seconds (None: no
        limit; 0: only what has arrived), or None."""
        return await self._read(ignore_subscribe_messages, timeout, None)

    async def get_sharded_message(
        self,
        ignore_subscribe_messages: bool = False,
        timeout: float | None = 0.0,
        target_node: Any = None,
    ) -> Dict[str, Any] | None:
        """:meth:`ClusterPubSub.get_sharded_message` for asyncio."""
        return await self._read(ignore_subscribe_messages, timeout, _target(target_node))

    async def _read(
        self, ignore_subscribe_messages: bool, timeout: float | None, only: str | None
    ) -> Dict[str, Any] | None:
        timeout = wait_seconds(timeout)
        lock = self._get_lock()
        loop = asyncio.get_running_loop()
        started = loop.time()
        if timeout is None:
            await lock.acquire()
        else:
            if not await acquire_within(lock, timeout):
                return None
            timeout = max(0.0, timeout - (loop.time() - started))
        try:
            return await run_async(self._read_steps(ignore_subscribe_messages, timeout, only))
        finally:
            lock.release()

    async def listen(self) -> AsyncIterator[Dict[str, Any]]:
        """Messages from every node as they come, while anything is subscribed."""
        while self.subscribed and not self._closed:
            msg = await self.get_message(self.ignore_subscribe_messages, None)
            if msg is not None:
                yield msg

    def _mark_closed(self) -> None:
        super()._mark_closed()
        self._close_shards()

    # -- hooks: awaitables ---------------------------------------------------------------

    async def _send_subs(self, subs: List[Subscriber]) -> None:
        lock = self._get_lock()
        if lock.locked():
            self._kick()  # the reader steps every connection, which sends
            return
        async with lock:
            for sub in subs:
                for _ in range(1 << 30):  # bounded: connect timeouts end it
                    step = sub.flush_step()
                    if step is None:
                        break
                    await self._wait(*step)

    def _wake(self) -> None:
        if getattr(self, "_waiter", None) is not None:
            self._kick()

    def _unwatch(self) -> None:
        super()._unwatch()
        watching, self._watching = getattr(self, "_watching", []), []
        for loop, fd, state in watching:
            if state == WANT_READ:
                loop.remove_reader(fd)
            else:
                loop.remove_writer(fd)

    async def _wait_any(self, waits: List[Wait], timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bool] = loop.create_future()
        self._waiter = fut
        for state, fd, _ in waits:
            if fd >= 0 and state in (WANT_READ, WANT_WRITE):
                if state == WANT_READ:
                    loop.add_reader(fd, _wake_future, fut)
                else:
                    loop.add_writer(fd, _wake_future, fut)
                self._watching.append((loop, fd, state))
        ms = _timeout_ms(waits, timeout)
        timer = None if ms is None else loop.call_later(ms / 1000.0, _wake_future, fut)
        try:
            await fut
        finally:
            if timer is not None:
                timer.cancel()
            self._waiter = None
            self._unwatch()


def _wake_future(fut: asyncio.Future[bool]) -> None:
    if not fut.done():
        fut.set_result(True)
