/*
 * The outbox messages of a WAL record (see outbox.h for topics and keys).
 */
#include "outbox.h"

#include <stdio.h>
#include <string.h>

#include "larder/command.h"
#include "larder/common.h"
#include "larder/orders.h"

const char *const ldr_topic_default_names[LDR_TOPIC_COUNT] = {
    "order_events", "payment_events", "delivery_events", "inventory_events"};

typedef struct ldr__render {
    ldr_outbox_cb cb;
    void *ctx;
    ldr_engine_t *e; /* or NULL */
    const ldr_wal_record_t *rec;
    ldr_buf_t b;
    char when[40]; /* the record's time, RFC 3339 with milliseconds, quoted */
    int n;
    /* ORDER_*: the order as the engine holds it (a copy taken under the read lock), or NULL */
    ldr_order_t *order;
} ldr__render_t;

static void ldr__field(ldr_buf_t *b, const char *key, ldr_str_t v)
{
    ldr_buf_putc(b, ',');
    ldr_buf_json_key(b, key);
    ldr_buf_json_sv(b, v);
}

static ldr_str_t ldr__sv(const char *s)
{
    return (ldr_str_t){s, strlen(s)};
}

/* Starts a message's JSON in r->b: {"event":…,"eventId":…,"timestamp":… */
static void ldr__begin(ldr__render_t *r, const char *event, char *id, size_t id_size)
{
    snprintf(id, id_size, "%llu-%d", (unsigned long long)r->rec->lsn, r->n);
    ldr_buf_reset(&r->b);
    ldr_buf_printf(&r->b, "{\"event\":\"%s\",\"eventId\":\"%s\",\"timestamp\":%s", event, id,
                   r->when);
}

static void ldr__emit(ldr__render_t *r, ldr_topic_t topic, const char *event, const char *id,
                      ldr_str_t key)
{
    ldr_buf_putc(&r->b, '}');
    ldr_outbox_msg_t m = {topic, event, id, key, {r->b.base, r->b.len}};
    r->cb(r->ctx, &m);
    r->n++;
}

/* "items":[{"store","sku","quantity"}…] of a reservation event */
static void ldr__stock_items(ldr_buf_t *b, const ldr_cmd_line_t *lines, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        ldr_buf_puts(b, i ? ",{\"store\":" : ",\"items\":[{\"store\":");
        ldr_buf_json_sv(b, lines[i].store);
        ldr__field(b, "sku", lines[i].sku);
        ldr_buf_printf(b, ",\"quantity\":%lld}", (long long)lines[i].quantity);
    }
    if (n > 0)
        ldr_buf_putc(b, ']');
}

static void ldr__order_msg(ldr__render_t *r, const ldr_cmd_t *c, ldr_topic_t topic,
                           const char *event);

/* A copy of the order `id` as the engine holds it (ldr_free it), or NULL. */
static ldr_order_t *ldr__order_copy(ldr_engine_t *e, ldr_str_t id)
{
    if (e == NULL)
        return NULL;
    ldr_order_t *copy = NULL;
    ldr_engine_read_lock(e);
    const ldr_state_t *s = ldr_engine_state(e);
    const ldr_order_t *o = s->orders != NULL ? ldr_orders_find(s->orders, id.ptr, id.len) : NULL;
    if (o != NULL) {
        size_t size = sizeof(*o) + o->nlines * sizeof(o->lines[0]);
        copy = ldr_malloc(size);
        memcpy(copy, o, size);
    }
    ldr_engine_read_unlock(e);
    return copy;
}

/*
 * A tick that lets an order's hold lapse cancels the order (it was not paid in time; a paid
 * order's hold does not lapse): the order and payment topics hear of it as of an ORDER_CANCEL
 * with reason payment_timeout.  Without the engine, an order is told by its id ("ord-...").
 */
static void ldr__lapsed_order(ldr__render_t *r, const ldr_event_t *ev)
{
    ldr_order_t *o = ldr__order_copy(r->e, ev->owner);
    if (o == NULL && (r->e != NULL || ev->owner.len < 4 || memcmp(ev->owner.ptr, "ord-", 4) != 0))
        return;
    ldr_cmd_t c = {
        .type = LDR_CMD_ORDER_CANCEL, .order = ev->owner, .reason = {"payment_timeout", 15}};
    r->order = o;
    ldr__order_msg(r, &c, LDR_TOPIC_ORDER, "OrderCancelled");
    ldr__order_msg(r, &c, LDR_TOPIC_PAYMENT, "PaymentFailed");
    r->order = NULL;
    ldr_free(o);
}

/* A stock event from ldr_cmd_events (the commands of the stock API, and ticks). */
static void ldr__stock_event(void *ctx, const ldr_event_t *ev)
{
    ldr__render_t *r = ctx;
    ldr_buf_t *b = &r->b;
    char id[48];
    ldr__begin(r, ev->name, id, sizeof(id));
    if (ev->store.len > 0)
        ldr__field(b, "store", ev->store);
    if (ev->sku.len > 0)
        ldr__field(b, "sku", ev->sku);
    if (ev->lot.len > 0)
        ldr__field(b, "lot", ev->lot);
    if (ev->owner.len > 0)
        ldr__field(b, "owner", ev->owner);
    if (ev->reason.len > 0)
        ldr__field(b, "reason", ev->reason);
    if (ev->quantity != 0 || ev->set)
        ldr_buf_printf(b, ",\"%s\":%lld", ev->set ? "set" : "quantity", (long long)ev->quantity);
    if (ev->expires_at != LDR_NO_EXPIRY) {
        ldr_buf_puts(b, ",\"expiresAt\":");
        ldr_buf_json_time(b, ev->expires_at);
    }
    if (ev->shortfall != 0)
        ldr_buf_printf(b, ",\"shortfall\":%lld", (long long)ev->shortfall);
    ldr__stock_items(b, ev->lines, ev->nlines);
    /* one SKU: keyed by it; a reservation's lines: by their owner */
    ldr__emit(r, LDR_TOPIC_INVENTORY, ev->name, id, ev->nlines > 0 ? ev->owner : ev->sku);
    if (strcmp(ev->name, "ReservationExpired") == 0)
        ldr__lapsed_order(r, ev);
}

/* The order's lines as held: "items":[{"sku","quantity","substitutionAllowed",…}] */
static void ldr__order_items(ldr__render_t *r, const ldr_cmd_t *c)
{
    ldr_buf_t *b = &r->b;
    if (r->order != NULL) {
        for (uint32_t i = 0; i < r->order->nlines; i++) {
            const ldr_order_line_t *l = &r->order->lines[i];
            ldr_buf_puts(b, i ? ",{\"sku\":" : ",\"items\":[{\"sku\":");
            ldr_buf_json_str(b, l->sku, strlen(l->sku));
            ldr_buf_printf(b, ",\"quantity\":%d,\"substitutionAllowed\":%s", (int)l->quantity,
                           l->substitution_allowed ? "true" : "false");
            if (l->substituted_by[0] != '\0')
                ldr__field(b, "substitutedBy", ldr__sv(l->substituted_by));
            ldr_buf_printf(b, ",\"unitPrice\":%lld}", (long long)l->unit_price);
        }
        ldr_buf_puts(b, r->order->nlines > 0 ? "]" : ",\"items\":[]");
        return;
    }
    for (uint32_t i = 0; i < c->nlines; i++) { /* ORDER_PLACE without the engine: as asked */
        ldr_buf_puts(b, i ? ",{\"sku\":" : ",\"items\":[{\"sku\":");
        ldr_buf_json_sv(b, c->lines[i].sku);
        ldr_buf_printf(b, ",\"quantity\":%lld,\"substitutionAllowed\":%s,\"unitPrice\":%lld}",
                       (long long)c->lines[i].quantity,
                       (c->substitute[i / 8] >> (i % 8)) & 1 ? "true" : "false",
                       (long long)c->lines[i].price);
    }
    ldr_buf_puts(b, c->nlines > 0 ? "]" : ",\"items\":[]");
}

/* The stock side of an order move, keyed by the order: what it held, took or gave back. */
static void ldr__order_stock(ldr__render_t *r, const ldr_cmd_t *c, const char *event)
{
    if (r->order == NULL && c->type != LDR_CMD_ORDER_PLACE)
        return; /* the lines are the engine's to tell */
    char id[48];
    ldr__begin(r, event, id, sizeof(id));
    ldr_buf_t *b = &r->b;
    ldr__field(b, "owner", c->order);
    ldr__field(b, "orderId", c->order);
    if (r->order != NULL) {
        ldr__field(b, "store", ldr__sv(r->order->store));
        for (uint32_t i = 0; i < r->order->nlines; i++) {
            const ldr_order_line_t *l = &r->order->lines[i];
            const char *held = l->substituted_by[0] != '\0' ? l->substituted_by : l->sku;
            ldr_buf_puts(b, i ? ",{\"sku\":" : ",\"items\":[{\"sku\":");
            ldr_buf_json_str(b, held, strlen(held));
            ldr_buf_printf(b, ",\"quantity\":%d}", (int)l->quantity);
        }
        if (r->order->nlines > 0)
            ldr_buf_putc(b, ']');
    } else {
        ldr__field(b, "store", c->store);
        ldr__stock_items(b, c->lines, c->nlines);
    }
    if (c->type == LDR_CMD_ORDER_PLACE) {
        ldr_buf_puts(b, ",\"expiresAt\":");
        ldr_buf_json_time(b, c->expires_at);
    }
    ldr__emit(r, LDR_TOPIC_INVENTORY, event, id, c->order);
}

/* An order-topic or payment-topic message about c->order. */
static void ldr__order_msg(ldr__render_t *r, const ldr_cmd_t *c, ldr_topic_t topic,
                           const char *event)
{
    char id[48];
    ldr__begin(r, event, id, sizeof(id));
    ldr_buf_t *b = &r->b;
    ldr__field(b, "orderId", c->order);
    const char *user = r->order != NULL ? r->order->owner : NULL;
    if (user != NULL || c->owner.len > 0)
        ldr__field(b, "userId", user != NULL ? ldr__sv(user) : c->owner);
    switch (c->type) {
    case LDR_CMD_ORDER_PLACE:
        ldr__field(b, "store", c->store);
        if (c->slot.len > 0)
            ldr__field(b, "slotId", c->slot);
        ldr__field(b, "fulfillment", ldr__sv(c->slot.len > 0 ? "same_day" : "pickup"));
        ldr__field(b, "paymentProvider", c->provider);
        ldr__order_items(r, c);
        if (r->order != NULL)
            ldr_buf_printf(b, ",\"total\":%lld", (long long)r->order->total);
        ldr_buf_puts(b, ",\"payBy\":");
        ldr_buf_json_time(b, c->expires_at);
        break;
    case LDR_CMD_ORDER_PAID:
        if (r->order != NULL)
            ldr__field(b, "provider", ldr__sv(r->order->provider));
        if (c->pay_ref.len > 0)
            ldr__field(b, "paymentReference", c->pay_ref);
        if (r->order != NULL)
            ldr_buf_printf(b, ",\"amount\":%lld,\"currency\":\"VND\"", (long long)r->order->total);
        break;
    default:
        if (c->reason.len > 0)
            ldr__field(b, "reason", c->reason);
        break;
    }
    ldr__emit(r, topic, event, id, c->order);
}

/* The name ldr_cmd_events gives a record's one event. */
static void ldr__event_name(void *ctx, const ldr_event_t *ev)
{
    *(const char **)ctx = ev->name;
}

/* A courier's progress with an order (delivery_events), keyed by the order. */
static void ldr__delivery_msg(ldr__render_t *r, const ldr_cmd_t *c)
{
    const char *event = NULL;
    ldr_cmd_events(c, NULL, ldr__event_name, &event);
    if (event == NULL)
        return;
    char id[48];
    ldr__begin(r, event, id, sizeof(id));
    ldr_buf_t *b = &r->b;
    ldr__field(b, "orderId", c->order);
    if (r->order != NULL) {
        ldr__field(b, "userId", ldr__sv(r->order->owner));
        if (r->order->courier[0] != '\0')
            ldr__field(b, "provider", ldr__sv(r->order->courier));
    }
    if (c->tracking.len > 0)
        ldr__field(b, "trackingId", c->tracking);
    if (c->reason.len > 0)
        ldr__field(b, "reason", c->reason);
    ldr__emit(r, LDR_TOPIC_DELIVERY, event, id, c->order);
}

static void ldr__order_record(ldr__render_t *r, const ldr_cmd_t *c)
{
    switch (c->type) {
    case LDR_CMD_ORDER_PLACE:
        ldr__order_msg(r, c, LDR_TOPIC_ORDER, "OrderPlaced");
        ldr__order_stock(r, c, "StockReserved");
        break;
    case LDR_CMD_ORDER_PAID:
        ldr__order_msg(r, c, LDR_TOPIC_ORDER, "OrderPaid");
        ldr__order_msg(r, c, LDR_TOPIC_PAYMENT, "PaymentAuthorized");
        break;
    case LDR_CMD_ORDER_CANCEL:
        ldr__order_msg(r, c, LDR_TOPIC_ORDER, "OrderCancelled");
        if (c->reason.len > 8 && memcmp(c->reason.ptr, "payment_", 8) == 0)
            ldr__order_msg(r, c, LDR_TOPIC_PAYMENT, "PaymentFailed");
        ldr__order_stock(r, c, "StockReleased");
        break;
    case LDR_CMD_ORDER_STATUS: {
        const char *name = c->role == LDR_ORDER_PICKING            ? "OrderPicking"
                           : c->role == LDR_ORDER_READY_FOR_PICKUP ? "OrderReadyForPickup"
                           : c->role == LDR_ORDER_OUT_FOR_DELIVERY ? "OrderOutForDelivery"
                                                                   : "OrderDelivered";
        ldr__order_msg(r, c, LDR_TOPIC_ORDER, name);
        if (c->role == LDR_ORDER_PICKING)
            ldr__order_stock(r, c, "StockCommitted");
        break;
    }
    case LDR_CMD_ORDER_REFUND:
        ldr__order_msg(r, c, LDR_TOPIC_ORDER, "OrderRefunded");
        ldr__order_msg(r, c, LDR_TOPIC_PAYMENT, "PaymentRefunded");
        break;
    case LDR_CMD_DELIVERY:
        ldr__delivery_msg(r, c);
        break;
    }
}

int ldr_outbox_render(ldr_engine_t *e, const ldr_wal_record_t *rec, ldr_outbox_cb cb, void *ctx)
{
    ldr_cmd_t c;
    /* the decoded lines, then a tick's event lines: 29 KB, per thread rather than per record */
    static _Thread_local ldr_cmd_line_t lines[2 * LDR_RESERVE_LINES_MAX];
    if (ldr_cmd_decode(rec->type, rec->data, rec->len, &c, lines) != LDR_OK)
        return -1;
    ldr__render_t r = {.cb = cb, .ctx = ctx, .e = e, .rec = rec, .b = LDR_BUF_INIT};
    char t[32];
    int64_t secs = rec->time / 1000000000, ms = rec->time % 1000000000 / 1000000;
    if (ms < 0)
        ms += 1000, secs--;
    size_t n = ldr_time_format_rfc3339(secs, t); /* "…T07:40:00Z" */
    snprintf(r.when, sizeof(r.when), "\"%.*s.%03lldZ\"", (int)n - 1, t, (long long)ms);
    bool order = (c.type >= LDR_CMD_ORDER_PLACE && c.type <= LDR_CMD_ORDER_REFUND) ||
                 c.type == LDR_CMD_DELIVERY;
    if (order)
        r.order = ldr__order_copy(e, c.order);
    if (order)
        ldr__order_record(&r, &c);
    else if (c.type >= LDR_CMD_RECEIVE && c.type <= LDR_CMD_TICK)
        ldr_cmd_events(&c, lines + LDR_RESERVE_LINES_MAX, ldr__stock_event, &r);
    /* user, cart and product records name events no topic carries */
    ldr_free(r.order);
    ldr_buf_free(&r.b);
    return r.n;
}
