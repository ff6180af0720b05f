/* test_breaker.c - the lock-free circuit breaker, with an injected clock. */
#include <pthread.h>
#include <stdatomic.h>

#include "task.h"

/* The word layout documented in prc.h. */
#define W_STATE(w) ((int)((w)&3))
#define W_PROBES(w) ((int)(((w) >> 2) & 0xFF))
#define W_SUCC(w) ((int)(((w) >> 10) & 0xFF))
#define W_LEVEL(w) ((int)(((w) >> 18) & 0x1F))
#define W_EPOCH(w) ((w) >> 23)

#define SEC INT64_C(1000000000)

static int64_t now_ns;

static int64_t
fake_clock(void)
{
    return now_ns;
}

static void
advance(double seconds)
{
    now_ns += (int64_t)(seconds * 1e9);
}

typedef struct {
    int rc;
    uint64_t epoch;
    int probe;
    int trans;
    int64_t started;
} adm_t;

static adm_t
allow(prc_breaker_t *b, int no_probe)
{
    adm_t a;

    a.started = prc_now();
    a.rc = prc_breaker_allow(b, no_probe, &a.epoch, &a.probe, &a.trans);
    return a;
}

static int
ok_(prc_breaker_t *b, adm_t a)
{
    return prc_breaker_record(b, a.epoch, a.probe, a.started, PRC_OK);
}

static int
fail_(prc_breaker_t *b, adm_t a)
{
    return prc_breaker_record(b, a.epoch, a.probe, a.started, PRC_ETIMEDOUT);
}

static int
neutral_(prc_breaker_t *b, adm_t a)
{
    return prc_breaker_record(b, a.epoch, a.probe, a.started,
                              PRC_EPOOLTIMEOUT);
}

/* One call admitted now that fails 1 ms later: a failure event of its
 * own, as a single caller sees a refused connect. */
static int
fail_alone(prc_breaker_t *b)
{
    adm_t a = allow(b, 0);
    int t;

    advance(0.001);
    t = fail_(b, a);
    advance(0.001);
    return t;
}

static uint64_t
word(prc_breaker_t *b)
{
    return atomic_load(&b->word);
}

static void
start_clock(void)
{
    now_ns = INT64_C(1000000000000);
    prc_clock_set(fake_clock);
}

/* The options the tests vary, on top of the defaults. */
typedef struct {
    int failure_threshold;
    double min_open, recovery;
    int success_threshold;
    double rate; /* 0: off */
} bopts_t;

static void
init(prc_breaker_t *b, bopts_t bo)
{
    prc_opts_t o;

    prc_opts_init(&o);
    o.failure_threshold = bo.failure_threshold;
    o.min_recovery_timeout = bo.min_open;
    o.recovery_timeout = bo.recovery;
    o.success_threshold = bo.success_threshold;
    o.failure_rate = bo.rate;
    o.socket_timeout = 1.0;
    o.connect_timeout = 1.0; /* a probe is lost after 2 s */
    prc_breaker_init(b, &o);
}

/* A run of 3 events opens (rate off), open 10 s fixed; success_threshold
 * as given.  Then opened with three failure events. */
static int
open_breaker(prc_breaker_t *b, int success_threshold)
{
    int i;

    init(b, (bopts_t){3, 10.0, 10.0, success_threshold, 0});
    for (i = 0; i < 3; i++) {
        ASSERT_EQ(fail_alone(b), i < 2 ? -1 : PRC_BREAKER_OPEN);
    }
    ASSERT_EQ(prc_breaker_state(b), PRC_BREAKER_OPEN);
    return TEST_OK;
}

TEST_IMPL(breaker_run_of_events_opens)
{
    prc_breaker_t b;
    prc_breaker_info_t info;
    adm_t a;

    start_clock();
    init(&b, (bopts_t){3, 1.0, 10.0, 2, 0});
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_CLOSED);
    ASSERT_UINT64_EQ(W_EPOCH(word(&b)), 1);
    a = allow(&b, 0);
    ASSERT_EQ(a.rc, 0);
    ASSERT_EQ(a.probe, 0);
    ASSERT_EQ(a.trans, -1);
    ASSERT_UINT64_EQ(a.epoch, 1);
    ASSERT_EQ(fail_alone(&b), -1);
    ASSERT_EQ(prc_breaker_failures(&b), 1);
    ASSERT_EQ(fail_alone(&b), -1);
    ASSERT_EQ(prc_breaker_failures(&b), 2);
    prc_breaker_info(&b, &info);
    ASSERT_EQ(info.state, PRC_BREAKER_CLOSED);
    ASSERT_STR_EQ(info.reason, "");
    ASSERT_EQ(info.open_ns, SEC); /* the next open time */
    ASSERT_EQ(info.open_left_ns, 0);
    ASSERT_EQ(info.why, PRC_BREAKER_WHY_NONE);
    ASSERT_CODE(info.last_error, PRC_ETIMEDOUT);
    ASSERT_EQ(fail_alone(&b), PRC_BREAKER_OPEN);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_OPEN);
    ASSERT_EQ(prc_breaker_failures(&b), 0);
    ASSERT_UINT64_EQ(W_EPOCH(word(&b)), 2);
    ASSERT_EQ(W_LEVEL(word(&b)), 0);
    ASSERT_EQ(atomic_load(&b.opens), 1);
    ASSERT_EQ(atomic_load(&b.transitions), 1);
    prc_breaker_info(&b, &info);
    ASSERT_EQ(info.state, PRC_BREAKER_OPEN);
    ASSERT_EQ(info.why, PRC_BREAKER_WHY_RUN);
    ASSERT_STR_EQ(info.reason, "3 consecutive failure events");
    ASSERT_EQ(info.open_ns, SEC);
    ASSERT_EQ(info.open_left_ns, SEC - 1000000); /* stamped 1 ms ago */
    return TEST_OK;
}

TEST_IMPL(breaker_in_flight_together_count_once)
{
    prc_breaker_t b;
    adm_t calls[8], late, early;
    int i;

    start_clock();
    init(&b, (bopts_t){2, 1.0, 10.0, 1, 0});
    /* Eight threads wait on one paused server and time out together. */
    for (i = 0; i < 8; i++) {
        calls[i] = allow(&b, 0);
        advance(0.0001);
    }
    early = calls[0];
    advance(1.0);
    for (i = 1; i < 8; i++) {
        ASSERT_EQ(fail_(&b, calls[i]), -1);
        advance(0.0001);
    }
    ASSERT_EQ(prc_breaker_failures(&b), 1);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_CLOSED);
    /* A call admitted after that event fails: a second event, which
     * reaches the threshold of 2. */
    late = allow(&b, 0);
    advance(0.5);
    /* The first call, admitted long before the event, fails now: it was
     * in flight together with the others; it does not count. */
    ASSERT_EQ(fail_(&b, early), -1);
    ASSERT_EQ(prc_breaker_failures(&b), 1);
    ASSERT_EQ(fail_(&b, late), PRC_BREAKER_OPEN);
    return TEST_OK;
}

TEST_IMPL(breaker_success_resets)
{
    prc_breaker_t b;

    start_clock();
    init(&b, (bopts_t){3, 1.0, 10.0, 2, 0});
    ASSERT_EQ(fail_alone(&b), -1);
    ASSERT_EQ(fail_alone(&b), -1);
    ASSERT_EQ(ok_(&b, allow(&b, 0)), -1);
    ASSERT_EQ(prc_breaker_failures(&b), 0);
    /* Events must be consecutive: two more do not open it. */
    ASSERT_EQ(fail_alone(&b), -1);
    ASSERT_EQ(fail_alone(&b), -1);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_CLOSED);
    /* A neutral outcome neither counts nor resets. */
    ASSERT_EQ(neutral_(&b, allow(&b, 0)), -1);
    ASSERT_EQ(prc_breaker_failures(&b), 2);
    ASSERT_EQ(fail_alone(&b), PRC_BREAKER_OPEN);
    return TEST_OK;
}

TEST_IMPL(breaker_rate_opens)
{
    prc_breaker_t b;
    prc_breaker_info_t info;
    adm_t a;
    int i;

    start_clock();
    /* Runs never open it here: only the rate (50 %, 10 calls, 10 s). */
    init(&b, (bopts_t){1000, 1.0, 10.0, 1, 0.5});
    ASSERT_EQ(b.minimum_calls, 10);
    ASSERT_EQ(b.window_ns, 10 * SEC);
    for (i = 0; i < 6; i++) {
        ASSERT_EQ(ok_(&b, allow(&b, 0)), -1);
        advance(0.3);
    }
    for (i = 0; i < 4; i++) {
        ASSERT_EQ(fail_alone(&b), -1);
    }
    prc_breaker_info(&b, &info);
    ASSERT_EQ(info.window_calls, 10);
    ASSERT_EQ(info.window_failures, 4);
    ASSERT_EQ(fail_alone(&b), -1); /* 5 of 11 */
    /* Failures in flight together count in the rate one by one. */
    a = allow(&b, 0);
    ASSERT_EQ(fail_alone(&b), PRC_BREAKER_OPEN); /* 6 of 12 */
    ASSERT_EQ(fail_(&b, a), -1);                 /* the old epoch's */
    prc_breaker_info(&b, &info);
    ASSERT_EQ(info.why, PRC_BREAKER_WHY_RATE);
    ASSERT_STR_EQ(info.reason,
                  "failure rate 0.50 over 10 s (6 of 12 calls failed)");
    return TEST_OK;
}

TEST_IMPL(breaker_rate_needs_minimum_calls)
{
    prc_breaker_t b;
    adm_t calls[9];
    int i;

    start_clock();
    init(&b, (bopts_t){1000, 1.0, 10.0, 1, 0.5});
    for (i = 0; i < 9; i++) {
        calls[i] = allow(&b, 0);
    }
    advance(1);
    for (i = 0; i < 9; i++) {
        ASSERT_EQ(fail_(&b, calls[i]), -1); /* 100 % of 9 calls */
    }
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_CLOSED);
    ASSERT_EQ(prc_breaker_failures(&b), 1); /* one event */
    ASSERT_EQ(fail_alone(&b), PRC_BREAKER_OPEN);
    return TEST_OK;
}

TEST_IMPL(breaker_rate_window_slides)
{
    prc_breaker_t b;
    prc_breaker_info_t info;
    int i;

    start_clock();
    init(&b, (bopts_t){1000, 1.0, 10.0, 1, 0.5});
    for (i = 0; i < 8; i++) {
        ASSERT_EQ(fail_alone(&b), -1);
    }
    /* Ten seconds later those failures have left the window. */
    advance(10.5);
    prc_breaker_info(&b, &info);
    ASSERT_EQ(info.window_calls, 0);
    for (i = 0; i < 8; i++) {
        ASSERT_EQ(fail_alone(&b), -1);
    }
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_CLOSED);
    prc_breaker_info(&b, &info);
    ASSERT_EQ(info.window_calls, 8);
    /* Within the window they add up. */
    advance(5);
    ASSERT_EQ(fail_alone(&b), -1);
    ASSERT_EQ(fail_alone(&b), PRC_BREAKER_OPEN);
    return TEST_OK;
}

TEST_IMPL(breaker_rate_counts_successes_at_admission)
{
    prc_breaker_t b;
    prc_breaker_info_t info;
    adm_t old, now;

    start_clock();
    init(&b, (bopts_t){1000, 1.0, 10.0, 1, 0.5});
    old = allow(&b, 0);
    advance(5);
    now = allow(&b, 0);
    advance(5); /* old's bucket is now the one of the current time */
    ASSERT_EQ(ok_(&b, allow(&b, 0)), -1);
    ASSERT_EQ(ok_(&b, now), -1);
    /* A success counts where its call was admitted: 10 s ago is out of
     * the window, and its bucket, recycled, keeps the later calls. */
    ASSERT_EQ(ok_(&b, old), -1);
    prc_breaker_info(&b, &info);
    ASSERT_EQ(info.window_calls, 2);
    ASSERT_EQ(info.window_failures, 0);
    return TEST_OK;
}

TEST_IMPL(breaker_rate_off)
{
    prc_breaker_t b;
    prc_breaker_info_t info;
    adm_t calls[100];
    int i;

    start_clock();
    init(&b, (bopts_t){5, 1.0, 10.0, 1, 0});
    for (i = 0; i < 100; i++) {
        calls[i] = allow(&b, 0);
    }
    advance(1);
    for (i = 0; i < 100; i++) {
        ASSERT_EQ(fail_(&b, calls[i]), -1);
    }
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_CLOSED);
    prc_breaker_info(&b, &info);
    ASSERT_EQ(info.window_calls, 0); /* not even kept */
    return TEST_OK;
}

TEST_IMPL(breaker_rate_bucket_saturates)
{
    prc_breaker_t b;
    prc_breaker_info_t info;
    adm_t a;
    int i;

    start_clock();
    init(&b, (bopts_t){1000, 1.0, 10.0, 1, 0.5});
    /* 100,000 calls in one bucket, a quarter failed (in flight together
     * with one event, so no run opens it): the 16-bit counts halve and
     * keep the rate. */
    a = allow(&b, 0);
    advance(0.001);
    for (i = 0; i < 100000; i++) {
        if (i % 4 == 0) {
            ASSERT_EQ(fail_(&b, a), -1);
        } else {
            ASSERT_EQ(ok_(&b, a), -1);
        }
    }
    prc_breaker_info(&b, &info);
    ASSERT_LE(info.window_calls, 0xFFFF);
    ASSERT_GE(info.window_calls, 0x7FFF);
    ASSERT_GE(info.window_failures * 100, info.window_calls * 24);
    ASSERT_LE(info.window_failures * 100, info.window_calls * 26);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_CLOSED);
    return TEST_OK;
}

TEST_IMPL(breaker_closing_clears_the_window)
{
    prc_breaker_t b;
    adm_t p;
    int i;

    start_clock();
    init(&b, (bopts_t){1000, 1.0, 10.0, 1, 0.5});
    for (i = 0; i < 10; i++) {
        fail_alone(&b);
    }
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_OPEN);
    advance(1);
    p = allow(&b, 0);
    ASSERT_EQ(p.probe, 1);
    ASSERT_EQ(ok_(&b, p), PRC_BREAKER_CLOSED);
    /* The outage's failures are gone: one more does not re-open it. */
    for (i = 0; i < 9; i++) {
        ASSERT_EQ(fail_alone(&b), -1);
    }
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_CLOSED);
    return TEST_OK;
}

TEST_IMPL(breaker_open_time_doubles)
{
    prc_breaker_t b;
    prc_breaker_info_t info;
    adm_t p;
    static const double expect[] = {1, 2, 4, 5, 5};
    int i;

    start_clock();
    init(&b, (bopts_t){1, 1.0, 5.0, 1, 0});
    ASSERT_EQ(fail_alone(&b), PRC_BREAKER_OPEN);
    advance(-0.001); /* back to the moment it opened */
    for (i = 0; i < 5; i++) {
        int64_t open = (int64_t)(expect[i] * 1e9);
        prc_breaker_info(&b, &info);
        ASSERT_EQ(info.open_ns, open);
        ASSERT_EQ(info.open_left_ns, open);
        advance(expect[i] - 0.001);
        ASSERT_CODE(allow(&b, 0).rc, PRC_ECIRCUIT);
        ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_OPEN);
        advance(0.001);
        ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_HALF_OPEN);
        p = allow(&b, 0);
        ASSERT_EQ(p.rc, 0);
        ASSERT_EQ(p.probe, 1);
        ASSERT_EQ(p.trans, PRC_BREAKER_HALF_OPEN);
        /* The probe fails: open again, twice as long (up to 5 s). */
        ASSERT_EQ(fail_(&b, p), PRC_BREAKER_OPEN);
        prc_breaker_info(&b, &info);
        ASSERT_EQ(info.why, PRC_BREAKER_WHY_PROBE);
        ASSERT_STR_CONTAINS(info.reason, "a half-open probe failed");
    }
    ASSERT_STR_EQ(info.reason,
                  "a half-open probe failed: open 6 times in a row");
    ASSERT_EQ(atomic_load(&b.opens), 6);
    /* One success closes it, and the next open is short again. */
    advance(5);
    p = allow(&b, 0);
    ASSERT_EQ(ok_(&b, p), PRC_BREAKER_CLOSED);
    ASSERT_EQ(W_LEVEL(word(&b)), 0);
    ASSERT_EQ(fail_alone(&b), PRC_BREAKER_OPEN);
    prc_breaker_info(&b, &info);
    ASSERT_EQ(info.open_ns, SEC);
    return TEST_OK;
}

TEST_IMPL(breaker_open_level_saturates)
{
    prc_breaker_t b;
    prc_breaker_info_t info;
    int i;

    start_clock();
    /* 1 ms doubling up to 10000 s: the level field stops at 31. */
    init(&b, (bopts_t){1, 0.001, 10000.0, 1, 0});
    fail_alone(&b);
    for (i = 0; i < 40; i++) {
        adm_t p;
        prc_breaker_info(&b, &info);
        advance((double)info.open_ns / 1e9);
        p = allow(&b, 0);
        ASSERT_EQ(p.probe, 1);
        ASSERT_EQ(fail_(&b, p), PRC_BREAKER_OPEN);
    }
    ASSERT_EQ(W_LEVEL(word(&b)), 31);
    prc_breaker_info(&b, &info);
    ASSERT_EQ(info.open_ns, 10000 * SEC);
    return TEST_OK;
}

TEST_IMPL(breaker_open_refuses_until_recovery)
{
    prc_breaker_t b;
    adm_t a;
    int i;

    start_clock();
    CHECK(open_breaker(&b, 2));
    for (i = 0; i < 5; i++) {
        a = allow(&b, 0);
        ASSERT_CODE(a.rc, PRC_ECIRCUIT);
        ASSERT_EQ(a.trans, -1);
    }
    ASSERT_EQ(atomic_load(&b.refused), 5);
    advance(9.998);
    ASSERT_CODE(allow(&b, 0).rc, PRC_ECIRCUIT);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_OPEN);
    advance(0.001);
    /* Past recovery the state reads HALF_OPEN before anyone asks... */
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_HALF_OPEN);
    ASSERT_EQ(W_STATE(word(&b)), PRC_BREAKER_OPEN);
    /* ...and the first caller moves it there and becomes a probe. */
    a = allow(&b, 0);
    ASSERT_EQ(a.rc, 0);
    ASSERT_EQ(a.probe, 1);
    ASSERT_EQ(a.trans, PRC_BREAKER_HALF_OPEN);
    ASSERT_EQ(W_STATE(word(&b)), PRC_BREAKER_HALF_OPEN);
    ASSERT_UINT64_EQ(a.epoch, 3);
    ASSERT_EQ(atomic_load(&b.transitions), 2);
    ASSERT_EQ(atomic_load(&b.refused), 6);
    return TEST_OK;
}

TEST_IMPL(breaker_half_open_ramp)
{
    prc_breaker_t b;
    adm_t p[8], c;
    int i;

    start_clock();
    CHECK(open_breaker(&b, 3));
    advance(10);
    /* One probe at first. */
    p[0] = allow(&b, 0);
    ASSERT_EQ(p[0].probe, 1);
    ASSERT_CODE(allow(&b, 0).rc, PRC_ECIRCUIT);
    ASSERT_EQ(W_PROBES(word(&b)), 1);
    /* Its success lets two more in (three in all: success_threshold). */
    ASSERT_EQ(ok_(&b, p[0]), -1);
    ASSERT_EQ(W_SUCC(word(&b)), 1);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_HALF_OPEN);
    for (i = 1; i < 4; i++) {
        p[i] = allow(&b, 0);
    }
    ASSERT_EQ(p[1].rc, 0);
    ASSERT_EQ(p[2].rc, 0);
    ASSERT_EQ(p[2].probe, 1);
    ASSERT_CODE(p[3].rc, PRC_ECIRCUIT);
    ASSERT_EQ(ok_(&b, p[1]), -1);
    ASSERT_CODE(allow(&b, 0).rc, PRC_ECIRCUIT); /* a success keeps its slot */
    ASSERT_EQ(ok_(&b, p[2]), PRC_BREAKER_CLOSED);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_CLOSED);
    c = allow(&b, 0);
    ASSERT_EQ(c.rc, 0);
    ASSERT_EQ(c.probe, 0);
    ASSERT_UINT64_EQ(c.epoch, p[0].epoch + 1);
    ASSERT_EQ(prc_breaker_failures(&b), 0);
    return TEST_OK;
}

TEST_IMPL(breaker_half_open_ramp_doubles)
{
    prc_breaker_t b;
    adm_t p[16];
    int i, n = 0, admitted;

    start_clock();
    CHECK(open_breaker(&b, 10));
    advance(10);
    /* In flight: 1, then 2, then 4, then the rest of the 10. */
    p[n++] = allow(&b, 0);
    ASSERT_CODE(allow(&b, 0).rc, PRC_ECIRCUIT);
    ASSERT_EQ(ok_(&b, p[0]), -1);
    for (admitted = 0, i = 0; i < 4; i++) {
        adm_t a = allow(&b, 0);
        if (a.rc == 0) {
            p[n++] = a;
            admitted++;
        }
    }
    ASSERT_EQ(admitted, 2);
    ASSERT_EQ(ok_(&b, p[1]), -1);
    ASSERT_EQ(ok_(&b, p[2]), -1);
    for (admitted = 0, i = 0; i < 8; i++) {
        adm_t a = allow(&b, 0);
        if (a.rc == 0) {
            p[n++] = a;
            admitted++;
        }
    }
    ASSERT_EQ(admitted, 7); /* 8 in flight allowed, 10 in all */
    for (i = 3; i < n - 1; i++) {
        ASSERT_EQ(ok_(&b, p[i]), -1);
    }
    ASSERT_EQ(ok_(&b, p[n - 1]), PRC_BREAKER_CLOSED);
    return TEST_OK;
}

TEST_IMPL(breaker_half_open_failure_reopens)
{
    prc_breaker_t b;
    adm_t p1, p2;

    start_clock();
    CHECK(open_breaker(&b, 3));
    advance(10);
    p1 = allow(&b, 0);
    ASSERT_EQ(ok_(&b, p1), -1);
    p1 = allow(&b, 0);
    p2 = allow(&b, 0);
    ASSERT_EQ(p2.rc, 0);
    ASSERT_EQ(fail_(&b, p1), PRC_BREAKER_OPEN);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_OPEN);
    ASSERT_EQ(atomic_load(&b.opens), 2);
    /* The other probe reports under the old epoch: ignored. */
    ASSERT_EQ(ok_(&b, p2), -1);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_OPEN);
    /* A full open time again (10 s: min and max are equal here). */
    advance(9.9);
    ASSERT_CODE(allow(&b, 0).rc, PRC_ECIRCUIT);
    advance(0.1);
    ASSERT_EQ(allow(&b, 0).rc, 0);
    return TEST_OK;
}

TEST_IMPL(breaker_neutral_frees_probe)
{
    prc_breaker_t b;
    adm_t p1, p2;

    start_clock();
    CHECK(open_breaker(&b, 2));
    advance(10);
    p1 = allow(&b, 0);
    ASSERT_CODE(allow(&b, 0).rc, PRC_ECIRCUIT);
    /* A pool timeout or auth error says nothing about availability:
     * the slot is given back. */
    ASSERT_EQ(neutral_(&b, p1), -1);
    ASSERT_EQ(W_PROBES(word(&b)), 0);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_HALF_OPEN);
    p2 = allow(&b, 0);
    ASSERT_EQ(p2.rc, 0);
    ASSERT_EQ(p2.probe, 1);
    ASSERT_EQ(ok_(&b, p2), -1);
    ASSERT_EQ(ok_(&b, allow(&b, 0)), PRC_BREAKER_CLOSED);
    return TEST_OK;
}

TEST_IMPL(breaker_stale_epoch_ignored)
{
    prc_breaker_t b;
    adm_t old, p;
    int i;

    start_clock();
    init(&b, (bopts_t){3, 10.0, 10.0, 1, 0});
    old = allow(&b, 0);
    advance(0.001);
    for (i = 0; i < 3; i++) {
        fail_alone(&b);
    }
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_OPEN);
    /* An admission from the CLOSED epoch reports after the open. */
    ASSERT_EQ(ok_(&b, old), -1);
    ASSERT_EQ(fail_(&b, old), -1);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_OPEN);
    advance(10);
    p = allow(&b, 0);
    ASSERT_EQ(p.probe, 1);
    /* Stale outcomes do not settle a half-open breaker either. */
    ASSERT_EQ(fail_(&b, old), -1);
    ASSERT_EQ(W_STATE(word(&b)), PRC_BREAKER_HALF_OPEN);
    ASSERT_EQ(ok_(&b, p), PRC_BREAKER_CLOSED);
    /* Nor a fresh CLOSED one: old failures never count again. */
    for (i = 0; i < 5; i++) {
        ASSERT_EQ(fail_(&b, old), -1);
    }
    ASSERT_EQ(prc_breaker_failures(&b), 0);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_CLOSED);
    /* An epoch from the future is ignored too. */
    old.epoch += 100;
    old.started = now_ns;
    ASSERT_EQ(fail_(&b, old), -1);
    ASSERT_EQ(prc_breaker_failures(&b), 0);
    return TEST_OK;
}

TEST_IMPL(breaker_non_probe_in_half_open)
{
    prc_breaker_t b;
    adm_t p, fake;

    start_clock();
    CHECK(open_breaker(&b, 2));
    advance(10);
    p = allow(&b, 0);
    fake = p;
    fake.probe = 0;
    ASSERT_EQ(fail_(&b, fake), -1);
    ASSERT_EQ(ok_(&b, fake), -1);
    ASSERT_EQ(neutral_(&b, fake), -1);
    ASSERT_EQ(W_STATE(word(&b)), PRC_BREAKER_HALF_OPEN);
    ASSERT_EQ(W_SUCC(word(&b)), 0);
    ASSERT_EQ(W_PROBES(word(&b)), 1);
    return TEST_OK;
}

TEST_IMPL(breaker_no_probe)
{
    prc_breaker_t b;
    adm_t a;

    start_clock();
    init(&b, (bopts_t){3, 10.0, 10.0, 2, 0});
    /* CLOSED admits blocking commands like any other. */
    a = allow(&b, 1);
    ASSERT_EQ(a.rc, 0);
    ASSERT_EQ(a.probe, 0);
    CHECK(open_breaker(&b, 2));
    ASSERT_CODE(allow(&b, 1).rc, PRC_ECIRCUIT);
    advance(10);
    /* HALF_OPEN never admits one as a probe, even with free slots. */
    a = allow(&b, 1);
    ASSERT_CODE(a.rc, PRC_ECIRCUIT);
    ASSERT_EQ(W_STATE(word(&b)), PRC_BREAKER_HALF_OPEN);
    ASSERT_EQ(W_PROBES(word(&b)), 0);
    ASSERT_CODE(allow(&b, 1).rc, PRC_ECIRCUIT);
    /* The slot taken and the probe silent past its time: a no_probe
     * caller does not re-open the breaker (only probe candidates do). */
    allow(&b, 0);
    advance(20);
    a = allow(&b, 1);
    ASSERT_CODE(a.rc, PRC_ECIRCUIT);
    ASSERT_EQ(a.trans, -1);
    ASSERT_EQ(W_STATE(word(&b)), PRC_BREAKER_HALF_OPEN);
    return TEST_OK;
}

TEST_IMPL(breaker_probe_never_reports)
{
    prc_breaker_t b;
    prc_breaker_info_t info;
    adm_t lost, a;

    start_clock();
    CHECK(open_breaker(&b, 1));
    ASSERT_EQ(b.probe_ns, 2 * SEC); /* socket + connect timeout */
    advance(10);
    lost = allow(&b, 0);
    ASSERT_EQ(lost.probe, 1);
    /* The probe hangs: nobody else gets in for now. */
    advance(1.999);
    a = allow(&b, 0);
    ASSERT_CODE(a.rc, PRC_ECIRCUIT);
    ASSERT_EQ(a.trans, -1);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_HALF_OPEN);
    /* Longer than any call may take: the probe is lost; re-open. */
    advance(0.001);
    a = allow(&b, 0);
    ASSERT_CODE(a.rc, PRC_ECIRCUIT);
    ASSERT_EQ(a.trans, PRC_BREAKER_OPEN);
    ASSERT_EQ(W_STATE(word(&b)), PRC_BREAKER_OPEN);
    ASSERT_EQ(atomic_load(&b.opens), 2);
    prc_breaker_info(&b, &info);
    ASSERT_EQ(info.why, PRC_BREAKER_WHY_PROBE_LOST);
    ASSERT_STR_EQ(info.reason, "a half-open probe did not report within 2 s");
    /* Then a fresh half-open round works, and the lost probe's late
     * report changes nothing. */
    advance(10);
    a = allow(&b, 0);
    ASSERT_EQ(a.rc, 0);
    ASSERT_EQ(a.probe, 1);
    ASSERT_EQ(fail_(&b, lost), -1);
    ASSERT_EQ(W_STATE(word(&b)), PRC_BREAKER_HALF_OPEN);
    ASSERT_EQ(ok_(&b, a), PRC_BREAKER_CLOSED);
    return TEST_OK;
}

TEST_IMPL(breaker_probe_lost_counts_from_last_admission)
{
    prc_breaker_t b;
    adm_t p1, p2;

    start_clock();
    CHECK(open_breaker(&b, 3));
    advance(10);
    p1 = allow(&b, 0);
    advance(1.5);
    ASSERT_EQ(ok_(&b, p1), -1);
    p1 = allow(&b, 0); /* admitted 1.5 s into HALF_OPEN */
    p2 = allow(&b, 0);
    ASSERT_EQ(p2.rc, 0);
    /* 2 s after the breaker turned half-open, but not after the last
     * admission: the probes are still out, not lost. */
    advance(1);
    ASSERT_CODE(allow(&b, 0).rc, PRC_ECIRCUIT);
    ASSERT_EQ(W_STATE(word(&b)), PRC_BREAKER_HALF_OPEN);
    ASSERT_EQ(ok_(&b, p1), -1);
    ASSERT_EQ(ok_(&b, p2), PRC_BREAKER_CLOSED);
    return TEST_OK;
}

TEST_IMPL(breaker_probe_timeout_without_limits)
{
    prc_breaker_t b;
    prc_opts_t o;

    prc_opts_init(&o);
    o.socket_timeout = -1; /* no limit: a probe may hang for ever */
    o.recovery_timeout = 7;
    prc_breaker_init(&b, &o);
    ASSERT_EQ(b.probe_ns, 7 * SEC);
    o.socket_timeout = 1;
    o.connect_timeout = -1;
    prc_breaker_init(&b, &o);
    ASSERT_EQ(b.probe_ns, 7 * SEC);
    return TEST_OK;
}

TEST_IMPL(breaker_seed_settings)
{
    prc_breaker_t b;
    prc_breaker_info_t info;
    adm_t p[3];
    int i;

    start_clock();
    /* The seeds' breaker: 5 failures, 60 s, 3 successes, exactly. */
    init(&b, (bopts_t){5, 60.0, 60.0, 3, 0});
    for (i = 0; i < 4; i++) {
        ASSERT_EQ(fail_alone(&b), -1);
    }
    ASSERT_EQ(fail_alone(&b), PRC_BREAKER_OPEN);
    for (i = 0; i < 2; i++) {
        prc_breaker_info(&b, &info);
        ASSERT_EQ(info.open_ns, 60 * SEC);
        advance(59.9);
        ASSERT_CODE(allow(&b, 0).rc, PRC_ECIRCUIT);
        advance(0.1);
        p[0] = allow(&b, 0);
        ASSERT_EQ(p[0].probe, 1);
        if (i == 0) {
            ASSERT_EQ(fail_(&b, p[0]), PRC_BREAKER_OPEN); /* 60 s again */
        }
    }
    ASSERT_EQ(ok_(&b, p[0]), -1);
    p[1] = allow(&b, 0);
    p[2] = allow(&b, 0);
    ASSERT_EQ(ok_(&b, p[1]), -1);
    ASSERT_EQ(ok_(&b, p[2]), PRC_BREAKER_CLOSED);
    return TEST_OK;
}

TEST_IMPL(breaker_recovery_zero)
{
    prc_breaker_t b;
    adm_t a;

    start_clock();
    init(&b, (bopts_t){1, 0.0, 0.0, 1, 0});
    ASSERT_EQ(fail_alone(&b), PRC_BREAKER_OPEN);
    a = allow(&b, 0);
    ASSERT_EQ(a.rc, 0);
    ASSERT_EQ(a.probe, 1);
    ASSERT_EQ(a.trans, PRC_BREAKER_HALF_OPEN);
    ASSERT_EQ(ok_(&b, a), PRC_BREAKER_CLOSED);
    return TEST_OK;
}

TEST_IMPL(breaker_thresholds_clamped)
{
    prc_breaker_t b;
    prc_opts_t o;
    adm_t a;

    start_clock();
    init(&b, (bopts_t){0, 1.0, 1.0, 0, 0});
    ASSERT_EQ(b.failure_threshold, 1);
    ASSERT_EQ(b.success_threshold, 1);
    ASSERT_EQ(fail_alone(&b), PRC_BREAKER_OPEN);
    advance(1);
    a = allow(&b, 0);
    ASSERT_EQ(a.probe, 1);
    ASSERT_CODE(allow(&b, 0).rc, PRC_ECIRCUIT); /* max(0, 1) probes */
    ASSERT_EQ(ok_(&b, a), PRC_BREAKER_CLOSED);
    init(&b, (bopts_t){-5, 1.0, 1.0, 1000000, 0});
    ASSERT_EQ(b.failure_threshold, 1);
    ASSERT_EQ(b.success_threshold, 255); /* fits its 8-bit field */
    /* A first open time above the longest is the longest; odd windows
     * and rates are bounded. */
    prc_opts_init(&o);
    o.min_recovery_timeout = 100;
    o.recovery_timeout = 3;
    o.failure_window = 0;
    o.failure_rate = -1;
    o.minimum_calls = 0;
    prc_breaker_init(&b, &o);
    ASSERT_EQ(b.min_open_ns, 3 * SEC);
    ASSERT_EQ(b.bucket_ns, 1);
    ASSERT_DOUBLE_EQ(b.failure_rate, 0);
    ASSERT_EQ(b.minimum_calls, 1);
    o.recovery_timeout = 1e300;
    prc_breaker_init(&b, &o);
    ASSERT_EQ(b.recovery_ns, INT64_C(1000000000) * SEC);
    return TEST_OK;
}

TEST_IMPL(breaker_disabled)
{
    prc_breaker_t b;
    prc_opts_t o;
    adm_t a;
    int i;

    start_clock();
    prc_opts_init(&o);
    o.breaker_enabled = 0;
    o.failure_threshold = 1;
    prc_breaker_init(&b, &o);
    for (i = 0; i < 10; i++) {
        a = allow(&b, i & 1);
        ASSERT_EQ(a.rc, 0);
        ASSERT_EQ(a.probe, 0);
        ASSERT_EQ(a.trans, -1);
        ASSERT_EQ(fail_(&b, a), -1);
        advance(0.1);
    }
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_CLOSED);
    ASSERT_EQ(prc_breaker_failures(&b), 0);
    ASSERT_EQ(atomic_load(&b.refused), 0);
    ASSERT_EQ(atomic_load(&b.transitions), 0);
    return TEST_OK;
}

TEST_IMPL(breaker_counts)
{
    /* PRC_ETLS is left out on purpose: it covers both TLS failures
     * (availability) and certificate errors (configuration), and which
     * way it should count is an open design question. */
    static const int counted[] = {PRC_ECONNECT, PRC_ETIMEDOUT,   PRC_ECONNLOST,
                                  PRC_EPROTO,   PRC_EMAXCLIENTS, PRC_ELOADING};
    static const int neutral[] = {
        PRC_OK,       PRC_ENOMEM,     PRC_EINVAL,       PRC_EREPLYLIMIT,
        PRC_EAUTH,    PRC_EHANDSHAKE, PRC_EPOOLTIMEOUT, PRC_ECLOSED,
        PRC_ECIRCUIT, PRC_EINTR,      PRC_ETOOBIG,      1,
        -100};
    size_t i;

    for (i = 0; i < sizeof(counted) / sizeof(counted[0]); i++) {
        if (!prc_breaker_counts(counted[i])) {
            test__fail(__FILE__, __LINE__, "%s", prc_err_name(counted[i]));
        }
        ASSERT(prc_breaker_counts(counted[i]));
    }
    /* A certificate error is configuration, like EAUTH. */
    if (test_cert_error_code() != PRC_ETLS) {
        ASSERT(!prc_breaker_counts(test_cert_error_code()));
    }
    for (i = 0; i < sizeof(neutral) / sizeof(neutral[0]); i++) {
        if (prc_breaker_counts(neutral[i])) {
            test__fail(__FILE__, __LINE__, "%s", prc_err_name(neutral[i]));
        }
        ASSERT(!prc_breaker_counts(neutral[i]));
    }
    return TEST_OK;
}

/* ---- threads -------------------------------------------------------------
 */

#define NTHREADS 8

typedef struct {
    prc_breaker_t *b;
    int iters;
    uint64_t seed;
    long refused;
    long transitions;
    long admitted;
    long bad_word; /* impossible states sampled */
} hammer_t;

static uint64_t
next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void *
hammer(void *arg)
{
    hammer_t *h = arg;
    int i;

    for (i = 0; i < h->iters; i++) {
        uint64_t r = next_rand(&h->seed), w;
        adm_t a = allow(h->b, (r & 7) == 0);
        int t;

        if (a.trans >= 0) {
            h->transitions++;
        }
        w = atomic_load(&h->b->word);
        if (W_STATE(w) > 2 || W_PROBES(w) > h->b->success_threshold ||
            W_SUCC(w) > h->b->success_threshold ||
            (W_STATE(w) != PRC_BREAKER_HALF_OPEN &&
             (W_PROBES(w) | W_SUCC(w)) != 0)) {
            h->bad_word++;
        }
        if (a.rc != 0) {
            h->refused++;
            continue;
        }
        h->admitted++;
        switch ((r >> 8) % 10) {
        case 0:
        case 1:
        case 2:
        case 3:
            t = fail_(h->b, a);
            break;
        case 4:
            t = neutral_(h->b, a);
            break;
        default:
            t = ok_(h->b, a);
            break;
        }
        if (t >= 0) {
            h->transitions++;
        }
    }
    return NULL;
}

TEST_IMPL(breaker_threads)
{
    prc_breaker_t b;
    prc_opts_t o;
    pthread_t th[NTHREADS];
    hammer_t hs[NTHREADS];
    long refused = 0, transitions = 0, admitted = 0, bad = 0;
    int i, closed = 0;

    /* Real clock, opens of 0.1-1 ms, a 1 ms window: every state and both
     * triggers are visited many times. */
    prc_opts_init(&o);
    o.failure_threshold = 3;
    o.min_recovery_timeout = 0.0001;
    o.recovery_timeout = 0.001;
    o.success_threshold = 3;
    o.failure_window = 0.001;
    o.minimum_calls = 4;
    o.socket_timeout = 0.001;
    o.connect_timeout = 0.001;
    prc_breaker_init(&b, &o);
    for (i = 0; i < NTHREADS; i++) {
        hs[i].b = &b;
        hs[i].iters = test_scale(40000);
        hs[i].seed = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
        hs[i].refused = hs[i].transitions = hs[i].admitted = 0;
        hs[i].bad_word = 0;
        ASSERT_EQ(pthread_create(&th[i], NULL, hammer, &hs[i]), 0);
    }
    for (i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        refused += hs[i].refused;
        transitions += hs[i].transitions;
        admitted += hs[i].admitted;
        bad += hs[i].bad_word;
    }
    ASSERT_EQ(bad, 0);
    ASSERT_GT(admitted, 0);
    ASSERT_GT(refused, 0);
    /* Every refusal was counted exactly once. */
    ASSERT_EQ(atomic_load(&b.refused), refused);
    /* Each transition was reported to at most one caller (the thread
     * whose CAS won); an allow() that crosses two transitions reports
     * only the last. */
    ASSERT_LE(transitions, atomic_load(&b.transitions));
    ASSERT_GT(atomic_load(&b.opens), 0);
    ASSERT_LE(atomic_load(&b.opens), atomic_load(&b.transitions));
    ASSERT_GE(prc_breaker_failures(&b), 0);
    ASSERT_LT(prc_breaker_failures(&b), 1000000);
    /* No wedge: alone again, the breaker recovers to CLOSED. */
    for (i = 0; i < 100 && !closed; i++) {
        adm_t a;
        test_sleep_ms(2);
        a = allow(&b, 0);
        if (a.rc == 0) {
            ok_(&b, a);
        }
        closed = prc_breaker_state(&b) == PRC_BREAKER_CLOSED;
    }
    ASSERT(closed);
    return TEST_OK;
}
