"""Compatibility module: the former name of :mod:`pyredisclient.integrations.fastapi`.

``import pyredisclient.fastapi`` gives that very module (the same object), so imports,
attribute patches and pickles that use the old name keep working.
"""

import sys

from .integrations import fastapi as _module
from .integrations.fastapi import *  # noqa: F403 - the public names, for type checkers

sys.modules[__name__] = _module
