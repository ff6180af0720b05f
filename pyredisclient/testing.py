"""Compatibility module: the former name of :mod:`pyredisclient.integrations.testing`.

``import pyredisclient.testing`` gives that very module (the same object), so imports,
attribute patches and pickles that use the old name keep working.
"""

import sys

from .integrations import testing as _module
from .integrations.testing import *  # noqa: F403 - the public names, for type checkers

sys.modules[__name__] = _module
