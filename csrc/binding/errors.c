/* errors.c - core error codes and server error replies as exceptions, by
 * the core's error table (PRC_EXC_MAP, PRC_REPLY_ERROR_MAP in prc.h). */
#include <string.h>

#include "binding.h"

PyObject *
pyrc_error_class(pyrc_state *st, int code)
{
    int cls;

    if (code == PRC_ENOMEM) {
        return PyExc_MemoryError;
    }
    cls = prc_err_class(code);
    /* A code without a class (EINTR: never raised) is a ConnectionError,
     * as an unknown one would be. */
    return st->exc[cls == PRC_EXC_NONE ? PRC_EXC_CONNECTION : cls];
}

PyObject *
pyrc_raise(pyrc_state *st, int code, const char *errstr)
{
    PyObject *type, *value, *tb, *name;

    if (code == PRC_ENOMEM) {
        return PyErr_NoMemory();
    }
    PyErr_SetString(pyrc_error_class(st, code),
                    errstr && errstr[0] ? errstr : prc_strerror(code));
    /* exc.error_code names the core's code ("ECONNECT": the connect
     * failed, so nothing was sent): the cluster client decides from it
     * whether a write may be sent again elsewhere. */
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    name = PyUnicode_FromString(prc_err_name(code));
    if (name == NULL || value == NULL ||
        PyObject_SetAttrString(value, "error_code", name) < 0) {
        PyErr_Clear(); /* the exception itself still says what failed */
    }
    Py_XDECREF(name);
    PyErr_Restore(type, value, tb);
    return NULL;
}

int
pyrc_raise_setup(pyrc_state *st, int code, const char *errstr)
{
    /* The options were checked (and a TLS context built) before anything
     * connected: a bad option is the caller's ValueError, a TLS file that
     * does not load a ConnectionError, as a handshake failure would be. */
    if (code == PRC_ETLS) {
        PyErr_SetString(PYRC_EXC(st, CONNECTION), errstr);
    } else if (code == PRC_ENOMEM) {
        PyErr_NoMemory();
    } else {
        PyErr_SetString(PyExc_ValueError, errstr);
    }
    return -1;
}

PyObject *
pyrc_error_reply(pyrc_state *st, const char *s, size_t len)
{
    size_t skip;
    int cls = prc_error_reply_class(s, len, &skip);
    PyObject *msg, *exc;

    msg = PyUnicode_DecodeUTF8(s + skip, (Py_ssize_t)(len - skip), "replace");
    if (msg == NULL) {
        return NULL;
    }
    exc = PyObject_CallOneArg(st->exc[cls], msg);
    Py_DECREF(msg);
    return exc;
}

int
pyrc_error_reply_outcome(pyrc_state *st, PyObject *exc)
{
    PyObject *cls = (PyObject *)Py_TYPE(exc);
    int id;

    /* ResponseError and its subclasses are the common error replies: they
     * say nothing about the server's availability. */
    if (cls == st->exc[PRC_EXC_RESPONSE]) {
        return PRC_OK;
    }
    for (id = 0; id < PRC_EXC_COUNT; id++) {
        if (cls == st->exc[id]) {
            int code = prc_exc_class(id)->code;
            return prc_breaker_counts(code) ? code : PRC_OK;
        }
    }
    return PRC_OK;
}

PyDoc_STRVAR(error_classes_doc,
             "error_classes($module, /)\n--\n\n"
             "The exception class each core error code raises, by code name\n"
             "('ETIMEDOUT': 'TimeoutError'); None for ENOMEM (MemoryError)\n"
             "and EINTR (never raised).");

static PyObject *
error_classes(PyObject *mod, PyObject *unused)
{
    PyObject *d = PyDict_New();
    int code;

    (void)mod;
    (void)unused;
    /* Codes are dense from -1 (PRC_ERRNO_MAP). */
    for (code = -1; d != NULL && strcmp(prc_err_name(code), "EUNKNOWN") != 0;
         code--) {
        int cls = prc_err_class(code);
        PyObject *v = cls == PRC_EXC_NONE
                          ? (Py_INCREF(Py_None), Py_None)
                          : PyUnicode_FromString(prc_exc_class(cls)->name);
        if (v == NULL || PyDict_SetItemString(d, prc_err_name(code), v) < 0) {
            Py_XDECREF(v);
            Py_CLEAR(d);
            break;
        }
        Py_DECREF(v);
    }
    return d;
}

PyMethodDef pyrc_error_methods[] = {
    {"error_classes", (PyCFunction)error_classes, METH_NOARGS,
     error_classes_doc},
    {NULL, NULL, 0, NULL},
};
