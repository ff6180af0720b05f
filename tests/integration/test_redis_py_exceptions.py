"""``inherit_exceptions()``: redis-py's except clauses catch pyredisclient's errors.

Each error is raised for real (a real server, a refused port, a lost WATCH race), then
caught by the ``redis.exceptions`` clause that code written for redis-py has, and still
by ours. The classes are process-wide, so every test here puts them back afterwards.
"""

from __future__ import annotations

import asyncio
import pickle
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import pyredisclient
from pyredisclient import RedisClient
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.client.discovery import Sentinel
from pyredisclient.client.sentinel import MasterNotFoundError
from pyredisclient.integrations import redis_py
from pyredisclient.integrations.testing import redis_server_available
from pyredisclient.testing import find_free_port

rx = pytest.importorskip("redis.exceptions")
rs = pytest.importorskip("redis.sentinel")

pytestmark = pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")


def _shape() -> Dict[type, Tuple[Any, ...]]:
    """Each class's MRO and the methods an instance goes through."""
    return {
        cls: (cls.__mro__, *(getattr(cls, name) for name in redis_py._KEPT))
        for cls in redis_py._ours()
    }


@pytest.fixture
def inherited() -> Iterator[None]:
    before = _shape()
    redis_py.inherit_exceptions()
    try:
        yield
    finally:
        redis_py._undo()
        assert _shape() == before


def _raised(call: Any) -> BaseException:
    with pytest.raises(pyredisclient.RedisError) as info:
        call()
    return info.value


def test_every_class_keeps_its_own_hierarchy_and_gains_redis_pys(inherited: None) -> None:
    for cls in redis_py._ours():
        own = [c for c in cls.__mro__ if c.__module__.startswith("pyredisclient")]
        assert issubclass(cls, rx.RedisError), cls
        assert all(issubclass(cls, c) for c in own)
    pairs = [
        (pyredisclient.ConnectionError, rx.ConnectionError),
        (pyredisclient.TimeoutError, rx.TimeoutError),
        (pyredisclient.AuthenticationError, rx.AuthenticationError),
        (pyredisclient.PoolTimeoutError, rx.MaxConnectionsError),
        (pyredisclient.ProtocolError, rx.InvalidResponse),
        (pyredisclient.MovedError, rx.AskError),
        (pyredisclient.ClusterError, rx.RedisClusterException),
        (pyredisclient.SlotNotCoveredError, rx.SlotNotCoveredError),
        (pyredisclient.LockNotOwnedError, rx.LockError),
        (MasterNotFoundError, rs.MasterNotFoundError),
    ]
    for ours, theirs in pairs:
        assert issubclass(ours, theirs), (ours, theirs)
    # the builtins stay: except OSError / TypeError / ValueError still catch them
    assert issubclass(pyredisclient.ConnectionError, ConnectionError)
    assert issubclass(pyredisclient.DataError, TypeError)
    assert issubclass(pyredisclient.LockError, ValueError)


def test_instances_are_made_printed_and_pickled_as_before(inherited: None) -> None:
    # redis-py's AskError.__init__ would parse this text (and fail on the code word)
    moved = pyredisclient.MovedError("MOVED 3999 10.0.0.2:6379")
    assert str(moved) == "MOVED 3999 10.0.0.2:6379"
    assert repr(moved) == "MovedError('MOVED 3999 10.0.0.2:6379')"
    assert (moved.slot_id, moved.host, moved.port) == (3999, "10.0.0.2", 6379)
    again = pickle.loads(pickle.dumps(moved))
    assert type(again) is pyredisclient.MovedError and again.args == moved.args
    lost = pyredisclient.ConnectionError(111, "refused")
    assert lost.errno == 111 and repr(lost) == "ConnectionError(111, 'refused')"
    assert repr(pyredisclient.RedisError("x")) == "RedisError('x')"
    assert not hasattr(pyredisclient.ResponseError("x"), "error_type")


def test_redis_py_clauses_catch_a_real_servers_errors(
    inherited: None, r: RedisClient, redis_url: str
) -> None:
    caught: List[str] = []

    def catch(call: Any, theirs: type) -> BaseException:
        error = _raised(call)
        try:
            raise error
        except theirs:
            caught.append(theirs.__name__)
        return error

    error = catch(lambda: r.evalsha("0" * 40, 0), rx.NoScriptError)
    assert isinstance(error, pyredisclient.NoScriptError)
    r.set("s", "x")
    catch(lambda: r.lpush("s", 1), rx.ResponseError)
    error = catch(lambda: r.set("k", {"a": 1}), rx.DataError)
    assert isinstance(error, TypeError)

    with r.pipeline() as pipe:
        pipe.watch("w")
        r.set("w", "changed")
        pipe.multi()
        pipe.set("w", "mine")
        catch(pipe.execute, rx.WatchError)
        pipe.reset()
        pipe.multi()
        catch(pipe.multi, rx.RedisError)  # nested MULTI: ours raises RedisError itself

    lock = r.lock("lock", timeout=5)
    catch(lock.release, rx.LockError)

    refused = RedisClient(port=find_free_port(), socket_connect_timeout=0.5)
    try:
        error = catch(lambda: refused.get("k"), rx.ConnectionError)
        assert isinstance(error, OSError) and isinstance(error, pyredisclient.ConnectionError)
    finally:
        refused.close()

    paused = RedisClient.from_url(redis_url, socket_timeout=0.2)
    try:
        r.execute_command("CLIENT", "PAUSE", 1000, "ALL")
        catch(lambda: paused.get("k"), rx.TimeoutError)
    finally:
        r.execute_command("CLIENT", "UNPAUSE")
        paused.close()
    assert caught == [
        "NoScriptError",
        "ResponseError",
        "DataError",
        "WatchError",
        "RedisError",
        "LockError",
        "ConnectionError",
        "TimeoutError",
    ]


def test_redis_py_sentinel_clause_catches_a_missing_primary(inherited: None) -> None:
    sentinel = Sentinel([("127.0.0.1", find_free_port())], socket_timeout=0.5)
    with pytest.raises(rs.MasterNotFoundError):
        sentinel.discover_master("nowhere")


def test_asyncio_script_reload_as_fastapi_limiter_does_it(
    inherited: None, redis_client: RedisClient, redis_url: str
) -> None:
    """fastapi-limiter's pattern: EVALSHA, and on redis-py's NoScriptError load the
    script and run it again (before inherit_exceptions, ours escaped the clause)."""
    script = "return redis.call('INCR', KEYS[1])"

    async def hit(r: AsyncRedisClient, sha: str) -> Any:
        try:
            return await r.evalsha(sha, 1, "hits")
        except rx.NoScriptError:
            sha = await r.script_load(script)
            return await r.evalsha(sha, 1, "hits")

    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(redis_url) as r:
            sha = await r.script_load(script)
            first = await hit(r, sha)
            await r.script_flush()
            return [first, *await asyncio.gather(*(hit(r, sha) for _ in range(8)))]

    results = asyncio.run(main())
    assert sorted(results) == list(range(1, 10))


def test_inheriting_twice_changes_nothing_more(inherited: None) -> None:
    shape = _shape()
    redis_py.inherit_exceptions()
    assert _shape() == shape


def test_a_class_that_cannot_be_a_base_puts_every_class_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A redis-py class whose layout ours cannot take (here: one with __slots__),
    met after others were changed: TypeError, and nothing is left half done."""

    class Slotted(Exception):
        __slots__ = ("extra",)

    before = _shape()
    theirs = redis_py._theirs
    monkeypatch.setattr(
        redis_py, "_theirs", lambda spec: Slotted if spec == "odd:Slotted" else theirs(spec)
    )
    monkeypatch.setattr(
        redis_py, "_PAIRS", (*redis_py._PAIRS, (pyredisclient.WatchError, ("odd:Slotted",)))
    )
    with pytest.raises(TypeError):
        redis_py.inherit_exceptions()
    assert redis_py._changed is None
    assert _shape() == before
    assert not issubclass(pyredisclient.ConnectionError, rx.ConnectionError)


def test_without_it_redis_pys_clauses_let_ours_through(r: RedisClient) -> None:
    """The default: ours are not redis-py's (importing redis-py is the caller's choice)."""
    with pytest.raises(pyredisclient.NoScriptError) as info:
        r.evalsha("0" * 40, 0)
    assert not isinstance(info.value, rx.RedisError)


def test_fastapi_limiter_survives_a_script_flush(redis_url: str) -> None:
    """fastapi-limiter 0.1 (its Lua script, reloaded on redis-py's NoScriptError)
    handed an AsyncRedisClient: after SCRIPT FLUSH every limited request raised,
    until inherit_exceptions()."""
    pytest.importorskip("fastapi_limiter")
    httpx = pytest.importorskip("httpx")
    from fastapi import Depends, FastAPI
    from fastapi_limiter import FastAPILimiter
    from fastapi_limiter.depends import RateLimiter

    app = FastAPI()

    @app.get("/limited", dependencies=[Depends(RateLimiter(times=2, seconds=30))])
    async def limited() -> Dict[str, int]:
        return {"ok": 1}

    async def main() -> Tuple[List[int], str, List[int]]:
        async with AsyncRedisClient.from_url(redis_url) as r:
            await FastAPILimiter.init(r, prefix="limiter")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                first = [(await http.get("/limited")).status_code for _ in range(3)]
                await r.script_flush()
                with pytest.raises(pyredisclient.NoScriptError) as escaped:
                    await http.get("/limited")
                redis_py.inherit_exceptions()
                try:
                    await r.script_flush()
                    after = [(await http.get("/limited")).status_code for _ in range(2)]
                finally:
                    redis_py._undo()
            return first, type(escaped.value).__name__, after

    first, escaped, after = asyncio.run(main())
    assert first == [200, 200, 429]
    assert escaped == "NoScriptError"
    assert after == [429, 429]  # the script reloaded: still limited, no error
