"""Stream commands: XADD, XRANGE, XREAD(GROUP), XACK, XCLAIM, XPENDING, XINFO, XGROUP..."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Tuple, Union

from ..exceptions import DataError
from .base import CommandsBase, plain_command
from .callbacks import as_text, is_ok, pairs_to_dict
from .types import Callback, EncodableT, KeyT

StreamIdT = Union[int, bytes, str, memoryview]
GroupT = Union[bytes, str, memoryview]
ConsumerT = Union[bytes, str, memoryview]

_REF_POLICIES = ("KEEPREF", "DELREF", "ACKED")
_PENDING_FIELDS = ("message_id", "consumer", "time_since_delivered", "times_delivered")


# Reply callbacks (redis-py's RESP2 shapes).


def stream_list(reply: Any) -> List[Tuple[Any, Any]] | None:
    """[[id, [f, v, ...]], ...] -> [(id, {f: v}), ...]; a nil entry -> (None, None)."""
    if reply is None:
        return None
    return [(None, None) if e is None else (e[0], pairs_to_dict(e[1])) for e in reply]


def _claimed_stream_list(reply: Any) -> List[Tuple[Any, ...]]:
    # XREADGROUP ... CLAIM: each entry carries delivery fields after its id and fields.
    return [(None, None) if e is None else (e[0], pairs_to_dict(e[1]), *e[2:]) for e in reply]


def _xread_result(reply: Any) -> List[List[Any]]:
    if reply is None:
        return []
    return [[stream[0], stream_list(stream[1])] for stream in reply]


def _xread_claimed_result(reply: Any) -> List[List[Any]]:
    if reply is None:
        return []
    return [[stream[0], _claimed_stream_list(stream[1])] for stream in reply]


def _xautoclaim_result(reply: Any) -> List[Any]:
    return [reply[0], stream_list(reply[1]), *reply[2:]]


def _xautoclaim_justid_result(reply: Any) -> Any:
    return reply[1]


def _str_keys(reply: Any) -> Dict[str, Any]:
    it = iter(reply)
    return {as_text(k): v for k, v in zip(it, it)}


def _list_of_dicts(reply: Any) -> List[Dict[str, Any]]:
    return [_str_keys(item) for item in reply]


def _entry(entry: Any) -> Any:
    if entry is None or entry[0] is None:
        return entry
    return (entry[0], pairs_to_dict(entry[1]))


def _xinfo_stream_result(reply: Any) -> Dict[str, Any]:
    data = _str_keys(reply)
    for field in ("first-entry", "last-entry"):
        if field in data:
            data[field] = _entry(data[field])
    return data


def _xinfo_stream_full_result(reply: Any) -> Dict[str, Any]:
    data = _str_keys(reply)
    data["entries"] = {e[0]: pairs_to_dict(e[1]) for e in data["entries"]}
    groups = [_str_keys(group) for group in data["groups"]]
    for group in groups:
        if group["consumers"] and group["consumers"][0] is not None:
            group["consumers"] = [_str_keys(c) for c in group["consumers"]]
    data["groups"] = groups
    return data


def _xpending_result(reply: Any) -> Dict[str, Any]:
    consumers = [{"name": n, "pending": int(p)} for n, p in reply[3] or []]
    return {"pending": reply[0], "min": reply[1], "max": reply[2], "consumers": consumers}


def _xpending_range_result(reply: Any) -> List[Dict[str, Any]]:
    return [dict(zip(_PENDING_FIELDS, entry)) for entry in reply]


# Argument helpers.


def _positive(value: int | None, what: str) -> Tuple[Any, ...]:
    """``COUNT n``-style options: nothing for None, DataError unless a positive int."""
    if value is None:
        return ()
    if not isinstance(value, int) or value < 1:
        raise DataError(f"{what} must be a positive integer")
    return (str(value),)


def _trim_args(
    maxlen: int | None, approximate: bool, minid: StreamIdT | None, limit: int | None
) -> Tuple[Any, ...]:
    args: Tuple[Any, ...] = ()
    if maxlen is not None:
        args += ("MAXLEN", "~", maxlen) if approximate else ("MAXLEN", maxlen)
    if minid is not None:
        args += ("MINID", "~", minid) if approximate else ("MINID", minid)
    if limit is not None:
        args += ("LIMIT", limit)
    return args


def _check_ref_policy(command: str, ref_policy: str | None) -> None:
    if ref_policy is not None and ref_policy not in _REF_POLICIES:
        raise DataError(f"{command} ref_policy must be one of: KEEPREF, DELREF, ACKED")


def _streams(command: str, streams: Mapping[Any, Any]) -> Tuple[Any, ...]:
    if not isinstance(streams, dict) or not streams:
        raise DataError(f"{command} streams must be a non empty dict")
    return ("STREAMS", *streams.keys(), *streams.values())


def _read_limits(
    command: str, count: int | None, max_count: int | None, max_size: int | None
) -> Tuple[Any, ...]:
    args: Tuple[Any, ...] = ()
    if count is not None:
        args += ("COUNT", *_positive(count, f"{command} count"))
    if max_count is not None:
        args += ("MAXCOUNT", *_positive(max_count, f"{command} max_count"))
        if count is not None and max_count < count:
            raise DataError(f"{command} max_count must be greater than or equal to count")
    if max_size is not None:
        args += ("MAXSIZE", *_positive(max_size, f"{command} max_size"))
    return args


def _block(command: str, block: int | None) -> Tuple[Any, ...]:
    if block is None:
        return ()
    if not isinstance(block, int) or block < 0:
        raise DataError(f"{command} block must be a non-negative integer")
    return ("BLOCK", str(block))


class StreamCommands(CommandsBase):
    __slots__ = ()

    def xadd(
        self,
        name: KeyT,
        fields: Dict[Any, EncodableT],
        id: StreamIdT = "*",
        maxlen: int | None = None,
        approximate: bool = True,
        nomkstream: bool = False,
        minid: StreamIdT | None = None,
        limit: int | None = None,
        ref_policy: str | None = None,
        idmpauto: str | None = None,
        idmp: Tuple[Any, Any] | None = None,
    ) -> Any:
        """Append an entry of ``fields`` to stream ``name``; return its id.

        ``maxlen``/``minid`` (``~`` unless ``approximate=False``) and ``limit``
        trim the stream in the same call. ``ref_policy``, ``idmpauto`` and
        ``idmp`` need Redis 8.2+ and are sent as given.
        """
        if maxlen is not None and minid is not None:
            raise DataError("Only one of ```maxlen``` or ```minid``` may be specified")
        if idmpauto is not None and idmp is not None:
            raise DataError("Only one of ```idmpauto``` or ```idmp``` may be specified")
        if (idmpauto is not None or idmp is not None) and id != "*":
            raise DataError("IDMPAUTO and IDMP can only be used with id='*'")
        _check_ref_policy("XADD", ref_policy)
        args: Tuple[Any, ...] = ("XADD", name)
        if nomkstream:
            args += ("NOMKSTREAM",)
        if ref_policy is not None:
            args += (ref_policy,)
        if idmpauto is not None:
            args += ("IDMPAUTO", idmpauto)
        if idmp is not None:
            if not isinstance(idmp, tuple) or len(idmp) != 2:
                raise DataError("XADD idmp must be a tuple of (producer_id, idempotent_id)")
            args += ("IDMP", *idmp)
        if maxlen is not None and (not isinstance(maxlen, int) or maxlen < 0):
            raise DataError("XADD maxlen must be non-negative integer")
        args += _trim_args(maxlen, approximate, minid, limit)
        if not isinstance(fields, dict) or not fields:
            raise DataError("XADD fields must be a non-empty dict")
        return self._run((*args, id, *(x for pair in fields.items() for x in pair)))

    @plain_command
    def xlen(self, name: KeyT) -> int:
        """Return the number of entries of stream ``name``."""
        return self._run(("XLEN", name))

    def xdel(self, name: KeyT, *ids: StreamIdT) -> int:
        """Delete entries ``ids`` from stream ``name``; return how many existed."""
        return self._run(("XDEL", name, *ids))

    def xtrim(
        self,
        name: KeyT,
        maxlen: int | None = None,
        approximate: bool = True,
        minid: StreamIdT | None = None,
        limit: int | None = None,
        ref_policy: str | None = None,
    ) -> int:
        """Trim stream ``name`` to ``maxlen`` entries or to ids >= ``minid``;
        return how many entries were removed."""
        if maxlen is not None and minid is not None:
            raise DataError("Only one of ``maxlen`` or ``minid`` may be specified")
        if maxlen is None and minid is None:
            raise DataError("One of ``maxlen`` or ``minid`` must be specified")
        _check_ref_policy("XTRIM", ref_policy)
        args = ("XTRIM", name, *_trim_args(maxlen, approximate, minid, limit))
        return self._run((*args, ref_policy) if ref_policy is not None else args)

    def xrange(
        self,
        name: KeyT,
        min: StreamIdT = "-",
        max: StreamIdT = "+",
        count: int | None = None,
    ) -> List[Tuple[Any, Dict[Any, Any]]]:
        """Return the entries of ``name`` from ``min`` to ``max`` as (id, fields) tuples."""
        count_args = ("COUNT", *_positive(count, "XRANGE count")) if count is not None else ()
        return self._run(("XRANGE", name, min, max, *count_args), stream_list)

    def xrevrange(
        self,
        name: KeyT,
        max: StreamIdT = "+",
        min: StreamIdT = "-",
        count: int | None = None,
    ) -> List[Tuple[Any, Dict[Any, Any]]]:
        """Like xrange, from ``max`` down to ``min``."""
        count_args = ("COUNT", *_positive(count, "XREVRANGE count")) if count is not None else ()
        return self._run(("XREVRANGE", name, max, min, *count_args), stream_list)

    def xread(
        self,
        streams: Dict[Any, StreamIdT],
        count: int | None = None,
        block: int | None = None,
        max_count: int | None = None,
        max_size: int | None = None,
    ) -> List[List[Any]]:
        """Read entries after the given ids from {stream: id} ``streams``.

        Returns [[stream, [(id, fields), ...]], ...], or [] when nothing came;
        ``block`` waits up to that many milliseconds (0: forever), on top of
        the socket timeout. ``max_count``/``max_size`` need Redis 8.4+.
        """
        args = (
            "XREAD",
            *_block("XREAD", block),
            *_read_limits("XREAD", count, max_count, max_size),
            *_streams("XREAD", streams),
        )
        return self._run(args, _xread_result)

    def xreadgroup(
        self,
        groupname: GroupT,
        consumername: ConsumerT,
        streams: Dict[Any, StreamIdT],
        count: int | None = None,
        block: int | None = None,
        noack: bool = False,
        claim_min_idle_time: int | None = None,
        max_count: int | None = None,
        max_size: int | None = None,
    ) -> List[List[Any]]:
        """Read as ``consumername`` of group ``groupname``: ``>`` for new entries,
        an id for this consumer's pending ones. Same shape and ``block`` as xread.
        ``claim_min_idle_time``, ``max_count`` and ``max_size`` need Redis 8.4+."""
        args: Tuple[Any, ...] = (
            "XREADGROUP",
            "GROUP",
            groupname,
            consumername,
            *_read_limits("XREADGROUP", count, max_count, max_size),
            *_block("XREADGROUP", block),
        )
        if noack:
            args += ("NOACK",)
        callback: Callback = _xread_result
        if claim_min_idle_time is not None:
            if not isinstance(claim_min_idle_time, int) or claim_min_idle_time < 0:
                raise DataError("XREADGROUP claim_min_idle_time must be a non-negative integer")
            args += ("CLAIM", claim_min_idle_time)
            callback = _xread_claimed_result
        return self._run((*args, *_streams("XREADGROUP", streams)), callback)

    def xack(self, name: KeyT, groupname: GroupT, *ids: StreamIdT) -> int:
        """Acknowledge ``ids`` for group ``groupname``; return how many were pending."""
        return self._run(("XACK", name, groupname, *ids))

    def xclaim(
        self,
        name: KeyT,
        groupname: GroupT,
        consumername: ConsumerT,
        min_idle_time: int,
        message_ids: Union[List[StreamIdT], Tuple[StreamIdT, ...]],
        idle: int | None = None,
        time: int | None = None,
        retrycount: int | None = None,
        force: bool = False,
        justid: bool = False,
    ) -> Any:
        """Claim pending ``message_ids`` idle for ``min_idle_time`` ms or more.

        Returns the claimed entries as (id, fields) tuples, or their ids with
        ``justid``.
        """
        if not isinstance(min_idle_time, int) or min_idle_time < 0:
            raise DataError("XCLAIM min_idle_time must be a non negative integer")
        if not isinstance(message_ids, (list, tuple)) or not message_ids:
            raise DataError(
                "XCLAIM message_ids must be a non empty list or tuple of message IDs to claim"
            )
        args: Tuple[Any, ...] = (
            "XCLAIM",
            name,
            groupname,
            consumername,
            str(min_idle_time),
            *message_ids,
        )
        for option, value in (("IDLE", idle), ("TIME", time), ("RETRYCOUNT", retrycount)):
            if value is not None:
                if not isinstance(value, int):
                    raise DataError(f"XCLAIM {option.lower()} must be an integer")
                args += (option, str(value))
        if force:
            if not isinstance(force, bool):
                raise DataError("XCLAIM force must be a boolean")
            args += ("FORCE",)
        if justid:
            if not isinstance(justid, bool):
                raise DataError("XCLAIM justid must be a boolean")
            return self._run((*args, "JUSTID"))
        return self._run(args, stream_list)

    def xautoclaim(
        self,
        name: KeyT,
        groupname: GroupT,
        consumername: ConsumerT,
        min_idle_time: int,
        start_id: StreamIdT = "0-0",
        count: int | None = None,
        justid: bool = False,
    ) -> List[Any]:
        """Claim entries pending longer than ``min_idle_time`` ms, from ``start_id``.

        Returns [next start id, [(id, fields), ...], [deleted ids]] (Redis 7), or
        only the claimed ids with ``justid``.
        """
        if min_idle_time is not None and int(min_idle_time) < 0:
            raise DataError("XAUTOCLAIM min_idle_time must be a nonnegative integer")
        args: Tuple[Any, ...] = (
            "XAUTOCLAIM",
            name,
            groupname,
            consumername,
            min_idle_time,
            start_id,
        )
        if count is not None:
            if int(count) < 0:
                raise DataError("XAUTOCLAIM count must be a integer >= 0")
            args += ("COUNT", count)
        if justid:
            return self._run((*args, "JUSTID"), _xautoclaim_justid_result)
        return self._run(args, _xautoclaim_result)

    def xpending(self, name: KeyT, groupname: GroupT) -> Dict[str, Any]:
        """Return the summary of group ``groupname``'s pending entries:
        {"pending", "min", "max", "consumers": [{"name", "pending"}, ...]}."""
        return self._run(("XPENDING", name, groupname), _xpending_result)

    def xpending_range(
        self,
        name: KeyT,
        groupname: GroupT,
        min: StreamIdT | None,
        max: StreamIdT | None,
        count: int | None,
        consumername: ConsumerT | None = None,
        idle: int | None = None,
    ) -> List[Dict[str, Any]]:
        """Return up to ``count`` pending entries between ``min`` and ``max``, each
        {"message_id", "consumer", "time_since_delivered", "times_delivered"};
        ``consumername`` and ``idle`` (ms) filter them."""
        if min is None and max is None and count is None:
            if idle is not None or consumername is not None:
                raise DataError(
                    "if XPENDING is provided with idle time or consumername,"
                    " it must be provided with min, max and count parameters"
                )
            return self._run(("XPENDING", name, groupname), _xpending_result)
        if min is None or max is None or count is None:
            raise DataError(
                "XPENDING must be provided with min, max and count parameters, or none of them."
            )
        args: Tuple[Any, ...] = ("XPENDING", name, groupname)
        if idle is not None:
            if int(idle) < 0:
                raise DataError("XPENDING idle must be a integer >= 0")
            args += ("IDLE", idle)
        if int(count) < 0:
            raise DataError("XPENDING count must be a integer >= 0")
        args += (min, max, count)
        if consumername is not None:
            args += (consumername,)
        return self._run(args, _xpending_range_result)

    def xgroup_create(
        self,
        name: KeyT,
        groupname: GroupT,
        id: StreamIdT = "$",
        mkstream: bool = False,
        entries_read: int | None = None,
    ) -> bool:
        """Create consumer group ``groupname`` at ``id`` ($: new entries only);
        ``mkstream`` creates an empty stream when ``name`` is missing."""
        args: Tuple[Any, ...] = ("XGROUP", "CREATE", name, groupname, id)
        if mkstream:
            args += ("MKSTREAM",)
        if entries_read is not None:
            args += ("ENTRIESREAD", entries_read)
        return self._run(args, is_ok)

    def xgroup_destroy(self, name: KeyT, groupname: GroupT) -> bool:
        """Destroy consumer group ``groupname``; True if it existed."""
        return self._run(("XGROUP", "DESTROY", name, groupname), bool)

    @plain_command
    def xgroup_createconsumer(self, name: KeyT, groupname: GroupT, consumername: ConsumerT) -> int:
        """Create ``consumername`` in group ``groupname``; 1 if it is new."""
        return self._run(("XGROUP", "CREATECONSUMER", name, groupname, consumername))

    @plain_command
    def xgroup_delconsumer(self, name: KeyT, groupname: GroupT, consumername: ConsumerT) -> int:
        """Delete ``consumername`` from group ``groupname``; return how many entries
        it had pending."""
        return self._run(("XGROUP", "DELCONSUMER", name, groupname, consumername))

    def xgroup_setid(
        self,
        name: KeyT,
        groupname: GroupT,
        id: StreamIdT,
        entries_read: int | None = None,
    ) -> bool:
        """Set group ``groupname``'s last delivered id to ``id``."""
        args: Tuple[Any, ...] = ("XGROUP", "SETID", name, groupname, id)
        if entries_read is not None:
            args += ("ENTRIESREAD", entries_read)
        return self._run(args, is_ok)

    def xinfo_stream(self, name: KeyT, full: bool = False) -> Dict[str, Any]:
        """Return stream ``name``'s information as a dict with str keys; entries as
        (id, fields) tuples; ``full`` gives every entry, group and consumer."""
        if full:
            return self._run(("XINFO", "STREAM", name, "FULL"), _xinfo_stream_full_result)
        return self._run(("XINFO", "STREAM", name), _xinfo_stream_result)

    def xinfo_groups(self, name: KeyT) -> List[Dict[str, Any]]:
        """Return a dict (str keys) for each consumer group of stream ``name``."""
        return self._run(("XINFO", "GROUPS", name), _list_of_dicts)

    def xinfo_consumers(self, name: KeyT, groupname: GroupT) -> List[Dict[str, Any]]:
        """Return a dict (str keys) for each consumer of group ``groupname``."""
        return self._run(("XINFO", "CONSUMERS", name, groupname), _list_of_dicts)
