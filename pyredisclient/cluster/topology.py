"""The cluster's shape: which primary serves each of the 16,384 slots, and its
replicas; read from CLUSTER SHARDS (Redis 7+) or CLUSTER SLOTS.

A :class:`SlotMap` is immutable: a refresh builds a new one and the client swaps it
in as a whole (one attribute store), and a MOVED reply makes a copy with one slot
changed, so a reader never sees a half-updated map.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

from .._core import key_slot

__all__ = ["SLOTS", "SlotMap", "key_slot", "node_name", "parse_shards", "parse_slots"]

SLOTS = 16384


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value)


def node_name(host: str, port: int) -> str:
    """The name a node goes by in the client: ``host:port`` (``[v6]:port``)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def split_name(name: str) -> Tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) back to (host, port)."""
    host, _, port = name.rpartition(":")
    return host.strip("[]"), int(port)


class SlotMap:
    """Slot to primary name, primary to replica names; immutable once built."""

    __slots__ = ("_firsts", "primaries", "replicas", "slots")

    def __init__(self, slots: Sequence[str | None], replicas: Dict[str, Tuple[str, ...]]) -> None:
        self.slots: Tuple[str | None, ...] = tuple(slots)
        self.replicas = replicas
        self.primaries: Tuple[str, ...] = tuple(sorted({s for s in self.slots if s is not None}))
        self._firsts: Tuple[Tuple[int, str], ...] | None = None

    @property
    def covered(self) -> int:
        """How many slots have a primary."""
        return sum(1 for s in self.slots if s is not None)

    @property
    def nodes(self) -> Tuple[str, ...]:
        """Every node named: the primaries, then their replicas."""
        reps = [r for p in self.primaries for r in self.replicas.get(p, ())]
        return self.primaries + tuple(reps)

    def first_slots(self) -> Tuple[Tuple[int, str], ...]:
        """(lowest slot served, primary) of every primary, by slot: the order in
        which ``scan(cursor)`` visits the nodes (computed once per map)."""
        firsts = self._firsts
        if firsts is None:
            seen: Dict[str, int] = {}
            for slot, name in enumerate(self.slots):
                if name is not None and name not in seen:
                    seen[name] = slot
            firsts = self._firsts = tuple((slot, name) for name, slot in seen.items())
        return firsts

    def with_slot(self, slot: int, name: str) -> SlotMap:
        """A copy in which ``name`` serves ``slot`` (what a MOVED reply says)."""
        slots = list(self.slots)
        slots[slot] = name
        return SlotMap(slots, self.replicas)

    def __repr__(self) -> str:
        return f"<SlotMap {len(self.primaries)} primaries, {self.covered} slots covered>"


def _pairs(flat: Sequence[Any]) -> Dict[str, Any]:
    return {_text(flat[i]): flat[i + 1] for i in range(0, len(flat) - 1, 2)}


def _host(fields: Dict[str, Any], seed_host: str) -> str:
    for key in ("endpoint", "ip"):
        value = fields.get(key)
        if value is not None and _text(value) not in ("", "?"):
            return _text(value)
    return seed_host


def parse_shards(reply: Sequence[Any], seed_host: str, tls: bool = False) -> SlotMap:
    """A SlotMap from a ``CLUSTER SHARDS`` reply (RESP2: flat field lists). Nodes whose
    health is ``fail`` are left out; an unknown endpoint (``?``) means the seed's
    host. With ``tls`` a node's ``tls-port`` is used where it has one."""
    slots: List[str | None] = [None] * SLOTS
    replicas: Dict[str, Tuple[str, ...]] = {}
    for shard in reply:
        fields = _pairs(shard)
        primary = None
        reps: List[str] = []
        for node in fields.get("nodes") or ():
            info = _pairs(node)
            if _text(info.get("health", "online")) == "fail":
                continue
            port = info.get("tls-port") if tls and info.get("tls-port") else info.get("port")
            if port is None:
                continue
            name = node_name(_host(info, seed_host), int(port))
            if _text(info.get("role", "")) == "master":
                primary = name
            else:
                reps.append(name)
        ranges = [int(x) for x in fields.get("slots") or ()]
        if primary is None or not ranges:
            continue
        replicas[primary] = tuple(sorted(reps))
        for i in range(0, len(ranges) - 1, 2):
            for slot in range(ranges[i], ranges[i + 1] + 1):
                slots[slot] = primary
    return SlotMap(slots, replicas)


def parse_slots(reply: Sequence[Any], seed_host: str) -> SlotMap:
    """A SlotMap from a ``CLUSTER SLOTS`` reply (Redis before 7)."""
    slots: List[str | None] = [None] * SLOTS
    replicas: Dict[str, set[str]] = {}
    for entry in reply:
        start, end = int(entry[0]), int(entry[1])
        names = []
        for node in entry[2:]:
            host = _text(node[0]) if node[0] not in (b"", "", None, b"?", "?") else seed_host
            names.append(node_name(host, int(node[1])))
        if not names:
            continue
        replicas.setdefault(names[0], set()).update(names[1:])
        for slot in range(start, end + 1):
            slots[slot] = names[0]
    return SlotMap(slots, {p: tuple(sorted(r)) for p, r in replicas.items()})
