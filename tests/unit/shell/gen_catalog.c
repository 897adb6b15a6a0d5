/* The demo catalog generator: deterministic, loadable without a single rejected line, realistic. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "larder/catalog.h"
#include "larder/gen.h"
#include "larder/stock.h"

typedef struct generated {
    char *catalog, *stock;
    size_t clen, slen;
} generated_t;

static generated_t generate(uint32_t skus, uint64_t seed, uint32_t stores)
{
    generated_t g = {0};
    FILE *cf = open_memstream(&g.catalog, &g.clen), *sf = open_memstream(&g.stock, &g.slen);
    ldr_gen_opts_t o = {skus, seed, stores, 1795564800 /* 2026-11-25 */};
    cr_assert_eq(ldr_gen_catalog(&o, cf, sf), LDR_OK);
    fclose(cf);
    fclose(sf);
    return g;
}

static void generated_free(generated_t *g)
{
    free(g->catalog);
    free(g->stock);
}

static void count_reject(void *ctx, uint64_t line, const char *message)
{
    if ((*(int *)ctx)++ < 5)
        cr_log_error("line %llu: %s", (unsigned long long)line, message);
}

Test(gen_catalog, same_options_same_bytes_other_seed_other_bytes)
{
    generated_t a = generate(2000, 42, 3), b = generate(2000, 42, 3), c = generate(2000, 43, 3);
    cr_assert_eq(a.clen, b.clen);
    cr_assert(memcmp(a.catalog, b.catalog, a.clen) == 0);
    cr_assert(a.slen == b.slen && memcmp(a.stock, b.stock, a.slen) == 0);
    cr_assert(a.clen != c.clen || memcmp(a.catalog, c.catalog, a.clen) != 0);
    generated_free(&a), generated_free(&b), generated_free(&c);
}

Test(gen_catalog, demo_catalog_loads_whole_and_is_realistic, .timeout = 30)
{
    generated_t g = generate(50000, 1, 3);
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_stock_t *st = ldr_stock_new();
    ldr_load_result_t r;
    int rejects = 0;
    ldr_catalog_load_jsonl(cat, g.catalog, g.clen, count_reject, &rejects, &r);
    cr_assert_eq(r.loaded, 50000);
    cr_assert_eq(r.rejected, 0);
    ldr_stock_load_jsonl(st, cat, g.stock, g.slen, count_reject, &rejects, &r);
    cr_assert_eq(r.rejected, 0);
    cr_assert_gt(r.loaded, 50000, "fewer lots than products: %llu", (unsigned long long)r.loaded);

    /* at least 10 top-level categories and 60 subcategories */
    const ldr_intern_t *cats = ldr_catalog_categories(cat);
    cr_assert_geq(ldr_intern_count(cats), 60);
    char tops[64][32];
    size_t ntops = 0;
    for (uint32_t i = 0; i < ldr_intern_count(cats); i++) {
        ldr_str_t c = ldr_intern_str(cats, i);
        const char *slash = memchr(c.ptr, '/', c.len);
        cr_assert_not_null(slash, "category %s has no subcategory", c.ptr);
        size_t n = (size_t)(slash - c.ptr);
        size_t k = 0;
        while (k < ntops && !(strlen(tops[k]) == n && memcmp(tops[k], c.ptr, n) == 0))
            k++;
        if (k == ntops && ntops < 64)
            snprintf(tops[ntops++], sizeof(tops[0]), "%.*s", (int)n, c.ptr);
    }
    cr_assert_geq(ntops, 10);
    cr_assert_geq(ldr_intern_count(ldr_catalog_brands(cat)), 50);

    /* Vietnamese with its diacritics, substitutes that exist, sane prices and shelf lives */
    const char *words[] = {"C\xc3\xa0 chua", "Th\xe1\xbb\x8bt ba ch\xe1\xbb\x89",
                           "N\xc6\xb0\xe1\xbb\x9b"
                           "c m\xe1\xba\xafm",
                           "S\xe1\xbb\xaf"
                           "a t\xc6\xb0\xc6\xa1i",
                           "\xc4\x90\xe1\xba\xadu ph\xe1\xbb\xa5"};
    bool seen[5] = {false};
    uint32_t perishable = 0, with_brand = 0, default_store = ldr_stock_store_find(st, "default", 7);
    cr_assert_neq(default_store, UINT32_MAX, "no store called default");
    for (uint32_t d = 0; d < ldr_catalog_doc_limit(cat); d++) {
        const ldr_product_t *p = ldr_catalog_doc(cat, d);
        cr_assert(p->name[LDR_LANG_EN].ptr && p->name[LDR_LANG_VI].ptr);
        for (size_t w = 0; w < 5; w++)
            if (strstr(p->name[LDR_LANG_VI].ptr, words[w]) != NULL)
                seen[w] = true;
        cr_assert(p->price >= 1000 && p->price <= 5000000, "%s costs %lld", p->sku.ptr,
                  (long long)p->price);
        for (uint16_t s = 0; s < p->nsubstitutes; s++)
            cr_assert_not_null(
                ldr_catalog_find(cat, p->substitutes[s].ptr, p->substitutes[s].len, NULL),
                "%s names missing substitute %s", p->sku.ptr, p->substitutes[s].ptr);
        if (p->perishable) {
            perishable++;
            cr_assert_gt(p->shelf_life_days, 0);
            /* every perishable lot expires in the future, within its shelf life */
            const ldr_stock_entry_t *e = ldr_stock_get(st, default_store, d);
            for (uint32_t l = 0; e != NULL && l < e->nlots; l++)
                cr_assert(e->lots[l].expires_at > 1795564800 &&
                              e->lots[l].expires_at <=
                                  1795564800 + (int64_t)p->shelf_life_days * 86400 + 86400,
                          "%s lot %s", p->sku.ptr, e->lots[l].id);
        }
        with_brand += p->brand != LDR_NO_BRAND;
    }
    for (size_t w = 0; w < 5; w++)
        cr_assert(seen[w], "no product named with \"%s\"", words[w]);
    cr_assert(perishable > 5000 && perishable < 45000, "%u perishable", perishable);
    cr_assert_gt(with_brand, 25000);
    ldr_stock_free(st);
    ldr_catalog_free(cat);
    generated_free(&g);
}

Test(gen_catalog, store_ids_and_bad_options)
{
    char buf[32];
    cr_assert_str_eq(ldr_gen_store_id(0, buf, sizeof(buf)), "default");
    for (uint32_t i = 0; i < 40; i++) {
        const char *id = ldr_gen_store_id(i, buf, sizeof(buf));
        cr_assert(ldr_store_id_valid(id, strlen(id)), "store %u id \"%s\"", i, id);
    }
    ldr_gen_opts_t zero = {0, 1, 3, 0}, nostores = {10, 1, 0, 0};
    cr_assert_eq(ldr_gen_catalog(&zero, NULL, NULL), LDR_EINVAL);
    cr_assert_eq(ldr_gen_catalog(&nostores, NULL, NULL), LDR_EINVAL);
}
