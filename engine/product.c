/*
 * Product validation: one JSON object in, a fully checked ldr_product_input_t out, or a message
 * naming the field.  Nothing here touches a catalog, so a bad line can never half-apply.
 */
#include <stdio.h>
#include <string.h>

#include "jsonl_internal.h"

#define LDR__NAME_MAX       512
#define LDR__DESC_MAX       8192
#define LDR__CATEGORY_MAX   128
#define LDR__BRAND_MAX      128
#define LDR__UNIT_MAX       32
#define LDR__TAG_MAX        64
#define LDR__PRICE_MAX      1000000000000LL /* 10^12 VND */
#define LDR__SHELF_LIFE_MAX 3650

static const char *const ldr__product_keys[] = {
    "sku",  "name",       "description",     "category", "brand",       "price",
    "unit", "perishable", "shelf_life_days", "tags",     "substitutes", NULL};
static const char *const ldr__lang_keys[] = {"en", "vi", NULL};

bool ldr_sku_valid(const char *s, size_t len)
{
    if (len == 0 || len > LDR_SKU_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return false;
    }
    return true;
}

/* A category is a path of lowercase segments: "produce/vegetables". */
static bool ldr__category_valid(ldr_str_t c)
{
    bool seg_empty = true;
    for (uint32_t i = 0; i < c.len; i++) {
        char ch = c.ptr[i];
        if (ch == '/') {
            if (seg_empty)
                return false;
            seg_empty = true;
        } else if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_') {
            seg_empty = false;
        } else {
            return false;
        }
    }
    return !seg_empty;
}

/* {"en": "...", "vi": "..."} into out[LDR_LANG_COUNT]. */
static int ldr__lang_object(json_t *obj, const char *key, bool required, size_t max, bool multiline,
                            ldr_str_t *out, ldr_error_t *err)
{
    json_t *v = json_object_get(obj, key);
    out[LDR_LANG_EN] = out[LDR_LANG_VI] = (ldr_str_t){NULL, 0};
    if (v == NULL || json_is_null(v))
        return required ? ldr__json_error(err, key, "is required") : LDR_OK;
    if (!json_is_object(v))
        return ldr__json_error(err, key, "expected an object with \"en\" and/or \"vi\"");
    if (ldr__json_known_keys(v, key, ldr__lang_keys, err) != LDR_OK)
        return LDR_EPARSE;
    char field[32];
    snprintf(field, sizeof(field), "%s.en", key);
    if (ldr__json_text_value(json_object_get(v, "en"), field, false, max, multiline,
                             &out[LDR_LANG_EN], err) != LDR_OK)
        return LDR_EPARSE;
    snprintf(field, sizeof(field), "%s.vi", key);
    if (ldr__json_text_value(json_object_get(v, "vi"), field, false, max, multiline,
                             &out[LDR_LANG_VI], err) != LDR_OK)
        return LDR_EPARSE;
    if (required && out[LDR_LANG_EN].ptr == NULL && out[LDR_LANG_VI].ptr == NULL)
        return ldr__json_error(err, key, "needs \"en\" or \"vi\"");
    return LDR_OK;
}

/* An array of at most LDR_PRODUCT_MAX_LIST strings; `sku` checks each as a SKU. */
static int ldr__str_list(json_t *obj, const char *key, bool sku, ldr_str_t *out, uint16_t *n,
                         ldr_error_t *err)
{
    json_t *v = json_object_get(obj, key), *item;
    size_t i;
    *n = 0;
    if (v == NULL || json_is_null(v))
        return LDR_OK;
    if (!json_is_array(v))
        return ldr__json_error(err, key, "expected an array of strings");
    if (json_array_size(v) > LDR_PRODUCT_MAX_LIST)
        return ldr__json_error(err, key, "more than %d items", LDR_PRODUCT_MAX_LIST);
    json_array_foreach(v, i, item)
    {
        char field[32];
        snprintf(field, sizeof(field), "%s[%zu]", key, i);
        if (ldr__json_str_value(item, field, true, sku ? LDR_SKU_MAX : LDR__TAG_MAX, &out[i],
                                err) != LDR_OK)
            return LDR_EPARSE;
        if (sku && !ldr_sku_valid(out[i].ptr, out[i].len))
            return ldr__json_error(err, field, "not a valid sku (1-64 of A-Z a-z 0-9 . _ -)");
    }
    *n = (uint16_t)json_array_size(v);
    return LDR_OK;
}

int ldr_product_parse(const char *json, size_t len, ldr_product_input_t *in, ldr_error_t *err)
{
    json_t *obj;
    memset(in, 0, sizeof(*in));
    err->position = -1;
    if (ldr__json_object(json, len, &obj, err) != LDR_OK)
        return LDR_EPARSE;
    ldr_product_t *p = &in->p;
    int64_t v;
    bool present;
    if (ldr__json_known_keys(obj, NULL, ldr__product_keys, err) != LDR_OK)
        goto fail;
    if (ldr__json_str(obj, "sku", "sku", true, LDR_SKU_MAX, &p->sku, err) != LDR_OK)
        goto fail;
    if (!ldr_sku_valid(p->sku.ptr, p->sku.len)) {
        ldr__json_error(err, "sku", "not a valid sku (1-64 of A-Z a-z 0-9 . _ -)");
        goto fail;
    }
    if (ldr__lang_object(obj, "name", true, LDR__NAME_MAX, false, p->name, err) != LDR_OK ||
        ldr__lang_object(obj, "description", false, LDR__DESC_MAX, true, p->description, err) !=
            LDR_OK)
        goto fail;
    if (ldr__json_str(obj, "category", "category", true, LDR__CATEGORY_MAX, &in->category, err) !=
        LDR_OK)
        goto fail;
    if (!ldr__category_valid(in->category)) {
        ldr__json_error(err, "category",
                        "expected a path like \"produce/vegetables\" "
                        "(lowercase a-z 0-9 - _ segments joined by /)");
        goto fail;
    }
    if (ldr__json_str(obj, "brand", "brand", false, LDR__BRAND_MAX, &in->brand, err) != LDR_OK ||
        ldr__json_str(obj, "unit", "unit", false, LDR__UNIT_MAX, &p->unit, err) != LDR_OK)
        goto fail;
    if (ldr__json_int(obj, "price", "price", true, 0, LDR__PRICE_MAX, &p->price, NULL, err) !=
        LDR_OK)
        goto fail;
    json_t *perishable = json_object_get(obj, "perishable");
    if (perishable != NULL && !json_is_null(perishable) && !json_is_boolean(perishable)) {
        ldr__json_error(err, "perishable", "expected true or false");
        goto fail;
    }
    p->perishable = perishable != NULL && json_is_true(perishable);
    if (ldr__json_int(obj, "shelf_life_days", "shelf_life_days", false, 0, LDR__SHELF_LIFE_MAX, &v,
                      &present, err) != LDR_OK)
        goto fail;
    p->shelf_life_days = present ? (int32_t)v : -1;
    if (ldr__str_list(obj, "tags", false, in->tags, &p->ntags, err) != LDR_OK ||
        ldr__str_list(obj, "substitutes", true, in->substitutes, &p->nsubstitutes, err) != LDR_OK)
        goto fail;
    p->substitutes = in->substitutes;
    in->_json = obj;
    return LDR_OK;
fail:
    json_decref(obj);
    memset(in, 0, sizeof(*in));
    return LDR_EPARSE;
}

void ldr_product_input_clear(ldr_product_input_t *in)
{
    json_decref(in->_json);
    memset(in, 0, sizeof(*in));
}
