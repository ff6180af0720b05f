"""The reliable work queue: at-least-once delivery, tested with a worker killed mid-job."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from pyredisclient import RedisClient
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.patterns import AsyncWorkQueue, Job, WorkQueue


def test_push_pop_ack(redis_client: RedisClient) -> None:
    queue = WorkQueue(redis_client, "q", visibility_timeout=30)
    ids = [queue.push(b"raw"), queue.push("text"), queue.push({"n": 1})]
    assert len(set(ids)) == 3
    assert queue.sizes() == {"pending": 3, "processing": 0}
    jobs = [queue.pop(timeout=1) for _ in range(3)]
    assert [j.data for j in jobs if j] == [b"raw", "text", {"n": 1}]  # FIFO
    assert [j.id for j in jobs if j] == ids
    assert queue.sizes() == {"pending": 0, "processing": 3}
    assert all(queue.ack(j) for j in jobs if j)
    assert queue.ack(jobs[0]) is False  # already done
    assert queue.sizes() == {"pending": 0, "processing": 0}
    assert redis_client.zcard("q:leases") == 0


def test_pop_times_out(redis_client: RedisClient) -> None:
    queue = WorkQueue(redis_client, "empty")
    started = time.monotonic()
    assert queue.pop(timeout=0.2) is None
    assert 0.15 < time.monotonic() - started < 2


def test_expired_lease_is_requeued_first(redis_client: RedisClient) -> None:
    queue = WorkQueue(redis_client, "vq", visibility_timeout=0.2)
    queue.push("a")
    queue.push("b")
    first = queue.pop(timeout=1)
    assert first is not None and first.data == "a"
    assert queue.requeue_expired() == 0  # still leased
    time.sleep(0.3)
    again = queue.pop(timeout=1)  # requeued at the head, before "b"
    assert again is not None and again.data == "a" and again.id == first.id
    assert queue.ack(first) is True  # the same job, whoever acks
    assert queue.ack(again) is False


def test_extend_keeps_the_lease(redis_client: RedisClient) -> None:
    queue = WorkQueue(redis_client, "xq", visibility_timeout=0.3)
    queue.push("long")
    job = queue.pop(timeout=1)
    assert job is not None
    for _ in range(3):  # 0.45 s of work, more than one visibility timeout
        time.sleep(0.15)
        assert queue.extend(job) is True
    assert queue.requeue_expired() == 0
    assert queue.ack(job)
    assert queue.extend(job) is False


def test_job_without_lease_gets_one(redis_client: RedisClient) -> None:
    """A worker that died between BLMOVE and the lease: its job is still recovered."""
    queue = WorkQueue(redis_client, "lq", visibility_timeout=0.2)
    queue.push("orphan")
    redis_client.execute_command("LMOVE", "lq:pending", "lq:processing", "RIGHT", "LEFT")
    assert queue.requeue_expired() == 0  # leased now
    assert redis_client.zcard("lq:leases") == 1
    time.sleep(0.3)
    assert queue.requeue_expired() == 1
    job = queue.pop(timeout=1)
    assert job is not None and job.data == "orphan"


def test_key_prefix(redis_client: RedisClient) -> None:
    queue = WorkQueue(redis_client.with_prefix("tenant:"), "jobs", visibility_timeout=0.1)
    queue.push("x")
    job = queue.pop(timeout=1)
    assert redis_client.llen("tenant:jobs:processing") == 1
    assert redis_client.zcard("tenant:jobs:leases") == 1
    assert job is not None and queue.ack(job)
    assert redis_client.exists("jobs:processing", "jobs:pending") == 0


def test_async(async_redis_client: AsyncRedisClient) -> None:
    async def main() -> None:
        queue = AsyncWorkQueue(async_redis_client, "aq", visibility_timeout=0.2)
        await queue.push({"a": 1})
        job = await queue.pop(timeout=1)
        assert job is not None and job.data == {"a": 1}
        assert await queue.extend(job)
        await asyncio.sleep(0.3)
        assert await queue.requeue_expired() == 1
        assert await queue.sizes() == {"pending": 1, "processing": 0}
        again = await queue.pop(timeout=1)
        assert again is not None and await queue.ack(again)
        assert await queue.pop(timeout=0.1) is None

    asyncio.run(main())


def test_arguments() -> None:
    with pytest.raises(ValueError):
        WorkQueue(None, "q", visibility_timeout=0)
    assert repr(WorkQueue(None, "q", visibility_timeout=2)) == "<WorkQueue 'q' visibility 2s>"
    assert Job("i", b"d", b"i:bd") == Job("i", b"d", b"i:bd")


WORKER = textwrap.dedent(
    """
    import sys, time
    from pyredisclient import RedisClient
    from pyredisclient.patterns import WorkQueue

    client = RedisClient.from_url(sys.argv[1])
    job = WorkQueue(client, "killq", visibility_timeout=1.0).pop(timeout=10)
    print(job.id if job else "none", flush=True)
    time.sleep(60)  # "working": killed before it can ack
    """
)


def test_worker_killed_mid_job_is_redelivered(redis_client: RedisClient, redis_url: str) -> None:
    queue = WorkQueue(redis_client, "killq", visibility_timeout=1.0)
    job_id = queue.push({"task": "resize", "image": 7})
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, redis_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert worker.stdout is not None
        ready, _, _ = select.select([worker.stdout], [], [], 20)
        assert ready, "the worker did not take the job within 20 s"
        assert worker.stdout.readline().strip() == job_id
        assert queue.sizes() == {"pending": 0, "processing": 1}
    finally:
        os.kill(worker.pid, signal.SIGKILL)  # dies mid-job, without ack
        worker.wait(timeout=10)
        if worker.stdout is not None:
            worker.stdout.close()
    assert queue.pop(timeout=0.1) is None  # its lease has not expired yet
    started = time.monotonic()
    job = None
    while job is None and time.monotonic() - started < 5:  # bounded: 5 s
        job = queue.pop(timeout=0.2)
    assert job is not None, "the dead worker's job was never redelivered"
    assert job.id == job_id and job.data == {"task": "resize", "image": 7}
    assert queue.ack(job)
    assert queue.sizes() == {"pending": 0, "processing": 0}
