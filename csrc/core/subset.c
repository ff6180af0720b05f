/* subset.c - a subscriber's set of names: a hash table that keeps the
 * order names were added in, for the resubscription. */
#include <stdlib.h>
#include <string.h>

#include "sub_int.h"

static uint64_t
hash_name(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* The slot holding the name, or the empty slot where it would go. */
static size_t
probe(const prc_nameset_t *set, const char *p, size_t len, uint64_t h)
{
    size_t mask = set->cap - 1, i = (size_t)h & mask;

    while (set->slots[i].name != NULL) {
        const prc_name_slot_t *sl = &set->slots[i];
        if (sl->hash == h && sl->len == len &&
            (len == 0 || memcmp(sl->name, p, len) == 0)) {
            return i;
        }
        i = (i + 1) & mask;
    }
    return i;
}

static int
grow(prc_nameset_t *set)
{
    size_t oldcap = set->cap, cap = oldcap ? oldcap * 2 : 16, i;
    prc_name_slot_t *old = set->slots, *slots = calloc(cap, sizeof(*slots));

    if (slots == NULL) {
        return PRC_ENOMEM;
    }
    set->slots = slots;
    set->cap = cap;
    for (i = 0; i < oldcap; i++) {
        if (old[i].name != NULL) {
            slots[probe(set, old[i].name, old[i].len, old[i].hash)] = old[i];
        }
    }
    free(old);
    return 0;
}

int
prc__nameset_add(prc_nameset_t *set, const char *p, size_t len)
{
    uint64_t h = hash_name(p, len);
    size_t i;
    char *copy;

    if ((set->n + 1) * 2 > set->cap && grow(set) != 0) {
        return PRC_ENOMEM;
    }
    i = probe(set, p, len, h);
    if (set->slots[i].name != NULL) {
        return 0;
    }
    copy = malloc(len ? len : 1);
    if (copy == NULL) {
        return PRC_ENOMEM;
    }
    if (len > 0) {
        memcpy(copy, p, len);
    }
    set->slots[i].name = copy;
    set->slots[i].len = len;
    set->slots[i].hash = h;
    set->slots[i].seq = set->next_seq++;
    set->n++;
    return 0;
}

void
prc__nameset_remove(prc_nameset_t *set, const char *p, size_t len)
{
    size_t mask, i, j;

    if (set->n == 0) {
        return;
    }
    mask = set->cap - 1;
    i = probe(set, p, len, hash_name(p, len));
    if (set->slots[i].name == NULL) {
        return;
    }
    free(set->slots[i].name);
    set->slots[i].name = NULL;
    set->n--;
    /* Backward shift: move each later entry of the run into the hole
     * unless its home slot lies cyclically in (hole, its slot]. */
    for (j = (i + 1) & mask; set->slots[j].name != NULL; j = (j + 1) & mask) {
        size_t home = (size_t)set->slots[j].hash & mask;
        int stays = i < j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            set->slots[i] = set->slots[j];
            set->slots[j].name = NULL;
            i = j;
        }
    }
}

void
prc__nameset_clear(prc_nameset_t *set)
{
    size_t i;

    for (i = 0; i < set->cap; i++) {
        free(set->slots[i].name);
        set->slots[i].name = NULL;
    }
    set->n = 0;
}

void
prc__nameset_free(prc_nameset_t *set)
{
    prc__nameset_clear(set);
    free(set->slots);
    set->slots = NULL;
    set->cap = 0;
}

static int
by_seq(const void *a, const void *b)
{
    uint64_t x = (*(const prc_name_slot_t *const *)a)->seq;
    uint64_t y = (*(const prc_name_slot_t *const *)b)->seq;

    return x < y ? -1 : x > y;
}

int
prc__nameset_list(const prc_nameset_t *set, const char **names, size_t *lens)
{
    const prc_name_slot_t **order;
    size_t i, k = 0;

    if (set->n == 0) {
        return 0;
    }
    order = malloc(set->n * sizeof(*order));
    if (order == NULL) {
        return PRC_ENOMEM;
    }
    for (i = 0; i < set->cap; i++) {
        if (set->slots[i].name != NULL) {
            order[k++] = &set->slots[i];
        }
    }
    qsort(order, k, sizeof(*order), by_seq);
    for (i = 0; i < k; i++) {
        names[i] = order[i]->name;
        lens[i] = order[i]->len;
    }
    free(order);
    return 0;
}
