/*
 * larder-crash: SIGKILL a server in the middle of concurrent stock and product writes, restart it
 * on the same data dir, and check that recovery kept every acknowledged write and applied none
 * twice.
 *
 * How a round goes.  K writer threads each own one SKU (so each SKU's figures have one writer to
 * account for) and alternate two writes of +1 over a keep-alive HTTP/1.1 connection:
 *
 *     request n even   POST /v1/stock/{sku}/adjust   {"delta":1,"reason":"crash-test"}
 *     request n odd    POST /v1/stock/{sku}/receive  {"lot":"c<round>-<writer>-<n>","quantity":1}
 *
 * A request counts as sent before it goes out and as acknowledged when it answers 200, which the
 * server does only after the log record is on disk.  After a random 30-400 ms the server is
 * SIGKILLed; requests in flight fail at the transport and are sent but not acknowledged: the log
 * may or may not hold them.  After the restart, for each SKU:
 *
 *     start + acked <= on_hand <= start + sent
 *     reserved >= 0, available == on_hand - reserved >= 0, on_hand == sum of lots[].quantity
 *     every lot from before the round is still there (only the "adjust" lot, where positive
 *     adjustments land, may have grown, by between the acknowledged and the sent adjusts);
 *     every new lot is one of this round's receives, sent, with quantity 1; every acknowledged
 *     receive's lot is there.
 *
 * Next to them a product writer, over its own keep-alive connection and a service token, changes
 * the catalog: it PUTs new products CR-<round>-<n> (n = 0, 1, ...; name "Crash guava <round> <n>",
 * a price made from round and n, so a product read back can only match its own PUT), and after
 * every third acknowledged PUT it DELETEs the product of the first of those three.  A PUT counts
 * as acknowledged when it answers 201 (every SKU is new: 200, "replaced", would be a bug), a
 * DELETE when it answers 204; both answer only once the change is in the log and searchable.
 * After the restart, GET /v1/products/CR-<round>-<n> for every product whose PUT was sent:
 *
 *     an acknowledged PUT whose product no DELETE was sent for answers 200, with its name and
 *     price; an acknowledged DELETE's product answers 404; a product answering 200 matches its
 *     PUT (whether acknowledged or not); a few SKUs past the last PUT sent answer 404.
 *
 * Products whose PUT or DELETE was sent but not acknowledged may be either way.  Every product seen
 * after a restart is remembered as there (200) or, when its PUT was acknowledged, as deleted
 * (404), and each round ends by checking up to 20 of each from earlier rounds, so products must
 * outlive later snapshots and recoveries, and deletions must not come back.
 *
 * Any HTTP answer other than the ones above is a failure; transport errors are expected only once
 * the kill is under way.  Every few rounds `larder wal check` reads the log while the server is
 * down (the server locks the log dir); a torn tail is reported by it and is not an error.
 *
 * The SKUs are the first K of the generated catalog whose lots do not expire within a day: the
 * engine ticks every second and an expiring lot would lower on_hand under the test's feet.
 *
 * The server snapshots every SNAPSHOT_RECORDS log records (LARDER_SNAPSHOT_RECORDS, unless the
 * environment sets it), so kills land before, during and after snapshots, and restarts recover
 * from a snapshot plus the log after it.
 *
 * Usage: larder-crash [--rounds N] [--seed S] [--writers K]; the seed is always printed so that a
 * failing run's kill delays can be replayed.  Exit 0 when every round holds, 1 on a violation
 * (the temp dir is kept and named), 2 on bad usage.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../helpers.h"

#define WRITERS_MAX      32
#define CHECK_EVERY      5     /* rounds between `larder wal check` runs */
#define SNAPSHOT_RECORDS "400" /* a few snapshots per round */
#define KILL_MIN_MS      30
#define KILL_MAX_MS      400
#define REQ_TIMEOUT_S    2L
#define RECHECKS         20 /* products of earlier rounds rechecked each round, of each kind */
#define UNSENT_PROBES    3  /* SKUs past the last PUT sent that must not exist */

static const char usage[] =
    "usage: larder-crash [--rounds N] [--seed S] [--writers K]\n"
    "\n"
    "Starts `larder serve` ($LARDER_BIN, else build/larder) on a generated catalog, lets K writer\n"
    "threads send stock writes and one more thread PUT and DELETE products, SIGKILLs the server\n"
    "at a random moment, restarts it and checks that every acknowledged write survived and none\n"
    "was applied twice.\n"
    "\n"
    "  --rounds N   kill/restart rounds (default 20)\n"
    "  --seed S     seed of the kill delays and of the products rechecked (default: time-based;\n"
    "               always printed)\n"
    "  --writers K  concurrent writers, one SKU each (1..32, default 4)\n"
    "\n"
    "exit status: 0 every round held, 1 a violation or a failure, 2 bad usage.\n";

/* What request n of a round became. */
enum { REQ_SENT = 1, REQ_ACKED = 2 };

typedef struct writer {
    pthread_t thread;
    int id, round;
    const char *sku, *base, *token;
    /* counts of this round; written by the thread, read by main after the join */
    uint64_t sent, acked, sent_adjust, acked_adjust;
    uint64_t early_transport_errors; /* failures before the kill began */
    long connects;                   /* connections opened (keep-alive reuses them) */
    unsigned char *state;            /* state[n]: REQ_SENT or REQ_ACKED */
    size_t cap;
    char error[600]; /* the first non-200 answer */
    /* totals over the run */
    uint64_t total_sent, total_acked, total_unacked_applied;
} writer_t;

static atomic_int stop_flag, kill_begun;
static uint64_t seed;
static char *dir; /* the run's temp dir */
/* each path is built from the one before, so each buffer is larger */
static char gen_dir[512], data_dir[512], cat_path[600], stock_path[600], wal_dir[600],
    log_path[600];
static ldr_test_server_t srv;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: the kill delays are a function of the seed alone */
static uint64_t next_random(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Appends the server's stderr to DIR/server.log and removes it (a killed server cannot). */
static void save_server_log(const char *what)
{
    char *text = ldr_test_slurp(srv.stderr_path, NULL);
    FILE *f = fopen(log_path, "a");
    if (f != NULL) {
        fprintf(f, "== %s\n%s", what, text ? text : "(no log)\n");
        fclose(f);
    }
    free(text);
    unlink(srv.stderr_path);
}

static void stop_server(void)
{
    if (srv.pid > 0) {
        kill(srv.pid, SIGKILL);
        waitpid(srv.pid, NULL, 0);
        srv.pid = 0;
        save_server_log("stopped after a failure");
    }
}

/* Reports a violation with the seed and the kept temp dir, and exits 1. */
__attribute__((format(printf, 2, 3), noreturn)) static void fail(int round, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "larder-crash: FAILED in round %d (seed %" PRIu64 "): ", round, seed);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    stop_server();
    fprintf(stderr, "larder-crash: kept %s (server logs in %s); replay with --seed %" PRIu64 "\n",
            dir, log_path, seed);
    exit(1);
}

static int start_server(void)
{
    const char *args[] = {"--catalog",  cat_path, "--stock", stock_path,
                          "--data-dir", data_dir, NULL};
    return ldr_test_server_start(&srv, args, 1);
}

/* ---- HTTP ---- */

typedef struct sink {
    char *p;
    size_t len;
} sink_t;

static size_t sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
    sink_t *s = arg;
    size_t n = size * nmemb;
    char *p = realloc(s->p, s->len + n + 1);
    if (p == NULL)
        return 0;
    memcpy(p + s->len, data, n);
    s->p = p;
    s->len += n;
    s->p[s->len] = '\0';
    return n;
}

static CURL *writer_handle(const char *token, struct curl_slist **hdrs, sink_t *body)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        return NULL;
    char auth[4200];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    *hdrs = curl_slist_append(NULL, auth);
    *hdrs = curl_slist_append(*hdrs, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, REQ_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 1L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    return c;
}

static void *writer_main(void *arg)
{
    writer_t *w = arg;
    struct curl_slist *hdrs = NULL;
    sink_t body = {NULL, 0};
    CURL *c = writer_handle(w->token, &hdrs, &body);
    if (c == NULL) {
        snprintf(w->error, sizeof(w->error), "curl_easy_init failed");
        return NULL;
    }
    char adjust_url[256], receive_url[256], req[256];
    snprintf(adjust_url, sizeof(adjust_url), "%s/v1/stock/%s/adjust", w->base, w->sku);
    snprintf(receive_url, sizeof(receive_url), "%s/v1/stock/%s/receive", w->base, w->sku);
    while (!atomic_load(&stop_flag)) {
        uint64_t n = w->sent;
        bool receive = n % 2 == 1;
        if (n >= w->cap) {
            size_t cap = w->cap ? w->cap * 2 : 1024;
            unsigned char *s = realloc(w->state, cap);
            if (s == NULL)
                break;
            memset(s + w->cap, 0, cap - w->cap);
            w->state = s, w->cap = cap;
        }
        if (receive)
            snprintf(req, sizeof(req), "{\"lot\":\"c%d-%d-%" PRIu64 "\",\"quantity\":1}", w->round,
                     w->id, n);
        else
            snprintf(req, sizeof(req), "{\"delta\":1,\"reason\":\"crash-test\"}");
        curl_easy_setopt(c, CURLOPT_URL, receive ? receive_url : adjust_url);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(req));
        body.len = 0;
        w->state[n] = REQ_SENT;
        w->sent++;
        w->sent_adjust += !receive;
        CURLcode rc = curl_easy_perform(c);
        long connects = 0;
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
        w->connects += connects;
        if (rc != CURLE_OK) {
            /* the server is gone: later requests could not land, and would only widen sent */
            if (atomic_load(&kill_begun))
                break;
            if (w->early_transport_errors++ == 0)
                fprintf(stderr, "larder-crash: round %d writer %d: %s before the kill\n", w->round,
                        w->id, curl_easy_strerror(rc));
            continue;
        }
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200) {
            snprintf(w->error, sizeof(w->error), "%s %s answered %ld: %s",
                     receive ? receive_url : adjust_url, req, status, body.p ? body.p : "");
            break;
        }
        w->state[n] = REQ_ACKED;
        w->acked++;
        w->acked_adjust += !receive;
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    free(body.p);
    return NULL;
}

/* ---- the product writer ---- */

typedef struct product_writer {
    pthread_t thread;
    int round;
    const char *base, *token;
    /* counts of this round; written by the thread, read by main after the join */
    uint64_t puts_sent, puts_acked, dels_sent, dels_acked;
    uint64_t early_transport_errors;
    long connects;
    /* put_state[n]: the PUT of product n; del_state[n]: the DELETE of product n, 0 when none was
     * sent (only an acknowledged PUT's product is deleted, and only once) */
    unsigned char *put_state, *del_state;
    size_t cap;
    char error[600]; /* the first unexpected answer */
    /* totals over the run */
    uint64_t total_sent, total_acked, total_unacked_applied;
} product_writer_t;

/* Product n of a round: its SKU, name and price are a function of (round, n) alone, so the main
 * thread can tell what a product must look like without the writer's help, and a product read
 * back under another one's SKU cannot match. */
static void product_sku(char *buf, size_t size, int round, uint64_t n)
{
    snprintf(buf, size, "CR-%d-%" PRIu64, round, n);
}

static void product_name(char *buf, size_t size, int round, uint64_t n)
{
    snprintf(buf, size, "Crash guava %d %" PRIu64, round, n);
}

static long long product_price(int round, uint64_t n)
{
    return 1000 + (long long)(((uint64_t)round * 7919 + n * 104729) % 1000000);
}

static void *product_writer_main(void *arg)
{
    product_writer_t *p = arg;
    struct curl_slist *hdrs = NULL;
    sink_t body = {NULL, 0};
    CURL *c = writer_handle(p->token, &hdrs, &body);
    if (c == NULL) {
        snprintf(p->error, sizeof(p->error), "curl_easy_init failed");
        return NULL;
    }
    char url[256], req[512], sku[64], name[96];
    uint64_t three[3] = {0}; /* the products of the last acknowledged PUTs, since the last DELETE */
    bool delete_due = false;
    while (!atomic_load(&stop_flag)) {
        if (p->puts_sent >= p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 1024;
            unsigned char *ps = realloc(p->put_state, cap);
            if (ps != NULL)
                p->put_state = ps;
            unsigned char *ds = realloc(p->del_state, cap);
            if (ds != NULL)
                p->del_state = ds;
            if (ps == NULL || ds == NULL)
                break;
            memset(ps + p->cap, 0, cap - p->cap);
            memset(ds + p->cap, 0, cap - p->cap);
            p->cap = cap;
        }
        bool del = delete_due;
        uint64_t n = del ? three[0] : p->puts_sent;
        delete_due = false;
        product_sku(sku, sizeof(sku), p->round, n);
        snprintf(url, sizeof(url), "%s/v1/products/%s", p->base, sku);
        curl_easy_setopt(c, CURLOPT_URL, url);
        if (del) {
            req[0] = '\0';
            p->del_state[n] = REQ_SENT;
            p->dels_sent++;
        } else {
            product_name(name, sizeof(name), p->round, n);
            snprintf(req, sizeof(req),
                     "{\"sku\":\"%s\",\"name\":{\"en\":\"%s\"},\"category\":\"produce/fruit\","
                     "\"price\":%lld}",
                     sku, name, product_price(p->round, n));
            p->put_state[n] = REQ_SENT;
            p->puts_sent++;
        }
        /* the handle posts; the method only renames the request, the body goes as set */
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, del ? "DELETE" : "PUT");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(req));
        body.len = 0;
        CURLcode rc = curl_easy_perform(c);
        long connects = 0;
        curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
        p->connects += connects;
        if (rc != CURLE_OK) {
            if (atomic_load(&kill_begun))
                break;
            if (p->early_transport_errors++ == 0)
                fprintf(stderr, "larder-crash: round %d product writer: %s before the kill\n",
                        p->round, curl_easy_strerror(rc));
            continue;
        }
        long status = 0, want = del ? 204 : 201;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status != want) {
            snprintf(p->error, sizeof(p->error), "%s %s %s answered %ld, not %ld: %s",
                     del ? "DELETE" : "PUT", url, req, status, want, body.p ? body.p : "");
            break;
        }
        if (del) {
            p->del_state[n] = REQ_ACKED;
            p->dels_acked++;
            continue;
        }
        p->put_state[n] = REQ_ACKED;
        three[p->puts_acked++ % 3] = n;
        delete_due = p->puts_acked % 3 == 0;
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    free(body.p);
    return NULL;
}

/* ---- stock views ---- */

typedef struct view {
    long long on_hand, reserved, available, version;
    json_t *lots; /* lot id -> quantity */
    long long lot_sum;
} view_t;

static long long int_field(int round, const char *sku, json_t *j, const char *name)
{
    json_t *v = json_object_get(j, name);
    if (!json_is_integer(v))
        fail(round, "GET /v1/stock/%s: no integer \"%s\"", sku, name);
    return json_integer_value(v);
}

static void get_view(int round, const char *sku, view_t *v)
{
    char url[256];
    ldr_test_resp_t r;
    snprintf(url, sizeof(url), "%s/v1/stock/%s", srv.base, sku);
    if (ldr_test_http(LDR_TEST_HTTP1, "GET", url, NULL, &r) != 0)
        fail(round, "GET /v1/stock/%s: no answer", sku);
    if (r.status != 200)
        fail(round, "GET /v1/stock/%s answered %ld: %s", sku, r.status, r.body);
    json_error_t e;
    json_t *j = json_loads(r.body, 0, &e);
    if (j == NULL)
        fail(round, "GET /v1/stock/%s: not JSON (%s): %s", sku, e.text, r.body);
    v->on_hand = int_field(round, sku, j, "on_hand");
    v->reserved = int_field(round, sku, j, "reserved");
    v->available = int_field(round, sku, j, "available");
    v->version = int_field(round, sku, j, "version");
    v->lots = json_object();
    v->lot_sum = 0;
    json_t *lots = json_object_get(j, "lots"), *l;
    size_t i;
    if (!json_is_array(lots))
        fail(round, "GET /v1/stock/%s: no lots array: %s", sku, r.body);
    json_array_foreach(lots, i, l)
    {
        const char *id = json_string_value(json_object_get(l, "lot"));
        json_t *q = json_object_get(l, "quantity");
        if (id == NULL || !json_is_integer(q))
            fail(round, "GET /v1/stock/%s: lot %zu lacks lot or quantity", sku, i);
        if (json_object_get(v->lots, id) != NULL)
            fail(round, "%s: lot \"%s\" is listed twice", sku, id);
        json_object_set_new(v->lots, id, json_integer(json_integer_value(q)));
        v->lot_sum += json_integer_value(q);
    }
    json_decref(j);
    ldr_test_resp_free(&r);
}

static long long lot_quantity(const view_t *v, const char *id)
{
    json_t *q = json_object_get(v->lots, id);
    return q ? json_integer_value(q) : 0;
}

/* The checks of the essay above for one writer's SKU after the restart. */
static void check_recovered(int round, const writer_t *w, const view_t *before, const view_t *after)
{
    const char *sku = w->sku;
    long long start = before->on_hand, sent = (long long)w->sent, acked = (long long)w->acked;
    if (after->on_hand < start + acked)
        fail(round,
             "%s lost acknowledged writes: on_hand %lld < start %lld + acked %lld (sent %lld)", sku,
             after->on_hand, start, acked, sent);
    if (after->on_hand > start + sent)
        fail(round, "%s counted writes twice: on_hand %lld > start %lld + sent %lld (acked %lld)",
             sku, after->on_hand, start, sent, acked);
    if (after->reserved < 0 || after->available != after->on_hand - after->reserved ||
        after->available < 0)
        fail(round, "%s: inconsistent view: on_hand %lld reserved %lld available %lld", sku,
             after->on_hand, after->reserved, after->available);
    if (after->lot_sum != after->on_hand)
        fail(round, "%s: lots sum to %lld but on_hand is %lld", sku, after->lot_sum,
             after->on_hand);
    const char *id;
    json_t *q;
    json_object_foreach(before->lots, id, q)
    {
        long long was = json_integer_value(q), is = lot_quantity(after, id);
        if (strcmp(id, "adjust") == 0 ? is < was : is != was)
            fail(round, "%s: lot \"%s\" held %lld before the round and %lld after", sku, id, was,
                 is);
    }
    char prefix[48];
    int plen = snprintf(prefix, sizeof(prefix), "c%d-%d-", round, w->id);
    json_object_foreach(after->lots, id, q)
    {
        if (json_object_get(before->lots, id) != NULL || strcmp(id, "adjust") == 0)
            continue;
        char *end = NULL;
        unsigned long long n = 0;
        if (strncmp(id, prefix, (size_t)plen) == 0)
            n = strtoull(id + plen, &end, 10);
        if (end == NULL || end == id + plen || *end != '\0' || n % 2 != 1 || n >= w->sent)
            fail(round, "%s: lot \"%s\" appeared but was never sent (writer %d sent %" PRIu64 ")",
                 sku, id, w->id, w->sent);
        if (json_integer_value(q) != 1)
            fail(round, "%s: lot \"%s\" holds %lld, received once with quantity 1", sku, id,
                 (long long)json_integer_value(q));
    }
    for (uint64_t n = 1; n < w->sent; n += 2) {
        char lot[96];
        snprintf(lot, sizeof(lot), "%s%" PRIu64, prefix, n);
        if (w->state[n] == REQ_ACKED && lot_quantity(after, lot) != 1)
            fail(round, "%s: acknowledged receive of lot \"%s\" is missing after the restart", sku,
                 lot);
    }
    long long grew = lot_quantity(after, "adjust") - lot_quantity(before, "adjust");
    if (grew < (long long)w->acked_adjust || grew > (long long)w->sent_adjust)
        fail(round,
             "%s: the adjust lot grew by %lld, outside acked %" PRIu64 "..sent %" PRIu64
             " adjustments",
             sku, grew, w->acked_adjust, w->sent_adjust);
}

/* ---- product checks ---- */

/* A product seen after a restart, remembered for the checks of later rounds. */
typedef struct product_ref {
    int round;
    uint64_t n;
} product_ref_t;

typedef struct product_list {
    product_ref_t *v;
    size_t len, cap;
} product_list_t;

static void list_add(int at_round, product_list_t *l, int round, uint64_t n)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        product_ref_t *v = realloc(l->v, cap * sizeof(*v));
        if (v == NULL)
            fail(at_round, "out of memory");
        l->v = v, l->cap = cap;
    }
    l->v[l->len++] = (product_ref_t){round, n};
}

/* A keep-alive handle for the checks: hundreds of GETs a round, one connection. */
static CURL *reader_handle(sink_t *body)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        return NULL;
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    return c;
}

/*
 * GET /v1/products/{the SKU of product n of round `round`}: 404, or 200 with the name and price
 * that product was PUT with (a product answering 200 with anything else is a failure, whether its
 * PUT was acknowledged or not).  Any other answer fails round at_round.
 */
static long get_product(int at_round, CURL *c, sink_t *body, int round, uint64_t n)
{
    char sku[64], name[96], url[256];
    product_sku(sku, sizeof(sku), round, n);
    product_name(name, sizeof(name), round, n);
    long long price = product_price(round, n);
    snprintf(url, sizeof(url), "%s/v1/products/%s", srv.base, sku);
    curl_easy_setopt(c, CURLOPT_URL, url);
    body->len = 0;
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail(at_round, "GET /v1/products/%s: %s", sku, curl_easy_strerror(rc));
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    const char *text = body->p && body->len ? body->p : "";
    if (status == 404)
        return status;
    if (status != 200)
        fail(at_round, "GET /v1/products/%s answered %ld: %s", sku, status, text);
    json_t *j = json_loads(text, 0, NULL);
    const char *got_sku = json_string_value(json_object_get(j, "sku"));
    const char *got_name = json_string_value(json_object_get(json_object_get(j, "name"), "en"));
    json_t *got_price = json_object_get(j, "price");
    if (got_sku == NULL || strcmp(got_sku, sku) != 0 || got_name == NULL ||
        strcmp(got_name, name) != 0 || !json_is_integer(got_price) ||
        json_integer_value(got_price) != price)
        fail(at_round, "GET /v1/products/%s is not the product PUT as \"%s\" at price %lld: %s",
             sku, name, price, text);
    json_decref(j);
    return status;
}

/* The product checks of the essay above for this round, after the restart.  Remembers what it
 * saw in kept and gone, and returns how many writes were applied without being acknowledged. */
static uint64_t check_products(int round, const product_writer_t *p, CURL *c, sink_t *body,
                               product_list_t *kept, product_list_t *gone)
{
    uint64_t applied = 0;
    char sku[64];
    for (uint64_t n = 0; n < p->puts_sent; n++) {
        long st = get_product(round, c, body, round, n);
        unsigned char put = p->put_state[n], del = p->del_state[n];
        product_sku(sku, sizeof(sku), round, n);
        if (put == REQ_ACKED && del == 0 && st != 200)
            fail(round, "the acknowledged PUT of %s is missing after the restart (no DELETE sent)",
                 sku);
        if (del == REQ_ACKED && st != 404)
            fail(round, "%s answers %ld after the restart, but its DELETE was acknowledged", sku,
                 st);
        applied += (put != REQ_ACKED && st == 200) || (del == REQ_SENT && st == 404);
        if (st == 200)
            list_add(round, kept, round, n);
        else if (put == REQ_ACKED)
            list_add(round, gone, round, n);
    }
    for (uint64_t n = p->puts_sent; n < p->puts_sent + UNSENT_PROBES; n++)
        if (get_product(round, c, body, round, n) != 404) {
            product_sku(sku, sizeof(sku), round, n);
            fail(round, "%s answers 200, but its PUT was never sent (%" PRIu64 " were)", sku,
                 p->puts_sent);
        }
    return applied;
}

/* Checks up to RECHECKS products of l, picked at random without repeats (a partial shuffle of
 * the list, whose order means nothing), answer `want`; returns how many it checked. */
static size_t check_sample(int round, product_list_t *l, long want, uint64_t *rng, CURL *c,
                           sink_t *body)
{
    size_t k = l->len < RECHECKS ? l->len : RECHECKS;
    for (size_t i = 0; i < k; i++) {
        size_t j = i + (size_t)(next_random(rng) % (l->len - i));
        product_ref_t t = l->v[i];
        l->v[i] = l->v[j], l->v[j] = t;
        long st = get_product(round, c, body, l->v[i].round, l->v[i].n);
        if (st != want) {
            char sku[64];
            product_sku(sku, sizeof(sku), l->v[i].round, l->v[i].n);
            fail(round, "%s answers %ld: it was %s after the restart of round %d", sku, st,
                 want == 200 ? "there" : "deleted", l->v[i].round);
        }
    }
    return k;
}

/* ---- setup ---- */

/* "YYYY-MM-DDTHH:MM:SSZ" as Unix seconds, or -1. */
static long long parse_time(const char *s)
{
    struct tm tm = {0};
    if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900, tm.tm_mon -= 1;
    return (long long)timegm(&tm);
}

/* Calls fn(ctx, object) for each JSON line of a file; 0 or -1. */
static int each_line(const char *path, void (*fn)(void *, json_t *), void *ctx)
{
    char *text = ldr_test_slurp(path, NULL);
    if (text == NULL)
        return -1;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        json_t *j = json_loads(line, 0, NULL);
        if (j != NULL)
            fn(ctx, j);
        json_decref(j);
    }
    free(text);
    return 0;
}

typedef struct pick {
    json_t *unsafe; /* skus with a lot that expires within a day */
    char *skus[WRITERS_MAX];
    int n, want;
    long long horizon;
} pick_t;

static void note_expiring(void *ctx, json_t *lot)
{
    pick_t *p = ctx;
    const char *sku = json_string_value(json_object_get(lot, "sku"));
    const char *exp = json_string_value(json_object_get(lot, "expires_at"));
    if (sku != NULL && exp != NULL && parse_time(exp) < p->horizon)
        json_object_set_new(p->unsafe, sku, json_true());
}

static void take_sku(void *ctx, json_t *product)
{
    pick_t *p = ctx;
    const char *sku = json_string_value(json_object_get(product, "sku"));
    if (p->n < p->want && sku != NULL && json_object_get(p->unsafe, sku) == NULL)
        p->skus[p->n++] = strdup(sku);
}

static int parse_count(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || s[0] < '0' || s[0] > '9' || v > max)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long long rounds = 20, writers = 4, v;
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    seed = ((uint64_t)wall.tv_sec * 1000000000ULL + (uint64_t)wall.tv_nsec) ^ (uint64_t)getpid();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long long max, min = 1, *dst;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--rounds") == 0) {
            dst = &rounds, max = 1000000;
        } else if (strcmp(a, "--writers") == 0) {
            dst = &writers, max = WRITERS_MAX;
        } else if (strcmp(a, "--seed") == 0) {
            dst = &v, min = 0, max = UINT64_MAX;
        } else {
            fprintf(stderr, "larder-crash: unknown argument \"%s\"\n\n%s", a, usage);
            return 2;
        }
        if (val == NULL || parse_count(val, max, dst) != 0 || *dst < min) {
            fprintf(stderr, "larder-crash: %s wants a number %llu..%llu, not \"%s\"\n\n%s", a, min,
                    max, val ? val : "(nothing)", usage);
            return 2;
        }
        if (dst == &v)
            seed = v;
        i++;
    }
    signal(SIGPIPE, SIG_IGN);
    setenv("LARDER_SNAPSHOT_RECORDS", SNAPSHOT_RECORDS, 0); /* the servers inherit it */
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
        fprintf(stderr, "larder-crash: curl_global_init failed\n");
        return 1;
    }
    double t0 = now_s();
    uint64_t rng = seed;
    /* a stream of its own: drawing samples must not move the kill delays of a replayed seed */
    uint64_t sample_rng = seed ^ 0x6a09e667f3bcc908ULL;
    printf("larder-crash: %llu rounds, %llu writers, seed %" PRIu64 ", binary %s\n", rounds,
           writers, seed, ldr_test_bin());
    fflush(stdout);

    dir = ldr_test_tmpdir();
    if (dir == NULL) {
        fprintf(stderr, "larder-crash: cannot make a temp dir: %s\n", strerror(errno));
        return 1;
    }
    snprintf(gen_dir, sizeof(gen_dir), "%s/gen", dir);
    snprintf(cat_path, sizeof(cat_path), "%s/catalog.jsonl", gen_dir);
    snprintf(stock_path, sizeof(stock_path), "%s/stock.jsonl", gen_dir);
    snprintf(data_dir, sizeof(data_dir), "%s/data", dir);
    snprintf(wal_dir, sizeof(wal_dir), "%s/wal", data_dir);
    snprintf(log_path, sizeof(log_path), "%s/server.log", dir);
    char *out = NULL, *err = NULL;
    const char *gen[] = {"gen-catalog", "--skus", "300",   "--stores", "1",
                         "--seed",      "7",      "--out", gen_dir,    NULL};
    if (ldr_test_run(gen, NULL, &err) != 0)
        fail(0, "gen-catalog failed: %s", err ? err : "");
    free(err);

    pick_t pick = {
        .unsafe = json_object(), .want = (int)writers, .horizon = (long long)time(NULL) + 86400};
    if (each_line(stock_path, note_expiring, &pick) != 0 ||
        each_line(cat_path, take_sku, &pick) != 0 || pick.n < pick.want)
        fail(0, "could not pick %d SKUs without lots expiring within a day from %s", pick.want,
             cat_path);
    json_decref(pick.unsafe);

    writer_t ws[WRITERS_MAX];
    memset(ws, 0, sizeof(ws));
    for (int k = 0; k < (int)writers; k++)
        ws[k].id = k, ws[k].sku = pick.skus[k];
    if (start_server() != 0)
        fail(1, "the server did not start on a new data dir");

    view_t before[WRITERS_MAX], after[WRITERS_MAX];
    for (int k = 0; k < (int)writers; k++)
        get_view(1, ws[k].sku, &before[k]);
    uint64_t total_acked = 0, total_sent = 0, torn_tails = 0, checks = 0, rechecked = 0;
    product_writer_t pw;
    memset(&pw, 0, sizeof(pw));
    product_list_t kept = {NULL, 0, 0}, gone = {NULL, 0, 0}; /* products of earlier rounds */
    double max_restart = 0, sum_restart = 0, max_reap = 0, max_replay = 0;
    long total_connects = 0;
    for (int round = 1; round <= (int)rounds; round++) {
        char *token = ldr_test_token("admin", "crash-test"); /* fresh: long runs outlive 1 h */
        char *service = ldr_test_token("service", "crash-products");
        if (token == NULL || service == NULL)
            fail(round, "cannot mint the tokens");
        atomic_store(&stop_flag, 0);
        atomic_store(&kill_begun, 0);
        for (int k = 0; k < (int)writers; k++) {
            writer_t *w = &ws[k];
            w->round = round, w->base = srv.base, w->token = token;
            w->sent = w->acked = w->sent_adjust = w->acked_adjust = 0;
            w->early_transport_errors = 0, w->connects = 0;
            if (w->cap)
                memset(w->state, 0, w->cap);
            if (pthread_create(&w->thread, NULL, writer_main, w) != 0)
                fail(round, "pthread_create failed");
        }
        pw.round = round, pw.base = srv.base, pw.token = service;
        pw.puts_sent = pw.puts_acked = pw.dels_sent = pw.dels_acked = 0;
        pw.early_transport_errors = 0, pw.connects = 0;
        if (pw.cap) {
            memset(pw.put_state, 0, pw.cap);
            memset(pw.del_state, 0, pw.cap);
        }
        if (pthread_create(&pw.thread, NULL, product_writer_main, &pw) != 0)
            fail(round, "pthread_create failed");
        int delay_ms = KILL_MIN_MS + (int)(next_random(&rng) % (KILL_MAX_MS - KILL_MIN_MS + 1));
        struct timespec d = {delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L};
        while (nanosleep(&d, &d) != 0 && errno == EINTR)
            ;
        atomic_store(&kill_begun, 1);
        double k0 = now_s();
        kill(srv.pid, SIGKILL);
        int status;
        waitpid(srv.pid, &status, 0);
        double reap = now_s() - k0;
        max_reap = reap > max_reap ? reap : max_reap;
        srv.pid = 0;
        atomic_store(&stop_flag, 1);
        for (int k = 0; k < (int)writers; k++)
            pthread_join(ws[k].thread, NULL);
        pthread_join(pw.thread, NULL);
        free(token), free(service);
        char what[64];
        snprintf(what, sizeof(what), "round %d: killed after %d ms", round, delay_ms);
        save_server_log(what);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            fail(round, "the server was not killed by SIGKILL (it exited %d on its own)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        for (int k = 0; k < (int)writers; k++)
            if (ws[k].error[0])
                fail(round, "writer %d (%s): %s", k, ws[k].sku, ws[k].error);
        if (pw.error[0])
            fail(round, "product writer: %s", pw.error);

        /* while the server is down, nothing holds the log dir's lock */
        bool checked = round % CHECK_EVERY == 0 || round == (int)rounds;
        if (checked) {
            const char *wal[] = {"wal", "check", wal_dir, NULL};
            int rc = ldr_test_run(wal, &out, &err);
            if (rc != 0)
                fail(round, "`larder wal check %s` exited %d: %s%s", wal_dir, rc, out ? out : "",
                     err ? err : "");
            torn_tails += err != NULL && strstr(err, "torn tail") != NULL;
            checks++;
            free(out), free(err);
        }

        double r0 = now_s();
        if (start_server() != 0) {
            /* the helper removed the failed server's stderr; the log's own view is the clue */
            const char *wal[] = {"wal", "check", wal_dir, NULL};
            int rc = ldr_test_run(wal, &out, &err);
            fail(round, "the server did not restart; `larder wal check` exits %d: %s%s", rc,
                 out ? out : "", err ? err : "");
        }
        double restart = now_s() - r0;
        max_restart = restart > max_restart ? restart : max_restart;
        sum_restart += restart;
        char *log = ldr_test_slurp(srv.stderr_path, NULL);
        const char *rec = log ? strstr(log, "recovered ") : NULL;
        unsigned long long records = 0;
        double replay_ms = 0;
        if (rec != NULL) {
            const char *in = strstr(rec, " in ");
            sscanf(rec, "recovered %llu", &records);
            if (in != NULL)
                sscanf(in, " in %lf ms", &replay_ms);
        }
        max_replay = replay_ms > max_replay ? replay_ms : max_replay;
        if (rec == NULL || strstr(log, "is ignored") == NULL)
            fail(round,
                 "the restart log lacks \"recovered\" or the note that --stock is ignored: %s",
                 log ? log : "(none)");
        free(log);

        for (int k = 0; k < (int)writers; k++) {
            get_view(round, ws[k].sku, &after[k]);
            check_recovered(round, &ws[k], &before[k], &after[k]);
        }
        sink_t body = {NULL, 0};
        CURL *reader = reader_handle(&body);
        if (reader == NULL)
            fail(round, "curl_easy_init failed");
        /* earlier rounds' products first: the lists do not hold this round's yet */
        rechecked += check_sample(round, &kept, 200, &sample_rng, reader, &body);
        rechecked += check_sample(round, &gone, 404, &sample_rng, reader, &body);
        uint64_t products_applied = check_products(round, &pw, reader, &body, &kept, &gone);
        curl_easy_cleanup(reader);
        free(body.p);
        printf("round %2d  kill %3d ms  sent/acked", round, delay_ms);
        for (int k = 0; k < (int)writers; k++)
            printf(" %" PRIu64 "/%" PRIu64, ws[k].sent, ws[k].acked);
        printf("  on_hand");
        for (int k = 0; k < (int)writers; k++) {
            writer_t *w = &ws[k];
            long long unacked = after[k].on_hand - before[k].on_hand - (long long)w->acked;
            printf(" %lld(+%lld)", after[k].on_hand, unacked);
            w->total_sent += w->sent, w->total_acked += w->acked;
            w->total_unacked_applied += (uint64_t)unacked;
            total_sent += w->sent, total_acked += w->acked;
            total_connects += w->connects;
            if (w->early_transport_errors)
                printf(" [writer %d: %" PRIu64 " transport errors before the kill]", k,
                       w->early_transport_errors);
            json_decref(before[k].lots);
            before[k] = after[k];
        }
        printf("  products put %" PRIu64 "/%" PRIu64 " del %" PRIu64 "/%" PRIu64 " (+%" PRIu64 ")",
               pw.puts_sent, pw.puts_acked, pw.dels_sent, pw.dels_acked, products_applied);
        if (pw.early_transport_errors)
            printf(" [product writer: %" PRIu64 " transport errors before the kill]",
                   pw.early_transport_errors);
        pw.total_sent += pw.puts_sent + pw.dels_sent;
        pw.total_acked += pw.puts_acked + pw.dels_acked;
        pw.total_unacked_applied += products_applied;
        total_connects += pw.connects;
        printf("  reaped %.0f ms  restart %.0f ms (replayed %llu records in %.1f ms)%s\n",
               reap * 1000, restart * 1000, records, replay_ms, checked ? "  wal check ok" : "");
        fflush(stdout);
    }

    /* a clean stop at the end, then the log read once more */
    int rc = ldr_test_server_stop(&srv);
    if (rc != 0)
        fail((int)rounds, "the final SIGTERM stop exited %d", rc);
    const char *wal[] = {"wal", "check", wal_dir, NULL};
    if ((rc = ldr_test_run(wal, &out, &err)) != 0)
        fail((int)rounds, "`larder wal check` after the clean stop exited %d: %s", rc,
             err ? err : "");
    free(out), free(err);

    uint64_t unacked_applied = 0;
    for (int k = 0; k < (int)writers; k++) {
        unacked_applied += ws[k].total_unacked_applied;
        json_decref(before[k].lots);
        free(ws[k].state);
        free(pick.skus[k]);
    }
    printf("larder-crash: ok: %llu rounds, %llu writers, %" PRIu64 " writes sent, %" PRIu64
           " acknowledged (all recovered), %" PRIu64 " unacknowledged but applied; %" PRIu64
           " product writes sent, %" PRIu64 " acknowledged (all recovered), %" PRIu64
           " unacknowledged but applied, %zu products there and %zu deleted at the end, %" PRIu64
           " rechecked in later rounds; %ld connections; %" PRIu64 " wal checks (%" PRIu64
           " torn tails); kill to reaped max %.0f ms; "
           "restart avg %.0f ms, max %.0f ms (replay max %.1f ms); %.1f s; seed %" PRIu64 "\n",
           rounds, writers, total_sent, total_acked, unacked_applied, pw.total_sent, pw.total_acked,
           pw.total_unacked_applied, kept.len, gone.len, rechecked, total_connects, checks + 1,
           torn_tails, max_reap * 1000, sum_restart * 1000 / (double)rounds, max_restart * 1000,
           max_replay, now_s() - t0, seed);
    free(pw.put_state), free(pw.del_state), free(kept.v), free(gone.v);
    ldr_test_rmtree(dir);
    free(dir);
    curl_global_cleanup();
    return 0;
}
