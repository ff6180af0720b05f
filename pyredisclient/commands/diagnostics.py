"""Introspection of the server (redis-py's ManagementCommands, ModuleCommands):
MEMORY, SLOWLOG, LATENCY, COMMAND and MODULE."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from .base import CommandsBase, NeverDecode, plain_command
from .callbacks import as_text, is_ok, text_pairs
from .types import KeyT


def _texts(reply: Any) -> List[Any]:
    return [as_text(x) for x in reply]


def _to_bool(reply: Any) -> bool:
    return bool(reply)


def _memory_stats(reply: Any) -> Dict[str, Any]:
    stats = text_pairs(reply)
    for key, value in stats.items():
        if key.startswith("db.") and isinstance(value, list):
            stats[key] = text_pairs(value)
    return stats


def _slowlog_get(reply: Any) -> List[Dict[str, Any]]:
    entries = []
    for item in reply:
        entry = {"id": item[0], "start_time": int(item[1]), "duration": int(item[2])}
        at = 3
        if not isinstance(item[3], list):  # Redis Enterprise: a complexity field first
            entry["complexity"] = item[3]
            at = 4
        entry["command"] = b" ".join(item[at])  # read raw (NeverDecode): bytes
        if len(item) >= at + 3:
            entry["client_address"] = item[at + 1]
            entry["client_name"] = item[at + 2]
        entries.append(entry)
    return entries


def _command_result(reply: Any) -> Dict[str, Dict[str, Any]]:
    commands = {}
    for command in reply:
        if command is None:
            continue
        name = as_text(command[0])
        entry: Dict[str, Any] = {
            "name": name,
            "arity": int(command[1]),
            "flags": _texts(command[2]),
            "first_key_pos": command[3],
            "last_key_pos": command[4],
            "step_count": command[5],
        }
        if len(command) > 6:
            entry["acl_categories"] = _texts(command[6])
        if len(command) > 7:
            entry["tips"] = command[7]
            entry["key_specifications"] = command[8]
            entry["subcommands"] = command[9]
        commands[name] = entry
    return commands


def _module_list(reply: Any) -> List[Dict[Any, Any]]:
    out = []
    for module in reply:
        it = iter(module)
        out.append(dict(zip(it, it)))
    return out


class DiagnosticsCommands(CommandsBase):
    __slots__ = ()

    # -- MEMORY ----------------------------------------------------------------------------

    def memory_usage(self, key: KeyT, samples: int | None = None) -> int | None:
        """Return the bytes ``key`` and its value use, or None if it does not exist."""
        if isinstance(samples, int):
            return self._run(("MEMORY", "USAGE", key, "SAMPLES", samples))
        return self._run(("MEMORY", "USAGE", key))

    def memory_stats(self) -> Dict[str, Any]:
        """MEMORY STATS as a dict (keys and text values as str, db.N nested)."""
        return self._run(("MEMORY", "STATS"), _memory_stats)

    @plain_command
    def memory_malloc_stats(self) -> Any:
        """The allocator's own report (text)."""
        return self._run(("MEMORY", "MALLOC-STATS"))

    def memory_purge(self) -> bool:
        """Ask the allocator to release dirty pages."""
        return self._run(("MEMORY", "PURGE"), is_ok)

    @plain_command
    def memory_doctor(self) -> Any:
        """MEMORY DOCTOR's advice (text). redis-py raises NotImplementedError."""
        return self._run(("MEMORY", "DOCTOR"))

    @plain_command
    def memory_help(self) -> Any:
        """MEMORY HELP's lines. redis-py raises NotImplementedError."""
        return self._run(("MEMORY", "HELP"))

    # -- SLOWLOG ---------------------------------------------------------------------------

    def slowlog_get(self, num: int | None = None) -> List[Dict[str, Any]]:
        """The slow log as dicts: id, start_time, duration (us), command,
        client_address, client_name; the logged arguments may be binary, so these
        stay bytes with ``decode_responses=True``, as in redis-py."""
        if num is None:
            return self._run(NeverDecode(("SLOWLOG", "GET")), _slowlog_get)
        return self._run(NeverDecode(("SLOWLOG", "GET", num)), _slowlog_get)

    @plain_command
    def slowlog_len(self) -> int:
        """How many entries the slow log holds."""
        return self._run(("SLOWLOG", "LEN"))

    def slowlog_reset(self) -> bool:
        """Empty the slow log."""
        return self._run(("SLOWLOG", "RESET"), is_ok)

    # -- LATENCY ---------------------------------------------------------------------------

    @plain_command
    def latency_history(self, event: str) -> List[List[int]]:
        """[[timestamp, latency ms], ...] of ``event``."""
        return self._run(("LATENCY", "HISTORY", event))

    @plain_command
    def latency_latest(self) -> List[List[Any]]:
        """[[event, timestamp, latest ms, max ms], ...]."""
        return self._run(("LATENCY", "LATEST"))

    def latency_reset(self, *events: str) -> int:
        """Forget the latency of ``events`` (all when none); how many were reset."""
        return self._run(("LATENCY", "RESET", *events))

    @plain_command
    def latency_doctor(self) -> Any:
        """LATENCY DOCTOR's report (text). redis-py raises NotImplementedError."""
        return self._run(("LATENCY", "DOCTOR"))

    @plain_command
    def latency_graph(self, event: str) -> Any:
        """An ASCII graph of ``event``'s latency. redis-py raises NotImplementedError."""
        return self._run(("LATENCY", "GRAPH", event))

    def latency_histogram(self, *args: str) -> Any:
        """LATENCY HISTOGRAM [command ...] as the server answers (a flat list per
        command). redis-py raises NotImplementedError."""
        return self._run(("LATENCY", "HISTOGRAM", *args))

    # -- COMMAND ---------------------------------------------------------------------------

    def command(self) -> Dict[str, Dict[str, Any]]:
        """Every command's COMMAND INFO, as a dict by name."""
        return self._run(("COMMAND",), _command_result)

    def command_info(self, *names: str) -> Dict[str, Dict[str, Any]]:
        """COMMAND INFO of ``names`` as :meth:`command`'s dict (unknown names left
        out). redis-py raises NotImplementedError."""
        return self._run(("COMMAND", "INFO", *names), _command_result)

    @plain_command
    def command_count(self) -> int:
        """How many commands the server has."""
        return self._run(("COMMAND", "COUNT"))

    def command_list(
        self, module: str | None = None, category: str | None = None, pattern: str | None = None
    ) -> List[Any]:
        """The command names, optionally FILTERBY one module, ACL category or pattern."""
        args: Tuple[Any, ...] = ()
        if module is not None:
            args += ("MODULE", module)
        if category is not None:
            args += ("ACLCAT", category)
        if pattern is not None:
            args += ("PATTERN", pattern)
        if args:
            return self._run(("COMMAND", "LIST", "FILTERBY", *args))
        return self._run(("COMMAND", "LIST"))

    def command_docs(self, *args: str) -> Any:
        """COMMAND DOCS as the server answers. Its replies nest deeper than hiredis
        0.14 reads (ProtocolError there); hiredis 1.x reads them. redis-py raises
        NotImplementedError."""
        return self._run(("COMMAND", "DOCS", *args))

    def command_getkeys(self, *args: Any) -> List[Any]:
        """The key arguments of the command ``args``, as str."""
        return self._run(("COMMAND", "GETKEYS", *args), _texts)

    def command_getkeysandflags(self, *args: str) -> List[Any]:
        """[[key, [flags]], ...] for the command ``args``."""
        return self._run(("COMMAND", "GETKEYSANDFLAGS", *args))

    # -- MODULE ----------------------------------------------------------------------------

    def module_list(self) -> List[Dict[Any, Any]]:
        """The loaded modules, each a dict (name, ver, ...)."""
        return self._run(("MODULE", "LIST"), _module_list)

    def module_load(self, path: str, *args: Any) -> bool:
        """Load the module at ``path`` with ``args``."""
        return self._run(("MODULE", "LOAD", path, *args), _to_bool)

    def module_loadex(
        self, path: str, options: List[str] | None = None, args: List[str] | None = None
    ) -> Any:
        """MODULE LOADEX path [CONFIG name value ...] [ARGS arg ...]."""
        pieces: Tuple[Any, ...] = ()
        if options is not None:
            pieces += ("CONFIG", *options)
        if args is not None:
            pieces += ("ARGS", *args)
        return self._run(("MODULE", "LOADEX", path, *pieces))

    def module_unload(self, name: str) -> bool:
        """Unload the module ``name``."""
        return self._run(("MODULE", "UNLOAD", name), _to_bool)
