/* /v1/search and /v1/suggest over HTTP/1.1 and HTTP/2: response shape, filters, and bad input. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../helpers.h"

static char *dir;
static ldr_test_server_t srv;

static void start(void)
{
    dir = ldr_test_tmpdir();
    const char *gen[] = {"--skus", "3000",    "--seed",     "1", "--stores",
                         "2",      "--today", "2026-11-25", NULL};
    cr_assert_eq(ldr_test_server_start_generated(&srv, dir, gen), 0);
}

static void stop(void)
{
    ldr_test_server_stop(&srv);
    ldr_test_rmtree(dir);
    free(dir);
}

TestSuite(search_http, .init = start, .fini = stop, .timeout = 60);

static json_t *get_json(int mode, const char *path, long want)
{
    char url[2048];
    ldr_test_resp_t r;
    snprintf(url, sizeof(url), "%s%s", srv.base, path);
    cr_assert_eq(ldr_test_http(mode, "GET", url, NULL, &r), 0, "GET %s", path);
    cr_assert_eq(r.status, want, "GET %s: %ld %s", path, r.status, r.body);
    json_error_t e;
    json_t *j = json_loads(r.body, 0, &e);
    cr_assert_not_null(j, "GET %s: not JSON: %s", path, r.body);
    ldr_test_resp_free(&r);
    return j;
}

Test(search_http, vietnamese_query_with_and_without_diacritics)
{
    const char *paths[] = {"/v1/search?q=c%C3%A0%20chua", "/v1/search?q=ca+chua",
                           "/v1/search?q=CA%20CHUA"};
    long long total = -1;
    for (size_t i = 0; i < 3; i++) {
        json_t *j = get_json(i == 1 ? LDR_TEST_H2_PRIOR : LDR_TEST_HTTP1, paths[i], 200);
        json_t *hits = json_object_get(j, "hits");
        cr_assert_gt(json_array_size(hits), 0, "%s found nothing", paths[i]);
        json_t *top = json_array_get(hits, 0);
        const char *vi = json_string_value(json_object_get(json_object_get(top, "name"), "vi"));
        cr_assert(strstr(vi, "C\xc3\xa0 chua") != NULL, "top hit of %s is %s", paths[i], vi);
        const char *hl =
            json_string_value(json_object_get(json_object_get(top, "highlight"), "vi"));
        cr_assert(hl != NULL && strstr(hl, "<em>C\xc3\xa0</em> <em>chua</em>") != NULL, "%s", hl);
        long long t = json_integer_value(json_object_get(j, "total"));
        cr_assert(total < 0 || t == total, "totals differ: %lld vs %lld", t, total);
        total = t;
        cr_assert(json_is_integer(json_object_get(j, "took_us")));
        json_decref(j);
    }
}

Test(search_http, filters_sort_pages_and_facets)
{
    json_t *j = get_json(LDR_TEST_H2_PRIOR,
                         "/v1/search?category=dairy&store=default&in_stock=true&sort=price_asc"
                         "&per_page=5&facets=category,brand,perishable",
                         200);
    json_t *hits = json_object_get(j, "hits");
    cr_assert_eq(json_array_size(hits), 5);
    long long last = -1;
    for (size_t i = 0; i < 5; i++) {
        json_t *h = json_array_get(hits, i);
        cr_assert_eq(strncmp(json_string_value(json_object_get(h, "category")), "dairy/", 6), 0);
        cr_assert_gt(json_integer_value(json_object_get(h, "available")), 0);
        long long price = json_integer_value(json_object_get(h, "price"));
        cr_assert_geq(price, last);
        last = price;
    }
    long long total = json_integer_value(json_object_get(j, "total")), sum = 0;
    json_t *cats = json_object_get(json_object_get(j, "facets"), "category");
    for (size_t i = 0; i < json_array_size(cats); i++)
        sum += json_integer_value(json_object_get(json_array_get(cats, i), "count"));
    cr_assert_eq(sum, total, "category facet counts %lld, total %lld", sum, total);
    json_t *per = json_object_get(json_object_get(j, "facets"), "perishable");
    cr_assert_gt(json_array_size(per), 0);
    json_decref(j);
}

Test(search_http, zero_results_are_honest)
{
    json_t *j = get_json(LDR_TEST_HTTP1, "/v1/search?q=xyzzyq+qwertyuiop", 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "total")), 0);
    cr_assert_eq(json_array_size(json_object_get(j, "hits")), 0);
    json_decref(j);
    j = get_json(LDR_TEST_HTTP1, "/v1/search?q=%21%21%21", 200); /* only punctuation */
    cr_assert_eq(json_integer_value(json_object_get(j, "total")), 0);
    json_decref(j);
}

Test(search_http, bad_parameters_are_400)
{
    char longq[11000] = "/v1/search?q=";
    memset(longq + strlen(longq), 'a', 10240);
    const char *bad[][2] = {{"/v1/search?per_page=100000", "per_page"},
                            {"/v1/search?page=-1", "page"},
                            {"/v1/search?page=0", "page"},
                            {"/v1/search?page=9999&per_page=100", "page"},
                            {"/v1/search?q=%ff%fe", "q"},
                            {"/v1/search?q=a%00b", "q"},
                            {"/v1/search?q=%0a", "q"},
                            {"/v1/search?q=%zz", "query"},
                            {"/v1/search?categroy=x", "categroy"},
                            {"/v1/search?sort=cheapest", "sort"},
                            {"/v1/search?perishable=yes", "perishable"},
                            {"/v1/search?in_stock=true", "in_stock"},
                            {"/v1/search?store=nowhere", "store"},
                            {"/v1/search?price_min=-5", "price_min"},
                            {"/v1/search?price_min=9&price_max=1", "price_min"},
                            {"/v1/search?lang=fr", "lang"},
                            {"/v1/search?facets=colour", "facets"},
                            {"/v1/suggest?limit=0", "limit"},
                            {"/v1/suggest?limit=500", "limit"},
                            {"/v1/suggest?category=x", "category"},
                            {longq, "q"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        for (int mode = LDR_TEST_HTTP1; mode <= LDR_TEST_H2_PRIOR; mode++) {
            json_t *j = get_json(mode, bad[i][0], 400);
            json_t *err = json_object_get(j, "error");
            cr_assert_str_eq(json_string_value(json_object_get(err, "code")), "invalid_parameter");
            cr_assert_str_eq(
                json_string_value(json_object_get(json_object_get(err, "details"), "parameter")),
                bad[i][1], "%s", bad[i][0]);
            json_decref(j);
        }
    }
    /* and the server is still fine */
    json_t *j = get_json(LDR_TEST_HTTP1, "/healthz", 200);
    json_decref(j);
}

Test(search_http, suggest_completes_the_last_word)
{
    json_t *j = get_json(LDR_TEST_H2_PRIOR, "/v1/suggest?q=ca+ch&limit=5", 200);
    json_t *s = json_object_get(j, "suggestions");
    cr_assert_gt(json_array_size(s), 0);
    cr_assert_leq(json_array_size(s), 5);
    for (size_t i = 0; i < json_array_size(s); i++) {
        json_t *e = json_array_get(s, i);
        cr_assert(json_is_string(json_object_get(e, "text")));
        cr_assert(json_is_string(json_object_get(e, "sku")));
    }
    json_decref(j);
    j = get_json(LDR_TEST_HTTP1, "/v1/suggest", 200);
    cr_assert_eq(json_array_size(json_object_get(j, "suggestions")), 0);
    json_decref(j);
}

/* the body without its took_us value */
static char *without_took(const char *body)
{
    char *s = strdup(body), *t = strstr(s, "\"took_us\":");
    cr_assert_not_null(t);
    char *end = t + strlen("\"took_us\":");
    while (*end >= '0' && *end <= '9')
        end++;
    memmove(t, end, strlen(end) + 1);
    return s;
}

Test(search_http, repeated_queries_come_from_the_cache)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/search?q=nuoc+mam&per_page=7&facets=brand", srv.base);
    ldr_test_resp_t a, b, c;
    cr_assert_eq(ldr_test_http(LDR_TEST_HTTP1, "GET", url, NULL, &a), 0);
    cr_assert(strstr(a.headers, "x-larder-cache: miss") != NULL, "%s", a.headers);
    /* each loop thread keeps its own cache and a new connection may land on any loop: ask until
     * one answers from its cache (after at most one miss per loop) */
    int tries = 0;
    do {
        if (tries > 0)
            ldr_test_resp_free(&b);
        cr_assert_eq(
            ldr_test_http(tries % 2 ? LDR_TEST_HTTP1 : LDR_TEST_H2_PRIOR, "GET", url, NULL, &b), 0);
    } while (strstr(b.headers, "x-larder-cache: hit") == NULL && ++tries < 32);
    cr_assert(strstr(b.headers, "x-larder-cache: hit") != NULL, "no hit in 32 tries: %s",
              b.headers);
    char *x = without_took(a.body), *y = without_took(b.body);
    cr_assert_str_eq(x, y);
    /* a different query string is a different entry; a bad one is never cached */
    snprintf(url, sizeof(url), "%s/v1/search?q=nuoc+mam&per_page=7&facets=bogus", srv.base);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(ldr_test_http(LDR_TEST_HTTP1, "GET", url, NULL, &c), 0);
        cr_assert_eq(c.status, 400);
        ldr_test_resp_free(&c);
    }
    free(x), free(y);
    ldr_test_resp_free(&a);
    ldr_test_resp_free(&b);
}

Test(search_http, suggest_offers_categories_first)
{
    json_t *j = get_json(LDR_TEST_HTTP1, "/v1/suggest?q=veg&limit=5", 200);
    json_t *s = json_object_get(j, "suggestions");
    cr_assert_gt(json_array_size(s), 1);
    json_t *first = json_array_get(s, 0);
    const char *cat = json_string_value(json_object_get(first, "category"));
    cr_assert(cat != NULL && strstr(cat, "vegetables") != NULL, "first suggestion: %s",
              json_dumps(first, 0));
    cr_assert_str_eq(json_string_value(json_object_get(first, "text")), cat);
    cr_assert_null(json_object_get(first, "sku"));
    cr_assert_leq(json_array_size(s), 5);
    json_decref(j);
}
