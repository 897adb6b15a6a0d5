/*
 * larder — the deterministic demo catalog generator (`larder gen-catalog`, `serve --demo`).
 *
 * Output is a pure function of the options: the same options give byte-identical files.  Products
 * are written as JSON Lines in the product format of API.md, stock as JSON Lines of
 * {"sku","store","lot","quantity","expires_at"?}.  Expiry dates are relative to `today`.
 */
#ifndef LARDER_GEN_H
#define LARDER_GEN_H

#include <stdint.h>
#include <stdio.h>

typedef struct ldr_gen_opts {
    uint32_t skus;   /* number of products, >= 1 */
    uint64_t seed;   /* PRNG seed */
    uint32_t stores; /* number of stores, >= 1; the first is "default" */
    int64_t
        today; /* start of the reference day, seconds since the epoch (UTC, multiple of 86400) */
} ldr_gen_opts_t;

/**
 * Writes `opts->skus` products to `catalog` and their lots in every store to `stock` (either may
 * be NULL to skip it).  Returns LDR_OK, LDR_EINVAL for bad options or LDR_EIO on a write error.
 */
int ldr_gen_catalog(const ldr_gen_opts_t *opts, FILE *catalog, FILE *stock);

/** Writes the id of store `i` (0-based) as gen-catalog names it into buf; returns buf. */
const char *ldr_gen_store_id(uint32_t i, char *buf, size_t bufsize);

#endif
