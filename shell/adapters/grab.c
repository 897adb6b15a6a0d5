/* GrabExpress (shell/adapters/delivery.h: the requests, answers and webhooks as assumed). */
#include "delivery.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "larder/common.h"

/* RFC 3339 UTC of t. */
static void ldr__time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The body both a quote and a booking send: what goes where. */
static json_t *ldr__shipment(const ldr_courier_t *k, const ldr_delivery_order_t *o)
{
    char to[LDR_ADDR_LINE_MAX + 3 * LDR_ADDR_PART_MAX + 16], desc[64];
    ldr_delivery_address_line(&o->to, to, sizeof(to));
    snprintf(desc, sizeof(desc), "larder order %s", o->order);
    return json_pack("{s:s, s:s, s:[{s:s, s:s, s:I, s:I, s:{s:i, s:i, s:i, s:i}}], s:{s:s}, "
                     "s:{s:s}}",
                     "serviceType", "INSTANT", "paymentMethod", "CASHLESS", "packages", "name",
                     "Groceries", "description", desc, "quantity", (json_int_t)o->items, "price",
                     (json_int_t)o->total, "dimensions", "height", 0, "width", 0, "depth", 0,
                     "weight", 0, "origin", "address", k->sender_address, "destination", "address",
                     to);
}

void ldr_grab_call(ldr_courier_t *k, int op, const ldr_delivery_order_t *o, ldr_http_call_t *c)
{
    json_t *body = NULL;
    snprintf(c->headers[0], sizeof(c->headers[0]), "Authorization: Bearer %s", k->key);
    snprintf(c->headers[1], sizeof(c->headers[1]), "Content-Type: application/json");
    snprintf(c->headers[2], sizeof(c->headers[2]), "Expect:");
    switch (op) {
    case LDR_DLV_QUOTE:
        c->method = "POST";
        snprintf(c->url, sizeof(c->url), "%s/v1/deliveries/quotes", k->url);
        body = ldr__shipment(k, o);
        break;
    case LDR_DLV_BOOK: {
        c->method = "POST";
        snprintf(c->url, sizeof(c->url), "%s/v1/deliveries", k->url);
        body = ldr__shipment(k, o);
        /* the recipient's phone in international form: 84 and the national digits */
        char phone[24];
        snprintf(phone, sizeof(phone), "84%s", o->to.phone + 1);
        json_object_set_new(body, "merchantOrderID", json_string(o->order));
        json_object_set_new(body, "recipient",
                            json_pack("{s:s, s:s, s:s, s:b}", "firstName", o->to.name, "lastName",
                                      "", "phone", phone, "smsEnabled", 1));
        json_object_set_new(body, "sender",
                            json_pack("{s:s, s:s, s:b}", "firstName", k->sender_name, "phone",
                                      k->sender_phone, "smsEnabled", 0));
        if (o->window_start > 0) { /* picked up in the window's first hour, delivered in it */
            char from[32], to[32];
            ldr__time(o->window_start, from);
            ldr__time(o->window_start + 3600, to);
            json_object_set_new(
                body, "schedule",
                json_pack("{s:s, s:s}", "pickupTimeFrom", from, "pickupTimeTo", to));
        }
        break;
    }
    case LDR_DLV_CANCEL:
        c->method = "DELETE";
        snprintf(c->url, sizeof(c->url), "%s/v1/deliveries/%s", k->url, o->tracking);
        break;
    default:
        c->method = "GET";
        snprintf(c->url, sizeof(c->url), "%s/v1/deliveries/%s", k->url, o->tracking);
        break;
    }
    if (body != NULL) {
        char *s = json_dumps(body, JSON_COMPACT);
        ldr_buf_puts(&c->body, s);
        free(s);
        json_decref(body);
    }
}

int ldr_grab_status(const char *s)
{
    static const struct {
        const char *said;
        int status;
    } map[] = {{"ALLOCATING", 0},
               {"PENDING_PICKUP", 0},
               {"PICKING_UP", 0},
               {"PENDING_DROP_OFF", LDR_DELIVERY_IN_TRANSIT},
               {"IN_DELIVERY", LDR_DELIVERY_IN_TRANSIT},
               {"COMPLETED", LDR_DELIVERY_DELIVERED},
               {"CANCELED", LDR_DELIVERY_FAILED},
               {"FAILED", LDR_DELIVERY_FAILED},
               {"IN_RETURN", LDR_DELIVERY_FAILED},
               {"RETURNED", LDR_DELIVERY_FAILED}};
    for (size_t i = 0; s != NULL && i < LDR_ARRAY_SIZE(map); i++)
        if (strcmp(s, map[i].said) == 0)
            return map[i].status;
    return 0;
}

void ldr_grab_answer(int op, const ldr_http_call_t *c, ldr_delivery_answer_t *a)
{
    if (op == LDR_DLV_CANCEL) {
        /* gone already (404) or cancelled (2xx): either way nothing is booked any more */
        a->result = (c->status >= 200 && c->status < 300) || c->status == 404 ? LDR_DLV_OK
                                                                              : LDR_DLV_REFUSED;
        snprintf(a->detail, sizeof(a->detail), "HTTP %ld", c->status);
        return;
    }
    json_t *j =
        json_loadb(c->response.base != NULL ? c->response.base : "", c->response.len, 0, NULL);
    if (c->status < 200 || c->status >= 300) {
        const char *msg = json_string_value(json_object_get(j, "message"));
        a->result = LDR_DLV_REFUSED;
        snprintf(a->detail, sizeof(a->detail), "HTTP %ld%s%.60s", c->status, msg ? ": " : "",
                 msg ? msg : "");
    } else if (op == LDR_DLV_BOOK) {
        const char *id = json_string_value(json_object_get(j, "deliveryID"));
        json_t *amount = json_object_get(json_object_get(j, "quote"), "amount");
        if (!ldr_delivery_id_ok(id)) {
            a->result = LDR_DLV_ERROR;
            snprintf(a->detail, sizeof(a->detail), "unreadable answer (no deliveryID)");
        } else {
            a->result = LDR_DLV_OK;
            snprintf(a->tracking, sizeof(a->tracking), "%s", id);
            a->fee = ldr_delivery_fee(amount);
            const char *st = json_string_value(json_object_get(j, "status"));
            snprintf(a->detail, sizeof(a->detail), "%.40s", st != NULL ? st : "booked");
        }
    } else if (op == LDR_DLV_QUOTE) {
        json_t *amount = json_object_get(json_array_get(json_object_get(j, "quotes"), 0), "amount");
        a->result = json_is_number(amount) ? LDR_DLV_OK : LDR_DLV_ERROR;
        a->fee = ldr_delivery_fee(amount);
        snprintf(a->detail, sizeof(a->detail), "%s", a->result == LDR_DLV_OK ? "ok" : "no quote");
    } else {
        const char *st = json_string_value(json_object_get(j, "status"));
        a->result = st != NULL ? LDR_DLV_OK : LDR_DLV_ERROR;
        a->status = ldr_grab_status(st);
        snprintf(a->detail, sizeof(a->detail), "%.40s", st ? st : "unreadable answer");
    }
    json_decref(j);
}

int ldr_grab_webhook(const ldr_courier_t *k, const char *payload, size_t len,
                     ldr_delivery_event_t *ev)
{
    json_t *j = json_loadb(payload, len, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "deliveryID")),
               *order = json_string_value(json_object_get(j, "merchantOrderID")),
               *st = json_string_value(json_object_get(j, "status"));
    int rc = LDR_EPARSE;
    if (ldr_delivery_id_ok(id) && st != NULL && strlen(st) < sizeof(ev->said) &&
        (order == NULL || strlen(order) <= LDR_ORDER_ID_MAX)) {
        snprintf(ev->tracking, sizeof(ev->tracking), "%s", id);
        snprintf(ev->order, sizeof(ev->order), "%s", order != NULL ? order : "");
        snprintf(ev->said, sizeof(ev->said), "%s", st);
        ev->status = ldr_grab_status(st);
        rc = LDR_OK;
    }
    json_decref(j);
    return rc;
}
