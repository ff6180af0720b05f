"""Helpers for pyredisclient's own test suite.

The Redis fixtures (redis_server, redis_url, redis_client,
redis_server_factory, shared_client_reset, redis_env) come from
pyredisclient.pytest_plugin, which pytest loads through the package's
``pytest11`` entry point once it is installed (``pip install -e .``, as
scripts/setup.sh does).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List

import pytest

from pyredisclient import RedisClient
from pyredisclient.config import env as config_env


def open_fds() -> int:
    """Count this process's open file descriptors (Linux: /proc/self/fd)."""
    try:
        # The listing itself holds one descriptor open while it runs.
        return len(os.listdir("/proc/self/fd")) - 1
    except FileNotFoundError:  # pragma: no cover - no procfs
        pytest.skip("needs /proc/self/fd")


@pytest.fixture(name="open_fds")
def open_fds_fixture() -> Callable[[], int]:
    """The open_fds() counter, for leak checks: compare before and after."""
    return open_fds


class ClientFactory:
    """Builds clients that are closed after the test: the suite's one client factory.

    ``make_client(port, **options)`` connects to 127.0.0.1:port, ``make_client(url,
    **options)`` to a URL, ``make_client(**options)`` to the factory's URL if it has one
    (the ``make`` fixture: the session server), else as the options say.
    :meth:`with_defaults` gives a factory with other default options (same cleanup).
    """

    def __init__(
        self,
        made: List[RedisClient],
        url: str | None = None,
        defaults: Dict[str, Any] | None = None,
    ) -> None:
        self._made = made
        self._url = url
        self._defaults = dict(defaults or {})

    def __call__(self, target: int | str | None = None, **options: Any) -> RedisClient:
        options = {**self._defaults, **options}
        target = self._url if target is None else target
        if isinstance(target, int):
            client = RedisClient(host="127.0.0.1", port=target, **options)
        elif target is None:
            client = RedisClient(**options)
        else:
            client = RedisClient.from_url(target, **options)
        self._made.append(client)
        return client

    def with_defaults(self, url: str | None = None, **defaults: Any) -> ClientFactory:
        """A factory with ``url`` and ``defaults`` (options still override them)."""
        return ClientFactory(self._made, url or self._url, {**self._defaults, **defaults})


@pytest.fixture
def make_client() -> Iterator[ClientFactory]:
    """The client factory (:class:`ClientFactory`); every client closed after the test."""
    made: List[RedisClient] = []
    yield ClientFactory(made)
    for client in made:
        client.close()


@pytest.fixture
def make(redis_url: str, redis_client: RedisClient, make_client: ClientFactory) -> ClientFactory:
    """Clients on the session server (its database flushed by redis_client)."""
    return make_client.with_defaults(url=redis_url)


@pytest.fixture
def r(redis_client: Any) -> Any:
    """The session client, its database flushed (the command tests' short name)."""
    return redis_client


@pytest.fixture
def rd(redis_client: Any, redis_url: str) -> Iterator[Any]:
    """A client with decode_responses=True on the same (flushed) database."""
    client = RedisClient.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def fresh_warnings() -> Iterator[None]:
    """Forget which "once per process" configuration warnings were given, before and
    after the test."""
    config_env._once_keys.clear()
    yield
    config_env._once_keys.clear()


@pytest.fixture
def tls_files(tmp_path: Path) -> Dict[str, str]:
    """A CA bundle, client certificate and key (contents are not read by the config)."""
    files = {}
    for name in ("ca.pem", "cert.pem", "key.pem"):
        path = tmp_path / name
        path.write_text("-----BEGIN CERTIFICATE-----\n")
        files[name] = str(path)
    return files


@pytest.fixture
def url(redis_url: str, redis_client: RedisClient) -> str:
    """The session server's URL, with its database flushed (redis_client does it)."""
    return redis_url
