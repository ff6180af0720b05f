/* test_retry.c - full-jitter backoff bounds, the seedable RNG, and a
 * pool's retry policy changed while it runs (prc_pool_set_retry). */
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <unistd.h>

#include "pooltest.h"

TEST_IMPL(retry_backoff_bounds)
{
    static const double rnds[] = {0.0, 1e-9, 0.25, 0.5, 0.75, 0.999999999};
    static const double bases[] = {0.001, 0.05, 0.1, 1.0};
    static const double caps[] = {0.0, 0.01, 1.0, 30.0};
    size_t bi, ci, ri;
    int n;

    for (bi = 0; bi < sizeof(bases) / sizeof(bases[0]); bi++) {
        for (ci = 0; ci < sizeof(caps) / sizeof(caps[0]); ci++) {
            for (n = 0; n <= 70; n++) {
                double ceiling = bases[bi] * ldexp(1.0, n < 60 ? n : 60);
                if (ceiling > caps[ci]) {
                    ceiling = caps[ci];
                }
                for (ri = 0; ri < sizeof(rnds) / sizeof(rnds[0]); ri++) {
                    double d = prc_backoff(n, bases[bi], caps[ci], rnds[ri]);
                    ASSERT_DOUBLE_GE(d, 0.0);
                    ASSERT_DOUBLE_LE(d, ceiling);
                    ASSERT_DOUBLE_LE(d, caps[ci]);
                    /* Full jitter: exactly rnd * the ceiling. */
                    ASSERT_DOUBLE_LE(fabs(d - ceiling * rnds[ri]),
                                     1e-12 * (1 + ceiling));
                }
            }
        }
    }
    /* The documented shape: base * 2^n below the cap. */
    ASSERT_DOUBLE_EQ(prc_backoff(0, 0.05, 1.0, 0.5), 0.025);
    ASSERT_DOUBLE_EQ(prc_backoff(1, 0.05, 1.0, 0.5), 0.05);
    ASSERT_DOUBLE_EQ(prc_backoff(3, 0.05, 1.0, 0.5), 0.2);
    ASSERT_DOUBLE_EQ(prc_backoff(5, 0.05, 1.0, 0.5), 0.5); /* capped */
    ASSERT_DOUBLE_EQ(prc_backoff(2, 0.05, 1.0, 0.0), 0.0);
    return TEST_OK;
}

TEST_IMPL(retry_backoff_large_attempts)
{
    static const int attempts[] = {61,   64,   100,    1023,
                                   1024, 1025, 100000, INT_MAX};
    size_t i;

    for (i = 0; i < sizeof(attempts) / sizeof(attempts[0]); i++) {
        double d = prc_backoff(attempts[i], 0.05, 1.0, 0.999);
        ASSERT(isfinite(d));
        ASSERT_DOUBLE_GE(d, 0.0);
        ASSERT_DOUBLE_LE(d, 1.0);
        ASSERT_DOUBLE_GT(d, 0.99);
        /* A huge base times 2^n saturates at the cap, never inf/NaN. */
        d = prc_backoff(attempts[i], 1e300, 2.0, 0.5);
        ASSERT(isfinite(d));
        ASSERT_DOUBLE_EQ(d, 1.0);
    }
    /* Negative attempts count as the first. */
    ASSERT_DOUBLE_EQ(prc_backoff(-1, 0.05, 1.0, 0.5), 0.025);
    ASSERT_DOUBLE_EQ(prc_backoff(INT_MIN, 0.05, 1.0, 0.5), 0.025);
    /* Nonsense bases never produce negative delays. */
    ASSERT_DOUBLE_EQ(prc_backoff(3, -1.0, 1.0, 0.5), 0.0);
    ASSERT_DOUBLE_EQ(prc_backoff(3, 0.05, -1.0, 0.5), 0.0);
    return TEST_OK;
}

TEST_IMPL(retry_random_seeded)
{
    double a[64], b[64];
    int i, same = 0;

    prc_random_seed(42);
    for (i = 0; i < 64; i++) {
        a[i] = prc_random();
    }
    prc_random_seed(42);
    for (i = 0; i < 64; i++) {
        b[i] = prc_random();
        ASSERT_DOUBLE_EQ(a[i], b[i]); /* deterministic once seeded */
        ASSERT_DOUBLE_GE(a[i], 0.0);
        ASSERT_DOUBLE_LT(a[i], 1.0);
    }
    prc_random_seed(43);
    for (i = 0; i < 64; i++) {
        same += prc_random() == a[i];
    }
    ASSERT_LT(same, 2);
    /* Seed 0 is replaced by a fixed non-zero one (xorshift's zero state
     * is absorbing). */
    prc_random_seed(0);
    a[0] = prc_random();
    a[1] = prc_random();
    ASSERT_DOUBLE_GT(a[0] + a[1], 0.0);
    ASSERT(a[0] != a[1]);
    return TEST_OK;
}

TEST_IMPL(retry_jitter_spread)
{
    enum { N = 20000, BUCKETS = 10 };
    int hist[BUCKETS] = {0}, i;
    double sum = 0, lo = 1, hi = 0, ceiling = 0.8;

    prc_random_seed(12345);
    for (i = 0; i < N; i++) {
        double d = prc_backoff(3, 0.1, 10.0, prc_random());
        int k;

        ASSERT_DOUBLE_GE(d, 0.0);
        ASSERT_DOUBLE_LT(d, ceiling);
        k = (int)(d / ceiling * BUCKETS);
        hist[k < BUCKETS ? k : BUCKETS - 1]++;
        sum += d;
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    /* Uniform over [0, ceiling): the whole range is used evenly. */
    ASSERT_DOUBLE_LT(lo, ceiling * 0.01);
    ASSERT_DOUBLE_GT(hi, ceiling * 0.99);
    ASSERT_DOUBLE_GT(sum / N, ceiling * 0.48);
    ASSERT_DOUBLE_LT(sum / N, ceiling * 0.52);
    for (i = 0; i < BUCKETS; i++) {
        ASSERT_GT(hist[i], N / BUCKETS * 85 / 100);
        ASSERT_LT(hist[i], N / BUCKETS * 115 / 100);
    }
    return TEST_OK;
}

static void *
reseed_elsewhere(void *arg)
{
    double *out = arg;

    prc_random_seed(99);
    *out = prc_random();
    return NULL;
}

TEST_IMPL(retry_random_thread_local)
{
    pthread_t th;
    double expect[3], got[3], other = -1, fresh;
    int i;

    prc_random_seed(7);
    for (i = 0; i < 3; i++) {
        expect[i] = prc_random();
    }
    prc_random_seed(7);
    got[0] = prc_random();
    /* Another thread seeding its own state changes nothing here. */
    ASSERT_EQ(pthread_create(&th, NULL, reseed_elsewhere, &other), 0);
    pthread_join(th, NULL);
    got[1] = prc_random();
    got[2] = prc_random();
    for (i = 0; i < 3; i++) {
        ASSERT_DOUBLE_EQ(got[i], expect[i]);
    }
    prc_random_seed(99);
    fresh = prc_random();
    ASSERT_DOUBLE_EQ(other, fresh);
    return TEST_OK;
}

TEST_IMPL(retry_set_at_runtime)
{
    /* The first three connections read a command and close unanswered. */
    fakesrv_opts_t so = {.first_mode = FS_CLOSE_ON_COMMAND, .first_n = 3};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    prc_call_t call;
    int attempts;
    double base, cap;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.retry_attempts = 3;
    o.retry_base = 0.25;
    o.retry_cap = 4.0;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    prc_pool_get_retry(p, &attempts, &base, &cap);
    ASSERT_EQ(attempts, 3);
    ASSERT_DOUBLE_EQ(base, 0.25);
    ASSERT_DOUBLE_EQ(cap, 4.0);
    ASSERT_EQ(prc_pool_set_retry(p, 0, 0.001, 0.001), 0);
    /* Out of bounds: refused, and nothing changes (with 5 attempts the
     * read below would be replayed). */
    ASSERT_CODE(prc_pool_set_retry(p, -1, 0.05, 1.0), PRC_EINVAL);
    ASSERT_CODE(prc_pool_set_retry(p, 5, 0.0, 1.0), PRC_EINVAL);
    ASSERT_CODE(prc_pool_set_retry(p, 5, 0.5, 0.1), PRC_EINVAL);
    ASSERT_CODE(prc_pool_set_retry(p, 5, NAN, 1.0), PRC_EINVAL);
    ASSERT_CODE(prc_pool_set_retry(p, 5, 0.05, INFINITY), PRC_EINVAL);
    ASSERT_CODE(prc_pool_set_retry(p, 5, 0.05, 2e9), PRC_EINVAL);
    prc_pool_get_retry(p, &attempts, &base, &cap);
    ASSERT_EQ(attempts, 0);
    ASSERT_DOUBLE_EQ(base, 0.001);
    ASSERT_DOUBLE_EQ(cap, 0.001);
    /* No retries: the read fails with the first closed connection. */
    ASSERT_CODE(pt_call(p, &call, GET_REQ, 1, PRC_CALL_READONLY, 1.0),
                PRC_ECONNLOST);
    ASSERT_EQ(call.retries, 0);
    prc_call_finish(p, &call, call.err);
    /* Two: the second and third connections close, the fourth answers. */
    ASSERT_EQ(prc_pool_set_retry(p, 2, 0.001, 0.002), 0);
    ASSERT_EQ(pt_call(p, &call, GET_REQ, 1, PRC_CALL_READONLY, 1.0), 0);
    CHECK(pt_replies_are(&call, "+OK\r\n"));
    ASSERT_EQ(call.retries, 2);
    prc_call_finish(p, &call, PRC_OK);
    ASSERT_EQ(fakesrv_accepted(srv), 4);
    return TEST_OK;
}

typedef struct {
    prc_pool_t *p;
    int calls, lost, max_retries;
    _Atomic int *done;
} retry_caller_t;

static void *
retry_caller(void *arg)
{
    retry_caller_t *w = arg;
    prc_call_t call;
    int i;

    for (i = 0; i < w->calls; i++) {
        int rc = pt_call(w->p, &call, GET_REQ, 1, PRC_CALL_READONLY, 2.0);
        w->lost += rc == PRC_ECONNLOST;
        if (call.retries > w->max_retries) {
            w->max_retries = call.retries;
        }
        prc_call_finish(w->p, &call, call.err);
    }
    atomic_fetch_add(w->done, 1);
    return NULL;
}

/* set_retry from one thread while others' calls fail and read the policy
 * at every failure: no lock, no race (run under TSan), and no call goes
 * past the largest policy it could have seen. */
TEST_IMPL(retry_set_while_calls_fail)
{
    enum { NT = 3 };
    fakesrv_opts_t so = {.mode = FS_CLOSE_ON_COMMAND};
    fakesrv_t *srv;
    prc_opts_t o;
    prc_pool_t *p;
    pthread_t th[NT];
    retry_caller_t w[NT];
    _Atomic int done = 0;
    int i, sets = 0;

    START_FAKE(srv, &so);
    pt_opts(&o, srv);
    o.breaker_enabled = 0; /* every call fails: keep retrying them */
    o.retry_attempts = 1;
    o.retry_base = o.retry_cap = 0.0001;
    ASSERT_NOT_NULL(p = pt_pool(&o));
    for (i = 0; i < NT; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        w[i].p = p;
        w[i].calls = test_scale(30);
        w[i].done = &done;
        ASSERT_EQ(pthread_create(&th[i], NULL, retry_caller, &w[i]), 0);
    }
    while (atomic_load(&done) < NT) {
        ASSERT_EQ(prc_pool_set_retry(p, sets % 4, 0.0001, 0.0002), 0);
        sets++;
        usleep(200);
    }
    for (i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        ASSERT_EQ(w[i].lost, w[i].calls);
        ASSERT_LE(w[i].max_retries, 3);
    }
    ASSERT_GT(sets, 1);
    return TEST_OK;
}
