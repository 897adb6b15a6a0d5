/* The Stripe adapter's pure parts: webhook signatures, reading answers, reading events. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "../../../shell/adapters/payment.h"
#include "../../helpers.h"

#define SECRET "whsec_unit"

static void sign(char *header, size_t size, const char *secret, int64_t t, const char *payload)
{
    ldr_test_stripe_sign(header, size, secret, t, payload);
}

static int verify(const char *header, const char *payload, int64_t now)
{
    return ldr_stripe_verify(SECRET, header, strlen(header), payload, strlen(payload), now);
}

Test(stripe, webhook_signatures)
{
    const char *p = "{\"id\":\"evt_1\"}";
    char h[256], other[256], both[600];
    int64_t t = 1795600000;
    sign(h, sizeof(h), SECRET, t, p);
    cr_assert_eq(verify(h, p, t), LDR_OK);
    cr_assert_eq(verify(h, p, t + 299), LDR_OK);
    cr_assert_eq(verify(h, p, t + 301), LDR_EAUTH, "stale");
    cr_assert_eq(verify(h, p, t - 301), LDR_EAUTH, "from the future");
    cr_assert_eq(verify(h, "{\"id\":\"evt_2\"}", t), LDR_EAUTH, "another payload");
    sign(other, sizeof(other), "whsec_other", t, p);
    cr_assert_eq(verify(other, p, t), LDR_EAUTH, "another secret");
    /* Stripe sends one v1 per active secret (while one is rolled): any may match; v0 is not
     * ours to check */
    snprintf(both, sizeof(both), "%s,v0=abc,%s", other, strstr(h, "v1="));
    cr_assert_eq(verify(both, p, t), LDR_OK, "%s", both);
    /* malformed headers */
    static const char *const bad[] = {
        "", "t=", "v1=00", "t=abc,v1=00", "t=1795600000", "t=1795600000,v1=zz"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(verify(bad[i], p, t), LDR_EAUTH, "%s", bad[i]);
    h[strlen(h) - 1] ^= 1; /* one hex digit off */
    cr_assert_eq(verify(h, p, t), LDR_EAUTH);
    cr_assert_eq(ldr_stripe_verify("", h, strlen(h), p, strlen(p), t), LDR_EAUTH, "no secret");
}

static ldr_pay_answer_t answer(int outcome, long status, const char *body)
{
    ldr_http_call_t c = {.outcome = outcome, .status = status, .tries = 3};
    if (body != NULL)
        ldr_buf_puts(&c.response, body);
    ldr_pay_answer_t a;
    ldr_stripe_answer(&c, &a);
    ldr_buf_free(&c.response);
    return a;
}

Test(stripe, answers)
{
    ldr_pay_answer_t a =
        answer(LDR_HTTP_OK, 200,
               "{\"id\":\"pi_1\",\"object\":\"payment_intent\",\"status\":\"requires_capture\"}");
    cr_assert(a.result == LDR_PAY_OK && strcmp(a.ref, "pi_1") == 0);
    a = answer(LDR_HTTP_OK, 200,
               "{\"id\":\"pi_2\",\"object\":\"payment_intent\",\"status\":\"requires_action\"}");
    cr_assert_eq(a.result, LDR_PAY_DECLINE, "3-D Secure is not something a server can finish");
    a = answer(LDR_HTTP_OK, 402,
               "{\"error\":{\"type\":\"card_error\",\"code\":\"card_declined\",\"payment_intent\":"
               "{\"id\":\"pi_3\"}}}");
    cr_assert(a.result == LDR_PAY_DECLINE && strcmp(a.detail, "card_declined") == 0 &&
              strcmp(a.ref, "pi_3") == 0);
    a = answer(LDR_HTTP_OK, 200,
               "{\"id\":\"re_1\",\"object\":\"refund\",\"payment_intent\":\"pi_1\",\"status\":"
               "\"succeeded\"}");
    cr_assert(a.result == LDR_PAY_OK && strcmp(a.ref, "pi_1") == 0);
    cr_assert_eq(answer(LDR_HTTP_OK, 200, "{\"id\": \"pi_").result, LDR_PAY_ERROR);
    cr_assert_eq(answer(LDR_HTTP_OK, 200, "[]").result, LDR_PAY_ERROR);
    cr_assert_eq(answer(LDR_HTTP_OK, 200, "{}").result, LDR_PAY_ERROR);
    cr_assert_eq(
        answer(LDR_HTTP_OK, 401, "{\"error\":{\"type\":\"invalid_request_error\"}}").result,
        LDR_PAY_ERROR);
    cr_assert_eq(answer(LDR_HTTP_OK, 503, "{\"error\":{\"type\":\"api_error\"}}").result,
                 LDR_PAY_UNAVAILABLE);
    cr_assert_eq(answer(LDR_HTTP_OK, 429, "{\"error\":{}}").result, LDR_PAY_UNAVAILABLE);
    cr_assert_eq(answer(LDR_HTTP_TIMEOUT, 0, NULL).result, LDR_PAY_TIMEOUT);
    cr_assert_eq(answer(LDR_HTTP_FAILED, 0, NULL).result, LDR_PAY_UNAVAILABLE);
    a = answer(LDR_HTTP_OPEN, 0, NULL);
    cr_assert(a.result == LDR_PAY_UNAVAILABLE && strcmp(a.detail, "circuit_open") == 0);
}

Test(stripe, events)
{
    ldr_stripe_event_t ev;
    const char *pi = "{\"id\":\"evt_1\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":"
                     "{\"id\":\"pi_9\",\"object\":\"payment_intent\",\"metadata\":{\"order_id\":"
                     "\"ord-1\"}}}}";
    cr_assert_eq(ldr_stripe_event(pi, strlen(pi), &ev), LDR_OK);
    cr_assert_str_eq(ev.type, "payment_intent.succeeded");
    cr_assert_str_eq(ev.intent, "pi_9");
    cr_assert_str_eq(ev.order, "ord-1");
    const char *ch = "{\"id\":\"evt_2\",\"type\":\"charge.refunded\",\"data\":{\"object\":{\"id\":"
                     "\"ch_1\",\"object\":\"charge\",\"payment_intent\":\"pi_9\"}}}";
    cr_assert_eq(ldr_stripe_event(ch, strlen(ch), &ev), LDR_OK);
    cr_assert_str_eq(ev.intent, "pi_9", "a charge names its PaymentIntent");
    cr_assert_str_eq(ev.order, "");
    static const char *const bad[] = {"", "[]", "{\"id\":\"e\",\"type\":\"t\"}",
                                      "{\"id\":1,\"type\":\"t\",\"data\":{\"object\":{}}}",
                                      "{\"id\":\"e\",\"type\":\"t\",\"data\":{\"object\":[]}}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(ldr_stripe_event(bad[i], strlen(bad[i]), &ev), LDR_EPARSE, "%s", bad[i]);
}

Test(stripe, requests)
{
    setenv("LARDER_STRIPE_KEY", "sk_test_unit", 1);
    setenv("LARDER_STRIPE_URL", "http://127.0.0.1:9/", 1);
    ldr_stripe_t *s = ldr_stripe();
    cr_assert_not_null(s);
    cr_assert_str_eq(s->url, "http://127.0.0.1:9", "the trailing slash is dropped");
    ldr_http_call_t c = {0};
    ldr_stripe_authorize_call(s, &c, "ord-1", 120000, "pm_card_visa", 3000);
    cr_assert_str_eq(c.url, "http://127.0.0.1:9/v1/payment_intents");
    cr_assert_str_eq(c.headers[0], "Authorization: Bearer sk_test_unit");
    cr_assert_str_eq(c.headers[1], "Idempotency-Key: larder-auth-ord-1");
    ldr_buf_putc(&c.body, '\0');
    cr_assert_str_eq(c.body.base, "amount=120000&currency=vnd&payment_method=pm_card_visa&confirm="
                                  "true&capture_method=manual&metadata%5Border_id%5D=ord-1");
    cr_assert(c.retry_safe && c.attempts == 3 && c.breaker == &s->breaker);
    ldr_http_call_clear(&c);
    cr_assert(ldr_stripe_token_valid("pm_card_visa", 12));
    cr_assert(!ldr_stripe_token_valid("pm card", 7));
    cr_assert(!ldr_stripe_token_valid("pm&x=1", 6), "a token cannot add form fields");
    cr_assert(!ldr_stripe_token_valid("", 0));
}
