"""AsyncPubSub: a subscription on a connection of its own, for asyncio
(AsyncRedisClient.pubsub())."""

from __future__ import annotations

import asyncio
import inspect
from types import TracebackType
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Tuple, Type, Union

from .._core import WANT_READ as _WANT_READ
from .._core import WANT_WRITE as _WANT_WRITE
from ..config.compat import warn_aclose_alias
from .base import CHANNELS, PATTERNS, SHARDS, ChannelT, Handler, PubSubBase, wait_seconds

__all__ = ["AsyncPubSub"]


ExceptionHandler = Callable[[BaseException, "AsyncPubSub"], Union[Awaitable[None], None]]

#: run() gives the loop a turn after this many messages taken without suspending.
RUN_YIELD_EVERY = 32


def _wake(fut: asyncio.Future[bool], value: bool) -> None:
    if not fut.done():
        fut.set_result(value)


async def acquire_within(lock: asyncio.Lock, timeout: float) -> bool:
    """``lock.acquire()`` given up after ``timeout`` seconds (False).

    Not ``asyncio.wait_for``: before Python 3.12 it swallows a cancellation that
    arrives in the loop iteration where the acquire completes, and a cancelled
    ``run()`` task would then go on forever. Here a cancellation always propagates,
    and a lock acquired meanwhile is given back.
    """
    acquiring: asyncio.Future[bool] = asyncio.ensure_future(lock.acquire())
    try:
        await asyncio.wait((acquiring,), timeout=timeout)
    except asyncio.CancelledError:
        _abandon(lock, acquiring)
        raise
    if acquiring.done():
        return acquiring.result()
    _abandon(lock, acquiring)
    return False


def _abandon(lock: asyncio.Lock, acquiring: asyncio.Future[bool]) -> None:
    if not acquiring.done():
        acquiring.cancel()  # a cancelled acquire never takes the lock
    elif not acquiring.cancelled() and acquiring.exception() is None:
        lock.release()


class AsyncPubSub(PubSubBase):
    """The asyncio twin of :class:`~pyredisclient.pubsub.PubSub`: the same methods as
    coroutines, ``async for message in pubsub.listen()``, handlers plain or ``async``,
    and :meth:`run` to hand every message to its handler in a task.

    The connection is stepped on the event loop (``loop.add_reader``, never a
    thread). Cancelling a task that waits in :meth:`get_message` or :meth:`listen`
    leaves the subscription usable: nothing is half-read, the connection stays.
    One task waits at a time; the others queue behind it.
    """

    def __init__(self, core_options: Dict[str, Any], **kwargs: Any) -> None:
        super().__init__(core_options, **kwargs)
        self._lock: asyncio.Lock | None = None  # made on the loop, when first needed
        self._waiter: asyncio.Future[bool] | None = None
        self._watched: Tuple[asyncio.AbstractEventLoop, int, int] | None = None

    async def __aenter__(self) -> AsyncPubSub:
        return self

    async def __aexit__(
        self,
        exc_type: Type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection. A task waiting in :meth:`get_message` gets None, one
        in :meth:`listen` stops; any later call raises ConnectionError. Idempotent."""
        self._unwatch()  # before the fd closes: it may be reused at once
        self._kick()
        self._mark_closed()

    async def close(self) -> None:
        """redis.asyncio's old name of :meth:`aclose`, deprecated there and here
        (a DeprecationWarning)."""
        warn_aclose_alias("close")
        await self.aclose()

    async def reset(self) -> None:
        """redis.asyncio's old name of :meth:`aclose`, deprecated there and here
        (a DeprecationWarning)."""
        warn_aclose_alias("reset")
        await self.aclose()

    # -- waiting on the loop -------------------------------------------------------------

    def _get_lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def _kick(self) -> None:
        """Wake the task waiting on the connection: it steps again."""
        if self._waiter is not None:
            _wake(self._waiter, True)

    def _unwatch(self) -> None:
        watched, self._watched = self._watched, None
        if watched is not None:
            loop, fd, state = watched
            if state == _WANT_READ:
                loop.remove_reader(fd)
            else:
                loop.remove_writer(fd)

    async def _wait(self, state: int, fd: int, timeout: float | None) -> None:
        """Wait as a step asked (readable or writable fd, or a sleep) for at most
        ``timeout`` seconds, or until kicked."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bool] = loop.create_future()
        self._waiter = fut
        if fd >= 0 and state in (_WANT_READ, _WANT_WRITE):
            if state == _WANT_READ:
                loop.add_reader(fd, _wake, fut, True)
            else:
                loop.add_writer(fd, _wake, fut, True)
            self._watched = (loop, fd, state)
        timer = None if timeout is None else loop.call_later(timeout, _wake, fut, False)
        try:
            await fut
        finally:
            if timer is not None:
                timer.cancel()
            self._waiter = None
            self._unwatch()

    async def _flush(self) -> None:
        """Connect if needed and send what requests queued. When another task waits
        on the connection it is woken to do it instead."""
        lock = self._get_lock()
        if lock.locked():
            self._kick()
            return
        async with lock:
            while True:
                step = self._sub.flush_step()
                if step is None:
                    return
                await self._wait(*step)

    # -- subscribing ---------------------------------------------------------------------

    async def _subscribe(
        self, which: Tuple[int, str, str], args: Tuple[Any, ...], kwargs: Dict[str, Any]
    ) -> None:
        self._queue_subscribe(which, args, kwargs)
        await self._flush()

    async def _unsubscribe(self, which: Tuple[int, str, str], args: Tuple[Any, ...]) -> None:
        self._queue_unsubscribe(which, args)
        await self._flush()

    async def subscribe(self, *channels: ChannelT, **handlers: Handler) -> None:
        """Subscribe to channels, ``name=handler`` registering a handler (a function
        or a coroutine function). See :meth:`PubSub.subscribe
        <pyredisclient.pubsub.PubSub.subscribe>`."""
        await self._subscribe(CHANNELS, channels, handlers)

    async def psubscribe(self, *patterns: ChannelT, **handlers: Handler) -> None:
        """Subscribe to glob-style patterns, as :meth:`subscribe`."""
        await self._subscribe(PATTERNS, patterns, handlers)

    async def ssubscribe(
        self, *channels: ChannelT, target_node: Any = None, **handlers: Handler
    ) -> None:
        """Subscribe to shard channels, as :meth:`subscribe`. ``target_node`` is
        redis-py's, for a cluster: one server has one node (redis-py ignores it
        here too)."""
        await self._subscribe(SHARDS, channels, handlers)

    async def unsubscribe(self, *channels: ChannelT) -> None:
        """Unsubscribe from the channels given, or from all of them."""
        await self._unsubscribe(CHANNELS, channels)

    async def punsubscribe(self, *patterns: ChannelT) -> None:
        """Unsubscribe from the patterns given, or from all of them."""
        await self._unsubscribe(PATTERNS, patterns)

    async def sunsubscribe(self, *channels: ChannelT, target_node: Any = None) -> None:
        """Unsubscribe from the shard channels given, or from all of them
        (``target_node``: as for :meth:`ssubscribe`)."""
        await self._unsubscribe(SHARDS, channels)

    async def ping(self, message: ChannelT | None = None) -> None:
        """Send PING; its answer is a message of type ``pong``."""
        self._sub.request(self._ping_request(message))
        await self._flush()

    # -- reading -------------------------------------------------------------------------

    async def _deliver(self, msg: Dict[str, Any]) -> Dict[str, Any] | None:
        """A message for the caller, or None when its handler took it."""
        if self._confine is not None:
            self._confine.strip(msg)
        if self._handled or self.reconnect_handler is not None:
            handler = self._handler_for(msg)
            if handler is not None:
                result = handler(msg)
                if inspect.isawaitable(result):
                    await result
                return None
        return msg

    async def get_message(
        self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0
    ) -> Dict[str, Any] | None:
        """The next message, waiting up to ``timeout`` seconds (None: no limit; 0:
        only what has arrived), or None. Never raises because the server is
        unreachable. A message with a handler goes to it (awaited when a coroutine
        function), and None is returned."""
        seconds = wait_seconds(timeout)
        msg = await self._next(ignore_subscribe_messages or self.ignore_subscribe_messages, seconds)
        return None if msg is None else await self._deliver(msg)

    async def get_sharded_message(
        self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0
    ) -> Dict[str, Any] | None:
        """:meth:`get_message` under redis-py's name for shard-channel readers."""
        return await self.get_message(ignore_subscribe_messages, timeout)

    async def _next(self, skip: bool, timeout: float | None) -> Dict[str, Any] | None:
        """The next message read (before any handler), or None after ``timeout``
        seconds or a close."""
        lock = self._get_lock()
        if not lock.locked():
            # What has arrived is read without waiting, and without the lock.
            step = self._sub.step(skip)
            if not isinstance(step, tuple):
                return step
            if timeout is not None and timeout <= 0:
                return None
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        if timeout is None:
            await lock.acquire()
        else:
            if not await acquire_within(lock, timeout):
                return None
        try:
            while True:
                step = self._sub.step(skip)
                if not isinstance(step, tuple):
                    break
                state, fd, wait = step
                if deadline is not None:
                    left = deadline - loop.time()
                    if left <= 0:
                        return None
                    wait = left if wait is None or left < wait else wait
                await self._wait(state, fd, wait)
                if self._closed:
                    return None  # aclose() ended the wait
        finally:
            lock.release()
        return step

    async def listen(self) -> AsyncIterator[Dict[str, Any]]:
        """Messages as they come, for as long as anything is subscribed (an outage
        does not end it). Ends after :meth:`aclose`."""
        while self._sub.subscribed:
            msg = await self.get_message(self.ignore_subscribe_messages, None)
            if msg is not None:
                yield msg

    async def run(
        self,
        *,
        exception_handler: ExceptionHandler | None = None,
        poll_timeout: float = 1.0,
        pubsub: AsyncPubSub | None = None,
    ) -> None:
        """Hand every message to its handler until cancelled or closed (every name
        needs a handler: PubSubError). Run it as a task::

            task = asyncio.create_task(pubsub.run())

        An exception from a handler or the subscription goes to
        ``exception_handler(exc, pubsub)`` (which may be a coroutine function), or
        ends the task. ``pubsub`` (redis.asyncio's) runs that subscription instead.
        """
        if pubsub is not None and pubsub is not self:
            await pubsub.run(exception_handler=exception_handler, poll_timeout=poll_timeout)
            return
        self._check_handlers()
        turns = 0
        while not self._closed:
            turns += 1
            try:
                await self.get_message(ignore_subscribe_messages=True, timeout=poll_timeout)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                if self._closed:
                    break
                if exception_handler is None:
                    raise
                result = exception_handler(exc, self)
                if inspect.isawaitable(result):
                    await result
                turns = RUN_YIELD_EVERY  # an error that comes at once: yield now
            # A message already read returns without suspending, and so does an
            # error that comes at once: without a yield now and then, a busy channel
            # (or a failure the handler swallows) would starve every other task.
            if turns >= RUN_YIELD_EVERY:
                turns = 0
                await asyncio.sleep(0)
