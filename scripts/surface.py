"""Count redis-py's command surface and what pyredisclient lacks of it.

Lists every public method of redis-py's ``CoreCommands`` (from the installed
``redis`` package), the Redis command each one sends, whether the server in use
knows that command (``COMMAND LIST``, which names subcommands as
``client|list``), and which of RedisClient, AsyncRedisClient, Pipeline and
AsyncPipeline lack the method or take other parameters. Then it prints the
counts: the figure issue 15 asks for is "supported by the server" against
"RedisClient has".

    .venv/bin/python scripts/surface.py              # starts a throwaway server
    .venv/bin/python scripts/surface.py --url redis://127.0.0.1:6379/0
    .venv/bin/python scripts/surface.py --family ScriptCommands --all

A method's family is the redis-py class that defines it (ScriptCommands,
ManagementCommands, ...). The command is read from the method's name (an
``acl_``, ``client_``, ``config_``, ... prefix names a container command); the
names that do not say it are in ``_COMMAND_OF``. A parameter difference is a
parameter name redis-py has and we do not (extra parameters of ours are fine).
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from typing import Any, Dict, List, Tuple

# Prefixes that name a container command: acl_getuser sends ACL GETUSER.
_CONTAINERS = (
    "acl",
    "backup",
    "bless",
    "client",
    "cluster",
    "command",
    "config",
    "function",
    "hotkeys",
    "latency",
    "memory",
    "module",
    "pubsub",
    "script",
    "slowlog",
    "xgroup",
    "xinfo",
)

# Methods whose name does not spell their command (None: no command of its own).
_COMMAND_OF: Dict[str, str | None] = {
    "acl_log_reset": "acl|log",
    "bless_scan_iter": "bless|scan",
    "client_kill_filter": "client|kill",
    "client_list_iter": "client|list",
    "client_no_evict": "client|no-evict",
    "client_no_touch": "client|no-touch",
    "client_tracking_off": "client|tracking",
    "client_tracking_on": "client|tracking",
    "debug_object": "debug",
    "debug_segfault": "debug",
    "delete": "del",
    "digest_local": None,
    "execute_command": None,
    "hscan_iter": "hscan",
    "memory_malloc_stats": "memory|malloc-stats",
    "register_script": "evalsha",
    "scan_iter": "scan",
    "sscan_iter": "sscan",
    "xpending_range": "xpending",
    "zscan_iter": "zscan",
}

HOSTS = ("RedisClient", "AsyncRedisClient", "Pipeline", "AsyncPipeline")


def command_of(method: str) -> str | None:
    """The Redis command (``name`` or ``container|sub``, lower case) a method sends."""
    if method in _COMMAND_OF:
        return _COMMAND_OF[method]
    head, sep, rest = method.partition("_")
    if sep and head in _CONTAINERS and not rest.endswith("_ro"):
        return f"{head}|{rest.replace('_', '-')}"
    return method


def redis_py_methods() -> List[Tuple[str, str, Any]]:
    """(method, family, function) for every public method of redis-py's CoreCommands."""
    from redis.commands.core import CoreCommands

    found = []
    for name in sorted(dir(CoreCommands)):
        if name.startswith("_"):
            continue
        func = getattr(CoreCommands, name)
        if not callable(func):
            continue
        family = next(k.__name__ for k in CoreCommands.__mro__ if name in vars(k))
        found.append((name, family, func))
    return found


def hosts() -> Dict[str, type]:
    from pyredisclient import AsyncRedisClient, RedisClient
    from pyredisclient.client.aio import AsyncPipeline
    from pyredisclient.client.pipeline import Pipeline

    return {
        "RedisClient": RedisClient,
        "AsyncRedisClient": AsyncRedisClient,
        "Pipeline": Pipeline,
        "AsyncPipeline": AsyncPipeline,
    }


def _params(func: Any) -> List[str]:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    return [
        p.name
        for p in sig.parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


def server_commands(url: str | None) -> set[str]:
    """The lower-case names the server knows (``get``, ``client|list``, ...)."""
    from pyredisclient import RedisClient

    if url is not None:
        with RedisClient.from_url(url) as client:
            names = client.execute_command("COMMAND", "LIST")
    else:
        from pyredisclient.testing import RedisServer

        with RedisServer() as server, RedisClient.from_url(server.url) as client:
            names = client.execute_command("COMMAND", "LIST")
    return {(n.decode() if isinstance(n, bytes) else n).lower() for n in names}


def survey(url: str | None) -> List[Dict[str, Any]]:
    """One row per redis-py method: its family, command, server support, and for
    each host "ok", "missing" or the redis-py parameters it does not take."""
    known = server_commands(url)
    classes = hosts()
    rows = []
    for name, family, func in redis_py_methods():
        command = command_of(name)
        row: Dict[str, Any] = {
            "method": name,
            "family": family,
            "command": command,
            "server": command is None or command in known,
        }
        theirs = _params(func)
        for host, cls in classes.items():
            ours = getattr(cls, name, None)
            if ours is None:
                row[host] = "missing"
                continue
            lacking = [p for p in theirs if p not in _params(ours)]
            row[host] = "ok" if not lacking else "params: " + ",".join(lacking)
        rows.append(row)
    return rows


def report(rows: List[Dict[str, Any]], show_all: bool) -> str:
    lines = []
    supported = [r for r in rows if r["server"]]
    width = max(len(r["method"]) for r in rows)
    for row in rows:
        gaps = {h: row[h] for h in HOSTS if row[h] != "ok"}
        if not show_all and (not row["server"] or not gaps):
            continue
        where = "server" if row["server"] else "no-server"
        detail = "; ".join(f"{h}: {v}" for h, v in gaps.items()) or "ok"
        lines.append(f"{row['method']:<{width}}  {row['family']:<20} {where:<9}  {detail}")
    lines.append("")
    lines.append(f"redis-py CoreCommands methods:           {len(rows)}")
    lines.append(f"  whose command the server knows:        {len(supported)}")
    for host in HOSTS:
        has = sum(1 for r in supported if r[host] != "missing")
        same = sum(1 for r in supported if r[host] == "ok")
        lines.append(
            f"  {host + ' has:':<38}{has} ({same} with every redis-py parameter), "
            f"lacks {len(supported) - has}"
        )
    families: Dict[str, List[int]] = {}
    for row in supported:
        counts = families.setdefault(row["family"], [0, 0])
        counts[0] += 1
        counts[1] += row["RedisClient"] != "missing"
    lines.append("  per family (RedisClient has / server supports):")
    for family, (total, has) in sorted(families.items()):
        lines.append(f"    {family:<22} {has:>3} / {total:<3}")
    return "\n".join(lines)


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server (default: start a throwaway one)")
    parser.add_argument("--family", help="only this redis-py class, e.g. ScriptCommands")
    parser.add_argument("--all", action="store_true", help="list complete methods too")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    rows = survey(args.url)
    if args.family:
        rows = [r for r in rows if r["family"] == args.family]
        if not rows:
            parser.error(f"no redis-py method of family {args.family!r}")
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(report(rows, args.all))
    return 0


if __name__ == "__main__":
    sys.exit(main())
