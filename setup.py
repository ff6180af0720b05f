"""Build the pyredisclient._core extension from csrc/.

Metadata lives in pyproject.toml; this file only declares the extension.
Environment switches (read at build time):
  PYREDISCLIENT_DEBUG=1     -O0 -g, keep asserts
  PYREDISCLIENT_SANITIZE=1  AddressSanitizer + UBSan
  PYREDISCLIENT_COVERAGE=1  gcov instrumentation (--coverage)
  PYREDISCLIENT_WERROR=0    drop -Werror (on by default)
  PYREDISCLIENT_STATIC_HIREDIS=1  link libhiredis.a into the extension
                            (self-contained wheels: scripts/build_wheels.sh)
hiredis is found with pkg-config: to build against another hiredis (such as
1.x from scripts/build_hiredis.sh), put its lib/pkgconfig first on
PKG_CONFIG_PATH.
"""

import os
import shutil
import subprocess
import sys
from glob import glob

from setuptools import Extension, setup

HIREDIS_HINT = """
pyredisclient needs the hiredis C library and its headers (found with pkg-config).
Install them with:
  Debian/Ubuntu:  apt-get install libhiredis-dev pkg-config libssl-dev
  Fedora/RHEL:    dnf install hiredis-devel pkgconf-pkg-config openssl-devel
  macOS:          brew install hiredis pkg-config openssl
or run scripts/setup.sh, which installs everything on Debian/Ubuntu.
"""


def pkg_config(*args):
    if shutil.which("pkg-config") is None:
        return None
    try:
        out = subprocess.run(
            ["pkg-config", *args], check=True, capture_output=True, text=True
        ).stdout
    except subprocess.CalledProcessError:
        return None
    return out.split()


def flag_values(flags, prefix):
    return [f[len(prefix) :] for f in flags if f.startswith(prefix)]


def env_on(name):
    return os.environ.get(name, "") not in ("", "0", "no", "false")


def static_hiredis(libs):
    """The path of libhiredis.a: in pkg-config's -L directories and libdir
    first, then wherever the compiler would find it."""
    dirs = flag_values(libs, "-L") + (pkg_config("--variable=libdir", "hiredis") or [])
    for d in dirs:
        path = os.path.join(d, "libhiredis.a")
        if os.path.isfile(path):
            return path
    cc = os.environ.get("CC", "cc").split()[0]
    try:
        out = subprocess.run(
            [cc, "-print-file-name=libhiredis.a"], check=True, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        out = ""
    if os.path.isabs(out) and os.path.isfile(out):
        return out
    raise SystemExit("error: PYREDISCLIENT_STATIC_HIREDIS=1 but libhiredis.a was not found")


def build_extension():
    hiredis_cflags = pkg_config("--cflags", "hiredis")
    hiredis_libs = pkg_config("--libs", "hiredis")
    if hiredis_cflags is None or hiredis_libs is None:
        sys.stderr.write(HIREDIS_HINT)
        raise SystemExit("error: hiredis not found by pkg-config")
    ssl_cflags = pkg_config("--cflags", "openssl") or []
    ssl_libs = pkg_config("--libs", "openssl") or ["-lssl", "-lcrypto"]

    cflags = hiredis_cflags + ssl_cflags
    libs = hiredis_libs + ssl_libs
    include_dirs = ["csrc/core", "csrc/binding", *flag_values(cflags, "-I")]
    macros = []
    for d in flag_values(cflags, "-D"):
        name, _, value = d.partition("=")
        macros.append((name, value or None))

    extra_compile = [
        "-std=c11",
        "-D_GNU_SOURCE",
        "-Wall",
        "-Wextra",
        "-Wstrict-prototypes",
        "-Wwrite-strings",
        "-Wshadow",
        "-Wno-missing-field-initializers",
        "-Wno-cast-function-type",
        "-fvisibility=hidden",
    ]
    # --exclude-libs: a static hiredis stays private to the extension (its
    # symbols are not exported, so no other hiredis in the process binds to
    # them, nor they to it).
    extra_link = ["-Wl,-Bsymbolic", "-Wl,--exclude-libs,ALL"]
    extra_objects = []
    libraries = flag_values(libs, "-l")
    if env_on("PYREDISCLIENT_STATIC_HIREDIS"):
        extra_objects.append(static_hiredis(libs))
        libraries = [lib for lib in libraries if lib != "hiredis"]
    if os.environ.get("PYREDISCLIENT_WERROR", "1") not in ("0", "no"):
        extra_compile.append("-Werror")
    if env_on("PYREDISCLIENT_DEBUG") or env_on("PYREDISCLIENT_COVERAGE"):
        extra_compile += ["-O0", "-g", "-UNDEBUG"]
    else:
        extra_compile += ["-O2"]
    if env_on("PYREDISCLIENT_SANITIZE"):
        san = [
            "-fsanitize=address,undefined",
            "-fno-omit-frame-pointer",
            "-fno-sanitize-recover=undefined",
        ]
        extra_compile += [*san, "-g"]
        extra_link += san
    if env_on("PYREDISCLIENT_COVERAGE"):
        extra_compile += ["--coverage"]
        extra_link += ["--coverage"]

    sources = sorted(glob("csrc/core/*.c")) + sorted(glob("csrc/binding/*.c"))
    return Extension(
        "pyredisclient._core",
        sources=sources,
        include_dirs=include_dirs,
        define_macros=macros,
        library_dirs=flag_values(libs, "-L"),
        libraries=[*libraries, "pthread"],
        extra_objects=extra_objects,
        extra_compile_args=extra_compile,
        extra_link_args=extra_link,
        depends=sorted(glob("csrc/*/*.h")),
    )


setup(ext_modules=[build_extension()])
