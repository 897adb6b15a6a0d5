/*
 * Checkout over real HTTP: a flash sale never oversells, a declined or timed-out payment gives
 * stock and the delivery window back, a retried checkout is answered with the same order, a
 * window never takes more than its capacity, and orders are private.  State survives a restart.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../helpers.h"

static char *dir, *admin;
static char cat_path[600], data_path[600];
static ldr_test_server_t srv;

static void start_server(void)
{
    const char *args[] = {"--catalog", cat_path, "--data-dir", data_path, NULL};
    cr_assert_eq(ldr_test_server_start(&srv, args, 1), 0, "server did not start");
}

static void start(void)
{
    dir = ldr_test_tmpdir();
    setenv("LARDER_PAYMENT_TIMEOUT_MS", "300", 1);
    const char *gen[] = {"--skus", "50", "--stores", "1", "--seed", "3", NULL};
    cr_assert_eq(ldr_test_server_start_generated(&srv, dir, gen), 0, "server did not start");
    snprintf(cat_path, sizeof(cat_path), "%s/gen/catalog.jsonl", dir);
    snprintf(data_path, sizeof(data_path), "%s", dir);
    admin = ldr_test_token("admin", "ops");
}

static void stop(void)
{
    if (srv.pid > 0)
        ldr_test_server_stop(&srv);
    unsetenv("LARDER_PAYMENT_TIMEOUT_MS");
    ldr_test_rmtree(dir);
    free(dir), free(admin);
}

TestSuite(checkout, .init = start, .fini = stop, .timeout = 180);

static json_t *call(const char *method, const char *path, const char *body, const char *token,
                    const char *key, long *status)
{
    char url[512];
    ldr_test_resp_t r;
    snprintf(url, sizeof(url), "%s%s", srv.base, path);
    int rc = key != NULL ? ldr_test_http_idem(LDR_TEST_HTTP1, method, url, body, token, key, &r)
                         : ldr_test_http_auth(LDR_TEST_HTTP1, method, url, body, token, &r);
    cr_assert_eq(rc, 0, "%s %s: transport", method, path);
    *status = r.status;
    json_t *j = json_loads(r.body, 0, NULL);
    cr_assert_not_null(j, "%s %s: %ld not JSON: %s", method, path, r.status, r.body);
    ldr_test_resp_free(&r);
    return j;
}

static json_t *expect(const char *method, const char *path, const char *body, const char *token,
                      const char *key, long want)
{
    long st;
    json_t *j = call(method, path, body, token, key, &st);
    char *dump = json_dumps(j, 0);
    cr_assert_eq(st, want, "%s %s: %ld, want %ld: %s", method, path, st, want, dump);
    free(dump);
    return j;
}

static const char *error_code(json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}

/* A new product with `units` in the default store. */
static void product(const char *sku, int units)
{
    cr_assert_eq(ldr_test_product(srv.base, admin, sku, "Sale mango", 25000, units), 0);
}

static void stock_of(const char *sku, long long *on_hand, long long *reserved, long long *avail)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/stock/%s", sku);
    json_t *j = expect("GET", path, NULL, NULL, NULL, 200);
    *on_hand = json_integer_value(json_object_get(j, "on_hand"));
    *reserved = json_integer_value(json_object_get(j, "reserved"));
    *avail = json_integer_value(json_object_get(j, "available"));
    json_decref(j);
}

static void add_to_cart(const char *token, const char *sku, int q)
{
    char path[128], body[64];
    snprintf(path, sizeof(path), "/v1/cart/items/%s", sku);
    snprintf(body, sizeof(body), "{\"quantity\":%d}", q);
    json_decref(expect("PUT", path, body, token, NULL, 200));
}

#define PICKUP(tok)                                                                                \
    "{\"fulfillment\":{\"type\":\"pickup\"},\"payment\":{\"provider\":\"fake\",\"token\":\"" tok   \
    "\"}}"

/* ---- the flash sale ---- */

#define BUYERS  500
#define UNITS   100
#define THREADS 25

static char *buyer_token[BUYERS];
static long buyer_status[BUYERS];
static char buyer_code[BUYERS][32];

static void *buy(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = t; i < BUYERS; i += THREADS) {
        char key[32];
        snprintf(key, sizeof(key), "sale-%d", i);
        json_t *j =
            call("POST", "/v1/checkout", PICKUP("fake_ok"), buyer_token[i], key, &buyer_status[i]);
        const char *code = error_code(j);
        snprintf(buyer_code[i], sizeof(buyer_code[i]), "%s", code ? code : "");
        json_decref(j);
    }
    return NULL;
}

Test(checkout, a_flash_sale_sells_exactly_what_there_is)
{
    product("SALE-1", UNITS);
    for (int i = 0; i < BUYERS; i++) {
        char sub[32];
        snprintf(sub, sizeof(sub), "usr-buyer-%d", i);
        buyer_token[i] = ldr_test_token("customer", sub);
        add_to_cart(buyer_token[i], "SALE-1", 1);
    }
    pthread_t th[THREADS];
    time_t sale_start = time(NULL);
    for (int t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, buy, (void *)(intptr_t)t);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    int sold = 0, short_ = 0;
    for (int i = 0; i < BUYERS; i++) {
        if (buyer_status[i] == 201)
            sold++;
        else if (buyer_status[i] == 409 && strcmp(buyer_code[i], "out_of_stock") == 0)
            short_++;
        else
            cr_assert(false, "buyer %d: %ld %s", i, buyer_status[i], buyer_code[i]);
    }
    cr_assert_eq(sold, UNITS, "%d orders for %d units", sold, UNITS);
    cr_assert_eq(short_, BUYERS - UNITS);
    long long on_hand, reserved, avail;
    stock_of("SALE-1", &on_hand, &reserved, &avail);
    cr_assert(on_hand == UNITS && reserved == UNITS && avail == 0,
              "on_hand %lld reserved %lld available %lld", on_hand, reserved, avail);
    json_t *j = expect("GET", "/v1/orders?status=paid", NULL, admin, NULL, 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "total")), UNITS);
    json_decref(j);
    /* by time: all of them since the sale began, none from the day after tomorrow; pages of 30 */
    char from[32], to[32], later[16], q[160];
    time_t end = time(NULL) + 1, after = end + 2 * 86400;
    strftime(from, sizeof(from), "%Y-%m-%dT%H:%M:%SZ", gmtime(&sale_start));
    strftime(to, sizeof(to), "%Y-%m-%dT%H:%M:%SZ", gmtime(&end));
    strftime(later, sizeof(later), "%Y-%m-%d", gmtime(&after));
    snprintf(q, sizeof(q), "/v1/orders?status=paid&from=%s&to=%s&per_page=30&page=4", from, to);
    j = expect("GET", q, NULL, admin, NULL, 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "total")), UNITS);
    cr_assert_eq(json_array_size(json_object_get(j, "orders")), UNITS - 90);
    json_decref(j);
    snprintf(q, sizeof(q), "/v1/orders?from=%s", later);
    j = expect("GET", q, NULL, admin, NULL, 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "total")), 0);
    json_decref(j);
    /* the same after a restart */
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    start_server();
    stock_of("SALE-1", &on_hand, &reserved, &avail);
    cr_assert(on_hand == UNITS && reserved == UNITS && avail == 0,
              "after a restart: on_hand %lld reserved %lld available %lld", on_hand, reserved,
              avail);
    j = expect("GET", "/v1/orders?status=paid", NULL, admin, NULL, 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "total")), UNITS);
    json_decref(j);
    /* a buyer who got one sees it; one who did not sees none */
    for (int i = 0; i < BUYERS; i++) {
        j = expect("GET", "/v1/orders", NULL, buyer_token[i], NULL, 200);
        cr_assert_eq(json_integer_value(json_object_get(j, "total")), buyer_status[i] == 201);
        json_decref(j);
        if (i > 20)
            break;
    }
    for (int i = 0; i < BUYERS; i++)
        free(buyer_token[i]);
}

/* ---- the saga ---- */

Test(checkout, a_failed_payment_gives_everything_back)
{
    product("SAGA-1", 10);
    char *c = ldr_test_token("customer", "usr-saga");
    time_t t = time(NULL) + 7 * 3600 + 86400; /* tomorrow in Vietnam */
    char day[16], slot[64], body[256], slots_path[64];
    strftime(day, sizeof(day), "%Y%m%d", gmtime(&t));
    snprintf(slot, sizeof(slot), "default-%s-1400", day);
    strftime(slots_path, sizeof(slots_path), "/v1/delivery/slots?date=%Y-%m-%d", gmtime(&t));
    long long on_hand, reserved, avail;
    const char *tokens[] = {"fake_decline", "fake_timeout"},
               *codes[] = {"payment_declined", "payment_timeout"};
    for (int k = 0; k < 2; k++) {
        add_to_cart(c, "SAGA-1", 3);
        snprintf(body, sizeof(body),
                 "{\"fulfillment\":{\"type\":\"same_day\",\"slot_id\":\"%s\"},\"payment\":{"
                 "\"provider\":\"fake\",\"token\":\"%s\"}}",
                 slot, tokens[k]);
        json_t *j = expect("POST", "/v1/checkout", body, c, tokens[k], 402);
        cr_assert_str_eq(error_code(j), codes[k]);
        const char *id = json_string_value(
            json_object_get(json_object_get(json_object_get(j, "error"), "details"), "order_id"));
        char path[96];
        snprintf(path, sizeof(path), "/v1/orders/%s", id);
        json_t *o = expect("GET", path, NULL, c, NULL, 200);
        cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "cancelled");
        cr_assert_str_eq(json_string_value(json_object_get(o, "reason")), codes[k]);
        cr_assert_str_eq(
            json_string_value(json_object_get(json_object_get(o, "payment"), "status")),
            "declined");
        json_decref(o);
        json_decref(j);
        stock_of("SAGA-1", &on_hand, &reserved, &avail);
        cr_assert(on_hand == 10 && reserved == 0 && avail == 10, "%s kept stock", tokens[k]);
        j = expect("GET", slots_path, NULL, NULL, NULL, 200);
        json_t *w = json_array_get(json_object_get(j, "slots"), 3); /* 14:00 */
        cr_assert_str_eq(json_string_value(json_object_get(w, "id")), slot);
        cr_assert_eq(json_integer_value(json_object_get(w, "remaining")), 20, "%s kept the slot",
                     tokens[k]);
        json_decref(j);
    }
    /* paid: stock held, the window one place shorter; the retry is the same order */
    add_to_cart(c, "SAGA-1", 3);
    snprintf(body, sizeof(body),
             "{\"fulfillment\":{\"type\":\"same_day\",\"slot_id\":\"%s\"},\"payment\":{"
             "\"provider\":\"fake\",\"token\":\"fake_ok\"}}",
             slot);
    json_t *first = expect("POST", "/v1/checkout", body, c, "paid-1", 201);
    cr_assert_str_eq(json_string_value(json_object_get(first, "status")), "paid");
    cr_assert_eq(json_integer_value(json_object_get(first, "total")), 3 * 25000);
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(first, "payment"), "status")),
        "authorized");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(first, "slot"), "id")),
                     slot);
    cr_assert_not_null(json_object_get(json_object_get(first, "slot"), "start"));
    json_t *line0 = json_array_get(json_object_get(first, "lines"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(line0, "name"), "en")),
                     "Sale mango");
    cr_assert(json_is_false(json_object_get(line0, "substitution_allowed")));
    cr_assert_eq(json_array_size(json_object_get(first, "timeline")), 2);
    json_t *again = expect("POST", "/v1/checkout", body, c, "paid-1", 201);
    cr_assert_str_eq(json_string_value(json_object_get(again, "order_id")),
                     json_string_value(json_object_get(first, "order_id")));
    stock_of("SAGA-1", &on_hand, &reserved, &avail);
    cr_assert(on_hand == 10 && reserved == 3 && avail == 7, "a retry ordered twice");
    json_t *j = expect("GET", slots_path, NULL, NULL, NULL, 200);
    cr_assert_eq(json_integer_value(
                     json_object_get(json_array_get(json_object_get(j, "slots"), 3), "remaining")),
                 19);
    json_decref(j);
    /* the same key with another body */
    j = expect("POST", "/v1/checkout", PICKUP("fake_ok"), c, "paid-1", 409);
    cr_assert_str_eq(error_code(j), "idempotency_conflict");
    json_decref(j);
    /* the order is its customer's and the admins' only */
    char path[96], *other = ldr_test_token("customer", "usr-other");
    snprintf(path, sizeof(path), "/v1/orders/%s",
             json_string_value(json_object_get(first, "order_id")));
    json_decref(expect("GET", path, NULL, other, NULL, 404));
    json_decref(expect("GET", path, NULL, admin, NULL, 200));
    json_decref(expect("GET", path, NULL, NULL, NULL, 401));
    j = expect("GET", "/v1/orders", NULL, other, NULL, 200);
    cr_assert_eq(json_integer_value(json_object_get(j, "total")), 0);
    json_decref(j);
    /* cancelled by its customer: stock and window back, the payment refunded; not twice */
    snprintf(path, sizeof(path), "/v1/orders/%s/cancel",
             json_string_value(json_object_get(first, "order_id")));
    json_decref(expect("POST", path, NULL, other, NULL, 404));
    char long_reason[200];
    snprintf(long_reason, sizeof(long_reason), "{\"reason\":\"%0100d\"}", 7);
    json_decref(expect("POST", path, long_reason, c, NULL, 400));
    j = expect("POST", path, "{\"reason\":\"changed my mind\"}", c, NULL, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "cancelled");
    cr_assert_str_eq(json_string_value(json_object_get(j, "reason")), "changed my mind");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "payment"), "status")),
                     "refunded");
    json_decref(j);
    stock_of("SAGA-1", &on_hand, &reserved, &avail);
    cr_assert(on_hand == 10 && reserved == 0 && avail == 10, "a cancel kept stock");
    j = expect("GET", slots_path, NULL, NULL, NULL, 200);
    cr_assert_eq(json_integer_value(
                     json_object_get(json_array_get(json_object_get(j, "slots"), 3), "remaining")),
                 20);
    json_decref(j);
    j = expect("POST", path, NULL, c, NULL, 409);
    cr_assert_str_eq(error_code(j), "invalid_transition");
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(j, "error"), "details"), "from")),
                     "cancelled");
    json_decref(j);
    json_decref(first);
    json_decref(again);
    free(other);
    free(c);
}

Test(checkout, bad_checkouts_change_nothing)
{
    product("BAD-1", 5);
    char *c = ldr_test_token("customer", "usr-bad");
    json_t *j = expect("POST", "/v1/checkout", PICKUP("fake_ok"), c, "e-1", 409);
    cr_assert_str_eq(error_code(j), "cart_empty");
    json_decref(j);
    add_to_cart(c, "BAD-1", 2);
    json_decref(expect("POST", "/v1/checkout", PICKUP("fake_ok"), c, NULL, 400)); /* no key */
    json_decref(expect("POST", "/v1/checkout", PICKUP("fake_ok"), NULL, "e-2", 401));
    json_decref(expect("POST", "/v1/checkout", PICKUP("fake_ok"), admin, "e-3", 409)); /* empty */
    char *svc = ldr_test_token("service", "erp");
    json_decref(expect("POST", "/v1/checkout", PICKUP("fake_ok"), svc, "e-4", 403));
    free(svc);
    const char *bodies[] = {"{\"fulfillment\":{\"type\":\"pickup\"},\"payment\":{\"provider\":"
                            "\"stripe\",\"token\":\"x\"}}",
                            "{\"fulfillment\":{\"type\":\"pickup\"},\"payment\":{\"provider\":"
                            "\"fake\",\"token\":\"maybe\"}}",
                            "{\"fulfillment\":{\"type\":\"drone\"},\"payment\":{\"provider\":"
                            "\"fake\",\"token\":\"fake_ok\"}}",
                            "{\"fulfillment\":{\"type\":\"same_day\"},\"payment\":{\"provider\":"
                            "\"fake\",\"token\":\"fake_ok\"}}",
                            "{\"fulfillment\":{\"type\":\"same_day\",\"slot_id\":\"default-"
                            "19990101-1000\"},\"payment\":{"
                            "\"provider\":\"fake\",\"token\":\"fake_ok\"}}",
                            "{\"fulfillment\":{\"type\":\"pickup\"}}",
                            "{\"fulfillment\":{\"type\":\"pickup\"},\"payment\":{\"provider\":"
                            "\"fake\",\"token\":\"fake_ok\"},\"coupon\":\"X\"}",
                            "{\"store\":\"Bad "
                            "Store\",\"fulfillment\":{\"type\":\"pickup\"},\"payment\":{"
                            "\"provider\":\"fake\",\"token\":\"fake_ok\"}}",
                            "{\"fulfillment\":{\"type\":\"pickup\"},\"payment\":{\"provider\":"
                            "\"fake\",\"token\":\"fake_ok\"},\"extra\":1}",
                            "not json"};
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        char key[16];
        snprintf(key, sizeof(key), "b-%zu", i);
        j = expect("POST", "/v1/checkout", bodies[i], c, key, 400);
        json_decref(j);
    }
    long long on_hand, reserved, avail;
    stock_of("BAD-1", &on_hand, &reserved, &avail);
    cr_assert(on_hand == 5 && reserved == 0, "a refused checkout held stock");
    /* too much: 409 naming the line, the cart kept */
    add_to_cart(c, "BAD-1", 9);
    j = expect("POST", "/v1/checkout", PICKUP("fake_ok"), c, "too-much", 409);
    cr_assert_str_eq(error_code(j), "out_of_stock");
    json_t *line = json_array_get(
        json_object_get(json_object_get(json_object_get(j, "error"), "details"), "lines"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(line, "sku")), "BAD-1");
    json_decref(j);
    j = expect("GET", "/v1/cart", NULL, c, NULL, 200);
    cr_assert_eq(json_array_size(json_object_get(j, "lines")), 1, "the cart was emptied");
    json_decref(j);
    json_decref(expect("GET", "/v1/orders/ord-0000000000000000", NULL, c, NULL, 404));
    json_decref(expect("GET", "/v1/orders?status=shipped", NULL, c, NULL, 400));
    json_decref(expect("GET", "/v1/orders?from=yesterday", NULL, c, NULL, 400));
    json_decref(expect("GET", "/v1/orders?per_page=0", NULL, c, NULL, 400));
    free(c);
}

/* ---- a window's capacity ---- */

#define SLOT_BUYERS 26
static char *slot_token[SLOT_BUYERS];
static long slot_status[SLOT_BUYERS];
static char slot_body[256];

static void *book(void *arg)
{
    int i = (int)(intptr_t)arg;
    char key[16];
    snprintf(key, sizeof(key), "slot-%d", i);
    json_decref(call("POST", "/v1/checkout", slot_body, slot_token[i], key, &slot_status[i]));
    return NULL;
}

Test(checkout, a_window_takes_no_more_than_its_capacity)
{
    product("SLOT-1", 100);
    time_t t = time(NULL) + 7 * 3600 + 2 * 86400;
    char day[16];
    strftime(day, sizeof(day), "%Y%m%d", gmtime(&t));
    snprintf(slot_body, sizeof(slot_body),
             "{\"fulfillment\":{\"type\":\"same_day\",\"slot_id\":\"default-%s-0800\"},"
             "\"payment\":{\"provider\":\"fake\",\"token\":\"fake_ok\"}}",
             day);
    pthread_t th[SLOT_BUYERS];
    for (int i = 0; i < SLOT_BUYERS; i++) {
        char sub[32];
        snprintf(sub, sizeof(sub), "usr-slot-%d", i);
        slot_token[i] = ldr_test_token("customer", sub);
        add_to_cart(slot_token[i], "SLOT-1", 1);
    }
    for (int i = 0; i < SLOT_BUYERS; i++)
        pthread_create(&th[i], NULL, book, (void *)(intptr_t)i);
    int booked = 0, full = 0;
    for (int i = 0; i < SLOT_BUYERS; i++) {
        pthread_join(th[i], NULL);
        booked += slot_status[i] == 201;
        full += slot_status[i] == 409;
        free(slot_token[i]);
    }
    cr_assert_eq(booked, 20, "%d booked, %d full", booked, full);
    cr_assert_eq(full, SLOT_BUYERS - 20);
    long long on_hand, reserved, avail;
    stock_of("SLOT-1", &on_hand, &reserved, &avail);
    cr_assert_eq(reserved, 20, "a refused booking held stock");
}

Test(checkout, fulfilment_moves_along_the_status_machine)
{
    product("FUL-1", 10);
    char *c = ldr_test_token("customer", "usr-ful"), *svc = ldr_test_token("service", "wms");
    time_t t = time(NULL) + 7 * 3600 + 86400;
    char day[16], body[256];
    strftime(day, sizeof(day), "%Y%m%d", gmtime(&t));
    snprintf(body, sizeof(body),
             "{\"fulfillment\":{\"type\":\"same_day\",\"slot_id\":\"default-%s-1600\"},"
             "\"payment\":{\"provider\":\"fake\",\"token\":\"fake_ok\"}}",
             day);
    add_to_cart(c, "FUL-1", 4);
    json_t *o = expect("POST", "/v1/checkout", body, c, "ful-1", 201);
    char path[128];
    snprintf(path, sizeof(path), "/v1/orders/%s/status",
             json_string_value(json_object_get(o, "order_id")));
    json_decref(o);
    json_decref(expect("POST", path, "{\"status\":\"picking\"}", c, NULL, 403));
    json_decref(expect("POST", path, "{\"status\":\"shipped\"}", svc, NULL, 400));
    json_decref(expect("POST", path, "{\"status\":\"refunded\"}", svc, NULL, 400));
    json_decref(expect("POST", path, "{\"status\":\"picking\",\"note\":\"x\"}", svc, NULL, 400));
    json_decref(expect("POST", "/v1/orders/ord-0000000000000000/status", "{\"status\":\"picking\"}",
                       svc, NULL, 404));
    json_t *j = expect("POST", path, "{\"status\":\"delivered\"}", svc, NULL, 409);
    cr_assert_str_eq(error_code(j), "invalid_transition");
    json_decref(j);
    long long on_hand, reserved, avail;
    stock_of("FUL-1", &on_hand, &reserved, &avail);
    cr_assert(on_hand == 10 && reserved == 4 && avail == 6);
    j = expect("POST", path, "{\"status\":\"picking\"}", svc, NULL, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "picking");
    json_decref(j);
    stock_of("FUL-1", &on_hand, &reserved, &avail);
    cr_assert(on_hand == 6 && reserved == 0 && avail == 6,
              "picking did not take the goods: "
              "on_hand %lld reserved %lld",
              on_hand, reserved);
    /* a delivery goes out for delivery, not to the pickup counter; picked goods stay sold */
    json_decref(expect("POST", path, "{\"status\":\"ready_for_pickup\"}", svc, NULL, 409));
    char cancel[128];
    snprintf(cancel, sizeof(cancel), "%.*s/cancel", (int)(strlen(path) - 7), path);
    json_decref(expect("POST", cancel, NULL, c, NULL, 409));
    json_decref(expect("POST", path, "{\"status\":\"out_for_delivery\"}", admin, NULL, 200));
    j = expect("POST", path, "{\"status\":\"delivered\"}", svc, NULL, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "delivered");
    cr_assert_eq(json_array_size(json_object_get(j, "timeline")), 5);
    json_decref(j);
    /* and after a restart */
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    start_server();
    snprintf(cancel, sizeof(cancel), "%.*s", (int)(strlen(path) - 7), path);
    j = expect("GET", cancel, NULL, c, NULL, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "delivered");
    json_decref(j);
    stock_of("FUL-1", &on_hand, &reserved, &avail);
    cr_assert(on_hand == 6 && reserved == 0);
    free(c);
    free(svc);
}

/* The remaining places of window `slot` ("default-YYYYMMDD-HH00") on its day. */
static long long remaining(const char *day_path, const char *slot)
{
    json_t *j = expect("GET", day_path, NULL, NULL, NULL, 200);
    long long left = -1;
    json_t *slots = json_object_get(j, "slots");
    for (size_t i = 0; i < json_array_size(slots); i++) {
        json_t *x = json_array_get(slots, i);
        if (strcmp(json_string_value(json_object_get(x, "id")), slot) == 0)
            left = json_integer_value(json_object_get(x, "remaining"));
    }
    json_decref(j);
    cr_assert_geq(left, 0, "no window %s", slot);
    return left;
}

Test(checkout, a_refund_gives_back_what_was_not_picked_and_happens_once)
{
    product("REF-1", 10);
    char *c = ldr_test_token("customer", "usr-ref"), *svc = ldr_test_token("service", "wms");
    time_t t = time(NULL) + 7 * 3600 + 86400;
    char day[16], slot[64], day_path[96], body[256];
    strftime(day, sizeof(day), "%Y%m%d", gmtime(&t));
    snprintf(slot, sizeof(slot), "default-%s-1800", day);
    strftime(day_path, sizeof(day_path), "/v1/delivery/slots?date=%Y-%m-%d", gmtime(&t));
    snprintf(body, sizeof(body),
             "{\"fulfillment\":{\"type\":\"same_day\",\"slot_id\":\"%s\"},"
             "\"payment\":{\"provider\":\"fake\",\"token\":\"fake_ok\"}}",
             slot);
    long long free0 = remaining(day_path, slot);
    /* a paid order, not picked yet: the refund gives its goods and its window's place back */
    add_to_cart(c, "REF-1", 2);
    json_t *o = expect("POST", "/v1/checkout", body, c, "ref-a", 201);
    char order[128], refund[160];
    snprintf(order, sizeof(order), "/v1/orders/%s",
             json_string_value(json_object_get(o, "order_id")));
    snprintf(refund, sizeof(refund), "%s/refund", order);
    json_decref(o);
    cr_assert_eq(remaining(day_path, slot), free0 - 1);
    json_decref(expect("POST", refund, NULL, c, "r-1", 403));
    json_decref(expect("POST", refund, NULL, svc, "r-1", 403));
    json_t *j =
        expect("POST", refund, NULL, admin, NULL, 400); /* no key: a retry could refund twice */
    cr_assert_str_eq(error_code(j), "invalid_parameter");
    json_decref(j);
    json_decref(expect("POST", refund, "{\"reason\":7}", admin, "r-1", 400));
    j = expect("POST", refund, "{\"reason\":\"damaged\"}", admin, "r-1", 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "refunded");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "payment"), "status")),
                     "refunded");
    json_decref(j);
    long long on_hand, reserved, avail;
    stock_of("REF-1", &on_hand, &reserved, &avail);
    cr_assert(on_hand == 10 && reserved == 0, "the hold was not given back");
    cr_assert_eq(remaining(day_path, slot), free0, "the window's place was not given back");
    /* the same request again answers the same; the key with another body, or another key, no */
    j = expect("POST", refund, "{\"reason\":\"damaged\"}", admin, "r-1", 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "refunded");
    json_decref(j);
    j = expect("POST", refund, "{\"reason\":\"other\"}", admin, "r-1", 409);
    cr_assert_str_eq(error_code(j), "idempotency_conflict");
    json_decref(j);
    j = expect("POST", refund, NULL, admin, "r-2", 409);
    cr_assert_str_eq(error_code(j), "invalid_transition");
    json_decref(j);
    /* picked, then refunded: the goods left stock and do not come back by themselves, and the
     * window stays used */
    add_to_cart(c, "REF-1", 3);
    o = expect("POST", "/v1/checkout", body, c, "ref-b", 201);
    char order2[128], refund2[160], status2[160];
    snprintf(order2, sizeof(order2), "/v1/orders/%s",
             json_string_value(json_object_get(o, "order_id")));
    snprintf(refund2, sizeof(refund2), "%s/refund", order2);
    snprintf(status2, sizeof(status2), "%s/status", order2);
    json_decref(o);
    json_decref(expect("POST", status2, "{\"status\":\"picking\"}", svc, NULL, 200));
    json_decref(expect("POST", refund2, NULL, admin, "r-3", 200));
    stock_of("REF-1", &on_hand, &reserved, &avail);
    cr_assert(on_hand == 7 && reserved == 0, "on_hand %lld reserved %lld", on_hand, reserved);
    cr_assert_eq(remaining(day_path, slot), free0 - 1);
    /* nothing to refund: a declined checkout's order */
    add_to_cart(c, "REF-1", 1);
    snprintf(body, sizeof(body),
             "{\"fulfillment\":{\"type\":\"pickup\"},\"payment\":{\"provider\":\"fake\","
             "\"token\":\"fake_decline\"}}");
    j = expect("POST", "/v1/checkout", body, c, "ref-c", 402);
    json_decref(j);
    json_decref(expect("POST", "/v1/orders/ord-0000000000000000/refund", NULL, admin, "r-4", 404));
    /* all of it after a restart, and in the log */
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    char wal[700], *out = NULL, *err = NULL;
    snprintf(wal, sizeof(wal), "%s/wal", data_path);
    const char *dump[] = {"wal", "dump", wal, NULL};
    cr_assert_eq(ldr_test_run(dump, &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "\"name\":\"order_refund\"") != NULL &&
                  strstr(out, "\"reason\":\"damaged\"") != NULL &&
                  strstr(out, "\"name\":\"order_place\"") != NULL,
              "wal dump does not show the orders' records");
    free(out), free(err);
    start_server();
    j = expect("GET", order, NULL, c, NULL, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "refunded");
    json_decref(j);
    j = expect("GET", order2, NULL, c, NULL, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "refunded");
    json_decref(j);
    cr_assert_eq(remaining(day_path, slot), free0 - 1);
    stock_of("REF-1", &on_hand, &reserved, &avail);
    cr_assert(on_hand == 7 && reserved == 0);
    free(c);
    free(svc);
}

static void put_product(const char *json)
{
    char sku[64], path[96];
    cr_assert(sscanf(json, "{\"sku\":\"%63[^\"]\"", sku) == 1);
    snprintf(path, sizeof(path), "/v1/products/%s", sku);
    json_decref(expect("PUT", path, json, admin, NULL, 201));
}

static void receive(const char *sku, int units)
{
    char path[96], body[128];
    snprintf(path, sizeof(path), "/v1/stock/%s/receive", sku);
    snprintf(body, sizeof(body), "{\"store\":\"default\",\"lot\":\"s\",\"quantity\":%d}", units);
    json_decref(expect("POST", path, body, admin, NULL, 200));
}

Test(checkout, a_short_line_is_substituted_only_where_allowed_and_never_by_another_unit)
{
    put_product(
        "{\"sku\":\"SUB-MAIN\",\"name\":{\"en\":\"Onions 1kg\"},\"category\":\"produce/"
        "onions\",\"price\":30000,\"unit\":\"1kg\",\"substitutes\":[\"SUB-BAG\",\"SUB-ALT\"]}");
    put_product("{\"sku\":\"SUB-BAG\",\"name\":{\"en\":\"Onions 3lb bag\"},\"category\":\"produce/"
                "onions\",\"price\":30000,\"unit\":\"3lb\"}");
    put_product("{\"sku\":\"SUB-ALT\",\"name\":{\"en\":\"Red onions 1kg\"},\"category\":\"produce/"
                "onions\",\"price\":32000,\"unit\":\"1kg\"}");
    put_product("{\"sku\":\"SUB-DEAR\",\"name\":{\"en\":\"Shallots 1kg\"},\"category\":\"produce/"
                "onions\",\"price\":90000,\"unit\":\"1kg\"}");
    receive("SUB-MAIN", 2);
    receive("SUB-BAG", 50);
    receive("SUB-ALT", 50);
    receive("SUB-DEAR", 50);
    char *yes = ldr_test_token("customer", "usr-sub-yes"),
         *no = ldr_test_token("customer", "usr-sub-no");
    json_decref(expect("PUT", "/v1/cart/items/SUB-MAIN",
                       "{\"quantity\":5,\"substitution_allowed\":true}", yes, NULL, 200));
    json_decref(expect("PUT", "/v1/cart/items/SUB-MAIN", "{\"quantity\":5}", no, NULL, 200));
    /* not allowed: the line is short and the checkout says so */
    json_t *j = expect("POST", "/v1/checkout", PICKUP("fake_ok"), no, "sub-no", 409);
    cr_assert_str_eq(error_code(j), "out_of_stock");
    json_t *line = json_array_get(
        json_object_get(json_object_get(json_object_get(j, "error"), "details"), "lines"), 0);
    cr_assert_eq(json_integer_value(json_object_get(line, "available")), 2);
    json_decref(j);
    /* allowed: the first substitute of the same unit within the price band, not the bag */
    j = expect("POST", "/v1/checkout", PICKUP("fake_ok"), yes, "sub-yes", 201);
    line = json_array_get(json_object_get(j, "lines"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(line, "sku")), "SUB-MAIN");
    cr_assert_str_eq(json_string_value(json_object_get(line, "substituted_by")), "SUB-ALT");
    cr_assert(json_is_true(json_object_get(line, "substitution_allowed")));
    char path[96];
    snprintf(path, sizeof(path), "/v1/orders/%s",
             json_string_value(json_object_get(j, "order_id")));
    json_decref(j);
    long long on_hand, reserved, avail;
    stock_of("SUB-MAIN", &on_hand, &reserved, &avail);
    cr_assert(on_hand == 2 && reserved == 0, "the short product was held");
    stock_of("SUB-ALT", &on_hand, &reserved, &avail);
    cr_assert(on_hand == 50 && reserved == 5, "the substitute was not held");
    stock_of("SUB-BAG", &on_hand, &reserved, &avail);
    cr_assert_eq(reserved, 0, "a substitute of another unit was taken");
    /* kept across a restart */
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    start_server();
    j = expect("GET", path, NULL, yes, NULL, 200);
    line = json_array_get(json_object_get(j, "lines"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(line, "substituted_by")), "SUB-ALT");
    json_decref(j);
    free(yes);
    free(no);
}

/* The third convention (Instacart's "specific replacement"): the customer names the product to
 * take instead; checkout tries that one only, never the best match. */
Test(checkout, a_replacement_the_customer_chose_is_the_only_one_tried)
{
    put_product("{\"sku\":\"REP-MAIN\",\"name\":{\"en\":\"Milk 1l\"},\"category\":\"dairy/"
                "milk\",\"price\":30000,\"unit\":\"1l\",\"substitutes\":[\"REP-BEST\"]}");
    put_product("{\"sku\":\"REP-BEST\",\"name\":{\"en\":\"Milk 1l B\"},\"category\":\"dairy/"
                "milk\",\"price\":30000,\"unit\":\"1l\"}");
    put_product("{\"sku\":\"REP-MINE\",\"name\":{\"en\":\"Oat milk 1l\"},\"category\":\"dairy/"
                "milk\",\"price\":45000,\"unit\":\"1l\"}");
    put_product("{\"sku\":\"REP-BIG\",\"name\":{\"en\":\"Milk 2l\"},\"category\":\"dairy/"
                "milk\",\"price\":50000,\"unit\":\"2l\"}");
    receive("REP-MAIN", 1);
    receive("REP-BEST", 50);
    receive("REP-MINE", 3);
    receive("REP-BIG", 50);
    char *c = ldr_test_token("customer", "usr-rep");
    /* bad replacements: 400 naming the field, and the cart does not change */
    static const struct {
        const char *body, *why;
    } bad[] = {
        {"{\"quantity\":2,\"replacement\":\"REP-BIG\"}", "same unit"},
        {"{\"quantity\":2,\"replacement\":\"REP-NONE\"}", "no product"},
        {"{\"quantity\":2,\"replacement\":\"REP-MAIN\"}", "cannot replace itself"},
        {"{\"quantity\":2,\"replacement\":\"bad sku!\"}", "no product"},
        {"{\"quantity\":2,\"replacement\":7}", "replacement"},
        {"{\"quantity\":2,\"substitution_allowed\":false,\"replacement\":\"REP-MINE\"}",
         "needs substitution_allowed"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *j = expect("PUT", "/v1/cart/items/REP-MAIN", bad[i].body, c, NULL, 400);
        char *dump = json_dumps(j, 0);
        cr_assert(strstr(dump, bad[i].why) != NULL, "%s: %s", bad[i].body, dump);
        cr_assert_str_eq(error_code(j), "invalid_body");
        cr_assert_str_eq(json_string_value(json_object_get(
                             json_object_get(json_object_get(j, "error"), "details"), "field")),
                         "replacement", "%s", dump);
        free(dump);
        json_decref(j);
    }
    json_t *j = expect("GET", "/v1/cart", NULL, c, NULL, 200);
    cr_assert_eq(json_array_size(json_object_get(j, "lines")), 0, "a refused line was added");
    json_decref(j);
    /* the replacement implies substitution, and the cart shows it */
    j = expect("PUT", "/v1/cart/items/REP-MAIN", "{\"quantity\":5,\"replacement\":\"REP-MINE\"}", c,
               NULL, 200);
    json_t *line = json_array_get(json_object_get(j, "lines"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(line, "replacement")), "REP-MINE");
    cr_assert(json_is_true(json_object_get(line, "substitution_allowed")));
    json_decref(j);
    /* REP-MINE has 3 of the 5: the best match (REP-BEST, 50) is not taken in its place */
    j = expect("POST", "/v1/checkout", PICKUP("fake_ok"), c, "rep-1", 409);
    cr_assert_str_eq(error_code(j), "out_of_stock");
    json_decref(j);
    long long on_hand, reserved, avail;
    stock_of("REP-BEST", &on_hand, &reserved, &avail);
    cr_assert_eq(reserved, 0, "the best match was held against the customer's choice");
    /* with 3 in the cart the choice has enough: it is held, and survives a restart of the cart */
    json_decref(expect("PUT", "/v1/cart/items/REP-MAIN",
                       "{\"quantity\":3,\"replacement\":\"REP-MINE\"}", c, NULL, 200));
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    start_server();
    j = expect("GET", "/v1/cart", NULL, c, NULL, 200);
    line = json_array_get(json_object_get(j, "lines"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(line, "replacement")), "REP-MINE");
    json_decref(j);
    j = expect("POST", "/v1/checkout", PICKUP("fake_ok"), c, "rep-2", 201);
    line = json_array_get(json_object_get(j, "lines"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(line, "substituted_by")), "REP-MINE");
    json_decref(j);
    stock_of("REP-MINE", &on_hand, &reserved, &avail);
    cr_assert(on_hand == 3 && reserved == 3, "the chosen replacement was not held");
    stock_of("REP-BEST", &on_hand, &reserved, &avail);
    cr_assert_eq(reserved, 0);
    /* null clears a replacement: back to the best match */
    j = expect("PUT", "/v1/cart/items/REP-MAIN",
               "{\"quantity\":1,\"substitution_allowed\":true,\"replacement\":null}", c, NULL, 200);
    line = json_array_get(json_object_get(j, "lines"), 0);
    cr_assert_null(json_object_get(line, "replacement"));
    json_decref(j);
    free(c);
}

#include "larder/engine.h"

/* Places an order straight into the log, as a checkout does before it asks the provider. */

Test(checkout, a_checkout_cut_between_its_steps_is_taken_up_at_the_next_start)
{
    product("RES-1", 10);
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    /* the server died after placing three orders and before hearing from the provider: their
     * ORDER_PLACE records are in the log, nothing after them */
    static const char *const tokens[] = {"fake_ok", "fake_decline", "fake_timeout"};
    for (int i = 0; i < 3; i++) {
        char id[32], owner[32];
        snprintf(id, sizeof(id), "ord-res000000000000%d", i + 1);
        snprintf(owner, sizeof(owner), "usr-res-%d", i + 1);
        cr_assert_eq(
            ldr_test_place_in_log(data_path, id, owner, "RES-1", 2, 25000, "fake", tokens[i]), 0);
    }
    long long on_hand, reserved, avail;
    start_server();
    /* asked again with the same token: paid, declined (released), still waiting (held) */
    json_t *j = expect("GET", "/v1/orders/ord-res0000000000001", NULL, admin, NULL, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "paid");
    json_decref(j);
    j = expect("GET", "/v1/orders/ord-res0000000000002", NULL, admin, NULL, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "cancelled");
    cr_assert_str_eq(json_string_value(json_object_get(j, "reason")), "payment_declined");
    json_decref(j);
    j = expect("GET", "/v1/orders/ord-res0000000000003", NULL, admin, NULL, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "pending_payment");
    cr_assert_not_null(json_object_get(j, "pay_by"));
    json_decref(j);
    stock_of("RES-1", &on_hand, &reserved, &avail);
    cr_assert(on_hand == 10 && reserved == 4, "reserved %lld: the declined order kept its hold",
              reserved);
    size_t loglen;
    char *log = ldr_test_slurp(srv.stderr_path, &loglen);
    cr_assert_not_null(strstr(log, "taken up: 3 (1 paid, 1 declined, 1 still"), "%s", log);
    free(log);
    /* taken up once: the next start has nothing more to do */
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    start_server();
    log = ldr_test_slurp(srv.stderr_path, &loglen);
    cr_assert_not_null(strstr(log, "taken up: 1 (0 paid, 0 declined, 1 still"), "%s", log);
    free(log);
}
