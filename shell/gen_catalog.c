/*
 * The demo catalog generator: a Vietnamese grocery chain's products and stock, as JSON Lines.
 *
 * How a catalog is composed
 *
 * The vocabulary (gen_catalog_words.c) holds some 640 base products ("Fresh milk"/"Sữa tươi"),
 * each in one of 76 subcategories ("dairy/milk") that lists its brands, pack sizes, variants
 * ("unsweetened"/"không đường"), origins and description templates.  A SKU is one combination of a
 * base product with a brand, a size and a variant; fresh goods (produce, meat, seafood) may also
 * carry their origin in the name, as Vietnamese shops label them ("Cà chua bi Đà Lạt", "Gầu bò
 * Úc").  The generator
 *
 *   1. picks a base product with probability proportional to brands x sizes x variants, so
 *      packaged goods with many brands and sizes outnumber fresh produce, as on a real shelf
 *      (about a quarter of the SKUs are fresh);
 *   2. emits a family of 1-6 SKUs of that product in a row.  The members are each other's
 *      substitutes, so every substitute names a SKU that exists in the file (possibly a later one),
 *      and a catalog of N SKUs is a prefix of one of N+M SKUs from the same seed except for the
 *      last, cut-short family;
 *   3. draws each member's combination from a per-product permutation of all its combinations
 *      (an incremental Fisher-Yates shuffle).  A product that has used every combination gives way
 *      to another, so names are unique until most of the ~140,000 combinations are used; larger
 *      catalogs (up to 10 million SKUs) start new rounds and repeat names.
 *
 * Prices are the base price scaled by size, variant and a brand premium derived from the brand
 * name, with a few percent of noise, rounded to 500 VND (1,000 VND above 100,000).
 *
 * Stock is written right after each product, for every store, so the generator streams with
 * memory independent of the catalog size.  It draws from a generator seeded by (seed, SKU number,
 * store) rather than from the catalog stream: the stock of store "default" does not change when
 * more stores are asked for, and the catalog does not change when stock is skipped.  Each store
 * lacks a SKU entirely 5-8 % of the time; otherwise it holds 1-3 lots received in the last weeks,
 * named after their day of receipt ("L20261125-01").  A perishable lot expires within its shelf
 * life of `today` (some within 48 hours, none in the past), others 6-24 months ahead or never.
 *
 * Everything is a pure function of the options: xoshiro256** seeded through splitmix64, integer
 * arithmetic only, no clock and no locale.  Output goes through one buffer per file, written in
 * 64 KiB chunks.
 */
#include "larder/gen.h"

#include <stdio.h>
#include <string.h>

#include "gen_catalog_internal.h"
#include "larder/buf.h"
#include "larder/common.h"

#define LDR__GEN_MAX_SKUS   10000000u
#define LDR__GEN_MAX_STORES 1000u
#define LDR__GEN_CHUNK      (64u * 1024u)
#define LDR__GEN_DAY        86400
#define LDR__GEN_MAX_AGE    90 /* days a lot may have been on the shelf */
#define LDR__GEN_MAX_TAGS   6

/* ---- random numbers -------------------------------------------------------------------------- */

static inline uint64_t ldr__gen_splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* A uniform integer in [0, n) from the high bits of x (Lemire's multiply-shift; the bias for the
 * small n used here is below 2^-32 and, more to the point, deterministic). */
static inline uint32_t ldr__gen_below(uint64_t x, uint32_t n)
{
    return (uint32_t)(((x >> 32) * (uint64_t)n) >> 32);
}

typedef struct ldr__gen_rng {
    uint64_t s[4];
} ldr__gen_rng_t;

static void ldr__gen_rng_seed(ldr__gen_rng_t *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = ldr__gen_splitmix(&seed);
}

static inline uint64_t ldr__gen_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
static inline uint64_t ldr__gen_next(ldr__gen_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t out = ldr__gen_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ldr__gen_rotl(s[3], 45);
    return out;
}

static inline uint32_t ldr__gen_rand(ldr__gen_rng_t *r, uint32_t n)
{
    return ldr__gen_below(ldr__gen_next(r), n);
}

/* ---- the vocabulary, counted ----------------------------------------------------------------- */

/* A base product with its lists resolved and counted once. */
typedef struct ldr__gen_item {
    const ldr__gen_product_t *p;
    const ldr__gen_sub_t *sub;
    const ldr__gen_size_t *sizes;
    const ldr__gen_variant_t *variants;
    const char *prefix;
    uint8_t nbrands, nsizes, nvariants, norigins;
    uint8_t nplaces;     /* ways to name the origin: 1 (never named) or 1 + its origins */
    uint16_t shelf_life; /* days; 0 = not stated */
    uint32_t capacity;   /* nbrands * nsizes * nvariants * nplaces */
    uint32_t weight;     /* nbrands * nsizes * nvariants: how often it is picked */
    uint32_t perm;       /* offset of its permutation in ldr__gen_t.perm */
    uint32_t cursor;     /* combinations handed out from the current round */
} ldr__gen_item_t;

typedef struct ldr__gen_store {
    char id[24];
    uint16_t oos_permille; /* how often this store has none of a SKU */
} ldr__gen_store_t;

typedef struct ldr__gen {
    const ldr_gen_opts_t *opts;
    ldr__gen_rng_t rng;
    ldr__gen_item_t *items;
    uint32_t nitems;
    uint32_t *cumulative; /* running sum of capacities, for the weighted pick */
    uint32_t total;
    uint16_t *perm;
    ldr__gen_store_t *stores;
    char receipt_day[LDR__GEN_MAX_AGE + 1][9]; /* "YYYYMMDD" of today minus i days */
    ldr_buf_t out_catalog, out_stock;
    ldr_buf_t en, vi; /* scratch for one string at a time */
} ldr__gen_t;

/* One SKU as drawn, before it is written. */
typedef struct ldr__gen_sku {
    const ldr__gen_item_t *item;
    char sku[24];
    size_t skulen;
    const char *brand; /* "" when unbranded */
    const ldr__gen_size_t *size;
    const ldr__gen_variant_t *variant;
    const ldr__gen_origin_t *origin;
    bool origin_in_name;
    uint32_t template_index; /* any number; taken modulo the size of the template set */
    int64_t price;
    bool family_size;
    const char *tags[LDR__GEN_MAX_TAGS];
    uint32_t ntags;
} ldr__gen_sku_t;

static uint8_t ldr__gen_count_brands(const ldr__gen_sub_t *sub)
{
    uint8_t n = 0;
    while (n < LDR_ARRAY_SIZE(sub->brands) && sub->brands[n] != NULL)
        n++;
    return n;
}

static uint8_t ldr__gen_count_origins(const ldr__gen_sub_t *sub)
{
    uint8_t n = 0;
    while (n < LDR__GEN_MAX_ORIGINS && sub->origins[n] != 0)
        n++;
    return n;
}

/* A fixed hash of a string (FNV-1a): brand premiums must not depend on the seed. */
static uint32_t ldr__gen_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void ldr__gen_init_items(ldr__gen_t *g)
{
    g->nitems = (uint32_t)ldr__gen_nproducts;
    g->items = ldr_calloc(g->nitems, sizeof(*g->items));
    g->cumulative = ldr_calloc(g->nitems, sizeof(*g->cumulative));
    uint32_t total = 0, perm_total = 0;
    for (uint32_t i = 0; i < g->nitems; i++) {
        ldr__gen_item_t *it = &g->items[i];
        const ldr__gen_product_t *p = &ldr__gen_products[i];
        const ldr__gen_sub_t *sub = &ldr__gen_subs[p->sub];
        it->p = p;
        it->sub = sub;
        it->prefix = ldr__gen_tops[sub->top].prefix;
        it->sizes = ldr__gen_size_sets[p->sizes ? p->sizes : sub->sizes].v;
        it->variants = ldr__gen_variant_sets[p->variants ? p->variants : sub->variants].v;
        while (it->nsizes < LDR__GEN_MAX_SIZES && it->sizes[it->nsizes].unit != NULL)
            it->nsizes++;
        while (it->nvariants < LDR__GEN_MAX_VARIANTS && it->variants[it->nvariants].en != NULL)
            it->nvariants++;
        it->nbrands = ldr__gen_count_brands(sub);
        it->norigins = ldr__gen_count_origins(sub);
        if (sub->shelf_max != 0) {
            /* per product, not per seed: "Fresh milk" keeps the same shelf life in every catalog */
            uint64_t h = i * 0x2545f4914f6cdd1du;
            it->shelf_life =
                (uint16_t)(sub->shelf_min + ldr__gen_below(ldr__gen_splitmix(&h),
                                                           sub->shelf_max - sub->shelf_min + 1u));
        }
        /* fresh goods are sold under their origin ("Cà chua bi Đà Lạt", "Gầu bò Úc") */
        it->nplaces = 1;
        if (ldr__gen_tops[sub->top].fresh)
            it->nplaces = (uint8_t)(1 + (p->origin != 0 ? 1 : it->norigins));
        it->weight = (uint32_t)it->nbrands * it->nsizes * it->nvariants;
        it->capacity = it->weight * it->nplaces;
        it->perm = perm_total;
        perm_total += it->capacity;
        total += it->weight;
        g->cumulative[i] = total;
    }
    g->total = total;
    g->perm = ldr_malloc((size_t)perm_total * sizeof(*g->perm));
    for (uint32_t i = 0; i < g->nitems; i++)
        for (uint32_t c = 0; c < g->items[i].capacity; c++)
            g->perm[g->items[i].perm + c] = (uint16_t)c;
}

static void ldr__gen_init_stores(ldr__gen_t *g)
{
    const ldr_gen_opts_t *o = g->opts;
    g->stores = ldr_calloc(o->stores, sizeof(*g->stores));
    for (uint32_t s = 0; s < o->stores; s++) {
        uint64_t h = o->seed ^ (0x5bd1e9955bd1e995u * (s + 1));
        ldr_gen_store_id(s, g->stores[s].id, sizeof(g->stores[s].id));
        g->stores[s].oos_permille = (uint16_t)(50 + ldr__gen_below(ldr__gen_splitmix(&h), 31));
    }
    int64_t day0 = o->today - ((o->today % LDR__GEN_DAY) + LDR__GEN_DAY) % LDR__GEN_DAY;
    for (int a = 0; a <= LDR__GEN_MAX_AGE; a++) {
        char ts[32];
        ldr_time_format_rfc3339(day0 - (int64_t)a * LDR__GEN_DAY, ts);
        char *d = g->receipt_day[a];
        memcpy(d, ts, 4);
        memcpy(d + 4, ts + 5, 2);
        memcpy(d + 6, ts + 8, 2);
        d[8] = '\0';
    }
}

/* ---- drawing a SKU --------------------------------------------------------------------------- */

static ldr__gen_item_t *ldr__gen_pick_item(ldr__gen_t *g)
{
    ldr__gen_item_t *it = NULL;
    /* a product that has used all its combinations gives way to another, so names stay unique
     * until nearly all of them are used; after that, names repeat */
    for (int attempt = 0; attempt < 16; attempt++) {
        uint32_t r = ldr__gen_rand(&g->rng, g->total), lo = 0, hi = g->nitems - 1;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (g->cumulative[mid] > r)
                hi = mid;
            else
                lo = mid + 1;
        }
        it = &g->items[lo];
        if (it->cursor < it->capacity)
            break;
    }
    return it;
}

/* The next combination of an item, in the order of an incremental Fisher-Yates shuffle. */
static uint32_t ldr__gen_draw_combination(ldr__gen_t *g, ldr__gen_item_t *it)
{
    if (it->cursor == it->capacity)
        it->cursor = 0; /* every combination used: start a new round (names repeat from here) */
    uint16_t *perm = g->perm + it->perm;
    uint32_t j = it->cursor + ldr__gen_rand(&g->rng, it->capacity - it->cursor);
    uint16_t c = perm[j];
    perm[j] = perm[it->cursor];
    perm[it->cursor++] = c;
    return c;
}

static size_t ldr__gen_format_sku(char *out, const char *prefix, uint32_t number)
{
    char digits[12];
    int n = 0;
    do {
        digits[n++] = (char)('0' + number % 10);
        number /= 10;
    } while (number != 0);
    while (n < 6)
        digits[n++] = '0';
    size_t len = 0;
    for (const char *p = prefix; *p != '\0'; p++)
        out[len++] = *p;
    out[len++] = '-';
    while (n > 0)
        out[len++] = digits[--n];
    out[len] = '\0';
    return len;
}

static int64_t ldr__gen_round_price(uint64_t p)
{
    uint64_t step = p < 100000 ? 500 : 1000;
    p = (p + step / 2) / step * step;
    return (int64_t)(p < 1000 ? 1000 : p);
}

static void ldr__gen_add_tag(ldr__gen_sku_t *k, const char *tag)
{
    if (tag == NULL || k->ntags == LDR__GEN_MAX_TAGS)
        return;
    for (uint32_t i = 0; i < k->ntags; i++)
        if (strcmp(k->tags[i], tag) == 0)
            return;
    k->tags[k->ntags++] = tag;
}

static void ldr__gen_draw_sku(ldr__gen_t *g, ldr__gen_item_t *it, uint32_t number,
                              ldr__gen_sku_t *k)
{
    uint32_t c = ldr__gen_draw_combination(g, it);
    const ldr__gen_sub_t *sub = it->sub;
    k->item = it;
    k->skulen = ldr__gen_format_sku(k->sku, it->prefix, number);
    k->brand = sub->brands[c % it->nbrands];
    c /= it->nbrands;
    uint32_t size_index = c % it->nsizes;
    k->size = &it->sizes[size_index];
    c /= it->nsizes;
    k->variant = &it->variants[c % it->nvariants];
    uint32_t place = c / it->nvariants; /* 0: origin not in the name */
    uint8_t origin = it->p->origin;
    if (origin == 0 && place != 0)
        origin = sub->origins[place - 1];
    else if (origin == 0 && it->norigins != 0)
        origin = sub->origins[ldr__gen_rand(&g->rng, it->norigins)];
    k->origin = &ldr__gen_origins[origin];
    k->origin_in_name = place != 0;
    k->template_index = (uint32_t)ldr__gen_next(&g->rng); /* reduced modulo the set's size */

    uint64_t brand_pct = k->brand[0] != '\0' ? 90 + ldr__gen_hash(k->brand) % 36 : 100;
    uint64_t noise_pct = 94 + ldr__gen_rand(&g->rng, 13);
    k->price = ldr__gen_round_price((uint64_t)it->p->price * k->size->pct * k->variant->pct *
                                    brand_pct * noise_pct / 100000000u);

    k->family_size = it->nsizes >= 3 && size_index == it->nsizes - 1u;
    k->ntags = 0;
    ldr__gen_add_tag(k, k->variant->tag);
    uint32_t local_roll = ldr__gen_rand(&g->rng, 100);
    if (k->origin->foreign)
        ldr__gen_add_tag(k, "imported");
    else if (origin != 0 && ldr__gen_tops[sub->top].fresh && (k->origin_in_name || local_roll < 30))
        ldr__gen_add_tag(k, "local");
    if (k->family_size)
        ldr__gen_add_tag(k, "family-size");
    if (ldr__gen_rand(&g->rng, 100) < 6)
        ldr__gen_add_tag(k, "bestseller");
    if (ldr__gen_rand(&g->rng, 100) < 4)
        ldr__gen_add_tag(k, "new");
}

/* ---- writing a product ----------------------------------------------------------------------- */

/* Appends s with its first letter lowercased, Vietnamese letters included, unless the word looks
 * like an acronym or code ("ST25", "MSG"). */
static void ldr__gen_put_lower_first(ldr_buf_t *b, const char *s, bool keep)
{
    const unsigned char *u = (const unsigned char *)s;
    if (keep || u[0] == '\0') {
        ldr_buf_puts(b, s);
        return;
    }
    uint32_t cp, len;
    if (u[0] < 0x80)
        cp = u[0], len = 1;
    else if ((u[0] & 0xe0) == 0xc0)
        cp = (uint32_t)(u[0] & 0x1f) << 6 | (u[1] & 0x3f), len = 2;
    else if ((u[0] & 0xf0) == 0xe0)
        cp = (uint32_t)(u[0] & 0x0f) << 12 | (uint32_t)(u[1] & 0x3f) << 6 | (u[2] & 0x3f), len = 3;
    else
        cp = 0, len = 0; /* not a letter this function knows */
    unsigned char next = len ? u[len] : 0;
    if (len == 0 || (next >= 'A' && next <= 'Z') || (next >= '0' && next <= '9')) {
        ldr_buf_puts(b, s);
        return;
    }
    if (cp >= 'A' && cp <= 'Z')
        cp += 32;
    else if (cp >= 0xc0 && cp <= 0xde && cp != 0xd7)
        cp += 32; /* À Á Â Ã È É Ê Ì Í Ò Ó Ô Õ Ù Ú Ý */
    else if (cp == 0x102 || cp == 0x110 || cp == 0x128 || cp == 0x168 || cp == 0x1a0)
        cp += 1; /* Ă Đ Ĩ Ũ Ơ */
    else if (cp == 0x1af)
        cp = 0x1b0; /* Ư */
    else if (cp >= 0x1ea0 && cp <= 0x1ef9 && cp % 2 == 0)
        cp += 1; /* Ạ … Ỹ: upper and lower case alternate */
    /* every mapping above keeps the UTF-8 length, so the rest of s follows unchanged */
    char enc[3];
    if (len == 1)
        enc[0] = (char)cp;
    else if (len == 2)
        enc[0] = (char)(0xc0 | cp >> 6), enc[1] = (char)(0x80 | (cp & 0x3f));
    else
        enc[0] = (char)(0xe0 | cp >> 12), enc[1] = (char)(0x80 | ((cp >> 6) & 0x3f)),
        enc[2] = (char)(0x80 | (cp & 0x3f));
    ldr_buf_append(b, enc, len);
    ldr_buf_puts(b, s + len);
}

/* Appends one word group of an English name; the name's first letter is a capital. */
static void ldr__gen_put_word(ldr_buf_t *b, const char *w, bool *first)
{
    if (!*first)
        ldr_buf_putc(b, ' ');
    size_t at = b->len;
    ldr_buf_puts(b, w);
    if (*first && b->base[at] >= 'a' && b->base[at] <= 'z')
        b->base[at] = (char)(b->base[at] - 32);
    *first = false;
}

/* "Vinamilk unsweetened fresh milk 1L", "Organic Da Lat cherry tomatoes 500g": brand, variant,
 * origin and product in English word order. */
static void ldr__gen_name_en(ldr_buf_t *b, const ldr__gen_sku_t *k)
{
    const ldr__gen_product_t *p = k->item->p;
    bool first = true;
    ldr_buf_reset(b);
    if (k->brand[0] != '\0')
        ldr__gen_put_word(b, k->brand, &first);
    if (k->variant->en[0] != '\0')
        ldr__gen_put_word(b, k->variant->en, &first);
    if (k->origin_in_name)
        ldr__gen_put_word(b, k->origin->adj != NULL ? k->origin->adj : k->origin->en, &first);
    if (first) {
        ldr_buf_puts(b, p->en);
    } else {
        ldr_buf_putc(b, ' ');
        ldr__gen_put_lower_first(b, p->en, (p->flags & LDR__GEN_KEEP_CASE) != 0);
    }
    ldr_buf_putc(b, ' ');
    ldr_buf_puts(b, k->size->unit);
}

/* "Sữa tươi không đường Vinamilk 1L", "Cà chua bi Đà Lạt hữu cơ 500g": Vietnamese puts origin,
 * qualifiers and brand after the noun. */
static void ldr__gen_name_vi(ldr_buf_t *b, const ldr__gen_sku_t *k)
{
    ldr_buf_reset(b);
    ldr_buf_puts(b, k->item->p->vi);
    if (k->origin_in_name) {
        ldr_buf_putc(b, ' ');
        ldr_buf_puts(b, k->origin->vi);
    }
    if (k->variant->vi[0] != '\0') {
        ldr_buf_putc(b, ' ');
        ldr_buf_puts(b, k->variant->vi);
    }
    if (k->brand[0] != '\0') {
        ldr_buf_putc(b, ' ');
        ldr_buf_puts(b, k->brand);
    }
    ldr_buf_putc(b, ' ');
    ldr_buf_puts(b, k->size->vi != NULL ? k->size->vi : k->size->unit);
}

static const ldr__gen_template_t *ldr__gen_template(const ldr__gen_sku_t *k)
{
    const ldr__gen_template_t *set = ldr__gen_template_sets[k->item->sub->templates].v;
    uint32_t n = 0;
    while (n < LDR__GEN_MAX_TEMPLATES && set[n].en != NULL)
        n++;
    const ldr__gen_template_t *t = &set[k->template_index % n];
    /* template 0 never needs a brand or a shelf life */
    if ((k->brand[0] == '\0' && strstr(t->en, "$b") != NULL) ||
        (k->item->shelf_life == 0 && strstr(t->en, "$d") != NULL))
        t = &set[0];
    return t;
}

static void ldr__gen_expand(ldr_buf_t *b, const char *tpl, const ldr__gen_sku_t *k, bool vi)
{
    const ldr__gen_product_t *p = k->item->p;
    const char *name = vi ? p->vi : p->en;
    bool keep = !vi && (p->flags & LDR__GEN_KEEP_CASE) != 0;
    ldr_buf_reset(b);
    for (const char *s = tpl; *s != '\0'; s++) {
        if (*s != '$' || s[1] == '\0') {
            ldr_buf_putc(b, *s);
            continue;
        }
        switch (*++s) {
        case 'p':
            ldr_buf_puts(b, name);
            break;
        case 'l':
            ldr__gen_put_lower_first(b, name, keep);
            break;
        case 'b':
            ldr_buf_puts(b, k->brand);
            break;
        case 'o':
            ldr_buf_puts(b, vi ? k->origin->vi : k->origin->en);
            break;
        case 'u':
            ldr_buf_puts(b, vi && k->size->vi != NULL ? k->size->vi : k->size->unit);
            break;
        case 'd':
            ldr_buf_put_i64(b, k->item->shelf_life);
            break;
        default:
            ldr_buf_putc(b, '$');
            ldr_buf_putc(b, *s);
        }
    }
}

static void ldr__gen_put_lang(ldr_buf_t *out, const char *key, const ldr_buf_t *en,
                              const ldr_buf_t *vi)
{
    ldr_buf_json_key(out, key);
    ldr_buf_puts(out, "{\"en\":");
    ldr_buf_json_str(out, en->base, en->len);
    ldr_buf_puts(out, ",\"vi\":");
    ldr_buf_json_str(out, vi->base, vi->len);
    ldr_buf_putc(out, '}');
}

static void ldr__gen_write_product(ldr__gen_t *g, const ldr__gen_sku_t *k,
                                   const ldr__gen_sku_t *family, uint32_t nfamily, uint32_t self,
                                   uint32_t nsubstitutes)
{
    ldr_buf_t *out = &g->out_catalog;
    const ldr__gen_sub_t *sub = k->item->sub;

    ldr_buf_puts(out, "{\"sku\":");
    ldr_buf_json_str(out, k->sku, k->skulen);
    ldr_buf_putc(out, ',');
    ldr__gen_name_en(&g->en, k);
    ldr__gen_name_vi(&g->vi, k);
    ldr__gen_put_lang(out, "name", &g->en, &g->vi);
    ldr_buf_putc(out, ',');
    const ldr__gen_template_t *t = ldr__gen_template(k);
    ldr__gen_expand(&g->en, t->en, k, false);
    ldr__gen_expand(&g->vi, t->vi, k, true);
    ldr__gen_put_lang(out, "description", &g->en, &g->vi);
    ldr_buf_puts(out, ",\"category\":");
    ldr_buf_json_str(out, sub->path, strlen(sub->path));
    if (k->brand[0] != '\0') {
        ldr_buf_puts(out, ",\"brand\":");
        ldr_buf_json_str(out, k->brand, strlen(k->brand));
    }
    ldr_buf_puts(out, ",\"price\":");
    ldr_buf_put_i64(out, k->price);
    ldr_buf_puts(out, ",\"unit\":");
    ldr_buf_json_str(out, k->size->unit, strlen(k->size->unit));
    ldr_buf_puts(out, sub->perishable ? ",\"perishable\":true" : ",\"perishable\":false");
    if (k->item->shelf_life != 0) {
        ldr_buf_puts(out, ",\"shelf_life_days\":");
        ldr_buf_put_i64(out, k->item->shelf_life);
    }
    if (k->ntags != 0) {
        ldr_buf_puts(out, ",\"tags\":[");
        for (uint32_t i = 0; i < k->ntags; i++) {
            if (i != 0)
                ldr_buf_putc(out, ',');
            ldr_buf_json_str(out, k->tags[i], strlen(k->tags[i]));
        }
        ldr_buf_putc(out, ']');
    }
    if (nsubstitutes != 0) {
        /* the next members of the family, wrapping around: they exist once the family is out */
        ldr_buf_puts(out, ",\"substitutes\":[");
        for (uint32_t i = 1; i <= nsubstitutes; i++) {
            const ldr__gen_sku_t *s = &family[(self + i) % nfamily];
            if (i != 1)
                ldr_buf_putc(out, ',');
            ldr_buf_json_str(out, s->sku, s->skulen);
        }
        ldr_buf_putc(out, ']');
    }
    ldr_buf_puts(out, "}\n");
}

/* ---- writing stock --------------------------------------------------------------------------- */

static void ldr__gen_write_stock(ldr__gen_t *g, const ldr__gen_sku_t *k, uint32_t number)
{
    const ldr__gen_item_t *it = k->item;
    const ldr__gen_sub_t *sub = it->sub;
    const ldr_gen_opts_t *o = g->opts;
    uint32_t shelf = it->shelf_life;
    /* how long ago a lot may have arrived: perishables at least a day before they expire (and
     * within two months), others at least six months before, undated goods within two months */
    uint32_t max_age = 60;
    if (sub->perishable && shelf - 1 < max_age)
        max_age = shelf - 1;
    else if (!sub->perishable && shelf != 0)
        max_age = shelf > 180 ? shelf - 180 : 0;
    if (max_age > LDR__GEN_MAX_AGE)
        max_age = LDR__GEN_MAX_AGE;

    uint64_t base = o->seed ^ 0x6a09e667f3bcc909u;
    base = ldr__gen_splitmix(&base);
    for (uint32_t s = 0; s < o->stores; s++) {
        /* one hashed stream per (SKU, store); stores < 1024 keeps the key unique */
        uint64_t key = base ^ ((uint64_t)number << 10 | s), st = ldr__gen_splitmix(&key);
        if (ldr__gen_below(ldr__gen_splitmix(&st), 1000) < g->stores[s].oos_permille)
            continue;
        uint32_t roll = ldr__gen_below(ldr__gen_splitmix(&st), 100);
        uint32_t nlots = roll < 55 ? 1 : roll < 85 ? 2 : 3;
        /* the flagship holds more; big packs move slower */
        uint32_t qmax = sub->stock_max;
        if (s == 0)
            qmax = qmax * 3 / 2;
        if (k->family_size)
            qmax /= 3;
        if (qmax > 500)
            qmax = 500;
        uint32_t per_lot = qmax / nlots ? qmax / nlots : 1;

        uint32_t age[3];
        for (uint32_t l = 0; l < nlots; l++) {
            /* the younger of two draws: most stock arrived recently, a little is near its end */
            uint32_t a = ldr__gen_below(ldr__gen_splitmix(&st), max_age + 1), m = l;
            uint32_t a2 = ldr__gen_below(ldr__gen_splitmix(&st), max_age + 1);
            if (a2 < a)
                a = a2;
            for (; m > 0 && age[m - 1] < a; m--) /* oldest first: lot 01 was received first */
                age[m] = age[m - 1];
            age[m] = a;
        }
        for (uint32_t l = 0; l < nlots; l++) {
            ldr_buf_t *out = &g->out_stock;
            uint32_t quantity = 1 + ldr__gen_below(ldr__gen_splitmix(&st), per_lot);
            uint32_t hour = ldr__gen_below(ldr__gen_splitmix(&st), 24);
            char lot[16] = "L";
            memcpy(lot + 1, g->receipt_day[age[l]], 8);
            lot[9] = '-';
            lot[10] = (char)('0' + (l + 1) / 10);
            lot[11] = (char)('0' + (l + 1) % 10);
            ldr_buf_puts(out, "{\"sku\":");
            ldr_buf_json_str(out, k->sku, k->skulen);
            ldr_buf_puts(out, ",\"store\":");
            ldr_buf_json_str(out, g->stores[s].id, strlen(g->stores[s].id));
            ldr_buf_puts(out, ",\"lot\":");
            ldr_buf_json_str(out, lot, 12);
            ldr_buf_puts(out, ",\"quantity\":");
            ldr_buf_put_i64(out, quantity);
            if (shelf != 0) {
                /* received `age` days ago, so shelf - age days remain (at least one); perishables
                 * expire at some hour of their last day, which keeps them an hour or more ahead */
                int64_t left = (int64_t)(shelf - age[l]) * LDR__GEN_DAY;
                if (sub->perishable)
                    left -= (int64_t)hour * 3600;
                ldr_buf_puts(out, ",\"expires_at\":");
                ldr_buf_json_time(out, o->today + left);
            }
            ldr_buf_puts(out, "}\n");
        }
    }
}

/* ---- the driver ------------------------------------------------------------------------------ */

/* Writes the buffer out once it holds a chunk (or always, at the end); keeps the first error. */
static int ldr__gen_flush(ldr_buf_t *b, FILE *f, bool all)
{
    if (f == NULL || (!all && b->len < LDR__GEN_CHUNK))
        return LDR_OK;
    int rc = ldr_buf_write(b, f);
    ldr_buf_reset(b);
    return rc;
}

static int ldr__gen_run(ldr__gen_t *g, FILE *catalog, FILE *stock)
{
    const ldr_gen_opts_t *o = g->opts;
    ldr__gen_sku_t family[LDR__GEN_MAX_FAMILY];
    /* cumulative %, for families of 1 to LDR__GEN_MAX_FAMILY SKUs */
    static const uint8_t family_odds[LDR__GEN_MAX_FAMILY] = {20, 45, 65, 80, 90, 100};
    uint32_t number = 1;
    int rc = LDR_OK;

    while (number <= o->skus && rc == LDR_OK) {
        ldr__gen_item_t *it = ldr__gen_pick_item(g);
        uint32_t roll = ldr__gen_rand(&g->rng, 100), n = 1;
        while (roll >= family_odds[n - 1])
            n++;
        uint32_t left = it->capacity - it->cursor; /* keep a family within one round */
        if (n > (left != 0 ? left : it->capacity))
            n = left != 0 ? left : it->capacity;
        if (n > o->skus - number + 1)
            n = o->skus - number + 1;
        for (uint32_t j = 0; j < n; j++)
            ldr__gen_draw_sku(g, it, number + j, &family[j]);
        for (uint32_t j = 0; j < n; j++) {
            uint32_t nsub = n == 1 ? 0 : 1 + ldr__gen_rand(&g->rng, 3);
            if (nsub > n - 1)
                nsub = n - 1;
            if (catalog != NULL)
                ldr__gen_write_product(g, &family[j], family, n, j, nsub);
            if (stock != NULL)
                ldr__gen_write_stock(g, &family[j], number + j);
        }
        number += n;
        rc = ldr__gen_flush(&g->out_catalog, catalog, false);
        if (rc == LDR_OK)
            rc = ldr__gen_flush(&g->out_stock, stock, false);
    }
    if (rc == LDR_OK)
        rc = ldr__gen_flush(&g->out_catalog, catalog, true);
    if (rc == LDR_OK)
        rc = ldr__gen_flush(&g->out_stock, stock, true);
    /* a full disk often shows only when stdio's own buffer goes out */
    if (catalog != NULL && (fflush(catalog) != 0 || ferror(catalog)))
        rc = LDR_EIO;
    if (stock != NULL && (fflush(stock) != 0 || ferror(stock)))
        rc = LDR_EIO;
    return rc;
}

int ldr_gen_catalog(const ldr_gen_opts_t *opts, FILE *catalog, FILE *stock)
{
    if (opts == NULL || opts->skus < 1 || opts->skus > LDR__GEN_MAX_SKUS || opts->stores < 1 ||
        opts->stores > LDR__GEN_MAX_STORES)
        return LDR_EINVAL;
    if (catalog == NULL && stock == NULL)
        return LDR_OK;

    ldr__gen_t g;
    memset(&g, 0, sizeof(g));
    g.opts = opts;
    ldr__gen_rng_seed(&g.rng, opts->seed);
    ldr__gen_init_items(&g);
    ldr__gen_init_stores(&g);
    ldr_buf_reserve(&g.out_catalog, LDR__GEN_CHUNK + 4096);
    ldr_buf_reserve(&g.out_stock, LDR__GEN_CHUNK + 4096);

    int rc = ldr__gen_run(&g, catalog, stock);

    ldr_buf_free(&g.out_catalog);
    ldr_buf_free(&g.out_stock);
    ldr_buf_free(&g.en);
    ldr_buf_free(&g.vi);
    ldr_free(g.stores);
    ldr_free(g.perm);
    ldr_free(g.cumulative);
    ldr_free(g.items);
    return rc;
}

const char *ldr_gen_store_id(uint32_t i, char *buf, size_t bufsize)
{
    if (bufsize == 0)
        return buf;
    if (i == 0)
        snprintf(buf, bufsize, "default");
    else if (i - 1 < ldr__gen_nstore_names)
        snprintf(buf, bufsize, "%s", ldr__gen_store_names[i - 1]);
    else
        snprintf(buf, bufsize, "store-%02u", (unsigned)i);
    return buf;
}
