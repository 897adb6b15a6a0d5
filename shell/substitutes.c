/*
 * Substitutes for a product (API.md, grocery "best match"): the product's own `substitutes`
 * first, in their order, then products of its category nearest in price.  A substitute is a live
 * product with the same unit (5 loose onions never become 5 three-pound bags), priced within 30 %
 * of the product, with the quantity asked for available at the store now.
 */
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

static bool ldr__can_stand_in(const ldr_product_t *p, const ldr_product_t *q, const ldr_stock_t *st,
                              uint32_t store, uint32_t doc, int64_t quantity)
{
    if (q == NULL || q == p || (q->unit.ptr == NULL) != (p->unit.ptr == NULL) ||
        (p->unit.ptr != NULL && !ldr_str_eq(q->unit, p->unit.ptr, p->unit.len)))
        return false;
    if (q->price * 10 > p->price * 13 || q->price * 10 < p->price * 7)
        return false;
    return ldr_stock_available(ldr_stock_get(st, store, doc)) >= quantity;
}

typedef struct ldr__similar {
    int64_t gap;
    uint32_t doc;
} ldr__similar_t;

static int ldr__cmp_similar(const void *a, const void *b)
{
    const ldr__similar_t *x = a, *y = b;
    if (x->gap != y->gap)
        return x->gap < y->gap ? -1 : 1;
    return (x->doc > y->doc) - (x->doc < y->doc);
}

uint32_t ldr_substitutes(const ldr_catalog_t *cat, const ldr_stock_t *st, uint32_t store,
                         const ldr_product_t *p, int64_t quantity, ldr_substitute_t *out,
                         uint32_t max)
{
    uint32_t n = 0;
    for (uint16_t i = 0; i < p->nsubstitutes && n < max; i++) {
        uint32_t doc;
        const ldr_product_t *q =
            ldr_catalog_find(cat, p->substitutes[i].ptr, p->substitutes[i].len, &doc);
        bool dup = false;
        for (uint32_t k = 0; k < n && !dup; k++)
            dup = out[k].doc == doc;
        if (!dup && ldr__can_stand_in(p, q, st, store, doc, quantity))
            out[n++] = (ldr_substitute_t){doc, true};
    }
    if (n == max)
        return n;
    /* then the category, nearest price first: one pass, then a sort of what qualified */
    ldr__similar_t *sim = NULL;
    uint32_t nsim = 0, cap = 0;
    for (uint32_t doc = 0; doc < ldr_catalog_doc_limit(cat); doc++) {
        const ldr_product_t *q = ldr_catalog_doc(cat, doc);
        if (q == NULL || q->category != p->category ||
            !ldr__can_stand_in(p, q, st, store, doc, quantity))
            continue;
        bool taken = false;
        for (uint32_t k = 0; k < n && !taken; k++)
            taken = out[k].doc == doc;
        if (taken)
            continue;
        if (nsim == cap) {
            cap = cap ? cap * 2 : 64;
            sim = ldr_realloc(sim, cap * sizeof(*sim));
        }
        sim[nsim++] =
            (ldr__similar_t){q->price > p->price ? q->price - p->price : p->price - q->price, doc};
    }
    if (nsim > 1) /* qsort's array may not be null, even empty */
        qsort(sim, nsim, sizeof(*sim), ldr__cmp_similar);
    for (uint32_t i = 0; i < nsim && n < max; i++)
        out[n++] = (ldr_substitute_t){sim[i].doc, false};
    ldr_free(sim);
    return n;
}

int ldr_route_substitutes(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku)
{
    if (ldr_http_not_ready(h, req))
        return 0;
    ldr_query_param_t params[4];
    size_t n;
    const char *bad;
    h2o_iovec_t store = h2o_iovec_init(H2O_STRLIT("default"));
    uint64_t limit = 10;
    if (ldr_query_parse(req, params, 4, &n, &bad) != LDR_OK)
        return ldr_http_bad_param(req, "query", bad);
    for (size_t i = 0; i < n; i++) {
        const char *key = params[i].key.base, *val = params[i].value.base;
        char *end;
        if (strcmp(key, "store") == 0) {
            if (!ldr_store_id_valid(val, params[i].value.len))
                return ldr_http_bad_param(req, "store", "not a store id (1-64 of a-z 0-9 _ -)");
            store = params[i].value;
        } else if (strcmp(key, "limit") == 0) {
            limit = strtoull(val, &end, 10);
            if (*val == '\0' || *end != '\0' || limit < 1 || limit > 50)
                return ldr_http_bad_param(req, "limit", "expected 1 to 50");
        } else {
            return ldr_http_bad_param(req, key, "unknown parameter");
        }
    }
    const ldr_catalog_t *cat = ldr_loop_view(h, ldr_loop(req))->catalog;
    const ldr_product_t *p = ldr_catalog_find(cat, sku.base, sku.len, NULL);
    if (p == NULL)
        return ldr_http_not_found(req, "sku", sku, "no product with this sku");
    ldr_substitute_t subs[50];
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_app_read_begin(h->app);
    const ldr_stock_t *st = ldr_app_stock(h->app);
    uint32_t sid = ldr_stock_store_find(st, store.base, store.len);
    uint32_t nsubs =
        sid == UINT32_MAX ? 0 : ldr_substitutes(cat, st, sid, p, 1, subs, (uint32_t)limit);
    ldr_buf_puts(&b, "{\"sku\":");
    ldr_buf_json_sv(&b, p->sku);
    ldr_buf_puts(&b, ",\"store\":");
    ldr_buf_json_str(&b, store.base, store.len);
    ldr_buf_puts(&b, ",\"substitutes\":[");
    for (uint32_t i = 0; i < nsubs; i++) {
        const ldr_product_t *q = ldr_catalog_doc(cat, subs[i].doc);
        ldr_buf_puts(&b, i ? ",{\"sku\":" : "{\"sku\":");
        ldr_buf_json_sv(&b, q->sku);
        ldr_buf_puts(&b, ",\"name\":{");
        for (int k = 0, first = 1; k < LDR_LANG_COUNT; k++) {
            if (q->name[k].ptr == NULL)
                continue;
            ldr_buf_puts(&b, first ? "" : ",");
            ldr_buf_puts(&b, k == LDR_LANG_EN ? "\"en\":" : "\"vi\":");
            ldr_buf_json_sv(&b, q->name[k]);
            first = 0;
        }
        ldr_buf_puts(&b, "},\"category\":");
        ldr_buf_json_sv(&b, ldr_intern_str(ldr_catalog_categories(cat), q->category));
        if (q->brand != LDR_NO_BRAND) {
            ldr_buf_puts(&b, ",\"brand\":");
            ldr_buf_json_sv(&b, ldr_intern_str(ldr_catalog_brands(cat), q->brand));
        }
        ldr_buf_printf(&b, ",\"price\":%lld", (long long)q->price);
        if (q->unit.ptr != NULL) {
            ldr_buf_puts(&b, ",\"unit\":");
            ldr_buf_json_sv(&b, q->unit);
        }
        ldr_buf_printf(&b, ",\"perishable\":%s,\"available\":%lld,\"source\":\"%s\"}",
                       q->perishable ? "true" : "false",
                       (long long)ldr_stock_available(ldr_stock_get(st, sid, subs[i].doc)),
                       subs[i].explicit_ ? "explicit" : "similar");
    }
    ldr_app_read_end(h->app);
    ldr_buf_puts(&b, "]}\n");
    ldr_http_send_json(req, 200, b.base, b.len);
    ldr_buf_free(&b);
    return 0;
}
