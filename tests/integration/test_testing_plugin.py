"""Tests of pyredisclient.testing.RedisServer and the pytest plugin.

Everything here talks to redis-server over raw sockets, so it passes
without the C extension: the test harness must work before the client does.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Union

import pytest

import pyredisclient.testing as testing
from pyredisclient import pytest_plugin
from pyredisclient.pytest_plugin import ExternalRedisServer
from pyredisclient.testing import RedisServer, RedisServerError, raw_ping, redis_server_available

pytestmark = pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")

Address = Union[tuple[str, int], str]


def _read_reply(f: Any) -> Any:
    """Parse one RESP2 reply from a binary file object (errors as RuntimeError)."""
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError(f"truncated reply: {line!r}")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest
    if kind == b"-":
        return RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        return None if n < 0 else f.read(n + 2)[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise ConnectionError(f"bad reply: {line!r}")


def command(address: Address, *args: Union[str, bytes], password: str | None = None) -> Any:
    """Run one command over a fresh raw connection and return the parsed reply."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(address)
        if password is not None:
            sock.sendall(testing._resp_command("AUTH", password))
        sock.sendall(testing._resp_command(*args))
        with sock.makefile("rb") as f:
            if password is not None:
                assert _read_reply(f) == b"OK"
            return _read_reply(f)


def process_gone(pid: int, timeout: float = 5.0) -> bool:
    """Wait until *pid* no longer exists (or is a zombie nobody reaped yet)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


@pytest.fixture
def server() -> Any:
    with RedisServer() as srv:
        yield srv


# -- RedisServer ------------------------------------------------------------


def test_start_answers_ping_on_tcp_and_unix_socket(server: RedisServer) -> None:
    assert server.is_running
    assert server.host == "127.0.0.1"
    assert raw_ping((server.host, server.port)) == b"+PONG"
    assert raw_ping(server.unix_socket_path) == b"+PONG"
    assert server.url == f"redis://127.0.0.1:{server.port}/0"
    assert server.plain_port == server.port
    assert server.tls_port is None
    assert oct(os.stat(server.unix_socket_path).st_mode & 0o777) == "0o700"


def test_server_is_throwaway_and_loopback_only(server: RedisServer) -> None:
    address = (server.host, server.port)
    assert command(address, "CONFIG", "GET", "save") == [b"save", b""]
    assert command(address, "CONFIG", "GET", "appendonly") == [b"appendonly", b"no"]
    assert command(address, "CONFIG", "GET", "bind")[1] == b"127.0.0.1"
    assert command(address, "CONFIG", "GET", "dir")[1].decode() == str(server.tmpdir)
    assert server.log_path.exists()
    assert str(server.tmpdir) in repr(server.log_path)
    assert "running" in repr(server)


def test_stop_kills_the_process_by_pid(server: RedisServer) -> None:
    pid = server.pid
    assert pid is not None
    server.stop()
    assert not server.is_running
    assert server.pid is None
    assert process_gone(pid)
    with pytest.raises(OSError):
        raw_ping((server.host, server.port), timeout=0.5)
    server.stop()  # a second stop does nothing


def test_restart_keeps_the_address_and_loses_the_data(server: RedisServer) -> None:
    address = (server.host, server.port)
    assert command(address, "SET", "k", "v") == b"OK"
    old_pid, old_port, old_sock = server.pid, server.port, server.unix_socket_path
    server.restart()
    assert server.pid != old_pid
    assert (server.port, server.unix_socket_path) == (old_port, old_sock)
    assert command(address, "GET", "k") is None
    assert raw_ping(server.unix_socket_path) == b"+PONG"


def test_pause_accepts_connections_but_never_answers(server: RedisServer) -> None:
    server.pause()
    assert server.is_paused and server.is_running
    with socket.create_connection((server.host, server.port), timeout=2) as sock:
        sock.settimeout(0.3)
        sock.sendall(testing._resp_command("PING"))
        with pytest.raises(socket.timeout):
            sock.recv(16)
        server.resume()
        assert not server.is_paused
        sock.settimeout(5)
        # The command sent while paused is answered once it runs again.
        assert sock.recv(16) == b"+PONG\r\n"


def test_kill_is_a_crash(server: RedisServer) -> None:
    pid = server.pid
    assert pid is not None
    server.kill()
    assert not server.is_running
    assert process_gone(pid)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((server.host, server.port), timeout=1).close()
    server.start()  # and it can come back on the same port
    assert raw_ping((server.host, server.port)) == b"+PONG"


def test_close_resumes_a_paused_server_and_removes_the_tmpdir() -> None:
    server = RedisServer().start()
    pid, tmpdir = server.pid, server.tmpdir
    assert pid is not None and tmpdir.is_dir()
    server.pause()
    started = time.monotonic()
    server.close()
    # SIGTERM was handled at once (not the SIGKILL fallback after 5 s).
    assert time.monotonic() - started < testing.STOP_TIMEOUT
    assert process_gone(pid)
    assert not tmpdir.exists()
    assert not server.is_running and not server.is_paused


def test_context_manager_starts_and_closes() -> None:
    with RedisServer() as server:
        pid, tmpdir = server.pid, server.tmpdir
        assert raw_ping((server.host, server.port)) == b"+PONG"
    assert pid is not None and process_gone(pid)
    assert not tmpdir.exists()


def test_pause_and_resume_need_a_running_server() -> None:
    server = RedisServer()
    try:
        with pytest.raises(RedisServerError):
            server.pause()
        with pytest.raises(RedisServerError):
            server.resume()
        with pytest.raises(RedisServerError):
            server.port  # noqa: B018 - the property raises before start
        assert server.pid is None and not server.is_running
    finally:
        server.close()


def test_start_twice_is_an_error(server: RedisServer) -> None:
    with pytest.raises(RedisServerError, match="already running"):
        server.start()


def test_password_is_required_and_in_the_url() -> None:
    password = "p@ss:w/rd"
    with RedisServer(password=password) as server:
        assert server.url == f"redis://:p%40ss%3Aw%2Frd@127.0.0.1:{server.port}/0"
        address = (server.host, server.port)
        assert raw_ping(address).startswith(b"-NOAUTH")
        assert raw_ping(address, password=password) == b"+PONG"
        assert raw_ping(address, password="wrong").startswith(b"-WRONGPASS")


def test_extra_args_reach_the_server() -> None:
    with RedisServer(extra_args=["--maxclients", "10", "--databases", "4"]) as server:
        address = (server.host, server.port)
        assert command(address, "CONFIG", "GET", "maxclients") == [b"maxclients", b"10"]
        assert command(address, "CONFIG", "GET", "databases") == [b"databases", b"4"]


def test_bad_config_raises_with_the_log() -> None:
    server = RedisServer(extra_args=["--no-such-directive", "1"])
    try:
        with pytest.raises(RedisServerError) as info:
            server.start()
        message = str(info.value)
        assert "exited with code" in message
        assert "no-such-directive" in message  # redis explains itself
        assert not server.is_running
    finally:
        server.close()


def test_startup_timeout_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # A server that never answers: PING always times out.
    def never(*args: Any, **kwargs: Any) -> bytes:
        raise TimeoutError("no reply")

    monkeypatch.setattr(testing, "raw_ping", never)
    server = RedisServer(startup_timeout=0.5)
    try:
        started = time.monotonic()
        with pytest.raises(RedisServerError, match="did not answer PING"):
            server.start()
        assert time.monotonic() - started < 5
        assert not server.is_running  # the half-started server was stopped
    finally:
        server.close()


def test_start_retries_when_the_port_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.bind(("127.0.0.1", 0))
    squatter.listen(1)
    taken = squatter.getsockname()[1]
    real = testing.find_free_port
    handed_out: list[int] = []

    def first_taken(host: str = "127.0.0.1") -> int:
        port = taken if not handed_out else real(host)
        handed_out.append(port)
        return port

    monkeypatch.setattr(testing, "find_free_port", first_taken)
    try:
        with RedisServer() as server:
            assert handed_out[0] == taken
            assert server.port != taken
            assert raw_ping((server.host, server.port)) == b"+PONG"
    finally:
        squatter.close()


def test_start_gives_up_after_bounded_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    squatter.bind(("127.0.0.1", 0))
    squatter.listen(1)
    taken = squatter.getsockname()[1]
    calls: list[int] = []

    def always_taken(host: str = "127.0.0.1") -> int:
        calls.append(taken)
        return taken

    monkeypatch.setattr(testing, "find_free_port", always_taken)
    server = RedisServer()
    try:
        with pytest.raises(RedisServerError, match="Address already in use"):
            server.start()
        assert len(calls) == testing.START_ATTEMPTS
    finally:
        server.close()
        squatter.close()


def test_missing_binary_is_a_clear_error(tmp_path: Path) -> None:
    server = RedisServer(executable=None)
    try:
        old_path = os.environ.get("PATH", "")
        os.environ["PATH"] = str(tmp_path)
        try:
            assert not redis_server_available()
            with pytest.raises(RedisServerError, match="not found"):
                server.start()
        finally:
            os.environ["PATH"] = old_path
    finally:
        server.close()


def test_ld_preload_is_not_passed_to_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LD_PRELOAD", "/nonexistent/libasan.so")
    with RedisServer() as server:
        environ = Path(f"/proc/{server.pid}/environ").read_bytes().split(b"\0")
        assert not any(entry.startswith(b"LD_PRELOAD=") for entry in environ)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_server_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import time
        from pyredisclient.testing import RedisServer
        server = RedisServer().start()
        print(server.pid, server.tmpdir, flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        assert line, "the child did not start a server"
        pid, tmpdir = int(line[0]), line[1]
        assert not process_gone(pid, timeout=0.1)
    finally:
        child.kill()
        child.wait(timeout=10)
        if child.stdout is not None:
            child.stdout.close()
    try:
        assert process_gone(pid), "redis-server outlived the process that started it"
    finally:
        if not process_gone(pid, timeout=0):
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(tmpdir, ignore_errors=True)


# -- TLS --------------------------------------------------------------------

needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not on PATH")


def _tls_context(server: RedisServer, client_cert: bool = True) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=server.ca_cert)
    if client_cert:
        ctx.load_cert_chain(server.client_cert, server.client_key)
    return ctx


@needs_openssl
def test_tls_only_server_with_client_certificates() -> None:
    with RedisServer(tls=True) as server:
        for path in (
            server.ca_cert,
            server.server_cert,
            server.server_key,
            server.client_cert,
            server.client_key,
        ):
            assert Path(path).is_file(), path
        assert oct(os.stat(server.client_key).st_mode & 0o777) == "0o600"
        assert server.tls_port is not None
        assert server.plain_port is None
        assert server.port == server.tls_port
        assert server.url == f"rediss://127.0.0.1:{server.tls_port}/0"
        # Hostname checking on: the certificate names 127.0.0.1 and localhost.
        assert raw_ping((server.host, server.tls_port), ssl_context=_tls_context(server)) == (
            b"+PONG"
        )
        assert raw_ping(("localhost", server.tls_port), ssl_context=_tls_context(server)) == (
            b"+PONG"
        )
        # tls-auth-clients yes (the default): no client certificate, no entry.
        with pytest.raises((ssl.SSLError, OSError)):
            raw_ping(
                (server.host, server.tls_port),
                ssl_context=_tls_context(server, client_cert=False),
            )
        # Plain RESP on the TLS port gets nowhere.
        with pytest.raises(OSError):
            raw_ping((server.host, server.tls_port), timeout=0.5)
        # The unix socket stays plain.
        assert raw_ping(server.unix_socket_path) == b"+PONG"


@needs_openssl
@pytest.mark.parametrize("auth", [False, "optional"])
def test_tls_without_client_certificates(auth: Union[bool, str]) -> None:
    with RedisServer(tls=True, tls_auth_clients=auth, tls_plain_port=True) as server:
        assert server.tls_port is not None and server.plain_port is not None
        assert server.port == server.plain_port
        assert server.url.startswith("redis://")
        ctx = _tls_context(server, client_cert=False)
        assert raw_ping((server.host, server.tls_port), ssl_context=ctx) == b"+PONG"
        assert raw_ping((server.host, server.plain_port)) == b"+PONG"
        expected = b"no" if auth is False else b"optional"
        reply = command((server.host, server.plain_port), "CONFIG", "GET", "tls-auth-clients")
        assert reply == [b"tls-auth-clients", expected]


@needs_openssl
def test_tls_certificates_survive_restart() -> None:
    with RedisServer(tls=True) as server:
        ca = Path(server.ca_cert).read_bytes()
        port = server.tls_port
        server.restart()
        assert Path(server.ca_cert).read_bytes() == ca
        assert server.tls_port == port
        assert raw_ping((server.host, port), ssl_context=_tls_context(server)) == b"+PONG"


@needs_openssl
@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli not on PATH")
def test_redis_cli_can_ping_over_tls() -> None:
    with RedisServer(tls=True) as server:
        argv = ["redis-cli", "--tls", "--cacert", server.ca_cert]
        argv += ["--cert", server.client_cert, "--key", server.client_key]
        argv += ["-h", server.host, "-p", str(server.tls_port), "PING"]
        result = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if "TLS" in result.stderr and "not supported" in result.stderr:
            pytest.skip("redis-cli built without TLS")
        assert result.stdout.strip() == "PONG", result.stderr


def test_bad_tls_auth_clients_value() -> None:
    with pytest.raises(ValueError):
        RedisServer(tls=True, tls_auth_clients="sometimes")


# -- the pytest plugin ------------------------------------------------------


def _plugin_installed() -> bool:
    found = importlib.metadata.entry_points()
    if hasattr(found, "select"):
        entry_points = found.select(group="pytest11")
    else:  # Python 3.9: a dict of groups
        entry_points = found.get("pytest11", [])
    return any(ep.value == "pyredisclient.pytest_plugin" for ep in entry_points)


def _run_pytest(
    tmp_path: Path, source: str, *args: str, ini: str = "", conftest: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run an inner pytest session on *source* in a subprocess."""
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(source))
    (tmp_path / "pytest.ini").write_text("[pytest]\n" + textwrap.dedent(ini))
    if conftest:
        (tmp_path / "conftest.py").write_text(textwrap.dedent(conftest))
    plugin = [] if _plugin_installed() else ["-p", "pyredisclient.pytest_plugin"]
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "error", *plugin]
    return subprocess.run(
        [*argv, "-rs", *args, "test_inner.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_plugin_fixtures_start_and_clean_up_servers(tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    result = _run_pytest(
        tmp_path,
        f"""
        from pyredisclient.testing import RedisServer, raw_ping

        def test_fixtures(redis_server, redis_url, redis_server_factory):
            assert isinstance(redis_server, RedisServer)
            assert redis_url == redis_server.url
            assert raw_ping((redis_server.host, redis_server.port)) == b"+PONG"
            extra = redis_server_factory(password="pw")
            idle = redis_server_factory(start=False)
            assert not idle.is_running
            assert extra.port != redis_server.port
            extra.pause()  # left paused on purpose: teardown must cope
            with open({str(record)!r}, "w") as f:
                f.write(f"{{redis_server.pid}} {{redis_server.tmpdir}} ")
                f.write(f"{{extra.pid}} {{extra.tmpdir}}")

        def test_same_session_server(redis_server):
            with open({str(record)!r}) as f:
                assert int(f.read().split()[0]) == redis_server.pid
        """,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert "redis: " in result.stdout  # the report header names the server
    session_pid, session_dir, extra_pid, extra_dir = record.read_text().split()
    assert process_gone(int(session_pid))
    assert process_gone(int(extra_pid))
    assert not Path(session_dir).exists()
    assert not Path(extra_dir).exists()


def test_plugin_with_external_redis_url(tmp_path: Path, server: RedisServer) -> None:
    result = _run_pytest(
        tmp_path,
        f"""
        import pytest

        def test_url(redis_server, redis_url):
            assert redis_url == {server.url!r}
            assert redis_server.port == {server.port}
            assert redis_server.host == "127.0.0.1"

        def test_cannot_stop(redis_server):
            redis_server.stop()

        def test_cannot_pause(redis_server):
            redis_server.pause()
        """,
        "--pyredisclient-url",
        server.url,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 2 skipped" in result.stdout
    assert "external server" in result.stdout
    assert server.is_running  # stop() was refused


class _Recorder:
    """Stands in for pytest's parser: records the option and ini names added."""

    def __init__(self) -> None:
        self.options: list[str] = []
        self.inis: list[str] = []

    def getgroup(self, name: str) -> _Recorder:
        return self

    def addoption(self, *names: str, **kwargs: Any) -> None:
        self.options += names

    def addini(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.inis.append(name)


def test_every_option_and_ini_value_is_namespaced() -> None:
    recorder = _Recorder()
    pytest_plugin.pytest_addoption(recorder)  # type: ignore[arg-type]
    assert recorder.options and recorder.inis
    assert all(name.startswith("--pyredisclient-") for name in recorder.options)
    assert all(name.startswith("pyredisclient_") for name in recorder.inis)


def test_plugin_loads_next_to_a_conftest_that_defines_redis_url(
    tmp_path: Path, server: RedisServer
) -> None:
    # What redis-py's own suite (and many projects) have in their conftest.py.
    conftest = """
        import pytest

        def pytest_addoption(parser):
            parser.addoption("--redis-url", default="redis://localhost:6379/9",
                             help="the project's own server")
            parser.addini("redis_url", "the project's own server", default=None)

        @pytest.fixture
        def project_url(request):
            return request.config.getoption("--redis-url")
        """
    source = f"""
        def test_both(project_url, redis_url):
            assert project_url == "redis://127.0.0.1:1/5"
            assert redis_url == {server.url!r}
        """
    result = _run_pytest(
        tmp_path,
        source,
        "--redis-url",
        "redis://127.0.0.1:1/5",
        "--pyredisclient-url",
        server.url,
        conftest=conftest,
        ini="redis_url = redis://ignored\n",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


_ISOLATED_TESTS = """
    import asyncio

    import pytest

    from pyredisclient import KeyPrefixError

    def test_writes_under_its_own_prefix(redis_client, redis_key_prefix):
        assert redis_key_prefix.startswith("pytest:")
        assert redis_client.get("user:kept") is None  # the user's key is out of sight
        redis_client.set("a", 1)
        redis_client.mset({"b": 2, "c": 3})
        assert sorted(redis_client.keys("*")) == [b"a", b"b", b"c"]
        with pytest.raises(KeyPrefixError, match="FLUSHDB"):
            redis_client.flushdb()

    def test_the_next_test_starts_empty(redis_client):
        assert redis_client.keys("*") == []
        redis_client.set("a", "again")

    @pytest.mark.anyio
    async def test_async_under_anyio(async_redis_client):
        await async_redis_client.set("async", 1)
        assert await async_redis_client.get("user:kept") is None

    def test_get_client_under_redis_env(redis_env):
        from pyredisclient import RedisClient

        RedisClient.get_client().set("shared", 1)
        assert RedisClient.get_client().get("user:kept") is None

    def test_async_under_asyncio_run(async_redis_client):
        asyncio.run(async_redis_client.set("run", 1))
        assert asyncio.run(async_redis_client.get("run")) == b"1"
    """


def test_an_external_server_keeps_the_users_data(tmp_path: Path, server: RedisServer) -> None:
    import pyredisclient

    with pyredisclient.RedisClient.from_url(server.url) as user:
        user.set("user:kept", "precious")
        user.hset("user:hash", mapping={"f": "v"})
        result = _run_pytest(tmp_path, _ISOLATED_TESTS, "--pyredisclient-url", server.url)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "5 passed" in result.stdout
        assert "each test confined to its own key prefix" in result.stdout
        # Nothing of the user's was touched, and nothing of the tests is left.
        assert user.get("user:kept") == b"precious"
        assert user.hgetall("user:hash") == {b"f": b"v"}
        assert sorted(user.keys("*")) == [b"user:hash", b"user:kept"]


def test_flushing_an_external_server_needs_the_opt_in(tmp_path: Path, server: RedisServer) -> None:
    import pyredisclient

    source = """
        def test_flushed(redis_client, redis_key_prefix):
            assert redis_key_prefix is None
            assert redis_client.keys("*") == []
            redis_client.set("from-the-test", 1)
        """
    with pyredisclient.RedisClient.from_url(server.url) as user:
        for args, ini in (
            (["--pyredisclient-url", server.url, "--pyredisclient-allow-flushdb"], ""),
            ([], f"pyredisclient_url = {server.url}\npyredisclient_allow_flushdb = true\n"),
        ):
            user.set("user:kept", "precious")
            result = _run_pytest(tmp_path, source, *args, ini=ini)
            assert result.returncode == 0, result.stdout + result.stderr
            assert "flushed before each test" in result.stdout
            assert user.get("user:kept") is None
            assert user.get("from-the-test") == b"1"


def test_plugin_skips_without_redis_server(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    # Only Python on PATH: no redis-server.
    os.symlink(sys.executable, bindir / "python")
    env = dict(os.environ, PATH=str(bindir))
    (tmp_path / "test_inner.py").write_text(
        "def test_needs_server(redis_url):\n    raise AssertionError('ran')\n"
        "def test_needs_factory(redis_server_factory):\n    raise AssertionError('ran')\n"
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    plugin = [] if _plugin_installed() else ["-p", "pyredisclient.pytest_plugin"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugin, "-rs", "test_inner.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 skipped" in result.stdout
    assert "redis-server not found" in result.stdout


def test_open_fds_counts_descriptors(open_fds: Any) -> None:
    before = open_fds()
    sock = socket.socket()
    try:
        assert open_fds() == before + 1
    finally:
        sock.close()
    assert open_fds() == before


# -- the plugin, in process ---------------------------------------------------


def test_external_server_parses_the_url() -> None:
    server = ExternalRedisServer("redis://:s%40cret@127.0.0.1:7000/1")
    assert (server.host, server.port, server.password) == ("127.0.0.1", 7000, "s@cret")
    assert server.url == "redis://:s%40cret@127.0.0.1:7000/1"
    assert server.tls_port is None and server.unix_socket_path is None
    assert server.is_running
    assert "s%40cret" not in repr(server) and "***" in repr(server)
    server.close()  # nothing to do, and no error

    tls = ExternalRedisServer("rediss://cache.internal/0")
    assert (tls.host, tls.port, tls.tls_port) == ("cache.internal", 6379, 6379)
    unix = ExternalRedisServer("unix:///run/redis.sock?db=2")
    assert unix.unix_socket_path == "/run/redis.sock"
    assert unix.port == 0
    with pytest.raises(pytest.UsageError):
        ExternalRedisServer("http://127.0.0.1:6379")
    # User info without ':' may well be the password: never shown.
    bare = ExternalRedisServer("redis://s3cret@127.0.0.1:7000/0")
    assert "s3cret" not in repr(bare) and "***" in repr(bare)
    with pytest.raises(pytest.UsageError) as info:
        ExternalRedisServer("http://:s3cret@127.0.0.1:6379")
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize("method", ["start", "stop", "restart", "pause", "resume", "kill"])
def test_external_server_cannot_be_controlled(method: str) -> None:
    server = ExternalRedisServer("redis://127.0.0.1:6379/0")
    with pytest.raises(pytest.skip.Exception, match="external server"):
        getattr(server, method)()


class _FakeConfig:
    def __init__(self, url: str | None, flush: bool | None = None) -> None:
        self.url = url
        self.flush = flush

    def getoption(self, name: str) -> Any:
        assert name in ("--pyredisclient-url", "--pyredisclient-allow-flushdb")
        return self.url if name == "--pyredisclient-url" else self.flush

    def getini(self, name: str) -> Any:
        assert name in ("pyredisclient_url", "pyredisclient_allow_flushdb")
        return None if name == "pyredisclient_url" else False


def test_report_header(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config: Any = _FakeConfig(None)
    assert "redis-server" in pytest_plugin.pytest_report_header(config)
    config = _FakeConfig("redis://:pw@10.1.2.3:6379/0")
    header = pytest_plugin.pytest_report_header(config)
    assert "external server" in header and "pw" not in header
    assert "own key prefix" in header
    header = pytest_plugin.pytest_report_header(_FakeConfig("redis://h/0", flush=True))  # type: ignore[arg-type]
    assert "flushed before each test" in header
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "not found" in pytest_plugin.pytest_report_header(_FakeConfig(None))  # type: ignore[arg-type]


def _needs_own_server(server: Any) -> None:
    if not isinstance(server, RedisServer):
        pytest.skip("the session server is external (--pyredisclient-url)")


def test_session_fixtures(redis_server: Any, redis_url: str) -> None:
    _needs_own_server(redis_server)
    assert redis_url == redis_server.url
    assert raw_ping((redis_server.host, redis_server.port)) == b"+PONG"


def test_server_factory_fixture(redis_server_factory: Any, redis_server: Any) -> None:
    first = redis_server_factory(password="pw")
    second = redis_server_factory(extra_args=["--maxclients", "5"])
    idle = redis_server_factory(start=False)
    assert first.is_running and second.is_running and not idle.is_running
    assert len({first.port, second.port, getattr(redis_server, "port", None)}) == 3
    assert raw_ping((first.host, first.port), password="pw") == b"+PONG"
    second.pause()  # teardown resumes and stops it


def test_shared_client_reset_calls_reset_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyredisclient

    calls: list[str] = []

    class FakeSync:
        @staticmethod
        def _reset_shared() -> None:
            calls.append("sync")

    class FakeAsync:
        @staticmethod
        def _reset_shared() -> None:
            calls.append("async")

    monkeypatch.setattr(pyredisclient, "RedisClient", FakeSync, raising=False)
    monkeypatch.setattr(pyredisclient, "AsyncRedisClient", FakeAsync, raising=False)
    pytest_plugin._reset_shared_clients()
    assert calls == ["sync", "async"]
    monkeypatch.setattr(pyredisclient, "AsyncRedisClient", object, raising=False)
    pytest_plugin._reset_shared_clients()  # a class without _reset_shared is fine
    assert calls == ["sync", "async", "sync"]


def test_redis_env_points_at_the_test_server(redis_env: str, redis_url: str) -> None:
    assert redis_env == redis_url
    assert os.environ["REDIS_URL"] == redis_url


def test_redis_client_fixture_resumes_a_paused_server(
    request: pytest.FixtureRequest, redis_server: Any
) -> None:
    import pyredisclient

    _needs_own_server(redis_server)
    if not hasattr(pyredisclient, "RedisClient"):
        pytest.skip("the C extension is not built")
    redis_server.pause()
    try:
        client = request.getfixturevalue("redis_client")
        assert not redis_server.is_paused
        assert client.ping() is True
    finally:
        if redis_server.is_paused:
            redis_server.resume()
