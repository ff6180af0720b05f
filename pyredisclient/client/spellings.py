"""redis-py's other spellings of what the clients and pipelines already do.

* Item operators: ``client["k"] = v``, ``client["k"]``, ``del client["k"]`` and
  ``"k" in client`` on the sync clients; the asyncio clients refuse them with
  redis-py's TypeError (an operator cannot be awaited).
* A pipeline's ``close()`` and ``discard()`` (and redis.asyncio's ``aclose()``): its
  ``reset()``.
"""

from __future__ import annotations

from typing import Any, NoReturn


class ItemMethods:
    """For RedisClient and RedisClusterClient: SET, GET (KeyError when the key is
    missing), DEL and EXISTS through Python's item operators, as redis-py has them."""

    def __getitem__(self, name: Any) -> Any:
        value = self.get(name)  # type: ignore[attr-defined]
        if value is None:
            raise KeyError(name)
        return value

    def __setitem__(self, name: Any, value: Any) -> None:
        self.set(name, value)  # type: ignore[attr-defined]

    def __delitem__(self, name: Any) -> None:
        self.delete(name)  # type: ignore[attr-defined]

    def __contains__(self, name: Any) -> bool:
        return bool(self.exists(name))  # type: ignore[attr-defined]


class AsyncItemMethods:
    """For the asyncio clients: every item operator raises TypeError, with
    redis-py's messages (use ``await client.get(...)`` and the rest)."""

    def __getitem__(self, name: Any) -> NoReturn:
        raise TypeError("Async Redis client does not support class retrieval")

    def __setitem__(self, name: Any, value: Any) -> NoReturn:
        raise TypeError("Async Redis client does not support class assignment")

    def __delitem__(self, name: Any) -> NoReturn:
        raise TypeError("Async Redis client does not support class deletion")

    def __contains__(self, name: Any) -> NoReturn:
        raise TypeError("Async Redis client does not support class inclusion")


class ResetNames:
    """redis-py's other names for a pipeline's ``reset()``: ``close()`` (for
    ``contextlib.closing``) and ``discard()``, which drops the queued commands, MULTI
    and every WATCH, as DISCARD does on the server (redis-py's standalone pipeline
    queues a DISCARD instead, which makes the next ``execute()`` fail)."""

    def close(self) -> None:
        """The same as :meth:`reset`."""
        self.reset()  # type: ignore[attr-defined]

    def discard(self) -> None:
        """The same as :meth:`reset`: drop the queued commands, MULTI and every WATCH."""
        self.reset()  # type: ignore[attr-defined]


class AsyncResetNames:
    """ResetNames for the asyncio pipelines, awaited, and redis.asyncio's ``aclose()``."""

    async def aclose(self) -> None:
        """The same as :meth:`reset` (redis.asyncio's name)."""
        await self.reset()  # type: ignore[attr-defined]

    async def close(self) -> None:
        """The same as :meth:`reset`."""
        await self.reset()  # type: ignore[attr-defined]

    async def discard(self) -> None:
        """The same as :meth:`reset`: drop the queued commands, MULTI and every WATCH."""
        await self.reset()  # type: ignore[attr-defined]
