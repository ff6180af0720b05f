"""Tests of pyredisclient.testing.RedisServer: start, stop, options, TLS.
test_pytest_plugin.py tests the pytest plugin.
"""

from __future__ import annotations

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
from server_helpers import (
    command,
    process_gone,
)

import pyredisclient.testing as testing
from pyredisclient.testing import RedisServer, RedisServerError, raw_ping, redis_server_available

pytestmark = pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")


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
