"""RedisClient and AsyncRedisClient share one base class: what does not depend on
awaiting is written once (construction, key prefixes, tracing, state views), and
the logic that does (transactions, pipelines' WATCH and execute) is one set of steps."""

from __future__ import annotations

import inspect

import pytest

from pyredisclient import RedisClient
from pyredisclient.client import pipeline
from pyredisclient.client.aio import AsyncPipeline, AsyncRedisClient
from pyredisclient.client.base import ClientBase

SHARED = (
    "__init__",
    "__repr__",
    "circuit_breaker_state",
    "config",
    "debug_info",
    "enable_tracing",
    "from_url",
    "key_prefix",
    "metrics",
    "metrics_text",
    "pool_stats",
    "with_prefix",
)


@pytest.mark.parametrize("name", SHARED)
def test_both_clients_take_the_member_from_the_base(name: str) -> None:
    base = inspect.getattr_static(ClientBase, name)
    assert inspect.getattr_static(RedisClient, name) is base
    assert inspect.getattr_static(AsyncRedisClient, name) is base


def test_the_sync_get_path_has_no_python_frame() -> None:
    """The command hook of a plain RedisClient is the C method itself."""
    client = RedisClient(port=1)
    try:
        assert client._run == client._core.run
        assert inspect.isbuiltin(client._run)
    finally:
        client.close()


def test_pipelines_run_one_set_of_steps() -> None:
    """AsyncPipeline defines no WATCH, reset or execute logic of its own: only the
    awaiting drivers and the I/O hooks."""
    for name in ("_watch_steps", "_unwatch_steps", "_reset_steps", "_execute_steps"):
        assert name not in vars(AsyncPipeline)
        assert inspect.isgeneratorfunction(getattr(pipeline.Pipeline, name))
    assert inspect.isgeneratorfunction(pipeline.transaction_steps)
