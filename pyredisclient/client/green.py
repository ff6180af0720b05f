"""Green threads (gevent, eventlet) and a client whose waits are in C.

gevent's and eventlet's monkey-patching makes Python's own sockets yield to their hub,
so redis-py's waits let the other greenlets run. This client waits in C (poll, with
the GIL released): a call blocks its OS thread, and with it every greenlet of that
thread, until it returns. For most calls that is one round trip; for a blocking
command, a subscription's wait, or a connect to a Redis that is down, it is the
whole timeout. The first blocking client made in a patched process says so, once,
in a warning log (README: Green threads).
"""

from __future__ import annotations

import logging
import sys
import threading

__all__ = ["patched_by", "warn_if_green_threads"]

log = logging.getLogger("pyredisclient")

_warned = threading.Event()
_warning = threading.Lock()  # two clients made at once: still one warning


def patched_by() -> str | None:
    """``"gevent"`` or ``"eventlet"`` when that library has patched the socket
    module in this process, else None. Looks only at modules already imported."""
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("socket"):
        return "gevent"
    patcher = sys.modules.get("eventlet.patcher")
    if patcher is not None and patcher.is_monkey_patched("socket"):
        return "eventlet"
    return None


def warn_if_green_threads() -> None:
    """Log a warning, the first time in a process patched by gevent or eventlet,
    that this client's calls block the hub (see the module's docstring)."""
    if _warned.is_set():
        return
    library = patched_by()
    if library is None:
        return
    with _warning:
        if _warned.is_set():
            return
        _warned.set()
    log.warning(
        "%s has patched sockets, but pyredisclient waits in C: each call blocks every "
        "greenlet of its thread until it returns (a blocking command or a connect to "
        "a Redis that is down, for its whole timeout). Run calls in %s's thread "
        "pool, or use OS threads or the asyncio client (README: Green threads)",
        library,
        library,
        extra={"redis_event": "green_threads", "redis_green": library},
    )
