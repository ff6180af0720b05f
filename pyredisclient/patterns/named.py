"""Named logical databases from one configuration: one client (and pool) per name.

::

    clients = RedisClients.from_env()          # REDIS_CACHE_DB=1, REDIS_SESSION_DB=2 ...
    clients["cache"].set("k", "v")
    clients.get_client("session").get("s")
    clients.close()                            # every pool, together
"""

from __future__ import annotations

from typing import Any, Dict, Generic, Iterable, Iterator, Mapping, TypeVar

from ..client.aio import AsyncRedisClient
from ..client.sync import RedisClient
from ..config import RedisConfig, hide_password

__all__ = ["AsyncRedisClients", "RedisClients"]

C = TypeVar("C", RedisClient, AsyncRedisClient)


class _Named(Mapping[str, C], Generic[C]):
    """A read-only mapping name -> client; each client owns its own pool."""

    _client_class: Any

    def __init__(self, configs: Mapping[str, RedisConfig]) -> None:
        if not configs:
            raise ValueError("no database names: give at least one")
        self._clients: Dict[str, C] = {}
        for name, config in configs.items():
            self._clients[name] = self._client_class(config=config)

    @classmethod
    def from_env(
        cls,
        names: Iterable[str] | Mapping[str, int] | None = None,
        prefix: str = "REDIS_",
        environ: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Any:
        """One client per name of :meth:`RedisConfig.databases_from_env`."""
        hide_password(options)
        return cls(RedisConfig.databases_from_env(names, prefix, environ, **options))

    def get_client(self, name: str) -> C:
        """The client of the database *name*; KeyError names the known ones."""
        try:
            return self._clients[name]
        except KeyError:
            known = ", ".join(sorted(self._clients))
            raise KeyError(f"no Redis database named {name!r} (known: {known})") from None

    def __getitem__(self, name: str) -> C:
        return self.get_client(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._clients)

    def __len__(self) -> int:
        return len(self._clients)

    def __repr__(self) -> str:
        dbs = ", ".join(f"{n}=db{c.config.db}" for n, c in self._clients.items())
        return f"<{type(self).__name__} {dbs}>"


class RedisClients(_Named[RedisClient]):
    """Named :class:`RedisClient` objects, closed together (also as a context manager)."""

    _client_class = RedisClient

    def close(self) -> None:
        """Close every client's pool."""
        for client in self._clients.values():
            client.close()

    def __enter__(self) -> RedisClients:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRedisClients(_Named[AsyncRedisClient]):
    """Named :class:`AsyncRedisClient` objects, closed together (``async with``)."""

    _client_class = AsyncRedisClient

    async def aclose(self) -> None:
        """Close every client's pool."""
        for client in self._clients.values():
            await client.aclose()

    async def __aenter__(self) -> AsyncRedisClients:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
