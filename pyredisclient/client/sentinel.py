"""Sentinel: a resolver in front of one standalone pool.

``RedisClient.from_sentinel(["h1:26379", "h2:26379"], "mymaster")`` builds an
ordinary RedisClient whose command hook asks a :class:`SentinelResolver` for the
current pool. The resolver asks the sentinels for the primary's address
(``SENTINEL GET-MASTER-ADDR-BY-NAME``), checks with ``ROLE`` that the server there
says it is a primary, and builds a standalone ``_core.Client`` (pool, breaker,
safe retries) for it. A failover is noticed three ways: the ``+switch-master`` the
sentinels publish (the resolver subscribes on one sentinel and looks, without
blocking, at most every SWITCH_POLL_INTERVAL as commands run) names the new primary;
the old primary answers READONLY (demoted) or NOREPLICAS (its replica promoted,
with ``min-replicas-to-write``); or its connections fail, and the sentinels are asked
again. A new primary, once ROLE confirms it, gets a pool of its own and the old pool
is closed (its connections are drained: clean or gone). The command is then sent
again when that is safe: READONLY and NOREPLICAS mean it did not run; a connection
error only when nothing was sent or the command is replay-safe. A replica resolver does the same for reads
from a random healthy replica (``SENTINEL REPLICAS``).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Sequence, Tuple

from .._core import Client as CoreClient
from .._core import Subscriber
from .._steps import Steps
from ..config import ConfigurationError, RedisConfig, hide_password
from ..config.retry import backoff_pause
from ..config.url import parse_addresses
from ..exceptions import ConnectionError, RedisError, ResponseError
from ..resilience.retry import may_have_run, refused_by_role, replay_safe
from .base import build_config, core_client_kwargs

__all__ = [
    "MasterNotFoundError",
    "SentinelResolver",
    "SlaveNotFoundError",
    "attach",
    "parse_sentinels",
    "replica_resolver",
    "sentinel_client",
]

logger = logging.getLogger("pyredisclient")

_BAD_FLAGS = frozenset({"s_down", "o_down", "disconnected"})
#: How often commands look for a ``+switch-master`` announcement (seconds).
SWITCH_POLL_INTERVAL = 0.05
_RECHECK: Any = object()  # the watch was down: a switch may have been missed


class MasterNotFoundError(ConnectionError):
    """No sentinel names a primary (or replica) for the service that is reachable
    and says it is one."""


class SlaveNotFoundError(MasterNotFoundError):
    """No sentinel names a replica for the service that is reachable and says it is
    one (redis-py's name; a MasterNotFoundError too, which this client raised before)."""


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value)


def parse_sentinels(sentinels: Iterable[Any]) -> List[Tuple[str, int]]:
    """``["h1:26379", ("h2", 26379)]`` as a list of (host, port); at least one."""
    out = parse_addresses(sentinels, "sentinels")
    if not out:
        raise ConfigurationError("from_sentinel needs at least one sentinel", "sentinels")
    return out


class SentinelResolver:
    """The current pool of a sentinel-watched service, and its replacement after a
    failover. Thread-safe; shared by a client and its views.

    ``role`` is "primary" or "replica". ``config`` is the data nodes' configuration
    (its host and port are replaced by what the sentinels say); ``sentinel_config``
    the sentinels' (password, TLS).
    """

    def __init__(
        self,
        sentinels: Sequence[Tuple[str, int]],
        service_name: str,
        config: RedisConfig,
        sentinel_config: RedisConfig,
        role: str = "primary",
        retry_timeout: float | None = None,
    ) -> None:
        self.service_name = service_name
        self.role = role
        self.config = config
        self.sentinel_config = sentinel_config
        if retry_timeout is None:
            retry_timeout = config.socket_timeout if config.socket_timeout is not None else 5.0
        self.retry_timeout = retry_timeout
        self.core: Any = None  # the current pool: a _core.Client, or None
        self.address: Tuple[str, int] | None = None
        self.switches = 0
        self._sentinels = list(sentinels)
        self._sentinel_cores: Dict[Tuple[str, int], Any] = {}
        self._lock = threading.Lock()
        self._closed = False
        # The +switch-master subscription on one sentinel (primary role only).
        self._watch: Any = None
        self._watch_lock = threading.Lock()  # one poller at a time
        self._watch_next = 0  # index of the sentinel to watch next
        self._watch_lost = 0  # the watch's disconnects seen
        self._watch_gap = False  # the watch moved on after a loss: recheck once it is up
        self._next_poll = 0.0

    def set_retry(self, policy: Dict[str, Any]) -> None:
        """Follow the retry options ``policy`` (a client's set_retry): the current
        pool now, and the pools of later failovers."""
        with self._lock:
            self.config = self.config.replace(**policy)
            if self.core is not None:
                c = self.config
                self.core.set_retry(c.retry_attempts, c.retry_base, c.retry_cap)

    # -- asking the sentinels ------------------------------------------------------

    def sentinel_addresses(self) -> List[Tuple[str, int]]:
        """The sentinels' addresses, the one that last answered first."""
        return list(self._sentinels)

    def _sentinel(self, address: Tuple[str, int]) -> Any:
        core = self._sentinel_cores.get(address)
        if core is None:
            host, port = address
            config = self.sentinel_config.replace(host=host, port=port)
            core = self._sentinel_cores[address] = CoreClient(**core_client_kwargs(config))
        return core

    def _ask(self, args: Tuple[Any, ...]) -> List[Tuple[Tuple[str, int], Any]]:
        """Each reachable sentinel's reply, first answer first."""
        answers = []
        for address in list(self._sentinels):
            try:
                answers.append((address, self._sentinel(address).execute(args)))
            except RedisError as exc:
                logger.debug("sentinel %s:%s did not answer: %s", *address, exc)
        return answers

    def _candidates(self) -> List[Tuple[str, int]]:
        """Addresses to try for the role, best first."""
        if self.role == "primary":
            found = []
            for sentinel, reply in self._ask(
                ("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service_name)
            ):
                if reply:
                    address = (_text(reply[0]), int(reply[1]))
                    if address not in found:
                        found.append(address)
                    # The sentinel that answered goes first next time (as redis-py).
                    self._sentinels.remove(sentinel)
                    self._sentinels.insert(0, sentinel)
                    break
            return found
        replicas: List[Tuple[str, int]] = []
        for _, reply in self._ask(("SENTINEL", "REPLICAS", self.service_name)):
            for entry in reply or ():
                fields = {_text(entry[i]): entry[i + 1] for i in range(0, len(entry) - 1, 2)}
                flags = set(_text(fields.get("flags", "")).split(","))
                if flags & _BAD_FLAGS:
                    continue
                address = (_text(fields.get("ip", "")), int(fields.get("port", 0)))
                if address not in replicas:
                    replicas.append(address)
            if replicas:
                break
        random.shuffle(replicas)
        return replicas

    def _verified(self, address: Tuple[str, int]) -> Any:
        """A pool for ``address`` if the server there has the role (ROLE), else None."""
        host, port = address
        core = CoreClient(**core_client_kwargs(self.config.replace(host=host, port=port)))
        try:
            role = _text(core.execute(("ROLE",))[0])
        except RedisError as exc:
            logger.debug("sentinel: %s:%s did not answer ROLE: %s", host, port, exc)
            role = ""
        if role == ("master" if self.role == "primary" else "slave"):
            return core
        core.close()
        return None

    # -- the current pool ----------------------------------------------------------

    def current(self) -> Any:
        """The current pool, resolved on first use."""
        core = self.core
        if core is None:
            with self._lock:
                if self.core is None:
                    self._resolve()
                core = self.core
        return core

    def refresh(self, failed: Any) -> bool:
        """After a failure on pool ``failed``: ask the sentinels again and swap in a
        pool for a different address. True when the current pool is not ``failed``
        any more (switched here or by another thread)."""
        with self._lock:
            if self.core is not failed:
                return True
            try:
                return self._resolve(keep=self.address)
            except MasterNotFoundError:
                return False

    def refresh_quietly(self, failed: Any) -> None:
        """:meth:`refresh` where nothing waits for its answer (a pipeline's batch,
        which is not sent again): a question no sentinel answers is left for the
        next command."""
        try:
            self.refresh(failed)
        except RedisError:
            pass

    def _resolve(self, keep: Tuple[str, int] | None = None) -> bool:
        if self._closed:
            raise ConnectionError("client is closed")
        for address in self._candidates():
            if address == keep:
                if self.role == "primary":
                    return False  # the sentinels still name it: no failover yet
                continue  # another replica, if there is one
            core = self._verified(address)
            if core is not None:
                self._swap(core, address)
                return True
        if keep is not None:
            return False
        error = MasterNotFoundError if self.role == "primary" else SlaveNotFoundError
        raise error(
            f"no sentinel of {len(self._sentinels)} names a reachable {self.role} for "
            f"{self.service_name!r} that says it is one (ROLE)"
        )

    def _swap(self, core: Any, address: Tuple[str, int]) -> None:
        """Make ``core`` (for ``address``) the current pool; drain the old one (lock held)."""
        old, self.core, self.address = self.core, core, address
        if old is not None:
            self.switches += 1
            logger.warning(
                "sentinel: %s %r is now %s:%s; the old pool is drained",
                self.role,
                self.service_name,
                *address,
            )
            old.close()

    def switch_to(self, address: Any) -> bool:
        """After a ``+switch-master`` naming ``address``: swap in a pool for it once
        ROLE confirms it is a primary. ``_RECHECK`` (the watch was down) asks the
        sentinels instead. True when the current pool changed."""
        if address is _RECHECK:
            return self.refresh(self.core)
        with self._lock:
            if self._closed or address == self.address:
                return False
            core = self._verified(address)
            if core is None:
                return False
            self._swap(core, address)
            return True

    # -- +switch-master ------------------------------------------------------------

    def poll_ready(self) -> bool:
        """Whether a look for an announcement is due now (poll_due without taking
        the turn: a caller deciding whether to look at all)."""
        return (
            self.role == "primary" and self.core is not None and time.monotonic() >= self._next_poll
        )

    def poll_due(self) -> bool:
        """Whether this command should look for an announcement (at most one look per
        SWITCH_POLL_INTERVAL; a race may let two callers look, poll_switch keeps
        them apart)."""
        if not self.poll_ready():
            return False
        self._next_poll = time.monotonic() + SWITCH_POLL_INTERVAL
        return True

    def poll_switch(self) -> Any:
        """What the sentinels announced since the last look: the (host, port) a
        ``+switch-master`` for this service names, ``_RECHECK`` when the watch
        reconnected (an announcement may have been missed), or None. Reads only what
        has arrived; the first look subscribes (connecting: run it where blocking
        is allowed)."""
        if not self._watch_lock.acquire(blocking=False):
            return None
        try:
            return self._poll_watch()
        finally:
            self._watch_lock.release()

    def _poll_watch(self) -> Any:
        watch = self._watch
        if watch is None:
            if self._closed:
                return None
            address = self._sentinels[self._watch_next % len(self._sentinels)]
            host, port = address
            config = self.sentinel_config.replace(host=host, port=port)
            watch = Subscriber(**core_client_kwargs(config))
            watch.request(("SUBSCRIBE", "+switch-master"))
            self._watch, self._watch_lost = watch, 0
        found: Any = None
        try:
            for _ in range(64):  # what arrived, bounded
                msg = watch.get_message(0.0, False)
                if msg is None:
                    break
                kind = msg["type"]
                if kind == "reconnect" or (kind == "subscribe" and self._watch_gap):
                    self._watch_gap = False  # an announcement may have been missed
                    found = found or _RECHECK
                elif kind == "message":
                    fields = _text(msg["data"]).split()
                    if len(fields) == 5 and fields[0] == self.service_name:
                        found = (fields[3], int(fields[4]))
            lost = watch.stats()["disconnects"]
        except RedisError:  # closed, or inherited over a fork: start a new watch
            lost = -1
        if lost != self._watch_lost:  # that sentinel is unreachable: watch the next
            self._watch = None
            self._watch_next += 1
            self._watch_gap = True
            watch.close()
        return found

    def close(self) -> None:
        with self._lock:
            self._closed = True
            cores = list(self._sentinel_cores.values())
            if self.core is not None:
                cores.append(self.core)
        with self._watch_lock:
            watch, self._watch = self._watch, None
        if watch is not None:
            watch.close()
        for core in cores:
            core.close()

    # -- one command, following a failover ---------------------------------------------

    def pool_steps(self, offload: Callable[..., Any]) -> Steps[Any]:
        """The pool a command or a pipeline's batch goes to, as steps: first, at most
        every SWITCH_POLL_INTERVAL, what the +switch-master watch announced (its
        socket read on the side), then the current pool (asked for on first use).
        ``offload(func, *args)`` runs the resolver's own blocking I/O."""
        if self.poll_due():
            announced = yield offload(self.poll_switch)
            if announced is not None:
                yield offload(self.switch_to, announced)
        core = self.core
        if core is None:
            core = yield offload(self.current)
        return core

    def run_steps(
        self,
        client: Any,
        args: Sequence[Any],
        execute: Callable[[Any, Sequence[Any]], Any],
        sleep: Callable[[float], Any],
        offload: Callable[..., Any],
    ) -> Steps[Any]:
        """One command on the current pool, as steps (see pyredisclient._steps):
        after READONLY or a connection error, ask the sentinels and send it again
        where that is safe, within ``retry_timeout``. ``execute(core, args)`` runs
        it, ``offload(func, *args)`` runs the resolver's own blocking I/O (asking
        the sentinels), ``sleep`` backs off. ``client._core`` follows the pool."""
        deadline = time.monotonic() + self.retry_timeout
        attempt = 0
        while True:
            core = yield from self.pool_steps(offload)
            client._core = core
            try:
                return (yield execute(core, args))
            except (ConnectionError, ResponseError) as exc:
                refused = refused_by_role(exc)
                if isinstance(exc, ResponseError) and not refused:
                    raise
                safe = refused or not may_have_run(exc) or replay_safe(args)
                switched = yield offload(self.refresh, core)
                if not safe or time.monotonic() >= deadline:
                    raise
                if not switched:  # the sentinels have not moved yet: back off
                    attempt += 1
                    delay = backoff_pause(0.1, 0.5, attempt)
                    if time.monotonic() + delay >= deadline:
                        raise
                    yield sleep(delay)


def sentinel_client(
    cls: Any,
    sentinels: Iterable[Any],
    service_name: str,
    role: str,
    sentinel_kwargs: Dict[str, Any] | None,
    retry_timeout: float | None,
    config: RedisConfig | None,
    options: Dict[str, Any],
) -> Any:
    """The client ``cls.from_sentinel`` returns (RedisClient or AsyncRedisClient)."""
    addresses = parse_sentinels(sentinels)
    data = build_config(None, None, None, config, options, f"{cls.__name__}.from_sentinel")
    if role not in ("primary", "replica"):
        raise ConfigurationError(f"role must be 'primary' or 'replica', not {role!r}", "role")
    base: Dict[str, Any] = {
        "socket_timeout": data.socket_timeout,
        "socket_connect_timeout": data.socket_connect_timeout,
    }
    own = dict(sentinel_kwargs or {})
    # The data nodes' TLS settings, unless sentinel_kwargs say otherwise (ssl=False:
    # plain sentinels in front of TLS data nodes, none of the ssl_* options).
    if data.ssl and own.get("ssl", True):
        for name in RedisConfig.__dataclass_fields__:
            if name.startswith("ssl"):
                base[name] = getattr(data, name)
    hide_password(own)
    base.update(own)
    host, port = addresses[0]
    sentinel_config = RedisConfig(host=host, port=port, **base)
    resolver = SentinelResolver(addresses, service_name, data, sentinel_config, role, retry_timeout)
    return attach(cls, resolver)


def attach(cls: Any, resolver: SentinelResolver) -> Any:
    """A ``cls`` client whose hook runs on ``resolver``'s pools. Its placeholder pool
    points at a sentinel, never at a data node the sentinels did not name; the
    first command replaces it."""
    host, port = resolver.sentinel_config.host, resolver.sentinel_config.port
    client = cls(config=resolver.config.replace(host=host, port=port))
    client._sentinel = resolver
    client._config = resolver.config
    client._set_prefixer(client._prefixer)
    return client


def replica_resolver(resolver: SentinelResolver | None) -> SentinelResolver:
    """A resolver of a random healthy replica of ``resolver``'s service."""
    if resolver is None:
        raise ConfigurationError("replica_client() needs a client from from_sentinel()")
    return SentinelResolver(
        list(resolver._sentinels),
        resolver.service_name,
        resolver.config,
        resolver.sentinel_config,
        "replica",
        resolver.retry_timeout,
    )
