"""ConfigurationError: a client option is missing, malformed or contradicts another."""

from __future__ import annotations

from typing import Any, Tuple


class ConfigurationError(ValueError):
    """A client option is missing, malformed or contradicts another one.

    A ``ValueError``, never a ``RedisError``: it is a mistake in the program or its
    deployment, and retrying or falling back cannot help.

    Attributes:
        reason: the message without its source, e.g. "port must be an integer 1-65535,
            got 'abc'".
        field: the RedisConfig field concerned, or None.
        source: where the value came from: an environment variable such as "REDIS_PORT",
            "url" for :meth:`RedisConfig.from_url`, or None for a keyword argument.
    """

    def __init__(self, reason: str, field: str | None = None, source: str | None = None) -> None:
        self.reason = reason
        self.field = field
        self.source = source
        super().__init__(f"{source}: {reason}" if source else reason)

    def with_source(self, source: str) -> ConfigurationError:
        """Return the same error, naming ``source`` (an environment variable or "url")."""
        return ConfigurationError(self.reason, self.field, source)

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.reason, self.field, self.source))
