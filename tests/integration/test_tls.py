"""TLS (csrc/core/tls.c) against real redis-server TLS ports.

Certificates come from pyredisclient.testing (a CA, a server certificate for localhost,
127.0.0.1 and ::1, and a client certificate); a second, unrelated CA is made here with the
openssl command. Every failure case checks two things: the error is a ConnectionError (or
TimeoutError) whose text says what went wrong, and it comes within the connect timeout
instead of hanging.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest

import pyredisclient
from pyredisclient import RedisClient
from pyredisclient.testing import RedisServer, redis_server_available

pytestmark = pytest.mark.skipif(
    not redis_server_available() or shutil.which("openssl") is None,
    reason="needs redis-server and the openssl command",
)

CONNECT_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def tls_server() -> Iterator[RedisServer]:
    """TLS-only server that does not ask for client certificates."""
    with RedisServer(tls=True, tls_auth_clients="no") as server:
        yield server


@pytest.fixture(scope="module")
def mtls_server() -> Iterator[RedisServer]:
    """TLS-only server that requires a client certificate (redis's default)."""
    with RedisServer(tls=True, tls_auth_clients="yes") as server:
        yield server


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A self-signed CA that signed nothing the servers present."""
    directory = tmp_path_factory.mktemp("other-ca")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(directory / "ca.key"), "-out", str(directory / "ca.crt"),
         "-subj", "/O=pyredisclient tests/CN=Unrelated CA", "-days", "2"],
        check=True, capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return str(directory / "ca.crt")


def client(server: RedisServer, **options: Any) -> RedisClient:
    options.setdefault("ssl", True)
    options.setdefault("ssl_ca_certs", server.ca_cert)
    options.setdefault("socket_connect_timeout", CONNECT_TIMEOUT)
    options.setdefault("socket_timeout", CONNECT_TIMEOUT)
    return RedisClient(host="127.0.0.1", port=server.tls_port, **options)


def failing(call: Callable[[], Any], *fragments: str, within: float) -> BaseException:
    """Run ``call``, expect a ConnectionError/TimeoutError naming ``fragments``, in time."""
    started = time.monotonic()
    with pytest.raises((pyredisclient.ConnectionError, pyredisclient.TimeoutError)) as info:
        call()
    elapsed = time.monotonic() - started
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    assert elapsed < within, f"took {elapsed:.2f} s: {message}"
    return info.value


# -- connecting -----------------------------------------------------------------------


def test_rediss_url_with_a_ca_file(tls_server: RedisServer) -> None:
    url = f"rediss://127.0.0.1:{tls_server.tls_port}/0"
    assert url == tls_server.url
    with RedisClient.from_url(url, ssl_ca_certs=tls_server.ca_cert) as c:
        assert c.config.ssl is True
        assert " tls" in repr(c)
        assert c.ping() is True
        assert c.set("tls:k", "v") is True
        assert c.get("tls:k") == b"v"


def test_rediss_url_with_options_in_the_query(tls_server: RedisServer) -> None:
    url = (
        f"rediss://127.0.0.1:{tls_server.tls_port}/0?ssl_ca_certs={tls_server.ca_cert}"
        "&ssl_cert_reqs=required"
    )
    with RedisClient.from_url(url) as c:
        assert c.config.ssl_ca_certs == tls_server.ca_cert
        assert c.ping() is True


def test_ssl_keywords(tls_server: RedisServer) -> None:
    with client(tls_server) as c:
        assert c.ping() is True
        assert c.echo("over tls") == b"over tls"


def test_ca_directory_instead_of_a_file(tls_server: RedisServer, tmp_path: Path) -> None:
    # OpenSSL looks certificates up in a directory by subject hash: <hash>.0
    digest = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", tls_server.ca_cert],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout.strip()  # fmt: skip
    shutil.copy(tls_server.ca_cert, tmp_path / f"{digest}.0")
    with client(tls_server, ssl_ca_certs=None, ssl_ca_path=str(tmp_path)) as c:
        assert c.ping() is True


def test_server_hostname_that_the_certificate_names(tls_server: RedisServer) -> None:
    with client(tls_server, ssl_server_hostname="localhost") as c:
        assert c.ping() is True


# -- verification failures -----------------------------------------------------------


def test_hostname_mismatch_is_a_clear_error_not_a_hang(tls_server: RedisServer) -> None:
    c = client(tls_server, ssl_server_hostname="wrong.example")
    try:
        failing(c.ping, "certificate verify failed", "hostname mismatch", within=CONNECT_TIMEOUT)
        # Every call fails the same way; none hangs.
        failing(lambda: c.get("k"), "certificate verify failed", within=CONNECT_TIMEOUT)
    finally:
        c.close()


def test_ip_address_mismatch_is_a_clear_error(tls_server: RedisServer) -> None:
    # An IP literal is checked against the certificate's IP SANs (127.0.0.1, ::1).
    with client(tls_server, ssl_server_hostname="127.0.0.2") as c:
        failing(c.ping, "certificate verify failed", "IP address mismatch", within=CONNECT_TIMEOUT)


def test_hostname_check_can_be_turned_off(tls_server: RedisServer) -> None:
    with client(tls_server, ssl_server_hostname="wrong.example", ssl_check_hostname=False) as c:
        assert c.ping() is True


def test_certificate_errors_keep_their_cause_on_every_call(tls_server: RedisServer) -> None:
    with client(tls_server, ssl_server_hostname="wrong.example") as c:
        for _ in range(8):
            failing(c.ping, "certificate verify failed", within=CONNECT_TIMEOUT)


def test_wrong_ca_is_a_clear_error_within_the_connect_timeout(
    tls_server: RedisServer, other_ca: str
) -> None:
    with client(tls_server, ssl_ca_certs=other_ca) as c:
        failing(c.ping, "certificate verify failed", within=CONNECT_TIMEOUT)


def test_system_ca_store_does_not_trust_the_test_ca(tls_server: RedisServer) -> None:
    with client(tls_server, ssl_ca_certs=None) as c:
        failing(c.ping, "certificate verify failed", within=CONNECT_TIMEOUT)


def test_cert_reqs_none_connects_without_a_ca_or_hostname_check(tls_server: RedisServer) -> None:
    with client(
        tls_server, ssl_ca_certs=None, ssl_cert_reqs="none", ssl_server_hostname="wrong.example"
    ) as c:
        assert c.config.effective_ssl_check_hostname is False
        assert c.ping() is True


def test_cert_reqs_optional_still_verifies_the_server(
    tls_server: RedisServer, other_ca: str
) -> None:
    # A server always presents a certificate, so "optional" verifies it (as Python's ssl
    # module does for client sockets).
    with client(tls_server, ssl_cert_reqs="optional") as c:
        assert c.ping() is True
    with client(tls_server, ssl_cert_reqs="optional", ssl_ca_certs=other_ca) as c:
        failing(c.ping, "certificate verify failed", within=CONNECT_TIMEOUT)


# -- client certificates --------------------------------------------------------------


def test_client_certificate_required_and_missing(mtls_server: RedisServer) -> None:
    with client(mtls_server) as c:
        failing(c.ping, within=CONNECT_TIMEOUT)
        failing(lambda: c.set("k", "v"), within=CONNECT_TIMEOUT)


def test_client_certificate_required_and_given(mtls_server: RedisServer) -> None:
    with client(
        mtls_server, ssl_certfile=mtls_server.client_cert, ssl_keyfile=mtls_server.client_key
    ) as c:
        assert c.set("mtls:k", "v") is True
        assert c.get("mtls:k") == b"v"
    url = f"rediss://127.0.0.1:{mtls_server.tls_port}/0"
    with RedisClient.from_url(
        url,
        ssl_ca_certs=mtls_server.ca_cert,
        ssl_certfile=mtls_server.client_cert,
        ssl_keyfile=mtls_server.client_key,
    ) as c:
        assert c.get("mtls:k") == b"v"


def test_client_key_that_does_not_match_the_certificate(mtls_server: RedisServer) -> None:
    started = time.monotonic()
    with pytest.raises(pyredisclient.ConnectionError, match="loading TLS client key"):
        client(
            mtls_server, ssl_certfile=mtls_server.client_cert, ssl_keyfile=mtls_server.server_key
        )
    assert time.monotonic() - started < 1.0


# -- traffic --------------------------------------------------------------------------


@pytest.fixture
def tls_client(tls_server: RedisServer) -> Iterator[RedisClient]:
    with client(tls_server) as c:
        c.flushdb()
        yield c


def test_large_values_over_tls(tls_client: RedisClient) -> None:
    for size in (1 << 20, 8 << 20):
        value = bytes(range(256)) * (size // 256)
        assert tls_client.set("big", value) is True
        assert tls_client.get("big") == value
        assert tls_client.strlen("big") == size
    assert tls_client.pool_stats()["created"] == 1


def test_pipelines_and_transactions_over_tls(tls_client: RedisClient) -> None:
    value = b"x" * 4096
    for transaction in (False, True):
        p = tls_client.pipeline(transaction=transaction)
        for i in range(300):
            p.set(f"k{i}", value + str(i).encode())
        p.mget([f"k{i}" for i in range(300)])
        result = p.execute()
        assert result[:300] == [True] * 300
        assert result[300] == [value + str(i).encode() for i in range(300)]
    p = tls_client.pipeline(transaction=False)
    p.set("big", b"y" * (1 << 20)).get("big").strlen("big")
    assert p.execute()[2] == 1 << 20


def test_sequential_calls_reuse_one_tls_connection(tls_client: RedisClient) -> None:
    for i in range(300):
        tls_client.set("n", i)
        assert tls_client.get("n") == str(i).encode()
    stats = tls_client.pool_stats()
    assert stats["created"] == 1
    assert stats["closed"] == 0
    assert stats["errors"] == 0


def test_threads_share_the_tls_pool(tls_client: RedisClient) -> None:
    errors: List[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(100):
                tls_client.set(f"t{n}", i)
                assert tls_client.get(f"t{n}") == str(i).encode()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    stats = tls_client.pool_stats()
    assert 1 <= stats["created"] <= 4 and stats["in_use"] == 0


# -- failures of the transport ----------------------------------------------------------


def test_reconnects_over_tls_after_a_server_restart(
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    server = redis_server_factory(tls=True, tls_auth_clients="no")
    with client(server) as c:
        assert c.ping() is True
        server.restart()  # same port, same certificates
        assert c.ping() is True
        stats = c.pool_stats()
        assert stats["created"] == 2


def test_tls_handshake_with_a_hung_server_times_out(
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    server = redis_server_factory(tls=True, tls_auth_clients="no")
    with client(server, socket_connect_timeout=0.5, socket_timeout=0.5) as c:
        server.pause()  # the kernel completes the TCP handshake; TLS gets no answer
        try:
            failing(c.ping, within=2.0)
        finally:
            server.resume()
        assert c.ping() is True


NOT_TLS_HINT = "a plain-text port? use redis:// or the TLS port"


def test_tls_client_on_a_plain_port_fails_fast_and_says_why(
    redis_server_factory: Callable[..., RedisServer],
) -> None:
    import asyncio

    from pyredisclient.aio import AsyncRedisClient

    # A plain redis-server reads the ClientHello as an inline command and waits for a
    # newline: the handshake gets no TLS reply at all.
    plain = redis_server_factory()
    url = f"rediss://127.0.0.1:{plain.port}/0?ssl_cert_reqs=none&socket_connect_timeout=0.5"
    expected = ("TLS handshake with 127.0.0.1 timed out: no TLS reply", NOT_TLS_HINT)
    with RedisClient.from_url(url, retry_attempts=0) as c:
        failing(c.ping, *expected, within=2.0)
    with RedisClient.from_url(url) as c:  # retried: the last attempt's reason
        failing(c.ping, *expected, within=5.0)
    aio = AsyncRedisClient.from_url(url, retry_attempts=0)
    try:
        failing(lambda: asyncio.run(aio.ping()), *expected, within=2.0)
    finally:
        aio._close_now()
    assert plain.is_running


@pytest.mark.parametrize(
    "reply", [b"-ERR unknown command '\\x16\\x03\\x01'\r\n", b"+OK\r\n", b"HTTP/1.1 400\r\n\r\n"]
)
def test_tls_client_answered_in_plain_text_says_the_reply_is_not_tls(reply: bytes) -> None:
    from fakeservers import FakeServer, Peer

    def answer(peer: Peer) -> None:
        peer.sock.settimeout(5)
        if peer.sock.recv(4096):  # the ClientHello
            peer.send(reply)
        peer.idle()

    with FakeServer(answer) as server:
        with RedisClient(
            port=server.port, ssl=True, ssl_cert_reqs="none", socket_connect_timeout=2.0
        ) as c:
            exc = failing(c.ping, "TLS handshake: the reply is not TLS", NOT_TLS_HINT, within=2.0)
    assert isinstance(exc, pyredisclient.ConnectionError)


def test_plain_client_on_a_tls_port_fails_fast(tls_server: RedisServer) -> None:
    with RedisClient(port=tls_server.tls_port, socket_connect_timeout=1.0, socket_timeout=1.0) as c:
        failing(c.ping, within=2.5)


# -- what goes on the wire: SNI ---------------------------------------------------------


class OneShotTLSServer:
    """A Python TLS server that records the SNI name of each handshake and answers
    every command with +PONG."""

    def __init__(self, certfile: str, keyfile: str) -> None:
        self.names: List[str | None] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        context.sni_callback = self._sni
        self.context = context
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _sni(self, conn: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        self.names.append(name)

    def _serve(self) -> None:
        try:
            raw, _ = self.sock.accept()
        except OSError:
            return
        raw.settimeout(5)
        try:
            with self.context.wrap_socket(raw, server_side=True) as conn:
                while conn.recv(65536):
                    conn.sendall(b"+PONG\r\n")
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)


@pytest.mark.parametrize(
    ("server_hostname", "expected"), [("localhost", "localhost"), (None, None)]
)
def test_sni_carries_the_host_name_but_never_an_ip(
    tls_server: RedisServer, server_hostname: str | None, expected: str | None
) -> None:
    fake = OneShotTLSServer(tls_server.server_cert, tls_server.server_key)
    try:
        with RedisClient(
            host="127.0.0.1",
            port=fake.port,
            ssl=True,
            ssl_ca_certs=tls_server.ca_cert,
            ssl_server_hostname=server_hostname,
            socket_connect_timeout=CONNECT_TIMEOUT,
            health_check_interval=0,
        ) as c:
            assert c.ping() is True
    finally:
        fake.close()
    assert fake.names == [expected]
