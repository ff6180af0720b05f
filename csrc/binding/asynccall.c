/* asynccall.c - the AsyncCall type: one call driven by an event loop,
 * step by step, through prc_pool_step. */
#include "binding.h"

/* A new AsyncCall with room for a command of cmdlen bytes (0 for a
 * batch call). */
static AsyncCallObject *
new_async_call(RedisClientObject *self, size_t cmdlen)
{
    AsyncCallObject *ac;

    if (cmdlen > PY_SSIZE_T_MAX) {
        PyErr_NoMemory();
        return NULL;
    }
    ac = PyObject_GC_NewVar(AsyncCallObject, self->state->AsyncCallType,
                            (Py_ssize_t)cmdlen);
    if (ac == NULL) {
        return NULL;
    }
    Py_INCREF(self);
    ac->client = self;
    ac->batch = NULL;
    ac->pin = NULL;
    ac->single = 0;
    ac->raw = 0;
    ac->finished = 0;
    PyObject_GC_Track(ac);
    return ac;
}

/* A new AsyncCall on a pinned connection (pin may be NULL: none): borrow the
 * pin's connection for the call's life, holding a reference to the pin until
 * async_finish gives it back.  On failure the call is marked finished (it
 * checked nothing out) for the caller to drop. */
static int
async_lend(AsyncCallObject *ac, PinnedObject *pin)
{
    if (pin == NULL) {
        return 0;
    }
    if (pyrc_pin_lend(pin, &ac->call) < 0) {
        ac->finished = 1;
        return -1;
    }
    Py_INCREF(pin);
    ac->pin = pin;
    return 0;
}

/* Begin one command without blocking, on a pinned connection when pin is
 * given; the AsyncCall holds the command's encoding (written now: later
 * changes to a bytearray argument are not sent) and, until it finishes,
 * the lent pin. */
PyObject *
pyrc_start(RedisClientObject *self, PyObject *args_seq, PinnedObject *pin)
{
    AsyncCallObject *ac;
    pyrc_args a;
    PyObject *seq;
    size_t len;
    double block;
    int flags;

    if (pyrc_check_open(self) < 0) {
        return NULL;
    }
    if (pyrc_prepare_single(self, args_seq, &a, &seq, &len, &flags, &block,
                            pin) < 0) {
        return NULL;
    }
    ac = new_async_call(self, len);
    if (ac != NULL) {
        prc_resp_write_command(ac->cmd, a.argc, a.argv, a.argvlen);
    }
    pyrc_args_free(&a);
    Py_DECREF(seq);
    if (ac == NULL) {
        return NULL;
    }
    ac->single = 1;
    ac->raw = pyrc_never_decode(self->state, args_seq);
    prc_call_init(&ac->call, ac->cmd, len, 1, flags | PRC_CALL_NONBLOCK,
                  prc_deadline_after(self->socket_timeout));
    if (flags & PRC_CALL_BLOCKING) {
        pyrc_set_block_deadline(self, &ac->call, block);
    }
    if (async_lend(ac, pin) < 0) {
        Py_DECREF(ac);
        return NULL;
    }
    return (PyObject *)ac;
}

/* Begin a pipeline without blocking (pinned when pin is given); the
 * AsyncCall holds the batch, busy, until it finishes. */
PyObject *
pyrc_start_batch(RedisClientObject *self, PyObject *arg, PinnedObject *pin)
{
    AsyncCallObject *ac;
    BatchObject *b;

    if (pyrc_check_open(self) < 0) {
        return NULL;
    }
    if (!PyObject_TypeCheck(arg, self->state->BatchType)) {
        PyErr_SetString(PyExc_TypeError, "start_batch() takes a Batch");
        return NULL;
    }
    b = (BatchObject *)arg;
    if (b->busy || b->n <= 0 || b->n > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError,
                        "start_batch() needs a non-empty, idle batch");
        return NULL;
    }
    ac = new_async_call(self, 0);
    if (ac == NULL) {
        return NULL;
    }
    prc_call_init(&ac->call, b->out.buf, b->out.len, (int)b->n,
                  (b->flags & ~PRC_CALL_BLOCKING) | PRC_CALL_NONBLOCK,
                  prc_deadline_after(self->socket_timeout));
    if (async_lend(ac, pin) < 0) {
        Py_DECREF(ac);
        return NULL;
    }
    Py_INCREF(b);
    ac->batch = (PyObject *)b;
    b->busy = 1; /* until the call is finished */
    return (PyObject *)ac;
}

/* Finish once: settle the breaker and release or close the connection;
 * give the batch back. */
static int
async_finish(AsyncCallObject *ac, int outcome)
{
    int rc = 0;

    if (!ac->finished) {
        ac->finished = 1;
        rc = pyrc_finish(ac->client, &ac->call, outcome);
    }
    if (ac->pin != NULL) {
        /* The connection goes back to the pin, which is free again. */
        PinnedObject *pin = ac->pin;
        ac->pin = NULL;
        pyrc_pin_keep(ac->client, pin, &ac->call);
        Py_DECREF(pin);
    }
    if (ac->batch != NULL) {
        BatchObject *b = (BatchObject *)ac->batch;
        b->busy = 0;
    }
    return rc;
}

static PyObject *
async_fail(AsyncCallObject *ac, int rc)
{
    if (async_finish(ac, rc) < 0) {
        return NULL;
    }
    return pyrc_raise(ac->client->state, rc, ac->call.errstr);
}

PyDoc_STRVAR(
    AsyncCall_step_doc,
    "step($self, /)\n--\n\n"
    "Advance without blocking.  Returns (state, fd, timeout): state 0\n"
    "when the replies are ready (call result()); else WANT_READ or\n"
    "WANT_WRITE (wait on fd), WANT_POOL (wait for a release),\n"
    "WANT_SLEEP or WANT_CREDS (set_credentials()), each for at most\n"
    "timeout seconds (None: no limit), then step again, or timed_out()\n"
    "when the time ran out.  Raises on failure\n"
    "(the call is then finished).  One call into C per step.");

/* The wait a step asked for, as (state, fd, timeout): a new tuple. */
static PyObject *
wait_tuple(AsyncCallObject *ac, int state)
{
    PyObject *t = PyTuple_New(3), *v;
    int64_t left;

    if (t == NULL) {
        return NULL;
    }
    v = PyLong_FromLong(state);
    if (v == NULL) {
        goto error;
    }
    PyTuple_SET_ITEM(t, 0, v);
    v = PyLong_FromLong(ac->call.wait_fd);
    if (v == NULL) {
        goto error;
    }
    PyTuple_SET_ITEM(t, 1, v);
    if (ac->call.wait_deadline == PRC_NO_DEADLINE) {
        Py_INCREF(Py_None);
        v = Py_None;
    } else {
        left = ac->call.wait_deadline - prc_now();
        v = PyFloat_FromDouble(left > 0 ? (double)left / 1e9 : 0.0);
        if (v == NULL) {
            goto error;
        }
    }
    PyTuple_SET_ITEM(t, 2, v);
    return t;

error:
    Py_DECREF(t);
    return NULL;
}

static PyObject *
AsyncCall_step(AsyncCallObject *ac, PyObject *unused)
{
    int rc;

    (void)unused;
    if (ac->finished) {
        PyErr_SetString(PyExc_RuntimeError, "the call is finished");
        return NULL;
    }
    rc = prc_pool_step(ac->client->pool, &ac->call);
    if ((ac->call.transition >= 0 || ac->call.conn_event) &&
        pyrc_log_call_events(ac->client, &ac->call) < 0) {
        async_finish(ac, PRC_EINTR);
        return NULL;
    }
    if (rc < 0) {
        return async_fail(ac, rc);
    }
    if (rc == PRC_DONE) {
        PyObject *ready = ac->client->state->step_ready;
        Py_INCREF(ready);
        return ready;
    }
    return wait_tuple(ac, rc);
}

PyDoc_STRVAR(
    AsyncCall_timed_out_doc,
    "timed_out($self, /)\n--\n\n"
    "The wait passed its deadline: returns None when the call goes on\n"
    "(step again), or raises TimeoutError/PoolTimeoutError.");

static PyObject *
AsyncCall_timed_out(AsyncCallObject *ac, PyObject *unused)
{
    int rc;

    (void)unused;
    if (ac->finished) {
        PyErr_SetString(PyExc_RuntimeError, "the call is finished");
        return NULL;
    }
    rc = prc_call_timed_out(ac->client->pool, &ac->call);
    if (rc != 0) {
        return async_fail(ac, rc);
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(
    AsyncCall_result_doc,
    "result($self, /)\n--\n\n"
    "After step() returned 0: build the reply (or list of replies for\n"
    "a batch) and finish the call.  A single command's error reply\n"
    "is raised.");

static PyObject *
AsyncCall_result(AsyncCallObject *ac, PyObject *unused)
{
    static const unsigned char raw = 1;
    Py_ssize_t n = ac->call.nreplies;
    BatchObject *b = (BatchObject *)ac->batch;
    PyObject *res;

    (void)unused;
    if (ac->finished || prc_call_conn(&ac->call) == NULL ||
        ac->call.err != 0) {
        PyErr_SetString(PyExc_RuntimeError, "no reply is ready");
        return NULL;
    }
    ac->finished = 1;
    if (b != NULL) {
        res = pyrc_complete(ac->client, &ac->call, n, 0,
                            pyrc_exec_items(ac->batch), b->raw,
                            b->raw_cap < n ? b->raw_cap : n, NULL);
    } else {
        res = pyrc_complete(ac->client, &ac->call, n, ac->single, -1,
                            ac->raw ? &raw : NULL, 1, NULL);
    }
    async_finish(ac, PRC_OK); /* gives the batch back; already finished */
    return res;
}

PyDoc_STRVAR(
    AsyncCall_cancel_doc,
    "cancel($self, /)\n--\n\n"
    "Abandon the call: its connection is closed, never pooled, so no\n"
    "half-read reply can reach a later call.  Idempotent.");

static PyObject *
AsyncCall_cancel(AsyncCallObject *ac, PyObject *unused)
{
    (void)unused;
    if (async_finish(ac, PRC_EINTR) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static int
AsyncCall_traverse(AsyncCallObject *ac, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(ac));
    Py_VISIT(ac->client);
    Py_VISIT(ac->batch);
    Py_VISIT(ac->pin);
    return 0;
}

static int
AsyncCall_clear(AsyncCallObject *ac)
{
    if (!ac->finished && ac->client != NULL &&
        async_finish(ac, PRC_EINTR) < 0) {
        PyErr_WriteUnraisable((PyObject *)ac);
    }
    Py_CLEAR(ac->batch);
    Py_CLEAR(ac->client);
    return 0;
}

static void
AsyncCall_dealloc(AsyncCallObject *ac)
{
    PyTypeObject *tp = Py_TYPE(ac);

    PyObject_GC_UnTrack(ac);
    AsyncCall_clear(ac);
    PyObject_GC_Del(ac);
    Py_DECREF(tp);
}

PyDoc_STRVAR(
    AsyncCall_set_credentials_doc,
    "set_credentials($self, username, password, error=None, /)\n--\n\n"
    "Answer a step's WANT_CREDS: the credentials of the connection being\n"
    "opened (str or None; the core copies them into its AUTH and wipes\n"
    "that once answered), or `error`, a message without secrets, which\n"
    "fails the connection with AuthenticationError.  Then step again.");

static PyObject *
AsyncCall_set_credentials(AsyncCallObject *ac, PyObject *args)
{
    const char *username, *password, *error = NULL;

    if (!PyArg_ParseTuple(args, "zz|z:set_credentials", &username, &password,
                          &error)) {
        return NULL;
    }
    if (!ac->finished) {
        prc_call_set_creds(&ac->call, username, password, error);
    }
    Py_RETURN_NONE;
}

static PyMethodDef AsyncCall_methods[] = {
    {"set_credentials", (PyCFunction)AsyncCall_set_credentials, METH_VARARGS,
     AsyncCall_set_credentials_doc},
    {"step", (PyCFunction)AsyncCall_step, METH_NOARGS, AsyncCall_step_doc},
    {"timed_out", (PyCFunction)AsyncCall_timed_out, METH_NOARGS,
     AsyncCall_timed_out_doc},
    {"result", (PyCFunction)AsyncCall_result, METH_NOARGS,
     AsyncCall_result_doc},
    {"cancel", (PyCFunction)AsyncCall_cancel, METH_NOARGS,
     AsyncCall_cancel_doc},
    {NULL, NULL, 0, NULL},
};

static PyObject *
AsyncCall_get_sent(AsyncCallObject *ac, void *unused)
{
    (void)unused;
    return PyBool_FromLong(prc_call_sent(&ac->call));
}

static PyGetSetDef AsyncCall_getset[] = {
    {"sent", (getter)AsyncCall_get_sent, NULL,
     "Whether the request was handed to the kernel whole (or the call\n"
     "ended): writes on other connections after this go after it.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot AsyncCall_slots[] = {
    {Py_tp_doc, (void *)"One call driven by an event loop."},
    {Py_tp_dealloc, AsyncCall_dealloc},
    {Py_tp_traverse, AsyncCall_traverse},
    {Py_tp_clear, AsyncCall_clear},
    {Py_tp_methods, AsyncCall_methods},
    {Py_tp_getset, AsyncCall_getset},
    {0, NULL},
};

PyType_Spec pyrc_asynccall_spec = {
    .name = "pyredisclient._core.AsyncCall",
    .basicsize = sizeof(AsyncCallObject),
    .itemsize = 1, /* the command's bytes (cmd) */
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | PYRC_TPFLAGS_NO_NEW |
             PYRC_TPFLAGS_IMMUTABLE,
    .slots = AsyncCall_slots,
};
