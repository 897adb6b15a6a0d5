/* The MoMo payment provider (shell/adapters/payment.h). */
#include "payment.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "larder/common.h"

static ldr_momo_t ldr__momo;
static bool ldr__momo_on;
static pthread_once_t ldr__momo_once = PTHREAD_ONCE_INIT;

/* Copies environment variable `name` into dst; false when it is unset, empty or too long. */
static bool ldr__env(const char *name, char *dst, size_t size)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0' || strlen(v) >= size)
        return false;
    memcpy(dst, v, strlen(v) + 1);
    return true;
}

static void ldr__momo_load(void)
{
    ldr_momo_t *m = &ldr__momo;
    if (!ldr__env("LARDER_MOMO_URL", m->url, sizeof(m->url)) ||
        !ldr__env("LARDER_MOMO_PARTNER_CODE", m->partner, sizeof(m->partner)) ||
        !ldr__env("LARDER_MOMO_ACCESS_KEY", m->access_key, sizeof(m->access_key)) ||
        !ldr__env("LARDER_MOMO_SECRET_KEY", m->secret_key, sizeof(m->secret_key)) ||
        !ldr__env("LARDER_MOMO_IPN_URL", m->ipn_url, sizeof(m->ipn_url)))
        return;
    if (!ldr__env("LARDER_MOMO_REDIRECT_URL", m->redirect_url, sizeof(m->redirect_url)))
        memcpy(m->redirect_url, m->ipn_url, sizeof(m->redirect_url));
    size_t n = strlen(m->url);
    if (n > 0 && m->url[n - 1] == '/')
        m->url[n - 1] = '\0';
    m->breaker = (ldr_breaker_t){.name = "momo", .threshold = 5, .cooldown_ms = 30000};
    ldr__momo_on = true;
}

ldr_momo_t *ldr_momo(void)
{
    pthread_once(&ldr__momo_once, ldr__momo_load);
    return ldr__momo_on ? &ldr__momo : NULL;
}

/* Lowercase hex HMAC-SHA256 of text with the secret key into hex (65 bytes). */
static void ldr__sign(const ldr_momo_t *m, const char *text, size_t len, char *hex)
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)m->secret_key, strlen(m->secret_key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)text, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(hex, 2 * sizeof(mac) + 1, mac, sizeof(mac));
}

/* The JSON object o as the call's body, signed over `text`. */
static void ldr__post(ldr_momo_t *m, ldr_http_call_t *c, const char *path, json_t *o,
                      const ldr_buf_t *text, uint32_t deadline_ms)
{
    char hex[65];
    ldr__sign(m, text->base, text->len, hex);
    json_object_set_new(o, "signature", json_string(hex));
    char *body = json_dumps(o, JSON_COMPACT);
    ldr_buf_puts(&c->body, body);
    free(body);
    json_decref(o);
    c->method = "POST";
    snprintf(c->url, sizeof(c->url), "%s%s", m->url, path);
    snprintf(c->headers[0], sizeof(c->headers[0]), "Content-Type: application/json; charset=UTF-8");
    snprintf(c->headers[1], sizeof(c->headers[1]), "Expect:");
    c->deadline_ms = deadline_ms;
    c->attempts = 1;
    c->breaker = &m->breaker;
}

void ldr_momo_create_call(ldr_momo_t *m, ldr_http_call_t *c, const char *order, int64_t amount,
                          uint32_t deadline_ms)
{
    char info[96];
    snprintf(info, sizeof(info), "larder order %s", order);
    ldr_buf_t text = LDR_BUF_INIT;
    ldr_buf_printf(&text,
                   "accessKey=%s&amount=%lld&extraData=&ipnUrl=%s&orderId=%s&orderInfo=%s"
                   "&partnerCode=%s&redirectUrl=%s&requestId=%s&requestType=captureWallet",
                   m->access_key, (long long)amount, m->ipn_url, order, info, m->partner,
                   m->redirect_url, order);
    json_t *o =
        json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "partnerCode", m->partner,
                  "requestId", order, "amount", (json_int_t)amount, "orderId", order, "orderInfo",
                  info, "redirectUrl", m->redirect_url, "ipnUrl", m->ipn_url, "requestType",
                  "captureWallet", "extraData", "", "lang", "vi");
    ldr__post(m, c, "/v2/gateway/api/create", o, &text, deadline_ms);
    ldr_buf_free(&text);
}

void ldr_momo_refund_call(ldr_momo_t *m, ldr_http_call_t *c, const char *order,
                          const char *trans_id, int64_t amount, uint32_t deadline_ms)
{
    char id[LDR_ORDER_ID_MAX + 16], desc[96];
    snprintf(id, sizeof(id), "%s-refund", order);
    snprintf(desc, sizeof(desc), "refund of larder order %s", order);
    ldr_buf_t text = LDR_BUF_INIT;
    ldr_buf_printf(&text,
                   "accessKey=%s&amount=%lld&description=%s&orderId=%s&partnerCode=%s"
                   "&requestId=%s&transId=%s",
                   m->access_key, (long long)amount, desc, id, m->partner, id, trans_id);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "partnerCode", m->partner, "orderId", id,
                  "requestId", id, "amount", (json_int_t)amount, "transId",
                  (json_int_t)strtoll(trans_id, NULL, 10), "lang", "vi", "description", desc);
    ldr__post(m, c, "/v2/gateway/api/refund", o, &text, deadline_ms);
    ldr_buf_free(&text);
}

void ldr_momo_answer(const ldr_http_call_t *c, ldr_pay_answer_t *a, char *pay_url, size_t size)
{
    memset(a, 0, sizeof(*a));
    if (pay_url != NULL && size > 0)
        pay_url[0] = '\0';
    if (c->outcome != LDR_HTTP_OK) {
        a->result = c->outcome == LDR_HTTP_TIMEOUT ? LDR_PAY_TIMEOUT : LDR_PAY_UNAVAILABLE;
        snprintf(a->detail, sizeof(a->detail), "%s",
                 c->outcome == LDR_HTTP_TIMEOUT ? "timeout"
                 : c->outcome == LDR_HTTP_OPEN  ? "circuit_open"
                                                : "unreachable");
        return;
    }
    json_t *j =
        json_loadb(c->response.base != NULL ? c->response.base : "", c->response.len, 0, NULL);
    json_t *code = json_object_get(j, "resultCode");
    if (!json_is_integer(code)) {
        a->result = c->status >= 500 ? LDR_PAY_UNAVAILABLE : LDR_PAY_ERROR;
        snprintf(a->detail, sizeof(a->detail), "unreadable answer (HTTP %ld)", c->status);
    } else if (json_integer_value(code) == 0) {
        const char *url = json_string_value(json_object_get(j, "payUrl"));
        a->result = url != NULL ? LDR_PAY_PENDING : LDR_PAY_OK; /* a create has a payUrl */
        json_t *tid = json_object_get(j, "transId");
        if (json_is_integer(tid))
            snprintf(a->ref, sizeof(a->ref), "%lld", (long long)json_integer_value(tid));
        if (url != NULL && pay_url != NULL)
            snprintf(pay_url, size, "%s", url);
        snprintf(a->detail, sizeof(a->detail), "0");
    } else {
        /* 13: our signature or partner code is wrong, 20-22: our request: errors of ours;
         * 99 or a 5xx: MoMo's own trouble; anything else: refused */
        long long rc = (long long)json_integer_value(code);
        a->result = rc == 99 || c->status >= 500         ? LDR_PAY_UNAVAILABLE
                    : rc == 13 || (rc >= 20 && rc <= 22) ? LDR_PAY_ERROR
                                                         : LDR_PAY_DECLINE;
        snprintf(a->detail, sizeof(a->detail), "resultCode %lld", rc);
    }
    json_decref(j);
}

int ldr_momo_ipn(ldr_momo_t *m, const char *payload, size_t len, ldr_momo_ipn_t *out)
{
    memset(out, 0, sizeof(*out));
    json_t *j = json_loadb(payload, len, 0, NULL);
    static const char *const strs[] = {"partnerCode", "orderId",   "requestId",
                                       "orderInfo",   "orderType", "message",
                                       "payType",     "extraData", "signature"};
    static const char *const ints[] = {"amount", "transId", "resultCode", "responseTime"};
    int rc = json_is_object(j) ? LDR_OK : LDR_EPARSE;
    for (size_t i = 0; rc == LDR_OK && i < LDR_ARRAY_SIZE(strs); i++)
        if (!json_is_string(json_object_get(j, strs[i])))
            rc = LDR_EPARSE;
    for (size_t i = 0; rc == LDR_OK && i < LDR_ARRAY_SIZE(ints); i++)
        if (!json_is_integer(json_object_get(j, ints[i])))
            rc = LDR_EPARSE;
#define S(k) json_string_value(json_object_get(j, k))
#define I(k) (long long)json_integer_value(json_object_get(j, k))
    if (rc == LDR_OK && strcmp(S("partnerCode"), m->partner) != 0)
        rc = LDR_EAUTH;
    if (rc == LDR_OK) {
        ldr_buf_t text = LDR_BUF_INIT;
        ldr_buf_printf(&text,
                       "accessKey=%s&amount=%lld&extraData=%s&message=%s&orderId=%s&orderInfo=%s"
                       "&orderType=%s&partnerCode=%s&payType=%s&requestId=%s&responseTime=%lld"
                       "&resultCode=%lld&transId=%lld",
                       m->access_key, I("amount"), S("extraData"), S("message"), S("orderId"),
                       S("orderInfo"), S("orderType"), S("partnerCode"), S("payType"),
                       S("requestId"), I("responseTime"), I("resultCode"), I("transId"));
        char hex[65];
        ldr__sign(m, text.base, text.len, hex);
        ldr_buf_free(&text);
        const char *sig = S("signature");
        if (strlen(sig) != 64 || sodium_memcmp(hex, sig, 64) != 0)
            rc = LDR_EAUTH;
    }
    if (rc == LDR_OK) {
        snprintf(out->order, sizeof(out->order), "%s", S("orderId"));
        snprintf(out->trans_id, sizeof(out->trans_id), "%lld", I("transId"));
        out->amount = I("amount"), out->result_code = I("resultCode");
    }
#undef S
#undef I
    json_decref(j);
    return rc;
}
