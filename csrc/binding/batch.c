/* batch.c - the Batch type: a pipeline's commands, encoded and queued in
 * C, sent by one call. */
#include <string.h>
#include <strings.h>

#include "binding.h"

/* A batch's encoded commands stay below this: 4 GiB. */
#define PYRC_MAX_BATCH ((size_t)UINT32_MAX)
/* A batch buffer up to this size is kept for reuse: by the batch when it
 * is cleared, by the module (batch_spare) when it dies. */
#define PYRC_BATCH_KEEP (1024 * 1024)

static char *
dup_cstr(const char *s)
{
    char *d = PyMem_Malloc(strlen(s) + 1);

    if (d == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    strcpy(d, s);
    return d;
}

static PyObject *
Batch_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static const char *const kwlist[] = {"encoding", "encoding_errors",
                                         "owner", "transaction", NULL};
    const char *encoding = NULL, *errors = NULL;
    PyObject *owner = Py_None;
    int transaction = 0;
    BatchObject *self;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$zzOp:Batch",
                                     (char **)kwlist, &encoding, &errors,
                                     &owner, &transaction)) {
        return NULL;
    }
    self = (BatchObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->flags = PRC_CALL_READONLY;
    self->transaction = transaction;
    self->callbacks = PyList_New(0);
    if (self->callbacks == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    if (owner != Py_None) {
        self->owner = PyWeakref_NewRef(owner, NULL);
        if (self->owner == NULL) {
            Py_DECREF(self);
            return NULL;
        }
    }
    if (encoding != NULL && strcasecmp(encoding, "utf-8") != 0 &&
        strcasecmp(encoding, "utf8") != 0) {
        if (PyCodec_KnownEncoding(encoding) != 1) {
            Py_DECREF(self);
            PyErr_Format(PyExc_ValueError, "unknown encoding %s", encoding);
            return NULL;
        }
        self->encoding = dup_cstr(encoding);
        if (self->encoding == NULL) {
            Py_DECREF(self);
            return NULL;
        }
    }
    if (errors != NULL && strcmp(errors, "strict") != 0) {
        self->errors = dup_cstr(errors);
        if (self->errors == NULL) {
            Py_DECREF(self);
            return NULL;
        }
    }
    return (PyObject *)self;
}

static int
Batch_traverse(BatchObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->callbacks);
    Py_VISIT(self->owner);
    return 0;
}

static void
Batch_dealloc(BatchObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    pyrc_state *st;

    PyObject_GC_UnTrack(self);
    /* No tp_clear: the list and the weak reference break any cycle
     * through the callbacks, so both are always set while we live. */
    Py_XDECREF(self->callbacks);
    Py_XDECREF(self->owner);
    st = pyrc_get_state_by_type(tp);
    if (st != NULL && st->batch_spare.buf == NULL && self->out.owned &&
        self->out.cap <= PYRC_BATCH_KEEP) {
        self->out.len = 0;
        st->batch_spare = self->out; /* the module's now */
    } else {
        prc_wbuf_free(&self->out);
    }
    PyMem_Free(self->encoding);
    PyMem_Free(self->errors);
    PyMem_Free(self->raw);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

/* The module state of a live batch.  Batch cannot be subclassed (no
 * Py_TPFLAGS_BASETYPE), so its type is the module's own heap type, whose
 * state PyType_GetModuleState reads directly, without the walk along the
 * MRO that PyType_GetModuleByDef makes on every queued command. */
static inline pyrc_state *
batch_state(BatchObject *self)
{
    return (pyrc_state *)PyType_GetModuleState(Py_TYPE(self));
}

int
pyrc_batch_busy(BatchObject *self)
{
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the batch is being executed by another thread");
        return -1;
    }
    return 0;
}

/* Encode one command (arguments already converted) onto the end of the
 * batch, straight into its buffer; a command with a state class in
 * `refused` raises DataError (refuse_state).  Returns 0, or -1 with an
 * exception set and the batch unchanged. */
static int
batch_push(BatchObject *self, pyrc_state *st, const pyrc_args *a, int refused)
{
    size_t len;
    double block;
    int flags = prc_command_flags_memo(&self->memo, a->argc, a->argv,
                                       a->argvlen, &block);

    if ((flags & PRC_CMD_STATE) && (flags & refused)) {
        return pyrc_refuse_state(st, a);
    }
    /* The size the conversion computed, else computed and checked here. */
    len = a->size;
    if (len == 0 && pyrc_command_size(st, a, &len) < 0) {
        return -1;
    }
    if (len >= PYRC_MAX_BATCH - self->out.len) {
        PyErr_SetString(PYRC_EXC(st, DATA), "pipeline larger than 4 GiB");
        return -1;
    }
    if (self->out.buf == NULL && st->batch_spare.buf != NULL) {
        /* A dead batch's buffer: no growth from scratch. */
        self->out = st->batch_spare;
        prc_wbuf_init(&st->batch_spare, NULL, 0);
    }
    if (self->out.cap - self->out.len < len &&
        prc_wbuf_reserve(&self->out, len) != 0) {
        PyErr_NoMemory();
        return -1;
    }
    prc_resp_write_command(self->out.buf + self->out.len, a->argc, a->argv,
                           a->argvlen);
    self->out.len += len;
    if (self->n < self->raw_cap) {
        self->raw[self->n] = 0; /* a position used before a clear() */
    }
    self->n++;
    if (!(flags & PRC_CALL_READONLY)) {
        self->flags &= ~PRC_CALL_READONLY;
    }
    if (flags & (PRC_CALL_BLOCKING | PRC_CALL_CLOSE)) {
        self->any_blocking |= (flags & PRC_CALL_BLOCKING) != 0;
        self->flags |= flags & PRC_CALL_CLOSE;
    }
    self->exec_last = a->argc == 1 && a->argvlen[0] == 4 &&
                      strncasecmp(a->argv[0], "EXEC", 4) == 0;
    return 0;
}

/* Room for the raw flags of positions below n, new ones zero: 0, or -1
 * with MemoryError. */
static int
raw_reserve(BatchObject *self, Py_ssize_t n)
{
    Py_ssize_t cap = self->raw_cap > 0 ? self->raw_cap : 16;
    unsigned char *p;

    if (n <= self->raw_cap) {
        return 0;
    }
    while (cap < n) {
        cap *= 2;
    }
    p = PyMem_Realloc(self->raw, (size_t)cap);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memset(p + self->raw_cap, 0, (size_t)(cap - self->raw_cap));
    self->raw = p;
    self->raw_cap = cap;
    return 0;
}

/* Convert and push one command's arguments (batch_push), marking its
 * reply raw when never_decode; 0 or -1.  Inline: each caller's constant
 * `refused` then costs nothing. */
static inline int
batch_add_items(BatchObject *self, pyrc_state *st, PyObject *const *items,
                Py_ssize_t n, int never_decode, int refused)
{
    pyrc_args a;
    int rc;

    if (never_decode && raw_reserve(self, self->n + 1) < 0) {
        return -1;
    }
    if (pyrc_args_from_items(st, items, n, &a, self->encoding,
                             self->errors ? self->errors : "strict") < 0) {
        return -1;
    }
    rc = batch_push(self, st, &a, refused);
    if (rc == 0 && never_decode) {
        self->raw[self->n - 1] = 1;
    }
    pyrc_args_free(&a);
    return rc;
}

/* batch_add_items for a tuple/list of arguments (a NeverDecode is one). */
static inline int
batch_add(BatchObject *self, pyrc_state *st, PyObject *args_seq, int refused)
{
    PyObject *seq;
    int rc;

    seq = PySequence_Fast(args_seq, "append() takes a tuple of arguments");
    if (seq == NULL) {
        return -1;
    }
    rc = batch_add_items(self, st, PySequence_Fast_ITEMS(seq),
                         PySequence_Fast_GET_SIZE(seq),
                         pyrc_never_decode(st, args_seq), refused);
    Py_DECREF(seq);
    return rc;
}

PyDoc_STRVAR(
    Batch_append_doc,
    "append($self, args, /)\n--\n\n"
    "Encode one command now (the arguments are copied) and queue it.\n"
    "The pipeline's own path: MULTI, EXEC, DISCARD, WATCH and UNWATCH\n"
    "may go; other connection-state commands raise DataError.");

static PyObject *
Batch_append(BatchObject *self, PyObject *args_seq)
{
    if (pyrc_batch_busy(self) < 0 ||
        batch_add(self, batch_state(self), args_seq, PRC_CMD_CONN_STATE) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Queue one fixed command that append() refuses (a cluster client's
 * ASKING or READONLY); 0 or -1 with an exception set. */
static PyObject *
batch_push_fixed(BatchObject *self, const char *name, size_t len)
{
    const char *argv[1] = {name};
    size_t argvlen[1] = {len};
    pyrc_args a = {.argv = argv, .argvlen = argvlen, .argc = 1};

    if (pyrc_batch_busy(self) < 0 ||
        batch_push(self, batch_state(self), &a, 0) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

PyDoc_STRVAR(
    Batch_asking_doc,
    "asking($self, /)\n--\n\n"
    "Queue ASKING, for the command appended next: the cluster client's\n"
    "answer to an ASK redirection.  ASKING holds for that one command\n"
    "only, so the connection goes back to the pool as it was (append()\n"
    "refuses ASKING alone).");

static PyObject *
Batch_asking(BatchObject *self, PyObject *unused)
{
    (void)unused;
    return batch_push_fixed(self, "ASKING", 6);
}

PyDoc_STRVAR(
    Batch_readonly_replica_doc,
    "readonly_replica($self, /)\n--\n\n"
    "Queue READONLY: the cluster client's prefix to a read it sends to a\n"
    "replica (read_from_replicas).  READONLY stays on the connection, but\n"
    "the cluster client sends it only on its connections to replicas, each\n"
    "time, where it changes nothing for later reads; append() refuses it.");

static PyObject *
Batch_readonly_replica(BatchObject *self, PyObject *unused)
{
    (void)unused;
    return batch_push_fixed(self, "READONLY", 8);
}

PyDoc_STRVAR(
    Batch_queue_doc,
    "queue($self, args, callback=None, /)\n--\n\n"
    "append(args) (after MULTI, for the first command of a transaction\n"
    "batch) and record callback in callbacks.  Returns the owner given\n"
    "to Batch(), so a Pipeline's command methods chain; None without one.\n"
    "Every connection-state command raises DataError (the user's path).");

PyObject *
pyrc_batch_queue_items(BatchObject *self, PyObject *const *items, Py_ssize_t n,
                       PyObject *args_seq, PyObject *callback)
{
    static const char *const multi_argv[] = {"MULTI"};
    static size_t multi_len[] = {5};
    pyrc_state *st = batch_state(self);
    size_t len0 = self->out.len;
    Py_ssize_t n0 = self->n;
    int flags0 = self->flags, blocking0 = self->any_blocking;
    int exec0 = self->exec_last;
    int never_decode = args_seq != NULL && pyrc_never_decode(st, args_seq);
    PyObject *owner;

    if (pyrc_batch_busy(self) < 0) {
        return NULL;
    }
    if (self->transaction && self->n == 0) {
        pyrc_args multi = {.argv = (const char **)multi_argv,
                           .argvlen = multi_len,
                           .argc = 1};
        if (batch_push(self, st, &multi, 0) < 0) {
            return NULL;
        }
    }
    if (batch_add_items(self, st, items, n, never_decode, PRC_CMD_STATE) < 0 ||
        PyList_Append(self->callbacks, callback) < 0) {
        /* Nothing half-queued: a command without its callback (or a lone
         * MULTI) would shift every later reply. */
        self->out.len = len0;
        self->n = n0;
        self->flags = flags0;
        self->any_blocking = blocking0;
        self->exec_last = exec0;
        return NULL;
    }
    if (self->owner == NULL) {
        Py_RETURN_NONE;
    }
#if PY_VERSION_HEX >= 0x030D0000
    if (PyWeakref_GetRef(self->owner, &owner) < 0) {
        return NULL;
    }
    if (owner == NULL) {
        Py_RETURN_NONE;
    }
    return owner;
#else
    owner = PyWeakref_GetObject(self->owner); /* borrowed; None when dead */
    Py_INCREF(owner);
    return owner;
#endif
}

PyObject *
pyrc_batch_queue(BatchObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *seq, *res;

    if (nargs < 1 || nargs > 2) {
        PyErr_Format(PyExc_TypeError,
                     "queue() takes 1 or 2 positional arguments (%zd given)",
                     nargs);
        return NULL;
    }
    seq = PySequence_Fast(args[0], "append() takes a tuple of arguments");
    if (seq == NULL) {
        return NULL;
    }
    res = pyrc_batch_queue_items(self, PySequence_Fast_ITEMS(seq),
                                 PySequence_Fast_GET_SIZE(seq), args[0],
                                 nargs == 2 ? args[1] : Py_None);
    Py_DECREF(seq);
    return res;
}

PyDoc_STRVAR(Batch_command_name_doc,
             "command_name($self, index, /)\n--\n\n"
             "The name (first argument) of queued command `index`, counting\n"
             "a transaction's MULTI; for error messages.");

static PyObject *
Batch_command_name(BatchObject *self, PyObject *arg)
{
    Py_ssize_t index = PyNumber_AsSsize_t(arg, PyExc_IndexError), i;
    prc_reply_t cmd, name;
    size_t pos = 0;

    if (index == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (index < 0 || index >= self->n) {
        PyErr_SetString(PyExc_IndexError, "command index out of range");
        return NULL;
    }
    /* The batch is RESP (arrays of bulk strings, from the core's writer):
     * the framer finds each command, and its first element. */
    for (i = 0; i <= index; i++) {
        if (prc_reply_at(self->out.buf, self->out.len, pos, &cmd) != 1 ||
            cmd.type != '*' || cmd.n < 1) {
            goto malformed;
        }
        pos = cmd.end;
    }
    if (prc_reply_at(self->out.buf, cmd.end, cmd.body, &name) == 1 &&
        name.type == '$' && name.text != NULL) {
        return PyUnicode_DecodeUTF8(name.text, (Py_ssize_t)name.len,
                                    "backslashreplace");
    }
malformed:
    PyErr_SetString(PyExc_RuntimeError, "malformed batch buffer");
    return NULL;
}

PyDoc_STRVAR(
    Batch_apply_callbacks_doc,
    "apply_callbacks($self, results, raise_on_error, /)\n--\n\n"
    "Replace each reply in results (a list, one per queued command) that\n"
    "is not an exception with callbacks[i](reply), where a callback was\n"
    "given.  Returns the index of the first exception reply when\n"
    "raise_on_error (stopping there), else -1.  A pipeline's results\n"
    "without a Python loop per command.");

static PyObject *
Batch_apply_callbacks(BatchObject *self, PyObject *const *args,
                      Py_ssize_t nargs)
{
    PyObject *results;
    Py_ssize_t i;
    int raise_on_error;

    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "apply_callbacks() takes 2 positional arguments (%zd "
                     "given)",
                     nargs);
        return NULL;
    }
    results = args[0];
    if (!PyList_Check(results)) {
        PyErr_SetString(PyExc_TypeError, "apply_callbacks() takes a list");
        return NULL;
    }
    raise_on_error = PyObject_IsTrue(args[1]);
    if (raise_on_error < 0) {
        return NULL;
    }
    /* Sizes read again each time: a callback may change either list. */
    for (i = 0;
         i < PyList_GET_SIZE(results) && i < PyList_GET_SIZE(self->callbacks);
         i++) {
        PyObject *reply = PyList_GET_ITEM(results, i);
        PyObject *cb = PyList_GET_ITEM(self->callbacks, i), *v;

        if (PyObject_TypeCheck(reply, (PyTypeObject *)PyExc_Exception)) {
            if (raise_on_error) {
                return PyLong_FromSsize_t(i);
            }
            continue;
        }
        if (cb == Py_None) {
            continue;
        }
        Py_INCREF(cb);
        Py_INCREF(reply);
        v = PyObject_CallOneArg(cb, reply);
        Py_DECREF(reply);
        Py_DECREF(cb);
        if (v == NULL) {
            return NULL;
        }
        if (i >= PyList_GET_SIZE(results)) {
            Py_DECREF(v);
            break;
        }
        /* Steals v; drops whatever results[i] now holds. */
        if (PyList_SetItem(results, i, v) < 0) {
            return NULL;
        }
    }
    return PyLong_FromLong(-1);
}

PyDoc_STRVAR(Batch_clear_doc,
             "clear($self, /)\n--\n\nDrop every queued command.");

static PyObject *
Batch_clear(BatchObject *self, PyObject *unused)
{
    (void)unused;
    if (pyrc_batch_busy(self) < 0) {
        return NULL;
    }
    if (PyList_SetSlice(self->callbacks, 0, PY_SSIZE_T_MAX, NULL) < 0) {
        return NULL;
    }
    self->n = 0;
    self->flags = PRC_CALL_READONLY;
    self->any_blocking = 0;
    self->exec_last = 0;
    /* Reused by the next commands, unless a large pipeline grew it. */
    prc_wbuf_shrink(&self->out, PYRC_BATCH_KEEP);
    Py_RETURN_NONE;
}

static Py_ssize_t
Batch_len(BatchObject *self)
{
    return self->n;
}

static PyObject *
Batch_get_nbytes(BatchObject *self, void *closure)
{
    (void)closure;
    return PyLong_FromSize_t(self->out.len);
}

static PyObject *
Batch_get_readonly(BatchObject *self, void *closure)
{
    (void)closure;
    return PyBool_FromLong((self->flags & PRC_CALL_READONLY) != 0);
}

static PyMethodDef Batch_methods[] = {
    {"append", (PyCFunction)Batch_append, METH_O, Batch_append_doc},
    {"asking", (PyCFunction)Batch_asking, METH_NOARGS, Batch_asking_doc},
    {"readonly_replica", (PyCFunction)Batch_readonly_replica, METH_NOARGS,
     Batch_readonly_replica_doc},
    {"queue", (PyCFunction)(void (*)(void))pyrc_batch_queue, METH_FASTCALL,
     Batch_queue_doc},
    {"command_name", (PyCFunction)Batch_command_name, METH_O,
     Batch_command_name_doc},
    {"apply_callbacks", (PyCFunction)(void (*)(void))Batch_apply_callbacks,
     METH_FASTCALL, Batch_apply_callbacks_doc},
    {"clear", (PyCFunction)Batch_clear, METH_NOARGS, Batch_clear_doc},
    {NULL, NULL, 0, NULL},
};

static PyObject *
Batch_get_callbacks(BatchObject *self, void *closure)
{
    (void)closure;
    Py_INCREF(self->callbacks);
    return self->callbacks;
}

static PyGetSetDef Batch_getset[] = {
    {"callbacks", (getter)Batch_get_callbacks, NULL,
     "the callbacks given to queue(), in order (the batch's own list)", NULL},
    {"nbytes", (getter)Batch_get_nbytes, NULL, "encoded size in bytes", NULL},
    {"readonly", (getter)Batch_get_readonly, NULL,
     "True when every queued command is read-only", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(Batch_doc, "Batch()\n--\n\n"
                        "Commands encoded and queued in C for one pipeline.");

static PyType_Slot Batch_slots[] = {
    {Py_tp_doc, (void *)Batch_doc},
    {Py_tp_new, Batch_new},
    {Py_tp_dealloc, Batch_dealloc},
    {Py_tp_traverse, Batch_traverse},
    {Py_tp_methods, Batch_methods},
    {Py_tp_getset, Batch_getset},
    {Py_sq_length, Batch_len},
    {Py_mp_length, Batch_len},
    {0, NULL},
};

PyType_Spec pyrc_batch_spec = {
    .name = "pyredisclient._core.Batch",
    .basicsize = sizeof(BatchObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | PYRC_TPFLAGS_IMMUTABLE,
    .slots = Batch_slots,
};
