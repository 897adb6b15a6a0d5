/*
 * larder — the product search index: an immutable inverted index over a catalog snapshot, and
 * per-thread searchers that query it.
 *
 * Build: every product's name (en, vi), brand, category path and tags and description (en, vi) are
 * split into words (include/larder/text.h).  Each folded key is a term with a posting list of
 * (doc, per-field term frequencies, first position in the name, which exact spellings occur).
 * Terms are also kept sorted for prefix and typo lookups.
 *
 * Query: each query word matches the term with its folded key, and — for the last word, while the
 * user is still typing — terms it is a prefix of; a word of 4+ characters with no such term also
 * matches terms within 1 edit (2 from 8 characters), first character kept, or any character when
 * nothing else fits.  Every word must match (AND).  Hits are ranked by typos (fewer first), then by
 * completions (a word matched whole beats a completion of it: "cá" finds Cá before Carefree), then
 * a BM25F score over the fields (name ≫ brand, category ≫ tags ≫ description) with bonuses for the
 * exact diacritic spelling, for query words adjacent in the name, and for a name that starts with
 * the first query word; with a store, out-of-stock products lose half their score (they stay in the
 * results).  Filters, facet counts, sorting and pagination apply to the matched set.
 *
 * Threads: an index is read-only once built; any number of searchers (one per thread)
 * may query it concurrently.  It refers to the catalog it was built from, which must outlive it and
 * not change while it is in use.
 */
#ifndef LARDER_INDEX_H
#define LARDER_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "larder/buf.h"
#include "larder/catalog.h"
#include "larder/stock.h"

#define LDR_QUERY_WORDS_MAX     12
#define LDR_SEARCH_PER_PAGE_MAX 100
#define LDR_SEARCH_WINDOW_MAX   10000 /* page * per_page may not exceed this */

typedef struct ldr_index ldr_index_t;
typedef struct ldr_searcher ldr_searcher_t;

enum { LDR_SORT_RELEVANCE = 0, LDR_SORT_PRICE_ASC, LDR_SORT_PRICE_DESC, LDR_SORT_NAME };
enum { LDR_FACET_CATEGORY = 1, LDR_FACET_BRAND = 2, LDR_FACET_PERISHABLE = 4 };

typedef struct ldr_search_query {
    const char *q; /* UTF-8, validated by the caller; empty or blank lists the filtered
                      products, text without any word (only symbols) matches nothing */
    size_t q_len;
    const char *category; /* path prefix ("produce" matches "produce/vegetables"), or NULL */
    size_t category_len;
    const char *brand; /* exact brand, or NULL */
    size_t brand_len;
    int perishable;               /* -1 any, 0 or 1 */
    int64_t price_min, price_max; /* inclusive; -1 when not given */
    const ldr_stock_t *stock;     /* with `store`, for availability and in_stock */
    uint32_t store;               /* store id, or UINT32_MAX for none */
    bool in_stock;                /* only products available at `store` */
    int sort;                     /* LDR_SORT_* */
    uint32_t page, per_page;      /* 1-based page; per_page 1..LDR_SEARCH_PER_PAGE_MAX */
    unsigned facets;              /* LDR_FACET_* to count */
} ldr_search_query_t;

/** A query with no text, no filters, relevance order, first page of 20. */
#define LDR_SEARCH_QUERY_INIT                                                                      \
    ((ldr_search_query_t){.q = "",                                                                 \
                          .perishable = -1,                                                        \
                          .price_min = -1,                                                         \
                          .price_max = -1,                                                         \
                          .store = UINT32_MAX,                                                     \
                          .page = 1,                                                               \
                          .per_page = 20})

typedef struct ldr_search_hit {
    uint32_t doc;
    float score;
    int64_t available; /* at the query's store, or -1 without a store */
} ldr_search_hit_t;

typedef struct ldr_facet_value {
    uint32_t id; /* category or brand id in the catalog's intern tables; 0/1 for perishable */
    uint32_t count;
} ldr_facet_value_t;

typedef struct ldr_facet {
    uint32_t n;
    const ldr_facet_value_t *values; /* by count, descending; owned by the searcher */
} ldr_facet_t;

typedef struct ldr_search_result {
    uint32_t total; /* matches after filters */
    uint32_t nhits;
    ldr_search_hit_t hits[LDR_SEARCH_PER_PAGE_MAX];
    ldr_facet_t category, brand, perishable;
} ldr_search_result_t;

/** Builds the index of every live product of `cat`.  Never fails except by aborting on OOM. */
ldr_index_t *ldr_index_build(const ldr_catalog_t *cat);
void ldr_index_free(ldr_index_t *idx);

/**
 * The index of `cat` made from `prev`, an index of an earlier state of the same catalog (a
 * frozen copy; prev's catalog must still be alive): only the docs whose product differs are
 * tokenised again, the rest of prev is copied.  Matches what ldr_index_build(cat) would match;
 * scores differ only in the average name and description lengths of BM25F, which stay those of
 * the last full build (ldr_index_changed says how many docs were re-indexed since).
 */
ldr_index_t *ldr_index_update(const ldr_index_t *prev, const ldr_catalog_t *cat);
/** Docs re-indexed by ldr_index_update() since the last full build. */
uint32_t ldr_index_changed(const ldr_index_t *idx);
/** Bytes held by the index (dictionary, postings, per-doc data). */
size_t ldr_index_memory(const ldr_index_t *idx);
/** Number of distinct folded terms. */
uint32_t ldr_index_terms(const ldr_index_t *idx);

/** A searcher owns the scratch memory of queries; one per thread. */
ldr_searcher_t *ldr_searcher_new(const ldr_index_t *idx);
void ldr_searcher_free(ldr_searcher_t *s);

/**
 * Runs a query.  Returns LDR_OK, or LDR_EINVAL for a bad page window (page < 1, per_page out of
 * range, page * per_page > LDR_SEARCH_WINDOW_MAX).  The result's facet arrays stay valid until the
 * searcher's next query.
 */
int ldr_search(ldr_searcher_t *s, const ldr_search_query_t *q, ldr_search_result_t *out);

/**
 * Appends `text` to out with the words that matched the searcher's last query wrapped in "<em>"
 * and "</em>" (raw text: the caller escapes it for its output format).  Returns the number of words
 * marked.
 */
uint32_t ldr_search_highlight(const ldr_searcher_t *s, const char *text, size_t len,
                              ldr_buf_t *out);

#endif
