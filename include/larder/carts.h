/*
 * larder — carts: each account's server-side cart (SKU, quantity, whether checkout may
 * substitute and with what), engine state made durable by the log.  A line's substitution follows
 * the grocery convention: the best match (substitution_allowed, no replacement), a replacement the
 * customer chose (substitution_allowed and `replacement`: checkout tries that product only), or
 * none (substitution_allowed false).  Lines keep the order they were first added
 * in; prices are not stored (the shell prices a cart from the catalog when it shows it).
 */
#ifndef LARDER_CARTS_H
#define LARDER_CARTS_H

#include <stdbool.h>
#include <stdint.h>

#include "larder/catalog.h"
#include "larder/users.h"

#define LDR_CART_LINES_MAX    200  /* a checkout reserves at most this many lines */
#define LDR_CART_QUANTITY_MAX 1000 /* of one line */

typedef struct ldr_cart_line {
    char sku[LDR_SKU_MAX + 1];
    int32_t quantity;
    bool substitution_allowed;
    char replacement[LDR_SKU_MAX + 1]; /* the customer's chosen substitute; empty: best match */
} ldr_cart_line_t;

typedef struct ldr_cart {
    char owner[LDR_USER_ID_MAX + 1];
    uint32_t nlines;
    ldr_cart_line_t lines[LDR_CART_LINES_MAX];
} ldr_cart_t;

typedef struct ldr_carts ldr_carts_t;

ldr_carts_t *ldr_carts_new(void);
void ldr_carts_free(ldr_carts_t *c);
uint32_t ldr_carts_count(const ldr_carts_t *c);
/** The owner's cart, or NULL when it never had a line (or all were removed). */
const ldr_cart_t *ldr_carts_find(const ldr_carts_t *c, const char *owner, size_t len);
/**
 * Sets the owner's line for sku (its quantity, substitution_allowed and replacement, which may be
 * empty; rlen at most LDR_SKU_MAX): quantity 0 removes it.  Returns LDR_OK, LDR_EFULL when a new
 * line would pass LDR_CART_LINES_MAX, or LDR_ENOENT when a line to remove is not there (nothing
 * changes then).
 */
int ldr_carts_set(ldr_carts_t *c, const char *owner, size_t olen, const char *sku, size_t slen,
                  int32_t quantity, bool substitution_allowed, const char *replacement,
                  size_t rlen);
/** Calls cb for every cart (table order). */
void ldr_carts_each(const ldr_carts_t *c, void (*cb)(void *ctx, const ldr_cart_t *cart), void *ctx);

#endif
