"""The key-prefix table reads key positions from the generated command table.

Every command with key specs in ``_core.command_spec`` is prefixed where
``_core.command_keys`` finds its keys, without an edit in ``keyprefix_table.py``;
only the hand-written rules (channels, patterns, SORT, MIGRATE, XREAD) differ.
No server: these are unit tests of the table.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import pytest

from pyredisclient import DataError, _core
from pyredisclient.commands import keyprefix_table
from pyredisclient.commands.keyprefix import KeyPrefixer, KeyPrefixError
from pyredisclient.commands.keyprefix_table import KEYSPEC, NUMKEYS, ONE, RANGE, _compile

# Forms whose keys a hand-written rule finds (see keyprefix_table's docstring), and the
# commands left unconfined on purpose.
HAND_WRITTEN = {"SORT", "SORT_RO", "MIGRATE", "XREAD", "XREADGROUP", "SPUBLISH"}
NOT_FROM_KEY_SPECS = {"PFDEBUG", "RESTORE-ASKING"}


def _forms() -> List[Tuple[str, ...]]:
    """argv of each plausible length for every keyed table entry, each argument its
    own position in decimal (so numkeys arguments are numbers)."""
    forms: List[Tuple[str, ...]] = []
    for name in _core.command_names():
        spec = _core.command_spec(name.split(" "))
        assert spec is not None
        if spec["subcommands"] or not spec["key_specs"]:
            continue
        head = tuple(name.split(" "))
        arity = spec["arity"]
        lengths = [arity] if arity > 0 else range(-arity, -arity + 4)
        forms.extend((*head, *(str(i) for i in range(len(head), n))) for n in lengths)
    return forms


def test_every_keyed_command_is_prefixed_where_the_command_table_says() -> None:
    prefixer = KeyPrefixer("p:", allow="all")
    checked = 0
    for form in _forms():
        if form[0] in HAND_WRITTEN or form[0] in NOT_FROM_KEY_SPECS:
            continue
        try:
            positions = _core.command_keys(form)
        except DataError:
            continue  # a form the server would refuse too (a numkeys past the end)
        assert positions is not None
        try:
            sent = prefixer.prefix_args(form)
        except DataError:
            # Our numkeys check is the server's; it refuses what command_keys accepts
            # only for a numkeys of 0 on a command that needs keys.
            assert not positions, form
            continue
        expected = tuple(
            b"p:" + a.encode() if i in positions else a.encode() for i, a in enumerate(form)
        )
        assert sent == expected, form
        checked += 1
    assert checked > 400


def test_unconfined_commands_with_key_specs_stay_unknown() -> None:
    for name in NOT_FROM_KEY_SPECS:
        spec = _core.command_spec((name,))
        assert spec is not None and spec["key_specs"], name
        assert name not in keyprefix_table.COMMANDS
        with pytest.raises(KeyPrefixError, match="not in the key-prefix command table"):
            KeyPrefixer("p:").prefix_args((name, "k", "v"))


def _entry(arity: int, *specs: Dict[str, Any]) -> Dict[str, Any]:
    return {"arity": arity, "key_specs": list(specs)}


def _ks(begin: Dict[str, Any], find: Dict[str, Any], *flags: str) -> Dict[str, Any]:
    return {"flags": list(flags), "begin_search": begin, "find_keys": find}


def _index(i: int) -> Dict[str, Any]:
    return {"type": "index", "spec": {"index": i}}


def _range(lastkey: int, step: int = 1, limit: int = 0) -> Dict[str, Any]:
    return {"type": "range", "spec": {"lastkey": lastkey, "keystep": step, "limit": limit}}


def _keynum(idx: int, first: int, step: int = 1) -> Dict[str, Any]:
    return {"type": "keynum", "spec": {"keynumidx": idx, "firstkey": first, "keystep": step}}


def _compiled(entry: Dict[str, Any]) -> Tuple[Any, ...]:
    spec = _compile(entry)
    assert spec is not None
    return spec


def test_key_specs_compile_to_the_fast_kinds() -> None:
    """A new command's key specs need no table edit: each shape gets a spec kind."""
    assert _compiled(_entry(2, _ks(_index(1), _range(0)))) == (ONE, None, None, None, 0, "")
    assert _compiled(_entry(-2, _ks(_index(1), _range(-1, 2))))[:4] == (RANGE, 1, -1, 2)
    # RENAME-like pieces join; BITOP-like dest then sources join.
    two = _entry(3, _ks(_index(1), _range(0)), _ks(_index(2), _range(0)))
    assert _compiled(two)[:4] == (RANGE, 1, 2, 1)
    bitop = _entry(-4, _ks(_index(2), _range(0)), _ks(_index(3), _range(-1)))
    assert _compiled(bitop)[:4] == (RANGE, 2, -1, 1)
    # ZUNIONSTORE-like: a destination, then numkeys keys.
    zstore = _entry(-4, _ks(_index(1), _range(0)), _ks(_index(2), _keynum(0, 1)))
    assert _compiled(zstore)[:3] == (NUMKEYS, 2, (1,))
    # Keyword searches, range limits, disjoint pieces, odd keynum steps: the C core.
    keyword = {"type": "keyword", "spec": {"keyword": "STORE", "startfrom": 6}}
    for entry in (
        _entry(-6, _ks(_index(1), _range(0)), _ks(keyword, _range(0))),
        _entry(-2, _ks(_index(1), _range(-1, 1, 2))),
        _entry(-4, _ks(_index(1), _range(0)), _ks(_index(3), _range(0))),
        _entry(-3, _ks(_index(1), _keynum(0, 1, 2))),
        _entry(-3, _ks(_index(1), {"type": "unknown", "spec": {}})),
        _entry(-4, _ks(_index(3), _range(0)), _ks(_index(1), _keynum(0, 1))),
    ):
        assert _compiled(entry)[:2] == (KEYSPEC, entry["arity"]), entry
    # Channels (not_key) and key-less commands have no key spec to follow.
    assert _compile(_entry(3, _ks(_index(1), _range(0), "not_key"))) is None
    assert _compile(_entry(1)) is None


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("GEORADIUS", "g", 0, 0, 1, "km", "STORE", "d", "STOREDIST", "e"),
         ("GEORADIUS", "p:g", 0, 0, 1, "km", "STORE", "p:d", "STOREDIST", "p:e")),
        # Too few arguments: sent unchanged, the server answers with an arity error.
        (("GEORADIUS", "g", 0, 0), ("GEORADIUS", "g", 0, 0)),
        (("georadiusbymember", "g", "m", 1, "km", "STORE", "d"),
         ("georadiusbymember", "p:g", "m", 1, "km", "STORE", "p:d")),
    ],
)  # fmt: skip
def test_keyword_key_specs_are_followed_by_the_c_core(
    args: Tuple[Any, ...], expected: Tuple[Any, ...]
) -> None:
    assert keyprefix_table.COMMANDS["GEORADIUS"][0] == KEYSPEC
    sent = tuple(a if isinstance(a, bytes) else str(a).encode() for a in expected)
    assert KeyPrefixer("p:").prefix_args(args) == sent
