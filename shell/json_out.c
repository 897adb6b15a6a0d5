/* JSON encodings of domain objects for clients and for the JSON Lines files we write. */
#include "http_internal.h"

static void ldr__json_lang(ldr_buf_t *b, const char *key, const ldr_str_t *s)
{
    if (s[LDR_LANG_EN].ptr == NULL && s[LDR_LANG_VI].ptr == NULL)
        return;
    ldr_buf_putc(b, ',');
    ldr_buf_json_key(b, key);
    ldr_buf_putc(b, '{');
    if (s[LDR_LANG_EN].ptr != NULL) {
        ldr_buf_json_key(b, "en");
        ldr_buf_json_sv(b, s[LDR_LANG_EN]);
    }
    if (s[LDR_LANG_VI].ptr != NULL) {
        if (s[LDR_LANG_EN].ptr != NULL)
            ldr_buf_putc(b, ',');
        ldr_buf_json_key(b, "vi");
        ldr_buf_json_sv(b, s[LDR_LANG_VI]);
    }
    ldr_buf_putc(b, '}');
}

void ldr_json_product(ldr_buf_t *b, const ldr_app_t *app, const ldr_product_t *p, uint32_t doc)
{
    const ldr_catalog_t *cat = app->catalog;
    ldr_buf_putc(b, '{');
    ldr_buf_json_key(b, "sku");
    ldr_buf_json_sv(b, p->sku);
    ldr__json_lang(b, "name", p->name);
    ldr__json_lang(b, "description", p->description);
    ldr_buf_puts(b, ",\"category\":");
    ldr_buf_json_sv(b, ldr_intern_str(ldr_catalog_categories(cat), p->category));
    if (p->brand != LDR_NO_BRAND) {
        ldr_buf_puts(b, ",\"brand\":");
        ldr_buf_json_sv(b, ldr_intern_str(ldr_catalog_brands(cat), p->brand));
    }
    ldr_buf_puts(b, ",\"price\":");
    ldr_buf_put_i64(b, p->price);
    if (p->unit.ptr != NULL) {
        ldr_buf_puts(b, ",\"unit\":");
        ldr_buf_json_sv(b, p->unit);
    }
    ldr_buf_puts(b, p->perishable ? ",\"perishable\":true" : ",\"perishable\":false");
    if (p->shelf_life_days >= 0) {
        ldr_buf_puts(b, ",\"shelf_life_days\":");
        ldr_buf_put_i64(b, p->shelf_life_days);
    }
    /* as imported: empty lists are omitted like every other absent field */
    for (uint16_t i = 0; i < p->ntags; i++) {
        ldr_buf_puts(b, i == 0 ? ",\"tags\":[" : ",");
        ldr_buf_json_sv(b, ldr_intern_str(ldr_catalog_tags(cat), p->tags[i]));
    }
    if (p->ntags > 0)
        ldr_buf_putc(b, ']');
    for (uint16_t i = 0; i < p->nsubstitutes; i++) {
        ldr_buf_puts(b, i == 0 ? ",\"substitutes\":[" : ",");
        ldr_buf_json_sv(b, p->substitutes[i]);
    }
    if (p->nsubstitutes > 0)
        ldr_buf_putc(b, ']');
    ldr_buf_puts(b, ",\"stock\":[");
    const ldr_intern_t *stores = ldr_stock_stores(ldr_app_stock(app));
    for (uint32_t s = 0; s < ldr_intern_count(stores); s++) {
        /* every known store is listed; one without an entry has nothing available */
        const ldr_stock_entry_t *e = ldr_stock_get(ldr_app_stock(app), s, doc);
        if (s > 0)
            ldr_buf_putc(b, ',');
        ldr_buf_puts(b, "{\"store\":");
        ldr_buf_json_sv(b, ldr_intern_str(stores, s));
        ldr_buf_puts(b, ",\"available\":");
        ldr_buf_put_i64(b, ldr_stock_available(e));
        ldr_buf_putc(b, '}');
    }
    ldr_buf_puts(b, "]}");
}
