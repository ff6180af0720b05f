"""redis-py's constructor keywords: accepted when they make sense (translated to
our options), refused with why and what instead when they do not."""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import time
from typing import Any

import pytest

import pyredisclient
from pyredisclient import ConfigurationError, RedisClient, WatchError
from pyredisclient.client.aio import AsyncRedisClient
from pyredisclient.config.compat import REDIS_PY_KEYWORDS

redis = pytest.importorskip("redis")
from redis.backoff import ConstantBackoff, ExponentialBackoff  # noqa: E402
from redis.retry import Retry  # noqa: E402


def redis_py_defaults() -> dict[str, Any]:
    """Every keyword of redis.Redis() with its default (sentinels left out)."""
    out = {}
    for name, p in inspect.signature(redis.Redis.__init__).parameters.items():
        if name == "self" or type(p.default) is object:
            continue
        out[name] = p.default
    return out


@pytest.mark.parametrize("cls", [RedisClient, AsyncRedisClient])
def test_every_redis_py_keyword_with_its_default_is_accepted(cls: Any) -> None:
    client = cls(**redis_py_defaults())
    c = client.config
    assert (c.host, c.port, c.db, c.socket_timeout) == ("localhost", 6379, 0, 5.0)
    assert c.max_connections == 50  # redis-py's None (unbounded) keeps ours
    # redis-py's default Retry object, passed explicitly: its count is taken
    assert c.retry_attempts == redis_py_defaults()["retry"].get_retries()
    client._core.close()


def test_every_redis_py_keyword_is_ours_or_in_the_table() -> None:
    ours = set(inspect.signature(pyredisclient.RedisConfig).parameters)
    theirs = set(redis_py_defaults()) | {"lib_name", "lib_version", "driver_info"}
    theirs |= {"socket_keepalive_options"}
    assert theirs - ours - {"max_connections"} <= set(REDIS_PY_KEYWORDS)


def test_protocol_2_works_and_3_is_refused(redis_url: str) -> None:
    with RedisClient.from_url(redis_url, protocol=2) as client:
        assert client.ping()
    with RedisClient.from_url(redis_url, protocol="2", lib_name="x", lib_version="1") as client:
        assert client.ping()
    with pytest.raises(ConfigurationError, match=r"RESP2.*protocol=2"):
        RedisClient(protocol=3)
    with pytest.raises(ConfigurationError, match="RESP2"):
        RedisClient.from_url(redis_url, protocol=3)


def test_single_connection_client(redis_url: str) -> None:
    with RedisClient.from_url(redis_url, single_connection_client=True) as client:
        for i in range(20):  # sequential calls: one connection, as in redis-py
            client.set("k", i)
            assert client.get("k") == str(i).encode()
        assert client.pool_stats()["created"] == 1
        # As in redis-py, a WATCHing pipeline has a connection of its own, so the
        # client's own calls go on meanwhile (a pool of one made them wait for
        # pool_timeout, then raise PoolTimeoutError).
        with client.pipeline() as pipe:
            pipe.watch("k")
            started = time.monotonic()
            client.set("k", "changed")
            assert time.monotonic() - started < 1.0
            pipe.multi()
            pipe.set("k", "mine")
            with pytest.raises(WatchError):
                pipe.execute()
        assert client.get("k") == b"changed"
    assert RedisClient(single_connection_client=True).config.max_connections == 50
    assert RedisClient(single_connection_client=True, max_connections=5).config.max_connections == 5


def test_retry_translates_to_our_options() -> None:
    c = RedisClient(retry=Retry(ExponentialBackoff(cap=0.5, base=0.01), 2)).config
    assert (c.retry_attempts, c.retry_base, c.retry_cap) == (2, 0.01, 0.5)
    c = RedisClient(retry=Retry(ConstantBackoff(0.1), 0)).config
    assert (c.retry_attempts, c.retry_base) == (0, 0.05)  # a constant backoff: ours
    with pytest.raises(ConfigurationError, match="without limit"):
        RedisClient(retry=Retry(ConstantBackoff(0.1), -1))
    with pytest.raises(ConfigurationError, match="retry_attempts="):
        RedisClient(retry=3)
    with pytest.raises(ConfigurationError, match="retry_attempts=1 is given too"):
        RedisClient(retry=Retry(ConstantBackoff(0.1), 2), retry_attempts=1)


def test_retry_on_error() -> None:
    c = RedisClient(retry_on_error=[redis.exceptions.TimeoutError, ConnectionError]).config
    assert c.retry_on_timeout is True
    assert (
        RedisClient(retry_on_error=[pyredisclient.ConnectionError]).config.retry_on_timeout is False
    )
    assert RedisClient(retry_on_error=[]).config.retry_on_timeout is False
    with pytest.raises(ConfigurationError, match=r"ResponseError is not supported.*never retried"):
        RedisClient(retry_on_error=[redis.exceptions.ResponseError])


@pytest.mark.parametrize(
    ("name", "value", "instead"),
    [
        ("connection_pool", object(), "max_connections="),
        ("ssl_ca_data", "-----BEGIN CERTIFICATE-----", "ssl_ca_certs"),
        ("ssl_password", "pw", "unencrypted ssl_keyfile"),
        ("ssl_min_version", 771, "TLS 1.2"),
        ("ssl_ciphers", "HIGH", "OpenSSL"),
        ("ssl_validate_ocsp", True, "OCSP"),
        ("cache", object(), "caching"),
        ("cache_config", object(), "caching"),
        ("redis_connect_func", print, "client_name="),
        ("socket_keepalive_options", {1: 2}, "TCP_KEEPIDLE"),
        ("socket_keepalive_options", [(4, 1)], "dict"),
        ("legacy_responses", False, "RESP2"),
        ("event_dispatcher", object(), "metrics()"),
        ("maint_notifications_config", object(), "RESP3"),
        ("metadata_resolver", object(), "drop it"),
    ],
)
@pytest.mark.parametrize("cls", [RedisClient, AsyncRedisClient])
def test_refused_with_why_and_instead(cls: Any, name: str, value: Any, instead: str) -> None:
    with pytest.raises(ConfigurationError, match=rf"{name}=.*not supported") as info:
        cls(**{name: value})
    assert instead in str(info.value)
    assert not isinstance(info.value, TypeError)


def test_ignored_labels_and_async_keyword() -> None:
    client = AsyncRedisClient(
        lib_name="app", lib_version="9", socket_read_size=1 << 20, auto_close_connection_pool=True
    )
    assert client.config.host is None
    asyncio.run(client.aclose())


def test_unknown_keyword_is_still_a_type_error() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'prot'"):
        RedisClient(prot=2)


def test_connection_pool_settings_are_translated_like_keywords() -> None:
    """A pool's redis-py keywords go through the same table as the constructor's
    (retry=, protocol=, refusals), an SSL connection class means ssl=True, redis-py's
    own bookkeeping in connection_kwargs is skipped, and an unbounded pool keeps our
    finite default."""

    class SSLConnection:  # named as redis-py's: only the name is read
        pass

    class Pool:
        def __init__(self, connection_class: Any = None, max_connections: Any = None, **kw: Any):
            self.connection_class, self.max_connections, self.connection_kwargs = (
                connection_class,
                max_connections,
                {"orig_host_address": "x", "maint_notifications_config": object(), **kw},
            )

    retry = Retry(ExponentialBackoff(cap=0.5, base=0.01), 4)
    c = RedisClient(connection_pool=Pool(host="h", port=7, retry=retry, protocol=2))
    assert (c.config.host, c.config.port, c.config.retry_attempts) == ("h", 7, 4)
    assert c.config.max_connections == RedisClient().config.max_connections
    assert RedisClient(connection_pool=Pool(max_connections=2**31)).config.max_connections == (
        RedisClient().config.max_connections
    )
    tls = RedisClient(connection_pool=Pool(SSLConnection, 3, host="h", ssl_cert_reqs="none"))
    assert tls.config.ssl is True and tls.config.max_connections == 3
    with pytest.raises(ConfigurationError, match="protocol=3"):
        RedisClient(connection_pool=Pool(protocol=3))


def _keepalive_of_connections_to(port: int) -> list[tuple[int, int, int, int]]:
    """(SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT) of each of this
    process's sockets connected to 127.0.0.1:port, read from the kernel."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            sock = socket.fromfd(int(name), socket.AF_INET, socket.SOCK_STREAM)
        except OSError:
            continue
        with sock:
            try:
                if sock.getpeername() != ("127.0.0.1", port):
                    continue
            except OSError:
                continue
            found.append(
                (
                    sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                    sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                    sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                    sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
                )
            )
    return found


def test_socket_keepalive_options_reach_the_socket(redis_server: Any) -> None:
    """redis-py's ``socket_keepalive_options`` (and our three options) set the
    keepalive timing of every connection, as the kernel reports it."""
    port = redis_server.port
    opts = {socket.TCP_KEEPIDLE: 17, socket.TCP_KEEPINTVL: 4, socket.TCP_KEEPCNT: 5}
    with RedisClient(host="127.0.0.1", port=port, socket_keepalive_options=opts) as client:
        assert client.config.socket_keepalive_idle == 17
        assert client.ping() is True
        assert _keepalive_of_connections_to(port) == [(1, 17, 4, 5)]
    with RedisClient(host="127.0.0.1", port=port) as client:  # the defaults
        assert client.ping() is True
        assert _keepalive_of_connections_to(port) == [(1, 60, 10, 3)]
    with RedisClient(host="127.0.0.1", port=port, socket_keepalive=False) as client:
        assert client.ping() is True
        assert [k[0] for k in _keepalive_of_connections_to(port)] == [0]
    with pytest.raises(ConfigurationError, match="socket_keepalive_idle"):
        RedisClient(socket_keepalive_options={socket.TCP_KEEPIDLE: 0})
