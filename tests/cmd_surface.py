"""Run one script of command-method calls through every client and compare.

The family tests (test_cmd_sets.py, test_cmd_sorted_sets.py, test_cmd_hll_geo.py,
test_cmd_streams.py) each write a script: a list of :class:`Call` run in order on
an empty database. This module runs a script on RedisClient (bytes and
decode_responses), AsyncRedisClient, Pipeline, a MULTI/EXEC transaction,
AsyncPipeline, a key-prefixed client, and redis-py 8 (protocol 2, the reference
shapes), and returns the results in a form that compares across them: values,
or ``("error", class name)`` for an exception (DataError raised when the call is
queued, ResponseError from the reply).
"""

from __future__ import annotations

import asyncio
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Sequence, Tuple

import pytest

import pyredisclient
from pyredisclient.aio import AsyncRedisClient


@dataclass(frozen=True)
class Call:
    """One method call; ``norm`` makes a reply that varies between runs comparable."""

    method: str
    args: Tuple[Any, ...] = ()
    kwargs: Dict[str, Any] = field(default_factory=dict)
    norm: Callable[[Any], Any] | None = None


def c(method: str, *args: Any, _norm: Callable[[Any], Any] | None = None, **kwargs: Any) -> Call:
    return Call(method, args, kwargs, _norm)


def error(exc: BaseException) -> Tuple[str, str]:
    names = [cls.__name__ for cls in type(exc).__mro__]
    for name in ("DataError", "ResponseError"):
        if name in names:
            return ("error", name)
    return ("error", type(exc).__name__)


def _final(call: Call, value: Any) -> Any:
    if isinstance(value, BaseException):
        return error(value)
    return call.norm(value) if call.norm is not None else value


def run_sync(client: Any, script: Sequence[Call]) -> List[Any]:
    results = []
    for call in script:
        try:
            value = getattr(client, call.method)(*call.args, **call.kwargs)
        except Exception as exc:
            value = exc
        results.append(_final(call, value))
    return results


async def run_async(client: Any, script: Sequence[Call]) -> List[Any]:
    results = []
    for call in script:
        try:
            value = await getattr(client, call.method)(*call.args, **call.kwargs)
        except Exception as exc:
            value = exc
        results.append(_final(call, value))
    return results


def _queue(pipe: Any, script: Sequence[Call]) -> List[Any]:
    """Queue the calls; a slot holds the exception a call raised at once, else None."""
    slots: List[Any] = []
    for call in script:
        try:
            assert getattr(pipe, call.method)(*call.args, **call.kwargs) is pipe
            slots.append(None)
        except Exception as exc:
            slots.append(exc)
    return slots


def _merge(script: Sequence[Call], slots: List[Any], replies: List[Any]) -> List[Any]:
    it = iter(replies)
    merged = [next(it) if slot is None else slot for slot in slots]
    assert next(it, None) is None
    return [_final(call, value) for call, value in zip(script, merged)]


def run_pipeline(client: Any, script: Sequence[Call], transaction: bool) -> List[Any]:
    pipe = client.pipeline(transaction=transaction)
    slots = _queue(pipe, script)
    return _merge(script, slots, pipe.execute(raise_on_error=False))


async def run_async_pipeline(client: Any, script: Sequence[Call], transaction: bool) -> List[Any]:
    pipe = client.pipeline(transaction=transaction)
    slots = _queue(pipe, script)
    return _merge(script, slots, await pipe.execute(raise_on_error=False))


def run_mode(mode: str, url: str, script: Sequence[Call]) -> List[Any]:
    """Run ``script`` on an empty database in ``mode``: "sync", "redis-py",
    "redis-py-decoded", or words joined by "-" (async, pipeline, transaction,
    prefixed, decoded), such as "async-prefixed-transaction"."""
    if mode.startswith("redis-py"):
        return run_redis_py(url, script, decode=mode.endswith("decoded"))
    words = set(mode.split("-"))
    kwargs: Dict[str, Any] = {}
    if "decoded" in words:
        kwargs["decode_responses"] = True
    if "prefixed" in words:
        kwargs["key_prefix"] = "tenant:"
    with pyredisclient.RedisClient.from_url(url) as flusher:
        flusher.flushdb()
    pipelined = "pipeline" in words or "transaction" in words
    if "async" in words:
        return asyncio.run(_run_async(url, kwargs, pipelined, "transaction" in words, script))
    with pyredisclient.RedisClient.from_url(url, **kwargs) as client:
        if pipelined:
            return run_pipeline(client, script, transaction="transaction" in words)
        return run_sync(client, script)


async def _run_async(
    url: str, kwargs: Dict[str, Any], pipelined: bool, transaction: bool, script: Sequence[Call]
) -> List[Any]:
    async with AsyncRedisClient.from_url(url, **kwargs) as client:
        if pipelined:
            return await run_async_pipeline(client, script, transaction)
        return await run_async(client, script)


def run_redis_py(url: str, script: Sequence[Call], decode: bool) -> List[Any]:
    import redis  # the reference; tests skip without it

    client = redis.Redis.from_url(url, protocol=2, decode_responses=decode)
    try:
        client.flushdb()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return run_sync(client, script)
    finally:
        client.close()


#: The modes whose results must equal the sync bytes client's.
SAME_AS_SYNC = (
    "async",
    "pipeline",
    "transaction",
    "async-pipeline",
    "async-transaction",
    "prefixed",
    "prefixed-pipeline",
    "async-prefixed-transaction",
)


def check_same_as_redis_py(url: str, script: Sequence[Call], decode: bool) -> None:
    """RedisClient gives what redis-py 8 gives (RESP2), in bytes or decoded mode."""
    pytest.importorskip("redis")
    mine = run_mode("decoded" if decode else "sync", url, script)
    theirs = run_mode("redis-py-decoded" if decode else "redis-py", url, script)
    assert_same(script, mine, theirs)


def check_same_as_sync(client: Any, url: str, script: Sequence[Call], mode: str) -> None:
    """``mode`` (one of :data:`SAME_AS_SYNC`) gives what the sync client gives; a
    prefixed run leaves only keys under its prefix (``client``: unprefixed)."""
    expected = run_mode("sync", url, script)
    assert_same(script, run_mode(mode, url, script), expected)
    if "prefixed" in mode:
        keys = client.keys("*")
        assert keys and all(k.startswith(b"tenant:") for k in keys)


def same_types(a: Any, b: Any) -> bool:
    """True when a and b also agree on types, recursively (1 == True == 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return all(same_types(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return all(same_types(a[k], b[k]) for k in a)
    return True


def assert_same(script: Sequence[Call], mine: List[Any], reference: List[Any]) -> None:
    assert len(mine) == len(reference)
    for call, a, b in zip(script, mine, reference):
        where = f"{call.method}{call.args}{call.kwargs}"
        assert a == b, where
        assert same_types(a, b), (where, a, b)


def methods_called(script: Sequence[Call]) -> set[str]:
    return {call.method for call in script}


def family_methods(cls: type) -> set[str]:
    return {name for name in vars(cls) if not name.startswith("_") and callable(vars(cls)[name])}
