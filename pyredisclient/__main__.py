"""``python -m pyredisclient``: the command line (pyredisclient.integrations.cli)."""

import sys

from .integrations.cli import main

if __name__ == "__main__":
    sys.exit(main())
