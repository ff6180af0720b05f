/* resolve.c - getaddrinfo on a helper thread, awaited like a socket.
 *
 * getaddrinfo has no deadline: with a DNS server that does not answer it
 * blocks for the resolver's own timeouts (seconds, retried), whatever the
 * caller's connect timeout.  So a host name is resolved on a detached
 * thread that signals one end of a socketpair when it is done; the
 * connection waits for the other end to become readable, with the call's
 * deadline, exactly as it waits for a socket.  A connection that gives up
 * (timeout, close) drops its reference and the thread frees the request
 * when the lookup ends.  A child forked during a lookup has no such thread:
 * its copy of the request (a few hundred bytes) is never freed.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prc_int.h"

struct prc_resolve_s {
    atomic_int refs; /* the connection's and the thread's: last one frees */
    atomic_int done; /* set (release) once rc, sys and ai are written */
    int notify_fd;   /* the thread's end of the socketpair, its own */
    prc__getaddrinfo_fn lookup; /* prc__getaddrinfo, read at start */
    char *host;                 /* owned copy */
    char port[16];
    int rc;              /* getaddrinfo's return */
    int sys;             /* errno when rc is EAI_SYSTEM */
    struct addrinfo *ai; /* owned here until prc__resolve_take */
};

prc__getaddrinfo_fn prc__getaddrinfo = getaddrinfo;

static void
resolve_unref(prc_resolve_t *r)
{
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    if (r->ai != NULL) {
        freeaddrinfo(r->ai);
    }
    free(r->host);
    free(r);
}

static void *
resolve_thread(void *arg)
{
    prc_resolve_t *r = arg;
    struct addrinfo hints;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    r->rc = r->lookup(r->host, r->port, &hints, &r->ai);
    r->sys = r->rc == EAI_SYSTEM ? errno : 0;
    atomic_store_explicit(&r->done, 1, memory_order_release);
    /* The connection may have gone: MSG_NOSIGNAL, and nothing to check. */
    (void)send(r->notify_fd, "", 1, MSG_NOSIGNAL);
    close(r->notify_fd);
    resolve_unref(r);
    return NULL;
}

prc_resolve_t *
prc__resolve_start(const char *host, int port, int *fd, int *sys)
{
    prc_resolve_t *r = calloc(1, sizeof(*r));
    sigset_t all, old;
    pthread_attr_t attr;
    pthread_t tid;
    int sv[2], rc;

    *sys = ENOMEM;
    if (r == NULL || (r->host = strdup(host)) == NULL) {
        free(r);
        return NULL;
    }
    snprintf(r->port, sizeof(r->port), "%d", port);
    r->lookup = prc__getaddrinfo; /* read here: the thread never sees it */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
                   sv) < 0) {
        *sys = errno;
        free(r->host);
        free(r);
        return NULL;
    }
    r->notify_fd = sv[1];
    atomic_init(&r->refs, 2);
    atomic_init(&r->done, 0);
    /* Signals belong to the application's threads, never to this one. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_attr_init(&attr);
    if (rc == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        rc = pthread_create(&tid, &attr, resolve_thread, r);
        pthread_attr_destroy(&attr);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        *sys = rc;
        close(sv[0]);
        close(sv[1]);
        free(r->host);
        free(r);
        return NULL;
    }
    *fd = sv[0];
    return r;
}

int
prc__resolve_take(prc_resolve_t *r, int fd, int *gai, struct addrinfo **ai,
                  int *sys)
{
    char byte;
    ssize_t n = recv(fd, &byte, 1, MSG_DONTWAIT);

    if (!atomic_load_explicit(&r->done, memory_order_acquire)) {
        /* Woken before the answer (keep waiting), or the fd was shut down
         * by prc_pool_close (give up). */
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
    }
    *gai = r->rc;
    *sys = r->sys;
    *ai = r->ai;
    r->ai = NULL;
    return 1;
}

void
prc__resolve_release(prc_resolve_t *r)
{
    if (r != NULL) {
        resolve_unref(r);
    }
}
