/*
 * The payment adapters over real HTTP: a server configured with LARDER_STRIPE_* and LARDER_MOMO_*
 * against the local emulators in tests/fakes/ (started on free loopback ports for each test),
 * whose GET /_calls shows what larder sent.  Checkouts that are authorised, declined, too slow,
 * answered with garbage or by a flaky provider; the circuit breaker; refunds; signed webhooks; a
 * checkout cut short and asked again at the next start.
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

#include "../helpers.h"
#include "larder/engine.h"

#define WEBHOOK_SECRET "whsec_larder_test"

static char *dir, *admin;
static char data_path[600], cat_path[600], fake_url[128], momo_url[128];
static pid_t fake_pid, momo_pid;
static ldr_test_server_t srv;

static void start_server(void)
{
    const char *args[] = {"--catalog", cat_path, "--data-dir", data_path, NULL};
    cr_assert_eq(ldr_test_server_start(&srv, args, 1), 0, "server did not start");
}

static void start(void)
{
    fake_pid = ldr_test_start_emulator("tests/fakes/stripe.py", fake_url, sizeof(fake_url));
    cr_assert_gt(fake_pid, 0);
    momo_pid = ldr_test_start_emulator("tests/fakes/momo.py", momo_url, sizeof(momo_url));
    cr_assert_gt(momo_pid, 0);
    setenv("LARDER_MOMO_URL", momo_url, 1);
    setenv("LARDER_MOMO_PARTNER_CODE", "MOMOLARDER", 1);
    setenv("LARDER_MOMO_ACCESS_KEY", "larder-access", 1);
    setenv("LARDER_MOMO_SECRET_KEY", "larder-secret", 1);
    /* where MoMo would call us; the tests tell the emulator the server's real port */
    setenv("LARDER_MOMO_IPN_URL", "http://127.0.0.1:9/v1/webhooks/momo", 1);
    setenv("LARDER_STRIPE_URL", fake_url, 1);
    setenv("LARDER_STRIPE_KEY", "sk_test_larder", 1);
    setenv("LARDER_STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET, 1);
    setenv("LARDER_STRIPE_BACKOFF_MS", "20", 1);
    setenv("LARDER_STRIPE_BREAKER_FAILURES", "5", 1);
    setenv("LARDER_STRIPE_BREAKER_COOLDOWN_MS", "1500", 1);
    setenv("LARDER_PAYMENT_TIMEOUT_MS", "1000", 1); /* pm_slow answers after 2 s */
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
    for (pid_t *p = (pid_t[]){fake_pid, momo_pid, 0}; *p > 0; p++) {
        kill(*p, SIGTERM);
        waitpid(*p, NULL, 0);
    }
    ldr_test_rmtree(dir);
    free(dir), free(admin);
}

TestSuite(payments, .init = start, .fini = stop, .timeout = 120);

static json_t *call(const char *method, const char *url, const char *body, const char *token,
                    const char *key, long *status)
{
    ldr_test_resp_t r;
    cr_assert_eq(ldr_test_http_idem(LDR_TEST_HTTP1, method, url, body, token, key, &r), 0,
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
    char url[512];
    snprintf(url, sizeof(url), "%s%s", srv.base, path);
    long st;
    json_t *j = call(method, url, body, token, key, &st);
    char *dump = json_dumps(j, 0);
    cr_assert_eq(st, want, "%s %s: %ld, want %ld: %s", method, path, st, want, dump);
    free(dump);
    return j;
}

static const char *code_of(json_t *j)
{
    return json_string_value(json_object_get(json_object_get(j, "error"), "code"));
}

/* What the emulator received so far, as a JSON array. */
static json_t *fake_calls(void)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/_calls", fake_url);
    long st;
    json_t *j = call("GET", url, NULL, NULL, NULL, &st);
    cr_assert_eq(st, 200);
    json_t *calls = json_incref(json_object_get(j, "calls"));
    json_decref(j);
    return calls;
}

static size_t fake_count(const char *path_prefix)
{
    json_t *calls = fake_calls();
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(calls); i++) {
        const char *p = json_string_value(json_object_get(json_array_get(calls, i), "path"));
        n += p != NULL && strncmp(p, path_prefix, strlen(path_prefix)) == 0;
    }
    json_decref(calls);
    return n;
}

static void product(const char *sku, int units)
{
    cr_assert_eq(ldr_test_product(srv.base, admin, sku, "Dragon fruit", 40000, units), 0);
}

static long long reserved_of(const char *sku)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/stock/%s", sku);
    json_t *j = expect("GET", path, NULL, NULL, NULL, 200);
    long long r = json_integer_value(json_object_get(j, "reserved"));
    json_decref(j);
    return r;
}

/* A customer's checkout of `q` of sku paid with Stripe payment method `pm`. */
static json_t *checkout(const char *user, const char *sku, int q, const char *pm, const char *key,
                        long want)
{
    char *t = ldr_test_token("customer", user);
    char path[128], body[256];
    snprintf(path, sizeof(path), "/v1/cart/items/%s", sku);
    snprintf(body, sizeof(body), "{\"quantity\":%d}", q);
    json_decref(expect("PUT", path, body, t, NULL, 200));
    snprintf(body, sizeof(body),
             "{\"fulfillment\":{\"type\":\"pickup\"},\"payment\":{\"provider\":\"stripe\","
             "\"token\":\"%s\"}}",
             pm);
    json_t *j = expect("POST", "/v1/checkout", body, t, key, want);
    free(t);
    return j;
}

Test(payments, an_authorisation_is_one_idempotent_request_and_its_reference_is_kept)
{
    product("PAY-1", 10);
    json_t *o = checkout("usr-pay-1", "PAY-1", 3, "pm_card_visa", "pay-1", 201);
    const char *id = json_string_value(json_object_get(o, "order_id"));
    json_t *pay = json_object_get(o, "payment");
    cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "paid");
    cr_assert_str_eq(json_string_value(json_object_get(pay, "provider")), "stripe");
    const char *ref = json_string_value(json_object_get(pay, "reference"));
    cr_assert(ref != NULL && strncmp(ref, "pi_", 3) == 0, "no PaymentIntent in the order");
    cr_assert_eq(reserved_of("PAY-1"), 3);
    /* what Stripe was asked */
    json_t *calls = fake_calls();
    cr_assert_eq(json_array_size(calls), 1);
    json_t *c = json_array_get(calls, 0), *form = json_object_get(c, "form");
    cr_assert_str_eq(json_string_value(json_object_get(c, "path")), "/v1/payment_intents");
    char key[96];
    snprintf(key, sizeof(key), "larder-auth-%s", id);
    cr_assert_str_eq(json_string_value(json_object_get(c, "idempotency_key")), key);
    cr_assert_str_eq(json_string_value(json_object_get(form, "amount")), "120000");
    cr_assert_str_eq(json_string_value(json_object_get(form, "currency")), "vnd");
    cr_assert_str_eq(json_string_value(json_object_get(form, "capture_method")), "manual");
    cr_assert_str_eq(json_string_value(json_object_get(form, "metadata[order_id]")), id);
    json_decref(calls);
    /* the reference survives a restart (the log) */
    char path[128], refc[64];
    snprintf(path, sizeof(path), "/v1/orders/%s", id);
    snprintf(refc, sizeof(refc), "%s", ref);
    json_decref(o);
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    start_server();
    o = expect("GET", path, NULL, admin, NULL, 200);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "payment"), "reference")),
                     refc);
    json_decref(o);
}

Test(payments, a_decline_a_timeout_and_garbage_give_everything_back)
{
    product("PAY-2", 10);
    json_t *j = checkout("usr-pay-2a", "PAY-2", 2, "pm_card_chargeDeclined", "pay-2a", 402);
    cr_assert_str_eq(code_of(j), "payment_declined");
    json_t *d = json_object_get(json_object_get(j, "error"), "details");
    cr_assert_str_eq(json_string_value(json_object_get(d, "provider_says")), "card_declined");
    json_decref(j);
    j = checkout("usr-pay-2b", "PAY-2", 2, "pm_slow", "pay-2b", 402);
    cr_assert_str_eq(code_of(j), "payment_timeout");
    json_decref(j);
    j = checkout("usr-pay-2c", "PAY-2", 2, "pm_malformed", "pay-2c", 502);
    cr_assert_str_eq(code_of(j), "payment_provider_error");
    json_decref(j);
    j = checkout("usr-pay-2d", "PAY-2", 2, "not a token", "pay-2d", 400);
    json_decref(j);
    cr_assert_eq(reserved_of("PAY-2"), 0, "a failed payment kept its hold");
    /* a retry of the declined checkout is answered with its order, not asked again */
    size_t asked = fake_count("/v1/payment_intents");
    j = checkout("usr-pay-2a", "PAY-2", 2, "pm_card_chargeDeclined", "pay-2a", 201);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "cancelled");
    json_decref(j);
    cr_assert_eq(fake_count("/v1/payment_intents"), asked);
}

Test(payments, a_flaky_provider_is_asked_again_under_the_same_key)
{
    product("PAY-3", 10);
    json_t *o = checkout("usr-pay-3", "PAY-3", 1, "pm_flaky", "pay-3", 201);
    cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "paid");
    json_decref(o);
    json_t *calls = fake_calls();
    cr_assert_eq(json_array_size(calls), 3, "two 503s and a success");
    const char *k0 =
        json_string_value(json_object_get(json_array_get(calls, 0), "idempotency_key"));
    for (size_t i = 1; i < 3; i++)
        cr_assert_str_eq(
            json_string_value(json_object_get(json_array_get(calls, i), "idempotency_key")), k0);
    json_decref(calls);
}

/* A line of /metrics ("name{labels} value"): its value, or -1 when it is not there. */
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

Test(payments, the_breaker_opens_fails_fast_and_closes_again)
{
    product("PAY-4", 50);
    /* 3 attempts each; the fifth failed attempt in a row opens the breaker */
    json_t *j = checkout("usr-pay-4a", "PAY-4", 1, "pm_down", "pay-4a", 503);
    cr_assert_str_eq(code_of(j), "payment_unavailable");
    json_decref(j);
    j = checkout("usr-pay-4b", "PAY-4", 1, "pm_down", "pay-4b", 503);
    json_decref(j);
    size_t sent = fake_count("/v1/payment_intents");
    cr_assert_eq(sent, 5, "%zu attempts, want 3 + 2 (then the breaker opened)", sent);
    /* open: a good card is not even sent */
    j = checkout("usr-pay-4c", "PAY-4", 1, "pm_card_visa", "pay-4c", 503);
    cr_assert_str_eq(code_of(j), "payment_unavailable");
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_object_get(j, "error"), "details"), "provider_says")),
                     "circuit_open");
    json_decref(j);
    cr_assert_eq(fake_count("/v1/payment_intents"), sent);
    cr_assert_eq(reserved_of("PAY-4"), 0);
    cr_assert_eq(metric("larder_provider_breaker_open{provider=\"stripe\"} "), 1);
    cr_assert_eq(metric("larder_provider_breaker_opened_total{provider=\"stripe\"} "), 1);
    cr_assert_eq(metric("larder_provider_failed_attempts_total{provider=\"stripe\"} "), 5);
    cr_assert_eq(metric("larder_provider_refused_calls_total{provider=\"stripe\"} "), 1);
    /* cooled down: one call goes through, succeeds, and closes it */
    usleep(1600 * 1000);
    json_decref(checkout("usr-pay-4d", "PAY-4", 1, "pm_card_visa", "pay-4d", 201));
    json_decref(checkout("usr-pay-4e", "PAY-4", 1, "pm_card_visa", "pay-4e", 201));
    cr_assert_eq(fake_count("/v1/payment_intents"), sent + 2);
    cr_assert_eq(metric("larder_provider_breaker_open{provider=\"stripe\"} "), 0);
    cr_assert_eq(metric("larder_provider_attempts_total{provider=\"stripe\"} "), 7);
}

Test(payments, a_refund_goes_to_stripe_once)
{
    product("PAY-5", 10);
    json_t *o = checkout("usr-pay-5", "PAY-5", 4, "pm_card_visa", "pay-5", 201);
    char refund[160], ref[64];
    snprintf(refund, sizeof(refund), "/v1/orders/%s/refund",
             json_string_value(json_object_get(o, "order_id")));
    snprintf(ref, sizeof(ref), "%s",
             json_string_value(json_object_get(json_object_get(o, "payment"), "reference")));
    json_decref(o);
    json_t *j = expect("POST", refund, NULL, admin, "rf-1", 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "status")), "refunded");
    json_decref(j);
    cr_assert_eq(reserved_of("PAY-5"), 0);
    json_t *calls = fake_calls();
    json_t *last = json_array_get(calls, json_array_size(calls) - 1);
    cr_assert_str_eq(json_string_value(json_object_get(last, "path")), "/v1/refunds");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(last, "form"), "payment_intent")), ref);
    json_decref(calls);
    /* the same request again: the same answer, and Stripe is not asked again */
    json_decref(expect("POST", refund, NULL, admin, "rf-1", 200));
    json_decref(expect("POST", refund, NULL, admin, "rf-2", 409));
    cr_assert_eq(fake_count("/v1/refunds"), 1);
}

/* A webhook signed as Stripe does: t=NOW,v1=HMAC-SHA256(secret, "NOW.payload"). */
static long webhook(const char *payload, int64_t t, const char *secret, json_t **out)
{
    char header[160], url[256];
    ldr_test_stripe_sign(header, sizeof(header), secret, t, payload);
    snprintf(url, sizeof(url), "%s/v1/webhooks/stripe", srv.base);
    ldr_test_resp_t r;
    const char *headers[] = {"Stripe-Signature", header, NULL};
    cr_assert_eq(ldr_test_http_headers(LDR_TEST_HTTP1, "POST", url, payload, headers, &r), 0);
    long status = r.status;
    *out = json_loads(r.body, 0, NULL);
    cr_assert_not_null(*out, "%ld: %s", status, r.body);
    ldr_test_resp_free(&r);
    return status;
}

static const char *order_status(const char *id)
{
    static char status[32];
    char path[128];
    snprintf(path, sizeof(path), "/v1/orders/%s", id);
    json_t *j = expect("GET", path, NULL, admin, NULL, 200);
    snprintf(status, sizeof(status), "%s", json_string_value(json_object_get(j, "status")));
    json_decref(j);
    return status;
}

Test(payments, webhooks_are_signed_and_move_orders_only_forward)
{
    product("PAY-6", 10);
    json_t *o = checkout("usr-pay-6", "PAY-6", 2, "pm_card_visa", "pay-6", 201);
    char id[64], intent[64], payload[512];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(o, "order_id")));
    snprintf(intent, sizeof(intent), "%s",
             json_string_value(json_object_get(json_object_get(o, "payment"), "reference")));
    json_decref(o);
    /* refunded in Stripe's dashboard: a charge event naming the PaymentIntent only */
    snprintf(payload, sizeof(payload),
             "{\"id\":\"evt_1\",\"type\":\"charge.refunded\",\"data\":{\"object\":{\"id\":\"ch_1\","
             "\"object\":\"charge\",\"payment_intent\":\"%s\",\"refunded\":true}}}",
             intent);
    int64_t now = (int64_t)time(NULL);
    json_t *j;
    cr_assert_eq(webhook(payload, now, "whsec_wrong", &j), 400);
    cr_assert_str_eq(code_of(j), "invalid_signature");
    json_decref(j);
    cr_assert_eq(webhook(payload, now - 600, WEBHOOK_SECRET, &j), 400, "a stale event passed");
    json_decref(j);
    cr_assert_str_eq(order_status(id), "paid", "a bad signature changed the order");
    cr_assert_eq(reserved_of("PAY-6"), 2);
    cr_assert_eq(webhook(payload, now, WEBHOOK_SECRET, &j), 200);
    cr_assert(json_is_true(json_object_get(j, "applied")));
    cr_assert_str_eq(json_string_value(json_object_get(j, "order_id")), id);
    json_decref(j);
    cr_assert_str_eq(order_status(id), "refunded");
    cr_assert_eq(reserved_of("PAY-6"), 0);
    /* the same event again, and one that comes too late: received, nothing changes */
    cr_assert_eq(webhook(payload, now, WEBHOOK_SECRET, &j), 200);
    cr_assert(json_is_false(json_object_get(j, "applied")));
    json_decref(j);
    snprintf(payload, sizeof(payload),
             "{\"id\":\"evt_2\",\"type\":\"payment_intent.succeeded\",\"data\":{\"object\":{"
             "\"id\":\"%s\",\"object\":\"payment_intent\",\"metadata\":{\"order_id\":\"%s\"}}}}",
             intent, id);
    cr_assert_eq(webhook(payload, now, WEBHOOK_SECRET, &j), 200);
    cr_assert(json_is_false(json_object_get(j, "applied")));
    json_decref(j);
    cr_assert_str_eq(order_status(id), "refunded");
    /* not larder's, and not an event at all */
    cr_assert_eq(webhook("{\"id\":\"evt_3\",\"type\":\"charge.refunded\",\"data\":{\"object\":{"
                         "\"object\":\"charge\",\"payment_intent\":\"pi_other\"}}}",
                         now, WEBHOOK_SECRET, &j),
                 200);
    cr_assert(json_is_false(json_object_get(j, "applied")));
    json_decref(j);
    cr_assert_eq(webhook("[1,2]", now, WEBHOOK_SECRET, &j), 400);
    json_decref(j);
}

Test(payments, a_stripe_checkout_cut_short_is_asked_again_at_the_next_start)
{
    product("PAY-7", 10);
    cr_assert_eq(ldr_test_server_stop(&srv), 0);
    static const char *const ids[] = {"ord-str0000000000001", "ord-str0000000000002"};
    static const char *const pms[] = {"pm_card_visa", "pm_card_chargeDeclined"};
    for (int i = 0; i < 2; i++)
        cr_assert_eq(ldr_test_place_in_log(data_path, ids[i], "usr-pay-7", "PAY-7", 2, 40000,
                                           "stripe", pms[i]),
                     0);
    start_server();
    cr_assert_str_eq(order_status(ids[0]), "paid");
    cr_assert_str_eq(order_status(ids[1]), "cancelled");
    cr_assert_eq(reserved_of("PAY-7"), 2);
    json_t *calls = fake_calls();
    cr_assert_eq(json_array_size(calls), 2);
    cr_assert_str_eq(
        json_string_value(json_object_get(json_array_get(calls, 0), "idempotency_key")),
        "larder-auth-ord-str0000000000001");
    json_decref(calls);
}

Test(payments, an_answer_is_recorded_when_the_client_has_gone)
{
    product("PAY-8", 10);
    char *t = ldr_test_token("customer", "usr-pay-8");
    json_decref(expect("PUT", "/v1/cart/items/PAY-8", "{\"quantity\":2}", t, NULL, 200));
    /* the client gives up after 0.1 s (HTTP/2: h2o sees it go at once, where an HTTP/1.1
     * server learns it only when it answers); Stripe answers after 0.5 s */
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "curl -s -o /dev/null --http2-prior-knowledge -m 0.1 -H 'Authorization: Bearer %s' -H "
             "'Idempotency-Key: "
             "pay-8' -d '{\"fulfillment\":{\"type\":\"pickup\"},\"payment\":{\"provider\":"
             "\"stripe\",\"token\":\"pm_pause\"}}' %s/v1/checkout",
             t, srv.base);
    cr_assert_neq(system(cmd), 0, "the client did not give up");
    const char *status = NULL;
    json_t *list = NULL;
    for (int i = 0; i < 150; i++) { /* up to 15 s: the machine may be busy */
        usleep(100 * 1000);
        json_decref(list);
        list = expect("GET", "/v1/orders", NULL, t, NULL, 200);
        json_t *o = json_array_get(json_object_get(list, "orders"), 0);
        status = json_string_value(json_object_get(o, "status"));
        if (status != NULL && strcmp(status, "pending_payment") != 0)
            break;
    }
    cr_assert(status != NULL && strcmp(status, "paid") == 0, "the order is %s",
              status ? status : "missing");
    json_decref(list);
    cr_assert_eq(reserved_of("PAY-8"), 2);
    free(t);
}

Test(payments, picking_captures_the_payment_and_a_refused_capture_changes_nothing)
{
    product("PAY-9", 10);
    char *svc = ldr_test_token("service", "wms");
    json_t *o = checkout("usr-pay-9", "PAY-9", 2, "pm_card_visa", "pay-9a", 201);
    char id[64], intent[64], status[160];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(o, "order_id")));
    snprintf(intent, sizeof(intent), "%s",
             json_string_value(json_object_get(json_object_get(o, "payment"), "reference")));
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "payment"), "status")),
                     "authorized");
    json_decref(o);
    snprintf(status, sizeof(status), "/v1/orders/%s/status", id);
    o = expect("POST", status, "{\"status\":\"picking\"}", svc, NULL, 200);
    cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "picking");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "payment"), "status")),
                     "captured");
    json_decref(o);
    json_t *calls = fake_calls();
    json_t *last = json_array_get(calls, json_array_size(calls) - 1);
    char path[128], key[96];
    snprintf(path, sizeof(path), "/v1/payment_intents/%s/capture", intent);
    snprintf(key, sizeof(key), "larder-capture-%s", id);
    cr_assert_str_eq(json_string_value(json_object_get(last, "path")), path);
    cr_assert_str_eq(json_string_value(json_object_get(last, "idempotency_key")), key);
    json_decref(calls);
    /* a captured payment is refunded, not cancelled */
    snprintf(path, sizeof(path), "/v1/orders/%s/refund", id);
    json_decref(expect("POST", path, NULL, admin, "rf-9", 200));
    /* the provider refuses to capture (the authorisation was cancelled at Stripe): the order
     * stays paid, its goods held */
    o = checkout("usr-pay-9b", "PAY-9", 3, "pm_card_visa", "pay-9b", 201);
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(o, "order_id")));
    snprintf(intent, sizeof(intent), "%s",
             json_string_value(json_object_get(json_object_get(o, "payment"), "reference")));
    json_decref(o);
    char url[256];
    snprintf(url, sizeof(url), "%s/v1/payment_intents/%s/cancel", fake_url, intent);
    ldr_test_resp_t r;
    const char *auth[] = {"Authorization", "Bearer sk_test_larder", NULL};
    cr_assert_eq(ldr_test_http_headers(LDR_TEST_HTTP1, "POST", url, "", auth, &r), 0);
    cr_assert_eq(r.status, 200, "%s", r.body);
    ldr_test_resp_free(&r);
    snprintf(status, sizeof(status), "/v1/orders/%s/status", id);
    o = expect("POST", status, "{\"status\":\"picking\"}", svc, NULL, 502);
    cr_assert_str_eq(code_of(o), "payment_provider_error");
    json_decref(o);
    cr_assert_str_eq(order_status(id), "paid");
    cr_assert_eq(reserved_of("PAY-9"), 3);
    free(svc);
}

/* ---- MoMo ---- */

static json_t *momo_checkout(const char *user, const char *sku, int q, const char *key)
{
    char *t = ldr_test_token("customer", user);
    char path[128], body[256];
    snprintf(path, sizeof(path), "/v1/cart/items/%s", sku);
    snprintf(body, sizeof(body), "{\"quantity\":%d}", q);
    json_decref(expect("PUT", path, body, t, NULL, 200));
    json_t *j = expect("POST", "/v1/checkout",
                       "{\"fulfillment\":{\"type\":\"pickup\"},\"payment\":{\"provider\":"
                       "\"momo\",\"token\":\"wallet\"}}",
                       t, key, 201);
    free(t);
    return j;
}

/* The emulator's shopper pays (or not) and MoMo sends its IPN to this server. */
static void momo_pay(const char *order, const char *result, bool tamper)
{
    char url[256], body[512];
    snprintf(url, sizeof(url), "%s/_pay", momo_url);
    snprintf(body, sizeof(body),
             "{\"orderId\":\"%s\",\"result\":\"%s\",\"tamper\":%s,\"ipn_url\":\"%s/v1/"
             "webhooks/momo\"}",
             order, result, tamper ? "true" : "false", srv.base);
    long st;
    json_decref(call("POST", url, body, NULL, NULL, &st));
    cr_assert_eq(st, 200);
}

/* The HTTP status this server gave the emulator's n-th IPN (waits for it, up to 3 s). */
static long momo_ipn_status(size_t n)
{
    for (int i = 0; i < 60; i++) {
        char url[256];
        snprintf(url, sizeof(url), "%s/_calls", momo_url);
        long st;
        json_t *j = call("GET", url, NULL, NULL, NULL, &st);
        json_t *calls = json_object_get(j, "calls");
        size_t seen = 0;
        long status = -1;
        for (size_t k = 0; k < json_array_size(calls); k++) {
            json_t *c = json_array_get(calls, k);
            if (strcmp(json_string_value(json_object_get(c, "method")), "IPN") == 0 && seen++ == n)
                status = (long)json_integer_value(json_object_get(c, "status"));
        }
        json_decref(j);
        if (status >= 0)
            return status;
        usleep(50 * 1000);
    }
    cr_assert_fail("IPN %zu never answered", n);
    return -1;
}

Test(payments, momo_answers_with_a_pay_url_and_its_ipn_settles_the_order)
{
    product("MOMO-1", 10);
    json_t *o = momo_checkout("usr-momo-1", "MOMO-1", 3, "momo-1");
    char id[64];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(o, "order_id")));
    cr_assert_str_eq(json_string_value(json_object_get(o, "status")), "pending_payment");
    json_t *pay = json_object_get(o, "payment");
    cr_assert_str_eq(json_string_value(json_object_get(pay, "provider")), "momo");
    const char *url = json_string_value(json_object_get(pay, "pay_url"));
    cr_assert(url != NULL && strstr(url, "/pay/") != NULL, "no payUrl for the shopper");
    json_decref(o);
    cr_assert_eq(reserved_of("MOMO-1"), 3, "the order's goods are held while it waits");
    /* a forged IPN first: refused, nothing changes */
    momo_pay(id, "success", true);
    cr_assert_eq(momo_ipn_status(0), 400);
    cr_assert_str_eq(order_status(id), "pending_payment");
    /* the shopper pays: MoMo's IPN makes the order paid, with MoMo's transaction id */
    momo_pay(id, "success", false);
    cr_assert_eq(momo_ipn_status(1), 204);
    cr_assert_str_eq(order_status(id), "paid");
    char path[128];
    snprintf(path, sizeof(path), "/v1/orders/%s", id);
    o = expect("GET", path, NULL, admin, NULL, 200);
    const char *ref =
        json_string_value(json_object_get(json_object_get(o, "payment"), "reference"));
    cr_assert(ref != NULL && strncmp(ref, "4000", 4) == 0, "no transId kept");
    json_decref(o);
    /* redelivered: answered the same, nothing changes */
    momo_pay(id, "success", false);
    cr_assert_eq(momo_ipn_status(2), 204);
    cr_assert_str_eq(order_status(id), "paid");
    /* refunded through MoMo with that transId */
    snprintf(path, sizeof(path), "/v1/orders/%s/refund", id);
    json_decref(expect("POST", path, NULL, admin, "mrf-1", 200));
    cr_assert_str_eq(order_status(id), "refunded");
    cr_assert_eq(reserved_of("MOMO-1"), 0);
}

Test(payments, a_momo_payment_refused_in_the_app_gives_everything_back)
{
    product("MOMO-2", 10);
    json_t *o = momo_checkout("usr-momo-2", "MOMO-2", 4, "momo-2");
    char id[64];
    snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(o, "order_id")));
    json_decref(o);
    momo_pay(id, "fail", false);
    cr_assert_eq(momo_ipn_status(0), 204);
    cr_assert_str_eq(order_status(id), "cancelled");
    cr_assert_eq(reserved_of("MOMO-2"), 0);
}
