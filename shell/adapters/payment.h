/*
 * larder — payment providers, as the checkout sees them.
 *
 * `fake` (payment_fake.c): deterministic, answering from the token alone, so that a checkout
 * asked again with the same token (after a restart) gets the same answer, as a real provider
 * does for a repeated idempotency key.  The default.
 *
 * `stripe` (stripe.c), when LARDER_STRIPE_KEY is set: PaymentIntents over HTTPS through the
 * adapters' HTTP client (http_client.h), authorised with manual capture, each request under an
 * Idempotency-Key derived from the order, so a retry or a restart asks the same question and gets
 * the first answer; captured when the order is picked.  Refunds through /v1/refunds; webhooks
 * checked per Stripe's scheme (Stripe-Signature: t=…,v1=HMAC-SHA256(secret, "t.payload"), five
 * minutes' tolerance). Environment: LARDER_STRIPE_KEY (the secret key), LARDER_STRIPE_URL (default
 * https://api.stripe.com), LARDER_STRIPE_WEBHOOK_SECRET, LARDER_STRIPE_ATTEMPTS (3),
 * LARDER_STRIPE_BACKOFF_MS (100), LARDER_STRIPE_BREAKER_FAILURES (5),
 * LARDER_STRIPE_BREAKER_COOLDOWN_MS (30000).
 *
 * `momo` (momo.c), when LARDER_MOMO_URL, LARDER_MOMO_PARTNER_CODE, LARDER_MOMO_ACCESS_KEY,
 * LARDER_MOMO_SECRET_KEY and LARDER_MOMO_IPN_URL are set: the wallet's payment gateway (API v2,
 * requestType captureWallet).  A checkout creates the payment (signed request; MoMo's orderId is
 * the order's id) and answers with MoMo's payUrl: the shopper pays in the MoMo app, and MoMo's
 * IPN (POST /v1/webhooks/momo, signed) settles the order; without one the payment deadline
 * cancels it.  Refunds through /v2/gateway/api/refund with the IPN's transId.  Every signature
 * is lowercase hex HMAC-SHA256 with the secret key over "k=v&…" in the field order MoMo fixes.
 */
#ifndef LARDER_SHELL_ADAPTERS_PAYMENT_H
#define LARDER_SHELL_ADAPTERS_PAYMENT_H

#include <stddef.h>
#include <stdint.h>

#include "http_client.h"
#include "larder/orders.h"

enum {
    LDR_PAY_UNKNOWN = 0, /* not a token this provider takes */
    LDR_PAY_OK,          /* authorised (a refund: refunded) */
    LDR_PAY_DECLINE,     /* declined */
    LDR_PAY_TIMEOUT,     /* no answer in time */
    LDR_PAY_ERROR,       /* an answer nobody can read, or a refusal of the request itself */
    LDR_PAY_UNAVAILABLE, /* not asked: the provider's breaker is open, or it cannot be reached */
    LDR_PAY_ASYNC,       /* (checkout) ask the provider through the adapter thread */
    LDR_PAY_PENDING,     /* created: the shopper pays in the provider's app (MoMo) */
};

/** What the fake provider answers for `token` ("fake_ok", "fake_decline", "fake_timeout"). */
int ldr_pay_fake(const char *token, size_t len);

/** A provider's answer to an authorisation or a refund. */
typedef struct ldr_pay_answer {
    int result;      /* LDR_PAY_* */
    char ref[64];    /* the provider's id of the payment (Stripe: the PaymentIntent's) */
    char detail[96]; /* what it said ("card_declined", "HTTP 500"…) */
} ldr_pay_answer_t;

typedef struct ldr_stripe {
    char url[256], key[192], webhook_secret[192];
    uint32_t attempts, backoff_ms;
    ldr_breaker_t breaker;
} ldr_stripe_t;

/** The process's Stripe configuration from the environment, or NULL when LARDER_STRIPE_KEY is
 *  not set (read once). */
ldr_stripe_t *ldr_stripe(void);
/** A Stripe payment method id as the checkout takes it ("pm_…": 1-128 of [A-Za-z0-9_]). */
bool ldr_stripe_token_valid(const char *token, size_t len);
/** Fills c to authorise `amount` VND for `order` with payment method `token` (confirm, manual
 *  capture, Idempotency-Key "larder-auth-ORDER"). */
void ldr_stripe_authorize_call(ldr_stripe_t *s, ldr_http_call_t *c, const char *order,
                               int64_t amount, const char *token, uint32_t deadline_ms);
/** Fills c to capture PaymentIntent `intent` of `order` (Idempotency-Key
 *  "larder-capture-ORDER"): the money is taken when the goods are picked. */
void ldr_stripe_capture_call(ldr_stripe_t *s, ldr_http_call_t *c, const char *order,
                             const char *intent, uint32_t deadline_ms);
/** Fills c to refund PaymentIntent `intent` of `order` in full (Idempotency-Key
 *  "larder-refund-ORDER"). */
void ldr_stripe_refund_call(ldr_stripe_t *s, ldr_http_call_t *c, const char *order,
                            const char *intent, uint32_t deadline_ms);
/** Reads a finished call of either kind into *a. */
void ldr_stripe_answer(const ldr_http_call_t *c, ldr_pay_answer_t *a);
/** Checks a webhook's Stripe-Signature header against the payload at time `now` (seconds):
 *  LDR_OK, or LDR_EAUTH for a missing, malformed, wrong or stale signature. */
int ldr_stripe_verify(const char *secret, const char *header, size_t hlen, const char *payload,
                      size_t len, int64_t now);

/** The parts of a webhook event larder acts on. */
typedef struct ldr_stripe_event {
    char id[96], type[64];
    char order[LDR_ORDER_ID_MAX + 1]; /* data.object.metadata.order_id; empty: none */
    char intent[64];                  /* the PaymentIntent (data.object.id or .payment_intent) */
} ldr_stripe_event_t;

/** Parses an event: LDR_OK or LDR_EPARSE. */
int ldr_stripe_event(const char *payload, size_t len, ldr_stripe_event_t *ev);

typedef struct ldr_momo {
    char url[256], partner[64], access_key[128], secret_key[128], ipn_url[256], redirect_url[256];
    ldr_breaker_t breaker;
} ldr_momo_t;

/** The process's MoMo configuration from the environment, or NULL when it is not complete. */
ldr_momo_t *ldr_momo(void);
/** Fills c to create the payment of `amount` VND for `order` (captureWallet; not retried: MoMo
 *  refuses a repeated orderId, so a second try could only fail). */
void ldr_momo_create_call(ldr_momo_t *m, ldr_http_call_t *c, const char *order, int64_t amount,
                          uint32_t deadline_ms);
/** Fills c to refund `amount` of the payment MoMo numbered `trans_id`, for `order` (the refund's
 *  own MoMo orderId is "ORDER-refund", so a retry is the same request). */
void ldr_momo_refund_call(ldr_momo_t *m, ldr_http_call_t *c, const char *order,
                          const char *trans_id, int64_t amount, uint32_t deadline_ms);
/** Reads a finished create (LDR_PAY_PENDING with the payUrl in a->detail) or refund (LDR_PAY_OK)
 *  into *a. */
void ldr_momo_answer(const ldr_http_call_t *c, ldr_pay_answer_t *a, char *pay_url, size_t size);

/** What an IPN says, once its signature holds. */
typedef struct ldr_momo_ipn {
    char order[LDR_ORDER_ID_MAX + 1];
    char trans_id[32];
    int64_t amount, result_code;
} ldr_momo_ipn_t;

/** Checks an IPN (partner code and signature) and reads it: LDR_OK, LDR_EAUTH (not signed by
 *  this partner's key), LDR_EPARSE (not an IPN). */
int ldr_momo_ipn(ldr_momo_t *m, const char *payload, size_t len, ldr_momo_ipn_t *out);

#endif
