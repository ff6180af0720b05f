/* sub.c - a subscriber: one connection of its own (subconn.c), outside
 * any pool; requests from any thread, one reader at a time waiting in
 * poll(2), close, fork, and its state. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sub_int.h"

/* PINGs asked for while no connection is up, sent once one is. */
#define SUB_LATER_MAX (64 * 1024)

/* ---- creating and freeing ----------------------------------------------- */

static int64_t
seconds_ns(double s)
{
    return (int64_t)(s * 1e9);
}

prc_sub_t *
prc_sub_new(const prc_opts_t *o, int *err, char *errbuf, size_t errlen)
{
    const char *bad = prc__opts_bad(o);
    prc_sub_t *s;

    *err = 0;
    if (bad != NULL) {
        *err = PRC_EINVAL;
        snprintf(errbuf, errlen, "invalid option %s", bad);
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        *err = PRC_ENOMEM;
        snprintf(errbuf, errlen, "out of memory creating a subscriber");
        return NULL;
    }
    *err = prc__conn_cfg_init(&s->cfg, o, errbuf, errlen);
    if (*err == 0 &&
        prc__conn_cfg_round_trip(&s->cfg, PRC__RT_UNSUBSCRIBE) != 0) {
        /* A round trip before the first SUBSCRIBE: see prc_int.h. */
        prc__conn_cfg_free(&s->cfg);
        snprintf(errbuf, errlen, "out of memory creating a subscriber");
        *err = PRC_ENOMEM;
    }
    if (*err != 0) {
        free(s);
        return NULL;
    }
    s->cfg.fd_mu = NULL;
    s->connect_ns =
        o->connect_timeout < 0 ? -1 : seconds_ns(o->connect_timeout);
    s->health_ns = o->health_check_interval > 0
                       ? seconds_ns(o->health_check_interval)
                       : 0;
    s->reply_ns =
        o->socket_timeout >= 0 ? seconds_ns(o->socket_timeout) : s->health_ns;
    if (o->socket_timeout >= 0 && s->reply_ns < 1000000) {
        s->reply_ns = 1000000; /* at least 1 ms: 0 would lose every reply */
    }
    s->retry_base = o->retry_base;
    s->retry_cap = o->retry_cap;
    s->wake[0] = s->wake[1] = -1;
    prc_wbuf_init(&s->out, NULL, 0);
    prc_wbuf_init(&s->later, NULL, 0);
    s->state = SUB_IDLE;
    pthread_mutex_init(&s->mu, NULL);
    prc__fork_init();
    s->fork_gen = prc_fork_generation();
    return s;
}

/* Called in a child of fork: the parent's subscriber.  Close our copies
 * of its descriptors without sending anything, and never lock the mutex
 * (a thread that no longer exists may hold it).  The connection's memory
 * is left alone: a vanished thread may have been changing it.  1 in a
 * child (every call then fails), 0 in the process it belongs to. */
static int
in_child(prc_sub_t *s)
{
    int expected = 0;

    if (s->fork_gen == prc_fork_generation()) {
        return 0;
    }
    if (atomic_compare_exchange_strong(&s->forked, &expected, 1)) {
        if (s->conn != NULL && s->conn->fd >= 0) {
            close(s->conn->fd);
            s->conn->fd = -1;
        }
        s->conn = NULL;
        if (s->wake[0] >= 0) {
            close(s->wake[0]);
            close(s->wake[1]);
            s->wake[0] = s->wake[1] = -1;
        }
        s->closed = 1;
        s->state = SUB_CLOSED;
    }
    return 1;
}

static int
child_error(prc_sub_io_t *io)
{
    snprintf(io->errstr, sizeof(io->errstr),
             "this subscription belongs to the parent process: it does not "
             "survive fork(); subscribe again in the child");
    return PRC_ECLOSED;
}

/* Close the connection (orderly: a TLS close_notify) and the wake pipe:
 * the end, by the reader's turn or when nobody holds it. */
static void
teardown_locked(prc_sub_t *s)
{
    prc__conn_free(s->conn, 1);
    s->conn = NULL;
    if (s->wake[0] >= 0) {
        close(s->wake[0]);
        close(s->wake[1]);
        s->wake[0] = s->wake[1] = -1;
    }
    s->state = SUB_CLOSED;
}

void
prc_sub_free(prc_sub_t *s)
{
    int i;

    if (s == NULL) {
        return;
    }
    if (!in_child(s)) {
        teardown_locked(s); /* the caller's: nobody else uses it now */
        pthread_mutex_destroy(&s->mu);
    }
    for (i = 0; i < 3; i++) {
        prc__nameset_free(&s->sets[i]);
    }
    prc_wbuf_free(&s->out);
    prc_wbuf_free(&s->later);
    free(s->resub);
    free(s->move_host);
    prc__conn_cfg_free(&s->cfg);
    free(s);
}

/* Wake a reader blocked in poll (mu held). */
static void
wake_locked(prc_sub_t *s)
{
    if (s->waiting && s->wake[1] >= 0) {
        ssize_t n = write(s->wake[1], "x", 1);
        (void)n; /* a full pipe wakes it just as well */
    }
}

void
prc_sub_close(prc_sub_t *s)
{
    if (in_child(s)) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->closed = 1;
    if (s->reader) {
        wake_locked(s); /* it tears down when it gives its turn back */
    } else {
        teardown_locked(s);
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- waiting ------------------------------------------------------------ */

static int
make_wake(prc_sub_t *s)
{
    int fds[2], i;

    if (pipe(fds) != 0) {
        return -1;
    }
    for (i = 0; i < 2; i++) {
        int fl = fcntl(fds[i], F_GETFL);
        if (fl < 0 || fcntl(fds[i], F_SETFL, fl | O_NONBLOCK) < 0 ||
            fcntl(fds[i], F_SETFD, FD_CLOEXEC) < 0) {
            close(fds[0]);
            close(fds[1]);
            return -1;
        }
    }
    s->wake[0] = fds[0];
    s->wake[1] = fds[1];
    return 0;
}

/* Block in poll (mu released) until the wait a step asked for ends, the
 * deadline passes or a request or close wakes us.  0, or PRC_EINTR. */
static int
wait_locked(prc_sub_t *s, int want, const prc_sub_io_t *io, int64_t deadline)
{
    struct pollfd pfd[2];
    int64_t until = io->deadline < deadline ? io->deadline : deadline, left;
    int nfds = 0, ms, rc, saved;
    char drain[64];

    if (s->wake[0] < 0) {
        (void)make_wake(s); /* without one, wait in slices below */
    }
    if (io->fd >= 0) {
        pfd[nfds].fd = io->fd;
        pfd[nfds].events = want == PRC_WANT_WRITE ? POLLOUT : POLLIN;
        pfd[nfds].revents = 0;
        nfds++;
    }
    if (s->wake[0] >= 0) {
        pfd[nfds].fd = s->wake[0];
        pfd[nfds].events = POLLIN;
        pfd[nfds].revents = 0;
        nfds++;
    }
    left = until == PRC_NO_DEADLINE ? -1 : until - prc_now();
    if (until != PRC_NO_DEADLINE && left <= 0) {
        return 0;
    }
    /* Round up, so that we never wake before the deadline and spin. */
    ms = left < 0 ? -1
         : left > (int64_t)2000000000 * 1000000
             ? 2000000000
             : (int)((left + 999999) / 1000000);
    if (s->wake[0] < 0 && (ms < 0 || ms > 50)) {
        ms = 50;
    }
    s->waiting = 1;
    pthread_mutex_unlock(&s->mu);
    rc = poll(pfd, (nfds_t)nfds, ms);
    saved = errno;
    pthread_mutex_lock(&s->mu);
    s->waiting = 0;
    if (s->wake[0] >= 0) {
        while (read(s->wake[0], drain, sizeof(drain)) > 0) {
        }
    }
    return rc < 0 && saved == EINTR ? PRC_EINTR : 0;
}

/* Take the reader's turn (mu held): 0, PRC_SUB_BUSY or PRC_ECLOSED. */
static int
enter_locked(prc_sub_t *s, prc_sub_io_t *io)
{
    if (s->closed) {
        snprintf(io->errstr, sizeof(io->errstr),
                 "this subscription is closed");
        return PRC_ECLOSED;
    }
    if (s->reader) {
        return PRC_SUB_BUSY;
    }
    s->reader = 1;
    return 0;
}

/* Give the reader's turn back (mu held); a close meanwhile ends it all. */
static void
leave_locked(prc_sub_t *s)
{
    s->reader = 0;
    if (s->closed) {
        teardown_locked(s);
    }
}

static void
io_init(prc_sub_io_t *io)
{
    io->fd = -1;
    io->deadline = PRC_NO_DEADLINE;
    io->errstr[0] = '\0';
}

/* prc_sub_read and prc_sub_flush: one loop, reading or only sending. */
static int
drive(prc_sub_t *s, int mode, int64_t deadline, prc_sub_io_t *io,
      int flush_only)
{
    int flags = mode & PRC_SUB_SKIP_CONFIRMS, rc;

    mode &= PRC_SUB_MODE_MASK;
    io_init(io);
    if (in_child(s)) {
        return child_error(io);
    }
    pthread_mutex_lock(&s->mu);
    rc = enter_locked(s, io);
    if (rc != 0) {
        pthread_mutex_unlock(&s->mu);
        return rc;
    }
    for (;;) {
        rc =
            prc__sub_step_locked(s, mode == PRC_SUB_WAIT ? PRC_SUB_STEP : mode,
                                 flags, flush_only, io);
        if (rc == PRC_SUB_MESSAGE || rc == PRC_SUB_RECONNECTED) {
            pthread_mutex_unlock(&s->mu); /* the turn is kept */
            return rc;
        }
        if (rc == PRC_ENOMEM) {
            snprintf(io->errstr, sizeof(io->errstr),
                     "out of memory queueing a health check");
        }
        if (rc <= 0 || mode != PRC_SUB_WAIT) {
            break;
        }
        if (deadline != PRC_NO_DEADLINE && prc_now() >= deadline) {
            rc = PRC_SUB_NONE;
            break;
        }
        rc = wait_locked(s, rc, io, deadline);
        if (rc != 0) {
            break;
        }
        if (s->closed) {
            rc = PRC_SUB_NONE; /* closed while we waited */
            break;
        }
    }
    leave_locked(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int
prc_sub_read(prc_sub_t *s, int mode, int64_t deadline, prc_sub_io_t *io)
{
    return drive(s, mode, deadline, io, 0);
}

int
prc_sub_flush(prc_sub_t *s, int mode, int64_t deadline, prc_sub_io_t *io)
{
    return drive(s, mode, deadline, io, 1);
}

void
prc_sub_message(const prc_sub_t *s, prc_sub_msg_t *m)
{
    *m = s->msg;
}

void
prc_sub_event(const prc_sub_t *s, prc_sub_event_t *ev)
{
    *ev = s->event;
}

void
prc_sub_release(prc_sub_t *s)
{
    if (in_child(s)) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    leave_locked(s);
    pthread_mutex_unlock(&s->mu);
}

/* ---- requests ----------------------------------------------------------- */

static int
check_set(int set)
{
    return set >= PRC_SUB_CHANNELS && set <= PRC_SUB_SHARDS;
}

int
prc_sub_subscribe(prc_sub_t *s, int set, int n, const char *const *names,
                  const size_t *lens)
{
    int i, rc = 0;

    if (in_child(s)) {
        return PRC_ECLOSED;
    }
    if (!check_set(set) || n < 1) {
        return PRC_EINVAL;
    }
    pthread_mutex_lock(&s->mu);
    if (s->closed) {
        rc = PRC_ECLOSED;
    }
    for (i = 0; rc == 0 && i < n; i++) {
        rc = prc__nameset_add(&s->sets[set], names[i], lens[i]);
    }
    s->active |= rc == 0;
    if (rc == 0) {
        rc = prc__sub_request_locked(s, prc__sub_subscribe_cmd[set], n, names,
                                     lens);
    }
    wake_locked(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int
prc_sub_unsubscribe(prc_sub_t *s, int set, int n, const char *const *names,
                    const size_t *lens)
{
    int i, rc = 0;

    if (in_child(s)) {
        return PRC_ECLOSED;
    }
    if (!check_set(set) || n < 0) {
        return PRC_EINVAL;
    }
    pthread_mutex_lock(&s->mu);
    if (s->closed) {
        rc = PRC_ECLOSED;
    } else if (n == 0) {
        prc__nameset_clear(&s->sets[set]);
    }
    for (i = 0; rc == 0 && i < n; i++) {
        prc__nameset_remove(&s->sets[set], names[i], lens[i]);
    }
    if (rc == 0 && s->state == SUB_READY) {
        rc = prc__sub_request_locked(s, prc__sub_unsubscribe_cmd[set], n,
                                     names, lens);
    } else if (!prc__sub_has_names(s)) {
        s->active = 0; /* not connected: no confirmation will come */
    }
    wake_locked(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int
prc_sub_ping(prc_sub_t *s, const char *msg, size_t len)
{
    int rc = 0;

    if (in_child(s)) {
        return PRC_ECLOSED;
    }
    pthread_mutex_lock(&s->mu);
    if (s->closed) {
        rc = PRC_ECLOSED;
    } else if (s->state == SUB_READY) {
        rc = prc__sub_request_locked(s, "PING", msg != NULL, &msg, &len);
    } else if (s->later.len < SUB_LATER_MAX) {
        /* Sent once connected (a ping that cannot go yet is dropped
         * when the connection is lost with nothing subscribed). */
        rc = prc__sub_put_command(&s->later, "PING", msg != NULL, &msg, &len);
        prc__sub_want_connection_locked(s);
    }
    wake_locked(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int
prc_sub_monitor(prc_sub_t *s)
{
    int rc = 0;

    if (in_child(s)) {
        return PRC_ECLOSED;
    }
    pthread_mutex_lock(&s->mu);
    if (s->closed) {
        rc = PRC_ECLOSED;
    } else if (!s->monitor) {
        s->monitor = 1;
        s->active = 1;
        prc__sub_monitor_lines(s);
        rc = prc__sub_request_locked(s, "MONITOR", 0, NULL, NULL);
    }
    wake_locked(s);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

int
prc_sub_move(prc_sub_t *s, const char *host, int port)
{
    char *copy;
    int rc = 0;

    if (in_child(s)) {
        return PRC_ECLOSED;
    }
    if (host == NULL || host[0] == '\0' || port < 1 || port > 65535) {
        return PRC_EINVAL;
    }
    copy = strdup(host);
    if (copy == NULL) {
        return PRC_ENOMEM;
    }
    pthread_mutex_lock(&s->mu);
    if (s->closed) {
        rc = PRC_ECLOSED;
    } else if (s->cfg.unix_path != NULL) {
        rc = PRC_EINVAL;
    } else {
        free(s->move_host); /* a later move wins */
        s->move_host = copy;
        s->move_port = port;
        copy = NULL;
        wake_locked(s);
    }
    pthread_mutex_unlock(&s->mu);
    free(copy);
    return rc;
}

/* ---- state -------------------------------------------------------------- */

int
prc_sub_subscribed(prc_sub_t *s)
{
    int r;

    if (in_child(s)) {
        return 0;
    }
    pthread_mutex_lock(&s->mu);
    r = !s->closed && (prc__sub_has_names(s) || s->active);
    pthread_mutex_unlock(&s->mu);
    return r;
}

int
prc_sub_connected(prc_sub_t *s)
{
    int r;

    if (in_child(s)) {
        return 0;
    }
    pthread_mutex_lock(&s->mu);
    r = !s->closed && s->state == SUB_READY;
    pthread_mutex_unlock(&s->mu);
    return r;
}

int
prc_sub_count(prc_sub_t *s, int set)
{
    int n;

    if (!check_set(set) || in_child(s)) {
        return 0;
    }
    pthread_mutex_lock(&s->mu);
    n = (int)s->sets[set].n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int
prc_sub_take_notice(prc_sub_t *s, char *buf, size_t len)
{
    if (!atomic_load_explicit(&s->notice, memory_order_relaxed) ||
        in_child(s)) {
        return 0;
    }
    pthread_mutex_lock(&s->mu);
    snprintf(buf, len, "%s", s->reason);
    atomic_store(&s->notice, 0);
    pthread_mutex_unlock(&s->mu);
    return 1;
}

void
prc_sub_stats(prc_sub_t *s, prc_sub_stats_t *out)
{
    out->messages = atomic_load(&s->st_messages);
    out->connects = atomic_load(&s->st_connects);
    out->disconnects = atomic_load(&s->st_disconnects);
    out->reconnects = atomic_load(&s->st_reconnects);
    out->health_checks = atomic_load(&s->st_health);
}
