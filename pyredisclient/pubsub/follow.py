"""Subscriptions of a client made by ``from_sentinel``: connected to the node the
sentinels name, and moved when a failover replaces it.

``client.pubsub()`` on such a client used to connect to the client's configured
address, which a sentinel client does not have (``localhost:6379`` by default). Here
the subscription is placed on the node the client's resolver names (the primary, or a
replica for ``client.replica_client()``), and its reads look at that node at least every
:data:`FOLLOW_EVERY` seconds, reading the ``+switch-master`` watch as a command does:
when the sentinels announced a new primary, the client moved to another node, or the
subscription lost its connection and the sentinels now name another node, it moves
there (``Subscriber.move``), subscribes every channel and pattern again and returns a
``reconnect`` message for the gap, as after any lost connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Callable, Dict, Tuple

from .._core import Subscriber
from .._steps import run_sync
from ..exceptions import RedisError
from .aio import AsyncPubSub
from .sync import PubSub

__all__ = ["FOLLOW_EVERY", "AsyncSentinelPubSub", "SentinelPubSub"]

logger = logging.getLogger("pyredisclient")

#: The longest one wait of a sentinel client's subscription lasts before it looks
#: at the node the sentinels name (seconds).
FOLLOW_EVERY = 0.5


class SentinelFollower:
    """Where a sentinel client's subscription is, and when it must move. ``resolver``
    is the client's SentinelResolver (shared: a move of the client moves the
    subscription too, and the other way round)."""

    def __init__(self, resolver: Any, sub: Subscriber) -> None:
        self.resolver = resolver
        self.sub = sub
        #: The (host, port) subscribed on; None until placed.
        self.target: Tuple[str, int] | None = None
        self._lost = 0  # the subscriber's disconnects at the last look
        self._failing = False  # lost since then and still down: ask the sentinels

    def due(self) -> bool:
        """Whether :meth:`follow` has work: not placed yet; the +switch-master watch
        is due a look (as before a command); the resolver names another node; or
        the connection was lost since the last look and is down."""
        if self.target is None:
            return True
        lost = self.sub.stats()["disconnects"]
        if lost != self._lost:
            self._lost = lost
            self._failing = not self.sub.connected
        address = self.resolver.address
        moved = address is not None and address != self.target
        return self._failing or moved or self.resolver.poll_ready()

    def place(self) -> None:
        """Ask the sentinels (blocking) and place the subscription on the node they
        name; MasterNotFoundError when none answers, as a command would raise."""
        self.resolver.current()
        self._move_to_current()

    def follow(self) -> None:
        """(Blocking.) What a command does first, reading what the +switch-master
        watch announced and taking the current pool, then, when this subscription's
        connection is failing on the resolver's node, asking the sentinels again;
        and move to the node they name. A failure is left for the next look: an
        outage never fails a read."""
        resolver = self.resolver
        failing, self._failing = self._failing, False
        try:
            core = run_sync(resolver.pool_steps(_call))
            if failing and resolver.address == self.target:
                resolver.refresh(core)
        except RedisError as exc:
            logger.debug("pub/sub: the sentinels named no node: %s", exc)
            return
        self._move_to_current()

    def _move_to_current(self) -> None:
        address = self.resolver.address
        if address is None or address == self.target:
            return
        if self.target is not None:
            logger.warning(
                "pub/sub: the sentinels name %s:%s for %r now; subscribing there",
                *address,
                self.resolver.service_name,
            )
        try:
            self.sub.move(*address)
        except RedisError:  # closed meanwhile (a follow on a worker thread)
            return
        self.target = address


def _call(func: Callable[..., Any], *args: Any) -> Any:
    return func(*args)


def placeholder(core_options: Dict[str, Any], resolver: Any) -> Dict[str, Any]:
    """The subscriber's options before it is placed: the resolver's node when known,
    else a sentinel's address (never connected to: nothing steps the subscriber
    before it is placed)."""
    address = resolver.address or (resolver.sentinel_config.host, resolver.sentinel_config.port)
    return dict(core_options, host=address[0], port=address[1])


class SentinelPubSub(PubSub):
    """``client.pubsub()`` of a client made by :meth:`RedisClient.from_sentinel
    <pyredisclient.RedisClient.from_sentinel>`: see :mod:`pyredisclient.pubsub.follow`.
    Made on the node the sentinels name (MasterNotFoundError when none answers)."""

    def __init__(self, core_options: Dict[str, Any], resolver: Any, **kwargs: Any) -> None:
        super().__init__(placeholder(core_options, resolver), **kwargs)
        self._follower = SentinelFollower(resolver, self._sub)
        try:
            self._follower.place()
        except BaseException:
            self.close()
            raise

    def get_message(
        self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0
    ) -> Dict[str, Any] | None:
        """As :meth:`PubSub.get_message <pyredisclient.pubsub.PubSub.get_message>`,
        waiting in slices of at most FOLLOW_EVERY seconds to follow the sentinels."""
        skip = ignore_subscribe_messages or self.ignore_subscribe_messages
        deadline = None if timeout is None else time.monotonic() + timeout
        for _ in range(1 << 62):  # bounded by the deadline, or unbounded by request
            if self._follower.due():
                self._follower.follow()
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            wait = FOLLOW_EVERY if left is None else min(left, FOLLOW_EVERY)
            msg = self._sub.get_message(wait, skip)
            if msg is not None:
                return self._deliver(msg)
            if self._closed or (left is not None and left <= FOLLOW_EVERY):
                return None
        return None


class AsyncSentinelPubSub(AsyncPubSub):
    """``client.pubsub()`` of an AsyncRedisClient made by ``from_sentinel``: see
    :mod:`pyredisclient.pubsub.follow`. Placed by its first subscribe (which raises
    MasterNotFoundError when no sentinel names a node); the sentinels are asked on
    a worker thread, never on the loop."""

    def __init__(self, core_options: Dict[str, Any], resolver: Any, **kwargs: Any) -> None:
        super().__init__(placeholder(core_options, resolver), **kwargs)
        self._follower = SentinelFollower(resolver, self._sub)

    async def _flush(self) -> None:
        if self._follower.target is None:
            await asyncio.to_thread(self._follower.place)
        await super()._flush()

    async def _next(self, skip: bool, timeout: float | None) -> Dict[str, Any] | None:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        for _ in range(1 << 62):  # bounded by the deadline, or unbounded by request
            if self._follower.due():
                await asyncio.to_thread(self._follower.follow)
            left = None if deadline is None else max(0.0, deadline - loop.time())
            wait = FOLLOW_EVERY if left is None else min(left, FOLLOW_EVERY)
            if self._follower.target is None:
                await asyncio.sleep(wait)  # nowhere to connect yet
                msg = None
            else:
                msg = await super()._next(skip, wait)
            if msg is not None or self._closed or (left is not None and left <= FOLLOW_EVERY):
                return msg
        return None
