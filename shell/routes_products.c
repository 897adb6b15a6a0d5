/*
 * Catalog writes (admin or service): PUT and DELETE /v1/products/{sku}, POST /v1/products:import.
 *
 * A product write is two stages.  The engine applies it and makes it durable (PRODUCT_PUT or
 * PRODUCT_DEL in the log: a product written the way it already is, or deleted when it is not
 * there, changes nothing and logs nothing); then the write waits for the indexer to publish a view
 * that holds it (include/larder/app.h), and only then is answered, so what a write returned is
 * what the next search and GET see, on any connection.  Products are rendered into their
 * canonical JSON before they are logged: the log holds exactly what ldr_product_parse reads back.
 */
#include <string.h>

#include "http_internal.h"

#define LDR__CATALOG_ROLES      (LDR_ROLES(LDR_ROLE_ADMIN) | LDR_ROLES(LDR_ROLE_SERVICE))
#define LDR__IMPORT_REJECTS_MAX 100 /* rejected lines listed in an import's answer */

/* A write's second stage: waiting for the view. */
typedef struct ldr__product_wait {
    ldr_index_wait_t wait;
    ldr_write_t *w;
    uint32_t imported, changed, rejected; /* import */
    ldr_buf_t rejects;                    /* import: the "rejected" array's items */
} ldr__product_wait_t;

static void ldr__view_ready(ldr_index_wait_t *iw)
{
    ldr__product_wait_t *pw = (ldr__product_wait_t *)iw;
    h2o_multithread_send_message(&pw->w->loop->replies, &pw->w->msg);
}

/* From a first-stage reply: answer with `second` once a view holds everything applied so far. */
static void ldr__wait_for_view(ldr_write_t *w, ldr_write_reply_cb second)
{
    ldr__product_wait_t *pw = w->aux;
    pw->w = w;
    pw->wait.changes = ldr_catalog_changes(w->h->app->catalog);
    pw->wait.done = ldr__view_ready;
    w->reply = second;
    ldr_write_again(w);
    atomic_fetch_add_explicit(&w->loop->inflight, 1, memory_order_relaxed);
    ldr_app_index_wait(w->h->app, &pw->wait);
}

static void ldr__wait_clear(void *aux)
{
    ldr_buf_free(&((ldr__product_wait_t *)aux)->rejects);
}

static ldr_write_t *ldr__product_write(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg,
                                       ldr_write_reply_cb reply)
{
    ldr_write_t *w = ldr_write_new(h, req, arg, reply);
    w->aux = ldr_calloc(1, sizeof(ldr__product_wait_t));
    w->aux_clear = ldr__wait_clear;
    return w;
}

static int ldr__bad_body(ldr_write_t *w, h2o_req_t *req, const ldr_error_t *err)
{
    ldr__jsonl_scratch_t sc = {0};
    return ldr_write_bad_body(w, req, &sc, err);
}

/* ---- PUT ---- */

static void ldr__put_done(ldr_write_t *w, h2o_req_t *req)
{
    ldr_loop_t *l = w->loop;
    ldr_view_t *v = ldr_loop_view(w->h, l);
    uint32_t doc;
    const ldr_product_t *p = ldr_catalog_find(v->catalog, w->arg.base, w->arg.len, &doc);
    if (p == NULL) { /* deleted by a later write, already in this view */
        ldr_http_not_found(req, "sku", w->arg, "no product with this sku");
        return;
    }
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_app_read_begin(w->h->app);
    ldr_json_product(&b, w->h->app, v->catalog, p, doc);
    ldr_app_read_end(w->h->app);
    ldr_buf_putc(&b, '\n');
    ldr_http_send_json(req, w->data ? 201 : 200, b.base, b.len);
    ldr_buf_free(&b);
}

static void ldr__put_applied(ldr_write_t *w, h2o_req_t *req)
{
    int st = w->cmds[0].result.status;
    if (st == LDR_EFULL) {
        ldr_http_send_error(req, 507, "catalog_full", "the catalog holds no more products", NULL);
        return;
    }
    if (st != LDR_OK) {
        ldr_http_write_failed(req, st);
        return;
    }
    w->data = w->cmds[0].result.created;
    ldr__wait_for_view(w, ldr__put_done);
}

static int ldr__put(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku)
{
    ldr_write_t *w = ldr__product_write(h, req, sku, ldr__put_applied);
    ldr_product_input_t in;
    ldr_error_t err = {.position = -1};
    if (w->body.len == 0) {
        err.position = 0;
        snprintf(err.message, sizeof(err.message), "the body must be a product (a JSON object)");
        return ldr__bad_body(w, req, &err);
    }
    if (ldr_product_parse(w->body.base, w->body.len, &in, &err) != LDR_OK)
        return ldr__bad_body(w, req, &err);
    if (!ldr_str_eq(in.p.sku, sku.base, sku.len)) {
        ldr_product_input_clear(&in);
        err = (ldr_error_t){.position = -1};
        snprintf(err.field, sizeof(err.field), "sku");
        snprintf(err.message, sizeof(err.message),
                 "field \"sku\": \"%.*s\" is not the sku of the path", (int)in.p.sku.len,
                 in.p.sku.ptr);
        return ldr__bad_body(w, req, &err);
    }
    ldr_product_render(&in, &w->strings);
    ldr_product_input_clear(&in);
    ldr_cmd_t *c = &ldr_write_cmds(w, 1)->cmd;
    *c = (ldr_cmd_t){.type = LDR_CMD_PRODUCT_PUT, .product = {w->strings.base, w->strings.len}};
    ldr_write_submit(w);
    return 0;
}

/* ---- DELETE ---- */

static void ldr__delete_done(ldr_write_t *w, h2o_req_t *req)
{
    ldr_http_send_no_content(req);
}

static void ldr__delete_applied(ldr_write_t *w, h2o_req_t *req)
{
    const ldr_cmd_result_t *res = &w->cmds[0].result;
    if (res->status != LDR_OK) {
        ldr_http_write_failed(req, res->status);
        return;
    }
    if (res->noop) {
        ldr_http_not_found(req, "sku", w->arg, "no product with this sku");
        return;
    }
    ldr__wait_for_view(w, ldr__delete_done);
}

static int ldr__delete(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku)
{
    ldr_write_t *w = ldr__product_write(h, req, sku, ldr__delete_applied);
    ldr_cmd_t *c = &ldr_write_cmds(w, 1)->cmd;
    *c = (ldr_cmd_t){.type = LDR_CMD_PRODUCT_DEL, .sku = {w->arg.base, w->arg.len}};
    ldr_write_submit(w);
    return 0;
}

int ldr_route_product_write(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku)
{
    ldr_principal_t who;
    if (ldr_http_not_ready(h, req) || !ldr_http_authorize(h, req, LDR__CATALOG_ROLES, &who))
        return 0;
    if (!ldr_sku_valid(sku.base, sku.len))
        return ldr_http_bad_param(req, "sku", "not a valid sku (1-64 of A-Z a-z 0-9 . _ -)");
    if (h2o_memis(req->method.base, req->method.len, H2O_STRLIT("DELETE")))
        return ldr__delete(h, req, sku);
    return ldr__put(h, req, sku);
}

/* ---- import ---- */

typedef struct ldr__import {
    ldr_buf_t products; /* rendered products, one after the other */
    uint32_t *lens;
    uint32_t n, cap;
} ldr__import_t;

static int ldr__import_line(void *ctx, const ldr_product_input_t *in, ldr_error_t *err)
{
    ldr__import_t *im = ctx;
    size_t before = im->products.len;
    ldr_product_render(in, &im->products);
    if (im->n == im->cap) {
        im->cap = im->cap ? im->cap * 2 : 64;
        im->lens = ldr_realloc(im->lens, im->cap * sizeof(*im->lens));
    }
    im->lens[im->n++] = (uint32_t)(im->products.len - before);
    return LDR_OK;
}

static void ldr__import_reject(void *ctx, uint64_t line, const char *message)
{
    ldr__product_wait_t *pw = ctx;
    if (pw->rejected++ >= LDR__IMPORT_REJECTS_MAX)
        return;
    if (pw->rejects.len > 0)
        ldr_buf_putc(&pw->rejects, ',');
    ldr_buf_printf(&pw->rejects, "{\"line\":%llu,\"error\":", (unsigned long long)line);
    ldr_buf_json_str(&pw->rejects, message, strlen(message));
    ldr_buf_putc(&pw->rejects, '}');
}

static void ldr__import_done(ldr_write_t *w, h2o_req_t *req)
{
    ldr__product_wait_t *pw = w->aux;
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_printf(&b, "{\"imported\":%u,\"changed\":%u,\"rejected\":[", pw->imported, pw->changed);
    ldr_buf_append(&b, pw->rejects.base, pw->rejects.len);
    ldr_buf_puts(&b, "]");
    if (pw->rejected > LDR__IMPORT_REJECTS_MAX)
        ldr_buf_printf(&b, ",\"rejected_total\":%u", pw->rejected);
    ldr_buf_puts(&b, "}\n");
    ldr_http_send_json(req, 200, b.base, b.len);
    ldr_buf_free(&b);
}

static void ldr__import_applied(ldr_write_t *w, h2o_req_t *req)
{
    ldr__product_wait_t *pw = w->aux;
    int failed = LDR_OK;
    for (uint32_t i = 0; i < w->ncmds; i++) {
        const ldr_cmd_result_t *res = &w->cmds[i].result;
        if (res->status == LDR_OK)
            pw->changed += !res->noop;
        else if (failed == LDR_OK || res->status == LDR_ESTORAGE)
            failed = res->status;
    }
    if (failed != LDR_OK) {
        if (failed == LDR_EFULL)
            ldr_http_send_error(req, 507, "catalog_full", "the catalog holds no more products",
                                NULL);
        else if (failed == LDR_ESTORAGE)
            ldr_http_send_error(req, 503, "storage_unavailable",
                                "the write-ahead log failed during the import: some products may "
                                "have been imported; the import can be retried as it is",
                                NULL);
        else
            ldr_http_write_failed(req, failed);
        return;
    }
    pw->imported = w->ncmds;
    ldr__wait_for_view(w, ldr__import_done);
}

int ldr_route_product_import(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg)
{
    ldr_principal_t who;
    if (ldr_http_not_ready(h, req) || !ldr_http_authorize(h, req, LDR__CATALOG_ROLES, &who))
        return 0;
    ldr_write_t *w = ldr__product_write(h, req, arg, ldr__import_applied);
    ldr__product_wait_t *pw = w->aux;
    if (w->body.len == 0) {
        ldr_error_t err = {.position = 0};
        snprintf(err.message, sizeof(err.message),
                 "the body must be JSON Lines: one product object a line");
        return ldr__bad_body(w, req, &err);
    }
    ldr__import_t im = {LDR_BUF_INIT, NULL, 0, 0};
    ldr_load_result_t r;
    ldr_products_each(w->body.base, w->body.len, ldr__import_line, &im, ldr__import_reject, pw, &r);
    /* the commands point into the products, which no longer move */
    w->strings = im.products;
    ldr_engine_req_t *reqs = ldr_write_cmds(w, im.n);
    size_t off = 0;
    for (uint32_t i = 0; i < im.n; i++) {
        reqs[i].cmd = (ldr_cmd_t){.type = LDR_CMD_PRODUCT_PUT,
                                  .product = {w->strings.base + off, im.lens[i]}};
        off += im.lens[i];
    }
    ldr_free(im.lens);
    ldr_write_submit(w);
    return 0;
}
