/* JSON encodings of domain objects for clients and for the JSON Lines files we write. */
#include "http_internal.h"

void ldr_json_product(ldr_buf_t *b, const ldr_app_t *app, const ldr_catalog_t *cat,
                      const ldr_product_t *p, uint32_t doc)
{
    ldr_catalog_product_json(cat, p, b);
    b->len--; /* the object goes on with the stock */
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
