"""pyredisclient: a Redis client for Python with a C core.

Fast (connections, I/O and reply parsing run in C with the GIL released), and hard
to knock over: finite timeouts everywhere, a thread-safe and fork-safe pool, safe
retries and a circuit breaker.
"""

from . import _core
from .client import Pipeline, RedisClient
from .config import ConfigurationError, RedisConfig, Secret
from .exceptions import (
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

__version__ = "0.1.0"
hiredis_version = _core.hiredis_version

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
    "Pipeline",
    "PoolTimeoutError",
    "ProtocolError",
    "ReadOnlyError",
    "RedisClient",
    "RedisConfig",
    "RedisError",
    "ReplyLimitError",
    "ResponseError",
    "Secret",
    "TimeoutError",
    "WatchError",
    "__version__",
]
