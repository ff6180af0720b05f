/* fakesrv.c - a tiny scripted RESP server on loopback for the C tests. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "fakesrv.h"
#include "task.h"

#define FS_MAX_CLIENTS 64
#define FS_MAX_LOG 4096
/* Arguments of a command it parses (a subscriber sends many names). */
#define FS_MAX_ARGS 64
#define FS_TICK_MS 10

struct fakesrv_s {
    fakesrv_opts_t o;
    int lfd;
    int port;
    pthread_t thread;
    SSL_CTX *tls_ctx; /* TLS server context when opts.tls_cert is set */
    int started;      /* the accept thread runs; owner thread only */
    int stopped;      /* owner thread only */
    _Atomic int stop;
    _Atomic int mode;
    _Atomic int accepted, commands, closed, open, max_open;
    _Atomic int sub_setups; /* a subscriber's connect UNSUBSCRIBEs, unlogged */

    pthread_mutex_t mu;
    char *log[FS_MAX_LOG];             /* mu */
    int nlog;                          /* mu */
    pthread_t clients[FS_MAX_CLIENTS]; /* accept thread only */
    int nclients;                      /* accept thread only */
};

typedef struct {
    fakesrv_t *s;
    int fd;
    int mode;
    SSL *ssl; /* TLS connections only */
} client_t;

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static int
buf_add(buf_t *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *np;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        np = realloc(b->p, cap);
        if (np == NULL) {
            return -1;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int
buf_addf(buf_t *b, const char *fmt, long v)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof(tmp), fmt, v);
    return buf_add(b, tmp, (size_t)n);
}

/* Sleep ms in ticks, returning early (1) when the server stops. */
static int
nap(fakesrv_t *s, int ms)
{
    while (ms > 0) {
        int step = ms < FS_TICK_MS ? ms : FS_TICK_MS;
        if (atomic_load(&s->stop)) {
            return 1;
        }
        test_sleep_ms(step);
        ms -= step;
    }
    return atomic_load(&s->stop) ? 1 : 0;
}

static int
send_all(client_t *cl, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k;

        if (cl->ssl != NULL) {
            int w = SSL_write(cl->ssl, p, (int)n);
            if (w <= 0) {
                return -1;
            }
            k = w;
        } else {
            k = send(cl->fd, p, n, MSG_NOSIGNAL);
        }
        if (k < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Parse a decimal line "<digits>\r\n" at p; returns bytes used, 0 when
 * incomplete, -1 when malformed. */
static long
parse_line_num(const char *p, size_t avail, long *out)
{
    const char *nl = memchr(p, '\n', avail);
    char *end;

    if (nl == NULL) {
        return 0;
    }
    if (nl == p || nl[-1] != '\r') {
        return -1;
    }
    *out = strtol(p, &end, 10);
    if (end != nl - 1) {
        return -1;
    }
    return (long)(nl - p) + 1;
}

/*
 * Parse one multi-bulk command at the start of in[0, len).  Returns the
 * bytes it spans (argv pointers into in, argc set), 0 when incomplete,
 * -1 when malformed.
 */
static long
parse_command(const char *in, size_t len, int *argc, const char **argv,
              size_t *argvlen, int maxargs)
{
    size_t pos = 1;
    long n, k, i, used;

    if (len == 0) {
        return 0;
    }
    if (in[0] != '*') {
        return -1;
    }
    used = parse_line_num(in + pos, len - pos, &n);
    if (used <= 0) {
        return used;
    }
    pos += (size_t)used;
    if (n < 1 || n > maxargs) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (pos >= len) {
            return 0;
        }
        if (in[pos] != '$') {
            return -1;
        }
        pos++;
        used = parse_line_num(in + pos, len - pos, &k);
        if (used <= 0) {
            return used;
        }
        pos += (size_t)used;
        if (k < 0) {
            return -1;
        }
        if (len - pos < (size_t)k + 2) {
            return 0;
        }
        argv[i] = in + pos;
        argvlen[i] = (size_t)k;
        pos += (size_t)k + 2;
    }
    *argc = (int)n;
    return (long)pos;
}

static int
arg_is(const char *a, size_t alen, const char *name)
{
    return strlen(name) == alen && strncasecmp(a, name, alen) == 0;
}

static long
arg_num(const char *a, size_t alen)
{
    char tmp[32];

    if (alen >= sizeof(tmp)) {
        return 0;
    }
    memcpy(tmp, a, alen);
    tmp[alen] = '\0';
    return atol(tmp);
}

static void
log_command(fakesrv_t *s, int argc, const char **argv, const size_t *argvlen)
{
    buf_t b = {0};
    int i;

    for (i = 0; i < argc; i++) {
        if (i > 0) {
            buf_add(&b, " ", 1);
        }
        buf_add(&b, argv[i], argvlen[i] > 200 ? 200 : argvlen[i]);
    }
    pthread_mutex_lock(&s->mu);
    if (s->nlog < FS_MAX_LOG) {
        s->log[s->nlog++] = b.p ? b.p : calloc(1, 1);
        b.p = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    free(b.p);
    atomic_fetch_add(&s->commands, 1);
}

/* Build the answer to one command into out. */
static void
answer(fakesrv_t *s, int argc, const char **argv, const size_t *argvlen,
       buf_t *out)
{
    const fakesrv_opts_t *o = &s->o;
    const char *r;
    long i, n, m;

    if (arg_is(argv[0], argvlen[0], "AUTH")) {
        r = o->auth_reply ? o->auth_reply : "+OK\r\n";
    } else if (arg_is(argv[0], argvlen[0], "SELECT")) {
        r = o->select_reply ? o->select_reply : "+OK\r\n";
    } else if (arg_is(argv[0], argvlen[0], "CLIENT")) {
        r = "+OK\r\n";
    } else if (arg_is(argv[0], argvlen[0], "PING")) {
        r = o->ping_reply ? o->ping_reply : "+PONG\r\n";
    } else if (arg_is(argv[0], argvlen[0], "ECHO") && argc == 2) {
        buf_addf(out, "$%ld\r\n", (long)argvlen[1]);
        buf_add(out, argv[1], argvlen[1]);
        buf_add(out, "\r\n", 2);
        return;
    } else if (arg_is(argv[0], argvlen[0], "BIG") && argc == 2) {
        n = arg_num(argv[1], argvlen[1]);
        buf_addf(out, "$%ld\r\n", n);
        for (i = 0; i < n; i++) {
            buf_add(out, "x", 1);
        }
        buf_add(out, "\r\n", 2);
        return;
    } else if (arg_is(argv[0], argvlen[0], "ARR") && argc == 3) {
        n = arg_num(argv[1], argvlen[1]);
        m = arg_num(argv[2], argvlen[2]);
        buf_addf(out, "*%ld\r\n", n);
        for (i = 0; i < n; i++) {
            long j;
            buf_addf(out, "$%ld\r\n", m);
            for (j = 0; j < m; j++) {
                buf_add(out, "y", 1);
            }
            buf_add(out, "\r\n", 2);
        }
        return;
    } else {
        r = o->reply ? o->reply : "+OK\r\n";
    }
    buf_add(out, r, strlen(r));
}

/* Send an answer with the configured delay/drip/extra; -1 to close. */
static int
send_answer(fakesrv_t *s, client_t *cl, buf_t *out)
{
    const fakesrv_opts_t *o = &s->o;
    size_t i;

    if (o->delay_ms > 0 && nap(s, o->delay_ms)) {
        return -1;
    }
    if (o->extra != NULL) {
        buf_add(out, o->extra, strlen(o->extra));
    }
    if (o->drip_ms > 0) {
        for (i = 0; i < out->len; i++) {
            if (send_all(cl, out->p + i, 1) < 0 || nap(s, o->drip_ms)) {
                return -1;
            }
        }
    } else if (out->len > 0 && send_all(cl, out->p, out->len) < 0) {
        return -1;
    }
    if (o->close_after_reply) {
        return -1;
    }
    if (o->stray != NULL) {
        if (nap(s, o->stray_ms) ||
            send_all(cl, o->stray, strlen(o->stray)) < 0) {
            return -1;
        }
    }
    return 0;
}

static void *
client_main(void *arg)
{
    client_t *cl = arg;
    fakesrv_t *s = cl->s;
    int fd = cl->fd, mode = cl->mode, seen_other = 0;
    buf_t in = {0}, out = {0};
    char chunk[16384];

    if (mode == FS_CLOSE_ON_ACCEPT) {
        goto done;
    }
    if (s->tls_ctx != NULL && mode != FS_HANG && mode != FS_NOREAD &&
        mode != FS_RAW) {
        /* Blocking handshake, bounded by the receive timeout. */
        struct timeval tv = {.tv_sec = 2, .tv_usec = 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        cl->ssl = SSL_new(s->tls_ctx);
        if (cl->ssl == NULL || SSL_set_fd(cl->ssl, fd) != 1 ||
            SSL_accept(cl->ssl) != 1) {
            ERR_clear_error();
            goto done;
        }
    }
    if (s->o.greeting != NULL && mode == FS_NORMAL &&
        send_all(cl, s->o.greeting, strlen(s->o.greeting)) < 0) {
        goto done;
    }
    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t n;
        int rc;

        if (mode == FS_NOREAD) {
            pfd.events = 0;
        }
        rc = cl->ssl != NULL && SSL_pending(cl->ssl) > 0
                 ? 1
                 : poll(&pfd, 1, FS_TICK_MS);
        if (rc <= 0) {
            continue;
        }
        if (mode == FS_NOREAD) {
            if (pfd.revents & (POLLHUP | POLLERR)) {
                break;
            }
            continue;
        }
        if (cl->ssl != NULL) {
            n = SSL_read(cl->ssl, chunk, (int)sizeof(chunk));
        } else {
            n = recv(fd, chunk, sizeof(chunk), 0);
        }
        if (n <= 0) {
            break;
        }
        if (mode == FS_RAW) {
            const char *r = s->o.raw_reply ? s->o.raw_reply : "";
            send_all(cl, r, strlen(r));
            break;
        }
        if (mode == FS_HANG) {
            continue;
        }
        buf_add(&in, chunk, (size_t)n);
        out.len = 0;
        for (;;) {
            const char *argv[FS_MAX_ARGS];
            size_t argvlen[FS_MAX_ARGS];
            int argc = 0;
            long used =
                parse_command(in.p, in.len, &argc, argv, argvlen, FS_MAX_ARGS);

            if (used == 0) {
                break;
            }
            if (used < 0) {
                goto done;
            }
            if (s->o.sub_setup && !seen_other && mode == FS_NORMAL &&
                argc == 1 && arg_is(argv[0], argvlen[0], "UNSUBSCRIBE")) {
                /* A subscriber's round trip after its setup commands
                 * (prc__conn_cfg_round_trip): answered as a real server
                 * does, at once, and counted apart from the commands
                 * logged. */
                const char *r =
                    s->o.sub_setup_reply
                        ? s->o.sub_setup_reply
                        : "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n";
                atomic_fetch_add(&s->sub_setups, 1);
                memmove(in.p, in.p + used, in.len - (size_t)used);
                in.len -= (size_t)used;
                if (send_all(cl, r, strlen(r)) < 0) {
                    goto done;
                }
                continue;
            }
            if (!arg_is(argv[0], argvlen[0], "AUTH") &&
                !arg_is(argv[0], argvlen[0], "SELECT") &&
                !arg_is(argv[0], argvlen[0], "CLIENT")) {
                seen_other = 1;
            }
            log_command(s, argc, argv, argvlen);
            if (mode == FS_CLOSE_ON_COMMAND) {
                goto done;
            }
            answer(s, argc, argv, argvlen, &out);
            memmove(in.p, in.p + used, in.len - (size_t)used);
            in.len -= (size_t)used;
            if (!s->o.batch) {
                if (send_answer(s, cl, &out) < 0) {
                    goto done;
                }
                out.len = 0;
            }
        }
        if (s->o.batch && out.len > 0 && send_answer(s, cl, &out) < 0) {
            goto done;
        }
    }
done:
    if (cl->ssl != NULL) {
        SSL_free(cl->ssl);
        ERR_clear_error();
    }
    close(fd);
    atomic_fetch_add(&s->closed, 1);
    atomic_fetch_sub(&s->open, 1);
    free(in.p);
    free(out.p);
    free(cl);
    return NULL;
}

static void *
accept_main(void *arg)
{
    fakesrv_t *s = arg;
    int i;

    while (!atomic_load(&s->stop)) {
        struct pollfd pfd = {.fd = s->lfd, .events = POLLIN};
        struct timeval tv = {.tv_sec = 2, .tv_usec = 0};
        client_t *cl;
        int fd, n, mx;

        if (poll(&pfd, 1, FS_TICK_MS) <= 0) {
            continue;
        }
        fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        /* Never let a send block the server's shutdown for long. */
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        n = atomic_fetch_add(&s->accepted, 1);
        mx = atomic_fetch_add(&s->open, 1) + 1;
        while (mx > atomic_load(&s->max_open)) {
            int cur = atomic_load(&s->max_open);
            if (mx > cur) {
                atomic_compare_exchange_strong(&s->max_open, &cur, mx);
            }
        }
        cl = calloc(1, sizeof(*cl));
        if (cl == NULL || s->nclients == FS_MAX_CLIENTS) {
            free(cl);
            close(fd);
            atomic_fetch_add(&s->closed, 1);
            atomic_fetch_sub(&s->open, 1);
            continue;
        }
        cl->s = s;
        cl->fd = fd;
        cl->mode = n < s->o.first_n ? s->o.first_mode : atomic_load(&s->mode);
        if (pthread_create(&s->clients[s->nclients], NULL, client_main, cl) !=
            0) {
            free(cl);
            close(fd);
            atomic_fetch_add(&s->closed, 1);
            atomic_fetch_sub(&s->open, 1);
            continue;
        }
        s->nclients++;
    }
    for (i = 0; i < s->nclients; i++) {
        pthread_join(s->clients[i], NULL);
    }
    return NULL;
}

void
fakesrv_stop(fakesrv_t *s)
{
    if (s == NULL || s->stopped) {
        return;
    }
    s->stopped = 1;
    atomic_store(&s->stop, 1);
    if (s->started) {
        pthread_join(s->thread, NULL);
    }
    if (s->lfd >= 0) {
        close(s->lfd);
        s->lfd = -1;
    }
    if (s->o.unix_path != NULL) {
        unlink(s->o.unix_path);
    }
}

static void
fakesrv_free(void *arg)
{
    fakesrv_t *s = arg;
    int i;

    fakesrv_stop(s);
    for (i = 0; i < s->nlog; i++) {
        free(s->log[i]);
    }
    pthread_mutex_destroy(&s->mu);
    SSL_CTX_free(s->tls_ctx);
    free(s);
}

fakesrv_t *
fakesrv_start(const fakesrv_opts_t *opts)
{
    fakesrv_t *s = calloc(1, sizeof(*s));
    int one = 1;

    if (s == NULL) {
        return NULL;
    }
    s->o = *opts;
    s->lfd = -1;
    atomic_init(&s->mode, opts->mode);
    pthread_mutex_init(&s->mu, NULL);
    test_defer(fakesrv_free, s);
    if (opts->tls_cert != NULL) {
        s->tls_ctx = SSL_CTX_new(TLS_server_method());
        if (s->tls_ctx == NULL ||
            SSL_CTX_use_certificate_chain_file(s->tls_ctx, opts->tls_cert) !=
                1 ||
            SSL_CTX_use_PrivateKey_file(s->tls_ctx, opts->tls_key,
                                        SSL_FILETYPE_PEM) != 1) {
            return NULL;
        }
    }
    if (opts->unix_path != NULL) {
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", opts->unix_path);
        unlink(opts->unix_path);
        s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (s->lfd < 0 ||
            bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            return NULL;
        }
    } else {
        struct sockaddr_in sa;
        socklen_t len = sizeof(sa);
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa.sin_port = htons((uint16_t)opts->port);
        s->lfd = socket(AF_INET, SOCK_STREAM, 0);
        if (s->lfd < 0) {
            return NULL;
        }
        setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
            getsockname(s->lfd, (struct sockaddr *)&sa, &len) != 0) {
            return NULL;
        }
        s->port = ntohs(sa.sin_port);
    }
    if (listen(s->lfd, 64) != 0 ||
        fcntl(s->lfd, F_SETFL, fcntl(s->lfd, F_GETFL) | O_NONBLOCK) != 0) {
        return NULL;
    }
    if (pthread_create(&s->thread, NULL, accept_main, s) != 0) {
        return NULL;
    }
    s->started = 1;
    return s;
}

int
fakesrv_port(const fakesrv_t *s)
{
    return s->port;
}

void
fakesrv_set_mode(fakesrv_t *s, int mode)
{
    atomic_store(&s->mode, mode);
}

int
fakesrv_accepted(fakesrv_t *s)
{
    return atomic_load(&s->accepted);
}

int
fakesrv_commands(fakesrv_t *s)
{
    return atomic_load(&s->commands);
}

int
fakesrv_sub_setups(fakesrv_t *s)
{
    return atomic_load(&s->sub_setups);
}

int
fakesrv_closed(fakesrv_t *s)
{
    return atomic_load(&s->closed);
}

int
fakesrv_max_open(fakesrv_t *s)
{
    return atomic_load(&s->max_open);
}

int
fakesrv_log(fakesrv_t *s, int i, char *buf, size_t len)
{
    int rc = -1;

    pthread_mutex_lock(&s->mu);
    if (i >= 0 && i < s->nlog) {
        snprintf(buf, len, "%s", s->log[i]);
        rc = 0;
    }
    pthread_mutex_unlock(&s->mu);
    if (rc != 0 && len > 0) {
        buf[0] = '\0';
    }
    return rc;
}

int
fakesrv_wait_closed(fakesrv_t *s, int n, int ms)
{
    double until = test_now_ms() + ms;

    while (fakesrv_closed(s) < n) {
        if (test_now_ms() > until) {
            return -1;
        }
        test_sleep_ms(2);
    }
    return 0;
}
