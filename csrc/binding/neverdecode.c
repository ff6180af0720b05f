/* neverdecode.c - the NeverDecode type: a command's arguments (a tuple)
 * whose reply is never decoded, whatever decode_responses says. */
#include "binding.h"

/* A tuple subclass, so that the marker travels with the arguments through
 * every layer that passes them on (key prefixes, tracing, Sentinel, the
 * cluster router, pipelines, the asyncio drivers) down to the binding,
 * which tells it by its type alone (pyrc_never_decode): one pointer
 * comparison, no attribute lookup.  Instances hold a reference to their
 * heap type, which tuple's own dealloc and traverse do not know. */
static void
NeverDecode_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);

    PyTuple_Type.tp_dealloc(self);
    Py_DECREF(tp);
}

static int
NeverDecode_traverse(PyObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    return PyTuple_Type.tp_traverse(self, visit, arg);
}

PyDoc_STRVAR(
    NeverDecode_doc,
    "NeverDecode(iterable=(), /)\n--\n\n"
    "A command's arguments, as a tuple, whose reply is never decoded:\n"
    "its strings stay bytes on a client with decode_responses=True\n"
    "(redis-py's NEVER_DECODE, for DUMP, FUNCTION DUMP, SLOWLOG GET and\n"
    "INFO).  Accepted wherever a command's arguments are: execute(),\n"
    "run(), start(), Batch.queue() and append(), Mux.submit().");

static PyType_Slot NeverDecode_slots[] = {
    {Py_tp_doc, (void *)NeverDecode_doc},
    {Py_tp_dealloc, NeverDecode_dealloc},
    {Py_tp_traverse, NeverDecode_traverse},
    {0, NULL},
};

/* basicsize and itemsize 0: tuple's, inherited. */
PyType_Spec pyrc_neverdecode_spec = {
    .name = "pyredisclient._core.NeverDecode",
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | PYRC_TPFLAGS_IMMUTABLE,
    .slots = NeverDecode_slots,
};
