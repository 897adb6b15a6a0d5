/*
 * Catalog writes over HTTP: PUT, DELETE and import are admin or service writes, searchable and
 * readable when they return (on any connection, over either protocol), durable across a kill and
 * a snapshot, and every bad request is a 4xx that changes nothing.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../helpers.h"

static char *dir, *admin, *service, *customer;
static char cat_path[600];
static ldr_test_server_t srv;

static void start(void)
{
    dir = ldr_test_tmpdir();
    setenv("LARDER_SNAPSHOT_RECORDS", "7", 1); /* snapshots land between the writes below */
    const char *gen[] = {"--skus", "300", "--stores", "1", "--seed", "5", NULL};
    cr_assert_eq(ldr_test_server_start_generated(&srv, dir, gen), 0, "server did not start");
    snprintf(cat_path, sizeof(cat_path), "%s/gen/catalog.jsonl", dir);
    admin = ldr_test_token("admin", "ops");
    service = ldr_test_token("service", "erp");
    customer = ldr_test_token("customer", "usr-1");
}

static void stop(void)
{
    if (srv.pid > 0)
        ldr_test_server_stop(&srv);
    unsetenv("LARDER_SNAPSHOT_RECORDS");
    ldr_test_rmtree(dir);
    free(dir), free(admin), free(service), free(customer);
}

TestSuite(products, .init = start, .fini = stop, .timeout = 120);

static json_t *call_mode(int mode, const char *method, const char *path, const char *body,
                         const char *token, long want)
{
    char url[512];
    ldr_test_resp_t r;
    snprintf(url, sizeof(url), "%s%s", srv.base, path);
    cr_assert_eq(ldr_test_http_auth(mode, method, url, body, token, &r), 0);
    cr_assert_eq(r.status, want, "%s %s: %ld %s", method, path, r.status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    cr_assert_not_null(j, "%s %s: not JSON: %s", method, path, r.body);
    ldr_test_resp_free(&r);
    return j;
}

static json_t *call(const char *method, const char *path, const char *body, const char *token,
                    long want)
{
    return call_mode(LDR_TEST_HTTP1, method, path, body, token, want);
}

/* DELETE, which answers 204 and no body when it deleted. */
static void del(const char *path, const char *token, long want)
{
    char url[512];
    ldr_test_resp_t r;
    snprintf(url, sizeof(url), "%s%s", srv.base, path);
    cr_assert_eq(ldr_test_http_auth(LDR_TEST_HTTP1, "DELETE", url, NULL, token, &r), 0);
    cr_assert_eq(r.status, want, "DELETE %s: %ld %s", path, r.status, r.body);
    if (want == 204)
        cr_assert_eq(r.len, 0, "a 204 with a body: %s", r.body);
    else
        cr_assert(strstr(r.body, "\"error\"") != NULL, "%s", r.body);
    ldr_test_resp_free(&r);
}

/* The SKUs of a search's hits, space-separated, into out. */
static void search_skus(int mode, const char *query, char *out, size_t size)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/search?q=%s", query);
    json_t *j = call_mode(mode, "GET", path, NULL, NULL, 200);
    out[0] = '\0';
    json_t *hits = json_object_get(j, "hits");
    for (size_t i = 0; i < json_array_size(hits); i++) {
        const char *s = json_string_value(json_object_get(json_array_get(hits, i), "sku"));
        strncat(out, s, size - strlen(out) - 2);
        strncat(out, " ", size - strlen(out) - 1);
    }
    json_decref(j);
}

#define DRAGON                                                                                     \
    "{\"sku\":\"NEW-DRAGON\",\"name\":{\"en\":\"Red dragon fruit\",\"vi\":\"Thanh long "           \
    "ru\\u1ed9t "                                                                                  \
    "\\u0111\\u1ecf\"},\"category\":\"produce/fruit\",\"brand\":\"Binh Thuan Farm\",\"price\":"    \
    "45000,\"unit\":\"1kg\",\"perishable\":true,\"shelf_life_days\":10,\"tags\":[\"fresh\"]}"

Test(products, put_is_searchable_on_return_and_delete_hides_it)
{
    char skus[2048];
    search_skus(LDR_TEST_H2_PRIOR, "thanh%20long%20ruot", skus, sizeof(skus));
    cr_assert_eq(strstr(skus, "NEW-DRAGON"), NULL);
    /* created: answered with the product as GET shows it */
    json_t *j = call("PUT", "/v1/products/NEW-DRAGON", DRAGON, admin, 201);
    cr_assert_str_eq(json_string_value(json_object_get(j, "sku")), "NEW-DRAGON");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "name"), "vi")),
                     "Thanh long ruột đỏ");
    cr_assert_eq(json_integer_value(json_object_get(j, "price")), 45000);
    cr_assert(json_is_array(json_object_get(j, "stock")));
    json_decref(j);
    /* found at once, on another connection and protocol, with and without diacritics */
    search_skus(LDR_TEST_H2_PRIOR, "thanh%20long%20ruot", skus, sizeof(skus));
    cr_assert(strncmp(skus, "NEW-DRAGON ", 11) == 0, "hits: %s", skus);
    search_skus(LDR_TEST_HTTP1, "Thanh%20long%20ru%E1%BB%99t%20%C4%91%E1%BB%8F", skus,
                sizeof(skus));
    cr_assert(strncmp(skus, "NEW-DRAGON ", 11) == 0, "hits: %s", skus);
    j = call_mode(LDR_TEST_H2_UPGRADE, "GET", "/v1/products/NEW-DRAGON", NULL, NULL, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "brand")), "Binh Thuan Farm");
    json_decref(j);
    /* changed: the old words go, the new ones come (service may write the catalog too) */
    j = call("PUT", "/v1/products/NEW-DRAGON",
             "{\"sku\":\"NEW-DRAGON\",\"name\":{\"en\":\"Pitaya\"},\"category\":\"produce/fruit\","
             "\"price\":50000}",
             service, 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "price")), 50000);
    cr_assert_null(json_object_get(j, "brand"));
    json_decref(j);
    search_skus(LDR_TEST_HTTP1, "thanh%20long%20ruot", skus, sizeof(skus));
    cr_assert_eq(strstr(skus, "NEW-DRAGON"), NULL, "hits: %s", skus);
    search_skus(LDR_TEST_HTTP1, "pitaya", skus, sizeof(skus));
    cr_assert(strncmp(skus, "NEW-DRAGON ", 11) == 0, "hits: %s", skus);
    /* the same PUT again is fine and changes nothing */
    json_decref(call("PUT", "/v1/products/NEW-DRAGON",
                     "{\"sku\":\"NEW-DRAGON\",\"name\":{\"en\":\"Pitaya\"},\"category\":"
                     "\"produce/fruit\",\"price\":50000}",
                     admin, 200));
    /* deleted: gone from search and GET; deleting again is a 404 */
    del("/v1/products/NEW-DRAGON", admin, 204);
    search_skus(LDR_TEST_H2_PRIOR, "pitaya", skus, sizeof(skus));
    cr_assert_str_eq(skus, "");
    json_decref(call("GET", "/v1/products/NEW-DRAGON", NULL, NULL, 404));
    json_decref(call("GET", "/v1/stock/NEW-DRAGON", NULL, NULL, 404));
    del("/v1/products/NEW-DRAGON", admin, 404);
    /* and back */
    json_decref(call("PUT", "/v1/products/NEW-DRAGON", DRAGON, admin, 201));
    search_skus(LDR_TEST_HTTP1, "dragon%20fruit", skus, sizeof(skus));
    cr_assert(strncmp(skus, "NEW-DRAGON ", 11) == 0, "hits: %s", skus);
}

Test(products, bad_requests_change_nothing)
{
    json_t *j = call("PUT", "/v1/products/NEW-X", DRAGON, NULL, 401);
    json_decref(j);
    json_decref(call("PUT", "/v1/products/NEW-X", DRAGON, customer, 403));
    del("/v1/products/NEW-X", customer, 403);
    del("/v1/products/NEW-X", NULL, 401);
    json_decref(call("POST", "/v1/products:import", DRAGON, customer, 403));
    /* the body's sku must be the path's */
    j = call("PUT", "/v1/products/NEW-X", DRAGON, admin, 400);
    json_t *err = json_object_get(j, "error");
    cr_assert_str_eq(json_string_value(json_object_get(err, "code")), "invalid_body");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(err, "details"), "field")),
                     "sku");
    json_decref(j);
    j = call("PUT", "/v1/products/NEW-X", "{\"sku\":\"NEW-X\",\"name\":{\"en\":\"x\"}}", admin,
             400);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(j, "error"), "details"), "field")),
                     "category");
    json_decref(j);
    j = call("PUT", "/v1/products/NEW-X", "{\"sku\":\"NEW-X\",", admin, 400);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                     "invalid_json");
    json_decref(j);
    json_decref(call("PUT", "/v1/products/NEW-X", "", admin, 400));
    json_decref(call("PUT", "/v1/products/NEW-X",
                     "{\"sku\":\"NEW-X\",\"name\":{\"en\":\"x\"},\"category\":\"produce/fruit\","
                     "\"price\":-1}",
                     admin, 400));
    json_decref(call("PUT", "/v1/products/bad%20sku!", DRAGON, admin, 400));
    json_decref(call("POST", "/v1/products/NEW-X", DRAGON, admin, 405));
    json_decref(call("GET", "/v1/products/NEW-X", NULL, NULL, 404));
}

Test(products, import_reports_bad_lines_and_applies_the_rest)
{
    const char *body =
        "{\"sku\":\"IMP-1\",\"name\":{\"vi\":\"M\\u0103ng c\\u1ee5t\"},\"category\":"
        "\"produce/fruit\",\"price\":80000}\n"
        "{\"sku\":\"IMP-2\",\"name\":{\"en\":\"Durian\"},\"category\":\"produce/fruit\","
        "\"price\":-5}\n"
        "\n"
        "not json\n"
        "{\"sku\":\"IMP-3\",\"name\":{\"en\":\"Longan\"},\"category\":\"produce/fruit\","
        "\"price\":60000}\n";
    json_t *j = call("POST", "/v1/products:import", body, admin, 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "imported")), 2);
    cr_assert_eq(json_integer_value(json_object_get(j, "changed")), 2);
    json_t *rej = json_object_get(j, "rejected");
    cr_assert_eq(json_array_size(rej), 2);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(rej, 0), "line")), 2);
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(rej, 1), "line")), 4);
    cr_assert_not_null(
        strstr(json_string_value(json_object_get(json_array_get(rej, 0), "error")), "price"));
    json_decref(j);
    char skus[2048];
    search_skus(LDR_TEST_HTTP1, "mang%20cut", skus, sizeof(skus));
    cr_assert(strncmp(skus, "IMP-1 ", 6) == 0, "hits: %s", skus);
    json_decref(call("GET", "/v1/products/IMP-3", NULL, NULL, 200));
    json_decref(call("GET", "/v1/products/IMP-2", NULL, NULL, 404));
    /* the same import again changes nothing */
    j = call("POST", "/v1/products:import", body, service, 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "changed")), 0);
    json_decref(j);
    json_decref(call("POST", "/v1/products:import", "", admin, 400));
}

/* Kills the server (no clean shutdown) and starts it again on the same data dir and file. */
static void crash_and_restart(void)
{
    kill(srv.pid, SIGKILL);
    waitpid(srv.pid, NULL, 0);
    srv.pid = 0;
    const char *args[] = {"--catalog", cat_path, "--data-dir", dir, NULL};
    cr_assert_eq(ldr_test_server_start(&srv, args, 1), 0);
}

Test(products, writes_survive_a_crash_and_snapshots)
{
    char path[128], body[512];
    /* enough writes for snapshots (every 7 records) to fall between them */
    for (int i = 0; i < 20; i++) {
        snprintf(path, sizeof(path), "/v1/products/DUR-%02d", i);
        snprintf(body, sizeof(body),
                 "{\"sku\":\"DUR-%02d\",\"name\":{\"en\":\"Durable thing %d\"},\"category\":"
                 "\"pantry/dry-goods\",\"price\":%d}",
                 i, i, 1000 + i);
        json_decref(call("PUT", path, body, admin, 201));
    }
    json_decref(call("POST", "/v1/stock/DUR-03/receive",
                     "{\"store\":\"default\",\"lot\":\"L1\",\"quantity\":4}", admin, 200));
    del("/v1/products/DUR-03", admin, 204);
    del("/v1/products/DUR-07", admin, 204);
    crash_and_restart();
    json_t *j = call("GET", "/v1/products/DUR-19", NULL, NULL, 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "price")), 1019);
    json_decref(j);
    json_decref(call("GET", "/v1/products/DUR-03", NULL, NULL, 404));
    json_decref(call("GET", "/v1/products/DUR-07", NULL, NULL, 404));
    char skus[4096];
    search_skus(LDR_TEST_HTTP1, "durable%20thing", skus, sizeof(skus));
    cr_assert_not_null(strstr(skus, "DUR-00 "), "hits: %s", skus);
    cr_assert_null(strstr(skus, "DUR-03"), "hits: %s", skus);
    /* a deleted product's stock is kept, and comes back with it */
    json_decref(call("PUT", "/v1/products/DUR-03",
                     "{\"sku\":\"DUR-03\",\"name\":{\"en\":\"Back again\"},\"category\":"
                     "\"pantry/dry-goods\",\"price\":5}",
                     admin, 201));
    j = call("GET", "/v1/stock/DUR-03", NULL, NULL, 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "on_hand")), 4);
    json_decref(j);
    crash_and_restart();
    j = call("GET", "/v1/products/DUR-03", NULL, NULL, 200);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "name"), "en")),
                     "Back again");
    json_decref(j);
}

Test(products, a_changed_catalog_file_goes_through_the_log)
{
    /* the admin's edit of one product, then a start with a file that changes another */
    size_t len;
    char *cat = ldr_test_slurp(cat_path, &len);
    cr_assert_not_null(cat);
    char first[64], second[64];
    char *nl = strchr(cat, '\n');
    cr_assert(sscanf(cat, "{\"sku\":\"%63[^\"]\"", first) == 1 &&
              sscanf(nl + 1, "{\"sku\":\"%63[^\"]\"", second) == 1);
    char path[128], body[512];
    snprintf(path, sizeof(path), "/v1/products/%s", first);
    snprintf(body, sizeof(body),
             "{\"sku\":\"%s\",\"name\":{\"en\":\"Edited over HTTP\"},\"category\":\"pantry/x\","
             "\"price\":7}",
             first);
    json_decref(call("PUT", path, body, admin, 200));
    /* the new file: the second product renamed, the rest as before (the first one too) */
    char newpath[700];
    snprintf(newpath, sizeof(newpath), "%s/catalog-v2.jsonl", dir);
    FILE *f = fopen(newpath, "w");
    cr_assert_not_null(f);
    fwrite(cat, 1, (size_t)(nl + 1 - cat), f);
    fprintf(f,
            "{\"sku\":\"%s\",\"name\":{\"en\":\"Renamed by the new file\"},\"category\":"
            "\"pantry/x\",\"price\":9}\n",
            second);
    char *third = strchr(nl + 1, '\n') + 1;
    fwrite(third, 1, len - (size_t)(third - cat), f);
    fclose(f);
    free(cat);
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    const char *args[] = {"--catalog", newpath, "--data-dir", dir, NULL};
    cr_assert_eq(ldr_test_server_start(&srv, args, 1), 0);
    snprintf(path, sizeof(path), "/v1/products/%s", second);
    json_t *j = call("GET", path, NULL, NULL, 200);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "name"), "en")),
                     "Renamed by the new file");
    json_decref(j);
    /* the new file says what its products are, the first one too: the system of record wins
     * over the admin's earlier edit (only what differs from what is served is logged) */
    snprintf(path, sizeof(path), "/v1/products/%s", first);
    j = call("GET", path, NULL, NULL, 200);
    cr_assert_str_neq(json_string_value(json_object_get(json_object_get(j, "name"), "en")),
                      "Edited over HTTP");
    json_decref(j);
    char *log = ldr_test_slurp(srv.stderr_path, &len);
    cr_assert_not_null(strstr(log, "products changed through the log"), "%s", log);
    free(log);
}

/*
 * A start that imports a changed catalog logs it on the loader thread, before the engine runs.
 * The log's io_uring ring (single-issuer: bound to the first thread that uses it) must still take
 * the engine's writes afterwards, the linked chains too: 3,000 stock records pass the next zero
 * fill (every 128 KB of log), which goes through the ring.
 */
static void import_then_write(const char *engine)
{
    size_t len;
    char *cat = ldr_test_slurp(cat_path, &len);
    cr_assert_not_null(cat);
    char first[64];
    cr_assert(sscanf(cat, "{\"sku\":\"%63[^\"]\"", first) == 1);
    char *nl = strchr(cat, '\n');
    char newpath[700];
    snprintf(newpath, sizeof(newpath), "%s/catalog-v2.jsonl", dir);
    FILE *f = fopen(newpath, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "{\"sku\":\"%s\",\"name\":{\"en\":\"Changed by the new file\"},\"category\":"
            "\"pantry/x\",\"price\":9}\n",
            first);
    fwrite(nl + 1, 1, len - (size_t)(nl + 1 - cat), f);
    fclose(f);
    free(cat);
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    setenv("LARDER_SNAPSHOT_RECORDS", "0", 1);
    setenv("LARDER_ENGINE", engine, 1);
    const char *args[] = {"--catalog", newpath, "--data-dir", dir, NULL};
    int rc = ldr_test_server_start(&srv, args, 1);
    unsetenv("LARDER_ENGINE");
    cr_assert_eq(rc, 0);
    size_t cap = 1000 * 80 + 64;
    char *body = malloc(cap);
    cr_assert_not_null(body);
    size_t n = (size_t)snprintf(body, cap, "{\"updates\":[");
    for (int i = 0; i < 1000; i++)
        n += (size_t)snprintf(body + n, cap - n,
                              "%s{\"sku\":\"%s\",\"delta\":1,\"reason\":\"fill\"}", i ? "," : "",
                              first);
    snprintf(body + n, cap - n, "]}");
    for (int round = 0; round < 3; round++) {
        json_t *j = call("POST", "/v1/stock:batch", body, service, 200);
        char *text = json_dumps(j, JSON_COMPACT);
        cr_assert_null(strstr(text, "\"error\""), "round %d: %.300s", round, text);
        free(text);
        json_decref(j);
    }
    free(body);
    char path[128];
    snprintf(path, sizeof(path), "/v1/stock/%s", first);
    json_t *j = call("GET", path, NULL, NULL, 200);
    json_t *on_hand = json_object_get(j, "on_hand");
    cr_assert(json_is_integer(on_hand));
    cr_assert_geq(json_integer_value(on_hand), 3000);
    json_decref(j);
}

Test(products, the_log_takes_writes_after_a_start_that_imported_changes)
{
    import_then_write("loop");
}

Test(products, the_log_takes_writes_after_a_start_that_imported_changes_engine_thread)
{
    import_then_write("thread");
}

/* Searches on other connections while products are written: every search answers 200, each
 * from one consistent view, and a product is found by the first search after its PUT. */
typedef struct searcher_arg {
    int mode;
    volatile int stop;
    int searches, bad;
} searcher_arg_t;

static void *search_loop(void *p)
{
    searcher_arg_t *a = p;
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/search?q=concurrent%%20guava&per_page=100&facets=category",
             srv.base);
    while (!a->stop) {
        ldr_test_resp_t r;
        if (ldr_test_http(a->mode, "GET", url, NULL, &r) != 0 || r.status != 200 ||
            strstr(r.body, "\"hits\":[") == NULL)
            a->bad++;
        else
            a->searches++;
        ldr_test_resp_free(&r);
    }
    return NULL;
}

#include <pthread.h>

Test(products, searches_go_on_while_products_change)
{
    json_decref(call("GET", "/v1/search?q=warmup", NULL, NULL, 200)); /* curl initialised */
    searcher_arg_t args[2] = {{LDR_TEST_HTTP1, 0, 0, 0}, {LDR_TEST_H2_PRIOR, 0, 0, 0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, search_loop, &args[i]), 0);
    char path[128], body[512], skus[8192];
    for (int i = 0; i < 30; i++) {
        snprintf(path, sizeof(path), "/v1/products/CON-%02d", i);
        snprintf(body, sizeof(body),
                 "{\"sku\":\"CON-%02d\",\"name\":{\"en\":\"Concurrent guava %d\"},\"category\":"
                 "\"produce/fruit\",\"price\":%d}",
                 i, i, 100 + i);
        json_decref(
            call_mode(i % 2 ? LDR_TEST_HTTP1 : LDR_TEST_H2_PRIOR, "PUT", path, body, admin, 201));
        search_skus(i % 2 ? LDR_TEST_H2_PRIOR : LDR_TEST_HTTP1, "concurrent%20guava&per_page=100",
                    skus, sizeof(skus));
        snprintf(path, sizeof(path), "CON-%02d ", i);
        cr_assert_not_null(strstr(skus, path), "CON-%02d not found right after its PUT: %s", i,
                           skus);
        if (i % 3 == 2) {
            snprintf(path, sizeof(path), "/v1/products/CON-%02d", i - 1);
            del(path, admin, 204);
        }
    }
    for (int i = 0; i < 2; i++) {
        args[i].stop = 1;
        pthread_join(t[i], NULL);
        cr_assert_eq(args[i].bad, 0, "%d searches failed", args[i].bad);
        cr_assert_gt(args[i].searches, 10, "only %d searches ran", args[i].searches);
    }
    search_skus(LDR_TEST_HTTP1, "concurrent%20guava&per_page=100", skus, sizeof(skus));
    cr_assert_null(strstr(skus, "CON-01 "), "%s", skus);
    cr_assert_not_null(strstr(skus, "CON-02 "), "%s", skus);
}
