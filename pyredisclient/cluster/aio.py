"""AsyncRedisClusterClient: the cluster client for asyncio; each node is an
AsyncRedisClient, and the routing steps of :mod:`.base` are awaited."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Generator, List, Sequence, Tuple

from .._steps import run_async
from ..client.aio import AsyncRedisClient
from ..client.locking import AsyncLockMethods
from ..client.scaniter import AsyncScanIters
from ..client.spellings import AsyncItemMethods
from ..commands.types import Callback
from ..config.compat import warn_aclose_alias
from ..exceptions import DataError
from .base import ClusterBase
from .commands import Targeted
from .errors import ClusterError
from .manager import AsyncNodesManager
from .pipeline import AsyncClusterPipeline, transaction_steps
from .pubsub import AsyncClusterPubSub
from .topology import SlotMap

if TYPE_CHECKING:
    from typing_extensions import Self


# AsyncScanIters' async generators stand in for CoreCommands' plain ones.
class AsyncRedisClusterClient(AsyncScanIters, ClusterBase, AsyncLockMethods, AsyncItemMethods):  # type: ignore[misc]
    """RedisClusterClient for asyncio: the same construction, routing, retries and
    splitting; every command method is a coroutine, calls to several nodes run
    concurrently on the loop."""

    _node_class = AsyncRedisClient

    async def _run(self, args: Tuple[Any, ...], callback: Callback | None = None) -> Any:
        prefixer = self._prefixer
        if prefixer is not None:
            targets = args.targets if type(args) is Targeted else None
            args, callback = prefixer.prepare(args, callback)
            if targets is not None:  # cluster/commands.py: where it goes stays
                args = Targeted(targets, args)
        return await run_async(self._route_steps(args, callback))

    # -- the step hooks: awaitables ----------------------------------------------------

    def _exec(self, node: str, args: Sequence[Any]) -> Any:
        # A tuple as it is: a NeverDecode stays one.
        return self._state.client(node)._run(args if isinstance(args, tuple) else tuple(args))

    def _exec_batch(self, node: str, batch: Any) -> Any:
        client = self._state.client(node)
        return client._drive(client._core.start_batch(batch))

    def _gather(self, calls: Sequence[Tuple[str, Any]]) -> Any:
        aws = [
            self._exec(node, what) if isinstance(what, tuple) else self._exec_batch(node, what)
            for node, what in calls
        ]
        return asyncio.gather(*aws, return_exceptions=True)

    def _sleep(self, seconds: float) -> Any:
        return asyncio.sleep(seconds)

    # -- iteration, pipelines, health, lifecycle --------------------------------------

    async def scan(  # type: ignore[override]
        self,
        cursor: int = 0,
        match: Any = None,
        count: int | None = None,
        _type: str | None = None,
        target_nodes: Any = None,
        **kwargs: Any,
    ) -> Tuple[Any, List[Any]]:
        """One SCAN step across the cluster; see RedisClusterClient.scan."""
        args = self._scan_args(match, count, _type)
        if target_nodes is not None:
            return await run_async(self._targeted_scan_steps(target_nodes, cursor, args))
        return await run_async(self._scan_cursor_steps(cursor, args))

    async def scan_iter(  # type: ignore[override]
        self,
        match: Any = None,
        count: int | None = None,
        _type: str | None = None,
        target_nodes: Any = None,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        """Every key matching ``match`` (and ``_type``) on every primary, or on the
        nodes ``target_nodes`` names (an async generator)."""
        args = self._scan_args(match, count, _type)
        for node in await run_async(self._scan_nodes_steps(target_nodes)):
            cursor = 0
            for _ in range(10**9):  # bounded; SCAN ends with cursor 0
                cursor, keys = await run_async(self._scan_steps(node, cursor, args))
                for key in keys:
                    yield key
                if cursor == 0:
                    break

    def pipeline(self, transaction: bool = False, shard_hint: Any = None) -> AsyncClusterPipeline:
        """A cluster pipeline whose ``await execute()`` sends per node concurrently."""
        return AsyncClusterPipeline(self, transaction)

    async def transaction(
        self,
        func: Callable[[AsyncClusterPipeline], Any],
        *watches: Any,
        shard_hint: Any = None,
        value_from_callable: bool = False,
        watch_delay: float | None = None,
    ) -> Any:
        """RedisClusterClient.transaction for asyncio: ``func`` may be a plain or an
        ``async`` function (``await pipe.get(k)`` while watching)."""
        async with self.pipeline(True) as pipe:
            steps = transaction_steps(pipe, func, watches, value_from_callable, watch_delay)
            return await run_async(steps)

    def pubsub(
        self,
        node: Any = None,
        host: str | None = None,
        port: int | None = None,
        *,
        ignore_subscribe_messages: bool = False,
        **options: Any,
    ) -> AsyncClusterPubSub:
        """RedisClusterClient.pubsub() for asyncio: the coroutine methods of AsyncPubSub."""
        if (host is None) != (port is None):
            raise DataError("pubsub() takes host and port together")
        if node is None and host is not None:
            node = (host, port)
        return AsyncClusterPubSub(self, ignore_subscribe_messages, node, **options)

    @property
    def nodes_manager(self) -> AsyncNodesManager:
        """redis-py's ``nodes_manager``, with ``await nodes_manager.initialize()``."""
        return AsyncNodesManager(self)

    async def initialize(self) -> Self:
        """Read the slot map now (as redis-py's ``initialize``): the node look-ups
        (``get_nodes()``, ...) need it; any command reads it too."""
        await run_async(self._map_steps())
        return self

    def __await__(self) -> Generator[Any, None, Self]:
        """``client = await AsyncRedisClusterClient(...)``, as redis.asyncio's
        cluster allows: :meth:`initialize`."""
        return self.initialize().__await__()

    def _known_map(self) -> SlotMap:
        smap = self._state.map
        if smap is None:
            raise ClusterError(
                "the slot map is not read yet: await client.initialize() (or run a command) first"
            )
        return smap

    async def health_check(self) -> dict[str, Any]:
        """Never raises; the report of RedisClusterClient.health_check()."""
        try:
            report: dict[str, Any] = await run_async(self._health_steps())
        except Exception as exc:  # a bug here must not take a health route down
            return {"status": "unhealthy", "error": str(exc), "type": type(exc).__name__}
        return report

    async def _disconnect(self, in_use: bool) -> None:
        for client in list(self._state.clients.values()):
            await client._disconnect(in_use)

    async def aclose(self) -> None:
        """Close every node's pool; later calls raise."""
        clients: List[Any] = self._state.take_clients()
        for client in clients:
            client._close_now()

    async def close(self) -> None:
        """redis.asyncio's old name of :meth:`aclose`, deprecated there and here
        (a DeprecationWarning)."""
        warn_aclose_alias("close")
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
