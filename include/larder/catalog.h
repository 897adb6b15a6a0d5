/*
 * larder — the catalog: products, their interned categories, brands and tags, and SKU lookup.
 *
 * Products live in a catalog-owned string arena; a product is addressed by a dense document id
 * (`doc`, 0-based, never reused) that the search index and the stock table share.  SKU → doc goes
 * through an open-addressing table keyed by XXH3.  A product record is immutable once published:
 * an upsert publishes a new record for the same doc and leaves the old one in the arena (reclaimed
 * when the catalog is freed).  Pointers handed out stay valid until ldr_catalog_free().
 *
 * Threads: the catalog is built before serving and is read-only afterwards in this version; a
 * writer must be the only thread touching it.
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

#endif
