"""Geo commands: GEOADD, GEODIST, GEOHASH, GEOPOS, GEORADIUS*, GEOSEARCH*."""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

from typing import Any, List, Sequence, Tuple

from ..exceptions import DataError
from .args import option_word
from .base import CommandsBase
from .callbacks import as_text, float_or_none
from .types import Callback, EncodableT, KeyT

_UNITS = ("m", "km", "mi", "ft")


def _geohash_result(reply: Any) -> List[Any]:
    return [as_text(h) for h in reply]


def _geopos_result(reply: Any) -> List[Tuple[float, float] | None]:
    return [None if ll is None else (float(ll[0]), float(ll[1])) for ll in reply]


def _coord(ll: Any) -> Tuple[float, float]:
    return float(ll[0]), float(ll[1])


def _same(value: Any) -> Any:
    return value


def _places(withdist: bool, withhash: bool, withcoord: bool) -> Callback | None:
    """The callback of a GEORADIUS/GEOSEARCH reply: members, or per member
    [member, dist?, hash?, (lon, lat)?] with the numbers converted (redis-py's shape)."""
    if not (withdist or withhash or withcoord):
        return None
    casts: List[Callback] = [_same]
    if withdist:
        casts.append(float)
    if withhash:
        casts.append(int)
    if withcoord:
        casts.append(_coord)

    def places(reply: Any) -> Any:
        return [[cast(v) for cast, v in zip(casts, place)] for place in reply]

    return places


def _georadius(
    head: Tuple[Any, ...],
    unit: str | None,
    withdist: bool,
    withcoord: bool,
    withhash: bool,
    count: int | None,
    sort: str | None,
    store: KeyT | None,
    store_dist: KeyT | None,
    any: bool,
) -> Tuple[Tuple[Any, ...], Callback | None]:
    """The arguments and reply callback of GEORADIUS[BYMEMBER] after ``head``."""
    if unit and unit not in _UNITS:
        raise DataError("GEORADIUS invalid unit")
    args: Tuple[Any, ...] = (*head, unit or "m")
    if any and count is None:
        raise DataError("``any`` can't be provided without ``count``")
    if withdist:
        args += ("WITHDIST",)
    if withcoord:
        args += ("WITHCOORD",)
    if withhash:
        args += ("WITHHASH",)
    if count is not None:
        args += ("COUNT", count, "ANY") if any else ("COUNT", count)
    if sort:
        if sort not in ("ASC", "DESC"):
            raise DataError("GEORADIUS invalid sort")
        args += (sort,)
    if store and store_dist:
        raise DataError("GEORADIUS store and store_dist can't be set together")
    if store:
        args += ("STORE", store)
    if store_dist:
        args += ("STOREDIST", store_dist)
    if store or store_dist:
        return args, None  # a count
    return args, _places(withdist, withhash, withcoord)


def _geosearch_args(
    head: Tuple[Any, ...],
    member: EncodableT | None,
    longitude: float | None,
    latitude: float | None,
    unit: str,
    radius: float | None,
    width: float | None,
    height: float | None,
    sort: str | None,
    count: int | None,
    any: bool,
    flags: Tuple[str, ...],
) -> Tuple[Any, ...]:
    args = head
    if member is None:
        if longitude is None or latitude is None:
            raise DataError("GEOSEARCH must have member or longitude and latitude")
        args += ("FROMLONLAT", longitude, latitude)
    else:
        if longitude is not None or latitude is not None:
            raise DataError("GEOSEARCH member and longitude or latitude can't be set together")
        args += ("FROMMEMBER", member)
    if radius is None and (width is None or height is None):
        raise DataError("GEOSEARCH must have radius or width and height")
    if unit is None:
        raise DataError("GEOSEARCH must have unit")
    if option_word(unit, "unit").lower() not in _UNITS:
        raise DataError("GEOSEARCH invalid unit")
    if radius is not None:
        if width is not None or height is not None:
            raise DataError("GEOSEARCH radius and width or height can't be set together")
        args += ("BYRADIUS", radius, unit)
    else:
        args += ("BYBOX", width, height, unit)
    if sort:
        word = option_word(sort, "sort")
        if word not in ("ASC", "DESC"):
            raise DataError("GEOSEARCH invalid sort")
        args += (word,)
    if count is not None:
        args += ("COUNT", count, "ANY") if any else ("COUNT", count)
    elif any:
        raise DataError("GEOSEARCH ``any`` can't be provided without count")
    return args + flags


class GeoCommands(CommandsBase):
    __slots__ = ()

    def geoadd(
        self,
        name: KeyT,
        values: Sequence[EncodableT],
        nx: bool = False,
        xx: bool = False,
        ch: bool = False,
    ) -> int:
        """Add places given as flat (longitude, latitude, member, ...) ``values``.

        Returns the number of places added (changed, with ``ch``).
        """
        if nx and xx:
            raise DataError("GEOADD allows either 'nx' or 'xx', not both")
        if len(values) % 3 != 0:
            raise DataError("GEOADD requires places with lon, lat and name values")
        args: Tuple[Any, ...] = ("GEOADD", name)
        if nx:
            args += ("NX",)
        if xx:
            args += ("XX",)
        if ch:
            args += ("CH",)
        return self._run((*args, *values))

    def geodist(
        self, name: KeyT, place1: EncodableT, place2: EncodableT, unit: str | None = None
    ) -> float | None:
        """Return the distance between two members in ``unit`` (m, km, mi, ft), or None."""
        if unit and unit not in _UNITS:
            raise DataError("GEODIST invalid unit")
        args: Tuple[Any, ...] = ("GEODIST", name, place1, place2)
        return self._run((*args, unit) if unit else args, float_or_none)

    def geohash(self, name: KeyT, *values: EncodableT) -> List[Any]:
        """Return the geohash string of each member (None for a missing one)."""
        return self._run(("GEOHASH", name, *values), _geohash_result)

    def geopos(self, name: KeyT, *values: EncodableT) -> List[Tuple[float, float] | None]:
        """Return (longitude, latitude) of each member (None for a missing one)."""
        return self._run(("GEOPOS", name, *values), _geopos_result)

    def georadius(
        self,
        name: KeyT,
        longitude: float,
        latitude: float,
        radius: float,
        unit: str | None = None,
        withdist: bool = False,
        withcoord: bool = False,
        withhash: bool = False,
        count: int | None = None,
        sort: str | None = None,
        store: KeyT | None = None,
        store_dist: KeyT | None = None,
        any: bool = False,
    ) -> Any:
        """Return the members within ``radius`` of a point (deprecated by Redis for
        GEOSEARCH); with ``store``/``store_dist`` store them and return how many."""
        options = (unit, withdist, withcoord, withhash, count, sort, store, store_dist, any)
        return self._run(*_georadius(("GEORADIUS", name, longitude, latitude, radius), *options))

    def georadiusbymember(
        self,
        name: KeyT,
        member: EncodableT,
        radius: float,
        unit: str | None = None,
        withdist: bool = False,
        withcoord: bool = False,
        withhash: bool = False,
        count: int | None = None,
        sort: str | None = None,
        store: KeyT | None = None,
        store_dist: KeyT | None = None,
        any: bool = False,
    ) -> Any:
        """Like georadius, centred on ``member``."""
        options = (unit, withdist, withcoord, withhash, count, sort, store, store_dist, any)
        return self._run(*_georadius(("GEORADIUSBYMEMBER", name, member, radius), *options))

    def geosearch(
        self,
        name: KeyT,
        member: EncodableT | None = None,
        longitude: float | None = None,
        latitude: float | None = None,
        unit: str = "m",
        radius: float | None = None,
        width: float | None = None,
        height: float | None = None,
        sort: str | None = None,
        count: int | None = None,
        any: bool = False,
        withcoord: bool = False,
        withdist: bool = False,
        withhash: bool = False,
    ) -> List[Any]:
        """Return the members within a radius or a box around a member or a point.

        Without ``with*`` flags a list of members; with them a list of
        [member, dist?, hash?, (lon, lat)?] lists.
        """
        flags: Tuple[str, ...] = ()
        if withdist:
            flags += ("WITHDIST",)
        if withcoord:
            flags += ("WITHCOORD",)
        if withhash:
            flags += ("WITHHASH",)
        args = _geosearch_args(
            ("GEOSEARCH", name),
            member,
            longitude,
            latitude,
            unit,
            radius,
            width,
            height,
            sort,
            count,
            any,
            flags,
        )
        return self._run(args, _places(withdist, withhash, withcoord))

    def geosearchstore(
        self,
        dest: KeyT,
        name: KeyT,
        member: EncodableT | None = None,
        longitude: float | None = None,
        latitude: float | None = None,
        unit: str = "m",
        radius: float | None = None,
        width: float | None = None,
        height: float | None = None,
        sort: str | None = None,
        count: int | None = None,
        any: bool = False,
        storedist: bool = False,
    ) -> int:
        """Store what geosearch finds in ``dest`` (distances with ``storedist``);
        return how many."""
        args = _geosearch_args(
            ("GEOSEARCHSTORE", dest, name),
            member,
            longitude,
            latitude,
            unit,
            radius,
            width,
            height,
            sort,
            count,
            any,
            ("STOREDIST",) if storedist else (),
        )
        return self._run(args)
