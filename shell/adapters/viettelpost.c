/* ViettelPost (shell/adapters/delivery.h: the requests, answers and webhooks as assumed). */
#include "delivery.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "larder/common.h"

void ldr_vtp_call(ldr_courier_t *k, int op, const ldr_delivery_order_t *o, ldr_http_call_t *c)
{
    char to[LDR_ADDR_LINE_MAX + 3 * LDR_ADDR_PART_MAX + 16], what[64];
    json_t *body;
    ldr_delivery_address_line(&o->to, to, sizeof(to));
    snprintf(what, sizeof(what), "larder order %s", o->order);
    c->method = "POST";
    snprintf(c->headers[0], sizeof(c->headers[0]), "Token: %s", k->key);
    snprintf(c->headers[1], sizeof(c->headers[1]), "Content-Type: application/json");
    snprintf(c->headers[2], sizeof(c->headers[2]), "Expect:");
    switch (op) {
    case LDR_DLV_QUOTE:
        snprintf(c->url, sizeof(c->url), "%s/v2/order/getPrice", k->url);
        body = json_pack("{s:i, s:I, s:i, s:s, s:s, s:s, s:s, s:i}", "PRODUCT_WEIGHT", 1000,
                         "PRODUCT_PRICE", (json_int_t)o->total, "MONEY_COLLECTION", 0,
                         "ORDER_SERVICE", "VHT", "PRODUCT_TYPE", "HH", "SENDER_ADDRESS",
                         k->sender_address, "RECEIVER_ADDRESS", to, "NATIONAL_TYPE", 1);
        break;
    case LDR_DLV_BOOK:
        /* paid online: no cash on delivery (ORDER_PAYMENT 1: the sender pays the fee) */
        snprintf(c->url, sizeof(c->url), "%s/v2/order/createOrder", k->url);
        body = json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:i, s:s, s:i, "
            "s:s, s:i, s:s}",
            "ORDER_NUMBER", o->order, "SENDER_FULLNAME", k->sender_name, "SENDER_ADDRESS",
            k->sender_address, "SENDER_PHONE", k->sender_phone, "RECEIVER_FULLNAME", o->to.name,
            "RECEIVER_ADDRESS", to, "RECEIVER_PHONE", o->to.phone, "PRODUCT_NAME", what,
            "PRODUCT_QUANTITY", (json_int_t)o->items, "PRODUCT_PRICE", (json_int_t)o->total,
            "PRODUCT_WEIGHT", 1000, "PRODUCT_TYPE", "HH", "ORDER_PAYMENT", 1, "ORDER_SERVICE",
            "VHT", "MONEY_COLLECTION", 0, "ORDER_NOTE", "same-day grocery delivery");
        break;
    default: /* cancel: TYPE 4 of UpdateOrder */
        snprintf(c->url, sizeof(c->url), "%s/v2/order/UpdateOrder", k->url);
        body = json_pack("{s:i, s:s, s:s}", "TYPE", 4, "ORDER_NUMBER", o->tracking, "NOTE",
                         "order cancelled");
        break;
    }
    char *s = json_dumps(body, JSON_COMPACT);
    ldr_buf_puts(&c->body, s);
    free(s);
    json_decref(body);
}

int ldr_vtp_status(long long code)
{
    if (code == 501)
        return LDR_DELIVERY_DELIVERED;
    if (code == 107 || code == 201 || (code >= 502 && code <= 504) || code == 515)
        return LDR_DELIVERY_FAILED;
    if (code == 105 || (code >= 200 && code <= 500))
        return LDR_DELIVERY_IN_TRANSIT;
    return 0; /* 100-104: accepted, before pickup; others: nothing larder acts on */
}

void ldr_vtp_answer(int op, const ldr_http_call_t *c, ldr_delivery_answer_t *a)
{
    json_t *j =
        json_loadb(c->response.base != NULL ? c->response.base : "", c->response.len, 0, NULL);
    json_t *err = json_object_get(j, "error"), *data = json_object_get(j, "data");
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (op == LDR_DLV_TRACK) { /* not offered (ldr_courier_prepare answers it) */
        a->result = LDR_DLV_UNAVAILABLE;
        snprintf(a->detail, sizeof(a->detail), "not offered: statuses come by webhook");
    } else if (c->status < 200 || c->status >= 300) { /* whatever the body says (fuzzed) */
        a->result = LDR_DLV_REFUSED;
        snprintf(a->detail, sizeof(a->detail), "HTTP %ld%s%.60s", c->status, msg ? ": " : "",
                 msg ? msg : "");
    } else if (!json_is_boolean(err)) {
        a->result = LDR_DLV_ERROR;
        snprintf(a->detail, sizeof(a->detail), "unreadable answer (HTTP %ld)", c->status);
    } else if (json_is_true(err)) {
        /* a cancel of what is cancelled already is done all the same */
        bool gone = op == LDR_DLV_CANCEL && msg != NULL && strstr(msg, "cancel") != NULL;
        a->result = gone ? LDR_DLV_OK : LDR_DLV_REFUSED;
        snprintf(a->detail, sizeof(a->detail), "%.80s", msg != NULL ? msg : "refused");
    } else if (op == LDR_DLV_BOOK) {
        const char *id = json_string_value(json_object_get(data, "ORDER_NUMBER"));
        json_t *fee = json_object_get(data, "MONEY_TOTAL");
        if (!ldr_delivery_id_ok(id)) {
            a->result = LDR_DLV_ERROR;
            snprintf(a->detail, sizeof(a->detail), "unreadable answer (no ORDER_NUMBER)");
        } else {
            a->result = LDR_DLV_OK;
            snprintf(a->tracking, sizeof(a->tracking), "%s", id);
            a->fee = ldr_delivery_fee(fee);
            snprintf(a->detail, sizeof(a->detail), "booked");
        }
    } else if (op == LDR_DLV_QUOTE) {
        json_t *fee = json_object_get(data, "MONEY_TOTAL");
        a->result = json_is_number(fee) ? LDR_DLV_OK : LDR_DLV_ERROR;
        a->fee = ldr_delivery_fee(fee);
        snprintf(a->detail, sizeof(a->detail), "%s", a->result == LDR_DLV_OK ? "ok" : "no price");
    } else {
        a->result = LDR_DLV_OK;
        snprintf(a->detail, sizeof(a->detail), "cancelled");
    }
    json_decref(j);
}

int ldr_vtp_webhook(const ldr_courier_t *k, const char *payload, size_t len,
                    ldr_delivery_event_t *ev)
{
    json_t *j = json_loadb(payload, len, 0, NULL);
    const char *token = json_string_value(json_object_get(j, "TOKEN"));
    size_t want = strlen(k->webhook_secret);
    int rc = LDR_EAUTH;
    if (token != NULL && strlen(token) == want &&
        sodium_memcmp(token, k->webhook_secret, want) == 0) {
        json_t *d = json_object_get(j, "DATA");
        const char *id = json_string_value(json_object_get(d, "ORDER_NUMBER")),
                   *ref = json_string_value(json_object_get(d, "ORDER_REFERENCE"));
        json_t *code = json_object_get(d, "ORDER_STATUS");
        rc = LDR_EPARSE;
        if (ldr_delivery_id_ok(id) && json_is_integer(code) &&
            (ref == NULL || strlen(ref) <= LDR_ORDER_ID_MAX)) {
            snprintf(ev->tracking, sizeof(ev->tracking), "%s", id);
            snprintf(ev->order, sizeof(ev->order), "%s", ref != NULL ? ref : "");
            snprintf(ev->said, sizeof(ev->said), "%lld", (long long)json_integer_value(code));
            ev->status = ldr_vtp_status((long long)json_integer_value(code));
            rc = LDR_OK;
        }
    }
    json_decref(j);
    return rc;
}
