/* test_sub.c - the subscriber (sub.c): pushed messages, reconnects with
 * backoff, resubscription, health checks, threads, fork. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pooltest.h"
#include "sub_int.h"

/* A fake server for a subscriber: its connect's UNSUBSCRIBE
 * (prc__conn_cfg_round_trip) is answered as Redis does and counted apart,
 * so the log holds what it sends once connected. */
#define START_SUB_FAKE(var, opts)                                             \
    do {                                                                      \
        (opts)->sub_setup = 1;                                                \
        START_FAKE(var, opts);                                                \
    } while (0)

/* Slack for timing assertions: a loaded 2-core machine under TSan. */
#define SLACK_MS 400

#define CONFIRM(kind, name, n)                                                \
    "*3\r\n$" #n "\r\n" kind "\r\n$1\r\n" name "\r\n:1\r\n"
#define SUBSCRIBED_A "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
#define MESSAGE_A_HI "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$2\r\nhi\r\n"
#define PONG_EMPTY                                                            \
    "*2\r\n$4\r\npong\r\n$0\r\n\r\n" /* PING without a message */
#define HEALTH_PONG "*2\r\n$4\r\npong\r\n$26\r\npyredisclient-health-check\r\n"

static void
free_sub(void *s)
{
    prc_sub_free(s);
}

/* A subscriber freed after the test; NULL with the error printed. */
static prc_sub_t *
new_sub(const prc_opts_t *o)
{
    char eb[128];
    int err;
    prc_sub_t *s = prc_sub_new(o, &err, eb, sizeof(eb));

    if (s == NULL) {
        printf("prc_sub_new: %s: %s\n", prc_err_name(err), eb);
        return NULL;
    }
    test_defer(free_sub, s);
    return s;
}

/* Options for a fake server: pt_opts, no idle PINGs. */
static void
sub_opts(prc_opts_t *o, const fakesrv_t *srv)
{
    pt_opts(o, srv);
    o->health_check_interval = 0;
}

/* Append printf output to out (of cap bytes, holding *n). */
static void put(char *out, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
put(char *out, size_t cap, size_t *n, const char *fmt, ...)
{
    va_list ap;
    int k;

    if (*n >= cap) {
        return;
    }
    va_start(ap, fmt);
    k = vsnprintf(out + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (k > 0) {
        *n += (size_t)k;
    }
}

/* Read one message (mode, within timeout s) into text: "kind el...",
 * "reconnected attempts channels patterns shards: reason", or
 * "error NAME: errstr"; the turn is given back.  Returns the result. */
static int
next_text(prc_sub_t *s, int mode, double timeout, char *out, size_t cap)
{
    prc_sub_io_t io;
    prc_sub_msg_t m;
    prc_sub_event_t ev;
    size_t n = 0;
    int rc, i;

    out[0] = '\0';
    rc = prc_sub_read(s, mode, prc_deadline_after(timeout), &io);
    if (rc == PRC_SUB_MESSAGE) {
        prc_sub_message(s, &m);
        put(out, cap, &n, "%s", prc_sub_kind_name(m.kind));
        for (i = 0; i < m.n; i++) {
            if (m.el[i].type == ':') {
                put(out, cap, &n, " %lld", (long long)m.el[i].num);
            } else if (m.el[i].p == NULL) {
                put(out, cap, &n, " (nil)");
            } else {
                put(out, cap, &n, " %.*s", (int)m.el[i].len, m.el[i].p);
            }
        }
        prc_sub_release(s);
    } else if (rc == PRC_SUB_RECONNECTED) {
        prc_sub_event(s, &ev);
        put(out, cap, &n, "reconnected %d %lld %lld %lld: %s", ev.attempts,
            (long long)ev.counts[0], (long long)ev.counts[1],
            (long long)ev.counts[2], ev.reason);
        prc_sub_release(s);
    } else if (rc < 0) {
        put(out, cap, &n, "error %s: %s", prc_err_name(rc), io.errstr);
    }
    return rc;
}

static int
subscribe1(prc_sub_t *s, int set, const char *name)
{
    size_t len = strlen(name);

    return prc_sub_subscribe(s, set, 1, &name, &len);
}

static int
flush(prc_sub_t *s)
{
    prc_sub_io_t io;

    return prc_sub_flush(s, PRC_SUB_WAIT, prc_deadline_after(2.0), &io);
}

/* ---- messages ------------------------------------------------------------
 */

TEST_IMPL(sub_messages)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_sub_t *s;
    prc_sub_stats_t st;
    char t[256], line[128];

    so.reply = SUBSCRIBED_A;
    so.ping_reply = PONG_EMPTY;
    so.extra = MESSAGE_A_HI; /* pushed after every answer */
    START_SUB_FAKE(srv, &so);
    sub_opts(&o, srv);
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(prc_sub_subscribed(s), 0);
    /* Nothing connected, nothing subscribed: a read just waits. */
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 0.05, t, sizeof(t)), PRC_SUB_NONE);
    ASSERT_EQ(fakesrv_accepted(srv), 0);

    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    ASSERT_EQ(prc_sub_subscribed(s), 1);
    ASSERT_EQ(prc_sub_count(s, PRC_SUB_CHANNELS), 1);
    ASSERT_EQ(flush(s), PRC_SUB_NONE);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    ASSERT_STR_EQ(t, "subscribe a 1");
    ASSERT_EQ(fakesrv_accepted(srv), 1);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    ASSERT_STR_EQ(t, "message a hi");
    ASSERT_EQ(fakesrv_log(srv, 0, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "SUBSCRIBE a");
    /* Only what has arrived: none. */
    ASSERT_EQ(next_text(s, PRC_SUB_BUFFERED, 0, t, sizeof(t)), PRC_SUB_NONE);

    /* A PING with no argument: its pong, then the pushed message. */
    ASSERT_EQ(prc_sub_ping(s, NULL, 0), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    ASSERT_STR_EQ(t, "pong ");
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    ASSERT_STR_EQ(t, "message a hi");
    ASSERT_EQ(fakesrv_log(srv, 1, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "PING");

    /* Confirmations can be skipped; messages never are. */
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    ASSERT_EQ(
        next_text(s, PRC_SUB_WAIT | PRC_SUB_SKIP_CONFIRMS, 1.0, t, sizeof(t)),
        PRC_SUB_MESSAGE);
    ASSERT_STR_EQ(t, "message a hi");
    ASSERT_EQ(prc_sub_count(s, PRC_SUB_CHANNELS), 1); /* a set */

    prc_sub_stats(s, &st);
    ASSERT_EQ(st.messages, 3);
    ASSERT_EQ(st.connects, 1);
    ASSERT_EQ(st.disconnects, 0);
    ASSERT_EQ(st.reconnects, 0);
    ASSERT_EQ(fakesrv_accepted(srv), 1);
    return TEST_OK;
}

TEST_IMPL(sub_shapes)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_sub_t *s;
    char t[256];
    static const char *const expect[] = {
        "subscribe a 1",   "pmessage p* pa x",
        "smessage s y",    "unsubscribe (nil) 0",
        "psubscribe p* 1", "punsubscribe p* 0",
        "ssubscribe s 1",  "sunsubscribe s 0",
        "pong ",           "pong hi",
        "error NOPERM no", "message a ",
    };
    size_t i;

    so.reply = SUBSCRIBED_A "*4\r\n$8\r\npmessage\r\n$2\r\np*\r\n$2\r\npa\r\n"
                            "$1\r\nx\r\n"
                            "*3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$1\r\ny\r\n"
                            "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
                            "*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:1\r\n"
                            "*3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n"
                            "*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n"
                            "*3\r\n$12\r\nsunsubscribe\r\n$1\r\ns\r\n:0\r\n"
                            "+PONG\r\n" HEALTH_PONG "$2\r\nhi\r\n"
                            "-NOPERM no\r\n"
                            "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$0\r\n\r\n";
    START_SUB_FAKE(srv, &so);
    sub_opts(&o, srv);
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    for (i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)),
                  PRC_SUB_MESSAGE);
        ASSERT_STR_EQ(t, expect[i]);
    }
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 0.05, t, sizeof(t)), PRC_SUB_NONE);
    ASSERT_STR_EQ(prc_sub_kind_name(PRC_SUB_KIND_ERROR), "error");
    ASSERT_NULL(prc_sub_kind_name(PRC_SUB_KIND_COUNT));
    ASSERT_NULL(prc_sub_kind_name(-1));
    return TEST_OK;
}

/* Replies a subscribed connection never gets: the connection is out of
 * step, lost, and the loss is the notice. */
TEST_IMPL(sub_out_of_step)
{
    static const char *const bad[] = {
        ":1\r\n",
        "+OK\r\n",
        "$-1\r\n",
        "*0\r\n",
        "*1\r\n$7\r\nmessage\r\n",
        "*2\r\n$7\r\nmessage\r\n$1\r\na\r\n",
        "*3\r\n$7\r\nmessage\r\n$-1\r\n$1\r\nx\r\n",
        "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n$1\r\n1\r\n",
        "*3\r\n$5\r\nhello\r\n$1\r\na\r\n$1\r\nb\r\n",
        "*3\r\n:1\r\n$1\r\na\r\n$1\r\nb\r\n",
        "*3\r\n$7\r\nmessage\r\n*0\r\n$1\r\nb\r\n",
        "*2\r\n$5\r\nerror\r\n$1\r\nb\r\n",
        "*5\r\n$8\r\npmessage\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n",
        "x\r\n",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fakesrv_opts_t so = {0};
        fakesrv_t *srv;
        prc_opts_t o;
        prc_sub_t *s;
        prc_sub_stats_t st;
        char t[256], why[PRC_ERRSTR_LEN];

        so.reply = bad[i];
        START_SUB_FAKE(srv, &so);
        sub_opts(&o, srv);
        ASSERT_NOT_NULL(s = new_sub(&o));
        ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
        ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 0.2, t, sizeof(t)), PRC_SUB_NONE);
        prc_sub_stats(s, &st);
        ASSERT_GE(st.disconnects, 1);
        ASSERT_EQ(st.reconnects, 0);
        ASSERT_EQ(prc_sub_take_notice(s, why, sizeof(why)), 1);
        if (strstr(why, "no pub/sub message") == NULL &&
            strstr(why, "invalid") == NULL) {
            test__fail(__FILE__, __LINE__, "reply %zu: %s", i, why);
            return TEST_FAILED;
        }
        /* Once per outage. */
        ASSERT_EQ(prc_sub_take_notice(s, why, sizeof(why)), 0);
        fakesrv_stop(srv);
    }
    return TEST_OK;
}

/* ---- outages ------------------------------------------------------------ */

TEST_IMPL(sub_refused_backs_off)
{
    prc_opts_t o;
    prc_sub_t *s;
    prc_sub_stats_t st;
    char t[256], why[PRC_ERRSTR_LEN];
    double t0, ms;
    int64_t gone;

    sub_opts(&o, NULL);
    o.port = test_free_port(); /* nothing listens */
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    /* The connect fails: flush is done, nothing raised, reading retries. */
    ASSERT_EQ(flush(s), PRC_SUB_NONE);
    ASSERT_EQ(prc_sub_take_notice(s, why, sizeof(why)), 1);
    ASSERT_STR_CONTAINS(why, "Connection refused");
    /* A flush during the backoff does not connect again. */
    ASSERT_EQ(flush(s), PRC_SUB_NONE);
    prc_sub_stats(s, &st);
    ASSERT_EQ(st.disconnects, 1);

    t0 = test_now_ms();
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 0.3, t, sizeof(t)), PRC_SUB_NONE);
    ms = test_now_ms() - t0;
    ASSERT_GE(ms, 290);
    ASSERT_LT(ms, 300 + SLACK_MS);
    /* Backoff 5-50 ms (at least 10): a handful of connects, no spin. */
    prc_sub_stats(s, &st);
    ASSERT_GE(st.disconnects, 3);
    ASSERT_LE(st.disconnects, 32);
    ASSERT_EQ(st.connects, 0);
    ASSERT_EQ(prc_sub_subscribed(s), 1);
    /* A non-blocking step reports the backoff as a sleep. */
    {
        prc_sub_io_t io;
        int rc = prc_sub_read(s, PRC_SUB_STEP, PRC_NO_DEADLINE, &io);
        ASSERT(rc == PRC_WANT_SLEEP || rc == PRC_WANT_WRITE ||
               rc == PRC_WANT_READ);
    }
    /* Unsubscribed from everything: nothing to reconnect for. */
    ASSERT_EQ(prc_sub_unsubscribe(s, PRC_SUB_CHANNELS, 0, NULL, NULL), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 0.1, t, sizeof(t)), PRC_SUB_NONE);
    prc_sub_stats(s, &st);
    gone = st.disconnects;
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 0.1, t, sizeof(t)), PRC_SUB_NONE);
    prc_sub_stats(s, &st);
    ASSERT_EQ(st.disconnects, gone);
    ASSERT_EQ(prc_sub_subscribed(s), 0);
    return TEST_OK;
}

TEST_IMPL(sub_reconnect_resubscribes)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv, *srv2;
    prc_opts_t o;
    prc_sub_t *s;
    prc_sub_stats_t st;
    char t[256], line[128];
    int i, seen = 0;

    /* One confirmation per command: one name per set. */
    so.reply = CONFIRM("subscribe", "x", 9);
    START_SUB_FAKE(srv, &so);
    sub_opts(&o, srv);
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    ASSERT_EQ(subscribe1(s, PRC_SUB_PATTERNS, "p*"), 0);
    ASSERT_EQ(subscribe1(s, PRC_SUB_SHARDS, "s"), 0);
    for (i = 0; i < 3; i++) {
        ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)),
                  PRC_SUB_MESSAGE);
        ASSERT_STR_EQ(t, "subscribe x 1");
    }

    /* The server goes away; the reader backs off; it comes back. */
    so.port = fakesrv_port(srv);
    fakesrv_stop(srv);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 0.1, t, sizeof(t)), PRC_SUB_NONE);
    START_SUB_FAKE(srv2, &so);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 2.0, t, sizeof(t)),
              PRC_SUB_RECONNECTED);
    ASSERT_STR_CONTAINS(t, " 1 1 1: server closed the connection");
    /* The resubscription's confirmations were read and dropped. */
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 0.1, t, sizeof(t)), PRC_SUB_NONE);
    /* One command per set, all in the same write. */
    for (i = 0; i < 3; i++) {
        ASSERT_EQ(fakesrv_log(srv2, i, line, sizeof(line)), 0);
        if (strcmp(line, "SUBSCRIBE a") == 0) {
            seen |= 1;
        } else if (strcmp(line, "PSUBSCRIBE p*") == 0) {
            seen |= 2;
        } else if (strcmp(line, "SSUBSCRIBE s") == 0) {
            seen |= 4;
        }
    }
    ASSERT_EQ(seen, 7);
    prc_sub_stats(s, &st);
    ASSERT_EQ(st.reconnects, 1);
    ASSERT_EQ(st.connects, 2);
    ASSERT_GE(st.disconnects, 1);
    return TEST_OK;
}

/* A move (prc_sub_move) leaves a working server for another: the next
 * read connects there, subscribes every set again and reports the gap
 * with the move as its reason; later requests go to the new server. */
TEST_IMPL(sub_move)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv, *srv2;
    prc_opts_t o;
    prc_sub_t *s;
    char t[256], line[128], want[96];
    int i, seen = 0;

    so.reply = CONFIRM("subscribe", "x", 9);
    START_SUB_FAKE(srv, &so);
    START_SUB_FAKE(srv2, &so);
    sub_opts(&o, srv);
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    ASSERT_EQ(subscribe1(s, PRC_SUB_PATTERNS, "p*"), 0);
    for (i = 0; i < 2; i++) {
        ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)),
                  PRC_SUB_MESSAGE);
    }

    /* Bad addresses are refused; the subscriber stays where it is. */
    ASSERT_EQ(prc_sub_move(s, NULL, fakesrv_port(srv2)), PRC_EINVAL);
    ASSERT_EQ(prc_sub_move(s, "", fakesrv_port(srv2)), PRC_EINVAL);
    ASSERT_EQ(prc_sub_move(s, "127.0.0.1", 0), PRC_EINVAL);
    ASSERT_EQ(prc_sub_move(s, "127.0.0.1", 65536), PRC_EINVAL);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 0.05, t, sizeof(t)), PRC_SUB_NONE);

    /* Two moves before a read: the later one wins. */
    ASSERT_EQ(prc_sub_move(s, "127.0.0.1", test_free_port()), 0);
    ASSERT_EQ(prc_sub_move(s, "127.0.0.1", fakesrv_port(srv2)), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 2.0, t, sizeof(t)),
              PRC_SUB_RECONNECTED);
    snprintf(want, sizeof(want), " 1 1 0: moved to 127.0.0.1:%d",
             fakesrv_port(srv2));
    ASSERT_STR_CONTAINS(t, want);
    for (i = 0; i < 2; i++) {
        ASSERT_EQ(fakesrv_log(srv2, i, line, sizeof(line)), 0);
        seen |= strcmp(line, "SUBSCRIBE a") == 0     ? 1
                : strcmp(line, "PSUBSCRIBE p*") == 0 ? 2
                                                     : 0;
    }
    ASSERT_EQ(seen, 3);
    /* The resubscription's confirmations were dropped; a new subscribe
     * goes to the new server. */
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 0.05, t, sizeof(t)), PRC_SUB_NONE);
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "b"), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    ASSERT_EQ(fakesrv_log(srv2, 2, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "SUBSCRIBE b");

    prc_sub_close(s);
    ASSERT_EQ(prc_sub_move(s, "127.0.0.1", fakesrv_port(srv)), PRC_ECLOSED);
    return TEST_OK;
}

/* A move of a connection on which the server confirmed nothing (a PING
 * had opened it) is no gap: no outage and no reconnect report; the
 * subscribe asked for after it goes to the new server, and its
 * confirmation to the caller. */
TEST_IMPL(sub_move_before_anything_confirmed)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv, *srv2;
    prc_opts_t o;
    prc_sub_t *s;
    prc_sub_stats_t st;
    char t[256], line[128];

    so.reply = SUBSCRIBED_A;
    so.ping_reply = PONG_EMPTY;
    START_SUB_FAKE(srv, &so);
    START_SUB_FAKE(srv2, &so);
    sub_opts(&o, srv);
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(prc_sub_ping(s, NULL, 0), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    ASSERT_STR_EQ(t, "pong ");

    ASSERT_EQ(prc_sub_move(s, "127.0.0.1", fakesrv_port(srv2)), 0);
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    ASSERT_STR_EQ(t, "subscribe a 1");
    ASSERT_EQ(fakesrv_log(srv2, 0, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "SUBSCRIBE a");
    ASSERT_EQ(prc_sub_take_notice(s, t, sizeof(t)), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 0.05, t, sizeof(t)), PRC_SUB_NONE);
    prc_sub_stats(s, &st);
    ASSERT_EQ(st.connects, 2);
    ASSERT_EQ(st.disconnects, 0);
    ASSERT_EQ(st.reconnects, 0);

    /* Confirmed there, a move is a gap again. */
    ASSERT_EQ(prc_sub_move(s, "127.0.0.1", fakesrv_port(srv)), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 2.0, t, sizeof(t)),
              PRC_SUB_RECONNECTED);
    ASSERT_STR_CONTAINS(t, "moved to 127.0.0.1:");
    return TEST_OK;
}

/* A move while backing off from a server that is gone connects to the new
 * one at once, not after the backoff; the gap keeps its first reason. */
TEST_IMPL(sub_move_while_backing_off)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv2;
    prc_opts_t o;
    prc_sub_t *s;
    char t[256];
    double t0;

    so.reply = CONFIRM("subscribe", "x", 9);
    START_SUB_FAKE(srv2, &so);
    sub_opts(&o, NULL);
    o.port = test_free_port(); /* nothing listens */
    o.retry_base = o.retry_cap = 30.0;
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    ASSERT_EQ(flush(s), PRC_SUB_NONE); /* refused: a 15-30 s backoff */

    t0 = test_now_ms();
    ASSERT_EQ(prc_sub_move(s, "127.0.0.1", fakesrv_port(srv2)), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 5.0, t, sizeof(t)),
              PRC_SUB_RECONNECTED);
    ASSERT_LT(test_now_ms() - t0, 1000 + SLACK_MS);
    ASSERT_STR_CONTAINS(t, "Connection refused");
    return TEST_OK;
}

/* An error answering a resubscription command stands for its missing
 * confirmations: it is delivered, and the gap is still reported. */
TEST_IMPL(sub_resubscribe_refused)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv, *srv2;
    prc_opts_t o;
    prc_sub_t *s;
    char t[256];

    so.reply = SUBSCRIBED_A;
    START_SUB_FAKE(srv, &so);
    sub_opts(&o, srv);
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    so.port = fakesrv_port(srv);
    fakesrv_stop(srv);
    so.reply = "-NOPERM no access\r\n";
    START_SUB_FAKE(srv2, &so);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 2.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    ASSERT_STR_EQ(t, "error NOPERM no access");
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)),
              PRC_SUB_RECONNECTED);
    return TEST_OK;
}

/* An idle subscriber's health PINGs, each answered `ping_reply`: none is
 * seen by the reader, and the connection is kept. */
static int
idle_health_checks(const char *ping_reply, fakesrv_t **srv_out)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_sub_t *s;
    prc_sub_stats_t st;
    char t[256], why[PRC_ERRSTR_LEN];

    so.reply = SUBSCRIBED_A;
    so.ping_reply = ping_reply;
    START_SUB_FAKE(srv, &so);
    sub_opts(&o, srv);
    o.health_check_interval = 0.05;
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 0.3, t, sizeof(t)), PRC_SUB_NONE);
    prc_sub_stats(s, &st);
    ASSERT_GE(st.health_checks, 2);
    ASSERT_LE(st.health_checks, 8);
    ASSERT_EQ(st.disconnects, 0);
    ASSERT_EQ(prc_sub_take_notice(s, why, sizeof(why)), 0);
    *srv_out = srv;
    return TEST_OK;
}

TEST_IMPL(sub_idle_health_checks)
{
    fakesrv_t *srv;
    char line[128];

    /* Idle: PINGs go out, their pongs are dropped. */
    CHECK(idle_health_checks(HEALTH_PONG, &srv));
    ASSERT_EQ(fakesrv_log(srv, 1, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "PING pyredisclient-health-check");
    return TEST_OK;
}

/* A user whose ACL has no PING: the refusal answers the health PING (the
 * connection is alive), and is dropped like a pong; a caller's own PING
 * refused while none is owed is the caller's. */
TEST_IMPL(sub_health_ping_refused)
{
    static const char refused[] =
        "-NOPERM this user has no permissions to run the 'ping' command\r\n";
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_sub_t *s;
    char t[256];

    CHECK(idle_health_checks(refused, &srv));

    so.reply = SUBSCRIBED_A;
    so.ping_reply = refused;
    START_SUB_FAKE(srv, &so);
    sub_opts(&o, srv);
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    ASSERT_EQ(prc_sub_ping(s, NULL, 0), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    ASSERT_STR_CONTAINS(t, "'ping' command");
    return TEST_OK;
}

TEST_IMPL(sub_unanswered_ping_is_lost)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_sub_t *s;
    char t[256];
    double t0, ms;

    so.reply = SUBSCRIBED_A;
    so.ping_reply = ""; /* PINGs are never answered */
    START_SUB_FAKE(srv, &so);
    sub_opts(&o, srv);
    o.health_check_interval = 0.05;
    o.socket_timeout = 0.1;
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    t0 = test_now_ms();
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 2.0, t, sizeof(t)),
              PRC_SUB_RECONNECTED);
    ms = test_now_ms() - t0;
    ASSERT_STR_CONTAINS(t, "no reply from the server within 0.1 s");
    /* Idle 50 ms, unanswered 100 ms, then a reconnect. */
    ASSERT_GE(ms, 140);
    ASSERT_LT(ms, 150 + SLACK_MS);
    ASSERT_EQ(fakesrv_accepted(srv), 2);
    return TEST_OK;
}

/* A server that accepts and never answers: subscribing times out too. */
TEST_IMPL(sub_hung_server)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_sub_t *s;
    char t[256], why[PRC_ERRSTR_LEN];

    /* Connected (the setup answered), then nothing within socket_timeout:
     * a server that hangs from the start times the connect out instead
     * (sub_connect_timeout). */
    so.delay_ms = 1000;
    START_SUB_FAKE(srv, &so);
    sub_opts(&o, srv);
    o.socket_timeout = 0.05;
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 0.3, t, sizeof(t)), PRC_SUB_NONE);
    ASSERT_EQ(prc_sub_take_notice(s, why, sizeof(why)), 1);
    ASSERT_STR_CONTAINS(why, "no reply from the server within 0.05 s");
    ASSERT_GE(fakesrv_accepted(srv), 2);
    return TEST_OK;
}

/* Every connect ends with an UNSUBSCRIBE of nothing whose answer it waits
 * for, after the setup commands: SUBSCRIBE then goes to a server that has
 * taken the connection in, so a PUBLISH sent after subscribing finds it. */
TEST_IMPL(sub_connect_round_trip_first)
{
    static const char *const refusals[][2] = {
        {"-ERR unknown command 'UNSUBSCRIBE'\r\n", "unknown command"},
        {"+OK\r\n", "unexpected reply to UNSUBSCRIBE"},
        {"*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:1\r\n",
         "unexpected reply to UNSUBSCRIBE"},
        {"*2\r\n$11\r\nunsubscribe\r\n:0\r\n",
         "unexpected reply to UNSUBSCRIBE"},
        {"*3\r\n$5\r\nhello\r\n$-1\r\n:0\r\n",
         "unexpected reply to UNSUBSCRIBE"},
    };
    /* Read by element: another spelling of the nil, or of the name, is
     * the same answer. */
    static const char *const spellings[] = {
        "*3\r\n$11\r\nUNSUBSCRIBE\r\n*-1\r\n:0\r\n",
        "*3\r\n$11\r\nunsubscribe\r\n$0\r\n\r\n:0\r\n",
    };
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_sub_t *s;
    char line[128], t[256], why[PRC_ERRSTR_LEN];
    size_t i;

    so.reply = SUBSCRIBED_A;
    START_SUB_FAKE(srv, &so);
    sub_opts(&o, srv);
    o.client_name = "n";
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    ASSERT_EQ(flush(s), PRC_SUB_NONE);
    ASSERT_EQ(fakesrv_sub_setups(srv), 1); /* answered before flush ended */
    ASSERT_EQ(fakesrv_log(srv, 0, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "CLIENT SETNAME n");
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    ASSERT_STR_EQ(t, "subscribe a 1");
    ASSERT_EQ(fakesrv_log(srv, 1, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "SUBSCRIBE a");

    /* The round trip refused (but for NOPERM, below), or answered
     * otherwise, fails the connect: nothing is subscribed on it. */
    for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        fakesrv_opts_t bo = {0};
        bo.sub_setup_reply = refusals[i][0];
        START_SUB_FAKE(srv, &bo);
        sub_opts(&o, srv);
        ASSERT_NOT_NULL(s = new_sub(&o));
        ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
        ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 0.1, t, sizeof(t)), PRC_SUB_NONE);
        ASSERT_EQ(prc_sub_take_notice(s, why, sizeof(why)), 1);
        ASSERT_STR_CONTAINS(why, refusals[i][1]);
        ASSERT_GE(fakesrv_sub_setups(srv), 1);
        ASSERT_EQ(fakesrv_commands(srv), 0);
    }
    for (i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
        fakesrv_opts_t ao = {0};
        ao.reply = SUBSCRIBED_A;
        ao.sub_setup_reply = spellings[i];
        START_SUB_FAKE(srv, &ao);
        sub_opts(&o, srv);
        ASSERT_NOT_NULL(s = new_sub(&o));
        ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
        ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)),
                  PRC_SUB_MESSAGE);
        ASSERT_STR_EQ(t, "subscribe a 1");
    }

    /* A user whose ACL has no pub/sub: the round trip's NOPERM is an
     * answer all the same, and the SUBSCRIBE's own refusal goes to the
     * reader (not a connect retried forever, with nothing said). */
    {
        fakesrv_opts_t no = {0};
        prc_sub_stats_t st;

        no.sub_setup_reply =
            "-NOPERM no permissions to run the 'unsubscribe' command\r\n";
        no.reply = "-NOPERM no permissions to run the 'subscribe' command\r\n";
        START_SUB_FAKE(srv, &no);
        sub_opts(&o, srv);
        ASSERT_NOT_NULL(s = new_sub(&o));
        ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
        ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)),
                  PRC_SUB_MESSAGE);
        ASSERT_STR_CONTAINS(t, "'subscribe' command");
        ASSERT_EQ(fakesrv_log(srv, 0, line, sizeof(line)), 0);
        ASSERT_STR_EQ(line, "SUBSCRIBE a");
        ASSERT_EQ(prc_sub_take_notice(s, why, sizeof(why)), 0);
        prc_sub_stats(s, &st);
        ASSERT_EQ(st.disconnects, 0);
    }
    return TEST_OK;
}

/* The connect includes its setup commands: a server that never answers
 * AUTH times the connect out (socket_connect_timeout). */
TEST_IMPL(sub_connect_timeout)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_sub_t *s;
    char t[256], why[PRC_ERRSTR_LEN];

    so.mode = FS_HANG;
    START_SUB_FAKE(srv, &so);
    sub_opts(&o, srv);
    o.password = "pw";
    o.connect_timeout = 0.05;
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 0.2, t, sizeof(t)), PRC_SUB_NONE);
    ASSERT_EQ(prc_sub_take_notice(s, why, sizeof(why)), 1);
    ASSERT_STR_CONTAINS(why, "connect timed out after 0.05 s");
    ASSERT_GE(fakesrv_accepted(srv), 2);
    return TEST_OK;
}

/* ---- threads --------------------------------------------------------------
 */

typedef struct {
    prc_sub_t *s;
    double timeout;
    int mode;
    int rc;
    double ms;
    char text[256];
} reader_t;

static void *
reader_main(void *arg)
{
    reader_t *r = arg;
    double t0 = test_now_ms();

    r->rc = next_text(r->s, r->mode, r->timeout, r->text, sizeof(r->text));
    r->ms = test_now_ms() - t0;
    return NULL;
}

/* Wait (at most about 5 s) until a thread started to read holds the
 * reader's turn and waits in poll: on a loaded machine a new thread may
 * run late.  1 once it does. */
static int
reader_waits(prc_sub_t *s)
{
    int i, waiting = 0;

    for (i = 0; i < 500 && !waiting; i++) {
        pthread_mutex_lock(&s->mu);
        waiting = s->reader && s->waiting;
        pthread_mutex_unlock(&s->mu);
        if (!waiting) {
            test_sleep_ms(10);
        }
    }
    return waiting;
}

TEST_IMPL(sub_close_wakes_reader)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_sub_t *s;
    pthread_t th;
    reader_t r = {0};
    char t[256];
    int pass;

    so.reply = SUBSCRIBED_A;
    START_SUB_FAKE(srv, &so);
    sub_opts(&o, srv);
    /* Pass 0: waiting with nothing subscribed; pass 1: on a connection. */
    for (pass = 0; pass < 2; pass++) {
        ASSERT_NOT_NULL(s = new_sub(&o));
        if (pass == 1) {
            ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
            ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)),
                      PRC_SUB_MESSAGE);
        }
        r.s = s;
        r.timeout = 5.0;
        r.mode = PRC_SUB_WAIT;
        ASSERT_EQ(pthread_create(&th, NULL, reader_main, &r), 0);
        ASSERT(reader_waits(s));
        prc_sub_close(s);
        pthread_join(th, NULL);
        ASSERT_EQ(r.rc, PRC_SUB_NONE);
        ASSERT_LT(r.ms, 50 + SLACK_MS);
        /* Closed: every call says so; close again is harmless. */
        prc_sub_close(s);
        ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 0.1, t, sizeof(t)), PRC_ECLOSED);
        ASSERT_STR_CONTAINS(t, "closed");
        ASSERT_CODE(subscribe1(s, PRC_SUB_CHANNELS, "b"), PRC_ECLOSED);
        ASSERT_CODE(prc_sub_unsubscribe(s, PRC_SUB_CHANNELS, 0, NULL, NULL),
                    PRC_ECLOSED);
        ASSERT_CODE(prc_sub_ping(s, NULL, 0), PRC_ECLOSED);
        ASSERT_CODE(flush(s), PRC_ECLOSED);
        ASSERT_EQ(prc_sub_subscribed(s), 0);
    }
    return TEST_OK;
}

TEST_IMPL(sub_request_wakes_reader)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_sub_t *s;
    pthread_t th;
    reader_t r = {0};
    prc_sub_io_t io;
    char t[256];

    so.reply = SUBSCRIBED_A;
    START_SUB_FAKE(srv, &so);
    sub_opts(&o, srv);
    ASSERT_NOT_NULL(s = new_sub(&o));
    r.s = s;
    r.timeout = 5.0;
    r.mode = PRC_SUB_WAIT;
    ASSERT_EQ(pthread_create(&th, NULL, reader_main, &r), 0);
    ASSERT(reader_waits(s));
    /* The reader holds the turn: another reader, or a flush, is told so. */
    ASSERT_EQ(prc_sub_read(s, PRC_SUB_WAIT, prc_deadline_after(0.1), &io),
              PRC_SUB_BUSY);
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    ASSERT_EQ(flush(s), PRC_SUB_BUSY); /* the reader connects and sends */
    pthread_join(th, NULL);
    ASSERT_EQ(r.rc, PRC_SUB_MESSAGE);
    ASSERT_STR_EQ(r.text, "subscribe a 1");
    ASSERT_LT(r.ms, 50 + SLACK_MS);

    /* Requests while the reader waits on the connection go out at once. */
    r.timeout = 5.0;
    ASSERT_EQ(pthread_create(&th, NULL, reader_main, &r), 0);
    ASSERT(reader_waits(s));
    ASSERT_EQ(prc_sub_ping(s, "p", 1), 0);
    pthread_join(th, NULL);
    ASSERT_EQ(r.rc, PRC_SUB_MESSAGE);
    ASSERT_STR_EQ(r.text, "pong ");
    ASSERT_EQ(next_text(s, PRC_SUB_BUFFERED, 0, t, sizeof(t)), PRC_SUB_NONE);
    return TEST_OK;
}

/* ---- fork -----------------------------------------------------------------
 */

TEST_IMPL(sub_fork)
{
#if defined(__SANITIZE_THREAD__)
    SKIP("fork with running threads is not supported under TSan");
#else
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_sub_t *s;
    prc_sub_io_t io;
    char t[256], why[64];
    pid_t pid;
    int status = -1, i;

    so.reply = SUBSCRIBED_A;
    so.ping_reply = PONG_EMPTY;
    START_SUB_FAKE(srv, &so);
    sub_opts(&o, srv);
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    fflush(NULL);
    pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        /* Every call fails, and nothing is sent on the parent's socket. */
        if (prc_sub_read(s, PRC_SUB_WAIT, prc_deadline_after(0.1), &io) !=
                PRC_ECLOSED ||
            strstr(io.errstr, "fork") == NULL) {
            pt_child_exit(10);
        }
        if (subscribe1(s, PRC_SUB_CHANNELS, "b") != PRC_ECLOSED ||
            prc_sub_unsubscribe(s, 0, 0, NULL, NULL) != PRC_ECLOSED ||
            prc_sub_ping(s, NULL, 0) != PRC_ECLOSED ||
            prc_sub_flush(s, PRC_SUB_WAIT, 0, &io) != PRC_ECLOSED ||
            prc_sub_subscribed(s) != 0 || prc_sub_count(s, 0) != 0 ||
            prc_sub_take_notice(s, why, sizeof(why)) != 0) {
            pt_child_exit(11);
        }
        prc_sub_release(s);
        prc_sub_close(s);
        prc_sub_free(s);
        pt_child_exit(0);
    }
    for (i = 0; i < 500; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            break;
        }
        test_sleep_ms(10);
    }
    if (i == 500) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    ASSERT(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
    /* The parent's subscription is untouched. */
    ASSERT_EQ(prc_sub_ping(s, NULL, 0), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    ASSERT_STR_EQ(t, "pong ");
    ASSERT_EQ(fakesrv_accepted(srv), 1);
    ASSERT_EQ(fakesrv_commands(srv), 2);
    return TEST_OK;
#endif
}

/* ---- sets, options, allocation ------------------------------------------ */

TEST_IMPL(sub_sets)
{
    prc_opts_t o;
    prc_sub_t *s;
    static char names[25000][8];
    const char *argv[64];
    size_t lens[64], i, j;

    sub_opts(&o, NULL);
    ASSERT_NOT_NULL(s = new_sub(&o));
    /* Adding and removing in a growing table, duplicates once. */
    for (i = 0; i < 25000; i += 50) {
        for (j = 0; j < 50; j++) {
            snprintf(names[i + j], sizeof(names[0]), "n%zu", i + j);
            argv[j] = names[i + j];
            lens[j] = strlen(names[i + j]);
        }
        ASSERT_EQ(prc_sub_subscribe(s, PRC_SUB_PATTERNS, 50, argv, lens), 0);
    }
    ASSERT_EQ(prc_sub_subscribe(s, PRC_SUB_PATTERNS, 50, argv, lens), 0);
    ASSERT_EQ(prc_sub_count(s, PRC_SUB_PATTERNS), 25000);
    ASSERT_EQ(prc_sub_count(s, PRC_SUB_CHANNELS), 0);
    ASSERT_EQ(prc_sub_count(s, 7), 0);
    for (i = 0; i < 25000; i += 2) {
        argv[0] = names[i];
        lens[0] = strlen(names[i]);
        ASSERT_EQ(prc_sub_unsubscribe(s, PRC_SUB_PATTERNS, 1, argv, lens), 0);
    }
    ASSERT_EQ(prc_sub_count(s, PRC_SUB_PATTERNS), 12500);
    /* Each remaining name is still found (the probe runs stayed intact),
     * and one not in the set changes nothing. */
    argv[0] = "absent";
    lens[0] = 6;
    ASSERT_EQ(prc_sub_unsubscribe(s, PRC_SUB_PATTERNS, 1, argv, lens), 0);
    for (i = 1; i < 25000; i += 2) {
        argv[0] = names[i];
        lens[0] = strlen(names[i]);
        ASSERT_EQ(prc_sub_subscribe(s, PRC_SUB_PATTERNS, 1, argv, lens), 0);
    }
    ASSERT_EQ(prc_sub_count(s, PRC_SUB_PATTERNS), 12500);
    /* An empty name is a name too. */
    argv[0] = "";
    lens[0] = 0;
    ASSERT_EQ(prc_sub_subscribe(s, PRC_SUB_CHANNELS, 1, argv, lens), 0);
    ASSERT_EQ(prc_sub_count(s, PRC_SUB_CHANNELS), 1);
    ASSERT_EQ(prc_sub_unsubscribe(s, PRC_SUB_CHANNELS, 1, argv, lens), 0);
    ASSERT_EQ(prc_sub_count(s, PRC_SUB_CHANNELS), 0);
    /* Bad requests. */
    ASSERT_CODE(prc_sub_subscribe(s, 3, 1, argv, lens), PRC_EINVAL);
    ASSERT_CODE(prc_sub_subscribe(s, 0, 0, argv, lens), PRC_EINVAL);
    ASSERT_CODE(prc_sub_unsubscribe(s, -1, 0, argv, lens), PRC_EINVAL);
    return TEST_OK;
}

/* A PING with nothing subscribed connects, and its pong comes; that
 * connection lost with nothing subscribed is no outage: no reconnect, no
 * notice. */
TEST_IMPL(sub_ping_connects)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_sub_t *s;
    prc_sub_stats_t st;
    char t[256], why[PRC_ERRSTR_LEN];

    START_SUB_FAKE(srv, &so);
    sub_opts(&o, srv);
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(prc_sub_ping(s, "x", 1), 0);
    ASSERT_EQ(flush(s), PRC_SUB_NONE);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    ASSERT_STR_EQ(t, "pong "); /* +PONG, as redis-py reads it */
    ASSERT_EQ(prc_sub_subscribed(s), 0);
    fakesrv_stop(srv);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 0.2, t, sizeof(t)), PRC_SUB_NONE);
    prc_sub_stats(s, &st);
    ASSERT_EQ(st.connects, 1);
    ASSERT_EQ(st.disconnects, 1);
    ASSERT_EQ(prc_sub_take_notice(s, why, sizeof(why)), 0);
    return TEST_OK;
}

/* Subscriptions are sent in the order they were made, whatever the hash
 * table's order. */
TEST_IMPL(sub_order)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_sub_t *s;
    static const char *const names[] = {"n9", "n8", "n7", "n6", "n5",
                                        "n4", "n3", "n2", "n1", "n0"};
    size_t lens[10];
    char line[128];
    int i;

    so.reply = SUBSCRIBED_A;
    START_SUB_FAKE(srv, &so);
    sub_opts(&o, srv);
    ASSERT_NOT_NULL(s = new_sub(&o));
    for (i = 0; i < 10; i++) {
        lens[i] = 2;
    }
    ASSERT_EQ(prc_sub_subscribe(s, PRC_SUB_CHANNELS, 5, names, lens), 0);
    ASSERT_EQ(prc_sub_subscribe(s, PRC_SUB_CHANNELS, 5, names + 5, lens), 0);
    ASSERT_EQ(flush(s), PRC_SUB_NONE);
    for (i = 0; i < 100 && fakesrv_commands(srv) < 1; i++) {
        test_sleep_ms(10);
    }
    ASSERT_EQ(fakesrv_log(srv, 0, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "SUBSCRIBE n9 n8 n7 n6 n5 n4 n3 n2 n1 n0");
    return TEST_OK;
}

/* Shard channels go one SSUBSCRIBE per hash slot (a cluster refuses
 * CROSSSLOT), in slot order, each slot's names in the order made. */
TEST_IMPL(sub_shards_by_slot)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_sub_t *s;
    /* slot("b") 3300 < slot("a") == slot("{a}x") 15495 */
    static const char *const names[] = {"a", "b", "{a}x"};
    static const size_t lens[] = {1, 1, 4};
    char line[128];
    int i;

    so.reply = SUBSCRIBED_A;
    START_SUB_FAKE(srv, &so);
    sub_opts(&o, srv);
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(prc_sub_subscribe(s, PRC_SUB_SHARDS, 3, names, lens), 0);
    ASSERT_EQ(flush(s), PRC_SUB_NONE);
    for (i = 0; i < 100 && fakesrv_commands(srv) < 2; i++) {
        test_sleep_ms(10);
    }
    ASSERT_EQ(fakesrv_log(srv, 0, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "SSUBSCRIBE b");
    ASSERT_EQ(fakesrv_log(srv, 1, line, sizeof(line)), 0);
    ASSERT_STR_EQ(line, "SSUBSCRIBE a {a}x");
    return TEST_OK;
}

/* The i-th command the fake server got (waiting up to a second for it)
 * into line, or "" if none came. */
static void
logged(fakesrv_t *srv, int i, char *line, size_t len)
{
    int k;

    line[0] = '\0';
    for (k = 0; k < 100 && fakesrv_commands(srv) <= i; k++) {
        test_sleep_ms(10);
    }
    (void)fakesrv_log(srv, i, line, len);
}

/* Commands of more names than fit the writer's arguments on the stack:
 * a request on a ready connection, and the sets sent once connected. */
TEST_IMPL(sub_many_names)
{
    fakesrv_opts_t so = {0};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_sub_t *s, *s2;
    static char names[40][16];
    const char *argv[40];
    size_t lens[40];
    char line[512], want[512], t[256];
    size_t n = 0;
    int i;

    so.reply = SUBSCRIBED_A;
    START_SUB_FAKE(srv, &so);
    sub_opts(&o, srv);
    put(want, sizeof(want), &n, "SUBSCRIBE");
    for (i = 0; i < 40; i++) {
        snprintf(names[i], sizeof(names[0]), "c%d", i);
        argv[i] = names[i];
        lens[i] = strlen(names[i]);
        put(want, sizeof(want), &n, " %s", names[i]);
    }
    ASSERT_NOT_NULL(s = new_sub(&o));
    ASSERT_EQ(subscribe1(s, PRC_SUB_CHANNELS, "a"), 0);
    ASSERT_EQ(next_text(s, PRC_SUB_WAIT, 1.0, t, sizeof(t)), PRC_SUB_MESSAGE);
    ASSERT_EQ(prc_sub_subscribe(s, PRC_SUB_CHANNELS, 40, argv, lens), 0);
    ASSERT_EQ(flush(s), PRC_SUB_NONE);
    logged(srv, 1, line, sizeof(line));
    ASSERT_STR_EQ(line, want);
    /* Subscribed before connecting. */
    ASSERT_NOT_NULL(s2 = new_sub(&o));
    ASSERT_EQ(prc_sub_subscribe(s2, PRC_SUB_CHANNELS, 40, argv, lens), 0);
    ASSERT_EQ(flush(s2), PRC_SUB_NONE);
    logged(srv, 2, line, sizeof(line));
    ASSERT_STR_EQ(line, want);
    if (!failalloc_available()) {
        return TEST_OK;
    }
    /* The names are in the set already: the first allocations are the
     * arguments' arrays.  Without them nothing is sent. */
    for (i = 1; i <= 2; i++) {
        failalloc_arm(i);
        ASSERT_CODE(prc_sub_subscribe(s, PRC_SUB_CHANNELS, 40, argv, lens),
                    PRC_ENOMEM);
        failalloc_arm(0);
    }
    ASSERT_EQ(prc_sub_ping(s, "x", 1), 0);
    ASSERT_EQ(flush(s), PRC_SUB_NONE);
    logged(srv, 3, line, sizeof(line));
    ASSERT_STR_EQ(line, "PING x");
    return TEST_OK;
}

TEST_IMPL(sub_bad_options)
{
    prc_opts_t o;
    char eb[128];
    int err;

    prc_opts_init(&o);
    o.port = 70000;
    ASSERT_NULL(prc_sub_new(&o, &err, eb, sizeof(eb)));
    ASSERT_CODE(err, PRC_EINVAL);
    ASSERT_STR_CONTAINS(eb, "port");
    prc_sub_free(NULL);
    return TEST_OK;
}

TEST_IMPL(sub_alloc)
{
    prc_opts_t o;
    prc_sub_t *s;
    const char *name = "chan";
    char eb[128];
    long n;
    int err, rc, fired, failures = 0;

    if (!failalloc_available()) {
        SKIP("built without -Wl,--wrap=malloc (see tests/c/Makefile)");
    }
    sub_opts(&o, NULL);
    o.client_name = "name";
    for (n = 1; n < 100; n++) {
        failalloc_arm(n);
        s = prc_sub_new(&o, &err, eb, sizeof(eb));
        fired = failalloc_fired();
        failalloc_arm(0);
        if (!fired) {
            ASSERT_NOT_NULL(s);
            prc_sub_free(s);
            break;
        }
        prc_sub_free(s);
        if (s == NULL) {
            ASSERT_CODE(err, PRC_ENOMEM);
            failures++;
        }
    }
    ASSERT_GE(failures, 3);
    /* Adding a name: the table, then the copy. */
    ASSERT_NOT_NULL(s = new_sub(&o));
    for (n = 1; n < 10; n++) {
        failalloc_arm(n);
        rc = subscribe1(s, PRC_SUB_CHANNELS, name);
        fired = failalloc_fired();
        failalloc_arm(0);
        if (!fired) {
            ASSERT_EQ(rc, 0);
            break;
        }
        ASSERT_CODE(rc, PRC_ENOMEM);
    }
    ASSERT_EQ(prc_sub_count(s, PRC_SUB_CHANNELS), 1);
    /* A move: the copy of the host; nothing is asked for when it fails. */
    failalloc_arm(1);
    rc = prc_sub_move(s, "127.0.0.1", 6379);
    failalloc_arm(0);
    ASSERT_CODE(rc, PRC_ENOMEM);
    ASSERT_NULL(s->move_host);
    return TEST_OK;
}
