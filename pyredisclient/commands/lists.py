"""List commands: pushes, pops and moves (blocking ones too), ranges, LPOS, SORT."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, Iterable, List, Tuple

from ..exceptions import DataError
from .args import list_or_args
from .base import CommandsBase, plain_command
from .callbacks import is_ok, to_tuple_or_none
from .types import Callback, EncodableT, KeysT, KeyT


def sort_groups(n: int) -> Callback:
    """Callback turning SORT's flat reply into n-tuples (``groups=True``)."""

    def groups(reply: Any) -> Any:
        if not reply:
            return reply
        return list(zip(*[reply[i::n] for i in range(n)]))

    return groups


class ListCommands(CommandsBase):
    __slots__ = ()

    def lpush(self, name: KeyT, *values: EncodableT) -> int:
        """Push ``values`` onto the head of list ``name``; return its length."""
        return self._run(("LPUSH", name, *values))

    def rpush(self, name: KeyT, *values: EncodableT) -> int:
        """Push ``values`` onto the tail of list ``name``; return its length."""
        return self._run(("RPUSH", name, *values))

    def lpop(self, name: KeyT, count: int | None = None) -> Any:
        """Pop the first element (a list of up to ``count`` with ``count``)."""
        if count is not None:
            return self._run(("LPOP", name, count))
        return self._run(("LPOP", name))

    def rpop(self, name: KeyT, count: int | None = None) -> Any:
        """Pop the last element (a list of up to ``count`` with ``count``)."""
        if count is not None:
            return self._run(("RPOP", name, count))
        return self._run(("RPOP", name))

    @plain_command
    def lrange(self, name: KeyT, start: int, end: int) -> List[Any]:
        """Return the elements of list ``name`` from ``start`` to ``end`` inclusive."""
        return self._run(("LRANGE", name, start, end))

    @plain_command
    def llen(self, name: KeyT) -> int:
        """Return the length of list ``name``."""
        return self._run(("LLEN", name))

    @plain_command
    def lindex(self, name: KeyT, index: int) -> Any:
        """Return the element at ``index`` of list ``name``, or None."""
        return self._run(("LINDEX", name, index))

    def lset(self, name: KeyT, index: int, value: EncodableT) -> bool:
        """Set the element at ``index`` of list ``name`` to ``value``."""
        return self._run(("LSET", name, index, value), is_ok)

    @plain_command
    def lrem(self, name: KeyT, count: int, value: EncodableT) -> int:
        """Remove ``count`` occurrences of ``value`` (0: all); return how many."""
        return self._run(("LREM", name, count, value))

    def ltrim(self, name: KeyT, start: int, end: int) -> bool:
        """Trim list ``name`` to the elements from ``start`` to ``end``."""
        return self._run(("LTRIM", name, start, end), is_ok)

    def blpop(self, keys: KeysT, timeout: float | None = 0) -> Tuple[Any, Any] | None:
        """Pop from the first non-empty list of ``keys``, waiting up to ``timeout`` s.

        Returns (key, value), or None on timeout; a timeout of 0 waits forever.
        """
        if timeout is None:
            timeout = 0
        return self._run(("BLPOP", *list_or_args(keys, ()), timeout), to_tuple_or_none)

    def brpop(self, keys: KeysT, timeout: float | None = 0) -> Tuple[Any, Any] | None:
        """Like blpop, popping from the tail."""
        if timeout is None:
            timeout = 0
        return self._run(("BRPOP", *list_or_args(keys, ()), timeout), to_tuple_or_none)

    def lpushx(self, name: KeyT, *values: EncodableT) -> int:
        """Push ``values`` onto the head of ``name`` only if it exists; return its length."""
        return self._run(("LPUSHX", name, *values))

    def rpushx(self, name: KeyT, *values: EncodableT) -> int:
        """Push ``values`` onto the tail of ``name`` only if it exists; return its length."""
        return self._run(("RPUSHX", name, *values))

    @plain_command
    def linsert(self, name: KeyT, where: str, refvalue: EncodableT, value: EncodableT) -> int:
        """Insert ``value`` BEFORE or AFTER ``refvalue``; the new length, -1 if no
        ``refvalue``, 0 if no list."""
        return self._run(("LINSERT", name, where, refvalue, value))

    def lpos(
        self,
        name: KeyT,
        value: EncodableT,
        rank: int | None = None,
        count: int | None = None,
        maxlen: int | None = None,
    ) -> Any:
        """The index of ``value`` in list ``name`` (a list of up to ``count``
        indexes with ``count``), or None."""
        args: Tuple[Any, ...] = ("LPOS", name, value)
        if rank is not None:
            args += ("RANK", rank)
        if count is not None:
            args += ("COUNT", count)
        if maxlen is not None:
            args += ("MAXLEN", maxlen)
        return self._run(args)

    @plain_command
    def rpoplpush(self, src: KeyT, dst: KeyT) -> Any:
        """Pop the tail of ``src``, push it onto the head of ``dst``, return it."""
        return self._run(("RPOPLPUSH", src, dst))

    def brpoplpush(self, src: KeyT, dst: KeyT, timeout: float | None = 0) -> Any:
        """Like rpoplpush, waiting up to ``timeout`` s (0: forever); None on timeout."""
        if timeout is None:
            timeout = 0
        return self._run(("BRPOPLPUSH", src, dst, timeout))

    def lmove(
        self, first_list: KeyT, second_list: KeyT, src: str = "LEFT", dest: str = "RIGHT"
    ) -> Any:
        """Pop from the ``src`` end of ``first_list``, push onto the ``dest`` end of
        ``second_list``; return the element (None if ``first_list`` is empty)."""
        return self._run(("LMOVE", first_list, second_list, src, dest))

    def blmove(
        self,
        first_list: KeyT,
        second_list: KeyT,
        timeout: float,
        src: str = "LEFT",
        dest: str = "RIGHT",
    ) -> Any:
        """Like lmove, waiting up to ``timeout`` s (0: forever); None on timeout."""
        return self._run(("BLMOVE", first_list, second_list, src, dest, timeout))

    def lmpop(
        self, num_keys: int, *args: KeyT, direction: str, count: int | None = 1
    ) -> List[Any] | None:
        """Pop up to ``count`` elements from the LEFT or RIGHT of the first non-empty
        list of ``args``: [key, [elements]], or None."""
        cmd: Tuple[Any, ...] = ("LMPOP", num_keys, *args, direction)
        if count is not None and count != 1:
            cmd += ("COUNT", count)
        return self._run(cmd)

    def blmpop(
        self,
        timeout: float,
        numkeys: int,
        *args: KeyT,
        direction: str,
        count: int | None = 1,
    ) -> List[Any] | None:
        """Like lmpop, waiting up to ``timeout`` s (0: forever); None on timeout."""
        cmd: Tuple[Any, ...] = ("BLMPOP", timeout, numkeys, *args, direction)
        if count is not None:
            cmd += ("COUNT", count)
        return self._run(cmd)

    def sort(
        self,
        name: KeyT,
        start: int | None = None,
        num: int | None = None,
        by: KeyT | None = None,
        get: KeyT | Iterable[KeyT] | None = None,
        desc: bool = False,
        alpha: bool = False,
        store: KeyT | None = None,
        groups: bool | None = False,
    ) -> Any:
        """Sort the list, set or sorted set ``name`` (by the ``by`` pattern, getting the
        ``get`` patterns, ``start``/``num`` slicing); with ``store`` save the result
        there and return its length; with ``groups`` return tuples of the gets.

        Under a key prefix BY and GET patterns are prefixed like keys.
        """
        args, ngets = _sort_args("SORT", name, start, num, by, get, desc, alpha, store)
        if groups:
            if ngets < 2 or isinstance(get, (bytes, str)):
                raise DataError(
                    'when using "groups" the "get" argument '
                    "must be specified and contain at least two keys"
                )
            return self._run(args, sort_groups(ngets))
        return self._run(args)

    def sort_ro(
        self,
        key: KeyT,
        start: int | None = None,
        num: int | None = None,
        by: KeyT | None = None,
        get: KeyT | Iterable[KeyT] | None = None,
        desc: bool = False,
        alpha: bool = False,
    ) -> List[Any]:
        """SORT_RO: sort without STORE (runs on replicas)."""
        args, _ = _sort_args("SORT_RO", key, start, num, by, get, desc, alpha, None)
        return self._run(args)


def _sort_args(
    command: str,
    name: KeyT,
    start: int | None,
    num: int | None,
    by: KeyT | None,
    get: Any,
    desc: bool,
    alpha: bool,
    store: KeyT | None,
) -> Tuple[Tuple[Any, ...], int]:
    """SORT's arguments and the number of GET patterns."""
    if (start is None) != (num is None):
        raise DataError("``start`` and ``num`` must both be specified")
    args: Tuple[Any, ...] = (command, name)
    if by is not None:
        args += ("BY", by)
    if start is not None:
        args += ("LIMIT", start, num)
    gets: List[Any] = []
    if get is not None:
        gets = [get] if isinstance(get, (bytes, str)) else list(get)
    for pattern in gets:
        args += ("GET", pattern)
    if desc:
        args += ("DESC",)
    if alpha:
        args += ("ALPHA",)
    if store is not None:
        args += ("STORE", store)
    return args, len(gets)
