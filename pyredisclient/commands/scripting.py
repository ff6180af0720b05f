"""Lua scripting commands: EVAL, EVALSHA and their _RO forms, SCRIPT LOAD/EXISTS/
FLUSH/KILL, and register_script's Script (EVALSHA falling back to EVAL)."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

import hashlib
import inspect
from typing import Any, Generator, Iterable, List, Sequence

from .._steps import Steps, run_any
from ..exceptions import DataError, NoScriptError
from .base import CommandsBase
from .callbacks import as_text, bools, is_ok
from .types import EncodableT, KeyT

ScriptTextT = EncodableT


class _Queued:
    """An awaitable that gives the asyncio pipeline a script was queued on."""

    __slots__ = ("pipeline",)

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline

    def __await__(self) -> Generator[Any, None, Any]:
        return self.pipeline
        yield  # pragma: no cover - makes this a generator that returns at once


def _encoding_of(client: Any) -> str:
    """The encoding a client (or a pipeline's client) sends str arguments in."""
    config = getattr(client, "config", None) or client._client.config
    return str(config.encoding)


class Script:
    """A Lua script run by its SHA1, as redis-py's ``register_script`` returns.

    Running it sends ``EVALSHA``; when the server does not have the script cached
    (``NoScriptError``: a restarted or flushed server, or another server) it sends
    ``EVAL``, which runs the script and caches it, so the source crosses the network
    once per server, not per call. The SHA1 is computed here: no ``SCRIPT LOAD``
    round trip. Calling it returns the reply; on the asyncio client, an awaitable.
    On a pipeline (``client=pipe``, or a script registered on the pipeline) the
    ``EVALSHA`` is queued and the pipeline loads its scripts before sending.

    The library's own scripts (``pyredisclient.patterns``) are the same class,
    registered on no client and with ``keys_only=True``: they touch only the KEYS
    they are given, which a prefixed client prefixes, so they run on a prefixed
    client that refuses other scripts. :meth:`steps` runs one inside other steps.
    """

    def __init__(
        self, registered_client: Any, script: ScriptTextT, *, keys_only: bool = False
    ) -> None:
        self.registered_client = registered_client
        self.script = script
        self.keys_only = keys_only
        if isinstance(script, str):
            encoding = "utf-8" if registered_client is None else _encoding_of(registered_client)
            data = script.encode(encoding)
        elif isinstance(script, (bytes, bytearray, memoryview)):
            data = bytes(script)
        else:
            raise DataError("a script must be str or bytes")
        self.sha = hashlib.sha1(data).hexdigest()

    def steps(self, client: Any, keys: Sequence[Any], args: Sequence[Any]) -> Steps[Any]:
        """Run on *client* (blocking or asyncio) as steps (pyredisclient._steps)."""
        if self.keys_only:
            client = client._scripts_view()
        numkeys = len(keys)
        try:
            return (yield client.evalsha(self.sha, numkeys, *keys, *args))
        except NoScriptError:
            return (yield client.eval(self.script, numkeys, *keys, *args))

    def __call__(
        self,
        keys: Sequence[KeyT] | None = None,
        args: Iterable[EncodableT] | None = None,
        client: Any = None,
    ) -> Any:
        """Run the script with ``keys`` and ``args``, on ``client`` if given."""
        keys = tuple(keys or ())
        args = tuple(args or ())
        if client is None:
            client = self.registered_client
            if client is None:
                raise TypeError("this script is registered on no client: pass client=")
        scripts = getattr(client, "_scripts", None)
        if scripts is not None:  # a pipeline: it loads its scripts before sending
            scripts.add(self)
            queued = client.evalsha(self.sha, len(keys), *keys, *args)
            if inspect.iscoroutinefunction(type(client).execute):
                # redis.asyncio's script is a coroutine: ``await script(client=pipe)``
                # gives the pipeline. Queued already, so not awaiting it is fine too.
                return _Queued(queued)
            return queued
        return run_any(self.steps(client, keys, args))

    def __repr__(self) -> str:
        return f"<Script sha={self.sha}>"


class ScriptingCommands(CommandsBase):
    __slots__ = ()

    def eval(self, script: str, numkeys: int, *keys_and_args: EncodableT) -> Any:
        """Run Lua ``script`` with ``numkeys`` keys followed by arguments."""
        return self._run(("EVAL", script, numkeys, *keys_and_args))

    def eval_ro(self, script: str, numkeys: int, *keys_and_args: EncodableT) -> Any:
        """The read-only EVAL (Redis 7): the script may not write."""
        return self._run(("EVAL_RO", script, numkeys, *keys_and_args))

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: EncodableT) -> Any:
        """Run the cached script ``sha`` (NoScriptError if it is not cached)."""
        return self._run(("EVALSHA", sha, numkeys, *keys_and_args))

    def evalsha_ro(self, sha: str, numkeys: int, *keys_and_args: EncodableT) -> Any:
        """The read-only EVALSHA (Redis 7)."""
        return self._run(("EVALSHA_RO", sha, numkeys, *keys_and_args))

    def script_load(self, script: ScriptTextT) -> str:
        """Cache Lua ``script`` and return its SHA1 as a str."""
        return self._run(("SCRIPT", "LOAD", script), as_text)

    def script_exists(self, *args: str) -> List[bool]:
        """Return, for each SHA1 given, whether that script is cached."""
        return self._run(("SCRIPT", "EXISTS", *args), bools)

    def script_flush(self, sync_type: str | None = None) -> bool:
        """Empty the script cache (``sync_type`` "SYNC" or "ASYNC")."""
        if sync_type is None:
            return self._run(("SCRIPT", "FLUSH"), is_ok)
        if sync_type not in ("SYNC", "ASYNC"):
            raise DataError("SCRIPT FLUSH accepts sync_type SYNC, ASYNC or None.")
        return self._run(("SCRIPT", "FLUSH", sync_type), is_ok)

    def script_kill(self) -> bool:
        """Kill the script running now (it must not have written yet)."""
        return self._run(("SCRIPT", "KILL"), is_ok)

    def script_debug(self, *args: Any) -> Any:
        """Refused (DataError, before anything is sent): the Lua debugger takes over
        its connection. Use ``redis-cli --ldb``. (redis-py raises NotImplementedError.)"""
        return self._run(("SCRIPT", "DEBUG", *args))
