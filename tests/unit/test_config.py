"""Unit tests of pyredisclient.config: Secret, ConfigurationError, defaults and
derived values, validation, views. test_config_url.py covers from_url and redaction,
test_config_env.py from_env. No server is needed.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import pickle
import ssl
from pathlib import Path
from typing import Any, Dict, List

import pytest
from config_helpers import PW, check_error

from pyredisclient.config import ConfigurationError, RedisConfig, Secret
from pyredisclient.config import options as config_options

pytestmark = pytest.mark.usefixtures("fresh_warnings")

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


@pytest.mark.parametrize(
    "kwargs",
    [
        {"host": "h\udcff"},
        {"unix_socket_path": "/tmp/\ud800.sock"},
        {"username": "\udcffu", "password": "pw"},
        {"password": PW + "\udcff"},
        {"password": Secret("\ud800" + PW)},
    ],
)
def test_text_that_is_not_utf8_is_refused_without_echoing_it(kwargs: Dict[str, Any]) -> None:
    """A lone surrogate: a ConfigurationError naming the field, not the codec's
    UnicodeEncodeError from the binding, whose ``object`` is the whole text (a
    password too)."""
    field = next(iter(kwargs))
    with pytest.raises(ConfigurationError) as info:
        RedisConfig(**kwargs)
    assert str(info.value) == f"{field} cannot be encoded as UTF-8 (surrogates not allowed)"
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert PW not in repr(info.value.args)


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
    "socket_keepalive_idle": 60,
    "socket_keepalive_interval": 10,
    "socket_keepalive_count": 3,
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
    "key_prefix_channels": True,
    "max_reply_bytes": 512 * 1024 * 1024,
    "memory_warning_ratio": 0.8,
    "memory_critical_ratio": 0.9,
    "async_multiplex": True,
    "async_multiplex_connections": 1,
    "otel_attributes": (),
    "password_file": None,
    "credential_provider": None,
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
    ({"otel_attributes": {"k": None}}, "otel_attributes", "str, bool, int or float"),
    ({"otel_attributes": {"": "v"}}, "otel_attributes", "got {'': 'v'}"),
    ({"otel_attributes": "project"}, "otel_attributes", "'name=value,name=value'"),
    ({"otel_attributes": 5}, "otel_attributes", "got 5"),
    ({"otel_attributes": [("a", "b", "c")]}, "otel_attributes", "got [('a', 'b', 'c')]"),
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
