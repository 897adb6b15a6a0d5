/*
 * larder — delivery providers (couriers), as the shell's booking desk (shell/deliveries.c) and
 * the delivery webhook (shell/routes_webhooks.c) see them.
 *
 * One interface, four operations and a webhook check: quote (what a delivery would cost), book
 * (a courier for an order, once paid), cancel (the order was cancelled), track (where the booking
 * stands), and verify a webhook (the courier pushes its progress).  A provider fills an HTTP call
 * (http_client.h: the adapter thread, a deadline, retries with backoff, a circuit breaker per
 * provider) and reads its answer; the fake one answers at once, without a call.
 *
 * Every booking is named by the order's id (Grab's merchantOrderID, ViettelPost's ORDER_NUMBER):
 * that is its idempotency key.  We assume, as both providers' partner documentation describes
 * for their merchant references, that a repeated booking under the same reference is answered
 * with the booking that exists instead of a second courier, so a booking is retried safely (and
 * again after a restart).  tests/fakes/grab.py and viettelpost.py behave so.
 *
 * `fake` (delivery_fake.c): deterministic, the default.  Books at once with tracking id
 * "FAKE-" and the order's hex digits, cancels and tracks at once; its webhook has Grab's shape
 * and scheme (below), signed with LARDER_FAKE_DELIVERY_WEBHOOK_SECRET in `X-Fake-Signature`
 * (unset: its webhooks are refused, as any provider's without a secret).
 *
 * `grab` (grab.c), when LARDER_GRAB_KEY is set: GrabExpress's partner Delivery API.
 *   book    POST {LARDER_GRAB_URL}/v1/deliveries  {merchantOrderID, serviceType "INSTANT",
 *           paymentMethod "CASHLESS", packages, origin, destination, recipient, sender, schedule}
 *           → {deliveryID, status, quote{amount}, trackingURL}; deliveryID is the tracking id
 *   quote   POST /v1/deliveries/quotes → {quotes:[{amount}]}
 *   cancel  DELETE /v1/deliveries/{deliveryID} (204; 404: nothing to cancel)
 *   track   GET /v1/deliveries/{deliveryID} → {status}
 *   Authorization: Bearer LARDER_GRAB_KEY.  Assumption: the key is an access token that an
 *   operator obtains (Grab's OAuth2 client-credentials grant, scope grab_express.partner_
 *   deliveries) and renews; larder does not run the token exchange itself.
 *   Webhook: {deliveryID, merchantOrderID, status, timestamp, ...}.  Assumption: signed with a
 *   secret shared with Grab (LARDER_GRAB_WEBHOOK_SECRET), `X-Grab-Signature: <lowercase hex
 *   HMAC-SHA256(secret, raw body)>`.  Statuses: ALLOCATING, PENDING_PICKUP, PICKING_UP (booked),
 *   PENDING_DROP_OFF, IN_DELIVERY (in transit), COMPLETED (delivered), CANCELED, FAILED,
 *   IN_RETURN, RETURNED (failed).
 *
 * `viettelpost` (viettelpost.c), when LARDER_VIETTELPOST_TOKEN is set: ViettelPost's partner API
 * v2 (header `Token:`, a long-lived partner token an operator obtains from /v2/user/Login).
 *   book    POST {LARDER_VIETTELPOST_URL}/v2/order/createOrder {ORDER_NUMBER (ours), SENDER_*,
 *           RECEIVER_FULLNAME, RECEIVER_ADDRESS, RECEIVER_PHONE, PRODUCT_*, ORDER_PAYMENT 1 (no
 *           cash on delivery: paid online), ORDER_SERVICE, MONEY_COLLECTION 0}
 *           → {status:200, error:false, data:{ORDER_NUMBER (theirs: the tracking id),
 *           MONEY_TOTAL}}; an answer with error:true is a refusal
 *   quote   POST /v2/order/getPrice → data.MONEY_TOTAL.  Assumption: the address is sent as text;
 *           the real API wants ViettelPost's province and district ids, which larder does not
 *           keep.
 *   cancel  POST /v2/order/UpdateOrder {TYPE:4, ORDER_NUMBER, NOTE}
 *   track   not offered: ViettelPost pushes every status by webhook (LDR_DLV_UNAVAILABLE).
 *   Webhook: {"DATA":{ORDER_NUMBER, ORDER_REFERENCE (ours), ORDER_STATUS, STATUS_NAME, NOTE,
 *   …}, "TOKEN":"…"}: ViettelPost authenticates it by the TOKEN it was registered with
 *   (LARDER_VIETTELPOST_WEBHOOK_TOKEN), compared in constant time.  ORDER_STATUS: 100-104
 *   (booked, before pickup), 105 and 200-500 (in transit), 501 (delivered), 107, 201, 502-504,
 *   515 (cancelled or returned on their side: failed).
 *
 * Common: LARDER_<P>_ATTEMPTS (3), LARDER_<P>_BACKOFF_MS (200, doubling),
 * LARDER_<P>_BREAKER_FAILURES (5), LARDER_<P>_BREAKER_COOLDOWN_MS (30000), P = GRAB or
 * VIETTELPOST; the origin of every delivery (the store) from LARDER_DELIVERY_SENDER_NAME,
 * LARDER_DELIVERY_SENDER_PHONE, LARDER_DELIVERY_SENDER_ADDRESS.
 */
#ifndef LARDER_SHELL_ADAPTERS_DELIVERY_H
#define LARDER_SHELL_ADAPTERS_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_client.h"
#include "larder/orders.h"

enum { LDR_DLV_QUOTE = 1, LDR_DLV_BOOK, LDR_DLV_CANCEL, LDR_DLV_TRACK };

enum {
    LDR_DLV_OK = 1,      /* done (booked, cancelled, quoted, tracked) */
    LDR_DLV_REFUSED,     /* the provider said no (an address it does not serve, …) */
    LDR_DLV_TIMEOUT,     /* no answer in time */
    LDR_DLV_ERROR,       /* an answer nobody can read */
    LDR_DLV_UNAVAILABLE, /* not asked: breaker open, unreachable, 5xx, or not offered */
};

enum { LDR_COURIER_FAKE = 1, LDR_COURIER_GRAB, LDR_COURIER_VIETTELPOST };

/** A configured provider (read once from the environment; lives as long as the process). */
typedef struct ldr_courier {
    int kind;         /* LDR_COURIER_* */
    const char *name; /* "fake", "grab", "viettelpost": what orders and webhook paths say */
    char url[256], key[256], webhook_secret[192];
    char sender_name[64], sender_phone[16], sender_address[256];
    uint32_t attempts, backoff_ms;
    ldr_breaker_t breaker;
} ldr_courier_t;

/** What a booking is about (a copy of the order's parts a provider needs). */
typedef struct ldr_delivery_order {
    char order[LDR_ORDER_ID_MAX + 1];
    char tracking[LDR_TRACKING_MAX + 1]; /* cancel, track: the booking's */
    int64_t total;                       /* VND: the goods' declared value */
    uint32_t items;                      /* units, all lines */
    int64_t window_start;                /* the delivery window's start (seconds); 0: none */
    ldr_order_address_t to;
} ldr_delivery_order_t;

/** A provider's answer. */
typedef struct ldr_delivery_answer {
    int result;                          /* LDR_DLV_* */
    char tracking[LDR_TRACKING_MAX + 1]; /* book: the provider's id of the booking */
    int64_t fee;                         /* quote, book: VND, when it said */
    int status;                          /* track: LDR_DELIVERY_* (0: nothing to change) */
    char detail[96];                     /* what it said ("HTTP 500", "timeout", …) */
} ldr_delivery_answer_t;

/** What a verified webhook says. */
typedef struct ldr_delivery_event {
    char order[LDR_ORDER_ID_MAX + 1];    /* ours, when it names it */
    char tracking[LDR_TRACKING_MAX + 1]; /* the provider's id of the booking */
    int status;                          /* LDR_DELIVERY_*; 0: a status larder does not act on */
    char said[48];                       /* the provider's own status word or code */
} ldr_delivery_event_t;

/** The provider named `name` when it is configured (fake always is), else NULL. */
ldr_courier_t *ldr_courier(const char *name, size_t len);
/** The courier of a same-day order whose checkout names none: LARDER_DELIVERY_PROVIDER when
 *  configured, else "fake". */
ldr_courier_t *ldr_courier_default(void);
/** Whether any configured provider needs the adapter thread. */
bool ldr_couriers_need_http(void);
/** The configured providers, for /metrics: fills out (room for 3), returns how many. */
uint32_t ldr_couriers(ldr_courier_t **out);

/**
 * Prepares operation `op` on `o`: fills c (the caller submits it, then reads it with
 * ldr_courier_answer) and returns true; or answers *a at once (the fake provider, an operation
 * not offered) and returns false.
 */
bool ldr_courier_prepare(ldr_courier_t *k, int op, const ldr_delivery_order_t *o,
                         ldr_http_call_t *c, ldr_delivery_answer_t *a, uint32_t deadline_ms);
/** Reads a finished call of operation `op` into *a. */
void ldr_courier_answer(ldr_courier_t *k, int op, const ldr_http_call_t *c,
                        ldr_delivery_answer_t *a);
/**
 * Checks a webhook (`signature`: the provider's signature header, NULL when absent) and reads
 * it: LDR_OK, LDR_EAUTH (not signed with our secret; nothing of it is to be believed),
 * LDR_EPARSE (signed, but not a webhook of this provider's).
 */
int ldr_courier_webhook(ldr_courier_t *k, const char *signature, size_t slen, const char *payload,
                        size_t len, ldr_delivery_event_t *ev);
/** The request header that carries k's webhook signature ("x-grab-signature"); NULL: none (the
 *  proof is in the body). */
const char *ldr_courier_signature_header(const ldr_courier_t *k);

/* The providers (delivery_fake.c, grab.c, viettelpost.c), for delivery.c. */
void ldr_fake_delivery(int op, const ldr_delivery_order_t *o, ldr_delivery_answer_t *a);
void ldr_grab_call(ldr_courier_t *k, int op, const ldr_delivery_order_t *o, ldr_http_call_t *c);
void ldr_grab_answer(int op, const ldr_http_call_t *c, ldr_delivery_answer_t *a);
int ldr_grab_webhook(const ldr_courier_t *k, const char *payload, size_t len,
                     ldr_delivery_event_t *ev);
int ldr_grab_status(const char *status);
void ldr_vtp_call(ldr_courier_t *k, int op, const ldr_delivery_order_t *o, ldr_http_call_t *c);
void ldr_vtp_answer(int op, const ldr_http_call_t *c, ldr_delivery_answer_t *a);
int ldr_vtp_webhook(const ldr_courier_t *k, const char *payload, size_t len,
                    ldr_delivery_event_t *ev);
int ldr_vtp_status(long long code);
/** Lowercase hex HMAC-SHA256 of payload with secret into hex (65 bytes). */
void ldr_delivery_hmac_hex(const char *secret, const char *payload, size_t len, char hex[65]);
/** Whether s is an id a provider may give a booking: 1..LDR_TRACKING_MAX visible ASCII
 *  characters (NULL: no). */
bool ldr_delivery_id_ok(const char *s);
/** A provider's fee in VND from a JSON number (a json_t *): 0..10^12 as given, anything else
 *  (not a number, negative, NaN, huge) 0, unknown.  (2e200 cast to int64_t is undefined
 *  behaviour: the courier fuzz target found it.) */
int64_t ldr_delivery_fee(const void *json_number);
/** The address as one line: "line1, ward, district, city". */
void ldr_delivery_address_line(const ldr_order_address_t *a, char *out, size_t size);

#endif
