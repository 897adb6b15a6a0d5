/*
 * larder — string interning: maps short strings (categories, brands, tags, store ids) to dense ids.
 *
 * Ids start at 0 and are never reused.  Strings are copied into storage owned by the table and stay
 * valid until ldr_intern_free().
 */
#ifndef LARDER_INTERN_H
#define LARDER_INTERN_H

#include <stdint.h>

#include "larder/common.h"

typedef struct ldr_intern {
    ldr_str_t *strings; /* id → string */
    uint32_t count, cap;
    uint32_t *slots; /* open addressing: id + 1, 0 = empty */
    uint32_t mask;
} ldr_intern_t;

void ldr_intern_init(ldr_intern_t *t);
void ldr_intern_free(ldr_intern_t *t);
/** The id of s, adding it when absent. */
uint32_t ldr_intern_put(ldr_intern_t *t, const char *s, size_t len);
/** The id of s, or UINT32_MAX when absent. */
uint32_t ldr_intern_find(const ldr_intern_t *t, const char *s, size_t len);
static inline ldr_str_t ldr_intern_str(const ldr_intern_t *t, uint32_t id)
{
    return t->strings[id];
}
static inline uint32_t ldr_intern_count(const ldr_intern_t *t)
{
    return t->count;
}

/** XXH3 of a string, the hash every larder table uses. */
uint64_t ldr_hash(const void *p, size_t len);

#endif
