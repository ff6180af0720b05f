/* fork.c - the fork generation: bumped in every child of a fork. */
#include <pthread.h>

#include "prc_int.h"

static _Atomic uint64_t fork_generation; /* bumped in each child */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* In the child only the forking thread exists: one atomic add, nothing
 * that could wait on a lock some vanished thread held. */
static void
atfork_child(void)
{
    atomic_fetch_add(&fork_generation, 1);
}

static void
install_atfork(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

void
prc__fork_init(void)
{
    pthread_once(&atfork_once, install_atfork);
}

uint64_t
prc_fork_generation(void)
{
    return atomic_load_explicit(&fork_generation, memory_order_relaxed);
}
