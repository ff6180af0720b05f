"""The argument and callback types of the command methods (redis-py's names)."""

from __future__ import annotations

import datetime
from typing import Any, Callable, Iterable, Union

KeyT = Union[bytes, str, memoryview]
EncodableT = Union[bytes, bytearray, memoryview, str, int, float]
PatternT = Union[bytes, str, memoryview]
KeysT = Union[KeyT, Iterable[KeyT]]
ExpiryT = Union[int, datetime.timedelta]
AbsExpiryT = Union[int, datetime.datetime]
ZScoreBoundT = Union[float, str]
ScoreCastT = Callable[[Any], Any]
Callback = Callable[[Any], Any]
