"""Key-prefix isolation (pyredisclient.keyprefix) against a real redis-server.

The central test runs every command the prefixer supports twice: once on a plain client in
database 1 (the reference) and once through a prefixed client in database 0, where decoy
keys with the same names but without the prefix (and with "DECOY" values) were planted
first. Then:

* the two results are equal (prefixing is invisible to the caller) and the prefixed
  result never holds a decoy value;
* the decoys are byte-for-byte unchanged, every other key in database 0 starts with the
  prefix, and the prefixed keyspace equals the reference keyspace (same names, same
  DUMP);
* ``COMMAND GETKEYS`` on the prefixed arguments names exactly the prefixed keys of the
  original ones (the server's own key finder agrees with our table).

It runs both through ``client.with_prefix("t:")`` and through a client logged in as an
ACL user that may only touch ``t:*`` keys and channels, so the server itself refuses any
access outside the prefix.
"""

from __future__ import annotations

from typing import Dict, Iterator, Tuple

import pytest
from keyprefix_cases import (
    CASES,
    DECOYS,
    NORMAL,
    PB,
    SKIP,
    Case,
    Env,
    P,
    RecordingPrefixer,
    check_getkeys,
    contains_decoy,
    display,
    errors_in,
    make_env,
    normalise,
    outcome,
    run_all,
    snapshot,
)

from pyredisclient import NoPermissionError
from pyredisclient.keyprefix import (
    COMMANDS,
    DATABASES,
    GATE,
    PASS,
    REFUSE,
    SCRIPTS,
    SERVER_INFO,
    SUB,
    KeyPrefixer,
    KeyPrefixError,
    supported_commands,
)


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    yield from make_env()


@pytest.mark.parametrize("via", ["view", "acl"])
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_command_stays_inside_the_prefix(env: Env, case: Case, via: str) -> None:
    missing = [n for n in case.names if n in env.unknown]
    if missing:
        pytest.skip(f"redis-server {env.server!r} does not have {missing}")
    if via == "acl" and not case.acl:
        pytest.skip("Redis refuses SORT BY/GET and reads of other keys to restricted users")
    admin = env.admin
    client = (
        admin.with_prefix(P, allow=case.allow) if via == "view" else env.tenant_with(case.allow)
    )
    recorder = RecordingPrefixer(P, allow=case.allow)
    client._prefixer = recorder

    admin.execute_command("FLUSHALL")
    run_all(admin, DECOYS)
    decoys = set(admin.keys())
    before = snapshot(admin, decoys)
    run_all(env.ref, NORMAL)
    run_all(client, NORMAL)
    recorder.seen.clear()

    if case.allow and via == "view":
        # Without its grant the case is refused before anything is sent.
        with pytest.raises(KeyPrefixError, match="grant key_prefix_allow="):
            case.fn(admin.with_prefix(P), env.ctx)
    expected = outcome(case.fn, env.ref, env.ctx)
    got = outcome(case.fn, client, env.ctx)

    # The case sent the commands it claims to cover, and each one was prefixed as the
    # server itself finds keys.
    sent = {display(args) for args in recorder.seen}
    assert set(case.names) <= sent, sent
    if via == "view":
        for args in recorder.seen:
            check_getkeys(admin, args)

    # The same answer as the unprefixed reference, and nothing from outside the prefix.
    for err in errors_in(got):
        assert not isinstance(err, NoPermissionError), err
    if isinstance(got, tuple) and got[:2] == ("error", "NoPermissionError"):
        pytest.fail(f"the ACL user was refused: a key or channel escaped the prefix: {got}")
    assert not contains_decoy(got), got
    if case.cmp != SKIP:
        assert normalise(got, case.cmp) == normalise(expected, case.cmp)

    # The decoys are untouched and every other key carries the prefix.
    assert snapshot(admin, decoys) == before
    db0 = set(admin.keys())
    outside = {k for k in db0 - decoys if not k.startswith(PB)}
    assert not outside, f"keys written outside the prefix: {outside}"
    reference_keys = set(env.ref.keys())
    assert {k[len(PB) :] for k in db0 - decoys} == reference_keys
    assert snapshot(admin, {PB + k for k in reference_keys}) == {
        PB + k: v for k, v in snapshot(env.ref, reference_keys).items()
    }
    # MOVE / COPY ... DB 2: the reference's keys and the prefixed ones, nothing else.
    db2 = set(env.db2.keys())
    plain = {k for k in db2 if not k.startswith(PB)}
    assert db2 == plain | {PB + k for k in plain}


# Granted with "scripts" but changing the scripts the cases use: test_script_management.
SCRIPT_MANAGEMENT = {
    "SCRIPT FLUSH",
    "SCRIPT KILL",
    "FUNCTION LOAD",
    "FUNCTION DELETE",
    "FUNCTION FLUSH",
    "FUNCTION RESTORE",
    "FUNCTION KILL",
}


def test_cases_cover_every_supported_command() -> None:
    """Every command sent without a grant, or with scripts, server_info or databases,
    has a case (the admin and unconfined ones are checked by focused tests)."""
    covered = {name for case in CASES for name in case.names}
    granted = supported_commands((SCRIPTS, SERVER_INFO, DATABASES))
    assert set(granted) - covered == SCRIPT_MANAGEMENT
    assert covered - set(granted) == set()


PATTERN_OR_CHANNEL_FORMS = {
    "PUBLISH",
    "KEYS",
    "SCAN",
    "PUBSUB CHANNELS",
    "PUBSUB SHARDCHANNELS",
    "PUBSUB NUMSUB",
    "PUBSUB SHARDNUMSUB",
}


def test_table_agrees_with_command_info(env: Env) -> None:
    """Each simple key range in the table is the server's; no keyed command is PASS."""
    info = env.admin.execute_command("COMMAND")
    server: Dict[str, Tuple[int, int, int, bool]] = {}
    for entry in info:
        name, _arity, flags, first, last, step = entry[:6]
        server[name.decode().upper()] = (first, last, step, b"movablekeys" in flags)
        for sub in entry[9] if len(entry) > 9 else []:
            sub_flags = sub[2]
            server[sub[0].decode().upper().replace("|", " ")] = (
                sub[3],
                sub[4],
                sub[5],
                b"movablekeys" in sub_flags,
            )
    prefixer = KeyPrefixer(P)
    checked = 0
    for name, (first, last, step, movable) in sorted(server.items()):
        parts = name.split(" ")
        spec = COMMANDS.get(parts[0])
        if spec is not None and spec[0] == SUB:
            spec = spec[1].get(parts[1]) if len(parts) > 1 else None
            if spec is None:
                spec = COMMANDS[parts[0]][2]
        if spec is None:
            assert (first == 0 and not movable) or name in ("PFDEBUG", "RESTORE-ASKING"), (
                f"{name} takes keys but is neither in the table nor refused"
            )
            continue
        if spec[0] == GATE:
            spec = spec[2]  # the keys once the category is granted
        kind = spec[0]
        if first == 0 and not movable:
            # No keys; channels are prefixed by decision, KEYS and SCAN patterns too.
            assert kind in (PASS, REFUSE) or name in PATTERN_OR_CHANNEL_FORMS, name
        elif kind == 1:  # ONE
            assert (first, last, step) == (1, 1, 1), name
            checked += 1
        elif kind == 2:  # RANGE
            assert (first, last, step) == spec[1:4], name
            checked += 1
        else:
            assert kind != PASS, f"{name} takes keys but the table passes it unchanged"
    assert checked > 150
    # And the prefixer is consistent with its own table for one of each.
    assert prefixer.prefix_args(("GET", "k")) == (b"GET", b"t:k")
