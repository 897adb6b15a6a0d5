/*
 * Answering a query; the ranking rules are described in include/larder/index.h.
 *
 * Each query word expands to candidate terms (its folded key, prefix completions for the last
 * word, typo neighbours when it has no term of its own).  Every candidate's postings are walked
 * once; a per-doc accumulator keeps, per query word, the best contribution, its typo count and its
 * name position.  Docs that matched every word then pass the filters, feed the facet counters and
 * compete in a bounded heap of page * per_page entries, so no query sorts the whole match set.
 */
#define _GNU_SOURCE /* qsort_r */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index_internal.h"
#include "larder/intern.h"

#define LDR__PREFIX_MAX 64 /* completions of the last word, the most frequent kept */
#define LDR__TYPO_MAX   32 /* typo neighbours per word */
#define LDR__CANDS_MAX  (1 + LDR__PREFIX_MAX + LDR__TYPO_MAX)
#define LDR__FACET_MAX  50

typedef struct ldr__cand {
    uint32_t term;
    float weight; /* 1 for the word's own term, less for completions and typos */
    uint8_t cost; /* rank cost: 4 per edit, 1 for a completion, 0 for the word itself */
    bool typing;  /* the word's own term while it is still being typed: it ranks as a whole
                     word only where it is in the name, elsewhere as a completion */
} ldr__cand_t;

typedef struct ldr__acc {
    uint32_t doc;
    uint16_t mask;
    float best[LDR_QUERY_WORDS_MAX];
    uint8_t cost[LDR_QUERY_WORDS_MAX];
    uint8_t pos[LDR_QUERY_WORDS_MAX][LDR__NAME_LANGS];
} ldr__acc_t;

typedef struct ldr__ranked {
    uint32_t doc;
    uint32_t cost; /* sum of the words' costs: typos first, then completions */
    float score;
    int64_t key; /* price or name rank for the other sorts */
} ldr__ranked_t;

struct ldr_searcher {
    const ldr_index_t *idx;
    uint32_t *acc_of; /* per doc: accumulator index + 1, 0 = untouched */
    ldr__acc_t *accs;
    uint32_t naccs, capaccs;
    uint32_t nwords;
    ldr__cand_t cands[LDR_QUERY_WORDS_MAX][LDR__CANDS_MAX];
    uint32_t ncands[LDR_QUERY_WORDS_MAX];
    ldr__ranked_t *heap;
    uint32_t *cat_count, *brand_count, ncats, nbrands;
    uint8_t *cat_ok;
    float *cat_boost; /* per category: favour for query words naming it */
    ldr_facet_value_t facet_cat[LDR__FACET_MAX], facet_brand[LDR__FACET_MAX], facet_per[2];
};

ldr_searcher_t *ldr_searcher_new(const ldr_index_t *idx)
{
    ldr_searcher_t *s = ldr_calloc(1, sizeof(*s));
    s->idx = idx;
    s->acc_of = ldr_calloc(idx->ndocs + 1, sizeof(*s->acc_of));
    s->heap = ldr_malloc(LDR_SEARCH_WINDOW_MAX * sizeof(*s->heap));
    s->ncats = ldr_intern_count(ldr_catalog_categories(idx->cat));
    s->nbrands = ldr_intern_count(ldr_catalog_brands(idx->cat));
    s->cat_count = ldr_calloc(s->ncats + 1, sizeof(*s->cat_count));
    s->brand_count = ldr_calloc(s->nbrands + 1, sizeof(*s->brand_count));
    s->cat_ok = ldr_calloc(s->ncats + 1, 1);
    s->cat_boost = ldr_calloc(s->ncats + 1, sizeof(*s->cat_boost));
    return s;
}

void ldr_searcher_free(ldr_searcher_t *s)
{
    if (s == NULL)
        return;
    ldr_free(s->acc_of);
    ldr_free(s->accs);
    ldr_free(s->heap);
    ldr_free(s->cat_count);
    ldr_free(s->brand_count);
    ldr_free(s->cat_ok);
    ldr_free(s->cat_boost);
    ldr_free(s);
}

/* Optimal-string-alignment distance between a and b if it is at most max, else max + 1. */
static unsigned ldr__edits(const char *a, size_t la, const char *b, size_t lb, unsigned max)
{
    if ((la > lb ? la - lb : lb - la) > max || la > 64 || lb > 64)
        return max + 1;
    unsigned rows[3][66], *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (unsigned)i;
        unsigned rowmin = cur[0];
        for (size_t j = 1; j <= lb; j++) {
            unsigned cost = a[i - 1] != b[j - 1];
            unsigned v = prev[j - 1] + cost;
            if (prev[j] + 1 < v)
                v = prev[j] + 1;
            if (cur[j - 1] + 1 < v)
                v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < v)
                v = prev2[j - 2] + 1;
            cur[j] = v;
            if (v < rowmin)
                rowmin = v;
        }
        if (rowmin > max)
            return max + 1;
        unsigned *t = prev2;
        prev2 = prev, prev = cur, cur = t;
    }
    return prev[lb];
}

/* First index in idx->sorted whose key is >= key. */
static uint32_t ldr__lower_bound(const ldr_index_t *idx, const char *key, size_t len)
{
    uint32_t lo = 0, hi = idx->nterms;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const ldr__term_t *t = &idx->terms[idx->sorted[mid]];
        size_t n = t->key_len < len ? t->key_len : len;
        int c = memcmp(ldr__term_key(idx, t), key, n);
        if (c < 0 || (c == 0 && t->key_len < len))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t ldr__utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

static void ldr__typo_scan(ldr_searcher_t *s, uint32_t wi, const ldr_word_t *w, uint32_t from,
                           uint32_t to, unsigned max)
{
    const ldr_index_t *idx = s->idx;
    for (uint32_t i = from; i < to && s->ncands[wi] < LDR__CANDS_MAX; i++) {
        uint32_t t = idx->sorted[i];
        const ldr__term_t *term = &idx->terms[t];
        if (term->exact)
            continue;
        unsigned d =
            ldr__edits(w->folded, w->folded_len, ldr__term_key(idx, term), term->key_len, max);
        if (d == 0 || d > max)
            continue;
        s->cands[wi][s->ncands[wi]++] =
            (ldr__cand_t){t, d == 1 ? 0.5f : 0.3f, (uint8_t)(4 * d), false};
    }
}

/*
 * The English plural of a whole ASCII word (tomato → tomatoes, banana → bananas, berry → berries)
 * matches as the word itself: a shopper typing the singular means the fresh produce too.
 */
static uint32_t ldr__add_inflections(ldr_searcher_t *s, uint32_t wi, const ldr_word_t *w,
                                     uint32_t n)
{
    const ldr_index_t *idx = s->idx;
    size_t len = w->folded_len;
    if (len < 3 || len > 60 || w->exact_len != len || memcmp(w->exact, w->folded, len) != 0)
        return n;
    for (size_t i = 0; i < len; i++)
        if (w->folded[i] < 'a' || w->folded[i] > 'z')
            return n;
    char forms[3][64];
    size_t nforms = 0;
    const char *f = w->folded;
    snprintf(forms[nforms++], 64, "%.*ss", (int)len, f);
    snprintf(forms[nforms++], 64, "%.*ses", (int)len, f);
    if (f[len - 1] == 'y')
        snprintf(forms[nforms++], 64, "%.*sies", (int)len - 1, f);
    /* plural to singular is left out: "tomatoes" asks for tomatoes, not tomato sauce, and a typo
     * like "tomatos" must not turn into an exact "tomato" */
    for (size_t i = 0; i < nforms && n < LDR__CANDS_MAX; i++) {
        uint32_t t = ldr__index_find(idx, forms[i], strlen(forms[i]));
        bool dup = false;
        for (uint32_t k = 0; k < n && !dup; k++)
            dup = s->cands[wi][k].term == t;
        if (t == UINT32_MAX || dup)
            continue;
        /* scored on the typed word's idf when it has one: the spelling should not matter */
        float weight = n > 0 && idx->terms[t].idf > 0
                           ? idx->terms[s->cands[wi][0].term].idf / idx->terms[t].idf
                           : 1.0f;
        s->cands[wi][n++] = (ldr__cand_t){t, weight, 0, false};
    }
    return n;
}

/* Candidate terms of query word wi. */
static void ldr__expand(ldr_searcher_t *s, uint32_t wi, const ldr_word_t *w, bool complete)
{
    const ldr_index_t *idx = s->idx;
    uint32_t n = 0;
    uint32_t own = ldr__index_find(idx, w->folded, w->folded_len);
    if (own != UINT32_MAX)
        s->cands[wi][n++] = (ldr__cand_t){own, 1.0f, 0, !complete};
    /*
     * The shopper's own diacritics are a rank tier: where some product spells the word exactly
     * as typed, that spelling matches whole and the folded form only like a completion, so "cà"
     * puts every Cà before any Cá, and "chó" never drowns in "cho" and "chợ".
     */
    if (own != UINT32_MAX &&
        (w->exact_len != w->folded_len || memcmp(w->exact, w->folded, w->folded_len) != 0)) {
        uint32_t exact = ldr__index_find(idx, w->exact, w->exact_len);
        if (exact != UINT32_MAX) {
            s->cands[wi][0].cost = 1;
            s->cands[wi][n++] = (ldr__cand_t){exact, 1.2f, 0, !complete};
        }
    }
    n = ldr__add_inflections(s, wi, w, n);
    uint32_t whole = n; /* candidates that match as the word itself */
    if (!complete) {
        /* the word is still being typed: its completions, the most frequent first */
        uint32_t lo = ldr__lower_bound(idx, w->folded, w->folded_len), first = n;
        for (uint32_t i = lo; i < idx->nterms; i++) {
            uint32_t t = idx->sorted[i];
            const ldr__term_t *term = &idx->terms[t];
            if (term->key_len < w->folded_len ||
                memcmp(ldr__term_key(idx, term), w->folded, w->folded_len) != 0)
                break;
            bool dup = false;
            for (uint32_t k = 0; k < whole && !dup; k++)
                dup = s->cands[wi][k].term == t;
            if (dup)
                continue;
            if (term->exact)
                continue;
            ldr__cand_t c = {t, 0.8f, 1, false};
            if (n - first < LDR__PREFIX_MAX) {
                s->cands[wi][n++] = c;
                continue;
            }
            /* replace the least frequent kept completion */
            uint32_t worst = first;
            for (uint32_t k = first + 1; k < n; k++)
                if (idx->terms[s->cands[wi][k].term].npostings <
                    idx->terms[s->cands[wi][worst].term].npostings)
                    worst = k;
            if (idx->terms[s->cands[wi][worst].term].npostings < term->npostings)
                s->cands[wi][worst] = c;
        }
    }
    s->ncands[wi] = n;
    if (!complete && n > 0) {
        /*
         * While typing, what the shopper will most likely finish with is the frequent word, not
         * the rare one: every candidate is scored on the idf of the most frequent of them (a rare
         * completion's own idf would otherwise win), nudged by its frequency.
         */
        uint32_t max_df = 1;
        for (uint32_t k = 0; k < n; k++)
            if (idx->terms[s->cands[wi][k].term].npostings > max_df)
                max_df = idx->terms[s->cands[wi][k].term].npostings;
        float shared = 0;
        for (uint32_t k = 0; k < n; k++)
            if (idx->terms[s->cands[wi][k].term].npostings == max_df)
                shared = idx->terms[s->cands[wi][k].term].idf;
        for (uint32_t k = 0; k < n; k++) {
            const ldr__term_t *term = &idx->terms[s->cands[wi][k].term];
            float f = 0.8f + 0.2f * (float)term->npostings / (float)max_df;
            if (term->idf > 0)
                s->cands[wi][k].weight *= shared / term->idf * f;
        }
    }
    if (own != UINT32_MAX)
        return; /* typos only for a word that is not itself a term */
    size_t chars = ldr__utf8_chars(w->folded, w->folded_len);
    if (chars < 4)
        return;
    unsigned max = chars >= 8 ? 2 : 1;
    /* typos keep the first character: scan the terms that share the first byte */
    char first = w->folded[0];
    uint32_t lo = ldr__lower_bound(idx, &first, 1), hi = lo;
    while (hi < idx->nterms && ldr__term_key(idx, &idx->terms[idx->sorted[hi]])[0] == first)
        hi++;
    uint32_t before = s->ncands[wi];
    ldr__typo_scan(s, wi, w, lo, hi, max);
    if (s->ncands[wi] == before && before == 0)
        ldr__typo_scan(s, wi, w, 0, idx->nterms, max); /* nothing else fits: any first char */
}

typedef struct ldr__qwords {
    ldr_searcher_t *s;
    const char *q;
    size_t q_len;
} ldr__qwords_t;

static int ldr__on_query_word(void *ctx, const ldr_word_t *w)
{
    ldr__qwords_t *qw = ctx;
    ldr_searcher_t *s = qw->s;
    if (s->nwords == LDR_QUERY_WORDS_MAX)
        return 1;
    /* the last word is complete only when the user typed something after it */
    bool complete = w->end < qw->q_len;
    ldr__expand(s, s->nwords++, w, complete);
    return 0;
}

static ldr__acc_t *ldr__acc(ldr_searcher_t *s, uint32_t doc)
{
    uint32_t a = s->acc_of[doc];
    if (a != 0)
        return &s->accs[a - 1];
    if (s->naccs == s->capaccs) {
        s->capaccs = s->capaccs ? s->capaccs * 2 : 4096;
        s->accs = ldr_realloc(s->accs, s->capaccs * sizeof(*s->accs));
    }
    ldr__acc_t *acc = &s->accs[s->naccs++];
    memset(acc, 0, sizeof(*acc));
    acc->doc = doc;
    s->acc_of[doc] = s->naccs;
    return acc;
}

static float ldr__contribution(const ldr__term_t *term, const ldr__posting_t *p,
                               const ldr__cand_t *c)
{
    return term->idf * p->tfs * c->weight;
}

static void ldr__accumulate(ldr_searcher_t *s)
{
    const ldr_index_t *idx = s->idx;
    for (uint32_t wi = 0; wi < s->nwords; wi++) {
        for (uint32_t ci = 0; ci < s->ncands[wi]; ci++) {
            const ldr__cand_t *c = &s->cands[wi][ci];
            const ldr__term_t *term = &idx->terms[c->term];
            const ldr__posting_t *p = idx->postings + term->postings_off,
                                 *end = p + term->npostings;
            for (; p < end; p++) {
                /* after the first word only docs that already matched can still match all */
                if (wi > 0 && s->acc_of[p->doc] == 0)
                    continue;
                ldr__acc_t *acc = ldr__acc(s, p->doc);
                if (wi > 0 && (acc->mask & ((1u << wi) - 1)) != ((1u << wi) - 1))
                    continue;
                float v = ldr__contribution(term, p, c);
                uint16_t bit = (uint16_t)(1u << wi);
                uint8_t cost = c->cost;
                if (c->typing && p->name_pos[0] == LDR__NO_POS && p->name_pos[1] == LDR__NO_POS)
                    cost = 1;
                bool better = !(acc->mask & bit) || cost < acc->cost[wi] ||
                              (cost == acc->cost[wi] && v > acc->best[wi]);
                if (better) {
                    acc->best[wi] = v;
                    acc->cost[wi] = cost;
                    acc->pos[wi][0] = p->name_pos[0];
                    acc->pos[wi][1] = p->name_pos[1];
                }
                acc->mask |= bit;
            }
        }
    }
}

static bool ldr__passes(const ldr_searcher_t *s, const ldr_search_query_t *q, uint32_t brand,
                        uint32_t doc, int64_t *available)
{
    const ldr_index_t *idx = s->idx;
    *available = -1;
    if (q->category != NULL && !s->cat_ok[idx->doc_category[doc]])
        return false;
    if (q->brand != NULL && idx->doc_brand[doc] != brand)
        return false;
    if (q->perishable >= 0 &&
        ((idx->doc_flags[doc] & LDR__DOC_PERISHABLE) != 0) != (q->perishable == 1))
        return false;
    if (q->price_min >= 0 && idx->doc_price[doc] < q->price_min)
        return false;
    if (q->price_max >= 0 && idx->doc_price[doc] > q->price_max)
        return false;
    if (q->stock != NULL && q->store != UINT32_MAX) {
        *available = ldr_stock_available(ldr_stock_get(q->stock, q->store, doc));
        if (q->in_stock && *available <= 0)
            return false;
    }
    return true;
}

/* true if a ranks after b (a is worse) */
static bool ldr__worse(int sort, const ldr__ranked_t *a, const ldr__ranked_t *b)
{
    if (sort == LDR_SORT_RELEVANCE) {
        if (a->cost != b->cost)
            return a->cost > b->cost;
        if (a->score != b->score)
            return a->score < b->score;
    } else if (a->key != b->key) {
        return sort == LDR_SORT_PRICE_DESC ? a->key < b->key : a->key > b->key;
    }
    return a->doc > b->doc;
}

/* A max-heap on "worse": the root is the worst kept entry. */
static void ldr__heap_push(ldr__ranked_t *h, uint32_t *n, uint32_t cap, int sort,
                           const ldr__ranked_t *r)
{
    uint32_t i;
    if (*n < cap) {
        /* sift up: a parent is never better than its children */
        for (i = (*n)++; i > 0 && ldr__worse(sort, r, &h[(i - 1) / 2]); i = (i - 1) / 2)
            h[i] = h[(i - 1) / 2];
        h[i] = *r;
        return;
    }
    if (!ldr__worse(sort, &h[0], r))
        return; /* not better than the worst kept */
    i = 0;
    for (;;) {
        uint32_t l = 2 * i + 1, r2 = l + 1, m = i;
        const ldr__ranked_t *mv = r;
        if (l < *n && ldr__worse(sort, &h[l], mv))
            m = l, mv = &h[l];
        if (r2 < *n && ldr__worse(sort, &h[r2], mv))
            m = r2, mv = &h[r2];
        if (m == i)
            break;
        h[i] = h[m];
        i = m;
    }
    h[i] = *r;
}

static int ldr__cmp_ranked(const void *a, const void *b, void *arg)
{
    int sort = *(const int *)arg;
    if (ldr__worse(sort, a, b))
        return 1;
    return ldr__worse(sort, b, a) ? -1 : 0;
}

static int ldr__cmp_facet(const void *a, const void *b)
{
    const ldr_facet_value_t *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

/* The top counts of counts[0..n) into out (at most LDR__FACET_MAX), clearing counts. */
static uint32_t ldr__facet_top(uint32_t *counts, uint32_t n, ldr_facet_value_t *out)
{
    uint32_t k = 0;
    for (uint32_t id = 0; id < n; id++) {
        if (counts[id] == 0)
            continue;
        ldr_facet_value_t v = {id, counts[id]};
        counts[id] = 0;
        if (k < LDR__FACET_MAX) {
            out[k++] = v;
        } else {
            uint32_t worst = 0;
            for (uint32_t i = 1; i < k; i++)
                if (ldr__cmp_facet(&out[i], &out[worst]) > 0)
                    worst = i;
            if (ldr__cmp_facet(&v, &out[worst]) < 0)
                out[worst] = v;
        }
    }
    qsort(out, k, sizeof(*out), ldr__cmp_facet);
    return k;
}

static float ldr__bonus(const ldr_searcher_t *s, const ldr__acc_t *acc, float score)
{
    uint32_t adjacent = 0;
    for (uint32_t i = 0; i + 1 < s->nwords; i++)
        for (int l = 0; l < LDR__NAME_LANGS; l++)
            if (acc->pos[i][l] != LDR__NO_POS && acc->pos[i + 1][l] == acc->pos[i][l] + 1) {
                adjacent++;
                break;
            }
    score *= 1.0f + 0.25f * (float)adjacent;
    if (s->nwords > 0 && (acc->pos[0][0] == 0 || acc->pos[0][1] == 0))
        score *= 1.2f; /* the name starts with what the shopper typed first */
    return score;
}

int ldr_search(ldr_searcher_t *s, const ldr_search_query_t *q, ldr_search_result_t *out)
{
    const ldr_index_t *idx = s->idx;
    const ldr_catalog_t *cat = idx->cat;
    if (q->page < 1 || q->per_page < 1 || q->per_page > LDR_SEARCH_PER_PAGE_MAX ||
        (uint64_t)q->page * q->per_page > LDR_SEARCH_WINDOW_MAX)
        return LDR_EINVAL;
    memset(out, 0, sizeof(*out));

    /* per-query filter state */
    uint32_t brand = UINT32_MAX;
    if (q->brand != NULL) {
        brand = ldr_intern_find(ldr_catalog_brands(cat), q->brand, q->brand_len);
        if (brand == UINT32_MAX)
            brand = LDR_NO_BRAND - 1; /* matches no product */
    }
    if (q->category != NULL) {
        const ldr_intern_t *cats = ldr_catalog_categories(cat);
        for (uint32_t c = 0; c < s->ncats; c++) {
            ldr_str_t name = ldr_intern_str(cats, c);
            s->cat_ok[c] = name.len >= q->category_len &&
                           memcmp(name.ptr, q->category, q->category_len) == 0 &&
                           (name.len == q->category_len || name.ptr[q->category_len] == '/' ||
                            (q->category_len > 0 && q->category[q->category_len - 1] == '/'));
        }
    }

    /* match */
    for (uint32_t i = 0; i < s->naccs; i++)
        s->acc_of[s->accs[i].doc] = 0;
    s->naccs = 0;
    s->nwords = 0;
    ldr__qwords_t qw = {s, q->q, q->q_len};
    if (q->q_len > 0)
        ldr_text_words(q->q, q->q_len, ldr__on_query_word, &qw);
    /* no q (or only spaces) lists the filtered products; a q of only symbols matches nothing */
    bool blank = true;
    for (size_t i = 0; i < q->q_len && blank; i++)
        blank = q->q[i] == ' ' || q->q[i] == '\t';
    if (s->nwords == 0 && !blank)
        return LDR_OK;
    bool listing = s->nwords == 0;
    if (!listing) {
        ldr__accumulate(s);
        /* a query word that names a product's category (milk → dairy/milk) favours it */
        for (uint32_t c = 0; c < s->ncats; c++) {
            uint32_t named = 0;
            for (uint32_t k = idx->cat_leaf_off[c]; k < idx->cat_leaf_off[c + 1]; k++)
                for (uint32_t wi = 0; wi < s->nwords; wi++)
                    for (uint32_t ci = 0; ci < s->ncands[wi]; ci++)
                        named += s->cands[wi][ci].cost == 0 &&
                                 s->cands[wi][ci].term == idx->cat_leaf_terms[k];
            s->cat_boost[c] = 1.0f + 0.5f * (float)named;
        }
    }

    uint32_t window = q->page * q->per_page, nheap = 0;
    uint16_t all = (uint16_t)((1u << s->nwords) - 1);
    uint32_t n = listing ? idx->ndocs : s->naccs;
    uint32_t per_count[2] = {0, 0};
    for (uint32_t i = 0; i < n; i++) {
        const ldr__acc_t *acc = listing ? NULL : &s->accs[i];
        uint32_t doc = listing ? i : acc->doc;
        if (!listing && acc->mask != all)
            continue;
        int64_t available;
        if (!(idx->doc_flags[doc] & LDR__DOC_LIVE) || !ldr__passes(s, q, brand, doc, &available))
            continue;
        out->total++;
        if (q->facets & LDR_FACET_CATEGORY)
            s->cat_count[idx->doc_category[doc]]++;
        if ((q->facets & LDR_FACET_BRAND) && idx->doc_brand[doc] != LDR_NO_BRAND)
            s->brand_count[idx->doc_brand[doc]]++;
        if (q->facets & LDR_FACET_PERISHABLE)
            per_count[(idx->doc_flags[doc] & LDR__DOC_PERISHABLE) != 0]++;
        ldr__ranked_t r = {doc, 0, 0.0f, 0};
        if (!listing) {
            for (uint32_t w = 0; w < s->nwords; w++)
                r.score += acc->best[w], r.cost += acc->cost[w];
            r.score = ldr__bonus(s, acc, r.score) * s->cat_boost[idx->doc_category[doc]];
        }
        if (available == 0)
            r.score *= 0.5f; /* out of stock at the chosen store: lower, still listed */
        r.key = q->sort == LDR_SORT_NAME ? (int64_t)idx->name_rank[doc] : idx->doc_price[doc];
        ldr__heap_push(s->heap, &nheap, window, q->sort, &r);
    }

    int sort = q->sort;
    qsort_r(s->heap, nheap, sizeof(*s->heap), ldr__cmp_ranked, &sort);
    for (uint32_t i = (q->page - 1) * q->per_page; i < nheap && out->nhits < q->per_page; i++) {
        const ldr__ranked_t *r = &s->heap[i];
        int64_t available = -1;
        if (q->stock != NULL && q->store != UINT32_MAX)
            available = ldr_stock_available(ldr_stock_get(q->stock, q->store, r->doc));
        out->hits[out->nhits++] = (ldr_search_hit_t){r->doc, r->score, available};
    }

    /* facets over the filtered matches; counters are cleared as they are read */
    out->category.values = s->facet_cat;
    out->category.n = ldr__facet_top(s->cat_count, s->ncats, s->facet_cat);
    out->brand.values = s->facet_brand;
    out->brand.n = ldr__facet_top(s->brand_count, s->nbrands, s->facet_brand);
    out->perishable.values = s->facet_per;
    out->perishable.n = ldr__facet_top(per_count, 2, s->facet_per);
    if (!(q->facets & LDR_FACET_CATEGORY))
        out->category.n = 0;
    if (!(q->facets & LDR_FACET_BRAND))
        out->brand.n = 0;
    if (!(q->facets & LDR_FACET_PERISHABLE))
        out->perishable.n = 0;
    return LDR_OK;
}

typedef struct ldr__hl {
    const ldr_searcher_t *s;
    const char *text;
    ldr_buf_t *out;
    size_t copied;
    uint32_t marked;
} ldr__hl_t;

static int ldr__hl_word(void *ctx, const ldr_word_t *w)
{
    ldr__hl_t *h = ctx;
    const ldr_searcher_t *s = h->s;
    uint32_t t = ldr__index_find(s->idx, w->folded, w->folded_len);
    if (t == UINT32_MAX)
        return 0;
    bool hit = false;
    for (uint32_t wi = 0; wi < s->nwords && !hit; wi++)
        for (uint32_t ci = 0; ci < s->ncands[wi] && !hit; ci++)
            hit = s->cands[wi][ci].term == t;
    if (!hit)
        return 0;
    ldr_buf_append(h->out, h->text + h->copied, w->start - h->copied);
    ldr_buf_puts(h->out, "<em>");
    ldr_buf_append(h->out, h->text + w->start, w->end - w->start);
    ldr_buf_puts(h->out, "</em>");
    h->copied = w->end;
    h->marked++;
    return 0;
}

uint32_t ldr_search_highlight(const ldr_searcher_t *s, const char *text, size_t len, ldr_buf_t *out)
{
    ldr__hl_t h = {s, text, out, 0, 0};
    ldr_text_words(text, len, ldr__hl_word, &h);
    ldr_buf_append(out, text + h.copied, len - h.copied);
    return h.marked;
}
