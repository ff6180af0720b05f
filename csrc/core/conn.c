/* conn.c - one connection: a non-blocking state machine and exchanges. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prc_int.h"

/* Bytes offered to each read; replies larger than this grow the buffer
 * to the announced bulk size in one step. */
#define PRC_READ_CHUNK (16 * 1024)
/* "$<up to 20 digits>\r\n" and the trailing "\r\n" of a bulk reply. */
#define PRC_REPLY_FRAMING 32
/* An idle connection keeps at most this much reply buffer: one reply of
 * 100 MB must not leave 100 MB behind on every pooled connection. */
#define PRC_KEEP_RBUF (64 * 1024)

/* ---- connections -------------------------------------------------------- */

/* Wipe and free a connection's own handshake (it holds the password). */
static void
drop_hs(prc_conn_t *c)
{
    if (c->hs != NULL) {
        memset(c->hs, 0, c->hs_len);
        free(c->hs);
        c->hs = NULL;
        c->hs_len = 0;
    }
}

/* Wipe and free what a credentials provider handed over. */
static void
wipe_creds(prc_creds_t *cr)
{
    char **s[2] = {&cr->username, &cr->password};
    int i;

    for (i = 0; i < 2; i++) {
        if (*s[i] != NULL) {
            memset(*s[i], 0, strlen(*s[i]));
            free(*s[i]);
            *s[i] = NULL;
        }
    }
}

prc_conn_t *
prc__conn_new(const prc_conn_cfg_t *cfg)
{
    prc_conn_t *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    prc__fork_init(); /* a connection made after a fork is the child's */
    c->fd = -1;
    c->state = PRC__CONN_NEW;
    c->tp = &prc__plain_transport;
    c->cfg = cfg;
    c->fork_gen = prc_fork_generation();
    prc_framer_init(&c->framer, cfg->max_reply_bytes,
                    (int64_t)(cfg->max_reply_bytes / 3 < INT32_MAX
                                  ? cfg->max_reply_bytes / 3
                                  : INT32_MAX),
                    PRC_FRAMER_MAX_DEPTH);
    /* Each reply is held to max_reply_bytes, plus a bulk reply's framing so
     * that a value of exactly the limit fits; a pipeline's total is not. */
    c->framer.max_reply = cfg->max_reply_bytes + PRC_REPLY_FRAMING;
    return c;
}

void
prc__conn_free(prc_conn_t *c, int orderly)
{
    if (c == NULL) {
        return;
    }
    c->tp->close(c, orderly && c->state == PRC__CONN_READY);
    if (c->fd >= 0) {
        close(c->fd);
    }
    if (c->ai != NULL) {
        freeaddrinfo(c->ai);
    }
    prc__resolve_release(c->resolve); /* an abandoned lookup frees itself */
    drop_hs(c);
    if (c->user_free != NULL) {
        c->user_free(c->user);
    }
    free(c->rbuf);
    free(c);
}

const char *
prc_conn_replies(const prc_conn_t *c, size_t *len)
{
    *len = c->rlen;
    return c->rbuf;
}

int
prc_conn_fd(const prc_conn_t *c)
{
    return c->fd;
}

void *
prc_conn_user(const prc_conn_t *c)
{
    return c->user;
}

void
prc_conn_set_user(prc_conn_t *c, void *ptr, void (*free_fn)(void *))
{
    c->user = ptr;
    c->user_free = free_fn;
}

void
prc_conn_mark_broken(prc_conn_t *c)
{
    c->state = PRC__CONN_BROKEN;
}

void
prc__conn_begin(prc_conn_t *c, const char *req, size_t len, int nreplies)
{
    c->req = req;
    c->reqlen = len;
    c->written = 0;
    c->want = nreplies;
    c->got = 0;
    c->rlen = 0;
    c->framer.pos = 0;
    c->framer.reply_start = 0;
    c->framer.bulk_left = -1;
    c->framer.depth = 0;
    prc__conn_trim(c);
}

void
prc__conn_trim(prc_conn_t *c)
{
    if (c->rcap > PRC_KEEP_RBUF) {
        free(c->rbuf);
        c->rbuf = NULL;
        c->rcap = 0;
        c->rlen = 0;
    }
}

size_t
prc__conn_buffered(const prc_conn_t *c)
{
    return c->rcap;
}

/* Make room for `need` more bytes; respects max_reply_bytes. */
static int
reserve(prc_conn_t *c, size_t need)
{
    size_t want = c->rlen + need, cap;
    char *nb;

    if (want <= c->rcap) {
        return 0;
    }
    cap = c->rcap ? c->rcap : PRC_READ_CHUNK;
    while (cap < want) {
        cap *= 2;
    }
    nb = realloc(c->rbuf, cap);
    if (nb == NULL) {
        return prc__conn_error(c, PRC_ENOMEM, 0, "reply buffer of %zu bytes",
                               cap);
    }
    c->rbuf = nb;
    c->rcap = cap;
    return 0;
}

int
prc__conn_io_step(prc_conn_t *c)
{
    for (;;) {
        ssize_t n;
        size_t space;
        int k;

        if (c->state == PRC__CONN_BROKEN) {
            return c->err ? c->err : PRC_ECONNLOST;
        }
        if (c->written < c->reqlen) {
            n = c->tp->write(c, c->req + c->written, c->reqlen - c->written);
            if (n == PRC__AGAIN_WRITE) {
                return PRC_WANT_WRITE;
            }
            if (n == PRC__AGAIN_READ) {
                return PRC_WANT_READ;
            }
            if (n < 0) {
                return (int)n;
            }
            c->written += (size_t)n;
            if (c->written == c->reqlen) {
                /* No read before poll says readable: the reply cannot
                 * have arrived yet, so a read now would be a wasted
                 * syscall. */
                return PRC_WANT_READ;
            }
            continue;
        }
        if (reserve(c, c->framer.bulk_left > PRC_READ_CHUNK
                           ? (size_t)c->framer.bulk_left + 2
                           : PRC_READ_CHUNK) != 0) {
            return c->err;
        }
        space = c->rcap - c->rlen;
        n = c->tp->read(c, c->rbuf + c->rlen, space);
        if (n == PRC__AGAIN_READ) {
            return PRC_WANT_READ;
        }
        if (n == PRC__AGAIN_WRITE) {
            return PRC_WANT_WRITE;
        }
        if (n < 0) {
            return (int)n;
        }
        if (n == 0) {
            return prc__conn_error(c, PRC_ECONNLOST, 0,
                                   "server closed the connection");
        }
        c->rlen += (size_t)n;
        k = prc_framer_scan(&c->framer, c->rbuf, c->rlen, c->want - c->got);
        if (k < 0) {
            return prc__conn_error(c, k, 0, "%s", c->framer.errstr);
        }
        c->got += k;
        if (c->got >= c->want) {
            if (c->framer.pos != c->rlen) {
                /* Bytes after the expected replies: the server said more
                 * than it was asked, so which of these replies answers
                 * which command is unknown (an unsolicited reply may have
                 * come first).  Hand none of them to the caller. */
                return prc__conn_error(
                    c, PRC_EPROTO, 0,
                    "connection out of step: %zu bytes beyond the expected "
                    "replies; closed",
                    c->rlen - c->framer.pos);
            }
            return PRC_DONE;
        }
        if ((size_t)n < space && !prc__tls_pending(c)) {
            return PRC_WANT_READ;
        }
    }
}

/* ---- streaming (a subscriber's connection) ---------------------------- */

ssize_t
prc__conn_read_more(prc_conn_t *c)
{
    size_t need = c->framer.bulk_left > PRC_READ_CHUNK
                      ? (size_t)c->framer.bulk_left + 2
                      : PRC_READ_CHUNK;
    size_t space;
    ssize_t n;

    if (c->state == PRC__CONN_BROKEN) {
        return c->err ? c->err : PRC_ECONNLOST;
    }
    if (reserve(c, need) != 0) {
        return c->err;
    }
    /* At most what the reply being framed needs, or one chunk: the rest
     * waits in the socket, and then in the server's output buffer, whose
     * limits apply to a slow reader. */
    space = c->rcap - c->rlen;
    n = c->tp->read(c, c->rbuf + c->rlen, space < need ? space : need);
    if (n == 0) {
        return prc__conn_error(c, PRC_ECONNLOST, 0,
                               "server closed the connection");
    }
    if (n > 0) {
        c->rlen += (size_t)n;
    }
    return n;
}

void
prc__conn_compact(prc_conn_t *c)
{
    size_t done =
        prc_framer_idle(&c->framer) ? c->framer.pos : c->framer.reply_start;

    if (done == 0) {
        return;
    }
    if (done < c->rlen) {
        memmove(c->rbuf, c->rbuf + done, c->rlen - done);
    }
    c->rlen -= done;
    c->framer.pos -= done;
    c->framer.reply_start =
        c->framer.reply_start >= done ? c->framer.reply_start - done : 0;
    if (c->rlen == 0) {
        prc__conn_trim(c);
    }
}

/* A setup command's error reply, or one a server sent on accept (msg:
 * the line after the '-', without CRLF): the code its class stands for
 * (the error table, prc.h: EAUTH, EMAXCLIENTS, ELOADING ...), or
 * PRC_EHANDSHAKE. */
static int
server_error(prc_conn_t *c, const char *msg, int len)
{
    int cls = prc_error_reply_class(msg, (size_t)len, NULL);
    int code = prc_exc_class(cls)->code;

    return prc__conn_error(c, code != 0 ? code : PRC_EHANDSHAKE, 0, "%.*s",
                           len, msg);
}

/* Is r the answer to prc__conn_cfg_round_trip's UNSUBSCRIBE: an array of
 * "unsubscribe", a channel (nil: there was none) and the count left, 0?
 * Read element by element, so that a server that spells the nil otherwise
 * is understood too. */
static int
rt_answered(const prc_conn_t *c, const prc_reply_t *r)
{
    prc_reply_t e;

    if (r->type != '*' || r->n != 3 ||
        prc_reply_at(c->rbuf, c->rlen, r->body, &e) != 1 || e.type != '$' ||
        e.len != 11 || strncasecmp(e.text, "unsubscribe", 11) != 0 ||
        prc_reply_at(c->rbuf, c->rlen, e.end, &e) != 1 ||
        prc_reply_at(c->rbuf, c->rlen, e.end, &e) != 1) {
        return 0;
    }
    return e.type == ':' && e.len == 1 && e.text[0] == '0';
}

/* The config's handshake as this connection sends it: its round trip
 * (PRC__RT_*, 0 for none), bytes and commands. */
static int
hs_rt(const prc_conn_t *c)
{
    return c->no_rt ? PRC__RT_NONE : c->cfg->handshake_rt;
}

static size_t
hs_bytes(const prc_conn_t *c)
{
    return c->cfg->handshake_len - (c->no_rt ? c->cfg->handshake_rt_len : 0);
}

static int
hs_count(const prc_conn_t *c)
{
    return c->cfg->handshake_n - (c->no_rt && c->cfg->handshake_rt ? 1 : 0);
}

/* Check the handshake replies: AUTH, SELECT and CLIENT SETNAME each answer
 * exactly +OK, and a last UNSUBSCRIBE (handshake_rt) as rt_answered says, or
 * NOPERM; a last PING +PONG or any error.
 * Anything else is an error reply, or a sign that the replies are not the
 * answers to our commands (a server or proxy that spoke first): the connection
 * is out of step.  The framer framed them all; prc_reply_at reads each. */
static int
check_handshake(prc_conn_t *c)
{
    prc_reply_t r;
    size_t pos = 0;
    int i, rt = hs_rt(c);

    for (i = 0; i < c->want; i++) {
        if (prc_reply_at(c->rbuf, c->rlen, pos, &r) != 1) {
            return prc__conn_error(c, PRC_EPROTO, 0,
                                   "unexpected reply to a setup command");
        }
        if (r.type == '-' && i == c->want - 1 &&
            (rt == PRC__RT_PING ||
             (rt == PRC__RT_UNSUBSCRIBE &&
              prc_error_reply_class(r.text, r.len, NULL) == PRC_EXC_NOPERM))) {
            /* The server answered all the same: a user without pub/sub
             * (the SUBSCRIBE that follows gets the same refusal, and its
             * reader the error, as redis-py's does, not a connection
             * retried forever); a PING refused for any reason (the
             * command after it meets the same state and reports it). */
            pos = r.end;
            continue;
        }
        if (r.type == '-') {
            return server_error(c, r.text, (int)r.len);
        }
        if (i == c->want - 1 && rt == PRC__RT_PING) {
            if (r.type != '+' || r.len != 4 ||
                memcmp(r.text, "PONG", 4) != 0) {
                return prc__conn_error(c, PRC_EPROTO, 0,
                                       "unexpected reply to PING: "
                                       "connection out of step");
            }
        } else if (i == c->want - 1 && rt != PRC__RT_NONE) {
            if (!rt_answered(c, &r)) {
                return prc__conn_error(c, PRC_EPROTO, 0,
                                       "unexpected reply to UNSUBSCRIBE: "
                                       "connection out of step");
            }
        } else if (r.type != '+' || r.len != 2 ||
                   memcmp(r.text, "OK", 2) != 0) {
            return prc__conn_error(c, PRC_EPROTO, 0,
                                   "unexpected reply to a setup command: "
                                   "connection out of step");
        }
        pos = r.end;
    }
    return PRC_DONE;
}

/*
 * Before anything is sent, a server has nothing to say: bytes now are
 * unsolicited (a proxy's banner, a refusal sent on accept such as
 * "-ERR max number of clients reached") and would otherwise be taken as
 * the answer to the first command.  One non-blocking read rather than a
 * poll: under TLS, session tickets make the socket readable with no data
 * for us, and the read consumes them.  PRC_DONE when quiet.
 */
static int
check_quiet(prc_conn_t *c)
{
    char buf[256];
    ssize_t n = c->tp->read(c, buf, sizeof(buf));
    prc_reply_t r;

    if (n == PRC__AGAIN_READ || n == PRC__AGAIN_WRITE) {
        return PRC_DONE;
    }
    if (n < 0) {
        return (int)n;
    }
    if (n == 0) {
        return prc__conn_error(c, PRC_ECONNLOST, 0,
                               "server closed the connection before any "
                               "command was sent");
    }
    if (prc_reply_at(buf, (size_t)n, 0, &r) == 1 && r.type == '-') {
        return server_error(c, r.text, (int)r.len);
    }
    return prc__conn_error(c, PRC_EPROTO, 0,
                           "connection out of step: the server sent %zd "
                           "bytes before any command",
                           n);
}

/*
 * Format this connection's handshake: AUTH with the provider's answer,
 * then the config's SELECT and CLIENT SETNAME, in one block the
 * connection owns (c->hs), and start sending it.  PRC_WANT_WRITE, PRC_DONE
 * when there is nothing to send, or an error code.
 */
static int
send_auth(prc_conn_t *c, const char *username, const char *password)
{
    prc__setup_t s = {0};
    size_t n = 0;
    char *p;

    if (password != NULL) {
        if (username != NULL) {
            prc__setup_add(&s, 3, "AUTH", username, password);
        } else {
            prc__setup_add(&s, 2, "AUTH", password, NULL);
        }
        n = prc_resp_command_len(s.argc[0], s.lens[0]);
        if (n >= PRC_MAX_COMMAND) {
            return prc__conn_error(c, PRC_EAUTH, 0,
                                   "credentials too large for AUTH");
        }
    }
    if (s.n + hs_count(c) == 0) {
        c->state = PRC__CONN_READY;
        return PRC_DONE;
    }
    c->hs = malloc(n + hs_bytes(c));
    if (c->hs == NULL) {
        return prc__conn_error(c, PRC_ENOMEM, 0, "handshake of %zu bytes",
                               n + hs_bytes(c));
    }
    c->hs_len = n + hs_bytes(c);
    p = c->hs;
    if (s.n > 0) {
        p = prc_resp_write_command(p, s.argc[0], s.argv[0], s.lens[0]);
    }
    if (hs_bytes(c) > 0) {
        memcpy(p, c->cfg->handshake, hs_bytes(c));
    }
    prc__conn_begin(c, c->hs, c->hs_len, s.n + hs_count(c));
    c->state = PRC__CONN_HANDSHAKE;
    return PRC_WANT_WRITE;
}

/* Ask the provider for this connection's credentials and send them:
 * as send_auth, or PRC_WANT_CREDS (the driver answers later). */
static int
ask_creds(prc_conn_t *c)
{
    prc_creds_t cr;
    int rc;

    memset(&cr, 0, sizeof(cr));
    c->state = PRC__CONN_CREDS;
    rc = c->cfg->creds.get(c->cfg->creds.ud, &cr);
    if (rc == PRC_WANT_CREDS) {
        wipe_creds(&cr);
        return PRC_WANT_CREDS;
    }
    if (rc == 0) {
        rc = send_auth(c, cr.username, cr.password);
    } else {
        cr.errstr[sizeof(cr.errstr) - 1] = '\0';
        rc = prc__conn_error(c, rc < 0 ? rc : PRC_EAUTH, 0, "%s",
                             cr.errstr[0] ? cr.errstr
                                          : "the credentials provider failed");
    }
    wipe_creds(&cr);
    return rc;
}

void
prc__conn_set_creds(prc_conn_t *c, const char *username, const char *password,
                    const char *error)
{
    if (c == NULL || c->state != PRC__CONN_CREDS) {
        return;
    }
    if (error != NULL) {
        prc__conn_error(c, PRC_EAUTH, 0, "%s", error);
        return;
    }
    (void)send_auth(c, username, password); /* an error breaks c */
}

static int
start_handshake(prc_conn_t *c)
{
    int rc = check_quiet(c);

    if (rc != PRC_DONE) {
        return rc;
    }
    if (c->cfg->creds.get != NULL) {
        return ask_creds(c);
    }
    if (hs_count(c) == 0) {
        c->state = PRC__CONN_READY;
        return PRC_DONE;
    }
    prc__conn_begin(c, c->cfg->handshake, hs_bytes(c), hs_count(c));
    c->state = PRC__CONN_HANDSHAKE;
    return PRC_WANT_WRITE;
}

int
prc__conn_open_step(prc_conn_t *c)
{
    int rc;

    for (;;) {
        switch (c->state) {
        case PRC__CONN_NEW:
        case PRC__CONN_RESOLVING:
            rc = c->state == PRC__CONN_NEW ? prc__socket_connect_start(c)
                                           : prc__socket_resolve_step(c);
            if (rc < 0) {
                return rc;
            }
            if (c->resolve != NULL) {
                c->state = PRC__CONN_RESOLVING; /* PRC_WANT_READ on its fd */
                return rc;
            }
            c->state = PRC__CONN_CONNECTING;
            c->connect_pending = rc == PRC_WANT_WRITE;
            if (c->connect_pending) {
                return rc;
            }
            break;
        case PRC__CONN_CONNECTING:
            if (c->connect_pending) {
                rc = prc__socket_connect_check(c);
                if (rc != PRC_DONE) {
                    return rc;
                }
                c->connect_pending = 0;
            }
            if (c->ai != NULL) {
                freeaddrinfo(c->ai);
                c->ai = NULL;
                c->ai_next = NULL;
            }
            if (c->cfg->tls) {
                rc = prc__tls_attach(c);
                if (rc < 0) {
                    return rc;
                }
                c->state = PRC__CONN_TLS;
                break;
            }
            rc = start_handshake(c);
            if (rc == PRC_DONE) {
                return rc;
            }
            break;
        case PRC__CONN_TLS:
            rc = c->tp->handshake(c);
            if (rc != PRC_DONE) {
                return rc;
            }
            rc = start_handshake(c);
            if (rc == PRC_DONE) {
                return rc;
            }
            break;
        case PRC__CONN_CREDS:
            return PRC_WANT_CREDS; /* prc__conn_set_creds moves it on */
        case PRC__CONN_HANDSHAKE:
            rc = prc__conn_io_step(c);
            if (rc != PRC_DONE) {
                return rc;
            }
            rc = check_handshake(c);
            drop_hs(c); /* sent and answered: the password goes now */
            if (rc != PRC_DONE) {
                return rc;
            }
            c->state = PRC__CONN_READY;
            /* The setup replies are consumed: a stream read (a subscriber's)
             * starts framing at the start of the buffer again. */
            prc__conn_begin(c, NULL, 0, 0);
            return PRC_DONE;
        case PRC__CONN_READY:
            return PRC_DONE;
        default:
            return c->err ? c->err : PRC_ECONNLOST;
        }
    }
}

int
prc__conn_stale(prc_conn_t *c)
{
    struct pollfd pfd;

    if (c->fd < 0 || c->state != PRC__CONN_READY ||
        c->fork_gen != prc_fork_generation()) {
        return 1;
    }
    pfd.fd = c->fd;
    pfd.events = POLLIN | POLLRDHUP;
    pfd.revents = 0;
    /* Readable while idle means EOF, a reset or stray bytes: unusable.
     * So do bytes a TLS session decrypted and holds. */
    return poll(&pfd, 1, 0) != 0 || prc__tls_pending(c);
}

int
prc_conn_usable(const prc_conn_t *c)
{
    return c != NULL && c->state == PRC__CONN_READY && c->fd >= 0 &&
           c->fork_gen == prc_fork_generation();
}

/* ---- streaming exchanges (a connection shared by many callers) ---------- */

void
prc_conn_stream_begin(prc_conn_t *c)
{
    prc__conn_begin(c, NULL, 0, 0);
}

int
prc_conn_stream_write(prc_conn_t *c, prc_wbuf_t *out, uint64_t *sent)
{
    while (out->len > 0) {
        ssize_t n;

        if (c->state == PRC__CONN_BROKEN) {
            return c->err ? c->err : PRC_ECONNLOST;
        }
        n = c->tp->write(c, out->buf, out->len);
        if (n == PRC__AGAIN_WRITE) {
            return PRC_WANT_WRITE;
        }
        if (n == PRC__AGAIN_READ) {
            return PRC_WANT_READ; /* TLS must read first */
        }
        if (n < 0) {
            c->state = PRC__CONN_BROKEN;
            return (int)n;
        }
        prc_wbuf_consume(out, (size_t)n);
        *sent += (uint64_t)n;
    }
    return PRC_DONE;
}

/* The end of the whole replies framed so far. */
static size_t
stream_framed(const prc_conn_t *c)
{
    return prc_framer_idle(&c->framer) ? c->framer.pos : c->framer.reply_start;
}

int
prc_conn_stream_read(prc_conn_t *c, size_t max, size_t *len, int *n)
{
    size_t got = 0;

    *n = 0;
    *len = 0;
    for (;;) {
        ssize_t r;
        size_t space;
        int k;

        if (c->state == PRC__CONN_BROKEN) {
            return c->err ? c->err : PRC_ECONNLOST;
        }
        if (reserve(c, c->framer.bulk_left > PRC_READ_CHUNK
                           ? (size_t)c->framer.bulk_left + 2
                           : PRC_READ_CHUNK) != 0) {
            c->state = PRC__CONN_BROKEN;
            return c->err;
        }
        space = c->rcap - c->rlen;
        r = c->tp->read(c, c->rbuf + c->rlen, space);
        if (r == PRC__AGAIN_READ || r == PRC__AGAIN_WRITE) {
            break;
        }
        if (r <= 0) {
            if (r == 0) {
                prc__conn_error(c, PRC_ECONNLOST, 0,
                                "server closed the connection");
            }
            c->state = PRC__CONN_BROKEN;
            /* The whole replies before the end still go to their callers. */
            *len = stream_framed(c);
            return r == 0 ? PRC_ECONNLOST : (int)r;
        }
        c->rlen += (size_t)r;
        got += (size_t)r;
        k = prc_framer_scan(&c->framer, c->rbuf, c->rlen, 0);
        if (k < 0) {
            prc__conn_error(c, k, 0, "%s", c->framer.errstr);
            c->state = PRC__CONN_BROKEN;
            *n = 0; /* where the framer stopped is unknown: take none */
            return k;
        }
        *n += k;
        /* Bytes a TLS session decrypted and holds make the socket quiet:
         * read them now, or nobody would. */
        if (!prc__tls_pending(c) && ((size_t)r < space || got >= max)) {
            break;
        }
    }
    *len = stream_framed(c);
    return PRC_WANT_READ;
}

void
prc_conn_stream_consume(prc_conn_t *c, size_t len)
{
    if (len == 0) {
        return;
    }
    memmove(c->rbuf, c->rbuf + len, c->rlen - len);
    c->rlen -= len;
    c->framer.pos -= len;
    c->framer.reply_start =
        c->framer.reply_start > len ? c->framer.reply_start - len : 0;
    if (c->rlen == 0) {
        prc__conn_trim(c);
    }
}
