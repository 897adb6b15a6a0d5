/*
 * Checkout and orders (customer; an admin sees every order).
 *
 * POST /v1/checkout turns the caller's cart into an order in one engine command (ORDER_PLACE:
 * every line held or none, a place in the delivery window, the lines out of the cart), then asks
 * the payment provider, then records the answer (ORDER_PAID, or ORDER_CANCEL, which gives stock
 * and window back).  Each step is durable before the next.  The checkout's Idempotency-Key names
 * the order (ldr_order_id_for), so a retry is answered with the same order, and a retry with a
 * different body is a 409.
 *
 * Payment: the `fake` provider (the only one configured in this version) answers from the token:
 * `fake_ok` authorises, `fake_decline` declines, `fake_timeout` never answers and the checkout
 * gives up after LARDER_PAYMENT_TIMEOUT_MS.  The token is logged with the order, so a checkout
 * cut between its steps (the process died) is taken up again at the next start
 * (ldr_app_resume_checkouts): the provider is asked again with it and its answer recorded; an
 * order that still gets no answer keeps its hold until its payment deadline, when the engine's
 * tick cancels it.
 *
 * POST /v1/orders/{id}/refund (admin, Idempotency-Key required): the provider refunds (the fake
 * one at once), then ORDER_REFUND records it under the key, so a retry answers the same and a
 * second refund is refused.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "adapters/delivery.h"
#include "adapters/payment.h"
#include "http_internal.h"

#define LDR__ORDER_ROLES (LDR_ROLES(LDR_ROLE_CUSTOMER) | LDR_ROLES(LDR_ROLE_ADMIN))
#define LDR__PAY_WINDOW  (15 * 60) /* seconds a placed order waits for its payment */

/* What a checkout carries from one stage to the next (the write's aux). */
typedef struct ldr__checkout {
    char order[LDR_ORDER_ID_MAX + 1];
    char owner[LDR_USER_ID_MAX + 1];
    char store[65];
    char slot[LDR_SLOT_ID_MAX + 1];
    char reason[32];
    char from[24], to[24]; /* cancel and status: the move asked for */
    char token[LDR_PAY_TOKEN_MAX + 1];
    char provider[16];
    char pay_url[256];                 /* MoMo's, for the shopper */
    char courier[LDR_COURIER_MAX + 1]; /* same-day with an address: the delivery provider */
    ldr_order_address_t address;
    int pay;
    int status; /* cancel, status, refund: the order's when the request came */
    int64_t total;
    ldr_write_reply_cb next; /* after the provider agreed (refund, capture) */
    ldr_http_call_t call;    /* the provider's, when it is asked through the adapter thread */
    ldr_pay_answer_t answer;
    uint32_t nlines;
    ldr_cmd_line_t lines[LDR_ORDER_LINES_MAX];
    uint8_t substitute[(LDR_ORDER_LINES_MAX + 7) / 8];
    char skus[LDR_ORDER_LINES_MAX][LDR_SKU_MAX + 1];
    char alts[LDR_ORDER_LINES_MAX][LDR_ORDER_ALTS_MAX * (LDR_SKU_MAX + 1)];
    h2o_timeout_entry_t timer;
    ldr_write_t *w;
} ldr__checkout_t;

static uint64_t ldr__payment_timeout;
static pthread_once_t ldr__payment_timeout_once = PTHREAD_ONCE_INIT;

static void ldr__payment_timeout_load(void)
{
    const char *env = getenv("LARDER_PAYMENT_TIMEOUT_MS");
    long long v = env != NULL ? atoll(env) : 0;
    ldr__payment_timeout = v >= 10 && v <= 600000 ? (uint64_t)v : 3000;
}

uint64_t ldr_payment_timeout_ms(void)
{
    pthread_once(&ldr__payment_timeout_once, ldr__payment_timeout_load); /* every loop asks */
    return ldr__payment_timeout;
}

/* ---- rendering ---- */

static const char *ldr__payment_status(const ldr_order_t *o)
{
    if (o->status == LDR_ORDER_PENDING_PAYMENT)
        return "pending";
    if (o->status == LDR_ORDER_REFUNDED)
        return "refunded";
    if (o->status >= LDR_ORDER_PICKING && o->status <= LDR_ORDER_DELIVERED)
        return "captured"; /* taken when the goods were picked */
    if (o->status != LDR_ORDER_CANCELLED)
        return "authorized";
    /* cancelled: after a decline or a timeout nothing was ever authorised; a paid order that is
     * cancelled is refunded (the fake provider does so at once) */
    for (uint32_t i = 0; i < o->nevents; i++)
        if (o->events[i].status == LDR_ORDER_PAID)
            return "refunded";
    return "declined";
}

/* The order's delivery address, as ,"address":{…} */
static void ldr__json_address(ldr_buf_t *b, const ldr_order_t *o)
{
    const ldr_order_address_t *a = &o->address;
    const char *keys[] = {"name", "phone", "line1", "ward", "district", "city"};
    const char *vals[] = {a->name, a->phone, a->line1, a->ward, a->district, a->city};
    ldr_buf_puts(b, ",\"address\":{");
    for (int i = 0, first = 1; i < 6; i++) {
        if (vals[i][0] == '\0')
            continue;
        ldr_buf_printf(b, "%s\"%s\":", first ? "" : ",", keys[i]);
        ldr_buf_json_str(b, vals[i], strlen(vals[i]));
        first = 0;
    }
    ldr_buf_putc(b, '}');
}

/* An order as API.md's Order; names come from `cat` (the caller's view) when it has them. */
static void ldr__json_order(ldr_buf_t *b, const ldr_order_t *o, const ldr_catalog_t *cat,
                            const char *pay_url)
{
    ldr_buf_puts(b, "{\"order_id\":");
    ldr_buf_json_str(b, o->id, strlen(o->id));
    ldr_buf_puts(b, ",\"user_id\":");
    ldr_buf_json_str(b, o->owner, strlen(o->owner));
    ldr_buf_puts(b, ",\"store\":");
    ldr_buf_json_str(b, o->store, strlen(o->store));
    ldr_buf_puts(b, ",\"status\":\"");
    ldr_buf_puts(b, ldr_order_status_name(o->status));
    ldr_buf_puts(b, "\",\"lines\":[");
    for (uint32_t i = 0; i < o->nlines; i++) {
        const ldr_order_line_t *l = &o->lines[i];
        ldr_buf_puts(b, i ? ",{\"sku\":" : "{\"sku\":");
        ldr_buf_json_str(b, l->sku, strlen(l->sku));
        const ldr_product_t *p = cat ? ldr_catalog_lookup(cat, l->sku, strlen(l->sku), NULL) : NULL;
        for (int k = 0, first = 1; p != NULL && k < LDR_LANG_COUNT; k++) {
            if (p->name[k].ptr == NULL)
                continue;
            ldr_buf_puts(b, first ? ",\"name\":{" : ",");
            ldr_buf_puts(b, k == LDR_LANG_EN ? "\"en\":" : "\"vi\":");
            ldr_buf_json_sv(b, p->name[k]);
            first = 0;
        }
        if (p != NULL)
            ldr_buf_putc(b, '}');
        ldr_buf_printf(b, ",\"quantity\":%d,\"unit_price\":%lld,\"substitution_allowed\":%s",
                       l->quantity, (long long)l->unit_price,
                       l->substitution_allowed ? "true" : "false");
        if (l->substituted_by[0] != '\0') {
            ldr_buf_puts(b, ",\"substituted_by\":");
            ldr_buf_json_str(b, l->substituted_by, strlen(l->substituted_by));
        }
        ldr_buf_putc(b, '}');
    }
    ldr_buf_printf(b, "],\"subtotal\":%lld,\"total\":%lld", (long long)o->total,
                   (long long)o->total);
    int64_t start;
    if (o->slot[0] != '\0') {
        ldr_buf_puts(b, ",\"fulfillment\":{\"type\":\"same_day\",\"slot_id\":");
        ldr_buf_json_str(b, o->slot, strlen(o->slot));
        if (o->courier[0] != '\0')
            ldr__json_address(b, o);
        ldr_buf_puts(b, "},\"slot\":{\"id\":");
        ldr_buf_json_str(b, o->slot, strlen(o->slot));
        if (ldr_slot_window(h2o_iovec_init(o->store, strlen(o->store)), o->slot, strlen(o->slot),
                            &start) == LDR_OK) {
            ldr_buf_puts(b, ",\"start\":");
            ldr_buf_json_time(b, start);
            ldr_buf_puts(b, ",\"end\":");
            ldr_buf_json_time(b, start + LDR_SLOT_SECONDS);
        }
        ldr_buf_putc(b, '}');
    } else {
        ldr_buf_puts(b, ",\"fulfillment\":{\"type\":\"pickup\"}");
    }
    if (o->courier[0] != '\0') {
        ldr_buf_puts(b, ",\"delivery\":{\"provider\":");
        ldr_buf_json_str(b, o->courier, strlen(o->courier));
        ldr_buf_printf(b, ",\"status\":\"%s\"", ldr_delivery_status_name(o->delivery));
        if (o->tracking[0] != '\0') {
            ldr_buf_puts(b, ",\"tracking_id\":");
            ldr_buf_json_str(b, o->tracking, strlen(o->tracking));
        }
        if (o->delivery_note[0] != '\0') {
            ldr_buf_puts(b, ",\"note\":");
            ldr_buf_json_str(b, o->delivery_note, strlen(o->delivery_note));
        }
        ldr_buf_putc(b, '}');
    }
    ldr_buf_puts(b, ",\"payment\":{\"provider\":");
    ldr_buf_json_str(b, o->provider, strlen(o->provider));
    ldr_buf_printf(b, ",\"status\":\"%s\"", ldr__payment_status(o));
    if (o->pay_ref[0] != '\0') {
        ldr_buf_puts(b, ",\"reference\":");
        ldr_buf_json_str(b, o->pay_ref, strlen(o->pay_ref));
    }
    if (pay_url != NULL && pay_url[0] != '\0') { /* where the shopper pays (MoMo) */
        ldr_buf_puts(b, ",\"pay_url\":");
        ldr_buf_json_str(b, pay_url, strlen(pay_url));
    }
    ldr_buf_putc(b, '}');
    if (o->status == LDR_ORDER_PENDING_PAYMENT) {
        ldr_buf_puts(b, ",\"pay_by\":");
        ldr_buf_json_time(b, o->pay_by);
    }
    if (o->reason[0] != '\0') {
        ldr_buf_puts(b, ",\"reason\":");
        ldr_buf_json_str(b, o->reason, strlen(o->reason));
    }
    ldr_buf_puts(b, ",\"timeline\":[");
    for (uint32_t i = 0; i < o->nevents; i++) {
        ldr_buf_puts(b, i ? ",{\"status\":\"" : "{\"status\":\"");
        ldr_buf_puts(b, ldr_order_status_name(o->events[i].status));
        ldr_buf_puts(b, "\",\"at\":");
        ldr_buf_json_time(b, o->events[i].at);
        if (o->events[i].status == LDR_ORDER_CANCELLED && o->reason[0] != '\0') {
            ldr_buf_puts(b, ",\"note\":");
            ldr_buf_json_str(b, o->reason, strlen(o->reason));
        }
        ldr_buf_putc(b, '}');
    }
    ldr_buf_puts(b, "],\"created_at\":");
    ldr_buf_json_time(b, o->created_at);
    ldr_buf_puts(b, ",\"updated_at\":");
    ldr_buf_json_time(b, o->nevents > 0 ? o->events[o->nevents - 1].at : o->created_at);
    ldr_buf_putc(b, '}');
}

/* Answers with order `id` as it is now (the caller checked it may see it). */
static void ldr__send_order_paying(ldr_handler_t *h, h2o_req_t *req, int status, const char *id,
                                   const char *pay_url)
{
    ldr_buf_t b = LDR_BUF_INIT;
    const ldr_catalog_t *cat = ldr_loop_view(h, ldr_loop(req))->catalog;
    ldr_app_read_begin(h->app);
    const ldr_order_t *o =
        ldr_orders_find(ldr_engine_state(h->app->engine)->orders, id, strlen(id));
    if (o != NULL)
        ldr__json_order(&b, o, cat, pay_url);
    ldr_app_read_end(h->app);
    if (b.len == 0) {
        ldr_http_not_found(req, "order_id", h2o_iovec_init(id, strlen(id)), "no such order");
    } else {
        ldr_buf_putc(&b, '\n');
        ldr_http_send_json(req, status, b.base, b.len);
    }
    ldr_buf_free(&b);
}

static void ldr__send_order(ldr_handler_t *h, h2o_req_t *req, int status, const char *id)
{
    ldr__send_order_paying(h, req, status, id, NULL);
}

/* ---- checkout: the stages ---- */

static void ldr__checkout_settled(ldr_write_t *w, h2o_req_t *req);
static void ldr__provider_answered(ldr_http_call_t *c);
static void ldr__payment_answered(ldr_write_t *w, h2o_req_t *req);

/* Records the payment's answer: ORDER_PAID (with the provider's reference, if any), or
 * ORDER_CANCEL with the reason. */
static void ldr__record_payment(ldr_write_t *w, bool paid, const char *reason)
{
    ldr__checkout_t *co = w->aux;
    snprintf(co->reason, sizeof(co->reason), "%s", reason);
    ldr_cmd_t *c = &w->cmds[0].cmd;
    *c = (ldr_cmd_t){.type = paid ? LDR_CMD_ORDER_PAID : LDR_CMD_ORDER_CANCEL,
                     .order = {co->order, strlen(co->order)},
                     .reason = {co->reason, strlen(co->reason)}};
    if (paid)
        c->pay_ref = (ldr_str_t){co->answer.ref, strlen(co->answer.ref)};
    w->reply = ldr__checkout_settled;
    ldr_write_submit(w);
}

/* On the adapter thread: the provider answered (or the call gave up); back to the loop. */
static void ldr__provider_answered(ldr_http_call_t *c)
{
    ldr_write_t *w = c->data;
    ldr__checkout_t *co = w->aux;
    if (strcmp(co->provider, "momo") == 0)
        ldr_momo_answer(c, &co->answer, co->pay_url, sizeof(co->pay_url));
    else
        ldr_stripe_answer(c, &co->answer);
    ldr_http_call_clear(c);
    h2o_multithread_send_message(&w->loop->replies, &w->msg);
}

/* On the loop (req is NULL when the client has gone): the answer goes into the log. */
static void ldr__payment_answered(ldr_write_t *w, h2o_req_t *req)
{
    ldr__checkout_t *co = w->aux;
    static const char *const reasons[] = {
        [LDR_PAY_DECLINE] = "payment_declined", [LDR_PAY_TIMEOUT] = "payment_timeout",
        [LDR_PAY_ERROR] = "payment_error",      [LDR_PAY_UNAVAILABLE] = "payment_unavailable",
        [LDR_PAY_UNKNOWN] = "payment_error",    [LDR_PAY_OK] = "",
        [LDR_PAY_ASYNC] = "payment_error",      [LDR_PAY_PENDING] = "payment_error"};
    int r = co->answer.result;
    if (r == LDR_PAY_PENDING) { /* created: the shopper pays in the app, the IPN settles */
        if (req != NULL)
            ldr__send_order_paying(w->h, req, 201, co->order, co->pay_url);
        return;
    }
    ldr_write_again(w);
    ldr__record_payment(w, r == LDR_PAY_OK, reasons[r >= 0 && r <= LDR_PAY_PENDING ? r : 0]);
}

/* The fake provider gave no answer in time: the checkout gives up and releases the order. */
static void ldr__payment_timed_out(h2o_timeout_entry_t *entry)
{
    ldr__checkout_t *co = H2O_STRUCT_FROM_MEMBER(ldr__checkout_t, timer, entry);
    ldr_write_t *w = co->w;
    atomic_fetch_sub_explicit(&w->loop->inflight, 1, memory_order_relaxed);
    ldr__record_payment(w, false, "payment_timeout");
}

static void ldr__checkout_settled(ldr_write_t *w, h2o_req_t *req)
{
    ldr__checkout_t *co = w->aux;
    int st = w->cmds[0].result.status;
    if (req == NULL) /* recorded for a client that went away */
        return;
    if (st == LDR_ESTORAGE) {
        ldr_http_write_failed(req, st);
        return;
    }
    if (w->cmds[0].cmd.type == LDR_CMD_ORDER_PAID && st == LDR_OK) {
        ldr__send_order(w->h, req, 201, co->order);
        return;
    }
    /* declined, timed out, failed, or too late (the engine cancelled the unpaid order first) */
    char details[256];
    snprintf(details, sizeof(details), "{\"order_id\":\"%s\",\"provider\":\"%s\"%s%s%s}", co->order,
             co->provider, co->answer.detail[0] ? ",\"provider_says\":\"" : "", co->answer.detail,
             co->answer.detail[0] ? "\"" : "");
    if (strcmp(co->reason, "payment_timeout") == 0)
        ldr_http_send_error(req, 402, "payment_timeout",
                            "the payment provider did not answer in time; the order is "
                            "cancelled and its stock released",
                            details);
    else if (strcmp(co->reason, "payment_unavailable") == 0)
        ldr_http_send_error(req, 503, "payment_unavailable",
                            "the payment provider cannot be reached now; the order is cancelled "
                            "and its stock released; try again later",
                            details);
    else if (strcmp(co->reason, "payment_error") == 0)
        ldr_http_send_error(req, 502, "payment_provider_error",
                            "the payment provider's answer could not be used; the order is "
                            "cancelled and its stock released",
                            details);
    else
        ldr_http_send_error(req, 402, "payment_declined",
                            "the payment was declined; the order is cancelled and its stock "
                            "released",
                            details);
}

static void ldr__checkout_placed(ldr_write_t *w, h2o_req_t *req)
{
    ldr__checkout_t *co = w->aux;
    const ldr_cmd_result_t *res = &w->cmds[0].result;
    switch (res->status) {
    case LDR_OK:
        break;
    case LDR_ESHORT: {
        ldr_buf_t d = LDR_BUF_INIT;
        ldr_buf_puts(&d, "{\"lines\":[");
        ldr_app_read_begin(w->h->app);
        const ldr_state_t *s = ldr_engine_state(w->h->app->engine);
        uint32_t store = ldr_stock_store_find(s->stock, co->store, strlen(co->store));
        for (uint32_t i = 0; i < res->nshort; i++) {
            const ldr_cmd_line_t *l = &co->lines[res->short_idx[i]];
            uint32_t doc;
            int64_t avail = 0;
            if (store != UINT32_MAX &&
                ldr_catalog_lookup(s->catalog, l->sku.ptr, l->sku.len, &doc) != NULL)
                avail = ldr_stock_available(ldr_stock_get(s->stock, store, doc));
            ldr_buf_puts(&d, i ? ",{\"sku\":" : "{\"sku\":");
            ldr_buf_json_sv(&d, l->sku);
            ldr_buf_printf(&d, ",\"requested\":%lld,\"available\":%lld}", (long long)l->quantity,
                           (long long)(avail > 0 ? avail : 0));
        }
        ldr_app_read_end(w->h->app);
        ldr_buf_puts(&d, "]}");
        ldr_buf_putc(&d, '\0');
        ldr_http_send_error(req, 409, "out_of_stock",
                            "some lines cannot be had in the quantity asked; nothing was reserved",
                            d.base);
        ldr_buf_free(&d);
        return;
    }
    case LDR_EFULL: {
        char d[160];
        snprintf(d, sizeof(d), "{\"slot_id\":\"%s\"}", co->slot);
        ldr_http_send_error(req, 409, "slot_full",
                            "the delivery window is full; nothing was reserved", d);
        return;
    }
    case LDR_ECONFLICT:
        ldr_http_send_error(req, 409, "idempotency_conflict",
                            "this Idempotency-Key was used for another checkout", NULL);
        return;
    case LDR_EEXIST: /* the key's order exists but its entry expired: answer with it */
    default:
        if (res->status != LDR_EEXIST) {
            ldr_http_write_failed(req, res->status);
            return;
        }
        ldr__send_order(w->h, req, 200, co->order);
        return;
    }
    if (res->replayed) { /* a retry: the first checkout's order, as it is now */
        ldr__send_order(w->h, req, 201, co->order);
        return;
    }
    ldr_write_again(w);
    switch (co->pay) {
    case LDR_PAY_OK:
        ldr__record_payment(w, true, "");
        break;
    case LDR_PAY_DECLINE:
        ldr__record_payment(w, false, "payment_declined");
        break;
    case LDR_PAY_ASYNC: /* the provider, through the adapter thread */
        if (strcmp(co->provider, "momo") == 0)
            ldr_momo_create_call(ldr_momo(), &co->call, co->order, co->total,
                                 (uint32_t)ldr_payment_timeout_ms());
        else
            ldr_stripe_authorize_call(ldr_stripe(), &co->call, co->order, co->total, co->token,
                                      (uint32_t)ldr_payment_timeout_ms());
        co->call.done = ldr__provider_answered;
        co->call.data = w;
        w->reply = ldr__payment_answered;
        w->unattended = true; /* the answer is recorded even when the client has gone */
        atomic_fetch_add_explicit(&w->loop->inflight, 1, memory_order_relaxed);
        ldr_http_client_submit(w->h->adapters, &co->call);
        break;
    default: /* no answer: wait for the adapter's timeout, on this loop */
        co->w = w;
        co->timer = (h2o_timeout_entry_t){0};
        co->timer.cb = ldr__payment_timed_out;
        atomic_fetch_add_explicit(&w->loop->inflight, 1, memory_order_relaxed);
        h2o_timeout_link(w->loop->ctx.loop, &w->loop->payment_timeout, &co->timer);
        break;
    }
}

/* ---- checkout: the request ---- */

/* The substitutes to offer for cart line l of p when it is short now (nothing when it is not),
 * comma-separated into out; the engine takes the first that still has enough when the order is
 * placed.  The customer's replacement, when still sold in p's unit, is the only one; else the
 * best matches, at most LDR_ORDER_ALTS_MAX.  (The caller holds the read lock for the stock.) */
static void ldr__line_substitutes(const ldr_catalog_t *cat, const ldr_stock_t *st, uint32_t store,
                                  const ldr_product_t *p, const ldr_cart_line_t *l, char *out,
                                  size_t size)
{
    uint32_t pdoc;
    int64_t quantity = l->quantity;
    out[0] = '\0';
    if (ldr_catalog_find(cat, p->sku.ptr, p->sku.len, &pdoc) == NULL ||
        ldr_stock_available(ldr_stock_get(st, store, pdoc)) >= quantity)
        return;
    if (l->replacement[0] != '\0') {
        size_t rlen = strlen(l->replacement);
        const ldr_product_t *r = ldr_catalog_find(cat, l->replacement, rlen, NULL);
        if (r != NULL && ldr_str_eq(r->unit, p->unit.ptr, p->unit.len) && rlen < size)
            memcpy(out, l->replacement, rlen + 1);
        return; /* the customer chose: never another */
    }
    ldr_substitute_t subs[LDR_ORDER_ALTS_MAX];
    uint32_t n = ldr_substitutes(cat, st, store, p, quantity, subs, LDR_ORDER_ALTS_MAX);
    size_t len = 0;
    for (uint32_t k = 0; k < n; k++) {
        ldr_str_t sku = ldr_catalog_doc(cat, subs[k].doc)->sku;
        if (len + sku.len + 2 > size)
            break;
        if (k > 0)
            out[len++] = ',';
        memcpy(out + len, sku.ptr, sku.len);
        len += sku.len;
        out[len] = '\0';
    }
}

/* The body: store, fulfillment and payment into co; on failure answers 400 and frees w. */
static bool ldr__checkout_body(ldr_write_t *w, h2o_req_t *req, ldr__checkout_t *co, int64_t now)
{
    static const ldr__json_key_t keys[] = {LDR__KEY("store"), LDR__KEY("fulfillment"),
                                           LDR__KEY("payment"), LDR__KEY("coupon")};
    static const ldr__json_key_t fkeys[] = {LDR__KEY("type"), LDR__KEY("slot_id"),
                                            LDR__KEY("address"), LDR__KEY("provider")};
    static const ldr__json_key_t pkeys[] = {LDR__KEY("provider"), LDR__KEY("token")};
    ldr__jsonl_scratch_t sc = {0};
    ldr__json_line_t ln;
    if (!ldr_write_body(w, req, &sc, &ln))
        return false;
    ldr_error_t err = {.position = -1};
    uint32_t f[4], ff[4], pf[2];
    ldr_str_t store = {"default", 7}, type = {NULL, 0}, slot = {NULL, 0}, provider, token,
              courier = {NULL, 0};
    if (ldr__json_fields(&ln, 0, NULL, keys, 4, f, &err) != LDR_OK ||
        ldr__json_str(&ln, f[0], "store", false, 64, &store, &err) != LDR_OK)
        goto bad;
    if (store.ptr == NULL)
        store = (ldr_str_t){"default", 7};
    if (!ldr_store_id_valid(store.ptr, store.len)) {
        ldr__json_error(&err, "store", "not a store id (1-64 of a-z 0-9 _ -)");
        goto bad;
    }
    if (f[3] != LDR_JSON_NONE && !ldr_json_is_null(&ln.doc, f[3])) {
        ldr__json_error(&err, "coupon", "coupons are not accepted yet");
        goto bad;
    }
    if (f[1] == LDR_JSON_NONE || ldr_json_type(&ln.doc, f[1]) != LDR_JSON_OBJECT) {
        ldr__json_error(&err, "fulfillment",
                        "required: {\"type\":\"same_day\",\"slot_id\":…} or {\"type\":\"pickup\"}");
        goto bad;
    }
    if (ldr__json_fields(&ln, f[1], "fulfillment", fkeys, 4, ff, &err) != LDR_OK ||
        ldr__json_str(&ln, ff[0], "fulfillment.type", true, 16, &type, &err) != LDR_OK ||
        ldr__json_str(&ln, ff[1], "fulfillment.slot_id", false, LDR_SLOT_ID_MAX, &slot, &err) !=
            LDR_OK ||
        ldr__json_str(&ln, ff[3], "fulfillment.provider", false, 32, &courier, &err) != LDR_OK)
        goto bad;
    bool same_day = ldr_str_eq(type, "same_day", 8);
    if (!same_day && !ldr_str_eq(type, "pickup", 6)) {
        ldr__json_error(&err, "fulfillment.type", "expected \"same_day\" or \"pickup\"");
        goto bad;
    }
    if (same_day != (slot.ptr != NULL)) {
        ldr__json_error(&err, "fulfillment.slot_id",
                        same_day ? "a same-day delivery needs its slot_id (GET /v1/delivery/slots)"
                                 : "a pickup has no slot");
        goto bad;
    }
    /* where a same-day order goes, and which courier takes it (none without an address: the
     * store delivers itself, as before addresses were taken) */
    if (!same_day && (ff[2] != LDR_JSON_NONE || ff[3] != LDR_JSON_NONE)) {
        ldr__json_error(&err,
                        ff[2] != LDR_JSON_NONE ? "fulfillment.address" : "fulfillment.provider",
                        "a pickup has no delivery address or courier");
        goto bad;
    }
    if (ff[3] != LDR_JSON_NONE && ff[2] == LDR_JSON_NONE) {
        ldr__json_error(&err, "fulfillment.address", "a courier needs the delivery address");
        goto bad;
    }
    if (ff[2] != LDR_JSON_NONE) {
        ldr_courier_t *k =
            courier.ptr != NULL ? ldr_courier(courier.ptr, courier.len) : ldr_courier_default();
        if (k == NULL) {
            ldr__json_error(&err, "fulfillment.provider", "this server delivers with \"fake\"%s%s",
                            ldr_courier("grab", 4) != NULL ? ", \"grab\"" : "",
                            ldr_courier("viettelpost", 11) != NULL ? ", \"viettelpost\"" : "");
            goto bad;
        }
        if (!ldr_address_body(&ln, ff[2], &co->address, &err))
            goto bad;
        snprintf(co->courier, sizeof(co->courier), "%s", k->name);
    }
    int64_t start;
    int slot_rc = same_day ? ldr_slot_check(h2o_iovec_init(store.ptr, store.len), slot.ptr,
                                            slot.len, now, &start)
                           : LDR_OK;
    if (slot_rc == LDR_EINVAL) {
        ldr__json_error(&err, "fulfillment.slot_id",
                        "not a delivery window of this store from today to 14 days ahead");
        goto bad;
    }
    if (f[2] == LDR_JSON_NONE || ldr_json_type(&ln.doc, f[2]) != LDR_JSON_OBJECT) {
        ldr__json_error(&err, "payment", "required: {\"provider\":\"fake\",\"token\":…}");
        goto bad;
    }
    if (ldr__json_fields(&ln, f[2], "payment", pkeys, 2, pf, &err) != LDR_OK ||
        ldr__json_str(&ln, pf[0], "payment.provider", true, 16, &provider, &err) != LDR_OK ||
        ldr__json_str(&ln, pf[1], "payment.token", true, LDR_PAY_TOKEN_MAX, &token, &err) != LDR_OK)
        goto bad;
    bool stripe = ldr_str_eq(provider, "stripe", 6) && ldr_stripe() != NULL,
         momo = ldr_str_eq(provider, "momo", 4) && ldr_momo() != NULL;
    if (!ldr_str_eq(provider, "fake", 4) && !stripe && !momo) {
        ldr__json_error(&err, "payment.provider", "this server takes \"fake\"%s%s",
                        ldr_stripe() != NULL ? ", \"stripe\"" : "",
                        ldr_momo() != NULL ? ", \"momo\"" : "");
        goto bad;
    }
    /* a real provider's token is an id of its own (Stripe's payment method; for MoMo, which
     * needs none, any such word): letters, digits, underscores */
    co->pay = stripe || momo
                  ? (ldr_stripe_token_valid(token.ptr, token.len) ? LDR_PAY_ASYNC : LDR_PAY_UNKNOWN)
                  : ldr_pay_fake(token.ptr, token.len);
    memcpy(co->token, token.ptr, token.len < LDR_PAY_TOKEN_MAX ? token.len : LDR_PAY_TOKEN_MAX);
    memcpy(co->provider, provider.ptr, provider.len);
    if (co->pay == LDR_PAY_UNKNOWN) {
        ldr__json_error(&err, "payment.token",
                        stripe ? "expected a Stripe payment method id (pm_…)"
                        : momo ? "expected a word of letters, digits and underscores"
                               : "the fake provider takes fake_ok, fake_decline or fake_timeout");
        goto bad;
    }
    memcpy(co->store, store.ptr, store.len);
    if (same_day)
        memcpy(co->slot, slot.ptr, slot.len);
    ldr__jsonl_scratch_free(&sc);
    if (slot_rc == LDR_ERANGE) {
        ldr_http_send_error(req, 409, "slot_closed",
                            "the delivery window is past its cut-off; choose a later one", NULL);
        ldr_write_free(w);
        return false;
    }
    return true;
bad:
    ldr_write_bad_body(w, req, &sc, &err);
    return false;
}

int ldr_route_checkout(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg)
{
    ldr_principal_t who;
    h2o_iovec_t key; /* "SUB KEY" */
    if (ldr_http_not_ready(h, req) || !ldr_http_authorize(h, req, LDR__ORDER_ROLES, &who) ||
        !ldr_http_idempotency_key(req, &who, "so that a retry cannot order twice", &key))
        return 0;
    if (!ldr_user_id_valid(who.sub, strlen(who.sub))) {
        ldr_http_send_error(req, 403, "forbidden", "this token's subject cannot order", NULL);
        return 0;
    }
    int64_t now = (int64_t)time(NULL);
    ldr_write_t *w = ldr_write_new(h, req, arg, ldr__checkout_placed);
    ldr__checkout_t *co = ldr_calloc(1, sizeof(*co));
    w->aux = co;
    if (!ldr__checkout_body(w, req, co, now))
        return 0;
    snprintf(co->owner, sizeof(co->owner), "%s", who.sub);
    /* the order's key: scoped to the caller; its id follows from it */
    size_t olen = strlen(who.sub);
    ldr_buf_append(&w->keys, key.base, key.len);
    ldr_order_id_for(w->keys.base, w->keys.len, co->order);

    /* the cart, priced from what the shopper sees */
    ldr_view_t *v = ldr_loop_view(h, ldr_loop(req));
    ldr_app_read_begin(h->app);
    const ldr_cart_t *cart =
        ldr_carts_find(ldr_engine_state(h->app->engine)->carts, co->owner, olen);
    const ldr_stock_t *stock = ldr_app_stock(h->app);
    uint32_t store_id = ldr_stock_store_find(stock, co->store, strlen(co->store));
    for (uint32_t i = 0; cart != NULL && i < cart->nlines && i < LDR_ORDER_LINES_MAX; i++) {
        const ldr_product_t *p =
            ldr_catalog_find(v->catalog, cart->lines[i].sku, strlen(cart->lines[i].sku), NULL);
        snprintf(co->skus[i], sizeof(co->skus[i]), "%s", cart->lines[i].sku);
        co->lines[i] = (ldr_cmd_line_t){{co->store, strlen(co->store)},
                                        {co->skus[i], strlen(co->skus[i])},
                                        cart->lines[i].quantity,
                                        p != NULL ? p->price : -1,
                                        {NULL, 0}};
        if (cart->lines[i].substitution_allowed) {
            co->substitute[i / 8] |= (uint8_t)(1u << (i % 8));
            if (p != NULL && store_id != UINT32_MAX) {
                ldr__line_substitutes(v->catalog, stock, store_id, p, &cart->lines[i], co->alts[i],
                                      sizeof(co->alts[i]));
                co->lines[i].alts = (ldr_str_t){co->alts[i], strlen(co->alts[i])};
            }
        }
        co->nlines++;
    }
    ldr_app_read_end(h->app);
    uint64_t fp[2] = {ldr_hash(w->body.base, w->body.len), ldr_hash(req->path.base, req->path.len)};
    uint64_t fingerprint = ldr_hash(fp, sizeof(fp));
    if (co->nlines == 0) {
        /* nothing to order, unless this is a retry of a checkout that emptied the cart */
        ldr_app_read_begin(h->app);
        const ldr_state_t *state = ldr_engine_state(h->app->engine);
        bool placed = ldr_orders_find(state->orders, co->order, strlen(co->order)) != NULL;
        const ldr_idem_entry_t *seen = ldr_idem_find(state->idem, w->keys.base, w->keys.len, now);
        bool same = seen == NULL || seen->fingerprint == fingerprint;
        ldr_app_read_end(h->app);
        if (placed && same)
            ldr__send_order(h, req, 201, co->order);
        else if (placed)
            ldr_http_send_error(req, 409, "idempotency_conflict",
                                "this Idempotency-Key was used for another checkout", NULL);
        else
            ldr_http_send_error(req, 409, "cart_empty", "the cart is empty: nothing to order",
                                NULL);
        ldr_write_free(w);
        return 0;
    }
    for (uint32_t i = 0; i < co->nlines; i++)
        if (co->lines[i].price < 0) { /* a product gone from the catalog since it was added */
            char details[128];
            snprintf(details, sizeof(details), "{\"lines\":[{\"sku\":\"%s\",\"requested\":%lld}]}",
                     co->skus[i], (long long)co->lines[i].quantity);
            ldr_http_send_error(req, 409, "out_of_stock",
                                "a product in the cart is no longer sold; nothing was reserved",
                                details);
            ldr_write_free(w);
            return 0;
        }
    for (uint32_t i = 0; i < co->nlines; i++)
        co->total += co->lines[i].quantity * co->lines[i].price;
    ldr_cmd_t *c = &ldr_write_cmds(w, 1)->cmd;
    *c = (ldr_cmd_t){.type = LDR_CMD_ORDER_PLACE,
                     .order = {co->order, strlen(co->order)},
                     .owner = {co->owner, olen},
                     .store = {co->store, strlen(co->store)},
                     .slot = {co->slot, strlen(co->slot)},
                     .quantity = LDR_SLOT_CAPACITY,
                     .expires_at = now + LDR__PAY_WINDOW,
                     .provider = {co->provider, strlen(co->provider)},
                     .pay_token = {co->token, strlen(co->token)},
                     .nlines = co->nlines,
                     .lines = co->lines,
                     .idem_key = {w->keys.base, w->keys.len},
                     .idem_fingerprint = fingerprint};
    if (co->courier[0] != '\0') {
        const ldr_order_address_t *a = &co->address;
        c->courier = (ldr_str_t){co->courier, strlen(co->courier)};
        c->address.name = (ldr_str_t){a->name, strlen(a->name)};
        c->address.phone = (ldr_str_t){a->phone, strlen(a->phone)};
        c->address.line1 = (ldr_str_t){a->line1, strlen(a->line1)};
        c->address.ward = (ldr_str_t){a->ward, strlen(a->ward)};
        c->address.district = (ldr_str_t){a->district, strlen(a->district)};
        c->address.city = (ldr_str_t){a->city, strlen(a->city)};
    }
    memcpy(c->substitute, co->substitute, sizeof(co->substitute));
    ldr_write_submit(w);
    return 0;
}

/* ---- orders ---- */

typedef struct ldr__list {
    const char *owner; /* NULL: everyone's (admin) */
    int status;        /* 0: any */
    int64_t from, to;  /* placed at from <= created_at < to */
    const ldr_order_t **all;
    uint32_t n, cap;
} ldr__list_t;

static void ldr__list_one(void *ctx, const ldr_order_t *o)
{
    ldr__list_t *l = ctx;
    if ((l->owner != NULL && strcmp(o->owner, l->owner) != 0) ||
        (l->status != 0 && o->status != l->status) || o->created_at < l->from ||
        o->created_at >= l->to)
        return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->all = ldr_realloc(l->all, l->cap * sizeof(*l->all));
    }
    l->all[l->n++] = o;
}

int ldr_route_orders(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg)
{
    ldr_principal_t who;
    if (ldr_http_not_ready(h, req) || !ldr_http_authorize(h, req, LDR__ORDER_ROLES, &who))
        return 0;
    ldr_query_param_t params[8];
    size_t n;
    const char *bad;
    int status = 0;
    uint64_t page = 1, per_page = 20;
    int64_t from = INT64_MIN, to = INT64_MAX;
    if (ldr_query_parse(req, params, 8, &n, &bad) != LDR_OK)
        return ldr_http_bad_param(req, "query", bad);
    for (size_t i = 0; i < n; i++) {
        const char *key = params[i].key.base, *val = params[i].value.base;
        char *end;
        if (strcmp(key, "status") == 0) {
            for (int s = LDR_ORDER_PENDING_PAYMENT; s <= LDR_ORDER_REFUNDED && status == 0; s++)
                if (strcmp(val, ldr_order_status_name(s)) == 0)
                    status = s;
            if (status == 0)
                return ldr_http_bad_param(req, "status", "not an order status");
        } else if (strcmp(key, "from") == 0 || strcmp(key, "to") == 0) {
            /* a day (YYYY-MM-DD, UTC) or an RFC 3339 time; `to` is exclusive, a day's end */
            bool to_ = key[0] == 't';
            int64_t t;
            char day[32];
            size_t len = strlen(val);
            if (len == 10)
                snprintf(day, sizeof(day), "%sT00:00:00Z", val);
            if (ldr_time_parse_rfc3339(len == 10 ? day : val, len == 10 ? strlen(day) : len, &t) !=
                LDR_OK)
                return ldr_http_bad_param(req, key, "expected YYYY-MM-DD or an RFC 3339 time");
            if (to_)
                to = len == 10 ? t + 86400 : t;
            else
                from = t;
        } else if (strcmp(key, "page") == 0) {
            page = strtoull(val, &end, 10);
            if (*val == '\0' || *end != '\0' || page < 1 || page > 100000)
                return ldr_http_bad_param(req, "page", "expected 1 to 100000");
        } else if (strcmp(key, "per_page") == 0) {
            per_page = strtoull(val, &end, 10);
            if (*val == '\0' || *end != '\0' || per_page < 1 || per_page > 100)
                return ldr_http_bad_param(req, "per_page", "expected 1 to 100");
        } else {
            return ldr_http_bad_param(req, key, "unknown parameter");
        }
    }
    ldr_buf_t b = LDR_BUF_INIT;
    ldr__list_t l = {who.role == LDR_ROLE_ADMIN ? NULL : who.sub, status, from, to, NULL, 0, 0};
    const ldr_catalog_t *cat = ldr_loop_view(h, ldr_loop(req))->catalog;
    ldr_buf_puts(&b, "{\"orders\":[");
    ldr_app_read_begin(h->app);
    ldr_orders_each(ldr_engine_state(h->app->engine)->orders, ldr__list_one, &l);
    /* newest first */
    uint64_t first = (page - 1) * per_page;
    for (uint64_t i = first; i < l.n && i < first + per_page; i++) {
        if (i > first)
            ldr_buf_putc(&b, ',');
        ldr__json_order(&b, l.all[l.n - 1 - i], cat, NULL);
    }
    ldr_app_read_end(h->app);
    ldr_free(l.all);
    ldr_buf_printf(&b, "],\"total\":%u,\"page\":%llu,\"per_page\":%llu}\n", l.n,
                   (unsigned long long)page, (unsigned long long)per_page);
    ldr_http_send_json(req, 200, b.base, b.len);
    ldr_buf_free(&b);
    return 0;
}

int ldr_route_order(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t id)
{
    ldr_principal_t who;
    if (ldr_http_not_ready(h, req) || !ldr_http_authorize(h, req, LDR__ORDER_ROLES, &who))
        return 0;
    ldr_buf_t b = LDR_BUF_INIT;
    const ldr_catalog_t *cat = ldr_loop_view(h, ldr_loop(req))->catalog;
    ldr_app_read_begin(h->app);
    const ldr_order_t *o =
        ldr_orders_find(ldr_engine_state(h->app->engine)->orders, id.base, id.len);
    /* someone else's order is as unknown as one that does not exist: ids do not leak */
    if (o != NULL && (who.role == LDR_ROLE_ADMIN || strcmp(o->owner, who.sub) == 0))
        ldr__json_order(&b, o, cat, NULL);
    ldr_app_read_end(h->app);
    if (b.len == 0)
        ldr_http_not_found(req, "order_id", id, "no such order");
    else {
        ldr_buf_putc(&b, '\n');
        ldr_http_send_json(req, 200, b.base, b.len);
    }
    ldr_buf_free(&b);
    return 0;
}

/* ---- cancel and status ---- */

static void ldr__moved(ldr_write_t *w, h2o_req_t *req)
{
    ldr__checkout_t *co = w->aux;
    int st = w->cmds[0].result.status;
    if (st == LDR_ECONFLICT) {
        char d[96], msg[96];
        snprintf(d, sizeof(d), "{\"from\":\"%s\",\"to\":\"%s\"}", co->from, co->to);
        snprintf(msg, sizeof(msg), "an order that is %s cannot become %s", co->from, co->to);
        ldr_http_send_error(req, 409, "invalid_transition", msg, d);
    } else if (st != LDR_OK) {
        ldr_http_write_failed(req, st);
    } else {
        ldr__send_order(w->h, req, 200, co->order);
    }
}

/*
 * Finds order `id` for the caller (someone else's is as unknown as one that does not exist) and
 * makes the write that moves it; answers 404 and returns NULL when there is none.
 */
static ldr_write_t *ldr__order_write(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t id,
                                     const ldr_principal_t *who, const char *to)
{
    ldr_write_t *w = ldr_write_new(h, req, id, ldr__moved);
    ldr__checkout_t *co = ldr_calloc(1, sizeof(*co));
    w->aux = co;
    ldr_app_read_begin(h->app);
    const ldr_order_t *o =
        ldr_orders_find(ldr_engine_state(h->app->engine)->orders, id.base, id.len);
    bool seen = o != NULL && (who->role != LDR_ROLE_CUSTOMER || strcmp(o->owner, who->sub) == 0);
    if (seen) {
        snprintf(co->order, sizeof(co->order), "%s", o->id);
        snprintf(co->from, sizeof(co->from), "%s", ldr_order_status_name(o->status));
        snprintf(co->to, sizeof(co->to), "%s", to);
        snprintf(co->provider, sizeof(co->provider), "%s", o->provider);
        snprintf(co->answer.ref, sizeof(co->answer.ref), "%s", o->pay_ref);
        co->total = o->total, co->status = o->status;
    }
    ldr_app_read_end(h->app);
    if (!seen) {
        ldr_http_not_found(req, "order_id", id, "no such order");
        ldr_write_free(w);
        return NULL;
    }
    return w;
}

/* The optional body {"reason"} of a cancel or refund into *reason (`dflt` without one); on a bad
 * body answers 400, frees w and returns false. */
static bool ldr__reason_body(ldr_write_t *w, h2o_req_t *req, const char *dflt, ldr_str_t *reason)
{
    static const ldr__json_key_t keys[] = {LDR__KEY("reason")};
    ldr__checkout_t *co = w->aux;
    snprintf(co->reason, sizeof(co->reason), "%s", dflt);
    *reason = (ldr_str_t){co->reason, strlen(co->reason)};
    if (w->body.len == 0)
        return true;
    ldr__jsonl_scratch_t sc = {0};
    ldr__json_line_t ln;
    uint32_t f[1];
    ldr_error_t err = {.position = -1};
    ldr_str_t given = {NULL, 0};
    if (!ldr_write_body(w, req, &sc, &ln))
        return false;
    if (ldr__json_fields(&ln, 0, NULL, keys, 1, f, &err) != LDR_OK ||
        ldr__json_str(&ln, f[0], "reason", false, 64, &given, &err) != LDR_OK)
        return ldr_write_bad_body(w, req, &sc, &err), false;
    if (given.ptr != NULL && given.len > 0) {
        ldr_buf_append(&w->strings, given.ptr, given.len);
        *reason = (ldr_str_t){w->strings.base, w->strings.len};
    }
    ldr__jsonl_scratch_free(&sc);
    return true;
}

int ldr_route_order_cancel(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t id)
{
    ldr_principal_t who;
    if (ldr_http_not_ready(h, req) || !ldr_http_authorize(h, req, LDR__ORDER_ROLES, &who))
        return 0;
    ldr_write_t *w = ldr__order_write(h, req, id, &who, "cancelled");
    ldr_str_t reason;
    if (w == NULL || !ldr__reason_body(w, req,
                                       who.role == LDR_ROLE_ADMIN ? "cancelled_by_admin"
                                                                  : "cancelled_by_customer",
                                       &reason))
        return 0;
    ldr__checkout_t *co = w->aux;
    ldr_cmd_t *c = &ldr_write_cmds(w, 1)->cmd;
    *c = (ldr_cmd_t){
        .type = LDR_CMD_ORDER_CANCEL, .order = {co->order, strlen(co->order)}, .reason = reason};
    ldr_write_submit(w);
    return 0;
}

static void ldr__refunded(ldr_write_t *w, h2o_req_t *req)
{
    const ldr_cmd_t *c = &w->cmds[0].cmd;
    if (w->cmds[0].result.status == LDR_ECONFLICT) {
        /* the key names another request, or the order cannot be refunded (any more) */
        ldr_app_read_begin(w->h->app);
        const ldr_idem_entry_t *seen =
            ldr_idem_find(ldr_engine_state(w->h->app->engine)->idem, c->idem_key.ptr,
                          c->idem_key.len, (int64_t)time(NULL));
        bool other = seen != NULL && seen->fingerprint != c->idem_fingerprint;
        ldr_app_read_end(w->h->app);
        if (other) {
            ldr_http_send_error(req, 409, "idempotency_conflict",
                                "this Idempotency-Key was used for another refund", NULL);
            return;
        }
    }
    ldr__moved(w, req);
}

/* The provider's answer to a refund or a capture: when it did it, the write goes on to the log
 * (co->next answers); else nothing changes. */
static void ldr__provider_agreed(ldr_write_t *w, h2o_req_t *req)
{
    ldr__checkout_t *co = w->aux;
    const ldr_pay_answer_t *a = &co->answer;
    if (a->result == LDR_PAY_OK) {
        w->reply = co->next;
        ldr_write_again(w);
        ldr_write_submit(w);
        return;
    }
    char details[200], msg[160];
    snprintf(details, sizeof(details), "{\"provider\":\"%s\",\"provider_says\":\"%s\"}",
             co->provider, a->detail);
    if (a->result == LDR_PAY_TIMEOUT || a->result == LDR_PAY_UNAVAILABLE) {
        snprintf(msg, sizeof(msg),
                 "the payment provider cannot be reached now; the order is not %s; try again",
                 co->to);
        ldr_http_send_error(req, 503, "payment_unavailable", msg, details);
    } else {
        snprintf(msg, sizeof(msg), "the payment provider refused; the order is not %s", co->to);
        ldr_http_send_error(req, 502, "payment_provider_error", msg, details);
    }
}

/* Asks the order's provider first (co->call filled by the caller), then logs the write's
 * command, answered by `next`. */
static void ldr__ask_provider(ldr_write_t *w, ldr_write_reply_cb next)
{
    ldr__checkout_t *co = w->aux;
    co->call.done = ldr__provider_answered;
    co->call.data = w;
    co->next = next;
    w->reply = ldr__provider_agreed;
    atomic_fetch_add_explicit(&w->loop->inflight, 1, memory_order_relaxed);
    ldr_http_client_submit(w->h->adapters, &co->call);
}

int ldr_route_order_refund(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t id)
{
    ldr_principal_t who;
    h2o_iovec_t key; /* "SUB KEY" */
    if (ldr_http_not_ready(h, req) ||
        !ldr_http_authorize(h, req, LDR_ROLES(LDR_ROLE_ADMIN), &who) ||
        !ldr_http_idempotency_key(req, &who, "so that a retry cannot refund twice", &key))
        return 0;
    ldr_write_t *w = ldr__order_write(h, req, id, &who, "refunded");
    ldr_str_t reason;
    if (w == NULL || !ldr__reason_body(w, req, "refunded_by_admin", &reason))
        return 0;
    w->reply = ldr__refunded;
    ldr__checkout_t *co = w->aux;
    /* the provider refunds first (the fake one at once, whatever it authorised); the log then
     * records it: a retry under the same key finds it refunded and answers the same */
    ldr_buf_append(&w->keys, key.base, key.len);
    uint64_t fp[2] = {ldr_hash(w->body.base, w->body.len),
                      ldr_hash(req->path_normalized.base, req->path_normalized.len)};
    ldr_cmd_t *c = &ldr_write_cmds(w, 1)->cmd;
    *c = (ldr_cmd_t){.type = LDR_CMD_ORDER_REFUND,
                     .order = {co->order, strlen(co->order)},
                     .reason = reason,
                     .idem_key = {w->keys.base, w->keys.len},
                     .idem_fingerprint = ldr_hash(fp, sizeof(fp))};
    /* a real provider is asked only for an order that may be refunded now: a refunded one (a
     * retry) and one that may not go straight to the engine, which answers as it should */
    bool stripe = strcmp(co->provider, "stripe") == 0, momo = strcmp(co->provider, "momo") == 0;
    if ((!stripe && !momo) || co->status < LDR_ORDER_PAID || co->status > LDR_ORDER_DELIVERED) {
        ldr_write_submit(w);
        return 0;
    }
    if ((stripe ? ldr_stripe() == NULL : ldr_momo() == NULL) || co->answer.ref[0] == '\0') {
        ldr_http_send_error(req, 503, "payment_unavailable",
                            "this order's payment provider is not configured on this server; "
                            "nothing changed",
                            NULL);
        ldr_write_free(w);
        return 0;
    }
    uint32_t deadline = (uint32_t)ldr_payment_timeout_ms();
    if (stripe)
        ldr_stripe_refund_call(ldr_stripe(), &co->call, co->order, co->answer.ref, deadline);
    else
        ldr_momo_refund_call(ldr_momo(), &co->call, co->order, co->answer.ref, co->total, deadline);
    ldr__ask_provider(w, ldr__refunded);
    return 0;
}

int ldr_route_order_status(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t id)
{
    static const ldr__json_key_t keys[] = {LDR__KEY("status"), LDR__KEY("note")};
    ldr_principal_t who;
    if (ldr_http_not_ready(h, req) ||
        !ldr_http_authorize(h, req, LDR_ROLES(LDR_ROLE_ADMIN) | LDR_ROLES(LDR_ROLE_SERVICE), &who))
        return 0;
    ldr_write_t *w = ldr_write_new(h, req, id, ldr__moved);
    ldr__jsonl_scratch_t sc = {0};
    ldr__json_line_t ln;
    uint32_t f[2];
    ldr_error_t err = {.position = -1};
    ldr_str_t status = {NULL, 0};
    if (!ldr_write_body(w, req, &sc, &ln))
        return 0;
    if (ldr__json_fields(&ln, 0, NULL, keys, 2, f, &err) != LDR_OK ||
        ldr__json_str(&ln, f[0], "status", true, 24, &status, &err) != LDR_OK)
        return ldr_write_bad_body(w, req, &sc, &err);
    if (f[1] != LDR_JSON_NONE) {
        ldr__json_error(&err, "note", "notes are not kept yet; leave it out");
        return ldr_write_bad_body(w, req, &sc, &err);
    }
    int to = 0;
    for (int s = LDR_ORDER_PENDING_PAYMENT; s <= LDR_ORDER_REFUNDED && to == 0; s++)
        if (ldr_str_eq(status, ldr_order_status_name(s), strlen(ldr_order_status_name(s))))
            to = s;
    if (to != LDR_ORDER_PICKING && to != LDR_ORDER_READY_FOR_PICKUP &&
        to != LDR_ORDER_OUT_FOR_DELIVERY && to != LDR_ORDER_DELIVERED &&
        to != LDR_ORDER_CANCELLED) {
        ldr__json_error(&err, "status",
                        to == 0 ? "not an order status"
                                : "expected picking, ready_for_pickup, out_for_delivery, "
                                  "delivered or cancelled (payment and refunds have their own "
                                  "ways)");
        return ldr_write_bad_body(w, req, &sc, &err);
    }
    ldr__jsonl_scratch_free(&sc);
    ldr_write_free(w); /* the body is read; the move gets a write of its own */
    w = ldr__order_write(h, req, id, &who, ldr_order_status_name(to));
    if (w == NULL)
        return 0;
    ldr__checkout_t *co = w->aux;
    ldr_cmd_t *c = &ldr_write_cmds(w, 1)->cmd;
    if (to == LDR_ORDER_CANCELLED) {
        snprintf(co->reason, sizeof(co->reason), "cancelled_by_admin");
        *c = (ldr_cmd_t){.type = LDR_CMD_ORDER_CANCEL,
                         .order = {co->order, strlen(co->order)},
                         .reason = {co->reason, strlen(co->reason)}};
    } else {
        *c = (ldr_cmd_t){.type = LDR_CMD_ORDER_STATUS,
                         .order = {co->order, strlen(co->order)},
                         .role = (uint16_t)to};
    }
    /* picking takes the money: a Stripe payment is captured first (a refused capture leaves the
     * order paid); any other move goes straight to the engine, which checks it */
    if (to == LDR_ORDER_PICKING && co->status == LDR_ORDER_PAID &&
        strcmp(co->provider, "stripe") == 0) {
        if (ldr_stripe() == NULL || co->answer.ref[0] == '\0') {
            ldr_http_send_error(req, 503, "payment_unavailable",
                                "this order's payment provider is not configured on this "
                                "server; the order is not picking",
                                NULL);
            ldr_write_free(w);
            return 0;
        }
        ldr_stripe_capture_call(ldr_stripe(), &co->call, co->order, co->answer.ref,
                                (uint32_t)ldr_payment_timeout_ms());
        ldr__ask_provider(w, ldr__moved);
        return 0;
    }
    ldr_write_submit(w);
    return 0;
}

/* ---- checkouts cut between their steps ---- */

typedef struct ldr__resume {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint32_t pending;
} ldr__resume_t;

typedef struct ldr__resume_req {
    ldr_engine_req_t req;
    ldr__resume_t *r;
    char order[LDR_ORDER_ID_MAX + 1];
    char provider[16];
    char token[LDR_PAY_TOKEN_MAX + 1];
    int64_t total;
    ldr_pay_answer_t answer;
    bool logged; /* a final answer: its command goes to the log */
} ldr__resume_req_t;

static void ldr__resumed(ldr_engine_req_t *er)
{
    ldr__resume_req_t *rr = (ldr__resume_req_t *)er;
    pthread_mutex_lock(&rr->r->lock);
    if (--rr->r->pending == 0)
        pthread_cond_signal(&rr->r->cond);
    pthread_mutex_unlock(&rr->r->lock);
}

typedef struct ldr__collect {
    ldr__resume_req_t *reqs;
    uint32_t n, cap;
} ldr__collect_t;

/* Under the read lock: the orders placed and not yet answered by a provider larder can ask. */
static void ldr__collect_pending(void *ctx, const ldr_order_t *o)
{
    ldr__collect_t *c = ctx;
    if (o->status != LDR_ORDER_PENDING_PAYMENT ||
        (strcmp(o->provider, "fake") != 0 &&
         !(strcmp(o->provider, "stripe") == 0 && ldr_stripe() != NULL)))
        return;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->reqs = ldr_realloc(c->reqs, c->cap * sizeof(*c->reqs));
    }
    ldr__resume_req_t *rr = &c->reqs[c->n++];
    memset(rr, 0, sizeof(*rr));
    snprintf(rr->order, sizeof(rr->order), "%s", o->id);
    snprintf(rr->provider, sizeof(rr->provider), "%s", o->provider);
    snprintf(rr->token, sizeof(rr->token), "%s", o->pay_token);
    rr->total = o->total;
}

/* Asks the order's provider again (the same question: a real one answers as it did the first
 * time) and makes the command that records a final answer; false for none. */
static bool ldr__ask_again(ldr__resume_req_t *rr)
{
    if (strcmp(rr->provider, "fake") == 0) {
        rr->answer.result = ldr_pay_fake(rr->token, strlen(rr->token));
    } else {
        ldr_http_call_t call = {0};
        ldr_stripe_authorize_call(ldr_stripe(), &call, rr->order, rr->total, rr->token,
                                  (uint32_t)ldr_payment_timeout_ms());
        ldr_http_call_run(&call);
        ldr_stripe_answer(&call, &rr->answer);
        ldr_http_call_clear(&call);
    }
    ldr_str_t id = {rr->order, strlen(rr->order)};
    if (rr->answer.result == LDR_PAY_OK)
        rr->req.cmd = (ldr_cmd_t){.type = LDR_CMD_ORDER_PAID,
                                  .order = id,
                                  .pay_ref = {rr->answer.ref, strlen(rr->answer.ref)}};
    else if (rr->answer.result == LDR_PAY_DECLINE)
        rr->req.cmd = (ldr_cmd_t){
            .type = LDR_CMD_ORDER_CANCEL, .order = id, .reason = {"payment_declined", 16}};
    else
        return false; /* no answer again: the payment deadline decides */
    return true;
}

int ldr_app_resume_checkouts(ldr_app_t *app)
{
    ldr__collect_t c = {0};
    ldr_app_read_begin(app);
    ldr_orders_each(ldr_engine_state(app->engine)->orders, ldr__collect_pending, &c);
    ldr_app_read_end(app);
    uint32_t n = 0, paid = 0, declined = 0;
    for (uint32_t i = 0; i < c.n; i++) {
        c.reqs[i].logged = ldr__ask_again(&c.reqs[i]);
        n += c.reqs[i].logged;
        paid += c.reqs[i].logged && c.reqs[i].answer.result == LDR_PAY_OK;
        declined += c.reqs[i].logged && c.reqs[i].answer.result == LDR_PAY_DECLINE;
    }
    ldr__resume_t r = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, n};
    for (uint32_t i = 0; i < c.n; i++) {
        if (!c.reqs[i].logged)
            continue;
        c.reqs[i].r = &r;
        c.reqs[i].req.done = ldr__resumed;
        ldr_engine_submit(app->engine, &c.reqs[i].req);
    }
    pthread_mutex_lock(&r.lock);
    while (r.pending > 0)
        pthread_cond_wait(&r.cond, &r.lock);
    pthread_mutex_unlock(&r.lock);
    int rc = LDR_OK;
    for (uint32_t i = 0; i < c.n; i++)
        if (c.reqs[i].logged && c.reqs[i].req.result.status == LDR_ESTORAGE)
            rc = LDR_ESTORAGE; /* the others may have gone through: they are final either way */
    if (c.n > 0)
        fprintf(stderr,
                "larder: checkouts cut between their steps, taken up: %u (%u paid, %u declined, "
                "%u still without an answer, cancelled at their payment deadline)\n",
                c.n, paid, declined, c.n - n);
    ldr_free(c.reqs);
    pthread_mutex_destroy(&r.lock);
    pthread_cond_destroy(&r.cond);
    return rc;
}
