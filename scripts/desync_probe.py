"""Measure what clients return when a server repeats each reply 2 ms later.

The server (a child process, so its timing is its own) answers every command and
sends the same answer again 2 ms later. Calls come back to back (--gap 0) or with a
pause between them (--gap 0.005). For each client the probe counts calls that got
their own value, another call's value, or an error:

    .venv/bin/python scripts/desync_probe.py [--calls 300] [--gap 0]

When the duplicate has come before the next call, it waits on the idle connection
and pyredisclient's checkout finds it. When it comes while the next call waits for
its reply (back to back, or a pause shorter than the server's actual delay), and
alone, no RESP2 client can tell it from that reply (RESP2 has no request ids):
pyredisclient retires the connection when the real reply then shows up as unread
bytes, or at once when both come in one read. redis-py, if installed, is measured
the same way for comparison. tests/faults/test_desync.py holds the cases that can be
asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fakeservers import FakeServer, MiniRedis, Peer


def repeat_later(peer: Peer) -> None:
    """Answer at once; send the same answer again 2 ms later (a timer)."""
    db = MiniRedis()
    lock = threading.Lock()
    while (cmd := peer.read_command()) is not None:
        reply = db.reply(cmd)
        with lock:
            if not peer.send(reply):
                return

        def later(data: bytes = reply) -> None:
            with lock:
                peer.send(data)

        timer = threading.Timer(0.002, later)
        timer.daemon = True
        timer.start()


def serve() -> None:
    with FakeServer(repeat_later) as fake:
        print(fake.port, flush=True)
        sys.stdin.read()  # until the parent closes our stdin


def measure(client: Any, calls: int, gap: float) -> Dict[str, int]:
    counts = {"right": 0, "wrong": 0, "error": 0}
    for i in range(calls):
        try:
            value = client.echo(f"v{i}")
        except Exception:
            counts["error"] += 1
        else:
            counts["right" if value == f"v{i}".encode() else "wrong"] += 1
        if gap:
            time.sleep(gap)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--gap", type=float, default=0.0, help="seconds between calls")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return

    import pyredisclient

    clients: Dict[str, Callable[[int], Any]] = {
        "pyredisclient": lambda port: pyredisclient.RedisClient(host="127.0.0.1", port=port)
    }
    try:
        import redis

        clients["redis-py"] = lambda port: redis.Redis(host="127.0.0.1", port=port, protocol=2)
    except ImportError:
        pass
    for name, make in clients.items():
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline())
            counts = measure(make(port), args.calls, args.gap)
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(timeout=10)
        print(f"{name:14} {args.calls} calls, gap {args.gap} s: {counts}")


if __name__ == "__main__":
    main()
