/*
 * larder — orders: what a checkout made, engine state made durable by the log (ORDER_PLACE,
 * ORDER_PAID, ORDER_CANCEL; see larder/command.h), and the delivery slots they hold.
 *
 * An order holds its stock as the reservation owned by its id (larder/reservations.h), so stock
 * and order can never disagree: placing reserves every line or nothing, paying makes the hold
 * last until the order is picked, cancelling releases it, and a hold that expires unpaid (the
 * payment's deadline) cancels the order.  A same-day order also holds one place in its delivery
 * window; the window's count is what cancelled orders gave back.
 *
 * Delivery (a same-day order placed with an address): the order names its courier (a delivery
 * provider, "fake", "grab" or "viettelpost") and the address; the shell books the courier once the
 * order is paid and records what happens to the booking by DELIVERY commands (the booking's
 * tracking id, a failed booking, the courier's progress, its cancellation), see
 * ldr_delivery_status_name.  An order without a courier (a pickup, or a same-day order placed
 * without an address) is delivered by the store itself: its delivery status stays `none`.
 *
 * Status machine (API.md): pending_payment → paid → picking → ready_for_pickup | out_for_delivery
 * → delivered, with cancelled (from pending_payment or paid) and refunded (ORDER_REFUND, from
 * any paid status).  Picking takes the held goods out of stock (the reservation is committed,
 * lots FEFO); a refund before picking releases the hold and the window's place, after it nothing
 * goes back by itself.
 */
#ifndef LARDER_ORDERS_H
#define LARDER_ORDERS_H

#include <stdbool.h>
#include <stdint.h>

#include "larder/catalog.h"
#include "larder/users.h"

#define LDR_ORDER_ID_MAX     32 /* "ord-" and 16 hex digits today */
#define LDR_SLOT_ID_MAX      96 /* "<store>-YYYYMMDD-HH00" */
#define LDR_ORDER_LINES_MAX  200
#define LDR_ORDER_EVENTS_MAX 12
#define LDR_PAY_TOKEN_MAX    128
#define LDR_PAY_REF_MAX      63 /* a provider's payment id ("pi_…") */
#define LDR_TRACKING_MAX     63 /* a courier's id of a booking */
#define LDR_COURIER_MAX      15 /* a delivery provider's name */
/* a delivery address's fields, in bytes of UTF-8 */
#define LDR_ADDR_NAME_MAX  128
#define LDR_ADDR_PHONE_MAX 11 /* national form: 0 and 9 or 10 digits */
#define LDR_ADDR_LINE_MAX  256
#define LDR_ADDR_PART_MAX  96 /* ward, district, city */
/* a line's unit price in VND (a product's is at most 10^12) and quantity (a cart line's, 1000)
 * bound an order's total far below INT64_MAX */
#define LDR_ORDER_PRICE_MAX 1000000000000LL

enum {
    LDR_ORDER_PENDING_PAYMENT = 1,
    LDR_ORDER_PAID,
    LDR_ORDER_PICKING,
    LDR_ORDER_READY_FOR_PICKUP,
    LDR_ORDER_OUT_FOR_DELIVERY,
    LDR_ORDER_DELIVERED,
    LDR_ORDER_CANCELLED,
    LDR_ORDER_REFUNDED,
};

/** "pending_payment", "paid", …; NULL for an unknown status. */
const char *ldr_order_status_name(int status);

/* Where an order's courier booking stands (see above). */
enum {
    LDR_DELIVERY_NONE = 0,       /* no courier: a pickup, or the store delivers */
    LDR_DELIVERY_PENDING,        /* to be booked once paid */
    LDR_DELIVERY_BOOKING_FAILED, /* the courier refused or could not be reached: tried again */
    LDR_DELIVERY_BOOKED,         /* booked: the order has a tracking id */
    LDR_DELIVERY_IN_TRANSIT,     /* the courier has the goods */
    LDR_DELIVERY_DELIVERED,
    LDR_DELIVERY_CANCELLED, /* the booking was cancelled (the order was) */
    LDR_DELIVERY_FAILED,    /* the courier gave up (cancelled or returned on its side) */
};

/** "none", "pending", "booking_failed", "booked", "in_transit", "delivered", "cancelled",
 *  "failed"; NULL for an unknown status. */
const char *ldr_delivery_status_name(int status);

/** A delivery address (Vietnam: ward, district, city), NUL-terminated UTF-8; phone in national
 *  form ("0912345678"). */
typedef struct ldr_order_address {
    char name[LDR_ADDR_NAME_MAX + 1];
    char phone[LDR_ADDR_PHONE_MAX + 1];
    char line1[LDR_ADDR_LINE_MAX + 1];
    char ward[LDR_ADDR_PART_MAX + 1]; /* may be empty */
    char district[LDR_ADDR_PART_MAX + 1];
    char city[LDR_ADDR_PART_MAX + 1];
} ldr_order_address_t;

typedef struct ldr_order_line {
    char sku[LDR_SKU_MAX + 1];
    int32_t quantity;
    bool substitution_allowed;            /* as the cart line said */
    char substituted_by[LDR_SKU_MAX + 1]; /* the product held instead; empty: none */
    int64_t unit_price;                   /* VND, the catalog's when the order was placed */
} ldr_order_line_t;

typedef struct ldr_order_event {
    uint8_t status;
    int64_t at; /* seconds since the epoch */
} ldr_order_event_t;

typedef struct ldr_order {
    char id[LDR_ORDER_ID_MAX + 1];
    char owner[LDR_USER_ID_MAX + 1];
    char store[65];
    char slot[LDR_SLOT_ID_MAX + 1];        /* empty: pickup */
    char provider[16];                     /* the payment provider ("fake") */
    char pay_token[LDR_PAY_TOKEN_MAX + 1]; /* what it is asked with (a token, never card data) */
    char pay_ref[LDR_PAY_REF_MAX + 1];     /* the provider's id of the payment; empty: none */
    uint8_t status;
    char reason[65]; /* why it was cancelled ("payment_declined", "payment_timeout", …) */
    int64_t total, created_at, pay_by;
    uint32_t nevents;
    ldr_order_event_t events[LDR_ORDER_EVENTS_MAX]; /* the timeline, oldest first */
    char courier[LDR_COURIER_MAX + 1];              /* the delivery provider; empty: none */
    uint8_t delivery;                               /* LDR_DELIVERY_* */
    char tracking[LDR_TRACKING_MAX + 1];            /* the courier's id of the booking */
    char delivery_note[65];                         /* why a booking failed, or the courier's */
    ldr_order_address_t address;                    /* with a courier */
    uint32_t nlines;
    ldr_order_line_t lines[]; /* as placed */
} ldr_order_t;

typedef struct ldr_orders ldr_orders_t;

ldr_orders_t *ldr_orders_new(void);
void ldr_orders_free(ldr_orders_t *o);
uint32_t ldr_orders_count(const ldr_orders_t *o);
const ldr_order_t *ldr_orders_find(const ldr_orders_t *o, const char *id, size_t len);

/** Adds an order (copied; its id must be new).  Returns LDR_OK or LDR_EEXIST. */
int ldr_orders_add(ldr_orders_t *o, const ldr_order_t *order);
/** Moves an order to `status` at time `at`, with `reason` (may be empty); LDR_ENOENT. */
/** Records the provider's id of the order's payment (at most LDR_PAY_REF_MAX bytes). */
int ldr_orders_set_pay_ref(ldr_orders_t *o, const char *id, size_t len, const char *ref,
                           size_t rlen);
int ldr_orders_set_status(ldr_orders_t *o, const char *id, size_t len, int status,
                          const char *reason, size_t rlen, int64_t at);

/** Moves the order's courier booking to `status` (LDR_DELIVERY_*), with its tracking id (kept
 *  when tlen is 0) and a note (at most 64 bytes kept); LDR_ENOENT, LDR_EINVAL. */
int ldr_orders_set_delivery(ldr_orders_t *o, const char *id, size_t len, int status,
                            const char *tracking, size_t tlen, const char *note, size_t nlen);

/** Places held in a delivery window by orders not cancelled. */
uint32_t ldr_orders_slot_held(const ldr_orders_t *o, const char *slot, size_t len);

/** Every order, oldest first. */
void ldr_orders_each(const ldr_orders_t *o, void (*cb)(void *ctx, const ldr_order_t *order),
                     void *ctx);

/**
 * The order id a checkout under `key` (an idempotency key, already scoped to its caller) gets:
 * "ord-" and 16 hex digits of a hash of the key, so a retried checkout names the same order.
 */
void ldr_order_id_for(const char *key, size_t len, char out[LDR_ORDER_ID_MAX + 1]);

#endif
