"""Client configuration: RedisConfig, its URL and environment readers, and Secret.

Every client option lives in one frozen, typed dataclass, :class:`RedisConfig`
(``model.py``), validated once and handed to the C core as plain values. Its parts:

- ``options.py``: each option's rule, the check of one value, the reading of text;
- ``url.py``: ``redis://``, ``rediss://`` and ``unix://`` URLs, read and written;
- ``env.py``: environment variables and password files, and the warnings about them;
- ``secret.py``: :class:`Secret` and the redaction of URLs and passwords;
- ``errors.py``: :class:`ConfigurationError`, a ``ValueError``, never a ``RedisError``.

See :class:`RedisConfig` for how the layers (keywords, URL, variables, defaults) combine.
"""

from .errors import ConfigurationError
from .model import RedisConfig
from .options import KEY_PREFIX_CATEGORIES, MAX_SECONDS, STRICT_ENVIRONMENTS
from .secret import Secret, hide_password, redact_url, secret_url

__all__ = [
    "KEY_PREFIX_CATEGORIES",
    "MAX_SECONDS",
    "STRICT_ENVIRONMENTS",
    "ConfigurationError",
    "RedisConfig",
    "Secret",
    "hide_password",
    "redact_url",
    "secret_url",
]
