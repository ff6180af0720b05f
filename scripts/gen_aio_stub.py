"""Former name of scripts/gen_stubs.py, kept so existing commands still work.

    python scripts/gen_aio_stub.py [--check]   # same as scripts/gen_stubs.py

It regenerates (or checks) every stub: pyredisclient/client/aio.pyi and pipeline.pyi.
"""

import runpy
from pathlib import Path

if __name__ == "__main__":
    runpy.run_path(str(Path(__file__).with_name("gen_stubs.py")), run_name="__main__")
