/* muxread.c - the reading side of the Mux (mux.c): replies converted in
 * one pass and handed to the pending calls in FIFO order, a pipeline's
 * gathered into its list, a transaction's EXEC checked for its shape. */
#include "mux_int.h"

/* A transaction's replies: EXEC (the last) must be nil, an error, or an
 * array of `exec` replies, one per queued command, else they cannot be
 * matched to the commands.  The stream itself is in step (the framer
 * counted the replies), so only this caller fails: *reply becomes a new
 * ProtocolError.  0, or -1 when making it failed. */
static int
batch_exec_bad(MuxObject *m, Py_ssize_t exec, PyObject *replies,
               PyObject **reply)
{
    PyObject *last;

    if (exec < 0) {
        return 0;
    }
    last = PyList_GET_ITEM(replies, PyList_GET_SIZE(replies) - 1);
    if (last == Py_None || PyExceptionInstance_Check(last) ||
        (PyList_Check(last) && PyList_GET_SIZE(last) == exec)) {
        return 0;
    }
    *reply = PyObject_CallFunction(PYRC_EXC(m->client->state, PROTOCOL), "s",
                                   "invalid EXEC reply: not an array of one "
                                   "reply per queued command");
    return *reply != NULL ? 0 : -1;
}

/* Hand one parsed reply to the first entry: dropped for a tombstone.
 * `local`: the reply is the exception our conversion raised (a decoding
 * error), not the server's. */
static int
deliver(MuxObject *m, PyObject *reply, int local)
{
    pyrc_state *st = m->client->state;
    mux_entry *head = &m->q[m->head], e;
    int is_exc = PyExceptionInstance_Check(reply);
    int outcome = PRC_OK, done, rc = 0;
    PyObject *whole = NULL;

    if (local) {
        outcome = PRC_EINVAL;
    } else if (is_exc) {
        prc_pool_count_response_errors(m->client->pool, 1);
        outcome = pyrc_error_reply_outcome(st, reply);
    }
    if (head->batch) {
        /* A pipeline: its replies gather (in the list made when it was
         * queued: nothing here can fail half-way) until the last one. */
        Py_INCREF(reply);
        PyList_SET_ITEM(head->partial, head->got, reply);
        head->got++;
        m->replies--;
        if (head->outcome == PRC_OK) {
            head->outcome = outcome;
        }
        if (head->got < head->count) {
            return 0;
        }
        whole = reply = head->partial;
        head->partial = NULL;
        is_exc = 0;
        outcome = head->outcome;
        if (batch_exec_bad(m, head->exec, whole, &reply) < 0) {
            /* No memory for the ProtocolError: the caller gets that. */
            PyObject *type, *tb;
            PyErr_Fetch(&type, &reply, &tb);
            PyErr_NormalizeException(&type, &reply, &tb);
            Py_XDECREF(type);
            Py_XDECREF(tb);
            if (reply == NULL) {
                Py_INCREF(PyExc_MemoryError);
                reply = PyExc_MemoryError;
            }
        }
        is_exc = reply != whole;
    }
    e = pyrc__mux_ring_pop(m);
    done = pyrc__mux_fut_done(st, e.fut);
    if (done == 0) {
        rc = pyrc__mux_fut_settle(st, e.fut, reply, is_exc);
    } else if (done < 0) {
        rc = -1;
    }
    /* A reply came: the server answered, whether or not anyone waits (a
     * caller that was cancelled counts as interrupted in the metrics). */
    if (done && !e.settled) {
        prc_pool_record_call(m->client->pool, e.started, 1, PRC_EINTR);
    }
    if (pyrc__mux_settle(m, &e, outcome, done == 0) < 0) {
        rc = -1;
    }
    Py_DECREF(e.fut);
    if (whole != NULL) {
        if (reply != whole) {
            Py_DECREF(reply);
        }
        Py_DECREF(whole);
    }
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
    size_t k;
    int i;

    if (flags == NULL) {
        return PyErr_NoMemory();
    }
    /* Reply i belongs to the entry whose remaining replies cover it (a
     * pipeline's entry takes several; those are never raw).  Mux_read
     * refused more replies than the ring owes, so every i is covered. */
    for (i = 0, k = 0; i < n && k < m->len; k++) {
        const mux_entry *e = entry_at(m, k);
        Py_ssize_t left;
        for (left = e->count - e->got; left > 0 && i < n; left--) {
            flags[i++] = e->raw != 0;
        }
    }
    replies = pyrc_parse_span(m->client, m->conn, buf, len, n, 1, 1, &raw);
    PyMem_Free(flags);
    return replies;
}

PyObject *
pyrc__mux_read(MuxObject *m)
{
    pyrc_state *st = m->client->state;
    PyObject *replies;
    const char *buf;
    size_t len, whole;
    int n, rc;
    Py_ssize_t i;

    if (pyrc__mux_check_open(m) < 0) {
        return NULL;
    }
    rc = prc_conn_stream_read(m->conn, MUX_READ_MAX, &len, &n);
    if (rc < 0 && n == 0) {
        return pyrc_raise(st, rc, "shared connection lost");
    }
    if (n == 0) {
        return PyLong_FromLong(0);
    }
    if ((size_t)n > m->replies) {
        prc_conn_mark_broken(m->conn);
        return PyErr_Format(PYRC_EXC(st, PROTOCOL),
                            "shared connection out of step: %d replies for "
                            "%zu pending; closed",
                            n, m->replies);
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
