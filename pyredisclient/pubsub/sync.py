"""PubSub: a subscription on a connection of its own, for threads (client.pubsub())."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any, Callable, Dict, Iterator, Tuple, Type

from .base import CHANNELS, PATTERNS, SHARDS, ChannelT, Handler, PubSubBase

__all__ = ["PubSub", "PubSubWorkerThread"]


class PubSub(PubSubBase):
    """A subscription on a connection of its own, outside the client's pool.

    Made by :meth:`RedisClient.pubsub() <pyredisclient.RedisClient.pubsub>`, with
    redis-py's methods and message dicts (``type``, ``pattern``, ``channel``,
    ``data``). The connection is restored by itself: after a server restart, a
    ``CLIENT KILL``, a network drop or an unanswered health check the subscription
    reconnects with backoff and resubscribes every channel and pattern, and a message
    of type ``"reconnect"`` marks the gap. ``get_message`` and ``listen`` never raise
    because the server is unreachable; after :meth:`close` every call raises
    ConnectionError.

    One thread reads at a time (another gets RuntimeError); (un)subscribing, ``ping``
    and :meth:`close` may come from any thread, and wake a reader that waits.
    """

    def __enter__(self) -> PubSub:
        return self

    def __exit__(
        self,
        exc_type: Type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection. A thread waiting in :meth:`get_message` gets None,
        one in :meth:`listen` stops; any later call raises ConnectionError.
        Idempotent."""
        self._mark_closed()

    reset = close  # redis-py's other name

    # -- subscribing ---------------------------------------------------------------------

    def _subscribe(
        self, which: Tuple[int, str, str], args: Tuple[Any, ...], kwargs: Dict[str, Any]
    ) -> None:
        self._queue_subscribe(which, args, kwargs)
        self._sub.flush()

    def _unsubscribe(self, which: Tuple[int, str, str], args: Tuple[Any, ...]) -> None:
        self._queue_unsubscribe(which, args)
        self._sub.flush()

    def _send(self, request: Any) -> None:
        self._sub.request(request)
        # Connect if needed and send, without the GIL; a reader in another thread
        # does it instead when one waits.
        self._sub.flush()

    def subscribe(self, *channels: ChannelT, **handlers: Handler) -> None:
        """Subscribe to channels; ``name=handler`` keywords register a handler that
        gets the channel's messages instead of :meth:`get_message`'s caller.

        Returns once the SUBSCRIBE is sent (connecting first if needed, within
        ``socket_connect_timeout``) on a connection the server has answered once
        already, so a PUBLISH sent after it reaches this subscription. When the
        server cannot be reached the
        subscription is still kept: it is made as soon as the server is back, and a
        ``reconnect`` message says so.
        """
        self._subscribe(CHANNELS, channels, handlers)

    def psubscribe(self, *patterns: ChannelT, **handlers: Handler) -> None:
        """Subscribe to glob-style patterns (``news.*``), as :meth:`subscribe`."""
        self._subscribe(PATTERNS, patterns, handlers)

    def ssubscribe(self, *channels: ChannelT, target_node: Any = None, **handlers: Handler) -> None:
        """Subscribe to shard channels (Redis 7), as :meth:`subscribe`. ``target_node``
        is redis-py's, for a cluster: one server has one node (redis-py ignores it
        here too)."""
        self._subscribe(SHARDS, channels, handlers)

    def unsubscribe(self, *channels: ChannelT) -> None:
        """Unsubscribe from the channels given, or from all of them."""
        self._unsubscribe(CHANNELS, channels)

    def punsubscribe(self, *patterns: ChannelT) -> None:
        """Unsubscribe from the patterns given, or from all of them."""
        self._unsubscribe(PATTERNS, patterns)

    def sunsubscribe(self, *channels: ChannelT, target_node: Any = None) -> None:
        """Unsubscribe from the shard channels given, or from all of them
        (``target_node``: as for :meth:`ssubscribe`)."""
        self._unsubscribe(SHARDS, channels)

    def ping(self, message: ChannelT | None = None) -> None:
        """Send PING; its answer is a message of type ``pong`` (data: the message)."""
        self._send(self._ping_request(message))

    # -- reading -------------------------------------------------------------------------

    def get_message(
        self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0
    ) -> Dict[str, Any] | None:
        """The next message, waiting up to ``timeout`` seconds (None: no limit; 0:
        only what has arrived), or None.

        The wait releases the GIL and is never cut short by an outage: while the
        server is unreachable the subscription reconnects in the background of this
        wait and it returns None after ``timeout``. A message whose channel or
        pattern has a handler goes to it, and None is returned.
        """
        msg = self._sub.get_message(
            timeout, ignore_subscribe_messages or self.ignore_subscribe_messages
        )
        return None if msg is None else self._deliver(msg)

    def get_sharded_message(
        self, ignore_subscribe_messages: bool = False, timeout: float | None = 0.0
    ) -> Dict[str, Any] | None:
        """:meth:`get_message` under redis-py's name for shard-channel readers: one
        connection carries every kind of message, so it is the same read."""
        return self.get_message(ignore_subscribe_messages, timeout)

    def _deliver(self, msg: Dict[str, Any]) -> Dict[str, Any] | None:
        """A message for the caller, or None when its handler took it."""
        if self._confine is not None:
            self._confine.strip(msg)
        if self._handled or self.reconnect_handler is not None:
            handler = self._handler_for(msg)
            if handler is not None:
                handler(msg)
                return None
        return msg

    def listen(self) -> Iterator[Dict[str, Any]]:
        """Messages as they come, for as long as anything is subscribed (an outage
        does not end it: it waits and goes on). Ends after :meth:`close`."""
        while self._sub.subscribed:
            msg = self.get_message(self.ignore_subscribe_messages, None)
            if msg is not None:
                yield msg

    def run_in_thread(
        self,
        sleep_time: float = 0.0,
        daemon: bool = False,
        exception_handler: Callable[[BaseException, PubSub, PubSubWorkerThread], None]
        | None = None,
        pubsub: PubSub | None = None,
        sharded_pubsub: bool = False,
    ) -> PubSubWorkerThread:
        """Read in a thread that hands every message to its handler; every channel
        and pattern must have one (PubSubError). ``worker.stop()`` ends it at once
        and closes the subscription. ``sleep_time`` is the longest one wait lasts (0:
        no limit: the worker sleeps until a message or stop()).

        redis-py's ``pubsub`` runs that subscription instead of this one. Its
        ``sharded_pubsub`` makes redis-py's worker read shard-channel messages; the
        reads here carry every kind of message, so shard channels are read either way.
        """
        target = self if pubsub is None else pubsub
        target._check_handlers()
        worker = PubSubWorkerThread(
            target, sleep_time, daemon=daemon, exception_handler=exception_handler
        )
        worker.start()
        return worker


class PubSubWorkerThread(threading.Thread):
    """The thread of :meth:`PubSub.run_in_thread`."""

    def __init__(
        self,
        pubsub: PubSub,
        sleep_time: float,
        daemon: bool = False,
        exception_handler: Callable[[BaseException, PubSub, PubSubWorkerThread], None]
        | None = None,
    ) -> None:
        super().__init__(daemon=daemon, name="pyredisclient-pubsub")
        self.pubsub = pubsub
        self.sleep_time = sleep_time
        self.exception_handler = exception_handler
        self._running = threading.Event()

    def run(self) -> None:
        if self._running.is_set():
            return
        self._running.set()
        pubsub = self.pubsub
        timeout = self.sleep_time if self.sleep_time > 0 else None
        while self._running.is_set() and not pubsub.closed:
            try:
                pubsub.get_message(ignore_subscribe_messages=True, timeout=timeout)
            except BaseException as exc:
                if pubsub.closed:
                    break
                if self.exception_handler is None:
                    raise
                self.exception_handler(exc, pubsub, self)
        pubsub.close()

    def stop(self) -> None:
        """Stop reading: the wait ends at once and the subscription is closed."""
        self._running.clear()
        self.pubsub.close()
