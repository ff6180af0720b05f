"""Server and connection commands (redis-py's ManagementCommands and ModuleCommands):
PING, ECHO, INFO, DBSIZE, FLUSH*, TIME, CONFIG, CLIENT, OBJECT, MEMORY, SLOWLOG,
LATENCY, COMMAND, MODULE, persistence (SAVE, BGSAVE, ...), replication (WAIT, ROLE,
REPLICAOF, ...), and the connection-state commands redis-py has methods for.

Connection-state commands (``select``, ``auth``, ``hello``, ``reset``,
``client_reply``, ``client_tracking*``, ``client_no_evict``, ``client_no_touch``,
``sync``, ``psync``, ``readonly``, ``readwrite``, ``watch``, ``unwatch``) would leave a pooled connection
changed for its next caller: the client refuses them with DataError before
anything is sent, naming what to use instead (README: Connection state).
"""

# Replies are untyped (Any) by nature; the methods declare what redis-py returns.
# mypy: disable-error-code="no-any-return"

from __future__ import annotations

import datetime
from typing import Any, Callable, Dict, Iterator, List, Tuple

from ..exceptions import DataError, RedisError
from .args import list_or_args
from .base import CommandsBase, NeverDecode, plain_command
from .callbacks import (
    as_text,
    client_info_result,
    client_list_result,
    config_get_result,
    info_result,
    is_ok,
    is_pong,
    time_result,
)
from .types import EncodableT, KeysT, KeyT, PatternT

# -- reply callbacks of this family --------------------------------------------------


def _true(reply: Any) -> bool:
    return True


def _texts(reply: Any) -> List[Any]:
    return [as_text(x) for x in reply]


def _to_bool(reply: Any) -> bool:
    return bool(reply)


def _ok_or_int(reply: Any) -> Any:
    return reply if isinstance(reply, int) else is_ok(reply)


def _client_list_iter(reply: Any) -> Iterator[Dict[str, str]]:
    return iter(client_list_result(reply))


def _lastsave(reply: Any) -> datetime.datetime | None:
    return datetime.datetime.fromtimestamp(int(reply)) if reply else None


def _debug_object(reply: Any) -> Dict[str, Any]:
    # "Value at:0x... refcount:1 encoding:embstr ..."; the first word names no field.
    text = "type:" + as_text(reply)
    info: Dict[str, Any] = dict(kv.split(":", 1) for kv in text.split())
    for field in ("refcount", "serializedlength", "lru", "lru_seconds_idle"):
        if field in info:
            info[field] = int(info[field])
    return info


def _shutdown_failed(reply: Any) -> None:
    # A shut-down server closes the connection (ConnectionError); a reply means it
    # is still running.
    raise RedisError("SHUTDOWN seems to have failed.")


def _cluster_info(reply: Any) -> Dict[str, str]:
    # redis-py's parse_cluster_info: "key:value" lines, values left as text.
    return dict(line.split(":", 1) for line in as_text(reply).splitlines() if line)


def _cluster_node(line: str) -> Tuple[str, Dict[str, Any]]:
    # One line of CLUSTER NODES, as redis-py's _parse_node_line shapes it.
    items = line.split(" ")
    node_id, addr, flags, master_id, ping, pong, epoch, connected = items[:8]
    node: Dict[str, Any] = {
        "node_id": node_id,
        "hostname": addr.split("@")[1].split(",")[1] if "@" in addr and "," in addr else "",
        "flags": flags,
        "master_id": master_id,
        "last_ping_sent": ping,
        "last_pong_rcvd": pong,
        "epoch": epoch,
        "slots": [],
        "migrations": [],
        "connected": connected == "connected",
    }
    for word in items[8:]:
        if "->-" in word:
            slot, other = word[1:-1].split("->-", 1)
            node["migrations"].append({"slot": slot, "node_id": other, "state": "migrating"})
        elif "-<-" in word:
            slot, other = word[1:-1].split("-<-", 1)
            node["migrations"].append({"slot": slot, "node_id": other, "state": "importing"})
        else:
            node["slots"].append(word.split("-"))
    return addr.split("@")[0], node


def _cluster_nodes(reply: Any) -> Dict[str, Dict[str, Any]]:
    # CLUSTER NODES answers lines of text, CLUSTER REPLICAS a list of such lines.
    lines = reply.splitlines() if isinstance(reply, (str, bytes)) else reply
    return dict(_cluster_node(as_text(line)) for line in lines)


# CLUSTER subcommands whose replies redis-py converts (its RESP2 callbacks); the
# others are returned as the server answers.
_CLUSTER_CALLBACKS: Dict[str, Callable[[Any], Any]] = {
    **dict.fromkeys(
        (
            "ADDSLOTS",
            "ADDSLOTSRANGE",
            "DELSLOTS",
            "DELSLOTSRANGE",
            "FAILOVER",
            "FORGET",
            "MEET",
            "REPLICATE",
            "RESET",
            "SAVECONFIG",
            "SET-CONFIG-EPOCH",
            "SETSLOT",
        ),
        is_ok,
    ),
    "INFO": _cluster_info,
    "NODES": _cluster_nodes,
    "REPLICAS": _cluster_nodes,
    "SLAVES": _cluster_nodes,
    "GETKEYSINSLOT": _texts,
}


def cluster_callback(subcommand: str) -> Callable[[Any], Any] | None:
    """redis-py's conversion of a CLUSTER subcommand's reply (upper case), if any."""
    return _CLUSTER_CALLBACKS.get(subcommand)


_CLIENT_TYPES = ("normal", "master", "replica", "pubsub")


def _client_list_args(_type: str | None, client_id: Any) -> Tuple[Any, ...]:
    args: Tuple[Any, ...] = ("CLIENT", "LIST")
    if _type is not None:
        if str(_type).lower() not in _CLIENT_TYPES:
            raise DataError(f"CLIENT LIST _type must be one of {_CLIENT_TYPES!r}")
        args += ("TYPE", _type)
    if client_id is not None and not isinstance(client_id, (list, tuple)):
        raise DataError("client_id must be a list")
    if client_id:
        args += ("ID", *client_id)
    return args


def _tracking_args(
    on: bool,
    clientid: int | None,
    prefix: List[KeyT] | None,
    bcast: bool,
    optin: bool,
    optout: bool,
    noloop: bool,
) -> Tuple[Any, ...]:
    args: Tuple[Any, ...] = ("CLIENT", "TRACKING", "ON" if on else "OFF")
    if clientid is not None:
        args += ("REDIRECT", clientid)
    for p in prefix or ():
        args += ("PREFIX", p)
    for flag, word in ((bcast, "BCAST"), (optin, "OPTIN"), (optout, "OPTOUT"), (noloop, "NOLOOP")):
        if flag:
            args += (word,)
    return args


class ServerCommands(CommandsBase):
    __slots__ = ()

    # -- connection ---------------------------------------------------------------------

    def ping(self) -> bool:
        """Ping the server; True when it answers PONG."""
        return self._run(("PING",), is_pong)

    @plain_command
    def echo(self, value: EncodableT) -> Any:
        """Return ``value`` as the server echoes it."""
        return self._run(("ECHO", value))

    def quit(self) -> bool:
        """QUIT: the connection it ran on is closed, never pooled."""
        return self._run(("QUIT",), is_ok)

    def select(self, index: int) -> bool:
        """Refused: SELECT would leave a pooled connection in another database.
        Use ``db=`` in the configuration (one client per database)."""
        return self._run(("SELECT", index), is_ok)

    def auth(self, password: str, username: str | None = None) -> bool:
        """Refused: AUTH would change one pooled connection's user. Use
        ``username=`` and ``password=`` in the configuration."""
        if username is not None:
            return self._run(("AUTH", username, password), is_ok)
        return self._run(("AUTH", password), is_ok)

    @plain_command
    def hello(self) -> Any:
        """Refused: the client speaks RESP2 and runs the handshake itself."""
        return self._run(("HELLO",))

    @plain_command
    def sync(self) -> Any:
        """Refused: replication, not a client command."""
        return self._run(("SYNC",))

    @plain_command
    def psync(self, replicationid: str, offset: int) -> Any:
        """Refused: replication, not a client command."""
        return self._run(("PSYNC", replicationid, offset))

    def watch(self, *names: KeyT) -> bool:
        """Refused with DataError, naming what to use instead: WATCH holds only on the
        connection that sent it, and a pooled client's next call may run on another.
        Use ``pipe.watch()`` on :meth:`pipeline` (which pins one connection until
        EXEC) or ``transaction(func, *names)``. redis-py's client method sends
        nothing and only warns; pipelines define their own ``watch``."""
        return self._run(("WATCH", *names))

    @plain_command
    def unwatch(self) -> bool:
        """Refused like :meth:`watch`: use ``pipe.unwatch()`` on a pipeline."""
        return self._run(("UNWATCH",))

    def cluster(self, cluster_arg: str, *args: Any) -> Any:
        """Send ``CLUSTER <cluster_arg> *args`` to the server this client talks to, as
        redis-py's ``Redis.cluster`` does, with its reply shapes: ``info`` a dict of
        str, ``nodes``/``replicas`` a dict by address, ``getkeysinslot`` a list of
        str, the subcommands answering OK True; the others as the server answers. A
        server without cluster support answers ResponseError. For a cluster, use
        :class:`~pyredisclient.RedisClusterClient`, which routes commands itself."""
        sub = cluster_arg.upper()
        return self._run(("CLUSTER", *sub.split(), *args), _CLUSTER_CALLBACKS.get(sub))

    def readonly(self) -> bool:
        """Refused: Redis Cluster is not supported yet."""
        return self._run(("READONLY",), is_ok)

    def readwrite(self) -> bool:
        """Refused: Redis Cluster is not supported yet."""
        return self._run(("READWRITE",), is_ok)

    # -- server information ---------------------------------------------------------------

    def info(self, section: str | None = None, *args: str) -> Dict[str, Any]:
        """Return INFO (optionally for ``section`` and more) parsed into a dict.

        Read as bytes and decoded with bad bytes replaced (redis-py's decode_info),
        so a field the server fills with binary (errorstats) cannot fail it.
        """
        if section is None:
            return self._run(NeverDecode(("INFO",)), info_result)
        return self._run(NeverDecode(("INFO", section, *args)), info_result)

    @plain_command
    def dbsize(self) -> int:
        """Return the number of keys in the current database."""
        return self._run(("DBSIZE",))

    def time(self) -> Tuple[int, int]:
        """Return the server time as (seconds, microseconds)."""
        return self._run(("TIME",), time_result)

    def lastsave(self) -> datetime.datetime:
        """When the last successful save happened (local time)."""
        return self._run(("LASTSAVE",), _lastsave)

    @plain_command
    def role(self) -> List[Any]:
        """ROLE as the server answers: ["master", offset, replicas] or a replica's."""
        return self._run(("ROLE",))

    def lolwut(self, *version_numbers: str | float) -> Any:
        """LOLWUT: a piece of art and the server version."""
        if version_numbers:
            return self._run(("LOLWUT", "VERSION", *version_numbers))
        return self._run(("LOLWUT",))

    @plain_command
    def object(self, infotype: str, key: KeyT) -> Any:
        """Return OBJECT ``infotype`` (encoding, idletime, freq, refcount) of ``key``."""
        return self._run(("OBJECT", infotype, key))

    def debug_object(self, key: KeyT) -> Dict[str, Any]:
        """DEBUG OBJECT ``key`` as a dict (the server must allow DEBUG)."""
        return self._run(("DEBUG", "OBJECT", key), _debug_object)

    @plain_command
    def debug_segfault(self) -> Any:
        """DEBUG SEGFAULT: crash the server (tests of crash handling only)."""
        return self._run(("DEBUG", "SEGFAULT"))

    # -- databases and persistence -------------------------------------------------------

    def flushdb(self, asynchronous: bool = False) -> bool:
        """Delete every key of the current database."""
        if asynchronous:
            return self._run(("FLUSHDB", "ASYNC"), is_ok)
        return self._run(("FLUSHDB",), is_ok)

    def flushall(self, asynchronous: bool = False) -> bool:
        """Delete every key of every database."""
        if asynchronous:
            return self._run(("FLUSHALL", "ASYNC"), is_ok)
        return self._run(("FLUSHALL",), is_ok)

    def swapdb(self, first: int, second: int) -> bool:
        """Swap two databases (every client of either sees the other's keys)."""
        return self._run(("SWAPDB", first, second), is_ok)

    def save(self) -> bool:
        """Save the dataset to disk, blocking the server meanwhile."""
        return self._run(("SAVE",), is_ok)

    def bgsave(self, schedule: bool = True) -> bool:
        """Save in the background (``schedule``: after a running AOF rewrite)."""
        if schedule:
            return self._run(("BGSAVE", "SCHEDULE"), _true)
        return self._run(("BGSAVE",), _true)

    def bgrewriteaof(self) -> bool:
        """Rewrite the append-only file in the background."""
        return self._run(("BGREWRITEAOF",), _true)

    def shutdown(
        self,
        save: bool = False,
        nosave: bool = False,
        now: bool = False,
        force: bool = False,
        abort: bool = False,
    ) -> Any:
        """Stop the server. Success shows as the ConnectionError of the closed
        connection (redis-py returns None); a reply raises RedisError."""
        if save and nosave:
            raise DataError("SHUTDOWN save and nosave cannot both be set")
        args: Tuple[Any, ...] = ("SHUTDOWN",)
        for flag, word in ((save, "SAVE"), (nosave, "NOSAVE"), (now, "NOW")):
            if flag:
                args += (word,)
        for flag, word in ((force, "FORCE"), (abort, "ABORT")):
            if flag:
                args += (word,)
        return self._run(args, _shutdown_failed)

    # -- replication -----------------------------------------------------------------------

    @plain_command
    def wait(self, num_replicas: int, timeout: int) -> int:
        """Wait up to ``timeout`` ms for ``num_replicas`` to acknowledge the writes."""
        return self._run(("WAIT", num_replicas, timeout))

    @plain_command
    def waitaof(self, num_local: int, num_replicas: int, timeout: int) -> List[int]:
        """WAITAOF (Redis 7.2): wait up to ``timeout`` ms until the writes are fsynced
        to the local AOF (``num_local`` 0 or 1) and to ``num_replicas`` replicas'
        AOFs; ``[local, replicas]`` acknowledged. Blocking: the call's deadline
        stretches by ``timeout``."""
        return self._run(("WAITAOF", num_local, num_replicas, timeout))

    def replicaof(self, *args: Any) -> Any:
        """REPLICAOF host port, or REPLICAOF NO ONE."""
        return self._run(("REPLICAOF", *args))

    def slaveof(self, host: str | None = None, port: int | None = None) -> bool:
        """SLAVEOF host port; with no arguments, SLAVEOF NO ONE."""
        if host is None and port is None:
            return self._run(("SLAVEOF", "NO", "ONE"), is_ok)
        return self._run(("SLAVEOF", host, port), is_ok)

    def failover(self, *args: Any) -> bool:
        """FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms], arguments as given."""
        return self._run(("FAILOVER", *args), is_ok)

    def migrate(
        self,
        host: str,
        port: int,
        keys: KeysT,
        destination_db: int,
        timeout: int,
        copy: bool = False,
        replace: bool = False,
        auth: str | None = None,
    ) -> Any:
        """Move ``keys`` to another server (MIGRATE ... KEYS key ...)."""
        keys = list_or_args(keys, [])
        if not keys:
            raise DataError("MIGRATE requires at least one key")
        args: Tuple[Any, ...] = ("MIGRATE", host, port, "", destination_db, timeout)
        if copy:
            args += ("COPY",)
        if replace:
            args += ("REPLACE",)
        if auth:
            args += ("AUTH", auth)
        return self._run((*args, "KEYS", *keys))

    # -- CONFIG ----------------------------------------------------------------------------

    def config_get(self, pattern: PatternT = "*", *args: PatternT) -> Dict[Any, Any]:
        """Return the configuration parameters matching the patterns as a dict of str."""
        return self._run(("CONFIG", "GET", pattern, *args), config_get_result)

    def config_set(self, name: KeyT, value: EncodableT, *args: EncodableT) -> bool:
        """Set configuration parameter ``name`` (and further name/value pairs)."""
        return self._run(("CONFIG", "SET", name, value, *args), is_ok)

    def config_resetstat(self) -> bool:
        """Reset the statistics INFO reports."""
        return self._run(("CONFIG", "RESETSTAT"), is_ok)

    @plain_command
    def config_rewrite(self) -> Any:
        """Write the running configuration to the server's config file."""
        return self._run(("CONFIG", "REWRITE"))

    # -- CLIENT ----------------------------------------------------------------------------

    def client_setname(self, name: str) -> bool:
        """Name the connection this command runs on."""
        return self._run(("CLIENT", "SETNAME", name), is_ok)

    def client_setinfo(self, attr: str, value: str) -> bool:
        """CLIENT SETINFO (Redis 7.2): set ``LIB-NAME`` or ``LIB-VER`` of the connection
        this command runs on: one pooled connection, as for :meth:`client_setname`."""
        return self._run(("CLIENT", "SETINFO", attr, value), is_ok)

    def client_getname(self) -> str | None:
        """Return the name of the connection this command runs on, or None."""
        return self._run(("CLIENT", "GETNAME"), as_text)

    @plain_command
    def client_id(self) -> int:
        """The id of the (pooled) connection this command runs on."""
        return self._run(("CLIENT", "ID"))

    def client_info(self) -> Dict[str, Any]:
        """CLIENT INFO of the connection this command runs on, as a dict."""
        return self._run(("CLIENT", "INFO"), client_info_result)

    @plain_command
    def client_getredir(self) -> int:
        """The client id tracking redirects go to (-1: none, as tracking is refused)."""
        return self._run(("CLIENT", "GETREDIR"))

    def client_trackinginfo(self) -> List[Any]:
        """CLIENT TRACKINGINFO of the connection this command runs on."""
        return self._run(("CLIENT", "TRACKINGINFO"), _texts)

    def client_list(
        self, _type: str | None = None, client_id: List[EncodableT] | None = None
    ) -> List[Dict[str, str]]:
        """Return the connected clients as a list of dicts of str."""
        return self._run(_client_list_args(_type, client_id), client_list_result)

    def client_list_iter(
        self, _type: str | None = None, client_id: List[EncodableT] | None = None
    ) -> Iterator[Dict[str, str]]:
        """Iterate over :meth:`client_list`'s dicts."""
        return self._run(_client_list_args(_type, client_id), _client_list_iter)

    def client_kill(self, address: str) -> Any:
        """Close the connection at ``address`` (ip:port); True when one was closed."""
        return self._run(("CLIENT", "KILL", address), _ok_or_int)

    def client_kill_filter(
        self,
        _id: str | None = None,
        _type: str | None = None,
        addr: str | None = None,
        skipme: bool | None = None,
        laddr: str | None = None,
        user: str | None = None,
        maxage: int | None = None,
    ) -> int:
        """Close the connections that match every filter given; returns how many."""
        args: Tuple[Any, ...] = ()
        if _type is not None:
            types = ("normal", "master", "slave", "replica", "pubsub")
            if str(_type).lower() not in types:
                raise DataError(f"CLIENT KILL type must be one of {types!r}")
            args += ("TYPE", _type)
        if skipme is not None:
            if not isinstance(skipme, bool):
                raise DataError("CLIENT KILL skipme must be a bool")
            args += ("SKIPME", "YES" if skipme else "NO")
        for word, value in (("ID", _id), ("ADDR", addr), ("LADDR", laddr), ("USER", user)):
            if value is not None:
                args += (word, value)
        if maxage is not None:
            args += ("MAXAGE", maxage)
        if not args:
            raise DataError(
                "CLIENT KILL <filter> <value> ... ... <filter> <value> "
                "must specify at least one filter"
            )
        return self._run(("CLIENT", "KILL", *args), _ok_or_int)

    def client_pause(self, timeout: int, all: bool = True) -> bool:
        """Suspend clients for ``timeout`` ms (``all=False``: only writes)."""
        if not isinstance(timeout, int):
            raise DataError("CLIENT PAUSE timeout must be an integer")
        if all:
            return self._run(("CLIENT", "PAUSE", timeout), is_ok)
        return self._run(("CLIENT", "PAUSE", timeout, "WRITE"), is_ok)

    @plain_command
    def client_unpause(self) -> Any:
        """End a CLIENT PAUSE."""
        return self._run(("CLIENT", "UNPAUSE"))

    def client_unblock(self, client_id: int, error: bool = False) -> bool:
        """Wake a client blocked in a blocking command (``error``: with an error)."""
        if error:
            return self._run(("CLIENT", "UNBLOCK", int(client_id), "ERROR"), _to_bool)
        return self._run(("CLIENT", "UNBLOCK", int(client_id)), _to_bool)

    @plain_command
    def client_reply(self, reply: str) -> Any:
        """Refused: CLIENT REPLY OFF/SKIP would desynchronise a pooled connection."""
        return self._run(("CLIENT", "REPLY", reply))

    @plain_command
    def client_no_evict(self, mode: str) -> Any:
        """Refused: it changes the state of one pooled connection."""
        return self._run(("CLIENT", "NO-EVICT", mode))

    @plain_command
    def client_no_touch(self, mode: str) -> Any:
        """Refused: it changes the state of one pooled connection."""
        return self._run(("CLIENT", "NO-TOUCH", mode))

    def client_tracking(
        self,
        on: bool = True,
        clientid: int | None = None,
        prefix: List[KeyT] | None = None,
        bcast: bool = False,
        optin: bool = False,
        optout: bool = False,
        noloop: bool = False,
    ) -> Any:
        """Refused: client-side caching needs a connection of its own (a later step)."""
        return self._run(_tracking_args(on, clientid, prefix, bcast, optin, optout, noloop))

    def client_tracking_on(
        self,
        clientid: int | None = None,
        prefix: List[KeyT] | None = None,
        bcast: bool = False,
        optin: bool = False,
        optout: bool = False,
        noloop: bool = False,
    ) -> Any:
        """Refused, as :meth:`client_tracking`."""
        return self._run(_tracking_args(True, clientid, prefix, bcast, optin, optout, noloop))

    def client_tracking_off(
        self,
        clientid: int | None = None,
        prefix: List[KeyT] | None = None,
        bcast: bool = False,
        optin: bool = False,
        optout: bool = False,
        noloop: bool = False,
    ) -> Any:
        """Refused, as :meth:`client_tracking`."""
        return self._run(_tracking_args(False, clientid, prefix, bcast, optin, optout, noloop))
