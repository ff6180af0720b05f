"""Batch.apply_callbacks: a pipeline's replies through their callbacks, in C.

The pipeline's results were a Python loop over every reply (about 80 ns per
command, a quarter of a pipelined GET); the batch now applies the callbacks
itself. These tests pin its contract on a Batch alone, with no server.
"""

from __future__ import annotations

import sys
from typing import Any, List

import pytest

from pyredisclient import ResponseError, _core


def _batch(*callbacks: Any) -> Any:
    b = _core.Batch()
    for cb in callbacks:
        b.queue(("GET", "k"), cb)
    return b


def test_callbacks_applied_in_place() -> None:
    b = _batch(None, int, lambda r: r * 2, None)
    results: List[Any] = [b"a", b"12", b"cd", None]
    assert b.apply_callbacks(results, True) == -1
    assert results == [b"a", 12, b"cdcd", None]


def test_first_error_reply() -> None:
    b = _batch(int, int, int, int)
    err1, err2 = ResponseError("one"), ResponseError("two")
    results: List[Any] = [b"1", err1, b"3", err2]
    # Raising: stops at the first error reply and says where it is.
    assert b.apply_callbacks(list(results), True) == 1
    # Not raising: errors stay in place, every other reply is converted.
    assert b.apply_callbacks(results, False) == -1
    assert results == [1, err1, 3, err2]
    assert results[1] is err1 and results[3] is err2


def test_lengths_may_differ() -> None:
    # As zip(): the shorter of the two decides.
    b = _batch(int, int)
    short: List[Any] = [b"1"]
    assert b.apply_callbacks(short, True) == -1
    assert short == [1]
    long: List[Any] = [b"1", b"2", b"3"]
    assert b.apply_callbacks(long, True) == -1
    assert long == [1, 2, b"3"]


def test_callback_errors_propagate() -> None:
    b = _batch(int, int)
    results: List[Any] = [b"1", b"x"]
    with pytest.raises(ValueError):
        b.apply_callbacks(results, True)
    assert results[0] == 1


def test_callback_that_changes_the_results() -> None:
    results: List[Any] = [b"1", b"2", b"3"]

    def shrink(reply: Any) -> Any:
        del results[1:]
        return b"shrunk"

    b = _batch(shrink, int, int)
    assert b.apply_callbacks(results, True) == -1
    assert results == [b"shrunk"]
    # A callback that replaces its own reply: the replacement is dropped (not
    # leaked) and the reply it was called with released (not freed twice).
    other, orig = bytes(bytearray(b"other")), bytes(bytearray(b"orig"))

    def replace(reply: Any) -> Any:
        results[0] = other
        return b"new"

    results[:] = [orig, b"2"]
    other_refs, orig_refs = sys.getrefcount(other), sys.getrefcount(orig)
    b = _batch(replace, None)
    assert b.apply_callbacks(results, True) == -1
    assert results == [b"new", b"2"]
    assert sys.getrefcount(other) == other_refs
    assert sys.getrefcount(orig) == orig_refs - 1


def test_bad_arguments() -> None:
    b = _batch(None)
    with pytest.raises(TypeError, match="takes a list"):
        b.apply_callbacks((b"x",), True)
    with pytest.raises(TypeError, match="2 positional arguments"):
        b.apply_callbacks([b"x"])  # type: ignore[call-arg]
