/* mux.c - the Mux type: one connection shared by the tasks of an event
 * loop (asyncio multiplexing, DESIGN.md).  Callers' commands are appended
 * to one output buffer, written together, and their replies complete the
 * callers' futures in order: the FIFO of pending calls lives here, in C.
 * The event loop side (when to flush, when to read, timers) is the
 * Python driver's, pyredisclient/client/mux.py. */
#include "binding.h"

/* submit() results: what the driver does next. */
enum {
    MUX_QUEUED = 0,    /* a flush is already due */
    MUX_FLUSH_NOW = 1, /* nothing else in flight: write now */
    MUX_DEDICATED = 2, /* the command needs a connection of its own */
    MUX_FLUSH_SOON = 3 /* others in flight: write as the iteration ends */
};

/* Write at once when this much is waiting, rather than at the end of the
 * loop iteration. */
#define MUX_FLUSH_BOUND (256 * 1024)
/* Read at most about this much per readable event, so that one busy
 * connection does not starve the loop. */
#define MUX_READ_MAX (1024 * 1024)
/* Keep an output buffer up to this size when it empties. */
#define MUX_OUT_KEEP (1024 * 1024)

/* One pending call.  A caller that gave up (cancelled, timed out) leaves
 * its entry: a tombstone whose reply is read and dropped, keeping the
 * replies in step with the FIFO. */
typedef struct {
    PyObject *fut;    /* owned: the caller's future */
    uint64_t end;     /* bytes appended up to the end of its command */
    int64_t started;  /* prc_now() at submit */
    int64_t deadline; /* PRC_NO_DEADLINE: none */
    uint64_t epoch;   /* breaker admission */
    int probe;
    int flags;     /* PRC_CALL_READONLY */
    int raw;       /* sent as NeverDecode: its reply is never decoded */
    int may_retry; /* the caller has retries left */
    int settled;   /* its breaker admission was settled (timed out) */
} mux_entry;

typedef struct {
    PyObject_HEAD RedisClientObject *client; /* strong reference */
    prc_conn_t *conn;  /* owned (checked out of the client's pool, pinned)
                          until the Mux closes; NULL then */
    prc_wbuf_t out;    /* owned: commands not yet written */
    uint64_t appended; /* bytes ever appended to out */
    uint64_t sent;     /* bytes ever written */
    mux_entry *q;      /* ring of pending calls (PyMem, owned) */
    size_t cap, head, len;
    size_t nraw;       /* entries of the ring with raw set */
    int64_t last_read; /* prc_now() of the last reply read */
    int64_t opened;    /* prc_now() when it took the connection */
} MuxObject;

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
    m->last_read = prc_now();
    prc_conn_stream_begin(m->conn);
    PyObject_GC_Track(m);
    return (PyObject *)m;
}

static mux_entry *
entry_at(MuxObject *m, size_t i)
{
    return &m->q[(m->head + i) % m->cap];
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
static mux_entry
ring_pop(MuxObject *m)
{
    mux_entry e = m->q[m->head];

    m->head = (m->head + 1) % m->cap;
    m->len--;
    m->nraw -= e.raw != 0;
    return e;
}

/* Is the future done (cancelled, timed out)?  1, 0, or -1 on error. */
static int
fut_done(pyrc_state *st, PyObject *fut)
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
static int
fut_settle(pyrc_state *st, PyObject *fut, PyObject *value, int exc)
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
static int
settle(MuxObject *m, mux_entry *e, int outcome, int record)
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

static int
check_open(MuxObject *m)
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

static PyObject *
Mux_submit(MuxObject *m, PyObject *const *args, Py_ssize_t nargs)
{
    RedisClientObject *cl = m->client;
    pyrc_args a;
    PyObject *seq;
    size_t size, before = m->out.len;
    double block;
    int flags, rc, transition = -1, may_retry;
    mux_entry *e;

    if (nargs != 2 && nargs != 3) {
        PyErr_SetString(PyExc_TypeError,
                        "submit() takes args, a future and may_retry");
        return NULL;
    }
    may_retry = nargs < 3 ? 1 : PyObject_IsTrue(args[2]);
    if (may_retry < 0) {
        return NULL;
    }
    if (check_open(m) < 0 || pyrc_check_open(cl) < 0) {
        return NULL;
    }
    if (pyrc_prepare_single(cl, args[0], &a, &seq, &size, &flags, &block,
                            NULL) < 0) {
        return NULL;
    }
    if (flags & (PRC_CALL_BLOCKING | PRC_CALL_CLOSE)) {
        pyrc_args_free(&a);
        Py_DECREF(seq);
        return PyLong_FromLong(MUX_DEDICATED);
    }
    if (ring_grow(m) < 0) {
        goto error;
    }
    e = &m->q[(m->head + m->len) % m->cap];
    rc = prc_breaker_allow(prc_pool_breaker(cl->pool), 0, &e->epoch, &e->probe,
                           &transition);
    if (transition >= 0 && pyrc_log_transition(cl, transition) < 0) {
        goto error;
    }
    if (rc < 0) {
        pyrc_raise(cl->state, rc,
                   "circuit breaker open: the server failed recently");
        goto error;
    }
    rc = prc_wbuf_append_command(&m->out, a.argc, a.argv, a.argvlen);
    if (rc < 0) {
        prc_breaker_record(prc_pool_breaker(cl->pool), e->epoch, e->probe,
                           prc_now(), PRC_OK);
        pyrc_raise(cl->state, rc, "cannot queue the command");
        goto error;
    }
    pyrc_args_free(&a);
    Py_DECREF(seq);
    m->appended += size;
    Py_INCREF(args[1]);
    e->fut = args[1];
    e->end = m->appended;
    e->started = prc_now();
    e->deadline = prc_deadline_after(cl->socket_timeout);
    e->flags = flags & PRC_CALL_READONLY;
    e->raw = pyrc_never_decode(cl->state, args[0]);
    m->nraw += e->raw != 0;
    e->may_retry = may_retry;
    e->settled = 0;
    m->len++;
    if (m->out.len >= MUX_FLUSH_BOUND) {
        return PyLong_FromLong(MUX_FLUSH_NOW);
    }
    if (before > 0) {
        return PyLong_FromLong(MUX_QUEUED);
    }
    return PyLong_FromLong(m->len == 1 ? MUX_FLUSH_NOW : MUX_FLUSH_SOON);

error:
    pyrc_args_free(&a);
    Py_DECREF(seq);
    return NULL;
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
    if (check_open(m) < 0) {
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

/* Hand one parsed reply to the first entry: dropped for a tombstone.
 * `local`: the reply is the exception our conversion raised (a decoding
 * error), not the server's. */
static int
deliver(MuxObject *m, PyObject *reply, int local)
{
    pyrc_state *st = m->client->state;
    mux_entry e = ring_pop(m);
    int is_exc = PyExceptionInstance_Check(reply);
    int outcome = PRC_OK, done, rc = 0;

    if (local) {
        outcome = PRC_EINVAL;
    } else if (is_exc) {
        prc_pool_count_response_errors(m->client->pool, 1);
        outcome = pyrc_error_reply_outcome(st, reply);
    }
    done = fut_done(st, e.fut);
    if (done == 0) {
        rc = fut_settle(st, e.fut, reply, is_exc);
    } else if (done < 0) {
        rc = -1;
    }
    /* A reply came: the server answered, whether or not anyone waits (a
     * caller that was cancelled counts as interrupted in the metrics). */
    if (done && !e.settled) {
        prc_pool_record_call(m->client->pool, e.started, 1, PRC_EINTR);
    }
    if (settle(m, &e, outcome, done == 0) < 0) {
        rc = -1;
    }
    Py_DECREF(e.fut);
    return rc;
}

/* The n whole replies in buf[0, len) one by one, after a conversion
 * refused one of them (decode_responses and bytes that are not text):
 * each caller gets its reply, or the exception its own conversion raised;
 * the connection stays in step.  -1 when the bytes are not RESP after all
 * (the connection is then broken). */
static int
deliver_each(MuxObject *m, const char *buf, size_t len, int n)
{
    static const unsigned char raw = 1;
    pyrc_raw_t first = {&raw, 1, -1};
    size_t pos = 0;
    int i;

    for (i = 0; i < n; i++) {
        PyObject *one, *type, *tb;
        prc_reply_t r;
        int local = 0;

        if (prc_reply_at(buf, len, pos, &r) != 1) {
            prc_conn_mark_broken(m->conn);
            PyErr_SetString(PYRC_EXC(m->client->state, PROTOCOL),
                            "invalid reply on a shared connection; closed");
            return -1;
        }
        one = pyrc_parse_span(m->client, m->conn, buf + pos, r.end - pos, 1, 0,
                              1, entry_at(m, 0)->raw ? &first : NULL);
        if (one == NULL) {
            if (PyErr_ExceptionMatches(PYRC_EXC(m->client->state, PROTOCOL))) {
                return -1;
            }
            PyErr_Fetch(&type, &one, &tb);
            PyErr_NormalizeException(&type, &one, &tb);
            if (tb != NULL) {
                PyException_SetTraceback(one, tb);
            }
            Py_XDECREF(type);
            Py_XDECREF(tb);
            local = 1;
        }
        if (deliver(m, one, local) < 0) {
            PyErr_WriteUnraisable((PyObject *)m);
        }
        Py_DECREF(one);
        pos = r.end;
    }
    return 0;
}

/* pyrc_parse_span of the n replies in buf[0, len) when some of the first
 * n entries were sent as NeverDecode (m->nraw): their flags in order.  A
 * new list, or NULL with an exception set (as pyrc_parse_span). */
static PyObject *
read_raw(MuxObject *m, const char *buf, size_t len, int n)
{
    unsigned char *flags = PyMem_Malloc((size_t)n);
    pyrc_raw_t raw = {flags, n, -1};
    PyObject *replies;
    int i;

    if (flags == NULL) {
        return PyErr_NoMemory();
    }
    for (i = 0; i < n; i++) {
        flags[i] = entry_at(m, (size_t)i)->raw != 0;
    }
    replies = pyrc_parse_span(m->client, m->conn, buf, len, n, 1, 1, &raw);
    PyMem_Free(flags);
    return replies;
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
    pyrc_state *st = m->client->state;
    PyObject *replies;
    const char *buf;
    size_t len, whole;
    int n, rc;
    Py_ssize_t i;

    (void)unused;
    if (check_open(m) < 0) {
        return NULL;
    }
    rc = prc_conn_stream_read(m->conn, MUX_READ_MAX, &len, &n);
    if (rc < 0 && n == 0) {
        return pyrc_raise(st, rc, "shared connection lost");
    }
    if (n == 0) {
        return PyLong_FromLong(0);
    }
    if ((size_t)n > m->len) {
        prc_conn_mark_broken(m->conn);
        return PyErr_Format(PYRC_EXC(st, PROTOCOL),
                            "shared connection out of step: %d replies for "
                            "%zu pending calls; closed",
                            n, m->len);
    }
    m->last_read = prc_now();
    buf = prc_conn_replies(m->conn, &whole);
    if (m->nraw > 0) {
        replies = read_raw(m, buf, len, n);
    } else {
        replies = pyrc_parse_span(m->client, m->conn, buf, len, n, 1, 1, NULL);
    }
    if (replies == NULL) {
        if (PyErr_ExceptionMatches(PYRC_EXC(st, PROTOCOL)) ||
            !PyErr_ExceptionMatches(PyExc_Exception)) {
            prc_conn_mark_broken(m->conn);
            return NULL;
        }
        PyErr_Clear();
        n = deliver_each(m, buf, len, n) < 0 ? -1 : n;
        prc_conn_stream_consume(m->conn, len);
        return n < 0 ? NULL : PyLong_FromLong(n);
    }
    prc_conn_stream_consume(m->conn, len);
    for (i = 0; i < n; i++) {
        if (deliver(m, PyList_GET_ITEM(replies, i), 0) < 0) {
            /* A future that refused its result (a subclass raising):
             * keep going, the others are owed theirs. */
            PyErr_WriteUnraisable((PyObject *)m);
        }
    }
    Py_DECREF(replies);
    if (rc < 0) {
        /* The replies before the failure went out; now report it. */
        return pyrc_raise(st, rc, "shared connection lost");
    }
    return PyLong_FromLong(n);
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
    if (check_open(m) < 0) {
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
        done = fut_done(st, e->fut);
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
            if (fut_settle(st, e->fut, exc, 1) < 0) {
                PyErr_WriteUnraisable((PyObject *)m);
            }
            Py_DECREF(exc);
            if (settle(m, e, PRC_ETIMEDOUT, 1) < 0) {
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
        mux_entry e = ring_pop(m);
        int done = fut_done(st, e.fut), rc = 0;

        int again = 0;

        if (done == 0) {
            again =
                e.end > m->sent || (reads && (e.flags & PRC_CALL_READONLY));
            rc = fut_settle(st, e.fut, again ? st->retry : error, !again);
            retried += again;
        }
        /* A call sent again is admitted (and recorded) again: this one
         * settles without counting, as a cancelled call does, and so does
         * a tombstone. */
        if (settle(m, &e, done == 0 && !again ? outcome : PRC_EINTR, !again) <
            0) {
            rc = -1;
        }
        if (done < 0 || rc < 0) {
            PyErr_WriteUnraisable((PyObject *)m);
        }
        Py_DECREF(e.fut);
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
        mux_entry e = ring_pop(m);
        Py_DECREF(e.fut);
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
