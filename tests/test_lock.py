"""client.lock(): redis-py's Lock semantics on the blocking and asyncio clients,
with threads and tasks contending, key prefixes, and redis-py's own Lock class
handed our client."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any, Iterator

import pytest

import pyredisclient
from pyredisclient import AsyncLock, Lock, LockError, LockNotOwnedError
from pyredisclient.client.aio import AsyncRedisClient


@pytest.fixture
def r(redis_client: Any) -> Iterator[Any]:
    redis_client.script_flush()
    yield redis_client


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))


def test_acquire_release_and_state(r: Any) -> None:
    lock = r.lock("L", timeout=10)
    assert isinstance(lock, Lock)
    assert "'L'" in repr(lock)
    assert not lock.locked() and not lock.owned()
    assert lock.acquire(blocking=False) is True
    assert lock.locked() and lock.owned()
    assert 9000 < r.pttl("L") <= 10000
    assert r.lock("L").acquire(blocking=False) is False  # held
    lock.release()
    assert not lock.locked() and r.get("L") is None
    with pytest.raises(LockError, match="not owned or is already unlocked"):
        lock.release()


def test_no_timeout_means_no_ttl(r: Any) -> None:
    with r.lock("L") as lock:
        assert r.ttl("L") == -1
        with pytest.raises(LockError, match="no timeout"):
            lock.extend(1)
        with pytest.raises(LockError, match="no timeout"):
            lock.reacquire()
    assert r.get("L") is None


def test_context_manager_raises_when_it_cannot_acquire(r: Any) -> None:
    r.set("L", "someone")
    lock = r.lock("L", blocking_timeout=0.2, sleep=0.05)
    started = time.monotonic()
    with pytest.raises(LockError, match="Unable to acquire") as info:
        with lock:
            pass  # pragma: no cover - never entered
    assert info.value.lock_name == "L"
    assert 0.1 <= time.monotonic() - started < 2
    assert r.get("L") == b"someone"


def test_blocking_waits_for_the_holder(r: Any) -> None:
    holder = r.lock("L", timeout=0.3)
    assert holder.acquire()
    started = time.monotonic()
    assert r.lock("L", sleep=0.02).acquire(blocking_timeout=5)  # after the expiry
    assert 0.2 < time.monotonic() - started < 4
    assert r.lock("L").acquire(blocking=True, blocking_timeout=0.05, sleep=0.2) is False


def test_expired_lock_is_never_released_by_its_old_owner(r: Any) -> None:
    first = r.lock("L", timeout=0.1)
    assert first.acquire()
    time.sleep(0.2)
    second = r.lock("L", timeout=10)
    assert second.acquire(blocking=False)
    with pytest.raises(LockNotOwnedError, match="no longer owned"):
        first.release()
    assert second.owned() and r.get("L") is not None  # the new holder's lock survived
    with pytest.raises(LockError, match="unlocked"):
        first.extend(1)  # release cleared the token
    first.local.token = b"stale"
    with pytest.raises(LockNotOwnedError, match="extend"):
        first.extend(1)
    with pytest.raises(LockNotOwnedError, match="reacquire"):
        first.reacquire()
    second.release()


def test_extend_and_reacquire(r: Any) -> None:
    lock = r.lock("L", timeout=2)
    with pytest.raises(LockError, match="unlocked"):
        lock.reacquire()
    assert lock.acquire()
    assert lock.extend(3) is True
    assert 4000 < r.pttl("L") <= 5000
    assert lock.extend(1, replace_ttl=True) is True
    assert 0 < r.pttl("L") <= 1000
    assert lock.extend(-5) is True  # non-positive: the TTL is left alone
    assert 0 < r.pttl("L") <= 1000
    assert lock.reacquire() is True
    assert 1000 < r.pttl("L") <= 2000
    r.persist("L")
    with pytest.raises(LockNotOwnedError):
        lock.extend(1)  # a key without a TTL is not this lock's any more
    lock.release()


def test_given_token_and_decode_responses(r: Any, redis_url: str) -> None:
    with pyredisclient.RedisClient.from_url(redis_url, decode_responses=True) as rd:
        lock = rd.lock("L", timeout=5)
        assert lock.acquire(token="tok-é")
        assert r.get("L") == "tok-é".encode()
        assert lock.owned()  # the str reply is compared as bytes
        lock.release()
        with pytest.raises(LockError, match="token"):
            lock.acquire(token=123)  # type: ignore[arg-type]


def test_release_falls_back_to_eval_after_script_flush(r: Any) -> None:
    lock = r.lock("L", timeout=5)
    assert lock.acquire()
    assert lock.extend(1)  # caches the scripts
    r.script_flush()
    lock.release()  # EVALSHA -> NoScriptError -> EVAL
    assert r.get("L") is None


def test_thread_local_tokens(r: Any) -> None:
    shared = r.lock("L", timeout=5)
    assert shared.acquire()
    seen: list[Any] = []
    t = threading.Thread(target=lambda: seen.append((shared.owned(), shared.local.token)))
    t.start()
    t.join(5)
    assert seen == [(False, None)]  # another thread has no token of its own
    shared.release()
    handoff = r.lock("M", timeout=5, thread_local=False)
    assert handoff.acquire()
    t = threading.Thread(target=handoff.release)  # released by another thread
    t.start()
    t.join(5)
    assert r.get("M") is None


def test_raise_on_release_error_false_logs(r: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pyredisclient"):
        with r.lock("L", timeout=5, raise_on_release_error=False):
            r.delete("L")
    assert "no longer owned" in caplog.text
    with pytest.raises(LockNotOwnedError):
        with r.lock("L", timeout=5):
            r.delete("L")


def test_threads_contending_lose_no_update(r: Any) -> None:
    threads, rounds = 8, 15
    r.set("counter", 0)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(rounds):
                with r.lock("L", timeout=5, sleep=0.001, blocking_timeout=20):
                    value = int(r.get("counter"))  # read, pause, write: races without it
                    time.sleep(0.0005)
                    r.set("counter", value + 1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    assert not errors
    assert int(r.get("counter")) == threads * rounds
    assert r.get("L") is None


def test_key_prefix_prefixes_the_lock_key(r: Any, redis_url: str) -> None:
    with pyredisclient.RedisClient.from_url(redis_url, key_prefix="tenant:") as tenant:
        lock = tenant.lock("L", timeout=5)
        assert lock.acquire()
        assert r.exists("tenant:L") == 1 and r.exists("L") == 0
        assert lock.owned() and lock.extend(1) and lock.reacquire()
        r.script_flush()
        lock.release()  # EVAL of the confined script, no "scripts" category needed
        assert r.exists("tenant:L") == 0
        # Only lock()'s own scripts pass; any other still needs the category.
        with pytest.raises(pyredisclient.KeyPrefixError):
            tenant.eval("return 1", 1, "L")
        with pytest.raises(pyredisclient.KeyPrefixError):
            tenant.fcall("x", 1, "L")


def test_redis_py_lock_class_with_our_client(r: Any) -> None:
    redis_lock = pytest.importorskip("redis.lock")
    lock = r.lock("L", timeout=5, lock_class=redis_lock.Lock)
    assert isinstance(lock, redis_lock.Lock)
    assert lock.acquire(blocking=False)
    assert lock.owned() and lock.extend(2) and lock.reacquire()
    lock.release()
    assert r.get("L") is None
    direct = redis_lock.Lock(r, "L2", timeout=5)
    with direct:
        assert r.exists("L2")
    assert not r.exists("L2")


def test_get_encoder(r: Any) -> None:
    enc = r.get_encoder()
    assert enc.encode("é") == "é".encode() and enc.encode(1.5) == b"1.5"
    assert enc.encode(b"x") == b"x" and enc.decode(b"x") == b"x"
    assert enc.decode(memoryview(b"x"), force=True) == "x"
    with pytest.raises(pyredisclient.DataError):
        enc.encode(True)


# -- asyncio ------------------------------------------------------------------------


def test_async_lock_every_method(async_redis_client: AsyncRedisClient, r: Any) -> None:
    client = async_redis_client

    async def main() -> None:
        lock = client.lock("L", timeout=5)
        assert isinstance(lock, AsyncLock)
        assert await lock.acquire(blocking=False)
        assert await lock.locked() and await lock.owned()
        assert await client.lock("L").acquire(blocking=False) is False
        assert await lock.extend(2) and await lock.reacquire()
        r.script_flush()
        await lock.release()  # falls back to EVAL
        assert not await lock.locked()
        with pytest.raises(LockError):
            await lock.release()
        held = client.lock("L", timeout=5)
        with pytest.raises(LockNotOwnedError):
            async with held:
                assert await held.owned()
                await client.delete("L")
                other = client.lock("L", timeout=5)
                assert await other.acquire()
        assert await other.owned()  # the other holder's lock survived
        r.set("Z", "x")
        with pytest.raises(LockError, match="Unable"):
            async with client.lock("Z", blocking_timeout=0.1, sleep=0.02):
                pass  # pragma: no cover
        async with client.lock("Y", timeout=1, raise_on_release_error=False):
            await client.delete("Y")

    run(main())


def test_async_tasks_contending(async_redis_client: AsyncRedisClient, r: Any) -> None:
    client = async_redis_client
    tasks, rounds = 10, 8
    r.set("counter", 0)

    async def work() -> None:
        for _ in range(rounds):
            # thread_local=False: tasks share a thread; each lock object is its own.
            async with client.lock("L", timeout=5, sleep=0.001, thread_local=False):
                value = int(await client.get("counter"))
                await asyncio.sleep(0.001)
                await client.set("counter", value + 1)

    async def main() -> None:
        await asyncio.gather(*(work() for _ in range(tasks)))

    run(main())
    assert int(r.get("counter")) == tasks * rounds
