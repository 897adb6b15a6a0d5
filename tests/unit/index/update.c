/*
 * Incremental index updates (ldr_index_update): after products are changed, deleted, added and
 * brought back, the updated index must hold exactly what a full build of the same catalog holds —
 * the same terms with the same posting docs, the same per-doc columns and name order, the same
 * matches for queries — through several updates in a row.  Only scores may differ (BM25F's
 * average lengths stay those of the last full build).
 */
#define _GNU_SOURCE /* open_memstream */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../../index/index_internal.h"
#include "larder/gen.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static ldr_catalog_t *generated(uint32_t skus)
{
    char *buf = NULL, *sbuf = NULL;
    size_t len = 0, slen = 0;
    FILE *f = open_memstream(&buf, &len), *s = open_memstream(&sbuf, &slen);
    ldr_gen_opts_t o = {skus, 7, 1, 1764028800};
    cr_assert_eq(ldr_gen_catalog(&o, f, s), LDR_OK);
    fclose(f), fclose(s);
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_load_result_t r;
    ldr_catalog_load_jsonl(cat, buf, len, NULL, NULL, &r);
    cr_assert_eq(r.loaded, skus);
    free(buf), free(sbuf);
    return cat;
}

/* Puts `json` (a product) into the catalog. */
static void put(ldr_catalog_t *cat, const char *json)
{
    ldr_product_input_t in;
    ldr_error_t err;
    cr_assert_eq(ldr_product_parse(json, strlen(json), &in, &err), LDR_OK, "%s: %s", err.message,
                 json);
    cr_assert_eq(ldr_catalog_upsert(cat, &in, NULL), LDR_OK);
    ldr_product_input_clear(&in);
}

/* A round of changes: renamed products (words taken from others), deletions, new products,
 * deleted ones brought back, new categories and brands. */
static void mutate(ldr_catalog_t *cat, int round)
{
    uint32_t n = ldr_catalog_doc_limit(cat);
    char json[1024];
    for (int i = 0; i < 40; i++) {
        const ldr_product_t *p = ldr_catalog_doc(cat, rnd(n)), *q = ldr_catalog_doc(cat, rnd(n));
        if (p == NULL || q == NULL)
            continue;
        ldr_str_t qn = q->name[LDR_LANG_VI].ptr ? q->name[LDR_LANG_VI] : q->name[LDR_LANG_EN];
        snprintf(json, sizeof(json),
                 "{\"sku\":\"%s\",\"name\":{\"vi\":\"%.*s mới %d\"},\"category\":\"%s\","
                 "\"brand\":\"Brand %u\",\"price\":%u,\"perishable\":%s}",
                 p->sku.ptr, (int)qn.len, qn.ptr, round,
                 i % 5 == 0 ? "new/shelf"
                            : ldr_intern_str(ldr_catalog_categories(cat), q->category).ptr,
                 rnd(50), 1000 + rnd(100000), rnd(2) ? "true" : "false");
        put(cat, json);
    }
    for (int i = 0; i < 20; i++) {
        const ldr_product_t *p = ldr_catalog_doc(cat, rnd(n));
        if (p != NULL)
            ldr_catalog_delete(cat, p->sku.ptr, p->sku.len, NULL);
    }
    for (int i = 0; i < 25; i++) {
        snprintf(json, sizeof(json),
                 "{\"sku\":\"NEW-%d-%d\",\"name\":{\"en\":\"Papaya round %d item %d\",\"vi\":\"Đu "
                 "đủ %d\"},\"description\":{\"en\":\"Sweet papaya\"},\"category\":\"produce/"
                 "fruit\",\"tags\":[\"fresh\",\"t%d\"],\"price\":%d}",
                 round, i, round, i, i, i % 3, 500 + i);
        put(cat, json);
    }
    /* bring back a few deleted ones */
    for (uint32_t d = 0, back = 0; d < n && back < 5; d++) {
        const ldr_product_t *p = ldr_catalog_record(cat, d);
        if (ldr_catalog_doc(cat, d) == NULL && p != NULL) {
            ldr_buf_t b = LDR_BUF_INIT;
            ldr_catalog_product_json(cat, p, &b);
            ldr_buf_putc(&b, '\0');
            put(cat, b.base);
            ldr_buf_free(&b);
            back++;
        }
    }
}

/* The docs of the term `key` in idx, as a string; "" when absent or empty. */
static void docs_of(const ldr_index_t *idx, const char *key, size_t len, ldr_buf_t *out)
{
    ldr_buf_reset(out);
    uint32_t t = ldr__index_find(idx, key, len);
    if (t == UINT32_MAX)
        return;
    const ldr__term_t *term = &idx->terms[t];
    for (uint32_t i = 0; i < term->npostings; i++) {
        const ldr__posting_t *p = &idx->postings[term->postings_off + i];
        ldr_buf_printf(out, "%u/%u/%u ", p->doc, p->name_pos[0], p->name_pos[1]);
    }
}

static void assert_same_index(const ldr_index_t *u, const ldr_index_t *f)
{
    cr_assert_eq(u->ndocs, f->ndocs);
    cr_assert_eq(u->nlive, f->nlive);
    ldr_buf_t a = LDR_BUF_INIT, b = LDR_BUF_INIT;
    /* every term of either: the same docs and name positions */
    for (int side = 0; side < 2; side++) {
        const ldr_index_t *x = side ? u : f;
        for (uint32_t t = 0; t < x->nterms; t++) {
            const char *key = ldr__term_key(x, &x->terms[t]);
            size_t len = x->terms[t].key_len;
            docs_of(u, key, len, &a);
            docs_of(f, key, len, &b);
            cr_assert(a.len == b.len && memcmp(a.base, b.base, a.len) == 0,
                      "term \"%s\": updated [%.*s] vs built [%.*s]", key, (int)a.len, a.base,
                      (int)b.len, b.base);
        }
    }
    for (uint32_t d = 0; d < f->ndocs; d++) {
        cr_assert_eq(u->doc_flags[d], f->doc_flags[d], "doc %u flags", d);
        if (!(f->doc_flags[d] & LDR__DOC_LIVE))
            continue;
        cr_assert_eq(u->doc_category[d], f->doc_category[d], "doc %u category", d);
        cr_assert_eq(u->doc_brand[d], f->doc_brand[d], "doc %u brand", d);
        cr_assert_eq(u->doc_price[d], f->doc_price[d], "doc %u price", d);
        cr_assert_eq(u->name_rank[d], f->name_rank[d], "doc %u name rank", d);
    }
    ldr_buf_free(&a);
    ldr_buf_free(&b);
}

/* The matched docs of a query, sorted by doc, as a string. */
static void matches(const ldr_index_t *idx, const char *q, ldr_buf_t *out)
{
    ldr_searcher_t *s = ldr_searcher_new(idx);
    ldr_search_query_t sq = LDR_SEARCH_QUERY_INIT;
    sq.q = q, sq.q_len = strlen(q), sq.per_page = 100, sq.sort = LDR_SORT_NAME;
    sq.facets = LDR_FACET_CATEGORY | LDR_FACET_BRAND;
    ldr_search_result_t r;
    cr_assert_eq(ldr_search(s, &sq, &r), LDR_OK);
    ldr_buf_reset(out);
    ldr_buf_printf(out, "total %u:", r.total);
    for (uint32_t i = 0; i < r.nhits; i++)
        ldr_buf_printf(out, " %u", r.hits[i].doc);
    for (uint32_t i = 0; i < r.category.n; i++)
        ldr_buf_printf(out, " c%u=%u", r.category.values[i].id, r.category.values[i].count);
    ldr_searcher_free(s);
}

Test(index_update, matches_a_full_build_through_rounds_of_changes)
{
    ldr_catalog_t *live = generated(3000);
    ldr_catalog_t *frozen = ldr_catalog_freeze(live);
    ldr_index_t *idx = ldr_index_build(frozen);
    static const char *queries[] = {"du du", "papaya", "moi",    "ca chua", "sua",   "brand 7",
                                    "new",   "tea",    "gao",    "nuoc m",  "fresh", "",
                                    "papya", "thit",   "cà phê", "đu đủ 1", "banana"};
    for (int round = 1; round <= 4; round++) {
        mutate(live, round);
        ldr_catalog_t *next = ldr_catalog_freeze(live);
        ldr_index_t *up = ldr_index_update(idx, next);
        ldr_index_t *full = ldr_index_build(next);
        assert_same_index(up, full);
        ldr_buf_t a = LDR_BUF_INIT, b = LDR_BUF_INIT;
        for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
            matches(up, queries[i], &a);
            matches(full, queries[i], &b);
            cr_assert(a.len == b.len && memcmp(a.base, b.base, a.len) == 0,
                      "round %d, \"%s\": updated %.*s\nbuilt %.*s", round, queries[i], (int)a.len,
                      a.base, (int)b.len, b.base);
        }
        ldr_buf_free(&a);
        ldr_buf_free(&b);
        cr_assert_gt(ldr_index_changed(up), ldr_index_changed(idx));
        cr_assert_eq(ldr_index_changed(full), 0);
        ldr_index_free(full);
        /* the next round updates the update */
        const ldr_catalog_t *was = idx->cat;
        ldr_index_free(idx);
        ldr_catalog_free((ldr_catalog_t *)was);
        idx = up;
    }
    const ldr_catalog_t *was = idx->cat;
    ldr_index_free(idx);
    ldr_catalog_free((ldr_catalog_t *)was);
    ldr_catalog_free(live);
}
