/* test_subset.c - a subscriber's name set (subset.c): membership, the
 * order names were added in, removal inside probe runs, allocation. */
#include <stdio.h>
#include <stdlib.h>

#include "sub_int.h"
#include "task.h"

/* The set's names in order, joined by spaces, into out. */
static int
joined(const prc_nameset_t *set, char *out, size_t cap)
{
    const char *names[64];
    size_t lens[64], i, n = 0;
    int rc;

    out[0] = '\0';
    if (set->n > 64) {
        return PRC_EINVAL;
    }
    rc = prc__nameset_list(set, names, lens);
    for (i = 0; rc == 0 && i < set->n && n < cap; i++) {
        int k = snprintf(out + n, cap - n, "%s%.*s", i ? " " : "",
                         (int)lens[i], names[i]);
        n += k > 0 ? (size_t)k : 0;
    }
    return rc;
}

TEST_IMPL(subset_order)
{
    prc_nameset_t set = {0};
    char t[256], name[16];
    int i;

    ASSERT_EQ(joined(&set, t, sizeof(t)), 0); /* empty: nothing to list */
    ASSERT_STR_EQ(t, "");
    prc__nameset_remove(&set, "x", 1); /* from an empty set: nothing */
    for (i = 0; i < 12; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        ASSERT_EQ(prc__nameset_add(&set, name, strlen(name)), 0);
    }
    ASSERT_EQ(prc__nameset_add(&set, "n3", 2), 0); /* there: kept once */
    ASSERT_EQ(set.n, 12);
    prc__nameset_remove(&set, "n3", 2);
    prc__nameset_remove(&set, "n0", 2);
    prc__nameset_remove(&set, "nope", 4);
    ASSERT_EQ(prc__nameset_add(&set, "n3", 2), 0); /* added again: last */
    ASSERT_EQ(prc__nameset_add(&set, "", 0), 0);
    ASSERT_EQ(joined(&set, t, sizeof(t)), 0);
    ASSERT_STR_EQ(t, "n1 n2 n4 n5 n6 n7 n8 n9 n10 n11 n3 ");
    prc__nameset_clear(&set);
    ASSERT_EQ(set.n, 0);
    ASSERT_EQ(prc__nameset_add(&set, "after", 5), 0);
    ASSERT_EQ(joined(&set, t, sizeof(t)), 0);
    ASSERT_STR_EQ(t, "after");
    prc__nameset_free(&set);
    ASSERT_NULL(set.slots);
    ASSERT_EQ(set.n, 0);
    prc__nameset_free(&set); /* twice: harmless */
    return TEST_OK;
}

TEST_IMPL(subset_alloc)
{
    prc_nameset_t set = {0};
    char t[64];
    int rc;

    if (!failalloc_available()) {
        SKIP("built without -Wl,--wrap=malloc (see tests/c/Makefile)");
    }
    /* Adding fails cleanly: sub_alloc.  Listing needs its order. */
    ASSERT_EQ(prc__nameset_add(&set, "a", 1), 0);
    failalloc_arm(1);
    rc = joined(&set, t, sizeof(t));
    failalloc_arm(0);
    ASSERT_CODE(rc, PRC_ENOMEM);
    ASSERT_EQ(joined(&set, t, sizeof(t)), 0);
    ASSERT_STR_EQ(t, "a");
    prc__nameset_free(&set);
    return TEST_OK;
}
