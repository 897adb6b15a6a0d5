/*
 * Changing stock: adjustments, absolute sets, holding and releasing reservations, consuming lots
 * first-expired-first-out, and expiring lots.  Every function either applies whole or returns an
 * error and changes nothing; every change bumps the entry's version.  These are the pieces the
 * engine's deterministic apply is made of: no clock, no I/O, time comes in as an argument.
 *
 * Invariants kept here: on_hand is the sum of the lots, 0 <= reserved, and no operation except lot
 * expiry takes on_hand below reserved (an expiry can: the goods are gone; available then reads 0
 * and the shortfall is the caller's to settle with the reservation's owner).
 */
#include <string.h>

#include "larder/stock.h"

#define LDR__ADJUST_LOT "adjust"

/* The writable entry for (store, doc), or NULL when nothing was ever received there. */
static ldr_stock_entry_t *ldr__entry_rw(ldr_stock_t *st, uint32_t store, uint32_t doc)
{
    return (ldr_stock_entry_t *)ldr_stock_get(st, store, doc);
}

/* Takes `quantity` out of the lots, earliest expiry first; the caller checked on_hand. */
static void ldr__take_fefo(ldr_stock_entry_t *e, int64_t quantity)
{
    uint32_t keep = 0;
    for (uint32_t i = 0; i < e->nlots; i++) {
        ldr_lot_t *l = &e->lots[i];
        int64_t take = quantity < l->quantity ? quantity : l->quantity;
        l->quantity -= take;
        quantity -= take;
        if (l->quantity > 0)
            e->lots[keep++] = *l;
    }
    e->nlots = keep;
}

int ldr_stock_adjust(ldr_stock_t *st, uint32_t store, uint32_t doc, int64_t delta)
{
    if (store >= ldr_intern_count(ldr_stock_stores(st)) || doc >= LDR_DOC_MAX)
        return LDR_EINVAL;
    if (delta < -LDR_QUANTITY_MAX || delta > LDR_QUANTITY_MAX)
        return LDR_ERANGE;
    if (delta > 0)
        return ldr_stock_receive(st, store, doc, LDR__ADJUST_LOT, strlen(LDR__ADJUST_LOT), delta,
                                 LDR_NO_EXPIRY);
    ldr_stock_entry_t *e = ldr__entry_rw(st, store, doc);
    if (delta == 0)
        return LDR_OK;
    if (e == NULL || e->on_hand + delta < e->reserved)
        return LDR_ESHORT;
    ldr__take_fefo(e, -delta);
    e->on_hand += delta;
    e->version++;
    return LDR_OK;
}

int ldr_stock_set(ldr_stock_t *st, uint32_t store, uint32_t doc, int64_t on_hand)
{
    if (on_hand < 0 || on_hand > LDR_QUANTITY_MAX)
        return LDR_ERANGE;
    const ldr_stock_entry_t *e = ldr_stock_get(st, store, doc);
    return ldr_stock_adjust(st, store, doc, on_hand - (e ? e->on_hand : 0));
}

int ldr_stock_hold(ldr_stock_t *st, uint32_t store, uint32_t doc, int64_t quantity)
{
    ldr_stock_entry_t *e = ldr__entry_rw(st, store, doc);
    if (quantity <= 0)
        return LDR_ERANGE;
    if (e == NULL || ldr_stock_available(e) < quantity)
        return LDR_ESHORT;
    e->reserved += quantity;
    e->version++;
    return LDR_OK;
}

int ldr_stock_unhold(ldr_stock_t *st, uint32_t store, uint32_t doc, int64_t quantity)
{
    ldr_stock_entry_t *e = ldr__entry_rw(st, store, doc);
    if (e == NULL || quantity <= 0 || quantity > e->reserved)
        return LDR_EINVAL;
    e->reserved -= quantity;
    e->version++;
    return LDR_OK;
}

int ldr_stock_consume(ldr_stock_t *st, uint32_t store, uint32_t doc, int64_t quantity,
                      int64_t *taken)
{
    ldr_stock_entry_t *e = ldr__entry_rw(st, store, doc);
    if (e == NULL || quantity <= 0 || quantity > e->reserved)
        return LDR_EINVAL;
    /* an expiry may have taken held goods: consume what is there, release the rest */
    int64_t take = quantity < e->on_hand ? quantity : e->on_hand;
    ldr__take_fefo(e, take);
    e->on_hand -= take;
    e->reserved -= quantity;
    e->version++;
    *taken = take;
    return LDR_OK;
}

uint64_t ldr_stock_expire(ldr_stock_t *st, int64_t now, ldr_lot_expired_cb cb, void *ctx)
{
    uint64_t expired = 0;
    const ldr_intern_t *stores = ldr_stock_stores(st);
    for (uint32_t s = 0; s < ldr_intern_count(stores); s++) {
        for (uint32_t doc = 0;; doc++) {
            ldr_stock_entry_t *e;
            if (!ldr_stock_doc_in_range(st, s, doc))
                break;
            if ((e = ldr__entry_rw(st, s, doc)) == NULL || e->nlots == 0 ||
                e->lots[0].expires_at > now)
                continue; /* lots are in FEFO order: the first one decides */
            uint32_t keep = 0;
            for (uint32_t i = 0; i < e->nlots; i++) {
                ldr_lot_t *l = &e->lots[i];
                if (l->expires_at > now) {
                    e->lots[keep++] = *l;
                    continue;
                }
                e->on_hand -= l->quantity;
                expired++;
                if (cb != NULL)
                    cb(ctx, s, doc, l);
            }
            e->nlots = keep;
            e->version++;
        }
    }
    return expired;
}
