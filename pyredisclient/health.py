"""Compatibility module: the former name of :mod:`pyredisclient.resilience.health`.

``import pyredisclient.health`` gives that very module (the same object), so imports,
attribute patches and pickles that use the old name keep working.
"""

import sys

from .resilience import health as _module
from .resilience.health import *  # noqa: F403 - the public names, for type checkers

sys.modules[__name__] = _module
