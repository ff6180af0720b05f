"""Generate the command table from the server's own COMMAND and COMMAND DOCS output.

One table of every command and subcommand ("CLIENT KILL"): arity, the server's flags,
ACL categories, tips, key specs, the COMMAND DOCS group and version, and our own classes
derived from them (replay-safe, blocking, connection-state, ...). The C core reads it
(csrc/core/cmdspec.c), and Python reads it through the binding (``_core.command_spec``,
``_core.command_keys``): one table for both.

Inputs and outputs (paths relative to the repository):

- ``scripts/commands/snapshot.json`` (written, checked in): the server's COMMAND and
  COMMAND DOCS replies, normalized (RESP2 key/value lists become objects; commands and
  subcommands sorted by name), with the server's version.
- ``scripts/commands/supplement.json`` (hand-written, checked in): commands newer than
  the snapshot's server that the clients already send (hash-field expiry from 7.4,
  HGETDEL/HGETEX/HSETEX from 8.0, WAITAOF and CLIENT SETINFO/NO-TOUCH from 7.2), in the
  snapshot's shape, each with the ``source`` it was copied from. They are marked
  ``supplement`` in the table. A supplement entry that the snapshot also holds is an
  error: once the snapshot's server knows a command, its own description wins, and the
  entry must be deleted from the supplement.
- ``csrc/core/commands_gen.h`` (written, checked in): the C data, included by cmdspec.c
  only, with a hash table of the names computed here (FNV-1a over the upper-cased
  name; a subcommand continues its container's hash with ``|`` and its own name).

Our classes come from the server's flags where they can (the rules are in
``derive_classes``), and from the hand-written tables below where the server says
nothing: each entry there names its reason. This is the one command table: the call
rules (csrc/core/cmdtable.c: replayed, blocking with its own timeout, refused as
connection state, closing its connection) read these classes, and nothing else lists
commands by hand. The generator fails when a hand-written
entry names a command the table lacks, when a blocking command has no timeout rule,
or when a key spec is incomplete and cmdspec.c has no rule for it.

Usage::

    python scripts/gen_commands.py                  # start a throwaway redis-server,
                                                    # snapshot it, regenerate
    python scripts/gen_commands.py --url redis://127.0.0.1:6379   # an existing server
    python scripts/gen_commands.py --offline        # regenerate from the snapshot only
    python scripts/gen_commands.py --check          # exit 1 if a generated file differs

``--check`` needs no server: it regenerates the header from the checked-in snapshot and
supplement (and re-serializes the snapshot) and compares. Whether the snapshot matches a
live server is a pytest (tests/test_command_table.py), which has a server anyway.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "scripts" / "commands" / "snapshot.json"
SUPPLEMENT = ROOT / "scripts" / "commands" / "supplement.json"
HEADER = ROOT / "csrc" / "core" / "commands_gen.h"
PRC_H = ROOT / "csrc" / "core" / "prc.h"
COMMAND = "python scripts/gen_commands.py"

Entry = Dict[str, Any]

# ---------------------------------------------------------------------------
# Hand-written rules: what the server's COMMAND output does not say.
# Names are the server's (lower case, "container|sub").
# ---------------------------------------------------------------------------

#: Not flagged ``readonly`` by the server, but replaying them after a connection error
#: is harmless: they read server state and change nothing.
REPLAY_SAFE_EXTRA: Dict[str, str] = {
    "ping": "no effect",
    "echo": "no effect",
    "time": "reads the clock",
    "lastsave": "reads server state",
    "role": "reads server state",
    "info": "reads server state",
    "command": "reads the command table (bare COMMAND)",
    "command|count": "reads the command table",
    "command|docs": "reads the command table",
    "command|getkeys": "reads the command table",
    "command|getkeysandflags": "reads the command table",
    "command|help": "reads the command table",
    "command|info": "reads the command table",
    "command|list": "reads the command table",
    "client|getname": "reads the connection's name",
    "client|id": "reads the connection's id",
    "client|info": "reads the connection's state",
    "client|list": "reads the clients' state",
    "config|get": "reads the configuration",
    "script|exists": "reads the script cache",
    "memory|stats": "reads memory statistics",
    "object|help": "help text",
    "xinfo|help": "help text",
    "xread": "readonly; blocking only with BLOCK, and then the BLOCK rule clears this",
}

#: Flagged ``readonly`` by the server, but not replayed (today's behaviour, kept).
REPLAY_UNSAFE: Dict[str, str] = {
    "lolwut": "an easter egg, never worth a retry",
}

#: Commands that wait on the server without the ``blocking`` flag.
BLOCKING_EXTRA: Dict[str, str] = {
    "wait": "waits for replicas up to its timeout",
    "waitaof": "waits for AOF fsyncs up to its timeout",
}

#: Where each blocking command's timeout is (DESIGN.md: "a hand-written table beside
#: the generated one"); names from PRC_CMD_TMO_MAP in prc.h.
BLOCK_TIMEOUTS: Dict[str, str] = {
    "blpop": "last_seconds",
    "brpop": "last_seconds",
    "brpoplpush": "last_seconds",
    "blmove": "last_seconds",
    "bzpopmin": "last_seconds",
    "bzpopmax": "last_seconds",
    "blmpop": "arg1_seconds",
    "bzmpop": "arg1_seconds",
    "xread": "block_ms",
    "xreadgroup": "block_ms",
    "wait": "arg2_ms",
    "waitaof": "arg3_ms",
}

#: Blocking only when an argument asks for it.
BLOCKS_WITH_ARG: Dict[str, str] = {
    "xread": "only with BLOCK ms",
    "xreadgroup": "only with BLOCK ms",
}

#: Connection-state commands the rules in derive_classes do not find. (CLIENT SETNAME
#: and SETINFO are not among them: a name is a label that changes no later command's
#: meaning, and client_name= sets it on every connection; README, "Connection state".)
CONN_STATE_EXTRA: Dict[str, str] = {
    "monitor": "turns the connection into a stream of every command",
    "select": "changes the connection's database",
    "client|reply": "OFF/SKIP stop replies: the connection goes out of step",
    "client|tracking": "invalidation messages arrive on the connection",
    "client|caching": "changes the connection's tracking of the next command",
    "client|no-evict": "changes the connection's eviction mode",
    "client|no-touch": "changes whether the connection's reads touch keys",
    "readonly": "Cluster: the connection reads from a replica",
    "readwrite": "Cluster: undoes READONLY",
    "asking": "Cluster: flags the connection's next command",
    "sync": "replication: the connection becomes a replica's stream",
    "psync": "replication: the connection becomes a replica's stream",
    "replconf": "replication: configures a replica's connection",
    "script|debug": "the Lua debugger takes the connection over",
}

#: Connection-state commands that end their connection: allowed, and the call closes
#: the connection after the reply (never pooled).
CLOSES: Dict[str, str] = {
    "quit": "the server closes the connection after its reply",
}

#: Why each other connection-state command is refused where its connection goes back
#: to a pool, and what to use instead: a name of PRC_CMD_REFUSAL_MAP in prc.h, whose
#: sentences csrc/core/cmdtable.c holds. TRANSACTION and WATCH are the pipeline's own
#: commands (it sends them itself); every other one is refused on every path.
REFUSALS: Dict[str, str] = {
    "subscribe": "pubsub",
    "psubscribe": "pubsub",
    "ssubscribe": "pubsub",
    "unsubscribe": "pubsub",
    "punsubscribe": "pubsub",
    "sunsubscribe": "pubsub",
    "monitor": "monitor",
    "sync": "replication",
    "psync": "replication",
    "replconf": "replication",
    "select": "select",
    "auth": "auth",
    "hello": "hello",
    "reset": "reset",
    "multi": "transaction",
    "exec": "transaction",
    "discard": "transaction",
    "watch": "watch",
    "unwatch": "watch",
    "client|reply": "client_reply",
    "client|tracking": "tracking",
    "client|caching": "tracking",
    "client|no-evict": "client_flag",
    "client|no-touch": "client_flag",
    "readonly": "cluster",
    "readwrite": "cluster",
    "asking": "cluster",
    "script|debug": "script_debug",
}

#: Commands whose key specs are incomplete or unknown: cmdspec.c follows the server's
#: own argument rule for them (RULE_* in cmdspec.c).
KEYS_RULES: Dict[str, str] = {
    "sort": "RULE_SORT",
    "sort_ro": "RULE_SORT_RO",
    "migrate": "RULE_MIGRATE",
}

# ---------------------------------------------------------------------------
# A minimal RESP2 client (hiredis 0.14 cannot read COMMAND DOCS: depth > 7).
# ---------------------------------------------------------------------------


class RespError(Exception):
    """The server answered with an error reply."""


class Resp2:
    """One blocking RESP2 connection: send a command, read its reply."""

    def __init__(self, host: str, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.file = self.sock.makefile("rb")

    def close(self) -> None:
        self.file.close()
        self.sock.close()

    def call(self, *args: str) -> Any:
        out = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg.encode()
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(out))
        return self._read()

    def _read(self) -> Any:
        line = self.file.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed mid-reply")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)
            if len(data) != n + 2:
                raise ConnectionError("connection closed mid-reply")
            return data[:-2].decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise ConnectionError(f"not RESP2: {line[:40]!r}")


def _pairs(flat: List[Any]) -> Dict[str, Any]:
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


def _norm_keyspec(raw: List[Any]) -> Entry:
    d = _pairs(raw)
    out: Entry = {}
    if "notes" in d:
        out["notes"] = d["notes"]
    out["flags"] = d["flags"]
    for part in ("begin_search", "find_keys"):
        p = _pairs(d[part])
        out[part] = {"type": p["type"], "spec": _pairs(p["spec"])}
    return out


def _norm_command(info: List[Any], docs: Dict[str, Any]) -> Entry:
    name, arity, flags, first, last, step, acl, tips, specs, subs = info[:10]
    doc = _pairs(docs.get(name) or [])
    entry: Entry = {
        "name": name,
        "arity": arity,
        "flags": flags,
        "first_key": first,
        "last_key": last,
        "step": step,
        "acl_categories": acl,
        "tips": tips,
        "key_specs": [_norm_keyspec(s) for s in specs],
        "group": doc.get("group", ""),
        "since": doc.get("since", ""),
    }
    if doc.get("doc_flags"):
        entry["doc_flags"] = doc["doc_flags"]
    if subs:
        subdocs = _pairs(doc.get("subcommands") or [])
        entry["subcommands"] = sorted(
            (_norm_command(s, subdocs) for s in subs), key=lambda e: e["name"]
        )
    return entry


def fetch(host: str, port: int, password: str | None = None) -> Entry:
    """The server's normalized COMMAND and COMMAND DOCS replies and its version."""
    conn = Resp2(host, port)
    try:
        if password:
            conn.call("AUTH", password)
        info = conn.call("COMMAND")
        docs = _pairs(conn.call("COMMAND", "DOCS"))
        server = conn.call("INFO", "server")
    finally:
        conn.close()
    match = re.search(r"redis_version:(\S+)", server)
    return {
        "server_version": match.group(1) if match else "unknown",
        "commands": sorted((_norm_command(c, docs) for c in info), key=lambda e: e["name"]),
    }


@contextlib.contextmanager
def throwaway_server(binary: str) -> Iterator[Tuple[str, int]]:
    """A redis-server on a free loopback port in a temporary directory; stopped by pid."""
    with tempfile.TemporaryDirectory(prefix="gen_commands-") as tmp:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", tmp],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    conn = Resp2("127.0.0.1", port, timeout=1)
                    conn.call("PING")
                    conn.close()
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"{binary} did not start on port {port}") from None
                    time.sleep(0.05)
            yield "127.0.0.1", port
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


# ---------------------------------------------------------------------------
# The snapshot file: stable JSON, one line per scalar or list of scalars.
# ---------------------------------------------------------------------------


def _dump(obj: Any, indent: str = "") -> str:
    inner = indent + "  "
    if isinstance(obj, dict):
        if all(not isinstance(v, (dict, list)) for v in obj.values()):
            return json.dumps(obj)
        items = [f"{inner}{json.dumps(k)}: {_dump(v, inner)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(obj, list):
        if all(not isinstance(v, (dict, list)) for v in obj):
            return json.dumps(obj)
        return "[\n" + ",\n".join(inner + _dump(v, inner) for v in obj) + "\n" + indent + "]"
    return json.dumps(obj)


def dump_snapshot(snapshot: Entry) -> str:
    doc = {
        "comment": (
            f"COMMAND and COMMAND DOCS of redis-server {snapshot['server_version']}, "
            f"normalized. Generated by {COMMAND}: do not edit."
        ),
        "server_version": snapshot["server_version"],
        "commands": snapshot["commands"],
    }
    return _dump(doc) + "\n"


# ---------------------------------------------------------------------------
# The merged table and our classes.
# ---------------------------------------------------------------------------


class GenerationError(Exception):
    """The inputs cannot be turned into a table we trust."""


def merge(snapshot: Entry, supplement: List[Entry]) -> List[Entry]:
    """The snapshot's commands plus the supplement's, each supplement entry marked."""
    commands = {e["name"]: dict(e) for e in snapshot["commands"]}
    for item in supplement:
        entry = {k: v for k, v in item.items() if k not in ("container", "source")}
        entry["supplement"] = True
        if not item.get("source"):
            raise GenerationError(f"supplement entry {item['name']} names no source")
        container = item.get("container")
        if container is None:
            if entry["name"] in commands:
                raise GenerationError(
                    f"{entry['name']} is in the snapshot now: delete it from {SUPPLEMENT.name}"
                )
            commands[entry["name"]] = entry
            continue
        parent = commands.get(container)
        if parent is None:
            raise GenerationError(f"supplement {entry['name']}: no container {container}")
        subs = list(parent.get("subcommands", []))
        if any(s["name"] == entry["name"] for s in subs):
            raise GenerationError(
                f"{entry['name']} is in the snapshot now: delete it from {SUPPLEMENT.name}"
            )
        parent["subcommands"] = sorted([*subs, entry], key=lambda e: e["name"])
        commands[container] = parent
    return [commands[name] for name in sorted(commands)]


def flatten(commands: List[Entry]) -> List[Tuple[Entry, Entry | None]]:
    """(entry, container) for every command, each followed by its subcommands."""
    out: List[Tuple[Entry, Entry | None]] = []
    for entry in commands:
        out.append((entry, None))
        out.extend((sub, entry) for sub in entry.get("subcommands", []))
    return out


def derive_classes(entry: Entry) -> Dict[str, str]:
    """Our classes of one entry: {class name: why}."""
    name = entry["name"]
    flags = set(entry["flags"])
    acl = set(entry["acl_categories"])
    out: Dict[str, str] = {}
    # replay_safe: the server's readonly, unless it blocks or is pub/sub.
    if name in REPLAY_SAFE_EXTRA:
        out["replay_safe"] = "hand: " + REPLAY_SAFE_EXTRA[name]
    elif "readonly" in flags and not flags & {"blocking", "pubsub"} and name not in REPLAY_UNSAFE:
        out["replay_safe"] = "server: readonly"
    # blocking: the server's flag, or a hand-written waiter.
    if "blocking" in flags:
        out["blocking"] = "server: blocking"
    elif name in BLOCKING_EXTRA:
        out["blocking"] = "hand: " + BLOCKING_EXTRA[name]
    if name in BLOCKS_WITH_ARG:
        out["blocks_with_arg"] = "hand: " + BLOCKS_WITH_ARG[name]
    # connection_state: (un)subscribing is pubsub + noscript (scripts may not change
    # their connection); the commands usable before AUTH are the connection's own
    # (AUTH, HELLO, RESET, QUIT); @transaction is MULTI/EXEC/DISCARD/WATCH/UNWATCH.
    if {"pubsub", "noscript"} <= flags:
        out["connection_state"] = "server: pubsub + noscript (subscribe family)"
    elif "no_auth" in flags:
        out["connection_state"] = "server: no_auth (connection control)"
    elif "@transaction" in acl:
        out["connection_state"] = "server: @transaction"
    elif name in CONN_STATE_EXTRA:
        out["connection_state"] = "hand: " + CONN_STATE_EXTRA[name]
    if name in CLOSES:
        out["closes"] = "hand: " + CLOSES[name]
    if "deprecated" in entry.get("doc_flags", []):
        out["deprecated"] = "docs: deprecated"
    if entry.get("supplement"):
        out["supplement"] = "hand: newer than the snapshot's server"
    return out


def validate(flat: List[Tuple[Entry, Entry | None]]) -> None:
    names = {e["name"] for e, _ in flat}
    for table_name, table in (
        ("REPLAY_SAFE_EXTRA", REPLAY_SAFE_EXTRA),
        ("REPLAY_UNSAFE", REPLAY_UNSAFE),
        ("BLOCKING_EXTRA", BLOCKING_EXTRA),
        ("BLOCK_TIMEOUTS", BLOCK_TIMEOUTS),
        ("BLOCKS_WITH_ARG", BLOCKS_WITH_ARG),
        ("CONN_STATE_EXTRA", CONN_STATE_EXTRA),
        ("CLOSES", CLOSES),
        ("REFUSALS", REFUSALS),
        ("KEYS_RULES", KEYS_RULES),
    ):
        missing = sorted(set(table) - names)
        if missing:
            raise GenerationError(f"{table_name} names commands the table lacks: {missing}")
    blocking = {e["name"] for e, _ in flat if "blocking" in derive_classes(e)}
    if blocking != set(BLOCK_TIMEOUTS):
        raise GenerationError(
            "every blocking command needs a timeout rule in BLOCK_TIMEOUTS and only those: "
            f"without one {sorted(blocking - set(BLOCK_TIMEOUTS))}, "
            f"not blocking {sorted(set(BLOCK_TIMEOUTS) - blocking)}"
        )
    state = {e["name"] for e, _ in flat if "connection_state" in derive_classes(e)}
    if set(CLOSES) - state:
        raise GenerationError(
            f"CLOSES names commands that are not connection state: {sorted(set(CLOSES) - state)}"
        )
    if set(REFUSALS) != state - set(CLOSES):
        raise GenerationError(
            "every connection-state command needs a refusal in REFUSALS (or an entry in "
            f"CLOSES), and only those: without one {sorted(state - set(CLOSES) - set(REFUSALS))}, "
            f"not connection state {sorted(set(REFUSALS) - state)}"
        )
    for entry, _ in flat:
        specs = entry["key_specs"]
        shaky = any(
            "incomplete" in s["flags"]
            or s["begin_search"]["type"] == "unknown"
            or s["find_keys"]["type"] == "unknown"
            for s in specs
        )
        if shaky != (entry["name"] in KEYS_RULES):
            raise GenerationError(
                f"{entry['name']}: a command with incomplete or unknown key specs needs a "
                "rule in KEYS_RULES (and cmdspec.c), and only those have one"
            )
        for s in specs:
            b, f = s["begin_search"], s["find_keys"]
            if b["type"] not in ("index", "keyword", "unknown"):
                raise GenerationError(f"{entry['name']}: begin_search {b['type']}")
            if f["type"] not in ("range", "keynum", "unknown"):
                raise GenerationError(f"{entry['name']}: find_keys {f['type']}")
            if f["type"] in ("range", "keynum") and f["spec"]["keystep"] < 1:
                raise GenerationError(f"{entry['name']}: keystep < 1")
            if f["type"] == "range" and f["spec"]["limit"] > 1 and f["spec"]["lastkey"] != -1:
                raise GenerationError(f"{entry['name']}: a limit needs lastkey -1")


# ---------------------------------------------------------------------------
# The C header.
# ---------------------------------------------------------------------------


def vocabularies(prc_h: str) -> Dict[str, Dict[str, str]]:
    """{map name: {server name: C constant}} from prc.h's X-macros."""
    prefixes = {
        "PRC_CMD_FLAG_MAP": "PRC_CMD_",
        "PRC_CMD_ACL_MAP": "PRC_ACL_",
        "PRC_CMD_TIP_MAP": "PRC_TIP_",
        "PRC_KS_FLAG_MAP": "PRC_KS_",
        "PRC_CMD_CLASS_MAP": "PRC_CLASS_",
        "PRC_CMD_TMO_MAP": "PRC_TMO_",
        "PRC_CMD_REFUSAL_MAP": "PRC_REFUSE_",
    }
    out: Dict[str, Dict[str, str]] = {}
    for macro, prefix in prefixes.items():
        m = re.search(r"#define " + macro + r"\(XX\)((?:[^\n]*\\\n)*[^\n]*)", prc_h)
        if m is None:
            raise GenerationError(f"prc.h has no {macro}")
        pairs = re.findall(r'XX\((\w+),\s*"([^"]*)"\)', m.group(1))
        out[macro] = {text: prefix + name for name, text in pairs}
    return out


def _mask(names: List[str], vocab: Dict[str, str], what: str, owner: str) -> str:
    unknown = [n for n in names if n not in vocab]
    if unknown:
        raise GenerationError(
            f"{owner}: {what} {unknown} missing from prc.h: add them to its map first"
        )
    order = list(vocab)
    return " | ".join(vocab[n] for n in sorted(set(names), key=order.index)) or "0"


def fnv1a(data: bytes, h: int = 2166136261) -> int:
    """FNV-1a over the upper-cased bytes, as cmdspec.c hashes an argument."""
    for byte in data.upper():
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h


def _c_string(text: str) -> str:
    return json.dumps(text)  # ASCII names and versions: JSON escapes are C escapes


def render_header(snapshot: Entry, commands: List[Entry], prc_h: str) -> str:
    flat = flatten(commands)
    validate(flat)
    vocab = vocabularies(prc_h)
    index = {e["name"]: i for i, (e, _) in enumerate(flat)}
    lines: List[str] = []
    specs_out: List[str] = []
    entries_out: List[str] = []
    hashes: List[int] = []
    for i, (entry, parent) in enumerate(flat):
        name = entry["name"]
        display = name.upper().replace("|", " ")
        classes = derive_classes(entry)
        first_spec = len(specs_out)
        for s in entry["key_specs"]:
            b, f = s["begin_search"], s["find_keys"]
            fields = [
                f".flags = {_mask(s['flags'], vocab['PRC_KS_FLAG_MAP'], 'key-spec flags', name)}"
            ]
            fields.append(f".begin = PRC_KS_BEGIN_{b['type'].upper()}")
            fields.append(f".find = PRC_KS_FIND_{f['type'].upper()}")
            if b["type"] == "index":
                fields.append(f".index = {b['spec']['index']}")
            elif b["type"] == "keyword":
                fields.append(f".startfrom = {b['spec']['startfrom']}")
                fields.append(f".keyword = {_c_string(b['spec']['keyword'].upper())}")
            if f["type"] == "range":
                fields.append(f".lastkey = {f['spec']['lastkey']}")
                fields.append(f".keystep = {f['spec']['keystep']}")
                fields.append(f".limit = {f['spec']['limit']}")
            elif f["type"] == "keynum":
                fields.append(f".keynumidx = {f['spec']['keynumidx']}")
                fields.append(f".firstkey = {f['spec']['firstkey']}")
                fields.append(f".keystep = {f['spec']['keystep']}")
            specs_out.append(f"    /* {len(specs_out)}: {display} */ {{{', '.join(fields)}}},")
        subs = entry.get("subcommands", [])
        tmo = BLOCK_TIMEOUTS.get(name)
        if tmo is not None and tmo not in vocab["PRC_CMD_TMO_MAP"]:
            raise GenerationError(f"{name}: timeout rule {tmo} missing from PRC_CMD_TMO_MAP")
        tmo_c = vocab["PRC_CMD_TMO_MAP"][tmo] if tmo else "PRC_TMO_NONE"
        refusal = REFUSALS.get(name)
        if refusal is not None and refusal not in vocab["PRC_CMD_REFUSAL_MAP"]:
            raise GenerationError(f"{name}: refusal {refusal} missing from PRC_CMD_REFUSAL_MAP")
        refusal_c = vocab["PRC_CMD_REFUSAL_MAP"][refusal] if refusal else "PRC_REFUSE_NONE"
        why = "; ".join(f"{k}: {v}" for k, v in classes.items())
        rows = [
            [
                f".name = {_c_string(display)}",
                f".name_len = {len(display)}",
                f".sub_off = {len(parent['name']) + 1 if parent else 0}",
                f".arity = {entry['arity']}",
                f".parent = {index[parent['name']] if parent else -1}",
                f".first_sub = {index[subs[0]['name']] if subs else 0}",
                f".nsubs = {len(subs)}",
            ],
            [f".flags = {_mask(entry['flags'], vocab['PRC_CMD_FLAG_MAP'], 'flags', name)}"],
            [
                ".acl = "
                + _mask(entry["acl_categories"], vocab["PRC_CMD_ACL_MAP"], "ACL categories", name)
            ],
            [f".tips = {_mask(entry['tips'], vocab['PRC_CMD_TIP_MAP'], 'tips', name)}"],
            [
                f".classes = {_mask(list(classes), vocab['PRC_CMD_CLASS_MAP'], 'classes', name)}",
                f".block_tmo = {tmo_c}",
                f".keys_rule = {KEYS_RULES.get(name, 'RULE_NONE')}",
                f".refusal = {refusal_c}",
            ],
            [
                f".nkeyspecs = {len(entry['key_specs'])}",
                f".keyspecs = {f'&gen_keyspecs[{first_spec}]' if entry['key_specs'] else 'NULL'}",
                f".group = {_c_string(entry.get('group', ''))}",
                f".since = {_c_string(entry.get('since', ''))}",
            ],
        ]
        comment = f"    /* {i}: {display}" + (f" ({why})" if why else "") + " */"
        body = ",\n     ".join(", ".join(row) for row in rows)
        entries_out.append(comment + "\n    {" + body + "},")
        if parent is None:
            hashes.append(fnv1a(name.encode()))
        else:
            container, _, sub = name.partition("|")
            hashes.append(fnv1a(b"|" + sub.encode(), fnv1a(container.encode())))
    nslots = 1
    while nslots < 4 * len(flat):
        nslots *= 2
    slots = [0] * nslots
    longest_probe = 0
    for i, h in enumerate(hashes):
        slot, probe = h & (nslots - 1), 0
        while slots[slot]:
            slot, probe = (slot + 1) & (nslots - 1), probe + 1
        slots[slot] = (h >> 16) << 16 | (i + 1)
        longest_probe = max(longest_probe, probe)
    version = snapshot["server_version"]
    nsupp = sum(1 for e, _ in flat if e.get("supplement"))
    lines += [
        "/* clang-format off */",
        f"/* commands_gen.h - the command table: GENERATED by {COMMAND}. */",
        "/*",
        f" * From {SNAPSHOT.relative_to(ROOT)} (redis-server {version}) and",
        f" * {SUPPLEMENT.relative_to(ROOT)} ({nsupp} hand-written entries, marked supplement).",
        " * Do not edit: change the generator or its inputs and run it again.",
        " * Included by cmdspec.c only.",
        " */",
        f"#define GEN_SERVER_VERSION {_c_string(version)}",
        f"#define GEN_NCOMMANDS {len(flat)}",
        f"#define GEN_NSLOTS {nslots} /* a power of two; longest probe {longest_probe} */",
        f"#define GEN_LONGEST_NAME {max(len(e['name']) for e, p in flat if p is None)}",
        f"#define GEN_LONGEST_SUBNAME {max(len(e['name']) - len(p['name']) - 1 for e, p in flat if p)}",
        "",
        "static const prc_keyspec_t gen_keyspecs[] = {",
        *specs_out,
        "};",
        "",
        "static const prc_cmd_t gen_commands[GEN_NCOMMANDS] = {",
        *entries_out,
        "};",
        "",
        "/* ASCII upper case of every byte (names are compared upper-cased). */",
        "static const unsigned char gen_upper[256] = {",
        *(
            "    "
            + ", ".join(str(ord(chr(c).upper()) if c < 128 else c) for c in range(r, r + 16))
            + ","
            for r in range(0, 256, 16)
        ),
        "};",
        "",
        "/* Open addressing, linear probing: the entry's index + 1 in the low 16",
        " * bits (0: empty), the top 16 bits of its hash above. */",
        "static const uint32_t gen_slots[GEN_NSLOTS] = {",
    ]
    for start in range(0, nslots, 8):
        lines.append("    " + ", ".join(f"{v:#010x}" for v in slots[start : start + 8]) + ",")
    lines += ["};", "/* clang-format on */", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def outputs(snapshot: Entry) -> Dict[Path, str]:
    supplement = load_json(SUPPLEMENT)["commands"]
    commands = merge(snapshot, supplement)
    return {
        SNAPSHOT: dump_snapshot(snapshot),
        HEADER: render_header(snapshot, commands, PRC_H.read_text(encoding="utf-8")),
    }


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--url", help="snapshot this server (redis://[:password@]host:port)")
    mode.add_argument("--offline", action="store_true", help="regenerate from the snapshot")
    mode.add_argument(
        "--check", action="store_true", help="exit 1 if a generated file is out of date"
    )
    parser.add_argument("--server", default="redis-server", help="redis-server to start")
    opts = parser.parse_args(argv)
    try:
        if opts.check or opts.offline:
            snapshot = load_json(SNAPSHOT)
        elif opts.url:
            url = urlparse(opts.url)
            snapshot = fetch(url.hostname or "127.0.0.1", url.port or 6379, url.password)
        else:
            binary = shutil.which(opts.server)
            if binary is None:
                sys.stderr.write(f"gen_commands: {opts.server} not found (or use --url)\n")
                return 2
            with throwaway_server(binary) as (host, port):
                snapshot = fetch(host, port)
        files = outputs(snapshot)
    except (GenerationError, OSError, RespError, RuntimeError) as exc:
        sys.stderr.write(f"gen_commands: {exc}\n")
        return 2
    stale = False
    for path, text in files.items():
        rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if text == current:
            if not opts.check:
                sys.stdout.write(f"{rel} is up to date\n")
        elif opts.check:
            stale = True
            diff = difflib.unified_diff(
                current.splitlines(True),
                text.splitlines(True),
                f"{rel} (committed)",
                f"{rel} (generated)",
                n=1,
            )
            sys.stderr.writelines(list(diff)[:80])
            sys.stderr.write(f"{rel} is out of date: run {COMMAND} --offline\n")
        else:
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, path)
            sys.stdout.write(f"wrote {rel}\n")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
