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

/* Field order here is the order of checks below, which fixes which message a line with several
 * faults gets. */
enum {
    P_SKU,
    P_NAME,
    P_DESCRIPTION,
    P_CATEGORY,
    P_BRAND,
    P_PRICE,
    P_UNIT,
    P_PERISHABLE,
    P_SHELF_LIFE,
    P_TAGS,
    P_SUBSTITUTES,
    P_NKEYS
};
static const ldr__json_key_t ldr__product_keys[P_NKEYS] = {
    LDR__KEY("sku"),      LDR__KEY("name"),       LDR__KEY("description"),
    LDR__KEY("category"), LDR__KEY("brand"),      LDR__KEY("price"),
    LDR__KEY("unit"),     LDR__KEY("perishable"), LDR__KEY("shelf_life_days"),
    LDR__KEY("tags"),     LDR__KEY("substitutes")};
static const ldr__json_key_t ldr__lang_keys[LDR_LANG_COUNT] = {
    [LDR_LANG_EN] = LDR__KEY("en"), [LDR_LANG_VI] = LDR__KEY("vi")};

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

/* {"en": "...", "vi": "..."} into out[LDR_LANG_COUNT]; fields[] are the members' field paths. */
static int ldr__lang_object(const ldr__json_line_t *ln, uint32_t v, const char *key,
                            const char *const fields[LDR_LANG_COUNT], bool required, size_t max,
                            bool multiline, ldr_str_t *out, ldr_error_t *err)
{
    const ldr_json_t *doc = &ln->doc;
    uint32_t vals[LDR_LANG_COUNT];
    out[LDR_LANG_EN] = out[LDR_LANG_VI] = (ldr_str_t){NULL, 0};
    if (v == LDR_JSON_NONE || ldr_json_is_null(doc, v))
        return required ? ldr__json_error(err, key, "is required") : LDR_OK;
    if (ldr_json_type(doc, v) != LDR_JSON_OBJECT)
        return ldr__json_error(err, key, "expected an object with \"en\" and/or \"vi\"");
    if (ldr__json_fields(ln, v, key, ldr__lang_keys, LDR_LANG_COUNT, vals, err) != LDR_OK)
        return LDR_EPARSE;
    for (int l = 0; l < LDR_LANG_COUNT; l++)
        if (ldr__json_text(ln, vals[l], fields[l], false, max, multiline, &out[l], err) != LDR_OK)
            return LDR_EPARSE;
    if (required && out[LDR_LANG_EN].ptr == NULL && out[LDR_LANG_VI].ptr == NULL)
        return ldr__json_error(err, key, "needs \"en\" or \"vi\"");
    return LDR_OK;
}

/* "key[i]" into buf[32] for key <= 16 bytes and i < 100 (our lists hold 32) without snprintf,
 * which cost more than the rest of a tag's validation. */
static void ldr__item_field(char *buf, const char *key, unsigned i)
{
    size_t n = strlen(key);
    memcpy(buf, key, n);
    buf[n++] = '[';
    if (i >= 10)
        buf[n++] = (char)('0' + i / 10 % 10);
    buf[n++] = (char)('0' + i % 10);
    buf[n++] = ']';
    buf[n] = '\0';
}

/* An array of at most LDR_PRODUCT_MAX_LIST strings; `sku` checks each as a SKU. */
static int ldr__str_list(const ldr__json_line_t *ln, uint32_t v, const char *key, bool sku,
                         ldr_str_t *out, uint16_t *n, ldr_error_t *err)
{
    const ldr_json_t *doc = &ln->doc;
    *n = 0;
    if (v == LDR_JSON_NONE || ldr_json_is_null(doc, v))
        return LDR_OK;
    if (ldr_json_type(doc, v) != LDR_JSON_ARRAY)
        return ldr__json_error(err, key, "expected an array of strings");
    if (ldr_json_count(doc, v) > LDR_PRODUCT_MAX_LIST)
        return ldr__json_error(err, key, "more than %d items", LDR_PRODUCT_MAX_LIST);
    char field[32];
    uint16_t i = 0;
    for (uint32_t item = ldr_json_child(doc, v); item != LDR_JSON_NONE;
         item = ldr_json_next(doc, item), i++) {
        ldr__item_field(field, key, i);
        if (ldr__json_str(ln, item, field, true, sku ? LDR_SKU_MAX : LDR__TAG_MAX, &out[i], err) !=
            LDR_OK)
            return LDR_EPARSE;
        if (sku && !ldr_sku_valid(out[i].ptr, out[i].len))
            return ldr__json_error(err, field, "not a valid sku (1-64 of A-Z a-z 0-9 . _ -)");
    }
    *n = i;
    return LDR_OK;
}

static int ldr__product_fields(const ldr__json_line_t *ln, ldr_product_input_t *in,
                               ldr_error_t *err)
{
    const ldr_json_t *doc = &ln->doc;
    ldr_product_t *p = &in->p;
    uint32_t f[P_NKEYS];
    int64_t v;
    bool present;
    if (ldr__json_fields(ln, 0, NULL, ldr__product_keys, P_NKEYS, f, err) != LDR_OK)
        return LDR_EPARSE;
    if (ldr__json_str(ln, f[P_SKU], "sku", true, LDR_SKU_MAX, &p->sku, err) != LDR_OK)
        return LDR_EPARSE;
    if (!ldr_sku_valid(p->sku.ptr, p->sku.len))
        return ldr__json_error(err, "sku", "not a valid sku (1-64 of A-Z a-z 0-9 . _ -)");
    static const char *const name_fields[] = {"name.en", "name.vi"};
    static const char *const desc_fields[] = {"description.en", "description.vi"};
    if (ldr__lang_object(ln, f[P_NAME], "name", name_fields, true, LDR__NAME_MAX, false, p->name,
                         err) != LDR_OK ||
        ldr__lang_object(ln, f[P_DESCRIPTION], "description", desc_fields, false, LDR__DESC_MAX,
                         true, p->description, err) != LDR_OK)
        return LDR_EPARSE;
    if (ldr__json_str(ln, f[P_CATEGORY], "category", true, LDR__CATEGORY_MAX, &in->category, err) !=
        LDR_OK)
        return LDR_EPARSE;
    if (!ldr__category_valid(in->category))
        return ldr__json_error(err, "category",
                               "expected a path like \"produce/vegetables\" "
                               "(lowercase a-z 0-9 - _ segments joined by /)");
    if (ldr__json_str(ln, f[P_BRAND], "brand", false, LDR__BRAND_MAX, &in->brand, err) != LDR_OK ||
        ldr__json_str(ln, f[P_UNIT], "unit", false, LDR__UNIT_MAX, &p->unit, err) != LDR_OK)
        return LDR_EPARSE;
    if (ldr__json_int(ln, f[P_PRICE], "price", true, 0, LDR__PRICE_MAX, &p->price, NULL, err) !=
        LDR_OK)
        return LDR_EPARSE;
    uint32_t perishable = f[P_PERISHABLE];
    if (perishable != LDR_JSON_NONE && !ldr_json_is_null(doc, perishable) &&
        ldr_json_bool(doc, perishable, &p->perishable) != LDR_OK)
        return ldr__json_error(err, "perishable", "expected true or false");
    if (ldr__json_int(ln, f[P_SHELF_LIFE], "shelf_life_days", false, 0, LDR__SHELF_LIFE_MAX, &v,
                      &present, err) != LDR_OK)
        return LDR_EPARSE;
    p->shelf_life_days = present ? (int32_t)v : -1;
    if (ldr__str_list(ln, f[P_TAGS], "tags", false, in->tags, &p->ntags, err) != LDR_OK ||
        ldr__str_list(ln, f[P_SUBSTITUTES], "substitutes", true, in->substitutes, &p->nsubstitutes,
                      err) != LDR_OK)
        return LDR_EPARSE;
    p->substitutes = in->substitutes;
    return LDR_OK;
}

int ldr__product_from_json(const ldr__json_line_t *ln, ldr_product_input_t *in, ldr_error_t *err)
{
    memset(in, 0, sizeof(*in));
    if (ldr__product_fields(ln, in, err) != LDR_OK) {
        memset(in, 0, sizeof(*in));
        return LDR_EPARSE;
    }
    return LDR_OK;
}

int ldr_product_parse(const char *json, size_t len, ldr_product_input_t *in, ldr_error_t *err)
{
    /* a one-off parse: the scratch lives for this call, and its string buffer moves into *in */
    ldr__jsonl_scratch_t scratch = {0};
    ldr__json_line_t ln;
    err->position = -1;
    int rc = ldr__json_object(&scratch, json, len, &ln, err);
    if (rc == LDR_OK)
        rc = ldr__product_from_json(&ln, in, err);
    else
        memset(in, 0, sizeof(*in));
    ldr_free(scratch.toks);
    if (rc == LDR_OK && scratch.strings.len != 0)
        in->_strings = scratch.strings;
    else
        ldr_buf_free(&scratch.strings);
    return rc;
}

void ldr_product_input_clear(ldr_product_input_t *in)
{
    ldr_buf_free(&in->_strings);
    memset(in, 0, sizeof(*in));
}

static void ldr__render_lang(ldr_buf_t *b, const char *key, const ldr_str_t *s)
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

static void ldr__render_list(ldr_buf_t *b, const char *key, const ldr_str_t *items, uint16_t n)
{
    for (uint16_t i = 0; i < n; i++) {
        if (i == 0) {
            ldr_buf_putc(b, ',');
            ldr_buf_json_key(b, key);
            ldr_buf_putc(b, '[');
        } else {
            ldr_buf_putc(b, ',');
        }
        ldr_buf_json_sv(b, items[i]);
    }
    if (n > 0)
        ldr_buf_putc(b, ']');
}

void ldr_product_render(const ldr_product_input_t *in, ldr_buf_t *b)
{
    const ldr_product_t *p = &in->p;
    ldr_buf_putc(b, '{');
    ldr_buf_json_key(b, "sku");
    ldr_buf_json_sv(b, p->sku);
    ldr__render_lang(b, "name", p->name);
    ldr__render_lang(b, "description", p->description);
    ldr_buf_puts(b, ",\"category\":");
    ldr_buf_json_sv(b, in->category);
    if (in->brand.ptr != NULL) {
        ldr_buf_puts(b, ",\"brand\":");
        ldr_buf_json_sv(b, in->brand);
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
    /* as imported: empty lists are left out like every other absent field */
    ldr__render_list(b, "tags", in->tags, p->ntags);
    ldr__render_list(b, "substitutes", p->substitutes, p->nsubstitutes);
    ldr_buf_putc(b, '}');
}
