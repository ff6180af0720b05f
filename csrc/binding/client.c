/* client.c - the Client type: a pool with a command interface, and the
 * synchronous call path (prepare, run without the GIL, complete) that
 * Pinned and AsyncCall share. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "binding.h"
#include "structmember.h"

#define PYRC_RAISED 1

/*
 * Run a prepared call: one GIL release covers the pool wait, connect,
 * write and read.  On EINTR the GIL is taken back to run signal handlers;
 * the call then resumes against the same deadline.  Returns the core
 * result, or PYRC_RAISED when a signal handler raised: the call has then
 * been finished and the exception is set.
 */
static int
run_call(RedisClientObject *self, prc_call_t *call, int64_t *gil_wait)
{
    int64_t back = 0;
    int rc;

    for (;;) {
        Py_BEGIN_ALLOW_THREADS rc = prc_pool_call(self->pool, call);
        if (gil_wait != NULL) {
            back = prc_now();
        }
        Py_END_ALLOW_THREADS if (gil_wait != NULL)
        {
            *gil_wait = prc_now() - back;
        }
        /* Signals first: a handler that raises ends the call here, and
         * nothing below may run (and swallow) it before. */
        if (rc == PRC_EINTR && PyErr_CheckSignals() < 0) {
            prc_call_finish(self->pool, call, PRC_EINTR);
            call->transition = -1;
            call->conn_event = PRC_CONN_EVENT_NONE;
            return PYRC_RAISED;
        }
        if ((call->transition >= 0 || call->conn_event) &&
            pyrc_log_call_events(self, call) < 0) {
            prc_call_finish(self->pool, call, PRC_EINTR);
            call->transition = -1;
            call->conn_event = PRC_CONN_EVENT_NONE;
            return PYRC_RAISED;
        }
        if (rc != PRC_EINTR) {
            return rc;
        }
    }
}

/* Finish a call and log what it caused: -1 when logging raised
 * (the exception is set and must be propagated). */
int
pyrc_finish(RedisClientObject *self, prc_call_t *call, int outcome)
{
    prc_call_finish(self->pool, call, outcome);
    if (call->transition >= 0 || call->conn_event) {
        return pyrc_log_call_events(self, call);
    }
    return 0;
}

/* After a successful exchange: the outcome that error replies imply. */
static int
reply_outcome(RedisClientObject *self, prc_conn_t *conn, PyObject *reply)
{
    int outcome;

    if (reply == NULL || !PyExceptionInstance_Check(reply)) {
        return PRC_OK;
    }
    outcome = pyrc_error_reply_outcome(self->state, reply);
    if (outcome != PRC_OK) {
        prc_conn_mark_broken(conn);
    }
    return outcome;
}

PyDoc_STRVAR(Client_defaults_doc,
             "defaults()\n--\n\n"
             "Every keyword argument of Client with its default, as a dict.");

static PyObject *
Client_defaults(PyObject *unused1, PyObject *unused2)
{
    (void)unused1;
    (void)unused2;
    return pyrc_option_defaults();
}

static int
Client_init(RedisClientObject *self, PyObject *args, PyObject *kwds)
{
    prc_opts_t o;
    pyrc_opts_t own;
    int err = 0;
    char errbuf[256];

    if (self->pool != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Client already initialised");
        return -1;
    }
    if (pyrc_parse_options(args, kwds, &o, &own) < 0) {
        return -1;
    }
    self->socket_timeout = o.socket_timeout;
    self->decode = own.decode;
    if (pyrc_text_init(&own, &self->encoding, &self->errors,
                       &self->utf8_strict, &self->arg_encoding) < 0) {
        return -1;
    }
    /* Pool waits cannot be interrupted by signals: wake every 100 ms so a
     * Ctrl-C handler runs promptly. */
    o.wait_slice = 0.1;
    pyrc_creds_free(self->creds); /* an __init__ that failed before */
    if (pyrc_creds_install(own.creds, &o, 0, &self->creds) < 0) {
        return -1;
    }
    self->pool = prc_pool_new(&o, &err, errbuf, sizeof(errbuf));
    if (self->pool == NULL) {
        return pyrc_raise_setup(self->state, err, errbuf);
    }
    return pyrc_set_where(self, &o);
}

static PyObject *
Client_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    RedisClientObject *self;

    (void)args;
    (void)kwds;
    self = (RedisClientObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->state = pyrc_get_state_by_type(type);
    self->socket_timeout = 5.0;
    return (PyObject *)self;
}

static int
Client_traverse(RedisClientObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return pyrc_creds_traverse(self->creds, visit, arg);
}

static void
Client_dealloc(RedisClientObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);

    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs((PyObject *)self);
    }
    prc_pool_free(self->pool);
    pyrc_creds_free(self->creds); /* after the pool, its last user */
    PyMem_Free(self->spare);
    PyMem_RawFree(self->encoding);
    PyMem_RawFree(self->errors);
    PyMem_RawFree(self->where);
    Py_XDECREF(self->log_where);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

int
pyrc_check_open(RedisClientObject *self)
{
    if (self->pool == NULL) {
        PyErr_SetString(PYRC_EXC(self->state, REDIS),
                        "Client.__init__ was not called");
        return -1;
    }
    return 0;
}

int64_t
pyrc_block_deadline(RedisClientObject *self, double block, int64_t dflt)
{
    double margin = self->socket_timeout > 0.5 ? self->socket_timeout : 0.5;

    if (block == 0) {
        return PRC_NO_DEADLINE; /* BLPOP k 0: wait forever */
    }
    return block > 0 ? prc_deadline_after(block + margin) : dflt;
}

/* The deadline of a blocking command: its own timeout plus a margin. */
void
pyrc_set_block_deadline(RedisClientObject *self, prc_call_t *call,
                        double block)
{
    call->block_deadline = pyrc_block_deadline(self, block, call->deadline);
    if (block == 0) {
        call->deadline = PRC_NO_DEADLINE;
    } else if (call->deadline < call->block_deadline) {
        call->deadline = call->block_deadline;
    }
}

PyDoc_STRVAR(
    Client_execute_doc,
    "execute($self, args, /)\n--\n\n"
    "Send one command (a tuple of str, bytes, bytearray, memoryview,\n"
    "int or float) and return its reply.  An error reply raises\n"
    "ResponseError (or a subclass).  A NeverDecode tuple's reply keeps\n"
    "its strings as bytes.");

/* The state classes refused for one command: on a pooled connection all
 * of them; on a pinned one (a WATCHing pipeline) WATCH and UNWATCH may go,
 * since the pin ends with EXEC, UNWATCH or a close, never pooled watching,
 * while MULTI, EXEC and DISCARD belong to the pipeline's own batch. */
static inline int
refused_single(PinnedObject *pin)
{
    return pin == NULL ? PRC_CMD_STATE : PRC_CMD_STATE & ~PRC_CMD_WATCH;
}

int
pyrc_prepare_single(RedisClientObject *self, PyObject *args_seq, pyrc_args *a,
                    PyObject **seq, size_t *size, int *flags, double *block,
                    PinnedObject *pin)
{
    *seq = PySequence_Fast(args_seq, "execute() takes a tuple of arguments");
    if (*seq == NULL) {
        return -1;
    }
    if (pyrc_args_from_seq(self->state, *seq, a, self->arg_encoding,
                           self->errors) < 0) {
        goto error;
    }
    *flags = prc_command_flags(a->argc, a->argv, a->argvlen, block);
    if ((*flags & PRC_CMD_STATE) && (*flags & refused_single(pin))) {
        pyrc_refuse_state(self->state, a);
        pyrc_args_free(a);
        goto error;
    }
    if (pyrc_command_size(self->state, a, size) < 0) {
        pyrc_args_free(a);
        goto error;
    }
    return 0;

error:
    Py_CLEAR(*seq);
    return -1;
}

/* A synchronous command this large or smaller is encoded on the caller's
 * stack; a larger one in the client's spare heap block, which is kept
 * for the next one up to PYRC_SPARE_KEEP bytes. */
#define PYRC_CMD_INLINE 4096
#define PYRC_SPARE_KEEP (1024 * 1024)

/* Heap room for a command of size bytes (> PYRC_CMD_INLINE): the client's
 * spare block, or a new one when there is none or it is too small, with
 * its capacity in *cap; NULL with MemoryError.  GIL held. */
static char *
spare_take(RedisClientObject *self, size_t size, size_t *cap)
{
    char *buf = self->spare;

    self->spare = NULL;
    *cap = self->spare_cap;
    if (buf == NULL || *cap < size) {
        /* A power of two while it may be kept, so that commands growing
         * a little each time do not allocate each time. */
        *cap = PYRC_CMD_INLINE;
        while (*cap < size && *cap <= PYRC_SPARE_KEEP) {
            *cap *= 2;
        }
        if (*cap < size) {
            *cap = size;
        }
        PyMem_Free(buf); /* its bytes are stale: no realloc */
        buf = PyMem_Malloc(*cap);
        if (buf == NULL) {
            PyErr_NoMemory();
        }
    }
    return buf;
}

/* Give a block from spare_take back: kept as the spare when there is
 * none and it is not too large, else freed.  GIL held. */
static void
spare_give(RedisClientObject *self, char *buf, size_t cap)
{
    if (self->spare == NULL && cap <= PYRC_SPARE_KEEP) {
        self->spare = buf;
        self->spare_cap = cap;
    } else {
        PyMem_Free(buf);
    }
}

/* How many replies the EXEC that ends a transaction batch must hold (its
 * MULTI and EXEC aside), or -1 when the batch is no transaction. */
Py_ssize_t
pyrc_exec_items(PyObject *batch)
{
    BatchObject *b = (BatchObject *)batch;

    if (batch == NULL || !b->transaction || !b->exec_last || b->n < 2) {
        return -1;
    }
    return b->n - 2;
}

/* EXEC answers an array of one reply per queued command, nil when a WATCHed
 * key changed, or an error.  Anything else means the replies cannot be
 * matched to the commands: raise ProtocolError and never reuse the
 * connection.  Steals `replies`; returns it, or NULL with the error set. */
static PyObject *
check_exec(RedisClientObject *self, prc_call_t *call, PyObject *replies,
           Py_ssize_t items)
{
    PyObject *last = PyList_GET_ITEM(replies, PyList_GET_SIZE(replies) - 1);

    if (last == Py_None || PyExceptionInstance_Check(last) ||
        (PyList_Check(last) && PyList_GET_SIZE(last) == items)) {
        return replies;
    }
    if (PyList_Check(last)) {
        PyErr_Format(PYRC_EXC(self->state, PROTOCOL),
                     "invalid EXEC reply: an array of %zd replies for %zd "
                     "queued commands; connection closed",
                     PyList_GET_SIZE(last), items);
    } else {
        PyErr_Format(PYRC_EXC(self->state, PROTOCOL),
                     "invalid EXEC reply: %s where an array of %zd replies "
                     "was expected; connection closed",
                     PyLong_Check(last) ? "an integer" : "a string", items);
    }
    prc_conn_mark_broken(prc_call_conn(call));
    Py_DECREF(replies);
    return NULL;
}

PyObject *
pyrc_complete_failed(RedisClientObject *self, prc_call_t *call)
{
    /* Invalid RESP counts against the breaker; a reply we could not decode
     * (encoding errors, memory) says nothing about the server. */
    pyrc_finish(self, call,
                PyErr_ExceptionMatches(PYRC_EXC(self->state, PROTOCOL))
                    ? PRC_EPROTO
                    : PRC_EINVAL);
    return NULL;
}

/* Parse the replies of a successful call and finish it.  `single`: one
 * reply, whose error reply is raised; `exec`: the items the batch's final
 * EXEC must hold, or -1.  Returns a new reference or NULL. */
PyObject *
pyrc_complete(RedisClientObject *self, prc_call_t *call, Py_ssize_t n,
              int single, Py_ssize_t exec, const unsigned char *raw,
              Py_ssize_t nraw, pyrc_partial_t *pp)
{
    prc_conn_t *conn = prc_call_conn(call);
    pyrc_raw_t rawinfo = {raw, nraw, exec >= 0 ? n - 1 : -1};
    PyObject *replies;
    Py_ssize_t i, nerr = 0;
    int outcome = PRC_OK;

    if (pp != NULL && pp->items != NULL) {
        /* Some were converted while the rest arrived: the rest now. */
        replies = pyrc_partial_take(self, call, pp, n,
                                    raw != NULL ? &rawinfo : NULL) == 0
                      ? pyrc_partial_list(pp)
                      : NULL;
    } else {
        replies = pyrc_parse_replies(self, conn, n, !single,
                                     raw != NULL ? &rawinfo : NULL);
    }
    if (replies != NULL && exec >= 0) {
        replies = check_exec(self, call, replies, exec);
    }
    if (replies == NULL) {
        return pyrc_complete_failed(self, call);
    }
    if (single) {
        outcome = reply_outcome(self, conn, replies);
        nerr = PyExceptionInstance_Check(replies);
    } else {
        for (i = 0; i < n; i++) {
            PyObject *r = PyList_GET_ITEM(replies, i);
            if (PyExceptionInstance_Check(r)) {
                nerr++;
                if (outcome == PRC_OK) {
                    outcome = reply_outcome(self, conn, r);
                }
            }
        }
    }
    if (nerr > 0) {
        prc_pool_count_response_errors(self->pool, nerr);
    }
    if (pyrc_finish(self, call, outcome) < 0) {
        Py_XDECREF(replies);
        return NULL;
    }
    if (single && replies != NULL && PyExceptionInstance_Check(replies)) {
        PyErr_SetObject((PyObject *)Py_TYPE(replies), replies);
        Py_DECREF(replies);
        return NULL;
    }
    return replies;
}

PyObject *
pyrc_execute(RedisClientObject *self, PyObject *args_seq, PinnedObject *pin)
{
    char stack[PYRC_CMD_INLINE];
    prc_call_t call;
    pyrc_args a;
    PyObject *seq, *reply = NULL;
    char *cmd;
    size_t len, cap = 0;
    double block;
    int flags, rc;
    static const unsigned char raw = 1;
    int never_decode;

    if (pyrc_check_open(self) < 0) {
        return NULL;
    }
    if (pyrc_prepare_single(self, args_seq, &a, &seq, &len, &flags, &block,
                            pin) < 0) {
        return NULL;
    }
    never_decode = pyrc_never_decode(self->state, args_seq);
    cmd = len <= sizeof(stack) ? stack : spare_take(self, len, &cap);
    if (cmd != NULL) {
        prc_resp_write_command(cmd, a.argc, a.argv, a.argvlen);
    }
    /* The encoding is a copy: nothing inside the GIL-released section
     * points into a Python object. */
    pyrc_args_free(&a);
    Py_DECREF(seq);
    if (cmd == NULL) {
        return NULL;
    }
    prc_call_init(&call, cmd, len, 1, flags,
                  prc_deadline_after(self->socket_timeout));
    if (flags & PRC_CALL_BLOCKING) {
        pyrc_set_block_deadline(self, &call, block);
    }
    if (pin != NULL && pyrc_pin_lend(pin, &call) < 0) {
        goto done;
    }
    rc = run_call(self, &call, NULL);
    if (rc != 0) {
        if (rc != PYRC_RAISED && pyrc_finish(self, &call, rc) == 0) {
            pyrc_raise(self->state, rc, call.errstr);
        }
    } else {
        reply = pyrc_complete(self, &call, 1, 1, -1,
                              never_decode ? &raw : NULL, 1, NULL);
    }
    if (pin != NULL) {
        pyrc_pin_keep(self, pin, &call);
    }

done:
    if (cmd != stack) {
        spare_give(self, cmd, cap);
    }
    return reply;
}

static PyObject *
Client_execute(RedisClientObject *self, PyObject *args_seq)
{
    return pyrc_execute(self, args_seq, NULL);
}

PyDoc_STRVAR(
    Client_run_doc,
    "run($self, args, callback=None, /)\n--\n\n"
    "execute(args), then callback(reply) when a callback is given.  The\n"
    "command methods' _run hook, with no Python frame in between.");

static PyObject *
Client_run(RedisClientObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *reply, *result;

    if (nargs < 1 || nargs > 2) {
        PyErr_Format(PyExc_TypeError,
                     "run() takes 1 or 2 positional arguments (%zd given)",
                     nargs);
        return NULL;
    }
    reply = pyrc_execute(self, args[0], NULL);
    if (reply == NULL || nargs == 1 || args[1] == Py_None) {
        return reply;
    }
    result = PyObject_CallOneArg(args[1], reply);
    Py_DECREF(reply);
    return result;
}

PyDoc_STRVAR(Client_execute_batch_doc,
             "execute_batch($self, batch, /)\n--\n\n"
             "Send every command queued in a Batch with one write and read\n"
             "all replies.  Returns a list; error replies are returned as\n"
             "exception instances, never raised.");

/* Batches of this many commands or more have their replies converted
 * while the rest arrive: the conversion overlaps the server's work and
 * the transfer instead of following them (pipelines of 10,000 GETs:
 * execute() 396 -> 378 ns a command, benchmarks/README.md).  Each
 * conversion takes the GIL back, so a batch does it at most about 16
 * times, and never for fewer than PYRC_CONVERT_MIN / 2 replies. */
#define PYRC_CONVERT_MIN 512
/* Taking the GIL back after a step took longer than this (ns): other
 * threads are running Python, each further step would hand them the GIL
 * again (up to the switch interval each), so the steps stop. */
#define PYRC_CONVERT_GIL_WAIT 200000

static int
convert_step(Py_ssize_t n)
{
    Py_ssize_t step = n / 16;

    return step < PYRC_CONVERT_MIN / 2 ? PYRC_CONVERT_MIN / 2
           : step > INT32_MAX / 2      ? INT32_MAX / 2
                                       : (int)step;
}

PyObject *
pyrc_execute_batch(RedisClientObject *self, PyObject *arg, PinnedObject *pin)
{
    BatchObject *b;
    prc_call_t call;
    pyrc_partial_t pp = {NULL, NULL, 0, 0, 0};
    pyrc_raw_t rawinfo;
    Py_ssize_t exec;
    PyObject *replies;
    int rc;

    if (pyrc_check_open(self) < 0) {
        return NULL;
    }
    if (!PyObject_TypeCheck(arg, self->state->BatchType)) {
        PyErr_SetString(PyExc_TypeError, "execute_batch() takes a Batch");
        return NULL;
    }
    b = (BatchObject *)arg;
    if (pyrc_batch_busy(b) < 0) {
        return NULL;
    }
    if (b->n == 0) {
        return PyList_New(0);
    }
    if (b->n > INT32_MAX) {
        PyErr_SetString(PYRC_EXC(self->state, DATA),
                        "too many queued commands");
        return NULL;
    }
    /* As pyrc_complete will see them (the partial conversions too). */
    rawinfo.flags = b->raw;
    rawinfo.len = b->raw_cap < b->n ? b->raw_cap : b->n;
    exec = pyrc_exec_items(arg);
    rawinfo.exec = exec >= 0 ? b->n - 1 : -1;
    /* A blocking command inside a pipeline never gets an unlimited wait:
     * pipelines keep the socket timeout. */
    prc_call_init(&call, b->out.buf, b->out.len, (int)b->n,
                  b->flags & ~PRC_CALL_BLOCKING,
                  prc_deadline_after(self->socket_timeout));
    if (pin != NULL && pyrc_pin_lend(pin, &call) < 0) {
        return NULL;
    }
    /* Keep the batch alive and unchanged while the GIL is released. */
    Py_INCREF(b);
    b->busy = 1;
    if (b->n >= PYRC_CONVERT_MIN) {
        call.convert_at = convert_step(b->n);
    }
    for (;;) {
        int64_t gil_wait = 0;
        rc = run_call(self, &call, call.convert_at > 0 ? &gil_wait : NULL);
        if (rc != PRC_WANT_CONVERT) {
            break;
        }
        if (pyrc_partial_take(self, &call, &pp, b->n,
                              b->raw != NULL ? &rawinfo : NULL) < 0) {
            pyrc_complete_failed(self, &call);
            rc = PYRC_RAISED;
            break;
        }
        /* The next step, or none (0: the rest is converted at the end):
         * when another thread wanted the GIL meanwhile, every step would
         * wait for it again. */
        call.convert_at = gil_wait <= PYRC_CONVERT_GIL_WAIT &&
                                  b->n - pp.done > convert_step(b->n)
                              ? (int)pp.done + convert_step(b->n)
                              : 0;
    }
    b->busy = 0;
    if (rc != 0) {
        pyrc_partial_clear(&pp);
        if (rc != PYRC_RAISED && pyrc_finish(self, &call, rc) == 0) {
            pyrc_raise(self->state, rc, call.errstr);
        }
        if (pin != NULL) {
            pyrc_pin_keep(self, pin, &call);
        }
        Py_DECREF(b);
        return NULL;
    }
    replies =
        pyrc_complete(self, &call, b->n, 0, exec, b->raw, rawinfo.len, &pp);
    if (pin != NULL) {
        pyrc_pin_keep(self, pin, &call);
    }
    Py_DECREF(b);
    return replies;
}

static PyObject *
Client_execute_batch(RedisClientObject *self, PyObject *arg)
{
    return pyrc_execute_batch(self, arg, NULL);
}

PyDoc_STRVAR(
    Client_pinned_doc,
    "pinned($self, /)\n--\n\n"
    "A Pinned handle: its calls share one connection (checked out by\n"
    "the first call) until release(), for WATCH/MULTI/EXEC.");

static PyObject *
Client_pinned(RedisClientObject *self, PyObject *unused)
{
    (void)unused;
    if (pyrc_check_open(self) < 0) {
        return NULL;
    }
    return pyrc_pinned_new(self);
}

PyDoc_STRVAR(
    Client_round_trip_opens_doc,
    "round_trip_opens($self, /)\n--\n\n"
    "Every connection a blocking call opens from now on has a PING\n"
    "round trip before the command, so that the server has taken it in\n"
    "(prc.h: prc_pool_round_trip_opens).  Before the first connection\n"
    "only: RuntimeError after it.  Idempotent.");

static PyObject *
Client_round_trip_opens(RedisClientObject *self, PyObject *unused)
{
    int rc;

    (void)unused;
    if (pyrc_check_open(self) < 0) {
        return NULL;
    }
    rc = prc_pool_round_trip_opens(self->pool);
    if (rc == PRC_ENOMEM) {
        return PyErr_NoMemory();
    }
    if (rc != 0) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the client has opened connections already");
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(
    Client_close_doc,
    "close($self, /)\n--\n\n"
    "Close idle connections, wake callers blocked on this client and\n"
    "refuse new calls with ConnectionError.  Idempotent.");

static PyObject *
Client_close(RedisClientObject *self, PyObject *unused)
{
    (void)unused;
    if (self->pool != NULL) {
        prc_pool_close(self->pool);
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(Client_start_doc,
             "start($self, args, /)\n--\n\n"
             "Begin one command without blocking; drive it with AsyncCall.");

static PyObject *
Client_start(RedisClientObject *self, PyObject *args_seq)
{
    return pyrc_start(self, args_seq, NULL);
}

PyDoc_STRVAR(Client_start_batch_doc,
             "start_batch($self, batch, /)\n--\n\n"
             "Begin a pipeline without blocking; drive it with AsyncCall.");

static PyObject *
Client_start_batch(RedisClientObject *self, PyObject *arg)
{
    return pyrc_start_batch(self, arg, NULL);
}

static PyMethodDef Client_methods[] = {
    {"defaults", (PyCFunction)Client_defaults, METH_NOARGS | METH_STATIC,
     Client_defaults_doc},
    {"execute", (PyCFunction)Client_execute, METH_O, Client_execute_doc},
    {"run", (PyCFunction)(void (*)(void))Client_run, METH_FASTCALL,
     Client_run_doc},
    {"execute_batch", (PyCFunction)Client_execute_batch, METH_O,
     Client_execute_batch_doc},
    {"pool_stats", (PyCFunction)pyrc_client_pool_stats, METH_NOARGS,
     pyrc_client_pool_stats_doc},
    {"breaker_state", (PyCFunction)pyrc_client_breaker_state, METH_NOARGS,
     pyrc_client_breaker_doc},
    {"close", (PyCFunction)Client_close, METH_NOARGS, Client_close_doc},
    {"disconnect", (PyCFunction)pyrc_client_disconnect, METH_O,
     pyrc_client_disconnect_doc},
    {"metrics", (PyCFunction)pyrc_client_metrics, METH_NOARGS,
     pyrc_client_metrics_doc},
    {"get_retry", (PyCFunction)pyrc_client_get_retry, METH_NOARGS,
     pyrc_client_get_retry_doc},
    {"set_retry", (PyCFunction)pyrc_client_set_retry, METH_VARARGS,
     pyrc_client_set_retry_doc},
    {"pinned", (PyCFunction)Client_pinned, METH_NOARGS, Client_pinned_doc},
    {"round_trip_opens", (PyCFunction)Client_round_trip_opens, METH_NOARGS,
     Client_round_trip_opens_doc},
    {"start", (PyCFunction)Client_start, METH_O, Client_start_doc},
    {"shareable", (PyCFunction)pyrc_shareable, METH_O,
     "shareable($self, args, /)\n--\n\n"
     "May the command share a connection (asyncio multiplexing): neither\n"
     "blocking nor QUIT.  Raises as execute() would for a bad command."},
    {"start_batch", (PyCFunction)Client_start_batch, METH_O,
     Client_start_batch_doc},
    {NULL, NULL, 0, NULL},
};

static PyObject *
Client_get_closed(RedisClientObject *self, void *unused)
{
    (void)unused;
    return PyBool_FromLong(self->pool == NULL || prc_pool_closed(self->pool));
}

static PyGetSetDef Client_getset[] = {
    {"closed", (getter)Client_get_closed, NULL,
     "True once close() has run: later calls raise ConnectionError.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef Client_members[] = {
    {"__weaklistoffset__", T_PYSSIZET,
     offsetof(RedisClientObject, weakreflist), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

PyDoc_STRVAR(Client_doc,
             "Client(*, host='localhost', port=6379, ...)\n--\n\n"
             "The C core's connection pool with a command interface.  Use\n"
             "pyredisclient.RedisClient, which validates configuration.");

static PyType_Slot Client_slots[] = {
    {Py_tp_doc, (void *)Client_doc},
    {Py_tp_new, Client_new},
    {Py_tp_init, Client_init},
    {Py_tp_dealloc, Client_dealloc},
    {Py_tp_traverse, Client_traverse},
    {Py_tp_methods, Client_methods},
    {Py_tp_members, Client_members},
    {Py_tp_getset, Client_getset},
    {0, NULL},
};

PyType_Spec pyrc_client_spec = {
    .name = "pyredisclient._core.Client",
    .basicsize = sizeof(RedisClientObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE |
             PYRC_TPFLAGS_IMMUTABLE,
    .slots = Client_slots,
};
