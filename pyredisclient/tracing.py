"""Compatibility module: the former name of :mod:`pyredisclient.observability.tracing`.

``import pyredisclient.tracing`` gives that very module (the same object), so imports,
attribute patches and pickles that use the old name keep working.
"""

import sys

from .observability import tracing as _module
from .observability.tracing import *  # noqa: F403 - the public names, for type checkers

sys.modules[__name__] = _module
