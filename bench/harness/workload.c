/*
 * The workload: endpoints and their share of the traffic (the model is docs/WORKLOAD.md), queries
 * and SKUs drawn from a catalog, and each request's bytes.
 *
 * Search queries are made from the catalog's own product names, so they find something the way
 * shoppers' queries do: English words, Vietnamese words with their diacritics and without (as
 * typed on a keyboard without a Vietnamese layout), a typo in an English word, a prefix of the
 * last word as it is being typed, and a word with a filter.  Suggest queries are prefixes of
 * names, one to a few words long, cut anywhere.  The generator is seeded: the same catalog and
 * seed give the same queries.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <utf8proc.h>

#include "harness.h"
#include "larder/json.h"

const ldr_ep_info_t ldr_ep_info[LDR_EP_COUNT] = {
    [LDR_EP_SEARCH] = {"search", "GET /v1/search", 30, 500, "search", false},
    [LDR_EP_SUGGEST] = {"suggest", "GET /v1/suggest", 25, 500, "search", false},
    [LDR_EP_PRODUCT] = {"product", "GET /v1/products/{sku}", 15, 500, "storefront read", false},
    [LDR_EP_STOCK] = {"stock", "GET /v1/stock/{sku}", 10, 500, "storefront read", false},
    [LDR_EP_CART] = {"cart", "PUT /v1/cart/items/{sku}", 10, 1000, "checkout", true},
    [LDR_EP_CHECKOUT] = {"checkout", "PUT cart line + POST /v1/checkout", 1, 1000, "checkout",
                         true},
    [LDR_EP_SLOTS] = {"slots", "GET /v1/delivery/slots", 4, 500, "delivery slots", false},
    [LDR_EP_STOCK_WRITE] = {"stock_write", "POST /v1/stock/{sku}/adjust", 5, 100,
                            "inventory update", true},
};

const char *const ldr_query_kind_names[6] = {"english", "vietnamese", "vietnamese, no diacritics",
                                             "typo",    "prefix",     "filtered"};

ldr_ep_t ldr_ep_find(const char *name, size_t len)
{
    for (int e = 0; e < LDR_EP_COUNT; e++)
        if (strlen(ldr_ep_info[e].name) == len && memcmp(ldr_ep_info[e].name, name, len) == 0)
            return (ldr_ep_t)e;
    return LDR_EP_COUNT;
}

int ldr_mix_parse(const char *s, double weights[LDR_EP_COUNT], char *err, size_t errsize)
{
    double w[LDR_EP_COUNT] = {0};
    double sum = 0;
    const char *p = s;
    while (*p != '\0') {
        const char *end = strchr(p, ','), *eq = strchr(p, '=');
        if (end == NULL)
            end = p + strlen(p);
        if (eq == NULL || eq > end) {
            snprintf(err, errsize, "--mix: \"%.*s\" is not NAME=WEIGHT", (int)(end - p), p);
            return LDR_EINVAL;
        }
        ldr_ep_t e = ldr_ep_find(p, (size_t)(eq - p));
        if (e == LDR_EP_COUNT) {
            snprintf(err, errsize, "--mix: unknown endpoint \"%.*s\" (see --help)", (int)(eq - p),
                     p);
            return LDR_EINVAL;
        }
        char num[32], *numend;
        size_t nlen = (size_t)(end - eq - 1);
        if (nlen == 0 || nlen >= sizeof(num)) {
            snprintf(err, errsize, "--mix: bad weight for %s", ldr_ep_info[e].name);
            return LDR_EINVAL;
        }
        memcpy(num, eq + 1, nlen);
        num[nlen] = '\0';
        double v = strtod(num, &numend);
        if (*numend != '\0' || !(v >= 0) || v > 1e9) {
            snprintf(err, errsize, "--mix: weight \"%s\" of %s is not a number >= 0", num,
                     ldr_ep_info[e].name);
            return LDR_EINVAL;
        }
        w[e] = v;
        sum += v;
        p = *end == ',' ? end + 1 : end;
    }
    if (!(sum > 0)) {
        snprintf(err, errsize, "--mix: the weights add up to nothing");
        return LDR_EINVAL;
    }
    memcpy(weights, w, sizeof(w));
    return LDR_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Text helpers                                                                                */

/* utf8proc_map with the given options; malloc'ed, or a copy when utf8proc refuses. */
static char *ldr__map(const char *s, utf8proc_option_t opts)
{
    utf8proc_uint8_t *out = NULL;
    if (utf8proc_map((const utf8proc_uint8_t *)s, 0, &out, UTF8PROC_NULLTERM | opts) < 0)
        return ldr_strndup(s, strlen(s));
    return (char *)out;
}

/* Lower case, diacritics kept. */
static char *ldr__lower(const char *s)
{
    return ldr__map(s, UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
}

/* Lower case without diacritics (đ becomes d), as typed without a Vietnamese keyboard. */
static char *ldr__fold(const char *s)
{
    char *m = ldr__map(s, UTF8PROC_DECOMPOSE | UTF8PROC_STRIPMARK | UTF8PROC_CASEFOLD);
    /* U+0111 đ (0xC4 0x91) has no decomposition: fold it by hand */
    char *r = m, *w = m;
    while (*r != '\0') {
        if ((unsigned char)r[0] == 0xC4 &&
            ((unsigned char)r[1] == 0x91 || (unsigned char)r[1] == 0x90)) {
            *w++ = 'd';
            r += 2;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return m;
}

/* The first n words of s that hold a letter and no digit, joined by one space, into out. */
static void ldr__words(const char *s, int n, ldr_buf_t *out)
{
    ldr_buf_reset(out);
    const char *p = s;
    int taken = 0;
    while (*p != '\0' && taken < n) {
        while (*p == ' ')
            p++;
        const char *q = p;
        bool digit = false, alpha = false;
        while (*q != '\0' && *q != ' ') {
            if (isdigit((unsigned char)*q))
                digit = true;
            else if (isalpha((unsigned char)*q) || (unsigned char)*q >= 0x80)
                alpha = true;
            q++;
        }
        if (q > p && alpha && !digit && !(q - p == 1 && !((unsigned char)*p >= 0x80)) &&
            !(q - p == 1 && *p == '&')) {
            if (taken > 0)
                ldr_buf_putc(out, ' ');
            ldr_buf_append(out, p, (size_t)(q - p));
            taken++;
        }
        p = q;
    }
    ldr_buf_putc(out, '\0');
    out->len--;
}

/* Appends s URL-encoded as a query value (space as '+'). */
static void ldr__urlenc(ldr_buf_t *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~')
            ldr_buf_putc(b, (char)c);
        else if (c == ' ')
            ldr_buf_putc(b, '+');
        else
            ldr_buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
    }
}

static bool ldr__ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

typedef struct ldr__product {
    char *sku, *en, *vi, *category, *brand;
} ldr__product_t;

static char *ldr__dup_field(const ldr_json_t *doc, uint32_t obj, const char *key,
                            ldr_buf_t *scratch)
{
    uint32_t t = ldr_json_get(doc, obj, key, strlen(key));
    ldr_str_t v;
    if (t == LDR_JSON_NONE || ldr_json_str(doc, t, scratch, &v) != LDR_OK || v.len == 0)
        return NULL;
    return ldr_strndup(v.ptr, v.len);
}

/* ------------------------------------------------------------------------------------------ */

static void ldr__add(char ***arr, size_t *n, size_t *cap, char *s)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        *arr = ldr_realloc(*arr, *cap * sizeof(char *));
    }
    (*arr)[(*n)++] = s;
}

/* One search query of kind k about product p into q (the value of q=, not encoded). */
static bool ldr__query(const ldr__product_t *p, int k, uint64_t *rng, ldr_buf_t *q,
                       ldr_buf_t *extra, ldr_buf_t *tmp)
{
    ldr_buf_reset(extra);
    char *low = NULL;
    switch (k) {
    case 0: /* English words */
    case 5: /* and a filter */
        if (p->en == NULL)
            return false;
        low = ldr__lower(p->en);
        ldr__words(low, k == 5 ? 1 : 1 + (int)(ldr_rng_next(rng) % 2), q);
        if (k == 5) {
            uint64_t f = ldr_rng_next(rng) % 3;
            const char *slash = strchr(p->category, '/');
            size_t clen = slash ? (size_t)(slash - p->category) : strlen(p->category);
            if (f == 0 || p->brand == NULL) {
                ldr_buf_puts(extra, "&category=");
                ldr__urlenc(extra, p->category, clen);
            } else if (f == 1) {
                ldr_buf_puts(extra, "&brand=");
                ldr__urlenc(extra, p->brand, strlen(p->brand));
            } else {
                ldr_buf_puts(extra, "&in_stock=true&store=default&sort=price_asc");
            }
        }
        break;
    case 1: /* Vietnamese with diacritics */
    case 2: /* without */
    case 4: /* a prefix of the next word as typed, without diacritics */
        if (p->vi == NULL)
            return false;
        low = k == 1 ? ldr__lower(p->vi) : ldr__fold(p->vi);
        ldr__words(low, k == 4 ? 2 : 2 + (int)(ldr_rng_next(rng) % 2), q);
        if (k == 4) {
            char *sp = strrchr(q->base, ' ');
            if (sp == NULL)
                break;
            size_t keep = 1 + ldr_rng_next(rng) % 3, have = strlen(sp + 1);
            while (keep < have && ((unsigned char)sp[1 + keep] & 0xC0) == 0x80)
                keep++; /* never inside a character */
            if (keep < have)
                q->len = (size_t)(sp + 1 - q->base) + keep;
            q->base[q->len] = '\0';
        }
        break;
    case 3: { /* a typo in an English word of five letters or more */
        if (p->en == NULL)
            return false;
        low = ldr__lower(p->en);
        ldr__words(low, 3, tmp);
        char *best = NULL;
        size_t blen = 0;
        for (char *w = strtok(tmp->base, " "); w != NULL; w = strtok(NULL, " "))
            if (strlen(w) >= 5 && ldr__ascii(w)) {
                best = w;
                blen = strlen(w);
                break;
            }
        if (best == NULL) {
            free(low);
            return false;
        }
        ldr_buf_reset(q);
        size_t at = 1 + ldr_rng_next(rng) % (blen - 2);
        switch (ldr_rng_next(rng) % 3) {
        case 0: /* two letters swapped */
            ldr_buf_append(q, best, at);
            ldr_buf_putc(q, best[at + 1]);
            ldr_buf_putc(q, best[at]);
            ldr_buf_append(q, best + at + 2, blen - at - 2);
            break;
        case 1: /* a letter left out */
            ldr_buf_append(q, best, at);
            ldr_buf_append(q, best + at + 1, blen - at - 1);
            break;
        default: /* a letter doubled */
            ldr_buf_append(q, best, at + 1);
            ldr_buf_append(q, best + at, blen - at);
        }
        ldr_buf_putc(q, '\0');
        q->len--;
        break;
    }
    }
    free(low);
    return q->len > 0 && ldr_utf8_valid(q->base, q->len);
}

int ldr_workload_init(ldr_workload_t *w, const char *catalog, size_t len, uint64_t seed,
                      size_t nqueries, char *err, size_t errsize)
{
    memset(w, 0, sizeof(*w));
    snprintf(w->store, sizeof(w->store), "default");
    ldr__product_t *prods = NULL;
    size_t nprods = 0, pcap = 0;
    ldr_json_tok_t *toks = NULL;
    size_t tcap = 0;
    ldr_buf_t scratch = LDR_BUF_INIT;
    const char *p = catalog, *end = catalog + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (ll > 0 && ll < 1u << 24) {
            if (tcap < ll + 2) {
                tcap = ll + 2;
                toks = ldr_realloc(toks, tcap * sizeof(*toks));
            }
            ldr_json_t doc;
            ldr_json_err_t jerr;
            ldr_buf_reset(&scratch);
            ldr_buf_reserve(&scratch, ll + 1);
            if (ldr_json_parse(&doc, p, ll, toks, (uint32_t)tcap, &jerr) == LDR_OK &&
                ldr_json_type(&doc, 0) == LDR_JSON_OBJECT) {
                ldr__product_t pr = {0};
                pr.sku = ldr__dup_field(&doc, 0, "sku", &scratch);
                uint32_t name = ldr_json_get(&doc, 0, "name", 4);
                if (name != LDR_JSON_NONE) {
                    pr.en = ldr__dup_field(&doc, name, "en", &scratch);
                    pr.vi = ldr__dup_field(&doc, name, "vi", &scratch);
                }
                pr.category = ldr__dup_field(&doc, 0, "category", &scratch);
                pr.brand = ldr__dup_field(&doc, 0, "brand", &scratch);
                if (pr.sku != NULL && pr.category != NULL && (pr.en != NULL || pr.vi != NULL)) {
                    if (nprods == pcap) {
                        pcap = pcap ? 2 * pcap : 1024;
                        prods = ldr_realloc(prods, pcap * sizeof(*prods));
                    }
                    prods[nprods++] = pr;
                } else {
                    free(pr.sku);
                    free(pr.en);
                    free(pr.vi);
                    free(pr.category);
                    free(pr.brand);
                }
            }
        }
        p += ll + 1;
    }
    ldr_free(toks);
    if (nprods == 0) {
        snprintf(err, errsize, "the catalog has no product with a sku, a name and a category");
        ldr_buf_free(&scratch);
        return LDR_EINVAL;
    }
    uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 1;
    ldr_buf_t q = LDR_BUF_INIT, extra = LDR_BUF_INIT, tmp = LDR_BUF_INIT, out = LDR_BUF_INIT;
    static const int kind_weight[6] = {25, 20, 20, 10, 10, 15};
    size_t qcap = 0, gcap = 0;
    for (size_t tries = 0; w->nsearch < nqueries && tries < 20 * nqueries; tries++) {
        const ldr__product_t *pr = &prods[ldr_rng_next(&rng) % nprods];
        int r = (int)(ldr_rng_next(&rng) % 100), k = 0;
        while (r >= kind_weight[k]) {
            r -= kind_weight[k];
            k++;
        }
        if (!ldr__query(pr, k, &rng, &q, &extra, &tmp))
            continue;
        ldr_buf_reset(&out);
        ldr_buf_puts(&out, "q=");
        ldr__urlenc(&out, q.base, q.len);
        ldr_buf_append(&out, extra.base, extra.len);
        ldr_buf_puts(&out, "&per_page=20");
        ldr__add(&w->search, &w->nsearch, &qcap, ldr_strndup(out.base, out.len));
        w->query_kinds[k]++;
    }
    for (size_t tries = 0; w->nsuggest < nqueries && tries < 20 * nqueries; tries++) {
        const ldr__product_t *pr = &prods[ldr_rng_next(&rng) % nprods];
        uint64_t how = ldr_rng_next(&rng) % 3;
        const char *src = how == 0 ? pr->en : pr->vi;
        if (src == NULL)
            continue;
        char *t = how == 2 ? ldr__fold(src) : ldr__lower(src);
        size_t tl = strlen(t), cut = 2 + ldr_rng_next(&rng) % 12;
        if (cut > tl)
            cut = tl;
        while (cut < tl && ((unsigned char)t[cut] & 0xC0) == 0x80)
            cut++; /* never inside a character */
        while (cut > 0 && t[cut - 1] == ' ')
            cut--;
        if (cut > 0) {
            ldr_buf_reset(&out);
            ldr_buf_puts(&out, "q=");
            ldr__urlenc(&out, t, cut);
            ldr_buf_puts(&out, "&limit=8");
            ldr__add(&w->suggest, &w->nsuggest, &gcap, ldr_strndup(out.base, out.len));
        }
        free(t);
    }
    size_t kcap = 0;
    for (size_t i = 0; i < nprods; i++) {
        ldr__add(&w->skus, &w->nskus, &kcap, prods[i].sku);
        free(prods[i].en);
        free(prods[i].vi);
        free(prods[i].category);
        free(prods[i].brand);
    }
    free(prods);
    w->ncheckout = w->nskus < 64 ? w->nskus : 64;
    for (size_t i = 0; i < w->ncheckout; i++)
        w->checkout_skus[i] = w->skus[(i * 7919) % w->nskus];
    ldr_buf_free(&q);
    ldr_buf_free(&extra);
    ldr_buf_free(&tmp);
    ldr_buf_free(&out);
    ldr_buf_free(&scratch);
    if (w->nsearch == 0 || w->nsuggest == 0) {
        snprintf(err, errsize, "no query could be made from the catalog's names");
        ldr_workload_free(w);
        return LDR_EINVAL;
    }
    snprintf(w->run_id, sizeof(w->run_id), "%lx%x", (unsigned long)time(NULL), (unsigned)getpid());
    return LDR_OK;
}

void ldr_workload_free(ldr_workload_t *w)
{
    for (size_t i = 0; i < w->nskus; i++)
        free(w->skus[i]);
    for (size_t i = 0; i < w->nsearch; i++)
        free(w->search[i]);
    for (size_t i = 0; i < w->nsuggest; i++)
        free(w->suggest[i]);
    free(w->skus);
    free(w->search);
    free(w->suggest);
    free(w->service_token);
    if (w->auth != NULL)
        ldr_auth_free(w->auth);
    memset(w, 0, sizeof(*w));
}

uint32_t ldr_workload_steps(ldr_ep_t ep)
{
    return ep == LDR_EP_CHECKOUT ? 2 : 1;
}

static void ldr__head(ldr_buf_t *b, const char *method, const ldr_workload_t *w)
{
    ldr_buf_reset(b);
    ldr_buf_puts(b, method);
    ldr_buf_putc(b, ' ');
    (void)w;
}

static void ldr__finish(ldr_buf_t *b, const ldr_workload_t *w, const char *token, const char *key,
                        const char *body)
{
    ldr_buf_printf(b, " HTTP/1.1\r\nHost: %s\r\nUser-Agent: larder-bench\r\n", w->host);
    if (token != NULL)
        ldr_buf_printf(b, "Authorization: Bearer %s\r\n", token);
    if (key != NULL)
        ldr_buf_printf(b, "Idempotency-Key: %s\r\n", key);
    if (body != NULL)
        ldr_buf_printf(b, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                       strlen(body), body);
    else
        ldr_buf_puts(b, "\r\n");
}

static int ldr__mint(const ldr_workload_t *w, ldr_role_t role, const char *sub, char *out,
                     size_t size)
{
    if (w->auth == NULL)
        return LDR_EAUTH;
    ldr_buf_t b = LDR_BUF_INIT;
    int rc = ldr_token_mint(w->auth, role, sub, (int64_t)time(NULL), w->token_ttl, &b);
    if (rc == LDR_OK && b.len < size) {
        memcpy(out, b.base, b.len);
        out[b.len] = '\0';
    } else if (rc == LDR_OK) {
        rc = LDR_ERANGE;
    }
    ldr_buf_free(&b);
    return rc;
}

int ldr_workload_request(const ldr_workload_t *w, const ldr_load_req_t *req, ldr_txn_t *txn,
                         uint32_t thread, uint64_t *rng, ldr_buf_t *out)
{
    const char *sku = w->skus[ldr_rng_next(rng) % w->nskus];
    char body[256], sub[128];
    switch ((ldr_ep_t)req->ep) {
    case LDR_EP_SEARCH:
        ldr__head(out, "GET", w);
        ldr_buf_printf(out, "/v1/search?%s", w->search[ldr_rng_next(rng) % w->nsearch]);
        ldr__finish(out, w, NULL, NULL, NULL);
        break;
    case LDR_EP_SUGGEST:
        ldr__head(out, "GET", w);
        ldr_buf_printf(out, "/v1/suggest?%s", w->suggest[ldr_rng_next(rng) % w->nsuggest]);
        ldr__finish(out, w, NULL, NULL, NULL);
        break;
    case LDR_EP_PRODUCT:
        ldr__head(out, "GET", w);
        ldr_buf_printf(out, "/v1/products/%s", sku);
        ldr__finish(out, w, NULL, NULL, NULL);
        break;
    case LDR_EP_STOCK:
        ldr__head(out, "GET", w);
        ldr_buf_printf(out, "/v1/stock/%s?store=%s", sku, w->store);
        ldr__finish(out, w, NULL, NULL, NULL);
        break;
    case LDR_EP_CART: {
        /* a shopper of a pool of 256 per thread edits one of 8 lines: carts stay small */
        uint64_t shopper = ldr_rng_next(rng) % 256;
        snprintf(sub, sizeof(sub), "bench-%s-t%u-s%u", w->run_id, thread, (unsigned)shopper);
        int rc = ldr__mint(w, LDR_ROLE_CUSTOMER, sub, txn->token, sizeof(txn->token));
        if (rc != LDR_OK)
            return rc;
        sku = w->skus[(shopper * 131 + ldr_rng_next(rng) % 8) % w->nskus];
        ldr__head(out, "PUT", w);
        ldr_buf_printf(out, "/v1/cart/items/%s", sku);
        snprintf(body, sizeof(body), "{\"quantity\":%u,\"substitution_allowed\":true}",
                 1 + (unsigned)(ldr_rng_next(rng) % 3));
        ldr__finish(out, w, txn->token, NULL, body);
        break;
    }
    case LDR_EP_CHECKOUT:
        if (txn->step == 0) {
            /* a new customer per checkout: two never share a cart */
            snprintf(sub, sizeof(sub), "bench-%s-t%u-c%u", w->run_id, thread, req->seq);
            int rc = ldr__mint(w, LDR_ROLE_CUSTOMER, sub, txn->token, sizeof(txn->token));
            if (rc != LDR_OK)
                return rc;
            snprintf(txn->key, sizeof(txn->key), "bench-%s-t%u-%u", w->run_id, thread, req->seq);
            txn->sku = w->checkout_skus[ldr_rng_next(rng) % w->ncheckout];
            ldr__head(out, "PUT", w);
            ldr_buf_printf(out, "/v1/cart/items/%s", txn->sku);
            ldr__finish(out, w, txn->token, NULL, "{\"quantity\":1}");
        } else {
            ldr__head(out, "POST", w);
            ldr_buf_puts(out, "/v1/checkout");
            snprintf(body, sizeof(body),
                     "{\"store\":\"%s\",\"fulfillment\":{\"type\":\"pickup\"},"
                     "\"payment\":{\"provider\":\"fake\",\"token\":\"fake_ok\"}}",
                     w->store);
            ldr__finish(out, w, txn->token, txn->key, body);
        }
        break;
    case LDR_EP_SLOTS: {
        /* today or one of the next six days, Vietnam time (UTC+7) */
        time_t day = time(NULL) + 7 * 3600 + (time_t)(ldr_rng_next(rng) % 7) * 86400;
        struct tm tm;
        gmtime_r(&day, &tm);
        ldr__head(out, "GET", w);
        ldr_buf_printf(out, "/v1/delivery/slots?store=%s&date=%04d-%02d-%02d", w->store,
                       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        ldr__finish(out, w, NULL, NULL, NULL);
        break;
    }
    case LDR_EP_STOCK_WRITE:
        if (w->service_token == NULL)
            return LDR_EAUTH;
        ldr__head(out, "POST", w);
        ldr_buf_printf(out, "/v1/stock/%s/adjust", sku);
        snprintf(body, sizeof(body), "{\"store\":\"%s\",\"delta\":1,\"reason\":\"bench\"}",
                 w->store);
        ldr__finish(out, w, w->service_token, NULL, body);
        break;
    default:
        return LDR_EINVAL;
    }
    return LDR_OK;
}
