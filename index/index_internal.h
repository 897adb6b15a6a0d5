/* Internal layout of the search index, shared by index.c (build) and search.c (query). */
#ifndef LARDER_INDEX_INTERNAL_H
#define LARDER_INDEX_INTERNAL_H

#include "larder/index.h"
#include "larder/text.h"

enum { LDR__F_NAME = 0, LDR__F_BRAND, LDR__F_CATEGORY, LDR__F_TAGS, LDR__F_DESC, LDR__NFIELDS };

#define LDR__NAME_LANGS 2 /* first positions are kept per name language (en, vi) */
#define LDR__NO_POS     UINT8_MAX

enum { LDR__DOC_LIVE = 1, LDR__DOC_PERISHABLE = 2 };

/*
 * One (term, doc) pair: 12 bytes.  The BM25F term-frequency part depends only on the posting and
 * the document's field lengths, so it is computed once at build time; a query multiplies it by the
 * term's idf and the match kind's weight.
 */
typedef struct ldr__posting {
    uint32_t doc;
    float tfs; /* saturated, field-weighted, length-normalised term frequency */
    uint8_t name_pos[LDR__NAME_LANGS]; /* first position in the en / vi name, or LDR__NO_POS */
    uint8_t unused[2];
} ldr__posting_t;

typedef struct ldr__term {
    uint32_t key_off, key_len; /* folded key in idx->keys */
    uint32_t npostings;
    uint32_t postings_off; /* into idx->postings */
    uint8_t exact;         /* an exact spelling (marks, tone suffix), not a folded key */
    float idf;
} ldr__term_t;

struct ldr_index {
    const ldr_catalog_t *cat;
    uint32_t ndocs; /* the catalog's doc limit at build time */
    ldr__term_t *terms;
    uint32_t nterms;
    char *keys;
    size_t keys_len;
    ldr__posting_t *postings;
    size_t npostings;
    uint32_t *sorted; /* term ids sorted by folded key, for prefix and typo scans */
    uint32_t *slots;  /* folded key → term id + 1 (open addressing) */
    uint32_t mask;
    /* per-doc columns, so filters, facets and sorts never touch product records */
    uint32_t *doc_category;
    uint32_t *doc_brand; /* LDR_NO_BRAND when none */
    int64_t *doc_price;
    uint8_t *doc_flags;   /* LDR__DOC_LIVE, LDR__DOC_PERISHABLE */
    uint32_t *name_rank;  /* per doc: rank of its display name in sort order, for sort=name */
    uint32_t *name_order; /* the live docs in that order (nlive of them) */
    uint32_t nlive;
    float avg_name, avg_desc; /* words per name and description when fully built (BM25F's b) */
    uint32_t changed;         /* docs re-indexed by updates since the last full build */
    /* per category id: the folded terms of its last path segment ("dairy/milk" → milk) */
    uint32_t *cat_leaf_off; /* ncats + 1 offsets into cat_leaf_terms */
    uint32_t *cat_leaf_terms;
    uint32_t ncats;
};

/** The term id of a folded key, or UINT32_MAX. */
uint32_t ldr__index_find(const ldr_index_t *idx, const char *key, size_t len);

static inline const char *ldr__term_key(const ldr_index_t *idx, const ldr__term_t *t)
{
    return idx->keys + t->key_off;
}

#endif
