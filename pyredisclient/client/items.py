"""redis-py's mapping access to keys: ``client["k"] = v``, ``client["k"]``,
``del client["k"]`` and ``"k" in client`` on the sync clients; the asyncio clients
refuse them with redis-py's TypeError (an operator cannot be awaited)."""

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
