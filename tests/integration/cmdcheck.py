"""Run one command scenario through every host and compare the results.

A scenario is a function of a :class:`Caller`: ``c("lpush", "l", 1, 2)`` calls
one command method and records its result (or the error it raised);
``c.bitfield("k", [("set", "u8", 0, 1)])`` runs a BitFieldOperation chain.
The same scenario then runs, each time on an empty database:

- through redis-py (``protocol=2``, the reference shapes) and our RedisClient,
  in bytes mode and with ``decode_responses=True``: the results must be equal
  and of the same types (:func:`check_same_as_redis_py`);
- through every other host of ours (:data:`HOSTS`): AsyncRedisClient, a
  Pipeline with and without MULTI, an AsyncPipeline, and a client confined to
  a key prefix; each must give what RedisClient gives
  (:func:`check_host`).  Under a prefix every key left in the database must
  carry it, so a key argument that escaped the prefix shows.

Pipelines run each call alone (queue it, execute, take the one result), so
every command of a scenario goes through the pipeline's own queue; the ``*_iter``
generators, which pipelines do not have (as in redis-py), run on the client.
"""

from __future__ import annotations

import asyncio
import inspect
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Sequence, Set, Tuple

import pytest

from pyredisclient import AsyncRedisClient, RedisClient

Scenario = Callable[["Caller"], None]
PREFIX = "pfx{t}:"
HOSTS = ("async", "pipeline", "multi", "async_pipeline", "prefix")


@pytest.fixture
def raw(redis_url: str) -> Iterator[Any]:
    """An unprefixed RedisClient on a flushed database (flushed again after)."""
    client = RedisClient.from_url(redis_url)
    client.flushall()
    try:
        yield client
    finally:
        client.flushall()
        client.close()


def error_record(exc: BaseException, detail: bool) -> Tuple[str, ...]:
    names = [cls.__name__ for cls in type(exc).__mro__]
    if "DataError" in names:
        return ("error", "DataError")  # client-side: the wording is ours
    if detail and "ResponseError" in names:
        return ("error", type(exc).__name__, str(exc))
    return ("error", type(exc).__name__)


class Caller:
    """Calls command methods on one host and records the results."""

    def __init__(self, mode: str, client: Any, loop: asyncio.AbstractEventLoop | None) -> None:
        self.mode = mode
        self.client = client
        self.loop = loop
        self.results: List[Tuple[str, Any]] = []

    def __call__(self, method: str, *args: Any, **kwargs: Any) -> Any:
        def call(host: Any) -> Any:
            return getattr(host, method)(*args, **kwargs)

        return self.run(method, call, iterate=method.endswith("_iter"))

    def unordered(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Like a call, for a reply in server hash order (KEYS, SCAN, ...), which
        differs under a key prefix: a list (or the list of a (cursor, list) pair)
        is recorded sorted."""
        result = self(method, *args, **kwargs)
        self.results[-1] = (method, _sorted(result))
        return result

    def value(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call without recording (for a value checked with :meth:`note`)."""
        before = len(self.results)
        result = self(method, *args, **kwargs)
        del self.results[before:]
        return result

    def bitfield(
        self, key: Any, ops: Sequence[Tuple[Any, ...]], default_overflow: str | None = None
    ) -> Any:
        """client.bitfield(key, default_overflow).op(...)....execute()."""

        def call(host: Any) -> Any:
            op = host.bitfield(key, default_overflow=default_overflow)
            for name, *args in ops:
                op = getattr(op, name)(*args)
            return op.execute()

        return self.run("bitfield", call)

    def note(self, label: str, value: Any) -> None:
        """Record a value derived from results (a TTL checked for range, ...)."""
        self.results.append((label, value))

    def run(self, label: str, call: Callable[[Any], Any], iterate: bool = False) -> Any:
        try:
            result = self._run(call, iterate)
        except Exception as exc:
            result = error_record(exc, self.mode in ("sync", "redis-py"))
        self.results.append((label, result))
        return result

    def _run(self, call: Callable[[Any], Any], iterate: bool) -> Any:
        mode, client = self.mode, self.client
        if mode in ("sync", "redis-py", "prefix"):
            result = call(client)
            return list(result) if iterate else result
        if mode in ("pipeline", "multi"):
            if iterate:
                return list(call(client))
            with client.pipeline(transaction=mode == "multi") as pipe:
                queued = call(pipe)
                assert queued is pipe, "a pipeline method must return the pipeline"
                (result,) = pipe.execute()
                return result
        assert self.loop is not None
        return self.loop.run_until_complete(self._run_async(call, iterate))

    async def _run_async(self, call: Callable[[Any], Any], iterate: bool) -> Any:
        client = self.client
        if iterate:
            return [item async for item in call(client)]
        if self.mode == "async":
            return await call(client)
        pipe = client.pipeline(transaction=False)
        try:
            assert call(pipe) is pipe, "a pipeline method must return the pipeline"
            (result,) = await pipe.execute()
        finally:
            await pipe.reset()
        return result


def _sorted(result: Any) -> Any:
    if isinstance(result, list):
        return sorted(result, key=repr)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], list):
        return (result[0], sorted(result[1], key=repr))
    return result


def run(mode: str, url: str, scenario: Scenario, decode: bool = False) -> List[Any]:
    """The results of ``scenario`` on one host, from an empty database."""
    raw = RedisClient.from_url(url)
    raw.flushall()
    loop: asyncio.AbstractEventLoop | None = None
    client: Any
    if mode == "redis-py":
        import redis

        client = redis.Redis.from_url(url, protocol=2, decode_responses=decode)
    elif mode in ("async", "async_pipeline"):
        loop = asyncio.new_event_loop()
        client = AsyncRedisClient.from_url(url, decode_responses=decode)
    elif mode == "prefix":
        client = RedisClient.from_url(url, decode_responses=decode, key_prefix=PREFIX)
    else:
        client = RedisClient.from_url(url, decode_responses=decode)
    try:
        caller = Caller(mode, client, loop)
        with warnings.catch_warnings():
            # redis-py 8 marks a few methods deprecated; we do not warn.
            warnings.simplefilter("ignore", DeprecationWarning)
            # ... and a few arguments experimental (set's ifeq, ...).
            warnings.filterwarnings("ignore", "Call to .* experimental usage", UserWarning)
            scenario(caller)
        if mode == "prefix":
            stray = [k for k in raw.keys("*") if not k.startswith(PREFIX.encode())]
            assert stray == [], f"keys outside the prefix: {stray}"
        raw.flushall()
        return caller.results
    finally:
        if loop is not None:
            loop.run_until_complete(client.aclose())
            loop.close()
        else:
            client.close()
        raw.close()


def same_types(a: Any, b: Any) -> bool:
    """True when a and b also agree on types, recursively (1 == True == 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return all(same_types(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return all(same_types(a[k], b[k]) for k in a)
    return True


def compare(ours: List[Any], reference: List[Any]) -> None:
    assert [m for m, _ in ours] == [m for m, _ in reference]
    for (method, mine), (_, theirs) in zip(ours, reference):
        assert mine == theirs, method
        assert same_types(mine, theirs), (method, mine, theirs)


def check_same_as_redis_py(url: str, scenario: Scenario, decode: bool) -> List[Any]:
    ours = run("sync", url, scenario, decode)
    compare(ours, run("redis-py", url, scenario, decode))
    return ours


def check_host(url: str, scenario: Scenario, mode: str) -> None:
    """``mode`` gives what RedisClient gives (server errors compared by class)."""
    reference = [
        (m, r[:2] if isinstance(r, tuple) and r[:1] == ("error",) else r)
        for m, r in run("sync", url, scenario)
    ]
    compare(run(mode, url, scenario), reference)


def untested(methods: Sequence[str], test_file: str) -> List[str]:
    """The methods of ``methods`` no scenario of ``test_file`` calls."""
    source = Path(test_file).read_text(encoding="utf-8")
    return [m for m in methods if f'c("{m}"' not in source and f"c.{m}(" not in source]


def family_methods(cls: type) -> List[str]:
    """The public command methods a family mixin defines itself."""
    return [
        name
        for name, value in vars(cls).items()
        if not name.startswith("_") and (inspect.isfunction(value) or callable(value))
    ]


class Family:
    """The scenarios of one test file and the tests that run them.

    ``family.scenario`` registers a scenario (``prefix=False``: it uses commands a
    prefix refuses, tested on their own); :meth:`tests` returns the three tests
    the file assigns to module-level ``test_*`` names.
    """

    def __init__(self, *classes: type) -> None:
        self.classes = classes
        self.scenarios: Dict[str, Scenario] = {}
        self.unprefixed: Set[str] = set()

    def scenario(self, func: Scenario | None = None, *, prefix: bool = True) -> Any:
        def register(f: Scenario) -> Scenario:
            self.scenarios[f.__name__] = f
            if not prefix:
                self.unprefixed.add(f.__name__)
            return f

        return register(func) if func is not None else register

    def tests(self, test_file: str) -> Tuple[Callable[..., None], ...]:
        names = sorted(self.scenarios)
        modes = [
            pytest.param(name, mode, id=f"{name}-{mode}")
            for name in names
            for mode in HOSTS
            if mode != "prefix" or name not in self.unprefixed
        ]

        @pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decode"])
        @pytest.mark.parametrize("name", names)
        def test_same_as_redis_py(name: str, decode: bool, redis_url: str) -> None:
            check_same_as_redis_py(redis_url, self.scenarios[name], decode)

        @pytest.mark.parametrize("name,mode", modes)
        def test_every_host(name: str, mode: str, redis_url: str) -> None:
            check_host(redis_url, self.scenarios[name], mode)

        def test_every_method_is_in_a_scenario() -> None:
            methods = [m for cls in self.classes for m in family_methods(cls)]
            assert untested(methods, test_file) == []

        return test_same_as_redis_py, test_every_host, test_every_method_is_in_a_scenario
