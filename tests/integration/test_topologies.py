"""Tests of the cluster and sentinel topology managers and their pytest fixtures.

Everything talks to redis-server over raw sockets (the managers' own RESP
helper), so these pass without the cluster or sentinel clients: the
harness must work before the clients exist.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Callable

import pytest

import pyredisclient.integrations.testing_cluster as topo_cluster
import pyredisclient.integrations.topology_base as topo
from pyredisclient.integrations.testing_topologies import (
    CLUSTER_SLOTS,
    ClusterNodeServer,
    RedisClusterServers,
    RedisSentinelServers,
    ReplyError,
    TopologyError,
)
from pyredisclient.testing import RedisServerError, redis_server_available

pytestmark = pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")

ClusterFactory = Callable[..., RedisClusterServers]
SentinelFactory = Callable[..., RedisSentinelServers]


def alive(pid: int) -> bool:
    """True while *pid* exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def keys_in_slots(
    cluster: RedisClusterServers, slots: range, per_slot: int
) -> dict[int, list[str]]:
    """*per_slot* keys for each slot of *slots*, found with CLUSTER KEYSLOT (one pipeline)."""
    tags = [f"t{i}" for i in range(40 * CLUSTER_SLOTS)]
    found: dict[int, str] = {}
    with cluster._connect(cluster.live_nodes()[0]) as conn:
        for start in range(0, len(tags), CLUSTER_SLOTS):
            chunk = tags[start : start + CLUSTER_SLOTS]
            for tag, slot in zip(chunk, conn.pipeline([("CLUSTER", "KEYSLOT", t) for t in chunk])):
                if slot in slots:
                    found.setdefault(slot, tag)
            if len(found) == len(slots):
                break
    assert len(found) == len(slots), "no hash tag found for some slots"
    return {slot: [f"{{{tag}}}:{i}" for i in range(per_slot)] for slot, tag in found.items()}


def cluster_command(cluster: RedisClusterServers, node: ClusterNodeServer, *args: Any) -> Any:
    """Run a command on *node*, returning an error reply as its text instead of raising."""
    try:
        return cluster.command(node, *args)
    except ReplyError as exc:
        return str(exc)


# -- pieces that need no server --------------------------------------------------


def test_parse_cluster_nodes_reads_every_field() -> None:
    text = (
        b"07c3 127.0.0.1:30004@31004,host-a slave e7d1 0 1426238317239 4 connected\n"
        b"e7d1 127.0.0.1:30001@31001 myself,master - 0 0 1 connected 0-5460 7000"
        b" [5461->-292f] [5462-<-67ed]\n"
        b"292f :0@0 master,fail?,noaddr - 1426238316232 1426238316232 2 disconnected\n"
    )
    nodes = topo_cluster._parse_cluster_nodes(text)
    assert set(nodes) == {"07c3", "e7d1", "292f"}
    replica, me, lost = nodes["07c3"], nodes["e7d1"], nodes["292f"]
    assert (replica.host, replica.port, replica.bus_port) == ("127.0.0.1", 30004, 31004)
    assert replica.primary_id == "e7d1" and not replica.is_primary and replica.is_healthy
    assert me.slots == ((0, 5460), (7000, 7000))  # migrations in brackets are left out
    assert me.flags == {"myself", "master"} and me.config_epoch == 1 and me.primary_id is None
    assert lost.is_primary and not lost.is_healthy and lost.link_state == "disconnected"


def test_find_port_pair_leaves_room_for_the_bus() -> None:
    port = topo._find_port_pair("127.0.0.1")
    assert port + 10000 <= 65535


def test_version_probe_runs_without_ld_preload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Under the ASan run LD_PRELOAD holds the sanitizer runtime: like the
    # servers, `redis-server --version` must not get it.
    monkeypatch.setenv("LD_PRELOAD", "/nonexistent/libasan.so")
    fake = tmp_path / "redis-server"
    fake.write_text('#!/bin/sh\n[ -z "$LD_PRELOAD" ] && echo "v=9.8.7" || echo "v=1.1.1"\n')
    fake.chmod(0o755)
    assert topo._server_version(str(fake)) == (9, 8, 7)
    garbled = tmp_path / "garbled"
    garbled.write_text("#!/bin/sh\necho nonsense\n")
    garbled.chmod(0o755)
    with pytest.raises(RedisServerError, match="cannot read the version"):
        topo._server_version(str(garbled))


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError):
        RedisClusterServers(0)
    with pytest.raises(ValueError):
        RedisClusterServers(3, 2)
    with pytest.raises(ValueError):
        RedisClusterServers(3, node_timeout_ms=10)
    with pytest.raises(ValueError):
        RedisSentinelServers(quorum=4)
    with pytest.raises(ValueError):
        RedisSentinelServers(service_name="bad name")
    with pytest.raises(TopologyError):
        RedisClusterServers().ca_cert  # noqa: B018 - not a TLS topology


def test_a_failed_start_leaves_no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail_to_form(self: RedisClusterServers) -> None:
        raise TopologyError("the nodes would not meet")

    monkeypatch.setattr(RedisClusterServers, "_form", fail_to_form)
    cluster = RedisClusterServers(2)
    with pytest.raises(TopologyError, match="would not meet"):
        cluster.start()
    pids = [n._proc.pid for n in cluster.nodes if n._proc is not None]
    assert len(pids) == 2  # both nodes had started
    assert not any(alive(pid) for pid in pids)
    assert all(n._tmpdir is None for n in cluster.nodes)
    assert cluster.pids == []


# -- Redis Cluster ------------------------------------------------------------------


def test_cluster_serves_every_slot_and_every_node_agrees(
    redis_cluster: RedisClusterServers,
) -> None:
    cluster = redis_cluster
    assert len(cluster.nodes) == 3 and len(set(cluster.pids)) == 3
    ranges = cluster.slot_map()
    # The session cluster keeps the slot ownership earlier tests left (heal() restores
    # service, not layout): the ranges partition every slot, each primary owns some.
    # The even split of a fresh cluster is checked in test_cluster_with_password_and_tls.
    assert ranges[0].start == 0 and ranges[-1].end == CLUSTER_SLOTS - 1
    assert all(a.end + 1 == b.start for a, b in zip(ranges, ranges[1:]))
    assert {r.primary for r in ranges} == set(cluster.nodes) == set(cluster.primaries())
    assert all(r.replicas == () for r in ranges) and cluster.replicas() == []
    for node in cluster.nodes:
        assert cluster.slot_map(node) == ranges
        info = topo._parse_info(cluster.command(node, "CLUSTER", "INFO"))
        assert info["cluster_state"] == "ok"
        assert info["cluster_slots_ok"] == str(CLUSTER_SLOTS)
        assert info["cluster_known_nodes"] == "3"
    # A key lives on its slot's owner; the others redirect to it.
    owner = cluster.node_for_slot(cluster.key_slot("greeting"))
    assert cluster.command(owner, "SET", "greeting", "hi") == b"OK"
    other = next(n for n in cluster.nodes if n is not owner)
    moved = cluster_command(cluster, other, "GET", "greeting")
    assert moved == f"MOVED {cluster.key_slot('greeting')} 127.0.0.1:{owner.port}"
    assert sorted(cluster.addresses) == sorted((n.host, n.port) for n in cluster.nodes)
    assert "3 running, 0 paused" in repr(cluster)


def write_and_wait(cluster: RedisClusterServers, node: Any, key: str, value: str) -> bool:
    """SET on *node*, then WAIT for one replica, on the same connection: WAIT only
    covers the writes of its own connection (on a fresh one it returns at once, having
    nothing to wait for, which once let a replica be read before the copy arrived)."""
    with cluster._connect(node) as conn:
        return bool(conn.pipeline([("SET", key, value), ("WAIT", 1, 2000)]) == [b"OK", 1])


def test_cluster_replicas_are_attached_and_in_sync(
    redis_cluster_with_replicas: RedisClusterServers,
) -> None:
    cluster = redis_cluster_with_replicas
    assert len(cluster.nodes) == 6
    primaries = cluster.primaries()
    assert len(primaries) == 3
    for entry in cluster.slot_map():
        (replica,) = entry.replicas
        assert cluster.replicas(entry.primary) == [replica]
        role = cluster.command(replica, "ROLE")
        assert role[:4] == [b"slave", b"127.0.0.1", entry.primary.port, b"connected"]
        key = f"{{{entry.start}}}:k"
        slot = cluster.key_slot(key)
        owner = cluster.node_for_slot(slot)
        assert write_and_wait(cluster, owner, key, "v")
        (copy,) = cluster.replicas(owner)
        with cluster._connect(copy) as conn:
            got = conn.pipeline([("READONLY",), ("GET", key)])
        assert got == [b"OK", b"v"], (
            got,
            copy,
            cluster.command(copy, "ROLE"),
            cluster.command(owner, "ROLE"),
            cluster.command(owner, "CLUSTER", "NODES"),
        )


def test_killed_primary_is_replaced_by_its_replica(
    redis_cluster_with_replicas: RedisClusterServers,
) -> None:
    cluster = redis_cluster_with_replicas
    victim = cluster.primaries()[0]  # kill_primary()'s choice: the first with a replica
    (heir,) = cluster.replicas(victim)
    victim_ranges = [(r.start, r.end) for r in cluster.slot_map() if r.primary is victim]
    first_slot = victim_ranges[0][0]
    (key,) = keys_in_slots(cluster, range(first_slot, first_slot + 1), per_slot=1)[first_slot]
    assert write_and_wait(cluster, victim, key, "1")
    pid = victim.pid
    assert pid is not None
    started = time.monotonic()
    promoted = cluster.kill_primary(timeout=20)
    took = time.monotonic() - started
    assert promoted is heir
    assert not alive(pid) and not victim.is_running
    # cluster-node-timeout is 1 s: detection, election and agreement take a few.
    assert took < 10, f"failover took {took:.1f} s"
    assert [(r.start, r.end) for r in cluster.slot_map() if r.primary is heir] == victim_ranges
    assert cluster.command(heir, "GET", key) == b"1"
    # Back from the dead, the old primary follows the node that took its slots.
    cluster.restart(victim, timeout=20)
    assert cluster.replicas(heir) == [victim]
    assert cluster.command(victim, "ROLE")[:4] == [b"slave", b"127.0.0.1", heir.port, b"connected"]


def test_cluster_failover_swaps_roles(redis_cluster_with_replicas: RedisClusterServers) -> None:
    cluster = redis_cluster_with_replicas
    replica = cluster.replicas()[0]  # failover()'s choice
    entry = next(r for r in cluster.slot_map() if r.replicas == (replica,))
    old_primary = entry.primary
    assert cluster.failover(timeout=20) is replica
    view = cluster.cluster_nodes()
    assert view[replica.node_id].is_primary  # type: ignore[index]
    assert view[old_primary.node_id].primary_id == replica.node_id  # type: ignore[index]
    assert cluster.node_for_slot(entry.start) is replica
    assert cluster.replicas(replica) == [old_primary]


def test_slot_migration_moves_keys_and_map(redis_cluster: RedisClusterServers) -> None:
    cluster = redis_cluster
    source = cluster.node_for_slot(0)
    target = cluster.node_for_slot(CLUSTER_SLOTS - 1)
    slots = range(0, 5)
    keys = keys_in_slots(cluster, slots, per_slot=40)
    for slot_keys in keys.values():
        for key in slot_keys:
            cluster.command(source, "SET", key, key)
    assert cluster.migrate_slots(0, 4, target, batch=16) == 200
    for node in cluster.nodes:
        owners = {cluster.node_for_slot(s) for s in slots}
        assert owners == {target}
        assert cluster.slot_map(node)[0][:3] == (0, 4, target)
    for slot, slot_keys in keys.items():
        assert cluster.command(source, "CLUSTER", "COUNTKEYSINSLOT", slot) == 0
        assert cluster.command(target, "CLUSTER", "COUNTKEYSINSLOT", slot) == 40
        for key in slot_keys:
            assert cluster.command(target, "GET", key) == key.encode()
        moved = cluster_command(cluster, source, "GET", slot_keys[0])
        assert moved == f"MOVED {slot} 127.0.0.1:{target.port}"
    # Slots already on the target are skipped.
    assert cluster.migrate_slots(0, 4, target) == 0
    with pytest.raises(ValueError):
        cluster.migrate_slots(5, 4, target)


def test_slot_migration_step_by_step_answers_ask(redis_cluster: RedisClusterServers) -> None:
    cluster = redis_cluster
    slot = 6000
    source = cluster.node_for_slot(slot)
    target = next(n for n in cluster.nodes if n is not source)
    keys = keys_in_slots(cluster, range(slot, slot + 1), per_slot=10)[slot]
    for key in keys:
        cluster.command(source, "SET", key, "x")
    assert cluster.begin_slot_migration(slot, target) is source
    assert cluster.move_slot_keys(slot, target, limit=4, batch=3) == 4
    ask = f"ASK {slot} 127.0.0.1:{target.port}"
    migrated = [k for k in keys if cluster_command(cluster, source, "GET", k) == ask]
    assert len(migrated) == 4
    kept = next(k for k in keys if k not in migrated)
    assert cluster.command(source, "GET", kept) == b"x"
    assert cluster_command(cluster, target, "GET", migrated[0]).startswith("MOVED")
    with cluster._connect(target) as conn:
        assert conn.pipeline([("ASKING",), ("GET", migrated[0])]) == [b"OK", b"x"]
    assert cluster.move_slot_keys(slot, target) == 6
    cluster.finish_slot_migration(slot, target, source=source)
    cluster.wait_stable(10)
    assert all(cluster.node_for_slot(slot) is target for _ in cluster.nodes)
    with pytest.raises(TopologyError, match="already serves"):
        cluster.begin_slot_migration(slot, target)


def test_paused_node_is_not_stable_and_heal_resumes_it(redis_cluster: RedisClusterServers) -> None:
    cluster = redis_cluster
    node = cluster.nodes[2]
    cluster.pause(node)
    assert node.is_paused and node not in cluster.live_nodes()
    with pytest.raises(TopologyError, match="not running"):
        cluster.wait_stable(timeout=0.2)
    cluster.resume(node)
    cluster.pause(node)
    cluster.heal(timeout=20)
    assert not node.is_paused
    assert cluster.command(node, "PING") == b"PONG"


def test_cluster_without_replicas_cannot_wait_for_a_promotion(
    redis_cluster: RedisClusterServers,
) -> None:
    cluster = redis_cluster
    victim = cluster.nodes[0]
    owned = [(r.start, r.end) for r in cluster.slot_map() if r.primary is victim]
    with pytest.raises(TopologyError, match="no replica"):
        cluster.kill_primary(victim)
    assert not victim.is_running
    cluster.restart(victim, timeout=20)  # it still owns its slots: all served again
    assert [(r.start, r.end) for r in cluster.slot_map() if r.primary is victim] == owned


def test_legacy_bus_port_is_port_plus_10000(monkeypatch: pytest.MonkeyPatch) -> None:
    # What a redis-server before 7.0 gets: no cluster-port, ADDSLOTS, MEET without bus port.
    monkeypatch.setattr(topo_cluster, "_server_version", lambda exe: (6, 2, 0))
    with RedisClusterServers(2) as cluster:
        for node in cluster.nodes:
            assert node.bus_port == node.port + 10000
            reply = cluster.command(node, "CONFIG", "GET", "cluster-port")
            assert reply == [b"cluster-port", b"0"]
            view = cluster.cluster_nodes(node)
            assert view[node.node_id].bus_port == node.bus_port  # type: ignore[index]
        assert [(r.start, r.end) for r in cluster.slot_map()] == [(0, 8191), (8192, 16383)]
        with pytest.raises(TopologyError, match="already started"):
            cluster.start()
        pids = cluster.pids
    assert cluster.pids == [] and not any(alive(p) for p in pids)
    assert all(n._tmpdir is None for n in cluster.nodes)
    cluster.close()  # a second close does nothing


def test_cluster_with_password_and_tls(redis_cluster_factory: ClusterFactory) -> None:
    cluster = redis_cluster_factory(2, 1, password="s3cret pw", tls=True)
    assert [(r.start, r.end) for r in cluster.slot_map()] == [(0, 8191), (8192, 16383)]
    assert "s3cret" not in repr(cluster) and all("s3cret" not in repr(n) for n in cluster.nodes)
    ctx = cluster.ssl_context()
    node = cluster.node_for_slot(0)
    assert node.plain_port is None and node.port == node.tls_port
    with topo._RespConnection((node.host, node.port), password="s3cret pw", ssl_context=ctx) as c:
        assert c.call("PING") == b"PONG"
    with pytest.raises(ReplyError, match="NOAUTH"):
        with topo._RespConnection((node.host, node.port), ssl_context=ctx) as c:
            c.call("GET", "k")
    # Slot migration: MIGRATE with AUTH over the TLS port.
    keys = keys_in_slots(cluster, range(1, 2), per_slot=5)[1]
    for key in keys:
        cluster.command(node, "SET", key, "v")
    target = cluster.node_for_slot(CLUSTER_SLOTS - 1)
    assert cluster.migrate_slots(1, 1, target, timeout=20) == 5
    assert [cluster.command(target, "GET", k) for k in keys] == [b"v"] * 5


# -- Sentinel -------------------------------------------------------------------------


def test_sentinels_agree_on_the_primary(redis_sentinel: RedisSentinelServers) -> None:
    setup = redis_sentinel
    assert len(setup.servers) == 2 and len(setup.sentinels) == 3
    primary = setup.primary
    (replica,) = setup.replicas()
    assert setup.command(primary, "ROLE")[0] == b"master"
    assert setup.command(replica, "ROLE")[:4] == [
        b"slave",
        b"127.0.0.1",
        primary.port,
        b"connected",
    ]
    for sentinel in setup.sentinels:
        assert setup.master_address(sentinel) == (primary.host, primary.port)
        replicas = setup.command(sentinel, "SENTINEL", "REPLICAS", "mymaster")
        assert [topo._pairs(r)["port"] for r in replicas] == [str(replica.port)]
        peers = setup.command(sentinel, "SENTINEL", "SENTINELS", "mymaster")
        assert len(peers) == 2
    assert sorted(setup.sentinel_addresses) == sorted((s.host, s.port) for s in setup.sentinels)
    assert "5 running" in repr(setup)


def test_a_restarted_sentinel_rejoins_with_short_periods(
    redis_sentinel: RedisSentinelServers,
) -> None:
    setup = redis_sentinel
    sentinel = setup.sentinels[2]
    old_pid = sentinel.pid
    setup.restart(sentinel, timeout=20)  # waits until every sentinel sees the others again
    assert sentinel.pid != old_pid
    for each in setup.sentinels:
        periods = topo._pairs(setup.command(each, "SENTINEL", "DEBUG"))
        assert periods["PING-PERIOD"] == "200" and periods["ASK-PERIOD"] == "200"
    config = setup.command(sentinel, "SENTINEL", "MASTER", "mymaster")
    assert topo._pairs(config)["down-after-milliseconds"] == "1000"


def test_sentinel_failover_announces_the_new_primary(redis_sentinel: RedisSentinelServers) -> None:
    setup = redis_sentinel
    old = setup.primary
    (replica,) = setup.replicas()
    started = time.monotonic()
    new = setup.failover(timeout=20)
    took = time.monotonic() - started
    assert new is replica
    assert took < 10, f"SENTINEL FAILOVER took {took:.1f} s"
    for sentinel in setup.sentinels:
        assert setup.master_address(sentinel) == (new.host, new.port)
    assert setup.command(new, "ROLE")[0] == b"master"
    # The sentinels demote the old primary a few seconds later; heal does it at once.
    setup.heal(timeout=20)
    assert setup.replicas() == [old]
    assert setup.command(old, "ROLE")[:2] == [b"slave", b"127.0.0.1"]


def test_sentinel_promotes_the_replica_of_a_killed_primary(
    redis_sentinel: RedisSentinelServers,
) -> None:
    setup = redis_sentinel
    old = setup.primary
    (replica,) = setup.replicas()
    pid = old.pid
    assert pid is not None
    started = time.monotonic()
    new = setup.kill_primary(timeout=30)
    took = time.monotonic() - started
    assert new is replica and not alive(pid)
    # down-after-milliseconds is 1 s; agreement, election and promotion add a few.
    assert took < 15, f"sentinel failover took {took:.1f} s"
    assert {setup.master_address(s) for s in setup.sentinels} == {(new.host, new.port)}
    setup.restart(old, timeout=20)  # comes back as a replica of the new primary
    assert setup.replicas() == [old]


def test_sentinel_heal_restarts_and_resumes(redis_sentinel: RedisSentinelServers) -> None:
    setup = redis_sentinel
    primary = setup.primary
    (replica,) = setup.replicas()
    setup.kill(replica)
    setup.kill(setup.sentinels[1])
    setup.pause(setup.sentinels[2])
    setup.pause(primary)
    with pytest.raises(TopologyError, match="which is down"):
        setup.wait_stable(timeout=0.2)
    setup.heal(timeout=20)
    assert all(s.is_running and not s.is_paused for s in setup._all_servers())
    # (A pause longer than down-after-milliseconds would have been failed over.)
    assert {setup.primary, *setup.replicas()} == {primary, replica}


def test_sentinel_with_passwords_and_tls(redis_sentinel_factory: SentinelFactory) -> None:
    # Quotes, a backslash and a newline: the sentinels' auth-pass line must survive them.
    data_pw = 'data "pw\\\n'
    setup = redis_sentinel_factory(password=data_pw, sentinel_password="sentinel pw", tls=True)
    assert "pw" not in repr(setup)
    ctx = setup.ssl_context()
    sentinel = setup.sentinels[0]
    address = (sentinel.host, sentinel.port)
    with topo._RespConnection(address, password="sentinel pw", ssl_context=ctx) as conn:
        reply = conn.call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")
    assert reply == [b"127.0.0.1", str(setup.primary.port).encode()]
    with pytest.raises(ReplyError, match="NOAUTH"):
        with topo._RespConnection(address, ssl_context=ctx) as conn:
            conn.call("SENTINEL", "MASTERS")
    new = setup.failover(timeout=20)
    with topo._RespConnection((new.host, new.port), password=data_pw, ssl_context=ctx) as conn:
        assert conn.call("ROLE")[0] == b"master"


# -- the fixtures, seen from a user's session ---------------------------------------


def _run_inner(tmp_path: Path, source: str, env: dict[str, str] | None = None) -> str:
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(source))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "error", "-rs"]
    # The plugin by module name whether or not its entry point is installed.
    argv += ["-p", "no:pyredisclient", "-p", "pyredisclient.pytest_plugin", "test_inner.py"]
    result = subprocess.run(
        argv,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result.stdout + result.stderr


def test_fixtures_leave_no_process_after_a_failure_or_a_pause(tmp_path: Path) -> None:
    record = tmp_path / "pids.txt"
    out = _run_inner(
        tmp_path,
        f"""
        def test_breaks_things(redis_cluster, redis_cluster_factory, redis_sentinel):
            extra = redis_cluster_factory(1)
            everything = [redis_cluster, extra, redis_sentinel]
            with open({str(record)!r}, "w") as f:
                for t in everything:
                    f.write(" ".join(map(str, t.pids)) + " ")
                    f.write(" ".join(str(s.tmpdir) for s in t._all_servers()) + " ")
            redis_cluster.pause(redis_cluster.nodes[0])
            extra.pause(extra.nodes[0])
            redis_sentinel.pause(redis_sentinel.sentinels[0])
            raise AssertionError("this test fails on purpose")

        def test_the_session_cluster_was_healed(redis_cluster):
            assert not any(n.is_paused for n in redis_cluster.nodes)
            with open({str(record)!r}) as f:
                assert str(redis_cluster.nodes[0].pid) in f.read().split()
        """,
    )
    assert "1 failed, 1 passed" in out, out
    fields = record.read_text().split()
    pids = [int(f) for f in fields if f.isdigit()]
    dirs = [f for f in fields if not f.isdigit()]
    assert len(pids) == 3 + 1 + 5 and len(dirs) == len(pids)
    assert [pid for pid in pids if alive(pid)] == []
    assert [d for d in dirs if os.path.exists(d)] == []


def test_fixtures_skip_without_redis_server(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    os.symlink(sys.executable, bindir / "python")
    out = _run_inner(
        tmp_path,
        """
        def test_cluster(redis_cluster):
            raise AssertionError("ran")

        def test_sentinel_factory(redis_sentinel_factory):
            raise AssertionError("ran")
        """,
        env=dict(os.environ, PATH=str(bindir)),
    )
    assert "2 skipped" in out, out
    assert "the cluster and sentinel fixtures start their own servers" in out


def test_missing_binary_is_a_clear_error() -> None:
    with pytest.raises(RedisServerError, match="nonexistent"):
        RedisClusterServers(executable="/nonexistent/redis-server").start()
    with pytest.raises(RedisServerError, match="nonexistent"):
        RedisSentinelServers(executable="/nonexistent/redis-server").start()
