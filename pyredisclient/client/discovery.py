"""redis-py's ``Sentinel`` API over :meth:`RedisClient.from_sentinel`.

``Sentinel([("s1", 26379), ("s2", 26379)], socket_timeout=0.5)`` keeps the sentinels'
addresses and the data nodes' options; ``master_for(name)`` and ``slave_for(name)``
return a client made by ``from_sentinel`` (role primary or replica), which asks the
sentinels itself and follows a failover. ``discover_master`` and ``discover_slaves``
ask the sentinels directly, with redis-py's rules: a master counts when the sentinel
that names it sees it up (not ``s_down`` or ``o_down``) and knows at least
``min_other_sentinels`` other sentinels; a replica when it is not down.
Like redis-py's, a ``Sentinel`` also sends commands to the sentinels themselves: its
``sentinel_*`` methods and ``execute_command`` go to every sentinel (``once=True``:
one at random) and return True when every reply is, or, with
``return_responses=True``, the list of replies.
``AsyncSentinel`` is the asyncio twin (``redis.asyncio.Sentinel``).
"""

from __future__ import annotations

import random
from typing import Any, Dict, Iterable, List, Tuple

from ..commands.base import upper_name
from ..commands.sentinel import SentinelCommands, master_addr, sentinel_state, sentinel_states
from ..config import ConfigurationError
from ..exceptions import RedisError
from .sentinel import MasterNotFoundError, parse_sentinels
from .sync import RedisClient

__all__ = ["AsyncSentinel", "Sentinel"]


#: The SENTINEL subcommands redis-py's ``Sentinel`` sends to one sentinel only.
_ONCE = frozenset({"GET-MASTER-ADDR-BY-NAME", "RESET", "CKQUORUM"})


def _down(state: Dict[str, Any]) -> bool:
    return bool(state["is_sdown"] or state["is_odown"])


class Sentinel(SentinelCommands):
    """redis-py's ``Sentinel``: see :mod:`pyredisclient.client.discovery`.

    ``connection_kwargs`` configure the data nodes (as ``from_sentinel``'s options);
    ``sentinel_kwargs`` the sentinels (default: the ``socket_*`` options of
    ``connection_kwargs``, as redis-py). ``sentinels`` holds a client of each
    sentinel, the one that last answered first.
    """

    def __init__(
        self,
        sentinels: Iterable[Any],
        min_other_sentinels: int = 0,
        sentinel_kwargs: Dict[str, Any] | None = None,
        force_master_ip: str | None = None,
        **connection_kwargs: Any,
    ) -> None:
        if force_master_ip is not None:
            raise ConfigurationError(
                "force_master_ip is not supported: the client connects where the "
                "sentinels say (announce-ip on the servers changes what they say)",
                "force_master_ip",
            )
        self._addresses = parse_sentinels(sentinels)
        if sentinel_kwargs is None:
            sentinel_kwargs = {
                k: v for k, v in connection_kwargs.items() if k.startswith("socket_")
            }
        self.sentinel_kwargs = sentinel_kwargs
        self.min_other_sentinels = min_other_sentinels
        self.connection_kwargs = connection_kwargs
        self.sentinels: List[RedisClient] = [
            RedisClient(host=host, port=port, **sentinel_kwargs) for host, port in self._addresses
        ]

    def __repr__(self) -> str:
        names = ", ".join(f"{h}:{p}" for h, p in self._addresses)
        return f"<{type(self).__name__} sentinels=[{names}]>"

    # -- commands to the sentinels themselves ------------------------------------------

    def _fan_out(
        self, args: Tuple[Any, ...], callback: Any, return_responses: bool, once: bool
    ) -> Any:
        """``args`` to every sentinel (``once``: one at random): True when every reply
        (``callback`` applied) is true, or with ``return_responses`` the replies."""
        targets = [random.choice(self.sentinels)] if once else list(self.sentinels)
        replies = [sentinel._run(args, callback) for sentinel in targets]
        return replies if return_responses else all(replies)

    def _run(
        self, args: Tuple[Any, ...], callback: Any = None, return_responses: bool = False
    ) -> Any:
        # The sentinel_* methods' hook: redis-py asks one sentinel for _ONCE's three.
        once = len(args) > 1 and upper_name(args[1]) in _ONCE
        return self._fan_out(args, callback, return_responses, once)

    # The three that take redis-py's return_responses (a client of one sentinel
    # answers with its own reply: commands/sentinel.py).

    def sentinel_get_master_addr_by_name(
        self, service_name: str, return_responses: bool = False
    ) -> Any:
        args = ("SENTINEL", "GET-MASTER-ADDR-BY-NAME", service_name)
        return self._run(args, master_addr, return_responses)

    def sentinel_master(self, service_name: str, return_responses: bool = False) -> Any:
        return self._run(("SENTINEL", "MASTER", service_name), sentinel_state, return_responses)

    def sentinel_sentinels(self, service_name: str, return_responses: bool = False) -> Any:
        args = ("SENTINEL", "SENTINELS", service_name)
        return self._run(args, sentinel_states, return_responses)

    def execute_command(
        self, *args: Any, once: bool = False, return_responses: bool = False, **options: Any
    ) -> Any:
        """redis-py's: send the command to every sentinel (``once``: to one chosen at
        random); True when every raw reply is true, or with ``return_responses`` the
        list of them."""
        return self._fan_out(args, None, return_responses, once)

    # -- asking the sentinels ------------------------------------------------------

    def _ask(self, args: Tuple[Any, ...], accept: Any) -> Tuple[Any, List[str]]:
        """The first sentinel's answer that ``accept`` turns into a result (moved to
        the front, as redis-py does), and the errors of those that failed."""
        errors = []
        for i, sentinel in enumerate(self.sentinels):
            try:
                found = accept(sentinel.execute_command(*args))
            except RedisError as exc:
                errors.append(f"{sentinel.config.host}:{sentinel.config.port} - {exc!r}")
                continue
            if found:
                self.sentinels[0], self.sentinels[i] = sentinel, self.sentinels[0]
                return found, errors
        return None, errors

    def check_master_state(self, state: Dict[str, Any], service_name: str) -> bool:
        """Whether a sentinel's view of the master makes it usable (redis-py's rule;
        ``state`` is an entry of ``sentinel_masters()``)."""
        return (
            state["is_master"]
            and not _down(state)
            and state.get("num-other-sentinels", 0) >= self.min_other_sentinels
        )

    def discover_master(self, service_name: str) -> Tuple[str, int]:
        """The (host, port) of the service's master, or MasterNotFoundError."""

        def accept(reply: Any) -> Tuple[str, int] | None:
            for state in sentinel_states(reply):
                if state.get("name") == service_name and self.check_master_state(
                    state, service_name
                ):
                    return state["ip"], int(state["port"])
            return None

        found, errors = self._ask(("SENTINEL", "MASTERS"), accept)
        if found is None:
            info = f" : {', '.join(errors)}" if errors else ""
            raise MasterNotFoundError(f"No master found for {service_name!r}{info}")
        return found  # type: ignore[no-any-return]

    def filter_slaves(self, slaves: List[Dict[str, Any]]) -> List[Tuple[str, int]]:
        """The replicas that are not down, as (host, port) (``slaves``: as
        ``sentinel_slaves()`` returns them)."""
        return [(s["ip"], int(s["port"])) for s in slaves if not _down(s)]

    def discover_slaves(self, service_name: str) -> List[Tuple[str, int]]:
        """The (host, port) of each replica of the service that is up; [] if none."""
        found, _ = self._ask(
            ("SENTINEL", "REPLICAS", service_name), lambda r: self.filter_slaves(sentinel_states(r))
        )
        return found or []

    def filter_replicas(self, replicas: List[Dict[str, Any]]) -> List[Tuple[str, int]]:
        """redis-py's newer name of :meth:`filter_slaves`."""
        return self.filter_slaves(replicas)

    def discover_replicas(self, service_name: str) -> Any:
        """redis-py's newer name of :meth:`discover_slaves`."""
        return self.discover_slaves(service_name)

    # -- clients -------------------------------------------------------------------

    def _options(self, connection_pool_class: Any, kwargs: Dict[str, Any]) -> Dict[str, Any]:
        if connection_pool_class is not None:
            raise ConfigurationError(
                "connection_pool_class is not supported: the client keeps a pool per "
                "node the sentinels name and swaps it after a failover",
                "connection_pool_class",
            )
        if self.min_other_sentinels:
            raise ConfigurationError(
                "min_other_sentinels applies to discover_master() only: the clients of "
                "master_for() and slave_for() take the address the sentinels give",
                "min_other_sentinels",
            )
        return dict(self.connection_kwargs, sentinel_kwargs=self.sentinel_kwargs, **kwargs)

    def master_for(
        self,
        service_name: str,
        redis_class: Any = None,
        connection_pool_class: Any = None,
        **kwargs: Any,
    ) -> Any:
        """A client of the service's primary that follows a failover
        (:meth:`RedisClient.from_sentinel`); ``kwargs`` add to the data nodes'
        options."""
        cls = self._default_class() if redis_class is None else redis_class
        options = self._options(connection_pool_class, kwargs)
        return cls.from_sentinel(self._addresses, service_name, **options)

    def slave_for(
        self,
        service_name: str,
        redis_class: Any = None,
        connection_pool_class: Any = None,
        **kwargs: Any,
    ) -> Any:
        """A client of a random healthy replica of the service (another after a
        connection error); ``role="replica"`` of :meth:`RedisClient.from_sentinel`."""
        cls = self._default_class() if redis_class is None else redis_class
        options = self._options(connection_pool_class, kwargs)
        return cls.from_sentinel(self._addresses, service_name, role="replica", **options)

    def replica_for(
        self,
        service_name: str,
        redis_class: Any = None,
        connection_pool_class: Any = None,
        **kwargs: Any,
    ) -> Any:
        """redis-py's newer name of :meth:`slave_for`."""
        return self.slave_for(service_name, redis_class, connection_pool_class, **kwargs)

    def _default_class(self) -> Any:
        return RedisClient

    def close(self) -> None:
        """Close the clients of the sentinels (those of master_for are the caller's)."""
        for sentinel in self.sentinels:
            sentinel.close()


class AsyncSentinel(Sentinel):
    """``redis.asyncio.Sentinel``: the same, with ``discover_master``,
    ``discover_slaves`` and the commands to the sentinels as coroutines (the sentinels
    asked on a worker thread) and AsyncRedisClient clients from ``master_for`` and
    ``slave_for``."""

    async def discover_master(self, service_name: str) -> Tuple[str, int]:  # type: ignore[override]
        import asyncio

        return await asyncio.to_thread(Sentinel.discover_master, self, service_name)

    async def discover_slaves(self, service_name: str) -> List[Tuple[str, int]]:  # type: ignore[override]
        import asyncio

        return await asyncio.to_thread(Sentinel.discover_slaves, self, service_name)

    async def _fan_out(
        self, args: Tuple[Any, ...], callback: Any, return_responses: bool, once: bool
    ) -> Any:
        import asyncio

        return await asyncio.to_thread(
            Sentinel._fan_out, self, args, callback, return_responses, once
        )

    def _default_class(self) -> Any:
        from .aio import AsyncRedisClient

        return AsyncRedisClient
