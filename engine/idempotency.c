/*
 * The idempotency table: open addressing with linear probing over XXH3 of the key.  Entries are
 * never deleted one by one; ldr_idem_purge rebuilds the table without the expired ones.  It is
 * called by every expiry tick (each second) but rebuilds only once the oldest entry has been
 * expired for LDR__PURGE_SLACK: a rebuild is O(entries), a day of keys is millions, and it runs
 * under the engine's write lock (a soak measured p99 growing with the key count when it rebuilt
 * every second).  Lookups ignore expired entries, so the timing changes nothing but memory.
 */
#include "larder/idempotency.h"

#include <string.h>

#include "larder/common.h"
#include "larder/intern.h"

#define LDR__PURGE_SLACK 600 /* seconds of expired entries kept between rebuilds */

struct ldr_idem {
    ldr_idem_entry_t **slots;
    uint64_t *hashes;
    uint32_t mask, count;
    int64_t oldest; /* no entry is older (a lower bound); INT64_MAX: none */
};

ldr_idem_t *ldr_idem_new(void)
{
    ldr_idem_t *t = ldr_calloc(1, sizeof(*t));
    t->mask = 255;
    t->slots = ldr_calloc(t->mask + 1, sizeof(*t->slots));
    t->hashes = ldr_calloc(t->mask + 1, sizeof(*t->hashes));
    t->oldest = INT64_MAX;
    return t;
}

void ldr_idem_free(ldr_idem_t *t)
{
    if (t == NULL)
        return;
    for (uint32_t i = 0; i <= t->mask; i++)
        ldr_free(t->slots[i]);
    ldr_free(t->slots);
    ldr_free(t->hashes);
    ldr_free(t);
}

uint32_t ldr_idem_count(const ldr_idem_t *t)
{
    return t->count;
}

/* The slot holding key, or the empty slot where it would go. */
static uint32_t ldr__slot(const ldr_idem_t *t, const char *key, size_t len, uint64_t h)
{
    uint32_t i = (uint32_t)h & t->mask;
    while (t->slots[i] != NULL && !(t->hashes[i] == h && t->slots[i]->key_len == len &&
                                    memcmp(t->slots[i]->key, key, len) == 0))
        i = (i + 1) & t->mask;
    return i;
}

const ldr_idem_entry_t *ldr_idem_find(const ldr_idem_t *t, const char *key, size_t len, int64_t now)
{
    const ldr_idem_entry_t *e = t->slots[ldr__slot(t, key, len, ldr_hash(key, len))];
    return e != NULL && e->time > now - LDR_IDEM_TTL ? e : NULL;
}

static void ldr__insert(ldr_idem_t *t, ldr_idem_entry_t *e, uint64_t h)
{
    uint32_t i = (uint32_t)h & t->mask;
    while (t->slots[i] != NULL)
        i = (i + 1) & t->mask;
    t->slots[i] = e;
    t->hashes[i] = h;
    t->count++;
}

/* Rebuilds the table with room for `cap` slots, dropping the entries expired by `expired_by`. */
static uint32_t ldr__rebuild(ldr_idem_t *t, uint32_t cap, int64_t expired_by)
{
    ldr_idem_entry_t **old = t->slots;
    uint64_t *oldh = t->hashes;
    uint32_t oldmask = t->mask, dropped = 0;
    t->mask = cap - 1;
    t->slots = ldr_calloc(cap, sizeof(*t->slots));
    t->hashes = ldr_calloc(cap, sizeof(*t->hashes));
    t->count = 0;
    t->oldest = INT64_MAX;
    for (uint32_t i = 0; i <= oldmask; i++) {
        if (old[i] == NULL)
            continue;
        if (old[i]->time <= expired_by - LDR_IDEM_TTL) {
            ldr_free(old[i]);
            dropped++;
        } else {
            ldr__insert(t, old[i], oldh[i]);
            if (old[i]->time < t->oldest)
                t->oldest = old[i]->time;
        }
    }
    ldr_free(old);
    ldr_free(oldh);
    return dropped;
}

void ldr_idem_put(ldr_idem_t *t, const char *key, size_t len, uint64_t fingerprint, int64_t time)
{
    uint64_t h = ldr_hash(key, len);
    uint32_t i = ldr__slot(t, key, len, h);
    ldr_idem_entry_t *e = t->slots[i];
    if (e != NULL) { /* an expired entry of the same key: reused */
        e->fingerprint = fingerprint, e->time = time;
        return;
    }
    if ((t->count + 1) * 4 > (t->mask + 1) * 3) {
        ldr__rebuild(t, (t->mask + 1) * 2, INT64_MIN + LDR_IDEM_TTL);
        i = ldr__slot(t, key, len, h);
    }
    e = ldr_malloc(sizeof(*e) + len);
    e->fingerprint = fingerprint, e->time = time, e->key_len = (uint32_t)len;
    if (time < t->oldest)
        t->oldest = time;
    memcpy(e->key, key, len);
    t->slots[i] = e;
    t->hashes[i] = h;
    t->count++;
}

uint32_t ldr_idem_purge(ldr_idem_t *t, int64_t now)
{
    if (t->oldest > now - LDR_IDEM_TTL - LDR__PURGE_SLACK)
        return 0; /* nothing expired long enough ago to be worth a rebuild */
    uint32_t cap = t->mask + 1;
    while (cap > 256 && t->count * 4 < cap)
        cap /= 2; /* shrink after a busy day */
    return ldr__rebuild(t, cap, now);
}

void ldr_idem_each(const ldr_idem_t *t, void (*cb)(void *ctx, const ldr_idem_entry_t *e), void *ctx)
{
    for (uint32_t i = 0; i <= t->mask; i++)
        if (t->slots[i] != NULL)
            cb(ctx, t->slots[i]);
}
