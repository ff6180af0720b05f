"""client/mux.py's pure rules."""

from __future__ import annotations

import pytest

from pyredisclient.client.mux import counts_own_writes


@pytest.mark.parametrize(
    "args, expected",
    [
        (("WAIT", 1, 0), True),
        ((b"wait", 1, 0), True),
        (("WaitAof", 1, 0, 0), True),
        (("WAITING",), False),
        (("GET", "k"), False),
        ((b"\xff",), False),
        ((42,), False),
        ((), False),
    ],
)
def test_counts_own_writes(args: tuple, expected: bool) -> None:
    assert counts_own_writes(args) is expected
