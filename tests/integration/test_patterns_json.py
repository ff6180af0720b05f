"""JSON values: set_json/get_json/mset_json/mget_json on every host, serializers, DataError."""

from __future__ import annotations

import asyncio
import datetime
import json
import sys
import types
from typing import Any, Iterator

import pytest

from pyredisclient import DataError, RedisClient
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.commands import jsonvalues
from pyredisclient.commands.jsonvalues import Serializer, get_serializer, set_default_serializer

VALUE = {"name": "Zoë", "tags": ["a", "b"], "n": 3, "ok": True, "none": None, "f": 1.5}


@pytest.fixture(autouse=True)
def _restore_default() -> Iterator[None]:
    yield
    set_default_serializer("json")


def test_round_trip(redis_client: RedisClient) -> None:
    assert redis_client.set_json("j:1", VALUE) is True
    assert (
        redis_client.get("j:1")
        == json.dumps(VALUE, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert redis_client.get_json("j:1") == VALUE
    assert redis_client.get_json("j:missing") is None
    assert redis_client.set_json("j:1", [1], nx=True) is None
    assert redis_client.set_json("j:2", "text", ex=datetime.timedelta(seconds=100)) is True
    assert 0 < redis_client.ttl("j:2") <= 100
    assert redis_client.set_json("j:3", 0, ex=50) and 0 < redis_client.ttl("j:3") <= 50
    assert redis_client.mset_json({"j:a": {"x": 1}, "j:b": [None]}) is True
    assert redis_client.mget_json(["j:a", "j:b", "j:none"]) == [{"x": 1}, [None], None]
    assert redis_client.mget_json("j:a", "j:b") == [{"x": 1}, [None]]
    with pytest.raises(DataError, match="at least one key"):
        redis_client.mget_json([])


def test_unserializable_values_raise_data_error(redis_client: RedisClient) -> None:
    for bad in ({"s": {1, 2}}, object(), float("nan"), {"b": b"bytes"}):
        with pytest.raises(DataError, match="cannot be stored as JSON") as info:
            redis_client.set_json("j:bad", bad)
        assert isinstance(info.value, TypeError)
    with pytest.raises(DataError):
        redis_client.mset_json({"j:ok": 1, "j:bad": object()})
    assert redis_client.exists("j:bad", "j:ok") == 0  # nothing was sent

    def refuse(value: Any) -> bytes:
        raise RuntimeError("encoder says no")

    with pytest.raises(DataError, match="encoder says no"):
        redis_client.set_json("j:bad", 1, serializer=Serializer("strict", refuse, json.loads))


def test_key_prefix_is_respected(redis_client: RedisClient) -> None:
    view = redis_client.with_prefix("tenant:")
    view.set_json("k", {"v": 1})
    view.mset_json({"m": 2})
    assert redis_client.get_json("tenant:k") == {"v": 1}
    assert redis_client.get_json("tenant:m") == 2
    assert view.mget_json(["k", "m"]) == [{"v": 1}, 2]


def test_pipeline(redis_client: RedisClient) -> None:
    with redis_client.pipeline() as pipe:
        pipe.set_json("j:p", {"a": 1}).get_json("j:p").mget_json(["j:p"])
        assert pipe.execute() == [True, {"a": 1}, [{"a": 1}]]


def test_async(async_redis_client: AsyncRedisClient) -> None:
    async def main() -> None:
        assert await async_redis_client.set_json("j:async", VALUE) is True
        assert await async_redis_client.get_json("j:async") == VALUE
        assert await async_redis_client.mset_json({"j:x": 1}) is True
        assert await async_redis_client.mget_json(["j:x", "j:async"]) == [1, VALUE]
        with pytest.raises(DataError):
            await async_redis_client.set_json("j:bad", {1, 2})

    asyncio.run(main())


def test_custom_and_default_serializer(redis_client: RedisClient) -> None:
    calls: list[str] = []

    def dumps(value: Any) -> bytes:
        calls.append("dumps")
        return json.dumps({"wrapped": value}).encode()

    def loads(data: bytes | str) -> Any:
        calls.append("loads")
        return json.loads(data)["wrapped"]

    custom = Serializer("wrapped", dumps, loads)
    redis_client.set_json("j:c", [1], serializer=custom)
    assert redis_client.get_json("j:c", serializer=custom) == [1]
    assert redis_client.get_json("j:c") == {"wrapped": [1]}
    set_default_serializer(custom)
    assert redis_client.get_json("j:c") == [1]
    assert get_serializer("wrapped") is custom and calls == ["dumps", "loads", "loads"]


def test_named_serializers(monkeypatch: pytest.MonkeyPatch, redis_client: RedisClient) -> None:
    fake = types.ModuleType("orjson")
    fake.dumps = lambda v: json.dumps(v).encode()  # type: ignore[attr-defined]
    fake.loads = json.loads  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "orjson", fake)
    monkeypatch.setattr(jsonvalues, "_loaded", {})
    redis_client.set_json("j:o", {"o": 1}, serializer="orjson")
    assert redis_client.get_json("j:o", serializer="orjson") == {"o": 1}
    assert get_serializer("orjson").name == "orjson"

    monkeypatch.setitem(sys.modules, "msgspec", None)
    monkeypatch.setitem(sys.modules, "msgspec.json", None)
    with pytest.raises(ImportError, match="pip install msgspec"):
        get_serializer("msgspec")
    with pytest.raises(ValueError, match="unknown JSON serializer"):
        get_serializer("yaml")


@pytest.mark.parametrize("name", ["orjson", "msgspec"])
def test_real_fast_serializers(name: str, redis_client: RedisClient) -> None:
    pytest.importorskip(name)
    redis_client.set_json("j:fast", VALUE, serializer=name)
    assert redis_client.get_json("j:fast", serializer=name) == VALUE
    with pytest.raises(DataError):
        redis_client.set_json("j:fast", object(), serializer=name)
