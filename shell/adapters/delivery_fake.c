/* The fake delivery provider (shell/adapters/delivery.h): answers from the order alone. */
#include "delivery.h"

#include <stdio.h>
#include <string.h>

void ldr_fake_delivery(int op, const ldr_delivery_order_t *o, ldr_delivery_answer_t *a)
{
    memset(a, 0, sizeof(*a));
    a->result = LDR_DLV_OK;
    /* a flat fee, and a tracking id that follows from the order: asked again, answered the same */
    a->fee = 15000;
    if (op == LDR_DLV_BOOK)
        snprintf(a->tracking, sizeof(a->tracking), "FAKE-%s",
                 strncmp(o->order, "ord-", 4) == 0 ? o->order + 4 : o->order);
    if (op == LDR_DLV_TRACK)
        a->status = 0; /* nothing moves by itself: webhooks move it */
    snprintf(a->detail, sizeof(a->detail), "ok");
}
