/* String interning with an open-addressing table of ids; see include/larder/intern.h. */
#include "larder/intern.h"

#include <string.h>
#include <xxhash.h>

uint64_t ldr_hash(const void *p, size_t len)
{
    return XXH3_64bits(p, len);
}

void ldr_intern_init(ldr_intern_t *t)
{
    memset(t, 0, sizeof(*t));
}

void ldr_intern_free(ldr_intern_t *t)
{
    for (uint32_t i = 0; i < t->count; i++)
        ldr_free((void *)t->strings[i].ptr);
    ldr_free(t->strings);
    ldr_free(t->slots);
    memset(t, 0, sizeof(*t));
}

static uint32_t *ldr__intern_slot(const ldr_intern_t *t, const char *s, size_t len)
{
    for (uint32_t i = (uint32_t)ldr_hash(s, len) & t->mask;; i = (i + 1) & t->mask) {
        uint32_t id = t->slots[i];
        if (id == 0 || ldr_str_eq(t->strings[id - 1], s, len))
            return &t->slots[i];
    }
}

static void ldr__intern_grow(ldr_intern_t *t)
{
    uint32_t size = t->slots ? (t->mask + 1) * 2 : 64;
    ldr_free(t->slots);
    t->slots = ldr_calloc(size, sizeof(*t->slots));
    t->mask = size - 1;
    for (uint32_t id = 0; id < t->count; id++)
        *ldr__intern_slot(t, t->strings[id].ptr, t->strings[id].len) = id + 1;
}

uint32_t ldr_intern_find(const ldr_intern_t *t, const char *s, size_t len)
{
    if (t->slots == NULL)
        return UINT32_MAX;
    uint32_t id = *ldr__intern_slot(t, s, len);
    return id == 0 ? UINT32_MAX : id - 1;
}

uint32_t ldr_intern_put(ldr_intern_t *t, const char *s, size_t len)
{
    uint32_t id = ldr_intern_find(t, s, len);
    if (id != UINT32_MAX)
        return id;
    /* keep the load factor at or below one half */
    if (t->slots == NULL || (t->count + 1) * 2 > t->mask + 1)
        ldr__intern_grow(t);
    if (t->count == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->strings = ldr_realloc(t->strings, t->cap * sizeof(*t->strings));
    }
    id = t->count++;
    t->strings[id] = (ldr_str_t){ldr_strndup(s, len), (uint32_t)len};
    *ldr__intern_slot(t, s, len) = id + 1;
    return id;
}
