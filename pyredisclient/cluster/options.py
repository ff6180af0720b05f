"""A cluster client's own options beyond a node's: the names ``from_url`` and
``from_env`` pass to the constructor, the seeds a URL lists, and redis-py's
``RedisCluster`` keywords, read into what they mean here.

redis-py's keywords (README: Redis Cluster and Sentinel):

* ``require_full_coverage`` (default False here: the slots that are served are
  served): True takes a slot map only when it covers all 16,384 slots; the first
  read fails with ClusterError when no node gives one, and a later partial map is
  not swapped in.
* ``cluster_error_retry_attempts``: at most this many retries of one call after
  connection errors, ``TRYAGAIN``, ``CLUSTERDOWN`` and the like, within
  ``retry_timeout`` (default: as many as ``retry_timeout`` allows).
* ``dynamic_startup_nodes`` (True): False asks the seeds for the slot map before
  the nodes it lists (a DNS name in front of the cluster, such as a configuration
  endpoint, stays the first one asked).
* ``address_remap``: a function of ``(host, port)`` giving the address to connect
  to, for every node the cluster announces (its slot map, MOVED and ASK): a
  cluster behind NAT, port forwards or containers. The seeds are used as given.
* ``reinitialize_steps``: taken, with nothing to tune: a MOVED updates its slot at
  once and makes a full refresh due (at most one per ``min_refresh_interval``).
* ``url``: as :meth:`from_url`. ``path`` (a unix socket) and ``policy_resolver``
  raise ConfigurationError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Tuple

from ..config import ConfigurationError, RedisConfig, hide_password, secret_url
from ..config.compat import translate as translate_redis_py

__all__ = [
    "OWN_OPTIONS",
    "ClusterOptions",
    "reveal",
    "split_seed_url",
    "take_cluster_options",
    "url_config",
]

#: The cluster's own constructor keywords, which from_url and from_env pass on.
OWN_OPTIONS = (
    "read_from_replicas",
    "retry_timeout",
    "min_refresh_interval",
    "load_balancing_strategy",
    "require_full_coverage",
    "cluster_error_retry_attempts",
    "dynamic_startup_nodes",
    "address_remap",
    "reinitialize_steps",
)

Remap = Callable[[Tuple[str, int]], Tuple[str, int]]


@dataclass(frozen=True)
class ClusterOptions:
    """redis-py's ``RedisCluster`` keywords, checked (see the module docstring)."""

    require_full_coverage: bool = False
    max_retries: int | None = None  # cluster_error_retry_attempts
    dynamic_startup_nodes: bool = True
    address_remap: Remap | None = None


def take_cluster_options(options: Dict[str, Any]) -> ClusterOptions:
    """Remove redis-py's ``RedisCluster`` keywords from ``options`` and return them
    checked; ConfigurationError for a value that cannot work."""
    for name, why in (
        ("path", "cluster nodes are reached over TCP"),
        (
            "policy_resolver",
            "commands are routed by the command table's key positions and the "
            "cluster's response policies, which cannot be replaced",
        ),
    ):
        if options.pop(name, None) is not None:
            raise ConfigurationError(f"{name} is not supported: {why}", name)
    steps = options.pop("reinitialize_steps", None)
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int)):
        raise ConfigurationError(
            f"reinitialize_steps must be an int, got {steps!r}", "reinitialize_steps"
        )
    flags = {}
    for name, default in (("require_full_coverage", False), ("dynamic_startup_nodes", True)):
        value = options.pop(name, default)
        if not isinstance(value, bool):
            raise ConfigurationError(f"{name} must be True or False, got {value!r}", name)
        flags[name] = value
    retries = options.pop("cluster_error_retry_attempts", None)
    if retries is not None and (
        isinstance(retries, bool) or not isinstance(retries, int) or retries < 0
    ):
        raise ConfigurationError(
            f"cluster_error_retry_attempts must be an int >= 0, got {retries!r}",
            "cluster_error_retry_attempts",
        )
    remap = options.pop("address_remap", None)
    if remap is not None and not callable(remap):
        raise ConfigurationError(
            "address_remap must be a function of (host, port) returning (host, port)",
            "address_remap",
        )
    return ClusterOptions(
        require_full_coverage=flags["require_full_coverage"],
        max_retries=retries,
        dynamic_startup_nodes=flags["dynamic_startup_nodes"],
        address_remap=remap,
    )


def reveal(url: Any) -> str:
    """A URL given as a Secret (or a str) as text."""
    get = getattr(url, "get_secret_value", None)
    return str(get()) if get is not None else str(url)


def split_seed_url(url: str) -> Tuple[str, List[str]]:
    """``redis://u:p@h1:1,h2:2/0?x=1`` -> (``redis://u:p@h1:1/0?x=1``, ["h1:1", "h2:2"])."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url, []
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    netloc, tail = rest[:cut], rest[cut:]
    userinfo, at, hosts = netloc.rpartition("@")
    names = [h for h in hosts.split(",") if h]
    if len(names) <= 1:
        return url, []
    return f"{scheme}://{userinfo}{at}{names[0]}{tail}", names


def url_config(url: Any, options: Dict[str, Any]) -> Tuple[RedisConfig, List[str]]:
    """The node config of ``redis://[user:pass@]h1:p1[,h2:p2...][?opt=v]`` with
    ``options`` (redis-py's spellings read as the constructor reads them), and the
    seeds it lists when more than one."""
    url = secret_url(url)  # first: tracebacks that print locals must not show it
    hide_password(options)
    translate_redis_py(options)  # retry=Retry(...) and the others, as the constructor
    first, seeds = split_seed_url(reveal(url))
    return RedisConfig.from_url(first, **options), seeds
