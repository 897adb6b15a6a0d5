/*
 * The outbox: the WAL is it.  Every logged command names its domain events (ldr_cmd_events);
 * this turns one record into the messages other services read (API.md "Events"): a topic, a key
 * and a JSON value each.  The Kafka relay (shell/relay.c) publishes them; `larder wal dump`
 * prints them.
 *
 * Topics and keys:
 *   order_events      OrderPlaced, OrderPaid, OrderPicking, OrderReadyForPickup,
 *                     OrderOutForDelivery, OrderDelivered, OrderCancelled, OrderRefunded
 *                     keyed by order id
 *   payment_events    PaymentAuthorized, PaymentFailed (a checkout cancelled for its payment),
 *                     PaymentRefunded; keyed by order id
 *   inventory_events  StockReceived, StockAdjusted, LotExpired: keyed by SKU;
 *                     StockReserved, StockCommitted, StockReleased, ReservationExpired: keyed
 *                     by the reservation's owner, which is the order id for a checkout, so an
 *                     order's events share their key across topics
 *   delivery_events   DeliveryBooked, DeliveryBookingFailed, DeliveryInTransit, DeliveryDelivered,
 *                     DeliveryCancelled, DeliveryFailed (a courier's booking): keyed by order id
 * User, cart and product records make no message.
 *
 * Every message carries "event", "eventId" ("<lsn>-<n>": the record's LSN and the message's
 * place in it, stable across relay restarts, so consumers can drop duplicates) and "timestamp"
 * (the engine time of the record).
 */
#ifndef LARDER_SHELL_OUTBOX_H
#define LARDER_SHELL_OUTBOX_H

#include "larder/buf.h"
#include "larder/engine.h"
#include "larder/wal.h"

typedef enum ldr_topic {
    LDR_TOPIC_ORDER,
    LDR_TOPIC_PAYMENT,
    LDR_TOPIC_DELIVERY,
    LDR_TOPIC_INVENTORY,
    LDR_TOPIC_COUNT
} ldr_topic_t;

/** The default topic names, as API.md gives them. */
extern const char *const ldr_topic_default_names[LDR_TOPIC_COUNT];

typedef struct ldr_outbox_msg {
    ldr_topic_t topic;
    const char *event; /* "OrderPlaced", … */
    const char *id;    /* "<lsn>-<n>" */
    ldr_str_t key;     /* order id, SKU or reservation owner */
    ldr_str_t value;   /* the JSON object */
} ldr_outbox_msg_t;

typedef void (*ldr_outbox_cb)(void *ctx, const ldr_outbox_msg_t *m);

/**
 * Calls cb for each message of a WAL record, in order; everything it points to lives until cb
 * returns.  `e` (may be NULL) lends the details an order record does not hold itself (an order's
 * lines as held, substitutes included, and its customer); without it they come from the record.
 * Returns how many messages there were, or -1 when the record is not an engine command.
 */
int ldr_outbox_render(ldr_engine_t *e, const ldr_wal_record_t *rec, ldr_outbox_cb cb, void *ctx);

#endif
