"""pyredisclient's exceptions caught by code written for redis-py's.

Code and libraries written for redis-py catch ``redis.exceptions`` classes::

    try:
        return await redis.evalsha(sha, 1, key)
    except redis.exceptions.NoScriptError:  # reload the script after a restart
        ...

Ours are other classes with the same names, so such a clause lets a pyredisclient
error through (fastapi-limiter then fails every rate-limited request after a
``SCRIPT FLUSH``; arq's ``enqueue_job`` catches redis-py's ``WatchError`` when
another enqueues the same job id meanwhile, and ours escapes it). Call
:func:`inherit_exceptions` once at start, with redis-py installed, and every
pyredisclient exception class also derives from redis-py's class of the same meaning::

    from pyredisclient.integrations.redis_py import inherit_exceptions

    inherit_exceptions()

Nothing else about the classes changes: their names, messages, attributes, their
own hierarchy and ``except pyredisclient.X`` clauses stay as they were. It is opt-in
because importing redis-py costs about 130 ms (a cold start's worth), and because it
changes process-wide classes: do it in the application's start-up code, not in a
library. This module imports redis-py; ``import pyredisclient`` alone never does.
"""

from __future__ import annotations

import importlib
import threading
from typing import Dict, List, Tuple

from .. import exceptions as _exc
from ..client.sentinel import MasterNotFoundError, SlaveNotFoundError
from ..cluster import errors as _cluster
from ..commands.lock import LockError, LockNotOwnedError

__all__ = ["inherit_exceptions"]

# Ours, and the redis-py classes ("module:name"; a name a redis-py version lacks is
# skipped) each also derives from, parents before children. Classes not listed
# (CircuitOpenError, MaxClientsError, ReplyLimitError, KeyPrefixError,
# RedisClusterUnreachableError) have no redis-py counterpart and inherit through
# their parents.
_PAIRS: Tuple[Tuple[type, Tuple[str, ...]], ...] = (
    (_exc.RedisError, ("exceptions:RedisError",)),
    (_exc.ConnectionError, ("exceptions:ConnectionError",)),
    (_exc.TimeoutError, ("exceptions:TimeoutError",)),
    (_exc.AuthenticationError, ("exceptions:AuthenticationError",)),
    (_exc.BusyLoadingError, ("exceptions:BusyLoadingError",)),
    (_exc.MasterDownError, ("exceptions:MasterDownError",)),
    (_exc.PoolTimeoutError, ("exceptions:MaxConnectionsError",)),
    (_exc.ResponseError, ("exceptions:ResponseError",)),
    (_exc.ExecAbortError, ("exceptions:ExecAbortError",)),
    (_exc.NoPermissionError, ("exceptions:NoPermissionError",)),
    (_exc.NoScriptError, ("exceptions:NoScriptError",)),
    (_exc.ModuleError, ("exceptions:ModuleError",)),
    (_exc.ReadOnlyError, ("exceptions:ReadOnlyError",)),
    (_exc.OutOfMemoryError, ("exceptions:OutOfMemoryError",)),
    (_exc.TryAgainError, ("exceptions:TryAgainError",)),
    (_exc.AskError, ("exceptions:AskError",)),
    (_exc.MovedError, ("exceptions:MovedError",)),
    (_exc.ProtocolError, ("exceptions:InvalidResponse",)),
    (_exc.DataError, ("exceptions:DataError",)),
    (_exc.WatchError, ("exceptions:WatchError",)),
    (_exc.PubSubError, ("exceptions:PubSubError",)),
    (_cluster.ClusterError, ("exceptions:ClusterError", "exceptions:RedisClusterException")),
    (_cluster.ClusterCrossSlotError, ("exceptions:ClusterCrossSlotError",)),
    (_cluster.CrossSlotTransactionError, ("exceptions:CrossSlotTransactionError",)),
    (_cluster.ClusterDownError, ("exceptions:ClusterDownError",)),
    (_cluster.SlotNotCoveredError, ("exceptions:SlotNotCoveredError",)),
    (LockError, ("exceptions:LockError",)),
    (LockNotOwnedError, ("exceptions:LockNotOwnedError",)),
    (MasterNotFoundError, ("sentinel:MasterNotFoundError",)),
    (SlaveNotFoundError, ("sentinel:SlaveNotFoundError",)),
)

# What an instance's construction, text and pickling go through: kept as they were,
# so that redis-py's __init__ (AskError's parses its message) or __repr__ never runs
# for ours.
_KEPT = ("__new__", "__init__", "__str__", "__repr__", "__reduce__", "__setstate__")

_lock = threading.Lock()
# Each changed class's bases and the attributes set on it, for _undo (tests).
_changed: Dict[type, Tuple[Tuple[type, ...], List[str]]] | None = None


def _ours() -> List[type]:
    """Every pyredisclient exception class: the listed ones and their subclasses."""
    seen: List[type] = []
    todo = [_exc.RedisError]
    while todo:
        cls = todo.pop()
        if cls not in seen and cls.__module__.startswith("pyredisclient"):
            seen.append(cls)
            todo.extend(cls.__subclasses__())
    return seen


def _theirs(spec: str) -> type | None:
    module, name = spec.split(":")
    found = getattr(importlib.import_module("redis." + module), name, None)
    return found if isinstance(found, type) else None


def inherit_exceptions() -> None:
    """Make every pyredisclient exception class also derive from redis-py's.

    ``except redis.exceptions.ConnectionError`` (or ``RedisError``, ``NoScriptError``,
    ``WatchError``, ``redis.sentinel.MasterNotFoundError``, ...) then catches ours.
    Idempotent and thread-safe; raises ImportError when redis-py is not installed,
    and TypeError (every class put back as it was) when a redis-py version's classes
    cannot be bases of ours.
    """
    global _changed
    with _lock:
        if _changed is not None:
            return
        wanted = [(ours, [_theirs(spec) for spec in specs]) for ours, specs in _PAIRS]
        everyone = _ours()
        before = {cls: {name: getattr(cls, name) for name in _KEPT} for cls in everyone}
        changed: Dict[type, Tuple[Tuple[type, ...], List[str]]] = {}
        try:
            for ours, found in wanted:
                extra = tuple(t for t in found if t is not None and not issubclass(ours, t))
                if not extra:
                    continue
                bases = ours.__bases__
                changed.setdefault(ours, (bases, []))  # the first bases, to put back
                if ours is _exc.RedisError:
                    # the root's private base has the layout redis-py's RedisError has
                    ours.__bases__ = extra
                else:
                    # redis-py's before the builtins (LockError: ..., LockError,
                    # ValueError), as redis-py's own classes put them
                    own = tuple(b for b in bases if b.__module__.startswith("pyredisclient"))
                    ours.__bases__ = own + extra + tuple(b for b in bases if b not in own)
            for cls in everyone:
                for name, value in before[cls].items():
                    if getattr(cls, name) is not value and getattr(cls, name) != value:
                        changed.setdefault(cls, (cls.__bases__, []))[1].append(name)
                        setattr(cls, name, value)
        except BaseException:
            _restore(changed)
            raise
        _changed = changed


def _restore(changed: Dict[type, Tuple[Tuple[type, ...], List[str]]]) -> None:
    """Take back, latest first, what inherit_exceptions set on each class."""
    for cls, (bases, names) in reversed(list(changed.items())):
        for name in names:
            if name in cls.__dict__:
                delattr(cls, name)
        cls.__bases__ = bases


def _undo() -> None:
    """Put the classes back as they were (for tests of :func:`inherit_exceptions`)."""
    global _changed
    with _lock:
        if _changed is not None:
            _restore(_changed)
            _changed = None
