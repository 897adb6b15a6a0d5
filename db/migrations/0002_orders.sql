-- larder 0002: the order-history sink's tables (written from the WAL outbox, idempotently: an
-- order upserted by its id, a status change by (order id, event sequence = the record's LSN)).
-- This version creates them; nothing writes them yet.

CREATE TABLE orders (
    order_id          text PRIMARY KEY,
    user_id           text NOT NULL,
    store             text NOT NULL,
    status            text NOT NULL,
    fulfillment       text NOT NULL,
    slot_id           text,
    total             bigint NOT NULL CHECK (total >= 0),
    payment_provider  text,
    payment_reference text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    last_event_seq    bigint NOT NULL DEFAULT 0
);

CREATE INDEX orders_user_created ON orders (user_id, created_at DESC);
CREATE INDEX orders_status ON orders (status);

CREATE TABLE order_lines (
    order_id             text NOT NULL REFERENCES orders (order_id) ON DELETE CASCADE,
    line_no              integer NOT NULL,
    sku                  text NOT NULL,
    quantity             bigint NOT NULL CHECK (quantity > 0),
    unit_price           bigint NOT NULL CHECK (unit_price >= 0),
    substitution_allowed boolean NOT NULL DEFAULT false,
    substituted_by       text,
    PRIMARY KEY (order_id, line_no)
);

CREATE TABLE order_status_history (
    order_id  text NOT NULL REFERENCES orders (order_id) ON DELETE CASCADE,
    event_seq bigint NOT NULL,
    status    text NOT NULL,
    reason    text,
    at        timestamptz NOT NULL,
    PRIMARY KEY (order_id, event_seq)
);
