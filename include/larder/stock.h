/*
 * larder — stock per (store, sku): on hand, reserved, version and perishable lots.
 *
 * Stores are interned ids; each store keeps an array of entries indexed by the catalog's doc id, so
 * a stock read is two array lookups.  Lots are kept in first-expired-first-out order (lots without
 * an expiry last).  This version holds what a stock file seeds; reservations and the WAL come with
 * the inventory engine.  Pointers returned stay valid until the next write to the same store.
 */
#ifndef LARDER_STOCK_H
#define LARDER_STOCK_H

#include <stdint.h>

#include "larder/catalog.h"
#include "larder/intern.h"

#define LDR_LOT_ID_MAX   32
#define LDR_STORE_ID_MAX 64
#define LDR_NO_EXPIRY    INT64_MAX
#define LDR_QUANTITY_MAX 1000000000LL

typedef struct ldr_lot {
    char id[LDR_LOT_ID_MAX + 1];
    int64_t quantity;
    int64_t expires_at; /* seconds since the epoch, or LDR_NO_EXPIRY */
} ldr_lot_t;

typedef struct ldr_stock_entry {
    int64_t on_hand;  /* sum of the lots' quantities */
    int64_t reserved; /* held for carts and orders; available = on_hand - reserved */
    uint64_t version; /* bumped by every change */
    uint32_t nlots, caplots;
    ldr_lot_t *lots; /* FEFO order */
} ldr_stock_entry_t;

typedef struct ldr_stock ldr_stock_t;

ldr_stock_t *ldr_stock_new(void);
void ldr_stock_free(ldr_stock_t *st);

const ldr_intern_t *ldr_stock_stores(const ldr_stock_t *st);
/** The id of a store, or UINT32_MAX when no stock was ever recorded for it. */
uint32_t ldr_stock_store_find(const ldr_stock_t *st, const char *id, size_t len);
/** The id of a store, creating it when new. */
uint32_t ldr_stock_store_put(ldr_stock_t *st, const char *id, size_t len);
/** True if s is a valid store id: 1..64 bytes of [a-z0-9_-]. */
bool ldr_store_id_valid(const char *s, size_t len);
/** True if s is a valid lot id: 1..32 bytes of [A-Za-z0-9._-]. */
bool ldr_lot_id_valid(const char *s, size_t len);

/** The entry for (store, doc), or NULL when nothing was ever recorded there. */
const ldr_stock_entry_t *ldr_stock_get(const ldr_stock_t *st, uint32_t store, uint32_t doc);

static inline int64_t ldr_stock_available(const ldr_stock_entry_t *e)
{
    return e == NULL || e->on_hand <= e->reserved ? 0 : e->on_hand - e->reserved;
}

/**
 * Adds `quantity` (> 0) of lot `lot` to (store, doc).  Receiving more of an existing lot adds to
 * it; its expiry must then match (LDR_EEXIST otherwise).  Returns LDR_OK, LDR_EINVAL (unknown
 * store, doc >= LDR_DOC_MAX, bad lot id length) or LDR_ERANGE (quantity).
 */
int ldr_stock_receive(ldr_stock_t *st, uint32_t store, uint32_t doc, const char *lot, size_t lotlen,
                      int64_t quantity, int64_t expires_at);

/** True while doc is inside the store's entry array (entries past it were never written). */
bool ldr_stock_doc_in_range(const ldr_stock_t *st, uint32_t store, uint32_t doc);

/*
 * Restoring (for loading a snapshot).  A stock table is normally built by the changes below; these
 * install entries exactly as a snapshot recorded them, versions included (clients see versions).
 */

/**
 * Why `e` is not an entry that stock changes could have produced, or NULL when it could be one.
 * The message is a constant string; *bad_lot (may be NULL) gets the index of the lot it concerns,
 * or UINT32_MAX.  Checked: version >= 1; on_hand and reserved within 0..LDR_QUANTITY_MAX; every
 * lot id NUL-terminated and valid (ldr_lot_id_valid) and used once; every lot quantity within
 * 1..LDR_QUANTITY_MAX; lots in first-expired-first-out order; on_hand == the sum of the lots.
 * reserved is not compared with on_hand: a lot expiry can take on_hand below reserved.  e->caplots
 * is ignored.  May allocate temporarily (to compare many lot ids); never fails for lack of memory.
 */
const char *ldr_stock_entry_check(const ldr_stock_entry_t *e, uint32_t *bad_lot);

/**
 * Installs the entry for (store, doc) exactly as given: on_hand, reserved, version and a copy of
 * the e->nlots lots (the caller keeps e).  Nothing else changes; in particular the caller vouches
 * that `reserved` matches the reservations it restores (ldr_reservations_restore).  Returns
 * LDR_OK; LDR_EINVAL for an unknown store, doc >= LDR_DOC_MAX, or an entry ldr_stock_entry_check
 * refuses; LDR_EEXIST when (store, doc) already has an entry.
 */
int ldr_stock_restore_entry(ldr_stock_t *st, uint32_t store, uint32_t doc,
                            const ldr_stock_entry_t *e);

/*
 * Changes (engine/stock_ops.c).  Each applies whole or returns an error and changes nothing.
 * LDR_ESHORT: the change would take available stock below zero.
 */

/** on_hand += delta: a positive delta goes into the undated lot "adjust", a negative one is taken
 *  from the lots first-expired-first-out and may not take on_hand below reserved. */
int ldr_stock_adjust(ldr_stock_t *st, uint32_t store, uint32_t doc, int64_t delta);
/** Sets on_hand (an adjust by the difference). */
int ldr_stock_set(ldr_stock_t *st, uint32_t store, uint32_t doc, int64_t on_hand);
/** reserved += quantity when that much is available (LDR_ESHORT otherwise). */
int ldr_stock_hold(ldr_stock_t *st, uint32_t store, uint32_t doc, int64_t quantity);
/** reserved -= quantity (LDR_EINVAL when less is reserved). */
int ldr_stock_unhold(ldr_stock_t *st, uint32_t store, uint32_t doc, int64_t quantity);
/**
 * A held quantity leaves the store: reserved and on_hand both drop, lots are consumed FEFO, and
 * *taken says how much left (less than quantity only when expiry took held goods; the hold is
 * released whole either way).  LDR_EINVAL when less than quantity is held.
 */
int ldr_stock_consume(ldr_stock_t *st, uint32_t store, uint32_t doc, int64_t quantity,
                      int64_t *taken);

typedef void (*ldr_lot_expired_cb)(void *ctx, uint32_t store, uint32_t doc, const ldr_lot_t *lot);
/** Removes every lot with expires_at <= now, calling cb for each; returns how many. */
uint64_t ldr_stock_expire(ldr_stock_t *st, int64_t now, ldr_lot_expired_cb cb, void *ctx);

/**
 * Loads stock JSON Lines ({"sku","store","lot","quantity","expires_at"?}) for products of `cat`.
 * Bad lines and unknown SKUs are reported through `reject` and change nothing.
 */
int ldr_stock_load_jsonl(ldr_stock_t *st, const ldr_catalog_t *cat, const char *buf, size_t len,
                         ldr_reject_cb reject, void *ctx, ldr_load_result_t *result);

#endif
