/*
 * GET /v1/search and GET /v1/suggest: query parameters in, ranked products out.
 *
 * Every parameter is checked before the index is touched; a bad one answers 400
 * {"error":{"code":"invalid_parameter","details":{"parameter":…}}} naming it.  Unknown parameters
 * are refused too, so a typo ("categroy") is not silently ignored.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_internal.h"
#include "larder/text.h"

#define LDR__Q_MAX       512
#define LDR__PARAMS_MAX  32
#define LDR__SUGGEST_MAX 20

int ldr_http_bad_param(h2o_req_t *req, const char *param, const char *message)
{
    ldr_buf_t b = LDR_BUF_INIT;
    size_t len = strlen(param);
    ldr_buf_puts(&b, "{\"parameter\":");
    ldr_buf_json_str(&b, param, len < 64 ? len : 64); /* echo at most 64 bytes of a client key */
    ldr_buf_putc(&b, '}');
    ldr_buf_putc(&b, '\0');
    ldr_http_send_error(req, 400, "invalid_parameter", message, b.base);
    ldr_buf_free(&b);
    return 0;
}

static bool ldr__parse_i64(h2o_iovec_t v, int64_t min, int64_t max, int64_t *out)
{
    if (v.len == 0 || v.len > 19)
        return false;
    int64_t x = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.base[i] < '0' || v.base[i] > '9')
            return false;
        x = x * 10 + (v.base[i] - '0');
    }
    if (x < min || x > max)
        return false;
    *out = x;
    return true;
}

static bool ldr__is(h2o_iovec_t v, const char *s)
{
    return h2o_memis(v.base, v.len, s, strlen(s));
}

/* true/false; returns -1 for anything else */
static int ldr__bool(h2o_iovec_t v)
{
    return ldr__is(v, "true") ? 1 : ldr__is(v, "false") ? 0 : -1;
}

/* A text parameter: valid UTF-8, no control characters, at most max bytes. */
static const char *ldr__text_problem(h2o_iovec_t v, size_t max)
{
    if (v.len > max)
        return max == LDR__Q_MAX ? "longer than 512 bytes" : "longer than 128 bytes";
    if (!ldr_utf8_valid(v.base, v.len))
        return "not valid UTF-8";
    for (size_t i = 0; i < v.len; i++)
        if ((unsigned char)v.base[i] < 0x20 || v.base[i] == 0x7f)
            return "contains a control character";
    return NULL;
}

typedef struct ldr__search_req {
    ldr_search_query_t q;
    int lang;
    uint32_t limit; /* suggest */
} ldr__search_req_t;

/* Parses the query string into r; answers 400 and returns false on a bad parameter. */
static bool ldr__parse_search(ldr_handler_t *h, h2o_req_t *req, ldr__search_req_t *r, bool suggest)
{
    ldr_query_param_t params[LDR__PARAMS_MAX];
    size_t n;
    const char *bad;
    memset(r, 0, sizeof(*r));
    r->q = LDR_SEARCH_QUERY_INIT;
    r->lang = LDR_LANG_VI;
    r->limit = 8;
    if (ldr_query_parse(req, params, LDR__PARAMS_MAX, &n, &bad) != LDR_OK) {
        ldr_http_bad_param(req, "query", bad);
        return false;
    }
    h2o_iovec_t store = {NULL, 0};
    bool in_stock = false;
    for (size_t i = 0; i < n; i++) {
        h2o_iovec_t k = params[i].key, v = params[i].value;
        int64_t x;
        int flag;
        const char *problem;
        if (ldr__is(k, "q")) {
            if ((problem = ldr__text_problem(v, LDR__Q_MAX)) != NULL)
                return ldr_http_bad_param(req, "q", problem), false;
            r->q.q = v.base, r->q.q_len = v.len;
        } else if (ldr__is(k, "limit") && suggest) {
            if (!ldr__parse_i64(v, 1, LDR__SUGGEST_MAX, &x))
                return ldr_http_bad_param(req, "limit", "expected an integer from 1 to 20"), false;
            r->limit = (uint32_t)x;
        } else if (ldr__is(k, "lang")) {
            if (ldr__is(v, "en"))
                r->lang = LDR_LANG_EN;
            else if (ldr__is(v, "vi"))
                r->lang = LDR_LANG_VI;
            else
                return ldr_http_bad_param(req, "lang", "expected en or vi"), false;
        } else if (suggest) {
            return ldr_http_bad_param(req, k.base, "unknown parameter (q, limit, lang)"), false;
        } else if (ldr__is(k, "category")) {
            if ((problem = ldr__text_problem(v, 128)) != NULL)
                return ldr_http_bad_param(req, "category", problem), false;
            r->q.category = v.base, r->q.category_len = v.len;
        } else if (ldr__is(k, "brand")) {
            if ((problem = ldr__text_problem(v, 128)) != NULL)
                return ldr_http_bad_param(req, "brand", problem), false;
            r->q.brand = v.base, r->q.brand_len = v.len;
        } else if (ldr__is(k, "perishable")) {
            if ((flag = ldr__bool(v)) < 0)
                return ldr_http_bad_param(req, "perishable", "expected true or false"), false;
            r->q.perishable = flag;
        } else if (ldr__is(k, "in_stock")) {
            if ((flag = ldr__bool(v)) < 0)
                return ldr_http_bad_param(req, "in_stock", "expected true or false"), false;
            in_stock = flag == 1;
        } else if (ldr__is(k, "store")) {
            store = v;
        } else if (ldr__is(k, "price_min") || ldr__is(k, "price_max")) {
            if (!ldr__parse_i64(v, 0, 1000000000000LL, &x))
                return ldr_http_bad_param(req, k.base, "expected a whole number of VND"), false;
            *(ldr__is(k, "price_min") ? &r->q.price_min : &r->q.price_max) = x;
        } else if (ldr__is(k, "sort")) {
            static const char *sorts[] = {"relevance", "price_asc", "price_desc", "name"};
            size_t s = 0;
            while (s < 4 && !ldr__is(v, sorts[s]))
                s++;
            if (s == 4)
                return ldr_http_bad_param(req, "sort",
                                          "expected relevance, price_asc, price_desc "
                                          "or name"),
                       false;
            r->q.sort = (int)s;
        } else if (ldr__is(k, "page")) {
            if (!ldr__parse_i64(v, 1, LDR_SEARCH_WINDOW_MAX, &x))
                return ldr_http_bad_param(req, "page", "expected a positive integer"), false;
            r->q.page = (uint32_t)x;
        } else if (ldr__is(k, "per_page")) {
            if (!ldr__parse_i64(v, 1, LDR_SEARCH_PER_PAGE_MAX, &x))
                return ldr_http_bad_param(req, "per_page", "expected an integer from 1 to 100"),
                       false;
            r->q.per_page = (uint32_t)x;
        } else if (ldr__is(k, "facets")) {
            for (size_t at = 0; at < v.len;) {
                const char *comma = memchr(v.base + at, ',', v.len - at);
                size_t len = comma ? (size_t)(comma - v.base) - at : v.len - at;
                h2o_iovec_t f = h2o_iovec_init(v.base + at, len);
                if (ldr__is(f, "category"))
                    r->q.facets |= LDR_FACET_CATEGORY;
                else if (ldr__is(f, "brand"))
                    r->q.facets |= LDR_FACET_BRAND;
                else if (ldr__is(f, "perishable"))
                    r->q.facets |= LDR_FACET_PERISHABLE;
                else
                    return ldr_http_bad_param(
                               req, "facets",
                               "expected a comma list of category, brand, perishable"),
                           false;
                at += len + 1;
            }
        } else {
            return ldr_http_bad_param(req, k.base, "unknown parameter"), false;
        }
    }
    if (r->q.price_min >= 0 && r->q.price_max >= 0 && r->q.price_min > r->q.price_max)
        return ldr_http_bad_param(req, "price_min", "price_min is above price_max"), false;
    if ((uint64_t)r->q.page * r->q.per_page > LDR_SEARCH_WINDOW_MAX)
        return ldr_http_bad_param(req, "page", "page * per_page may not exceed 10000"), false;
    if (store.base != NULL) {
        r->q.store = ldr_stock_store_find(ldr_app_stock(h->app), store.base, store.len);
        if (r->q.store == UINT32_MAX)
            return ldr_http_bad_param(req, "store", "unknown store"), false;
        r->q.stock = ldr_app_stock(h->app);
    }
    if (in_stock && store.base == NULL)
        return ldr_http_bad_param(req, "in_stock", "in_stock=true needs store"), false;
    r->q.in_stock = in_stock;
    return true;
}

/* The loop's searcher, over the loop's view (exchanged with it). */
static ldr_searcher_t *ldr__searcher(ldr_handler_t *h, ldr_loop_t *loop)
{
    ldr_view_t *v = ldr_loop_view(h, loop);
    if (loop->searcher == NULL)
        loop->searcher = ldr_searcher_new(v->index);
    return loop->searcher;
}

static ldr_str_t ldr__display(const ldr_str_t *s, int lang)
{
    return s[lang].ptr != NULL ? s[lang] : s[!lang];
}

static void ldr__json_facet(ldr_buf_t *b, const char *name, const ldr_facet_t *f,
                            const ldr_intern_t *names, bool *first)
{
    ldr_buf_puts(b, *first ? "" : ",");
    *first = false;
    ldr_buf_json_key(b, name);
    ldr_buf_putc(b, '[');
    for (uint32_t i = 0; i < f->n; i++) {
        ldr_buf_puts(b, i ? ",{\"value\":" : "{\"value\":");
        if (names != NULL)
            ldr_buf_json_sv(b, ldr_intern_str(names, f->values[i].id));
        else
            ldr_buf_puts(b, f->values[i].id ? "true" : "false");
        ldr_buf_printf(b, ",\"count\":%u}", f->values[i].count);
    }
    ldr_buf_putc(b, ']');
}

static double ldr__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Sends prefix + took_us + suffix; took < 0 means the body has no took_us. */
static void ldr__send_parts(h2o_req_t *req, h2o_iovec_t prefix, double took, h2o_iovec_t suffix,
                            bool hit)
{
    char num[32];
    int n = took < 0 ? 0 : snprintf(num, sizeof(num), "%.0f", took);
    char *body = h2o_mem_alloc_pool(&req->pool, prefix.len + (size_t)n + suffix.len);
    memcpy(body, prefix.base, prefix.len);
    memcpy(body + prefix.len, num, (size_t)n);
    memcpy(body + prefix.len + n, suffix.base, suffix.len);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL,
                   H2O_STRLIT("no-store"));
    h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-larder-cache"), 0, NULL,
                          hit ? "hit" : "miss", hit ? 3 : 4);
    ldr_http_send_json(req, 200, body, prefix.len + (size_t)n + suffix.len);
}

/*
 * What a cached answer depends on: the catalog's epoch, plus the engine's applied LSN when the
 * query names a store (availability, in_stock).  Read before the answer is computed, so an answer
 * computed from newer data is at worst stored under an older epoch and never served stale.
 */
static uint64_t ldr__epoch(ldr_handler_t *h, h2o_req_t *req)
{
    uint64_t epoch = atomic_load_explicit(&h->app->epoch, memory_order_acquire);
    if (req->query_at != SIZE_MAX &&
        h2o_strstr(req->path.base + req->query_at, req->path.len - req->query_at,
                   H2O_STRLIT("store=")) != SIZE_MAX)
        epoch += ldr_engine_data_epoch(h->app->engine);
    return epoch;
}

/* Answers from the cache when it can; returns true if it did. */
static bool ldr__from_cache(ldr_handler_t *h, h2o_req_t *req, uint64_t epoch, bool timed)
{
    h2o_iovec_t prefix, suffix;
    if (!ldr_search_cache_get(ldr_loop(req)->cache, req->path.base, req->path.len, epoch, &prefix,
                              &suffix))
        return false;
    ldr__send_parts(req, prefix, timed ? 0.0 : -1.0, suffix, true);
    return true;
}

/* Caches b split at [cut, resume) (the took_us digits) and sends it. */
static void ldr__store_and_send(ldr_handler_t *h, h2o_req_t *req, uint64_t epoch,
                                const ldr_buf_t *b, size_t cut, size_t resume, double took)
{
    ldr_search_cache_put(ldr_loop(req)->cache, req->path.base, req->path.len, epoch, b->base, cut,
                         b->base + resume, b->len - resume);
    ldr__send_parts(req, h2o_iovec_init(b->base, cut), took,
                    h2o_iovec_init(b->base + resume, b->len - resume), false);
}

static void ldr__search(ldr_handler_t *h, h2o_req_t *req, uint64_t epoch)
{
    ldr__search_req_t r;
    if (!ldr__parse_search(h, req, &r, false))
        return;
    double t0 = ldr__now_us();
    ldr_searcher_t *s = ldr__searcher(h, ldr_loop(req));
    ldr_search_result_t res;
    ldr_search(s, &r.q, &res);                               /* the window was validated above */
    const ldr_catalog_t *cat = ldr_loop(req)->view->catalog; /* the searcher's */
    ldr_buf_t b = LDR_BUF_INIT, hl = LDR_BUF_INIT;
    ldr_buf_puts(&b, "{\"query\":");
    ldr_buf_json_str(&b, r.q.q, r.q.q_len);
    double took = ldr__now_us() - t0;
    ldr_buf_printf(&b, ",\"total\":%u,\"page\":%u,\"per_page\":%u,\"took_us\":", res.total,
                   r.q.page, r.q.per_page);
    size_t cut = b.len, resume = b.len; /* took_us goes between, fresh on every answer */
    ldr_buf_puts(&b, ",\"hits\":[");
    for (uint32_t i = 0; i < res.nhits; i++) {
        const ldr_search_hit_t *hit = &res.hits[i];
        const ldr_product_t *p = ldr_catalog_doc(cat, hit->doc);
        ldr_buf_puts(&b, i ? ",{\"sku\":" : "{\"sku\":");
        ldr_buf_json_sv(&b, p->sku);
        ldr_buf_puts(&b, ",\"name\":{");
        bool first = true;
        for (int l = 0; l < LDR_LANG_COUNT; l++) {
            if (p->name[l].ptr == NULL)
                continue;
            ldr_buf_puts(&b, first ? "" : ",");
            first = false;
            ldr_buf_json_key(&b, l == LDR_LANG_EN ? "en" : "vi");
            ldr_buf_json_sv(&b, p->name[l]);
        }
        ldr_buf_puts(&b, "},\"category\":");
        ldr_buf_json_sv(&b, ldr_intern_str(ldr_catalog_categories(cat), p->category));
        if (p->brand != LDR_NO_BRAND) {
            ldr_buf_puts(&b, ",\"brand\":");
            ldr_buf_json_sv(&b, ldr_intern_str(ldr_catalog_brands(cat), p->brand));
        }
        ldr_buf_printf(&b, ",\"price\":%lld", (long long)p->price);
        if (p->unit.ptr != NULL) {
            ldr_buf_puts(&b, ",\"unit\":");
            ldr_buf_json_sv(&b, p->unit);
        }
        ldr_buf_puts(&b, p->perishable ? ",\"perishable\":true" : ",\"perishable\":false");
        if (hit->available >= 0)
            ldr_buf_printf(&b, ",\"available\":%lld", (long long)hit->available);
        ldr_buf_printf(&b, ",\"score\":%.4f,\"highlight\":{", (double)hit->score);
        /* every language whose name holds a match, else the display language as it is */
        bool any = false;
        for (int l = 0; l < LDR_LANG_COUNT; l++) {
            if (p->name[l].ptr == NULL)
                continue;
            ldr_buf_reset(&hl);
            if (ldr_search_highlight(s, p->name[l].ptr, p->name[l].len, &hl) == 0)
                continue;
            ldr_buf_puts(&b, any ? "," : "");
            any = true;
            ldr_buf_json_key(&b, l == LDR_LANG_EN ? "en" : "vi");
            ldr_buf_json_str(&b, hl.base, hl.len);
        }
        if (!any) {
            int lang = p->name[r.lang].ptr != NULL ? r.lang : !r.lang;
            ldr_buf_json_key(&b, lang == LDR_LANG_EN ? "en" : "vi");
            ldr_buf_json_sv(&b, p->name[lang]);
        }
        ldr_buf_puts(&b, "}}");
    }
    ldr_buf_puts(&b, "]");
    if (r.q.facets != 0) {
        bool first = true;
        ldr_buf_puts(&b, ",\"facets\":{");
        if (r.q.facets & LDR_FACET_CATEGORY)
            ldr__json_facet(&b, "category", &res.category, ldr_catalog_categories(cat), &first);
        if (r.q.facets & LDR_FACET_BRAND)
            ldr__json_facet(&b, "brand", &res.brand, ldr_catalog_brands(cat), &first);
        if (r.q.facets & LDR_FACET_PERISHABLE)
            ldr__json_facet(&b, "perishable", &res.perishable, NULL, &first);
        ldr_buf_putc(&b, '}');
    }
    ldr_buf_puts(&b, "}\n");
    ldr__store_and_send(h, req, epoch, &b, cut, resume, took);
    ldr_buf_free(&b);
    ldr_buf_free(&hl);
}

/* Stock-aware queries read the engine's state: a miss runs under its read lock. */
int ldr_route_search(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg)
{
    if (ldr_http_not_ready(h, req))
        return 0;
    uint64_t epoch = ldr__epoch(h, req);
    if (!ldr__from_cache(h, req, epoch, true)) {
        ldr_app_read_begin(h->app);
        ldr__search(h, req, epoch);
        ldr_app_read_end(h->app);
    }
    return 0;
}

#define LDR__SUGGEST_CATEGORIES 2

typedef struct ldr__path_match {
    const char *path; /* the category path */
    size_t len;
    bool all;       /* every query word so far starts a word of the path */
    uint32_t words; /* query words seen */
} ldr__path_match_t;

typedef struct ldr__prefix_of {
    const ldr_word_t *q;
    bool hit;
} ldr__prefix_of_t;

static int ldr__path_word(void *ctx, const ldr_word_t *w)
{
    ldr__prefix_of_t *m = ctx;
    m->hit =
        w->folded_len >= m->q->folded_len && memcmp(w->folded, m->q->folded, m->q->folded_len) == 0;
    return m->hit;
}

static int ldr__query_word(void *ctx, const ldr_word_t *w)
{
    ldr__path_match_t *m = ctx;
    ldr__prefix_of_t p = {w, false};
    ldr_text_words(m->path, m->len, ldr__path_word, &p);
    m->all = m->all && p.hit && w->folded_len >= 2;
    m->words++;
    return !m->all;
}

/*
 * Categories every word of whose query starts a word of their path ("veg" → produce/vegetables,
 * "froz veg" → frozen/vegetables), at most LDR__SUGGEST_CATEGORIES, as
 * {"text":path,"category":path}; returns how many.
 */
static uint32_t ldr__suggest_categories(const ldr_catalog_t *cat, const ldr_search_query_t *q,
                                        uint32_t limit, ldr_buf_t *b)
{
    const ldr_intern_t *cats = ldr_catalog_categories(cat);
    uint32_t n = 0;
    for (uint32_t c = 0; c < ldr_intern_count(cats) && n < limit && n < LDR__SUGGEST_CATEGORIES;
         c++) {
        ldr_str_t path = ldr_intern_str(cats, c);
        ldr__path_match_t m = {path.ptr, path.len, true, 0};
        if (ldr_text_words(q->q, q->q_len, ldr__query_word, &m) != 0 || !m.all || m.words == 0)
            continue;
        ldr_buf_puts(b, n++ > 0 ? ",{\"text\":" : "{\"text\":");
        ldr_buf_json_sv(b, path);
        ldr_buf_puts(b, ",\"category\":");
        ldr_buf_json_sv(b, path);
        ldr_buf_putc(b, '}');
    }
    return n;
}

static void ldr__suggest(ldr_handler_t *h, h2o_req_t *req, uint64_t epoch)
{
    ldr__search_req_t r;
    if (!ldr__parse_search(h, req, &r, true))
        return;
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_puts(&b, "{\"suggestions\":[");
    ldr_searcher_t *s = ldr__searcher(h, ldr_loop(req));
    const ldr_catalog_t *cat = ldr_loop(req)->view->catalog; /* the searcher's */
    uint32_t ncat = r.q.q_len > 0 ? ldr__suggest_categories(cat, &r.q, r.limit, &b) : 0;
    if (r.q.q_len > 0) {
        /* completions of product names: the best matches for the text typed so far, deduplicated */
        ldr_search_result_t res;
        r.q.per_page = LDR__SUGGEST_MAX * 2;
        ldr_search(s, &r.q, &res);
        ldr_str_t seen[LDR__SUGGEST_MAX];
        uint32_t nseen = 0;
        for (uint32_t i = 0; i < res.nhits && ncat + nseen < r.limit; i++) {
            const ldr_product_t *p = ldr_catalog_doc(cat, res.hits[i].doc);
            ldr_str_t name = ldr__display(p->name, r.lang);
            uint32_t k = 0;
            while (k < nseen && !ldr_str_eq(seen[k], name.ptr, name.len))
                k++;
            if (k < nseen)
                continue;
            seen[nseen++] = name;
            ldr_buf_puts(&b, ncat + nseen > 1 ? ",{\"text\":" : "{\"text\":");
            ldr_buf_json_sv(&b, name);
            ldr_buf_puts(&b, ",\"sku\":");
            ldr_buf_json_sv(&b, p->sku);
            ldr_buf_putc(&b, '}');
        }
    }
    ldr_buf_puts(&b, "]}\n");
    ldr__store_and_send(h, req, epoch, &b, b.len, b.len, -1.0);
    ldr_buf_free(&b);
}

int ldr_route_suggest(ldr_handler_t *h, h2o_req_t *req, h2o_iovec_t arg)
{
    if (ldr_http_not_ready(h, req))
        return 0;
    uint64_t epoch = ldr__epoch(h, req);
    if (!ldr__from_cache(h, req, epoch, false)) {
        ldr_app_read_begin(h->app);
        ldr__suggest(h, req, epoch);
        ldr_app_read_end(h->app);
    }
    return 0;
}
