"""Key-prefix logic without a server: key types, argument conversion, the bytes
sent for each key form, malformed forms, reply stripping, supported_commands().
"""

from __future__ import annotations

from typing import Any, Tuple

import pytest

import pyredisclient
from pyredisclient import DataError
from pyredisclient.config import ConfigurationError
from pyredisclient.keyprefix import (
    KeyPrefixer,
    KeyPrefixError,
    supported_commands,
)

# -- pure logic (no server) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "key", "expected"),
    [
        ("p:", "k", b"p:k"),
        ("p:", b"k", b"p:k"),
        (b"p:", "k", b"p:k"),
        (b"p:", b"k", b"p:k"),
        ("p:", bytearray(b"k"), b"p:k"),
        ("p:", memoryview(b"xkx")[1:2], b"p:k"),
        (b"p:", memoryview(b"k"), b"p:k"),
        ("p:", 12, b"p:12"),
        (b"p:", -3, b"p:-3"),
        ("p:", 2**70, b"p:1180591620717411303424"),
        ("p:", 1.5, b"p:1.5"),
        ("p:", 2.0, b"p:2.0"),
        ("é:", "ü", "é:ü".encode()),
        (b"\xc3\xa9:", "ü", "é:ü".encode()),
    ],
)
def test_key_types(prefix: Any, key: Any, expected: Any) -> None:
    """Every argument is sent as the bytes the C layer would send for it."""
    result = KeyPrefixer(prefix).prefix_args(("GET", key))
    assert result == (b"GET", expected)
    assert type(result[1]) is bytes
    # The C layer encodes the key itself to the same bytes (read back from a batch).
    batch = pyredisclient._core.Batch()
    batch.append((key,))
    sent = expected[len(KeyPrefixer(prefix).prefix_args(("GET", b""))[1]) :]
    assert batch.command_name(0) == sent.decode("utf-8", "backslashreplace")


@pytest.mark.parametrize("key", [True, None, object(), ["k"]])
def test_keys_of_other_types_raise_data_error(key: Any) -> None:
    with pytest.raises(DataError, match="Invalid input of type"):
        KeyPrefixer("p:").prefix_args(("GET", key))


def test_arguments_are_refused_as_the_c_layer_refuses_them() -> None:
    prefixer = KeyPrefixer("p:")
    with pytest.raises(
        DataError, match="argument 1 of GET: a str that cannot be encoded as utf-8: U\\+DC80"
    ):
        prefixer.prefix_args(("GET", "a\udc80"))  # a lone surrogate
    with pytest.raises(DataError, match="argument 2: a memoryview argument must be C-contig"):
        prefixer.prefix_args(("SET", "k", memoryview(b"abcdef")[::2]))
    with pytest.raises(DataError, match="'bool' for argument 2 of SET"):
        prefixer.prefix_args(("SET", "k", True))
    with pytest.raises(DataError, match="'NoneType' for argument 1\\."):
        prefixer.prefix_args((b"GET", None))


def test_arguments_use_the_clients_encoding() -> None:
    """A latin-1 client sends str arguments (and a str prefix) in latin-1, with its
    error handler, as the C layer does."""
    prefixer = KeyPrefixer("é:", encoding="latin-1", errors="replace")
    assert prefixer.prefix_args(("SET", "ü", "€", 1.5, 2)) == (
        b"SET",
        "é:ü".encode("latin-1"),
        b"?",
        b"1.5",
        b"2",
    )

    class Sub(str):
        pass

    assert prefixer.prefix_args((Sub("GET"), Sub("k"))) == (b"GET", "é:k".encode("latin-1"))
    with pytest.raises(DataError, match="cannot be encoded as latin-1: U\\+20AC"):
        KeyPrefixer("p:", encoding="latin-1").prefix_args(("GET", "€"))
    with pytest.raises(ConfigurationError, match="cannot be encoded as latin-1"):
        KeyPrefixer("€:", encoding="latin-1")


def test_prefix_is_kept_as_given_and_must_be_non_empty() -> None:
    assert KeyPrefixer("p:").prefix == "p:"
    assert KeyPrefixer(b"p:").prefix == b"p:"
    for bad in ("", b""):
        with pytest.raises(ConfigurationError, match="empty"):
            KeyPrefixer(bad)
    with pytest.raises(ConfigurationError, match="str or bytes"):
        KeyPrefixer(5)  # type: ignore[arg-type]
    assert "allow=['admin', 'databases', 'scripts', 'server_info', 'unconfined']" in repr(
        KeyPrefixer("p:", allow_unsafe=True)
    )
    assert KeyPrefixer("p:", allow="all").allow_unsafe is True
    assert KeyPrefixer("p:", allow=["scripts"]).allowed == {"scripts"}
    with pytest.raises(ConfigurationError, match="unknown scrpts"):
        KeyPrefixer("p:", allow="scrpts")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("get", "k"), ("get", "p:k")),
        ((b"GET", b"k"), (b"GET", b"p:k")),
        (("GET",), ("GET",)),  # too few arguments: the server reports it
        (("MSET", "a", 1, "b", 2), ("MSET", "p:a", 1, "p:b", 2)),
        (("BLPOP", "a", "b", 0), ("BLPOP", "p:a", "p:b", 0)),
        (("BITOP", "OR", "d", "a", "b"), ("BITOP", "OR", "p:d", "p:a", "p:b")),
        (("EVAL", "s", 0), ("EVAL", "s", 0)),
        (("EVAL", "s", "2", "a", "b", "c"), ("EVAL", "s", "2", "p:a", "p:b", "c")),
        (("FCALL", "f", b"1", "a", "b"), ("FCALL", "f", b"1", "p:a", "b")),
        (("ZUNIONSTORE", "d", 2, "a", "b", "WEIGHTS", 1, 2),
         ("ZUNIONSTORE", "p:d", 2, "p:a", "p:b", "WEIGHTS", 1, 2)),
        (("BZMPOP", 0, 1, "a", "MIN"), ("BZMPOP", 0, 1, "p:a", "MIN")),
        (("XREAD", "COUNT", 1, "BLOCK", 0, "STREAMS", "a", "b", "0", "$"),
         ("XREAD", "COUNT", 1, "BLOCK", 0, "STREAMS", "p:a", "p:b", "0", "$")),
        (("XREADGROUP", "GROUP", "STREAMS", "c", "NOACK", "STREAMS", "a", ">"),
         ("XREADGROUP", "GROUP", "STREAMS", "c", "NOACK", "STREAMS", "p:a", ">")),
        (("GEORADIUSBYMEMBER", "g", "STORE", 1, "km", "STORE", "d", "STOREDIST", "e"),
         ("GEORADIUSBYMEMBER", "p:g", "STORE", 1, "km", "STORE", "p:d", "STOREDIST", "p:e")),
        (("GEORADIUS", "g", 0, 0, 1, "km", "COUNT", 1, "STORE", "d"),
         ("GEORADIUS", "p:g", 0, 0, 1, "km", "COUNT", 1, "STORE", "p:d")),
        (("SORT", "l", "LIMIT", 0, 1, "GET", "#", "GET", "o_*->f", "STORE", "d"),
         ("SORT", "p:l", "LIMIT", 0, 1, "GET", "#", "GET", "p:o_*->f", "STORE", "p:d")),
        (("SCAN", 0), ("SCAN", 0, "MATCH", "p:*")),
        (("SCAN", 0, "MATCH", "a*", "COUNT", 5, "MATCH", b"b"),
         ("SCAN", 0, "MATCH", "p:a*", "COUNT", 5, "MATCH", b"p:b")),
        (("KEYS", "*"), ("KEYS", "p:*")),
        (("PUBSUB", "CHANNELS"), ("PUBSUB", "CHANNELS", "p:*")),
        (("PUBSUB", "numsub", "a", "b"), ("PUBSUB", "numsub", "p:a", "p:b")),
        (("OBJECT", "ENCODING", "k"), ("OBJECT", "ENCODING", "p:k")),
        (("MEMORY", "USAGE", "k", "SAMPLES", 0), ("MEMORY", "USAGE", "p:k", "SAMPLES", 0)),
        (("XGROUP", "CREATE", "k", "g", "$"), ("XGROUP", "CREATE", "p:k", "g", "$")),
        (("DEBUG", "OBJECT", "k"), ("DEBUG", "OBJECT", "p:k")),
        (("PING",), ("PING",)),
        ((), ()),  # the C layer refuses an empty command
        ((bytearray(b"get"), "k"), (b"get", "p:k")),
        (("CLIENT", "SETNAME", "n"), ("CLIENT", "SETNAME", "n")),
        (("MOVE", "k", 2), ("MOVE", "p:k", 2)),
        (("COPY", "a", "b", "DB", 2, "REPLACE"), ("COPY", "p:a", "p:b", "DB", 2, "REPLACE")),
        (("MIGRATE", "h", 1, "k", 0, 5, "COPY", "AUTH", "KEYS", "KEYS", "a"),
         ("MIGRATE", "h", 1, "p:k", 0, 5, "COPY", "AUTH", "KEYS", "KEYS", "p:a")),
        (("MIGRATE", "h", 1, "", 0, 5, "AUTH2", "u", "p", "KEYS", "a", "b"),
         ("MIGRATE", "h", 1, "", 0, 5, "AUTH2", "u", "p", "KEYS", "p:a", "p:b")),
    ],
)  # fmt: skip
def test_prefix_args(args: Tuple[Any, ...], expected: Tuple[Any, ...]) -> None:
    """Sent as bytes: str as UTF-8, numbers in decimal (granted every category)."""
    sent = tuple(a if isinstance(a, bytes) else str(a).encode() for a in expected)
    assert KeyPrefixer("p:", allow="all").prefix_args(args) == sent


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("EVAL", "s", "x", "a"), "numkeys must be an integer"),
        (("EVAL", "s", -1), "does not match"),
        (("EVAL", "s", " 1", "a"), "numkeys must be an integer"),  # the server's syntax
        (("EVAL", "s", "+1", "a"), "numkeys must be an integer"),
        (("EVAL", "s", "1_0", "a"), "numkeys must be an integer"),
        (("EVAL", "s", 3, "a", "b"), "does not match"),
        (("ZUNION", 1.5, "a"), "numkeys must be an integer"),
        (("XREAD", "COUNT", 1, "a", "0"), "unexpected 'a' before STREAMS"),
        (("XREAD", "STREAMS", "a", "b", "0"), "as many IDs as keys"),
        (("XREAD", "COUNT", 1), "no STREAMS"),
    ],
)
def test_malformed_key_forms_raise_data_error(args: Tuple[Any, ...], message: str) -> None:
    with pytest.raises(DataError, match=message):
        KeyPrefixer("p:", allow="scripts").prefix_args(args)


def test_strip_callbacks() -> None:
    prefixer = KeyPrefixer("p:")

    def cb(args: Tuple[Any, ...], reply: Any, callback: Any = None) -> Any:
        wrapped = prefixer.wrap_callback(args, callback)
        return reply if wrapped is None else wrapped(reply)

    assert prefixer.wrap_callback(("GET", "k"), None) is None
    assert prefixer.wrap_callback(("GET", "k"), len) is len
    assert cb(("KEYS", "*"), [b"p:a", "p:b", b"other"]) == [b"a", "b", b"other"]
    assert cb(("SCAN", 0), [b"7", [b"p:a"]], tuple) == (b"7", [b"a"])
    assert cb(("BLPOP", "a", 0), None) is None
    assert cb(("BLPOP", "a", 0), [b"p:a", b"v"]) == [b"a", b"v"]
    assert cb(("LMPOP", 1, "a", "LEFT"), [b"p:a", [b"v"]]) == [b"a", [b"v"]]
    assert cb(("XREAD", "STREAMS", "a", "0"), [[b"p:a", []]]) == [[b"a", []]]
    assert cb(("PUBSUB", "NUMSUB", "a"), [b"p:a", 0]) == [b"a", 0]
    # A bytes prefix strips str replies too (decode_responses=True).
    assert KeyPrefixer(b"p:").wrap_callback(("KEYS", "*"), None)(["p:a"]) == ["a"]  # type: ignore[misc]
    with pytest.raises(KeyPrefixError):
        prefixer.wrap_callback(("FLUSHDB",), None)


def test_supported_commands_lists_subcommands_and_no_refused_command() -> None:
    names = supported_commands()
    assert "OBJECT ENCODING" in names and "GET" in names and "EVAL" not in names
    assert "EVAL" in supported_commands(["scripts"]) and "FLUSHDB" in supported_commands("all")
    for refused in ("FLUSHDB", "RANDOMKEY", "SCRIPT FLUSH", "DEBUG SLEEP", "SUBSCRIBE"):
        assert refused not in names
    assert names == sorted(names)
