/* Server-side carts: priced from the catalog, per account, durable, and nobody else's. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../helpers.h"

static char *dir, *alice, *bob, *service;
static char cat_path[600], sku[64], sku2[64];
static ldr_test_server_t srv;

static void start(void)
{
    dir = ldr_test_tmpdir();
    const char *gen[] = {"--skus", "40", "--stores", "1", "--seed", "11", NULL};
    cr_assert_eq(ldr_test_server_start_generated(&srv, dir, gen), 0, "server did not start");
    snprintf(cat_path, sizeof(cat_path), "%s/gen/catalog.jsonl", dir);
    size_t len;
    char *cat = ldr_test_slurp(cat_path, &len);
    char *second = cat ? strchr(cat, '\n') : NULL;
    cr_assert(cat != NULL && second != NULL && sscanf(cat, "{\"sku\":\"%63[^\"]\"", sku) == 1 &&
              sscanf(second + 1, "{\"sku\":\"%63[^\"]\"", sku2) == 1);
    free(cat);
    alice = ldr_test_token("customer", "usr-alice");
    bob = ldr_test_token("customer", "usr-bob");
    service = ldr_test_token("service", "erp");
}

static void stop(void)
{
    if (srv.pid > 0)
        ldr_test_server_stop(&srv);
    ldr_test_rmtree(dir);
    free(dir), free(alice), free(bob), free(service);
}

TestSuite(cart, .init = start, .fini = stop, .timeout = 120);

static json_t *call(const char *method, const char *path, const char *body, const char *token,
                    long want)
{
    char url[512];
    ldr_test_resp_t r;
    snprintf(url, sizeof(url), "%s%s", srv.base, path);
    cr_assert_eq(ldr_test_http_auth(LDR_TEST_HTTP1, method, url, body, token, &r), 0);
    cr_assert_eq(r.status, want, "%s %s: %ld %s", method, path, r.status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    cr_assert_not_null(j, "%s", r.body);
    ldr_test_resp_free(&r);
    return j;
}

Test(cart, priced_per_account_and_durable)
{
    char item[128], item2[128];
    snprintf(item, sizeof(item), "/v1/cart/items/%s", sku);
    snprintf(item2, sizeof(item2), "/v1/cart/items/%s", sku2);
    json_t *j = call("PUT", item, "{\"quantity\":3,\"substitution_allowed\":true}", alice, 200);
    json_t *line = json_array_get(json_object_get(j, "lines"), 0);
    long long price = json_integer_value(json_object_get(line, "unit_price"));
    cr_assert_gt(price, 0);
    cr_assert_eq(json_integer_value(json_object_get(line, "line_total")), 3 * price);
    cr_assert(json_is_true(json_object_get(line, "substitution_allowed")));
    cr_assert(json_is_integer(json_object_get(line, "available")));
    cr_assert_eq(json_integer_value(json_object_get(j, "total")), 3 * price);
    json_decref(j);
    /* replace the quantity, add a second line */
    json_decref(call("PUT", item, "{\"quantity\":1}", alice, 200));
    j = call("PUT", item2, "{\"quantity\":2}", alice, 200);
    cr_assert_eq(json_array_size(json_object_get(j, "lines")), 2);
    line = json_array_get(json_object_get(j, "lines"), 0);
    cr_assert_eq(json_integer_value(json_object_get(line, "quantity")), 1);
    cr_assert(json_is_false(json_object_get(line, "substitution_allowed")));
    json_decref(j);
    /* bob sees his own (empty) cart, never alice's */
    j = call("GET", "/v1/cart", NULL, bob, 200);
    cr_assert_eq(json_array_size(json_object_get(j, "lines")), 0);
    json_decref(j);
    /* bad input and refusals change nothing */
    json_decref(call("PUT", item, "{\"quantity\":0}", alice, 400));
    json_decref(call("PUT", item, "{\"quantity\":1001}", alice, 400));
    json_decref(call("PUT", item, "{\"quantity\":1,\"substitution_allowed\":\"yes\"}", alice, 400));
    json_decref(call("PUT", "/v1/cart/items/NOPE-1", "{\"quantity\":1}", alice, 404));
    json_decref(call("GET", "/v1/cart?store=Bad!", NULL, alice, 400));
    json_decref(call("GET", "/v1/cart", NULL, NULL, 401));
    json_decref(call("GET", "/v1/cart", NULL, service, 403));
    /* removing: an absent line is no error */
    json_decref(call("DELETE", "/v1/cart/items/NOPE-1", NULL, alice, 200));
    j = call("DELETE", item2, NULL, alice, 200);
    cr_assert_eq(json_array_size(json_object_get(j, "lines")), 1);
    json_decref(j);
    /* the cart is in the log */
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    char data[600];
    snprintf(data, sizeof(data), "%s", dir);
    const char *args[] = {"--catalog", cat_path, "--data-dir", data, NULL};
    cr_assert_eq(ldr_test_server_start(&srv, args, 1), 0);
    j = call("GET", "/v1/cart", NULL, alice, 200);
    cr_assert_eq(json_array_size(json_object_get(j, "lines")), 1, "the cart was lost");
    cr_assert_eq(json_integer_value(json_object_get(j, "total")), price);
    json_decref(j);
}

Test(cart, delivery_slots_of_a_day)
{
    time_t now = time(NULL), vn = now + 7 * 3600 + 86400; /* tomorrow in Vietnam */
    char day[16], path[128];
    strftime(day, sizeof(day), "%Y-%m-%d", gmtime(&vn));
    snprintf(path, sizeof(path), "/v1/delivery/slots?date=%s", day);
    json_t *j = call("GET", path, NULL, NULL, 200);
    json_t *slots = json_object_get(j, "slots");
    cr_assert_eq(json_array_size(slots), 6, "08:00-20:00 in two-hour windows");
    json_t *first = json_array_get(slots, 0);
    char want_id[64], want_start[32];
    snprintf(want_id, sizeof(want_id), "default-%.4s%.2s%.2s-0800", day, day + 5, day + 8);
    snprintf(want_start, sizeof(want_start), "%sT01:00:00Z", day); /* 08:00 at UTC+7 */
    cr_assert_str_eq(json_string_value(json_object_get(first, "id")), want_id);
    cr_assert_str_eq(json_string_value(json_object_get(first, "start")), want_start);
    cr_assert_eq(json_integer_value(json_object_get(first, "remaining")),
                 json_integer_value(json_object_get(first, "capacity")));
    json_decref(j);
    json_decref(call("GET", "/v1/delivery/slots?date=2020-01-01", NULL, NULL, 400));
    json_decref(call("GET", "/v1/delivery/slots", NULL, NULL, 400));
    json_decref(call("GET", "/v1/delivery/slots?date=2026-02-30", NULL, NULL, 400));
    snprintf(path, sizeof(path), "/v1/delivery/slots?date=%s&store=nowhere", day);
    json_decref(call("GET", path, NULL, NULL, 404));
}
