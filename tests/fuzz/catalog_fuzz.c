/*
 * Fuzz target for the catalog's JSON Lines loader (engine/) and the search index's queries
 * (index/) (libFuzzer: `make fuzz`).
 *
 * The first byte picks what the rest is:
 *  - even: a catalog file.  It loads into a fresh catalog; then every line is counted once
 *    (loaded + rejected = lines), every loaded SKU is found, every product renders to the import
 *    format and that text loads into a second catalog to the same products, rendered the same;
 *    and an index built over the catalog answers the first 64 bytes as a query without breaking
 *    its own rules (below).
 *  - odd: a search query over the hand-written relevance catalog (52 Vietnamese and English
 *    products): as the whole query, as its prefix of each length up to 24 bytes, with filters and
 *    sorts taken from the input; every answer is LDR_OK, holds at most per_page hits of distinct
 *    live docs, no more than its total, in price order when asked, and facet counts never exceed
 *    the total.
 *
 * tests/unit/index/catalog_corpus.c includes this file with LLVMFuzzerTestOneInput renamed and
 * LDR_FUZZ_FAIL pointed at Criterion, to replay the committed corpus in `make check`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/index/relevance_catalog.h"
#include "larder/buf.h"
#include "larder/catalog.h"
#include "larder/common.h"
#include "larder/index.h"

#define LDR_FUZZ_NAME "catalog_fuzz"
#include "fuzz.h"

/* One query's answer against the rules; q must be valid UTF-8 (the caller's duty). */
static void fz_query(ldr_searcher_t *s, const ldr_catalog_t *cat, const ldr_search_query_t *q)
{
    static ldr_search_result_t r; /* big: not on the stack */
    int rc = ldr_search(s, q, &r);
    bool window_ok = q->page >= 1 && q->per_page >= 1 && q->per_page <= LDR_SEARCH_PER_PAGE_MAX &&
                     (uint64_t)q->page * q->per_page <= LDR_SEARCH_WINDOW_MAX;
    FZ_CHECK(rc == (window_ok ? LDR_OK : LDR_EINVAL), "search: status %d", rc);
    if (rc != LDR_OK)
        return;
    FZ_CHECK(r.nhits <= q->per_page && r.nhits <= r.total, "%u hits of %u, per_page %u", r.nhits,
             r.total, q->per_page);
    for (uint32_t i = 0; i < r.nhits; i++) {
        const ldr_product_t *p = ldr_catalog_doc(cat, r.hits[i].doc);
        FZ_CHECK(p != NULL, "hit %u is doc %u, not a live product", i, r.hits[i].doc);
        for (uint32_t j = 0; j < i; j++)
            FZ_CHECK(r.hits[j].doc != r.hits[i].doc, "doc %u twice", r.hits[i].doc);
        if (i == 0)
            continue;
        const ldr_product_t *prev = ldr_catalog_doc(cat, r.hits[i - 1].doc);
        if (q->sort == LDR_SORT_PRICE_ASC)
            FZ_CHECK(prev->price <= p->price, "price_asc out of order");
        else if (q->sort == LDR_SORT_PRICE_DESC)
            FZ_CHECK(prev->price >= p->price, "price_desc out of order");
        /* (relevance orders by typo edits first, which hits do not carry: not checked here) */
    }
    const ldr_facet_t *fs[] = {&r.category, &r.brand, &r.perishable};
    for (size_t f = 0; f < 3; f++)
        for (uint32_t i = 0; i < fs[f]->n; i++)
            FZ_CHECK(fs[f]->values[i].count <= r.total, "a facet counts %u of %u",
                     fs[f]->values[i].count, r.total);
}

/* The query text of the input: its first `n` bytes, cut back to valid UTF-8. */
static size_t fz_text(const uint8_t *p, size_t n)
{
    while (n > 0 && !ldr_utf8_valid((const char *)p, n))
        n--;
    return n;
}

static void fz_catalog(const uint8_t *data, size_t size)
{
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_load_result_t res;
    FZ_CHECK(ldr_catalog_load_jsonl(cat, (const char *)data, size, NULL, NULL, &res) == LDR_OK,
             "load failed");
    FZ_CHECK(res.loaded + res.rejected == res.lines, "%llu + %llu != %llu lines",
             (unsigned long long)res.loaded, (unsigned long long)res.rejected,
             (unsigned long long)res.lines);
    FZ_CHECK(ldr_catalog_count(cat) == res.loaded, "%u products for %llu loaded lines",
             ldr_catalog_count(cat), (unsigned long long)res.loaded);
    /* render every product, load the text again: the same products */
    ldr_buf_t text = LDR_BUF_INIT, again = LDR_BUF_INIT;
    for (uint32_t d = 0; d < ldr_catalog_doc_limit(cat); d++) {
        const ldr_product_t *p = ldr_catalog_doc(cat, d);
        if (p == NULL)
            continue;
        uint32_t doc;
        FZ_CHECK(ldr_catalog_find(cat, p->sku.ptr, p->sku.len, &doc) == p && doc == d,
                 "sku %.*s not found", (int)p->sku.len, p->sku.ptr);
        ldr_catalog_product_json(cat, p, &text);
        ldr_buf_putc(&text, '\n');
    }
    ldr_catalog_t *copy = ldr_catalog_new();
    ldr_load_result_t res2;
    ldr_catalog_load_jsonl(copy, text.base != NULL ? text.base : "", text.len, NULL, NULL, &res2);
    FZ_CHECK(res2.rejected == 0 && res2.loaded == res.loaded,
             "the rendered catalog loads %llu of %llu (%llu rejected)",
             (unsigned long long)res2.loaded, (unsigned long long)res.loaded,
             (unsigned long long)res2.rejected);
    for (uint32_t d = 0; d < ldr_catalog_doc_limit(copy); d++) {
        const ldr_product_t *p = ldr_catalog_doc(copy, d);
        if (p != NULL) {
            ldr_catalog_product_json(copy, p, &again);
            ldr_buf_putc(&again, '\n');
        }
    }
    FZ_CHECK(again.len == text.len &&
                 (text.len == 0 || memcmp(again.base, text.base, text.len) == 0),
             "rendered twice, the catalog differs");
    ldr_buf_free(&text);
    ldr_buf_free(&again);
    ldr_catalog_free(copy);
    /* its index answers a query made of the input's start */
    ldr_index_t *idx = ldr_index_build(cat);
    ldr_searcher_t *s = ldr_searcher_new(idx);
    ldr_search_query_t q = LDR_SEARCH_QUERY_INIT;
    q.q = (const char *)data, q.q_len = fz_text(data, size < 64 ? size : 64);
    q.facets = LDR_FACET_CATEGORY | LDR_FACET_BRAND | LDR_FACET_PERISHABLE;
    fz_query(s, cat, &q);
    ldr_searcher_free(s);
    ldr_index_free(idx);
    ldr_catalog_free(cat);
}

static void fz_search(const uint8_t *data, size_t size)
{
    static ldr_catalog_t *cat;
    static ldr_index_t *idx;
    static ldr_searcher_t *s;
    if (cat == NULL) {
        cat = ldr_catalog_new();
        ldr_catalog_load_jsonl(cat, relevance_catalog, sizeof(relevance_catalog) - 1, NULL, NULL,
                               NULL);
        idx = ldr_index_build(cat);
        s = ldr_searcher_new(idx);
    }
    /* 4 bytes of options, then the text */
    uint8_t opt[4] = {0};
    for (size_t i = 0; i < 4 && i < size; i++)
        opt[i] = data[i];
    const uint8_t *t = size > 4 ? data + 4 : data + size;
    size_t tn = fz_text(t, size > 4 ? size - 4 : 0);
    static const char *const cats[] = {NULL, "produce", "seafood/fish", "pantry", "x"};
    static const char *const brands[] = {NULL, "Cholimex", "Simply", "nobody"};
    ldr_search_query_t q = LDR_SEARCH_QUERY_INIT;
    q.category = cats[opt[0] % 5];
    q.category_len = q.category ? strlen(q.category) : 0;
    q.brand = brands[(opt[0] / 5) % 4];
    q.brand_len = q.brand ? strlen(q.brand) : 0;
    q.perishable = (int)(opt[1] % 3) - 1;
    q.price_min = opt[1] & 0x80 ? (int64_t)opt[2] * 1000 : -1;
    q.price_max = opt[1] & 0x40 ? (int64_t)opt[3] * 2000 : -1;
    q.sort = opt[2] % 4;
    q.page = 1 + opt[3] % 4;
    q.per_page = 1 + (uint32_t)opt[2] % 30;
    q.facets = opt[1] & 0x20 ? LDR_FACET_CATEGORY | LDR_FACET_BRAND | LDR_FACET_PERISHABLE : 0;
    q.q = (const char *)t, q.q_len = tn;
    fz_query(s, cat, &q);
    /* as typed, byte by byte (search-as-you-type): every valid prefix */
    for (size_t n = 1; n <= tn && n <= 24; n++)
        if (ldr_utf8_valid((const char *)t, n)) {
            q.q_len = n;
            fz_query(s, cat, &q);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] % 2 == 0)
        fz_catalog(data + 1, size - 1);
    else
        fz_search(data + 1, size - 1);
    return 0;
}
