"""What the cluster client needs to know of a command: its name, whether it only
reads (replicas may serve it) or may be sent again after a connection error, and the
server's request and response policies for commands without keys.

Read from the generated command table (``_core.command_spec``) once per command name
and cached; the per-command table of what a keyless command does in a cluster is
here too (README, "Redis Cluster", says the same in prose).
"""

from __future__ import annotations

import re
import threading
from typing import Any, Callable, Dict, List, NamedTuple, Sequence, Tuple

from .._core import command_spec
from ..commands.base import upper_name as upper
from ..exceptions import AskError, ReadOnlyError, ResponseError

__all__ = [
    "EVERY_NODE",
    "REDIRECT_TEXT",
    "SPLIT",
    "TARGETED_MERGE",
    "CommandInfo",
    "command_info",
    "merge",
    "redirect",
    "refused",
    "upper",
]

#: Multi-key commands split per slot when their keys span slots, and how their
#: replies merge: "values" (one reply per key, back in the caller's order), "pairs"
#: (key value pairs, all must succeed), "sum" (counts added up).
SPLIT: Dict[str, str] = {
    "MGET": "values",
    "MSET": "pairs",
    "DEL": "sum",
    "UNLINK": "sum",
    "EXISTS": "sum",
    "TOUCH": "sum",
}

#: Keyless commands served by the default node, whatever the server's request
#: policy says: asking every node would give several answers for one question
#: (PING answers for the client; use health_check() for every node).
ONE_NODE = frozenset({"PING", "RANDOMKEY", "ECHO", "TIME", "LASTSAVE", "INFO", "WAIT", "WAITAOF"})


def _union(replies: List[Any]) -> List[Any]:
    return list(dict.fromkeys(x for reply in replies for x in reply))


def _numsub(replies: List[Any]) -> List[Tuple[Any, int]]:
    counts: Dict[Any, int] = {}
    for reply in replies:
        for channel, count in reply:
            counts[channel] = counts.get(channel, 0) + count
    return list(counts.items())


def _numsub_flat(replies: List[Any]) -> List[Any]:
    counts: Dict[Any, int] = {}
    for reply in replies:  # [channel, count, channel, count, ...]
        for i in range(0, len(reply) - 1, 2):
            counts[reply[i]] = counts.get(reply[i], 0) + reply[i + 1]
    return [x for pair in counts.items() for x in pair]


#: Keyless commands asked of every node when no ``target_nodes`` is given, as
#: redis-py's cluster does (the server gives them no request policy, and each node
#: knows only its own subscribers), and how their replies (as the server sent them)
#: become one: the cluster's channels, patterns and subscriber counts.
EVERY_NODE: Dict[str, Callable[[List[Any]], Any]] = {
    "PUBSUB NUMPAT": sum,
    **dict.fromkeys(("PUBSUB CHANNELS", "PUBSUB SHARDCHANNELS"), _union),
    **dict.fromkeys(("PUBSUB NUMSUB", "PUBSUB SHARDNUMSUB"), _numsub_flat),
}


def _each_all(replies: List[Any]) -> List[bool]:
    return [all(flags) for flags in zip(*replies)]


#: Replies of several nodes named by ``target_nodes`` that become one, as redis-py's
#: RedisCluster merges them (each node's reply already converted by the method's
#: callback); any other command answers ``{"host:port": reply}``.
TARGETED_MERGE: Dict[str, Callable[[List[Any]], Any]] = {
    **dict.fromkeys(("DBSIZE", "WAIT", "PUBSUB NUMPAT"), sum),
    **dict.fromkeys(
        (
            "PING",
            "CONFIG SET",
            "CONFIG REWRITE",
            "CONFIG RESETSTAT",
            "CLIENT SETNAME",
            "BGSAVE",
            "SAVE",
            "SLOWLOG RESET",
            "MEMORY PURGE",
            "CLIENT PAUSE",
            "CLIENT UNPAUSE",
            "SCRIPT FLUSH",
        ),
        all,
    ),
    **dict.fromkeys(("KEYS", "PUBSUB CHANNELS", "PUBSUB SHARDCHANNELS"), _union),
    **dict.fromkeys(("PUBSUB NUMSUB", "PUBSUB SHARDNUMSUB"), _numsub),
    "CLIENT UNBLOCK": any,
    "SCRIPT LOAD": lambda replies: replies[-1],
    "SCRIPT EXISTS": _each_all,
}

#: Keyless commands the cluster client refuses, with what to use instead.
REFUSED: Dict[str, str] = {
    "SCAN": "SCAN has a cursor per node: use scan(cursor) or scan_iter(), which scan every primary",
    "MULTI": "use pipeline(transaction=True), whose keys must share one slot",
    "EXEC": "use pipeline(transaction=True), whose keys must share one slot",
    "SWAPDB": "a cluster has only database 0",
}


class CommandInfo(NamedTuple):
    name: str  # "GET", "CONFIG SET"
    readonly: bool  # the server's readonly flag: a replica may serve it
    replay_safe: bool  # may be sent again after a connection error (ours)
    request: str | None  # request_policy tip: "all_shards", "all_nodes", ...
    response: str | None  # response_policy tip: "agg_sum", "all_succeeded", ...


_cache: Dict[Any, CommandInfo] = {}
_containers: set[str] = set()
_lock = threading.Lock()


def _make(name: str, spec: Any) -> CommandInfo:
    if spec is None:
        return CommandInfo(name, False, False, None, None)
    tips: Dict[str, str] = {}
    for tip in spec["tips"]:
        kind, _, value = tip.partition(":")
        tips[kind] = value
    return CommandInfo(
        name,
        "readonly" in spec["flags"],
        "replay_safe" in spec["classes"],
        tips.get("request_policy"),
        tips.get("response_policy"),
    )


def command_info(args: Sequence[Any]) -> CommandInfo:
    """The CommandInfo of a command's arguments (a subcommand's for containers such
    as CONFIG SET); cached per name, so a call costs a dict lookup or two."""
    head = upper(args[0])
    info = _cache.get(head)
    if info is not None:
        return info
    if head in _containers:
        sub = upper(args[1]) if len(args) > 1 else ""
        key: Tuple[str, str] | str = (head, sub)
        info = _cache.get(key)
        if info is None:
            spec = command_spec((head, sub)) if sub else command_spec((head,))
            info = _make(f"{head} {sub}".strip(), spec)
            if spec is not None:
                with _lock:
                    _cache[key] = info
        return info
    spec = command_spec((head,))
    if spec is not None and spec["subcommands"]:
        with _lock:
            _containers.add(head)
        return command_info(args)
    info = _make(head, spec)
    if spec is not None:  # unknown names are not cached: the cache stays bounded
        with _lock:
            _cache[head] = info
    return info


# -- what a reply says about where to go next -------------------------------------


#: A redirection at the end of an error's text, alone or annotated by a pipeline
#: ("... caused error: MOVED 3999 127.0.0.1:7001"): kind, slot, "host:port".
REDIRECT_TEXT = re.compile(r"(?:^|: )(MOVED|ASK) (\d+) (\S+)$")


def _redirect_field(index: int, doc: str) -> Any:
    """redis-py's attributes of AskError and MovedError, read from the message
    (which keeps the reply's text): 0 slot_id, 1 node_addr, 2 host, 3 port."""

    def get(exc: BaseException) -> Any:
        where = REDIRECT_TEXT.search(str(exc))
        if where is None:
            raise AttributeError(f"{type(exc).__name__} without a redirection: {exc}")
        host, _, port = where.group(3).rpartition(":")
        fields = (int(where.group(2)), (host, int(port)), host, int(port))
        return fields[index]

    return property(get, doc=doc)


# The classes come from the C extension's error table; redis-py's code reads these
# (their stubs: scripts/gen_stubs.py, CLASS_MEMBERS).
for _index, (_name, _doc) in enumerate(
    (
        ("slot_id", "The slot the redirection is for."),
        ("node_addr", "(host, port) to go to."),
        ("host", "The host to go to ('': the host of the node that answered)."),
        ("port", "The port to go to."),
    )
):
    setattr(AskError, _name, _redirect_field(_index, _doc))


def redirect(exc: BaseException) -> Tuple[str, int, str] | None:
    """("MOVED" or "ASK", slot, "host:port") of a node's redirection error (its text
    alone, not annotated by a pipeline), else None."""
    if not isinstance(exc, ResponseError):
        return None
    where = REDIRECT_TEXT.match(str(exc))
    if where is None:
        return None
    return where.group(1), int(where.group(2)), where.group(3)


def refused(exc: BaseException) -> bool:
    """TRYAGAIN, CLUSTERDOWN, READONLY: refused before running, so safe to resend."""
    if not isinstance(exc, ResponseError):
        return False
    text = str(exc)
    return (
        text.startswith("TRYAGAIN")
        or text.startswith("CLUSTERDOWN")
        or text.startswith("READONLY")
        or isinstance(exc, ReadOnlyError)
    )


def merge(policy: str | None, replies: List[Any], by_node: Dict[str, Any]) -> Any:
    """One reply from every node's, as the server's response policy says."""
    if policy == "agg_sum":
        return sum(replies)
    if policy == "agg_min":
        return min(replies)
    if policy == "agg_max":
        return max(replies)
    if policy in ("agg_logical_and", "agg_logical_or"):
        agg = all if policy == "agg_logical_and" else any
        if isinstance(replies[0], list):
            return [int(agg(vals)) for vals in zip(*replies)]
        return int(agg(replies))
    if policy in ("all_succeeded", "one_succeeded"):
        return replies[0]
    if policy != "special" and all(isinstance(r, list) for r in replies):
        return [x for r in replies for x in r]  # KEYS: every node's keys
    return by_node
