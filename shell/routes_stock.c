/*
 * Stock over HTTP.
 *
 * Reads, served on the loop thread under the engine's read lock: GET /stock/{sku} and
 * /v1/stock/{sku}?store=… (one item's stock with its lots, FEFO order) and
 * GET /v1/stock/expiring?store=…&within=48h (lots that expire within the window, including those
 * already past their date and still on hand, marked "expired").  The store defaults to "default".
 *
 * Writes (admin or service token): POST /v1/stock/{sku}/receive, /v1/stock/{sku}/adjust and
 * /v1/stock:batch.  The body is checked whole before anything is submitted (400 names the field);
 * the commands then go through the engine and the answer waits until they are durable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_internal.h"
#include "stock_body.h"

#define LDR__BATCH_MAX 1000

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
    *store = ldr_stock_store_find(ldr_app_stock(h->app), id.base, id.len);
    if (*store == UINT32_MAX)
        return ldr_http_not_found(req, "store", id, "no such store"), false;
    return true;
}

static void ldr__json_lot(ldr_buf_t *b, const ldr_lot_t *l)
{
    ldr_buf_puts(b, "{\"lot\":");
    ldr_buf_json_str(b, l->id, strlen(l->id));
    ldr_buf_puts(b, ",\"quantity\":");
    ldr_buf_put_i64(b, l->quantity);
    if (l->expires_at != LDR_NO_EXPIRY) {
        ldr_buf_puts(b, ",\"expires_at\":");
        ldr_buf_json_time(b, l->expires_at);
    }
    ldr_buf_putc(b, '}');
}

/* The stock view of API.md for (store, doc); the caller holds the read lock. */
static void ldr__json_stock(ldr_buf_t *b, const ldr_app_t *app, uint32_t store, uint32_t doc)
{
    const ldr_stock_entry_t *e = ldr_stock_get(ldr_app_stock(app), store, doc);
    ldr_buf_puts(b, "{\"sku\":");
    ldr_buf_json_sv(b, ldr_catalog_record(app->catalog, doc)->sku);
    ldr_buf_puts(b, ",\"store\":");
    ldr_buf_json_sv(b, ldr_intern_str(ldr_stock_stores(ldr_app_stock(app)), store));
    /* the hottest read: numbers without printf */
    ldr_buf_puts(b, ",\"on_hand\":");
    ldr_buf_put_i64(b, e ? e->on_hand : 0);
    ldr_buf_puts(b, ",\"reserved\":");
    ldr_buf_put_i64(b, e ? e->reserved : 0);
    ldr_buf_puts(b, ",\"available\":");
    ldr_buf_put_i64(b, ldr_stock_available(e));
    ldr_buf_puts(b, ",\"lots\":[");
    for (uint32_t i = 0; e != NULL && i < e->nlots; i++) {
        if (i > 0)
            ldr_buf_putc(b, ',');
        ldr__json_lot(b, &e->lots[i]);
    }
    ldr_buf_puts(b, "],\"version\":");
    ldr_buf_put_i64(b, e ? (int64_t)e->version : 0);
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
    ldr_buf_t b = LDR_BUF_INIT;
    ldr__json_stock(&b, h->app, store, doc);
    ldr_buf_putc(&b, '\n');
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
    const ldr_stock_t *st = ldr_app_stock(h->app);
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
    if (n > 1) /* an empty array may be null, which qsort does not take */
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
        ldr_buf_json_sv(&b, ldr_catalog_record(cat, due[k].doc)->sku); /* deleted or not */
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

/* ---- writes ---- */

/*
 * Lets a stock write on: the catalog is loaded, the caller is admin or service, and its
 * Idempotency-Key, when it sent one, is well-formed (1..255 visible ASCII characters).  The key
 * is scoped to the caller: *scope becomes "SUB KEY" in the request's pool ({NULL, 0} without).
 */
static bool ldr__writer(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t *scope)
{
    ldr_principal_t who;
    *scope = (h2o_iovec_t){NULL, 0};
    return !ldr_http_not_ready(h, req) &&
           ldr_http_authorize(h, req, LDR_ROLES(LDR_ROLE_ADMIN) | LDR_ROLES(LDR_ROLE_SERVICE),
                              &who) &&
           ldr_http_idempotency_key(req, &who, NULL, scope);
}

/*
 * Gives command c the write's idempotency key (scope, plus "#i" for a batch update) and the
 * fingerprint of what it asks: the path and the body (a batch update: its own JSON text).  The
 * key's bytes go to w->keys, reserved beforehand so that nothing there moves.
 */
static void ldr__idem(ldr_write_t *w, h2o_req_t *req, h2o_iovec_t scope, ldr_cmd_t *c, int line,
                      ldr_str_t what)
{
    if (scope.len == 0)
        return;
    char *at = w->keys.base + w->keys.len;
    ldr_buf_append(&w->keys, scope.base, scope.len);
    if (line >= 0) {
        char tag[16]; /* appended, not printed: printf may reserve more than it needs */
        int n = snprintf(tag, sizeof(tag), "#%d", line);
        ldr_buf_append(&w->keys, tag, (size_t)n);
    }
    c->idem_key = (ldr_str_t){at, (size_t)(w->keys.base + w->keys.len - at)};
    uint64_t h[2] = {ldr_hash(req->path_normalized.base, req->path_normalized.len),
                     ldr_hash(what.ptr, what.len)};
    c->idem_fingerprint = ldr_hash(h, sizeof(h));
}

/*
 * What a refused or failed single-item write answers: status, code, message and details (into
 * d); 200 when it succeeded.  The caller holds the read lock.
 */
static int ldr__write_outcome(ldr_app_t *app, const ldr_cmd_t *c, int status, const char **code,
                              const char **msg, ldr_buf_t *d)
{
    ldr_buf_reset(d);
    uint32_t doc = 0;
    bool known = ldr_catalog_find(app->catalog, c->sku.ptr, c->sku.len, &doc) != NULL;
    switch (status) {
    case LDR_OK:
        return 200;
    case LDR_ESHORT: {
        uint32_t store = ldr_stock_store_find(ldr_app_stock(app), c->store.ptr, c->store.len);
        const ldr_stock_entry_t *e = ldr_stock_get(ldr_app_stock(app), store, doc);
        *code = "insufficient_stock";
        *msg = "on hand would fall below zero or below what is reserved";
        ldr_buf_puts(d, "{\"sku\":");
        ldr_buf_json_str(d, c->sku.ptr, c->sku.len);
        ldr_buf_puts(d, ",\"store\":");
        ldr_buf_json_str(d, c->store.ptr, c->store.len);
        ldr_buf_printf(d, ",\"on_hand\":%lld,\"reserved\":%lld,\"available\":%lld,\"%s\":%lld}",
                       (long long)(e ? e->on_hand : 0), (long long)(e ? e->reserved : 0),
                       (long long)ldr_stock_available(e), c->type == LDR_CMD_SET ? "set" : "delta",
                       (long long)c->quantity);
        return 409;
    }
    case LDR_ENOENT:
        *code = "not_found";
        *msg = known ? "no stock was ever received in this store" : "no product with this sku";
        ldr_buf_puts(d, known ? "{\"store\":" : "{\"sku\":");
        ldr_buf_json_str(d, known ? c->store.ptr : c->sku.ptr, known ? c->store.len : c->sku.len);
        ldr_buf_putc(d, '}');
        return 404;
    case LDR_EEXIST:
        *code = "lot_expiry_mismatch";
        *msg = "this lot was already received with another expires_at";
        ldr_buf_puts(d, "{\"lot\":");
        ldr_buf_json_str(d, c->lot.ptr, c->lot.len);
        ldr_buf_putc(d, '}');
        return 409;
    case LDR_ERANGE:
        *code = "quantity_limit";
        *msg = "on hand would exceed 1000000000";
        return 409;
    case LDR_ECONFLICT:
        *code = "idempotency_conflict";
        *msg = "this Idempotency-Key was used for a different request";
        return 409;
    case LDR_ESTORAGE:
        *code = "storage_unavailable";
        *msg = "the write-ahead log cannot write now; nothing was changed, retry later";
        return 503;
    default:
        *code = "internal";
        *msg = ldr_strerror(status);
        return 500;
    }
}

/* receive and adjust: the new stock view, read after the change was made durable */
static void ldr__reply_item(ldr_write_t *w, h2o_req_t *req)
{
    ldr_app_t *app = w->h->app;
    const ldr_cmd_t *c = &w->cmds[0].cmd;
    ldr_buf_t b = LDR_BUF_INIT, d = LDR_BUF_INIT;
    const char *code, *msg;
    ldr_app_read_begin(app);
    int status = ldr__write_outcome(app, c, w->cmds[0].result.status, &code, &msg, &d);
    if (status == 200) {
        uint32_t doc, store = ldr_stock_store_find(ldr_app_stock(app), c->store.ptr, c->store.len);
        ldr_catalog_lookup(app->catalog, c->sku.ptr, c->sku.len, &doc); /* the engine knew it */
        ldr__json_stock(&b, app, store, doc);
        ldr_buf_putc(&b, '\n');
    }
    ldr_app_read_end(app);
    if (status == 200) {
        if (w->cmds[0].result.replayed)
            h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("idempotent-replayed"),
                                  0, NULL, H2O_STRLIT("true"));
        ldr_http_send_json(req, 200, b.base, b.len);
    } else {
        ldr_buf_putc(&d, '\0');
        ldr_http_send_error(req, status, code, msg, d.base[0] != '\0' ? d.base : NULL);
    }
    ldr_buf_free(&b);
    ldr_buf_free(&d);
}

/* The {sku} of the path: 404 when the catalog does not know it. */
static bool ldr__known_sku(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku)
{
    if (ldr_catalog_find(ldr_loop_view(h, ldr_loop(req))->catalog, sku.base, sku.len, NULL) != NULL)
        return true;
    ldr_http_not_found(req, "sku", sku, "no product with this sku");
    return false;
}

/* Reads a single-item write's body into c (whose type and sku are set); LDR_OK or err. */
typedef int (*ldr__item_body_fn)(const ldr__json_line_t *ln, ldr_cmd_t *c, ldr_error_t *err);

/* A write of one item: checks, the body into one command, then to the engine. */
static int ldr__item_write(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku, uint16_t type,
                           ldr__item_body_fn read_body)
{
    h2o_iovec_t scope;
    if (!ldr__writer(h, req, &scope) || !ldr__known_sku(h, req, sku))
        return 0;
    ldr_write_t *w = ldr_write_new(h, req, sku, ldr__reply_item);
    ldr__jsonl_scratch_t sc = {0};
    ldr__json_line_t ln;
    if (!ldr_write_body(w, req, &sc, &ln))
        return 0;
    ldr_cmd_t *c = &ldr_write_cmds(w, 1)->cmd;
    *c = (ldr_cmd_t){.type = type, .sku = {w->arg.base, w->arg.len}};
    ldr_error_t err = {.position = -1};
    if (read_body(&ln, c, &err) != LDR_OK)
        return ldr_write_bad_body(w, req, &sc, &err);
    ldr_write_adopt_strings(w, &sc);
    ldr_buf_reserve(&w->keys, scope.len);
    ldr__idem(w, req, scope, c, -1, (ldr_str_t){w->body.base, w->body.len});
    ldr_write_submit(w);
    return 0;
}

int ldr_route_stock_receive(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku)
{
    return ldr__item_write(h, req, sku, LDR_CMD_RECEIVE, ldr_stock_receive_body);
}

int ldr_route_stock_adjust(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t sku)
{
    return ldr__item_write(h, req, sku, LDR_CMD_ADJUST, ldr_stock_adjust_body);
}

/*
 * A batch: every update stands alone.  An update that is not valid gets its own 400 result and
 * no command; the valid ones go to the engine together.  line[i].cmd is the command index of
 * update i, or -1 with its error kept in line[i].
 */
typedef struct ldr__batch_line {
    int32_t cmd;
    ldr_error_t err;
} ldr__batch_line_t;

static void ldr__reply_batch(ldr_write_t *w, h2o_req_t *req)
{
    ldr_app_t *app = w->h->app;
    const ldr__batch_line_t *lines = w->aux;
    uint32_t n = (uint32_t)w->data, ok = 0, storage = 0;
    for (uint32_t i = 0; i < w->ncmds; i++) {
        ok += w->cmds[i].result.status == LDR_OK;
        storage += w->cmds[i].result.status == LDR_ESTORAGE;
    }
    if (w->ncmds > 0 && storage == w->ncmds) {
        ldr_http_send_error(req, 503, "storage_unavailable",
                            "the write-ahead log cannot write now; nothing was changed, retry "
                            "later",
                            NULL);
        return;
    }
    ldr_buf_t b = LDR_BUF_INIT, d = LDR_BUF_INIT;
    ldr_buf_printf(&b, "{\"applied\":%u,\"failed\":%u,\"results\":[", ok, n - ok);
    ldr_app_read_begin(app);
    for (uint32_t i = 0; i < n; i++) {
        const ldr_cmd_t *c = lines[i].cmd >= 0 ? &w->cmds[lines[i].cmd].cmd : NULL;
        const char *code = NULL, *msg = NULL;
        int status;
        if (c == NULL) {
            status = 400;
            msg = lines[i].err.message;
            ldr_http_body_error(&d, &lines[i].err, &code);
        } else {
            status =
                ldr__write_outcome(app, c, w->cmds[lines[i].cmd].result.status, &code, &msg, &d);
            ldr_buf_putc(&d, '\0');
        }
        ldr_buf_printf(&b, "%s{\"index\":%u", i ? "," : "", i);
        if (c != NULL) {
            ldr_buf_puts(&b, ",\"sku\":");
            ldr_buf_json_str(&b, c->sku.ptr, c->sku.len);
            ldr_buf_puts(&b, ",\"store\":");
            ldr_buf_json_str(&b, c->store.ptr, c->store.len);
        }
        ldr_buf_printf(&b, ",\"status\":%d,", status);
        if (status == 200) {
            uint32_t doc,
                store = ldr_stock_store_find(ldr_app_stock(app), c->store.ptr, c->store.len);
            ldr_catalog_lookup(app->catalog, c->sku.ptr, c->sku.len, &doc); /* the engine knew it */
            if (w->cmds[lines[i].cmd].result.replayed)
                ldr_buf_puts(&b, "\"replayed\":true,");
            ldr_buf_puts(&b, "\"stock\":");
            ldr__json_stock(&b, app, store, doc);
        } else {
            ldr_buf_puts(&b, "\"error\":{\"code\":");
            ldr_buf_json_str(&b, code, strlen(code));
            ldr_buf_puts(&b, ",\"message\":");
            ldr_buf_json_str(&b, msg, strlen(msg));
            if (d.base != NULL && d.base[0] != '\0') {
                ldr_buf_puts(&b, ",\"details\":");
                ldr_buf_puts(&b, d.base);
            }
            ldr_buf_putc(&b, '}');
        }
        ldr_buf_putc(&b, '}');
    }
    ldr_app_read_end(app);
    ldr_buf_puts(&b, "]}\n");
    ldr_http_send_json(req, 200, b.base, b.len);
    ldr_buf_free(&b);
    ldr_buf_free(&d);
}

int ldr_route_stock_batch(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg)
{
    static const ldr__json_key_t keys[] = {LDR__KEY("updates")};
    h2o_iovec_t scope;
    if (!ldr__writer(h, req, &scope))
        return 0;
    ldr_write_t *w = ldr_write_new(h, req, arg, ldr__reply_batch);
    ldr__jsonl_scratch_t sc = {0};
    ldr__json_line_t ln;
    if (!ldr_write_body(w, req, &sc, &ln))
        return 0;
    uint32_t f[1];
    ldr_error_t err = {.position = -1};
    if (ldr__json_fields(&ln, 0, NULL, keys, 1, f, &err) != LDR_OK)
        return ldr_write_bad_body(w, req, &sc, &err);
    uint32_t list = f[0], n = 0;
    if (list == LDR_JSON_NONE || ldr_json_type(&ln.doc, list) != LDR_JSON_ARRAY)
        ldr__json_error(&err, "updates",
                        list == LDR_JSON_NONE ? "is required" : "expected an array");
    else if ((n = ldr_json_count(&ln.doc, list)) == 0 || n > LDR__BATCH_MAX)
        ldr__json_error(&err, "updates", "wants 1 to %d updates, got %u", LDR__BATCH_MAX, n);
    if (err.message[0] != '\0')
        return ldr_write_bad_body(w, req, &sc, &err);
    ldr__batch_line_t *lines = ldr_calloc(n, sizeof(*lines));
    ldr_engine_req_t *cmds = ldr_write_cmds(w, n);
    w->aux = lines;
    w->data = n;
    uint32_t i = 0, ncmds = 0;
    ldr_buf_reserve(&w->keys, scope.len > 0 ? n * (scope.len + 8) : 0);
    for (uint32_t t = ldr_json_child(&ln.doc, list); t != LDR_JSON_NONE;
         t = ldr_json_next(&ln.doc, t), i++) {
        lines[i].err.position = -1;
        if (ldr_stock_batch_update(&ln, t, i, &cmds[ncmds].cmd, &lines[i].err) == LDR_OK) {
            /* each update is its own request under "KEY#i" */
            ldr__idem(w, req, scope, &cmds[ncmds].cmd, (int)i, ldr_json_raw(&ln.doc, t));
            lines[i].cmd = (int32_t)ncmds++;
        } else {
            lines[i].cmd = -1, memset(&cmds[ncmds].cmd, 0, sizeof(cmds[ncmds].cmd));
        }
    }
    w->ncmds = ncmds;
    ldr_write_adopt_strings(w, &sc);
    ldr_write_submit(w);
    return 0;
}
