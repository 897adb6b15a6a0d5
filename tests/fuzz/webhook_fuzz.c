/*
 * Fuzz target for the webhook checks of the payment adapters (libFuzzer: `make fuzz`):
 * shell/adapters/stripe.c (Stripe-Signature, events) and shell/adapters/momo.c (IPNs).
 *
 * The input is a header line, a newline, and a body.  Whatever they are, nothing may crash, and:
 *  - ldr_stripe_verify accepts the header only when one of its v1= values is the HMAC-SHA256 of
 *    "t.body" under the secret, computed here independently, and t is within five minutes;
 *    the same body signed here is always accepted, and one flipped hex digit never is;
 *  - ldr_stripe_event reads an event only from a JSON object with string id and type and an
 *    object data.object, and what it reads is NUL-terminated;
 *  - ldr_momo_ipn accepts the body only when its signature is the HMAC-SHA256 of MoMo's field
 *    string as built here independently (from jansson's reading of the body); the body re-signed
 *    here is accepted whenever it has every field with the right type and this partner's code.
 *
 * tests/unit/shell/webhook_corpus.c includes this file with LLVMFuzzerTestOneInput renamed and
 * LDR_FUZZ_FAIL pointed at Criterion, to replay the committed corpus in `make check`.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef LDR_FUZZ_LINKED /* the fuzz build links common/, engine/, index/ only: bring these in */
#include "../../shell/adapters/momo.c"
#include "../../shell/adapters/stripe.c"
#else
#include "../../shell/adapters/payment.h"
#endif

#define LDR_FUZZ_NAME "webhook_fuzz"
#include "fuzz.h"

#define FZ_SECRET "whsec_fuzz"
#define FZ_NOW    1795600000

static void fz_hmac(const char *key, const char *a, size_t alen, const char *b, size_t blen,
                    char *hex)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)a, alen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)b, blen);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(hex, 65, mac, sizeof(mac));
}

/* Whether the header holds t=T (the last one) within tolerance and a v1 equal to the HMAC. */
static bool fz_stripe_ok(const char *h, size_t hlen, const char *body, size_t blen)
{
    long long t = -1;
    bool any = false;
    char good[65] = "";
    for (size_t i = 0; i < hlen;) {
        const char *item = h + i, *comma = memchr(item, ',', hlen - i);
        size_t n = comma ? (size_t)(comma - item) : hlen - i;
        if (n > 2 && item[0] == 't' && item[1] == '=') {
            t = 0;
            for (size_t k = 2; k < n && t >= 0; k++)
                t = item[k] >= '0' && item[k] <= '9' && t < 100000000000LL
                        ? t * 10 + (item[k] - '0')
                        : -1;
        }
        i += n + 1;
    }
    if (t < FZ_NOW - 300 || t > FZ_NOW + 300)
        return false;
    char ts[32];
    int tn = snprintf(ts, sizeof(ts), "%lld.", t);
    fz_hmac(FZ_SECRET, ts, (size_t)tn, body, blen, good);
    for (size_t i = 0; i < hlen;) {
        const char *item = h + i, *comma = memchr(item, ',', hlen - i);
        size_t n = comma ? (size_t)(comma - item) : hlen - i;
        if (n == 67 && memcmp(item, "v1=", 3) == 0 && memcmp(item + 3, good, 64) == 0)
            any = true;
        i += n + 1;
    }
    return any;
}

static void fz_stripe(const char *h, size_t hlen, const char *body, size_t blen)
{
    int rc = ldr_stripe_verify(FZ_SECRET, h, hlen, body, blen, FZ_NOW);
    FZ_CHECK(rc == LDR_OK || rc == LDR_EAUTH, "verify: status %d", rc);
    if (rc == LDR_OK) /* (the reference may also accept where a later t= overrides: not ours) */
        FZ_CHECK(fz_stripe_ok(h, hlen, body, blen), "a header without the right v1 passed");
    /* signed here: accepted; one digit off: refused */
    char ts[32], hex[65], header[128];
    int tn = snprintf(ts, sizeof(ts), "%d.", FZ_NOW - (int)(blen % 300));
    fz_hmac(FZ_SECRET, ts, (size_t)tn, body, blen, hex);
    int n = snprintf(header, sizeof(header), "t=%.*s,v1=%s", tn - 1, ts, hex);
    FZ_CHECK(ldr_stripe_verify(FZ_SECRET, header, (size_t)n, body, blen, FZ_NOW) == LDR_OK,
             "a body signed with the secret was refused");
    header[n - 1] = header[n - 1] == '0' ? '1' : '0';
    FZ_CHECK(ldr_stripe_verify(FZ_SECRET, header, (size_t)n, body, blen, FZ_NOW) == LDR_EAUTH,
             "a wrong signature passed");
    ldr_stripe_event_t ev;
    if (ldr_stripe_event(body, blen, &ev) == LDR_OK) {
        json_t *j = json_loadb(body, blen, 0, NULL);
        FZ_CHECK(json_is_string(json_object_get(j, "id")) &&
                     json_is_string(json_object_get(j, "type")) &&
                     json_is_object(json_object_get(json_object_get(j, "data"), "object")),
                 "an event read from something that is not one");
        json_decref(j);
        FZ_CHECK(memchr(ev.id, 0, sizeof(ev.id)) && memchr(ev.type, 0, sizeof(ev.type)) &&
                     memchr(ev.order, 0, sizeof(ev.order)) &&
                     memchr(ev.intent, 0, sizeof(ev.intent)),
                 "an event field is not terminated");
    }
}

/* MoMo's IPN string for the fields of j, built here; false when a field is missing or mistyped. */
static bool fz_momo_text(json_t *j, ldr_buf_t *b)
{
    static const char *const order[] = {"amount",    "extraData",    "message",     "orderId",
                                        "orderInfo", "orderType",    "partnerCode", "payType",
                                        "requestId", "responseTime", "resultCode",  "transId"};
    ldr_buf_printf(b, "accessKey=%s", "fuzz-access");
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        json_t *v = json_object_get(j, order[i]);
        bool num = strcmp(order[i], "amount") == 0 || strcmp(order[i], "responseTime") == 0 ||
                   strcmp(order[i], "resultCode") == 0 || strcmp(order[i], "transId") == 0;
        if (num ? !json_is_integer(v) : !json_is_string(v))
            return false;
        if (num)
            ldr_buf_printf(b, "&%s=%lld", order[i], (long long)json_integer_value(v));
        else
            ldr_buf_printf(b, "&%s=%s", order[i], json_string_value(v));
    }
    return json_is_string(json_object_get(j, "signature"));
}

static void fz_momo(const char *body, size_t blen)
{
    ldr_momo_t *m = ldr_momo();
    FZ_CHECK(m != NULL, "MoMo not configured for the fuzzer");
    ldr_momo_ipn_t ipn;
    int rc = ldr_momo_ipn(m, body, blen, &ipn);
    FZ_CHECK(rc == LDR_OK || rc == LDR_EAUTH || rc == LDR_EPARSE, "ipn: status %d", rc);
    json_t *j = json_loadb(body, blen, 0, NULL);
    ldr_buf_t text = LDR_BUF_INIT;
    bool complete = json_is_object(j) && fz_momo_text(j, &text);
    bool ours = complete &&
                strcmp(json_string_value(json_object_get(j, "partnerCode")), "FUZZPARTNER") == 0;
    char hex[65] = "";
    if (complete) {
        fz_hmac("fuzz-secret", text.base, text.len, "", 0, hex);
        const char *sig = json_string_value(json_object_get(j, "signature"));
        bool right = ours && strlen(sig) == 64 && memcmp(sig, hex, 64) == 0;
        FZ_CHECK((rc == LDR_OK) == right, "ipn: status %d, signature %s", rc,
                 right ? "right" : "wrong");
    } else {
        FZ_CHECK(rc != LDR_OK, "an IPN without every field passed");
    }
    /* re-signed here: accepted when it is complete and ours */
    if (ours && memchr(body, 0, blen) == NULL) {
        json_object_set_new(j, "signature", json_string(hex));
        char *again = json_dumps(j, JSON_COMPACT);
        if (again != NULL) {
            FZ_CHECK(ldr_momo_ipn(m, again, strlen(again), &ipn) == LDR_OK,
                     "an IPN signed with the key was refused: %s", again);
            FZ_CHECK(memchr(ipn.order, 0, sizeof(ipn.order)) != NULL, "order not terminated");
            free(again);
        }
    }
    ldr_buf_free(&text);
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        setenv("LARDER_MOMO_URL", "http://127.0.0.1:9", 1);
        setenv("LARDER_MOMO_PARTNER_CODE", "FUZZPARTNER", 1);
        setenv("LARDER_MOMO_ACCESS_KEY", "fuzz-access", 1);
        setenv("LARDER_MOMO_SECRET_KEY", "fuzz-secret", 1);
        setenv("LARDER_MOMO_IPN_URL", "http://127.0.0.1:9/ipn", 1);
        init = sodium_init() >= 0;
    }
    const char *p = (const char *)data, *nl = memchr(p, '\n', size);
    size_t hlen = nl ? (size_t)(nl - p) : 0;
    const char *body = nl ? nl + 1 : p;
    size_t blen = nl ? size - hlen - 1 : size;
    fz_stripe(p, hlen, body, blen);
    fz_momo(body, blen);
    return 0;
}
