/*
 * Building the search index.
 *
 * One pass over the catalog turns every field into words; the words of one document are merged
 * into at most one posting per term (per-field counts, first name position, exact-spelling bits),
 * appended to a flat array in doc order.  A counting sort by term then lays each term's postings
 * out contiguously, still in doc order — the order the query side merges in.  The dictionary is an
 * open-addressing table of term ids keyed by XXH3 of the folded key; a second array holds the ids
 * sorted by key, so a prefix is a binary-searched range and typo candidates share a first byte.
 */
#define _GNU_SOURCE /* qsort_r */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "index_internal.h"
#include "larder/intern.h"

#define LDR__DOC_TERMS_MAX 512

/* BM25F: field weights (name >> brand, category >> tags >> description), k1 and b */
static const float ldr__field_weight[LDR__NFIELDS] = {8.0f, 4.0f, 3.0f, 2.0f, 1.0f};
static const float ldr__k1 = 1.2f, ldr__b = 0.75f;

/* A posting while the index is built: raw per-field counts. */
typedef struct ldr__bposting {
    uint32_t doc;
    uint8_t tf[LDR__NFIELDS]; /* saturating counts per field */
    uint8_t name_pos[LDR__NAME_LANGS];
} ldr__bposting_t;

typedef struct ldr__build {
    ldr_index_t *idx;
    uint32_t capterms;
    size_t capkeys;
    /* (term, posting) pairs in doc order */
    uint32_t *pair_term;
    ldr__bposting_t *pairs;
    uint16_t *name_len, *desc_len; /* words per doc in the name (en + vi) and description */
    size_t npairs, cappairs;
    /* the document being indexed */
    uint32_t doc;
    int field;
    int lang; /* of the name being indexed */
    uint32_t dterm[LDR__DOC_TERMS_MAX];
    ldr__bposting_t dpost[LDR__DOC_TERMS_MAX];
    uint32_t ndterms;
    uint32_t words; /* words in the current field */
} ldr__build_t;

static uint32_t ldr__key_add(ldr__build_t *b, const char *s, size_t len)
{
    ldr_index_t *idx = b->idx;
    if (idx->keys_len + len + 1 > b->capkeys) {
        b->capkeys = (b->capkeys ? b->capkeys * 2 : 1 << 20) + len;
        idx->keys = ldr_realloc(idx->keys, b->capkeys);
    }
    uint32_t off = (uint32_t)idx->keys_len;
    memcpy(idx->keys + off, s, len);
    idx->keys[off + len] = '\0';
    idx->keys_len += len + 1;
    return off;
}

static uint32_t *ldr__slot(const ldr_index_t *idx, const char *key, size_t len)
{
    for (uint32_t i = (uint32_t)ldr_hash(key, len) & idx->mask;; i = (i + 1) & idx->mask) {
        uint32_t t = idx->slots[i];
        if (t == 0)
            return &idx->slots[i];
        const ldr__term_t *term = &idx->terms[t - 1];
        if (term->key_len == len && memcmp(ldr__term_key(idx, term), key, len) == 0)
            return &idx->slots[i];
    }
}

uint32_t ldr__index_find(const ldr_index_t *idx, const char *key, size_t len)
{
    uint32_t t = *ldr__slot(idx, key, len);
    return t == 0 ? UINT32_MAX : t - 1;
}

static void ldr__rehash(ldr_index_t *idx, uint32_t size)
{
    ldr_free(idx->slots);
    idx->slots = ldr_calloc(size, sizeof(*idx->slots));
    idx->mask = size - 1;
    for (uint32_t t = 0; t < idx->nterms; t++) {
        const ldr__term_t *term = &idx->terms[t];
        *ldr__slot(idx, ldr__term_key(idx, term), term->key_len) = t + 1;
    }
}

static uint32_t ldr__term_put(ldr__build_t *b, const char *key, size_t len)
{
    ldr_index_t *idx = b->idx;
    uint32_t *slot = ldr__slot(idx, key, len);
    if (*slot != 0)
        return *slot - 1;
    if (idx->nterms == b->capterms) {
        b->capterms *= 2;
        idx->terms = ldr_realloc(idx->terms, b->capterms * sizeof(*idx->terms));
    }
    uint32_t t = idx->nterms++;
    ldr__term_t *term = &idx->terms[t];
    memset(term, 0, sizeof(*term));
    term->key_off = ldr__key_add(b, key, len);
    term->key_len = (uint32_t)len;
    if ((idx->nterms) * 2 > idx->mask + 1)
        ldr__rehash(idx, (idx->mask + 1) * 2);
    else
        *slot = t + 1;
    return t;
}

/* Counts one occurrence of term t in the current document. */
static void ldr__count(ldr__build_t *b, uint32_t t, const ldr_word_t *w)
{
    uint32_t i = 0;
    while (i < b->ndterms && b->dterm[i] != t)
        i++;
    if (i == b->ndterms) {
        if (b->ndterms == LDR__DOC_TERMS_MAX)
            return; /* a pathological document: keep its first terms */
        b->ndterms++;
        b->dterm[i] = t;
        memset(&b->dpost[i], 0, sizeof(b->dpost[i]));
        b->dpost[i].doc = b->doc;
        b->dpost[i].name_pos[0] = b->dpost[i].name_pos[1] = LDR__NO_POS;
    }
    ldr__bposting_t *p = &b->dpost[i];
    if (p->tf[b->field] < UINT8_MAX)
        p->tf[b->field]++;
    if (b->field == LDR__F_NAME && p->name_pos[b->lang] == LDR__NO_POS)
        p->name_pos[b->lang] = (uint8_t)(w->position < LDR__NO_POS ? w->position : LDR__NO_POS - 1);
}

/*
 * Every word counts for its folded term; a word written with marks also counts for its exact
 * spelling, a term of its own (flagged `exact`, never offered as a completion or typo), so that
 * "Bơ lạt bò" holds one "bò" at position 2, not two "bo" starting at 0.
 */
static int ldr__on_word(void *ctx, const ldr_word_t *w)
{
    ldr__build_t *b = ctx;
    ldr__count(b, ldr__term_put(b, w->folded, w->folded_len), w);
    if (w->exact_len != w->folded_len || memcmp(w->exact, w->folded, w->folded_len) != 0) {
        uint32_t t = ldr__term_put(b, w->exact, w->exact_len);
        b->idx->terms[t].exact = 1;
        ldr__count(b, t, w);
    }
    b->words++;
    return 0;
}

static uint32_t ldr__field(ldr__build_t *b, int field, int lang, ldr_str_t s)
{
    if (s.ptr == NULL)
        return 0;
    b->field = field;
    b->lang = lang;
    b->words = 0;
    ldr_text_words(s.ptr, s.len, ldr__on_word, b);
    return b->words;
}

static void ldr__index_doc(ldr__build_t *b, const ldr_catalog_t *cat, uint32_t doc,
                           const ldr_product_t *p)
{
    ldr_index_t *idx = b->idx;
    b->doc = doc;
    b->ndterms = 0;
    uint32_t name = ldr__field(b, LDR__F_NAME, LDR_LANG_EN, p->name[LDR_LANG_EN]) +
                    ldr__field(b, LDR__F_NAME, LDR_LANG_VI, p->name[LDR_LANG_VI]);
    if (p->brand != LDR_NO_BRAND)
        ldr__field(b, LDR__F_BRAND, 0, ldr_intern_str(ldr_catalog_brands(cat), p->brand));
    ldr__field(b, LDR__F_CATEGORY, 0, ldr_intern_str(ldr_catalog_categories(cat), p->category));
    for (uint16_t i = 0; i < p->ntags; i++)
        ldr__field(b, LDR__F_TAGS, 0, ldr_intern_str(ldr_catalog_tags(cat), p->tags[i]));
    uint32_t desc = ldr__field(b, LDR__F_DESC, 0, p->description[LDR_LANG_EN]) +
                    ldr__field(b, LDR__F_DESC, 0, p->description[LDR_LANG_VI]);
    b->name_len[doc] = (uint16_t)(name < UINT16_MAX ? name : UINT16_MAX);
    b->desc_len[doc] = (uint16_t)(desc < UINT16_MAX ? desc : UINT16_MAX);
    idx->doc_category[doc] = p->category;
    idx->doc_brand[doc] = p->brand;
    idx->doc_price[doc] = p->price;
    idx->doc_flags[doc] = (uint8_t)(LDR__DOC_LIVE | (p->perishable ? LDR__DOC_PERISHABLE : 0));
    if (b->npairs + b->ndterms > b->cappairs) {
        b->cappairs = b->cappairs * 2 + b->ndterms;
        b->pairs = ldr_realloc(b->pairs, b->cappairs * sizeof(*b->pairs));
        b->pair_term = ldr_realloc(b->pair_term, b->cappairs * sizeof(*b->pair_term));
    }
    memcpy(b->pairs + b->npairs, b->dpost, b->ndterms * sizeof(*b->pairs));
    memcpy(b->pair_term + b->npairs, b->dterm, b->ndterms * sizeof(*b->pair_term));
    b->npairs += b->ndterms;
}

typedef struct ldr__leaf {
    ldr_index_t *idx;
    uint32_t n, cap;
} ldr__leaf_t;

static int ldr__on_leaf_word(void *ctx, const ldr_word_t *w)
{
    ldr__leaf_t *l = ctx;
    uint32_t t = ldr__index_find(l->idx, w->folded, w->folded_len);
    if (t == UINT32_MAX)
        return 0;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->idx->cat_leaf_terms =
            ldr_realloc(l->idx->cat_leaf_terms, l->cap * sizeof(*l->idx->cat_leaf_terms));
    }
    l->idx->cat_leaf_terms[l->n++] = t;
    return 0;
}

/* The words of each category's last segment, so a query naming the category can favour it. */
static void ldr__category_leaves(ldr_index_t *idx, const ldr_catalog_t *cat)
{
    const ldr_intern_t *cats = ldr_catalog_categories(cat);
    ldr__leaf_t l = {idx, 0, 0};
    idx->ncats = ldr_intern_count(cats);
    idx->cat_leaf_off = ldr_calloc(idx->ncats + 1, sizeof(*idx->cat_leaf_off));
    for (uint32_t c = 0; c < idx->ncats; c++) {
        ldr_str_t path = ldr_intern_str(cats, c);
        const char *slash = memrchr(path.ptr, '/', path.len);
        const char *leaf = slash ? slash + 1 : path.ptr;
        idx->cat_leaf_off[c] = l.n;
        ldr_text_words(leaf, (size_t)(path.ptr + path.len - leaf), ldr__on_leaf_word, &l);
    }
    idx->cat_leaf_off[idx->ncats] = l.n;
}

static int ldr__cmp_terms(const void *a, const void *b, void *arg)
{
    const ldr_index_t *idx = arg;
    const ldr__term_t *x = &idx->terms[*(const uint32_t *)a],
                      *y = &idx->terms[*(const uint32_t *)b];
    return strcmp(ldr__term_key(idx, x), ldr__term_key(idx, y));
}

static ldr_str_t ldr__display_name(const ldr_product_t *p)
{
    return p->name[LDR_LANG_EN].ptr ? p->name[LDR_LANG_EN] : p->name[LDR_LANG_VI];
}

static int ldr__cmp_names(const void *a, const void *b, void *arg)
{
    const ldr_catalog_t *cat = arg;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    const ldr_product_t *px = ldr_catalog_doc(cat, x), *py = ldr_catalog_doc(cat, y);
    int c = strcasecmp(ldr__display_name(px).ptr, ldr__display_name(py).ptr);
    return c != 0 ? c : (x > y) - (x < y);
}

/* A posting's stored form: the field-weighted, length-normalised, saturated tf. */
static ldr__posting_t ldr__posting(const ldr__bposting_t *bp, uint16_t name_len, uint16_t desc_len,
                                   float avg_name, float avg_desc)
{
    float name_norm = 1.0f - ldr__b + ldr__b * (float)name_len / avg_name;
    float desc_norm = 1.0f - ldr__b + ldr__b * (float)desc_len / avg_desc;
    float tf = ldr__field_weight[LDR__F_NAME] * bp->tf[LDR__F_NAME] / name_norm +
               ldr__field_weight[LDR__F_BRAND] * bp->tf[LDR__F_BRAND] +
               ldr__field_weight[LDR__F_CATEGORY] * bp->tf[LDR__F_CATEGORY] +
               ldr__field_weight[LDR__F_TAGS] * bp->tf[LDR__F_TAGS] +
               ldr__field_weight[LDR__F_DESC] * bp->tf[LDR__F_DESC] / desc_norm;
    return (ldr__posting_t){bp->doc,
                            tf * (ldr__k1 + 1.0f) / (tf + ldr__k1),
                            {bp->name_pos[0], bp->name_pos[1]},
                            {0, 0}};
}

static void ldr__build_free(ldr__build_t *b)
{
    ldr_free(b->pairs);
    ldr_free(b->pair_term);
    ldr_free(b->name_len);
    ldr_free(b->desc_len);
    ldr_free(b);
}

/* What every build ends with: idf, the sorted dictionary, category leaves, name ranks. */
static void ldr__finish(ldr_index_t *idx, const ldr_catalog_t *cat)
{
    for (uint32_t t = 0; t < idx->nterms; t++) {
        double df = idx->terms[t].npostings;
        idx->terms[t].idf = (float)log(1.0 + ((double)idx->nlive - df + 0.5) / (df + 0.5));
    }
    idx->sorted = ldr_malloc((idx->nterms + 1) * sizeof(*idx->sorted));
    for (uint32_t t = 0; t < idx->nterms; t++)
        idx->sorted[t] = t;
    qsort_r(idx->sorted, idx->nterms, sizeof(*idx->sorted), ldr__cmp_terms, idx);
    ldr__category_leaves(idx, cat);
    idx->name_rank = ldr_calloc(idx->ndocs + 1, sizeof(*idx->name_rank));
    for (uint32_t i = 0; i < idx->nlive; i++)
        idx->name_rank[idx->name_order[i]] = i;
}

ldr_index_t *ldr_index_build(const ldr_catalog_t *cat)
{
    ldr_index_t *idx = ldr_calloc(1, sizeof(*idx));
    ldr__build_t *b = ldr_calloc(1, sizeof(*b));
    idx->cat = cat;
    idx->ndocs = ldr_catalog_doc_limit(cat);
    b->idx = idx;
    b->capterms = 1024;
    idx->terms = ldr_malloc(b->capterms * sizeof(*idx->terms));
    ldr__rehash(idx, 2048);
    b->name_len = ldr_calloc(idx->ndocs + 1, sizeof(*b->name_len));
    b->desc_len = ldr_calloc(idx->ndocs + 1, sizeof(*b->desc_len));
    idx->doc_category = ldr_calloc(idx->ndocs + 1, sizeof(*idx->doc_category));
    idx->doc_brand = ldr_calloc(idx->ndocs + 1, sizeof(*idx->doc_brand));
    idx->doc_price = ldr_calloc(idx->ndocs + 1, sizeof(*idx->doc_price));
    idx->doc_flags = ldr_calloc(idx->ndocs + 1, sizeof(*idx->doc_flags));
    uint64_t name_sum = 0, desc_sum = 0;
    uint32_t live = 0;
    for (uint32_t doc = 0; doc < idx->ndocs; doc++) {
        const ldr_product_t *p = ldr_catalog_doc(cat, doc);
        if (p == NULL)
            continue;
        ldr__index_doc(b, cat, doc, p);
        name_sum += b->name_len[doc], desc_sum += b->desc_len[doc], live++;
    }
    idx->avg_name = live && name_sum ? (float)name_sum / (float)live : 1.0f;
    idx->avg_desc = live && desc_sum ? (float)desc_sum / (float)live : 1.0f;
    idx->nlive = live;

    /* counting sort of the pairs by term; stable, so each list stays in doc order */
    uint32_t *count = ldr_calloc(idx->nterms + 1, sizeof(*count));
    for (size_t i = 0; i < b->npairs; i++)
        count[b->pair_term[i] + 1]++;
    for (uint32_t t = 0; t < idx->nterms; t++) {
        count[t + 1] += count[t];
        idx->terms[t].postings_off = count[t];
        idx->terms[t].npostings = count[t + 1] - count[t];
    }
    idx->npostings = b->npairs;
    idx->postings = ldr_malloc((b->npairs + 1) * sizeof(*idx->postings));
    for (size_t i = 0; i < b->npairs; i++) {
        const ldr__bposting_t *bp = &b->pairs[i];
        idx->postings[count[b->pair_term[i]]++] = ldr__posting(
            bp, b->name_len[bp->doc], b->desc_len[bp->doc], idx->avg_name, idx->avg_desc);
    }
    ldr_free(count);

    /* name order for sort=name */
    idx->name_order = ldr_malloc((live + 1) * sizeof(*idx->name_order));
    uint32_t n = 0;
    for (uint32_t doc = 0; doc < idx->ndocs; doc++)
        if (ldr_catalog_doc(cat, doc) != NULL)
            idx->name_order[n++] = doc;
    qsort_r(idx->name_order, n, sizeof(*idx->name_order), ldr__cmp_names, (void *)cat);
    ldr__finish(idx, cat);
    ldr__build_free(b);
    return idx;
}

/* Name order across two catalogs: doc x of ca before doc y of cb (the same order as
 * ldr__cmp_names when ca == cb). */
static bool ldr__name_before(const ldr_catalog_t *ca, uint32_t x, const ldr_catalog_t *cb,
                             uint32_t y)
{
    int c = strcasecmp(ldr__display_name(ldr_catalog_doc(ca, x)).ptr,
                       ldr__display_name(ldr_catalog_doc(cb, y)).ptr);
    return c != 0 ? c < 0 : x < y;
}

/*
 * Merges a (sorted by name in `old`, where all of them are live), minus its `gone` docs, with b
 * (sorted by name in `cat`) into out; returns the count.  b is short: each of its docs finds its
 * place in a by binary search, and the runs of a between are copied.
 */
static uint32_t ldr__merge_names(const ldr_catalog_t *old, const uint32_t *a, uint32_t na,
                                 const uint8_t *gone, const ldr_catalog_t *cat, const uint32_t *b,
                                 uint32_t nb, uint32_t *out)
{
    uint32_t i = 0, n = 0;
    for (uint32_t j = 0; j <= nb; j++) {
        uint32_t lo = j < nb ? i : na, hi = na;
        while (lo < hi) { /* the first of a[i..] that goes after b[j] */
            uint32_t mid = lo + (hi - lo) / 2;
            if (ldr__name_before(old, a[mid], cat, b[j]))
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; i < lo; i++)
            if (!gone[a[i]])
                out[n++] = a[i];
        if (j < nb)
            out[n++] = b[j];
    }
    return n;
}

static int ldr__cmp_pair_term(const void *x, const void *y, void *arg)
{
    const uint32_t *terms = arg;
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    if (terms[a] != terms[b])
        return terms[a] < terms[b] ? -1 : 1;
    return (a > b) - (a < b); /* pairs are in doc order: keep it */
}

ldr_index_t *ldr_index_update(const ldr_index_t *prev, const ldr_catalog_t *cat)
{
    uint32_t ndocs = ldr_catalog_doc_limit(cat);
    const ldr_catalog_t *old = prev->cat;
    /* the docs whose product is not the one prev indexed: changed, deleted, new */
    uint8_t *gone = ldr_calloc(ndocs + 1, 1);
    uint32_t *changed = ldr_malloc((ndocs + 1) * sizeof(*changed)), nchanged = 0;
    for (uint32_t d = 0; d < ndocs; d++) {
        const ldr_product_t *was = d < prev->ndocs ? ldr_catalog_doc(old, d) : NULL;
        if (ldr_catalog_doc(cat, d) != was)
            gone[d] = 1, changed[nchanged++] = d;
    }

    ldr_index_t *idx = ldr_calloc(1, sizeof(*idx));
    ldr__build_t *b = ldr_calloc(1, sizeof(*b));
    idx->cat = cat;
    idx->ndocs = ndocs;
    idx->avg_name = prev->avg_name, idx->avg_desc = prev->avg_desc;
    idx->changed = prev->changed + nchanged;
    b->idx = idx;
    /* the dictionary goes on from prev's: its term ids stay valid */
    idx->nterms = prev->nterms;
    b->capterms = prev->nterms + 1024;
    idx->terms = ldr_malloc(b->capterms * sizeof(*idx->terms));
    memcpy(idx->terms, prev->terms, prev->nterms * sizeof(*idx->terms));
    b->capkeys = prev->keys_len + (1 << 16);
    idx->keys = ldr_malloc(b->capkeys);
    memcpy(idx->keys, prev->keys, prev->keys_len);
    idx->keys_len = prev->keys_len;
    idx->mask = prev->mask;
    idx->slots = ldr_malloc((prev->mask + 1) * sizeof(*idx->slots));
    memcpy(idx->slots, prev->slots, (prev->mask + 1) * sizeof(*idx->slots));
    /* per-doc columns: prev's, then the changed docs' own */
    idx->doc_category = ldr_calloc(ndocs + 1, sizeof(*idx->doc_category));
    idx->doc_brand = ldr_calloc(ndocs + 1, sizeof(*idx->doc_brand));
    idx->doc_price = ldr_calloc(ndocs + 1, sizeof(*idx->doc_price));
    idx->doc_flags = ldr_calloc(ndocs + 1, sizeof(*idx->doc_flags));
    uint32_t keep = prev->ndocs < ndocs ? prev->ndocs : ndocs;
    memcpy(idx->doc_category, prev->doc_category, keep * sizeof(*idx->doc_category));
    memcpy(idx->doc_brand, prev->doc_brand, keep * sizeof(*idx->doc_brand));
    memcpy(idx->doc_price, prev->doc_price, keep * sizeof(*idx->doc_price));
    memcpy(idx->doc_flags, prev->doc_flags, keep * sizeof(*idx->doc_flags));
    b->name_len = ldr_calloc(ndocs + 1, sizeof(*b->name_len));
    b->desc_len = ldr_calloc(ndocs + 1, sizeof(*b->desc_len));
    uint32_t *live_changed = ldr_malloc((nchanged + 1) * sizeof(*live_changed)), nlive_changed = 0;
    for (uint32_t i = 0; i < nchanged; i++) {
        uint32_t d = changed[i];
        const ldr_product_t *p = ldr_catalog_doc(cat, d);
        idx->doc_flags[d] = 0; /* deleted, unless indexed again just below */
        if (p == NULL)
            continue;
        ldr__index_doc(b, cat, d, p);
        live_changed[nlive_changed++] = d;
    }

    /* the new pairs grouped by term, each group still in doc order */
    uint32_t *byterm = ldr_malloc((b->npairs + 1) * sizeof(*byterm));
    for (uint32_t i = 0; i < b->npairs; i++)
        byterm[i] = i;
    qsort_r(byterm, b->npairs, sizeof(*byterm), ldr__cmp_pair_term, b->pair_term);
    /* each term's list: prev's without the changed docs, merged with its new postings */
    size_t cap = prev->npostings + b->npairs + 1;
    idx->postings = ldr_malloc(cap * sizeof(*idx->postings));
    size_t out = 0, k = 0;
    for (uint32_t t = 0; t < idx->nterms; t++) {
        ldr__term_t *term = &idx->terms[t];
        const ldr__posting_t *p = NULL, *end = NULL;
        if (t < prev->nterms) {
            p = prev->postings + prev->terms[t].postings_off;
            end = p + prev->terms[t].npostings;
        }
        size_t start = out;
        if (k == b->npairs || b->pair_term[byterm[k]] != t) { /* nothing new: a filtered copy */
            for (; p < end; p++)
                if (!gone[p->doc])
                    idx->postings[out++] = *p;
        }
        while (p < end || (k < b->npairs && b->pair_term[byterm[k]] == t)) {
            bool take_new = k < b->npairs && b->pair_term[byterm[k]] == t &&
                            (p == end || b->pairs[byterm[k]].doc < p->doc);
            if (take_new) {
                const ldr__bposting_t *bp = &b->pairs[byterm[k++]];
                idx->postings[out++] = ldr__posting(bp, b->name_len[bp->doc], b->desc_len[bp->doc],
                                                    idx->avg_name, idx->avg_desc);
            } else {
                if (!gone[p->doc])
                    idx->postings[out++] = *p;
                p++;
            }
        }
        term->postings_off = (uint32_t)start;
        term->npostings = (uint32_t)(out - start);
    }
    idx->npostings = out;
    ldr_free(byterm);

    /* name order: prev's without the changed docs, merged with the live ones sorted */
    qsort_r(live_changed, nlive_changed, sizeof(*live_changed), ldr__cmp_names, (void *)cat);
    idx->name_order = ldr_malloc((prev->nlive + nlive_changed + 1) * sizeof(*idx->name_order));
    idx->nlive = ldr__merge_names(old, prev->name_order, prev->nlive, gone, cat, live_changed,
                                  nlive_changed, idx->name_order);
    ldr__finish(idx, cat);

    ldr_free(live_changed);
    ldr_free(changed);
    ldr_free(gone);
    ldr__build_free(b);
    return idx;
}

uint32_t ldr_index_changed(const ldr_index_t *idx)
{
    return idx->changed;
}

void ldr_index_free(ldr_index_t *idx)
{
    if (idx == NULL)
        return;
    ldr_free(idx->terms);
    ldr_free(idx->keys);
    ldr_free(idx->postings);
    ldr_free(idx->sorted);
    ldr_free(idx->slots);
    ldr_free(idx->doc_category);
    ldr_free(idx->doc_brand);
    ldr_free(idx->doc_price);
    ldr_free(idx->doc_flags);
    ldr_free(idx->name_rank);
    ldr_free(idx->name_order);
    ldr_free(idx->cat_leaf_off);
    ldr_free(idx->cat_leaf_terms);
    ldr_free(idx);
}

size_t ldr_index_memory(const ldr_index_t *idx)
{
    return sizeof(*idx) + idx->nterms * (sizeof(ldr__term_t) + sizeof(uint32_t)) + idx->keys_len +
           idx->npostings * sizeof(ldr__posting_t) + (idx->mask + 1) * sizeof(uint32_t) +
           (size_t)idx->ndocs * (5 * sizeof(uint32_t) + sizeof(int64_t) + 1);
}

uint32_t ldr_index_terms(const ldr_index_t *idx)
{
    return idx->nterms;
}
