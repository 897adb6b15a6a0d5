/*
 * larder — engine commands: what the write-ahead log records and the engine applies.
 *
 * A command names things the way the outside world does (store ids, SKUs, lot ids, owners), never
 * by in-memory ids, so a log replays onto a catalog loaded in any order.  Its binary encoding is
 * the WAL record payload (the record type is the command type):
 *
 *   every field little-endian; a string is u16 length + bytes; an integer is i64
 *   RECEIVE  store, sku, lot, quantity, expires_at (LDR_NO_EXPIRY for none) [request]
 *   ADJUST   store, sku, reason, quantity (the delta) [request]
 *   SET      store, sku, reason, quantity (the new on_hand) [request]
 *   RESERVE  owner, expires_at, u16 line count, then per line: store, sku, quantity
 *   COMMIT   owner [effects: u16 line count, per line: store, sku, quantity; i64 shortfall]
 *   RELEASE  owner [effects: u16 line count, per line: store, sku, quantity]
 *   TICK     [effects: u32 lot count, per lot: store, sku, lot, quantity, expires_at;
 *             u32 reservation count, per reservation: owner, u16 line count, lines as above]
 *            (the record's time is the clock reading that expires lots and reservations)
 *   USER_ADD owner (the user id), email, name, locale, u16 role, password_hash
 *   CART_SET owner (the user id), sku, quantity (0..1000; 0 removes), u16 substitution_allowed
 *   PRODUCT_PUT  product: the product's JSON as ldr_product_render writes it (the import format)
 *   PRODUCT_DEL  sku
 *   ORDER_PLACE  order (its id), owner (the user id), store, slot (empty: pickup), i64 slot
 *                capacity, i64 pay_by (the hold's expiry), provider, payment token (what the
 *                provider is asked with, again after a restart), u16 line count, then per
 *                line: sku, quantity, unit price, u16 substitution_allowed, alts (the
 *                substitutes to try, see ldr_cmd_line_t) [request] [delivery: courier (the
 *                delivery provider), the address's name, phone, line1, ward (may be empty),
 *                district, city] (a delivery section without a request writes an empty key, u16
 *                0, in the request's place; records older than addresses have none)
 *   ORDER_PAID   order [payment reference: the provider's id of the payment, when it has one]
 *   ORDER_CANCEL order, reason
 *   ORDER_STATUS order, u16 status (picking, ready_for_pickup, out_for_delivery, delivered)
 *   ORDER_REFUND order, reason [request] (the provider refunded it first; before picking the
 *                hold and the delivery window are given back, after it nothing goes back to
 *                stock by itself)
 *   DELIVERY     order, u16 delivery status (LDR_DELIVERY_BOOKING_FAILED, BOOKED, IN_TRANSIT,
 *                DELIVERED, CANCELLED, FAILED), tracking (the courier's id of the booking; BOOKED
 *                only, required there), note (why a booking failed, what the courier said)
 *
 * Effects: what a command did that depends on the state it met (the lines a commit consumed, the
 * lots a tick expired).  The engine logs them with the command, so that every logged record
 * names its domain events by itself (ldr_cmd_events; the WAL is the outbox) and replay can check
 * that it reproduces them.  A command as a client asks for it has none; decode accepts both.
 *
 * Request: an idempotency key (string, see larder/idempotency.h) and a u64 fingerprint of the
 * request.  A command with a key whose live entry has the same fingerprint changes nothing and
 * reports `replayed`; another fingerprint is refused with LDR_ECONFLICT; a new key is recorded
 * when the command applies.
 *
 * Decoding is strict: a known type, every length in bounds, identifiers valid, and exactly the
 * bytes of the payload consumed.  Applying is a pure function of (state, command, time).
 */
#ifndef LARDER_COMMAND_H
#define LARDER_COMMAND_H

#include <stdint.h>

#include "larder/buf.h"
#include "larder/carts.h"
#include "larder/catalog.h"
#include "larder/idempotency.h"
#include "larder/orders.h"
#include "larder/reservations.h"
#include "larder/stock.h"
#include "larder/users.h"

enum {
    LDR_CMD_RECEIVE = 1,
    LDR_CMD_ADJUST = 2,
    LDR_CMD_SET = 3,
    LDR_CMD_RESERVE = 4,
    LDR_CMD_COMMIT = 5,
    LDR_CMD_RELEASE = 6,
    LDR_CMD_TICK = 7,
    LDR_CMD_USER_ADD = 8,
    LDR_CMD_CART_SET = 9,
    LDR_CMD_PRODUCT_PUT = 10,
    LDR_CMD_PRODUCT_DEL = 11,
    LDR_CMD_ORDER_PLACE = 12,
    LDR_CMD_ORDER_PAID = 13,
    LDR_CMD_ORDER_CANCEL = 14,
    LDR_CMD_ORDER_STATUS = 15,
    LDR_CMD_ORDER_REFUND = 16,
    LDR_CMD_DELIVERY = 17,
};

/* A rendered product is far below this (names 512, descriptions 8 KiB, lists 32 short items);
 * it is what a u16-length string can hold. */
#define LDR_PRODUCT_JSON_MAX UINT16_MAX

#define LDR_REASON_MAX 128

typedef struct ldr_cmd_line {
    ldr_str_t store, sku;
    int64_t quantity;
    int64_t price;  /* ORDER_PLACE: the unit price the customer was shown */
    ldr_str_t alts; /* ORDER_PLACE: substitutes to try when the line is short, best first,
                       comma-separated SKUs (at most LDR_ORDER_ALTS_MAX); empty: none */
} ldr_cmd_line_t;

#define LDR_ORDER_ALTS_MAX 4

typedef struct ldr_cmd {
    uint16_t type;
    ldr_str_t store, sku, lot, reason, owner;
    int64_t quantity;   /* RECEIVE: > 0; ADJUST: the delta; SET: the new on_hand */
    int64_t expires_at; /* RECEIVE: the lot's; RESERVE: the reservation's */
    uint32_t nlines;
    const ldr_cmd_line_t *lines; /* RESERVE; COMMIT and RELEASE effects */
    /* decoded effects (see above): present says the payload carried them */
    bool has_effects;
    int64_t shortfall; /* COMMIT */
    ldr_str_t effects; /* TICK: the raw effects, read with ldr_cmd_events */
    /* USER_ADD (owner is the user id) */
    ldr_str_t email, name, locale, password_hash;
    uint16_t role; /* USER_ADD; ORDER_STATUS: the status to move to; DELIVERY: the delivery
                      status (LDR_DELIVERY_*) */
    bool substitution_allowed; /* CART_SET */
    ldr_str_t replacement;     /* CART_SET: the customer's chosen substitute (empty: best match) */
    ldr_str_t product;         /* PRODUCT_PUT */
    ldr_str_t order, slot;     /* ORDER_*: the order id; ORDER_PLACE: its delivery window */
    ldr_str_t provider;        /* ORDER_PLACE: the payment provider */
    ldr_str_t pay_token;       /* ORDER_PLACE: the token the provider is asked with */
    ldr_str_t pay_ref;         /* ORDER_PAID: the provider's id of the payment (may be empty) */
    ldr_str_t courier;         /* ORDER_PLACE: the delivery provider (empty: none, no address) */
    struct {
        ldr_str_t name, phone, line1, ward, district, city;
    } address;          /* ORDER_PLACE, with a courier */
    ldr_str_t tracking; /* DELIVERY: the courier's id of the booking (BOOKED) */
    uint8_t substitute[(LDR_RESERVE_LINES_MAX + 7) / 8]; /* ORDER_PLACE: per line, a bit */
    /* RECEIVE, ADJUST, SET: the client request this answers (idem_key.len 0: none) */
    ldr_str_t idem_key;
    uint64_t idem_fingerprint;
} ldr_cmd_t;

/** Appends the encoding of c to out.  Returns LDR_OK, or LDR_EINVAL for a command that
 *  ldr_cmd_decode would refuse (so nothing undecodable reaches the log). */
int ldr_cmd_encode(const ldr_cmd_t *c, ldr_buf_t *out);

/**
 * Decodes a payload of the given type.  Strings point into `data`; lines go to `lines` (room for
 * LDR_RESERVE_LINES_MAX).  Returns LDR_OK or LDR_EPARSE.
 */
int ldr_cmd_decode(uint16_t type, const void *data, size_t len, ldr_cmd_t *c,
                   ldr_cmd_line_t *lines);

/** What applying a command did. */
typedef struct ldr_cmd_result {
    int status;      /* LDR_OK, LDR_ENOENT (unknown sku/store/owner), LDR_ESHORT, LDR_EEXIST… */
    uint32_t nshort; /* RESERVE refused: the short lines' indexes */
    uint32_t short_idx[LDR_RESERVE_LINES_MAX];
    int64_t shortfall; /* COMMIT: units expiry had taken */
    uint64_t expired;  /* TICK: lots plus reservations expired */
    bool replayed;     /* a request already answered under its idempotency key: no change */
    bool created;      /* PRODUCT_PUT: the SKU had no live product */
    bool noop; /* accepted, but nothing changed (removing an absent cart line, deleting a product
                  that is not there, putting one exactly as it is) */
} ldr_cmd_result_t;

/** The state commands change. */
typedef struct ldr_state {
    ldr_catalog_t *catalog; /* products change by PRODUCT_PUT and PRODUCT_DEL */
    ldr_stock_t *stock;
    ldr_reservations_t *reservations;
    ldr_idem_t *idem;     /* NULL: idempotency keys are not remembered */
    ldr_users_t *users;   /* NULL: USER_ADD is refused */
    ldr_carts_t *carts;   /* NULL: CART_SET is refused */
    ldr_orders_t *orders; /* NULL: ORDER_* are refused */
    /* the catalog already holds every product change (a failed log reopened and replayed into a
     * fresh state): PRODUCT_PUT and PRODUCT_DEL, and the products of a snapshot, leave it be */
    bool catalog_fixed;
} ldr_state_t;

/**
 * Applies c at time `now` (seconds; the command's stamp).  Deterministic: the same commands in the
 * same order give the same state.  A refused command changes nothing.  Always fills *res and
 * returns res->status.
 */
int ldr_cmd_apply(ldr_state_t *s, const ldr_cmd_t *c, int64_t now, ldr_cmd_result_t *res);

/**
 * ldr_cmd_apply for the log: a successful COMMIT, RELEASE or TICK also appends its effects'
 * encoding to `effects` (after the command's own, that makes the logged payload).
 */
int ldr_cmd_apply_logged(ldr_state_t *s, const ldr_cmd_t *c, int64_t now, ldr_cmd_result_t *res,
                         ldr_buf_t *effects);

/** A domain event, as the outbox publishes it (API.md, "Events"); strings borrow the command. */
typedef struct ldr_event {
    const char *name; /* "StockReceived", "StockAdjusted", "StockReserved", "StockCommitted",
                         "StockReleased", "LotExpired", "ReservationExpired", "UserRegistered"
                         (owner: the user id; no email, name or hash in events),
                         "ProductUpserted", "ProductDeleted" (sku), "OrderPlaced" (order,
                         owner: the customer, store, lines), "OrderPaid", "OrderCancelled"
                         (order, reason), "OrderRefunded", "OrderPicking", …,
                         "DeliveryBooked" (order, tracking), "DeliveryBookingFailed",
                         "DeliveryInTransit", "DeliveryDelivered", "DeliveryCancelled",
                         "DeliveryFailed" (order, reason: the note) */
    ldr_str_t store, sku, lot, owner, reason, order;
    ldr_str_t tracking; /* Delivery*: the courier's id of the booking, once booked */
    int64_t quantity;   /* received, adjusted by (or set to, with `set`), expired; 0 otherwise */
    bool set;           /* StockAdjusted by SET: quantity is the new on_hand */
    int64_t expires_at; /* a lot's or a reservation's; LDR_NO_EXPIRY when none */
    int64_t shortfall;  /* StockCommitted: units that expiry had taken */
    uint32_t nlines;    /* StockReserved, StockCommitted, StockReleased, ReservationExpired */
    const ldr_cmd_line_t *lines;
} ldr_event_t;

typedef void (*ldr_event_cb)(void *ctx, const ldr_event_t *ev);

/**
 * Calls cb for each domain event of a logged command (decoded with its effects), in order.  A
 * reservation's lines for ReservationExpired come one event at a time through `lines` (room for
 * LDR_RESERVE_LINES_MAX, the caller's).  Returns how many events there were.
 */
uint32_t ldr_cmd_events(const ldr_cmd_t *c, ldr_cmd_line_t *lines, ldr_event_cb cb, void *ctx);

/** A hash of the whole stock and reservation state, for replay and determinism checks. */
uint64_t ldr_state_hash(const ldr_state_t *s);

#endif
