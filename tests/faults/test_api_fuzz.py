"""Every public method called with hostile arguments, against a real server.

A seeded random walk over the command methods of RedisClient and AsyncRedisClient,
each called with arguments drawn from values a caller could pass by mistake: None,
huge and negative numbers, NaN, lone surrogates, buffers, containers, objects whose
``__str__``/``__bytes__``/``__len__`` raise, a list that empties itself while read.
What it checks is the promise for bad input: a clear exception (RedisError, or the
TypeError/ValueError family Python itself raises for such values), never a crash, an
AttributeError or IndexError from inside a method, or a client out of step: every
200 calls a SET and GET of a token of its own must agree. Bounded in time (about 2 s
per client, on a server of its own). The calls that would stop or block the server, drop
connections or change the client (SHUTDOWN, FLUSHALL, CLIENT KILL, blocking pops,
close(), set_retry() ...) are left out.

The same walk goes over the subscriptions' methods (sync, asyncio, cluster), which
must still hear a message published after it.

Found by it, and fixed: enable_tracing() taking a string, COMMAND DOCS unreadable on
hiredis 0.14, execute_command() with no name under a response callback, mappings and
option words of the wrong type, asyncio and cluster subscriptions waiting forever on a
NaN or huge get_message() timeout.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from typing import Any, Callable, Dict, List, Tuple

import pytest

import pyredisclient
from pyredisclient import AsyncRedisClient, RedisClient, RedisClusterClient
from pyredisclient.integrations.testing import RedisServer
from pyredisclient.integrations.testing_topologies import RedisClusterServers

SECONDS = 2.0

# Left out: stop, block or reconfigure the server; drop connections; change or close
# the client; or run caller code (transaction(), register_script()).
SKIP = frozenset(
    """acl_deluser acl_load acl_log_reset acl_save acl_setuser aclose auth bgrewriteaof
    bgsave blmove blmpop blpop brpop brpoplpush bzmpop bzpopmax bzpopmin client client_kill
    client_kill_filter client_no_evict client_no_touch client_pause client_reply
    client_setinfo client_setname client_tracking client_unpause close cluster
    config_resetstat config_rewrite config_set debug_object debug_segfault debug_sleep
    disconnect enable_tracing eval eval_ro evalsha evalsha_ro failover fcall fcall_ro
    flushall flushdb from_pool from_url function_delete function_flush function_kill
    function_load function_restore get_client hello hscan_iter hscan_no_values_iter
    initialize lastsave latency_reset lock memory_purge migrate module_load
    module_loadex module_unload monitor move object pipeline psync pubsub quit readonly
    readwrite register_script replicaof reset restore save scan_iter script_debug
    script_flush script_kill select sentinel set_response_callback set_retry shutdown
    slaveof slowlog_reset sscan_iter swapdb sync transaction wait waitaof xread
    xreadgroup zscan_iter""".split()
)

# What bad input may raise: our errors (DataError is also a TypeError), and the
# TypeError, ValueError and OverflowError Python raises for such values (int(inf));
# RuntimeError only from the hostile objects below.
ALLOWED = (
    pyredisclient.RedisError,
    pyredisclient.ConfigurationError,
    TypeError,
    ValueError,
    OverflowError,
)


class Hostile:
    """Every conversion raises."""

    def _raise(self, *args: Any) -> Any:
        raise RuntimeError("hostile value")

    __str__ = __bytes__ = __int__ = __float__ = __index__ = __len__ = __iter__ = _raise


class Draining(list):  # type: ignore[type-arg]
    """A list that empties itself when iterated."""

    def __iter__(self) -> Any:
        self.clear()
        return iter([])


def _atoms() -> List[Any]:
    return [
        None, True, 0, -1, 2**63, -(2**63) - 1, 2**200, 1.5, float("nan"), float("inf"),
        "", "k", "x" * 70_000, "\udcff", "ü", b"", b"\x00\xff", bytearray(b"ba"),
        memoryview(b"mv"), memoryview(b"abcdef")[::2], object(), Hostile(), [], {}, set(),
        (), ["a", 1], {"a": 1}, {"a": None}, [[1]], Draining([1, 2]), Ellipsis,
        "fz:key", b"fz:key", 10**6, "NX", "GT", "EX", 5,
    ]  # fmt: skip


def _call_args(rng: random.Random, atoms: List[Any], fn: Any) -> Tuple[List[Any], Dict[str, Any]]:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return [], {}
    args: List[Any] = []
    kwargs: Dict[str, Any] = {}
    for p in params:
        if p.kind == p.VAR_POSITIONAL:
            args += [rng.choice(atoms) for _ in range(rng.randint(0, 4))]
        elif p.kind == p.VAR_KEYWORD:
            if rng.random() < 0.3:
                kwargs[rng.choice(["foo", "ex", "count"])] = rng.choice(atoms)
        elif p.default is p.empty or rng.random() < 0.5:
            if p.kind == p.KEYWORD_ONLY:
                kwargs[p.name] = rng.choice(atoms)
            else:
                args.append(rng.choice(atoms))
        elif p.kind == p.KEYWORD_ONLY or rng.random() < 0.5:
            kwargs[p.name] = rng.choice(atoms)
        else:
            break
    return args, kwargs


# The cluster client's own: those that reshape the cluster or its client are left out
# (CLUSTER SETSLOT, RESET, FAILOVER ... would leave slots migrating for the others).
CLUSTER_READS = frozenset(
    "cluster_info cluster_nodes cluster_slots cluster_shards cluster_keyslot "
    "cluster_countkeysinslot cluster_get_keys_in_slot cluster_myid cluster_links".split()
)
CLUSTER_SKIP = frozenset(
    "set_default_node replace_default_node disconnect_connection_pools".split()
)


def _methods(client: Any) -> List[str]:
    return sorted(
        n
        for n in dir(client)
        if not n.startswith("_")
        and n not in SKIP
        and n not in CLUSTER_SKIP
        and (not n.startswith("cluster_") or n in CLUSTER_READS)
        and callable(getattr(client, n, None))
    )


def _drain(result: Any) -> None:
    """A sync method's result; an iterator's first items read."""
    if inspect.isgenerator(result) or hasattr(result, "__next__"):
        for _ in zip(range(5), result):
            pass


def _outcome(
    name: str,
    call: Callable[[Any], Any],
    method: Any,
    args: List[Any],
    kwargs: Dict[str, Any],
    unexpected: List[str],
) -> str:
    """``call(method(*args, **kwargs))``: "ok" or the name of what it raised, noting
    the unexpected."""
    try:
        call(method(*args, **kwargs))
        return "ok"
    except ALLOWED as exc:
        kind = type(exc).__name__
        if isinstance(exc, (pyredisclient.ConnectionError, pyredisclient.ProtocolError)):
            unexpected.append(f"{name}: {kind}: {exc}")
        return kind
    except RuntimeError as exc:
        if "hostile value" not in str(exc):
            unexpected.append(f"{name}: RuntimeError: {exc}")
        return "RuntimeError"
    except Exception as exc:  # an AttributeError, IndexError ... from inside
        unexpected.append(f"{name}: {type(exc).__name__}: {exc}")
        return type(exc).__name__


def _walk(
    client: Any, call: Callable[[Any], Any], check: Callable[[int], None], seed: int
) -> Dict[str, int]:
    rng = random.Random(seed)
    atoms = _atoms()
    names = _methods(client)
    assert len(names) > 200
    seen: Dict[str, int] = {}
    unexpected: List[str] = []
    n = 0
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline and n < 200_000:
        name = rng.choice(names)
        method = getattr(client, name)
        args, kwargs = _call_args(rng, atoms, method)
        kind = _outcome(name, call, method, args, kwargs, unexpected)
        seen[kind] = seen.get(kind, 0) + 1
        n += 1
        if n % 200 == 0:
            check(n)
    assert unexpected == [], unexpected[:10]
    assert seen.get("ok", 0) > 100 and seen.get("DataError", 0) > 100, seen
    return seen


PUBSUB_METHODS = (
    "subscribe psubscribe ssubscribe unsubscribe punsubscribe sunsubscribe ping "
    "get_message get_sharded_message"
).split()


def _pubsub_walk(
    ps: Any, value: Callable[[Any], Any], publish: Callable[[str], Any], seed: int
) -> Dict[str, int]:
    """The walk over a subscription's methods (``value`` gives a call's result,
    awaited on asyncio). Every 50 calls it must still hear: a channel of its own is
    subscribed, confirmed, published to and heard."""
    rng = random.Random(seed)
    atoms = _atoms()
    seen: Dict[str, int] = {}
    unexpected: List[str] = []

    def next_message(want: str, channel: bytes) -> None:
        end = time.monotonic() + 5
        while time.monotonic() < end:
            msg = value(ps.get_message(timeout=0.2))
            if msg is not None and msg["type"] == want and msg["channel"] == channel:
                return
        raise AssertionError(f"no {want} on {channel!r} after {seen}")

    n = 0
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        name = rng.choice(PUBSUB_METHODS)
        method = getattr(ps, name)
        args, kwargs = _call_args(rng, atoms, method)
        if name.startswith("get_"):  # never None: no limit
            kwargs["timeout"] = rng.choice([0, 0.001, -1, float("nan"), "1", 2**70])
        kind = _outcome(name, value, method, args, kwargs, unexpected)
        seen[kind] = seen.get(kind, 0) + 1
        n += 1
        if n % 50 == 0:
            channel = f"fz:ps:{n}"
            value(ps.subscribe(channel))
            next_message("subscribe", channel.encode())  # then a PUBLISH reaches it
            publish(channel)
            next_message("message", channel.encode())
            value(ps.unsubscribe(channel))
    assert unexpected == [], unexpected[:10]
    assert seen.get("ok", 0) > 100 and seen.get("ValueError", 0) > 10, seen
    return seen


@pytest.fixture
def redis_server(redis_server_factory: Callable[..., RedisServer]) -> RedisServer:
    return redis_server_factory()  # of its own: the walk writes keys anywhere


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_sync_client_methods_with_hostile_arguments(redis_server: RedisServer) -> None:
    client = RedisClient(host="127.0.0.1", port=redis_server.port, socket_timeout=5)
    probe = RedisClient(host="127.0.0.1", port=redis_server.port)

    def check(n: int) -> None:
        assert client.set("fz:check", f"v{n}") is True
        assert client.get("fz:check") == f"v{n}".encode()
        assert probe.ping() is True

    try:
        _walk(client, _drain, check, seed=1)
        assert client.circuit_breaker_state()["state"] == "closed"
    finally:
        client.close()
        probe.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("multiplex", [True, False])
def test_async_client_methods_with_hostile_arguments(
    redis_server: RedisServer, multiplex: bool
) -> None:
    loop = asyncio.new_event_loop()
    client = AsyncRedisClient(
        host="127.0.0.1", port=redis_server.port, socket_timeout=5, async_multiplex=multiplex
    )

    async def drain_async(it: Any) -> None:
        k = 0
        async for _ in it:
            k += 1
            if k > 5:
                break

    def run(result: Any) -> None:
        if inspect.isawaitable(result):
            result = loop.run_until_complete(asyncio.wait_for(result, 10))
        if hasattr(result, "__anext__"):
            loop.run_until_complete(drain_async(result))

    def check(n: int) -> None:
        assert loop.run_until_complete(client.set("fz:check", f"v{n}")) is True
        assert loop.run_until_complete(client.get("fz:check")) == f"v{n}".encode()

    try:
        _walk(client, run, check, seed=2 if multiplex else 3)
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_cluster_client_methods_with_hostile_arguments(
    redis_cluster_factory: Callable[..., RedisClusterServers],
) -> None:
    cluster = redis_cluster_factory()  # of its own: the walk writes keys anywhere
    host, port = cluster.addresses[0]
    client = RedisClusterClient(host, port, socket_timeout=5)

    def check(n: int) -> None:
        assert client.set("fz:check", f"v{n}") is True
        assert client.get("fz:check") == f"v{n}".encode()

    try:
        _walk(client, _drain, check, seed=4)
        moved = client.metrics()["cluster"]
        assert moved["moved"] == moved["ask"] == moved["tryagain"] == 0  # no slot moved
        with client.pubsub() as ps:
            _pubsub_walk(ps, lambda r: r, lambda ch: client.publish(ch, "m"), seed=7)
    finally:
        client.close()


@pytest.mark.parametrize("kind", ["sync", "asyncio"])
def test_pubsub_methods_with_hostile_arguments(redis_server: RedisServer, kind: str) -> None:
    publisher = RedisClient(host="127.0.0.1", port=redis_server.port)
    if kind == "sync":
        with RedisClient(host="127.0.0.1", port=redis_server.port) as c, c.pubsub() as ps:
            _pubsub_walk(ps, lambda r: r, lambda ch: publisher.publish(ch, "m"), seed=5)
        publisher.close()
        return
    loop = asyncio.new_event_loop()
    client = AsyncRedisClient(host="127.0.0.1", port=redis_server.port)

    def value(result: Any) -> Any:
        if inspect.isawaitable(result):
            return loop.run_until_complete(asyncio.wait_for(result, 10))
        return result

    try:
        ps = client.pubsub()
        _pubsub_walk(ps, value, lambda ch: publisher.publish(ch, "m"), seed=6)
        value(ps.aclose())
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()
        publisher.close()
