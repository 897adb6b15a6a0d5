/* The stock writes' bodies into commands (see stock_body.h). */
#include "stock_body.h"

#include <stdbool.h>
#include <stdio.h>

#include "larder/catalog.h"
#include "larder/common.h"
#include "larder/stock.h"

/* The store field of a write: a valid id, "default" when absent. */
static int ldr__store_field(const ldr__json_line_t *ln, uint32_t v, const char *field,
                            ldr_str_t *store, ldr_error_t *err)
{
    if (ldr__json_str(ln, v, field, false, LDR_STORE_ID_MAX, store, err) != LDR_OK)
        return LDR_EPARSE;
    if (store->ptr == NULL)
        *store = (ldr_str_t){"default", 7};
    else if (!ldr_store_id_valid(store->ptr, store->len))
        return ldr__json_error(err, field, "not a valid store id (1-64 of a-z 0-9 _ -)");
    return LDR_OK;
}

int ldr_stock_receive_body(const ldr__json_line_t *ln, ldr_cmd_t *c, ldr_error_t *err)
{
    static const ldr__json_key_t keys[] = {LDR__KEY("store"), LDR__KEY("lot"), LDR__KEY("quantity"),
                                           LDR__KEY("expires_at")};
    uint32_t f[4];
    ldr_str_t expires;
    c->expires_at = LDR_NO_EXPIRY;
    if (ldr__json_fields(ln, 0, NULL, keys, 4, f, err) != LDR_OK ||
        ldr__store_field(ln, f[0], "store", &c->store, err) != LDR_OK ||
        ldr__json_str(ln, f[1], "lot", true, LDR_LOT_ID_MAX, &c->lot, err) != LDR_OK ||
        ldr__json_int(ln, f[2], "quantity", true, 1, LDR_QUANTITY_MAX, &c->quantity, NULL, err) !=
            LDR_OK ||
        ldr__json_str(ln, f[3], "expires_at", false, 64, &expires, err) != LDR_OK)
        return LDR_EPARSE;
    if (!ldr_lot_id_valid(c->lot.ptr, c->lot.len))
        return ldr__json_error(err, "lot", "not a valid lot id (1-32 of A-Z a-z 0-9 . _ -)");
    if (expires.ptr != NULL &&
        ldr_time_parse_rfc3339(expires.ptr, expires.len, &c->expires_at) != LDR_OK)
        return ldr__json_error(err, "expires_at",
                               "expected an RFC 3339 time like 2026-11-25T09:00:00Z");
    return LDR_OK;
}

int ldr_stock_adjust_body(const ldr__json_line_t *ln, ldr_cmd_t *c, ldr_error_t *err)
{
    static const ldr__json_key_t keys[] = {LDR__KEY("store"), LDR__KEY("delta"),
                                           LDR__KEY("reason")};
    uint32_t f[3];
    if (ldr__json_fields(ln, 0, NULL, keys, 3, f, err) != LDR_OK ||
        ldr__store_field(ln, f[0], "store", &c->store, err) != LDR_OK ||
        ldr__json_int(ln, f[1], "delta", true, -LDR_QUANTITY_MAX, LDR_QUANTITY_MAX, &c->quantity,
                      NULL, err) != LDR_OK ||
        ldr__json_str(ln, f[2], "reason", true, LDR_REASON_MAX, &c->reason, err) != LDR_OK)
        return LDR_EPARSE;
    if (c->quantity == 0)
        return ldr__json_error(err, "delta", "must not be 0");
    return LDR_OK;
}

int ldr_stock_batch_update(const ldr__json_line_t *ln, uint32_t obj, uint32_t i, ldr_cmd_t *c,
                           ldr_error_t *err)
{
    static const ldr__json_key_t keys[] = {LDR__KEY("sku"), LDR__KEY("store"), LDR__KEY("delta"),
                                           LDR__KEY("set"), LDR__KEY("reason")};
    char prefix[32], name[48];
    snprintf(prefix, sizeof(prefix), "updates[%u]", i);
    if (ldr_json_type(&ln->doc, obj) != LDR_JSON_OBJECT)
        return ldr__json_error(err, prefix, "expected an object, got %s",
                               ldr__json_type_name(&ln->doc, obj));
    uint32_t f[5];
    bool has_delta, has_set;
    int64_t delta = 0, set = 0;
#define LDR__NAME(x) (snprintf(name, sizeof(name), "%s.%s", prefix, x), name)
    if (ldr__json_fields(ln, obj, prefix, keys, 5, f, err) != LDR_OK ||
        ldr__json_str(ln, f[0], LDR__NAME("sku"), true, LDR_SKU_MAX, &c->sku, err) != LDR_OK ||
        ldr__store_field(ln, f[1], LDR__NAME("store"), &c->store, err) != LDR_OK ||
        ldr__json_int(ln, f[2], LDR__NAME("delta"), false, -LDR_QUANTITY_MAX, LDR_QUANTITY_MAX,
                      &delta, &has_delta, err) != LDR_OK ||
        ldr__json_int(ln, f[3], LDR__NAME("set"), false, 0, LDR_QUANTITY_MAX, &set, &has_set,
                      err) != LDR_OK ||
        ldr__json_str(ln, f[4], LDR__NAME("reason"), true, LDR_REASON_MAX, &c->reason, err) !=
            LDR_OK)
        return LDR_EPARSE;
    if (has_delta == has_set)
        return ldr__json_error(err, prefix, "give exactly one of delta and set");
    if (has_delta && delta == 0)
        return ldr__json_error(err, LDR__NAME("delta"), "must not be 0");
    if (!ldr_sku_valid(c->sku.ptr, c->sku.len))
        return ldr__json_error(err, LDR__NAME("sku"), "not a valid sku");
#undef LDR__NAME
    c->type = has_delta ? LDR_CMD_ADJUST : LDR_CMD_SET;
    c->quantity = has_delta ? delta : set;
    return LDR_OK;
}
