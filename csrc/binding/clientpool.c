/* clientpool.c - a Client's pool seen and managed from Python: its counters
 * (pool_stats), circuit breaker (breaker_state), call metrics (metrics),
 * disconnect(), and its retry policy (get_retry, set_retry).  The methods sit
 * in client.c's table (binding.h). */
#include "binding.h"

const char pyrc_client_pool_stats_doc[] =
    "pool_stats($self, /)\n--\n\nPool counters as a dict.";

PyObject *
pyrc_client_pool_stats(RedisClientObject *self, PyObject *unused)
{
    prc_pool_stats_t s;

    (void)unused;
    if (pyrc_check_open(self) < 0) {
        return NULL;
    }
    prc_pool_stats(self->pool, &s);
    return Py_BuildValue(
        "{sLsLsLsLsLsLsLsLsLsLsL}", "created", (long long)s.created, "closed",
        (long long)s.closed, "in_use", (long long)s.in_use, "idle",
        (long long)s.idle, "waits", (long long)s.waits, "timeouts",
        (long long)s.timeouts, "errors", (long long)s.errors, "retries",
        (long long)s.retries, "max_connections", (long long)s.max_connections,
        "health_checks", (long long)s.health_checks, "stale",
        (long long)s.stale);
}

const char pyrc_client_breaker_doc[] =
    "breaker_state($self, /)\n--\n\n"
    "Circuit breaker state, settings and counters as a dict, with\n"
    "why it is open (reason) and for how long (open_seconds,\n"
    "open_remaining).";

PyObject *
pyrc_client_breaker_state(RedisClientObject *self, PyObject *unused)
{
    prc_breaker_t *b;
    prc_breaker_info_t info;
    PyObject *reason, *last_error, *res;

    (void)unused;
    if (pyrc_check_open(self) < 0) {
        return NULL;
    }
    b = prc_pool_breaker(self->pool);
    prc_breaker_info(b, &info);
    if (info.reason[0]) {
        reason = PyUnicode_FromString(info.reason);
    } else {
        Py_INCREF(Py_None);
        reason = Py_None;
    }
    if (info.last_error != 0) {
        last_error = PyObject_GetAttrString(
            pyrc_error_class(self->state, info.last_error), "__name__");
    } else {
        Py_INCREF(Py_None);
        last_error = Py_None;
    }
    if (reason == NULL || last_error == NULL) {
        Py_XDECREF(reason);
        Py_XDECREF(last_error);
        return NULL;
    }
    res = Py_BuildValue(
        "{sssOsOsOszsisisisdsdsisLsLsdsdsdsdsLsLsL}", "state",
        pyrc_breaker_names[info.state], "enabled",
        b->enabled ? Py_True : Py_False, "reason", reason, "last_error",
        last_error, "last_error_code",
        info.last_error ? prc_err_name(info.last_error) : NULL, "failures",
        info.failures, "failure_threshold", b->failure_threshold,
        "success_threshold", b->success_threshold, "failure_rate_threshold",
        b->failure_rate, "failure_window", (double)b->window_ns / 1e9,
        "minimum_calls", b->minimum_calls, "window_calls",
        (long long)info.window_calls, "window_failures",
        (long long)info.window_failures, "open_seconds",
        (double)info.open_ns / 1e9, "open_remaining",
        (double)info.open_left_ns / 1e9, "min_recovery_timeout",
        (double)b->min_open_ns / 1e9, "recovery_timeout",
        (double)b->recovery_ns / 1e9, "opens",
        (long long)atomic_load(&b->opens), "refused",
        (long long)atomic_load(&b->refused), "transitions",
        (long long)atomic_load(&b->transitions));
    Py_DECREF(reason);
    Py_DECREF(last_error);
    return res;
}

const char pyrc_client_disconnect_doc[] =
    "disconnect($self, in_use, /)\n--\n\n"
    "Close the idle connections now and, if in_use is true, those in\n"
    "use when given back; the pool stays open (redis-py's\n"
    "pool.disconnect()).  Nothing to do on a closed client.";

PyObject *
pyrc_client_disconnect(RedisClientObject *self, PyObject *in_use)
{
    int flag = PyObject_IsTrue(in_use);

    if (flag < 0) {
        return NULL;
    }
    if (self->pool != NULL) { /* closed: nothing is left to close */
        prc_pool_disconnect(self->pool, flag);
    }
    Py_RETURN_NONE;
}

const char pyrc_client_set_retry_doc[] =
    "set_retry($self, attempts, base, cap, /)\n--\n\n"
    "Retry failed calls at most attempts times from now on, backing off\n"
    "from base doubling up to cap seconds (the options retry_attempts,\n"
    "retry_base, retry_cap).  ValueError unless attempts >= 0 and\n"
    "0 < base <= cap <= 1e9.";

PyObject *
pyrc_client_set_retry(RedisClientObject *self, PyObject *args)
{
    int attempts;
    double base, cap;

    if (!PyArg_ParseTuple(args, "idd:set_retry", &attempts, &base, &cap)) {
        return NULL;
    }
    if (pyrc_check_open(self) < 0) {
        return NULL;
    }
    if (prc_pool_set_retry(self->pool, attempts, base, cap) != 0) {
        PyErr_Format(PyExc_ValueError,
                     "set_retry needs attempts >= 0 and 0 < base <= cap <= "
                     "1e9 seconds, got %d, %R, %R",
                     attempts, PyTuple_GET_ITEM(args, 1),
                     PyTuple_GET_ITEM(args, 2));
        return NULL;
    }
    Py_RETURN_NONE;
}

const char pyrc_client_get_retry_doc[] =
    "get_retry($self, /)\n--\n\n"
    "The retry policy now: (attempts, base, cap), as set_retry takes it.";

PyObject *
pyrc_client_get_retry(RedisClientObject *self, PyObject *unused)
{
    int attempts;
    double base, cap;

    (void)unused;
    if (pyrc_check_open(self) < 0) {
        return NULL;
    }
    prc_pool_get_retry(self->pool, &attempts, &base, &cap);
    return Py_BuildValue("(idd)", attempts, base, cap);
}

const char pyrc_client_metrics_doc[] =
    "metrics($self, /)\n--\n\n"
    "Call counters, failures by core error name, and the latency\n"
    "histogram (cumulative buckets keyed by upper bound in seconds).";

PyObject *
pyrc_client_metrics(RedisClientObject *self, PyObject *unused)
{
    prc_metrics_t m;
    PyObject *errors = NULL, *hist = NULL, *res = NULL;
    int64_t cum = 0;
    int i;

    (void)unused;
    if (pyrc_check_open(self) < 0) {
        return NULL;
    }
    prc_pool_metrics(self->pool, &m);
    errors = PyDict_New();
    hist = PyList_New(0);
    if (errors == NULL || hist == NULL) {
        goto done;
    }
    for (i = 1; i < PRC_NCODES; i++) {
        PyObject *v;
        if (m.errors[i] == 0) {
            continue;
        }
        v = PyLong_FromLongLong(m.errors[i]);
        if (v == NULL || PyDict_SetItemString(errors, prc_err_name(-i), v)) {
            Py_XDECREF(v);
            goto done;
        }
        Py_DECREF(v);
    }
    for (i = 0; i < PRC_HIST_BUCKETS; i++) {
        PyObject *pair;
        cum += m.hist[i];
        if (i < PRC_HIST_BUCKETS - 1) {
            pair = Py_BuildValue("(dL)", prc_hist_bounds[i], (long long)cum);
        } else {
            pair = Py_BuildValue("(sL)", "+Inf", (long long)cum);
        }
        if (pair == NULL || PyList_Append(hist, pair) < 0) {
            Py_XDECREF(pair);
            goto done;
        }
        Py_DECREF(pair);
    }
    res = Py_BuildValue("{sLsLsLsOsOsdsL}", "calls", (long long)m.calls,
                        "commands", (long long)m.commands, "response_errors",
                        (long long)m.response_errors, "errors", errors,
                        "latency_histogram", hist, "latency_seconds_sum",
                        (double)m.latency_ns_sum / 1e9, "breaker_transitions",
                        (long long)m.breaker_transitions);
done:
    Py_XDECREF(errors);
    Py_XDECREF(hist);
    return res;
}
