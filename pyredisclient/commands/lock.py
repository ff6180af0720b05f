"""A distributed lock with redis-py's Lock semantics, for the blocking and asyncio clients.

``client.lock(name, timeout=10)`` returns a :class:`Lock` (``AsyncLock`` on the asyncio
client): ``SET name token NX PX timeout`` acquires it; release, extend and reacquire
are Lua scripts that act only while the key still holds this lock's token, so a lock
that expired and was taken by someone else is never released or extended by us
(:class:`LockNotOwnedError`). The logic is written once, as steps
(:mod:`pyredisclient._steps`) run with blocking calls or awaited.

On a client confined to a key prefix the lock's key is prefixed like any other key,
and its scripts run without the ``scripts`` category: they touch only that key
(``CONFINED_SCRIPTS`` in :mod:`.keyprefix_table`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from types import SimpleNamespace
from typing import Any, Callable, Union

from .._steps import Steps, run_async, run_sync
from ..exceptions import NoScriptError, RedisError
from .keyprefix_table import CONFINED_SCRIPTS

__all__ = ["AsyncLock", "Lock", "LockError", "LockNotOwnedError"]

logger = logging.getLogger("pyredisclient")

Number = Union[int, float]


class LockError(RedisError, ValueError):
    """A lock could not be acquired, released, extended or reacquired (redis-py's
    class: also a ValueError, like threading's errors)."""

    def __init__(self, message: str | None = None, lock_name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.lock_name = lock_name


class LockNotOwnedError(LockError):
    """The lock's key no longer holds this lock's token (it expired, and maybe
    someone else holds it now)."""


def _script(name: str) -> tuple[str, str]:
    body = CONFINED_SCRIPTS[name]
    return body, hashlib.sha1(body.encode()).hexdigest()


_RELEASE = _script("lock_release")
_EXTEND = _script("lock_extend")
_REACQUIRE = _script("lock_reacquire")


class _TokenLocal(threading.local):
    """A token per thread, None in every thread until that thread acquires."""

    token: Any = None


class _LockSteps:
    """What Lock and AsyncLock share: the state and, as steps, every operation."""

    def __init__(
        self,
        redis: Any,
        name: str,
        timeout: Number | None = None,
        sleep: Number = 0.1,
        blocking: bool = True,
        blocking_timeout: Number | None = None,
        thread_local: bool = True,
        raise_on_release_error: bool = True,
    ) -> None:
        self.redis = redis
        self.name = name
        self.timeout = timeout
        self.sleep = sleep
        self.blocking = blocking
        self.blocking_timeout = blocking_timeout
        self.thread_local = bool(thread_local)
        self.raise_on_release_error = raise_on_release_error
        # Thread-local by default: a thread sees only the token it set, so a thread
        # whose lock expired cannot release the lock another thread took since.
        self.local: Any = _TokenLocal() if self.thread_local else SimpleNamespace()
        self.local.token = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} timeout={self.timeout!r}>"

    def _encode(self, value: Any) -> bytes:
        if isinstance(value, bytes):
            return value
        if isinstance(value, str):
            return value.encode(self.redis.config.encoding)
        raise LockError(f"a lock token must be str or bytes, not {type(value).__name__}")

    def _run_script(self, script: tuple[str, str], *args: Any) -> Steps[Any]:
        # EVALSHA, and EVAL when the server lost its script cache: EVAL both runs and
        # caches the script, and (unlike SCRIPT LOAD) a prefixed client may send it.
        body, sha = script
        try:
            reply = yield self.redis.evalsha(sha, 1, self.name, *args)
        except NoScriptError:
            reply = yield self.redis.eval(body, 1, self.name, *args)
        return reply

    def _acquire_steps(
        self,
        sleep: Number | None,
        blocking: bool | None,
        blocking_timeout: Number | None,
        token: Any,
        wait: Callable[[float], Any],
    ) -> Steps[bool]:
        if sleep is None:
            sleep = self.sleep
        token = uuid.uuid4().hex.encode() if token is None else self._encode(token)
        if blocking is None:
            blocking = self.blocking
        if blocking_timeout is None:
            blocking_timeout = self.blocking_timeout
        stop_at = None if blocking_timeout is None else time.monotonic() + blocking_timeout
        px = int(self.timeout * 1000) if self.timeout else None
        while True:
            if (yield self.redis.set(self.name, token, nx=True, px=px)):
                self.local.token = token
                return True
            if not blocking:
                return False
            if stop_at is not None and time.monotonic() + sleep > stop_at:
                return False
            yield wait(sleep)

    def _owned_steps(self) -> Steps[bool]:
        stored = yield self.redis.get(self.name)
        if stored is not None and not isinstance(stored, bytes):
            stored = self._encode(stored)
        return self.local.token is not None and stored == self.local.token

    def _release_steps(self) -> Steps[None]:
        expected = self.local.token
        if expected is None:
            raise LockError(
                "Cannot release a lock that's not owned or is already unlocked.",
                lock_name=self.name,
            )
        # The token is kept until the server answered: after a connection error the
        # lock may still be held, and release() can be called again.
        released = yield from self._run_script(_RELEASE, expected)
        if self.local.token == expected:  # not another holder's (thread_local=False)
            self.local.token = None
        if not released:
            raise LockNotOwnedError(
                "Cannot release a lock that's no longer owned", lock_name=self.name
            )

    def _extend_steps(self, additional_time: Number, replace_ttl: bool) -> Steps[bool]:
        if self.local.token is None:
            raise LockError("Cannot extend an unlocked lock", lock_name=self.name)
        if self.timeout is None:
            raise LockError("Cannot extend a lock with no timeout", lock_name=self.name)
        ms = int(additional_time * 1000)
        done = yield from self._run_script(
            _EXTEND, self.local.token, ms, "1" if replace_ttl else "0"
        )
        if not done:
            raise LockNotOwnedError(
                "Cannot extend a lock that's no longer owned", lock_name=self.name
            )
        return True

    def _reacquire_steps(self) -> Steps[bool]:
        if self.local.token is None:
            raise LockError("Cannot reacquire an unlocked lock", lock_name=self.name)
        if self.timeout is None:
            raise LockError("Cannot reacquire a lock with no timeout", lock_name=self.name)
        done = yield from self._run_script(_REACQUIRE, self.local.token, int(self.timeout * 1000))
        if not done:
            raise LockNotOwnedError(
                "Cannot reacquire a lock that's no longer owned", lock_name=self.name
            )
        return True

    def _exit_failed(self) -> None:
        if self.raise_on_release_error:
            raise
        logger.warning("Lock was unlocked or no longer owned when exiting context manager.")


class Lock(_LockSteps):
    """A lock on the blocking client (``RedisClient.lock``); redis-py's Lock API.

    ``timeout``: the lock's life in seconds (None: until released). ``sleep``: the
    pause between tries while blocking. ``blocking``/``blocking_timeout``: whether
    acquire() waits, and for how long at most (None: no limit). ``thread_local``:
    keep the token per thread (see redis-py). ``raise_on_release_error``: whether
    leaving a ``with`` block raises when the lock was lost meanwhile.
    """

    def __enter__(self) -> Lock:
        if self.acquire():
            return self
        raise LockError("Unable to acquire lock within the time specified", lock_name=self.name)

    def __exit__(self, *exc: object) -> None:
        try:
            self.release()
        except LockError:
            self._exit_failed()

    def acquire(
        self,
        sleep: Number | None = None,
        blocking: bool | None = None,
        blocking_timeout: Number | None = None,
        token: Union[str, bytes] | None = None,
    ) -> bool:
        """Take the lock; True once held, False when not blocking or out of time."""
        return run_sync(self._acquire_steps(sleep, blocking, blocking_timeout, token, time.sleep))

    def locked(self) -> bool:
        """Whether anyone holds the lock."""
        return bool(self.redis.get(self.name) is not None)

    def owned(self) -> bool:
        """Whether this lock (this thread, with thread_local) holds it."""
        return run_sync(self._owned_steps())

    def release(self) -> None:
        """Release the lock; LockNotOwnedError if it is no longer ours."""
        run_sync(self._release_steps())

    def extend(self, additional_time: Number, replace_ttl: bool = False) -> bool:
        """Add ``additional_time`` seconds to the lock's TTL (or set it, with
        ``replace_ttl``)."""
        return run_sync(self._extend_steps(additional_time, replace_ttl))

    def reacquire(self) -> bool:
        """Reset the lock's TTL to ``timeout``."""
        return run_sync(self._reacquire_steps())


class AsyncLock(_LockSteps):
    """A lock on the asyncio client (``AsyncRedisClient.lock``): Lock's API, awaited,
    with ``async with``."""

    async def __aenter__(self) -> AsyncLock:
        if await self.acquire():
            return self
        raise LockError("Unable to acquire lock within the time specified", lock_name=self.name)

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.release()
        except LockError:
            self._exit_failed()

    async def acquire(
        self,
        sleep: Number | None = None,
        blocking: bool | None = None,
        blocking_timeout: Number | None = None,
        token: Union[str, bytes] | None = None,
    ) -> bool:
        """Take the lock; True once held, False when not blocking or out of time."""
        import asyncio  # here: a blocking client's import should not pay for asyncio

        return await run_async(
            self._acquire_steps(sleep, blocking, blocking_timeout, token, asyncio.sleep)
        )

    async def locked(self) -> bool:
        """Whether anyone holds the lock."""
        return bool(await self.redis.get(self.name) is not None)

    async def owned(self) -> bool:
        """Whether this lock (this task's thread, with thread_local) holds it."""
        return await run_async(self._owned_steps())

    async def release(self) -> None:
        """Release the lock; LockNotOwnedError if it is no longer ours."""
        await run_async(self._release_steps())

    async def extend(self, additional_time: Number, replace_ttl: bool = False) -> bool:
        """Add ``additional_time`` seconds to the lock's TTL (or set it)."""
        return await run_async(self._extend_steps(additional_time, replace_ttl))

    async def reacquire(self) -> bool:
        """Reset the lock's TTL to ``timeout``."""
        return await run_async(self._reacquire_steps())
