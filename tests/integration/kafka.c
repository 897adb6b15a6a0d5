/*
 * The Kafka relay against librdkafka's mock cluster (a real Kafka protocol listener on loopback,
 * owned by this test process), read back with kcat, a separate client: a checkout's events arrive
 * under the order's key and in order, a broker outage during 1,000 orders loses none of their
 * events, and a relay killed mid-stream misses no eventId when it starts again.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../helpers.h"

static char *dir, *admin;
static char cat_path[600], bootstrap[256];
static ldr_test_server_t srv;
static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mock;

static void start_server(void)
{
    const char *args[] = {"--catalog", cat_path, "--data-dir", dir, NULL};
    cr_assert_eq(ldr_test_server_start(&srv, args, 1), 0, "server did not start");
}

static void setup(void)
{
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
    mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    cr_assert_not_null(mock_rk, "%s", err);
    mock = rd_kafka_mock_cluster_new(mock_rk, 1);
    cr_assert_not_null(mock);
    const char *topics[] = {"order_events", "payment_events", "delivery_events",
                            "inventory_events"};
    for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++)
        cr_assert_eq(rd_kafka_mock_topic_create(mock, topics[i], 2, 1), 0);
    snprintf(bootstrap, sizeof(bootstrap), "%s", rd_kafka_mock_cluster_bootstraps(mock));
    setenv("LARDER_KAFKA_BROKERS", bootstrap, 1);
    dir = ldr_test_tmpdir();
    const char *gen[] = {"--skus", "30", "--stores", "1", "--seed", "7", NULL};
    cr_assert_eq(ldr_test_server_start_generated(&srv, dir, gen), 0, "server did not start");
    snprintf(cat_path, sizeof(cat_path), "%s/gen/catalog.jsonl", dir);
    admin = ldr_test_token("admin", "ops");
}

static void teardown(void)
{
    if (srv.pid > 0)
        ldr_test_server_stop(&srv);
    unsetenv("LARDER_KAFKA_BROKERS");
    rd_kafka_mock_cluster_destroy(mock);
    rd_kafka_destroy(mock_rk);
    ldr_test_rmtree(dir);
    free(dir), free(admin);
}

TestSuite(kafka, .init = setup, .fini = teardown, .timeout = 120);

/* ---- reading Kafka with kcat ---- */

typedef struct msg {
    char key[64];
    int partition;
    long long offset;
    json_t *value;
} msg_t;

typedef struct topic_read {
    msg_t *m;
    size_t n;
} topic_read_t;

static void topic_read_free(topic_read_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        json_decref(t->m[i].value);
    free(t->m);
    t->m = NULL, t->n = 0;
}

/* Every message of `topic` from the beginning, through kcat (one line each: partition, offset,
 * key, value). */
static topic_read_t kcat(const char *topic)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "kcat -b %s -C -t %s -o beginning -e -q -f '%%p\\t%%o\\t%%k\\t%%s\\n' 2>/dev/null",
             bootstrap, topic);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    topic_read_t t = {NULL, 0};
    size_t cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    while ((len = getline(&line, &lcap, p)) > 0) {
        char *f[4], *s = line;
        for (int i = 0; i < 3; i++) {
            f[i] = s;
            s = strchr(s, '\t');
            cr_assert_not_null(s, "kcat line: %s", line);
            *s++ = '\0';
        }
        f[3] = s;
        if (t.n == cap)
            t.m = realloc(t.m, (cap = cap ? 2 * cap : 256) * sizeof(*t.m));
        msg_t *m = &t.m[t.n++];
        m->partition = atoi(f[0]);
        m->offset = atoll(f[1]);
        snprintf(m->key, sizeof(m->key), "%s", f[2]);
        json_error_t je;
        m->value = json_loads(f[3], 0, &je);
        cr_assert_not_null(m->value, "not JSON (%s): %s", je.text, f[3]);
    }
    free(line);
    cr_assert_eq(pclose(p), 0, "kcat failed on %s", topic);
    return t;
}

static const char *str(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v != NULL ? v : "";
}

static long metric(const char *name)
{
    char url[256];
    ldr_test_resp_t r;
    snprintf(url, sizeof(url), "%s/metrics", srv.base);
    cr_assert_eq(ldr_test_http(LDR_TEST_HTTP1, "GET", url, NULL, &r), 0);
    char want[128];
    snprintf(want, sizeof(want), "\n%s ", name);
    const char *at = strstr(r.body, want);
    cr_assert_not_null(at, "%s not in /metrics", name);
    long v = atol(at + strlen(want));
    ldr_test_resp_free(&r);
    return v;
}

/* Waits (up to 30 s) until the relay has published everything durable. */
static void wait_relayed(void)
{
    for (int i = 0; i < 3000; i++) {
        if (metric("larder_outbox_lag_records") == 0)
            return;
        usleep(10000);
    }
    cr_assert_fail("the relay did not catch up: lag %ld", metric("larder_outbox_lag_records"));
}

/* ---- HTTP ---- */

static void add_product(const char *sku, int units)
{
    cr_assert_eq(ldr_test_product(srv.base, admin, sku, "Relay plum", 12000, units), 0);
}

/* One unit of sku in the cart of `token`'s customer, checked out (pickup, fake_ok): the order id
 * goes to id. */
static void buy(const char *token, const char *sku, int n, char *id, size_t id_size)
{
    char url[512], key[64];
    ldr_test_resp_t r;
    snprintf(url, sizeof(url), "%s/v1/cart/items/%s", srv.base, sku);
    cr_assert_eq(ldr_test_http_auth(LDR_TEST_HTTP1, "PUT", url, "{\"quantity\":1}", token, &r), 0);
    cr_assert_eq(r.status, 200, "cart: %ld %s", r.status, r.body);
    ldr_test_resp_free(&r);
    snprintf(url, sizeof(url), "%s/v1/checkout", srv.base);
    snprintf(key, sizeof(key), "buy-%d", n);
    cr_assert_eq(ldr_test_http_idem(LDR_TEST_HTTP1, "POST", url,
                                    "{\"fulfillment\":{\"type\":\"pickup\"},\"payment\":{"
                                    "\"provider\":\"fake\",\"token\":\"fake_ok\"}}",
                                    token, key, &r),
                 0);
    cr_assert_eq(r.status, 201, "checkout: %ld %s", r.status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    snprintf(id, id_size, "%s", str(j, "order_id"));
    json_decref(j);
    ldr_test_resp_free(&r);
}

/* "<lsn>-<n>" */
static void event_id(json_t *v, unsigned long long *lsn, int *n)
{
    cr_assert_eq(sscanf(str(v, "eventId"), "%llu-%d", lsn, n), 2, "eventId %s", str(v, "eventId"));
}

/* The one message of `event` about order `id` in t (fails on none or more than one). */
static msg_t *find(topic_read_t *t, const char *event, const char *id)
{
    msg_t *found = NULL;
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(str(t->m[i].value, "event"), event) == 0 &&
            strcmp(str(t->m[i].value, "orderId"), id) == 0) {
            cr_assert_null(found, "%s of %s twice", event, id);
            found = &t->m[i];
        }
    cr_assert_not_null(found, "no %s of %s", event, id);
    return found;
}

Test(kafka, a_checkout_puts_its_events_under_the_order_key_in_order)
{
    add_product("KAF-PLUM", 10);
    char *customer = ldr_test_token("customer", "usr-kafka-1"), id[64];
    buy(customer, "KAF-PLUM", 1, id, sizeof(id));
    wait_relayed();

    topic_read_t orders = kcat("order_events"), payments = kcat("payment_events"),
                 stock = kcat("inventory_events");
    msg_t *placed = find(&orders, "OrderPlaced", id), *paid = find(&orders, "OrderPaid", id);
    msg_t *auth = find(&payments, "PaymentAuthorized", id);
    msg_t *held = find(&stock, "StockReserved", id);
    cr_assert_str_eq(placed->key, id);
    cr_assert_str_eq(paid->key, id);
    cr_assert_str_eq(auth->key, id);
    cr_assert_str_eq(held->key, id, "a checkout's stock events share the order's key");
    /* one key, one partition, in the order of the log */
    cr_assert_eq(placed->partition, paid->partition);
    cr_assert_lt(placed->offset, paid->offset);
    unsigned long long l_placed, l_held, l_auth;
    int n_placed, n_held, n_auth;
    event_id(placed->value, &l_placed, &n_placed);
    event_id(held->value, &l_held, &n_held);
    event_id(auth->value, &l_auth, &n_auth);
    cr_assert(l_placed == l_held && n_placed < n_held, "OrderPlaced, then StockReserved");
    cr_assert_gt(l_auth, l_placed, "PaymentAuthorized after both");
    /* the seed's event shape */
    cr_assert_str_eq(str(placed->value, "userId"), "usr-kafka-1");
    json_t *items = json_object_get(placed->value, "items");
    cr_assert_eq(json_array_size(items), 1);
    cr_assert_str_eq(str(json_array_get(items, 0), "sku"), "KAF-PLUM");
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(items, 0), "quantity")), 1);
    cr_assert(json_is_boolean(json_object_get(json_array_get(items, 0), "substitutionAllowed")));
    cr_assert(strlen(str(placed->value, "timestamp")) >= 20);
    /* stock events about one SKU are keyed by it */
    bool received = false;
    for (size_t i = 0; i < stock.n; i++)
        if (strcmp(str(stock.m[i].value, "event"), "StockReceived") == 0 &&
            strcmp(str(stock.m[i].value, "sku"), "KAF-PLUM") == 0)
            received = strcmp(stock.m[i].key, "KAF-PLUM") == 0;
    cr_assert(received, "StockReceived of KAF-PLUM keyed by its SKU");
    topic_read_free(&orders), topic_read_free(&payments), topic_read_free(&stock);
    free(customer);
}

/* ---- a broker outage during 1,000 orders ---- */

#define ORDERS 1000
#define BUYERS 8

static char order_ids[ORDERS][64];

typedef struct buyer {
    int first, count;
} buyer_t;

static void *buyer_main(void *arg)
{
    buyer_t *b = arg;
    char user[32];
    snprintf(user, sizeof(user), "usr-outage-%d", b->first);
    char *token = ldr_test_token("customer", user);
    for (int i = b->first; i < b->first + b->count; i++)
        buy(token, "KAF-FIG", i, order_ids[i], sizeof(order_ids[i]));
    free(token);
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

Test(kafka, a_broker_outage_during_1000_orders_loses_no_event)
{
    add_product("KAF-FIG", ORDERS);
    wait_relayed();
    cr_assert_eq(rd_kafka_mock_broker_set_down(mock, 1), 0);
    pthread_t t[BUYERS];
    buyer_t b[BUYERS];
    for (int i = 0; i < BUYERS; i++) {
        b[i] = (buyer_t){i * (ORDERS / BUYERS), ORDERS / BUYERS};
        cr_assert_eq(pthread_create(&t[i], NULL, buyer_main, &b[i]), 0);
    }
    for (int i = 0; i < BUYERS; i++)
        pthread_join(t[i], NULL);
    /* every order is durable and answered; none of their events can be in Kafka */
    cr_assert_geq(metric("larder_outbox_lag_records"), 2 * ORDERS, "lag while the broker is down");
    cr_assert_eq(metric("larder_relay_brokers_down"), 1);
    cr_assert_eq(rd_kafka_mock_broker_set_up(mock, 1), 0);
    wait_relayed();
    cr_assert_eq(metric("larder_relay_brokers_down"), 0);

    topic_read_t orders = kcat("order_events");
    const char **placed = calloc(orders.n, sizeof(*placed));
    size_t n = 0;
    for (size_t i = 0; i < orders.n; i++)
        if (strcmp(str(orders.m[i].value, "event"), "OrderPlaced") == 0)
            placed[n++] = str(orders.m[i].value, "orderId");
    qsort(placed, n, sizeof(*placed), cmp_str);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        distinct += i == 0 || strcmp(placed[i], placed[i - 1]) != 0;
    cr_assert_eq(distinct, ORDERS, "%zu orders placed in Kafka, %d made", distinct, ORDERS);
    for (int i = 0; i < ORDERS; i++) {
        const char *key = order_ids[i];
        cr_assert_not_null(bsearch(&key, placed, n, sizeof(*placed), cmp_str),
                           "OrderPlaced of %s is missing", key);
    }
    free(placed);
    topic_read_free(&orders);
}

/* ---- a relay killed mid-stream ---- */

static int cmp_u64(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y;
}

static atomic_bool writing;
static int acknowledged;

/* Adjusts KAF-KIWI one by one until told to stop (or the server goes). */
static void *writer_main(void *arg)
{
    char *svc = ldr_test_token("service", "wms"), url[512];
    snprintf(url, sizeof(url), "%s/v1/stock/KAF-KIWI/adjust", srv.base);
    while (atomic_load(&writing)) {
        ldr_test_resp_t r;
        if (ldr_test_http_auth(LDR_TEST_HTTP1, "POST", url, "{\"delta\":1,\"reason\":\"r\"}", svc,
                               &r) != 0)
            break;
        acknowledged += r.status == 200;
        ldr_test_resp_free(&r);
    }
    free(svc);
    return NULL;
}

/* The LSNs of KAF-KIWI's StockAdjusted records, from `larder wal dump` of the stopped server's
 * log (sorted; *n of them). */
static unsigned long long *logged_adjusts(size_t *n)
{
    char wal[700];
    snprintf(wal, sizeof(wal), "%s/wal", dir);
    char *out = NULL, *err = NULL;
    cr_assert_eq(ldr_test_run((const char *[]){"wal", "dump", wal, NULL}, &out, &err), 0, "%s",
                 err);
    size_t cap = 1024;
    unsigned long long *lsns = malloc(cap * sizeof(*lsns));
    *n = 0;
    for (char *line = strtok(out, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        json_t *rec = json_loads(line, 0, NULL);
        cr_assert_not_null(rec);
        json_t *ev = json_object_get(rec, "events"), *e;
        size_t k;
        json_array_foreach(ev, k, e)
        {
            json_t *v = json_object_get(e, "value");
            if (strcmp(str(v, "event"), "StockAdjusted") == 0 &&
                strcmp(str(v, "sku"), "KAF-KIWI") == 0) {
                if (*n == cap)
                    lsns = realloc(lsns, (cap *= 2) * sizeof(*lsns));
                lsns[(*n)++] = (unsigned long long)json_integer_value(json_object_get(rec, "lsn"));
            }
        }
        json_decref(rec);
    }
    free(out), free(err);
    qsort(lsns, *n, sizeof(*lsns), cmp_u64);
    return lsns;
}

Test(kafka, a_relay_killed_mid_stream_misses_no_event_id)
{
    add_product("KAF-KIWI", 5);
    wait_relayed();
    /* the relay follows a stream of writes and is killed in the middle of it */
    atomic_store(&writing, true);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, writer_main, NULL), 0);
    srand((unsigned)time(NULL));
    usleep(300000 + (useconds_t)(rand() % 400000));
    long lag = metric("larder_outbox_lag_records");
    long delivered = metric("larder_relay_messages_delivered_total");
    cr_assert_eq(kill(srv.pid, SIGKILL), 0);
    atomic_store(&writing, false);
    pthread_join(t, NULL);
    waitpid(srv.pid, NULL, 0);
    srv.pid = 0;
    cr_assert_gt(acknowledged, 50, "the writes went on before the kill: %d", acknowledged);
    cr_assert_gt(delivered, 1, "the relay was publishing when it was killed");
    start_server();
    wait_relayed();
    cr_assert_eq(ldr_test_server_stop(&srv), 0);

    /* every adjust the log holds (the acknowledged ones and any the kill cut short after its
     * record was durable) is in Kafka, some perhaps twice */
    size_t want_n;
    unsigned long long *want = logged_adjusts(&want_n);
    cr_assert_geq(want_n, (size_t)acknowledged);
    topic_read_t stock = kcat("inventory_events");
    unsigned long long *got = calloc(stock.n + 1, sizeof(*got));
    size_t n = 0;
    for (size_t i = 0; i < stock.n; i++) {
        json_t *v = stock.m[i].value;
        int k;
        if (strcmp(str(v, "event"), "StockAdjusted") == 0 && strcmp(str(v, "sku"), "KAF-KIWI") == 0)
            event_id(v, &got[n++], &k);
    }
    qsort(got, n, sizeof(*got), cmp_u64);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || got[i] != got[i - 1])
            got[distinct++] = got[i];
    cr_assert_eq(distinct, want_n, "%zu distinct eventIds in Kafka, %zu records in the log",
                 distinct, want_n);
    for (size_t i = 0; i < want_n; i++)
        cr_assert_eq(got[i], want[i], "eventId %llu-0 is missing", want[i]);
    cr_log_info("relay killed with %ld records to go after %ld deliveries: %d writes "
                "acknowledged, %zu events came twice",
                lag, delivered, acknowledged, n - distinct);
    free(got), free(want);
    topic_read_free(&stock);
}

/* ---- events of other services ---- */

/* Publishes one message to topic with kcat, as another service would. */
static void publish(const char *topic, const char *key, const char *value)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "kcat -b %s -P -t %s -k '%s' 2>/dev/null", bootstrap, topic, key);
    FILE *p = popen(cmd, "w");
    cr_assert_not_null(p);
    fprintf(p, "%s\n", value);
    cr_assert_eq(pclose(p), 0, "kcat -P failed");
}

static json_t *get_order(const char *id)
{
    char url[512];
    ldr_test_resp_t r;
    snprintf(url, sizeof(url), "%s/v1/orders/%s", srv.base, id);
    cr_assert_eq(ldr_test_http_auth(LDR_TEST_HTTP1, "GET", url, NULL, admin, &r), 0);
    cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    ldr_test_resp_free(&r);
    return j;
}

static void wait_status(const char *id, const char *want)
{
    for (int i = 0; i < 1000; i++) {
        json_t *o = get_order(id);
        bool there = strcmp(str(o, "status"), want) == 0;
        json_decref(o);
        if (there)
            return;
        usleep(10000);
    }
    cr_assert_fail("order %s never became %s", id, want);
}

/* Waits (up to 10 s) until the consumer counted at least `at_least` messages as `result` (it
 * counts one once its command is durable, which may be after the order shows the change). */
static void wait_consumed(const char *result, long at_least)
{
    char name[96];
    snprintf(name, sizeof(name), "larder_consumer_messages_total{result=\"%s\"}", result);
    for (int i = 0; i < 1000; i++) {
        if (metric(name) >= at_least)
            return;
        usleep(10000);
    }
    cr_assert_fail("the consumer counted only %ld messages %s", metric(name), result);
}

Test(kafka, other_services_events_move_an_order_once)
{
    add_product("KAF-PEAR", 5);
    char *customer = ldr_test_token("customer", "usr-kafka-2"), id[64], url[512], msg[512];
    buy(customer, "KAF-PEAR", 1, id, sizeof(id));
    snprintf(url, sizeof(url), "%s/v1/orders/%s/status", srv.base, id);
    const char *steps[] = {"{\"status\":\"picking\"}", "{\"status\":\"ready_for_pickup\"}"};
    for (int i = 0; i < 2; i++) {
        ldr_test_resp_t r;
        cr_assert_eq(ldr_test_http_auth(LDR_TEST_HTTP1, "POST", url, steps[i], admin, &r), 0);
        cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
        ldr_test_resp_free(&r);
    }
    wait_relayed();
    snprintf(msg, sizeof(msg), "{\"event\":\"Delivered\",\"eventId\":\"dlv-1\",\"orderId\":\"%s\"}",
             id);
    publish("delivery_events", id, msg);
    wait_status(id, "delivered");
    wait_consumed("applied", 1);
    cr_assert_eq(metric("larder_consumer_messages_total{result=\"applied\"}"), 1);

    /* the same event again, one the order is past, one for no order, and no JSON: nothing moves */
    long skipped = metric("larder_consumer_messages_total{result=\"skipped\"}");
    publish("delivery_events", id, msg);
    snprintf(msg, sizeof(msg),
             "{\"event\":\"PaymentFailed\",\"eventId\":\"pay-9\",\"orderId\":\"%s\"}", id);
    publish("payment_events", id, msg);
    publish("payment_events", "ord-none",
            "{\"event\":\"PaymentCaptured\",\"eventId\":\"pay-10\",\"orderId\":\"ord-none\"}");
    publish("payment_events", "x", "not json");
    wait_consumed("skipped", skipped + 4);
    json_t *o = get_order(id);
    cr_assert_str_eq(str(o, "status"), "delivered");
    size_t delivered = 0, k;
    json_t *step;
    json_array_foreach(json_object_get(o, "timeline"), k, step) delivered +=
        strcmp(str(step, "status"), "delivered") == 0;
    cr_assert_eq(delivered, 1, "delivered once");
    json_decref(o);
    cr_assert_eq(metric("larder_consumer_messages_total{result=\"applied\"}"), 1);

    /* a refund the payment service made */
    snprintf(msg, sizeof(msg),
             "{\"event\":\"PaymentRefunded\",\"eventId\":\"pay-11\",\"orderId\":\"%s\"}", id);
    publish("payment_events", id, msg);
    wait_status(id, "refunded");
    free(customer);
}
