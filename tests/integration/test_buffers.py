"""Idle pooled connections keep no large buffers.

After large replies the connections go back to the pool; their reply buffers (the
core's and the binding's hiredis reader) must not stay at the size of the largest
reply they served. Measured as resident memory in a child process whose malloc
returns large blocks to the system as soon as they are freed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pyredisclient.testing import RedisServer

VALUE_MB = 24
CONNECTIONS = 4

CHILD = r"""
import json, sys
import pyredisclient

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

port, value_mb, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
r = pyredisclient.RedisClient(host="127.0.0.1", port=port, socket_timeout=30)
r.set("big", b"x" * (value_mb << 20))
r.ping()
before = rss_mb()
pipes = [r.pipeline() for _ in range(n)]
for p in pipes:
    p.watch("w")  # pins a connection of its own
values = []
for p in pipes:
    p.multi()
    p.get("big")
    values.append(p.execute()[0])  # EXEC ends the WATCH: the connection goes idle
    assert len(values[-1]) == value_mb << 20
peak = rss_mb()  # the values themselves: RSS follows what is allocated
del values
stats = r.pool_stats()
assert stats["idle"] == n and stats["created"] == n, stats
assert r.ping() is True
print(json.dumps({"before": before, "peak": peak, "after": rss_mb()}))
"""


def test_idle_connections_give_large_buffers_back(redis_server: RedisServer) -> None:
    if "asan" in os.environ.get("LD_PRELOAD", ""):
        pytest.skip("ASan's allocator keeps freed memory (quarantine): RSS says nothing")
    # A fixed mmap threshold: every block above 128 KiB is its own mapping,
    # unmapped on free, so RSS shows what is still allocated.
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(redis_server.port), str(VALUE_MB), str(CONNECTIONS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rss = json.loads(out.stdout)
    assert rss["peak"] - rss["before"] > 0.9 * VALUE_MB * CONNECTIONS, rss
    # Before: each idle connection kept the reply twice (the framed bytes and
    # the hiredis reader's copy), 4 x 2 x 24 MB.
    assert rss["after"] - rss["before"] < VALUE_MB / 2, rss
