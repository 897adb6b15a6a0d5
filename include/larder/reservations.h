/*
 * larder — stock reservations: quantities held for an owner (a cart or an order) until they are
 * committed (the goods leave), released, or expire at their TTL.
 *
 * A reservation holds all of its lines or none.  Like engine/stock_ops.c these are pure state
 * changes for the engine's deterministic apply: time comes in as an argument.
 */
#ifndef LARDER_RESERVATIONS_H
#define LARDER_RESERVATIONS_H

#include <stdint.h>

#include "larder/stock.h"

#define LDR_OWNER_MAX         64
#define LDR_RESERVE_LINES_MAX 200

typedef struct ldr_reserve_line {
    uint32_t store;
    uint32_t doc;
    int64_t quantity; /* > 0 */
} ldr_reserve_line_t;

typedef struct ldr_reservation {
    char owner[LDR_OWNER_MAX + 1];
    int64_t expires_at;
    uint32_t nlines;
    ldr_reserve_line_t lines[]; /* as reserved */
} ldr_reservation_t;

typedef struct ldr_reservations ldr_reservations_t;

ldr_reservations_t *ldr_reservations_new(void);
/** Frees the table without touching stock (holds are the stock table's to forget). */
void ldr_reservations_free(ldr_reservations_t *r);
uint32_t ldr_reservations_count(const ldr_reservations_t *r);
/** The owner's reservation, or NULL; valid until the next change to the table. */
const ldr_reservation_t *ldr_reservations_find(const ldr_reservations_t *r, const char *owner,
                                               size_t len);

/**
 * Holds every line for `owner` until expires_at.  Lines naming the same (store, doc) add up.
 * Returns LDR_OK; LDR_ESHORT with the indexes of every line that cannot be held in short_idx
 * (room for n) and their count in *nshort, holding nothing; LDR_EEXIST when the owner already
 * holds a reservation; LDR_EINVAL for an empty or oversized line list, a bad owner or quantity.
 */
int ldr_reservations_reserve(ldr_reservations_t *r, ldr_stock_t *st, const char *owner, size_t len,
                             const ldr_reserve_line_t *lines, uint32_t n, int64_t expires_at,
                             uint32_t *short_idx, uint32_t *nshort);

/** Gives the owner's held stock back.  LDR_ENOENT when it holds none. */
int ldr_reservations_release(ldr_reservations_t *r, ldr_stock_t *st, const char *owner, size_t len);

/**
 * The owner's held goods leave the store (lots consumed first-expired-first-out) and the
 * reservation ends.  *shortfall (may be NULL) gets the units that expiry had already taken.
 * LDR_ENOENT when the owner holds none.
 */
int ldr_reservations_commit(ldr_reservations_t *r, ldr_stock_t *st, const char *owner, size_t len,
                            int64_t *shortfall);

/**
 * Re-creates owner's reservation exactly as a snapshot recorded it, WITHOUT touching stock: the
 * restored stock entries already count these lines in `reserved` (ldr_stock_restore_entry), and
 * the caller vouches that they do.  Lines are copied as given (store and doc are not checked).
 * Returns LDR_OK; LDR_EINVAL for a bad owner (empty, longer than LDR_OWNER_MAX, a NUL inside), a
 * line count outside 1..LDR_RESERVE_LINES_MAX or a quantity outside 1..LDR_QUANTITY_MAX;
 * LDR_EEXIST when the owner already holds a reservation.
 */
int ldr_reservations_restore(ldr_reservations_t *r, const char *owner, size_t len,
                             int64_t expires_at, const ldr_reserve_line_t *lines, uint32_t n);

/** Calls cb for every reservation (in table order, which is not meaningful). */
void ldr_reservations_each(const ldr_reservations_t *r,
                           void (*cb)(void *ctx, const ldr_reservation_t *res), void *ctx);

typedef void (*ldr_reservation_expired_cb)(void *ctx, const ldr_reservation_t *res);
/** Releases every reservation with expires_at <= now, calling cb before each; returns how many. */
uint32_t ldr_reservations_expire(ldr_reservations_t *r, ldr_stock_t *st, int64_t now,
                                 ldr_reservation_expired_cb cb, void *ctx);

/** Moves the expiry of owner's reservation (LDR_NO_EXPIRY: never).  LDR_OK or LDR_ENOENT. */
int ldr_reservations_set_expiry(ldr_reservations_t *r, const char *owner, size_t len,
                                int64_t expires_at);

#endif
