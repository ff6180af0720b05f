"""Pipeline: commands queued in C and sent with one write, MULTI/EXEC and WATCH.

What a pipeline does around its I/O (WATCH, UNWATCH, reset, execute, and a client's
transaction loop) is written once, as steps (pyredisclient._steps): the sync
Pipeline runs them with blocking calls, AsyncPipeline with awaited ones. The calls
that differ are the hooks ``_pin_run``, ``_send``, ``_send_pinned`` and
``_await_turn``. The sync pipeline's common case (execute or reset with no WATCH)
skips the steps: driving a generator would cost it more than its Python does.
"""

from __future__ import annotations

from typing import Any, Callable, List, Set, Tuple

from .._core import Batch
from .._steps import Steps, run_sync
from ..commands import CoreCommands
from ..commands.base import with_response_callbacks
from ..commands.scripting import Script, ScriptTextT
from ..commands.types import Callback
from ..exceptions import ConnectionError, ExecAbortError, RedisError, ResponseError, WatchError
from ..observability.tracing import make_traced_send
from ..resilience.retry import refused_by_role
from .spellings import ResetNames

# What a transaction on a watching connection raises when that connection fails:
# the watch may have been lost, so the caller must retry (redis-py's wording).
WATCH_LOST: str = "A ConnectionError occurred while watching one or more keys"


class Pipeline(ResetNames, CoreCommands):
    """Commands queued in C and sent with one write (redis-py's Pipeline API).

    Command methods return the pipeline, so calls chain; :meth:`execute` returns the
    list of replies, each converted as the client method would convert it.
    """

    def __init__(self, client: Any, transaction: bool = True) -> None:
        self._client = client
        self._core = client._core
        # A client made by from_sentinel (its SentinelResolver): batches go to the
        # pool the sentinels name, and a WATCH pins a connection of that pool.
        self._sentinel: Any = getattr(client, "_sentinel", None)
        self._prefixer = client._prefixer
        self.transaction = transaction
        self._initial_transaction = transaction
        self._encoding = (client.config.encoding, client.config.encoding_errors)
        self._pin: Any = None  # a pinned connection while WATCHing
        self._watching = False
        self._explicit_multi = False
        self._scripts: Set[Any] = set()  # register_script's Scripts run in this batch
        self._batch = self._new_batch()
        self._route()
        if client._tracing is not None:
            self._trace_sends(client._tracing[0])

    def _trace_sends(self, tracer: Any) -> None:
        """Record one span per execute: wrap the hooks that send the whole batch."""
        client = self._client
        self._send = make_traced_send(client, self._send, tracer)  # type: ignore[method-assign]
        self._send_to = make_traced_send(client, self._send_to, tracer)  # type: ignore[method-assign]
        self._send_pinned = make_traced_send(client, self._send_pinned, tracer)  # type: ignore[method-assign]

    def _new_batch(self) -> Any:
        """An empty batch (MULTI goes in first when this is a transaction)."""
        encoding, errors = self._encoding
        return Batch(
            encoding=encoding, encoding_errors=errors, owner=self, transaction=self.transaction
        )

    def _route(self) -> None:
        """Point the command methods' hook at the batch itself when nothing needs
        Python between a method and the queue: no Python frame per command."""
        if self._prefixer is None and (self._explicit_multi or not self._watching):
            self._run = self._batch.queue  # type: ignore[method-assign]
        else:
            self.__dict__.pop("_run", None)
        callbacks = self._client.__dict__.get("_response_callbacks")
        if callbacks:  # the client's set_response_callback (client/base.py)
            self._run = with_response_callbacks(self._run, callbacks)  # type: ignore[method-assign]

    def _run(self, args: Tuple[Any, ...], callback: Callback | None = None) -> Any:
        # Reached only when _route found Python work to do: prefixing, or a
        # command between WATCH and MULTI.
        if self._prefixer is not None:
            args, callback = self._prefixer.prepare(args, callback)
        if self._watching and not self._explicit_multi:
            return self._immediate(args, callback)
        return self._batch.queue(args, callback)

    def _immediate(self, args: Tuple[Any, ...], callback: Callback | None) -> Any:
        # Between WATCH and MULTI commands run at once, on the watching
        # connection, so the caller can read the values it watches.
        reply = self._pin_run(args)
        return reply if callback is None else callback(reply)

    # -- the calls that differ between the sync and the asyncio pipeline --------------

    def _pin_run(self, args: Tuple[Any, ...]) -> Any:
        """Run one command on the pinned connection (AsyncPipeline: awaitable)."""
        return self._pin.execute(args)

    def _await_turn(self) -> Any:
        """Before WATCH pins a connection: nothing here (AsyncPipeline queues behind
        the tasks already waiting for one)."""
        return None

    def _send(self, batch: Any) -> Any:
        """Send a batch on a pooled connection and read its replies."""
        return self._core.execute_batch(batch)

    def _send_to(self, core: Any, batch: Any) -> Any:
        """Send a batch on a connection of pool ``core`` (a sentinel client's
        current pool) and read its replies."""
        return core.execute_batch(batch)

    def _offload(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run a sentinel resolver's blocking I/O (AsyncPipeline: on a worker
        thread, awaitable)."""
        return func(*args)

    def _send_pinned(self, pin: Any, batch: Any) -> Any:
        """Send a batch on the pinned (watching) connection and read its replies."""
        return pin.execute_batch(batch)

    @property
    def explicit_transaction(self) -> bool:
        """Whether :meth:`multi` was called (redis-py's attribute, which libraries
        such as rq read)."""
        return self._explicit_multi

    @property
    def watching(self) -> bool:
        """Whether this pipeline is WATCHing keys (redis-py's attribute)."""
        return self._watching

    def get_encoder(self) -> Any:
        """The client's encoder (redis-py's ``get_encoder``)."""
        return self._client.get_encoder()

    def register_script(self, script: ScriptTextT) -> Script:
        """A :class:`~pyredisclient.commands.scripting.Script` bound to this pipeline:
        calling it queues EVALSHA, and execute() loads the script first if needed."""
        return Script(self, script)

    def multi(self) -> None:
        """Start buffering the transaction (after :meth:`watch`), as in redis-py."""
        if self._explicit_multi:
            raise RedisError("Cannot issue nested calls to MULTI")
        if self._batch.callbacks:
            raise RedisError("Commands without an initial MULTI are already buffered")
        self._explicit_multi = True
        self.transaction = True
        self._batch = self._new_batch()
        self._route()

    def watch(self, *names: Any) -> bool:
        """WATCH keys on a connection pinned to this pipeline until execute/reset.

        Until :meth:`multi`, commands run immediately (on that connection) and return
        their values; :meth:`execute` then raises WatchError if a watched key changed.
        """
        return run_sync(self._watch_steps(names))

    def _watch_steps(self, names: Tuple[Any, ...]) -> Steps[bool]:
        if self._pin is None and self._sentinel is not None:
            self._core = yield from self._sentinel.pool_steps(self._offload)
        args = self._watch_args(names)
        try:
            yield self._await_turn()
            yield self._pin_run(args)
        except ConnectionError:
            self._drop_pin(ok=False)
            raise
        self._watching = True
        self._route()
        return True

    def _watch_args(self, names: Tuple[Any, ...]) -> Tuple[Any, ...]:
        """Check that WATCH may come now, pin a connection, and build the command."""
        if self._explicit_multi:
            raise RedisError("Cannot issue a WATCH after a MULTI")
        if self._pin is None:
            self._pin = self._core.pinned()
        args: Tuple[Any, ...] = ("WATCH", *names)
        if self._prefixer is not None:
            args = self._prefixer.prefix_args(args)
        return args

    def unwatch(self) -> bool:
        """Forget every watched key (the connection stays pinned until reset)."""
        return run_sync(self._unwatch_steps())

    def _unwatch_steps(self) -> Steps[bool]:
        if self._watching and self._pin is not None:
            yield self._pin_run(("UNWATCH",))
        self._watching = False
        self._route()
        return True

    def _drop_pin(self, ok: bool) -> None:
        pin, self._pin = self._pin, None
        self._watching = False
        self._route()
        if pin is not None:
            pin.release(ok=ok)

    def __len__(self) -> int:
        return len(self._batch.callbacks)

    def __bool__(self) -> bool:
        return True

    def reset(self) -> None:
        """Drop every queued command, unwatch and give back a pinned connection."""
        if self._pin is None:
            self._clear()  # the common case (leaving a with block): nothing to unpin
            return
        run_sync(self._reset_steps())

    def _reset_steps(self) -> Steps[None]:
        self._clear()
        pin, ok = self._pin, not self._watching
        if pin is None:
            return
        try:
            if self._watching and pin.usable:
                yield self._pin_run(("UNWATCH",))
                ok = True
        except RedisError:
            pass
        finally:
            self._drop_pin(ok)

    def _clear(self) -> None:
        """Forget queued commands and MULTI (reset's first half, no I/O)."""
        self._explicit_multi = False
        self.transaction = self._initial_transaction
        self._scripts = set()
        self._batch = self._new_batch()
        self._route()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reset()

    def execute(self, raise_on_error: bool = True) -> List[Any]:
        """Send every queued command in one write and return their replies.

        With ``raise_on_error`` the first error reply is raised (annotated with the
        command's position and name); otherwise error replies are returned in place as
        exception instances. The pipeline is empty afterwards.
        """
        if (
            self._pin is None
            and self._batch.callbacks
            and not self._scripts
            and self._sentinel is None
        ):
            # The common case, no WATCH: one C call, no steps to drive (the same as
            # the first branch of _execute_steps).
            batch, transaction = self._take()
            return _pipeline_results(self._send(batch), batch, transaction, raise_on_error)
        return run_sync(self._execute_steps(raise_on_error))

    def _execute_steps(self, raise_on_error: bool) -> Steps[List[Any]]:
        pin = self._pin
        if not self._batch.callbacks and not (self._watching and self.transaction):
            yield from self._reset_steps()
            return []
        # A WATCHing transaction is sent even when empty, as in redis-py: its EXEC is
        # what says whether a watched key changed (WatchError).
        if self._scripts:
            yield from self._load_scripts_steps()
        batch, transaction = self._take()
        sentinel = self._sentinel if pin is None else None
        try:
            if pin is not None:
                try:
                    replies = yield self._send_pinned(pin, batch)
                except ConnectionError as exc:
                    raise WatchError(WATCH_LOST) from exc
            elif sentinel is None:
                replies = yield self._send(batch)
            else:
                # As a command: +switch-master first, then the current pool.
                core = yield from sentinel.pool_steps(self._offload)
                try:
                    replies = yield self._send_to(core, batch)
                except ConnectionError:
                    # Not sent again (part of it may have run); the next batch
                    # goes where the sentinels say now.
                    yield self._offload(sentinel.refresh_quietly, core)
                    raise
        finally:
            if pin is not None:
                # EXEC (or a failure) ended the WATCH: pool it if still clean.
                self._drop_pin(ok=pin.usable)
        try:
            return _pipeline_results(replies, batch, transaction, raise_on_error)
        except ResponseError as exc:
            if sentinel is not None and refused_by_role(exc):
                # A demoted primary (READONLY) or one without replicas: its
                # replacement is asked for; this batch is not sent again.
                yield self._offload(sentinel.refresh_quietly, core)
            raise

    def _load_scripts_steps(self) -> Steps[None]:
        """Make sure the server has every script an EVALSHA of the batch runs (as
        redis-py: SCRIPT EXISTS, then SCRIPT LOAD of the missing ones), through the
        client: the script cache is the server's, whatever the connection."""
        scripts = list(self._scripts)
        client = self._client
        exists = yield client.script_exists(*[s.sha for s in scripts])
        for script, there in zip(scripts, exists):
            if not there:
                script.sha = yield client.script_load(script.script)

    def _take(self) -> Tuple[Any, bool]:
        """Hand the queued batch over for sending (EXEC appended in a
        transaction); the pipeline starts afresh but keeps a pinned connection."""
        if self.transaction:
            if not self._batch.callbacks:  # an empty WATCHing transaction
                self._batch.append(("MULTI",))
            self._batch.append(("EXEC",))
        taken = (self._batch, self.transaction)
        self._scripts = set()
        self._explicit_multi = False
        self.transaction = self._initial_transaction
        self._batch = self._new_batch()
        self._route()
        return taken

    def __repr__(self) -> str:
        kind = "transaction" if self.transaction else "pipeline"
        return f"<Pipeline {kind} of {len(self)} commands on {self._client!r}>"


def _annotate(batch: Any, offset: int, index: int, exc: BaseException) -> BaseException:
    # Only the command name (read back from the batch, so nothing is kept per
    # command): arguments may hold secrets or huge values.
    msg = exc.args[0] if exc.args else ""
    name = batch.command_name(index + offset)
    exc.args = (f"Command # {index + 1} ({name}) of pipeline caused error: {msg}", *exc.args[1:])
    return exc


def _transaction_results(replies: List[Any], batch: Any, n: int) -> List[Any]:
    # replies: MULTI's OK, one QUEUED (or error) per command, then EXEC's reply.
    queued_errors = [(i, r) for i, r in enumerate(replies[1 : n + 1]) if isinstance(r, Exception)]
    exec_reply = replies[-1]
    if isinstance(exec_reply, ExecAbortError):
        if queued_errors:
            i, err = queued_errors[0]
            raise _annotate(batch, 1, i, err)
        raise exec_reply
    if isinstance(exec_reply, Exception):
        raise exec_reply
    if exec_reply is None:
        raise WatchError("Watched variable changed.")
    # The binding checked its shape: a list of n replies (else ProtocolError).
    return list(exec_reply)


def _pipeline_results(
    replies: List[Any], batch: Any, transaction: bool, raise_on_error: bool
) -> List[Any]:
    """Turn a sent batch's raw replies into the pipeline's results (sync and async)."""
    callbacks: List[Callback | None] = batch.callbacks
    if transaction:
        results = _transaction_results(replies, batch, len(callbacks))
    else:
        results = replies
    # In C: each reply through its callback, stopping at the first error
    # reply when it is to be raised.
    first = batch.apply_callbacks(results, raise_on_error)
    if first >= 0:
        raise _annotate(batch, 1 if transaction else 0, first, results[first])
    return results


def transaction_steps(
    pipe: Pipeline,
    func: Callable[[Any], Any],
    watches: Tuple[Any, ...],
    value_from_callable: bool,
    watch_delay: float | None,
    sleep: Callable[[float], Any],
    pause: Callable[[WatchError], Steps[bool]] | None = None,
) -> Steps[Any]:
    """A client's ``transaction()``, written once: WATCH, ``func(pipe)``, EXEC, and
    on WatchError reset, sleep ``watch_delay`` and go again. ``sleep`` is
    ``time.sleep`` or ``asyncio.sleep``; the async driver also awaits what ``func``
    returns when it is awaitable (an ``async def`` func). ``pause(exc)``, when given,
    runs first after each WatchError: True when it paused itself (the cluster's
    back-off after a topology change), instead of ``watch_delay``; it raises to
    stop."""
    while True:
        try:
            if watches:
                yield from pipe._watch_steps(watches)
            func_value = yield func(pipe)
            exec_value = yield from pipe._execute_steps(True)
            return func_value if value_from_callable else exec_value
        except WatchError as exc:
            yield from pipe._reset_steps()
            if pause is not None and (yield from pause(exc)):
                continue
            if watch_delay is not None and watch_delay > 0:
                yield sleep(watch_delay)
