/*
 * A per-thread cache of rendered /v1/search and /v1/suggest responses.
 *
 * Storefront traffic repeats itself: the same few hundred queries make most of the load.  Entries
 * are keyed by the request's path and query string exactly as received, and stamped with the
 * application's data epoch: any change to the catalog or stock bumps the epoch, and an entry from
 * an older epoch is a miss.  The cache is direct-mapped (a colliding insert replaces) and bounded
 * in bytes; a response that would not fit is simply not cached.  A body is stored in two parts
 * around its "took_us" value, which is written fresh on every hit.
 */
#include <string.h>

#include "http_internal.h"

typedef struct ldr__cache_entry {
    uint64_t hash;
    uint64_t epoch;
    char *key; /* one allocation: key, then prefix, then suffix */
    uint32_t key_len, prefix_len, suffix_len;
} ldr__cache_entry_t;

struct ldr_search_cache {
    ldr__cache_entry_t *entries;
    uint32_t mask;
    size_t bytes, max_bytes;
    uint64_t hits, misses;
};

ldr_search_cache_t *ldr_search_cache_new(uint32_t entries, size_t max_bytes)
{
    if (entries == 0)
        return NULL;
    uint32_t n = 1;
    while (n < entries && n < (1u << 20))
        n *= 2;
    ldr_search_cache_t *c = ldr_calloc(1, sizeof(*c));
    c->entries = ldr_calloc(n, sizeof(*c->entries));
    c->mask = n - 1;
    c->max_bytes = max_bytes;
    return c;
}

static void ldr__cache_drop(ldr_search_cache_t *c, ldr__cache_entry_t *e)
{
    if (e->key == NULL)
        return;
    c->bytes -= (size_t)e->key_len + e->prefix_len + e->suffix_len;
    ldr_free(e->key);
    memset(e, 0, sizeof(*e));
}

void ldr_search_cache_free(ldr_search_cache_t *c)
{
    if (c == NULL)
        return;
    for (uint32_t i = 0; i <= c->mask; i++)
        ldr__cache_drop(c, &c->entries[i]);
    ldr_free(c->entries);
    ldr_free(c);
}

bool ldr_search_cache_get(ldr_search_cache_t *c, const char *key, size_t len, uint64_t epoch,
                          h2o_iovec_t *prefix, h2o_iovec_t *suffix)
{
    if (c == NULL)
        return false;
    uint64_t h = ldr_hash(key, len);
    ldr__cache_entry_t *e = &c->entries[h & c->mask];
    if (e->key == NULL || e->hash != h || e->epoch != epoch || e->key_len != len ||
        memcmp(e->key, key, len) != 0) {
        c->misses++;
        return false;
    }
    c->hits++;
    *prefix = h2o_iovec_init(e->key + e->key_len, e->prefix_len);
    *suffix = h2o_iovec_init(e->key + e->key_len + e->prefix_len, e->suffix_len);
    return true;
}

void ldr_search_cache_put(ldr_search_cache_t *c, const char *key, size_t len, uint64_t epoch,
                          const char *prefix, size_t plen, const char *suffix, size_t slen)
{
    if (c == NULL)
        return;
    size_t size = len + plen + slen;
    uint64_t h = ldr_hash(key, len);
    ldr__cache_entry_t *e = &c->entries[h & c->mask];
    ldr__cache_drop(c, e);
    if (size > c->max_bytes / 8 || c->bytes + size > c->max_bytes)
        return;
    e->key = ldr_malloc(size);
    memcpy(e->key, key, len);
    memcpy(e->key + len, prefix, plen);
    memcpy(e->key + len + plen, suffix, slen);
    e->hash = h, e->epoch = epoch;
    e->key_len = (uint32_t)len, e->prefix_len = (uint32_t)plen, e->suffix_len = (uint32_t)slen;
    c->bytes += size;
}
