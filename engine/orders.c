/*
 * The orders table (include/larder/orders.h): orders in the order they were placed, an
 * open-addressing index by id, and the places each delivery window holds.
 */
#include "larder/orders.h"

#include <stdio.h>
#include <string.h>

#include "larder/intern.h"

typedef struct ldr__slot_count {
    char id[LDR_SLOT_ID_MAX + 1];
    uint32_t held;
} ldr__slot_count_t;

struct ldr_orders {
    ldr_order_t **all; /* oldest first */
    uint32_t count, cap;
    uint32_t *index; /* open addressing: position in `all` + 1, 0 = empty */
    uint32_t mask;
    ldr__slot_count_t *slots; /* windows ever held (few per store and day) */
    uint32_t nslots, capslots;
};

static const char *const ldr__status_names[] = {NULL,        "pending_payment",  "paid",
                                                "picking",   "ready_for_pickup", "out_for_delivery",
                                                "delivered", "cancelled",        "refunded"};

const char *ldr_order_status_name(int status)
{
    return status > 0 && status <= LDR_ORDER_REFUNDED ? ldr__status_names[status] : NULL;
}

ldr_orders_t *ldr_orders_new(void)
{
    ldr_orders_t *o = ldr_calloc(1, sizeof(*o));
    o->mask = 63;
    o->index = ldr_calloc(o->mask + 1, sizeof(*o->index));
    return o;
}

void ldr_orders_free(ldr_orders_t *o)
{
    if (o == NULL)
        return;
    for (uint32_t i = 0; i < o->count; i++)
        ldr_free(o->all[i]);
    ldr_free(o->all);
    ldr_free(o->index);
    ldr_free(o->slots);
    ldr_free(o);
}

static const char *const ldr__delivery_names[] = {"none",      "pending",    "booking_failed",
                                                  "booked",    "in_transit", "delivered",
                                                  "cancelled", "failed"};

const char *ldr_delivery_status_name(int status)
{
    return status >= 0 && status <= LDR_DELIVERY_FAILED ? ldr__delivery_names[status] : NULL;
}

uint32_t ldr_orders_count(const ldr_orders_t *o)
{
    return o->count;
}

static uint32_t *ldr__index_slot(const ldr_orders_t *o, const char *id, size_t len)
{
    for (uint32_t i = (uint32_t)ldr_hash(id, len) & o->mask;; i = (i + 1) & o->mask) {
        uint32_t at = o->index[i];
        if (at == 0)
            return &o->index[i];
        const ldr_order_t *x = o->all[at - 1];
        if (strlen(x->id) == len && memcmp(x->id, id, len) == 0)
            return &o->index[i];
    }
}

const ldr_order_t *ldr_orders_find(const ldr_orders_t *o, const char *id, size_t len)
{
    if (len == 0 || len > LDR_ORDER_ID_MAX)
        return NULL;
    uint32_t at = *ldr__index_slot(o, id, len);
    return at == 0 ? NULL : o->all[at - 1];
}

static ldr__slot_count_t *ldr__slot_count(ldr_orders_t *o, const char *slot, size_t len, bool add)
{
    for (uint32_t i = 0; i < o->nslots; i++)
        if (strlen(o->slots[i].id) == len && memcmp(o->slots[i].id, slot, len) == 0)
            return &o->slots[i];
    if (!add)
        return NULL;
    if (o->nslots == o->capslots) {
        o->capslots = o->capslots ? o->capslots * 2 : 16;
        o->slots = ldr_realloc(o->slots, o->capslots * sizeof(*o->slots));
    }
    ldr__slot_count_t *s = &o->slots[o->nslots++];
    memcpy(s->id, slot, len);
    s->id[len] = '\0';
    s->held = 0;
    return s;
}

uint32_t ldr_orders_slot_held(const ldr_orders_t *o, const char *slot, size_t len)
{
    ldr__slot_count_t *s = ldr__slot_count((ldr_orders_t *)o, slot, len, false);
    return s != NULL ? s->held : 0;
}

/* Whether the order (in its final or any state) keeps a place in its delivery window: every order
 * but a cancelled one and one refunded before it was picked. */
static bool ldr__holds_place(const ldr_order_t *x)
{
    if (x->status == LDR_ORDER_CANCELLED)
        return false;
    if (x->status != LDR_ORDER_REFUNDED)
        return true;
    for (uint32_t i = 0; i < x->nevents; i++)
        if (x->events[i].status == LDR_ORDER_PICKING)
            return true;
    return false;
}

int ldr_orders_add(ldr_orders_t *o, const ldr_order_t *order)
{
    size_t idlen = strlen(order->id);
    if (*ldr__index_slot(o, order->id, idlen) != 0)
        return LDR_EEXIST;
    if ((o->count + 1) * 2 > o->mask + 1) {
        ldr_free(o->index);
        o->mask = o->mask * 2 + 1;
        o->index = ldr_calloc(o->mask + 1, sizeof(*o->index));
        for (uint32_t i = 0; i < o->count; i++)
            *ldr__index_slot(o, o->all[i]->id, strlen(o->all[i]->id)) = i + 1;
    }
    if (o->count == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 256;
        o->all = ldr_realloc(o->all, o->cap * sizeof(*o->all));
    }
    size_t size = sizeof(*order) + order->nlines * sizeof(order->lines[0]);
    ldr_order_t *copy = ldr_malloc(size);
    memcpy(copy, order, size);
    o->all[o->count++] = copy;
    *ldr__index_slot(o, copy->id, idlen) = o->count;
    if (copy->slot[0] != '\0' && ldr__holds_place(copy))
        ldr__slot_count(o, copy->slot, strlen(copy->slot), true)->held++;
    return LDR_OK;
}

int ldr_orders_set_pay_ref(ldr_orders_t *o, const char *id, size_t len, const char *ref,
                           size_t rlen)
{
    uint32_t pos = len > 0 && len <= LDR_ORDER_ID_MAX ? *ldr__index_slot(o, id, len) : 0;
    if (pos == 0 || rlen > LDR_PAY_REF_MAX)
        return pos == 0 ? LDR_ENOENT : LDR_EINVAL;
    ldr_order_t *x = o->all[pos - 1];
    if (rlen > 0)
        memcpy(x->pay_ref, ref, rlen);
    x->pay_ref[rlen] = '\0';
    return LDR_OK;
}

int ldr_orders_set_delivery(ldr_orders_t *o, const char *id, size_t len, int status,
                            const char *tracking, size_t tlen, const char *note, size_t nlen)
{
    uint32_t pos = len > 0 && len <= LDR_ORDER_ID_MAX ? *ldr__index_slot(o, id, len) : 0;
    if (pos == 0)
        return LDR_ENOENT;
    ldr_order_t *x = o->all[pos - 1];
    if (ldr_delivery_status_name(status) == NULL || tlen > LDR_TRACKING_MAX)
        return LDR_EINVAL;
    x->delivery = (uint8_t)status;
    if (tlen > 0) {
        memcpy(x->tracking, tracking, tlen);
        x->tracking[tlen] = '\0';
    }
    size_t n = nlen < sizeof(x->delivery_note) - 1 ? nlen : sizeof(x->delivery_note) - 1;
    if (n > 0)
        memcpy(x->delivery_note, note, n);
    x->delivery_note[n] = '\0';
    return LDR_OK;
}

int ldr_orders_set_status(ldr_orders_t *o, const char *id, size_t len, int status,
                          const char *reason, size_t rlen, int64_t at)
{
    uint32_t pos = len > 0 && len <= LDR_ORDER_ID_MAX ? *ldr__index_slot(o, id, len) : 0;
    if (pos == 0)
        return LDR_ENOENT;
    ldr_order_t *x = o->all[pos - 1];
    /* cancelled, or refunded before it was picked: the window's place is free again */
    if ((status == LDR_ORDER_CANCELLED || status == LDR_ORDER_REFUNDED) &&
        x->status <= LDR_ORDER_PAID && x->slot[0] != '\0') {
        ldr__slot_count_t *s = ldr__slot_count(o, x->slot, strlen(x->slot), false);
        if (s != NULL && s->held > 0)
            s->held--;
    }
    x->status = (uint8_t)status;
    size_t n = rlen < sizeof(x->reason) - 1 ? rlen : sizeof(x->reason) - 1;
    if (n > 0 && reason != x->reason)
        memmove(x->reason, reason, n);
    x->reason[n] = '\0';
    if (x->nevents < LDR_ORDER_EVENTS_MAX)
        x->events[x->nevents++] = (ldr_order_event_t){(uint8_t)status, at};
    else /* a long history keeps its first events and the latest */
        x->events[LDR_ORDER_EVENTS_MAX - 1] = (ldr_order_event_t){(uint8_t)status, at};
    return LDR_OK;
}

void ldr_orders_each(const ldr_orders_t *o, void (*cb)(void *ctx, const ldr_order_t *order),
                     void *ctx)
{
    for (uint32_t i = 0; i < o->count; i++)
        cb(ctx, o->all[i]);
}

void ldr_order_id_for(const char *key, size_t len, char out[LDR_ORDER_ID_MAX + 1])
{
    snprintf(out, LDR_ORDER_ID_MAX + 1, "ord-%016llx", (unsigned long long)ldr_hash(key, len));
}
