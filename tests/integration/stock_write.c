/*
 * Stock writes over HTTP: receive, adjust and batch through the engine, with bearer tokens, precise
 * 4xx answers that change nothing, durability across a restart of the server, and 503 while the
 * disk refuses writes.
 */
#define _GNU_SOURCE /* prlimit */
#include <criterion/criterion.h>
#include <ctype.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../helpers.h"

static const char catalog_jsonl[] =
    "{\"sku\":\"VEG-000001\",\"name\":{\"en\":\"Tomatoes\"},\"category\":\"produce/vegetables\","
    "\"price\":30000,\"perishable\":true}\n"
    "{\"sku\":\"PAN-000001\",\"name\":{\"en\":\"Fish sauce\"},\"category\":\"pantry/sauces\","
    "\"price\":42000}\n";

static const char stock_jsonl[] =
    "{\"sku\":\"VEG-000001\",\"store\":\"default\",\"lot\":\"L1\",\"quantity\":10,"
    "\"expires_at\":\"2030-01-02T00:00:00Z\"}\n"
    "{\"sku\":\"PAN-000001\",\"store\":\"default\",\"lot\":\"P1\",\"quantity\":4}\n";

static char *dir, *admin, *service, *customer;
static char cat_path[512], stock_path[512], data_path[512];
static ldr_test_server_t srv;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

static void start_server(void)
{
    const char *args[] = {"--catalog",  cat_path,  "--stock", stock_path,
                          "--data-dir", data_path, NULL};
    cr_assert_eq(ldr_test_server_start(&srv, args, 1), 0, "server did not start");
}

static void start(void)
{
    dir = ldr_test_tmpdir();
    cr_assert_not_null(dir);
    snprintf(cat_path, sizeof(cat_path), "%s/catalog.jsonl", dir);
    snprintf(stock_path, sizeof(stock_path), "%s/stock.jsonl", dir);
    snprintf(data_path, sizeof(data_path), "%s/data", dir);
    write_file(cat_path, catalog_jsonl);
    write_file(stock_path, stock_jsonl);
    admin = ldr_test_token("admin", "ops-1");
    service = ldr_test_token("service", "erp");
    customer = ldr_test_token("customer", "c-1");
    cr_assert(admin && service && customer);
    start_server();
}

static void stop(void)
{
    if (srv.pid > 0)
        ldr_test_server_stop(&srv);
    ldr_test_rmtree(dir);
    free(dir), free(admin), free(service), free(customer);
}

TestSuite(stock_write, .init = start, .fini = stop, .timeout = 120);

static ldr_test_resp_t call(int mode, const char *method, const char *path, const char *body,
                            const char *token)
{
    char url[512];
    ldr_test_resp_t r;
    snprintf(url, sizeof(url), "%s%s", srv.base, path);
    cr_assert_eq(ldr_test_http_auth(mode, method, url, body, token, &r), 0, "%s %s failed", method,
                 path);
    return r;
}

static json_t *body_json(const ldr_test_resp_t *r)
{
    json_error_t e;
    json_t *j = json_loads(r->body, 0, &e);
    cr_assert_not_null(j, "not JSON: %s", r->body);
    return j;
}

static long long field(json_t *j, const char *name)
{
    json_t *v = json_object_get(j, name);
    cr_assert(json_is_integer(v), "no integer %s", name);
    return json_integer_value(v);
}

/* on_hand and version of (sku, default store) */
static void stock_of(const char *sku, long long *on_hand, long long *version)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/stock/%s", sku);
    ldr_test_resp_t r = call(LDR_TEST_HTTP1, "GET", path, NULL, NULL);
    cr_assert_eq(r.status, 200);
    json_t *j = body_json(&r);
    *on_hand = field(j, "on_hand");
    *version = field(j, "version");
    json_decref(j);
    ldr_test_resp_free(&r);
}

static void expect_error(ldr_test_resp_t r, long status, const char *code)
{
    cr_assert_eq(r.status, status, "want %ld, got %ld: %s", status, r.status, r.body);
    json_t *j = body_json(&r);
    json_t *err = json_object_get(j, "error");
    cr_assert(json_is_string(json_object_get(err, "message")), "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(err, "code")), code, "%s", r.body);
    json_decref(j);
    ldr_test_resp_free(&r);
}

Test(stock_write, tokens_and_roles)
{
    const char *path = "/v1/stock/VEG-000001/adjust", *body = "{\"delta\":1,\"reason\":\"count\"}";
    long long before, v0, after, v1;
    stock_of("VEG-000001", &before, &v0);
    ldr_test_resp_t r = call(LDR_TEST_HTTP1, "POST", path, body, NULL);
    cr_assert(strstr(r.headers, "www-authenticate: bearer") != NULL, "%s", r.headers);
    expect_error(r, 401, "unauthorized");
    expect_error(call(LDR_TEST_HTTP1, "POST", path, body, "not.a.token"), 401, "unauthorized");
    char forged[4200];
    snprintf(forged, sizeof(forged), "%.*sx", (int)strlen(admin) - 1, admin);
    expect_error(call(LDR_TEST_HTTP1, "POST", path, body, forged), 401, "unauthorized");
    expect_error(call(LDR_TEST_HTTP1, "POST", path, body, customer), 403, "forbidden");
    stock_of("VEG-000001", &after, &v1);
    cr_assert_eq(after, before);
    cr_assert_eq(v1, v0, "a refused request changed the version");
    /* admin and service may write */
    r = call(LDR_TEST_HTTP1, "POST", path, body, admin);
    cr_assert_eq(r.status, 200, "%s", r.body);
    ldr_test_resp_free(&r);
    r = call(LDR_TEST_H2_PRIOR, "POST", path, body, service);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(r.http_version, 2);
    ldr_test_resp_free(&r);
    stock_of("VEG-000001", &after, &v1);
    cr_assert_eq(after, before + 2);
}

Test(stock_write, receive_then_adjust_fefo)
{
    ldr_test_resp_t r = call(LDR_TEST_HTTP1, "POST", "/v1/stock/VEG-000001/receive",
                             "{\"store\":\"hcm-q1\",\"lot\":\"N2\",\"quantity\":5,"
                             "\"expires_at\":\"2031-01-01T00:00:00Z\"}",
                             admin);
    cr_assert_eq(r.status, 200, "%s", r.body);
    json_t *j = body_json(&r);
    cr_assert_eq(field(j, "on_hand"), 5);
    cr_assert_str_eq(json_string_value(json_object_get(j, "store")), "hcm-q1");
    json_decref(j);
    ldr_test_resp_free(&r);
    r = call(LDR_TEST_HTTP1, "POST", "/v1/stock/VEG-000001/receive",
             "{\"store\":\"hcm-q1\",\"lot\":\"N1\",\"quantity\":3,"
             "\"expires_at\":\"2030-06-01T00:00:00Z\"}",
             admin);
    cr_assert_eq(r.status, 200, "%s", r.body);
    ldr_test_resp_free(&r);
    /* taking 4 empties the sooner lot first */
    r = call(LDR_TEST_HTTP1, "POST", "/v1/stock/VEG-000001/adjust",
             "{\"store\":\"hcm-q1\",\"delta\":-4,\"reason\":\"damaged\"}", admin);
    cr_assert_eq(r.status, 200, "%s", r.body);
    j = body_json(&r);
    cr_assert_eq(field(j, "on_hand"), 4);
    cr_assert_eq(field(j, "available"), 4);
    json_t *lots = json_object_get(j, "lots");
    cr_assert_eq(json_array_size(lots), 1, "%s", r.body);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(lots, 0), "lot")), "N2");
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(lots, 0), "quantity")), 4);
    json_decref(j);
    ldr_test_resp_free(&r);
    /* the same lot again with another expiry is a conflict */
    expect_error(call(LDR_TEST_HTTP1, "POST", "/v1/stock/VEG-000001/receive",
                      "{\"store\":\"hcm-q1\",\"lot\":\"N2\",\"quantity\":1,"
                      "\"expires_at\":\"2032-01-01T00:00:00Z\"}",
                      admin),
                 409, "lot_expiry_mismatch");
}

Test(stock_write, refusals_change_nothing)
{
    long long before, v0, after, v1;
    stock_of("PAN-000001", &before, &v0);
    ldr_test_resp_t r = call(LDR_TEST_HTTP1, "POST", "/v1/stock/PAN-000001/adjust",
                             "{\"delta\":-1000,\"reason\":\"x\"}", admin);
    cr_assert_eq(r.status, 409, "%s", r.body);
    json_t *j = body_json(&r);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                     "insufficient_stock");
    cr_assert_eq(json_integer_value(json_object_get(
                     json_object_get(json_object_get(j, "error"), "details"), "available")),
                 before);
    json_decref(j);
    ldr_test_resp_free(&r);
    static const struct {
        const char *path, *body, *code, *field; /* field: details.field, or NULL */
    } bad[] = {
        {"/v1/stock/PAN-000001/adjust", "", "invalid_json", NULL},
        {"/v1/stock/PAN-000001/adjust", "{\"delta\":1", "invalid_json", NULL},
        {"/v1/stock/PAN-000001/adjust", "[1]", "invalid_json", NULL},
        {"/v1/stock/PAN-000001/adjust", "{\"delta\":1,\"delta\":2,\"reason\":\"x\"}",
         "invalid_json", NULL},
        {"/v1/stock/PAN-000001/adjust", "{\"reason\":\"x\"}", "invalid_body", "delta"},
        {"/v1/stock/PAN-000001/adjust", "{\"delta\":\"1\",\"reason\":\"x\"}", "invalid_body",
         "delta"},
        {"/v1/stock/PAN-000001/adjust", "{\"delta\":1.5,\"reason\":\"x\"}", "invalid_body",
         "delta"},
        {"/v1/stock/PAN-000001/adjust", "{\"delta\":0,\"reason\":\"x\"}", "invalid_body", "delta"},
        {"/v1/stock/PAN-000001/adjust", "{\"delta\":99999999999,\"reason\":\"x\"}", "invalid_body",
         "delta"},
        {"/v1/stock/PAN-000001/adjust", "{\"delta\":1}", "invalid_body", "reason"},
        {"/v1/stock/PAN-000001/adjust", "{\"delta\":1,\"reason\":\"x\",\"extra\":1}",
         "invalid_body", NULL},
        {"/v1/stock/PAN-000001/adjust", "{\"delta\":1,\"reason\":\"x\",\"store\":\"Bad Store\"}",
         "invalid_body", "store"},
        {"/v1/stock/PAN-000001/receive", "{\"lot\":\"L 1\",\"quantity\":1}", "invalid_body", "lot"},
        {"/v1/stock/PAN-000001/receive", "{\"lot\":\"L1\",\"quantity\":0}", "invalid_body",
         "quantity"},
        {"/v1/stock/PAN-000001/receive", "{\"lot\":\"L1\",\"quantity\":1,\"expires_at\":\"soon\"}",
         "invalid_body", "expires_at"},
        {"/v1/stock:batch", "{}", "invalid_body", "updates"},
        {"/v1/stock:batch", "{\"updates\":[]}", "invalid_body", "updates"},
        {"/v1/stock:batch", "{\"updates\":{}}", "invalid_body", "updates"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r = call(LDR_TEST_HTTP1, "POST", bad[i].path, bad[i].body, admin);
        cr_assert_eq(r.status, 400, "%s: %s -> %ld %s", bad[i].path, bad[i].body, r.status, r.body);
        j = body_json(&r);
        json_t *err = json_object_get(j, "error"), *details = json_object_get(err, "details");
        if (strcmp(bad[i].code, "invalid_json") == 0)
            cr_assert(json_is_integer(json_object_get(details, "position")), "%s", r.body);
        if (bad[i].field != NULL)
            cr_assert_str_eq(json_string_value(json_object_get(details, "field")), bad[i].field,
                             "%s", r.body);
        json_decref(j);
        expect_error(r, 400, bad[i].code);
    }
    expect_error(call(LDR_TEST_HTTP1, "POST", "/v1/stock/NOPE-1/adjust",
                      "{\"delta\":1,\"reason\":\"x\"}", admin),
                 404, "not_found");
    expect_error(call(LDR_TEST_HTTP1, "POST", "/v1/stock/PAN-000001/adjust",
                      "{\"store\":\"nowhere\",\"delta\":1,\"reason\":\"x\"}", admin),
                 404, "not_found");
    expect_error(call(LDR_TEST_HTTP1, "GET", "/v1/stock/PAN-000001/adjust", NULL, admin), 405,
                 "method_not_allowed");
    stock_of("PAN-000001", &after, &v1);
    cr_assert_eq(after, before);
    cr_assert_eq(v1, v0, "a refused write changed the version");
}

Test(stock_write, batch_reports_each_line)
{
    long long before, v0;
    stock_of("PAN-000001", &before, &v0);
    ldr_test_resp_t r =
        call(LDR_TEST_HTTP1, "POST", "/v1/stock:batch",
             "{\"updates\":[{\"sku\":\"PAN-000001\",\"delta\":2,\"reason\":\"recount\"},"
             "{\"sku\":\"NOPE-1\",\"set\":3,\"reason\":\"x\"},"
             "{\"sku\":\"PAN-000001\",\"delta\":-100000,\"reason\":\"x\"},"
             "7,"
             "{\"sku\":\"PAN-000001\",\"delta\":1,\"set\":2,\"reason\":\"x\"},"
             "{\"sku\":\"PAN-000001\",\"store\":\"default\",\"set\":20,\"reason\":\"audit\"}]}",
             service);
    cr_assert_eq(r.status, 200, "%s", r.body);
    json_t *j = body_json(&r);
    cr_assert_eq(field(j, "applied"), 2, "%s", r.body);
    cr_assert_eq(field(j, "failed"), 4);
    json_t *res = json_object_get(j, "results");
    cr_assert_eq(json_array_size(res), 6);
    static const struct {
        long status;
        const char *code;
    } want[] = {{200, NULL},           {404, "not_found"},    {409, "insufficient_stock"},
                {400, "invalid_body"}, {400, "invalid_body"}, {200, NULL}};
    for (size_t i = 0; i < 6; i++) {
        json_t *line = json_array_get(res, i);
        cr_assert_eq(json_integer_value(json_object_get(line, "index")), (long long)i);
        cr_assert_eq(json_integer_value(json_object_get(line, "status")), want[i].status,
                     "line %zu: %s", i, r.body);
        if (want[i].code != NULL)
            cr_assert_str_eq(
                json_string_value(json_object_get(json_object_get(line, "error"), "code")),
                want[i].code, "line %zu: %s", i, r.body);
        else
            cr_assert(json_is_object(json_object_get(line, "stock")), "line %zu: %s", i, r.body);
    }
    cr_assert_eq(json_integer_value(
                     json_object_get(json_object_get(json_array_get(res, 5), "stock"), "on_hand")),
                 20);
    cr_assert_str_eq(
        json_string_value(json_object_get(
            json_object_get(json_object_get(json_array_get(res, 4), "error"), "details"), "field")),
        "updates[4]", "%s", r.body);
    json_decref(j);
    ldr_test_resp_free(&r);
    long long after, v1;
    stock_of("PAN-000001", &after, &v1);
    cr_assert_eq(after, 20);
    cr_assert_eq(v1, v0 + 2);
}

Test(stock_write, acknowledged_writes_survive_a_restart)
{
    ldr_test_resp_t r = call(LDR_TEST_HTTP1, "POST", "/v1/stock/VEG-000001/adjust",
                             "{\"delta\":7,\"reason\":\"delivery\"}", admin);
    cr_assert_eq(r.status, 200, "%s", r.body);
    ldr_test_resp_free(&r);
    long long before, v0, after, v1;
    stock_of("VEG-000001", &before, &v0);
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    /* the same command line again: --stock must not seed a data dir that already has a log */
    start_server();
    stock_of("VEG-000001", &after, &v1);
    cr_assert_eq(after, before);
    cr_assert_eq(v1, v0);
    size_t len;
    char *log = ldr_test_slurp(srv.stderr_path, &len);
    cr_assert_not_null(log);
    cr_assert(strstr(log, "is ignored") != NULL, "no note about --stock: %s", log);
    cr_assert(strstr(log, "recovered") != NULL, "%s", log);
    free(log);
}

/*
 * A file size limit below where the log writes (as `ulimit -f` might set after a restart): the
 * write fails with EFBIG, answered 503 storage_unavailable and in the end changing nothing, and
 * the server lives on (the process ignores SIGXFSZ; a write on the engine thread was once killed by
 * it). Once the limit is lifted the engine reopens the log by itself and writes go through.
 */
Test(stock_write, a_file_size_limit_answers_503_until_lifted)
{
    long long on_hand0, v0, on_hand, v;
    stock_of("PAN-000001", &on_hand0, &v0);
    struct rlimit low = {0, RLIM_INFINITY}, old; /* below the log's end, wherever that is */
    cr_assert_eq(prlimit(srv.pid, RLIMIT_FSIZE, &low, &old), 0);
    expect_error(call(LDR_TEST_HTTP1, "POST", "/v1/stock/PAN-000001/adjust",
                      "{\"delta\":1,\"reason\":\"limit\"}", admin),
                 503, "storage_unavailable");
    cr_assert_eq(kill(srv.pid, 0), 0, "the server died");
    /* (until the engine reopens the log, reads may still show the refused change: it was applied
     * in memory before the write failed; the reopen replaces the state with the log's) */
    cr_assert_eq(prlimit(srv.pid, RLIMIT_FSIZE, &old, NULL), 0);
    long status = 0;
    for (int i = 0; i < 300 && status != 200; i++) {
        ldr_test_resp_t r = call(LDR_TEST_HTTP1, "POST", "/v1/stock/PAN-000001/adjust",
                                 "{\"delta\":1,\"reason\":\"limit\"}", admin);
        status = r.status;
        cr_assert(status == 200 || status == 503, "%ld: %s", status, r.body);
        ldr_test_resp_free(&r);
        if (status != 200)
            usleep(50000);
    }
    cr_assert_eq(status, 200, "the log was not reopened");
    stock_of("PAN-000001", &on_hand, &v);
    cr_assert_eq(on_hand, on_hand0 + 1, "only the write after the limit counts: %lld", on_hand);
    cr_assert_eq(v, v0 + 1);
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
}

/* An HTTP/1.1 request for POST /v1/stock/PAN-000001/adjust with `delta`, as raw bytes. */
static void raw_adjust(char *out, size_t cap, int delta)
{
    char body[96];
    int n = snprintf(body, sizeof(body), "{\"delta\":%d,\"reason\":\"raw\"}", delta);
    snprintf(out, cap,
             "POST /v1/stock/PAN-000001/adjust HTTP/1.1\r\nHost: t\r\n"
             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
             "Content-Length: %d\r\n\r\n%s",
             admin, n, body);
}

/* The versions of the HTTP/1.1 200 answers in `reply`, in order; returns how many. */
static int answered_versions(const char *reply, long long *v, int max)
{
    int n = 0;
    for (const char *p = strstr(reply, "HTTP/1.1 "); p != NULL && n < max;
         p = strstr(p + 1, "HTTP/1.1 ")) {
        cr_assert(strncmp(p, "HTTP/1.1 200", 12) == 0, "answer %d: %.40s", n + 1, p);
        const char *at = strstr(p, "\"version\":");
        cr_assert_not_null(at, "%s", p);
        v[n++] = atoll(at + strlen("\"version\":"));
    }
    return n;
}

/* PAN-000001 moved by `by` units in `versions` versions since (on_hand0, v0). */
static void expect_moved(long long on_hand0, long long v0, long long by, long long versions)
{
    long long on_hand, v;
    stock_of("PAN-000001", &on_hand, &v);
    cr_assert_eq(on_hand, on_hand0 + by, "on_hand %lld, want %lld", on_hand, on_hand0 + by);
    cr_assert_eq(v, v0 + versions, "version %lld, want %lld", v, v0 + versions);
}

/*
 * A connection stays polled while its write waits for the disk: requests pipelined behind it, and
 * the client's end of stream, arrive then, and must neither be lost nor change the order.
 */
Test(stock_write, pipelined_writes_are_answered_in_order)
{
    long long before, v0;
    stock_of("PAN-000001", &before, &v0);
    char one[1024], all[4096] = "";
    for (int d = 1; d <= 3; d++) {
        raw_adjust(one, sizeof(one), d);
        strcat(all, one);
    }
    static char reply[1 << 16];
    cr_assert_gt(ldr_test_exchange(srv.port, all, strlen(all), reply, sizeof(reply)), 0);
    long long v[4];
    cr_assert_eq(answered_versions(reply, v, 4), 3, "%s", reply);
    for (int i = 0; i < 3; i++)
        cr_assert_eq(v[i], v0 + 1 + i, "answer %d has version %lld: %s", i + 1, v[i], reply);
    expect_moved(before, v0, 6, 3);
}

Test(stock_write, a_write_whose_client_left_is_still_applied_once)
{
    long long before, v0, now, v;
    stock_of("PAN-000001", &before, &v0);
    char req[1024];
    raw_adjust(req, sizeof(req), 5);
    /* send it and close at once, without reading the answer */
    static char reply[16];
    cr_assert_geq(ldr_test_exchange(srv.port, req, strlen(req), reply, 1), 0);
    /* it is applied (another loop thread may have answered the first read below before this
     * connection's request was read), then never again */
    for (int i = 0; i < 500; i++) {
        stock_of("PAN-000001", &now, &v);
        if (now != before)
            break;
        usleep(10 * 1000);
    }
    expect_moved(before, v0, 5, 1);
    usleep(100 * 1000);
    expect_moved(before, v0, 5, 1);
}

Test(stock_write, a_flood_behind_a_waiting_write_does_not_harm_it)
{
    long long before, v0;
    stock_of("PAN-000001", &before, &v0);
    /* one write, then 256 KiB of junk sent before its answer: the write is answered, the junk
     * gets a 400 or the connection closed, and the server stays up */
    size_t junk = 256 * 1024;
    char *all = malloc(1024 + junk);
    raw_adjust(all, 1024, 2);
    size_t len = strlen(all);
    memset(all + len, 'x', junk);
    static char reply[1 << 16];
    cr_assert_gt(ldr_test_exchange(srv.port, all, len + junk, reply, sizeof(reply)), 0);
    free(all);
    cr_assert(strncmp(reply, "HTTP/1.1 200", 12) == 0, "%.200s", reply);
    cr_assert_null(strstr(reply + 1, "HTTP/1.1 5"), "%s", reply);
    expect_moved(before, v0, 2, 1);
}

static ldr_test_resp_t call_key(const char *path, const char *body, const char *token,
                                const char *key)
{
    /* libcurl through the shell: the helpers take no extra headers, so use curl's CLI */
    char url[512], cmd[4096];
    snprintf(url, sizeof(url), "%s%s", srv.base, path);
    snprintf(cmd, sizeof(cmd),
             "curl -s -o /dev/stdout -w '\\n%%{http_code}' -D /dev/stderr -X POST "
             "-H 'Authorization: Bearer %s' -H 'Idempotency-Key: %s' --data-binary '%s' '%s' "
             "2>/tmp/larder-idem-headers-%d",
             token, key, body, url, (int)getpid());
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    ldr_test_resp_t r = {0};
    char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf) - 1, p);
    pclose(p);
    buf[n] = '\0';
    char *nl = strrchr(buf, '\n');
    cr_assert_not_null(nl, "no status from curl: %s", buf);
    r.status = atol(nl + 1);
    *nl = '\0';
    r.body = strdup(buf);
    char hpath[64];
    snprintf(hpath, sizeof(hpath), "/tmp/larder-idem-headers-%d", (int)getpid());
    size_t hl;
    r.headers = ldr_test_slurp(hpath, &hl);
    unlink(hpath);
    for (char *c = r.headers; c && *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return r;
}

Test(stock_write, idempotency_keys_make_retries_safe)
{
    long long before, v0, after, v1;
    stock_of("PAN-000001", &before, &v0);
    const char *body = "{\"delta\":3,\"reason\":\"delivery 42\"}";
    ldr_test_resp_t r = call_key("/v1/stock/PAN-000001/adjust", body, admin, "delivery-42");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.headers, "idempotent-replayed") == NULL);
    ldr_test_resp_free(&r);
    /* the retry: answered, not applied again */
    r = call_key("/v1/stock/PAN-000001/adjust", body, admin, "delivery-42");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.headers, "idempotent-replayed: true") != NULL, "%s", r.headers);
    ldr_test_resp_free(&r);
    stock_of("PAN-000001", &after, &v1);
    cr_assert_eq(after, before + 3, "a retried write was applied twice");
    /* the same key for something else is a conflict; another caller has its own keys */
    expect_error(call_key("/v1/stock/PAN-000001/adjust", "{\"delta\":4,\"reason\":\"x\"}", admin,
                          "delivery-42"),
                 409, "idempotency_conflict");
    r = call_key("/v1/stock/PAN-000001/adjust", body, service, "delivery-42");
    cr_assert_eq(r.status, 200, "%s", r.body);
    ldr_test_resp_free(&r);
    expect_error(call_key("/v1/stock/PAN-000001/adjust", body, admin, "has space"), 400,
                 "invalid_parameter");
    /* a batch: every update is its own request under KEY#i */
    const char *batch = "{\"updates\":[{\"sku\":\"PAN-000001\",\"delta\":1,\"reason\":\"b\"},"
                        "{\"sku\":\"VEG-000001\",\"delta\":1,\"reason\":\"b\"}]}";
    r = call_key("/v1/stock:batch", batch, admin, "batch-7");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert(strstr(r.body, "\"replayed\"") == NULL, "%s", r.body);
    ldr_test_resp_free(&r);
    /* ... and survives a restart: the key is in the log with its change */
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    start_server();
    r = call_key("/v1/stock:batch", batch, admin, "batch-7");
    cr_assert_eq(r.status, 200, "%s", r.body);
    json_t *j = body_json(&r);
    cr_assert_eq(field(j, "applied"), 2);
    json_t *res = json_object_get(j, "results");
    for (size_t i = 0; i < 2; i++)
        cr_assert(json_is_true(json_object_get(json_array_get(res, i), "replayed")), "%s", r.body);
    json_decref(j);
    ldr_test_resp_free(&r);
    r = call_key("/v1/stock/PAN-000001/adjust", body, admin, "delivery-42");
    cr_assert(strstr(r.headers, "idempotent-replayed: true") != NULL, "%s", r.headers);
    ldr_test_resp_free(&r);
    stock_of("PAN-000001", &after, &v1);
    cr_assert_eq(after, before + 3 + 3 + 1, "on hand %lld", after);
}

Test(stock_write, catalog_files_upsert_and_keep_what_the_log_needs)
{
    ldr_test_resp_t r = call(LDR_TEST_HTTP1, "POST", "/v1/stock/VEG-000001/adjust",
                             "{\"delta\":2,\"reason\":\"count\"}", admin);
    cr_assert_eq(r.status, 200, "%s", r.body);
    ldr_test_resp_free(&r);
    long long before, v0;
    stock_of("VEG-000001", &before, &v0);
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    /* a newer catalog file: a new price for one product, the other left out */
    write_file(cat_path, "{\"sku\":\"PAN-000001\",\"name\":{\"en\":\"Fish sauce\"},"
                         "\"category\":\"pantry/sauces\",\"price\":50000}\n");
    start_server();
    r = call(LDR_TEST_HTTP1, "GET", "/v1/products/PAN-000001", NULL, NULL);
    cr_assert(strstr(r.body, "\"price\":50000") != NULL, "not upserted: %s", r.body);
    ldr_test_resp_free(&r);
    r = call(LDR_TEST_HTTP1, "GET", "/v1/products/VEG-000001", NULL, NULL);
    cr_assert_eq(r.status, 200, "a product the new file leaves out was dropped: %s", r.body);
    ldr_test_resp_free(&r);
    long long after, v1;
    stock_of("VEG-000001", &after, &v1);
    cr_assert_eq(after, before, "its stock in the log was lost");
    /* the newer file went through the log (the base stays the first file); the same file
     * again logs nothing */
    char v2[700];
    snprintf(v2, sizeof(v2), "%s/catalog/catalog-000002.jsonl", data_path);
    cr_assert_neq(access(v2, F_OK), 0, "the newer file became a second base");
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    start_server();
    r = call(LDR_TEST_HTTP1, "GET", "/v1/products/PAN-000001", NULL, NULL);
    cr_assert(strstr(r.body, "\"price\":50000") != NULL, "lost after a restart: %s", r.body);
    ldr_test_resp_free(&r);
    size_t len;
    char *log = ldr_test_slurp(srv.stderr_path, &len);
    cr_assert_not_null(strstr(log, "0 products changed through the log"), "%s", log);
    free(log);
}
