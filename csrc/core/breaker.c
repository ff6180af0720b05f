/* breaker.c - a lock-free circuit breaker: one atomic word, CAS only. */
#include <stdio.h>

#include "prc.h"

/* The state word (prc.h). */
#define PROBE_SHIFT 2
#define SUCC_SHIFT 10
#define LEVEL_SHIFT 18
#define EPOCH_SHIFT 23
#define BYTE_MASK 0xFFull
#define LEVEL_MASK 0x1Full
#define MAX_LEVEL 31
#define MAX_PROBES 255

#define W_STATE(w) ((int)((w)&3))
#define W_PROBES(w) ((int)(((w) >> PROBE_SHIFT) & BYTE_MASK))
#define W_SUCC(w) ((int)(((w) >> SUCC_SHIFT) & BYTE_MASK))
#define W_LEVEL(w) ((int)(((w) >> LEVEL_SHIFT) & LEVEL_MASK))
#define W_EPOCH(w) ((w) >> EPOCH_SHIFT)
#define W_MAKE(st, probes, succ, level, epoch)                                \
    ((uint64_t)(st) | ((uint64_t)(probes) << PROBE_SHIFT) |                   \
     ((uint64_t)(succ) << SUCC_SHIFT) | ((uint64_t)(level) << LEVEL_SHIFT) |  \
     ((uint64_t)(epoch) << EPOCH_SHIFT))

/* A window bucket: bits 0-15 failed calls, 16-31 calls, 32-63 the bucket's
 * sequence number (prc_now() / bucket_ns, modulo 2^32). */
#define B_FAILS(v) ((uint32_t)((v)&0xFFFF))
#define B_CALLS(v) ((uint32_t)(((v) >> 16) & 0xFFFF))
#define B_SEQ(v) ((uint32_t)((v) >> 32))
#define B_MAKE(seq, calls, fails)                                             \
    (((uint64_t)(seq) << 32) | ((uint64_t)(calls) << 16) | (uint64_t)(fails))

static int64_t
seconds_ns(double s)
{
    if (!(s > 0)) {
        return 0;
    }
    if (s > 1e9) {
        s = 1e9;
    }
    return (int64_t)(s * 1e9);
}

void
prc_breaker_init(prc_breaker_t *b, const prc_opts_t *o)
{
    int i;

    atomic_init(&b->word, W_MAKE(PRC_BREAKER_CLOSED, 0, 0, 0, 1));
    atomic_init(&b->changed_at, 0);
    atomic_init(&b->probe_at, 0);
    atomic_init(&b->failures, 0);
    atomic_init(&b->last_event, INT64_MIN);
    for (i = 0; i < PRC_BREAKER_BUCKETS; i++) {
        atomic_init(&b->window[i], 0);
    }
    atomic_init(&b->last_error, 0);
    atomic_init(&b->why, PRC_BREAKER_WHY_NONE);
    atomic_init(&b->why_n, 0);
    atomic_init(&b->why_bad, 0);
    atomic_init(&b->refused, 0);
    atomic_init(&b->opens, 0);
    atomic_init(&b->transitions, 0);
    b->enabled = o->breaker_enabled;
    b->failure_threshold = o->failure_threshold < 1 ? 1 : o->failure_threshold;
    b->success_threshold = o->success_threshold < 1 ? 1 : o->success_threshold;
    if (b->success_threshold > MAX_PROBES) {
        b->success_threshold = MAX_PROBES; /* fits its 8-bit field */
    }
    b->minimum_calls = o->minimum_calls < 1 ? 1 : o->minimum_calls;
    b->failure_rate = o->failure_rate > 0 ? o->failure_rate : 0;
    b->window_ns = seconds_ns(o->failure_window);
    b->bucket_ns = b->window_ns / PRC_BREAKER_BUCKETS;
    if (b->bucket_ns < 1) {
        b->bucket_ns = 1;
    }
    b->recovery_ns = seconds_ns(o->recovery_timeout);
    b->min_open_ns = seconds_ns(o->min_recovery_timeout);
    if (b->min_open_ns > b->recovery_ns) {
        b->min_open_ns = b->recovery_ns;
    }
    if (o->socket_timeout >= 0 && o->connect_timeout >= 0) {
        b->probe_ns = seconds_ns(o->socket_timeout + o->connect_timeout);
    } else {
        b->probe_ns = b->recovery_ns;
    }
}

/* How long the breaker stays open at `level`: min_open doubled `level`
 * times, at most recovery_timeout. */
static int64_t
open_ns(const prc_breaker_t *b, int level)
{
    if (b->min_open_ns == 0) {
        return 0;
    }
    if (level >= 62 || b->min_open_ns > (b->recovery_ns >> level)) {
        return b->recovery_ns;
    }
    return b->min_open_ns << level;
}

/* ---- the sliding window ------------------------------------------------ */

static uint32_t
bucket_seq(const prc_breaker_t *b, int64_t now)
{
    return (uint32_t)(uint64_t)(now / b->bucket_ns);
}

/* Count one settled call (failed or not) in the bucket of time `t`; a
 * time whose bucket was already recycled for a later one is dropped. */
static void
window_add(prc_breaker_t *b, int64_t t, int failed)
{
    uint32_t seq = bucket_seq(b, t);
    _Atomic uint64_t *slot = &b->window[seq % PRC_BREAKER_BUCKETS];
    uint64_t v = atomic_load_explicit(slot, memory_order_relaxed), nv;

    do {
        uint32_t calls = 0, fails = 0;
        if ((int32_t)(seq - B_SEQ(v)) < 0) {
            return; /* a long call: its bucket holds later calls now */
        }
        if (B_SEQ(v) == seq) {
            calls = B_CALLS(v);
            fails = B_FAILS(v);
        }
        if (calls == 0xFFFF) {
            /* Full: halve both, which keeps the bucket's rate. */
            calls /= 2;
            fails /= 2;
        }
        nv = B_MAKE(seq, calls + 1, fails + (failed ? 1 : 0));
    } while (!atomic_compare_exchange_weak_explicit(
        slot, &v, nv, memory_order_relaxed, memory_order_relaxed));
}

/* Calls and failed calls in the buckets of the last failure_window. */
static void
window_sum(prc_breaker_t *b, int64_t now, int64_t *calls, int64_t *fails)
{
    uint32_t cur = bucket_seq(b, now);
    int i;

    *calls = *fails = 0;
    for (i = 0; i < PRC_BREAKER_BUCKETS; i++) {
        uint64_t v = atomic_load_explicit(&b->window[i], memory_order_relaxed);
        if ((uint32_t)(cur - B_SEQ(v)) < PRC_BREAKER_BUCKETS) {
            *calls += B_CALLS(v);
            *fails += B_FAILS(v);
        }
    }
}

static void
window_clear(prc_breaker_t *b)
{
    int i;

    for (i = 0; i < PRC_BREAKER_BUCKETS; i++) {
        atomic_store_explicit(&b->window[i], 0, memory_order_relaxed);
    }
}

/* ---- transitions ---------------------------------------------------------
 */

/* Move from word `w` to state `st` at open level `level` with a new epoch;
 * 1 if this CAS won. */
static int
transition(prc_breaker_t *b, uint64_t w, int st, int level)
{
    uint64_t nw = W_MAKE(st, 0, 0, level, W_EPOCH(w) + 1);

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
    } else if (st == PRC_BREAKER_CLOSED) {
        /* The window held the outage that opened the breaker: start over,
         * or one failure after closing would re-open it. */
        window_clear(b);
    }
    return 1;
}

/* Open from word `w` (CLOSED or HALF_OPEN) and say why; 1 if this CAS won.
 * The reason is written by the winner only, after its CAS. */
static int
open_because(prc_breaker_t *b, uint64_t w, int level, int why, int64_t n,
             int64_t bad)
{
    if (level > MAX_LEVEL) {
        level = MAX_LEVEL;
    }
    if (!transition(b, w, PRC_BREAKER_OPEN, level)) {
        return 0;
    }
    atomic_store(&b->why_n, n);
    atomic_store(&b->why_bad, bad);
    atomic_store(&b->why, why);
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
        int64_t now, since;
        int probes, succ, slots;

        if (W_STATE(w) == PRC_BREAKER_CLOSED) {
            *epoch = W_EPOCH(w);
            return 0;
        }
        now = prc_now();
        since = now - atomic_load(&b->changed_at);
        if (W_STATE(w) == PRC_BREAKER_OPEN) {
            if (since < open_ns(b, W_LEVEL(w))) {
                atomic_fetch_add(&b->refused, 1);
                return PRC_ECIRCUIT;
            }
            if (transition(b, w, PRC_BREAKER_HALF_OPEN, W_LEVEL(w))) {
                *trans = PRC_BREAKER_HALF_OPEN;
            }
            continue;
        }
        /* HALF_OPEN: one probe first; each success doubles the probes
         * allowed in flight, up to success_threshold admitted in all. */
        probes = W_PROBES(w);
        succ = W_SUCC(w);
        slots = succ >= 8 ? MAX_PROBES : 1 << succ;
        if (no_probe || probes >= b->success_threshold ||
            probes - succ >= slots) {
            /* A probe that never reports must not wedge the breaker:
             * after the longest a call can take, re-open. */
            int64_t last = atomic_load(&b->probe_at);
            if (last < now - since) {
                last = now - since; /* a probe of an earlier round */
            }
            if (!no_probe && probes > succ && now - last >= b->probe_ns &&
                open_because(b, w, W_LEVEL(w) + 1, PRC_BREAKER_WHY_PROBE_LOST,
                             0, 0)) {
                *trans = PRC_BREAKER_OPEN;
            }
            atomic_fetch_add(&b->refused, 1);
            return PRC_ECIRCUIT;
        }
        /* Stamped before the CAS, like changed_at: a reader never sees the
         * new probe with an older admission time. */
        atomic_store(&b->probe_at, now);
        if (atomic_compare_exchange_strong(&b->word, &w,
                                           W_MAKE(PRC_BREAKER_HALF_OPEN,
                                                  probes + 1, succ, W_LEVEL(w),
                                                  W_EPOCH(w)))) {
            *epoch = W_EPOCH(w);
            *probe = 1;
            return 0;
        }
    }
    atomic_fetch_add(&b->refused, 1);
    return PRC_ECIRCUIT;
}

/* Is the failure of a call admitted at `started` a new event?  Only if the
 * call started after the last counted event was recorded; then it becomes
 * the last one.  Calls in flight together with it count once. */
static int
new_event(prc_breaker_t *b, int64_t started, int64_t now)
{
    int64_t last = atomic_load(&b->last_event);

    do {
        if (started < last) {
            return 0;
        }
    } while (!atomic_compare_exchange_weak(&b->last_event, &last, now));
    return 1;
}

/* A settled call in the CLOSED state of word `w`. */
static int
record_closed(prc_breaker_t *b, uint64_t w, int64_t started, int failure)
{
    int64_t now, calls = 0, bad = 0;
    int run;

    if (!failure) {
        /* The hot path: no clock read; a success counts in the bucket of
         * its admission, a few microseconds ago for most calls. */
        if (b->failure_rate > 0) {
            window_add(b, started, 0);
        }
        if (atomic_load_explicit(&b->failures, memory_order_relaxed) != 0) {
            atomic_store(&b->failures, 0);
        }
        return -1;
    }
    now = prc_now();
    if (b->failure_rate > 0) {
        window_add(b, now, 1);
    }
    if (new_event(b, started, now)) {
        run = atomic_fetch_add(&b->failures, 1) + 1;
        if (run >= b->failure_threshold) {
            return open_because(b, w, 0, PRC_BREAKER_WHY_RUN, run, 0)
                       ? PRC_BREAKER_OPEN
                       : -1;
        }
    }
    if (b->failure_rate > 0) {
        window_sum(b, now, &calls, &bad);
        if (calls >= b->minimum_calls &&
            (double)bad >= b->failure_rate * (double)calls) {
            return open_because(b, w, 0, PRC_BREAKER_WHY_RATE, calls, bad)
                       ? PRC_BREAKER_OPEN
                       : -1;
        }
    }
    /* A losing CAS above means another thread's transition: this outcome
     * belongs to an epoch that is over. */
    return -1;
}

int
prc_breaker_record(prc_breaker_t *b, uint64_t epoch, int probe,
                   int64_t started, int outcome)
{
    int failure = prc_breaker_counts(outcome);
    int spins;

    if (!b->enabled) {
        return -1;
    }
    if (failure) {
        atomic_store_explicit(&b->last_error, outcome, memory_order_relaxed);
    }
    for (spins = 0; spins < 1000; spins++) {
        uint64_t w = atomic_load(&b->word);
        uint64_t nw;

        if (W_EPOCH(w) != epoch) {
            return -1; /* stale outcome from before a transition */
        }
        if (outcome != PRC_OK && !failure) {
            /* Neutral: says nothing about availability.  A probe gives
             * its slot back. */
            if (W_STATE(w) != PRC_BREAKER_HALF_OPEN || !probe) {
                return -1;
            }
            nw = W_MAKE(PRC_BREAKER_HALF_OPEN,
                        W_PROBES(w) > 0 ? W_PROBES(w) - 1 : 0, W_SUCC(w),
                        W_LEVEL(w), W_EPOCH(w));
            if (atomic_compare_exchange_strong(&b->word, &w, nw)) {
                return -1;
            }
            continue;
        }
        switch (W_STATE(w)) {
        case PRC_BREAKER_CLOSED:
            return record_closed(b, w, started, failure);
        case PRC_BREAKER_HALF_OPEN:
            if (!probe) {
                return -1;
            }
            if (failure) {
                if (open_because(b, w, W_LEVEL(w) + 1, PRC_BREAKER_WHY_PROBE,
                                 0, 0)) {
                    return PRC_BREAKER_OPEN;
                }
                continue;
            }
            if (W_SUCC(w) + 1 >= b->success_threshold) {
                if (transition(b, w, PRC_BREAKER_CLOSED, 0)) {
                    return PRC_BREAKER_CLOSED;
                }
                continue;
            }
            nw = W_MAKE(PRC_BREAKER_HALF_OPEN, W_PROBES(w), W_SUCC(w) + 1,
                        W_LEVEL(w), W_EPOCH(w));
            if (atomic_compare_exchange_strong(&b->word, &w, nw)) {
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
        prc_now() - atomic_load(&b->changed_at) >= open_ns(b, W_LEVEL(w))) {
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

void
prc_breaker_info(prc_breaker_t *b, prc_breaker_info_t *out)
{
    uint64_t w = atomic_load(&b->word);
    int64_t now = prc_now(), n = atomic_load(&b->why_n);
    int64_t bad = atomic_load(&b->why_bad);
    size_t len = sizeof(out->reason);
    int level = W_LEVEL(w);

    out->state = prc_breaker_state(b);
    out->failures = prc_breaker_failures(b);
    window_sum(b, now, &out->window_calls, &out->window_failures);
    out->last_error = atomic_load(&b->last_error);
    out->why = atomic_load(&b->why);
    out->open_ns = open_ns(b, W_STATE(w) == PRC_BREAKER_CLOSED ? 0 : level);
    out->open_left_ns = 0;
    if (W_STATE(w) == PRC_BREAKER_OPEN) {
        int64_t left = atomic_load(&b->changed_at) + out->open_ns - now;
        out->open_left_ns = left > 0 ? left : 0;
    }
    out->reason[0] = '\0';
    if (W_STATE(w) == PRC_BREAKER_CLOSED) {
        return;
    }
    switch (out->why) {
    case PRC_BREAKER_WHY_RATE:
        snprintf(out->reason, len,
                 "failure rate %.2f over %g s (%lld of %lld calls failed)",
                 n > 0 ? (double)bad / (double)n : 0.0,
                 (double)b->window_ns / 1e9, (long long)bad, (long long)n);
        break;
    case PRC_BREAKER_WHY_RUN:
        if (n == 1) {
            snprintf(out->reason, len, "a failure event"); /* threshold 1 */
        } else {
            snprintf(out->reason, len, "%lld consecutive failure events",
                     (long long)n);
        }
        break;
    case PRC_BREAKER_WHY_PROBE:
        snprintf(out->reason, len,
                 "a half-open probe failed: open %d time%s in a row",
                 level + 1, level ? "s" : "");
        break;
    default:
        snprintf(out->reason, len,
                 "a half-open probe did not report within %g s",
                 (double)b->probe_ns / 1e9);
        break;
    }
}
