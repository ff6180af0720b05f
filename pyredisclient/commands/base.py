"""CommandsBase: the one hook every command method calls, and execute_command."""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Set, Tuple, TypeVar

from .._core import CommandMethod, NeverDecode
from ..exceptions import DataError
from .types import Callback

__all__ = [
    "CallbackSlot",
    "CommandsBase",
    "NeverDecode",
    "ResponseCallbacks",
    "host_bound",
    "plain_command",
    "upper_name",
    "with_response_callbacks",
]


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
Run = Callable[..., Any]


def upper_name(value: Any) -> str:
    """A command or subcommand name as upper-case text (bytes read as latin-1): how
    the command table, the retry rules, cluster routing and ``set_response_callback``
    key a command."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("latin-1").upper()
    return str(value).upper()


class ResponseCallbacks(Dict[str, Callable[..., Any]]):
    """``set_response_callback``'s table, which is also a client's
    ``response_callbacks`` (redis-py's dict: ``r.response_callbacks["GET"] = f``,
    ``.pop(...)``, or a whole new mapping assigned): upper-case command name
    (``"GET"``, or ``"CONFIG GET"`` for a subcommand) -> callable. Every way in puts
    the name in upper case and refuses what is not callable. ``containers`` holds the
    commands named with a subcommand, so that a call looks for the two-word name only
    for those (a GET's key is never upper-cased to look up ``"GET K"``).
    ``on_set`` is called before each entry goes in: the client installs its hook the
    first time, so a table only read costs its client nothing."""

    __slots__ = ("_on_set", "containers")  # read at every call: no instance dict

    def __init__(self, on_set: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.containers: Set[str] = set()
        self._on_set = on_set

    def __setitem__(self, name: Any, callback: Callable[..., Any]) -> None:
        if not callable(callback):
            raise DataError(f"a response callback must be callable, not {type(callback).__name__}")
        name = upper_name(name)
        if self._on_set is not None:
            self._on_set()
        head, _, sub = name.partition(" ")
        if sub:
            self.containers.add(head)
        super().__setitem__(name, callback)

    def __getitem__(self, name: Any) -> Callable[..., Any]:
        return super().__getitem__(upper_name(name))

    def __delitem__(self, name: Any) -> None:
        super().__delitem__(upper_name(name))

    def __contains__(self, name: object) -> bool:
        return super().__contains__(upper_name(name))

    def get(self, name: Any, default: Any = None) -> Any:
        return super().get(upper_name(name), default)

    def pop(self, name: Any, *default: Any) -> Any:
        return super().pop(upper_name(name), *default)

    def setdefault(self, name: Any, default: Any = None) -> Any:
        if name not in self:
            self[name] = default
        return self[name]

    def update(self, *args: Any, **kwargs: Any) -> None:
        for name, callback in dict(*args, **kwargs).items():
            self[name] = callback

    def __ior__(self, other: Any) -> ResponseCallbacks:  # type: ignore[override,misc]
        self.update(other)
        return self


class CallbackSlot:
    """A client's current :class:`ResponseCallbacks` table. The hooks of the client,
    its views and its pipelines read it at each call, so that a table assigned
    whole (redis-py's ``r.response_callbacks = saved``) takes over everywhere, and a
    table put aside keeps its entries."""

    __slots__ = ("table",)

    def __init__(self, table: ResponseCallbacks) -> None:
        self.table = table

    def __bool__(self) -> bool:
        return bool(self.table)


def with_response_callbacks(run: Run, slot: CallbackSlot) -> Run:
    """A host's ``_run`` hook that replies with ``callbacks[name](reply)`` instead of
    the command method's own conversion, for the commands ``callbacks`` names (the
    two-word name of a subcommand wins over its command's): redis-py's
    ``set_response_callback``. The table is read at each call, so later changes
    count. Installed only on a client (or pipeline) that set one: the others keep
    their hook, with no Python frame; this one costs a call through Python (130 ns
    a command on this VM; 400 ns when the command has a subcommand entry:
    benchmarks/README.md, "set_response_callback's hook")."""

    get = dict.get  # the table's keys are upper-case already: no upper_name again

    def hook(args: Tuple[Any, ...], callback: Any = None) -> Any:
        if not args:  # the core refuses it, with the DataError every path gives
            return run(args, callback)
        callbacks = slot.table
        head = args[0]
        head = head.upper() if type(head) is str else upper_name(head)
        found = get(callbacks, head)
        containers = callbacks.containers
        if containers and head in containers and len(args) > 1:
            found = get(callbacks, f"{head} {upper_name(args[1])}", found)
        return run(args, callback if found is None else found)

    return hook


def host_bound(func: _F) -> _F:
    """Mark a command method that returns a helper bound to its host (``bitfield``'s
    BitFieldOperation) instead of ``self._run(...)``: the helper's own calls go
    through the host's hook. The stub generator restates it as written on every
    host (scripts/gen_stubs.py)."""
    func.__host_bound__ = True  # type: ignore[attr-defined]
    return func


class _Recorder:
    """The host plain_command runs a method's body on: keeps what _run got."""

    __slots__ = ("args", "callback")

    def _run(self, args: Any, callback: Any = None) -> None:
        self.args = args
        self.callback = callback


def _learn(
    func: Callable[..., Any], marks: List[object]
) -> Tuple[Tuple[Any, ...], Tuple[int, ...]]:
    """Run a method's body on a _Recorder with a mark per parameter: the constants
    of the tuple it passes to _run (None at a parameter), and where each parameter
    goes (its index, or -1 at a constant)."""
    host = _Recorder()
    try:
        func(host, *marks)
    except Exception as exc:
        raise TypeError(f"plain_command: {func.__qualname__} does more than pass") from exc
    args = getattr(host, "args", None)
    if type(args) is not tuple or not args or host.callback is not None:
        raise TypeError(f"plain_command: {func.__qualname__} does not pass only a tuple to _run")
    consts: List[Any] = []
    slots: List[int] = []
    for arg in args:
        index = next((i for i, mark in enumerate(marks) if arg is mark), -1)
        if index < 0 and type(arg) is not str:
            raise TypeError(f"plain_command: {func.__qualname__} passes {arg!r} to _run")
        consts.append(None if index >= 0 else arg)
        slots.append(index)
    return tuple(consts), tuple(slots)


def plain_command(func: _F) -> _F:
    """Run a command method in C when it is called positionally.

    For a method whose body only hands its parameters to the hook, in order and
    among constant strings (``return self._run(("GET", name))``): the body is run
    once here, on a recording host, to learn that tuple, and the method becomes a
    ``_core.CommandMethod``, which builds the tuple and calls ``self._run`` with no
    Python frame (on a pipeline, it queues the command with no tuple at all).
    Calls with keywords, or with a wrong count, run the body itself. Reached
    through ``__wrapped__``, the function keeps its signature for ``inspect`` and
    ``help``. A body that does anything else is refused here, at import.
    """
    code = func.__code__
    nparams = code.co_argcount - 1
    if (
        nparams < 0
        or func.__defaults__
        or func.__kwdefaults__
        or code.co_kwonlyargcount
        or code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS)
    ):
        raise TypeError(f"plain_command: {func.__qualname__} takes other parameters")
    # Two runs with different marks, all alive at once: a constant that came from
    # a parameter (str(name)) differs between them, a real constant does not.
    marks = [[object() for _ in range(nparams)] for _ in range(2)]
    runs = [_learn(func, m) for m in marks]
    if runs[0] != runs[1]:
        raise TypeError(f"plain_command: {func.__qualname__} computes an argument")
    consts, slots = runs[0]
    method = CommandMethod(func, consts, slots, nparams)
    functools.update_wrapper(method, func)
    return method  # type: ignore[return-value]
