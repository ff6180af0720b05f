"""A Lua script run by its SHA1, sent whole only when the server does not know it."""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

from .._steps import Steps
from ..exceptions import NoScriptError


class Script:
    """A Lua script: EVALSHA first; on NOSCRIPT (a restarted or flushed server) EVAL,
    which also caches it on the server, so the source crosses the network once per
    server, not per call. The SHA1 is computed here: no SCRIPT LOAD round trip.
    """

    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    def steps(self, client: Any, keys: Sequence[Any], args: Sequence[Any]) -> Steps[Any]:
        """Run on *client* (any client; a prefixed one prefixes *keys*) as steps.

        A prefixed client that refuses scripts still runs this one: it names only
        *keys*, which the prefix confines.
        """
        client = client._scripts_view()
        try:
            return (yield client.evalsha(self.sha, len(keys), *keys, *args))
        except NoScriptError:
            return (yield client.eval(self.source, len(keys), *keys, *args))
