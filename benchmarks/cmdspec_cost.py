"""Instructions per command-table lookup and per key extraction (callgrind).

Builds a small driver with csrc/core/cmdspec.c at -O2 (the extension's flags) and runs
it under ``valgrind --tool=callgrind --toggle-collect=<function>``, so only the
instructions inside ``prc_cmd_lookup`` (or ``prc_cmd_keys``) are counted; the count
divided by the number of calls is the cost of one call. Usage::

    python benchmarks/cmdspec_cost.py [--calls N]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "prc.h"

int
main(int argc, char **argv)
{
    int calls = atoi(argv[1]), n = argc - 3, i, sum = 0;
    const char **args = (const char **)argv + 3;
    size_t lens[64];
    prc_cmd_key_t keys[64];

    for (i = 0; i < n; i++) {
        lens[i] = strlen(args[i]);
    }
    for (i = 0; i < calls; i++) {
        const prc_cmd_t *c = prc_cmd_lookup(n, args, lens);
        if (strcmp(argv[2], "keys") == 0) {
            sum += prc_cmd_keys(c, n, args, lens, 0, keys, 64, NULL);
        } else {
            sum += c != NULL;
        }
    }
    printf("%d\n", sum);
    return 0;
}
"""

FORMS = (
    ("GET", "k"),
    ("MSET", "a", "1", "b", "2", "c", "3"),
    ("CLIENT", "KILL", "ID", "5"),
    ("EVAL", "return 1", "2", "a", "b"),
    ("XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0"),
)


def cost(binary: Path, tmp: Path, calls: int, what: str, form: tuple[str, ...]) -> float:
    fn = "prc_cmd_keys" if what == "keys" else "prc_cmd_lookup"
    out = tmp / "cg.out"
    subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            f"--toggle-collect={fn}",
            str(binary),
            str(calls),
            what,
            *form,
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    text = out.read_text()
    m = re.search(r"^summary:\s+(\d+)", text, re.M) or re.search(r"^totals:\s+(\d+)", text, re.M)
    assert m, "no callgrind summary"
    return int(m.group(1)) / calls


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--calls", type=int, default=10000)
    opts = ap.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind not found", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        (tmp / "driver.c").write_text(DRIVER)
        binary = tmp / "driver"
        subprocess.run(
            [
                "cc",
                "-std=c11",
                "-D_GNU_SOURCE",
                "-O2",
                f"-I{ROOT / 'csrc' / 'core'}",
                "-o",
                str(binary),
                str(tmp / "driver.c"),
                str(ROOT / "csrc" / "core" / "cmdspec.c"),
            ],
            check=True,
            timeout=120,
        )
        print(f"{'command':40} {'lookup':>8} {'keys':>8}   (instructions per call)")
        for form in FORMS:
            lookup = cost(binary, tmp, opts.calls, "lookup", form)
            keys = cost(binary, tmp, opts.calls, "keys", form)
            print(f"{' '.join(form):40} {lookup:8.1f} {keys:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
