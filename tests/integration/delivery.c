/*
 * The delivery adapters over real HTTP: a server configured with LARDER_GRAB_* and
 * LARDER_VIETTELPOST_* against tests/fakes/grab.py and viettelpost.py (started on free loopback
 * ports for the suite; each test resets them), whose /_calls and /_bookings show what larder
 * sent.  The address a same-day checkout takes; the booking once paid (the fake provider, Grab,
 * ViettelPost); signed webhooks moving the order; a provider that fails, is slow, answers garbage
 * or refuses, and the breaker; a cancelled order's booking cancelled; all of it kept across a
 * restart.  Bookings happen after the checkout answers, so the tests wait for them by polling the
 * order (bounded), never by timing.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../shell/adapters/delivery.h"
#include "../helpers.h"

#define GRAB_SECRET "grab-webhook-secret"
#define VTP_TOKEN   "vtp-webhook-token"

static char *dir, *admin;
static char data_path[600], cat_path[600], grab_url[128], vtp_url[128];
static pid_t grab_pid, vtp_pid;
static ldr_test_server_t srv;

static void start_server(void)
{
    const char *args[] = {"--catalog", cat_path, "--data-dir", data_path, NULL};
    cr_assert_eq(ldr_test_server_start(&srv, args, 1), 0, "server did not start");
}

static void start(void)
{
    grab_pid = ldr_test_start_emulator("tests/fakes/grab.py", grab_url, sizeof(grab_url));
    cr_assert_gt(grab_pid, 0);
    vtp_pid = ldr_test_start_emulator("tests/fakes/viettelpost.py", vtp_url, sizeof(vtp_url));
    cr_assert_gt(vtp_pid, 0);
    setenv("LARDER_GRAB_URL", grab_url, 1);
    setenv("LARDER_GRAB_KEY", "grab-test-key", 1);
    setenv("LARDER_GRAB_WEBHOOK_SECRET", GRAB_SECRET, 1);
    setenv("LARDER_GRAB_BACKOFF_MS", "20", 1);
    setenv("LARDER_GRAB_BREAKER_FAILURES", "3", 1);
    setenv("LARDER_GRAB_BREAKER_COOLDOWN_MS", "3000", 1); /* well past the checks made while open */
    setenv("LARDER_VIETTELPOST_URL", vtp_url, 1);
    setenv("LARDER_VIETTELPOST_TOKEN", "vtp-test-token", 1);
    setenv("LARDER_VIETTELPOST_WEBHOOK_TOKEN", VTP_TOKEN, 1);
    setenv("LARDER_VIETTELPOST_BACKOFF_MS", "20", 1);
    setenv("LARDER_FAKE_DELIVERY_WEBHOOK_SECRET", "fake-secret", 1);
    setenv("LARDER_DELIVERY_RETRY_MS", "100", 1);
    setenv("LARDER_DELIVERY_TIMEOUT_MS", "700", 1); /* slow answers come after 2 s */
    setenv("LARDER_SNAPSHOT_RECORDS", "7", 1);      /* restarts read snapshots too */
    dir = ldr_test_tmpdir();
    const char *gen[] = {"--skus", "50", "--stores", "1", "--seed", "5", NULL};
    cr_assert_eq(ldr_test_server_start_generated(&srv, dir, gen), 0, "server did not start");
    snprintf(cat_path, sizeof(cat_path), "%s/gen/catalog.jsonl", dir);
    snprintf(data_path, sizeof(data_path), "%s", dir);
    admin = ldr_test_token("admin", "ops");
}

static void stop(void)
{
    if (srv.pid > 0)
        ldr_test_server_stop(&srv);
    for (pid_t *p = (pid_t[]){grab_pid, vtp_pid, 0}; *p > 0; p++) {
        kill(*p, SIGTERM);
        waitpid(*p, NULL, 0);
    }
    ldr_test_rmtree(dir);
    free(dir), free(admin);
}

TestSuite(delivery, .init = start, .fini = stop, .timeout = 120);

static json_t *call_h(const char *method, const char *url, const char *body,
                      const char *const *headers, long *status)
{
    ldr_test_resp_t r;
    cr_assert_eq(ldr_test_http_headers(LDR_TEST_HTTP1, method, url, body, headers, &r), 0,
                 "%s %s: transport", method, url);
    *status = r.status;
    json_t *j = json_loads(r.body, 0, NULL);
    cr_assert_not_null(j, "%s %s: %ld not JSON: %s", method, url, r.status, r.body);
    ldr_test_resp_free(&r);
    return j;
}

static json_t *expect(const char *method, const char *path, const char *body, const char *token,
                      const char *key, long want)
{
    char url[512], auth[1024];
    snprintf(url, sizeof(url), "%s%s", srv.base, path);
    snprintf(auth, sizeof(auth), "Bearer %s", token ? token : "");
    const char *headers[] = {token ? "Authorization" : NULL, auth, key ? "Idempotency-Key" : NULL,
                             key, NULL};
    const char *h[5] = {NULL};
    for (int i = 0, n = 0; i < 4; i += 2)
        if (headers[i] != NULL)
            h[n++] = headers[i], h[n++] = headers[i + 1];
    long st;
    json_t *j = call_h(method, url, body, h, &st);
    char *dump = json_dumps(j, 0);
    cr_assert_eq(st, want, "%s %s: %ld, want %ld: %s", method, path, st, want, dump);
    free(dump);
    return j;
}

/* An emulator's hook (GET /_calls, /_bookings; POST /_mode, /_reset). */
static json_t *hook(const char *base, const char *method, const char *path, const char *body)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", base, path);
    long st;
    json_t *j = call_h(method, url, body, NULL, &st);
    cr_assert_eq(st, 200, "%s %s", method, url);
    return j;
}

static size_t count_calls(const char *base, const char *method, const char *path)
{
    json_t *j = hook(base, "GET", "/_calls", NULL), *calls = json_object_get(j, "calls");
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(calls); i++) {
        json_t *c = json_array_get(calls, i);
        n += strcmp(json_string_value(json_object_get(c, "method")), method) == 0 &&
             strncmp(json_string_value(json_object_get(c, "path")), path, strlen(path)) == 0;
    }
    json_decref(j);
    return n;
}

/* Grab bookings asked for order `id`. */
static size_t count_for(const char *id)
{
    json_t *j = hook(grab_url, "GET", "/_calls", NULL), *calls = json_object_get(j, "calls");
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(calls); i++) {
        const char *ref = json_string_value(
            json_object_get(json_object_get(json_array_get(calls, i), "body"), "merchantOrderID"));
        n += ref != NULL && strcmp(ref, id) == 0;
    }
    json_decref(j);
    return n;
}

static const char *str_at(json_t *j, const char *a, const char *b)
{
    json_t *x = json_object_get(j, a);
    return json_string_value(b != NULL ? json_object_get(x, b) : x);
}

static const char *error_field(json_t *j)
{
    return str_at(json_object_get(j, "error"), "details", "field");
}

/* The order as its owner sees it. */
static json_t *order(const char *id)
{
    char path[256];
    snprintf(path, sizeof(path), "/v1/orders/%s", id);
    return expect("GET", path, NULL, admin, NULL, 200);
}

/* Polls the order (bounded: 15 s) until its delivery status is `want`; returns the order. */
static json_t *wait_delivery(const char *id, const char *want)
{
    json_t *o = NULL;
    for (int i = 0; i < 300; i++) {
        json_decref(o);
        o = order(id);
        const char *st = str_at(o, "delivery", "status");
        if (st != NULL && strcmp(st, want) == 0)
            return o;
        usleep(50 * 1000);
    }
    char *dump = json_dumps(o, 0);
    cr_assert_fail("order %s never reached delivery status %s: %s", id, want, dump);
    return NULL;
}

/* Tomorrow's 14:00 window (Vietnam time) at the default store. */
static void slot_id(char *out, size_t size)
{
    time_t t = time(NULL) + 7 * 3600 + 86400;
    char day[16];
    strftime(day, sizeof(day), "%Y%m%d", gmtime(&t));
    snprintf(out, size, "default-%s-1400", day);
}

#define ADDRESS                                                                                           \
    "{\"name\":\"Nguyễn Văn An\",\"phone\":\"+84 912 345 678\",\"line1\":\"12 Lý Thường Kiệt\"," \
    "\"ward\":\"Phường Hàng Bài\",\"district\":\"Quận Hoàn Kiếm\",\"city\":\"Hà Nội\"}"

/* A customer's same-day checkout of 2 of sku, paid with the fake provider, delivered by
 * `courier` (NULL: the server's default) to `address` (NULL: none). */
static json_t *checkout(const char *user, const char *sku, const char *courier, const char *address,
                        const char *key, long want)
{
    char *t = ldr_test_token("customer", user);
    char path[256], body[1024], slot[64], extra[700] = "";
    snprintf(path, sizeof(path), "/v1/cart/items/%s", sku);
    json_decref(expect("PUT", path, "{\"quantity\":2}", t, NULL, 200));
    slot_id(slot, sizeof(slot));
    if (address != NULL)
        snprintf(extra, sizeof(extra), ",\"address\":%s", address);
    if (courier != NULL)
        snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra), ",\"provider\":\"%s\"",
                 courier);
    snprintf(body, sizeof(body),
             "{\"fulfillment\":{\"type\":\"same_day\",\"slot_id\":\"%s\"%s},\"payment\":{"
             "\"provider\":\"fake\",\"token\":\"fake_ok\"}}",
             slot, extra);
    json_t *j = expect("POST", "/v1/checkout", body, t, key, want);
    free(t);
    return j;
}

static void product(const char *sku)
{
    cr_assert_eq(ldr_test_product(srv.base, admin, sku, "Mango", 30000, 50), 0);
}

static void admin_status(const char *id, const char *status)
{
    char path[256], body[64];
    snprintf(path, sizeof(path), "/v1/orders/%s/status", id);
    snprintf(body, sizeof(body), "{\"status\":\"%s\"}", status);
    json_decref(expect("POST", path, body, admin, NULL, 200));
}

/* A Grab-shaped webhook to `provider`, signed with `secret` in `header`. */
static json_t *grab_hook(const char *provider, const char *header, const char *secret,
                         const char *id, const char *tracking, const char *status, long want)
{
    char body[512], sig[65], url[256];
    snprintf(body, sizeof(body),
             "{\"deliveryID\":\"%s\",\"merchantOrderID\":\"%s\",\"status\":\"%s\","
             "\"timestamp\":1700000000}",
             tracking, id, status);
    ldr_delivery_hmac_hex(secret, body, strlen(body), sig);
    snprintf(url, sizeof(url), "%s/v1/webhooks/delivery/%s", srv.base, provider);
    const char *h[] = {"Content-Type", "application/json", header, sig, NULL};
    long st;
    json_t *j = call_h("POST", url, body, h, &st);
    cr_assert_eq(st, want, "webhook %s %s: %ld", provider, status, st);
    return j;
}

/* The value of the /metrics line that starts with `line`; -1 when there is none. */
static long long metric(const char *line)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/metrics", srv.base);
    ldr_test_resp_t r;
    cr_assert_eq(ldr_test_http(LDR_TEST_HTTP1, "GET", url, NULL, &r), 0);
    const char *at = strstr(r.body, line);
    long long v = at != NULL ? atoll(at + strlen(line)) : -1;
    ldr_test_resp_free(&r);
    return v;
}

static void reset_emulators(void)
{
    json_decref(hook(grab_url, "POST", "/_reset", "{}"));
    json_decref(hook(vtp_url, "POST", "/_reset", "{}"));
}

/* ---- the address ---- */

Test(delivery, a_same_day_address_is_checked_and_kept)
{
    product("DLV-1");
    char *t = ldr_test_token("customer", "usr-dlv-1");
    json_decref(expect("PUT", "/v1/cart/items/DLV-1", "{\"quantity\":1}", t, NULL, 200));
    char slot[64], body[1024];
    slot_id(slot, sizeof(slot));
    static const struct {
        const char *fulfillment, *field;
    } bad[] = {
        {"\"address\":{\"phone\":\"0912345678\",\"line1\":\"1 A\",\"district\":\"D1\",\"city\":"
         "\"HCM\"}",
         "fulfillment.address.name"},
        {"\"address\":{\"name\":\"An\",\"phone\":\"12345\",\"line1\":\"1 A\",\"district\":\"D1\","
         "\"city\":\"HCM\"}",
         "fulfillment.address.phone"},
        {"\"address\":{\"name\":\"An\",\"phone\":\"+1 415 555 0100\",\"line1\":\"1 A\","
         "\"district\":\"D1\",\"city\":\"HCM\"}",
         "fulfillment.address.phone"},
        {"\"address\":{\"name\":\"An\",\"phone\":\"0912345678\",\"line1\":\"  \",\"district\":"
         "\"D1\",\"city\":\"HCM\"}",
         "fulfillment.address.line1"},
        {"\"address\":{\"name\":\"An\",\"phone\":\"0912345678\",\"line1\":\"1 "
         "A\",\"city\":\"HCM\"}",
         "fulfillment.address.district"},
        {"\"address\":{\"name\":\"An\",\"phone\":\"0912345678\",\"line1\":\"1 A\",\"district\":"
         "\"D1\",\"city\":\"HCM\",\"zip\":\"7\"}",
         "fulfillment.address.zip"},
        {"\"address\":\"12 Ly Thuong Kiet\"", "fulfillment.address"},
        {"\"address\":" ADDRESS ",\"provider\":\"ghn\"", "fulfillment.provider"},
        {"\"provider\":\"grab\"", "fulfillment.address"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(body, sizeof(body),
                 "{\"fulfillment\":{\"type\":\"same_day\",\"slot_id\":\"%s\",%s},\"payment\":{"
                 "\"provider\":\"fake\",\"token\":\"fake_ok\"}}",
                 slot, bad[i].fulfillment);
        json_t *j = expect("POST", "/v1/checkout", body, t, "dlv-1-bad", 400);
        cr_assert_str_eq(error_field(j), bad[i].field, "case %zu", i);
        json_decref(j);
    }
    /* a pickup takes no address */
    json_t *j = expect("POST", "/v1/checkout",
                       "{\"fulfillment\":{\"type\":\"pickup\",\"address\":" ADDRESS
                       "},\"payment\":{\"provider\":\"fake\",\"token\":\"fake_ok\"}}",
                       t, "dlv-1-bad", 400);
    cr_assert_str_eq(error_field(j), "fulfillment.address");
    json_decref(j);
    /* nothing changed: the cart is whole, nothing held, no order */
    j = expect("GET", "/v1/cart", NULL, t, NULL, 200);
    cr_assert_eq(json_array_size(json_object_get(j, "lines")), 1);
    json_decref(j);
    j = expect("GET", "/v1/orders", NULL, t, NULL, 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "total")), 0);
    json_decref(j);
    free(t);
    /* a good one: kept as given, the phone in national form, booked with the fake courier */
    j = checkout("usr-dlv-1", "DLV-1", NULL, ADDRESS, "dlv-1", 201);
    char id[64];
    snprintf(id, sizeof(id), "%s", str_at(j, "order_id", NULL));
    json_t *a = json_object_get(json_object_get(j, "fulfillment"), "address");
    cr_assert_str_eq(str_at(a, "name", NULL), "Nguyễn Văn An");
    cr_assert_str_eq(str_at(a, "phone", NULL), "0912345678");
    cr_assert_str_eq(str_at(a, "ward", NULL), "Phường Hàng Bài");
    cr_assert_str_eq(str_at(a, "city", NULL), "Hà Nội");
    cr_assert_str_eq(str_at(j, "delivery", "provider"), "fake");
    json_t *o = wait_delivery(id, "booked");
    char want[80];
    snprintf(want, sizeof(want), "FAKE-%s", id + 4);
    cr_assert_str_eq(str_at(o, "delivery", "tracking_id"), want);
    json_decref(o);
    json_decref(j);
    /* the fake courier's webhook: the booking moves, the order (paid, not picked) does not */
    json_decref(grab_hook("fake", "X-Fake-Signature", "guess", id, want, "IN_DELIVERY", 400));
    j = grab_hook("fake", "X-Fake-Signature", "fake-secret", id, want, "IN_DELIVERY", 200);
    cr_assert(json_is_true(json_object_get(j, "applied")));
    json_decref(j);
    o = order(id);
    cr_assert_str_eq(str_at(o, "delivery", "status"), "in_transit");
    cr_assert_str_eq(str_at(o, "status", NULL), "paid");
    json_decref(o);
    /* without an address a same-day order is as before: no courier */
    j = checkout("usr-dlv-1b", "DLV-1", NULL, NULL, "dlv-1b", 201);
    cr_assert_null(json_object_get(j, "delivery"));
    cr_assert_null(json_object_get(json_object_get(j, "fulfillment"), "address"));
    json_decref(j);
}

/* ---- Grab ---- */

Test(delivery, grab_is_booked_once_paid_and_its_webhooks_move_the_order)
{
    reset_emulators();
    product("DLV-2");
    json_t *j = checkout("usr-dlv-2", "DLV-2", "grab", ADDRESS, "dlv-2", 201);
    char id[64];
    snprintf(id, sizeof(id), "%s", str_at(j, "order_id", NULL));
    json_decref(j);
    json_t *o = wait_delivery(id, "booked");
    char tracking[64];
    snprintf(tracking, sizeof(tracking), "%s", str_at(o, "delivery", "tracking_id"));
    cr_assert_str_eq(tracking, "GRAB-1");
    cr_assert_str_eq(str_at(o, "delivery", "provider"), "grab");
    json_decref(o);
    /* what Grab was asked: one booking, named by the order, with the key and the address */
    j = hook(grab_url, "GET", "/_calls", NULL);
    json_t *calls = json_object_get(j, "calls"), *c = json_array_get(calls, 0);
    cr_assert_eq(json_array_size(calls), 1);
    cr_assert_str_eq(str_at(c, "path", NULL), "/v1/deliveries");
    cr_assert_str_eq(str_at(c, "auth", NULL), "Bearer grab-test-key");
    json_t *b = json_object_get(c, "body");
    cr_assert_str_eq(str_at(b, "merchantOrderID", NULL), id);
    cr_assert_str_eq(str_at(b, "recipient", "phone"), "84912345678");
    cr_assert_str_eq(str_at(b, "destination", "address"),
                     "12 Lý Thường Kiệt, Phường Hàng Bài, Quận Hoàn Kiếm, Hà Nội");
    cr_assert_eq(json_integer_value(json_object_get(
                     json_array_get(json_object_get(b, "packages"), 0), "quantity")),
                 2);
    json_decref(j);
    /* a bad signature: 400, nothing changes */
    admin_status(id, "picking");
    j = grab_hook("grab", "X-Grab-Signature", "not-the-secret", id, tracking, "IN_DELIVERY", 400);
    cr_assert_str_eq(str_at(json_object_get(j, "error"), "code", NULL), "invalid_signature");
    json_decref(j);
    o = order(id);
    cr_assert_str_eq(str_at(o, "status", NULL), "picking");
    size_t events = json_array_size(json_object_get(o, "timeline"));
    json_decref(o);
    /* picked up by the driver: out for delivery; the same webhook again changes nothing */
    j = grab_hook("grab", "X-Grab-Signature", GRAB_SECRET, id, tracking, "IN_DELIVERY", 200);
    cr_assert(json_is_true(json_object_get(j, "applied")));
    json_decref(j);
    j = grab_hook("grab", "X-Grab-Signature", GRAB_SECRET, id, tracking, "IN_DELIVERY", 200);
    cr_assert(json_is_false(json_object_get(j, "applied")));
    json_decref(j);
    o = order(id);
    cr_assert_str_eq(str_at(o, "status", NULL), "out_for_delivery");
    cr_assert_str_eq(str_at(o, "delivery", "status"), "in_transit");
    cr_assert_eq(json_array_size(json_object_get(o, "timeline")), events + 1);
    json_decref(o);
    /* a status larder does not act on, and a body that is not Grab's */
    j = grab_hook("grab", "X-Grab-Signature", GRAB_SECRET, id, tracking, "PICKING_UP", 200);
    cr_assert(json_is_false(json_object_get(j, "applied")));
    json_decref(j);
    j = grab_hook("grab", "X-Grab-Signature", GRAB_SECRET, id, "", "COMPLETED", 400);
    cr_assert_str_eq(str_at(json_object_get(j, "error"), "code", NULL), "invalid_body");
    json_decref(j);
    j = grab_hook("gojek", "X-Grab-Signature", GRAB_SECRET, id, tracking, "COMPLETED", 404);
    json_decref(j);
    /* delivered */
    j = grab_hook("grab", "X-Grab-Signature", GRAB_SECRET, id, tracking, "COMPLETED", 200);
    cr_assert(json_is_true(json_object_get(j, "applied")));
    json_decref(j);
    o = order(id);
    cr_assert_str_eq(str_at(o, "status", NULL), "delivered");
    cr_assert_str_eq(str_at(o, "delivery", "status"), "delivered");
    json_decref(o);
    cr_assert_eq(count_calls(grab_url, "POST", "/v1/deliveries"), 1);
}

Test(delivery, a_failing_provider_is_retried_then_the_breaker_opens_and_the_order_waits)
{
    reset_emulators();
    product("DLV-3");
    /* two 503s, then a booking: one call from the desk, retried under the same reference */
    json_decref(hook(grab_url, "POST", "/_mode", "{\"mode\":\"down\",\"times\":2}"));
    json_t *j = checkout("usr-dlv-3a", "DLV-3", "grab", ADDRESS, "dlv-3a", 201);
    char id[64];
    snprintf(id, sizeof(id), "%s", str_at(j, "order_id", NULL));
    json_decref(j);
    json_decref(wait_delivery(id, "booked"));
    cr_assert_eq(count_calls(grab_url, "POST", "/v1/deliveries"), 3);
    /* down for good: three failed attempts open the breaker; the order shows why and waits */
    json_decref(hook(grab_url, "POST", "/_reset", "{}"));
    json_decref(hook(grab_url, "POST", "/_mode", "{\"mode\":\"down\"}"));
    j = checkout("usr-dlv-3b", "DLV-3", "grab", ADDRESS, "dlv-3b", 201);
    snprintf(id, sizeof(id), "%s", str_at(j, "order_id", NULL));
    cr_assert_str_eq(str_at(j, "status", NULL), "paid"); /* the courier never holds a checkout */
    json_decref(j);
    json_t *o = wait_delivery(id, "booking_failed");
    cr_assert_str_eq(str_at(o, "delivery", "note"), "HTTP 503");
    cr_assert_null(json_object_get(json_object_get(o, "delivery"), "tracking_id"));
    json_decref(o);
    size_t sent = count_calls(grab_url, "POST", "/v1/deliveries");
    cr_assert_eq(sent, 3, "%zu attempts, want 3 (then the breaker opened)", sent);
    usleep(300 * 1000); /* the desk retries meanwhile, but the open breaker sends nothing */
    cr_assert_eq(count_calls(grab_url, "POST", "/v1/deliveries"), 3);
    cr_assert_eq(metric("larder_provider_breaker_opened_total{provider=\"grab\"} "), 1);
    cr_assert_geq(metric("larder_provider_refused_calls_total{provider=\"grab\"} "), 1);
    /* back up: after the cooldown the retry goes through and the order is booked */
    json_decref(hook(grab_url, "POST", "/_mode", "{\"mode\":\"ok\"}"));
    o = wait_delivery(id, "booked");
    cr_assert_str_eq(str_at(o, "status", NULL), "paid");
    json_decref(o);
    j = hook(grab_url, "GET", "/_bookings", NULL);
    cr_assert_eq(json_array_size(json_object_get(j, "bookings")), 1);
    json_decref(j);
}

Test(delivery, slow_garbage_and_refusals_are_retried_without_a_second_booking)
{
    reset_emulators();
    product("DLV-4");
    const char *modes[] = {"{\"mode\":\"slow\",\"times\":1}", "{\"mode\":\"garbage\",\"times\":1}",
                           "{\"mode\":\"refuse\",\"times\":1}"};
    for (int k = 0; k < 3; k++) {
        json_decref(hook(grab_url, "POST", "/_mode", modes[k]));
        char user[32], key[32], id[64];
        snprintf(user, sizeof(user), "usr-dlv-4%c", 'a' + k);
        snprintf(key, sizeof(key), "dlv-4%c", 'a' + k);
        json_t *j = checkout(user, "DLV-4", "grab", ADDRESS, key, 201);
        snprintf(id, sizeof(id), "%s", str_at(j, "order_id", NULL));
        json_decref(j);
        json_decref(wait_delivery(id, "booked"));
        /* asked again after the failure, under the same reference */
        cr_assert_geq(count_for(id), 2, "%s: the booking was not asked again", modes[k]);
    }
    json_t *j = hook(grab_url, "GET", "/_bookings", NULL);
    cr_assert_eq(json_array_size(json_object_get(j, "bookings")), 3);
    json_decref(j);
}

/* ---- ViettelPost ---- */

Test(delivery, viettelpost_is_booked_and_its_token_checked_webhook_delivers)
{
    reset_emulators();
    product("DLV-5");
    json_t *j = checkout("usr-dlv-5", "DLV-5", "viettelpost", ADDRESS, "dlv-5", 201);
    char id[64], tracking[64], body[512], url[256];
    snprintf(id, sizeof(id), "%s", str_at(j, "order_id", NULL));
    json_decref(j);
    json_t *o = wait_delivery(id, "booked");
    snprintf(tracking, sizeof(tracking), "%s", str_at(o, "delivery", "tracking_id"));
    cr_assert_str_eq(tracking, "VTP1000000001");
    json_decref(o);
    j = hook(vtp_url, "GET", "/_calls", NULL);
    json_t *c = json_array_get(json_object_get(j, "calls"), 0);
    cr_assert_str_eq(str_at(c, "path", NULL), "/v2/order/createOrder");
    cr_assert_str_eq(str_at(c, "auth", NULL), "vtp-test-token");
    cr_assert_str_eq(str_at(c, "body", "ORDER_NUMBER"), id);
    cr_assert_str_eq(str_at(c, "body", "RECEIVER_PHONE"), "0912345678");
    cr_assert_eq(
        json_integer_value(json_object_get(json_object_get(c, "body"), "MONEY_COLLECTION")), 0);
    json_decref(j);
    admin_status(id, "picking");
    snprintf(url, sizeof(url), "%s/v1/webhooks/delivery/viettelpost", srv.base);
    const char *h[] = {"Content-Type", "application/json", NULL};
    long st;
    /* a wrong token: 400, nothing changes */
    snprintf(body, sizeof(body),
             "{\"DATA\":{\"ORDER_NUMBER\":\"%s\",\"ORDER_REFERENCE\":\"%s\",\"ORDER_STATUS\":501,"
             "\"STATUS_NAME\":\"Giao thành công\"},\"TOKEN\":\"guess\"}",
             tracking, id);
    j = call_h("POST", url, body, h, &st);
    cr_assert_eq(st, 400);
    json_decref(j);
    o = order(id);
    cr_assert_str_eq(str_at(o, "status", NULL), "picking");
    json_decref(o);
    /* delivered (501) while picking: through out_for_delivery to delivered, once */
    snprintf(body, sizeof(body),
             "{\"DATA\":{\"ORDER_NUMBER\":\"%s\",\"ORDER_REFERENCE\":\"%s\",\"ORDER_STATUS\":501,"
             "\"STATUS_NAME\":\"Giao thành công\"},\"TOKEN\":\"" VTP_TOKEN "\"}",
             tracking, id);
    for (int k = 0; k < 2; k++) {
        j = call_h("POST", url, body, h, &st);
        cr_assert_eq(st, 200);
        cr_assert(json_is_true(json_object_get(j, "applied")) == (k == 0));
        json_decref(j);
    }
    o = order(id);
    cr_assert_str_eq(str_at(o, "status", NULL), "delivered");
    cr_assert_str_eq(str_at(o, "delivery", "status"), "delivered");
    json_t *tl = json_object_get(o, "timeline");
    size_t n = json_array_size(tl);
    cr_assert_str_eq(str_at(json_array_get(tl, n - 2), "status", NULL), "out_for_delivery");
    cr_assert_str_eq(str_at(json_array_get(tl, n - 1), "status", NULL), "delivered");
    json_decref(o);
}

/* ---- cancelling, and a restart ---- */

Test(delivery, a_cancelled_order_cancels_its_booking_and_a_restart_keeps_everything)
{
    reset_emulators();
    product("DLV-6");
    char ids[2][64], trackings[2][64];
    const char *couriers[] = {"grab", "viettelpost"};
    for (int k = 0; k < 2; k++) {
        char user[32], key[32];
        snprintf(user, sizeof(user), "usr-dlv-6%c", 'a' + k);
        snprintf(key, sizeof(key), "dlv-6%c", 'a' + k);
        json_t *j = checkout(user, "DLV-6", couriers[k], ADDRESS, key, 201);
        snprintf(ids[k], sizeof(ids[k]), "%s", str_at(j, "order_id", NULL));
        json_decref(j);
        json_t *o = wait_delivery(ids[k], "booked");
        snprintf(trackings[k], sizeof(trackings[k]), "%s", str_at(o, "delivery", "tracking_id"));
        json_decref(o);
        /* the customer cancels (Grab), an admin refunds (ViettelPost): the courier is cancelled
         * too */
        char path[256], *t = ldr_test_token("customer", user);
        snprintf(path, sizeof(path), "/v1/orders/%s/%s", ids[k], k == 0 ? "cancel" : "refund");
        json_decref(
            expect("POST", path, "{}", k == 0 ? t : admin, k == 0 ? NULL : "refund-6b", 200));
        free(t);
        json_decref(wait_delivery(ids[k], "cancelled"));
    }
    char del[256];
    snprintf(del, sizeof(del), "/v1/deliveries/%s", trackings[0]);
    cr_assert_eq(count_calls(grab_url, "DELETE", del), 1);
    json_t *j = hook(vtp_url, "GET", "/_bookings", NULL);
    cr_assert_str_eq(str_at(json_array_get(json_object_get(j, "bookings"), 0), "status", NULL),
                     "cancelled");
    json_decref(j);
    /* one more, booked and left as is; then a restart (log and snapshots) keeps it all */
    j = checkout("usr-dlv-6c", "DLV-6", "grab", ADDRESS, "dlv-6c", 201);
    char kept[64];
    snprintf(kept, sizeof(kept), "%s", str_at(j, "order_id", NULL));
    json_decref(j);
    json_decref(wait_delivery(kept, "booked"));
    size_t booked = count_calls(grab_url, "POST", "/v1/deliveries");
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    start_server();
    json_t *o = order(kept);
    cr_assert_str_eq(str_at(o, "delivery", "status"), "booked");
    cr_assert_str_eq(str_at(o, "delivery", "provider"), "grab");
    cr_assert_str_eq(str_at(json_object_get(o, "fulfillment"), "address", "line1"),
                     "12 Lý Thường Kiệt");
    cr_assert_str_eq(str_at(json_object_get(o, "fulfillment"), "address", "phone"), "0912345678");
    json_decref(o);
    for (int k = 0; k < 2; k++) {
        o = order(ids[k]);
        cr_assert_str_eq(str_at(o, "delivery", "status"), "cancelled");
        cr_assert_str_eq(str_at(o, "delivery", "tracking_id"), trackings[k]);
        json_decref(o);
    }
    /* nothing booked or cancelled twice by the restart */
    cr_assert_eq(count_calls(grab_url, "POST", "/v1/deliveries"), booked);
    cr_assert_eq(count_calls(grab_url, "DELETE", "/v1/deliveries/"), 1);
}
