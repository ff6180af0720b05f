"""plain_command: command methods run in C must pass _run what their bodies would.

A ``@plain_command`` method is a ``_core.CommandMethod``: called positionally it
builds the argument tuple in C from what the decorator learnt by running the
body once. These tests hold every such method to its own body, on a host that
records what ``_run`` gets, and pin the decorator's refusals.
"""

from __future__ import annotations

import inspect
from typing import Any, List, Tuple

import pytest

from pyredisclient import AsyncRedisClient, RedisClient
from pyredisclient._core import CommandMethod
from pyredisclient.commands import CoreCommands
from pyredisclient.commands.base import plain_command


class Recorder(CoreCommands):
    """A host whose _run keeps what it got and answers with a marker."""

    def __init__(self) -> None:
        self.calls: List[Tuple[Any, ...]] = []

    def _run(self, args: Tuple[Any, ...], callback: Any = None) -> Any:
        self.calls.append((args, callback))
        return ("ran", args)


def plain_methods() -> List[str]:
    return sorted(
        name
        for klass in CoreCommands.__mro__
        for name, value in vars(klass).items()
        if isinstance(value, CommandMethod)
    )


def test_the_plain_methods_are_there() -> None:
    names = plain_methods()
    # The common reads a pipeline queues by the thousand, among others.
    assert {"get", "hget", "llen", "ttl", "strlen", "sismember"} <= set(names)
    assert len(names) >= 60


@pytest.mark.parametrize("name", plain_methods())
def test_c_path_passes_what_the_body_passes(name: str) -> None:
    method = getattr(CoreCommands, name)
    body = method.__wrapped__
    nparams = len(inspect.signature(body).parameters) - 1
    values = [f"value-{i}".encode() for i in range(nparams)]

    fast, slow = Recorder(), Recorder()
    assert getattr(fast, name)(*values) == ("ran", fast.calls[0][0])
    body(slow, *values)
    assert fast.calls == slow.calls
    assert type(fast.calls[0][0]) is tuple

    # Keywords take the body: the same tuple.
    keywords = Recorder()
    params = list(inspect.signature(body).parameters)[1:]
    getattr(keywords, name)(**dict(zip(params, values)))
    assert keywords.calls == slow.calls


def test_signature_name_and_doc_are_the_functions() -> None:
    method = CoreCommands.get
    assert isinstance(method, CommandMethod)
    assert method.__name__ == "get"
    assert method.__qualname__ == "StringCommands.get"
    assert "value at" in (method.__doc__ or "")
    assert list(inspect.signature(RedisClient.get).parameters) == ["self", "name"]
    client = RedisClient(host="127.0.0.1", port=1)
    try:
        assert list(inspect.signature(client.get).parameters) == ["name"]
        assert "command method" in repr(CoreCommands.get)
    finally:
        client.close()


def test_wrong_calls_raise_the_functions_errors() -> None:
    host = Recorder()
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'name'"):
        host.get()
    with pytest.raises(TypeError, match="takes 2 positional arguments but 3 were given"):
        host.get("a", "b")
    with pytest.raises(TypeError, match="unexpected keyword argument 'key'"):
        host.get(key="a")
    assert host.calls == []


def test_unbound_call_and_super() -> None:
    host = Recorder()
    assert CoreCommands.get(host, "k") == ("ran", ("GET", "k"))

    class Upper(Recorder):
        def get(self, name: Any) -> Any:
            return super().get(name.upper())

    assert Upper().get("k") == ("ran", ("GET", "K"))


def test_a_host_with_its_own_run_hook() -> None:
    """An instance attribute _run wins over the class's, as in the body."""
    host = Recorder()
    seen: List[Any] = []
    host._run = lambda args, callback=None: seen.append(args) or "own"  # type: ignore[method-assign]
    assert host.strlen("k") == "own"
    assert seen == [("STRLEN", "k")]
    # The C path reads the instance's __dict__ first: taking the attribute away
    # brings the class's hook back, and hosts without a __dict__ (slots) or with
    # _run only from __getattr__ take the generic lookup.
    del host._run
    assert host.strlen("k") == ("ran", ("STRLEN", "k"))

    class Slotted(CoreCommands):
        __slots__ = ("calls",)

        def _run(self, args: Tuple[Any, ...], callback: Any = None) -> Any:
            return ("slotted", args)

    assert Slotted().strlen("k") == ("slotted", ("STRLEN", "k"))

    class Dynamic(CoreCommands):
        def __getattr__(self, name: str) -> Any:
            if name == "_run":
                return lambda args, callback=None: ("dynamic", args)
            raise AttributeError(name)

    assert Dynamic().strlen("k") == ("dynamic", ("STRLEN", "k"))


def test_errors_from_run_propagate() -> None:
    class Failing(CoreCommands):
        def _run(self, args: Any, callback: Any = None) -> Any:
            raise LookupError(args)

    with pytest.raises(LookupError) as info:
        Failing().hget("h", "f")
    assert info.value.args == (("HGET", "h", "f"),)

    class NoHook:
        get = CoreCommands.get

    with pytest.raises(AttributeError, match="_run"):
        NoHook().get("k")


def test_async_client_gets_the_coroutine_run_returns() -> None:
    client = AsyncRedisClient(host="127.0.0.1", port=1)
    coro = client.get("k")
    try:
        assert inspect.iscoroutine(coro)
    finally:
        coro.close()


def test_the_decorator_refuses_other_bodies() -> None:
    def with_default(self: Any, name: Any = None) -> Any:
        return self._run(("GET", name))

    def with_varargs(self: Any, *names: Any) -> Any:
        return self._run(("DEL", *names))

    def with_callback(self: Any, name: Any) -> Any:
        return self._run(("GET", name), bool)

    def computing(self: Any, name: Any) -> Any:
        return self._run(("GET", str(name)))

    def with_list(self: Any, name: Any) -> Any:
        return self._run(["GET", name])

    def no_run(self: Any, name: Any) -> Any:
        return None

    def number_constant(self: Any, name: Any) -> Any:
        return self._run(("EXPIRE", name, 5))

    def upper(self: Any, name: Any) -> Any:
        return self._run(("GET", name.upper()))

    refused = (with_default, with_varargs, with_callback, with_list, no_run, number_constant)
    # computing: str(name) is a str, but not a constant (it differs from run to run).
    for func in (*refused, computing, upper):
        with pytest.raises(TypeError, match="plain_command"):
            plain_command(func)


def test_constants_and_reordered_parameters() -> None:
    def client_reply(self: Any, first: Any, second: Any) -> Any:
        return self._run(("CMD", "SUB", second, "MID", first))

    method = plain_command(client_reply)
    assert isinstance(method, CommandMethod)
    host = Recorder()
    assert method(host, 1, 2) == ("ran", ("CMD", "SUB", 2, "MID", 1))
    assert method(host, second=2, first=1) == ("ran", ("CMD", "SUB", 2, "MID", 1))


def test_commandmethod_checks_its_arguments() -> None:
    def f(self: Any, a: Any) -> Any:
        return self._run(("X", a))

    with pytest.raises(ValueError):
        CommandMethod(f, ("X",), (-1, 0), 1)  # lengths differ
    with pytest.raises(ValueError):
        CommandMethod(f, (), (), 1)  # no command name
    with pytest.raises(ValueError, match="names parameter 1 of 1"):
        CommandMethod(f, ("X", None), (-1, 1), 1)
    with pytest.raises(ValueError):
        CommandMethod(42, ("X", None), (-1, 0), 1)
    with pytest.raises(TypeError):
        CommandMethod(f, ("X", None), (-1, "0"), 1)
