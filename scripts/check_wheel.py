"""Install a built wheel into a fresh venv and smoke-test it where the system's
hiredis and OpenSSL cannot be seen.

    .venv/bin/python scripts/check_wheel.py WHEEL [--python PY]

1. ``PY -m venv`` in a temporary directory, ``pip install --no-index`` of the
   wheel alone (it has no dependencies).
2. A throwaway redis-server on loopback (pyredisclient.testing from this
   checkout), with a TLS port too when the server was built with TLS.
3. The smoke test (``--smoke``, this same file run by the venv's python with
   ``-I``, from an empty directory) in a private mount namespace
   (``unshare -m``) where every libhiredis, libssl and libcrypto of the
   system is hidden under an empty file bound over it. It first proves the
   hiding (loading those libraries by name must fail), then checks that the
   package comes from the venv and maps no libhiredis, and runs SET/GET, a
   pipeline, a transaction, the asyncio client and TLS.

Exit status 0 when everything passed. Every wait is bounded; the server is
stopped by its pid.
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, List

HIDDEN_PATTERNS = ("libhiredis*.so*", "libssl.so*", "libcrypto.so*")
LIB_DIRS = (
    "/lib",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
)
SMOKE_TIMEOUT = 60.0


def say(msg: str) -> None:
    print(f"check_wheel: {msg}", flush=True)


# -- the smoke test: runs inside the namespace, with only the wheel's package --


def smoke(port: int, tls_port: int | None, ca_cert: str | None) -> None:
    import asyncio
    import ctypes

    for name in ("libhiredis.so.0.14", "libhiredis.so.1.1.0", "libssl.so.3", "libcrypto.so.3"):
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        raise SystemExit(f"smoke: {name} is still loadable: the system libraries are not hidden")

    import pyredisclient
    from pyredisclient import AsyncRedisClient, RedisClient, _core

    here = os.path.realpath(pyredisclient.__file__)
    if not here.startswith(os.path.realpath(sys.prefix) + os.sep):
        raise SystemExit(f"smoke: pyredisclient imported from {here}, not from {sys.prefix}")
    with open("/proc/self/maps") as maps:
        mapped = {line.split()[-1] for line in maps if "/" in line}
    hiredis = sorted(p for p in mapped if "libhiredis" in p)
    if hiredis:
        raise SystemExit(f"smoke: a shared libhiredis is mapped: {hiredis}")
    ssl_libs = sorted(p for p in mapped if "libssl" in p or "libcrypto" in p)
    print(f"smoke: Python {sys.version.split()[0]}, pyredisclient from {os.path.dirname(here)}")
    print(f"smoke: hiredis {_core.hiredis_version} (static), OpenSSL from {ssl_libs}")

    with RedisClient(host="127.0.0.1", port=port, socket_timeout=5) as client:
        assert client.ping() is True
        assert client.set("smoke:k", "v") is True
        assert client.get("smoke:k") == b"v"
        pipe = client.pipeline(transaction=False)
        pipe.set("smoke:a", 1).incr("smoke:a").get("smoke:a")
        assert pipe.execute() == [True, 2, b"2"], "pipeline"
        with client.pipeline() as tx:
            tx.incr("smoke:t").incr("smoke:t")
            assert tx.execute() == [1, 2], "transaction"
    print("smoke: SET/GET, pipeline, transaction ok")

    async def run_async() -> Any:
        aclient = AsyncRedisClient(host="127.0.0.1", port=port, socket_timeout=5)
        try:
            await aclient.set("smoke:async", "x")
            return await aclient.get("smoke:async")
        finally:
            await aclient.aclose()

    assert asyncio.run(run_async()) == b"x", "asyncio"
    print("smoke: asyncio client ok")

    if tls_port:
        with RedisClient(
            host="127.0.0.1",
            port=tls_port,
            ssl=True,
            ssl_ca_certs=ca_cert,
            socket_timeout=5,
            socket_connect_timeout=5,
        ) as tls:
            assert tls.set("smoke:tls", "t") is True
            assert tls.get("smoke:tls") == b"t"
        print("smoke: TLS ok (bundled OpenSSL)")
    else:
        print("smoke: TLS skipped (this redis-server has no TLS)")
    print("smoke: PASSED")


# -- the driver: venv, server, namespace ---------------------------------------


def hidden_libraries() -> List[str]:
    """Real paths of every system copy of the libraries the wheel must bundle."""
    found = set()
    for directory in LIB_DIRS:
        for pattern in HIDDEN_PATTERNS:
            for path in glob.glob(os.path.join(directory, pattern)):
                real = os.path.realpath(path)
                if os.path.isfile(real):
                    found.add(real)
    return sorted(found)


def run(cmd: List[str], timeout: float, **kwargs: Any) -> None:
    subprocess.run(cmd, check=True, timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)


def start_server() -> Any:
    from pyredisclient.testing import RedisServer, RedisServerError

    if shutil.which("openssl"):
        server = RedisServer(tls=True, tls_auth_clients="no", tls_plain_port=True)
        try:
            return server.start()
        except RedisServerError as exc:
            say(f"no TLS server ({str(exc).splitlines()[0]}); plain TCP only")
            server.close()
    return RedisServer().start()


def check(wheel: str, python: str, keep: bool) -> int:
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        say("error: needs unshare and mount (util-linux)")
        return 2
    work = tempfile.mkdtemp(prefix="pyrc-wheel-")
    server = None
    try:
        venv = os.path.join(work, "venv")
        t0 = time.monotonic()
        run([python, "-m", "venv", venv], timeout=120)
        vpy = os.path.join(venv, "bin", "python")
        run(
            [vpy, "-m", "pip", "install", "-q", "--no-index", "--no-deps", wheel],
            timeout=120,
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
        say(f"installed {os.path.basename(wheel)} into a fresh venv ({time.monotonic() - t0:.1f}s)")

        hidden = hidden_libraries()
        empty = os.path.join(work, "empty")
        open(empty, "w").close()
        cwd = os.path.join(work, "cwd")
        os.mkdir(cwd)
        server = start_server()
        say(f"hiding {len(hidden)} system libraries: {' '.join(hidden)}")
        smoke_args = ["--smoke", "--port", str(server.plain_port or server.port)]
        if server.tls_port:
            smoke_args += ["--tls-port", str(server.tls_port), "--ca", server.ca_cert]
        # One shell in the new mount namespace: bind the empty file over each
        # library, then exec the smoke test. -I: no PYTHONPATH, no user site.
        script = 'e=$1; shift; while [ "$1" != -- ]; do mount --bind "$e" "$1"; shift; done; shift; exec "$@"'
        unshare = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-r", "-m"]
        cmd = [*unshare, "--", "/bin/sh", "-c", script, "sh", empty, *hidden, "--"]
        cmd += [vpy, "-I", os.path.abspath(__file__), *smoke_args]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LD_"))}
        proc = subprocess.run(
            cmd, cwd=cwd, env=env, timeout=SMOKE_TIMEOUT, stdin=subprocess.DEVNULL, check=False
        )
        if proc.returncode != 0:
            say(f"FAILED: the smoke test exited with {proc.returncode}")
            return 1
        return 0
    finally:
        if server is not None:
            server.close()
        if keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", nargs="?")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the new venv")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--smoke", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tls-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ca", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.smoke:
        smoke(args.port, args.tls_port, args.ca)
        return 0
    if not args.wheel:
        parser.error("the wheel to check is required")
    return check(os.path.abspath(args.wheel), args.python, args.keep)


if __name__ == "__main__":
    sys.exit(main())
