/* test_breaker.c - the lock-free circuit breaker, with an injected clock. */
#include <pthread.h>
#include <stdatomic.h>

#include "task.h"

/* The word layout documented in prc.h. */
#define W_STATE(w) ((int)((w)&3))
#define W_PROBES(w) ((int)(((w) >> 2) & 0xFFFF))
#define W_SUCC(w) ((int)(((w) >> 18) & 0xFFFF))
#define W_EPOCH(w) ((w) >> 34)

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
} adm_t;

static adm_t
allow(prc_breaker_t *b, int no_probe)
{
    adm_t a;

    a.rc = prc_breaker_allow(b, no_probe, &a.epoch, &a.probe, &a.trans);
    return a;
}

static int
ok_(prc_breaker_t *b, adm_t a)
{
    return prc_breaker_record(b, a.epoch, a.probe, 0, 0);
}

static int
fail_(prc_breaker_t *b, adm_t a)
{
    return prc_breaker_record(b, a.epoch, a.probe, 1, 0);
}

static int
neutral_(prc_breaker_t *b, adm_t a)
{
    return prc_breaker_record(b, a.epoch, a.probe, 0, 1);
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

/* failure_threshold 3, recovery 10 s, success_threshold 2; then opened
 * with three counted failures. */
static int
open_breaker(prc_breaker_t *b, int success_threshold)
{
    int i;

    prc_breaker_init(b, 1, 3, 10.0, success_threshold);
    for (i = 0; i < 3; i++) {
        adm_t a = allow(b, 0);
        ASSERT_EQ(a.rc, 0);
        ASSERT_EQ(fail_(b, a), i < 2 ? -1 : PRC_BREAKER_OPEN);
    }
    ASSERT_EQ(prc_breaker_state(b), PRC_BREAKER_OPEN);
    return TEST_OK;
}

TEST_IMPL(breaker_closed_to_open)
{
    prc_breaker_t b;
    adm_t a;

    start_clock();
    prc_breaker_init(&b, 1, 3, 10.0, 2);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_CLOSED);
    ASSERT_UINT64_EQ(W_EPOCH(word(&b)), 1);
    a = allow(&b, 0);
    ASSERT_EQ(a.rc, 0);
    ASSERT_EQ(a.probe, 0);
    ASSERT_EQ(a.trans, -1);
    ASSERT_UINT64_EQ(a.epoch, 1);
    ASSERT_EQ(fail_(&b, a), -1);
    ASSERT_EQ(prc_breaker_failures(&b), 1);
    ASSERT_EQ(fail_(&b, a), -1);
    ASSERT_EQ(prc_breaker_failures(&b), 2);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_CLOSED);
    ASSERT_EQ(fail_(&b, a), PRC_BREAKER_OPEN);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_OPEN);
    ASSERT_EQ(prc_breaker_failures(&b), 0);
    ASSERT_UINT64_EQ(W_EPOCH(word(&b)), 2);
    ASSERT_EQ(atomic_load(&b.opens), 1);
    ASSERT_EQ(atomic_load(&b.transitions), 1);
    ASSERT_EQ(atomic_load(&b.changed_at), now_ns);
    return TEST_OK;
}

TEST_IMPL(breaker_success_resets)
{
    prc_breaker_t b;
    adm_t a;

    start_clock();
    prc_breaker_init(&b, 1, 3, 10.0, 2);
    a = allow(&b, 0);
    ASSERT_EQ(fail_(&b, a), -1);
    ASSERT_EQ(fail_(&b, a), -1);
    ASSERT_EQ(ok_(&b, a), -1);
    ASSERT_EQ(prc_breaker_failures(&b), 0);
    /* Failures must be consecutive: two more do not open it. */
    ASSERT_EQ(fail_(&b, a), -1);
    ASSERT_EQ(fail_(&b, a), -1);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_CLOSED);
    /* A neutral outcome neither counts nor resets. */
    ASSERT_EQ(neutral_(&b, a), -1);
    ASSERT_EQ(prc_breaker_failures(&b), 2);
    ASSERT_EQ(fail_(&b, a), PRC_BREAKER_OPEN);
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
    advance(9.999);
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

TEST_IMPL(breaker_half_open_probes)
{
    prc_breaker_t b;
    adm_t p1, p2, p3, c;

    start_clock();
    CHECK(open_breaker(&b, 2));
    advance(10);
    p1 = allow(&b, 0);
    p2 = allow(&b, 0);
    p3 = allow(&b, 0);
    ASSERT_EQ(p1.rc, 0);
    ASSERT_EQ(p1.probe, 1);
    ASSERT_EQ(p2.rc, 0);
    ASSERT_EQ(p2.probe, 1);
    ASSERT_EQ(p2.trans, -1);
    ASSERT_CODE(p3.rc, PRC_ECIRCUIT); /* at most success_threshold */
    ASSERT_EQ(W_PROBES(word(&b)), 2);
    ASSERT_EQ(ok_(&b, p1), -1);
    ASSERT_EQ(W_SUCC(word(&b)), 1);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_HALF_OPEN);
    /* A success does not free its slot. */
    ASSERT_CODE(allow(&b, 0).rc, PRC_ECIRCUIT);
    ASSERT_EQ(ok_(&b, p2), PRC_BREAKER_CLOSED);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_CLOSED);
    c = allow(&b, 0);
    ASSERT_EQ(c.rc, 0);
    ASSERT_EQ(c.probe, 0);
    ASSERT_UINT64_EQ(c.epoch, p1.epoch + 1);
    ASSERT_EQ(prc_breaker_failures(&b), 0);
    return TEST_OK;
}

TEST_IMPL(breaker_half_open_three_probes)
{
    prc_breaker_t b;
    adm_t p[4];
    int i;

    start_clock();
    CHECK(open_breaker(&b, 3));
    advance(10);
    for (i = 0; i < 4; i++) {
        p[i] = allow(&b, 0);
    }
    ASSERT_EQ(p[2].rc, 0);
    ASSERT_CODE(p[3].rc, PRC_ECIRCUIT);
    ASSERT_EQ(ok_(&b, p[0]), -1);
    ASSERT_EQ(ok_(&b, p[1]), -1);
    ASSERT_EQ(ok_(&b, p[2]), PRC_BREAKER_CLOSED);
    return TEST_OK;
}

TEST_IMPL(breaker_half_open_failure_reopens)
{
    prc_breaker_t b;
    adm_t p1, p2;

    start_clock();
    CHECK(open_breaker(&b, 2));
    advance(10);
    p1 = allow(&b, 0);
    p2 = allow(&b, 0);
    ASSERT_EQ(p2.rc, 0);
    ASSERT_EQ(fail_(&b, p1), PRC_BREAKER_OPEN);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_OPEN);
    ASSERT_EQ(atomic_load(&b.opens), 2);
    /* The other probe reports under the old epoch: ignored. */
    ASSERT_EQ(ok_(&b, p2), -1);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_OPEN);
    /* A full recovery period again, counted from the re-open. */
    advance(9.9);
    ASSERT_CODE(allow(&b, 0).rc, PRC_ECIRCUIT);
    advance(0.1);
    ASSERT_EQ(allow(&b, 0).rc, 0);
    return TEST_OK;
}

TEST_IMPL(breaker_neutral_frees_probe)
{
    prc_breaker_t b;
    adm_t p1, p2, p3;

    start_clock();
    CHECK(open_breaker(&b, 2));
    advance(10);
    p1 = allow(&b, 0);
    p2 = allow(&b, 0);
    ASSERT_CODE(allow(&b, 0).rc, PRC_ECIRCUIT);
    /* A pool timeout or auth error says nothing about availability:
     * the slot is given back. */
    ASSERT_EQ(neutral_(&b, p1), -1);
    ASSERT_EQ(W_PROBES(word(&b)), 1);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_HALF_OPEN);
    p3 = allow(&b, 0);
    ASSERT_EQ(p3.rc, 0);
    ASSERT_EQ(p3.probe, 1);
    ASSERT_EQ(ok_(&b, p2), -1);
    ASSERT_EQ(ok_(&b, p3), PRC_BREAKER_CLOSED);
    return TEST_OK;
}

TEST_IMPL(breaker_stale_epoch_ignored)
{
    prc_breaker_t b;
    adm_t old, p;
    int i;

    start_clock();
    prc_breaker_init(&b, 1, 3, 10.0, 1);
    old = allow(&b, 0);
    for (i = 0; i < 3; i++) {
        fail_(&b, allow(&b, 0));
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
    ASSERT_EQ(W_STATE(word(&b)), PRC_BREAKER_HALF_OPEN);
    ASSERT_EQ(W_SUCC(word(&b)), 0);
    return TEST_OK;
}

TEST_IMPL(breaker_no_probe)
{
    prc_breaker_t b;
    adm_t a;

    start_clock();
    prc_breaker_init(&b, 1, 3, 10.0, 2);
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
    /* Slots full and a recovery period gone: a no_probe caller does not
     * re-open the breaker (only probe candidates do). */
    allow(&b, 0);
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
    adm_t lost, a;

    start_clock();
    CHECK(open_breaker(&b, 1));
    advance(10);
    lost = allow(&b, 0);
    ASSERT_EQ(lost.probe, 1);
    /* The probe hangs: nobody else gets in for now. */
    advance(5);
    a = allow(&b, 0);
    ASSERT_CODE(a.rc, PRC_ECIRCUIT);
    ASSERT_EQ(a.trans, -1);
    ASSERT_EQ(prc_breaker_state(&b), PRC_BREAKER_HALF_OPEN);
    /* A recovery period after entering HALF_OPEN: re-open. */
    advance(5);
    a = allow(&b, 0);
    ASSERT_CODE(a.rc, PRC_ECIRCUIT);
    ASSERT_EQ(a.trans, PRC_BREAKER_OPEN);
    ASSERT_EQ(W_STATE(word(&b)), PRC_BREAKER_OPEN);
    ASSERT_EQ(atomic_load(&b.opens), 2);
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

TEST_IMPL(breaker_recovery_zero)
{
    prc_breaker_t b;
    adm_t a;

    start_clock();
    prc_breaker_init(&b, 1, 1, 0.0, 1);
    a = allow(&b, 0);
    ASSERT_EQ(fail_(&b, a), PRC_BREAKER_OPEN);
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
    adm_t a;

    start_clock();
    prc_breaker_init(&b, 1, 0, 1.0, 0);
    ASSERT_EQ(b.failure_threshold, 1);
    ASSERT_EQ(b.success_threshold, 1);
    a = allow(&b, 0);
    ASSERT_EQ(fail_(&b, a), PRC_BREAKER_OPEN);
    advance(1);
    a = allow(&b, 0);
    ASSERT_EQ(a.probe, 1);
    ASSERT_CODE(allow(&b, 0).rc, PRC_ECIRCUIT); /* max(0, 1) probes */
    ASSERT_EQ(ok_(&b, a), PRC_BREAKER_CLOSED);
    prc_breaker_init(&b, 1, -5, 1.0, 1000000);
    ASSERT_EQ(b.failure_threshold, 1);
    ASSERT_EQ(b.success_threshold, 0xFFFF); /* fits its 16-bit field */
    return TEST_OK;
}

TEST_IMPL(breaker_disabled)
{
    prc_breaker_t b;
    adm_t a;
    int i;

    start_clock();
    prc_breaker_init(&b, 0, 1, 10.0, 1);
    for (i = 0; i < 10; i++) {
        a = allow(&b, i & 1);
        ASSERT_EQ(a.rc, 0);
        ASSERT_EQ(a.probe, 0);
        ASSERT_EQ(a.trans, -1);
        ASSERT_EQ(fail_(&b, a), -1);
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
            W_SUCC(w) > h->b->success_threshold) {
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
            t = fail_(h->b, a);
            break;
        case 3:
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
    pthread_t th[NTHREADS];
    hammer_t hs[NTHREADS];
    long refused = 0, transitions = 0, admitted = 0, bad = 0;
    int i, closed = 0;

    /* Real clock, 1 ms recovery: every state is visited many times. */
    prc_breaker_init(&b, 1, 3, 0.001, 2);
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
