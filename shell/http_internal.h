/* Internal to the HTTP shell: the request handler's helpers shared by server.c and routes.c. */
#ifndef LARDER_SHELL_HTTP_INTERNAL_H
#define LARDER_SHELL_HTTP_INTERNAL_H

#include <h2o.h>

#include "larder/app.h"
#include "larder/buf.h"

#include "larder/index.h"

typedef struct ldr_search_cache ldr_search_cache_t;

typedef struct ldr_handler {
    h2o_handler_t super;
    ldr_app_t *app;
    ldr_searcher_t *searcher;  /* created on first use; the handler runs on one loop thread */
    ldr_search_cache_t *cache; /* rendered search responses, or NULL when disabled */
} ldr_handler_t;

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

/** GET /stock/{sku}, /v1/stock/{sku}, /v1/stock/expiring (routes_stock.c). */
int ldr_route_stock(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku);
int ldr_route_stock_expiring(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);

/** GET /v1/search and GET /v1/suggest (routes_search.c). */
int ldr_route_search(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);
int ldr_route_suggest(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);

/** Routes one request; always answers (returns 0). */
int ldr_route(ldr_handler_t *h, h2o_req_t *req);

/** Sends `body` as application/json with `status`. */
void ldr_http_send_json(h2o_req_t *req, int status, const char *body, size_t len);
/**
 * Sends the API error shape {"error":{"code","message","details"?}}.  `details_json` is a JSON
 * object text or NULL.
 */
void ldr_http_send_error(h2o_req_t *req, int status, const char *code, const char *message,
                         const char *details_json);

/** Answers 404 not_found with details {"<field>": value}; returns 0. */
int ldr_http_not_found(h2o_req_t *req, const char *field, h2o_iovec_t value, const char *message);

/** Answers 503 for routes that need the catalog while it is loading; returns true if it did. */
bool ldr_http_not_ready(ldr_handler_t *h, h2o_req_t *req);

/** The product as API.md describes it, with its per-store availability. */
void ldr_json_product(ldr_buf_t *b, const ldr_app_t *app, const ldr_product_t *p, uint32_t doc);

#endif
