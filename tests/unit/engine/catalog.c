/*
 * Unit tests for engine/catalog.c, engine/product.c and engine/jsonl.c: the product validator, the
 * JSON Lines loader with broken lines, upserts and SKU lookup.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "larder/catalog.h"

#include "../unit_helpers.h"

#define BASE_LINE                                                                                  \
    "{\"sku\":\"A-1\",\"name\":{\"en\":\"Apple\",\"vi\":\"Táo\"},\"category\":\"produce/fruit\"," \
    "\"brand\":\"Da Lat Farm\",\"tags\":[\"fresh\"],\"price\":1000}"

/* Loads a NUL-terminated JSON Lines text, collecting rejects into *rej (zeroed first). */
static ldr_load_result_t load(ldr_catalog_t *cat, const char *text, ldr_test_rejects_t *rej)
{
    ldr_load_result_t res = {99, 99, 99};
    memset(rej, 0, sizeof(*rej));
    cr_assert_eq(ldr_catalog_load_jsonl(cat, text, strlen(text), ldr_test_reject_cb, rej, &res),
                 LDR_OK);
    cr_assert_eq(res.rejected, rej->count, "every rejected line is reported once");
    cr_assert_eq(res.loaded + res.rejected, res.lines);
    return res;
}

static const ldr_product_t *find(const ldr_catalog_t *cat, const char *sku)
{
    return ldr_catalog_find(cat, sku, strlen(sku), NULL);
}

/* A catalog holding BASE_LINE only. */
static ldr_catalog_t *base_catalog(void)
{
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_test_rejects_t rej;
    ldr_load_result_t res = load(cat, BASE_LINE "\n", &rej);
    cr_assert_eq(res.loaded, 1, "base line rejected: %s", rej.message[0]);
    return cat;
}

static void parse_ok(const char *json, ldr_product_input_t *in)
{
    ldr_error_t err;
    int rc = ldr_product_parse(json, strlen(json), in, &err);
    cr_assert_eq(rc, LDR_OK, "parse failed: %s", err.message);
}

/* ---- one bad line at a time ---- */

typedef struct bad_line {
    const char *what;
    const char *line;
    const char *needle; /* must appear in the reject message */
} bad_line_t;

/* Every line carries sku "A-1" where it can, so accepting it by mistake would visibly replace the
 * base product. */
#define P_NAME  "\"name\":{\"en\":\"Apple\"}"
#define P_CAT   "\"category\":\"produce/fruit\""
#define P_PRICE "\"price\":1000"
#define P_REST  P_NAME "," P_CAT "," P_PRICE

static const bad_line_t bad_lines[] = {
    /* syntax */
    {"bad JSON", "{\"sku\":\"A-1\",," P_REST "}", "invalid JSON"},
    {"trailing comma", "{\"sku\":\"A-1\"," P_REST ",}", "invalid JSON"},
    {"truncated JSON", "{\"sku\":\"A-1\",\"name\":{\"en\":\"Apple\"", "invalid JSON"},
    {"truncated mid-string", "{\"sku\":\"A-1\",\"name\":{\"en\":\"App", "invalid JSON"},
    {"two objects on a line", "{\"sku\":\"A-1\"," P_REST "}{}", "invalid JSON"},
    {"array", "[{\"sku\":\"A-1\"}]", "expected a JSON object"},
    {"string", "\"A-1\"", "JSON"},
    {"number", "42", "JSON"},
    {"null", "null", "JSON"},
    {"duplicate JSON keys", "{\"sku\":\"A-1\",\"sku\":\"A-1\"," P_REST "}", "duplicate"},
    {"duplicate nested keys",
     "{\"sku\":\"A-1\",\"name\":{\"en\":\"a\",\"en\":\"b\"}," P_CAT "," P_PRICE "}", "duplicate"},
    /* encoding */
    {"invalid UTF-8 in name",
     "{\"sku\":\"A-1\",\"name\":{\"en\":\"App\xC3\x28le\"}," P_CAT "," P_PRICE "}", "invalid JSON"},
    {"lone continuation byte",
     "{\"sku\":\"A-1\",\"name\":{\"vi\":\"T\x80o\"}," P_CAT "," P_PRICE "}", "invalid JSON"},
    {"overlong UTF-8", "{\"sku\":\"A-1\",\"name\":{\"en\":\"a\xC0\xAF\"}," P_CAT "," P_PRICE "}",
     "invalid JSON"},
    {"UTF-8 surrogate",
     "{\"sku\":\"A-1\",\"name\":{\"en\":\"\xED\xA0\x80\"}," P_CAT "," P_PRICE "}", "invalid JSON"},
    {"truncated UTF-8 at end of string",
     "{\"sku\":\"A-1\",\"name\":{\"en\":\"Apple\xE1\x80\"}," P_CAT "," P_PRICE "}", "invalid JSON"},
    {"escaped NUL", "{\"sku\":\"A-1\",\"name\":{\"en\":\"a\\u0000b\"}," P_CAT "," P_PRICE "}",
     "invalid JSON"},
    {"control char escaped in name",
     "{\"sku\":\"A-1\",\"name\":{\"en\":\"a\\u0001b\"}," P_CAT "," P_PRICE "}",
     "field \"name.en\": control character"},
    {"newline escaped in name",
     "{\"sku\":\"A-1\",\"name\":{\"vi\":\"a\\nb\"}," P_CAT "," P_PRICE "}",
     "field \"name.vi\": control character"},
    {"raw DEL in name", "{\"sku\":\"A-1\",\"name\":{\"vi\":\"a\x7f\"}," P_CAT "," P_PRICE "}",
     "field \"name.vi\": control character"},
    {"raw tab inside a string",
     "{\"sku\":\"A-1\",\"name\":{\"en\":\"a\tb\"}," P_CAT "," P_PRICE "}", "invalid JSON"},
    /* sku */
    {"missing sku", "{" P_REST "}", "field \"sku\": is required"},
    {"null sku", "{\"sku\":null," P_REST "}", "field \"sku\": is required"},
    {"empty sku", "{\"sku\":\"\"," P_REST "}", "field \"sku\": must not be empty"},
    {"sku with a space", "{\"sku\":\"A 1\"," P_REST "}", "field \"sku\": not a valid sku"},
    {"sku with a slash", "{\"sku\":\"A/1\"," P_REST "}", "field \"sku\": not a valid sku"},
    {"sku with a quote", "{\"sku\":\"A\\\"1\"," P_REST "}", "field \"sku\": not a valid sku"},
    {"sku with non-ASCII", "{\"sku\":\"Á-1\"," P_REST "}", "field \"sku\": not a valid sku"},
    {"sku of 65 bytes",
     "{\"sku\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"," P_REST "}",
     "field \"sku\": longer than 64"},
    {"sku as a number", "{\"sku\":123," P_REST "}",
     "field \"sku\": expected a string, got an integer"},
    /* price */
    {"negative price", "{\"sku\":\"A-1\"," P_NAME "," P_CAT ",\"price\":-1}",
     "field \"price\": must not be negative"},
    {"price as float", "{\"sku\":\"A-1\"," P_NAME "," P_CAT ",\"price\":35000.5}",
     "field \"price\": expected integer, got a number with a fraction"},
    {"price as whole float", "{\"sku\":\"A-1\"," P_NAME "," P_CAT ",\"price\":35000.0}",
     "field \"price\": expected integer"},
    {"price in exponent form", "{\"sku\":\"A-1\"," P_NAME "," P_CAT ",\"price\":1e3}",
     "field \"price\": expected integer"},
    {"price as string", "{\"sku\":\"A-1\"," P_NAME "," P_CAT ",\"price\":\"35000\"}",
     "field \"price\": expected integer, got a string"},
    {"price as boolean", "{\"sku\":\"A-1\"," P_NAME "," P_CAT ",\"price\":true}",
     "field \"price\": expected integer, got a boolean"},
    {"missing price", "{\"sku\":\"A-1\"," P_NAME "," P_CAT "}", "field \"price\": is required"},
    {"null price", "{\"sku\":\"A-1\"," P_NAME "," P_CAT ",\"price\":null}",
     "field \"price\": is required"},
    {"price above 10^12", "{\"sku\":\"A-1\"," P_NAME "," P_CAT ",\"price\":1000000000001}",
     "field \"price\": must be between 0 and 1000000000000"},
    {"price beyond int64", "{\"sku\":\"A-1\"," P_NAME "," P_CAT ",\"price\":99999999999999999999}",
     "invalid JSON"},
    /* name and description */
    {"missing name", "{\"sku\":\"A-1\"," P_CAT "," P_PRICE "}", "field \"name\": is required"},
    {"name without en and vi", "{\"sku\":\"A-1\",\"name\":{}," P_CAT "," P_PRICE "}",
     "field \"name\": needs \"en\" or \"vi\""},
    {"name with only nulls",
     "{\"sku\":\"A-1\",\"name\":{\"en\":null,\"vi\":null}," P_CAT "," P_PRICE "}",
     "field \"name\": needs \"en\" or \"vi\""},
    {"name in another language",
     "{\"sku\":\"A-1\",\"name\":{\"fr\":\"Pomme\"}," P_CAT "," P_PRICE "}",
     "unknown field \"name.fr\""},
    {"name as a string", "{\"sku\":\"A-1\",\"name\":\"Apple\"," P_CAT "," P_PRICE "}",
     "field \"name\": expected an object"},
    {"empty name.en", "{\"sku\":\"A-1\",\"name\":{\"en\":\"\"}," P_CAT "," P_PRICE "}",
     "field \"name.en\": must not be empty"},
    {"name.vi as a number", "{\"sku\":\"A-1\",\"name\":{\"vi\":5}," P_CAT "," P_PRICE "}",
     "field \"name.vi\": expected a string"},
    {"description as a string", "{\"sku\":\"A-1\"," P_REST ",\"description\":\"x\"}",
     "field \"description\": expected an object"},
    {"description in another language",
     "{\"sku\":\"A-1\"," P_REST ",\"description\":{\"de\":\"x\"}}",
     "unknown field \"description.de\""},
    /* unknown fields */
    {"unknown field", "{\"sku\":\"A-1\"," P_REST ",\"colour\":\"red\"}",
     "unknown field \"colour\""},
    {"field names are case-sensitive", "{\"sku\":\"A-1\"," P_REST ",\"Price\":5}",
     "unknown field \"Price\""},
    /* lists and flags */
    {"tags as a string", "{\"sku\":\"A-1\"," P_REST ",\"tags\":\"organic\"}",
     "field \"tags\": expected an array of strings"},
    {"tags as an object", "{\"sku\":\"A-1\"," P_REST ",\"tags\":{}}",
     "field \"tags\": expected an array of strings"},
    {"tag as a number", "{\"sku\":\"A-1\"," P_REST ",\"tags\":[\"ok\",1]}",
     "field \"tags[1]\": expected a string, got an integer"},
    {"empty tag", "{\"sku\":\"A-1\"," P_REST ",\"tags\":[\"\"]}",
     "field \"tags[0]\": must not be empty"},
    {"33 tags",
     "{\"sku\":\"A-1\"," P_REST ",\"tags\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\","
     "\"10\",\"11\",\"12\",\"13\",\"14\",\"15\",\"16\",\"17\",\"18\",\"19\",\"20\",\"21\",\"22\","
     "\"23\",\"24\",\"25\",\"26\",\"27\",\"28\",\"29\",\"30\",\"31\",\"32\",\"33\"]}",
     "field \"tags\": more than 32 items"},
    {"substitutes as a string", "{\"sku\":\"A-1\"," P_REST ",\"substitutes\":\"B-2\"}",
     "field \"substitutes\": expected an array of strings"},
    {"substitute not a sku", "{\"sku\":\"A-1\"," P_REST ",\"substitutes\":[\"B-2\",\"bad sku\"]}",
     "field \"substitutes[1]\": not a valid sku"},
    {"substitute as an object", "{\"sku\":\"A-1\"," P_REST ",\"substitutes\":[{}]}",
     "field \"substitutes[0]\": expected a string, got an object"},
    {"perishable as a string", "{\"sku\":\"A-1\"," P_REST ",\"perishable\":\"yes\"}",
     "field \"perishable\": expected true or false"},
    {"perishable as a number", "{\"sku\":\"A-1\"," P_REST ",\"perishable\":1}",
     "field \"perishable\": expected true or false"},
    {"negative shelf life", "{\"sku\":\"A-1\"," P_REST ",\"shelf_life_days\":-1}",
     "field \"shelf_life_days\": must not be negative"},
    {"shelf life above 3650", "{\"sku\":\"A-1\"," P_REST ",\"shelf_life_days\":3651}",
     "field \"shelf_life_days\": must be between 0 and 3650"},
    {"shelf life as a string", "{\"sku\":\"A-1\"," P_REST ",\"shelf_life_days\":\"7\"}",
     "field \"shelf_life_days\": expected integer"},
    /* category, brand, unit */
    {"missing category", "{\"sku\":\"A-1\"," P_NAME "," P_PRICE "}",
     "field \"category\": is required"},
    {"uppercase category", "{\"sku\":\"A-1\"," P_NAME ",\"category\":\"Produce\"," P_PRICE "}",
     "field \"category\": expected a path"},
    {"empty category segment", "{\"sku\":\"A-1\"," P_NAME ",\"category\":\"a//b\"," P_PRICE "}",
     "field \"category\": expected a path"},
    {"leading slash", "{\"sku\":\"A-1\"," P_NAME ",\"category\":\"/a\"," P_PRICE "}",
     "field \"category\": expected a path"},
    {"trailing slash", "{\"sku\":\"A-1\"," P_NAME ",\"category\":\"a/\"," P_PRICE "}",
     "field \"category\": expected a path"},
    {"lone slash", "{\"sku\":\"A-1\"," P_NAME ",\"category\":\"/\"," P_PRICE "}",
     "field \"category\": expected a path"},
    {"space in category", "{\"sku\":\"A-1\"," P_NAME ",\"category\":\"dry goods\"," P_PRICE "}",
     "field \"category\": expected a path"},
    {"empty category", "{\"sku\":\"A-1\"," P_NAME ",\"category\":\"\"," P_PRICE "}",
     "field \"category\": must not be empty"},
    {"category as an array", "{\"sku\":\"A-1\"," P_NAME ",\"category\":[\"a\"]," P_PRICE "}",
     "field \"category\": expected a string, got an array"},
    {"empty brand", "{\"sku\":\"A-1\"," P_REST ",\"brand\":\"\"}",
     "field \"brand\": must not be empty"},
    {"brand as a number", "{\"sku\":\"A-1\"," P_REST ",\"brand\":7}",
     "field \"brand\": expected a string"},
    {"unit of 33 bytes",
     "{\"sku\":\"A-1\"," P_REST ",\"unit\":\"123456789012345678901234567890123\"}",
     "field \"unit\": longer than 32 bytes"},
};

Test(catalog, each_bad_line_is_rejected_with_its_field_and_changes_nothing)
{
    for (size_t i = 0; i < LDR_ARRAY_SIZE(bad_lines); i++) {
        const bad_line_t *c = &bad_lines[i];
        ldr_catalog_t *cat = base_catalog();
        const ldr_product_t *before = find(cat, "A-1");
        cr_assert_not_null(before);
        uint32_t ncat = ldr_intern_count(ldr_catalog_categories(cat));
        uint32_t nbrand = ldr_intern_count(ldr_catalog_brands(cat));
        uint32_t ntag = ldr_intern_count(ldr_catalog_tags(cat));

        ldr_test_rejects_t rej;
        ldr_load_result_t res = load(cat, c->line, &rej);
        cr_assert_eq(res.lines, 1, "[%s] lines", c->what);
        cr_assert_eq(res.rejected, 1, "[%s] was accepted: %s", c->what, c->line);
        cr_assert_eq(res.loaded, 0, "[%s] loaded", c->what);
        cr_assert_eq(rej.line[0], 1, "[%s] line number", c->what);
        cr_assert(ldr_test_reject_has(&rej, 0, c->needle), "[%s] message \"%s\" lacks \"%s\"",
                  c->what, rej.message[0], c->needle);

        cr_assert_eq(ldr_catalog_count(cat), 1, "[%s] count changed", c->what);
        cr_assert_eq(ldr_catalog_doc_limit(cat), 1, "[%s] a doc id was used", c->what);
        cr_assert_eq(find(cat, "A-1"), before, "[%s] the existing product was replaced", c->what);
        cr_assert_eq(before->price, 1000);
        cr_assert(ldr_test_str_is(before->name[LDR_LANG_EN], "Apple"));
        cr_assert_eq(ldr_intern_count(ldr_catalog_categories(cat)), ncat, "[%s] category", c->what);
        cr_assert_eq(ldr_intern_count(ldr_catalog_brands(cat)), nbrand, "[%s] brand", c->what);
        cr_assert_eq(ldr_intern_count(ldr_catalog_tags(cat)), ntag, "[%s] tag", c->what);
        ldr_catalog_free(cat);
    }
}

Test(catalog, bad_line_for_a_new_sku_adds_nothing)
{
    ldr_catalog_t *cat = base_catalog();
    ldr_test_rejects_t rej;
    ldr_load_result_t res = load(cat,
                                 "{\"sku\":\"NEW-1\",\"name\":{\"en\":\"New\"},\"category\":"
                                 "\"brand-new/category\",\"brand\":\"Never\",\"tags\":[\"never\"],"
                                 "\"price\":-5}",
                                 &rej);
    cr_assert_eq(res.rejected, 1);
    cr_assert(ldr_test_reject_has(&rej, 0, "field \"price\""), "%s", rej.message[0]);
    cr_assert_null(find(cat, "NEW-1"));
    cr_assert_eq(ldr_catalog_count(cat), 1);
    cr_assert_eq(ldr_intern_find(ldr_catalog_categories(cat), "brand-new/category", 18), UINT32_MAX,
                 "a rejected line interned its category");
    cr_assert_eq(ldr_intern_find(ldr_catalog_brands(cat), "Never", 5), UINT32_MAX);
    cr_assert_eq(ldr_intern_find(ldr_catalog_tags(cat), "never", 5), UINT32_MAX);
    ldr_catalog_free(cat);
}

Test(catalog, name_longer_than_512_bytes_rejected)
{
    char name[600], line[1024];
    memset(name, 'n', 513);
    name[513] = '\0';
    snprintf(line, sizeof(line), "{\"sku\":\"A-1\",\"name\":{\"en\":\"%s\"}," P_CAT "," P_PRICE "}",
             name);
    ldr_catalog_t *cat = base_catalog();
    ldr_test_rejects_t rej;
    cr_assert_eq(load(cat, line, &rej).rejected, 1);
    cr_assert(ldr_test_reject_has(&rej, 0, "field \"name.en\": longer than 512 bytes"), "%s",
              rej.message[0]);
    name[512] = '\0'; /* exactly 512 is fine */
    snprintf(line, sizeof(line), "{\"sku\":\"A-1\",\"name\":{\"en\":\"%s\"}," P_CAT "," P_PRICE "}",
             name);
    cr_assert_eq(load(cat, line, &rej).loaded, 1, "%s", rej.message[0]);
    cr_assert_eq(find(cat, "A-1")->name[LDR_LANG_EN].len, 512);
    ldr_catalog_free(cat);
}

Test(catalog, line_longer_than_1mib_rejected)
{
    size_t big = 1024 * 1024 + 10;
    char *line = malloc(big + 1);
    cr_assert_not_null(line);
    int n = snprintf(line, big, "{\"sku\":\"A-1\"," P_REST ",\"description\":{\"en\":\"");
    memset(line + n, 'd', big - (size_t)n - 3);
    memcpy(line + big - 3, "\"}}", 3);
    line[big] = '\0';
    ldr_catalog_t *cat = base_catalog();
    ldr_test_rejects_t rej;
    ldr_load_result_t res = load(cat, line, &rej);
    cr_assert_eq(res.rejected, 1);
    cr_assert(ldr_test_reject_has(&rej, 0, "line longer than 1048576 bytes"), "%s", rej.message[0]);
    cr_assert_eq(find(cat, "A-1")->description[LDR_LANG_EN].ptr, NULL);
    free(line);
    ldr_catalog_free(cat);
}

/* ---- line numbers, blank lines, CRLF ---- */

Test(catalog, reject_line_numbers_are_exact)
{
    const char *text =
        /* 1 */
        "{\"sku\":\"P-1\",\"name\":{\"en\":\"One\"},\"category\":\"a\",\"price\":1}\n"
        /* 2 */ "\n"
        /* 3 */ "{\"sku\":\"P-9\",\"name\":{\"en\":\"Nine\"},\"category\":\"a\",\"price\":\"9\"}\n"
        /* 4 */ "   \t  \n"
        /* 5 */ "{\"sku\":\"P-2\",\"name\":{\"en\":\"Two\"},\"category\":\"a\",\"price\":2}\r\n"
        /* 6 */ "\r\n"
        /* 7 */ "{\"sku\":\"P-8\",\n"
        /* 8 */ "{\"sku\":\"P-3\",\"name\":{\"vi\":\"Ba\"},\"category\":\"a/b\",\"price\":3}\n"
        /* 9 */ "{\"sku\":\"P-7\",\"category\":\"a\",\"price\":7}\n"
        /* 10 */ "{\"sku\":\"P-1\",\"name\":{\"en\":\"Again\"},\"category\":\"a\",\"price\":100}\n"
        /* 11 */ "\t{\"sku\":\"P-4\",\"name\":{\"en\":\"Four\"},\"category\":\"a\",\"price\":4}  \n"
        /* 12 */ "{\"sku\":\"P 6\",\"name\":{\"en\":\"Six\"},\"category\":\"a\",\"price\":6}";
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_test_rejects_t rej;
    ldr_load_result_t res = load(cat, text, &rej);
    cr_assert_eq(res.lines, 9, "non-blank lines");
    cr_assert_eq(res.loaded, 4);
    cr_assert_eq(res.rejected, 5);
    static const struct {
        uint64_t line;
        const char *needle;
    } want[] = {
        {3, "field \"price\": expected integer, got a string"},
        {7, "invalid JSON"},
        {9, "field \"name\": is required"},
        {10, "field \"sku\": duplicate sku \"P-1\""},
        {12, "field \"sku\": not a valid sku"},
    };
    cr_assert_eq(rej.count, LDR_ARRAY_SIZE(want));
    for (size_t i = 0; i < LDR_ARRAY_SIZE(want); i++) {
        cr_assert_eq(rej.line[i], want[i].line, "reject #%zu on line %llu, want %llu", i,
                     (unsigned long long)rej.line[i], (unsigned long long)want[i].line);
        cr_assert(ldr_test_reject_has(&rej, (uint32_t)i, want[i].needle),
                  "line %llu: \"%s\" lacks \"%s\"", (unsigned long long)want[i].line,
                  rej.message[i], want[i].needle);
    }
    cr_assert_eq(ldr_catalog_count(cat), 4);
    cr_assert_eq(find(cat, "P-1")->price, 1, "the duplicate on line 10 must not replace line 1");
    cr_assert_not_null(find(cat, "P-2"));
    cr_assert_not_null(find(cat, "P-3"));
    cr_assert_not_null(find(cat, "P-4"));
    cr_assert_null(find(cat, "P-9"));
    ldr_catalog_free(cat);
}

Test(catalog, crlf_and_missing_final_newline)
{
    const char *text =
        "{\"sku\":\"C-1\",\"name\":{\"en\":\"One\"},\"category\":\"a\",\"price\":1,"
        "\"unit\":\"kg\"}\r\n"
        "\r\n"
        "{\"sku\":\"C-2\",\"name\":{\"en\":\"Two\"},\"category\":\"a\",\"price\":2}\r\n"
        "{\"sku\":\"C-3\",\"name\":{\"en\":\"Three\"},\"category\":\"a\",\"price\":3}";
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_test_rejects_t rej;
    ldr_load_result_t res = load(cat, text, &rej);
    cr_assert_eq(res.rejected, 0, "rejected line %llu: %s", (unsigned long long)rej.line[0],
                 rej.message[0]);
    cr_assert_eq(res.lines, 3);
    cr_assert_eq(res.loaded, 3);
    cr_assert(ldr_test_str_is(find(cat, "C-1")->unit, "kg"));
    cr_assert_eq(find(cat, "C-3")->price, 3);
    ldr_catalog_free(cat);
}

Test(catalog, empty_and_blank_inputs)
{
    static const char *const texts[] = {"", "\n", "\n\n\n", "\r\n\r\n", "  \n\t\n", " "};
    for (size_t i = 0; i < LDR_ARRAY_SIZE(texts); i++) {
        ldr_catalog_t *cat = ldr_catalog_new();
        ldr_test_rejects_t rej;
        ldr_load_result_t res = load(cat, texts[i], &rej);
        cr_assert_eq(res.lines, 0, "text #%zu", i);
        cr_assert_eq(res.loaded, 0);
        cr_assert_eq(res.rejected, 0);
        cr_assert_eq(ldr_catalog_count(cat), 0);
        ldr_catalog_free(cat);
    }
}

Test(catalog, reject_callback_and_result_may_be_null)
{
    const char *text = BASE_LINE "\nnot json\n";
    ldr_catalog_t *cat = ldr_catalog_new();
    cr_assert_eq(ldr_catalog_load_jsonl(cat, text, strlen(text), NULL, NULL, NULL), LDR_OK);
    cr_assert_eq(ldr_catalog_count(cat), 1);
    ldr_catalog_free(cat);
}

Test(catalog, load_honours_len_not_nul)
{
    /* the load stops at len even though the text goes on: the second line must not be read */
    const char *text = BASE_LINE "\n{\"sku\":\"B-2\",\"name\":{\"en\":\"B\"},\"category\":\"a\","
                                 "\"price\":2}\n";
    size_t len = strlen(BASE_LINE) + 1;
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_load_result_t res;
    cr_assert_eq(ldr_catalog_load_jsonl(cat, text, len, NULL, NULL, &res), LDR_OK);
    cr_assert_eq(res.lines, 1);
    cr_assert_null(find(cat, "B-2"));
    ldr_catalog_free(cat);
}

/* ---- duplicates and upserts ---- */

Test(catalog, duplicate_sku_in_one_load_rejects_later_lines)
{
    const char *text =
        "{\"sku\":\"D-1\",\"name\":{\"en\":\"First\"},\"category\":\"a\",\"price\":100}\n"
        "{\"sku\":\"D-1\",\"name\":{\"en\":\"Second\"},\"category\":\"b\",\"price\":200}\n"
        "{\"sku\":\"D-2\",\"name\":{\"en\":\"Other\"},\"category\":\"a\",\"price\":300}\n"
        "{\"sku\":\"D-1\",\"name\":{\"en\":\"Third\"},\"category\":\"a\",\"price\":400}\n";
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_test_rejects_t rej;
    ldr_load_result_t res = load(cat, text, &rej);
    cr_assert_eq(res.loaded, 2);
    cr_assert_eq(res.rejected, 2);
    cr_assert_eq(rej.line[0], 2);
    cr_assert_eq(rej.line[1], 4);
    cr_assert(ldr_test_reject_has(&rej, 0, "field \"sku\": duplicate sku \"D-1\""), "%s",
              rej.message[0]);
    cr_assert(ldr_test_reject_has(&rej, 1, "field \"sku\": duplicate sku \"D-1\""), "%s",
              rej.message[1]);
    const ldr_product_t *p = find(cat, "D-1");
    cr_assert_eq(p->price, 100, "the first line wins");
    cr_assert(ldr_test_str_is(p->name[LDR_LANG_EN], "First"));
    cr_assert(ldr_test_str_is(ldr_intern_str(ldr_catalog_categories(cat), p->category), "a"));
    cr_assert_eq(ldr_intern_find(ldr_catalog_categories(cat), "b", 1), UINT32_MAX,
                 "the rejected duplicate interned its category");
    cr_assert_eq(ldr_catalog_count(cat), 2);
    cr_assert_eq(ldr_catalog_doc_limit(cat), 2);
    ldr_catalog_free(cat);
}

Test(catalog, second_load_of_same_sku_is_an_upsert)
{
    ldr_catalog_t *cat = base_catalog();
    uint32_t doc0 = 77;
    const ldr_product_t *old = ldr_catalog_find(cat, "A-1", 3, &doc0);
    cr_assert_not_null(old);
    ldr_test_rejects_t rej;
    ldr_load_result_t res =
        load(cat,
             "{\"sku\":\"A-1\",\"name\":{\"vi\":\"Táo xanh\"},\"category\":\"produce/apples\","
             "\"price\":1500,\"perishable\":true}\n"
             "{\"sku\":\"A-1\",\"name\":{\"en\":\"Dup\"},\"category\":\"a\",\"price\":1}\n",
             &rej);
    cr_assert_eq(res.loaded, 1, "the first A-1 of the new load replaces the old one");
    cr_assert_eq(res.rejected, 1, "the second A-1 of the same load is a duplicate");
    cr_assert_eq(rej.line[0], 2);
    cr_assert_eq(ldr_catalog_count(cat), 1);
    cr_assert_eq(ldr_catalog_doc_limit(cat), 1);
    uint32_t doc1 = 77;
    const ldr_product_t *p = ldr_catalog_find(cat, "A-1", 3, &doc1);
    cr_assert_eq(doc1, doc0, "an upsert keeps the doc id");
    cr_assert_neq(p, old, "an upsert publishes a new record");
    cr_assert_eq(ldr_catalog_doc(cat, doc1), p);
    cr_assert_eq(p->price, 1500);
    cr_assert_null(p->name[LDR_LANG_EN].ptr, "fields absent from the new line are gone");
    cr_assert(ldr_test_str_is(p->name[LDR_LANG_VI], "Táo xanh"));
    cr_assert_eq(p->brand, LDR_NO_BRAND);
    cr_assert_eq(p->ntags, 0);
    cr_assert(p->perishable);
    cr_assert(ldr_test_str_is(ldr_intern_str(ldr_catalog_categories(cat), p->category),
                              "produce/apples"));
    /* the old record stays readable and unchanged until the catalog is freed */
    cr_assert_eq(old->price, 1000);
    cr_assert(ldr_test_str_is(old->name[LDR_LANG_EN], "Apple"));
    /* and a third, separate load upserts again */
    res = load(cat, "{\"sku\":\"A-1\",\"name\":{\"en\":\"Apple\"},\"category\":\"a\",\"price\":9}",
               &rej);
    cr_assert_eq(res.loaded, 1);
    cr_assert_eq(find(cat, "A-1")->price, 9);
    cr_assert_eq(ldr_catalog_count(cat), 1);
    ldr_catalog_free(cat);
}

Test(catalog, upsert_replaces_and_keeps_doc_id)
{
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_product_input_t in;
    uint32_t da = 99, db = 99, da2 = 99;

    parse_ok("{\"sku\":\"U-1\",\"name\":{\"en\":\"One\"},\"category\":\"x\",\"price\":1}", &in);
    cr_assert_eq(ldr_catalog_upsert(cat, &in, &da), LDR_OK);
    ldr_product_input_clear(&in);
    parse_ok("{\"sku\":\"U-2\",\"name\":{\"en\":\"Two\"},\"category\":\"x\",\"price\":2}", &in);
    cr_assert_eq(ldr_catalog_upsert(cat, &in, &db), LDR_OK);
    ldr_product_input_clear(&in);
    cr_assert_eq(da, 0);
    cr_assert_eq(db, 1);

    const ldr_product_t *old = ldr_catalog_doc(cat, da);
    parse_ok("{\"sku\":\"U-1\",\"name\":{\"en\":\"One v2\"},\"category\":\"y\",\"price\":11,"
             "\"brand\":\"B\"}",
             &in);
    cr_assert_eq(ldr_catalog_upsert(cat, &in, &da2), LDR_OK);
    cr_assert_eq(ldr_catalog_upsert(cat, &in, NULL), LDR_OK,
                 "ldr_catalog_upsert is never a duplicate, even twice in a row");
    ldr_product_input_clear(&in);
    cr_assert_eq(da2, da);
    cr_assert_eq(ldr_catalog_count(cat), 2);
    cr_assert_eq(ldr_catalog_doc_limit(cat), 2);
    const ldr_product_t *p = ldr_catalog_doc(cat, da);
    cr_assert_eq(find(cat, "U-1"), p);
    cr_assert_eq(p->price, 11);
    cr_assert(ldr_test_str_is(p->name[LDR_LANG_EN], "One v2"));
    cr_assert(ldr_test_str_is(ldr_intern_str(ldr_catalog_brands(cat), p->brand), "B"));
    cr_assert_eq(old->price, 1, "the old record is immutable");
    cr_assert_eq(ldr_catalog_doc(cat, db)->price, 2, "the other product is untouched");

    /* a load after upserts: the first line for U-1 is an upsert, not a duplicate */
    ldr_test_rejects_t rej;
    ldr_load_result_t res = load(
        cat, "{\"sku\":\"U-1\",\"name\":{\"en\":\"v3\"},\"category\":\"x\",\"price\":3}\n", &rej);
    cr_assert_eq(res.loaded, 1, "%s", rej.message[0]);
    cr_assert_eq(find(cat, "U-1")->price, 3);
    /* and an upsert right after a load is not a duplicate either */
    parse_ok("{\"sku\":\"U-1\",\"name\":{\"en\":\"v4\"},\"category\":\"x\",\"price\":4}", &in);
    cr_assert_eq(ldr_catalog_upsert(cat, &in, NULL), LDR_OK);
    ldr_product_input_clear(&in);
    cr_assert_eq(find(cat, "U-1")->price, 4);
    ldr_catalog_free(cat);
}

Test(catalog, upserted_product_does_not_borrow_from_input)
{
    char json[] = "{\"sku\":\"K-1\",\"name\":{\"en\":\"Kale\"},\"category\":\"greens\","
                  "\"price\":5,\"substitutes\":[\"K-2\"],\"tags\":[\"leafy\"]}";
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_product_input_t in;
    parse_ok(json, &in);
    cr_assert_eq(ldr_catalog_upsert(cat, &in, NULL), LDR_OK);
    ldr_product_input_clear(&in);
    memset(json, ' ', sizeof(json) - 1);
    const ldr_product_t *p = find(cat, "K-1");
    cr_assert_not_null(p);
    cr_assert(ldr_test_str_is(p->name[LDR_LANG_EN], "Kale"));
    cr_assert_eq(p->nsubstitutes, 1);
    cr_assert(ldr_test_str_is(p->substitutes[0], "K-2"));
    cr_assert(ldr_test_str_is(ldr_intern_str(ldr_catalog_tags(cat), p->tags[0]), "leafy"));
    ldr_catalog_free(cat);
}

/* ---- lookups ---- */

Test(catalog, find_unknown_returns_null)
{
    ldr_catalog_t *cat = ldr_catalog_new();
    uint32_t doc = 5;
    cr_assert_null(ldr_catalog_find(cat, "A-1", 3, &doc), "empty catalog");
    cr_assert_null(ldr_catalog_doc(cat, 0));
    ldr_catalog_free(cat);

    cat = base_catalog();
    cr_assert_null(find(cat, "A-2"));
    cr_assert_null(find(cat, "a-1"), "SKUs are case-sensitive");
    cr_assert_null(find(cat, "A-"));
    cr_assert_null(find(cat, "A-11"));
    cr_assert_null(find(cat, ""));
    cr_assert_not_null(ldr_catalog_find(cat, "A-1XYZ", 3, NULL), "len bounds the key");
    cr_assert_null(ldr_catalog_doc(cat, 1));
    cr_assert_null(ldr_catalog_doc(cat, UINT32_MAX));
    cr_assert_eq(ldr_catalog_doc(cat, 0), find(cat, "A-1"));
    ldr_catalog_free(cat);
}

/* ---- a valid product, field by field ---- */

Test(catalog, valid_product_round_trips_every_field)
{
    const char *text =
        "{\"sku\":\"VEG-000123\",\"name\":{\"en\":\"Cherry tomatoes\",\"vi\":\"Cà chua bi\"},"
        "\"description\":{\"en\":\"Sweet \\\"cherry\\\" tomatoes \\\\ Da Lat\","
        "\"vi\":\"C\\u00e0 chua bi \xc4\x90\xc3\xa0 L\xe1\xba\xa1t\"},"
        "\"category\":\"produce/vegetables\",\"brand\":\"Da Lat Farm\",\"price\":35000,"
        "\"unit\":\"500g\",\"perishable\":true,\"shelf_life_days\":7,"
        "\"tags\":[\"organic\",\"local\"],\"substitutes\":[\"VEG-000124\",\"VEG-000125\"]}\n"
        "{\"sku\":\"VEG-000124\",\"name\":{\"vi\":\"Cà chua\"},\"category\":\"produce/vegetables\","
        "\"brand\":\"Da Lat Farm\",\"price\":0,\"tags\":[\"local\",\"sale\"],\"perishable\":false,"
        "\"shelf_life_days\":0}\n"
        "{\"sku\":\"DRY_1.a-Z\",\"name\":{\"en\":\"Rice\"},\"category\":\"pantry\",\"price\":"
        "1000000000000,"
        "\"brand\":null,\"description\":null,\"tags\":null,\"substitutes\":[],\"unit\":null,"
        "\"perishable\":null,\"shelf_life_days\":null}\n";
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_test_rejects_t rej;
    ldr_load_result_t res = load(cat, text, &rej);
    cr_assert_eq(res.loaded, 3, "rejected line %llu: %s", (unsigned long long)rej.line[0],
                 rej.message[0]);

    uint32_t doc = 99;
    const ldr_product_t *p = ldr_catalog_find(cat, "VEG-000123", 10, &doc);
    cr_assert_not_null(p);
    cr_assert_eq(doc, 0, "doc ids are assigned in load order");
    cr_assert(ldr_test_str_is(p->sku, "VEG-000123"));
    cr_assert_eq(p->sku.ptr[p->sku.len], '\0', "strings are NUL-terminated");
    cr_assert(ldr_test_str_is(p->name[LDR_LANG_EN], "Cherry tomatoes"), "%s",
              ldr_test_str_show(p->name[LDR_LANG_EN]));
    cr_assert(ldr_test_str_is(p->name[LDR_LANG_VI], "Cà chua bi"));
    cr_assert(ldr_test_str_is(p->description[LDR_LANG_EN], "Sweet \"cherry\" tomatoes \\ Da Lat"),
              "%s", ldr_test_str_show(p->description[LDR_LANG_EN]));
    cr_assert(ldr_test_str_is(p->description[LDR_LANG_VI], "Cà chua bi Đà Lạt"), "%s",
              ldr_test_str_show(p->description[LDR_LANG_VI]));
    cr_assert_eq(p->price, 35000);
    cr_assert(ldr_test_str_is(p->unit, "500g"));
    cr_assert(p->perishable);
    cr_assert_eq(p->shelf_life_days, 7);
    const ldr_intern_t *cats = ldr_catalog_categories(cat), *brands = ldr_catalog_brands(cat),
                       *tags = ldr_catalog_tags(cat);
    cr_assert(ldr_test_str_is(ldr_intern_str(cats, p->category), "produce/vegetables"));
    cr_assert(ldr_test_str_is(ldr_intern_str(brands, p->brand), "Da Lat Farm"));
    cr_assert_eq(p->ntags, 2);
    cr_assert(ldr_test_str_is(ldr_intern_str(tags, p->tags[0]), "organic"));
    cr_assert(ldr_test_str_is(ldr_intern_str(tags, p->tags[1]), "local"));
    cr_assert_eq(p->nsubstitutes, 2);
    cr_assert(ldr_test_str_is(p->substitutes[0], "VEG-000124"));
    cr_assert(ldr_test_str_is(p->substitutes[1], "VEG-000125"), "substitutes need not exist");

    const ldr_product_t *q = ldr_catalog_find(cat, "VEG-000124", 10, &doc);
    cr_assert_not_null(q);
    cr_assert_eq(doc, 1);
    cr_assert_null(q->name[LDR_LANG_EN].ptr);
    cr_assert_eq(q->name[LDR_LANG_EN].len, 0);
    cr_assert(ldr_test_str_is(q->name[LDR_LANG_VI], "Cà chua"));
    cr_assert_null(q->description[LDR_LANG_EN].ptr);
    cr_assert_null(q->description[LDR_LANG_VI].ptr);
    cr_assert_null(q->unit.ptr);
    cr_assert_eq(q->price, 0, "a zero price is allowed");
    cr_assert_not(q->perishable);
    cr_assert_eq(q->shelf_life_days, 0, "zero shelf life is present, not absent");
    cr_assert_eq(q->category, p->category, "categories are interned once");
    cr_assert_eq(q->brand, p->brand, "brands are interned once");
    cr_assert_eq(q->ntags, 2);
    cr_assert_eq(q->tags[0], p->tags[1], "\"local\" has one id");
    cr_assert(ldr_test_str_is(ldr_intern_str(tags, q->tags[1]), "sale"));
    cr_assert_eq(q->nsubstitutes, 0);

    const ldr_product_t *r = find(cat, "DRY_1.a-Z");
    cr_assert_not_null(r, "SKUs may use . _ - and both cases");
    cr_assert_eq(r->price, 1000000000000LL, "10^12 is the largest price");
    cr_assert_eq(r->brand, LDR_NO_BRAND, "null brand is absent");
    cr_assert_eq(r->shelf_life_days, -1, "absent shelf life is -1");
    cr_assert_not(r->perishable, "null perishable is false");
    cr_assert_eq(r->ntags, 0);
    cr_assert_eq(r->nsubstitutes, 0);
    cr_assert_null(r->unit.ptr);
    cr_assert_null(r->description[LDR_LANG_EN].ptr);

    cr_assert_eq(ldr_intern_count(cats), 2);
    cr_assert_eq(ldr_intern_count(brands), 1);
    cr_assert_eq(ldr_intern_count(tags), 3);
    ldr_catalog_free(cat);
}

Test(catalog, limits_at_the_boundary_are_accepted)
{
    char line[2048];
    char sku[LDR_SKU_MAX + 1];
    memset(sku, 'S', LDR_SKU_MAX);
    sku[LDR_SKU_MAX] = '\0';
    int n = snprintf(line, sizeof(line),
                     "{\"sku\":\"%s\",\"name\":{\"en\":\"x\"},\"category\":\"a-b_c/0-9\","
                     "\"price\":1,\"shelf_life_days\":3650,\"unit\":\"%s\",\"tags\":[",
                     sku, "12345678901234567890123456789012");
    for (int i = 0; i < LDR_PRODUCT_MAX_LIST; i++)
        n += snprintf(line + n, sizeof(line) - (size_t)n, "%s\"t%d\"", i ? "," : "", i);
    snprintf(line + n, sizeof(line) - (size_t)n, "]}");
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_test_rejects_t rej;
    cr_assert_eq(load(cat, line, &rej).loaded, 1, "%s", rej.message[0]);
    const ldr_product_t *p = find(cat, sku);
    cr_assert_not_null(p);
    cr_assert_eq(p->sku.len, LDR_SKU_MAX);
    cr_assert_eq(p->ntags, LDR_PRODUCT_MAX_LIST);
    cr_assert_eq(p->shelf_life_days, 3650);
    cr_assert_eq(p->unit.len, 32);
    cr_assert(ldr_test_str_is(ldr_intern_str(ldr_catalog_tags(cat), p->tags[31]), "t31"));
    ldr_catalog_free(cat);
}

Test(catalog, product_parse_reports_position_and_clears_on_failure)
{
    ldr_product_input_t in;
    ldr_error_t err;
    const char *bad = "{\"sku\": @}";
    memset(&in, 0xab, sizeof(in));
    cr_assert_eq(ldr_product_parse(bad, strlen(bad), &in, &err), LDR_EPARSE);
    cr_assert_geq(err.position, 0, "a syntax error has a byte position");
    cr_assert_leq(err.position, (long)strlen(bad));
    cr_assert_null(in._strings.base, "nothing to release after a failure");
    cr_assert_null(in.p.sku.ptr);

    const char *invalid =
        "{\"sku\":\"A-1\",\"name\":{\"en\":\"a\"},\"category\":\"a\",\"price\":-3}";
    cr_assert_eq(ldr_product_parse(invalid, strlen(invalid), &in, &err), LDR_EPARSE);
    cr_assert_eq(err.position, -1, "a validation error has no byte position");
    cr_assert(strstr(err.message, "field \"price\"") != NULL, "%s", err.message);
    cr_assert_null(in._strings.base);

    cr_assert(ldr_sku_valid("VEG-000123", 10));
    cr_assert_not(ldr_sku_valid("", 0));
    cr_assert_not(ldr_sku_valid("VEG 1", 5));
    cr_assert_not(ldr_sku_valid("SKU\0", 4), "NUL is not a SKU character");
}

/* ---- scale ---- */

Test(catalog, load_100000_generated_lines_and_find_every_sku)
{
    enum { N = 100000 };
    size_t cap = (size_t)N * 160, len = 0;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    for (int i = 0; i < N; i++) {
        int n = snprintf(text + len, cap - len,
                         "{\"sku\":\"GEN-%06d\",\"name\":{\"en\":\"Item %d\",\"vi\":\"Món %d\"},"
                         "\"category\":\"cat-%d/sub-%d\",\"brand\":\"brand-%d\",\"price\":%d,"
                         "\"tags\":[\"t%d\"]}\n",
                         i, i, i, i % 10, i % 7, i % 50, i * 3, i % 20);
        cr_assert(n > 0 && (size_t)n < cap - len);
        len += (size_t)n;
    }
    ldr_catalog_t *cat = ldr_catalog_new();
    ldr_test_rejects_t rej;
    memset(&rej, 0, sizeof(rej));
    ldr_load_result_t res;
    cr_assert_eq(ldr_catalog_load_jsonl(cat, text, len, ldr_test_reject_cb, &rej, &res), LDR_OK);
    cr_assert_eq(res.rejected, 0, "line %llu: %s", (unsigned long long)rej.line[0], rej.message[0]);
    cr_assert_eq(res.lines, N);
    cr_assert_eq(res.loaded, N);
    cr_assert_eq(ldr_catalog_count(cat), N);
    cr_assert_eq(ldr_catalog_doc_limit(cat), N);
    cr_assert_eq(ldr_intern_count(ldr_catalog_categories(cat)), 70);
    cr_assert_eq(ldr_intern_count(ldr_catalog_brands(cat)), 50);
    cr_assert_eq(ldr_intern_count(ldr_catalog_tags(cat)), 20);
    for (int i = 0; i < N; i++) {
        char sku[32];
        int n = snprintf(sku, sizeof(sku), "GEN-%06d", i);
        uint32_t doc = UINT32_MAX;
        const ldr_product_t *p = ldr_catalog_find(cat, sku, (size_t)n, &doc);
        if (p == NULL || doc != (uint32_t)i || p->price != i * 3 || !ldr_test_str_is(p->sku, sku))
            cr_assert_fail("%s: found %p, doc %u, price %lld", sku, (const void *)p, doc,
                           p ? (long long)p->price : -1LL);
    }
    cr_assert_null(find(cat, "GEN-100000"));
    cr_assert_null(find(cat, "GEN-00000"));
    free(text);
    ldr_catalog_free(cat);
}

Test(catalog, descriptions_may_span_lines_but_names_may_not)
{
    ldr_product_input_t in;
    parse_ok("{\"sku\":\"T-1\",\"name\":{\"en\":\"Tea\"},\"description\":{\"en\":\"Green tea.\\n"
             "\\tBrew 3 minutes.\"},\"category\":\"drinks/tea\",\"price\":20000}",
             &in);
    cr_assert(ldr_str_eq(in.p.description[LDR_LANG_EN], "Green tea.\n\tBrew 3 minutes.", 27));
    ldr_product_input_clear(&in);

    ldr_error_t err;
    const char *bad =
        "{\"sku\":\"T-2\",\"name\":{\"en\":\"Tea\\nleaves\"},\"category\":\"drinks/tea\","
        "\"price\":20000}";
    cr_assert_eq(ldr_product_parse(bad, strlen(bad), &in, &err), LDR_EPARSE);
    cr_assert(strstr(err.message, "field \"name.en\": control character") != NULL, "%s",
              err.message);
    const char *bell =
        "{\"sku\":\"T-3\",\"name\":{\"en\":\"Tea\"},\"description\":{\"vi\":\"Tr\\u0007\"},"
        "\"category\":\"drinks/tea\",\"price\":1}";
    cr_assert_eq(ldr_product_parse(bell, strlen(bell), &in, &err), LDR_EPARSE);
    cr_assert(strstr(err.message, "field \"description.vi\"") != NULL, "%s", err.message);
}

/* ---- deletion, comparison, frozen copies, rendering ---- */

Test(catalog, delete_hides_a_product_but_keeps_its_doc)
{
    ldr_catalog_t *cat = base_catalog();
    uint32_t doc, doc2;
    cr_assert_not_null(ldr_catalog_find(cat, "A-1", 3, &doc));
    cr_assert_eq(ldr_catalog_delete(cat, "A-1", 3, NULL), LDR_OK);
    cr_assert_eq(ldr_catalog_delete(cat, "A-1", 3, NULL), LDR_ENOENT);
    cr_assert_eq(ldr_catalog_delete(cat, "Z-9", 3, NULL), LDR_ENOENT);
    cr_assert_null(find(cat, "A-1"));
    cr_assert_null(ldr_catalog_doc(cat, doc));
    cr_assert_eq(ldr_catalog_count(cat), 0);
    cr_assert_not_null(ldr_catalog_lookup(cat, "A-1", 3, &doc2));
    cr_assert_eq(doc2, doc);
    cr_assert_not_null(ldr_catalog_record(cat, doc));
    /* an upsert brings it back under the same doc */
    ldr_product_input_t in;
    parse_ok(BASE_LINE, &in);
    cr_assert_eq(ldr_catalog_upsert(cat, &in, &doc2), LDR_OK);
    cr_assert_eq(doc2, doc);
    cr_assert_eq(ldr_catalog_count(cat), 1);
    ldr_product_input_clear(&in);
    ldr_catalog_free(cat);
}

Test(catalog, render_parses_back_to_the_same_product)
{
    ldr_catalog_t *cat = base_catalog();
    const char *full =
        "{\"sku\":\"F-1\",\"name\":{\"en\":\"Fish \\\"sauce\\\"\",\"vi\":\"N\\u01b0\\u1edbc "
        "m\\u1eafm\"},\"description\":{\"vi\":\"line\\nbreak\"},\"category\":"
        "\"pantry/sauces\",\"brand\":\"Chin-su\",\"price\":25000,\"unit\":\"500ml\","
        "\"perishable\":false,\"shelf_life_days\":365,\"tags\":[\"a\",\"b\"],"
        "\"substitutes\":[\"A-1\",\"Q-2\"]}";
    ldr_product_input_t in, back;
    parse_ok(full, &in);
    uint32_t doc;
    cr_assert_eq(ldr_catalog_upsert(cat, &in, &doc), LDR_OK);
    const ldr_product_t *p = ldr_catalog_doc(cat, doc);
    cr_assert(ldr_catalog_same(cat, p, &in));
    ldr_buf_t b = LDR_BUF_INIT, b2 = LDR_BUF_INIT;
    ldr_catalog_product_json(cat, p, &b);
    ldr_error_t err;
    cr_assert_eq(ldr_product_parse(b.base, b.len, &back, &err), LDR_OK, "%s: %.*s", err.message,
                 (int)b.len, b.base);
    cr_assert(ldr_catalog_same(cat, p, &back), "%.*s", (int)b.len, b.base);
    ldr_product_render(&back, &b2);
    cr_assert_eq(b.len, b2.len);
    cr_assert_eq(memcmp(b.base, b2.base, b.len), 0, "rendering is not canonical");
    /* any field that differs makes it another product */
    ldr_product_input_t other;
    parse_ok(BASE_LINE, &other);
    cr_assert_not(ldr_catalog_same(cat, p, &other));
    const ldr_product_t *a = find(cat, "A-1");
    cr_assert(ldr_catalog_same(cat, a, &other));
    other.p.price++;
    cr_assert_not(ldr_catalog_same(cat, a, &other));
    other.p.price--;
    other.tags[0] = (ldr_str_t){"frozen", 6};
    cr_assert_not(ldr_catalog_same(cat, a, &other));
    other.tags[0] = (ldr_str_t){"fresh", 5};
    other.brand = (ldr_str_t){NULL, 0};
    cr_assert_not(ldr_catalog_same(cat, a, &other));
    ldr_product_input_clear(&other);
    ldr_product_input_clear(&in);
    ldr_product_input_clear(&back);
    ldr_buf_free(&b);
    ldr_buf_free(&b2);
    ldr_catalog_free(cat);
}

Test(catalog, a_frozen_copy_does_not_see_later_changes)
{
    ldr_catalog_t *cat = base_catalog();
    ldr_catalog_t *f = ldr_catalog_freeze(cat);
    cr_assert_eq(ldr_catalog_changes(f), ldr_catalog_changes(cat));
    ldr_product_input_t in;
    parse_ok("{\"sku\":\"N-1\",\"name\":{\"en\":\"New\"},\"category\":\"new/cat\",\"brand\":"
             "\"New brand\",\"price\":1}",
             &in);
    cr_assert_eq(ldr_catalog_upsert(cat, &in, NULL), LDR_OK);
    ldr_product_input_clear(&in);
    cr_assert_eq(ldr_catalog_delete(cat, "A-1", 3, NULL), LDR_OK);
    cr_assert_gt(ldr_catalog_changes(cat), ldr_catalog_changes(f));
    /* the copy still serves the old state, names included */
    cr_assert_not_null(find(f, "A-1"));
    cr_assert_null(find(f, "N-1"));
    cr_assert_eq(ldr_catalog_count(f), 1);
    cr_assert_eq(ldr_intern_find(ldr_catalog_brands(f), "New brand", 9), UINT32_MAX);
    cr_assert_neq(ldr_intern_find(ldr_catalog_brands(cat), "New brand", 9), UINT32_MAX);
    ldr_catalog_free(f); /* before the original: it shares the records */
    cr_assert_str_eq(find(cat, "N-1")->name[LDR_LANG_EN].ptr, "New");
    ldr_catalog_free(cat);
}
