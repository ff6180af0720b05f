/* pinned.c - the Pinned type: a connection kept checked out across calls
 * (WATCH ... EXEC), lent to one call at a time. */
#include "binding.h"

PyObject *
pyrc_pinned_new(RedisClientObject *client)
{
    PinnedObject *pin =
        PyObject_GC_New(PinnedObject, client->state->PinnedType);

    if (pin == NULL) {
        return NULL;
    }
    Py_INCREF(client);
    pin->client = client;
    pin->conn = NULL;
    pin->busy = 0;
    PyObject_GC_Track(pin);
    return (PyObject *)pin;
}

/* Lend a pin's connection to a call, or mark the call to become pinned when
 * the pin has none yet.  While lent the call owns the connection and the pin
 * is busy: one call at a time, so two tasks (or threads) sharing a WATCHing
 * pipeline get an error instead of interleaved replies, and a pin cleared
 * while its call is in flight (a garbage cycle) never frees the connection
 * under the call.  Every successful lend is ended by pin_keep. */
int
pyrc_pin_lend(PinnedObject *pin, prc_call_t *call)
{
    if (pin == NULL) {
        return 0;
    }
    if (pin->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the pinned connection is busy: a WATCHing pipeline "
                        "serves one call at a time");
        return -1;
    }
    pin->busy = 1;
    if (pin->conn != NULL) {
        prc_call_use_conn(call, pin->conn);
        pin->conn = NULL;
    } else {
        call->flags |= PRC_CALL_PIN;
    }
    return 0;
}

/* After a finished pinned call: the connection goes back to the pin, or to
 * the pool (closed) when the pin was cleared meanwhile. */
void
pyrc_pin_keep(RedisClientObject *self, PinnedObject *pin, prc_call_t *call)
{
    prc_conn_t *c;

    if (pin == NULL) {
        return;
    }
    pin->busy = 0;
    c = prc_call_take_conn(call);
    if (c != NULL) {
        if (pin->client == NULL || pin->conn != NULL) {
            prc_pool_unpin(self->pool, c, 0);
        } else {
            pin->conn = c;
        }
    }
}

static void
pinned_release(PinnedObject *pin, int ok)
{
    if (pin->conn != NULL) {
        prc_conn_t *c = pin->conn;
        pin->conn = NULL;
        prc_pool_unpin(pin->client->pool, c, ok && prc_conn_usable(c));
    }
}

static PyObject *
Pinned_execute(PinnedObject *pin, PyObject *args_seq)
{
    return pyrc_execute(pin->client, args_seq, pin);
}

static PyObject *
Pinned_execute_batch(PinnedObject *pin, PyObject *arg)
{
    return pyrc_execute_batch(pin->client, arg, pin);
}

static PyObject *
Pinned_start(PinnedObject *pin, PyObject *args_seq)
{
    return pyrc_start(pin->client, args_seq, pin);
}

static PyObject *
Pinned_start_batch(PinnedObject *pin, PyObject *arg)
{
    return pyrc_start_batch(pin->client, arg, pin);
}

PyDoc_STRVAR(
    Pinned_release_doc,
    "release($self, /, ok=True)\n--\n\n"
    "Give the connection back: pooled when ok and clean, else closed.\n"
    "The caller must have cleared server-side state (UNWATCH) first.");

static PyObject *
Pinned_release(PinnedObject *pin, PyObject *args, PyObject *kwds)
{
    static const char *const kwlist[] = {"ok", NULL};
    int ok = 1;

    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|p", (char **)kwlist, &ok)) {
        return NULL;
    }
    pinned_release(pin, ok);
    Py_RETURN_NONE;
}

static PyObject *
Pinned_get_active(PinnedObject *pin, void *closure)
{
    (void)closure;
    return PyBool_FromLong(pin->conn != NULL);
}

static PyObject *
Pinned_get_usable(PinnedObject *pin, void *closure)
{
    (void)closure;
    return PyBool_FromLong(pin->conn == NULL || prc_conn_usable(pin->conn));
}

static int
Pinned_traverse(PinnedObject *pin, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(pin));
    Py_VISIT(pin->client);
    return 0;
}

static int
Pinned_clear(PinnedObject *pin)
{
    if (pin->client != NULL) {
        /* Never pool a connection whose WATCH state is unknown. */
        pinned_release(pin, 0);
    }
    Py_CLEAR(pin->client);
    return 0;
}

static void
Pinned_dealloc(PinnedObject *pin)
{
    PyTypeObject *tp = Py_TYPE(pin);

    PyObject_GC_UnTrack(pin);
    Pinned_clear(pin);
    PyObject_GC_Del(pin);
    Py_DECREF(tp);
}

static PyMethodDef Pinned_methods[] = {
    {"execute", (PyCFunction)Pinned_execute, METH_O,
     "execute($self, args, /)\n--\n\nClient.execute on the pinned "
     "connection."},
    {"execute_batch", (PyCFunction)Pinned_execute_batch, METH_O,
     "execute_batch($self, batch, /)\n--\n\n"
     "Client.execute_batch on the pinned connection."},
    {"start", (PyCFunction)Pinned_start, METH_O,
     "start($self, args, /)\n--\n\nClient.start on the pinned "
     "connection."},
    {"start_batch", (PyCFunction)Pinned_start_batch, METH_O,
     "start_batch($self, batch, /)\n--\n\n"
     "Client.start_batch on the pinned connection."},
    {"release", (PyCFunction)(void (*)(void))Pinned_release,
     METH_VARARGS | METH_KEYWORDS, Pinned_release_doc},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Pinned_getset[] = {
    {"active", (getter)Pinned_get_active, NULL,
     "True while a connection is pinned", NULL},
    {"usable", (getter)Pinned_get_usable, NULL,
     "False once the pinned connection broke", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot Pinned_slots[] = {
    {Py_tp_doc, (void *)"Calls that share one pinned connection."},
    {Py_tp_dealloc, Pinned_dealloc},
    {Py_tp_traverse, Pinned_traverse},
    {Py_tp_clear, Pinned_clear},
    {Py_tp_methods, Pinned_methods},
    {Py_tp_getset, Pinned_getset},
    {0, NULL},
};

PyType_Spec pyrc_pinned_spec = {
    .name = "pyredisclient._core.Pinned",
    .basicsize = sizeof(PinnedObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | PYRC_TPFLAGS_NO_NEW |
             PYRC_TPFLAGS_IMMUTABLE,
    .slots = Pinned_slots,
};
