"""ACL commands (redis-py's ACLCommands) against a real server: redis-py's return
shapes with and without decode_responses, argument errors, pipelines, the asyncio
client, and key prefixes."""

from __future__ import annotations

import asyncio
from typing import Any, Iterator

import pytest

from pyredisclient import DataError, KeyPrefixError, RedisClient, ResponseError
from pyredisclient.client.aio import AsyncRedisClient

USER = "h15b-user"


@pytest.fixture
def r(redis_client: Any) -> Iterator[Any]:
    redis_client.acl_deluser(USER)
    redis_client.acl_log_reset()
    yield redis_client
    redis_client.acl_deluser(USER)


@pytest.fixture
def rd(redis_url: str) -> Iterator[Any]:
    with RedisClient.from_url(redis_url, decode_responses=True) as client:
        yield client


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))


def test_setuser_getuser_roundtrip(r: Any, rd: Any) -> None:
    assert r.acl_setuser(
        USER,
        enabled=True,
        passwords=["+secret1", "+secret2"],
        categories=["+@read", "-@dangerous", "+string", "-admin"],
        commands=["+set", "-get"],
        keys=["app:*", "%R~ro:*", "~other:*"],
        channels=["news:*"],
        selectors=[("+hget", "sel:*")],
        reset=True,
        reset_keys=True,
        reset_channels=True,
        reset_passwords=True,
    )
    user = r.acl_getuser(USER)
    assert user["enabled"] is True and "on" in user["flags"]
    assert len(user["passwords"]) == 2 and all(isinstance(p, str) for p in user["passwords"])
    # the server rewrites category rules (+@read becomes the categories it spans)
    assert "+@string" in user["categories"] and all("@" in c for c in user["categories"])
    assert "-get" in user["commands"] and all(c[:1] in "+-" for c in user["commands"])
    assert user["keys"] == ["~app:*", "%R~ro:*", "~other:*"]
    assert user["channels"] == ["&news:*"]
    assert user["selectors"] and isinstance(user["selectors"][0], list)
    assert rd.acl_getuser(USER)["keys"] == user["keys"]
    assert r.acl_getuser("no-such-user") is None
    assert r.acl_setuser(USER, passwords="-secret2", hashed_passwords=["+" + "a" * 64])
    assert len(r.acl_getuser(USER)["passwords"]) == 2
    assert r.acl_setuser(USER, nopass=True, reset_passwords=True)
    assert "nopass" in r.acl_getuser(USER)["flags"]
    assert r.acl_getuser(USER)["enabled"] is False  # enabled defaults to off
    assert r.acl_dryrun(USER, "get", "k") != b"OK"  # the user is off / has no key


def test_setuser_argument_errors(r: Any) -> None:
    for kwargs in (
        {"passwords": ["nosign"]},
        {"hashed_passwords": ["nosign"]},
        {"nopass": True, "passwords": ["+x"]},
        {"categories": ["read"]},
        {"commands": ["get"]},
        {"selectors": [("get", "k")]},
    ):
        with pytest.raises(DataError):
            r.acl_setuser(USER, **kwargs)
    assert r.acl_getuser(USER) is None  # nothing was sent


def test_lists_and_texts(r: Any, rd: Any) -> None:
    assert "read" in r.acl_cat() and all(isinstance(c, str) for c in r.acl_cat())
    assert "get" in r.acl_cat("read")
    assert "default" in r.acl_users()
    assert r.acl_list()[0].startswith("user default")
    assert r.acl_whoami() == "default" and rd.acl_whoami() == "default"
    assert isinstance(r.acl_help(), list) and isinstance(r.acl_help()[0], str)
    password = r.acl_genpass()
    assert isinstance(password, str) and len(password) == 64
    assert len(r.acl_genpass(32)) == 8
    for bits in (-1, 5000, "x"):
        with pytest.raises(DataError):
            r.acl_genpass(bits)
    assert r.acl_setuser(USER, enabled=True, nopass=True, commands=["+get"], keys=["k"])
    assert r.acl_dryrun(USER, "get", "k") == b"OK"
    assert b"no permissions" in r.acl_dryrun(USER, "set", "k", "v")
    assert r.acl_deluser(USER, "no-such-user") == 1


def test_acl_log(r: Any, redis_url: str) -> None:
    assert r.acl_setuser(USER, enabled=True, passwords=["+pw"], commands=["+ping"])
    with RedisClient.from_url(
        redis_url, username=USER, password="pw", retry_attempts=0, circuit_breaker=False
    ) as limited:
        assert limited.ping()
        with pytest.raises(ResponseError):
            limited.get("k")
    log = r.acl_log()
    assert log and log[0]["reason"] == "command" and log[0]["username"] == USER
    assert isinstance(log[0]["age-seconds"], float)
    assert isinstance(log[0]["client-info"]["id"], int)
    assert len(r.acl_log(count=1)) == 1
    with pytest.raises(DataError):
        r.acl_log(count="1")
    assert r.acl_log_reset() is True
    assert r.acl_log() == []


def test_acl_file_commands_need_a_file(r: Any) -> None:
    for call in (r.acl_save, r.acl_load):
        with pytest.raises(ResponseError, match="ACL file"):
            call()


def test_acl_file_commands(redis_server_factory: Any, tmp_path: Any) -> None:
    aclfile = tmp_path / "users.acl"
    aclfile.write_text("user default on nopass ~* &* +@all\n")
    server = redis_server_factory(extra_args=["--aclfile", str(aclfile)])
    with RedisClient.from_url(server.url) as c:
        assert c.acl_setuser(USER, enabled=True, nopass=True)
        assert c.acl_save() is True
        assert USER in aclfile.read_text()
        assert c.acl_load() is True


def test_key_prefix_refuses_acl(redis_url: str) -> None:
    with RedisClient.from_url(redis_url, key_prefix="t:") as tenant:
        for call in (tenant.acl_users, tenant.acl_list, lambda: tenant.acl_getuser("x")):
            with pytest.raises(KeyPrefixError):
                call()
        with pytest.raises(KeyPrefixError):
            tenant.acl_setuser(USER)
        assert tenant.acl_whoami() == "default"


ASYNC_CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any], Any]] = [
    ("acl_setuser", (USER,), {"enabled": True, "nopass": True, "keys": ["k"]}, True),
    ("acl_getuser", (USER,), {}, lambda v: v["keys"] == ["~k"]),
    ("acl_dryrun", (USER, "get", "k"), {}, lambda v: isinstance(v, bytes)),
    ("acl_cat", (), {}, lambda v: "read" in v),
    ("acl_users", (), {}, lambda v: USER in v),
    ("acl_list", (), {}, lambda v: isinstance(v[0], str)),
    ("acl_whoami", (), {}, "default"),
    ("acl_help", (), {}, lambda v: isinstance(v[0], str)),
    ("acl_genpass", (8,), {}, lambda v: len(v) == 2),
    ("acl_log", (), {}, lambda v: isinstance(v, list)),
    ("acl_log_reset", (), {}, True),
    ("acl_deluser", (USER,), {}, 1),
]


def _check(name: str, value: Any, expected: Any) -> None:
    if callable(expected):
        assert expected(value), (name, value)
    else:
        assert value == expected, (name, value)


def test_async_client_and_pipelines(r: Any, async_redis_client: AsyncRedisClient) -> None:
    client = async_redis_client

    async def main() -> None:
        for name, args, kwargs, expected in ASYNC_CALLS:
            _check(name, await getattr(client, name)(*args, **kwargs), expected)
        for transaction in (False, True):
            async with client.pipeline(transaction=transaction) as pipe:
                for name, args, kwargs, _ in ASYNC_CALLS:
                    getattr(pipe, name)(*args, **kwargs)
                values = await pipe.execute()
            for (name, _, _, expected), value in zip(ASYNC_CALLS, values):
                _check(name, value, expected)

    run(main())
    for transaction in (False, True):
        with r.pipeline(transaction=transaction) as pipe:
            for name, args, kwargs, _ in ASYNC_CALLS:
                getattr(pipe, name)(*args, **kwargs)
            for (name, _, _, expected), value in zip(ASYNC_CALLS, pipe.execute()):
                _check(name, value, expected)
