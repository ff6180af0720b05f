"""redis-py compatible command methods, written once for every client and pipeline.

The commands come in families, one mixin per module (server, pubsub, strings, keys,
hashes, lists, scan, sets, sorted_sets, hyperloglog, geo, streams, scripting,
sentinel, ...), over one
base (``base.py``) and one module of reply callbacks (``callbacks.py``);
:class:`CoreCommands` gathers them.
RedisClient, AsyncRedisClient, Pipeline and AsyncPipeline all inherit it.

Every method builds the full argument tuple of one command and hands it,
with an optional reply callback, to the host's single hook::

    def _run(self, args: tuple, callback: Callable[[Any], Any] | None = None) -> Any

RedisClient runs the command at once and returns ``callback(reply)``;
AsyncRedisClient returns a coroutine that does; a Pipeline queues ``(args,
callback)`` and returns itself.  That is why a method never touches what
``_run`` returns: every conversion of a reply lives in a callback, so a
pipeline's results get exactly the conversions the direct call gets.

Adding a command: a method in its family's module (a new family: a new module
with a mixin, added to CoreCommands below) that returns ``self._run(...)`` on
every path, its reply conversion in ``callbacks.py``; then regenerate the stubs
(``python scripts/gen_stubs.py``), which give it the right return type on the
asyncio client and the pipelines.

Replies arrive as hiredis builds them: ``bytes`` (``str`` with
``decode_responses=True``) for bulk and status replies, ``int``, ``None``
and lists.  Callbacks therefore accept both ``bytes`` and ``str``.

Return values follow redis-py (5 to 8, RESP2 shapes): ``set`` gives
True/None, ``expire`` a bool, ``hgetall`` a dict, ``smembers`` a set,
``zrange(withscores=True)`` a list of ``(member, float)`` tuples, ``info``
and ``config_get`` dicts, and so on.  Arguments are passed through
unconverted; the C layer encodes them and raises DataError (a TypeError)
for types Redis cannot take, such as None or bool.
"""

from __future__ import annotations

from .acl import ACLCommands
from .diagnostics import DiagnosticsCommands
from .functions import FunctionCommands
from .geo import GeoCommands
from .hashes import HashCommands
from .hyperloglog import HyperlogCommands
from .jsonvalues import JsonCommands
from .keys import KeyCommands
from .lists import ListCommands
from .pubsub import PubSubCommands
from .scan import ScanCommands
from .scripting import ScriptingCommands
from .sentinel import SentinelCommands
from .server import ServerCommands
from .sets import SetCommands
from .sorted_sets import SortedSetCommands
from .streams import StreamCommands
from .strings import StringCommands
from .types import AbsExpiryT, EncodableT, ExpiryT, KeysT, KeyT, PatternT, ScoreCastT

__all__ = [
    "AbsExpiryT",
    "CoreCommands",
    "EncodableT",
    "ExpiryT",
    "KeyT",
    "KeysT",
    "PatternT",
    "ScoreCastT",
]


class CoreCommands(
    ServerCommands,
    PubSubCommands,
    StringCommands,
    KeyCommands,
    HashCommands,
    ListCommands,
    ScanCommands,
    SetCommands,
    SortedSetCommands,
    HyperlogCommands,
    GeoCommands,
    StreamCommands,
    ScriptingCommands,
    FunctionCommands,
    DiagnosticsCommands,
    ACLCommands,
    JsonCommands,
    SentinelCommands,
):
    """Redis commands with redis-py's names, parameters and return values.

    A host class supplies ``_run(args, callback=None)``; see the module
    docstring.  A new family is a mixin of its own module, added here.
    """

    __slots__ = ()
