/* clientlog.c - a Client's logs: where it connects (the structured extra
 * of every line), connect and reconnect events, breaker transitions. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "binding.h"

const char *const pyrc_breaker_names[3] = {"closed", "open", "half_open"};

/* Log one event of this client at `level`: extra holds log_where,
 * "redis_event" and, for the breaker, "redis_breaker" (its new state).
 * Keeps an exception being raised; -1 when logging raised and none was
 * pending. */
static int
log_event(RedisClientObject *self, int level, const char *event,
          const char *breaker, const char *fmt, ...)
{
    pyrc_state *st = self->state;
    PyObject *exc_type, *exc_value, *exc_tb, *extra, *v;
    char msg[320];
    va_list ap;
    int rc = -1;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
    extra = self->log_where ? PyDict_Copy(self->log_where) : PyDict_New();
    if (extra != NULL) {
        v = Py_BuildValue("{s:s,s:z}", "redis_event", event, "redis_breaker",
                          breaker);
        if (v != NULL && PyDict_Update(extra, v) == 0) {
            rc = pyrc_log_extra(st, level, extra, "%s", msg);
        }
        Py_XDECREF(v);
        Py_DECREF(extra);
    }
    if (exc_type != NULL) {
        if (rc < 0) {
            PyErr_WriteUnraisable(st->logger);
            rc = 0;
        }
        PyErr_Restore(exc_type, exc_value, exc_tb);
    }
    return rc;
}

int
pyrc_log_transition(RedisClientObject *self, int t)
{
    if (t == PRC_BREAKER_OPEN) {
        prc_breaker_info_t info;
        prc_breaker_info(prc_pool_breaker(self->pool), &info);
        return log_event(self, 30, "breaker_open", pyrc_breaker_names[t],
                         "circuit breaker opened for %.3g s (%s; last error "
                         "%s): calls fail fast with CircuitOpenError until a "
                         "probe succeeds",
                         (double)info.open_ns / 1e9, info.reason,
                         prc_err_name(info.last_error));
    }
    if (t == PRC_BREAKER_HALF_OPEN) {
        return log_event(self, 30, "breaker_half_open", pyrc_breaker_names[t],
                         "circuit breaker half-open: probing the server");
    }
    if (t == PRC_BREAKER_CLOSED) {
        return log_event(self, 30, "breaker_closed", pyrc_breaker_names[t],
                         "circuit breaker closed: server reachable again");
    }
    return 0;
}

int
pyrc_log_call_events(RedisClientObject *self, prc_call_t *call)
{
    int t = call->transition, ev = call->conn_event, rc = 0;
    const char *where = self->where ? self->where : "?";

    call->transition = -1;
    call->conn_event = PRC_CONN_EVENT_NONE;
    if (ev == PRC_CONN_EVENT_CONNECT) {
        rc = log_event(self, 20, "connect", NULL, "Redis connected to %s",
                       where);
    } else if (ev == PRC_CONN_EVENT_RECONNECT) {
        rc = log_event(self, 30, "reconnect", NULL,
                       "Redis reconnected to %s after a connection failure",
                       where);
    }
    if (rc == 0 && t >= 0) {
        rc = pyrc_log_transition(self, t);
    }
    return rc;
}

/* Where the client connects, for its logs: log_where and where. */
int
pyrc_set_where(RedisClientObject *self, const prc_opts_t *o)
{
    char buf[400];
    const char *tls = o->tls ? "yes" : "no";

    if (o->unix_path != NULL) {
        snprintf(buf, sizeof(buf), "%.300s db %d, TLS %s", o->unix_path, o->db,
                 tls);
        self->log_where = Py_BuildValue(
            "{s:s,s:O,s:i,s:O}", "redis_host", o->unix_path, "redis_port",
            Py_None, "redis_db", o->db, "redis_tls", Py_False);
    } else {
        snprintf(buf, sizeof(buf), "%.300s:%d db %d, TLS %s",
                 o->host ? o->host : "", o->port, o->db, tls);
        self->log_where = Py_BuildValue(
            "{s:z,s:i,s:i,s:O}", "redis_host", o->host, "redis_port", o->port,
            "redis_db", o->db, "redis_tls", o->tls ? Py_True : Py_False);
    }
    if (self->log_where == NULL) {
        return -1;
    }
    self->where = PyMem_RawMalloc(strlen(buf) + 1);
    if (self->where == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(self->where, buf, strlen(buf) + 1);
    return 0;
}
