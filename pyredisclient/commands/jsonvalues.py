"""JSON values: set_json, get_json, mset_json, mget_json over plain strings.

The value is serialized before the command is built and parsed by the reply
callback, so every host (client, asyncio client, pipelines) and a key_prefix
work as for GET and SET. The serializer is stdlib ``json`` unless asked
otherwise: ``serializer="orjson"`` or ``"msgspec"`` (installed separately), a
:class:`Serializer`, or :func:`set_default_serializer` for the process.
"""

# mypy: disable-error-code="no-any-return"

from __future__ import annotations

import importlib
import json
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping

from ..exceptions import DataError
from .args import flatten, list_or_args, mapping_items
from .base import CommandsBase
from .callbacks import is_ok, set_result
from .types import ExpiryT, KeysT, KeyT

__all__ = ["JsonCommands", "Serializer", "get_serializer", "set_default_serializer"]


@dataclass(frozen=True)
class Serializer:
    """A named pair of functions: ``dumps(value) -> bytes|str``, ``loads(bytes) -> value``."""

    name: str
    dumps: Callable[[Any], bytes | str]
    loads: Callable[[bytes | str], Any]


def _stdlib() -> Serializer:
    def dumps(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)

    return Serializer("json", dumps, json.loads)


def _orjson() -> Serializer:
    orjson: Any = importlib.import_module("orjson")
    return Serializer("orjson", orjson.dumps, orjson.loads)


def _msgspec() -> Serializer:
    module: Any = importlib.import_module("msgspec.json")
    return Serializer("msgspec", module.encode, module.decode)


_FACTORIES: Dict[str, Callable[[], Serializer]] = {
    "json": _stdlib,
    "orjson": _orjson,
    "msgspec": _msgspec,
}
_lock = threading.Lock()
_loaded: Dict[str, Serializer] = {}
_default = "json"


def get_serializer(spec: str | Serializer | None = None) -> Serializer:
    """The serializer *spec* names (None: the process default, stdlib ``json``).

    ``"orjson"`` and ``"msgspec"`` raise ImportError with the pip command when
    not installed; an unknown name raises ValueError.
    """
    if isinstance(spec, Serializer):
        return spec
    name = _default if spec is None else spec
    with _lock:
        found = _loaded.get(name)
        if found is None:
            factory = _FACTORIES.get(name)
            if factory is None:
                raise ValueError(f"unknown JSON serializer {name!r}: one of {sorted(_FACTORIES)}")
            try:
                found = _loaded[name] = factory()
            except ImportError as exc:
                raise ImportError(
                    f"JSON serializer {name!r} is not installed: pip install {name}"
                ) from exc
    return found


def set_default_serializer(spec: str | Serializer) -> None:
    """Make *spec* the serializer of every JSON call that names none."""
    global _default
    serializer = get_serializer(spec)
    with _lock:
        _FACTORIES.setdefault(serializer.name, lambda: serializer)
        _loaded[serializer.name] = serializer
        _default = serializer.name


def _dump(serializer: Serializer, value: Any) -> bytes | str:
    try:
        return serializer.dumps(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise DataError(
            f"value of type {type(value).__name__} cannot be stored as JSON "
            f"({serializer.name}): {exc}"
        ) from exc
    except Exception as exc:  # orjson.JSONEncodeError, msgspec.EncodeError are TypeErrors
        raise DataError(f"value cannot be stored as JSON ({serializer.name}): {exc}") from exc


def _loader(serializer: Serializer) -> Callable[[Any], Any]:
    def load(reply: Any) -> Any:
        return None if reply is None else serializer.loads(reply)

    return load


def _many_loader(serializer: Serializer) -> Callable[[Any], List[Any]]:
    def load(reply: Any) -> List[Any]:
        return [None if item is None else serializer.loads(item) for item in reply]

    return load


class JsonCommands(CommandsBase):
    __slots__ = ()

    def set_json(
        self,
        name: KeyT,
        value: Any,
        ex: ExpiryT | None = None,
        *,
        nx: bool = False,
        serializer: str | Serializer | None = None,
    ) -> Any:
        """Store *value* as JSON at *name* (``ex`` seconds to live, ``nx`` only if absent).

        True, or None when ``nx`` prevented the write. DataError (a TypeError) for
        a value the serializer refuses, before anything is sent.
        """
        data = _dump(get_serializer(serializer), value)
        args: tuple[Any, ...] = ("SET", name, data)
        if ex is not None:
            seconds = int(ex.total_seconds()) if hasattr(ex, "total_seconds") else int(ex)
            args += ("EX", seconds)
        if nx:
            args += ("NX",)
        return self._run(args, set_result)

    def get_json(self, name: KeyT, *, serializer: str | Serializer | None = None) -> Any:
        """The JSON value at *name*, parsed; None when the key does not exist."""
        return self._run(("GET", name), _loader(get_serializer(serializer)))

    def mset_json(
        self, mapping: Mapping[Any, Any], *, serializer: str | Serializer | None = None
    ) -> bool:
        """Store every value of *mapping* as JSON, in one MSET."""
        chosen = get_serializer(serializer)
        encoded = {key: _dump(chosen, value) for key, value in mapping_items(mapping)}
        return self._run(("MSET", *flatten(encoded)), is_ok)

    def mget_json(
        self, keys: KeysT, *args: KeyT, serializer: str | Serializer | None = None
    ) -> List[Any]:
        """The parsed JSON values of *keys*, None for missing keys, in one MGET."""
        names = list_or_args(keys, args)
        if not names:
            raise DataError("mget_json needs at least one key")
        return self._run(("MGET", *names), _many_loader(get_serializer(serializer)))
