/*
 * /metrics: the Prometheus text exposition (version 0.0.4).
 *
 * Each loop thread counts its own requests (per route and status, and a latency histogram per
 * route) in relaxed atomics that only it writes; a scrape sums every loop's.  A request's latency
 * runs from the start of routing to the answer: for reads that is the handler's run, for writes it
 * includes the wait for the log (measured when the engine's reply is sent).  The engine and its
 * log report their own figures (ldr_engine_metrics).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "adapters/delivery.h"
#include "adapters/payment.h"
#include "http_internal.h"
#include "larder/pg.h"
#include "pg_sink.h"
#include "relay.h"

/* jemalloc's control interface when the binary links it (sanitizer builds do not) */
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
    __attribute__((weak));

/* upper bounds of the latency buckets, microseconds */
static const uint32_t ldr__le_us[LDR_METRIC_BUCKETS] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000};
static const int ldr__codes[LDR_METRIC_CODES] = {200, 201, 400, 401, 403, 404,
                                                 405, 409, 413, 500, 503, 0};

/* ---- request ids and request logs ---- */

static const h2o_iovec_t ldr__request_id_name = {H2O_STRLIT("x-request-id")};

void ldr_request_id(ldr_loop_t *l, h2o_req_t *req)
{
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-request-id"), -1);
    h2o_iovec_t id = {NULL, 0};
    if (i >= 0) {
        id = req->headers.entries[i].value;
        bool ok = id.len >= 1 && id.len <= 128;
        for (size_t j = 0; ok && j < id.len; j++)
            ok = id.base[j] > 0x20 && id.base[j] < 0x7f && id.base[j] != '"' && id.base[j] != '\\';
        if (!ok)
            id.base = NULL; /* not usable in a log line or a header: a new one instead */
    }
    if (id.base == NULL) { /* BOOT-LOOP-SERIAL: the prefix printed once, the serial by hand */
        if (l->request_id_prefix_len == 0) {
            static _Atomic uint64_t boot; /* the first loop's stamp; any nonzero one will do */
            uint64_t zero = 0, stamp = ldr_metric_now_us() ^ ((uint64_t)getpid() << 40) ^ 1;
            atomic_compare_exchange_strong(&boot, &zero, stamp);
            l->request_id_prefix_len = (uint8_t)snprintf(
                l->request_id_prefix, sizeof(l->request_id_prefix), "%012llx-%u-",
                (unsigned long long)(atomic_load(&boot) & 0xffffffffffffULL), l->index % 100000);
        }
        char digits[20], *d = digits + sizeof(digits);
        uint64_t n = ++l->request_ids;
        do
            *--d = (char)('0' + n % 10);
        while ((n /= 10) != 0);
        size_t nd = (size_t)(digits + sizeof(digits) - d);
        id.len = l->request_id_prefix_len + nd;
        id.base = h2o_mem_alloc_pool(&req->pool, id.len);
        memcpy(id.base, l->request_id_prefix, l->request_id_prefix_len);
        memcpy(id.base + l->request_id_prefix_len, d, nd);
    }
    h2o_add_header_by_str(&req->pool, &req->res.headers, ldr__request_id_name.base,
                          ldr__request_id_name.len, 0, NULL, id.base, id.len);
}

/* {"time","level","msg","method","path","route","status","latency_us","protocol","request_id"} */
static void ldr__log_request(ldr_loop_t *l, h2o_req_t *req, uint32_t route, uint64_t us)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    ldr_buf_t *b = &l->log;
    ldr_buf_puts(b, "{\"time\":");
    ldr_buf_json_time(b, (int64_t)now.tv_sec);
    ldr_buf_printf(b, ",\"level\":\"info\",\"msg\":\"request\",\"method\":");
    ldr_buf_json_str(b, req->method.base, req->method.len > 16 ? 16 : req->method.len);
    ldr_buf_puts(b, ",\"path\":"); /* without the query, and never a header: no tokens here */
    ldr_buf_json_str(b, req->path_normalized.base,
                     req->path_normalized.len > 256 ? 256 : req->path_normalized.len);
    ldr_buf_printf(b, ",\"route\":\"%s\",\"status\":%d,\"latency_us\":%llu,\"protocol\":\"%s\"",
                   ldr_route_name(route), req->res.status, (unsigned long long)us,
                   req->version >= 0x200 ? "HTTP/2" : "HTTP/1.1");
    ssize_t i = h2o_find_header_by_str(&req->res.headers, H2O_STRLIT("x-request-id"), -1);
    if (i >= 0) {
        ldr_buf_puts(b, ",\"request_id\":");
        ldr_buf_json_str(b, req->res.headers.entries[i].value.base,
                         req->res.headers.entries[i].value.len);
    }
    ldr_buf_puts(b, "}\n");
    if (b->len >= 64 * 1024)
        ldr_log_flush(l);
}

void ldr_log_flush(ldr_loop_t *l)
{
    size_t off = 0;
    while (off < l->log.len) {
        ssize_t n = write(2, l->log.base + off, l->log.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* stderr is gone or full: drop the lines rather than stall the loop */
        off += (size_t)n;
    }
    ldr_buf_reset(&l->log);
}

uint64_t ldr_metric_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void ldr__log_request(ldr_loop_t *l, h2o_req_t *req, uint32_t route, uint64_t us);

void ldr_request_done(ldr_loop_t *l, h2o_req_t *req, uint32_t route, uint64_t start_us)
{
    int status = req->res.status;
    uint64_t us = ldr_metric_now_us() - start_us;
    if (l->log_requests)
        ldr__log_request(l, req, route, us);
    if (route >= LDR_METRIC_ROUTES)
        return;
    ldr_route_metrics_t *m = &l->metrics[route];
    uint32_t c = 0;
    while (c + 1 < LDR_METRIC_CODES && ldr__codes[c] != status)
        c++;
    atomic_fetch_add_explicit(&m->by_code[c], 1, memory_order_relaxed);
    uint32_t b = 0;
    while (b < LDR_METRIC_BUCKETS && us > ldr__le_us[b])
        b++;
    if (b < LDR_METRIC_BUCKETS)
        atomic_fetch_add_explicit(&m->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_us, us, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
}

static uint64_t ldr__load(const atomic_uint_fast64_t *v)
{
    return atomic_load_explicit(v, memory_order_relaxed);
}

/* A Prometheus histogram from per-bucket counts; bucket bounds are le[i] / scale. */
static void ldr__histogram(ldr_buf_t *b, const char *name, const char *labels,
                           const uint64_t *buckets, uint64_t count, double sum, const uint32_t *le,
                           uint32_t n, double scale)
{
    uint64_t cum = 0;
    for (uint32_t i = 0; i < n; i++) {
        cum += buckets[i];
        ldr_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, labels[0] ? "," : "",
                       (double)le[i] / scale, (unsigned long long)cum);
    }
    ldr_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, labels[0] ? "," : "",
                   (unsigned long long)count);
    const char *open = labels[0] ? "{" : "", *close = labels[0] ? "}" : "";
    ldr_buf_printf(b, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %llu\n", name, open, labels, close, sum,
                   name, open, labels, close, (unsigned long long)count);
}

/* The configured payment and delivery providers' calls and circuit breakers. */
static void ldr__breakers(ldr_buf_t *b)
{
    ldr_courier_t *grab = ldr_courier("grab", 4), *vtp = ldr_courier("viettelpost", 11);
    ldr_breaker_t *all[] = {ldr_stripe() != NULL ? &ldr_stripe()->breaker : NULL,
                            ldr_momo() != NULL ? &ldr_momo()->breaker : NULL,
                            grab != NULL ? &grab->breaker : NULL,
                            vtp != NULL ? &vtp->breaker : NULL};
    static const struct {
        const char *name, *help, *type;
    } m[] = {
        {"larder_provider_attempts_total", "HTTP attempts made to the provider.", "counter"},
        {"larder_provider_failed_attempts_total",
         "Attempts that failed (no connection, no answer in time, 429, 5xx).", "counter"},
        {"larder_provider_refused_calls_total",
         "Calls not sent because the provider's circuit breaker was open.", "counter"},
        {"larder_provider_breaker_opened_total", "Times the circuit breaker opened.", "counter"},
        {"larder_provider_breaker_open", "1 while the circuit breaker is open.", "gauge"},
    };
    for (size_t k = 0; k < LDR_ARRAY_SIZE(m); k++) {
        bool any = false;
        for (size_t i = 0; i < LDR_ARRAY_SIZE(all); i++) {
            ldr_breaker_t *br = all[i];
            if (br == NULL)
                continue;
            if (!any)
                ldr_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", m[k].name, m[k].help, m[k].name,
                               m[k].type);
            any = true;
            uint64_t v = k == 0   ? atomic_load(&br->attempts)
                         : k == 1 ? atomic_load(&br->failed)
                         : k == 2 ? atomic_load(&br->refused)
                         : k == 3 ? atomic_load(&br->opened)
                                  : (uint64_t)atomic_load(&br->open);
            ldr_buf_printf(b, "%s{provider=\"%s\"} %llu\n", m[k].name, br->name,
                           (unsigned long long)v);
        }
    }
}

int ldr_route_metrics(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg)
{
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_puts(&b, "# HELP larder_http_requests_total HTTP requests answered, by route and "
                     "status (\"other\" for the rest).\n"
                     "# TYPE larder_http_requests_total counter\n");
    for (uint32_t r = 0; r < ldr_route_count() && r < LDR_METRIC_ROUTES; r++)
        for (uint32_t c = 0; c < LDR_METRIC_CODES; c++) {
            uint64_t n = 0;
            for (uint32_t i = 0; i < h->nloops; i++)
                n += ldr__load(&h->loops[i]->metrics[r].by_code[c]);
            if (n == 0)
                continue;
            char code[8];
            if (ldr__codes[c] != 0)
                snprintf(code, sizeof(code), "%d", ldr__codes[c]);
            else
                strcpy(code, "other");
            ldr_buf_printf(&b, "larder_http_requests_total{route=\"%s\",code=\"%s\"} %llu\n",
                           ldr_route_name(r), code, (unsigned long long)n);
        }
    ldr_buf_puts(&b, "# HELP larder_http_request_duration_seconds From routing to the answer; "
                     "writes include the wait for the log.\n"
                     "# TYPE larder_http_request_duration_seconds histogram\n");
    for (uint32_t r = 0; r < ldr_route_count() && r < LDR_METRIC_ROUTES; r++) {
        uint64_t buckets[LDR_METRIC_BUCKETS] = {0}, count = 0, sum = 0;
        for (uint32_t i = 0; i < h->nloops; i++) {
            const ldr_route_metrics_t *m = &h->loops[i]->metrics[r];
            for (uint32_t k = 0; k < LDR_METRIC_BUCKETS; k++)
                buckets[k] += ldr__load(&m->buckets[k]);
            count += ldr__load(&m->count);
            sum += ldr__load(&m->sum_us);
        }
        if (count == 0)
            continue;
        char labels[96];
        snprintf(labels, sizeof(labels), "route=\"%s\"", ldr_route_name(r));
        ldr__histogram(&b, "larder_http_request_duration_seconds", labels, buckets, count,
                       (double)sum / 1e6, ldr__le_us, LDR_METRIC_BUCKETS, 1e6);
    }
    unsigned inflight = 0;
    for (uint32_t i = 0; i < h->nloops; i++)
        inflight += atomic_load_explicit(&h->loops[i]->inflight, memory_order_relaxed);
    ldr_buf_printf(&b,
                   "# HELP larder_http_writes_in_flight Writes waiting for the engine's answer.\n"
                   "# TYPE larder_http_writes_in_flight gauge\nlarder_http_writes_in_flight %u\n"
                   "# TYPE larder_http_loop_threads gauge\nlarder_http_loop_threads %u\n",
                   inflight, h->nloops);
    if (mallctl != NULL) {
        uint64_t epoch = 1;
        size_t allocated = 0, resident = 0, sz = sizeof(size_t);
        mallctl("epoch", NULL, NULL, &epoch, sizeof(epoch)); /* refresh the statistics */
        if (mallctl("stats.allocated", &allocated, &sz, NULL, 0) == 0 &&
            mallctl("stats.resident", &resident, &sz, NULL, 0) == 0)
            ldr_buf_printf(&b,
                           "# HELP larder_jemalloc_allocated_bytes Bytes the program holds.\n"
                           "# TYPE larder_jemalloc_allocated_bytes gauge\n"
                           "larder_jemalloc_allocated_bytes %zu\n"
                           "# HELP larder_jemalloc_resident_bytes Bytes of physical memory the "
                           "allocator maps.\n"
                           "# TYPE larder_jemalloc_resident_bytes gauge\n"
                           "larder_jemalloc_resident_bytes %zu\n",
                           allocated, resident);
    }
    ldr_app_t *app = h->app;
    bool ready = ldr_app_ready(app);
    ldr_buf_printf(&b,
                   "# HELP larder_ready 1 once the catalog is loaded and the log replayed.\n"
                   "# TYPE larder_ready gauge\nlarder_ready %d\n",
                   ready ? 1 : 0);
    if (ready) {
        ldr_engine_metrics_t em;
        ldr_engine_metrics(app->engine, &em);
        uint64_t lag_from = em.snapshot_lsn;
        if (app->relay != NULL) {
            ldr_relay_metrics_t rm;
            ldr_relay_metrics(app->relay, &rm);
            lag_from = rm.cursor < em.durable_lsn ? rm.cursor : em.durable_lsn;
        }
        ldr_app_read_begin(app);
        uint32_t stores = ldr_intern_count(ldr_stock_stores(ldr_app_stock(app)));
        uint32_t products = ldr_catalog_count(app->catalog);
        ldr_app_read_end(app);
        ldr_view_t *v = ldr_app_view(app);
        double build_ms = v != NULL ? v->build_ms : 0;
        ldr_view_release(v);
        ldr_buf_printf(
            &b,
            "# TYPE larder_catalog_products gauge\nlarder_catalog_products %u\n"
            "# HELP larder_catalog_views_built_total Catalog views (frozen copy and search index) "
            "published, the first included.\n"
            "# TYPE larder_catalog_views_built_total counter\nlarder_catalog_views_built_total "
            "%llu\n"
            "# HELP larder_catalog_view_build_seconds How long the newest view took to build.\n"
            "# TYPE larder_catalog_view_build_seconds gauge\nlarder_catalog_view_build_seconds "
            "%.4f\n"
            "# TYPE larder_stock_stores gauge\nlarder_stock_stores %u\n"
            "# TYPE larder_reservations gauge\nlarder_reservations %u\n"
            "# TYPE larder_idempotency_keys gauge\nlarder_idempotency_keys %u\n"
            "# HELP larder_wal_applied_lsn The last log record applied (durable or not).\n"
            "# TYPE larder_wal_applied_lsn gauge\nlarder_wal_applied_lsn %llu\n"
            "# TYPE larder_wal_durable_lsn gauge\nlarder_wal_durable_lsn %llu\n"
            "# TYPE larder_wal_snapshot_lsn gauge\nlarder_wal_snapshot_lsn %llu\n"
            "# HELP larder_wal_failed 1 while the log cannot write (writes answer 503).\n"
            "# TYPE larder_wal_failed gauge\nlarder_wal_failed %d\n"
            "# HELP larder_engine_queue_depth Requests waiting for the engine to take them.\n"
            "# TYPE larder_engine_queue_depth gauge\nlarder_engine_queue_depth %llu\n"
            "# TYPE larder_wal_batches_total counter\nlarder_wal_batches_total %llu\n"
            "# TYPE larder_wal_records_total counter\nlarder_wal_records_total %llu\n"
            "# TYPE larder_wal_bytes_total counter\nlarder_wal_bytes_total %llu\n"
            "# HELP larder_outbox_lag_records Durable records the Kafka relay has not published "
            "yet (without LARDER_KAFKA_BROKERS: the records since the last snapshot).\n"
            "# TYPE larder_outbox_lag_records gauge\nlarder_outbox_lag_records %llu\n",
            products,
            (unsigned long long)atomic_load_explicit(&app->views_built, memory_order_relaxed),
            build_ms / 1e3, stores, em.reservations, em.idempotency_keys,
            (unsigned long long)em.applied_lsn, (unsigned long long)em.durable_lsn,
            (unsigned long long)em.snapshot_lsn, em.failed ? 1 : 0, (unsigned long long)em.queued,
            (unsigned long long)em.batches, (unsigned long long)em.records,
            (unsigned long long)em.bytes, (unsigned long long)(em.durable_lsn - lag_from));
        ldr_buf_puts(&b, "# HELP larder_wal_sync_seconds One batch: write + fdatasync, submit "
                         "to completion.\n# TYPE larder_wal_sync_seconds histogram\n");
        ldr__histogram(&b, "larder_wal_sync_seconds", "", em.sync_buckets, em.batches,
                       (double)em.sync_sum_us / 1e6, ldr_engine_sync_le_us, LDR_ENGINE_SYNC_BUCKETS,
                       1e6);
        ldr_buf_puts(&b, "# HELP larder_wal_batch_records Records per durable batch.\n"
                         "# TYPE larder_wal_batch_records histogram\n");
        ldr__histogram(&b, "larder_wal_batch_records", "", em.batch_buckets, em.batches,
                       (double)em.records, ldr_engine_batch_le, LDR_ENGINE_BATCH_BUCKETS, 1);
    }
    if (app->relay != NULL) {
        ldr_relay_metrics_t rm;
        ldr_relay_metrics(app->relay, &rm);
        ldr_buf_printf(
            &b,
            "# HELP larder_relay_cursor_lsn Every event up to this log record is in Kafka.\n"
            "# TYPE larder_relay_cursor_lsn gauge\nlarder_relay_cursor_lsn %llu\n"
            "# TYPE larder_relay_messages_produced_total counter\n"
            "larder_relay_messages_produced_total %llu\n"
            "# TYPE larder_relay_messages_delivered_total counter\n"
            "larder_relay_messages_delivered_total %llu\n"
            "# HELP larder_relay_restarts_total Producers started again from the cursor after "
            "an error.\n"
            "# TYPE larder_relay_restarts_total counter\nlarder_relay_restarts_total %llu\n"
            "# HELP larder_relay_brokers_down 1 while the producer reaches no broker.\n"
            "# TYPE larder_relay_brokers_down gauge\nlarder_relay_brokers_down %d\n"
            "# HELP larder_consumer_messages_total Messages read from the payment and delivery "
            "topics, by what became of them.\n"
            "# TYPE larder_consumer_messages_total counter\n"
            "larder_consumer_messages_total{result=\"applied\"} %llu\n"
            "larder_consumer_messages_total{result=\"skipped\"} %llu\n",
            (unsigned long long)rm.cursor, (unsigned long long)rm.produced,
            (unsigned long long)rm.delivered, (unsigned long long)rm.restarts,
            rm.brokers_down ? 1 : 0, (unsigned long long)rm.applied,
            (unsigned long long)rm.skipped);
    }
    if (ready && app->pg_sync != NULL)
        ldr_pg_sync_metrics(app->pg_sync, &b);
    if (ready && app->pg_sink != NULL)
        ldr_pg_sink_metrics(app->pg_sink, ldr_engine_durable_lsn(app->engine), &b);
    ldr__breakers(&b);
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("text/plain; version=0.0.4; charset=utf-8"));
    req->res.content_length = b.len;
    h2o_send_inline(req, b.base, b.len);
    ldr_buf_free(&b);
    return 0;
}
