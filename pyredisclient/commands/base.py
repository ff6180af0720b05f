"""CommandsBase: the one hook every command method calls, and execute_command."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Tuple, TypeVar

from .._core import NeverDecode
from .types import Callback

__all__ = ["CommandsBase", "NeverDecode", "host_bound"]


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

        ``NEVER_DECODE=...`` (redis-py's option, whatever its value) keeps the
        reply's strings as bytes on a client with ``decode_responses=True``. Other
        options accepted by redis-py (such as ``keys=``) are ignored.
        """
        if "NEVER_DECODE" in options:
            return self._run(NeverDecode(args))
        return self._run(args)


_F = TypeVar("_F", bound=Callable[..., Any])


def host_bound(func: _F) -> _F:
    """Mark a command method that returns a helper bound to its host (``bitfield``'s
    BitFieldOperation) instead of ``self._run(...)``: the helper's own calls go
    through the host's hook. The stub generator restates it as written on every
    host (scripts/gen_stubs.py)."""
    func.__host_bound__ = True  # type: ignore[attr-defined]
    return func
