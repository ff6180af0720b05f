"""RedisConfig: every client option in one frozen, typed dataclass.

:class:`RedisConfig` is validated once in ``__post_init__`` and handed to the C core as plain values by
:meth:`RedisConfig.core_kwargs`. It is built in one of three ways::

    RedisConfig(host="cache.internal", password="...", ssl=True)
    RedisConfig.from_url("rediss://app:s3cret@cache.internal:6380/2?socket_timeout=2")
    RedisConfig.from_env()          # REDIS_URL, or REDIS_HOST, REDIS_PORT, ...

Precedence, highest first (a layer only replaces the values it gives):

=====================================  ===================================================
layer                                  example
=====================================  ===================================================
1. explicit keyword arguments          ``from_env(socket_timeout=1.0)``, ``from_url(url, db=2)``
2. the URL (``url`` / ``{prefix}URL``)   ``redis://h:6380/2?socket_timeout=2``
3. separate environment variables      ``REDIS_HOST``, ``REDIS_SOCKET_TIMEOUT``, ...
4. the dataclass defaults              ``port=6379``, ``socket_timeout=5.0``, ...
=====================================  ===================================================

When a higher layer replaces a value that the URL gave, a WARNING is logged once per
process on the ``pyredisclient`` logger. redis-py's ``from_url`` does the opposite (its
query string wins over keyword arguments); code ported from redis-py that passes both gets
the keyword argument here. Setting ``host`` in a layer drops a lower layer's
``unix_socket_path`` and the other way round, so that one address is always meant.

Secrets (the password) are held in :class:`Secret`, which shows ``***`` in ``repr``,
``str``, ``format``, logs, debug views and tracebacks that print locals. The only place
the plain password is taken out is :meth:`RedisConfig.core_kwargs`.

Errors are :class:`ConfigurationError`, a ``ValueError`` (never a ``RedisError``), whose
message names the field, the environment variable or URL it came from, the bad value
(never a secret's) and what is allowed, e.g.
``REDIS_PORT: port must be an integer 1-65535, got 'abc'``.
"""

from __future__ import annotations

import codecs
import dataclasses
import ipaddress
import os
import re
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Tuple
from urllib.parse import quote, urlencode

from .credentials import PasswordFileCredentialProvider
from .env import (
    _SERVICE_LINK_RE,
    _env_differs,
    _EnvView,
    _ignored_password_vars,
    _read_password,
    _strict_environment,
    _warn_once,
    _warn_service_link,
    _warn_unknown_variables,
    database_var,
)
from .errors import ConfigurationError
from .options import _SSL_OPTIONS, _bad, _check, _check_overrides, _from_text, _same, _show
from .secret import Secret, _SecretField, hide_password, redact_url, secret_url
from .url import _parse_url, _to_text


@dataclass(frozen=True)
class RedisConfig:
    """Every client option, validated once; build it with keywords, from_url or from_env.

    ``host`` is None when not given and means ``"localhost"`` (:attr:`effective_host`);
    keeping "not given" apart lets :meth:`from_env` refuse a missing address in staging
    and production. ``pool_timeout=None`` means "the same as socket_timeout"
    (:attr:`effective_pool_timeout`). ``password`` takes a str or a :class:`Secret` and is
    always stored as a Secret. With ``ssl_cert_reqs="none"`` host names are not checked,
    as in redis-py (:attr:`effective_ssl_check_hostname`).

    Raises ConfigurationError (a ValueError) naming the first bad field.
    """

    host: str | None = None
    port: int = 6379
    unix_socket_path: str | None = None
    db: int = 0
    username: str | None = None
    password: _SecretField = _SecretField()  # noqa: RUF009 - a descriptor, not a default
    socket_timeout: float | None = 5.0
    socket_connect_timeout: float | None = 5.0
    socket_keepalive: bool = True
    socket_keepalive_idle: int = 60
    socket_keepalive_interval: int = 10
    socket_keepalive_count: int = 3
    pool_timeout: float | None = None
    max_connections: int = 50
    health_check_interval: float = 30.0
    decode_responses: bool = False
    encoding: str = "utf-8"
    encoding_errors: str = "strict"
    client_name: str | None = None
    retry_attempts: int = 3
    retry_base: float = 0.05
    retry_cap: float = 1.0
    retry_on_timeout: bool = False
    circuit_breaker: bool = True
    metrics: bool = True
    failure_threshold: int = 5
    recovery_timeout: float = 30.0
    success_threshold: int = 3
    failure_rate_threshold: float = 0.5
    failure_window: float = 10.0
    minimum_calls: int = 10
    min_recovery_timeout: float = 1.0
    ssl: bool = False
    ssl_ca_certs: str | None = None
    ssl_ca_path: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_cert_reqs: str = "required"
    ssl_check_hostname: bool = True
    ssl_server_hostname: str | None = None
    key_prefix: str | None = None
    key_prefix_allow: Tuple[str, ...] = ()
    key_prefix_channels: bool = True
    max_reply_bytes: int = 512 * 1024 * 1024
    memory_warning_ratio: float = 0.8
    memory_critical_ratio: float = 0.9
    async_multiplex: bool = True
    async_multiplex_connections: int = 1
    otel_attributes: Tuple[Tuple[str, Any], ...] = ()
    password_file: str | None = None
    credential_provider: Any = None

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            checked = _check(f.name, value)
            if checked is not value:
                object.__setattr__(self, f.name, checked)
        self._check_address()
        self._check_text()
        self._check_credentials()
        self._check_relations()
        self._check_tls()

    def _check_address(self) -> None:
        host = self.host
        if host is not None:
            if "://" in host:
                raise ConfigurationError(
                    f"host must be a host name or IP address, got {_show(host)}; "
                    "for a URL use RedisConfig.from_url()",
                    "host",
                )
            if not host or any(c.isspace() or c in "/?#@[]" for c in host):
                raise _bad("host", self.host)
            if self.unix_socket_path is not None:
                raise ConfigurationError(
                    "host and unix_socket_path are both given; give one of them", "host"
                )
        if self.unix_socket_path is not None and self.ssl:
            raise ConfigurationError(
                "ssl cannot be used with unix_socket_path; TLS is for TCP connections", "ssl"
            )

    def _check_text(self) -> None:
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise _bad("encoding", self.encoding)
        try:
            codecs.lookup_error(self.encoding_errors)
        except LookupError:
            raise _bad("encoding_errors", self.encoding_errors)
        name = self.client_name
        if name is not None and not all("!" <= c <= "~" for c in name):
            raise _bad("client_name", name)

    def _check_credentials(self) -> None:
        if self.credential_provider is not None:
            for name in ("username", "password", "password_file"):
                if getattr(self, name) is not None:
                    raise ConfigurationError(
                        f"{name} is given with credential_provider; the provider gives "
                        "the username and password (give one or the other)",
                        name,
                    )
        if self.password_file is not None and self.password is None:
            # Read now, so that a missing or empty file fails here (not at the first
            # command); the client reads it again whenever it changes.
            object.__setattr__(self, "password", _read_password_file(self.password_file))

    def _check_relations(self) -> None:
        if self.retry_cap < self.retry_base:
            raise ConfigurationError(
                f"retry_cap must be >= retry_base ({self.retry_base!r}), got {self.retry_cap!r}",
                "retry_cap",
            )
        if self.memory_warning_ratio > self.memory_critical_ratio:
            raise ConfigurationError(
                "memory_warning_ratio must be <= memory_critical_ratio "
                f"({self.memory_critical_ratio!r}), got {self.memory_warning_ratio!r}",
                "memory_warning_ratio",
            )
        if self.key_prefix_allow and self.key_prefix is None:
            raise ConfigurationError(
                "key_prefix_allow is given without key_prefix; it grants a prefixed client "
                "commands that reach beyond its prefix",
                "key_prefix_allow",
            )

    def _check_tls(self) -> None:
        if not self.ssl:
            for name, default in _SSL_OPTIONS.items():
                if getattr(self, name) != default:
                    raise ConfigurationError(
                        f"{name} is set but ssl is off; set ssl=True (or use a rediss:// URL) "
                        f"for TLS, or drop {name}",
                        name,
                    )
            return
        for name in ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile"):
            path = getattr(self, name)
            if path is not None and not (os.path.isfile(path) and os.access(path, os.R_OK)):
                raise ConfigurationError(
                    f"{name} must be the path of a readable file, got {_show(path)} "
                    "(missing, not a file, or not readable)",
                    name,
                )
        ca_path = self.ssl_ca_path
        if ca_path is not None and not (
            os.path.isdir(ca_path) and os.access(ca_path, os.R_OK | os.X_OK)
        ):
            raise ConfigurationError(
                f"ssl_ca_path must be a readable directory, got {_show(ca_path)}",
                "ssl_ca_path",
            )
        if self.ssl_keyfile is not None and self.ssl_certfile is None:
            raise ConfigurationError(
                "ssl_keyfile is given without ssl_certfile; a client certificate needs both",
                "ssl_keyfile",
            )

    # -- derived values -------------------------------------------------------------------

    @property
    def effective_host(self) -> str:
        """The host to connect to: ``host``, or "localhost" when it was not given."""
        return self.host if self.host is not None else "localhost"

    @property
    def effective_pool_timeout(self) -> float | None:
        """How long to wait for a pooled connection: ``pool_timeout`` or socket_timeout."""
        return self.pool_timeout if self.pool_timeout is not None else self.socket_timeout

    @property
    def effective_ssl_check_hostname(self) -> bool:
        """Whether TLS checks the host name: only with ssl on and certificates verified."""
        return self.ssl and self.ssl_check_hostname and self.ssl_cert_reqs != "none"

    @property
    def is_loopback(self) -> bool:
        """True for a unix socket, localhost or a loopback address (no DNS is done)."""
        if self.unix_socket_path is not None:
            return True
        host = self.effective_host.rstrip(".").lower()
        if host == "localhost" or host.endswith(".localhost"):
            return True
        try:
            address = ipaddress.ip_address(host.partition("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            return address.ipv4_mapped.is_loopback
        return address.is_loopback

    # -- views ---------------------------------------------------------------------------

    def core_kwargs(self) -> Dict[str, Any]:
        """Return the plain values the C binding takes: every field, effective values
        resolved (host, pool_timeout, ssl_check_hostname) and the password as a str.
        """
        kwargs = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        kwargs["host"] = self.effective_host
        kwargs["pool_timeout"] = self.effective_pool_timeout
        kwargs["ssl_check_hostname"] = self.effective_ssl_check_hostname
        # The one place the secret is unwrapped: the binding copies it straight into the
        # core's AUTH command. Keep it the only one, so every other view stays redacted.
        kwargs["password"] = None if self.password is None else self.password.get_secret_value()
        if self.username is not None and self.password is None:
            kwargs["password"] = ""  # AUTH username "": an ACL user with nopass (as redis-py)
        provider = self.effective_credential_provider
        if provider is not None:
            kwargs["credential_provider"] = provider
            kwargs["password"] = kwargs["username"] = None  # the provider gives them
        return kwargs

    @property
    def effective_credential_provider(self) -> Any:
        """What the client asks for credentials at each new connection:
        ``credential_provider``, or for ``password_file`` a
        :class:`~pyredisclient.config.credentials.PasswordFileCredentialProvider`
        (one per config, so that its clients share what it read), or None."""
        if self.password_file is None:
            return self.credential_provider
        provider = self.__dict__.get("_file_provider")
        if provider is None:
            provider = PasswordFileCredentialProvider(self.password_file, self.username)
            object.__setattr__(self, "_file_provider", provider)
        return provider

    def debug_info(self) -> Dict[str, Any]:
        """Return every setting and effective value, safe to log: secrets show as "***"."""
        info: Dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Secret):
                value = "***"
            elif f.name == "credential_provider" and value is not None:
                value = f"<{type(value).__name__}>"  # its repr is the user's
            elif isinstance(value, str):
                value = redact_url(value)
            info[f.name] = value
        info["effective_host"] = self.effective_host
        info["effective_pool_timeout"] = self.effective_pool_timeout
        info["effective_ssl_check_hostname"] = self.effective_ssl_check_hostname
        info["is_loopback"] = self.is_loopback
        info["url"] = self.to_url()
        return info

    def to_url(self, include_password: bool = False) -> str:
        """Return a URL that :meth:`from_url` reads back into an equal config.

        The password shows as ``***`` unless ``include_password`` is true. Options that
        differ from their defaults go in the query string. A host that was not given is
        written as localhost.
        """
        userinfo = ""
        if self.password is not None:
            user = quote(self.username or "", safe="")
            plain = self.password.get_secret_value() if include_password else None
            userinfo = f"{user}:{'***' if plain is None else quote(plain, safe='')}@"
        skip = {"host", "port", "unix_socket_path", "username", "password", "ssl", "db"}
        if self.password is None:
            skip.discard("username")  # a nopass user: ?username= (from_url refuses user@)
        skip.add("credential_provider")  # an object: no URL can carry it
        if self.unix_socket_path is not None:
            head = f"unix://{userinfo}{quote(self.unix_socket_path, safe='/')}"
            skip.discard("db")
        else:
            host = quote(self.effective_host, safe=":")
            host = f"[{host}]" if ":" in host else host
            scheme = "rediss" if self.ssl else "redis"
            head = f"{scheme}://{userinfo}{host}:{self.port}/{self.db}"
        items = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name not in skip and value != f.default:
                items.append((f.name, _to_text(value)))
        return f"{head}?{urlencode(items, quote_via=quote)}" if items else head

    def replace(self, **changes: Any) -> RedisConfig:
        """Return a copy with ``changes`` applied, validated again."""
        hide_password(changes)  # first: tracebacks that print locals must not show it
        return dataclasses.replace(self, **changes)

    # -- constructors --------------------------------------------------------------------

    @classmethod
    def from_url(cls, url: str | Secret, **overrides: Any) -> RedisConfig:
        """Build a config from a URL; keyword arguments win over the URL.

        Forms: ``redis://[[username]:password@]host[:port][/db][?option=value&...]``,
        ``rediss://...`` (TLS: ssl=True) and ``unix://[[username]:password@]/path?db=N``.
        User info and the path are percent-decoded (write ``@`` as %40, ``:`` as %3A, ``/``
        as %2F, ``?`` as %3F and ``#`` as %23 in a password); IPv6 hosts go in brackets,
        ``redis://[::1]:6379``. The database comes from the path (``/3``) or ``?db=3``.
        Query options are RedisConfig field names (not host, port or unix_socket_path),
        read as their type; booleans take 1/0, true/false, yes/no, on/off in any case, and
        optional values take ``none`` or an empty value for None. An unknown scheme or
        option raises ConfigurationError, and so does user info without a ``:``
        (``redis://secret@host``: redis-py reads it as a user name with an empty
        password, which no server accepts), without quoting it.

        Unlike redis-py, where the query string wins over keyword arguments, here an
        explicit keyword argument wins; when it replaces a value the URL gave, a WARNING is
        logged once per process. Pass only the keywords the caller really gave.
        """
        url = secret_url(url)  # first: tracebacks that print locals must not show it
        hide_password(overrides)
        _check_overrides("from_url", overrides)
        return cls._merge({}, {}, _with_source(_parse_url, url, "url"), "url", overrides)

    @classmethod
    def from_env(
        cls,
        prefix: str = "REDIS_",
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> RedisConfig:
        """Build a config from environment variables named ``{prefix}{FIELD}``.

        Read (``environ`` defaults to ``os.environ``): ``{prefix}URL``; one variable per
        field, ``{prefix}`` + the field name in capitals (``REDIS_HOST``, ``REDIS_PORT``,
        ``REDIS_SOCKET_TIMEOUT``, ``REDIS_SSL_CA_CERTS``, ``REDIS_KEY_PREFIX``, ...);
        ``{prefix}PASSWORD_FILE``, a file (such as a mounted secret) holding the password,
        one trailing newline stripped; and ``{prefix}SOCKET_PATH``, another name for
        ``{prefix}UNIX_SOCKET_PATH``. An empty variable counts as unset.

        Precedence: keyword arguments > ``{prefix}URL`` > separate variables > defaults.
        The URL wins over a separate variable that says otherwise (a WARNING names the
        ignored variable once); separate variables fill in what the URL leaves out. A
        variable whose field a higher layer gives is neither read as its type nor
        checked (a password file is not even opened).

        Kubernetes sets ``REDIS_PORT=tcp://10.0.0.1:6379`` (and ``REDIS_SERVICE_HOST``,
        ``REDIS_PORT_6379_TCP...``) for a Service named ``redis``. Such a ``tcp://``
        value in ``{prefix}PORT`` is not taken for a port: it is ignored, with a WARNING
        once unless a higher layer gives the port anyway. Any other ``{prefix}*``
        variable that is not a setting (``REDIS_URI``, ``REDIS_DATABASE``, a typo) gets
        a WARNING once naming the closest setting; service-link variables do not.

        When ``ENVIRONMENT`` or ``APP_ENV`` is ``staging`` or ``production`` (any case), a
        missing address (no URL host, ``{prefix}HOST`` or unix socket) raises
        ConfigurationError instead of meaning localhost, and a connection without TLS to
        a host that is not loopback logs a WARNING once per host.

        Errors name the variable: ``REDIS_PORT: port must be an integer 1-65535, got 'abc'``.
        """
        hide_password(overrides)  # first: tracebacks that print locals must not show it
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
        _check_overrides("from_env", overrides)
        # A view whose repr hides values: tracebacks formatted with their locals
        # (capture_locals=True, Sentry, rich) must not print REDIS_PASSWORD.
        env: Mapping[str, str] = _EnvView(os.environ if environ is None else environ)
        environ = None

        def read(suffix: str) -> str | None:
            value = env.get(prefix + suffix)
            return value if value else None

        url_source = prefix + "URL"
        # Wrapped in the same expression that reads it: no local holds the plain URL.
        url_secret = secret_url(read("URL"))
        url_values: Dict[str, Any] = {}
        if url_secret is not None:
            url_values = _with_source(_parse_url, url_secret, url_source)

        # Fields a higher layer gives: their variables are neither validated nor used
        # (REDIS_PORT=tcp://... from Kubernetes must not break a config with REDIS_URL).
        given = set(overrides) | set(url_values)
        if given & {"host", "unix_socket_path"}:
            given |= {"host", "unix_socket_path"}  # one address: a layer gives both
        env_values: Dict[str, Any] = {}
        env_sources: Dict[str, str] = {}
        ignored: List[str] = []  # variables the URL says otherwise about
        for f in dataclasses.fields(cls):
            name = f.name
            if name == "password_file":  # read with the password
                continue
            if name == "password":  # read apart, so that no local here holds it in plain
                if given & {"password", "password_file", "credential_provider"}:
                    ignored += _ignored_password_vars(prefix, read, url_values)
                    continue
                env_values.update(_read_password(prefix, read))
                if "password" in env_values:
                    plain_var = prefix + "PASSWORD"
                    plain_given = read("PASSWORD") is not None
                    env_sources[name] = plain_var if plain_given else plain_var + "_FILE"
                    if not plain_given:  # read again whenever it changes
                        env_values["password_file"] = read("PASSWORD_FILE")
                        env_sources["password_file"] = plain_var + "_FILE"
                continue
            var = prefix + name.upper()
            raw = read(name.upper())
            if name == "unix_socket_path":
                alias = read("SOCKET_PATH")
                if raw is None:
                    raw, var = alias, prefix + "SOCKET_PATH"
                elif alias is not None and alias != raw and name not in given:
                    raise ConfigurationError(
                        f"{var} and {prefix}SOCKET_PATH are both set, to different paths; set one",
                        name,
                    )
            if raw is None:
                continue
            if name == "port" and _SERVICE_LINK_RE.match(raw):
                if name not in given:
                    _warn_service_link(var, raw, prefix)
                continue
            if name in given:
                if _env_differs(name, raw, url_values):
                    ignored.append(var)
                continue
            env_values[name] = _with_source(_from_text, name, raw, var)
            env_sources[name] = var
        if ignored:
            _warn_once(
                ("env-vs-url", url_source, *sorted(ignored)),
                "%s ignored: %s says otherwise, and the URL wins over separate variables",
                ", ".join(sorted(ignored)),
                url_source,
            )
        if prefix:
            _warn_unknown_variables(prefix, env)

        strict = _strict_environment(env)
        if strict is not None and not any(
            layer.get(key) is not None
            for layer in (overrides, url_values, env_values)
            for key in ("host", "unix_socket_path")
        ):
            raise ConfigurationError(
                "no Redis server address is configured, and outside development localhost "
                f"is not assumed; set {prefix}URL, {prefix}HOST or {prefix}UNIX_SOCKET_PATH",
                "host",
                f"{strict[0]}={strict[1]}",
            )
        config = cls._merge(env_values, env_sources, url_values, url_source, overrides)
        if strict is not None and not config.ssl and not config.is_loopback:
            _warn_once(
                ("plain-text", config.effective_host),
                "Redis connection to %s:%d is plain text (no TLS) with %s=%s: data and "
                "password cross the network unencrypted; use a rediss:// URL or %sSSL=true",
                config.effective_host,
                config.port,
                strict[0],
                strict[1],
                prefix,
            )
        return config

    @classmethod
    def databases_from_env(
        cls,
        names: Iterable[str] | Mapping[str, int] | None = None,
        prefix: str = "REDIS_",
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> Dict[str, RedisConfig]:
        """Build one config per named logical database from the environment.

        The server settings are :meth:`from_env`'s (same *prefix*, *environ* and
        keyword *overrides*); each name adds its own ``{prefix}{NAME}_DB`` and
        ``{prefix}{NAME}_KEY_PREFIX`` (``REDIS_CACHE_DB=1``, ``REDIS_SESSION_DB=2``,
        ``REDIS_PUBSUB_DB=3``). With a prefix ending in ``__`` (the nested style of
        pydantic-settings) the separator is ``__`` too: ``REDIS__HOST``,
        ``REDIS__CACHE__DB``.

        *names* lists the databases (a mapping gives each its default db number);
        None takes every name that has a variable. A name without a variable gets
        its default, else the base config's db. Errors name the variable.
        """
        hide_password(overrides)  # first: tracebacks that print locals must not show it
        env: Mapping[str, str] = _EnvView(os.environ if environ is None else environ)
        environ = None
        base = cls.from_env(prefix, env, **overrides)
        found: Dict[str, Dict[str, Tuple[str, str]]] = {}
        for var in env:
            hit = database_var(prefix, var) if env[var] else None
            if hit is not None:
                found.setdefault(hit[0], {})[hit[1]] = (env[var], var)
        defaults: Dict[str, int | None]
        if names is None:
            defaults = {name: None for name in sorted(found)}
        elif isinstance(names, Mapping):
            defaults = {str(name): int(db) for name, db in names.items()}
        elif isinstance(names, str):
            raise TypeError("names must be a list of names or a mapping, not a str")
        else:
            defaults = {str(name): None for name in names}
        configs: Dict[str, RedisConfig] = {}
        for name, default in defaults.items():
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
                raise ConfigurationError(
                    f"a database name is letters, digits and _, got {name!r}", "names", "names"
                )
            changes: Dict[str, Any] = {} if default is None else {"db": default}
            for field, (raw, var) in found.get(name.lower(), {}).items():
                changes[field] = _with_source(_from_text, field, raw, var)
            configs[name] = base.replace(**changes) if changes else base
        return configs

    @classmethod
    def _merge(
        cls,
        env_values: Dict[str, Any],
        env_sources: Dict[str, str],
        url_values: Dict[str, Any],
        url_source: str,
        overrides: Mapping[str, Any],
    ) -> RedisConfig:
        """Layer environment < URL < keyword values, warn on conflicts, build, and name
        the source of a bad value in the error.
        """
        merged: Dict[str, Any] = {}
        sources: Dict[str, str] = {}
        layers: Tuple[Tuple[Mapping[str, Any], str | None], ...] = (
            (env_values, None),
            (url_values, url_source),
            (overrides, None),
        )
        for values, source in layers:
            for key, other in (("host", "unix_socket_path"), ("unix_socket_path", "host")):
                if key in values and other not in values:
                    merged.pop(other, None)
                    sources.pop(other, None)
            for key, value in values.items():
                merged[key] = value
                src = env_sources.get(key) if values is env_values else source
                if src is None:
                    sources.pop(key, None)
                else:
                    sources[key] = src

        replaced = sorted(key for key in overrides if _conflicts(key, overrides, url_values))
        if replaced:
            _warn_once(
                ("override-vs-url", url_source, *replaced),
                "keyword argument(s) %s replace the value(s) given in %s: explicit arguments "
                "win over the URL here (redis-py's from_url lets the URL win)",
                ", ".join(replaced),
                url_source,
            )
        try:
            return cls(**merged)
        except ConfigurationError as exc:
            source = sources.get(exc.field) if exc.field else None
            if source is None:
                raise
            raise exc.with_source(source) from None


def _read_password_file(path: str) -> Secret:
    """The password in ``path`` (``password_file``), or ConfigurationError."""
    try:
        return PasswordFileCredentialProvider(path)._current()
    except OSError as exc:
        raise ConfigurationError(str(exc), "password_file") from None


def _conflicts(key: str, layer: Mapping[str, Any], url_values: Mapping[str, Any]) -> bool:
    """Tell whether ``layer``'s value for ``key`` replaces a different one in the URL."""
    if key in url_values:
        return not _same(key, layer[key], url_values[key])
    other = {"host": "unix_socket_path", "unix_socket_path": "host"}.get(key)
    return other is not None and other in url_values


def _with_source(function: Any, *args: Any) -> Any:
    """Call ``function(*args[:-1])``; name ``args[-1]`` in any ConfigurationError it raises."""
    *call_args, source = args
    try:
        return function(*call_args)
    except ConfigurationError as exc:
        raise exc.with_source(source) from None
