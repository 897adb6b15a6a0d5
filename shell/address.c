/*
 * A delivery address in a checkout body (POST /v1/checkout, fulfillment.address): each field
 * checked and trimmed of surrounding spaces, the phone a Vietnamese number brought to national
 * form.  Errors name the field (`fulfillment.address.phone`), as every body error does.
 */
#include <stdio.h>
#include <string.h>

#include "http_internal.h"

/*
 * A Vietnamese phone number into national form (out: LDR_ADDR_PHONE_MAX + 1): digits with
 * optional spaces, dots, dashes or parentheses, "+84" or "84" for the leading 0; a mobile number
 * is 10 digits (03, 05, 07, 08, 09), a landline 11 (02).  False when it is neither.
 */
static bool ldr__vn_phone(ldr_str_t in, char *out)
{
    char d[24];
    size_t n = 0;
    for (size_t i = 0; i < in.len; i++) {
        char ch = in.ptr[i];
        if (ch >= '0' && ch <= '9') {
            if (n == sizeof(d) - 1)
                return false;
            d[n++] = ch;
        } else if (!(ch == '+' && n == 0 && i == 0) && ch != ' ' && ch != '.' && ch != '-' &&
                   ch != '(' && ch != ')') {
            return false;
        }
    }
    d[n] = '\0';
    const char *national = d;
    char buf[24];
    if (n >= 11 && d[0] == '8' && d[1] == '4') { /* 84 9x xxx xxxx */
        snprintf(buf, sizeof(buf), "0%s", d + 2);
        national = buf;
    } else if (in.len > 0 && in.ptr[0] == '+') {
        return false; /* another country's */
    }
    size_t len = strlen(national);
    bool mobile = len == 10 && national[0] == '0' && strchr("35789", national[1]) != NULL;
    bool landline = len == 11 && national[0] == '0' && national[1] == '2';
    if (!mobile && !landline)
        return false;
    memcpy(out, national, len + 1);
    return true;
}

bool ldr_address_body(const ldr__json_line_t *ln, uint32_t v, ldr_order_address_t *a,
                      ldr_error_t *err)
{
    static const ldr__json_key_t keys[] = {LDR__KEY("name"),     LDR__KEY("phone"),
                                           LDR__KEY("line1"),    LDR__KEY("ward"),
                                           LDR__KEY("district"), LDR__KEY("city")};
    static const char *const names[] = {"fulfillment.address.name",     "fulfillment.address.phone",
                                        "fulfillment.address.line1",    "fulfillment.address.ward",
                                        "fulfillment.address.district", "fulfillment.address.city"};
    static const size_t max[] = {LDR_ADDR_NAME_MAX, 32,
                                 LDR_ADDR_LINE_MAX, LDR_ADDR_PART_MAX,
                                 LDR_ADDR_PART_MAX, LDR_ADDR_PART_MAX};
    char *dst[] = {a->name, NULL, a->line1, a->ward, a->district, a->city};
    uint32_t f[6];
    if (ldr_json_type(&ln->doc, v) != LDR_JSON_OBJECT) {
        ldr__json_error(err, "fulfillment.address",
                        "expected {\"name\",\"phone\",\"line1\",\"ward\"?,\"district\",\"city\"}");
        return false;
    }
    if (ldr__json_fields(ln, v, "fulfillment.address", keys, 6, f, err) != LDR_OK)
        return false;
    for (int i = 0; i < 6; i++) {
        ldr_str_t val = {NULL, 0};
        if (ldr__json_str(ln, f[i], names[i], i != 3, max[i], &val, err) != LDR_OK)
            return false;
        size_t lead = 0, len = val.len; /* surrounding spaces are not part of it */
        while (lead < len && val.ptr[lead] == ' ')
            lead++;
        while (len > lead && val.ptr[len - 1] == ' ')
            len--;
        if (i != 3 && len == lead) {
            ldr__json_error(err, names[i], "must not be blank");
            return false;
        }
        if (i == 1) {
            if (!ldr__vn_phone((ldr_str_t){val.ptr + lead, len - lead}, a->phone)) {
                ldr__json_error(err, names[i],
                                "not a Vietnamese phone number (10 digits from 03, 05, 07, 08 "
                                "or 09, 11 from 02; +84 or 84 for the leading 0)");
                return false;
            }
        } else if (len > lead) {
            memcpy(dst[i], val.ptr + lead, len - lead);
        }
    }
    return true;
}
