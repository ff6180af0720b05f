/* breaker.c - a lock-free circuit breaker: one atomic word, CAS only. */
#include "prc.h"

#define ST_BITS 2
#define PROBE_SHIFT 2
#define SUCC_SHIFT 18
#define EPOCH_SHIFT 34
#define FIELD_MASK 0xFFFFull

#define W_STATE(w) ((int)((w)&3))
#define W_PROBES(w) ((int)(((w) >> PROBE_SHIFT) & FIELD_MASK))
#define W_SUCC(w) ((int)(((w) >> SUCC_SHIFT) & FIELD_MASK))
#define W_EPOCH(w) ((w) >> EPOCH_SHIFT)
#define W_MAKE(st, probes, succ, epoch)                                       \
    ((uint64_t)(st) | ((uint64_t)(probes) << PROBE_SHIFT) |                   \
     ((uint64_t)(succ) << SUCC_SHIFT) | ((uint64_t)(epoch) << EPOCH_SHIFT))

void
prc_breaker_init(prc_breaker_t *b, int enabled, int failure_threshold,
                 double recovery_timeout, int success_threshold)
{
    atomic_init(&b->word, W_MAKE(PRC_BREAKER_CLOSED, 0, 0, 1));
    atomic_init(&b->changed_at, 0);
    atomic_init(&b->failures, 0);
    atomic_init(&b->refused, 0);
    atomic_init(&b->opens, 0);
    atomic_init(&b->transitions, 0);
    b->enabled = enabled;
    b->failure_threshold = failure_threshold < 1 ? 1 : failure_threshold;
    b->success_threshold = success_threshold < 1 ? 1 : success_threshold;
    if (b->success_threshold > 0xFFFF) {
        b->success_threshold = 0xFFFF;
    }
    b->recovery_ns = (int64_t)(recovery_timeout * 1e9);
}

/* Move from word `w` to state `st` with a new epoch; 1 if this CAS won. */
static int
transition(prc_breaker_t *b, uint64_t w, int st)
{
    uint64_t nw = W_MAKE(st, 0, 0, W_EPOCH(w) + 1);

    /* Stamp the time first, so that no reader sees the new state with the
     * old time; a losing CAS only re-stamps a concurrent transition. */
    atomic_store(&b->changed_at, prc_now());
    if (!atomic_compare_exchange_strong(&b->word, &w, nw)) {
        return 0;
    }
    atomic_store(&b->failures, 0);
    atomic_fetch_add(&b->transitions, 1);
    if (st == PRC_BREAKER_OPEN) {
        atomic_fetch_add(&b->opens, 1);
    }
    return 1;
}

int
prc_breaker_allow(prc_breaker_t *b, int no_probe, uint64_t *epoch, int *probe,
                  int *trans)
{
    int spins;

    *probe = 0;
    *epoch = 0;
    *trans = -1;
    if (!b->enabled) {
        return 0;
    }
    /* Each iteration either returns or retries after another thread's CAS
     * changed the word; bounded so a pathological contention cannot spin
     * forever. */
    for (spins = 0; spins < 1000; spins++) {
        uint64_t w = atomic_load(&b->word);
        int64_t since = prc_now() - atomic_load(&b->changed_at);

        switch (W_STATE(w)) {
        case PRC_BREAKER_CLOSED:
            *epoch = W_EPOCH(w);
            return 0;
        case PRC_BREAKER_OPEN:
            if (since < b->recovery_ns) {
                atomic_fetch_add(&b->refused, 1);
                return PRC_ECIRCUIT;
            }
            if (transition(b, w, PRC_BREAKER_HALF_OPEN)) {
                *trans = PRC_BREAKER_HALF_OPEN;
            }
            continue;
        default: /* HALF_OPEN */
            if (W_PROBES(w) >= b->success_threshold || no_probe) {
                /* A probe that never reports must not wedge the breaker:
                 * after another recovery period, re-open. */
                if (!no_probe && since >= b->recovery_ns &&
                    transition(b, w, PRC_BREAKER_OPEN)) {
                    *trans = PRC_BREAKER_OPEN;
                }
                atomic_fetch_add(&b->refused, 1);
                return PRC_ECIRCUIT;
            }
            if (atomic_compare_exchange_strong(
                    &b->word, &w,
                    W_MAKE(PRC_BREAKER_HALF_OPEN, W_PROBES(w) + 1, W_SUCC(w),
                           W_EPOCH(w)))) {
                *epoch = W_EPOCH(w);
                *probe = 1;
                return 0;
            }
            continue;
        }
    }
    atomic_fetch_add(&b->refused, 1);
    return PRC_ECIRCUIT;
}

int
prc_breaker_record(prc_breaker_t *b, uint64_t epoch, int probe, int failure,
                   int neutral)
{
    int spins;

    if (!b->enabled) {
        return -1;
    }
    for (spins = 0; spins < 1000; spins++) {
        uint64_t w = atomic_load(&b->word);

        if (W_EPOCH(w) != epoch) {
            return -1; /* stale outcome from before a transition */
        }
        switch (W_STATE(w)) {
        case PRC_BREAKER_CLOSED:
            if (neutral) {
                return -1;
            }
            if (!failure) {
                if (atomic_load_explicit(&b->failures, memory_order_relaxed) !=
                    0) {
                    atomic_store(&b->failures, 0);
                }
                return -1;
            }
            if (atomic_fetch_add(&b->failures, 1) + 1 < b->failure_threshold) {
                return -1;
            }
            if (transition(b, w, PRC_BREAKER_OPEN)) {
                return PRC_BREAKER_OPEN;
            }
            continue;
        case PRC_BREAKER_HALF_OPEN:
            if (!probe) {
                return -1;
            }
            if (neutral) {
                /* Give the probe slot back. */
                uint64_t nw = W_MAKE(PRC_BREAKER_HALF_OPEN,
                                     W_PROBES(w) > 0 ? W_PROBES(w) - 1 : 0,
                                     W_SUCC(w), W_EPOCH(w));
                if (atomic_compare_exchange_strong(&b->word, &w, nw)) {
                    return -1;
                }
                continue;
            }
            if (failure) {
                if (transition(b, w, PRC_BREAKER_OPEN)) {
                    return PRC_BREAKER_OPEN;
                }
                continue;
            }
            if (W_SUCC(w) + 1 >= b->success_threshold) {
                if (transition(b, w, PRC_BREAKER_CLOSED)) {
                    return PRC_BREAKER_CLOSED;
                }
                continue;
            }
            if (atomic_compare_exchange_strong(
                    &b->word, &w,
                    W_MAKE(PRC_BREAKER_HALF_OPEN, W_PROBES(w), W_SUCC(w) + 1,
                           W_EPOCH(w)))) {
                return -1;
            }
            continue;
        default: /* OPEN: nothing is admitted under this epoch */
            return -1;
        }
    }
    return -1;
}

int
prc_breaker_state(prc_breaker_t *b)
{
    uint64_t w = atomic_load(&b->word);

    if (W_STATE(w) == PRC_BREAKER_OPEN &&
        prc_now() - atomic_load(&b->changed_at) >= b->recovery_ns) {
        return PRC_BREAKER_HALF_OPEN;
    }
    return W_STATE(w);
}

int
prc_breaker_failures(prc_breaker_t *b)
{
    return atomic_load(&b->failures);
}

int
prc_breaker_counts(int code)
{
    switch (code) {
    case PRC_ECONNECT:
    case PRC_ETIMEDOUT:
    case PRC_ECONNLOST:
    case PRC_EPROTO:
    case PRC_EMAXCLIENTS:
    case PRC_ELOADING:
    case PRC_ETLS:
        return 1;
    default:
        return 0;
    }
}
