/*
 * Routing and the handlers of the foundation: health, readiness and product reads.
 *
 * The router matches req->path_normalized (percent-decoded, without the query) against a table of
 * (method set, path pattern, handler); a known path asked with another method answers 405 with
 * Allow, anything else 404.  This file is the one place where a larder status becomes an HTTP
 * status and an error body.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http_internal.h"

static const char *ldr__reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 413:
        return "Payload Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 507:
        return "Insufficient Storage";
    }
    return "";
}

void ldr_http_send_json(h2o_req_t *req, int status, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = ldr__reason(status);
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                   H2O_STRLIT("application/json; charset=utf-8"));
    h2o_send_inline(req, body, len);
}

void ldr_http_send_no_content(h2o_req_t *req)
{
    req->res.status = 204;
    req->res.reason = ldr__reason(204);
    h2o_send_inline(req, "", 0);
}

void ldr_http_send_error(h2o_req_t *req, int status, const char *code, const char *message,
                         const char *details_json)
{
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_puts(&b, "{\"error\":{\"code\":");
    ldr_buf_json_str(&b, code, strlen(code));
    ldr_buf_puts(&b, ",\"message\":");
    ldr_buf_json_str(&b, message, strlen(message));
    if (details_json != NULL) {
        ldr_buf_puts(&b, ",\"details\":");
        ldr_buf_puts(&b, details_json);
    }
    ldr_buf_puts(&b, "}}\n");
    ldr_http_send_json(req, status, b.base, b.len);
    ldr_buf_free(&b);
}

int ldr_http_not_found(h2o_req_t *req, const char *field, h2o_iovec_t value, const char *message)
{
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_putc(&b, '{');
    ldr_buf_json_key(&b, field);
    ldr_buf_json_str(&b, value.base, value.len);
    ldr_buf_putc(&b, '}');
    ldr_buf_putc(&b, '\0');
    ldr_http_send_error(req, 404, "not_found", message, b.base);
    ldr_buf_free(&b);
    return 0;
}

static void ldr__send_buf(h2o_req_t *req, int status, ldr_buf_t *b)
{
    ldr_http_send_json(req, status, b->base, b->len);
    ldr_buf_free(b);
}

/*
 * Verified tokens, remembered: a service or a storefront session sends the same token with every
 * request, and checking an HS256 signature (libjwt: base64, JSON, HMAC) costs about 7 µs, a
 * quarter of a stock write's time on the loop thread.  A token is looked up by its hash and
 * compared whole; its expiry is checked on every use.  Only tokens that verified are kept, so bad
 * tokens never fill it and always pay for the full check.
 */
struct ldr_token_cache {
    struct {
        uint64_t hash;
        char *token;
        size_t len;
        ldr_principal_t who;
    } slots[LDR_TOKEN_CACHE_SLOTS];
};

void ldr_token_cache_free(ldr_token_cache_t *c)
{
    for (size_t i = 0; c != NULL && i < LDR_TOKEN_CACHE_SLOTS; i++)
        ldr_free(c->slots[i].token);
    ldr_free(c);
}

static int ldr__verify_cached(ldr_handler_t *h, ldr_loop_t *loop, const char *token, size_t len,
                              int64_t now, ldr_principal_t *who)
{
    if (loop->tokens == NULL)
        loop->tokens = ldr_calloc(1, sizeof(*loop->tokens));
    uint64_t hash = ldr_hash(token, len);
    __typeof__(loop->tokens->slots[0]) *e = &loop->tokens->slots[hash % LDR_TOKEN_CACHE_SLOTS];
    if (e->token != NULL && e->hash == hash && e->len == len && memcmp(e->token, token, len) == 0) {
        if (e->who.exp <= now)
            return LDR_EAUTH;
        *who = e->who;
        return LDR_OK;
    }
    int rc = ldr_token_verify(h->auth, token, len, now, who);
    if (rc == LDR_OK) {
        ldr_free(e->token);
        e->token = ldr_malloc(len);
        memcpy(e->token, token, len);
        e->hash = hash, e->len = len, e->who = *who;
    }
    return rc;
}

bool ldr_http_authorize(ldr_handler_t *h, h2o_req_t *req, unsigned roles, ldr_principal_t *who)
{
    ldr_principal_t p;
    ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    const char *token;
    size_t len;
    /* one answer for every bad token: what was wrong with it is not the client's business */
    if (i < 0 ||
        ldr_auth_bearer(req->headers.entries[i].value.base, req->headers.entries[i].value.len,
                        &token, &len) != LDR_OK ||
        ldr__verify_cached(h, ldr_loop(req), token, len, (int64_t)time(NULL), &p) != LDR_OK) {
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_WWW_AUTHENTICATE, NULL,
                       H2O_STRLIT("Bearer"));
        ldr_http_send_error(req, 401, "unauthorized",
                            i < 0 ? "this endpoint needs an Authorization: Bearer token"
                                  : "the bearer token is not valid",
                            NULL);
        return false;
    }
    if ((LDR_ROLES(p.role) & roles) == 0) {
        ldr_http_send_error(req, 403, "forbidden", "this token's role may not do this", NULL);
        return false;
    }
    if (who != NULL)
        *who = p;
    return true;
}

ldr_view_t *ldr_loop_view(ldr_handler_t *h, ldr_loop_t *l)
{
    uint64_t gen = ldr_app_view_gen(h->app);
    if (l->view != NULL && l->view_gen == gen)
        return l->view;
    /* a newer view: the searcher was over the old one's index */
    ldr_searcher_free(l->searcher);
    l->searcher = NULL;
    ldr_view_release(l->view);
    l->view = ldr_app_view(h->app);
    l->view_gen = gen;
    return l->view;
}

bool ldr_http_not_ready(ldr_handler_t *h, h2o_req_t *req)
{
    if (ldr_app_ready(h->app))
        return false;
    ldr_http_send_error(req, 503, "not_ready", "the catalog is still loading", NULL);
    return true;
}

static int ldr__healthz(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg)
{
    static const char body[] = "{\"status\":\"ok\"}\n";
    ldr_http_send_json(req, 200, body, sizeof(body) - 1);
    return 0;
}

static int ldr__readyz(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg)
{
    int state = atomic_load_explicit(&h->app->state, memory_order_acquire);
    if (state != LDR_APP_READY) {
        ldr_http_send_error(req, 503, state == LDR_APP_FAILED ? "load_failed" : "not_ready",
                            state == LDR_APP_FAILED ? "loading the catalog failed; see the log"
                                                    : "the catalog is still loading",
                            NULL);
        return 0;
    }
    ldr_app_read_begin(h->app);
    uint32_t stores = ldr_intern_count(ldr_stock_stores(ldr_app_stock(h->app)));
    ldr_app_read_end(h->app);
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_printf(&b, "{\"status\":\"ready\",\"products\":%u,\"stores\":%u}\n",
                   ldr_catalog_count(ldr_loop_view(h, ldr_loop(req))->catalog), stores);
    ldr__send_buf(req, 200, &b);
    return 0;
}

static int ldr__get_product(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku)
{
    if (ldr_http_not_ready(h, req))
        return 0;
    uint32_t doc;
    const ldr_catalog_t *cat = ldr_loop_view(h, ldr_loop(req))->catalog;
    const ldr_product_t *p = ldr_catalog_find(cat, sku.base, sku.len, &doc);
    if (p == NULL)
        return ldr_http_not_found(req, "sku", sku, "no product with this sku");
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_app_read_begin(h->app);
    ldr_json_product(&b, h->app, cat, p, doc);
    ldr_app_read_end(h->app);
    ldr_buf_putc(&b, '\n');
    ldr__send_buf(req, 200, &b);
    return 0;
}

enum { LDR__GET = 1, LDR__HEAD = 2, LDR__POST = 4, LDR__PUT = 8, LDR__DELETE = 16 };

typedef int (*ldr__handler_fn)(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg);

/* A path is either exact, or a prefix followed by one non-empty segment passed as `arg` and then
 * `suffix` (NULL: nothing). */
typedef struct ldr__route {
    unsigned methods;
    const char *path;
    bool has_arg;
    ldr__handler_fn fn;
    const char *suffix;
} ldr__route_t;

static const ldr__route_t ldr__routes[] = {
    {LDR__GET | LDR__HEAD, "/healthz", false, ldr__healthz, NULL},
    {LDR__GET | LDR__HEAD, "/readyz", false, ldr__readyz, NULL},
    {LDR__GET | LDR__HEAD, "/metrics", false, ldr_route_metrics, NULL},
    {LDR__GET | LDR__HEAD, "/v1/products/", true, ldr_route_substitutes, "/substitutes"},
    {LDR__GET | LDR__HEAD, "/v1/products/", true, ldr__get_product, NULL},
    {LDR__PUT | LDR__DELETE, "/v1/products/", true, ldr_route_product_write, NULL},
    {LDR__POST, "/v1/products:import", false, ldr_route_product_import, NULL},
    {LDR__GET | LDR__HEAD, "/v1/stock/expiring", false, ldr_route_stock_expiring, NULL},
    {LDR__POST, "/v1/stock/", true, ldr_route_stock_receive, "/receive"},
    {LDR__POST, "/v1/stock/", true, ldr_route_stock_adjust, "/adjust"},
    {LDR__POST, "/v1/stock:batch", false, ldr_route_stock_batch, NULL},
    {LDR__GET | LDR__HEAD, "/v1/stock/", true, ldr_route_stock, NULL},
    {LDR__GET | LDR__HEAD, "/stock/", true, ldr_route_stock, NULL},
    {LDR__POST, "/v1/auth/register", false, ldr_route_register, NULL},
    {LDR__POST, "/v1/auth/login", false, ldr_route_login, NULL},
    {LDR__GET | LDR__HEAD, "/v1/me", false, ldr_route_me, NULL},
    {LDR__GET | LDR__HEAD, "/v1/cart", false, ldr_route_cart, NULL},
    {LDR__GET | LDR__HEAD, "/v1/delivery/slots", false, ldr_route_slots, NULL},
    {LDR__PUT | LDR__DELETE, "/v1/cart/items/", true, ldr_route_cart_item, NULL},
    {LDR__GET | LDR__HEAD, "/v1/search", false, ldr_route_search, NULL},
    {LDR__GET | LDR__HEAD, "/v1/suggest", false, ldr_route_suggest, NULL},
    {LDR__POST, "/v1/checkout", false, ldr_route_checkout, NULL},
    {LDR__GET | LDR__HEAD, "/v1/orders", false, ldr_route_orders, NULL},
    {LDR__POST, "/v1/orders/", true, ldr_route_order_cancel, "/cancel"},
    {LDR__POST, "/v1/orders/", true, ldr_route_order_status, "/status"},
    {LDR__POST, "/v1/orders/", true, ldr_route_order_refund, "/refund"},
    {LDR__POST, "/v1/webhooks/stripe", false, ldr_route_webhook_stripe, NULL},
    {LDR__POST, "/v1/webhooks/momo", false, ldr_route_webhook_momo, NULL},
    {LDR__POST, "/v1/webhooks/delivery/", true, ldr_route_webhook_delivery, NULL},
    {LDR__GET | LDR__HEAD, "/v1/orders/", true, ldr_route_order, NULL},
};

static unsigned ldr__method_bit(h2o_iovec_t m)
{
    static const struct {
        const char *name;
        unsigned bit;
    } map[] = {{"GET", LDR__GET},
               {"HEAD", LDR__HEAD},
               {"POST", LDR__POST},
               {"PUT", LDR__PUT},
               {"DELETE", LDR__DELETE}};
    for (size_t i = 0; i < LDR_ARRAY_SIZE(map); i++)
        if (h2o_memis(m.base, m.len, map[i].name, strlen(map[i].name)))
            return map[i].bit;
    return 0;
}

static void ldr__send_405(h2o_req_t *req, unsigned allowed)
{
    static const char *names[] = {"GET", "HEAD", "POST", "PUT", "DELETE"};
    char allow[64] = "";
    for (unsigned i = 0; i < LDR_ARRAY_SIZE(names); i++) {
        if (allowed & (1u << i)) {
            if (allow[0] != '\0')
                strcat(allow, ", ");
            strcat(allow, names[i]);
        }
    }
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW, NULL,
                   h2o_strdup(&req->pool, allow, SIZE_MAX).base, strlen(allow));
    char msg[128];
    snprintf(msg, sizeof(msg), "method not allowed here; allowed: %s", allow);
    ldr_http_send_error(req, 405, "method_not_allowed", msg, NULL);
}

uint32_t ldr_route_count(void)
{
    return LDR_ARRAY_SIZE(ldr__routes) + 1;
}

const char *ldr_route_name(uint32_t route)
{
    static char names[LDR_ARRAY_SIZE(ldr__routes)][64];
    if (route >= LDR_ARRAY_SIZE(ldr__routes))
        return "unmatched";
    if (names[route][0] == '\0') { /* built once, before any scrape could race (see below) */
        const ldr__route_t *r = &ldr__routes[route];
        snprintf(names[route], sizeof(names[route]), "%s %s%s%s",
                 r->methods & LDR__GET    ? "GET"
                 : r->methods & LDR__POST ? "POST"
                                          : "PUT",
                 r->path,
                 !r->has_arg                 ? ""
                 : strstr(r->path, "orders") ? "{id}"
                                             : "{sku}",
                 r->suffix ? r->suffix : "");
    }
    return names[route];
}

/* Routing with metrics: the route that answered, and for how long (writes count on reply). */
static int ldr__dispatch(ldr_handler_t *h, h2o_req_t *req);

int ldr_route(ldr_handler_t *h, h2o_req_t *req)
{
    ldr_loop_t *l = ldr_loop(req);
    l->route_start_us = ldr_metric_now_us();
    l->route = LDR_ARRAY_SIZE(ldr__routes); /* "unmatched" until a route takes it */
    ldr_request_id(l, req);
    ldr__dispatch(h, req);
    if (req->res.status != 0) /* answered now; a write answers later, from writes.c */
        ldr_request_done(l, req, l->route, l->route_start_us);
    return 0;
}

static int ldr__dispatch(ldr_handler_t *h, h2o_req_t *req)
{
    h2o_iovec_t path = req->path_normalized;
    unsigned method = ldr__method_bit(req->method), allowed = 0;
    for (size_t i = 0; i < LDR_ARRAY_SIZE(ldr__routes); i++) {
        const ldr__route_t *r = &ldr__routes[i];
        size_t plen = strlen(r->path);
        h2o_iovec_t arg = {NULL, 0};
        if (!r->has_arg) {
            if (!h2o_memis(path.base, path.len, r->path, plen))
                continue;
        } else {
            size_t slen = r->suffix != NULL ? strlen(r->suffix) : 0;
            if (path.len <= plen + slen || memcmp(path.base, r->path, plen) != 0 ||
                (slen > 0 && memcmp(path.base + path.len - slen, r->suffix, slen) != 0) ||
                memchr(path.base + plen, '/', path.len - plen - slen) != NULL)
                continue;
            arg = h2o_iovec_init(path.base + plen, path.len - plen - slen);
        }
        if ((r->methods & method) == 0) {
            allowed |= r->methods;
            continue;
        }
        ldr_loop(req)->route = (uint32_t)i;
        return r->fn(h, req, arg);
    }
    if (allowed != 0) {
        ldr__send_405(req, allowed);
        return 0;
    }
    ldr_http_send_error(req, 404, "not_found", "no such route", NULL);
    return 0;
}
