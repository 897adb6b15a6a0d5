/*
 * Unit tests for bench/harness/workload.c: queries drawn from a generated catalog are valid,
 * varied (English, Vietnamese with and without diacritics, typos, prefixes, filters) and the same
 * for the same seed; --mix parsing; every endpoint's request is well-formed HTTP/1.1 with a body
 * whose Content-Length is right and a bearer token where one is needed.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../bench/harness/harness.h"
#include "larder/gen.h"

#define SECRET "unit-secret-0123456789abcdef0123456789abcdef"

static char *catalog(uint32_t skus, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    ldr_gen_opts_t o = {skus, 7, 2, 1795564800};
    cr_assert_eq(ldr_gen_catalog(&o, f, NULL), LDR_OK);
    fclose(f);
    return buf;
}

/* Decodes a URL-encoded query value (up to '&') into out. */
static void decode(const char *s, char *out, size_t size)
{
    size_t n = 0;
    for (; *s && *s != '&' && n + 1 < size; s++) {
        if (*s == '+') {
            out[n++] = ' ';
        } else if (*s == '%') {
            unsigned v;
            cr_assert_eq(sscanf(s + 1, "%2x", &v), 1);
            out[n++] = (char)v;
            s += 2;
        } else {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
}

Test(workload, queries_are_valid_varied_and_seeded)
{
    size_t len;
    char *cat = catalog(800, &len), err[256];
    ldr_workload_t a, b;
    cr_assert_eq(ldr_workload_init(&a, cat, len, 5, 600, err, sizeof(err)), LDR_OK, "%s", err);
    cr_assert_eq(ldr_workload_init(&b, cat, len, 5, 600, err, sizeof(err)), LDR_OK, "%s", err);
    cr_assert_eq(a.nskus, 800);
    cr_assert_eq(a.nsearch, 600);
    cr_assert_eq(a.nsuggest, 600);
    cr_assert_eq(a.ncheckout, 64);
    size_t accented = 0, filtered = 0;
    for (size_t i = 0; i < a.nsearch; i++) {
        cr_assert_str_eq(a.search[i], b.search[i], "the same seed, the same queries");
        cr_assert(strncmp(a.search[i], "q=", 2) == 0, "%s", a.search[i]);
        cr_assert_not_null(strstr(a.search[i], "&per_page=20"));
        char q[512];
        decode(a.search[i] + 2, q, sizeof(q));
        cr_assert_gt(strlen(q), 0, "%s", a.search[i]);
        cr_assert(ldr_utf8_valid(q, strlen(q)), "%s", a.search[i]);
        for (const char *p = q; *p; p++)
            if ((unsigned char)*p >= 0x80) {
                accented++;
                break;
            }
        if (strstr(a.search[i], "&category=") || strstr(a.search[i], "&brand=") ||
            strstr(a.search[i], "&in_stock=true"))
            filtered++;
    }
    for (size_t i = 0; i < a.nsuggest; i++) {
        char q[512];
        decode(a.suggest[i] + 2, q, sizeof(q));
        cr_assert(ldr_utf8_valid(q, strlen(q)) && q[0] != '\0', "%s", a.suggest[i]);
    }
    /* the kinds' shares (25/20/20/10/10/15 %) within a wide margin */
    uint32_t total = 0;
    for (int k = 0; k < 6; k++) {
        cr_assert_gt(a.query_kinds[k], 600 * 4 / 100, "kind %s: %u", ldr_query_kind_names[k],
                     a.query_kinds[k]);
        total += a.query_kinds[k];
    }
    cr_assert_eq(total, 600);
    cr_assert_gt(accented, 600 / 10, "Vietnamese with diacritics: %zu", accented);
    cr_assert_eq(filtered, a.query_kinds[5]);
    ldr_workload_t c;
    cr_assert_eq(ldr_workload_init(&c, cat, len, 6, 600, err, sizeof(err)), LDR_OK);
    size_t same = 0;
    for (size_t i = 0; i < c.nsearch; i++)
        same += strcmp(a.search[i], c.search[i]) == 0;
    cr_assert_lt(same, 300, "another seed, other queries");
    ldr_workload_free(&a);
    ldr_workload_free(&b);
    ldr_workload_free(&c);
    free(cat);
}

Test(workload, a_catalog_without_products_is_refused)
{
    ldr_workload_t w;
    char err[256];
    const char *junk = "not json\n{\"sku\":\"A\"}\n";
    cr_assert_eq(ldr_workload_init(&w, junk, strlen(junk), 1, 10, err, sizeof(err)), LDR_EINVAL);
    cr_assert_not_null(strstr(err, "no product"), "%s", err);
}

Test(workload, mix_parsing)
{
    double w[LDR_EP_COUNT];
    char err[256];
    cr_assert_eq(ldr_mix_parse("search=3,checkout=0.5", w, err, sizeof(err)), LDR_OK);
    cr_assert_float_eq(w[LDR_EP_SEARCH], 3, 1e-9);
    cr_assert_float_eq(w[LDR_EP_CHECKOUT], 0.5, 1e-9);
    cr_assert_float_eq(w[LDR_EP_CART], 0, 1e-9);
    cr_assert_eq(ldr_mix_parse("search", w, err, sizeof(err)), LDR_EINVAL);
    cr_assert_not_null(strstr(err, "NAME=WEIGHT"));
    cr_assert_eq(ldr_mix_parse("serch=1", w, err, sizeof(err)), LDR_EINVAL);
    cr_assert_not_null(strstr(err, "unknown endpoint \"serch\""));
    cr_assert_eq(ldr_mix_parse("search=-1", w, err, sizeof(err)), LDR_EINVAL);
    cr_assert_eq(ldr_mix_parse("search=x", w, err, sizeof(err)), LDR_EINVAL);
    cr_assert_eq(ldr_mix_parse("search=0", w, err, sizeof(err)), LDR_EINVAL);
    cr_assert_not_null(strstr(err, "nothing"));
    cr_assert_eq(ldr_ep_find("stock_write", 11), LDR_EP_STOCK_WRITE);
    cr_assert_eq(ldr_ep_find("stock", 5), LDR_EP_STOCK);
}

Test(workload, requests_are_well_formed)
{
    size_t len;
    char *cat = catalog(300, &len), err[256];
    ldr_workload_t w;
    cr_assert_eq(ldr_workload_init(&w, cat, len, 1, 50, err, sizeof(err)), LDR_OK);
    snprintf(w.host, sizeof(w.host), "127.0.0.1:8080");
    w.token_ttl = 600;
    cr_assert_eq(ldr_auth_new(SECRET, strlen(SECRET), &w.auth), LDR_OK);
    w.service_token = strdup("service-token");
    uint64_t rng = 42;
    ldr_buf_t b = LDR_BUF_INIT;
    static const char *const starts[LDR_EP_COUNT] = {"GET /v1/search?q=",
                                                     "GET /v1/suggest?q=",
                                                     "GET /v1/products/",
                                                     "GET /v1/stock/",
                                                     "PUT /v1/cart/items/",
                                                     "PUT /v1/cart/items/",
                                                     "GET /v1/delivery/slots?store=default&date=",
                                                     "POST /v1/stock/"};
    for (int e = 0; e < LDR_EP_COUNT; e++) {
        for (uint32_t step = 0; step < ldr_workload_steps((ldr_ep_t)e); step++) {
            ldr_load_req_t r = {.intended = 0, .ep = (uint32_t)e, .seq = 9};
            ldr_txn_t txn = {.step = step};
            if (step > 0) { /* the checkout's second step follows its first on the same txn */
                txn.step = 0;
                cr_assert_eq(ldr_workload_request(&w, &r, &txn, 1, &rng, &b), LDR_OK);
                txn.step = step;
            }
            cr_assert_eq(ldr_workload_request(&w, &r, &txn, 1, &rng, &b), LDR_OK);
            ldr_buf_putc(&b, '\0');
            const char *req = b.base;
            const char *want = step == 1 ? "POST /v1/checkout HTTP/1.1\r\n" : starts[e];
            cr_assert(strncmp(req, want, strlen(want)) == 0, "%s: %s", ldr_ep_info[e].name, req);
            cr_assert_not_null(strstr(req, " HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"), "%s", req);
            const char *body = strstr(req, "\r\n\r\n") + 4;
            const char *cl = strstr(req, "Content-Length: ");
            if (cl != NULL)
                cr_assert_eq((size_t)atoi(cl + 16), strlen(body), "%s", req);
            else
                cr_assert_str_eq(body, "", "%s", req);
            bool token = strstr(req, "Authorization: Bearer ") != NULL;
            cr_assert_eq(token, ldr_ep_info[e].needs_token, "%s", req);
            if (step == 1) {
                cr_assert_not_null(strstr(req, "Idempotency-Key: bench-"), "%s", req);
                cr_assert_not_null(strstr(body, "\"fake_ok\""), "%s", req);
            }
        }
    }
    ldr_buf_free(&b);
    ldr_workload_free(&w);
    free(cat);
}
