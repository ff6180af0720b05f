"""Sentinel commands (redis-py's SentinelCommands), for a client connected to a sentinel.

``RedisClient(host=sentinel_host, port=26379).sentinel_masters()`` and friends, with
redis-py's reply shapes: a master's, replica's or sentinel's state is a dict of text
fields, the numeric ones as ``int``, plus ``is_master``, ``is_slave``, ``is_sdown``,
``is_odown``, ``is_sentinel``, ``is_disconnected`` and ``is_master_down`` from its
flags. Two replies redis-py misreads are read as the server means them:
``sentinel_ckquorum`` is True when the sentinels can reach the quorum (redis-py
compares "OK 3 usable Sentinels..." with "OK" and always says False; a sentinel that
cannot reach it answers an error, raised as ``ResponseError``), and ``sentinel_reset``
returns how many masters were reset (redis-py: always False).

To follow a service's primary, use :class:`pyredisclient.Sentinel` or
``RedisClient.from_sentinel``; these methods are for looking at and managing the
sentinels themselves.
"""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from .base import CommandsBase
from .callbacks import as_text, is_ok

__all__ = ["SentinelCommands", "master_addr", "sentinel_state", "sentinel_states"]

#: The fields of a sentinel state that are numbers (the rest stay text).
_NUMERIC = frozenset(
    {
        "can-failover-its-master",
        "config-epoch",
        "down-after-milliseconds",
        "failover-timeout",
        "info-refresh",
        "last-hello-message",
        "last-ok-ping-reply",
        "last-ping-reply",
        "last-ping-sent",
        "master-link-down-time",
        "master-port",
        "num-other-sentinels",
        "num-slaves",
        "o-down-time",
        "pending-commands",
        "parallel-syncs",
        "port",
        "quorum",
        "role-reported-time",
        "s-down-time",
        "slave-priority",
        "slave-repl-offset",
        "voted-leader-epoch",
    }
)

#: The booleans added from the flags: (key, flag).
_FLAGS = (
    ("is_master", "master"),
    ("is_slave", "slave"),
    ("is_sdown", "s_down"),
    ("is_odown", "o_down"),
    ("is_sentinel", "sentinel"),
    ("is_disconnected", "disconnected"),
    ("is_master_down", "master_down"),
)


def sentinel_state(entry: Any) -> Dict[str, Any]:
    """One SENTINEL MASTER / MASTERS / REPLICAS / SENTINELS entry as redis-py's dict."""
    it = iter(entry)
    state: Dict[str, Any] = {}
    for key, value in zip(it, it):
        key, value = as_text(key), as_text(value)
        if key in _NUMERIC:
            try:
                value = int(value)
            except (TypeError, ValueError):
                pass  # kept as text, as redis-py does
        state[key] = value
    flags = set(str(state.get("flags", "")).split(","))
    for name, flag in _FLAGS:
        state[name] = flag in flags
    return state


def sentinel_states(reply: Any) -> List[Dict[str, Any]]:
    return [sentinel_state(entry) for entry in reply or ()]


def _masters(reply: Any) -> Dict[str, Dict[str, Any]]:
    return {state["name"]: state for state in sentinel_states(reply)}


def master_addr(reply: Any) -> Tuple[Any, int] | None:
    return (reply[0], int(reply[1])) if reply else None


def _quorum(reply: Any) -> bool:
    return str(as_text(reply)).startswith("OK")


class SentinelCommands(CommandsBase):
    """SENTINEL subcommands with redis-py's method names and replies."""

    __slots__ = ()

    def sentinel(self, *args: Any) -> Any:
        """``SENTINEL <args>``, its reply unconverted (redis-py's only warns)."""
        return self._run(("SENTINEL", *args))

    # ``return_responses``: redis-py's, for its ``Sentinel``, which asks every
    # sentinel (pyredisclient.Sentinel does too); a client of one sentinel answers
    # with its own reply whatever it says, as redis-py's client does.

    def sentinel_get_master_addr_by_name(
        self, service_name: str, return_responses: bool = False
    ) -> Tuple[Any, int] | None:
        """The (host, port) the sentinel names for ``service_name``; None if unknown."""
        return self._run(("SENTINEL", "GET-MASTER-ADDR-BY-NAME", service_name), master_addr)

    def sentinel_master(self, service_name: str, return_responses: bool = False) -> Dict[str, Any]:
        """The sentinel's state of the master of ``service_name``."""
        return self._run(("SENTINEL", "MASTER", service_name), sentinel_state)

    def sentinel_masters(self) -> Dict[str, Dict[str, Any]]:
        """Every monitored master's state, by service name."""
        return self._run(("SENTINEL", "MASTERS"), _masters)

    def sentinel_monitor(self, name: str, ip: str, port: int, quorum: int) -> bool:
        """Start monitoring a master as service ``name``."""
        return self._run(("SENTINEL", "MONITOR", name, ip, port, quorum), is_ok)

    def sentinel_remove(self, name: str) -> bool:
        """Stop monitoring service ``name``."""
        return self._run(("SENTINEL", "REMOVE", name), is_ok)

    def sentinel_sentinels(
        self, service_name: str, return_responses: bool = False
    ) -> List[Dict[str, Any]]:
        """The state of each other sentinel monitoring ``service_name``."""
        return self._run(("SENTINEL", "SENTINELS", service_name), sentinel_states)

    def sentinel_set(self, name: str, option: str, value: Any) -> bool:
        """Set a monitoring parameter (``down-after-milliseconds``, ...) of ``name``."""
        return self._run(("SENTINEL", "SET", name, option, value), is_ok)

    def sentinel_slaves(self, service_name: str) -> List[Dict[str, Any]]:
        """The state of each replica of ``service_name``."""
        return self._run(("SENTINEL", "SLAVES", service_name), sentinel_states)

    def sentinel_reset(self, pattern: str) -> int:
        """Reset the masters whose name matches the glob ``pattern``: how many."""
        return self._run(("SENTINEL", "RESET", pattern))

    def sentinel_failover(self, new_master_name: str) -> bool:
        """Fail ``new_master_name`` over now, without asking the other sentinels."""
        return self._run(("SENTINEL", "FAILOVER", new_master_name), is_ok)

    def sentinel_ckquorum(self, new_master_name: str) -> bool:
        """True when the sentinels can reach the quorum and majority for a failover
        (else the sentinel answers an error, raised as ResponseError)."""
        return self._run(("SENTINEL", "CKQUORUM", new_master_name), _quorum)

    def sentinel_flushconfig(self) -> bool:
        """Make the sentinel rewrite its configuration file."""
        return self._run(("SENTINEL", "FLUSHCONFIG"), is_ok)
