"""Reading the environment: variables, password files, and the warnings that say
when a variable is ignored (a URL says otherwise, a Kubernetes service link, a name
that is no setting). Each warning is given once per process.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import threading
from typing import Any, Dict, Iterator, List, Mapping, Tuple

from .errors import ConfigurationError
from .options import _RULES, STRICT_ENVIRONMENTS, _from_text, _same, _show
from .secret import Secret

logger = logging.getLogger("pyredisclient")

# "Once per process" bookkeeping for warnings. The lock is re-created in a forked child,
# whose copy may have been taken while another thread held it (DESIGN.md: fork safety).
_once_lock = threading.Lock()
_once_keys: set[Tuple[str, ...]] = set()


def _warn_once(key: Tuple[str, ...], message: str, *args: object) -> None:
    with _once_lock:
        if key in _once_keys:
            return
        _once_keys.add(key)
    logger.warning(message, *args)


def _after_fork_in_child() -> None:
    global _once_lock
    _once_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _EnvView(Mapping[str, str]):
    """Read-only view of an environment mapping whose repr never shows values."""

    __slots__ = ("_env",)

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def __getitem__(self, key: str) -> str:
        return self._env[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)

    def __repr__(self) -> str:
        return f"<environment: {len(self._env)} variables, values hidden>"


def _strict_environment(environ: Mapping[str, str]) -> Tuple[str, str] | None:
    """Return (variable, value) when ENVIRONMENT or APP_ENV names staging or production."""
    for var in ("ENVIRONMENT", "APP_ENV"):
        value = environ.get(var, "").strip()
        if value.lower() in STRICT_ENVIRONMENTS:
            return var, value
    return None


def _read_password(prefix: str, read: Any) -> Dict[str, Secret]:
    """Read ``{prefix}PASSWORD`` or ``{prefix}PASSWORD_FILE`` (never both)."""
    plain_var, file_var = prefix + "PASSWORD", prefix + "PASSWORD_FILE"
    path = read("PASSWORD_FILE")
    if path is None:
        password = _from_text("password", Secret(read("PASSWORD") or ""))
        return {} if password is None else {"password": password}
    if read("PASSWORD") is not None:
        raise ConfigurationError(
            f"{plain_var} and {file_var} are both set; set one", "password", file_var
        )
    reason = ""
    try:
        with open(path, encoding="utf-8") as file:
            secret = Secret(file.read())
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    except UnicodeDecodeError:  # its message would quote the file's bytes
        reason = "not UTF-8 text"
    if reason:
        raise ConfigurationError(
            f"cannot read the password file {_show(path)}: {reason}", "password", file_var
        )
    value = secret.get_secret_value()
    if value.endswith("\n"):
        value = value[:-2] if value.endswith("\r\n") else value[:-1]
    if not value:
        raise ConfigurationError(f"the password file {_show(path)} is empty", "password", file_var)
    return {"password": Secret(value)}


# Kubernetes (and Docker links, which GitLab CI services use) set, for a Service or
# link named "redis": REDIS_PORT=tcp://10.0.0.1:6379, REDIS_PORT_6379_TCP=tcp://...,
# REDIS_PORT_6379_TCP_ADDR/_PORT/_PROTO, REDIS_SERVICE_HOST, REDIS_SERVICE_PORT(_NAME);
# for "redis-master", the same after REDIS_MASTER_. Docker links add NAME=/... and
# ENV_*; the official redis image sets VERSION, DOWNLOAD_URL and DOWNLOAD_SHA.
_SERVICE_LINK_RE = re.compile(r"\s*(tcp|udp|sctp)://", re.IGNORECASE)
_SERVICE_NOISE_RE = re.compile(
    r"(([A-Z0-9_]+_)?(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?"
    r"|PORT_[0-9]+_(TCP|UDP|SCTP)(_ADDR|_PORT|_PROTO)?|ENV_[A-Za-z0-9_]+)"
    r"|VERSION|DOWNLOAD_URL|DOWNLOAD_SHA)\Z"
)
# Names people write for a setting, and the variable they meant (difflib misses these).
_ENV_ALIASES = {
    "URI": "URL",
    "DSN": "URL",
    "ADDR": "HOST",
    "ADDRESS": "HOST",
    "HOSTNAME": "HOST",
    "SERVER": "HOST",
    "DATABASE": "DB",
    "DB_NUMBER": "DB",
    "INDEX": "DB",
    "USER": "USERNAME",
    "PASS": "PASSWORD",
    "PASSWD": "PASSWORD",
    "PWD": "PASSWORD",
    "AUTH": "PASSWORD",
    "TIMEOUT": "SOCKET_TIMEOUT",
    "CONNECT_TIMEOUT": "SOCKET_CONNECT_TIMEOUT",
    "CONNECTION_TIMEOUT": "SOCKET_CONNECT_TIMEOUT",
    "POOL_SIZE": "MAX_CONNECTIONS",
    "TLS": "SSL",
    "USE_SSL": "SSL",
    "USE_TLS": "SSL",
    "PREFIX": "KEY_PREFIX",
    "NAME": "CLIENT_NAME",
    "SOCKET": "SOCKET_PATH",
    "UNIX_SOCKET": "UNIX_SOCKET_PATH",
}


def _warn_service_link(var: str, raw: str, prefix: str) -> None:
    """Say once that a ``tcp://host:port`` port variable is ignored, and what to set."""
    value = raw.strip()
    _warn_once(
        ("service-link", var, value),
        "%s=%s is not a port number but a Kubernetes service link (set for a Service "
        "named %r); ignored, so the port is 6379 unless another setting gives it. Give "
        "the address with %sURL (e.g. redis://%s/0) or %sHOST and %sPORT",
        var,
        _show(value),
        var[: -len("_PORT")].lower().replace("_", "-"),
        prefix,
        _SERVICE_LINK_RE.sub("", value, count=1),
        prefix,
        prefix,
    )


def _env_differs(name: str, raw: str, url_values: Mapping[str, Any]) -> bool:
    """Tell whether variable text for ``name`` says otherwise than the URL does.

    Unreadable text counts as different (it is ignored either way, never an error);
    a field given only by a keyword argument does not (that layer is explicit).
    """
    if name in url_values:
        try:
            return not _same(name, _from_text(name, raw), url_values[name])
        except ConfigurationError:
            return True
    pair = {"host": "unix_socket_path", "unix_socket_path": "host"}.get(name)
    return pair is not None and pair in url_values


def _ignored_password_vars(prefix: str, read: Any, url_values: Mapping[str, Any]) -> List[str]:
    """The password variables a URL's password overrides, when they say otherwise.

    The password file is not read: a value that is not used is not checked either.
    """
    if "password" not in url_values:
        return []
    out = []
    if read("PASSWORD") is not None and Secret(read("PASSWORD")) != url_values["password"]:
        out.append(prefix + "PASSWORD")
    if read("PASSWORD_FILE") is not None:
        out.append(prefix + "PASSWORD_FILE")
    return out


def _warn_unknown_variables(prefix: str, env: Mapping[str, str]) -> None:
    """Warn once about each ``{prefix}*`` variable that is no setting, naming the closest.

    ``REDIS_URI`` or ``REDIS_TIMEOUT`` would otherwise be dropped silently and the app
    would talk to localhost. Service-link variables (Kubernetes, Docker links) are
    expected noise and skipped, as are longer prefixes (``REDIS__HOST`` belongs to
    ``from_env(prefix="REDIS__")``). Values are never shown: they may be secrets.
    """
    known = {name.upper() for name in _RULES}  # the RedisConfig fields
    known |= {"URL", "PASSWORD_FILE", "SOCKET_PATH"}
    for var in env:
        if not var.startswith(prefix) or not env[var]:
            continue
        suffix = var[len(prefix) :]
        if suffix in known or not suffix or suffix.startswith("_"):
            continue
        if _SERVICE_NOISE_RE.match(suffix) or database_var(prefix, var) is not None:
            continue  # service links; a named database's REDIS_CACHE_DB
        if (suffix.endswith("_PORT") or suffix == "NAME") and (
            _SERVICE_LINK_RE.match(env[var]) or env[var].startswith("/")
        ):
            continue  # REDIS_MASTER_PORT=tcp://..., a Docker link's NAME=/job/redis
        guess = _ENV_ALIASES.get(suffix.upper())
        if guess is None:
            close = difflib.get_close_matches(suffix.upper(), sorted(known), n=1)
            guess = close[0] if close else None
        hint = f"did you mean {prefix}{guess}?" if guess else "see RedisConfig.from_env"
        _warn_once(
            ("unknown-env", var),
            "%s is set but is not a pyredisclient setting, so it is ignored (%s)",
            var,
            hint,
        )


# A named database's variables: REDIS_CACHE_DB, REDIS_CACHE_KEY_PREFIX, or in the nested
# style (prefix "REDIS__") REDIS__CACHE__DB. The name is letters, digits and "_".
_DATABASE_FIELDS = ("DB", "KEY_PREFIX")


def database_var(prefix: str, var: str) -> Tuple[str, str] | None:
    """Return (name, field) when ``var`` is a named database's variable under ``prefix``.

    ``REDIS_CACHE_DB`` gives ("cache", "db"); with prefix ``REDIS__``,
    ``REDIS__CACHE__DB`` does. A configuration field (``REDIS_KEY_PREFIX``) is none.
    """
    if not var.startswith(prefix):
        return None
    sep = "__" if prefix.endswith("__") else "_"
    suffix = var[len(prefix) :]
    for field in _DATABASE_FIELDS:
        tail = sep + field
        name = suffix[: -len(tail)] if suffix.endswith(tail) else ""
        if re.fullmatch(r"[A-Z][A-Z0-9_]*", name) and not name.endswith("_"):
            if name.lower() in _RULES or (name + "_" + field).lower() in _RULES:
                return None
            return name.lower(), field.lower()
    return None
