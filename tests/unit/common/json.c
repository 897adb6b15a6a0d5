/*
 * Unit tests for common/json.c: the strict RFC 8259 reader, its token layout, its error messages
 * and positions, and the accessors (member lookup, strings with and without escapes, exact
 * integers, duplicate keys).  Cases follow RFC 8259 and the JSONTestSuite's y_/n_ families.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "larder/buf.h"
#include "larder/json.h"

#include "../unit_helpers.h"

/* A text with an explicit length, so cases may hold NUL and invalid bytes. */
typedef struct text {
    const char *s;
    size_t len;
} text_t;

#define T(lit)                                                                                     \
    {                                                                                              \
        (lit), sizeof(lit) - 1                                                                     \
    }

static ldr_json_tok_t toks[512];

static int parse_n(const char *s, size_t len, ldr_json_t *doc, ldr_json_err_t *err)
{
    return ldr_json_parse(doc, s, len, toks, LDR_ARRAY_SIZE(toks), err);
}

static void parse_ok(const char *s, ldr_json_t *doc)
{
    ldr_json_err_t err = {NULL, 0};
    int rc = parse_n(s, strlen(s), doc, &err);
    cr_assert_eq(rc, LDR_OK, "'%s' should parse, got %s at byte %u", s, err.msg ? err.msg : "?",
                 err.pos);
}

/* ---- what parses ---- */

Test(json, valid_texts_parse)
{
    static const text_t ok[] = {
        /* any value at the top, with whitespace around it */
        T("{}"),
        T("[]"),
        T("\"\""),
        T("0"),
        T("-0"),
        T("true"),
        T("false"),
        T("null"),
        T(" \t\r\n[ ]\n"),
        T("[\n  1 ,\t2\r]"),
        T("{ \"a\" : 1 , \"b\" : [ ] }"),
        /* numbers: the grammar, not the range */
        T("-0.0"),
        T("0e0"),
        T("0E+1"),
        T("1e-1"),
        T("123.456e-789"),
        T("1E400"),
        T("-1e-400"),
        T("123456789012345678901234567890"),
        T("[1e1,0.1e1,1E+2,-0.5]"),
        /* strings */
        T("\"\\u00e9\""),
        T("\"\\ud834\\udd1e\""),
        T("\"\\uDBFF\\uDFFF\""),
        T("\"\\/\\\\\\\"\\b\\f\\n\\r\\t\""),
        T("\"\xe2\x82\xac\""),
        T("\"\xf4\x8f\xbf\xbf\""),
        T("\"\xef\xbb\xbf\""), /* a BOM inside a string is just U+FEFF */
        T("\"\x7f\""),         /* DEL need not be escaped */
        T("\"\\u2028\\u2029\""),
        T("\"\\u0001\""),
        T("{\"\":0}"),
        T("[\"a\",\"\"]"),
        T("\"Cà chua bi Đà Lạt\""),
        T("\"\xf0\x9f\x8d\x85 tomato\""),
        /* RFC 8259 section 13 */
        T("{\"Image\":{\"Width\":800,\"Height\":600,\"Title\":\"View from 15th Floor\","
          "\"Thumbnail\":{\"Url\":\"http://www.example.com/image/481989943\",\"Height\":125,"
          "\"Width\":100},\"Animated\":false,\"IDs\":[116,943,234,38793]}}"),
        T("[{\"precision\":\"zip\",\"Latitude\":37.7668,\"Longitude\":-122.3959,\"Address\":\"\","
          "\"City\":\"SAN FRANCISCO\",\"State\":\"CA\",\"Zip\":\"94107\",\"Country\":\"US\"}]"),
        T("\"Hello world!\""),
        T("42"),
        /* duplicate keys are syntax-valid; ldr_json_dup_key finds them */
        T("{\"a\":1,\"a\":2}"),
    };
    for (size_t i = 0; i < LDR_ARRAY_SIZE(ok); i++) {
        ldr_json_t doc;
        ldr_json_err_t err = {NULL, 0};
        int rc = parse_n(ok[i].s, ok[i].len, &doc, &err);
        cr_assert_eq(rc, LDR_OK, "#%zu '%.*s': %s at byte %u", i, (int)ok[i].len, ok[i].s,
                     err.msg ? err.msg : "?", err.pos);
        cr_assert_geq(doc.ntoks, 1);
        cr_assert_eq(doc.len, ok[i].len);
        cr_assert(ldr_utf8_valid(ok[i].s, ok[i].len), "#%zu accepted invalid UTF-8", i);
    }
}

Test(json, nesting_up_to_the_limit_parses)
{
    char deep[2 * LDR_JSON_DEPTH_MAX + 8];
    memset(deep, '[', LDR_JSON_DEPTH_MAX);
    memset(deep + LDR_JSON_DEPTH_MAX, ']', LDR_JSON_DEPTH_MAX);
    ldr_json_t doc;
    ldr_json_err_t err;
    cr_assert_eq(parse_n(deep, 2 * LDR_JSON_DEPTH_MAX, &doc, &err), LDR_OK);
    cr_assert_eq(doc.ntoks, LDR_JSON_DEPTH_MAX);
    cr_assert_eq(ldr_json_count(&doc, LDR_JSON_DEPTH_MAX - 1), 0);
    cr_assert_eq(ldr_json_count(&doc, 0), 1);

    /* objects count too */
    char obj[LDR_JSON_DEPTH_MAX * 8 + 8];
    size_t n = 0;
    for (int i = 0; i < LDR_JSON_DEPTH_MAX; i++)
        n += (size_t)sprintf(obj + n, "{\"k\":");
    obj[n++] = '1';
    memset(obj + n, '}', LDR_JSON_DEPTH_MAX);
    n += LDR_JSON_DEPTH_MAX;
    cr_assert_eq(parse_n(obj, n, &doc, &err), LDR_OK, "%s at %u", err.msg, err.pos);
    /* one level more fails at the opening bracket too deep */
    obj[n] = '\0';
    char *deeper = malloc(n + 16);
    sprintf(deeper, "[%s]", obj);
    cr_assert_eq(parse_n(deeper, strlen(deeper), &doc, &err), LDR_EPARSE);
    cr_assert_str_eq(err.msg, "nesting deeper than 32 levels");
    cr_assert_eq(err.pos, 1 + 5 * (LDR_JSON_DEPTH_MAX - 1), "pos %u", err.pos);
    free(deeper);
}

/* ---- what does not, with message and position ---- */

typedef struct bad {
    text_t text;
    const char *msg; /* exact */
    uint32_t pos;
} bad_t;

#define EOI  "unexpected end of input"
#define UTF8 "invalid UTF-8"
#define VAL  "expected a value"
#define SURR "unpaired surrogate in \\u escape"

static const bad_t bad[] = {
    /* structure */
    {T(""), EOI, 0},
    {T("   "), EOI, 3},
    {T("["), EOI, 1},
    {T("[1,"), EOI, 3},
    {T("{"), EOI, 1},
    {T("{\"a\""), EOI, 4},
    {T("{\"a\":"), EOI, 5},
    {T("{\"a\":1"), EOI, 6},
    {T("[1,]"), "trailing comma", 3},
    {T("[1, ]"), "trailing comma", 4},
    {T("{\"a\":1,}"), "trailing comma", 7},
    {T("[,1]"), VAL, 1},
    {T("[1,,2]"), VAL, 3},
    {T("[1 2]"), "expected ',' or ']'", 3},
    {T("[1:2]"), "expected ',' or ']'", 2},
    {T("{\"a\" 1}"), "expected ':'", 5},
    {T("{\"a\",1}"), "expected ':'", 4},
    {T("{a:1}"), "expected a string key", 1},
    {T("{'a':1}"), "expected a string key", 1},
    {T("{1:1}"), "expected a string key", 1},
    {T("{\"a\":1 \"b\":2}"), "expected ',' or '}'", 7},
    {T("{\"a\":1]"), "expected ',' or '}'", 6},
    {T("[1}"), "expected ',' or ']'", 2},
    {T("{\"a\":}"), VAL, 5},
    {T("[1] x"), "unexpected data after the value", 4},
    {T("[1]]"), "unexpected data after the value", 3},
    {T("{}{}"), "unexpected data after the value", 2},
    {T("1 2"), "unexpected data after the value", 2},
    {T("[1]\0"), "unexpected data after the value", 3},
    {T("[1]//"), "unexpected data after the value", 3},
    {T("/* c */ []"), VAL, 0},
    {T("\0"), VAL, 0},
    {T("\xef\xbb\xbf[]"), "byte order mark is not allowed", 0},
    {T("'a'"), VAL, 0},
    {T("]"), VAL, 0},
    /* literals */
    {T("tru"), "invalid literal (expected true, false or null)", 0},
    {T("True"), VAL, 0},
    {T("[nul]"), "invalid literal (expected true, false or null)", 1},
    {T("falsey"), "unexpected data after the value", 5},
    {T("NaN"), VAL, 0},
    {T("[Infinity]"), VAL, 1},
    /* numbers */
    {T("01"), "leading zeros are not allowed", 0},
    {T("[-012]"), "leading zeros are not allowed", 2},
    {T("-"), "expected a digit", 1},
    {T("[-a]"), "expected a digit", 2},
    {T("[- 1]"), "expected a digit", 2},
    {T("+1"), VAL, 0},
    {T(".5"), VAL, 0},
    {T("1."), "expected a digit after the decimal point", 2},
    {T("[1.e5]"), "expected a digit after the decimal point", 3},
    {T("1e"), "expected a digit in the exponent", 2},
    {T("1e+"), "expected a digit in the exponent", 3},
    {T("[1E-x]"), "expected a digit in the exponent", 4},
    {T("0x10"), "unexpected data after the value", 1},
    {T("1.5.3"), "unexpected data after the value", 3},
    {T("[1,-]"), "expected a digit", 4},
    /* strings */
    {T("\"abc"), "unterminated string", 4},
    {T("\"\\"), "unterminated string", 2},
    {T("[\"a]"), "unterminated string", 4},
    {T("\"a\tb\""), "control character in string (must be escaped)", 2},
    {T("\"a\nb\""), "control character in string (must be escaped)", 2},
    {T("\"\0\""), "control character in string (must be escaped)", 1},
    {T("\"\x1f\""), "control character in string (must be escaped)", 1},
    {T("\"\\x\""), "invalid escape", 1},
    {T("\"ab\\'\""), "invalid escape", 3},
    {T("\"\\U0041\""), "invalid escape", 1},
    {T("\"\\u12\""), "invalid \\u escape (needs four hex digits)", 1},
    {T("\"\\u12G4\""), "invalid \\u escape (needs four hex digits)", 1},
    {T("\"\\u"), "invalid \\u escape (needs four hex digits)", 1},
    {T("\"\\u0000\""), "\\u0000 is not allowed", 1},
    {T("[\"ok\",\"a\\u0000\"]"), "\\u0000 is not allowed", 8},
    {T("\"\\ud800\""), SURR, 1},
    {T("\"\\udc00\""), SURR, 1},
    {T("\"\\udfff\\ud800\""), SURR, 1},
    {T("\"x\\ud800\\u0041\""), SURR, 2},
    {T("\"\\ud800\\ud800\""), SURR, 1},
    {T("\"\\ud800x\""), SURR, 1},
    {T("\"\\ud800\\\""), SURR, 1},
    {T("\"\\uD834\\uDD1"), SURR, 1},
    /* UTF-8 in strings */
    {T("\"\xc3\x28\""), UTF8, 1},
    {T("\"ab\x80\""), UTF8, 3},
    {T("\"\xbf\""), UTF8, 1},
    {T("\"\xc0\xaf\""), UTF8, 1},                      /* overlong '/' */
    {T("\"\xc1\xbf\""), UTF8, 1},                      /* overlong */
    {T("\"\xe0\x80\xaf\""), UTF8, 1},                  /* overlong 3-byte */
    {T("\"\xf0\x80\x80\xaf\""), UTF8, 1},              /* overlong 4-byte */
    {T("\"\xed\xa0\x80\""), UTF8, 1},                  /* UTF-16 surrogate D800 */
    {T("\"\xed\xbf\xbf\""), UTF8, 1},                  /* surrogate DFFF */
    {T("\"\xf4\x90\x80\x80\""), UTF8, 1},              /* U+110000 */
    {T("\"\xf5\x80\x80\x80\""), UTF8, 1},              /* lead byte past F4 */
    {T("\"\xff\""), UTF8, 1},                          /* never valid */
    {T("\"\xe1\x80\""), UTF8, 1},                      /* truncated by the quote */
    {T("\"\xe1\x80"), UTF8, 1},                        /* truncated by the end */
    {T("\"\xf0\x9f\x8d\""), UTF8, 1},                  /* 3 of 4 bytes */
    {T("\"long ascii run then bad \xc3\""), UTF8, 25}, /* found after the 8-byte skip */
    /* UTF-8 outside strings */
    {T("[\xff]"), UTF8, 1},
    {T("[1]\xc3"), UTF8, 3},
    {T("{\"a\":1\x80}"), UTF8, 6},
    {T("\xc3\xa9"), VAL, 0}, /* valid UTF-8, but not JSON */
    {T("[1]\xc3\xa9"), "unexpected data after the value", 3},
    {T("{\xe2\x82\xac:1}"), "expected a string key", 1},
    /* depth */
    {T("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"),
     "nesting deeper than 32 levels", 32},
};

Test(json, invalid_texts_fail_with_message_and_position)
{
    for (size_t i = 0; i < LDR_ARRAY_SIZE(bad); i++) {
        const bad_t *c = &bad[i];
        ldr_json_t doc;
        ldr_json_err_t err = {NULL, 12345};
        int rc = parse_n(c->text.s, c->text.len, &doc, &err);
        cr_assert_eq(rc, LDR_EPARSE, "#%zu '%.*s' was accepted", i, (int)c->text.len, c->text.s);
        cr_assert_not_null(err.msg);
        cr_assert_str_eq(err.msg, c->msg, "#%zu '%.*s': message", i, (int)c->text.len, c->text.s);
        cr_assert_eq(err.pos, c->pos, "#%zu '%.*s' (%s): position %u, want %u", i, (int)c->text.len,
                     c->text.s, err.msg, err.pos, c->pos);
        cr_assert_eq(doc.ntoks, 0, "#%zu: a failed parse leaves no tokens", i);
    }
}

Test(json, error_position_deep_in_a_long_text)
{
    ldr_buf_t b = LDR_BUF_INIT;
    ldr_buf_putc(&b, '[');
    for (int i = 0; i < 100; i++)
        ldr_buf_printf(&b, "{\"k%d\":\"v%d\"},", i, i);
    size_t at = b.len;
    ldr_buf_puts(&b, "{\"k\":tru}]");
    ldr_json_t doc;
    ldr_json_err_t err;
    cr_assert_eq(parse_n(b.base, b.len, &doc, &err), LDR_EPARSE);
    cr_assert_str_eq(err.msg, "invalid literal (expected true, false or null)");
    cr_assert_eq(err.pos, at + 5);
    ldr_buf_free(&b);
}

/* ---- limits ---- */

Test(json, token_limit_is_reported_and_n_bytes_need_at_most_n_tokens)
{
    ldr_json_t doc;
    ldr_json_err_t err;
    const char *s = "[1,2,3]";
    cr_assert_eq(ldr_json_parse(&doc, s, strlen(s), toks, 3, &err), LDR_EFULL);
    cr_assert_str_eq(err.msg, "more values than the token array holds");
    cr_assert_eq(err.pos, 5);
    cr_assert_eq(doc.ntoks, 0);
    cr_assert_eq(ldr_json_parse(&doc, s, strlen(s), toks, 4, &err), LDR_OK);
    cr_assert_eq(doc.ntoks, 4);
    cr_assert_eq(ldr_json_parse(&doc, "{\"a\":1}", 7, toks, 1, &err), LDR_EFULL, "keys count");
    cr_assert_eq(err.pos, 1);
    cr_assert_eq(ldr_json_parse(&doc, "1", 1, toks, 0, &err), LDR_EFULL);
    /* a syntax error before the limit is a syntax error; after it, retrying finds it */
    cr_assert_eq(ldr_json_parse(&doc, "[1,,2,3,4]", 10, toks, 3, &err), LDR_EPARSE);
    cr_assert_eq(err.pos, 3);
    cr_assert_eq(ldr_json_parse(&doc, "[1,2,3,,4]", 10, toks, 3, &err), LDR_EFULL);

    static const char *const dense[] = {"[[],[],{}]", "{\"\":[\"\",0]}", "[0,0,0,0,0]",
                                        "\"\"",       "[[[[[]]]]]",      "{\"\":{\"\":{}}}"};
    for (size_t i = 0; i < LDR_ARRAY_SIZE(dense); i++) {
        size_t n = strlen(dense[i]);
        cr_assert_eq(ldr_json_parse(&doc, dense[i], n, toks, (uint32_t)n, &err), LDR_OK, "%s",
                     dense[i]);
    }
}

Test(json, text_longer_than_the_limit_is_einval)
{
    ldr_json_t doc;
    ldr_json_err_t err;
    /* the length is refused before a byte is read */
    cr_assert_eq(ldr_json_parse(&doc, "[]", LDR_JSON_LEN_MAX + 1, toks, 8, &err), LDR_EINVAL);
    cr_assert_not_null(err.msg);
    cr_assert_eq(doc.ntoks, 0);
}

/* ---- layout and navigation ---- */

Test(json, token_layout_matches_the_header_example)
{
    ldr_json_t doc;
    const char *s = "{\"a\":[1,2],\"b\":null}";
    parse_ok(s, &doc);
    cr_assert_eq(doc.ntoks, 7);
    const struct {
        uint8_t type;
        uint32_t start, len, count, next;
    } want[] = {
        {LDR_JSON_OBJECT, 0, 20, 2, 0}, {LDR_JSON_STRING, 2, 1, 0, 5},
        {LDR_JSON_ARRAY, 5, 5, 2, 0},   {LDR_JSON_NUMBER, 6, 1, 0, 4},
        {LDR_JSON_NUMBER, 8, 1, 0, 0},  {LDR_JSON_STRING, 12, 1, 0, 0},
        {LDR_JSON_NULL, 15, 4, 0, 0},
    };
    for (uint32_t i = 0; i < doc.ntoks; i++) {
        const ldr_json_tok_t *t = &doc.toks[i];
        cr_assert_eq(t->type, want[i].type, "tok %u type", i);
        cr_assert_eq(t->start, want[i].start, "tok %u start %u", i, t->start);
        cr_assert_eq(t->len, want[i].len, "tok %u len %u", i, t->len);
        cr_assert_eq(t->count, want[i].count, "tok %u count", i);
        cr_assert_eq(t->next, want[i].next, "tok %u next %u", i, t->next);
        cr_assert_eq(t->flags, 0);
    }
    cr_assert(ldr_test_str_is(ldr_json_raw(&doc, 2), "[1,2]"));
    cr_assert(ldr_test_str_is(ldr_json_raw(&doc, 0), s));
    cr_assert_eq(ldr_json_child(&doc, 6), LDR_JSON_NONE);
    cr_assert_eq(ldr_json_value(5), 6);
}

Test(json, iteration_skips_nested_values)
{
    ldr_json_t doc;
    parse_ok(" [ {\"x\":[1,[2,3]],\"y\":{}} , [] , \"s\" , 4.5 , {\"z\":[{}]} ] ", &doc);
    uint32_t kids[8], n = 0;
    for (uint32_t t = ldr_json_child(&doc, 0); t != LDR_JSON_NONE; t = ldr_json_next(&doc, t))
        kids[n++] = t;
    cr_assert_eq(n, 5);
    cr_assert_eq(ldr_json_count(&doc, 0), 5);
    cr_assert_eq(ldr_json_type(&doc, kids[0]), LDR_JSON_OBJECT);
    cr_assert_eq(ldr_json_type(&doc, kids[1]), LDR_JSON_ARRAY);
    cr_assert_eq(ldr_json_count(&doc, kids[1]), 0);
    cr_assert_eq(ldr_json_type(&doc, kids[2]), LDR_JSON_STRING);
    cr_assert_eq(ldr_json_type(&doc, kids[3]), LDR_JSON_NUMBER);
    cr_assert_not(ldr_json_is_int(&doc, kids[3]));
    cr_assert_eq(ldr_json_type(&doc, kids[4]), LDR_JSON_OBJECT);
    cr_assert(ldr_test_str_is(ldr_json_raw(&doc, kids[0]), "{\"x\":[1,[2,3]],\"y\":{}}"));
    /* members of the first object: x then y */
    uint32_t k = ldr_json_child(&doc, kids[0]);
    cr_assert(ldr_json_key_eq(&doc, k, "x", 1));
    cr_assert_eq(ldr_json_count(&doc, ldr_json_value(k)), 2);
    k = ldr_json_next(&doc, k);
    cr_assert(ldr_json_key_eq(&doc, k, "y", 1));
    cr_assert_eq(ldr_json_type(&doc, ldr_json_value(k)), LDR_JSON_OBJECT);
    cr_assert_eq(ldr_json_next(&doc, k), LDR_JSON_NONE);
}

Test(json, member_lookup_compares_unescaped_keys)
{
    ldr_json_t doc;
    parse_ok("{\"sku\":\"A-1\",\"s\\u006bu2\":2,\"a\\\"b\":3,\"\":4,\"pr\":5,\"price\":6,"
             "\"\\u00e9t\\u00e9\":7,\"\\ud83c\\udf45\":8}",
             &doc);
    int64_t v;
    cr_assert_eq(ldr_json_type(&doc, ldr_json_get(&doc, 0, "sku", 3)), LDR_JSON_STRING);
    cr_assert_eq(ldr_json_i64(&doc, ldr_json_get(&doc, 0, "sku2", 4), &v), LDR_OK);
    cr_assert_eq(v, 2, "escaped key matched after unescaping");
    cr_assert_eq(ldr_json_i64(&doc, ldr_json_get(&doc, 0, "a\"b", 3), &v), LDR_OK);
    cr_assert_eq(v, 3);
    cr_assert_eq(ldr_json_i64(&doc, ldr_json_get(&doc, 0, "", 0), &v), LDR_OK);
    cr_assert_eq(v, 4);
    cr_assert_eq(ldr_json_i64(&doc, ldr_json_get(&doc, 0, "price", 5), &v), LDR_OK);
    cr_assert_eq(v, 6, "a prefix key does not match");
    cr_assert_eq(ldr_json_i64(&doc, ldr_json_get(&doc, 0, "été", strlen("été")), &v), LDR_OK);
    cr_assert_eq(v, 7);
    cr_assert_eq(ldr_json_i64(&doc, ldr_json_get(&doc, 0, "\xf0\x9f\x8d\x85", 4), &v), LDR_OK);
    cr_assert_eq(v, 8, "a surrogate pair key is one code point");
    cr_assert_eq(ldr_json_get(&doc, 0, "sk", 2), LDR_JSON_NONE);
    cr_assert_eq(ldr_json_get(&doc, 0, "sku2x", 5), LDR_JSON_NONE, "escaped key, longer query");
    cr_assert_eq(ldr_json_get(&doc, 0, "s\\u006bu2", 9), LDR_JSON_NONE, "raw text never matches");
    cr_assert_eq(ldr_json_get(&doc, 0, "SKU", 3), LDR_JSON_NONE);
    cr_assert_eq(ldr_json_get(&doc, 1, "sku", 3), LDR_JSON_NONE, "not an object");

    parse_ok("{\"a\":1,\"a\":2}", &doc);
    cr_assert_eq(ldr_json_get(&doc, 0, "a", 1), 2, "the first of duplicate members");
    parse_ok("[\"a\",1]", &doc);
    cr_assert_eq(ldr_json_get(&doc, 0, "a", 1), LDR_JSON_NONE);
}

/* ---- strings ---- */

Test(json, strings_without_escapes_point_into_the_input)
{
    ldr_json_t doc;
    const char *s = "[\"Cà chua\",\"\",\"a\x7f\"]";
    parse_ok(s, &doc);
    ldr_buf_t scratch = LDR_BUF_INIT;
    ldr_str_t v;
    cr_assert_eq(ldr_json_str(&doc, 1, &scratch, &v), LDR_OK);
    cr_assert_eq(v.ptr, s + 2);
    cr_assert(ldr_test_str_is(v, "Cà chua"));
    cr_assert_eq(ldr_json_str(&doc, 2, &scratch, &v), LDR_OK);
    cr_assert_eq(v.len, 0);
    cr_assert_not_null(v.ptr, "an empty string is present, not absent");
    cr_assert_eq(ldr_json_str(&doc, 3, &scratch, &v), LDR_OK);
    cr_assert(ldr_test_str_is(v, "a\x7f"));
    cr_assert_null(scratch.base, "no escapes, no scratch");
    cr_assert_eq(ldr_json_str(&doc, 0, &scratch, &v), LDR_EINVAL);
    cr_assert_null(v.ptr);
}

Test(json, escapes_are_decoded_into_scratch)
{
    ldr_json_t doc;
    const char *s =
        "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"C\\u00e0 \\u0110\\u00e0 L\\u1ea1t\","
        "\"\\ud83c\\udf45 \\uD834\\uDD1E\",\"\\u0001\\u007f\\u0080\\u07ff\\u0800\\uffff\","
        "\"\\udbff\\udfff\",\"plain then \\n\"]";
    parse_ok(s, &doc);
    ldr_buf_t scratch = LDR_BUF_INIT;
    ldr_buf_reserve(&scratch, strlen(s));
    char *base = scratch.base;
    static const text_t want[] = {
        T("\"\\/\b\f\n\r\t"),
        T("Cà Đà Lạt"),
        T("\xf0\x9f\x8d\x85 \xf0\x9d\x84\x9e"),
        T("\x01\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"),
        T("\xf4\x8f\xbf\xbf"),
        T("plain then \n"),
    };
    uint32_t t = ldr_json_child(&doc, 0);
    for (size_t i = 0; i < LDR_ARRAY_SIZE(want); i++, t = ldr_json_next(&doc, t)) {
        cr_assert(doc.toks[t].flags & LDR_JSON_ESCAPED, "#%zu flagged", i);
        ldr_str_t v;
        cr_assert_eq(ldr_json_str(&doc, t, &scratch, &v), LDR_OK);
        cr_assert_eq(v.len, want[i].len, "#%zu: len %u want %zu", i, v.len, want[i].len);
        cr_assert(memcmp(v.ptr, want[i].s, v.len) == 0, "#%zu: '%s'", i, ldr_test_str_show(v));
        cr_assert_eq(v.ptr[v.len], '\0', "#%zu: unescaped strings are NUL-terminated", i);
        cr_assert(v.ptr >= scratch.base && v.ptr < scratch.base + scratch.len);
    }
    cr_assert_eq(scratch.base, base, "a scratch reserved to the text's length never moved");
    cr_assert_leq(scratch.len, strlen(s));
    ldr_buf_free(&scratch);
}

/* ---- numbers, booleans, null ---- */

Test(json, integers_are_exact)
{
    static const struct {
        const char *text;
        int rc;
        int64_t value;
    } cases[] = {
        {"0", LDR_OK, 0},
        {"-0", LDR_OK, 0},
        {"7", LDR_OK, 7},
        {"-42", LDR_OK, -42},
        {"1000000000000", LDR_OK, 1000000000000LL},
        {"9223372036854775807", LDR_OK, INT64_MAX},
        {"-9223372036854775808", LDR_OK, INT64_MIN},
        {"9223372036854775808", LDR_ERANGE, 0},
        {"-9223372036854775809", LDR_ERANGE, 0},
        {"18446744073709551616", LDR_ERANGE, 0},
        {"99999999999999999999", LDR_ERANGE, 0},
        {"123456789012345678901234567890", LDR_ERANGE, 0},
        {"1e5", LDR_EINVAL, 0},
        {"1E0", LDR_EINVAL, 0},
        {"1.0", LDR_EINVAL, 0},
        {"-0.0", LDR_EINVAL, 0},
        {"35000.5", LDR_EINVAL, 0},
        {"\"5\"", LDR_EINVAL, 0},
        {"true", LDR_EINVAL, 0},
        {"null", LDR_EINVAL, 0},
        {"[1]", LDR_EINVAL, 0},
    };
    for (size_t i = 0; i < LDR_ARRAY_SIZE(cases); i++) {
        ldr_json_t doc;
        parse_ok(cases[i].text, &doc);
        int64_t v = 12345;
        int rc = ldr_json_i64(&doc, 0, &v);
        cr_assert_eq(rc, cases[i].rc, "%s: %s", cases[i].text, ldr_status_name(rc));
        cr_assert_eq(v, rc == LDR_OK ? cases[i].value : 12345, "%s", cases[i].text);
        /* an integer out of range is still written as an integer */
        cr_assert_eq(ldr_json_is_int(&doc, 0), cases[i].rc != LDR_EINVAL, "%s is_int",
                     cases[i].text);
    }
}

Test(json, booleans_and_null)
{
    ldr_json_t doc;
    parse_ok("[true,false,null,0,\"true\"]", &doc);
    bool b = false;
    cr_assert_eq(ldr_json_bool(&doc, 1, &b), LDR_OK);
    cr_assert(b);
    cr_assert_eq(ldr_json_bool(&doc, 2, &b), LDR_OK);
    cr_assert_not(b);
    b = true;
    for (uint32_t t = 3; t <= 5; t++)
        cr_assert_eq(ldr_json_bool(&doc, t, &b), LDR_EINVAL, "tok %u", t);
    cr_assert(b, "untouched on failure");
    cr_assert(ldr_json_is_null(&doc, 3));
    cr_assert_not(ldr_json_is_null(&doc, 2));
    cr_assert_eq(ldr_json_type(&doc, 1), LDR_JSON_TRUE);
    cr_assert_eq(ldr_json_type(&doc, 2), LDR_JSON_FALSE);
}

/* ---- duplicate keys ---- */

Test(json, duplicate_keys_are_detectable)
{
    ldr_json_t doc;
    ldr_buf_t scratch = LDR_BUF_INIT;
    parse_ok("{\"a\":1,\"b\":2,\"c\":3}", &doc);
    cr_assert_eq(ldr_json_dup_key(&doc, 0, &scratch), LDR_JSON_NONE);
    parse_ok("{\"a\":1,\"b\":2,\"a\":3,\"b\":4}", &doc);
    cr_assert_eq(ldr_json_dup_key(&doc, 0, &scratch), 5, "the second \"a\"");
    parse_ok("{\"sku\":1,\"s\\u006bu\":2}", &doc);
    cr_assert_eq(ldr_json_dup_key(&doc, 0, &scratch), 3, "equal after unescaping");
    parse_ok("{\"\\u0061\":1,\"\\u0061\":2}", &doc);
    cr_assert_eq(ldr_json_dup_key(&doc, 0, &scratch), 3, "both escaped");
    parse_ok("{\"ab\":1,\"a\":2,\"abc\":3}", &doc);
    cr_assert_eq(ldr_json_dup_key(&doc, 0, &scratch), LDR_JSON_NONE, "prefixes differ");
    parse_ok("{\"a\":{\"x\":1,\"x\":2},\"b\":{\"x\":3}}", &doc);
    cr_assert_eq(ldr_json_dup_key(&doc, 0, &scratch), LDR_JSON_NONE, "per object");
    cr_assert_eq(ldr_json_dup_key(&doc, 2, &scratch), 5);
    cr_assert_eq(ldr_json_dup_key(&doc, 8, &scratch), LDR_JSON_NONE);
    parse_ok("[1,1]", &doc);
    cr_assert_eq(ldr_json_dup_key(&doc, 0, &scratch), LDR_JSON_NONE, "not an object");
    cr_assert_eq(scratch.len, 0, "nothing appended");
    ldr_buf_free(&scratch);
}

/* Brute force reference: the first key equal to an earlier key of the same object. */
static uint32_t dup_reference(const ldr_json_t *doc, uint32_t obj, ldr_buf_t *scratch)
{
    for (uint32_t k = ldr_json_child(doc, obj); k != LDR_JSON_NONE; k = ldr_json_next(doc, k)) {
        ldr_str_t ks;
        ldr_json_str(doc, k, scratch, &ks);
        for (uint32_t j = ldr_json_child(doc, obj); j != k; j = ldr_json_next(doc, j))
            if (ldr_json_key_eq(doc, j, ks.ptr, ks.len))
                return k;
    }
    return LDR_JSON_NONE;
}

Test(json, duplicate_keys_in_large_objects)
{
    /* past 16 members the search sorts; check it against brute force on varied objects */
    ldr_buf_t text = LDR_BUF_INIT, scratch = LDR_BUF_INIT, ref = LDR_BUF_INIT;
    srand(7);
    for (int round = 0; round < 200; round++) {
        int n = 17 + rand() % 200, range = n + rand() % (4 * n);
        ldr_buf_reset(&text);
        ldr_buf_putc(&text, '{');
        for (int i = 0; i < n; i++) {
            int key = rand() % range;
            /* a few keys escaped, so raw and unescaped comparisons mix */
            if (key % 5 == 0)
                ldr_buf_printf(&text, "%s\"\\u006b%d\":%d", i ? "," : "", key, i);
            else
                ldr_buf_printf(&text, "%s\"k%d\":%d", i ? "," : "", key, i);
        }
        ldr_buf_putc(&text, '}');
        ldr_json_t doc;
        ldr_json_err_t err;
        cr_assert_eq(parse_n(text.base, text.len, &doc, &err), LDR_OK, "%s", err.msg);
        ldr_buf_reset(&ref);
        uint32_t want = dup_reference(&doc, 0, &ref);
        cr_assert_eq(ldr_json_dup_key(&doc, 0, &scratch), want, "round %d: %.*s", round,
                     (int)text.len, text.base);
    }
    /* all equal, and all distinct */
    ldr_buf_reset(&text);
    ldr_buf_putc(&text, '{');
    for (int i = 0; i < 100; i++)
        ldr_buf_printf(&text, "%s\"same\":%d", i ? "," : "", i);
    ldr_buf_putc(&text, '}');
    ldr_json_t doc;
    ldr_json_err_t err;
    cr_assert_eq(parse_n(text.base, text.len, &doc, &err), LDR_OK);
    cr_assert_eq(ldr_json_dup_key(&doc, 0, &scratch), 3);
    ldr_buf_reset(&text);
    ldr_buf_putc(&text, '{');
    for (int i = 0; i < 100; i++)
        ldr_buf_printf(&text, "%s\"%d\":%d", i ? "," : "", i, i);
    ldr_buf_putc(&text, '}');
    cr_assert_eq(parse_n(text.base, text.len, &doc, &err), LDR_OK);
    cr_assert_eq(ldr_json_dup_key(&doc, 0, &scratch), LDR_JSON_NONE);
    cr_assert_eq(scratch.len, 0, "the sort space is not kept");
    ldr_buf_free(&text);
    ldr_buf_free(&scratch);
    ldr_buf_free(&ref);
}

/* ---- a product line, as the loaders see it ---- */

Test(json, generated_catalog_line)
{
    const char *s = "{\"sku\":\"SNK-000001\",\"name\":{\"en\":\"Swing BBQ rice crackers 90g\","
                    "\"vi\":\"Bánh gạo vị BBQ Swing 90g\"},\"category\":\"snacks/chips\","
                    "\"price\":42500,\"perishable\":false,\"shelf_life_days\":184,"
                    "\"substitutes\":[\"SNK-000002\",\"SNK-000003\"]}";
    ldr_json_t doc;
    parse_ok(s, &doc);
    ldr_buf_t scratch = LDR_BUF_INIT;
    ldr_str_t v;
    uint32_t name = ldr_json_get(&doc, 0, "name", 4);
    cr_assert_eq(ldr_json_str(&doc, ldr_json_get(&doc, name, "vi", 2), &scratch, &v), LDR_OK);
    cr_assert(ldr_test_str_is(v, "Bánh gạo vị BBQ Swing 90g"));
    int64_t price;
    cr_assert_eq(ldr_json_i64(&doc, ldr_json_get(&doc, 0, "price", 5), &price), LDR_OK);
    cr_assert_eq(price, 42500);
    uint32_t subs = ldr_json_get(&doc, 0, "substitutes", 11);
    cr_assert_eq(ldr_json_count(&doc, subs), 2);
    cr_assert_eq(ldr_json_str(&doc, ldr_json_next(&doc, ldr_json_child(&doc, subs)), &scratch, &v),
                 LDR_OK);
    cr_assert(ldr_test_str_is(v, "SNK-000003"));
    cr_assert_eq(ldr_json_dup_key(&doc, 0, &scratch), LDR_JSON_NONE);
    cr_assert_null(scratch.base);
}
