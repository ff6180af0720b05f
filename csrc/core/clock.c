/* clock.c - the monotonic clock, injectable for tests, and deadlines. */
#include <math.h>
#include <time.h>

#include "prc.h"

static int64_t
real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Written only by tests before threads start; read everywhere. */
static int64_t (*now_fn)(void) = real_now;

int64_t
prc_now(void)
{
    return now_fn();
}

void
prc_clock_set(int64_t (*fn)(void))
{
    now_fn = fn ? fn : real_now;
}

int64_t
prc_deadline_after(double seconds)
{
    if (seconds < 0 || isnan(seconds) || seconds > 9.0e9) {
        return PRC_NO_DEADLINE;
    }
    return prc_now() + (int64_t)(seconds * 1e9);
}
