"""Compatibility module: the former name of :mod:`pyredisclient.integrations.pytest_plugin`.

``import pyredisclient.pytest_plugin`` gives that very module (the same object), so imports,
attribute patches and pickles that use the old name keep working. The ``pytest11``
entry point names this module.
"""

import sys

from .integrations import pytest_plugin as _module
from .integrations.pytest_plugin import *  # noqa: F403 - the public names, for type checkers

sys.modules[__name__] = _module
