"""Check that the C core's files call each other without cycles.

Each file of csrc/core/ is compiled on its own (or taken from --objects), and
``nm`` says which ``prc_``/``prc__`` functions and data it defines and which it
uses. A file that uses a symbol another file defines depends on that file. The
dependencies must form no cycle: a lower layer never calls up (a connection
never calls its pool), so each file can be read, tested and reused with only
the files below it. The core must not use the binding's symbols (``pyrc_``) or
Python's (``Py``/``_Py``) either.

On success it prints the layers, lowest first (a file depends only on files of
lower layers); on a cycle it prints the files of each cycle with the symbols
that close it, and exits 1.

Usage::

    python scripts/check_layers.py                  # compile csrc/core/*.c itself
    python scripts/check_layers.py --objects DIR    # use DIR/*.o (tests/c/build/core)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Set, Tuple

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "csrc" / "core"
OURS = ("prc_", "prc__", "PRC_")
FORBIDDEN = ("pyrc_", "Py", "_Py")


def pkg_cflags() -> List[str]:
    try:
        out = subprocess.run(
            ["pkg-config", "--cflags", "hiredis", "openssl"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return out.split()


def compile_core(out_dir: Path) -> List[Path]:
    cc = os.environ.get("CC", "cc")
    flags = ["-std=c11", "-D_GNU_SOURCE", "-O0", "-c", f"-I{CORE}", *pkg_cflags()]
    objects = []
    for src in sorted(CORE.glob("*.c")):
        obj = out_dir / (src.stem + ".o")
        subprocess.run([cc, *flags, "-o", str(obj), str(src)], check=True)
        objects.append(obj)
    return objects


def symbols(obj: Path) -> Tuple[Set[str], Set[str]]:
    """(defined global symbols, undefined symbols) of one object file."""
    out = subprocess.run(["nm", "-P", str(obj)], check=True, capture_output=True, text=True).stdout
    defined: Set[str] = set()
    used: Set[str] = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        name, kind = parts[0], parts[1]
        if kind == "U":
            used.add(name)
        elif kind.isupper():  # a global definition (T, D, B, R, C ...)
            defined.add(name)
    return defined, used


def strongly_connected(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Tarjan's algorithm: the components of more than one node, or with a loop."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    out: List[List[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph[v]:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def layers(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Files by level: level 0 uses no other file; level n only lower ones."""
    level: Dict[str, int] = {}

    def depth(v: str) -> int:
        if v not in level:
            level[v] = 0  # no cycle here: checked before
            level[v] = 1 + max((depth(w) for w in graph[v]), default=-1)
        return level[v]

    for v in graph:
        depth(v)
    out: List[List[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for v, n in level.items():
        out[n].append(v)
    return [sorted(x) for x in out]


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--objects", help="a directory of the core's object files")
    opts = parser.parse_args(argv)
    if shutil.which("nm") is None:
        sys.stderr.write("check_layers: nm not found (apt-get install binutils)\n")
        return 2
    with tempfile.TemporaryDirectory(prefix="check_layers-") as tmp:
        if opts.objects:
            objects = sorted(Path(opts.objects).glob("*.o"))
        else:
            objects = compile_core(Path(tmp))
        if not objects:
            sys.stderr.write("check_layers: no object files\n")
            return 2
        table = {obj.stem: symbols(obj) for obj in objects}
    owner: Dict[str, str] = {}
    for name, (defined, _) in table.items():
        for sym in defined:
            owner[sym] = name
    graph: Dict[str, Set[str]] = {name: set() for name in table}
    why: Dict[Tuple[str, str], Set[str]] = {}
    bad: List[str] = []
    for name, (_, used) in table.items():
        for sym in used:
            if sym.startswith(FORBIDDEN):
                bad.append(f"{name}.c uses {sym}: the core never calls the binding or Python")
            target = owner.get(sym)
            if target is not None and target != name and sym.startswith(OURS):
                graph[name].add(target)
                why.setdefault((name, target), set()).add(sym)
    cycles = strongly_connected(graph)
    for comp in cycles:
        bad.append("call cycle among " + ", ".join(f"{c}.c" for c in comp) + ":")
        for a in comp:
            for b in sorted(graph[a] & set(comp)):
                bad.append(f"    {a}.c -> {b}.c ({', '.join(sorted(why[(a, b)]))})")
    if bad:
        sys.stderr.write("\n".join(bad) + "\n")
        sys.stderr.write("check_layers: a lower layer must not call up: pass it down instead\n")
        return 1
    for n, files in enumerate(layers(graph)):
        parts = []
        for f in files:
            deps = sorted(graph[f])
            parts.append(f"{f}.c" + (f" (-> {', '.join(deps)})" if deps else ""))
        print(f"layer {n}: " + "; ".join(parts))
    print(f"check_layers: {len(graph)} core files, no call cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
