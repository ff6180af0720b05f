/* transport.c - sockets: non-blocking connect, plain I/O, poll waits. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "prc_int.h"

int
prc__conn_error(prc_conn_t *c, int code, int sys, const char *fmt, ...)
{
    va_list ap;
    size_t n;

    va_start(ap, fmt);
    vsnprintf(c->errstr, sizeof(c->errstr), fmt, ap);
    va_end(ap);
    if (sys != 0) {
        n = strlen(c->errstr);
        snprintf(c->errstr + n, sizeof(c->errstr) - n, ": %s", strerror(sys));
    }
    c->err = code;
    c->sys_err = sys;
    c->state = PRC__CONN_BROKEN;
    return code;
}

static int
set_nonblock_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        return -1;
    }
    return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

void
prc__conn_set_fd(prc_conn_t *c, int fd)
{
    pthread_mutex_t *mu = c->cfg->fd_mu;

    if (mu != NULL) {
        pthread_mutex_lock(mu);
    }
    c->fd = fd;
    if (mu != NULL) {
        pthread_mutex_unlock(mu);
    }
}

void
prc__conn_close_fd(prc_conn_t *c)
{
    pthread_mutex_t *mu = c->cfg->fd_mu;
    int fd;

    if (mu != NULL) {
        pthread_mutex_lock(mu);
    }
    fd = c->fd;
    c->fd = -1;
    if (mu != NULL) {
        pthread_mutex_unlock(mu);
    }
    if (fd >= 0) {
        close(fd);
    }
}

static void
tune_tcp(int fd, const prc_conn_cfg_t *o)
{
    int one = 1;

    /* Best effort: a socket that refuses these options still works. */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (o->keepalive) {
        (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &o->keepalive_idle,
                         sizeof(o->keepalive_idle));
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL,
                         &o->keepalive_interval,
                         sizeof(o->keepalive_interval));
        (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &o->keepalive_count,
                         sizeof(o->keepalive_count));
    }
}

/* Start a connect to the next candidate address: PRC_DONE, PRC_WANT_WRITE
 * or an error when no address is left. */
static int
connect_next(prc_conn_t *c)
{
    const prc_conn_cfg_t *o = c->cfg;
    int saved = 0, fd;

    while (c->ai_next != NULL) {
        struct addrinfo *ai = c->ai_next;
        c->ai_next = ai->ai_next;
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        prc__conn_set_fd(c, fd);
        if (set_nonblock_cloexec(c->fd) < 0) {
            saved = errno;
            prc__conn_close_fd(c);
            continue;
        }
        tune_tcp(c->fd, o);
        if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            return PRC_DONE;
        }
        if (errno == EINPROGRESS) {
            return PRC_WANT_WRITE;
        }
        saved = errno;
        prc__conn_close_fd(c);
    }
    return prc__conn_error(c, PRC_ECONNECT, saved, "connect %s:%d", o->host,
                           o->port);
}

/* An IPv4 or IPv6 address, which needs no lookup. */
static int
is_ip_literal(const char *host)
{
    struct in6_addr addr; /* large enough for either family */

    return inet_pton(AF_INET, host, &addr) == 1 ||
           inet_pton(AF_INET6, host, &addr) == 1;
}

/* getaddrinfo answered (gai, errno sys; the list in c->ai): connect to its
 * first address that takes. */
static int
connected_to(prc_conn_t *c, int gai, int sys)
{
    const prc_conn_cfg_t *o = c->cfg;

    if (gai != 0) {
        return prc__conn_error(c, PRC_ECONNECT, gai == EAI_SYSTEM ? sys : 0,
                               "resolve %s: %s", o->host, gai_strerror(gai));
    }
    c->ai_next = c->ai;
    return connect_next(c);
}

int
prc__socket_connect_start(prc_conn_t *c)
{
    const prc_conn_cfg_t *o = c->cfg;
    struct addrinfo hints;
    char port[16];
    int rc, saved;

    if (o->unix_path != NULL) {
        struct sockaddr_un sa;
        if (strlen(o->unix_path) >= sizeof(sa.sun_path)) {
            return prc__conn_error(c, PRC_EINVAL, 0,
                                   "unix socket path too long");
        }
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        strcpy(sa.sun_path, o->unix_path);
        prc__conn_set_fd(c, socket(AF_UNIX, SOCK_STREAM, 0));
        if (c->fd < 0 || set_nonblock_cloexec(c->fd) < 0) {
            return prc__conn_error(c, PRC_ECONNECT, errno,
                                   "connect unix socket %s", o->unix_path);
        }
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            return PRC_DONE;
        }
        if (errno == EINPROGRESS || errno == EAGAIN) {
            return PRC_WANT_WRITE;
        }
        return prc__conn_error(c, PRC_ECONNECT, errno,
                               "connect unix socket %s", o->unix_path);
    }
    if (!is_ip_literal(o->host)) {
        /* A name: resolved on a helper thread, so that the wait for the
         * answer has the call's deadline (resolve.c). */
        int fd;
        c->resolve = prc__resolve_start(o->host, o->port, &fd, &saved);
        if (c->resolve == NULL) {
            return prc__conn_error(c, PRC_ECONNECT, saved, "resolve %s",
                                   o->host);
        }
        prc__conn_set_fd(c, fd);
        return PRC_WANT_READ;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST; /* no lookup: nothing can block */
    snprintf(port, sizeof(port), "%d", o->port);
    rc = getaddrinfo(o->host, port, &hints, &c->ai);
    return connected_to(c, rc, rc == EAI_SYSTEM ? errno : 0);
}

int
prc__socket_resolve_step(prc_conn_t *c)
{
    const prc_conn_cfg_t *o = c->cfg;
    int gai = 0, sys = 0, rc;

    rc = prc__resolve_take(c->resolve, c->fd, &gai, &c->ai, &sys);
    if (rc == 0) {
        return PRC_WANT_READ;
    }
    prc__resolve_release(c->resolve);
    c->resolve = NULL;
    prc__conn_close_fd(c);
    if (rc < 0) {
        return prc__conn_error(c, PRC_ECONNLOST, 0,
                               "closed while resolving %s", o->host);
    }
    return connected_to(c, gai, sys);
}

int
prc__socket_connect_check(prc_conn_t *c)
{
    const prc_conn_cfg_t *o = c->cfg;
    int soerr = 0;
    socklen_t len = sizeof(soerr);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0) {
        soerr = errno;
    }
    if (soerr == 0) {
        return PRC_DONE;
    }
    if (o->unix_path != NULL) {
        return prc__conn_error(c, PRC_ECONNECT, soerr,
                               "connect unix socket %s", o->unix_path);
    }
    prc__conn_close_fd(c);
    if (c->ai_next != NULL) {
        return connect_next(c);
    }
    return prc__conn_error(c, PRC_ECONNECT, soerr, "connect %s:%d", o->host,
                           o->port);
}

static ssize_t
plain_read(prc_conn_t *c, char *buf, size_t len)
{
    ssize_t n = recv(c->fd, buf, len, 0);

    if (n >= 0) {
        return n;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        return PRC__AGAIN_READ;
    }
    return prc__conn_error(c, PRC_ECONNLOST, errno, "read");
}

static ssize_t
plain_write(prc_conn_t *c, const char *buf, size_t len)
{
    ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

    if (n >= 0) {
        return n;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        return PRC__AGAIN_WRITE;
    }
    return prc__conn_error(c, PRC_ECONNLOST, errno, "write");
}

static int
plain_handshake(prc_conn_t *c)
{
    (void)c;
    return PRC_DONE;
}

static void
plain_close(prc_conn_t *c, int orderly)
{
    (void)c;
    (void)orderly;
}

const prc_transport_t prc__plain_transport = {
    .read = plain_read,
    .write = plain_write,
    .handshake = plain_handshake,
    .close = plain_close,
};

int
prc__wait(prc_conn_t *c, int want, int64_t deadline)
{
    const prc_hooks_t *h = &c->cfg->hooks;
    struct pollfd pfd;
    int64_t left;
    int timeout_ms, rc, saved;

    left = deadline == PRC_NO_DEADLINE ? -1 : deadline - prc_now();
    if (deadline != PRC_NO_DEADLINE && left <= 0) {
        return PRC_ETIMEDOUT;
    }
    /* Round up so that we never wake before the deadline and spin. */
    timeout_ms = left < 0 ? -1
                 : left > (int64_t)2000000000 * 1000000
                     ? 2000000000
                     : (int)((left + 999999) / 1000000);
    pfd.fd = c->fd;
    pfd.events = want == PRC_WANT_WRITE ? POLLOUT : POLLIN;
    pfd.revents = 0;
    if (h->before_block) {
        h->before_block(h->ud, want == PRC_WANT_WRITE ? PRC_BLOCK_WRITE
                                                      : PRC_BLOCK_READ);
    }
    rc = poll(&pfd, 1, timeout_ms);
    saved = errno;
    if (h->after_block) {
        h->after_block(h->ud, want == PRC_WANT_WRITE ? PRC_BLOCK_WRITE
                                                     : PRC_BLOCK_READ);
    }
    if (rc < 0) {
        if (saved == EINTR) {
            return PRC_EINTR;
        }
        return prc__conn_error(c, PRC_ECONNLOST, saved, "poll");
    }
    if (rc == 0) {
        /* poll's millisecond clock may differ slightly from ours: only
         * report a timeout once our deadline really passed. */
        return deadline != PRC_NO_DEADLINE && prc_now() >= deadline
                   ? PRC_ETIMEDOUT
                   : 0;
    }
    return 0;
}
