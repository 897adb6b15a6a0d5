/*
 * End-to-end: the real binary on an ephemeral loopback port, spoken to over HTTP/1.1, HTTP/2 with
 * prior knowledge and HTTP/2 through Upgrade: h2c.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../helpers.h"

static const char catalog_jsonl[] =
    "{\"sku\":\"VEG-000123\",\"name\":{\"en\":\"Cherry tomatoes\",\"vi\":\"C\xc3\xa0 chua bi\"},"
    "\"description\":{\"en\":\"Sweet cherry tomatoes from Da Lat\",\"vi\":\"C\xc3\xa0 chua bi "
    "\xc4\x90\xc3\xa0 L\xe1\xba\xa1t\"},\"category\":\"produce/vegetables\",\"brand\":\"Da Lat "
    "Farm\",\"price\":35000,\"unit\":\"500g\",\"perishable\":true,\"shelf_life_days\":7,"
    "\"tags\":[\"organic\",\"vietgap\"],\"substitutes\":[\"VEG-000124\"]}\n"
    "{\"sku\":\"VEG-000124\",\"name\":{\"vi\":\"C\xc3\xa0 "
    "chua\"},\"category\":\"produce/vegetables\","
    "\"price\":25000}\n"
    "{\"sku\":\"BAD\",\"name\":{\"en\":\"Broken\"},\"category\":\"pantry\",\"price\":-1}\n"
    "{\"sku\":\"PAN-000001\",\"name\":{\"en\":\"Fish sauce\",\"vi\":\"N\xc6\xb0\xe1\xbb\x9b"
    "c m\xe1\xba\xafm\"},\"category\":\"pantry/sauces\",\"brand\":\"Nam Ng\xc6\xb0\",\"price\":"
    "42000,\"unit\":\"500ml\",\"perishable\":false}\n";

static const char stock_jsonl[] =
    "{\"sku\":\"VEG-000123\",\"store\":\"default\",\"lot\":\"L1\",\"quantity\":7,"
    "\"expires_at\":\"2030-01-02T00:00:00Z\"}\n"
    "{\"sku\":\"VEG-000123\",\"store\":\"default\",\"lot\":\"L2\",\"quantity\":5,"
    "\"expires_at\":\"2030-01-01T00:00:00Z\"}\n"
    "{\"sku\":\"VEG-000123\",\"store\":\"hcm-q7\",\"lot\":\"L9\",\"quantity\":3}\n"
    "{\"sku\":\"NOPE-1\",\"store\":\"default\",\"lot\":\"L1\",\"quantity\":3}\n"
    "{\"sku\":\"VEG-000124\",\"store\":\"default\",\"lot\":\"OLD\",\"quantity\":2,"
    "\"expires_at\":\"2020-01-01T00:00:00Z\"}\n";

static char *dir;
static ldr_test_server_t srv;

static void write_file(const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void start_fixture(void)
{
    dir = ldr_test_tmpdir();
    cr_assert_not_null(dir);
    write_file("catalog.jsonl", catalog_jsonl);
    write_file("stock.jsonl", stock_jsonl);
    char cat[512], stock[512], data[512];
    snprintf(cat, sizeof(cat), "%s/catalog.jsonl", dir);
    snprintf(stock, sizeof(stock), "%s/stock.jsonl", dir);
    snprintf(data, sizeof(data), "%s/data", dir);
    const char *args[] = {"--catalog", cat, "--stock", stock, "--data-dir", data, NULL};
    setenv("LARDER_LOG_LEVEL", "info", 1); /* request_ids_and_one_json_log_line_per_request */
    int rc = ldr_test_server_start(&srv, args, 1);
    unsetenv("LARDER_LOG_LEVEL");
    cr_assert_eq(rc, 0, "server did not start");
}

static void stop_fixture(void)
{
    if (srv.pid > 0)
        ldr_test_server_stop(&srv);
    ldr_test_rmtree(dir);
    free(dir);
}

static ldr_test_resp_t get(int mode, const char *path)
{
    char url[512];
    ldr_test_resp_t r;
    snprintf(url, sizeof(url), "%s%s", srv.base, path);
    cr_assert_eq(ldr_test_http(mode, "GET", url, NULL, &r), 0, "GET %s failed", path);
    return r;
}

static json_t *parse(const ldr_test_resp_t *r)
{
    json_error_t e;
    json_t *j = json_loads(r->body, 0, &e);
    cr_assert_not_null(j, "body is not JSON: %s (%s)", r->body, e.text);
    return j;
}

static void assert_error_shape(const ldr_test_resp_t *r, long status, const char *code)
{
    cr_assert_eq(r->status, status, "status %ld, want %ld: %s", r->status, status, r->body);
    cr_assert(strstr(r->headers, "content-type: application/json") != NULL);
    json_t *j = parse(r);
    json_t *err = json_object_get(j, "error");
    cr_assert(json_is_object(err), "no error object: %s", r->body);
    cr_assert_str_eq(json_string_value(json_object_get(err, "code")), code);
    cr_assert(json_is_string(json_object_get(err, "message")));
    json_decref(j);
}

TestSuite(server, .init = start_fixture, .fini = stop_fixture, .timeout = 60);

static const int modes[] = {LDR_TEST_HTTP1, LDR_TEST_H2_PRIOR, LDR_TEST_H2_UPGRADE};
static const long versions[] = {11, 2, 2};

Test(server, healthz_on_every_protocol)
{
    for (size_t i = 0; i < 3; i++) {
        ldr_test_resp_t r = get(modes[i], "/healthz");
        cr_assert_eq(r.status, 200);
        cr_assert_eq(r.http_version, versions[i], "mode %d spoke HTTP version %ld", modes[i],
                     r.http_version);
        json_t *j = parse(&r);
        cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "ok");
        json_decref(j);
        ldr_test_resp_free(&r);
    }
}

Test(server, readyz_counts_what_loaded)
{
    ldr_test_resp_t r = get(LDR_TEST_H2_PRIOR, "/readyz");
    cr_assert_eq(r.status, 200);
    json_t *j = parse(&r);
    /* the line with a negative price is rejected, the other three load */
    cr_assert_eq(json_integer_value(json_object_get(j, "products")), 3);
    cr_assert_eq(json_integer_value(json_object_get(j, "stores")), 2);
    json_decref(j);
    ldr_test_resp_free(&r);
}

Test(server, product_as_imported_with_stock)
{
    for (size_t i = 0; i < 3; i++) {
        ldr_test_resp_t r = get(modes[i], "/v1/products/VEG-000123");
        cr_assert_eq(r.status, 200, "%s", r.body);
        cr_assert_eq(r.http_version, versions[i]);
        json_t *p = parse(&r);
        cr_assert_str_eq(json_string_value(json_object_get(p, "sku")), "VEG-000123");
        json_t *name = json_object_get(p, "name");
        cr_assert_str_eq(json_string_value(json_object_get(name, "en")), "Cherry tomatoes");
        cr_assert_str_eq(json_string_value(json_object_get(name, "vi")), "C\xc3\xa0 chua bi");
        cr_assert_str_eq(json_string_value(json_object_get(p, "category")), "produce/vegetables");
        cr_assert_str_eq(json_string_value(json_object_get(p, "brand")), "Da Lat Farm");
        cr_assert_eq(json_integer_value(json_object_get(p, "price")), 35000);
        cr_assert_str_eq(json_string_value(json_object_get(p, "unit")), "500g");
        cr_assert(json_is_true(json_object_get(p, "perishable")));
        cr_assert_eq(json_integer_value(json_object_get(p, "shelf_life_days")), 7);
        cr_assert_eq(json_array_size(json_object_get(p, "tags")), 2);
        cr_assert_str_eq(json_string_value(json_array_get(json_object_get(p, "substitutes"), 0)),
                         "VEG-000124");
        json_t *stock = json_object_get(p, "stock");
        cr_assert_eq(json_array_size(stock), 2, "%s", r.body);
        for (size_t s = 0; s < 2; s++) {
            json_t *e = json_array_get(stock, s);
            const char *store = json_string_value(json_object_get(e, "store"));
            long long avail = json_integer_value(json_object_get(e, "available"));
            if (strcmp(store, "default") == 0)
                cr_assert_eq(avail, 12);
            else
                cr_assert(strcmp(store, "hcm-q7") == 0 && avail == 3, "%s %lld", store, avail);
        }
        json_decref(p);
        ldr_test_resp_free(&r);
    }
}

Test(server, product_without_stock_lists_zero)
{
    ldr_test_resp_t r = get(LDR_TEST_HTTP1, "/v1/products/PAN-000001");
    cr_assert_eq(r.status, 200);
    json_t *p = parse(&r);
    cr_assert(json_is_false(json_object_get(p, "perishable")));
    cr_assert_null(json_object_get(p, "shelf_life_days"));
    json_t *stock = json_object_get(p, "stock");
    for (size_t s = 0; s < json_array_size(stock); s++)
        cr_assert_eq(json_integer_value(json_object_get(json_array_get(stock, s), "available")), 0);
    json_decref(p);
    ldr_test_resp_free(&r);
}

Test(server, unknown_sku_is_404_json)
{
    for (size_t i = 0; i < 3; i++) {
        ldr_test_resp_t r = get(modes[i], "/v1/products/NOPE-42");
        assert_error_shape(&r, 404, "not_found");
        cr_assert(strstr(r.body, "NOPE-42") != NULL);
        ldr_test_resp_free(&r);
        /* the rejected line's SKU was never loaded */
        r = get(modes[i], "/v1/products/BAD");
        assert_error_shape(&r, 404, "not_found");
        ldr_test_resp_free(&r);
    }
}

Test(server, unknown_route_is_404_json)
{
    const char *paths[] = {
        "/", "/nope", "/v1/products", "/v1/products/", "/v1/products/a/b", "/healthz/x"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        ldr_test_resp_t r = get(LDR_TEST_H2_PRIOR, paths[i]);
        assert_error_shape(&r, 404, "not_found");
        ldr_test_resp_free(&r);
    }
}

Test(server, wrong_method_is_405_with_allow)
{
    const char *methods[] = {"POST", "PUT", "DELETE"};
    for (size_t m = 0; m < 3; m++) {
        for (size_t i = 0; i < 2; i++) {
            char url[256];
            ldr_test_resp_t r;
            snprintf(url, sizeof(url), "%s/v1/search?q=x", srv.base);
            cr_assert_eq(ldr_test_http(modes[i], methods[m], url, "{}", &r), 0);
            assert_error_shape(&r, 405, "method_not_allowed");
            cr_assert(strstr(r.headers, "allow: get, head\r") != NULL, "%s", r.headers);
            ldr_test_resp_free(&r);
        }
    }
    /* a product takes reads, and writes from admins: the Allow header names them all */
    char url[256];
    ldr_test_resp_t pr;
    snprintf(url, sizeof(url), "%s/v1/products/VEG-000123", srv.base);
    cr_assert_eq(ldr_test_http(LDR_TEST_HTTP1, "POST", url, "{}", &pr), 0);
    assert_error_shape(&pr, 405, "method_not_allowed");
    cr_assert(strstr(pr.headers, "allow: get, head, put, delete") != NULL, "%s", pr.headers);
    ldr_test_resp_free(&pr);
    /* nothing changed */
    ldr_test_resp_t r = get(LDR_TEST_HTTP1, "/readyz");
    cr_assert(strstr(r.body, "\"products\":3") != NULL, "%s", r.body);
    ldr_test_resp_free(&r);
}

Test(server, head_has_no_body)
{
    char url[256];
    ldr_test_resp_t r;
    snprintf(url, sizeof(url), "%s/healthz", srv.base);
    cr_assert_eq(ldr_test_http(LDR_TEST_HTTP1, "HEAD", url, NULL, &r), 0);
    cr_assert_eq(r.status, 200);
    cr_assert_eq(r.len, 0);
    ldr_test_resp_free(&r);
}

Test(server, sigterm_exits_zero)
{
    ldr_test_resp_t r = get(LDR_TEST_H2_PRIOR, "/healthz");
    ldr_test_resp_free(&r);
    cr_assert_eq(ldr_test_server_stop(&srv), 0, "server did not exit 0 on SIGTERM");
}

Test(server, stock_of_one_item_with_its_lots_in_fefo_order)
{
    const char *paths[] = {"/stock/VEG-000123", "/v1/stock/VEG-000123?store=default"};
    for (size_t i = 0; i < 2; i++) {
        ldr_test_resp_t r = get(modes[i], paths[i]);
        cr_assert_eq(r.status, 200, "%s", r.body);
        json_t *j = parse(&r);
        cr_assert_str_eq(json_string_value(json_object_get(j, "store")), "default");
        cr_assert_eq(json_integer_value(json_object_get(j, "on_hand")), 12);
        cr_assert_eq(json_integer_value(json_object_get(j, "reserved")), 0);
        cr_assert_eq(json_integer_value(json_object_get(j, "available")), 12);
        cr_assert_gt(json_integer_value(json_object_get(j, "version")), 0);
        json_t *lots = json_object_get(j, "lots");
        cr_assert_eq(json_array_size(lots), 2);
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(lots, 0), "lot")), "L2");
        cr_assert_str_eq(json_string_value(json_object_get(json_array_get(lots, 0), "expires_at")),
                         "2030-01-01T00:00:00Z");
        json_decref(j);
        ldr_test_resp_free(&r);
    }
    ldr_test_resp_t r = get(LDR_TEST_H2_PRIOR, "/v1/stock/VEG-000123?store=hcm-q7");
    json_t *j = parse(&r);
    cr_assert_eq(json_integer_value(json_object_get(j, "available")), 3);
    cr_assert_null(json_object_get(json_array_get(json_object_get(j, "lots"), 0), "expires_at"));
    json_decref(j);
    ldr_test_resp_free(&r);
    r = get(LDR_TEST_HTTP1, "/v1/stock/PAN-000001"); /* known product, nothing in stock */
    cr_assert(strstr(r.body, "\"available\":0,\"lots\":[]") != NULL, "%s", r.body);
    ldr_test_resp_free(&r);
}

Test(server, stock_errors)
{
    const struct {
        const char *path;
        long status;
        const char *code;
    } cases[] = {
        {"/v1/stock/NOPE-9", 404, "not_found"},
        {"/v1/stock/VEG-000123?store=nowhere", 404, "not_found"},
        {"/v1/stock/VEG-000123?store=Bad!", 400, "invalid_parameter"},
        {"/v1/stock/VEG-000123?colour=red", 400, "invalid_parameter"},
        {"/v1/stock/expiring?within=soon", 400, "invalid_parameter"},
        {"/v1/stock/expiring?within=400d", 400, "invalid_parameter"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ldr_test_resp_t r = get(LDR_TEST_HTTP1, cases[i].path);
        assert_error_shape(&r, cases[i].status, cases[i].code);
        ldr_test_resp_free(&r);
    }
}

Test(server, expiring_lists_lots_due_within_the_window)
{
    /* a lot due in two days, received now; OLD (2020) left stock when the engine's clock ticked */
    char body[256], url[256], stamp[32];
    time_t due = time(NULL) + 2 * 86400;
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&due));
    snprintf(body, sizeof(body), "{\"lot\":\"SOON\",\"quantity\":4,\"expires_at\":\"%s\"}", stamp);
    snprintf(url, sizeof(url), "%s/v1/stock/VEG-000124/receive", srv.base);
    char *token = ldr_test_token("admin", "ops");
    ldr_test_resp_t r;
    cr_assert_eq(ldr_test_http_auth(LDR_TEST_HTTP1, "POST", url, body, token, &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    free(token);
    json_t *j = parse(&r);
    cr_assert_eq(json_integer_value(json_object_get(j, "on_hand")), 4, "OLD is still counted: %s",
                 r.body);
    json_decref(j);
    ldr_test_resp_free(&r);
    r = get(LDR_TEST_H2_PRIOR, "/v1/stock/expiring?store=default&within=7d");
    cr_assert_eq(r.status, 200, "%s", r.body);
    j = parse(&r);
    json_t *lots = json_object_get(j, "lots");
    cr_assert_eq(json_array_size(lots), 1, "%s", r.body); /* the 2030 lots are not due */
    json_t *l = json_array_get(lots, 0);
    cr_assert_str_eq(json_string_value(json_object_get(l, "sku")), "VEG-000124");
    cr_assert_str_eq(json_string_value(json_object_get(l, "lot")), "SOON");
    cr_assert_str_eq(json_string_value(json_object_get(l, "expires_at")), stamp);
    cr_assert(json_is_false(json_object_get(l, "expired")));
    cr_assert_str_eq(json_string_value(json_object_get(j, "within")), "7d");
    cr_assert(json_is_string(json_object_get(j, "until")));
    json_decref(j);
    ldr_test_resp_free(&r);
}

/* The value on the line that starts with line_prefix (not a # HELP or # TYPE line), or -1. */
static long long metric(const char *text, const char *line_prefix)
{
    for (const char *at = strstr(text, line_prefix); at != NULL; at = strstr(at + 1, line_prefix))
        if (at == text || at[-1] == '\n')
            return atoll(at + strlen(line_prefix));
    return -1;
}

Test(server, metrics_count_requests_per_route)
{
    ldr_test_resp_t r = get(LDR_TEST_HTTP1, "/metrics");
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.headers, "content-type: text/plain; version=0.0.4") != NULL, "%s",
              r.headers);
    long long before = metric(
        r.body, "larder_http_requests_total{route=\"GET /v1/products/{sku}\",code=\"200\"} ");
    ldr_test_resp_free(&r);
    for (int i = 0; i < 3; i++) {
        r = get(i % 2 ? LDR_TEST_H2_PRIOR : LDR_TEST_HTTP1, "/v1/products/VEG-000123");
        cr_assert_eq(r.status, 200);
        ldr_test_resp_free(&r);
    }
    r = get(LDR_TEST_HTTP1, "/no/such/route");
    cr_assert_eq(r.status, 404, "%s", r.body);
    ldr_test_resp_free(&r);
    /* a request is counted when its loop has sent the answer, which the client may see first:
     * look again for a moment */
    long long after = -1;
    for (int i = 0; i < 200; i++) {
        if (i > 0) {
            ldr_test_resp_free(&r);
            usleep(10000);
        }
        r = get(LDR_TEST_HTTP1, "/metrics");
        after = metric(
            r.body, "larder_http_requests_total{route=\"GET /v1/products/{sku}\",code=\"200\"} ");
        if (after == (before < 0 ? 0 : before) + 3 &&
            metric(r.body, "larder_http_requests_total{route=\"unmatched\",code=\"404\"} ") >= 1)
            break;
    }
    cr_assert_eq(after, (before < 0 ? 0 : before) + 3, "%s", r.body);
    cr_assert_geq(metric(r.body, "larder_http_requests_total{route=\"unmatched\",code=\"404\"} "),
                  1);
    cr_assert_geq(
        metric(r.body,
               "larder_http_request_duration_seconds_count{route=\"GET /v1/products/{sku}\"} "),
        3);
    cr_assert(strstr(r.body, "le=\"+Inf\"") != NULL);
    cr_assert_eq(metric(r.body, "larder_ready "), 1);
    cr_assert_eq(metric(r.body, "larder_catalog_products "), 3);
    cr_assert_eq(metric(r.body, "larder_wal_failed "), 0);
    cr_assert_geq(metric(r.body, "larder_wal_durable_lsn "), 1);
    ldr_test_resp_free(&r);
}

Test(server, request_ids_and_one_json_log_line_per_request)
{
    /* generated ids: 12 hex digits of the boot, the loop, a serial; never the same twice */
    char ids[2][64];
    for (int k = 0; k < 2; k++) {
        ldr_test_resp_t r = get(LDR_TEST_HTTP1, "/v1/products/VEG-000123?secret=1");
        const char *h = strstr(r.headers, "x-request-id: ");
        cr_assert(h != NULL, "%s", r.headers);
        unsigned loop;
        unsigned long long serial;
        int end = 0;
        cr_assert_eq(sscanf(h + 14, "%63[^\r\n]", ids[k]), 1);
        cr_assert_eq(sscanf(ids[k], "%*12[0-9a-f]-%u-%llu%n", &loop, &serial, &end), 2, "%s",
                     ids[k]);
        cr_assert_eq((size_t)end, strlen(ids[k]), "%s", ids[k]);
        cr_assert_gt(serial, 0);
        ldr_test_resp_free(&r);
    }
    cr_assert_str_neq(ids[0], ids[1]);
    /* the client's own id is echoed (curl's CLI: the helpers send no extra headers) */
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "curl -s -D - -o /dev/null -H 'X-Request-Id: trace-42' %s/healthz | tr -d '\\r' | "
             "grep -ci '^x-request-id: trace-42$'",
             srv.base);
    FILE *p = popen(cmd, "r");
    int found = 0;
    cr_assert(p != NULL && fscanf(p, "%d", &found) == 1);
    pclose(p);
    cr_assert_eq(found, 1, "the client's X-Request-Id was not echoed");
    usleep(200000); /* the loops write their lines once per turn */
    size_t len;
    char *log = ldr_test_slurp(srv.stderr_path, &len);
    cr_assert_not_null(log);
    const char *line = strstr(log, "\"request_id\":\"trace-42\"");
    cr_assert_not_null(line, "no log line for the request: %s", log);
    while (line > log && line[-1] != '\n')
        line--;
    json_t *j = json_loadb(line, (size_t)(strchr(line, '\n') - line), 0, NULL);
    cr_assert_not_null(j, "not one JSON object a line");
    cr_assert_str_eq(json_string_value(json_object_get(j, "route")), "GET /healthz");
    cr_assert_eq(json_integer_value(json_object_get(j, "status")), 200);
    cr_assert(json_is_integer(json_object_get(j, "latency_us")));
    json_decref(j);
    cr_assert_null(strstr(log, "secret=1"), "a query string reached the log");
    free(log);
}
