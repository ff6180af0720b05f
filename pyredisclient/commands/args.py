"""Argument helpers of the command methods: key lists, expiry options, mappings."""

from __future__ import annotations

import datetime
from typing import Any, List, Mapping, Sequence, Tuple

from ..exceptions import DataError
from .types import AbsExpiryT, ExpiryT


def list_or_args(keys: Any, args: Sequence[Any]) -> List[Any]:
    """Merge ``keys`` (one key or an iterable of keys) with extra ``args``."""
    if isinstance(keys, (bytes, str, bytearray, memoryview)):
        merged = [keys]
    else:
        try:
            merged = list(keys)
        except TypeError:
            merged = [keys]
    if args:
        merged.extend(args)
    return merged


def _seconds(value: Any, name: str) -> Any:
    if isinstance(value, datetime.timedelta):
        return int(value.total_seconds())
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise DataError(f"{name} must be datetime.timedelta or int")


def _milliseconds(value: Any, name: str) -> Any:
    if isinstance(value, datetime.timedelta):
        return int(value.total_seconds() * 1000)
    if isinstance(value, int):
        return value
    raise DataError(f"{name} must be datetime.timedelta or int")


def expiry_args(
    ex: ExpiryT | None,
    px: ExpiryT | None,
    exat: AbsExpiryT | None,
    pxat: AbsExpiryT | None,
) -> Tuple[Any, ...]:
    """EX/PX/EXAT/PXAT arguments; the caller checked at most one is set."""
    if ex is not None:
        return ("EX", _seconds(ex, "ex"))
    if px is not None:
        return ("PX", _milliseconds(px, "px"))
    if exat is not None:
        if isinstance(exat, datetime.datetime):
            exat = int(exat.timestamp())
        return ("EXAT", exat)
    if pxat is not None:
        if isinstance(pxat, datetime.datetime):
            pxat = int(pxat.timestamp() * 1000)
        return ("PXAT", pxat)
    return ()


def expire_flags(nx: bool, xx: bool, gt: bool, lt: bool) -> Tuple[str, ...]:
    flags: Tuple[str, ...] = ()
    if nx:
        flags += ("NX",)
    if xx:
        flags += ("XX",)
    if gt:
        flags += ("GT",)
    if lt:
        flags += ("LT",)
    return flags


def mapping_items(mapping: Mapping[Any, Any], what: str = "mapping") -> Any:
    """``mapping.items()``, or a DataError naming what was given instead of a mapping
    (not an AttributeError from deep inside a command method)."""
    items = getattr(mapping, "items", None)
    if not callable(items):
        raise DataError(f"{what} must be a mapping (a dict), not {type(mapping).__name__}")
    return items()


def flatten(mapping: Mapping[Any, Any], what: str = "mapping") -> Tuple[Any, ...]:
    items: List[Any] = []
    for pair in mapping_items(mapping, what):
        items.extend(pair)
    return tuple(items)


def option_word(value: Any, what: str) -> str:
    """An option given as a word (``"SUM"``, ``"asc"``): upper-cased, or a DataError
    naming the option when it is not text."""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")
    if not isinstance(value, str):
        raise DataError(f"{what} must be a string, not {type(value).__name__}")
    return value.upper()


class Encoder:
    """redis-py's ``client.get_encoder()``: how a client turns values into the bytes
    it sends and, with ``decode_responses``, bytes replies into str. Libraries written
    for redis-py (its Lock, job queues) ask a client for it."""

    __slots__ = ("decode_responses", "encoding", "encoding_errors")

    def __init__(self, encoding: str, encoding_errors: str, decode_responses: bool) -> None:
        self.encoding = encoding
        self.encoding_errors = encoding_errors
        self.decode_responses = decode_responses

    def encode(self, value: Any) -> Any:
        """bytes-like values unchanged; str encoded; int and float as their repr."""
        if isinstance(value, (bytes, bytearray, memoryview)):
            return value
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise DataError(
                f"Invalid input of type: '{type(value).__name__}'. "
                "Convert to a bytes, string, int or float first."
            )
        if not isinstance(value, str):
            value = repr(value)
        return value.encode(self.encoding, self.encoding_errors)

    def decode(self, value: Any, force: bool = False) -> Any:
        """bytes-like values as str when the client decodes (or ``force``)."""
        if self.decode_responses or force:
            if isinstance(value, memoryview):
                value = value.tobytes()
            if isinstance(value, (bytes, bytearray)):
                return value.decode(self.encoding, self.encoding_errors)
        return value
