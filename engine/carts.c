/*
 * The carts table: open addressing over the owner, a cart a slot (malloc'ed; a 200-line cart is
 * about 15 KB, allocated once).  An emptied cart is removed with backward-shift deletion.
 */
#include "larder/carts.h"

#include <string.h>

#include "larder/intern.h"

struct ldr_carts {
    ldr_cart_t **slots;
    uint32_t mask, count;
};

ldr_carts_t *ldr_carts_new(void)
{
    ldr_carts_t *c = ldr_calloc(1, sizeof(*c));
    c->mask = 63;
    c->slots = ldr_calloc(c->mask + 1, sizeof(*c->slots));
    return c;
}

void ldr_carts_free(ldr_carts_t *c)
{
    if (c == NULL)
        return;
    for (uint32_t i = 0; i <= c->mask; i++)
        ldr_free(c->slots[i]);
    ldr_free(c->slots);
    ldr_free(c);
}

uint32_t ldr_carts_count(const ldr_carts_t *c)
{
    return c->count;
}

static uint32_t ldr__slot(const ldr_carts_t *c, const char *owner, size_t len)
{
    uint32_t i = (uint32_t)ldr_hash(owner, len) & c->mask;
    while (c->slots[i] != NULL &&
           !(strlen(c->slots[i]->owner) == len && memcmp(c->slots[i]->owner, owner, len) == 0))
        i = (i + 1) & c->mask;
    return i;
}

const ldr_cart_t *ldr_carts_find(const ldr_carts_t *c, const char *owner, size_t len)
{
    return len > LDR_USER_ID_MAX ? NULL : c->slots[ldr__slot(c, owner, len)];
}

static void ldr__grow(ldr_carts_t *c)
{
    ldr_cart_t **old = c->slots;
    uint32_t oldmask = c->mask;
    c->mask = c->mask * 2 + 1;
    c->slots = ldr_calloc(c->mask + 1, sizeof(*c->slots));
    for (uint32_t i = 0; i <= oldmask; i++)
        if (old[i] != NULL)
            c->slots[ldr__slot(c, old[i]->owner, strlen(old[i]->owner))] = old[i];
    ldr_free(old);
}

/* Removes slot i, shifting back the entries that probed past it. */
static void ldr__remove(ldr_carts_t *c, uint32_t i)
{
    ldr_free(c->slots[i]);
    c->slots[i] = NULL;
    c->count--;
    for (uint32_t j = (i + 1) & c->mask; c->slots[j] != NULL; j = (j + 1) & c->mask) {
        ldr_cart_t *x = c->slots[j];
        c->slots[j] = NULL;
        c->slots[ldr__slot(c, x->owner, strlen(x->owner))] = x;
    }
}

static void ldr__set_line(ldr_cart_line_t *l, int32_t quantity, bool substitution_allowed,
                          const char *replacement, size_t rlen)
{
    l->quantity = quantity;
    l->substitution_allowed = substitution_allowed;
    if (rlen > 0) /* an empty one may come as NULL */
        memcpy(l->replacement, replacement, rlen);
    l->replacement[rlen] = '\0';
}

int ldr_carts_set(ldr_carts_t *c, const char *owner, size_t olen, const char *sku, size_t slen,
                  int32_t quantity, bool substitution_allowed, const char *replacement, size_t rlen)
{
    uint32_t i = ldr__slot(c, owner, olen);
    ldr_cart_t *cart = c->slots[i];
    uint32_t k = 0;
    while (cart != NULL && k < cart->nlines &&
           !(strlen(cart->lines[k].sku) == slen && memcmp(cart->lines[k].sku, sku, slen) == 0))
        k++;
    bool found = cart != NULL && k < cart->nlines;
    if (quantity == 0) {
        if (!found)
            return LDR_ENOENT;
        memmove(&cart->lines[k], &cart->lines[k + 1],
                (cart->nlines - k - 1) * sizeof(cart->lines[0]));
        if (--cart->nlines == 0)
            ldr__remove(c, i);
        return LDR_OK;
    }
    if (found) {
        ldr__set_line(&cart->lines[k], quantity, substitution_allowed, replacement, rlen);
        return LDR_OK;
    }
    if (cart != NULL && cart->nlines == LDR_CART_LINES_MAX)
        return LDR_EFULL;
    if (cart == NULL) {
        if ((c->count + 1) * 2 > c->mask + 1) {
            ldr__grow(c);
            i = ldr__slot(c, owner, olen);
        }
        cart = ldr_calloc(1, sizeof(*cart));
        memcpy(cart->owner, owner, olen);
        c->slots[i] = cart;
        c->count++;
    }
    ldr_cart_line_t *l = &cart->lines[cart->nlines++];
    memcpy(l->sku, sku, slen);
    l->sku[slen] = '\0';
    ldr__set_line(l, quantity, substitution_allowed, replacement, rlen);
    return LDR_OK;
}

void ldr_carts_each(const ldr_carts_t *c, void (*cb)(void *ctx, const ldr_cart_t *cart), void *ctx)
{
    for (uint32_t i = 0; i <= c->mask; i++)
        if (c->slots[i] != NULL)
            cb(ctx, c->slots[i]);
}
