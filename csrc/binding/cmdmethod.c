/* cmdmethod.c - the CommandMethod type: a command method whose Python
 * body only hands its parameters, in order, with constants, to its host's
 * _run hook (pyredisclient/commands/base.py: plain_command).  Called with
 * positional arguments it builds that tuple and calls _run in C, with no
 * Python frame; when _run is a Batch's queue it queues the arguments
 * without building the tuple.  Any other call (keywords, a wrong count)
 * runs the Python function itself, so its errors are the function's. */
#include "binding.h"
#include "structmember.h"

typedef struct {
    PyObject_HEAD PyObject *func; /* owned: the Python function */
    PyObject *consts;             /* owned tuple: the command's arguments,
                                     None where a parameter goes */
    Py_ssize_t *slot;             /* owned (PyMem): slot[i] is the parameter
                                     index of argument i, or -1 */
    Py_ssize_t nparams;           /* parameters after self */
    PyObject *dict;               /* owned or NULL: __dict__ (__name__,
                                     __doc__, __wrapped__: update_wrapper) */
    vectorcallfunc vectorcall;
} CommandMethodObject;

/* A command of more arguments than this takes the tuple path. */
#define PYRC_CM_STACK 16

static PyObject *CommandMethod_vectorcall(PyObject *callable,
                                          PyObject *const *args, size_t nargsf,
                                          PyObject *kwnames);

static PyObject *
CommandMethod_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static const char *const kwlist[] = {"func", "consts", "slots", "nparams",
                                         NULL};
    PyObject *func, *consts, *slots;
    Py_ssize_t nparams, n, i;
    CommandMethodObject *self;

    if (!PyArg_ParseTupleAndKeywords(
            args, kwds, "OO!O!n:CommandMethod", (char **)kwlist, &func,
            &PyTuple_Type, &consts, &PyTuple_Type, &slots, &nparams)) {
        return NULL;
    }
    n = PyTuple_GET_SIZE(consts);
    if (!PyCallable_Check(func) || n < 1 || PyTuple_GET_SIZE(slots) != n ||
        nparams < 0) {
        PyErr_SetString(PyExc_ValueError,
                        "CommandMethod(func, consts, slots, nparams): a "
                        "callable and two tuples of one length >= 1");
        return NULL;
    }
    self = (CommandMethodObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->slot = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)n);
    if (self->slot == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    for (i = 0; i < n; i++) {
        Py_ssize_t s = PyLong_AsSsize_t(PyTuple_GET_ITEM(slots, i));
        if (s == -1 && PyErr_Occurred()) {
            Py_DECREF(self);
            return NULL;
        }
        if (s < -1 || s >= nparams) {
            Py_DECREF(self);
            PyErr_Format(PyExc_ValueError,
                         "slot %zd names parameter %zd of %zd", i, s, nparams);
            return NULL;
        }
        self->slot[i] = s;
    }
    Py_INCREF(func);
    self->func = func;
    Py_INCREF(consts);
    self->consts = consts;
    self->nparams = nparams;
    self->vectorcall = CommandMethod_vectorcall;
    return (PyObject *)self;
}

/* Argument i of the command: its constant, or the parameter it takes
 * (args[0] is self).  Borrowed. */
static inline PyObject *
command_arg(const CommandMethodObject *self, PyObject *const *args,
            Py_ssize_t i)
{
    return self->slot[i] < 0 ? PyTuple_GET_ITEM(self->consts, i)
                             : args[1 + self->slot[i]];
}

/*
 * obj._run, as the method's body reads it, new reference: the instance's
 * own attribute, looked up in its __dict__, when it has one (every client
 * and pipeline sets _run there: a dict lookup, about a quarter of the
 * generic lookup's instructions, paid by every command); else the generic
 * lookup (a class's _run method).  No class of the package makes _run a
 * data descriptor, the one thing that would win over the instance's.
 */
static PyObject *
get_run(pyrc_state *st, PyObject *obj)
{
    if (Py_TYPE(obj)->tp_dictoffset != 0) {
        PyObject *dict = PyObject_GenericGetDict(obj, NULL);
        PyObject *run;

        if (dict == NULL) {
            return NULL;
        }
        run = PyDict_GetItemWithError(dict, st->str_run);
        Py_XINCREF(run);
        Py_DECREF(dict);
        if (run != NULL || PyErr_Occurred()) {
            return run;
        }
    }
    return PyObject_GetAttr(obj, st->str_run);
}

/* The call: the fast path for exactly self + nparams positional
 * arguments, the Python function for anything else. */
static PyObject *
CommandMethod_vectorcall(PyObject *callable, PyObject *const *args,
                         size_t nargsf, PyObject *kwnames)
{
    CommandMethodObject *self = (CommandMethodObject *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    Py_ssize_t n, i;
    pyrc_state *st;
    PyObject *run, *tuple, *res;

    if (self->func == NULL) {
        /* Cleared by the collector breaking a cycle through func. */
        PyErr_SetString(PyExc_RuntimeError, "command method was cleared");
        return NULL;
    }
    if ((kwnames != NULL && PyTuple_GET_SIZE(kwnames) > 0) ||
        nargs != self->nparams + 1) {
        return PyObject_Vectorcall(self->func, args, nargsf, kwnames);
    }
    n = PyTuple_GET_SIZE(self->consts);
    st = (pyrc_state *)PyType_GetModuleState(Py_TYPE(self));
    run = get_run(st, args[0]);
    if (run == NULL) {
        return NULL;
    }
    if (n <= PYRC_CM_STACK && PyCFunction_Check(run) &&
        PyCFunction_GET_FUNCTION(run) ==
            (PyCFunction)(void (*)(void))pyrc_batch_queue &&
        Py_TYPE(PyCFunction_GET_SELF(run)) == st->BatchType) {
        /* A pipeline's queue: the items, borrowed for the call (the batch
         * copies their bytes). */
        PyObject *items[PYRC_CM_STACK];
        for (i = 0; i < n; i++) {
            items[i] = command_arg(self, args, i);
        }
        res = pyrc_batch_queue_items((BatchObject *)PyCFunction_GET_SELF(run),
                                     items, n, NULL, Py_None);
        Py_DECREF(run);
        return res;
    }
    tuple = PyTuple_New(n);
    if (tuple == NULL) {
        Py_DECREF(run);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        PyObject *o = command_arg(self, args, i);
        Py_INCREF(o);
        PyTuple_SET_ITEM(tuple, i, o);
    }
    res = PyObject_CallOneArg(run, tuple);
    Py_DECREF(tuple);
    Py_DECREF(run);
    return res;
}

/* Bound to an instance as a method; from the class, itself. */
static PyObject *
CommandMethod_descr_get(PyObject *self, PyObject *obj, PyObject *type)
{
    (void)type;
    if (obj == NULL || obj == Py_None) {
        Py_INCREF(self);
        return self;
    }
    return PyMethod_New(self, obj);
}

static PyObject *
CommandMethod_repr(CommandMethodObject *self)
{
    return PyUnicode_FromFormat("<command method %R>", self->func);
}

static int
CommandMethod_traverse(CommandMethodObject *self, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(self));
    Py_VISIT(self->func);
    Py_VISIT(self->consts);
    Py_VISIT(self->dict);
    return 0;
}

static int
CommandMethod_clear(CommandMethodObject *self)
{
    Py_CLEAR(self->func);
    Py_CLEAR(self->consts);
    Py_CLEAR(self->dict);
    return 0;
}

static void
CommandMethod_dealloc(CommandMethodObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);

    PyObject_GC_UnTrack(self);
    CommandMethod_clear(self);
    PyMem_Free(self->slot);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyMemberDef CommandMethod_members[] = {
    {"__dictoffset__", T_PYSSIZET, offsetof(CommandMethodObject, dict),
     READONLY, NULL},
    {"__vectorcalloffset__", T_PYSSIZET,
     offsetof(CommandMethodObject, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef CommandMethod_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(
    CommandMethod_doc,
    "CommandMethod(func, consts, slots, nparams)\n--\n\n"
    "A command method run in C: called with nparams positional arguments\n"
    "after self, it calls self._run(args) with args[i] = consts[i], or the\n"
    "parameter slots[i] where slots[i] >= 0.  Any other call runs func.\n"
    "Made by pyredisclient.commands.base.plain_command.");

static PyType_Slot CommandMethod_slots[] = {
    {Py_tp_new, CommandMethod_new},
    {Py_tp_dealloc, CommandMethod_dealloc},
    {Py_tp_traverse, CommandMethod_traverse},
    {Py_tp_clear, CommandMethod_clear},
    {Py_tp_call, PyVectorcall_Call},
    {Py_tp_descr_get, CommandMethod_descr_get},
    {Py_tp_repr, CommandMethod_repr},
    {Py_tp_members, CommandMethod_members},
    {Py_tp_getset, CommandMethod_getset},
    {Py_tp_doc, (void *)CommandMethod_doc},
    {0, NULL},
};

PyType_Spec pyrc_cmdmethod_spec = {
    .name = "pyredisclient._core.CommandMethod",
    .basicsize = sizeof(CommandMethodObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_METHOD_DESCRIPTOR | Py_TPFLAGS_HAVE_VECTORCALL |
             PYRC_TPFLAGS_IMMUTABLE,
    .slots = CommandMethod_slots,
};
