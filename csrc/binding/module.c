/* module.c - pyredisclient._core: multi-phase init, module state, logging. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "binding.h"

static PyModuleDef core_module;

pyrc_state *
pyrc_get_state_by_type(PyTypeObject *tp)
{
    PyObject *mod = PyType_GetModuleByDef(tp, &core_module);

    return mod ? (pyrc_state *)PyModule_GetState(mod) : NULL;
}

/* Log msg at level, with extra (a dict, or NULL) as logging's extra. */
static int
log_msg(pyrc_state *st, int level, PyObject *extra, const char *msg)
{
    PyObject *res, *exc_type, *exc_value, *exc_tb;

    /* Logging must never replace an exception being raised, and an
     * exception raised while logging (a KeyboardInterrupt from a signal
     * handler run by the interpreter inside the call) must not be lost. */
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    if (extra == NULL) {
        res = PyObject_CallMethod(st->logger, "log", "is", level, msg);
    } else {
        PyObject *meth = PyObject_GetAttrString(st->logger, "log");
        PyObject *args = Py_BuildValue("(is)", level, msg);
        PyObject *kw = Py_BuildValue("{s:O}", "extra", extra);

        res = meth && args && kw ? PyObject_Call(meth, args, kw) : NULL;
        Py_XDECREF(meth);
        Py_XDECREF(args);
        Py_XDECREF(kw);
    }
    if (res == NULL) {
        if (exc_type == NULL) {
            return -1;
        }
        PyErr_WriteUnraisable(st->logger);
    }
    Py_XDECREF(res);
    if (exc_type != NULL) {
        PyErr_Restore(exc_type, exc_value, exc_tb);
    }
    return 0;
}

/* Format and log, with extra (or NULL). */
static int
log_v(pyrc_state *st, int level, PyObject *extra, const char *fmt, va_list ap)
{
    char msg[384];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    return log_msg(st, level, extra, msg);
}

int
pyrc_log(pyrc_state *st, int level, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = log_v(st, level, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int
pyrc_log_extra(pyrc_state *st, int level, PyObject *extra, const char *fmt,
               ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = log_v(st, level, extra, fmt, ap);
    va_end(ap);
    return rc;
}

/* Create the exception classes of the error table (PRC_EXC_MAP), parents
 * first, each deriving from its parent and its builtin, and add them and
 * their aliases to the module.  The root derives from its builtin through
 * a private class with the layout of a class statement's (a __weakref__
 * slot): a class may take a new base only of its own base's layout, and
 * that is what lets integrations/redis_py.py put redis-py's RedisError
 * under ours. */
static int
add_exceptions(PyObject *mod, pyrc_state *st)
{
    PyObject *builtins = PyEval_GetBuiltins(); /* borrowed */
    char qualname[96];
    int id;

    for (id = 0; id < PRC_EXC_COUNT; id++) {
        const prc_exc_t *c = prc_exc_class(id);
        PyObject *bases[2] = {NULL, NULL}, *tuple, *cls, *root;
        int n = 0;

        if (c->parent != PRC_EXC_NONE) {
            bases[n++] = st->exc[c->parent];
        }
        if (c->builtin != NULL) {
            bases[n] =
                builtins ? PyDict_GetItemString(builtins, c->builtin) : NULL;
            if (bases[n] == NULL || !PyExceptionClass_Check(bases[n])) {
                PyErr_Format(PyExc_SystemError, "no builtin exception %s",
                             c->builtin);
                return -1;
            }
            n++;
        }
        if (n == 1 && c->parent == PRC_EXC_NONE) {
            /* the root's base, owned by the root (its only reference) */
            snprintf(qualname, sizeof(qualname), "pyredisclient._%sBase",
                     c->name);
            root = PyErr_NewExceptionWithDoc(
                qualname, "Internal: the layout under RedisError.", bases[0],
                NULL);
            if (root == NULL) {
                return -1;
            }
            tuple = PyTuple_Pack(1, root);
            Py_DECREF(root);
        } else {
            tuple = n == 2 ? PyTuple_Pack(2, bases[0], bases[1])
                           : PyTuple_Pack(1, bases[0]);
        }
        if (tuple == NULL) {
            return -1;
        }
        snprintf(qualname, sizeof(qualname), "pyredisclient.%s", c->name);
        cls = PyErr_NewExceptionWithDoc(qualname, c->doc, tuple, NULL);
        Py_DECREF(tuple);
        if (cls == NULL) {
            return -1;
        }
        st->exc[id] = cls; /* owned by the state */
        if (PyModule_AddObjectRef(mod, c->name, cls) < 0) {
            return -1;
        }
    }
#define ADD_ALIAS(name, id)                                                   \
    if (PyModule_AddObjectRef(mod, name, st->exc[PRC_EXC_##id]) < 0) {        \
        return -1;                                                            \
    }
    PRC_EXC_ALIAS_MAP(ADD_ALIAS)
#undef ADD_ALIAS
    return 0;
}

/* The Subscriber type and the interned strings of its messages. */
static int
add_subscriber(PyObject *mod, pyrc_state *st)
{
    static const char *const keys[4] = {"type", "pattern", "channel", "data"};
    int i;

    st->SubscriberType = (PyTypeObject *)PyType_FromModuleAndSpec(
        mod, &pyrc_subscriber_spec, NULL);
    if (st->SubscriberType == NULL ||
        PyModule_AddType(mod, st->SubscriberType) < 0) {
        return -1;
    }
    for (i = 0; i < 4; i++) {
        st->sub_keys[i] = PyUnicode_InternFromString(keys[i]);
        if (st->sub_keys[i] == NULL) {
            return -1;
        }
    }
    for (i = 0; i < PRC_SUB_KIND_COUNT; i++) {
        st->sub_kinds[i] = PyUnicode_InternFromString(prc_sub_kind_name(i));
        if (st->sub_kinds[i] == NULL) {
            return -1;
        }
    }
    st->sub_reconnect = PyUnicode_InternFromString("reconnect");
    return st->sub_reconnect == NULL ? -1 : 0;
}

static int
core_exec(PyObject *mod)
{
    pyrc_state *st = PyModule_GetState(mod);
    PyObject *logging, *bases;

    if (add_exceptions(mod, st) < 0 ||
        PyModule_AddFunctions(mod, pyrc_error_methods) < 0) {
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
    if (add_subscriber(mod, st) < 0) {
        return -1;
    }
    st->MuxType =
        (PyTypeObject *)PyType_FromModuleAndSpec(mod, &pyrc_mux_spec, NULL);
    if (st->MuxType == NULL || PyModule_AddType(mod, st->MuxType) < 0) {
        return -1;
    }
    /* Python 3.9 takes only a tuple of bases (3.10+ also a single type). */
    bases = PyTuple_Pack(1, (PyObject *)&PyTuple_Type);
    if (bases == NULL) {
        return -1;
    }
    st->NeverDecodeType = (PyTypeObject *)PyType_FromModuleAndSpec(
        mod, &pyrc_neverdecode_spec, bases);
    Py_DECREF(bases);
    if (st->NeverDecodeType == NULL ||
        PyModule_AddType(mod, st->NeverDecodeType) < 0) {
        return -1;
    }
    st->CommandMethodType = (PyTypeObject *)PyType_FromModuleAndSpec(
        mod, &pyrc_cmdmethod_spec, NULL);
    if (st->CommandMethodType == NULL ||
        PyModule_AddType(mod, st->CommandMethodType) < 0) {
        return -1;
    }
    st->str_run = PyUnicode_InternFromString("_run");
    if (st->str_run == NULL) {
        return -1;
    }
    /* A shared connection's answer to a caller whose command may be sent
     * again (it never reached the server, or it is safe to replay). */
    st->retry = PyObject_CallNoArgs((PyObject *)&PyBaseObject_Type);
    st->str_done = PyUnicode_InternFromString("done");
    st->str_set_result = PyUnicode_InternFromString("set_result");
    st->str_set_exception = PyUnicode_InternFromString("set_exception");
    if (st->retry == NULL || st->str_done == NULL ||
        st->str_set_result == NULL || st->str_set_exception == NULL ||
        PyModule_AddObjectRef(mod, "RETRY", st->retry) < 0) {
        return -1;
    }
    if (PyModule_AddIntConstant(mod, "WANT_READ", PRC_WANT_READ) < 0 ||
        PyModule_AddIntConstant(mod, "WANT_WRITE", PRC_WANT_WRITE) < 0 ||
        PyModule_AddIntConstant(mod, "WANT_POOL", PRC_WANT_POOL) < 0 ||
        PyModule_AddIntConstant(mod, "WANT_SLEEP", PRC_WANT_SLEEP) < 0 ||
        PyModule_AddIntConstant(mod, "WANT_CREDS", PRC_WANT_CREDS) < 0) {
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
    int i;

    Py_VISIT(st->ClientType);
    Py_VISIT(st->BatchType);
    Py_VISIT(st->AsyncCallType);
    Py_VISIT(st->PinnedType);
    Py_VISIT(st->MuxType);
    Py_VISIT(st->NeverDecodeType);
    Py_VISIT(st->CommandMethodType);
    Py_VISIT(st->retry);
    Py_VISIT(st->logger);
    Py_VISIT(st->step_ready);
    Py_VISIT(st->SubscriberType);
    for (i = 0; i < PRC_EXC_COUNT; i++) {
        Py_VISIT(st->exc[i]);
    }
    return 0;
}

static int
core_clear(PyObject *mod)
{
    pyrc_state *st = PyModule_GetState(mod);
    int i;

    Py_CLEAR(st->ClientType);
    Py_CLEAR(st->BatchType);
    Py_CLEAR(st->AsyncCallType);
    Py_CLEAR(st->PinnedType);
    Py_CLEAR(st->MuxType);
    Py_CLEAR(st->NeverDecodeType);
    Py_CLEAR(st->CommandMethodType);
    Py_CLEAR(st->str_run);
    Py_CLEAR(st->retry);
    Py_CLEAR(st->str_done);
    Py_CLEAR(st->str_set_result);
    Py_CLEAR(st->str_set_exception);
    Py_CLEAR(st->logger);
    Py_CLEAR(st->step_ready);
    Py_CLEAR(st->SubscriberType);
    for (i = 0; i < 4; i++) {
        Py_CLEAR(st->sub_keys[i]);
    }
    for (i = 0; i < PRC_SUB_KIND_COUNT; i++) {
        Py_CLEAR(st->sub_kinds[i]);
    }
    Py_CLEAR(st->sub_reconnect);
    for (i = 0; i < PRC_EXC_COUNT; i++) {
        Py_CLEAR(st->exc[i]);
    }
    return 0;
}

static void
core_free(void *mod)
{
    pyrc_state *st = PyModule_GetState((PyObject *)mod);

    core_clear((PyObject *)mod);
    /* Here, not in core_clear: a Batch that dies after a clear still
     * gives its buffer back; no Batch outlives the module. */
    if (st != NULL) {
        prc_wbuf_free(&st->batch_spare);
    }
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
