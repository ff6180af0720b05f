"""What a client above one pool (the cluster client, the sentinel resolver) may
send again after a failure, by the same rules as the core's own safe retries."""

from __future__ import annotations

from typing import Any, Dict, Sequence

from .._core import command_spec
from ..commands.base import upper_name
from ..exceptions import ReadOnlyError

__all__ = ["may_have_run", "refused_by_role", "replay_safe"]

#: Core error codes meaning the command never left the client.
_UNSENT = frozenset({"ECONNECT", "ECIRCUIT", "EPOOLTIMEOUT"})
_replay_safe: Dict[Any, bool] = {}


def may_have_run(exc: BaseException) -> bool:
    """Whether the command of a call that failed with ``exc`` may have reached the
    server (``exc.error_code``, set by the C core: a failed connect sent nothing)."""
    return getattr(exc, "error_code", None) not in _UNSENT


def replay_safe(args: Sequence[Any]) -> bool:
    """Whether the command may be sent again after a connection error: the command
    table's replay_safe class (read-only commands, at subcommand level). Cached per
    known command or subcommand name."""
    head = upper_name(args[0])
    safe = _replay_safe.get(head)
    if safe is None:
        spec = command_spec((head,))
        if spec is None:
            return False
        if not spec["subcommands"]:
            safe = _replay_safe[head] = "replay_safe" in spec["classes"]
            return safe
        safe = _replay_safe[head] = _CONTAINER
    if safe is not _CONTAINER:
        return bool(safe)
    if len(args) < 2:
        return False
    key = (head, upper_name(args[1]))
    safe = _replay_safe.get(key)
    if safe is None:
        spec = command_spec(key)
        if spec is None:
            return False
        safe = _replay_safe[key] = "replay_safe" in spec["classes"]
    return bool(safe)


_CONTAINER: Any = object()


def refused_by_role(exc: BaseException) -> bool:
    """READONLY (a demoted primary) or NOREPLICAS (one that lost its replicas, with
    min-replicas-to-write, as an old primary does once its replica is promoted):
    the command did not run, and the sentinels may name another node. A pipeline's
    error is read past its "Command # n (NAME) of pipeline caused error: " prefix."""
    text = str(exc)
    _, sep, rest = text.partition(" of pipeline caused error: ")
    if sep:
        text = rest
    return isinstance(exc, ReadOnlyError) or text.startswith(("READONLY", "NOREPLICAS"))
