/*
 * larder — the catalog: products, their interned categories, brands and tags, and SKU lookup.
 *
 * Products live in a catalog-owned string arena; a product is addressed by a dense document id
 * (`doc`, 0-based, never reused) that the search index and the stock table share.  SKU → doc goes
 * through an open-addressing table keyed by XXH3.  A product record is immutable once published:
 * an upsert publishes a new record for the same doc and leaves the old one in the arena (reclaimed
 * when the catalog is freed).  Pointers handed out stay valid until ldr_catalog_free().
 *
 * Threads: one writer (the engine thread, once serving: product changes are engine commands) and
 * no concurrent readers of the same catalog, except through the writer's own locking.  Others
 * read a frozen copy (ldr_catalog_freeze), which never changes and which any number of threads
 * may read at once.
 */
#ifndef LARDER_CATALOG_H
#define LARDER_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "larder/buf.h"
#include "larder/common.h"
#include "larder/intern.h"

enum { LDR_LANG_EN = 0, LDR_LANG_VI = 1, LDR_LANG_COUNT = 2 };

#define LDR_SKU_MAX 64
/** Doc ids stay below this bound, so per-doc arrays elsewhere can trust them. */
#define LDR_DOC_MAX  (1u << 28)
#define LDR_NO_BRAND UINT32_MAX

/** One product.  Absent strings have ptr == NULL and len == 0; strings are NUL-terminated. */
typedef struct ldr_product {
    ldr_str_t sku;
    ldr_str_t name[LDR_LANG_COUNT];
    ldr_str_t description[LDR_LANG_COUNT];
    ldr_str_t unit;
    int64_t price;           /* VND, >= 0 */
    uint32_t category;       /* id in ldr_catalog_categories() */
    uint32_t brand;          /* id in ldr_catalog_brands(), or LDR_NO_BRAND */
    int32_t shelf_life_days; /* -1 when absent */
    bool perishable;
    uint16_t ntags;
    uint16_t nsubstitutes;
    const uint32_t *tags;         /* ids in ldr_catalog_tags() */
    const ldr_str_t *substitutes; /* SKUs as given; they need not exist */
} ldr_product_t;

/**
 * A validated product that is not yet in a catalog.  Strings are not NUL-terminated.  A string
 * written without escapes borrows from the JSON text given to ldr_product_parse(), which must
 * therefore stay unchanged while the input is used; one with escapes was unescaped into
 * `_strings`, which the input owns.  All are valid until ldr_product_input_clear().
 */
typedef struct ldr_product_input {
    ldr_product_t p;
    ldr_str_t category;
    ldr_str_t brand;
    ldr_str_t tags[32];        /* p.ntags of them */
    ldr_str_t substitutes[32]; /* p.substitutes points here */
    ldr_buf_t _strings;        /* owned: unescaped strings (empty when none had escapes) */
} ldr_product_input_t;

#define LDR_PRODUCT_MAX_LIST 32

/** A parse or validation error: a constant-style message and the byte position, when known. */
typedef struct ldr_error {
    char message[256];
    long position;  /* byte offset in the input, or -1 */
    char field[64]; /* the field the message is about ("name.en"), or empty */
} ldr_error_t;

typedef struct ldr_catalog ldr_catalog_t;

ldr_catalog_t *ldr_catalog_new(void);
void ldr_catalog_free(ldr_catalog_t *cat);

/** Number of live products. */
uint32_t ldr_catalog_count(const ldr_catalog_t *cat);
/** One past the highest document id ever assigned. */
uint32_t ldr_catalog_doc_limit(const ldr_catalog_t *cat);

/** The product with this SKU, or NULL; stores its doc id in *doc when doc is not NULL. */
const ldr_product_t *ldr_catalog_find(const ldr_catalog_t *cat, const char *sku, size_t len,
                                      uint32_t *doc);
/** The product with this doc id, or NULL when the id is unused or deleted. */
const ldr_product_t *ldr_catalog_doc(const ldr_catalog_t *cat, uint32_t doc);

/**
 * The engine's view: the latest record of a SKU that was ever in the catalog, deleted or not (a
 * deleted product keeps its doc and its stock), or NULL for a SKU never seen.
 */
const ldr_product_t *ldr_catalog_lookup(const ldr_catalog_t *cat, const char *sku, size_t len,
                                        uint32_t *doc);
/** The latest record of doc, deleted or not; NULL when the id was never assigned. */
const ldr_product_t *ldr_catalog_record(const ldr_catalog_t *cat, uint32_t doc);

/**
 * Deletes the live product with this SKU (its doc, record and stock stay; an upsert brings it
 * back).  Returns LDR_OK, or LDR_ENOENT when there is no such live product.
 */
int ldr_catalog_delete(ldr_catalog_t *cat, const char *sku, size_t len, uint32_t *doc);

/** True when the record of `p` says exactly what `in` says (in->p.sku included). */
bool ldr_catalog_same(const ldr_catalog_t *cat, const ldr_product_t *p,
                      const ldr_product_input_t *in);

/**
 * Whether doc's current state (its record, or its deletion) came from the log rather than from a
 * catalog file: snapshots keep exactly these products (larder/snapshot.h).
 */
bool ldr_catalog_logged(const ldr_catalog_t *cat, uint32_t doc);
void ldr_catalog_set_logged(ldr_catalog_t *cat, uint32_t doc);

/** A counter every upsert and delete bumps; any thread may read it (acquire). */
uint64_t ldr_catalog_changes(const ldr_catalog_t *cat);

/**
 * A read-only copy of the catalog as it is now, sharing the immutable product records: its
 * copies of the doc table, the SKU table and the interned names take about 48 bytes per product.
 * Free it with ldr_catalog_free() before the original; never upsert into it.
 */
ldr_catalog_t *ldr_catalog_freeze(const ldr_catalog_t *cat);

/**
 * Appends p as one JSON object in the import format (API.md): what ldr_product_parse() reads back
 * to the same product.  Absent fields and empty lists are left out.
 */
void ldr_catalog_product_json(const ldr_catalog_t *cat, const ldr_product_t *p, ldr_buf_t *b);
/** The same for a parsed product. */
void ldr_product_render(const ldr_product_input_t *in, ldr_buf_t *b);

const ldr_intern_t *ldr_catalog_categories(const ldr_catalog_t *cat);
const ldr_intern_t *ldr_catalog_brands(const ldr_catalog_t *cat);
const ldr_intern_t *ldr_catalog_tags(const ldr_catalog_t *cat);

/**
 * Parses and validates one product JSON object.  On success *in must be released with
 * ldr_product_input_clear() and borrows from json[0..len) until then (see ldr_product_input_t);
 * on failure (LDR_EPARSE) err says what and where and nothing needs releasing.  Unknown fields,
 * duplicate keys, wrong types and out-of-range values are errors.
 */
int ldr_product_parse(const char *json, size_t len, ldr_product_input_t *in, ldr_error_t *err);
void ldr_product_input_clear(ldr_product_input_t *in);

/** True if s is a valid SKU: 1..64 bytes of [A-Za-z0-9._-]. */
bool ldr_sku_valid(const char *s, size_t len);

/**
 * Inserts or replaces the product with in->p.sku, copying everything into the catalog.  Stores the
 * doc id in *doc when not NULL.  Returns LDR_OK, or LDR_EFULL when LDR_DOC_MAX products exist.
 */
int ldr_catalog_upsert(ldr_catalog_t *cat, const ldr_product_input_t *in, uint32_t *doc);

/** Called for every rejected line of a JSON Lines load; `message` is valid during the call. */
typedef void (*ldr_reject_cb)(void *ctx, uint64_t line, const char *message);

typedef struct ldr_load_result {
    uint64_t lines;    /* non-blank lines seen */
    uint64_t loaded;   /* lines applied */
    uint64_t rejected; /* lines refused, each reported through the callback */
} ldr_load_result_t;

/**
 * Loads products from JSON Lines in buf[0..len).  Every line is validated on its own; a bad line
 * is reported through `reject` (which may be NULL) and changes nothing.  A SKU that appears twice
 * in the same load is rejected on its second line.  Blank lines are skipped.  Returns LDR_OK.
 */
int ldr_catalog_load_jsonl(ldr_catalog_t *cat, const char *buf, size_t len, ldr_reject_cb reject,
                           void *ctx, ldr_load_result_t *result);

/** Called for every valid line of ldr_products_each(); a non-zero return rejects the line with
 *  err's message.  `in` borrows from the buffer and is valid during the call. */
typedef int (*ldr_product_line_cb)(void *ctx, const ldr_product_input_t *in, ldr_error_t *err);

/**
 * Validates products from JSON Lines in buf[0..len) as the loader does, handing each valid one to
 * cb instead of a catalog; a bad line goes to `reject` (which may be NULL).  Returns LDR_OK.
 */
int ldr_products_each(const char *buf, size_t len, ldr_product_line_cb cb, void *ctx,
                      ldr_reject_cb reject, void *reject_ctx, ldr_load_result_t *result);

#endif
