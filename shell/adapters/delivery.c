/* Delivery providers: configuration and the one interface (shell/adapters/delivery.h). */
#include "delivery.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "larder/common.h"

static ldr_courier_t ldr__couriers[3];
static uint32_t ldr__ncouriers;
static ldr_courier_t *ldr__default;
static pthread_once_t ldr__couriers_once = PTHREAD_ONCE_INIT;

static const char *ldr__env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v : dflt;
}

static uint32_t ldr__env_u32(const char *name, uint32_t dflt, uint32_t lo, uint32_t hi)
{
    const char *v = getenv(name);
    long long x = v != NULL && *v != '\0' ? atoll(v) : -1;
    return x >= lo && x <= hi ? (uint32_t)x : dflt;
}

/* One provider from LARDER_<P>_*; false when its key is not set. */
static bool ldr__courier_load(ldr_courier_t *k, int kind, const char *name, const char *p,
                              const char *key_var, const char *dflt_url)
{
    char var[64];
    const char *key = getenv(key_var);
    if (kind != LDR_COURIER_FAKE && (key == NULL || *key == '\0'))
        return false;
    memset(k, 0, sizeof(*k));
    k->kind = kind, k->name = name;
    snprintf(k->key, sizeof(k->key), "%s", key != NULL ? key : "");
    snprintf(var, sizeof(var), "LARDER_%s_URL", p);
    snprintf(k->url, sizeof(k->url), "%s", ldr__env_or(var, dflt_url));
    size_t n = strlen(k->url);
    if (n > 0 && k->url[n - 1] == '/')
        k->url[n - 1] = '\0';
    snprintf(var, sizeof(var),
             kind == LDR_COURIER_VIETTELPOST ? "LARDER_%s_WEBHOOK_TOKEN"
                                             : "LARDER_%s_WEBHOOK_SECRET",
             p);
    snprintf(k->webhook_secret, sizeof(k->webhook_secret), "%s",
             ldr__env_or(var, "")); /* none: every webhook is refused */
    snprintf(k->sender_name, sizeof(k->sender_name), "%s",
             ldr__env_or("LARDER_DELIVERY_SENDER_NAME", "larder"));
    snprintf(k->sender_phone, sizeof(k->sender_phone), "%s",
             ldr__env_or("LARDER_DELIVERY_SENDER_PHONE", "0900000000"));
    snprintf(k->sender_address, sizeof(k->sender_address), "%s",
             ldr__env_or("LARDER_DELIVERY_SENDER_ADDRESS", "larder store"));
    snprintf(var, sizeof(var), "LARDER_%s_ATTEMPTS", p);
    k->attempts = ldr__env_u32(var, 3, 1, 10);
    snprintf(var, sizeof(var), "LARDER_%s_BACKOFF_MS", p);
    k->backoff_ms = ldr__env_u32(var, 200, 1, 60000);
    k->breaker.name = name;
    snprintf(var, sizeof(var), "LARDER_%s_BREAKER_FAILURES", p);
    k->breaker.threshold = ldr__env_u32(var, 5, 1, 1000);
    snprintf(var, sizeof(var), "LARDER_%s_BREAKER_COOLDOWN_MS", p);
    k->breaker.cooldown_ms = ldr__env_u32(var, 30000, 10, 3600000);
    return true;
}

static void ldr__couriers_load(void)
{
    ldr_courier_t *k = ldr__couriers;
    ldr__courier_load(&k[ldr__ncouriers++], LDR_COURIER_FAKE, "fake", "FAKE_DELIVERY", "", "");
    if (ldr__courier_load(&k[ldr__ncouriers], LDR_COURIER_GRAB, "grab", "GRAB", "LARDER_GRAB_KEY",
                          "https://partner-api.grab.com/grab-express"))
        ldr__ncouriers++;
    if (ldr__courier_load(&k[ldr__ncouriers], LDR_COURIER_VIETTELPOST, "viettelpost", "VIETTELPOST",
                          "LARDER_VIETTELPOST_TOKEN", "https://partner.viettelpost.vn"))
        ldr__ncouriers++;
    const char *d = ldr__env_or("LARDER_DELIVERY_PROVIDER", "fake");
    ldr__default = &k[0];
    for (uint32_t i = 0; i < ldr__ncouriers; i++)
        if (strcmp(k[i].name, d) == 0)
            ldr__default = &k[i];
}

ldr_courier_t *ldr_courier(const char *name, size_t len)
{
    pthread_once(&ldr__couriers_once, ldr__couriers_load);
    for (uint32_t i = 0; i < ldr__ncouriers; i++)
        if (strlen(ldr__couriers[i].name) == len && memcmp(ldr__couriers[i].name, name, len) == 0)
            return &ldr__couriers[i];
    return NULL;
}

ldr_courier_t *ldr_courier_default(void)
{
    pthread_once(&ldr__couriers_once, ldr__couriers_load);
    return ldr__default;
}

bool ldr_couriers_need_http(void)
{
    pthread_once(&ldr__couriers_once, ldr__couriers_load);
    return ldr__ncouriers > 1;
}

uint32_t ldr_couriers(ldr_courier_t **out)
{
    pthread_once(&ldr__couriers_once, ldr__couriers_load);
    for (uint32_t i = 0; i < ldr__ncouriers; i++)
        out[i] = &ldr__couriers[i];
    return ldr__ncouriers;
}

bool ldr_courier_prepare(ldr_courier_t *k, int op, const ldr_delivery_order_t *o,
                         ldr_http_call_t *c, ldr_delivery_answer_t *a, uint32_t deadline_ms)
{
    memset(a, 0, sizeof(*a));
    if (k->kind == LDR_COURIER_FAKE) {
        ldr_fake_delivery(op, o, a);
        return false;
    }
    if (k->kind == LDR_COURIER_VIETTELPOST && op == LDR_DLV_TRACK) {
        a->result = LDR_DLV_UNAVAILABLE;
        snprintf(a->detail, sizeof(a->detail), "not offered: statuses come by webhook");
        return false;
    }
    if (k->kind == LDR_COURIER_GRAB)
        ldr_grab_call(k, op, o, c);
    else
        ldr_vtp_call(k, op, o, c);
    c->deadline_ms = deadline_ms;
    c->attempts = k->attempts, c->backoff_ms = k->backoff_ms;
    c->retry_safe = true; /* every operation names the booking by the order (see the header) */
    c->breaker = &k->breaker;
    return true;
}

/* The failures every provider reads alike: no answer, a breaker open, a 5xx. */
static bool ldr__transport_failed(const ldr_http_call_t *c, ldr_delivery_answer_t *a)
{
    if (c->outcome == LDR_HTTP_OK && c->status < 500 && c->status != 429)
        return false;
    a->result = c->outcome == LDR_HTTP_TIMEOUT ? LDR_DLV_TIMEOUT : LDR_DLV_UNAVAILABLE;
    if (c->outcome == LDR_HTTP_OK)
        snprintf(a->detail, sizeof(a->detail), "HTTP %ld", c->status);
    else
        snprintf(a->detail, sizeof(a->detail), "%s",
                 c->outcome == LDR_HTTP_TIMEOUT ? "timeout"
                 : c->outcome == LDR_HTTP_OPEN  ? "circuit_open"
                                                : "unreachable");
    return true;
}

void ldr_courier_answer(ldr_courier_t *k, int op, const ldr_http_call_t *c,
                        ldr_delivery_answer_t *a)
{
    memset(a, 0, sizeof(*a));
    if (ldr__transport_failed(c, a))
        return;
    if (k->kind == LDR_COURIER_GRAB)
        ldr_grab_answer(op, c, a);
    else
        ldr_vtp_answer(op, c, a);
}

const char *ldr_courier_signature_header(const ldr_courier_t *k)
{
    return k->kind == LDR_COURIER_VIETTELPOST ? NULL
           : k->kind == LDR_COURIER_GRAB      ? "x-grab-signature"
                                              : "x-fake-signature";
}

void ldr_delivery_hmac_hex(const char *secret, const char *payload, size_t len, char hex[65])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)payload, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(hex, 65, mac, sizeof(mac));
}

int ldr_courier_webhook(ldr_courier_t *k, const char *signature, size_t slen, const char *payload,
                        size_t len, ldr_delivery_event_t *ev)
{
    memset(ev, 0, sizeof(*ev));
    if (k->webhook_secret[0] == '\0')
        return LDR_EAUTH; /* no secret configured: nothing can be believed */
    if (k->kind == LDR_COURIER_VIETTELPOST)
        return ldr_vtp_webhook(k, payload, len, ev); /* the token is in the body */
    char hex[65];
    ldr_delivery_hmac_hex(k->webhook_secret, payload, len, hex);
    if (signature == NULL || slen != 64 || sodium_memcmp(hex, signature, 64) != 0)
        return LDR_EAUTH;
    return ldr_grab_webhook(k, payload, len, ev); /* the fake one speaks Grab's shape too */
}

bool ldr_delivery_id_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > LDR_TRACKING_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return false;
    return true;
}

int64_t ldr_delivery_fee(const void *json_number)
{
    const json_t *v = json_number;
    if (!json_is_number(v))
        return 0;
    double d = json_number_value(v);
    return d >= 0 && d <= 1e12 ? (int64_t)d : 0;
}

void ldr_delivery_address_line(const ldr_order_address_t *a, char *out, size_t size)
{
    snprintf(out, size, "%s%s%s, %s, %s", a->line1, a->ward[0] ? ", " : "", a->ward, a->district,
             a->city);
}
