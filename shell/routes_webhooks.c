/*
 * Webhooks from providers: POST /v1/webhooks/stripe and /v1/webhooks/momo (below).
 *
 * A webhook carries no token: it is the provider's signature that lets it in (Stripe-Signature,
 * checked against LARDER_STRIPE_WEBHOOK_SECRET, five minutes' tolerance); a missing, wrong or
 * stale one is 400 `invalid_signature` and changes nothing.  An event moves the order it names
 * (metadata.order_id, else the order whose payment is the event's PaymentIntent) only along the
 * status machine, so a repeated or late event changes nothing and is answered 200 all the same
 * (the provider stops retrying):
 *   payment_intent.amount_capturable_updated, payment_intent.succeeded: pending_payment → paid
 *   payment_intent.payment_failed, payment_intent.canceled: pending_payment → cancelled
 *   charge.refunded: a paid status → refunded (refunded at the provider's dashboard)
 * The answer is {"received":true,"applied":true|false,"order_id"?,"reason"?}; 503 when the log
 * cannot take the change (the provider retries).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "adapters/delivery.h"
#include "adapters/payment.h"
#include "http_internal.h"

typedef struct ldr__hook {
    ldr_stripe_event_t ev;
    char order[LDR_ORDER_ID_MAX + 1];
    int status; /* the order's, when the event came */
} ldr__hook_t;

typedef struct ldr__by_intent {
    const char *intent;
    ldr__hook_t *hook;
} ldr__by_intent_t;

static void ldr__find_intent(void *ctx, const ldr_order_t *o)
{
    ldr__by_intent_t *b = ctx;
    if (b->hook->order[0] == '\0' && o->pay_ref[0] != '\0' && strcmp(o->pay_ref, b->intent) == 0) {
        snprintf(b->hook->order, sizeof(b->hook->order), "%s", o->id);
        b->hook->status = o->status;
    }
}

static void ldr__hook_answer(h2o_req_t *req, bool applied, const char *order, const char *reason)
{
    char body[256];
    int n = snprintf(body, sizeof(body), "{\"received\":true,\"applied\":%s%s%s%s%s%s%s}\n",
                     applied ? "true" : "false", order[0] ? ",\"order_id\":\"" : "", order,
                     order[0] ? "\"" : "", reason ? ",\"reason\":\"" : "", reason ? reason : "",
                     reason ? "\"" : "");
    ldr_http_send_json(req, 200, body, (size_t)n);
}

static void ldr__hook_applied(ldr_write_t *w, h2o_req_t *req)
{
    ldr__hook_t *hk = w->aux;
    int st = w->cmds[0].result.status;
    if (st == LDR_OK)
        ldr__hook_answer(req, true, hk->order, NULL);
    else if (st == LDR_ECONFLICT || st == LDR_ENOENT) /* the order moved on meanwhile */
        ldr__hook_answer(req, false, hk->order, "the order is past this event");
    else
        ldr_http_write_failed(req, st);
}

int ldr_route_webhook_stripe(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg)
{
    if (ldr_http_not_ready(h, req))
        return 0;
    ldr_stripe_t *s = ldr_stripe();
    if (s == NULL || s->webhook_secret[0] == '\0')
        return ldr_http_not_found(req, "provider", h2o_iovec_init(H2O_STRLIT("stripe")),
                                  "Stripe webhooks are not configured on this server "
                                  "(LARDER_STRIPE_WEBHOOK_SECRET)");
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("stripe-signature"), -1);
    if (i < 0 || ldr_stripe_verify(s->webhook_secret, req->headers.entries[i].value.base,
                                   req->headers.entries[i].value.len, req->entity.base,
                                   req->entity.len, (int64_t)time(NULL)) != LDR_OK) {
        ldr_http_send_error(req, 400, "invalid_signature",
                            "the Stripe-Signature header is missing, wrong or too old; nothing "
                            "changed",
                            NULL);
        return 0;
    }
    ldr_write_t *w = ldr_write_new(h, req, arg, ldr__hook_applied);
    ldr__hook_t *hk = ldr_calloc(1, sizeof(*hk));
    w->aux = hk;
    if (ldr_stripe_event(w->body.base, w->body.len, &hk->ev) != LDR_OK) {
        ldr_http_send_error(req, 400, "invalid_body",
                            "not a Stripe event (id, type and data.object are needed)", NULL);
        ldr_write_free(w);
        return 0;
    }
    /* the order it is about, and where that order is now */
    ldr_app_read_begin(h->app);
    const ldr_orders_t *orders = ldr_engine_state(h->app->engine)->orders;
    const ldr_order_t *o = hk->ev.order[0] != '\0'
                               ? ldr_orders_find(orders, hk->ev.order, strlen(hk->ev.order))
                               : NULL;
    if (o != NULL) {
        snprintf(hk->order, sizeof(hk->order), "%s", o->id);
        hk->status = o->status;
    } else if (hk->ev.order[0] == '\0' && hk->ev.intent[0] != '\0') {
        ldr__by_intent_t b = {hk->ev.intent, hk};
        ldr_orders_each(orders, ldr__find_intent, &b);
    }
    ldr_app_read_end(h->app);
    const char *type = hk->ev.type;
    bool pays = strcmp(type, "payment_intent.amount_capturable_updated") == 0 ||
                strcmp(type, "payment_intent.succeeded") == 0,
         fails = strcmp(type, "payment_intent.payment_failed") == 0 ||
                 strcmp(type, "payment_intent.canceled") == 0,
         refunds = strcmp(type, "charge.refunded") == 0;
    const char *skip =
        hk->order[0] == '\0'          ? "no order of larder's"
        : !pays && !fails && !refunds ? "not an event larder acts on"
        : (pays || fails) && hk->status != LDR_ORDER_PENDING_PAYMENT
            ? "the order is past this event"
        : refunds && (hk->status < LDR_ORDER_PAID || hk->status > LDR_ORDER_DELIVERED)
            ? "the order is past this event"
            : NULL;
    if (skip != NULL) {
        ldr__hook_answer(req, false, hk->order, skip);
        ldr_write_free(w);
        return 0;
    }
    ldr_cmd_t *c = &ldr_write_cmds(w, 1)->cmd;
    ldr_str_t id = {hk->order, strlen(hk->order)};
    if (pays)
        *c = (ldr_cmd_t){.type = LDR_CMD_ORDER_PAID,
                         .order = id,
                         .pay_ref = {hk->ev.intent, strlen(hk->ev.intent)}};
    else if (fails)
        *c = (ldr_cmd_t){
            .type = LDR_CMD_ORDER_CANCEL, .order = id, .reason = {"payment_declined", 16}};
    else
        *c = (ldr_cmd_t){
            .type = LDR_CMD_ORDER_REFUND, .order = id, .reason = {"refunded_at_provider", 20}};
    ldr_write_submit(w);
    return 0;
}

/*
 * POST /v1/webhooks/momo: MoMo's IPN for a payment a checkout created.  Signed with the partner's
 * secret key (400 `invalid_signature` otherwise, nothing changes); resultCode 0 pays the pending
 * order (the transId becomes its payment reference), any other cancels it (stock and window back).
 * An IPN for an order past that point, or for an amount other than the order's, changes nothing.
 * Answered 204, as MoMo expects; 503 when the log cannot take it (MoMo retries).
 */
static void ldr__no_content(h2o_req_t *req)
{
    req->res.status = 204;
    req->res.reason = "No Content";
    h2o_send_inline(req, NULL, 0);
}

static void ldr__ipn_applied(ldr_write_t *w, h2o_req_t *req)
{
    int st = w->cmds[0].result.status;
    if (st != LDR_OK && st != LDR_ECONFLICT && st != LDR_ENOENT)
        ldr_http_write_failed(req, st);
    else
        ldr__no_content(req); /* applied, or the order moved on meanwhile */
}

int ldr_route_webhook_momo(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg)
{
    if (ldr_http_not_ready(h, req))
        return 0;
    ldr_momo_t *m = ldr_momo();
    if (m == NULL)
        return ldr_http_not_found(req, "provider", h2o_iovec_init(H2O_STRLIT("momo")),
                                  "MoMo is not configured on this server");
    ldr_momo_ipn_t ipn;
    int rc = ldr_momo_ipn(m, req->entity.base, req->entity.len, &ipn);
    if (rc != LDR_OK) {
        ldr_http_send_error(req, 400, rc == LDR_EAUTH ? "invalid_signature" : "invalid_body",
                            rc == LDR_EAUTH ? "the IPN is not signed with this partner's key; "
                                              "nothing changed"
                                            : "not a MoMo IPN",
                            NULL);
        return 0;
    }
    ldr_write_t *w = ldr_write_new(h, req, arg, ldr__ipn_applied);
    ldr__hook_t *hk = ldr_calloc(1, sizeof(*hk));
    w->aux = hk;
    snprintf(hk->order, sizeof(hk->order), "%s", ipn.order);
    snprintf(hk->ev.intent, sizeof(hk->ev.intent), "%s", ipn.trans_id);
    ldr_app_read_begin(h->app);
    const ldr_order_t *o =
        ldr_orders_find(ldr_engine_state(h->app->engine)->orders, ipn.order, strlen(ipn.order));
    bool applies = o != NULL && o->status == LDR_ORDER_PENDING_PAYMENT &&
                   strcmp(o->provider, "momo") == 0 && o->total == ipn.amount;
    ldr_app_read_end(h->app);
    if (!applies) { /* another's, late, redelivered, or not the amount asked: nothing to do */
        ldr__no_content(req);
        ldr_write_free(w);
        return 0;
    }
    ldr_cmd_t *c = &ldr_write_cmds(w, 1)->cmd;
    ldr_str_t id = {hk->order, strlen(hk->order)};
    if (ipn.result_code == 0)
        *c = (ldr_cmd_t){.type = LDR_CMD_ORDER_PAID,
                         .order = id,
                         .pay_ref = {hk->ev.intent, strlen(hk->ev.intent)}};
    else
        *c = (ldr_cmd_t){
            .type = LDR_CMD_ORDER_CANCEL, .order = id, .reason = {"payment_declined", 16}};
    ldr_write_submit(w);
    return 0;
}

/*
 * POST /v1/webhooks/delivery/{provider}: a courier's progress on a booking (adapters/delivery.h
 * says how each provider signs and shapes it).  A bad signature is 400 `invalid_signature` and
 * changes nothing; a signed body that is not the provider's webhook is 400 `invalid_body`.  The
 * booking's status follows (DELIVERY) and the order's with it, along the status machine:
 *   in transit:  booked → in_transit; the order picking → out_for_delivery
 *   delivered:   booked or in_transit → delivered; the order out_for_delivery (or picking, through
 *                out_for_delivery) → delivered
 *   failed:      booked or in_transit → failed (the order stays: the store decides)
 * What the order is past (a repeated or late webhook, a paid order not picked yet) changes nothing
 * and is answered 200 {"received":true,"applied":false,…}, so the provider stops retrying; 503
 * when the log cannot take it (the provider retries).
 */
typedef struct ldr__dhook {
    ldr_delivery_event_t ev;
    char order[LDR_ORDER_ID_MAX + 1];
    char reason[64];
} ldr__dhook_t;

typedef struct ldr__by_tracking {
    const char *courier, *tracking;
    const ldr_order_t *found;
} ldr__by_tracking_t;

static void ldr__find_tracking(void *ctx, const ldr_order_t *o)
{
    ldr__by_tracking_t *b = ctx;
    if (b->found == NULL && strcmp(o->tracking, b->tracking) == 0 &&
        strcmp(o->courier, b->courier) == 0)
        b->found = o;
}

static void ldr__dhook_applied(ldr_write_t *w, h2o_req_t *req)
{
    ldr__dhook_t *hk = w->aux;
    bool applied = false;
    for (uint32_t i = 0; i < w->ncmds; i++) {
        int st = w->cmds[i].result.status;
        if (st == LDR_ESTORAGE) {
            ldr_http_write_failed(req, st);
            return;
        }
        applied |= st == LDR_OK;
    }
    ldr__hook_answer(req, applied, hk->order, applied ? NULL : "the order is past this event");
}

int ldr_route_webhook_delivery(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t provider)
{
    if (ldr_http_not_ready(h, req))
        return 0;
    ldr_courier_t *k = ldr_courier(provider.base, provider.len);
    if (k == NULL)
        return ldr_http_not_found(req, "provider", provider,
                                  "no such delivery provider on this server");
    const char *hname = ldr_courier_signature_header(k);
    ssize_t i =
        hname != NULL ? h2o_find_header_by_str(&req->headers, hname, strlen(hname), -1) : -1;
    ldr_delivery_event_t ev;
    int rc = ldr_courier_webhook(k, i >= 0 ? req->headers.entries[i].value.base : NULL,
                                 i >= 0 ? req->headers.entries[i].value.len : 0, req->entity.base,
                                 req->entity.len, &ev);
    if (rc == LDR_EAUTH) {
        ldr_http_send_error(req, 400, "invalid_signature",
                            "the webhook is not signed with this provider's secret; nothing "
                            "changed",
                            NULL);
        return 0;
    }
    if (rc != LDR_OK) {
        ldr_http_send_error(req, 400, "invalid_body",
                            "not a delivery webhook of this provider (a booking id and a status "
                            "are needed); nothing changed",
                            NULL);
        return 0;
    }
    ldr__dhook_t *hk = ldr_calloc(1, sizeof(*hk));
    hk->ev = ev;
    int delivery = 0, status = 0;
    ldr_app_read_begin(h->app);
    const ldr_orders_t *orders = ldr_engine_state(h->app->engine)->orders;
    const ldr_order_t *o =
        ev.order[0] != '\0' ? ldr_orders_find(orders, ev.order, strlen(ev.order)) : NULL;
    if (o == NULL && ev.order[0] == '\0') {
        ldr__by_tracking_t b = {k->name, ev.tracking, NULL};
        ldr_orders_each(orders, ldr__find_tracking, &b);
        o = b.found;
    }
    /* an order of this courier's, and (once booked) this booking */
    if (o != NULL && strcmp(o->courier, k->name) == 0 &&
        (o->tracking[0] == '\0' || strcmp(o->tracking, ev.tracking) == 0)) {
        snprintf(hk->order, sizeof(hk->order), "%s", o->id);
        delivery = o->delivery, status = o->status;
    }
    ldr_app_read_end(h->app);
    /* the commands this event makes, in order */
    ldr_cmd_t cmds[3];
    uint32_t n = 0;
    ldr_str_t id = {hk->order, strlen(hk->order)};
    bool live = delivery == LDR_DELIVERY_BOOKED || delivery == LDR_DELIVERY_IN_TRANSIT;
    snprintf(hk->reason, sizeof(hk->reason), "%s: %s", k->name, ev.said);
    if (hk->order[0] == '\0' || ev.status == 0) {
        ldr__hook_answer(req, false, hk->order,
                         hk->order[0] == '\0' ? "no order of larder's"
                                              : "not a status larder acts on");
        ldr_free(hk);
        return 0;
    }
    if ((ev.status == LDR_DELIVERY_IN_TRANSIT && delivery == LDR_DELIVERY_BOOKED) ||
        (ev.status != LDR_DELIVERY_IN_TRANSIT && live))
        cmds[n++] = (ldr_cmd_t){.type = LDR_CMD_DELIVERY,
                                .order = id,
                                .role = (uint16_t)ev.status,
                                .reason = {hk->reason, strlen(hk->reason)}};
    if (ev.status != LDR_DELIVERY_FAILED && status == LDR_ORDER_PICKING)
        cmds[n++] = (ldr_cmd_t){
            .type = LDR_CMD_ORDER_STATUS, .order = id, .role = LDR_ORDER_OUT_FOR_DELIVERY};
    if (ev.status == LDR_DELIVERY_DELIVERED &&
        (status == LDR_ORDER_PICKING || status == LDR_ORDER_OUT_FOR_DELIVERY))
        cmds[n++] =
            (ldr_cmd_t){.type = LDR_CMD_ORDER_STATUS, .order = id, .role = LDR_ORDER_DELIVERED};
    if (n == 0) {
        ldr__hook_answer(req, false, hk->order, "the order is past this event");
        ldr_free(hk);
        return 0;
    }
    ldr_write_t *w = ldr_write_new(h, req, provider, ldr__dhook_applied);
    w->aux = hk;
    ldr_engine_req_t *reqs = ldr_write_cmds(w, n);
    for (uint32_t c = 0; c < n; c++)
        reqs[c].cmd = cmds[c];
    ldr_write_submit(w);
    return 0;
}
