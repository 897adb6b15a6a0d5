/*
 * The reservation table: owner → reservation, an open-addressing table with linear probing and
 * backward-shift deletion (no tombstones, so a busy table of short-lived carts does not rot).
 * Expiry scans the table; with thousands of live reservations that costs microseconds per timer
 * tick, and a heap by expiry is the upgrade when it stops doing so.
 */
#include "larder/reservations.h"

#include <string.h>

#include "larder/intern.h"

struct ldr_reservations {
    ldr_reservation_t **slots;
    uint32_t mask, count;
    /* no hold expires before this (a lower bound: a hold whose expiry moved later may have set
     * it): the expiry tick scans the table only once it is reached, so paid orders' holds, which
     * never expire, cost nothing per tick */
    int64_t next_expiry;
};

ldr_reservations_t *ldr_reservations_new(void)
{
    ldr_reservations_t *r = ldr_calloc(1, sizeof(*r));
    r->mask = 63;
    r->next_expiry = INT64_MAX;
    r->slots = ldr_calloc(r->mask + 1, sizeof(*r->slots));
    return r;
}

void ldr_reservations_free(ldr_reservations_t *r)
{
    if (r == NULL)
        return;
    for (uint32_t i = 0; i <= r->mask; i++)
        ldr_free(r->slots[i]);
    ldr_free(r->slots);
    ldr_free(r);
}

uint32_t ldr_reservations_count(const ldr_reservations_t *r)
{
    return r->count;
}

static uint32_t ldr__home(const ldr_reservations_t *r, const char *owner, size_t len)
{
    return (uint32_t)ldr_hash(owner, len) & r->mask;
}

/* The slot holding owner, or the empty slot where it would go. */
static uint32_t ldr__slot(const ldr_reservations_t *r, const char *owner, size_t len)
{
    for (uint32_t i = ldr__home(r, owner, len);; i = (i + 1) & r->mask) {
        const ldr_reservation_t *res = r->slots[i];
        if (res == NULL || (strlen(res->owner) == len && memcmp(res->owner, owner, len) == 0))
            return i;
    }
}

const ldr_reservation_t *ldr_reservations_find(const ldr_reservations_t *r, const char *owner,
                                               size_t len)
{
    return len == 0 || len > LDR_OWNER_MAX ? NULL : r->slots[ldr__slot(r, owner, len)];
}

static void ldr__grow(ldr_reservations_t *r)
{
    ldr_reservation_t **old = r->slots;
    uint32_t oldsize = r->mask + 1;
    r->mask = oldsize * 2 - 1;
    r->slots = ldr_calloc(r->mask + 1, sizeof(*r->slots));
    for (uint32_t i = 0; i < oldsize; i++)
        if (old[i] != NULL)
            r->slots[ldr__slot(r, old[i]->owner, strlen(old[i]->owner))] = old[i];
    ldr_free(old);
}

/* Removes the reservation in slot i, shifting later members of its probe run back. */
static void ldr__remove(ldr_reservations_t *r, uint32_t i)
{
    ldr_free(r->slots[i]);
    r->slots[i] = NULL;
    r->count--;
    for (uint32_t j = (i + 1) & r->mask; r->slots[j] != NULL; j = (j + 1) & r->mask) {
        ldr_reservation_t *res = r->slots[j];
        uint32_t home = ldr__home(r, res->owner, strlen(res->owner));
        /* move res into the hole unless its home lies cyclically in (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        r->slots[i] = res;
        r->slots[j] = NULL;
        i = j;
    }
}

/* The checks reserve and restore share: owner and lines are well-formed. */
static bool ldr__request_ok(const char *owner, size_t len, const ldr_reserve_line_t *lines,
                            uint32_t n)
{
    if (len == 0 || len > LDR_OWNER_MAX || memchr(owner, '\0', len) != NULL || n == 0 ||
        n > LDR_RESERVE_LINES_MAX)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (lines[i].quantity <= 0 || lines[i].quantity > LDR_QUANTITY_MAX)
            return false;
    return true;
}

/* Puts a new reservation into the empty slot `slot`. */
static void ldr__insert(ldr_reservations_t *r, uint32_t slot, const char *owner, size_t len,
                        const ldr_reserve_line_t *lines, uint32_t n, int64_t expires_at)
{
    ldr_reservation_t *res = ldr_malloc(sizeof(*res) + n * sizeof(res->lines[0]));
    memcpy(res->owner, owner, len);
    res->owner[len] = '\0';
    res->expires_at = expires_at;
    if (expires_at < r->next_expiry)
        r->next_expiry = expires_at;
    res->nlines = n;
    memcpy(res->lines, lines, n * sizeof(lines[0]));
    r->slots[slot] = res;
    if (++r->count * 2 > r->mask + 1)
        ldr__grow(r);
}

int ldr_reservations_reserve(ldr_reservations_t *r, ldr_stock_t *st, const char *owner, size_t len,
                             const ldr_reserve_line_t *lines, uint32_t n, int64_t expires_at,
                             uint32_t *short_idx, uint32_t *nshort)
{
    *nshort = 0;
    if (!ldr__request_ok(owner, len, lines, n))
        return LDR_EINVAL;
    uint32_t slot = ldr__slot(r, owner, len);
    if (r->slots[slot] != NULL)
        return LDR_EEXIST;
    /* check every line against what is available, counting earlier lines of the same item */
    for (uint32_t i = 0; i < n; i++) {
        int64_t need = 0;
        for (uint32_t k = 0; k <= i; k++)
            if (lines[k].store == lines[i].store && lines[k].doc == lines[i].doc)
                need += lines[k].quantity;
        const ldr_stock_entry_t *e = ldr_stock_get(st, lines[i].store, lines[i].doc);
        if (ldr_stock_available(e) < need)
            short_idx[(*nshort)++] = i;
    }
    if (*nshort > 0)
        return LDR_ESHORT;
    for (uint32_t i = 0; i < n; i++)
        ldr_stock_hold(st, lines[i].store, lines[i].doc, lines[i].quantity); /* checked above */
    ldr__insert(r, slot, owner, len, lines, n, expires_at);
    return LDR_OK;
}

int ldr_reservations_restore(ldr_reservations_t *r, const char *owner, size_t len,
                             int64_t expires_at, const ldr_reserve_line_t *lines, uint32_t n)
{
    if (!ldr__request_ok(owner, len, lines, n))
        return LDR_EINVAL;
    uint32_t slot = ldr__slot(r, owner, len);
    if (r->slots[slot] != NULL)
        return LDR_EEXIST;
    ldr__insert(r, slot, owner, len, lines, n, expires_at);
    return LDR_OK;
}

static void ldr__unhold_all(ldr_stock_t *st, const ldr_reservation_t *res)
{
    for (uint32_t i = 0; i < res->nlines; i++)
        ldr_stock_unhold(st, res->lines[i].store, res->lines[i].doc, res->lines[i].quantity);
}

int ldr_reservations_release(ldr_reservations_t *r, ldr_stock_t *st, const char *owner, size_t len)
{
    if (ldr_reservations_find(r, owner, len) == NULL)
        return LDR_ENOENT;
    uint32_t slot = ldr__slot(r, owner, len);
    ldr__unhold_all(st, r->slots[slot]);
    ldr__remove(r, slot);
    return LDR_OK;
}

int ldr_reservations_commit(ldr_reservations_t *r, ldr_stock_t *st, const char *owner, size_t len,
                            int64_t *shortfall)
{
    if (ldr_reservations_find(r, owner, len) == NULL)
        return LDR_ENOENT;
    uint32_t slot = ldr__slot(r, owner, len);
    const ldr_reservation_t *res = r->slots[slot];
    int64_t missing = 0;
    for (uint32_t i = 0; i < res->nlines; i++) {
        int64_t taken = 0;
        ldr_stock_consume(st, res->lines[i].store, res->lines[i].doc, res->lines[i].quantity,
                          &taken);
        missing += res->lines[i].quantity - taken;
    }
    if (shortfall != NULL)
        *shortfall = missing;
    ldr__remove(r, slot);
    return LDR_OK;
}

void ldr_reservations_each(const ldr_reservations_t *r,
                           void (*cb)(void *ctx, const ldr_reservation_t *res), void *ctx)
{
    for (uint32_t i = 0; i <= r->mask; i++)
        if (r->slots[i] != NULL)
            cb(ctx, r->slots[i]);
}

uint32_t ldr_reservations_expire(ldr_reservations_t *r, ldr_stock_t *st, int64_t now,
                                 ldr_reservation_expired_cb cb, void *ctx)
{
    uint32_t expired = 0;
    if (now < r->next_expiry)
        return 0;             /* nothing can be due yet */
    int64_t next = INT64_MAX; /* the earliest expiry of what stays */
    for (uint32_t i = 0; i <= r->mask;) {
        ldr_reservation_t *res = r->slots[i];
        if (res == NULL || res->expires_at > now) {
            if (res != NULL && res->expires_at < next)
                next = res->expires_at;
            i++;
            continue;
        }
        if (cb != NULL)
            cb(ctx, res);
        ldr__unhold_all(st, res);
        ldr__remove(r, i); /* a later entry may shift into slot i: look at it again */
        expired++;
    }
    r->next_expiry = next;
    return expired;
}

int ldr_reservations_set_expiry(ldr_reservations_t *r, const char *owner, size_t len,
                                int64_t expires_at)
{
    if (len == 0 || len > LDR_OWNER_MAX)
        return LDR_ENOENT;
    ldr_reservation_t *res = r->slots[ldr__slot(r, owner, len)];
    if (res == NULL)
        return LDR_ENOENT;
    res->expires_at = expires_at;
    if (expires_at < r->next_expiry)
        r->next_expiry = expires_at;
    return LDR_OK;
}
