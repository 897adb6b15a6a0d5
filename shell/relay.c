/*
 * The Kafka relay (see relay.h).
 *
 * Accounting.  pending[lsn & mask] counts the messages of record `lsn` not yet acknowledged, for
 * the records in (cursor, sent]; a record with no message counts 0 at once.  While a record is
 * being rendered its count holds one more, so that the acknowledgement of its first message does
 * not let the cursor pass it before its last one is produced.  Delivery reports come from
 * rd_kafka_poll on the relay thread itself: nothing here is shared but the metrics.
 */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "larder/app.h"
#include "larder/common.h"
#include "larder/orders.h"
#include "larder/wal.h"

#define LDR__RELAY_WINDOW      (1u << 16) /* records between the cursor and the last produced */
#define LDR__RELAY_SAVE_MS     200
#define LDR__RELAY_BACKOFF_MAX 30000

struct ldr_relay {
    ldr_engine_t *engine;
    char wal_dir[4200], dir[4200], cursor_path[4300];
    char brokers[1024];
    char topics[LDR_TOPIC_COUNT][256];

    pthread_t thread;
    bool started;
    atomic_bool stop;

    /* the relay thread's */
    rd_kafka_t *rk;
    ldr_wal_reader_t *reader;
    uint64_t cursor, saved, sent;
    uint32_t *pending;
    bool failed; /* start a new producer from the cursor */
    int backoff_ms;
    int64_t retry_at_ms, saved_at_ms;

    /* the consumer of other services' events (its own thread) */
    char group[256];
    pthread_t consumer;
    bool consumer_started;

    /* metrics */
    atomic_uint_fast64_t m_cursor, m_durable, m_produced, m_delivered, m_restarts;
    atomic_uint_fast64_t m_consumed, m_applied, m_skipped;
    atomic_bool m_down;
};

static int64_t ldr__mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the cursor file ---- */

int ldr_log_cursor_read(const char *path, uint64_t *lsn, char *err, size_t err_len)
{
    char *text = NULL;
    size_t len = 0;
    *lsn = 0;
    if (ldr_read_file(path, &text, &len) != LDR_OK) {
        if (errno == ENOENT)
            return LDR_ENOENT;
        snprintf(err, err_len, "%s: %s", path, strerror(errno));
        return LDR_EIO;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    int rc = LDR_OK;
    if (errno != 0 || end == text || (*end != '\n' && *end != '\0') || text[0] == '-') {
        snprintf(err, err_len, "%s: not a log sequence number", path);
        rc = LDR_EPARSE;
    }
    *lsn = v;
    ldr_free(text);
    return rc;
}

int ldr_log_cursor_write(const char *dir, const char *path, uint64_t lsn)
{
    char tmp[4400], line[32];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int n = snprintf(line, sizeof(line), "%" PRIu64 "\n", lsn);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool ok = fd >= 0 && write(fd, line, (size_t)n) == n && fdatasync(fd) == 0;
    if (fd >= 0)
        close(fd);
    ok = ok && rename(tmp, path) == 0;
    int dfd = ok ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    ok = ok && dfd >= 0 && fsync(dfd) == 0;
    if (dfd >= 0)
        close(dfd);
    if (!ok) {
        fprintf(stderr, "larder: cannot write %s: %s\n", path, strerror(errno));
        return LDR_EIO;
    }
    return LDR_OK;
}

int ldr_log_reader_open(const char *wal_dir, uint64_t *cursor, ldr_wal_reader_t **out,
                        const char *who, char *err, size_t err_len)
{
    uint64_t oldest = 0;
    int rc = ldr_wal_reader_open(wal_dir, *cursor + 1, out, &oldest, err, err_len);
    if (rc == LDR_ENOENT && oldest > *cursor + 1) {
        fprintf(stderr,
                "larder: %s: records %" PRIu64 "..%" PRIu64
                " left the log before they were read (the %s was off); going on from %" PRIu64 "\n",
                who, *cursor + 1, oldest - 1, who, oldest);
        *cursor = oldest - 1;
        rc = ldr_wal_reader_open(wal_dir, oldest, out, NULL, err, err_len);
    }
    return rc;
}

/* Writes the cursor when it moved (at most every LDR__RELAY_SAVE_MS unless `now`), and lets the
 * engine drop the log before it. */
static void ldr__cursor_save(ldr_relay_t *r, bool now)
{
    int64_t t = ldr__mono_ms();
    if (r->cursor == r->saved || (!now && t - r->saved_at_ms < LDR__RELAY_SAVE_MS))
        return;
    if (ldr_log_cursor_write(r->dir, r->cursor_path, r->cursor) != LDR_OK)
        return;
    r->saved = r->cursor;
    r->saved_at_ms = t;
    ldr_engine_retain_log(r->engine, LDR_RETAIN_KAFKA, r->saved + 1);
}

/* ---- producing ---- */

static void ldr__advance(ldr_relay_t *r)
{
    const uint32_t mask = LDR__RELAY_WINDOW - 1;
    while (r->cursor < r->sent && r->pending[(r->cursor + 1) & mask] == 0)
        r->cursor++;
    atomic_store_explicit(&r->m_cursor, r->cursor, memory_order_relaxed);
}

static void ldr__on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    ldr_relay_t *r = opaque;
    uint64_t lsn = (uint64_t)(uintptr_t)m->_private;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (!r->failed && !atomic_load(&r->stop))
            fprintf(stderr, "larder: relay: a message of lsn %" PRIu64 " was not delivered: %s\n",
                    lsn, rd_kafka_err2str(m->err));
        r->failed = true; /* its record is sent again by the next producer */
        return;
    }
    if (lsn <= r->cursor || lsn > r->sent)
        return; /* of a producer before the last restart */
    r->pending[lsn & (LDR__RELAY_WINDOW - 1)]--;
    atomic_fetch_add_explicit(&r->m_delivered, 1, memory_order_relaxed);
    atomic_store_explicit(&r->m_down, false, memory_order_relaxed);
    ldr__advance(r);
}

static void ldr__on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    ldr_relay_t *r = opaque;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        atomic_store_explicit(&r->m_down, true, memory_order_relaxed);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_fatal_error(rk, why, sizeof(why));
        fprintf(stderr, "larder: relay: fatal producer error: %s\n", why);
        r->failed = true;
    }
}

/* librdkafka logs a refused connection at every retry: warnings only, one line each. */
static void ldr__on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    if (level <= 4)
        fprintf(stderr, "larder: relay: kafka %s: %s\n", fac, buf);
}

typedef struct ldr__produce {
    ldr_relay_t *r;
    uint64_t lsn;
} ldr__produce_t;

static void ldr__produce_msg(void *ctx, const ldr_outbox_msg_t *m)
{
    ldr__produce_t *p = ctx;
    ldr_relay_t *r = p->r;
    for (;;) {
        if (r->failed || atomic_load(&r->stop))
            return; /* the record is not complete: the cursor stays before it */
        rd_kafka_resp_err_t err = rd_kafka_producev(
            r->rk, RD_KAFKA_V_TOPIC(r->topics[m->topic]), RD_KAFKA_V_KEY(m->key.ptr, m->key.len),
            RD_KAFKA_V_VALUE((void *)m->value.ptr, m->value.len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)p->lsn),
            RD_KAFKA_V_HEADER("eventId", m->id, -1), RD_KAFKA_V_HEADER("event", m->event, -1),
            RD_KAFKA_V_HEADER("source", "larder", -1), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            r->pending[p->lsn & (LDR__RELAY_WINDOW - 1)]++;
            atomic_fetch_add_explicit(&r->m_produced, 1, memory_order_relaxed);
            return;
        }
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            fprintf(stderr, "larder: relay: cannot produce %s of lsn %" PRIu64 ": %s\n", m->event,
                    p->lsn, rd_kafka_err2str(err));
            r->failed = true;
            return;
        }
        rd_kafka_poll(r->rk, 50); /* the local queue is full (brokers away): wait for room */
    }
}

static void ldr__drop_producer(ldr_relay_t *r)
{
    if (r->rk != NULL) {
        rd_kafka_purge(r->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(r->rk, 0);
        rd_kafka_destroy(r->rk);
        r->rk = NULL;
    }
    ldr_wal_reader_close(r->reader);
    r->reader = NULL;
}

static int ldr__set(rd_kafka_conf_t *conf, const char *k, const char *v, char *err, size_t n)
{
    return rd_kafka_conf_set(conf, k, v, err, n) == RD_KAFKA_CONF_OK ? LDR_OK : LDR_EINVAL;
}

/* A producer, and a reader from the cursor on. */
static int ldr__connect(ldr_relay_t *r, char *err, size_t err_len)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (ldr__set(conf, "bootstrap.servers", r->brokers, err, err_len) != LDR_OK ||
        ldr__set(conf, "enable.idempotence", "true", err, err_len) != LDR_OK ||
        ldr__set(conf, "message.timeout.ms", "0", err, err_len) != LDR_OK || /* never give up */
        ldr__set(conf, "linger.ms", "5", err, err_len) != LDR_OK ||
        ldr__set(conf, "partitioner", "murmur2_random", err, err_len) != LDR_OK ||
        ldr__set(conf, "client.id", "larder-relay", err, err_len) != LDR_OK ||
        ldr__set(conf, "log.connection.close", "false", err, err_len) != LDR_OK) {
        rd_kafka_conf_destroy(conf);
        return LDR_EINVAL;
    }
    rd_kafka_conf_set_opaque(conf, r);
    rd_kafka_conf_set_dr_msg_cb(conf, ldr__on_delivery);
    rd_kafka_conf_set_error_cb(conf, ldr__on_error);
    rd_kafka_conf_set_log_cb(conf, ldr__on_log);
    r->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, err_len);
    if (r->rk == NULL) {
        rd_kafka_conf_destroy(conf);
        return LDR_EINVAL;
    }
    int rc = ldr_log_reader_open(r->wal_dir, &r->cursor, &r->reader, "relay", err, err_len);
    if (rc != LDR_OK) {
        ldr__drop_producer(r);
        return rc;
    }
    r->sent = r->cursor;
    r->failed = false;
    return LDR_OK;
}

/* Reads and produces what became durable; true when it did something. */
static bool ldr__pump(ldr_relay_t *r)
{
    uint64_t durable = ldr_engine_durable_lsn(r->engine);
    atomic_store_explicit(&r->m_durable, durable, memory_order_relaxed);
    const uint32_t mask = LDR__RELAY_WINDOW - 1;
    bool did = false;
    for (int budget = 4096; budget > 0 && !r->failed && r->sent - r->cursor < mask; budget--) {
        ldr_wal_record_t rec;
        int rc = ldr_wal_reader_next(r->reader, durable, &rec);
        if (rc == LDR_ENOENT)
            break;
        if (rc != LDR_OK) {
            fprintf(stderr, "larder: relay: reading the log: %s\n",
                    ldr_wal_reader_error(r->reader));
            r->failed = true;
            break;
        }
        r->sent = rec.lsn;
        r->pending[rec.lsn & mask] = 1; /* held while it is rendered */
        ldr__produce_t p = {r, rec.lsn};
        if (ldr_outbox_render(r->engine, &rec, ldr__produce_msg, &p) < 0) {
            /* not an engine command (nothing else is logged): nothing to publish */
        }
        if (r->failed)
            break;
        r->pending[rec.lsn & mask]--;
        did = true;
    }
    ldr__advance(r);
    return did;
}

static void *ldr__relay_main(void *arg)
{
    prctl(PR_SET_NAME, "larder-relay");
    ldr_relay_t *r = arg;
    char err[512];
    while (!atomic_load(&r->stop)) {
        if (r->rk == NULL) {
            int64_t wait = r->retry_at_ms - ldr__mono_ms();
            if (wait > 0) {
                struct timespec ts = {0, (wait > 100 ? 100 : wait) * 1000000};
                nanosleep(&ts, NULL);
                continue;
            }
            if (ldr__connect(r, err, sizeof(err)) != LDR_OK) {
                fprintf(stderr, "larder: relay: %s; trying again in %d ms\n", err, r->backoff_ms);
                r->retry_at_ms = ldr__mono_ms() + r->backoff_ms;
                r->backoff_ms = r->backoff_ms * 2 > LDR__RELAY_BACKOFF_MAX ? LDR__RELAY_BACKOFF_MAX
                                                                           : r->backoff_ms * 2;
                continue;
            }
        }
        bool did = ldr__pump(r);
        rd_kafka_poll(r->rk, did ? 0 : 5);
        ldr__cursor_save(r, false);
        if (r->failed) {
            atomic_fetch_add_explicit(&r->m_restarts, 1, memory_order_relaxed);
            fprintf(stderr,
                    "larder: relay: starting a new producer from lsn %" PRIu64 " in %d ms\n",
                    r->cursor + 1, r->backoff_ms);
            ldr__drop_producer(r);
            r->retry_at_ms = ldr__mono_ms() + r->backoff_ms;
            r->backoff_ms = r->backoff_ms * 2 > LDR__RELAY_BACKOFF_MAX ? LDR__RELAY_BACKOFF_MAX
                                                                       : r->backoff_ms * 2;
        } else if (did) {
            r->backoff_ms = 100;
        }
    }
    return NULL;
}

/* ---- consuming other services' events ---- */

/*
 * Other services publish to the payment and delivery topics too: a payment service's
 * PaymentAuthorized / PaymentCaptured / PaymentFailed / PaymentRefunded, a delivery service's
 * DeliveryDispatched / Delivered, each with an orderId.  The consumer applies them to orders as
 * engine commands, through the engine queue like any write, and commits a message's offset once
 * its command is durable (or it was skipped): at least once.  An event applies only where the
 * order's status machine allows it from where the order is (a PaymentAuthorized to a
 * pending_payment order, a Delivered to one out for delivery or ready for pickup, ...), so the
 * same event seen twice, under its eventId or not, changes nothing the second time.  Messages
 * larder published itself (header source: larder) are not read back.
 */

typedef struct ldr__apply {
    ldr_engine_req_t req;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
} ldr__apply_t;

static void ldr__applied(ldr_engine_req_t *req)
{
    ldr__apply_t *a = (ldr__apply_t *)req;
    pthread_mutex_lock(&a->lock);
    a->done = true;
    pthread_cond_signal(&a->cond);
    pthread_mutex_unlock(&a->lock);
}

/* The command an event asks for, given where its order is; false: nothing to do. */
static bool ldr__event_command(const char *event, const ldr_order_t *o, ldr_cmd_t *c)
{
    int st = o->status;
    bool delivery = o->slot[0] != '\0';
    c->order = (ldr_str_t){o->id, strlen(o->id)};
    if (strcmp(event, "PaymentAuthorized") == 0 || strcmp(event, "PaymentCaptured") == 0) {
        c->type = LDR_CMD_ORDER_PAID;
        return st == LDR_ORDER_PENDING_PAYMENT;
    }
    if (strcmp(event, "PaymentFailed") == 0) {
        c->type = LDR_CMD_ORDER_CANCEL, c->reason = (ldr_str_t){"payment_declined", 16};
        return st == LDR_ORDER_PENDING_PAYMENT;
    }
    if (strcmp(event, "PaymentRefunded") == 0) {
        c->type = LDR_CMD_ORDER_REFUND, c->reason = (ldr_str_t){"refunded_at_provider", 20};
        return st >= LDR_ORDER_PAID && st <= LDR_ORDER_DELIVERED;
    }
    if (strcmp(event, "DeliveryDispatched") == 0) {
        c->type = LDR_CMD_ORDER_STATUS, c->role = LDR_ORDER_OUT_FOR_DELIVERY;
        return st == LDR_ORDER_PICKING && delivery;
    }
    if (strcmp(event, "Delivered") == 0 || strcmp(event, "DeliveryCompleted") == 0) {
        c->type = LDR_CMD_ORDER_STATUS, c->role = LDR_ORDER_DELIVERED;
        return st == LDR_ORDER_OUT_FOR_DELIVERY || st == LDR_ORDER_READY_FOR_PICKUP;
    }
    return false;
}

static bool ldr__from_larder(const rd_kafka_message_t *m)
{
    rd_kafka_headers_t *hdrs;
    const void *v;
    size_t n;
    return rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
           rd_kafka_header_get_last(hdrs, "source", &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR &&
           n == 6 && memcmp(v, "larder", 6) == 0;
}

enum { LDR__APPLIED, LDR__SKIPPED, LDR__RETRY };

/* Applies one message: LDR__APPLIED (it moved an order), LDR__SKIPPED, or LDR__RETRY (the log
 * cannot write now). */
static int ldr__consume_one(ldr_relay_t *r, const rd_kafka_message_t *m)
{
    json_error_t je;
    json_t *v = json_loadb(m->payload, m->len, JSON_REJECT_DUPLICATES, &je);
    const char *event = json_string_value(json_object_get(v, "event"));
    const char *order = json_string_value(json_object_get(v, "orderId"));
    const char *ref = json_string_value(json_object_get(v, "paymentReference"));
    bool applied = false;
    if (event != NULL && order != NULL && strlen(order) <= LDR_ORDER_ID_MAX) {
        ldr__apply_t a = {.req.done = ldr__applied};
        char id[LDR_ORDER_ID_MAX + 1], pay_ref[LDR_PAY_REF_MAX + 1];
        bool go = false;
        ldr_engine_read_lock(r->engine);
        const ldr_state_t *s = ldr_engine_state(r->engine);
        const ldr_order_t *o =
            s->orders != NULL ? ldr_orders_find(s->orders, order, strlen(order)) : NULL;
        if (o != NULL) {
            snprintf(id, sizeof(id), "%s", o->id);
            go = ldr__event_command(event, o, &a.req.cmd);
            a.req.cmd.order = (ldr_str_t){id, strlen(id)};
        }
        ldr_engine_read_unlock(r->engine);
        if (go && a.req.cmd.type == LDR_CMD_ORDER_PAID && ref != NULL &&
            strlen(ref) <= LDR_PAY_REF_MAX) {
            snprintf(pay_ref, sizeof(pay_ref), "%s", ref);
            a.req.cmd.pay_ref = (ldr_str_t){pay_ref, strlen(pay_ref)};
        }
        if (go) {
            pthread_mutex_init(&a.lock, NULL);
            pthread_cond_init(&a.cond, NULL);
            ldr_engine_submit(r->engine, &a.req);
            pthread_mutex_lock(&a.lock);
            while (!a.done)
                pthread_cond_wait(&a.cond, &a.lock);
            pthread_mutex_unlock(&a.lock);
            pthread_cond_destroy(&a.cond);
            pthread_mutex_destroy(&a.lock);
            /* refused: the order moved meanwhile; a failed log: the message comes again */
            applied = a.req.result.status == LDR_OK;
            if (a.req.result.status == LDR_ESTORAGE) {
                json_decref(v);
                return LDR__RETRY;
            }
        }
    }
    json_decref(v);
    return applied ? LDR__APPLIED : LDR__SKIPPED;
}

static void *ldr__consumer_main(void *arg)
{
    prctl(PR_SET_NAME, "larder-consumer");
    ldr_relay_t *r = arg;
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (ldr__set(conf, "bootstrap.servers", r->brokers, err, sizeof(err)) != LDR_OK ||
        ldr__set(conf, "group.id", r->group, err, sizeof(err)) != LDR_OK ||
        ldr__set(conf, "enable.auto.commit", "false", err, sizeof(err)) != LDR_OK ||
        ldr__set(conf, "auto.offset.reset", "earliest", err, sizeof(err)) != LDR_OK ||
        ldr__set(conf, "client.id", "larder-consumer", err, sizeof(err)) != LDR_OK ||
        ldr__set(conf, "log.connection.close", "false", err, sizeof(err)) != LDR_OK) {
        fprintf(stderr, "larder: relay: consumer: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_conf_set_log_cb(conf, ldr__on_log);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    if (rk == NULL) {
        fprintf(stderr, "larder: relay: consumer: %s\n", err);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(topics, r->topics[LDR_TOPIC_PAYMENT], RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(topics, r->topics[LDR_TOPIC_DELIVERY], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
        fprintf(stderr, "larder: relay: consumer: subscribe: %s\n", rd_kafka_err2str(e));
    while (!atomic_load(&r->stop) && e == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            atomic_fetch_add_explicit(&r->m_consumed, 1, memory_order_relaxed);
            int res = ldr__from_larder(m) ? LDR__SKIPPED : ldr__consume_one(r, m);
            while (res == LDR__RETRY && !atomic_load(&r->stop)) {
                struct timespec ts = {0, 200 * 1000000};
                nanosleep(&ts, NULL);
                res = ldr__consume_one(r, m);
            }
            if (res != LDR__RETRY) {
                atomic_fetch_add_explicit(res == LDR__APPLIED ? &r->m_applied : &r->m_skipped, 1,
                                          memory_order_relaxed);
                rd_kafka_commit_message(rk, m, 1); /* its command is durable, or there is none */
            }
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, "larder: relay: consumer: %s\n", rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return NULL;
}

/* ---- life cycle ---- */

/* The topic name of t in cfg (its default when unset). */
static const char *ldr__topic(const ldr_relay_config_t *cfg, int t)
{
    return cfg->topics[t] != NULL && cfg->topics[t][0] != '\0' ? cfg->topics[t]
                                                               : ldr_topic_default_names[t];
}

int ldr_relay_config_check(const ldr_relay_config_t *cfg, char *err, size_t err_len)
{
    if (cfg->brokers == NULL || cfg->brokers[0] == '\0' ||
        strlen(cfg->brokers) >= sizeof(((ldr_relay_t *)0)->brokers)) {
        snprintf(err, err_len, "LARDER_KAFKA_BROKERS wants host:port[,host:port...]");
        return LDR_EINVAL;
    }
    for (int t = 0; t < LDR_TOPIC_COUNT; t++) {
        const char *name = ldr__topic(cfg, t);
        size_t n = strlen(name);
        if (n == 0 || n > 249 ||
            strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
                n) {
            snprintf(err, err_len,
                     "\"%.64s\" is not a Kafka topic name (1 to 249 letters, digits, . _ -)", name);
            return LDR_EINVAL;
        }
    }
    return LDR_OK;
}

int ldr_relay_new(const ldr_relay_config_t *cfg, const char *data_dir, ldr_engine_t *e,
                  ldr_relay_t **out, char *err, size_t err_len)
{
    *out = NULL;
    if (ldr_relay_config_check(cfg, err, err_len) != LDR_OK)
        return LDR_EINVAL;
    ldr_relay_t *r = ldr_calloc(1, sizeof(*r));
    r->engine = e;
    snprintf(r->brokers, sizeof(r->brokers), "%s", cfg->brokers);
    for (int t = 0; t < LDR_TOPIC_COUNT; t++)
        snprintf(r->topics[t], sizeof(r->topics[t]), "%s", ldr__topic(cfg, t));
    snprintf(r->group, sizeof(r->group), "%s", cfg->group == NULL ? "larder" : cfg->group);
    snprintf(r->wal_dir, sizeof(r->wal_dir), "%s/wal", data_dir);
    snprintf(r->dir, sizeof(r->dir), "%s/relay", data_dir);
    snprintf(r->cursor_path, sizeof(r->cursor_path), "%s/kafka.cursor", r->dir);
    if (mkdir(r->dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "mkdir %s: %s", r->dir, strerror(errno));
        ldr_free(r);
        return LDR_EIO;
    }
    int rc = ldr_log_cursor_read(r->cursor_path, &r->cursor, err, err_len);
    if (rc != LDR_OK && rc != LDR_ENOENT) {
        ldr_free(r);
        return rc;
    }
    /* a first start relays the whole log */
    r->saved = r->sent = r->cursor;
    r->pending = ldr_calloc(LDR__RELAY_WINDOW, sizeof(*r->pending));
    r->backoff_ms = 100;
    atomic_init(&r->stop, false);
    atomic_init(&r->m_cursor, r->cursor);
    atomic_init(&r->m_durable, 0);
    atomic_init(&r->m_produced, 0);
    atomic_init(&r->m_delivered, 0);
    atomic_init(&r->m_restarts, 0);
    atomic_init(&r->m_consumed, 0);
    atomic_init(&r->m_applied, 0);
    atomic_init(&r->m_skipped, 0);
    atomic_init(&r->m_down, false);
    ldr_engine_retain_log(e, LDR_RETAIN_KAFKA, r->cursor + 1);
    *out = r;
    return LDR_OK;
}

int ldr_relay_start(ldr_relay_t *r)
{
    if (pthread_create(&r->thread, NULL, ldr__relay_main, r) != 0)
        return LDR_ENOMEM;
    r->started = true;
    if (r->group[0] != '\0') {
        if (pthread_create(&r->consumer, NULL, ldr__consumer_main, r) != 0)
            return LDR_ENOMEM;
        r->consumer_started = true;
    }
    return LDR_OK;
}

void ldr_relay_stop(ldr_relay_t *r, int timeout_ms)
{
    if (r == NULL || !r->started)
        return;
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    r->started = false;
    if (r->consumer_started)
        pthread_join(r->consumer, NULL);
    r->consumer_started = false;
    if (r->rk != NULL) {
        /* what is out gets its time to be acknowledged; what is not waits in the log */
        for (int64_t end = ldr__mono_ms() + timeout_ms;
             rd_kafka_outq_len(r->rk) > 0 && ldr__mono_ms() < end;)
            rd_kafka_poll(r->rk, 20);
    }
    ldr__cursor_save(r, true);
    ldr__drop_producer(r);
}

void ldr_relay_free(ldr_relay_t *r)
{
    if (r == NULL)
        return;
    ldr_relay_stop(r, 0);
    ldr_free(r->pending);
    ldr_free(r);
}

void ldr_relay_metrics(ldr_relay_t *r, ldr_relay_metrics_t *out)
{
    out->cursor = atomic_load_explicit(&r->m_cursor, memory_order_relaxed);
    out->durable = atomic_load_explicit(&r->m_durable, memory_order_relaxed);
    out->produced = atomic_load_explicit(&r->m_produced, memory_order_relaxed);
    out->delivered = atomic_load_explicit(&r->m_delivered, memory_order_relaxed);
    out->restarts = atomic_load_explicit(&r->m_restarts, memory_order_relaxed);
    out->brokers_down = atomic_load_explicit(&r->m_down, memory_order_relaxed);
    out->consumed = atomic_load_explicit(&r->m_consumed, memory_order_relaxed);
    out->applied = atomic_load_explicit(&r->m_applied, memory_order_relaxed);
    out->skipped = atomic_load_explicit(&r->m_skipped, memory_order_relaxed);
}
