/* compat.h - the few C-API functions that Python 3.9 and 3.10 lack, for
 * the binding only: each is the documented newer function where the
 * interpreter has it, and a small equivalent built from 3.9's API where it
 * does not. Include after Python.h (binding.h does). */
#ifndef PYRC_COMPAT_H
#define PYRC_COMPAT_H

#include <Python.h>

#if PY_VERSION_HEX < 0x030B0000
/* PyType_GetModuleByDef (3.11): the module whose definition is def, found
 * on the first heap type of tp's MRO created by PyType_FromModuleAndSpec
 * with that module (3.9 records it in ht_module). Borrowed; NULL with
 * TypeError set when no type of the MRO belongs to such a module. */
static inline PyObject *
pyrc_compat_GetModuleByDef(PyTypeObject *tp, PyModuleDef *def)
{
    PyObject *mro = tp->tp_mro;
    Py_ssize_t i, n = mro ? PyTuple_GET_SIZE(mro) : 0;

    for (i = 0; i < n; i++) {
        PyTypeObject *t = (PyTypeObject *)PyTuple_GET_ITEM(mro, i);
        PyObject *mod;

        if (!(t->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
            continue;
        }
        mod = ((PyHeapTypeObject *)t)->ht_module;
        if (mod != NULL && PyModule_GetDef(mod) == def) {
            return mod;
        }
    }
    PyErr_Format(PyExc_TypeError,
                 "PyType_GetModuleByDef: No superclass of '%s' has "
                 "the given module",
                 tp->tp_name);
    return NULL;
}
#define PyType_GetModuleByDef pyrc_compat_GetModuleByDef
#endif

#if PY_VERSION_HEX < 0x030A0000
/* PyModule_AddObjectRef (3.10): add value to mod as name without stealing
 * the caller's reference; -1 with an exception set on error. */
static inline int
pyrc_compat_AddObjectRef(PyObject *mod, const char *name, PyObject *value)
{
    Py_XINCREF(value);
    if (PyModule_AddObject(mod, name, value) < 0) {
        Py_XDECREF(value);
        return -1;
    }
    return 0;
}
#define PyModule_AddObjectRef pyrc_compat_AddObjectRef
#endif

#endif /* PYRC_COMPAT_H */
