/* module.c - pyredisclient._core: multi-phase init, module state, logging. */
#include <stdarg.h>
#include <stdio.h>

#include "binding.h"

static PyModuleDef core_module;

pyrc_state *
pyrc_get_state_by_type(PyTypeObject *tp)
{
    PyObject *mod = PyType_GetModuleByDef(tp, &core_module);

    return mod ? (pyrc_state *)PyModule_GetState(mod) : NULL;
}

int
pyrc_log(pyrc_state *st, int level, const char *fmt, ...)
{
    char msg[256];
    PyObject *res, *exc_type, *exc_value, *exc_tb;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* Logging must never replace an exception being raised, and an
     * exception raised while logging (a KeyboardInterrupt from a signal
     * handler run by the interpreter inside the call) must not be lost. */
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    res = PyObject_CallMethod(st->logger, "log", "is", level, msg);
    if (res == NULL) {
        if (exc_type == NULL) {
            return -1;
        }
        PyErr_WriteUnraisable(st->logger);
    }
    Py_XDECREF(res);
    PyErr_Restore(exc_type, exc_value, exc_tb);
    return 0;
}

/* Create one exception class with its bases and add it to the module. */
static PyObject *
new_exception(PyObject *mod, const char *name, PyObject *base1,
              PyObject *base2, const char *doc)
{
    char qualname[96];
    PyObject *bases, *cls;

    snprintf(qualname, sizeof(qualname), "pyredisclient.%s", name);
    bases = base2 ? PyTuple_Pack(2, base1, base2) : PyTuple_Pack(1, base1);
    if (bases == NULL) {
        return NULL;
    }
    cls = PyErr_NewExceptionWithDoc(qualname, doc, bases, NULL);
    Py_DECREF(bases);
    if (cls == NULL) {
        return NULL;
    }
    if (PyModule_AddObjectRef(mod, name, cls) < 0) {
        Py_DECREF(cls);
        return NULL;
    }
    return cls;
}

static int
core_exec(PyObject *mod)
{
    pyrc_state *st = PyModule_GetState(mod);
    PyObject *logging;

#define EXC(field, b1, b2, doc)                                               \
    st->field = new_exception(mod, #field, b1, b2, doc);                      \
    if (st->field == NULL) {                                                  \
        return -1;                                                            \
    }
    EXC(RedisError, PyExc_Exception, NULL, "Base class of every error.")
    EXC(ConnectionError, st->RedisError, PyExc_ConnectionError,
        "The server could not be reached or the connection broke.")
    EXC(TimeoutError, st->RedisError, PyExc_TimeoutError,
        "The call did not complete before its deadline.")
    EXC(AuthenticationError, st->ConnectionError, NULL,
        "The server refused the credentials.")
    EXC(CircuitOpenError, st->ConnectionError, NULL,
        "The circuit breaker is open: the call was refused at once.")
    EXC(PoolTimeoutError, st->ConnectionError, NULL,
        "No pooled connection became free before pool_timeout.")
    EXC(BusyLoadingError, st->ConnectionError, NULL,
        "The server is loading its dataset.")
    EXC(MaxClientsError, st->ConnectionError, NULL,
        "The server has reached maxclients.")
    EXC(ResponseError, st->RedisError, NULL,
        "The server answered with an error reply.")
    EXC(NoScriptError, st->ResponseError, NULL, "NOSCRIPT error reply.")
    EXC(ReadOnlyError, st->ResponseError, NULL, "READONLY error reply.")
    EXC(OutOfMemoryError, st->ResponseError, NULL, "OOM error reply.")
    EXC(ExecAbortError, st->ResponseError, NULL, "EXECABORT error reply.")
    EXC(NoPermissionError, st->ResponseError, NULL, "NOPERM error reply.")
    EXC(ProtocolError, st->RedisError, NULL,
        "The server sent bytes that are not valid RESP.")
    EXC(ReplyLimitError, st->ProtocolError, NULL,
        "A reply exceeded max_reply_bytes or the nesting limit.")
    EXC(DataError, st->RedisError, PyExc_TypeError,
        "An argument cannot be encoded as a command argument.")
    EXC(WatchError, st->RedisError, NULL,
        "A watched key changed: the transaction was not run.")
#undef EXC
    if (PyModule_AddObjectRef(mod, "InvalidResponse", st->ProtocolError) < 0) {
        return -1;
    }
    st->ClientType =
        (PyTypeObject *)PyType_FromModuleAndSpec(mod, &pyrc_client_spec, NULL);
    if (st->ClientType == NULL || PyModule_AddType(mod, st->ClientType) < 0) {
        return -1;
    }
    st->BatchType =
        (PyTypeObject *)PyType_FromModuleAndSpec(mod, &pyrc_batch_spec, NULL);
    if (st->BatchType == NULL || PyModule_AddType(mod, st->BatchType) < 0) {
        return -1;
    }
    st->AsyncCallType = (PyTypeObject *)PyType_FromModuleAndSpec(
        mod, &pyrc_asynccall_spec, NULL);
    if (st->AsyncCallType == NULL ||
        PyModule_AddType(mod, st->AsyncCallType) < 0) {
        return -1;
    }
    st->PinnedType =
        (PyTypeObject *)PyType_FromModuleAndSpec(mod, &pyrc_pinned_spec, NULL);
    if (st->PinnedType == NULL || PyModule_AddType(mod, st->PinnedType) < 0) {
        return -1;
    }
    if (PyModule_AddIntConstant(mod, "WANT_READ", PRC_WANT_READ) < 0 ||
        PyModule_AddIntConstant(mod, "WANT_WRITE", PRC_WANT_WRITE) < 0 ||
        PyModule_AddIntConstant(mod, "WANT_POOL", PRC_WANT_POOL) < 0 ||
        PyModule_AddIntConstant(mod, "WANT_SLEEP", PRC_WANT_SLEEP) < 0) {
        return -1;
    }
    st->step_ready = Py_BuildValue("(iiO)", 0, -1, Py_None);
    if (st->step_ready == NULL) {
        return -1;
    }
    logging = PyImport_ImportModule("logging");
    if (logging == NULL) {
        return -1;
    }
    st->logger =
        PyObject_CallMethod(logging, "getLogger", "s", "pyredisclient");
    Py_DECREF(logging);
    if (st->logger == NULL) {
        return -1;
    }
    if (PyModule_AddStringConstant(
            mod, "hiredis_version",
            Py_STRINGIFY(HIREDIS_MAJOR) "." Py_STRINGIFY(HIREDIS_MINOR)) < 0) {
        return -1;
    }
    return 0;
}

static int
core_traverse(PyObject *mod, visitproc visit, void *arg)
{
    pyrc_state *st = PyModule_GetState(mod);

    Py_VISIT(st->ClientType);
    Py_VISIT(st->BatchType);
    Py_VISIT(st->AsyncCallType);
    Py_VISIT(st->PinnedType);
    Py_VISIT(st->logger);
    Py_VISIT(st->step_ready);
#define PYRC_EXC_VISIT(name) Py_VISIT(st->name);
    PYRC_EXCEPTIONS(PYRC_EXC_VISIT)
#undef PYRC_EXC_VISIT
    return 0;
}

static int
core_clear(PyObject *mod)
{
    pyrc_state *st = PyModule_GetState(mod);

    Py_CLEAR(st->ClientType);
    Py_CLEAR(st->BatchType);
    Py_CLEAR(st->AsyncCallType);
    Py_CLEAR(st->PinnedType);
    Py_CLEAR(st->logger);
    Py_CLEAR(st->step_ready);
#define PYRC_EXC_CLEAR(name) Py_CLEAR(st->name);
    PYRC_EXCEPTIONS(PYRC_EXC_CLEAR)
#undef PYRC_EXC_CLEAR
    return 0;
}

static void
core_free(void *mod)
{
    core_clear((PyObject *)mod);
}

static PyModuleDef_Slot core_slots[] = {
    {Py_mod_exec, core_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#if PY_VERSION_HEX >= 0x030D0000
    {Py_mod_gil, Py_MOD_GIL_USED},
#endif
    {0, NULL},
};

PyDoc_STRVAR(core_doc, "The C core of pyredisclient: pool, calls, replies.");

static PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "pyredisclient._core",
    .m_doc = core_doc,
    .m_size = sizeof(pyrc_state),
    .m_methods = pyrc_command_methods,
    .m_slots = core_slots,
    .m_traverse = core_traverse,
    .m_clear = core_clear,
    .m_free = core_free,
};

PyMODINIT_FUNC
PyInit__core(void)
{
    return PyModuleDef_Init(&core_module);
}
