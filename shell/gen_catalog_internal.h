/*
 * larder — the vocabulary of the demo catalog generator (shell/gen_catalog.c).
 *
 * The tables live in shell/gen_catalog_words.c and are read-only static data.  Strings are UTF-8 in
 * NFC.  Every list inside a struct ends at its first NULL (or zero) entry or at its capacity, so a
 * table row reads as one line of data and the generator counts the entries once at start-up.
 */
#ifndef LARDER_GEN_CATALOG_INTERNAL_H
#define LARDER_GEN_CATALOG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LDR__GEN_MAX_SIZES     6
#define LDR__GEN_MAX_VARIANTS  8
#define LDR__GEN_MAX_BRANDS    12
#define LDR__GEN_MAX_ORIGINS   8
#define LDR__GEN_MAX_TEMPLATES 4
#define LDR__GEN_MAX_FAMILY    6 /* SKUs of one base product emitted in a row */

/* The product's English name is a proper noun ("Asian pears"): never lowercase its first letter. */
#define LDR__GEN_KEEP_CASE 1u

/** A top-level category: its path segment, the three-letter SKU prefix of its products, and
 *  whether its goods are fresh (only fresh goods from a Vietnamese origin get the "local" tag). */
typedef struct ldr__gen_top {
    const char *slug;
    const char *prefix;
    bool fresh;
} ldr__gen_top_t;

/** A pack size: the unit as the JSON shows it, its Vietnamese label (NULL: the same) and its price
 *  relative to the reference size of the set, in percent. */
typedef struct ldr__gen_size {
    const char *unit;
    const char *vi;
    uint16_t pct;
} ldr__gen_size_t;

typedef struct ldr__gen_sizes {
    ldr__gen_size_t v[LDR__GEN_MAX_SIZES]; /* ends at unit == NULL */
} ldr__gen_sizes_t;

/** A variant of a base product ("unsweetened"/"không đường"); en "" is the plain product, usually
 *  entry 0 of a set.  `tag` (or NULL) is added to the SKU's tags; `pct` scales the price. */
typedef struct ldr__gen_variant {
    const char *en;
    const char *vi;
    const char *tag;
    uint16_t pct;
} ldr__gen_variant_t;

typedef struct ldr__gen_variants {
    ldr__gen_variant_t v[LDR__GEN_MAX_VARIANTS]; /* ends at en == NULL */
} ldr__gen_variants_t;

/** A place of origin, named in descriptions and in the names of fresh goods ("Australian beef
 *  brisket"/"Gầu bò Úc"); `adj` is the English form before a noun (NULL: `en`).  Foreign origins
 * make a SKU "imported". */
typedef struct ldr__gen_origin {
    const char *en;
    const char *vi;
    const char *adj;
    bool foreign;
} ldr__gen_origin_t;

/** A description template pair.  Placeholders: $p the product name, $l the same with its first
 *  letter lowercased, $b the brand, $o the origin, $u the unit, $d the shelf life in days.  Entry 0
 *  of every set has no $b, so unbranded products always have a template. */
typedef struct ldr__gen_template {
    const char *en;
    const char *vi;
} ldr__gen_template_t;

typedef struct ldr__gen_templates {
    ldr__gen_template_t v[LDR__GEN_MAX_TEMPLATES]; /* ends at en == NULL */
} ldr__gen_templates_t;

/** A subcategory: where its products live and what they have in common. */
typedef struct ldr__gen_sub {
    const char *path;  /* "produce/vegetables" */
    uint8_t top;       /* index into ldr__gen_tops */
    uint8_t sizes;     /* default index into ldr__gen_size_sets */
    uint8_t variants;  /* default index into ldr__gen_variant_sets */
    uint8_t templates; /* index into ldr__gen_template_sets */
    bool perishable;
    uint16_t shelf_min; /* shelf life range in days; 0 = not stated */
    uint16_t shelf_max;
    uint16_t stock_max;                          /* the most units a store holds of one SKU */
    uint8_t origins[LDR__GEN_MAX_ORIGINS];       /* indices into ldr__gen_origins; ends at 0 */
    const char *brands[LDR__GEN_MAX_BRANDS + 1]; /* ends at NULL; "" is "no brand" */
} ldr__gen_sub_t;

/** A base product ("Fresh milk"/"Sữa tươi") and its price in VND for the reference size. */
typedef struct ldr__gen_product {
    uint8_t sub;      /* index into ldr__gen_subs */
    uint8_t flags;    /* LDR__GEN_KEEP_CASE */
    uint8_t sizes;    /* 0: the subcategory's */
    uint8_t variants; /* 0: the subcategory's */
    uint8_t origin;   /* 0: one of the subcategory's */
    const char *en;
    const char *vi;
    uint32_t price;
} ldr__gen_product_t;

extern const ldr__gen_top_t ldr__gen_tops[];
extern const size_t ldr__gen_ntops;
extern const ldr__gen_sizes_t ldr__gen_size_sets[];
extern const size_t ldr__gen_nsize_sets;
extern const ldr__gen_variants_t ldr__gen_variant_sets[];
extern const size_t ldr__gen_nvariant_sets;
extern const ldr__gen_origin_t ldr__gen_origins[]; /* entry 0 is the fallback, "Vietnam" */
extern const size_t ldr__gen_norigins;
extern const ldr__gen_templates_t ldr__gen_template_sets[];
extern const size_t ldr__gen_ntemplate_sets;
extern const ldr__gen_sub_t ldr__gen_subs[];
extern const size_t ldr__gen_nsubs;
extern const ldr__gen_product_t ldr__gen_products[];
extern const size_t ldr__gen_nproducts;
extern const char *const ldr__gen_store_names[]; /* store ids after "default" */
extern const size_t ldr__gen_nstore_names;

#endif
