/*
 * The PostgreSQL sync thread: PostgreSQL's products table, followed live (include/larder/pg.h).
 *
 * One thread, one connection, libpq non-blocking: the thread polls the connection's socket and a
 * stop eventfd, so shutdown never waits for PostgreSQL, and every query has a deadline.
 *
 *   connect ─► LISTEN larder_products ─► reconcile ─► wait (poll) ─► notifications ─► apply
 *      ▲                                    ▲                            │
 *      └── lost: backoff 200 ms .. 10 s     └── every reconcile_ms, or "*"
 *
 * A notification names a SKU; the thread collects every SKU pending (a burst is one batch),
 * reads their rows in one query, and submits PRODUCT_PUT for each row (rendered canonically, so a
 * row equal to the served product changes nothing) and PRODUCT_DEL for each SKU without a row.
 * The commands go to the engine thread like a PUT over HTTP does; the thread waits (on its own
 * condition variable, never on a loop) until they are durable and then until the indexer
 * published a view holding them, so a change is searchable when the counter says it applied.
 *
 * Reconciliation compares the whole table (one COPY) with the newest view: rows that differ or
 * are missing are put, live products without a row are deleted.  It runs after every (re)connect
 * (LISTEN comes first, so nothing falls between the two), so changes made while the connection
 * was down (or before the server started) are caught; and every reconcile_ms as a safety net.
 */
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "larder/pg.h"
#include "pg_internal.h"

#define LDR__BATCH_MAX      1024  /* commands submitted together */
#define LDR__QUERY_MS       60000 /* deadline of one query or COPY */
#define LDR__CONNECT_MS     10000 /* deadline of a connection attempt */
#define LDR__BACKOFF_MIN_MS 200
#define LDR__BACKOFF_MAX_MS 10000
#define LDR__REJECTS_SHOWN  20   /* invalid rows named on stderr per reconciliation */
#define LDR__PENDING_MAX    1000 /* SKUs named at once; more: a reconciliation instead */

struct ldr_pg_sync {
    ldr_app_t *app;
    char *url;
    uint32_t reconcile_ms;
    int stop_fd;
    pthread_t thread;
    PGconn *conn;
    /* SKUs named by notifications and not applied yet, NUL-terminated one after the other */
    ldr_buf_t pending;
    uint32_t npending;
    bool reconcile; /* due: after a connect or a "*" */
    /* a batch in flight: the engine's and the indexer's completions */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint32_t done;
    bool indexed;
    ldr_index_wait_t iw;
    /* /metrics */
    atomic_int connected;
    atomic_uint_fast64_t connects, failures, notifications, puts, dels, reconciliations, rejected,
        errors;
    atomic_int_fast64_t last_reconcile;
};

__attribute__((format(printf, 1, 2))) static void ldr__log(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "larder: PostgreSQL sync: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- applying commands ---- */

static void ldr__cmd_done(ldr_engine_req_t *er)
{
    ldr_pg_sync_t *s = er->data;
    pthread_mutex_lock(&s->lock);
    s->done++;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static void ldr__view_done(ldr_index_wait_t *iw)
{
    ldr_pg_sync_t *s = (ldr_pg_sync_t *)((char *)iw - offsetof(ldr_pg_sync_t, iw));
    pthread_mutex_lock(&s->lock);
    s->indexed = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* Submits n commands, waits until they are durable and, when one changed the catalog, until a
 * view holds them. */
static void ldr__apply(ldr_pg_sync_t *s, ldr_engine_req_t *reqs, uint32_t n)
{
    if (n == 0)
        return;
    pthread_mutex_lock(&s->lock);
    s->done = 0;
    pthread_mutex_unlock(&s->lock);
    for (uint32_t i = 0; i < n; i++) {
        reqs[i].done = ldr__cmd_done;
        reqs[i].data = s;
        ldr_engine_submit(s->app->engine, &reqs[i]);
    }
    pthread_mutex_lock(&s->lock);
    while (s->done < n)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    bool changed = false;
    for (uint32_t i = 0; i < n; i++) {
        const ldr_cmd_result_t *res = &reqs[i].result;
        if (res->status != LDR_OK) {
            atomic_fetch_add(&s->errors, 1);
            fprintf(stderr, "larder: PostgreSQL sync: a product %s failed: %s\n",
                    reqs[i].cmd.type == LDR_CMD_PRODUCT_DEL ? "delete" : "put",
                    ldr_strerror(res->status));
        } else if (!res->noop) {
            changed = true;
            atomic_fetch_add(reqs[i].cmd.type == LDR_CMD_PRODUCT_DEL ? &s->dels : &s->puts, 1);
        }
    }
    if (!changed)
        return;
    s->indexed = false;
    s->iw =
        (ldr_index_wait_t){.changes = ldr_catalog_changes(s->app->catalog), .done = ldr__view_done};
    ldr_app_index_wait(s->app, &s->iw);
    pthread_mutex_lock(&s->lock);
    while (!s->indexed)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
}

/* Commands being built: products rendered into one buffer (offsets until it stops moving). */
typedef struct ldr__batch {
    ldr_pg_sync_t *s;
    ldr_buf_t strings;
    struct {
        bool del;
        size_t off, len; /* a put: its product in strings */
        const char *sku; /* a delete: owned by the caller until the batch is applied */
        uint32_t sku_len;
    } * items;
    uint32_t n, cap;
} ldr__batch_t;

static void ldr__batch_add(ldr__batch_t *b, bool del, size_t off, size_t len, const char *sku,
                           uint32_t sku_len)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->items = ldr_realloc(b->items, b->cap * sizeof(*b->items));
    }
    b->items[b->n].del = del;
    b->items[b->n].off = off;
    b->items[b->n].len = len;
    b->items[b->n].sku = sku;
    b->items[b->n].sku_len = sku_len;
    b->n++;
}

static void ldr__batch_put(ldr__batch_t *b, const ldr_product_input_t *in)
{
    size_t off = b->strings.len;
    ldr_product_render(in, &b->strings);
    ldr__batch_add(b, false, off, b->strings.len - off, NULL, 0);
}

/* Applies the batch in chunks of LDR__BATCH_MAX and empties it. */
static void ldr__batch_run(ldr__batch_t *b)
{
    ldr_engine_req_t *reqs = ldr_calloc(LDR__BATCH_MAX, sizeof(*reqs));
    for (uint32_t i = 0; i < b->n; i += LDR__BATCH_MAX) {
        uint32_t n = b->n - i < LDR__BATCH_MAX ? b->n - i : LDR__BATCH_MAX;
        memset(reqs, 0, n * sizeof(*reqs));
        for (uint32_t k = 0; k < n; k++) {
            const typeof(*b->items) *it = &b->items[i + k];
            reqs[k].cmd =
                it->del ? (ldr_cmd_t){.type = LDR_CMD_PRODUCT_DEL, .sku = {it->sku, it->sku_len}}
                        : (ldr_cmd_t){.type = LDR_CMD_PRODUCT_PUT,
                                      .product = {b->strings.base + it->off, (uint32_t)it->len}};
        }
        ldr__apply(b->s, reqs, n);
    }
    ldr_free(reqs);
    ldr_buf_free(&b->strings);
    ldr_free(b->items);
    b->items = NULL;
    b->n = b->cap = 0;
}

/* ---- notifications: the rows of the SKUs named ---- */

static void ldr__reject_row(ldr_pg_sync_t *s, const char *sku, const char *message)
{
    atomic_fetch_add(&s->rejected, 1);
    fprintf(stderr, "larder: PostgreSQL sync: row %s is not a valid product (left as served): %s\n",
            sku, message);
}

typedef struct ldr__named {
    ldr__batch_t *b;
    const ldr_pg_catalog_t *pc;
} ldr__named_t;

static int ldr__named_line(void *ctx, const ldr_product_input_t *in, ldr_error_t *err)
{
    ldr__batch_put(((ldr__named_t *)ctx)->b, in);
    return LDR_OK;
}

static void ldr__named_reject(void *ctx, uint64_t line, const char *message)
{
    ldr__named_t *nm = ctx;
    const char *sku = nm->pc->skus.base;
    for (uint64_t i = 1; i < line && i < nm->pc->rows; i++)
        sku += strlen(sku) + 1;
    ldr__reject_row(nm->b->s, sku, message);
}

/* The rows of the SKUs notifications named (one COPY), put; the SKUs without a row, deleted. */
static int ldr__apply_pending(ldr_pg_sync_t *s, char *err, size_t size)
{
    /* WHERE sku IN ('A', 'B', ...): valid SKUs hold no quote or backslash */
    ldr_buf_t where = LDR_BUF_INIT;
    ldr_buf_puts(&where, "WHERE sku IN (");
    const char *p = s->pending.base;
    for (uint32_t i = 0; i < s->npending; i++, p += strlen(p) + 1)
        ldr_buf_printf(&where, "%s'%s'", i ? "," : "", p);
    ldr_buf_puts(&where, ")");
    ldr_buf_putc(&where, '\0');
    ldr_pg_catalog_t pc;
    int rc = ldr_pg_copy_products(s->conn, where.base, s->stop_fd, ldr_pg_now_ms() + LDR__QUERY_MS,
                                  &pc, err, size);
    ldr_buf_free(&where);
    if (rc != LDR_OK)
        return rc;
    ldr__batch_t b = {.s = s};
    ldr__named_t nm = {&b, &pc};
    ldr_load_result_t lr;
    ldr_products_each(pc.jsonl.base, pc.jsonl.len, ldr__named_line, &nm, ldr__named_reject, &nm,
                      &lr);
    p = s->pending.base;
    for (uint32_t i = 0; i < s->npending; i++, p += strlen(p) + 1) {
        bool found = false;
        const char *q = pc.skus.base;
        for (uint32_t k = 0; k < pc.rows && !found; k++, q += strlen(q) + 1)
            found = strcmp(p, q) == 0;
        if (!found) /* no such row: deleted (a second delete of it changes nothing) */
            ldr__batch_add(&b, true, 0, 0, p, (uint32_t)strlen(p));
    }
    ldr__batch_run(&b); /* the deletes point into s->pending: emptied only after */
    ldr_pg_catalog_free(&pc);
    ldr_buf_reset(&s->pending);
    s->npending = 0;
    return LDR_OK;
}

/* ---- reconciliation ---- */

typedef struct ldr__recon {
    ldr__batch_t b;
    const ldr_catalog_t *cat;
    const ldr_pg_catalog_t *pc;
    const char **row_sku; /* by row, for the messages */
    uint64_t rejected;
} ldr__recon_t;

static int ldr__recon_line(void *ctx, const ldr_product_input_t *in, ldr_error_t *err)
{
    ldr__recon_t *rc = ctx;
    const ldr_product_t *p = ldr_catalog_find(rc->cat, in->p.sku.ptr, in->p.sku.len, NULL);
    if (p == NULL || !ldr_catalog_same(rc->cat, p, in))
        ldr__batch_put(&rc->b, in);
    return LDR_OK;
}

static void ldr__recon_reject(void *ctx, uint64_t line, const char *message)
{
    ldr__recon_t *rc = ctx;
    if (rc->rejected++ < LDR__REJECTS_SHOWN && line >= 1 && line <= rc->pc->rows)
        ldr__reject_row(rc->b.s, rc->row_sku[line - 1], message);
    else
        atomic_fetch_add(&rc->b.s->rejected, 1);
}

static int ldr__reconcile(ldr_pg_sync_t *s, char *err, size_t size)
{
    int64_t t0 = ldr_pg_now_ms();
    ldr_pg_catalog_t pc;
    int rc = ldr_pg_export(s->conn, s->stop_fd, t0 + LDR__QUERY_MS, &pc, err, size);
    if (rc != LDR_OK)
        return rc;
    ldr_view_t *v = ldr_app_view(s->app); /* its records stay while the deletes point at them */
    ldr__recon_t rec = {.b = {.s = s}, .cat = v->catalog, .pc = &pc};
    rec.row_sku = ldr_calloc(pc.rows ? pc.rows : 1, sizeof(*rec.row_sku));
    const char *q = pc.skus.base;
    for (uint32_t i = 0; i < pc.rows; i++, q += strlen(q) + 1)
        rec.row_sku[i] = q;
    ldr_load_result_t lr;
    ldr_products_each(pc.jsonl.base, pc.jsonl.len, ldr__recon_line, &rec, ldr__recon_reject, &rec,
                      &lr);
    uint32_t limit = ldr_catalog_doc_limit(v->catalog);
    uint8_t *seen = ldr_calloc(limit ? limit : 1, 1);
    ldr_pg_catalog_mark(&pc, v->catalog, seen);
    for (uint32_t doc = 0; doc < limit; doc++) {
        const ldr_product_t *p = ldr_catalog_doc(v->catalog, doc);
        if (p != NULL && !seen[doc])
            ldr__batch_add(&rec.b, true, 0, 0, p->sku.ptr, p->sku.len);
    }
    ldr_free(seen);
    uint32_t n = rec.b.n;
    ldr__batch_run(&rec.b);
    ldr_view_release(v);
    ldr_free(rec.row_sku);
    uint32_t rows = pc.rows;
    ldr_pg_catalog_free(&pc);
    atomic_fetch_add(&s->reconciliations, 1);
    atomic_store(&s->last_reconcile, (int64_t)time(NULL));
    if (n > 0 || rec.rejected > 0)
        fprintf(stderr,
                "larder: PostgreSQL sync: reconciled %u rows: %u products put or deleted, %llu "
                "invalid rows, in %lld ms\n",
                rows, n, (unsigned long long)rec.rejected, (long long)(ldr_pg_now_ms() - t0));
    return LDR_OK;
}

/* ---- the connection ---- */

static int ldr__connect(ldr_pg_sync_t *s, char *err, size_t size)
{
    PGconn *c = ldr_pg_start_connect(s->url, true);
    if (c == NULL || PQstatus(c) == CONNECTION_BAD) {
        ldr_pg_error(err, size, "cannot connect", c != NULL ? PQerrorMessage(c) : "out of memory");
        PQfinish(c);
        return LDR_EIO;
    }
    int64_t deadline = ldr_pg_now_ms() + LDR__CONNECT_MS;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED) {
            ldr_pg_error(err, size, "cannot connect", PQerrorMessage(c));
            PQfinish(c);
            return LDR_EIO;
        }
        if (ldr_pg_wait(c, st == PGRES_POLLING_WRITING, s->stop_fd, deadline, err, size) !=
            LDR_OK) {
            PQfinish(c);
            return LDR_EIO;
        }
        st = PQconnectPoll(c);
    }
    PQsetNoticeProcessor(c, ldr_pg_notice, NULL);
    int rc = PQsetnonblocking(c, 1) == 0 ? LDR_OK : LDR_EIO;
    if (rc == LDR_OK)
        rc = ldr_pg_exec(c, "SET client_min_messages = warning; LISTEN " LDR_PG_CHANNEL, 0, NULL,
                         s->stop_fd, ldr_pg_now_ms() + LDR__QUERY_MS, NULL, err, size);
    if (rc != LDR_OK) {
        PQfinish(c);
        return LDR_EIO;
    }
    s->conn = c;
    return LDR_OK;
}

static void ldr__drop(ldr_pg_sync_t *s, const char *why)
{
    if (s->conn != NULL) {
        ldr__log("lost the connection (%s); reconnecting", why);
        PQfinish(s->conn);
        s->conn = NULL;
    }
    atomic_store(&s->connected, 0);
    atomic_fetch_add(&s->failures, 1);
}

static void ldr__take_notifications(ldr_pg_sync_t *s)
{
    PGnotify *n;
    while ((n = PQnotifies(s->conn)) != NULL) {
        atomic_fetch_add(&s->notifications, 1);
        if (strcmp(n->extra, "*") == 0)
            s->reconcile = true;
        else if (ldr_sku_valid(n->extra, strlen(n->extra)) && s->npending < LDR__PENDING_MAX) {
            ldr_buf_append(&s->pending, n->extra, strlen(n->extra) + 1);
            s->npending++;
        } else if (!ldr_sku_valid(n->extra, strlen(n->extra))) {
            atomic_fetch_add(&s->rejected, 1);
        } else {
            s->reconcile = true; /* too many at once: the whole table instead */
        }
        PQfreemem(n);
    }
}

/* Sleeps ms or until stopped; true when stopped. */
static bool ldr__sleep(ldr_pg_sync_t *s, int ms)
{
    struct pollfd p = {s->stop_fd, POLLIN, 0};
    return poll(&p, 1, ms) > 0;
}

static bool ldr__stopping(ldr_pg_sync_t *s)
{
    return ldr__sleep(s, 0);
}

static void *ldr__main(void *arg)
{
    prctl(PR_SET_NAME, "larder-pgsync"); /* for top -H, ps -L and perf */
    ldr_pg_sync_t *s = arg;
    char err[LDR_PG_ERR_MAX];
    int backoff = LDR__BACKOFF_MIN_MS;
    bool reported = false; /* a failure to connect is logged once per outage */
    int64_t next_reconcile = 0;
    while (!ldr__stopping(s)) {
        if (s->conn == NULL) {
            if (ldr__connect(s, err, sizeof(err)) != LDR_OK) {
                if (ldr__stopping(s))
                    break;
                atomic_fetch_add(&s->failures, 1);
                if (!reported)
                    ldr__log("%s; retrying with backoff", err);
                reported = true;
                if (ldr__sleep(s, backoff))
                    break;
                backoff = backoff * 2 > LDR__BACKOFF_MAX_MS ? LDR__BACKOFF_MAX_MS : backoff * 2;
                continue;
            }
            if (reported || atomic_load(&s->connects) > 0)
                ldr__log("connected again; reconciling");
            reported = false;
            backoff = LDR__BACKOFF_MIN_MS;
            atomic_store(&s->connected, 1);
            atomic_fetch_add(&s->connects, 1);
            s->reconcile = true; /* whatever changed while nobody listened */
        }
        int64_t now = ldr_pg_now_ms();
        if (s->reconcile || (s->reconcile_ms > 0 && now >= next_reconcile)) {
            s->reconcile = false;
            /* a reconciliation covers the SKUs named so far */
            ldr_buf_reset(&s->pending);
            s->npending = 0;
            if (ldr__reconcile(s, err, sizeof(err)) != LDR_OK) {
                if (ldr__stopping(s))
                    break;
                s->reconcile = true;
                ldr__drop(s, err);
                continue;
            }
            next_reconcile = ldr_pg_now_ms() + s->reconcile_ms;
        }
        ldr__take_notifications(s);
        if (s->npending > 0 && !s->reconcile) {
            if (ldr__apply_pending(s, err, sizeof(err)) != LDR_OK) {
                if (ldr__stopping(s))
                    break;
                s->reconcile = true; /* the named SKUs are covered by the next reconciliation */
                ldr__drop(s, err);
            }
            continue;
        }
        if (s->reconcile)
            continue;
        int timeout = -1;
        if (s->reconcile_ms > 0) {
            int64_t left = next_reconcile - ldr_pg_now_ms();
            timeout = left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
        }
        struct pollfd p[2] = {{PQsocket(s->conn), POLLIN, 0}, {s->stop_fd, POLLIN, 0}};
        if (poll(p, 2, timeout) < 0)
            continue;
        if (p[1].revents & POLLIN)
            break;
        if (p[0].revents != 0) {
            if (!PQconsumeInput(s->conn) || PQstatus(s->conn) == CONNECTION_BAD) {
                ldr_pg_error(err, sizeof(err), "PostgreSQL", PQerrorMessage(s->conn));
                s->reconcile = true;
                ldr__drop(s, err);
            }
        }
    }
    if (s->conn != NULL)
        PQfinish(s->conn);
    s->conn = NULL;
    atomic_store(&s->connected, 0);
    return NULL;
}

int ldr_pg_sync_start(ldr_app_t *app, const ldr_pg_sync_opts_t *o, ldr_pg_sync_t **out)
{
    ldr_pg_sync_t *s = ldr_calloc(1, sizeof(*s));
    s->app = app;
    s->url = strdup(o->url);
    s->reconcile_ms = o->reconcile_ms;
    s->stop_fd = eventfd(0, EFD_CLOEXEC);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    if (s->url == NULL || s->stop_fd < 0 || pthread_create(&s->thread, NULL, ldr__main, s) != 0) {
        if (s->stop_fd >= 0)
            close(s->stop_fd);
        free(s->url);
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->cond);
        ldr_free(s);
        return LDR_ENOMEM;
    }
    *out = s;
    return LDR_OK;
}

void ldr_pg_sync_stop(ldr_pg_sync_t *s)
{
    if (s == NULL)
        return;
    uint64_t one = 1;
    (void)!write(s->stop_fd, &one, sizeof(one));
    pthread_join(s->thread, NULL);
    close(s->stop_fd);
    ldr_buf_free(&s->pending);
    free(s->url);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    ldr_free(s);
}

void ldr_pg_sync_metrics(ldr_pg_sync_t *s, ldr_buf_t *b)
{
    ldr_buf_printf(
        b,
        "# HELP larder_pg_connected 1 while the PostgreSQL sync thread holds its connection "
        "(LISTEN).\n# TYPE larder_pg_connected gauge\nlarder_pg_connected %d\n"
        "# HELP larder_pg_connects_total Connections the sync thread made (the first included).\n"
        "# TYPE larder_pg_connects_total counter\nlarder_pg_connects_total %llu\n"
        "# HELP larder_pg_connection_failures_total Failed connection attempts and lost "
        "connections.\n# TYPE larder_pg_connection_failures_total counter\n"
        "larder_pg_connection_failures_total %llu\n"
        "# HELP larder_pg_notifications_total NOTIFYs received on " LDR_PG_CHANNEL ".\n"
        "# TYPE larder_pg_notifications_total counter\nlarder_pg_notifications_total %llu\n"
        "# HELP larder_pg_changes_applied_total Catalog changes from PostgreSQL that changed a "
        "product (durable and searchable).\n# TYPE larder_pg_changes_applied_total counter\n"
        "larder_pg_changes_applied_total{op=\"put\"} %llu\n"
        "larder_pg_changes_applied_total{op=\"delete\"} %llu\n"
        "# HELP larder_pg_reconciliations_total Whole-table comparisons completed.\n"
        "# TYPE larder_pg_reconciliations_total counter\nlarder_pg_reconciliations_total %llu\n"
        "# HELP larder_pg_last_reconcile_timestamp_seconds When the last one completed.\n"
        "# TYPE larder_pg_last_reconcile_timestamp_seconds gauge\n"
        "larder_pg_last_reconcile_timestamp_seconds %lld\n"
        "# HELP larder_pg_rejected_rows_total Rows (or notifications) that are not valid "
        "products; the product stays as served.\n# TYPE larder_pg_rejected_rows_total counter\n"
        "larder_pg_rejected_rows_total %llu\n"
        "# HELP larder_pg_apply_errors_total Changes the engine refused (e.g. the log failed); "
        "the next reconciliation retries them.\n# TYPE larder_pg_apply_errors_total counter\n"
        "larder_pg_apply_errors_total %llu\n",
        atomic_load(&s->connected), (unsigned long long)atomic_load(&s->connects),
        (unsigned long long)atomic_load(&s->failures),
        (unsigned long long)atomic_load(&s->notifications),
        (unsigned long long)atomic_load(&s->puts), (unsigned long long)atomic_load(&s->dels),
        (unsigned long long)atomic_load(&s->reconciliations),
        (long long)atomic_load(&s->last_reconcile), (unsigned long long)atomic_load(&s->rejected),
        (unsigned long long)atomic_load(&s->errors));
}
