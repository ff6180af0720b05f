"""RedisClient: blocking calls, each one C call with the GIL released."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, Tuple, TypeVar

from .._steps import run_sync
from ..commands import CoreCommands
from ..commands.keyprefix import KeyPrefixer
from ..commands.types import Callback
from ..config import RedisConfig
from ..resilience.health import health_check
from .base import ClientBase, log_shared_close
from .locking import LockMethods
from .pipeline import Pipeline, transaction_steps
from .sentinel import SentinelResolver, attach, replica_resolver, sentinel_client
from .spellings import ItemMethods

if TYPE_CHECKING:
    from ..pubsub import PubSub
    from ..pubsub.monitor import Monitor

logger = logging.getLogger("pyredisclient")

_T = TypeVar("_T", bound="RedisClient")


class _shared_or_bound:
    """A method that runs on the instance, or on the shared client when called
    on the class: ``client.health_check()`` and ``RedisClient.health_check()``."""

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        self.__doc__ = func.__doc__
        self.__name__ = func.__name__

    def __get__(self, obj: Any, owner: Any = None) -> Callable[..., Any]:
        func = self.func
        if obj is None:

            def on_shared(*args: Any, **kwargs: Any) -> Any:
                return func(None, *args, **kwargs)

            on_shared.__doc__ = func.__doc__
            return on_shared

        def bound(*args: Any, **kwargs: Any) -> Any:
            return func(obj, *args, **kwargs)

        bound.__doc__ = func.__doc__
        return bound


class RedisClient(ClientBase, CoreCommands, LockMethods, ItemMethods):
    """A Redis client whose connections, I/O and parsing run in C.

    Build it with keyword options (``RedisClient(host="cache", port=6379)``), a
    validated :class:`RedisConfig` (``RedisClient(config=cfg)``), a URL
    (:meth:`from_url`) or the environment (:meth:`get_client`). One client is safe to
    share across threads: each call checks out a pooled connection, and the GIL is
    released for the whole wait, connect, write and read.
    """

    _shared: RedisClient | None = None
    _process_shared = False  # True on the instance get_client() hands out
    _sentinel: SentinelResolver | None = None  # set by from_sentinel()
    _shared_lock = threading.Lock()

    def _set_prefixer(self, prefixer: KeyPrefixer | None) -> None:
        self._prefixer = prefixer
        if self.__dict__.get("_sentinel") is not None:
            self._run = self._run_sentinel  # type: ignore[method-assign]
            return
        # The command methods' hook is the C method itself: run the command, then
        # apply the reply callback, with no Python frame in between. Only a prefixed
        # client pays for prefixing (and a traced one for tracing, which wraps this).
        if prefixer is None:
            self._run = self._core.run  # type: ignore[method-assign,assignment]
        else:
            self._run = self._run_prefixed  # type: ignore[method-assign]

    def _run_prefixed(self, args: Tuple[Any, ...], callback: Callback | None = None) -> Any:
        args, callback = self._prefixer.prepare(args, callback)  # type: ignore[union-attr]
        reply = self._core.execute(args)
        return reply if callback is None else callback(reply)

    def _run_sentinel(self, args: Tuple[Any, ...], callback: Callback | None = None) -> Any:
        # The hook of a client from from_sentinel(): the resolver's current pool,
        # following a failover (client/sentinel.py).
        if self._prefixer is not None:
            args, callback = self._prefixer.prepare(args, callback)
        steps = self._sentinel.run_steps(  # type: ignore[union-attr]
            self, args, _execute, time.sleep, _offload
        )
        reply = run_sync(steps)
        return reply if callback is None else callback(reply)

    # -- sentinel ---------------------------------------------------------------------

    @classmethod
    def from_sentinel(
        cls,
        sentinels: Iterable[Any],
        service_name: str,
        *,
        role: str = "primary",
        sentinel_kwargs: Dict[str, Any] | None = None,
        retry_timeout: float | None = None,
        config: RedisConfig | None = None,
        **options: Any,
    ) -> RedisClient:
        """A client of the primary (or, ``role="replica"``, a replica) that the
        sentinels name for ``service_name``, following failovers.

        ``sentinels`` are ``"host:port"`` strings or (host, port) pairs. The other
        options configure the data nodes' connections (password, TLS, timeouts ...);
        ``sentinel_kwargs`` the sentinels' (``password``, ``username``, ``ssl`` and
        the ``ssl_*`` options; by default the sentinels get the data nodes' TLS
        settings but no password; ``ssl=False``: plain sentinels). The primary is
        asked for on first use and checked with ROLE; a ``+switch-master``
        announcement (watched on one sentinel), READONLY, NOREPLICAS or a connection
        error swaps in a pool for the new primary (the old one is drained) and sends the command
        again where that is safe (it did not run, or it is read-only), within
        ``retry_timeout`` (default socket_timeout). Pipelines created after a
        failover use the new primary.
        """
        client: RedisClient = sentinel_client(
            cls, sentinels, service_name, role, sentinel_kwargs, retry_timeout, config, options
        )
        return client

    def replica_client(self) -> RedisClient:
        """A client of a random healthy replica of this sentinel client's service
        (another one after a connection error); for reads."""
        client: RedisClient = attach(type(self), replica_resolver(self._sentinel))
        return client

    # -- the shared client ------------------------------------------------------------

    @classmethod
    def get_client(cls) -> RedisClient:
        """The process-wide shared client, configured from the environment.

        Created lazily on first use (thread-safe) from ``REDIS_URL`` or the separate
        ``REDIS_*`` variables. It never raises because Redis is down: the first PING
        is bounded by the connect timeout and a failure is logged once; only a bad
        configuration raises ConfigurationError. After ``os.fork()`` the child keeps
        the client; its pool drops the connections inherited from the parent. It
        belongs to the process: its ``close()`` (and a ``with`` block's end) closes its
        connections and leaves it open, as redis-py's ``close()`` does.
        """
        client = cls._shared
        if client is not None:
            return client
        with cls._shared_lock:
            if cls._shared is None:
                client = RedisClient(config=RedisConfig.from_env())
                try:
                    client.ping()
                except Exception as exc:
                    logger.warning(
                        "shared Redis client created but the first PING failed "
                        "(%s: %s); calls will fail until Redis is reachable",
                        type(exc).__name__,
                        exc,
                    )
                client._process_shared = True
                RedisClient._shared = client
            return RedisClient._shared  # type: ignore[return-value]

    @classmethod
    def close_shared(cls) -> None:
        """Close the shared client for good and forget it: what its own ``close()``
        does to a client of your own (callers blocked on it, a ``BLPOP`` in another
        thread, wake with ConnectionError). For shutdown; the next :meth:`get_client`
        makes a new one."""
        cls._reset_shared()

    @classmethod
    def _reset_shared(cls) -> None:
        """Close and forget the shared client (tests and re-configuration)."""
        with cls._shared_lock:
            client, RedisClient._shared = RedisClient._shared, None
        if client is not None:
            client._process_shared = False
            client.close()

    # -- pipelines ----------------------------------------------------------------

    def pubsub(self, ignore_subscribe_messages: bool = False, **options: Any) -> PubSub:
        """A subscription on a connection of its own (redis-py's PubSub API), which
        reconnects and resubscribes by itself: see :mod:`pyredisclient.pubsub`. On a
        client made by ``from_sentinel`` it subscribes on the node the sentinels name
        and follows a failover (:mod:`pyredisclient.pubsub.follow`)."""
        from ..pubsub import PubSub

        core_options, py_options = self._pubsub_args(ignore_subscribe_messages, options)
        if self._sentinel is not None:
            from ..pubsub.follow import SentinelPubSub

            return SentinelPubSub(core_options, self._sentinel, **py_options)
        return PubSub(core_options, **py_options)

    def monitor(self) -> Monitor:
        """redis-py's ``Monitor``: ``with client.monitor() as m: m.next_command()``
        shows every command the server runs, on a connection of its own that
        reconnects; see :mod:`pyredisclient.pubsub.monitor`."""
        from ..pubsub.monitor import Monitor, confirm_timeout

        return Monitor(self.pubsub(), confirm_timeout(self._config))

    def client(self) -> RedisClient:
        """redis-py's ``client()``, "a client that uses a single connection": a new
        client with this one's configuration and a pool of its own, whose sequential
        calls reuse one connection (``with r.client() as c:`` closes only it)."""
        return RedisClient(config=self._config_for_client())

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Pipeline:
        """Queue commands and send them with one write; ``execute()`` reads all replies.

        With ``transaction=True`` (the default) they run inside MULTI/EXEC.
        """
        return Pipeline(self, transaction)

    def transaction(
        self,
        func: Callable[[Pipeline], Any],
        *watches: Any,
        shard_hint: Any = None,
        value_from_callable: bool = False,
        watch_delay: float | None = None,
    ) -> Any:
        """Run ``func(pipe)`` in a WATCH/MULTI/EXEC transaction, retrying on WatchError.

        As redis-py: ``func`` reads through the pipeline (immediate while watching),
        calls ``pipe.multi()`` and queues writes; the result of EXEC is returned (or
        ``func``'s value with ``value_from_callable=True``).
        """
        with self.pipeline(True) as pipe:
            steps = transaction_steps(
                pipe, func, watches, value_from_callable, watch_delay, time.sleep
            )
            return run_sync(steps)

    # -- health and lifecycle ------------------------------------------------------------

    @_shared_or_bound
    def health_check(self: RedisClient | None, deep: bool = False) -> Dict[str, Any]:
        """Never raises: a dict with status "healthy", "degraded" or "unhealthy".

        On the class (``RedisClient.health_check()``) it checks the shared client of
        :meth:`get_client`. ``deep=True`` also times a SET/GET/DEL round trip.
        """
        return health_check(RedisClient.get_client if self is None else self, deep=deep)

    def _disconnect(self, in_use: bool) -> None:
        self._core.disconnect(in_use)

    def close(self) -> None:
        """Close pooled connections and wake callers blocked on this client.

        Later calls raise ConnectionError. Safe to call more than once. On the shared
        client of :meth:`get_client`, which other code goes on using, it closes the
        idle connections and each one in use once its call gives it back, and the
        client stays open (a WARNING the second time: closing it per call);
        :meth:`close_shared` closes that one for good.
        """
        if self._process_shared:
            log_shared_close(self)
            self._disconnect(True)
            return
        self._core.close()
        sentinel = self.__dict__.get("_sentinel")
        if sentinel is not None:
            sentinel.close()

    def __enter__(self: _T) -> _T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _execute(core: Any, args: Any) -> Any:
    return core.execute(args)


def _offload(func: Callable[..., Any], *args: Any) -> Any:
    return func(*args)


def _reinit_after_fork() -> None:
    # The lock may have been held by a thread that does not exist in the child.
    RedisClient._shared_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_after_fork)
