"""HyperLogLog and geo commands (commands/hyperloglog.py, geo.py) against a real server.

SCRIPT runs on every client kind and on redis-py (tests/cmd_surface.py).
Explicit expected values follow for the shapes that matter.
"""

from __future__ import annotations

from typing import Any

import pytest
from cmd_surface import (
    SAME_AS_SYNC,
    c,
    check_same_as_redis_py,
    check_same_as_sync,
    family_methods,
    methods_called,
)

import pyredisclient
from pyredisclient import DataError
from pyredisclient.commands.geo import GeoCommands
from pyredisclient.commands.hyperloglog import HyperlogCommands

PALERMO = (13.361389, 38.115556, "Palermo")
CATANIA = (15.087269, 37.502669, "Catania")

SCRIPT = [
    c("pfadd", "h1", "a", "b", "c"),
    c("pfadd", "h1", "a"),
    c("pfadd", "h2", "c", "d"),
    c("pfcount", "h1"),
    c("pfcount", "h1", "h2"),
    c("pfmerge", "h3", "h1", "h2"),
    c("pfcount", "h3"),
    c("pfcount", "missing"),
    c("geoadd", "g", PALERMO + CATANIA),
    c("geoadd", "g", PALERMO, nx=True),
    c("geoadd", "g", (13.4, 38.1, "Palermo"), xx=True, ch=True),
    c("geoadd", "g", PALERMO + CATANIA),
    c("geoadd", "g", (1, 2)),
    c("geoadd", "g", PALERMO, nx=True, xx=True),
    c("geodist", "g", "Palermo", "Catania"),
    c("geodist", "g", "Palermo", "Catania", "km"),
    c("geodist", "g", "Palermo", "nowhere"),
    c("geodist", "g", "Palermo", "Catania", "parsec"),
    c("geohash", "g", "Palermo", "Catania", "nowhere"),
    c("geopos", "g", "Palermo", "nowhere"),
    c("georadius", "g", 15, 37, 200, "km"),
    c("georadius", "g", 15, 37, 200, unit="km", withdist=True, withcoord=True, withhash=True),
    c("georadius", "g", 15, 37, 200, "km", withdist=True, sort="DESC", count=1),
    c("georadius", "g", 15, 37, 200, "km", withhash=True, sort="ASC", count=1, any=True),
    c("georadius", "g", 15, 37, 200, "km", store="gs"),
    c("georadius", "g", 15, 37, 200, "km", store_dist="gd"),
    c("zrange", "gd", 0, -1),
    c("georadius", "g", 15, 37, 200, "km", any=True),
    c("georadius", "g", 15, 37, 200, "km", sort="SIDEWAYS"),
    c("georadius", "g", 15, 37, 200, "km", store="a", store_dist="b"),
    c("georadius", "g", 15, 37, 200, "au"),
    c("georadius", "g", 15, 37, 200_000),
    c("georadiusbymember", "g", "Palermo", 100),
    c("georadiusbymember", "g", "Palermo", 200, "km", withcoord=True, sort="ASC"),
    c("georadiusbymember", "g", "Palermo", 200, "km", store="gm"),
    c("geosearch", "g", member="Palermo", radius=200, unit="km"),
    c("geosearch", "g", longitude=15, latitude=37, radius=200, unit="km", withdist=True),
    c("geosearch", "g", longitude=15, latitude=37, width=400, height=400, unit="km"),
    c(
        "geosearch",
        "g",
        member="Catania",
        radius=300,
        unit="km",
        sort="desc",
        count=1,
        any=True,
        withcoord=True,
        withdist=True,
        withhash=True,
    ),
    c("geosearch", "g", member="Catania", longitude=1, radius=1),
    c("geosearch", "g", radius=1),
    c("geosearch", "g", member="Catania"),
    c("geosearch", "g", member="Catania", radius=1, width=2, height=2),
    c("geosearch", "g", member="Catania", radius=1, unit="parsec"),
    c("geosearch", "g", member="Catania", radius=1, sort="up"),
    c("geosearch", "g", member="Catania", radius=1, any=True),
    c("geosearchstore", "gss", "g", member="Palermo", radius=300, unit="km"),
    c(
        "geosearchstore",
        "gss2",
        "g",
        longitude=15,
        latitude=37,
        radius=300,
        unit="km",
        storedist=True,
    ),
    c("zrange", "gss2", 0, -1),
    c("geosearchstore", "gss3", "g", member="Palermo", width=10, height=10, count=1, sort="ASC"),
    c("set", "str", "v"),
    c("pfadd", "str", "x"),
    c("geoadd", "str", PALERMO),
]


@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
def test_same_results_as_redis_py(redis_client: Any, redis_url: str, decode: bool) -> None:
    check_same_as_redis_py(redis_url, SCRIPT, decode)


@pytest.mark.parametrize("mode", SAME_AS_SYNC)
def test_every_client_kind_gives_the_same(redis_client: Any, redis_url: str, mode: str) -> None:
    check_same_as_sync(redis_client, redis_url, SCRIPT, mode)


def test_script_covers_the_families() -> None:
    methods = family_methods(HyperlogCommands) | family_methods(GeoCommands)
    assert methods <= methods_called(SCRIPT)


def test_shapes(redis_client: Any) -> None:
    r = redis_client
    assert r.pfadd("h", "a", "b") == 1
    assert r.pfmerge("h2", "h") is True
    assert r.pfcount("h", "h2") == 2
    assert r.geoadd("g", PALERMO + CATANIA) == 2
    assert r.geodist("g", "Palermo", "Catania", "km") == pytest.approx(166.2742)
    assert r.geohash("g", "Palermo", "x") == ["sqc8b49rny0", None]
    (pos,) = r.geopos("g", "Palermo")
    assert pos == (pytest.approx(13.361389), pytest.approx(38.115556))
    assert type(pos) is tuple and type(pos[0]) is float
    near = r.geosearch("g", member="Palermo", radius=200, unit="km", withdist=True, sort="ASC")
    assert near == [[b"Palermo", 0.0], [b"Catania", pytest.approx(166.2742)]]
    assert r.georadius("g", 15, 37, 200, "km", withhash=True, count=1, sort="ASC") == [
        [b"Catania", 3479447370796909]
    ]
    assert r.geosearchstore("dst", "g", member="Palermo", radius=10, unit="km") == 1


def test_prefixed_store_keys(redis_client: Any, redis_url: str) -> None:
    with pyredisclient.RedisClient.from_url(redis_url, key_prefix="p:") as p:
        p.geoadd("g", PALERMO + CATANIA)
        p.pfadd("h", "a")
        assert p.pfmerge("h2", "h") is True
        assert p.georadius("g", 15, 37, 200, "km", store="s1") == 2
        assert p.georadiusbymember("g", "Palermo", 10, "km", store_dist="s2") == 1
        assert p.geosearchstore("s3", "g", member="Palermo", radius=10, unit="km") == 1
    assert sorted(redis_client.keys("*")) == [b"p:g", b"p:h", b"p:h2", b"p:s1", b"p:s2", b"p:s3"]


def test_argument_errors(redis_client: Any) -> None:
    with pytest.raises(DataError):
        redis_client.geoadd("g", (1, 2))
    with pytest.raises(DataError):
        redis_client.geosearch("g")
