/*
 * The catalog store.
 *
 * Layout: every string of every product is copied into a chunked arena (chunks never move, so a
 * published pointer stays valid), product records live in the same arena, and `docs` maps a dense
 * document id to the current record.  SKU lookup is an open-addressing table of (hash, doc) pairs
 * with linear probing at a load factor of at most 1/2; the stored 64-bit hash makes a miss cost
 * one cache line and no string compare in the common case.
 *
 * Deletion keeps everything: the SKU keeps its slot and its doc, whose latest record stays in
 * `docs`, and a per-doc flag hides it from ldr_catalog_find and ldr_catalog_doc.  The engine looks
 * SKUs up with ldr_catalog_lookup, which still sees it, so stock of a deleted product is kept (and
 * served again if the product comes back) and the log replays the same whatever the order of
 * product and stock records.  Since nothing is ever removed, the table needs no tombstones.
 */
#include "larder/catalog.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "jsonl_internal.h"

#define LDR__ARENA_CHUNK (256 * 1024)

typedef struct ldr__chunk {
    struct ldr__chunk *next;
    size_t used, size;
    char data[];
} ldr__chunk_t;

enum { LDR__DELETED = 1, LDR__LOGGED = 2 };

typedef struct ldr__slot {
    uint64_t hash;
    uint32_t doc; /* UINT32_MAX = empty */
} ldr__slot_t;

struct ldr_catalog {
    ldr__chunk_t *chunks;
    const ldr_product_t **docs;
    uint32_t *load_stamp; /* per doc: the load that last wrote it, for duplicate detection */
    uint8_t *flags;       /* per doc: LDR__DELETED, LDR__LOGGED */
    uint32_t ndocs, capdocs, live, load_gen;
    _Atomic uint64_t changes; /* bumped by every upsert and delete */
    bool frozen;              /* a copy (ldr_catalog_freeze): the arena is the original's */
    ldr__slot_t *slots;
    uint32_t mask;
    ldr_intern_t categories, brands, tags;
};

static void *ldr__arena_alloc(ldr_catalog_t *cat, size_t size)
{
    size = (size + 7) & ~(size_t)7;
    ldr__chunk_t *c = cat->chunks;
    if (c == NULL || c->size - c->used < size) {
        size_t csize = size > LDR__ARENA_CHUNK ? size : LDR__ARENA_CHUNK;
        c = ldr_malloc(sizeof(*c) + csize);
        c->next = cat->chunks, c->used = 0, c->size = csize;
        cat->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += size;
    return p;
}

static ldr_str_t ldr__arena_str(ldr_catalog_t *cat, ldr_str_t s)
{
    if (s.ptr == NULL)
        return s;
    char *p = ldr__arena_alloc(cat, s.len + 1);
    memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return (ldr_str_t){p, s.len};
}

ldr_catalog_t *ldr_catalog_new(void)
{
    ldr_catalog_t *cat = ldr_calloc(1, sizeof(*cat));
    ldr_intern_init(&cat->categories);
    ldr_intern_init(&cat->brands);
    ldr_intern_init(&cat->tags);
    return cat;
}

void ldr_catalog_free(ldr_catalog_t *cat)
{
    if (cat == NULL)
        return;
    for (ldr__chunk_t *c = cat->frozen ? NULL : cat->chunks, *next; c != NULL; c = next) {
        next = c->next;
        ldr_free(c);
    }
    ldr_free(cat->docs);
    ldr_free(cat->load_stamp);
    ldr_free(cat->flags);
    ldr_free(cat->slots);
    ldr_intern_free(&cat->categories);
    ldr_intern_free(&cat->brands);
    ldr_intern_free(&cat->tags);
    ldr_free(cat);
}

uint32_t ldr_catalog_count(const ldr_catalog_t *cat)
{
    return cat->live;
}
uint32_t ldr_catalog_doc_limit(const ldr_catalog_t *cat)
{
    return cat->ndocs;
}
const ldr_intern_t *ldr_catalog_categories(const ldr_catalog_t *cat)
{
    return &cat->categories;
}
const ldr_intern_t *ldr_catalog_brands(const ldr_catalog_t *cat)
{
    return &cat->brands;
}
const ldr_intern_t *ldr_catalog_tags(const ldr_catalog_t *cat)
{
    return &cat->tags;
}

const ldr_product_t *ldr_catalog_doc(const ldr_catalog_t *cat, uint32_t doc)
{
    return doc < cat->ndocs && !(cat->flags[doc] & LDR__DELETED) ? cat->docs[doc] : NULL;
}

const ldr_product_t *ldr_catalog_record(const ldr_catalog_t *cat, uint32_t doc)
{
    return doc < cat->ndocs ? cat->docs[doc] : NULL;
}

bool ldr_catalog_logged(const ldr_catalog_t *cat, uint32_t doc)
{
    return doc < cat->ndocs && (cat->flags[doc] & LDR__LOGGED);
}

void ldr_catalog_set_logged(ldr_catalog_t *cat, uint32_t doc)
{
    if (doc < cat->ndocs)
        cat->flags[doc] |= LDR__LOGGED;
}

uint64_t ldr_catalog_changes(const ldr_catalog_t *cat)
{
    return atomic_load_explicit(&cat->changes, memory_order_acquire);
}

static ldr__slot_t *ldr__find_slot(const ldr_catalog_t *cat, uint64_t hash, const char *sku,
                                   size_t len)
{
    for (uint32_t i = (uint32_t)hash & cat->mask;; i = (i + 1) & cat->mask) {
        ldr__slot_t *s = &cat->slots[i];
        if (s->doc == UINT32_MAX)
            return s;
        if (s->hash == hash && ldr_str_eq(cat->docs[s->doc]->sku, sku, len))
            return s;
    }
}

const ldr_product_t *ldr_catalog_lookup(const ldr_catalog_t *cat, const char *sku, size_t len,
                                        uint32_t *doc)
{
    if (cat->slots == NULL)
        return NULL;
    ldr__slot_t *s = ldr__find_slot(cat, ldr_hash(sku, len), sku, len);
    if (s->doc == UINT32_MAX)
        return NULL;
    if (doc != NULL)
        *doc = s->doc;
    return cat->docs[s->doc];
}

const ldr_product_t *ldr_catalog_find(const ldr_catalog_t *cat, const char *sku, size_t len,
                                      uint32_t *doc)
{
    uint32_t d;
    const ldr_product_t *p = ldr_catalog_lookup(cat, sku, len, &d);
    if (p == NULL || (cat->flags[d] & LDR__DELETED))
        return NULL;
    if (doc != NULL)
        *doc = d;
    return p;
}

static void ldr__grow_table(ldr_catalog_t *cat)
{
    uint32_t size = cat->slots ? (cat->mask + 1) * 2 : 1024;
    ldr_free(cat->slots);
    cat->slots = ldr_malloc(size * sizeof(*cat->slots));
    for (uint32_t i = 0; i < size; i++)
        cat->slots[i].doc = UINT32_MAX;
    cat->mask = size - 1;
    for (uint32_t d = 0; d < cat->ndocs; d++) {
        ldr_str_t sku = cat->docs[d]->sku;
        uint64_t h = ldr_hash(sku.ptr, sku.len);
        *ldr__find_slot(cat, h, sku.ptr, sku.len) = (ldr__slot_t){h, d};
    }
}

/* Copies a validated input into the arena as an immutable record. */
static const ldr_product_t *ldr__copy_product(ldr_catalog_t *cat, const ldr_product_input_t *in)
{
    ldr_product_t *p = ldr__arena_alloc(cat, sizeof(*p));
    *p = in->p;
    p->sku = ldr__arena_str(cat, in->p.sku);
    for (int l = 0; l < LDR_LANG_COUNT; l++) {
        p->name[l] = ldr__arena_str(cat, in->p.name[l]);
        p->description[l] = ldr__arena_str(cat, in->p.description[l]);
    }
    p->unit = ldr__arena_str(cat, in->p.unit);
    p->category = ldr_intern_put(&cat->categories, in->category.ptr, in->category.len);
    p->brand =
        in->brand.ptr ? ldr_intern_put(&cat->brands, in->brand.ptr, in->brand.len) : LDR_NO_BRAND;
    uint32_t *tags = ldr__arena_alloc(cat, sizeof(*tags) * (in->p.ntags + 1u));
    for (uint16_t i = 0; i < in->p.ntags; i++)
        tags[i] = ldr_intern_put(&cat->tags, in->tags[i].ptr, in->tags[i].len);
    p->tags = tags;
    ldr_str_t *subs = ldr__arena_alloc(cat, sizeof(*subs) * (in->p.nsubstitutes + 1u));
    for (uint16_t i = 0; i < in->p.nsubstitutes; i++)
        subs[i] = ldr__arena_str(cat, in->substitutes[i]);
    p->substitutes = subs;
    return p;
}

/* Upsert that also reports whether the SKU was already written by the current load. */
static int ldr__upsert(ldr_catalog_t *cat, const ldr_product_input_t *in, uint32_t *doc,
                       bool *dup_in_load)
{
    ldr_str_t sku = in->p.sku;
    if (cat->slots == NULL || (cat->ndocs + 1) * 2 > cat->mask + 1)
        ldr__grow_table(cat);
    uint64_t h = ldr_hash(sku.ptr, sku.len);
    ldr__slot_t *s = ldr__find_slot(cat, h, sku.ptr, sku.len);
    if (s->doc != UINT32_MAX) {
        if (dup_in_load != NULL && cat->load_gen != 0 && cat->load_stamp[s->doc] == cat->load_gen) {
            *dup_in_load = true;
            return LDR_EEXIST;
        }
        cat->docs[s->doc] = ldr__copy_product(cat, in);
        cat->load_stamp[s->doc] = cat->load_gen;
        if (cat->flags[s->doc] & LDR__DELETED) {
            cat->flags[s->doc] &= (uint8_t)~LDR__DELETED;
            cat->live++;
        }
        atomic_fetch_add_explicit(&cat->changes, 1, memory_order_release);
        if (doc != NULL)
            *doc = s->doc;
        return LDR_OK;
    }
    if (cat->ndocs >= LDR_DOC_MAX)
        return LDR_EFULL;
    if (cat->ndocs == cat->capdocs) {
        cat->capdocs = cat->capdocs ? cat->capdocs * 2 : 1024;
        cat->docs = ldr_realloc(cat->docs, cat->capdocs * sizeof(*cat->docs));
        cat->load_stamp = ldr_realloc(cat->load_stamp, cat->capdocs * sizeof(*cat->load_stamp));
        cat->flags = ldr_realloc(cat->flags, cat->capdocs);
    }
    uint32_t d = cat->ndocs++;
    cat->docs[d] = ldr__copy_product(cat, in);
    cat->load_stamp[d] = cat->load_gen;
    cat->flags[d] = 0;
    *s = (ldr__slot_t){h, d};
    cat->live++;
    atomic_fetch_add_explicit(&cat->changes, 1, memory_order_release);
    if (doc != NULL)
        *doc = d;
    return LDR_OK;
}

int ldr_catalog_upsert(ldr_catalog_t *cat, const ldr_product_input_t *in, uint32_t *doc)
{
    return ldr__upsert(cat, in, doc, NULL);
}

int ldr_catalog_delete(ldr_catalog_t *cat, const char *sku, size_t len, uint32_t *doc)
{
    uint32_t d;
    if (ldr_catalog_find(cat, sku, len, &d) == NULL)
        return LDR_ENOENT;
    cat->flags[d] |= LDR__DELETED;
    cat->live--;
    atomic_fetch_add_explicit(&cat->changes, 1, memory_order_release);
    if (doc != NULL)
        *doc = d;
    return LDR_OK;
}

static bool ldr__str_same(ldr_str_t a, ldr_str_t b)
{
    return (a.ptr == NULL) == (b.ptr == NULL) && a.len == b.len &&
           (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool ldr_catalog_same(const ldr_catalog_t *cat, const ldr_product_t *p,
                      const ldr_product_input_t *in)
{
    const ldr_product_t *q = &in->p;
    if (!ldr__str_same(p->sku, q->sku) || !ldr__str_same(p->unit, q->unit) ||
        p->price != q->price || p->shelf_life_days != q->shelf_life_days ||
        p->perishable != q->perishable || p->ntags != q->ntags ||
        p->nsubstitutes != q->nsubstitutes)
        return false;
    for (int l = 0; l < LDR_LANG_COUNT; l++)
        if (!ldr__str_same(p->name[l], q->name[l]) ||
            !ldr__str_same(p->description[l], q->description[l]))
            return false;
    if (!ldr__str_same(ldr_intern_str(&cat->categories, p->category), in->category))
        return false;
    if ((p->brand == LDR_NO_BRAND) != (in->brand.ptr == NULL) ||
        (in->brand.ptr != NULL &&
         !ldr__str_same(ldr_intern_str(&cat->brands, p->brand), in->brand)))
        return false;
    for (uint16_t i = 0; i < p->ntags; i++)
        if (!ldr__str_same(ldr_intern_str(&cat->tags, p->tags[i]), in->tags[i]))
            return false;
    for (uint16_t i = 0; i < p->nsubstitutes; i++)
        if (!ldr__str_same(p->substitutes[i], in->substitutes[i]))
            return false;
    return true;
}

void ldr_catalog_product_json(const ldr_catalog_t *cat, const ldr_product_t *p, ldr_buf_t *b)
{
    ldr_product_input_t in;
    memset(&in, 0, sizeof(in));
    in.p = *p;
    in.category = ldr_intern_str(&cat->categories, p->category);
    if (p->brand != LDR_NO_BRAND)
        in.brand = ldr_intern_str(&cat->brands, p->brand);
    for (uint16_t i = 0; i < p->ntags && i < LDR_PRODUCT_MAX_LIST; i++)
        in.tags[i] = ldr_intern_str(&cat->tags, p->tags[i]);
    ldr_product_render(&in, b);
}

static void ldr__intern_copy(ldr_intern_t *dst, const ldr_intern_t *src)
{
    ldr_intern_init(dst);
    for (uint32_t i = 0; i < ldr_intern_count(src); i++) {
        ldr_str_t s = ldr_intern_str(src, i);
        ldr_intern_put(dst, s.ptr, s.len);
    }
}

ldr_catalog_t *ldr_catalog_freeze(const ldr_catalog_t *cat)
{
    ldr_catalog_t *f = ldr_calloc(1, sizeof(*f));
    f->frozen = true;
    f->chunks = cat->chunks;
    f->ndocs = f->capdocs = cat->ndocs;
    f->live = cat->live;
    atomic_init(&f->changes, ldr_catalog_changes(cat));
    size_t n = cat->ndocs ? cat->ndocs : 1;
    f->docs = ldr_malloc(n * sizeof(*f->docs));
    f->flags = ldr_malloc(n);
    f->load_stamp = ldr_calloc(n, sizeof(*f->load_stamp));
    if (cat->ndocs > 0) {
        memcpy(f->docs, cat->docs, cat->ndocs * sizeof(*f->docs));
        memcpy(f->flags, cat->flags, cat->ndocs);
    }
    if (cat->slots != NULL) {
        f->mask = cat->mask;
        f->slots = ldr_malloc((cat->mask + 1) * sizeof(*f->slots));
        memcpy(f->slots, cat->slots, (cat->mask + 1) * sizeof(*f->slots));
    }
    ldr__intern_copy(&f->categories, &cat->categories);
    ldr__intern_copy(&f->brands, &cat->brands);
    ldr__intern_copy(&f->tags, &cat->tags);
    return f;
}

typedef struct ldr__catalog_load {
    ldr_catalog_t *cat;
    ldr__jsonl_scratch_t scratch; /* tokens and unescaped strings, reused by every line */
} ldr__catalog_load_t;

static int ldr__catalog_line(void *arg, const char *line, size_t len, ldr_error_t *err)
{
    ldr__catalog_load_t *ld = arg;
    ldr__json_line_t ln;
    ldr_product_input_t in;
    if (ldr__json_object(&ld->scratch, line, len, &ln, err) != LDR_OK ||
        ldr__product_from_json(&ln, &in, err) != LDR_OK)
        return LDR_EPARSE;
    /* in borrows from the line and the scratch, owns nothing: no ldr_product_input_clear */
    bool dup = false;
    int rc = ldr__upsert(ld->cat, &in, NULL, &dup);
    if (dup)
        snprintf(err->message, sizeof(err->message),
                 "field \"sku\": duplicate sku \"%.*s\" (already in this load)", (int)in.p.sku.len,
                 in.p.sku.ptr);
    else if (rc == LDR_EFULL)
        snprintf(err->message, sizeof(err->message), "the catalog is full (%u products)",
                 LDR_DOC_MAX);
    return rc;
}

int ldr_catalog_load_jsonl(ldr_catalog_t *cat, const char *buf, size_t len, ldr_reject_cb reject,
                           void *ctx, ldr_load_result_t *result)
{
    ldr__catalog_load_t ld = {.cat = cat};
    cat->load_gen++;
    int rc = ldr__jsonl_each(buf, len, ldr__catalog_line, &ld, reject, ctx, result);
    cat->load_gen++; /* a later load or upsert never sees this load's stamps as its own */
    ldr__jsonl_scratch_free(&ld.scratch);
    return rc;
}

typedef struct ldr__each {
    ldr_product_line_cb cb;
    void *ctx;
    ldr__jsonl_scratch_t scratch;
} ldr__each_t;

static int ldr__each_line(void *arg, const char *line, size_t len, ldr_error_t *err)
{
    ldr__each_t *e = arg;
    ldr__json_line_t ln;
    ldr_product_input_t in;
    if (ldr__json_object(&e->scratch, line, len, &ln, err) != LDR_OK ||
        ldr__product_from_json(&ln, &in, err) != LDR_OK)
        return LDR_EPARSE;
    return e->cb(e->ctx, &in, err);
}

int ldr_products_each(const char *buf, size_t len, ldr_product_line_cb cb, void *ctx,
                      ldr_reject_cb reject, void *reject_ctx, ldr_load_result_t *result)
{
    ldr__each_t e = {.cb = cb, .ctx = ctx};
    int rc = ldr__jsonl_each(buf, len, ldr__each_line, &e, reject, reject_ctx, result);
    ldr__jsonl_scratch_free(&e.scratch);
    return rc;
}
