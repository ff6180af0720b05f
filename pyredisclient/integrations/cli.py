"""Command line: ``python -m pyredisclient COMMAND``.

Commands:
  demo    a short tour of the client (a throwaway redis-server unless REDIS_URL is set)
  ping    PING a server and print the round-trip time
  health  print the health report as JSON; exit 0 healthy, 1 degraded, 2 unhealthy
  info    print INFO (a section, or everything) as JSON
  config  print the effective configuration (from --url or the environment), redacted
  bench   time GET/SET, a pipeline and MGET against a server (or a throwaway one)

The server comes from ``--url``, else the environment (``REDIS_URL`` or ``REDIS_HOST``,
``REDIS_PORT``, ...; see RedisConfig.from_env); ``demo`` and ``bench`` start a throwaway
redis-server unless ``--url`` or ``REDIS_URL`` is given. ``--url`` and ``--log-level`` go
before or after the command. Exit status: 0 success, 1 Redis failed (one line on
stderr, no traceback), 2 usage or configuration error.

Adding a command: write ``def cmd_NAME(args) -> int`` and decorate it with
``@subcommand("NAME", help=..., arguments=...)``; it appears in ``--help``.
Printing is fine here: this is the CLI, not the library.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any, Callable, NamedTuple

Handler = Callable[[argparse.Namespace], int]
Configure = Callable[[argparse.ArgumentParser], None]


class _Subcommand(NamedTuple):
    help: str
    configure: Configure | None
    handler: Handler


_SUBCOMMANDS: dict[str, _Subcommand] = {}


def subcommand(
    name: str, *, help: str, arguments: Configure | None = None
) -> Callable[[Handler], Handler]:
    """Register ``handler(args) -> exit status`` as ``python -m pyredisclient NAME``."""

    def register(handler: Handler) -> Handler:
        _SUBCOMMANDS[name] = _Subcommand(help, arguments, handler)
        return handler

    return register


def _redact(url: str) -> str:
    """The URL with any password shown as ***."""
    try:
        from ..config import redact_url
    except ImportError:  # pragma: no cover - config is part of the package
        return url
    return redact_url(url)


def _url_argument(parser: argparse.ArgumentParser, default_help: str) -> None:
    # SUPPRESS: given after the command it is set, otherwise the value given before
    # the command (or None) stays.
    parser.add_argument(
        "--url",
        default=argparse.SUPPRESS,
        help=f"server URL (default: $REDIS_URL, else {default_help})",
    )


def _count(lo: int, hi: int) -> Callable[[str], int]:
    """An argparse type: an integer in [lo, hi], else a usage error."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be {lo}-{hi:,}, got {value}")
        return value

    return parse


def _where(config: Any) -> str:
    """The server of a config as a URL without options, the password as ***."""
    return str(config.to_url()).partition("?")[0]


# -- ping -------------------------------------------------------------------


def _ping_arguments(parser: argparse.ArgumentParser) -> None:
    _url_argument(parser, "the REDIS_* environment, else localhost:6379")
    parser.add_argument(
        "-c", "--count", type=_count(1, 1_000_000), default=1, help="PINGs to send (default 1)"
    )


@subcommand("ping", help="PING a server and print the round-trip time", arguments=_ping_arguments)
def cmd_ping(args: argparse.Namespace) -> int:
    from pyredisclient import RedisClient

    client = RedisClient(config=_config_from(args))
    where = _where(client.config)
    try:
        for _ in range(args.count):
            started = time.perf_counter()
            reply = client.ping()
            elapsed_ms = (time.perf_counter() - started) * 1000
            print(f"{where}: {reply!r} in {elapsed_ms:.3f} ms")
    finally:
        client.close()
    return 0


# -- health, info, config, bench --------------------------------------------


def _config_from(args: argparse.Namespace) -> Any:
    """The RedisConfig for ``--url``, else the environment; raises ConfigurationError."""
    from pyredisclient import RedisConfig

    if args.url:
        return RedisConfig.from_url(args.url)
    return RedisConfig.from_env()


def _print_json(value: Any) -> None:
    import json

    print(json.dumps(value, indent=2, sort_keys=True, default=str))


def _config_error(exc: BaseException) -> int:
    print(f"configuration error: {exc}", file=sys.stderr)
    return 2


def _health_arguments(parser: argparse.ArgumentParser) -> None:
    _url_argument(parser, "the REDIS_* environment")
    parser.add_argument("--deep", action="store_true", help="also time a SET/GET/DEL round")


@subcommand(
    "health",
    help="health report as JSON; exit 0 healthy, 1 degraded, 2 unhealthy",
    arguments=_health_arguments,
)
def cmd_health(args: argparse.Namespace) -> int:
    from pyredisclient import ConfigurationError, RedisClient

    try:
        client = RedisClient(config=_config_from(args))
    except ConfigurationError as exc:
        _print_json({"status": "unhealthy", "error": str(exc), "type": "ConfigurationError"})
        return 2
    try:
        report = client.health_check(deep=args.deep)
    finally:
        client.close()
    _print_json(report)
    return {"healthy": 0, "degraded": 1}.get(report.get("status"), 2)


def _info_arguments(parser: argparse.ArgumentParser) -> None:
    _url_argument(parser, "the REDIS_* environment")
    parser.add_argument("section", nargs="?", default=None, help="an INFO section, e.g. memory")


@subcommand("info", help="print INFO as JSON", arguments=_info_arguments)
def cmd_info(args: argparse.Namespace) -> int:
    from pyredisclient import ConfigurationError, RedisClient

    try:
        client = RedisClient(config=_config_from(args), decode_responses=True)
    except ConfigurationError as exc:
        return _config_error(exc)
    try:
        _print_json(client.info(args.section) if args.section else client.info())
    finally:
        client.close()
    return 0


def _config_arguments(parser: argparse.ArgumentParser) -> None:
    _url_argument(parser, "the REDIS_* environment")


@subcommand(
    "config",
    help="print the effective configuration, secrets redacted",
    arguments=_config_arguments,
)
def cmd_config(args: argparse.Namespace) -> int:
    from pyredisclient import ConfigurationError

    try:
        config = _config_from(args)
    except ConfigurationError as exc:
        return _config_error(exc)
    _print_json(config.debug_info())
    return 0


def _bench_arguments(parser: argparse.ArgumentParser) -> None:
    _url_argument(parser, "a throwaway local redis-server")
    parser.add_argument(
        "-n",
        "--count",
        type=_count(1, 10_000_000),
        default=20000,
        help="operations per test (default 20000)",
    )


def _rate(label: str, n: int, seconds: float, unit: str = "ops/s") -> None:
    print(f"  {label:<28} {n / seconds:>12,.0f} {unit}   ({seconds * 1e6 / n:.2f} us/op)")


@subcommand(
    "bench",
    help="time GET/SET, a pipeline and MGET (quick; see benchmarks/ for the full one)",
    arguments=_bench_arguments,
)
def cmd_bench(args: argparse.Namespace) -> int:
    import pyredisclient

    count = args.count
    url = args.url or os.environ.get("REDIS_URL")
    with _demo_server(url) as target:
        client = pyredisclient.RedisClient.from_url(target)
        try:
            client.ping()  # a server that is down or refuses the password: one line
            print(f"pyredisclient {pyredisclient.__version__} against {_redact(target)}")
            value = b"x" * 16
            started = time.perf_counter()
            for _ in range(count):
                client.set("prc-bench:k", value)
            _rate("SET 16 B, sequential", count, time.perf_counter() - started)
            started = time.perf_counter()
            for _ in range(count):
                client.get("prc-bench:k")
            _rate("GET 16 B, sequential", count, time.perf_counter() - started)
            pipe = client.pipeline(transaction=False)
            started = time.perf_counter()
            for _ in range(count):
                pipe.get("prc-bench:k")
            pipe.execute()
            _rate(f"pipeline of {count} GETs", count, time.perf_counter() - started, "cmd/s")
            keys = [f"prc-bench:m{i}" for i in range(100)]
            client.mset(dict.fromkeys(keys, value))
            rounds = max(1, count // 100)
            started = time.perf_counter()
            for _ in range(rounds):
                client.mget(keys)
            _rate("MGET 100 keys", rounds, time.perf_counter() - started)
            client.delete("prc-bench:k", *keys)
        finally:
            client.close()
    return 0


# -- demo -------------------------------------------------------------------


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    _url_argument(parser, "a throwaway redis-server started for the demo")


@contextlib.contextmanager
def _demo_server(url: str | None) -> Iterator[str]:
    """Yield *url*, or the URL of a throwaway redis-server stopped afterwards."""
    if url:
        print(f"using the server at {_redact(url)}")
        yield url
        return
    from .testing import RedisServer, RedisServerError, redis_server_available

    if not redis_server_available():
        raise SystemExit(
            "error: REDIS_URL is not set and redis-server is not on PATH\n"
            "(install it with: bash scripts/setup.sh, or set REDIS_URL=redis://host:port/0)"
        )
    server = RedisServer()
    try:
        server.start()
    except RedisServerError as exc:
        server.close()
        raise SystemExit(f"error: could not start a throwaway redis-server: {exc}") from None
    with server:
        print(f"started a throwaway redis-server (pid {server.pid}) at {server.url}")
        try:
            yield server.url
        finally:
            print("stopping the throwaway redis-server")


def _show(label: str, value: Any) -> None:
    print(f"  {label:<40} -> {value!r}")


@subcommand("demo", help="a short tour of the client", arguments=_demo_arguments)
def cmd_demo(args: argparse.Namespace) -> int:
    import pyredisclient

    # Only these keys are touched (and deleted at the end), so pointing the demo
    # at a real server through REDIS_URL leaves everything else alone.
    prefix = "prc-demo:"
    keys = [prefix + name for name in ("greeting", "counter", "user:1", "queue", "pipe", "tx")]
    with _demo_server(args.url or os.environ.get("REDIS_URL")) as url:
        client = pyredisclient.RedisClient.from_url(url)
        try:
            print("\n1. Connect and PING")
            _show("client.ping()", client.ping())

            print("\n2. Strings, with an expiry")
            _show(f"client.set({keys[0]!r}, 'hello', ex=60)", client.set(keys[0], "hello", ex=60))
            _show(f"client.get({keys[0]!r})", client.get(keys[0]))
            _show(f"client.ttl({keys[0]!r})", client.ttl(keys[0]))

            print("\n3. Counters")
            for _ in range(3):
                _show(f"client.incr({keys[1]!r})", client.incr(keys[1]))

            print("\n4. A hash")
            user = {"name": "Ada", "language": "C"}
            _show(f"client.hset({keys[2]!r}, mapping={user!r})", client.hset(keys[2], mapping=user))
            _show(f"client.hgetall({keys[2]!r})", client.hgetall(keys[2]))

            print("\n5. A list")
            _show(f"client.rpush({keys[3]!r}, 'a', 'b', 'c')", client.rpush(keys[3], "a", "b", "c"))
            _show(f"client.lrange({keys[3]!r}, 0, -1)", client.lrange(keys[3], 0, -1))

            print("\n6. A pipeline: three commands, one round trip")
            pipe = client.pipeline(transaction=False)
            pipe.set(keys[4], "1")
            pipe.incr(keys[4])
            pipe.get(keys[4])
            _show("pipe.set/incr/get(...).execute()", pipe.execute())

            print("\n7. A transaction (MULTI/EXEC)")
            tx = client.pipeline(transaction=True)
            tx.set(keys[5], "before")
            tx.set(keys[5], "after")
            tx.get(keys[5])
            _show("tx.set/set/get(...).execute()", tx.execute())

            _demo_stats(client)
            _demo_fallback(pyredisclient)
        finally:
            with contextlib.suppress(Exception):
                client.delete(*keys)
            client.close()
    print("\ndone")
    return 0


def _demo_stats(client: Any) -> None:
    """Pool statistics, when this build of the client has them."""
    pool_stats = getattr(client, "pool_stats", None)
    if pool_stats is None:
        return
    print("\n8. Connection pool statistics")
    stats = pool_stats()
    items = stats.items() if isinstance(stats, dict) else [("pool_stats()", stats)]
    for name, value in items:
        _show(str(name), value)


def _demo_fallback(pyredisclient: Any) -> None:
    """with_redis_fallback: a cache read that degrades instead of failing."""
    with_redis_fallback = getattr(pyredisclient, "with_redis_fallback", None)
    if with_redis_fallback is None:
        return
    print("\n9. with_redis_fallback: when Redis is down, return a default instead of raising")
    from .testing import find_free_port

    # A port nobody listens on: every call fails fast with ConnectionError.
    dead = pyredisclient.RedisClient.from_url(
        f"redis://127.0.0.1:{find_free_port()}/0",
        socket_connect_timeout=0.5,
        socket_timeout=0.5,
    )

    def read_greeting() -> Any:
        return dead.get("greeting")

    # The same as decorating read_greeting with @with_redis_fallback(...).
    cached_greeting = with_redis_fallback("hello (from the fallback)")(read_greeting)

    try:
        _show("cached_greeting()  # server down", cached_greeting())
    finally:
        dead.close()


# -- main -------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one sub-parser per registered command."""
    parser = argparse.ArgumentParser(
        prog="python -m pyredisclient", description="pyredisclient command line"
    )
    _log_level_argument(parser, "warning")
    parser.add_argument(
        "--url",
        default=None,
        help="server URL, here or after the command (default: see the command's --help)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    for name, spec in _SUBCOMMANDS.items():
        sub = commands.add_parser(name, help=spec.help, description=spec.help)
        if spec.configure is not None:
            spec.configure(sub)
        _log_level_argument(sub, argparse.SUPPRESS)
        sub.set_defaults(handler=spec.handler)
    return parser


def _log_level_argument(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--log-level",
        default=default,
        choices=["debug", "info", "warning", "error"],
        help="show library log records from this level up (default: warning)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, args.log_level.upper()),
        format="  [log %(levelname)s %(name)s] %(message)s",
    )
    from pyredisclient import ConfigurationError, RedisError

    try:
        status: int = args.handler(args)
    except ConfigurationError as exc:
        return _config_error(exc)
    except RedisError as exc:
        # Redis down, a wrong password, a timeout: one clear line, no traceback.
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Output piped into e.g. `head`: stop quietly (Python docs, "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
