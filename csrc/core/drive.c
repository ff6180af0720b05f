/* drive.c - the blocking driver: a call run to its end with poll(2). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>

#include "pool_int.h"

/* A signal interrupted a wait: the call keeps its state and resumes when
 * the caller calls prc_pool_call again. */
static int
interrupted(prc_call_t *call)
{
    call->err = PRC_EINTR;
    snprintf(call->errstr, sizeof(call->errstr), "interrupted");
    return PRC_EINTR;
}

int
prc_pool_call(prc_pool_t *p, prc_call_t *call)
{
    const prc_hooks_t *h = &p->opts.hooks;
    int rc, w;

    for (;;) {
        rc = prc_pool_step(p, call);
        if (rc == PRC_WANT_READ || rc == PRC_WANT_WRITE) {
            w = prc__wait(prc_call_conn(call), rc, call->wait_deadline);
            if (w == PRC_EINTR) {
                return interrupted(call);
            }
            if (w == PRC_ETIMEDOUT) {
                rc = prc_call_timed_out(p, call);
                if (rc != 0) {
                    return rc;
                }
            }
            /* Any other poll failure marked the connection broken: the
             * next step reports it. */
            continue;
        }
        if (rc == PRC_WANT_SLEEP) {
            int64_t left = call->wait_deadline - prc_now();
            if (left > 0) {
                if (h->before_block) {
                    h->before_block(h->ud, PRC_BLOCK_SLEEP);
                }
                w = poll(NULL, 0, (int)((left + 999999) / 1000000));
                if (h->after_block) {
                    h->after_block(h->ud, PRC_BLOCK_SLEEP);
                }
                if (w < 0 && errno == EINTR) {
                    return interrupted(call);
                }
            }
            continue;
        }
        if (rc == PRC_WANT_CREDS) {
            /* A provider that answers later needs a step driver. */
            prc_call_set_creds(call, NULL, NULL,
                               "the credentials provider answers only to an "
                               "event loop (PRC_WANT_CREDS)");
            continue;
        }
        if (rc == PRC_WANT_CONVERT) {
            return rc; /* the caller converts, then resumes the call */
        }
        if (rc == PRC_WANT_POOL) {
            /* Only with PRC_CALL_NONBLOCK, which this driver does not
             * use; treat as a pool timeout rather than spin. */
            return prc_call_timed_out(p, call);
        }
        return rc;
    }
}
