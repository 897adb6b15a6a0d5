/*
 * The authorisation matrix: every endpoint served today × {anonymous, customer, another customer,
 * service, admin}, plus the tokens that must never pass (expired, tampered, alg none, signed with
 * another secret).  Reads are public; stock and catalog writes take an admin or service token.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../helpers.h"
#include "larder/auth.h"

static char *dir;
static ldr_test_server_t srv;
static char sku[64]; /* the generated catalog's first product */

static void start(void)
{
    dir = ldr_test_tmpdir();
    const char *gen[] = {"--skus", "60", "--stores", "1", "--seed", "5", NULL};
    cr_assert_eq(ldr_test_server_start_generated(&srv, dir, gen), 0, "server did not start");
    char path[600];
    snprintf(path, sizeof(path), "%s/gen/catalog.jsonl", dir);
    cr_assert_eq(ldr_test_first_sku(path, sku, sizeof(sku)), 0);
}

static void stop(void)
{
    if (srv.pid > 0)
        ldr_test_server_stop(&srv);
    ldr_test_rmtree(dir);
    free(dir);
}

TestSuite(authz, .init = start, .fini = stop, .timeout = 120);

enum { ANON, CUSTOMER, OTHER_CUSTOMER, SERVICE, ADMIN, NWHO };
static const char *const who_name[NWHO] = {"anonymous", "customer", "another customer", "service",
                                           "admin"};

static long status_of(const char *method, const char *path, const char *body, const char *token)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", srv.base, path);
    ldr_test_resp_t r;
    size_t n = strlen(path);
    const char *key = /* these need one */
        strcmp(path, "/v1/checkout") == 0 || (n > 7 && strcmp(path + n - 7, "/refund") == 0)
            ? "authz-1"
            : NULL;
    cr_assert_eq(ldr_test_http_idem(LDR_TEST_HTTP1, method, url, body, token, key, &r), 0, "%s %s",
                 method, path);
    long st = r.status;
    ldr_test_resp_free(&r);
    return st;
}

Test(authz, every_endpoint_by_every_kind_of_caller)
{
    char *tokens[NWHO] = {NULL, ldr_test_token("customer", "c-1"),
                          ldr_test_token("customer", "c-2"), ldr_test_token("service", "erp"),
                          ldr_test_token("admin", "ops")};
    char p_product[128], p_stock[128], p_stock1[128], p_receive[128], p_adjust[128];
    snprintf(p_product, sizeof(p_product), "/v1/products/%s", sku);
    char p_subs[160];
    snprintf(p_subs, sizeof(p_subs), "/v1/products/%s/substitutes", sku);
    snprintf(p_stock, sizeof(p_stock), "/v1/stock/%s", sku);
    snprintf(p_stock1, sizeof(p_stock1), "/stock/%s", sku);
    snprintf(p_receive, sizeof(p_receive), "/v1/stock/%s/receive", sku);
    snprintf(p_adjust, sizeof(p_adjust), "/v1/stock/%s/adjust", sku);
    char batch[160];
    snprintf(batch, sizeof(batch),
             "{\"updates\":[{\"sku\":\"%s\",\"delta\":1,\"reason\":\"authz\"}]}", sku);
    static const long pub[NWHO] = {200, 200, 200, 200, 200};
    static const long staff[NWHO] = {401, 403, 403, 200, 200};
    static const long anyone_signed_in[NWHO] = {401, 200, 200, 200, 200};
    static const long shoppers[NWHO] = {401, 200, 200, 403, 200};
    /* catalog writes: service creates the product, admin puts it again unchanged; service
     * deletes it, admin finds nothing left to delete */
    static const long put_product[NWHO] = {401, 403, 403, 201, 200};
    static const long delete_product[NWHO] = {401, 403, 403, 204, 404};
    static const long checkout[NWHO] = {401, 409, 409, 403, 409};
    static const long no_such_order[NWHO] = {401, 404, 404, 403, 404};
    static const long staff_no_such_order[NWHO] = {401, 403, 403, 404, 404};
    static const long admin_no_such_order[NWHO] = {401, 403, 403, 403, 404};
    static const long not_configured[NWHO] = {404, 404, 404, 404, 404};
    static const char checkout_body[] =
        "{\"fulfillment\":{\"type\":\"pickup\"},\"payment\":{\"provider\":\"fake\",\"token\":"
        "\"fake_ok\"}}";
    static const char authz_product[] =
        "{\"sku\":\"AUTHZ-1\",\"name\":{\"en\":\"Authz kiwi\"},\"category\":\"produce/fruit\","
        "\"price\":100}";
    char p_cart_item[128], slots[96];
    time_t tomorrow = time(NULL) + 7 * 3600 + 86400;
    strftime(slots, sizeof(slots), "/v1/delivery/slots?date=%Y-%m-%d", gmtime(&tomorrow));
    snprintf(p_cart_item, sizeof(p_cart_item), "/v1/cart/items/%s", sku);
    const struct {
        const char *method, *path, *body;
        const long *want;
    } rows[] = {
        {"GET", "/healthz", NULL, pub},
        {"GET", "/readyz", NULL, pub},
        {"GET", "/metrics", NULL, pub},
        {"GET", p_product, NULL, pub},
        {"GET", p_subs, NULL, pub},
        {"GET", p_stock, NULL, pub},
        {"GET", p_stock1, NULL, pub},
        {"GET", "/v1/stock/expiring?within=7d", NULL, pub},
        {"GET", "/v1/search?q=banh", NULL, pub},
        {"GET", "/v1/suggest?q=ba", NULL, pub},
        {"GET", "/v1/me", NULL, anyone_signed_in},
        {"GET", "/v1/cart", NULL, shoppers},
        {"GET", slots, NULL, pub},
        {"PUT", p_cart_item, "{\"quantity\":1}", shoppers},
        {"DELETE", p_cart_item, NULL, shoppers},
        {"POST", p_receive, "{\"lot\":\"AZ-1\",\"quantity\":2}", staff},
        {"POST", p_adjust, "{\"delta\":1,\"reason\":\"authz\"}", staff},
        {"POST", "/v1/stock:batch", batch, staff},
        {"PUT", "/v1/products/AUTHZ-1", authz_product, put_product},
        {"POST", "/v1/products:import", authz_product, staff},
        {"DELETE", "/v1/products/AUTHZ-1", NULL, delete_product},
        /* checkout with an empty cart: 409 once the caller may order at all */
        {"POST", "/v1/checkout", checkout_body, checkout},
        {"GET", "/v1/orders", NULL, shoppers},
        {"GET", "/v1/orders/ord-0000000000000000", NULL, no_such_order},
        {"POST", "/v1/orders/ord-0000000000000000/cancel", NULL, no_such_order},
        {"POST", "/v1/orders/ord-0000000000000000/status", "{\"status\":\"picking\"}",
         staff_no_such_order},
        {"POST", "/v1/orders/ord-0000000000000000/refund", NULL, admin_no_such_order},
        /* signed by the provider, not by a token: without Stripe configured, not there */
        {"POST", "/v1/webhooks/stripe", "{}", not_configured},
        {"POST", "/v1/webhooks/momo", "{}", not_configured},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        for (int w = 0; w < NWHO; w++) {
            long st = status_of(rows[i].method, rows[i].path, rows[i].body, tokens[w]);
            cr_expect_eq(st, rows[i].want[w], "%s %s as %s: %ld, want %ld", rows[i].method,
                         rows[i].path, who_name[w], st, rows[i].want[w]);
        }
    for (int w = 0; w < NWHO; w++)
        free(tokens[w]);
}

static char *b64url(const char *s)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = strlen(s), o = 0;
    char *out = malloc(n * 2 + 4);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)s[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)(unsigned char)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)s[i + 2];
        out[o++] = tab[v >> 18 & 63], out[o++] = tab[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = tab[v >> 6 & 63];
        if (i + 2 < n)
            out[o++] = tab[v & 63];
    }
    out[o] = '\0';
    return out;
}

Test(authz, bad_tokens_never_pass)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/stock/%s/adjust", sku);
    const char *body = "{\"delta\":1,\"reason\":\"x\"}";
    ldr_auth_t *right, *wrong;
    cr_assert_eq(ldr_auth_new(LDR_TEST_JWT_SECRET, strlen(LDR_TEST_JWT_SECRET), &right), LDR_OK);
    const char *other = "another-secret-of-at-least-thirty-two-bytes!";
    cr_assert_eq(ldr_auth_new(other, strlen(other), &wrong), LDR_OK);
    int64_t now = (int64_t)time(NULL);
    ldr_buf_t expired = LDR_BUF_INIT, foreign = LDR_BUF_INIT, good = LDR_BUF_INIT;
    cr_assert_eq(ldr_token_mint(right, LDR_ROLE_ADMIN, "ops", now - 7200, 3600, &expired), LDR_OK);
    cr_assert_eq(ldr_token_mint(wrong, LDR_ROLE_ADMIN, "ops", now, 3600, &foreign), LDR_OK);
    cr_assert_eq(ldr_token_mint(right, LDR_ROLE_ADMIN, "ops", now, 3600, &good), LDR_OK);
    ldr_buf_putc(&expired, 0), ldr_buf_putc(&foreign, 0), ldr_buf_putc(&good, 0);
    /* alg none, with the good token's claims and no signature */
    char payload[256], none[600], tampered[600];
    const char *dot = strchr(good.base, '.');
    snprintf(payload, sizeof(payload), "%.*s", (int)(strrchr(good.base, '.') - dot - 1), dot + 1);
    char *hdr = b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}");
    snprintf(none, sizeof(none), "%s.%s.", hdr, payload);
    free(hdr);
    /* the good token with its role claim swapped: the signature no longer fits */
    char claims[256];
    snprintf(claims, sizeof(claims), "{\"exp\":%lld,\"iat\":%lld,\"role\":\"admin\",\"sub\":\"x\"}",
             (long long)now + 3600, (long long)now);
    char *forged = b64url(claims);
    snprintf(tampered, sizeof(tampered), "%.*s.%s%s", (int)(dot - good.base), good.base, forged,
             strrchr(good.base, '.'));
    free(forged);
    const char *bad[] = {expired.base, foreign.base, none, tampered, "", "Bearer", good.base + 1};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_eq(status_of("POST", path, body, bad[i]), 401, "token %zu passed", i);
    cr_assert_eq(status_of("POST", path, body, good.base), 200, "the good token was refused");
    ldr_buf_free(&expired), ldr_buf_free(&foreign), ldr_buf_free(&good);
    ldr_auth_free(right), ldr_auth_free(wrong);
}
