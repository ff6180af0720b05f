"""Compatibility module: the former name of :mod:`pyredisclient.client.pipeline`.

``import pyredisclient.pipeline`` gives that very module (the same object), so imports,
attribute patches and pickles that use the old name keep working.
"""

import sys

from .client import pipeline as _module
from .client.pipeline import *  # noqa: F403 - the public names, for type checkers

sys.modules[__name__] = _module
