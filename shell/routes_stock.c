/*
 * Stock reads: GET /stock/{sku} and /v1/stock/{sku}?store=… (one item's stock with its lots, FEFO
 * order) and GET /v1/stock/expiring?store=…&within=48h (lots that expire within the window,
 * including those already past their date and still on hand, marked "expired").
 * The store defaults to "default".  Writes arrive with the engine's HTTP path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_internal.h"

#define LDR__PARAMS_MAX 8
#define LDR__WITHIN_MAX (366LL * 86400)

static bool ldr__is(h2o_iovec_t v, const char *s)
{
    return h2o_memis(v.base, v.len, s, strlen(s));
}

/* Reads ?store= (and, when `within` is not NULL, ?within=); answers 400/404 and returns false. */
static bool ldr__stock_params(ldr_handler_t *h, h2o_req_t *req, uint32_t *store, int64_t *within,
                              h2o_iovec_t *within_text)
{
    ldr_query_param_t params[LDR__PARAMS_MAX];
    size_t n;
    const char *bad;
    if (ldr_query_parse(req, params, LDR__PARAMS_MAX, &n, &bad) != LDR_OK)
        return ldr_http_bad_param(req, "query", bad), false;
    h2o_iovec_t id = h2o_iovec_init(H2O_STRLIT("default"));
    bool has_within = false;
    for (size_t i = 0; i < n; i++) {
        h2o_iovec_t k = params[i].key, v = params[i].value;
        if (ldr__is(k, "store")) {
            if (!ldr_store_id_valid(v.base, v.len))
                return ldr_http_bad_param(req, "store", "not a store id (1-64 of a-z 0-9 _ -)"),
                       false;
            id = v;
        } else if (within != NULL && ldr__is(k, "within")) {
            /* a whole number with a unit: 90m, 48h, 7d */
            int64_t x = 0, unit = 0;
            size_t j = 0;
            while (j < v.len && v.base[j] >= '0' && v.base[j] <= '9' && x < LDR__WITHIN_MAX)
                x = x * 10 + (v.base[j++] - '0');
            if (j + 1 == v.len)
                unit = v.base[j] == 'm'   ? 60
                       : v.base[j] == 'h' ? 3600
                       : v.base[j] == 'd' ? 86400
                                          : 0;
            if (j == 0 || unit == 0 || x * unit > LDR__WITHIN_MAX)
                return ldr_http_bad_param(req, "within",
                                          "expected a duration like 90m, 48h or 7d (at most 366d)"),
                       false;
            *within = x * unit;
            *within_text = v;
            has_within = true;
        } else {
            return ldr_http_bad_param(req, k.base, "unknown parameter"), false;
        }
    }
    if (within != NULL && !has_within)
        *within = 48 * 3600, *within_text = h2o_iovec_init(H2O_STRLIT("48h"));
    *store = ldr_stock_store_find(h->app->stock, id.base, id.len);
    if (*store == UINT32_MAX)
        return ldr_http_not_found(req, "store", id, "no such store"), false;
    return true;
}

static void ldr__json_lot(ldr_buf_t *b, const ldr_lot_t *l)
{
    ldr_buf_puts(b, "{\"lot\":");
    ldr_buf_json_str(b, l->id, strlen(l->id));
    ldr_buf_printf(b, ",\"quantity\":%lld", (long long)l->quantity);
    if (l->expires_at != LDR_NO_EXPIRY) {
        ldr_buf_puts(b, ",\"expires_at\":");
        ldr_buf_json_time(b, l->expires_at);
    }
    ldr_buf_putc(b, '}');
}

static void ldr__stock_view(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku)
{
    uint32_t store, doc;
    if (!ldr__stock_params(h, req, &store, NULL, NULL))
        return;
    if (ldr_catalog_find(h->app->catalog, sku.base, sku.len, &doc) == NULL) {
        ldr_http_not_found(req, "sku", sku, "no product with this sku");
        return;
    }
    const ldr_stock_entry_t *e = ldr_stock_get(h->app->stock, store, doc);
    ldr_str_t id = ldr_intern_str(ldr_stock_stores(h->app->stock), store);
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_puts(&b, "{\"sku\":");
    ldr_buf_json_str(&b, sku.base, sku.len);
    ldr_buf_puts(&b, ",\"store\":");
    ldr_buf_json_sv(&b, id);
    ldr_buf_printf(&b, ",\"on_hand\":%lld,\"reserved\":%lld,\"available\":%lld,\"lots\":[",
                   (long long)(e ? e->on_hand : 0), (long long)(e ? e->reserved : 0),
                   (long long)ldr_stock_available(e));
    for (uint32_t i = 0; e != NULL && i < e->nlots; i++) {
        if (i > 0)
            ldr_buf_putc(&b, ',');
        ldr__json_lot(&b, &e->lots[i]);
    }
    ldr_buf_printf(&b, "],\"version\":%llu}\n", (unsigned long long)(e ? e->version : 0));
    ldr_http_send_json(req, 200, b.base, b.len);
    ldr_buf_free(&b);
}

int ldr_route_stock(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku)
{
    if (ldr_http_not_ready(h, req))
        return 0;
    ldr_app_read_begin(h->app);
    ldr__stock_view(h, req, sku);
    ldr_app_read_end(h->app);
    return 0;
}

typedef struct ldr__due {
    int64_t expires_at;
    uint32_t doc, lot;
} ldr__due_t;

static int ldr__cmp_due(const void *a, const void *b)
{
    const ldr__due_t *x = a, *y = b;
    if (x->expires_at != y->expires_at)
        return x->expires_at < y->expires_at ? -1 : 1;
    return x->doc != y->doc ? (x->doc < y->doc ? -1 : 1) : (x->lot > y->lot) - (x->lot < y->lot);
}

static void ldr__expiring(ldr_handler_t *h, h2o_req_t *req)
{
    uint32_t store;
    int64_t within;
    h2o_iovec_t within_text;
    if (!ldr__stock_params(h, req, &store, &within, &within_text))
        return;
    int64_t now = (int64_t)time(NULL), until = now + within;
    const ldr_catalog_t *cat = h->app->catalog;
    const ldr_stock_t *st = h->app->stock;
    /* collect the due lots (each entry's are in FEFO order: stop at the first past the window),
     * then list them soonest first */
    ldr__due_t *due = NULL;
    size_t n = 0, cap = 0;
    for (uint32_t doc = 0; ldr_stock_doc_in_range(st, store, doc); doc++) {
        const ldr_stock_entry_t *e = ldr_stock_get(st, store, doc);
        for (uint32_t i = 0; e != NULL && i < e->nlots && e->lots[i].expires_at <= until; i++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                due = ldr_realloc(due, cap * sizeof(*due));
            }
            due[n++] = (ldr__due_t){e->lots[i].expires_at, doc, i};
        }
    }
    qsort(due, n, sizeof(*due), ldr__cmp_due);
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_puts(&b, "{\"store\":");
    ldr_buf_json_sv(&b, ldr_intern_str(ldr_stock_stores(st), store));
    ldr_buf_puts(&b, ",\"within\":");
    ldr_buf_json_str(&b, within_text.base, within_text.len);
    ldr_buf_puts(&b, ",\"until\":");
    ldr_buf_json_time(&b, until);
    ldr_buf_puts(&b, ",\"lots\":[");
    for (size_t k = 0; k < n; k++) {
        const ldr_lot_t *l = &ldr_stock_get(st, store, due[k].doc)->lots[due[k].lot];
        ldr_buf_puts(&b, k ? ",{\"sku\":" : "{\"sku\":");
        ldr_buf_json_sv(&b, ldr_catalog_doc(cat, due[k].doc)->sku);
        ldr_buf_puts(&b, ",\"lot\":");
        ldr_buf_json_str(&b, l->id, strlen(l->id));
        ldr_buf_printf(&b, ",\"quantity\":%lld,\"expires_at\":", (long long)l->quantity);
        ldr_buf_json_time(&b, l->expires_at);
        /* past its date and still on hand: to be taken off the shelf */
        ldr_buf_puts(&b, l->expires_at <= now ? ",\"expired\":true}" : ",\"expired\":false}");
    }
    ldr_buf_puts(&b, "]}\n");
    ldr_http_send_json(req, 200, b.base, b.len);
    ldr_buf_free(&b);
    ldr_free(due);
}

int ldr_route_stock_expiring(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg)
{
    if (ldr_http_not_ready(h, req))
        return 0;
    ldr_app_read_begin(h->app);
    ldr__expiring(h, req);
    ldr_app_read_end(h->app);
    return 0;
}
