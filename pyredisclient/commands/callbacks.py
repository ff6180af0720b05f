"""Reply callbacks: each takes the raw reply and returns what redis-py returns.

Shared by every client and pipeline: a command method hands its callback to the
hook with the arguments, and the hook applies it to the reply (a pipeline, to each
reply of its batch). Replies arrive as hiredis builds them: ``bytes`` (``str`` with
``decode_responses=True``) for bulk and status replies, ``int``, ``None`` and lists;
callbacks accept both ``bytes`` and ``str``. They live at module level so that the
common calls create no closure.
"""

# Replies are untyped (Any) by nature; a callback declares what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, Dict, List, Set, Tuple

from .types import Callback, ScoreCastT


def as_text(value: Any) -> Any:
    """Decode bytes as UTF-8 (replacing bad bytes); leave other values alone."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def is_ok(reply: Any) -> bool:
    return reply == b"OK" or reply == "OK"


def is_pong(reply: Any) -> bool:
    return reply == b"PONG" or reply == "PONG"


def set_result(reply: Any) -> bool | None:
    # SET answers +OK, or nil when NX/XX stopped it.
    if reply is None:
        return None
    return reply == b"OK" or reply == "OK"


def float_or_none(reply: Any) -> float | None:
    return None if reply is None else float(reply)


def int_or_none(reply: Any) -> int | None:
    return None if reply is None else int(reply)


def to_set(reply: Any) -> Set[Any]:
    return set(reply) if reply else set()


def pairs_to_dict(reply: Any) -> Dict[Any, Any]:
    if not reply:
        return {}
    it = iter(reply)
    return dict(zip(it, it))


def to_tuple_or_none(reply: Any) -> Tuple[Any, ...] | None:
    return tuple(reply) if reply else None


def scan_result(reply: Any) -> Tuple[int, List[Any]]:
    return int(reply[0]), reply[1]


def hscan_result(reply: Any) -> Tuple[int, Dict[Any, Any]]:
    return int(reply[0]), pairs_to_dict(reply[1])


def hscan_novalues_result(reply: Any) -> Tuple[int, List[Any]]:
    return int(reply[0]), reply[1] or []


def time_result(reply: Any) -> Tuple[int, int]:
    return int(reply[0]), int(reply[1])


def bools(reply: Any) -> List[bool]:
    return [bool(x) for x in reply]


def empty_list(reply: Any) -> List[Any]:
    return []


def config_get_result(reply: Any) -> Dict[Any, Any]:
    return pairs_to_dict([as_text(x) for x in reply])


def client_list_result(reply: Any) -> List[Dict[str, str]]:
    clients = []
    for line in as_text(reply).splitlines():
        client: Dict[str, str] = {}
        last = None
        for token in line.split(" "):
            key, eq, value = token.partition("=")
            if eq:
                client[key] = value
                last = key
            elif last is not None:
                # A value with a space in it, e.g. a unix socket path.
                client[last] += " " + token
        if client:
            clients.append(client)
    return clients


def info_value(text: str) -> Any:
    """Convert one INFO value the way redis-py's parse_info does.

    "12" -> 12, "1.5" -> 1.5, "a=1,b=x" -> {"a": 1, "b": "x"},
    "a,b" -> ["a", "b"], anything else stays a string.
    """
    if "=" in text:
        fields: Dict[str, Any] = {}
        for item in text.split(","):
            if not item:
                continue
            key, eq, value = item.rpartition("=")
            if eq:
                fields[key] = info_value(value)
            else:
                fields[value] = True
        return fields
    if "," in text:
        return [info_value(part) for part in text.split(",") if part]
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        return text


def info_result(reply: Any) -> Dict[str, Any]:
    """Parse an INFO reply into a dict (redis-py's parse_info shape)."""
    info: Dict[str, Any] = {}
    for line in as_text(reply).splitlines():
        if not line or line.startswith("#"):
            continue
        key, colon, value = line.partition(":")
        if not colon:
            info.setdefault("__raw__", []).append(line)
            continue
        if key == "cmdstat_host":
            # The one field whose name holds a colon: "cmdstat_host:calls=..".
            key, _, value = line.rpartition(":")
        if key == "module":
            info.setdefault("modules", []).append(info_value(value))
        else:
            info[key] = info_value(value)
    return info


def score_cast(func: ScoreCastT) -> ScoreCastT:
    """Return func, made to accept scores such as b"1.5e+18" as redis-py does.

    float takes every score Redis sends; for other callables (int, Decimal,
    ...) retry through float() when the raw text does not parse.
    """
    if func is float:
        return func

    def cast(value: Any) -> Any:
        try:
            return func(value)
        except (ValueError, TypeError):
            return func(float(value))

    return cast


def score_pairs(func: ScoreCastT) -> Callback:
    """Callback turning [m1, s1, m2, s2, ...] into [(m1, func(s1)), ...]."""
    if func is float and _float_score_pairs is not None:
        return _float_score_pairs
    cast = score_cast(func)

    def pairs(reply: Any) -> Any:
        if not reply:
            return reply
        it = iter(reply)
        return list(zip(it, map(cast, it)))

    return pairs


def rank_with_score(func: ScoreCastT) -> Callback:
    """Callback turning [rank, score] into [rank, func(score)]."""
    cast = score_cast(func)

    def rank(reply: Any) -> Any:
        if not reply:
            return reply
        return [reply[0], cast(reply[1])]

    return rank


_float_score_pairs: Callback | None = None
_float_score_pairs = score_pairs(float)


# -- issue 15b: shared by the server and ACL families --------------------------------

_CLIENT_INT_FIELDS = frozenset(
    "id age idle db sub psub multi qbuf qbuf-free obl argv-mem oll omem tot-mem".split()
)


def client_info_result(reply: Any) -> Dict[str, Any]:
    """CLIENT INFO (and ACL LOG's client-info) as redis-py's dict, numbers as int."""
    found = client_list_result(as_text(reply).strip())
    info: Dict[str, Any] = found[0] if found else {}
    for key in _CLIENT_INT_FIELDS & info.keys():
        info[key] = int(info[key])
    return info


def text_pairs(reply: Any) -> Dict[str, Any]:
    """[k, v, ...] with keys and bulk values as str (redis-py's pairs_to_dict with
    decode_keys and decode_string_values)."""
    it = iter(reply or ())
    return {as_text(k): as_text(v) for k, v in zip(it, it)}
