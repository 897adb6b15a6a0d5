/* The Stripe payment provider (shell/adapters/payment.h). */
#include "payment.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "larder/common.h"

#define LDR__STRIPE_TOLERANCE 300 /* seconds a webhook's timestamp may be off */

static ldr_stripe_t ldr__stripe;
static bool ldr__stripe_on;
static pthread_once_t ldr__stripe_once = PTHREAD_ONCE_INIT;

static uint32_t ldr__env_u32(const char *name, uint32_t dflt, uint32_t lo, uint32_t hi)
{
    const char *v = getenv(name);
    long long x = v != NULL && *v != '\0' ? atoll(v) : -1;
    return x >= lo && x <= hi ? (uint32_t)x : dflt;
}

static void ldr__stripe_load(void)
{
    const char *key = getenv("LARDER_STRIPE_KEY"), *url = getenv("LARDER_STRIPE_URL"),
               *hook = getenv("LARDER_STRIPE_WEBHOOK_SECRET");
    if (key == NULL || *key == '\0' || strlen(key) >= sizeof(ldr__stripe.key))
        return;
    ldr_stripe_t *s = &ldr__stripe;
    snprintf(s->key, sizeof(s->key), "%s", key);
    snprintf(s->url, sizeof(s->url), "%s",
             url != NULL && *url != '\0' ? url : "https://api.stripe.com");
    size_t n = strlen(s->url);
    if (n > 0 && s->url[n - 1] == '/')
        s->url[n - 1] = '\0';
    snprintf(s->webhook_secret, sizeof(s->webhook_secret), "%s", hook != NULL ? hook : "");
    s->attempts = ldr__env_u32("LARDER_STRIPE_ATTEMPTS", 3, 1, 10);
    s->backoff_ms = ldr__env_u32("LARDER_STRIPE_BACKOFF_MS", 100, 1, 60000);
    s->breaker = (ldr_breaker_t){
        .name = "stripe",
        .threshold = ldr__env_u32("LARDER_STRIPE_BREAKER_FAILURES", 5, 1, 1000),
        .cooldown_ms = ldr__env_u32("LARDER_STRIPE_BREAKER_COOLDOWN_MS", 30000, 10, 3600000)};
    ldr__stripe_on = true;
}

ldr_stripe_t *ldr_stripe(void)
{
    pthread_once(&ldr__stripe_once, ldr__stripe_load);
    return ldr__stripe_on ? &ldr__stripe : NULL;
}

bool ldr_stripe_token_valid(const char *token, size_t len)
{
    bool ok = len >= 1 && len <= LDR_PAY_TOKEN_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = (token[i] >= 'a' && token[i] <= 'z') || (token[i] >= 'A' && token[i] <= 'Z') ||
             (token[i] >= '0' && token[i] <= '9') || token[i] == '_';
    return ok;
}

/* key=value&… (form encoding; values escaped). */
static void ldr__form(ldr_buf_t *b, const char *key, const char *value)
{
    char *esc = curl_easy_escape(NULL, value, 0);
    ldr_buf_printf(b, "%s%s=%s", b->len ? "&" : "", key, esc != NULL ? esc : "");
    curl_free(esc);
}

static void ldr__call(ldr_stripe_t *s, ldr_http_call_t *c, const char *path, const char *idem,
                      uint32_t deadline_ms)
{
    c->method = "POST";
    snprintf(c->url, sizeof(c->url), "%s%s", s->url, path);
    snprintf(c->headers[0], sizeof(c->headers[0]), "Authorization: Bearer %s", s->key);
    snprintf(c->headers[1], sizeof(c->headers[1]), "Idempotency-Key: %s", idem);
    snprintf(c->headers[2], sizeof(c->headers[2]),
             "Content-Type: application/x-www-form-urlencoded");
    snprintf(c->headers[3], sizeof(c->headers[3]), "Expect:"); /* no 100-continue round trip */
    c->deadline_ms = deadline_ms;
    c->attempts = s->attempts;
    c->backoff_ms = s->backoff_ms;
    c->retry_safe = true; /* Stripe answers a repeated Idempotency-Key with the first answer */
    c->breaker = &s->breaker;
}

void ldr_stripe_authorize_call(ldr_stripe_t *s, ldr_http_call_t *c, const char *order,
                               int64_t amount, const char *token, uint32_t deadline_ms)
{
    char idem[96], amt[32];
    snprintf(idem, sizeof(idem), "larder-auth-%s", order);
    ldr__call(s, c, "/v1/payment_intents", idem, deadline_ms);
    snprintf(amt, sizeof(amt), "%lld", (long long)amount);
    ldr__form(&c->body, "amount", amt); /* VND has no minor unit: the amount is in dong */
    ldr__form(&c->body, "currency", "vnd");
    ldr__form(&c->body, "payment_method", token);
    ldr__form(&c->body, "confirm", "true");
    ldr__form(&c->body, "capture_method", "manual");
    ldr__form(&c->body, "metadata%5Border_id%5D", order);
}

void ldr_stripe_capture_call(ldr_stripe_t *s, ldr_http_call_t *c, const char *order,
                             const char *intent, uint32_t deadline_ms)
{
    char idem[96], path[128];
    snprintf(idem, sizeof(idem), "larder-capture-%s", order);
    snprintf(path, sizeof(path), "/v1/payment_intents/%s/capture", intent);
    ldr__call(s, c, path, idem, deadline_ms);
}

void ldr_stripe_refund_call(ldr_stripe_t *s, ldr_http_call_t *c, const char *order,
                            const char *intent, uint32_t deadline_ms)
{
    char idem[96];
    snprintf(idem, sizeof(idem), "larder-refund-%s", order);
    ldr__call(s, c, "/v1/refunds", idem, deadline_ms);
    ldr__form(&c->body, "payment_intent", intent);
    ldr__form(&c->body, "metadata%5Border_id%5D", order);
}

static void ldr__copy(char *dst, size_t size, json_t *v)
{
    const char *s = json_string_value(v);
    snprintf(dst, size, "%s", s != NULL ? s : "");
}

void ldr_stripe_answer(const ldr_http_call_t *c, ldr_pay_answer_t *a)
{
    memset(a, 0, sizeof(*a));
    if (c->outcome == LDR_HTTP_OPEN) {
        a->result = LDR_PAY_UNAVAILABLE;
        snprintf(a->detail, sizeof(a->detail), "circuit_open");
        return;
    }
    if (c->outcome == LDR_HTTP_TIMEOUT) {
        a->result = LDR_PAY_TIMEOUT;
        snprintf(a->detail, sizeof(a->detail), "timeout after %u attempt%s", c->tries,
                 c->tries == 1 ? "" : "s");
        return;
    }
    if (c->outcome != LDR_HTTP_OK) {
        a->result = LDR_PAY_UNAVAILABLE;
        snprintf(a->detail, sizeof(a->detail), "unreachable");
        return;
    }
    json_t *j =
        json_loadb(c->response.base != NULL ? c->response.base : "", c->response.len, 0, NULL);
    json_t *err = json_object_get(j, "error");
    if (j == NULL || !json_is_object(j)) {
        a->result = LDR_PAY_ERROR;
        snprintf(a->detail, sizeof(a->detail), "unreadable answer (HTTP %ld)", c->status);
    } else if (c->status >= 200 && c->status < 300 && err == NULL) {
        const char *object = json_string_value(json_object_get(j, "object")),
                   *status = json_string_value(json_object_get(j, "status"));
        bool refund = object != NULL && strcmp(object, "refund") == 0;
        ldr__copy(a->ref, sizeof(a->ref), json_object_get(j, refund ? "payment_intent" : "id"));
        /* an authorisation holds the money (requires_capture, or captured already); a refund is
         * done when it succeeded or is on its way */
        bool ok =
            status != NULL &&
            (refund ? strcmp(status, "succeeded") == 0 || strcmp(status, "pending") == 0
                    : strcmp(status, "requires_capture") == 0 || strcmp(status, "succeeded") == 0);
        a->result = ok ? LDR_PAY_OK : a->ref[0] != '\0' ? LDR_PAY_DECLINE : LDR_PAY_ERROR;
        snprintf(a->detail, sizeof(a->detail), "%s", status != NULL ? status : "no status");
    } else if (c->status == 402 ||
               (err != NULL &&
                strcmp(json_string_value(json_object_get(err, "type")) ?: "", "card_error") == 0)) {
        a->result = LDR_PAY_DECLINE;
        ldr__copy(a->detail, sizeof(a->detail), json_object_get(err, "code"));
        ldr__copy(a->ref, sizeof(a->ref),
                  json_object_get(json_object_get(err, "payment_intent"), "id"));
    } else {
        /* refused (4xx: our request was wrong) or still failing after the retries (5xx) */
        a->result = c->status >= 500 || c->status == 429 ? LDR_PAY_UNAVAILABLE : LDR_PAY_ERROR;
        const char *code = json_string_value(json_object_get(err, "code"));
        snprintf(a->detail, sizeof(a->detail), "HTTP %ld%s%s", c->status, code ? " " : "",
                 code ? code : "");
    }
    json_decref(j);
}

int ldr_stripe_verify(const char *secret, const char *header, size_t hlen, const char *payload,
                      size_t len, int64_t now)
{
    if (secret == NULL || *secret == '\0' || header == NULL)
        return LDR_EAUTH;
    /* t=TIMESTAMP,v1=HEX[,v1=HEX…][,v0=…] */
    int64_t t = -1;
    const char *sigs[8];
    size_t nsigs = 0;
    for (size_t i = 0; i < hlen;) {
        const char *item = header + i, *comma = memchr(item, ',', hlen - i);
        size_t n = comma ? (size_t)(comma - item) : hlen - i;
        if (n > 2 && item[0] == 't' && item[1] == '=') {
            t = 0;
            for (size_t k = 2; k < n && t >= 0; k++)
                t = item[k] >= '0' && item[k] <= '9' && t < INT64_MAX / 10
                        ? t * 10 + (item[k] - '0')
                        : -1;
        } else if (n == 3 + 64 && memcmp(item, "v1=", 3) == 0 && nsigs < 8) {
            sigs[nsigs++] = item + 3;
        }
        i += n + 1;
    }
    if (t < 0 || nsigs == 0 || t < now - LDR__STRIPE_TOLERANCE || t > now + LDR__STRIPE_TOLERANCE)
        return LDR_EAUTH;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char ts[24], hex[2 * crypto_auth_hmacsha256_BYTES + 1];
    int tn = snprintf(ts, sizeof(ts), "%lld.", (long long)t);
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, (unsigned long long)tn);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)payload, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
    for (size_t i = 0; i < nsigs; i++)
        if (sodium_memcmp(hex, sigs[i], 64) == 0)
            return LDR_OK;
    return LDR_EAUTH;
}

int ldr_stripe_event(const char *payload, size_t len, ldr_stripe_event_t *ev)
{
    memset(ev, 0, sizeof(*ev));
    json_t *j = json_loadb(payload, len, 0, NULL);
    json_t *obj = json_object_get(json_object_get(j, "data"), "object");
    int rc = LDR_EPARSE;
    if (json_is_string(json_object_get(j, "id")) && json_is_string(json_object_get(j, "type")) &&
        json_is_object(obj)) {
        ldr__copy(ev->id, sizeof(ev->id), json_object_get(j, "id"));
        ldr__copy(ev->type, sizeof(ev->type), json_object_get(j, "type"));
        ldr__copy(ev->order, sizeof(ev->order),
                  json_object_get(json_object_get(obj, "metadata"), "order_id"));
        const char *object = json_string_value(json_object_get(obj, "object"));
        ldr__copy(ev->intent, sizeof(ev->intent),
                  json_object_get(obj, object != NULL && strcmp(object, "payment_intent") == 0
                                           ? "id"
                                           : "payment_intent"));
        rc = LDR_OK;
    }
    json_decref(j);
    return rc;
}
