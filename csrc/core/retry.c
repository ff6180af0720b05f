/* retry.c - backoff with full jitter and a small thread-local RNG. */
#include <math.h>

#include "prc.h"

static _Thread_local uint64_t rng_state;

void
prc_random_seed(uint64_t seed)
{
    rng_state = seed ? seed : 0x9E3779B97F4A7C15ull;
}

double
prc_random(void)
{
    /* xorshift64*: seeded lazily from the clock and the state's address,
     * so threads differ; good enough for jitter, never for secrets. */
    if (rng_state == 0) {
        prc_random_seed((uint64_t)prc_now() ^ (uint64_t)(uintptr_t)&rng_state);
    }
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) /
           9007199254740992.0;
}

double
prc_backoff(int attempt, double base, double cap, double rnd)
{
    double ceiling;

    if (attempt < 0) {
        attempt = 0;
    }
    if (attempt > 60) {
        attempt = 60;
    }
    ceiling = base * ldexp(1.0, attempt);
    if (ceiling > cap) {
        ceiling = cap;
    }
    if (ceiling < 0) {
        ceiling = 0;
    }
    return ceiling * rnd;
}
