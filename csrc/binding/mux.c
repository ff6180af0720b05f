/* mux.c - the Mux type: one connection shared by the tasks of an event
 * loop (asyncio multiplexing, DESIGN.md).  Callers' commands are appended
 * to one output buffer, written together, and their replies complete the
 * callers' futures in order: the FIFO of pending calls lives here, in C.
 * The event loop side (when to flush, when to read, timers) is the
 * Python driver's, pyredisclient/client/mux.py. */
#include "binding.h"

#include "mux_int.h"

PyObject *
pyrc_mux_new(PinnedObject *pin)
{
    MuxObject *m;

    if (pin->busy || pin->conn == NULL || !prc_conn_usable(pin->conn)) {
        PyErr_SetString(PyExc_RuntimeError,
                        "share() needs an idle pin holding a usable "
                        "connection");
        return NULL;
    }
    m = PyObject_GC_New(MuxObject, pin->client->state->MuxType);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(pin->client);
    m->client = pin->client;
    m->conn = pin->conn;
    pin->conn = NULL;
    m->opened = prc_now();
    prc_wbuf_init(&m->out, NULL, 0);
    m->appended = 0;
    m->sent = 0;
    m->q = NULL;
    m->cap = m->head = m->len = 0;
    m->nraw = 0;
    m->replies = 0;
    m->last_read = prc_now();
    m->sealed = 0;
    prc_conn_stream_begin(m->conn);
    PyObject_GC_Track(m);
    return (PyObject *)m;
}

/* Room for one more entry: 0, or -1 with MemoryError. */
static int
ring_grow(MuxObject *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64, i;
    mux_entry *q;

    if (m->len < m->cap) {
        return 0;
    }
    if (cap > PY_SSIZE_T_MAX / sizeof(mux_entry)) {
        PyErr_NoMemory();
        return -1;
    }
    q = PyMem_Malloc(cap * sizeof(mux_entry));
    if (q == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (i = 0; i < m->len; i++) {
        q[i] = *entry_at(m, i);
    }
    PyMem_Free(m->q);
    m->q = q;
    m->cap = cap;
    m->head = 0;
    return 0;
}

/* Take the first entry out of the ring; its future reference becomes the
 * caller's. */
mux_entry
pyrc__mux_ring_pop(MuxObject *m)
{
    mux_entry e = m->q[m->head];

    m->head = (m->head + 1) % m->cap;
    m->len--;
    m->nraw -= e.raw != 0;
    m->replies -= (size_t)(e.count - e.got);
    return e;
}

/* Is the future done (cancelled, timed out)?  1, 0, or -1 on error. */
int
pyrc__mux_fut_done(pyrc_state *st, PyObject *fut)
{
    PyObject *r = PyObject_CallMethodNoArgs(fut, st->str_done);
    int done;

    if (r == NULL) {
        return -1;
    }
    done = PyObject_IsTrue(r);
    Py_DECREF(r);
    return done;
}

/* Complete a live future with a result or an exception (steals nothing).
 * -1 when the future refused. */
int
pyrc__mux_fut_settle(pyrc_state *st, PyObject *fut, PyObject *value, int exc)
{
    PyObject *r = PyObject_CallMethodOneArg(
        fut, exc ? st->str_set_exception : st->str_set_result, value);

    if (r == NULL) {
        return -1;
    }
    Py_DECREF(r);
    return 0;
}

/* Settle an entry's breaker admission (and, unless it is to be sent
 * again, record the call in the metrics) once; log a transition it
 * caused; -1 when logging raised. */
int
pyrc__mux_settle(MuxObject *m, mux_entry *e, int outcome, int record)
{
    int t;

    if (e->settled) {
        return 0;
    }
    e->settled = 1;
    if (record) {
        prc_pool_record_call(m->client->pool, e->started, 1, outcome);
    }
    t = prc_breaker_record(prc_pool_breaker(m->client->pool), e->epoch,
                           e->probe, e->started, outcome);
    return t < 0 ? 0 : pyrc_log_transition(m->client, t);
}

int
pyrc__mux_check_open(MuxObject *m)
{
    if (m->conn == NULL) {
        PyErr_SetString(PYRC_EXC(m->client->state, CONNECTION),
                        "the shared connection is closed");
        return -1;
    }
    return 0;
}

PyObject *
pyrc_shareable(RedisClientObject *self, PyObject *args_seq)
{
    pyrc_args a;
    PyObject *seq;
    size_t size;
    double block;
    int flags;

    if (pyrc_prepare_single(self, args_seq, &a, &seq, &size, &flags, &block,
                            NULL) < 0) {
        return NULL;
    }
    pyrc_args_free(&a);
    Py_DECREF(seq);
    return PyBool_FromLong(!(flags & (PRC_CALL_BLOCKING | PRC_CALL_CLOSE)));
}

PyDoc_STRVAR(Mux_submit_doc,
             "submit($self, args, future, may_retry=True, /)\n--\n\n"
             "Queue one command whose reply completes future (never RETRY\n"
             "without may_retry: the caller has no retries left).  Returns 0\n"
             "(queued, a flush is due), 1 (queued: flush now), 3 (queued:\n"
             "flush when this loop iteration ends) or 2 (not queued: the\n"
             "command needs a connection of its own: blocking, QUIT).\n"
             "Raises as Client.execute would for a bad command, and\n"
             "CircuitOpenError while the breaker refuses calls.");

/* submit()'s and submit_batch()'s common arguments: the future's
 * may_retry (*may_retry) and an open connection.  0, or -1 with an
 * exception. */
static int
submit_args(MuxObject *m, Py_ssize_t nargs, PyObject *const *args,
            int *may_retry)
{
    if (nargs != 2 && nargs != 3) {
        PyErr_SetString(PyExc_TypeError,
                        "submit() takes a command or batch, a future and "
                        "may_retry");
        return -1;
    }
    *may_retry = nargs < 3 ? 1 : PyObject_IsTrue(args[2]);
    if (*may_retry < 0) {
        return -1;
    }
    if (pyrc__mux_check_open(m) < 0 || pyrc_check_open(m->client) < 0) {
        return -1;
    }
    return 0;
}

/* 0 while the connection takes any command, else -1 with RuntimeError. */
static int
check_unsealed(MuxObject *m)
{
    if (m->sealed) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the shared connection takes no more commands "
                        "(submit_last)");
        return -1;
    }
    return 0;
}

/* Room for the next entry and the breaker's admission for it (logged when
 * it changed the breaker's state): the entry, not yet counted in the ring,
 * or NULL with an exception (CircuitOpenError when refused). */
static mux_entry *
entry_admit(MuxObject *m)
{
    RedisClientObject *cl = m->client;
    int rc, transition = -1;
    mux_entry *e;

    if (ring_grow(m) < 0) {
        return NULL;
    }
    e = &m->q[(m->head + m->len) % m->cap];
    rc = prc_breaker_allow(prc_pool_breaker(cl->pool), 0, &e->epoch, &e->probe,
                           &transition);
    if (transition >= 0 && pyrc_log_transition(cl, transition) < 0) {
        return NULL;
    }
    if (rc < 0) {
        pyrc_raise(cl->state, rc,
                   "circuit breaker open: the server failed recently");
        return NULL;
    }
    return e;
}

/* Undo entry_admit when the command could not be appended. */
static void
entry_unadmit(MuxObject *m, mux_entry *e)
{
    prc_breaker_record(prc_pool_breaker(m->client->pool), e->epoch, e->probe,
                       prc_now(), PRC_OK);
}

/* The admitted entry e now holds `size` appended bytes taking `count`
 * replies: fill it in, count it, and say what the driver does next
 * (`before`: the bytes that were waiting before these).  A pipeline's
 * entry comes with `partial`, the list for its replies (stolen), and
 * `exec` from pyrc_exec_items; a single command's with NULL and -1.
 * `raw`: a single command sent as NeverDecode (a pipeline with one never
 * shares the connection). */
static PyObject *
entry_queued(MuxObject *m, mux_entry *e, PyObject *fut, PyObject *partial,
             size_t size, Py_ssize_t count, Py_ssize_t exec, int flags,
             int raw, int may_retry, size_t before)
{
    e->batch = partial != NULL;
    e->start = m->appended;
    m->appended += size;
    e->end = m->appended;
    Py_INCREF(fut);
    e->fut = fut;
    e->partial = partial; /* stolen */
    e->count = count;
    e->got = 0;
    e->exec = exec;
    e->outcome = PRC_OK;
    e->started = prc_now();
    e->deadline = prc_deadline_after(m->client->socket_timeout);
    e->flags = flags & PRC_CALL_READONLY;
    e->raw = raw;
    m->nraw += raw != 0;
    e->may_retry = may_retry;
    e->settled = 0;
    m->replies += (size_t)count;
    m->len++;
    if (m->out.len >= MUX_FLUSH_BOUND) {
        return PyLong_FromLong(MUX_FLUSH_NOW);
    }
    if (before > 0) {
        return PyLong_FromLong(MUX_QUEUED);
    }
    return PyLong_FromLong(m->len == 1 ? MUX_FLUSH_NOW : MUX_FLUSH_SOON);
}

/* The deadline of e, queued by submit_last() to block for `block` seconds:
 * a blocking command's, counted from the end of the blocking command queued
 * before it, if any (the server runs them one after the other).  It keeps
 * the deadlines growing along the FIFO. */
static void
last_deadline(MuxObject *m, mux_entry *e, double block)
{
    int64_t own = pyrc_block_deadline(m->client, block, e->deadline);
    const mux_entry *prev = m->len > 1 ? entry_at(m, m->len - 2) : NULL;

    if (prev == NULL || !m->sealed || own == PRC_NO_DEADLINE) {
        e->deadline = own;
    } else if (prev->deadline == PRC_NO_DEADLINE) {
        e->deadline = PRC_NO_DEADLINE;
    } else {
        /* block <= 9e9 s here (prc_deadline_after): no overflow below. */
        int64_t span = (int64_t)(block * 1e9);
        int64_t after = prev->deadline > INT64_MAX - span
                            ? PRC_NO_DEADLINE
                            : prev->deadline + span;

        e->deadline = after > own ? after : own;
    }
}

/* submit() and submit_last(): queue one command.  `last`: it may block
 * (its deadline is its own timeout plus a margin), it is never retried,
 * and the connection takes nothing after it. */
static PyObject *
submit_one(MuxObject *m, PyObject *const *args, Py_ssize_t nargs, int last)
{
    RedisClientObject *cl = m->client;
    pyrc_args a;
    PyObject *seq, *r = NULL;
    size_t size, before = m->out.len;
    double block;
    int flags, rc, may_retry;
    mux_entry *e;

    if (submit_args(m, nargs, args, &may_retry) < 0 ||
        (!last && check_unsealed(m) < 0) ||
        pyrc_prepare_single(cl, args[0], &a, &seq, &size, &flags, &block,
                            NULL) < 0) {
        return NULL;
    }
    if (flags & (last ? PRC_CALL_CLOSE : PRC_CALL_BLOCKING | PRC_CALL_CLOSE)) {
        r = PyLong_FromLong(MUX_DEDICATED);
    } else if ((e = entry_admit(m)) != NULL) {
        rc = prc_wbuf_append_command(&m->out, a.argc, a.argv, a.argvlen);
        if (rc < 0) {
            entry_unadmit(m, e);
            pyrc_raise(cl->state, rc, "cannot queue the command");
        } else {
            r = entry_queued(m, e, args[1], NULL, size, 1, -1, flags,
                             pyrc_never_decode(cl->state, args[0]),
                             may_retry && !last, before);
            if (r != NULL && last) {
                last_deadline(m, e, block);
                m->sealed = 1;
            }
        }
    }
    pyrc_args_free(&a);
    Py_DECREF(seq);
    return r;
}

static PyObject *
Mux_submit(MuxObject *m, PyObject *const *args, Py_ssize_t nargs)
{
    return submit_one(m, args, nargs, 0);
}

PyDoc_STRVAR(
    Mux_submit_last_doc,
    "submit_last($self, args, future, /)\n--\n\n"
    "Queue one command as this connection's last, blocking ones too\n"
    "(WAIT: it counts the writes sent on this connection), with the\n"
    "deadline of a blocking command: its own timeout plus a margin, none\n"
    "when it blocks for ever.  Never retried (future gets the error of a\n"
    "failed connection).  Returns what submit() returns, 2 for QUIT;\n"
    "afterwards only submit_last() is taken (its deadline counted from\n"
    "the end of the one before), every other submit raises RuntimeError\n"
    "until reopen(): close the connection, or reopen it, once its calls\n"
    "are answered (len() == 0).");

PyDoc_STRVAR(Mux_reopen_doc,
             "reopen($self, /)\n--\n\n"
             "Take every command again after submit_last(), once its calls\n"
             "are answered.  RuntimeError while calls are pending.");

static PyObject *
Mux_reopen(MuxObject *m, PyObject *unused)
{
    (void)unused;
    if (pyrc__mux_check_open(m) < 0) {
        return NULL;
    }
    if (m->len != 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "reopen() needs every call answered");
        return NULL;
    }
    m->sealed = 0;
    Py_RETURN_NONE;
}

static PyObject *
Mux_submit_last(MuxObject *m, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError,
                        "submit_last() takes a command and a future");
        return NULL;
    }
    return submit_one(m, args, nargs, 1);
}

PyDoc_STRVAR(
    Mux_submit_batch_doc,
    "submit_batch($self, batch, future, may_retry=True, /)\n--\n\n"
    "Queue a pipeline's commands (a Batch, copied: it may be reused at\n"
    "once) whose list of replies completes future, as submit() does for\n"
    "one command.  Returns what submit() returns; 2 (not queued) for a\n"
    "batch that needs a connection of its own: blocking commands, QUIT,\n"
    "or more than 64 KiB of commands, whose replies would hold up every\n"
    "other caller's.  A transaction's EXEC reply of the wrong shape\n"
    "completes future with ProtocolError.");

/* Whether a command of the batch was queued as NeverDecode: such a
 * pipeline keeps a dedicated connection, where the batch's own flags say
 * which replies stay bytes (inside EXEC too). */
static int
batch_any_raw(const BatchObject *b)
{
    Py_ssize_t i, n = b->n < b->raw_cap ? b->n : b->raw_cap;

    for (i = 0; i < n; i++) {
        if (b->raw[i]) {
            return 1;
        }
    }
    return 0;
}

static PyObject *
Mux_submit_batch(MuxObject *m, PyObject *const *args, Py_ssize_t nargs)
{
    size_t before = m->out.len;
    BatchObject *b;
    PyObject *partial;
    int may_retry;
    mux_entry *e;

    if (submit_args(m, nargs, args, &may_retry) < 0 || check_unsealed(m) < 0) {
        return NULL;
    }
    if (!PyObject_TypeCheck(args[0], m->client->state->BatchType)) {
        PyErr_SetString(PyExc_TypeError, "submit_batch() takes a Batch");
        return NULL;
    }
    b = (BatchObject *)args[0];
    if (pyrc_batch_busy(b) < 0) {
        return NULL;
    }
    if (b->n <= 0) {
        PyErr_SetString(PyExc_ValueError,
                        "submit_batch() needs a non-empty batch");
        return NULL;
    }
    if (b->any_blocking || (b->flags & (PRC_CALL_BLOCKING | PRC_CALL_CLOSE)) ||
        b->out.len > MUX_BATCH_MAX || batch_any_raw(b)) {
        return PyLong_FromLong(MUX_DEDICATED);
    }
    /* Its replies' list, made now so that reading them cannot fail. */
    partial = PyList_New(b->n);
    if (partial == NULL) {
        return NULL;
    }
    if ((e = entry_admit(m)) == NULL) {
        Py_DECREF(partial);
        return NULL;
    }
    if (prc_wbuf_append(&m->out, b->out.buf, b->out.len) < 0) {
        entry_unadmit(m, e);
        Py_DECREF(partial);
        return PyErr_NoMemory();
    }
    return entry_queued(m, e, args[1], partial, b->out.len, b->n,
                        pyrc_exec_items(args[0]), b->flags, 0, may_retry,
                        before);
}

PyDoc_STRVAR(Mux_flush_doc,
             "flush($self, /)\n--\n\n"
             "Write what is queued.  Returns True while bytes are left (wait\n"
             "until the fd is writable, then flush again), False when all\n"
             "went.  Raises ConnectionError when the connection failed:\n"
             "then call abort().");

static PyObject *
Mux_flush(MuxObject *m, PyObject *unused)
{
    int rc;

    (void)unused;
    if (pyrc__mux_check_open(m) < 0) {
        return NULL;
    }
    rc = prc_conn_stream_write(m->conn, &m->out, &m->sent);
    if (rc < 0) {
        return pyrc_raise(m->client->state, rc,
                          "shared connection: write failed");
    }
    if (rc == PRC_DONE) {
        prc_wbuf_shrink(&m->out, MUX_OUT_KEEP);
    }
    return PyBool_FromLong(rc != PRC_DONE);
}

PyDoc_STRVAR(Mux_read_doc,
             "read($self, /)\n--\n\n"
             "Read the replies that arrived and complete their futures in\n"
             "order (a tombstone's reply is dropped).  Returns how many.\n"
             "Raises when the connection failed or is out of step: then\n"
             "call abort().");

static PyObject *
Mux_read(MuxObject *m, PyObject *unused)
{
    (void)unused;
    return pyrc__mux_read(m);
}

PyDoc_STRVAR(
    Mux_expire_doc,
    "expire($self, /)\n--\n\n"
    "Fail the calls whose deadline passed with TimeoutError (each leaves\n"
    "a tombstone).  Returns the seconds until the next deadline, or None\n"
    "when nothing is pending.  Raises TimeoutError when the connection\n"
    "stalled: nothing read for a whole socket_timeout past a deadline\n"
    "(then call abort()).");

static PyObject *
Mux_expire(MuxObject *m, PyObject *unused)
{
    pyrc_state *st = m->client->state;
    int64_t now = prc_now(), grace;
    size_t i;

    (void)unused;
    if (pyrc__mux_check_open(m) < 0) {
        return NULL;
    }
    grace = m->client->socket_timeout < 0
                ? 0
                : (int64_t)(m->client->socket_timeout * 1e9);
    for (i = 0; i < m->len; i++) {
        mux_entry *e = entry_at(m, i);
        int done;

        if (e->deadline == PRC_NO_DEADLINE) {
            continue;
        }
        if (e->deadline > now) {
            /* Deadlines grow along the FIFO (one timeout for all). */
            return PyFloat_FromDouble((double)(e->deadline - now) / 1e9);
        }
        if (i == 0 && now - e->deadline > grace &&
            now - m->last_read > grace) {
            return pyrc_raise(st, PRC_ETIMEDOUT,
                              "shared connection stalled: no reply for "
                              "twice socket_timeout; closed");
        }
        done = pyrc__mux_fut_done(st, e->fut);
        if (done < 0) {
            return NULL;
        }
        if (!done) {
            PyObject *exc = PyObject_CallFunction(
                PYRC_EXC(st, TIMEOUT), "s",
                "timed out waiting for the reply (socket_timeout)");
            if (exc == NULL) {
                return NULL;
            }
            if (pyrc__mux_fut_settle(st, e->fut, exc, 1) < 0) {
                PyErr_WriteUnraisable((PyObject *)m);
            }
            Py_DECREF(exc);
            if (pyrc__mux_settle(m, e, PRC_ETIMEDOUT, 1) < 0) {
                return NULL;
            }
        }
    }
    if (m->len == 0) {
        Py_RETURN_NONE;
    }
    /* Only tombstones past their deadline are left: look again after the
     * grace, when a stall would be declared. */
    return PyFloat_FromDouble(grace > 0 ? (double)grace / 1e9 : 1.0);
}

/* Give the connection back (pooled when ok) and forget it. */
static void
mux_release(MuxObject *m, int ok)
{
    prc_conn_t *c = m->conn;

    if (c == NULL) {
        return;
    }
    m->conn = NULL;
    if (!ok) {
        prc_conn_mark_broken(c);
    }
    prc_pool_unpin(m->client->pool, c, ok);
    prc_wbuf_free(&m->out);
}

PyDoc_STRVAR(
    Mux_abort_doc,
    "abort($self, error, /, retry_sent_reads=True)\n--\n\n"
    "Close the connection after a failure and settle every pending call:\n"
    "a command not wholly written gets RETRY (it never reached the\n"
    "server: send it again); a read-only command already written gets\n"
    "RETRY when retry_sent_reads; every other live caller gets error.\n"
    "Tombstones are dropped.  Returns how many got RETRY.");

static PyObject *
Mux_abort(MuxObject *m, PyObject *args, PyObject *kwds)
{
    static const char *const kwlist[] = {"error", "retry_sent_reads", NULL};
    pyrc_state *st = m->client->state;
    PyObject *error;
    int reads = 1, outcome = PRC_ECONNLOST;
    long retried = 0;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|p", (char **)kwlist,
                                     &error, &reads)) {
        return NULL;
    }
    if (PyErr_GivenExceptionMatches(error, PYRC_EXC(st, TIMEOUT))) {
        outcome = PRC_ETIMEDOUT;
    } else if (PyErr_GivenExceptionMatches(error, PYRC_EXC(st, PROTOCOL))) {
        outcome = PRC_EPROTO;
    }
    if (m->conn != NULL) {
        prc_pool_link_failed(m->client->pool, m->opened);
    }
    mux_release(m, 0);
    while (m->len > 0) {
        mux_entry e = pyrc__mux_ring_pop(m);
        int done = pyrc__mux_fut_done(st, e.fut), rc = 0;

        int again = 0;

        if (done == 0) {
            /* One command not wholly written never ran; a pipeline may
             * have, in part, unless none of it was written. */
            again = e.may_retry &&
                    ((!e.batch ? e.end > m->sent : e.start >= m->sent) ||
                     (reads && (e.flags & PRC_CALL_READONLY)));
            rc = pyrc__mux_fut_settle(st, e.fut, again ? st->retry : error,
                                      !again);
            retried += again;
        }
        /* A call sent again is admitted (and recorded) again: this one
         * settles without counting, as a cancelled call does, and so does
         * a tombstone. */
        if (pyrc__mux_settle(m, &e, done == 0 && !again ? outcome : PRC_EINTR,
                             !again) < 0) {
            rc = -1;
        }
        if (done < 0 || rc < 0) {
            PyErr_WriteUnraisable((PyObject *)m);
        }
        Py_DECREF(e.fut);
        Py_XDECREF(e.partial);
    }
    return PyLong_FromLong(retried);
}

PyDoc_STRVAR(Mux_close_doc,
             "close($self, /)\n--\n\n"
             "Give the connection back: to the pool when nothing is pending,\n"
             "else closed, failing the pending calls with ConnectionError.");

static PyObject *
Mux_close(MuxObject *m, PyObject *unused)
{
    PyObject *exc, *r;

    (void)unused;
    if (m->conn == NULL) {
        Py_RETURN_NONE;
    }
    if (m->len == 0 && m->out.len == 0) {
        mux_release(m, prc_conn_usable(m->conn));
        Py_RETURN_NONE;
    }
    exc = PyObject_CallFunction(PYRC_EXC(m->client->state, CONNECTION), "s",
                                "the client was closed");
    if (exc == NULL) {
        return NULL;
    }
    r = PyObject_CallMethod((PyObject *)m, "abort", "Oi", exc, 0);
    Py_DECREF(exc);
    if (r == NULL) {
        return NULL;
    }
    Py_DECREF(r);
    Py_RETURN_NONE;
}

static PyObject *
Mux_fileno(MuxObject *m, PyObject *unused)
{
    (void)unused;
    return PyLong_FromLong(m->conn == NULL ? -1 : prc_conn_fd(m->conn));
}

static Py_ssize_t
Mux_length(MuxObject *m)
{
    return (Py_ssize_t)m->len;
}

static PyObject *
Mux_get_closed(MuxObject *m, void *closure)
{
    (void)closure;
    return PyBool_FromLong(m->conn == NULL);
}

static PyObject *
Mux_get_pending_bytes(MuxObject *m, void *closure)
{
    (void)closure;
    return PyLong_FromSize_t(m->out.len);
}

static int
Mux_traverse(MuxObject *m, visitproc visit, void *arg)
{
    size_t i;

    Py_VISIT(Py_TYPE(m));
    Py_VISIT(m->client);
    for (i = 0; i < m->len; i++) {
        Py_VISIT(entry_at(m, i)->fut);
        Py_VISIT(entry_at(m, i)->partial);
    }
    return 0;
}

static int
Mux_clear(MuxObject *m)
{
    if (m->client != NULL) {
        mux_release(m, 0);
    }
    while (m->len > 0) {
        mux_entry e = pyrc__mux_ring_pop(m);
        Py_DECREF(e.fut);
        Py_XDECREF(e.partial);
    }
    Py_CLEAR(m->client);
    return 0;
}

static void
Mux_dealloc(MuxObject *m)
{
    PyTypeObject *tp = Py_TYPE(m);

    PyObject_GC_UnTrack(m);
    Mux_clear(m);
    prc_wbuf_free(&m->out);
    PyMem_Free(m->q);
    PyObject_GC_Del(m);
    Py_DECREF(tp);
}

static PyMethodDef Mux_methods[] = {
    {"submit", (PyCFunction)(void (*)(void))Mux_submit, METH_FASTCALL,
     Mux_submit_doc},
    {"submit_last", (PyCFunction)(void (*)(void))Mux_submit_last,
     METH_FASTCALL, Mux_submit_last_doc},
    {"reopen", (PyCFunction)Mux_reopen, METH_NOARGS, Mux_reopen_doc},
    {"submit_batch", (PyCFunction)(void (*)(void))Mux_submit_batch,
     METH_FASTCALL, Mux_submit_batch_doc},
    {"flush", (PyCFunction)Mux_flush, METH_NOARGS, Mux_flush_doc},
    {"read", (PyCFunction)Mux_read, METH_NOARGS, Mux_read_doc},
    {"expire", (PyCFunction)Mux_expire, METH_NOARGS, Mux_expire_doc},
    {"abort", (PyCFunction)(void (*)(void))Mux_abort,
     METH_VARARGS | METH_KEYWORDS, Mux_abort_doc},
    {"close", (PyCFunction)Mux_close, METH_NOARGS, Mux_close_doc},
    {"fileno", (PyCFunction)Mux_fileno, METH_NOARGS,
     "fileno($self, /)\n--\n\nThe connection's fd, or -1 once closed."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Mux_getset[] = {
    {"closed", (getter)Mux_get_closed, NULL,
     "True once the connection was given back", NULL},
    {"pending_bytes", (getter)Mux_get_pending_bytes, NULL,
     "bytes queued and not yet written", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Mux_slots[] = {
    {Py_tp_doc, (void *)"A connection shared by the tasks of one event "
                        "loop: commands written together, replies in "
                        "order.  Made by Pinned.share()."},
    {Py_tp_dealloc, Mux_dealloc},
    {Py_tp_traverse, Mux_traverse},
    {Py_tp_clear, Mux_clear},
    {Py_tp_methods, Mux_methods},
    {Py_tp_getset, Mux_getset},
    {Py_sq_length, Mux_length},
    {0, NULL},
};

PyType_Spec pyrc_mux_spec = {
    .name = "pyredisclient._core.Mux",
    .basicsize = sizeof(MuxObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | PYRC_TPFLAGS_NO_NEW |
             PYRC_TPFLAGS_IMMUTABLE,
    .slots = Mux_slots,
};
