"""Named logical databases: RedisConfig.databases_from_env, RedisClients, AsyncRedisClients."""

from __future__ import annotations

import asyncio
import logging

import pytest

from pyredisclient import ConfigurationError, RedisClient
from pyredisclient.config import RedisConfig
from pyredisclient.patterns import AsyncRedisClients, RedisClients

ENV = {
    "REDIS_HOST": "db.internal",
    "REDIS_CACHE_DB": "1",
    "REDIS_SESSION_DB": "2",
    "REDIS_PUBSUB_DB": "3",
    "REDIS_CACHE_KEY_PREFIX": "c:",
}


def test_flat_variables_name_databases() -> None:
    configs = RedisConfig.databases_from_env(environ=ENV)
    assert sorted(configs) == ["cache", "pubsub", "session"]
    assert {n: c.db for n, c in configs.items()} == {"cache": 1, "session": 2, "pubsub": 3}
    assert configs["cache"].key_prefix == "c:"
    assert configs["session"].key_prefix is None
    assert all(c.host == "db.internal" for c in configs.values())


def test_nested_style() -> None:
    env = {"REDIS__HOST": "h", "REDIS__CACHE__DB": "4", "REDIS__SESSION__DB": "5"}
    configs = RedisConfig.databases_from_env(prefix="REDIS__", environ=env)
    assert {n: (c.host, c.db) for n, c in configs.items()} == {
        "cache": ("h", 4),
        "session": ("h", 5),
    }


def test_names_and_defaults() -> None:
    configs = RedisConfig.databases_from_env(
        {"cache": 7, "jobs": 8}, environ={"REDIS_HOST": "h", "REDIS_CACHE_DB": "1"}
    )
    assert {n: c.db for n, c in configs.items()} == {"cache": 1, "jobs": 8}
    listed = RedisConfig.databases_from_env(["other"], environ={"REDIS_HOST": "h", "REDIS_DB": "6"})
    assert listed["other"].db == 6  # no variable, no default: the base db


def test_errors_name_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="REDIS_CACHE_DB"):
        RedisConfig.databases_from_env(environ={"REDIS_HOST": "h", "REDIS_CACHE_DB": "x"})
    with pytest.raises(ConfigurationError, match="database name"):
        RedisConfig.databases_from_env(["bad name"], environ={"REDIS_HOST": "h"})
    with pytest.raises(TypeError):
        RedisConfig.databases_from_env("cache", environ={"REDIS_HOST": "h"})


def test_database_variables_are_not_unknown(caplog: pytest.LogCaptureFixture) -> None:
    env = {"REDIS_HOST": "h", "REDIS_SESSIONS_DB": "2", "REDIS_RATE_LIMIT_DB": "9"}
    with caplog.at_level(logging.WARNING, logger="pyredisclient"):
        configs = RedisConfig.databases_from_env(environ=env)
    assert {n: c.db for n, c in configs.items()} == {"sessions": 2, "rate_limit": 9}
    assert "not a pyredisclient setting" not in caplog.text


def _env(redis_url: str) -> dict[str, str]:
    return {"REDIS_URL": redis_url, "REDIS_CACHE_DB": "1", "REDIS_SESSION_DB": "2"}


def test_sync_clients_are_separate_databases_and_pools(redis_url: str) -> None:
    with RedisClients.from_env(environ=_env(redis_url)) as clients:
        assert set(clients) == {"cache", "session"} and len(clients) == 2
        cache, session = clients["cache"], clients.get_client("session")
        assert isinstance(cache, RedisClient) and cache is not session
        cache.set("named:k", "in-cache")
        session.delete("named:k")
        assert session.get("named:k") is None
        assert cache.get("named:k") == b"in-cache"
        assert cache.execute_command("CLIENT", "INFO").split(b" db=")[1][:1] == b"1"
        assert "cache=db1" in repr(clients)
        with pytest.raises(KeyError, match="known: cache, session"):
            clients.get_client("pubsub")
        cache.delete("named:k")
    for client in (cache, session):  # closed together
        with pytest.raises(Exception, match="closed"):
            client.ping()


def test_async_clients(redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisClients.from_env(environ=_env(redis_url)) as clients:
            await clients["cache"].set("named:a", "1")
            await clients["session"].delete("named:a")
            assert await clients["session"].get("named:a") is None
            assert await clients["cache"].get("named:a") == b"1"
            await clients["cache"].delete("named:a")
        with pytest.raises(Exception, match="closed"):
            await clients["cache"].ping()

    asyncio.run(main())


def test_no_names() -> None:
    with pytest.raises(ValueError, match="no database names"):
        RedisClients({})
