"""Libraries written for redis-py, handed a RedisClient: rq (a job queue, its forking
worker and scheduler), python-redis-lock (a lock built on Lua scripts and BLPOP),
django-redis, pyrate-limiter, dramatiq (a job queue whose broker is one large Lua
script), cachelib (Flask-Caching's cache), huey and pottery, installed from PyPI by the
test extras (scripts/setup.sh); and what they read of a client: ``connection_pool``
(and its ``disconnect()``), and ``connection_pool=`` to build one. The libraries
written for redis.asyncio are in test_libraries_aio.py."""

from __future__ import annotations

import asyncio
import threading
import time
import warnings
from datetime import timedelta
from typing import Any, Iterator, List

import pytest

import pyredisclient
from pyredisclient import KeyPrefixError, RedisClient


@pytest.fixture
def client(redis_client: Any) -> Iterator[RedisClient]:
    redis_client.script_flush()
    yield redis_client


# -- python-redis-lock ----------------------------------------------------------------


def test_redis_lock_checks_isinstance(client: RedisClient) -> None:
    redis_lock = pytest.importorskip("redis_lock")
    # It checks isinstance(client, redis.StrictRedis) unless strict=False (README).
    with pytest.raises(ValueError, match="StrictRedis"):
        redis_lock.Lock(client, "job")


def test_redis_lock_end_to_end(client: RedisClient) -> None:
    redis_lock = pytest.importorskip("redis_lock")
    lock = redis_lock.Lock(client, "job", expire=5, strict=False)
    assert lock.acquire(blocking=False) and lock.locked()
    assert client.get("lock:job") == lock.id.encode()
    lock.extend(10)  # a Lua script
    assert 5 < client.ttl("lock:job") <= 10
    other = redis_lock.Lock(client, "job", strict=False)
    assert other.acquire(blocking=False) is False
    # A waiter blocks in BLPOP on the lock's signal list; release() (a Lua script)
    # pushes to it, so the waiter wakes at once rather than at the expiry.
    threading.Timer(0.3, lock.release).start()
    started = time.monotonic()
    assert other.acquire(timeout=5)
    assert 0.2 < time.monotonic() - started < 3
    with pytest.raises(redis_lock.NotAcquired):
        lock.release()  # no longer ours: the unlock script refuses
    other.release()
    assert client.get("lock:job") is None


def test_redis_lock_auto_renewal_and_reset_all(client: RedisClient) -> None:
    redis_lock = pytest.importorskip("redis_lock")
    with redis_lock.Lock(client, "renewed", expire=1, auto_renewal=True, strict=False):
        time.sleep(1.5)  # past the expiry: the renewal thread extended it
        assert client.exists("lock:renewed") == 1
    assert client.exists("lock:renewed") == 0
    held = redis_lock.Lock(client, "a", expire=30, strict=False)
    assert held.acquire()
    redis_lock.reset_all(client)  # a Lua script over every lock:* key
    assert client.exists("lock:a") == 0


def test_redis_lock_threads_contending(client: RedisClient) -> None:
    redis_lock = pytest.importorskip("redis_lock")
    client.set("counter", 0)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                with redis_lock.Lock(client, "count", expire=10, strict=False):
                    value = int(client.get("counter") or 0)
                    time.sleep(0.001)
                    client.set("counter", value + 1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and int(client.get("counter") or 0) == 50


def test_redis_lock_under_a_key_prefix_needs_the_scripts_category(redis_url: str) -> None:
    redis_lock = pytest.importorskip("redis_lock")
    with RedisClient.from_url(redis_url, key_prefix="t:") as tenant:
        lock = redis_lock.Lock(tenant, "job", expire=5, strict=False)
        assert lock.acquire(blocking=False)  # SET NX: the key is t:lock:job
        with pytest.raises(KeyPrefixError):
            lock.release()  # its own Lua script: not one a prefix can confine
        tenant.delete("lock:job")
    with RedisClient.from_url(redis_url) as plain:
        granted = plain.with_prefix("t:", allow=["scripts"])
        lock = redis_lock.Lock(granted, "job", expire=5, strict=False)
        assert lock.acquire(blocking=False)
        assert plain.exists("t:lock:job") == 1
        lock.release()
        assert plain.exists("t:lock:job") == 0


# -- rq ------------------------------------------------------------------------------


def test_rq_queue_and_worker_registration(client: RedisClient) -> None:
    rq = pytest.importorskip("rq")
    queue = rq.Queue("h15", connection=client)
    job = queue.enqueue("operator.add", 2, 3, job_id="job-1")
    assert job.get_status() == rq.job.JobStatus.QUEUED
    assert queue.count == 1 and queue.job_ids == ["job-1"]
    fetched = rq.job.Job.fetch("job-1", connection=client)
    assert fetched.func_name == "operator.add" and fetched.args == (2, 3)
    assert rq.Queue.all(connection=client)[0].name == "h15"
    worker = rq.SimpleWorker([queue], connection=client)  # reads connection_pool
    worker.register_birth()
    assert [w.name for w in rq.SimpleWorker.all(connection=client)] == [worker.name]
    worker.register_death()
    job.cancel()
    assert job.get_status() == rq.job.JobStatus.CANCELED and queue.count == 0
    queue.delete(delete_jobs=True)


def test_connection_pool_view(client: RedisClient) -> None:
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    assert kwargs["port"] == client.config.port and kwargs["db"] == 0
    assert "password" not in kwargs and pool.max_connections == client.config.max_connections
    assert pool.get_encoder().encode("x") == b"x" and "C core" in repr(pool)
    assert client.connection_pool is pool
    assert client.get_connection_kwargs() is kwargs  # redis-py's accessor
    client.load_external_module("echoer", lambda: client.echo("via a module"))
    assert client.echoer() == b"via a module"  # type: ignore[attr-defined]
    del client.echoer  # type: ignore[attr-defined]
    with RedisClient(unix_socket_path="/tmp/x.sock", password="pw") as unix:
        assert unix.connection_pool.connection_kwargs["path"] == "/tmp/x.sock"
        assert "pw" not in repr(unix.connection_pool.connection_kwargs)


def _connections_named(admin: RedisClient, name: str, want: int) -> int:
    """How many connections the server lists under ``name``, once it is ``want``
    (the server notices a close a moment later) or after 5 s."""
    deadline = time.monotonic() + 5
    while True:
        n = sum(1 for c in admin.client_list() if c.get("name") == name)
        if n == want or time.monotonic() > deadline:
            return n
        time.sleep(0.01)


def test_connection_pool_disconnect(client: RedisClient, redis_url: str) -> None:
    """redis-py's ``pool.disconnect()`` (saq's disconnect, FastAPI shutdown hooks):
    the idle connections close now, one in use when its caller gives it back, and
    the client goes on with new connections."""
    c = RedisClient.from_url(redis_url, client_name="pool-dc", max_connections=8)
    barrier = threading.Barrier(4)

    def busy() -> None:
        barrier.wait()
        for _ in range(100):
            c.get("x")

    threads = [threading.Thread(target=busy) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    opened = c.pool_stats()["created"]
    assert opened >= 2 and _connections_named(client, "pool-dc", opened) == opened
    assert c.connection_pool.disconnect() is None
    assert _connections_named(client, "pool-dc", 0) == 0
    assert c.pool_stats()["idle"] == 0 and c.pool_stats()["closed"] == opened
    assert c.ping() is True and _connections_named(client, "pool-dc", 1) == 1
    # In use (a WATCHing pipeline holds one): kept until given back, then closed.
    pipe = c.pipeline()
    pipe.watch("w")
    c.connection_pool.disconnect()
    assert _connections_named(client, "pool-dc", 1) == 1
    pipe.multi()
    pipe.set("w", 1)
    assert pipe.execute() == [True]
    assert _connections_named(client, "pool-dc", 0) == 0
    # inuse_connections=False: only the idle ones go.
    pipe = c.pipeline()
    pipe.watch("w")
    c.connection_pool.disconnect(inuse_connections=False)
    pipe.reset()
    assert c.pool_stats()["idle"] == 1
    assert _connections_named(client, "pool-dc", 1) == 1
    c.close()
    assert c.connection_pool.disconnect() is None  # a closed client: nothing to do
    assert _connections_named(client, "pool-dc", 0) == 0


def test_async_connection_pool_disconnect(client: RedisClient, redis_url: str) -> None:
    """The asyncio twin is awaited, as redis.asyncio's; the shared (multiplexed)
    connection closes too, and reads in flight on it are sent again."""
    from pyredisclient.aio import AsyncRedisClient

    async def main() -> List[Any]:
        a = AsyncRedisClient.from_url(redis_url, client_name="pool-adc")
        await a.set("adc", "v")
        await asyncio.gather(*[a.get("adc") for _ in range(50)])
        before = _connections_named(client, "pool-adc", 1)
        await a.connection_pool.disconnect()
        after = _connections_named(client, "pool-adc", 0)
        in_flight = [asyncio.ensure_future(a.get("adc")) for _ in range(50)]
        await asyncio.sleep(0)
        await a.connection_pool.disconnect()
        got = await asyncio.gather(*in_flight)
        again = await a.get("adc")
        await a.aclose()
        return [before, after, set(got), again]

    assert asyncio.run(main()) == [1, 0, {b"v"}, b"v"]


def test_cluster_connection_pool_disconnect(redis_cluster: Any) -> None:
    host, port = redis_cluster.addresses[0]
    with pyredisclient.RedisClusterClient(host, port, client_name="pool-cdc") as c:
        c.mset_nonatomic({f"k{i}": i for i in range(30)})  # a connection to every node
        assert all(n.pool_stats()["idle"] >= 1 for n in c.nodes().values())
        c.connection_pool.disconnect()
        assert all(n.pool_stats()["idle"] == 0 for n in c.nodes().values())
        assert c.get("k1") == b"1"


def test_pipeline_attributes_libraries_read(client: RedisClient) -> None:
    with client.pipeline() as pipe:
        assert pipe.explicit_transaction is False and pipe.watching is False
        pipe.watch("k")
        assert pipe.watching is True
        pipe.multi()
        assert pipe.explicit_transaction is True
        pipe.get("k")
        assert pipe.execute() == [None]
        assert pipe.explicit_transaction is False and pipe.watching is False
    assert client.pipeline().get_encoder().decode_responses is False


def test_rq_worker_runs_a_job(client: RedisClient) -> None:
    # The worker subscribes to its command channel (pubsub()) and keeps results in a
    # stream (xadd, xrevrange): all of it through our client.
    rq = pytest.importorskip("rq")
    queue = rq.Queue("h15", connection=client)
    job = queue.enqueue("operator.add", 2, 3)
    worker = rq.SimpleWorker([queue], connection=client)
    assert worker.work(burst=True) is True
    job.refresh()
    assert job.get_status() == rq.job.JobStatus.FINISHED
    assert job.return_value() == 5
    assert pyredisclient.RedisClient  # the client was ours all along


def test_rq_forking_worker_with_its_scheduler(client: RedisClient) -> None:
    """rq's default Worker forks a work horse per job, and with_scheduler builds a
    client of the connection's own class from ``connection_pool=ConnectionPool(
    **connection_kwargs)``: that keyword was refused, so the scheduler never started."""
    rq = pytest.importorskip("rq")
    queue = rq.Queue("forked", connection=client)
    squares = [queue.enqueue("operator.mul", i, i) for i in range(4)]
    failing = queue.enqueue("json.loads", "{x", retry=rq.Retry(max=1))
    later = queue.enqueue_in(timedelta(seconds=1), "operator.add", 2, 3)
    worker = rq.Worker([queue], connection=client)
    worker.work(burst=True, with_scheduler=True)
    deadline = time.monotonic() + 20  # the scheduler moves `later` once it is due
    while later.get_status(refresh=True) != rq.job.JobStatus.FINISHED:
        assert time.monotonic() < deadline, later.get_status()
        time.sleep(0.5)
        rq.Worker([queue], connection=client).work(burst=True, with_scheduler=True)
    assert [job.return_value() for job in squares] == [0, 1, 4, 9]
    assert later.return_value() == 5
    failing.refresh()
    assert failing.get_status() == rq.job.JobStatus.FAILED
    assert failing.retries_left == 0 and queue.failed_job_registry.count == 1
    queue.delete(delete_jobs=True)


def test_connection_pool_keyword_reads_the_pools_settings(redis_url: str) -> None:
    """``connection_pool=`` takes redis-py's pools (and our clients' views) for their
    settings; the client builds its own pool from them."""
    redis = pytest.importorskip("redis")
    with RedisClient.from_url(redis_url) as plain:
        host, port = plain.config.host, plain.config.port
    pool = redis.ConnectionPool(host=host, port=port, db=3, max_connections=7, socket_timeout=2)
    with RedisClient(connection_pool=pool) as c:
        assert (c.config.db, c.config.max_connections, c.config.socket_timeout) == (3, 7, 2)
        c.set("pooled", 1)
        assert c.info("keyspace").get("db3", {}).get("keys") == 1
        c.flushdb()
        with RedisClient(connection_pool=pool, db=4, socket_timeout=3) as explicit:
            assert (explicit.config.db, explicit.config.socket_timeout) == (4, 3)  # keywords win
        with RedisClient(connection_pool=c.connection_pool) as again:
            assert again.config.db == 3 and again.ping() is True
    with pytest.raises(pyredisclient.ConfigurationError, match="connection_kwargs"):
        RedisClient(connection_pool=object())
    blocking = redis.BlockingConnectionPool(host=host, port=port, max_connections=3, timeout=4)
    with RedisClient.from_pool(blocking) as b:  # redis-py's from_pool
        assert (b.config.max_connections, b.config.pool_timeout) == (3, 4.0)
        assert b.ping() is True
    unix = redis.ConnectionPool(connection_class=redis.UnixDomainSocketConnection, path="/x.sock")
    assert RedisClient(connection_pool=unix).config.unix_socket_path == "/x.sock"

    async def main() -> Any:
        apool = redis.asyncio.ConnectionPool(host=host, port=port, db=2)
        async with pyredisclient.AsyncRedisClient.from_pool(apool) as a:
            return a.config.db, await a.ping()

    assert asyncio.run(main()) == (2, True)


def test_connection_kwargs_carry_the_credentials_hidden(redis_client: RedisClient) -> None:
    """A client rebuilt from ``connection_pool.connection_kwargs`` (redis-py's or ours,
    as rq's scheduler does) logs in as the same user; the password shows nowhere."""
    redis = pytest.importorskip("redis")
    user, password = "pool-kwargs-user", "pool-kwargs-secret"
    redis_client.acl_setuser(
        user, enabled=True, passwords=[f"+{password}"], commands=["+@all"], keys=["*"]
    )
    try:
        host, port = redis_client.config.host, redis_client.config.port
        with RedisClient(host=host, port=port, username=user, password=password) as c:
            kwargs = c.connection_pool.connection_kwargs
            assert "password" not in kwargs and password not in repr(kwargs)
            assert password not in str(kwargs)
            with RedisClient(connection_pool=c.connection_pool) as ours:
                assert ours.acl_whoami() == user
            with warnings.catch_warnings():  # redis-py 8 deprecates retry_on_timeout
                warnings.simplefilter("ignore", DeprecationWarning)
                theirs = redis.Redis(**kwargs)
                pool = redis.ConnectionPool(**kwargs)
            assert theirs.acl_whoami() == user
            theirs.close()
            with RedisClient(connection_pool=pool) as rebuilt:
                assert rebuilt.acl_whoami() == user
    finally:
        redis_client.acl_deluser(user)


# -- django-redis, fastapi-cache2, pyrate-limiter --------------------------------------


def _configure_django(redis_url: str) -> None:
    """Django's settings, once per process: django-redis as "default", and Django's
    own Redis backend on RedisClient as "builtin" (db 2 of the same server)."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            CACHES={
                "default": {
                    "BACKEND": "django_redis.cache.RedisCache",
                    "LOCATION": redis_url,
                    "KEY_PREFIX": "dj",
                    "OPTIONS": {"REDIS_CLIENT_CLASS": "pyredisclient.RedisClient"},
                },
                "builtin": {
                    "BACKEND": "pyredisclient.integrations.django.RedisCache",
                    "LOCATION": [redis_url.rsplit("/", 1)[0] + "/2"],
                    "KEY_PREFIX": "bi",
                    "TIMEOUT": 60,
                },
            }
        )
        django.setup()


def test_django_redis_with_our_client_class(redis_url: str) -> None:
    """django-redis builds its client as ``REDIS_CLIENT_CLASS(connection_pool=pool)``
    from a redis-py pool: our client reads the pool's settings (it refused it before)."""
    pytest.importorskip("django_redis")
    _configure_django(redis_url)
    from django.core.cache import cache
    from django_redis import get_redis_connection

    assert isinstance(get_redis_connection("default"), RedisClient)
    cache.set("a", {"x": 1}, timeout=30)
    assert cache.get("a") == {"x": 1} and 0 < cache.ttl("a") <= 30
    assert cache.add("a", 2) is False and cache.add("n", 2) is True
    assert cache.incr("n") == 3
    assert cache.get_many(["a", "n", "missing"]) == {"a": {"x": 1}, "n": 3}
    cache.set_many({"m1": 1, "m2": [1, 2]})
    assert sorted(cache.keys("m*")) == ["m1", "m2"] and sorted(cache.iter_keys("m*")) == [
        "m1",
        "m2",
    ]
    assert cache.delete("m1") is True and cache.has_key("m1") is False
    assert cache.expire("a", 100) and 30 < cache.ttl("a") <= 100
    assert cache.persist("a") and cache.ttl("a") is None
    with cache.lock("job", timeout=5):
        assert get_redis_connection("default").exists("dj:1:job") == 1
    assert cache.delete_pattern("*") == 3 and cache.get("a") is None


def test_djangos_own_redis_cache_on_our_client(redis_url: str) -> None:
    """``pyredisclient.integrations.django.RedisCache`` is Django's built-in Redis
    backend with one RedisClient per server (Django would make a client per call)."""
    pytest.importorskip("django")
    _configure_django(redis_url)
    from django.core.cache import caches

    cache = caches["builtin"]
    client = cache._cache.get_client(write=True)
    assert isinstance(client, RedisClient) and cache._cache.get_client() is client
    assert client.connection_pool.connection_kwargs["db"] == 2
    cache.set("a", {"x": 1})
    assert cache.get("a") == {"x": 1} and 55 < client.ttl("bi:1:a") <= 60
    assert cache.add("a", 2) is False and cache.add("b", 2) is True
    assert cache.get_many(["a", "b", "c"]) == {"a": {"x": 1}, "b": 2}
    cache.set_many({"c": 3, "d": 4}, timeout=5)
    assert cache.incr("c") == 4 and cache.decr("c", 2) == 2
    assert cache.touch("a", 100) and 95 < client.ttl("bi:1:a") <= 100
    assert cache.delete("a") and cache.get("a", "gone") == "gone"
    assert len(cache.get("big", "x" * 100_000)) == 100_000
    cache.set("big", "y" * 100_000)
    assert cache.get("big") == "y" * 100_000
    assert client.pool_stats()["created"] == 1  # every call above on one connection
    cache.clear()
    assert client.dbsize() == 0


def test_pyrate_limiter_redis_bucket_sync_and_async(redis_url: str) -> None:
    limiter = pytest.importorskip("pyrate_limiter")
    rate = [limiter.Rate(3, limiter.Duration.SECOND * 10)]
    with RedisClient.from_url(redis_url) as r:
        sync = limiter.Limiter(limiter.RedisBucket.init(rate, r, "rl-sync"))
        assert [sync.try_acquire("x", blocking=False) for _ in range(5)] == [True] * 3 + [False] * 2
        assert r.zcard("rl-sync") == 3

    async def main() -> List[bool]:
        async with pyredisclient.AsyncRedisClient.from_url(redis_url) as a:
            bucket = await limiter.RedisBucket.init(rate, a, "rl-async")
            lim = limiter.Limiter(bucket)
            return [await lim.try_acquire_async("x", blocking=False) for _ in range(4)]

    assert asyncio.run(main()) == [True, True, True, False]


def test_dramatiq_broker_on_our_client(client: RedisClient) -> None:
    """dramatiq's RedisBroker(client=...): its dispatch script enqueues, fetches, acks,
    nacks, delays and requeues; a worker runs jobs, retries a failure and runs a
    delayed message once it is due."""
    dramatiq = pytest.importorskip("dramatiq")
    from dramatiq.brokers.redis import RedisBroker

    broker = RedisBroker(client=client, namespace="dq-test")
    done: List[Any] = []
    options = {"broker": broker, "max_retries": 1, "min_backoff": 10, "max_backoff": 50}

    @dramatiq.actor(**options)  # type: ignore[misc]
    def add(x: int, y: int) -> None:
        done.append(x + y)

    @dramatiq.actor(**options)  # type: ignore[misc]
    def flaky(tag: str) -> None:
        done.append(tag)
        if done.count(tag) == 1:
            raise ValueError("the first try fails")

    for i in range(20):
        add.send(i, 1)
    flaky.send("f")
    add.send_with_options(args=(100, 1), delay=300)
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (len(done) < 23):
            time.sleep(0.05)
    finally:
        worker.stop()
        broker.close()
    assert sorted(x for x in done if isinstance(x, int)) == sorted(
        [i + 1 for i in range(20)] + [101]
    )
    assert done.count("f") == 2  # failed once, retried once
    assert client.hlen("dq-test:default.msgs") == 0  # every message acked


def test_cachelib_redis_cache_on_our_client(client: RedisClient) -> None:
    """cachelib's RedisCache (Flask-Caching's) takes a redis-py compatible client as
    ``host``."""
    cachelib = pytest.importorskip("cachelib")
    cache = cachelib.RedisCache(host=client, key_prefix="cl:", default_timeout=30)
    assert cache.set("a", {"x": 1}) and cache.get("a") == {"x": 1}
    assert 25 < client.ttl("cl:a") <= 30
    assert cache.add("a", 2) is False and cache.add("b", 2) is True
    assert cache.get_many("a", "b", "missing") == [{"x": 1}, 2, None]
    assert cache.set_many({"c": 3, "d": 4}, timeout=5) == ["c", "d"]
    assert cache.inc("n") == 1 and cache.inc("n", 5) == 6 and cache.dec("n") == 5
    assert cache.has("c") and cache.delete("c") and not cache.has("c")
    assert cache.delete_many("a", "b") == ["a", "b"]
    assert cache.clear() and client.keys("cl:*") == []


def test_huey_storage_on_our_client(redis_url: str) -> None:
    """huey's RedisStorage builds ``redis_client(connection_pool=pool)`` from a
    redis-py ConnectionPool: a subclass naming RedisClient runs huey's queue
    (LPUSH/BRPOP), results, schedule (its Lua pop), revocations, locks and key-value
    store on ours. Tasks are run as huey's own tests run them, one dequeue at a time
    (its consumer would take over this process's signal handlers)."""
    huey_api = pytest.importorskip("huey")
    from huey.storage import RedisStorage

    class Storage(RedisStorage):  # type: ignore[misc]
        redis_client = RedisClient

    huey = huey_api.RedisHuey(
        f"h{time.monotonic_ns()}", storage_class=Storage, url=redis_url, read_timeout=0.2
    )
    assert isinstance(huey.storage.conn, RedisClient)

    @huey.task(retries=1)
    def add(a: int, b: int) -> int:
        return a + b

    @huey.task()
    def boom() -> None:
        raise ValueError("boom")

    def run_next() -> None:
        task = huey.dequeue()
        assert task is not None
        huey.execute(task)

    try:
        result = add(1, 2)
        assert huey.pending_count() == 1
        run_next()
        assert result.get() == 3 and huey.result_count() == 0  # read, so removed
        later = add.schedule((5, 6), delay=60)
        run_next()  # not due yet: it goes to the schedule (a sorted set)
        assert huey.scheduled_count() == 1 and later.get() is None
        due = huey.read_schedule(huey._get_timestamp() + timedelta(seconds=61))  # Lua pop
        assert [t.id for t in due] == [later.id] and huey.scheduled_count() == 0
        huey.execute(due[0], huey._get_timestamp() + timedelta(seconds=61))
        assert later.get() == 11
        failed = boom()
        run_next()
        with pytest.raises(huey_api.exceptions.TaskException, match="boom"):
            failed.get()
        revoked = add(0, 0)
        revoked.revoke()  # once: the revocation is used up when the task is skipped
        assert revoked.is_revoked()
        run_next()
        assert revoked.get() is None and not revoked.is_revoked()
        assert huey.dequeue() is None  # BRPOP timed out on the empty queue
        with huey.lock_task("only-one"):
            assert huey.is_locked("only-one")
            with pytest.raises(huey_api.exceptions.TaskLockedException):
                with huey.lock_task("only-one"):
                    pass
        assert not huey.is_locked("only-one")
        huey.put("k", {"a": 1})
        assert huey.get("k") == {"a": 1} and huey.get("k") is None  # read once
    finally:
        huey.flush()
        huey.storage.conn.close()


def test_pottery_on_our_client(client: RedisClient) -> None:
    """pottery's Redlock, dict, list, counter, cache decorator and Bloom filter, each
    handed a RedisClient (pipelines with WATCH/MULTI, Lua scripts, SETBIT/GETBIT)."""
    pottery = pytest.importorskip("pottery")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pottery.InefficientAccessWarning)
        lock = pottery.Redlock(key="pt:lock", masters={client}, auto_release_time=5)
        assert lock.acquire() and 0 < lock.locked() <= 5
        other = pottery.Redlock(key="pt:lock", masters={client}, auto_release_time=5)
        assert not other.acquire(blocking=False)
        lock.release()
        assert other.acquire(blocking=False)
        other.release()
        d = pottery.RedisDict({"a": 1}, redis=client, key="pt:d")
        d["b"] = [2, 3]
        assert dict(d) == {"a": 1, "b": [2, 3]} and len(d) == 2
        lst = pottery.RedisList([1, 2], redis=client, key="pt:l")
        lst.append(3)
        lst.insert(0, 0)
        assert list(lst) == [0, 1, 2, 3] and lst.pop() == 3
        counter = pottery.RedisCounter("abca", redis=client, key="pt:c")
        assert counter.most_common(1) == [("a", 2)]
        calls: List[int] = []

        @pottery.redis_cache(redis=client, key="pt:cache")
        def square(x: int) -> int:
            calls.append(x)
            return x * x

        assert square(3) == 9 and square(3) == 9 and calls == [3]
        bloom = pottery.BloomFilter(
            num_elements=100, false_positives=0.01, redis=client, key="pt:bf"
        )
        bloom.add("x")
        assert "x" in bloom and "y" not in bloom
    assert client.delete("pt:d", "pt:l", "pt:c", "pt:cache", "pt:bf") == 5
