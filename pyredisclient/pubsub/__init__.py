"""Pub/sub that survives the network: a subscription on a connection of its own.

``client.pubsub()`` (:class:`PubSub`) and ``async_client.pubsub()``
(:class:`AsyncPubSub`) subscribe with redis-py's methods and message dicts. Each
subscription owns one connection, outside the client's pool, that reconnects by itself:

* **Reconnects.** When the connection is lost (a server restart, ``CLIENT KILL``, a
  network drop, a TLS error, a health check unanswered) the subscription reconnects with
  backoff (``retry_base`` doubling up to ``retry_cap``, with jitter, for as long as
  anything is subscribed) and resubscribes every channel, pattern and shard channel in
  one write. The confirmations of that resubscription are not delivered; a message of
  type ``"reconnect"`` is, once they are in: ``{"type": "reconnect", "pattern": None,
  "channel": None, "data": {"down_seconds", "attempts", "reason", "channels",
  "patterns", "shard_channels"}}``. Messages published while the connection was down
  are lost (pub/sub keeps nothing), so that is the moment to resync. Each reconnect is
  counted in the client's ``metrics()`` (``pubsub``).
* **Health.** An idle subscription sends a PING every ``health_check_interval``
  seconds; when nothing at all comes back within ``socket_timeout`` of a PING (or of a
  SUBSCRIBE), the connection is treated as lost. A proxy dropping idle connections, or
  a paused server, is noticed within ``health_check_interval + socket_timeout``.
* **Outages.** ``get_message(timeout=t)`` returns after ``t`` seconds while the server
  is unreachable (it sleeps between reconnects, never spins); ``listen()`` keeps
  waiting. Neither raises because of an outage; :meth:`close` ends both, and any call
  after it raises ConnectionError.
* **Slow consumers.** The client reads one message at a time as the caller asks,
  buffering at most the message being read plus 16 KiB: what the caller has not read
  waits in the socket and then in the server's output buffer for the connection,
  bounded by its ``client-output-buffer-limit pubsub`` (default 32 MB hard, 8 MB for
  60 s). A subscriber too slow for that limit is disconnected by the server; it then
  reconnects, and the ``reconnect`` message reports the gap.
* **Fork.** A subscription belongs to the process that made it: in a child every call
  raises ConnectionError (nothing is sent on the parent's connection). Subscribe again
  in the child.
* **Key prefixes.** On a client with ``key_prefix``, channel names are confined like
  keys: subscribing to ``"news"`` subscribes to ``prefix + "news"``, patterns match
  under the prefix only (its glob characters escaped), ``publish`` prefixes too, and
  messages name their channels without the prefix. ``key_prefix_channels=False`` turns
  this off for a client whose channels are shared with others.

``client.monitor()`` (:class:`Monitor`, :class:`AsyncMonitor`) runs MONITOR on the same
kind of connection: :mod:`pyredisclient.pubsub.monitor`.
"""

from typing import TYPE_CHECKING, Any

from .base import ChannelT, Handler, PubSubStats
from .monitor import AsyncMonitor, Monitor
from .sync import PubSub, PubSubWorkerThread

if TYPE_CHECKING:
    from .aio import AsyncPubSub

__all__ = [
    "AsyncMonitor",
    "AsyncPubSub",
    "ChannelT",
    "Handler",
    "Monitor",
    "PubSub",
    "PubSubStats",
    "PubSubWorkerThread",
]


def __getattr__(name: str) -> Any:
    # asyncio is imported on first use only (a Cloud Function's cold start).
    if name == "AsyncPubSub":
        from .aio import AsyncPubSub

        return AsyncPubSub
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
