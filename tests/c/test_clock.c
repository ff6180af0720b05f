/* test_clock.c - the injectable monotonic clock and deadlines. */
#include <math.h>

#include "task.h"

static int64_t fake_now;

static int64_t
fake_clock(void)
{
    return fake_now;
}

TEST_IMPL(clock_injectable)
{
    int64_t a, b;

    fake_now = 123456789;
    prc_clock_set(fake_clock);
    ASSERT_EQ(prc_now(), 123456789);
    fake_now += 5;
    ASSERT_EQ(prc_now(), 123456794);
    prc_clock_set(NULL);
    a = prc_now();
    test_sleep_ms(2);
    b = prc_now();
    ASSERT_GT(a, 0);
    ASSERT_GE(b - a, 2000000);
    ASSERT_LT(b - a, 2000000000);
    return TEST_OK;
}

TEST_IMPL(clock_deadline_after)
{
    fake_now = 1000000000000;
    prc_clock_set(fake_clock);
    ASSERT_EQ(prc_deadline_after(0.5), fake_now + 500000000);
    ASSERT_EQ(prc_deadline_after(0), fake_now);
    ASSERT_EQ(prc_deadline_after(1e-9), fake_now + 1);
    ASSERT_EQ(prc_deadline_after(3600), fake_now + 3600 * INT64_C(1000000000));
    /* Negative, NaN and absurd values mean "no limit". */
    ASSERT_EQ(prc_deadline_after(-1), PRC_NO_DEADLINE);
    ASSERT_EQ(prc_deadline_after(-1e-9), PRC_NO_DEADLINE);
    ASSERT_EQ(prc_deadline_after(NAN), PRC_NO_DEADLINE);
    ASSERT_EQ(prc_deadline_after(INFINITY), PRC_NO_DEADLINE);
    ASSERT_EQ(prc_deadline_after(1e300), PRC_NO_DEADLINE);
    /* The largest accepted value does not overflow int64. */
    ASSERT_GT(prc_deadline_after(9.0e9), fake_now);
    ASSERT_LT(prc_deadline_after(9.0e9), PRC_NO_DEADLINE);
    return TEST_OK;
}
