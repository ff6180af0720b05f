"""CommandsBase: the one hook every command method calls, and execute_command."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Tuple

from .types import Callback


class CommandsBase:
    """The base of every command family: the hook and ``execute_command``.

    A host class supplies ``_run(args, callback=None)``; see
    :mod:`pyredisclient.commands`.  Methods only build arguments: they never
    post-process the value ``_run`` returns, so they work unchanged on a
    pipeline and on the asyncio client.
    """

    __slots__ = ()

    if TYPE_CHECKING:

        def _run(self, args: Tuple[Any, ...], callback: Callback | None = None) -> Any: ...

    def execute_command(self, *args: Any, **options: Any) -> Any:
        """Send any command given as separate arguments and return its raw reply.

        Options accepted by redis-py (such as ``keys=``) are ignored.
        """
        return self._run(args)
