"""Compatibility module: the former name of :mod:`pyredisclient.commands.keyprefix`.

``import pyredisclient.keyprefix`` gives that very module (the same object), so imports,
attribute patches and pickles that use the old name keep working.
"""

import sys

from .commands import keyprefix as _module
from .commands.keyprefix import *  # noqa: F403 - the public names, for type checkers

sys.modules[__name__] = _module
