"""The exception hierarchy (defined by the C extension, re-exported here).

``ConnectionError`` and ``TimeoutError`` also subclass the builtins of the same
names, so ``except OSError`` catches them too. ``DataError`` is also a
``TypeError``. ``ConfigurationError`` is a ``ValueError`` and never a ``RedisError``.
"""

from ._core import (
    AuthenticationError,
    BusyLoadingError,
    CircuitOpenError,
    ConnectionError,
    DataError,
    ExecAbortError,
    InvalidResponse,
    MaxClientsError,
    NoPermissionError,
    NoScriptError,
    OutOfMemoryError,
    PoolTimeoutError,
    ProtocolError,
    ReadOnlyError,
    RedisError,
    ReplyLimitError,
    ResponseError,
    TimeoutError,
    WatchError,
)
from .config import ConfigurationError

__all__ = [
    "AuthenticationError",
    "BusyLoadingError",
    "CircuitOpenError",
    "ConfigurationError",
    "ConnectionError",
    "DataError",
    "ExecAbortError",
    "InvalidResponse",
    "MaxClientsError",
    "NoPermissionError",
    "NoScriptError",
    "OutOfMemoryError",
    "PoolTimeoutError",
    "ProtocolError",
    "ReadOnlyError",
    "RedisError",
    "ReplyLimitError",
    "ResponseError",
    "TimeoutError",
    "WatchError",
]
