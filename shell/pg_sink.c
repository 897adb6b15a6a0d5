/*
 * The order-history sink: orders and their status changes, from the log into PostgreSQL's
 * orders, order_lines and order_status_history (db/migrations/0002_orders.sql), so reporting can
 * use SQL.
 *
 * It is a reader of the outbox like the Kafka relay: one thread reads the durable records past
 * its cursor (DATA_DIR/relay/pg.cursor), renders them into the outbox's messages (shell/outbox.c)
 * and writes the order-topic ones, a batch of records per transaction:
 *
 *   OrderPlaced   an orders row (status pending_payment) and its order_lines, ON CONFLICT DO
 *                 NOTHING: the first write of an order wins, a replay changes nothing;
 *   OrderPaid, OrderPicking, OrderReadyForPickup, OrderOutForDelivery, OrderDelivered,
 *   OrderCancelled, OrderRefunded
 *                 the order's status, updated_at (and payment_reference) where its
 *                 last_event_seq is older than the record's LSN;
 *   every one     a row of order_status_history keyed by (order id, LSN), ON CONFLICT DO NOTHING.
 *
 * So writing a record twice is harmless, and the cursor moves (written after the transaction
 * commits) only over records whose rows are in.  PostgreSQL away: the transaction is dropped, the
 * connection made again with a backoff (200 ms doubling to 10 s), the records wait in the log
 * (the engine keeps the segments from the cursor on): checkout never waits for PostgreSQL.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "larder/command.h"
#include "larder/pg.h"
#include "larder/wal.h"
#include "outbox.h"
#include "pg_internal.h"
#include "pg_sink.h"
#include "relay.h"

#define LDR__SINK_BATCH      256 /* records a transaction at most */
#define LDR__SINK_DEADLINE   30000
#define LDR__SINK_BACKOFF_MS 10000

struct ldr_pg_sink {
    ldr_engine_t *engine;
    char url[1024], wal_dir[4200], dir[4200], cursor_path[4300];
    pthread_t thread;
    bool started;
    int stop_fd;
    atomic_bool stop;

    /* the thread's */
    PGconn *conn;
    ldr_wal_reader_t *reader;
    uint64_t cursor;
    int backoff_ms;
    bool failed; /* this batch's transaction did not make it */
    char err[LDR_PG_ERR_MAX];

    atomic_uint_fast64_t m_cursor, m_rows, m_failures;
    atomic_bool m_connected;
};

static const char *ldr__status_of(const char *event)
{
    static const char *const map[][2] = {{"OrderPlaced", "pending_payment"},
                                         {"OrderPaid", "paid"},
                                         {"OrderPicking", "picking"},
                                         {"OrderReadyForPickup", "ready_for_pickup"},
                                         {"OrderOutForDelivery", "out_for_delivery"},
                                         {"OrderDelivered", "delivered"},
                                         {"OrderCancelled", "cancelled"},
                                         {"OrderRefunded", "refunded"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(event, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

static const char *ldr__str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* One statement of the batch's transaction; false (and the batch failed) when it did not run. */
static bool ldr__exec(ldr_pg_sink_t *s, const char *sql, int n, const char *const *params)
{
    if (s->failed)
        return false;
    PGresult *last = NULL;
    int rc = ldr_pg_exec(s->conn, sql, n, params, s->stop_fd, ldr_pg_now_ms() + LDR__SINK_DEADLINE,
                         &last, s->err, sizeof(s->err));
    PQclear(last);
    if (rc != LDR_OK)
        s->failed = true;
    return rc == LDR_OK;
}

typedef struct ldr__sink_rec {
    ldr_pg_sink_t *s;
    uint64_t lsn;
} ldr__sink_rec_t;

static void ldr__sink_msg(void *ctx, const ldr_outbox_msg_t *m)
{
    ldr__sink_rec_t *sr = ctx;
    ldr_pg_sink_t *s = sr->s;
    const char *status = m->topic == LDR_TOPIC_ORDER ? ldr__status_of(m->event) : NULL;
    if (status == NULL || s->failed)
        return;
    json_t *v = json_loadb(m->value.ptr, m->value.len, 0, NULL);
    const char *order = ldr__str(v, "orderId"), *at = ldr__str(v, "timestamp");
    char seq[24];
    snprintf(seq, sizeof(seq), "%" PRIu64, sr->lsn);
    if (order == NULL || at == NULL) {
        json_decref(v);
        return;
    }
    if (strcmp(m->event, "OrderPlaced") == 0) {
        char total[24];
        snprintf(total, sizeof(total), "%lld",
                 (long long)json_integer_value(json_object_get(v, "total")));
        const char *p[] = {order,
                           ldr__str(v, "userId") ? ldr__str(v, "userId") : "",
                           ldr__str(v, "store"),
                           ldr__str(v, "fulfillment"),
                           ldr__str(v, "slotId"),
                           total,
                           ldr__str(v, "paymentProvider"),
                           at,
                           seq};
        ldr__exec(
            s,
            "INSERT INTO orders (order_id, user_id, store, status, fulfillment, slot_id, "
            "total, payment_provider, created_at, updated_at, last_event_seq) VALUES ($1, $2, "
            "$3, 'pending_payment', $4, $5, $6, $7, $8, $8, $9) ON CONFLICT (order_id) DO "
            "NOTHING",
            9, p);
        json_t *items = json_object_get(v, "items"), *it;
        size_t i;
        json_array_foreach(items, i, it)
        {
            char no[24], qty[24], price[24];
            snprintf(no, sizeof(no), "%zu", i + 1);
            snprintf(qty, sizeof(qty), "%lld",
                     (long long)json_integer_value(json_object_get(it, "quantity")));
            snprintf(price, sizeof(price), "%lld",
                     (long long)json_integer_value(json_object_get(it, "unitPrice")));
            const char *lp[] = {order,
                                no,
                                ldr__str(it, "sku"),
                                qty,
                                price,
                                json_is_true(json_object_get(it, "substitutionAllowed")) ? "t"
                                                                                         : "f",
                                ldr__str(it, "substitutedBy")};
            ldr__exec(s,
                      "INSERT INTO order_lines (order_id, line_no, sku, quantity, unit_price, "
                      "substitution_allowed, substituted_by) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                      "ON CONFLICT DO NOTHING",
                      7, lp);
        }
    } else {
        const char *p[] = {order, status, at, seq, ldr__str(v, "paymentReference")};
        ldr__exec(s,
                  "UPDATE orders SET status = $2, updated_at = $3, last_event_seq = $4, "
                  "payment_reference = COALESCE($5, payment_reference) WHERE order_id = $1 AND "
                  "last_event_seq < $4",
                  5, p);
    }
    const char *h[] = {order, seq, status, ldr__str(v, "reason"), at};
    if (ldr__exec(s,
                  "INSERT INTO order_status_history (order_id, event_seq, status, reason, at) "
                  "SELECT $1::text, $2::bigint, $3::text, $4::text, $5::timestamptz WHERE EXISTS "
                  "(SELECT 1 FROM orders WHERE order_id = $1::text) ON CONFLICT DO NOTHING",
                  5, h))
        atomic_fetch_add_explicit(&s->m_rows, 1, memory_order_relaxed);
    json_decref(v);
}

static void ldr__drop(ldr_pg_sink_t *s)
{
    if (s->conn != NULL)
        PQfinish(s->conn);
    s->conn = NULL;
    ldr_wal_reader_close(s->reader);
    s->reader = NULL;
    atomic_store_explicit(&s->m_connected, false, memory_order_relaxed);
}

static int ldr__connect(ldr_pg_sink_t *s)
{
    if (ldr_pg_connect(s->url, &s->conn, s->err, sizeof(s->err)) != LDR_OK)
        return LDR_EIO;
    int rc = ldr_log_reader_open(s->wal_dir, &s->cursor, &s->reader, "order sink", s->err,
                                 sizeof(s->err));
    if (rc != LDR_OK) {
        ldr__drop(s);
        return rc;
    }
    atomic_store_explicit(&s->m_connected, true, memory_order_relaxed);
    return LDR_OK;
}

/* Writes the next batch of durable records; true when it did something. */
static bool ldr__batch(ldr_pg_sink_t *s)
{
    uint64_t durable = ldr_engine_durable_lsn(s->engine), last = s->cursor;
    s->failed = false;
    bool open = false;
    for (int n = 0; n < LDR__SINK_BATCH && !s->failed; n++) {
        ldr_wal_record_t rec;
        int rc = ldr_wal_reader_next(s->reader, durable, &rec);
        if (rc == LDR_ENOENT)
            break;
        if (rc != LDR_OK) {
            snprintf(s->err, sizeof(s->err), "reading the log: %s",
                     ldr_wal_reader_error(s->reader));
            s->failed = true;
            break;
        }
        bool orders = (rec.type >= LDR_CMD_ORDER_PLACE && rec.type <= LDR_CMD_ORDER_REFUND) ||
                      rec.type == LDR_CMD_TICK;
        if (orders && !open)
            open = ldr__exec(s, "BEGIN", 0, NULL);
        if (orders) {
            ldr__sink_rec_t sr = {s, rec.lsn};
            ldr_outbox_render(s->engine, &rec, ldr__sink_msg, &sr);
        }
        last = rec.lsn;
    }
    if (open && !s->failed)
        ldr__exec(s, "COMMIT", 0, NULL);
    if (s->failed)
        return false;
    if (last == s->cursor)
        return false;
    /* committed (or nothing for PostgreSQL in it): the cursor moves on */
    if (ldr_log_cursor_write(s->dir, s->cursor_path, last) == LDR_OK) {
        s->cursor = last;
        atomic_store_explicit(&s->m_cursor, last, memory_order_relaxed);
        ldr_engine_retain_log(s->engine, LDR_RETAIN_PG, last + 1);
    }
    return true;
}

static void ldr__nap(ldr_pg_sink_t *s, int ms)
{
    for (int slept = 0; slept < ms && !atomic_load(&s->stop); slept += 20) {
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
}

static void *ldr__sink_main(void *arg)
{
    prctl(PR_SET_NAME, "larder-pgsink"); /* for top -H, ps -L and perf */
    ldr_pg_sink_t *s = arg;
    while (!atomic_load(&s->stop)) {
        if (s->conn == NULL && ldr__connect(s) != LDR_OK) {
            fprintf(stderr, "larder: order sink: %s; trying again in %d ms\n", s->err,
                    s->backoff_ms);
            atomic_fetch_add_explicit(&s->m_failures, 1, memory_order_relaxed);
            ldr__nap(s, s->backoff_ms);
            s->backoff_ms =
                s->backoff_ms * 2 > LDR__SINK_BACKOFF_MS ? LDR__SINK_BACKOFF_MS : s->backoff_ms * 2;
            continue;
        }
        bool did = ldr__batch(s);
        if (s->failed) {
            if (!atomic_load(&s->stop))
                fprintf(stderr, "larder: order sink: %s; connecting again\n", s->err);
            atomic_fetch_add_explicit(&s->m_failures, 1, memory_order_relaxed);
            ldr__drop(s); /* the reader starts again from the cursor, too */
            continue;
        }
        s->backoff_ms = 200;
        if (!did)
            ldr__nap(s, 20);
    }
    ldr__drop(s);
    return NULL;
}

int ldr_pg_sink_new(const char *url, const char *data_dir, ldr_engine_t *e, ldr_pg_sink_t **out,
                    char *err, size_t err_len)
{
    *out = NULL;
    ldr_pg_sink_t *s = ldr_calloc(1, sizeof(*s));
    s->engine = e;
    s->stop_fd = -1;
    snprintf(s->url, sizeof(s->url), "%s", url);
    snprintf(s->wal_dir, sizeof(s->wal_dir), "%s/wal", data_dir);
    snprintf(s->dir, sizeof(s->dir), "%s/relay", data_dir);
    snprintf(s->cursor_path, sizeof(s->cursor_path), "%s/pg.cursor", s->dir);
    if (mkdir(s->dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "mkdir %s: %s", s->dir, strerror(errno));
        ldr_free(s);
        return LDR_EIO;
    }
    int rc = ldr_log_cursor_read(s->cursor_path, &s->cursor, err, err_len);
    if (rc != LDR_OK && rc != LDR_ENOENT) {
        ldr_free(s);
        return rc;
    }
    s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    s->backoff_ms = 200;
    atomic_init(&s->stop, false);
    atomic_init(&s->m_cursor, s->cursor);
    atomic_init(&s->m_rows, 0);
    atomic_init(&s->m_failures, 0);
    atomic_init(&s->m_connected, false);
    ldr_engine_retain_log(e, LDR_RETAIN_PG, s->cursor + 1);
    *out = s;
    return LDR_OK;
}

int ldr_pg_sink_start(ldr_pg_sink_t *s)
{
    if (pthread_create(&s->thread, NULL, ldr__sink_main, s) != 0)
        return LDR_ENOMEM;
    s->started = true;
    return LDR_OK;
}

void ldr_pg_sink_stop(ldr_pg_sink_t *s)
{
    if (s == NULL || !s->started)
        return;
    atomic_store(&s->stop, true);
    uint64_t one = 1;
    (void)!write(s->stop_fd, &one, sizeof(one)); /* wakes a query it waits for */
    pthread_join(s->thread, NULL);
    s->started = false;
}

void ldr_pg_sink_free(ldr_pg_sink_t *s)
{
    if (s == NULL)
        return;
    ldr_pg_sink_stop(s);
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    ldr_free(s);
}

void ldr_pg_sink_metrics(ldr_pg_sink_t *s, uint64_t durable, ldr_buf_t *b)
{
    uint64_t cursor = atomic_load_explicit(&s->m_cursor, memory_order_relaxed);
    ldr_buf_printf(
        b,
        "# HELP larder_order_sink_lag_records Durable log records the order-history sink has "
        "not written to PostgreSQL yet.\n"
        "# TYPE larder_order_sink_lag_records gauge\nlarder_order_sink_lag_records %llu\n"
        "# TYPE larder_order_sink_cursor_lsn gauge\nlarder_order_sink_cursor_lsn %llu\n"
        "# HELP larder_order_sink_rows_total Order status changes written to PostgreSQL.\n"
        "# TYPE larder_order_sink_rows_total counter\nlarder_order_sink_rows_total %llu\n"
        "# TYPE larder_order_sink_failures_total counter\nlarder_order_sink_failures_total %llu\n"
        "# TYPE larder_order_sink_connected gauge\nlarder_order_sink_connected %d\n",
        (unsigned long long)(durable > cursor ? durable - cursor : 0), (unsigned long long)cursor,
        (unsigned long long)atomic_load_explicit(&s->m_rows, memory_order_relaxed),
        (unsigned long long)atomic_load_explicit(&s->m_failures, memory_order_relaxed),
        atomic_load_explicit(&s->m_connected, memory_order_relaxed) ? 1 : 0);
}
