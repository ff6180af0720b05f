"""Unit tests of pyredisclient.config: RedisConfig.from_env (variables, files,
Kubernetes service links, warnings). No server is needed.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, Dict

import pytest
from config_helpers import PW, records

from pyredisclient.config import ConfigurationError, RedisConfig, Secret
from pyredisclient.config import env as config_env

pytestmark = pytest.mark.usefixtures("fresh_warnings")

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
        "socket_keepalive_idle": "30",
        "socket_keepalive_interval": "5",
        "socket_keepalive_count": "4",
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
        "key_prefix_channels": "no",
        "max_reply_bytes": "4096",
        "memory_warning_ratio": "0.5",
        "memory_critical_ratio": "0.6",
        "async_multiplex": "false",
        "async_multiplex_connections": "4",
        "otel_attributes": "gcp.project_id=p1, service.tier = gold",
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
        socket_keepalive_idle=30,
        socket_keepalive_interval=5,
        socket_keepalive_count=4,
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
        key_prefix_channels=False,
        max_reply_bytes=4096,
        memory_warning_ratio=0.5,
        memory_critical_ratio=0.6,
        async_multiplex=False,
        async_multiplex_connections=4,
        otel_attributes={"service.tier": "gold", "gcp.project_id": "p1"},
    )
    # PASSWORD_FILE is PASSWORD's other form; a credential provider is an object.
    names = {f.name.upper() for f in dataclasses.fields(RedisConfig)} - {
        "UNIX_SOCKET_PATH",
        "PASSWORD_FILE",
        "CREDENTIAL_PROVIDER",
    }
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
