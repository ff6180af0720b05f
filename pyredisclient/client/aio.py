"""AsyncRedisClient: the C core driven by an asyncio event loop.

The same pool, framing, retries, breaker and reply parsing as RedisClient, but each
call is advanced with non-blocking steps (``_core.AsyncCall.step``) and waits with
``loop.add_reader``/``add_writer`` and a timer: no threads, no polling. A task
cancelled mid-command abandons its call, which closes that connection rather than
pooling it, so a half-read reply can never reach another task.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import deque
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Deque,
    Dict,
    Generator,
    Iterable,
    List,
    NoReturn,
    Sequence,
    Tuple,
    cast,
)

from .._core import RETRY
from .._core import WANT_CREDS as _WANT_CREDS
from .._core import WANT_POOL as _WANT_POOL
from .._core import WANT_READ as _WANT_READ
from .._core import WANT_WRITE as _WANT_WRITE
from .._steps import run_async
from ..commands import CoreCommands
from ..commands.keyprefix import KeyPrefixer
from ..commands.types import Callback, PatternT
from ..config import RedisConfig
from ..config.compat import warn_aclose_alias
from ..config.credentials import describe_failure, resolve_async
from ..exceptions import AuthenticationError, PoolTimeoutError
from ..resilience.health import health_check_async
from .base import ClientBase, log_shared_close
from .locking import AsyncLockMethods
from .mux import DEDICATED, Fence, Multiplexer, counts_own_writes, run_shared, run_wait
from .pipeline import Pipeline, transaction_steps
from .scaniter import AsyncScanIters
from .sentinel import SentinelResolver, attach, replica_resolver, sentinel_client
from .spellings import AsyncItemMethods, AsyncResetNames

if TYPE_CHECKING:
    from ..pubsub.aio import AsyncPubSub
    from ..pubsub.monitor import AsyncMonitor

logger = logging.getLogger("pyredisclient")


def _wake(fut: asyncio.Future[bool], value: bool) -> None:
    if not fut.done():
        fut.set_result(value)


# AsyncScanIters' async generators stand in for CoreCommands' plain ones (the stub,
# client/aio.pyi, says so without the bases).
class AsyncRedisClient(  # type: ignore[misc]
    ClientBase, AsyncScanIters, CoreCommands, AsyncLockMethods, AsyncItemMethods
):
    """An asyncio Redis client: every command method is a coroutine.

    One client is safe to share by many tasks: each call checks out its own pooled
    connection (``max_connections`` bounds them; waiters queue for a release).
    Build it like RedisClient: keywords, ``config=``, :meth:`from_url`, or
    :meth:`get_client` (one shared client per running event loop).
    """

    _shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncRedisClient] = (
        weakref.WeakKeyDictionary()
    )
    _pool_waiters: Deque[asyncio.Future[bool]]
    _mux: Multiplexer | None
    _sentinel: SentinelResolver | None = None  # set by from_sentinel()
    _process_shared = False  # True on the instances get_client() hands out
    # New connections ask the credential provider here, on the loop (_drive): an
    # async provider is awaited, a sync one called.
    _driver_answers = True

    def _init_driver(self) -> None:
        # Tasks waiting for a pooled connection, woken first come, first served.
        self._pool_waiters = deque()
        # The shared connections per event loop (client/mux.py), when multiplexing:
        # they leave at least one pooled connection for the calls that need their
        # own (blocking commands, transactions, pipelines), so with
        # max_connections=1 there is none.
        config = self._config
        shared = min(config.async_multiplex_connections, config.max_connections - 1)
        self._mux = (
            Multiplexer(shared, config.retry_attempts)
            if config.async_multiplex and shared > 0
            else None
        )
        if self._mux is not None:
            # A dedicated call's request is ordered before later shared calls once
            # written (mux.py: LoopShare.raise_fence); on a new connection that
            # holds only once the server has taken the connection in.
            self._core.round_trip_opens()

    @classmethod
    def get_client(cls) -> AsyncRedisClient:
        """The shared client of the running event loop, configured from the environment.

        Each event loop gets its own (FastAPI workers, pytest-asyncio loops); it is
        created lazily and never raises because Redis is down. It belongs to the
        loop: its ``aclose()`` (and an ``async with`` block's end) closes its idle
        connections and leaves it open.
        """
        loop = asyncio.get_running_loop()
        client = cls._shared.get(loop)
        if client is None:
            client = AsyncRedisClient(config=RedisConfig.from_env())
            client._process_shared = True
            cls._shared[loop] = client
        return client

    @classmethod
    def _reset_shared(cls) -> None:
        """Close and forget every loop's shared client (tests). Synchronous:
        closing only shuts sockets down and wakes waiters."""
        clients = list(cls._shared.values())
        cls._shared.clear()
        for client in clients:
            client._close_now()

    # -- sentinel -----------------------------------------------------------------

    def _set_prefixer(self, prefixer: KeyPrefixer | None) -> None:
        self._prefixer = prefixer
        if self.__dict__.get("_sentinel") is not None:
            self._run = self._run_sentinel  # type: ignore[method-assign]

    async def _run_sentinel(self, args: Tuple[Any, ...], callback: Callback | None = None) -> Any:
        # The hook of a client from from_sentinel(): the resolver's current pool,
        # following a failover; asking the sentinels runs on a worker thread.
        if self._prefixer is not None:
            args, callback = self._prefixer.prepare(args, callback)
        steps = self._sentinel.run_steps(  # type: ignore[union-attr]
            self, args, self._execute_on, asyncio.sleep, asyncio.to_thread
        )
        reply = await run_async(steps)
        return reply if callback is None else callback(reply)

    async def _execute_on(self, core: Any, args: Sequence[Any]) -> Any:
        if self._pool_waiters:
            await self._queue_behind_waiters()
        return await self._drive(core.start(args))

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
    ) -> AsyncRedisClient:
        """RedisClient.from_sentinel for asyncio: the same resolver, ROLE check and
        failover rules; the sentinels are asked on a worker thread."""
        client: AsyncRedisClient = sentinel_client(
            cls, sentinels, service_name, role, sentinel_kwargs, retry_timeout, config, options
        )
        return client

    def replica_client(self) -> AsyncRedisClient:
        """A client of a random healthy replica of this sentinel client's service."""
        client: AsyncRedisClient = attach(type(self), replica_resolver(self._sentinel))
        return client

    # -- the driver -------------------------------------------------------------

    async def _drive(self, call: Any, release: bool = True, fence: Fence | None = None) -> Any:
        """Step *call* to its end, waiting on the loop. With *release* the call
        gives its connection back when it ends, so the next pool waiter is woken;
        a pinned call keeps it (AsyncPipeline wakes a waiter when the pin goes).
        A *fence* is lowered once the request is written or the call waits for
        anything but its own socket."""
        loop = asyncio.get_running_loop()
        cause: BaseException | None = None  # what a credential provider raised
        try:
            while True:
                state, fd, timeout = call.step()
                if fence is not None:
                    if call.sent or (state != _WANT_READ and state != _WANT_WRITE):
                        fence.lower()
                        fence = None
                    else:
                        fence.waiting()
                if state == 0:
                    return call.result()
                if state == _WANT_READ or state == _WANT_WRITE:
                    in_time = await self._wait_fd(loop, fd, state, timeout)
                elif state == _WANT_POOL:
                    in_time = await self._wait_pool(loop, timeout)
                elif state == _WANT_CREDS:
                    in_time, cause = await self._answer_credentials(call, timeout)
                else:  # back-off sleep between retries
                    await asyncio.sleep(timeout or 0)
                    in_time = True
                if not in_time:
                    call.timed_out()
        except BaseException as exc:
            # Cancellation or any error mid-call: the connection is closed, never
            # pooled (idempotent when the call already finished).
            call.cancel()
            if cause is not None and isinstance(exc, AuthenticationError):
                raise exc from cause
            raise
        finally:
            if fence is not None:
                fence.lower()
            if release:
                self._release_one()

    async def _answer_credentials(
        self, call: Any, timeout: float | None
    ) -> Tuple[bool, BaseException | None]:
        """Ask the credential provider for a connection being opened, within the
        connect deadline. Returns (in time, what the provider raised or None); a
        provider that raised fails the connection with AuthenticationError."""
        provider = self._config.effective_credential_provider
        try:
            username, password = await asyncio.wait_for(resolve_async(provider), timeout)
        except asyncio.TimeoutError:
            return False, None
        except Exception as exc:  # its class and message, never a value it returned
            call.set_credentials(None, None, describe_failure(exc))
            return True, exc
        call.set_credentials(username, password)
        return True, None

    @staticmethod
    async def _wait_fd(
        loop: asyncio.AbstractEventLoop, fd: int, state: int, timeout: float | None
    ) -> bool:
        fut: asyncio.Future[bool] = loop.create_future()
        if state == _WANT_READ:
            loop.add_reader(fd, _wake, fut, True)
        else:
            loop.add_writer(fd, _wake, fut, True)
        timer = None if timeout is None else loop.call_later(timeout, _wake, fut, False)
        try:
            return await fut
        finally:
            if timer is not None:
                timer.cancel()
            if state == _WANT_READ:
                loop.remove_reader(fd)
            else:
                loop.remove_writer(fd)

    async def _wait_pool(self, loop: asyncio.AbstractEventLoop, timeout: float | None) -> bool:
        fut: asyncio.Future[bool] = loop.create_future()
        self._pool_waiters.append(fut)
        timer = None if timeout is None else loop.call_later(timeout, _wake, fut, False)
        try:
            return await fut
        except BaseException:
            # Cancelled after being woken for a connection: pass the wake on, or
            # the next waiter would sleep while a connection sits idle.
            if fut.done() and not fut.cancelled() and fut.result():
                self._release_one()
            raise
        finally:
            if timer is not None:
                timer.cancel()
            try:
                self._pool_waiters.remove(fut)
            except ValueError:
                pass

    def _release_one(self) -> None:
        # A call ended (its connection went back or was closed): wake the first
        # waiter not yet woken. Woken waiters stay queued until they run, so
        # new calls keep queueing behind them (first come, first served).
        for fut in self._pool_waiters:
            if not fut.done():
                try:
                    here = fut.get_loop() is asyncio.get_running_loop()
                except RuntimeError:  # released outside any running loop
                    here = False
                if here:
                    fut.set_result(True)
                else:
                    fut.get_loop().call_soon_threadsafe(_wake, fut, True)
                return

    async def _queue_behind_waiters(self) -> None:
        # First come, first served: while tasks wait for a connection (or have
        # been woken for one and not yet run), a new call queues behind them
        # instead of taking the connection a waiter was woken for.
        loop = asyncio.get_running_loop()
        timeout = self._config.effective_pool_timeout
        if not await self._wait_pool(loop, timeout):
            raise PoolTimeoutError(
                "timed out waiting for a connection from the pool (all max_connections in use)"
            )

    async def _run(self, args: Tuple[Any, ...], callback: Callback | None = None) -> Any:
        # The command methods' hook: a coroutine per command, prefixing first when
        # this client is prefixed.
        if self._prefixer is not None:
            args, callback = self._prefixer.prepare(args, callback)
        mux = self._mux
        if mux is not None:
            # The common case in this frame (client/mux.py: Multiplexer.submit):
            # no coroutine of its own per call.
            fut = mux.submit(args)
            if fut is None:
                reply = await run_shared(self, args)
            elif fut is DEDICATED:
                reply = fut
            else:
                reply = await fut
                if reply is RETRY:
                    reply = await run_shared(self, args, self._config.retry_attempts - 1)
            if reply is DEDICATED and counts_own_writes(args):
                reply = await run_wait(self, args)
            if reply is not DEDICATED:
                return reply if callback is None else callback(reply)
        if self._pool_waiters:
            await self._queue_behind_waiters()
        if mux is None:
            reply = await self._drive(self._core.start(args))
        else:  # shared calls made after this one reach the server after it
            fence = mux.share(self, asyncio.get_running_loop()).raise_fence()
            reply = await self._drive(self._core.start(args), fence=fence)
        return reply if callback is None else callback(reply)

    # -- iterators that need awaiting -------------------------------------------------

    async def scan_iter(  # type: ignore[override]
        self,
        match: PatternT | None = None,
        count: int | None = None,
        _type: str | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        """Iterate over every key with SCAN (an async generator)."""
        cursor: int | None = None
        while cursor != 0:
            reply = await cast(
                Awaitable[Tuple[int, List[Any]]],
                self.scan(cursor or 0, match=match, count=count, _type=_type),
            )
            cursor, keys = reply
            for key in keys:
                yield key

    # -- pipelines and lifecycle ---------------------------------------------------------

    def pubsub(self, ignore_subscribe_messages: bool = False, **options: Any) -> AsyncPubSub:
        """A subscription on a connection of its own, stepped on the event loop
        (redis.asyncio's PubSub API): see :mod:`pyredisclient.pubsub`. On a client
        made by ``from_sentinel`` it subscribes on the node the sentinels name and
        follows a failover (:mod:`pyredisclient.pubsub.follow`)."""
        from ..pubsub.aio import AsyncPubSub

        core_options, py_options = self._pubsub_args(ignore_subscribe_messages, options)
        if self._sentinel is not None:
            from ..pubsub.follow import AsyncSentinelPubSub

            return AsyncSentinelPubSub(core_options, self._sentinel, **py_options)
        return AsyncPubSub(core_options, **py_options)

    def monitor(self) -> AsyncMonitor:
        """redis.asyncio's ``Monitor``: ``async with client.monitor() as m: await
        m.next_command()``; see :mod:`pyredisclient.pubsub.monitor`."""
        from ..pubsub.monitor import AsyncMonitor, confirm_timeout

        return AsyncMonitor(self.pubsub(), confirm_timeout(self._config))

    def client(self) -> AsyncRedisClient:
        """redis.asyncio's ``client()``, "a client that uses a single connection": a
        new client with this one's configuration, a pool of its own (``async with
        r.client() as c:`` closes only it) and multiplexing off, so that its
        sequential calls reuse one connection, blocking ones included (its
        ``client_id()`` is the one a ``CLIENT UNBLOCK`` of its BLPOP names)."""
        return AsyncRedisClient(config=self._config_for_client().replace(async_multiplex=False))

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> AsyncPipeline:
        """A pipeline whose ``await execute()`` sends everything in one write."""
        return AsyncPipeline(self, transaction)

    async def transaction(
        self,
        func: Callable[[AsyncPipeline], Any],
        *watches: Any,
        shard_hint: Any = None,
        value_from_callable: bool = False,
        watch_delay: float | None = None,
    ) -> Any:
        """Run ``func(pipe)`` in a WATCH/MULTI/EXEC transaction, retrying on WatchError.

        As redis.asyncio: ``func`` may be a plain or an ``async`` function; it reads
        through the pipeline (``await pipe.get(k)`` while watching), calls
        ``pipe.multi()`` and queues writes. Returns EXEC's replies (or ``func``'s
        value with ``value_from_callable=True``).
        """
        async with self.pipeline(True) as pipe:
            steps = transaction_steps(
                pipe, func, watches, value_from_callable, watch_delay, asyncio.sleep
            )
            return await run_async(steps)

    async def health_check(self, deep: bool = False) -> Dict[str, Any]:
        """Never raises; the same report as RedisClient.health_check()."""
        return await health_check_async(self, deep=deep)

    def _apply_retry(self, policy: Dict[str, Any]) -> None:
        super()._apply_retry(policy)
        if self._mux is not None:  # calls on shared connections read the count per call
            self._mux.may_retry = self._config.retry_attempts > 0

    async def _disconnect(self, in_use: bool) -> None:
        self._core.disconnect(in_use)
        if self._mux is not None and in_use:
            self._mux.disconnect()

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        """Close pooled connections; later calls raise ConnectionError (on
        :meth:`get_client`'s shared client: the idle ones, and it stays open).

        redis.asyncio's ``close_connection_pool=False`` (a client done with a pool
        that others go on using) leaves the pool, and so this client, as they are:
        the pool is this client's own (and its key-prefix views')."""
        if close_connection_pool is False:
            return
        if self._process_shared:  # get_client()'s: the loop's other tasks use it
            log_shared_close(self)
            self._core.disconnect(True)
            return
        self._close_now()

    def _close_now(self) -> None:
        if self._mux is not None:
            self._mux.close()
        self._core.close()
        sentinel = self.__dict__.get("_sentinel")
        if sentinel is not None:
            sentinel.close()
        for fut in list(self._pool_waiters):
            if not fut.done():
                fut.get_loop().call_soon_threadsafe(_wake, fut, True)

    async def close(self, close_connection_pool: bool | None = None) -> None:
        """redis.asyncio's old name of :meth:`aclose`, deprecated there and here
        (a DeprecationWarning)."""
        warn_aclose_alias("close")
        await self.aclose(close_connection_pool)

    async def __aenter__(self) -> AsyncRedisClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def initialize(self) -> AsyncRedisClient:
        """redis.asyncio's: the client itself. Like redis.asyncio's pooled client it
        does no I/O here; the first command connects."""
        return self

    def __await__(self) -> Generator[Any, None, AsyncRedisClient]:
        """``client = await AsyncRedisClient(...)``, as redis.asyncio allows:
        :meth:`initialize`."""
        return self.initialize().__await__()


def from_url(url: str, **options: Any) -> AsyncRedisClient:
    """redis.asyncio's module-level ``from_url``: :meth:`AsyncRedisClient.from_url`."""
    return AsyncRedisClient.from_url(url, **options)


class AsyncPipeline(AsyncResetNames, Pipeline):  # type: ignore[misc]
    """Pipeline for AsyncRedisClient: queue synchronously, ``await execute()``.

    WATCH works as on the sync pipeline, awaited: ``await pipe.watch(key)`` pins a
    connection, commands then run at once and must be awaited for their values,
    ``pipe.multi()`` goes back to queueing, and ``await pipe.execute()`` raises
    WatchError if a watched key changed. The pinned connection serves one call
    at a time; leave with ``async with`` or ``await pipe.reset()``.
    """

    _client: AsyncRedisClient

    # The steps (Pipeline's watch, unwatch, reset and execute logic) run awaited here.

    async def watch(self, *names: Any) -> bool:  # type: ignore[override]
        """WATCH keys on a connection pinned to this pipeline until execute/reset."""
        return await run_async(self._watch_steps(names))

    async def unwatch(self) -> bool:  # type: ignore[override]
        """Forget every watched key (the connection stays pinned until reset)."""
        return await run_async(self._unwatch_steps())

    async def reset(self) -> None:  # type: ignore[override]
        """Drop every queued command, unwatch and give back a pinned connection."""
        await run_async(self._reset_steps())

    async def execute(self, raise_on_error: bool = True) -> List[Any]:  # type: ignore[override]
        """Send every queued command in one write and return their replies."""
        return await run_async(self._execute_steps(raise_on_error))

    # -- the calls that differ from the sync pipeline: awaitables ------------------------

    async def _pinned(self, call: Any) -> Any:
        # The connection stays with the pin: no pool waiter is woken for it.
        return await self._client._drive(call, release=False)

    async def _immediate(self, args: Tuple[Any, ...], callback: Callback | None) -> Any:
        reply = await self._pin_run(args)
        return reply if callback is None else callback(reply)

    def _pin_run(self, args: Tuple[Any, ...]) -> Awaitable[Any]:
        return self._pinned(self._pin.start(args))

    def _await_turn(self) -> Awaitable[None] | None:
        client = self._client
        if client._pool_waiters and not self._pin.active:
            return client._queue_behind_waiters()
        return None

    async def _send(self, batch: Any) -> Any:
        client = self._client
        mux = client._mux
        if mux is not None:
            # No WATCH: on the loop's shared connection when it is open and the
            # batch may share it (client/mux.py); else a connection of its own.
            fut = mux.submit(batch, batch=True)
            if fut is None:
                share = mux.shares.get(asyncio.get_running_loop())
                if share is not None and share.fences:  # behind a blocking call
                    await share.behind_fences()
                    fut = mux.submit(batch, batch=True)
            if fut is not None and fut is not DEDICATED:
                replies = await fut
                if replies is not RETRY:
                    return replies
        return await self._on_pool(client._core, batch)

    def _send_to(self, core: Any, batch: Any) -> Awaitable[Any]:
        return self._on_pool(core, batch)

    async def _on_pool(self, core: Any, batch: Any) -> Any:
        # A connection of its own from pool core, behind the tasks already waiting.
        client = self._client
        if client._pool_waiters:
            await client._queue_behind_waiters()
        return await client._drive(core.start_batch(batch))

    def _offload(self, func: Callable[..., Any], *args: Any) -> Awaitable[Any]:
        return asyncio.to_thread(func, *args)

    def _send_pinned(self, pin: Any, batch: Any) -> Awaitable[Any]:
        return self._pinned(pin.start_batch(batch))

    def _drop_pin(self, ok: bool) -> None:
        had_pin = self._pin is not None and self._pin.active
        super()._drop_pin(ok)
        if had_pin:
            # A connection went back (or was closed): a task may be waiting.
            self._client._release_one()

    def __del__(self) -> None:
        # Dropped while watching, without reset(): the pin, freed right after
        # this, closes its connection in C, which no pool waiter hears of. Wake
        # one on its own loop once that has happened.
        pin, client = self.__dict__.get("_pin"), self.__dict__.get("_client")
        if pin is not None and pin.active and client is not None and client._pool_waiters:
            try:
                loop = client._pool_waiters[0].get_loop()
                loop.call_soon_threadsafe(client._release_one)
            except RuntimeError:  # that loop is closed: nobody is waiting
                pass

    def __enter__(self) -> NoReturn:
        raise TypeError("an AsyncPipeline is used with 'async with', not 'with'")

    async def __aenter__(self) -> AsyncPipeline:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.reset()
