"""pytest plugin: real Redis servers and clients for tests.

Installed with the package and loaded by pytest through the ``pytest11``
entry point, so any project that depends on pyredisclient gets these
fixtures without a conftest:

``redis_server`` (session)
    A :class:`~pyredisclient.testing.RedisServer` on a free loopback port,
    started once per session (so once per pytest-xdist worker). Skips the
    test when ``redis-server`` is not installed. With ``--redis-url`` it is
    an :class:`ExternalRedisServer` instead, whose start/stop/pause skip.
``redis_url`` (session)
    The URL of that server.
``redis_client`` (function)
    ``pyredisclient.RedisClient.from_url(redis_url)`` on a database emptied
    with FLUSHDB, closed after the test.
``redis_server_factory`` (function)
    A callable that starts extra servers (same keyword arguments as
    RedisServer) and closes them all after the test: for tests that stop,
    pause or kill a server without disturbing the shared one.
``shared_client_reset`` (function)
    Resets the process-wide clients (``RedisClient.get_client()`` and the
    async one) before and after the test.
``redis_env`` (function)
    Points ``REDIS_URL`` at the test server and resets the shared clients,
    so code that calls ``get_client()`` talks to the test server.

Fault injection example::

    def test_hung_server(redis_server_factory):
        server = redis_server_factory()
        client = pyredisclient.RedisClient.from_url(server.url, socket_timeout=0.2)
        server.pause()        # accepts connections, never answers
        with pytest.raises(pyredisclient.TimeoutError):
            client.get("k")
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import urllib.parse
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Union

import pytest

from pyredisclient.testing import RedisServer, RedisServerError, redis_server_available

if TYPE_CHECKING:
    from pyredisclient import RedisClient

__all__ = ["ExternalRedisServer"]

logger = logging.getLogger("pyredisclient")

_SKIP_NO_SERVER = "redis-server not found on PATH (install redis-server or pass --redis-url)"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--redis-url``: run against an existing server instead."""
    group = parser.getgroup("pyredisclient")
    group.addoption(
        "--redis-url",
        action="store",
        default=None,
        metavar="URL",
        help="use this Redis server for the redis_server/redis_client fixtures "
        "instead of starting one (its database is flushed by redis_client; "
        "tests that stop or pause the server are skipped)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    """Say which server the fixtures will use."""
    url = config.getoption("--redis-url")
    if url:
        return f"redis: external server {ExternalRedisServer(url)!r}"
    exe = shutil.which("redis-server")
    if exe is None:
        return "redis: redis-server not found; tests that need a server will be skipped"
    try:
        version = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        version = "version unknown"
    return f"redis: {exe} ({version})"


class ExternalRedisServer:
    """A server given with ``--redis-url``: it can be used but not controlled.

    Has the addressing attributes of RedisServer (host, port, url,
    password); the methods that would stop, pause or restart it skip the
    calling test.
    """

    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("redis", "rediss", "unix"):
            raise pytest.UsageError(f"--redis-url: unsupported scheme in {url!r}")
        self._url = url
        self.scheme = parsed.scheme
        self.host = parsed.hostname or "127.0.0.1"
        self.password = urllib.parse.unquote(parsed.password) if parsed.password else None
        self.unix_socket_path = parsed.path if parsed.scheme == "unix" else None
        self.port: int = 0 if parsed.scheme == "unix" else (parsed.port or 6379)
        self.tls_port = self.port if parsed.scheme == "rediss" else None

    @property
    def url(self) -> str:
        """The URL given on the command line."""
        return self._url

    @property
    def is_running(self) -> bool:
        """Assumed True: the server is not ours to watch."""
        return True

    def _cannot(self, what: str) -> NoReturn:
        pytest.skip(f"cannot {what} an external server given with --redis-url")

    def start(self) -> NoReturn:
        """Skip: an external server cannot be started."""
        self._cannot("start")

    def stop(self) -> NoReturn:
        """Skip: an external server cannot be stopped."""
        self._cannot("stop")

    def restart(self) -> NoReturn:
        """Skip: an external server cannot be restarted."""
        self._cannot("restart")

    def pause(self) -> NoReturn:
        """Skip: an external server cannot be paused."""
        self._cannot("pause")

    def resume(self) -> NoReturn:
        """Skip: an external server cannot be resumed."""
        self._cannot("resume")

    def kill(self) -> NoReturn:
        """Skip: an external server cannot be killed."""
        self._cannot("kill")

    def close(self) -> None:
        """Nothing to do: the server is not ours."""

    def __repr__(self) -> str:
        safe = self._url
        if self.password:
            safe = safe.replace(urllib.parse.quote(self.password, safe=""), "***")
            safe = safe.replace(self.password, "***")
        return f"<ExternalRedisServer {safe}>"


AnyRedisServer = Union[RedisServer, ExternalRedisServer]


@pytest.fixture(scope="session")
def redis_server(request: pytest.FixtureRequest) -> Iterator[AnyRedisServer]:
    """The session's Redis server (one per xdist worker); skips if unavailable."""
    url = request.config.getoption("--redis-url")
    if url:
        yield ExternalRedisServer(url)
        return
    if not redis_server_available():
        pytest.skip(_SKIP_NO_SERVER)
    server = RedisServer()
    try:
        server.start()
    except RedisServerError:
        server.close()
        raise
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def redis_url(redis_server: AnyRedisServer) -> str:
    """URL of the session's Redis server, e.g. ``redis://127.0.0.1:41234/0``."""
    return redis_server.url


@pytest.fixture
def redis_client(redis_server: AnyRedisServer, redis_url: str) -> Iterator[RedisClient]:
    """A RedisClient on the session server's database, emptied before the test."""
    if isinstance(redis_server, RedisServer) and redis_server.is_paused:
        # A test paused the shared server and did not resume it.
        logger.warning("resuming the shared redis-server, left paused by an earlier test")
        redis_server.resume()
    import pyredisclient

    client = pyredisclient.RedisClient.from_url(redis_url)
    try:
        client.flushdb()
        yield client
    finally:
        client.close()


@pytest.fixture
def redis_server_factory() -> Iterator[Callable[..., RedisServer]]:
    """A callable starting extra RedisServer instances, all closed after the test.

    Keyword arguments are RedisServer's (password, extra_args, tls, ...).
    Pass ``start=False`` for a prepared but not yet started server.
    """
    if not redis_server_available():
        pytest.skip(_SKIP_NO_SERVER)
    servers: list[RedisServer] = []

    def make(*, start: bool = True, **kwargs: Any) -> RedisServer:
        server = RedisServer(**kwargs)
        servers.append(server)
        if start:
            server.start()
        return server

    try:
        yield make
    finally:
        errors: list[BaseException] = []
        for server in reversed(servers):
            try:
                server.close()
            except Exception as exc:  # close the others, then report
                errors.append(exc)
        if errors:
            raise errors[0]


def _reset_shared_clients() -> None:
    """Call ``_reset_shared()`` on the sync and async client classes, if any."""
    try:
        import pyredisclient
    except ImportError:
        return
    for name in ("RedisClient", "AsyncRedisClient"):
        reset = getattr(getattr(pyredisclient, name, None), "_reset_shared", None)
        if reset is not None:
            reset()


@pytest.fixture
def shared_client_reset() -> Iterator[None]:
    """Reset the process-wide (``get_client()``) clients before and after the test."""
    _reset_shared_clients()
    try:
        yield
    finally:
        _reset_shared_clients()


@pytest.fixture
def redis_env(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, shared_client_reset: None
) -> Iterator[str]:
    """Set ``REDIS_URL`` to the test server (and reset the shared clients); yield it."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    yield redis_url
