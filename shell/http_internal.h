/* Internal to the HTTP shell: the request handler's helpers shared by server.c and routes.c. */
#ifndef LARDER_SHELL_HTTP_INTERNAL_H
#define LARDER_SHELL_HTTP_INTERNAL_H

#include <h2o.h>
#include <stdatomic.h>

#include "../engine/jsonl_internal.h" /* the loaders' field checks, for request bodies too */
#include "larder/app.h"
#include "larder/auth.h"
#include "larder/buf.h"

#include "larder/index.h"

typedef struct ldr_search_cache ldr_search_cache_t;
typedef struct ldr_token_cache ldr_token_cache_t;

#define LDR_TOKEN_CACHE_SLOTS 256
void ldr_token_cache_free(ldr_token_cache_t *c);

/* Request metrics of one loop, per route (metrics.c): written by the loop, read by a scrape. */
#define LDR_METRIC_ROUTES  32
#define LDR_METRIC_CODES   12 /* the status codes metrics.c names, then "other" */
#define LDR_METRIC_BUCKETS 14
typedef struct ldr_route_metrics {
    atomic_uint_fast64_t by_code[LDR_METRIC_CODES];
    atomic_uint_fast64_t buckets[LDR_METRIC_BUCKETS]; /* latency, non-cumulative */
    atomic_uint_fast64_t sum_us, count;
} ldr_route_metrics_t;

typedef struct ldr_loop ldr_loop_t;

/* The request handler, shared by every loop thread: read-only after start. */
typedef struct ldr_handler {
    h2o_handler_t super;
    ldr_app_t *app;
    const ldr_auth_t *auth; /* verifies bearer tokens */
    ldr_loop_t **loops;     /* every loop, for /metrics */
    uint32_t nloops;
    struct ldr_http_client *adapters;  /* calls to providers (adapters/); NULL: none configured */
    struct ldr_deliveries *deliveries; /* the booking desk (deliveries.c); NULL: not running */
} ldr_handler_t;

/*
 * The booking desk (deliveries.c): books and cancels couriers for same-day orders, outside the
 * engine thread, through `hc` (may be NULL when only the fake provider is configured).
 */
typedef struct ldr_deliveries ldr_deliveries_t;
int ldr_deliveries_start(ldr_app_t *app, struct ldr_http_client *hc, ldr_deliveries_t **out);
/** Order `id` moved: the desk looks at it (any thread, never blocks for long; NULL d: nothing). */
void ldr_deliveries_poke(ldr_deliveries_t *d, const char *id, size_t len);
/** Takes no new work; what is under way finishes (its calls fail once the adapter thread
 *  stops). */
void ldr_deliveries_stop(ldr_deliveries_t *d);
/** Waits for the desk to finish (the engine thread still running), then frees it. */
void ldr_deliveries_join(ldr_deliveries_t *d);

/*
 * What one loop thread owns (server.c makes one per thread): its h2o context, and the scratch and
 * caches its requests use without locks.
 */
struct ldr_loop {
    h2o_context_t ctx;
    h2o_multithread_receiver_t replies; /* engine replies for this loop's requests (writes.c) */
    atomic_uint inflight;               /* writes handed to the engine, not yet replied to */
    ldr_view_t *view;                   /* the catalog and index this loop reads (ldr_loop_view) */
    h2o_timeout_t payment_timeout;      /* checkouts waiting for the fake provider's timeout */
    uint64_t view_gen;
    ldr_searcher_t *searcher;  /* of view->index; created on first use */
    ldr_search_cache_t *cache; /* rendered search responses, or NULL when disabled */
    ldr_token_cache_t *tokens; /* tokens that verified (routes.c); created on first use */
    uint32_t route;            /* the route being dispatched, and since when */
    uint64_t route_start_us;
    ldr_route_metrics_t metrics[LDR_METRIC_ROUTES];
    bool log_requests;    /* one JSON line per answered request (LARDER_LOG_LEVEL info or debug) */
    ldr_buf_t log;        /* lines not yet written; flushed once per event-loop turn */
    uint64_t request_ids; /* generated X-Request-Id serial */
    char request_id_prefix[24]; /* "BOOT-INDEX-", made once (metrics.c) */
    uint8_t request_id_prefix_len;
    uint32_t index;
};

/** Monotonic microseconds, for request timing. */
uint64_t ldr_metric_now_us(void);
/**
 * An answered request of `route` that started at start_us (on its loop's thread): counted for
 * /metrics and, when the loop logs requests, written as one JSON line.
 */
void ldr_request_done(ldr_loop_t *l, h2o_req_t *req, uint32_t route, uint64_t start_us);
/** Gives the request its id (X-Request-Id when the client sent a usable one, else a new one),
 *  echoed in the response's X-Request-Id. */
void ldr_request_id(ldr_loop_t *l, h2o_req_t *req);
/** Writes the loop's pending log lines to stderr. */
void ldr_log_flush(ldr_loop_t *l);
/** The routes' names for metrics ("GET /v1/search") and how many there are (routes.c). */
const char *ldr_route_name(uint32_t route);
uint32_t ldr_route_count(void);
/** GET /metrics (metrics.c). */
int ldr_route_metrics(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);

/**
 * The newest view for this loop's requests: kept from one request to the next, and exchanged
 * (with the loop's searcher) when a newer one was published.  Valid until the loop's next call.
 */
ldr_view_t *ldr_loop_view(ldr_handler_t *h, ldr_loop_t *l);

/** Deliveries a same-day window takes (routes_slots.c). */
#define LDR_SLOT_CAPACITY 20
/**
 * Checks that `id` names one of store's delivery windows ("<store>-YYYYMMDD-HH00", from today to
 * 14 days ahead, Vietnam time): LDR_OK with its start in *start, LDR_ERANGE when it is past its
 * cut-off, LDR_EINVAL when it is no window of that store.
 */
int ldr_slot_check(h2o_iovec_t store, const char *id, size_t len, int64_t now, int64_t *start);
/** The start of window `id` of `store` whatever the day; LDR_OK or LDR_EINVAL. */
int ldr_slot_window(h2o_iovec_t store, const char *id, size_t len, int64_t *start);
/** How long a same-day window lasts, in seconds. */
#define LDR_SLOT_SECONDS (2 * 3600)

/** POST /v1/checkout, GET /v1/orders and /v1/orders/{id} (routes_orders.c). */
int ldr_route_checkout(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);
int ldr_route_orders(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);
int ldr_route_order(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t id);
int ldr_route_order_cancel(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t id);
int ldr_route_order_status(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t id);
int ldr_route_order_refund(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t id);
/** POST /v1/webhooks/stripe (routes_webhooks.c). */
int ldr_route_webhook_stripe(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);
/** POST /v1/webhooks/momo: MoMo's IPN (routes_webhooks.c). */
int ldr_route_webhook_momo(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);
/** POST /v1/webhooks/delivery/{provider}: a courier's progress (routes_webhooks.c). */
int ldr_route_webhook_delivery(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t provider);
/** A substitute (substitutes.c): its doc, and whether it came from the product's own list. */
typedef struct ldr_substitute {
    uint32_t doc;
    bool explicit_;
} ldr_substitute_t;
/**
 * Up to `max` substitutes for p with `quantity` available at store, best first (see
 * substitutes.c); the caller holds the read lock for the stock.  Returns how many.
 */
uint32_t ldr_substitutes(const ldr_catalog_t *cat, const ldr_stock_t *st, uint32_t store,
                         const ldr_product_t *p, int64_t quantity, ldr_substitute_t *out,
                         uint32_t max);
/** GET /v1/products/{sku}/substitutes (substitutes.c). */
int ldr_route_substitutes(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku);

/** The delivery address object at v of a checkout body into *a (address.c): true, or false
 *  with err naming the field. */
bool ldr_address_body(const ldr__json_line_t *ln, uint32_t v, ldr_order_address_t *a,
                      ldr_error_t *err);

/** How long a checkout waits for the payment provider (LARDER_PAYMENT_TIMEOUT_MS, 3 s). */
uint64_t ldr_payment_timeout_ms(void);

/** PUT and DELETE /v1/products/{sku}, POST /v1/products:import (routes_products.c). */
int ldr_route_product_write(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku);
int ldr_route_product_import(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);

/** The loop thread that owns a request. */
static inline ldr_loop_t *ldr_loop(h2o_req_t *req)
{
    return H2O_STRUCT_FROM_MEMBER(ldr_loop_t, ctx, req->conn->ctx);
}

/**
 * The response cache of search_cache.c.  `entries` 0 gives NULL, a disabled cache that every call
 * accepts.  Hits return the cached body in two parts around its took_us value, valid until the
 * next put.
 */
ldr_search_cache_t *ldr_search_cache_new(uint32_t entries, size_t max_bytes);
void ldr_search_cache_free(ldr_search_cache_t *c);
bool ldr_search_cache_get(ldr_search_cache_t *c, const char *key, size_t len, uint64_t epoch,
                          h2o_iovec_t *prefix, h2o_iovec_t *suffix);
void ldr_search_cache_put(ldr_search_cache_t *c, const char *key, size_t len, uint64_t epoch,
                          const char *prefix, size_t plen, const char *suffix, size_t slen);

typedef struct ldr_query_param {
    h2o_iovec_t key, value; /* decoded, NUL-terminated, in the request pool */
} ldr_query_param_t;

/**
 * Splits and percent-decodes the request's query string into params (at most max).  Returns LDR_OK
 * or LDR_EINVAL with *bad naming the problem.
 */
int ldr_query_parse(h2o_req_t *req, ldr_query_param_t *params, size_t max, size_t *n,
                    const char **bad);

/** Answers 400 invalid_parameter naming `param` (at most 64 bytes of it echoed); returns 0. */
int ldr_http_bad_param(h2o_req_t *req, const char *param, const char *message);

/*
 * Writes through the engine (writes.c).  A route makes a write (copying the request's body and
 * path argument, which the commands' strings may point into), fills its commands and submits it;
 * `reply` then runs on the loop thread that owns the request, once every command is durable (or
 * refused), unless the client went away.  The write is freed after reply returns.
 */
typedef struct ldr_write ldr_write_t;
typedef void (*ldr_write_reply_cb)(ldr_write_t *w, h2o_req_t *req);

struct ldr_write {
    h2o_multithread_message_t msg;
    ldr_handler_t *h;
    h2o_req_t *req;   /* NULL once the client went away */
    ldr_loop_t *loop; /* the loop thread that owns the request and gets the reply */
    uint32_t route;   /* for the request's metrics, counted when the reply is sent */
    uint64_t start_us;
    void *anchor; /* in the request's pool; clears req when the pool goes */
    ldr_write_reply_cb reply;
    uint32_t ncmds, ndone;
    ldr_engine_req_t *cmds;
    h2o_iovec_t body, arg; /* the write's own copies */
    ldr_buf_t strings;     /* unescaped strings of the body; must not move once commands use it */
    ldr_buf_t keys;        /* the commands' idempotency keys; reserved whole before use */
    uint64_t data;         /* the route's */
    void *aux;             /* the route's, ldr_free'd with the write */
    void (*aux_clear)(void *aux); /* called on aux first, when set */
    bool again;                   /* set by a reply that submitted the write once more */
    bool unattended;              /* the reply runs (req NULL) even when the client has gone */
};

ldr_write_t *ldr_write_new(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg,
                           ldr_write_reply_cb reply);
/** Allocates the write's n commands (zeroed). */
ldr_engine_req_t *ldr_write_cmds(ldr_write_t *w, uint32_t n);
/** Hands every command to the engine; the write belongs to the engine until reply. */
void ldr_write_submit(ldr_write_t *w);
/** From inside its reply: the write goes on (it was submitted again) instead of being freed. */
static inline void ldr_write_again(ldr_write_t *w)
{
    w->again = true;
}

/* A password job (pwhash.c), the aux of a write: hash `password` into `hash`, or verify it. */
typedef struct ldr_pw_job {
    bool verify;
    bool ok; /* the hash was made; the password matched */
    char password[129];
    char hash[129];
} ldr_pw_job_t;
/** Starts the worker threads (once, before serving). */
int ldr_pwhash_start(void);
void ldr_pwhash_stop(void);
/** Runs w->aux (an ldr_pw_job_t) on a worker; w's reply runs on its loop afterwards. */
void ldr_pwhash_submit(ldr_write_t *w);
/** Frees a write that was never submitted (the route answered the request itself). */
void ldr_write_free(ldr_write_t *w);
/*
 * Request bodies (writes.c): one JSON object, checked with the loaders' field helpers; errors as
 * the API describes them (invalid_json with details.position, invalid_body with details.field).
 */
/** Parses the write's body as one JSON object; on failure answers 400, frees w, returns false. */
bool ldr_write_body(ldr_write_t *w, h2o_req_t *req, ldr__jsonl_scratch_t *sc, ldr__json_line_t *ln);
/** Answers 400 for err, frees the scratch and the write; returns 0. */
int ldr_write_bad_body(ldr_write_t *w, h2o_req_t *req, ldr__jsonl_scratch_t *sc,
                       const ldr_error_t *err);
/** The body's strings now belong to the write (commands point into them). */
void ldr_write_adopt_strings(ldr_write_t *w, ldr__jsonl_scratch_t *sc);
/** The code and details (into b, NUL-terminated; empty for none) of a body error. */
void ldr_http_body_error(ldr_buf_t *b, const ldr_error_t *err, const char **code);

/**
 * The request's Idempotency-Key, scoped to the caller: *scope becomes "SUB KEY" in the request's
 * pool.  Without the header *scope is {NULL, 0} and the answer is true, unless `needed_for` says
 * why the route needs one (it ends the 400's message).  A malformed key is 400 too.
 */
bool ldr_http_idempotency_key(h2o_req_t *req, const ldr_principal_t *who, const char *needed_for,
                              h2o_iovec_t *scope);

/** Answers a write the engine could not make: 503 storage_unavailable for a failed log, else
 *  500 internal. */
void ldr_http_write_failed(h2o_req_t *req, int status);

/** The loop's receiver callback for replies (server.c registers it). */
void ldr_write_on_replies(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages);

/** GET /stock/{sku}, /v1/stock/{sku}, /v1/stock/expiring (routes_stock.c). */
int ldr_route_stock(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku);
int ldr_route_stock_expiring(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);
/** POST /v1/stock/{sku}/receive, /v1/stock/{sku}/adjust and /v1/stock:batch (routes_stock.c). */
int ldr_route_stock_receive(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku);
int ldr_route_stock_adjust(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku);
int ldr_route_stock_batch(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);

/** POST /v1/auth/register, POST /v1/auth/login, GET /v1/me (routes_users.c). */
int ldr_route_register(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);
int ldr_route_login(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);
int ldr_route_me(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);

/** GET /v1/cart, PUT and DELETE /v1/cart/items/{sku} (routes_cart.c). */
int ldr_route_cart(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);
int ldr_route_cart_item(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku);

/** GET /v1/delivery/slots (routes_slots.c). */
int ldr_route_slots(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);

/** GET /v1/search and GET /v1/suggest (routes_search.c). */
int ldr_route_search(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);
int ldr_route_suggest(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);

/** Routes one request; always answers (returns 0). */
int ldr_route(ldr_handler_t *h, h2o_req_t *req);

/** Sends `body` as application/json with `status`. */
void ldr_http_send_json(h2o_req_t *req, int status, const char *body, size_t len);
/** 204, no body. */
void ldr_http_send_no_content(h2o_req_t *req);
/**
 * Sends the API error shape {"error":{"code","message","details"?}}.  `details_json` is a JSON
 * object text or NULL.
 */
void ldr_http_send_error(h2o_req_t *req, int status, const char *code, const char *message,
                         const char *details_json);

/** Answers 404 not_found with details {"<field>": value}; returns 0. */
int ldr_http_not_found(h2o_req_t *req, const char *field, h2o_iovec_t value, const char *message);

/** A set of roles for ldr_http_authorize. */
#define LDR_ROLES(r) (1u << (r))

/**
 * Lets the request on when it carries `Authorization: Bearer <token>` with a valid token whose
 * role is in `roles` (and stores who in *who, which may be NULL); else answers 401 (no or bad
 * token, with WWW-Authenticate: Bearer) or 403 (a role not allowed here) and returns false.
 */
bool ldr_http_authorize(ldr_handler_t *h, h2o_req_t *req, unsigned roles, ldr_principal_t *who);

/** Answers 503 for routes that need the catalog while it is loading; returns true if it did. */
bool ldr_http_not_ready(ldr_handler_t *h, h2o_req_t *req);

/** The product as API.md describes it, with its per-store availability. */
/** A product with its stock per store (call between ldr_app_read_begin/end). */
void ldr_json_product(ldr_buf_t *b, const ldr_app_t *app, const ldr_catalog_t *cat,
                      const ldr_product_t *p, uint32_t doc);

#endif
