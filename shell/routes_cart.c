/*
 * The signed-in user's cart: GET /v1/cart, PUT and DELETE /v1/cart/items/{sku}, each with
 * ?store= (default "default") for availability.  A cart belongs to the token's subject, so a
 * customer only ever reaches their own.  Changes go through the engine (CART_SET) and are answered
 * once durable with the priced cart: catalog prices now, the store's availability now (soft: a
 * line may ask for more than is available; checkout decides), no promotions yet.
 *
 * A line's substitution (larder/carts.h): "substitution_allowed" (default false) lets checkout
 * take the best match when the product is short; "replacement": "SKU" names the one product the
 * customer wants instead (it implies substitution_allowed; it must be another product sold in the
 * same unit, checked here; null or absent: the best match).
 */
#include <stdio.h>
#include <string.h>

#include "http_internal.h"

#define LDR__CART_ROLES (LDR_ROLES(LDR_ROLE_CUSTOMER) | LDR_ROLES(LDR_ROLE_ADMIN))

/* ?store= of a cart route: a valid id ("default" when absent); 400 and false otherwise. */
static bool ldr__cart_store(h2o_req_t *req, h2o_iovec_t *store)
{
    ldr_query_param_t params[4];
    size_t n;
    const char *bad;
    *store = h2o_iovec_init(H2O_STRLIT("default"));
    if (ldr_query_parse(req, params, 4, &n, &bad) != LDR_OK)
        return ldr_http_bad_param(req, "query", bad), false;
    for (size_t i = 0; i < n; i++) {
        if (!h2o_memis(params[i].key.base, params[i].key.len, H2O_STRLIT("store")))
            return ldr_http_bad_param(req, params[i].key.base, "unknown parameter"), false;
        if (!ldr_store_id_valid(params[i].value.base, params[i].value.len))
            return ldr_http_bad_param(req, "store", "not a store id (1-64 of a-z 0-9 _ -)"), false;
        *store = params[i].value;
    }
    return true;
}

/* The priced cart of `owner` at `store`; the caller holds the read lock. */
static void ldr__json_cart(ldr_buf_t *b, ldr_app_t *app, const char *owner, size_t olen,
                           h2o_iovec_t store)
{
    const ldr_state_t *st = ldr_engine_state(app->engine);
    const ldr_cart_t *cart = ldr_carts_find(st->carts, owner, olen);
    uint32_t sid = ldr_stock_store_find(st->stock, store.base, store.len);
    int64_t subtotal = 0;
    ldr_buf_puts(b, "{\"store\":");
    ldr_buf_json_str(b, store.base, store.len);
    ldr_buf_puts(b, ",\"lines\":[");
    for (uint32_t i = 0; cart != NULL && i < cart->nlines; i++) {
        const ldr_cart_line_t *l = &cart->lines[i];
        uint32_t doc;
        const ldr_product_t *p = ldr_catalog_find(app->catalog, l->sku, strlen(l->sku), &doc);
        int64_t price = p != NULL ? p->price : 0, total = price * l->quantity;
        subtotal += total;
        ldr_buf_puts(b, i ? ",{\"sku\":" : "{\"sku\":");
        ldr_buf_json_str(b, l->sku, strlen(l->sku));
        ldr_buf_puts(b, ",\"name\":{");
        for (int k = 0, first = 1; p != NULL && k < LDR_LANG_COUNT; k++) {
            if (p->name[k].ptr == NULL)
                continue;
            ldr_buf_puts(b, first ? "" : ",");
            first = 0;
            ldr_buf_json_key(b, k == LDR_LANG_EN ? "en" : "vi");
            ldr_buf_json_sv(b, p->name[k]);
        }
        ldr_buf_putc(b, '}');
        if (p != NULL && p->unit.ptr != NULL) {
            ldr_buf_puts(b, ",\"unit\":");
            ldr_buf_json_sv(b, p->unit);
        }
        int64_t avail = p != NULL && sid != UINT32_MAX
                            ? ldr_stock_available(ldr_stock_get(st->stock, sid, doc))
                            : 0;
        ldr_buf_printf(b,
                       ",\"quantity\":%d,\"unit_price\":%lld,\"line_total\":%lld,"
                       "\"substitution_allowed\":%s,",
                       l->quantity, (long long)price, (long long)total,
                       l->substitution_allowed ? "true" : "false");
        if (l->replacement[0] != '\0') {
            ldr_buf_puts(b, "\"replacement\":");
            ldr_buf_json_str(b, l->replacement, strlen(l->replacement));
            ldr_buf_putc(b, ',');
        }
        ldr_buf_printf(b, "\"available\":%lld}", (long long)avail);
    }
    ldr_buf_printf(b, "],\"promotions\":[],\"subtotal\":%lld,\"discount\":0,\"total\":%lld}\n",
                   (long long)subtotal, (long long)subtotal);
}

int ldr_route_cart(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg)
{
    ldr_principal_t who;
    h2o_iovec_t store;
    if (ldr_http_not_ready(h, req) || !ldr_http_authorize(h, req, LDR__CART_ROLES, &who) ||
        !ldr__cart_store(req, &store))
        return 0;
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_app_read_begin(h->app);
    ldr__json_cart(&b, h->app, who.sub, strlen(who.sub), store);
    ldr_app_read_end(h->app);
    ldr_http_send_json(req, 200, b.base, b.len);
    ldr_buf_free(&b);
    return 0;
}

static void ldr__cart_changed(ldr_write_t *w, h2o_req_t *req)
{
    const ldr_cmd_t *c = &w->cmds[0].cmd;
    int st = w->cmds[0].result.status;
    if (st == LDR_EFULL) {
        ldr_http_send_error(req, 409, "cart_full", "a cart holds at most 200 lines", NULL);
        return;
    }
    if (st == LDR_ENOENT) {
        ldr_http_not_found(req, "sku", h2o_iovec_init(c->sku.ptr, c->sku.len),
                           "no product with this sku");
        return;
    }
    if (st != LDR_OK) {
        ldr_http_write_failed(req, st);
        return;
    }
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_app_read_begin(w->h->app);
    ldr__json_cart(&b, w->h->app, c->owner.ptr, c->owner.len,
                   h2o_iovec_init(c->store.ptr, c->store.len));
    ldr_app_read_end(w->h->app);
    ldr_http_send_json(req, 200, b.base, b.len);
    ldr_buf_free(&b);
}

int ldr_route_cart_item(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku)
{
    static const ldr__json_key_t keys[] = {LDR__KEY("quantity"), LDR__KEY("substitution_allowed"),
                                           LDR__KEY("replacement")};
    ldr_principal_t who;
    h2o_iovec_t store;
    if (ldr_http_not_ready(h, req) || !ldr_http_authorize(h, req, LDR__CART_ROLES, &who) ||
        !ldr__cart_store(req, &store))
        return 0;
    bool remove = h2o_memis(req->method.base, req->method.len, H2O_STRLIT("DELETE"));
    const ldr_catalog_t *cat = ldr_loop_view(h, ldr_loop(req))->catalog;
    const ldr_product_t *p = remove ? NULL : ldr_catalog_find(cat, sku.base, sku.len, NULL);
    if (!remove && p == NULL)
        return ldr_http_not_found(req, "sku", sku, "no product with this sku");
    if (!ldr_sku_valid(sku.base, sku.len))
        return ldr_http_bad_param(req, "sku", "not a valid sku");
    ldr_write_t *w = ldr_write_new(h, req, sku, ldr__cart_changed);
    ldr_cmd_t *c = &ldr_write_cmds(w, 1)->cmd;
    char repl[LDR_SKU_MAX];
    size_t repl_len = 0;
    *c = (ldr_cmd_t){.type = LDR_CMD_CART_SET, .sku = {w->arg.base, w->arg.len}};
    if (!remove) {
        ldr__jsonl_scratch_t sc = {0};
        ldr__json_line_t ln;
        if (!ldr_write_body(w, req, &sc, &ln))
            return 0;
        uint32_t f[3];
        int64_t q;
        ldr_str_t r = {NULL, 0};
        ldr_error_t err = {.position = -1};
        if (ldr__json_fields(&ln, 0, NULL, keys, 3, f, &err) != LDR_OK ||
            ldr__json_int(&ln, f[0], "quantity", true, 1, LDR_CART_QUANTITY_MAX, &q, NULL, &err) !=
                LDR_OK ||
            ldr__json_str(&ln, f[2], "replacement", false, LDR_SKU_MAX, &r, &err) != LDR_OK)
            return ldr_write_bad_body(w, req, &sc, &err);
        bool allowed_given = f[1] != LDR_JSON_NONE && !ldr_json_is_null(&ln.doc, f[1]);
        if (allowed_given && ldr_json_bool(&ln.doc, f[1], &c->substitution_allowed) != LDR_OK) {
            ldr__json_error(&err, "substitution_allowed", "expected true or false");
            return ldr_write_bad_body(w, req, &sc, &err);
        }
        if (r.len > 0) {
            const ldr_product_t *rp = ldr_catalog_find(cat, r.ptr, r.len, NULL);
            const char *why = allowed_given && !c->substitution_allowed
                                  ? "a replacement needs substitution_allowed (true, or left out)"
                              : !ldr_sku_valid(r.ptr, r.len) || rp == NULL
                                  ? "no product with this sku"
                              : ldr_str_eq(r, sku.base, sku.len) ? "a product cannot replace itself"
                              : !ldr_str_eq(rp->unit, p->unit.ptr, p->unit.len)
                                  ? "a replacement must be sold in the same unit as the product"
                                  : NULL;
            if (why != NULL) {
                ldr__json_error(&err, "replacement", "%s", why);
                return ldr_write_bad_body(w, req, &sc, &err);
            }
            memcpy(repl, r.ptr, r.len);
            repl_len = r.len;
            c->substitution_allowed = true;
        }
        c->quantity = q;
        ldr__jsonl_scratch_free(&sc);
    }
    /* the owner, the store and the replacement live in the write's key buffer, reserved whole */
    size_t olen = strlen(who.sub);
    ldr_buf_reserve(&w->keys, olen + store.len + repl_len);
    c->owner = (ldr_str_t){w->keys.base + w->keys.len, olen};
    ldr_buf_append(&w->keys, who.sub, olen);
    c->store = (ldr_str_t){w->keys.base + w->keys.len, store.len};
    ldr_buf_append(&w->keys, store.base, store.len);
    c->replacement = (ldr_str_t){w->keys.base + w->keys.len, repl_len};
    ldr_buf_append(&w->keys, repl, repl_len);
    if (!ldr_user_id_valid(c->owner.ptr, c->owner.len)) {
        ldr_http_send_error(req, 403, "forbidden", "this token's subject cannot hold a cart", NULL);
        ldr_write_free(w);
        return 0;
    }
    ldr_write_submit(w);
    return 0;
}
