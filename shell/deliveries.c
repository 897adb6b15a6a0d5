/*
 * The booking desk: couriers for same-day orders, booked and cancelled outside the engine thread.
 *
 * An order placed with a delivery address names its courier (the delivery provider) and starts
 * `pending`.  Once it is paid, the desk books the courier (adapters/delivery.h) under the order's
 * id, which the provider de-duplicates, and records the booking by a DELIVERY command (tracking
 * id, domain event DeliveryBooked); once a booked order is cancelled or refunded, the desk cancels
 * the booking and records that (DeliveryCancelled).  Booking at `paid` rather than at `picking`:
 * a courier needs time to be allocated, and the window is what the customer chose; an order
 * cancelled before pickup cancels the courier.
 *
 * The desk is one thread with a queue of order ids to look at.  Whatever moves an order (a write
 * of ORDER_PAID, ORDER_CANCEL, ORDER_REFUND or ORDER_STATUS, from a checkout, a webhook, a cancel
 * or an admin) pokes it (writes.c); at start every order is looked at once, so a restart takes up
 * what a stop interrupted.  Looking at an order reads it under the read lock and decides: book,
 * cancel, or nothing.  A call goes through the adapter thread (deadline, retries with backoff,
 * breaker); its answer comes back here, and the desk submits the command that records it, then
 * looks at the order again (a cancel that came while it was being booked cancels the booking).
 *
 * A booking that fails is never lost: the first failure is recorded (`booking_failed`, with what
 * the provider said, visible on the order), and the order is looked at again after
 * LARDER_DELIVERY_RETRY_MS (5 s), doubling up to 5 minutes, for as long as the process runs; a
 * restart starts over.  A failed cancel is retried the same way.  While the provider's breaker is
 * open the calls fail at once without being sent.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "adapters/delivery.h"
#include "http_internal.h"

#define LDR__RETRY_MAX_MS (5 * 60 * 1000)

typedef struct ldr__job {
    char order[LDR_ORDER_ID_MAX + 1];
    uint64_t due_ms;
    uint32_t failures; /* calls for this order that failed in a row */
    struct ldr__job *next;
} ldr__job_t;

typedef struct ldr__task {
    ldr_deliveries_t *d;
    int op;    /* LDR_DLV_BOOK or LDR_DLV_CANCEL */
    int stage; /* 1: asking the provider; 2: recording its answer */
    ldr_courier_t *k;
    ldr_delivery_order_t o;
    int delivery; /* the order's delivery status when it was looked at */
    uint32_t failures;
    ldr_http_call_t call;
    ldr_delivery_answer_t a;
    ldr_engine_req_t req;
    char note[65];
    struct ldr__task *next; /* in `done`, or in `active` */
} ldr__task_t;

struct ldr_deliveries {
    ldr_app_t *app;
    struct ldr_http_client *hc;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    ldr__job_t *jobs;    /* under lock: orders to look at */
    ldr__task_t *done;   /* under lock: tasks whose stage finished */
    ldr__task_t *active; /* the thread's: tasks under way */
    bool stopping;       /* under lock */
    uint32_t retry_ms, timeout_ms;
};

static uint64_t ldr__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Queues order `id` to be looked at `delay_ms` from now (under d->lock). */
static void ldr__queue_locked(ldr_deliveries_t *d, const char *id, size_t len, uint64_t delay_ms,
                              uint32_t failures)
{
    uint64_t due = ldr__now_ms() + delay_ms;
    for (ldr__job_t *j = d->jobs; j != NULL; j = j->next)
        if (strlen(j->order) == len && memcmp(j->order, id, len) == 0) {
            if (due < j->due_ms) /* a poke comes before a retry */
                j->due_ms = due;
            if (failures > j->failures)
                j->failures = failures;
            return;
        }
    ldr__job_t *j = ldr_calloc(1, sizeof(*j));
    memcpy(j->order, id, len);
    j->due_ms = due, j->failures = failures;
    j->next = d->jobs, d->jobs = j;
}

void ldr_deliveries_poke(ldr_deliveries_t *d, const char *id, size_t len)
{
    if (d == NULL || len == 0 || len > LDR_ORDER_ID_MAX)
        return;
    pthread_mutex_lock(&d->lock);
    if (!d->stopping) {
        ldr__queue_locked(d, id, len, 0, 0);
        pthread_cond_signal(&d->cond);
    }
    pthread_mutex_unlock(&d->lock);
}

/* A stage finished (any thread): back to the desk. */
static void ldr__finished(ldr__task_t *t)
{
    ldr_deliveries_t *d = t->d;
    pthread_mutex_lock(&d->lock);
    t->next = d->done, d->done = t;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

static void ldr__call_done(ldr_http_call_t *c)
{
    ldr__task_t *t = c->data;
    ldr_courier_answer(t->k, t->op, c, &t->a);
    ldr_http_call_clear(c);
    ldr__finished(t);
}

static void ldr__recorded(ldr_engine_req_t *req)
{
    ldr__finished(req->data);
}

/* What the desk should do for order o now: LDR_DLV_BOOK, LDR_DLV_CANCEL or 0. */
static int ldr__next_op(const ldr_order_t *o)
{
    if (o->courier[0] == '\0')
        return 0;
    bool unbooked =
             o->delivery == LDR_DELIVERY_PENDING || o->delivery == LDR_DELIVERY_BOOKING_FAILED,
         live = o->delivery == LDR_DELIVERY_BOOKED || o->delivery == LDR_DELIVERY_IN_TRANSIT;
    if (unbooked && (o->status == LDR_ORDER_PAID || o->status == LDR_ORDER_PICKING))
        return LDR_DLV_BOOK;
    if (live && (o->status == LDR_ORDER_CANCELLED || o->status == LDR_ORDER_REFUNDED))
        return LDR_DLV_CANCEL;
    return 0;
}

typedef struct ldr__scan {
    ldr_deliveries_t *d;
    uint32_t n;
} ldr__scan_t;

static void ldr__scan_one(void *ctx, const ldr_order_t *o)
{
    ldr__scan_t *s = ctx;
    if (ldr__next_op(o) == 0)
        return;
    pthread_mutex_lock(&s->d->lock);
    ldr__queue_locked(s->d, o->id, strlen(o->id), 0, 0);
    pthread_mutex_unlock(&s->d->lock);
    s->n++;
}

/* Looks at one order and starts what it needs (the thread's). */
static void ldr__look(ldr_deliveries_t *d, const ldr__job_t *j)
{
    for (ldr__task_t *t = d->active; t != NULL; t = t->next)
        if (strcmp(t->o.order, j->order) == 0)
            return; /* under way: looked at again when it is done */
    ldr__task_t *t = ldr_calloc(1, sizeof(*t));
    t->d = d, t->failures = j->failures;
    ldr_app_read_begin(d->app);
    const ldr_order_t *o =
        ldr_orders_find(ldr_engine_state(d->app->engine)->orders, j->order, strlen(j->order));
    if (o != NULL && (t->op = ldr__next_op(o)) != 0) {
        t->k = ldr_courier(o->courier, strlen(o->courier));
        t->delivery = o->delivery;
        snprintf(t->o.order, sizeof(t->o.order), "%s", o->id);
        snprintf(t->o.tracking, sizeof(t->o.tracking), "%s", o->tracking);
        t->o.total = o->total;
        for (uint32_t i = 0; i < o->nlines; i++)
            t->o.items += (uint32_t)o->lines[i].quantity;
        if (ldr_slot_window(h2o_iovec_init(o->store, strlen(o->store)), o->slot, strlen(o->slot),
                            &t->o.window_start) != LDR_OK)
            t->o.window_start = 0;
        t->o.to = o->address;
    }
    ldr_app_read_end(d->app);
    if (t->op == 0) {
        ldr_free(t);
        return;
    }
    t->next = d->active, d->active = t;
    t->stage = 1;
    if (t->k == NULL) { /* its provider is not configured on this server (any more) */
        t->a.result = LDR_DLV_UNAVAILABLE;
        snprintf(t->a.detail, sizeof(t->a.detail), "provider not configured on this server");
        ldr__finished(t);
        return;
    }
    if (!ldr_courier_prepare(t->k, t->op, &t->o, &t->call, &t->a, d->timeout_ms)) {
        ldr__finished(t); /* answered at once (the fake provider) */
        return;
    }
    t->call.done = ldr__call_done;
    t->call.data = t;
    ldr_http_client_submit(d->hc, &t->call);
}

static void ldr__unlink(ldr_deliveries_t *d, ldr__task_t *t)
{
    for (ldr__task_t **pp = &d->active; *pp != NULL; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
}

/* A task's stage finished (the thread's): record the answer, or look again. */
static void ldr__advance(ldr_deliveries_t *d, ldr__task_t *t, bool stopping)
{
    if (t->stage == 1 && !stopping) {
        const ldr_delivery_answer_t *a = &t->a;
        ldr_cmd_t *c = &t->req.cmd;
        bool ok = a->result == LDR_DLV_OK;
        *c = (ldr_cmd_t){.type = LDR_CMD_DELIVERY, .order = {t->o.order, strlen(t->o.order)}};
        if (ok && t->op == LDR_DLV_BOOK) {
            c->role = LDR_DELIVERY_BOOKED;
            c->tracking = (ldr_str_t){a->tracking, strlen(a->tracking)};
        } else if (ok) {
            c->role = LDR_DELIVERY_CANCELLED;
        } else if (t->op == LDR_DLV_BOOK && t->delivery == LDR_DELIVERY_PENDING) {
            c->role = LDR_DELIVERY_BOOKING_FAILED; /* the first failure shows on the order */
        }
        if (!ok) {
            fprintf(stderr, "larder: %s: %s of order %s failed: %s\n", t->k ? t->k->name : "?",
                    t->op == LDR_DLV_BOOK ? "booking" : "cancelling the booking", t->o.order,
                    a->detail);
            t->failures++;
        }
        if (c->role != 0) {
            snprintf(t->note, sizeof(t->note), "%.64s", ok ? "" : a->detail);
            c->reason = (ldr_str_t){t->note, strlen(t->note)};
            t->stage = 2;
            t->req.done = ldr__recorded;
            t->req.data = t;
            ldr_engine_submit(d->app->engine, &t->req);
            return;
        }
    }
    /* done with it: looked at again, at once after a success, later after a failure */
    ldr__unlink(d, t);
    if (!stopping) {
        bool failed =
            t->a.result != LDR_DLV_OK || (t->stage == 2 && t->req.result.status != LDR_OK &&
                                          t->req.result.status != LDR_ECONFLICT);
        uint64_t delay = 0;
        if (failed) {
            uint32_t shift = t->failures > 16 ? 15 : t->failures > 0 ? t->failures - 1 : 0;
            delay = (uint64_t)d->retry_ms << shift;
            delay = delay > LDR__RETRY_MAX_MS ? LDR__RETRY_MAX_MS : delay;
        }
        pthread_mutex_lock(&d->lock);
        ldr__queue_locked(d, t->o.order, strlen(t->o.order), delay, failed ? t->failures : 0);
        pthread_mutex_unlock(&d->lock);
    }
    ldr_http_call_clear(&t->call);
    ldr_free(t);
}

static void *ldr__main(void *arg)
{
    prctl(PR_SET_NAME, "larder-deliver"); /* for top -H, ps -L and perf */
    ldr_deliveries_t *d = arg;
    bool scanned = false;
    pthread_mutex_lock(&d->lock);
    for (;;) {
        bool stopping = d->stopping;
        if (stopping && d->active == NULL && d->done == NULL)
            break;
        ldr__task_t *done = d->done;
        d->done = NULL;
        /* the jobs that are due (none before the state is loaded, or once stopping) */
        uint64_t now = ldr__now_ms(), next = now + 1000;
        bool ready = ldr_app_ready(d->app);
        ldr__job_t *due = NULL;
        for (ldr__job_t **pp = &d->jobs; ready && !stopping && *pp != NULL;) {
            ldr__job_t *j = *pp;
            if (j->due_ms <= now) {
                *pp = j->next;
                j->next = due, due = j;
            } else {
                next = j->due_ms < next ? j->due_ms : next;
                pp = &j->next;
            }
        }
        pthread_mutex_unlock(&d->lock);
        if (ready && !scanned && !stopping) { /* every order once: what a stop interrupted */
            ldr__scan_t s = {d, 0};
            ldr_app_read_begin(d->app);
            ldr_orders_each(ldr_engine_state(d->app->engine)->orders, ldr__scan_one, &s);
            ldr_app_read_end(d->app);
            scanned = true;
            if (s.n > 0)
                fprintf(stderr, "larder: deliveries to book or cancel, taken up: %u\n", s.n);
        }
        for (ldr__task_t *t = done, *tn; t != NULL; t = tn) {
            tn = t->next;
            ldr__advance(d, t, stopping);
        }
        for (ldr__job_t *j = due, *jn; j != NULL; j = jn) {
            jn = j->next;
            ldr__look(d, j);
            ldr_free(j);
        }
        pthread_mutex_lock(&d->lock);
        if (d->done != NULL || (ready && !scanned))
            continue;
        /* asleep until the next job is due (jobs queued above count too), a poke or an answer */
        bool any_due = false;
        now = ldr__now_ms(), next = now + 1000;
        for (ldr__job_t *j = d->jobs; j != NULL && !d->stopping; j = j->next) {
            any_due |= j->due_ms <= now;
            next = j->due_ms < next ? j->due_ms : next;
        }
        if (any_due && ldr_app_ready(d->app))
            continue;
        if (!ready)
            next = ldr__now_ms() + 50; /* the state is loading: look again soon */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t wait = next > ldr__now_ms() ? next - ldr__now_ms() : 0;
        ts.tv_sec += (time_t)(wait / 1000);
        ts.tv_nsec += (long)(wait % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000)
            ts.tv_sec++, ts.tv_nsec -= 1000000000;
        if (!d->stopping || d->active != NULL)
            pthread_cond_timedwait(&d->cond, &d->lock, &ts);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

static uint32_t ldr__env_ms(const char *name, uint32_t dflt)
{
    const char *v = getenv(name);
    long long x = v != NULL && *v != '\0' ? atoll(v) : -1;
    return x >= 10 && x <= 3600000 ? (uint32_t)x : dflt;
}

int ldr_deliveries_start(ldr_app_t *app, struct ldr_http_client *hc, ldr_deliveries_t **out)
{
    ldr_deliveries_t *d = ldr_calloc(1, sizeof(*d));
    d->app = app, d->hc = hc;
    d->retry_ms = ldr__env_ms("LARDER_DELIVERY_RETRY_MS", 5000);
    d->timeout_ms = ldr__env_ms("LARDER_DELIVERY_TIMEOUT_MS", 5000);
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    if (pthread_create(&d->thread, NULL, ldr__main, d) != 0) {
        pthread_mutex_destroy(&d->lock);
        pthread_cond_destroy(&d->cond);
        ldr_free(d);
        return LDR_EIO;
    }
    *out = d;
    return LDR_OK;
}

void ldr_deliveries_stop(ldr_deliveries_t *d)
{
    if (d == NULL)
        return;
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    pthread_cond_signal(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

void ldr_deliveries_join(ldr_deliveries_t *d)
{
    if (d == NULL)
        return;
    ldr_deliveries_stop(d);
    pthread_join(d->thread, NULL);
    for (ldr__job_t *j = d->jobs, *jn; j != NULL; j = jn) {
        jn = j->next;
        ldr_free(j);
    }
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->cond);
    ldr_free(d);
}
