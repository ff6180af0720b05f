"""Unit tests of pyredisclient.config: RedisConfig.from_url, and redaction of
secrets in repr, errors and logs. No server is needed.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any, Dict, List

import pytest
from config_helpers import PW, check_error, records

from pyredisclient.config import ConfigurationError, RedisConfig, Secret, redact_url

pytestmark = pytest.mark.usefixtures("fresh_warnings")

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
