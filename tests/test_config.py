"""Unit tests of pyredisclient.config: validation, URL and environment readers, redaction.

No server is needed. The module is imported as pyredisclient.config directly, so these
tests do not depend on anything else in the package.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import math
import os
import pickle
import ssl
import traceback
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

from pyredisclient.config import ConfigurationError, RedisConfig, Secret, redact_url
from pyredisclient.config import env as config_env
from pyredisclient.config import options as config_options

PW = "s3cr3t-PASSWORD-xyz"


@pytest.fixture(autouse=True)
def fresh_warnings() -> Iterator[None]:
    """Forget which "once per process" warnings were given, before and after each test."""
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


def check_error(exc: ConfigurationError, field: str | None, *fragments: str) -> None:
    message = str(exc)
    assert exc.field == field, message
    if field is not None:
        assert field in message
    for fragment in fragments:
        assert fragment in message, message


def records(caplog: pytest.LogCaptureFixture) -> List[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "pyredisclient"]


# -- Secret ----------------------------------------------------------------------------


def test_secret_hides_its_value_in_every_text_form() -> None:
    secret = Secret(PW)
    assert repr(secret) == "Secret('***')"
    assert str(secret) == "***"
    assert f"{secret}" == "***"
    assert f"{secret:>5}" == "  ***"
    assert "%s %r" % (secret, secret) == "*** Secret('***')"  # noqa: UP031
    assert secret.get_secret_value() == PW


def test_secret_equality_hash_and_truth() -> None:
    assert Secret(PW) == Secret(PW)
    assert Secret(PW) != Secret("other")
    assert Secret(PW) != PW  # never equal to the plain text
    assert hash(Secret(PW)) == hash(Secret(PW))
    assert Secret(PW)
    assert not Secret("")
    assert Secret(Secret(PW)).get_secret_value() == PW
    assert Secret("é\udcff") == Secret("é\udcff")  # surrogates compare too


def test_secret_stays_a_secret_through_pickle_and_copy() -> None:
    for clone in (
        pickle.loads(pickle.dumps(Secret(PW))),
        copy.copy(Secret(PW)),
        copy.deepcopy(Secret(PW)),
    ):
        assert isinstance(clone, Secret)
        assert clone.get_secret_value() == PW


def test_secret_is_immutable_and_typed() -> None:
    secret = Secret(PW)
    with pytest.raises(AttributeError):
        secret._value = "x"
    with pytest.raises(AttributeError):
        secret.__dict__  # noqa: B018 - slots: nowhere else to find the value
    with pytest.raises(TypeError, match="Secret holds a str, not bytes"):
        Secret(b"pw")  # type: ignore[arg-type]


# -- ConfigurationError ------------------------------------------------------------------


def test_configuration_error_is_a_value_error_with_context() -> None:
    exc = ConfigurationError("port must be an integer 1-65535, got 'abc'", "port", "REDIS_PORT")
    assert isinstance(exc, ValueError)
    assert str(exc) == "REDIS_PORT: port must be an integer 1-65535, got 'abc'"
    assert (exc.reason, exc.field, exc.source) == (
        "port must be an integer 1-65535, got 'abc'",
        "port",
        "REDIS_PORT",
    )
    clone = pickle.loads(pickle.dumps(exc))
    assert (str(clone), clone.field, clone.source) == (str(exc), "port", "REDIS_PORT")
    plain = ConfigurationError("db must be ...", "db")
    assert str(plain) == "db must be ..."
    assert str(plain.with_source("url")) == "url: db must be ..."


def test_configuration_error_is_not_a_redis_error() -> None:
    names = {cls.__name__ for cls in ConfigurationError.__mro__}
    assert "RedisError" not in names
    exceptions = pytest.importorskip("pyredisclient.exceptions")
    assert not issubclass(ConfigurationError, exceptions.RedisError)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"host": "h\0x"},
        {"client_name": "a\0"},
        {"key_prefix": "p\0"},
        {"username": "u\0", "password": "pw"},
        {"password": PW + "\0"},
        {"password": Secret("\0" + PW)},
    ],
)
def test_nul_characters_are_refused(kwargs: Dict[str, Any]) -> None:
    field = next(iter(kwargs))
    with pytest.raises(ConfigurationError) as info:
        RedisConfig(**kwargs)
    assert str(info.value) == f"{field} must not contain a NUL character ('\\0')"


# -- defaults and derived values --------------------------------------------------------

DEFAULTS: Dict[str, Any] = {
    "host": None,
    "port": 6379,
    "unix_socket_path": None,
    "db": 0,
    "username": None,
    "password": None,
    "socket_timeout": 5.0,
    "socket_connect_timeout": 5.0,
    "socket_keepalive": True,
    "pool_timeout": None,
    "max_connections": 50,
    "health_check_interval": 30.0,
    "decode_responses": False,
    "encoding": "utf-8",
    "encoding_errors": "strict",
    "client_name": None,
    "retry_attempts": 3,
    "retry_base": 0.05,
    "retry_cap": 1.0,
    "retry_on_timeout": False,
    "circuit_breaker": True,
    "metrics": True,
    "failure_threshold": 5,
    "recovery_timeout": 30.0,
    "success_threshold": 3,
    "failure_rate_threshold": 0.5,
    "failure_window": 10.0,
    "minimum_calls": 10,
    "min_recovery_timeout": 1.0,
    "ssl": False,
    "ssl_ca_certs": None,
    "ssl_ca_path": None,
    "ssl_certfile": None,
    "ssl_keyfile": None,
    "ssl_cert_reqs": "required",
    "ssl_check_hostname": True,
    "ssl_server_hostname": None,
    "key_prefix": None,
    "key_prefix_allow": (),
    "max_reply_bytes": 512 * 1024 * 1024,
    "memory_warning_ratio": 0.8,
    "memory_critical_ratio": 0.9,
    "async_multiplex": True,
    "async_multiplex_connections": 1,
}


def test_fields_and_defaults_are_the_documented_ones() -> None:
    cfg = RedisConfig()
    assert [f.name for f in dataclasses.fields(cfg)] == list(DEFAULTS)
    assert {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)} == DEFAULTS
    assert set(config_options._RULES) == set(DEFAULTS)
    assert RedisConfig.password is None  # the descriptor's class-level default


def test_effective_values() -> None:
    cfg = RedisConfig()
    assert cfg.effective_host == "localhost"
    assert cfg.effective_pool_timeout == 5.0
    assert cfg.effective_ssl_check_hostname is False  # no TLS, nothing to check
    cfg = RedisConfig(host="h", socket_timeout=2, pool_timeout=7)
    assert cfg.effective_host == "h"
    assert cfg.effective_pool_timeout == 7.0
    assert RedisConfig(socket_timeout=None).effective_pool_timeout is None
    assert RedisConfig(ssl=True).effective_ssl_check_hostname is True
    assert RedisConfig(ssl=True, ssl_cert_reqs="none").effective_ssl_check_hostname is False
    assert RedisConfig(ssl=True, ssl_check_hostname=False).effective_ssl_check_hostname is False


def test_frozen_hashable_and_normalised() -> None:
    cfg = RedisConfig(password=PW, socket_timeout=2, host="[::1]")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.port = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.password = "x"  # type: ignore[misc]
    assert isinstance(cfg.password, Secret)
    assert cfg.password.get_secret_value() == PW
    assert cfg.socket_timeout == 2.0 and isinstance(cfg.socket_timeout, float)
    assert cfg.host == "::1"
    assert cfg == RedisConfig(password=Secret(PW), socket_timeout=2.0, host="::1")
    assert hash(cfg) == hash(RedisConfig(password=PW, socket_timeout=2.0, host="::1"))
    assert cfg != RedisConfig(password="other", socket_timeout=2, host="::1")
    assert pickle.loads(pickle.dumps(cfg)) == cfg


class Index:
    """An int-like object (as numpy integers are): accepted through __index__."""

    def __index__(self) -> int:
        return 7


def test_int_like_and_cert_reqs_forms_are_normalised() -> None:
    assert RedisConfig(db=Index()).db == 7  # type: ignore[arg-type]
    for given, normal in [
        (ssl.CERT_NONE, "none"),
        (ssl.CERT_OPTIONAL, "optional"),
        (ssl.CERT_REQUIRED, "required"),
        (0, "none"),
        ("CERT_REQUIRED", "required"),
        ("cert_optional", "optional"),
        (" None ", "none"),
        ("Required", "required"),
    ]:
        assert RedisConfig(ssl=True, ssl_cert_reqs=given).ssl_cert_reqs == normal  # type: ignore[arg-type]


def test_integer_options_take_a_str_holding_an_integer() -> None:
    # Settings objects (environment-backed) often hand over strings.
    cfg = RedisConfig(port="6380", db=" 2 ", max_connections="+9")  # type: ignore[arg-type]
    assert (cfg.port, cfg.db, cfg.max_connections) == (6380, 2, 9)
    assert cfg == RedisConfig(port=6380, db=2, max_connections=9)
    assert RedisConfig.from_url("redis://h", port="7000").port == 7000  # type: ignore[arg-type]


def test_is_loopback() -> None:
    for host in ["localhost", "LOCALHOST.", "app.localhost", "127.0.0.1", "127.9.9.9", "::1"]:
        assert RedisConfig(host=host).is_loopback, host
    assert RedisConfig().is_loopback
    assert RedisConfig(host="::ffff:127.0.0.1").is_loopback
    assert RedisConfig(host="fe80::1%eth0").is_loopback is False
    assert RedisConfig(unix_socket_path="/run/redis.sock").is_loopback
    for host in ["10.0.0.5", "cache.internal", "::ffff:10.0.0.1", "2001:db8::1"]:
        assert not RedisConfig(host=host).is_loopback, host


# -- validation ------------------------------------------------------------------------

BAD: List[Any] = [
    # (kwargs, field, fragments of the message)
    ({"port": 0}, "port", "an integer 1-65535", "got 0"),
    ({"port": 65536}, "port", "got 65536"),
    ({"port": -1}, "port", "got -1"),
    ({"port": True}, "port", "got True"),
    ({"port": "63x9"}, "port", "got '63x9'"),
    ({"port": "6379.0"}, "port", "got '6379.0'"),
    ({"port": "70000"}, "port", "got 70000"),
    ({"port": ""}, "port", "got ''"),
    ({"port": 6379.0}, "port", "got 6379.0"),
    ({"port": None}, "port", "got None"),
    ({"db": -1}, "db", "an integer 0-2147483647"),
    ({"db": 2**31}, "db", "got 2147483648"),
    ({"socket_timeout": 0}, "socket_timeout", "> 0", "or None", "got 0"),
    ({"socket_timeout": -1.5}, "socket_timeout", "got -1.5"),
    ({"socket_timeout": math.nan}, "socket_timeout", "got nan"),
    ({"socket_timeout": math.inf}, "socket_timeout", "finite", "got inf"),
    ({"socket_timeout": 1e9 + 1}, "socket_timeout", "<= 1e9"),
    ({"socket_timeout": 10**400}, "socket_timeout", "got 1000"),
    ({"socket_timeout": "5"}, "socket_timeout", "got '5'"),
    ({"socket_timeout": True}, "socket_timeout", "got True"),
    ({"socket_connect_timeout": 0}, "socket_connect_timeout", "got 0"),
    ({"pool_timeout": 0.0}, "pool_timeout", "None for socket_timeout"),
    ({"max_connections": 0}, "max_connections", "an integer 1-2147483647"),
    ({"health_check_interval": -1}, "health_check_interval", ">= 0"),
    ({"health_check_interval": None}, "health_check_interval", "got None"),
    ({"retry_attempts": -1}, "retry_attempts", "an integer 0-"),
    ({"retry_base": 0}, "retry_base", "> 0"),
    ({"retry_base": 2.0}, "retry_cap", ">= retry_base (2.0)", "got 1.0"),
    ({"retry_cap": 0.01}, "retry_cap", ">= retry_base (0.05)"),
    ({"failure_threshold": 0}, "failure_threshold", "an integer 1-"),
    ({"success_threshold": 0}, "success_threshold", "an integer 1-"),
    ({"recovery_timeout": 0}, "recovery_timeout", "> 0"),
    ({"success_threshold": 256}, "success_threshold", "an integer 1-255"),
    ({"failure_rate_threshold": 1.5}, "failure_rate_threshold", "<= 1"),
    ({"failure_rate_threshold": -0.1}, "failure_rate_threshold", ">= 0"),
    ({"failure_window": 0}, "failure_window", "> 0"),
    ({"minimum_calls": 0}, "minimum_calls", "an integer 1-"),
    ({"min_recovery_timeout": 0}, "min_recovery_timeout", "> 0"),
    ({"memory_warning_ratio": 0}, "memory_warning_ratio", "> 0 and <= 1"),
    ({"memory_critical_ratio": 1.5}, "memory_critical_ratio", "got 1.5"),
    ({"async_multiplex_connections": 0}, "async_multiplex_connections", "1-1024, got 0"),
    ({"async_multiplex": "yes"}, "async_multiplex", "true or false"),
    ({"memory_warning_ratio": 0.95}, "memory_warning_ratio", "<= memory_critical_ratio (0.9)"),
    ({"max_reply_bytes": 1023}, "max_reply_bytes", "an integer 1024-", "got 1023"),
    ({"max_reply_bytes": 2**63}, "max_reply_bytes", "got 9223372036854775808"),
    ({"socket_keepalive": 1}, "socket_keepalive", "true or false", "got 1"),
    ({"decode_responses": "yes"}, "decode_responses", "got 'yes'"),
    ({"encoding": "no-such-codec"}, "encoding", "codec known to Python", "got 'no-such-codec'"),
    ({"encoding": 8}, "encoding", "got 8"),
    ({"encoding": ""}, "encoding", "got ''"),
    ({"encoding_errors": "nope"}, "encoding_errors", "'surrogateescape'", "got 'nope'"),
    ({"client_name": "my app"}, "client_name", "without spaces or newlines", "'my app'"),
    ({"client_name": "a\nb"}, "client_name", "got 'a\\nb'"),
    ({"client_name": ""}, "client_name", "got ''"),
    ({"client_name": "naïve"}, "client_name", "printable ASCII"),
    ({"username": "app"}, "username", "without a password", "AUTH username password"),
    ({"username": ""}, "username", "a non-empty string"),
    ({"host": ""}, "host", "a host name or IP address"),
    ({"host": "[]"}, "host", "got '[]'"),
    ({"host": "a b"}, "host", "got 'a b'"),
    ({"host": "h/0"}, "host", "got 'h/0'"),
    ({"host": 5}, "host", "got 5"),
    ({"host": "redis://h:6379"}, "host", "RedisConfig.from_url()"),
    ({"host": "h", "unix_socket_path": "/s"}, "host", "both given"),
    ({"unix_socket_path": ""}, "unix_socket_path", "got ''"),
    ({"unix_socket_path": "/s", "ssl": True}, "ssl", "TLS is for TCP"),
    ({"ssl": "yes"}, "ssl", "got 'yes'"),
    ({"ssl": True, "ssl_cert_reqs": "maybe"}, "ssl_cert_reqs", "'required', 'optional', 'none'"),
    ({"ssl": True, "ssl_cert_reqs": 5}, "ssl_cert_reqs", "got 5"),
    ({"ssl": True, "ssl_cert_reqs": True}, "ssl_cert_reqs", "got True"),
    ({"ssl": True, "ssl_cert_reqs": None}, "ssl_cert_reqs", "write 'none' to turn"),
    ({"ssl": True, "ssl_server_hostname": ""}, "ssl_server_hostname", "got ''"),
    ({"key_prefix": ""}, "key_prefix", "a non-empty string"),
]


@pytest.mark.parametrize(("kwargs", "field", "fragments"), [(b[0], b[1], b[2:]) for b in BAD])
def test_each_rule_names_field_value_and_what_is_allowed(
    kwargs: Dict[str, Any], field: str, fragments: List[str]
) -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisConfig(**kwargs)
    check_error(info.value, field, *fragments)
    assert info.value.source is None
    assert str(info.value).startswith(field)


GOOD: List[Dict[str, Any]] = [
    {"port": 1},
    {"port": 65535},
    {"db": 0},
    {"socket_timeout": None, "socket_connect_timeout": None, "pool_timeout": None},
    {"socket_timeout": 1e9, "socket_connect_timeout": 0.001},
    {"health_check_interval": 0},
    {"retry_attempts": 0},
    {"retry_base": 1.0, "retry_cap": 1.0},
    {"memory_warning_ratio": 1.0, "memory_critical_ratio": 1},
    {"max_reply_bytes": 1024},
    {"encoding": "latin-1", "encoding_errors": "surrogateescape"},
    {"client_name": "worker-1:api"},
    {"username": "app", "password": "pw"},
    {"password": Secret("pw")},
    {"host": "10.0.0.5"},
    {"host": "2001:db8::1"},
    {"unix_socket_path": "/run/redis.sock"},
    {"key_prefix": "tenant:1:"},
]


@pytest.mark.parametrize("kwargs", GOOD)
def test_edge_values_are_accepted(kwargs: Dict[str, Any]) -> None:
    RedisConfig(**kwargs)


@pytest.mark.parametrize("password", ["", Secret(""), 123, b"pw"])
def test_a_bad_password_is_refused_without_showing_it(password: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisConfig(password=password)
    assert str(info.value) == "password must be a non-empty string or Secret, or None"
    assert info.value.field == "password"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ssl_ca_certs", "CA"),
        ("ssl_ca_path", "DIR"),
        ("ssl_certfile", "CERT"),
        ("ssl_keyfile", "KEY"),
        ("ssl_cert_reqs", "none"),
        ("ssl_check_hostname", False),
        ("ssl_server_hostname", "redis.example"),
    ],
)
def test_tls_options_without_ssl_are_refused(name: str, value: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisConfig(**{name: value})
    check_error(info.value, name, "ssl is off", "ssl=True", "rediss://")


def test_tls_files_are_checked(tls_files: Dict[str, str], tmp_path: Path) -> None:
    good = RedisConfig(
        ssl=True,
        ssl_ca_certs=tls_files["ca.pem"],
        ssl_ca_path=str(tmp_path),
        ssl_certfile=tls_files["cert.pem"],
        ssl_keyfile=tls_files["key.pem"],
        ssl_cert_reqs="optional",
        ssl_check_hostname=False,
        ssl_server_hostname="redis.example",
    )
    assert good.ssl_ca_path == str(tmp_path)
    missing = str(tmp_path / "missing.pem")
    for name in ("ssl_ca_certs", "ssl_certfile"):
        kwargs: Dict[str, Any] = {name: missing}
        with pytest.raises(ConfigurationError) as info:
            RedisConfig(ssl=True, **kwargs)
        check_error(info.value, name, "readable file", repr(missing))
        kwargs = {name: str(tmp_path)}  # a directory, not a file
        with pytest.raises(ConfigurationError) as info:
            RedisConfig(ssl=True, **kwargs)
        check_error(info.value, name, "not a file")
    with pytest.raises(ConfigurationError) as info:
        RedisConfig(ssl=True, ssl_ca_path=tls_files["ca.pem"])
    check_error(info.value, "ssl_ca_path", "readable directory")
    with pytest.raises(ConfigurationError) as info:
        RedisConfig(ssl=True, ssl_keyfile=tls_files["key.pem"])
    check_error(info.value, "ssl_keyfile", "without ssl_certfile")
    with pytest.raises(ConfigurationError) as info:
        RedisConfig(ssl=True, ssl_certfile=tls_files["cert.pem"], ssl_keyfile=missing)
    check_error(info.value, "ssl_keyfile", "readable file")


def test_unreadable_tls_file_is_refused(
    tls_files: Dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, for whom every file is readable: pretend otherwise.
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(ConfigurationError) as info:
        RedisConfig(ssl=True, ssl_ca_certs=tls_files["ca.pem"])
    check_error(info.value, "ssl_ca_certs", "not readable")


# -- views -----------------------------------------------------------------------------


def test_core_kwargs_unwraps_the_password_and_resolves_effective_values() -> None:
    cfg = RedisConfig(username="app", password=PW, socket_timeout=3, ssl=True, ssl_cert_reqs="none")
    kwargs = cfg.core_kwargs()
    assert set(kwargs) == set(DEFAULTS)
    assert kwargs["password"] == PW and type(kwargs["password"]) is str
    assert kwargs["host"] == "localhost"
    assert kwargs["pool_timeout"] == 3.0
    assert kwargs["ssl_check_hostname"] is False
    assert RedisConfig().core_kwargs()["password"] is None


def test_debug_info_has_every_setting_and_no_secret() -> None:
    cfg = RedisConfig(host="cache", username="app", password=PW, key_prefix="redis://u:x@h")
    info = cfg.debug_info()
    assert set(DEFAULTS) <= set(info)
    assert info["password"] == "***"
    assert info["key_prefix"] == "redis://u:***@h"
    assert info["effective_host"] == "cache"
    assert info["effective_pool_timeout"] == 5.0
    assert info["effective_ssl_check_hostname"] is False
    assert info["is_loopback"] is False
    assert info["url"] == "redis://app:***@cache:6379/0?key_prefix=redis%3A%2F%2Fu%3Ax%40h"
    assert RedisConfig().debug_info()["password"] is None


def test_repr_and_str_show_stars() -> None:
    cfg = RedisConfig(password=PW)
    assert "password=Secret('***')" in repr(cfg)
    assert str(cfg) == repr(cfg)


def test_replace_revalidates() -> None:
    cfg = RedisConfig(host="a", password=PW)
    other = cfg.replace(db=2)
    assert (other.db, other.host, other.password) == (2, "a", Secret(PW))
    assert cfg.db == 0
    with pytest.raises(ConfigurationError) as info:
        cfg.replace(port=0)
    check_error(info.value, "port")
    with pytest.raises(TypeError):
        cfg.replace(nope=1)


def test_to_url_redacts_unless_asked() -> None:
    cfg = RedisConfig(host="h", port=6380, db=2, username="a b", password="p@ss:w/rd")
    assert cfg.to_url() == "redis://a%20b:***@h:6380/2"
    assert cfg.to_url(include_password=True) == "redis://a%20b:p%40ss%3Aw%2Frd@h:6380/2"
    assert RedisConfig().to_url() == "redis://localhost:6379/0"
    assert RedisConfig(password="x").to_url() == "redis://:***@localhost:6379/0"
    assert RedisConfig(host="::1").to_url() == "redis://[::1]:6379/0"
    assert RedisConfig(unix_socket_path="/run/r s.sock", db=3).to_url() == (
        "unix:///run/r%20s.sock?db=3"
    )


ROUND_TRIP: List[Dict[str, Any]] = [
    {},
    {"host": "cache.internal", "port": 6380, "db": 5, "username": "app", "password": PW},
    {"password": "p@ss:w/rd?#&=+ %"},
    {"host": "2001:db8::1", "socket_timeout": None, "pool_timeout": 0.25},
    {"host": "fe80::1%eth0"},
    {"unix_socket_path": "/run/redis dir/redis.sock", "db": 2, "password": "pw"},
    {
        "host": "h",
        "socket_connect_timeout": 1.5,
        "socket_keepalive": False,
        "max_connections": 7,
        "health_check_interval": 0,
        "decode_responses": True,
        "encoding": "latin-1",
        "encoding_errors": "replace",
        "client_name": "svc-1",
        "retry_attempts": 0,
        "retry_base": 0.1,
        "retry_cap": 2,
        "retry_on_timeout": True,
        "circuit_breaker": False,
        "failure_threshold": 2,
        "recovery_timeout": 3,
        "success_threshold": 1,
        "failure_rate_threshold": 0,
        "failure_window": 2.5,
        "minimum_calls": 40,
        "min_recovery_timeout": 0.25,
        "ssl": True,
        "ssl_cert_reqs": "optional",
        "ssl_check_hostname": False,
        "ssl_server_hostname": "redis.example",
        "key_prefix": "tenant a/b+c&d=e:",
        "key_prefix_allow": ["databases", "admin"],
        "max_reply_bytes": 4096,
        "memory_warning_ratio": 0.5,
        "memory_critical_ratio": 0.75,
    },
]


@pytest.mark.parametrize("kwargs", ROUND_TRIP)
def test_to_url_round_trips_through_from_url(kwargs: Dict[str, Any]) -> None:
    cfg = RedisConfig(**kwargs)
    again = RedisConfig.from_url(cfg.to_url(include_password=True))
    expected = (
        cfg if cfg.host is not None or cfg.unix_socket_path else cfg.replace(host="localhost")
    )
    assert again == expected


def test_to_url_round_trips_tls_files(tls_files: Dict[str, str], tmp_path: Path) -> None:
    cfg = RedisConfig(
        host="h",
        ssl=True,
        ssl_ca_certs=tls_files["ca.pem"],
        ssl_ca_path=str(tmp_path),
        ssl_certfile=tls_files["cert.pem"],
        ssl_keyfile=tls_files["key.pem"],
    )
    assert RedisConfig.from_url(cfg.to_url()) == cfg


# -- from_url --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://localhost", {"host": "localhost"}),
        ("redis://", {}),
        ("REDIS://Cache.Internal:6380", {"host": "cache.internal", "port": 6380}),
        ("redis://h:6380/3", {"host": "h", "port": 6380, "db": 3}),
        ("redis://h:/", {"host": "h"}),
        ("redis://h/?db=4", {"host": "h", "db": 4}),
        ("redis://h/3?db=3", {"host": "h", "db": 3}),
        ("rediss://h", {"host": "h", "ssl": True}),
        ("rediss://h?ssl=true", {"host": "h", "ssl": True}),
        ("redis://h?ssl=on", {"host": "h", "ssl": True}),
        ("redis://user:pw@h", {"host": "h", "username": "user", "password": "pw"}),
        ("redis://:pw@h", {"host": "h", "password": "pw"}),
        ("redis://user:@h?password=pw", {"host": "h", "username": "user", "password": "pw"}),
        ("redis://h?username=u&password=p%26w", {"host": "h", "username": "u", "password": "p&w"}),
        ("redis://:p%40ss%3Aw%2Frd%3F%23%25@h", {"host": "h", "password": "p@ss:w/rd?#%"}),
        ("redis://:p@ss:word@h:1", {"host": "h", "port": 1, "password": "p@ss:word"}),
        ("redis://us%40er:pw@h", {"host": "h", "username": "us@er", "password": "pw"}),
        ("redis://[::1]", {"host": "::1"}),
        ("redis://[::1]:6380/2", {"host": "::1", "port": 6380, "db": 2}),
        ("redis://:pw@[2001:DB8::1]:7000", {"host": "2001:db8::1", "port": 7000, "password": "pw"}),
        ("redis://my%2Dhost", {"host": "my-host"}),
        ("unix:///run/redis.sock", {"unix_socket_path": "/run/redis.sock"}),
        ("unix:///run/redis%20x.sock?db=2", {"unix_socket_path": "/run/redis x.sock", "db": 2}),
        ("unix://:pw@/run/r.sock", {"unix_socket_path": "/run/r.sock", "password": "pw"}),
        (
            "unix://u:pw@/run/r.sock?client_name=a@b",
            {
                "unix_socket_path": "/run/r.sock",
                "username": "u",
                "password": "pw",
                "client_name": "a@b",
            },
        ),
        ("  redis://h  ", {"host": "h"}),
    ],
)
def test_url_forms(url: str, expected: Dict[str, Any]) -> None:
    assert RedisConfig.from_url(url) == RedisConfig(**expected)


def test_url_query_options_are_typed() -> None:
    cfg = RedisConfig.from_url(
        "redis://h?socket_timeout=2.5&socket_connect_timeout=1&socket_keepalive=no"
        "&max_connections=9&pool_timeout=4&health_check_interval=0&client_name=svc"
        "&decode_responses=TRUE&retry_attempts=5&key_prefix=t%3A1%3A&db=6"
        "&retry_on_timeout=Yes&circuit_breaker=Off&max_reply_bytes=2048&encoding=latin-1"
    )
    assert cfg == RedisConfig(
        host="h",
        socket_timeout=2.5,
        socket_connect_timeout=1,
        socket_keepalive=False,
        max_connections=9,
        pool_timeout=4,
        health_check_interval=0,
        client_name="svc",
        decode_responses=True,
        retry_attempts=5,
        key_prefix="t:1:",
        db=6,
        retry_on_timeout=True,
        circuit_breaker=False,
        max_reply_bytes=2048,
        encoding="latin-1",
    )


def test_url_tls_query_options(tls_files: Dict[str, str]) -> None:
    cfg = RedisConfig.from_url(
        f"rediss://h?ssl_ca_certs={tls_files['ca.pem']}&ssl_certfile={tls_files['cert.pem']}"
        f"&ssl_keyfile={tls_files['key.pem']}&ssl_cert_reqs=CERT_OPTIONAL"
        "&ssl_check_hostname=0"
    )
    assert (cfg.ssl, cfg.ssl_ca_certs, cfg.ssl_cert_reqs, cfg.ssl_check_hostname) == (
        True,
        tls_files["ca.pem"],
        "optional",
        False,
    )


@pytest.mark.parametrize("word", ["1", "true", "TRUE", "Yes", "on", " ON "])
def test_url_true_words(word: str) -> None:
    assert RedisConfig.from_url(f"redis://h?decode_responses={word}").decode_responses is True


@pytest.mark.parametrize("word", ["0", "false", "False", "NO", "off"])
def test_url_false_words(word: str) -> None:
    assert RedisConfig.from_url(f"redis://h?socket_keepalive={word}").socket_keepalive is False


@pytest.mark.parametrize("word", ["none", "None", "null", ""])
def test_url_none_words_for_optional_values(word: str) -> None:
    cfg = RedisConfig.from_url(f"redis://h?socket_timeout={word}&client_name={word}")
    assert (cfg.socket_timeout, cfg.client_name) == (None, None)


def test_url_accepts_a_secret() -> None:
    cfg = RedisConfig.from_url(Secret(f"redis://:{PW}@h"))
    assert cfg.password == Secret(PW)


URL_ERRORS: List[Any] = [
    # (url, field, exact message)
    ("http://h", None, "url: scheme must be redis://, rediss:// (TLS) or unix://, got 'http'"),
    ("localhost:6379", None, "got 'localhost'"),
    ("redis://h:abc", "port", "url: port must be an integer 1-65535, got 'abc'"),
    ("redis://h:0", "port", "url: port must be an integer 1-65535, got 0"),
    ("redis://h:70000", "port", "url: port must be an integer 1-65535, got 70000"),
    ("redis://[::1:6379", None, "url: malformed host; an IPv6 address goes in brackets"),
    ("redis://h/abc", "db", "url: db in the URL path must be an integer >= 0, e.g. /2, got 'abc'"),
    ("redis://h/-1", "db", "url: db must be an integer 0-2147483647, got -1"),
    ("redis://h/1?db=2", "db", "url: db is given twice in the URL"),
    ("rediss://h?ssl=false", "ssl", "url: ssl is given twice in the URL"),
    ("redis://h?db=1&db=1", "db", "url: db is given more than once in the URL"),
    ("redis://h?db=x", "db", "url: db must be an integer 0-2147483647, got 'x'"),
    ("redis://h?socket_timeout=soon", "socket_timeout", "got 'soon'"),
    ("redis://h?socket_timeout=0", "socket_timeout", "url: socket_timeout must be"),
    (
        "redis://h?decode_responses=maybe",
        "decode_responses",
        "url: decode_responses must be one of 1/0, true/false, yes/no, on/off, got 'maybe'",
    ),
    (
        "redis://h?socket_timout=1",
        None,
        "url: unknown URL query option 'socket_timout' (did you mean 'socket_timeout'?); allowed: ",
    ),
    (
        "redis://h?zzz=1",
        None,
        "url: unknown URL query option 'zzz'; allowed: async_multiplex, async_multiplex_connections, circuit_breaker, client_name, db,",
    ),
    ("redis://h?host=x", "host", "url: host cannot be given in a URL's query string"),
    ("redis://h?port=1", "port", "url: port cannot be given in a URL's query string"),
    ("unix:///s?unix_socket_path=/t", "unix_socket_path", "cannot be given in a URL's query"),
    ("unix://run/redis.sock", "unix_socket_path", "(three slashes", "got host 'run'"),
    ("unix://", "unix_socket_path", "url: unix_socket_path is missing: a unix:// URL needs"),
    ("unix:///s?ssl=true", "ssl", "url: ssl cannot be used with unix_socket_path"),
    # No ':' in the user info: refused (redis-py takes it for a user name with an empty
    # password, which no server accepts), and never echoed: it is often the password.
    ("redis://user@h", None, "url: the user info before '@' has no ':'", ":PASSWORD@"),
    ("unix://user@/run/r.sock", None, "url: the user info before '@' has no ':'"),
    ("redis://h?ssl_cert_reqs=none", "ssl_cert_reqs", "url: ssl_cert_reqs is set but ssl is off"),
    ("redis://h#frag", None, "url: a '#' fragment is not allowed; percent-encode '#'"),
    ("redis://h#", None, "a '#' fragment is not allowed"),
    ("redis://:pa/ss@h", None, "url: an '@' after the host; write it as %40"),
    ("redis://:pa?ss@h", None, "url: an '@' after the host"),
]


@pytest.mark.parametrize(("url", "field", "fragments"), [(e[0], e[1], e[2:]) for e in URL_ERRORS])
def test_url_errors(url: str, field: str | None, fragments: List[str]) -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisConfig.from_url(url)
    check_error(info.value, field, *fragments)
    assert str(info.value).startswith("url: ")


def test_url_that_is_not_a_string() -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisConfig.from_url(b"redis://h")  # type: ignore[arg-type]
    assert str(info.value) == "url: a URL must be a str, got bytes"


def test_unknown_option_that_is_not_a_name_is_not_quoted() -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisConfig.from_url(f"redis://h?{PW}-!=1")
    assert "(a name that is not an identifier)" in str(info.value)
    assert PW not in str(info.value)


def test_explicit_keywords_win_over_the_url_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="pyredisclient")
    for _ in range(3):
        cfg = RedisConfig.from_url(
            f"redis://:{PW}@h:6380/1?socket_timeout=2", db=2, password="other", port=6380
        )
        assert (cfg.db, cfg.password, cfg.port, cfg.socket_timeout) == (
            2,
            Secret("other"),
            6380,
            2.0,
        )
    logged = records(caplog)
    assert len(logged) == 1
    message = logged[0].getMessage()
    assert logged[0].levelno == logging.WARNING
    assert "db, password" in message and "url" in message
    assert "redis-py's from_url lets the URL win" in message
    assert "port" not in message.split("replace")[0]  # the same value is no conflict


def test_keyword_equal_to_the_url_value_is_no_conflict(caplog: pytest.LogCaptureFixture) -> None:
    RedisConfig.from_url("rediss://h/1?ssl_cert_reqs=none", db=1, ssl_cert_reqs="CERT_NONE")
    assert records(caplog) == []


def test_keyword_address_replaces_the_url_address(caplog: pytest.LogCaptureFixture) -> None:
    cfg = RedisConfig.from_url("unix:///run/r.sock?db=1", host="h")
    assert (cfg.host, cfg.unix_socket_path, cfg.db) == ("h", None, 1)
    cfg = RedisConfig.from_url("redis://h:7000/1", unix_socket_path="/run/r.sock")
    assert (cfg.host, cfg.unix_socket_path, cfg.port) == (None, "/run/r.sock", 7000)
    assert len(records(caplog)) == 2


def test_bad_keyword_is_named_without_a_source() -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisConfig.from_url("redis://h", port=0)
    assert str(info.value) == "port must be an integer 1-65535, got 0"
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'prot'.*'port'"):
        RedisConfig.from_url("redis://h", prot=1)
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'zzzzz'$"):
        RedisConfig.from_url("redis://h", zzzzz=1)


# -- from_env --------------------------------------------------------------------------


def test_env_empty_gives_defaults() -> None:
    assert RedisConfig.from_env(environ={}) == RedisConfig()


def test_env_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_HOST", "from-os-environ")
    assert RedisConfig.from_env().host == "from-os-environ"


def every_field_env(tls_files: Dict[str, str], ca_dir: str, prefix: str) -> Dict[str, str]:
    """One variable for every field (unix_socket_path apart), each off its default."""
    values = {
        "host": "cache.internal",
        "port": "6380",
        "db": "3",
        "username": "app",
        "password": PW,
        "socket_timeout": "2.5",
        "socket_connect_timeout": "1.5",
        "socket_keepalive": "off",
        "pool_timeout": "7",
        "max_connections": "9",
        "health_check_interval": "0",
        "decode_responses": "yes",
        "encoding": "latin-1",
        "encoding_errors": "replace",
        "client_name": "svc-1",
        "retry_attempts": "0",
        "retry_base": "0.2",
        "retry_cap": "4",
        "retry_on_timeout": "true",
        "circuit_breaker": "0",
        "metrics": "off",
        "failure_threshold": "2",
        "recovery_timeout": "9.5",
        "success_threshold": "1",
        "failure_rate_threshold": "0.75",
        "failure_window": "30",
        "minimum_calls": "50",
        "min_recovery_timeout": "2",
        "ssl": "1",
        "ssl_ca_certs": tls_files["ca.pem"],
        "ssl_ca_path": ca_dir,
        "ssl_certfile": tls_files["cert.pem"],
        "ssl_keyfile": tls_files["key.pem"],
        "ssl_cert_reqs": "CERT_OPTIONAL",
        "ssl_check_hostname": "false",
        "ssl_server_hostname": "redis.example",
        "key_prefix": "tenant:1:",
        "key_prefix_allow": "server_info, SCRIPTS",
        "max_reply_bytes": "4096",
        "memory_warning_ratio": "0.5",
        "memory_critical_ratio": "0.6",
        "async_multiplex": "false",
        "async_multiplex_connections": "4",
    }
    return {prefix + name.upper(): value for name, value in values.items()}


@pytest.mark.parametrize("prefix", ["REDIS_", "REDIS__", "CACHE_", ""])
def test_env_has_a_variable_for_every_field(
    prefix: str, tls_files: Dict[str, str], tmp_path: Path
) -> None:
    env = every_field_env(tls_files, str(tmp_path), prefix)
    cfg = RedisConfig.from_env(prefix=prefix, environ=env)
    assert cfg == RedisConfig(
        host="cache.internal",
        port=6380,
        db=3,
        username="app",
        password=PW,
        socket_timeout=2.5,
        socket_connect_timeout=1.5,
        socket_keepalive=False,
        pool_timeout=7,
        max_connections=9,
        health_check_interval=0,
        decode_responses=True,
        encoding="latin-1",
        encoding_errors="replace",
        client_name="svc-1",
        retry_attempts=0,
        retry_base=0.2,
        retry_cap=4,
        retry_on_timeout=True,
        circuit_breaker=False,
        metrics=False,
        failure_threshold=2,
        recovery_timeout=9.5,
        success_threshold=1,
        failure_rate_threshold=0.75,
        failure_window=30,
        minimum_calls=50,
        min_recovery_timeout=2,
        ssl=True,
        ssl_ca_certs=tls_files["ca.pem"],
        ssl_ca_path=str(tmp_path),
        ssl_certfile=tls_files["cert.pem"],
        ssl_keyfile=tls_files["key.pem"],
        ssl_cert_reqs="optional",
        ssl_check_hostname=False,
        ssl_server_hostname="redis.example",
        key_prefix="tenant:1:",
        key_prefix_allow=("scripts", "server_info"),
        max_reply_bytes=4096,
        memory_warning_ratio=0.5,
        memory_critical_ratio=0.6,
        async_multiplex=False,
        async_multiplex_connections=4,
    )
    names = {f.name.upper() for f in dataclasses.fields(RedisConfig)} - {"UNIX_SOCKET_PATH"}
    assert {key[len(prefix) :] for key in env} == names


def test_env_other_prefixes_are_ignored() -> None:
    env = {"REDIS_HOST": "plain", "REDIS__HOST": "double", "REDIS_VERSION": "7.2.4"}
    assert RedisConfig.from_env(environ=env).host == "plain"
    assert RedisConfig.from_env(prefix="REDIS__", environ=env).host == "double"


def test_env_empty_variables_count_as_unset() -> None:
    env = {"REDIS_HOST": "", "REDIS_PORT": "", "REDIS_PASSWORD": "", "REDIS_URL": ""}
    assert RedisConfig.from_env(environ=env) == RedisConfig()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"REDIS_PORT": "abc"}, "REDIS_PORT: port must be an integer 1-65535, got 'abc'"),
        ({"REDIS_PORT": "70000"}, "REDIS_PORT: port must be an integer 1-65535, got 70000"),
        ({"REDIS__PORT": "1.5"}, "REDIS__PORT: port must be an integer 1-65535, got '1.5'"),
        ({"REDIS_DB": "-1"}, "REDIS_DB: db must be an integer 0-2147483647, got -1"),
        ({"REDIS_SOCKET_TIMEOUT": "0"}, "REDIS_SOCKET_TIMEOUT: socket_timeout must be a finite"),
        ({"REDIS_SOCKET_TIMEOUT": "5s"}, "REDIS_SOCKET_TIMEOUT: socket_timeout must be"),
        ({"REDIS_SSL": "maybe"}, "REDIS_SSL: ssl must be one of 1/0, true/false, yes/no, on/off"),
        (
            {"REDIS_SSL_CA_CERTS": "/ca.pem"},
            "REDIS_SSL_CA_CERTS: ssl_ca_certs is set but ssl is off",
        ),
        ({"REDIS_CLIENT_NAME": "my app"}, "REDIS_CLIENT_NAME: client_name must be printable"),
        ({"REDIS_USERNAME": "app"}, "REDIS_USERNAME: username 'app' is given without a password"),
        ({"REDIS_HOST": "h", "REDIS_UNIX_SOCKET_PATH": "/s"}, "REDIS_HOST: host and unix_socket"),
        ({"REDIS_SOCKET_PATH": "/s", "REDIS_SSL": "1"}, "REDIS_SSL: ssl cannot be used with unix"),
        ({"REDIS_URL": "http://h"}, "REDIS_URL: scheme must be redis://, rediss:// (TLS)"),
        ({"REDIS_URL": "redis://h:abc"}, "REDIS_URL: port must be an integer 1-65535, got 'abc'"),
        ({"REDIS_URL": "redis://h/0?db=1"}, "REDIS_URL: db is given twice"),
        ({"REDIS_URL": "redis://h:0"}, "REDIS_URL: port must be an integer 1-65535, got 0"),
        (
            {"REDIS_UNIX_SOCKET_PATH": "/a", "REDIS_SOCKET_PATH": "/b"},
            "REDIS_UNIX_SOCKET_PATH and REDIS_SOCKET_PATH are both set",
        ),
    ],
)
def test_env_errors_name_the_variable(env: Dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        prefix = "REDIS__" if any(k.startswith("REDIS__") for k in env) else "REDIS_"
        RedisConfig.from_env(prefix=prefix, environ=env)
    assert message in str(info.value)


def test_env_cross_field_error_names_the_first_field_variable() -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisConfig.from_env(environ={"REDIS_RETRY_BASE": "3", "REDIS_RETRY_CAP": "2"})
    assert str(info.value) == "REDIS_RETRY_CAP: retry_cap must be >= retry_base (3.0), got 2.0"
    with pytest.raises(ConfigurationError) as info:
        RedisConfig.from_env(environ={"REDIS_RETRY_BASE": "3"})  # retry_cap is the default
    assert str(info.value) == "retry_cap must be >= retry_base (3.0), got 1.0"


def test_env_socket_path_alias() -> None:
    cfg = RedisConfig.from_env(environ={"REDIS_SOCKET_PATH": "/run/r.sock"})
    assert cfg.unix_socket_path == "/run/r.sock"
    both = {"REDIS_SOCKET_PATH": "/run/r.sock", "REDIS_UNIX_SOCKET_PATH": "/run/r.sock"}
    assert RedisConfig.from_env(environ=both).unix_socket_path == "/run/r.sock"


def test_env_url_and_separate_variables(caplog: pytest.LogCaptureFixture) -> None:
    env = {
        "REDIS_URL": f"rediss://app:{PW}@cache.internal:6380/1",
        "REDIS_HOST": "other-host",
        "REDIS_DB": "1",  # agrees with the URL: no warning for it
        "REDIS_SOCKET_TIMEOUT": "2",  # not in the URL: fills in
        "REDIS_CLIENT_NAME": "svc",
    }
    cfg = RedisConfig.from_env(environ=env)
    assert (cfg.host, cfg.port, cfg.db, cfg.ssl, cfg.username, cfg.password) == (
        "cache.internal",
        6380,
        1,
        True,
        "app",
        Secret(PW),
    )
    assert (cfg.socket_timeout, cfg.client_name) == (2.0, "svc")
    logged = records(caplog)
    assert len(logged) == 1
    assert logged[0].getMessage() == (
        "REDIS_HOST ignored: REDIS_URL says otherwise, and the URL wins over separate variables"
    )


def test_env_precedence_explicit_over_url_over_variables(caplog: pytest.LogCaptureFixture) -> None:
    env = {"REDIS_URL": "redis://h/1", "REDIS_DB": "2", "REDIS_PORT": "7000"}
    assert RedisConfig.from_env(environ=env).db == 1
    cfg = RedisConfig.from_env(environ=env, db=3, port=7001)
    assert (cfg.db, cfg.port) == (3, 7001)
    assert RedisConfig.from_env(environ={"REDIS_DB": "2"}).db == 2
    messages = [r.getMessage() for r in records(caplog)]
    assert messages == [
        "REDIS_DB ignored: REDIS_URL says otherwise, and the URL wins over separate variables",
        "keyword argument(s) db replace the value(s) given in REDIS_URL: explicit arguments win "
        "over the URL here (redis-py's from_url lets the URL win)",
    ]  # the keyword port replaced only a separate variable: no warning


def test_env_url_address_replaces_variable_address(caplog: pytest.LogCaptureFixture) -> None:
    env = {"REDIS_URL": "unix:///run/r.sock", "REDIS_HOST": "h"}
    cfg = RedisConfig.from_env(environ=env)
    assert (cfg.host, cfg.unix_socket_path) == (None, "/run/r.sock")
    assert "REDIS_HOST ignored" in records(caplog)[0].getMessage()
    env = {"REDIS_URL": "redis://h", "REDIS_UNIX_SOCKET_PATH": "/run/r.sock"}
    cfg = RedisConfig.from_env(environ=env)
    assert (cfg.host, cfg.unix_socket_path) == ("h", None)


def test_env_explicit_keyword_over_variable_is_silent(caplog: pytest.LogCaptureFixture) -> None:
    cfg = RedisConfig.from_env(environ={"REDIS_HOST": "a", "REDIS_DB": "4"}, host="b")
    assert (cfg.host, cfg.db) == ("b", 4)
    assert records(caplog) == []


# What Kubernetes injects into every pod of the namespace for a Service named "redis"
# (enableServiceLinks, the default), and for one named "redis-master".
KUBERNETES_ENV = {
    "REDIS_PORT": "tcp://10.0.0.1:6379",
    "REDIS_PORT_6379_TCP": "tcp://10.0.0.1:6379",
    "REDIS_PORT_6379_TCP_ADDR": "10.0.0.1",
    "REDIS_PORT_6379_TCP_PORT": "6379",
    "REDIS_PORT_6379_TCP_PROTO": "tcp",
    "REDIS_SERVICE_HOST": "10.0.0.1",
    "REDIS_SERVICE_PORT": "6379",
    "REDIS_SERVICE_PORT_TCP_REDIS": "6379",
    "REDIS_MASTER_PORT": "tcp://10.0.0.2:6379",
    "REDIS_MASTER_PORT_6379_TCP_ADDR": "10.0.0.2",
    "REDIS_MASTER_SERVICE_HOST": "10.0.0.2",
    "REDIS_MASTER_SERVICE_PORT": "6379",
}


def test_env_kubernetes_service_links_with_redis_url(caplog: pytest.LogCaptureFixture) -> None:
    env = dict(KUBERNETES_ENV, REDIS_URL="redis://cache.internal:6380/2")
    cfg = RedisConfig.from_env(environ=env)
    assert (cfg.host, cfg.port, cfg.db) == ("cache.internal", 6380, 2)
    # The user configured the address: the service links are expected noise, not news.
    assert records(caplog) == []
    # The same with the port given as a keyword, or by REDIS_HOST + a keyword port.
    assert RedisConfig.from_env(environ=KUBERNETES_ENV, port=7000).port == 7000
    assert records(caplog) == []


def test_env_kubernetes_port_link_without_url_is_ignored_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cfg = RedisConfig.from_env(environ=dict(KUBERNETES_ENV, REDIS_HOST="redis"))
    assert (cfg.host, cfg.port) == ("redis", 6379)
    RedisConfig.from_env(environ=KUBERNETES_ENV)  # the same warning, not again
    logged = records(caplog)
    assert len(logged) == 1, [r.getMessage() for r in logged]
    message = logged[0].getMessage()
    assert message.startswith(
        "REDIS_PORT='tcp://10.0.0.1:6379' is not a port number but a Kubernetes service link "
        "(set for a Service named 'redis'); ignored"
    ), message
    assert "REDIS_URL (e.g. redis://10.0.0.1:6379/0)" in message
    # Outside development a missing address is still an error, not the service link.
    with pytest.raises(ConfigurationError, match="no Redis server address is configured"):
        RedisConfig.from_env(environ=dict(KUBERNETES_ENV, ENVIRONMENT="production"))
    # Another prefix, another Service: CACHE_PORT for a Service named "cache".
    cfg = RedisConfig.from_env(prefix="CACHE_", environ={"CACHE_PORT": "tcp://10.0.0.3:6379"})
    assert cfg.port == 6379
    assert "named 'cache'" in records(caplog)[-1].getMessage()


def test_env_variables_a_higher_layer_overrides_are_not_checked(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    env = {
        "REDIS_URL": f"redis://:{PW}@h:6380/1",
        "REDIS_PORT": "not-a-port",
        "REDIS_DB": "x",
        "REDIS_HOST": "two words",
        "REDIS_PASSWORD_FILE": str(tmp_path / "missing"),  # not even opened
        "REDIS_SOCKET_TIMEOUT": "2",  # not in the URL: still read
    }
    cfg = RedisConfig.from_env(environ=env)
    assert (cfg.host, cfg.port, cfg.db, cfg.password) == ("h", 6380, 1, Secret(PW))
    assert cfg.socket_timeout == 2.0
    assert [r.getMessage() for r in records(caplog)] == [
        "REDIS_DB, REDIS_HOST, REDIS_PASSWORD_FILE, REDIS_PORT ignored: REDIS_URL says "
        "otherwise, and the URL wins over separate variables"
    ]
    # A keyword argument overrides silently, and unchecked too.
    cfg = RedisConfig.from_env(environ={"REDIS_PORT": "abc", "REDIS_DB": "-1"}, port=7000, db=2)
    assert (cfg.port, cfg.db) == (7000, 2)
    path_env = {"REDIS_UNIX_SOCKET_PATH": "/a", "REDIS_SOCKET_PATH": "/b"}
    assert RedisConfig.from_env(environ=path_env, host="h").host == "h"
    # Not overridden, the same variables are errors.
    with pytest.raises(ConfigurationError, match="REDIS_PORT: port must be"):
        RedisConfig.from_env(environ={"REDIS_PORT": "abc"})
    with pytest.raises(ConfigurationError, match="both set"):
        RedisConfig.from_env(environ=path_env)


def test_env_unknown_variables_are_warned_about_once(caplog: pytest.LogCaptureFixture) -> None:
    env = {
        "REDIS_URI": "redis://cache:6379/0",
        "REDIS_DATABASE": "3",
        "REDIS_TIMEOUT": "2",
        "REDIS_SOKET_TIMEOUT": "2",
        "REDIS_PASS": PW,
        "REDIS_SOMETHING_ELSE": "1",
        "REDIS_EMPTY": "",  # empty counts as unset
        **KUBERNETES_ENV,
        "REDIS_PORT": "6379",
        "REDIS__HOST": "h",  # from_env(prefix="REDIS__")'s
        "REDIS_VERSION": "7.2.4",  # the official redis image sets it
        "REDIS_NAME": "/job-1/redis",  # a Docker link (GitLab CI services)
        "REDIS_ENV_REDIS_VERSION": "7.2.4",
    }
    for _ in range(2):
        assert RedisConfig.from_env(environ=env) == RedisConfig()
    messages = sorted(r.getMessage() for r in records(caplog))
    hint = "is set but is not a pyredisclient setting, so it is ignored"
    assert messages == [
        f"REDIS_DATABASE {hint} (did you mean REDIS_DB?)",
        f"REDIS_PASS {hint} (did you mean REDIS_PASSWORD?)",
        f"REDIS_SOKET_TIMEOUT {hint} (did you mean REDIS_SOCKET_TIMEOUT?)",
        f"REDIS_SOMETHING_ELSE {hint} (see RedisConfig.from_env)",
        f"REDIS_TIMEOUT {hint} (did you mean REDIS_SOCKET_TIMEOUT?)",
        f"REDIS_URI {hint} (did you mean REDIS_URL?)",
    ]
    assert PW not in caplog.text  # values are never shown
    # Another prefix looks at its own variables only; no prefix, no check.
    caplog.clear()
    RedisConfig.from_env(prefix="CACHE_", environ={"CACHE_HOTS": "h", "REDIS_X": "1"})
    assert [r.getMessage() for r in records(caplog)] == [
        f"CACHE_HOTS {hint} (did you mean CACHE_HOST?)"
    ]
    caplog.clear()
    RedisConfig.from_env(prefix="", environ={"PATH": "/bin", "HOME": "/root"})
    assert records(caplog) == []


def test_env_bad_keyword() -> None:
    with pytest.raises(TypeError, match=r"from_env\(\) got an unexpected keyword argument"):
        RedisConfig.from_env(environ={}, hots="h")
    with pytest.raises(TypeError, match="prefix must be a str, not int"):
        RedisConfig.from_env(prefix=1, environ={})  # type: ignore[arg-type]


def test_env_password_file(tmp_path: Path) -> None:
    path = tmp_path / "redis-password"
    for content, expected in [
        (PW + "\n", PW),
        (PW + "\r\n", PW),
        (PW, PW),
        (PW + "\n\n", PW + "\n"),  # only one newline is stripped
        (" " + PW + " \n", " " + PW + " "),
    ]:
        path.write_bytes(content.encode())
        cfg = RedisConfig.from_env(environ={"REDIS_PASSWORD_FILE": str(path)})
        assert cfg.password == Secret(expected), repr(content)
    cfg = RedisConfig.from_env(
        prefix="REDIS__", environ={"REDIS__PASSWORD_FILE": str(path), "REDIS__USERNAME": "u"}
    )
    assert cfg.username == "u"


def test_env_password_file_errors_name_the_variable(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing")
    with pytest.raises(ConfigurationError) as info:
        RedisConfig.from_env(environ={"REDIS_PASSWORD_FILE": missing})
    assert str(info.value) == (
        f"REDIS_PASSWORD_FILE: cannot read the password file {missing!r}: No such file or directory"
    )
    assert (info.value.field, info.value.source) == ("password", "REDIS_PASSWORD_FILE")
    with pytest.raises(ConfigurationError) as info:
        RedisConfig.from_env(environ={"REDIS_PASSWORD_FILE": str(tmp_path)})
    assert "REDIS_PASSWORD_FILE: cannot read the password file" in str(info.value)
    assert "Is a directory" in str(info.value)
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ConfigurationError) as info:
        RedisConfig.from_env(environ={"REDIS_PASSWORD_FILE": str(empty)})
    assert str(info.value) == f"REDIS_PASSWORD_FILE: the password file {str(empty)!r} is empty"
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe" + PW.encode())
    with pytest.raises(ConfigurationError) as info:
        RedisConfig.from_env(environ={"REDIS_PASSWORD_FILE": str(binary)})
    assert str(info.value).endswith(": not UTF-8 text")
    assert PW not in str(info.value)
    with pytest.raises(ConfigurationError) as info:
        RedisConfig.from_env(environ={"REDIS_PASSWORD_FILE": str(binary), "REDIS_PASSWORD": PW})
    assert str(info.value) == (
        "REDIS_PASSWORD_FILE: REDIS_PASSWORD and REDIS_PASSWORD_FILE are both set; set one"
    )


def test_env_password_file_error_without_strerror(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError()

    monkeypatch.setattr(config_env, "open", refuse, raising=False)
    with pytest.raises(ConfigurationError) as info:
        RedisConfig.from_env(environ={"REDIS_PASSWORD_FILE": "/run/secrets/redis"})
    assert str(info.value).endswith(": PermissionError")


@pytest.mark.parametrize(
    "strict",
    [
        {"ENVIRONMENT": "production"},
        {"ENVIRONMENT": "Staging"},
        {"APP_ENV": "PRODUCTION"},
        {"ENVIRONMENT": "dev", "APP_ENV": " staging "},
    ],
)
def test_env_strict_environments_need_an_address(strict: Dict[str, str]) -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisConfig.from_env(environ=dict(strict, REDIS_PASSWORD=PW))
    message = str(info.value)
    var = "ENVIRONMENT" if "ENVIRONMENT" in strict and strict["ENVIRONMENT"] != "dev" else "APP_ENV"
    assert message.startswith(f"{var}={strict[var].strip()}: no Redis server address")
    assert "set REDIS_URL, REDIS_HOST or REDIS_UNIX_SOCKET_PATH" in message
    assert info.value.field == "host"
    assert PW not in message
    for given in (
        {"REDIS_URL": "rediss://cache.internal"},
        {"REDIS_HOST": "localhost"},
        {"REDIS_SOCKET_PATH": "/run/r.sock"},
        {"REDIS_UNIX_SOCKET_PATH": "/run/r.sock"},
    ):
        RedisConfig.from_env(environ=dict(strict, **given))
    RedisConfig.from_env(environ=strict, host="localhost")
    with pytest.raises(ConfigurationError):
        RedisConfig.from_env(environ=strict, host=None)
    with pytest.raises(ConfigurationError):
        RedisConfig.from_env(environ=dict(strict, REDIS_URL="redis://:pw@/0"))


def test_env_strict_message_uses_the_prefix() -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisConfig.from_env(prefix="REDIS__", environ={"ENVIRONMENT": "production"})
    assert "set REDIS__URL, REDIS__HOST or REDIS__UNIX_SOCKET_PATH" in str(info.value)


@pytest.mark.parametrize("env", [{}, {"ENVIRONMENT": "development"}, {"APP_ENV": "test"}])
def test_env_development_defaults_to_localhost(
    env: Dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    assert RedisConfig.from_env(environ=env).effective_host == "localhost"
    assert RedisConfig.from_env(environ=dict(env, REDIS_HOST="10.0.0.5")).host == "10.0.0.5"
    assert records(caplog) == []  # plain text off loopback is fine outside staging/production


def test_env_plain_text_warning_once_per_host(caplog: pytest.LogCaptureFixture) -> None:
    base = {"ENVIRONMENT": "production", "REDIS_PASSWORD": PW}
    for _ in range(3):
        RedisConfig.from_env(environ=dict(base, REDIS_HOST="cache.internal"))
    RedisConfig.from_env(environ=dict(base, REDIS_URL=f"redis://:{PW}@10.0.0.5:6380"))
    RedisConfig.from_env(environ=dict(base, REDIS_HOST="127.0.0.1"))
    RedisConfig.from_env(environ=dict(base, REDIS_HOST="::1"))
    RedisConfig.from_env(environ=dict(base, REDIS_SOCKET_PATH="/run/r.sock"))
    RedisConfig.from_env(environ=dict(base, REDIS_URL="rediss://tls.internal"))
    logged = records(caplog)
    assert [r.levelno for r in logged] == [logging.WARNING, logging.WARNING]
    assert logged[0].getMessage() == (
        "Redis connection to cache.internal:6379 is plain text (no TLS) with "
        "ENVIRONMENT=production: data and password cross the network unencrypted; "
        "use a rediss:// URL or REDIS_SSL=true"
    )
    assert "10.0.0.5:6380" in logged[1].getMessage()


def test_warning_lock_is_new_after_fork() -> None:
    before = config_env._once_lock
    config_env._after_fork_in_child()
    assert config_env._once_lock is not before
    with config_env._once_lock:
        pass


# -- redaction -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("redis://user:pw@h:6379/0", "redis://user:***@h:6379/0"),
        ("redis://:pw@h", "redis://:***@h"),
        ("rediss://:p@ss@h/0?db=1", "rediss://:***@h/0?db=1"),
        ("redis://secret@h", "redis://***@h"),  # no ':': maybe the password
        ("redis://@h", "redis://@h"),
        ("redis://h/0?password=pw&db=1", "redis://h/0?password=***&db=1"),
        (
            "connect to REDIS://u:pw@h and unix://:x@/run/s",
            "connect to REDIS://u:***@h and unix://:***@/run/s",
        ),
        ("no url here", "no url here"),
    ],
)
def test_redact_url(text: str, redacted: str) -> None:
    assert redact_url(text) == redacted


def secret_configs(tls_files: Dict[str, str]) -> List[RedisConfig]:
    return [
        RedisConfig(password=PW),
        RedisConfig(
            username="app",
            password=Secret(PW),
            host="cache",
            ssl=True,
            ssl_ca_certs=tls_files["ca.pem"],
        ),
        RedisConfig.from_url(f"redis://app:{PW}@h:6380/2?client_name=svc"),
        RedisConfig.from_url(f"redis://h?password={PW}"),
        RedisConfig.from_url(f"unix://:{PW}@/run/r.sock"),
        RedisConfig.from_env(environ={"REDIS_PASSWORD": PW, "REDIS_HOST": "h"}),
        RedisConfig.from_env(environ={"REDIS_URL": f"rediss://:{PW}@h"}),
    ]


def provoke_errors(tls_files: Dict[str, str], tmp_path: Path) -> List[ConfigurationError]:
    """Every ConfigurationError we can think of while the password is around."""
    bad_file = tmp_path / "bad-password"
    bad_file.write_bytes(b"\xff" + PW.encode())
    attempts: List[Any] = [
        lambda: RedisConfig(password=PW, port=0),
        lambda: RedisConfig(password=PW, username="a b", client_name="a b"),
        lambda: RedisConfig(password=PW, ssl_ca_certs="/x"),
        lambda: RedisConfig(password=PW).replace(db=-1),
        lambda: RedisConfig(password=PW + " ", host="a b"),
        lambda: RedisConfig.from_url(f"redis://:{PW}@h:abc"),
        lambda: RedisConfig.from_url(f"redis://:{PW}@h:0"),
        lambda: RedisConfig.from_url(f"http://:{PW}@h"),
        lambda: RedisConfig.from_url(f"redis://:{PW}@h/x"),
        lambda: RedisConfig.from_url(f"redis://:{PW}@[::1"),
        lambda: RedisConfig.from_url(f"redis://:{PW}#@h"),
        lambda: RedisConfig.from_url(f"redis://:a/{PW}@h"),
        lambda: RedisConfig.from_url(f"redis://:a?{PW}@h"),
        lambda: RedisConfig.from_url(f"redis://:a?{PW}=1"),
        lambda: RedisConfig.from_url(f"redis://h?pasword={PW}"),
        lambda: RedisConfig.from_url(f"redis://h?password={PW}&password={PW}"),
        lambda: RedisConfig.from_url(f"redis://:x@h?password={PW}"),
        lambda: RedisConfig.from_url(f"unix://:{PW}@run/s"),
        lambda: RedisConfig.from_url(f"redis://:{PW}@h", password=""),
        lambda: RedisConfig.from_env(environ={"REDIS_PASSWORD": PW, "REDIS_PORT": "x"}),
        lambda: RedisConfig.from_env(environ={"REDIS_URL": f"redis://:{PW}@h:x"}),
        lambda: RedisConfig.from_env(environ={"REDIS_PASSWORD_FILE": str(bad_file)}),
        lambda: RedisConfig.from_env(
            environ={"REDIS_PASSWORD_FILE": str(bad_file), "REDIS_PASSWORD": PW}
        ),
        lambda: RedisConfig.from_env(environ={"ENVIRONMENT": "production", "REDIS_PASSWORD": PW}),
    ]
    errors = []
    for attempt in attempts:
        with pytest.raises(ConfigurationError) as info:
            attempt()
        errors.append(info.value)
    return errors


def test_the_password_never_shows(
    tls_files: Dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: List[str] = []
    for cfg in secret_configs(tls_files):
        assert cfg.password == Secret(PW)
        texts += [repr(cfg), str(cfg), f"{cfg}", repr(cfg.debug_info()), cfg.to_url()]
        texts += [repr(cfg.password), str(cfg.password), f"{cfg.password!s:>30}"]
        assert cfg.core_kwargs()["password"] == PW  # the one sanctioned exit
    for exc in provoke_errors(tls_files, tmp_path):
        texts += [str(exc), repr(exc), exc.reason, repr(exc.args)]
        texts.append("".join(traceback.format_exception(type(exc), exc, None)))
    # Conflicts and production warnings are logged: their records must be clean too.
    RedisConfig.from_url(f"redis://:{PW}@h", password=PW + "2")
    RedisConfig.from_env(
        environ={
            "ENVIRONMENT": "production",
            "REDIS_URL": f"redis://:{PW}@h",
            "REDIS_PASSWORD": PW + "3",
        }
    )
    assert len(records(caplog)) >= 3
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args), caplog.text]
    joined = "\n".join(texts)
    assert PW not in joined
    assert "***" in joined


def test_traceback_locals_from_a_secret_url_hide_the_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisConfig.from_url(Secret(f"redis://app:{PW}@h:abc/0?password={PW}"))
    tb = traceback.TracebackException.from_exception(info.value, capture_locals=True)
    text = "".join(tb.format())
    assert "_with_source" in text and "call_args" in text  # the frames and locals are there
    assert PW not in text
    with pytest.raises(ConfigurationError) as info:
        RedisConfig.from_url(Secret(f"redis://app:{PW}@h:0/0"))
    text = "".join(
        traceback.TracebackException.from_exception(info.value, capture_locals=True).format()
    )
    assert "_merge" in text and "Secret('***')" in text
    assert PW not in text
