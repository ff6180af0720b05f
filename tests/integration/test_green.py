"""gevent and eventlet: this client waits in C, so a call blocks the hub.

With real gevent in a subprocess (monkey-patching the pytest process would change
every test after it): the one warning a blocking client logs there, a BLPOP that
holds up every other greenlet for its whole timeout, and the README's way out
(the call run in gevent's thread pool) that keeps them running. The detection of
eventlet, and the warning's once-per-process, with stand-in modules.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import types
from typing import Any, Iterator

import pytest

from pyredisclient import AsyncRedisClusterClient, RedisClient, RedisClusterClient
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.client import green

CHILD = r"""
from gevent import monkey

monkey.patch_all()
import json, logging, sys, time

import gevent

heard = []


class Keep(logging.Handler):
    def emit(self, record):
        heard.append(record.getMessage())


logging.getLogger("pyredisclient").addHandler(Keep())
from pyredisclient import RedisClient

client = RedisClient.from_url(sys.argv[1])
RedisClient.from_url(sys.argv[1]).close()  # a second client: no second warning


def longest_gap(call):
    # The longest pause between the ticks of a greenlet that ticks every 20 ms
    # while this one makes ``call``.
    ticks = []

    def ticker():
        start = time.monotonic()
        while time.monotonic() - start < 0.6:
            gevent.sleep(0.02)
            ticks.append(time.monotonic())

    other = gevent.spawn(ticker)
    gevent.sleep(0.05)
    call()
    other.join()
    return max(b - a for a, b in zip(ticks, ticks[1:]))


pool = gevent.get_hub().threadpool
plain = longest_gap(lambda: client.blpop(["green:none"], timeout=0.3))
offloaded = longest_gap(lambda: pool.apply(client.blpop, (["green:none"],), {"timeout": 0.3}))
print(json.dumps({
    "warnings": heard, "plain": plain, "offloaded": offloaded,
    "ping": pool.apply(client.ping), "rpush": pool.apply(client.rpush, ("green:l", "v")),
    "blpop": [x.decode() for x in pool.apply(client.blpop, (["green:l"],), {"timeout": 1})],
}))
"""


def test_under_gevent_a_call_blocks_the_hub_unless_offloaded(redis_url: str) -> None:
    pytest.importorskip("gevent")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, redis_url], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert len(report["warnings"]) == 1, report["warnings"]
    assert report["warnings"][0].startswith("gevent has patched sockets, but pyredisclient")
    assert report["plain"] >= 0.25  # the BLPOP's 0.3 s held up the other greenlet
    assert report["offloaded"] < 0.2  # in the thread pool, it did not
    assert report["ping"] is True and report["rpush"] == 1
    assert report["blpop"] == ["green:l", "v"]


@pytest.fixture
def fresh_warning(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(green, "_warned", green.threading.Event())
    yield


def _stand_in(monkeypatch: pytest.MonkeyPatch, name: str, attr: str, patched: bool) -> None:
    module: Any = types.ModuleType(name)
    setattr(module, attr, lambda which: patched and which == "socket")
    monkeypatch.setitem(sys.modules, name, module)


@pytest.mark.parametrize(
    "name, attr, library",
    [
        ("gevent.monkey", "is_module_patched", "gevent"),
        ("eventlet.patcher", "is_monkey_patched", "eventlet"),
    ],
)
def test_the_warning_is_logged_once_for_blocking_clients(
    fresh_warning: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    name: str,
    attr: str,
    library: str,
) -> None:
    monkeypatch.delitem(sys.modules, "gevent.monkey", raising=False)
    caplog.set_level(logging.WARNING, logger="pyredisclient")
    _stand_in(monkeypatch, name, attr, patched=True)
    AsyncRedisClient(port=1)  # its waits are the event loop's: no warning
    AsyncRedisClusterClient("127.0.0.1", 1)
    assert caplog.records == []
    assert green.patched_by() == library
    RedisClusterClient("127.0.0.1", 1).close()  # a blocking cluster client warns
    RedisClient(port=1).close()  # and no one after it
    assert [r.getMessage().split(" ")[0] for r in caplog.records] == [library]
    record = caplog.records[0]
    assert "thread pool" in record.getMessage()
    assert (record.redis_event, record.redis_green) == ("green_threads", library)  # type: ignore[attr-defined]


def test_no_warning_when_nothing_is_patched(
    fresh_warning: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pyredisclient")
    _stand_in(monkeypatch, "gevent.monkey", "is_module_patched", patched=False)
    monkeypatch.delitem(sys.modules, "eventlet.patcher", raising=False)
    assert green.patched_by() is None
    RedisClient(port=1).close()
    assert caplog.records == []
