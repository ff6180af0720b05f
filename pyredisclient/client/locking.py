"""``lock()`` of every client: one definition for the standalone and cluster clients
(their keyed commands and scripts carry the lock to the key's node)."""

from __future__ import annotations

from typing import Any

from ..commands.lock import AsyncLock, Lock


class LockMethods:
    """``lock()`` for the sync clients (RedisClient, RedisClusterClient): the key's
    commands and scripts are routed as any keyed command is."""

    def lock(
        self,
        name: str,
        timeout: float | None = None,
        sleep: float = 0.1,
        blocking: bool = True,
        blocking_timeout: float | None = None,
        lock_class: Any = None,
        thread_local: bool = True,
        raise_on_release_error: bool = True,
    ) -> Lock:
        """A distributed lock on key ``name`` with redis-py's Lock semantics
        (``with client.lock("name", timeout=10):``); see :class:`Lock`.
        ``lock_class`` builds another class with the same arguments."""
        cls = Lock if lock_class is None else lock_class
        return cls(
            self,
            name,
            timeout=timeout,
            sleep=sleep,
            blocking=blocking,
            blocking_timeout=blocking_timeout,
            thread_local=thread_local,
            raise_on_release_error=raise_on_release_error,
        )


class AsyncLockMethods:
    """``lock()`` for the asyncio clients (AsyncRedisClient, AsyncRedisClusterClient)."""

    def lock(
        self,
        name: str,
        timeout: float | None = None,
        sleep: float = 0.1,
        blocking: bool = True,
        blocking_timeout: float | None = None,
        lock_class: Any = None,
        thread_local: bool = True,
        raise_on_release_error: bool = True,
    ) -> AsyncLock:
        """A distributed lock on key ``name`` with redis-py's Lock semantics
        (``async with client.lock("name", timeout=10):``); see :class:`AsyncLock`.
        ``lock_class`` builds another class with the same arguments."""
        cls = AsyncLock if lock_class is None else lock_class
        return cls(
            self,
            name,
            timeout=timeout,
            sleep=sleep,
            blocking=blocking,
            blocking_timeout=blocking_timeout,
            thread_local=thread_local,
            raise_on_release_error=raise_on_release_error,
        )
