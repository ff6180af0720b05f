"""Compatibility module: the former name of :mod:`pyredisclient.client.aio`.

``import pyredisclient.aio`` gives that very module (the same object), so imports,
attribute patches and pickles that use the old name keep working.
"""

import sys

from .client import aio as _module
from .client.aio import *  # noqa: F403 - the public names, for type checkers

sys.modules[__name__] = _module
