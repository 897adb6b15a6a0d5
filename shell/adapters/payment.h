/*
 * larder — payment providers, as the checkout sees them.  This version has the `fake` provider
 * only: deterministic, answering from the token alone, so that a checkout asked again with the
 * same token (after a restart) gets the same answer, as a real provider does for a repeated
 * idempotency key.
 */
#ifndef LARDER_SHELL_ADAPTERS_PAYMENT_H
#define LARDER_SHELL_ADAPTERS_PAYMENT_H

#include <stddef.h>

enum {
    LDR_PAY_UNKNOWN = 0, /* not a token this provider takes */
    LDR_PAY_OK,          /* authorised */
    LDR_PAY_DECLINE,     /* declined */
    LDR_PAY_TIMEOUT,     /* no answer: the checkout gives up after its timeout */
};

/** What the fake provider answers for `token` ("fake_ok", "fake_decline", "fake_timeout"). */
int ldr_pay_fake(const char *token, size_t len);

#endif
