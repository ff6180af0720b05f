/* commands.c - the command table for Python: command_spec, command_keys,
 * command_names, key_slot, command_slot (module functions over cmdspec.c
 * and slot.c). */
#include "binding.h"

/* argv of a tuple or list of arguments (not a str or bytes, which would
 * split into characters).  Returns the PySequence_Fast object to release
 * after pyrc_args_free, or NULL with an exception set. */
static PyObject *
args_of(pyrc_state *st, PyObject *args, pyrc_args *a, const char *fn)
{
    PyObject *seq;

    if (PyUnicode_Check(args) || PyBytes_Check(args) ||
        PyByteArray_Check(args)) {
        PyErr_Format(PyExc_TypeError,
                     "%s() takes a sequence of arguments, not %.100s", fn,
                     Py_TYPE(args)->tp_name);
        return NULL;
    }
    seq = PySequence_Fast(args, "takes a sequence of arguments");
    if (seq == NULL) {
        return NULL;
    }
    if (pyrc_args_from_seq(st, seq, a, NULL, NULL) < 0) {
        Py_DECREF(seq);
        return NULL;
    }
    return seq;
}

/* dict[key] = value, stealing value (NULL: an error already set). */
static int
put(PyObject *dict, const char *key, PyObject *value)
{
    int rc;

    if (value == NULL) {
        return -1;
    }
    rc = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return rc;
}

/* The names of the bits set in mask, as a list of str. */
static PyObject *
names_of(int vocab, uint32_t mask)
{
    PyObject *list = PyList_New(0);
    const char *name;
    int bit;

    for (bit = 0; list != NULL && (name = prc_cmd_vocab_name(vocab, bit));
         bit++) {
        PyObject *s;

        if (!(mask & (1u << bit))) {
            continue;
        }
        s = PyUnicode_FromString(name);
        if (s == NULL || PyList_Append(list, s) < 0) {
            Py_XDECREF(s);
            Py_CLEAR(list);
            break;
        }
        Py_DECREF(s);
    }
    return list;
}

/* {"type": ..., "spec": {...}} of one half of a key spec, in the shape of
 * scripts/commands/snapshot.json. */
static PyObject *
search_of(const prc_keyspec_t *ks, int begin)
{
    PyObject *spec;

    if (begin && ks->begin == PRC_KS_BEGIN_INDEX) {
        spec = Py_BuildValue("{s:i}", "index", ks->index);
        return Py_BuildValue("{s:s,s:N}", "type", "index", "spec", spec);
    }
    if (begin && ks->begin == PRC_KS_BEGIN_KEYWORD) {
        spec = Py_BuildValue("{s:s,s:i}", "keyword", ks->keyword, "startfrom",
                             ks->startfrom);
        return Py_BuildValue("{s:s,s:N}", "type", "keyword", "spec", spec);
    }
    if (!begin && ks->find == PRC_KS_FIND_RANGE) {
        spec = Py_BuildValue("{s:i,s:i,s:i}", "lastkey", ks->lastkey,
                             "keystep", ks->keystep, "limit", ks->limit);
        return Py_BuildValue("{s:s,s:N}", "type", "range", "spec", spec);
    }
    if (!begin && ks->find == PRC_KS_FIND_KEYNUM) {
        spec = Py_BuildValue("{s:i,s:i,s:i}", "keynumidx", ks->keynumidx,
                             "firstkey", ks->firstkey, "keystep", ks->keystep);
        return Py_BuildValue("{s:s,s:N}", "type", "keynum", "spec", spec);
    }
    return Py_BuildValue("{s:s,s:{}}", "type", "unknown", "spec");
}

static PyObject *
keyspecs_of(const prc_cmd_t *c)
{
    PyObject *list = PyList_New(c->nkeyspecs);
    int i;

    for (i = 0; list != NULL && i < c->nkeyspecs; i++) {
        const prc_keyspec_t *ks = &c->keyspecs[i];
        PyObject *d = PyDict_New();

        if (d == NULL ||
            put(d, "flags", names_of(PRC_VOCAB_KEYSPEC, ks->flags)) < 0 ||
            put(d, "begin_search", search_of(ks, 1)) < 0 ||
            put(d, "find_keys", search_of(ks, 0)) < 0) {
            Py_XDECREF(d);
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, d);
    }
    return list;
}

static PyObject *
subcommands_of(const prc_cmd_t *c)
{
    PyObject *list = PyList_New(c->nsubs);
    int i;

    for (i = 0; list != NULL && i < c->nsubs; i++) {
        PyObject *s = PyUnicode_FromString(prc_cmd_at(c->first_sub + i)->name);

        if (s == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, s);
    }
    return list;
}

/* The whole entry as a dict (new reference). */
static PyObject *
spec_dict(const prc_cmd_t *c)
{
    PyObject *d = PyDict_New();
    const char *tmo = prc_cmd_tmo_name(c->block_tmo);
    const char *refusal = prc_cmd_refusal_name(c->refusal);

    if (d == NULL || put(d, "name", PyUnicode_FromString(c->name)) < 0 ||
        put(d, "arity", PyLong_FromLong(c->arity)) < 0 ||
        put(d, "flags", names_of(PRC_VOCAB_FLAG, c->flags)) < 0 ||
        put(d, "acl_categories", names_of(PRC_VOCAB_ACL, c->acl)) < 0 ||
        put(d, "tips", names_of(PRC_VOCAB_TIP, c->tips)) < 0 ||
        put(d, "key_specs", keyspecs_of(c)) < 0 ||
        put(d, "subcommands", subcommands_of(c)) < 0 ||
        put(d, "group", PyUnicode_FromString(c->group)) < 0 ||
        put(d, "since", PyUnicode_FromString(c->since)) < 0 ||
        put(d, "classes", names_of(PRC_VOCAB_CLASS, c->classes)) < 0 ||
        put(d, "block_timeout",
            tmo ? PyUnicode_FromString(tmo) : (Py_INCREF(Py_None), Py_None)) <
            0 ||
        put(d, "refusal",
            refusal ? PyUnicode_FromString(refusal)
                    : (Py_INCREF(Py_None), Py_None)) < 0) {
        Py_XDECREF(d);
        return NULL;
    }
    return d;
}

PyDoc_STRVAR(
    command_spec_doc,
    "command_spec($module, args, /)\n--\n\n"
    "The command table's entry for a command's arguments, as a dict, or None\n"
    "for an unknown command or subcommand.  The entry is a subcommand's when\n"
    "the command has subcommands: command_spec(('CLIENT', 'KILL')).");

static PyObject *
command_spec(PyObject *mod, PyObject *args)
{
    pyrc_state *st = PyModule_GetState(mod);
    const prc_cmd_t *c;
    PyObject *seq;
    pyrc_args a;

    seq = args_of(st, args, &a, "command_spec");
    if (seq == NULL) {
        return NULL;
    }
    c = prc_cmd_lookup(a.argc, a.argv, a.argvlen);
    pyrc_args_free(&a);
    Py_DECREF(seq);
    if (c == NULL) {
        Py_RETURN_NONE;
    }
    return spec_dict(c);
}

PyDoc_STRVAR(
    command_keys_doc,
    "command_keys($module, args, /, *, not_keys=False, partial=False)\n--\n\n"
    "The positions of the key arguments in args, from the command table's\n"
    "key specs (as COMMAND GETKEYS finds them), or None for an unknown\n"
    "command.  not_keys also reports positions the specs mark not_key (shard\n"
    "channels); partial skips specs that cannot be followed.  Raises\n"
    "DataError when args do not fit the command (argument count, numkeys).");

static PyObject *
command_keys(PyObject *mod, PyObject *const *args, Py_ssize_t nargs,
             PyObject *kwnames)
{
    static const char *const kwlist[] = {"not_keys", "partial"};
    pyrc_state *st = PyModule_GetState(mod);
    prc_cmd_key_t small[32], *keys = small;
    const char *why = NULL;
    const prc_cmd_t *c;
    PyObject *seq, *result = NULL;
    int options = 0, n, i, k;
    pyrc_args a;

    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError,
                     "command_keys() takes 1 positional argument (%zd given)",
                     nargs);
        return NULL;
    }
    for (k = 0; kwnames != NULL && k < PyTuple_GET_SIZE(kwnames); k++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, k);
        int truth, bit = -1;

        for (i = 0; i < 2; i++) {
            if (PyUnicode_CompareWithASCIIString(name, kwlist[i]) == 0) {
                bit = i == 0 ? PRC_KEYS_NOT_KEYS : PRC_KEYS_PARTIAL;
            }
        }
        if (bit < 0) {
            PyErr_Format(PyExc_TypeError,
                         "command_keys() got an unexpected keyword argument "
                         "'%U'",
                         name);
            return NULL;
        }
        truth = PyObject_IsTrue(args[nargs + k]);
        if (truth < 0) {
            return NULL;
        }
        options = truth ? (options | bit) : (options & ~bit);
    }
    seq = args_of(st, args[0], &a, "command_keys");
    if (seq == NULL) {
        return NULL;
    }
    c = prc_cmd_lookup(a.argc, a.argv, a.argvlen);
    if (c == NULL) {
        Py_INCREF(Py_None);
        result = Py_None;
        goto done;
    }
    n = prc_cmd_keys(c, a.argc, a.argv, a.argvlen, options, keys, 32, &why);
    if (n > 32) {
        /* More keys than the stack holds: room for them all, then again. */
        keys = PyMem_Malloc(sizeof(*keys) * (size_t)n);
        if (keys == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        n = prc_cmd_keys(c, a.argc, a.argv, a.argvlen, options, keys, n, NULL);
    }
    if (n < 0) {
        PyErr_Format(PYRC_EXC(st, DATA),
                     "%s: cannot find the key arguments: %s", c->name,
                     why ? why : "invalid arguments");
        goto done;
    }
    result = PyList_New(n);
    for (i = 0; result != NULL && i < n; i++) {
        PyObject *pos = PyLong_FromLong(keys[i].pos);

        if (pos == NULL) {
            Py_CLEAR(result);
            break;
        }
        PyList_SET_ITEM(result, i, pos);
    }
done:
    if (keys != small) {
        PyMem_Free(keys);
    }
    pyrc_args_free(&a);
    Py_DECREF(seq);
    return result;
}

PyDoc_STRVAR(command_names_doc,
             "command_names($module, /)\n--\n\n"
             "Every name in the command table, commands sorted, each followed "
             "by its\nsubcommands ('CLIENT KILL').");

static PyObject *
command_names(PyObject *mod, PyObject *unused)
{
    int i, n = prc_cmd_count();
    PyObject *list = PyList_New(n);

    (void)mod;
    (void)unused;
    for (i = 0; list != NULL && i < n; i++) {
        PyObject *s = PyUnicode_FromString(prc_cmd_at(i)->name);

        if (s == NULL) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, s);
    }
    return list;
}

PyDoc_STRVAR(
    key_slot_doc,
    "key_slot($module, key, /)\n--\n\n"
    "The Redis Cluster hash slot (0..16383) of a key (str, bytes or a\n"
    "number, encoded as commands encode it): CRC16 of its hash tag, the\n"
    "text between the first '{' and the next '}' when not empty, else\n"
    "of the whole key.");

static PyObject *
key_slot(PyObject *mod, PyObject *key)
{
    pyrc_state *st = PyModule_GetState(mod);
    PyObject *one = PyTuple_Pack(1, key);
    pyrc_args a;
    int slot;

    if (one == NULL) {
        return NULL;
    }
    if (pyrc_args_from_seq(st, one, &a, NULL, NULL) < 0) {
        Py_DECREF(one);
        return NULL;
    }
    slot = prc_key_slot(a.argv[0], a.argvlen[0]);
    pyrc_args_free(&a);
    Py_DECREF(one);
    return PyLong_FromLong(slot);
}

PyDoc_STRVAR(
    command_slot_doc,
    "command_slot($module, args, /)\n--\n\n"
    "The one hash slot all key arguments of a command (and its shard\n"
    "channels) hash to, from the command table's key specs: a slot, -1 for\n"
    "a command without keys or an unknown command, -2 when the keys hash\n"
    "to several slots.  Raises DataError when args do not fit the command.");

static PyObject *
command_slot(PyObject *mod, PyObject *args)
{
    pyrc_state *st = PyModule_GetState(mod);
    const char *why = NULL;
    const prc_cmd_t *c;
    PyObject *seq;
    pyrc_args a;
    int slot = PRC_SLOT_NONE;

    seq = args_of(st, args, &a, "command_slot");
    if (seq == NULL) {
        return NULL;
    }
    c = prc_cmd_lookup(a.argc, a.argv, a.argvlen);
    if (c != NULL) {
        slot = prc_cmd_slot(c, a.argc, a.argv, a.argvlen, &why);
    }
    pyrc_args_free(&a);
    Py_DECREF(seq);
    if (slot == PRC_ENOMEM) {
        return PyErr_NoMemory();
    }
    if (slot < 0 && slot != PRC_SLOT_NONE && slot != PRC_SLOT_CROSS) {
        PyErr_Format(PYRC_EXC(st, DATA),
                     "%s: cannot find the key arguments: %s", c->name,
                     why ? why : "invalid arguments");
        return NULL;
    }
    return PyLong_FromLong(slot == PRC_SLOT_NONE    ? -1
                           : slot == PRC_SLOT_CROSS ? -2
                                                    : slot);
}

PyMethodDef pyrc_command_methods[] = {
    {"key_slot", (PyCFunction)key_slot, METH_O, key_slot_doc},
    {"command_slot", (PyCFunction)command_slot, METH_O, command_slot_doc},
    {"command_spec", (PyCFunction)command_spec, METH_O, command_spec_doc},
    {"command_keys", (PyCFunction)(void (*)(void))command_keys,
     METH_FASTCALL | METH_KEYWORDS, command_keys_doc},
    {"command_names", (PyCFunction)command_names, METH_NOARGS,
     command_names_doc},
    {NULL, NULL, 0, NULL},
};

/* Raise DataError for a command with a PRC_CMD_* state class (prc.h) that
 * the caller refuses: it would change a connection that goes back to the
 * pool.  The message names the command and what to use instead.  Called
 * only when the classification (done for every command anyway) set such
 * a class, so the check costs one test on the hot path.  Returns -1. */
int
pyrc_refuse_state(pyrc_state *st, const pyrc_args *a)
{
    const char *name;
    const char *advice =
        prc_command_refusal(a->argc, a->argv, a->argvlen, &name);

    PyErr_Format(
        PYRC_EXC(st, DATA), "%s is not allowed on a pooled connection: %s",
        name != NULL ? name : "this command",
        advice != NULL ? advice : "it changes the connection's state");
    return -1;
}
