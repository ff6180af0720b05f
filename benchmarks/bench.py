"""Benchmark pyredisclient against redis-py (with hiredis) and redis-benchmark.

One run starts one throwaway redis-server on loopback and measures, on the same
work, three contenders:

* ``pyredisclient`` - this project;
* ``redis-py`` - redis-py with the hiredis parser, installed from PyPI into the
  benchmark's own environment (benchmarks/requirements.txt);
* ``redis-benchmark`` - the C client shipped with Redis, our physical limit.

The contenders alternate in rounds (each workload runs for every contender, in
an order rotated per round, before the next workload starts); every figure is
the median with its min-max over the rounds, and a ratio to redis-py and to
redis-benchmark. Beside throughput: the client's CPU time per operation
(getrusage deltas), system calls per GET, per MGET of 100 keys and per
pipeline of 10,000 GETs (``strace -c -f``), instructions per GET, SET, MGET
and pipelined GET (``valgrind --tool=callgrind``) with a
breakdown of where they go, and a ``perf`` profile of the client process. The
strace and callgrind figures are differences of a 2N and an N run divided by
N, so start-up cancels out.

Every comparison runs twice, as this is a small machine: with the client, the
server and redis-benchmark all pinned to CPU 0 (``taskset``), and unpinned.
The package under test is copied at the start, so a rebuild of the in-place
extension during the run cannot change what is measured.

Usage (normally through benchmarks/run.sh, which makes the environment)::

    python bench.py [--quick] [--rounds N] [--duration S] [--modes pinned,unpinned]
                    [--workloads get16,...] [--callgrind-ops get,set,mget100,pipe10k]
                    [--skip-strace] [--skip-callgrind] [--skip-perf]
                    [--skip-failure] [--json FILE] [--keep-profiles DIR]
                    [--baseline DIR]

``--baseline DIR`` adds a fourth contender, ``baseline``: the built package in
DIR/pyredisclient (say, an export of main built in place), measured in the same
rounds, strace and callgrind runs as this checkout's.

Every loop is bounded in count and in time; nothing polls.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import hashlib
import importlib.util
import io
import json
import os
import platform
import re
import resource
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Sequence, Tuple

HERE = Path(__file__).resolve().parent

PRC = "pyredisclient"
RPY = "redis-py"
RB = "redis-benchmark"
# With --baseline DIR: a second build of pyredisclient (say, main's) as one
# more contender, imported from a snapshot of DIR/pyredisclient.
BASE = "baseline"
BASE_ENV = "BENCH_BASELINE_PATH"
PY_CLIENTS: Tuple[str, ...] = (PRC, RPY)
CONTENDERS: Tuple[str, ...] = (PRC, RPY, RB)

# The data set, preloaded once.
VALUE16 = b"v" * 16
KEY16 = "bench:k16"
KEY_SET = "bench:set16"
KEY_100K = "bench:k100k"
KEY_1M = "bench:k1m"
SIZE_100K = 100 * 1024
SIZE_1M = 1024 * 1024
MGET_KEYS = [f"bench:m:{i}" for i in range(100)]

# Hard caps on any one measurement, whatever the duration says.
MAX_OPS = 5_000_000
HARD_TIME_FACTOR = 10.0  # a measurement never runs past duration * this


@dataclass(frozen=True)
class Workload:
    """One line of the tables: what is measured and how each contender does it."""

    name: str
    title: str
    unit: str  # "ops/s", "MB/s", "cmd/s"
    per_op: int  # units of work per iteration (GETs per pipeline, 1 otherwise)
    latency: bool = False  # report p50/p99 of each iteration
    nbytes: int = 0  # bytes of value per iteration (MB/s workloads)
    rb_args: Tuple[str, ...] = ()  # redis-benchmark arguments after -h/-p/-n
    rb_note: str = ""  # how redis-benchmark's figure relates, if not the same work
    min_iters: int = 20


WORKLOADS: Tuple[Workload, ...] = (
    Workload(
        "get16",
        "GET 16 B, sequential",
        "ops/s",
        1,
        latency=True,
        rb_args=("-c", "1", "-P", "1", "GET", KEY16),
        min_iters=200,
    ),
    Workload(
        "set16",
        "SET 16 B, sequential",
        "ops/s",
        1,
        latency=True,
        rb_args=("-c", "1", "-P", "1", "SET", KEY_SET, VALUE16.decode()),
        min_iters=200,
    ),
    Workload(
        "get100k",
        "GET 100 KiB",
        "MB/s",
        1,
        nbytes=SIZE_100K,
        rb_args=("-c", "1", "-P", "1", "GET", KEY_100K),
    ),
    Workload(
        "get1m",
        "GET 1 MiB",
        "MB/s",
        1,
        nbytes=SIZE_1M,
        rb_args=("-c", "1", "-P", "1", "GET", KEY_1M),
        min_iters=5,
    ),
    Workload(
        "mget100",
        "MGET 100 keys",
        "ops/s",
        1,
        rb_args=("-c", "1", "-P", "1", "MGET", *MGET_KEYS),
    ),
    Workload(
        "pipe100",
        "pipeline 100 GET",
        "cmd/s",
        100,
        rb_args=("-c", "1", "-P", "100", "GET", KEY16),
        rb_note="-P 100",
    ),
    Workload(
        "pipe100tx",
        "pipeline 100 GET, MULTI/EXEC",
        "cmd/s",
        100,
        rb_args=(),
        rb_note="vs plain -P 100",
    ),
    Workload(
        "pipe10k",
        "pipeline 10,000 GET",
        "cmd/s",
        10_000,
        rb_args=("-c", "1", "-P", "1000", "GET", KEY16),
        rb_note="-P 1000",
        min_iters=3,
    ),
    Workload(
        "pipe10ktx",
        "pipeline 10,000 GET, MULTI/EXEC",
        "cmd/s",
        10_000,
        rb_args=(),
        rb_note="vs plain -P 1000",
        min_iters=3,
    ),
    Workload(
        "threads8",
        "8 threads, one client, GET",
        "ops/s",
        1,
        rb_args=("-c", "8", "-P", "1", "GET", KEY16),
        rb_note="-c 8",
    ),
)
WORKLOAD_BY_NAME = {w.name: w for w in WORKLOADS}
# Transactional pipelines have no redis-benchmark form; compare with the plain one.
RB_SUBSTITUTE = {"pipe100tx": "pipe100", "pipe10ktx": "pipe10k"}

# Targets from issue 6, with issue 18's for the RESP writer (a pipeline of
# 10,000 GETs >= 0.8x -P 1000, MGET 100 >= 1.0x): (workload, min ratio to
# redis-py, min ratio to redis-benchmark). For instructions per GET the ratio
# is a maximum.
TARGETS: Tuple[Tuple[str, float, float], ...] = (
    ("get16", 1.5, 0.85),
    ("set16", 1.5, 0.85),
    ("pipe10k", 5.0, 0.8),
    ("threads8", 3.0, 0.7),
    ("get1m", 1.0, 0.9),
    ("mget100", 1.5, 1.0),
)
CALLGRIND_TARGET = 0.25
# What callgrind can count, one iteration each: a GET, a SET of 16 bytes, an
# MGET of 100 keys, a pipeline of 10,000 GETs (reported per GET).
CALLGRIND_OPS = ("get", "set", "mget100", "pipe10k")
# The workload each count op runs.
COUNT_WORKLOAD = {"get": "get16", "set": "set16"}


# ---------------------------------------------------------------------------
# Worker side: runs inside a process that holds one client.
# ---------------------------------------------------------------------------


def _cpu() -> Tuple[float, float]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime, ru.ru_stime


def _make_client(kind: str, port: int) -> Any:
    if kind in (PRC, BASE):
        from pyredisclient import RedisClient

        return RedisClient(host="127.0.0.1", port=port)
    import redis

    return redis.Redis(host="127.0.0.1", port=port)


def _client_info(kind: str, client: Any) -> Dict[str, str]:
    if kind in (PRC, BASE):
        import pyredisclient

        return {
            "version": pyredisclient.__version__,
            "hiredis": str(getattr(pyredisclient, "hiredis_version", "?")),
            "module": str(Path(pyredisclient.__file__ or "?").parent),
        }
    import hiredis
    import redis
    from redis.utils import HIREDIS_AVAILABLE

    conn = client.connection_pool.get_connection()
    try:
        parser = type(conn._parser).__name__
    finally:
        client.connection_pool.release(conn)
    return {
        "version": redis.__version__,
        "hiredis": hiredis.__version__,
        "hiredis_available": str(HIREDIS_AVAILABLE),
        "parser": parser,
    }


def _op_for(w: Workload, client: Any) -> Callable[[], Any]:
    """A zero-argument callable doing one iteration of workload *w*."""
    get = client.get
    if w.name == "get16" or w.name == "threads8":
        return lambda: get(KEY16)
    if w.name == "set16":
        set_ = client.set
        return lambda: set_(KEY_SET, VALUE16)
    if w.name == "get100k":
        return lambda: get(KEY_100K)
    if w.name == "get1m":
        return lambda: get(KEY_1M)
    if w.name == "mget100":
        mget = client.mget
        return lambda: mget(MGET_KEYS)
    if w.name.startswith("pipe"):
        transaction = w.name.endswith("tx")
        count = w.per_op
        pipeline = client.pipeline

        def run_pipeline() -> Any:
            pipe = pipeline(transaction=transaction)
            pget = pipe.get
            for _ in range(count):
                pget(KEY16)
            return pipe.execute()

        return run_pipeline
    raise ValueError(f"unknown workload {w.name}")


def _check_reply(w: Workload, reply: Any) -> None:
    """Make sure the work is what we think (a missing key would be a cheap nil)."""
    if w.name in ("get16", "threads8"):
        ok = reply == VALUE16
    elif w.name == "set16":
        ok = reply is True
    elif w.nbytes:
        ok = isinstance(reply, bytes) and len(reply) == w.nbytes
    elif w.name == "mget100":
        ok = isinstance(reply, list) and len(reply) == 100 and reply[0] == VALUE16
    else:
        ok = isinstance(reply, list) and len(reply) == w.per_op and reply[-1] == VALUE16
    if not ok:
        raise RuntimeError(f"{w.name}: unexpected reply {reply!r:.80}")


def _percentile(sorted_values: Sequence[int], q: float) -> float:
    if not sorted_values:
        return float("nan")
    idx = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return float(sorted_values[idx])


def _timed_loop(
    op: Callable[[], Any], duration: float, min_iters: int, latency: bool
) -> Tuple[int, float, List[int]]:
    """Run *op* until *duration* has passed (and at least *min_iters* ran).

    Bounded: never more than MAX_OPS iterations nor duration * HARD_TIME_FACTOR.
    Returns (iterations, elapsed seconds, per-iteration nanoseconds if *latency*).
    """
    pc = time.perf_counter_ns
    start = pc()
    soft = start + int(duration * 1e9)
    hard = start + int(duration * HARD_TIME_FACTOR * 1e9)
    lat: List[int] = []
    n = 0
    if latency:
        # One clock read per iteration: latency = time between consecutive reads.
        append = lat.append
        prev = start
        for n in range(1, MAX_OPS + 1):
            op()
            now = pc()
            append(now - prev)
            prev = now
            if (now >= soft and n >= min_iters) or now >= hard:
                break
        end = prev
    else:
        chunk = 1
        end = start
        while n < MAX_OPS:
            for _ in range(chunk):
                op()
            n += chunk
            end = pc()
            if (end >= soft and n >= min_iters) or end >= hard:
                break
            # Grow the chunk so the clock is read about every millisecond.
            per = (end - start) / n
            chunk = max(1, min(1000, int(1e6 / per) if per > 0 else 1000, MAX_OPS - n))
    return n, (end - start) / 1e9, lat


def _run_threads(op: Callable[[], Any], duration: float, nthreads: int) -> Tuple[int, float]:
    """*nthreads* threads calling *op* until the deadline; returns (ops, seconds)."""
    counts = [0] * nthreads
    errors: List[BaseException] = []
    barrier = threading.Barrier(nthreads + 1, timeout=30)
    bounds: Dict[str, float] = {}

    def body(i: int) -> None:
        try:
            barrier.wait()
            soft = bounds["soft"]
            hard = bounds["hard"]
            pc = time.perf_counter
            n = 0
            while n < MAX_OPS:
                for _ in range(50):
                    op()
                n += 50
                now = pc()
                if now >= soft or now >= hard:
                    break
            counts[i] = n
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(nthreads)]
    for t in threads:
        t.start()
    start = time.perf_counter()
    bounds["soft"] = start + duration
    bounds["hard"] = start + duration * HARD_TIME_FACTOR
    barrier.wait()
    for t in threads:
        t.join(timeout=duration * HARD_TIME_FACTOR + 30)
    end = time.perf_counter()
    if errors:
        raise RuntimeError(f"thread failed: {errors[0]!r}")
    if any(t.is_alive() for t in threads):
        raise RuntimeError("a benchmark thread did not finish in time")
    return sum(counts), end - start


def run_workload(kind: str, client: Any, w: Workload, duration: float) -> Dict[str, Any]:
    """Measure one workload on *client*; returns the raw figures."""
    op = _op_for(w, client)
    _check_reply(w, op())
    # Warm-up: a tenth of the time, at least a few iterations.
    _timed_loop(op, duration / 10, 3, latency=False)
    u0, s0 = _cpu()
    if w.name == "threads8":
        iters, elapsed = _run_threads(op, duration, 8)
        lat: List[int] = []
    else:
        iters, elapsed, lat = _timed_loop(op, duration, w.min_iters, w.latency)
    u1, s1 = _cpu()
    units = iters * w.per_op
    out: Dict[str, Any] = {
        "iters": iters,
        "units": units,
        "elapsed": elapsed,
        "cpu_user": u1 - u0,
        "cpu_sys": s1 - s0,
    }
    if lat:
        lat.sort()
        out["p50_us"] = _percentile(lat, 0.50) / 1000
        out["p99_us"] = _percentile(lat, 0.99) / 1000
    return out


def worker_main(kind: str, port: int) -> int:
    """Serve JSON requests on stdin, one result line each on stdout."""
    client = _make_client(kind, port)
    out = sys.stdout
    out.write(json.dumps({"ready": True, "info": _client_info(kind, client)}) + "\n")
    out.flush()
    for line in sys.stdin:  # ends when the orchestrator closes our stdin
        req = json.loads(line)
        try:
            res = run_workload(kind, client, WORKLOAD_BY_NAME[req["workload"]], req["duration"])
        except Exception as exc:
            res = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(res) + "\n")
        out.flush()
    return 0


def count_main(
    kind: str, port: int, op_name: str, count: int, warmup: int, cg_helper: str | None
) -> int:
    """Do *warmup* then *count* iterations of one op and exit.

    The body of the strace, callgrind and perf runs: ``get`` is one GET of the
    16-byte value, ``set`` one SET of 16 bytes, ``mget100`` one MGET of 100
    keys, ``pipe10k`` one non-transactional pipeline of 10,000 GETs.
    With *cg_helper* (under ``valgrind --instr-atstart=no``) callgrind's
    instrumentation is switched on here, after the imports: only a speed-up,
    the warm-up and the exit are still counted and cancel out between runs.
    """
    client = _make_client(kind, port)
    w = WORKLOAD_BY_NAME[COUNT_WORKLOAD.get(op_name, op_name)]
    op = _op_for(w, client)
    if cg_helper:
        import ctypes

        ctypes.CDLL(cg_helper).bench_cg_start()
    # Run the loops in a fresh C-level eval frame (map calls through C): the
    # frames that were live when instrumentation started are unknown to
    # callgrind, which would pin their costs on the wrong function.
    reply = next(map(_count_loops, [(op, warmup, count)]))
    try:
        _check_reply(w, reply if count else op())
    except RuntimeError:
        return 1
    return 0


def _count_loops(spec: Tuple[Callable[[], Any], int, int]) -> Any:
    op, warmup, count = spec
    for _ in range(warmup):
        op()
    reply = None
    for _ in range(count):
        reply = op()
    return reply


# ---------------------------------------------------------------------------
# Orchestrator side.
# ---------------------------------------------------------------------------


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class Worker:
    """A long-lived worker process holding one client, talking JSON lines."""

    def __init__(self, kind: str, port: int, prefix: Sequence[str]) -> None:
        self.kind = kind
        cmd = [
            *prefix,
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            kind,
            "--port",
            str(port),
        ]
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        ready = self._read(60.0)
        if not ready.get("ready"):
            raise RuntimeError(f"{kind} worker failed to start: {ready}")
        self.info: Dict[str, str] = ready["info"]

    def _read(self, timeout: float) -> Dict[str, Any]:
        assert self.proc.stdout is not None
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            self.close()
            raise RuntimeError(f"{self.kind} worker gave no answer in {timeout:.0f} s")
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.kind} worker exited (code {self.proc.wait(5)})")
        result: Dict[str, Any] = json.loads(line)
        return result

    def run(self, workload: str, duration: float) -> Dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"workload": workload, "duration": duration}) + "\n")
        self.proc.stdin.flush()
        return self._read(duration * (HARD_TIME_FACTOR + 2) + 30)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def children_cpu() -> Tuple[float, float]:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime, ru.ru_stime


def rb_command(port: int, n: int, args: Sequence[str]) -> List[str]:
    return ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-n", str(n), "--csv", *args]


def run_redis_benchmark(
    port: int, n: int, w: Workload, prefix: Sequence[str], timeout: float
) -> Dict[str, Any]:
    """One redis-benchmark run; rps, p50/p99 from its CSV, CPU from rusage."""
    cmd = [*prefix, *rb_command(port, n, w.rb_args)]
    c0 = children_cpu()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    elapsed = time.perf_counter() - t0
    c1 = children_cpu()
    if proc.returncode != 0:
        raise RuntimeError(f"redis-benchmark failed: {proc.stderr.strip() or proc.stdout}")
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    if not rows or "rps" not in rows[-1]:
        raise RuntimeError(f"redis-benchmark printed no CSV: {proc.stdout!r:.200}")
    row = rows[-1]
    rps = float(row["rps"])
    # Commands per redis-benchmark request: pipelines count each command.
    return {
        "iters": n,
        "units": n,
        "rate": rps,  # requests (commands) per second, as redis-benchmark measures it
        "elapsed": elapsed,
        # RUSAGE_CHILDREN grows only by this run: nothing else is waited for meanwhile.
        "cpu_user": c1[0] - c0[0],
        "cpu_sys": c1[1] - c0[1],
        "p50_us": float(row["p50_latency_ms"]) * 1000,
        "p99_us": float(row["p99_latency_ms"]) * 1000,
    }


def metric(w: Workload, res: Dict[str, Any]) -> float:
    """The headline figure of one measurement in the workload's unit."""
    # redis-benchmark reports requests (= commands) per second itself.
    rate = float(res["rate"]) if "rate" in res else res["units"] / res["elapsed"]
    if w.unit == "MB/s":
        return rate * w.nbytes / 1e6
    return rate


@dataclass
class Results:
    """Every measurement, keyed by (mode, workload, contender): one entry per round."""

    runs: Dict[Tuple[str, str, str], List[Dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    rb_commands: Dict[str, str] = field(default_factory=dict)
    strace: Dict[str, Any] = field(default_factory=dict)
    strace_ops: Dict[str, Any] = field(default_factory=dict)  # mget100, pipe10k
    callgrind: Dict[str, Any] = field(default_factory=dict)
    perf: Dict[str, Any] = field(default_factory=dict)
    info: Dict[str, Any] = field(default_factory=dict)
    failure_output: str = ""

    def figures(self, mode: str, wname: str, who: str) -> List[float]:
        w = WORKLOAD_BY_NAME[wname]
        return [metric(w, r) for r in self.runs.get((mode, wname, who), []) if "error" not in r]

    def median(self, mode: str, wname: str, who: str) -> float | None:
        vals = self.figures(mode, wname, who)
        return statistics.median(vals) if vals else None

    def field_median(self, mode: str, wname: str, who: str, key: str) -> float | None:
        vals = [r[key] for r in self.runs.get((mode, wname, who), []) if key in r]
        return statistics.median(vals) if vals else None

    def cpu_per_op_us(self, mode: str, wname: str, who: str) -> float | None:
        vals = [
            (r["cpu_user"] + r["cpu_sys"]) / r["units"] * 1e6
            for r in self.runs.get((mode, wname, who), [])
            if "error" not in r and r.get("units")
        ]
        return statistics.median(vals) if vals else None

    def sys_share(self, mode: str, wname: str, who: str) -> float | None:
        """Median kernel share (percent) of the client's CPU time, when known."""
        vals = [
            r["cpu_sys"] / (r["cpu_user"] + r["cpu_sys"]) * 100
            for r in self.runs.get((mode, wname, who), [])
            if "error" not in r and "cpu_sys" in r and r["cpu_user"] + r["cpu_sys"] > 0
        ]
        return statistics.median(vals) if vals else None


# -- the code under test ----------------------------------------------------------


def snapshot_package(dest: Path, src: Path | None = None) -> Dict[str, str]:
    """Copy the pyredisclient package (with its built extension) to *dest*.

    Every process of the run imports this copy (PYTHONPATH), so that a rebuild
    of the in-place extension by someone else during the run (the test script
    swaps in coverage and sanitizer builds) cannot change what is measured.
    Returns a description of the copied extension; raises when it is an
    instrumented build, whose figures would be meaningless.
    """
    if src is None:
        spec = importlib.util.find_spec("pyredisclient")
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError("pyredisclient is not installed (run benchmarks/run.sh)")
        src = Path(next(iter(spec.submodule_search_locations)))
    target = dest / "pyredisclient"
    shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
    libs = sorted(target.glob("_core.*.so"))
    if not libs:
        raise RuntimeError(f"no built extension in {src} (python setup.py build_ext --inplace)")
    data = libs[0].read_bytes()
    producers = re.findall(rb"GNU C[^\x00]*", data)
    opts = producers[-1].decode(errors="replace").split() if producers else []
    opt_levels = [o for o in opts if re.fullmatch(r"-O\w*", o)]
    flavor = "optimised"
    if b"__gcov_" in data or "--coverage" in opts or "-fprofile-arcs" in opts:
        flavor = "coverage"
    elif b"__asan_" in data or any(o.startswith("-fsanitize") for o in opts):
        flavor = "sanitizer"
    elif opt_levels and opt_levels[-1] in ("-O0", "-Og"):
        flavor = "debug"
    if flavor != "optimised":
        raise RuntimeError(
            f"{libs[0]} is a {flavor} build: rebuild it with "
            "'python setup.py build_ext --inplace --force' and run again"
        )
    return {
        "source": str(src),
        "sha256": hashlib.sha256(data).hexdigest()[:16],
        "optimisation": opt_levels[-1] if opt_levels else "?",
    }


def git_revision(path: Path) -> str:
    """``abc1234`` plus ``+changes`` when csrc/ or pyredisclient/ differ from HEAD."""
    try:
        head = subprocess.run(
            ["git", "-C", str(path), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(path), "status", "--porcelain", "--", "csrc", "pyredisclient"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"
    return head + (" +uncommitted changes in csrc/ or pyredisclient/" if dirty else "")


# -- redis-server -------------------------------------------------------------


def preload(port: int) -> None:
    from pyredisclient import RedisClient

    with RedisClient(host="127.0.0.1", port=port) as c:
        c.flushall()
        c.set(KEY16, VALUE16)
        c.set(KEY_SET, VALUE16)
        c.set(KEY_100K, b"h" * SIZE_100K)
        c.set(KEY_1M, b"m" * SIZE_1M)
        c.mset({k: VALUE16 for k in MGET_KEYS})
        assert c.get(KEY_1M) == b"m" * SIZE_1M


@contextlib.contextmanager
def pinned_server(pid: int, pin: bool) -> Iterator[None]:
    """Pin every thread of redis-server to CPU 0 (taskset -a -p), restore after."""
    if not pin:
        yield
        return
    original = ",".join(str(c) for c in sorted(os.sched_getaffinity(pid)))
    subprocess.run(["taskset", "-a", "-p", "-c", "0", str(pid)], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run(
            ["taskset", "-a", "-p", "-c", original, str(pid)], check=False, capture_output=True
        )


# -- the rounds ---------------------------------------------------------------


def calibrate_rb(port: int, duration: float) -> Dict[str, int]:
    """Pick a request count per redis-benchmark workload that takes ~duration."""
    counts: Dict[str, int] = {}
    for w in WORKLOADS:
        if not w.rb_args:
            continue
        probe = 200 if w.nbytes < SIZE_1M else 50
        if w.name.startswith("pipe"):
            probe = 20_000
        res = run_redis_benchmark(port, probe, w, (), timeout=60)
        n = int(res["rate"] * duration)
        # Pipelines send -P requests at a time; keep n a multiple.
        step = int(w.rb_args[w.rb_args.index("-P") + 1]) if "-P" in w.rb_args else 1
        n = max(step * 5, (n // step) * step)
        counts[w.name] = min(n, 50_000_000)
    return counts


def run_rounds(
    results: Results,
    port: int,
    server_pid: int,
    modes: Sequence[str],
    rounds: int,
    duration: float,
    rb_counts: Dict[str, int],
    workloads: Sequence[Workload],
) -> None:
    for mode in modes:
        pin = mode == "pinned"
        prefix: Tuple[str, ...] = ("taskset", "-c", "0") if pin else ()
        log(f"mode {mode}: starting workers")
        with pinned_server(server_pid, pin):
            workers = {k: Worker(k, port, prefix) for k in PY_CLIENTS}
            where = workers[PRC].info.pop("module", "?")
            if where != str(Path(sys.modules["pyredisclient"].__file__ or "").parent):
                raise RuntimeError(f"the worker imported pyredisclient from {where}")
            if BASE in workers:
                where = workers[BASE].info.get("module", "?")
                if where != str(Path(os.environ[BASE_ENV]) / "pyredisclient"):
                    raise RuntimeError(f"the baseline imported pyredisclient from {where}")
            results.info.setdefault("clients", {k: v.info for k, v in workers.items()})
            try:
                for rnd in range(rounds):
                    log(f"mode {mode}: round {rnd + 1}/{rounds}")
                    for w in workloads:
                        k = rnd % len(CONTENDERS)
                        order = list(CONTENDERS[k:] + CONTENDERS[:k])
                        for who in order:
                            if who == RB:
                                if not w.rb_args:
                                    continue
                                n = rb_counts[w.name]
                                res = run_redis_benchmark(
                                    port, n, w, prefix, timeout=duration * HARD_TIME_FACTOR + 60
                                )
                                results.rb_commands[w.name] = " ".join(
                                    [
                                        "redis-benchmark",
                                        "-h",
                                        "127.0.0.1",
                                        "-p",
                                        "PORT",
                                        "-n",
                                        str(n),
                                        "--csv",
                                        *_short(w.rb_args),
                                    ]
                                )
                            else:
                                res = workers[who].run(w.name, duration)
                                if "error" in res:
                                    log(f"  {who} {w.name}: {res['error']}")
                            results.runs[(mode, w.name, who)].append(res)
            finally:
                for wk in workers.values():
                    wk.close()


def _short(args: Sequence[str]) -> List[str]:
    """MGET's hundred keys, abbreviated for the report."""
    if len(args) > 8:
        cmd = args.index("MGET")
        return [*args[: cmd + 2], "...", args[-1], f"({len(args) - cmd - 1} keys)"]
    return list(args)


# -- strace: system calls per GET -----------------------------------------------


def parse_strace_summary(text: str) -> Dict[str, int]:
    """`strace -c` table -> {syscall: calls}."""
    calls: Dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 5 or not parts[0].replace(".", "").isdigit():
            continue
        name = parts[-1]
        if name == "total":
            continue
        # columns: % time, seconds, usecs/call, calls, [errors], syscall
        calls[name] = int(parts[3])
    return calls


def strace_count(cmd: Sequence[str], timeout: float) -> Dict[str, int]:
    with tempfile.NamedTemporaryFile(prefix="bench-strace-", suffix=".txt") as tf:
        proc = subprocess.run(
            ["strace", "-c", "-f", "-o", tf.name, *cmd],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"strace run failed: {proc.stderr[-500:]}")
        return parse_strace_summary(Path(tf.name).read_text())


def measure_syscalls(results: Results, port: int, n: int, op: str = "get") -> None:
    """Syscalls per op = (calls of a 2N-op run - calls of an N-op run) / N.

    *op* is ``get``, ``mget100`` (per MGET) or ``pipe10k`` (per pipeline of
    10,000 GETs; redis-benchmark sends them as ten ``-P 1000`` batches).
    """
    me = [sys.executable, str(Path(__file__).resolve())]
    w = WORKLOAD_BY_NAME[COUNT_WORKLOAD.get(op, op)]
    for kind in (*PY_CLIENTS, RB):
        per_run = []
        for count in (n, 2 * n):
            if kind == RB:
                cmd = rb_command(port, count * w.per_op, w.rb_args)
            else:
                cmd = [
                    *me,
                    "--count-op",
                    op,
                    "--count-gets",
                    str(count),
                    "--warmup",
                    str(max(1, n // 10)),
                    "--worker",
                    kind,
                    "--port",
                    str(port),
                ]
            per_run.append(strace_count(cmd, timeout=120))
        small, big = per_run
        names = sorted(set(small) | set(big))
        diff = {k: (big.get(k, 0) - small.get(k, 0)) / n for k in names}
        diff = {k: v for k, v in diff.items() if abs(v) >= 0.005}
        entry = {"per_get": sum(diff.values()), "by_syscall": diff, "n": n}
        if op == "get":
            results.strace[kind] = entry
        else:
            results.strace_ops.setdefault(op, {})[kind] = entry
        log(f"strace {kind}: {sum(diff.values()):.2f} syscalls per {op}")


# -- callgrind: instructions per GET ---------------------------------------------


def parse_callgrind(path: Path) -> Tuple[int, Dict[Tuple[str, str, str], int]]:
    """Total Ir and self Ir per (object, file, function) of a callgrind.out file.

    Written with --compress-strings=no --compress-pos=no, so names are plain.
    Cost lines that follow a ``calls=`` line are inclusive costs of the call and
    are not the caller's own.
    """
    total = 0
    self_cost: Dict[Tuple[str, str, str], int] = defaultdict(int)
    ob = fl = fn = ""
    skip_next = False
    with path.open(errors="replace") as fh:
        for line in fh:
            c = line[0] if line else ""
            if c.isdigit() or c in "+-*":
                if skip_next:
                    skip_next = False
                    continue
                parts = line.split()
                if len(parts) >= 2:
                    self_cost[(ob, fl, fn)] += int(parts[1])
                continue
            if line.startswith("ob="):
                ob = line[3:].strip()
            elif line.startswith("fl="):
                fl = line[3:].strip()
            elif line.startswith("fn="):
                fn = line[3:].strip()
            elif line.startswith("calls="):
                skip_next = True
            elif line.startswith(("summary:", "totals:")):
                total = max(total, int(line.split()[1]))
    return total, self_cost


def classify(ob: str, fl: str, fn: str) -> str:
    base = os.path.basename(ob)
    if "_core.cpython" in base or "pyredisclient" in ob:
        if "/csrc/core/" in fl:
            return "pyredisclient C core"
        if "/csrc/binding/" in fl:
            return "pyredisclient binding"
        return "pyredisclient (other)"
    if base.startswith("libhiredis"):
        return "libhiredis (C)"
    if base.startswith("hiredis.cpython") or "/hiredis/" in ob:
        return "hiredis-py (C parser)"
    if base.startswith("libpython") or base.startswith("python"):
        return "Python interpreter"
    if ".cpython-" in base:
        return "other Python C modules"
    if base.startswith("libc.so") or base.startswith("libc-"):
        return "libc (malloc, memcpy, syscall stubs)"
    if base.startswith("ld-linux") or base.startswith("ld-"):
        return "dynamic linker"
    if base.startswith(("libssl", "libcrypto")):
        return "OpenSSL"
    if base.startswith("libm"):
        return "libm"
    return f"other ({base or '?'})"


CG_HELPER_SOURCE = """\
#include <valgrind/callgrind.h>
void bench_cg_start(void) { CALLGRIND_START_INSTRUMENTATION; }
"""


def build_cg_helper(tmp: Path) -> Path | None:
    """A tiny shared library that switches callgrind's instrumentation on.

    Python start-up and imports then run uninstrumented (about 4x faster under
    valgrind). None when gcc or valgrind/callgrind.h is missing: the runs are
    then fully instrumented, which gives the same differences, only slower.
    """
    src, lib = tmp / "bench_cg.c", tmp / "bench_cg.so"
    src.write_text(CG_HELPER_SOURCE)
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        return None
    proc = subprocess.run(
        [gcc, "-shared", "-fPIC", "-O1", "-o", str(lib), str(src)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return lib if proc.returncode == 0 else None


def measure_callgrind(results: Results, port: int, op: str, n: int, warmup: int, tmp: Path) -> None:
    """Instructions per command = (Ir of a W+2N run - Ir of a W+N run) / (N * per_op).

    *op* is ``get`` (one GET per iteration), ``mget100`` (one MGET of 100 keys) or
    ``pipe10k`` (a pipeline of 10,000 GETs, counted per GET). Start-up, imports,
    connect and warm-up cancel out.
    """
    me = [sys.executable, str(Path(__file__).resolve())]
    env = dict(os.environ, PYTHONHASHSEED="0")
    per_op = WORKLOAD_BY_NAME[COUNT_WORKLOAD.get(op, op)].per_op
    helper = build_cg_helper(tmp)
    fast = ["--instr-atstart=no"] if helper else []
    helper_arg = ["--cg-helper", str(helper)] if helper else []
    for kind in PY_CLIENTS:
        runs = []
        for count in (n, 2 * n):
            out = tmp / f"callgrind.{op}.{kind}.{count}.out"
            cmd = [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}",
                "--compress-strings=no",
                "--compress-pos=no",
                "--trace-children=no",
                *fast,
                *me,
                *helper_arg,
                "--count-op",
                op,
                "--count-gets",
                str(count),
                "--warmup",
                str(warmup),
                "--worker",
                kind,
                "--port",
                str(port),
            ]
            t0 = time.perf_counter()
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=600, check=False, env=env
            )
            if proc.returncode != 0:
                raise RuntimeError(f"callgrind run failed: {proc.stderr[-800:]}")
            total, costs = parse_callgrind(out)
            log(f"callgrind {kind} {op} x{count}: {total:,} Ir ({time.perf_counter() - t0:.0f} s)")
            runs.append((total, costs))
        (t1, c1), (t2, c2) = runs
        units = n * per_op
        per_fn: Dict[Tuple[str, str, str], float] = {}
        for key in set(c1) | set(c2):
            d = (c2.get(key, 0) - c1.get(key, 0)) / units
            if abs(d) >= 0.5 / per_op:
                per_fn[key] = d
        by_area: Dict[str, float] = defaultdict(float)
        for (ob, fl, fn), v in per_fn.items():
            by_area[classify(ob, fl, fn)] += v
        top = sorted(per_fn.items(), key=lambda kv: -kv[1])[:30]
        results.callgrind.setdefault(op, {})[kind] = {
            "per_cmd": (t2 - t1) / units,
            "n": n,
            "per_op": per_op,
            "totals": [t1, t2],
            "by_area": dict(sorted(by_area.items(), key=lambda kv: -kv[1])),
            "top": [
                {
                    "object": os.path.basename(ob),
                    "file": os.path.basename(fl),
                    "function": fn,
                    "ir": v,
                    "area": classify(ob, fl, fn),
                }
                for (ob, fl, fn), v in top
            ],
        }


# -- perf: where the client's CPU time goes, kernel included ----------------------


def _perf_table(data: Path, sort: str, limit: int) -> List[Tuple[float, str]]:
    proc = subprocess.run(
        [
            "perf",
            "report",
            "-i",
            str(data),
            "--no-children",
            "--sort",
            sort,
            "--stdio",
            "-g",
            "none",
            "--percent-limit",
            "0.3",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    rows: List[Tuple[float, str]] = []
    for line in proc.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(.*\S)", line)
        if m and not line.lstrip().startswith("#"):
            rows.append((float(m.group(1)), re.sub(r"\s{2,}", "  ", m.group(2))))
        if len(rows) >= limit:
            break
    return rows


def measure_perf(results: Results, port: int, quick: bool, tmp: Path) -> None:
    """Sample each Python client's GET loop and 10,000-GET pipeline loop.

    ``perf record -e cpu-clock`` (a software clock: this VM has no hardware
    counters) on the client process, kernel included. Sampling starts after a
    delay that covers start-up and warm-up, so the profile is the steady loop.
    """
    me = [sys.executable, str(Path(__file__).resolve())]
    plan = {"get": 20_000 if quick else 60_000, "pipe10k": 20 if quick else 60}
    for op, count in plan.items():
        for kind in PY_CLIENTS:
            data = tmp / f"perf.{op}.{kind}.data"
            n = count if kind == PRC else count // 3  # redis-py is slower; keep runs short
            cmd = [
                "perf", "record", "-q", "-e", "cpu-clock", "-F", "4000", "-D", "700",
                "-o", str(data), "--", *me, "--count-op", op, "--count-gets", str(n),
                "--warmup", str(max(1, n // 4)), "--worker", kind, "--port", str(port),
            ]  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
            if proc.returncode != 0 or not data.exists():
                log(f"perf record failed for {kind}: {proc.stderr.strip()[-300:]}")
                return
            results.perf.setdefault(op, {})[kind] = {
                "dso": _perf_table(data, "dso", 8),
                "sym": _perf_table(data, "dso,sym", 30),
            }
    log("perf profiles taken")


# -- failure figures (another helper's script) -------------------------------------


def run_failure_bench(quick: bool) -> str:
    script = HERE / "failure_bench.py"
    if not script.exists():
        return "(benchmarks/failure_bench.py not present: skipped)"
    cmd = [sys.executable, str(script)]
    with contextlib.suppress(Exception):
        helptext = subprocess.run(
            [*cmd, "--help"], capture_output=True, text=True, timeout=60, check=False
        ).stdout
        if quick and "--quick" in helptext:
            cmd.append("--quick")
        elif quick:
            # Its hung-server rounds take ~15 s each for redis-py: fewer of them.
            if "--rounds" in helptext:
                cmd += ["--rounds", "1"]
            if "--calls" in helptext:
                cmd += ["--calls", "2000"]
    log(f"running {' '.join(cmd[1:])}")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=420, check=False)
    except subprocess.TimeoutExpired:
        return "(failure_bench.py did not finish within 420 s)"
    text = proc.stdout
    if proc.returncode != 0:
        text += f"\n(failure_bench.py exited with code {proc.returncode})\n{proc.stderr[-2000:]}"
    return text


# ---------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------


def fmt_num(v: float | None, unit: str = "") -> str:
    if v is None:
        return "-"
    if unit == "MB/s":
        return f"{v:,.0f}" if v >= 100 else f"{v:,.1f}"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def _round_ratios(results: Results, mode: str, wname: str, other: str) -> List[float]:
    """Per-round ratios pyredisclient / *other* (rounds pair the contenders in time)."""
    a = results.figures(mode, wname, PRC)
    b = results.figures(mode, RB_SUBSTITUTE.get(wname, wname) if other == RB else wname, other)
    return [x / y for x, y in zip(a, b) if y]


def _fmt_ratio_range(vals: List[float]) -> str:
    return f"({min(vals):.2f}-{max(vals):.2f})" if vals else ""


def report(results: Results, modes: Sequence[str], args: argparse.Namespace) -> str:
    out = io.StringIO()
    p = out.write
    info = results.info
    p("pyredisclient benchmark\n")
    p("=======================\n")
    p(f"date: {info.get('date')}   host: {info.get('host')}   cpus: {os.cpu_count()}\n")
    p(f"python: {platform.python_version()}   redis-server: {info.get('server_version')}\n")
    ext = info.get("extension", {})
    p(
        f"pyredisclient revision: {info.get('revision')}   extension: "
        f"{ext.get('optimisation')}, sha256 {ext.get('sha256')}\n"
    )
    if "baseline" in info:
        b = info["baseline"]
        p(
            f"baseline: {b['source']}, revision {b['revision']}, extension "
            f"{b['optimisation']}, sha256 {b['sha256']}\n"
        )
    for who, ci in info.get("clients", {}).items():
        p(f"{who}: " + ", ".join(f"{k}={v}" for k, v in ci.items()) + "\n")
    p(
        f"rounds: {args.rounds}   seconds per measurement: {args.duration}   "
        f"modes: {', '.join(modes)}\n"
    )
    p(f"load average at start: {info.get('load_start')}   at end: {info.get('load_end')}\n")
    p(f"command: {info.get('command')}\n\n")

    for mode in modes:
        title = {
            "pinned": "PINNED: client, redis-server and redis-benchmark all on CPU 0 (taskset)",
            "unpinned": "UNPINNED: the scheduler's choice of the CPUs",
        }[mode]
        p(f"{title}\n{'-' * len(title)}\n")
        p(
            f"{'workload':32} {'client':16} {'median':>10} {'min-max':>21} {'unit':5} "
            f"{'p50us':>6} {'p99us':>6} {'cpu us':>7} {'sys%':>4} {'xredis-py':>9} "
            f"{'xr-bench':>8}\n"
        )
        for w in WORKLOADS:
            rpy = results.median(mode, w.name, RPY)
            rb_name = RB_SUBSTITUTE.get(w.name, w.name)
            rb = results.median(mode, rb_name, RB)
            first = True
            for who in CONTENDERS:
                src = rb_name if who == RB else w.name
                vals = results.figures(mode, src, who)
                if not vals:
                    continue
                label = f"{RB}*" if who == RB and src != w.name else who
                med = statistics.median(vals)
                rng = f"{fmt_num(min(vals), w.unit)}-{fmt_num(max(vals), w.unit)}"
                p50 = results.field_median(mode, src, who, "p50_us") if w.latency else None
                p99 = results.field_median(mode, src, who, "p99_us") if w.latency else None
                cpu = results.cpu_per_op_us(mode, src, who)
                sys_share = results.sys_share(mode, src, who)
                name = w.title if first else ""
                first = False
                p(
                    f"{name:32} {label:16} {fmt_num(med, w.unit):>10} {rng:>21} {w.unit:5} "
                    f"{fmt_num(p50):>6} {fmt_num(p99):>6} {fmt_num(cpu):>7} "
                    f"{'-' if sys_share is None else f'{sys_share:.0f}':>4} "
                    f"{fmt_ratio(med, rpy):>9} {fmt_ratio(med, rb):>8}\n"
                )
            if w.rb_note and not first:  # not for a workload left out
                p(f"{'':32} (redis-benchmark: {w.rb_note})\n")
        p("  * redis-benchmark has no MULTI/EXEC form: the plain pipeline's figure.\n")
        p("  p50/p99: per call, inside the timed loop (redis-benchmark: its own histogram).\n")
        p(
            "  cpu us: the client process's user+sys CPU (getrusage) per GET, MGET or pipelined\n"
            "  command; sys%: the kernel's share of it.\n\n"
        )

    if results.strace:
        n = next(iter(results.strace.values()))["n"]
        p(f"SYSTEM CALLS PER GET (strace -c -f; (2N-GET run - N-GET run) / N, N = {n})\n")
        for who, s in results.strace.items():
            detail = ", ".join(
                f"{k} {v:.2f}" for k, v in sorted(s["by_syscall"].items(), key=lambda kv: -kv[1])
            )
            p(f"  {who:16} {s['per_get']:5.2f}   ({detail})\n")
        p("\n")
    strace_titles = {
        "mget100": "SYSTEM CALLS PER MGET OF 100 KEYS",
        "pipe10k": "SYSTEM CALLS PER PIPELINE OF 10,000 GETS (redis-benchmark: 10 x -P 1000)",
    }
    for op, by_client in results.strace_ops.items():
        n = next(iter(by_client.values()))["n"]
        p(f"{strace_titles[op]} (strace -c -f; (2N run - N run) / N, N = {n})\n")
        for who, s in by_client.items():
            detail = ", ".join(
                f"{k} {v:.2f}" for k, v in sorted(s["by_syscall"].items(), key=lambda kv: -kv[1])
            )
            p(f"  {who:16} {s['per_get']:7.2f}   ({detail})\n")
        p("\n")

    titles = {
        "get": "INSTRUCTIONS PER GET",
        "set": "INSTRUCTIONS PER SET OF 16 BYTES",
        "mget100": "INSTRUCTIONS PER MGET OF 100 KEYS",
        "pipe10k": "INSTRUCTIONS PER PIPELINED GET (pipelines of 10,000)",
    }
    for op, by_client in results.callgrind.items():
        any_c = next(iter(by_client.values()))
        p(
            f"{titles[op]} (valgrind --tool=callgrind, client process only; "
            f"(2N run - N run) / N, N = {any_c['n']} x {any_c['per_op']})\n"
        )
        for who, c in by_client.items():
            p(f"  {who:16} {c['per_cmd']:>10,.0f} Ir\n")
        prc = by_client.get(PRC, {}).get("per_cmd")
        rpy_ir = by_client.get(RPY, {}).get("per_cmd")
        if prc and rpy_ir:
            target = f"  (target <= {CALLGRIND_TARGET})" if op == "get" else ""
            p(f"  pyredisclient / redis-py: {prc / rpy_ir:.3f}{target}\n")
        for who, c in by_client.items():
            p(f"\n  where {who}'s instructions go ({op}):\n")
            for area, v in c["by_area"].items():
                if abs(v) >= 1:
                    p(f"    {area:42} {v:>9,.0f}  {v / c['per_cmd'] * 100:5.1f}%\n")
            p("  top functions (self Ir per command):\n")
            for t in c["top"][: 25 if who == PRC else 10]:
                p(f"    {t['ir']:>8,.0f}  {t['function'][:56]:56} {t['object'][:28]}\n")
        p("\n")

    perf_titles = {"get": "GET loop", "pipe10k": "10,000-GET pipeline loop"}
    for op, by_client in results.perf.items():
        p(
            f"CPU PROFILE, {perf_titles[op]} (perf record -e cpu-clock on the client process, "
            "kernel included)\n"
        )
        for who, prof in by_client.items():
            p(
                f"  {who} by object: "
                + ", ".join(f"{name} {pct:.1f}%" for pct, name in prof["dso"])
                + "\n"
            )
        prc_prof = by_client.get(PRC)
        if prc_prof:
            p(f"  {PRC} top symbols:\n")
            for pct, name in prc_prof["sym"]:
                p(f"    {pct:5.2f}%  {name[:90]}\n")
        p("\n")

    p("TARGETS: pyredisclient's ratio of medians (per-round ratios min-max)\n")
    p(
        f"  {'workload':28} {'mode':9} {'vs redis-py':>24} {'need':>6} {'':4} "
        f"{'vs redis-benchmark':>24} {'need':>6}\n"
    )
    for wname, need_rpy, need_rb in TARGETS:
        w = WORKLOAD_BY_NAME[wname]
        for mode in modes:
            prc_v = results.median(mode, wname, PRC)
            rpy_v = results.median(mode, wname, RPY)
            rb_v = results.median(mode, wname, RB)
            r1 = prc_v / rpy_v if prc_v and rpy_v else None
            r2 = prc_v / rb_v if prc_v and rb_v else None
            ok1 = "-" if r1 is None else ("met" if r1 >= need_rpy else "MISS")
            ok2 = "-" if r2 is None else ("met" if r2 >= need_rb else "MISS")
            c1 = f"{fmt_ratio(prc_v, rpy_v)} {_fmt_ratio_range(_round_ratios(results, mode, wname, RPY))}"
            c2 = f"{fmt_ratio(prc_v, rb_v)} {_fmt_ratio_range(_round_ratios(results, mode, wname, RB))}"
            p(
                f"  {w.title:28} {mode:9} {c1:>24} {need_rpy:>5.2f}x {ok1:4} "
                f"{c2:>24} {need_rb:>5.2f}x {ok2}\n"
            )
    cg = results.callgrind.get("get", {})
    prc = cg.get(PRC, {}).get("per_cmd")
    rpy_ir = cg.get(RPY, {}).get("per_cmd")
    if prc and rpy_ir:
        ok = "met" if prc / rpy_ir <= CALLGRIND_TARGET else "MISS"
        p(
            f"  {'instructions per GET':28} {'any':9} {f'{prc / rpy_ir:.3f}x':>24} "
            f"<={CALLGRIND_TARGET:.2f}x {ok}\n"
        )
    p("\n")

    if results.rb_commands:
        p("redis-benchmark commands (request counts of this run):\n")
        for wname, cmd in results.rb_commands.items():
            p(f"  {wname:9} {cmd}\n")
        p("\n")

    if results.failure_output:
        p("FAILURE FIGURES (benchmarks/failure_bench.py)\n")
        p(results.failure_output.rstrip() + "\n\n")
    return out.getvalue()


# ---------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="short run (~2 minutes)")
    ap.add_argument("--rounds", type=int, help="rounds per mode (default 7; --quick: 3)")
    ap.add_argument("--duration", type=float, help="seconds per measurement")
    ap.add_argument("--modes", default="pinned,unpinned", help="pinned,unpinned")
    ap.add_argument(
        "--workloads", help="comma-separated subset of: " + ",".join(w.name for w in WORKLOADS)
    )
    ap.add_argument("--skip-callgrind", action="store_true")
    ap.add_argument("--skip-strace", action="store_true")
    ap.add_argument("--skip-perf", action="store_true", help="no perf profile")
    ap.add_argument("--skip-failure", action="store_true", help="no failure_bench.py")
    ap.add_argument(
        "--callgrind-ops",
        help="what callgrind counts: get,set,mget100,pipe10k (default: all; --quick: get)",
    )
    ap.add_argument("--callgrind-n", type=int, help="GETs of the N run (2N run too)")
    ap.add_argument("--json", help="also write the raw measurements here")
    ap.add_argument("--keep-profiles", help="keep callgrind.out and perf.data files here")
    ap.add_argument(
        "--baseline",
        help="a checkout with a built pyredisclient (e.g. main's) to measure as one more "
        "contender, 'baseline'",
    )
    # Internal: worker processes.
    ap.add_argument("--worker", choices=(*PY_CLIENTS, BASE), help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--count-gets", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--count-op", default="get", choices=CALLGRIND_OPS, help=argparse.SUPPRESS)
    ap.add_argument("--warmup", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--cg-helper", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.rounds is None:
        args.rounds = 3 if args.quick else 7
    if args.duration is None:
        args.duration = 0.1 if args.quick else 0.7
    if args.callgrind_n is None:
        args.callgrind_n = 300 if args.quick else 1000
    if args.callgrind_ops is None:
        args.callgrind_ops = "get" if args.quick else ",".join(CALLGRIND_OPS)
    if any(op not in CALLGRIND_OPS for op in args.callgrind_ops.split(",")):
        ap.error(f"--callgrind-ops takes {','.join(CALLGRIND_OPS)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    global PY_CLIENTS, CONTENDERS
    args = parse_args(argv)
    if args.worker == BASE:
        sys.path.insert(0, os.environ[BASE_ENV])  # before the run's own snapshot
    if args.worker:
        if args.count_gets is not None:
            return count_main(
                args.worker, args.port, args.count_op, args.count_gets, args.warmup, args.cg_helper
            )
        return worker_main(args.worker, args.port)

    for tool in ("redis-server", "redis-benchmark", "taskset"):
        if shutil.which(tool) is None:
            print(f"bench: {tool} not found (bash scripts/setup.sh installs it)", file=sys.stderr)
            return 2
    modes = [m for m in args.modes.split(",") if m]
    if any(m not in ("pinned", "unpinned") for m in modes):
        print("bench: --modes takes pinned and/or unpinned", file=sys.stderr)
        return 2
    workloads = list(WORKLOADS)
    if args.workloads:
        names = args.workloads.split(",")
        workloads = [WORKLOAD_BY_NAME[n] for n in names]
        if any(n.endswith("tx") for n in names):  # the rb substitute must run too
            for n in names:
                base = RB_SUBSTITUTE.get(n)
                if base and WORKLOAD_BY_NAME[base] not in workloads:
                    workloads.append(WORKLOAD_BY_NAME[base])

    t_start = time.monotonic()
    results = Results()
    snapshot_dir = tempfile.TemporaryDirectory(prefix="bench-pkg-")
    try:
        results.info["extension"] = snapshot_package(Path(snapshot_dir.name))
    except RuntimeError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    results.info["revision"] = git_revision(Path(results.info["extension"]["source"]).parent)
    base_dir = tempfile.TemporaryDirectory(prefix="bench-base-")
    if args.baseline:
        try:
            base = snapshot_package(Path(base_dir.name), Path(args.baseline) / "pyredisclient")
        except (RuntimeError, OSError) as exc:
            print(f"bench: baseline: {exc}", file=sys.stderr)
            return 2
        base["revision"] = git_revision(Path(args.baseline))
        results.info["baseline"] = base
        os.environ[BASE_ENV] = base_dir.name
        PY_CLIENTS = (PRC, BASE, RPY)
        CONTENDERS = (PRC, BASE, RPY, RB)
    # This process and every child (workers, strace, callgrind, perf, the failure
    # benchmark) import the snapshot.
    sys.path.insert(0, snapshot_dir.name)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (snapshot_dir.name, os.environ.get("PYTHONPATH", "")) if p
    )
    from pyredisclient.testing import RedisServer

    results.info.update(
        date=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        host=platform.node(),
        load_start=" ".join(f"{x:.2f}" for x in os.getloadavg()),
        command="python benchmarks/bench.py " + " ".join(sys.argv[1:] if argv is None else argv),
        server_version=subprocess.run(
            ["redis-server", "--version"], capture_output=True, text=True, check=False
        )
        .stdout.split(" v=")[-1]
        .split()[0],
    )
    with RedisServer() as server, tempfile.TemporaryDirectory(prefix="bench-") as tmpdir:
        port = server.port
        pid = server.pid
        assert pid is not None
        log(f"redis-server pid {pid} on 127.0.0.1:{port}")
        preload(port)
        log("calibrating redis-benchmark request counts")
        rb_counts = calibrate_rb(port, args.duration)
        run_rounds(results, port, pid, modes, args.rounds, args.duration, rb_counts, workloads)
        if not args.skip_strace and shutil.which("strace"):
            log("counting system calls (strace)")
            measure_syscalls(results, port, 2000 if args.quick else 5000)
            measure_syscalls(results, port, 200 if args.quick else 500, "mget100")
            measure_syscalls(results, port, 5 if args.quick else 10, "pipe10k")
        elif not args.skip_strace:
            log("strace not found: skipping system call counts")
        prof_dir = Path(args.keep_profiles) if args.keep_profiles else Path(tmpdir)
        prof_dir.mkdir(parents=True, exist_ok=True)
        if not args.skip_callgrind and shutil.which("valgrind"):
            log("counting instructions (callgrind)")
            for op in args.callgrind_ops.split(","):
                if op in ("get", "set"):
                    measure_callgrind(results, port, op, args.callgrind_n, 200, prof_dir)
                elif op == "mget100":
                    n = max(50, args.callgrind_n // 5)
                    measure_callgrind(results, port, op, n, 50, prof_dir)
                else:
                    # No warm-up: the 2-pipeline run minus the 1-pipeline run is a warm one.
                    measure_callgrind(results, port, op, 1, 0, prof_dir)
        elif not args.skip_callgrind:
            log("valgrind not found: skipping instruction counts")
        if not args.skip_perf and shutil.which("perf"):
            log("profiling the GET loops (perf)")
            measure_perf(results, port, args.quick, prof_dir)
    if not args.skip_failure:
        results.failure_output = run_failure_bench(args.quick)
    results.info["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results.info["wall_seconds"] = round(time.monotonic() - t_start, 1)

    text = report(results, modes, args)
    text += f"total time: {results.info['wall_seconds']} s\n"
    sys.stdout.write(text)
    if args.json:
        raw = {
            "info": results.info,
            "args": vars(args),
            "runs": {"|".join(k): v for k, v in results.runs.items()},
            "strace": results.strace,
            "strace_ops": results.strace_ops,
            "callgrind": results.callgrind,
            "perf": results.perf,
            "rb_commands": results.rb_commands,
        }
        Path(args.json).write_text(json.dumps(raw, indent=1, default=str))
    snapshot_dir.cleanup()
    base_dir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
