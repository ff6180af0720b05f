"""How long after a primary dies does RedisClusterClient write to its slots again?

One run starts a throwaway cluster of 3 primaries with one replica each on loopback
(pyredisclient.integrations.testing_topologies.RedisClusterServers) per
``cluster-node-timeout`` asked for, then, round after round:

1. a writer thread SETs a key owned by the doomed primary in a loop (each write
   bounded by the client's own deadline, every outcome timestamped);
2. the primary is killed with SIGKILL (time 0);
3. a watcher polls the replica's ``ROLE`` on its own connection every 5 ms and notes
   when it answers ``master`` (the promotion, the cluster's share of the outage);
4. the first successful write after time 0 ends the round; the old primary is then
   restarted (it rejoins as a replica) and the cluster waits to be stable.

The client's share is the first successful write minus the promotion: it is what
the client adds on top of what the cluster itself needs, and the claim is that it
stays under one refresh interval (``min_refresh_interval``, 250 ms by default): a
retrying call pauses at most half of it and reads the slot map again before each
try. The client runs with its defaults but for ``retry_timeout`` (5 s, to outlast
the failover) and ``socket_timeout`` (0.5 s).

Usage::

    .venv/bin/python benchmarks/cluster_failover_time.py [--rounds 5] [--node-timeout 1000 2000]

Prints one line per round and a table of medians with min-max. Every loop is bounded
in count and time.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import threading
import time
from typing import Dict, List, Tuple

from pyredisclient import RedisClient, RedisClusterClient
from pyredisclient.integrations.testing_topologies import RedisClusterServers

REFRESH = 0.25  # the client's min_refresh_interval (its default)


def _key_on(cluster: RedisClusterServers, node_id: str) -> str:
    """A key whose slot the node with ``node_id`` owns."""
    for i in range(100_000):
        key = f"failover:{i}"
        if cluster.node_for_slot(cluster.key_slot(key)).node_id == node_id:
            return key
    raise RuntimeError("no key found for the node")  # pragma: no cover


class Writer(threading.Thread):
    """SETs ``key`` until told to stop; keeps (start, end) of every success."""

    def __init__(self, client: RedisClusterClient, key: str) -> None:
        super().__init__(daemon=True)
        self.client, self.key = client, key
        self.successes: List[Tuple[float, float]] = []
        self.failures = 0
        self.stop = threading.Event()

    def run(self) -> None:
        for i in range(10_000_000):  # bounded; stop() ends it first
            if self.stop.is_set():
                return
            began = time.monotonic()
            try:
                self.client.set(self.key, i)
                self.successes.append((began, time.monotonic()))
            except Exception:
                self.failures += 1
            time.sleep(0.001)


def _promotion(heir_port: int, started: float, limit: float) -> float | None:
    """Seconds from ``started`` until the replica on ``heir_port`` says it is a master."""
    probe = RedisClient("127.0.0.1", heir_port, socket_timeout=0.2, retry_attempts=0)
    try:
        while time.monotonic() - started < limit:
            try:
                if probe.execute_command("ROLE")[0] == b"master":
                    return time.monotonic() - started
            except Exception:
                pass
            time.sleep(0.005)
        return None
    finally:
        probe.close()


def one_round(cluster: RedisClusterServers, client: RedisClusterClient) -> Tuple[float, float]:
    """(promotion, first write) in seconds after the kill: the end of the first
    successful write that began after the kill (retries inside the call included)."""
    view = cluster.cluster_nodes()
    doomed = next(
        n for n in cluster.live_nodes() if view[n.node_id].is_primary and cluster.replicas(n)
    )
    heir = cluster.replicas(doomed)[0]
    writer = Writer(client, _key_on(cluster, doomed.node_id))
    writer.start()
    time.sleep(0.3)  # steady state first
    assert writer.successes, "the writer never wrote before the kill"
    doomed.kill()  # SIGKILL, and reaped: nothing it answers after this
    killed = time.monotonic()
    promoted = _promotion(heir.port, killed, 30.0)
    deadline = time.monotonic() + 30.0
    first: float | None = None
    while first is None and time.monotonic() < deadline:
        first = next((e - killed for b, e in list(writer.successes) if b > killed), None)
        time.sleep(0.005)
    writer.stop.set()
    writer.join(10)
    cluster.restart(doomed)
    if promoted is None or first is None:
        raise RuntimeError(f"no promotion ({promoted}) or no write ({first}) within 30 s")
    return promoted, first


def _fmt(values: List[float]) -> str:
    return f"{statistics.median(values) * 1000:7.0f} ({min(values) * 1000:.0f}-{max(values) * 1000:.0f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--node-timeout", type=int, nargs="+", default=[1000, 2000])
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="  [log %(levelname)s] %(message)s")
    table: Dict[int, Tuple[List[float], List[float], List[float]]] = {}
    for timeout_ms in args.node_timeout:
        with RedisClusterServers(3, 1, node_timeout_ms=timeout_ms) as cluster:
            host, port = cluster.addresses[0]
            # Defaults, but for a deadline that outlasts the failover.
            client = RedisClusterClient(host, port, socket_timeout=0.5, retry_timeout=5.0)
            promos, firsts, added = [], [], []
            try:
                for r in range(args.rounds):
                    promoted, first = one_round(cluster, client)
                    promos.append(promoted)
                    firsts.append(first)
                    added.append(first - promoted)
                    print(
                        f"node-timeout {timeout_ms} ms, round {r + 1}: promoted after "
                        f"{promoted * 1000:.0f} ms, first write after {first * 1000:.0f} ms "
                        f"(client added {(first - promoted) * 1000:.0f} ms)",
                        flush=True,
                    )
            finally:
                client.close()
            table[timeout_ms] = (promos, firsts, added)
    print()
    print("times in ms after SIGKILL of a primary: median (min-max)")
    print(f"{'node-timeout':>12} | {'promotion':>18} | {'first write':>18} | {'client added':>18}")
    for timeout_ms, (promos, firsts, added) in table.items():
        print(f"{timeout_ms:>12} | {_fmt(promos):>18} | {_fmt(firsts):>18} | {_fmt(added):>18}")
    print(f"the claim: the client adds less than one refresh interval ({REFRESH * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
